//  ht_client: request/reply over a DEALER with CURVE; tokens match replies
//  to requests so a late answer to an abandoned request is ignored.
//
//  A node that refuses our key answers nothing at all: ZAP says 400 and
//  libzmq ends the CURVE handshake. libzmq then drops the connection for
//  good (it does not reconnect after a refusal), so without more a client
//  would wait out its timeout, and its next send would block for ever on a
//  DEALER with no pipe left. A socket monitor on the DEALER reports the
//  handshake's outcome; a failed handshake ends the request at once, and
//  the next request connects afresh.
#include <sodium.h>
#include "ht_client.h"
#include "ht_msg.h"

#ifndef ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
#   error "ht_client needs libzmq 4.3 or newer (handshake monitor events)"
#endif

#define S_REASON_CHARS 384          //  a node's text (255) and our words
#define S_MONITOR_ID_BYTES 8        //  random part of the monitor's endpoint
#define S_MONITOR_EVENT_BYTES 6     //  uint16 event, uint32 value
#define S_WAITING 1                 //  no verdict yet: keep waiting
#define S_HANDSHAKE_EVENTS (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH \
                          | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL \
                          | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
#define S_ZAP_REFUSED 400           //  ZAP status: the key is not admitted

//  A subscription in progress (ht_client_feed_*)
typedef struct {
    ht_client_feed_t spec;          //  what was asked (texts copied below)
    char kinds [HT_MSG_KIND_BYTES], region [HT_REGION_BYTES], field [HT_MSG_FIELD_BYTES];
    char value [HT_MSG_VALUE_BYTES], purpose [HT_MSG_PURPOSE_BYTES];
    uint64_t token;                 //  names the subscription
    bool subscribed;                //  the node holds it
    bool has_cursor;                //  epoch and cursor are set
    uint8_t epoch [HT_MSG_EPOCH_BYTES];
    uint64_t cursor;                //  consumed up to here: save this
    uint64_t received;              //  events received up to here
    zlistx_t *queue;                //  s_event_t received, not consumed
    uint64_t batch_end;             //  cursor after the queue's last batch
    size_t consumed;                //  events consumed since the last CREDIT
    uint64_t resubscribed;          //  gaps healed by subscribing again
} s_feed_t;

typedef struct {
    uint64_t seq;
    ht_record_t *record;
    bool last;                      //  last of its batch
} s_event_t;

#define S_UNSUBSCRIBE_LINGER_MS 200  //  closing: time for the UNSUBSCRIBE to go

struct _ht_client_t {
    char *endpoint;                 //  the node's client endpoint
    uint8_t server_curve [HT_CURVE_KEY_BYTES];     //  the node's CURVE key
    const ht_keypair_t *key;        //  ours, borrowed
    int timeout_ms;                 //  how long a request waits
    zsock_t *dealer;                //  CURVE client to the node; NULL after
                                    //  a failed handshake, until the next request
    zsock_t *events;                //  the dealer's handshake events
    zpoller_t *poller;              //  waits on dealer and events
    bool handshaken;                //  this connection passed its handshake
    uint64_t token;                 //  last request's token
    char reason [S_REASON_CHARS];   //  why the last request failed, or ""
    s_feed_t *feed;                 //  the subscription, or NULL
};

static void s_feed_destroy (s_feed_t **feed_p);

//  Note why the request failed; returns code
static int s_fail (ht_client_t *self, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_fail (ht_client_t *self, int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->reason, sizeof self->reason, format, args);
    va_end (args);
    return code;
}

//  Close the connection and its monitor; safe when there is none
static void
s_disconnect (ht_client_t *self)
{
    zpoller_destroy (&self->poller);
    if (self->dealer)
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
    zsock_destroy (&self->events);
    zsock_destroy (&self->dealer);
    self->handshaken = false;
}

