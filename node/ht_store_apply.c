//  ht_store_apply: the write path. A batch is admitted, merged, indexed
//  and its peer cursor stored in one write transaction (the design is in
//  ht_store.c's top comment).
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include "ht_store_private.h"
#include "ht_hlc.h"

#define S_QUARANTINE_MAX_DATA_BYTES (64u * 1024)
#define S_PARALLEL_MIN_ITEMS 64     //  smaller batches verify on one thread
#define S_MAX_THREADS 4

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
} s_item_t;

//  The state of one attempt at a batch
typedef struct {
    ht_store_t *store;              //  the store written
    MDB_txn *txn;                   //  the batch's one write transaction
    const char *origin;             //  peer name, "" for local writes
    uint64_t now_ms;                //  wall clock when the batch began
    uint64_t last_seq;              //  highest sequence used so far
    uint64_t quarantine_id;         //  highest quarantine id used so far
    int64_t *count_delta;           //  live records gained, per kind index
    size_t kind_count;              //  entries in count_delta
    ht_certsource_t source;         //  certs as this transaction sees them
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
    if (rc == 0)
        rc = mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_SEQ], &seq_key, &key, 0);
    if (rc == 0 && old_seq)
        rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_SEQ], &old_key, NULL);
    if (rc == 0)
        rc = s_index_record (batch, item->record, true);
    if (rc == 0)
        rc = ht_store__certs_changed (batch->store, batch->txn, item->record);
    s_count_change (batch, item->record, 1);
    return rc;
}

//  Keep a version in history unless it is there; *added tells which
static int
s_history_put (s_batch_t *batch, const ht_record_t *record,
               const uint8_t *data, size_t size, bool *added)
{
    uint8_t key [HT_STORE_ENTITY_KEY_BYTES + 1 + HT_STORE_U64_BYTES
                 + HT_PUBKEY_BYTES + HT_DIGEST_BYTES];
    size_t used = ht_store__entity_key (ht_record_kind (record),
                                        ht_record_key (record), key);
    if (used == 0)
        return MDB_BAD_VALSIZE;
    key [used++] = 0;
    ht_store__put_be64 (key + used, ht_record_hlc (record));
    used += HT_STORE_U64_BYTES;
    memcpy (key + used, ht_record_author (record), HT_PUBKEY_BYTES);
    used += HT_PUBKEY_BYTES;
    if (ht_record_digest (record, key + used) != 0)
        return MDB_BAD_VALSIZE;
    used += HT_DIGEST_BYTES;

    MDB_val k = { used, key }, value = { size, (void *) data };
    int rc = mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_HIST], &k, &value,
                      MDB_NOOVERWRITE);
    *added = rc == 0;
    return rc == MDB_KEYEXIST? 0: rc;
}

//  Incoming beats current: current goes to history with its index
//  entries removed, incoming becomes current at a new sequence
static int
s_supersede (s_batch_t *batch, const s_item_t *item, const uint8_t *ekey,
             size_t ekey_size, const ht_record_t *current,
             const uint8_t *current_data, size_t current_size, uint64_t old_seq)
{
    bool added;
    int rc = s_history_put (batch, current, current_data, current_size, &added);
    if (rc == 0)
        rc = s_index_record (batch, current, false);
    if (rc == 0) {
        s_count_change (batch, current, -1);
        rc = s_current_put (batch, item, ekey, ekey_size, old_seq);
    }
    return rc;
}

//  Warn when an author signed two different versions at one hlc: both
//  are kept (the digest orders them), but it means a broken or stolen key
static void
s_check_equivocation (const ht_record_t *incoming, const ht_record_t *current)
{
    if (ht_record_hlc (incoming) == ht_record_hlc (current)
    &&  memcmp (ht_record_author (incoming), ht_record_author (current),
                HT_PUBKEY_BYTES) == 0)
        zsys_warning ("store: %s/%s: one author signed two versions at one hlc",
                      ht_record_kind (incoming), ht_record_key (incoming));
}

