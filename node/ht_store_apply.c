//  ht_store_apply: the write path. A batch is admitted, merged, indexed
//  and its peer cursor stored in one write transaction (the design is in
//  ht_store.c's top comment). The ownership rule is ht_store_merge.c's,
//  quarantine ht_store_quarantine.c's.
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ht_store_write.h"
#include "ht_log.h"
#include "ht_hlc.h"

#define S_PARALLEL_MIN_ITEMS 64     //  smaller batches verify on one thread
#define S_MAX_THREADS 4             //  the verifier pool's threads and this one
#define S_BATCH_ROOTS 64            //  batch signatures remembered per apply
//  s_batch_begin found the map larger than the store's cap (another
//  writer changed it): not an LMDB code, which are all below -30000
#define S_MAP_OVER_LIMIT (-1)


//  --------------------------------------------------------------------------
//  Indexes

//  Index keys are their parts joined (ht_store__join); each holds the
//  sequences of the entities' current versions under it as sorted
//  duplicates, so the entries of one region or value are in the order
//  they were written, a batch of new records appends to each group
//  instead of touching a page per entry, and the key is stored once,
//  not with each sequence
int
ht_store__dup_put (MDB_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t key_size,
                   uint64_t seq, bool add)
{
    uint8_t seq_bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (seq_bytes, seq);
    MDB_val k = { key_size, (void *) key }, data = { HT_STORE_U64_BYTES, seq_bytes };
    if (!add) {
        int rc = mdb_del (txn, dbi, &k, &data);
        return rc == MDB_NOTFOUND? 0: rc;
    }
    //  A new version's sequence is past every other under its key: it is
    //  appended, and a full page of sequences splits at its end rather
    //  than in half (pages stay full, not half empty). LMDB refuses it
    //  (MDB_KEYEXIST) if it is not the last, and then it is put as any.
    int rc = mdb_put (txn, dbi, &k, &data, MDB_APPENDDUP);
    if (rc == MDB_KEYEXIST)
        rc = mdb_put (txn, dbi, &k, &data, 0);
    return rc == MDB_KEYEXIST? 0: rc;
}

//  Add or remove one index entry
static int
s_index_key (ht_store_t *self, MDB_txn *txn, const uint8_t *key, size_t key_size,
             uint64_t seq, bool add)
{
    return ht_store__dup_put (txn, self->dbi [HT_STORE_DB_INDEX], key, key_size, seq, add);
}

//  Add or remove the field index entry "F kind field value seq"
static int
s_index_value (ht_store_t *self, MDB_txn *txn, const ht_record_t *record,
               const char *field, const char *value, uint64_t seq, bool add)
{
    const char *parts [] = { HT_STORE_INDEX_FIELD, ht_record_kind (record), field, value, "" };
    uint8_t key [HT_STORE_KEY_MAX_BYTES];
    size_t key_size = ht_store__join (key, sizeof key, parts, 5);
    //  A value too long for a key is not findable; that beats failing
    //  the batch over one long text, and schema fields that are indexed
    //  are short codes and names
    if (key_size == 0)
        return 0;
    return s_index_key (self, txn, key, key_size, seq, add);
}

//  Add or remove the index entries of one field of a record
static int
s_index_field (ht_store_t *self, MDB_txn *txn, const ht_record_t *record,
               const ht_field_t *field, uint64_t seq, bool add)
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
                rc = s_index_value (self, txn, record, field->name, item, seq, add);
        }
    }
    if (value)
        rc = s_index_value (self, txn, record, field->name, value, seq, add);
    return rc;
}

