//  test_client: the C client against a fake node in this process — a
//  ROUTER with the node's CURVE server key on tcp://127.0.0.1:* and a ZAP
//  handler that admits one key. The fake node answers each request as its
//  mode says (echo, hold, stale tokens, malformed frames, ERROR), so each
//  test says exactly what the client was sent. Nothing sleeps: the client
//  waits with its own timeouts and the tests poll with deadlines.
//
//  libzmq allows one ZAP handler per context, so each test starts its own
//  fake node (Check runs every test in its own process).
#include <arpa/inet.h>
#include <czmq.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include "ht_client.h"
#include "ht_fixture.h"
#include "ht_msg.h"
#include "ht_test.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_BIND_DEADLINE_MS 2000    //  for the ZAP handler's inproc name
#define S_MODE_CHARS 32
#define S_TIMEOUT_MS 3000           //  for requests that should be answered
#define S_SHORT_TIMEOUT_MS 300      //  for requests that should time out
#define S_PROMPT_MS 1000            //  "at once": well inside S_TIMEOUT_MS
#define S_SLACK_MS 1000             //  a timeout may overrun by this much
#define S_TEST_TIMEOUT_S 30

//  --------------------------------------------------------------------------
//  The fake node, an actor

typedef struct {
    const ht_keypair_t *node;       //  its CURVE server keys
    const ht_keypair_t *admitted;   //  the client key ZAP admits
} s_server_args_t;

typedef struct {
    zsock_t *pipe;                  //  to the test
    zsock_t *router;                //  the client socket
    zsock_t *zap;                   //  ZAP handler (REP)
    zsock_t *events;                //  the router's disconnects
    uint8_t admitted [HT_CURVE_KEY_BYTES];  //  the key ZAP admits
    char mode [S_MODE_CHARS];       //  how requests are answered
    zframe_t *held_id;              //  a request held unanswered, or NULL
    uint64_t held_token;            //  its token
    char held_command [16];         //  its command
    size_t requests;                //  requests received
    size_t disconnects;             //  client connections closed
    bool awaiting_disconnect;       //  the test waits for one
    bool terminated;                //  $TERM came
} s_server_t;

//  Send command with token and an optional JSON text to the client id
static void
s_server_send (s_server_t *self, zframe_t *id, const char *command, uint64_t token,
               const char *json_text)
{
    ht_msg_t msg;
    ht_msg_init (&msg, command);
    msg.token = token;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    if (json_text)
        zmsg_addstr (zmsg, json_text);
    zframe_t *copy = zframe_dup (id);
    zmsg_prepend (zmsg, &copy);
    zmsg_send (&zmsg, self->router);
}

//  Send ERROR name with token
static void
s_server_error (s_server_t *self, zframe_t *id, const char *name, uint64_t token)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_ERROR);
    msg.token = token;
    snprintf (msg.error, sizeof msg.error, "%s", name);
    snprintf (msg.text, sizeof msg.text, "the fake node says %s", name);
    zmsg_t *zmsg = ht_msg_encode (&msg);
    zframe_t *copy = zframe_dup (id);
    zmsg_prepend (zmsg, &copy);
    zmsg_send (&zmsg, self->router);
}

//  Send raw frames (NULL-terminated strings) to the client id
static void
s_server_raw (s_server_t *self, zframe_t *id, const char *first, ...)
{
    zmsg_t *zmsg = zmsg_new ();
    zframe_t *copy = zframe_dup (id);
    zmsg_append (zmsg, &copy);
    va_list args;
    va_start (args, first);
    for (const char *frame = first; frame; frame = va_arg (args, const char *))
        zmsg_addstr (zmsg, frame);
    va_end (args);
    zmsg_send (&zmsg, self->router);
}

//  The echo answer: {"command", "token", "keys": [record key or null]}
static void
s_server_echo (s_server_t *self, zframe_t *id, const char *command, uint64_t token,
               zmsg_t *records)
{
    json_t *keys = json_array ();
    for (zframe_t *frame = records? zmsg_first (records): NULL; frame;
         frame = zmsg_next (records)) {
        ht_record_t *record = ht_record_decode (zframe_data (frame), zframe_size (frame),
                                                NULL, NULL);
        json_array_append_new (keys, record? json_string (ht_record_key (record)): json_null ());
        ht_record_destroy (&record);
    }
    json_t *echo = json_pack ("{s:s, s:I, s:o}", "command", command, "token",
                              (json_int_t) token, "keys", keys);
    char *text = json_dumps (echo, JSON_COMPACT | JSON_SORT_KEYS);
    char reply_command [24];
    snprintf (reply_command, sizeof reply_command, "%s-OK", command);
    s_server_send (self, id, reply_command, token, text);
    free (text);
    json_decref (echo);
}

