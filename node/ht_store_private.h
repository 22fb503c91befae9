//  ht_store_private: the store's layout and helpers, shared by ht_store.c
//  (environment, meta, create and open), ht_store_certs.c (certificate
//  source and cache), the write path (ht_store_apply.c, ht_store_merge.c,
//  ht_store_quarantine.c, which also share ht_store_write.h),
//  ht_store_route.c (the change log's entries, routing index and layout
//  upgrades) and ht_store_read.c (the read path, and finding an entity's
//  current version). Not public.
#ifndef HT_STORE_PRIVATE_H_INCLUDED
#define HT_STORE_PRIVATE_H_INCLUDED

#include <pthread.h>
#include <string.h>
#include <czmq.h>
#include <lmdb.h>
#include "ht_store.h"
#include "ht_codec.h"
#include "ht_pool.h"

#define HT_STORE_KEY_MAX_BYTES 511  //  LMDB's default maximum key size
#define HT_STORE_ENTITY_KEY_BYTES (HT_KIND_MAX_CHARS + 1 + HT_KEY_MAX_CHARS)
#define HT_STORE_U64_BYTES 8        //  integers are 8 bytes big-endian
//  A peer's entry: its epoch, our cursor into its log, how far a full
//  pass (ht_origin_t.full) still reaches, and the cursor's tag; entries
//  written before full passes existed have the first two items only
#define HT_STORE_PEER_VALUE_BYTES (HT_EPOCH_BYTES + 2 * HT_STORE_U64_BYTES + HT_STORE_TAG_BYTES)
#define HT_STORE_PEER_OLD_VALUE_BYTES (HT_EPOCH_BYTES + HT_STORE_U64_BYTES)
#define HT_STORE_REASON_MAX_BYTES 255   //  longer reason texts are cut

//  The named databases (the layout is in ht_store.c's top comment)
typedef enum {
    HT_STORE_DB_REC, HT_STORE_DB_SEQ, HT_STORE_DB_HIST, HT_STORE_DB_IDX,
    HT_STORE_DB_PEER, HT_STORE_DB_QUARANTINE, HT_STORE_DB_META,
    HT_STORE_DB_ROUTE, HT_STORE_DB_INDEX, HT_STORE_DB_COUNT
} ht_store_db_t;
//  The first of the databases a key of which holds many sequences (LMDB
//  sorted duplicates of 8 bytes): route and index, the rest after it
#define HT_STORE_DB_DUPS HT_STORE_DB_ROUTE
#define HT_STORE_DUP_FLAGS (MDB_DUPSORT | MDB_DUPFIXED)

struct _ht_store_t {
    MDB_env *env;                       //  the LMDB environment
    MDB_dbi dbi [HT_STORE_DB_COUNT];    //  named databases, by ht_store_db_t
    char region [HT_REGION_BYTES];      //  this node's region code
    char route_parent [HT_REGION_BYTES];    //  its parent's code, "" if none
    size_t route_parent_cut;            //  ... the length of its prefix
    uint8_t anchor [HT_PUBKEY_BYTES];   //  trust anchor (city root key)
    uint8_t idkey [HT_IDKEY_BYTES];     //  network pseudonym key (secret)
    bool has_idkey;                     //  idkey is set: the store holds one
    uint8_t epoch [HT_EPOCH_BYTES];     //  this store's epoch id
    size_t map_limit;                   //  cap on map growth, 0: none (meta
                                        //  "map_limit", read at each batch)
    bool map_limit_set;                 //  ht_store_set_map_limit set it here:
                                        //  this handle's cap is the store's
    int full;                           //  why the last write could not fit:
                                        //  0 it fitted, else HT_STORE_FULL_*
    int full_errno;                     //  ... the system error (disk full)
    int64_t full_since_ms;              //  ... since when (wall clock)
    uint64_t full_refusals;             //  writes refused since then
    uint64_t quarantine_max_entries;    //  per source
    uint64_t quarantine_max_bytes;      //  per source
    bool verbose;                       //  log info and warnings (errors always)
    ht_pool_t *verifiers;               //  threads that check signatures
    uint64_t verifications;             //  signatures checked (atomic)
    size_t resident_limit;              //  ht_store_set_resident_limit, 0: none
    const ht_registry_t *registry;      //  the kinds records decode with
                                        //  (NULL: this build's own)
    zhashx_t *certs;                    //  hex pubkey -> s_cert_entry_t
    uint64_t certs_gen;                 //  meta certgen the cache reflects
    ht_certsource_t source;             //  certs through own read txns
    bool unsynced;                      //  a lazy commit awaits ht_store_sync
    int hwm_fd;                         //  the high-water mark file: -1 not
                                        //  open yet, -2 cannot be
    uint8_t retry_after [HT_PEER_NAME_MAX_CHARS + 1 + HT_STORE_U64_BYTES];
                                        //  the quarantine entry the last retry
    size_t retry_after_size;            //  ... stopped at (0: none)
    int64_t clock_lead_ms;              //  ht_store_set_clock_lead, if live
    bool clock_lead_live;               //  ... set by a node running on it
    int64_t clock_lead_kept;            //  the lead kept in meta for other writers
    uint64_t clock_lead_kept_ms;        //  ... read then; 0: not written yet
    pthread_rwlock_t map_lock;          //  read txns shared, remaps exclusive:
                                        //  readers in other threads (the
                                        //  node's query reader) never see
                                        //  the map move under them
};

