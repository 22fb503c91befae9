//  test_store_full: a store that cannot take a write — its map at the cap
//  the node set (limits/map_limit_mb), or its disk full — refuses it as
//  store_full, whichever writer asks, writes nothing of it, and takes
//  writes again once there is room, without being opened again.
#include <czmq.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "ht_test.h"
#include "ht_fixture.h"

#define S_CAP_BYTES (256u * 1024)   //  room for the PKI and a few elders
#define S_MANY 400                  //  elders that need far more than that

typedef struct {
    ht_fixture_t *fixture;          //  keys and certs
    char dir [HT_FIXTURE_DIR_CHARS];    //  the store's directory
    ht_store_t *node;               //  the handle the node writes through
} s_env_t;

static void
s_env_setup (s_env_t *env)
{
    env->fixture = ht_fixture_new ();
    env->node = ht_fixture_store_new (env->fixture, HT_FIXTURE_TOWNSHIP, 0, env->dir);
    ht_fixture_apply_certs (env->fixture, env->node);
}

static void
s_env_teardown (s_env_t *env)
{
    ht_fixture_store_destroy (&env->node, env->dir);
    ht_fixture_destroy (&env->fixture);
}

//  Another writer of the same store, opened as hutong put --store opens
//  it: the default map, nothing set but what the store holds
static ht_store_t *
s_tool_open (const s_env_t *env)
{
    int error = -1;
    ht_store_t *tool = ht_store_open (env->dir, 0, &error);
    ck_assert_msg (tool, "open %s: %s", env->dir, ht_strerror (error));
    return tool;
}

//  count elders of community A from serial first, at day
static ht_record_t **
s_elders (const s_env_t *env, unsigned first, size_t count, unsigned day)
{
    ht_record_t **records = calloc (count, sizeof *records);
    for (size_t index = 0; index < count; index++)
        records [index] = ht_fixture_elder (env->fixture, HT_FIXTURE_COMMUNITY_A_KEY,
                                            first + (unsigned) index, "冯十二",
                                            ht_fixture_hlc (day, 0));
    return records;
}

static void
s_elders_destroy (ht_record_t **records, size_t count)
{
    for (size_t index = 0; index < count; index++)
        ht_record_destroy (&records [index]);
    free (records);
}

//  The data file's size in bytes
static size_t
s_file_bytes (const s_env_t *env)
{
    char path [HT_FIXTURE_DIR_CHARS + 16];
    snprintf (path, sizeof path, "%s/data.mdb", env->dir);
    struct stat info;
    ck_assert_int_eq (stat (path, &info), 0);
    return (size_t) info.st_size;
}

//  What a writer may see of the store: its log's end, its elders, and
//  how many changes the log holds
typedef struct {
    uint64_t last_seq;
    uint64_t elders;
    int changes;
} s_state_t;

static s_state_t
s_state (ht_store_t *store)
{
    s_state_t state = { ht_store_last_seq (store), ht_store_count (store, "elder"),
                        ht_store_changes (store, 0, 0, NULL, NULL) };
    return state;
}

static void
s_assert_state (ht_store_t *store, s_state_t expected)
{
    s_state_t state = s_state (store);
    ck_assert_uint_eq (state.last_seq, expected.last_seq);
    ck_assert_uint_eq (state.elders, expected.elders);
    ck_assert_int_eq (state.changes, expected.changes);
}

//  The "why" of a store's full status, or "" if it is not full
static const char *
s_full_why (ht_store_t *store, char *why, size_t size)
{
    json_t *full = ht_store_full_status (store);
    snprintf (why, size, "%s", full? json_string_value (json_object_get (full, "why")): "");
    json_decref (full);
    return why;
}

//  --------------------------------------------------------------------------

START_TEST (the_error_of_a_full_store_is_named_store_full)
{
    ck_assert_str_eq (ht_errname (HT_EFULL), "store_full");
    ck_assert_int_eq (ht_errcode ("store_full"), HT_EFULL);
    ck_assert (strstr (ht_strerror (HT_EFULL), "full"));
}
END_TEST

