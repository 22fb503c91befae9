//  ht_zap: who may connect. libzmq asks a ZAP handler (RFC 27) about
//  every CURVE handshake on our server sockets; this class answers, and
//  the gate (ht_gate.h) decides: a key is admitted only if the store
//  holds a certificate for it that is valid now, the key is not revoked,
//  its chain reaches the anchor, and it fits the socket — on "node", a
//  node certified for a direct child region of ours; on "client", any
//  principal inside our jurisdiction. Refusals are counted and logged
//  within the bounds of ht_refusals. No sockets here: the node reads the
//  request and sends the answer.
#ifndef HT_ZAP_H_INCLUDED
#define HT_ZAP_H_INCLUDED

#include <czmq.h>
#include "ht_config.h"
#include "ht_store.h"

typedef struct _ht_zap_t ht_zap_t;

//  A handler over store and config (both borrowed). The caller owns it.
ht_zap_t *ht_zap_new (ht_store_t *store, const ht_config_t *config);

//  Destroy the handler and set the pointer to NULL
void ht_zap_destroy (ht_zap_t **self_p);

//  Answer one ZAP request (its frames; consumed): the reply to send back
//  (the caller owns it). now is the monotonic clock in ms.
zmsg_t *ht_zap_answer (ht_zap_t *self, zmsg_t **request_p, int64_t now);

//  Connections refused so far
uint64_t ht_zap_refused (const ht_zap_t *self);

#endif
