//  ht_store_certs: the certificate source a store offers ht_cert_authorize,
//  and its cache (the design is in ht_store.c's top comment).
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ht_store_private.h"
#include "ht_log.h"

#define S_CERT_CACHE_MAX_ENTRIES 10000
#define S_GEN_UNKNOWN UINT64_MAX    //  cache generation after an abort
#define S_STATUS_UNKNOWN 1          //  cache entry not looked up yet
#define S_HEX_KEY_CHARS (HT_PUBKEY_BYTES * 2)

//  One cached lookup of a key's cert and revocation
typedef struct {
    int cert_status;                    //  0, HT_ENOTFOUND or unknown
    ht_cert_t cert;                     //  parsed cert if cert_status is 0
    uint8_t issuer [HT_PUBKEY_BYTES];   //  the cert record's author
    int revocation_status;              //  0 (revoked), HT_ENOTFOUND, unknown
    uint64_t revoked_at_ms;             //  when the revocation takes effect
} s_cert_entry_t;

//  Free a cache entry (zhashx destructor)
static void
s_cert_entry_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Forget everything cached: after an abort nothing cached can be trusted
void
ht_store__cache_forget (ht_store_t *self)
{
    zhashx_purge (self->certs);
    self->certs_gen = S_GEN_UNKNOWN;
}

//  Purge the cache if certs changed since it was filled (in any process)
int
ht_store__cache_sync (ht_store_t *self, MDB_txn *txn)
{
    uint64_t generation;
    int rc = ht_store__meta_get_u64 (self, txn, "certgen", &generation);
    if (rc == 0 && generation != self->certs_gen) {
        zhashx_purge (self->certs);
        self->certs_gen = generation;
    }
    return rc;
}

//  The cache entry for a key, created empty if missing; NULL if no memory
static s_cert_entry_t *
s_cache_entry (ht_store_t *self, const char *hex)
{
    s_cert_entry_t *entry = zhashx_lookup (self->certs, hex);
    if (entry)
        return entry;
    if (zhashx_size (self->certs) >= S_CERT_CACHE_MAX_ENTRIES)
        zhashx_purge (self->certs);
    entry = calloc (1, sizeof *entry);
    if (!entry)
        return NULL;
    entry->cert_status = S_STATUS_UNKNOWN;
    entry->revocation_status = S_STATUS_UNKNOWN;
    if (zhashx_insert (self->certs, hex, entry) != 0) {
        free (entry);
        return NULL;
    }
    return entry;
}

