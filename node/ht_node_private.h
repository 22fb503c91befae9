//  ht_node_private: the node actor's state, shared by ht_node.c (sockets,
//  loop, timers, commands), ht_repl.c (the replication protocol), ht_zap.c
//  (who may connect) and ht_service.c (client requests). Not public.
#ifndef HT_NODE_PRIVATE_H_INCLUDED
#define HT_NODE_PRIVATE_H_INCLUDED

#include <czmq.h>
#include "ht_node.h"
#include "ht_msg.h"
#include "ht_keys.h"
#include "ht_cert.h"
#include "ht_hlc.h"
#include "ht_schema.h"
#include "ht_gate.h"
#include "ht_refusals.h"
#include "ht_ratelimit.h"

#define HT_PEER_PARENT "parent"         //  role names in status
#define HT_PEER_CHILD "child"

//  One neighbour: the parent, or a child connected to our ROUTER
typedef struct {
    char name [HT_REGION_BYTES];        //  the peer's region: its identity
                                        //  here, and the origin of what it sends
    char label [64];                    //  its name, for logs and status
    bool is_parent;                     //  reached over our DEALER
    zframe_t *routing_id;               //  ROUTER identity (children only)
    char key_hex [2 * HT_PUBKEY_BYTES + 1];     //  its Ed25519 key (children)
    bool welcomed;                      //  handshake done
    int64_t last_seen_ms;               //  last message from it (monotonic)
    uint8_t epoch [HT_MSG_EPOCH_BYTES]; //  its store epoch, as we pull from it
    uint64_t cursor;                    //  its sequence we have applied up to
    uint64_t peer_last_seq;             //  its latest sequence, as it said
    bool pulling;                       //  a PULL of ours is outstanding
    bool dirty;                         //  it notified us while we pulled
    int64_t pull_sent_ms;               //  when the outstanding PULL left
    uint64_t pull_from;                 //  the cursor it asked from
    uint64_t received;                  //  records received from it
    uint64_t applied;                   //  of which became current here
    uint64_t sent;                      //  records sent to it
    uint64_t batches;                   //  batches received
} ht_peer_t;

//  The link to our parent: reconnects with backoff
typedef struct {
    zsock_t *dealer;                    //  CURVE client, or NULL between tries
    uint8_t server_curve [32];          //  the parent's Curve25519 key
    uint8_t server_ed [HT_PUBKEY_BYTES];        //  and its Ed25519 key
    int backoff_ms;                     //  next retry delay
    int64_t hello_sent_ms;              //  when we said HELLO (0: not yet)
    int retry_timer;                    //  zloop timer id, or -1
    uint64_t reconnects;                //  how often we reconnected
} ht_parent_link_t;

typedef struct {
    zsock_t *pipe;                      //  to the actor's owner
    ht_config_t config;                 //  current configuration
    ht_store_t *store;                  //  our store (owned)
    ht_keypair_t *key;                  //  our key pair
    zloop_t *loop;                      //  the reactor
    zsock_t *router;                    //  CURVE server for children, or NULL
    zsock_t *client;                    //  CURVE server for clients, or NULL
    zsock_t *zap;                       //  ZAP handler (REP), or NULL
    ht_parent_link_t parent;            //  link to the parent (if any)
    zhashx_t *peers;                    //  name -> ht_peer_t (owned)
    uint64_t last_seq;                  //  our latest sequence, as last seen
    zhashx_t *curve_keys;               //  hex curve key -> hex Ed25519 key
    int64_t curve_keys_built_ms;        //  when curve_keys was rebuilt
    ht_refusals_t *refusals;            //  refused curve keys, log budget (owned)
    ht_ratelimit_t *client_rates;       //  request budget per client key (owned)
    uint64_t dropped_sends;             //  messages a full or gone peer could not take
    uint64_t rate_limited;              //  client requests refused as over the rate
    uint64_t protocol_errors;           //  malformed or unexpected messages
    bool terminated;                    //  $TERM received
    int64_t last_activity_ms;           //  last batch applied or served
    bool released;                      //  memory given back since then
} ht_node_t;

