//  ht_store_merge: the ownership rule over an entity's versions (the
//  design is in ht_store.c's top comment: Ownership, Moves). Each merge
//  loads the entity's versions, sorts them by (hlc, author, digest),
//  judges them through the gate, and writes the verdict: the current
//  version, history, conflict flags and the moves kept in the change log.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ht_store_write.h"
#include "ht_log.h"

//  The history key of a version: kind NUL key NUL hlc(8) author(32)
//  digest(32); 0 if it cannot be built
#define S_HIST_KEY_BYTES (HT_STORE_ENTITY_KEY_BYTES + 1 + HT_STORE_U64_BYTES \
                          + HT_PUBKEY_BYTES + HT_DIGEST_BYTES)
#define S_FLAG_KEY_BYTES (2 + S_HIST_KEY_BYTES)

static size_t
s_hist_key (const ht_record_t *record, uint8_t key [S_HIST_KEY_BYTES])
{
    size_t used = ht_store__entity_key (ht_record_kind (record),
                                        ht_record_key (record), key);
    if (used == 0)
        return 0;
    key [used++] = 0;
    ht_store__put_be64 (key + used, ht_record_hlc (record));
    used += HT_STORE_U64_BYTES;
    memcpy (key + used, ht_record_author (record), HT_PUBKEY_BYTES);
    used += HT_PUBKEY_BYTES;
    if (ht_record_digest (record, key + used) != 0)
        return 0;
    return used + HT_DIGEST_BYTES;
}

//  The conflict flag key of a version: "x" NUL, then its history key
static size_t
s_flag_key (const ht_record_t *record, uint8_t key [S_FLAG_KEY_BYTES])
{
    key [0] = 'x';
    key [1] = 0;
    size_t used = s_hist_key (record, key + 2);
    return used? used + 2: 0;
}

//  Keep a version in history unless it is there
static int
s_history_put (ht_store_batch_t *batch, const ht_record_t *record,
               const uint8_t *data, size_t size)
{
    uint8_t key [S_HIST_KEY_BYTES];
    size_t used = s_hist_key (record, key);
    if (used == 0)
        return MDB_BAD_VALSIZE;
    MDB_val k = { used, key }, value = { size, (void *) data };
    int rc = mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_HIST], &k, &value,
                      MDB_NOOVERWRITE);
    return rc == MDB_KEYEXIST? 0: rc;
}

//  Take a version out of history (it becomes current)
static int
s_history_del (ht_store_batch_t *batch, const ht_record_t *record)
{
    uint8_t key [S_HIST_KEY_BYTES];
    size_t used = s_hist_key (record, key);
    if (used == 0)
        return MDB_BAD_VALSIZE;
    MDB_val k = { used, key };
    int rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_HIST], &k, NULL);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  One version of an entity, as the ownership rule sees it
typedef struct {
    ht_record_t *record;            //  decoded (owned, but the item's is borrowed)
    uint8_t *data;                  //  encoded bytes (owned), NULL for the item
    size_t size;                    //  their size
    bool current;                   //  the current version before this merge
    bool incoming;                  //  the version being merged
    int flag_before;                //  conflict code flagged before, 0: none
    int flag_after;                 //  conflict code now, 0: legitimate
} s_version_t;

//  The versions of one entity
typedef struct {
    s_version_t *items;
    size_t count;
    size_t alloc;
} s_versions_t;

static void
s_versions_destroy (s_versions_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        if (!self->items [i].incoming)
            ht_record_destroy (&self->items [i].record);
        free (self->items [i].data);
    }
    free (self->items);
}

//  Append an empty version; NULL if out of memory
static s_version_t *
s_versions_append (s_versions_t *self)
{
    if (self->count == self->alloc) {
        size_t alloc = self->alloc? self->alloc * 2: 4;
        s_version_t *items = realloc (self->items, alloc * sizeof *items);
        if (!items)
            return NULL;
        self->items = items;
        self->alloc = alloc;
    }
    s_version_t *version = &self->items [self->count++];
    memset (version, 0, sizeof *version);
    return version;
}

//  Decode stored bytes and add them as a version (the bytes are copied:
//  LMDB's pointers die at the next write)
static int
s_versions_load (const ht_store_t *store, s_versions_t *self, const uint8_t *data,
                 size_t size, bool current)
{
    s_version_t *version = s_versions_append (self);
    if (!version)
        return ENOMEM;
    version->current = current;
    version->data = malloc (size? size: 1);
    if (!version->data)
        return ENOMEM;
    memcpy (version->data, data, size);
    version->size = size;
    return ht_store__decode_stored (store, version->data, size, &version->record);
}

