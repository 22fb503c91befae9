//  ht_store_route: the change log's routing index (ht_store.c's top
//  comment, "Routing index"). Every seq entry is written and deleted
//  here, together with its index entries, so the two never drift; a PULL
//  then reads only the entries its puller holds under the holder rule,
//  not the whole log.
//
//  A node of prefix n holds R iff n is a prefix of R.region's prefix
//  (downward keys "d": one per group-end cut of the region's prefix, at
//  most five) or R.scope's prefix is a prefix of n (upward keys "u": one,
//  the scope's prefix). Prefixes end on group boundaries, so a holder's
//  entries are the "d" range of its own prefix merged with the "u"
//  ranges of each group-end cut of its prefix: at most 1 + 5 ordered
//  ranges, each read from the first wanted sequence on.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ht_store_private.h"
#include "ht_log.h"

#define S_ROUTE_DOWN 'd'            //  key kind: a cut of the region's prefix
#define S_ROUTE_UP 'u'              //  key kind: the scope's prefix
#define S_MIGRATE_CHUNK 20000       //  seq entries indexed per transaction

//  Where the groups of a region code end (PP CC DD TTT VVV)
static const size_t s_group_ends [] = { 2, 4, 6, 9, 12 };
#define S_GROUP_COUNT (sizeof s_group_ends / sizeof s_group_ends [0])

//  --------------------------------------------------------------------------
//  The routing head: what a seq entry holds, all a PULL needs to decide

int
ht_store__route_parse (const MDB_val *value, ht_store_route_t *route)
{
    const uint8_t *bytes = value->mv_data;
    if (value->mv_size < HT_STORE_ROUTE_BYTES)
        return MDB_CORRUPTED;
    route->historic = bytes [2 * HT_REGION_DIGITS] & HT_STORE_ROUTE_HISTORIC;
    size_t origin_size = bytes [2 * HT_REGION_DIGITS + 1];
    size_t suffix_size = route->historic? HT_STORE_HIST_SUFFIX_BYTES: 0;
    if (origin_size > HT_PEER_NAME_MAX_CHARS
    ||  value->mv_size < HT_STORE_ROUTE_BYTES + origin_size + 1 + suffix_size)
        return MDB_CORRUPTED;
    memcpy (route->region, bytes, HT_REGION_DIGITS);
    route->region [HT_REGION_DIGITS] = 0;
    memcpy (route->scope, bytes + HT_REGION_DIGITS, HT_REGION_DIGITS);
    route->scope [HT_REGION_DIGITS] = 0;
    memcpy (route->origin, bytes + HT_STORE_ROUTE_BYTES, origin_size);
    route->origin [origin_size] = 0;
    route->ekey = bytes + HT_STORE_ROUTE_BYTES + origin_size;
    route->ekey_size = value->mv_size - HT_STORE_ROUTE_BYTES - origin_size - suffix_size;
    route->suffix = suffix_size? route->ekey + route->ekey_size: NULL;
    return 0;
}

size_t
ht_store__route_build (const ht_record_t *record, const char *origin,
                       const uint8_t *ekey, size_t ekey_size, const uint8_t *suffix,
                       uint8_t *route)
{
    size_t origin_size = strlen (origin);
    if (origin_size > HT_PEER_NAME_MAX_CHARS)
        origin_size = HT_PEER_NAME_MAX_CHARS;
    char codes [2 * HT_REGION_BYTES];
    snprintf (codes, HT_REGION_BYTES, "%-12.12s", ht_record_region (record));
    snprintf (codes + HT_REGION_DIGITS, HT_REGION_BYTES, "%-12.12s", ht_record_scope (record));
    memcpy (route, codes, 2 * HT_REGION_DIGITS);
    size_t used = 2 * HT_REGION_DIGITS;
    route [used++] = suffix? HT_STORE_ROUTE_HISTORIC: 0;
    route [used++] = (uint8_t) origin_size;
    memcpy (route + used, origin, origin_size);
    used += origin_size;
    memcpy (route + used, ekey, ekey_size);
    used += ekey_size;
    if (suffix) {
        memcpy (route + used, suffix, HT_STORE_HIST_SUFFIX_BYTES);
        used += HT_STORE_HIST_SUFFIX_BYTES;
    }
    return used;
}

