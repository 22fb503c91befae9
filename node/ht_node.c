//  ht_node: the node actor. It owns every socket and the store, and runs
//  one zloop: the pipe (commands), the ROUTER (children), the DEALER
//  (parent), the client socket, the ZAP handler, and timers for
//  heartbeats and for noticing writes made by other processes.
#include <malloc.h>
#include <sodium.h>
#include "ht_node_private.h"

#define S_REST_MS 2000              //  quiet this long = at rest

//  Frames: every socket closes a connection that sends a frame over
//  HT_MSG_MAX_FRAME_BYTES, twice the largest record, so one record frame
//  always fits and libzmq never allocates more than that for one frame.
//  libzmq checks ZMQ_MAXMSGSIZE against the frame as it travels, which
//  CURVE makes longer than the frame we read by its MESSAGE command
//  name (8 bytes), nonce (8), flags (1) and box MAC (16).
#define S_CURVE_FRAME_OVERHEAD_BYTES 33
#define S_WIRE_FRAME_MAX_BYTES (HT_MSG_MAX_FRAME_BYTES + S_CURVE_FRAME_OVERHEAD_BYTES)

//  Queues, in messages per connection and direction. libzmq counts whole
//  messages whatever their frames, so a queue holds at most this many
//  times the largest message:
//  - neighbours: a link carries at most one BATCH each way at a time (a
//    puller has one PULL out), otherwise small messages (a NOTIFY per
//    write, PING and PONG per heartbeat). 100 leaves room for the small
//    ones that wait behind a large batch on a slow line, and holds a peer
//    that pulls without reading to 100 of our batches (each at most
//    limits/batch records).
//  - clients: a client waits for its answer (the C client has one
//    request out). 32 lets a client pipeline; one that sends without
//    reading has at most 32 answers queued (a PUT-OK names at most
//    HT_PUT_MAX_RECORDS results) and 32 requests waiting to be read.
#define S_PEER_HWM_MESSAGES 100
#define S_CLIENT_HWM_MESSAGES 32

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

//  Anyone may make up Curve keys and try them, so what we remember of
//  refused keys is bounded: this many keys (about 150 bytes each), one log
//  line per key per interval, and at most this many lines per interval,
//  then one summary line
#define S_REFUSED_KEYS 1024
#define S_REFUSAL_LOG_INTERVAL_MS (60 * 1000)
#define S_REFUSAL_LOG_LINES 10
//  Clients whose request budget is remembered (least recently seen
//  forgotten first); only certified keys get this far
#define S_RATE_CLIENTS 4096

int64_t
ht_node_now (void)
{
    return zclock_mono ();
}

int
ht_node_send (ht_node_t *self, zsock_t *sock, zmsg_t **zmsg_p)
{
    //  Our sockets have a send timeout of 0, so this never waits. What a
    //  peer cannot take now it can do without or asks for again: a lost
    //  BATCH is pulled again after limits/peer_timeout_ms, a lost NOTIFY
    //  or PING is made good by the next heartbeat, a client times out.
    int rc = zmsg_send (zmsg_p, sock);
    if (rc != 0) {
        self->dropped_sends++;
        zmsg_destroy (zmsg_p);      //  czmq leaves an unsent message to us
    }
    return rc;
}

