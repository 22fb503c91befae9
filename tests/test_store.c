//  test_store: the LMDB store — create/open, apply and merge, quarantine,
//  authorization, map growth, atomic batches, peers, listing and indexes.
#include <czmq.h>
#include <lmdb.h>
#include <sodium.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/wait.h>
#include "ht_test.h"
#include "ht_fixture.h"

#define S_SMALL_MAP_BYTES (256u * 1024)

//  --------------------------------------------------------------------------
//  Helpers

//  Encode a record into a zchunk (the caller owns it)
static zchunk_t *
s_encoded (const ht_record_t *record)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    zchunk_t *chunk = zchunk_new (data, size);
    free (data);
    return chunk;
}

//  True if two records encode to the same bytes
static bool
s_same_bytes (const ht_record_t *a, const ht_record_t *b)
{
    zchunk_t *first = s_encoded (a), *second = s_encoded (b);
    bool same = zchunk_size (first) == zchunk_size (second)
             && memcmp (zchunk_data (first), zchunk_data (second),
                        zchunk_size (first)) == 0;
    zchunk_destroy (&first);
    zchunk_destroy (&second);
    return same;
}

//  A copy of a signed record as it arrives over the wire (the caller owns it)
static ht_record_t *
s_wire_copy (const ht_record_t *record)
{
    zchunk_t *chunk = s_encoded (record);
    ht_record_t *copy = ht_record_decode (zchunk_data (chunk), zchunk_size (chunk),
                                          NULL, NULL);
    ck_assert_ptr_nonnull (copy);
    zchunk_destroy (&chunk);
    return copy;
}

//  Assert two texts are equal, naming the first line that differs
static void
s_assert_same_text (const char *first, const char *second)
{
    size_t line = 1, i = 0, start = 0;
    while (first [i] && first [i] == second [i]) {
        if (first [i] == '\n') {
            line++;
            start = i + 1;
        }
        i++;
    }
    ck_assert_msg (first [i] == second [i], "line %zu differs:\n%.300s\n%.300s",
                   line, first + start, second + start);
}

//  Apply one record as a local write and return its result code
static int
s_apply_one (ht_store_t *store, ht_record_t *record, ht_apply_stats_t *stats)
{
    int result = -999;
    ck_assert_int_eq (ht_store_apply (store, &record, 1, NULL, stats, &result), 0);
    return result;
}

//  Apply one record and destroy it; returns its result code
static int
s_apply_owned (ht_store_t *store, ht_record_t *record)
{
    int result = s_apply_one (store, record, NULL);
    ht_record_destroy (&record);
    return result;
}

//  Sign a changed record again with its author's key
static void
s_resign (ht_record_t *record, const ht_keypair_t *author)
{
    ck_assert_int_eq (ht_record_sign (record, author), 0);
}

//  Collects strings describing store contents, to compare two stores
typedef struct {
    zlistx_t *lines;                //  one line per stored item
    zlistx_t *entities;             //  "kind key" of each current record
    bool with_seq;                  //  include sequence numbers
} s_snapshot_t;

//  Change callback: one line per current version
static int
s_snapshot_change (void *arg, uint64_t seq, const uint8_t *data, size_t size,
                   const char *origin)
{
    s_snapshot_t *snapshot = (s_snapshot_t *) arg;
    char *hex = malloc (size * 2 + 1);
    ht_hex_encode (data, size, hex);
    zlistx_add_end (snapshot->lines, zsys_sprintf ("rec %s %s %" PRIu64, hex, origin,
                                                   snapshot->with_seq? seq: 0));
    free (hex);
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    ck_assert_ptr_nonnull (record);
    zlistx_add_end (snapshot->entities, zsys_sprintf ("%s %s", ht_record_kind (record),
                                                      ht_record_key (record)));
    ht_record_destroy (&record);
    return 0;
}

//  History callback: one line per superseded version
static int
s_snapshot_history (void *arg, const ht_record_t *record, uint64_t seq)
{
    s_snapshot_t *snapshot = (s_snapshot_t *) arg;
    ck_assert_uint_eq (seq, 0);
    zchunk_t *chunk = s_encoded (record);
    char *hex = zchunk_strhex (chunk);
    zlistx_add_end (snapshot->lines, zsys_sprintf ("hist %s", hex));
    zstr_free (&hex);
    zchunk_destroy (&chunk);
    return 0;
}

//  Quarantine callback: one line per rejected input
static int
s_snapshot_quarantine (void *arg, int code, const char *reason, const char *origin,
                       uint64_t when_ms, const uint8_t *data, size_t size)
{
    s_snapshot_t *snapshot = (s_snapshot_t *) arg;
    zlistx_add_end (snapshot->lines, zsys_sprintf ("quarantine %d %s %s %" PRIu64 " %zu",
                                                   code, reason, origin, when_ms, size));
    (void) data;
    return 0;
}

//  qsort comparator for an array of strings
static int
s_compare_lines (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  Describe a store's contents as one sorted text: current versions (with
//  origin, and seq if with_seq), history, quarantine (if with_seq) and
//  per-kind counts. Equal texts mean equal contents. Caller frees.
static char *
s_snapshot (ht_store_t *store, bool with_seq)
{
    s_snapshot_t snapshot = { zlistx_new (), zlistx_new (), with_seq };
    zlistx_set_destructor (snapshot.lines, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_destructor (snapshot.entities, (zlistx_destructor_fn *) zstr_free);
    ck_assert_int_ge (ht_store_changes (store, 0, 0, s_snapshot_change, &snapshot), 0);
    for (char *entity = zlistx_first (snapshot.entities); entity;
         entity = zlistx_next (snapshot.entities)) {
        char kind [16], key [65];
        ck_assert_int_eq (sscanf (entity, "%15s %64s", kind, key), 2);
        ck_assert_int_ge (ht_store_history (store, kind, key, s_snapshot_history,
                                            &snapshot), 0);
    }
    if (with_seq) {
        ck_assert_int_ge (ht_store_quarantine (store, s_snapshot_quarantine, &snapshot), 0);
        zlistx_add_end (snapshot.lines, zsys_sprintf ("last_seq %" PRIu64,
                                                      ht_store_last_seq (store)));
    }
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const char *kind = ht_schema_kind_at (index)->name;
        zlistx_add_end (snapshot.lines, zsys_sprintf ("count %s %" PRIu64, kind,
                                                      ht_store_count (store, kind)));
    }
    //  qsort, not zlistx_sort: czmq 4.2.1's comb sort can stop unsorted
    size_t count = zlistx_size (snapshot.lines), total = 1, index = 0;
    char **lines = calloc (count + 1, sizeof *lines);
    for (char *line = zlistx_first (snapshot.lines); line; line = zlistx_next (snapshot.lines)) {
        lines [index++] = line;
        total += strlen (line) + 1;
    }
    qsort (lines, count, sizeof *lines, s_compare_lines);
    char *text = calloc (1, total), *end = text;
    for (index = 0; index < count; index++)
        end = stpcpy (stpcpy (end, lines [index]), "\n");
    free (lines);
    zlistx_destroy (&snapshot.lines);
    zlistx_destroy (&snapshot.entities);
    return text;
}

//  Remembers what a quarantine walk saw
typedef struct {
    size_t count;                   //  entries seen
    int code;                       //  last code
    char reason [256];              //  last reason
    char origin [65];               //  last origin
    uint64_t when_ms;               //  last time
    zchunk_t *data;                 //  last bytes
} s_quarantined_t;

//  Quarantine callback that keeps the last entry
static int
s_quarantine_last (void *arg, int code, const char *reason, const char *origin,
                   uint64_t when_ms, const uint8_t *data, size_t size)
{
    s_quarantined_t *seen = (s_quarantined_t *) arg;
    seen->count++;
    seen->code = code;
    snprintf (seen->reason, sizeof seen->reason, "%s", reason);
    snprintf (seen->origin, sizeof seen->origin, "%s", origin);
    seen->when_ms = when_ms;
    zchunk_destroy (&seen->data);
    seen->data = zchunk_new (data, size);
    return 0;
}

//  Collects entity keys from list, find and history walks
typedef struct {
    char keys [64][HT_KEY_MAX_CHARS + 1];   //  keys in delivery order
    char regions [64][HT_REGION_BYTES];     //  their regions
    uint64_t seqs [64];                     //  their sequences
    char cursors [64][HT_STORE_CURSOR_BYTES];   //  and paging cursors
    size_t count;                           //  how many
} s_keys_t;

//  Each callback: remember key and region
static int
s_collect_key (void *arg, const ht_record_t *record, uint64_t seq)
{
    s_keys_t *keys = (s_keys_t *) arg;
    ck_assert_uint_gt (seq, 0);
    ck_assert_uint_lt (keys->count, 64);
    snprintf (keys->keys [keys->count], HT_KEY_MAX_CHARS + 1, "%s", ht_record_key (record));
    snprintf (keys->regions [keys->count], HT_REGION_BYTES, "%s", ht_record_region (record));
    keys->seqs [keys->count] = seq;
    ht_store_list_cursor (record, seq, keys->cursors [keys->count], HT_STORE_CURSOR_BYTES);
    keys->count++;
    return 0;
}

//  Collects (seq, key) from changes
typedef struct {
    uint64_t seqs [64];             //  sequences in order
    char keys [64][HT_KEY_MAX_CHARS + 1];   //  entity keys
    char origins [64][65];          //  origins
    size_t count;                   //  how many
} s_changes_t;

//  Change callback: remember seq, key and origin
static int
s_collect_change (void *arg, uint64_t seq, const uint8_t *data, size_t size,
                  const char *origin)
{
    s_changes_t *changes = (s_changes_t *) arg;
    ck_assert_uint_lt (changes->count, 64);
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    ck_assert_ptr_nonnull (record);
    changes->seqs [changes->count] = seq;
    snprintf (changes->keys [changes->count], HT_KEY_MAX_CHARS + 1, "%s",
              ht_record_key (record));
    snprintf (changes->origins [changes->count], 65, "%s", origin);
    changes->count++;
    ht_record_destroy (&record);
    return 0;
}

//  A store with the fixture's PKI applied, for one test
typedef struct {
    ht_fixture_t *fixture;          //  keys and certs
    ht_store_t *store;              //  the store under test
    char dir [HT_FIXTURE_DIR_CHARS];    //  its directory
} s_env_t;

//  Set up a township store holding the PKI
static void
s_env_setup (s_env_t *env, size_t map_bytes)
{
    env->fixture = ht_fixture_new ();
    env->store = ht_fixture_store_new (env->fixture, HT_FIXTURE_TOWNSHIP, map_bytes,
                                       env->dir);
    ht_fixture_apply_certs (env->fixture, env->store);
}

//  Tear down what s_env_setup built
static void
s_env_teardown (s_env_t *env)
{
    ht_fixture_store_destroy (&env->store, env->dir);
    ht_fixture_destroy (&env->fixture);
}


//  --------------------------------------------------------------------------
//  Create and open

START_TEST (test_a_reopened_store_keeps_its_epoch_and_identity)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    uint8_t epoch [HT_EPOCH_BYTES];
    memcpy (epoch, ht_store_epoch (store), HT_EPOCH_BYTES);
    ck_assert_str_eq (ht_store_region (store), HT_FIXTURE_TOWNSHIP);
    ck_assert_uint_eq (ht_store_last_seq (store), 0);
    ck_assert_uint_ge (ht_store_map_bytes (store), HT_STORE_DEFAULT_MAP_BYTES);
    ht_store_destroy (&store);
    ck_assert_ptr_null (store);
    ht_store_destroy (&store);

    int error = -1;
    store = ht_store_open (dir, 0, &error);
    ck_assert_ptr_nonnull (store);
    ck_assert_int_eq (error, 0);
    ck_assert_mem_eq (ht_store_epoch (store), epoch, HT_EPOCH_BYTES);
    ck_assert_str_eq (ht_store_region (store), HT_FIXTURE_TOWNSHIP);
    ck_assert_mem_eq (ht_store_anchor (store),
                      ht_keypair_public (fixture->keys [HT_FIXTURE_ROOT]), HT_PUBKEY_BYTES);
    ck_assert_mem_eq (ht_store_idkey (store), fixture->idkey, HT_IDKEY_BYTES);

    //  Another store gets another epoch
    char other_dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *other = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, other_dir);
    ck_assert_mem_ne (ht_store_epoch (other), epoch, HT_EPOCH_BYTES);
    ht_fixture_store_destroy (&other, other_dir);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_creating_over_an_existing_store_is_refused)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    uint8_t epoch [HT_EPOCH_BYTES];
    memcpy (epoch, ht_store_epoch (store), HT_EPOCH_BYTES);
    ht_store_destroy (&store);
    const uint8_t *anchor = ht_keypair_public (fixture->keys [HT_FIXTURE_ROOT]);
    ck_assert_int_eq (ht_store_create (dir, HT_FIXTURE_COUNTY, anchor, fixture->idkey),
                      HT_EINVAL);
    store = ht_store_open (dir, 0, NULL);
    ck_assert_mem_eq (ht_store_epoch (store), epoch, HT_EPOCH_BYTES);
    ck_assert_str_eq (ht_store_region (store), HT_FIXTURE_TOWNSHIP);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_a_store_created_without_an_idkey_holds_none_after_reopening)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_fixture_tempdir (dir);
    const uint8_t *anchor = ht_keypair_public (fixture->keys [HT_FIXTURE_ROOT]);
    ck_assert_int_eq (ht_store_create (dir, HT_FIXTURE_TOWNSHIP, anchor, NULL), 0);
    ht_store_t *store = ht_store_open (dir, 0, NULL);
    ck_assert_ptr_nonnull (store);
    ck_assert_ptr_null (ht_store_idkey (store));
    ck_assert_str_eq (ht_store_region (store), HT_FIXTURE_TOWNSHIP);
    ht_fixture_store_destroy (&store, dir);

    //  With one, the same key comes back
    store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    ck_assert_ptr_nonnull (ht_store_idkey (store));
    ck_assert_mem_eq (ht_store_idkey (store), fixture->idkey, HT_IDKEY_BYTES);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_creating_with_a_bad_region_is_refused)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_fixture_tempdir (dir);
    const uint8_t *anchor = ht_keypair_public (fixture->keys [HT_FIXTURE_ROOT]);
    ck_assert_int_eq (ht_store_create (dir, "4418", anchor, fixture->idkey), HT_EREGION);
    ck_assert_int_eq (ht_store_create (dir, "44180200100x", anchor, fixture->idkey),
                      HT_EREGION);
    int error = 0;
    ck_assert_ptr_null (ht_store_open (dir, 0, &error));
    ck_assert_int_eq (error, HT_ENOTFOUND);
    ht_fixture_rmrf (dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_creating_makes_missing_parent_directories)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS], path [HT_FIXTURE_DIR_CHARS + 32];
    ht_fixture_tempdir (dir);
    snprintf (path, sizeof path, "%s/a/b/store", dir);
    ck_assert_int_eq (ht_store_create (path, HT_FIXTURE_TOWNSHIP,
                                       ht_keypair_public (fixture->keys [0]),
                                       fixture->idkey), 0);
    struct stat info;
    ck_assert_int_eq (stat (path, &info), 0);
    ck_assert_int_eq (info.st_mode & 077, 0);
    ht_store_t *store = ht_store_open (path, 0, NULL);
    ck_assert_ptr_nonnull (store);
    ht_store_destroy (&store);
    ht_fixture_rmrf (dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_opening_a_directory_without_a_store_says_not_found)
{
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_fixture_tempdir (dir);
    int error = 0;
    ck_assert_ptr_null (ht_store_open (dir, 0, &error));
    ck_assert_int_eq (error, HT_ENOTFOUND);
    ck_assert_ptr_null (ht_store_open ("/nonexistent/hutong/store", 0, &error));
    ck_assert_int_eq (error, HT_ENOTFOUND);
    //  Opening must not have created anything
    char file [HT_FIXTURE_DIR_CHARS + 16];
    snprintf (file, sizeof file, "%s/data.mdb", dir);
    ck_assert_int_ne (access (file, F_OK), 0);
    ht_fixture_rmrf (dir);
}
END_TEST

