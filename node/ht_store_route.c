//  ht_store_route: the change log's routing index (ht_store.c's top
//  comment, "Routing index"). Every seq entry is written and deleted
//  here, together with its index entries, so the two never drift; a PULL
//  then reads only the entries its puller holds under the holder rule,
//  not the whole log.
//
//  A node of prefix n holds R iff n is a prefix of R.region's prefix
//  (downward keys "d") or R.scope's prefix is a prefix of n (upward keys
//  "u": one, the scope's prefix). Prefixes end on group boundaries, so a
//  holder's entries are the "d" range of its own prefix merged with the
//  "u" ranges of each group-end cut of its prefix: at most 1 + 5 ordered
//  ranges, each read from the first wanted sequence on.
//
//  Only a store's neighbours pull from it: its parent and its children
//  (the gate admits no other node). So the "d" keys are those two can
//  read, at most two a record: the cut of R.region's prefix as long as
//  the parent's prefix, and the prefix of the child R.region lies under
//  (since store layout 8; layout 7 had one for each of up to five cuts).
//  Any other holder's walk reads the whole log, filtered. Each key is
//  stored once, the sequences filed under it as its sorted duplicates
//  (since layout 9).
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
    uint8_t flags = bytes [2 * HT_REGION_DIGITS];
    route->historic = flags & HT_STORE_ROUTE_HISTORIC;
    bool body = flags & HT_STORE_ROUTE_BODY;
    route->compact = flags & HT_STORE_ROUTE_COMPACT;
    size_t origin_size = bytes [2 * HT_REGION_DIGITS + 1];
    size_t suffix_size = route->historic? HT_STORE_HIST_SUFFIX_BYTES: 0;
    size_t at = HT_STORE_ROUTE_BYTES + origin_size;     //  past the origin
    if ((route->historic && body) || (route->compact && !body)
    ||  origin_size > HT_PEER_NAME_MAX_CHARS
    ||  value->mv_size < at + 1 + suffix_size)
        return MDB_CORRUPTED;
    memcpy (route->region, bytes, HT_REGION_DIGITS);
    route->region [HT_REGION_DIGITS] = 0;
    memcpy (route->scope, bytes + HT_REGION_DIGITS, HT_REGION_DIGITS);
    route->scope [HT_REGION_DIGITS] = 0;
    memcpy (route->origin, bytes + HT_STORE_ROUTE_BYTES, origin_size);
    route->origin [origin_size] = 0;
    route->body = NULL;
    route->body_size = 0;
    if (body) {
        //  ekey_len, the entity key, and a record of at least a byte
        route->ekey_size = bytes [at];
        route->ekey = bytes + at + 1;
        if (route->ekey_size == 0 || route->ekey_size > HT_STORE_ENTITY_KEY_BYTES
        ||  value->mv_size <= at + 1 + route->ekey_size)
            return MDB_CORRUPTED;
        route->body = route->ekey + route->ekey_size;
        route->body_size = value->mv_size - at - 1 - route->ekey_size;
    }
    else {
        route->ekey = bytes + at;
        route->ekey_size = value->mv_size - at - suffix_size;
    }
    route->suffix = suffix_size? route->ekey + route->ekey_size: NULL;
    return 0;
}

//  Encode a parsed (or filled-in) head, and its body, into out: a whole
//  body is made compact where it can be
static size_t
s_route_encode (const ht_store_route_t *route, uint8_t *out)
{
    size_t origin_size = strlen (route->origin);
    memcpy (out, route->region, HT_REGION_DIGITS);
    memcpy (out + HT_REGION_DIGITS, route->scope, HT_REGION_DIGITS);
    size_t used = 2 * HT_REGION_DIGITS;
    uint8_t *flags = out + used++;
    *flags = route->suffix? HT_STORE_ROUTE_HISTORIC: route->body? HT_STORE_ROUTE_BODY: 0;
    out [used++] = (uint8_t) origin_size;
    memcpy (out + used, route->origin, origin_size);
    used += origin_size;
    if (route->body)
        out [used++] = (uint8_t) route->ekey_size;
    memcpy (out + used, route->ekey, route->ekey_size);
    used += route->ekey_size;
    if (route->suffix) {
        memcpy (out + used, route->suffix, HT_STORE_HIST_SUFFIX_BYTES);
        used += HT_STORE_HIST_SUFFIX_BYTES;
    }
    else
    if (route->body) {
        size_t compact = route->compact? 0
                       : ht_store__body_compact (route, route->body, route->body_size,
                                                 out + used);
        if (compact || route->compact)
            *flags |= HT_STORE_ROUTE_COMPACT;
        if (compact)
            used += compact;
        else {
            memcpy (out + used, route->body, route->body_size);
            used += route->body_size;
        }
    }
    return used;
}

