//  ht_store_epoch: a store's epoch, its high-water mark, rollback
//  detection, backup and restore (the contract is in ht_store.h).
//
//  Why. Peers remember a cursor into this store's change log per epoch.
//  A store rolled back (a backup put in place, a file copied over the
//  data file, a machine that lost unsynced pages) would hand out again
//  sequence numbers its peers have passed, and those writes would never
//  replicate. So a rolled-back store must take a new epoch: its peers
//  then read it again from zero, and it asks each of them for everything
//  it should hold again, including what it had sent them itself (the
//  records written here after the copy was taken).
//
//  The high-water mark. Next to data.mdb, hutong.hwm holds the epoch and
//  the last sequence of the latest commit, written after every commit
//  (never synced on its own: a mark older than the data is harmless, and
//  one newer than the data means the data lost commits, which is what it
//  is there to find). A data file that is behind its mark, or of another
//  epoch, was rolled back. A copy of the whole directory carries its mark
//  along; that case is found by the peers instead (ht_repl: a PULL of our
//  epoch from past our last sequence).
#include <inttypes.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sodium.h>
#include "ht_store_private.h"
#include "ht_hlc.h"
#include "ht_log.h"

#define S_HWM_FILE "hutong.hwm"
#define S_HWM_MAGIC "hutong-hwm 1 "
//  "hutong-hwm 1 " epoch(32 hex) " " seq(20 digits) "\n": a fixed size,
//  so each write covers the whole of the last one
#define S_HWM_BYTES (sizeof S_HWM_MAGIC - 1 + 2 * HT_EPOCH_BYTES + 1 + 20 + 1)
#define S_BACKUP_FORMAT "hutong-backup 1"

//  --------------------------------------------------------------------------
//  The high-water mark

//  The mark's path for store directory dir
static void
s_hwm_path (const char *dir, char *path, size_t size)
{
    snprintf (path, size, "%s/" S_HWM_FILE, dir);
}

//  Read the mark in dir: true with epoch and seq if it is there and whole
static bool
s_hwm_read (const char *dir, uint8_t epoch [HT_EPOCH_BYTES], uint64_t *seq)
{
    char path [PATH_MAX], text [S_HWM_BYTES + 1] = "";
    s_hwm_path (dir, path, sizeof path);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t size = pread (fd, text, S_HWM_BYTES, 0);
    close (fd);
    char hex [2 * HT_EPOCH_BYTES + 1];
    char digits [21];
    if (size != (ssize_t) S_HWM_BYTES || strncmp (text, S_HWM_MAGIC, sizeof S_HWM_MAGIC - 1)
    ||  sscanf (text + sizeof S_HWM_MAGIC - 1, "%32s %20s", hex, digits) != 2
    ||  strlen (hex) != 2 * HT_EPOCH_BYTES || strspn (digits, "0123456789") != 20
    ||  ht_hex_decode (hex, epoch, HT_EPOCH_BYTES) != 0)
        return false;
    *seq = strtoull (digits, NULL, 10);
    return true;
}

//  The store's directory; NULL if LMDB cannot tell
static const char *
s_dir (ht_store_t *self)
{
    const char *dir = NULL;
    return mdb_env_get_path (self->env, &dir) == 0? dir: NULL;
}

void
ht_store__hwm_write (ht_store_t *self, const uint8_t epoch [HT_EPOCH_BYTES], uint64_t seq)
{
    if (self->hwm_fd < 0) {
        const char *dir = s_dir (self);
        char path [PATH_MAX];
        if (!dir)
            return;
        s_hwm_path (dir, path, sizeof path);
        self->hwm_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (self->hwm_fd < 0) {
            ht_log_warning ("store: cannot open %s: %s (rollback of the data file "
                          "will be found by peers only)", path, strerror (errno));
            self->hwm_fd = -2;      //  tried: say it once
        }
    }
    if (self->hwm_fd < 0)
        return;
    char hex [2 * HT_EPOCH_BYTES + 1], text [S_HWM_BYTES + 1];
    ht_hex_encode (epoch, HT_EPOCH_BYTES, hex);
    snprintf (text, sizeof text, S_HWM_MAGIC "%s %020" PRIu64 "\n", hex, seq);
    if (pwrite (self->hwm_fd, text, S_HWM_BYTES, 0) != (ssize_t) S_HWM_BYTES)
        ht_log_warning ("store: cannot write its high-water mark: %s", strerror (errno));
}