//  Overwrite one meta item through raw LMDB
static void
s_poke_meta (const char *dir, const char *name, uint64_t number)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    uint8_t bytes [8];
    for (int i = 7; i >= 0; i--, number >>= 8)
        bytes [i] = (uint8_t) number;
    MDB_val key = { strlen (name), (void *) name }, value = { 8, bytes };
    ck_assert_int_eq (mdb_env_create (&env), 0);
    ck_assert_int_eq (mdb_env_set_maxdbs (env, 8), 0);
    ck_assert_int_eq (mdb_env_open (env, dir, 0, 0600), 0);
    ck_assert_int_eq (mdb_txn_begin (env, NULL, 0, &txn), 0);
    ck_assert_int_eq (mdb_dbi_open (txn, "meta", 0, &meta), 0);
    ck_assert_int_eq (mdb_put (txn, meta, &key, &value, 0), 0);
    ck_assert_int_eq (mdb_txn_commit (txn), 0);
    mdb_env_close (env);
}

START_TEST (test_a_store_of_another_schema_version_is_refused)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    ht_store_destroy (&store);
    s_poke_meta (dir, "schema_version", HT_SCHEMA_VERSION + 1);
    int error = 0;
    ck_assert_ptr_null (ht_store_open (dir, 0, &error));
    ck_assert_int_eq (error, HT_EVERSION);
    ht_fixture_rmrf (dir);
    ht_fixture_destroy (&fixture);
}
END_TEST


//  --------------------------------------------------------------------------
//  Apply and merge

START_TEST (test_a_signed_elder_applies_and_reads_back_byte_for_byte)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 15,
                                           "张三", ht_fixture_hlc (1, 0));
    ck_assert_str_eq (ht_record_get_str (elder, "id_no"), "441802194005120317");
    uint64_t before = ht_store_last_seq (env.store);
    ht_apply_stats_t stats;
    ck_assert_int_eq (s_apply_one (env.store, elder, &stats), 0);
    ck_assert_uint_eq (stats.applied, 1);
    ck_assert_uint_eq (stats.unchanged + stats.historic + stats.quarantined, 0);
    ck_assert_uint_eq (ht_store_last_seq (env.store), before + 1);

    int error = -1;
    ht_record_t *stored = ht_store_get (env.store, "elder", ht_record_key (elder), &error);
    ck_assert_int_eq (error, 0);
    ck_assert_ptr_nonnull (stored);
    ck_assert (s_same_bytes (elder, stored));
    ht_record_destroy (&stored);

    ck_assert_ptr_null (ht_store_get (env.store, "elder", "nosuchkey", &error));
    ck_assert_int_eq (error, HT_ENOTFOUND);
    ck_assert_ptr_null (ht_store_get (env.store, "nosuchkind", "x", &error));
    ck_assert_int_eq (error, HT_ENOTFOUND);
    ht_record_destroy (&elder);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_reapplying_the_same_version_changes_nothing)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "张三", ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_apply_one (env.store, elder, NULL), 0);
    char *before = s_snapshot (env.store, true);
    uint64_t last_seq = ht_store_last_seq (env.store);

    ht_apply_stats_t stats;
    ck_assert_int_eq (s_apply_one (env.store, elder, &stats), 0);
    ck_assert_uint_eq (stats.unchanged, 1);
    ck_assert_uint_eq (stats.applied + stats.historic + stats.quarantined, 0);
    //  A copy that went over the wire is the same version too
    ht_record_t *copy = s_wire_copy (elder);
    ck_assert_int_eq (s_apply_one (env.store, copy, &stats), 0);
    ck_assert_uint_eq (stats.unchanged, 1);
    ck_assert_uint_eq (ht_store_last_seq (env.store), last_seq);
    char *after = s_snapshot (env.store, true);
    s_assert_same_text (before, after);
    free (before);
    free (after);
    ht_record_destroy (&copy);
    ht_record_destroy (&elder);
    s_env_teardown (&env);
}
END_TEST

//  History callback that keeps encoded copies in a list
static int
s_keep_history (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    zlistx_add_end ((zlistx_t *) arg, s_wire_copy (record));
    return 0;
}

//  A list of records that destroys them
static zlistx_t *
s_record_list (void)
{
    zlistx_t *list = zlistx_new ();
    zlistx_set_destructor (list, (zlistx_destructor_fn *) ht_record_destroy);
    return list;
}

