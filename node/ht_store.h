//  ht_store: a node's LMDB environment.
//
//  Databases: rec (kind NUL key -> current version and local meta), seq
//  (local sequence -> kind NUL key; each entity once, at its latest
//  sequence), hist (superseded versions), idx (region and indexed-field
//  lookups), peer (per-peer epoch and cursor), quarantine (rejected input
//  with the reason), meta (epoch, region, anchor, schema version, counts).
//
//  Every batch is verified, authorized, validated, merged, indexed and its
//  peer cursor advanced in ONE write transaction: a crash leaves all of it
//  or none. Bad records go to quarantine in that same transaction and
//  never block the batch. When the map fills, the transaction is aborted,
//  the map grown, and the batch applied again from the start.
#ifndef HT_STORE_H_INCLUDED
#define HT_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ht_error.h"
#include "ht_record.h"
#include "ht_cert.h"
#include <jansson.h>

#define HT_EPOCH_BYTES 16
#define HT_STORE_TAG_BYTES 16       //  a peer's tag of the cursor it gave us
#define HT_PEER_NAME_MAX_CHARS 64
#define HT_STORE_DEFAULT_MAP_BYTES (256u * 1024 * 1024)
#define HT_STORE_QUARANTINE_ENTRIES 10000           //  per source
#define HT_STORE_QUARANTINE_BYTES (16u * 1024 * 1024)  //  per source

typedef struct _ht_store_t ht_store_t;

//  Create a new store in directory path (created if missing) for a node of
//  region, trusting anchor, with the network's pseudonym key (NULL: none,
//  for a node that never derives elder keys). Refuses (HT_EINVAL) if path
//  already holds a store. Writes a fresh random epoch.
int ht_store_create (const char *path, const char *region,
                     const uint8_t anchor [HT_PUBKEY_BYTES],
                     const uint8_t idkey [HT_IDKEY_BYTES]) HT_WUR;

//  Open an existing store; NULL with *error (HT_ENOTFOUND if path holds no
//  store, HT_EVERSION for another schema version, HT_ESTORE). map_bytes is
//  the initial map size (0: default); the map grows as needed.
ht_store_t *ht_store_open (const char *path, size_t map_bytes, int *error);

//  Close the store and set the pointer to NULL
void ht_store_destroy (ht_store_t **self_p);

//  Node identity (borrowed for the store's lifetime)
const char *ht_store_region (const ht_store_t *self);
const uint8_t *ht_store_anchor (const ht_store_t *self);
//  The pseudonym key, or NULL if the store was created without one
const uint8_t *ht_store_idkey (const ht_store_t *self);
const uint8_t *ht_store_epoch (const ht_store_t *self);
//  Current map size in bytes (grows on demand)
size_t ht_store_map_bytes (const ht_store_t *self);
//  Bytes of the map in use: pages up to the highest one written
size_t ht_store_used_bytes (const ht_store_t *self);

//  Cap the store at max_bytes (0: no cap, the default): its map never
//  grows past it, so neither does its file. Kept in the store (meta
//  "map_limit"), so every writer of this store — the node, which sets it
//  from limits/map_limit_mb when it opens the store, and hutong put
//  --store or any other tool — holds to the same cap, read at the start
//  of each batch. A write that needs more fails with HT_EFULL (store_full)
//  and writes nothing. Raising the cap works on a full store. 0 or an
//  error (HT_EFULL if the disk is full and the cap changed).
int ht_store_set_map_limit (ht_store_t *self, size_t max_bytes) HT_WUR;

//  The cap in force (0: none), as this store handle last read it
size_t ht_store_map_limit (const ht_store_t *self);

//  If the last write failed as full (HT_EFULL), what the node's status
//  says about it (caller owns): {"why": "disk" | "map_limit", "text",
//  "since_ms_ago", "refused"}; NULL if the last write fitted
json_t *ht_store_full_status (const ht_store_t *self);

//  The ingest freshness window: a local write (not an import) must carry
//  an hlc no more than behind_ms before and ahead_ms after the wall clock
//  at apply time. Kept in the store, so every writer of this store (the
//  node, hutong put --store) applies the same window. New stores get
//  HT_GATE_INGEST_BEHIND_MS / HT_GATE_INGEST_AHEAD_MS; both 0 turns the
//  window off (tests with fixed clocks), leaving the replicated rule.
int ht_store_set_ingest_window (ht_store_t *self, uint64_t behind_ms,
                                uint64_t ahead_ms) HT_WUR;