int
ht_store__index_record (ht_store_t *self, MDB_txn *txn, const ht_record_t *record,
                        uint64_t seq, bool add)
{
    if (ht_record_deleted (record))
        return 0;
    const char *parts [] = {
        HT_STORE_INDEX_REGION, ht_record_kind (record), ht_record_region (record), ""
    };
    uint8_t key [HT_STORE_KEY_MAX_BYTES];
    size_t key_size = ht_store__join (key, sizeof key, parts, 4);
    int rc = key_size? s_index_key (self, txn, key, key_size, seq, add): MDB_BAD_VALSIZE;
    const ht_kind_t *schema = ht_record_schema (record);
    for (size_t i = 0; rc == 0 && i < schema->field_count; i++)
        if (schema->fields [i].indexed)
            rc = s_index_field (self, txn, record, &schema->fields [i], seq, add);
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
void
ht_store__count_change (ht_store_batch_t *batch, const ht_record_t *record, int64_t change)
{
    size_t index = s_kind_index (ht_record_kind (record));
    if (!ht_record_deleted (record) && index < batch->kind_count)
        batch->count_delta [index] += change;
}

//  Write record as the entity's current version at a new sequence,
//  retiring old_seq (0 if none) so the entity appears once in seq
int
ht_store__current_put (ht_store_batch_t *batch, const ht_store_item_t *item, const uint8_t *ekey,
               size_t ekey_size, uint64_t old_seq)
{
    //  rec names the sequence; the log entry holds the routing head (what
    //  a PULL needs to decide) and the record, so serving reads it once
    uint8_t *entry = malloc (HT_STORE_ROUTE_MAX_BYTES + item->encoded_size);
    if (!entry)
        return ENOMEM;
    uint64_t seq = ++batch->last_seq;
    uint8_t seq_bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (seq_bytes, seq);
    MDB_val key = { ekey_size, (void *) ekey }, value = { HT_STORE_U64_BYTES, seq_bytes };
    int rc = mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_REC], &key, &value, 0);
    size_t entry_size = ht_store__route_build (item->record, batch->origin, ekey, ekey_size,
                                               NULL, item->encoded, item->encoded_size, entry);
    if (rc == 0)
        rc = ht_store__log_put (batch->store, batch->txn, seq, entry, entry_size, true);
    free (entry);
    if (rc == 0 && old_seq)
        rc = ht_store__log_del (batch->store, batch->txn, old_seq);
    if (rc == 0)
        rc = ht_store__index_record (batch->store, batch->txn, item->record, seq, true);
    if (rc == 0)
        rc = ht_store__certs_changed (batch->store, batch->txn, item->record);
    ht_store__count_change (batch, item->record, 1);
    return rc;
}

//  Certsource callback bound to a batch's write transaction
static int
s_batch_cert (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
              ht_cert_t *cert, uint8_t issuer [HT_PUBKEY_BYTES])
{
    ht_store_batch_t *batch = (ht_store_batch_t *) ctx;
    return ht_store__lookup_cert (batch->store, batch->txn, pubkey, cert, issuer,
                                  &batch->fatal);
}

//  Certsource callback bound to a batch's write transaction
static int
s_batch_revocation (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
                    uint64_t *revoked_at_ms)
{
    ht_store_batch_t *batch = (ht_store_batch_t *) ctx;
    return ht_store__lookup_revocation (batch->store, batch->txn, pubkey,
                                        revoked_at_ms, &batch->fatal);
}


//  --------------------------------------------------------------------------
//  Quarantine and admission

//  Decide whether a record may enter: 0 or the code to quarantine it with
static int
s_admit (ht_store_batch_t *batch, const ht_store_item_t *item, const char **reason)
{
    //  The signature was checked before the transaction, in parallel
    return ht_gate_admit_record (&batch->gate, item->record, batch->path,
                                 item->verified, item->verify_reason,
                                 item->validated? item->valid: HT_GATE_VALIDATE,
                                 item->valid_reason, reason);
}

//  An item retried from quarantine is stored (or held) at last: out of
//  quarantine, in the same transaction
static int
s_batch_unquarantine (ht_store_batch_t *batch, const ht_store_item_t *item)
{
    if (!item->qkey)
        return 0;
    MDB_val key = { item->qkey_size, (void *) item->qkey };
    int rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_QUARANTINE], &key, NULL);
    if (rc == 0)
        rc = ht_store__quarantine_count (batch, batch->qsource, -1, item->qsize, false);
    return rc;
}