void
ht_store__hwm_close (ht_store_t *self)
{
    if (self->hwm_fd >= 0)
        close (self->hwm_fd);
    self->hwm_fd = -1;
}

//  --------------------------------------------------------------------------
//  New epochs

//  In txn: a new random epoch, every peer's cursor back to zero with a
//  full pass pending, the count of epoch changes, why and when
static int
s_epoch_renew (ht_store_t *self, MDB_txn *txn, const char *why, uint8_t epoch [HT_EPOCH_BYTES])
{
    randombytes_buf (epoch, HT_EPOCH_BYTES);
    int rc = ht_store__meta_put (self, txn, "epoch", epoch, HT_EPOCH_BYTES);
    uint64_t changes = 0;
    if (rc == 0 && ht_store__meta_get_u64 (self, txn, "epoch_changes", &changes) != 0)
        changes = 0;
    if (rc == 0)
        rc = ht_store__meta_put_u64 (self, txn, "epoch_changes", changes + 1);
    if (rc == 0)
        rc = ht_store__meta_put_u64 (self, txn, "epoch_since", (uint64_t) ht_hlc_wall_ms ());
    if (rc == 0)
        rc = ht_store__meta_put (self, txn, "epoch_why", why, strlen (why));
    MDB_cursor *cursor = NULL;
    if (rc == 0)
        rc = mdb_cursor_open (txn, self->dbi [HT_STORE_DB_PEER], &cursor);
    MDB_val key, value;
    int walk = rc == 0? mdb_cursor_get (cursor, &key, &value, MDB_FIRST): MDB_NOTFOUND;
    while (rc == 0 && walk == 0) {
        uint8_t bytes [HT_STORE_PEER_VALUE_BYTES] = { 0 };     //  no tag: cursor 0
        if (value.mv_size >= HT_EPOCH_BYTES)
            memcpy (bytes, value.mv_data, HT_EPOCH_BYTES);
        ht_store__put_be64 (bytes + HT_EPOCH_BYTES, 0);
        ht_store__put_be64 (bytes + HT_EPOCH_BYTES + HT_STORE_U64_BYTES, HT_STORE_FULL_PENDING);
        MDB_val update = { sizeof bytes, bytes };
        rc = mdb_cursor_put (cursor, &key, &update, MDB_CURRENT);
        if (rc == 0)
            walk = mdb_cursor_get (cursor, &key, &value, MDB_NEXT);
    }
    if (cursor)
        mdb_cursor_close (cursor);
    if (rc == 0 && walk != MDB_NOTFOUND)
        rc = walk;
    return rc;
}

