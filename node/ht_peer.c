//  ht_peer: one neighbour and its link's state machine (see ht_peer.h).
#include "ht_peer.h"
#include "ht_region.h"
#include "ht_record.h"

struct _ht_peer_t {
    char name [HT_REGION_BYTES];        //  its region: its identity here,
                                        //  and the origin of what it sends
    char label [64];                    //  its name, for logs and status
    char key_hex [2 * HT_PUBKEY_BYTES + 1];     //  its Ed25519 key, "" if unknown
    bool is_parent;                     //  reached over our DEALER
    zframe_t *routing_id;               //  ROUTER identity (children only)
    ht_peer_state_t state;              //  handshake
    int64_t last_seen_ms;               //  liveness: last message, or our HELLO
    int64_t heard_ms;                   //  last message really from it; 0: never
    uint64_t epoch_changes;             //  store epochs it changed to (restores)
    int64_t epoch_changed_ms;           //  ... the last one then; 0: never
    int64_t backoff_ms;                 //  next reconnect delay; 0: minimum
    uint8_t epoch [HT_MSG_EPOCH_BYTES]; //  its store epoch, as we pull from it
    uint64_t cursor;                    //  its sequence we have applied up to
    uint64_t full;                      //  a full pass reaches to (ht_peer_full)
    uint8_t tag [HT_MSG_TAG_BYTES];     //  its tag of cursor
    bool has_tag;                       //  ... if it gave one
    uint64_t last_seq;                  //  its latest sequence, as it said
    bool pulling;                       //  a PULL of ours is outstanding
    uint64_t pull_from;                 //  ... from this cursor
    int64_t pull_sent_ms;               //  ... sent then
    bool dirty;                         //  it has news we have not pulled
    size_t waiting;                     //  its batches taken in, not yet checked
    uint64_t received;                  //  records received from it
    uint64_t applied;                   //  of which became current here
    uint64_t sent;                      //  records sent to it
    uint64_t batches;                   //  batches applied from it
    uint64_t stale;                     //  batches dropped as stale
    uint64_t apply_failures;            //  its batches that failed in a row
    int64_t apply_backoff_ms;           //  the delay the next failure sets
    int64_t retry_at_ms;                //  no PULL before then; 0: none
    int64_t apply_told_ms;              //  when a failure was last logged
    char apply_error [32];              //  the last failure's error name
    int64_t clock_offset [HT_PEER_CLOCK_SAMPLES];   //  its clock minus ours, ms
    int64_t clock_rtt [HT_PEER_CLOCK_SAMPLES];      //  ... read over this (-1: one way)
    size_t clock_next;                  //  where the next reading goes
    size_t clock_count;                 //  readings held
    bool clock_skewed;                  //  its clock was said to be off
    int64_t clock_said;                 //  its clock minus its own reference,
    bool has_clock_said;                //  ... as it says, if it does
};

ht_peer_t *
ht_peer_new (const char *name, bool is_parent)
{
    ht_peer_t *self = (ht_peer_t *) zmalloc (sizeof (ht_peer_t));
    snprintf (self->name, sizeof self->name, "%s", name);
    snprintf (self->label, sizeof self->label, "%s", name);
    self->is_parent = is_parent;
    return self;
}

void
ht_peer_destroy (ht_peer_t **self_p)
{
    ht_peer_t *self = *self_p;
    if (self) {
        zframe_destroy (&self->routing_id);
        free (self);
        *self_p = NULL;
    }
}

const char *ht_peer_name (const ht_peer_t *self) { return self->name; }
const char *ht_peer_label (const ht_peer_t *self) { return self->label; }
bool ht_peer_is_parent (const ht_peer_t *self) { return self->is_parent; }
const char *ht_peer_key (const ht_peer_t *self) { return self->key_hex; }
zframe_t *ht_peer_routing_id (const ht_peer_t *self) { return self->routing_id; }
ht_peer_state_t ht_peer_state (const ht_peer_t *self) { return self->state; }
bool ht_peer_is_up (const ht_peer_t *self) { return self->state == HT_PEER_UP; }
const uint8_t *ht_peer_epoch (const ht_peer_t *self) { return self->epoch; }
uint64_t ht_peer_cursor (const ht_peer_t *self) { return self->cursor; }
uint64_t ht_peer_last_seq (const ht_peer_t *self) { return self->last_seq; }
bool ht_peer_pulling (const ht_peer_t *self) { return self->pulling; }

void
ht_peer_set_label (ht_peer_t *self, const char *label)
{
    if (label && *label)
        snprintf (self->label, sizeof self->label, "%s", label);
}

void
ht_peer_set_key (ht_peer_t *self, const char *key_hex)
{
    snprintf (self->key_hex, sizeof self->key_hex, "%s", key_hex? key_hex: "");
}

