//  test_store_body: current records compact in their log entries (store
//  layout 10, ht_store_body.c). Every shape of record a store holds comes
//  back byte for byte as it was signed; a body that is not exactly a
//  canonical record of its head is stored whole; a compact body that does
//  not rebuild is refused, never given out.
#include <czmq.h>
#include <lmdb.h>
#include "ht_test.h"
#include "ht_fixture.h"
#include "ht_store_private.h"

//  A record's encoding and the routing head a store writes for it
typedef struct {
    uint8_t *bytes;
    size_t size;
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    ht_store_route_t head;
} s_case_t;

static void
s_case (const ht_record_t *record, s_case_t *c)
{
    memset (c, 0, sizeof *c);
    ck_assert_int_eq (ht_record_encode (record, &c->bytes, &c->size), 0);
    c->head.ekey_size = ht_store__entity_key (ht_record_kind (record), ht_record_key (record),
                                              c->ekey);
    ck_assert_uint_gt (c->head.ekey_size, 0);
    c->head.ekey = c->ekey;
    snprintf (c->head.region, HT_REGION_BYTES, "%s", ht_record_region (record));
    snprintf (c->head.scope, HT_REGION_BYTES, "%s", ht_record_scope (record));
}

//  Compact the record, rebuild it, and get back exactly its bytes; the
//  bytes the compact form saves
static size_t
s_round_trip (const ht_record_t *record)
{
    s_case_t c;
    s_case (record, &c);
    uint8_t *compact = (uint8_t *) malloc (c.size);
    size_t compact_size = ht_store__body_compact (&c.head, c.bytes, c.size, compact);
    ck_assert_uint_gt (compact_size, 0);
    ck_assert_uint_lt (compact_size, c.size);
    ht_store_route_t stored = c.head;
    stored.body = compact;
    stored.body_size = compact_size;
    stored.compact = true;
    ht_store_bytes_t whole;
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), 0);
    ck_assert_uint_eq (whole.size, c.size);
    ck_assert_mem_eq (whole.data, c.bytes, c.size);
    ht_store__bytes_done (&whole);
    //  A whole body is given as it is
    stored.body = c.bytes;
    stored.body_size = c.size;
    stored.compact = false;
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), 0);
    ck_assert_ptr_eq (whole.data, c.bytes);
    ht_store__bytes_done (&whole);
    free (compact);
    free (c.bytes);
    return c.size - compact_size;
}

START_TEST (test_every_shape_of_record_comes_back_byte_for_byte)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    //  A full elder signed alone (format 2): 13 items
    ht_record_t *alone = ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "冯一",
                                           ht_fixture_hlc (1, 0));
    size_t saved = s_round_trip (alone);
    //  Names (60 bytes), kind, key, region and scope, the map's header,
    //  against the two bytes of the bitmap
    ck_assert_uint_ge (saved, 120);
    //  A tombstone
    ht_record_t *tombstone = ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 2, "冯二",
                                               ht_fixture_hlc (1, 1));
    ht_record_set_deleted (tombstone, true);
    ck_assert_int_eq (ht_record_sign (tombstone, fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]), 0);
    s_round_trip (tombstone);
    //  Batch-signed elders (format 3, "b"), proofs of every length of 37
    enum { BATCH = 37 };
    ht_record_t *batch [BATCH];
    char id [19];
    for (size_t i = 0; i < BATCH; i++)
        batch [i] = ht_fixture_elder_draft (ht_fixture_citizen_id (10 + (unsigned) i, id),
                                            "冯三", HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_A,
                                            fixture->idkey, ht_fixture_hlc (2, (uint16_t) i));
    ck_assert_int_eq (ht_record_sign_batch (batch, BATCH,
                                            fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]), 0);
    for (size_t i = 0; i < BATCH; i++)
        s_round_trip (batch [i]);
    //  Redacted ("s", "w"), with a mask ("m"), batch-signed: 16 items,
    //  a map of more than 15 (a 3-byte header)
    const char *disclose [] = { "name", "sex" };
    ht_record_t *redacted = ht_record_redact (batch [5], disclose, 2);
    ck_assert_ptr_nonnull (redacted);
    s_round_trip (redacted);
    ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "441802********0317"), 0);
    s_case_t masked;
    s_case (redacted, &masked);
    ck_assert_int_eq (masked.bytes [0], 0xde);  //  map 16
    free (masked.bytes);
    s_round_trip (redacted);
    ht_record_t *plain_redacted = ht_record_redact (alone, disclose, 1);
    s_round_trip (plain_redacted);
    //  Certificates: keys of 64 hex digits (a str with a 2-byte header)
    for (size_t i = 0; i < HT_FIXTURE_CERT_COUNT; i++)
        s_round_trip (fixture->certs [i]);
    //  A facility keyed by region and serial
    ht_record_t *facility = ht_fixture_facility_draft (HT_FIXTURE_COMMUNITY_A, NULL, "12");
    ck_assert_int_eq (ht_record_set_scope (facility, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_eq (ht_record_derive_key (facility, fixture->idkey), 0);
    ht_record_set_hlc (facility, ht_fixture_hlc (3, 0));
    ck_assert_int_eq (ht_record_sign (facility, fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]), 0);
    s_round_trip (facility);

    ht_record_destroy (&facility);
    ht_record_destroy (&plain_redacted);
    ht_record_destroy (&redacted);
    for (size_t i = 0; i < BATCH; i++)
        ht_record_destroy (&batch [i]);
    ht_record_destroy (&tombstone);
    ht_record_destroy (&alone);
    ht_fixture_destroy (&fixture);
}
END_TEST

