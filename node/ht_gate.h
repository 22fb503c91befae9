//  ht_gate: the one admission gate. Every trust question a node asks is
//  answered here, and nowhere else:
//
//  - may this record enter this store (ht_gate_admit_record): the holder
//    rule, the full form, the signature check's verdict, the schema, the
//    clock, ingest freshness for records entering the network here, and
//    the authorization rule with the cert and revocation rules
//    (protocol/ht_cert.h);
//  - may this version of an entity become current given the versions
//    before it (ht_gate_may_start, ht_gate_may_succeed): the ownership
//    rule of DESIGN.md, order-independent because the store asks it over
//    the entity's versions sorted by (hlc, author);
//  - may this key use this socket now (ht_gate_admit_key): ZAP, HELLO,
//    every client request, and the periodic re-check that drops a
//    connection whose key was revoked or expired while connected.
//
//  The rules are written down in docs/security.md. The gate holds no
//  state: a context names the store's view of certificates (borrowed),
//  the anchor, the node's region, the clock and the ingest window, so the
//  same code serves a write transaction, a read transaction and tests.
#ifndef HT_GATE_H_INCLUDED
#define HT_GATE_H_INCLUDED

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "ht_error.h"
#include "ht_record.h"
#include "ht_cert.h"

//  Default ingest freshness window (DESIGN.md "Ingest freshness")
#define HT_GATE_INGEST_BEHIND_MS (10 * 60 * 1000)
#define HT_GATE_INGEST_AHEAD_MS (5 * 60 * 1000)

//  What the gate decides with (all borrowed)
typedef struct {
    const uint8_t *anchor;              //  trust anchor (HT_PUBKEY_BYTES)
    const ht_certsource_t *source;      //  certs and revocations as seen now
    const char *region;                 //  this node's region
    uint64_t now_ms;                    //  wall clock
    uint64_t ingest_behind_ms;          //  freshness window; both 0: none
    uint64_t ingest_ahead_ms;
    int64_t clock_lead_ms;              //  how far our clock is known to run
                                        //  ahead of the parent's (negative:
                                        //  behind); 0: not known to be off
} ht_gate_t;

//  How a record reaches the store
typedef enum {
    HT_GATE_REPLICATED = 0,             //  from a neighbour node
    HT_GATE_INGEST = 1,                 //  enters the network here: a client
                                        //  PUT or a local write
    HT_GATE_IMPORT = 2                  //  an operator's import of records
                                        //  exported from this network
} ht_gate_path_t;

//  The sockets a key may be admitted on
typedef enum {
    HT_GATE_NODE_SOCKET = 0,            //  a direct child node of ours
    HT_GATE_CLIENT_SOCKET = 1,          //  a principal inside our jurisdiction
    HT_GATE_PARENT_LINK = 2             //  our parent node (checked by a child)
} ht_gate_socket_t;

//  valid_code for ht_gate_admit_record: the gate validates the record
#define HT_GATE_VALIDATE INT_MIN

//  May record (full form, signature checked by the caller with verdict
//  sig_code / sig_reason) enter a store of gate->region by path? 0, or the
//  code to quarantine it with and a static reason. valid_code /
//  valid_reason are ht_record_validate's verdict on this very record if
//  the caller has it (a store validates a batch on its verifier threads,
//  outside the write transaction), or HT_GATE_VALIDATE.
int ht_gate_admit_record (const ht_gate_t *gate, const ht_record_t *record,
                          ht_gate_path_t path, int sig_code, const char *sig_reason,
                          int valid_code, const char *valid_reason,
                          const char **reason) HT_WUR;

//  Ownership: may record be an entity's first legitimate version? 0, or
//  HT_ENOTISSUER / HT_EFINAL for a cert or revocation tombstone (there is
//  nothing it may delete).
int ht_gate_may_start (const ht_gate_t *gate, const ht_record_t *record) HT_WUR;

//  Ownership: may record succeed previous, the latest legitimate version
//  before it? 0 or HT_ENOTOWNER (elders, facilities, credit, audits: the
//  author's jurisdiction must cover previous's region and scope),
//  HT_ENOTISSUER (certs: only previous's issuer, or a key holding the
//  issuer's post: a node key of its region certified by its issuer,
//  which is how a rotated node moves what it issued), HT_EFINAL (revocations:
//  only an earlier revoked_at, never a tombstone).
int ht_gate_may_succeed (const ht_gate_t *gate, const ht_record_t *previous,
                         const ht_record_t *record) HT_WUR;

//  May record, which says what the entity's current version says
//  (ht_record_same_content), be passed over as unchanged instead of
//  stored? Only if its signature verifies, it would be admitted by path
//  and it may succeed current: a key that could not write the record is
//  refused as before, and learns nothing from the answer. 0 or the code
//  it would be refused with.
int ht_gate_admit_unchanged (const ht_gate_t *gate, const ht_record_t *record,
                             const ht_record_t *current, ht_gate_path_t path) HT_WUR;

//  May pubkey use socket now? Its certificate must be valid now with a
//  chain to the anchor, the key unrevoked, and the certificate fit the
//  socket: a node certified for a direct child region (node socket), any
//  principal inside our jurisdiction (client socket), a node certified
//  for our parent region (parent link). claimed_region, if not NULL, must
//  be the certificate's region (HELLO). Fills *cert (may be NULL).
//  0 or the refusal code with a static reason.
int ht_gate_admit_key (const ht_gate_t *gate, ht_gate_socket_t socket,
                       const uint8_t pubkey [HT_PUBKEY_BYTES],
                       const char *claimed_region, ht_cert_t *cert,
                       const char **reason) HT_WUR;

//  Key rotation, on a child: may candidate stand in for pinned, the
//  parent key this node's config names (parent/key)? Only if candidate
//  is admitted on the parent link now (a node certificate for exactly our
//  parent region, valid, unrevoked, chained to the anchor) AND its
//  certificate was issued by the very key that issued pinned's
//  certificate: the tier that made the parent our parent. So no other
//  certified key — a sibling, a client, an operator, the parent minting
//  itself a second key, another tier above — can impersonate the parent
//  (docs/security.md "Parent key rotation"). 0, or HT_ENOCERT (pinned or
//  candidate has no certificate here), HT_ENOTISSUER (another issuer),
//  or ht_gate_admit_key's refusal; with a static reason.
int ht_gate_admit_parent_successor (const ht_gate_t *gate,
                                    const uint8_t pinned [HT_PUBKEY_BYTES],
                                    const uint8_t candidate [HT_PUBKEY_BYTES],
                                    const char **reason) HT_WUR;

//  A gate over a store's certificates, for a node of region at now_ms
//  (the store and region are borrowed; no ingest window: keys only)
struct _ht_store_t;
ht_gate_t ht_gate_of_store (struct _ht_store_t *store, const char *region, uint64_t now_ms);

//  ht_gate_admit_key for a key given as hex (a ZAP user id); a key that
//  is not 64 hex digits is refused as HT_ENOCERT
int ht_gate_admit_hex (const ht_gate_t *gate, ht_gate_socket_t socket, const char *key_hex,
                       const char *claimed_region, ht_cert_t *cert,
                       const char **reason) HT_WUR;

#endif
