//  test_repl: the replication engine without sockets. A township engine
//  (the parent) and one or two community engines (its children) run over
//  temporary stores holding the fixture's PKI, and are wired to each
//  other in memory: every message an engine hands to io.send waits in one
//  queue, and the test delivers it (in order, shuffled, twice, late or
//  never) at made-up monotonic times. No sleeps, no clock: what happens
//  depends only on the order of deliveries.
#include <czmq.h>
#include <inttypes.h>
#include <sodium.h>
#include "ht_config.h"
#include "ht_fixture.h"
#include "ht_repl.h"
#include "ht_test.h"

#define S_NODES_MAX 3               //  the parent and two children
#define S_PARENT 0
#define S_CHILD_A 1
#define S_CHILD_B 2
#define S_T0_MS 1000000             //  a made-up monotonic start
#define S_DELIVERIES_MAX 20000      //  more than this in one run: a loop
#define S_HEARTBEAT_MS 1000
#define S_WALL0_MS 1796192832000    //  the network's wall clock at S_T0_MS

//  Serials of the citizen IDs each writer uses, so no two writers ever
//  write the same entity
#define S_SERIAL_A 1
#define S_SERIAL_B 100
#define S_SERIAL_TOWNSHIP 200

typedef struct _s_net_t s_net_t;

//  One node: a store, its configuration and its engine
typedef struct {
    s_net_t *net;                       //  the network it is on
    int index;                          //  S_PARENT, S_CHILD_A, S_CHILD_B
    ht_fixture_principal_t principal;   //  the key it runs with
    char dir [HT_FIXTURE_DIR_CHARS];    //  its store's directory
    ht_store_t *store;                  //  its store
    ht_config_t config;                 //  its configuration (the engine borrows it)
    ht_repl_t *repl;                    //  its engine
    zframe_t *routing_id;               //  a child's id on the parent's ROUTER
    char user_id [2 * HT_PUBKEY_BYTES + 1]; //  a child's key as CURVE names it
    size_t next_serial;                 //  the next citizen ID it writes
    size_t reconnects;                  //  io.reconnect calls
    char reconnect_why [64];            //  ... the last one's reason
    zlistx_t *events;                   //  "send PULL", "got BATCH more", "applied 2"
    zlistx_t *frames;                   //  hex of every record sent to it in a BATCH
    int64_t clock_offset_ms;            //  its wall clock minus the network's
} s_node_t;

//  A message in flight
typedef struct {
    s_node_t *from;                     //  who sent it
    zframe_t *to;                       //  from the parent: the child's routing id
    zmsg_t *zmsg;                       //  as the engine encoded it
    bool replay;                        //  a copy sent again (replay_batches)
} s_flight_t;

struct _s_net_t {
    ht_fixture_t *fixture;              //  keys, certs, records
    s_node_t nodes [S_NODES_MAX];       //  [S_PARENT] and the children
    size_t node_count;                  //  nodes in use
    zlistx_t *queue;                    //  s_flight_t in flight, oldest first
    zlistx_t *held;                     //  batches held back (hold_batches)
    bool hold_batches;                  //  hold every BATCH instead of delivering it
    bool double_batches;                //  deliver every BATCH twice
    bool parent_defers;                 //  the parent takes messages in as hutongd
                                        //  does (ht_repl_receive): batches wait
    bool replay_batches;                //  ... or send a copy again, to arrive later
    s_node_t *drop_from;                //  drop the drop_nth BATCH from this node
    size_t drop_nth;                    //  ... counting from 1; 0: none
    size_t batches_from [S_NODES_MAX];  //  BATCHes delivered (or dropped), by sender
    size_t most_records;                //  the most records one BATCH carried
    size_t batches_with_more;           //  BATCHes that said more
    size_t hello_first;                 //  messages from unknown connections
    int64_t now;                        //  the made-up monotonic clock
    uint32_t random;                    //  state of the shuffle's generator
};

//  --------------------------------------------------------------------------
//  The engines' io

static s_flight_t *
s_flight_new (s_node_t *from, zframe_t *to, zmsg_t **zmsg_p)
{
    s_flight_t *flight = (s_flight_t *) zmalloc (sizeof (s_flight_t));
    flight->from = from;
    flight->to = to? zframe_dup (to): NULL;
    flight->zmsg = *zmsg_p;
    *zmsg_p = NULL;
    return flight;
}

static void
s_flight_destroy (s_flight_t **flight_p)
{
    s_flight_t *flight = *flight_p;
    if (flight) {
        zframe_destroy (&flight->to);
        zmsg_destroy (&flight->zmsg);
        free (flight);
        *flight_p = NULL;
    }
}

static void
s_flight_free (void **item_p)
{
    s_flight_destroy ((s_flight_t **) item_p);
}

//  True if a message in flight is of command (its first frame)
static bool
s_is (const s_flight_t *flight, const char *command)
{
    zframe_t *first = zmsg_first (flight->zmsg);
    return first && zframe_streq (first, command);
}

static void
s_event (s_node_t *node, const char *format, const char *text)
{
    zlistx_add_end (node->events, zsys_sprintf (format, text));
}

//  io.send: a message to a child goes to the child's routing id, which
//  we copy now (a refused HELLO's peer lives only for the call)
static void
s_io_send (void *arg, ht_peer_t *peer, zmsg_t **zmsg_p)
{
    s_node_t *node = (s_node_t *) arg;
    zframe_t *to = ht_peer_is_parent (peer)? NULL: ht_peer_routing_id (peer);
    ck_assert (ht_peer_is_parent (peer) || to);
    s_flight_t *flight = s_flight_new (node, to, zmsg_p);
    char *command = zframe_strdup (zmsg_first (flight->zmsg));
    s_event (node, "send %s", command);
    free (command);
    zlistx_add_end (node->net->queue, flight);
}

static void
s_io_reconnect (void *arg, const char *why)
{
    s_node_t *node = (s_node_t *) arg;
    node->reconnects++;
    snprintf (node->reconnect_why, sizeof node->reconnect_why, "%s", why);
}

static void
s_io_applied (void *arg, size_t count)
{
    s_node_t *node = (s_node_t *) arg;
    char text [32];
    snprintf (text, sizeof text, "%zu", count);
    s_event (node, "applied %s", text);
}

//  io.wall_ms: the network's made-up wall clock, moving with the made-up
//  monotonic one, plus the node's own error
static uint64_t
s_io_wall (void *arg)
{
    s_node_t *node = (s_node_t *) arg;
    return (uint64_t) (S_WALL0_MS + (node->net->now - S_T0_MS) + node->clock_offset_ms);
}

//  --------------------------------------------------------------------------
//  Nodes and the network

static const char *
s_region_of (int index)
{
    return index == S_PARENT? HT_FIXTURE_TOWNSHIP:
           index == S_CHILD_A? HT_FIXTURE_COMMUNITY_A: HT_FIXTURE_COMMUNITY_B;
}

//  The fixture's certificates that a store of region holds, root first
//  (a community does not hold its sibling's)
static void
s_apply_certs (ht_fixture_t *fixture, ht_store_t *store, const char *region)
{
    for (int index = 0; index < HT_FIXTURE_CERT_COUNT; index++) {
        ht_record_t *cert = fixture->certs [index];
        if (!ht_region_holds (region, ht_record_region (cert), ht_record_scope (cert)))
            continue;
        int result = -999;
        ck_assert_int_eq (ht_store_apply (store, &cert, 1, NULL, NULL, &result), 0);
        ck_assert_msg (result == 0, "cert %d: %s", index, ht_strerror (result));
    }
}

//  A fresh engine over the node's store
static void
s_node_start (s_node_t *node)
{
    ht_repl_io_t io = { s_io_send, s_io_reconnect, s_io_applied, node, s_io_wall };
    const uint8_t *parent_key = node->index == S_PARENT? NULL:
        ht_keypair_public (node->net->fixture->keys [HT_FIXTURE_TOWNSHIP_KEY]);
    node->repl = ht_repl_new (node->store, &node->config, parent_key, io);
    ck_assert_ptr_nonnull (node->repl);
    const ht_keypair_t *key = node->net->fixture->keys [node->principal];
    ht_repl_set_cursor_key (node->repl, ht_keypair_secret (key), crypto_sign_SECRETKEYBYTES);
}

static void
s_node_init (s_net_t *net, int index, int batch_records)
{
    static const ht_fixture_principal_t principals [S_NODES_MAX] = {
        HT_FIXTURE_TOWNSHIP_KEY, HT_FIXTURE_COMMUNITY_A_KEY, HT_FIXTURE_COMMUNITY_B_KEY };
    static const char *const names [S_NODES_MAX] = {
        "fengcheng", "community-a", "community-b" };
    static const size_t serials [S_NODES_MAX] = {
        S_SERIAL_TOWNSHIP, S_SERIAL_A, S_SERIAL_B };
    s_node_t *node = &net->nodes [index];
    node->net = net;
    node->index = index;
    node->principal = principals [index];
    node->next_serial = serials [index];
    node->store = ht_fixture_store_new (net->fixture, s_region_of (index), 0, node->dir);
    s_apply_certs (net->fixture, node->store, s_region_of (index));
    ht_config_defaults (&node->config);
    snprintf (node->config.region, sizeof node->config.region, "%s", s_region_of (index));
    snprintf (node->config.name, sizeof node->config.name, "%s", names [index]);
    snprintf (node->config.log_level, sizeof node->config.log_level, "error");
    node->config.batch_records = batch_records;
    //  A puller that does not long-poll (NOTIFY, then PULL): the tests of
    //  held PULLs turn it on (s_long_poll)
    node->config.pull_wait_ms = 0;
    node->events = zlistx_new ();
    zlistx_set_destructor (node->events, (zlistx_destructor_fn *) zstr_free);
    node->frames = zlistx_new ();
    zlistx_set_destructor (node->frames, (zlistx_destructor_fn *) zstr_free);
    if (index != S_PARENT) {
        char id [2] = { 0, (char) ('0' + index) };
        node->routing_id = zframe_new (id, sizeof id);
        ht_hex_encode (ht_keypair_public (net->fixture->keys [node->principal]),
                       HT_PUBKEY_BYTES, node->user_id);
    }
    s_node_start (node);
}

//  A township and children (1 or 2) with batches of batch_records
static s_net_t *
s_net_new (size_t children, int batch_records)
{
    s_net_t *net = (s_net_t *) zmalloc (sizeof (s_net_t));
    net->fixture = ht_fixture_new ();
    net->queue = zlistx_new ();
    zlistx_set_destructor (net->queue, s_flight_free);
    net->held = zlistx_new ();
    zlistx_set_destructor (net->held, s_flight_free);
    net->now = S_T0_MS;
    net->random = 12345;
    net->node_count = 1 + children;
    for (size_t index = 0; index < net->node_count; index++)
        s_node_init (net, (int) index, batch_records);
    return net;
}