START_TEST (test_a_newer_version_supersedes_and_the_old_one_is_history)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *old = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                         "张三", ht_fixture_hlc (1, 0));
    ht_record_t *newer = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "张三丰", ht_fixture_hlc (2, 0));
    ck_assert_str_eq (ht_record_key (old), ht_record_key (newer));
    ck_assert_int_eq (s_apply_one (env.store, old, NULL), 0);
    ht_apply_stats_t stats;
    ck_assert_int_eq (s_apply_one (env.store, newer, &stats), 0);
    ck_assert_uint_eq (stats.applied, 1);

    ht_record_t *current = ht_store_get (env.store, "elder", ht_record_key (old), NULL);
    ck_assert (s_same_bytes (current, newer));
    zlistx_t *history = s_record_list ();
    ck_assert_int_eq (ht_store_history (env.store, "elder", ht_record_key (old),
                                        s_keep_history, history), 1);
    ck_assert (s_same_bytes (zlistx_first (history), old));
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 1);
    zlistx_destroy (&history);
    ht_record_destroy (&current);
    ht_record_destroy (&old);
    ht_record_destroy (&newer);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_an_older_version_arriving_late_goes_to_history)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *old = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                         "张三", ht_fixture_hlc (1, 0));
    ht_record_t *newer = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "张三丰", ht_fixture_hlc (2, 0));
    ck_assert_int_eq (s_apply_one (env.store, newer, NULL), 0);
    uint64_t last_seq = ht_store_last_seq (env.store);
    ht_apply_stats_t stats;
    ck_assert_int_eq (s_apply_one (env.store, old, &stats), 0);
    ck_assert_uint_eq (stats.historic, 1);
    ck_assert_uint_eq (stats.applied + stats.unchanged + stats.quarantined, 0);
    ck_assert_uint_eq (ht_store_last_seq (env.store), last_seq);

    ht_record_t *current = ht_store_get (env.store, "elder", ht_record_key (old), NULL);
    ck_assert (s_same_bytes (current, newer));
    zlistx_t *history = s_record_list ();
    ck_assert_int_eq (ht_store_history (env.store, "elder", ht_record_key (old),
                                        s_keep_history, history), 1);
    ck_assert (s_same_bytes (zlistx_first (history), old));
    //  Arriving once more, it is held already
    ck_assert_int_eq (s_apply_one (env.store, old, &stats), 0);
    ck_assert_uint_eq (stats.unchanged, 1);
    zlistx_destroy (&history);
    ht_record_destroy (&current);
    ht_record_destroy (&old);
    ht_record_destroy (&newer);
    s_env_teardown (&env);
}
END_TEST

//  The i-th permutation (0..n!-1) of 0..n-1, in lexicographic order
static void
s_permutation (size_t index, size_t n, size_t *out)
{
    size_t pool [8], count = n;
    for (size_t i = 0; i < n; i++)
        pool [i] = i;
    for (size_t i = 0; i < n; i++) {
        size_t factorial = 1;
        for (size_t k = 2; k < count; k++)
            factorial *= k;
        size_t pick = index / factorial;
        index %= factorial;
        out [i] = pool [pick];
        memmove (pool + pick, pool + pick + 1, (count - pick - 1) * sizeof (size_t));
        count--;
    }
}

START_TEST (test_merge_order_does_not_change_what_a_store_holds)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    ht_keypair_t *community = fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY];
    ht_keypair_t *township = fixture->keys [HT_FIXTURE_TOWNSHIP_KEY];
    const char *a = HT_FIXTURE_COMMUNITY_A;
    //  Entity one: four versions, two sharing an hlc (the author breaks
    //  the tie); entity two: three versions
    ht_record_t *one [4] = {
        ht_fixture_elder_in (fixture, community, a, a, 1, "甲一", ht_fixture_hlc (1, 0)),
        ht_fixture_elder_in (fixture, community, a, a, 1, "甲二", ht_fixture_hlc (2, 0)),
        ht_fixture_elder_in (fixture, township, a, a, 1, "甲三", ht_fixture_hlc (2, 0)),
        ht_fixture_elder_in (fixture, community, a, a, 1, "甲四", ht_fixture_hlc (3, 7)),
    };
    ht_record_t *two [3] = {
        ht_fixture_elder_in (fixture, community, a, a, 2, "乙一", ht_fixture_hlc (1, 1)),
        ht_fixture_elder_in (fixture, township, a, a, 2, "乙二", ht_fixture_hlc (4, 0)),
        ht_fixture_elder_in (fixture, community, a, a, 2, "乙三", ht_fixture_hlc (4, 1)),
    };
    char *reference = NULL;
    for (size_t index = 0; index < 24; index++) {
        size_t p [4], q [3];
        s_permutation (index, 4, p);
        s_permutation (index % 6, 3, q);
        ht_record_t *order [7] = { one [p [0]], two [q [0]], one [p [1]], two [q [1]],
                                   one [p [2]], two [q [2]], one [p [3]] };
        char dir [HT_FIXTURE_DIR_CHARS];
        ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
        ht_fixture_apply_certs (fixture, store);
        //  Half the stores get one batch per record, half one batch in all
        ht_apply_stats_t stats;
        if (index % 2 == 0)
            for (size_t i = 0; i < 7; i++)
                ck_assert_int_eq (s_apply_one (store, order [i], NULL), 0);
        else {
            ck_assert_int_eq (ht_store_apply (store, order, 7, NULL, &stats, NULL), 0);
            ck_assert_uint_eq (stats.quarantined + stats.unchanged, 0);
            ck_assert_uint_eq (stats.applied + stats.historic, 7);
        }
        ht_record_t *winner = ht_store_get (store, "elder", ht_record_key (one [0]), NULL);
        ck_assert (s_same_bytes (winner, one [3]));
        ht_record_destroy (&winner);
        ck_assert_int_eq (ht_store_history (store, "elder", ht_record_key (one [0]),
                                            NULL, NULL), 3);
        ck_assert_int_eq (ht_store_history (store, "elder", ht_record_key (two [0]),
                                            NULL, NULL), 2);
        char *contents = s_snapshot (store, false);
        if (reference)
            s_assert_same_text (contents, reference);
        else
            reference = strdup (contents);
        free (contents);
        ht_fixture_store_destroy (&store, dir);
    }
    free (reference);
    for (size_t i = 0; i < 4; i++)
        ht_record_destroy (&one [i]);
    for (size_t i = 0; i < 3; i++)
        ht_record_destroy (&two [i]);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_a_tombstone_stays_current_but_leaves_listings_and_counts)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *alive = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "张三", ht_fixture_hlc (1, 0));
    ht_record_t *dead = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                          "张三", ht_fixture_hlc (2, 0));
    ht_record_set_deleted (dead, true);
    s_resign (dead, env.fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]);
    ck_assert_int_eq (s_apply_one (env.store, alive, NULL), 0);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 1);
    ck_assert_int_eq (ht_store_list (env.store, "elder", "", NULL, 0, NULL, NULL), 1);
    ck_assert_int_eq (s_apply_one (env.store, dead, NULL), 0);

    ht_record_t *current = ht_store_get (env.store, "elder", ht_record_key (dead), NULL);
    ck_assert (ht_record_deleted (current));
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 0);
    ck_assert_int_eq (ht_store_list (env.store, "elder", "", NULL, 0, NULL, NULL), 0);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "status", "active", 0,
                                     NULL, NULL), 0);
    //  The tombstone still replicates
    s_changes_t changes = { .count = 0 };
    ck_assert_int_ge (ht_store_changes (env.store, 0, 0, s_collect_change, &changes), 1);
    ck_assert_str_eq (changes.keys [changes.count - 1], ht_record_key (dead));
    ht_record_destroy (&current);
    ht_record_destroy (&alive);
    ht_record_destroy (&dead);
    s_env_teardown (&env);
}
END_TEST


//  --------------------------------------------------------------------------
//  Quarantine and authorization

START_TEST (test_a_flipped_signature_byte_in_mid_batch_quarantines_only_that_record)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *batch [3];
    for (unsigned i = 0; i < 3; i++)
        batch [i] = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, i + 1,
                                      "王五", ht_fixture_hlc (1, 0));
    //  Flip one byte of the middle record's signature on the wire
    zchunk_t *wire = s_encoded (batch [1]);
    uint8_t *sig = memmem (zchunk_data (wire), zchunk_size (wire),
                           ht_record_sig (batch [1]), HT_SIG_BYTES);
    ck_assert_ptr_nonnull (sig);
    sig [10] ^= 0x01;
    ht_record_t *forged = ht_record_decode (zchunk_data (wire), zchunk_size (wire),
                                            NULL, NULL);
    ck_assert_ptr_nonnull (forged);
    ht_record_destroy (&batch [1]);
    batch [1] = forged;

    int results [3];
    ht_apply_stats_t stats;
    ck_assert_int_eq (ht_store_apply (env.store, batch, 3, NULL, &stats, results), 0);
    ck_assert_int_eq (results [0], 0);
    ck_assert_int_eq (results [1], HT_EBADSIG);
    ck_assert_int_eq (results [2], 0);
    ck_assert_uint_eq (stats.applied, 2);
    ck_assert_uint_eq (stats.quarantined, 1);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 2);
    int error = 0;
    ck_assert_ptr_null (ht_store_get (env.store, "elder", ht_record_key (forged), &error));
    ck_assert_int_eq (error, HT_ENOTFOUND);

    s_quarantined_t seen = { 0 };
    ck_assert_int_eq (ht_store_quarantine (env.store, s_quarantine_last, &seen), 1);
    ck_assert_int_eq (seen.code, HT_EBADSIG);
    ck_assert_uint_gt (strlen (seen.reason), 0);
    ck_assert_str_eq (seen.origin, "local");
    ck_assert_uint_gt (seen.when_ms, HT_FIXTURE_T0_MS);
    ck_assert (zchunk_size (seen.data) == zchunk_size (wire));
    ck_assert_mem_eq (zchunk_data (seen.data), zchunk_data (wire), zchunk_size (wire));
    zchunk_destroy (&seen.data);
    zchunk_destroy (&wire);
    for (int i = 0; i < 3; i++)
        ht_record_destroy (&batch [i]);
    s_env_teardown (&env);
}
END_TEST

//  Apply one record and return the code it was quarantined with (0 if
//  it was not), checking the quarantine holds the same code
static int
s_quarantine_code (ht_store_t *store, ht_record_t *record)
{
    s_quarantined_t seen = { 0 };
    int before = ht_store_quarantine (store, NULL, NULL);
    int code = s_apply_one (store, record, NULL);
    int after = ht_store_quarantine (store, s_quarantine_last, &seen);
    ck_assert_int_eq (after, before + (code != 0));
    if (code)
        ck_assert_int_eq (seen.code, code);
    zchunk_destroy (&seen.data);
    return code;
}

