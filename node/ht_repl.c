//  ht_repl: replication between neighbours. Each direction is pull-based:
//  "send me what I should hold after (epoch, cursor), at most N". The
//  sender filters its by-sequence log by the holder rule and skips what it
//  received from that same peer; the receiver applies the batch and stores
//  the new cursor in the same transaction, then pulls again while more
//  waits. NOTIFY nudges a peer to pull; PING/PONG find dead peers.
#include "ht_node_private.h"

#define S_SCAN_FACTOR 20            //  log entries examined per record wanted

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

//  A new peer entry under name (the peer's region)
static ht_peer_t *
s_peer_new (ht_node_t *self, const char *name, bool is_parent)
{
    ht_peer_t *peer = (ht_peer_t *) zmalloc (sizeof (ht_peer_t));
    snprintf (peer->name, sizeof peer->name, "%s", name);
    snprintf (peer->label, sizeof peer->label, "%s", name);
    peer->is_parent = is_parent;
    //  Resume from the cursor stored with the last batch we applied
    if (ht_store_peer_get (self->store, name, peer->epoch, &peer->cursor) != HT_OK)
        peer->cursor = 0;
    zhashx_insert (self->peers, is_parent? HT_PEER_PARENT: name, peer);
    return peer;
}

ht_peer_t *
ht_repl_parent_peer (ht_node_t *self)
{
    ht_peer_t *peer = (ht_peer_t *) zhashx_lookup (self->peers, HT_PEER_PARENT);
    if (!peer) {
        //  The parent's region is ours with the deepest group zeroed
        char parent_region [HT_REGION_BYTES] = "";
        if (ht_region_parent (self->config.region, parent_region) != HT_OK)
            snprintf (parent_region, sizeof parent_region, "parent");
        peer = s_peer_new (self, parent_region, true);
    }
    return peer;
}

void
ht_repl_send (ht_node_t *self, ht_peer_t *peer, ht_msg_t *msg, zmsg_t **records_p)
{
    zmsg_t *zmsg = ht_msg_encode (msg);
    if (records_p && *records_p) {
        zframe_t *frame;
        while ((frame = zmsg_pop (*records_p)))
            zmsg_append (zmsg, &frame);
        zmsg_destroy (records_p);
    }
    if (peer->is_parent) {
        if (self->parent.dealer)
            ht_node_send (self, self->parent.dealer, &zmsg);
    }
    else {
        zframe_t *routing_id = zframe_dup (peer->routing_id);
        zmsg_prepend (zmsg, &routing_id);
        if (ht_node_send (self, self->router, &zmsg) != 0)
            HT_DEBUG (self, "node: child %s is gone or not reading; message dropped", peer->label);
    }
    zmsg_destroy (&zmsg);
}

//  Fill the common HELLO/WELCOME items
static void
s_identity (ht_node_t *self, ht_msg_t *msg, const char *command)
{
    ht_msg_init (msg, command);
    msg->version = HT_PROTOCOL_VERSION;
    snprintf (msg->region, sizeof msg->region, "%s", self->config.region);
    snprintf (msg->name, sizeof msg->name, "%s", self->config.name);
    memcpy (msg->epoch, ht_store_epoch (self->store), HT_MSG_EPOCH_BYTES);
    msg->has_epoch = true;
    msg->last_seq = self->last_seq;
}

void
ht_repl_hello_parent (ht_node_t *self)
{
    ht_msg_t msg;
    s_identity (self, &msg, HT_MSG_HELLO);
    ht_peer_t *peer = ht_repl_parent_peer (self);
    self->parent.hello_sent_ms = ht_node_now ();
    peer->last_seen_ms = self->parent.hello_sent_ms;
    ht_repl_send (self, peer, &msg, NULL);
}

