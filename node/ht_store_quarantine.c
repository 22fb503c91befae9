//  ht_store_quarantine: rejected input, kept for inspection within bounds
//  per source, purged on request, and retried when its cause can go away
//  (the layout is in ht_store.c's top comment).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ht_store_write.h"

#define S_QUARANTINE_MAX_DATA_BYTES (64u * 1024)

//  Meta name of a quarantine source's counter ("qn" entries, "qb" bytes)
static void
s_qcount_name (const char *what, const char *source, char *name, size_t size)
{
    snprintf (name, size, "%s:%s", what, source);
}

//  Drop the oldest entries of source until it is within the store's
//  bounds again; a hostile source can only push out its own entries
static int
s_quarantine_trim (ht_store_batch_t *batch, const char *source, uint64_t *entries,
                   uint64_t *bytes)
{
    ht_store_t *self = batch->store;
    if (*entries <= self->quarantine_max_entries && *bytes <= self->quarantine_max_bytes)
        return 0;                   //  within bounds: the common case
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
int
ht_store__quarantine_count (ht_store_batch_t *batch, const char *source, int64_t change, size_t size,
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
int
ht_store__quarantine_put (ht_store_batch_t *batch, const ht_store_item_t *item, int code,
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
        rc = ht_store__quarantine_count (batch, source, 1, total, true);
    batch->stats.quarantined++;
    return rc;
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
s_purge_one (ht_store_batch_t *batch, const s_doomed_t *doomed)
{
    MDB_val key = { doomed->key_size, (void *) doomed->key };
    int rc = mdb_del (batch->txn, batch->store->dbi [HT_STORE_DB_QUARANTINE], &key, NULL);
    char source [HT_PEER_NAME_MAX_CHARS + 1];
    size_t source_size = strnlen ((const char *) doomed->key, HT_PEER_NAME_MAX_CHARS);
    memcpy (source, doomed->key, source_size);
    source [source_size] = 0;
    if (rc == 0)
        rc = ht_store__quarantine_count (batch, source, -1, doomed->size, false);
    return rc;
}

//  One purge in an open write transaction: find the matching entries,
//  then delete them (deleting under a walking cursor is fragile)
static int
s_purge_run (ht_store_batch_t *batch, int code, uint64_t before_ms, int *purged)
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
    ht_store_batch_t batch;
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
//  schema version or record format this build did not know (a newer
//  writer: the node is upgraded later)
static bool
s_retryable (int code)
{
    return code == HT_ENOCERT || code == HT_ECLOCK || code == HT_ESCHEMAVERSION
        || code == HT_EVERSION;
}

//  Is key after the retry's mark?
static bool
s_after_mark (const ht_store_t *self, const MDB_val *key)
{
    size_t common = key->mv_size < self->retry_after_size? key->mv_size: self->retry_after_size;
    int order = memcmp (key->mv_data, self->retry_after, common);
    return order > 0 || (order == 0 && key->mv_size > self->retry_after_size);
}

//  Position cursor on the first entry of this retry: after the mark the
//  last one left, or the first of all
static int
s_retry_start (ht_store_t *self, MDB_cursor *cursor, MDB_val *key, MDB_val *value)
{
    if (!self->retry_after_size)
        return mdb_cursor_get (cursor, key, value, MDB_FIRST);
    key->mv_size = self->retry_after_size;
    key->mv_data = self->retry_after;
    int rc = mdb_cursor_get (cursor, key, value, MDB_SET_RANGE);
    if (rc == 0 && !s_after_mark (self, key))
        rc = mdb_cursor_get (cursor, key, value, MDB_NEXT);
    return rc;
}

//  Collect up to max retryable entries from neighbours, in key order from
//  where the last retry stopped, round to it again: entries that keep
//  failing (a certificate that never comes) cannot keep those after them
//  from being tried, however many they are
static int
s_retry_collect (ht_store_t *self, size_t max, zlistx_t *list)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cursor = NULL;
    MDB_val key, value;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_QUARANTINE], &cursor);
    bool wrapped = !self->retry_after_size, full = false;
    if (rc == 0)
        rc = s_retry_start (self, cursor, &key, &value);
    while (rc == 0 || (rc == MDB_NOTFOUND && !wrapped)) {
        if (rc == MDB_NOTFOUND) {           //  the end: go round once
            wrapped = true;
            rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST);
            continue;
        }
        if (wrapped && self->retry_after_size && s_after_mark (self, &key))
            break;                          //  round to where this one began
        ht_store_qentry_t entry;
        //  Only a neighbour's records: a local writer was told at once
        if (!ht_store__quarantine_parse (&value, &entry) && s_retryable (entry.code)
        &&  ht_region_valid (entry.origin) && key.mv_size <= sizeof self->retry_after) {
            s_retry_t *retry = (s_retry_t *) zmalloc (sizeof (s_retry_t));
            memcpy (retry->key, key.mv_data, key.mv_size);
            retry->key_size = key.mv_size;
            retry->entry_size = value.mv_size;
            snprintf (retry->source, sizeof retry->source, "%s", entry.origin);
            retry->data = malloc (entry.size? entry.size: 1);
            memcpy (retry->data, entry.data, entry.size);
            retry->size = entry.size;
            zlistx_add_end (list, retry);
            if ((full = zlistx_size (list) >= max)) {
                memcpy (self->retry_after, key.mv_data, key.mv_size);
                self->retry_after_size = key.mv_size;
                break;
            }
        }
        rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    }
    if (!full)
        self->retry_after_size = 0;         //  all seen: from the first next time
    if (cursor)
        mdb_cursor_close (cursor);
    if (txn)
        ht_store__read_end (self, txn);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Retry the collected entries of one source in one transaction
static int
s_retry_source (ht_store_t *self, s_retry_t **retries, size_t count, size_t *stored)
{
    ht_store_item_t *items = calloc (count + 1, sizeof *items);
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
    ht_store__items_prepare (self, items, count);
    uint8_t epoch [HT_EPOCH_BYTES] = { 0 };     //  no cursor is stored
    ht_origin_t origin = { .peer = retries [0]->source, .epoch = epoch };
    ht_apply_stats_t stats = { 0 };
    int code = ht_store__apply_items (self, items, count, &origin, &stats, NULL, true);
    *stored += stats.applied + stats.unchanged + stats.historic + stats.conflicts;
    ht_store__items_destroy (items, count);
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
