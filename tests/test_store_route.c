//  test_store_route: the change log's routing index. A holder's walk
//  through the index must deliver exactly what the whole log filtered by
//  the holder rule and echo suppression delivers, with the cursor
//  semantics of docs/protocol.md §3 (PULL and BATCH), on random stores
//  with moves and tombstones; and a store of the layout before the index
//  is indexed when it is opened.
#include <czmq.h>
#include <lmdb.h>
#include "ht_test.h"
#include "ht_fixture.h"

#define S_ENTITIES 120              //  elders per random store
#define S_VERSIONS 420              //  versions written in all
#define S_MAX_ENTRIES 1024          //  log entries a test store can hold

//  Regions records live in: the city, two counties, their townships and
//  communities (the fixture's root may write anywhere in the city)
static const char *const s_regions [] = {
    "441800000000", "441802000000", "441803000000", "441802001000", "441802002000",
    "441803001000", "441802001001", "441802001002", "441802002001", "441803001001"
};
#define S_REGION_COUNT (sizeof s_regions / sizeof s_regions [0])

//  Holders asked about: every region above, and places holding little
//  or everything (the province, another city, an empty county, a
//  community nobody wrote in)
static const char *const s_holders [] = {
    "441800000000", "441802000000", "441803000000", "441802001000", "441802002000",
    "441803001000", "441802001001", "441802001002", "441802002001", "441803001001",
    "440000000000", "441900000000", "441804000000", "441802001003"
};
#define S_HOLDER_COUNT (sizeof s_holders / sizeof s_holders [0])

//  Peers records arrive from ("" is a local write)
static const char *const s_origins [] = { "", "441802000000", "441803000000", "440000000000" };
#define S_ORIGIN_COUNT (sizeof s_origins / sizeof s_origins [0])

//  A small deterministic generator (xorshift64*), so a failure names its seed
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ull;
}

static size_t
s_pick (uint64_t *state, size_t count)
{
    return (size_t) (s_random (state) % count);
}

//  One log entry as the whole, unfiltered log shows it
typedef struct {
    uint64_t seq;
    char origin [HT_PEER_NAME_MAX_CHARS + 1];
    char region [HT_REGION_BYTES];
    char scope [HT_REGION_BYTES];
    zchunk_t *data;
} s_entry_t;

typedef struct {
    s_entry_t items [S_MAX_ENTRIES];
    size_t count;
} s_log_t;

static int
s_log_collect (void *arg, uint64_t seq, const uint8_t *data, size_t size, const char *origin)
{
    s_log_t *log = (s_log_t *) arg;
    ck_assert_uint_lt (log->count, S_MAX_ENTRIES);
    s_entry_t *entry = &log->items [log->count++];
    entry->seq = seq;
    snprintf (entry->origin, sizeof entry->origin, "%s", origin);
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    ck_assert_ptr_nonnull (record);
    snprintf (entry->region, sizeof entry->region, "%s", ht_record_region (record));
    snprintf (entry->scope, sizeof entry->scope, "%s", ht_record_scope (record));
    ht_record_destroy (&record);
    entry->data = zchunk_new (data, size);
    return 0;
}

static void
s_log_destroy (s_log_t *log)
{
    for (size_t i = 0; i < log->count; i++)
        zchunk_destroy (&log->items [i].data);
    log->count = 0;
}

//  What a walk delivered, stopping (as a PULL's batch does) before the
//  change after `stop_after` deliveries (0: never)
typedef struct {
    uint64_t seqs [S_MAX_ENTRIES];
    zchunk_t *data [S_MAX_ENTRIES];
    size_t count;
    size_t stop_after;
    size_t page;                    //  delivered in this call
} s_got_t;

static int
s_got_collect (void *arg, uint64_t seq, const uint8_t *data, size_t size, const char *origin)
{
    (void) origin;
    s_got_t *got = (s_got_t *) arg;
    if (got->stop_after && got->page == got->stop_after)
        return 1;
    ck_assert_uint_lt (got->count, S_MAX_ENTRIES);
    got->seqs [got->count] = seq;
    got->data [got->count++] = zchunk_new (data, size);
    got->page++;
    return 0;
}

static void
s_got_destroy (s_got_t *got)
{
    for (size_t i = 0; i < got->count; i++)
        zchunk_destroy (&got->data [i]);
    got->count = 0;
}

//  The reference: one page of the whole log, filtered by the holder rule
//  (an entry a neighbour of the store does not hold is not examined;
//  any other holder's walk examines every entry), then by echo
//  suppression; the cursor it hands back is the last entry examined, or
//  the log's end if every held entry after cursor was examined
typedef struct {
    const char *holder;
    const char *skip_origin;
    uint64_t echo_until;
    bool indexed;                   //  the store's parent or a child: its
                                    //  walk reads only what it may hold
} s_filter_t;

static uint64_t
s_model_page (const s_log_t *log, const s_filter_t *filter, uint64_t cursor, size_t limit,
              size_t stop_after, uint64_t last_seq, s_got_t *expected)
{
    size_t examined = 0, delivered = 0;
    uint64_t last = cursor;
    for (size_t i = 0; i < log->count; i++) {
        const s_entry_t *entry = &log->items [i];
        bool held = ht_region_holds (filter->holder, entry->region, entry->scope);
        if (entry->seq <= cursor || (filter->indexed && !held))
            continue;
        if (limit && examined == limit)
            return last;
        bool wanted = held && (!filter->skip_origin || entry->seq <= filter->echo_until
                               || !streq (entry->origin, filter->skip_origin));
        if (wanted && stop_after && delivered == stop_after)
            return last;
        if (wanted) {
            expected->seqs [expected->count] = entry->seq;
            expected->data [expected->count++] = zchunk_dup (entry->data);
            delivered++;
        }
        examined++;
        last = entry->seq;
    }
    return last_seq;
}

static void
s_assert_same (const s_got_t *got, const s_got_t *expected, const char *what, uint64_t seed)
{
    ck_assert_msg (got->count == expected->count, "%s (seed %" PRIu64 "): %zu changes, "
                   "expected %zu", what, seed, got->count, expected->count);
    for (size_t i = 0; i < got->count; i++) {
        ck_assert_msg (got->seqs [i] == expected->seqs [i], "%s (seed %" PRIu64 "): change %zu "
                       "is seq %" PRIu64 ", expected %" PRIu64, what, seed, i, got->seqs [i],
                       expected->seqs [i]);
        ck_assert (zchunk_size (got->data [i]) == zchunk_size (expected->data [i])
                && memcmp (zchunk_data (got->data [i]), zchunk_data (expected->data [i]),
                           zchunk_size (got->data [i])) == 0);
    }
}

