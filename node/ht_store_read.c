//  ht_store_read: the read path — get, list, find, history, changes,
//  peers, counts and quarantine. Each call runs in one read transaction.
//  Also where an entity's current version is found and decoded, for the
//  write path's merge as for these.
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ht_store_private.h"
#include "ht_log.h"

//  --------------------------------------------------------------------------
//  Current versions: rec names the entity's sequence, its log entry holds
//  the record (layout 6); until an upgrade has moved it, rec holds it

//  Read an entity's current version from rec's value; MDB_CORRUPTED if
//  it is not one we wrote
static int
s_current_parse (ht_store_t *self, MDB_txn *txn, const uint8_t *ekey, size_t ekey_size,
                 const MDB_val *value, ht_store_current_t *current)
{
    const uint8_t *bytes = value->mv_data;
    if (value->mv_size == HT_STORE_U64_BYTES) {
        MDB_val key = { HT_STORE_U64_BYTES, (void *) bytes }, entry;
        ht_store_route_t *route = &current->route;
        current->seq = ht_store__get_be64 (bytes);
        int rc = mdb_get (txn, self->dbi [HT_STORE_DB_SEQ], &key, &entry);
        if (rc == 0)
            rc = ht_store__route_parse (&entry, route);
        //  The entry must be this entity's, holding its record
        if (rc == MDB_NOTFOUND
        ||  (rc == 0 && (!route->body || route->ekey_size != ekey_size
                         || memcmp (route->ekey, ekey, ekey_size))))
            rc = MDB_CORRUPTED;
        if (rc == 0)
            memcpy (current->origin, route->origin, sizeof current->origin);
        return rc;
    }
    //  Layout 5: seq(8) origin_len(1) origin encoded
    if (value->mv_size < HT_STORE_U64_BYTES + 1)
        return MDB_CORRUPTED;
    size_t origin_size = bytes [HT_STORE_U64_BYTES];
    size_t header = HT_STORE_U64_BYTES + 1 + origin_size;
    if (origin_size > HT_PEER_NAME_MAX_CHARS || value->mv_size <= header)
        return MDB_CORRUPTED;
    current->seq = ht_store__get_be64 (bytes);
    memcpy (current->origin, bytes + HT_STORE_U64_BYTES + 1, origin_size);
    current->origin [origin_size] = 0;
    memset (&current->route, 0, sizeof current->route);
    current->route.body = bytes + header;
    current->route.body_size = value->mv_size - header;
    return 0;
}

//  Find the current version of an entity; MDB_NOTFOUND if none
int
ht_store__current_get (ht_store_t *self, MDB_txn *txn, const uint8_t *ekey,
                       size_t ekey_size, ht_store_current_t *current)
{
    MDB_val key = { ekey_size, (void *) ekey }, value;
    int rc = mdb_get (txn, self->dbi [HT_STORE_DB_REC], &key, &value);
    if (rc == 0)
        rc = s_current_parse (self, txn, ekey, ekey_size, &value, current);
    return rc;
}

//  Decode stored bytes; MDB_CORRUPTED if our own store holds bad bytes
int
ht_store__decode_stored (const ht_store_t *self, const uint8_t *data, size_t size,
                         ht_record_t **record_p)
{
    const char *reason = NULL;
    int code = 0;
    *record_p = ht_record_decode_with (self->registry, data, size, &code, &reason);
    if (*record_p)
        return 0;
    ht_log_error ("store: a stored record does not decode: %s",
                  reason? reason: ht_strerror (code));
    return MDB_CORRUPTED;
}

int
ht_store__decode_body (const ht_store_t *self, const ht_store_route_t *route,
                       ht_record_t **record_p)
{
    ht_store_bytes_t bytes;
    *record_p = NULL;
    int rc = ht_store__bytes_get (route, &bytes);
    if (rc == MDB_CORRUPTED)
        ht_log_error ("store: a compact record does not rebuild");
    if (rc == 0)
        rc = ht_store__decode_stored (self, bytes.data, bytes.size, record_p);
    ht_store__bytes_done (&bytes);
    return rc;
}