//  A seq entry's value: the routing head of the change log, region(12)
//  scope(12) flags(1) origin_len(1) origin, then
//    current version (layout 6): ekey_len(1), the entity key (kind NUL
//      key), then the record's encoded bytes (flag HT_STORE_ROUTE_BODY);
//    historic version: the entity key, then the version's history key
//      suffix (hlc, author, digest); its bytes are in hist;
//    current version of layout 5 (while an upgrade moves records into
//      the log): the entity key; the bytes are in rec.
//  Serving a PULL applies the holder rule and echo suppression from the
//  head, and sends the body that follows it: one read per record sent.
#define HT_STORE_ROUTE_BYTES (2 * HT_REGION_DIGITS + 2)
#define HT_STORE_ROUTE_HISTORIC 1       //  flags: a version kept in history
#define HT_STORE_ROUTE_BODY 2           //  flags: the record follows the head
#define HT_STORE_ROUTE_COMPACT 4        //  ... compact (ht_store_body.c; layout 10)
#define HT_STORE_HIST_SUFFIX_BYTES (HT_STORE_U64_BYTES + HT_PUBKEY_BYTES + HT_DIGEST_BYTES)
typedef struct {
    char region [HT_REGION_BYTES];                  //  the record's region
    char scope [HT_REGION_BYTES];                   //  and scope
    bool historic;                                  //  a history version
    char origin [HT_PEER_NAME_MAX_CHARS + 1];       //  peer, "" if local
    const uint8_t *ekey;                            //  entity key (borrowed)
    size_t ekey_size;                               //  its size
    const uint8_t *suffix;                          //  historic: hist suffix
    const uint8_t *body;                            //  current: the record's
    size_t body_size;                               //  bytes (NULL: in rec)
    bool compact;                                   //  ... compact: see below
} ht_store_route_t;

//  The routing head (ht_store_route.c). Build a seq value for record into
//  route (at least HT_STORE_ROUTE_MAX_BYTES + body_size): a historic one
//  with suffix, a current one with body (suffix NULL); its size
#define HT_STORE_ROUTE_MAX_BYTES (HT_STORE_ROUTE_BYTES + HT_PEER_NAME_MAX_CHARS + 1 \
                                  + HT_STORE_ENTITY_KEY_BYTES + HT_STORE_HIST_SUFFIX_BYTES)
size_t ht_store__route_build (const ht_record_t *record, const char *origin,
                              const uint8_t *ekey, size_t ekey_size,
                              const uint8_t *suffix, const uint8_t *body,
                              size_t body_size, uint8_t *route);

//  Parse a seq value; MDB_CORRUPTED if it is not one
int ht_store__route_parse (const MDB_val *value, ht_store_route_t *route);

//  Compact bodies (ht_store_body.c): a current record in its log entry
//  without what the head already holds (kind, key, region, scope) and
//  without its items' names. Compact head's record body (size bytes,
//  canonical) into out (at least size bytes); its size, or 0 if it is
//  not a record this form gives back exactly (then it is stored whole)
size_t ht_store__body_compact (const ht_store_route_t *head, const uint8_t *body,
                               size_t size, uint8_t *out);

//  A record's bytes as signed, from a head and its body, compact or
//  whole: data points into the entry (whole) or into the inline buffer
//  or heap (rebuilt); ht_store__bytes_done frees it
#define HT_STORE_BYTES_INLINE 2048
typedef struct {
    const uint8_t *data;
    size_t size;
    uint8_t *heap;
    uint8_t inline_bytes [HT_STORE_BYTES_INLINE];
} ht_store_bytes_t;
//  0, MDB_CORRUPTED (a compact body that does not rebuild) or ENOMEM
int ht_store__bytes_get (const ht_store_route_t *route, ht_store_bytes_t *bytes);
void ht_store__bytes_done (ht_store_bytes_t *bytes);