int
ht_store_new_epoch (ht_store_t *self, const char *why)
{
    MDB_txn *txn = NULL;
    uint8_t epoch [HT_EPOCH_BYTES];
    uint64_t last_seq = 0;
    int rc = ht_store__txn_begin (self, 0, &txn);
    if (rc == 0)
        rc = s_epoch_renew (self, txn, why? why: "", epoch);
    if (rc == 0)
        rc = ht_store__meta_get_u64 (self, txn, "last_seq", &last_seq);
    if (rc == 0) {
        rc = mdb_txn_commit (txn);
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort (txn);
    if (rc)
        return ht_store__error ("cannot take a new epoch", rc);
    //  Readers in other threads copy the epoch under the map lock
    pthread_rwlock_wrlock (&self->map_lock);
    memcpy (self->epoch, epoch, HT_EPOCH_BYTES);
    pthread_rwlock_unlock (&self->map_lock);
    ht_store__hwm_write (self, epoch, last_seq);
    char hex [2 * HT_EPOCH_BYTES + 1];
    ht_log_error ("store: NEW EPOCH %s: %s; every peer reads this store again from "
                "zero, and it asks each peer again for all it should hold",
                ht_hex_encode (epoch, HT_EPOCH_BYTES, hex), why? why: "");
    return HT_OK;
}

void
ht_store_epoch_copy (ht_store_t *self, uint8_t epoch [HT_EPOCH_BYTES])
{
    pthread_rwlock_rdlock (&self->map_lock);
    memcpy (epoch, self->epoch, HT_EPOCH_BYTES);
    pthread_rwlock_unlock (&self->map_lock);
}

int
ht_store__rollback_check (ht_store_t *self)
{
    const char *dir = s_dir (self);
    if (!dir)
        return HT_OK;
    //  The mark is read before the data and again after it: the mark
    //  follows each commit, so a mark read first is never ahead of the
    //  data read next, unless the data went back
    uint8_t before [HT_EPOCH_BYTES], after [HT_EPOCH_BYTES];
    uint64_t before_seq = 0, after_seq = 0;
    bool marked = s_hwm_read (dir, before, &before_seq);
    uint64_t last_seq = ht_store_last_seq (self);
    if (!marked) {
        ht_store__hwm_write (self, self->epoch, last_seq);
        return HT_OK;
    }
    bool same = memcmp (before, self->epoch, HT_EPOCH_BYTES) == 0;
    if (same && before_seq <= last_seq)
        return HT_OK;
    //  Another process may have taken a new epoch between the two reads
    if (s_hwm_read (dir, after, &after_seq)
    &&  memcmp (after, self->epoch, HT_EPOCH_BYTES) == 0 && after_seq <= ht_store_last_seq (self))
        return HT_OK;
    char why [256], hex [2 * HT_EPOCH_BYTES + 1];
    ht_hex_encode (before, HT_EPOCH_BYTES, hex);
    if (same)
        snprintf (why, sizeof why, "the data file was rolled back: it ends at sequence %"
                  PRIu64 ", but this store had reached %" PRIu64 " (a backup or a copy "
                  "put in place, or commits lost by the disk)", last_seq, before_seq);
    else
        snprintf (why, sizeof why, "the data file is of another epoch than this store's "
                  "last commit (epoch %.8s…, sequence %" PRIu64 "): an older copy was "
                  "put in place", hex, before_seq);
    return ht_store_new_epoch (self, why);
}

//  --------------------------------------------------------------------------
//  Backup and restore

//  Open an LMDB file (not a directory) alone, with room to add a little
static int
s_file_env_open (const char *path, bool writable, MDB_env **env_p)
{
    struct stat info;
    if (stat (path, &info) != 0)
        return ENOENT;
    MDB_env *env = NULL;
    int rc = mdb_env_create (&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs (env, HT_STORE_DB_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize (env, (size_t) info.st_size + 4u * 1024 * 1024);
    if (rc == 0)
        rc = mdb_env_open (env, path, MDB_NOSUBDIR | MDB_NOLOCK
                           | (writable? 0: MDB_RDONLY), 0600);
    if (rc && env)
        mdb_env_close (env);
    *env_p = rc == 0? env: NULL;
    return rc;
}

//  The entries of a named database in txn (0 if it is not there)
static uint64_t
s_entries (MDB_txn *txn, const char *name)
{
    MDB_dbi dbi;
    MDB_stat stat;
    if (mdb_dbi_open (txn, name, 0, &dbi) || mdb_stat (txn, dbi, &stat))
        return 0;
    return stat.ms_entries;
}

//  A meta value of the file env's txn as a big-endian u64 (0 if absent)
static uint64_t
s_meta_u64 (MDB_txn *txn, MDB_dbi meta, const char *name)
{
    MDB_val key = { strlen (name), (void *) name }, value;
    if (mdb_get (txn, meta, &key, &value) || value.mv_size != HT_STORE_U64_BYTES)
        return 0;
    return ht_store__get_be64 (value.mv_data);
}

//  Build the manifest of a copy from what it holds
static json_t *
s_manifest_build (MDB_txn *txn, MDB_dbi meta)
{
    char region [HT_REGION_BYTES] = "", hex [2 * HT_EPOCH_BYTES + 1] = "";
    MDB_val key = { 6, (void *) "region" }, value;
    if (mdb_get (txn, meta, &key, &value) == 0 && value.mv_size == HT_REGION_DIGITS)
        memcpy (region, value.mv_data, HT_REGION_DIGITS);
    key = (MDB_val) { 5, (void *) "epoch" };
    if (mdb_get (txn, meta, &key, &value) == 0 && value.mv_size == HT_EPOCH_BYTES)
        ht_hex_encode (value.mv_data, HT_EPOCH_BYTES, hex);
    json_t *records = json_object ();
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        char name [32];
        const char *kind = ht_schema_kind_at (index)->name;
        ht_store__count_name (kind, name, sizeof name);
        json_object_set_new (records, kind, json_integer ((json_int_t) s_meta_u64 (txn, meta, name)));
    }
    int64_t now = (int64_t) ht_hlc_wall_ms ();
    char when [40];
    ht_hlc_format_ms (now, when, sizeof when);
    return json_pack ("{s:s, s:s, s:s, s:I, s:s, s:I, s:o, s:I, s:I, s:I}",
        "format", S_BACKUP_FORMAT, "region", region, "epoch", hex,
        "last_seq", (json_int_t) s_meta_u64 (txn, meta, "last_seq"),
        "time", when, "time_ms", (json_int_t) now, "records", records,
        "versions", (json_int_t) s_entries (txn, "hist"),
        "quarantine", (json_int_t) s_entries (txn, "quarantine"),
        "changes", (json_int_t) s_entries (txn, "seq"));
}

//  The file's size as the manifest's "bytes" (not stored in the copy:
//  storing it would change it)
static void
s_manifest_size (json_t *manifest, const char *path)
{
    struct stat info;
    if (manifest && stat (path, &info) == 0)
        json_object_set_new (manifest, "bytes", json_integer ((json_int_t) info.st_size));
}

//  Fill in the manifest of the copy at path, inside the copy's meta
static int
s_manifest_write (const char *path, json_t **manifest_p)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    int rc = s_file_env_open (path, true, &env);
    if (rc == 0)
        rc = mdb_txn_begin (env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "meta", 0, &meta);
    json_t *manifest = rc == 0? s_manifest_build (txn, meta): NULL;
    char *text = manifest? json_dumps (manifest, JSON_COMPACT | JSON_SORT_KEYS): NULL;
    if (rc == 0 && !text)
        rc = ENOMEM;
    if (rc == 0) {
        MDB_val key = { 6, (void *) "backup" }, value = { strlen (text), text };
        rc = mdb_put (txn, meta, &key, &value, 0);
    }
    if (rc == 0) {
        rc = mdb_txn_commit (txn);
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort (txn);
    if (env)
        mdb_env_close (env);
    free (text);
    if (rc)
        json_decref (manifest);
    else
        *manifest_p = manifest;
    return rc;
}

//  fsync a directory, so a rename in it is on disk
static void
s_dir_sync (const char *path)
{
    char *copy = strdup (path);
    char *slash = copy? strrchr (copy, '/'): NULL;
    const char *dir = !copy? NULL: slash == copy? "/": slash? (*slash = 0, copy): ".";
    int fd = dir? open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC): -1;
    if (fd >= 0) {
        if (fsync (fd) != 0)
            ht_log_debug ("store: fsync %s: %s", dir, strerror (errno));
        close (fd);
    }
    free (copy);
}

int
ht_store_backup (ht_store_t *self, const char *path, json_t **manifest_p)
{
    if (!self || !path || !*path || !manifest_p)
        return HT_EINVAL;
    *manifest_p = NULL;
    char partial [PATH_MAX];
    if (snprintf (partial, sizeof partial, "%s.partial", path) >= (int) sizeof partial)
        return HT_EINVAL;
    struct stat info;
    if (stat (path, &info) == 0) {
        ht_log_error ("backup: %s exists; name a new file", path);
        return HT_EIO;
    }
    unlink (partial);
    int fd = open (partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        ht_log_error ("backup: cannot create %s: %s", partial, strerror (errno));
        return HT_EIO;
    }
    //  One read transaction: a consistent copy while writers go on;
    //  compaction leaves free pages out and renumbers the rest
    pthread_rwlock_rdlock (&self->map_lock);
    int rc = mdb_env_copyfd2 (self->env, fd, MDB_CP_COMPACT);
    pthread_rwlock_unlock (&self->map_lock);
    if (rc == 0 && fsync (fd) != 0)
        rc = errno;
    close (fd);
    if (rc == 0)
        rc = s_manifest_write (partial, manifest_p);
    if (rc == 0 && rename (partial, path) != 0)
        rc = errno;
    if (rc) {
        ht_log_error ("backup: cannot write %s: %s", path, mdb_strerror (rc));
        unlink (partial);
        json_decref (*manifest_p);
        *manifest_p = NULL;
        return rc == ENOSPC? HT_EFULL: HT_EIO;
    }
    s_dir_sync (path);
    s_manifest_size (*manifest_p, path);
    return HT_OK;
}

json_t *
ht_store_backup_manifest (const char *path, int *error)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    json_t *manifest = NULL;
    int code = HT_ENOTFOUND;
    int rc = s_file_env_open (path, false, &env);
    if (rc == 0)
        rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "meta", 0, &meta);
    MDB_val key = { 6, (void *) "backup" }, value;
    if (rc == 0 && mdb_get (txn, meta, &key, &value) == 0)
        manifest = json_loadb (value.mv_data, value.mv_size, 0, NULL);
    if (rc == ENOENT)
        code = HT_ENOTFOUND;
    else
    if (!manifest || !json_is_object (manifest)
    ||  !json_is_string (json_object_get (manifest, "format"))
    ||  !streq (json_string_value (json_object_get (manifest, "format")), S_BACKUP_FORMAT)) {
        json_decref (manifest);
        manifest = NULL;
        code = HT_EVERSION;       //  not a backup of this format
    }
    else {
        code = HT_OK;
        s_manifest_size (manifest, path);
    }
    if (txn)
        mdb_txn_abort (txn);
    if (env)
        mdb_env_close (env);
    if (error)
        *error = code;
    return manifest;
}

