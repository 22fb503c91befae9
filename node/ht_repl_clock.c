//  ht_repl_clock: how the replication engine judges clocks (ht_repl.h,
//  "Clocks"): its own against a reference (its parent's, or for a root
//  most of its children's), each neighbour's against its own, read from
//  PING/PONG stamps corrected by half the round trip.
#include <inttypes.h>
#include "ht_repl_private.h"
#include "ht_hlc.h"
#include "ht_log.h"

//  Our wall clock, ms since 1970
int64_t
ht_repl__wall (ht_repl_t *self)
{
    return (int64_t) (self->io.wall_ms? self->io.wall_ms (self->io.arg): ht_hlc_wall_ms ());
}

//  What we say of our clock: its skew against the reference, when we
//  judged it (ht_repl_clock_t)
void
ht_repl__say_skew (ht_repl_t *self, ht_msg_t *msg)
{
    msg->has_skew = self->clock.known;
    msg->skew = self->clock.known? self->clock.skew_ms: 0;
}

//  How far ahead or behind, for people: "600.0 s ahead of"
static const char *
s_skew_text (int64_t skew_ms, char *text, size_t size)
{
    snprintf (text, size, "%.1f s %s", (double) (skew_ms < 0? -skew_ms: skew_ms) / 1000.0,
              skew_ms < 0? "behind": "ahead of");
    return text;
}

static int64_t
s_abs (int64_t value)
{
    return value < 0? -value: value;
}

static int
s_compare_offsets (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

//  Our clock against the reference: the parent's when we read it, else
//  the clock most of our children agree on (at least two of them).
//  False if there are too few readings to tell (not if they disagree).
static bool
s_clock_reference (ht_repl_t *self, ht_repl_clock_t *clock)
{
    int64_t limit = (int64_t) self->config->clock_skew_s * 1000;
    ht_peer_t *parent = ht_repl_parent (self);
    int64_t offset = 0;
    if (parent && ht_peer_is_up (parent) && ht_peer_clock_offset (parent, &offset, NULL)) {
        //  A parent that knows its own clock is off says by how much: the
        //  network's clock is its clock less that. A child of a skewed
        //  node is judged by the tiers above, not by its parent's error.
        int64_t said = 0;
        ht_peer_clock_said (parent, &said);
        bool corrected = s_abs (said) >= 1000;      //  worth saying
        clock->known = true;
        clock->skew_ms = said - offset;
        char text [48];
        if (corrected)
            snprintf (clock->reference, sizeof clock->reference, "the network's clock as its "
                      "parent %s (%s) reads it (its own clock is %s that)",
                      ht_peer_label (parent), ht_peer_name (parent),
                      s_skew_text (said, text, sizeof text));
        else
            snprintf (clock->reference, sizeof clock->reference, "its parent %s (%s)",
                      ht_peer_label (parent), ht_peer_name (parent));
        return true;
    }
    size_t count = 0, size = zhashx_size (self->peers);
    int64_t *offsets = (int64_t *) calloc (size + 1, sizeof (int64_t));
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers))
        if (!ht_peer_is_parent (peer) && ht_peer_is_up (peer)
        &&  ht_peer_clock_offset (peer, &offset, NULL))
            offsets [count++] = offset;
    qsort (offsets, count, sizeof (int64_t), s_compare_offsets);
    int64_t median = count? offsets [count / 2]: 0;
    size_t agreeing = 0;
    for (size_t index = 0; index < count; index++)
        agreeing += s_abs (offsets [index] - median) <= limit;
    free (offsets);
    //  One child alone cannot tell whose clock is wrong, ours or its
    if (count >= 2 && agreeing * 2 > count) {
        clock->known = true;
        clock->skew_ms = -median;
        snprintf (clock->reference, sizeof clock->reference, "%zu of its %zu children",
                  agreeing, count);
    }
    return count >= 2;
}