//  A random ancestor-or-self of region within the city, for a scope
static const char *
s_scope_of (const char *region, uint64_t *state, char *scope)
{
    char cuts [4][HT_REGION_BYTES];
    size_t count = 0;
    snprintf (cuts [count++], HT_REGION_BYTES, "%s", region);
    char code [HT_REGION_BYTES];
    snprintf (code, sizeof code, "%s", region);
    while (!streq (code, HT_FIXTURE_CITY) && ht_region_parent (code, code) == HT_OK)
        snprintf (cuts [count++], HT_REGION_BYTES, "%s", code);
    snprintf (scope, HT_REGION_BYTES, "%s", cuts [s_pick (state, count)]);
    return scope;
}

//  Fill a city store with random versions of random elders: random
//  regions and scopes (so versions move entities), tombstones, origins
static void
s_fill (ht_fixture_t *fixture, ht_store_t *store, uint64_t seed)
{
    uint64_t state = seed;
    uint16_t counter [S_ENTITIES] = { 0 };
    for (size_t written = 0; written < S_VERSIONS; ) {
        size_t size = 1 + s_pick (&state, 12);
        const char *origin = s_origins [s_pick (&state, S_ORIGIN_COUNT)];
        ht_record_t *batch [12];
        size_t count = 0;
        for (; count < size && written < S_VERSIONS; count++, written++) {
            size_t entity = s_pick (&state, S_ENTITIES);
            const char *region = s_regions [s_pick (&state, S_REGION_COUNT)];
            char scope [HT_REGION_BYTES];
            ht_record_t *record = ht_fixture_elder_draft (
                ht_fixture_citizen_id ((unsigned) entity * 2 + 1, (char [19]) { 0 }), "甲",
                region, s_scope_of (region, &state, scope), fixture->idkey,
                ht_fixture_hlc (1 + (unsigned) written, counter [entity]++));
            ht_record_set_deleted (record, s_pick (&state, 8) == 0);
            ck_assert_int_eq (ht_record_sign (record, fixture->keys [HT_FIXTURE_ROOT]), 0);
            batch [count] = record;
        }
        uint8_t epoch [HT_EPOCH_BYTES] = { 9 };
        ht_origin_t from = { .peer = origin, .epoch = epoch, .cursor = written };
        ck_assert_int_eq (ht_store_apply (store, batch, count, *origin? &from: NULL, NULL, NULL),
                          0);
        for (size_t i = 0; i < count; i++)
            ht_record_destroy (&batch [i]);
    }
}

//  Compare the indexed walks of every holder with the reference: whole,
//  from random cursors, and paged the way PULLs page
static void
s_check_walks (ht_store_t *store, uint64_t seed)
{
    s_log_t *log = (s_log_t *) zmalloc (sizeof (s_log_t));
    ck_assert_int_ge (ht_store_changes (store, 0, 0, s_log_collect, log), 0);
    uint64_t last_seq = ht_store_last_seq (store);
    uint64_t state = seed ^ 0x5eed;
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    s_got_t *expected = (s_got_t *) zmalloc (sizeof (s_got_t));
    for (size_t h = 0; h < S_HOLDER_COUNT; h++)
    for (size_t o = 0; o <= S_ORIGIN_COUNT; o++) {
        char parent [HT_REGION_BYTES] = "";
        ck_assert_int_eq (ht_region_parent (ht_store_region (store), parent), 0);
        s_filter_t filter = { s_holders [h], o < S_ORIGIN_COUNT? s_origins [o]: NULL,
                              s_pick (&state, 3) == 0? s_random (&state) % (last_seq + 1): 0,
                              streq (s_holders [h], parent)
                              || ht_region_is_child (ht_store_region (store), s_holders [h]) };
        char what [96];
        snprintf (what, sizeof what, "holder %s skip %s until %" PRIu64, filter.holder,
                  filter.skip_origin? filter.skip_origin: "-", filter.echo_until);
        //  Whole, and from a random cursor, with and without a limit
        for (int round = 0; round < 4; round++) {
            uint64_t cursor = round == 0? 0: s_random (&state) % (last_seq + 1);
            size_t limit = round < 2? 0: 1 + s_pick (&state, 40);
            uint64_t last = UINT64_MAX;
            int examined = ht_store_changes_for (store, cursor, limit, filter.holder,
                                                 filter.skip_origin, filter.echo_until,
                                                 s_got_collect, got, &last);
            ck_assert_int_ge (examined, 0);
            uint64_t want = s_model_page (log, &filter, cursor, limit, 0, last_seq, expected);
            s_assert_same (got, expected, what, seed);
            ck_assert_msg (last == want, "%s (seed %" PRIu64 "): cursor %" PRIu64
                           " after %" PRIu64 " limit %zu, expected %" PRIu64, what, seed,
                           last, cursor, limit, want);
            s_got_destroy (got);
            s_got_destroy (expected);
        }
        //  Paged: small limits and batches, each page from the last cursor,
        //  until a page ends at the log's end; together they are the whole
        uint64_t cursor = 0;
        s_got_t *all = (s_got_t *) zmalloc (sizeof (s_got_t));
        int pages = 0;
        while (true) {
            size_t limit = 1 + s_pick (&state, 6);
            got->stop_after = 1 + s_pick (&state, 3);
            got->page = 0;
            uint64_t last = UINT64_MAX;
            ck_assert_int_ge (ht_store_changes_for (store, cursor, limit, filter.holder,
                                                    filter.skip_origin, filter.echo_until,
                                                    s_got_collect, got, &last), 0);
            uint64_t want = s_model_page (log, &filter, cursor, limit, got->stop_after,
                                          last_seq, expected);
            ck_assert_msg (last == want, "%s (seed %" PRIu64 "): page cursor %" PRIu64
                           ", expected %" PRIu64, what, seed, last, want);
            ck_assert_uint_eq (got->count, expected->count);
            ck_assert_msg (last > cursor || last == last_seq, "%s: a page made no progress", what);
            cursor = last;
            ck_assert_int_lt (++pages, 2 * S_MAX_ENTRIES);
            //  more: false once the cursor is at the log's end
            if (cursor >= last_seq)
                break;
        }
        s_model_page (log, &filter, 0, 0, 0, last_seq, all);
        s_assert_same (got, all, what, seed);
        s_assert_same (expected, all, what, seed);
        got->stop_after = 0;
        s_got_destroy (got);
        s_got_destroy (expected);
        s_got_destroy (all);
        free (all);
    }
    free (got);
    free (expected);
    s_log_destroy (log);
    free (log);
}