//  Compacting returns 0 (the body is stored whole) for s_case's record
//  with the head changed by change, or its bytes by edit
static size_t
s_compact_changed (void (*change) (s_case_t *c))
{
    ht_fixture_t *fixture = ht_fixture_new ();
    ht_record_t *record = ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "冯一",
                                            ht_fixture_hlc (1, 0));
    s_case_t c;
    s_case (record, &c);
    c.bytes = (uint8_t *) realloc (c.bytes, c.size + 4);
    change (&c);
    uint8_t *out = (uint8_t *) malloc (c.size + 4);
    size_t compact = ht_store__body_compact (&c.head, c.bytes, c.size, out);
    free (out);
    free (c.bytes);
    ht_record_destroy (&record);
    ht_fixture_destroy (&fixture);
    return compact;
}

static void s_nothing (s_case_t *c) { (void) c; }
static void s_other_region (s_case_t *c) { c->head.region [11] = '9'; }
static void s_other_scope (s_case_t *c) { c->head.scope [0] = '3'; }
static void s_other_key (s_case_t *c) { c->ekey [c->head.ekey_size - 1] ^= 1; }
static void s_other_kind (s_case_t *c) { c->ekey [0] = 'f'; }
static void s_trailing (s_case_t *c) { c->bytes [c->size++] = 0xc0; }
static void s_cut (s_case_t *c) { c->size--; }
static void s_not_a_map (s_case_t *c) { c->bytes [0] = 0x9d; }
static void
s_long_header (s_case_t *c)
{
    //  The same map with a 3-byte header: not canonical for 13 items
    memmove (c->bytes + 3, c->bytes + 1, c->size - 1);
    c->bytes [0] = 0xde;
    c->bytes [1] = 0;
    c->bytes [2] = 13;
    c->size += 2;
}
static void
s_unknown_item (s_case_t *c)
{
    //  "author" renamed "bathor": out of the table's order
    ck_assert_int_eq (memcmp (c->bytes + 1, "\xa6" "author", 7), 0);
    memcpy (c->bytes + 2, "bat", 3);
}

START_TEST (test_a_body_not_exactly_its_heads_canonical_record_is_stored_whole)
{
    ck_assert_uint_gt (s_compact_changed (s_nothing), 0);
    ck_assert_uint_eq (s_compact_changed (s_other_region), 0);
    ck_assert_uint_eq (s_compact_changed (s_other_scope), 0);
    ck_assert_uint_eq (s_compact_changed (s_other_key), 0);
    ck_assert_uint_eq (s_compact_changed (s_other_kind), 0);
    ck_assert_uint_eq (s_compact_changed (s_trailing), 0);
    ck_assert_uint_eq (s_compact_changed (s_cut), 0);
    ck_assert_uint_eq (s_compact_changed (s_not_a_map), 0);
    ck_assert_uint_eq (s_compact_changed (s_long_header), 0);
    ck_assert_uint_eq (s_compact_changed (s_unknown_item), 0);
}
END_TEST