size_t
ht_store__route_build (const ht_record_t *record, const char *origin,
                       const uint8_t *ekey, size_t ekey_size, const uint8_t *suffix,
                       const uint8_t *body, size_t body_size, uint8_t *route)
{
    ht_store_route_t head = {
        .ekey = ekey, .ekey_size = ekey_size, .suffix = suffix,
        .body = suffix? NULL: body, .body_size = suffix? 0: body_size
    };
    snprintf (head.region, HT_REGION_BYTES, "%-12.12s", ht_record_region (record));
    snprintf (head.scope, HT_REGION_BYTES, "%-12.12s", ht_record_scope (record));
    snprintf (head.origin, sizeof head.origin, "%s", origin);   //  at most the longest name
    return s_route_encode (&head, route);
}

//  --------------------------------------------------------------------------
//  Index keys

//  Build an index key: kind(1) prefix NUL (its sequences are the key's
//  sorted duplicates); its size
static size_t
s_key (uint8_t kind, const char *prefix, size_t prefix_size,
       uint8_t key [HT_STORE_ROUTE_KEY_BYTES])
{
    key [0] = kind;
    memcpy (key + 1, prefix, prefix_size);
    key [1 + prefix_size] = 0;
    return 2 + prefix_size;
}

void
ht_store__route_setup (ht_store_t *self)
{
    char prefix [HT_REGION_BYTES];
    int size = 0;
    if (ht_region_parent (self->region, self->route_parent) != HT_OK
    ||  (size = ht_region_prefix (self->route_parent, prefix)) <= 0) {
        self->route_parent [0] = 0;
        size = 0;
    }
    self->route_parent_cut = (size_t) size;
}

bool
ht_store__route_indexed (const ht_store_t *self, const char *holder)
{
    return (*self->route_parent && streq (holder, self->route_parent))
        || ht_region_is_child (self->region, holder);
}

//  The length of the prefix of the store's child that region lies under
//  (0: none, the region is not below the store's)
static size_t
s_child_cut (const ht_store_t *self, const char *region)
{
    //  Up the tiers from the region (at most four steps) to the store's;
    //  every log write asks, so the codes are swapped, not copied
    char codes [2][HT_REGION_BYTES], prefix [HT_REGION_BYTES];
    const char *code = region;
    for (size_t step = 0; step < S_GROUP_COUNT; step++) {
        char *up = codes [step % 2];
        if (ht_region_parent (code, up) != HT_OK)
            return 0;
        if (streq (up, self->region)) {
            int size = ht_region_prefix (code, prefix);
            return size > 0? (size_t) size: 0;
        }
        code = up;
    }
    return 0;
}

//  The index keys of one log entry, from its routing head; the count (0
//  if region or scope is not a valid code: no node holds such a record)
static size_t
s_keys (const ht_store_t *self, const ht_store_route_t *route,
        uint8_t keys [S_GROUP_COUNT + 1][HT_STORE_ROUTE_KEY_BYTES],
        size_t sizes [S_GROUP_COUNT + 1])
{
    char region [HT_REGION_BYTES], scope [HT_REGION_BYTES];
    int region_size = ht_region_prefix (route->region, region);
    int scope_size = ht_region_prefix (route->scope, scope);
    if (region_size <= 0 || scope_size <= 0)
        return 0;
    size_t count = 0;
    //  The parent's cut, then the child's (never the same: the child's
    //  prefix is longer than the store's, the parent's shorter)
    size_t cuts [2] = { self->route_parent_cut, s_child_cut (self, route->region) };
    for (size_t i = 0; i < 2; i++)
        if (cuts [i] && cuts [i] <= (size_t) region_size) {
            sizes [count] = s_key (S_ROUTE_DOWN, region, cuts [i], keys [count]);
            count++;
        }
    sizes [count] = s_key (S_ROUTE_UP, scope, (size_t) scope_size, keys [count]);
    return count + 1;
}