//  A new city store in dir holding the certs and random versions by seed
static ht_store_t *
s_filled_store (ht_fixture_t *fixture, uint64_t seed, char dir [HT_FIXTURE_DIR_CHARS])
{
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_CITY, 0, dir);
    ht_fixture_apply_certs (fixture, store);
    s_fill (fixture, store, seed);
    return store;
}

START_TEST (test_a_holders_indexed_walk_is_the_filtered_whole_log)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    for (uint64_t seed = 1; seed <= 6; seed++) {
        char dir [HT_FIXTURE_DIR_CHARS];
        ht_store_t *store = s_filled_store (fixture, seed * 0x9e3779b97f4a7c15ull, dir);
        //  The random versions did move entities and delete some
        s_log_t *log = (s_log_t *) zmalloc (sizeof (s_log_t));
        ck_assert_int_ge (ht_store_changes (store, 0, 0, s_log_collect, log), 0);
        ck_assert_uint_gt (log->count, S_ENTITIES / 2 + HT_FIXTURE_CERT_COUNT);
        s_log_destroy (log);
        free (log);
        ck_assert_uint_gt (ht_store_last_seq (store), S_VERSIONS / 2);
        s_check_walks (store, seed);
        ht_fixture_store_destroy (&store, dir);
    }
    ht_fixture_destroy (&fixture);
}
END_TEST

//  A store's LMDB environment opened directly, as a test's scalpel:
//  routes and index (layout 9, sorted duplicates) if there, route (the
//  routing keys of layouts 5 to 8, one a sequence) if there
typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi rec, seq, meta, route, idx, routes, index;
    bool old_route, dups;
} s_raw_t;

#define S_DUPS (MDB_DUPSORT | MDB_DUPFIXED)

static void
s_raw_open (const char *dir, s_raw_t *raw)
{
    memset (raw, 0, sizeof *raw);
    ck_assert_int_eq (mdb_env_create (&raw->env), 0);
    ck_assert_int_eq (mdb_env_set_maxdbs (raw->env, 16), 0);
    ck_assert_int_eq (mdb_env_set_mapsize (raw->env, 64u * 1024 * 1024), 0);
    ck_assert_int_eq (mdb_env_open (raw->env, dir, 0, 0600), 0);
    ck_assert_int_eq (mdb_txn_begin (raw->env, NULL, 0, &raw->txn), 0);
    ck_assert_int_eq (mdb_dbi_open (raw->txn, "rec", 0, &raw->rec), 0);
    ck_assert_int_eq (mdb_dbi_open (raw->txn, "seq", 0, &raw->seq), 0);
    ck_assert_int_eq (mdb_dbi_open (raw->txn, "meta", 0, &raw->meta), 0);
    ck_assert_int_eq (mdb_dbi_open (raw->txn, "idx", 0, &raw->idx), 0);
    raw->old_route = mdb_dbi_open (raw->txn, "route", 0, &raw->route) == 0;
    raw->dups = mdb_dbi_open (raw->txn, "routes", S_DUPS, &raw->routes) == 0
             && mdb_dbi_open (raw->txn, "index", S_DUPS, &raw->index) == 0;
}

//  Commit what was written, and close
static void
s_raw_close (s_raw_t *raw)
{
    ck_assert_int_eq (mdb_txn_commit (raw->txn), 0);
    mdb_env_close (raw->env);
}

//  Set meta "format"
static void
s_raw_format (s_raw_t *raw, uint8_t format)
{
    uint8_t bytes [8] = { 0, 0, 0, 0, 0, 0, 0, format };
    MDB_val key = { 6, "format" }, value = { 8, bytes };
    ck_assert_int_eq (mdb_put (raw->txn, raw->meta, &key, &value, 0), 0);
}

//  Set a meta mark (an upgrade's place) to a sequence
static void
s_raw_mark (s_raw_t *raw, const char *name, uint64_t seq)
{
    uint8_t mark [8];
    for (size_t i = 0; i < 8; i++)
        mark [i] = (uint8_t) (seq >> (56 - 8 * i));
    MDB_val key = { strlen (name), (void *) name }, value = { 8, mark };
    ck_assert_int_eq (mdb_put (raw->txn, raw->meta, &key, &value, 0), 0);
}

//  The sequence at the end of a key of one entry per sequence
static uint64_t
s_key_seq (const uint8_t *key, size_t size)
{
    uint64_t seq = 0;
    for (size_t i = 0; i < 8; i++)
        seq = seq << 8 | key [size - 8 + i];
    return seq;
}

//  Copy each entry (key, seq) of a database of sorted duplicates into
//  another as the key "key seq" with an empty value, as layout 8 kept
//  them
static void
s_undup (s_raw_t *raw, MDB_dbi from, MDB_dbi to)
{
    MDB_cursor *cursor = NULL;
    ck_assert_int_eq (mdb_cursor_open (raw->txn, from, &cursor), 0);
    MDB_val key, data;
    while (mdb_cursor_get (cursor, &key, &data, MDB_NEXT) == 0) {
        ck_assert_uint_eq (data.mv_size, 8);
        uint8_t joined [520];
        ck_assert_uint_le (key.mv_size + 8, sizeof joined);
        memcpy (joined, key.mv_data, key.mv_size);
        memcpy (joined + key.mv_size, data.mv_data, 8);
        MDB_val k = { key.mv_size + 8, joined }, empty = { 0, NULL };
        ck_assert_int_eq (mdb_put (raw->txn, to, &k, &empty, 0), 0);
    }
    mdb_cursor_close (cursor);
}

//  Delete the entries of a database of sorted duplicates from sequence
//  `from` on; how many
static size_t
s_dups_drop_from (s_raw_t *raw, MDB_dbi dbi, uint64_t from)
{
    zlistx_t *doomed = zlistx_new ();
    zlistx_set_destructor (doomed, (zlistx_destructor_fn *) zchunk_destroy);
    MDB_cursor *cursor = NULL;
    ck_assert_int_eq (mdb_cursor_open (raw->txn, dbi, &cursor), 0);
    MDB_val key, data;
    while (mdb_cursor_get (cursor, &key, &data, MDB_NEXT) == 0)
        if (s_key_seq (data.mv_data, 8) >= from) {
            zchunk_t *entry = zchunk_new (data.mv_data, 8);
            zchunk_extend (entry, key.mv_data, key.mv_size);
            zlistx_add_end (doomed, entry);
        }
    mdb_cursor_close (cursor);
    for (zchunk_t *entry = (zchunk_t *) zlistx_first (doomed); entry;
         entry = (zchunk_t *) zlistx_next (doomed)) {
        MDB_val k = { zchunk_size (entry) - 8, zchunk_data (entry) + 8 };
        MDB_val d = { 8, zchunk_data (entry) };
        ck_assert_int_eq (mdb_del (raw->txn, dbi, &k, &d), 0);
    }
    size_t dropped = zlistx_size (doomed);
    zlistx_destroy (&doomed);
    return dropped;
}