//  A DEALER to the node with a monitor on its handshakes; HT_OK, HT_EINVAL
//  if the endpoint is unusable, or HT_EIO. Each monitor gets a fresh
//  random endpoint: libzmq frees an old one only after its socket is
//  reaped, so reusing a name could find it still bound.
static int
s_connect (ht_client_t *self)
{
    uint8_t random [S_MONITOR_ID_BYTES];
    char hex [2 * S_MONITOR_ID_BYTES + 1];
    randombytes_buf (random, sizeof random);
    char monitor [64];
    snprintf (monitor, sizeof monitor, "inproc://ht-client-monitor-%s",
              ht_hex_encode (random, sizeof random, hex));
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer)
        return s_fail (self, HT_EIO, "cannot create a socket: %s", zmq_strerror (zmq_errno ()));
    zsock_set_curve_serverkey_bin (self->dealer, self->server_curve);
    zsock_set_curve_publickey_bin (self->dealer, ht_keypair_curve_public (self->key));
    zsock_set_curve_secretkey_bin (self->dealer, ht_keypair_curve_secret (self->key));
    zsock_set_linger (self->dealer, 0);
    zsock_set_sndhwm (self->dealer, 0);
    //  A send never blocks: on a DEALER whose connection libzmq gave up
    //  there is no pipe, and a blocking send would wait for ever
    zsock_set_sndtimeo (self->dealer, 0);
    if (zmq_socket_monitor (zsock_resolve (self->dealer), monitor, S_HANDSHAKE_EVENTS)
    ||  !(self->events = zsock_new (ZMQ_PAIR))
    ||  zsock_connect (self->events, "%s", monitor)) {
        int cause = zmq_errno ();
        s_disconnect (self);
        return s_fail (self, HT_EIO, "cannot monitor the connection: %s", zmq_strerror (cause));
    }
    if (zsock_connect (self->dealer, "%s", self->endpoint)) {
        int cause = zmq_errno ();
        s_disconnect (self);
        return s_fail (self, HT_EINVAL, "cannot connect to '%s': %s", self->endpoint,
                       zmq_strerror (cause));
    }
    self->poller = zpoller_new (self->dealer, self->events, NULL);
    return HT_OK;
}

ht_client_t *
ht_client_new (const char *endpoint, const uint8_t node_key [HT_PUBKEY_BYTES],
               const ht_keypair_t *key, int timeout_ms)
{
    assert (endpoint && node_key && key);
    ht_client_t *self = (ht_client_t *) zmalloc (sizeof (ht_client_t));
    self->endpoint = strdup (endpoint);
    self->key = key;
    self->timeout_ms = timeout_ms;
    if (!self->endpoint
    ||  ht_curve_public_from_ed25519 (node_key, self->server_curve)
    ||  s_connect (self) != HT_OK)
        ht_client_destroy (&self);
    return self;
}