//  Bind a CURVE server socket for a ZAP domain, with queues of hwm
//  messages each way; NULL on failure
static zsock_t *
s_bind_server (ht_node_t *self, const char *endpoint, const char *domain, int hwm)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    zsock_set_zap_domain (sock, domain);
    zsock_set_curve_server (sock, 1);
    zsock_set_curve_secretkey_bin (sock, ht_keypair_curve_secret (self->key));
    zsock_set_curve_publickey_bin (sock, ht_keypair_curve_public (self->key));
    //  libzmq copies options into a socket's listener when it binds, so
    //  they must all be set before zsock_bind
    zsock_set_maxmsgsize (sock, S_WIRE_FRAME_MAX_BYTES);
    zsock_set_sndhwm (sock, hwm);
    zsock_set_rcvhwm (sock, hwm);
    //  Mandatory routing reports a full or gone peer as an error instead
    //  of dropping silently; with a send timeout of 0 it never blocks
    zsock_set_router_mandatory (sock, 1);
    zsock_set_sndtimeo (sock, 0);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        HT_ERROR (self, "node: cannot bind %s socket to %s: %s", domain, endpoint,
                    zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

int
ht_node_connect_parent (ht_node_t *self)
{
    zsock_destroy (&self->parent.dealer);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_curve_serverkey_bin (dealer, self->parent.server_curve);
    zsock_set_curve_publickey_bin (dealer, ht_keypair_curve_public (self->key));
    zsock_set_curve_secretkey_bin (dealer, ht_keypair_curve_secret (self->key));
    zsock_set_linger (dealer, 0);
    //  The parent is a neighbour like a child: the same frame cap and
    //  queues, set before connecting (libzmq applies them per connection)
    zsock_set_maxmsgsize (dealer, S_WIRE_FRAME_MAX_BYTES);
    zsock_set_rcvhwm (dealer, S_PEER_HWM_MESSAGES);
    //  HELLO waits in the queue for the connection (and its CURVE
    //  handshake) to come up; nothing else is sent to a parent that has not
    //  welcomed us, so the queue stays small. A full queue or a send that
    //  cannot go fails at once instead of blocking the whole node; each
    //  reconnect makes a fresh socket and says HELLO again.
    zsock_set_sndhwm (dealer, S_PEER_HWM_MESSAGES);
    zsock_set_sndtimeo (dealer, 0);
    if (zsock_connect (dealer, "%s", self->config.parent) < 0) {
        HT_ERROR (self, "node: cannot connect to parent %s", self->config.parent);
        zsock_destroy (&dealer);
        return -1;
    }
    self->parent.dealer = dealer;
    return 0;
}

static int s_on_parent (zloop_t *loop, zsock_t *reader, void *arg);

//  Timer: try the parent again
static int
s_on_retry (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    ht_node_t *self = (ht_node_t *) arg;
    self->parent.retry_timer = -1;
    if (ht_node_connect_parent (self) == 0) {
        zloop_reader (self->loop, self->parent.dealer, s_on_parent, self);
        self->parent.hello_sent_ms = 0;
        ht_repl_hello_parent (self);
    }
    else
        ht_node_reconnect_parent (self, "connect failed");
    return 0;
}

void
ht_node_reconnect_parent (ht_node_t *self, const char *why)
{
    if (self->parent.retry_timer >= 0)
        return;                     //  already scheduled
    if (self->parent.dealer) {
        zloop_reader_end (self->loop, self->parent.dealer);
        zsock_destroy (&self->parent.dealer);
    }
    ht_peer_t *peer = ht_repl_parent_peer (self);
    if (peer->welcomed)
        HT_WARNING (self, "node: lost parent %s (%s); reconnecting in %d ms",
                      self->config.parent, why, self->parent.backoff_ms);
    peer->welcomed = false;
    peer->pulling = false;
    self->parent.reconnects++;
    self->parent.retry_timer = zloop_timer (self->loop, (size_t) self->parent.backoff_ms,
                                            1, s_on_retry, self);
    //  Exponential backoff with a cap; a successful WELCOME resets it
    self->parent.backoff_ms *= 2;
    if (self->parent.backoff_ms > self->config.reconnect_max_ms)
        self->parent.backoff_ms = self->config.reconnect_max_ms;
}

//  A message from the parent
static int
s_on_parent (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    ht_node_t *self = (ht_node_t *) arg;
    zmsg_t *zmsg = zmsg_recv (reader);
    if (!zmsg)
        return 0;
    ht_msg_t msg;
    const char *reason = NULL;
    if (ht_msg_decode (zmsg, &msg, &reason) == HT_OK)
        ht_repl_on_message (self, ht_repl_parent_peer (self), &msg, zmsg);
    else {
        self->protocol_errors++;
        HT_WARNING (self, "node: malformed message from parent: %s", reason);
    }
    zmsg_destroy (&zmsg);
    return 0;
}

//  Find a child by its ROUTER identity
static ht_peer_t *
s_child_by_routing_id (ht_node_t *self, zframe_t *routing_id)
{
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers))
        if (!peer->is_parent && peer->routing_id && zframe_eq (peer->routing_id, routing_id))
            return peer;
    return NULL;
}

//  Tell a connection without a handshake that it must say HELLO first
static void
s_send_error (ht_node_t *self, zsock_t *sock, zframe_t *routing_id, const char *error,
              const char *text)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_ERROR);
    snprintf (msg.error, sizeof msg.error, "%s", error);
    snprintf (msg.text, sizeof msg.text, "%s", text);
    zmsg_t *zmsg = ht_msg_encode (&msg);
    zmsg_prepend (zmsg, &routing_id);
    ht_node_send (self, sock, &zmsg);
}

