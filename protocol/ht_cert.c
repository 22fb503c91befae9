//  ht_cert: certificates and revocations as records, and the
//  authorization rule that walks a chain to the root anchor.
#include <czmq.h>
#include <sodium.h>
#include "ht_cert.h"
#include "ht_hlc.h"
#include "ht_keys.h"

static const char *const s_role_names [] = { "node", "department", "partner", "operator" };

const char *
ht_role_name (ht_role_t role)
{
    return role <= HT_ROLE_OPERATOR? s_role_names [role]: "?";
}

int
ht_role_parse (const char *name)
{
    for (int role = HT_ROLE_NODE; role <= HT_ROLE_OPERATOR; role++)
        if (streq (s_role_names [role], name))
            return role;
    return -1;
}

//  Sign, then check the record against its schema; NULL with the reason
static ht_record_t *
s_sign_checked (ht_record_t *record, const ht_keypair_t *issuer,
                int *error, const char **reason)
{
    int rc = ht_record_sign (record, issuer);
    if (rc) {
        *reason = ht_strerror (rc);
    }
    else
    if ((rc = ht_record_validate (record, reason)) != HT_OK)
        //  Validation's reason lives in the record, which dies below
        *reason = "record fails its schema (certs: known kinds, not_before <= "
                  "not_after, only node certificates grant cert or revocation)";
    *error = rc;
    if (rc)
        ht_record_destroy (&record);
    return record;
}

ht_record_t *
ht_cert_issue (const ht_cert_t *spec, const ht_keypair_t *issuer, uint64_t hlc,
               int *error_p, const char **reason_p)
{
    int ignored_error;
    const char *ignored_reason;
    int *error = error_p? error_p: &ignored_error;
    const char **reason = reason_p? reason_p: &ignored_reason;
    ht_record_t *record = ht_record_new ("cert");
    const char *kinds [HT_CERT_MAX_KINDS];
    for (size_t index = 0; index < spec->kind_count && index < HT_CERT_MAX_KINDS; index++)
        kinds [index] = spec->kinds [index];
    int rc = spec->kind_count > HT_CERT_MAX_KINDS
          || ht_record_set_region (record, spec->region)
          || ht_record_set_scope (record, spec->region)
          || ht_record_set_str (record, "name", spec->name)
          || ht_record_set_str (record, "role", ht_role_name (spec->role))
          || ht_record_set_strs (record, "kinds", kinds, spec->kind_count)
          || ht_record_set_int (record, "not_before", (int64_t) spec->not_before_ms)
          || ht_record_set_int (record, "not_after", (int64_t) spec->not_after_ms)
          || ht_record_set_bin (record, "pubkey", spec->pubkey, HT_PUBKEY_BYTES)
          || (*spec->department && ht_record_set_str (record, "department", spec->department))
          || (*spec->policy && ht_record_set_str (record, "policy", spec->policy))
          || ht_record_derive_key (record, NULL);
    if (rc) {
        *error = HT_EINVAL;
        *reason = "certificate spec has an invalid region, name or kind list";
        ht_record_destroy (&record);
        return NULL;
    }
    ht_record_set_hlc (record, hlc);
    return s_sign_checked (record, issuer, error, reason);
}

ht_record_t *
ht_revocation_issue (const uint8_t pubkey [HT_PUBKEY_BYTES], const char *region,
                     uint64_t revoked_at_ms, const char *reason_text,
                     const ht_keypair_t *issuer, uint64_t hlc,
                     int *error_p, const char **reason_p)
{
    int ignored_error;
    const char *ignored_reason;
    int *error = error_p? error_p: &ignored_error;
    const char **reason = reason_p? reason_p: &ignored_reason;
    ht_record_t *record = ht_record_new ("revocation");
    int rc = ht_record_set_region (record, region)
          || ht_record_set_scope (record, region)
          || ht_record_set_bin (record, "pubkey", pubkey, HT_PUBKEY_BYTES)
          || ht_record_set_int (record, "revoked_at", (int64_t) revoked_at_ms)
          || (reason_text && *reason_text
              && ht_record_set_str (record, "reason", reason_text))
          || ht_record_derive_key (record, NULL);
    if (rc) {
        *error = HT_EINVAL;
        *reason = "revocation has an invalid region or reason";
        ht_record_destroy (&record);
        return NULL;
    }
    ht_record_set_hlc (record, hlc);
    return s_sign_checked (record, issuer, error, reason);
}