//  The change log's routing index (ht_store_route.c): every seq entry is
//  written and deleted through these, which keep its index entries
#define HT_STORE_ROUTE_KEY_BYTES (1 + HT_REGION_DIGITS + 1)
#define HT_STORE_ROUTE_RANGES 6         //  a holder's ranges: 1 down, <= 5 up
//  fresh: seq was just taken past every sequence given out, so no entry
//  can be there to replace and it goes at the end of the log
int ht_store__log_put (ht_store_t *self, MDB_txn *txn, uint64_t seq, const uint8_t *route,
                       size_t route_size, bool fresh);
//  Delete seq's entry and its index entries; MDB_NOTFOUND if there is none
int ht_store__log_del (ht_store_t *self, MDB_txn *txn, uint64_t seq);

//  A merge of the index ranges a holder's entries are in, in sequence order
typedef struct {
    MDB_cursor *cursors [HT_STORE_ROUTE_RANGES];    //  one per range
    uint8_t prefixes [HT_STORE_ROUTE_RANGES][HT_STORE_ROUTE_KEY_BYTES];
    size_t prefix_sizes [HT_STORE_ROUTE_RANGES];    //  kind prefix NUL
    uint64_t next [HT_STORE_ROUTE_RANGES];          //  each range's next seq
    bool live [HT_STORE_ROUTE_RANGES];              //  ... if it has one
    size_t count;                                   //  ranges in use
} ht_store_route_walk_t;

//  Open the walk of holder's (a 12-digit code) entries from first_seq on
//  (a holder that is not a valid code holds none); close it even on error
int ht_store__route_walk_open (ht_store_t *self, MDB_txn *txn, const char *holder,
                               uint64_t first_seq, ht_store_route_walk_t *walk);
//  The next sequence the holder may hold; MDB_NOTFOUND past the last
int ht_store__route_walk_next (ht_store_route_walk_t *walk, uint64_t *seq);
void ht_store__route_walk_close (ht_store_route_walk_t *walk);

//  Store layouts (meta "format"; bump when the layout changes): 4 records
//  carry their schema version, but the log has no routing index; 5 keeps
//  current records in rec rather than in their log entries; 6 orders the
//  region and field indexes by entity key ("r" and "f" entries ending in
//  the key); 7 has a "d" routing key for every group-end cut of a
//  record's region; 8 keeps one key per index entry, the sequence at its
//  end (routing keys in "route", region and field keys in idx); 9 keeps
//  each routing, region or field key once, its sequences under it as
//  sorted duplicates, in "routes" and "index"; 10 is today's (current
//  records in their log entries compact, HT_STORE_ROUTE_COMPACT; entries
//  written before stay whole)
#define HT_STORE_LAYOUT_UNROUTED 4
#define HT_STORE_LAYOUT_RECORDS_IN_REC 5
#define HT_STORE_LAYOUT_INDEX_BY_KEY 6
#define HT_STORE_LAYOUT_EVERY_CUT 7
#define HT_STORE_LAYOUT_KEY_PER_ENTRY 8
#define HT_STORE_LAYOUT_DUPS 9
#define HT_STORE_LAYOUT 10
//  Bring a store of an earlier layout (from) to HT_STORE_LAYOUT, in
//  chunks that each commit, so a crash goes on where it stopped: index
//  the log (from 4), move current records into it (from 4 or 5), index
//  current records by sequence (from 4, 5 or 6), index the log again by
//  its neighbours' cuts (from 4 to 7), then move both indexes into
//  databases of sorted duplicates (from 4 to 8); 0 or an error code (logged)
int ht_store__layout_upgrade (ht_store_t *self, uint64_t from);
//  Add (or remove) seq under key in a database of sorted duplicates; an
//  entry already there (or, removing, not there) is no error
int ht_store__dup_put (MDB_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t key_size,
                       uint64_t seq, bool add);
//  Open every named database in txn, creating those not there yet (an
//  upgrade's new ones)
int ht_store__dbis_create (ht_store_t *self, MDB_txn *txn);

//  Learn which routing keys this store's region needs (its parent's
//  code); once its region is known
void ht_store__route_setup (ht_store_t *self);
//  True if a holder's entries are all in the routing index: the store's
//  parent or one of its children, the neighbours that pull from it.
//  Any other holder's walk reads the whole log.
bool ht_store__route_indexed (const ht_store_t *self, const char *holder);

