//  ht_store_apply: the write path. A batch is admitted, merged, indexed
//  and its peer cursor stored in one write transaction (the design is in
//  ht_store.c's top comment).
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ht_store_private.h"
#include "ht_hlc.h"
#include "ht_gate.h"

#define S_QUARANTINE_MAX_DATA_BYTES (64u * 1024)
#define S_PARALLEL_MIN_ITEMS 64     //  smaller batches verify on one thread
#define S_MAX_THREADS 4             //  the verifier pool's threads and this one

//  One input of a batch, prepared once before the first attempt
typedef struct {
    ht_record_t *record;            //  the record; NULL if it did not decode
    bool owned;                     //  record was decoded here
    const uint8_t *data;            //  bytes as received, or NULL
    size_t size;                    //  their size
    uint8_t *encoded;               //  canonical encoding (owned) or NULL
    size_t encoded_size;            //  its size
    bool encoded_borrowed;          //  encoded points at data (not owned)
    bool from_bytes;                //  came as bytes: decode when preparing
    int error;                      //  decode or encode error, 0 if none
    const char *reason;             //  static text for error
    int verified;                   //  signature check: 0 valid, or error
    const char *verify_reason;      //  its reason
    const ht_registry_t *registry;  //  the kinds it decodes with (the store's)
    const uint8_t *qkey;            //  retried from quarantine: its entry's key
    size_t qkey_size;               //  its size
    size_t qsize;                   //  the entry's size
} s_item_t;

//  The state of one attempt at a batch
typedef struct {
    ht_store_t *store;              //  the store written
    MDB_txn *txn;                   //  the batch's one write transaction
    const char *origin;             //  peer name, "" for local writes
    uint64_t now_ms;                //  wall clock when the batch began
    uint64_t last_seq;              //  highest sequence used so far
    uint64_t quarantine_id;         //  highest quarantine id used so far
    uint64_t quarantine_dropped;    //  entries dropped to keep the bounds
    int64_t *count_delta;           //  live records gained, per kind index
    size_t kind_count;              //  entries in count_delta
    ht_certsource_t source;         //  certs as this transaction sees them
    ht_gate_t gate;                 //  the admission gate, over source
    ht_gate_path_t path;            //  how these records reach us
    const char *qsource;            //  quarantine source label
    bool retry;                     //  retrying quarantined input: refusals
                                    //  stay where they are, no cursor moves
    int fatal;                      //  LMDB error met inside a callback
    ht_apply_stats_t stats;         //  what the batch did
} s_batch_t;

//  --------------------------------------------------------------------------
//  Indexes

