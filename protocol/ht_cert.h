//  ht_cert: certificates and revocations, which are records themselves
//  (kinds "cert" and "revocation") and replicate like any other.
//
//  A cert record's key is hex(subject public key), its region the
//  subject's jurisdiction, its author the issuer. The city's root key is
//  the trust anchor; its cert is self-signed. The authorization rule:
//  a record is accepted only if its author's cert chain is valid at the
//  record's hlc, not revoked by then, permits the kind, and
//  cert.region ⊑ scope ⊑ region. The same rule applied to each cert in
//  the chain makes a county unable to certify outside its county.
#ifndef HT_CERT_H_INCLUDED
#define HT_CERT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "ht_error.h"
#include "ht_record.h"

//  HT_CERT_MAX_KINDS and the text limits come from the cert kind's schema
//  (ht_schema.h), so every text the schema accepts fits its buffer whole
#define HT_CERT_MAX_DEPTH 8         //  root, county, township, community,
                                    //  client: 5; room to spare

typedef enum {
    HT_ROLE_NODE = 0,
    HT_ROLE_DEPARTMENT = 1,
    HT_ROLE_PARTNER = 2,
    HT_ROLE_OPERATOR = 3            //  node operators: status and audit reads
} ht_role_t;

//  A certificate's content, as issued and as parsed back from a record.
//  Text buffers hold the schema's most characters in UTF-8 (4 bytes each).
typedef struct {
    char name [HT_TEXT_BYTES (HT_CERT_NAME_MAX_CHARS)];     //  subject name
    ht_role_t role;                         //  node, department, partner, operator
    char department [HT_TEXT_BYTES (HT_CERT_CODE_MAX_CHARS)];  //  code or ""
    char region [HT_REGION_BYTES];          //  jurisdiction (12 digits)
    char kinds [HT_CERT_MAX_KINDS][HT_KIND_MAX_CHARS + 1];  //  may author
    size_t kind_count;                      //  number of kinds
    char policy [HT_TEXT_BYTES (HT_CERT_CODE_MAX_CHARS)];  //  read policy or ""
    uint64_t not_before_ms;                 //  validity window start
    uint64_t not_after_ms;                  //  validity window end
    uint8_t pubkey [HT_PUBKEY_BYTES];       //  subject's Ed25519 key
} ht_cert_t;

//  Role names: "node", "department", "partner"; parse returns -1 if unknown
const char *ht_role_name (ht_role_t role);
int ht_role_parse (const char *name);

//  Build and sign a cert record for spec, authored by issuer at hlc.
//  Validates the result. NULL on error with *error and *reason.
ht_record_t *ht_cert_issue (const ht_cert_t *spec, const ht_keypair_t *issuer,
                            uint64_t hlc, int *error, const char **reason);

//  Build and sign a revocation of pubkey (in force from revoked_at_ms),
//  for a subject in region, authored by issuer at hlc.
ht_record_t *ht_revocation_issue (const uint8_t pubkey [HT_PUBKEY_BYTES],
                                  const char *region, uint64_t revoked_at_ms,
                                  const char *reason_text,
                                  const ht_keypair_t *issuer, uint64_t hlc,
                                  int *error, const char **reason);

//  Read a cert record's content into cert. 0 or HT_EKIND/HT_EFIELD (a
//  field missing, or a text or kind list longer than the schema allows:
//  never cut).
int ht_cert_parse (const ht_record_t *record, ht_cert_t *cert) HT_WUR;

//  True if the cert permits authoring kind
bool ht_cert_permits (const ht_cert_t *cert, const char *kind);

//  Where the chain's certs and revocations come from (a store, a file
//  bundle). Sources return parsed content so they can cache it: a chain
//  walk runs for every record applied.
typedef struct {
    //  Fill cert and issuer (the cert record's author) for pubkey;
    //  0 or HT_ENOTFOUND
    int (*cert) (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
                 ht_cert_t *cert, uint8_t issuer [HT_PUBKEY_BYTES]);
    //  Fill revoked_at_ms for pubkey; 0 or HT_ENOTFOUND if not revoked
    int (*revocation) (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
                       uint64_t *revoked_at_ms);
    void *ctx;
} ht_certsource_t;

//  Read a revocation record: the revoked key and when it takes effect
int ht_revocation_parse (const ht_record_t *record,
                         uint8_t pubkey [HT_PUBKEY_BYTES],
                         uint64_t *revoked_at_ms) HT_WUR;

//  The public key a cert or revocation record is about: its entity key
//  decoded from hex, which must equal its pubkey field (tombstones may
//  lack the field). 0, HT_EKIND, or HT_ECERTKEY with a static reason.
int ht_cert_subject (const ht_record_t *record, uint8_t pubkey [HT_PUBKEY_BYTES],
                     const char **reason) HT_WUR;

//  Apply the authorization rule to a record (whose signature the caller
//  has verified): walk the author's chain to the anchor. Certs from the
//  source are trusted as verified (stores hold only verified records).
//  A cert record must also grant no kind its issuer lacks, be keyed by
//  its subject (ht_cert_subject), and certify the anchor only if the
//  anchor signed it. A revocation's author must be on the revoked key's
//  chain (its issuer or above) and its region the revoked certificate's.
//  Who may replace an existing cert or revocation is the ownership rule
//  (node/ht_gate.h), which needs the entity's versions, not this.
//  Returns 0 or HT_ENOCERT, HT_ECHAIN, HT_EEXPIRED, HT_EREVOKED,
//  HT_EKINDPERM, HT_ESCOPE, HT_ECERTKEY, HT_ENOTISSUER, HT_ENOTCHAIN,
//  with a static reason.
int ht_cert_authorize (const ht_record_t *record,
                       const uint8_t anchor [HT_PUBKEY_BYTES],
                       const ht_certsource_t *source, const char **reason) HT_WUR;

//  Is a key usable at at_ms: its own certificate valid then and the key
//  not revoked by then, with a valid chain to the anchor? For admitting
//  connections (at_ms = now). Fills *cert (may be NULL). Same codes.
int ht_cert_key_valid (const uint8_t pubkey [HT_PUBKEY_BYTES], uint64_t at_ms,
                       const uint8_t anchor [HT_PUBKEY_BYTES],
                       const ht_certsource_t *source, ht_cert_t *cert,
                       const char **reason) HT_WUR;

#endif