//  Batches stored together (group commit) fail apart: one that does not
//  fit under the cap is refused store_full, and the one beside it, which
//  fits, is stored as if it had come alone
START_TEST (a_group_with_a_batch_that_does_not_fit_stores_the_others)
{
    s_env_t env;
    s_env_setup (&env);
    ck_assert_int_eq (ht_store_set_map_limit (env.node, S_CAP_BYTES), 0);
    ht_record_t **many = s_elders (&env, 0, S_MANY, 1);
    uint8_t *bytes [S_MANY];
    size_t sizes [S_MANY];
    for (size_t i = 0; i < S_MANY; i++)
        ck_assert_int_eq (ht_record_encode (many [i], &bytes [i], &sizes [i]), 0);
    ht_origin_t small_origin = { .source = "client:small" };
    ht_origin_t large_origin = { .source = "client:large" };
    int small_results [1], large_results [S_MANY - 1];
    ht_store_group_t groups [2] = {
        { (const uint8_t *const *) bytes, sizes, 1, &small_origin, { 0 }, small_results, -1 },
        { (const uint8_t *const *) bytes + 1, sizes + 1, S_MANY - 1, &large_origin, { 0 },
          large_results, -1 }
    };
    ck_assert_int_eq (ht_store_apply_groups (env.node, groups, 2), HT_EFULL);
    ck_assert_int_eq (groups [0].error, 0);
    ck_assert_uint_eq (groups [0].stats.applied, 1);
    ck_assert_int_eq (small_results [0], 0);
    ck_assert_int_eq (groups [1].error, HT_EFULL);
    ck_assert_uint_eq (groups [1].stats.applied, 0);
    ck_assert_uint_eq (ht_store_count (env.node, "elder"), 1);
    for (size_t i = 0; i < S_MANY; i++)
        free (bytes [i]);
    s_elders_destroy (many, S_MANY);
    s_env_teardown (&env);
}
END_TEST

START_TEST (the_cap_the_node_sets_holds_for_every_writer_of_the_store)
{
    s_env_t env;
    s_env_setup (&env);
    ck_assert_int_eq (ht_store_set_map_limit (env.node, S_CAP_BYTES), 0);
    ck_assert_uint_le (ht_store_map_bytes (env.node), S_CAP_BYTES);

    //  A tool opens the store with its default map: the store's cap binds it
    ht_store_t *tool = s_tool_open (&env);
    ck_assert_uint_eq (ht_store_map_limit (tool), S_CAP_BYTES);
    ck_assert_uint_le (ht_store_map_bytes (tool), S_CAP_BYTES);
    s_state_t before = s_state (tool);
    ht_record_t **many = s_elders (&env, 0, S_MANY, 1);
    int results [S_MANY];
    ck_assert_int_eq (ht_store_apply (tool, many, S_MANY, NULL, NULL, results), HT_EFULL);
    char why [16];
    ck_assert_str_eq (s_full_why (tool, why, sizeof why), "map_limit");
    s_assert_state (tool, before);
    //  ... and so does the node's own write
    ck_assert_int_eq (ht_store_apply (env.node, many, S_MANY, NULL, NULL, results), HT_EFULL);
    s_assert_state (env.node, before);
    ck_assert_uint_le (s_file_bytes (&env), S_CAP_BYTES);

    //  What fits is still taken, and the store is no longer full
    ck_assert_int_eq (ht_store_apply (tool, many, 2, NULL, NULL, results), 0);
    ck_assert_str_eq (s_full_why (tool, why, sizeof why), "");
    ck_assert_uint_eq (ht_store_count (tool, "elder"), 2);

    //  The node raises the cap: the open tool's next batch fits, whole
    ck_assert_int_eq (ht_store_set_map_limit (env.node, 0), 0);
    ck_assert_int_eq (ht_store_apply (tool, many, S_MANY, NULL, NULL, results), 0);
    ck_assert_uint_eq (ht_store_count (tool, "elder"), S_MANY);
    ck_assert_uint_eq (ht_store_map_limit (tool), 0);
    s_elders_destroy (many, S_MANY);
    ht_store_destroy (&tool);
    s_env_teardown (&env);
}
END_TEST

