//  ht_store: a node's LMDB environment (the contract is in ht_store.h).
//
//  Layout. One environment per node; the path is a directory holding
//  data.mdb and lock.mdb (mode 0600: records are personal data and meta
//  holds the network's pseudonym key). Integers in keys and values are
//  8-byte big-endian, so LMDB's bytewise key order is numeric order.
//
//    rec         kind NUL key -> seq(8)          (its current version's)
//    seq         seq(8) -> region(12) scope(12) flags(1) origin_len(1)
//                          origin, then for a current version
//                          ekey_len(1) kind NUL key encoded, for a move
//                          kept in history kind NUL key hlc author digest
//                          (each entity once, at its latest sequence,
//                          plus its legitimate moves kept in history: the
//                          change log, each entry its routing head and,
//                          for a current version, the record)
//    hist        kind NUL key NUL hlc(8) author(32) digest(32) -> encoded
//    idx         "x" NUL <hist key> -> code(4)   (a version the ownership
//                                                 rule refused: why)
//                "m" NUL <hist key> -> seq(8)    (a move in history that
//                                                 stays in the change log)
//    index       "R" NUL kind NUL region NUL -> seq(8) ...   (live only;
//                "F" NUL kind NUL field NUL value NUL -> seq(8) ...
//                                              the seqs of the current
//                                              versions, sorted duplicates)
//    routes      "d" prefix NUL -> seq(8) ...  (the cuts of the entries'
//                                              region prefixes the store's
//                                              neighbours pull by)
//                "u" prefix NUL -> seq(8) ...  (the entries' scope prefix)
//                (the routing index of seq: ht_store_route.c; sorted
//                duplicates, like index)
//    peer        name -> epoch(16) cursor(8) full(8)  (ht_origin_t.full)
//    quarantine  source NUL id(8) -> code(4) when_ms(8) origin_len(1)
//                         origin reason_len(2) reason bytes
//    meta        "format", "schema_version", "epoch", "region", "anchor",
//                "idkey", "last_seq", "certgen", "count:<kind>",
//                "conflicts", "ingest_window" (behind(8) ahead(8) ms),
//                "map_limit" (bytes, 0: none; the node's limits/map_limit_mb),
//                "clock_lead" (lead(8) ms, read at(8) ms: ht_store_set_clock_lead),
//                "quarantine_id", "quarantine_dropped",
//                "epoch_changes", "epoch_since", "epoch_why" (new epochs),
//                "backup" (in a backup only: its manifest, JSON),
//                "qn:<source>", "qb:<source>" (entries, bytes per source),
//                "route_build" (while an upgrade indexes the log),
//                "record_move" (while an upgrade moves records into it),
//                "index_build" (while an upgrade indexes records by seq),
//                "route_cut" (while an upgrade indexes the log anew by
//                the store's neighbours' cuts), "dup_build" (while an
//                upgrade moves both indexes into sorted duplicates)
//
//  Routing index. Serving a PULL must cost what is sent, not the log's
//  length: a city's log holds every elder of its counties, and almost
//  none of them flows down to any one child. So each seq entry also has
//  keys in routes, ordered by (prefix, seq), that the holder rule can find
//  it by: "d" under the cuts of its region's prefix that the store's
//  neighbours pull by, and "u" under its scope's prefix. A holder of
//  prefix n holds what is under "d" n, and under "u" c for each cut c of
//  n: a PULL merges at most six ranges from its cursor on. Only the
//  store's parent and children pull from it (the gate admits no other
//  node), so the "d" cuts are at most two a record: the parent's prefix
//  length, and the prefix of the child the region lies under (a city's
//  store: 44 and 441802, not 4418, 441802001 or 441802001001). Layout 7
//  filed each entry under every cut, five for a community's record: half
//  the routing index, and a tenth of the store, no PULL ever read. A
//  walk for any other holder reads the whole log, filtered. Seq entries
//  are written and deleted only through ht_store__log_put and
//  ht_store__log_del, which keep their keys. A store of layout 4
//  (without the index) is indexed once, when it is opened; one of layout
//  7 or before has its index dropped and built anew.
//
//  Records in the log. A current version's bytes follow its routing head
//  in seq, and rec only names the sequence: serving a PULL reads one entry
//  per record sent, and the entries a batch writes are appended at the
//  log's end rather than scattered through a tree keyed by entity. A
//  record of about a KiB fills a quarter of a page, so the pages read per
//  record sent do not depend on how many other entries lie between the
//  child's (a layout-5 store, with the bytes in rec, read twice as much
//  per record from a log ten times longer). Finding an entity costs two
//  lookups, rec then seq. A store of layout 5 has its records moved into
//  the log once, when it is opened; until then each reader takes them
//  from wherever they are.
//
//  Region and field index by sequence. The entries of one region, or of
//  one field's value, are ordered by the sequence of each entity's
//  current version, not by its key: keys are pseudonyms, spread evenly,
//  so a batch of new elders ordered by key would dirty (copy and write)
//  a page of every group for nearly every entry, five or six pages per
//  elder once the groups outgrow a batch; ordered by sequence, a batch
//  appends to each group's last page. A changed entity's entries move to
//  its new sequence (deleting the old costs what it did). Listings and
//  lookups come in that order, and their cursors name the sequence
//  (ht_store_list). A store of layout 6 (entries ending in the entity
//  key, "r" and "f") is indexed anew when it is opened.
//
//  Index keys once. Each region, field value and routing cut is one LMDB
//  key whose sequences are its sorted duplicates (MDB_DUPSORT with
//  MDB_DUPFIXED: eight bytes each, packed in pages of their own), not a
//  key per entry ending in its sequence: an elder's eight region and
//  field entries and three routing entries took some 600 bytes as keys
//  of their own (a 200,000-elder county: 22,530 pages of idx, 8,426 of
//  route), and take about 90 as sequences. A store of layout 8 or before
//  has both indexes built anew in the new databases when it is opened,
//  and its old entries dropped.
//
//  Records compact (layout 10, ht_store_body.c): without what the head
//  holds or item names, rebuilt when read; older entries stay whole.
//
//  Ownership. The current version of an entity is the latest legitimate
//  one (ht_gate.h): each merge loads the entity's versions (current and
//  history), sorts them by (hlc, author, digest) and judges them in
//  order, so every store holding the same versions picks the same
//  current one whatever the arrival order. Versions judged illegitimate
//  stay in history with an "x" flag and are counted in "conflicts".
//
//  Moves. Replication sends current versions, but a later version may be
//  legitimate only because of an earlier move (a township moving an elder
//  from one community to another, then the new community updating it): a
//  node that never saw the move would judge the update a conflict. So a
//  legitimate version that changed the entity's region or scope stays in
//  the change log while in history (seq entry flagged historic, and an
//  "m" index entry naming its seq), and every holder gets it.
//
//  Quarantine is keyed by source first, so the oldest entries of one
//  source are found at once and dropped when that source exceeds its
//  bounds: a hostile peer or client can push out only its own entries.
//
//  "encoded" is always the canonical full form (ht_record_encode), never
//  the bytes as received, so two stores holding the same versions hold
//  the same bytes. The history key carries the digest as well as (hlc,
//  author) so an author who signs two versions at one hlc loses neither.
//
//  Tombstones (deleted records) are current versions like any other: they
//  sit in rec and seq and replicate. They carry no index entries and are
//  not counted, so list, find and count see live entities only.
//
//  Apply. A batch runs in one write transaction: admit each record
//  (full form, signature, schema, clock, authorization against the certs
//  this same transaction sees), merge it, then write the sequence counter,
//  per-kind counts and the peer cursor, and commit. A rejected record goes
//  to quarantine inside the same transaction. If the map fills, the
//  transaction is aborted, the map doubled and the batch run again; the
//  records are still in memory, already decoded and encoded. What needs
//  no transaction (decoding, digests, whether the very bytes are held,
//  signatures, schema) is prepared on the verifier threads, in chunks,
//  while the transaction applies the chunks before it (ht_store_apply.c,
//  "Preparing items"), so the merge and commit do not wait for all of it.
//
//  Full. A batch that does not fit — the map at meta "map_limit", which
//  every writer of the store reads at each batch, or the disk full — is
//  aborted whole and refused as HT_EFULL (store_full). The store logs
//  when it becomes full and when writes fit again, not each refusal: a
//  node retrying a batch (with backoff, ht_repl) would fill its log. No
//  write ever faults: see s_env_open for why the map is read-only.
//
//  Cert cache. Authorizing walks the author's chain for every record, so
//  parsed certs and revocations are cached by hex key, found or not. Each
//  time a cert or revocation becomes current, meta "certgen" is bumped in
//  the same transaction; every transaction that consults the cache first
//  compares certgen with the cache's generation and purges on a change.
//  That keeps the cache right when another process writes the store,
//  and an aborted batch purges the cache because it may hold uncommitted
//  certs.
//
//  Files. ht_store.c: environment, meta, create and open;
//  ht_store_certs.c: the certificate source and its cache;
//  ht_store_apply.c: the write path (batches and their transaction),
//  with ht_store_merge.c (ownership, history, conflicts, moves) and
//  ht_store_quarantine.c (bounded quarantine, purge, retry), which share
//  ht_store_write.h; ht_store_read.c: the read path; ht_store_route.c:
//  the routing index of the change log;
//  ht_store_private.h: the layout they all share.
//
//  Threads. A store belongs to one thread (its actor). Callbacks run
//  inside a read transaction and must not apply batches.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>
#include <sys/mman.h>
#include <czmq.h>
#include <sodium.h>
#include "ht_store_private.h"
#include "ht_log.h"
#include "ht_gate.h"

