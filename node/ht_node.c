//  ht_node: the node actor. It owns the store and every socket, and runs
//  one zloop: the pipe (commands), the ROUTER (children), the DEALER
//  (parent), the client socket, the ZAP handler, and timers for
//  heartbeats and for noticing writes made by other processes. What the
//  messages mean is for its parts: the replication engine (ht_repl, with
//  its peers, ht_peer), the ZAP handler (ht_zap), the client service
//  (ht_service), all deciding trust through the gate (ht_gate). This
//  file only moves frames between them and the sockets, and assembles
//  the STATUS document from their parts, with its warnings (ht_health),
//  for STATUS requests and, each heartbeat, for the metrics endpoint
//  (ht_metrics).
#include <malloc.h>
#include <sodium.h>
#include <arpa/inet.h>
#include <sys/statvfs.h>
#include "ht_node.h"
#include "ht_hlc.h"
#include "ht_keys.h"
#include "ht_linkmon.h"
#include "ht_log.h"
#include "ht_msg.h"
#include "ht_audit.h"
#include "ht_cert.h"
#include "ht_health.h"
#include "ht_hlc.h"
#include "ht_metrics.h"
#include "ht_reader.h"
#include "ht_repl.h"
#include "ht_rotation.h"
#include "ht_service.h"
#include "ht_zap.h"

#define S_REST_MS 2000              //  quiet this long = at rest
//  While busy, resident memory beyond this is given back: the store's
//  mapped pages as it writes and reads (every few dozen records), LMDB's
//  heap copies at a heartbeat. A bulk ingest touches the whole store, and
//  every page it touched would stay ours until it ended
#define S_BUSY_RESIDENT_BYTES ((size_t) 192 << 20)
#define S_RETRY_MAX 1000            //  quarantine retried at most this many at once
#define S_READ_BURST 256            //  reads whose audits commit together
#define S_CLIENT_BURST 256          //  client requests read in one turn
#define S_SNAPSHOT_MS 1000          //  metrics snapshots at most this often
#define S_LINK_WARN_MS 60000        //  warn about a failing parent link this often

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

//  Messages read off a neighbour socket at once before one batch is
//  applied (batches wait in the engine, the rest is answered at once)
#define S_DRAIN_MESSAGES 256

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_CURVE_KEY_BYTES HT_CURVE_KEY_BYTES

typedef struct {
    zsock_t *pipe;                      //  to the actor's owner
    ht_config_t config;                 //  current configuration
    ht_store_t *store;                  //  our store (owned)
    ht_keypair_t *key;                  //  our key pair (owned)
    zloop_t *loop;                      //  the reactor
    zsock_t *router;                    //  CURVE server for children, or NULL
    zsock_t *client;                    //  CURVE server for clients, or NULL
    zsock_t *zap_sock;                  //  ZAP handler (REP), or NULL
    zsock_t *dealer;                    //  CURVE client to the parent, or NULL
    uint8_t parent_curve [S_CURVE_KEY_BYTES];   //  the parent's Curve25519 key
    uint8_t parent_ed [HT_PUBKEY_BYTES];        //  and its Ed25519 key
    zsock_t *parent_monitor;            //  the DEALER's link events, or NULL
    ht_linkmon_seen_t parent_seen;      //  what they told since it was made
    int64_t parent_warned_ms;           //  last warning about the link
    uint8_t parent_pin [HT_PUBKEY_BYTES];       //  the key parent/key names
    size_t parent_choice;               //  which parent key to try next
    bool parent_pin_retired;            //  said that the pinned key is out
    int retry_timer;                    //  parent reconnect timer, or -1
    uint64_t reconnects;                //  how often we reconnected
    ht_repl_t *repl;                    //  the replication engine (owned)
    ht_zap_t *zap;                      //  the ZAP handler (owned)
    ht_service_t *service;              //  the client service (owned)
    zactor_t *reader;                   //  the reader thread (owned)
    ht_audit_t *audit;                  //  writes audit records (owned)
    uint64_t dropped_sends;             //  messages a full or gone peer could not take
    uint64_t protocol_errors;           //  malformed messages on our sockets
    int64_t last_activity_ms;           //  last batch applied or served
    bool released;                      //  memory given back since then
    int64_t retried_ms;                 //  when quarantine was last retried
    uint64_t retried_certgen;           //  the certificates it saw then
    int64_t started_ms;                 //  when the node started
    ht_latency_t *latency;              //  request times (owned; the reader records too)
    ht_health_t *health;                //  the warning rules' lag samples (owned)
    ht_metrics_t *metrics;              //  the HTTP endpoint (owned), or NULL
    zactor_t *client_monitor;           //  client socket events (owned), or NULL
    int64_t client_connections;         //  connections open on the client socket
    int64_t published_ms;               //  when the last metrics snapshot was made
    bool work_armed;                    //  a timer will apply the next batch
    bool pull_retry_armed;              //  a timer will pull again a peer whose
                                        //  batch failed (ht_repl_retry)
} s_node_t;

static int64_t
s_now (void)
{
    return zclock_mono ();
}