void
ht_peer_set_routing_id (ht_peer_t *self, zframe_t *routing_id)
{
    zframe_destroy (&self->routing_id);
    self->routing_id = routing_id? zframe_dup (routing_id): NULL;
}

void
ht_peer_resume (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES], uint64_t cursor,
                uint64_t full, const uint8_t *tag)
{
    memcpy (self->epoch, epoch, HT_MSG_EPOCH_BYTES);
    self->cursor = cursor;
    self->full = full;
    static const uint8_t none [HT_MSG_TAG_BYTES] = { 0 };
    ht_peer_set_tag (self, tag && memcmp (tag, none, HT_MSG_TAG_BYTES)? tag: NULL);
}

const uint8_t *
ht_peer_tag (const ht_peer_t *self)
{
    return self->has_tag? self->tag: NULL;
}

void
ht_peer_set_tag (ht_peer_t *self, const uint8_t *tag)
{
    self->has_tag = tag != NULL;
    if (tag)
        memcpy (self->tag, tag, HT_MSG_TAG_BYTES);
}

uint64_t ht_peer_full (const ht_peer_t *self) { return self->full; }

uint64_t
ht_peer_full_after (const ht_peer_t *self, uint64_t cursor, bool more)
{
    return more && cursor < self->full? self->full: 0;
}

void
ht_peer_restart (ht_peer_t *self)
{
    self->cursor = 0;
    self->has_tag = false;
    //  Connected, we know what it holds now; else we learn it at HELLO
    self->full = self->state == HT_PEER_UP && self->last_seq? self->last_seq
                                                             : HT_PEER_FULL_PENDING;
    self->pulling = false;
    self->dirty = true;
}

//  --------------------------------------------------------------------------
//  Events

void
ht_peer_connecting (ht_peer_t *self, int64_t now)
{
    self->state = HT_PEER_CONNECTING;
    self->pulling = false;
    //  Silence is counted from the HELLO: no answer within the timeout
    //  and the link is made again
    self->last_seen_ms = now;
}

bool
ht_peer_up (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES],
            uint64_t last_seq, int64_t now)
{
    bool changed = memcmp (self->epoch, epoch, HT_MSG_EPOCH_BYTES) != 0;
    bool reset = changed && self->cursor > 0;
    if (changed) {
        //  A store restored from a backup reissues sequence numbers: what
        //  we knew of the old epoch's log means nothing in the new one
        memcpy (self->epoch, epoch, HT_MSG_EPOCH_BYTES);
        self->cursor = 0;
        self->has_tag = false;
    }
    if (reset) {
        self->epoch_changes++;
        self->epoch_changed_ms = now;
    }
    self->state = HT_PEER_UP;
    self->clock_count = 0;
    self->has_clock_said = false;
    self->last_seq = last_seq;
    //  A pending full pass reaches what the peer holds now: what it
    //  receives from us from here on is ours already
    if (self->full == HT_PEER_FULL_PENDING)
        self->full = last_seq? last_seq: 0;
    self->last_seen_ms = now;
    self->heard_ms = now;
    self->backoff_ms = 0;
    //  A PULL of the old connection may never be answered; a batch that
    //  does come back for it is still applied if it starts at our cursor
    self->pulling = false;
    self->dirty = true;
    return reset;
}

void
ht_peer_down (ht_peer_t *self)
{
    self->state = HT_PEER_DOWN;
    self->pulling = false;
}

void
ht_peer_seen (ht_peer_t *self, int64_t now)
{
    if (now > self->last_seen_ms)
        self->last_seen_ms = now;
    if (now > self->heard_ms)
        self->heard_ms = now;
}

void
ht_peer_heard_seq (ht_peer_t *self, uint64_t last_seq)
{
    self->last_seq = last_seq;
    if (last_seq > self->cursor)
        self->dirty = true;
}

bool
ht_peer_want_pull (ht_peer_t *self)
{
    self->dirty = true;
    return self->state == HT_PEER_UP && !self->pulling;
}

void
ht_peer_pull_sent (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES],
                   uint64_t from, int64_t now)
{
    (void) epoch;
    self->pulling = true;
    self->pull_from = from;
    self->pull_sent_ms = now;
    self->dirty = false;
}

void
ht_peer_batch_received (ht_peer_t *self)
{
    self->waiting++;
}

void
ht_peer_batch_taken (ht_peer_t *self)
{
    if (self->waiting)
        self->waiting--;
}