//  Admit and merge one item, or quarantine it. Returns an LMDB error
//  (which aborts the batch) and sets *code to the item's result.
static int
s_batch_item (ht_store_batch_t *batch, const ht_store_item_t *item, int *code)
{
    const char *reason = item->reason;
    *code = item->error;
    ht_store_item_t late;
    if (*code == 0 && item->held) {
        bool held;
        int rc = ht_store__held (batch->store, batch->txn, item, &held, code, NULL);
        if (rc == 0 && held) {
            batch->stats.unchanged++;
            return s_batch_unquarantine (batch, item);
        }
        if (rc)
            return rc;
        //  Gone since it was looked up (another writer's move): checked
        //  here after all, as any other input
        late = *item;
        late.held = false;
        late.validated = false;
        late.verified = ht_record_verify (late.record, &late.verify_reason);
        __atomic_add_fetch (&batch->store->verifications, 1, __ATOMIC_RELAXED);
        item = &late;
    }
    if (*code == 0)
        *code = s_admit (batch, item, &reason);
    if (batch->fatal)
        return batch->fatal;
    if (*code != 0 && batch->retry)
        return 0;                   //  still refused: its entry stays
    if (*code != 0)
        return ht_store__quarantine_put (batch, item, *code,
                                 reason? reason: ht_strerror (*code));
    int rc = ht_store__merge (batch, item, code);
    if (rc == 0)
        rc = s_batch_unquarantine (batch, item);
    return batch->fatal? batch->fatal: rc;
}

//  --------------------------------------------------------------------------
//  Batches

//  Preparing items. Every batch is prepared in chunks: the verifier
//  threads take chunks in order while this thread applies, item by item,
//  what is prepared, so decoding and checking signatures runs beside the
//  merge and its commit instead of before them. Whichever thread needs a
//  chunk that nobody took yet prepares it. A chunk is decoded, digested,
//  checked for bytes the store holds already, then the signatures and
//  schema of what is not held are checked. The held check reads through
//  one read transaction begun before the write transaction (it sees the
//  store as it was before the batch), one thread at a time. A small batch
//  is one chunk, on this thread.
#define S_PREP_CHUNK_MIN 32         //  items a chunk, at least
#define S_PREP_CHUNK_MAX 256        //  and at most

typedef struct _s_prep_t {
    ht_store_t *store;
    ht_store_item_t *items;         //  all items, in apply order
    size_t count;                   //  how many
    size_t chunk;                   //  items a chunk
    size_t chunks;                  //  how many chunks
    pthread_mutex_t lock;           //  guards next and done
    pthread_cond_t ready;           //  a chunk was prepared
    size_t next;                    //  first chunk nobody took
    bool *done;                     //  per chunk: prepared
    bool one_done;                  //  done, for a batch of one chunk
    bool started;                   //  the verifier threads take chunks
    pthread_mutex_t held_lock;      //  one thread at a time in held_txn
    MDB_txn *held_txn;              //  for the held check, or NULL
    ht_record_roots_t *roots;       //  batch roots checked, all threads'
                                    //  (NULL: none remembered)
    void *args [S_MAX_THREADS];     //  the verifier threads' shares
} s_prep_t;

static void s_item_prepare (ht_store_item_t *item);
static void s_item_verify (ht_store_item_t *item, ht_record_roots_t *roots);
static bool s_item_unverified (const ht_store_item_t *item);
static void s_items_held (ht_store_t *self, MDB_txn *txn, ht_store_item_t *items,
                          size_t count);

//  Prepare one chunk (on whichever thread took it)
static void
s_prep_chunk (s_prep_t *prep, size_t chunk)
{
    ht_store_item_t *items = prep->items + chunk * prep->chunk;
    size_t count = prep->count - chunk * prep->chunk;
    if (count > prep->chunk)
        count = prep->chunk;
    for (size_t i = 0; i < count; i++) {
        items [i].registry = prep->store->registry;
        s_item_prepare (&items [i]);
    }
    pthread_mutex_lock (&prep->held_lock);
    if (prep->held_txn)
        s_items_held (prep->store, prep->held_txn, items, count);
    pthread_mutex_unlock (&prep->held_lock);
    uint64_t unverified = 0;
    for (size_t i = 0; i < count; i++) {
        unverified += s_item_unverified (&items [i]);
        s_item_verify (&items [i], prep->roots);
    }
    __atomic_add_fetch (&prep->store->verifications, unverified, __ATOMIC_RELAXED);
}