//  Add or remove one index key
static int
s_index_key (s_batch_t *batch, const uint8_t *key, size_t key_size, bool add)
{
    MDB_val k = { key_size, (void *) key }, empty = { 0, NULL };
    MDB_dbi idx = batch->store->dbi [HT_STORE_DB_IDX];
    int rc = add? mdb_put (batch->txn, idx, &k, &empty, 0)
                : mdb_del (batch->txn, idx, &k, NULL);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Add or remove the field index entry "f kind field value key"
static int
s_index_value (s_batch_t *batch, const ht_record_t *record,
               const char *field, const char *value, bool add)
{
    const char *parts [] = {
        "f", ht_record_kind (record), field, value, ht_record_key (record)
    };
    uint8_t key [HT_STORE_KEY_MAX_BYTES];
    size_t key_size = ht_store__join (key, sizeof key, parts, 5);
    //  A value too long for a key is not findable; that beats failing
    //  the batch over one long text, and schema fields that are indexed
    //  are short codes and names
    if (key_size == 0)
        return 0;
    return s_index_key (batch, key, key_size, add);
}

//  Add or remove the index entries of one field of a record
static int
s_index_field (s_batch_t *batch, const ht_record_t *record,
               const ht_field_t *field, bool add)
{
    char text [24];
    int64_t number;
    bool flag;
    int rc = 0;
    const char *value = NULL;
    if (field->type == HT_TYPE_STR)
        value = ht_record_get_str (record, field->name);
    else
    if (field->type == HT_TYPE_INT && ht_record_get_int (record, field->name, &number)) {
        snprintf (text, sizeof text, "%" PRId64, number);
        value = text;
    }
    else
    if (field->type == HT_TYPE_BOOL && ht_record_get_bool (record, field->name, &flag))
        value = flag? "true": "false";
    else
    if (field->type == HT_TYPE_STRS) {
        size_t count = ht_record_get_strs_count (record, field->name);
        for (size_t i = 0; rc == 0 && i < count; i++) {
            const char *item = ht_record_get_strs_item (record, field->name, i);
            if (item)
                rc = s_index_value (batch, record, field->name, item, add);
        }
    }
    if (value)
        rc = s_index_value (batch, record, field->name, value, add);
    return rc;
}

//  Add or remove all index entries of a live record (tombstones have none)
static int
s_index_record (s_batch_t *batch, const ht_record_t *record, bool add)
{
    if (ht_record_deleted (record))
        return 0;
    const char *parts [] = {
        "r", ht_record_kind (record), ht_record_region (record),
        ht_record_key (record)
    };
    uint8_t key [HT_STORE_KEY_MAX_BYTES];
    size_t key_size = ht_store__join (key, sizeof key, parts, 4);
    int rc = key_size? s_index_key (batch, key, key_size, add): MDB_BAD_VALSIZE;
    const ht_kind_t *schema = ht_record_schema (record);
    for (size_t i = 0; rc == 0 && i < schema->field_count; i++)
        if (schema->fields [i].indexed)
            rc = s_index_field (batch, record, &schema->fields [i], add);
    return rc;
}

//  --------------------------------------------------------------------------
//  Merging

//  Index of a kind in the schema registry, for per-kind counts
static size_t
s_kind_index (const char *kind)
{
    size_t count = ht_schema_kind_count ();
    for (size_t index = 0; index < count; index++)
        if (streq (ht_schema_kind_at (index)->name, kind))
            return index;
    return count;
}

//  Count a live record gained (+1) or lost (-1) in this batch
static void
s_count_change (s_batch_t *batch, const ht_record_t *record, int64_t change)
{
    size_t index = s_kind_index (ht_record_kind (record));
    if (!ht_record_deleted (record) && index < batch->kind_count)
        batch->count_delta [index] += change;
}

//  Write record as the entity's current version at a new sequence,
//  retiring old_seq (0 if none) so the entity appears once in seq
static int
s_current_put (s_batch_t *batch, const s_item_t *item, const uint8_t *ekey,
               size_t ekey_size, uint64_t old_seq)
{
    size_t origin_size = strlen (batch->origin);
    size_t header = HT_STORE_U64_BYTES + 1 + origin_size;
    uint8_t *bytes = malloc (header + item->encoded_size);
    if (!bytes)
        return ENOMEM;
    uint64_t seq = ++batch->last_seq;
    ht_store__put_be64 (bytes, seq);
    bytes [HT_STORE_U64_BYTES] = (uint8_t) origin_size;
    memcpy (bytes + HT_STORE_U64_BYTES + 1, batch->origin, origin_size);
    memcpy (bytes + header, item->encoded, item->encoded_size);

    uint8_t seq_bytes [HT_STORE_U64_BYTES], old_bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (seq_bytes, seq);
    ht_store__put_be64 (old_bytes, old_seq);
    MDB_val key = { ekey_size, (void *) ekey };
    MDB_val value = { header + item->encoded_size, bytes };
    MDB_val seq_key = { HT_STORE_U64_BYTES, seq_bytes };
    MDB_val old_key = { HT_STORE_U64_BYTES, old_bytes };
    int rc = mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_REC], &key, &value, 0);
    free (bytes);
    //  The routing head: what a PULL needs to decide, without the record
    uint8_t route [HT_STORE_ROUTE_MAX_BYTES];
    MDB_val route_value = { ht_store__route_build (item->record, batch->origin, ekey,
                                                   ekey_size, NULL, route), route };
    if (rc == 0)
        rc = mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_SEQ], &seq_key,
                      &route_value, 0);
    if (rc == 0 && old_seq)
        rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_SEQ], &old_key, NULL);
    if (rc == 0)
        rc = s_index_record (batch, item->record, true);
    if (rc == 0)
        rc = ht_store__certs_changed (batch->store, batch->txn, item->record);
    s_count_change (batch, item->record, 1);
    return rc;
}

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
s_history_put (s_batch_t *batch, const ht_record_t *record,
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
s_history_del (s_batch_t *batch, const ht_record_t *record)
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
s_flag_get (s_batch_t *batch, const ht_record_t *record, int *code)
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
s_flag_put (s_batch_t *batch, const s_version_t *version)
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
s_versions_collect (s_batch_t *batch, const uint8_t *ekey, size_t ekey_size,
                    s_versions_t *versions, uint64_t *current_seq)
{
    ht_store_current_t found;
    int rc = ht_store__current_get (batch->store, batch->txn, ekey, ekey_size, &found);
    *current_seq = rc == 0? found.seq: 0;
    if (rc == 0)
        rc = s_versions_load (batch->store, versions, found.data, found.size, true);
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
s_versions_judge (s_batch_t *batch, s_versions_t *versions)
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
s_current_drop (s_batch_t *batch, const uint8_t *ekey, size_t ekey_size,
                const ht_record_t *old, uint64_t old_seq)
{
    uint8_t seq_bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (seq_bytes, old_seq);
    MDB_val key = { ekey_size, (void *) ekey }, seq_key = { HT_STORE_U64_BYTES, seq_bytes };
    int rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_REC], &key, NULL);
    if (rc == 0)
        rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_SEQ], &seq_key, NULL);
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
s_move_log (s_batch_t *batch, const ht_record_t *record, bool want, uint64_t reuse_seq)
{
    uint8_t key [S_FLAG_KEY_BYTES];
    size_t used = s_move_key (record, key);
    if (used == 0)
        return MDB_BAD_VALSIZE;
    MDB_dbi idx = batch->store->dbi [HT_STORE_DB_IDX], seqs = batch->store->dbi [HT_STORE_DB_SEQ];
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
        MDB_val seq_key = { HT_STORE_U64_BYTES, seq_bytes };
        rc = mdb_del (batch->txn, seqs, &seq_key, NULL);
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = mdb_del (batch->txn, idx, &k, NULL);
        return rc;
    }
    ht_store__put_be64 (seq_bytes, reuse_seq? reuse_seq: ++batch->last_seq);
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES], route [HT_STORE_ROUTE_MAX_BYTES];
    size_t ekey_size = ht_store__entity_key (ht_record_kind (record), ht_record_key (record), ekey);
    //  The history key's suffix: after "m" NUL kind NUL key NUL
    const uint8_t *suffix = key + 2 + ekey_size + 1;
    MDB_val seq_key = { HT_STORE_U64_BYTES, seq_bytes };
    MDB_val route_value = { ht_store__route_build (record, "", ekey, ekey_size, suffix, route),
                            route };
    MDB_val seq_value = { HT_STORE_U64_BYTES, seq_bytes };
    rc = mdb_put (batch->txn, seqs, &seq_key, &route_value, 0);
    if (rc == 0)
        rc = mdb_put (batch->txn, idx, &k, &seq_value, 0);
    return rc;
}

