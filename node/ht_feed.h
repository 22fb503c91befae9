//  ht_feed: change-feed subscriptions, kept by the node's reader thread.
//  A partner (or department) subscribes on the client socket with kinds,
//  a region, an optional indexed-field filter and a cursor (the store's
//  epoch and a sequence number; or from the start, or from now). The
//  feed sends EVENTS — (cursor, redacted signed record) in sequence
//  order — never more than the partner's credit, FEED-HB while idle, and
//  RESYNC when it cannot serve a cursor (another epoch, or a sequence
//  this store never reached: a restore). docs/protocol.md §4 "Feeds".
//
//  No sockets: the reader passes requests in and takes messages out.
//  Every subscription costs a fixed few KiB whatever its partner does:
//  events are read from the store when credit allows, never queued.
#ifndef HT_FEED_H_INCLUDED
#define HT_FEED_H_INCLUDED

#include <czmq.h>
#include "ht_query.h"

#define HT_FEED_MAX_SUBSCRIPTIONS 1024  //  per node
#define HT_FEED_MAX_PER_KEY 16          //  per client key
#define HT_FEED_MAX_CREDIT 2000         //  events granted and not yet sent:
                                        //  what a partner that stops reading
                                        //  can leave queued (about 1.2 KiB
                                        //  an event, so under 4 MiB)
#define HT_FEED_BATCH 500               //  events in one EVENTS message
#define HT_FEED_HEARTBEAT_MS 1000       //  FEED-HB this often while idle
#define HT_FEED_IDLE_MS 600000          //  a subscription unheard of this
                                        //  long (no CREDIT) is dropped

typedef struct _ht_feed_t ht_feed_t;

//  A feed over query's store (both borrowed)
ht_feed_t *ht_feed_new (ht_query_t *query, ht_store_t *store);

//  Destroy the feed and set the pointer to NULL
void ht_feed_destroy (ht_feed_t **self_p);

//  True for SUBSCRIBE, CREDIT and UNSUBSCRIBE
bool ht_feed_handles (const char *command);

//  Take a feed request from a client (routing id: its connection).
//  Returns the immediate answer (SUBSCRIBE-OK, RESYNC or ERROR), or NULL
//  (CREDIT and UNSUBSCRIBE are not answered). now_ms is the monotonic
//  clock.
zmsg_t *ht_feed_request (ht_feed_t *self, zframe_t *routing_id,
                         const ht_query_client_t *client, const ht_msg_t *msg, int64_t now_ms);

//  The next message a subscription has to send (EVENTS or FEED-HB), with
//  its routing id (a copy, the caller owns it) and the audit draft of
//  its events (or NULL); NULL if none is due. Subscriptions take turns.
zmsg_t *ht_feed_next (ht_feed_t *self, int64_t now_ms, zframe_t **routing_id_p,
                      ht_record_t **audit_p);

//  An EVENTS of a subscription was not sent (the node could not store its
//  audit record): its events, from cursor from on, come again, and the
//  credit they took is given back
void ht_feed_rewind (ht_feed_t *self, zframe_t *routing_id, uint64_t token, uint64_t from,
                     size_t events);

//  True if a subscription has credit and changes may wait for it (call
//  ht_feed_next again without waiting). It also notices new writes:
//  call it before ht_feed_next.
bool ht_feed_busy (ht_feed_t *self);

//  Subscriptions held, for status
size_t ht_feed_size (ht_feed_t *self);

#endif