static void
s_net_destroy (s_net_t **net_p)
{
    s_net_t *net = *net_p;
    zlistx_destroy (&net->queue);
    zlistx_destroy (&net->held);
    for (size_t index = 0; index < net->node_count; index++) {
        s_node_t *node = &net->nodes [index];
        ht_repl_destroy (&node->repl);
        ht_fixture_store_destroy (&node->store, node->dir);
        zframe_destroy (&node->routing_id);
        zlistx_destroy (&node->events);
        zlistx_destroy (&node->frames);
    }
    ht_fixture_destroy (&net->fixture);
    free (net);
    *net_p = NULL;
}

static s_node_t *
s_parent (s_net_t *net)
{
    return &net->nodes [S_PARENT];
}

static s_node_t *
s_child_by_id (s_net_t *net, zframe_t *routing_id)
{
    for (size_t index = 1; index < net->node_count; index++)
        if (zframe_eq (net->nodes [index].routing_id, routing_id))
            return &net->nodes [index];
    return NULL;
}

//  What the node does with a message from a connection that said no
//  HELLO: an ERROR back (ht_node.c)
static void
s_hello_first (s_net_t *net, s_node_t *child)
{
    net->hello_first++;
    ht_msg_t error;
    ht_msg_init (&error, HT_MSG_ERROR);
    snprintf (error.error, sizeof error.error, "hello_first");
    snprintf (error.text, sizeof error.text, "say HELLO before anything else");
    zmsg_t *zmsg = ht_msg_encode (&error);
    zlistx_add_end (net->queue, s_flight_new (s_parent (net), child->routing_id, &zmsg));
}

//  Note what a BATCH to node carries
static void
s_note_batch (s_net_t *net, s_node_t *node, const ht_msg_t *msg, zmsg_t *records)
{
    if (zmsg_size (records) > net->most_records)
        net->most_records = zmsg_size (records);
    if (msg->more)
        net->batches_with_more++;
    for (zframe_t *frame = zmsg_first (records); frame; frame = zmsg_next (records))
        zlistx_add_end (node->frames, zframe_strhex (frame));
    s_event (node, "got BATCH%s", msg->more? " more": "");
}

//  Deliver one message to where it goes, as the node's readers do: from
//  a child, HELLO to ht_repl_on_hello and the rest to the child's peer;
//  from the parent, to the child's parent peer
static void
s_deliver (s_net_t *net, s_flight_t *flight)
{
    ht_msg_t msg;
    const char *reason = NULL;
    ck_assert_msg (ht_msg_decode (flight->zmsg, &msg, &reason) == 0, "decode: %s", reason);
    s_node_t *parent = s_parent (net);
    if (flight->from == parent) {
        s_node_t *child = s_child_by_id (net, flight->to);
        ck_assert_ptr_nonnull (child);
        if (streq (msg.command, HT_MSG_BATCH))
            s_note_batch (net, child, &msg, flight->zmsg);
        ht_repl_on_message (child->repl, ht_repl_parent (child->repl), &msg, flight->zmsg,
                            net->now);
        return;
    }
    s_node_t *child = flight->from;
    if (streq (msg.command, HT_MSG_BATCH))
        s_note_batch (net, parent, &msg, flight->zmsg);
    if (streq (msg.command, HT_MSG_HELLO)) {
        ht_repl_on_hello (parent->repl, child->routing_id, child->user_id, &msg, net->now);
        return;
    }
    ht_peer_t *peer = ht_repl_child (parent->repl, child->routing_id);
    if (peer && net->parent_defers)
        ht_repl_receive (parent->repl, peer, &msg, flight->zmsg, net->now);
    else
    if (peer)
        ht_repl_on_message (parent->repl, peer, &msg, flight->zmsg, net->now);
    else
        s_hello_first (net, child);
}

//  Take the flight at the queue's cursor and deliver it, or hold, double
//  or drop it as the network is set to; the clock moves 1 ms
static void
s_step (s_net_t *net, void *handle)
{
    s_flight_t *flight = (s_flight_t *) zlistx_detach (net->queue, handle);
    net->now++;
    if (s_is (flight, HT_MSG_BATCH)) {
        if (net->hold_batches) {
            zlistx_add_end (net->held, flight);
            return;
        }
        size_t nth = ++net->batches_from [flight->from->index];
        if (net->drop_from == flight->from && net->drop_nth == nth) {
            s_flight_destroy (&flight);
            return;
        }
        if (net->double_batches) {
            zmsg_t *copy = zmsg_dup (flight->zmsg);
            s_flight_t *twin = s_flight_new (flight->from, flight->to, &copy);
            s_deliver (net, twin);
            s_flight_destroy (&twin);
        }
        if (net->replay_batches && !flight->replay) {
            zmsg_t *copy = zmsg_dup (flight->zmsg);
            s_flight_t *twin = s_flight_new (flight->from, flight->to, &copy);
            twin->replay = true;
            zlistx_add_end (net->queue, twin);
        }
    }
    s_deliver (net, flight);
    s_flight_destroy (&flight);
}

//  Deliver the oldest message in flight
static void
s_step_first (s_net_t *net)
{
    ck_assert_ptr_nonnull (zlistx_first (net->queue));
    s_step (net, zlistx_cursor (net->queue));
}

//  Decode a message in flight without taking it
static void
s_decode_copy (const s_flight_t *flight, ht_msg_t *msg)
{
    zmsg_t *copy = zmsg_dup (flight->zmsg);
    const char *reason = NULL;
    ck_assert_msg (ht_msg_decode (copy, msg, &reason) == 0, "decode: %s", reason);
    zmsg_destroy (&copy);
}

//  Deliver everything in order until nothing is in flight; returns the
//  number of messages delivered
static size_t
s_run (s_net_t *net)
{
    size_t delivered = 0;
    while (zlistx_size (net->queue)) {
        ck_assert_uint_lt (++delivered, S_DELIVERIES_MAX);
        zlistx_first (net->queue);
        s_step (net, zlistx_cursor (net->queue));
    }
    return delivered;
}

//  Deliver up to count messages in shuffled order (count 0: until
//  nothing is in flight); a fixed-seed generator keeps it repeatable
static void
s_run_shuffled (s_net_t *net, size_t count)
{
    size_t delivered = 0;
    while (zlistx_size (net->queue) && (count == 0 || delivered < count)) {
        ck_assert_uint_lt (++delivered, S_DELIVERIES_MAX);
        net->random = net->random * 1103515245u + 12345u;
        size_t pick = (net->random >> 16) % zlistx_size (net->queue);
        zlistx_first (net->queue);
        for (size_t index = 0; index < pick; index++)
            zlistx_next (net->queue);
        s_step (net, zlistx_cursor (net->queue));
    }
}

//  Put the held batches back in flight, oldest first, ahead of the rest
static void
s_release_held (s_net_t *net)
{
    net->hold_batches = false;
    s_flight_t *flight;
    zlistx_t *later = net->queue;
    net->queue = zlistx_new ();
    zlistx_set_destructor (net->queue, s_flight_free);
    while ((flight = (s_flight_t *) zlistx_first (net->held)))
        zlistx_add_end (net->queue, zlistx_detach_cur (net->held));
    while ((flight = (s_flight_t *) zlistx_first (later)))
        zlistx_add_end (net->queue, zlistx_detach_cur (later));
    zlistx_destroy (&later);
}

//  The child says HELLO (the owner made a fresh link) and everything in
//  flight is delivered
static void
s_connect (s_net_t *net, int index)
{
    ht_repl_parent_connecting (net->nodes [index].repl, net->now);
    s_run (net);
}

//  A heartbeat on every node, its PINGs and PONGs (and whatever else it
//  sent) delivered
static void
s_heartbeat (s_net_t *net)
{
    for (size_t index = 0; index < net->node_count; index++)
        ht_repl_tick (net->nodes [index].repl, net->now);
    s_run (net);
}

//  --------------------------------------------------------------------------
//  Records and what the stores hold

//  A new signed elder by node: a community's in its own region, the
//  township's in the township with the township as scope (shared down to
//  every community in it). The caller owns it.
static ht_record_t *
s_elder_by (s_node_t *node)
{
    ht_fixture_t *fixture = node->net->fixture;
    unsigned serial = (unsigned) node->next_serial++;
    uint64_t hlc = ht_fixture_hlc (1, (uint16_t) serial);
    if (node->index == S_PARENT)
        return ht_fixture_elder_in (fixture, fixture->keys [HT_FIXTURE_TOWNSHIP_KEY],
                                    HT_FIXTURE_TOWNSHIP, HT_FIXTURE_TOWNSHIP, serial,
                                    "镇", hlc);
    return ht_fixture_elder (fixture, node->principal, serial, "居", hlc);
}

//  Write count new elders at node as local writes, the entity keys into
//  keys (if not NULL, room for count), and tell the engine
static void
s_write (s_node_t *node, size_t count, char (*keys) [HT_KEY_MAX_CHARS + 1])
{
    for (size_t index = 0; index < count; index++) {
        ht_record_t *record = s_elder_by (node);
        int result = -999;
        ck_assert_int_eq (ht_store_apply (node->store, &record, 1, NULL, NULL, &result), 0);
        ck_assert_msg (result == 0, "write: %s", ht_strerror (result));
        if (keys)
            snprintf (keys [index], sizeof keys [index], "%s", ht_record_key (record));
        ht_record_destroy (&record);
    }
    ht_repl_wrote (node->repl);
}

//  True if node's store holds the elder with this key
static bool
s_holds (s_node_t *node, const char *key)
{
    int error = 0;
    ht_record_t *record = ht_store_get (node->store, "elder", key, &error);
    bool held = record != NULL;
    ht_record_destroy (&record);
    return held;
}

//  True if a record of this key was ever sent to node in a BATCH
static bool
s_was_sent (s_node_t *node, s_node_t *owner, const char *key)
{
    int error = 0;
    ht_record_t *record = ht_store_get (owner->store, "elder", key, &error);
    ck_assert_ptr_nonnull (record);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    char *hex = (char *) malloc (2 * size + 1);
    ht_hex_encode (data, size, hex);
    bool sent = false;
    for (char *frame = (char *) zlistx_first (node->frames); frame && !sent;
         frame = (char *) zlistx_next (node->frames))
        sent = strcasecmp (frame, hex) == 0;
    free (hex);
    free (data);
    ht_record_destroy (&record);
    return sent;
}

static uint64_t
s_elders (s_node_t *node)
{
    return ht_store_count (node->store, "elder");
}

