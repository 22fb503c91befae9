//  ht_repl: the replication engine (see ht_repl.h).
#include <inttypes.h>
#include "ht_repl_private.h"
#include "ht_gate.h"
#include "ht_hlc.h"
#include "ht_log.h"
#include <sodium.h>

#define S_GROUP_BATCHES 16          //  batches of different peers stored at once
#define S_SCAN_FACTOR 20            //  log entries examined per record wanted
#define S_PARENT "parent"           //  the parent's key in the peer table
#define S_APPLY_TELL_MS 60000       //  log a batch that keeps failing this often


//  A PULL that found nothing, held until something its puller holds is
//  committed or its wait is nearly over (long poll)
typedef struct {
    ht_peer_t *peer;                    //  the puller (borrowed from peers)
    uint64_t from;                      //  the cursor it pulled from (our epoch)
    uint64_t scan_from;                 //  the log is examined up to here: nothing
    uint64_t full;                      //  its full pass reaches this far
    size_t max;                         //  records it wants
    uint64_t wait;                      //  the wait granted, ms
    int64_t deadline_ms;                //  answer before then
} s_parked_t;

//  A BATCH taken in by ht_repl_receive, waiting for ht_repl_work
typedef struct {
    char peer [HT_REGION_BYTES];        //  its sender's name in the peer table
    ht_msg_t msg;                       //  the message
    zmsg_t *records;                    //  its record frames (owned)
} s_waiting_t;

static void
s_waiting_free (void **item_p)
{
    s_waiting_t *waiting = (s_waiting_t *) *item_p;
    if (waiting) {
        zmsg_destroy (&waiting->records);
        free (waiting);
        *item_p = NULL;
    }
}

static void
s_peer_free (void **item_p)
{
    ht_peer_destroy ((ht_peer_t **) item_p);
}

static void
s_parked_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  A new peer entry under name (the peer's region), resuming from the
//  cursor stored with the last batch we applied from it. A peer we hold
//  no cursor for gets a full pass: if this store was made anew for a
//  node that had been here before, the peer holds what that node wrote
//  and this store lacks (a full pass of a peer that never heard of us
//  costs nothing: it holds nothing from us).
static ht_peer_t *
s_peer_add (ht_repl_t *self, const char *name, bool is_parent)
{
    ht_peer_t *peer = ht_peer_new (name, is_parent);
    uint8_t epoch [HT_EPOCH_BYTES] = { 0 }, tag [HT_STORE_TAG_BYTES] = { 0 };
    uint64_t cursor = 0, full = HT_PEER_FULL_PENDING;
    if (ht_store_peer_get (self->store, name, epoch, &cursor, &full, tag) != HT_OK) {
        cursor = 0;
        full = HT_PEER_FULL_PENDING;
    }
    ht_peer_resume (peer, epoch, cursor, full, tag);
    zhashx_insert (self->peers, is_parent? S_PARENT: name, peer);
    return peer;
}

ht_repl_t *
ht_repl_new (ht_store_t *store, const ht_config_t *config, const uint8_t *parent_key,
             ht_repl_io_t io)
{
    ht_repl_t *self = (ht_repl_t *) zmalloc (sizeof (ht_repl_t));
    self->store = store;
    self->config = config;
    self->io = io;
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_peer_free);
    self->parked = zhashx_new ();
    zhashx_set_destructor (self->parked, s_parked_free);
    self->waiting = zlistx_new ();
    zlistx_set_destructor (self->waiting, s_waiting_free);
    self->last_seq = ht_store_last_seq (store);
    if (parent_key) {
        memcpy (self->parent_key, parent_key, sizeof self->parent_key);
        self->has_parent = true;
        //  The parent's region is ours with the deepest group zeroed
        char region [HT_REGION_BYTES] = "";
        if (ht_region_parent (config->region, region) != HT_OK)
            snprintf (region, sizeof region, "%s", S_PARENT);
        s_peer_add (self, region, true);
    }
    return self;
}

void
ht_repl_set_cursor_key (ht_repl_t *self, const uint8_t *secret, size_t size)
{
    //  Not the secret itself: a key derived from it for this one use
    static const char context [] = "hutong cursor tags 1";
    crypto_generichash (self->cursor_key, sizeof self->cursor_key,
                        (const uint8_t *) context, sizeof context - 1, secret, size);
    self->has_cursor_key = true;
}

//  Our tag of (epoch, cursor): a keyed BLAKE2b, so a peer can show us a
//  cursor we issued, and cannot make one up
static void
s_cursor_tag (ht_repl_t *self, const uint8_t *epoch, uint64_t cursor,
              uint8_t tag [HT_MSG_TAG_BYTES])
{
    uint8_t input [HT_MSG_EPOCH_BYTES + 8];
    memcpy (input, epoch, HT_MSG_EPOCH_BYTES);
    for (int byte = 0; byte < 8; byte++)
        input [HT_MSG_EPOCH_BYTES + byte] = (uint8_t) (cursor >> (56 - 8 * byte));
    crypto_generichash (tag, HT_MSG_TAG_BYTES, input, sizeof input,
                        self->cursor_key, sizeof self->cursor_key);
}

void
ht_repl_destroy (ht_repl_t **self_p)
{
    ht_repl_t *self = *self_p;
    if (self) {
        sodium_memzero (self->cursor_key, sizeof self->cursor_key);
        zhashx_destroy (&self->parked);
        zlistx_destroy (&self->waiting);
        zhashx_destroy (&self->peers);
        free (self);
        *self_p = NULL;
    }
}

