//  ht_reader: the node's reader thread. Read requests from the client
//  socket (GET, FIND, LIST, COUNT, HISTORY) are answered here, through
//  ht_query, and change feeds (SUBSCRIBE, CREDIT, UNSUBSCRIBE) served
//  (ht_feed), in LMDB read transactions, so however long a read takes,
//  and however many partners follow, the node's own thread goes on
//  replicating and writing.
//
//  The node sends "READ" [routing id] [ht_query_client_t] [ht_msg_t] on
//  the actor's pipe; the reader answers [routing id] [audit draft
//  pointer, or NULL] [reply frames...]. "POLICIES" [pointer] hands it a
//  new ht_policyset_t (it owns it from then on).
#ifndef HT_READER_H_INCLUDED
#define HT_READER_H_INCLUDED

#include <czmq.h>
#include "ht_metrics.h"
#include "ht_policy.h"
#include "ht_query.h"
#include "ht_store.h"

//  Start a reader over store (borrowed: it must outlive the reader) for a
//  node of region, with policies (owned; NULL: the built-in set). The
//  time each request takes to answer goes to latency (borrowed, it must
//  outlive the reader; NULL: not measured).
zactor_t *ht_reader_new (ht_store_t *store, const char *region, ht_policyset_t *policies,
                         ht_latency_t *latency);

//  Stop the reader and set the pointer to NULL
void ht_reader_destroy (zactor_t **self_p);

//  Hand a read to the reader without waiting; HT_ERATELIMIT if its queue
//  is full (the caller answers the client at once)
int ht_reader_send (zactor_t *self, zframe_t *routing_id, const ht_query_client_t *client,
                    const ht_msg_t *msg);

//  Tell the reader the store has new changes (feeds send them); never waits
void ht_reader_wrote (zactor_t *self);

//  An EVENTS of a subscription (its events from cursor from on) was not
//  sent (its audit record could not be stored): have the reader send
//  them again
void ht_reader_rewind (zactor_t *self, zframe_t *routing_id, uint64_t token, uint64_t from,
                       size_t events);

//  Give the reader a new policy set (owned by the reader from then on)
void ht_reader_set_policies (zactor_t *self, ht_policyset_t *policies);

//  Receive one answer without waiting: the routing id, the audit draft
//  (or NULL) and the reply's frames; NULL if none is ready
zmsg_t *ht_reader_recv (zactor_t *self, zframe_t **routing_id_p, ht_record_t **audit_p);

#endif