//  --------------------------------------------------------------------------
//  Index keys

//  Build an index key: kind(1) prefix NUL seq(8); its size
static size_t
s_key (uint8_t kind, const char *prefix, size_t prefix_size, uint64_t seq,
       uint8_t key [HT_STORE_ROUTE_KEY_BYTES])
{
    key [0] = kind;
    memcpy (key + 1, prefix, prefix_size);
    key [1 + prefix_size] = 0;
    ht_store__put_be64 (key + 2 + prefix_size, seq);
    return 2 + prefix_size + HT_STORE_U64_BYTES;
}

//  The index keys of one log entry, from its routing head; the count (0
//  if region or scope is not a valid code: no node holds such a record)
static size_t
s_keys (const ht_store_route_t *route, uint64_t seq,
        uint8_t keys [S_GROUP_COUNT + 1][HT_STORE_ROUTE_KEY_BYTES],
        size_t sizes [S_GROUP_COUNT + 1])
{
    char region [HT_REGION_BYTES], scope [HT_REGION_BYTES];
    int region_size = ht_region_prefix (route->region, region);
    int scope_size = ht_region_prefix (route->scope, scope);
    if (region_size <= 0 || scope_size <= 0)
        return 0;
    size_t count = 0;
    for (size_t group = 0; group < S_GROUP_COUNT; group++)
        if (s_group_ends [group] <= (size_t) region_size) {
            sizes [count] = s_key (S_ROUTE_DOWN, region, s_group_ends [group], seq, keys [count]);
            count++;
        }
    sizes [count] = s_key (S_ROUTE_UP, scope, (size_t) scope_size, seq, keys [count]);
    return count + 1;
}

//  Write or delete the index entries of a parsed seq entry
static int
s_index (ht_store_t *self, MDB_txn *txn, uint64_t seq, const ht_store_route_t *route,
         bool add)
{
    uint8_t keys [S_GROUP_COUNT + 1][HT_STORE_ROUTE_KEY_BYTES];
    size_t sizes [S_GROUP_COUNT + 1];
    size_t count = s_keys (route, seq, keys, sizes);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        MDB_val key = { sizes [i], keys [i] }, empty = { 0, NULL };
        rc = add? mdb_put (txn, self->dbi [HT_STORE_DB_ROUTE], &key, &empty, 0)
                : mdb_del (txn, self->dbi [HT_STORE_DB_ROUTE], &key, NULL);
        rc = rc == MDB_NOTFOUND? 0: rc;
    }
    return rc;
}

int
ht_store__log_put (ht_store_t *self, MDB_txn *txn, uint64_t seq, const uint8_t *route,
                   size_t route_size, bool fresh)
{
    uint8_t seq_bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (seq_bytes, seq);
    MDB_val key = { HT_STORE_U64_BYTES, seq_bytes }, value = { route_size, (void *) route };
    ht_store_route_t parsed;
    int rc = ht_store__route_parse (&value, &parsed);
    //  A new sequence is appended: no search, and full pages rather than
    //  half-full ones after each split. LMDB refuses it (MDB_KEYEXIST)
    //  if it is not past the last, and then it is written as any other.
    bool appended = false;
    if (rc == 0 && fresh) {
        rc = mdb_put (txn, self->dbi [HT_STORE_DB_SEQ], &key, &value, MDB_APPEND);
        appended = rc == 0;
        if (rc == MDB_KEYEXIST)
            rc = 0;
    }
    //  A sequence written again (a move keeping the number its version
    //  just freed) must not keep the index entries of what it held
    if (rc == 0 && !appended)
        rc = ht_store__log_del (self, txn, seq);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && !appended)
        rc = mdb_put (txn, self->dbi [HT_STORE_DB_SEQ], &key, &value, 0);
    if (rc == 0)
        rc = s_index (self, txn, seq, &parsed, true);
    return rc;
}