//  Copy file from to a new file to (mode 0600), synced
static int
s_file_copy (const char *from, const char *to)
{
    int in = open (from, O_RDONLY | O_CLOEXEC);
    int out = in < 0? -1: open (to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = in < 0 || out < 0? errno: 0;
    char buffer [1 << 16];
    ssize_t got;
    while (rc == 0 && (got = read (in, buffer, sizeof buffer)) != 0) {
        if (got < 0)
            rc = errno;
        else
        if (write (out, buffer, (size_t) got) != got)
            rc = errno? errno: EIO;
    }
    if (rc == 0 && fsync (out) != 0)
        rc = errno;
    if (in >= 0)
        close (in);
    if (out >= 0)
        close (out);
    return rc;
}

//  Delete a meta item in a transaction of its own
static int
s_meta_del (ht_store_t *self, const char *name)
{
    MDB_txn *txn = NULL;
    MDB_val key = { strlen (name), (void *) name };
    int rc = ht_store__txn_begin (self, 0, &txn);
    if (rc == 0) {
        rc = mdb_del (txn, self->dbi [HT_STORE_DB_META], &key, NULL);
        rc = rc == MDB_NOTFOUND? 0: rc;
    }
    if (rc == 0) {
        rc = mdb_txn_commit (txn);
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort (txn);
    return rc? ht_store__error ("cannot update meta", rc): 0;
}

int
ht_store_restore (const char *backup, const char *dir, json_t **manifest_p,
                  char *saved, size_t saved_size)
{
    if (!backup || !dir || !manifest_p)
        return HT_EINVAL;
    if (saved && saved_size)
        *saved = 0;
    int code;
    json_t *manifest = ht_store_backup_manifest (backup, &code);
    if (!manifest)
        return code;
    char data [PATH_MAX], incoming [PATH_MAX], aside [PATH_MAX], path [PATH_MAX];
    snprintf (data, sizeof data, "%s/data.mdb", dir);
    snprintf (incoming, sizeof incoming, "%s/data.mdb.restoring", dir);
    int rc = s_file_copy (backup, incoming);
    struct stat info;
    //  The data file replaced is kept beside, never deleted
    if (rc == 0 && stat (data, &info) == 0) {
        char when [40];
        ht_hlc_format_ms ((int64_t) ht_hlc_wall_ms (), when, sizeof when);
        snprintf (aside, sizeof aside, "%s/data.mdb.before-restore-%s", dir, when);
        if (rename (data, aside) != 0)
            rc = errno;
        else
        if (saved && saved_size)
            snprintf (saved, saved_size, "%s", aside);
    }
    if (rc == 0 && rename (incoming, data) != 0)
        rc = errno;
    if (rc) {
        ht_log_error ("restore: cannot put %s in place in %s: %s", backup, dir, strerror (rc));
        unlink (incoming);
        json_decref (manifest);
        return HT_EIO;
    }
    //  The old lock file's reader table and mark describe the old data
    snprintf (path, sizeof path, "%s/lock.mdb", dir);
    unlink (path);
    s_hwm_path (dir, path, sizeof path);
    unlink (path);
    s_dir_sync (data);
    ht_store_t *store = ht_store_open (dir, 0, &code);
    if (!store) {
        json_decref (manifest);
        return code;
    }
    char why [200];
    snprintf (why, sizeof why, "restored from a backup taken at %s (sequence %" PRIu64 ")",
              json_string_value (json_object_get (manifest, "time")),
              (uint64_t) json_integer_value (json_object_get (manifest, "last_seq")));
    code = ht_store_new_epoch (store, why);
    if (code == HT_OK)
        code = s_meta_del (store, "backup");
    char hex [2 * HT_EPOCH_BYTES + 1];
    json_object_set_new (manifest, "new_epoch", json_string (
        ht_hex_encode (ht_store_epoch (store), HT_EPOCH_BYTES, hex)));
    ht_store_destroy (&store);
    if (code != HT_OK) {
        json_decref (manifest);
        return code;
    }
    *manifest_p = manifest;
    return HT_OK;
}