//  Make the judgement so: the old current goes to history, the new one
//  comes out of it (or is the item), flags follow the verdicts, and moves
//  kept in history stay in the change log
static int
s_versions_write (s_batch_t *batch, const s_item_t *item, const uint8_t *ekey,
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
            rc = s_index_record (batch, old->record, false);
        s_count_change (batch, old->record, -1);
        if (rc == 0 && !new)
            rc = s_current_drop (batch, ekey, ekey_size, old->record, old_seq);
    }
    if (rc == 0 && new && old != new) {
        s_item_t promoted = *item;
        if (!new->incoming) {
            promoted.record = new->record;
            promoted.encoded = new->data;
            promoted.encoded_size = new->size;
            rc = s_history_del (batch, new->record);
            if (rc == 0)
                rc = s_move_log (batch, new->record, false, 0);
        }
        if (rc == 0)
            rc = s_current_put (batch, &promoted, ekey, ekey_size, old? old_seq: 0);
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
            zsys_warning ("store: %s/%s: one author signed two versions at one hlc",
                          ht_record_kind (incoming), ht_record_key (incoming));
    }
}

//  Count what merging did to the item, and its result code
static void
s_merge_tally (s_batch_t *batch, const s_versions_t *versions, size_t winner, int *code)
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

//  Merge an admitted record with the entity's versions under the
//  ownership rule (ht_gate.h); *code is 0, or the conflict code the item
//  is kept in history with
static int
s_merge (s_batch_t *batch, const s_item_t *item, int *code)
{
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    size_t ekey_size = ht_store__entity_key (ht_record_kind (item->record),
                                             ht_record_key (item->record), ekey);
    s_versions_t versions = { NULL, 0, 0 };
    uint64_t old_seq = 0;
    *code = 0;
    int rc = s_versions_collect (batch, ekey, ekey_size, &versions, &old_seq);
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

//  Certsource callback bound to a batch's write transaction
static int
s_batch_cert (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
              ht_cert_t *cert, uint8_t issuer [HT_PUBKEY_BYTES])
{
    s_batch_t *batch = (s_batch_t *) ctx;
    return ht_store__lookup_cert (batch->store, batch->txn, pubkey, cert, issuer,
                                  &batch->fatal);
}

//  Certsource callback bound to a batch's write transaction
static int
s_batch_revocation (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
                    uint64_t *revoked_at_ms)
{
    s_batch_t *batch = (s_batch_t *) ctx;
    return ht_store__lookup_revocation (batch->store, batch->txn, pubkey,
                                        revoked_at_ms, &batch->fatal);
}


//  --------------------------------------------------------------------------
//  Quarantine and admission

//  Meta name of a quarantine source's counter ("qn" entries, "qb" bytes)
static void
s_qcount_name (const char *what, const char *source, char *name, size_t size)
{
    snprintf (name, size, "%s:%s", what, source);
}

//  Drop the oldest entries of source until it is within the store's
//  bounds again; a hostile source can only push out its own entries
static int
s_quarantine_trim (s_batch_t *batch, const char *source, uint64_t *entries,
                   uint64_t *bytes)
{
    ht_store_t *self = batch->store;
    uint8_t prefix [HT_PEER_NAME_MAX_CHARS + 2];
    size_t prefix_size = strlen (source) + 1;
    memcpy (prefix, source, prefix_size);      //  with its NUL
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open (batch->txn, self->dbi [HT_STORE_DB_QUARANTINE], &cursor);
    while (rc == 0 && *entries > 1
       &&  (*entries > self->quarantine_max_entries || *bytes > self->quarantine_max_bytes)) {
        MDB_val key = { prefix_size, prefix }, value;
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
        if (rc || !ht_store__has_prefix (&key, prefix, prefix_size))
            break;
        size_t size = value.mv_size;
        rc = mdb_cursor_del (cursor, 0);
        (*entries)--;
        *bytes = *bytes > size? *bytes - size: 0;
        batch->quarantine_dropped++;
    }
    if (cursor)
        mdb_cursor_close (cursor);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Count an entry of size bytes in (or, negative, out of) source's share
static int
s_quarantine_count (s_batch_t *batch, const char *source, int64_t change, size_t size,
                    bool trim)
{
    char entries_name [HT_PEER_NAME_MAX_CHARS + 8], bytes_name [HT_PEER_NAME_MAX_CHARS + 8];
    s_qcount_name ("qn", source, entries_name, sizeof entries_name);
    s_qcount_name ("qb", source, bytes_name, sizeof bytes_name);
    uint64_t entries = 0, bytes = 0;
    int rc = ht_store__meta_get_u64 (batch->store, batch->txn, entries_name, &entries);
    if (rc == 0)
        rc = ht_store__meta_get_u64 (batch->store, batch->txn, bytes_name, &bytes);
    if (change > 0) {
        entries++;
        bytes += size;
    }
    else {
        entries = entries? entries - 1: 0;
        bytes = bytes > size? bytes - size: 0;
    }
    if (rc == 0 && trim)
        rc = s_quarantine_trim (batch, source, &entries, &bytes);
    if (rc == 0)
        rc = ht_store__meta_put_u64 (batch->store, batch->txn, entries_name, entries);
    if (rc == 0)
        rc = ht_store__meta_put_u64 (batch->store, batch->txn, bytes_name, bytes);
    return rc;
}

//  Write a rejected input to quarantine with its code and reason, under
//  the batch's source, within that source's bounds
static int
s_quarantine_put (s_batch_t *batch, const s_item_t *item, int code,
                  const char *reason)
{
    const uint8_t *data = item->data? item->data: item->encoded;
    size_t size = item->data? item->size: item->encoded_size;
    const char *source = batch->qsource;
    size_t origin_size = strlen (source);
    size_t reason_size = strlen (reason);
    if (reason_size > HT_STORE_REASON_MAX_BYTES)
        reason_size = HT_STORE_REASON_MAX_BYTES;
    //  Bounded, so a hostile peer cannot make one entry arbitrarily big
    if (size > S_QUARANTINE_MAX_DATA_BYTES)
        size = S_QUARANTINE_MAX_DATA_BYTES;
    size_t total = 4 + HT_STORE_U64_BYTES + 1 + origin_size + 2 + reason_size + size;
    uint8_t *bytes = malloc (total), *cursor = bytes;
    if (!bytes)
        return ENOMEM;
    ht_store__put_be32 (cursor, (uint32_t) (int32_t) code);
    cursor += 4;
    ht_store__put_be64 (cursor, batch->now_ms);
    cursor += HT_STORE_U64_BYTES;
    *cursor++ = (uint8_t) origin_size;
    memcpy (cursor, source, origin_size);
    cursor += origin_size;
    ht_be_put (cursor, reason_size, 2);
    cursor += 2;
    memcpy (cursor, reason, reason_size);
    cursor += reason_size;
    if (size)
        memcpy (cursor, data, size);

    uint8_t key_bytes [HT_PEER_NAME_MAX_CHARS + 1 + HT_STORE_U64_BYTES];
    memcpy (key_bytes, source, origin_size + 1);
    ht_store__put_be64 (key_bytes + origin_size + 1, ++batch->quarantine_id);
    MDB_val key = { origin_size + 1 + HT_STORE_U64_BYTES, key_bytes };
    MDB_val value = { total, bytes };
    int rc = mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_QUARANTINE],
                      &key, &value, 0);
    free (bytes);
    if (rc == 0)
        rc = s_quarantine_count (batch, source, 1, total, true);
    batch->stats.quarantined++;
    return rc;
}