//  Ask a peer for what follows (epoch, cursor)
static void
s_send_pull (ht_node_t *self, ht_peer_t *peer, const uint8_t *epoch, uint64_t cursor)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_PULL);
    memcpy (msg.epoch, epoch, HT_MSG_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.cursor = cursor;
    msg.max = (uint64_t) self->config.batch_records;
    peer->pulling = true;
    peer->dirty = false;
    peer->pull_from = cursor;
    peer->pull_sent_ms = ht_node_now ();
    ht_repl_send (self, peer, &msg, NULL);
}

void
ht_repl_pull (ht_node_t *self, ht_peer_t *peer)
{
    if (!peer->welcomed)
        return;
    if (peer->pulling) {
        peer->dirty = true;
        return;
    }
    s_send_pull (self, peer, peer->epoch, peer->cursor);
}

void
ht_repl_notify_all (ht_node_t *self, const ht_peer_t *skip)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_NOTIFY);
    msg.last_seq = self->last_seq;
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers))
        if (peer != skip && peer->welcomed)
            ht_repl_send (self, peer, &msg, NULL);
}

//  A peer (re)introduced itself: adopt its epoch; a changed epoch means
//  its store was restored from a backup, so its sequence numbers are
//  new: restart our cursor there at zero (applying is idempotent)
static void
s_adopt_epoch (ht_node_t *self, ht_peer_t *peer, const ht_msg_t *msg)
{
    if (memcmp (peer->epoch, msg->epoch, HT_MSG_EPOCH_BYTES) != 0) {
        if (peer->cursor > 0)
            HT_WARNING (self, "node: peer %s has a new store epoch; pulling it again from zero",
                          peer->label);
        memcpy (peer->epoch, msg->epoch, HT_MSG_EPOCH_BYTES);
        peer->cursor = 0;
    }
    peer->peer_last_seq = msg->last_seq;
    if (*msg->name)
        snprintf (peer->label, sizeof peer->label, "%s", msg->name);
}

//  --------------------------------------------------------------------------
//  Serving a PULL

typedef struct {
    ht_node_t *node;                //  us
    const ht_peer_t *peer;          //  who pulls
    zmsg_t *records;                //  frames to send
    size_t count;                   //  records in it
    size_t max;                     //  records wanted
    uint64_t last_examined;         //  the cursor to hand back
    bool stopped;                   //  the batch filled up
} s_serve_t;

//  One entry of our change log: send it if the puller should hold it
static int
s_serve_change (void *arg, uint64_t seq, const uint8_t *data, size_t size,
                const char *origin)
{
    s_serve_t *serve = (s_serve_t *) arg;
    if (serve->count >= serve->max) {
        serve->stopped = true;
        return 1;
    }
    serve->last_examined = seq;
    //  Never echo a record back to the peer it came from
    if (origin && streq (origin, serve->peer->name))
        return 0;
    ht_record_head_t head;
    if (ht_record_peek (data, size, &head) != HT_OK
    ||  !ht_region_holds (serve->peer->name, head.region, head.scope))
        return 0;
    zmsg_addmem (serve->records, data, size);
    serve->count++;
    return 0;
}

static void
s_serve_pull (ht_node_t *self, ht_peer_t *peer, const ht_msg_t *pull)
{
    const uint8_t *epoch = ht_store_epoch (self->store);
    uint64_t cursor = pull->cursor;
    //  A puller that knew another epoch of ours starts over from zero
    if (!pull->has_epoch || memcmp (pull->epoch, epoch, HT_MSG_EPOCH_BYTES) != 0)
        cursor = 0;
    size_t max = pull->max? (size_t) pull->max: (size_t) self->config.batch_records;
    if (max > (size_t) self->config.batch_records)
        max = (size_t) self->config.batch_records;
    s_serve_t serve = { self, peer, zmsg_new (), 0, max, cursor, false };
    int rc = ht_store_changes (self->store, cursor, max * S_SCAN_FACTOR, s_serve_change, &serve);
    if (rc < 0) {
        HT_ERROR (self, "node: cannot read the change log for %s: %s", peer->label, ht_strerror (rc));
        zmsg_destroy (&serve.records);
        return;
    }
    self->last_seq = ht_store_last_seq (self->store);
    if (serve.count)
        ht_node_active (self);
    ht_msg_t batch;
    ht_msg_init (&batch, HT_MSG_BATCH);
    memcpy (batch.epoch, epoch, HT_MSG_EPOCH_BYTES);
    batch.has_epoch = true;
    batch.cursor = serve.last_examined;
    batch.more = serve.stopped || serve.last_examined < self->last_seq;
    batch.last_seq = self->last_seq;
    peer->sent += serve.count;
    ht_repl_send (self, peer, &batch, &serve.records);
}