void
ht_repl_set_parent_key (ht_repl_t *self, const uint8_t parent_key [HT_PUBKEY_BYTES])
{
    memcpy (self->parent_key, parent_key, sizeof self->parent_key);
}

ht_peer_t *
ht_repl_parent (ht_repl_t *self)
{
    return (ht_peer_t *) zhashx_lookup (self->peers, S_PARENT);
}

ht_peer_t *
ht_repl_child (ht_repl_t *self, zframe_t *routing_id)
{
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers))
        if (!ht_peer_is_parent (peer) && ht_peer_routing_id (peer)
        &&  zframe_eq (ht_peer_routing_id (peer), routing_id))
            return peer;
    return NULL;
}

uint64_t ht_repl_protocol_errors (ht_repl_t *self) { return self->protocol_errors; }
void ht_repl_protocol_error (ht_repl_t *self) { self->protocol_errors++; }

bool
ht_repl_busy (ht_repl_t *self)
{
    bool busy = self->busy;
    self->busy = false;
    return busy;
}

//  --------------------------------------------------------------------------
//  Sending

//  Encode msg, add record frames (consumed), and hand it to our owner
static void
s_send (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *msg, zmsg_t **records_p)
{
    zmsg_t *zmsg = ht_msg_encode (msg);
    if (records_p && *records_p) {
        zframe_t *frame;
        while ((frame = zmsg_pop (*records_p)))
            zmsg_append (zmsg, &frame);
        zmsg_destroy (records_p);
    }
    self->io.send (self->io.arg, peer, &zmsg);
    zmsg_destroy (&zmsg);
}

//  Fill the common HELLO/WELCOME items
static void
s_identity (ht_repl_t *self, ht_msg_t *msg, const char *command)
{
    ht_msg_init (msg, command);
    msg->version = HT_PROTOCOL_VERSION;
    snprintf (msg->region, sizeof msg->region, "%s", self->config->region);
    snprintf (msg->name, sizeof msg->name, "%s", self->config->name);
    memcpy (msg->epoch, ht_store_epoch (self->store), HT_MSG_EPOCH_BYTES);
    msg->has_epoch = true;
    msg->last_seq = self->last_seq;
    msg->clock = (uint64_t) ht_repl__wall (self);
    msg->has_clock = true;
    ht_repl__say_skew (self, msg);
}

static void
s_send_error (ht_repl_t *self, ht_peer_t *peer, const char *error, const char *text)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_ERROR);
    snprintf (msg.error, sizeof msg.error, "%s", error);
    snprintf (msg.text, sizeof msg.text, "%s", text);
    s_send (self, peer, &msg, NULL);
}

//  The longest a PULL is held (long poll): at most half the peer timeout,
//  so it is answered well before the puller gives it up
static uint64_t
s_wait_ms (ht_repl_t *self, uint64_t wanted)
{
    uint64_t most = (uint64_t) self->config->peer_timeout_ms / 2;
    return wanted < most? wanted: most;
}

//  Ask a peer for what follows (epoch, cursor), showing its tag of the
//  cursor if we hold one. Not while a batch of its that failed waits out
//  its delay: every path to a PULL (a stale batch, a NOTIFY, a heartbeat,
//  a reconnect) comes here, and ht_repl_retry asks once the delay is over.
static void
s_send_pull (ht_repl_t *self, ht_peer_t *peer, const uint8_t *epoch, uint64_t cursor,
             const uint8_t *tag, int64_t now)
{
    if (!ht_peer_may_pull (peer, now))
        return;
    //  Our clock is so far behind that what our neighbours write now is
    //  in our future: it would all be quarantined as clock, and a flood
    //  of it could push older entries out of quarantine. It waits in
    //  their logs, at our cursor, until our clock is right (R16).
    if (self->clock.paused) {
        ht_peer_want_pull (peer);       //  pulled once it is
        return;
    }
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_PULL);
    memcpy (msg.epoch, epoch, HT_MSG_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.cursor = cursor;
    if (tag) {
        memcpy (msg.tag, tag, HT_MSG_TAG_BYTES);
        msg.has_tag = true;
    }
    msg.full = ht_peer_full (peer);
    msg.max = (uint64_t) self->config->batch_records;
    msg.wait = s_wait_ms (self, self->config->pull_wait_ms);
    ht_peer_pull_sent (peer, epoch, cursor, now);
    s_send (self, peer, &msg, NULL);
}

//  Pull from our cursor
static void
s_pull (ht_repl_t *self, ht_peer_t *peer, int64_t now)
{
    s_send_pull (self, peer, ht_peer_epoch (peer), ht_peer_cursor (peer), ht_peer_tag (peer),
                 now);
}

//  Tell every peer that is UP, except those in skip, that we have news
static void
s_notify_all (ht_repl_t *self, ht_peer_t *const *skip, size_t skips)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_NOTIFY);
    msg.last_seq = self->last_seq;
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers)) {
        bool skipped = false;
        for (size_t index = 0; index < skips; index++)
            skipped = skipped || skip [index] == peer;
        //  A peer whose PULL we hold hears of news by its answer
        if (!skipped && ht_peer_is_up (peer)
        &&  !zhashx_lookup (self->parked, ht_peer_name (peer)))
            s_send (self, peer, &msg, NULL);
    }
}

static void s_parked_wake (ht_repl_t *self);

void
ht_repl_wrote (ht_repl_t *self)
{
    uint64_t last_seq = ht_store_last_seq (self->store);
    if (last_seq > self->last_seq) {
        self->last_seq = last_seq;
        //  Notify first: whose PULL is held hears by its answer instead
        s_notify_all (self, NULL, 0);
        s_parked_wake (self);
    }
}