//  Logging at the configured level (czmq's zsys_* log at every level):
//  every function that logs has its node as self
#define HT_LOG(self, level, logger, ...) \
    do { if (ht_config_log_enabled (&(self)->config, level)) logger (__VA_ARGS__); } while (0)
#define HT_DEBUG(self, ...) HT_LOG (self, "debug", zsys_debug, __VA_ARGS__)
#define HT_INFO(self, ...) HT_LOG (self, "info", zsys_info, __VA_ARGS__)
#define HT_WARNING(self, ...) HT_LOG (self, "warning", zsys_warning, __VA_ARGS__)
#define HT_ERROR(self, ...) HT_LOG (self, "error", zsys_error, __VA_ARGS__)

//  ht_repl.c: replication
//  A message arrived from a peer (parent, or a child on the ROUTER)
void ht_repl_on_message (ht_node_t *self, ht_peer_t *peer, ht_msg_t *msg, zmsg_t *records);
//  A HELLO arrived on the ROUTER from routing_id, authenticated as user_id
void ht_repl_on_hello (ht_node_t *self, zframe_t *routing_id, const char *user_id,
                       ht_msg_t *msg);
//  Send a message (with optional record frames, consumed) to a peer
void ht_repl_send (ht_node_t *self, ht_peer_t *peer, ht_msg_t *msg, zmsg_t **records_p);
//  Tell every welcomed peer except skip (may be NULL) that we have news
void ht_repl_notify_all (ht_node_t *self, const ht_peer_t *skip);
//  Start a pull from a peer unless one is outstanding
void ht_repl_pull (ht_node_t *self, ht_peer_t *peer);
//  Say HELLO to the parent over a fresh DEALER
void ht_repl_hello_parent (ht_node_t *self);
//  Heartbeat: ping peers, drop silent ones; returns 0
int ht_repl_heartbeat (ht_node_t *self);
//  Find or create the parent's peer entry
ht_peer_t *ht_repl_parent_peer (ht_node_t *self);
//  Destroy a peer entry (zhashx destructor)
void ht_peer_destroy (ht_peer_t **self_p);

//  ht_zap.c: authentication of incoming CURVE connections
//  Answer one ZAP request waiting on self->zap
int ht_zap_handle (ht_node_t *self);
//  Cert of the key a connection authenticated as (hex Ed25519); 0 or error
int ht_zap_cert_of (ht_node_t *self, const char *user_id, ht_cert_t *cert);
//  Ask the gate whether a key (hex Ed25519) may use socket now (and, if
//  claimed_region is not NULL, is certified for it); fills *cert (may be
//  NULL). ZAP, HELLO, each client request and the heartbeat's re-check
//  all come here.
int ht_zap_admit (ht_node_t *self, ht_gate_socket_t socket, const char *ed_hex,
                  const char *claimed_region, ht_cert_t *cert, const char **reason);

//  ht_service.c: client requests (put, status, info)
//  Handle one message on the client socket
int ht_service_handle (ht_node_t *self);
//  The node's status as JSON (caller owns)
json_t *ht_service_status (ht_node_t *self);

//  ht_node.c helpers
//  Milliseconds on the monotonic clock
int64_t ht_node_now (void);
//  Send zmsg on one of our sockets without blocking; a peer at its
//  high-water mark, or gone, costs the message (destroyed and counted in
//  dropped_sends). Always takes the message; 0 if it went, else -1.
int ht_node_send (ht_node_t *self, zsock_t *sock, zmsg_t **zmsg_p);
//  Create (or recreate) the parent DEALER and say HELLO
int ht_node_connect_parent (ht_node_t *self);
//  Note replication or client activity (memory is given back at rest)
void ht_node_active (ht_node_t *self);
//  Drop the parent DEALER and schedule a reconnect after backoff
void ht_node_reconnect_parent (ht_node_t *self, const char *why);

#endif
