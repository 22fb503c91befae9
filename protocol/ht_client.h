//  ht_client: a client of a node's client socket (CURVE): put signed
//  records; read them (get, find, list with paging, count, history)
//  through the client's read policy, every record verified as it
//  arrives; ask for status and info. Blocking calls with a timeout; a
//  refused handshake fails at once (never hangs). docs/protocol.md §4.
#ifndef HT_CLIENT_H_INCLUDED
#define HT_CLIENT_H_INCLUDED

#include <jansson.h>
#include "ht_error.h"
#include "ht_record.h"
#include "ht_keys.h"
#include "ht_msg.h"

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

//  Reads. Every request may name a purpose (docs/protocol.md §4 lists
//  the codes): a read that would show personal fields needs one its read
//  policy allows. A result holds the node's JSON answer and the records
//  it sent, each decoded and verified (signature over the disclosed
//  fields and the digests of the withheld ones) — a record that does not
//  verify fails the call with its error. The caller frees a result with
//  ht_client_result_free.
typedef struct {
    json_t *json;                   //  the answer (count, next, policy, ...)
    ht_record_t **records;          //  the records, as the policy shows them
    size_t count;                   //  how many
} ht_client_result_t;

void ht_client_result_free (ht_client_result_t *result);

//  What a LIST asks for; unset items are NULL or 0
typedef struct {
    const char *purpose;            //  why (a purpose code), or NULL
    const char *region;             //  region code or prefix; NULL: the
                                    //  client's own jurisdiction
    const char *field;              //  an indexed field, with value
    const char *value;
    const char *after;              //  the previous page's json "next"
    size_t max;                     //  records per page (0: 100; at most 1000)
} ht_client_query_t;

//  One entity's current version by kind and key. HT_OK or an error
//  (HT_ENOTFOUND: none here that this client may see).
int ht_client_get (ht_client_t *self, const char *kind, const char *key,
                   const char *purpose, ht_client_result_t *result);

//  An elder by citizen ID number, or a facility by USCC: the node derives
//  the key (an elder's with the network's pseudonym key)
int ht_client_find (ht_client_t *self, const char *kind, const char *natural_key,
                    const char *purpose, ht_client_result_t *result);

//  One page of a kind by region or by an indexed field; json "next" is
//  the cursor of the next page, or null at the end
int ht_client_list (ht_client_t *self, const char *kind, const ht_client_query_t *query,
                    ht_client_result_t *result);

//  One entity's versions, oldest first, the current one last; json
//  "versions"[i] says of record i whether it is a conflict and current
int ht_client_history (ht_client_t *self, const char *kind, const char *key,
                       const char *purpose, ht_client_result_t *result);

//  Counts of a kind in a region, grouped by the next tier down:
//  {"total": N, "by": {"<region>": n, ...}, "region": ...}; NULL with
//  *error
json_t *ht_client_count (ht_client_t *self, const char *kind, const char *region,
                         const char *purpose, int *error);

//  Change feeds (docs/protocol.md §4 "Feeds"). One feed per client, and
//  no other requests on that client while it runs (their answers would
//  be taken for the feed's). Events come in sequence order, each record
//  verified; the feed keeps the node's credit window granted by itself,
//  and heals a lost batch by subscribing again from its cursor (at least
//  once: an event may come twice, never not at all).
typedef struct {
    const char *kinds;              //  "elder,facility"; NULL: all the policy shows
    const char *region;             //  region code or prefix, or NULL
    const char *field, *value;      //  an indexed field filter (one kind), or NULL
    const char *purpose;            //  needed if events show personal fields
    const uint8_t *epoch;           //  resume: the saved epoch (16 bytes) ...
    uint64_t cursor;                //  ... and cursor; NULL epoch: no resume
    bool from_now;                  //  no resume: from now (else from the start)
    size_t window;                  //  credit kept granted (0: 1000)
} ht_client_feed_t;

typedef struct {
    ht_record_t *record;            //  the event's record (the caller owns it)
    uint64_t seq;                   //  its position in the node's log
    uint8_t epoch [HT_MSG_EPOCH_BYTES];     //  the cursor to save after it
    uint64_t cursor;
} ht_client_event_t;

//  Set up the feed (subscribes on the first ht_client_feed_next)
int ht_client_feed_start (ht_client_t *self, const ht_client_feed_t *spec);

//  The next event, waiting at most timeout_ms. HT_OK with the event;
//  HT_ETIMEOUT if none came (the cursor may still have moved on: save
//  it); HT_ERESYNC if the node cannot serve the cursor (a restored node:
//  start again from the start and rebuild what was built from the feed);
//  another error if the node refused (policy, purpose...). After an
//  error the next call subscribes again from the cursor.
int ht_client_feed_next (ht_client_t *self, int timeout_ms, ht_client_event_t *event);

//  The cursor to save: where the feed resumes after what was consumed
void ht_client_feed_cursor (const ht_client_t *self, uint8_t epoch [HT_MSG_EPOCH_BYTES],
                            uint64_t *cursor, bool *has_cursor);

//  How often a lost batch made the feed subscribe again
uint64_t ht_client_feed_resubscribed (const ht_client_t *self);

//  Why the last request failed, a sentence for people ("" after a
//  success). Borrowed: valid until the next call on this client.
const char *ht_client_reason (const ht_client_t *self);

#endif