#define S_CREATE_MAP_BYTES (128u * 1024)   //  small: a store opens with at least its file
#define S_MAP_ALIGN_BYTES (64u * 1024)
//  A write that failed with EIO on a file system with less room than
//  this left was a short write on a full disk (LMDB says EIO for those)
#define S_DISK_FULL_MARGIN_BYTES (1024u * 1024)
#define S_MEBIBYTE (1024u * 1024)

static const char *const s_db_names [HT_STORE_DB_COUNT] = {
    "rec", "seq", "hist", "idx", "peer", "quarantine", "meta", "routes", "index"
};

//  --------------------------------------------------------------------------
//  Transactions and errors

//  Begin a transaction, adopting a map another process has grown. A
//  read transaction holds the map lock shared until ht_store__read_end,
//  so no thread remaps the store under it (ht_store__map_resize)
int
ht_store__txn_begin (ht_store_t *self, unsigned flags, MDB_txn **txn_p)
{
    bool reading = (flags & MDB_RDONLY) != 0;
    if (reading)
        pthread_rwlock_rdlock (&self->map_lock);
    int rc = mdb_txn_begin (self->env, NULL, flags, txn_p);
    if (rc == MDB_MAP_RESIZED) {
        if (reading)
            pthread_rwlock_unlock (&self->map_lock);
        rc = ht_store__map_resize (self, 0);
        if (reading)
            pthread_rwlock_rdlock (&self->map_lock);
        if (rc == 0)
            rc = mdb_txn_begin (self->env, NULL, flags, txn_p);
    }
    if (rc && reading)
        pthread_rwlock_unlock (&self->map_lock);
    return rc;
}

void
ht_store__read_end (ht_store_t *self, MDB_txn *txn)
{
    mdb_txn_abort (txn);
    pthread_rwlock_unlock (&self->map_lock);
}

int
ht_store__map_resize (ht_store_t *self, size_t bytes)
{
    pthread_rwlock_wrlock (&self->map_lock);
    int rc = mdb_env_set_mapsize (self->env, bytes);
    pthread_rwlock_unlock (&self->map_lock);
    return rc;
}

//  Map an LMDB or system error to the project's code, logging it once
int
ht_store__error (const char *what, int rc)
{
    ht_log_error ("store: %s: %s", what, mdb_strerror (rc));
    return rc == ENOMEM? HT_ENOMEM: HT_ESTORE;
}

