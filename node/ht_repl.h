//  ht_repl: the replication engine. It knows the protocol (HELLO,
//  WELCOME, PULL, BATCH, NOTIFY, PING, PONG, ERROR: docs/protocol.md §3)
//  and nothing of sockets: given a message from a peer, it applies what
//  must be applied to the store and hands the messages to send to its
//  io.send callback. The node wires send to its ROUTER and DEALER; tests
//  wire two engines to each other in memory.
//
//  Each direction is pull-based: "send me what I should hold after
//  (epoch, cursor), at most N". The sender filters its by-sequence log by
//  the holder rule and skips what it received from that same peer; the
//  receiver applies the batch and stores the new cursor in the same
//  transaction, then pulls again while more waits (prefetching the next
//  batch before applying one, so the hops of a chain overlap). NOTIFY
//  nudges a peer to pull; PING/PONG find dead peers. The peers' state
//  machines are ht_peer's; who may connect is ht_gate's.
#ifndef HT_REPL_H_INCLUDED
#define HT_REPL_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include "ht_config.h"
#include "ht_msg.h"
#include "ht_peer.h"
#include "ht_store.h"

typedef struct _ht_repl_t ht_repl_t;

//  What the engine asks of its owner
typedef struct {
    //  Send zmsg (consumed) to peer: over the DEALER for the parent,
    //  over the ROUTER with the peer's routing id for a child
    void (*send) (void *arg, ht_peer_t *peer, zmsg_t **zmsg_p);
    //  The parent link must be made again (no answer, silent, refused):
    //  the owner closes it and reconnects after ht_peer_backoff
    void (*reconnect) (void *arg, const char *why);
    //  Records became current from a peer (e.g. to wake other services)
    void (*applied) (void *arg, size_t count);
    void *arg;
    //  Our wall clock, ms since 1970; NULL: the system's (tests give each
    //  engine a clock of its own)
    uint64_t (*wall_ms) (void *arg);
} ht_repl_io_t;

//  What the engine makes of our clock, read against our neighbours'
//  (docs/security.md R15, R16). HELLO, WELCOME, PING and PONG carry the
//  sender's wall clock; each peer keeps its readings (ht_peer). The
//  reference is the parent's clock when we read it, else that of most of
//  our children (two at least, within limits/clock_skew_s of each other).
//  With too few readings (the parent link down, fewer than two children)
//  the last judgement stands; children that disagree leave none.
typedef struct {
    bool known;                         //  a reference clock was read
    int64_t skew_ms;                    //  our clock minus the reference's
                                        //  (positive: ours is ahead)
    char reference [256];               //  what it is, for people
    bool skewed;                        //  off by more than limits/clock_skew_s
                                        //  (right again within half of it)
    bool paused;                        //  so far behind that our neighbours'
                                        //  new records are in our future: we
                                        //  do not pull until it is set right
} ht_repl_clock_t;

//  A new engine over store (borrowed) for config (borrowed: a reload
//  updates it in place). parent_key is the parent's Ed25519 public key
//  (NULL on the root): the engine re-checks its certificate.
ht_repl_t *ht_repl_new (ht_store_t *store, const ht_config_t *config,
                        const uint8_t *parent_key, ht_repl_io_t io);

//  Key the tags of the cursors this node hands out with a key derived
//  from secret (the node's secret key: stable across restarts and
//  restores). A peer's PULL from past our log's end is believed to show
//  that our store was rolled back only with our tag of that cursor;
//  without a cursor key no rollback is found from peers.
void ht_repl_set_cursor_key (ht_repl_t *self, const uint8_t *secret, size_t size);

//  Destroy the engine and its peers; set the pointer to NULL
void ht_repl_destroy (ht_repl_t **self_p);

//  The parent's peer (NULL on the root)
ht_peer_t *ht_repl_parent (ht_repl_t *self);