//  Load and decode the current version of an entity (the caller owns it)
int
ht_store__record_load (ht_store_t *self, MDB_txn *txn, const uint8_t *ekey,
                       size_t ekey_size, ht_record_t **record_p, uint64_t *seq)
{
    ht_store_current_t current;
    int rc = ht_store__current_get (self, txn, ekey, ekey_size, &current);
    if (rc == 0)
        rc = ht_store__decode_body (self, &current.route, record_p);
    if (rc == 0 && seq)
        *seq = current.seq;
    return rc;
}

//  A walk over current records for list and find
typedef struct {
    ht_store_each_fn *fn;           //  callback, may be NULL (just count)
    void *arg;                      //  its argument
    size_t limit;                   //  at most this many, 0: no limit
    size_t count;                   //  delivered so far
    bool stop;                      //  the callback asked to stop
} s_visit_t;

ht_record_t *
ht_store_get (ht_store_t *self, const char *kind, const char *key, int *error)
{
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    size_t ekey_size = ht_store__entity_key (kind, key, ekey);
    ht_record_t *record = NULL;
    MDB_txn *txn = NULL;
    int code = HT_ENOTFOUND;
    if (ekey_size == 0)
        goto cleanup;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = ht_store__record_load (self, txn, ekey, ekey_size, &record, NULL);
    if (rc == 0)
        code = 0;
    else
    if (rc != MDB_NOTFOUND)
        code = ht_store__error ("get", rc);
cleanup:
    if (txn)
        ht_store__read_end (self, txn);
    if (error)
        *error = code;
    return record;
}

//  Deliver one current record, found through an index entry, the
//  sequence of its current version, to the visitor
static int
s_visit_indexed (ht_store_t *self, MDB_txn *txn, const char *kind,
                 const MDB_val *index_seq, s_visit_t *visit)
{
    if (index_seq->mv_size != HT_STORE_U64_BYTES)
        return MDB_CORRUPTED;
    const uint8_t *seq_bytes = (const uint8_t *) index_seq->mv_data;
    MDB_val key = { HT_STORE_U64_BYTES, (void *) seq_bytes }, entry;
    ht_store_route_t route;
    int rc = mdb_get (txn, self->dbi [HT_STORE_DB_SEQ], &key, &entry);
    if (rc == 0)
        rc = ht_store__route_parse (&entry, &route);
    //  The entry must be a current record of this kind
    size_t kind_size = strlen (kind);
    if (rc == MDB_NOTFOUND
    ||  (rc == 0 && (!route.body || route.ekey_size <= kind_size + 1
                     || memcmp (route.ekey, kind, kind_size) || route.ekey [kind_size])))
        rc = MDB_CORRUPTED;
    ht_record_t *record = NULL;
    if (rc == 0)
        rc = ht_store__decode_body (self, &route, &record);
    if (rc == 0) {
        visit->count++;
        if (visit->fn && visit->fn (visit->arg, record, ht_store__get_be64 (seq_bytes)) != 0)
            visit->stop = true;
    }
    ht_record_destroy (&record);
    return rc;
}

//  Position cursor at the first index entry at or after (start, seq):
//  start a whole key and seq the first sequence wanted under it, or, with
//  seq 0, start a key or the prefix of keys to begin at
static int
s_dup_seek (MDB_cursor *cursor, const uint8_t *start, size_t start_size, uint64_t seq,
            MDB_val *key, MDB_val *data)
{
    uint8_t seq_bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (seq_bytes, seq);
    *key = (MDB_val) { start_size, (void *) start };
    *data = (MDB_val) { HT_STORE_U64_BYTES, seq_bytes };
    int rc = seq? mdb_cursor_get (cursor, key, data, MDB_GET_BOTH_RANGE): MDB_NOTFOUND;
    if (rc != MDB_NOTFOUND)
        return rc;
    //  No such key, or none of its entries that late: the next key on
    *key = (MDB_val) { start_size, (void *) start };
    rc = mdb_cursor_get (cursor, key, data, MDB_SET_RANGE);
    if (rc == 0 && seq && key->mv_size == start_size
    &&  memcmp (key->mv_data, start, start_size) == 0)
        rc = mdb_cursor_get (cursor, key, data, MDB_NEXT_NODUP);
    return rc;
}