//  Merge an admitted record with the entity's current version
static int
s_merge (s_batch_t *batch, const s_item_t *item)
{
    ht_store_t *self = batch->store;
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    size_t ekey_size = ht_store__entity_key (ht_record_kind (item->record),
                                             ht_record_key (item->record), ekey);
    ht_store_current_t found;
    int rc = ht_store__current_get (self, batch->txn, ekey, ekey_size, &found);
    if (rc == MDB_NOTFOUND) {
        batch->stats.applied++;
        return s_current_put (batch, item, ekey, ekey_size, 0);
    }
    //  The bytes move to history, and LMDB's pointers die at the next
    //  write, so take a copy first
    ht_record_t *current = NULL;
    uint8_t *current_data = rc? NULL: malloc (found.size);
    if (rc == 0 && !current_data)
        rc = ENOMEM;
    if (rc == 0) {
        memcpy (current_data, found.data, found.size);
        rc = ht_store__decode_stored (current_data, found.size, &current);
    }
    if (rc == 0) {
        int order = ht_record_compare (item->record, current);
        bool added = false;
        if (order != 0)
            s_check_equivocation (item->record, current);
        if (order > 0)
            rc = s_supersede (batch, item, ekey, ekey_size, current,
                              current_data, found.size, found.seq);
        else
        if (order < 0)
            rc = s_history_put (batch, item->record, item->encoded,
                                item->encoded_size, &added);
        if (order > 0)
            batch->stats.applied++;
        else
        if (added)
            batch->stats.historic++;
        else
            batch->stats.unchanged++;
    }
    ht_record_destroy (&current);
    free (current_data);
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

//  Write a rejected input to quarantine with its code and reason
static int
s_quarantine_put (s_batch_t *batch, const s_item_t *item, int code,
                  const char *reason)
{
    const uint8_t *data = item->data? item->data: item->encoded;
    size_t size = item->data? item->size: item->encoded_size;
    size_t origin_size = strlen (batch->origin);
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
    uint32_t code_bits = (uint32_t) (int32_t) code;
    for (int shift = 24; shift >= 0; shift -= 8)
        *cursor++ = (uint8_t) (code_bits >> shift);
    ht_store__put_be64 (cursor, batch->now_ms);
    cursor += HT_STORE_U64_BYTES;
    *cursor++ = (uint8_t) origin_size;
    memcpy (cursor, batch->origin, origin_size);
    cursor += origin_size;
    *cursor++ = (uint8_t) (reason_size >> 8);
    *cursor++ = (uint8_t) reason_size;
    memcpy (cursor, reason, reason_size);
    cursor += reason_size;
    if (size)
        memcpy (cursor, data, size);

    uint8_t id [HT_STORE_U64_BYTES];
    ht_store__put_be64 (id, ++batch->quarantine_id);
    MDB_val key = { HT_STORE_U64_BYTES, id }, value = { total, bytes };
    int rc = mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_QUARANTINE],
                      &key, &value, 0);
    free (bytes);
    batch->stats.quarantined++;
    return rc;
}

