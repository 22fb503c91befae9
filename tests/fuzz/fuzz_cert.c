//  fuzz_cert: certificate parsing and the authorization rule
//  (ht_cert_parse, ht_cert_subject, ht_revocation_parse,
//  ht_cert_authorize, ht_cert_key_valid).
//
//  Input: encoded records, one after another (a msgpack stream). Every
//  record but the last that decodes and parses as a cert or revocation
//  joins the certificate source, on top of the fixed PKI of ht_fuzz.h
//  (as a store's certs would: trusted as verified, so the fuzzer can
//  build any chain it likes); the last record is the one authorized.
//
//  Oracle beyond "no crash": a record the rule accepts lies inside its
//  author's jurisdiction, checked here independently: the author's
//  certificate exists, is valid and unrevoked at the record's time,
//  permits its kind, and cert.region ⊑ scope ⊑ region; and every
//  certificate up the chain is valid then and lies inside its issuer's
//  region, up to the anchor's self-signed certificate. With
//  HT_FUZZ_VERBOSE set it prints each verdict.
#include "ht_fuzz.h"
#include "ht_codec.h"

#define S_MAX_RECORDS 16

typedef struct {
    ht_cert_t cert;                         //  parsed content
    uint8_t issuer [HT_PUBKEY_BYTES];       //  who signed it
} s_cert_entry_t;

typedef struct {
    uint8_t pubkey [HT_PUBKEY_BYTES];       //  revoked key
    uint64_t revoked_at_ms;                 //  from when
} s_revocation_entry_t;

typedef struct {
    s_cert_entry_t certs [HT_FUZZ_PRINCIPALS + S_MAX_RECORDS];
    size_t cert_count;
    s_revocation_entry_t revocations [S_MAX_RECORDS];
    size_t revocation_count;
} s_source_t;

static ht_fuzz_pki_t *s_pki;

//  The latest cert for pubkey (later entries replace earlier ones)
static const s_cert_entry_t *
s_find_cert (const s_source_t *self, const uint8_t *pubkey)
{
    for (size_t index = self->cert_count; index-- > 0; )
        if (memcmp (self->certs [index].cert.pubkey, pubkey, HT_PUBKEY_BYTES) == 0)
            return &self->certs [index];
    return NULL;
}

static int
s_source_cert (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES], ht_cert_t *cert,
               uint8_t issuer [HT_PUBKEY_BYTES])
{
    const s_cert_entry_t *entry = s_find_cert ((const s_source_t *) ctx, pubkey);
    if (!entry)
        return HT_ENOTFOUND;
    *cert = entry->cert;
    memcpy (issuer, entry->issuer, HT_PUBKEY_BYTES);
    return HT_OK;
}

static int
s_source_revocation (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES], uint64_t *revoked_at_ms)
{
    const s_source_t *self = (const s_source_t *) ctx;
    for (size_t index = 0; index < self->revocation_count; index++)
        if (memcmp (self->revocations [index].pubkey, pubkey, HT_PUBKEY_BYTES) == 0) {
            *revoked_at_ms = self->revocations [index].revoked_at_ms;
            return HT_OK;
        }
    return HT_ENOTFOUND;
}

//  Add a decoded cert or revocation to the source
static void
s_source_add (s_source_t *self, const ht_record_t *record)
{
    if (ht_record_deleted (record))
        return;
    if (streq (ht_record_kind (record), "cert")) {
        s_cert_entry_t *entry = &self->certs [self->cert_count];
        if (ht_cert_parse (record, &entry->cert) == HT_OK) {
            memcpy (entry->issuer, ht_record_author (record), HT_PUBKEY_BYTES);
            self->cert_count++;
        }
    }
    else
    if (streq (ht_record_kind (record), "revocation")) {
        s_revocation_entry_t *entry = &self->revocations [self->revocation_count];
        if (ht_revocation_parse (record, entry->pubkey, &entry->revoked_at_ms) == HT_OK)
            self->revocation_count++;
    }
}