//  Decide whether a record may enter: 0 or the code to quarantine it with
static int
s_admit (s_batch_t *batch, const s_item_t *item, const char **reason)
{
    //  The signature was checked before the transaction, in parallel
    return ht_gate_admit_record (&batch->gate, item->record, batch->path,
                                 item->verified, item->verify_reason, reason);
}

//  Admit and merge one item, or quarantine it. Returns an LMDB error
//  (which aborts the batch) and sets *code to the item's result.
static int
s_batch_item (s_batch_t *batch, const s_item_t *item, int *code)
{
    const char *reason = item->reason;
    *code = item->error;
    if (*code == 0)
        *code = s_admit (batch, item, &reason);
    if (batch->fatal)
        return batch->fatal;
    if (*code != 0 && batch->retry)
        return 0;                   //  still refused: its entry stays
    if (*code != 0)
        return s_quarantine_put (batch, item, *code,
                                 reason? reason: ht_strerror (*code));
    int rc = s_merge (batch, item, code);
    if (rc == 0 && item->qkey) {
        //  Admitted at last: out of quarantine, in the same transaction
        MDB_val key = { item->qkey_size, (void *) item->qkey };
        rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_QUARANTINE], &key, NULL);
        if (rc == 0)
            rc = s_quarantine_count (batch, batch->qsource, -1, item->qsize, false);
    }
    return batch->fatal? batch->fatal: rc;
}

//  --------------------------------------------------------------------------
//  Batches