//  Walk index entries under prefix from (start, start_seq) (skipping
//  that entry itself if skip_start), delivering each entity to the visitor
static int
s_index_walk (ht_store_t *self, MDB_txn *txn, const char *kind,
              const uint8_t *prefix, size_t prefix_size,
              const uint8_t *start, size_t start_size, uint64_t start_seq, bool skip_start,
              s_visit_t *visit)
{
    MDB_cursor *cursor = NULL;
    MDB_val key, value;
    int rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_INDEX], &cursor);
    if (rc == 0)
        rc = s_dup_seek (cursor, start, start_size, start_seq, &key, &value);
    if (rc == 0 && skip_start && start_seq && key.mv_size == start_size
    &&  memcmp (key.mv_data, start, start_size) == 0 && value.mv_size == HT_STORE_U64_BYTES
    &&  ht_store__get_be64 (value.mv_data) == start_seq)
        rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    while (rc == 0 && ht_store__has_prefix (&key, prefix, prefix_size)
    &&     !visit->stop && (visit->limit == 0 || visit->count < visit->limit)) {
        rc = s_visit_indexed (self, txn, kind, &value, visit);
        if (rc == 0)
            rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    }
    if (cursor)
        mdb_cursor_close (cursor);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Where a page resumes: after_key is a cursor "region:seq"
//  (ht_store_list_cursor) or an entity key, which resumes after that
//  entity's current version. Sets region (may be NULL) and seq;
//  MDB_NOTFOUND if after_key is neither.
static int
s_page_resume (ht_store_t *self, MDB_txn *txn, const char *kind, const char *after_key,
               char region [HT_REGION_BYTES], uint64_t *seq)
{
    size_t size = strlen (after_key);
    const char *digits = size > HT_REGION_DIGITS? after_key + HT_REGION_DIGITS + 1: NULL;
    if (digits && size <= HT_REGION_DIGITS + 21 && *digits
    &&  after_key [HT_REGION_DIGITS] == ':'
    &&  strspn (after_key, "0123456789") == HT_REGION_DIGITS
    &&  strspn (digits, "0123456789") == strlen (digits)) {
        errno = 0;
        unsigned long long value = strtoull (digits, NULL, 10);
        if (errno || value == 0)
            return MDB_NOTFOUND;
        if (region) {
            memcpy (region, after_key, HT_REGION_DIGITS);
            region [HT_REGION_DIGITS] = 0;
        }
        *seq = value;
        return 0;
    }
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    size_t ekey_size = ht_store__entity_key (kind, after_key, ekey);
    ht_record_t *record = NULL;
    int rc = ekey_size? ht_store__record_load (self, txn, ekey, ekey_size, &record, seq)
                      : MDB_NOTFOUND;
    if (rc == 0 && region)
        snprintf (region, HT_REGION_BYTES, "%s", ht_record_region (record));
    ht_record_destroy (&record);
    return rc;
}

//  Where a page starts in an index: the key of parts, with
//  *resume_region for the one before the last if set
static void
s_page_start (const char **parts, size_t count, const char *resume_region,
              uint8_t *start, size_t *start_size)
{
    if (resume_region)
        parts [count - 2] = resume_region;
    *start_size = ht_store__join (start, HT_STORE_KEY_MAX_BYTES, parts, count);
}

//  Normalize a region prefix: "" or digits; a 12-digit code becomes its
//  prefix. 0 or HT_EREGION.
static int
s_region_prefix (const char *region_prefix, char *prefix)
{
    const char *text = region_prefix? region_prefix: "";
    size_t size = strlen (text);
    if (size > HT_REGION_DIGITS || strspn (text, "0123456789") != size)
        return HT_EREGION;
    if (size == HT_REGION_DIGITS)
        return ht_region_prefix (text, prefix) < 0? HT_EREGION: 0;
    memcpy (prefix, text, size + 1);
    return 0;
}

