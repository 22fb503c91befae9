//  test_store_merge: what the write path may skip when it merges. An item
//  prepared in a snapshot that held no version of its entity is merged
//  without loading versions only when that snapshot is where the write
//  transaction starts and no item before it in the transaction merged
//  the same entity; otherwise its versions are loaded and judged as for
//  any other input (ht_store_merge.c, ht_store__merge).
#include <czmq.h>
#include "ht_test.h"
#include "ht_fixture.h"
#include "ht_store_write.h"

typedef struct {
    ht_fixture_t *fixture;
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store;
} s_env_t;

static void
s_env_setup (s_env_t *env)
{
    env->fixture = ht_fixture_new ();
    env->store = ht_fixture_store_new (env->fixture, HT_FIXTURE_TOWNSHIP, 0, env->dir);
    ht_fixture_apply_certs (env->fixture, env->store);
}

static void
s_env_teardown (s_env_t *env)
{
    ht_fixture_store_destroy (&env->store, env->dir);
    ht_fixture_destroy (&env->fixture);
}

//  Log entries whose record is elder key
typedef struct {
    const char *key;
    size_t count;
} s_entries_t;

static int
s_entries_count (void *arg, uint64_t seq, const uint8_t *data, size_t size, const char *origin)
{
    (void) seq; (void) origin;
    s_entries_t *entries = (s_entries_t *) arg;
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    ck_assert_ptr_nonnull (record);
    entries->count += streq (ht_record_key (record), entries->key);
    ht_record_destroy (&record);
    return 0;
}

static size_t
s_entries_of (ht_store_t *store, const char *key)
{
    s_entries_t entries = { key, 0 };
    ck_assert_int_ge (ht_store_changes (store, 0, 0, s_entries_count, &entries), 0);
    return entries.count;
}

//  One item of record's bytes, prepared in the store's current snapshot
static ht_store_item_t *
s_prepared (ht_store_t *store, const ht_record_t *record)
{
    ht_store_item_t *items = (ht_store_item_t *) calloc (2, sizeof *items);
    uint8_t *bytes;
    size_t size;
    ck_assert_int_eq (ht_record_encode (record, &bytes, &size), 0);
    items [0].data = bytes;
    items [0].size = size;
    items [0].from_bytes = true;
    ht_store__items_prepare (store, items, 1);
    ck_assert_int_eq (items [0].error, 0);
    return items;
}

START_TEST (an_item_prepared_before_another_commit_is_merged_against_it)
{
    s_env_t env;
    s_env_setup (&env);
    ht_record_t *older = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 7,
                                           "先写的", ht_fixture_hlc (1, 0));
    ht_record_t *newer = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 7,
                                           "后写的", ht_fixture_hlc (2, 0));
    ck_assert_str_eq (ht_record_key (older), ht_record_key (newer));
    //  Prepared while the store holds no version of the elder
    ht_store_item_t *items = s_prepared (env.store, older);
    ck_assert_uint_gt (items [0].unknown_at, 0);
    //  Then the newer version is committed
    ck_assert_int_eq (ht_store_apply (env.store, &newer, 1, NULL, NULL, NULL), 0);
    //  The older one, applied now, is judged against it: history, and the
    //  newer stays current, once in the log
    ht_apply_stats_t stats = { 0 };
    const uint8_t *data = items [0].data;
    ck_assert_int_eq (ht_store__apply_items (env.store, items, 1, NULL, &stats, NULL, false),
                      0);
    ht_store__items_destroy (items, 1);
    free ((void *) data);
    ht_record_t *current = ht_store_get (env.store, "elder", ht_record_key (newer), NULL);
    ck_assert_ptr_nonnull (current);
    ck_assert_str_eq (ht_record_get_str (current, "name"), "后写的");
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 1);
    ck_assert_uint_eq (s_entries_of (env.store, ht_record_key (newer)), 1);
    ht_record_destroy (&current);
    ht_record_destroy (&older);
    ht_record_destroy (&newer);
    s_env_teardown (&env);
}
END_TEST

START_TEST (two_versions_of_a_new_entity_in_one_batch_are_judged_together)
{
    s_env_t env;
    s_env_setup (&env);
    //  Both orders: the older first, then the newer first
    for (int order = 0; order < 2; order++) {
        ht_record_t *records [2];
        records [order] = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY,
                                            20 + (unsigned) order, "甲", ht_fixture_hlc (3, 0));
        records [1 - order] = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY,
                                                20 + (unsigned) order, "乙",
                                                ht_fixture_hlc (4, 0));
        ht_apply_stats_t stats = { 0 };
        ck_assert_int_eq (ht_store_apply (env.store, records, 2, NULL, &stats, NULL), 0);
        //  The newer first: the older is history; the older first: each
        //  became current in turn
        ck_assert_uint_eq (stats.applied, order == 0? 2: 1);
        ck_assert_uint_eq (stats.historic, order == 0? 0: 1);
        ck_assert_int_eq (ht_store_history (env.store, "elder", ht_record_key (records [0]),
                                            NULL, NULL), 1);      //  the older
        ht_record_t *current = ht_store_get (env.store, "elder", ht_record_key (records [0]),
                                             NULL);
        ck_assert_ptr_nonnull (current);
        ck_assert_str_eq (ht_record_get_str (current, "name"), "乙");
        ck_assert_uint_eq (s_entries_of (env.store, ht_record_key (records [0])), 1);
        ht_record_destroy (&current);
        ht_record_destroy (&records [0]);
        ht_record_destroy (&records [1]);
    }
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 2);
    s_env_teardown (&env);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("store_merge");
    TCase *tc = tcase_create ("merge");
    tcase_add_test (tc, an_item_prepared_before_another_commit_is_merged_against_it);
    tcase_add_test (tc, two_versions_of_a_new_entity_in_one_batch_are_judged_together);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (s_suite)