//  --------------------------------------------------------------------------
//  Applying a BATCH

static void
s_apply_batch (ht_node_t *self, ht_peer_t *peer, const ht_msg_t *batch, zmsg_t *records)
{
    if (!peer->pulling) {
        self->protocol_errors++;
        HT_WARNING (self, "node: unrequested batch from %s ignored", peer->label);
        return;
    }
    peer->pulling = false;
    if (peer->pull_from != peer->cursor) {
        //  A prefetched batch whose predecessor failed to apply: drop it
        //  and ask again from where we really are
        ht_repl_pull (self, peer);
        return;
    }
    //  Ask for the next batch before applying this one, so the sender
    //  reads its log while we verify: the hops of a chain overlap
    if (batch->more)
        s_send_pull (self, peer, batch->epoch, batch->cursor);
    ht_node_active (self);
    size_t count = zmsg_size (records);
    const uint8_t **data = (const uint8_t **) calloc (count + 1, sizeof (uint8_t *));
    size_t *sizes = (size_t *) calloc (count + 1, sizeof (size_t));
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (records); frame; frame = zmsg_next (records), index++) {
        data [index] = zframe_data (frame);
        sizes [index] = zframe_size (frame);
    }
    ht_origin_t origin = { .peer = peer->name, .epoch = batch->epoch,
                           .cursor = batch->cursor };
    ht_apply_stats_t stats = { 0 };
    int rc = ht_store_apply_encoded (self->store, data, sizes, count, &origin, &stats, NULL);
    free (data);
    free (sizes);
    if (rc) {
        //  Nothing of the batch was written; the cursor stays, and the
        //  next heartbeat pulls the same records again
        HT_ERROR (self, "node: cannot store a batch from %s: %s; will retry",
                    peer->label, ht_strerror (rc));
        return;
    }
    memcpy (peer->epoch, batch->epoch, HT_MSG_EPOCH_BYTES);
    peer->cursor = batch->cursor;
    peer->peer_last_seq = batch->last_seq;
    peer->received += count;
    peer->applied += stats.applied;
    peer->batches++;
    if (stats.quarantined)
        HT_WARNING (self, "node: %zu of %zu records from %s quarantined",
                      stats.quarantined, count, peer->label);
    if (stats.applied) {
        self->last_seq = ht_store_last_seq (self->store);
        ht_repl_notify_all (self, peer);
    }
    if (!peer->pulling && peer->dirty)
        ht_repl_pull (self, peer);
}

//  --------------------------------------------------------------------------
//  Handshake, messages, heartbeats

//  Refuse a HELLO with an ERROR naming why
static void
s_refuse_hello (ht_node_t *self, zframe_t *routing_id, const char *error, const char *text)
{
    ht_peer_t stranger = { .routing_id = routing_id };
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_ERROR);
    snprintf (msg.error, sizeof msg.error, "%s", error);
    snprintf (msg.text, sizeof msg.text, "%s", text);
    ht_repl_send (self, &stranger, &msg, NULL);
    self->protocol_errors++;
}