START_TEST (test_a_community_writing_another_communitys_record_is_refused_for_scope)
{
    s_env_t env;
    s_env_setup (&env, 0);
    const char *b = HT_FIXTURE_COMMUNITY_B;
    ht_record_t *trespass = ht_fixture_elder_in (env.fixture,
                                                 env.fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY],
                                                 b, b, 1, "李四", ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_quarantine_code (env.store, trespass), HT_ESCOPE);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 0);
    //  Community B's own key may
    ht_record_t *own = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_B_KEY, 1,
                                         "李四", ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_quarantine_code (env.store, own), 0);
    ht_record_destroy (&trespass);
    ht_record_destroy (&own);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_a_record_outside_what_the_node_holds_is_refused_even_if_authorized)
{
    //  A township node's store: the county may write anywhere in the
    //  county, but an elder of another township's community belongs to
    //  neither this township's subtree nor its scope
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [PATH_MAX];
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    ht_apply_stats_t stats;
    ck_assert_int_eq (ht_store_apply (store, fixture->certs, 3, NULL, &stats, NULL), 0);
    ht_record_t *elsewhere = ht_fixture_elder_in (fixture, fixture->keys [HT_FIXTURE_COUNTY_KEY],
                                                  "441802002001", "441802002001", 1, "王五",
                                                  ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_quarantine_code (store, elsewhere), HT_ESCOPE);
    //  The same author's elder inside the township is held
    ht_record_t *inside = ht_fixture_elder_in (fixture, fixture->keys [HT_FIXTURE_COUNTY_KEY],
                                               HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_A, 2,
                                               "王五", ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_quarantine_code (store, inside), 0);
    ht_record_destroy (&elsewhere);
    ht_record_destroy (&inside);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_a_scope_wider_than_the_authors_jurisdiction_is_refused)
{
    s_env_t env;
    s_env_setup (&env, 0);
    const char *a = HT_FIXTURE_COMMUNITY_A;
    ht_record_t *wide = ht_fixture_elder_in (env.fixture,
                                             env.fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY],
                                             a, HT_FIXTURE_TOWNSHIP, 1, "李四",
                                             ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_quarantine_code (env.store, wide), HT_ESCOPE);
    //  The township may publish a community's record township-wide
    ht_record_t *township = ht_fixture_elder_in (env.fixture,
                                                 env.fixture->keys [HT_FIXTURE_TOWNSHIP_KEY],
                                                 a, HT_FIXTURE_TOWNSHIP, 1, "李四",
                                                 ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_quarantine_code (env.store, township), 0);
    ht_record_destroy (&wide);
    ht_record_destroy (&township);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_a_kind_the_cert_does_not_grant_is_refused)
{
    s_env_t env;
    s_env_setup (&env, 0);
    //  Communities may not certify beyond themselves either: a cert for
    //  the neighbour's region signed by community A
    ht_keypair_t *client = ht_fixture_key (0x77, "client");
    static const char *const kinds [] = { "elder" };
    ht_record_t *cert = ht_fixture_cert (client, HT_FIXTURE_COMMUNITY_B, kinds, 1,
                                         env.fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY], 9);
    ck_assert_int_eq (s_quarantine_code (env.store, cert), HT_ESCOPE);
    //  And may not grant a kind they lack
    static const char *const credit [] = { "credit" };
    ht_record_t *granting = ht_fixture_cert (client, HT_FIXTURE_COMMUNITY_A, credit, 1,
                                             env.fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY], 9);
    ck_assert_int_eq (s_quarantine_code (env.store, granting), HT_EKINDPERM);
    ht_record_destroy (&cert);
    ht_record_destroy (&granting);
    ht_keypair_destroy (&client);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_records_after_a_revocation_are_refused_and_earlier_ones_accepted)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_fixture_t *fixture = env.fixture;
    const uint8_t *community = ht_keypair_public (fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]);
    //  A record before the revocation exists warms the cache with "not revoked"
    ht_record_t *early = ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "赵六", ht_fixture_hlc (3, 0));
    ck_assert_int_eq (s_apply_owned (env.store, early), 0);

    uint64_t revoked_at = HT_FIXTURE_T0_MS + 10 * HT_FIXTURE_DAY_MS;
    int error = 0;
    const char *reason = NULL;
    ht_record_t *revocation = ht_revocation_issue (community, HT_FIXTURE_COMMUNITY_A,
                                                   revoked_at, "key lost",
                                                   fixture->keys [HT_FIXTURE_TOWNSHIP_KEY],
                                                   ht_hlc_make (revoked_at, 0),
                                                   &error, &reason);
    ck_assert_msg (revocation, "%s", reason? reason: "?");
    ht_record_t *batch [3] = {
        revocation,
        ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 2, "赵六", ht_fixture_hlc (5, 0)),
        ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 3, "赵六", ht_fixture_hlc (20, 0)),
    };
    int results [3];
    ck_assert_int_eq (ht_store_apply (env.store, batch, 3, NULL, NULL, results), 0);
    ck_assert_int_eq (results [0], 0);
    ck_assert_int_eq (results [1], 0);
    ck_assert_int_eq (results [2], HT_EREVOKED);
    //  And in a later batch too
    ht_record_t *late = ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 4, "赵六",
                                          ht_fixture_hlc (11, 0));
    ck_assert_int_eq (s_quarantine_code (env.store, late), HT_EREVOKED);

    //  The store's own certsource sees the same
    const ht_certsource_t *source = ht_store_certsource (env.store);
    uint64_t at = 0;
    ck_assert_int_eq (source->revocation (source->ctx, community, &at), 0);
    ck_assert_uint_eq (at, revoked_at);
    ht_cert_t cert;
    uint8_t issuer [HT_PUBKEY_BYTES];
    ck_assert_int_eq (source->cert (source->ctx, community, &cert, issuer), 0);
    ck_assert_str_eq (cert.region, HT_FIXTURE_COMMUNITY_A);
    ck_assert_mem_eq (issuer, ht_keypair_public (fixture->keys [HT_FIXTURE_TOWNSHIP_KEY]),
                      HT_PUBKEY_BYTES);
    const uint8_t *other = ht_keypair_public (fixture->keys [HT_FIXTURE_COMMUNITY_B_KEY]);
    ck_assert_int_eq (source->revocation (source->ctx, other, &at), HT_ENOTFOUND);
    ht_record_destroy (&late);
    for (int i = 0; i < 3; i++)
        ht_record_destroy (&batch [i]);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_a_record_whose_author_has_no_cert_is_refused)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_keypair_t *stranger = ht_fixture_key (0x99, "stranger");
    const char *a = HT_FIXTURE_COMMUNITY_A;
    ht_record_t *elder = ht_fixture_elder_in (env.fixture, stranger, a, a, 1, "钱七",
                                              ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_quarantine_code (env.store, elder), HT_ENOCERT);
    //  Nor does a store without any certs accept the community's records
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *bare = ht_fixture_store_new (env.fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    ht_record_t *community = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                               "钱七", ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_quarantine_code (bare, community), HT_ENOCERT);
    ht_fixture_store_destroy (&bare, dir);
    ht_record_destroy (&community);
    ht_record_destroy (&elder);
    ht_keypair_destroy (&stranger);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_a_record_from_the_far_future_is_refused)
{
    s_env_t env;
    s_env_setup (&env, 0);
    uint64_t future = ht_hlc_make (ht_hlc_wall_ms () + 2 * HT_HLC_MAX_DRIFT_MS, 0);
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "孙八", future);
    ck_assert_int_eq (s_quarantine_code (env.store, elder), HT_ECLOCK);
    ht_record_destroy (&elder);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_a_redacted_record_is_refused)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "周九", ht_fixture_hlc (1, 0));
    const char *disclose [] = { "name", "status" };
    ht_record_t *redacted = ht_record_redact (elder, disclose, 2);
    ck_assert_ptr_nonnull (redacted);
    ck_assert_int_eq (s_quarantine_code (env.store, redacted), HT_EREDACTED);
    ht_record_destroy (&redacted);
    ht_record_destroy (&elder);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_garbage_bytes_are_quarantined_with_a_decoding_error)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "吴十", ht_fixture_hlc (1, 0));
    zchunk_t *good = s_encoded (elder);
    uint8_t noise [100];
    for (size_t i = 0; i < sizeof noise; i++)
        noise [i] = (uint8_t) (i * 37 + 11);
    const uint8_t map_of_nothing [] = { 0x81, 0xc1, 0xc1 };
    const uint8_t *data [] = { noise, zchunk_data (good), NULL, map_of_nothing,
                               zchunk_data (good) };
    size_t sizes [] = { sizeof noise, zchunk_size (good) / 2, 0, sizeof map_of_nothing,
                        zchunk_size (good) };
    uint8_t epoch [HT_EPOCH_BYTES];
    memset (epoch, 0xee, sizeof epoch);
    ht_origin_t origin = { .peer = "fengcheng", .epoch = epoch, .cursor = 7 };
    int results [5];
    ht_apply_stats_t stats;
    ck_assert_int_eq (ht_store_apply_encoded (env.store, data, sizes, 5, &origin,
                                              &stats, results), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_msg (results [i] != 0, "input %d was accepted", i);
    ck_assert_int_eq (results [4], 0);
    ck_assert_uint_eq (stats.quarantined, 4);
    ck_assert_uint_eq (stats.applied, 1);

    s_quarantined_t seen = { 0 };
    ck_assert_int_eq (ht_store_quarantine (env.store, s_quarantine_last, &seen), 4);
    ck_assert_str_eq (seen.origin, "fengcheng");
    ck_assert_uint_gt (strlen (seen.reason), 0);
    ck_assert_uint_eq (zchunk_size (seen.data), sizeof map_of_nothing);
    zchunk_destroy (&seen.data);
    ck_assert_int_eq (ht_store_apply_encoded (env.store, NULL, NULL, 0, NULL, NULL, NULL), 0);
    zchunk_destroy (&good);
    ht_record_destroy (&elder);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_every_single_flipped_byte_of_a_record_is_refused)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "郑十一", ht_fixture_hlc (1, 0));
    zchunk_t *good = s_encoded (elder);
    size_t count = zchunk_size (good);
    uint8_t **copies = calloc (count, sizeof *copies);
    size_t *sizes = calloc (count, sizeof *sizes);
    for (size_t i = 0; i < count; i++) {
        copies [i] = malloc (count);
        memcpy (copies [i], zchunk_data (good), count);
        copies [i][i] ^= 0x20;
        sizes [i] = count;
    }
    ht_apply_stats_t stats;
    ck_assert_int_eq (ht_store_apply_encoded (env.store, (const uint8_t *const *) copies,
                                              sizes, count, NULL, &stats, NULL), 0);
    ck_assert_uint_eq (stats.applied + stats.historic, 0);
    ck_assert_uint_eq (stats.quarantined + stats.unchanged, count);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 0);
    for (size_t i = 0; i < count; i++)
        free (copies [i]);
    free (copies);
    free (sizes);
    zchunk_destroy (&good);
    ht_record_destroy (&elder);
    s_env_teardown (&env);
}
END_TEST


//  --------------------------------------------------------------------------
//  Map growth and atomic batches

//  Build count elders of community A, serial first.. (one version each)
static ht_record_t **
s_elders (const ht_fixture_t *fixture, unsigned first, size_t count, unsigned day)
{
    return ht_fixture_elders (fixture, HT_FIXTURE_COMMUNITY_A_KEY, first, count, "冯十二",
                              ht_fixture_hlc (day, 0));
}

//  Destroy what s_elders built
static void
s_elders_destroy (ht_record_t **records, size_t count)
{
    ht_fixture_records_destroy (records, count);
}