//  The stored conflict flag of a version: its code, or 0
static int
s_flag_get (ht_store_batch_t *batch, const ht_record_t *record, int *code)
{
    uint8_t key [S_FLAG_KEY_BYTES];
    size_t used = s_flag_key (record, key);
    MDB_val k = { used, key }, value;
    *code = 0;
    if (used == 0)
        return MDB_BAD_VALSIZE;
    int rc = mdb_get (batch->txn, batch->store->dbi [HT_STORE_DB_IDX], &k, &value);
    if (rc == 0 && value.mv_size == 4)
        *code = -(int) ht_store__get_be32 (value.mv_data);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Write or remove a version's conflict flag, keeping meta "conflicts"
static int
s_flag_put (ht_store_batch_t *batch, const s_version_t *version)
{
    if (version->flag_after == version->flag_before)
        return 0;
    uint8_t key [S_FLAG_KEY_BYTES], bytes [4];
    size_t used = s_flag_key (version->record, key);
    if (used == 0)
        return MDB_BAD_VALSIZE;
    ht_store__put_be32 (bytes, (uint32_t) -version->flag_after);
    MDB_val k = { used, key }, value = { 4, bytes };
    MDB_dbi idx = batch->store->dbi [HT_STORE_DB_IDX];
    int rc = version->flag_after? mdb_put (batch->txn, idx, &k, &value, 0)
                                : mdb_del (batch->txn, idx, &k, NULL);
    rc = rc == MDB_NOTFOUND? 0: rc;
    uint64_t conflicts = 0;
    if (rc == 0)
        rc = ht_store__meta_get_u64 (batch->store, batch->txn, "conflicts", &conflicts);
    if (version->flag_after && !version->flag_before)
        conflicts++;
    else
    if (!version->flag_after && conflicts)
        conflicts--;
    if (rc == 0)
        rc = ht_store__meta_put_u64 (batch->store, batch->txn, "conflicts", conflicts);
    return rc;
}

//  Load every stored version of the entity ekey: the current one (if
//  any) and all of its history, with their conflict flags
static int
s_versions_collect (ht_store_batch_t *batch, const uint8_t *ekey, size_t ekey_size,
                    s_versions_t *versions, uint64_t *current_seq)
{
    ht_store_current_t found;
    int rc = ht_store__current_get (batch->store, batch->txn, ekey, ekey_size, &found);
    *current_seq = rc == 0? found.seq: 0;
    ht_store_bytes_t bytes;
    if (rc == 0 && (rc = ht_store__bytes_get (&found.route, &bytes)) == 0) {
        rc = s_versions_load (batch->store, versions, bytes.data, bytes.size, true);
        ht_store__bytes_done (&bytes);
    }
    rc = rc == MDB_NOTFOUND? 0: rc;

    uint8_t prefix [HT_STORE_ENTITY_KEY_BYTES + 1];
    memcpy (prefix, ekey, ekey_size);
    prefix [ekey_size] = 0;
    MDB_cursor *cursor = NULL;
    MDB_val key = { ekey_size + 1, prefix }, value;
    if (rc == 0)
        rc = mdb_cursor_open (batch->txn, batch->store->dbi [HT_STORE_DB_HIST], &cursor);
    MDB_cursor_op step = MDB_SET_RANGE;
    while (rc == 0 && (rc = mdb_cursor_get (cursor, &key, &value, step)) == 0) {
        step = MDB_NEXT;
        if (!ht_store__has_prefix (&key, prefix, ekey_size + 1))
            break;
        rc = s_versions_load (batch->store, versions, value.mv_data, value.mv_size, false);
    }
    if (cursor)
        mdb_cursor_close (cursor);
    rc = rc == MDB_NOTFOUND? 0: rc;
    for (size_t i = 0; rc == 0 && i < versions->count; i++) {
        s_version_t *version = &versions->items [i];
        rc = s_flag_get (batch, version->record, &version->flag_before);
        version->flag_after = version->flag_before;
    }
    return rc;
}

//  Does history hold any version of the entity ekey?
static int
s_history_any (ht_store_t *store, MDB_txn *txn, const uint8_t *ekey, size_t ekey_size,
               bool *any)
{
    uint8_t prefix [HT_STORE_ENTITY_KEY_BYTES + 1];
    memcpy (prefix, ekey, ekey_size);
    prefix [ekey_size] = 0;
    MDB_cursor *cursor = NULL;
    MDB_val key = { ekey_size + 1, prefix }, value;
    int rc = mdb_cursor_open (txn, store->dbi [HT_STORE_DB_HIST], &cursor);
    if (rc == 0)
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
    *any = rc == 0 && ht_store__has_prefix (&key, prefix, ekey_size + 1);
    if (cursor)
        mdb_cursor_close (cursor);
    return rc == MDB_NOTFOUND? 0: rc;
}

static int
s_version_compare (const void *a, const void *b)
{
    return ht_record_compare (((const s_version_t *) a)->record,
                              ((const s_version_t *) b)->record);
}

//  The ownership rule over versions sorted by (hlc, author, digest): the
//  first legitimate one starts the chain, each later one is legitimate
//  only if it may succeed the latest legitimate one before it. Returns
//  the index of the new current version (the last legitimate), or count
//  if none is.
static size_t
s_versions_judge (ht_store_batch_t *batch, s_versions_t *versions)
{
    size_t last = versions->count;
    for (size_t i = 0; i < versions->count; i++) {
        s_version_t *version = &versions->items [i];
        version->flag_after = last == versions->count
            ? ht_gate_may_start (&batch->gate, version->record)
            : ht_gate_may_succeed (&batch->gate, versions->items [last].record,
                                   version->record);
        if (version->flag_after == HT_OK)
            last = i;
    }
    return last;
}

//  Remove the entity's current version from rec and seq: no version of
//  it is legitimate any more (its index entries are gone already)
static int
s_current_drop (ht_store_batch_t *batch, const uint8_t *ekey, size_t ekey_size,
                const ht_record_t *old, uint64_t old_seq)
{
    MDB_val key = { ekey_size, (void *) ekey };
    int rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_REC], &key, NULL);
    if (rc == 0)
        rc = ht_store__log_del (batch->store, batch->txn, old_seq);
    if (rc == 0)
        rc = ht_store__certs_changed (batch->store, batch->txn, old);
    return rc;
}