//  The highest sequence a database of sorted duplicates holds
static uint64_t
s_dups_highest (s_raw_t *raw, MDB_dbi dbi)
{
    MDB_cursor *cursor = NULL;
    ck_assert_int_eq (mdb_cursor_open (raw->txn, dbi, &cursor), 0);
    MDB_val key, data;
    uint64_t highest = 0;
    while (mdb_cursor_get (cursor, &key, &data, MDB_NEXT) == 0) {
        uint64_t seq = s_key_seq (data.mv_data, 8);
        highest = seq > highest? seq: highest;
    }
    mdb_cursor_close (cursor);
    return highest;
}

#define S_HEAD_BYTES 26             //  region(12) scope(12) flags(1) origin_len(1)
#define S_FLAGS_AT 24               //  the head's flags: 2 a current record
#define S_FLAG_BODY 2               //  follows it, 4 compact (layout 10)
#define S_FLAG_COMPACT 4

//  Make a store look as layout 9 left it: every current record whole in
//  its log entry (the bytes a walk delivers for it), none compact.
//  Returns the entries rewritten.
static size_t
s_to_whole (const char *dir)
{
    int error = -1;
    ht_store_t *store = ht_store_open (dir, 0, &error);
    ck_assert_msg (store, "open: %s", ht_strerror (error));
    s_log_t *log = (s_log_t *) zmalloc (sizeof (s_log_t));
    ck_assert_int_ge (ht_store_changes (store, 0, 0, s_log_collect, log), 0);
    ht_store_destroy (&store);
    s_raw_t raw;
    s_raw_open (dir, &raw);
    size_t rewritten = 0;
    for (size_t i = 0; i < log->count; i++) {
        uint8_t seq_bytes [8];
        for (size_t b = 0; b < 8; b++)
            seq_bytes [b] = (uint8_t) (log->items [i].seq >> (56 - 8 * b));
        MDB_val key = { 8, seq_bytes }, entry;
        ck_assert_int_eq (mdb_get (raw.txn, raw.seq, &key, &entry), 0);
        const uint8_t *head = entry.mv_data;
        if (!(head [S_FLAGS_AT] & S_FLAG_COMPACT))
            continue;
        ck_assert_int_eq (head [S_FLAGS_AT], S_FLAG_BODY | S_FLAG_COMPACT);
        size_t origin_size = head [S_HEAD_BYTES - 1];
        size_t body_at = S_HEAD_BYTES + origin_size + 1 + head [S_HEAD_BYTES + origin_size];
        zchunk_t *record = log->items [i].data;
        zchunk_t *whole = zchunk_new (NULL, body_at + zchunk_size (record));
        zchunk_append (whole, head, body_at);
        zchunk_append (whole, zchunk_data (record), zchunk_size (record));
        zchunk_data (whole) [S_FLAGS_AT] = S_FLAG_BODY;
        MDB_val value = { zchunk_size (whole), zchunk_data (whole) };
        ck_assert_int_eq (mdb_put (raw.txn, raw.seq, &key, &value, 0), 0);
        zchunk_destroy (&whole);
        rewritten++;
    }
    s_raw_format (&raw, 9);
    s_raw_close (&raw);
    s_log_destroy (log);
    free (log);
    return rewritten;
}

//  Make a store look as layout 8 left it: every routing key in route and
//  every region and field key in idx once a sequence, the sequence at its
//  end; no databases of sorted duplicates. With stopped, as an upgrade to
//  layout 9 that stopped midway leaves it instead: the old keys gone, the
//  new databases holding the entries below the middle sequence, and meta
//  "dup_build" naming it. Returns the entries moved or dropped.
static size_t
s_to_key_per_entry (const char *dir, bool stopped)
{
    s_to_whole (dir);
    s_raw_t raw;
    s_raw_open (dir, &raw);
    ck_assert (raw.dups && !raw.old_route);
    uint64_t highest = s_dups_highest (&raw, raw.routes);
    size_t changed = 0;
    if (stopped) {
        uint64_t middle = highest / 2;
        changed += s_dups_drop_from (&raw, raw.routes, middle);
        changed += s_dups_drop_from (&raw, raw.index, middle);
        s_raw_mark (&raw, "dup_build", middle);
    }
    else {
        ck_assert_int_eq (mdb_dbi_open (raw.txn, "route", MDB_CREATE, &raw.route), 0);
        s_undup (&raw, raw.routes, raw.route);
        s_undup (&raw, raw.index, raw.idx);
        MDB_stat stat;
        ck_assert_int_eq (mdb_stat (raw.txn, raw.route, &stat), 0);
        changed += stat.ms_entries;
        ck_assert_int_eq (mdb_drop (raw.txn, raw.routes, 1), 0);
        ck_assert_int_eq (mdb_drop (raw.txn, raw.index, 1), 0);
    }
    s_raw_format (&raw, 8);
    s_raw_close (&raw);
    return changed;
}

//  Entries of idx whose keys begin with kind NUL
static size_t
s_idx_count (const char *dir, char kind)
{
    s_raw_t raw;
    s_raw_open (dir, &raw);
    MDB_cursor *cursor = NULL;
    ck_assert_int_eq (mdb_cursor_open (raw.txn, raw.idx, &cursor), 0);
    const uint8_t prefix [2] = { (uint8_t) kind, 0 };
    MDB_val key = { 2, (void *) prefix }, value;
    size_t count = 0;
    int rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size >= 2 && memcmp (key.mv_data, prefix, 2) == 0) {
        count++;
        rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    s_raw_close (&raw);
    return count;
}

//  Make a store look as the layout before the index left it: no route
//  database, meta "format" 4
static void
s_unindex (const char *dir)
{
    s_to_key_per_entry (dir, false);
    s_raw_t raw;
    s_raw_open (dir, &raw);
    ck_assert_int_eq (mdb_drop (raw.txn, raw.route, 1), 0);
    s_raw_format (&raw, 4);
    s_raw_close (&raw);
}

START_TEST (test_a_store_without_the_index_is_indexed_when_opened)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = s_filled_store (fixture, 77, dir);
    ht_store_destroy (&store);
    s_unindex (dir);
    int error = -1;
    store = ht_store_open (dir, 0, &error);
    ck_assert_msg (store, "open: %s", ht_strerror (error));
    ck_assert_uint_eq (ht_store_counter (store, "format"), 10);
    ck_assert_uint_eq (ht_store_counter (store, "route_build"), 0);
    s_check_walks (store, 77);
    //  Writes after the upgrade keep the index
    s_fill (fixture, store, 78);
    s_check_walks (store, 78);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