//  Take the first chunk nobody took and prepare it; false if none is left
static bool
s_prep_take (s_prep_t *prep)
{
    pthread_mutex_lock (&prep->lock);
    size_t chunk = prep->next < prep->chunks? prep->next++: prep->chunks;
    pthread_mutex_unlock (&prep->lock);
    if (chunk == prep->chunks)
        return false;
    s_prep_chunk (prep, chunk);
    pthread_mutex_lock (&prep->lock);
    prep->done [chunk] = true;
    pthread_cond_broadcast (&prep->ready);
    pthread_mutex_unlock (&prep->lock);
    return true;
}

//  A verifier thread's share: chunks until none is left
static void
s_prep_worker (void *arg)
{
    while (s_prep_take ((s_prep_t *) arg))
        ;
}

//  Return once the item at index is prepared, preparing chunks here
//  while the one it is in is not taken yet
static void
s_prep_ensure (s_prep_t *prep, size_t index)
{
    size_t chunk = index / prep->chunk;
    pthread_mutex_lock (&prep->lock);
    while (!prep->done [chunk]) {
        if (prep->next <= chunk) {
            pthread_mutex_unlock (&prep->lock);
            s_prep_take (prep);
            pthread_mutex_lock (&prep->lock);
        }
        else
            pthread_cond_wait (&prep->ready, &prep->lock);
    }
    pthread_mutex_unlock (&prep->lock);
}

//  Every item prepared, and the read transaction ended (before the map
//  may move: it holds the map lock shared)
static void
s_prep_finish (s_prep_t *prep)
{
    for (size_t chunk = 0; chunk < prep->chunks; chunk++)
        s_prep_ensure (prep, chunk * prep->chunk);
    pthread_mutex_lock (&prep->held_lock);
    if (prep->held_txn)
        ht_store__read_end (prep->store, prep->held_txn);
    prep->held_txn = NULL;
    pthread_mutex_unlock (&prep->held_lock);
}

//  Begin preparing count items: chunks for the verifier threads and this
//  one, or one chunk for a small batch (or out of memory)
static void
s_prep_begin (ht_store_t *self, ht_store_item_t *items, size_t count, s_prep_t *prep)
{
    size_t workers = ht_pool_size (self->verifiers);
    if (workers > S_MAX_THREADS - 1)
        workers = S_MAX_THREADS - 1;
    //  About two chunks a thread, so none waits long for the last
    bool parallel = count >= S_PARALLEL_MIN_ITEMS && workers > 0;
    size_t chunk = parallel? count / (2 * (workers + 1)): count;
    if (parallel && chunk < S_PREP_CHUNK_MIN)
        chunk = S_PREP_CHUNK_MIN;
    if (parallel && chunk > S_PREP_CHUNK_MAX)
        chunk = S_PREP_CHUNK_MAX;
    *prep = (s_prep_t) { .store = self, .items = items, .count = count,
                         .chunk = chunk? chunk: 1, .chunks = chunk? (count + chunk - 1) / chunk: 0 };
    prep->done = prep->chunks > 1? calloc (prep->chunks, sizeof (bool)): NULL;
    if (!prep->done) {              //  one chunk (or no memory for more)
        prep->chunk = count? count: 1;
        prep->chunks = count? 1: 0;
        prep->done = &prep->one_done;
    }
    prep->roots = ht_record_roots_new (S_BATCH_ROOTS);
    pthread_mutex_init (&prep->lock, NULL);
    pthread_cond_init (&prep->ready, NULL);
    pthread_mutex_init (&prep->held_lock, NULL);
    //  Without it every item is simply verified
    if (count == 0 || ht_store__txn_begin (self, MDB_RDONLY, &prep->held_txn) != 0)
        prep->held_txn = NULL;
    if (prep->chunks > 1) {
        if (workers > prep->chunks - 1)
            workers = prep->chunks - 1;
        for (size_t i = 0; i < workers; i++)
            prep->args [i] = prep;
        ht_pool_start (self->verifiers, s_prep_worker, prep->args, workers);
        prep->started = true;
    }
}