//  Bytes this process may still write on the store's file system, or
//  SIZE_MAX if unknown (root may use the blocks kept back for it)
static size_t
s_disk_room (ht_store_t *self)
{
    mdb_filehandle_t fd;
    struct statvfs disk;
    if (mdb_env_get_fd (self->env, &fd) != 0 || fstatvfs (fd, &disk) != 0)
        return SIZE_MAX;
    fsblkcnt_t blocks = geteuid () == 0? disk.f_bfree: disk.f_bavail;
    return (size_t) blocks * disk.f_frsize;
}

//  True if a system error says the file cannot grow
static bool
s_no_room (int rc)
{
    return rc == ENOSPC || rc == EDQUOT || rc == EFBIG;
}

//  True if rc, a write's error, says the disk has no room for it
static bool
s_disk_full (ht_store_t *self, int rc)
{
    if (s_no_room (rc))
        return true;
    //  A write that ends short is a full disk (or a quota, or a file size
    //  limit), which LMDB reports as EIO ("short write, filesystem
    //  full?"); a real I/O error leaves room. Where the file system shows
    //  room, ask it for one more page at the end of the file: that fails
    //  as the short write did, or succeeds (an I/O error) and leaves the
    //  file a page longer, which LMDB writes over later. Never shortened
    //  again: the write lock is free, another writer may be past its end.
    if (rc != EIO)
        return false;
    if (s_disk_room (self) < S_DISK_FULL_MARGIN_BYTES)
        return true;
    mdb_filehandle_t fd;
    struct stat info;
    if (mdb_env_get_fd (self->env, &fd) != 0 || fstat (fd, &info) != 0)
        return false;
    return fallocate (fd, 0, info.st_size, (off_t) sysconf (_SC_PAGESIZE)) != 0
        && s_no_room (errno);
}

int
ht_store__write_error (ht_store_t *self, const char *what, int rc)
{
    int why = rc == MDB_MAP_FULL? HT_STORE_FULL_MAP
            : s_disk_full (self, rc)? HT_STORE_FULL_DISK: 0;
    if (!why)
        return ht_store__error (what, rc);
    self->full_refusals++;
    if (self->full == why) {
        ht_log_debug ("store: %s: still full (%" PRIu64 " writes refused)", what,
                      self->full_refusals);
        return HT_EFULL;
    }
    self->full = why;
    self->full_errno = rc;
    self->full_since_ms = zclock_mono ();
    self->full_refusals = 1;
    const char *directory = NULL;
    if (mdb_env_get_path (self->env, &directory) != 0 || !directory)
        directory = "?";
    if (why == HT_STORE_FULL_MAP && self->map_limit
    &&  ht_store_map_bytes (self) >= self->map_limit)
        ht_log_error ("store: full: %s: %s reached its cap of %.1f MiB (limits/map_limit_mb); "
                      "nothing of it was written. Raise the cap, or make room (hutong "
                      "quarantine --purge)", what, directory,
                      (double) self->map_limit / S_MEBIBYTE);
    else
    if (why == HT_STORE_FULL_MAP)
        ht_log_error ("store: full: %s: the map of %s cannot grow past %.1f MiB; nothing of "
                      "it was written", what, directory,
                      (double) ht_store_map_bytes (self) / S_MEBIBYTE);
    else
        ht_log_error ("store: full: %s: the disk holding %s is full (%s, %zu KiB left); "
                      "nothing of it was written. Writes are taken again once there is "
                      "room", what, directory, rc == EIO? "a write ended short": strerror (rc),
                      s_disk_room (self) / 1024);
    return HT_EFULL;
}

void
ht_store__write_ok (ht_store_t *self)
{
    if (!self->full)
        return;
    ht_log_warning ("store: writes fit again, after %" PRIu64 " refused as full over %"
                    PRId64 " s", self->full_refusals,
                    (zclock_mono () - self->full_since_ms) / 1000);
    self->full = 0;
    self->full_errno = 0;
    self->full_refusals = 0;
}

json_t *
ht_store_full_status (const ht_store_t *self)
{
    if (!self->full)
        return NULL;
    char text [160];
    if (self->full == HT_STORE_FULL_DISK)
        snprintf (text, sizeof text, "the disk is full (%s)", self->full_errno == EIO
                  ? "a write ended short": strerror (self->full_errno));
    else
    if (self->map_limit && ht_store_map_bytes (self) >= self->map_limit)
        snprintf (text, sizeof text, "the store reached its cap of %.1f MiB "
                  "(limits/map_limit_mb)", (double) self->map_limit / S_MEBIBYTE);
    else
        snprintf (text, sizeof text, "the map cannot grow past %.1f MiB",
                  (double) ht_store_map_bytes (self) / S_MEBIBYTE);
    return json_pack ("{s:s, s:s, s:I, s:I}",
                      "why", self->full == HT_STORE_FULL_DISK? "disk": "map_limit",
                      "text", text,
                      "since_ms_ago", (json_int_t) (zclock_mono () - self->full_since_ms),
                      "refused", (json_int_t) self->full_refusals);
}

//  --------------------------------------------------------------------------
//  Meta items

//  Read a meta item (borrowed from txn); MDB_NOTFOUND if absent
int
ht_store__meta_get (ht_store_t *self, MDB_txn *txn, const char *name, MDB_val *value)
{
    MDB_val key = { strlen (name), (void *) name };
    return mdb_get (txn, self->dbi [HT_STORE_DB_META], &key, value);
}

//  Write a meta item
int
ht_store__meta_put (ht_store_t *self, MDB_txn *txn, const char *name,
                    const void *data, size_t size)
{
    MDB_val key = { strlen (name), (void *) name };
    MDB_val value = { size, (void *) data };
    return mdb_put (txn, self->dbi [HT_STORE_DB_META], &key, &value, 0);
}