//  Is version i a move: legitimate, after a legitimate version of
//  another region or scope? Holders must see it to judge what follows.
static bool
s_is_move (const s_versions_t *versions, size_t i)
{
    if (versions->items [i].flag_after)
        return false;
    const ht_record_t *record = versions->items [i].record;
    for (size_t j = i; j-- > 0;)
        if (!versions->items [j].flag_after) {
            const ht_record_t *before = versions->items [j].record;
            return !streq (ht_record_region (before), ht_record_region (record))
                || !streq (ht_record_scope (before), ht_record_scope (record));
        }
    return false;
}

//  The "m" index key of a version in history: its change-log entry
static size_t
s_move_key (const ht_record_t *record, uint8_t key [S_FLAG_KEY_BYTES])
{
    size_t used = s_flag_key (record, key);
    key [0] = 'm';
    return used;
}

//  Keep a legitimate move in history in the change log, or take a version
//  out of it: want says which. reuse_seq (0: none) is a sequence number
//  just freed by this version, so holders that had it need not get it again.
static int
s_move_log (ht_store_batch_t *batch, const ht_record_t *record, bool want, uint64_t reuse_seq)
{
    uint8_t key [S_FLAG_KEY_BYTES];
    size_t used = s_move_key (record, key);
    if (used == 0)
        return MDB_BAD_VALSIZE;
    MDB_dbi idx = batch->store->dbi [HT_STORE_DB_IDX];
    MDB_val k = { used, key }, value;
    int rc = mdb_get (batch->txn, idx, &k, &value);
    bool has = rc == 0 && value.mv_size == HT_STORE_U64_BYTES;
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (has == want)
        return 0;
    uint8_t seq_bytes [HT_STORE_U64_BYTES];
    if (has) {
        memcpy (seq_bytes, value.mv_data, HT_STORE_U64_BYTES);
        rc = ht_store__log_del (batch->store, batch->txn, ht_store__get_be64 (seq_bytes));
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = mdb_del (batch->txn, idx, &k, NULL);
        return rc;
    }
    ht_store__put_be64 (seq_bytes, reuse_seq? reuse_seq: ++batch->last_seq);
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES], route [HT_STORE_ROUTE_MAX_BYTES];
    size_t ekey_size = ht_store__entity_key (ht_record_kind (record), ht_record_key (record), ekey);
    //  The history key's suffix: after "m" NUL kind NUL key NUL
    const uint8_t *suffix = key + 2 + ekey_size + 1;
    size_t route_size = ht_store__route_build (record, "", ekey, ekey_size, suffix, NULL, 0,
                                               route);
    MDB_val seq_value = { HT_STORE_U64_BYTES, seq_bytes };
    rc = ht_store__log_put (batch->store, batch->txn, ht_store__get_be64 (seq_bytes), route,
                            route_size, reuse_seq == 0);
    if (rc == 0)
        rc = mdb_put (batch->txn, idx, &k, &seq_value, 0);
    return rc;
}

