//  ht_client: a client of a node's client socket (CURVE): put signed
//  records, ask for status and info. Blocking calls with a timeout.
#ifndef HT_CLIENT_H_INCLUDED
#define HT_CLIENT_H_INCLUDED

#include <jansson.h>
#include "ht_error.h"
#include "ht_record.h"
#include "ht_keys.h"

typedef struct _ht_client_t ht_client_t;

//  Connect to a node's client endpoint. node_key is the node's Ed25519
//  public key (its CURVE server key is derived from it); key is ours, and
//  the node admits it only if it holds a valid certificate for it. The
//  client borrows key for its lifetime. timeout_ms bounds each request.
//  NULL if the endpoint or node key is unusable.
ht_client_t *ht_client_new (const char *endpoint, const uint8_t node_key [HT_PUBKEY_BYTES],
                            const ht_keypair_t *key, int timeout_ms);

//  Disconnect and set the pointer to NULL. A request still unanswered is
//  dropped; a late answer to it goes nowhere.
void ht_client_destroy (ht_client_t **self_p);

//  Every request returns the node's JSON answer (the caller owns it), or
//  NULL with *error and ht_client_reason set:
//    HT_ETIMEOUT   no answer in time (nothing listening, node down or busy)
//    HT_EPOLICY    the node refused our key at the CURVE handshake (not
//                  certified there, revoked, or outside its jurisdiction)
//    HT_EKEY       the node dropped the handshake: most likely node_key is
//                  not this node's key
//    HT_EMALFORMED the reply is not a well-formed answer
//    HT_EINVAL     put: a record could not be encoded
//    any other     the node answered ERROR with that error name
//                  (unknown names give HT_EINVAL)
//  After a refused or dropped handshake the next request connects afresh,
//  so a key certified there since is admitted.

//  Send signed records; the answer is {applied, unchanged, historic,
//  conflicts, quarantined, results: [error name per record],
//  historic_records: [{index, current_hlc} per record kept behind a newer
//  current version]} (docs/protocol.md §4)
json_t *ht_client_put (ht_client_t *self, ht_record_t *const *records, size_t count,
                       int *error);

//  The node's status
json_t *ht_client_status (ht_client_t *self, int *error);

//  The node's identity and our own certificate as it holds it
json_t *ht_client_info (ht_client_t *self, int *error);

//  Why the last request failed, a sentence for people ("" after a
//  success). Borrowed: valid until the next call on this client.
const char *ht_client_reason (const ht_client_t *self);

#endif