//  Read a counter from meta; absent counters are 0
int
ht_store__meta_get_u64 (ht_store_t *self, MDB_txn *txn, const char *name,
                        uint64_t *number)
{
    MDB_val value;
    int rc = ht_store__meta_get (self, txn, name, &value);
    *number = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0 && value.mv_size != HT_STORE_U64_BYTES)
        return MDB_CORRUPTED;
    if (rc == 0)
        *number = ht_store__get_be64 (value.mv_data);
    return rc;
}

//  Write a counter to meta
int
ht_store__meta_put_u64 (ht_store_t *self, MDB_txn *txn, const char *name, uint64_t number)
{
    uint8_t bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (bytes, number);
    return ht_store__meta_put (self, txn, name, bytes, sizeof bytes);
}

//  Meta name of a kind's live-record count
void
ht_store__count_name (const char *kind, char *name, size_t size)
{
    snprintf (name, size, "count:%s", kind);
}

//  --------------------------------------------------------------------------
//  Creating and opening

//  Create a directory and its parents (mode 0700 for the ones we create)
static int
s_mkdir_p (const char *path)
{
    char *copy = strdup (path);
    int rc = copy? 0: HT_ENOMEM;
    for (char *slash = copy? copy + 1: NULL; rc == 0 && slash; ) {
        slash = strchr (slash, '/');
        if (slash)
            *slash = 0;
        if (*copy && mkdir (copy, 0700) != 0 && errno != EEXIST)
            rc = HT_EIO;
        if (slash)
            *slash++ = '/';
    }
    free (copy);
    return rc;
}