//  Make the judgement so: the old current goes to history, the new one
//  comes out of it (or is the item), flags follow the verdicts, and moves
//  kept in history stay in the change log
static int
s_versions_write (ht_store_batch_t *batch, const ht_store_item_t *item, const uint8_t *ekey,
                  size_t ekey_size, s_versions_t *versions, size_t winner,
                  uint64_t old_seq)
{
    s_version_t *old = NULL;
    s_version_t *new = winner < versions->count? &versions->items [winner]: NULL;
    for (size_t i = 0; i < versions->count; i++)
        if (versions->items [i].current)
            old = &versions->items [i];
    int rc = 0;
    if (old && old != new) {
        rc = s_history_put (batch, old->record, old->data, old->size);
        if (rc == 0)
            rc = ht_store__index_record (batch->store, batch->txn, old->record, old_seq,
                                         false);
        ht_store__count_change (batch, old->record, -1);
        if (rc == 0 && !new)
            rc = s_current_drop (batch, ekey, ekey_size, old->record, old_seq);
    }
    if (rc == 0 && new && old != new) {
        ht_store_item_t promoted = *item;
        if (!new->incoming) {
            promoted.record = new->record;
            promoted.encoded = new->data;
            promoted.encoded_size = new->size;
            rc = s_history_del (batch, new->record);
            if (rc == 0)
                rc = s_move_log (batch, new->record, false, 0);
        }
        if (rc == 0)
            rc = ht_store__current_put (batch, &promoted, ekey, ekey_size, old? old_seq: 0);
    }
    for (size_t i = 0; rc == 0 && i < versions->count; i++) {
        s_version_t *version = &versions->items [i];
        if (version->incoming && version != new)
            rc = s_history_put (batch, item->record, item->encoded, item->encoded_size);
        if (rc == 0)
            rc = s_flag_put (batch, version);
        if (rc == 0 && version != new)
            rc = s_move_log (batch, version->record, s_is_move (versions, i),
                             version == old && new? old_seq: 0);
    }
    return rc;
}

//  Warn when an author signed two different versions at one hlc: both
//  are kept (the digest orders them), but it means a broken or stolen key
static void
s_check_equivocation (const s_versions_t *versions, const ht_record_t *incoming,
                      bool verbose)
{
    for (size_t i = 0; i < versions->count; i++) {
        const ht_record_t *other = versions->items [i].record;
        if (verbose && other != incoming && ht_record_hlc (incoming) == ht_record_hlc (other)
        &&  memcmp (ht_record_author (incoming), ht_record_author (other),
                    HT_PUBKEY_BYTES) == 0)
            ht_log_warning ("store: %s/%s: one author signed two versions at one hlc",
                            ht_record_kind (incoming), ht_record_key (incoming));
    }
}

//  Count what merging did to the item, and its result code
static void
s_merge_tally (ht_store_batch_t *batch, const s_versions_t *versions, size_t winner, int *code)
{
    for (size_t i = 0; i < versions->count; i++) {
        if (!versions->items [i].incoming)
            continue;
        *code = versions->items [i].flag_after;
        if (i == winner)
            batch->stats.applied++;
        else
        if (*code)
            batch->stats.conflicts++;
        else
            batch->stats.historic++;
    }
}

//  True the first time an entity is merged in this transaction (a name
//  cut short may match another's: that only makes the merge load)
static bool
s_merged_first (ht_store_batch_t *batch, const ht_record_t *record)
{
    char name [HT_STORE_ENTITY_KEY_BYTES + 1];
    snprintf (name, sizeof name, "%s/%s", ht_record_kind (record), ht_record_key (record));
    return batch->merged && zhashx_insert (batch->merged, name, "") == 0;
}

