//  ht_gate: the one admission gate (the rules are in ht_gate.h and
//  docs/security.md).
#include <czmq.h>
#include <sodium.h>
#include "ht_gate.h"
#include "ht_hlc.h"
#include "ht_store.h"

//  --------------------------------------------------------------------------
//  Records

//  The clock rules: a record entering the network here must be fresh (so
//  an expired or revoked key cannot back-date its way in through an
//  honest node); any record far in the future would win every merge.
//  When our clock is known to run ahead of the parent's, a record
//  entering here is also judged by the parent's clock (ours less the
//  lead), so we never acknowledge a write our neighbours would quarantine
//  as clock; the correction only ever refuses more, never admits more.
static int
s_check_clock (const ht_gate_t *gate, const ht_record_t *record,
               ht_gate_path_t path, const char **reason)
{
    uint64_t at_ms = ht_hlc_ms (ht_record_hlc (record));
    bool windowed = path == HT_GATE_INGEST
                 && (gate->ingest_behind_ms || gate->ingest_ahead_ms);
    uint64_t ahead = windowed? gate->ingest_ahead_ms: HT_HLC_MAX_DRIFT_MS;
    //  Our clock behind the parent's: the record may be right and ours
    //  wrong; say so, it is still refused
    bool ours_behind = windowed && gate->clock_lead_ms < 0
                    && at_ms <= gate->now_ms + ahead + (uint64_t) -gate->clock_lead_ms;
    if (at_ms > gate->now_ms + ahead && ours_behind) {
        *reason = "this node's clock is behind its parent's, and the record is dated ahead "
                  "of it by more than the ingest window: set this node's clock right";
        return HT_ECLOCKSKEW;
    }
    if (at_ms > gate->now_ms + ahead) {
        *reason = windowed? "hlc is ahead of the ingesting node's clock by more "
                            "than the ingest window allows"
                          : "hlc is too far ahead of the local clock";
        return HT_ECLOCK;
    }
    if (windowed && gate->clock_lead_ms > 0
    &&  at_ms + (uint64_t) gate->clock_lead_ms > gate->now_ms + ahead) {
        *reason = "this node's clock is ahead of its parent's, and the record is dated "
                  "ahead of the parent's clock by more than the ingest window, where its "
                  "neighbours would refuse it: set this node's clock right";
        return HT_ECLOCKSKEW;
    }
    if (windowed && at_ms + gate->ingest_behind_ms < gate->now_ms) {
        *reason = "hlc is behind the ingesting node's clock by more than the "
                  "ingest window allows (a record enters the network fresh)";
        return HT_ESTALE;
    }
    return HT_OK;
}

int
ht_gate_admit_record (const ht_gate_t *gate, const ht_record_t *record,
                      ht_gate_path_t path, int sig_code, const char *sig_reason,
                      int valid_code, const char *valid_reason, const char **reason)
{
    //  Nodes hold full records; redacted forms are for clients only, and
    //  one stored here would lose its withheld fields for good
    if (!ht_record_is_full (record)) {
        *reason = "a redacted record cannot be stored";
        return HT_EREDACTED;
    }
    if (!ht_region_holds (gate->region, ht_record_region (record),
                          ht_record_scope (record))) {
        *reason = "this node does not hold records of that region and scope";
        return HT_ESCOPE;
    }
    int code = sig_code;
    *reason = sig_reason;
    if (code == HT_OK && valid_code == HT_GATE_VALIDATE)
        code = ht_record_validate (record, reason);
    else
    if (code == HT_OK && valid_code != HT_OK) {
        code = valid_code;
        *reason = valid_reason;
    }
    if (code == HT_OK)
        code = s_check_clock (gate, record, path, reason);
    if (code == HT_OK)
        code = ht_cert_authorize (record, gate->anchor, gate->source, reason);
    return code;
}

//  --------------------------------------------------------------------------
//  Ownership