//  --------------------------------------------------------------------------
//  Serving a PULL

typedef struct {
    zmsg_t *records;                //  frames to send
    size_t count;                   //  records in it
    size_t max;                     //  records wanted
    bool stopped;                   //  the batch filled up
} s_serve_t;

//  One change the puller should hold (the store filtered by the holder
//  rule and the origin already): add it, or stop when the batch is full
static int
s_serve_change (void *arg, uint64_t seq, const uint8_t *data, size_t size,
                const char *origin)
{
    (void) seq; (void) origin;
    s_serve_t *serve = (s_serve_t *) arg;
    if (serve->count >= serve->max) {
        serve->stopped = true;
        return 1;
    }
    zmsg_addmem (serve->records, data, size);
    serve->count++;
    return 0;
}

//  A peer pulled our epoch from past our last sequence, showing our tag
//  of that cursor: it read a log this store no longer has. The store was
//  rolled back (a copy of the whole store directory put in place, which
//  carries its high-water mark along): take a new epoch, so our peers
//  read us again from zero and we pull each of them in a full pass.
static void
s_rolled_back (ht_repl_t *self, ht_peer_t *peer, uint64_t cursor, uint64_t last_seq)
{
    char why [256];
    snprintf (why, sizeof why, "%s had read this store's log up to sequence %" PRIu64
              ", but it ends at %" PRIu64 ": the store was rolled back (a copy of its "
              "directory put in place?)", ht_peer_label (peer), cursor, last_seq);
    if (ht_store_new_epoch (self->store, why) != HT_OK) {
        HT_ERROR (self->config, "node: %s, and no new epoch could be stored", why);
        return;
    }
    self->epoch_changes++;
    for (ht_peer_t *each = (ht_peer_t *) zhashx_first (self->peers); each;
         each = (ht_peer_t *) zhashx_next (self->peers))
        ht_peer_restart (each);
    //  A PULL of ours from an old cursor may be held at a peer (long
    //  poll) rather than come back stale: the next heartbeat pulls from
    //  zero (no PULL is out now), which replaces it
}

uint64_t ht_repl_epoch_changes (ht_repl_t *self) { return self->epoch_changes; }

//  Serve a puller from `from` (our epoch), the log examined from
//  scan_from on (nothing between the two is for it), as the BATCH
//  answering its PULL. With hold, a walk that finds nothing sends
//  nothing: false, and *last_examined says how far it looked. wait (0:
//  none) is what a BATCH tells the puller about holding its PULLs.
static bool
s_answer (ht_repl_t *self, ht_peer_t *peer, uint64_t from, uint64_t scan_from,
          uint64_t full, size_t max, uint64_t wait, bool hold, uint64_t *last_examined)
{
    const uint8_t *epoch = ht_store_epoch (self->store);
    s_serve_t serve = { zmsg_new (), 0, max, false };
    //  Never echo a record back to the peer it came from; send only what
    //  it should hold (decided from the log's routing index) ...
    *last_examined = scan_from;
    //  ... unless it is in a full pass: then what it sent us too, up to
    //  where our log was when its pass began
    int rc = ht_store_changes_for (self->store, scan_from, max * S_SCAN_FACTOR,
                                   ht_peer_name (peer), ht_peer_name (peer), full,
                                   s_serve_change, &serve, last_examined);
    if (rc < 0) {
        HT_ERROR (self->config, "node: cannot read the change log for %s: %s",
                  ht_peer_label (peer), ht_strerror (rc));
        zmsg_destroy (&serve.records);
        return true;                //  not held: the puller asks again
    }
    self->last_seq = ht_store_last_seq (self->store);
    bool more = serve.stopped || *last_examined < self->last_seq;
    if (hold && serve.count == 0 && !more) {
        zmsg_destroy (&serve.records);
        return false;
    }
    if (serve.count)
        self->busy = true;
    ht_msg_t batch;
    ht_msg_init (&batch, HT_MSG_BATCH);
    memcpy (batch.epoch, epoch, HT_MSG_EPOCH_BYTES);
    batch.has_epoch = true;
    batch.from = from;
    batch.has_from = true;
    batch.cursor = *last_examined;
    batch.more = more;
    batch.last_seq = self->last_seq;
    batch.wait = wait;
    if (self->has_cursor_key) {
        s_cursor_tag (self, epoch, *last_examined, batch.tag);
        batch.has_tag = true;
    }
    ht_peer_sent_records (peer, serve.count);
    HT_DEBUG (self->config, "node: serving %zu records after %" PRIu64 " to %s",
              serve.count, from, ht_peer_label (peer));
    s_send (self, peer, &batch, &serve.records);
    return true;
}