//  Answer one malformed way, by mode (an unknown mode answers nothing)
static void
s_server_malformed (s_server_t *self, zframe_t *id, const ht_msg_t *request)
{
    char reply_command [24];
    snprintf (reply_command, sizeof reply_command, "%s-OK", request->command);
    if (streq (self->mode, "junk"))
        s_server_raw (self, id, "\xff\xfe junk", NULL);
    else
    if (streq (self->mode, "bad-body"))
        s_server_raw (self, id, reply_command, "\xc1", NULL);
    else
    if (streq (self->mode, "no-body"))
        s_server_raw (self, id, reply_command, NULL);
    else
    if (streq (self->mode, "no-json"))
        s_server_send (self, id, reply_command, request->token, NULL);
    else
    if (streq (self->mode, "not-json"))
        s_server_send (self, id, reply_command, request->token, "{not json");
    else
    if (streq (self->mode, "json-array"))
        s_server_send (self, id, reply_command, request->token, "[1, 2]");
    else
    if (streq (self->mode, "wrong-command"))
        s_server_send (self, id, streq (request->command, HT_MSG_INFO)? HT_MSG_STATUS_OK
                       : HT_MSG_INFO_OK, request->token, "{}");
}

//  Answer one request as the mode says
static void
s_server_answer (s_server_t *self, zframe_t *id, const ht_msg_t *request, zmsg_t *records)
{
    if (streq (self->mode, "echo"))
        s_server_echo (self, id, request->command, request->token, records);
    else
    if (streq (self->mode, "hold")) {
        zframe_destroy (&self->held_id);
        self->held_id = zframe_dup (id);
        self->held_token = request->token;
        snprintf (self->held_command, sizeof self->held_command, "%s", request->command);
    }
    else
    if (streq (self->mode, "late-then-echo")) {
        if (self->held_id)
            s_server_echo (self, self->held_id, self->held_command, self->held_token, NULL);
        zframe_destroy (&self->held_id);
        s_server_echo (self, id, request->command, request->token, records);
    }
    else
    if (streq (self->mode, "stale-tokens")) {
        s_server_echo (self, id, request->command, request->token + 1, NULL);
        s_server_error (self, id, "rate_limited", request->token + 2);
        if (request->token > 1)
            s_server_echo (self, id, request->command, request->token - 1, NULL);
        s_server_send (self, id, HT_MSG_STATUS_OK, request->token + 3, "not json");
        s_server_echo (self, id, request->command, request->token, records);
    }
    else
    if (strncmp (self->mode, "error:", 6) == 0)
        s_server_error (self, id, self->mode + 6, request->token);
    else
    if (strncmp (self->mode, "error0:", 7) == 0)
        s_server_error (self, id, self->mode + 7, 0);
    else
        s_server_malformed (self, id, request);
}

static void
s_server_request (s_server_t *self)
{
    zmsg_t *zmsg = zmsg_recv (self->router);
    zframe_t *id = zmsg? zmsg_pop (zmsg): NULL;
    ht_msg_t request;
    if (id && ht_msg_decode (zmsg, &request, NULL) == HT_OK) {
        self->requests++;
        s_server_answer (self, id, &request, zmsg);
    }
    zframe_destroy (&id);
    zmsg_destroy (&zmsg);
}

//  ZAP (RFC 27): admit the one CURVE key, refuse every other with 400
static void
s_server_zap (s_server_t *self)
{
    zmsg_t *request = zmsg_recv (self->zap);
    if (!request)
        return;
    char *version = zmsg_popstr (request);
    char *request_id = zmsg_popstr (request);
    free (zmsg_popstr (request));           //  domain
    free (zmsg_popstr (request));           //  address
    free (zmsg_popstr (request));           //  identity
    char *mechanism = zmsg_popstr (request);
    zframe_t *client_key = zmsg_pop (request);
    bool admit = mechanism && streq (mechanism, "CURVE") && client_key
              && zframe_size (client_key) == HT_CURVE_KEY_BYTES
              && memcmp (zframe_data (client_key), self->admitted, HT_CURVE_KEY_BYTES) == 0;
    zstr_sendx (self->zap, version? version: "1.0", request_id? request_id: "",
                admit? "200": "400", admit? "OK": "not admitted", admit? "client": "", "",
                NULL);
    free (version);
    free (request_id);
    free (mechanism);
    zframe_destroy (&client_key);
    zmsg_destroy (&request);
}