//  Send zmsg without blocking. Our sockets have a send timeout of 0: what
//  a peer cannot take now it can do without or asks for again — a lost
//  BATCH is pulled again after limits/peer_timeout_ms, a lost NOTIFY or
//  PING is made good by the next heartbeat, a client times out.
static void
s_send (s_node_t *self, zsock_t *sock, zmsg_t **zmsg_p)
{
    if (!sock || zmsg_send (zmsg_p, sock) != 0) {
        self->dropped_sends++;
        zmsg_destroy (zmsg_p);      //  czmq leaves an unsent message to us
    }
}

//  --------------------------------------------------------------------------
//  Sockets

//  Bind a CURVE server socket for a ZAP domain, with queues of hwm
//  messages each way; NULL on failure
static zsock_t *
s_bind_server (s_node_t *self, const char *endpoint, const char *domain, int hwm)
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
        HT_ERROR (&self->config, "node: cannot bind %s socket to %s: %s", domain, endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

static int s_on_parent_monitor (zloop_t *loop, zsock_t *reader, void *arg);

//  Stop watching the parent link
static void
s_parent_monitor_end (s_node_t *self, zsock_t *dealer)
{
    if (self->parent_monitor)
        zloop_reader_end (self->loop, self->parent_monitor);
    ht_linkmon_destroy (dealer, &self->parent_monitor);
}

//  May we warn about the parent link now? Once at first, then at most
//  every S_LINK_WARN_MS while it keeps failing the same way
static bool
s_parent_may_warn (s_node_t *self)
{
    int64_t now = s_now ();
    if (now - self->parent_warned_ms < S_LINK_WARN_MS)
        return false;
    self->parent_warned_ms = now;
    return true;
}

//  A fresh DEALER to the parent, its link watched; NULL on failure
static zsock_t *
s_connect_parent (s_node_t *self)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_curve_serverkey_bin (dealer, self->parent_curve);
    zsock_set_curve_publickey_bin (dealer, ht_keypair_curve_public (self->key));
    zsock_set_curve_secretkey_bin (dealer, ht_keypair_curve_secret (self->key));
    zsock_set_linger (dealer, 0);
    //  The parent is a neighbour like a child: the same frame cap and
    //  queues, set before connecting (libzmq applies them per connection).
    //  HELLO waits in the queue for the connection (and its CURVE
    //  handshake) to come up; a full queue or a send that cannot go fails
    //  at once instead of blocking the whole node; each reconnect makes a
    //  fresh socket and says HELLO again.
    zsock_set_maxmsgsize (dealer, S_WIRE_FRAME_MAX_BYTES);
    zsock_set_rcvhwm (dealer, S_PEER_HWM_MESSAGES);
    zsock_set_sndhwm (dealer, S_PEER_HWM_MESSAGES);
    zsock_set_sndtimeo (dealer, 0);
    //  Watched from before it connects, so no event is missed
    memset (&self->parent_seen, 0, sizeof self->parent_seen);
    self->parent_monitor = ht_linkmon_new (dealer);
    if (self->parent_monitor)
        zloop_reader (self->loop, self->parent_monitor, s_on_parent_monitor, self);
    if (zsock_connect (dealer, "%s", self->config.parent) < 0) {
        HT_ERROR (&self->config, "node: cannot connect to parent %s", self->config.parent);
        s_parent_monitor_end (self, dealer);
        zsock_destroy (&dealer);
    }
    return dealer;
}

static int s_on_parent (zloop_t *loop, zsock_t *reader, void *arg);
static int s_load_policies (s_node_t *self);
static void s_reconnect (void *arg, const char *why);

//  Pick the parent key to try: the pinned one or, while the parent
//  rotates, a successor its issuer certified (ht_rotation). CURVE needs
//  the server's key before connecting, so a wrong guess shows only as
//  no answer to HELLO; the next attempt tries the next key.
static void
s_choose_parent_key (s_node_t *self)
{
    uint8_t keys [HT_ROTATION_MAX_KEYS][HT_PUBKEY_BYTES];
    size_t count = ht_rotation_parent_keys (self->store, self->config.region,
                                            self->parent_pin, ht_hlc_wall_ms (),
                                            keys, HT_ROTATION_MAX_KEYS);
    const uint8_t *key = keys [self->parent_choice % count];
    bool pin_left_out = sodium_memcmp (keys [0], self->parent_pin, HT_PUBKEY_BYTES) != 0;
    if (pin_left_out && !self->parent_pin_retired)
        HT_WARNING (&self->config, "node: the pinned parent/key is revoked or expired; "
                    "trying only the keys its issuer certified as its successors (set "
                    "parent/key to the parent's new key)");
    self->parent_pin_retired = pin_left_out;
    if (sodium_memcmp (key, self->parent_ed, HT_PUBKEY_BYTES) != 0) {
        char hex [2 * HT_PUBKEY_BYTES + 1];
        HT_INFO (&self->config, "node: trying parent key %.16s... (%s)",
                 ht_hex_encode (key, HT_PUBKEY_BYTES, hex),
                 key == keys [0]? "the pinned parent/key"
                                : "certified as its successor by its issuer");
    }
    if (ht_curve_public_from_ed25519 (key, self->parent_curve) != HT_OK)
        return;                     //  a certified key that is no curve point: keep the last
    memcpy (self->parent_ed, key, HT_PUBKEY_BYTES);
    ht_repl_set_parent_key (self->repl, self->parent_ed);
}