int
ht_store_list (ht_store_t *self, const char *kind, const char *region_prefix,
               const char *after_key, size_t limit,
               ht_store_each_fn *fn, void *arg)
{
    char region [HT_REGION_BYTES];
    if (!self || !kind || !ht_schema_kind (kind))
        return HT_EKIND;
    if (s_region_prefix (region_prefix, region) != 0)
        return HT_EREGION;
    const char *parts [] = { HT_STORE_INDEX_REGION, kind, region };
    uint8_t prefix [HT_STORE_KEY_MAX_BYTES], start [HT_STORE_KEY_MAX_BYTES];
    size_t prefix_size = ht_store__join (prefix, sizeof prefix, parts, 3);
    size_t start_size = 0;
    uint64_t seq = 0;
    s_visit_t visit = { fn, arg, limit, 0, false };
    MDB_txn *txn = NULL;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0 && after_key) {
        char resume [HT_REGION_BYTES];
        rc = s_page_resume (self, txn, kind, after_key, resume, &seq);
        const char *start_parts [] = { HT_STORE_INDEX_REGION, kind, NULL, "" };
        if (rc == 0)
            s_page_start (start_parts, 4, resume, start, &start_size);
    }
    //  A page ending outside the prefix resumes at the prefix itself
    if (rc == 0 && (start_size == 0 || memcmp (start, prefix, prefix_size) < 0)) {
        memcpy (start, prefix, prefix_size);
        start_size = prefix_size;
        seq = 0;
    }
    if (rc == 0)
        rc = s_index_walk (self, txn, kind, prefix, prefix_size, start,
                           start_size, seq, after_key != NULL, &visit);
    if (txn)
        ht_store__read_end (self, txn);
    if (rc == MDB_NOTFOUND)
        return HT_ENOTFOUND;        //  after_key names no entity
    return rc? ht_store__error ("list", rc): (int) visit.count;
}

const char *
ht_store_list_cursor (const ht_record_t *record, uint64_t seq, char *cursor, size_t size)
{
    snprintf (cursor, size, "%s:%" PRIu64, ht_record_region (record), seq);
    return cursor;
}

int
ht_store_find (ht_store_t *self, const char *kind, const char *field,
               const char *value, size_t limit,
               ht_store_each_fn *fn, void *arg)
{
    return ht_store_find_after (self, kind, field, value, NULL, limit, fn, arg);
}

int
ht_store_find_after (ht_store_t *self, const char *kind, const char *field,
                     const char *value, const char *after_key, size_t limit,
                     ht_store_each_fn *fn, void *arg)
{
    const ht_kind_t *schema = self && kind? ht_schema_kind (kind): NULL;
    if (!schema)
        return HT_EKIND;
    int index = field? ht_schema_field_index (schema, field): -1;
    if (index < 0 || !schema->fields [index].indexed || !value)
        return HT_EFIELD;
    const char *parts [] = { HT_STORE_INDEX_FIELD, kind, field, value, "" };
    uint8_t prefix [HT_STORE_KEY_MAX_BYTES];
    size_t prefix_size = ht_store__join (prefix, sizeof prefix, parts, 5);
    if (prefix_size == 0)
        return 0;                   //  too long to have been indexed
    //  Entries of one value are in the order their versions were stored:
    //  a page resumes after the sequence it ended at
    uint64_t seq = 0;
    s_visit_t visit = { fn, arg, limit, 0, false };
    MDB_txn *txn = NULL;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0 && after_key)
        rc = s_page_resume (self, txn, kind, after_key, NULL, &seq);
    if (rc == 0)
        rc = s_index_walk (self, txn, kind, prefix, prefix_size, prefix,
                           prefix_size, seq, after_key != NULL, &visit);
    if (txn)
        ht_store__read_end (self, txn);
    if (rc == MDB_NOTFOUND)
        return HT_ENOTFOUND;        //  after_key names no entity
    return rc? ht_store__error ("find", rc): (int) visit.count;
}