//  The child whose ROUTER routing id this is, or NULL
ht_peer_t *ht_repl_child (ht_repl_t *self, zframe_t *routing_id);

//  The owner made a fresh link to the parent: say HELLO
void ht_repl_parent_connecting (ht_repl_t *self, int64_t now);

//  The owner closed the parent link
void ht_repl_parent_lost (ht_repl_t *self);

//  The owner links to the parent under another of its keys (a rotation):
//  the engine re-checks that key's certificate from now on
void ht_repl_set_parent_key (ht_repl_t *self, const uint8_t parent_key [HT_PUBKEY_BYTES]);

//  A HELLO arrived on the ROUTER from routing_id, whose CURVE key
//  authenticated as user_id (hex Ed25519)
void ht_repl_on_hello (ht_repl_t *self, zframe_t *routing_id, const char *user_id,
                       const ht_msg_t *msg, int64_t now);

//  A message (with record frames in records) arrived from peer
void ht_repl_on_message (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *msg,
                         zmsg_t *records, int64_t now);

//  As ht_repl_on_message, except a BATCH from a peer that is UP: that is
//  taken in (its records moved out of records), its sender counted as
//  heard, and it waits for ht_repl_work. An owner that reads every message
//  waiting on its sockets and then applies one batch keeps answering its
//  peers' PINGs between batches, however many arrive at once.
void ht_repl_receive (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *msg,
                      zmsg_t *records, int64_t now);

//  Apply the oldest batch taken in by ht_repl_receive, if any; true if
//  more wait
bool ht_repl_work (ht_repl_t *self, int64_t now);

//  Batches taken in and not yet applied
size_t ht_repl_waiting (ht_repl_t *self);

//  A batch that cannot be stored (store_full, or any store failure) is
//  asked for again after a delay per peer: HT_REPL_RETRY_MIN_MS, doubling
//  with each failure in a row up to HT_REPL_RETRY_MAX_MS, back to none
//  once one is stored. Meanwhile no PULL goes to that peer, so a full
//  store costs a bounded share of the CPU at both ends.
#define HT_REPL_RETRY_MIN_MS 50
#define HT_REPL_RETRY_MAX_MS 5000

//  Ms until the first such delay ends for a peer that will then be
//  pulled (0: now), or -1 if none: the owner calls ht_repl_retry then
int64_t ht_repl_retry_in (ht_repl_t *self, int64_t now);

//  Pull the peers whose delay has ended
void ht_repl_retry (ht_repl_t *self, int64_t now);

//  Something else wrote to the store (a client PUT, hutong put --store):
//  tell every peer that is UP
void ht_repl_wrote (ht_repl_t *self);

//  Heartbeat at now: ping, pull what is due, drop silent peers and peers
//  whose keys are no longer admitted
void ht_repl_tick (ht_repl_t *self, int64_t now);

//  New epochs this engine took because a peer showed that our store had
//  been rolled back
uint64_t ht_repl_epoch_changes (ht_repl_t *self);

//  Our clock as last judged (at each heartbeat and each reading)
ht_repl_clock_t ht_repl_clock (ht_repl_t *self);

//  How far our clock runs ahead of the reference, if it is skewed
//  (negative: behind), else 0: what ingest freshness corrects for
int64_t ht_repl_clock_lead (ht_repl_t *self);

//  The judgement as the node's status shows it (caller owns)
json_t *ht_repl_clock_status (ht_repl_t *self);

//  The peers' lines for the node's status (caller owns)
json_t *ht_repl_status (ht_repl_t *self, int64_t now);

//  Malformed or unexpected messages met so far
uint64_t ht_repl_protocol_errors (ht_repl_t *self);

//  Count a protocol error found by the owner (e.g. a message that did not
//  decode)
void ht_repl_protocol_error (ht_repl_t *self);

//  True if the engine applied or served records since the last call
//  (the owner gives back memory after a quiet spell)
bool ht_repl_busy (ht_repl_t *self);

#endif