int
ht_store__log_del (ht_store_t *self, MDB_txn *txn, uint64_t seq)
{
    uint8_t seq_bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (seq_bytes, seq);
    MDB_val key = { HT_STORE_U64_BYTES, seq_bytes }, value;
    ht_store_route_t parsed;
    int rc = mdb_get (txn, self->dbi [HT_STORE_DB_SEQ], &key, &value);
    if (rc == 0)
        rc = ht_store__route_parse (&value, &parsed);
    //  The parse copied region and scope: nothing borrowed outlives a write
    if (rc == 0)
        rc = s_index (self, txn, seq, &parsed, false);
    if (rc == 0)
        rc = mdb_del (txn, self->dbi [HT_STORE_DB_SEQ], &key, NULL);
    return rc;
}

//  --------------------------------------------------------------------------
//  Walking a holder's entries

//  Position range i at its first key at or after seq; it ends when the
//  key leaves the range's prefix
static int
s_range_seek (ht_store_route_walk_t *walk, size_t i, uint64_t seq)
{
    uint8_t start [HT_STORE_ROUTE_KEY_BYTES];
    size_t prefix_size = walk->prefix_sizes [i];
    memcpy (start, walk->prefixes [i], prefix_size);
    ht_store__put_be64 (start + prefix_size, seq);
    MDB_val key = { prefix_size + HT_STORE_U64_BYTES, start }, value;
    int rc = mdb_cursor_get (walk->cursors [i], &key, &value, MDB_SET_RANGE);
    walk->live [i] = rc == 0 && key.mv_size == prefix_size + HT_STORE_U64_BYTES
                  && memcmp (key.mv_data, walk->prefixes [i], prefix_size) == 0;
    if (walk->live [i])
        walk->next [i] = ht_store__get_be64 ((const uint8_t *) key.mv_data + prefix_size);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Step range i past its current key
static int
s_range_step (ht_store_route_walk_t *walk, size_t i)
{
    size_t prefix_size = walk->prefix_sizes [i];
    MDB_val key, value;
    int rc = mdb_cursor_get (walk->cursors [i], &key, &value, MDB_NEXT);
    walk->live [i] = rc == 0 && key.mv_size == prefix_size + HT_STORE_U64_BYTES
                  && memcmp (key.mv_data, walk->prefixes [i], prefix_size) == 0;
    if (walk->live [i])
        walk->next [i] = ht_store__get_be64 ((const uint8_t *) key.mv_data + prefix_size);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Add a range of index keys beginning with kind and prefix
static void
s_range_add (ht_store_route_walk_t *walk, uint8_t kind, const char *prefix, size_t size)
{
    size_t i = walk->count++;
    walk->prefixes [i][0] = kind;
    memcpy (walk->prefixes [i] + 1, prefix, size);
    walk->prefixes [i][1 + size] = 0;
    walk->prefix_sizes [i] = size + 2;
}

int
ht_store__route_walk_open (ht_store_t *self, MDB_txn *txn, const char *holder,
                           uint64_t first_seq, ht_store_route_walk_t *walk)
{
    memset (walk, 0, sizeof *walk);
    char prefix [HT_REGION_BYTES];
    int size = ht_region_prefix (holder, prefix);
    if (size <= 0)
        return 0;                   //  not a code: it holds nothing
    s_range_add (walk, S_ROUTE_DOWN, prefix, (size_t) size);
    for (size_t group = 0; group < S_GROUP_COUNT; group++)
        if (s_group_ends [group] <= (size_t) size)
            s_range_add (walk, S_ROUTE_UP, prefix, s_group_ends [group]);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < walk->count; i++) {
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_ROUTE], &walk->cursors [i]);
        if (rc == 0)
            rc = s_range_seek (walk, i, first_seq);
    }
    return rc;
}