static int
s_list_one (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    char *hex = (char *) malloc (2 * size + 2);
    ht_hex_encode (data, size, hex);
    strcat (hex, "\n");
    zlistx_add_end ((zlistx_t *) arg, hex);
    free (data);
    return 0;
}

//  Every current record of kind in node's store, encoded, one a line,
//  sorted (a store lists in its own order: region, then when it stored
//  each record): equal texts, equal contents. The caller frees it.
static char *
s_contents (s_node_t *node, const char *kind)
{
    zlistx_t *lines = zlistx_new ();
    zlistx_set_destructor (lines, (zlistx_destructor_fn *) zstr_free);
    ck_assert_int_ge (ht_store_list (node->store, kind, "", NULL, 0, s_list_one, lines), 0);
    zlistx_set_comparator (lines, (zlistx_comparator_fn *) strcmp);
    zlistx_sort (lines);
    size_t total = 1;
    for (char *line = (char *) zlistx_first (lines); line; line = (char *) zlistx_next (lines))
        total += strlen (line);
    char *text = (char *) zmalloc (total);
    for (char *line = (char *) zlistx_first (lines); line; line = (char *) zlistx_next (lines))
        strcat (text, line);
    zlistx_destroy (&lines);
    return text;
}

//  Assert two nodes hold the same current records of kind
static void
s_assert_same (s_node_t *first, s_node_t *second, const char *kind)
{
    char *one = s_contents (first, kind), *two = s_contents (second, kind);
    ck_assert_msg (streq (one, two), "%s and %s hold different %s records",
                   first->config.name, second->config.name, kind);
    free (one);
    free (two);
}

//  What a node's log offers a puller: entries the puller holds by the
//  holder rule that did not come from it
typedef struct {
    const char *puller;             //  the puller's region
    uint64_t records;               //  such entries
    uint64_t elders;                //  ... of them elders
} s_offer_t;

static int
s_offer_one (void *arg, uint64_t seq, const uint8_t *data, size_t size, const char *origin)
{
    (void) seq;
    s_offer_t *offer = (s_offer_t *) arg;
    ht_record_head_t head;
    ck_assert_int_eq (ht_record_peek (data, size, &head), 0);
    if (!streq (origin, offer->puller)
    &&  ht_region_holds (offer->puller, head.region, head.scope)) {
        offer->records++;
        if (streq (head.kind, "elder"))
            offer->elders++;
    }
    return 0;
}

static s_offer_t
s_offer (s_node_t *server, s_node_t *puller)
{
    s_offer_t offer = { puller->config.region, 0, 0 };
    ck_assert_int_ge (ht_store_changes (server->store, 0, 0, s_offer_one, &offer), 0);
    return offer;
}

//  A field of the status line node keeps for its peer of region
static int64_t
s_stat (s_node_t *node, const char *region, const char *field)
{
    json_t *peers = ht_repl_status (node->repl, node->net->now);
    int64_t value = -1;
    size_t index;
    json_t *peer;
    json_array_foreach (peers, index, peer)
        if (streq (json_string_value (json_object_get (peer, "region")), region)) {
            json_t *item = json_object_get (peer, field);
            value = json_is_boolean (item)? json_is_true (item): json_integer_value (item);
        }
    json_decref (peers);
    ck_assert_msg (value >= 0, "no %s for peer %s", field, region);
    return value;
}

//  A child's peer at the parent, or the parent's at a child
static int64_t
s_stat_of (s_node_t *node, s_node_t *peer, const char *field)
{
    return s_stat (node, peer->config.region, field);
}

//  The cursor node stored with the last batch it applied from peer
static uint64_t
s_stored_cursor (s_node_t *node, s_node_t *peer, uint8_t *epoch)
{
    uint64_t cursor = 0;
    ck_assert_int_eq (ht_store_peer_get (node->store, peer->config.region, epoch, &cursor, NULL, NULL), 0);
    return cursor;
}

//  True if one of node's events is "send PULL" after a "got BATCH more"
//  and before that batch's "applied": the next batch was asked for before
//  this one was applied
static bool
s_prefetched (s_node_t *node)
{
    const char *before = "", *last = "";
    for (char *event = (char *) zlistx_first (node->events); event;
         event = (char *) zlistx_next (node->events)) {
        if (strncmp (event, "applied", 7) == 0
        &&  streq (last, "send PULL") && streq (before, "got BATCH more"))
            return true;
        before = last;
        last = event;
    }
    return false;
}

//  --------------------------------------------------------------------------
//  Tests

START_TEST (records_written_at_a_child_reach_the_parent_and_records_scoped_over_it_flow_down)
{
    s_net_t *net = s_net_new (1, 5000);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    char keys [3][HT_KEY_MAX_CHARS + 1];
    s_write (child, 3, keys);
    uint8_t epoch [HT_EPOCH_BYTES];
    uint64_t cursor = 0;
    ck_assert_int_eq (ht_store_peer_get (parent->store, child->config.region, epoch, &cursor, NULL, NULL),
                      HT_ENOTFOUND);
    //  HELLO, WELCOME, PULL both ways, BATCH both ways
    s_connect (net, S_CHILD_A);
    ck_assert (ht_peer_is_up (ht_repl_parent (child->repl)));
    ck_assert (s_stat_of (parent, child, "connected"));
    ck_assert_uint_eq (s_elders (parent), 3);
    for (int index = 0; index < 3; index++)
        ck_assert (s_holds (parent, keys [index]));
    //  The parent stored the child's epoch and how far it applied
    cursor = s_stored_cursor (parent, child, epoch);
    ck_assert_mem_eq (epoch, ht_store_epoch (child->store), HT_EPOCH_BYTES);
    ck_assert_uint_eq (cursor, ht_store_last_seq (child->store));
    ck_assert_int_eq (s_stat_of (parent, child, "cursor"), (int64_t) cursor);
    s_offer_t offer = s_offer (child, parent);
    ck_assert_int_eq (s_stat_of (parent, child, "received"), (int64_t) offer.records);
    ck_assert_int_eq (s_stat_of (parent, child, "applied"), 3);
    ck_assert_int_eq (s_stat_of (child, parent, "sent"), (int64_t) offer.records);

    //  The township writes for its whole region: the community gets it
    char township_key [1][HT_KEY_MAX_CHARS + 1];
    s_write (parent, 1, township_key);
    s_run (net);
    ck_assert (s_holds (child, township_key [0]));
    ck_assert_uint_eq (s_elders (child), 4);
    cursor = s_stored_cursor (child, parent, epoch);
    ck_assert_mem_eq (epoch, ht_store_epoch (parent->store), HT_EPOCH_BYTES);
    ck_assert_uint_eq (cursor, ht_store_last_seq (parent->store));
    ck_assert_int_eq (s_stat_of (child, parent, "applied"), 1);
    s_assert_same (parent, child, "elder");
    ck_assert_uint_eq (ht_repl_protocol_errors (parent->repl), 0);
    ck_assert_uint_eq (ht_repl_protocol_errors (child->repl), 0);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_record_received_from_a_child_is_never_sent_back_to_it)
{
    s_net_t *net = s_net_new (1, 5000);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_connect (net, S_CHILD_A);
    char keys [3][HT_KEY_MAX_CHARS + 1];
    s_write (child, 3, keys);
    s_run (net);
    ck_assert_uint_eq (s_elders (parent), 3);
    //  Now the child pulls what follows its cursor in the parent's log:
    //  its own three records, then the township's
    char township_key [1][HT_KEY_MAX_CHARS + 1];
    s_write (parent, 1, township_key);
    s_run (net);
    ck_assert (s_holds (child, township_key [0]));
    ck_assert (s_was_sent (child, parent, township_key [0]));
    for (int index = 0; index < 3; index++)
        ck_assert_msg (!s_was_sent (child, parent, keys [index]), "record %d echoed", index);
    s_offer_t offer = s_offer (parent, child);
    ck_assert_uint_eq (offer.elders, 1);
    ck_assert_int_eq (s_stat_of (child, parent, "received"), (int64_t) offer.records);
    ck_assert_int_eq (s_stat_of (parent, child, "sent"), (int64_t) offer.records);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_second_childs_records_never_flow_to_the_first_child)
{
    s_net_t *net = s_net_new (2, 5000);
    s_node_t *parent = s_parent (net);
    s_node_t *a = &net->nodes [S_CHILD_A], *b = &net->nodes [S_CHILD_B];
    s_connect (net, S_CHILD_A);
    s_connect (net, S_CHILD_B);
    char a_keys [2][HT_KEY_MAX_CHARS + 1], b_keys [2][HT_KEY_MAX_CHARS + 1];
    char township_key [1][HT_KEY_MAX_CHARS + 1];
    s_write (a, 2, a_keys);
    s_write (b, 2, b_keys);
    s_write (parent, 1, township_key);
    s_run (net);
    //  The township holds all; each community its own and the township's
    ck_assert_uint_eq (s_elders (parent), 5);
    ck_assert_uint_eq (s_elders (a), 3);
    ck_assert_uint_eq (s_elders (b), 3);
    ck_assert (s_holds (a, township_key [0]));
    ck_assert (s_holds (b, township_key [0]));
    for (int index = 0; index < 2; index++) {
        ck_assert (s_holds (parent, a_keys [index]));
        ck_assert (s_holds (parent, b_keys [index]));
        //  Not merely refused at the door: never sent
        ck_assert (!s_holds (a, b_keys [index]));
        ck_assert (!s_was_sent (a, parent, b_keys [index]));
        ck_assert (!s_holds (b, a_keys [index]));
        ck_assert (!s_was_sent (b, parent, a_keys [index]));
    }
    ck_assert_int_eq (ht_store_quarantine (a->store, NULL, NULL), 0);
    ck_assert_int_eq (ht_store_quarantine (b->store, NULL, NULL), 0);
    ck_assert_int_eq (s_stat_of (a, parent, "applied"), 1);
    ck_assert_int_eq (s_stat_of (b, parent, "applied"), 1);
    s_net_destroy (&net);
}
END_TEST

START_TEST (batches_cut_short_arrive_completely_through_prefetch_and_more)
{
    s_net_t *net = s_net_new (1, 2);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_write (child, 7, NULL);
    s_write (parent, 7, NULL);
    //  No heartbeat: only the batches' `more` keeps the pulls going
    s_connect (net, S_CHILD_A);
    ck_assert_uint_eq (s_elders (parent), 14);
    ck_assert_uint_eq (s_elders (child), 14);
    s_assert_same (parent, child, "elder");
    ck_assert_uint_le (net->most_records, 2);
    ck_assert_uint_ge (net->batches_from [S_CHILD_A], 4);
    ck_assert_uint_ge (net->batches_from [S_PARENT], 4);
    ck_assert_uint_ge (net->batches_with_more, 6);
    ck_assert (s_prefetched (parent));
    ck_assert (s_prefetched (child));
    ck_assert_int_eq (s_stat_of (parent, child, "received"), (int64_t) s_offer (child, parent).records);
    ck_assert_int_eq (s_stat_of (child, parent, "received"), (int64_t) s_offer (parent, child).records);
    ck_assert_int_eq (s_stat_of (parent, child, "lag"), 0);
    ck_assert_int_eq (s_stat_of (child, parent, "lag"), 0);
    s_net_destroy (&net);
}
END_TEST