START_TEST (a_cap_set_while_a_writer_has_the_store_open_binds_its_next_batch)
{
    s_env_t env;
    s_env_setup (&env);
    ht_store_t *tool = s_tool_open (&env);
    ck_assert_uint_ge (ht_store_map_bytes (tool), HT_STORE_DEFAULT_MAP_BYTES);
    ck_assert_int_eq (ht_store_set_map_limit (env.node, S_CAP_BYTES), 0);

    //  The tool's map is far larger than the cap; its batch must not use it
    s_state_t before = s_state (tool);
    ht_record_t **many = s_elders (&env, 0, S_MANY, 1);
    ck_assert_int_eq (ht_store_apply (tool, many, S_MANY, NULL, NULL, NULL), HT_EFULL);
    s_assert_state (tool, before);
    ck_assert_uint_le (ht_store_map_bytes (tool), S_CAP_BYTES);
    ck_assert_uint_le (s_file_bytes (&env), S_CAP_BYTES);
    s_elders_destroy (many, S_MANY);
    ht_store_destroy (&tool);
    s_env_teardown (&env);
}
END_TEST

START_TEST (a_replicated_batch_over_the_cap_leaves_the_cursor_where_it_was)
{
    s_env_t env;
    s_env_setup (&env);
    ck_assert_int_eq (ht_store_set_map_limit (env.node, S_CAP_BYTES), 0);
    ht_record_t **many = s_elders (&env, 0, S_MANY, 1);
    uint8_t epoch [HT_EPOCH_BYTES];
    memset (epoch, 0x5a, sizeof epoch);
    ht_origin_t origin = { .peer = "441802000000", .epoch = epoch, .cursor = 77 };
    ck_assert_int_eq (ht_store_apply (env.node, many, S_MANY, &origin, NULL, NULL), HT_EFULL);
    ck_assert_int_eq (ht_store_peer_get (env.node, "441802000000", NULL, NULL, NULL, NULL),
                      HT_ENOTFOUND);
    s_elders_destroy (many, S_MANY);
    s_env_teardown (&env);
}
END_TEST

//  Let this process write files up to bytes only (a full disk, as far
//  as the store can tell: its writes fail with EFBIG or end short)
static void
s_file_size_limit (rlim_t bytes)
{
    signal (SIGXFSZ, SIG_IGN);      //  the error, not the signal
    struct rlimit limit;
    ck_assert_int_eq (getrlimit (RLIMIT_FSIZE, &limit), 0);
    limit.rlim_cur = bytes;
    ck_assert_int_eq (setrlimit (RLIMIT_FSIZE, &limit), 0);
}