//  Every item prepared; the verifier threads are done with prep
static void
s_prep_end (s_prep_t *prep)
{
    s_prep_finish (prep);
    if (prep->started)
        ht_pool_wait (prep->store->verifiers);
    ht_record_roots_destroy (&prep->roots);
    pthread_cond_destroy (&prep->ready);
    pthread_mutex_destroy (&prep->lock);
    pthread_mutex_destroy (&prep->held_lock);
    if (prep->done != &prep->one_done)
        free (prep->done);
}

//  Begin an attempt: write txn, cache check, counters
static int
s_batch_begin (ht_store_batch_t *batch)
{
    ht_store_t *self = batch->store;
    memset (&batch->stats, 0, sizeof batch->stats);
    memset (batch->count_delta, 0, batch->kind_count * sizeof (int64_t));
    batch->fatal = 0;
    batch->now_ms = ht_hlc_wall_ms ();
    zhashx_destroy (&batch->merged);
    batch->merged = zhashx_new ();  //  none (no memory): every merge loads
    int rc = ht_store__txn_begin (self, 0, &batch->txn);
    if (rc == 0)
        rc = ht_store__cache_sync (self, batch->txn);
    if (rc == 0)
        rc = ht_store__meta_get_u64 (self, batch->txn, "last_seq", &batch->last_seq);
    //  The cap every writer of this store holds to: the node's, which
    //  the node writes here if it could not when it set it (a full disk)
    uint64_t limit = 0;
    if (rc == 0)
        rc = ht_store__meta_get_u64 (self, batch->txn, "map_limit", &limit);
    if (rc == 0 && self->map_limit_set && limit != self->map_limit)
        rc = ht_store__meta_put_u64 (self, batch->txn, "map_limit", self->map_limit);
    else
    if (rc == 0)
        self->map_limit = (size_t) limit;
    if (rc == 0 && self->map_limit && ht_store_map_bytes (self) > self->map_limit
    &&  ht_store_used_bytes (self) < ht_store_map_bytes (self))
        rc = S_MAP_OVER_LIMIT;

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
        .now_ms = batch->now_ms, .ingest_behind_ms = behind, .ingest_ahead_ms = ahead,
        .clock_lead_ms = rc == 0? ht_store__clock_lead (self, batch->txn, batch->now_ms): 0
    };
    return rc;
}

//  Where the next items come from: the name their versions are stored
//  under, the gate's path and the quarantine source
static void
s_span_begin (ht_store_batch_t *batch, const ht_origin_t *origin)
{
    memset (&batch->stats, 0, sizeof batch->stats);
    batch->origin = origin && origin->peer? origin->peer: "";
    batch->path = origin && origin->peer? HT_GATE_REPLICATED
                : origin && origin->import? HT_GATE_IMPORT: HT_GATE_INGEST;
    batch->qsource = *batch->origin? batch->origin
                   : origin && origin->source && *origin->source? origin->source: "local";
}

//  A peer's items are in: its cursor moves in the same transaction
static int
s_span_end (ht_store_batch_t *batch, const ht_origin_t *origin)
{
    if (!origin || !origin->peer || batch->retry)
        return 0;
    uint8_t bytes [HT_STORE_PEER_VALUE_BYTES];
    memcpy (bytes, origin->epoch, HT_EPOCH_BYTES);
    ht_store__put_be64 (bytes + HT_EPOCH_BYTES, origin->cursor);
    ht_store__put_be64 (bytes + HT_EPOCH_BYTES + HT_STORE_U64_BYTES, origin->full);
    uint8_t *tag = bytes + HT_EPOCH_BYTES + 2 * HT_STORE_U64_BYTES;
    if (origin->tag)
        memcpy (tag, origin->tag, HT_STORE_TAG_BYTES);
    else
        memset (tag, 0, HT_STORE_TAG_BYTES);
    MDB_val key = { strlen (origin->peer), (void *) origin->peer };
    MDB_val value = { sizeof bytes, bytes };
    return mdb_put (batch->txn, batch->store->dbi [HT_STORE_DB_PEER], &key, &value, 0);
}

//  Add this batch's count changes to the per-kind counts
static int
s_counts_write (ht_store_batch_t *batch)
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