//  Both sides' records in flight at once, batches of two
static void
s_assert_each_applied_once (s_net_t *net, size_t elders_each)
{
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    ck_assert_uint_eq (s_elders (parent), 2 * elders_each);
    s_assert_same (parent, child, "elder");
    //  Every record was taken in exactly once; those that were news
    //  became current exactly once
    s_offer_t up = s_offer (child, parent), down = s_offer (parent, child);
    ck_assert_uint_eq (up.elders, elders_each);
    ck_assert_uint_eq (down.elders, elders_each);
    ck_assert_int_eq (s_stat_of (parent, child, "received"), (int64_t) up.records);
    ck_assert_int_eq (s_stat_of (parent, child, "applied"), (int64_t) elders_each);
    ck_assert_int_eq (s_stat_of (child, parent, "received"), (int64_t) down.records);
    ck_assert_int_eq (s_stat_of (child, parent, "applied"), (int64_t) elders_each);
    ck_assert_int_eq (ht_store_quarantine (parent->store, NULL, NULL), 0);
    ck_assert_int_eq (ht_store_quarantine (child->store, NULL, NULL), 0);
}

START_TEST (every_batch_delivered_twice_leaves_the_stores_identical_and_applies_each_record_once)
{
    s_net_t *net = s_net_new (1, 2);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_write (child, 7, NULL);
    s_write (parent, 7, NULL);
    net->double_batches = true;
    s_connect (net, S_CHILD_A);
    s_assert_each_applied_once (net, 7);
    //  The second copies were dropped
    ck_assert_int_ge (s_stat_of (parent, child, "stale_batches"), 4);
    ck_assert_int_ge (s_stat_of (child, parent, "stale_batches"), 4);
    //  And again with news on both sides while connected
    s_write (child, 3, NULL);
    s_write (parent, 3, NULL);
    s_run (net);
    s_assert_each_applied_once (net, 10);
    s_net_destroy (&net);
}
END_TEST

START_TEST (messages_delivered_out_of_order_leave_the_stores_identical_and_apply_each_record_once)
{
    s_net_t *net = s_net_new (1, 2);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_connect (net, S_CHILD_A);
    //  Writes on both sides while NOTIFYs, PULLs and BATCHes of earlier
    //  writes are in flight, all delivered in a shuffled order, and a copy
    //  of every BATCH sent again to arrive after later ones
    net->replay_batches = true;
    for (int round = 0; round < 5; round++) {
        s_write (child, 2, NULL);
        s_write (parent, 2, NULL);
        s_run_shuffled (net, 5);
    }
    s_run_shuffled (net, 0);
    s_assert_each_applied_once (net, 10);
    ck_assert_int_ge (s_stat_of (parent, child, "stale_batches"), 5);
    ck_assert_int_ge (s_stat_of (child, parent, "stale_batches"), 5);
    ck_assert_uint_eq (ht_repl_protocol_errors (parent->repl), 0);
    ck_assert_uint_eq (ht_repl_protocol_errors (child->repl), 0);
    s_net_destroy (&net);
}
END_TEST

//  Collects a store's log: encoded records in sequence order
static int
s_collect (void *arg, uint64_t seq, const uint8_t *data, size_t size, const char *origin)
{
    (void) seq; (void) origin;
    zlistx_add_end ((zlistx_t *) arg, zchunk_new (data, size));
    return 0;
}

//  Restore node's store into a fresh store (a new epoch): certificates
//  first in their order, then the other records newest first, so the
//  sequence numbers differ from the old store's
static void
s_restore (s_node_t *node)
{
    zlistx_t *log = zlistx_new ();
    zlistx_set_destructor (log, (zlistx_destructor_fn *) zchunk_destroy);
    ck_assert_int_ge (ht_store_changes (node->store, 0, 0, s_collect, log), 0);
    ht_repl_destroy (&node->repl);
    ht_fixture_store_destroy (&node->store, node->dir);
    node->store = ht_fixture_store_new (node->net->fixture, node->config.region, 0, node->dir);
    for (int pass = 0; pass < 2; pass++) {
        zchunk_t *chunk = (zchunk_t *) (pass? zlistx_last (log): zlistx_first (log));
        while (chunk) {
            ht_record_head_t head;
            ck_assert_int_eq (ht_record_peek (zchunk_data (chunk), zchunk_size (chunk), &head), 0);
            if (streq (head.kind, "cert") == (pass == 0)) {
                const uint8_t *data [1] = { zchunk_data (chunk) };
                size_t size = zchunk_size (chunk);
                int result = -999;
                ck_assert_int_eq (ht_store_apply_encoded (node->store, data, &size, 1, NULL,
                                                          NULL, &result), 0);
                ck_assert_int_eq (result, 0);
            }
            chunk = (zchunk_t *) (pass? zlistx_prev (log): zlistx_next (log));
        }
    }
    zlistx_destroy (&log);
    s_node_start (node);
}