//  The node found its clock lead_ms ahead of its parent's (negative:
//  behind; 0: not known to be off) at now_ms, its wall clock: local
//  writes are also judged by the parent's clock from now on
//  (docs/security.md R15). A lead ahead is kept in the store for the
//  other writers of it (hutong put --store), which believe it for an
//  hour and only while their clock has not gone back before now_ms (a
//  clock set right steps back); a lead behind only makes a refusal say
//  why, and is not kept. Call it each heartbeat: the store writes only
//  when the lead changes, and once a minute while it lasts.
int ht_store_set_clock_lead (ht_store_t *self, int64_t lead_ms, uint64_t now_ms);

//  Decode records with the kinds of registry (NULL, the default: this
//  build's own). For tests and tools that model another release: a store
//  with an older registry refuses newer schema versions (schema_version),
//  as a node one release behind does.
void ht_store_set_registry (ht_store_t *self, const ht_registry_t *registry);

//  Log informational lines and warnings (a grown map, an equivocating
//  author) or only errors; a node sets this from its log/level. On by
//  default.
void ht_store_set_verbose (ht_store_t *self, bool verbose);

//  Bound quarantine per source (peer, "local", or a client label):
//  entries and bytes. When a source exceeds either, its oldest entries
//  are dropped and counted ("quarantine_dropped"). Defaults:
//  HT_STORE_QUARANTINE_ENTRIES and HT_STORE_QUARANTINE_BYTES.
void ht_store_set_quarantine_limits (ht_store_t *self, uint64_t max_entries,
                                     uint64_t max_bytes);

//  Remove quarantine entries with code (any if code is 1) written before
//  before_ms (any if 0). Returns the count removed, or an error.
int ht_store_quarantine_purge (ht_store_t *self, int code, uint64_t before_ms);

//  Try quarantined records from neighbours again whose cause can go away
//  — a certificate that had not arrived (no_cert), a timestamp ahead of
//  our clock (clock: ours may have been behind), a schema version this
//  build did not know (schema_version) — at most max of them (0: all).
//  Each one admitted now leaves quarantine in the same transaction and is
//  stored as if it had just come from its neighbour; the others stay as
//  they were. Returns how many were stored, or an error.
int ht_store_quarantine_retry (ht_store_t *self, size_t max);

//  A store counter: "conflicts" (versions flagged by the ownership rule),
//  "quarantine_dropped", "certgen", "wv:<kind>" (the schema version the
//  node's configuration writes the kind in, 0: the newest); 0 if never
//  written
uint64_t ht_store_counter (ht_store_t *self, const char *name);

//  Set a counter that is the node's to set ("wv:<kind>"): a writer of
//  the store (hutong put --store) then writes as the node is configured to
int ht_store_set_counter (ht_store_t *self, const char *name, uint64_t value) HT_WUR;

//  Signatures this process checked writing the store: an input whose very
//  bytes the store holds already is not checked again
uint64_t ht_store_verifications (ht_store_t *self);

//  While busy, give the store's mapped pages back at each ht_store_trim
//  whenever this process's resident memory passes bytes (0, the default:
//  never). A bulk write touches pages all over a large store, which would
//  otherwise all stay resident until it ended. Never inside a write
//  transaction: unmapping pages it still writes sends them to the disk
//  early, and writing them again then waits for the disk.
void ht_store_set_resident_limit (ht_store_t *self, size_t bytes);

//  Between transactions, if resident memory passes the limit: give the
//  mapped pages back, or, when the heap alone passes half the limit,
//  open the environment anew (which frees LMDB's page copies). True if
//  it did the latter: heap was freed, for malloc_trim to return.
bool ht_store_trim (ht_store_t *self);

//  Give back memory at rest: unmap the store's pages from this process
//  (they stay in the OS page cache and fault back in on the next read)
//  and drop the certificate cache. Call only with no transaction open.
void ht_store_release_memory (ht_store_t *self);