START_TEST (test_the_map_grows_until_every_record_fits)
{
    s_env_t env;
    s_env_setup (&env, S_SMALL_MAP_BYTES);
    ck_assert_uint_eq (ht_store_map_bytes (env.store), S_SMALL_MAP_BYTES);
    //  500 entities (all the fixture's IDs), three versions each
    const size_t entities = 500, per_batch = 100;
    ht_record_t **last = NULL;
    for (unsigned day = 1; day <= 3; day++) {
        ht_record_t **records = s_elders (env.fixture, 0, entities, day);
        for (size_t start = 0; start < entities; start += per_batch) {
            ht_apply_stats_t stats;
            ck_assert_int_eq (ht_store_apply (env.store, records + start, per_batch,
                                              NULL, &stats, NULL), 0);
            ck_assert_uint_eq (stats.applied, per_batch);
        }
        if (day == 3)
            last = records;
        else
            s_elders_destroy (records, entities);
    }
    ck_assert_uint_ge (ht_store_map_bytes (env.store), 8 * S_SMALL_MAP_BYTES);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), entities);
    ck_assert_int_eq (ht_store_list (env.store, "elder", "", NULL, 0, NULL, NULL),
                      (int) entities);
    ck_assert_int_eq (ht_store_changes (env.store, 0, 0, NULL, NULL),
                      (int) entities + HT_FIXTURE_CERT_COUNT);
    for (size_t i = 0; i < entities; i++) {
        ht_record_t *stored = ht_store_get (env.store, "elder", ht_record_key (last [i]), NULL);
        ck_assert (s_same_bytes (stored, last [i]));
        ck_assert_int_eq (ht_store_history (env.store, "elder", ht_record_key (last [i]),
                                            NULL, NULL), 2);
        ht_record_destroy (&stored);
    }
    s_elders_destroy (last, entities);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_a_batch_that_cannot_fit_leaves_the_store_exactly_as_before)
{
    s_env_t env;
    s_env_setup (&env, S_SMALL_MAP_BYTES);
    ck_assert_int_eq (ht_store_set_map_limit (env.store, S_SMALL_MAP_BYTES), 0);
    ht_record_t **few = s_elders (env.fixture, 0, 3, 1);
    ck_assert_int_eq (ht_store_apply (env.store, few, 3, NULL, NULL, NULL), 0);
    char *before = s_snapshot (env.store, true);

    //  A peer's batch, with a bad record in it too, that needs more room
    const size_t count = 400;
    ht_record_t **many = s_elders (env.fixture, 0, count, 2);
    ht_keypair_t *nobody = ht_fixture_key (0x99, "nobody");
    ht_record_t *stranger = ht_fixture_elder_in (env.fixture, nobody, HT_FIXTURE_COMMUNITY_A,
                                                 HT_FIXTURE_COMMUNITY_A, 7, "x",
                                                 ht_fixture_hlc (1, 0));
    ht_keypair_destroy (&nobody);
    ht_record_destroy (&many [5]);
    many [5] = stranger;
    uint8_t epoch [HT_EPOCH_BYTES];
    memset (epoch, 0xab, sizeof epoch);
    ht_origin_t origin = { .peer = "fengcheng", .epoch = epoch, .cursor = 99 };
    ht_apply_stats_t stats;
    ck_assert_int_eq (ht_store_apply (env.store, many, count, &origin, &stats, NULL),
                      HT_EFULL);
    char *after = s_snapshot (env.store, true);
    s_assert_same_text (before, after);
    ck_assert_int_eq (ht_store_peer_get (env.store, "fengcheng", NULL, NULL, NULL, NULL), HT_ENOTFOUND);
    ck_assert_uint_eq (ht_store_map_bytes (env.store), S_SMALL_MAP_BYTES);

    //  With room it goes through, whole
    ck_assert_int_eq (ht_store_set_map_limit (env.store, 0), 0);
    ck_assert_int_eq (ht_store_apply (env.store, many, count, &origin, &stats, NULL), 0);
    ck_assert_uint_eq (stats.applied, count - 1);
    ck_assert_uint_eq (stats.quarantined, 1);
    uint64_t cursor = 0;
    ck_assert_int_eq (ht_store_peer_get (env.store, "fengcheng", NULL, &cursor, NULL, NULL), 0);
    ck_assert_uint_eq (cursor, 99);
    free (before);
    free (after);
    s_elders_destroy (few, 3);
    s_elders_destroy (many, count);
    s_env_teardown (&env);
}
END_TEST

//  A reader in another thread, as the node's reader thread is
typedef struct {
    ht_store_t *store;              //  read while the owner gives memory back
    const char *key;                //  an elder that must always be found
    bool stop;                      //  set by the owner (atomic)
    size_t misses;                  //  reads that did not find it
    size_t reads;                   //  reads made
} s_reader_t;

static void *
s_reader_run (void *arg)
{
    s_reader_t *reader = (s_reader_t *) arg;
    while (!__atomic_load_n (&reader->stop, __ATOMIC_ACQUIRE)) {
        ht_record_t *record = ht_store_get (reader->store, "elder", reader->key, NULL);
        reader->misses += record == NULL;
        reader->reads++;
        ht_record_destroy (&record);
    }
    return NULL;
}

START_TEST (test_memory_given_back_at_rest_loses_no_write_and_leaves_the_store_usable)
{
    s_env_t env;
    s_env_setup (&env, 0);
    enum { MANY = 800 };            //  some 600 KiB of pages LMDB copied
    ht_record_t **many = ht_fixture_many_elders (env.fixture, 0, MANY, ht_fixture_hlc (1, 0));
    ht_origin_t lazy = { .lazy = true };
    ck_assert_int_eq (ht_store_apply (env.store, many, MANY, &lazy, NULL, NULL), 0);
    //  LMDB keeps its copies of the pages the batch wrote: given back
    size_t heap_before = mallinfo2 ().uordblks;
    s_reader_t reader = { .store = env.store, .key = ht_record_key (many [7]) };
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_reader_run, &reader), 0);
    for (int round = 0; round < 20; round++)
        ht_store_release_memory (env.store);
    __atomic_store_n (&reader.stop, true, __ATOMIC_RELEASE);
    pthread_join (thread, NULL);
    ck_assert_uint_eq (reader.misses, 0);
    ck_assert_uint_gt (reader.reads, 0);
    //  While the reader runs, each release may find it holding the map
    //  (only the mapping is dropped then); once it is gone, one does all
    ht_store_release_memory (env.store);
    size_t heap_after = mallinfo2 ().uordblks;
    //  Under valgrind, malloc is not glibc's and mallinfo2 says 0: the
    //  heap cannot be measured there, only the rest is checked
    if (heap_before > 0)
        ck_assert_msg (heap_after + 256 * 1024 < heap_before, "heap in use %zu before, %zu after",
                       heap_before, heap_after);

    //  Every write is there, and the store takes more
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), MANY);
    ht_record_t **more = ht_fixture_many_elders (env.fixture, MANY, 50, ht_fixture_hlc (1, 0));
    ck_assert_int_eq (ht_store_apply (env.store, more, 50, NULL, NULL, NULL), 0);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), MANY + 50);
    ht_store_destroy (&env.store);
    int error = -1;
    env.store = ht_store_open (env.dir, 0, &error);
    ck_assert_ptr_nonnull (env.store);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), MANY + 50);
    s_elders_destroy (many, MANY);
    s_elders_destroy (more, 50);
    s_env_teardown (&env);
}
END_TEST

//  While busy, a store over its resident limit gives memory back between
//  batches: nothing with no limit or under it, LMDB's heap copies (by
//  opening the environment anew) when the heap passes half the limit,
//  and every write stays readable after either
START_TEST (test_a_busy_store_over_its_resident_limit_gives_memory_back_between_batches)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t **many = s_elders (env.fixture, 0, 300, 1);
    ck_assert_int_eq (ht_store_apply (env.store, many, 300, NULL, NULL, NULL), 0);
    ck_assert (!ht_store_trim (env.store));             //  no limit set
    ht_store_set_resident_limit (env.store, (size_t) 1 << 40);
    ck_assert (!ht_store_trim (env.store));             //  far under it
    //  A limit this process's heap passes twice over: the environment is
    //  opened anew, and says so
    ht_store_set_resident_limit (env.store, 2);
    ck_assert (ht_store_trim (env.store));
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 300);
    ht_record_t *back = ht_store_get (env.store, "elder", ht_record_key (many [299]), NULL);
    ck_assert_ptr_nonnull (back);
    ht_record_destroy (&back);
    ht_record_t **more = s_elders (env.fixture, 300, 20, 1);
    ck_assert_int_eq (ht_store_apply (env.store, more, 20, NULL, NULL, NULL), 0);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 320);
    s_elders_destroy (many, 300);
    s_elders_destroy (more, 20);
    s_env_teardown (&env);
}
END_TEST

//  Resident bytes of this process's mappings of the store's data file
static size_t
s_store_mapped_bytes (const char *dir)
{
    char path [PATH_MAX + 16], real [PATH_MAX], line [PATH_MAX + 128];
    ck_assert_ptr_nonnull (realpath (dir, real));
    snprintf (path, sizeof path, "%s/data.mdb", real);
    FILE *smaps = fopen ("/proc/self/smaps", "r");
    ck_assert_ptr_nonnull (smaps);
    size_t bytes = 0;
    bool ours = false;
    while (fgets (line, sizeof line, smaps)) {
        char name [PATH_MAX] = "";
        unsigned long start, end, kb;
        //  A mapping's first line: its range, then its name (if any)
        int fields = sscanf (line, "%lx-%lx %*s %*s %*s %*s %4095s", &start, &end, name);
        if (fields >= 2)
            ours = fields == 3 && streq (name, path);
        else
        if (ours && sscanf (line, "Rss: %lu kB", &kb) == 1)
            bytes += (size_t) kb * 1024;
    }
    fclose (smaps);
    return bytes;
}