//  Begin an attempt: write txn, cache check, counters
static int
s_batch_begin (s_batch_t *batch)
{
    ht_store_t *self = batch->store;
    memset (&batch->stats, 0, sizeof batch->stats);
    memset (batch->count_delta, 0, batch->kind_count * sizeof (int64_t));
    batch->fatal = 0;
    batch->now_ms = ht_hlc_wall_ms ();
    int rc = ht_store__txn_begin (self, 0, &batch->txn);
    if (rc == 0)
        rc = ht_store__cache_sync (self, batch->txn);
    if (rc == 0)
        rc = ht_store__meta_get_u64 (self, batch->txn, "last_seq", &batch->last_seq);

    if (rc == 0)
        rc = ht_store__meta_get_u64 (self, batch->txn, "quarantine_id",
                                     &batch->quarantine_id);
    if (rc == 0)
        rc = ht_store__meta_get_u64 (self, batch->txn, "quarantine_dropped",
                                     &batch->quarantine_dropped);
    uint64_t behind = HT_GATE_INGEST_BEHIND_MS, ahead = HT_GATE_INGEST_AHEAD_MS;
    MDB_val window;
    if (rc == 0 && ht_store__meta_get (self, batch->txn, "ingest_window", &window) == 0
    &&  window.mv_size == 2 * HT_STORE_U64_BYTES) {
        behind = ht_store__get_be64 (window.mv_data);
        ahead = ht_store__get_be64 ((const uint8_t *) window.mv_data + HT_STORE_U64_BYTES);
    }
    batch->gate = (ht_gate_t) {
        .anchor = self->anchor, .source = &batch->source, .region = self->region,
        .now_ms = batch->now_ms, .ingest_behind_ms = behind, .ingest_ahead_ms = ahead
    };
    return rc;
}

//  Add this batch's count changes to the per-kind counts
static int
s_counts_write (s_batch_t *batch)
{
    int rc = 0;
    for (size_t index = 0; rc == 0 && index < batch->kind_count; index++) {
        if (batch->count_delta [index] == 0)
            continue;
        char name [32];
        uint64_t count;
        ht_store__count_name (ht_schema_kind_at (index)->name, name, sizeof name);
        rc = ht_store__meta_get_u64 (batch->store, batch->txn, name, &count);
        int64_t updated = (int64_t) count + batch->count_delta [index];
        if (rc == 0)
            rc = ht_store__meta_put_u64 (batch->store, batch->txn, name,
                                         updated > 0? (uint64_t) updated: 0);
    }
    return rc;
}

//  Finish an attempt: sequence, counts, the peer's cursor, commit
static int
s_batch_end (s_batch_t *batch, const ht_origin_t *origin)
{
    ht_store_t *self = batch->store;
    int rc = ht_store__meta_put_u64 (self, batch->txn, "last_seq", batch->last_seq);
    if (rc == 0)
        rc = ht_store__meta_put_u64 (self, batch->txn, "quarantine_id", batch->quarantine_id);
    if (rc == 0)
        rc = ht_store__meta_put_u64 (self, batch->txn, "quarantine_dropped",
                                     batch->quarantine_dropped);
    if (rc == 0)
        rc = s_counts_write (batch);
    if (rc == 0 && origin && origin->peer && !batch->retry) {
        uint8_t bytes [HT_STORE_PEER_VALUE_BYTES];
        memcpy (bytes, origin->epoch, HT_EPOCH_BYTES);
        ht_store__put_be64 (bytes + HT_EPOCH_BYTES, origin->cursor);
        MDB_val key = { strlen (origin->peer), (void *) origin->peer };
        MDB_val value = { sizeof bytes, bytes };
        rc = mdb_put (batch->txn, self->dbi [HT_STORE_DB_PEER], &key, &value, 0);
    }
    if (rc == 0) {
        rc = mdb_txn_commit (batch->txn);
        batch->txn = NULL;          //  freed by commit, even on failure
    }
    return rc;
}

//  One attempt at a whole batch; an LMDB error means nothing was written
static int
s_batch_run (s_batch_t *batch, const s_item_t *items, size_t count,
             const ht_origin_t *origin, int *results)
{
    int rc = s_batch_begin (batch);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        int code;
        rc = s_batch_item (batch, &items [i], &code);
        if (results)
            results [i] = code;
    }
    if (rc == 0)
        rc = s_batch_end (batch, origin);
    if (batch->txn)
        mdb_txn_abort (batch->txn);
    batch->txn = NULL;
    if (rc != 0)
        ht_store__cache_forget (batch->store);
    return rc;
}

//  Double the map (up to the limit); 0 or -1 if it cannot grow
static int
s_map_grow (ht_store_t *self)
{
    size_t current = ht_store_map_bytes (self);
    size_t next = current <= SIZE_MAX / 2? current * 2: SIZE_MAX;
    if (self->map_limit && next > self->map_limit)
        next = self->map_limit;
    if (next <= current) {
        zsys_error ("store: map full at %zu bytes and cannot grow", current);
        return -1;
    }
    int rc = mdb_env_set_mapsize (self->env, next);
    if (rc) {
        zsys_error ("store: cannot grow map to %zu bytes: %s", next, mdb_strerror (rc));
        return -1;
    }
    if (self->verbose)
        zsys_info ("store: map full, grown to %zu bytes", next);
    return 0;
}

