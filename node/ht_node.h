//  ht_node: the node actor — owns the store, the node sockets (a ROUTER for
//  child nodes, a DEALER to the parent), the client socket, the ZAP
//  handler, and the replication state of every peer.
#ifndef HT_NODE_H_INCLUDED
#define HT_NODE_H_INCLUDED

#include <czmq.h>
#include "ht_config.h"
#include "ht_store.h"

//  Start a node for config over an open store (the actor owns the store
//  from then on; *store_p is set to NULL). Returns NULL on failure (e.g. a
//  bind failed), logging why. Commands on the actor pipe:
//    "RELOAD" + config frame (memcpy of ht_config_t): apply reloadable keys
//    "ENDPOINTS": replies with two frames, the bound node and client
//                 endpoints (resolved, for tcp://127.0.0.1:* binds)
//    "$TERM": finish the batch in flight and stop
zactor_t *ht_node_new (const ht_config_t *config, ht_store_t **store_p);

//  Stop the node and set the pointer to NULL
void ht_node_destroy (zactor_t **self_p);

#endif