//  The region and field indexes (idx): "R" NUL kind NUL region NUL seq(8)
//  and "F" NUL kind NUL field NUL value NUL seq(8), each naming the
//  sequence of an entity's current version, so the entries of one region
//  or value lie in the order they were written
#define HT_STORE_INDEX_REGION "R"
#define HT_STORE_INDEX_FIELD "F"
//  Add or remove all index entries of a live record (tombstones have
//  none), its current version at seq
int ht_store__index_record (ht_store_t *self, MDB_txn *txn, const ht_record_t *record,
                            uint64_t seq, bool add);

//  Past the resident limit (ht_store_set_resident_limit), drop this
//  process's mapping of the store; safe at any time, even inside a
//  transaction: the pages stay in the page cache, and the next touch
//  maps them again. A batch calls it every HT_STORE_RESIDENT_CHECK items.
//  The heap's copies of written pages wait for ht_store_trim.
#define HT_STORE_RESIDENT_CHECK 64
void ht_store__resident_check (ht_store_t *self);

//  Double the map (up to the limit); 0 or -1 if it cannot grow (logged)
int ht_store__map_grow (ht_store_t *self);

//  Read the cap (meta "map_limit") and keep the map within it: at most
//  the cap, or what the file uses if that is more; 0 or an error (logged)
int ht_store__map_fit (ht_store_t *self);

//  Why a write did not fit (ht_store_t.full)
#define HT_STORE_FULL_MAP 1             //  the map reached its limit
#define HT_STORE_FULL_DISK 2            //  the file system is full

//  A write transaction failed with rc (an LMDB or system error): if it
//  did not fit — the map at its limit, or the disk full (ENOSPC, EDQUOT,
//  EFBIG, or a short write, which LMDB reports as EIO, on a file system
//  with next to no space left) — note it (logged when the store becomes
//  full, not at every refusal) and return HT_EFULL; else log as
//  ht_store__error does and return its code
int ht_store__write_error (ht_store_t *self, const char *what, int rc);

//  A write transaction committed: if the store was full, say it is not
void ht_store__write_ok (ht_store_t *self);

//  A quarantine entry, parsed (data borrowed from the txn)
typedef struct {
    int code;                                       //  why it was refused
    uint64_t when_ms;                               //  when
    char origin [HT_PEER_NAME_MAX_CHARS + 1];       //  its source
    char reason [HT_STORE_REASON_MAX_BYTES + 1];    //  the reason's text
    const uint8_t *data;                            //  the input's bytes
    size_t size;                                    //  their size
} ht_store_qentry_t;

//  Parse a quarantine value; MDB_CORRUPTED if it is not one
int ht_store__quarantine_parse (const MDB_val *value, ht_store_qentry_t *entry);

//  A current version as stored (borrowed from the txn): its head and
//  body, whole or compact (ht_store__bytes_get gives its bytes)
typedef struct {
    uint64_t seq;                                   //  local sequence
    char origin [HT_PEER_NAME_MAX_CHARS + 1];       //  peer, "" if local
    ht_store_route_t route;                         //  body, body_size, compact
} ht_store_current_t;

//  Integers in keys and values are big-endian (ht_codec's one codec), so
//  LMDB's bytewise key order is numeric order
static inline void
ht_store__put_be64 (uint8_t *out, uint64_t value)
{
    ht_be_put (out, value, HT_STORE_U64_BYTES);
}

static inline uint64_t
ht_store__get_be64 (const uint8_t *in)
{
    return ht_be_get (in, HT_STORE_U64_BYTES);
}

static inline void
ht_store__put_be32 (uint8_t *out, uint32_t value)
{
    ht_be_put (out, value, 4);
}

static inline uint32_t
ht_store__get_be32 (const uint8_t *in)
{
    return (uint32_t) ht_be_get (in, 4);
}

//  Join parts with NUL separators into buf; the length, or 0 if it does
//  not fit. No part may contain NUL, which keeps every key unambiguous.
static inline size_t
ht_store__join (uint8_t *buf, size_t size, const char *const *parts, size_t count)
{
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        size_t part = strlen (parts [i]);
        if (used + part + (i > 0) > size)
            return 0;
        if (i > 0)
            buf [used++] = 0;
        memcpy (buf + used, parts [i], part);
        used += part;
    }
    return used;
}

//  Build the entity key "kind NUL key"; 0 if kind or key is too long
static inline size_t
ht_store__entity_key (const char *kind, const char *key, uint8_t *buf)
{
    if (!kind || !key || strlen (kind) > HT_KIND_MAX_CHARS
    ||  strlen (key) > HT_KEY_MAX_CHARS)
        return 0;
    const char *parts [] = { kind, key };
    return ht_store__join (buf, HT_STORE_ENTITY_KEY_BYTES, parts, 2);
}