//  True if origin is NULL (local) or names a peer with an epoch
static bool
s_origin_valid (const ht_origin_t *origin)
{
    if (origin && origin->source && strlen (origin->source) > HT_PEER_NAME_MAX_CHARS)
        return false;
    if (!origin || !origin->peer)
        return true;
    size_t size = strlen (origin->peer);
    return size > 0 && size <= HT_PEER_NAME_MAX_CHARS && origin->epoch;
}

//  Apply prepared items, growing the map and retrying while it is full
static int
s_apply_items (ht_store_t *self, const s_item_t *items, size_t count,
               const ht_origin_t *origin, ht_apply_stats_t *stats, int *results,
               bool retry)
{
    s_batch_t batch;
    memset (&batch, 0, sizeof batch);
    batch.store = self;
    batch.retry = retry;
    batch.origin = origin && origin->peer? origin->peer: "";
    batch.path = origin && origin->peer? HT_GATE_REPLICATED
               : origin && origin->import? HT_GATE_IMPORT: HT_GATE_INGEST;
    batch.qsource = *batch.origin? batch.origin
                  : origin && origin->source && *origin->source? origin->source: "local";
    batch.source.cert = s_batch_cert;
    batch.source.revocation = s_batch_revocation;
    batch.source.ctx = &batch;
    batch.kind_count = ht_schema_kind_count ();
    batch.count_delta = calloc (batch.kind_count + 1, sizeof (int64_t));
    if (!batch.count_delta)
        return HT_ENOMEM;
    int rc;
    while ((rc = s_batch_run (&batch, items, count, origin, results)) == MDB_MAP_FULL)
        if (s_map_grow (self) != 0)
            break;
    free (batch.count_delta);
    //  A map that cannot grow (its limit, or the disk) is the one failure
    //  a writer can act on: named store_full, logged once by s_map_grow
    if (rc == MDB_MAP_FULL)
        return HT_EFULL;
    if (rc)
        return ht_store__error ("batch not applied", rc);
    if (stats)
        *stats = batch.stats;
    //  What was quarantined is the caller's to report (stats and results):
    //  a node logs it at its configured level, hutong put per line
    return 0;
}

//  Free what preparing items allocated
static void
s_items_destroy (s_item_t *items, size_t count)
{
    for (size_t i = 0; items && i < count; i++) {
        if (items [i].owned)
            ht_record_destroy (&items [i].record);
        if (!items [i].encoded_borrowed)
            free (items [i].encoded);
    }
    free (items);
}

//  Encode an item's record canonically, once for every attempt
static void s_item_encode (s_item_t *item);

//  Make an item ready for the transaction: decode it (if it came as bytes),
//  encode it, check its signature. Touches nothing shared, so items are
//  prepared on several threads at once: signatures are most of the cost.
static void
s_item_prepare (s_item_t *item)
{
    if (item->from_bytes) {
        item->record = ht_record_decode_with (item->registry, item->data, item->size, &item->error,
                                         &item->reason);
        item->owned = true;
        if (!item->record && item->error == 0)
            item->error = HT_EMALFORMED;
        if (item->record) {
            //  Decoding refuses anything but the canonical bytes, so the
            //  bytes received are the bytes to store
            item->encoded = (uint8_t *) item->data;
            item->encoded_size = item->size;
            item->encoded_borrowed = true;
        }
    }
    else
        s_item_encode (item);
    //  Verification guards against what others signed; a record this
    //  process just signed (hutong put) is known good
    if (item->error == 0 && !ht_record_signed_here (item->record))
        item->verified = ht_record_verify (item->record, &item->verify_reason);
}

typedef struct {
    s_item_t *items;                //  first item of this share
    size_t count;                   //  how many
} s_share_t;

static void
s_prepare_share (void *arg)
{
    s_share_t *share = (s_share_t *) arg;
    for (size_t i = 0; i < share->count; i++)
        s_item_prepare (&share->items [i]);
}

//  Prepare every item: small batches on this thread, larger ones in
//  shares across the store's verifier threads and this one
static void
s_items_prepare (ht_store_t *self, s_item_t *items, size_t count)
{
    size_t threads = count < S_PARALLEL_MIN_ITEMS? 1: ht_pool_size (self->verifiers) + 1;
    if (threads > S_MAX_THREADS)
        threads = S_MAX_THREADS;
    for (size_t i = 0; i < count; i++)
        items [i].registry = self->registry;
    s_share_t shares [S_MAX_THREADS];
    void *args [S_MAX_THREADS];
    size_t per_thread = (count + threads - 1) / threads, offset = 0;
    for (size_t t = 0; t < threads; t++) {
        shares [t].items = items + offset;
        shares [t].count = offset + per_thread <= count? per_thread: count - offset;
        offset += shares [t].count;
        args [t] = &shares [t];
    }
    ht_pool_run (self->verifiers, s_prepare_share, args, threads);
}