//  Make the parent link and say HELLO
static void
s_parent_up (s_node_t *self)
{
    s_choose_parent_key (self);
    self->dealer = s_connect_parent (self);
    if (!self->dealer) {
        s_reconnect (self, "connect failed");
        return;
    }
    zloop_reader (self->loop, self->dealer, s_on_parent, self);
    ht_repl_parent_connecting (self->repl, s_now ());
}

//  Timer: try the parent again
static int
s_on_retry (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    s_node_t *self = (s_node_t *) arg;
    self->retry_timer = -1;
    s_parent_up (self);
    return 0;
}

//  The engine's io.reconnect: drop the parent link, try again after the
//  parent peer's backoff
static void
s_reconnect (void *arg, const char *why)
{
    s_node_t *self = (s_node_t *) arg;
    if (self->retry_timer >= 0)
        return;                     //  already scheduled
    ht_peer_t *peer = ht_repl_parent (self->repl);
    bool was_up = ht_peer_is_up (peer);
    ht_linkmon_seen_t seen = self->parent_seen;
    if (self->dealer) {
        zloop_reader_end (self->loop, self->dealer);
        s_parent_monitor_end (self, self->dealer);
        zsock_destroy (&self->dealer);
    }
    ht_repl_parent_lost (self->repl);
    //  A link that never came up may be to the wrong key: try the next
    if (!was_up)
        self->parent_choice++;
    int64_t delay = ht_peer_backoff (peer, self->config.reconnect_min_ms,
                                     self->config.reconnect_max_ms);
    if (was_up) {
        HT_WARNING (&self->config, "node: lost parent %s (%s); reconnecting in %d ms",
                    self->config.parent, why, (int) delay);
        self->parent_warned_ms = INT64_MIN / 2;     //  a new failure is told at once
    }
    else
    if (streq (why, "no answer to HELLO") && !seen.auth_status && s_parent_may_warn (self))
        HT_WARNING (&self->config, "node: no answer from parent %s within %d ms of HELLO: %s; "
                    "retrying in %d ms", self->config.parent, self->config.peer_timeout_ms,
                    !seen.connected? "no connection (is the parent running, and is "
                                     "parent/endpoint its node/listen?)"
                  : !seen.handshaken? "connected, but the CURVE handshake did not complete: "
                                      "parent/key is likely not the key of the node there"
                  : "the CURVE handshake succeeded, but HELLO got no answer",
                    (int) delay);
    self->reconnects++;
    self->retry_timer = zloop_timer (self->loop, (size_t) delay, 1, s_on_retry, self);
}

//  The engine's io.send
static void
s_repl_send (void *arg, ht_peer_t *peer, zmsg_t **zmsg_p)
{
    s_node_t *self = (s_node_t *) arg;
    if (ht_peer_is_parent (peer)) {
        s_send (self, self->dealer, zmsg_p);
        return;
    }
    zframe_t *routing_id = ht_peer_routing_id (peer);
    if (!routing_id) {
        zmsg_destroy (zmsg_p);
        return;
    }
    zframe_t *id = zframe_dup (routing_id);
    zmsg_prepend (*zmsg_p, &id);
    s_send (self, self->router, zmsg_p);
}

//  The engine's io.applied: activity (memory is given back at rest)
static void
s_repl_applied (void *arg, size_t count)
{
    s_node_t *self = (s_node_t *) arg;
    self->last_activity_ms = s_now ();
    self->released = false;
    if (count && self->reader)
        ht_reader_wrote (self->reader);     //  feeds send the new changes
}

//  --------------------------------------------------------------------------
//  Readers

//  An event on the parent link: a key the parent refuses in the
//  handshake is never answered on the socket itself, so say it here
static int
s_on_parent_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_node_t *self = (s_node_t *) arg;
    if (ht_linkmon_read (reader, &self->parent_seen) == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
    &&  s_parent_may_warn (self)) {
        char hex [2 * HT_PUBKEY_BYTES + 1];
        ht_hex_encode (ht_keypair_public (self->key), HT_PUBKEY_BYTES, hex);
        HT_WARNING (&self->config, "node: parent %s refused this node's key %s in the CURVE "
                    "handshake (ZAP status %d): its store holds no valid certificate for it as "
                    "its child node (the parent's log names the refused key)",
                    self->config.parent, hex, self->parent_seen.auth_status);
    }
    return 0;
}

//  One message from the parent: false if nothing whole arrived
static bool
s_parent_one (s_node_t *self, zsock_t *reader)
{
    zmsg_t *zmsg = zmsg_recv (reader);
    if (!zmsg)
        return false;
    ht_msg_t msg;
    const char *reason = NULL;
    if (ht_msg_decode (zmsg, &msg, &reason) == HT_OK)
        ht_repl_receive (self->repl, ht_repl_parent (self->repl), &msg, zmsg, s_now ());
    else {
        self->protocol_errors++;
        HT_WARNING (&self->config, "node: malformed message from parent: %s", reason);
    }
    zmsg_destroy (&zmsg);
    return true;
}

static void s_drain (s_node_t *self);
static void s_work (s_node_t *self);