//  Load the current record (kind, hex key); NULL if absent or a tombstone.
//  LMDB errors go to *fatal.
static ht_record_t *
s_cert_record (ht_store_t *self, MDB_txn *txn, const char *kind,
               const char *hex, int *fatal)
{
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    size_t ekey_size = ht_store__entity_key (kind, hex, ekey);
    ht_record_t *record = NULL;
    int rc = ht_store__record_load (self, txn, ekey, ekey_size, &record, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        *fatal = rc;
    if (record && ht_record_deleted (record))
        ht_record_destroy (&record);
    return record;
}

//  Look up a key's cert into the entry: 0 or HT_ENOTFOUND
static int
s_cert_load (ht_store_t *self, MDB_txn *txn, const uint8_t *pubkey,
             const char *hex, s_cert_entry_t *entry, int *fatal)
{
    ht_record_t *record = s_cert_record (self, txn, "cert", hex, fatal);
    int code = HT_ENOTFOUND;
    //  A cert stored under another key than its subject's is no proof
    if (record && ht_cert_parse (record, &entry->cert) == 0
    &&  memcmp (entry->cert.pubkey, pubkey, HT_PUBKEY_BYTES) == 0) {
        memcpy (entry->issuer, ht_record_author (record), HT_PUBKEY_BYTES);
        code = 0;
    }
    ht_record_destroy (&record);
    return code;
}

//  Look up a key's revocation into the entry: 0 (revoked) or HT_ENOTFOUND
static int
s_revocation_load (ht_store_t *self, MDB_txn *txn, const uint8_t *pubkey,
                   const char *hex, s_cert_entry_t *entry, int *fatal)
{
    ht_record_t *record = s_cert_record (self, txn, "revocation", hex, fatal);
    uint8_t revoked [HT_PUBKEY_BYTES];
    int code = HT_ENOTFOUND;
    if (record
    &&  ht_revocation_parse (record, revoked, &entry->revoked_at_ms) == 0
    &&  memcmp (revoked, pubkey, HT_PUBKEY_BYTES) == 0)
        code = 0;
    ht_record_destroy (&record);
    return code;
}

//  Cert lookup through the cache within txn: 0 or HT_ENOTFOUND
int
ht_store__lookup_cert (ht_store_t *self, MDB_txn *txn, const uint8_t *pubkey,
                       ht_cert_t *cert, uint8_t *issuer, int *fatal)
{
    char hex [S_HEX_KEY_CHARS + 1];
    ht_hex_encode (pubkey, HT_PUBKEY_BYTES, hex);
    s_cert_entry_t *entry = s_cache_entry (self, hex);
    if (!entry) {
        *fatal = ENOMEM;
        return HT_ENOTFOUND;
    }
    if (entry->cert_status == S_STATUS_UNKNOWN) {
        int lmdb_error = 0;
        int code = s_cert_load (self, txn, pubkey, hex, entry, &lmdb_error);
        if (lmdb_error) {
            *fatal = lmdb_error;
            return HT_ENOTFOUND;
        }
        entry->cert_status = code;
    }
    if (entry->cert_status == 0) {
        *cert = entry->cert;
        memcpy (issuer, entry->issuer, HT_PUBKEY_BYTES);
    }
    return entry->cert_status;
}

//  Revocation lookup through the cache within txn: 0 or HT_ENOTFOUND
int
ht_store__lookup_revocation (ht_store_t *self, MDB_txn *txn, const uint8_t *pubkey,
                             uint64_t *revoked_at_ms, int *fatal)
{
    char hex [S_HEX_KEY_CHARS + 1];
    ht_hex_encode (pubkey, HT_PUBKEY_BYTES, hex);
    s_cert_entry_t *entry = s_cache_entry (self, hex);
    if (!entry) {
        *fatal = ENOMEM;
        return HT_ENOTFOUND;
    }
    if (entry->revocation_status == S_STATUS_UNKNOWN) {
        int lmdb_error = 0;
        int code = s_revocation_load (self, txn, pubkey, hex, entry, &lmdb_error);
        if (lmdb_error) {
            *fatal = lmdb_error;
            return HT_ENOTFOUND;
        }
        entry->revocation_status = code;
    }
    if (entry->revocation_status == 0)
        *revoked_at_ms = entry->revoked_at_ms;
    return entry->revocation_status;
}

//  Certsource callback reading in its own read transaction
static int
s_read_cert (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
             ht_cert_t *cert, uint8_t issuer [HT_PUBKEY_BYTES])
{
    ht_store_t *self = (ht_store_t *) ctx;
    MDB_txn *txn = NULL;
    int fatal = 0;
    int code = HT_ENOTFOUND;
    if (ht_store__txn_begin (self, MDB_RDONLY, &txn) == 0
    &&  ht_store__cache_sync (self, txn) == 0)
        code = ht_store__lookup_cert (self, txn, pubkey, cert, issuer, &fatal);
    if (txn)
        ht_store__read_end (self, txn);
    if (fatal)
        ht_log_error ("store: cert lookup failed: %s", mdb_strerror (fatal));
    return code;
}

//  Certsource callback reading in its own read transaction
static int
s_read_revocation (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
                   uint64_t *revoked_at_ms)
{
    ht_store_t *self = (ht_store_t *) ctx;
    MDB_txn *txn = NULL;
    int fatal = 0;
    int code = HT_ENOTFOUND;
    if (ht_store__txn_begin (self, MDB_RDONLY, &txn) == 0
    &&  ht_store__cache_sync (self, txn) == 0)
        code = ht_store__lookup_revocation (self, txn, pubkey, revoked_at_ms, &fatal);
    if (txn)
        ht_store__read_end (self, txn);
    //  Fail closed: a revocation we cannot read must not pass as absent
    if (fatal) {
        ht_log_error ("store: revocation lookup failed: %s", mdb_strerror (fatal));
        *revoked_at_ms = 0;
        code = 0;
    }
    return code;
}


int
ht_store__certs_changed (ht_store_t *self, MDB_txn *txn, const ht_record_t *record)
{
    const char *kind = ht_record_kind (record);
    if (!streq (kind, "cert") && !streq (kind, "revocation"))
        return 0;
    zhashx_purge (self->certs);
    self->certs_gen++;
    return ht_store__meta_put_u64 (self, txn, "certgen", self->certs_gen);
}

int
ht_store__certs_init (ht_store_t *self)
{
    self->certs = zhashx_new ();
    if (!self->certs)
        return HT_ENOMEM;
    zhashx_set_destructor (self->certs, s_cert_entry_destroy);
    self->certs_gen = S_GEN_UNKNOWN;
    self->source.cert = s_read_cert;
    self->source.revocation = s_read_revocation;
    self->source.ctx = self;
    return 0;
}

const ht_certsource_t *
ht_store_certsource (ht_store_t *self)
{
    return &self->source;
}