//  A message from a child on the ROUTER
static int
s_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    ht_node_t *self = (ht_node_t *) arg;
    zmsg_t *zmsg = zmsg_recv (reader);
    if (!zmsg)
        return 0;
    zframe_t *routing_id = zmsg_pop (zmsg);
    //  ZAP's user id rides on the frames the peer sent, not on the
    //  routing id the ROUTER made up
    zframe_t *first = zmsg_first (zmsg);
    const char *user_id = routing_id && first? zframe_meta (first, "User-Id"): NULL;
    char user [2 * HT_PUBKEY_BYTES + 1] = "";
    if (user_id)
        snprintf (user, sizeof user, "%s", user_id);
    ht_msg_t msg;
    const char *reason = NULL;
    int rc = routing_id? ht_msg_decode (zmsg, &msg, &reason): HT_EMALFORMED;
    ht_peer_t *peer = routing_id? s_child_by_routing_id (self, routing_id): NULL;
    if (rc) {
        self->protocol_errors++;
        HT_WARNING (self, "node: malformed message from a child: %s", reason);
        if (routing_id)
            s_send_error (self, reader, zframe_dup (routing_id), ht_errname (rc), reason);
    }
    else
    if (streq (msg.command, HT_MSG_HELLO))
        ht_repl_on_hello (self, routing_id, user, &msg);
    else
    if (peer)
        ht_repl_on_message (self, peer, &msg, zmsg);
    else {
        self->protocol_errors++;
        s_send_error (self, reader, zframe_dup (routing_id), "hello_first",
                      "say HELLO before anything else");
    }
    zframe_destroy (&routing_id);
    zmsg_destroy (&zmsg);
    return 0;
}

static int
s_on_client (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop; (void) reader;
    return ht_service_handle ((ht_node_t *) arg);
}

static int
s_on_zap (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop; (void) reader;
    return ht_zap_handle ((ht_node_t *) arg);
}

//  Timer: writes by other processes (hutong put on our store) show up as
//  a higher sequence; tell the neighbours
static int
s_on_poll (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    ht_node_t *self = (ht_node_t *) arg;
    uint64_t last_seq = ht_store_last_seq (self->store);
    if (last_seq > self->last_seq) {
        self->last_seq = last_seq;
        ht_repl_notify_all (self, NULL);
    }
    return 0;
}

void
ht_node_active (ht_node_t *self)
{
    self->last_activity_ms = ht_node_now ();
    self->released = false;
}

//  At rest, give back what bulk work left behind: the store's mapped
//  pages and the heap's free memory
static void
s_release_at_rest (ht_node_t *self)
{
    if (self->released || ht_node_now () - self->last_activity_ms < S_REST_MS)
        return;
    ht_store_release_memory (self->store);
    malloc_trim (0);
    self->released = true;
}

static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    ht_node_t *self = (ht_node_t *) arg;
    s_release_at_rest (self);
    return ht_repl_heartbeat (self);
}

//  Last endpoint a socket bound (resolves tcp://127.0.0.1:*), or ""
static char *
s_endpoint (zsock_t *sock)
{
    return sock? zsock_last_endpoint (sock): strdup ("");
}

//  Commands from the owner
static int
s_on_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    ht_node_t *self = (ht_node_t *) arg;
    zmsg_t *zmsg = zmsg_recv (reader);
    if (!zmsg)
        return -1;
    char *command = zmsg_popstr (zmsg);
    int rc = 0;
    if (!command || streq (command, "$TERM")) {
        self->terminated = true;
        rc = -1;                    //  ends zloop_start after this handler
    }
    else
    if (streq (command, "ENDPOINTS")) {
        char *node = s_endpoint (self->router), *client = s_endpoint (self->client);
        zstr_sendx (self->pipe, node, client, NULL);
        zstr_free (&node);
        zstr_free (&client);
    }
    else
    if (streq (command, "RELOAD")) {
        zframe_t *frame = zmsg_pop (zmsg);
        if (frame && zframe_size (frame) == sizeof (ht_config_t)) {
            //  hutongd's main applied the log settings already; czmq's log
            //  settings are process-wide and not for this thread to touch
            memcpy (&self->config, zframe_data (frame), sizeof (ht_config_t));
        }
        zframe_destroy (&frame);
    }
    else
        HT_WARNING (self, "node: unknown command '%s' on pipe", command);
    zstr_free (&command);
    zmsg_destroy (&zmsg);
    return rc;
}

//  Load our key and the parent's curve key; 0 or -1 (logged)
static int
s_load_keys (ht_node_t *self)
{
    int error = 0;
    self->key = ht_keypair_load (self->config.key_file, &error);
    if (!self->key) {
        HT_ERROR (self, "node: cannot load key %s: %s", self->config.key_file, ht_strerror (error));
        return -1;
    }
    if (*self->config.parent) {
        uint8_t parent_key [HT_PUBKEY_BYTES];
        if (ht_public_load (self->config.parent_key, parent_key)
        ||  ht_curve_public_from_ed25519 (parent_key, self->parent.server_curve)) {
            HT_ERROR (self, "node: cannot read parent key %s", self->config.parent_key);
            return -1;
        }
        memcpy (self->parent.server_ed, parent_key, HT_PUBKEY_BYTES);
    }
    return 0;
}