//  Messages from the parent
static int
s_on_parent (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop; (void) reader;
    s_node_t *self = (s_node_t *) arg;
    s_drain (self);
    s_work (self);
    return 0;
}

//  Tell a connection it sent something we cannot take
static void
s_send_error (s_node_t *self, zsock_t *sock, zframe_t *routing_id, const char *error,
              const char *text)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_ERROR);
    snprintf (msg.error, sizeof msg.error, "%s", error);
    snprintf (msg.text, sizeof msg.text, "%s", text);
    zmsg_t *zmsg = ht_msg_encode (&msg);
    zframe_t *id = zframe_dup (routing_id);
    zmsg_prepend (zmsg, &id);
    s_send (self, sock, &zmsg);
}

//  Receive a message on a ROUTER: its routing id (popped, owned by the
//  caller) and its sender's ZAP user id, which rides on the frames the
//  peer sent, not on the routing id the ROUTER made up (user holds 65
//  bytes). NULL if nothing whole arrived.
static zmsg_t *
s_recv_routed (zsock_t *reader, zframe_t **routing_id_p, char *user)
{
    zmsg_t *zmsg = zmsg_recv (reader);
    zframe_t *routing_id = zmsg? zmsg_pop (zmsg): NULL;
    if (!routing_id) {
        zmsg_destroy (&zmsg);
        return NULL;
    }
    zframe_t *first = zmsg_first (zmsg);
    const char *user_id = first? zframe_meta (first, "User-Id"): NULL;
    snprintf (user, 2 * HT_PUBKEY_BYTES + 1, "%s", user_id? user_id: "");
    *routing_id_p = routing_id;
    return zmsg;
}

//  One message from a child on the ROUTER: false if nothing whole arrived
static bool
s_router_one (s_node_t *self, zsock_t *reader)
{
    zframe_t *routing_id = NULL;
    char user [2 * HT_PUBKEY_BYTES + 1];
    zmsg_t *zmsg = s_recv_routed (reader, &routing_id, user);
    if (!zmsg)
        return false;
    ht_msg_t msg;
    const char *reason = NULL;
    int rc = ht_msg_decode (zmsg, &msg, &reason);
    ht_peer_t *peer = ht_repl_child (self->repl, routing_id);
    int64_t now = s_now ();
    if (rc) {
        self->protocol_errors++;
        HT_WARNING (&self->config, "node: malformed message from a child: %s", reason);
        s_send_error (self, reader, routing_id, ht_errname (rc), reason);
    }
    else
    if (streq (msg.command, HT_MSG_HELLO))
        ht_repl_on_hello (self->repl, routing_id, user, &msg, now);
    else
    if (peer)
        ht_repl_receive (self->repl, peer, &msg, zmsg, now);
    else {
        self->protocol_errors++;
        s_send_error (self, reader, routing_id, "hello_first", "say HELLO before anything else");
    }
    zframe_destroy (&routing_id);
    zmsg_destroy (&zmsg);
    return true;
}

//  Read what waits on the neighbour sockets, up to S_DRAIN_MESSAGES on
//  each: PINGs, PULLs and the rest are answered now, batches wait in the
//  engine. Each socket is read while it says input is ready, so a
//  handler never blocks; the parent link may be dropped (and its socket
//  destroyed) by a message read.
static void
s_drain (s_node_t *self)
{
    for (int count = 0; self->router && count < S_DRAIN_MESSAGES
                     && (zsock_events (self->router) & ZMQ_POLLIN); count++)
        if (!s_router_one (self, self->router))
            break;
    for (int count = 0; self->dealer && count < S_DRAIN_MESSAGES
                     && (zsock_events (self->dealer) & ZMQ_POLLIN); count++)
        if (!s_parent_one (self, self->dealer))
            break;
}

//  Timer: the next waiting batch, after whatever came meanwhile
static int
s_on_work (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    s_node_t *self = (s_node_t *) arg;
    self->work_armed = false;
    s_drain (self);
    s_work (self);
    return 0;
}

static void s_arm_pull_retry (s_node_t *self);

//  Timer: a peer whose batch failed has waited out its delay
static int
s_on_pull_retry (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    s_node_t *self = (s_node_t *) arg;
    self->pull_retry_armed = false;
    ht_repl_retry (self->repl, s_now ());
    s_arm_pull_retry (self);
    return 0;
}

//  Come back when the first peer whose batch failed may be pulled again
static void
s_arm_pull_retry (s_node_t *self)
{
    int64_t delay = self->pull_retry_armed? -1: ht_repl_retry_in (self->repl, s_now ());
    if (delay >= 0
    &&  zloop_timer (self->loop, (size_t) (delay > 0? delay: 1), 1, s_on_pull_retry, self) >= 0)
        self->pull_retry_armed = true;
}

//  Apply one waiting batch; if more wait, come back after one turn of the
//  loop (timers, heartbeats and every socket are served in between)
static void
s_work (s_node_t *self)
{
    if (ht_repl_work (self->repl, s_now ()) && !self->work_armed) {
        if (zloop_timer (self->loop, 1, 1, s_on_work, self) >= 0)
            self->work_armed = true;
    }
    s_arm_pull_retry (self);
}