//  Copy a STR field into a fixed buffer ("" if absent); false if it does
//  not fit, which a record that passed its schema never does (the buffers
//  are sized from the schema's limits). Never cut: a cut could split a
//  character, and a shortened name is another name.
static bool
s_copy_text (const ht_record_t *record, const char *name, char *target, size_t size)
{
    const char *text = ht_record_get_str (record, name);
    size_t length = text? strlen (text): 0;
    if (length >= size)
        return false;
    memcpy (target, text? text: "", length + 1);
    return true;
}

int
ht_cert_parse (const ht_record_t *record, ht_cert_t *cert)
{
    if (!streq (ht_record_kind (record), "cert"))
        return HT_EKIND;
    memset (cert, 0, sizeof (*cert));
    size_t size = 0;
    const uint8_t *pubkey = ht_record_get_bin (record, "pubkey", &size);
    int64_t not_before, not_after;
    const char *role = ht_record_get_str (record, "role");
    if (!pubkey || size != HT_PUBKEY_BYTES || !role || ht_role_parse (role) < 0
    ||  !ht_record_get_int (record, "not_before", &not_before)
    ||  !ht_record_get_int (record, "not_after", &not_after))
        return HT_EFIELD;
    memcpy (cert->pubkey, pubkey, HT_PUBKEY_BYTES);
    cert->role = (ht_role_t) ht_role_parse (role);
    cert->not_before_ms = (uint64_t) not_before;
    cert->not_after_ms = (uint64_t) not_after;
    size_t count = ht_record_get_strs_count (record, "kinds");
    if (!s_copy_text (record, "name", cert->name, sizeof cert->name)
    ||  !s_copy_text (record, "department", cert->department, sizeof cert->department)
    ||  !s_copy_text (record, "policy", cert->policy, sizeof cert->policy)
    ||  count > HT_CERT_MAX_KINDS) {
        memset (cert, 0, sizeof (*cert));
        return HT_EFIELD;
    }
    snprintf (cert->region, sizeof cert->region, "%s", ht_record_region (record));
    for (size_t index = 0; index < count; index++) {
        const char *kind = ht_record_get_strs_item (record, "kinds", index);
        if (strlen (kind) > HT_KIND_MAX_CHARS) {
            memset (cert, 0, sizeof (*cert));
            return HT_EFIELD;
        }
        strcpy (cert->kinds [cert->kind_count++], kind);
    }
    return HT_OK;
}

int
ht_revocation_parse (const ht_record_t *record, uint8_t pubkey [HT_PUBKEY_BYTES],
                     uint64_t *revoked_at_ms)
{
    if (!streq (ht_record_kind (record), "revocation"))
        return HT_EKIND;
    size_t size = 0;
    const uint8_t *bin = ht_record_get_bin (record, "pubkey", &size);
    int64_t revoked_at;
    if (!bin || size != HT_PUBKEY_BYTES
    ||  !ht_record_get_int (record, "revoked_at", &revoked_at))
        return HT_EFIELD;
    memcpy (pubkey, bin, HT_PUBKEY_BYTES);
    *revoked_at_ms = (uint64_t) revoked_at;
    return HT_OK;
}

bool
ht_cert_permits (const ht_cert_t *cert, const char *kind)
{
    for (size_t index = 0; index < cert->kind_count; index++)
        if (streq (cert->kinds [index], kind))
            return true;
    return false;
}