//  Finish an attempt: sequence, counts, commit (lazy: without waiting
//  for the disk)
static int
s_batch_end (ht_store_batch_t *batch, bool lazy)
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
    //  The epoch as this transaction sees it (another process may have
    //  taken a new one since we opened the store), for the mark
    uint8_t epoch [HT_EPOCH_BYTES];
    if (rc == 0) {
        MDB_val value;
        rc = ht_store__meta_get (self, batch->txn, "epoch", &value);
        if (rc == 0 && value.mv_size != HT_EPOCH_BYTES)
            rc = MDB_CORRUPTED;
        if (rc == 0)
            memcpy (epoch, value.mv_data, HT_EPOCH_BYTES);
    }
    if (rc == 0) {
        //  A lazy batch is committed to the map (it survives a crash of
        //  this process) without waiting for the disk; ht_store_sync, or
        //  the next durable commit, flushes it
        if (lazy)
            mdb_env_set_flags (self->env, MDB_NOSYNC, 1);
        rc = mdb_txn_commit (batch->txn);
        if (lazy) {
            mdb_env_set_flags (self->env, MDB_NOSYNC, 0);
            self->unsynced = true;
        }
        batch->txn = NULL;          //  freed by commit, even on failure
        if (rc == 0)
            ht_store__hwm_write (self, epoch, batch->last_seq);
    }
    return rc;
}

//  One attempt at a whole batch (its spans in order); an LMDB error means
//  nothing was written
static int
s_batch_run (ht_store_batch_t *batch, const ht_store_span_t *spans, size_t span_count)
{
    int rc = s_batch_begin (batch);
    bool lazy = span_count > 0;
    size_t done = 0;
    for (size_t span = 0; rc == 0 && span < span_count; span++) {
        const ht_store_span_t *run = &spans [span];
        s_span_begin (batch, run->origin);
        for (size_t i = 0; rc == 0 && i < run->count; i++) {
            int code;
            if (batch->prep)
                s_prep_ensure (batch->prep, done);
            rc = s_batch_item (batch, &run->items [i], &code);
            if (run->results)
                run->results [i] = code;
            //  Each random lookup maps a whole block of the file around the
            //  page it reads (the kernel's fault-around): a large batch on a
            //  large store would map the whole store
            if (++done % HT_STORE_RESIDENT_CHECK == 0)
                ht_store__resident_check (batch->store);
        }
        if (rc == 0)
            rc = s_span_end (batch, run->origin);
        if (run->stats)
            *run->stats = batch->stats;
        lazy = lazy && run->origin && run->origin->lazy;
    }
    if (rc == 0)
        rc = s_batch_end (batch, lazy);
    if (batch->txn)
        mdb_txn_abort (batch->txn);
    batch->txn = NULL;
    zhashx_destroy (&batch->merged);
    if (rc != 0)
        ht_store__cache_forget (batch->store);
    return rc;
}