static void
s_serve_pull (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *pull, int64_t now)
{
    const uint8_t *epoch = ht_store_epoch (self->store);
    uint64_t last_seq = ht_store_last_seq (self->store);
    uint64_t cursor = pull->cursor;
    if (pull->has_epoch && memcmp (pull->epoch, epoch, HT_MSG_EPOCH_BYTES) == 0
    &&  cursor > last_seq) {
        //  Only a cursor we issued proves it: anyone can name a number
        uint8_t tag [HT_MSG_TAG_BYTES];
        if (self->has_cursor_key)
            s_cursor_tag (self, epoch, cursor, tag);
        if (self->has_cursor_key && pull->has_tag
        &&  sodium_memcmp (tag, pull->tag, HT_MSG_TAG_BYTES) == 0)
            s_rolled_back (self, peer, cursor, last_seq);
        else {
            HT_WARNING (self->config, "node: %s pulls from %" PRIu64 ", past this log's end "
                        "(%" PRIu64 "), without a tag this node gave: serving it from zero",
                        ht_peer_label (peer), cursor, last_seq);
            self->protocol_errors++;
        }
        cursor = 0;
    }
    //  A puller that knew another epoch of ours starts over from zero
    if (!pull->has_epoch || memcmp (pull->epoch, epoch, HT_MSG_EPOCH_BYTES) != 0)
        cursor = 0;
    size_t max = pull->max? (size_t) pull->max: (size_t) self->config->batch_records;
    if (max > (size_t) self->config->batch_records)
        max = (size_t) self->config->batch_records;
    //  A peer has one PULL out at a time: a new one replaces one we hold
    zhashx_delete (self->parked, ht_peer_name (peer));
    uint64_t wait = s_wait_ms (self, pull->wait);
    uint64_t examined = cursor;
    if (s_answer (self, peer, cursor, cursor, pull->full, max, wait, wait > 0, &examined))
        return;
    s_parked_t *parked = (s_parked_t *) zmalloc (sizeof (s_parked_t));
    *parked = (s_parked_t) { peer, cursor, examined, pull->full, max, wait,
                             now + (int64_t) wait };
    zhashx_insert (self->parked, ht_peer_name (peer), parked);
    HT_DEBUG (self->config, "node: holding the PULL of %s after %" PRIu64 " for %" PRIu64
              " ms", ht_peer_label (peer), cursor, wait);
}

//  Something was committed: answer each held PULL whose puller holds
//  some of it (the others keep waiting, examined up to here)
static void
s_parked_wake (ht_repl_t *self)
{
    zlistx_t *names = zhashx_keys (self->parked);
    for (char *name = (char *) zlistx_first (names); name; name = (char *) zlistx_next (names)) {
        s_parked_t *parked = (s_parked_t *) zhashx_lookup (self->parked, name);
        uint64_t examined = parked->scan_from;
        if (s_answer (self, parked->peer, parked->from, parked->scan_from, parked->full,
                      parked->max, parked->wait, true, &examined))
            zhashx_delete (self->parked, name);
        else
            parked->scan_from = examined;
    }
    zlistx_destroy (&names);
}

//  At a heartbeat: answer (empty) each held PULL that would be overdue
//  by the next one, and forget those of peers that went away
static void
s_parked_tick (ht_repl_t *self, int64_t now)
{
    zlistx_t *names = zhashx_keys (self->parked);
    for (char *name = (char *) zlistx_first (names); name; name = (char *) zlistx_next (names)) {
        s_parked_t *parked = (s_parked_t *) zhashx_lookup (self->parked, name);
        uint64_t examined = parked->scan_from;
        if (!ht_peer_is_up (parked->peer))
            zhashx_delete (self->parked, name);
        else
        if (now + self->config->heartbeat_ms >= parked->deadline_ms) {
            s_answer (self, parked->peer, parked->from, parked->scan_from, parked->full,
                      parked->max, parked->wait, false, &examined);
            zhashx_delete (self->parked, name);
        }
    }
    zlistx_destroy (&names);
}

//  --------------------------------------------------------------------------
//  Applying a BATCH

//  A BATCH being applied, alone or with others (group commit)
typedef struct {
    ht_peer_t *peer;                //  who sent it
    const ht_msg_t *batch;          //  the message
    const uint8_t **data;           //  its records (in the message's frames)
    size_t *sizes;
    size_t count;
    bool idle;                      //  an empty answer that moves nothing
    ht_origin_t origin;             //  the peer, and its cursor after it
    ht_apply_stats_t stats;         //  what applying it did
} s_incoming_t;

//  Judge a batch and make it ready to apply: false if it is not applied
//  (stale or unrequested: dropped, with a PULL again if stale)
static bool
s_batch_ready (ht_repl_t *self, s_incoming_t *in, zmsg_t *records, int64_t now)
{
    ht_peer_t *peer = in->peer;
    const ht_msg_t *batch = in->batch;
    ht_peer_batch_t verdict = ht_peer_batch_check (peer, batch->epoch, batch->has_from,
                                                   batch->from);
    if (verdict != HT_PEER_BATCH_APPLY) {
        HT_DEBUG (self->config, "node: stale batch from %s dropped (from %" PRIu64
                  ", our cursor %" PRIu64 ")", ht_peer_label (peer), batch->from,
                  ht_peer_cursor (peer));
        if (verdict == HT_PEER_BATCH_STALE)
            s_pull (self, peer, now);
        return false;
    }
    const uint8_t *tag = batch->has_tag? batch->tag: NULL;
    //  Ask for the next batch before applying this one, so the sender
    //  reads its log while we verify: the hops of a chain overlap. Not
    //  while its batches fail: the next would only come back stale.
    if (batch->more && !ht_peer_apply_failures (peer))
        s_send_pull (self, peer, batch->epoch, batch->cursor, tag, now);
    in->count = zmsg_size (records);
    //  An empty answer that moves nothing (a held PULL's, on an idle
    //  network) is neither work nor worth a commit
    in->idle = in->count == 0 && batch->cursor == ht_peer_cursor (peer) && !ht_peer_full (peer)
            && memcmp (batch->epoch, ht_peer_epoch (peer), HT_MSG_EPOCH_BYTES) == 0;
    if (!in->idle)
        self->busy = true;
    in->data = (const uint8_t **) calloc (in->count + 1, sizeof (uint8_t *));
    in->sizes = (size_t *) calloc (in->count + 1, sizeof (size_t));
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (records); frame; frame = zmsg_next (records), index++) {
        in->data [index] = zframe_data (frame);
        in->sizes [index] = zframe_size (frame);
    }
    in->origin = (ht_origin_t) { .peer = ht_peer_name (peer), .epoch = batch->epoch,
                                 .cursor = batch->cursor,
                                 .full = ht_peer_full_after (peer, batch->cursor, batch->more),
                                 .tag = tag };
    return true;
}