//  Walk the history entries under prefix, decoding each
static int
s_history_walk (ht_store_t *self, MDB_txn *txn, const uint8_t *prefix,
                size_t prefix_size, ht_store_each_fn *fn, void *arg, int *count)
{
    MDB_cursor *cursor = NULL;
    MDB_val key = { prefix_size, (void *) prefix }, value;
    int rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_HIST], &cursor);
    if (rc == 0)
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
    bool stop = false;
    while (rc == 0 && !stop && ht_store__has_prefix (&key, prefix, prefix_size)) {
        ht_record_t *record = NULL;
        rc = ht_store__decode_stored (self, value.mv_data, value.mv_size, &record);
        if (rc == 0) {
            (*count)++;
            stop = fn && fn (arg, record, 0) != 0;
            rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
        }
        ht_record_destroy (&record);
    }
    if (cursor)
        mdb_cursor_close (cursor);
    return rc == MDB_NOTFOUND? 0: rc;
}

int
ht_store_history (ht_store_t *self, const char *kind, const char *key,
                  ht_store_each_fn *fn, void *arg)
{
    uint8_t prefix [HT_STORE_ENTITY_KEY_BYTES + 1];
    size_t prefix_size = self? ht_store__entity_key (kind, key, prefix): 0;
    if (prefix_size == 0)
        return HT_EINVAL;
    prefix [prefix_size++] = 0;
    int count = 0;
    MDB_txn *txn = NULL;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = s_history_walk (self, txn, prefix, prefix_size, fn, arg, &count);
    if (txn)
        ht_store__read_end (self, txn);
    return rc? ht_store__error ("history", rc): count;
}

//  The bytes a seq entry stands for: the entity's current version (in
//  the entry, whole or compact; in rec until an upgrade moves it), or a
//  move kept in history. ht_store__bytes_done frees them.
static int
s_change_load (ht_store_t *self, MDB_txn *txn, uint64_t seq, const ht_store_route_t *route,
               ht_store_bytes_t *bytes)
{
    memset (bytes, 0, offsetof (ht_store_bytes_t, inline_bytes));
    if (route->body)
        return ht_store__bytes_get (route, bytes);
    if (route->historic) {
        uint8_t key [HT_STORE_ENTITY_KEY_BYTES + 1 + HT_STORE_HIST_SUFFIX_BYTES];
        if (route->ekey_size > HT_STORE_ENTITY_KEY_BYTES)
            return MDB_CORRUPTED;
        memcpy (key, route->ekey, route->ekey_size);
        key [route->ekey_size] = 0;
        memcpy (key + route->ekey_size + 1, route->suffix, HT_STORE_HIST_SUFFIX_BYTES);
        MDB_val k = { route->ekey_size + 1 + HT_STORE_HIST_SUFFIX_BYTES, key }, data;
        int rc = mdb_get (txn, self->dbi [HT_STORE_DB_HIST], &k, &data);
        bytes->data = rc == 0? data.mv_data: NULL;
        bytes->size = rc == 0? data.mv_size: 0;
        return rc;
    }
    ht_store_current_t current;
    int rc = ht_store__current_get (self, txn, route->ekey, route->ekey_size, &current);
    if (rc == 0 && current.seq != seq)
        rc = MDB_CORRUPTED;
    return rc? rc: ht_store__bytes_get (&current.route, bytes);
}

//  What a walk of the change log delivers
typedef struct {
    const char *holder;             //  only records a node of this region holds
    const char *skip_origin;        //  and not received from this peer
    uint64_t echo_until;            //  (but those at or below this are)
    size_t limit;                   //  examine at most this many, 0: all
    ht_store_change_fn *fn;         //  callback (may be NULL)
    void *arg;
    bool count_stopper;             //  count the entry fn stopped at
    int examined;                   //  entries examined
    uint64_t last_examined;         //  the last one's sequence
} s_walk_t;

//  Where a walk reads the log: seq in order, or, for a holder, the
//  routing index's ranges merged, which yield only entries it may hold
typedef struct {
    MDB_cursor *cursor;             //  over seq
    bool indexed;                   //  reading through route
    ht_store_route_walk_t route;    //  ... these ranges
    uint8_t seq [HT_STORE_U64_BYTES];   //  the indexed entry's key
} s_log_t;