START_TEST (test_a_compact_body_that_does_not_rebuild_is_refused)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    ht_record_t *record = ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "冯一",
                                            ht_fixture_hlc (1, 0));
    s_case_t c;
    s_case (record, &c);
    uint8_t compact [1024];
    size_t size = ht_store__body_compact (&c.head, c.bytes, c.size, compact);
    ck_assert_uint_gt (size, 2);
    ht_store_route_t stored = c.head;
    stored.body = compact;
    stored.compact = true;
    ht_store_bytes_t whole;
    //  Cut short, one byte too many, a bitmap naming an item more, too
    //  short for a bitmap
    stored.body_size = size - 1;
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), MDB_CORRUPTED);
    compact [size] = 0xc0;
    stored.body_size = size + 1;
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), MDB_CORRUPTED);
    stored.body_size = size;
    compact [0] ^= 0x10;            //  bit 12: "w"
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), MDB_CORRUPTED);
    compact [0] ^= 0x10;
    stored.body_size = 1;
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), MDB_CORRUPTED);
    //  Intact, it rebuilds
    stored.body_size = size;
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), 0);
    ck_assert_mem_eq (whole.data, c.bytes, c.size);
    ht_store__bytes_done (&whole);
    free (c.bytes);
    ht_record_destroy (&record);
    ht_fixture_destroy (&fixture);
}
END_TEST