//  After the transaction: what the peer's state makes of it (rc 0: the
//  batch was stored; else nothing of it was); true if it stored records
static bool
s_batch_done (ht_repl_t *self, s_incoming_t *in, int rc, int64_t now)
{
    ht_peer_t *peer = in->peer;
    const ht_msg_t *batch = in->batch;
    const ht_apply_stats_t *stats = &in->stats;
    if (rc) {
        //  Nothing of the batch was written; the cursor stays, and the
        //  batch is pulled again after a delay (the prefetched one, if
        //  any, comes back stale meanwhile and is dropped)
        bool tell = false;
        int64_t delay = ht_peer_apply_failed (peer, ht_errname (rc), now,
                                              HT_REPL_RETRY_MIN_MS, HT_REPL_RETRY_MAX_MS,
                                              S_APPLY_TELL_MS, &tell);
        if (tell)
            HT_ERROR (self->config, "node: cannot store a batch of %zu records from %s: %s "
                      "(%s); %" PRIu64 " failed in a row, asking again in %" PRId64 " ms "
                      "(then at most every %d s until one is stored)", in->count,
                      ht_peer_label (peer), ht_errname (rc), ht_strerror (rc),
                      ht_peer_apply_failures (peer), delay, HT_REPL_RETRY_MAX_MS / 1000);
        return false;
    }
    uint64_t failed = ht_peer_apply_ok (peer);
    if (failed)
        HT_INFO (self->config, "node: a batch from %s is stored again, after %" PRIu64
                 " attempts that failed", ht_peer_label (peer), failed);
    HT_DEBUG (self->config, "node: batch from %s: %zu records, %zu applied, cursor %" PRIu64,
              ht_peer_label (peer), in->count, stats->applied, batch->cursor);
    if (stats->quarantined)
        HT_WARNING (self->config, "node: %zu of %zu records from %s quarantined",
                    stats->quarantined, in->count, ht_peer_label (peer));
    if (stats->conflicts)
        HT_WARNING (self->config, "node: %zu of %zu records from %s are conflicts "
                    "(their authors may not replace the current owners)",
                    stats->conflicts, in->count, ht_peer_label (peer));
    bool resyncing = ht_peer_full (peer) != 0;
    bool pull = ht_peer_batch_applied (peer, batch->epoch, batch->cursor, batch->more,
                                       batch->last_seq, in->count, stats->applied);
    ht_peer_set_tag (peer, in->origin.tag);
    if (resyncing && ht_peer_full (peer) == 0)
        HT_DEBUG (self->config, "node: full pass with %s done", ht_peer_label (peer));
    //  Caught up with a peer that holds PULLs: keep one out at it, so
    //  its next record comes without a NOTIFY and a PULL first
    if (!pull && batch->wait && self->config->pull_wait_ms > 0 && ht_peer_is_up (peer)
    &&  !ht_peer_pulling (peer))
        pull = true;
    if (pull)
        s_pull (self, peer, now);
    return stats->applied > 0;
}

//  Apply batches of different peers in one write transaction (group
//  commit: one wait for the disk for them all), each judged, stored and
//  accounted for as if alone
static void
s_apply_batches (ht_repl_t *self, ht_peer_t **peers, const ht_msg_t **batches,
                 zmsg_t **records, size_t count, int64_t now)
{
    s_incoming_t *in = (s_incoming_t *) calloc (count + 1, sizeof (s_incoming_t));
    ht_store_group_t *groups = (ht_store_group_t *) calloc (count + 1, sizeof (ht_store_group_t));
    bool *ready = (bool *) calloc (count + 1, sizeof (bool));
    if (!in || !groups || !ready) {
        free (in);
        free (groups);
        free (ready);
        return;                     //  not taken: pulled again after the timeout
    }
    size_t used = 0;
    for (size_t index = 0; index < count; index++) {
        in [index].peer = peers [index];
        in [index].batch = batches [index];
        ready [index] = s_batch_ready (self, &in [index], records [index], now);
        if (ready [index] && !in [index].idle)
            groups [used++] = (ht_store_group_t) { in [index].data, in [index].sizes,
                                                   in [index].count, &in [index].origin,
                                                   { 0 }, NULL, 0 };
    }
    //  On an error each group's own says what became of it (one batch
    //  that does not fit fails only itself)
    if (used && ht_store_apply_groups (self->store, groups, used) != HT_OK)
        HT_DEBUG (self->config, "node: %zu batches were stored one by one", used);
    int *errors = (int *) calloc (count + 1, sizeof (int));
    for (size_t index = 0, group = 0; index < count; index++)
        if (ready [index] && !in [index].idle) {
            in [index].stats = groups [group].stats;
            if (errors)
                errors [index] = groups [group].error;
            group++;
        }
    size_t applied = 0, senders = 0;
    ht_peer_t *sender = NULL;
    for (size_t index = 0; index < count; index++)
        if (ready [index]
        &&  s_batch_done (self, &in [index], errors? errors [index]: HT_ENOMEM, now)) {
            applied += in [index].stats.applied;
            sender = in [index].peer;
            senders++;
        }
    free (errors);
    if (applied) {
        self->last_seq = ht_store_last_seq (self->store);
        //  A sender need not hear of its own records, but one of several
        //  must hear of the others'
        s_notify_all (self, &sender, senders == 1);
        s_parked_wake (self);
        if (self->io.applied)
            self->io.applied (self->io.arg, applied);
    }
    for (size_t index = 0; index < count; index++) {
        free (in [index].data);
        free (in [index].sizes);
    }
    free (in);
    free (groups);
    free (ready);
}