//  The independent check of an accepted record (see the file's comment)
static void
s_check_accepted (const s_source_t *source, const ht_record_t *record, const uint8_t *anchor)
{
    uint64_t at_ms = ht_hlc_ms (ht_record_hlc (record));
    const char *kind = ht_record_kind (record);
    uint8_t key [HT_PUBKEY_BYTES];
    memcpy (key, ht_record_author (record), HT_PUBKEY_BYTES);
    char scope [HT_REGION_BYTES], region [HT_REGION_BYTES];
    snprintf (scope, sizeof scope, "%s", ht_record_scope (record));
    snprintf (region, sizeof region, "%s", ht_record_region (record));
    //  What a cert link grants: the issuer must hold every kind of it
    ht_cert_t granted;
    memset (&granted, 0, sizeof granted);
    bool is_cert = streq (kind, "cert") && !ht_record_deleted (record);
    if (is_cert && ht_cert_parse (record, &granted))
        HT_FUZZ_FAIL ("accepted: a certificate record without its content");
    //  The anchor certifies itself: where every chain ends, by design
    if (is_cert && memcmp (ht_record_author (record), anchor, HT_PUBKEY_BYTES) == 0
    &&  memcmp (granted.pubkey, anchor, HT_PUBKEY_BYTES) == 0)
        return;
    for (int depth = 0; ; depth++) {
        if (depth > HT_CERT_MAX_DEPTH)
            HT_FUZZ_FAIL ("accepted: a chain longer than %d", HT_CERT_MAX_DEPTH);
        const s_cert_entry_t *entry = s_find_cert (source, key);
        if (!entry)
            HT_FUZZ_FAIL ("accepted: no certificate at depth %d of the chain", depth);
        const ht_cert_t *cert = &entry->cert;
        if (at_ms < cert->not_before_ms || at_ms > cert->not_after_ms)
            HT_FUZZ_FAIL ("accepted: a certificate at depth %d is not valid then", depth);
        uint64_t revoked_at;
        if (s_source_revocation ((void *) source, cert->pubkey, &revoked_at) == HT_OK
        &&  revoked_at <= at_ms)
            HT_FUZZ_FAIL ("accepted: a key at depth %d was revoked by then", depth);
        if (cert->role == HT_ROLE_OPERATOR)
            HT_FUZZ_FAIL ("accepted: an operator certificate at depth %d authored", depth);
        if (!ht_cert_permits (cert, kind))
            HT_FUZZ_FAIL ("accepted: the certificate at depth %d does not permit %s",
                          depth, kind);
        for (size_t index = 0; is_cert && index < granted.kind_count; index++)
            if (!ht_cert_permits (cert, granted.kinds [index]))
                HT_FUZZ_FAIL ("accepted: a certificate grants %s, which its issuer "
                              "(depth %d) lacks", granted.kinds [index], depth);
        if (!ht_region_covers (cert->region, scope) || !ht_region_covers (scope, region))
            HT_FUZZ_FAIL ("accepted: outside the jurisdiction at depth %d: cert %s, "
                          "scope %s, region %s", depth, cert->region, scope, region);
        if (memcmp (entry->issuer, key, HT_PUBKEY_BYTES) == 0) {
            if (memcmp (key, anchor, HT_PUBKEY_BYTES))
                HT_FUZZ_FAIL ("accepted: the chain ends in a key that is not the anchor");
            return;
        }
        memcpy (key, entry->issuer, HT_PUBKEY_BYTES);
        kind = "cert";
        granted = *cert;
        is_cert = true;
        snprintf (scope, sizeof scope, "%s", cert->region);
        snprintf (region, sizeof region, "%s", cert->region);
    }
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    s_pki = ht_fuzz_initialize (argc, argv, true);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static s_source_t source;
    memset (&source, 0, sizeof source);
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++) {
        source.certs [i].cert = s_pki->parsed [i];
        memcpy (source.certs [i].issuer, ht_record_author (s_pki->certs [i]), HT_PUBKEY_BYTES);
    }
    source.cert_count = HT_FUZZ_PRINCIPALS;
    ht_certsource_t certsource = { s_source_cert, s_source_revocation, &source };
    const uint8_t *anchor = ht_keypair_public (s_pki->keys [HT_FUZZ_ROOT]);

    ht_record_t *last = NULL;
    size_t at = 0;
    for (int count = 0; at < size && count < S_MAX_RECORDS; count++) {
        size_t consumed = 0;
        if (ht_codec_scan_prefix (data + at, size - at, &consumed) || consumed == 0)
            break;
        ht_record_t *record = ht_record_decode (data + at, consumed, NULL, NULL);
        at += consumed;
        if (!record)
            continue;
        if (last)
            s_source_add (&source, last);
        ht_record_destroy (&last);
        last = record;
    }
    if (!last)
        return 0;
    const char *reason = NULL;
    uint8_t pubkey [HT_PUBKEY_BYTES];
    uint64_t revoked_at;
    ht_cert_t cert;
    (void) ht_cert_subject (last, pubkey, &reason);
    (void) ht_cert_parse (last, &cert);
    (void) ht_revocation_parse (last, pubkey, &revoked_at);
    int rc = ht_cert_authorize (last, anchor, &certsource, &reason);
    if (getenv ("HT_FUZZ_VERBOSE"))
        fprintf (stderr, "fuzz_cert: %s/%s after %zu certs, %zu revocations: %s\n",
                 ht_record_kind (last), ht_record_key (last), source.cert_count,
                 source.revocation_count, rc? reason: "accepted");
    if (rc == HT_OK)
        s_check_accepted (&source, last, anchor);
    else
    if (!reason)
        HT_FUZZ_FAIL ("authorization refused without a reason (%s)", ht_strerror (rc));
    (void) ht_cert_key_valid (ht_record_author (last), ht_hlc_ms (ht_record_hlc (last)),
                              anchor, &certsource, &cert, &reason);
    ht_record_destroy (&last);
    return 0;
}