//  While a large batch runs, a store over its resident limit keeps
//  dropping its mapped pages: each lookup maps a block of the file
//  around the page it reads, so one batch on a large store would
//  otherwise map the whole store (here, all of it that a batch touches
//  with no limit set; with one, a small part)
START_TEST (test_a_store_over_its_resident_limit_drops_its_mapped_pages_inside_a_batch)
{
    s_env_t env;
    s_env_setup (&env, 0);
    enum { HELD = 10000, STEP = 2000, BATCH = 1500 };
    for (unsigned first = 0; first < HELD; first += STEP) {
        ht_record_t **step = ht_fixture_many_elders (env.fixture, first, STEP, ht_fixture_hlc (1, 0));
        ck_assert_int_eq (ht_store_apply (env.store, step, STEP, NULL, NULL, NULL), 0);
        s_elders_destroy (step, STEP);
    }
    //  With no limit: a batch maps much of the store
    ht_store_release_memory (env.store);
    ht_record_t **free_run = ht_fixture_many_elders (env.fixture, HELD, BATCH, ht_fixture_hlc (1, 0));
    ck_assert_int_eq (ht_store_apply (env.store, free_run, BATCH, NULL, NULL, NULL), 0);
    size_t unlimited = s_store_mapped_bytes (env.dir);
    //  With a limit this process is always over: what stays mapped is
    //  what the batch touched since its last check
    ht_store_release_memory (env.store);
    ht_store_set_resident_limit (env.store, 1);
    ht_record_t **bounded = ht_fixture_many_elders (env.fixture, HELD + BATCH, BATCH, ht_fixture_hlc (1, 0));
    ck_assert_int_eq (ht_store_apply (env.store, bounded, BATCH, NULL, NULL, NULL), 0);
    size_t limited = s_store_mapped_bytes (env.dir);
    ck_assert_msg (unlimited > 4 * 1024 * 1024, "the batch mapped only %zu bytes (%zu with the limit)",
                   unlimited, limited);
    ck_assert_msg (limited * 4 < unlimited, "%zu bytes mapped with the limit, %zu without",
                   limited, unlimited);
    //  Nothing is lost
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), HELD + 2 * BATCH);
    ht_record_t *back = ht_store_get (env.store, "elder", ht_record_key (bounded [BATCH - 1]),
                                      NULL);
    ck_assert_ptr_nonnull (back);
    ht_record_destroy (&back);
    s_elders_destroy (free_run, BATCH);
    s_elders_destroy (bounded, BATCH);
    s_env_teardown (&env);
}
END_TEST

//  A record validly signed but invalid by its schema (a field out of its
//  range) is refused wherever it comes from: received in a batch large
//  enough to be checked on the verifier threads, or signed in this
//  process; its neighbours in the batch are stored
START_TEST (test_a_signed_record_that_breaks_its_schema_is_refused_in_any_batch)
{
    s_env_t env;
    s_env_setup (&env, 0);
    enum { COUNT = 100, BAD_A = 13, BAD_B = 77 };
    ht_record_t **many = s_elders (env.fixture, 0, COUNT, 1);
    const ht_keypair_t *author = env.fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY];
    for (size_t i = 0; i < COUNT; i++)
        if (i == BAD_A || i == BAD_B) {
            ck_assert_int_eq (ht_record_set_int (many [i], "ability_level", 9), 0);
            ck_assert_int_eq (ht_record_sign (many [i], author), 0);
            ck_assert_int_eq (ht_record_verify (many [i], NULL), 0);
        }
    zchunk_t *chunks [COUNT];
    const uint8_t *data [COUNT];
    size_t sizes [COUNT];
    for (size_t i = 0; i < COUNT; i++) {
        chunks [i] = s_encoded (many [i]);
        data [i] = zchunk_data (chunks [i]);
        sizes [i] = zchunk_size (chunks [i]);
    }
    uint8_t epoch [HT_EPOCH_BYTES];
    memset (epoch, 0xab, sizeof epoch);
    ht_origin_t origin = { .peer = "qingcheng", .epoch = epoch, .cursor = 1 };
    int results [COUNT];
    ht_apply_stats_t stats;
    ck_assert_int_eq (ht_store_apply_encoded (env.store, data, sizes, COUNT, &origin,
                                              &stats, results), 0);
    for (size_t i = 0; i < COUNT; i++)
        if (i == BAD_A || i == BAD_B)
            ck_assert_int_eq (results [i], HT_ESCHEMA);
        else
            ck_assert_int_eq (results [i], 0);
    ck_assert_uint_eq (stats.quarantined, 2);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), COUNT - 2);

    //  Signed here: no signature check, the schema still binds
    s_env_teardown (&env);
    s_env_setup (&env, 0);
    ck_assert_int_eq (ht_store_apply (env.store, many, COUNT, NULL, &stats, results), 0);
    ck_assert_int_eq (results [BAD_A], HT_ESCHEMA);
    ck_assert_int_eq (results [BAD_B], HT_ESCHEMA);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), COUNT - 2);
    for (size_t i = 0; i < COUNT; i++)
        zchunk_destroy (&chunks [i]);
    s_elders_destroy (many, COUNT);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_a_peers_cursor_is_stored_with_its_batch)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ck_assert_int_eq (ht_store_peer_get (env.store, "fengcheng", NULL, NULL, NULL, NULL), HT_ENOTFOUND);
    uint8_t epoch [HT_EPOCH_BYTES], stored [HT_EPOCH_BYTES];
    memset (epoch, 0xc3, sizeof epoch);
    ht_origin_t origin = { .peer = "fengcheng", .epoch = epoch, .cursor = 42 };
    ht_record_t **records = s_elders (env.fixture, 1, 2, 1);
    ck_assert_int_eq (ht_store_apply (env.store, records, 2, &origin, NULL, NULL), 0);
    uint64_t cursor = 0;
    ck_assert_int_eq (ht_store_peer_get (env.store, "fengcheng", stored, &cursor, NULL, NULL), 0);
    ck_assert_mem_eq (stored, epoch, HT_EPOCH_BYTES);
    ck_assert_uint_eq (cursor, 42);
    //  Records remember the peer they came from
    s_changes_t changes = { .count = 0 };
    ck_assert_int_eq (ht_store_changes (env.store, ht_store_last_seq (env.store) - 2, 0,
                                        s_collect_change, &changes), 2);
    ck_assert_str_eq (changes.origins [0], "fengcheng");
    ck_assert_str_eq (changes.origins [1], "fengcheng");
    //  An empty batch still advances the cursor; a new epoch replaces the old
    memset (epoch, 0x3c, sizeof epoch);
    origin.cursor = 50;
    ck_assert_int_eq (ht_store_apply (env.store, NULL, 0, &origin, NULL, NULL), 0);
    ck_assert_int_eq (ht_store_peer_get (env.store, "fengcheng", stored, &cursor, NULL, NULL), 0);
    ck_assert_mem_eq (stored, epoch, HT_EPOCH_BYTES);
    ck_assert_uint_eq (cursor, 50);
    //  Bad origins are refused before anything is written
    ht_origin_t nameless = { .peer = "", .epoch = epoch, .cursor = 1 };
    ck_assert_int_eq (ht_store_apply (env.store, records, 2, &nameless, NULL, NULL),
                      HT_EINVAL);
    ht_origin_t no_epoch = { .peer = "fengcheng", .epoch = NULL, .cursor = 1 };
    ck_assert_int_eq (ht_store_apply (env.store, records, 2, &no_epoch, NULL, NULL),
                      HT_EINVAL);
    ck_assert_int_eq (ht_store_peer_get (env.store, "", NULL, NULL, NULL, NULL), HT_EINVAL);
    s_elders_destroy (records, 2);
    s_env_teardown (&env);
}
END_TEST


//  --------------------------------------------------------------------------
//  Reading

//  Apply elders 1..5 in community A and 6..8 in community B; returns them
static void
s_apply_two_communities (s_env_t *env)
{
    for (unsigned serial = 1; serial <= 8; serial++) {
        ht_fixture_principal_t community = serial <= 5? HT_FIXTURE_COMMUNITY_A_KEY
                                                      : HT_FIXTURE_COMMUNITY_B_KEY;
        ck_assert_int_eq (s_apply_owned (env->store,
                                         ht_fixture_elder (env->fixture, community, serial,
                                                           "陈", ht_fixture_hlc (1, 0))), 0);
    }
}