//  A client connection closed: tell the test if it waits for that
static void
s_server_event (s_server_t *self)
{
    zmsg_t *event = zmsg_recv (self->events);
    zmsg_destroy (&event);
    self->disconnects++;
    if (self->awaiting_disconnect)
        zstr_send (self->pipe, "DISCONNECTED");
    self->awaiting_disconnect = false;
}

//  MODE name | ADMIT key | REQUESTS | AWAIT-DISCONNECT | $TERM
static void
s_server_command (s_server_t *self)
{
    zmsg_t *command = zmsg_recv (self->pipe);
    char *name = command? zmsg_popstr (command): NULL;
    if (!name || streq (name, "$TERM"))
        self->terminated = true;
    else
    if (streq (name, "MODE")) {
        char *mode = zmsg_popstr (command);
        snprintf (self->mode, sizeof self->mode, "%s", mode? mode: "");
        free (mode);
        zsock_signal (self->pipe, 0);
    }
    else
    if (streq (name, "ADMIT")) {
        zframe_t *key = zmsg_pop (command);
        if (key && zframe_size (key) == HT_CURVE_KEY_BYTES)
            memcpy (self->admitted, zframe_data (key), HT_CURVE_KEY_BYTES);
        zframe_destroy (&key);
        zsock_signal (self->pipe, 0);
    }
    else
    if (streq (name, "REQUESTS"))
        zsock_send (self->pipe, "8", (uint64_t) self->requests);
    else
    if (streq (name, "AWAIT-DISCONNECT")) {
        if (self->disconnects)
            zstr_send (self->pipe, "DISCONNECTED");
        else
            self->awaiting_disconnect = true;
    }
    free (name);
    zmsg_destroy (&command);
}

//  The ZAP handler's socket. libzmq frees an inproc name only once the
//  socket that held it is reaped, so when tests share a process (CK_FORK=no)
//  the last test's handler may hold it a moment longer: poll until a deadline.
static zsock_t *
s_server_zap_bind (void)
{
    int64_t deadline = zclock_mono () + S_BIND_DEADLINE_MS;
    zsock_t *zap = zsock_new_rep (S_ZAP_ENDPOINT);
    while (!zap && zmq_errno () == EADDRINUSE && zclock_mono () < deadline) {
        zmq_poll (NULL, 0, 1);
        zap = zsock_new_rep (S_ZAP_ENDPOINT);
    }
    return zap;
}

//  Bind the ZAP handler, then the router; the port, or -1
static int
s_server_bind (s_server_t *self, const s_server_args_t *args)
{
    self->zap = s_server_zap_bind ();
    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->zap || !self->router)
        return -1;
    zsock_set_zap_domain (self->router, "client");
    zsock_set_curve_server (self->router, 1);
    zsock_set_curve_secretkey_bin (self->router, ht_keypair_curve_secret (args->node));
    //  A fresh name each time, for the same reason
    uint8_t random [8];
    char hex [2 * sizeof random + 1], events [64];
    randombytes_buf (random, sizeof random);
    snprintf (events, sizeof events, "inproc://test-client-server-events-%s",
              ht_hex_encode (random, sizeof random, hex));
    if (zmq_socket_monitor (zsock_resolve (self->router), events, ZMQ_EVENT_DISCONNECTED))
        return -1;
    self->events = zsock_new (ZMQ_PAIR);
    if (!self->events || zsock_connect (self->events, "%s", events))
        return -1;
    return zsock_bind (self->router, "tcp://127.0.0.1:*");
}

