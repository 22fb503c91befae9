//  ht_service: the client service — requests from department and partner
//  clients on the client socket: PUT (signed records), STATUS and INFO
//  (docs/protocol.md §4), and the admission of read requests, which the
//  node's reader thread answers (ht_query). STATUS is for operators and
//  node keys at or above this node's region only. Each request is checked against the client's
//  rate (ht_ratelimit) and asks the gate again whether the client's key
//  is still admitted (revoked or expired since it connected: refused).
//  Replies carry the request's token; OK replies a JSON document as
//  their last frame. No sockets here: the node reads a request and sends
//  the answer; the service announces new writes through io.wrote.
#ifndef HT_SERVICE_H_INCLUDED
#define HT_SERVICE_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include "ht_config.h"
#include "ht_metrics.h"
#include "ht_msg.h"
#include "ht_query.h"
#include "ht_store.h"

typedef struct _ht_service_t ht_service_t;

//  What the service asks of its owner
typedef struct {
    //  A PUT stored new current versions: tell the neighbours
    void (*wrote) (void *arg);
    //  The whole STATUS document: the node's part (peers, counters), the
    //  service's (ht_service_store_status) and the warnings. The caller
    //  owns the result. NULL: the service's part alone.
    json_t *(*status) (void *arg);
    void *arg;
    ht_latency_t *latency;              //  where request times go (borrowed), or NULL
} ht_service_io_t;

//  A service over store and config (both borrowed). The caller owns it.
ht_service_t *ht_service_new (ht_store_t *store, const ht_config_t *config,
                              ht_service_io_t io);

//  Destroy the service and set the pointer to NULL
void ht_service_destroy (ht_service_t **self_p);

//  A read request the service admitted, for the reader thread (ht_query)
typedef struct {
    ht_query_client_t client;           //  who asks, with its certificate
    ht_msg_t msg;                       //  the decoded request
    bool held;                          //  not a read: a PUT held for the
                                        //  group commit (nothing to do now)
} ht_service_read_t;

//  Answer one request (its frames after the routing id; consumed) from a
//  client whose CURVE key authenticated as user (hex Ed25519), which
//  came from routing_id (borrowed). Returns the reply's frames (the
//  caller owns them, and prepends the routing id); or NULL: for an
//  admitted read request (GET, FIND, LIST, COUNT, HISTORY) with *read
//  filled for the reader, or for a PUT held for the group commit
//  (read->held). now is the monotonic clock in ms. Send the replies
//  waiting in ht_service_next_reply before the one returned.
zmsg_t *ht_service_answer (ht_service_t *self, zframe_t *routing_id, const char *user,
                           zmsg_t **request_p, int64_t now, ht_service_read_t *read);

//  Group commit of PUTs. While the service holds PUTs, each admitted PUT
//  waits, and the waiting ones are stored in one write transaction (one
//  wait for the disk for them all) when the hold ends, when a request
//  of another kind arrives, or when a group is full (64 PUTs or 5,000
//  records); a PUT naming an entity a waiting one names starts a new
//  group, since it is compared with what is stored once those before it
//  are; a PUT carrying a certificate or a revocation is stored alone,
//  after the waiting ones, since it changes who may write and whose key
//  is admitted. Each one's reply is as if it had been stored alone (if
//  the group's transaction fails, each PUT is stored alone). The node
//  holds PUTs while it reads the requests waiting on its client socket
//  (an idle single write waits for nothing).
void ht_service_hold_puts (ht_service_t *self, bool hold);

//  The next reply of a stored group's PUTs (routing id first; the caller
//  owns it and sends it), or NULL
zmsg_t *ht_service_next_reply (ht_service_t *self);

//  Groups of held PUTs stored so far: a caller reading requests in a
//  burst stops once one is stored, so a turn of its loop does at most
//  one group's work
uint64_t ht_service_groups_stored (const ht_service_t *self);

//  The service's part of the node's status, added to status: the node's
//  name and region, rate-limited requests, and the store's part (records
//  per kind, quarantine by reason, conflicts, epoch, last sequence)
void ht_service_store_status (ht_service_t *self, json_t *status);

//  Requests refused as over the client's rate, and malformed or unknown
uint64_t ht_service_rate_limited (const ht_service_t *self);
uint64_t ht_service_protocol_errors (const ht_service_t *self);

#endif