//  Write or delete the index entries of a parsed seq entry
static int
s_index (ht_store_t *self, MDB_txn *txn, uint64_t seq, const ht_store_route_t *route,
         bool add)
{
    uint8_t keys [S_GROUP_COUNT + 1][HT_STORE_ROUTE_KEY_BYTES];
    size_t sizes [S_GROUP_COUNT + 1];
    size_t count = s_keys (self, route, keys, sizes);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = ht_store__dup_put (txn, self->dbi [HT_STORE_DB_ROUTE], keys [i], sizes [i],
                                seq, add);
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

//  Range i's sequence where its cursor stands (rc: where it went)
static int
s_range_at (ht_store_route_walk_t *walk, size_t i, int rc, const MDB_val *seq)
{
    walk->live [i] = rc == 0 && seq->mv_size == HT_STORE_U64_BYTES;
    if (walk->live [i])
        walk->next [i] = ht_store__get_be64 (seq->mv_data);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Position range i at its first sequence at or after seq
static int
s_range_seek (ht_store_route_walk_t *walk, size_t i, uint64_t seq)
{
    uint8_t start [HT_STORE_U64_BYTES];
    ht_store__put_be64 (start, seq);
    MDB_val key = { walk->prefix_sizes [i], walk->prefixes [i] };
    MDB_val data = { HT_STORE_U64_BYTES, start };
    int rc = mdb_cursor_get (walk->cursors [i], &key, &data, MDB_GET_BOTH_RANGE);
    return s_range_at (walk, i, rc, &data);
}

//  Step range i past its current sequence
static int
s_range_step (ht_store_route_walk_t *walk, size_t i)
{
    MDB_val key, data;
    int rc = mdb_cursor_get (walk->cursors [i], &key, &data, MDB_NEXT_DUP);
    return s_range_at (walk, i, rc, &data);
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

//  A step of an upgrade: up to S_MIGRATE_CHUNK entries in txn; *done
//  once none is left
typedef int (s_upgrade_fn) (ht_store_t *self, MDB_txn *txn, bool *done);

//  Something an upgrade does to each log entry
typedef int (s_entry_fn) (ht_store_t *self, MDB_txn *txn, uint64_t seq,
                          const ht_store_route_t *route);

//  Do fn to up to S_MIGRATE_CHUNK log entries from the sequence in meta
//  mark on; the mark then names the next, or is gone once none is left
static int
s_log_chunk (ht_store_t *self, MDB_txn *txn, const char *mark, s_entry_fn *fn, bool *done)
{
    uint64_t next = 0;
    int rc = ht_store__meta_get_u64 (self, txn, mark, &next);
    uint8_t first [HT_STORE_U64_BYTES];
    ht_store__put_be64 (first, next);
    MDB_cursor *cursor = NULL;
    MDB_val key = { HT_STORE_U64_BYTES, first }, value;
    if (rc == 0)
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_SEQ], &cursor);
    if (rc == 0)
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
    size_t looked = 0;
    while (rc == 0 && looked < S_MIGRATE_CHUNK) {
        ht_store_route_t route;
        rc = key.mv_size == HT_STORE_U64_BYTES? ht_store__route_parse (&value, &route)
                                              : MDB_CORRUPTED;
        uint64_t seq = rc == 0? ht_store__get_be64 (key.mv_data): 0;
        //  fn writes other databases only: the walk of seq goes on
        if (rc == 0)
            rc = fn (self, txn, seq, &route);
        if (rc == 0) {
            looked++;
            next = seq + 1;
            rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
        }
    }
    if (cursor)
        mdb_cursor_close (cursor);
    *done = rc == MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND)
        rc = mdb_del (txn, self->dbi [HT_STORE_DB_META],
                      &(MDB_val) { strlen (mark), (void *) mark }, NULL);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && !*done)
        rc = ht_store__meta_put_u64 (self, txn, mark, next);
    return rc;
}

//  A log entry's routing index keys
static int
s_entry_route (ht_store_t *self, MDB_txn *txn, uint64_t seq, const ht_store_route_t *route)
{
    return s_index (self, txn, seq, route, true);
}

//  Index up to S_MIGRATE_CHUNK seq entries from meta "route_build" on
static int
s_index_chunk (ht_store_t *self, MDB_txn *txn, bool *done)
{
    return s_log_chunk (self, txn, "route_build", s_entry_route, done);
}