int
ht_gate_may_start (const ht_gate_t *gate, const ht_record_t *record)
{
    (void) gate;
    //  A tombstone of a cert or revocation nobody issued here would only
    //  squat the entity: it deletes nothing, and it would make its author
    //  the one whose versions come next
    if (ht_record_deleted (record) && streq (ht_record_kind (record), "cert"))
        return HT_ENOTISSUER;
    if (ht_record_deleted (record) && streq (ht_record_kind (record), "revocation"))
        return HT_EFINAL;
    return HT_OK;
}

//  A revocation is final: a later version may only move revoked_at
//  earlier (its author is on the revoked key's chain: admission checked)
static int
s_revocation_succeeds (const ht_record_t *previous, const ht_record_t *record)
{
    uint8_t key [HT_PUBKEY_BYTES];
    uint64_t before_ms, now_ms;
    if (ht_record_deleted (record)
    ||  ht_revocation_parse (previous, key, &before_ms) != HT_OK
    ||  ht_revocation_parse (record, key, &now_ms) != HT_OK
    ||  now_ms >= before_ms)
        return HT_EFINAL;
    return HT_OK;
}

//  Does successor hold holder's post: both node keys of one region,
//  certified by one issuer? That issuer certified both and may revoke
//  both, so taking one for the other trusts nobody new. The parent
//  itself, or any tier above it, may certify a node key for the same
//  region: same region and role alone are not enough.
static int
s_same_post (const ht_gate_t *gate, const uint8_t holder [HT_PUBKEY_BYTES],
             const uint8_t successor [HT_PUBKEY_BYTES], const char **reason)
{
    ht_cert_t holder_cert, successor_cert;
    uint8_t holder_issuer [HT_PUBKEY_BYTES], successor_issuer [HT_PUBKEY_BYTES];
    if (gate->source->cert (gate->source->ctx, holder, &holder_cert, holder_issuer) != HT_OK) {
        *reason = "the key to succeed has no certificate here, so nothing can succeed it";
        return HT_ENOCERT;
    }
    if (gate->source->cert (gate->source->ctx, successor, &successor_cert,
                            successor_issuer) != HT_OK) {
        *reason = "no certificate for the successor key";
        return HT_ENOCERT;
    }
    if (holder_cert.role != HT_ROLE_NODE || successor_cert.role != HT_ROLE_NODE
    ||  !streq (holder_cert.region, successor_cert.region)) {
        *reason = "not certified as a node of the same region";
        return HT_ESCOPE;
    }
    if (sodium_memcmp (holder_issuer, successor_issuer, HT_PUBKEY_BYTES) != 0) {
        *reason = "certified by another key than the one that certified the key it succeeds";
        return HT_ENOTISSUER;
    }
    return HT_OK;
}

//  Only a cert's issuer renews or tombstones it — or, once the issuer
//  rotated its key, the issuer's successor (s_same_post), so the
//  certificates a node issued move to its new key before the old one is
//  revoked (revoking a key ends every chain through it)
static int
s_cert_succeeds (const ht_gate_t *gate, const ht_record_t *previous,
                 const ht_record_t *record)
{
    const char *reason = NULL;
    if (sodium_memcmp (ht_record_author (previous), ht_record_author (record),
                       HT_PUBKEY_BYTES) == 0
    ||  s_same_post (gate, ht_record_author (previous), ht_record_author (record),
                     &reason) == HT_OK)
        return HT_OK;
    return HT_ENOTISSUER;
}

int
ht_gate_may_succeed (const ht_gate_t *gate, const ht_record_t *previous,
                     const ht_record_t *record)
{
    const char *kind = ht_record_kind (record);
    if (streq (kind, "revocation"))
        return s_revocation_succeeds (previous, record);
    if (streq (kind, "cert"))
        return s_cert_succeeds (gate, previous, record);
    //  Everything else: the author's jurisdiction covers the owner's
    //  region and scope, so a community never replaces its neighbour's
    //  elder, and an entity moves only when a common ancestor re-authors it
    ht_cert_t cert;
    uint8_t issuer [HT_PUBKEY_BYTES];
    if (gate->source->cert (gate->source->ctx, ht_record_author (record),
                            &cert, issuer) != HT_OK)
        return HT_ENOTOWNER;
    if (!ht_region_covers (cert.region, ht_record_scope (previous))
    ||  !ht_region_covers (cert.region, ht_record_region (previous)))
        return HT_ENOTOWNER;
    return HT_OK;
}