//  Double the map (up to the limit); 0 or -1 if it cannot grow
int
ht_store__map_grow (ht_store_t *self)
{
    size_t current = ht_store_map_bytes (self);
    size_t next = current <= SIZE_MAX / 2? current * 2: SIZE_MAX;
    if (self->map_limit && next > self->map_limit)
        next = self->map_limit;
    if (next <= current)
        return -1;                  //  the caller says why: ht_store__write_error
    int rc = ht_store__map_resize (self, next);
    if (rc) {
        ht_log_error ("store: cannot grow map to %zu bytes: %s", next, mdb_strerror (rc));
        return -1;
    }
    if (self->verbose)
        ht_log_info ("store: map full, grown to %zu bytes", next);
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
int
ht_store__apply_items (ht_store_t *self, const ht_store_item_t *items, size_t count,
               const ht_origin_t *origin, ht_apply_stats_t *stats, int *results,
               bool retry)
{
    ht_store_span_t span = { items, count, origin, stats, results };
    return ht_store__apply_spans (self, &span, 1, retry);
}

//  Apply spans as ht_store__apply_spans does, their items still being
//  prepared by prep (NULL: prepared)
static int
s_apply_spans (ht_store_t *self, const ht_store_span_t *spans, size_t span_count,
               bool retry, s_prep_t *prep)
{
    ht_store_batch_t batch;
    memset (&batch, 0, sizeof batch);
    batch.store = self;
    batch.retry = retry;
    batch.prep = prep;
    batch.source.cert = s_batch_cert;
    batch.source.revocation = s_batch_revocation;
    batch.source.ctx = &batch;
    batch.kind_count = ht_schema_kind_count ();
    batch.count_delta = calloc (batch.kind_count + 1, sizeof (int64_t));
    if (!batch.count_delta)
        return HT_ENOMEM;
    int rc, code = 0;
    bool refitted = false;
    for (;;) {
        rc = s_batch_run (&batch, spans, span_count);
        //  The map may move now: the held check's read transaction ends
        if (rc && batch.prep) {
            s_prep_finish (batch.prep);
            batch.prep = NULL;
        }
        //  Another writer left the map past the cap: fit it, once
        if (rc == S_MAP_OVER_LIMIT && !refitted) {
            refitted = true;
            if ((code = ht_store__map_fit (self)) == 0)
                continue;
        }
        if (rc != MDB_MAP_FULL || ht_store__map_grow (self) != 0)
            break;
    }
    free (batch.count_delta);
    //  Nothing was written: no span did anything
    for (size_t span = 0; (rc || code) && span < span_count; span++)
        if (spans [span].stats)
            memset (spans [span].stats, 0, sizeof (ht_apply_stats_t));
    if (code)
        return code;                //  logged by ht_store__map_fit
    if (rc == S_MAP_OVER_LIMIT)
        rc = MDB_MAP_FULL;
    //  A batch that does not fit (the map at its cap, or the disk full)
    //  is the one failure a writer can act on: store_full
    if (rc)
        return ht_store__write_error (self, "batch not applied", rc);
    ht_store__write_ok (self);
    //  What was quarantined is the caller's to report (stats and results):
    //  a node logs it at its configured level, hutong put per line
    return 0;
}

int
ht_store__apply_spans (ht_store_t *self, const ht_store_span_t *spans, size_t span_count,
                       bool retry)
{
    return s_apply_spans (self, spans, span_count, retry, NULL);
}

//  Free what preparing items allocated
void
ht_store__items_destroy (ht_store_item_t *items, size_t count)
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
static void s_item_encode (ht_store_item_t *item);

//  Make an item ready for the transaction: decode it (if it came as bytes)
//  and encode it. Touches nothing shared, so items are prepared on several
//  threads at once.
static void
s_item_prepare (ht_store_item_t *item)
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
    //  The digest, here on several threads, before the held check and
    //  the verify that need it (the record remembers it)
    uint8_t digest [HT_DIGEST_BYTES];
    if (item->error == 0 && item->record && ht_record_digest (item->record, digest))
        digest [0] = 0;             //  no digest: verify says why
}

//  Does an item need its signature checked? Verification guards against
//  what others signed; a record this process just signed (hutong put) is
//  known good, and one whose very bytes we hold was checked when stored
static bool
s_item_unverified (const ht_store_item_t *item)
{
    return item->error == 0 && !item->held && !ht_record_signed_here (item->record);
}

//  Check an item's signature: most of what a batch costs
//  (records signed in one batch share a root: the threads check its
//  signature once)
static void
s_item_verify (ht_store_item_t *item, ht_record_roots_t *roots)
{
    if (s_item_unverified (item))
        item->verified = ht_record_verify_with (item->record, roots, &item->verify_reason);
    //  Validation needs nothing but the record: done here, on the
    //  verifier threads, it leaves the write transaction (which runs
    //  alone) only what needs the store
    if (item->error == 0 && !item->held && item->verified == HT_OK) {
        item->valid = ht_record_validate (item->record, &item->valid_reason);
        item->validated = true;
    }
}