//  Open (or create) the environment in directory path
static int
s_env_open (const char *path, size_t map_bytes, MDB_env **env_p)
{
    MDB_env *env = NULL;
    int rc = mdb_env_create (&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs (env, HT_STORE_DB_COUNT + 1);  //  and an upgrade's "route"
    if (rc == 0)
        rc = mdb_env_set_mapsize (env, map_bytes);
    if (rc == 0)
        //  No MDB_WRITEMAP: the map is read-only, and LMDB writes each
        //  dirty page from the heap with pwrite at commit. A writable map
        //  (MDB_WRITEMAP) saves that copy, but LMDB then ftruncates the
        //  file to the whole map, a sparse file, and the kernel finds the
        //  disk full only when a store into the map faults on a hole:
        //  SIGBUS, the process dead mid-transaction with no log line, and
        //  a node under systemd restarting into the same fault while the
        //  disk stays full. Reserving space ahead (posix_fallocate before
        //  each transaction, the map kept no larger than the reservation)
        //  would keep the faster path on ext4 or tmpfs, but not on
        //  copy-on-write file systems (btrfs, XFS with reflinks, ZFS), where
        //  rewriting an allocated block needs a new one, and it would
        //  allocate the whole map on disk. With pwrite a full disk is an
        //  error code (ENOSPC, or EIO for a short write) on every file
        //  system: the transaction is aborted, the last commit stays as it
        //  was (LMDB writes the meta page last), and the next one succeeds
        //  once there is room. The file grows only as pages are written, so
        //  it never outgrows the map either (meta "map_limit"). The copy is
        //  small next to verifying, merging and indexing: hutong bench
        //  --records 20000, once before and once after, each against the
        //  same run's libsodium baseline, went from 1.05 to 1.28 (store
        //  put), 0.39 to 0.55 (store received) and 0.86 to 0.84 (batch-
        //  signed store received): no loss beyond a shared machine's
        //  noise. LMDB keeps the heap copies of the pages its largest
        //  transaction wrote until the environment is closed: at rest the
        //  node opens it anew (s_env_recycle), so a node at rest holds as
        //  little as with MDB_WRITEMAP (about 16 MiB resident after
        //  replicating 20,000 elders in batches of 5,000, 45 MiB without).
        rc = mdb_env_open (env, path, MDB_NOTLS, 0600);
    if (rc != 0 && env)
        mdb_env_close (env);
    *env_p = rc == 0? env: NULL;
    return rc;
}

//  Open every named database in txn (flags: MDB_CREATE or 0); *routed
//  (if not NULL) says whether the two indexes of sorted duplicates are
//  there: a store of layout 8 or before lacks them (one of 5 to 8 has
//  "route" instead, its routing keys ending in their sequences)
static int
s_dbis_open (ht_store_t *self, MDB_txn *txn, unsigned flags, bool *routed)
{
    int rc = 0;
    for (int db = 0; rc == 0 && db < HT_STORE_DB_DUPS; db++)
        rc = mdb_dbi_open (txn, s_db_names [db], flags, &self->dbi [db]);
    int dups = rc;
    for (int db = HT_STORE_DB_DUPS; dups == 0 && db < HT_STORE_DB_COUNT; db++)
        dups = mdb_dbi_open (txn, s_db_names [db], flags | HT_STORE_DUP_FLAGS,
                             &self->dbi [db]);
    if (routed)
        *routed = dups == 0;
    return rc? rc: routed && dups == MDB_NOTFOUND? 0: dups;
}

int
ht_store__dbis_create (ht_store_t *self, MDB_txn *txn)
{
    return s_dbis_open (self, txn, MDB_CREATE, NULL);
}

//  Write a new store's meta items in txn
static int
s_meta_init (ht_store_t *self, MDB_txn *txn)
{
    int rc = ht_store__meta_put_u64 (self, txn, "format", HT_STORE_LAYOUT);
    if (rc == 0)
        rc = ht_store__meta_put_u64 (self, txn, "schema_version", HT_SCHEMA_VERSION);
    if (rc == 0)
        rc = ht_store__meta_put (self, txn, "epoch", self->epoch, HT_EPOCH_BYTES);
    if (rc == 0)
        rc = ht_store__meta_put (self, txn, "region", self->region, HT_REGION_DIGITS);
    if (rc == 0)
        rc = ht_store__meta_put (self, txn, "anchor", self->anchor, HT_PUBKEY_BYTES);
    if (rc == 0 && self->has_idkey)
        rc = ht_store__meta_put (self, txn, "idkey", self->idkey, HT_IDKEY_BYTES);
    if (rc == 0)
        rc = ht_store__meta_put_u64 (self, txn, "last_seq", 0);
    uint8_t window [2 * HT_STORE_U64_BYTES];
    ht_store__put_be64 (window, HT_GATE_INGEST_BEHIND_MS);
    ht_store__put_be64 (window + HT_STORE_U64_BYTES, HT_GATE_INGEST_AHEAD_MS);
    if (rc == 0)
        rc = ht_store__meta_put (self, txn, "ingest_window", window, sizeof window);
    return rc;
}

//  Create the databases and meta in a fresh environment; HT_EINVAL if the
//  environment already holds a store (checked inside the write
//  transaction, so two racing creators cannot both succeed)
static int
s_store_init (ht_store_t *self)
{
    MDB_txn *txn = NULL;
    MDB_val value;
    int code = 0;
    int rc = ht_store__txn_begin (self, 0, &txn);
    if (rc == 0)
        rc = s_dbis_open (self, txn, MDB_CREATE, NULL);
    if (rc == 0 && ht_store__meta_get (self, txn, "epoch", &value) == 0)
        code = HT_EINVAL;
    if (rc == 0 && code == 0)
        rc = s_meta_init (self, txn);
    if (rc == 0 && code == 0) {
        rc = mdb_txn_commit (txn);
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort (txn);
    if (rc)
        code = ht_store__error ("cannot create store", rc);
    return code;
}

int
ht_store_create (const char *path, const char *region,
                 const uint8_t anchor [HT_PUBKEY_BYTES],
                 const uint8_t idkey [HT_IDKEY_BYTES])
{
    if (!path || !*path || !region || !anchor)
        return HT_EINVAL;
    if (!ht_region_valid (region))
        return HT_EREGION;
    if (sodium_init () < 0)
        return HT_ESTORE;
    ht_store_t self;
    memset (&self, 0, sizeof self);
    memcpy (self.region, region, HT_REGION_DIGITS);
    memcpy (self.anchor, anchor, HT_PUBKEY_BYTES);
    if (idkey)
        memcpy (self.idkey, idkey, HT_IDKEY_BYTES);
    self.has_idkey = idkey != NULL;
    randombytes_buf (self.epoch, HT_EPOCH_BYTES);

    int code = s_mkdir_p (path);
    if (code != 0)
        ht_log_error ("store: cannot create directory %s: %s", path, strerror (errno));
    if (code == 0) {
        int rc = s_env_open (path, S_CREATE_MAP_BYTES, &self.env);
        code = rc? ht_store__error ("cannot open environment", rc): 0;
    }
    if (code == 0)
        code = s_store_init (&self);
    if (code == HT_EINVAL)
        ht_log_error ("store: %s already holds a store", path);
    if (self.env)
        mdb_env_close (self.env);
    sodium_memzero (self.idkey, HT_IDKEY_BYTES);
    return code;
}

//  Copy a fixed-size meta item; MDB_CORRUPTED if its size differs
static int
s_meta_copy (ht_store_t *self, MDB_txn *txn, const char *name,
             void *out, size_t size)
{
    MDB_val value;
    int rc = ht_store__meta_get (self, txn, name, &value);
    if (rc == 0 && value.mv_size != size)
        rc = MDB_CORRUPTED;
    if (rc == 0)
        memcpy (out, value.mv_data, size);
    return rc;
}

//  Read and check the store's meta: 0, HT_ENOTFOUND, HT_EVERSION, HT_ESTORE;
//  *format is the store's layout (an earlier one is upgraded on open)
static int
s_meta_load (ht_store_t *self, MDB_txn *txn, bool routed, uint64_t *format)
{
    uint64_t schema_version;
    MDB_val value;
    //  A create that crashed before its commit leaves no epoch
    if (ht_store__meta_get (self, txn, "epoch", &value) == MDB_NOTFOUND)
        return HT_ENOTFOUND;
    if (ht_store__meta_get_u64 (self, txn, "format", format)
    ||  ht_store__meta_get_u64 (self, txn, "schema_version", &schema_version))
        return HT_ESTORE;
    //  Records carry their kinds' schema versions, so a store written by
    //  an older registry opens in a newer build (an upgrade); one written
    //  by a newer build may hold what this one cannot read.
    //  The layouts before are upgraded once, on open (a partly upgraded
    //  one too: it goes on where it was)
    //  (one of 5 to 8 has its old one, or the new ones an upgrade began)
    MDB_dbi old_route;
    if (*format > HT_STORE_LAYOUT_UNROUTED && *format <= HT_STORE_LAYOUT && !routed
    &&  (*format >= HT_STORE_LAYOUT_DUPS || mdb_dbi_open (txn, "route", 0, &old_route) != 0)) {
        ht_log_error ("store: layout %" PRIu64 " without its routing index", *format);
        return HT_ESTORE;
    }
    if (*format < HT_STORE_LAYOUT_UNROUTED || *format > HT_STORE_LAYOUT
    ||  schema_version > HT_SCHEMA_VERSION) {
        ht_log_error ("store: layout %" PRIu64 " schema %" PRIu64
                      ", this build reads layouts %d to %d, schema up to %d",
                      *format, schema_version, HT_STORE_LAYOUT_UNROUTED, HT_STORE_LAYOUT,
                      HT_SCHEMA_VERSION);
        return HT_EVERSION;
    }
    if (s_meta_copy (self, txn, "epoch", self->epoch, HT_EPOCH_BYTES)
    ||  s_meta_copy (self, txn, "region", self->region, HT_REGION_DIGITS)
    ||  s_meta_copy (self, txn, "anchor", self->anchor, HT_PUBKEY_BYTES))
        return HT_ESTORE;
    //  Absent when the store was created without one
    int rc = s_meta_copy (self, txn, "idkey", self->idkey, HT_IDKEY_BYTES);
    if (rc && rc != MDB_NOTFOUND)
        return HT_ESTORE;
    self->has_idkey = rc == 0;
    self->region [HT_REGION_DIGITS] = 0;
    ht_store__route_setup (self);
    return 0;
}

//  Open the databases and load meta in one read transaction
static int
s_store_load (ht_store_t *self)
{
    MDB_txn *txn = NULL;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return ht_store__error ("cannot begin", rc);
    int code = 0;
    bool routed = false;
    uint64_t format = 0;
    rc = s_dbis_open (self, txn, 0, &routed);
    if (rc == MDB_NOTFOUND)
        code = HT_ENOTFOUND;
    else
    if (rc)
        code = ht_store__error ("cannot open databases", rc);
    else
        code = s_meta_load (self, txn, routed, &format);
    if (code != 0) {
        ht_store__read_end (self, txn);
        return code;
    }
    //  Committing makes the database handles usable by later transactions
    rc = mdb_txn_commit (txn);
    pthread_rwlock_unlock (&self->map_lock);
    if (rc)
        return ht_store__error ("cannot open databases", rc);
    return format < HT_STORE_LAYOUT? ht_store__layout_upgrade (self, format): 0;
}

//  True if directory path holds an LMDB data file
static bool
s_data_file_exists (const char *path)
{
    char *file = zsys_sprintf ("%s/data.mdb", path);
    struct stat info;
    bool exists = file && stat (file, &info) == 0 && S_ISREG (info.st_mode);
    zstr_free (&file);
    return exists;
}

//  Round a map size up to a multiple of S_MAP_ALIGN_BYTES
static size_t
s_map_align (size_t bytes)
{
    return (bytes + S_MAP_ALIGN_BYTES - 1) / S_MAP_ALIGN_BYTES * S_MAP_ALIGN_BYTES;
}

ht_store_t *
ht_store_open (const char *path, size_t map_bytes, int *error)
{
    ht_store_t *self = NULL;
    int code = HT_ENOTFOUND;
    if (!path || !s_data_file_exists (path))
        goto cleanup;
    code = HT_ENOMEM;
    self = calloc (1, sizeof *self);
    if (self)
        self->hwm_fd = -1;
    if (!self || pthread_rwlock_init (&self->map_lock, NULL) != 0) {
        free (self);
        self = NULL;
        goto cleanup;
    }
    if (ht_store__certs_init (self) != 0)
        goto cleanup;
    self->quarantine_max_entries = HT_STORE_QUARANTINE_ENTRIES;
    self->verbose = true;
    //  Signature checks are most of a batch's cost: one verifier per
    //  further core, up to three, kept for the store's life
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    self->verifiers = ht_pool_new (cores > 1? (size_t) (cores - 1 < 3? cores - 1: 3): 0);
    self->quarantine_max_bytes = HT_STORE_QUARANTINE_BYTES;

    //  The map is only address space (LMDB maps at least what the file
    //  uses); the store's cap, read with its meta, may shrink it
    size_t initial = s_map_align (map_bytes? map_bytes: HT_STORE_DEFAULT_MAP_BYTES);
    int rc = s_env_open (path, initial, &self->env);
    code = rc? ht_store__error ("cannot open environment", rc): 0;
    if (code == 0)
        code = s_store_load (self);
    if (code == 0)
        code = ht_store__map_fit (self);
    if (code == 0)
        code = ht_store__rollback_check (self);
cleanup:
    if (code != 0)
        ht_store_destroy (&self);
    if (error)
        *error = code;
    return self;
}

void
ht_store_destroy (ht_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ht_store_t *self = *self_p;
    if (self->env) {
        ht_store_sync (self);
        mdb_env_close (self->env);
    }
    ht_store__hwm_close (self);
    zhashx_destroy (&self->certs);
    ht_pool_destroy (&self->verifiers);
    pthread_rwlock_destroy (&self->map_lock);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

const char *
ht_store_region (const ht_store_t *self)
{
    return self->region;
}

const uint8_t *
ht_store_anchor (const ht_store_t *self)
{
    return self->anchor;
}

const uint8_t *
ht_store_idkey (const ht_store_t *self)
{
    return self->has_idkey? self->idkey: NULL;
}

const uint8_t *
ht_store_epoch (const ht_store_t *self)
{
    return self->epoch;
}

size_t
ht_store_map_bytes (const ht_store_t *self)
{
    MDB_envinfo info;
    if (mdb_env_info (self->env, &info) != 0)
        return 0;
    return info.me_mapsize;
}

size_t
ht_store_used_bytes (const ht_store_t *self)
{
    MDB_envinfo info;
    MDB_stat stat;
    if (mdb_env_info (self->env, &info) != 0 || mdb_env_stat (self->env, &stat) != 0)
        return 0;
    return (info.me_last_pgno + 1) * (size_t) stat.ms_psize;
}

size_t
ht_store_map_limit (const ht_store_t *self)
{
    return self->map_limit;
}

void
ht_store_set_registry (ht_store_t *self, const ht_registry_t *registry)
{
    self->registry = registry;
}

void
ht_store_set_verbose (ht_store_t *self, bool verbose)
{
    self->verbose = verbose;
}

void
ht_store_set_quarantine_limits (ht_store_t *self, uint64_t max_entries,
                                uint64_t max_bytes)
{
    self->quarantine_max_entries = max_entries? max_entries: 1;
    self->quarantine_max_bytes = max_bytes? max_bytes: 1;
}

//  Write one meta item in a transaction of its own, if it changes: a
//  node that opens its store on a full disk writes its settings again,
//  and must not be refused for writing what is there. Grows the map if
//  it is full (a raised cap). 0 or an error.
static int
s_meta_write (ht_store_t *self, const char *name, const void *data, size_t size,
              const char *what)
{
    int rc;
    bool same = false;
    do {
        MDB_txn *txn = NULL;
        MDB_val value;
        rc = ht_store__txn_begin (self, 0, &txn);
        same = rc == 0 && ht_store__meta_get (self, txn, name, &value) == 0
                 && value.mv_size == size && memcmp (value.mv_data, data, size) == 0;
        if (rc == 0 && !same)
            rc = ht_store__meta_put (self, txn, name, data, size);
        if (rc == 0 && !same) {
            rc = mdb_txn_commit (txn);
            txn = NULL;
        }
        if (txn)
            mdb_txn_abort (txn);
    } while (rc == MDB_MAP_FULL && ht_store__map_grow (self) == 0);
    if (rc)
        return ht_store__write_error (self, what, rc);
    if (!same)
        ht_store__write_ok (self);  //  a commit, not a read, says it fits
    return 0;
}

//  Keep the map within the cap: at most the cap, or what the file uses
//  if that is more (then no page can be added); 0 or HT_ESTORE
static int
s_map_within_limit (ht_store_t *self)
{
    size_t used = ht_store_used_bytes (self);
    size_t target = self->map_limit > used? self->map_limit: used;
    if (!self->map_limit || ht_store_map_bytes (self) <= target)
        return 0;
    int rc = ht_store__map_resize (self, target);
    return rc? ht_store__error ("cannot fit the map within its limit", rc): 0;
}

int
ht_store_set_map_limit (ht_store_t *self, size_t max_bytes)
{
    //  In force at once, so a raised cap lets this very write grow the map;
    //  if it cannot be stored now, the next batch stores it
    self->map_limit = max_bytes;
    self->map_limit_set = true;
    uint8_t bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (bytes, max_bytes);
    int code = s_meta_write (self, "map_limit", bytes, sizeof bytes,
                             "cannot store the map limit");
    return code? code: s_map_within_limit (self);
}

int
ht_store__map_fit (ht_store_t *self)
{
    MDB_txn *txn = NULL;
    uint64_t limit = 0;
    int rc = ht_store__txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return ht_store__error ("cannot begin", rc);
    rc = ht_store__meta_get_u64 (self, txn, "map_limit", &limit);
    ht_store__read_end (self, txn);
    if (rc)
        return ht_store__error ("cannot read the map limit", rc);
    if (!self->map_limit_set)
        self->map_limit = (size_t) limit;   //  the node's own stays: it writes it
    return s_map_within_limit (self);
}

int
ht_store_set_ingest_window (ht_store_t *self, uint64_t behind_ms, uint64_t ahead_ms)
{
    uint8_t window [2 * HT_STORE_U64_BYTES];
    ht_store__put_be64 (window, behind_ms);
    ht_store__put_be64 (window + HT_STORE_U64_BYTES, ahead_ms);
    return s_meta_write (self, "ingest_window", window, sizeof window,
                         "cannot set the ingest window");
}

//  How long another writer believes the lead the node kept, and how often
//  the node renews it while it lasts
#define S_CLOCK_LEAD_TRUST_MS (3600ull * 1000)
#define S_CLOCK_LEAD_RENEW_MS (60ull * 1000)

int
ht_store_set_clock_lead (ht_store_t *self, int64_t lead_ms, uint64_t now_ms)
{
    self->clock_lead_ms = lead_ms;
    self->clock_lead_live = true;
    int64_t kept = lead_ms > 0? lead_ms: 0;
    int64_t change = kept - self->clock_lead_kept;
    bool renew = kept > 0 && now_ms >= self->clock_lead_kept_ms + S_CLOCK_LEAD_RENEW_MS;
    if (self->clock_lead_kept_ms && !renew && (change < 0? -change: change) < 1000
    &&  (kept > 0) == (self->clock_lead_kept > 0))
        return 0;
    uint8_t value [2 * HT_STORE_U64_BYTES];
    ht_store__put_be64 (value, (uint64_t) kept);
    ht_store__put_be64 (value + HT_STORE_U64_BYTES, now_ms);
    int rc = s_meta_write (self, "clock_lead", value, sizeof value,
                           "cannot keep the clock's lead");
    if (rc == 0) {
        self->clock_lead_kept = kept;
        self->clock_lead_kept_ms = now_ms? now_ms: 1;
    }
    return rc;
}

int64_t
ht_store__clock_lead (ht_store_t *self, MDB_txn *txn, uint64_t now_ms)
{
    if (self->clock_lead_live)
        return self->clock_lead_ms;
    MDB_val value;
    if (ht_store__meta_get (self, txn, "clock_lead", &value) != 0
    ||  value.mv_size != 2 * HT_STORE_U64_BYTES)
        return 0;
    int64_t kept = (int64_t) ht_store__get_be64 (value.mv_data);
    uint64_t read_ms = ht_store__get_be64 ((const uint8_t *) value.mv_data + HT_STORE_U64_BYTES);
    //  A clock that went back before the reading was set right since
    bool believed = kept > 0 && now_ms >= read_ms && now_ms - read_ms <= S_CLOCK_LEAD_TRUST_MS;
    return believed? kept: 0;
}

int
ht_store_set_counter (ht_store_t *self, const char *name, uint64_t value)
{
    uint8_t bytes [HT_STORE_U64_BYTES];
    ht_store__put_be64 (bytes, value);
    return s_meta_write (self, name, bytes, sizeof bytes, "cannot set a counter");
}

uint64_t
ht_store_counter (ht_store_t *self, const char *name)
{
    MDB_txn *txn = NULL;
    uint64_t value = 0;
    if (ht_store__txn_begin (self, MDB_RDONLY, &txn) == 0) {
        if (ht_store__meta_get_u64 (self, txn, name, &value) != 0)
            value = 0;
        ht_store__read_end (self, txn);
    }
    return value;
}

uint64_t
ht_store_last_seq (ht_store_t *self)
{
    MDB_txn *txn = NULL;
    uint64_t last_seq = 0;
    if (ht_store__txn_begin (self, MDB_RDONLY, &txn) == 0) {
        if (ht_store__meta_get_u64 (self, txn, "last_seq", &last_seq) != 0)
            last_seq = 0;
        ht_store__read_end (self, txn);
    }
    return last_seq;
}

//  Drop this process's mapping of the file named path (its pages stay in
//  the page cache). LMDB does not tell where it mapped the file unless the
//  map is fixed, so the mapping is found by name in /proc/self/maps.
static void
s_unmap_pages (const char *path)
{
    FILE *maps = fopen ("/proc/self/maps", "r");
    char line [PATH_MAX + 128];
    while (maps && fgets (line, sizeof line, maps)) {
        unsigned long start, end;
        char name [PATH_MAX] = "";
        if (sscanf (line, "%lx-%lx %*s %*s %*s %*s %4095s", &start, &end, name) == 3
        &&  streq (name, path)
        &&  madvise ((void *) start, end - start, MADV_DONTNEED) != 0)
            ht_log_debug ("store: madvise %s: %s", path, strerror (errno));   //  never in production: see ht_store_release_memory
    }
    if (maps)
        fclose (maps);
}

int
ht_store_sync (ht_store_t *self)
{
    if (!self->unsynced)
        return 0;
    int rc = mdb_env_sync (self->env, 1);
    if (rc)
        return ht_store__error ("sync", rc);
    self->unsynced = false;
    return 0;
}

uint64_t
ht_store_verifications (ht_store_t *self)
{
    return __atomic_load_n (&self->verifications, __ATOMIC_RELAXED);
}

//  Drop this process's mapping of the store's data file. The map lock
//  (shared) keeps another thread from moving the map meanwhile, which
//  could leave a range we found given to other memory.
static void
s_unmap_store (ht_store_t *self)
{
    pthread_rwlock_rdlock (&self->map_lock);
    const char *directory = NULL;
    char data_path [PATH_MAX + 16], real [PATH_MAX];
    if (mdb_env_get_path (self->env, &directory) == 0 && directory
    &&  realpath (directory, real)) {
        snprintf (data_path, sizeof data_path, "%s/data.mdb", real);
        s_unmap_pages (data_path);
    }
    pthread_rwlock_unlock (&self->map_lock);
}

//  Close the environment and open it again, if no other thread reads it
//  now (the map lock, exclusive); true if it did. LMDB keeps the heap
//  copies of the pages a write transaction dirtied (see s_env_open) for
//  reuse until the environment is closed: after a large batch, tens of
//  MiB that malloc_trim cannot give back. Closing also unmaps every page.
//  Nothing is lost: between transactions all is committed, and lazy
//  commits are synced first. A store that cannot be opened again cannot
//  be used at all: the process stops (abort) rather than go on without.
static bool
s_env_recycle (ht_store_t *self)
{
    if (pthread_rwlock_trywrlock (&self->map_lock) != 0)
        return false;
    const char *directory = NULL;
    char *path = mdb_env_get_path (self->env, &directory) == 0 && directory
               ? strdup (directory): NULL;
    size_t map_bytes = ht_store_map_bytes (self);
    bool recycled = path && ht_store_sync (self) == 0;
    if (recycled) {
        mdb_env_close (self->env);
        self->env = NULL;
        MDB_txn *txn = NULL;
        int rc = s_env_open (path, map_bytes, &self->env);
        if (rc == 0)
            rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
        if (rc == 0)
            rc = s_dbis_open (self, txn, 0, NULL);
        if (rc == 0) {
            rc = mdb_txn_commit (txn);     //  makes the handles usable
            txn = NULL;
        }
        if (txn)
            mdb_txn_abort (txn);
        if (rc) {
            ht_log_error ("store: cannot open %s again: %s", path, mdb_strerror (rc));
            abort ();
        }
    }
    pthread_rwlock_unlock (&self->map_lock);
    free (path);
    return recycled;
}

void
ht_store_release_memory (ht_store_t *self)
{
    //  Every page a read or write touched stays mapped and counts as our
    //  resident memory, and so do LMDB's copies of the pages written.
    //  Opening the environment anew drops both; while a read runs in
    //  another thread, only the mapping is dropped. Dropping the mapping
    //  loses nothing: the page cache keeps the pages.
    if (!s_env_recycle (self))
        s_unmap_store (self);
    ht_store__cache_forget (self);
}

void
ht_store_set_resident_limit (ht_store_t *self, size_t bytes)
{
    self->resident_limit = bytes;
}

//  This process's resident memory in bytes, and the part of it that is
//  mapped file pages (the store's map: clean page cache, given back by
//  unmapping); the rest is heap. False if unknown.
//  A batch asks every 64 records: /proc/self/statm stays open (each read
//  from its start makes the kernel write it anew), once per process (a
//  forked child opens its own)
static int s_statm_fd = -1;
static pid_t s_statm_pid = 0;
static pthread_mutex_t s_statm_lock = PTHREAD_MUTEX_INITIALIZER;

static int
s_statm (void)
{
    pthread_mutex_lock (&s_statm_lock);
    if (s_statm_pid != getpid ()) {
        if (s_statm_fd >= 0)
            close (s_statm_fd);
        s_statm_fd = open ("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        s_statm_pid = getpid ();
    }
    int fd = s_statm_fd;
    pthread_mutex_unlock (&s_statm_lock);
    return fd;
}

static bool
s_resident_bytes (size_t *resident, size_t *file)
{
    unsigned long size = 0, pages = 0, shared = 0;
    int fd = s_statm ();
    char text [128];
    ssize_t got = fd >= 0? pread (fd, text, sizeof text - 1, 0): -1;
    if (got > 0)
        text [got] = 0;
    bool known = got > 0 && sscanf (text, "%lu %lu %lu", &size, &pages, &shared) == 3;
    size_t page = (size_t) sysconf (_SC_PAGESIZE);
    *resident = known? (size_t) pages * page: 0;
    *file = known? (size_t) shared * page: 0;
    return known;
}

void
ht_store__resident_check (ht_store_t *self)
{
    size_t resident, file;
    if (self->resident_limit && s_resident_bytes (&resident, &file)
    &&  resident > self->resident_limit)
        s_unmap_store (self);
}

bool
ht_store_trim (ht_store_t *self)
{
    size_t resident, file;
    if (!self->resident_limit || !s_resident_bytes (&resident, &file)
    ||  resident <= self->resident_limit)
        return false;
    //  The heap holds LMDB's copies of written pages: only closing the
    //  environment frees them, and the next batch then faults in fresh
    //  ones, so that is done only when the heap alone passes half the
    //  limit. Mapped pages cost a minor fault to take back: dropped first.
    if (resident - file > self->resident_limit / 2 && s_env_recycle (self))
        return true;
    s_unmap_store (self);
    return false;
}