//  Move one entity's current record from rec (layout 5: seq(8)
//  origin_len(1) origin encoded) into its log entry, leaving seq(8)
static int
s_record_move (ht_store_t *self, MDB_txn *txn, const uint8_t *ekey, size_t ekey_size)
{
    ht_store_current_t current;
    int rc = ht_store__current_get (self, txn, ekey, ekey_size, &current);
    uint8_t seq_bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (seq_bytes, rc == 0? current.seq: 0);
    MDB_val key = { HT_STORE_U64_BYTES, seq_bytes }, entry;
    if (rc == 0)
        rc = mdb_get (txn, self->dbi [HT_STORE_DB_SEQ], &key, &entry);
    ht_store_route_t route;
    if (rc == 0)
        rc = ht_store__route_parse (&entry, &route);
    //  The entity's entry must be its own, a current one not yet moved
    if (rc == MDB_NOTFOUND || (rc == 0 && (route.historic || route.body
                                           || route.ekey_size != ekey_size
                                           || memcmp (route.ekey, ekey, ekey_size))))
        rc = MDB_CORRUPTED;
    uint8_t *bytes = rc == 0? malloc (HT_STORE_ROUTE_MAX_BYTES + current.route.body_size): NULL;
    if (rc == 0 && !bytes)
        rc = ENOMEM;
    if (rc == 0) {
        //  Both borrowed views are copied out before anything is written
        route.body = current.route.body;
        route.body_size = current.route.body_size;
        route.compact = current.route.compact;
        MDB_val value = { s_route_encode (&route, bytes), bytes };
        //  The same head: the entry keeps its index keys
        rc = mdb_put (txn, self->dbi [HT_STORE_DB_SEQ], &key, &value, 0);
    }
    free (bytes);
    if (rc == 0)
        rc = mdb_put (txn, self->dbi [HT_STORE_DB_REC],
                      &(MDB_val) { ekey_size, (void *) ekey }, &key, 0);
    return rc;
}

//  Move up to S_MIGRATE_CHUNK current records into the log, from the
//  entity key in meta "record_move" on (records written meanwhile are
//  in the log already: they are passed over)
static int
s_record_chunk (ht_store_t *self, MDB_txn *txn, bool *done)
{
    uint8_t (*ekeys) [HT_STORE_ENTITY_KEY_BYTES] = malloc (S_MIGRATE_CHUNK * sizeof *ekeys);
    size_t *sizes = malloc (S_MIGRATE_CHUNK * sizeof *sizes);
    uint8_t from [HT_STORE_ENTITY_KEY_BYTES];
    MDB_val key = { 0, from }, value;
    int rc = ekeys && sizes? ht_store__meta_get (self, txn, "record_move", &value): ENOMEM;
    if (rc == 0 && (value.mv_size == 0 || value.mv_size > sizeof from))
        rc = MDB_CORRUPTED;
    if (rc == 0) {
        memcpy (from, value.mv_data, value.mv_size);
        key.mv_size = value.mv_size;
    }
    MDB_cursor_op step = rc == 0? MDB_SET_RANGE: MDB_FIRST;
    if (rc == MDB_NOTFOUND)
        rc = 0;
    //  Collect first, then write: no cursor is walked past a write
    MDB_cursor *cursor = NULL;
    if (rc == 0)
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_REC], &cursor);
    size_t count = 0, passed = 0, last_size = key.mv_size;
    uint8_t last [HT_STORE_ENTITY_KEY_BYTES];   //  the last entity looked at
    memcpy (last, from, last_size);
    while (rc == 0 && count < S_MIGRATE_CHUNK && passed < 4 * S_MIGRATE_CHUNK
    &&    (rc = mdb_cursor_get (cursor, &key, &value, step)) == 0) {
        step = MDB_NEXT;
        if (key.mv_size == 0 || key.mv_size > HT_STORE_ENTITY_KEY_BYTES) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy (last, key.mv_data, key.mv_size);
        last_size = key.mv_size;
        if (value.mv_size != HT_STORE_U64_BYTES) {
            memcpy (ekeys [count], key.mv_data, key.mv_size);
            sizes [count++] = key.mv_size;
        }
        passed++;
    }
    if (cursor)
        mdb_cursor_close (cursor);
    *done = rc == MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = s_record_move (self, txn, ekeys [i], sizes [i]);
    //  Go on after the last entity looked at (it is moved or needed not be)
    if (rc == 0 && !*done)
        rc = ht_store__meta_put (self, txn, "record_move", last, last_size);
    if (rc == 0 && *done) {
        rc = mdb_del (txn, self->dbi [HT_STORE_DB_META],
                      &(MDB_val) { strlen ("record_move"), "record_move" }, NULL);
        rc = rc == MDB_NOTFOUND? 0: rc;
    }
    free (ekeys);
    free (sizes);
    return rc;
}