//  Mark the items whose very bytes the store holds: a batch sent again
//  (a PULL repeated across a reconnect, a full pass, a file put twice)
//  costs a lookup per record, not a signature check. A read error only
//  means they are all verified.
static void
s_items_held (ht_store_t *self, MDB_txn *txn, ht_store_item_t *items, size_t count)
{
    uint64_t snapshot = (uint64_t) mdb_txn_id (txn);
    for (size_t i = 0; i < count; i++) {
        int code;
        bool absent = false;
        if (ht_store__held (self, txn, &items [i], &items [i].held, &code, &absent) != 0) {
            items [i].held = false;
            break;
        }
        items [i].unknown_at = absent? snapshot: 0;
        if (i % HT_STORE_RESIDENT_CHECK == HT_STORE_RESIDENT_CHECK - 1)
            ht_store__resident_check (self);
    }
}

//  Prepare every item: decode and encode, find those already held, check
//  the signatures of the others and validate them by their schema
void
ht_store__items_prepare (ht_store_t *self, ht_store_item_t *items, size_t count)
{
    s_prep_t prep;
    s_prep_begin (self, items, count, &prep);
    s_prep_end (&prep);
}

static void
s_item_encode (ht_store_item_t *item)
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
    ht_store_item_t *items = calloc (count + 1, sizeof *items);
    if (!items)
        return HT_ENOMEM;
    for (size_t i = 0; i < count; i++)
        items [i].record = records [i];
    s_prep_t prep;
    s_prep_begin (self, items, count, &prep);
    ht_store_span_t span = { items, count, origin, stats, results };
    int code = s_apply_spans (self, &span, 1, false, &prep);
    s_prep_end (&prep);
    ht_store__items_destroy (items, count);
    return code;
}

int
ht_store_apply_groups (ht_store_t *self, ht_store_group_t *groups, size_t count)
{
    if (!self || (count && !groups))
        return HT_EINVAL;
    //  Until it is applied, no group is stored
    for (size_t group = 0; group < count; group++) {
        groups [group].error = HT_EINVAL;
        memset (&groups [group].stats, 0, sizeof groups [group].stats);
    }
    size_t total = 0;
    for (size_t group = 0; group < count; group++) {
        const ht_store_group_t *input = &groups [group];
        if ((input->count && (!input->data || !input->sizes)) || !s_origin_valid (input->origin))
            return HT_EINVAL;
        for (size_t i = 0; i < input->count; i++)
            if (!input->data [i] && input->sizes [i])
                return HT_EINVAL;
        total += input->count;
    }
    ht_store_item_t *items = calloc (total + 1, sizeof *items);
    ht_store_span_t *spans = calloc (count + 1, sizeof *spans);
    if (!items || !spans) {
        free (items);
        free (spans);
        for (size_t group = 0; group < count; group++)
            groups [group].error = HT_ENOMEM;
        return HT_ENOMEM;
    }
    size_t next = 0;
    for (size_t group = 0; group < count; group++) {
        ht_store_group_t *input = &groups [group];
        spans [group] = (ht_store_span_t) { items + next, input->count, input->origin,
                                            &input->stats, input->results };
        for (size_t i = 0; i < input->count; i++, next++) {
            items [next].data = input->data [i];
            items [next].size = input->sizes [i];
            items [next].from_bytes = true;
        }
    }
    //  Prepared together: the verifier threads share all of it, while
    //  this thread applies what is prepared
    s_prep_t prep;
    s_prep_begin (self, items, total, &prep);
    int code = s_apply_spans (self, spans, count, false, &prep);
    s_prep_end (&prep);
    for (size_t group = 0; group < count; group++)
        groups [group].error = code;
    //  One group that does not fit must not fail the others: alone, each
    //  is stored or refused on its own
    if (code && count > 1) {
        code = 0;
        for (size_t group = 0; group < count; group++) {
            groups [group].error = ht_store__apply_spans (self, &spans [group], 1, false);
            if (!code)
                code = groups [group].error;
        }
    }
    ht_store__items_destroy (items, total);
    free (spans);
    return code;
}

int
ht_store_apply_encoded (ht_store_t *self, const uint8_t *const *data,
                        const size_t *sizes, size_t count,
                        const ht_origin_t *origin, ht_apply_stats_t *stats,
                        int *results)
{
    ht_store_group_t group = { data, sizes, count, origin, { 0 }, results, 0 };
    int code = ht_store_apply_groups (self, &group, 1);
    if (stats)
        *stats = group.stats;
    return code;
}
