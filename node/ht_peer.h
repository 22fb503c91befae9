//  ht_peer: one neighbour of a node — the parent, or a child on our
//  ROUTER — and the state machine of our link with it. The peer owns:
//
//  - the handshake: DOWN, CONNECTING (parent: HELLO sent), UP (the
//    child's HELLO admitted, or the parent's WELCOME);
//  - liveness: when it was last heard, and the timeout;
//  - the reconnect backoff (parent);
//  - what we pull from it: its epoch and our cursor into its log, its
//    latest sequence, and the one PULL we may have outstanding.
//
//  It is driven by events (ht_peer_up, ht_peer_seen, ...) and by
//  ht_peer_tick (now), which returns what to do; it does no I/O and reads
//  no clock, so tests drive it with made-up times.
//
//  Batches are matched by where they start, not by which PULL asked for
//  them: a BATCH whose `from` is our cursor (in the epoch we pull) is
//  always applicable, whichever PULL it answers — one sent before a
//  reconnect included — and any other is stale and dropped, after which a
//  PULL from our real cursor is due. So no batch is ever "unrequested"
//  and ignored while the link stalls.
#ifndef HT_PEER_H_INCLUDED
#define HT_PEER_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "ht_msg.h"

typedef struct _ht_peer_t ht_peer_t;

typedef enum {
    HT_PEER_DOWN = 0,               //  not connected (a child: gone for now)
    HT_PEER_CONNECTING = 1,         //  parent: HELLO sent, no WELCOME yet
    HT_PEER_UP = 2                  //  handshake done: replicating
} ht_peer_state_t;

//  What ht_peer_tick asks of its caller (bits)
typedef enum {
    HT_PEER_DO_NOTHING = 0,
    HT_PEER_DO_PING = 1 << 0,       //  send a PING
    HT_PEER_DO_PULL = 1 << 1,       //  send a PULL from the cursor
    HT_PEER_DO_LOST = 1 << 2        //  it is silent: it is DOWN now (a child
                                    //  waits to return; the parent link must
                                    //  be made again, after ht_peer_backoff)
} ht_peer_action_t;

//  What to do with a BATCH (ht_peer_batch_check)
typedef enum {
    HT_PEER_BATCH_APPLY = 0,        //  it starts at our cursor: apply it
    HT_PEER_BATCH_STALE = 1,        //  it does not: drop it, a PULL is due
    HT_PEER_BATCH_WAIT = 2          //  it does not, and a PULL from our
                                    //  cursor is out already: just drop it
} ht_peer_batch_t;

//  A new peer named name (its region), in state DOWN. The caller owns it.
ht_peer_t *ht_peer_new (const char *name, bool is_parent);

//  Destroy a peer and set the pointer to NULL
void ht_peer_destroy (ht_peer_t **self_p);

//  Identity (strings borrowed for the peer's lifetime)
const char *ht_peer_name (const ht_peer_t *self);
const char *ht_peer_label (const ht_peer_t *self);
void ht_peer_set_label (ht_peer_t *self, const char *label);
bool ht_peer_is_parent (const ht_peer_t *self);
//  The Ed25519 key (hex) it authenticated with ("" if unknown)
const char *ht_peer_key (const ht_peer_t *self);
void ht_peer_set_key (ht_peer_t *self, const char *key_hex);
//  A child's ROUTER routing id (borrowed; NULL if none); set copies it
zframe_t *ht_peer_routing_id (const ht_peer_t *self);
void ht_peer_set_routing_id (ht_peer_t *self, zframe_t *routing_id);

ht_peer_state_t ht_peer_state (const ht_peer_t *self);
bool ht_peer_is_up (const ht_peer_t *self);

//  What we pull from it
const uint8_t *ht_peer_epoch (const ht_peer_t *self);
uint64_t ht_peer_cursor (const ht_peer_t *self);
uint64_t ht_peer_last_seq (const ht_peer_t *self);
bool ht_peer_pulling (const ht_peer_t *self);

//  Start from a stored (epoch, cursor, full, tag): where the last applied
//  batch left us (tag NULL or all zero: none)
void ht_peer_resume (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES],
                     uint64_t cursor, uint64_t full, const uint8_t *tag);

//  The peer's tag of our cursor (its BATCH said it; our PULL echoes it),
//  or NULL if we hold none for this cursor
const uint8_t *ht_peer_tag (const ht_peer_t *self);

//  The applied batch's tag of its cursor (NULL: it gave none)
void ht_peer_set_tag (ht_peer_t *self, const uint8_t *tag);

//  A full pass: our store lost what it had, including what it had sent
//  this peer, so we pull everything we should hold from it, asking it
//  not to skip what it received from us up to this sequence of its (the
//  log it had when the pass began). 0: no pass; HT_PEER_FULL_PENDING:
//  fixed at the next handshake from the sequence the peer announces.
#define HT_PEER_FULL_PENDING UINT64_MAX
uint64_t ht_peer_full (const ht_peer_t *self);

//  What of the full pass remains after a batch that ends at cursor, with
//  more or not: what to store with the cursor
uint64_t ht_peer_full_after (const ht_peer_t *self, uint64_t cursor, bool more);

//  Our store took a new epoch (it was rolled back): pull this peer again
//  from zero, in a full pass
void ht_peer_restart (ht_peer_t *self);

//  --------------------------------------------------------------------------
//  Events

//  Parent: we made a fresh connection and said HELLO at now
void ht_peer_connecting (ht_peer_t *self, int64_t now);