static void
s_server_actor (zsock_t *pipe, void *args_p)
{
    const s_server_args_t *args = (const s_server_args_t *) args_p;
    s_server_t self = { .pipe = pipe, .mode = "echo" };
    memcpy (self.admitted, ht_keypair_curve_public (args->admitted), HT_CURVE_KEY_BYTES);
    int port = s_server_bind (&self, args);
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    zpoller_t *poller = zpoller_new (pipe, self.zap, self.router, self.events, NULL);
    while (port > 0 && !self.terminated) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe)
            s_server_command (&self);
        else
        if (which == self.zap)
            s_server_zap (&self);
        else
        if (which == self.router)
            s_server_request (&self);
        else
        if (which == self.events)
            s_server_event (&self);
        else
            break;
    }
    zpoller_destroy (&poller);
    zframe_destroy (&self.held_id);
    if (self.router)
        zmq_socket_monitor (zsock_resolve (self.router), NULL, 0);
    zsock_destroy (&self.events);
    zsock_destroy (&self.router);
    zsock_destroy (&self.zap);
}

//  --------------------------------------------------------------------------
//  The test's side

typedef struct {
    ht_keypair_t *node;             //  the fake node's key
    ht_keypair_t *member;           //  a key the node admits
    ht_keypair_t *stranger;         //  a key it refuses
    s_server_args_t args;           //  the actor reads these
    zactor_t *server;               //  the fake node
    char endpoint [64];             //  its client endpoint
} s_net_t;

static void
s_net_start (s_net_t *net)
{
    net->node = ht_fixture_key (0x41, "node");
    net->member = ht_fixture_key (0x42, "member");
    net->stranger = ht_fixture_key (0x43, "stranger");
    net->args.node = net->node;
    net->args.admitted = net->member;
    net->server = zactor_new (s_server_actor, &net->args);
    ck_assert_ptr_nonnull (net->server);
    int port = -1;
    ck_assert_int_eq (zsock_recv (net->server, "i", &port), 0);
    ck_assert_int_gt (port, 0);
    snprintf (net->endpoint, sizeof net->endpoint, "tcp://127.0.0.1:%d", port);
}

static void
s_net_stop (s_net_t *net)
{
    zactor_destroy (&net->server);
    ht_keypair_destroy (&net->node);
    ht_keypair_destroy (&net->member);
    ht_keypair_destroy (&net->stranger);
}

//  Set how the fake node answers from now on
static void
s_net_mode (s_net_t *net, const char *mode)
{
    zstr_sendx (net->server, "MODE", mode, NULL);
    ck_assert_int_eq (zsock_wait (net->server), 0);
}

//  How many requests the fake node has read
static uint64_t
s_net_requests (s_net_t *net)
{
    zstr_send (net->server, "REQUESTS");
    uint64_t requests = 0;
    ck_assert_int_eq (zsock_recv (net->server, "8", &requests), 0);
    return requests;
}

//  A client of the fake node with key
static ht_client_t *
s_net_client (s_net_t *net, const ht_keypair_t *key, int timeout_ms)
{
    ht_client_t *client = ht_client_new (net->endpoint, ht_keypair_public (net->node), key,
                                         timeout_ms);
    ck_assert_ptr_nonnull (client);
    return client;
}

//  The echo answer names command and token
static void
s_assert_echo (json_t *reply, const char *command, uint64_t token)
{
    ck_assert_ptr_nonnull (reply);
    ck_assert_str_eq (json_string_value (json_object_get (reply, "command")), command);
    ck_assert_int_eq (json_integer_value (json_object_get (reply, "token")), (json_int_t) token);
}

//  A status request fails with error within limit_ms, and the reason
//  mentions words
static void
s_assert_status_fails (ht_client_t *client, int error, int64_t limit_ms, const char *words)
{
    int64_t start = zclock_mono ();
    int got = HT_OK;
    json_t *reply = ht_client_status (client, &got);
    int64_t elapsed = zclock_mono () - start;
    ck_assert_ptr_null (reply);
    ck_assert_msg (got == error, "expected %s, got %s (%s)", ht_errname (error),
                   ht_errname (got), ht_client_reason (client));
    ck_assert_msg (elapsed < limit_ms, "took %" PRId64 " ms", elapsed);
    ck_assert_msg (strstr (ht_client_reason (client), words), "reason '%s' lacks '%s'",
                   ht_client_reason (client), words);
}

//  --------------------------------------------------------------------------
//  Tests

START_TEST (a_request_gets_the_reply_that_carries_its_token)
{
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = s_net_client (&net, net.member, S_TIMEOUT_MS);
    int error = -1;
    json_t *status = ht_client_status (client, &error);
    ck_assert_int_eq (error, HT_OK);
    s_assert_echo (status, HT_MSG_STATUS, 1);
    ck_assert_str_eq (ht_client_reason (client), "");
    json_t *info = ht_client_info (client, &error);
    ck_assert_int_eq (error, HT_OK);
    s_assert_echo (info, HT_MSG_INFO, 2);
    ck_assert_uint_eq (s_net_requests (&net), 2);
    json_decref (status);
    json_decref (info);
    ht_client_destroy (&client);
    s_net_stop (&net);
}
END_TEST