static void
s_item_encode (s_item_t *item)
{
    if (item->error == 0
    &&  ht_record_encode (item->record, &item->encoded, &item->encoded_size) != 0) {
        item->error = HT_EMALFORMED;
        item->reason = "record does not encode";
        item->encoded = NULL;
        item->encoded_size = 0;
    }
}

int
ht_store_apply (ht_store_t *self, ht_record_t *const *records, size_t count,
                const ht_origin_t *origin, ht_apply_stats_t *stats, int *results)
{
    if (!self || (count && !records) || !s_origin_valid (origin))
        return HT_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (!records [i])
            return HT_EINVAL;
    s_item_t *items = calloc (count + 1, sizeof *items);
    if (!items)
        return HT_ENOMEM;
    for (size_t i = 0; i < count; i++)
        items [i].record = records [i];
    s_items_prepare (self, items, count);
    int code = s_apply_items (self, items, count, origin, stats, results, false);
    s_items_destroy (items, count);
    return code;
}

int
ht_store_apply_encoded (ht_store_t *self, const uint8_t *const *data,
                        const size_t *sizes, size_t count,
                        const ht_origin_t *origin, ht_apply_stats_t *stats,
                        int *results)
{
    if (!self || (count && (!data || !sizes)) || !s_origin_valid (origin))
        return HT_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (!data [i] && sizes [i])
            return HT_EINVAL;
    s_item_t *items = calloc (count + 1, sizeof *items);
    if (!items)
        return HT_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        items [i].data = data [i];
        items [i].size = sizes [i];
        items [i].from_bytes = true;
    }
    s_items_prepare (self, items, count);
    int code = s_apply_items (self, items, count, origin, stats, results, false);
    s_items_destroy (items, count);
    return code;
}

int
ht_store_conflict_of (ht_store_t *self, const ht_record_t *record)
{
    s_batch_t reader;
    memset (&reader, 0, sizeof reader);
    reader.store = self;
    int code = 0;
    if (ht_store__txn_begin (self, MDB_RDONLY, &reader.txn) == 0) {
        if (s_flag_get (&reader, record, &code) != 0)
            code = 0;
        mdb_txn_abort (reader.txn);
    }
    return code;
}

//  Does a quarantine entry match a purge's filter?
static bool
s_purge_matches (const MDB_val *value, int code, uint64_t before_ms)
{
    if (value->mv_size < 4 + HT_STORE_U64_BYTES)
        return true;                //  malformed: no reason to keep it
    int entry_code = (int) (int32_t) ht_store__get_be32 (value->mv_data);
    uint64_t when_ms = ht_store__get_be64 ((const uint8_t *) value->mv_data + 4);
    return (code == 1 || entry_code == code) && (before_ms == 0 || when_ms < before_ms);
}

//  A quarantine key to delete, with the entry's size
typedef struct {
    uint8_t key [HT_PEER_NAME_MAX_CHARS + 1 + HT_STORE_U64_BYTES];
    size_t key_size;
    size_t size;
} s_doomed_t;

//  Delete one entry and count it out of its source (the key up to NUL)
static int
s_purge_one (s_batch_t *batch, const s_doomed_t *doomed)
{
    MDB_val key = { doomed->key_size, (void *) doomed->key };
    int rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_QUARANTINE], &key, NULL);
    char source [HT_PEER_NAME_MAX_CHARS + 1];
    size_t source_size = strnlen ((const char *) doomed->key, HT_PEER_NAME_MAX_CHARS);
    memcpy (source, doomed->key, source_size);
    source [source_size] = 0;
    if (rc == 0)
        rc = s_quarantine_count (batch, source, -1, doomed->size, false);
    return rc;
}

//  One purge in an open write transaction: find the matching entries,
//  then delete them (deleting under a walking cursor is fragile)
static int
s_purge_run (s_batch_t *batch, int code, uint64_t before_ms, int *purged)
{
    zlistx_t *doomed = zlistx_new ();
    if (!doomed)
        return ENOMEM;
    zlistx_set_destructor (doomed, (zlistx_destructor_fn *) zstr_free);
    MDB_cursor *cursor = NULL;
    MDB_val key, value;
    int rc = mdb_cursor_open (batch->txn, batch->store->dbi [HT_STORE_DB_QUARANTINE], &cursor);
    MDB_cursor_op step = MDB_FIRST;
    while (rc == 0 && (rc = mdb_cursor_get (cursor, &key, &value, step)) == 0) {
        step = MDB_NEXT;
        s_doomed_t *entry = NULL;
        if (!s_purge_matches (&value, code, before_ms)
        ||  key.mv_size > sizeof entry->key)
            continue;
        entry = calloc (1, sizeof *entry);
        if (!entry) {
            rc = ENOMEM;
            break;
        }
        memcpy (entry->key, key.mv_data, key.mv_size);
        entry->key_size = key.mv_size;
        entry->size = value.mv_size;
        zlistx_add_end (doomed, entry);
    }
    if (cursor)
        mdb_cursor_close (cursor);
    rc = rc == MDB_NOTFOUND? 0: rc;
    for (s_doomed_t *entry = zlistx_first (doomed); rc == 0 && entry;
         entry = zlistx_next (doomed)) {
        rc = s_purge_one (batch, entry);
        (*purged)++;
    }
    zlistx_destroy (&doomed);
    return rc;
}