//  The log's next entry: at or after first_seq when first
static int
s_log_next (ht_store_t *self, MDB_txn *txn, s_log_t *log, bool first,
            MDB_val *key, MDB_val *value)
{
    if (!log->indexed)
        return mdb_cursor_get (log->cursor, key, value, first? MDB_SET_RANGE: MDB_NEXT);
    uint64_t seq;
    int rc = ht_store__route_walk_next (&log->route, &seq);
    if (rc)
        return rc;
    ht_store__put_be64 (log->seq, seq);
    key->mv_size = HT_STORE_U64_BYTES;
    key->mv_data = log->seq;
    rc = mdb_get (txn, self->dbi [HT_STORE_DB_SEQ], key, value);
    return rc == MDB_NOTFOUND? MDB_CORRUPTED: rc;   //  an index key for no entry
}

//  Walk the log from first_seq, delivering each change that passes the
//  filter. A neighbour's walk reads only the entries the holder rule may
//  let through (the routing index); another holder's reads the whole log.
//  Having read to the end, either has in effect examined the whole log,
//  up to its last sequence.
static int
s_changes_walk (ht_store_t *self, MDB_txn *txn, uint64_t first_seq, s_walk_t *walk)
{
    uint8_t first [HT_STORE_U64_BYTES];
    ht_store__put_be64 (first, first_seq);
    s_log_t log;
    memset (&log, 0, sizeof log);
    log.indexed = walk->holder && strlen (walk->holder) == HT_REGION_DIGITS
               && ht_store__route_indexed (self, walk->holder);
    MDB_val key = { HT_STORE_U64_BYTES, first }, value;
    int rc = log.indexed? ht_store__route_walk_open (self, txn, walk->holder, first_seq,
                                                     &log.route)
                        : mdb_cursor_open (txn, self->dbi [HT_STORE_DB_SEQ], &log.cursor);
    if (rc == 0)
        rc = s_log_next (self, txn, &log, true, &key, &value);
    while (rc == 0 && (walk->limit == 0 || (size_t) walk->examined < walk->limit)) {
        ht_store_route_t route;
        rc = key.mv_size == HT_STORE_U64_BYTES? ht_store__route_parse (&value, &route)
                                              : MDB_CORRUPTED;
        if (rc)
            break;
        uint64_t seq = ht_store__get_be64 (key.mv_data);
        bool wanted = (!walk->holder || ht_region_holds (walk->holder, route.region, route.scope))
                   && (!walk->skip_origin || seq <= walk->echo_until
                       || !streq (route.origin, walk->skip_origin));
        ht_store_bytes_t bytes;     //  (not zeroed: its inline buffer is large)
        bytes.data = NULL;
        bytes.size = 0;
        bytes.heap = NULL;
        if (wanted)
            rc = s_change_load (self, txn, seq, &route, &bytes);
        bool stop = rc == 0 && wanted && walk->fn
                 && walk->fn (walk->arg, seq, bytes.data, bytes.size, route.origin) != 0;
        ht_store__bytes_done (&bytes);
        if (rc)
            break;
        if (stop) {
            walk->examined += walk->count_stopper;
            break;                  //  not consumed: the caller stopped before it
        }
        walk->examined++;
        walk->last_examined = seq;
        if (walk->examined % HT_STORE_RESIDENT_CHECK == 0)
            ht_store__resident_check (self);    //  a long walk maps much of the store
        rc = s_log_next (self, txn, &log, false, &key, &value);
    }
    uint64_t last_seq = 0;
    if (rc == MDB_NOTFOUND && walk->holder
    &&  ht_store__meta_get_u64 (self, txn, "last_seq", &last_seq) == 0
    &&  last_seq > walk->last_examined)
        walk->last_examined = last_seq;
    if (log.cursor)
        mdb_cursor_close (log.cursor);
    ht_store__route_walk_close (&log.route);
    return rc == MDB_NOTFOUND? 0: rc;
}

//  Run a walk in a read transaction; the count examined or an error
static int
s_changes (ht_store_t *self, uint64_t after_seq, s_walk_t *walk)
{
    if (!self)
        return HT_EINVAL;
    walk->last_examined = after_seq;
    if (after_seq == UINT64_MAX)
        return 0;
    MDB_txn *txn = NULL;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = s_changes_walk (self, txn, after_seq + 1, walk);
    if (txn)
        ht_store__read_end (self, txn);
    return rc? ht_store__error ("changes", rc): walk->examined;
}