void
ht_repl_on_hello (ht_node_t *self, zframe_t *routing_id, const char *user_id, ht_msg_t *msg)
{
    if (msg->version != HT_PROTOCOL_VERSION) {
        char text [HT_MSG_TEXT_CHARS + 1];
        snprintf (text, sizeof text, "protocol version %" PRIu64 " is not supported; "
                  "this node speaks version %d", msg->version, HT_PROTOCOL_VERSION);
        HT_WARNING (self, "node: HELLO from %s refused: %s", msg->region, text);
        s_refuse_hello (self, routing_id, "version", text);
        return;
    }
    //  The key authenticated by CURVE must be certified, now, as the
    //  child node of ours whose region the HELLO claims
    const char *why = NULL;
    int rc = ht_zap_admit (self, HT_GATE_NODE_SOCKET, user_id, msg->region, NULL, &why);
    if (rc != HT_OK) {
        HT_WARNING (self, "node: HELLO claiming region %s refused: %s (%s)",
                      msg->region, why, ht_errname (rc));
        s_refuse_hello (self, routing_id, rc == HT_ESCOPE? "not_child": ht_errname (rc),
                        "your key is not certified as a child node of this region");
        return;
    }
    ht_peer_t *peer = (ht_peer_t *) zhashx_lookup (self->peers, msg->region);
    if (!peer)
        peer = s_peer_new (self, msg->region, false);
    zframe_destroy (&peer->routing_id);
    peer->routing_id = zframe_dup (routing_id);
    snprintf (peer->key_hex, sizeof peer->key_hex, "%s", user_id);
    s_adopt_epoch (self, peer, msg);
    peer->welcomed = true;
    peer->pulling = false;
    peer->last_seen_ms = ht_node_now ();
    HT_INFO (self, "node: child %s (%s) connected", peer->label, peer->name);
    ht_msg_t welcome;
    s_identity (self, &welcome, HT_MSG_WELCOME);
    ht_repl_send (self, peer, &welcome, NULL);
    ht_repl_pull (self, peer);
}

//  Is our parent's key still good? A parent whose certificate we hold
//  and which is revoked or expired is not one to trust with our records.
//  One we do not hold yet is admitted: it is where certificates come from.
static bool
s_parent_admitted (ht_node_t *self)
{
    char hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hex_encode (self->parent.server_ed, HT_PUBKEY_BYTES, hex);
    const char *why = NULL;
    int rc = ht_zap_admit (self, HT_GATE_PARENT_LINK, hex, NULL, NULL, &why);
    if (rc == HT_OK || rc == HT_ENOCERT)
        return true;
    HT_ERROR (self, "node: parent %s refused: its key is %s (%s); not replicating with it",
                self->config.parent, ht_errname (rc), why);
    ht_node_reconnect_parent (self, ht_errname (rc));
    return false;
}

//  Is a connected child's key still good? One revoked or expired while
//  connected is dropped: told why, and forgotten until a HELLO the gate
//  admits (which it will not)
static bool
s_child_admitted (ht_node_t *self, ht_peer_t *peer)
{
    const char *why = NULL;
    int rc = ht_zap_admit (self, HT_GATE_NODE_SOCKET, peer->key_hex, peer->name, NULL, &why);
    if (rc == HT_OK)
        return true;
    HT_WARNING (self, "node: dropping child %s: %s (%s)", peer->label, why, ht_errname (rc));
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_ERROR);
    snprintf (msg.error, sizeof msg.error, "%s", ht_errname (rc));
    snprintf (msg.text, sizeof msg.text, "%s", why);
    ht_repl_send (self, peer, &msg, NULL);
    peer->welcomed = false;
    peer->pulling = false;
    return false;
}

//  The parent accepted our HELLO
static void
s_on_welcome (ht_node_t *self, ht_peer_t *peer, const ht_msg_t *msg)
{
    if (!peer->is_parent || msg->version != HT_PROTOCOL_VERSION) {
        self->protocol_errors++;
        return;
    }
    if (!s_parent_admitted (self))
        return;
    s_adopt_epoch (self, peer, msg);
    peer->welcomed = true;
    peer->pulling = false;
    self->parent.backoff_ms = self->config.reconnect_min_ms;
    HT_INFO (self, "node: connected to parent %s (%s)", peer->label, self->config.parent);
    ht_repl_pull (self, peer);
}