//  Decide whether a record may enter: 0 or the code to quarantine it with
static int
s_admit (s_batch_t *batch, const s_item_t *item, const char **reason)
{
    const ht_record_t *record = item->record;
    //  Nodes hold full records; redacted forms are for clients only, and
    //  one stored here would lose its withheld fields for good
    if (!ht_record_is_full (record)) {
        *reason = "a redacted record cannot be stored";
        return HT_EREDACTED;
    }
    //  The holder rule: a node keeps only what its tier is entitled to —
    //  records of its own subtree (upward flow) or shared down to it
    const char *region = batch->store->region;
    if (!ht_region_covers (region, ht_record_region (record))
    &&  !ht_region_covers (ht_record_scope (record), region)) {
        *reason = "this node does not hold records of that region and scope";
        return HT_ESCOPE;
    }
    //  The signature was checked before the transaction, in parallel
    int code = item->verified;
    *reason = item->verify_reason;
    if (code == 0)
        code = ht_record_validate (record, reason);
    //  A version from the far future would win every merge until then
    if (code == 0
    &&  ht_hlc_ms (ht_record_hlc (record)) > batch->now_ms + HT_HLC_MAX_DRIFT_MS) {
        *reason = "hlc is too far ahead of the local clock";
        code = HT_ECLOCK;
    }
    if (code == 0)
        code = ht_cert_authorize (record, batch->store->anchor, &batch->source,
                                  reason);
    return code;
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
    if (*code != 0)
        return s_quarantine_put (batch, item, *code,
                                 reason? reason: ht_strerror (*code));
    return s_merge (batch, item);
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

    MDB_cursor *cursor = NULL;
    MDB_val key, value;
    if (rc == 0)
        rc = mdb_cursor_open (batch->txn, self->dbi [HT_STORE_DB_QUARANTINE], &cursor);
    if (rc == 0) {
        rc = mdb_cursor_get (cursor, &key, &value, MDB_LAST);
        batch->quarantine_id = rc == 0 && key.mv_size == HT_STORE_U64_BYTES?
                               ht_store__get_be64 (key.mv_data): 0;
        rc = rc == MDB_NOTFOUND? 0: rc;
        mdb_cursor_close (cursor);
    }
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
        rc = s_counts_write (batch);
    if (rc == 0 && origin && origin->peer) {
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
    zsys_info ("store: map full, grown to %zu bytes", next);
    return 0;
}

//  True if origin is NULL (local) or names a peer with an epoch
static bool
s_origin_valid (const ht_origin_t *origin)
{
    if (!origin || !origin->peer)
        return true;
    size_t size = strlen (origin->peer);
    return size > 0 && size <= HT_PEER_NAME_MAX_CHARS && origin->epoch;
}

//  Apply prepared items, growing the map and retrying while it is full
static int
s_apply_items (ht_store_t *self, const s_item_t *items, size_t count,
               const ht_origin_t *origin, ht_apply_stats_t *stats, int *results)
{
    s_batch_t batch;
    memset (&batch, 0, sizeof batch);
    batch.store = self;
    batch.origin = origin && origin->peer? origin->peer: "";
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
    if (rc)
        return ht_store__error ("batch not applied", rc);
    if (stats)
        *stats = batch.stats;
    if (batch.stats.quarantined)
        zsys_warning ("store: %zu of %zu records from %s quarantined",
                      batch.stats.quarantined, count,
                      *batch.origin? batch.origin: "local writer");
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
        item->record = ht_record_decode (item->data, item->size, &item->error,
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

static void *
s_prepare_share (void *arg)
{
    s_share_t *share = (s_share_t *) arg;
    for (size_t i = 0; i < share->count; i++)
        s_item_prepare (&share->items [i]);
    return NULL;
}

//  Prepare every item, on up to S_MAX_THREADS threads (this one included)
static void
s_items_prepare (s_item_t *items, size_t count)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    size_t threads = count < S_PARALLEL_MIN_ITEMS || cores < 2? 1
                   : (size_t) (cores < S_MAX_THREADS? cores: S_MAX_THREADS);
    s_share_t shares [S_MAX_THREADS];
    pthread_t workers [S_MAX_THREADS];
    bool started [S_MAX_THREADS] = { false };
    size_t per_thread = (count + threads - 1) / threads, offset = 0;
    for (size_t t = 0; t < threads; t++) {
        shares [t].items = items + offset;
        shares [t].count = offset + per_thread <= count? per_thread: count - offset;
        offset += shares [t].count;
        //  Share 0 runs here; a thread that cannot start runs here too
        if (t > 0)
            started [t] = pthread_create (&workers [t], NULL, s_prepare_share, &shares [t]) == 0;
    }
    s_prepare_share (&shares [0]);
    for (size_t t = 1; t < threads; t++)
        if (started [t])
            pthread_join (workers [t], NULL);
        else
            s_prepare_share (&shares [t]);
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
    s_items_prepare (items, count);
    int code = s_apply_items (self, items, count, origin, stats, results);
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
    s_items_prepare (items, count);
    int code = s_apply_items (self, items, count, origin, stats, results);
    s_items_destroy (items, count);
    return code;
}