START_TEST (a_reply_with_a_stale_token_is_ignored_and_the_right_one_taken)
{
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = s_net_client (&net, net.member, S_SHORT_TIMEOUT_MS);
    //  Request 1 is held, and abandoned when its timeout passes
    s_net_mode (&net, "hold");
    s_assert_status_fails (client, HT_ETIMEOUT, S_SHORT_TIMEOUT_MS + S_SLACK_MS, "did not answer");
    //  Its late answer comes first; request 2 takes its own
    s_net_mode (&net, "late-then-echo");
    int error = -1;
    json_t *reply = ht_client_status (client, &error);
    ck_assert_int_eq (error, HT_OK);
    s_assert_echo (reply, HT_MSG_STATUS, 2);
    json_decref (reply);
    //  Answers with a later token, an ERROR and a broken frame of other
    //  requests, and an earlier answer, all come before the right one
    s_net_mode (&net, "stale-tokens");
    reply = ht_client_info (client, &error);
    ck_assert_int_eq (error, HT_OK);
    s_assert_echo (reply, HT_MSG_INFO, 3);
    json_decref (reply);
    ht_client_destroy (&client);
    s_net_stop (&net);
}
END_TEST

START_TEST (a_node_that_never_answers_gives_a_timeout_within_the_timeout)
{
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = s_net_client (&net, net.member, S_SHORT_TIMEOUT_MS);
    s_net_mode (&net, "hold");
    int64_t start = zclock_mono ();
    int error = HT_OK;
    json_t *reply = ht_client_put (client, NULL, 0, &error);
    int64_t elapsed = zclock_mono () - start;
    ck_assert_ptr_null (reply);
    ck_assert_int_eq (error, HT_ETIMEOUT);
    ck_assert_int_ge (elapsed, S_SHORT_TIMEOUT_MS);
    ck_assert_int_lt (elapsed, S_SHORT_TIMEOUT_MS + S_SLACK_MS);
    //  The node had the request: it was admitted, and kept silent
    ck_assert_uint_eq (s_net_requests (&net), 1);
    ck_assert_ptr_nonnull (strstr (ht_client_reason (client), "admitted us but did not answer"));
    ht_client_destroy (&client);
    s_net_stop (&net);
}
END_TEST

START_TEST (a_malformed_reply_gives_a_malformed_error_at_once)
{
    static const char *const modes [] = {
        "junk", "bad-body", "no-body", "no-json", "not-json", "json-array", "wrong-command" };
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = s_net_client (&net, net.member, S_TIMEOUT_MS);
    for (size_t index = 0; index < sizeof modes / sizeof modes [0]; index++) {
        s_net_mode (&net, modes [index]);
        s_assert_status_fails (client, HT_EMALFORMED, S_PROMPT_MS, "the node");
    }
    //  The client still works for a well-formed answer
    s_net_mode (&net, "echo");
    int error = -1;
    json_t *reply = ht_client_status (client, &error);
    ck_assert_int_eq (error, HT_OK);
    s_assert_echo (reply, HT_MSG_STATUS, 8);
    json_decref (reply);
    ht_client_destroy (&client);
    s_net_stop (&net);
}
END_TEST

START_TEST (an_error_reply_with_its_token_is_returned_as_that_error)
{
    static const struct {
        const char *mode;
        int error;
    } cases [] = {
        { "error:rate_limited", HT_ERATELIMIT },
        { "error:revoked", HT_EREVOKED },
        { "error:out_of_scope", HT_ESCOPE },
        { "error:unknown_request", HT_EINVAL },     //  no such error name
        { "error:ok", HT_EMALFORMED },              //  an ERROR must name an error
    };
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = s_net_client (&net, net.member, S_TIMEOUT_MS);
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        s_net_mode (&net, cases [index].mode);
        s_assert_status_fails (client, cases [index].error, S_PROMPT_MS,
                               cases [index].error == HT_EMALFORMED? "ERROR"
                               : "the fake node says");
    }
    ht_client_destroy (&client);
    s_net_stop (&net);
}
END_TEST