//  Make a store look as layout 5 left it, from the from-th entity (in
//  rec's key order) on: the current record back in rec (seq(8)
//  origin_len origin encoded), its log entry only the routing head.
//  With from > 0 the entities before it stay moved and meta
//  "record_move" names the last of them, as an upgrade that stopped
//  there leaves it. Returns how many were put back.
static size_t
s_records_to_rec (const char *dir, size_t from)
{
    s_to_key_per_entry (dir, false);
    s_raw_t raw;
    s_raw_open (dir, &raw);
    MDB_txn *txn = raw.txn;
    MDB_dbi rec = raw.rec, seq = raw.seq, meta = raw.meta;
    MDB_cursor *cursor = NULL;
    ck_assert_int_eq (mdb_cursor_open (txn, rec, &cursor), 0);
    zlistx_t *keys = zlistx_new ();
    zlistx_set_destructor (keys, (zlistx_destructor_fn *) zchunk_destroy);
    MDB_val key, value;
    while (mdb_cursor_get (cursor, &key, &value, MDB_NEXT) == 0) {
        ck_assert_uint_eq (value.mv_size, 8);   //  layout 6: rec names the seq
        zlistx_add_end (keys, zchunk_new (key.mv_data, key.mv_size));
    }
    mdb_cursor_close (cursor);
    size_t index = 0, moved = 0;
    for (zchunk_t *ekey = (zchunk_t *) zlistx_first (keys); ekey;
         ekey = (zchunk_t *) zlistx_next (keys), index++) {
        MDB_val k = { zchunk_size (ekey), zchunk_data (ekey) }, seq_key, entry;
        if (index + 1 == from) {
            MDB_val name = { 11, "record_move" };
            ck_assert_int_eq (mdb_put (txn, meta, &name, &k, 0), 0);
        }
        if (index < from)
            continue;
        ck_assert_int_eq (mdb_get (txn, rec, &k, &seq_key), 0);
        uint8_t seq_bytes [8];
        memcpy (seq_bytes, seq_key.mv_data, 8);
        seq_key.mv_data = seq_bytes;
        ck_assert_int_eq (mdb_get (txn, seq, &seq_key, &entry), 0);
        const uint8_t *bytes = entry.mv_data;
        ck_assert_int_eq (bytes [S_FLAGS_AT], S_FLAG_BODY);  //  the record follows, whole
        size_t origin_size = bytes [25];
        size_t ekey_size = bytes [S_HEAD_BYTES + origin_size];
        ck_assert_uint_eq (ekey_size, zchunk_size (ekey));
        size_t body_at = S_HEAD_BYTES + origin_size + 1 + ekey_size;
        size_t body_size = entry.mv_size - body_at;
        zchunk_t *old_entry = zchunk_new (NULL, S_HEAD_BYTES + origin_size + ekey_size);
        zchunk_t *old_rec = zchunk_new (NULL, 9 + origin_size + body_size);
        zchunk_append (old_entry, bytes, 24);
        zchunk_append (old_entry, "\0", 1);
        zchunk_append (old_entry, bytes + 25, 1 + origin_size);
        zchunk_append (old_entry, bytes + S_HEAD_BYTES + origin_size + 1, ekey_size);
        zchunk_append (old_rec, seq_bytes, 8);
        zchunk_append (old_rec, bytes + 25, 1 + origin_size);
        zchunk_append (old_rec, bytes + body_at, body_size);
        MDB_val v = { zchunk_size (old_entry), zchunk_data (old_entry) };
        ck_assert_int_eq (mdb_put (txn, seq, &seq_key, &v, 0), 0);
        v = (MDB_val) { zchunk_size (old_rec), zchunk_data (old_rec) };
        ck_assert_int_eq (mdb_put (txn, rec, &k, &v, 0), 0);
        zchunk_destroy (&old_entry);
        zchunk_destroy (&old_rec);
        moved++;
    }
    zlistx_destroy (&keys);
    s_raw_format (&raw, 5);
    s_raw_close (&raw);
    return moved;
}

//  Every rec value names a sequence whose entry holds the record
static void
s_assert_records_in_log (const char *dir)
{
    s_raw_t raw;
    s_raw_open (dir, &raw);
    MDB_txn *txn = raw.txn;
    MDB_cursor *cursor = NULL;
    ck_assert_int_eq (mdb_cursor_open (txn, raw.rec, &cursor), 0);
    MDB_val key, value, entry, name = { 11, "record_move" };
    size_t count = 0;
    while (mdb_cursor_get (cursor, &key, &value, MDB_NEXT) == 0) {
        ck_assert_uint_eq (value.mv_size, 8);
        ck_assert_int_eq (mdb_get (txn, raw.seq, &value, &entry), 0);
        //  A current record follows the head: compact if the upgrade
        //  moved it, whole if a chunk before it did (HT_STORE_ROUTE_*)
        uint8_t flags = ((const uint8_t *) entry.mv_data) [S_FLAGS_AT];
        ck_assert_int_eq (flags & ~S_FLAG_COMPACT, S_FLAG_BODY);
        count++;
    }
    ck_assert_uint_gt (count, S_ENTITIES / 2);
    ck_assert_int_eq (mdb_get (txn, raw.meta, &name, &value), MDB_NOTFOUND);
    mdb_cursor_close (cursor);
    s_raw_close (&raw);
}

START_TEST (test_a_store_with_records_outside_the_log_is_upgraded_when_opened)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    //  All of it, and the second half as an upgrade that stopped midway
    //  leaves it (meta "record_move" past the first half)
    for (size_t half = 0; half < 2; half++) {
        char dir [HT_FIXTURE_DIR_CHARS];
        ht_store_t *store = s_filled_store (fixture, 91 + half, dir);
        s_log_t *before = (s_log_t *) zmalloc (sizeof (s_log_t));
        ck_assert_int_ge (ht_store_changes (store, 0, 0, s_log_collect, before), 0);
        size_t entities = ht_store_counter (store, "count:elder");
        ht_store_destroy (&store);
        size_t moved = s_records_to_rec (dir, half? entities / 2: 0);
        ck_assert_uint_gt (moved, entities / 3);
        int error = -1;
        store = ht_store_open (dir, 0, &error);
        ck_assert_msg (store, "open: %s", ht_strerror (error));
        ck_assert_uint_eq (ht_store_counter (store, "format"), 10);
        //  The same log, byte for byte, and the same walks
        s_log_t *after = (s_log_t *) zmalloc (sizeof (s_log_t));
        ck_assert_int_ge (ht_store_changes (store, 0, 0, s_log_collect, after), 0);
        ck_assert_uint_eq (after->count, before->count);
        for (size_t i = 0; i < before->count; i++) {
            ck_assert_uint_eq (after->items [i].seq, before->items [i].seq);
            ck_assert_str_eq (after->items [i].origin, before->items [i].origin);
            ck_assert_uint_eq (zchunk_size (after->items [i].data),
                               zchunk_size (before->items [i].data));
            ck_assert_mem_eq (zchunk_data (after->items [i].data),
                              zchunk_data (before->items [i].data),
                              zchunk_size (before->items [i].data));
        }
        s_check_walks (store, 91 + half);
        s_log_destroy (before);
        s_log_destroy (after);
        free (before);
        free (after);
        //  Writes after the upgrade: merged against the moved records
        s_fill (fixture, store, 93 + half);
        s_check_walks (store, 93 + half);
        ht_store_destroy (&store);
        s_assert_records_in_log (dir);
        ht_fixture_rmrf (dir);
    }
    ht_fixture_destroy (&fixture);
}
END_TEST