START_TEST (test_listing_by_region_pages_in_region_and_sequence_order)
{
    s_env_t env;
    s_env_setup (&env, 0);
    s_apply_two_communities (&env);
    s_keys_t all = { .count = 0 };
    ck_assert_int_eq (ht_store_list (env.store, "elder", "", NULL, 0, s_collect_key, &all), 8);
    for (size_t i = 1; i < all.count; i++) {
        int order = strcmp (all.regions [i - 1], all.regions [i]);
        ck_assert (order < 0 || (order == 0 && all.seqs [i - 1] < all.seqs [i]));
    }
    ck_assert_str_eq (all.regions [0], HT_FIXTURE_COMMUNITY_A);
    ck_assert_str_eq (all.regions [7], HT_FIXTURE_COMMUNITY_B);

    //  Pages of three walk the same sequence, resumed by cursor or by key
    for (int by_key = 0; by_key < 2; by_key++) {
        s_keys_t paged = { .count = 0 };
        const char *after = NULL;
        int got;
        do {
            got = ht_store_list (env.store, "elder", "441802001", after, 3, s_collect_key,
                                 &paged);
            ck_assert_int_ge (got, 0);
            ck_assert_int_le (got, 3);
            after = paged.count == 0? NULL
                  : by_key? paged.keys [paged.count - 1]: paged.cursors [paged.count - 1];
        } while (got > 0);
        ck_assert_uint_eq (paged.count, 8);
        for (size_t i = 0; i < 8; i++)
            ck_assert_str_eq (paged.keys [i], all.keys [i]);
    }
    //  A record changed while a listing pages comes again at the end of
    //  its region; none is missed
    s_keys_t first = { .count = 0 };
    ck_assert_int_eq (ht_store_list (env.store, "elder", HT_FIXTURE_COMMUNITY_A, NULL, 2,
                                     s_collect_key, &first), 2);
    ht_record_t *changed = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "陈陈",
                                             ht_fixture_hlc (2, 0));
    ck_assert_str_eq (ht_record_key (changed), first.keys [0]);
    ck_assert_int_eq (s_apply_owned (env.store, changed), 0);
    s_keys_t rest = { .count = 0 };
    ck_assert_int_eq (ht_store_list (env.store, "elder", HT_FIXTURE_COMMUNITY_A,
                                     first.cursors [1], 0, s_collect_key, &rest), 4);
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq (rest.keys [i], all.keys [2 + i]);
    ck_assert_str_eq (rest.keys [3], first.keys [0]);
    //  Neither a cursor nor an entity key: refused
    ck_assert_int_eq (ht_store_list (env.store, "elder", "", "441802001001:x", 0, NULL, NULL),
                      HT_ENOTFOUND);
    ck_assert_int_eq (ht_store_list (env.store, "elder", "", "441802001001:0", 0, NULL, NULL),
                      HT_ENOTFOUND);

    ck_assert_int_eq (ht_store_list (env.store, "elder", HT_FIXTURE_COMMUNITY_A, NULL, 0,
                                     NULL, NULL), 5);
    ck_assert_int_eq (ht_store_list (env.store, "elder", HT_FIXTURE_COMMUNITY_B, NULL, 0,
                                     NULL, NULL), 3);
    ck_assert_int_eq (ht_store_list (env.store, "elder", HT_FIXTURE_TOWNSHIP, NULL, 0,
                                     NULL, NULL), 8);
    ck_assert_int_eq (ht_store_list (env.store, "elder", "441803", NULL, 0, NULL, NULL), 0);
    ck_assert_int_eq (ht_store_list (env.store, "elder", "4418", NULL, 2, NULL, NULL), 2);
    //  A page after the last of community A inside B's listing starts at B
    s_keys_t b = { .count = 0 };
    ck_assert_int_eq (ht_store_list (env.store, "elder", HT_FIXTURE_COMMUNITY_B,
                                     all.keys [4], 0, s_collect_key, &b), 3);
    ck_assert_str_eq (b.keys [0], all.keys [5]);
    ck_assert_int_eq (ht_store_list (env.store, "facility", "", NULL, 0, NULL, NULL), 0);
    ck_assert_int_eq (ht_store_list (env.store, "nosuchkind", "", NULL, 0, NULL, NULL),
                      HT_EKIND);
    ck_assert_int_eq (ht_store_list (env.store, "elder", "44x", NULL, 0, NULL, NULL),
                      HT_EREGION);
    ck_assert_int_eq (ht_store_list (env.store, "elder", "", "nosuchkey", 0, NULL, NULL),
                      HT_ENOTFOUND);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_find_by_indexed_field_follows_the_current_version)
{
    s_env_t env;
    s_env_setup (&env, 0);
    s_apply_two_communities (&env);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "hukou_region",
                                     HT_FIXTURE_COMMUNITY_B, 0, NULL, NULL), 3);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "status", "active", 0,
                                     NULL, NULL), 8);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "status", "active", 5,
                                     NULL, NULL), 5);

    ht_keypair_t *author = env.fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY];
    const char *both [] = { "特困", "低保" }, *one [] = { "特困" };
    ht_record_t *v2 = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "陈",
                                        ht_fixture_hlc (2, 0));
    ck_assert_int_eq (ht_record_set_strs (v2, "categories", both, 2), 0);
    s_resign (v2, author);
    ck_assert_int_eq (s_apply_one (env.store, v2, NULL), 0);
    s_keys_t found = { .count = 0 };
    ck_assert_int_eq (ht_store_find (env.store, "elder", "categories", "低保", 0,
                                     s_collect_key, &found), 1);
    ck_assert_str_eq (found.keys [0], ht_record_key (v2));

    ht_record_t *v3 = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "陈",
                                        ht_fixture_hlc (3, 0));
    ck_assert_int_eq (ht_record_set_strs (v3, "categories", one, 1), 0);
    ck_assert_int_eq (ht_record_set_str (v3, "living", "独居"), 0);
    s_resign (v3, author);
    ck_assert_int_eq (s_apply_one (env.store, v3, NULL), 0);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "categories", "低保", 0,
                                     NULL, NULL), 0);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "categories", "特困", 0,
                                     NULL, NULL), 1);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "living", "独居", 0,
                                     NULL, NULL), 1);
    //  A late old version does not touch the index
    ck_assert_int_eq (s_apply_one (env.store, v2, NULL), 0);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "categories", "低保", 0,
                                     NULL, NULL), 0);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "name", "陈", 0, NULL, NULL),
                      HT_EFIELD);
    ck_assert_int_eq (ht_store_find (env.store, "elder", "nosuchfield", "x", 0, NULL, NULL),
                      HT_EFIELD);
    ck_assert_int_eq (ht_store_find (env.store, "nosuchkind", "status", "x", 0, NULL, NULL),
                      HT_EKIND);
    ck_assert_int_eq (ht_store_find (env.store, "cert", "role", "node", 0, NULL, NULL),
                      HT_FIXTURE_CERT_COUNT);
    ht_record_destroy (&v2);
    ht_record_destroy (&v3);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_changes_list_each_entity_once_at_its_latest_sequence)
{
    s_env_t env;
    s_env_setup (&env, 0);
    uint64_t base = ht_store_last_seq (env.store);
    ck_assert_uint_eq (base, HT_FIXTURE_CERT_COUNT);
    ht_record_t *a1 = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "甲",
                                        ht_fixture_hlc (1, 0));
    ht_record_t *b1 = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 2, "乙",
                                        ht_fixture_hlc (1, 0));
    ht_record_t *a2 = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "甲乙",
                                        ht_fixture_hlc (2, 0));
    ck_assert_int_eq (s_apply_one (env.store, a1, NULL), 0);
    ck_assert_int_eq (s_apply_one (env.store, b1, NULL), 0);
    ck_assert_int_eq (s_apply_one (env.store, a2, NULL), 0);
    ck_assert_uint_eq (ht_store_last_seq (env.store), base + 3);

    s_changes_t changes = { .count = 0 };
    ck_assert_int_eq (ht_store_changes (env.store, base, 0, s_collect_change, &changes), 2);
    ck_assert_uint_eq (changes.seqs [0], base + 2);
    ck_assert_str_eq (changes.keys [0], ht_record_key (b1));
    ck_assert_uint_eq (changes.seqs [1], base + 3);
    ck_assert_str_eq (changes.keys [1], ht_record_key (a2));
    ck_assert_str_eq (changes.origins [1], "");
    //  Everything, then paging with a limit, then past the end
    ck_assert_int_eq (ht_store_changes (env.store, 0, 0, NULL, NULL),
                      HT_FIXTURE_CERT_COUNT + 2);
    s_changes_t first = { .count = 0 };
    ck_assert_int_eq (ht_store_changes (env.store, 0, 3, s_collect_change, &first), 3);
    ck_assert_uint_eq (first.seqs [0], 1);
    ck_assert_int_eq (ht_store_changes (env.store, base + 3, 0, NULL, NULL), 0);
    ck_assert_int_eq (ht_store_changes (env.store, UINT64_MAX, 0, NULL, NULL), 0);
    ht_record_destroy (&a1);
    ht_record_destroy (&b1);
    ht_record_destroy (&a2);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_counts_per_kind_track_live_records)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ck_assert_uint_eq (ht_store_count (env.store, "cert"), HT_FIXTURE_CERT_COUNT);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 0);
    s_apply_two_communities (&env);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 8);
    ht_record_t *newer = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "陈",
                                           ht_fixture_hlc (2, 0));
    ck_assert_int_eq (s_apply_owned (env.store, newer), 0);
    ck_assert_uint_eq (ht_store_count (env.store, "elder"), 8);
    ck_assert_uint_eq (ht_store_count (env.store, "facility"), 0);
    ck_assert_uint_eq (ht_store_count (env.store, "nosuchkind"), 0);
    ck_assert_uint_eq (ht_store_count (env.store, "revocation"), 0);
    s_env_teardown (&env);
}
END_TEST

START_TEST (test_another_process_writing_the_store_is_seen)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_fixture_t *fixture = env.fixture;
    //  Warm our cert cache: community A is not revoked
    ck_assert_int_eq (s_apply_owned (env.store, ht_fixture_elder (fixture,
                      HT_FIXTURE_COMMUNITY_A_KEY, 1, "甲", ht_fixture_hlc (1, 0))), 0);
    uint64_t last_seq = ht_store_last_seq (env.store);
    uint64_t revoked_at = HT_FIXTURE_T0_MS + 10 * HT_FIXTURE_DAY_MS;

    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0) {
        //  The child never touches the parent's environment
        ht_store_t *store = ht_store_open (env.dir, 0, NULL);
        ht_record_t *revocation = ht_revocation_issue (
            ht_keypair_public (fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]),
            HT_FIXTURE_COMMUNITY_A, revoked_at, "key lost",
            fixture->keys [HT_FIXTURE_TOWNSHIP_KEY], ht_hlc_make (revoked_at, 0), NULL, NULL);
        int result = -1;
        int rc = store && revocation?
                 ht_store_apply (store, &revocation, 1, NULL, NULL, &result): -1;
        ht_record_destroy (&revocation);
        ht_store_destroy (&store);
        _exit (rc == 0 && result == 0? 0: 1);
    }
    int status = -1;
    ck_assert_int_eq (waitpid (child, &status, 0), child);
    ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ck_assert_uint_eq (ht_store_last_seq (env.store), last_seq + 1);
    ck_assert_uint_eq (ht_store_count (env.store, "revocation"), 1);
    ht_record_t *late = ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 2, "乙",
                                          ht_fixture_hlc (11, 0));
    ck_assert_int_eq (s_quarantine_code (env.store, late), HT_EREVOKED);
    ht_record_destroy (&late);
    s_env_teardown (&env);
}
END_TEST



//  --------------------------------------------------------------------------
//  Inputs held already

//  Apply wire copies of records as a peer's batch would come (bytes)
static void
s_apply_bytes (ht_store_t *store, zchunk_t **chunks, size_t count, ht_apply_stats_t *stats,
               int *results)
{
    const uint8_t *data [count];
    size_t sizes [count];
    for (size_t i = 0; i < count; i++) {
        data [i] = zchunk_data (chunks [i]);
        sizes [i] = zchunk_size (chunks [i]);
    }
    ck_assert_int_eq (ht_store_apply_encoded (store, data, sizes, count, NULL, stats,
                                              results), 0);
}

START_TEST (test_a_batch_held_already_costs_no_signature_check)
{
    s_env_t env;
    s_env_setup (&env, 0);
    //  Enough records for the verifier threads, and one entity whose
    //  first version is in history by now
    enum { COUNT = 100 };
    zchunk_t *chunks [COUNT + 1];
    for (unsigned i = 0; i < COUNT; i++) {
        ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY,
                                               i + 1, "王五", ht_fixture_hlc (1, 0));
        chunks [i] = s_encoded (elder);
        ht_record_destroy (&elder);
    }
    ht_record_t *newer = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1,
                                           "王五六", ht_fixture_hlc (2, 0));
    chunks [COUNT] = s_encoded (newer);
    ht_record_destroy (&newer);

    uint64_t verified = ht_store_verifications (env.store);
    ht_apply_stats_t stats;
    s_apply_bytes (env.store, chunks, COUNT + 1, &stats, NULL);
    ck_assert_uint_eq (stats.applied, COUNT + 1);
    ck_assert_uint_eq (ht_store_verifications (env.store), verified + COUNT + 1);
    char *before = s_snapshot (env.store, true);

    //  The same batch again: held, current or in history, and not checked
    s_apply_bytes (env.store, chunks, COUNT + 1, &stats, NULL);
    ck_assert_uint_eq (stats.unchanged, COUNT + 1);
    ck_assert_uint_eq (stats.applied + stats.historic + stats.quarantined + stats.conflicts, 0);
    ck_assert_uint_eq (ht_store_verifications (env.store), verified + COUNT + 1);
    char *after = s_snapshot (env.store, true);
    s_assert_same_text (before, after);
    free (before);
    free (after);
    for (unsigned i = 0; i <= COUNT; i++)
        zchunk_destroy (&chunks [i]);
    s_env_teardown (&env);
}
END_TEST

