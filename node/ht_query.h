//  ht_query: the read requests of the client socket — GET, FIND, LIST,
//  COUNT and HISTORY (docs/protocol.md §4) — answered from the store
//  through the client's read policy: what it may see of which kinds, in
//  which region, for which purpose; records redacted so the client
//  verifies every field it gets and learns nothing of the rest. A read
//  that shows personal (PI) or sensitive (S) fields yields an audit
//  draft, which the node must store before it sends the reply.
//
//  No sockets and no writes: the node's reader thread calls it, in read
//  transactions only, so reads never hold up replication.
#ifndef HT_QUERY_H_INCLUDED
#define HT_QUERY_H_INCLUDED

#include <czmq.h>
#include "ht_cert.h"
#include "ht_msg.h"
#include "ht_policy.h"
#include "ht_store.h"

#define HT_QUERY_DEFAULT_PAGE 100   //  LIST records per page unless max says
#define HT_QUERY_MAX_PAGE 1000      //  and at most this many
#define HT_QUERY_SCAN_FACTOR 10     //  a page examines at most this many
                                    //  times its size (at least 1000)
#define HT_QUERY_MAX_EMERGENCIES 64 //  declarations considered per read
#define HT_QUERY_FEED_SCAN 5000     //  log entries one feed batch examines

//  Who asks: the client's key and the certificate the node holds for it
typedef struct {
    char user [2 * HT_PUBKEY_BYTES + 1];    //  hex Ed25519 key
    ht_cert_t cert;                         //  its certificate
} ht_query_client_t;

typedef struct _ht_query_t ht_query_t;

//  A query engine over store (borrowed) for a node of region, with
//  policies (owned; NULL: the built-in set)
ht_query_t *ht_query_new (ht_store_t *store, const char *region, ht_policyset_t *policies);

//  Destroy the engine and set the pointer to NULL
void ht_query_destroy (ht_query_t **self_p);

//  Replace the policy set (owned), e.g. after SIGHUP
void ht_query_set_policies (ht_query_t *self, ht_policyset_t *policies);

//  The read policy that applies to a client: its certificate's policy,
//  else its department, else its role's name; NULL if the set has none
const ht_policy_t *ht_query_policy (const ht_query_t *self, const ht_cert_t *cert);

//  True for the requests this engine answers
bool ht_query_handles (const char *command);

//  Answer one read request (msg decoded; its token is echoed) at wall
//  time now_ms. Returns the reply's frames: an OK command, the body, a
//  JSON frame and record frames, or an ERROR. If the reply discloses
//  PI or S fields, *audit_p receives an unsigned `audit` draft (fields
//  set; the node sets key, region, scope and hlc, signs and stores it,
//  and sends the reply only if that worked); else NULL. The caller owns
//  both.
zmsg_t *ht_query_answer (ht_query_t *self, const ht_query_client_t *client,
                         const ht_msg_t *msg, uint64_t now_ms, ht_record_t **audit_p);

//  Change feeds (ht_feed keeps the subscriptions): may this client
//  subscribe as msg (a SUBSCRIBE) asks? HT_OK with the kinds as a mask
//  (bit per ht_schema_kind_at index), or a refusal with a reason
int ht_query_subscribe_check (ht_query_t *self, const ht_query_client_t *client,
                              const ht_msg_t *msg, uint32_t *kinds, const char **reason);

//  The next events of a subscription: changes after after_seq that the
//  client may see and the subscription asks for, at most credit, as an
//  EVENTS message (token: the SUBSCRIBE's), or NULL if none. *next_seq
//  receives the cursor to go on from (past every entry examined, shown
//  or not). An audit draft comes with events that show personal fields,
//  as for reads. One batch examines at most HT_QUERY_FEED_SCAN entries.
zmsg_t *ht_query_events (ht_query_t *self, const ht_query_client_t *client,
                         const ht_msg_t *subscribe, uint32_t kinds, uint64_t after_seq,
                         size_t credit, uint64_t now_ms, ht_record_t **audit_p,
                         uint64_t *next_seq);

//  An ERROR reply with token, error name and reason (the caller owns it)
zmsg_t *ht_query_error (uint64_t token, int code, const char *reason);

#endif