//  Copy a region code (at most 12 digits) into a HT_REGION_BYTES buffer,
//  cut if longer: a link is walked for every record, where snprintf shows
static void
s_code_copy (char *to, const char *from)
{
    size_t size = strnlen (from, HT_REGION_BYTES - 1);
    memcpy (to, from, size);
    to [size] = 0;
}

//  What one step of the chain walk asks of the next certificate up
typedef struct {
    uint8_t author [HT_PUBKEY_BYTES];   //  who signed this link
    const char *kind;                   //  what it authored; NULL: any
    char scope [HT_REGION_BYTES];       //  how far it is shared
    char region [HT_REGION_BYTES];      //  where it belongs
    ht_cert_t granted;                  //  for cert links: what it grants
    bool is_cert;                       //  this link is a certificate
} s_link_t;

//  Is the key's own certificate valid, and the key unrevoked, at at_ms?
static int
s_check_validity (const ht_cert_t *cert, uint64_t at_ms,
                  const ht_certsource_t *source, const char **reason)
{
    uint64_t revoked_at;
    if (at_ms < cert->not_before_ms || at_ms > cert->not_after_ms) {
        *reason = "a certificate in the chain is not valid at the record's time";
        return HT_EEXPIRED;
    }
    if (source->revocation (source->ctx, cert->pubkey, &revoked_at) == HT_OK
    &&  revoked_at <= at_ms) {
        *reason = "a key in the chain was revoked before the record's time";
        return HT_EREVOKED;
    }
    return HT_OK;
}

//  Check one certificate against the link it must authorize
static int
s_check_link (const s_link_t *link, const ht_cert_t *cert, uint64_t at_ms,
              const ht_certsource_t *source, const char **reason)
{
    int rc = s_check_validity (cert, at_ms, source, reason);
    if (rc)
        return rc;
    if (link->kind && !ht_cert_permits (cert, link->kind)) {
        *reason = "the signer's certificate does not permit this record kind";
        return HT_EKINDPERM;
    }
    //  Operators run nodes and read their status; they author nothing
    if (link->kind && cert->role == HT_ROLE_OPERATOR) {
        *reason = "an operator certificate authors no records";
        return HT_EKINDPERM;
    }
    for (size_t index = 0; link->is_cert && index < link->granted.kind_count; index++)
        if (!ht_cert_permits (cert, link->granted.kinds [index])) {
            *reason = "a certificate grants a kind its issuer does not hold";
            return HT_EKINDPERM;
        }
    if (!ht_region_covers (cert->region, link->scope)
    ||  !ht_region_covers (link->scope, link->region)) {
        *reason = "the signer's jurisdiction does not cover the record's scope and region";
        return HT_ESCOPE;
    }
    return HT_OK;
}

//  Walk from link up to the anchor, checking each certificate at at_ms
static int
s_walk_chain (s_link_t *link, uint64_t at_ms, const uint8_t anchor [HT_PUBKEY_BYTES],
              const ht_certsource_t *source, const char **reason)
{
    for (int depth = 0; depth < HT_CERT_MAX_DEPTH; depth++) {
        ht_cert_t cert;
        uint8_t issuer [HT_PUBKEY_BYTES];
        if (source->cert (source->ctx, link->author, &cert, issuer)) {
            *reason = depth == 0? "no certificate for the record's author"
                                : "no certificate for an issuer in the chain";
            return HT_ENOCERT;
        }
        int rc = s_check_link (link, &cert, at_ms, source, reason);
        if (rc)
            return rc;
        if (sodium_memcmp (issuer, link->author, HT_PUBKEY_BYTES) == 0) {
            //  Self-signed: trusted only if it is the anchor
            if (sodium_memcmp (link->author, anchor, HT_PUBKEY_BYTES) == 0)
                return HT_OK;
            *reason = "the chain ends in a self-signed key that is not the root anchor";
            return HT_ECHAIN;
        }
        //  Next link: the issuer must have been entitled to issue this cert
        memcpy (link->author, issuer, HT_PUBKEY_BYTES);
        link->kind = "cert";
        s_code_copy (link->scope, cert.region);
        s_code_copy (link->region, cert.region);
        link->granted = cert;
        link->is_cert = true;
    }
    *reason = "certificate chain is too long";
    return HT_ECHAIN;
}