void
ht_client_destroy (ht_client_t **self_p)
{
    ht_client_t *self = *self_p;
    if (self) {
        //  Leave a subscription behind and the node keeps it for ten
        //  minutes, counted against our key
        if (self->feed && self->feed->token && self->dealer) {
            ht_msg_t leave;
            ht_msg_init (&leave, HT_MSG_UNSUBSCRIBE);
            leave.token = self->feed->token;
            zmsg_t *zmsg = ht_msg_encode (&leave);
            zsock_set_linger (self->dealer, S_UNSUBSCRIBE_LINGER_MS);
            if (zmsg_send (&zmsg, self->dealer) != 0)
                zmsg_destroy (&zmsg);
        }
        s_disconnect (self);
        s_feed_destroy (&self->feed);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

const char *
ht_client_reason (const ht_client_t *self)
{
    return self->reason;
}

//  Read one handshake event: S_WAITING while the handshake stands,
//  HT_EPOLICY if the node refused our key, HT_EKEY if it dropped us
static int
s_on_event (ht_client_t *self)
{
    zmsg_t *event = zmsg_recv (self->events);
    zframe_t *head = event? zmsg_first (event): NULL;
    if (!head || zframe_size (head) < S_MONITOR_EVENT_BYTES) {
        zmsg_destroy (&event);
        return S_WAITING;
    }
    uint16_t number;
    uint32_t value;
    memcpy (&number, zframe_data (head), sizeof number);
    memcpy (&value, zframe_data (head) + sizeof number, sizeof value);
    zmsg_destroy (&event);
    if (number == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        self->handshaken = true;
        return S_WAITING;
    }
    self->handshaken = false;
    if (number == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && value == S_ZAP_REFUSED)
        return s_fail (self, HT_EPOLICY, "the node refused this key (not certified there, "
                       "revoked, or outside its jurisdiction)");
    if (number == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return s_fail (self, HT_EPOLICY, "the node could not check this key (admission "
                       "status %u); try again later", (unsigned) value);
    if (number == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        return s_fail (self, HT_EKEY, "the CURVE handshake with the node failed (protocol "
                       "error 0x%x): is this a node's client endpoint, and its key?",
                       (unsigned) value);
    //  A CURVE server that cannot open our HELLO, sealed for another key,
    //  just closes the connection
    return s_fail (self, HT_EKEY, "the node closed the connection during the CURVE "
                   "handshake: is the node key right?");
}

//  Read the events that came while no request waited; true if the last
//  of them says the connection failed (it will not recover by itself)
static bool
s_failed_while_idle (ht_client_t *self)
{
    int verdict = S_WAITING;
    while (zsock_events (self->events) & ZMQ_POLLIN)
        verdict = s_on_event (self);
    return verdict != S_WAITING;
}

//  The node's ERROR answer as an error code, with its text as the reason
static int
s_node_error (ht_client_t *self, const ht_msg_t *answer)
{
    int code = ht_errcode (answer->error);
    if (code == HT_OK)
        return s_fail (self, HT_EMALFORMED, "the node answered ERROR without an error");
    return s_fail (self, code, "the node answered %s: %s", answer->error,
                   *answer->text? answer->text: ht_strerror (code));
}

//  A record frame decoded and verified (the disclosed fields and the
//  digests of the withheld ones), or NULL with the error and its reason
static ht_record_t *
s_frame_record (zframe_t *frame, int *error, const char **reason)
{
    ht_record_t *record = ht_record_decode (zframe_data (frame), zframe_size (frame),
                                            error, reason);
    if (record && (*error = ht_record_verify (record, reason)) != HT_OK)
        ht_record_destroy (&record);
    return record;
}

//  The JSON object a reply carries after its body, and the records after
//  it (reads), each decoded and verified into *records_p if not NULL
static int
s_reply_json (ht_client_t *self, zmsg_t *reply, const ht_msg_t *answer, json_t **json,
              zlistx_t **records_p)
{
    zframe_t *frame = zmsg_first (reply);
    *json = frame? json_loadb ((const char *) zframe_data (frame), zframe_size (frame), 0,
                               NULL): NULL;
    if (json_is_object (*json) && records_p) {
        zlistx_t *records = zlistx_new ();
        zlistx_set_destructor (records, (czmq_destructor *) ht_record_destroy);
        size_t index = 0;
        for (frame = zmsg_next (reply); frame; frame = zmsg_next (reply), index++) {
            int error = 0;
            const char *reason = NULL;
            //  Every field we got must be the signer's: a record that does
            //  not verify fails the whole answer
            ht_record_t *record = s_frame_record (frame, &error, &reason);
            if (!record) {
                zlistx_destroy (&records);
                json_decref (*json);
                *json = NULL;
                return s_fail (self, error? error: HT_EMALFORMED, "record %zu of the node's "
                               "%s does not verify: %s", index, answer->command,
                               reason? reason: ht_strerror (error));
            }
            zlistx_add_end (records, record);
        }
        *records_p = records;
    }
    if (json_is_object (*json))
        return HT_OK;
    json_decref (*json);
    *json = NULL;
    return s_fail (self, HT_EMALFORMED, "the node's %s carries no JSON object",
                   answer->command);
}

//  Judge one reply to request: HT_OK with *json if it answers it, an error
//  if it refuses it or is no answer at all, S_WAITING if it answers an
//  earlier request. A node answers a request it could not decode with
//  ERROR and token 0; we have one request out, so that one is ours.
static int
s_on_reply (ht_client_t *self, const ht_msg_t *request, const char *reply_command,
            json_t **json, zlistx_t **records_p)
{
    zmsg_t *reply = zmsg_recv (self->dealer);
    if (!reply)
        return S_WAITING;
    ht_msg_t answer;
    const char *why = NULL;
    int rc = ht_msg_decode (reply, &answer, &why);
    if (rc != HT_OK)
        rc = s_fail (self, HT_EMALFORMED, "the node's reply does not decode: %s",
                     why? why: "malformed");
    else
    if (streq (answer.command, HT_MSG_ERROR)
    &&  (answer.token == request->token || answer.token == 0))
        rc = s_node_error (self, &answer);
    else
    if (answer.token != request->token)
        rc = S_WAITING;
    else
    if (!streq (answer.command, reply_command))
        rc = s_fail (self, HT_EMALFORMED, "the node answered %s to %s", answer.command,
                     request->command);
    else
        rc = s_reply_json (self, reply, &answer, json, records_p);
    zmsg_destroy (&reply);
    return rc;
}

//  Why nothing came before the deadline
static int
s_timed_out (ht_client_t *self)
{
    if (zpoller_terminated (self->poller))
        return s_fail (self, HT_ETIMEOUT, "interrupted before the node answered");
    if (self->handshaken)
        return s_fail (self, HT_ETIMEOUT, "the node at %s admitted us but did not answer "
                       "within %d ms", self->endpoint, self->timeout_ms);
    return s_fail (self, HT_ETIMEOUT, "no answer within %d ms: is a node listening at %s?",
                   self->timeout_ms, self->endpoint);
}

//  Send request with the frames of *records_p (consumed, may be NULL) on
//  a working connection; S_WAITING, or an error
static int
s_send (ht_client_t *self, const ht_msg_t *request, zmsg_t **records_p)
{
    zmsg_t *zmsg = ht_msg_encode (request);
    zframe_t *frame;
    while (records_p && *records_p && (frame = zmsg_pop (*records_p)))
        zmsg_append (zmsg, &frame);
    if (records_p)
        zmsg_destroy (records_p);
    if (self->dealer && s_failed_while_idle (self))
        s_disconnect (self);
    self->reason [0] = 0;
    int rc = self->dealer? HT_OK: s_connect (self);
    if (rc == HT_OK && zmsg_send (&zmsg, self->dealer))
        rc = s_fail (self, HT_EIO, "cannot queue the request: %s", zmq_strerror (zmq_errno ()));
    zmsg_destroy (&zmsg);
    return rc == HT_OK? S_WAITING: rc;
}

//  Send a request (its items set; we give it a token) and wait for its
//  answer; the answer's JSON, or NULL with *error. Records the answer
//  carries go to *replied_p (if not NULL), verified.
static json_t *
s_request_msg (ht_client_t *self, ht_msg_t *request_p, const char *reply_command,
               zmsg_t **records_p, zlistx_t **replied_p, int *error)
{
    ht_msg_t request = *request_p;
    request.token = ++self->token;
    json_t *json = NULL;
    int rc = s_send (self, &request, records_p);
    bool connection_failed = rc != S_WAITING;
    int64_t deadline = zclock_mono () + self->timeout_ms;
    while (rc == S_WAITING) {
        int64_t left = deadline - zclock_mono ();
        void *which = left > 0? zpoller_wait (self->poller, (int) left): NULL;
        if (which == self->events)
            connection_failed = (rc = s_on_event (self)) != S_WAITING;
        else
        if (which == self->dealer)
            rc = s_on_reply (self, &request, reply_command, &json, replied_p);
        else
            rc = s_timed_out (self);
    }
    //  libzmq does not retry a refused handshake, and retrying a dropped
    //  one with the same keys only fails again: start afresh next time
    if (connection_failed)
        s_disconnect (self);
    *error = rc;
    return json;
}

static json_t *
s_request (ht_client_t *self, const char *command, const char *reply_command,
           zmsg_t **records_p, int *error)
{
    ht_msg_t request;
    ht_msg_init (&request, command);
    return s_request_msg (self, &request, reply_command, records_p, NULL, error);
}

json_t *
ht_client_put (ht_client_t *self, ht_record_t *const *records, size_t count, int *error)
{
    zmsg_t *frames = zmsg_new ();
    for (size_t index = 0; index < count; index++) {
        uint8_t *data;
        size_t size;
        if (ht_record_encode (records [index], &data, &size)) {
            zmsg_destroy (&frames);
            *error = s_fail (self, HT_EINVAL, "record %zu cannot be encoded", index);
            return NULL;
        }
        zmsg_addmem (frames, data, size);
        free (data);
    }
    return s_request (self, HT_MSG_PUT, HT_MSG_PUT_OK, &frames, error);
}

json_t *
ht_client_status (ht_client_t *self, int *error)
{
    return s_request (self, HT_MSG_STATUS, HT_MSG_STATUS_OK, NULL, error);
}

json_t *
ht_client_info (ht_client_t *self, int *error)
{
    return s_request (self, HT_MSG_INFO, HT_MSG_INFO_OK, NULL, error);
}

//  --------------------------------------------------------------------------
//  Reads

void
ht_client_result_free (ht_client_result_t *result)
{
    for (size_t index = 0; index < result->count; index++)
        ht_record_destroy (&result->records [index]);
    free (result->records);
    json_decref (result->json);
    memset (result, 0, sizeof (*result));
}

//  Copy text into a request item; false if it does not fit
static bool
s_item (char *item, size_t size, const char *text)
{
    if (!text)
        return true;
    if (strlen (text) >= size)
        return false;
    strcpy (item, text);
    return true;
}

//  One read request: fill, send, collect the verified records
static int
s_read (ht_client_t *self, const char *command, const char *reply_command,
        const char *kind, const char *key, const ht_client_query_t *query,
        ht_client_result_t *result)
{
    memset (result, 0, sizeof (*result));
    ht_msg_t request;
    ht_msg_init (&request, command);
    ht_client_query_t none = { 0 };
    if (!query)
        query = &none;
    if (!s_item (request.kind, sizeof request.kind, kind)
    ||  !s_item (request.key, sizeof request.key, key)
    ||  !s_item (request.purpose, sizeof request.purpose, query->purpose)
    ||  !s_item (request.region, sizeof request.region, query->region)
    ||  !s_item (request.field, sizeof request.field, query->field)
    ||  !s_item (request.value, sizeof request.value, query->value)
    ||  !s_item (request.after, sizeof request.after, query->after))
        return s_fail (self, HT_EINVAL, "a request item is too long");
    request.max = query->max;
    zlistx_t *records = NULL;
    int error = 0;
    result->json = s_request_msg (self, &request, reply_command, NULL, &records, &error);
    if (!result->json) {
        zlistx_destroy (&records);
        return error;
    }
    result->count = records? zlistx_size (records): 0;
    result->records = (ht_record_t **) calloc (result->count + 1, sizeof (ht_record_t *));
    size_t index = 0;
    while (records && zlistx_size (records))
        result->records [index++] = (ht_record_t *) zlistx_detach (records, NULL);
    zlistx_destroy (&records);
    return HT_OK;
}

int
ht_client_get (ht_client_t *self, const char *kind, const char *key, const char *purpose,
               ht_client_result_t *result)
{
    ht_client_query_t query = { .purpose = purpose };
    return s_read (self, HT_MSG_GET, HT_MSG_GET_OK, kind, key, &query, result);
}

int
ht_client_find (ht_client_t *self, const char *kind, const char *natural_key,
                const char *purpose, ht_client_result_t *result)
{
    ht_client_query_t query = { .purpose = purpose, .value = natural_key };
    return s_read (self, HT_MSG_FIND, HT_MSG_FIND_OK, kind, NULL, &query, result);
}

int
ht_client_list (ht_client_t *self, const char *kind, const ht_client_query_t *query,
                ht_client_result_t *result)
{
    return s_read (self, HT_MSG_LIST, HT_MSG_LIST_OK, kind, NULL, query, result);
}

int
ht_client_history (ht_client_t *self, const char *kind, const char *key, const char *purpose,
                   ht_client_result_t *result)
{
    ht_client_query_t query = { .purpose = purpose };
    return s_read (self, HT_MSG_HISTORY, HT_MSG_HISTORY_OK, kind, key, &query, result);
}

json_t *
ht_client_count (ht_client_t *self, const char *kind, const char *region,
                 const char *purpose, int *error)
{
    ht_client_query_t query = { .purpose = purpose, .region = region };
    ht_client_result_t result;
    *error = s_read (self, HT_MSG_COUNT, HT_MSG_COUNT_OK, kind, NULL, &query, &result);
    json_t *json = result.json;
    result.json = NULL;
    ht_client_result_free (&result);
    return json;
}

//  --------------------------------------------------------------------------
//  Change feeds

static void
s_event_destroy (s_event_t **event_p)
{
    if (*event_p) {
        ht_record_destroy (&(*event_p)->record);
        free (*event_p);
        *event_p = NULL;
    }
}

static void
s_feed_destroy (s_feed_t **feed_p)
{
    if (*feed_p) {
        zlistx_destroy (&(*feed_p)->queue);
        free (*feed_p);
        *feed_p = NULL;
    }
}

#define S_FEED_WINDOW 1000          //  credit a subscription keeps granted
#define S_FEED_WINDOW_MAX 2000      //  the most a node lets be outstanding

int
ht_client_feed_start (ht_client_t *self, const ht_client_feed_t *spec)
{
    s_feed_destroy (&self->feed);
    s_feed_t *feed = (s_feed_t *) zmalloc (sizeof (s_feed_t));
    feed->spec = *spec;
    if (!s_item (feed->kinds, sizeof feed->kinds, spec->kinds)
    ||  !s_item (feed->region, sizeof feed->region, spec->region)
    ||  !s_item (feed->field, sizeof feed->field, spec->field)
    ||  !s_item (feed->value, sizeof feed->value, spec->value)
    ||  !s_item (feed->purpose, sizeof feed->purpose, spec->purpose)) {
        free (feed);
        return s_fail (self, HT_EINVAL, "a subscription item is too long");
    }
    if (spec->epoch) {
        memcpy (feed->epoch, spec->epoch, HT_MSG_EPOCH_BYTES);
        feed->cursor = feed->received = feed->batch_end = spec->cursor;
        feed->has_cursor = true;
    }
    if (!feed->spec.window || feed->spec.window > S_FEED_WINDOW_MAX)
        feed->spec.window = S_FEED_WINDOW;
    feed->queue = zlistx_new ();
    zlistx_set_destructor (feed->queue, (czmq_destructor *) s_event_destroy);
    self->feed = feed;
    return HT_OK;
}

//  Send SUBSCRIBE from where we are; the answer comes with the events
static int
s_feed_subscribe (ht_client_t *self)
{
    s_feed_t *feed = self->feed;
    //  The subscription we leave would go on spending its credit
    if (feed->token && self->dealer) {
        ht_msg_t leave;
        ht_msg_init (&leave, HT_MSG_UNSUBSCRIBE);
        leave.token = feed->token;
        zmsg_t *zmsg = ht_msg_encode (&leave);
        if (zmsg_send (&zmsg, self->dealer) != 0)
            zmsg_destroy (&zmsg);
    }
    ht_msg_t request;
    ht_msg_init (&request, HT_MSG_SUBSCRIBE);
    request.token = feed->token = ++self->token;
    strcpy (request.kind, feed->kinds);
    strcpy (request.region, feed->region);
    strcpy (request.field, feed->field);
    strcpy (request.value, feed->value);
    strcpy (request.purpose, feed->purpose);
    if (feed->has_cursor) {
        memcpy (request.epoch, feed->epoch, HT_MSG_EPOCH_BYTES);
        request.has_epoch = true;
        request.cursor = feed->cursor;
    }
    else
        snprintf (request.after, sizeof request.after, "%s", feed->spec.from_now? "now": "start");
    request.max = feed->spec.window;
    //  Whatever was queued after the cursor comes again
    zlistx_purge (feed->queue);
    feed->received = feed->batch_end = feed->cursor;
    feed->consumed = 0;
    feed->subscribed = false;
    int rc = s_send (self, &request, NULL);
    return rc == S_WAITING? HT_OK: rc;
}

//  The JSON frame of a feed message (after the body), or NULL
static json_t *
s_feed_json (zmsg_t *reply)
{
    zframe_t *frame = zmsg_first (reply);
    json_t *json = frame? json_loadb ((const char *) zframe_data (frame), zframe_size (frame),
                                      0, NULL): NULL;
    if (!json_is_object (json)) {
        json_decref (json);
        return NULL;
    }
    return json;
}

//  Take an epoch from a feed message's JSON
static bool
s_feed_epoch (json_t *json, uint8_t *epoch)
{
    const char *hex = json_string_value (json_object_get (json, "epoch"));
    return hex && strlen (hex) == 2 * HT_MSG_EPOCH_BYTES
        && ht_hex_decode (hex, epoch, HT_MSG_EPOCH_BYTES) == HT_OK;
}

//  One message for the subscription: queue events, follow heartbeats,
//  heal gaps. HT_OK, S_WAITING (nothing for us), or an error.
static int
s_feed_on_message (ht_client_t *self)
{
    s_feed_t *feed = self->feed;
    zmsg_t *reply = zmsg_recv (self->dealer);
    if (!reply)
        return S_WAITING;
    ht_msg_t answer;
    const char *why = NULL;
    int rc = ht_msg_decode (reply, &answer, &why);
    json_t *json = rc == HT_OK? s_feed_json (reply): NULL;
    uint8_t epoch [HT_MSG_EPOCH_BYTES];
    if (rc != HT_OK)
        rc = s_fail (self, HT_EMALFORMED, "the node's feed message does not decode: %s", why);
    else
    if (answer.token != feed->token && !(streq (answer.command, HT_MSG_ERROR) && !answer.token))
        rc = S_WAITING;                 //  an old subscription's, or a request's
    else
    if (streq (answer.command, HT_MSG_ERROR))
        rc = s_node_error (self, &answer);
    else
    if (streq (answer.command, HT_MSG_RESYNC)) {
        rc = s_fail (self, HT_ERESYNC, "the node cannot serve this cursor: %s",
                     json? json_string_value (json_object_get (json, "reason")): "resync");
        feed->has_cursor = false;       //  the next start is from the start
    }
    else
    if (!json || !s_feed_epoch (json, epoch))
        rc = s_fail (self, HT_EMALFORMED, "the node's %s carries no epoch", answer.command);
    else
    if (streq (answer.command, HT_MSG_SUBSCRIBE_OK)) {
        feed->subscribed = true;
        memcpy (feed->epoch, epoch, HT_MSG_EPOCH_BYTES);
        feed->cursor = feed->received = feed->batch_end =
            (uint64_t) json_integer_value (json_object_get (json, "cursor"));
        feed->has_cursor = true;
        rc = S_WAITING;
    }
    else
    if (streq (answer.command, HT_MSG_FEED_HB)) {
        uint64_t through = (uint64_t) json_integer_value (json_object_get (json, "events_through"));
        uint64_t cursor = (uint64_t) json_integer_value (json_object_get (json, "cursor"));
        if (through > feed->received) {
            feed->resubscribed++;       //  an EVENTS was lost on the way
            rc = s_feed_subscribe (self);
            rc = rc == HT_OK? S_WAITING: rc;
        }
        else {
            if (cursor > feed->received)
                feed->received = feed->batch_end = cursor;
            if (zlistx_size (feed->queue) == 0 && cursor > feed->cursor)
                feed->cursor = cursor;  //  skipped entries: nothing to see
            rc = S_WAITING;
        }
    }
    else
    if (streq (answer.command, HT_MSG_EVENTS)) {
        uint64_t from = (uint64_t) json_integer_value (json_object_get (json, "from"));
        uint64_t end = (uint64_t) json_integer_value (json_object_get (json, "cursor"));
        json_t *events = json_object_get (json, "events");
        if (from != feed->received) {
            feed->resubscribed++;       //  a batch went missing: from our cursor
            rc = s_feed_subscribe (self);
            rc = rc == HT_OK? S_WAITING: rc;
        }
        else {
            size_t index = 0;
            rc = HT_OK;
            for (zframe_t *frame = zmsg_next (reply); frame && rc == HT_OK;
                 frame = zmsg_next (reply), index++) {
                int error = 0;
                const char *reason = NULL;
                ht_record_t *record = s_frame_record (frame, &error, &reason);
                if (!record)
                    rc = s_fail (self, error? error: HT_EMALFORMED, "event %zu does not verify: %s",
                                 index, reason? reason: ht_strerror (error));
                else {
                    s_event_t *event = (s_event_t *) zmalloc (sizeof (s_event_t));
                    event->record = record;
                    event->seq = (uint64_t) json_integer_value (json_object_get (
                        json_array_get (events, index), "seq"));
                    zlistx_add_end (feed->queue, event);
                }
            }
            s_event_t *tail = (s_event_t *) zlistx_last (feed->queue);
            if (tail)
                tail->last = true;
            feed->received = feed->batch_end = end;
            if (rc == HT_OK && !zlistx_size (feed->queue))
                rc = S_WAITING;
        }
    }
    else
        rc = S_WAITING;
    json_decref (json);
    zmsg_destroy (&reply);
    return rc;
}

int
ht_client_feed_next (ht_client_t *self, int timeout_ms, ht_client_event_t *event)
{
    memset (event, 0, sizeof (*event));
    s_feed_t *feed = self->feed;
    if (!feed)
        return s_fail (self, HT_EINVAL, "no feed: call ht_client_feed_start first");
    self->reason [0] = 0;
    int rc = HT_OK;
    if (!feed->subscribed && !self->dealer)
        rc = s_connect (self);
    if (rc == HT_OK && !feed->subscribed && feed->token == 0)
        rc = s_feed_subscribe (self);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (rc == HT_OK && zlistx_size (feed->queue) == 0) {
        int64_t left = deadline - zclock_mono ();
        void *which = left > 0? zpoller_wait (self->poller, (int) left): NULL;
        if (which == self->events)
            rc = s_on_event (self) == S_WAITING? HT_OK: HT_EPOLICY;
        else
        if (which == self->dealer) {
            rc = s_feed_on_message (self);
            if (rc == S_WAITING)
                rc = HT_OK;
        }
        else
            return s_fail (self, HT_ETIMEOUT, "no event within %d ms", timeout_ms);
    }
    if (rc != HT_OK) {
        //  A dropped connection or refusal: the next call starts afresh
        if (rc != HT_ERESYNC && rc != HT_ETIMEOUT)
            s_disconnect (self);
        feed->subscribed = false;
        feed->token = 0;
        return rc;
    }
    s_event_t *next = (s_event_t *) zlistx_first (feed->queue);
    void *handle = zlistx_cursor (feed->queue);
    event->record = next->record;
    next->record = NULL;
    event->seq = next->seq;
    feed->cursor = next->last? feed->batch_end: next->seq;
    zlistx_delete (feed->queue, handle);
    memcpy (event->epoch, feed->epoch, HT_MSG_EPOCH_BYTES);
    event->cursor = feed->cursor;
    //  Keep the window granted: give back what was consumed, in halves
    if (++feed->consumed >= feed->spec.window / 2) {
        ht_msg_t credit;
        ht_msg_init (&credit, HT_MSG_CREDIT);
        credit.token = feed->token;
        credit.max = feed->consumed;
        zmsg_t *zmsg = ht_msg_encode (&credit);
        if (zmsg_send (&zmsg, self->dealer) != 0)
            zmsg_destroy (&zmsg);
        feed->consumed = 0;
    }
    return HT_OK;
}

void
ht_client_feed_cursor (const ht_client_t *self, uint8_t epoch [HT_MSG_EPOCH_BYTES],
                       uint64_t *cursor, bool *has_cursor)
{
    const s_feed_t *feed = self->feed;
    *has_cursor = feed && feed->has_cursor;
    if (*has_cursor) {
        memcpy (epoch, feed->epoch, HT_MSG_EPOCH_BYTES);
        *cursor = feed->cursor;
    }
}

uint64_t
ht_client_feed_resubscribed (const ht_client_t *self)
{
    return self->feed? self->feed->resubscribed: 0;
}