void
ht_repl_on_message (ht_node_t *self, ht_peer_t *peer, ht_msg_t *msg, zmsg_t *records)
{
    peer->last_seen_ms = ht_node_now ();
    if (streq (msg->command, HT_MSG_WELCOME))
        s_on_welcome (self, peer, msg);
    else
    if (streq (msg->command, HT_MSG_ERROR)) {
        HT_ERROR (self, "node: %s says: %s: %s", peer->label, msg->error, msg->text);
        if (peer->is_parent)
            ht_node_reconnect_parent (self, msg->error);
    }
    else
    if (!peer->welcomed)
        self->protocol_errors++;        //  nothing else before the handshake
    else
    if (streq (msg->command, HT_MSG_PULL))
        s_serve_pull (self, peer, msg);
    else
    if (streq (msg->command, HT_MSG_BATCH))
        s_apply_batch (self, peer, msg, records);
    else
    if (streq (msg->command, HT_MSG_NOTIFY)) {
        peer->peer_last_seq = msg->last_seq;
        ht_repl_pull (self, peer);
    }
    else
    if (streq (msg->command, HT_MSG_PING)) {
        peer->peer_last_seq = msg->last_seq;
        ht_msg_t pong;
        ht_msg_init (&pong, HT_MSG_PONG);
        pong.last_seq = self->last_seq;
        ht_repl_send (self, peer, &pong, NULL);
    }
    else
    if (streq (msg->command, HT_MSG_PONG))
        peer->peer_last_seq = msg->last_seq;
    else
        self->protocol_errors++;
}

//  Check one peer's liveness; ping it if alive
static void
s_heartbeat_peer (ht_node_t *self, ht_peer_t *peer, int64_t now)
{
    int64_t silent = now - peer->last_seen_ms;
    if (peer->is_parent && !peer->welcomed) {
        if (self->parent.dealer && silent > self->config.peer_timeout_ms)
            ht_node_reconnect_parent (self, "no answer to HELLO");
        return;
    }
    if (!peer->welcomed)
        return;
    if (peer->is_parent? !s_parent_admitted (self): !s_child_admitted (self, peer))
        return;
    if (silent > self->config.peer_timeout_ms) {
        if (peer->is_parent)
            ht_node_reconnect_parent (self, "silent");
        else {
            HT_WARNING (self, "node: child %s silent for %d ms; waiting for it to return",
                          peer->label, (int) silent);
            peer->welcomed = false;
            peer->pulling = false;
        }
        return;
    }
    //  A PULL or its BATCH lost on a dead connection: ask again
    if (peer->pulling && now - peer->pull_sent_ms > self->config.peer_timeout_ms)
        peer->pulling = false;
    if (!peer->pulling && (peer->dirty || peer->peer_last_seq > peer->cursor))
        ht_repl_pull (self, peer);
    ht_msg_t ping;
    ht_msg_init (&ping, HT_MSG_PING);
    ping.last_seq = self->last_seq;
    ht_repl_send (self, peer, &ping, NULL);
}

int
ht_repl_heartbeat (ht_node_t *self)
{
    int64_t now = ht_node_now ();
    //  Reconnecting may touch the table, so walk a snapshot of the names
    zlistx_t *names = zhashx_keys (self->peers);
    for (char *name = (char *) zlistx_first (names); name; name = (char *) zlistx_next (names)) {
        ht_peer_t *peer = (ht_peer_t *) zhashx_lookup (self->peers, name);
        if (peer)
            s_heartbeat_peer (self, peer, now);
    }
    zlistx_destroy (&names);
    return 0;
}