START_TEST (after_the_parent_store_is_restored_the_child_pulls_again_from_zero)
{
    s_net_t *net = s_net_new (1, 2);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_write (child, 3, NULL);
    s_write (parent, 3, NULL);
    s_connect (net, S_CHILD_A);
    s_assert_same (parent, child, "elder");
    uint8_t old_epoch [HT_EPOCH_BYTES];
    uint64_t old_cursor = s_stored_cursor (child, parent, old_epoch);
    //  A write the child has not pulled yet (another process's, not
    //  noticed before the parent stopped)
    ht_record_t *late = s_elder_by (parent);
    ck_assert_int_eq (ht_store_apply (parent->store, &late, 1, NULL, NULL, NULL), 0);
    char late_key [HT_KEY_MAX_CHARS + 1];
    snprintf (late_key, sizeof late_key, "%s", ht_record_key (late));
    ht_record_destroy (&late);
    //  The parent stops, its store is restored, and it starts again: the
    //  late record now sits below the child's old cursor
    s_restore (parent);
    ck_assert_mem_ne (ht_store_epoch (parent->store), old_epoch, HT_EPOCH_BYTES);
    int64_t received = s_stat_of (child, parent, "received");
    //  The child's next PING reaches a parent that does not know it: it
    //  is told to say HELLO, and its owner makes the link again
    net->now += S_HEARTBEAT_MS;
    s_heartbeat (net);
    ck_assert_uint_eq (net->hello_first, 1);
    ck_assert_uint_eq (child->reconnects, 1);
    ck_assert_str_eq (child->reconnect_why, "hello_first");
    ck_assert (!ht_peer_is_up (ht_repl_parent (child->repl)));
    //  HELLO, then WELCOME naming the new epoch: the child's PULL asks
    //  for the new epoch from zero
    ht_repl_parent_connecting (child->repl, net->now);
    s_step_first (net);
    s_flight_t *welcome = (s_flight_t *) zlistx_first (net->queue);
    ck_assert (s_is (welcome, HT_MSG_WELCOME));
    s_step_first (net);
    s_flight_t *pull = (s_flight_t *) zlistx_last (net->queue);
    ck_assert (pull->from == child && s_is (pull, HT_MSG_PULL));
    ht_msg_t msg;
    s_decode_copy (pull, &msg);
    ck_assert_mem_eq (msg.epoch, ht_store_epoch (parent->store), HT_EPOCH_BYTES);
    ck_assert_uint_eq (msg.cursor, 0);
    s_run (net);
    ck_assert (ht_peer_is_up (ht_repl_parent (child->repl)));
    ck_assert (s_holds (child, late_key));
    s_assert_same (parent, child, "elder");
    //  Pulled again from zero: everything the restored store offers
    uint8_t epoch [HT_EPOCH_BYTES];
    uint64_t cursor = s_stored_cursor (child, parent, epoch);
    ck_assert_mem_eq (epoch, ht_store_epoch (parent->store), HT_EPOCH_BYTES);
    ck_assert_uint_eq (cursor, ht_store_last_seq (parent->store));
    ck_assert_uint_gt (old_cursor, 0);
    ck_assert_int_eq (s_stat_of (child, parent, "received") - received,
                      (int64_t) s_offer (parent, child).records);
    //  The restored parent, knowing no cursor for the child, pulled it
    //  from zero too
    cursor = s_stored_cursor (parent, child, epoch);
    ck_assert_mem_eq (epoch, ht_store_epoch (child->store), HT_EPOCH_BYTES);
    ck_assert_uint_eq (cursor, ht_store_last_seq (child->store));
    //  A PULL that still names the old epoch is served from zero: the
    //  old sequence numbers mean nothing in the new log
    ht_msg_init (&msg, HT_MSG_PULL);
    memcpy (msg.epoch, old_epoch, HT_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.cursor = old_cursor;
    msg.max = 5000;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    zlistx_add_end (net->queue, s_flight_new (child, NULL, &zmsg));
    s_step_first (net);
    s_flight_t *batch = (s_flight_t *) zlistx_first (net->queue);
    ck_assert (batch && s_is (batch, HT_MSG_BATCH));
    s_decode_copy (batch, &msg);
    ck_assert (msg.has_from);
    ck_assert_uint_eq (msg.from, 0);
    ck_assert_uint_eq (zmsg_size (batch->zmsg) - 2, (size_t) parent->config.batch_records);
    ck_assert (msg.more);
    s_run (net);
    s_assert_same (parent, child, "elder");
    s_net_destroy (&net);
}
END_TEST

//  Stop node's engine and close its store (its directory stays)
static void
s_node_stop (s_node_t *node)
{
    ht_repl_destroy (&node->repl);
    ht_store_destroy (&node->store);
}

//  Open node's store again and start a fresh engine over it
static void
s_node_reopen (s_node_t *node)
{
    int error = 0;
    node->store = ht_store_open (node->dir, 0, &error);
    ck_assert_msg (node->store, "reopen: %s", ht_strerror (error));
    s_node_start (node);
}

//  Copy every file of directory from into directory to (made if missing)
static void
s_dir_copy (const char *from, const char *to)
{
    char *command = zsys_sprintf ("rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    ck_assert_int_eq (system (command), 0);
    zstr_free (&command);
}

START_TEST (a_child_restored_from_a_backup_gets_back_what_it_wrote_after_it)
{
    s_net_t *net = s_net_new (1, 2);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    char before [3][HT_KEY_MAX_CHARS + 1], after [4][HT_KEY_MAX_CHARS + 1];
    s_write (child, 3, before);
    s_connect (net, S_CHILD_A);
    char backup [HT_FIXTURE_DIR_CHARS + 16];
    snprintf (backup, sizeof backup, "%s.bak", child->dir);
    json_t *manifest = NULL;
    ck_assert_int_eq (ht_store_backup (child->store, backup, &manifest), 0);
    json_decref (manifest);
    //  Written at the child after the backup, and replicated: the parent
    //  holds them as received from the child
    s_write (child, 4, after);
    s_run (net);
    for (int index = 0; index < 4; index++)
        ck_assert (s_holds (parent, after [index]));
    uint8_t old_epoch [HT_EPOCH_BYTES];
    memcpy (old_epoch, ht_store_epoch (child->store), HT_EPOCH_BYTES);
    //  The child is restored from its backup and starts again
    s_node_stop (child);
    ck_assert_int_eq (ht_store_restore (backup, child->dir, &manifest, NULL, 0), 0);
    json_decref (manifest);
    s_node_reopen (child);
    ck_assert_mem_ne (ht_store_epoch (child->store), old_epoch, HT_EPOCH_BYTES);
    for (int index = 0; index < 4; index++)
        ck_assert (!s_holds (child, after [index]));
    ck_assert (s_stat_of (child, parent, "resyncing"));
    //  Its PULL asks for everything, what it sent included
    ht_repl_parent_connecting (child->repl, net->now);
    s_step_first (net);
    s_step_first (net);
    s_flight_t *pull = (s_flight_t *) zlistx_last (net->queue);
    ck_assert (pull->from == child && s_is (pull, HT_MSG_PULL));
    ht_msg_t msg;
    s_decode_copy (pull, &msg);
    ck_assert_uint_eq (msg.cursor, 0);
    ck_assert_uint_eq (msg.full, ht_store_last_seq (parent->store));
    s_run (net);
    for (int index = 0; index < 4; index++)
        ck_assert_msg (s_holds (child, after [index]), "record %d written after the backup "
                       "did not come back", index);
    s_assert_same (parent, child, "elder");
    //  The pass is over and stored as over; the parent read the child's
    //  new epoch from zero
    ck_assert (!s_stat_of (child, parent, "resyncing"));
    uint64_t full = 1;
    ck_assert_int_eq (ht_store_peer_get (child->store, parent->config.region, NULL, NULL, &full, NULL), 0);
    ck_assert_uint_eq (full, 0);
    uint8_t epoch [HT_EPOCH_BYTES];
    s_stored_cursor (parent, child, epoch);
    ck_assert_mem_eq (epoch, ht_store_epoch (child->store), HT_EPOCH_BYTES);
    unlink (backup);
    s_net_destroy (&net);
}
END_TEST

static void s_long_poll (s_net_t *net);

//  A child's store rolled back, found by the parent's pull; with long
//  poll the child's PULL from its old cursor is held at the parent, and
//  the next heartbeat pulls from zero instead
static void
s_rolled_back_found (bool long_poll)
{
    s_net_t *net = s_net_new (1, 2);
    if (long_poll)
        s_long_poll (net);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    char before [2][HT_KEY_MAX_CHARS + 1], after [3][HT_KEY_MAX_CHARS + 1];
    s_write (child, 2, before);
    s_connect (net, S_CHILD_A);
    //  A cold copy of the child's whole directory, high-water mark included
    char copy [HT_FIXTURE_DIR_CHARS + 16];
    snprintf (copy, sizeof copy, "%s.copy", child->dir);
    s_node_stop (child);
    s_dir_copy (child->dir, copy);
    s_node_reopen (child);
    uint8_t old_epoch [HT_EPOCH_BYTES];
    memcpy (old_epoch, ht_store_epoch (child->store), HT_EPOCH_BYTES);
    s_write (child, 3, after);
    s_connect (net, S_CHILD_A);
    for (int index = 0; index < 3; index++)
        ck_assert (s_holds (parent, after [index]));
    //  The copy is put back: the store cannot tell by itself
    s_node_stop (child);
    s_dir_copy (copy, child->dir);
    s_node_reopen (child);
    ck_assert_mem_eq (ht_store_epoch (child->store), old_epoch, HT_EPOCH_BYTES);
    //  The parent pulls it from past its log: it takes a new epoch
    ht_repl_parent_connecting (child->repl, net->now);
    s_run (net);
    if (long_poll) {
        net->now += S_HEARTBEAT_MS;
        s_heartbeat (net);
    }
    ck_assert_uint_eq (ht_repl_epoch_changes (child->repl), 1);
    ck_assert_mem_ne (ht_store_epoch (child->store), old_epoch, HT_EPOCH_BYTES);
    //  The parent learnt the new epoch from a batch, and counts it
    ck_assert_int_eq (s_stat_of (parent, child, "epoch_changes"), 1);
    ck_assert_uint_eq (ht_store_counter (child->store, "epoch_changes"), 1);
    for (int index = 0; index < 3; index++)
        ck_assert_msg (s_holds (child, after [index]), "record %d did not come back", index);
    s_assert_same (parent, child, "elder");
    uint8_t epoch [HT_EPOCH_BYTES];
    s_stored_cursor (parent, child, epoch);
    ck_assert_mem_eq (epoch, ht_store_epoch (child->store), HT_EPOCH_BYTES);
    char *command = zsys_sprintf ("rm -rf '%s'", copy);
    ck_assert_int_eq (system (command), 0);
    zstr_free (&command);
    s_net_destroy (&net);
}

START_TEST (a_store_rolled_back_mark_and_all_is_found_by_its_peers_pull)
{
    s_rolled_back_found (false);
}
END_TEST

START_TEST (a_store_rolled_back_is_found_and_read_again_with_long_poll)
{
    s_rolled_back_found (true);
}
END_TEST

START_TEST (a_cursor_past_the_log_without_the_nodes_tag_takes_no_new_epoch)
{
    s_net_t *net = s_net_new (1, 5000);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_write (child, 2, NULL);
    s_connect (net, S_CHILD_A);
    uint8_t epoch [HT_EPOCH_BYTES];
    memcpy (epoch, ht_store_epoch (child->store), HT_EPOCH_BYTES);
    uint64_t errors = ht_repl_protocol_errors (child->repl);
    //  A certified parent names a cursor far past the child's log, with
    //  no tag, then with a made-up one: no new epoch, served from zero
    for (int attempt = 0; attempt < 2; attempt++) {
        ht_msg_t msg;
        ht_msg_init (&msg, HT_MSG_PULL);
        memcpy (msg.epoch, epoch, HT_EPOCH_BYTES);
        msg.has_epoch = true;
        msg.cursor = ht_store_last_seq (child->store) + 1000;
        msg.max = 5000;
        if (attempt) {
            memset (msg.tag, 0x77, HT_MSG_TAG_BYTES);
            msg.has_tag = true;
        }
        zmsg_t *zmsg = ht_msg_encode (&msg);
        zlistx_add_end (net->queue, s_flight_new (parent, child->routing_id, &zmsg));
        s_step_first (net);
        s_flight_t *batch = (s_flight_t *) zlistx_first (net->queue);
        ck_assert (batch && batch->from == child && s_is (batch, HT_MSG_BATCH));
        s_decode_copy (batch, &msg);
        ck_assert_uint_eq (msg.from, 0);
        ck_assert_mem_eq (msg.epoch, epoch, HT_EPOCH_BYTES);
        s_run (net);
    }
    ck_assert_mem_eq (ht_store_epoch (child->store), epoch, HT_EPOCH_BYTES);
    ck_assert_uint_eq (ht_repl_epoch_changes (child->repl), 0);
    ck_assert_uint_eq (ht_repl_protocol_errors (child->repl), errors + 2);
    s_assert_same (parent, child, "elder");
    s_net_destroy (&net);
}
END_TEST

//  How many PULLs node has sent
static size_t
s_pulls_sent (s_node_t *node)
{
    size_t pulls = 0;
    for (char *event = (char *) zlistx_first (node->events); event;
         event = (char *) zlistx_next (node->events))
        pulls += streq (event, "send PULL");
    return pulls;
}

//  The child pulls again once its delay is over, and everything in
//  flight is delivered; returns the delay it waited
static int64_t
s_retry_when_due (s_net_t *net, s_node_t *child)
{
    int64_t delay = ht_repl_retry_in (child->repl, net->now);
    ck_assert_int_ge (delay, 0);
    net->now += delay;
    ht_repl_retry (child->repl, net->now);
    s_run (net);
    return delay;
}

START_TEST (a_batch_the_store_cannot_take_is_asked_for_again_with_backoff_then_stored)
{
    s_net_t *net = s_net_new (1, 50);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_connect (net, S_CHILD_A);
    //  The child's store is nearly full: its cap a little past what it
    //  uses, far less than the parent's elders (shared down to it) need
    ck_assert_int_eq (ht_store_set_map_limit (child->store,
                                              ht_store_used_bytes (child->store) + 8 * 1024), 0);
    s_write (parent, 150, NULL);
    size_t pulls_before = s_pulls_sent (child);
    s_run (net);                    //  no PULL loop: the queue runs dry
    ht_peer_t *parent_at_child = ht_repl_parent (child->repl);
    ck_assert_uint_eq (ht_peer_apply_failures (parent_at_child), 1);
    ck_assert_uint_lt (s_elders (child), 150);
    size_t stalled = s_elders (child);
    size_t pulls = s_pulls_sent (child);
    ck_assert_uint_le (pulls - pulls_before, 2);   //  the one answered, no prefetch after it
    ck_assert_int_eq (s_stat_of (child, parent, "apply_failures"), 1);

    //  Nothing pulls before the delay is over, a heartbeat or news included
    int64_t delay = ht_repl_retry_in (child->repl, net->now);
    ck_assert_int_gt (delay, 0);
    ck_assert_int_le (delay, HT_REPL_RETRY_MIN_MS);
    ck_assert_int_gt (delay, 5);
    net->now += delay - 5;
    ht_repl_tick (child->repl, net->now);
    ht_repl_retry (child->repl, net->now);
    ck_assert_uint_eq (s_pulls_sent (child), pulls);
    s_write (parent, 1, NULL);      //  its NOTIFY arrives a millisecond later
    s_run (net);
    ck_assert_uint_eq (s_pulls_sent (child), pulls);

    //  Each attempt that fails doubles the delay, up to the cap
    int64_t waited = s_retry_when_due (net, child);
    ck_assert_int_le (waited, 5);
    ck_assert_uint_eq (ht_peer_apply_failures (parent_at_child), 2);
    int64_t previous = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        waited = s_retry_when_due (net, child);
        ck_assert_int_ge (waited, previous);
        ck_assert_int_le (waited, HT_REPL_RETRY_MAX_MS);
        previous = waited;
    }
    ck_assert_int_eq (previous, HT_REPL_RETRY_MAX_MS);
    ck_assert_uint_eq (ht_peer_apply_failures (parent_at_child), 12);
    ck_assert_uint_eq (s_elders (child), stalled);
    ck_assert_uint_eq (child->reconnects, 0);

    //  Room again: the next attempt stores it, and the rest follows at once
    ck_assert_int_eq (ht_store_set_map_limit (child->store, 0), 0);
    s_retry_when_due (net, child);
    ck_assert_uint_eq (ht_peer_apply_failures (parent_at_child), 0);
    ck_assert_int_eq (ht_repl_retry_in (child->repl, net->now), -1);
    s_assert_same (parent, child, "elder");
    ck_assert_int_eq (s_stat_of (child, parent, "lag"), 0);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_batch_lost_on_the_way_is_pulled_again_after_the_timeout)
{
    s_net_t *net = s_net_new (1, 2);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_write (parent, 7, NULL);
    //  The parent's fourth BATCH (certificates come first) never arrives
    net->drop_from = parent;
    net->drop_nth = 4;
    s_connect (net, S_CHILD_A);
    ck_assert_uint_eq (net->batches_from [S_PARENT], 4);
    uint64_t stalled = s_elders (child);
    ck_assert_uint_lt (stalled, 7);
    ck_assert (ht_peer_pulling (ht_repl_parent (child->repl)));
    int64_t lost_at = net->now;
    //  Heartbeats keep both sides alive; the PULL is only forgotten once
    //  it is older than the timeout
    int64_t timeout = child->config.peer_timeout_ms;
    while (net->now + S_HEARTBEAT_MS - lost_at < timeout) {
        net->now += S_HEARTBEAT_MS;
        s_heartbeat (net);
        ck_assert_uint_eq (s_elders (child), stalled);
    }
    net->now = lost_at + timeout + 1;
    s_heartbeat (net);
    ck_assert_uint_eq (s_elders (child), 7);
    s_assert_same (parent, child, "elder");
    //  Never taken for dead
    ck_assert_uint_eq (child->reconnects, 0);
    ck_assert (ht_peer_is_up (ht_repl_parent (child->repl)));
    ck_assert (s_stat_of (parent, child, "connected"));
    ck_assert_int_eq (s_stat_of (child, parent, "received"),
                      (int64_t) s_offer (parent, child).records);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_batch_in_flight_across_a_reconnect_is_applied_once_and_replication_keeps_its_pace)
{
    s_net_t *net = s_net_new (1, 2);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_connect (net, S_CHILD_A);
    int64_t start = net->now;
    int64_t up_received = s_stat_of (parent, child, "received");
    int64_t down_received = s_stat_of (child, parent, "received");
    //  News both ways; each side pulls, and each answering BATCH is
    //  held in flight
    char up_keys [2][HT_KEY_MAX_CHARS + 1];
    s_write (child, 1, up_keys);
    s_write (parent, 5, NULL);
    net->hold_batches = true;
    s_run (net);
    ck_assert_uint_eq (zlistx_size (net->held), 2);
    //  The child's owner makes the link again (a second HELLO), and the
    //  child writes meanwhile: no NOTIFY goes out while the link is down
    ht_repl_parent_lost (child->repl);
    s_write (child, 1, up_keys + 1);
    ht_repl_parent_connecting (child->repl, net->now);
    s_run (net);
    //  The new connection's PULLs were answered too, and held
    ck_assert_uint_eq (zlistx_size (net->held), 4);
    //  Now the old connection's batches arrive, then the new ones
    s_release_held (net);
    s_run (net);
    ck_assert (s_holds (parent, up_keys [0]));
    ck_assert (s_holds (parent, up_keys [1]));
    ck_assert_uint_eq (s_elders (child), 7);
    s_assert_same (parent, child, "elder");
    //  Nothing was taken in twice; the spare batches were dropped, and
    //  none of them counted as an unrequested message
    ck_assert_int_eq (s_stat_of (parent, child, "received") - up_received, 2);
    ck_assert_int_eq (s_stat_of (parent, child, "applied"), 2);
    ck_assert_int_eq (s_stat_of (child, parent, "received") - down_received, 5);
    ck_assert_int_eq (s_stat_of (child, parent, "applied"), 5);
    ck_assert_int_ge (s_stat_of (parent, child, "stale_batches"), 1);
    ck_assert_int_ge (s_stat_of (child, parent, "stale_batches"), 1);
    ck_assert_uint_eq (ht_repl_protocol_errors (parent->repl), 0);
    ck_assert_uint_eq (ht_repl_protocol_errors (child->repl), 0);
    //  And it flows on at once: more news both ways arrives with no
    //  heartbeat and no PULL timing out
    s_write (child, 3, NULL);
    s_write (parent, 3, NULL);
    s_run (net);
    ck_assert_uint_eq (s_elders (parent), 13);
    s_assert_same (parent, child, "elder");
    ck_assert_int_lt (net->now - start, child->config.peer_timeout_ms);
    ck_assert_uint_eq (child->reconnects, 0);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_parent_with_batches_waiting_answers_pings_keeps_its_children_and_applies_them_in_order)
{
    s_net_t *net = s_net_new (2, 2);
    s_node_t *parent = s_parent (net);
    s_node_t *a = &net->nodes [S_CHILD_A], *b = &net->nodes [S_CHILD_B];
    s_connect (net, S_CHILD_A);
    s_connect (net, S_CHILD_B);
    net->parent_defers = true;
    int64_t received_a = s_stat_of (parent, a, "received");
    int64_t received_b = s_stat_of (parent, b, "received");
    s_write (a, 5, NULL);
    s_write (b, 5, NULL);
    s_run (net);
    //  Each child answered the parent's PULL; the answers wait, unapplied
    ck_assert_uint_eq (ht_repl_waiting (parent->repl), 2);
    ck_assert_uint_eq (s_elders (parent), 0);
    //  Longer than the peer timeout passes, heartbeat by heartbeat, with
    //  the parent applying nothing: PINGs are answered both ways, nobody
    //  is dropped, and no PULL is taken for lost and sent again
    int64_t until = net->now + 2 * parent->config.peer_timeout_ms;
    while (net->now < until) {
        net->now += parent->config.heartbeat_ms;
        s_heartbeat (net);
    }
    ck_assert_uint_eq (ht_repl_waiting (parent->repl), 2);
    ck_assert_uint_eq (a->reconnects + b->reconnects, 0);
    ck_assert_int_eq (s_stat_of (parent, a, "connected"), 1);
    ck_assert_int_eq (s_stat_of (parent, b, "connected"), 1);
    //  Now it works through them, one batch at a time, the next PULLs
    //  going out as each is applied
    size_t turns = 0;
    while (ht_repl_waiting (parent->repl) || zlistx_size (net->queue)) {
        ht_repl_work (parent->repl, net->now);
        s_run (net);
        ck_assert_uint_lt (++turns, 100);
    }
    ck_assert_uint_eq (s_elders (parent), 10);
    ck_assert_int_eq (s_stat_of (parent, a, "received") - received_a, 5);
    ck_assert_int_eq (s_stat_of (parent, b, "received") - received_b, 5);
    ck_assert_int_eq (s_stat_of (parent, a, "stale_batches"), 0);
    ck_assert_int_eq (s_stat_of (parent, b, "stale_batches"), 0);
    ck_assert_uint_eq (ht_repl_protocol_errors (parent->repl), 0);
    s_net_destroy (&net);
}
END_TEST

//  Events of node that are exactly text
static size_t s_events (s_node_t *node, const char *text);

//  Batches of different children waiting at once are stored in one turn
//  (one transaction: group commit) while together they hold no more
//  than a batch's records; each child's cursor moves as if alone, and
//  what would overflow a batch waits for the next turn
START_TEST (waiting_batches_of_different_children_are_stored_together_up_to_a_batch)
{
    s_net_t *net = s_net_new (2, 10);
    s_node_t *parent = s_parent (net);
    s_node_t *a = &net->nodes [S_CHILD_A], *b = &net->nodes [S_CHILD_B];
    s_connect (net, S_CHILD_A);
    s_connect (net, S_CHILD_B);
    net->parent_defers = true;
    s_write (a, 4, NULL);
    s_write (b, 5, NULL);
    s_run (net);
    ck_assert_uint_eq (ht_repl_waiting (parent->repl), 2);
    size_t notified = s_events (parent, "send NOTIFY");
    ht_repl_work (parent->repl, net->now);
    ck_assert_uint_eq (ht_repl_waiting (parent->repl), 0);
    ck_assert_uint_eq (s_elders (parent), 9);
    //  Each sender hears of the other's records, as when they come apart
    ck_assert_uint_eq (s_events (parent, "send NOTIFY") - notified, 2);
    uint64_t cursor_a = 0, cursor_b = 0;
    ck_assert_int_eq (ht_store_peer_get (parent->store, a->config.region, NULL, &cursor_a,
                                         NULL, NULL), 0);
    ck_assert_int_eq (ht_store_peer_get (parent->store, b->config.region, NULL, &cursor_b,
                                         NULL, NULL), 0);
    ck_assert_uint_eq (cursor_a, ht_store_last_seq (a->store));
    ck_assert_uint_eq (cursor_b, ht_store_last_seq (b->store));
    //  6 and 6: more than 10 together, so two turns
    s_run (net);
    s_write (a, 6, NULL);
    s_write (b, 6, NULL);
    s_run (net);
    ck_assert_uint_eq (ht_repl_waiting (parent->repl), 2);
    ht_repl_work (parent->repl, net->now);
    ck_assert_uint_eq (ht_repl_waiting (parent->repl), 1);
    ht_repl_work (parent->repl, net->now);
    ck_assert_uint_eq (ht_repl_waiting (parent->repl), 0);
    ck_assert_uint_eq (s_elders (parent), 21);
    ck_assert_uint_eq (ht_repl_protocol_errors (parent->repl), 0);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_revoked_child_is_dropped_at_the_next_tick_and_its_hello_refused)
{
    s_net_t *net = s_net_new (1, 5000);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_connect (net, S_CHILD_A);
    s_write (child, 1, NULL);
    s_run (net);
    ck_assert_uint_eq (s_elders (parent), 1);
    //  The township revokes the community's key
    ht_fixture_t *fixture = net->fixture;
    int error = 0;
    const char *reason = NULL;
    ht_record_t *revocation = ht_revocation_issue (
        ht_keypair_public (fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]), HT_FIXTURE_COMMUNITY_A,
        HT_FIXTURE_T0_MS + 10 * HT_FIXTURE_DAY_MS, "test", fixture->keys [HT_FIXTURE_TOWNSHIP_KEY],
        ht_fixture_hlc (20, 0), &error, &reason);
    ck_assert_msg (revocation, "revocation: %s", reason? reason: "?");
    int result = -999;
    ck_assert_int_eq (ht_store_apply (parent->store, &revocation, 1, NULL, NULL, &result), 0);
    ck_assert_int_eq (result, 0);
    ht_record_destroy (&revocation);
    //  The next heartbeat drops it with an ERROR that says why
    net->now += S_HEARTBEAT_MS;
    ht_repl_tick (parent->repl, net->now);
    ck_assert (!s_stat_of (parent, child, "connected"));
    s_flight_t *flight = (s_flight_t *) zlistx_first (net->queue);
    ck_assert_ptr_nonnull (flight);
    ck_assert (s_is (flight, HT_MSG_ERROR));
    ck_assert (zframe_eq (flight->to, child->routing_id));
    ht_msg_t msg;
    s_decode_copy (flight, &msg);
    ck_assert_str_eq (msg.error, "revoked");
    ck_assert_uint_eq (zlistx_size (net->queue), 1);
    s_run (net);
    //  The child hears it and its owner makes the link again
    ck_assert_uint_eq (child->reconnects, 1);
    ck_assert_str_eq (child->reconnect_why, "revoked");
    //  Its new HELLO is refused, and what it writes goes nowhere
    ht_repl_parent_connecting (child->repl, net->now);
    s_write (child, 1, NULL);
    s_run (net);
    ck_assert_uint_eq (child->reconnects, 2);
    ck_assert_str_eq (child->reconnect_why, "revoked");
    ck_assert (!s_stat_of (parent, child, "connected"));
    ck_assert (!ht_peer_is_up (ht_repl_parent (child->repl)));
    ck_assert_uint_eq (ht_repl_protocol_errors (parent->repl), 1);
    net->now += S_HEARTBEAT_MS;
    s_heartbeat (net);
    ck_assert_uint_eq (s_elders (parent), 1);
    s_net_destroy (&net);
}
END_TEST