//  Every entry of index (route: of the routing index), key and
//  sequence, one zchunk each: size(2) key seq, in order
static zlistx_t *
s_dump (const char *dir, bool route)
{
    s_raw_t raw;
    s_raw_open (dir, &raw);
    ck_assert (raw.dups);
    zlistx_t *entries = zlistx_new ();
    zlistx_set_destructor (entries, (zlistx_destructor_fn *) zchunk_destroy);
    MDB_cursor *cursor = NULL;
    ck_assert_int_eq (mdb_cursor_open (raw.txn, route? raw.routes: raw.index, &cursor), 0);
    MDB_val key, value;
    while (mdb_cursor_get (cursor, &key, &value, MDB_NEXT) == 0) {
        ck_assert_uint_eq (value.mv_size, 8);
        size_t joined = key.mv_size + 8;
        uint8_t size [2] = { (uint8_t) (joined >> 8), (uint8_t) joined };
        zchunk_t *entry = zchunk_new (size, 2);
        zchunk_extend (entry, key.mv_data, key.mv_size);
        zchunk_extend (entry, value.mv_data, value.mv_size);
        zlistx_add_end (entries, entry);
    }
    mdb_cursor_close (cursor);
    s_raw_close (&raw);
    return entries;
}

//  Two dumps hold the same entries, byte for byte; both destroyed
static void
s_assert_dumps_same (zlistx_t **one_p, zlistx_t **two_p)
{
    ck_assert_uint_eq (zlistx_size (*two_p), zlistx_size (*one_p));
    zchunk_t *one = (zchunk_t *) zlistx_first (*one_p);
    zchunk_t *two = (zchunk_t *) zlistx_first (*two_p);
    for (; one && two; one = zlistx_next (*one_p), two = zlistx_next (*two_p)) {
        ck_assert_uint_eq (zchunk_size (one), zchunk_size (two));
        ck_assert_mem_eq (zchunk_data (one), zchunk_data (two), zchunk_size (one));
    }
    zlistx_destroy (one_p);
    zlistx_destroy (two_p);
}

//  Make a store's region and field index look as layout 6 left it: each
//  "R"/"F" entry, which ends in the sequence of the entity's current
//  version, becomes "r"/"f" ending in the entity's key. With stopped, as
//  an upgrade that stopped midway leaves it instead: the old entries
//  gone, the new ones there up to the middle sequence, and meta
//  "index_build" naming it. Returns the entries rewritten or dropped.
static size_t
s_index_to_keys (const char *dir, bool stopped)
{
    s_to_key_per_entry (dir, false);
    s_raw_t raw;
    s_raw_open (dir, &raw);
    zlistx_t *keys = zlistx_new ();
    zlistx_set_destructor (keys, (zlistx_destructor_fn *) zchunk_destroy);
    MDB_cursor *cursor = NULL;
    ck_assert_int_eq (mdb_cursor_open (raw.txn, raw.idx, &cursor), 0);
    MDB_val key, value;
    uint64_t lowest = UINT64_MAX, highest = 0;
    while (mdb_cursor_get (cursor, &key, &value, MDB_NEXT) == 0) {
        const uint8_t *bytes = key.mv_data;
        if ((bytes [0] != 'R' && bytes [0] != 'F') || bytes [1] != 0)
            continue;
        zlistx_add_end (keys, zchunk_new (key.mv_data, key.mv_size));
        uint64_t seq = s_key_seq (bytes, key.mv_size);
        lowest = seq < lowest? seq: lowest;
        highest = seq > highest? seq: highest;
    }
    mdb_cursor_close (cursor);
    uint64_t middle = lowest + (highest - lowest) / 2;
    size_t changed = 0;
    for (zchunk_t *entry = (zchunk_t *) zlistx_first (keys); entry;
         entry = (zchunk_t *) zlistx_next (keys)) {
        const uint8_t *bytes = zchunk_data (entry);
        size_t size = zchunk_size (entry);
        uint8_t seq_bytes [8];
        memcpy (seq_bytes, bytes + size - 8, 8);
        uint64_t seq = s_key_seq (bytes, size);
        MDB_val k = { size, (void *) bytes }, empty = { 0, NULL };
        if (stopped && seq < middle)
            continue;               //  indexed before the upgrade stopped
        ck_assert_int_eq (mdb_del (raw.txn, raw.idx, &k, NULL), 0);
        changed++;
        if (stopped)
            continue;
        //  The entity key from the log entry: kind NUL key
        MDB_val seq_key = { 8, seq_bytes }, log_entry;
        ck_assert_int_eq (mdb_get (raw.txn, raw.seq, &seq_key, &log_entry), 0);
        const uint8_t *head = log_entry.mv_data;
        ck_assert_int_eq (head [S_FLAGS_AT], S_FLAG_BODY);   //  a current record, whole
        size_t origin_size = head [25];
        size_t ekey_size = head [S_HEAD_BYTES + origin_size];
        const uint8_t *ekey = head + S_HEAD_BYTES + origin_size + 1;
        const uint8_t *nul = memchr (ekey, 0, ekey_size);
        ck_assert_ptr_nonnull (nul);
        size_t key_text = ekey_size - (size_t) (nul + 1 - ekey);
        zchunk_t *old = zchunk_new (NULL, size - 8 + key_text);
        zchunk_append (old, bytes, size - 8);
        zchunk_append (old, nul + 1, key_text);
        ((uint8_t *) zchunk_data (old)) [0] = bytes [0] == 'R'? 'r': 'f';
        MDB_val o = { zchunk_size (old), zchunk_data (old) };
        ck_assert_int_eq (mdb_put (raw.txn, raw.idx, &o, &empty, 0), 0);
        zchunk_destroy (&old);
    }
    zlistx_destroy (&keys);
    if (stopped) {
        uint8_t mark [8];
        for (size_t i = 0; i < 8; i++)
            mark [i] = (uint8_t) (middle >> (56 - 8 * i));
        MDB_val name = { 11, "index_build" }, v = { 8, mark };
        ck_assert_int_eq (mdb_put (raw.txn, raw.meta, &name, &v, 0), 0);
    }
    s_raw_format (&raw, 6);
    s_raw_close (&raw);
    return changed;
}