int
ht_store__route_walk_next (ht_store_route_walk_t *walk, uint64_t *seq)
{
    size_t lowest = walk->count;
    for (size_t i = 0; i < walk->count; i++)
        if (walk->live [i] && (lowest == walk->count || walk->next [i] < walk->next [lowest]))
            lowest = i;
    if (lowest == walk->count)
        return MDB_NOTFOUND;
    *seq = walk->next [lowest];
    //  A record whose region and scope both match sits in two ranges:
    //  step every range past this sequence, so it comes once
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < walk->count; i++)
        if (walk->live [i] && walk->next [i] == *seq)
            rc = s_range_step (walk, i);
    return rc;
}

void
ht_store__route_walk_close (ht_store_route_walk_t *walk)
{
    for (size_t i = 0; i < walk->count; i++)
        if (walk->cursors [i])
            mdb_cursor_close (walk->cursors [i]);
    walk->count = 0;
}

//  --------------------------------------------------------------------------
//  Building the index of a store written before it existed

//  Index up to S_MIGRATE_CHUNK seq entries from meta "route_build" on, in
//  txn; *done once the whole log is indexed (the format is then current)
static int
s_migrate_chunk (ht_store_t *self, MDB_txn *txn, uint64_t format, bool *done)
{
    uint64_t next = 0;
    int rc = ht_store__meta_get_u64 (self, txn, "route_build", &next);
    uint8_t first [HT_STORE_U64_BYTES];
    ht_store__put_be64 (first, next);
    MDB_cursor *cursor = NULL;
    MDB_val key = { HT_STORE_U64_BYTES, first }, value;
    if (rc == 0)
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_SEQ], &cursor);
    if (rc == 0)
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
    size_t indexed = 0;
    while (rc == 0 && indexed < S_MIGRATE_CHUNK) {
        ht_store_route_t route;
        rc = key.mv_size == HT_STORE_U64_BYTES? ht_store__route_parse (&value, &route)
                                              : MDB_CORRUPTED;
        uint64_t seq = rc == 0? ht_store__get_be64 (key.mv_data): 0;
        if (rc == 0)
            rc = s_index (self, txn, seq, &route, true);
        if (rc == 0) {
            indexed++;
            next = seq + 1;
            rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
        }
    }
    if (cursor)
        mdb_cursor_close (cursor);
    *done = rc == MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND)
        rc = mdb_del (txn, self->dbi [HT_STORE_DB_META],
                      &(MDB_val) { strlen ("route_build"), "route_build" }, NULL);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && *done)
        rc = ht_store__meta_put_u64 (self, txn, "format", format);
    else
    if (rc == 0)
        rc = ht_store__meta_put_u64 (self, txn, "route_build", next);
    return rc;
}

int
ht_store__route_migrate (ht_store_t *self, uint64_t format)
{
    //  Chunks keep each transaction small; meta "route_build" says where
    //  the next one starts, so a crash (or a second process opening the
    //  store meanwhile) goes on from there. Writes meanwhile index their
    //  own entries: every entry is indexed once the last chunk commits.
    bool done = false;
    size_t chunks = 0;
    while (!done) {
        MDB_txn *txn = NULL;
        int rc = ht_store__txn_begin (self, 0, &txn);
        if (rc == 0)
            rc = mdb_dbi_open (txn, "route", MDB_CREATE, &self->dbi [HT_STORE_DB_ROUTE]);
        uint64_t current = 0;
        if (rc == 0)
            rc = ht_store__meta_get_u64 (self, txn, "format", &current);
        if (rc == 0 && current == format)
            done = true;            //  another process finished it
        else
        if (rc == 0)
            rc = s_migrate_chunk (self, txn, format, &done);
        if (rc == 0) {
            rc = mdb_txn_commit (txn);
            txn = NULL;
        }
        if (txn)
            mdb_txn_abort (txn);
        if (rc == MDB_MAP_FULL && ht_store__map_grow (self) == 0) {
            done = false;
            continue;
        }
        if (rc)
            return ht_store__error ("cannot index the change log", rc);
        if (self->verbose && ++chunks == 1 && !done)
            ht_log_info ("store: indexing the change log by region (once, after an upgrade)");
    }
    return 0;
}