//  Messages from children on the ROUTER
static int
s_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop; (void) reader;
    s_node_t *self = (s_node_t *) arg;
    s_drain (self);
    s_work (self);
    return 0;
}

//  Send the replies of stored PUTs that wait in the service
static void
s_client_replies (s_node_t *self, zsock_t *socket)
{
    zmsg_t *reply;
    while ((reply = ht_service_next_reply (self->service)))
        s_send (self, socket, &reply);
}

//  One request on the client socket; false if nothing whole arrived
static bool
s_client_one (s_node_t *self, zsock_t *reader)
{
    zframe_t *routing_id = NULL;
    char user [2 * HT_PUBKEY_BYTES + 1];
    zmsg_t *zmsg = s_recv_routed (reader, &routing_id, user);
    if (!zmsg)
        return false;
    ht_service_read_t read;
    zmsg_t *reply = ht_service_answer (self->service, routing_id, user, &zmsg, s_now (),
                                       &read);
    s_client_replies (self, reader);
    //  A read goes to the reader thread, which answers through s_on_reader
    if (!reply && !read.held
    &&  ht_reader_send (self->reader, routing_id, &read.client, &read.msg) != HT_OK)
        reply = ht_query_error (read.msg.token, HT_ERATELIMIT,
                                "the node's reader is busy; retry shortly");
    if (reply) {
        zmsg_prepend (reply, &routing_id);
        s_send (self, reader, &reply);
    }
    zframe_destroy (&routing_id);
    return true;
}

//  Requests on the client socket: those waiting now, up to a burst, with
//  their PUTs stored together (group commit: one wait for the disk); a
//  lone request is answered as soon as it is read
static int
s_on_client (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_node_t *self = (s_node_t *) arg;
    ht_service_hold_puts (self->service, true);
    uint64_t stored = ht_service_groups_stored (self->service);
    //  No more than one group's work a turn: neighbours and timers wait
    //  for no more than that (a PUT that does not fit the group stores it)
    for (size_t count = 0; count < S_CLIENT_BURST && s_client_one (self, reader); count++)
        if (!(zsock_events (reader) & ZMQ_POLLIN)
        ||  ht_service_groups_stored (self->service) != stored)
            break;
    ht_service_hold_puts (self->service, false);
    s_client_replies (self, reader);
    return 0;
}

//  Answers from the reader thread. Those of a burst of reads are sent
//  once their audit records are stored, all in one transaction (group
//  commit); a read whose audit could not be stored is refused instead.
static int
s_on_reader (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop; (void) pipe;
    s_node_t *self = (s_node_t *) arg;
    zframe_t *routing [S_READ_BURST];
    zmsg_t *replies [S_READ_BURST];
    ht_record_t *audits [S_READ_BURST], *drafts [S_READ_BURST];
    int results [S_READ_BURST];
    size_t count = 0, draft_count = 0;
    while (count < S_READ_BURST
    &&     (replies [count] = ht_reader_recv (self->reader, &routing [count], &audits [count])))
        if (audits [count++])
            drafts [draft_count++] = audits [count - 1];
    if (draft_count) {
        ht_audit_commit (self->audit, drafts, draft_count, results);
        self->last_activity_ms = s_now ();
    }
    for (size_t index = 0, draft = 0; index < count; index++) {
        if (audits [index]) {
            int rc = results [draft++];
            if (rc != HT_OK) {
                HT_ERROR (&self->config, "node: audit record not stored (%s): read refused",
                          ht_strerror (rc));
                ht_msg_t msg;
                const char *reason = NULL;
                zmsg_t *copy = zmsg_dup (replies [index]);
                bool decoded = ht_msg_decode (copy, &msg, &reason) == HT_OK;
                //  Events not audited are not sent: the feed sends them
                //  again later, from the batch's start; a read is refused
                if (decoded && streq (msg.command, HT_MSG_EVENTS)) {
                    char *text = zmsg_popstr (copy);
                    json_t *json = text? json_loads (text, 0, NULL): NULL;
                    ht_reader_rewind (self->reader, routing [index], msg.token,
                        (uint64_t) json_integer_value (json_object_get (json, "from")),
                        zmsg_size (copy));
                    json_decref (json);
                    zstr_free (&text);
                }
                zmsg_destroy (&copy);
                zmsg_destroy (&replies [index]);
                if (!decoded || !streq (msg.command, HT_MSG_EVENTS))
                    replies [index] = ht_query_error (decoded? msg.token: 0, HT_EAUDIT,
                        "the node could not store this read's audit record, so it does "
                        "not answer");
            }
            ht_record_destroy (&audits [index]);
        }
        if (replies [index]) {
            zmsg_prepend (replies [index], &routing [index]);
            s_send (self, self->client, &replies [index]);
        }
        zframe_destroy (&routing [index]);
    }
    return 0;
}

static int
s_on_zap (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_node_t *self = (s_node_t *) arg;
    zmsg_t *request = zmsg_recv (reader);
    if (!request)
        return 0;
    zmsg_t *reply = ht_zap_answer (self->zap, &request, s_now ());
    zmsg_send (&reply, reader);
    zmsg_destroy (&reply);
    return 0;
}