int
ht_store_changes (ht_store_t *self, uint64_t after_seq, size_t limit,
                  ht_store_change_fn *fn, void *arg)
{
    s_walk_t walk = { NULL, NULL, 0, limit, fn, arg, true, 0, 0 };
    return s_changes (self, after_seq, &walk);
}

int
ht_store_changes_for (ht_store_t *self, uint64_t after_seq, size_t limit,
                      const char *holder, const char *skip_origin, uint64_t echo_until,
                      ht_store_change_fn *fn, void *arg, uint64_t *last_examined)
{
    s_walk_t walk = { holder, skip_origin, echo_until, limit, fn, arg, false, 0, 0 };
    int rc = s_changes (self, after_seq, &walk);
    if (last_examined)
        *last_examined = walk.last_examined;
    return rc;
}

int
ht_store_peer_get (ht_store_t *self, const char *peer,
                   uint8_t epoch [HT_EPOCH_BYTES], uint64_t *cursor, uint64_t *full,
                   uint8_t tag [HT_STORE_TAG_BYTES])
{
    if (!self || !peer || !*peer || strlen (peer) > HT_PEER_NAME_MAX_CHARS)
        return HT_EINVAL;
    MDB_txn *txn = NULL;
    MDB_val key = { strlen (peer), (void *) peer }, value;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_get (txn, self->dbi [HT_STORE_DB_PEER], &key, &value);
    if (rc == 0 && value.mv_size != HT_STORE_PEER_VALUE_BYTES
                && value.mv_size != HT_STORE_PEER_OLD_VALUE_BYTES)
        rc = MDB_CORRUPTED;
    if (rc == 0) {
        const uint8_t *bytes = (const uint8_t *) value.mv_data;
        if (epoch)
            memcpy (epoch, bytes, HT_EPOCH_BYTES);
        if (cursor)
            *cursor = ht_store__get_be64 (bytes + HT_EPOCH_BYTES);
        bool whole = value.mv_size == HT_STORE_PEER_VALUE_BYTES;
        if (full)
            *full = whole? ht_store__get_be64 (bytes + HT_EPOCH_BYTES + HT_STORE_U64_BYTES): 0;
        if (tag && whole)
            memcpy (tag, bytes + HT_EPOCH_BYTES + 2 * HT_STORE_U64_BYTES, HT_STORE_TAG_BYTES);
        else
        if (tag)
            memset (tag, 0, HT_STORE_TAG_BYTES);
    }
    if (txn)
        ht_store__read_end (self, txn);
    if (rc == MDB_NOTFOUND)
        return HT_ENOTFOUND;
    return rc? ht_store__error ("peer", rc): 0;
}

uint64_t
ht_store_count (ht_store_t *self, const char *kind)
{
    if (!self || !kind || !ht_schema_kind (kind))
        return 0;
    char name [32];
    ht_store__count_name (kind, name, sizeof name);
    uint64_t count = 0;
    MDB_txn *txn = NULL;
    if (ht_store__txn_begin (self, MDB_RDONLY, &txn) == 0) {
        if (ht_store__meta_get_u64 (self, txn, name, &count) != 0)
            count = 0;
        ht_store__read_end (self, txn);
    }
    return count;
}

int
ht_store__quarantine_parse (const MDB_val *value, ht_store_qentry_t *entry)
{
    const uint8_t *bytes = value->mv_data, *end = bytes + value->mv_size;
    if (value->mv_size < 4 + HT_STORE_U64_BYTES + 1)
        return MDB_CORRUPTED;
    entry->code = (int) (int32_t) ht_store__get_be32 (bytes);
    entry->when_ms = ht_store__get_be64 (bytes + 4);
    const uint8_t *cursor = bytes + 4 + HT_STORE_U64_BYTES;
    size_t origin_size = *cursor++;
    if (origin_size > HT_PEER_NAME_MAX_CHARS
    ||  end - cursor < (ptrdiff_t) origin_size + 2)
        return MDB_CORRUPTED;
    memcpy (entry->origin, cursor, origin_size);
    entry->origin [origin_size] = 0;
    cursor += origin_size;
    size_t reason_size = (size_t) ht_be_get (cursor, 2);
    cursor += 2;
    if (reason_size > HT_STORE_REASON_MAX_BYTES || end - cursor < (ptrdiff_t) reason_size)
        return MDB_CORRUPTED;
    memcpy (entry->reason, cursor, reason_size);
    entry->reason [reason_size] = 0;
    cursor += reason_size;
    entry->data = cursor;
    entry->size = (size_t) (end - cursor);
    return 0;
}