static void
s_apply_batch (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *batch, zmsg_t *records,
               int64_t now)
{
    s_apply_batches (self, &peer, &batch, &records, 1, now);
}

//  --------------------------------------------------------------------------
//  Handshake and messages

//  A gate for key questions, now
static ht_gate_t
s_gate (ht_repl_t *self)
{
    return ht_gate_of_store (self->store, self->config->region, ht_hlc_wall_ms ());
}

void
ht_repl_parent_connecting (ht_repl_t *self, int64_t now)
{
    ht_peer_t *peer = ht_repl_parent (self);
    if (!peer)
        return;
    ht_peer_connecting (peer, now);
    zhashx_delete (self->parked, ht_peer_name (peer));
    ht_msg_t msg;
    s_identity (self, &msg, HT_MSG_HELLO);
    s_send (self, peer, &msg, NULL);
}

void
ht_repl_parent_lost (ht_repl_t *self)
{
    ht_peer_t *peer = ht_repl_parent (self);
    if (peer) {
        ht_peer_down (peer);
        zhashx_delete (self->parked, ht_peer_name (peer));
    }
}

//  Refuse a HELLO with an ERROR naming why, to a connection with no peer
static void
s_refuse_hello (ht_repl_t *self, zframe_t *routing_id, const char *error, const char *text)
{
    ht_peer_t *stranger = ht_peer_new ("stranger", false);
    ht_peer_set_routing_id (stranger, routing_id);
    s_send_error (self, stranger, error, text);
    ht_peer_destroy (&stranger);
    self->protocol_errors++;
}

void
ht_repl_on_hello (ht_repl_t *self, zframe_t *routing_id, const char *user_id,
                  const ht_msg_t *msg, int64_t now)
{
    if (msg->version != HT_PROTOCOL_VERSION) {
        char text [HT_MSG_TEXT_CHARS + 1];
        snprintf (text, sizeof text, "protocol version %" PRIu64 " is not supported; "
                  "this node speaks version %d", msg->version, HT_PROTOCOL_VERSION);
        HT_WARNING (self->config, "node: HELLO from %s refused: %s", msg->region, text);
        s_refuse_hello (self, routing_id, "version", text);
        return;
    }
    //  The key authenticated by CURVE must be certified, now, as the
    //  child node of ours whose region the HELLO claims
    const char *why = NULL;
    ht_gate_t gate = s_gate (self);
    int rc = ht_gate_admit_hex (&gate, HT_GATE_NODE_SOCKET, user_id, msg->region, NULL, &why);
    if (rc != HT_OK) {
        HT_WARNING (self->config, "node: HELLO claiming region %s refused: %s (%s)",
                    msg->region, why, ht_errname (rc));
        s_refuse_hello (self, routing_id, rc == HT_ESCOPE? "not_child": ht_errname (rc),
                        "your key is not certified as a child node of this region");
        return;
    }
    ht_peer_t *peer = (ht_peer_t *) zhashx_lookup (self->peers, msg->region);
    if (!peer)
        peer = s_peer_add (self, msg->region, false);
    //  A reconnect: the PULL held for the old connection is answered never
    zhashx_delete (self->parked, msg->region);
    ht_peer_set_routing_id (peer, routing_id);
    ht_peer_set_key (peer, user_id);
    ht_peer_set_label (peer, msg->name);
    if (ht_peer_up (peer, msg->epoch, msg->last_seq, now))
        HT_WARNING (self->config, "node: peer %s has a new store epoch; pulling it again "
                    "from zero", ht_peer_label (peer));
    HT_INFO (self->config, "node: child %s (%s) connected", ht_peer_label (peer),
             ht_peer_name (peer));
    ht_repl__read_clock (self, peer, msg);
    ht_msg_t welcome;
    s_identity (self, &welcome, HT_MSG_WELCOME);
    welcome.echo = msg->clock;
    welcome.has_echo = msg->has_clock;
    s_send (self, peer, &welcome, NULL);
    s_pull (self, peer, now);
}

//  Is our parent's key still good? A parent whose certificate we hold
//  and which is revoked or expired is not one to trust with our records.
//  One we do not hold yet is admitted: it is where certificates come from.
static bool
s_parent_admitted (ht_repl_t *self)
{
    char hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hex_encode (self->parent_key, sizeof self->parent_key, hex);
    const char *why = NULL;
    ht_gate_t gate = s_gate (self);
    int rc = ht_gate_admit_hex (&gate, HT_GATE_PARENT_LINK, hex, NULL, NULL, &why);
    if (rc == HT_OK || rc == HT_ENOCERT)
        return true;
    HT_ERROR (self->config, "node: parent %s refused: its key is %s (%s); not "
              "replicating with it", self->config->parent, ht_errname (rc), why);
    ht_peer_down (ht_repl_parent (self));
    self->io.reconnect (self->io.arg, ht_errname (rc));
    return false;
}