//  The service's io.wrote: a client PUT stored records
static void
s_service_wrote (void *arg)
{
    s_node_t *self = (s_node_t *) arg;
    ht_repl_wrote (self->repl);
    if (self->reader)
        ht_reader_wrote (self->reader);
}

//  Our own certificate's time left (ms, negative once expired); false if
//  the store holds none (the city root's key is the anchor, not certified)
static bool
s_cert_expires (s_node_t *self, int64_t *left_ms)
{
    char hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hex_encode (ht_keypair_public (self->key), HT_PUBKEY_BYTES, hex);
    int error = 0;
    ht_record_t *record = ht_store_get (self->store, "cert", hex, &error);
    ht_cert_t cert;
    bool found = record && ht_cert_parse (record, &cert) == HT_OK;
    if (found)
        *left_ms = (int64_t) cert.not_after_ms - (int64_t) ht_hlc_wall_ms ();
    ht_record_destroy (&record);
    return found;
}

//  The store's room: bytes used, and the most it may grow to — the map
//  limit, else what is used plus the disk's free space
static void
s_store_room (s_node_t *self, json_t *status)
{
    size_t used = ht_store_used_bytes (self->store);
    size_t capacity = self->config.map_limit_bytes;
    struct statvfs disk;
    if (!capacity && statvfs (self->config.store_path, &disk) == 0)
        capacity = used + (size_t) disk.f_bavail * disk.f_frsize;
    json_object_set_new (status, "store_bytes", json_integer ((json_int_t) used));
    json_object_set_new (status, "map_bytes",
                         json_integer ((json_int_t) ht_store_map_bytes (self->store)));
    json_object_set_new (status, "capacity_bytes", json_integer ((json_int_t) capacity));
}

//  The whole STATUS document, with its warnings; with sample, this
//  heartbeat's lags are remembered first (for the lag_growing rule)
static json_t *
s_node_status (s_node_t *self, bool sample)
{
    int64_t now = s_now ();
    json_t *status = json_pack ("{s:o, s:o, s:I, s:I, s:I, s:I, s:o}",
        "peers", ht_repl_status (self->repl, now),
        "clock", ht_repl_clock_status (self->repl),
        "refused_connections", (json_int_t) ht_zap_refused (self->zap),
        "dropped_sends", (json_int_t) self->dropped_sends,
        "protocol_errors", (json_int_t) (self->protocol_errors
                                         + ht_repl_protocol_errors (self->repl)
                                         + ht_service_protocol_errors (self->service)),
        "client_connections", (json_int_t) self->client_connections,
        "request_latency", ht_latency_status (self->latency));
    s_store_room (self, status);
    json_t *full = ht_store_full_status (self->store);
    if (full)
        json_object_set_new (status, "store_full", full);
    int64_t left_ms = 0;
    if (s_cert_expires (self, &left_ms))
        json_object_set_new (status, "cert_expires_ms", json_integer ((json_int_t) left_ms));
    ht_service_store_status (self->service, status);
    if (sample)
        ht_health_sample (self->health, json_object_get (status, "peers"), now);
    ht_health_limits_t limits = { (int64_t) self->config.unseen_s * 1000,
                                  now - self->started_ms,
                                  (int64_t) self->config.clock_skew_s * 1000 };
    ht_health_apply (self->health, status, &limits, now);
    return status;
}

//  The service's io.status
static json_t *
s_service_status (void *arg)
{
    return s_node_status ((s_node_t *) arg, false);
}

//  Each heartbeat: remember the peers' lags, and give the metrics
//  endpoint a fresh snapshot, at most every S_SNAPSHOT_MS (a scraper
//  asks every 15 s or so). Otherwise only the peers are looked at: the
//  store's part (counting the quarantine) is not free.
static void
s_health_beat (s_node_t *self, int64_t now)
{
    if (self->metrics && (!self->published_ms || now - self->published_ms >= S_SNAPSHOT_MS)) {
        self->published_ms = now;
        json_t *status = s_node_status (self, true);
        ht_metrics_publish (self->metrics, status);
        json_decref (status);
        return;
    }
    json_t *peers = ht_repl_status (self->repl, now);
    ht_health_sample (self->health, peers, now);
    json_decref (peers);
}

//  Client socket events: connections opened and closed
static int
s_on_client_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_node_t *self = (s_node_t *) arg;
    char *event = zstr_recv (reader);
    if (event && streq (event, "ACCEPTED"))
        self->client_connections++;
    else
    if (event && streq (event, "DISCONNECTED") && self->client_connections > 0)
        self->client_connections--;
    zstr_free (&event);
    return 0;
}

//  --------------------------------------------------------------------------
//  Timers and commands

//  Timer: writes by other processes (hutong put on our store) show up as
//  a higher sequence; tell the neighbours
static int
s_on_poll (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    ht_repl_wrote (((s_node_t *) arg)->repl);
    return 0;
}