//  Judge our clock again, and say so once when that changes
void
ht_repl__clock_judge (ht_repl_t *self)
{
    int64_t limit = (int64_t) self->config->clock_skew_s * 1000;
    ht_repl_clock_t clock = { .known = false };
    //  Too few readings now (the parent link down): the last judgement
    //  stands until there are enough again
    if (!s_clock_reference (self, &clock) && self->clock.known)
        return;
    //  Off beyond the limit, right again once back within half of it, so
    //  a clock at the edge is not reported at every heartbeat
    int64_t magnitude = s_abs (clock.skew_ms);
    clock.skewed = clock.known && (magnitude > limit
                                   || (self->clock.skewed && magnitude > limit / 2));
    clock.paused = clock.skewed && clock.skew_ms < -(HT_HLC_MAX_DRIFT_MS - limit);
    char skew [48];
    s_skew_text (clock.skew_ms, skew, sizeof skew);
    if (clock.skewed && (!self->clock.skewed || clock.paused != self->clock.paused))
        HT_WARNING (self->config, "node: this node's clock is %s %s: %s; set it right (NTP)",
                    skew, clock.reference,
                    clock.paused? "what its neighbours write now is in its future, so it "
                                  "pulls from none of them until then (their records wait "
                                  "for it)"
                  : clock.skew_ms > 0? "a record entering the network here dated by it is "
                                      "refused (clock_skew), as its neighbours would refuse it"
                  : "records dated ahead of it by more than 5 minutes are quarantined as "
                    "clock and retried");
    else
    if (!clock.skewed && self->clock.skewed && clock.known)
        HT_WARNING (self->config, "node: this node's clock agrees with %s again (%s)%s",
                    clock.reference, skew,
                    self->clock.paused? "; pulling from its neighbours again": "");
    else
    if (!clock.skewed && self->clock.skewed)
        HT_WARNING (self->config, "node: this node's clock is no longer judged off: its "
                    "children's clocks disagree%s",
                    self->clock.paused? "; pulling from its neighbours again": "");
    else
    if (clock.known && !clock.skewed && !self->clock_judged)
        HT_INFO (self->config, "node: this node's clock agrees with %s (%s)",
                 clock.reference, skew);
    self->clock_judged |= clock.known;
    self->clock = clock;
}

//  Judge a peer's clock against ours, and say so once when that changes
static void
s_clock_peer_judge (ht_repl_t *self, ht_peer_t *peer)
{
    int64_t offset = 0, rtt = 0;
    if (!ht_peer_clock_offset (peer, &offset, &rtt))
        return;
    bool skewed = false;
    if (!ht_peer_clock_judge (peer, (int64_t) self->config->clock_skew_s * 1000, &skewed))
        return;
    char skew [48], how [48];
    s_skew_text (offset, skew, sizeof skew);
    if (rtt < 0)
        snprintf (how, sizeof how, "one way, from its HELLO");
    else
        snprintf (how, sizeof how, "over a %lld ms round trip", (long long) rtt);
    if (skewed)
        HT_WARNING (self->config, "node: the clock of %s %s (%s) is %s this node's (read "
                    "%s): one of the two is wrong; see clock_skew in hutong status",
                    ht_peer_is_parent (peer)? "parent": "child", ht_peer_label (peer),
                    ht_peer_name (peer), skew, how);
    else
        HT_WARNING (self->config, "node: the clock of %s %s (%s) agrees with this node's "
                    "again (%s)", ht_peer_is_parent (peer)? "parent": "child",
                    ht_peer_label (peer), ht_peer_name (peer), skew);
}

//  What a peer says of its own clock (HELLO, WELCOME, PING, PONG)
void
ht_repl__heard_skew (ht_peer_t *peer, const ht_msg_t *msg)
{
    ht_peer_set_clock_said (peer, msg->has_skew, msg->skew);
}

//  A reading of peer's clock from msg. A WELCOME or PONG answers our
//  HELLO or PING, whose clock it echoes: it left us then and is back now,
//  both on our clock, and says the peer's clock at about half-way.
//  Without an echo (its HELLO) the reading is one way, late by the
//  transit. An answer that took longer than a peer may be silent (an old
//  PING's, or our clock stepped meanwhile) gives no reading.
void
ht_repl__read_clock (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *msg)
{
    ht_repl__heard_skew (peer, msg);
    if (!msg->has_clock || msg->clock > INT64_MAX || msg->echo > INT64_MAX)
        return;
    int64_t now = ht_repl__wall (self), theirs = (int64_t) msg->clock;
    if (!msg->has_echo)
        ht_peer_clock_sample (peer, theirs - now, -1);
    else {
        int64_t sent = (int64_t) msg->echo, rtt = now - sent;
        if (rtt < 0 || rtt > self->config->peer_timeout_ms)
            return;
        ht_peer_clock_sample (peer, theirs - (sent + rtt / 2), rtt);
    }
    s_clock_peer_judge (self, peer);
    ht_repl__clock_judge (self);
}

ht_repl_clock_t
ht_repl_clock (ht_repl_t *self)
{
    return self->clock;
}

int64_t
ht_repl_clock_lead (ht_repl_t *self)
{
    return self->clock.skewed? self->clock.skew_ms: 0;
}

json_t *
ht_repl_clock_status (ht_repl_t *self)
{
    json_t *status = json_pack ("{s:b, s:b, s:I}", "skewed", self->clock.skewed,
                                "pulls_paused", self->clock.paused, "tolerance_ms",
                                (json_int_t) self->config->clock_skew_s * 1000);
    json_object_set_new (status, "skew_ms", self->clock.known
                         ? json_integer (self->clock.skew_ms): json_null ());
    json_object_set_new (status, "reference", self->clock.known
                         ? json_string (self->clock.reference): json_null ());
    return status;
}