//  Flush lazy commits to the disk (no-op if there are none). 0 or
//  HT_ESTORE.
int ht_store_sync (ht_store_t *self);

//  Highest local sequence number written so far (reads the store, so it
//  sees other processes' writes)
uint64_t ht_store_last_seq (ht_store_t *self);

//  Where a batch came from: a peer (with the cursor it advances to) or a
//  local writer (peer NULL). A NULL origin is a local writer.
//
//  Records from a local writer enter the network here, so they face the
//  ingest freshness window (ht_store_set_ingest_window) unless import is
//  set: an operator re-importing records exported from this network,
//  which then face the rules replicated records face.
typedef struct {
    const char *peer;               //  peer name or NULL for local writes
    const uint8_t *epoch;           //  peer's store epoch (HT_EPOCH_BYTES)
    uint64_t cursor;                //  peer's sequence after this batch
    const char *source;             //  local writes: quarantine source label
                                    //  (e.g. "client:<key prefix>"), NULL:
                                    //  "local"; at most 64 characters
    uint64_t full;                  //  a full pass with peer still reaches
                                    //  to this sequence of its (0: none,
                                    //  HT_STORE_FULL_PENDING: from its
                                    //  next handshake), stored with cursor
    const uint8_t *tag;             //  the peer's tag of cursor, NULL: none
    bool import;                    //  local writes: not fresh, re-imported
    bool lazy;                      //  commit without waiting for the disk:
                                    //  it survives a crash of the process,
                                    //  not of the machine, until
                                    //  ht_store_sync (the node's audit
                                    //  records, synced within a second)
} ht_origin_t;

//  What applying a batch did
typedef struct {
    size_t applied;                 //  became the current version
    size_t unchanged;               //  this exact version was held already
    size_t historic;                //  older than current: kept in history
    size_t quarantined;             //  rejected: quarantined with reason
    size_t conflicts;               //  kept in history, flagged: its author
                                    //  may not replace the current owner
} ht_apply_stats_t;

//  Apply a batch of records in one write transaction (records are
//  borrowed). For each: verify signature, authorize (chain valid at the
//  record's hlc, not revoked, kind allowed, cert.region ⊑ scope ⊑ region),
//  validate, merge by (hlc, author), index, keep history. Rejects go to
//  quarantine. If origin has a peer, its (epoch, cursor) is stored in the
//  same transaction. results (may be NULL) receives each record's code.
//  Returns 0, or HT_EFULL (store_full) if the batch does not fit — the
//  map at its limit (ht_store_set_map_limit) or the disk full — or
//  HT_ESTORE if the transaction failed otherwise; on any error nothing of
//  the batch was written, and the store is as before. A full store takes
//  writes again as soon as there is room (no reopening).
int ht_store_apply (ht_store_t *self, ht_record_t *const *records, size_t count,
                    const ht_origin_t *origin, ht_apply_stats_t *stats,
                    int *results) HT_WUR;

//  Same for encoded records (as received from a peer): bytes that do not
//  decode are quarantined with the decoding error
int ht_store_apply_encoded (ht_store_t *self, const uint8_t *const *data,
                            const size_t *sizes, size_t count,
                            const ht_origin_t *origin, ht_apply_stats_t *stats,
                            int *results) HT_WUR;

//  One of several batches applied together (ht_store_apply_groups):
//  encoded records as for ht_store_apply_encoded, where they came from,
//  and what became of them
typedef struct {
    const uint8_t *const *data;     //  the records' bytes
    const size_t *sizes;            //  their sizes
    size_t count;                   //  how many
    const ht_origin_t *origin;      //  as for ht_store_apply (NULL: local)
    ht_apply_stats_t stats;         //  set: what applying this group did
    int *results;                   //  set if not NULL: each record's code
    int error;                      //  set: 0 if it was stored, else why
                                    //  not (as ht_store_apply returns)
} ht_store_group_t;

//  Apply several batches in one write transaction, so one commit (one
//  wait for the disk) serves them all (group commit): each group as
//  ht_store_apply_encoded applies it, in the order given, with its own
//  origin (quarantine source, peer cursor), stats and results. If that
//  transaction fails (a full store), each group is applied alone, so one
//  that does not fit fails only itself: each group's error says what
//  became of it. Returns 0 if every group was stored, else the first
//  error. The commit waits for the disk unless every group's origin is
//  lazy.
int ht_store_apply_groups (ht_store_t *self, ht_store_group_t *groups, size_t count) HT_WUR;