//  At rest, give back what bulk work left behind: the store's mapped
//  pages and the heap's free memory; while busy, whenever they grow past
//  S_BUSY_RESIDENT_BYTES (the store also checks as it writes)
static void
s_release_at_rest (s_node_t *self)
{
    int64_t now = s_now ();
    if (ht_repl_busy (self->repl)) {
        self->last_activity_ms = now;
        self->released = false;
    }
    if (!self->released && now - self->last_activity_ms < S_REST_MS) {
        if (ht_store_trim (self->store))
            malloc_trim (0);
        return;
    }
    if (self->released || now - self->last_activity_ms < S_REST_MS)
        return;
    ht_store_release_memory (self->store);
    malloc_trim (0);
    self->released = true;
}

//  Records quarantined for a cause that can go away (a certificate not
//  yet arrived, our clock behind, an unknown schema version) are tried
//  again when certificates change, and every limits/quarantine_retry_s
static void
s_retry_quarantine (s_node_t *self, int64_t now)
{
    uint64_t certgen = ht_store_counter (self->store, "certgen");
    if (certgen == self->retried_certgen
    &&  now - self->retried_ms < (int64_t) self->config.quarantine_retry_s * 1000)
        return;
    self->retried_certgen = certgen;
    self->retried_ms = now;
    int stored = ht_store_quarantine_retry (self->store, S_RETRY_MAX);
    if (stored > 0) {
        HT_INFO (&self->config, "node: %d quarantined records admitted on retry", stored);
        ht_repl_wrote (self->repl);
    }
}

//  Each heartbeat: what the engine found of our clock goes to the store,
//  whose ingest gate corrects for it, and to the audit writer, which
//  dates by the corrected clock (docs/security.md R15). Until a
//  neighbour's clock is read, what the store kept from before stands.
static void
s_clock_beat (s_node_t *self)
{
    if (!ht_repl_clock (self->repl).known)
        return;
    int64_t lead = ht_repl_clock_lead (self->repl);
    ht_audit_set_clock_lead (self->audit, lead);
    if (ht_store_set_clock_lead (self->store, lead, ht_hlc_wall_ms ()) != 0)
        HT_ERROR (&self->config, "node: cannot keep the clock's lead in the store");
}

static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    s_node_t *self = (s_node_t *) arg;
    int64_t now = s_now ();
    //  Audit records are committed lazily; they reach the disk here
    if (ht_store_sync (self->store) != 0)
        HT_ERROR (&self->config, "node: cannot sync the store");
    s_release_at_rest (self);
    s_retry_quarantine (self, now);
    ht_repl_tick (self->repl, now);
    s_clock_beat (self);
    s_health_beat (self, now);
    return 0;
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
    s_node_t *self = (s_node_t *) arg;
    zmsg_t *zmsg = zmsg_recv (reader);
    if (!zmsg)
        return -1;
    char *command = zmsg_popstr (zmsg);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;                    //  ends zloop_start after this handler
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
        //  hutongd's main applied the log settings already; czmq's log
        //  settings are process-wide and not for this thread to touch.
        //  The parts hold a pointer to self->config: they see the change.
        if (frame && zframe_size (frame) == sizeof (ht_config_t))
            memcpy (&self->config, zframe_data (frame), sizeof (ht_config_t));
        zframe_destroy (&frame);
        s_load_policies (self);
    }
    else
        HT_WARNING (&self->config, "node: unknown command '%s' on pipe", command);
    zstr_free (&command);
    zmsg_destroy (&zmsg);
    return rc;
}

//  --------------------------------------------------------------------------
//  Life

//  Load our key and the parent's keys; 0 or -1 (logged)
static int
s_load_keys (s_node_t *self)
{
    int error = 0;
    //  An encrypted key: its passphrase from the configured file, else
    //  the environment (systemd LoadCredential=); never a prompt
    ht_passphrase_source_t passphrase = {
        .file = *self->config.key_passphrase_file? self->config.key_passphrase_file: NULL,
        .environment = true
    };
    self->key = ht_keypair_load_from (self->config.key_file, &passphrase, &error);
    if (!self->key) {
        HT_ERROR (&self->config, "node: cannot load key %s: %s", self->config.key_file,
                  ht_strerror (error));
        return -1;
    }
    if (*self->config.parent
    &&  (ht_public_load (self->config.parent_key, self->parent_ed)
         || ht_curve_public_from_ed25519 (self->parent_ed, self->parent_curve))) {
        HT_ERROR (&self->config, "node: cannot read parent key %s", self->config.parent_key);
        return -1;
    }
    memcpy (self->parent_pin, self->parent_ed, HT_PUBKEY_BYTES);
    return 0;
}

//  Give the reader the policy file's policies (hutongd checked the file
//  before a reload; should it have changed since, the old ones stay)
static int
s_load_policies (s_node_t *self)
{
    ht_policyset_t *policies = NULL;
    char error [320];
    if (*self->config.policy_file
    &&  !(policies = ht_policyset_load (self->config.policy_file, error, sizeof error))) {
        HT_ERROR (&self->config, "node: policies not loaded, keeping those in force: %s",
                  error);
        return -1;
    }
    if (self->reader)
        ht_reader_set_policies (self->reader, policies);
    HT_INFO (&self->config, "node: read policies from %s",
             *self->config.policy_file? self->config.policy_file: "the built-in policy.cfg");
    return 0;
}