//  Bind the ZAP handler and the server sockets; 0 or -1 (logged)
static int
s_bind_sockets (ht_node_t *self)
{
    if (*self->config.listen || *self->config.client_listen) {
        self->zap = zsock_new (ZMQ_REP);
        if (zsock_bind (self->zap, S_ZAP_ENDPOINT) < 0) {
            HT_ERROR (self, "node: cannot bind the ZAP handler (another node in this process?)");
            return -1;
        }
        zloop_reader (self->loop, self->zap, s_on_zap, self);
    }
    if (*self->config.listen) {
        if (!(self->router = s_bind_server (self, self->config.listen, "node",
                                            S_PEER_HWM_MESSAGES)))
            return -1;
        zloop_reader (self->loop, self->router, s_on_router, self);
    }
    if (*self->config.client_listen) {
        if (!(self->client = s_bind_server (self, self->config.client_listen, "client",
                                            S_CLIENT_HWM_MESSAGES)))
            return -1;
        zloop_reader (self->loop, self->client, s_on_client, self);
    }
    return 0;
}

//  Build the node; NULL on failure (logged)
static ht_node_t *
s_node_new (zsock_t *pipe, const ht_config_t *config, ht_store_t *store)
{
    ht_node_t *self = (ht_node_t *) zmalloc (sizeof (ht_node_t));
    self->pipe = pipe;
    self->config = *config;
    self->store = store;
    self->loop = zloop_new ();
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, (zhashx_destructor_fn *) ht_peer_destroy);
    self->curve_keys = zhashx_new ();
    zhashx_set_destructor (self->curve_keys, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->curve_keys, (zhashx_duplicator_fn *) strdup);
    self->refusals = ht_refusals_new (S_REFUSED_KEYS, S_REFUSAL_LOG_INTERVAL_MS,
                                      S_REFUSAL_LOG_LINES);
    self->client_rates = ht_ratelimit_new (S_RATE_CLIENTS);
    self->parent.backoff_ms = config->reconnect_min_ms;
    self->parent.retry_timer = -1;
    self->last_seq = ht_store_last_seq (store);
    if (s_load_keys (self) || s_bind_sockets (self))
        return self;                //  caller sees no loop readers and fails
    zloop_reader (self->loop, pipe, s_on_pipe, self);
    zloop_timer (self->loop, (size_t) config->poll_ms, 0, s_on_poll, self);
    zloop_timer (self->loop, (size_t) config->heartbeat_ms, 0, s_on_heartbeat, self);
    if (*config->parent) {
        if (ht_node_connect_parent (self) == 0) {
            zloop_reader (self->loop, self->parent.dealer, s_on_parent, self);
            ht_repl_hello_parent (self);
        }
        else
            ht_node_reconnect_parent (self, "connect failed");
    }
    return self;
}

static void
s_node_destroy (ht_node_t **self_p)
{
    ht_node_t *self = *self_p;
    if (!self)
        return;
    zloop_destroy (&self->loop);
    zsock_destroy (&self->router);
    zsock_destroy (&self->client);
    zsock_destroy (&self->parent.dealer);
    zsock_destroy (&self->zap);
    zhashx_destroy (&self->peers);
    zhashx_destroy (&self->curve_keys);
    ht_refusals_destroy (&self->refusals);
    ht_ratelimit_destroy (&self->client_rates);
    ht_keypair_destroy (&self->key);
    ht_store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}

//  The actor: signal that it runs (zactor_new waits for that), set up,
//  say READY or FAILED, then run the loop
static void
s_node_actor (zsock_t *pipe, void *args)
{
    void **startup = (void **) args;
    const ht_config_t *config = (const ht_config_t *) startup [0];
    ht_store_t *store = (ht_store_t *) startup [1];
    zsock_signal (pipe, 0);
    ht_node_t *self = s_node_new (pipe, config, store);
    bool ready = self->key && (!*config->listen || self->router)
              && (!*config->client_listen || self->client);
    zstr_send (pipe, ready? "READY": "FAILED");
    if (ready)
        zloop_start (self->loop);
    s_node_destroy (&self);
    if (!ready) {
        //  Our owner destroys the actor: wait for its $TERM
        char *command = zstr_recv (pipe);
        zstr_free (&command);
    }
}

zactor_t *
ht_node_new (const ht_config_t *config, ht_store_t **store_p)
{
    void *startup [2] = { (void *) config, *store_p };
    *store_p = NULL;                //  the actor owns the store now
    zactor_t *actor = zactor_new (s_node_actor, startup);
    char *status = actor? zstr_recv (actor): NULL;
    if (actor && (!status || !streq (status, "READY")))
        zactor_destroy (&actor);
    zstr_free (&status);
    return actor;
}

void
ht_node_destroy (zactor_t **self_p)
{
    zactor_destroy (self_p);
}