ht_peer_batch_t
ht_peer_batch_check (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES],
                     bool has_from, uint64_t from)
{
    bool answers_pull = self->pulling && self->pull_from == self->cursor;
    bool same_epoch = memcmp (self->epoch, epoch, HT_MSG_EPOCH_BYTES) == 0;
    //  A batch of another epoch is applicable only from the start of its
    //  log: our cursor means nothing there
    bool starts_here = has_from? from == (same_epoch? self->cursor: 0)
                               : answers_pull;
    if (self->state == HT_PEER_UP && starts_here) {
        if (!same_epoch) {
            //  A new epoch taken while connected (the peer found it had
            //  been rolled back) arrives in a batch, not a handshake
            if (self->cursor > 0) {
                self->epoch_changes++;
                self->epoch_changed_ms = self->heard_ms;
            }
            memcpy (self->epoch, epoch, HT_MSG_EPOCH_BYTES);
            self->cursor = 0;
            self->has_tag = false;
        }
        //  It answers the outstanding PULL if that asked from here; a PULL
        //  naming an epoch not the sender's is served from zero, so a
        //  batch of a new epoch answers it wherever it asked from
        if (self->pulling && (!same_epoch || self->pull_from == self->cursor))
            self->pulling = false;
        return HT_PEER_BATCH_APPLY;
    }
    self->stale++;
    if (answers_pull)
        return HT_PEER_BATCH_WAIT;      //  our real answer is on its way
    //  A prefetched batch whose predecessor failed, or one of an old
    //  connection: ask again from where we really are
    self->pulling = false;
    self->dirty = true;
    return HT_PEER_BATCH_STALE;
}

bool
ht_peer_batch_applied (ht_peer_t *self, const uint8_t epoch [HT_MSG_EPOCH_BYTES],
                       uint64_t cursor, bool more, uint64_t last_seq, uint64_t received,
                       uint64_t applied)
{
    self->full = ht_peer_full_after (self, cursor, more);
    memcpy (self->epoch, epoch, HT_MSG_EPOCH_BYTES);
    if (cursor > self->cursor)
        self->cursor = cursor;
    self->last_seq = last_seq;
    self->received += received;
    self->applied += applied;
    self->batches++;
    if (self->last_seq > self->cursor)
        self->dirty = true;
    return self->state == HT_PEER_UP && !self->pulling && self->dirty;
}

void
ht_peer_sent_records (ht_peer_t *self, uint64_t count)
{
    self->sent += count;
}

int64_t
ht_peer_apply_failed (ht_peer_t *self, const char *error, int64_t now, int64_t min_ms,
                      int64_t max_ms, int64_t tell_ms, bool *tell)
{
    int64_t delay = self->apply_backoff_ms < min_ms? min_ms: self->apply_backoff_ms;
    if (delay > max_ms)
        delay = max_ms;
    self->apply_backoff_ms = delay * 2 > max_ms? max_ms: delay * 2;
    self->retry_at_ms = now + delay;
    *tell = self->apply_failures++ == 0 || now - self->apply_told_ms >= tell_ms
         || !streq (self->apply_error, error);
    if (*tell)
        self->apply_told_ms = now;
    snprintf (self->apply_error, sizeof self->apply_error, "%s", error);
    return delay;
}

uint64_t
ht_peer_apply_ok (ht_peer_t *self)
{
    uint64_t failures = self->apply_failures;
    self->apply_failures = 0;
    self->apply_backoff_ms = 0;
    self->retry_at_ms = 0;
    self->apply_error [0] = 0;
    return failures;
}

uint64_t ht_peer_apply_failures (const ht_peer_t *self) { return self->apply_failures; }
int64_t ht_peer_retry_at (const ht_peer_t *self) { return self->retry_at_ms; }

bool
ht_peer_may_pull (const ht_peer_t *self, int64_t now)
{
    return now >= self->retry_at_ms;
}

//  --------------------------------------------------------------------------
//  Its clock

void
ht_peer_clock_sample (ht_peer_t *self, int64_t offset_ms, int64_t rtt_ms)
{
    self->clock_offset [self->clock_next] = offset_ms;
    self->clock_rtt [self->clock_next] = rtt_ms < 0? -1: rtt_ms;
    self->clock_next = (self->clock_next + 1) % HT_PEER_CLOCK_SAMPLES;
    if (self->clock_count < HT_PEER_CLOCK_SAMPLES)
        self->clock_count++;
}

bool
ht_peer_clock_offset (const ht_peer_t *self, int64_t *offset_ms, int64_t *rtt_ms)
{
    //  The reading over the shortest round trip is the one a queue or a
    //  busy loop delayed least (NTP's clock filter); newest first, so of
    //  equal ones the newest wins
    int best = -1;
    for (size_t age = 0; age < self->clock_count; age++) {
        size_t index = (self->clock_next + HT_PEER_CLOCK_SAMPLES - 1 - age)
                     % HT_PEER_CLOCK_SAMPLES;
        int64_t rtt = self->clock_rtt [index];
        if (best < 0
        ||  (rtt >= 0 && (self->clock_rtt [best] < 0 || rtt < self->clock_rtt [best])))
            best = (int) index;
    }
    if (best < 0)
        return false;
    *offset_ms = self->clock_offset [best];
    if (rtt_ms)
        *rtt_ms = self->clock_rtt [best];
    return true;
}