int
ht_cert_subject (const ht_record_t *record, uint8_t pubkey [HT_PUBKEY_BYTES],
                 const char **reason_p)
{
    const char *ignored;
    const char **reason = reason_p? reason_p: &ignored;
    const char *kind = ht_record_kind (record);
    if (!streq (kind, "cert") && !streq (kind, "revocation"))
        return HT_EKIND;
    //  The entity key names the subject: a cert or revocation keyed by
    //  one key but naming another in its pubkey field would let its author
    //  overwrite the first key's certificate with the second's
    if (ht_hex_decode (ht_record_key (record), pubkey, HT_PUBKEY_BYTES) != HT_OK
    ||  strlen (ht_record_key (record)) != 2 * HT_PUBKEY_BYTES) {
        *reason = "a cert or revocation must be keyed by the hex of its public key";
        return HT_ECERTKEY;
    }
    size_t size = 0;
    const uint8_t *field = ht_record_get_bin (record, "pubkey", &size);
    if (field && (size != HT_PUBKEY_BYTES || memcmp (field, pubkey, HT_PUBKEY_BYTES))) {
        *reason = "the record's key and its pubkey field name different keys";
        return HT_ECERTKEY;
    }
    if (!field && !ht_record_deleted (record)) {
        *reason = "a cert or revocation must name its public key";
        return HT_ECERTKEY;
    }
    return HT_OK;
}

//  A revocation binds tighter than its author's chain: its author must be
//  on the revoked key's own chain (its issuer or an issuer above), and
//  its region is the revoked certificate's, so it reaches every node that
//  holds that certificate
static int
s_check_revocation (const ht_record_t *record, const uint8_t subject [HT_PUBKEY_BYTES],
                    const uint8_t anchor [HT_PUBKEY_BYTES],
                    const ht_certsource_t *source, const char **reason)
{
    uint8_t key [HT_PUBKEY_BYTES], issuer [HT_PUBKEY_BYTES];
    ht_cert_t cert, revoked;
    memcpy (key, subject, HT_PUBKEY_BYTES);
    if (source->cert (source->ctx, key, &revoked, issuer) != HT_OK) {
        *reason = "no certificate for the revoked key (yet)";
        return HT_ENOCERT;
    }
    if (!streq (revoked.region, ht_record_region (record))) {
        *reason = "a revocation's region must be the revoked certificate's region";
        return HT_ESCOPE;
    }
    for (int depth = 0; depth < HT_CERT_MAX_DEPTH; depth++) {
        if (sodium_memcmp (issuer, ht_record_author (record), HT_PUBKEY_BYTES) == 0)
            return HT_OK;
        if (sodium_memcmp (issuer, key, HT_PUBKEY_BYTES) == 0
        ||  sodium_memcmp (issuer, anchor, HT_PUBKEY_BYTES) == 0)
            break;                  //  reached the top without meeting the author
        memcpy (key, issuer, HT_PUBKEY_BYTES);
        if (source->cert (source->ctx, key, &cert, issuer) != HT_OK)
            break;
    }
    *reason = "only the revoked key's issuer or an issuer above it may revoke it";
    return HT_ENOTCHAIN;
}