//  --------------------------------------------------------------------------
//  Long poll: a PULL that finds nothing is held at the server

#define S_WAIT_MS 2000

//  Every node long-polls, holding PULLs up to S_WAIT_MS
static void
s_long_poll (s_net_t *net)
{
    for (size_t index = 0; index < net->node_count; index++)
        net->nodes [index].config.pull_wait_ms = S_WAIT_MS;
}

//  Messages of command in flight from node
static size_t
s_in_flight (s_net_t *net, s_node_t *from, const char *command)
{
    size_t count = 0;
    for (s_flight_t *flight = (s_flight_t *) zlistx_first (net->queue); flight;
         flight = (s_flight_t *) zlistx_next (net->queue))
        count += flight->from == from && s_is (flight, command);
    return count;
}

//  Events of node that are exactly text
static size_t
s_events (s_node_t *node, const char *text)
{
    size_t count = 0;
    for (char *event = (char *) zlistx_first (node->events); event;
         event = (char *) zlistx_next (node->events))
        count += streq (event, text);
    return count;
}

START_TEST (a_held_pull_is_answered_by_a_new_write_with_no_notify_or_pull_round)
{
    s_net_t *net = s_net_new (1, 5000);
    s_long_poll (net);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_connect (net, S_CHILD_A);
    //  Caught up both ways: nothing in flight, each side's PULL held
    ck_assert_uint_eq (zlistx_size (net->queue), 0);
    ck_assert (ht_peer_pulling (ht_repl_parent (child->repl)));
    zlistx_purge (parent->events);
    zlistx_purge (child->events);
    //  A township write goes to the community as the answer to its PULL:
    //  one BATCH, no NOTIFY before it
    char key [1][HT_KEY_MAX_CHARS + 1];
    s_write (parent, 1, key);
    ck_assert_uint_eq (zlistx_size (net->queue), 1);
    ck_assert_uint_eq (s_in_flight (net, parent, HT_MSG_BATCH), 1);
    ck_assert_uint_eq (s_events (parent, "send NOTIFY"), 0);
    s_step_first (net);
    ck_assert (s_holds (child, key [0]));
    //  The child has its next PULL out at once, and it is held in turn
    ck_assert_uint_eq (s_in_flight (net, child, HT_MSG_PULL), 1);
    s_run (net);
    ck_assert_uint_eq (zlistx_size (net->queue), 0);
    ck_assert_uint_eq (s_events (child, "send NOTIFY"), 0);
    //  And upwards: the parent's PULL held at the child answers its write
    zlistx_purge (child->events);
    char up [1][HT_KEY_MAX_CHARS + 1];
    s_write (child, 1, up);
    ck_assert_uint_eq (zlistx_size (net->queue), 1);
    ck_assert_uint_eq (s_in_flight (net, child, HT_MSG_BATCH), 1);
    s_step_first (net);
    ck_assert (s_holds (parent, up [0]));
    s_run (net);
    //  A record it does not hold leaves the PULL held: community B's
    //  elder never goes to A, and the parent says nothing to A of it
    s_assert_same (parent, child, "elder");
    ck_assert_uint_eq (ht_repl_protocol_errors (parent->repl), 0);
    ck_assert_uint_eq (ht_repl_protocol_errors (child->repl), 0);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_held_pull_is_answered_empty_before_the_pullers_timeout)
{
    s_net_t *net = s_net_new (1, 5000);
    s_long_poll (net);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_connect (net, S_CHILD_A);
    int64_t held_at = net->now;
    uint64_t cursor = ht_peer_cursor (ht_repl_parent (child->repl));
    zlistx_purge (child->events);
    //  Half a heartbeat on: still held (only the PING goes out)
    net->now = held_at + S_HEARTBEAT_MS / 2;
    ht_repl_tick (parent->repl, net->now);
    ck_assert_uint_eq (s_in_flight (net, parent, HT_MSG_BATCH), 0);
    ck_assert_uint_eq (s_in_flight (net, parent, HT_MSG_PING), 1);
    s_run (net);
    //  The next heartbeat would be past the wait: answered now, empty,
    //  from the child's cursor, long before its peer timeout
    net->now = held_at + S_WAIT_MS - S_HEARTBEAT_MS / 2;
    ht_repl_tick (parent->repl, net->now);
    ck_assert_uint_eq (s_in_flight (net, parent, HT_MSG_BATCH), 1);
    ck_assert_int_lt (net->now - held_at, child->config.peer_timeout_ms);
    s_flight_t *flight = (s_flight_t *) zlistx_first (net->queue);
    while (!s_is (flight, HT_MSG_BATCH))
        flight = (s_flight_t *) zlistx_next (net->queue);
    ht_msg_t batch;
    s_decode_copy (flight, &batch);
    ck_assert_uint_eq (zmsg_size (flight->zmsg), 2);    //  command and body: no records
    ck_assert (!batch.more);
    ck_assert_uint_eq (batch.from, cursor);
    ck_assert_uint_eq (batch.wait, S_WAIT_MS);
    //  The child never gave up on that PULL nor sent another meanwhile;
    //  the empty answer brings its next one
    ck_assert_uint_eq (s_events (child, "send PULL"), 0);
    s_run (net);
    ck_assert_uint_eq (s_events (child, "send PULL"), 1);
    ck_assert_uint_eq (zlistx_size (net->queue), 0);
    ck_assert_uint_eq (ht_repl_protocol_errors (parent->repl), 0);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_reconnecting_child_replaces_its_held_pull)
{
    s_net_t *net = s_net_new (1, 5000);
    s_long_poll (net);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    s_connect (net, S_CHILD_A);
    ck_assert_uint_eq (zlistx_size (net->queue), 0);
    //  The child makes its link again: HELLO drops the PULL held for the
    //  old link, and the new link's PULL is held instead
    s_connect (net, S_CHILD_A);
    ck_assert_uint_eq (zlistx_size (net->queue), 0);
    //  So a write is answered once, not once per PULL it ever sent
    char key [1][HT_KEY_MAX_CHARS + 1];
    s_write (parent, 1, key);
    ck_assert_uint_eq (s_in_flight (net, parent, HT_MSG_BATCH), 1);
    ck_assert_uint_eq (zlistx_size (net->queue), 1);
    s_run (net);
    ck_assert (s_holds (child, key [0]));
    //  A second PULL of the same child replaces the one held, too
    ht_msg_t pull;
    ht_msg_init (&pull, HT_MSG_PULL);
    memcpy (pull.epoch, ht_store_epoch (parent->store), HT_MSG_EPOCH_BYTES);
    pull.has_epoch = true;
    pull.cursor = ht_store_last_seq (parent->store);
    pull.max = 10;
    pull.wait = S_WAIT_MS;
    ht_peer_t *peer = ht_repl_child (parent->repl, child->routing_id);
    ht_repl_on_message (parent->repl, peer, &pull, NULL, net->now);
    ck_assert_uint_eq (zlistx_size (net->queue), 0);
    s_write (parent, 1, key);
    ck_assert_uint_eq (s_in_flight (net, parent, HT_MSG_BATCH), 1);
    s_run (net);
    ck_assert (s_holds (child, key [0]));
    s_assert_same (parent, child, "elder");
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_puller_without_long_poll_still_gets_notify_and_pulls)
{
    s_net_t *net = s_net_new (1, 5000);
    s_long_poll (net);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    child->config.pull_wait_ms = 0;
    s_connect (net, S_CHILD_A);
    ck_assert (!ht_peer_pulling (ht_repl_parent (child->repl)));
    zlistx_purge (parent->events);
    char key [1][HT_KEY_MAX_CHARS + 1];
    s_write (parent, 1, key);
    //  Nothing held for it: the parent tells it, and it pulls
    ck_assert_uint_eq (s_in_flight (net, parent, HT_MSG_NOTIFY), 1);
    s_run (net);
    ck_assert (s_holds (child, key [0]));
    s_net_destroy (&net);
}
END_TEST