//  Serve metrics/listen, if set, with a first snapshot; 0 or -1 (logged)
static int
s_bind_metrics (s_node_t *self)
{
    if (!*self->config.metrics_listen)
        return 0;
    struct sockaddr_in addr;
    bool loopback = false;
    const char *reason = NULL;
    if (ht_metrics_parse_listen (self->config.metrics_listen, &addr, &loopback, &reason)) {
        HT_ERROR (&self->config, "node: metrics/listen %s: %s", self->config.metrics_listen,
                  reason);
        return -1;
    }
    self->metrics = ht_metrics_new (&addr);
    if (!self->metrics) {
        HT_ERROR (&self->config, "node: cannot serve metrics on %s: %s",
                  self->config.metrics_listen, strerror (errno));
        return -1;
    }
    char host [INET_ADDRSTRLEN] = "";
    inet_ntop (AF_INET, &addr.sin_addr, host, sizeof host);
    HT_INFO (&self->config, "node: metrics on http://%s:%d/metrics and /healthz", host,
             ht_metrics_port (self->metrics));
    s_health_beat (self, s_now ());
    return 0;
}

//  Bind the ZAP handler and the server sockets; 0 or -1 (logged)
static int
s_bind_sockets (s_node_t *self)
{
    if (*self->config.listen || *self->config.client_listen) {
        self->zap_sock = zsock_new (ZMQ_REP);
        if (zsock_bind (self->zap_sock, S_ZAP_ENDPOINT) < 0) {
            HT_ERROR (&self->config, "node: cannot bind the ZAP handler (another node in "
                      "this process?)");
            return -1;
        }
        zloop_reader (self->loop, self->zap_sock, s_on_zap, self);
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
        self->client_monitor = zactor_new (zmonitor, self->client);
        zstr_sendx (self->client_monitor, "LISTEN", "ACCEPTED", "DISCONNECTED", NULL);
        zstr_send (self->client_monitor, "START");
        zsock_wait (self->client_monitor);
        zloop_reader (self->loop, zactor_sock (self->client_monitor), s_on_client_monitor,
                      self);
        self->reader = ht_reader_new (self->store, self->config.region, NULL, self->latency);
        if (!self->reader || s_load_policies (self))
            return -1;
        zloop_reader (self->loop, zactor_sock (self->reader), s_on_reader, self);
    }
    return s_bind_metrics (self);
}

//  Build the node; on failure (logged) one without its sockets
static s_node_t *
s_node_new (zsock_t *pipe, const ht_config_t *config, ht_store_t *store)
{
    s_node_t *self = (s_node_t *) zmalloc (sizeof (s_node_t));
    self->pipe = pipe;
    self->config = *config;
    self->store = store;
    ht_store_set_resident_limit (store, S_BUSY_RESIDENT_BYTES);
    self->loop = zloop_new ();
    self->retry_timer = -1;
    self->parent_warned_ms = INT64_MIN / 2;
    self->retried_certgen = UINT64_MAX;     //  retry once at start (an upgrade)
    self->started_ms = s_now ();
    self->latency = ht_latency_new ();
    self->health = ht_health_new ();
    if (s_load_keys (self))
        return self;
    ht_repl_io_t repl_io = { s_repl_send, s_reconnect, s_repl_applied, self, NULL };
    self->repl = ht_repl_new (store, &self->config,
                              *config->parent? self->parent_ed: NULL, repl_io);
    if (self->repl && self->key)
        ht_repl_set_cursor_key (self->repl, ht_keypair_secret (self->key), crypto_sign_SECRETKEYBYTES);
    self->zap = ht_zap_new (store, &self->config);
    ht_service_io_t service_io = { .wrote = s_service_wrote, .status = s_service_status,
                                   .arg = self, .latency = self->latency };
    self->service = ht_service_new (store, &self->config, service_io);
    self->audit = ht_audit_new (store, self->key, self->config.region);
    if (s_bind_sockets (self))
        return self;                //  caller sees no sockets and fails
    zloop_reader (self->loop, pipe, s_on_pipe, self);
    zloop_timer (self->loop, (size_t) config->poll_ms, 0, s_on_poll, self);
    zloop_timer (self->loop, (size_t) config->heartbeat_ms, 0, s_on_heartbeat, self);
    if (*config->parent)
        s_parent_up (self);
    return self;
}

static void
s_node_destroy (s_node_t **self_p)
{
    s_node_t *self = *self_p;
    if (!self)
        return;
    zloop_destroy (&self->loop);
    ht_metrics_destroy (&self->metrics);
    ht_reader_destroy (&self->reader);
    zactor_destroy (&self->client_monitor);
    ht_audit_destroy (&self->audit);
    zsock_destroy (&self->router);
    zsock_destroy (&self->client);
    ht_linkmon_destroy (self->dealer, &self->parent_monitor);
    zsock_destroy (&self->dealer);
    zsock_destroy (&self->zap_sock);
    ht_service_destroy (&self->service);
    ht_zap_destroy (&self->zap);
    ht_repl_destroy (&self->repl);
    ht_keypair_destroy (&self->key);
    ht_store_destroy (&self->store);
    ht_health_destroy (&self->health);
    ht_latency_destroy (&self->latency);
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
    s_node_t *self = s_node_new (pipe, config, store);
    bool ready = self->key && self->repl && (!*config->listen || self->router)
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