//  Every key of a kind and region or field listing, sorted
static int
s_key_collect (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    zlistx_add_end ((zlistx_t *) arg, (void *) ht_record_key (record));
    return 0;
}

static char *
s_listing (ht_store_t *store, const char *field, const char *value)
{
    zlistx_t *keys = zlistx_new ();
    zlistx_set_duplicator (keys, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (keys, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_comparator (keys, (zlistx_comparator_fn *) strcmp);
    int count = field? ht_store_find (store, "elder", field, value, 0, s_key_collect, keys)
                     : ht_store_list (store, "elder", value, NULL, 0, s_key_collect, keys);
    ck_assert_int_ge (count, 0);
    zlistx_sort (keys);
    char *text = zsys_sprintf ("%d:", count);
    for (char *key = (char *) zlistx_first (keys); key; key = (char *) zlistx_next (keys)) {
        char *longer = zsys_sprintf ("%s %s", text, key);
        zstr_free (&text);
        text = longer;
    }
    zlistx_destroy (&keys);
    return text;
}

//  A filled store in dir, closed, and its region and status listings
static void
s_filled_listed (ht_fixture_t *fixture, uint64_t seed, char dir [HT_FIXTURE_DIR_CHARS],
                 char **region, char **status)
{
    ht_store_t *store = s_filled_store (fixture, seed, dir);
    *region = s_listing (store, NULL, "");
    *status = s_listing (store, "status", "active");
    ck_assert_uint_gt (strlen (*region), 10 * 40);
    ht_store_destroy (&store);
}

//  Open the upgraded store in dir: the region and status listings are
//  those taken before (both freed), and random writes by seed after keep
//  the walks right; the store is removed
static void
s_assert_still_listed (ht_fixture_t *fixture, char *dir, char **region, char **status,
                       uint64_t seed)
{
    int error = -1;
    ht_store_t *store = ht_store_open (dir, 0, &error);
    ck_assert_msg (store, "open: %s", ht_strerror (error));
    char *region_after = s_listing (store, NULL, "");
    char *status_after = s_listing (store, "status", "active");
    ck_assert_str_eq (region_after, *region);
    ck_assert_str_eq (status_after, *status);
    zstr_free (region);
    zstr_free (status);
    zstr_free (&region_after);
    zstr_free (&status_after);
    s_fill (fixture, store, seed);
    s_check_walks (store, seed);
    ht_fixture_store_destroy (&store, dir);
}

START_TEST (test_a_store_indexed_by_entity_key_is_indexed_by_sequence_when_opened)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    //  All of it, and as an upgrade that stopped midway leaves it
    for (int stopped = 0; stopped < 2; stopped++) {
        char dir [HT_FIXTURE_DIR_CHARS], *region, *status;
        s_filled_listed (fixture, 131 + (uint64_t) stopped, dir, &region, &status);
        zlistx_t *before = s_dump (dir, false);
        ck_assert_uint_gt (s_index_to_keys (dir, stopped), S_ENTITIES / 3);
        int error = -1;
        ht_store_t *store = ht_store_open (dir, 0, &error);
        ck_assert_msg (store, "open: %s", ht_strerror (error));
        ck_assert_uint_eq (ht_store_counter (store, "format"), 10);
        ck_assert_uint_eq (ht_store_counter (store, "index_build"), 0);
        //  Every index entry as the store wrote it, no old one left
        ht_store_destroy (&store);
        zlistx_t *after = s_dump (dir, false);
        s_assert_dumps_same (&before, &after);
        //  The same listings, and writes after the upgrade keep them right
        s_assert_still_listed (fixture, dir, &region, &status, 133 + (uint64_t) stopped);
    }
    ht_fixture_destroy (&fixture);
}
END_TEST

//  Make a store's routing index look as layout 7 left it: besides the
//  store's own "d" keys, one for each shorter group-end cut of each (the
//  cuts of a record's region no neighbour pulls by). With stopped, as an
//  upgrade that stopped midway leaves it instead: the old index gone, the
//  new one there below the middle sequence, and meta "route_cut" naming
//  it. Returns the keys added or dropped.
static size_t
s_route_every_cut (const char *dir, bool stopped)
{
    static const size_t ends [] = { 2, 4, 6, 9 };
    zlistx_t *keys = s_dump (dir, true);
    s_to_key_per_entry (dir, false);
    s_raw_t raw;
    s_raw_open (dir, &raw);
    uint64_t highest = 0;
    for (zchunk_t *entry = (zchunk_t *) zlistx_first (keys); entry;
         entry = (zchunk_t *) zlistx_next (keys)) {
        uint64_t seq = s_key_seq (zchunk_data (entry) + 2, zchunk_size (entry) - 2);
        highest = seq > highest? seq: highest;
    }
    uint64_t middle = highest / 2;
    size_t changed = 0;
    for (zchunk_t *entry = (zchunk_t *) zlistx_first (keys); entry;
         entry = (zchunk_t *) zlistx_next (keys)) {
        const uint8_t *bytes = zchunk_data (entry) + 2;     //  past the key size
        size_t size = zchunk_size (entry) - 2;
        uint64_t seq = s_key_seq (bytes, size);
        if (stopped) {
            MDB_val k = { size, (void *) bytes };
            if (seq >= middle) {
                ck_assert_int_eq (mdb_del (raw.txn, raw.route, &k, NULL), 0);
                changed++;
            }
            continue;
        }
        size_t prefix = size - 8 - 2;       //  kind, prefix, NUL, seq
        for (size_t i = 0; bytes [0] == 'd' && i < sizeof ends / sizeof ends [0]; i++)
            if (ends [i] < prefix) {
                uint8_t cut [32];
                cut [0] = 'd';
                memcpy (cut + 1, bytes + 1, ends [i]);
                cut [1 + ends [i]] = 0;
                memcpy (cut + 2 + ends [i], bytes + size - 8, 8);
                MDB_val k = { 2 + ends [i] + 8, cut }, empty = { 0, NULL };
                if (mdb_put (raw.txn, raw.route, &k, &empty, MDB_NOOVERWRITE) == 0)
                    changed++;
            }
    }
    zlistx_destroy (&keys);
    if (stopped) {
        uint8_t mark [8];
        for (size_t i = 0; i < 8; i++)
            mark [i] = (uint8_t) (middle >> (56 - 8 * i));
        MDB_val name = { 9, "route_cut" }, v = { 8, mark };
        ck_assert_int_eq (mdb_put (raw.txn, raw.meta, &name, &v, 0), 0);
    }
    s_raw_format (&raw, 7);
    s_raw_close (&raw);
    return changed;
}

START_TEST (test_a_store_routed_by_every_cut_is_routed_by_its_neighbours_when_opened)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    for (int stopped = 0; stopped < 2; stopped++) {
        char dir [HT_FIXTURE_DIR_CHARS];
        ht_store_t *store = s_filled_store (fixture, 171 + (uint64_t) stopped, dir);
        ht_store_destroy (&store);
        zlistx_t *before = s_dump (dir, true);
        //  A city's store: "d" keys of its parent's cut (2) and of the
        //  county a record lies under (6), never of a township's (9)
        size_t six = 0;
        for (zchunk_t *entry = (zchunk_t *) zlistx_first (before); entry;
             entry = (zchunk_t *) zlistx_next (before)) {
            const uint8_t *bytes = zchunk_data (entry) + 2;
            size_t prefix = zchunk_size (entry) - 2 - 10;
            if (bytes [0] == 'd') {
                ck_assert_msg (prefix == 2 || prefix == 6, "a d key of %zu digits", prefix);
                six += prefix == 6;
            }
        }
        ck_assert_uint_gt (six, S_ENTITIES / 3);
        ck_assert_uint_gt (s_route_every_cut (dir, stopped), S_ENTITIES / 3);
        int error = -1;
        store = ht_store_open (dir, 0, &error);
        ck_assert_msg (store, "open: %s", ht_strerror (error));
        ck_assert_uint_eq (ht_store_counter (store, "format"), 10);
        ck_assert_uint_eq (ht_store_counter (store, "route_cut"), 0);
        ht_store_destroy (&store);
        //  Every key as the store wrote it, none of the old ones left
        zlistx_t *after = s_dump (dir, true);
        s_assert_dumps_same (&before, &after);
        store = ht_store_open (dir, 0, &error);
        ck_assert_ptr_nonnull (store);
        s_check_walks (store, 171 + (uint64_t) stopped);
        s_fill (fixture, store, 173 + (uint64_t) stopped);
        s_check_walks (store, 173 + (uint64_t) stopped);
        ht_fixture_store_destroy (&store, dir);
    }
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_a_store_of_a_key_per_entry_keeps_each_key_once_when_opened)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    //  All of it, and as an upgrade that stopped midway leaves it
    for (int stopped = 0; stopped < 2; stopped++) {
        char dir [HT_FIXTURE_DIR_CHARS], *region, *status;
        s_filled_listed (fixture, 191 + (uint64_t) stopped, dir, &region, &status);
        zlistx_t *route_before = s_dump (dir, true);
        zlistx_t *index_before = s_dump (dir, false);
        ck_assert_uint_eq (s_idx_count (dir, 'R'), 0);
        ck_assert_uint_gt (s_to_key_per_entry (dir, stopped), S_ENTITIES / 3);
        //  Layout 8's own: a key per entry in idx and route
        if (!stopped) {
            ck_assert_uint_gt (s_idx_count (dir, 'R'), S_ENTITIES / 3);
            ck_assert_uint_gt (s_idx_count (dir, 'F'), S_ENTITIES / 3);
        }
        int error = -1;
        ht_store_t *store = ht_store_open (dir, 0, &error);
        ck_assert_msg (store, "open: %s", ht_strerror (error));
        ck_assert_uint_eq (ht_store_counter (store, "format"), 10);
        ck_assert_uint_eq (ht_store_counter (store, "dup_build"), 0);
        ht_store_destroy (&store);
        //  Every entry as the store wrote it, none of the old ones left
        zlistx_t *route_after = s_dump (dir, true);
        zlistx_t *index_after = s_dump (dir, false);
        s_assert_dumps_same (&route_before, &route_after);
        s_assert_dumps_same (&index_before, &index_after);
        ck_assert_uint_eq (s_idx_count (dir, 'R'), 0);
        ck_assert_uint_eq (s_idx_count (dir, 'F'), 0);
        s_raw_t raw;
        s_raw_open (dir, &raw);
        ck_assert (raw.dups && !raw.old_route);
        s_raw_close (&raw);
        //  The same listings and walks, and writes after keep them right
        store = ht_store_open (dir, 0, &error);
        ck_assert_ptr_nonnull (store);
        s_check_walks (store, 191 + (uint64_t) stopped);
        ht_store_destroy (&store);
        s_assert_still_listed (fixture, dir, &region, &status, 193 + (uint64_t) stopped);
    }
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (test_a_store_of_the_current_layout_without_its_index_is_refused)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_CITY, 0, dir);
    ht_store_destroy (&store);
    s_unindex (dir);
    //  Layout 5 claimed, index gone: not silently served without it
    ht_store_t *again = ht_store_open (dir, 0, NULL);
    ck_assert_ptr_nonnull (again);
    ht_store_destroy (&again);
    s_raw_t raw;
    s_raw_open (dir, &raw);
    ck_assert (raw.dups);
    ck_assert_int_eq (mdb_drop (raw.txn, raw.routes, 1), 0);
    s_raw_close (&raw);
    int error = 0;
    again = ht_store_open (dir, 0, &error);
    ck_assert_ptr_null (again);
    ck_assert_int_eq (error, HT_ESTORE);
    ht_fixture_rmrf (dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("store_route");
    TCase *walk = tcase_create ("walk");
    tcase_set_timeout (walk, 300);
    tcase_add_test (walk, test_a_holders_indexed_walk_is_the_filtered_whole_log);
    tcase_add_test (walk, test_a_store_routed_by_every_cut_is_routed_by_its_neighbours_when_opened);
    tcase_add_test (walk, test_a_store_without_the_index_is_indexed_when_opened);
    tcase_add_test (walk, test_a_store_with_records_outside_the_log_is_upgraded_when_opened);
    tcase_add_test (walk, test_a_store_indexed_by_entity_key_is_indexed_by_sequence_when_opened);
    tcase_add_test (walk, test_a_store_of_a_key_per_entry_keeps_each_key_once_when_opened);
    tcase_add_test (walk, test_a_store_of_the_current_layout_without_its_index_is_refused);
    suite_add_tcase (suite, walk);
    return suite;
}

HT_TEST_MAIN (s_suite)