//  --------------------------------------------------------------------------
//  Keys

//  Does the certificate fit the socket?
static int
s_fits_socket (const ht_gate_t *gate, ht_gate_socket_t socket, const ht_cert_t *cert,
               const char **reason)
{
    if (socket == HT_GATE_NODE_SOCKET
    &&  (cert->role != HT_ROLE_NODE || !ht_region_is_child (gate->region, cert->region))) {
        *reason = "not certified as a child node of this region";
        return HT_ESCOPE;
    }
    if (socket == HT_GATE_PARENT_LINK
    &&  (cert->role != HT_ROLE_NODE || !ht_region_is_child (cert->region, gate->region))) {
        *reason = "not certified as the parent node of this region";
        return HT_ESCOPE;
    }
    //  Clients of this region and below; and operator and node keys of
    //  this node's region or above (the tiers that run or supervise it)
    bool above = (cert->role == HT_ROLE_OPERATOR || cert->role == HT_ROLE_NODE)
              && ht_region_covers (cert->region, gate->region);
    if (socket == HT_GATE_CLIENT_SOCKET && !above
    &&  !ht_region_covers (gate->region, cert->region)) {
        *reason = "outside this node's jurisdiction";
        return HT_ESCOPE;
    }
    return HT_OK;
}

int
ht_gate_admit_key (const ht_gate_t *gate, ht_gate_socket_t socket,
                   const uint8_t pubkey [HT_PUBKEY_BYTES], const char *claimed_region,
                   ht_cert_t *cert_p, const char **reason)
{
    ht_cert_t cert;
    int rc = ht_cert_key_valid (pubkey, gate->now_ms, gate->anchor, gate->source,
                                &cert, reason);
    if (rc == HT_OK)
        rc = s_fits_socket (gate, socket, &cert, reason);
    if (rc == HT_OK && claimed_region && !streq (claimed_region, cert.region)) {
        *reason = "the key is certified for another region than it claims";
        rc = HT_ESCOPE;
    }
    if (rc == HT_OK && cert_p)
        *cert_p = cert;
    return rc;
}

int
ht_gate_admit_unchanged (const ht_gate_t *gate, const ht_record_t *record,
                         const ht_record_t *current, ht_gate_path_t path)
{
    const char *sig_reason = NULL, *reason = NULL;
    int verdict = ht_record_verify (record, &sig_reason);
    int code = ht_gate_admit_record (gate, record, path, verdict, sig_reason,
                                     HT_GATE_VALIDATE, NULL, &reason);
    return code? code: ht_gate_may_succeed (gate, current, record);
}

int
ht_gate_admit_parent_successor (const ht_gate_t *gate, const uint8_t pinned [HT_PUBKEY_BYTES],
                                const uint8_t candidate [HT_PUBKEY_BYTES],
                                const char **reason)
{
    int rc = ht_gate_admit_key (gate, HT_GATE_PARENT_LINK, candidate, NULL, NULL, reason);
    return rc? rc: s_same_post (gate, pinned, candidate, reason);
}

ht_gate_t
ht_gate_of_store (ht_store_t *store, const char *region, uint64_t now_ms)
{
    return (ht_gate_t) {
        .anchor = ht_store_anchor (store), .source = ht_store_certsource (store),
        .region = region, .now_ms = now_ms
    };
}

int
ht_gate_admit_hex (const ht_gate_t *gate, ht_gate_socket_t socket, const char *key_hex,
                   const char *claimed_region, ht_cert_t *cert, const char **reason)
{
    uint8_t pubkey [HT_PUBKEY_BYTES];
    if (!key_hex || strlen (key_hex) != 2 * HT_PUBKEY_BYTES
    ||  ht_hex_decode (key_hex, pubkey, HT_PUBKEY_BYTES) != HT_OK) {
        *reason = "unknown key";
        return HT_ENOCERT;
    }
    return ht_gate_admit_key (gate, socket, pubkey, claimed_region, cert, reason);
}