//  Merge an admitted record with the entity's versions under the
//  ownership rule (ht_gate.h); *code is 0, or the conflict code the item
//  is kept in history with
int
ht_store__merge (ht_store_batch_t *batch, const ht_store_item_t *item, int *code)
{
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    size_t ekey_size = ht_store__entity_key (ht_record_kind (item->record),
                                             ht_record_key (item->record), ekey);
    s_versions_t versions = { NULL, 0, 0 };
    uint64_t old_seq = 0;
    *code = 0;
    //  An entity of which the snapshot the item was prepared in held no
    //  version, where that snapshot is this transaction's start and no
    //  item before merged it, has none to load (a bootstrap's records:
    //  a lookup in rec and one in hist saved per record)
    bool first = s_merged_first (batch, item->record);
    bool unknown = first && item->unknown_at
                && item->unknown_at + 1 == (uint64_t) mdb_txn_id (batch->txn);
    int rc = unknown? 0: s_versions_collect (batch, ekey, ekey_size, &versions, &old_seq);
    bool held = false;
    for (size_t i = 0; rc == 0 && i < versions.count; i++)
        if (ht_record_compare (versions.items [i].record, item->record) == 0) {
            held = true;
            *code = versions.items [i].flag_before;
        }
    s_version_t *mine = rc == 0 && !held? s_versions_append (&versions): NULL;
    if (rc == 0 && !held && !mine)
        rc = ENOMEM;
    if (mine) {
        //  The item's record stays the item's: the list only borrows it
        mine->record = item->record;
        mine->incoming = true;
        s_check_equivocation (&versions, item->record, batch->store->verbose);
        qsort (versions.items, versions.count, sizeof (s_version_t), s_version_compare);
        size_t winner = s_versions_judge (batch, &versions);
        rc = s_versions_write (batch, item, ekey, ekey_size, &versions, winner, old_seq);
        s_merge_tally (batch, &versions, winner, code);
    }
    else
    if (rc == 0)
        batch->stats.unchanged++;
    s_versions_destroy (&versions);
    return rc;
}

int
ht_store__held (ht_store_t *store, MDB_txn *txn, const ht_store_item_t *item, bool *held,
                int *code, bool *absent)
{
    *held = false;
    *code = 0;
    if (absent)
        *absent = false;
    if (item->error || !item->record || !item->encoded)
        return 0;
    uint8_t key [S_HIST_KEY_BYTES];
    size_t used = s_hist_key (item->record, key);
    if (used == 0)
        return 0;                   //  cannot be stored either: not held
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    size_t ekey_size = ht_store__entity_key (ht_record_kind (item->record),
                                             ht_record_key (item->record), ekey);
    ht_store_current_t current;
    int rc = ht_store__current_get (store, txn, ekey, ekey_size, &current);
    ht_store_bytes_t bytes;
    if (rc == 0 && (rc = ht_store__bytes_get (&current.route, &bytes)) == 0) {
        *held = bytes.size == item->encoded_size
             && memcmp (bytes.data, item->encoded, bytes.size) == 0;
        ht_store__bytes_done (&bytes);
    }
    else
    if (rc != MDB_NOTFOUND)
        return rc;
    //  No current version: if history holds none of the entity either, it
    //  is absent, and this version is not held (one lookup, not two)
    if (absent && rc == MDB_NOTFOUND) {
        bool any = true;
        rc = s_history_any (store, txn, ekey, ekey_size, &any);
        if (rc || !any) {
            *absent = rc == 0;
            return rc;
        }
    }
    if (!*held) {
        MDB_val k = { used, key }, value;
        rc = mdb_get (txn, store->dbi [HT_STORE_DB_HIST], &k, &value);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        *held = rc == 0 && value.mv_size == item->encoded_size
             && memcmp (value.mv_data, item->encoded, value.mv_size) == 0;
    }
    if (!*held)
        return 0;
    ht_store_batch_t reader;
    memset (&reader, 0, sizeof reader);
    reader.store = store;
    reader.txn = txn;
    return s_flag_get (&reader, item->record, code);
}

int
ht_store_conflict_of (ht_store_t *self, const ht_record_t *record)
{
    ht_store_batch_t reader;
    memset (&reader, 0, sizeof reader);
    reader.store = self;
    int code = 0;
    if (ht_store__txn_begin (self, MDB_RDONLY, &reader.txn) == 0) {
        if (s_flag_get (&reader, record, &code) != 0)
            code = 0;
        ht_store__read_end (self, reader.txn);
    }
    return code;
}