//  The root's self-signed certificate authorizes itself: it is the anchor
static bool
s_is_anchor_self_cert (const ht_record_t *record, const ht_cert_t *granted,
                       const uint8_t anchor [HT_PUBKEY_BYTES])
{
    return streq (ht_record_kind (record), "cert") && !ht_record_deleted (record)
        && sodium_memcmp (ht_record_author (record), anchor, HT_PUBKEY_BYTES) == 0
        && sodium_memcmp (granted->pubkey, anchor, HT_PUBKEY_BYTES) == 0;
}

//  Rules of the cert and revocation kinds beyond the author's chain
static int
s_check_subject (const ht_record_t *record, s_link_t *link,
                 const uint8_t anchor [HT_PUBKEY_BYTES],
                 const ht_certsource_t *source, const char **reason)
{
    uint8_t subject [HT_PUBKEY_BYTES];
    int rc = ht_cert_subject (record, subject, reason);
    if (rc)
        return rc;
    bool of_anchor = sodium_memcmp (subject, anchor, HT_PUBKEY_BYTES) == 0;
    if (link->is_cert && of_anchor
    &&  sodium_memcmp (ht_record_author (record), anchor, HT_PUBKEY_BYTES) != 0) {
        *reason = "only the root anchor certifies itself";
        return HT_ENOTISSUER;
    }
    if (streq (link->kind, "revocation"))
        return s_check_revocation (record, subject, anchor, source, reason);
    return HT_OK;
}

int
ht_cert_authorize (const ht_record_t *record, const uint8_t anchor [HT_PUBKEY_BYTES],
                   const ht_certsource_t *source, const char **reason_p)
{
    const char *ignored;
    const char **reason = reason_p? reason_p: &ignored;
    uint64_t at_ms = ht_hlc_ms (ht_record_hlc (record));
    s_link_t link;
    memset (&link, 0, sizeof link);
    memcpy (link.author, ht_record_author (record), HT_PUBKEY_BYTES);
    link.kind = ht_record_kind (record);
    s_code_copy (link.scope, ht_record_scope (record));
    s_code_copy (link.region, ht_record_region (record));
    link.is_cert = streq (link.kind, "cert");
    if (link.is_cert && !ht_record_deleted (record)
    &&  ht_cert_parse (record, &link.granted)) {
        *reason = "certificate record lacks its content";
        return HT_EFIELD;
    }
    if (link.is_cert || streq (link.kind, "revocation")) {
        int rc = s_check_subject (record, &link, anchor, source, reason);
        if (rc)
            return rc;
    }
    //  The anchor's own certificate is where every chain ends
    if (link.is_cert && s_is_anchor_self_cert (record, &link.granted, anchor)) {
        if (at_ms < link.granted.not_before_ms || at_ms > link.granted.not_after_ms) {
            *reason = "the root certificate is not valid at its own time";
            return HT_EEXPIRED;
        }
        return HT_OK;
    }
    return s_walk_chain (&link, at_ms, anchor, source, reason);
}

int
ht_cert_key_valid (const uint8_t pubkey [HT_PUBKEY_BYTES], uint64_t at_ms,
                   const uint8_t anchor [HT_PUBKEY_BYTES],
                   const ht_certsource_t *source, ht_cert_t *cert_p,
                   const char **reason_p)
{
    const char *ignored;
    const char **reason = reason_p? reason_p: &ignored;
    ht_cert_t cert;
    uint8_t issuer [HT_PUBKEY_BYTES];
    if (source->cert (source->ctx, pubkey, &cert, issuer) != HT_OK) {
        *reason = "no certificate for this key";
        return HT_ENOCERT;
    }
    //  The key itself first (its own window and revocation), then the
    //  chain of issuers above it, all as of at_ms
    s_link_t link;
    memset (&link, 0, sizeof link);
    memcpy (link.author, pubkey, HT_PUBKEY_BYTES);
    s_code_copy (link.scope, cert.region);
    s_code_copy (link.region, cert.region);
    int rc = s_walk_chain (&link, at_ms, anchor, source, reason);
    if (rc == HT_OK && cert_p)
        *cert_p = cert;
    return rc;
}