//  Delete up to S_MIGRATE_CHUNK entries of idx whose keys begin with one
//  of the two letters (then NUL) in kinds: an old layout's region and
//  field index; *left: some may remain
static int
s_index_drop_old (ht_store_t *self, MDB_txn *txn, const char kinds [2], bool *left)
{
    size_t dropped = 0;
    int rc = 0;
    *left = false;
    for (size_t i = 0; rc == 0 && i < 2 && dropped < S_MIGRATE_CHUNK; i++) {
        const uint8_t prefix [2] = { (uint8_t) kinds [i], 0 };
        MDB_cursor *cursor = NULL;
        MDB_val key = { sizeof prefix, (void *) prefix }, value;
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_IDX], &cursor);
        if (rc == 0)
            rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
        while (rc == 0 && ht_store__has_prefix (&key, prefix, sizeof prefix)
        &&     dropped < S_MIGRATE_CHUNK) {
            rc = mdb_cursor_del (cursor, 0);
            dropped++;
            //  The first one left: seeking again relies on nothing about
            //  where a delete leaves the cursor
            key = (MDB_val) { sizeof prefix, (void *) prefix };
            if (rc == 0)
                rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
        }
        if (rc == 0 && ht_store__has_prefix (&key, prefix, sizeof prefix))
            *left = true;
        if (cursor)
            mdb_cursor_close (cursor);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    return rc;
}

//  A current record's region and field index entries (historic entries,
//  moves kept in the log, have none)
static int
s_entry_index (ht_store_t *self, MDB_txn *txn, uint64_t seq, const ht_store_route_t *route)
{
    if (!route->body)
        return 0;
    ht_record_t *record = NULL;
    int rc = ht_store__decode_body (self, route, &record);
    if (rc == 0)
        rc = ht_store__index_record (self, txn, record, seq, true);
    ht_record_destroy (&record);
    return rc;
}

//  Index current records by sequence (layout 7): first drop the entries
//  ordered by entity key, then walk the log from meta "index_build" (the
//  next sequence to index; set once the old entries are gone), up to
//  S_MIGRATE_CHUNK entries a transaction. Writes meanwhile index
//  themselves; an entry indexed twice is the same key put twice.
static int
s_index_by_seq_chunk (ht_store_t *self, MDB_txn *txn, bool *done)
{
    uint64_t next = 0;
    int rc = ht_store__meta_get_u64 (self, txn, "index_build", &next);
    //  No mark yet, or 0: the old entries are still being dropped
    if (rc == MDB_NOTFOUND || (rc == 0 && next == 0)) {
        bool left = false;
        rc = s_index_drop_old (self, txn, "fr", &left);   //  layout 6's, by entity key
        if (rc == 0)
            rc = ht_store__meta_put_u64 (self, txn, "index_build", left? 0: 1);
        *done = false;
        return rc;
    }
    return rc? rc: s_log_chunk (self, txn, "index_build", s_entry_index, done);
}

//  Layout 7 to 8: the routing index anew, with only the cuts the store's
//  neighbours pull by. Meta "route_cut" says how far it went: absent (or
//  0), the old index is still there (emptied in one transaction); then
//  the next sequence to index (sequences start at 1).
static int
s_recut_chunk (ht_store_t *self, MDB_txn *txn, bool *done)
{
    uint64_t next = 0;
    int rc = ht_store__meta_get_u64 (self, txn, "route_cut", &next);
    if (rc == 0 && next == 0) {
        rc = mdb_drop (txn, self->dbi [HT_STORE_DB_ROUTE], 0);
        if (rc == 0)
            rc = ht_store__meta_put_u64 (self, txn, "route_cut", 1);
        *done = false;
        return rc;
    }
    return rc? rc: s_log_chunk (self, txn, "route_cut", s_entry_route, done);
}

//  A log entry's routing keys, and a current record's region and field
//  index entries
static int
s_entry_dups (ht_store_t *self, MDB_txn *txn, uint64_t seq, const ht_store_route_t *route)
{
    int rc = s_entry_route (self, txn, seq, route);
    return rc? rc: s_entry_index (self, txn, seq, route);
}