//  --------------------------------------------------------------------------
//  Clocks

//  The clock status a node shows
static json_t *
s_clock_status (s_node_t *node)
{
    return ht_repl_clock_status (node->repl);
}

START_TEST (each_side_reads_the_others_clock_corrected_by_half_the_round_trip)
{
    s_net_t *net = s_net_new (1, 5000);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    child->clock_offset_ms = 600000;
    s_connect (net, S_CHILD_A);
    for (int beat = 0; beat < 3; beat++)
        s_heartbeat (net);
    //  Each message takes 1 ms here: a round trip of 2, read half-way
    int64_t at_parent = s_stat_of (parent, child, "clock_offset_ms");
    ck_assert_msg (at_parent >= 600000 - 2 && at_parent <= 600000 + 2, "%lld",
                   (long long) at_parent);
    ck_assert_int_le (s_stat_of (parent, child, "clock_rtt_ms"), 4);
    json_t *peers = ht_repl_status (child->repl, net->now);
    int64_t at_child = json_integer_value (json_object_get (json_array_get (peers, 0),
                                                            "clock_offset_ms"));
    json_decref (peers);
    ck_assert_msg (at_child <= -600000 + 2 && at_child >= -600000 - 2, "%lld",
                   (long long) at_child);
    //  The child judges its own clock by its parent's: ahead, so what is
    //  written there dated by it is refused (the lead ingest corrects for)
    ht_repl_clock_t clock = ht_repl_clock (child->repl);
    ck_assert (clock.known && clock.skewed && !clock.paused);
    ck_assert_int_ge (ht_repl_clock_lead (child->repl), 600000 - 2);
    json_t *status = s_clock_status (child);
    ck_assert (json_is_true (json_object_get (status, "skewed")));
    ck_assert_int_ge (json_integer_value (json_object_get (status, "skew_ms")), 600000 - 2);
    json_decref (status);
    //  The parent (the root here) has one child: it cannot tell whose
    //  clock is wrong, so it judges its own clock by nobody
    clock = ht_repl_clock (parent->repl);
    ck_assert (!clock.known && !clock.skewed);
    ck_assert_int_eq (ht_repl_clock_lead (parent->repl), 0);
    status = s_clock_status (parent);
    ck_assert (json_is_null (json_object_get (status, "skew_ms")));
    json_decref (status);
    //  Set right while connected: the readings after it say so, once the
    //  older ones have left the filter
    child->clock_offset_ms = 0;
    for (int beat = 0; beat < HT_PEER_CLOCK_SAMPLES; beat++)
        s_heartbeat (net);
    ck_assert (!ht_repl_clock (child->repl).skewed);
    ck_assert_int_eq (ht_repl_clock_lead (child->repl), 0);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_node_far_behind_its_parents_clock_pulls_nothing_until_it_is_set_right)
{
    s_net_t *net = s_net_new (1, 5000);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    child->clock_offset_ms = -600000;
    char keys [3][HT_KEY_MAX_CHARS + 1];
    s_write (parent, 3, keys);
    char up [1][HT_KEY_MAX_CHARS + 1];
    s_write (child, 1, up);
    s_connect (net, S_CHILD_A);
    for (int beat = 0; beat < 3; beat++)
        s_heartbeat (net);
    //  Read at WELCOME, before any PULL: nothing pulled from the parent,
    //  so nothing of it quarantined; the parent pulls from the child
    ck_assert (ht_repl_clock (child->repl).paused);
    ck_assert_uint_eq (s_events (child, "send PULL"), 0);
    ck_assert (!s_holds (child, keys [0]));
    ck_assert_uint_eq (s_elders (child), 1);
    ck_assert (s_holds (parent, up [0]));
    json_t *status = s_clock_status (child);
    ck_assert (json_is_true (json_object_get (status, "pulls_paused")));
    ck_assert_int_le (json_integer_value (json_object_get (status, "skew_ms")), -600000 + 2);
    json_decref (status);
    //  The parent's records wait in its log, and come once the clock is
    //  right: the cursor never moved past them
    child->clock_offset_ms = 0;
    for (int beat = 0; beat < HT_PEER_CLOCK_SAMPLES; beat++)
        s_heartbeat (net);
    ck_assert (!ht_repl_clock (child->repl).paused);
    for (int index = 0; index < 3; index++)
        ck_assert (s_holds (child, keys [index]));
    s_assert_same (parent, child, "elder");
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_root_judges_its_clock_by_most_of_its_children)
{
    s_net_t *net = s_net_new (2, 5000);
    s_node_t *parent = s_parent (net);
    net->nodes [S_CHILD_A].clock_offset_ms = 600000;
    net->nodes [S_CHILD_B].clock_offset_ms = 600000;
    s_connect (net, S_CHILD_A);
    s_connect (net, S_CHILD_B);
    s_heartbeat (net);
    //  Both children read the root 10 minutes behind: it is the one off
    ht_repl_clock_t clock = ht_repl_clock (parent->repl);
    ck_assert (clock.known && clock.skewed && clock.paused);
    ck_assert_int_le (clock.skew_ms, -600000 + 2);
    ck_assert_str_eq (clock.reference, "2 of its 2 children");
    //  One child off, one right: no majority, nothing to judge it by
    net->nodes [S_CHILD_B].clock_offset_ms = 0;
    s_heartbeat (net);
    clock = ht_repl_clock (parent->repl);
    ck_assert (!clock.known && !clock.skewed);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_clock_judged_off_stays_so_while_the_parent_link_is_down)
{
    s_net_t *net = s_net_new (1, 5000);
    s_node_t *child = &net->nodes [S_CHILD_A];
    child->clock_offset_ms = 600000;
    s_connect (net, S_CHILD_A);
    s_heartbeat (net);
    ck_assert (ht_repl_clock (child->repl).skewed);
    //  The link drops: nothing to judge by, and what was found stands
    ht_repl_parent_lost (child->repl);
    ht_repl_tick (child->repl, net->now);
    ht_repl_clock_t clock = ht_repl_clock (child->repl);
    ck_assert (clock.known && clock.skewed);
    ck_assert_int_ge (ht_repl_clock_lead (child->repl), 600000 - 2);
    s_net_destroy (&net);
}
END_TEST