//  Current version of an entity; NULL with *error HT_ENOTFOUND if none.
//  The caller owns the record.
ht_record_t *ht_store_get (ht_store_t *self, const char *kind, const char *key,
                           int *error);

//  Callback for iteration: return 0 to go on, non-zero to stop. record is
//  borrowed for the call; seq is its local sequence (0 for history).
typedef int (ht_store_each_fn) (void *arg, const ht_record_t *record, uint64_t seq);

//  Current records of kind whose region lies under region_prefix ("" for
//  all), ordered by region, then by when each one's current version was
//  stored (its sequence); at most limit (0: no limit), starting after
//  after_key if not NULL. Paging: after_key is the cursor of the last
//  record a page delivered (ht_store_list_cursor), so a record that
//  changes meanwhile moves to the end of its region and comes again, and
//  none present throughout is missed; an entity key resumes after that
//  entity's current version. Returns the count, HT_ENOTFOUND if after_key
//  is neither, or an error.
int ht_store_list (ht_store_t *self, const char *kind, const char *region_prefix,
                   const char *after_key, size_t limit,
                   ht_store_each_fn *fn, void *arg);

//  Current records of kind whose indexed field equals value (for STRS
//  fields: contains value), in the order their current versions were
//  stored. Returns the count or an error.
int ht_store_find (ht_store_t *self, const char *kind, const char *field,
                   const char *value, size_t limit,
                   ht_store_each_fn *fn, void *arg);

//  Same, resuming after after_key (NULL: from the start), a cursor or an
//  entity key as ht_store_list takes them
int ht_store_find_after (ht_store_t *self, const char *kind, const char *field,
                         const char *value, const char *after_key, size_t limit,
                         ht_store_each_fn *fn, void *arg);

//  The cursor ht_store_list and ht_store_find_after resume after exactly:
//  "region:seq" of the last record a page delivered, seq as the callback
//  got it
#define HT_STORE_CURSOR_BYTES (HT_REGION_DIGITS + 1 + 20 + 1)
const char *ht_store_list_cursor (const ht_record_t *record, uint64_t seq, char *cursor,
                                  size_t size);

//  Count current records of kind under region_prefix, grouped by the
//  first digits of their region: fn gets each group's region code (its
//  first digits, zeros after) and count, in region order. Reads index
//  keys only. Returns the total (capped at INT32_MAX) or an error.
typedef void (ht_store_region_count_fn) (void *arg, const char *region, uint64_t count);
int ht_store_count_regions (ht_store_t *self, const char *kind, const char *region_prefix,
                            size_t digits, ht_store_region_count_fn *fn, void *arg);

//  Superseded versions of an entity, oldest first: legitimate ones that
//  lost the merge and conflicts (versions the ownership rule refused;
//  ht_store_conflict_of names why). Returns the count.
int ht_store_history (ht_store_t *self, const char *kind, const char *key,
                      ht_store_each_fn *fn, void *arg);

//  Why a stored version of an entity is flagged as a conflict: the
//  conflict code (HT_ENOTOWNER, HT_ENOTISSUER, HT_EFINAL, ...) or 0
int ht_store_conflict_of (ht_store_t *self, const ht_record_t *record);

//  Callback over the by-sequence log with encoded bytes (borrowed) and the
//  peer the version came from ("" for local writes)
typedef int (ht_store_change_fn) (void *arg, uint64_t seq, const uint8_t *data,
                                  size_t size, const char *origin);

//  Changes after sequence after_seq, in sequence order, at most limit.
//  Returns the count or an error.
int ht_store_changes (ht_store_t *self, uint64_t after_seq, size_t limit,
                      ht_store_change_fn *fn, void *arg);