void
ht_peer_set_clock_said (ht_peer_t *self, bool has, int64_t skew_ms)
{
    self->has_clock_said = has;
    self->clock_said = has? skew_ms: 0;
}

bool
ht_peer_clock_said (const ht_peer_t *self, int64_t *skew_ms)
{
    if (self->has_clock_said)
        *skew_ms = self->clock_said;
    return self->has_clock_said;
}

bool
ht_peer_clock_judge (ht_peer_t *self, int64_t limit_ms, bool *skewed)
{
    int64_t offset = 0;
    bool known = ht_peer_clock_offset (self, &offset, NULL);
    int64_t magnitude = offset < 0? -offset: offset;
    *skewed = known && (magnitude > limit_ms
                        || (self->clock_skewed && magnitude > limit_ms / 2));
    bool changed = *skewed != self->clock_skewed;
    self->clock_skewed = *skewed;
    return changed;
}

//  --------------------------------------------------------------------------
//  Time

int
ht_peer_tick (ht_peer_t *self, int64_t now, int64_t timeout_ms)
{
    if (self->state == HT_PEER_DOWN)
        return HT_PEER_DO_NOTHING;
    if (now - self->last_seen_ms > timeout_ms) {
        ht_peer_down (self);
        return HT_PEER_DO_LOST;
    }
    if (self->state != HT_PEER_UP)
        return HT_PEER_DO_NOTHING;
    //  A PULL or its BATCH lost on a dead connection or dropped at a full
    //  queue: ask again (not while a batch of its waits here: that may be
    //  the answer, and asking again would only bring it twice)
    if (self->pulling && !self->waiting && now - self->pull_sent_ms > timeout_ms) {
        self->pulling = false;
        self->dirty = true;
    }
    int actions = HT_PEER_DO_PING;
    if (!self->pulling && (self->dirty || self->last_seq > self->cursor)
    &&  ht_peer_may_pull (self, now))
        actions |= HT_PEER_DO_PULL;
    return actions;
}

int64_t
ht_peer_backoff (ht_peer_t *self, int64_t min_ms, int64_t max_ms)
{
    int64_t delay = self->backoff_ms < min_ms? min_ms: self->backoff_ms;
    if (delay > max_ms)
        delay = max_ms;
    self->backoff_ms = delay * 2 > max_ms? max_ms: delay * 2;
    return delay;
}

json_t *
ht_peer_status (const ht_peer_t *self, int64_t now)
{
    uint64_t lag = self->last_seq > self->cursor? self->last_seq - self->cursor: 0;
    //  Last seen is when it last spoke, not when we last said HELLO to it
    json_t *status = json_pack ("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
        "name", self->label, "region", self->name,
        "role", self->is_parent? "parent": "child",
        "connected", self->state == HT_PEER_UP,
        "last_seen_ms_ago", (json_int_t) (self->heard_ms? now - self->heard_ms: -1),
        "batches", (json_int_t) self->batches,
        "epoch_changes", (json_int_t) self->epoch_changes,
        "epoch_changed_ms_ago", (json_int_t) (self->epoch_changed_ms
                                              ? now - self->epoch_changed_ms: -1),
        "cursor", (json_int_t) self->cursor, "peer_seq", (json_int_t) self->last_seq,
        "lag", (json_int_t) lag, "received", (json_int_t) self->received,
        "applied", (json_int_t) self->applied, "sent", (json_int_t) self->sent,
        "stale_batches", (json_int_t) self->stale, "resyncing", self->full != 0);
    //  Why its batches are not stored, and when we ask again
    json_object_set_new (status, "apply_failures", json_integer ((json_int_t) self->apply_failures));
    json_object_set_new (status, "apply_error", json_string (self->apply_error));
    json_object_set_new (status, "retry_in_ms", json_integer (
        self->apply_failures && self->retry_at_ms > now? (json_int_t) (self->retry_at_ms - now)
                                                        : 0));
    //  Its clock as we read it: null until it has told us (an older peer
    //  never does)
    int64_t offset = 0, rtt = 0;
    bool known = ht_peer_clock_offset (self, &offset, &rtt);
    json_object_set_new (status, "clock_offset_ms", known? json_integer (offset): json_null ());
    json_object_set_new (status, "clock_rtt_ms", known && rtt >= 0? json_integer (rtt)
                                                                   : json_null ());
    return status;
}