//  The handshake completed at now (a child's HELLO admitted, or the
//  parent's WELCOME): the peer is UP, any PULL of the old connection is
//  forgotten, and the backoff is reset. Its store epoch is adopted: a
//  changed epoch (a restored store) restarts our cursor at zero. Returns
//  true if the epoch changed and the cursor was reset.
bool ht_peer_up (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES],
                 uint64_t last_seq, int64_t now);

//  The link is gone (silent, refused, or the socket closed): DOWN
void ht_peer_down (ht_peer_t *self);

//  Any message from it arrived at now
void ht_peer_seen (ht_peer_t *self, int64_t now);

//  It told us its latest sequence (NOTIFY, PING, PONG, BATCH)
void ht_peer_heard_seq (ht_peer_t *self, uint64_t last_seq);

//  It has news (NOTIFY): true if a PULL should go now; false if one is out
//  (the peer remembers to pull again when it is answered) or it is not UP
bool ht_peer_want_pull (ht_peer_t *self);

//  We sent PULL {epoch, cursor: from} at now
void ht_peer_pull_sent (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES],
                        uint64_t from, int64_t now);

//  A BATCH arrived and waits to be checked (ht_repl_receive): while one
//  waits, the PULL out is not taken for lost; taken: it is checked now
void ht_peer_batch_received (ht_peer_t *self);
void ht_peer_batch_taken (ht_peer_t *self);

//  A BATCH arrived: may it be applied? epoch is the sender's; from is
//  where it starts (has_from false for a sender that does not say: then
//  only an answer to our outstanding PULL from the cursor is applied).
ht_peer_batch_t ht_peer_batch_check (ht_peer_t *self,
                                     const uint8_t epoch [HT_MSG_EPOCH_BYTES],
                                     bool has_from, uint64_t from);

//  A checked batch was applied up to cursor (more: the sender had more):
//  received records, applied of them became current. Returns true if a
//  PULL should go now.
bool ht_peer_batch_applied (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES],
                            uint64_t cursor, bool more, uint64_t last_seq,
                            uint64_t received, uint64_t applied);

//  We sent it records (for status)
void ht_peer_sent_records (ht_peer_t *self, uint64_t count);

//  A checked batch from it could not be stored (error names why, e.g.
//  store_full): no PULL goes to it before the returned delay has passed,
//  which starts at min_ms and doubles with each failure in a row up to
//  max_ms, so a store that stays full costs a bounded share of the CPU.
//  *tell says whether to log it: the first failure, then at most every
//  tell_ms while they go on.
int64_t ht_peer_apply_failed (ht_peer_t *self, const char *error, int64_t now,
                              int64_t min_ms, int64_t max_ms, int64_t tell_ms, bool *tell);

//  A batch from it was stored: the delay is over. Returns how many
//  failed in a row before it (0: none)
uint64_t ht_peer_apply_ok (ht_peer_t *self);

//  Batches from it that failed in a row, and when the delay they set
//  ends (0: none set)
uint64_t ht_peer_apply_failures (const ht_peer_t *self);
int64_t ht_peer_retry_at (const ht_peer_t *self);

//  May a PULL go to it at now? Not while a failed batch's delay runs
bool ht_peer_may_pull (const ht_peer_t *self, int64_t now);

//  --------------------------------------------------------------------------
//  Its clock

//  Readings of its wall clock kept, the newest
#define HT_PEER_CLOCK_SAMPLES 8

//  A reading of its wall clock: offset_ms is its clock minus ours, read
//  over a round trip of rtt_ms (our PING to its PONG, our HELLO to its
//  WELCOME: the offset is corrected by half of it), or -1 if one way
//  only (its HELLO: off by the transit time). ht_peer_up forgets the
//  readings: a peer that connects again may have had its clock set.
void ht_peer_clock_sample (ht_peer_t *self, int64_t offset_ms, int64_t rtt_ms);

//  Its clock minus ours (ms), from the kept reading with the shortest
//  round trip (the newest one-way reading if there is no other), and that
//  reading's rtt (-1: one way); false if there is none
bool ht_peer_clock_offset (const ht_peer_t *self, int64_t *offset_ms, int64_t *rtt_ms);

//  What it says of its own clock: its clock minus the reference it judges
//  it by (has false: it says nothing: an older node, or one that has no
//  reference). Forgotten by ht_peer_up.
void ht_peer_set_clock_said (ht_peer_t *self, bool has, int64_t skew_ms);
bool ht_peer_clock_said (const ht_peer_t *self, int64_t *skew_ms);

//  Judge its clock against ours with limit_ms: off once its offset is
//  beyond the limit, right again once back within half of it (so a clock
//  at the edge does not flap). Sets *skewed; returns true if that changed
//  (the caller says so once).
bool ht_peer_clock_judge (ht_peer_t *self, int64_t limit_ms, bool *skewed);

//  --------------------------------------------------------------------------
//  Time

//  What to do at now, with peers silent for longer than timeout_ms dead
//  and PULLs unanswered that long forgotten. Bits of ht_peer_action_t.
//  A peer that is LOST is DOWN when this returns.
int ht_peer_tick (ht_peer_t *self, int64_t now, int64_t timeout_ms);

//  Parent: the delay before the next connection attempt — the current
//  backoff, starting at min_ms and doubling with each call up to max_ms;
//  ht_peer_up resets it
int64_t ht_peer_backoff (ht_peer_t *self, int64_t min_ms, int64_t max_ms);

//  The peer's line in the node's status (caller owns)
json_t *ht_peer_status (const ht_peer_t *self, int64_t now);

#endif