int
ht_store_quarantine_purge (ht_store_t *self, int code, uint64_t before_ms)
{
    if (!self)
        return HT_EINVAL;
    s_batch_t batch;
    memset (&batch, 0, sizeof batch);
    batch.store = self;
    int purged = 0;
    int rc = ht_store__txn_begin (self, 0, &batch.txn);
    if (rc == 0)
        rc = s_purge_run (&batch, code, before_ms, &purged);
    if (rc == 0) {
        rc = mdb_txn_commit (batch.txn);
        batch.txn = NULL;
    }
    if (batch.txn)
        mdb_txn_abort (batch.txn);
    return rc? ht_store__error ("cannot purge quarantine", rc): purged;
}

//  --------------------------------------------------------------------------
//  Retrying quarantine

//  A quarantined input to try again (copied out of the read transaction)
typedef struct {
    uint8_t key [HT_PEER_NAME_MAX_CHARS + 1 + HT_STORE_U64_BYTES];
    size_t key_size;
    size_t entry_size;
    char source [HT_PEER_NAME_MAX_CHARS + 1];
    uint8_t *data;
    size_t size;
} s_retry_t;

static void
s_retry_destroy (s_retry_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->data);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Refusals whose cause can go away: a certificate that had not arrived
//  yet, a timestamp ahead of our clock (ours may have been behind), a
//  schema version this build did not know
static bool
s_retryable (int code)
{
    return code == HT_ENOCERT || code == HT_ECLOCK || code == HT_ESCHEMAVERSION;
}

//  Collect up to max retryable entries from neighbours, in key order
static int
s_retry_collect (ht_store_t *self, size_t max, zlistx_t *list)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cursor = NULL;
    MDB_val key, value;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_QUARANTINE], &cursor);
    MDB_cursor_op step = MDB_FIRST;
    while (rc == 0 && zlistx_size (list) < max
       &&  (rc = mdb_cursor_get (cursor, &key, &value, step)) == 0) {
        step = MDB_NEXT;
        ht_store_qentry_t entry;
        //  Only a neighbour's records: a local writer was told at once
        if (ht_store__quarantine_parse (&value, &entry) || !s_retryable (entry.code)
        ||  !ht_region_valid (entry.origin) || key.mv_size > HT_PEER_NAME_MAX_CHARS + 9)
            continue;
        s_retry_t *retry = (s_retry_t *) zmalloc (sizeof (s_retry_t));
        memcpy (retry->key, key.mv_data, key.mv_size);
        retry->key_size = key.mv_size;
        retry->entry_size = value.mv_size;
        snprintf (retry->source, sizeof retry->source, "%s", entry.origin);
        retry->data = malloc (entry.size? entry.size: 1);
        memcpy (retry->data, entry.data, entry.size);
        retry->size = entry.size;
        zlistx_add_end (list, retry);
    }
    if (cursor)
        mdb_cursor_close (cursor);
    if (txn)
        mdb_txn_abort (txn);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Retry the collected entries of one source in one transaction
static int
s_retry_source (ht_store_t *self, s_retry_t **retries, size_t count, size_t *stored)
{
    s_item_t *items = calloc (count + 1, sizeof *items);
    if (!items)
        return HT_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        items [i].data = retries [i]->data;
        items [i].size = retries [i]->size;
        items [i].from_bytes = true;
        items [i].qkey = retries [i]->key;
        items [i].qkey_size = retries [i]->key_size;
        items [i].qsize = retries [i]->entry_size;
    }
    s_items_prepare (self, items, count);
    uint8_t epoch [HT_EPOCH_BYTES] = { 0 };     //  no cursor is stored
    ht_origin_t origin = { .peer = retries [0]->source, .epoch = epoch };
    ht_apply_stats_t stats = { 0 };
    int code = s_apply_items (self, items, count, &origin, &stats, NULL, true);
    *stored += stats.applied + stats.unchanged + stats.historic + stats.conflicts;
    s_items_destroy (items, count);
    return code;
}

int
ht_store_quarantine_retry (ht_store_t *self, size_t max)
{
    if (!self)
        return HT_EINVAL;
    zlistx_t *list = zlistx_new ();
    zlistx_set_destructor (list, (zlistx_destructor_fn *) s_retry_destroy);
    int rc = s_retry_collect (self, max? max: SIZE_MAX, list);
    int code = rc? ht_store__error ("quarantine retry", rc): 0;
    size_t stored = 0, count = zlistx_size (list);
    s_retry_t **all = calloc (count + 1, sizeof *all);
    size_t index = 0;
    for (s_retry_t *retry = zlistx_first (list); retry; retry = zlistx_next (list))
        all [index++] = retry;
    //  Entries are keyed by source, so each source's run is contiguous
    for (size_t first = 0; code == 0 && first < count;) {
        size_t end = first + 1;
        while (end < count && streq (all [end]->source, all [first]->source))
            end++;
        code = s_retry_source (self, all + first, end - first, &stored);
        first = end;
    }
    free (all);
    zlistx_destroy (&list);
    return code? code: (int) stored;
}