START_TEST (an_error_reply_with_token_zero_is_returned_as_that_error)
{
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = s_net_client (&net, net.member, S_TIMEOUT_MS);
    s_net_mode (&net, "error0:rate_limited");
    s_assert_status_fails (client, HT_ERATELIMIT, S_PROMPT_MS, "rate_limited");
    s_net_mode (&net, "error0:malformed");
    s_assert_status_fails (client, HT_EMALFORMED, S_PROMPT_MS, "the fake node says malformed");
    s_net_mode (&net, "error0:invalid");
    s_assert_status_fails (client, HT_EINVAL, S_PROMPT_MS, "the fake node says invalid");
    ht_client_destroy (&client);
    s_net_stop (&net);
}
END_TEST

START_TEST (a_refused_handshake_gives_the_refusal_error_at_once)
{
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = s_net_client (&net, net.stranger, S_TIMEOUT_MS);
    s_assert_status_fails (client, HT_EPOLICY, S_PROMPT_MS, "the node refused this key");
    //  The next request is refused as promptly: it neither waits for a
    //  connection libzmq will not retry nor blocks in its send
    s_assert_status_fails (client, HT_EPOLICY, S_PROMPT_MS, "the node refused this key");
    ck_assert_uint_eq (s_net_requests (&net), 0);
    //  Once the node admits the key, the next request connects afresh
    zsock_send (net.server, "sb", "ADMIT", ht_keypair_curve_public (net.stranger),
                (size_t) HT_CURVE_KEY_BYTES);
    ck_assert_int_eq (zsock_wait (net.server), 0);
    int error = -1;
    json_t *reply = ht_client_info (client, &error);
    ck_assert_int_eq (error, HT_OK);
    s_assert_echo (reply, HT_MSG_INFO, 3);
    json_decref (reply);
    ht_client_destroy (&client);
    s_net_stop (&net);
}
END_TEST

START_TEST (a_wrong_node_key_gives_a_key_error_at_once)
{
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = ht_client_new (net.endpoint, ht_keypair_public (net.stranger),
                                         net.member, S_TIMEOUT_MS);
    ck_assert_ptr_nonnull (client);
    s_assert_status_fails (client, HT_EKEY, S_PROMPT_MS, "node key");
    s_assert_status_fails (client, HT_EKEY, S_PROMPT_MS, "node key");
    ck_assert_uint_eq (s_net_requests (&net), 0);
    ht_client_destroy (&client);
    s_net_stop (&net);
}
END_TEST

START_TEST (a_put_of_records_returns_the_json_reply)
{
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_fixture_t *fixture = ht_fixture_new ();
    ht_record_t *records [2] = {
        ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 1, "张三", ht_fixture_hlc (1, 0)),
        ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY, 2, "李四", ht_fixture_hlc (1, 1)) };
    ht_client_t *client = s_net_client (&net, net.member, S_TIMEOUT_MS);
    int error = -1;
    json_t *reply = ht_client_put (client, records, 2, &error);
    ck_assert_int_eq (error, HT_OK);
    //  The node decoded both records, in order, from the frames it got
    json_t *expected = json_pack ("{s:s, s:i, s:[s, s]}", "command", HT_MSG_PUT, "token", 1,
                                  "keys", ht_record_key (records [0]),
                                  ht_record_key (records [1]));
    ck_assert_msg (json_equal (reply, expected), "unexpected reply");
    json_decref (expected);
    json_decref (reply);
    ht_client_destroy (&client);
    ht_record_destroy (&records [0]);
    ht_record_destroy (&records [1]);
    ht_fixture_destroy (&fixture);
    s_net_stop (&net);
}
END_TEST