//  Every current entry of a store's log holds its record compact, and
//  everything read from the store is the record as signed
START_TEST (test_a_store_keeps_current_records_compact_and_gives_them_back_whole)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    ht_fixture_apply_certs (fixture, store);
    enum { COUNT = 200 };
    ht_record_t **elders = ht_fixture_many_elders (fixture, 0, COUNT, ht_fixture_hlc (1, 0));
    ck_assert_int_eq (ht_store_apply (store, elders, COUNT, NULL, NULL, NULL), 0);
    for (size_t i = 0; i < COUNT; i++) {
        ht_record_t *got = ht_store_get (store, "elder", ht_record_key (elders [i]), NULL);
        ck_assert_ptr_nonnull (got);
        uint8_t *a, *b;
        size_t a_size, b_size;
        ck_assert_int_eq (ht_record_encode (elders [i], &a, &a_size), 0);
        ck_assert_int_eq (ht_record_encode (got, &b, &b_size), 0);
        ck_assert_uint_eq (a_size, b_size);
        ck_assert_mem_eq (a, b, a_size);
        free (a);
        free (b);
        ht_record_destroy (&got);
    }
    ht_store_destroy (&store);
    //  In the file: every current entry compact, smaller than its record
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi seq;
    ck_assert_int_eq (mdb_env_create (&env), 0);
    ck_assert_int_eq (mdb_env_set_maxdbs (env, 16), 0);
    ck_assert_int_eq (mdb_env_open (env, dir, MDB_RDONLY, 0600), 0);
    ck_assert_int_eq (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq (mdb_dbi_open (txn, "seq", 0, &seq), 0);
    MDB_cursor *cursor;
    ck_assert_int_eq (mdb_cursor_open (txn, seq, &cursor), 0);
    MDB_val key, value;
    size_t compact = 0;
    while (mdb_cursor_get (cursor, &key, &value, MDB_NEXT) == 0) {
        ht_store_route_t route;
        ck_assert_int_eq (ht_store__route_parse (&value, &route), 0);
        ck_assert (route.body && route.compact);
        compact++;
    }
    ck_assert_uint_eq (compact, COUNT + HT_FIXTURE_CERT_COUNT);
    mdb_cursor_close (cursor);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    ht_fixture_records_destroy (elders, COUNT);
    ht_fixture_rmrf (dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

//  A record larger than the inline buffer (an audit record naming the
//  most subjects one may, some 67 KB) is rebuilt on the heap, exactly
START_TEST (test_a_record_larger_than_the_inline_buffer_is_rebuilt_on_the_heap)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    ht_record_t *audit = ht_record_new ("audit");
    ck_assert_ptr_nonnull (audit);
    enum { SUBJECTS = HT_AUDIT_MAX_SUBJECTS };
    char (*keys) [65] = (char (*) [65]) malloc (SUBJECTS * sizeof *keys);
    const char **subjects = (const char **) malloc (SUBJECTS * sizeof *subjects);
    for (size_t i = 0; i < SUBJECTS; i++) {
        snprintf (keys [i], sizeof keys [i], "%064zx", i * 2654435761u);
        subjects [i] = keys [i];
    }
    ck_assert_int_eq (ht_record_set_strs (audit, "subjects", subjects, SUBJECTS), 0);
    ck_assert_int_eq (ht_record_set_int (audit, "at", 1700000000000), 0);
    ck_assert_int_eq (ht_record_set_str (audit, "client", keys [7]), 0);
    ck_assert_int_eq (ht_record_set_str (audit, "client_name", "清城区 民政局"), 0);
    ck_assert_int_eq (ht_record_set_str (audit, "policy", "civil_affairs"), 0);
    ck_assert_int_eq (ht_record_set_str (audit, "request", "find"), 0);
    ck_assert_int_eq (ht_record_set_str (audit, "subject_kind", "elder"), 0);
    char key [HT_KEY_MAX_CHARS + 1];
    snprintf (key, sizeof key, "%s-%016x-run1", HT_FIXTURE_COMMUNITY_A, 42u);
    ck_assert_int_eq (ht_record_set_key (audit, key), 0);
    ck_assert_int_eq (ht_record_set_region (audit, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_eq (ht_record_set_scope (audit, HT_FIXTURE_COMMUNITY_A), 0);
    ht_record_set_hlc (audit, ht_fixture_hlc (4, 0));
    ck_assert_int_eq (ht_record_sign (audit, fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]), 0);
    const char *why = NULL;
    ck_assert_msg (ht_record_validate (audit, &why) == 0, "%s", why? why: "");

    s_case_t c;
    s_case (audit, &c);
    ck_assert_uint_gt (c.size, 60000);
    uint8_t *compact = (uint8_t *) malloc (c.size);
    size_t compact_size = ht_store__body_compact (&c.head, c.bytes, c.size, compact);
    ck_assert_uint_gt (compact_size, HT_STORE_BYTES_INLINE);
    ck_assert_uint_lt (compact_size, c.size);
    ht_store_route_t stored = c.head;
    stored.body = compact;
    stored.body_size = compact_size;
    stored.compact = true;
    ht_store_bytes_t whole;
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), 0);
    ck_assert_ptr_nonnull (whole.heap);
    ck_assert_ptr_eq (whole.data, whole.heap);
    ck_assert_uint_eq (whole.size, c.size);
    ck_assert_mem_eq (whole.data, c.bytes, c.size);
    ht_store__bytes_done (&whole);
    //  And what is rebuilt decodes to the record as signed
    ck_assert_int_eq (ht_store__bytes_get (&stored, &whole), 0);
    int code = 0;
    const char *reason = NULL;
    ht_record_t *decoded = ht_record_decode (whole.data, whole.size, &code, &reason);
    ck_assert_msg (decoded != NULL, "%s", reason? reason: "");
    ht_store__bytes_done (&whole);
    ck_assert_str_eq (ht_record_get_strs_item (decoded, "subjects", SUBJECTS - 1),
                      keys [SUBJECTS - 1]);
    ck_assert_int_eq (ht_record_verify (decoded, &reason), 0);
    ht_record_destroy (&decoded);
    free (compact);
    free (c.bytes);
    free (subjects);
    free (keys);
    ht_record_destroy (&audit);
    ht_fixture_destroy (&fixture);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("store_body");
    TCase *body = tcase_create ("body");
    tcase_add_test (body, test_every_shape_of_record_comes_back_byte_for_byte);
    tcase_add_test (body, test_a_body_not_exactly_its_heads_canonical_record_is_stored_whole);
    tcase_add_test (body, test_a_compact_body_that_does_not_rebuild_is_refused);
    tcase_add_test (body, test_a_store_keeps_current_records_compact_and_gives_them_back_whole);
    tcase_add_test (body, test_a_record_larger_than_the_inline_buffer_is_rebuilt_on_the_heap);
    suite_add_tcase (suite, body);
    return suite;
}

HT_TEST_MAIN (s_suite)
