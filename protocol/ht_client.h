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
//  client borrows key for its lifetime. NULL on failure.
ht_client_t *ht_client_new (const char *endpoint, const uint8_t node_key [HT_PUBKEY_BYTES],
                            const ht_keypair_t *key, int timeout_ms);

//  Disconnect and set the pointer to NULL
void ht_client_destroy (ht_client_t **self_p);

//  Send signed records; returns the node's JSON answer {applied, unchanged,
//  historic, quarantined, results: [error name per record]}, or NULL with
//  *error (HT_ETIMEOUT: no answer — wrong endpoint or node key, or our key
//  is not admitted; HT_EINVAL: a record could not be encoded)
json_t *ht_client_put (ht_client_t *self, ht_record_t *const *records, size_t count,
                       int *error);

//  The node's status as JSON, or NULL with *error
json_t *ht_client_status (ht_client_t *self, int *error);

//  The node's identity and our own certificate as it holds it, or NULL
json_t *ht_client_info (ht_client_t *self, int *error);

#endif