START_TEST (a_child_of_a_skewed_parent_is_judged_by_the_clock_its_parent_says_it_lacks)
{
    s_net_t *net = s_net_new (2, 5000);
    s_node_t *parent = s_parent (net), *child = &net->nodes [S_CHILD_A];
    parent->clock_offset_ms = 600000;
    s_connect (net, S_CHILD_A);
    s_connect (net, S_CHILD_B);
    for (int beat = 0; beat < 3; beat++)
        s_heartbeat (net);
    //  Both children find the root 10 minutes ahead: the root is off
    ht_repl_clock_t clock = ht_repl_clock (parent->repl);
    ck_assert (clock.known && clock.skewed && clock.skew_ms >= 600000 - 2);
    //  It says so in its PINGs and PONGs, so each child reads the
    //  network's clock through it: the child is right and pulls
    clock = ht_repl_clock (child->repl);
    ck_assert_msg (clock.known && !clock.skewed && !clock.paused, "%s: %lld", clock.reference,
                   (long long) clock.skew_ms);
    ck_assert_ptr_nonnull (strstr (clock.reference, "the network's clock as its parent"));
    //  Its status still shows the parent's own clock, 10 minutes ahead
    ck_assert_int_ge (s_stat (child, HT_FIXTURE_TOWNSHIP, "clock_offset_ms"), 600000 - 2);
    char keys [1][HT_KEY_MAX_CHARS + 1];
    s_write (parent, 1, keys);
    s_run (net);
    ck_assert (s_holds (child, keys [0]));
    s_net_destroy (&net);
}
END_TEST

static Suite *
repl_suite (void)
{
    Suite *suite = suite_create ("ht_repl");
    TCase *flow = tcase_create ("flow");
    tcase_add_test (flow, records_written_at_a_child_reach_the_parent_and_records_scoped_over_it_flow_down);
    tcase_add_test (flow, a_record_received_from_a_child_is_never_sent_back_to_it);
    tcase_add_test (flow, a_second_childs_records_never_flow_to_the_first_child);
    tcase_add_test (flow, batches_cut_short_arrive_completely_through_prefetch_and_more);
    suite_add_tcase (suite, flow);
    TCase *faults = tcase_create ("faults");
    tcase_add_test (faults, every_batch_delivered_twice_leaves_the_stores_identical_and_applies_each_record_once);
    tcase_add_test (faults, messages_delivered_out_of_order_leave_the_stores_identical_and_apply_each_record_once);
    tcase_add_test (faults, after_the_parent_store_is_restored_the_child_pulls_again_from_zero);
    tcase_add_test (faults, a_child_restored_from_a_backup_gets_back_what_it_wrote_after_it);
    tcase_add_test (faults, a_store_rolled_back_mark_and_all_is_found_by_its_peers_pull);
    tcase_add_test (faults, a_batch_lost_on_the_way_is_pulled_again_after_the_timeout);
    tcase_add_test (faults, a_batch_the_store_cannot_take_is_asked_for_again_with_backoff_then_stored);
    tcase_add_test (faults, a_batch_in_flight_across_a_reconnect_is_applied_once_and_replication_keeps_its_pace);
    tcase_add_test (faults, a_parent_with_batches_waiting_answers_pings_keeps_its_children_and_applies_them_in_order);
    tcase_add_test (faults, waiting_batches_of_different_children_are_stored_together_up_to_a_batch);
    suite_add_tcase (suite, faults);
    TCase *trust = tcase_create ("trust");
    tcase_add_test (trust, a_revoked_child_is_dropped_at_the_next_tick_and_its_hello_refused);
    tcase_add_test (trust, a_cursor_past_the_log_without_the_nodes_tag_takes_no_new_epoch);
    suite_add_tcase (suite, trust);
    TCase *poll = tcase_create ("long_poll");
    tcase_add_test (poll, a_held_pull_is_answered_by_a_new_write_with_no_notify_or_pull_round);
    tcase_add_test (poll, a_held_pull_is_answered_empty_before_the_pullers_timeout);
    tcase_add_test (poll, a_reconnecting_child_replaces_its_held_pull);
    tcase_add_test (poll, a_puller_without_long_poll_still_gets_notify_and_pulls);
    tcase_add_test (poll, a_store_rolled_back_is_found_and_read_again_with_long_poll);
    suite_add_tcase (suite, poll);
    TCase *clocks = tcase_create ("clocks");
    tcase_add_test (clocks, each_side_reads_the_others_clock_corrected_by_half_the_round_trip);
    tcase_add_test (clocks, a_node_far_behind_its_parents_clock_pulls_nothing_until_it_is_set_right);
    tcase_add_test (clocks, a_root_judges_its_clock_by_most_of_its_children);
    tcase_add_test (clocks, a_clock_judged_off_stays_so_while_the_parent_link_is_down);
    tcase_add_test (clocks, a_child_of_a_skewed_parent_is_judged_by_the_clock_its_parent_says_it_lacks);
    suite_add_tcase (suite, clocks);
    return suite;
}

HT_TEST_MAIN (repl_suite)