//  The changes a node of region holder should hold (ht_region_holds),
//  not received from skip_origin (NULL: any) unless at or below
//  echo_until (a resyncing peer's full pass: ht_origin_t.full), after after_seq, in
//  sequence order, examining at most limit log entries (0: all). A
//  holder given as a 12-digit code is served through the log's routing
//  index: only the entries it may hold are examined (and counted against
//  limit), and a walk that reaches their end has examined the log up to
//  its last sequence. A holder given as a prefix ("441803") is walked
//  over the whole log, each entry's routing head filtered. Either way
//  what is skipped costs no record read. fn returns non-zero to stop
//  before the change it was given. *last_examined receives the sequence
//  up to which the log was examined (after_seq if none): the cursor to
//  hand back. Returns the count examined or an error.
int ht_store_changes_for (ht_store_t *self, uint64_t after_seq, size_t limit,
                          const char *holder, const char *skip_origin, uint64_t echo_until,
                          ht_store_change_fn *fn, void *arg, uint64_t *last_examined);

//  A peer's stored epoch, cursor, full pass (ht_origin_t.full) and the
//  cursor's tag (all zero if none; each pointer may be NULL); HT_ENOTFOUND
//  if never stored
int ht_store_peer_get (ht_store_t *self, const char *peer,
                       uint8_t epoch [HT_EPOCH_BYTES], uint64_t *cursor,
                       uint64_t *full, uint8_t tag [HT_STORE_TAG_BYTES]) HT_WUR;

//  --------------------------------------------------------------------------
//  Epochs, rollback, backup and restore (ht_store_epoch.c)
//
//  A store that was rolled back (a backup or a copy put in place) must
//  not hand out again sequence numbers its peers have passed: it takes a
//  new epoch. Opening a store takes one by itself when the data file is
//  behind the high-water mark kept beside it (hutong.hwm); a node takes
//  one when a peer pulls this epoch from past its last sequence. A new
//  epoch sets every peer's cursor to zero with a full pass pending: ask
//  the peer for all this store should hold, including what it received
//  from this store (lost here with the rollback).

//  A full pass that reaches whatever the peer holds at its next handshake
#define HT_STORE_FULL_PENDING UINT64_MAX

//  Take a new epoch now, logging why (loudly: it costs every peer a pass)
int ht_store_new_epoch (ht_store_t *self, const char *why) HT_WUR;

//  Copy the store's current epoch (safe against another thread's new epoch)
void ht_store_epoch_copy (ht_store_t *self, uint8_t epoch [HT_EPOCH_BYTES]);

//  Write a consistent, compacted copy of the store to a new file path
//  (mode 0600), while writers go on, with its manifest (region, epoch,
//  last sequence, time, record counts per kind, versions in history,
//  quarantine entries, bytes) stored inside the copy and returned in
//  *manifest_p (caller owns). HT_EIO if path exists or cannot be written,
//  HT_EFULL if the disk is full; a failed backup leaves no file.
int ht_store_backup (ht_store_t *self, const char *path, json_t **manifest_p) HT_WUR;

//  The manifest of the backup at path (caller owns); NULL with *error:
//  HT_ENOTFOUND no such file, HT_EVERSION not a backup of this format
json_t *ht_store_backup_manifest (const char *path, int *error);

//  Put the backup at path in place as the store in directory dir (no
//  process may have it open: the caller holds the node's lock) and give
//  it a new epoch. A data file already there is kept beside it, renamed
//  data.mdb.before-restore-<time> (its name in saved, if given). On
//  success *manifest_p is the backup's manifest plus "new_epoch".
int ht_store_restore (const char *path, const char *dir, json_t **manifest_p,
                      char *saved, size_t saved_size) HT_WUR;

//  Number of current records of a kind (0 for unknown kinds)
uint64_t ht_store_count (ht_store_t *self, const char *kind);

//  Callback over quarantine: reason code, text, origin, when (ms), bytes
typedef int (ht_store_quarantine_fn) (void *arg, int code, const char *reason,
                                      const char *origin, uint64_t when_ms,
                                      const uint8_t *data, size_t size);

//  Walk the quarantine oldest first. Returns the count or an error.
int ht_store_quarantine (ht_store_t *self, ht_store_quarantine_fn *fn, void *arg);

//  The certificate source this store offers ht_cert_authorize (valid while
//  the store is open)
const ht_certsource_t *ht_store_certsource (ht_store_t *self);

#endif