//  Is a connected child's key still good? One revoked or expired while
//  connected is dropped: told why, and forgotten until a HELLO the gate
//  admits (which it will not)
static bool
s_child_admitted (ht_repl_t *self, ht_peer_t *peer)
{
    const char *why = NULL;
    ht_gate_t gate = s_gate (self);
    int rc = ht_gate_admit_hex (&gate, HT_GATE_NODE_SOCKET, ht_peer_key (peer),
                                ht_peer_name (peer), NULL, &why);
    if (rc == HT_OK)
        return true;
    HT_WARNING (self->config, "node: dropping child %s: %s (%s)", ht_peer_label (peer),
                why, ht_errname (rc));
    s_send_error (self, peer, ht_errname (rc), why);
    ht_peer_down (peer);
    return false;
}

//  The parent accepted our HELLO
static void
s_on_welcome (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *msg, int64_t now)
{
    if (!ht_peer_is_parent (peer) || msg->version != HT_PROTOCOL_VERSION) {
        self->protocol_errors++;
        return;
    }
    if (!s_parent_admitted (self))
        return;
    ht_peer_set_label (peer, msg->name);
    if (ht_peer_up (peer, msg->epoch, msg->last_seq, now))
        HT_WARNING (self->config, "node: parent %s has a new store epoch; pulling it "
                    "again from zero", ht_peer_label (peer));
    HT_INFO (self->config, "node: connected to parent %s (%s)", ht_peer_label (peer),
             self->config->parent);
    //  Read before pulling: a clock far behind the parent's pulls nothing
    ht_repl__read_clock (self, peer, msg);
    s_pull (self, peer, now);
}

void
ht_repl_on_message (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *msg,
                    zmsg_t *records, int64_t now)
{
    ht_peer_seen (peer, now);
    if (streq (msg->command, HT_MSG_WELCOME))
        s_on_welcome (self, peer, msg, now);
    else
    if (streq (msg->command, HT_MSG_ERROR)) {
        HT_ERROR (self->config, "node: %s says: %s: %s", ht_peer_label (peer), msg->error,
                  msg->text);
        if (ht_peer_is_parent (peer)) {
            ht_peer_down (peer);
            self->io.reconnect (self->io.arg, msg->error);
        }
    }
    else
    if (!ht_peer_is_up (peer))
        self->protocol_errors++;        //  nothing else before the handshake
    else
    if (streq (msg->command, HT_MSG_PULL))
        s_serve_pull (self, peer, msg, now);
    else
    if (streq (msg->command, HT_MSG_BATCH))
        s_apply_batch (self, peer, msg, records, now);
    else
    if (streq (msg->command, HT_MSG_NOTIFY)) {
        ht_peer_heard_seq (peer, msg->last_seq);
        if (ht_peer_want_pull (peer))
            s_pull (self, peer, now);
    }
    else
    if (streq (msg->command, HT_MSG_PING)) {
        ht_peer_heard_seq (peer, msg->last_seq);
        ht_msg_t pong;
        ht_msg_init (&pong, HT_MSG_PONG);
        pong.last_seq = self->last_seq;
        pong.clock = (uint64_t) ht_repl__wall (self);
        pong.has_clock = true;
        pong.echo = msg->clock;
        pong.has_echo = msg->has_clock;
        ht_repl__say_skew (self, &pong);
        ht_repl__heard_skew (peer, msg);
        s_send (self, peer, &pong, NULL);
    }
    else
    if (streq (msg->command, HT_MSG_PONG)) {
        ht_peer_heard_seq (peer, msg->last_seq);
        ht_repl__read_clock (self, peer, msg);
    }
    else
        self->protocol_errors++;
}

void
ht_repl_receive (ht_repl_t *self, ht_peer_t *peer, const ht_msg_t *msg, zmsg_t *records,
                 int64_t now)
{
    if (!streq (msg->command, HT_MSG_BATCH) || !ht_peer_is_up (peer)) {
        ht_repl_on_message (self, peer, msg, records, now);
        return;
    }
    //  The peer spoke, and its answer to our PULL is here: neither it
    //  nor the PULL may be taken for lost while the batch waits its turn
    ht_peer_seen (peer, now);
    ht_peer_batch_received (peer);
    s_waiting_t *waiting = (s_waiting_t *) zmalloc (sizeof (s_waiting_t));
    snprintf (waiting->peer, sizeof waiting->peer, "%s",
              ht_peer_is_parent (peer)? S_PARENT: ht_peer_name (peer));
    waiting->msg = *msg;
    waiting->records = zmsg_new ();
    zframe_t *frame;
    while (records && (frame = zmsg_pop (records)))
        zmsg_append (waiting->records, &frame);
    zlistx_add_end (self->waiting, waiting);
}