//  A batch large enough to be prepared while it is applied (in chunks,
//  on the verifier threads) gives every record the verdict it gets in
//  batches of one chunk, prepared here: held ones cost no check, forged and
//  malformed ones are refused, the rest stored; and it does so across a
//  map that fills up midway (the attempt is run again, grown)
START_TEST (test_a_batch_prepared_while_it_is_applied_keeps_every_verdict)
{
    //  ONE_CHUNK: under the 64 items a batch needs to be split
    enum { COUNT = 3000, HELD = 700, STEP = 350, ONE_CHUNK = 63 };
    for (int pipelined = 0; pipelined < 2; pipelined++) {
        s_env_t env;
        s_env_setup (&env, S_SMALL_MAP_BYTES);
        ht_record_t **elders = ht_fixture_many_elders (env.fixture, 0, COUNT,
                                                       ht_fixture_hlc (1, 0));
        zchunk_t **chunks = calloc (COUNT, sizeof *chunks);
        int expect [COUNT];
        size_t forged = 0, malformed = 0;
        for (unsigned i = 0; i < COUNT; i++) {
            chunks [i] = s_encoded (elders [i]);
            expect [i] = 0;
            if (i >= HELD && i % 97 == 0) {
                uint8_t *sig = memmem (zchunk_data (chunks [i]), zchunk_size (chunks [i]),
                                       ht_record_sig (elders [i]), HT_SIG_BYTES);
                ck_assert_ptr_nonnull (sig);
                sig [5] ^= 0x20;
                expect [i] = HT_EBADSIG;
                forged++;
            }
            else
            if (i >= HELD && i % 301 == 0) {
                zchunk_set (chunks [i], "\x81\xa1x\x01", 4);
                expect [i] = HT_EMALFORMED;
                malformed++;
            }
        }
        for (unsigned first = 0; first < HELD; first += STEP)
            s_apply_bytes (env.store, chunks + first, STEP, NULL, NULL);
        uint64_t verified = ht_store_verifications (env.store);
        size_t map_before = ht_store_map_bytes (env.store);
        //  All of it at once, or in batches of one chunk each
        ht_apply_stats_t stats = { 0 }, step;
        int results [COUNT];
        size_t size = pipelined? COUNT: ONE_CHUNK;
        for (size_t first = 0; first < COUNT; first += size) {
            size_t count = first + size <= COUNT? size: COUNT - first;
            s_apply_bytes (env.store, chunks + first, count, &step, results + first);
            stats.applied += step.applied;
            stats.unchanged += step.unchanged;
            stats.quarantined += step.quarantined;
        }
        for (unsigned i = 0; i < COUNT; i++)
            ck_assert_msg (results [i] == expect [i], "record %u: %d, expected %d", i,
                           results [i], expect [i]);
        ck_assert_uint_eq (stats.unchanged, HELD);
        ck_assert_uint_eq (stats.quarantined, forged + malformed);
        ck_assert_uint_eq (stats.applied, COUNT - HELD - forged - malformed);
        //  Held records cost no check; forged ones were checked
        ck_assert_uint_eq (ht_store_verifications (env.store) - verified,
                           COUNT - HELD - malformed);
        ck_assert_uint_gt (ht_store_map_bytes (env.store), map_before);
        ck_assert_uint_eq (ht_store_count (env.store, "elder"), COUNT - forged - malformed);
        for (unsigned i = 0; i < COUNT; i += 7) {
            int error = -1;
            ht_record_t *stored = ht_store_get (env.store, "elder", ht_record_key (elders [i]),
                                                &error);
            if (expect [i] == 0) {
                ck_assert_ptr_nonnull (stored);
                ck_assert (s_same_bytes (stored, elders [i]));
            }
            else
                ck_assert_int_eq (error, HT_ENOTFOUND);
            ht_record_destroy (&stored);
        }
        for (unsigned i = 0; i < COUNT; i++)
            zchunk_destroy (&chunks [i]);
        free (chunks);
        s_elders_destroy (elders, COUNT);
        s_env_teardown (&env);
    }
}
END_TEST

START_TEST (test_a_forged_copy_of_a_held_version_is_checked_and_refused)
{
    s_env_t env;
    s_env_setup (&env, 0);
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 7,
                                           "张三", ht_fixture_hlc (1, 0));
    zchunk_t *genuine = s_encoded (elder);
    s_apply_bytes (env.store, &genuine, 1, NULL, NULL);
    uint64_t verified = ht_store_verifications (env.store);

    //  Its (kind, key, hlc, author, digest) with another signature: the
    //  bytes are not the ones held, so the signature is checked
    zchunk_t *flipped = zchunk_dup (genuine);
    uint8_t *sig = memmem (zchunk_data (flipped), zchunk_size (flipped),
                           ht_record_sig (elder), HT_SIG_BYTES);
    ck_assert_ptr_nonnull (sig);
    sig [3] ^= 0x40;
    //  Other content at its (hlc, author), carrying its signature
    ht_record_t *other = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 7,
                                           "李四", ht_fixture_hlc (1, 0));
    ck_assert_str_eq (ht_record_key (other), ht_record_key (elder));
    zchunk_t *borrowed = s_encoded (other);
    sig = memmem (zchunk_data (borrowed), zchunk_size (borrowed),
                  ht_record_sig (other), HT_SIG_BYTES);
    ck_assert_ptr_nonnull (sig);
    memcpy (sig, ht_record_sig (elder), HT_SIG_BYTES);

    zchunk_t *forged [2] = { flipped, borrowed };
    int results [2];
    ht_apply_stats_t stats;
    s_apply_bytes (env.store, forged, 2, &stats, results);
    ck_assert_int_eq (results [0], HT_EBADSIG);
    ck_assert_int_eq (results [1], HT_EBADSIG);
    ck_assert_uint_eq (stats.quarantined, 2);
    ck_assert_uint_eq (stats.unchanged, 0);
    ck_assert_uint_eq (ht_store_verifications (env.store), verified + 2);
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 2);
    int error = -1;
    ht_record_t *stored = ht_store_get (env.store, "elder", ht_record_key (elder), &error);
    ck_assert_ptr_nonnull (stored);
    ck_assert (s_same_bytes (stored, elder));
    ht_record_destroy (&stored);

    //  The genuine bytes once more: held, not checked
    s_apply_bytes (env.store, &genuine, 1, &stats, NULL);
    ck_assert_uint_eq (stats.unchanged, 1);
    ck_assert_uint_eq (ht_store_verifications (env.store), verified + 2);
    zchunk_destroy (&genuine);
    zchunk_destroy (&flipped);
    zchunk_destroy (&borrowed);
    ht_record_destroy (&other);
    ht_record_destroy (&elder);
    s_env_teardown (&env);
}
END_TEST

static Suite *
s_store_suite (void)
{
    Suite *suite = suite_create ("store");
    TCase *open = tcase_create ("open");
    tcase_add_test (open, test_a_reopened_store_keeps_its_epoch_and_identity);
    tcase_add_test (open, test_creating_over_an_existing_store_is_refused);
    tcase_add_test (open, test_creating_with_a_bad_region_is_refused);
    tcase_add_test (open, test_a_store_created_without_an_idkey_holds_none_after_reopening);
    tcase_add_test (open, test_creating_makes_missing_parent_directories);
    tcase_add_test (open, test_opening_a_directory_without_a_store_says_not_found);
    tcase_add_test (open, test_a_store_of_another_schema_version_is_refused);
    suite_add_tcase (suite, open);

    TCase *merge = tcase_create ("merge");
    tcase_add_test (merge, test_a_signed_elder_applies_and_reads_back_byte_for_byte);
    tcase_add_test (merge, test_reapplying_the_same_version_changes_nothing);
    tcase_add_test (merge, test_a_newer_version_supersedes_and_the_old_one_is_history);
    tcase_add_test (merge, test_an_older_version_arriving_late_goes_to_history);
    tcase_add_test (merge, test_merge_order_does_not_change_what_a_store_holds);
    tcase_add_test (merge, test_a_tombstone_stays_current_but_leaves_listings_and_counts);
    tcase_add_test (merge, test_a_batch_held_already_costs_no_signature_check);
    tcase_add_test (merge, test_a_forged_copy_of_a_held_version_is_checked_and_refused);
    tcase_add_test (merge, test_a_batch_prepared_while_it_is_applied_keeps_every_verdict);
    suite_add_tcase (suite, merge);

    TCase *reject = tcase_create ("quarantine");
    tcase_add_test (reject, test_a_flipped_signature_byte_in_mid_batch_quarantines_only_that_record);
    tcase_add_test (reject, test_a_community_writing_another_communitys_record_is_refused_for_scope);
    tcase_add_test (reject, test_a_scope_wider_than_the_authors_jurisdiction_is_refused);
    tcase_add_test (reject, test_a_record_outside_what_the_node_holds_is_refused_even_if_authorized);
    tcase_add_test (reject, test_a_kind_the_cert_does_not_grant_is_refused);
    tcase_add_test (reject, test_records_after_a_revocation_are_refused_and_earlier_ones_accepted);
    tcase_add_test (reject, test_a_record_whose_author_has_no_cert_is_refused);
    tcase_add_test (reject, test_a_record_from_the_far_future_is_refused);
    tcase_add_test (reject, test_a_redacted_record_is_refused);
    tcase_add_test (reject, test_garbage_bytes_are_quarantined_with_a_decoding_error);
    tcase_add_test (reject, test_a_signed_record_that_breaks_its_schema_is_refused_in_any_batch);
    tcase_add_test (reject, test_every_single_flipped_byte_of_a_record_is_refused);
    suite_add_tcase (suite, reject);

    TCase *batch = tcase_create ("batch");
    tcase_add_test (batch, test_the_map_grows_until_every_record_fits);
    tcase_add_test (batch, test_a_batch_that_cannot_fit_leaves_the_store_exactly_as_before);
    tcase_add_test (batch, test_a_peers_cursor_is_stored_with_its_batch);
    tcase_add_test (batch, test_another_process_writing_the_store_is_seen);
    tcase_add_test (batch, test_memory_given_back_at_rest_loses_no_write_and_leaves_the_store_usable);
    tcase_add_test (batch, test_a_busy_store_over_its_resident_limit_gives_memory_back_between_batches);
    tcase_add_test (batch, test_a_store_over_its_resident_limit_drops_its_mapped_pages_inside_a_batch);
    suite_add_tcase (suite, batch);

    TCase *read = tcase_create ("read");
    tcase_add_test (read, test_listing_by_region_pages_in_region_and_sequence_order);
    tcase_add_test (read, test_find_by_indexed_field_follows_the_current_version);
    tcase_add_test (read, test_changes_list_each_entity_once_at_its_latest_sequence);
    tcase_add_test (read, test_counts_per_kind_track_live_records);
    suite_add_tcase (suite, read);
    return suite;
}

HT_TEST_MAIN (s_store_suite)