START_TEST (a_full_disk_is_store_full_and_the_store_takes_writes_again_with_room)
{
    s_env_t env;
    s_env_setup (&env);
    ht_record_t **few = s_elders (&env, 0, 3, 1);
    ck_assert_int_eq (ht_store_apply (env.node, few, 3, NULL, NULL, NULL), 0);
    ck_assert_int_eq (ht_store_set_map_limit (env.node, 0), 0);     //  as a node does
    s_state_t before = s_state (env.node);

    //  No room beyond what the file holds now. Check records every
    //  assertion in a file of its own, which the limit would stop too:
    //  the results are kept and asserted once there is room again.
    ht_record_t **many = s_elders (&env, 100, S_MANY, 1);
    uint8_t epoch [HT_EPOCH_BYTES];
    memset (epoch, 0x5a, sizeof epoch);
    ht_origin_t origin = { .peer = "441802000000", .epoch = epoch, .cursor = 77 };
    char why [16], why_again [16];
    s_file_size_limit ((rlim_t) s_file_bytes (&env));
    int applied = ht_store_apply (env.node, many, S_MANY, &origin, NULL, NULL);
    s_full_why (env.node, why, sizeof why);
    s_state_t after = s_state (env.node);
    int peer = ht_store_peer_get (env.node, "441802000000", NULL, NULL, NULL, NULL);
    //  Writing again what the store holds needs no room: a node starting
    //  on a full disk sets its settings as before and comes up
    int window = ht_store_set_ingest_window (env.node, 0, 0);
    int cap = ht_store_set_map_limit (env.node, 0);
    //  Still full: the same batch is refused again, the same way
    int again = ht_store_apply (env.node, many, S_MANY, &origin, NULL, NULL);
    s_full_why (env.node, why_again, sizeof why_again);
    s_state_t after_again = s_state (env.node);
    s_file_size_limit (RLIM_INFINITY);

    ck_assert_int_eq (applied, HT_EFULL);
    ck_assert_str_eq (why, "disk");
    ck_assert_uint_eq (after.last_seq, before.last_seq);
    ck_assert_uint_eq (after.elders, before.elders);
    ck_assert_int_eq (after.changes, before.changes);
    ck_assert_int_eq (peer, HT_ENOTFOUND);
    ck_assert_int_eq (window, 0);
    ck_assert_int_eq (cap, 0);
    ck_assert_int_eq (again, HT_EFULL);
    ck_assert_str_eq (why_again, "disk");
    ck_assert_uint_eq (after_again.last_seq, before.last_seq);
    ck_assert_int_eq (after_again.changes, before.changes);

    //  Room again: the same handle takes the batch, whole
    s_file_size_limit (RLIM_INFINITY);
    ht_apply_stats_t stats;
    ck_assert_int_eq (ht_store_apply (env.node, many, S_MANY, &origin, &stats, NULL), 0);
    ck_assert_uint_eq (stats.applied, S_MANY);
    ck_assert_str_eq (s_full_why (env.node, why, sizeof why), "");
    uint64_t cursor = 0;
    ck_assert_int_eq (ht_store_peer_get (env.node, "441802000000", NULL, &cursor, NULL, NULL),
                      0);
    ck_assert_uint_eq (cursor, 77);

    //  Nothing the failed attempts left behind shows: opened again, the
    //  store holds exactly the writes that succeeded
    ht_store_destroy (&env.node);
    env.node = s_tool_open (&env);
    ck_assert_uint_eq (ht_store_count (env.node, "elder"), 3 + S_MANY);
    ck_assert_uint_eq (ht_store_last_seq (env.node), before.last_seq + S_MANY);
    for (size_t index = 0; index < S_MANY; index += 50) {
        ht_record_t *stored = ht_store_get (env.node, "elder", ht_record_key (many [index]),
                                            NULL);
        ck_assert_ptr_nonnull (stored);
        ck_assert_uint_eq (ht_record_hlc (stored), ht_record_hlc (many [index]));
        ht_record_destroy (&stored);
    }
    s_elders_destroy (few, 3);
    s_elders_destroy (many, S_MANY);
    s_env_teardown (&env);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_store_full");
    TCase *cap = tcase_create ("map cap");
    tcase_add_test (cap, the_error_of_a_full_store_is_named_store_full);
    tcase_add_test (cap, the_cap_the_node_sets_holds_for_every_writer_of_the_store);
    tcase_add_test (cap, a_group_with_a_batch_that_does_not_fit_stores_the_others);
    tcase_add_test (cap, a_cap_set_while_a_writer_has_the_store_open_binds_its_next_batch);
    tcase_add_test (cap, a_replicated_batch_over_the_cap_leaves_the_cursor_where_it_was);
    suite_add_tcase (suite, cap);
    TCase *disk = tcase_create ("disk");
    tcase_add_test (disk, a_full_disk_is_store_full_and_the_store_takes_writes_again_with_room);
    suite_add_tcase (suite, disk);
    return suite;
}

HT_TEST_MAIN (s_suite)