bool
ht_repl_work (ht_repl_t *self, int64_t now)
{
    //  The first waiting batch, and with it the next waiting ones of
    //  other peers while all together hold no more than one batch's
    //  records: stored in one transaction (group commit), in the order
    //  they came. A peer's second batch waits for the next turn.
    s_waiting_t *taken [S_GROUP_BATCHES];
    ht_peer_t *peers [S_GROUP_BATCHES];
    const ht_msg_t *batches [S_GROUP_BATCHES];
    zmsg_t *records [S_GROUP_BATCHES];
    size_t count = 0, total = 0;
    void *handle = zlistx_first (self->waiting)? zlistx_cursor (self->waiting): NULL;
    while (handle && count < S_GROUP_BATCHES) {
        s_waiting_t *waiting = (s_waiting_t *) zlistx_handle_item (handle);
        void *next = zlistx_next (self->waiting)? zlistx_cursor (self->waiting): NULL;
        size_t size = zmsg_size (waiting->records);
        if (count && total + size > (size_t) self->config->batch_records)
            break;
        //  A peer's second batch ends the group: what came after it is
        //  not stored before it (its records may be what they need, a
        //  certificate or a revocation)
        bool again = false;
        for (size_t index = 0; index < count; index++)
            again = again || streq (taken [index]->peer, waiting->peer);
        if (again)
            break;
        zlistx_detach (self->waiting, handle);
        taken [count++] = waiting;
        total += size;
        handle = next;
    }
    //  Judged now, not when they came: batches before them moved cursors
    size_t ready = 0;
    for (size_t index = 0; index < count; index++) {
        ht_peer_t *peer = (ht_peer_t *) zhashx_lookup (self->peers, taken [index]->peer);
        if (!peer)
            continue;
        ht_peer_batch_taken (peer);
        ht_peer_seen (peer, now);
        if (!ht_peer_is_up (peer)) {
            self->protocol_errors++;    //  nothing before the handshake
            continue;
        }
        peers [ready] = peer;
        batches [ready] = &taken [index]->msg;
        records [ready++] = taken [index]->records;
    }
    if (ready)
        s_apply_batches (self, peers, batches, records, ready, now);
    for (size_t index = 0; index < count; index++)
        s_waiting_free ((void **) &taken [index]);
    return zlistx_size (self->waiting) > 0;
}

size_t
ht_repl_waiting (ht_repl_t *self)
{
    return zlistx_size (self->waiting);
}

//  True if peer waits out a failed batch's delay and will be pulled then
static bool
s_retry_waits (ht_peer_t *peer)
{
    return ht_peer_is_up (peer) && !ht_peer_pulling (peer) && ht_peer_retry_at (peer) > 0;
}

int64_t
ht_repl_retry_in (ht_repl_t *self, int64_t now)
{
    int64_t first = -1;
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers)) {
        int64_t in = ht_peer_retry_at (peer) > now? ht_peer_retry_at (peer) - now: 0;
        if (s_retry_waits (peer) && (first < 0 || in < first))
            first = in;
    }
    return first;
}

void
ht_repl_retry (ht_repl_t *self, int64_t now)
{
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers))
        if (s_retry_waits (peer) && ht_peer_may_pull (peer, now))
            s_pull (self, peer, now);
}

//  --------------------------------------------------------------------------
//  Heartbeats

//  One peer's heartbeat
static void
s_tick_peer (ht_repl_t *self, ht_peer_t *peer, int64_t now)
{
    if (ht_peer_is_up (peer)
    &&  !(ht_peer_is_parent (peer)? s_parent_admitted (self): s_child_admitted (self, peer)))
        return;
    bool connecting = ht_peer_state (peer) == HT_PEER_CONNECTING;
    int actions = ht_peer_tick (peer, now, self->config->peer_timeout_ms);
    if (actions & HT_PEER_DO_LOST) {
        //  The peer is DOWN already, so the owner does not say it lost a
        //  link that was up: say it here
        if (ht_peer_is_parent (peer) && !connecting)
            HT_WARNING (self->config, "node: parent %s silent for over %d ms; reconnecting",
                        ht_peer_label (peer), self->config->peer_timeout_ms);
        if (ht_peer_is_parent (peer))
            self->io.reconnect (self->io.arg, connecting? "no answer to HELLO": "silent");
        else
            HT_WARNING (self->config, "node: child %s silent for over %d ms; waiting for "
                        "it to return", ht_peer_label (peer), self->config->peer_timeout_ms);
        return;
    }
    if (actions & HT_PEER_DO_PULL)
        s_pull (self, peer, now);
    if (actions & HT_PEER_DO_PING) {
        ht_msg_t ping;
        ht_msg_init (&ping, HT_MSG_PING);
        ping.last_seq = self->last_seq;
        ping.clock = (uint64_t) ht_repl__wall (self);
        ping.has_clock = true;
        ht_repl__say_skew (self, &ping);
        s_send (self, peer, &ping, NULL);
    }
}

void
ht_repl_tick (ht_repl_t *self, int64_t now)
{
    //  If our own loop was too busy to tick (a long batch), what our peers
    //  sent meanwhile waits unread in the sockets: they are not silent, we
    //  were deaf. Count them as heard rather than drop them all.
    bool stalled = self->last_tick_ms
                && now - self->last_tick_ms > self->config->peer_timeout_ms / 2;
    self->last_tick_ms = now;
    //  A peer gone or come back changes the reference
    ht_repl__clock_judge (self);
    s_parked_tick (self, now);
    //  Dropping a peer may reconnect, which may touch the table: walk a
    //  snapshot of the names
    zlistx_t *names = zhashx_keys (self->peers);
    for (char *name = (char *) zlistx_first (names); name; name = (char *) zlistx_next (names)) {
        ht_peer_t *peer = (ht_peer_t *) zhashx_lookup (self->peers, name);
        if (peer && stalled && ht_peer_state (peer) != HT_PEER_DOWN)
            ht_peer_seen (peer, now);
        if (peer)
            s_tick_peer (self, peer, now);
    }
    zlistx_destroy (&names);
}

json_t *
ht_repl_status (ht_repl_t *self, int64_t now)
{
    json_t *peers = json_array ();
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers))
        json_array_append_new (peers, ht_peer_status (peer, now));
    return peers;
}