//  Parse a quarantine entry and hand it to fn; MDB_CORRUPTED if malformed
static int
s_quarantine_visit (const MDB_val *value, ht_store_quarantine_fn *fn,
                    void *arg, bool *stop)
{
    ht_store_qentry_t entry;
    int rc = ht_store__quarantine_parse (value, &entry);
    if (rc == 0)
        *stop = fn && fn (arg, entry.code, entry.reason, entry.origin, entry.when_ms,
                          entry.data, entry.size) != 0;
    return rc;
}

int
ht_store_quarantine (ht_store_t *self, ht_store_quarantine_fn *fn, void *arg)
{
    if (!self)
        return HT_EINVAL;
    MDB_txn *txn = NULL;
    MDB_cursor *cursor = NULL;
    MDB_val key, value;
    int count = 0;
    bool stop = false;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_QUARANTINE], &cursor);
    if (rc == 0)
        rc = mdb_cursor_get (cursor, &key, &value, MDB_FIRST);
    while (rc == 0 && !stop) {
        rc = s_quarantine_visit (&value, fn, arg, &stop);
        if (rc == 0) {
            count++;
            rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
        }
    }
    if (cursor)
        mdb_cursor_close (cursor);
    if (txn)
        ht_store__read_end (self, txn);
    return rc && rc != MDB_NOTFOUND? ht_store__error ("quarantine", rc): count;
}

int
ht_store_count_regions (ht_store_t *self, const char *kind, const char *region_prefix,
                        size_t digits, ht_store_region_count_fn *fn, void *arg)
{
    char region [HT_REGION_BYTES];
    if (!self || !kind || !ht_schema_kind (kind))
        return HT_EKIND;
    if (s_region_prefix (region_prefix, region) != 0 || digits > HT_REGION_DIGITS)
        return HT_EREGION;
    const char *parts [] = { HT_STORE_INDEX_REGION, kind, region };
    uint8_t prefix [HT_STORE_KEY_MAX_BYTES];
    size_t prefix_size = ht_store__join (prefix, sizeof prefix, parts, 3);
    //  Index keys are "R NUL kind NUL region NUL": the region starts after
    //  the second NUL, and each key's count of sequences is its region's
    //  records, so counting reads a key per region, never records
    size_t region_at = 2 + strlen (kind) + 1;
    MDB_txn *txn = NULL;
    MDB_cursor *cursor = NULL;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return ht_store__error ("count", rc);
    rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_INDEX], &cursor);
    MDB_val key = { prefix_size, prefix }, value;
    if (rc == 0)
        rc = mdb_cursor_get (cursor, &key, &value, MDB_SET_RANGE);
    char group [HT_REGION_BYTES] = "";
    uint64_t count = 0, total = 0;
    while (rc == 0 && ht_store__has_prefix (&key, prefix, prefix_size)
    &&     key.mv_size > region_at + HT_REGION_DIGITS) {
        const char *code = (const char *) key.mv_data + region_at;
        if (count && memcmp (code, group, digits) != 0) {
            fn (arg, group, count);
            count = 0;
        }
        if (count == 0) {
            //  The group's region code: its first digits, zeros after
            memset (group, '0', HT_REGION_DIGITS);
            memcpy (group, code, digits);
            group [HT_REGION_DIGITS] = 0;
        }
        //  A key's entries are its region's records
        size_t entries = 0;
        rc = mdb_cursor_count (cursor, &entries);
        count += entries;
        total += entries;
        if (rc == 0)
            rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT_NODUP);
    }
    if (count)
        fn (arg, group, count);
    if (cursor)
        mdb_cursor_close (cursor);
    ht_store__read_end (self, txn);
    if (rc && rc != MDB_NOTFOUND)
        return ht_store__error ("count", rc);
    return total > INT32_MAX? INT32_MAX: (int) total;
}