//  Layout 8 to 9: both indexes as keys of sorted duplicates. Meta
//  "dup_build" says how far it went: absent (or 0), the old routing
//  database is dropped (in one transaction), then the old region and
//  field entries of idx, in chunks; then the next sequence to index.
static int
s_dups_chunk (ht_store_t *self, MDB_txn *txn, bool *done)
{
    uint64_t next = 0;
    int rc = ht_store__meta_get_u64 (self, txn, "dup_build", &next);
    if (rc == MDB_NOTFOUND || (rc == 0 && next == 0)) {
        MDB_dbi old;
        rc = mdb_dbi_open (txn, "route", 0, &old);
        if (rc == 0)
            rc = mdb_drop (txn, old, 1);
        bool left = false;
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = s_index_drop_old (self, txn, HT_STORE_INDEX_FIELD HT_STORE_INDEX_REGION,
                                   &left);
        if (rc == 0)
            rc = ht_store__meta_put_u64 (self, txn, "dup_build", left? 0: 1);
        *done = false;
        return rc;
    }
    return rc? rc: s_log_chunk (self, txn, "dup_build", s_entry_dups, done);
}

//  A step with nothing to rewrite: only the layout number changes
static int
s_nothing_chunk (ht_store_t *self, MDB_txn *txn, bool *done)
{
    (void) self;
    (void) txn;
    *done = true;
    return 0;
}

//  Run one step to its end, then set meta "format" to format
static int
s_upgrade (ht_store_t *self, s_upgrade_fn *step, uint64_t format, const char *what)
{
    //  Chunks keep each transaction small; meta says where the next one
    //  starts, so a crash (or a second process opening the store
    //  meanwhile) goes on from there. Writes meanwhile are in the new
    //  layout already: every entry is once the last chunk commits.
    bool done = false;
    size_t chunks = 0;
    while (!done) {
        MDB_txn *txn = NULL;
        int rc = ht_store__txn_begin (self, 0, &txn);
        if (rc == 0)
            rc = ht_store__dbis_create (self, txn);
        uint64_t current = 0;
        if (rc == 0)
            rc = ht_store__meta_get_u64 (self, txn, "format", &current);
        if (rc == 0 && current >= format)
            done = true;            //  another process finished it
        else
        if (rc == 0)
            rc = step (self, txn, &done);
        if (rc == 0 && done && current < format)
            rc = ht_store__meta_put_u64 (self, txn, "format", format);
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
            return ht_store__error (what, rc);
        if (self->verbose && ++chunks == 1 && !done)
            ht_log_info ("store: %s (once, after an upgrade)", what);
    }
    return 0;
}

int
ht_store__layout_upgrade (ht_store_t *self, uint64_t from)
{
    int rc = 0;
    if (from < HT_STORE_LAYOUT_RECORDS_IN_REC)
        rc = s_upgrade (self, s_index_chunk, HT_STORE_LAYOUT_RECORDS_IN_REC,
                        "indexing the change log by region");
    if (rc == 0 && from < HT_STORE_LAYOUT_INDEX_BY_KEY)
        rc = s_upgrade (self, s_record_chunk, HT_STORE_LAYOUT_INDEX_BY_KEY,
                        "moving records into the change log");
    if (rc == 0 && from < HT_STORE_LAYOUT_EVERY_CUT)
        rc = s_upgrade (self, s_index_by_seq_chunk, HT_STORE_LAYOUT_EVERY_CUT,
                        "indexing records by sequence");
    if (rc == 0 && from < HT_STORE_LAYOUT_KEY_PER_ENTRY)
        rc = s_upgrade (self, s_recut_chunk, HT_STORE_LAYOUT_KEY_PER_ENTRY,
                        "indexing the change log by its neighbours' regions");
    if (rc == 0 && from < HT_STORE_LAYOUT_DUPS)
        rc = s_upgrade (self, s_dups_chunk, HT_STORE_LAYOUT_DUPS,
                        "storing each index key once, its sequences under it");
    //  Layout 10 writes records compact; those written before stay whole
    if (rc == 0 && from < HT_STORE_LAYOUT)
        rc = s_upgrade (self, s_nothing_chunk, HT_STORE_LAYOUT, "writing records compact");
    return rc;
}