START_TEST (a_port_with_nothing_listening_times_out_cleanly)
{
    //  A bound socket that never listens: the port stays ours and refuses
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge (fd, 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t size = sizeof address;
    ck_assert_int_eq (bind (fd, (struct sockaddr *) &address, size), 0);
    ck_assert_int_eq (getsockname (fd, (struct sockaddr *) &address, &size), 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ntohs (address.sin_port));
    ht_keypair_t *node = ht_fixture_key (0x41, "node");
    ht_keypair_t *member = ht_fixture_key (0x42, "member");
    ht_client_t *client = ht_client_new (endpoint, ht_keypair_public (node), member,
                                         S_SHORT_TIMEOUT_MS);
    ck_assert_ptr_nonnull (client);
    for (int attempt = 0; attempt < 2; attempt++) {
        int64_t start = zclock_mono ();
        s_assert_status_fails (client, HT_ETIMEOUT, S_SHORT_TIMEOUT_MS + S_SLACK_MS,
                               "is a node listening");
        ck_assert_int_ge (zclock_mono () - start, S_SHORT_TIMEOUT_MS);
    }
    //  Destroying it with two requests queued does not wait for them
    int64_t start = zclock_mono ();
    ht_client_destroy (&client);
    ck_assert_int_lt (zclock_mono () - start, S_PROMPT_MS);
    ck_assert_ptr_null (client);
    ht_keypair_destroy (&node);
    ht_keypair_destroy (&member);
    close (fd);
}
END_TEST

START_TEST (no_client_is_made_for_an_unusable_endpoint_or_node_key)
{
    ht_keypair_t *node = ht_fixture_key (0x41, "node");
    ht_keypair_t *member = ht_fixture_key (0x42, "member");
    ck_assert_ptr_null (ht_client_new ("not an endpoint", ht_keypair_public (node), member,
                                       S_TIMEOUT_MS));
    ck_assert_ptr_null (ht_client_new ("tcp://127.0.0.1", ht_keypair_public (node), member,
                                       S_TIMEOUT_MS));
    //  A point that is not on the curve has no CURVE form
    uint8_t off_curve [HT_PUBKEY_BYTES];
    memset (off_curve, 0xff, sizeof off_curve);
    ck_assert_ptr_null (ht_client_new ("tcp://127.0.0.1:7701", off_curve, member,
                                       S_TIMEOUT_MS));
    ht_keypair_destroy (&node);
    ht_keypair_destroy (&member);
}
END_TEST

START_TEST (destroying_a_client_with_a_request_outstanding_is_clean)
{
    s_net_t net = { 0 };
    s_net_start (&net);
    ht_client_t *client = s_net_client (&net, net.member, S_SHORT_TIMEOUT_MS);
    s_net_mode (&net, "hold");
    s_assert_status_fails (client, HT_ETIMEOUT, S_SHORT_TIMEOUT_MS + S_SLACK_MS, "did not answer");
    ck_assert_uint_eq (s_net_requests (&net), 1);
    int64_t start = zclock_mono ();
    ht_client_destroy (&client);
    ck_assert_int_lt (zclock_mono () - start, S_PROMPT_MS);
    ck_assert_ptr_null (client);
    ht_client_destroy (&client);
    //  The node sees the connection close: the socket is gone, not leaked
    zstr_send (net.server, "AWAIT-DISCONNECT");
    zpoller_t *poller = zpoller_new (net.server, NULL);
    ck_assert_msg (zpoller_wait (poller, S_TIMEOUT_MS) == net.server,
                   "the node never saw the client's connection close");
    char *event = zstr_recv (net.server);
    ck_assert_str_eq (event, "DISCONNECTED");
    zstr_free (&event);
    zpoller_destroy (&poller);
    s_net_stop (&net);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_client");
    TCase *tc = tcase_create ("requests");
    tcase_set_timeout (tc, S_TEST_TIMEOUT_S);
    tcase_add_test (tc, a_request_gets_the_reply_that_carries_its_token);
    tcase_add_test (tc, a_reply_with_a_stale_token_is_ignored_and_the_right_one_taken);
    tcase_add_test (tc, a_node_that_never_answers_gives_a_timeout_within_the_timeout);
    tcase_add_test (tc, a_put_of_records_returns_the_json_reply);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("hostile");
    tcase_set_timeout (tc, S_TEST_TIMEOUT_S);
    tcase_add_test (tc, a_malformed_reply_gives_a_malformed_error_at_once);
    tcase_add_test (tc, an_error_reply_with_its_token_is_returned_as_that_error);
    tcase_add_test (tc, an_error_reply_with_token_zero_is_returned_as_that_error);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("connection");
    tcase_set_timeout (tc, S_TEST_TIMEOUT_S);
    tcase_add_test (tc, a_refused_handshake_gives_the_refusal_error_at_once);
    tcase_add_test (tc, a_wrong_node_key_gives_a_key_error_at_once);
    tcase_add_test (tc, a_port_with_nothing_listening_times_out_cleanly);
    tcase_add_test (tc, no_client_is_made_for_an_unusable_endpoint_or_node_key);
    tcase_add_test (tc, destroying_a_client_with_a_request_outstanding_is_clean);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (s_suite)