//  True if a key begins with prefix
static inline bool
ht_store__has_prefix (const MDB_val *key, const uint8_t *prefix, size_t prefix_size)
{
    return key->mv_size >= prefix_size
        && memcmp (key->mv_data, prefix, prefix_size) == 0;
}

//  Begin a transaction, adopting a map another process has grown. A read
//  transaction (MDB_RDONLY) holds the map lock shared: end it with
//  ht_store__read_end, never mdb_txn_abort
int ht_store__txn_begin (ht_store_t *self, unsigned flags, MDB_txn **txn_p);
void ht_store__read_end (ht_store_t *self, MDB_txn *txn);

//  Change the map size (0: adopt the file's) while no thread reads
int ht_store__map_resize (ht_store_t *self, size_t bytes);

//  Map an LMDB or system error to HT_ESTORE (or HT_ENOMEM), logging it;
//  a write transaction's error goes to ht_store__write_error instead
int ht_store__error (const char *what, int rc);

//  Meta items: raw (borrowed from txn; MDB_NOTFOUND if absent), and
//  8-byte counters (absent counters read as 0)
int ht_store__meta_get (ht_store_t *self, MDB_txn *txn, const char *name, MDB_val *value);
//  How far this store's node found its clock ahead of its parent's, for a
//  batch at now_ms (ht_store_set_clock_lead; 0: not known to be)
int64_t ht_store__clock_lead (ht_store_t *self, MDB_txn *txn, uint64_t now_ms);
int ht_store__meta_put (ht_store_t *self, MDB_txn *txn, const char *name,
                        const void *data, size_t size);
int ht_store__meta_get_u64 (ht_store_t *self, MDB_txn *txn, const char *name,
                            uint64_t *number);
int ht_store__meta_put_u64 (ht_store_t *self, MDB_txn *txn, const char *name,
                            uint64_t number);

//  Meta name of a kind's live-record count
void ht_store__count_name (const char *kind, char *name, size_t size);

//  Find an entity's current version (bytes borrowed from txn); LMDB
//  errors, MDB_NOTFOUND if none, MDB_CORRUPTED if the value is not ours
int ht_store__current_get (ht_store_t *self, MDB_txn *txn, const uint8_t *ekey,
                           size_t ekey_size, ht_store_current_t *current);

//  Decode stored bytes (caller owns the record); MDB_CORRUPTED if they
//  do not decode
int ht_store__decode_stored (const ht_store_t *self, const uint8_t *data, size_t size,
                             ht_record_t **record_p);
//  The same for a head's body, whole or compact
int ht_store__decode_body (const ht_store_t *self, const ht_store_route_t *route,
                           ht_record_t **record_p);

//  Load and decode an entity's current version, and its seq if not NULL
int ht_store__record_load (ht_store_t *self, MDB_txn *txn, const uint8_t *ekey,
                           size_t ekey_size, ht_record_t **record_p, uint64_t *seq);

//  Set up the cert cache and the store's read-txn certsource; HT_ENOMEM
int ht_store__certs_init (ht_store_t *self);

//  A record became current: if it is a cert or revocation, purge the
//  cache and bump meta "certgen" in txn so every process's cache does
int ht_store__certs_changed (ht_store_t *self, MDB_txn *txn, const ht_record_t *record);

//  Purge the cert cache if certs changed since it was filled (in any
//  process); an LMDB error if meta cannot be read
int ht_store__cache_sync (ht_store_t *self, MDB_txn *txn);

//  Forget every cached cert: after an abort nothing cached can be trusted
void ht_store__cache_forget (ht_store_t *self);

//  Cert and revocation lookups through the cache within txn: 0 or
//  HT_ENOTFOUND; LMDB errors go to *fatal
int ht_store__lookup_cert (ht_store_t *self, MDB_txn *txn, const uint8_t *pubkey,
                           ht_cert_t *cert, uint8_t *issuer, int *fatal);
int ht_store__lookup_revocation (ht_store_t *self, MDB_txn *txn, const uint8_t *pubkey,
                                 uint64_t *revoked_at_ms, int *fatal);

//  The high-water mark (ht_store_epoch.c): note a commit's epoch and last
//  sequence; close the file; on open, compare it with the data file and
//  take a new epoch if the data went back
void ht_store__hwm_write (ht_store_t *self, const uint8_t epoch [HT_EPOCH_BYTES], uint64_t seq);
void ht_store__hwm_close (ht_store_t *self);
int ht_store__rollback_check (ht_store_t *self);

#endif
