//  ht_reader: the reader thread (see ht_reader.h).
#include "ht_reader.h"
#include <inttypes.h>
#include "ht_feed.h"
#include "ht_hlc.h"

#define S_FEED_IDLE_POLL_MS 100     //  look for new changes this often
                                    //  when nobody said WROTE
#define S_FEED_TURNS 16             //  feed messages between looks at the pipe

typedef struct {
    ht_store_t *store;
    char region [HT_REGION_BYTES];
    ht_policyset_t *policies;
    ht_latency_t *latency;
} s_args_t;

//  Send an answer to the node: [routing id] [audit draft pointer] frames
static void
s_send_answer (zsock_t *pipe, zframe_t **routing_id_p, ht_record_t *audit, zmsg_t **reply_p)
{
    zmsg_pushmem (*reply_p, &audit, sizeof audit);
    zmsg_prepend (*reply_p, routing_id_p);
    if (zmsg_send (reply_p, pipe) != 0) {
        zmsg_destroy (reply_p);
        ht_record_destroy (&audit);
    }
}

//  Answer one READ message: a read, or a feed request
static void
s_read (zsock_t *pipe, ht_query_t *query, ht_feed_t *feed, ht_latency_t *latency,
        zmsg_t *request)
{
    zframe_t *routing_id = zmsg_pop (request);
    zframe_t *client = zmsg_pop (request);
    zframe_t *msg = zmsg_pop (request);
    if (!routing_id || !client || !msg
    ||  zframe_size (client) != sizeof (ht_query_client_t)
    ||  zframe_size (msg) != sizeof (ht_msg_t)) {
        zframe_destroy (&routing_id);
        zframe_destroy (&client);
        zframe_destroy (&msg);
        return;                     //  not from our node: cannot happen
    }
    ht_record_t *audit = NULL;
    const ht_msg_t *decoded = (const ht_msg_t *) zframe_data (msg);
    const ht_query_client_t *who = (const ht_query_client_t *) zframe_data (client);
    int64_t started_us = zclock_usecs ();
    zmsg_t *reply = ht_feed_handles (decoded->command)
                  ? ht_feed_request (feed, routing_id, who, decoded, zclock_mono ())
                  : ht_query_answer (query, who, decoded, ht_hlc_wall_ms (), &audit);
    if (latency)
        ht_latency_record (latency, decoded->command, zclock_usecs () - started_us);
    if (reply)
        s_send_answer (pipe, &routing_id, audit, &reply);
    zframe_destroy (&routing_id);
    zframe_destroy (&client);
    zframe_destroy (&msg);
}

//  Send what the feed's subscriptions have due, a few at a time
static void
s_feed_work (zsock_t *pipe, ht_feed_t *feed)
{
    for (int turn = 0; turn < S_FEED_TURNS; turn++) {
        zframe_t *routing_id = NULL;
        ht_record_t *audit = NULL;
        zmsg_t *message = ht_feed_next (feed, zclock_mono (), &routing_id, &audit);
        if (!message)
            break;
        s_send_answer (pipe, &routing_id, audit, &message);
    }
}

//  One command from the node; false to stop
static bool
s_command (zsock_t *pipe, ht_query_t *query, ht_feed_t *feed, ht_latency_t *latency)
{
    zmsg_t *message = zmsg_recv (pipe);
    if (!message)
        return false;
    char *command = zmsg_popstr (message);
    bool stop = !command || streq (command, "$TERM");
    if (command && streq (command, "READ"))
        s_read (pipe, query, feed, latency, message);
    else
    if (command && streq (command, "REWIND")) {
        zframe_t *routing_id = zmsg_pop (message);
        char *token = zmsg_popstr (message), *from = zmsg_popstr (message);
        char *events = zmsg_popstr (message);
        if (routing_id && token && from && events)
            ht_feed_rewind (feed, routing_id, strtoull (token, NULL, 10),
                            strtoull (from, NULL, 10), (size_t) strtoull (events, NULL, 10));
        zframe_destroy (&routing_id);
        zstr_free (&token);
        zstr_free (&from);
        zstr_free (&events);
    }
    else
    if (command && streq (command, "POLICIES")) {
        zframe_t *frame = zmsg_pop (message);
        ht_policyset_t *policies = NULL;
        if (frame && zframe_size (frame) == sizeof policies) {
            memcpy (&policies, zframe_data (frame), sizeof policies);
            ht_query_set_policies (query, policies);
        }
        zframe_destroy (&frame);
    }
    else
    if (command && streq (command, "STOP"))
        zstr_send (pipe, "STOPPED");    //  every answer before it is sent
    //  WROTE needs nothing more: the loop looks at the store after it
    zstr_free (&command);
    zmsg_destroy (&message);
    return !stop;
}

static void
s_reader_actor (zsock_t *pipe, void *arg)
{
    s_args_t *args = (s_args_t *) arg;
    ht_query_t *query = ht_query_new (args->store, args->region, args->policies);
    ht_feed_t *feed = ht_feed_new (query, args->store);
    ht_latency_t *latency = args->latency;
    free (args);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    bool running = true;
    while (running) {
        //  Feeds with credit and changes waiting are served between
        //  requests; otherwise wait for a request, a WROTE, or the time
        //  to look for changes and send heartbeats
        int timeout = ht_feed_busy (feed)? 0: ht_feed_size (feed)? S_FEED_IDLE_POLL_MS: -1;
        void *which = zpoller_wait (poller, timeout);
        if (which == pipe)
            running = s_command (pipe, query, feed, latency);
        else
        if (zpoller_terminated (poller))
            break;
        while (running && (zsock_events (pipe) & ZMQ_POLLIN))
            running = s_command (pipe, query, feed, latency);
        if (running)
            s_feed_work (pipe, feed);
    }
    zpoller_destroy (&poller);
    ht_feed_destroy (&feed);
    ht_query_destroy (&query);
}

zactor_t *
ht_reader_new (ht_store_t *store, const char *region, ht_policyset_t *policies,
               ht_latency_t *latency)
{
    s_args_t *args = (s_args_t *) zmalloc (sizeof (s_args_t));
    args->store = store;
    snprintf (args->region, sizeof args->region, "%s", region);
    args->policies = policies;
    args->latency = latency;
    zactor_t *self = zactor_new (s_reader_actor, args);
    if (self)
        zsock_set_sndtimeo (zactor_sock (self), 0);
    return self;
}

void
ht_reader_destroy (zactor_t **self_p)
{
    if (!*self_p)
        return;
    //  Answers still queued carry audit drafts: take them all (the pipe
    //  keeps order, so STOPPED comes after the last) and free them
    zactor_t *self = *self_p;
    zsock_t *pipe = zactor_sock (self);
    zsock_set_sndtimeo (pipe, -1);
    if (zstr_send (pipe, "STOP") == 0)
        while (true) {
            zmsg_t *reply = zmsg_recv (pipe);
            if (!reply || zmsg_size (reply) == 1) {
                zmsg_destroy (&reply);
                break;
            }
            zframe_t *routing_id = zmsg_pop (reply);
            zframe_t *audit = zmsg_pop (reply);
            zframe_destroy (&routing_id);
            ht_record_t *draft = NULL;
            if (audit && zframe_size (audit) == sizeof draft)
                memcpy (&draft, zframe_data (audit), sizeof draft);
            ht_record_destroy (&draft);
            zframe_destroy (&audit);
            zmsg_destroy (&reply);
        }
    zactor_destroy (self_p);
}

int
ht_reader_send (zactor_t *self, zframe_t *routing_id, const ht_query_client_t *client,
                const ht_msg_t *msg)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "READ");
    zmsg_addmem (request, zframe_data (routing_id), zframe_size (routing_id));
    zmsg_addmem (request, client, sizeof (*client));
    zmsg_addmem (request, msg, sizeof (*msg));
    if (zmsg_send (&request, zactor_sock (self)) != 0) {
        zmsg_destroy (&request);
        return HT_ERATELIMIT;
    }
    return HT_OK;
}

void
ht_reader_wrote (zactor_t *self)
{
    zstr_send (zactor_sock (self), "WROTE");   //  a full queue drops it: the reader
                                               //  looks for changes by itself too
}

void
ht_reader_rewind (zactor_t *self, zframe_t *routing_id, uint64_t token, uint64_t from,
                  size_t events)
{
    zmsg_t *message = zmsg_new ();
    zmsg_addstr (message, "REWIND");
    zmsg_addmem (message, zframe_data (routing_id), zframe_size (routing_id));
    zmsg_addstrf (message, "%" PRIu64, token);
    zmsg_addstrf (message, "%" PRIu64, from);
    zmsg_addstrf (message, "%zu", events);
    if (zmsg_send (&message, zactor_sock (self)) != 0)
        zmsg_destroy (&message);
}

void
ht_reader_set_policies (zactor_t *self, ht_policyset_t *policies)
{
    zsock_set_sndtimeo (zactor_sock (self), -1);
    zmsg_t *message = zmsg_new ();
    zmsg_addstr (message, "POLICIES");
    zmsg_addmem (message, &policies, sizeof policies);
    zmsg_send (&message, zactor_sock (self));
    zsock_set_sndtimeo (zactor_sock (self), 0);
}

zmsg_t *
ht_reader_recv (zactor_t *self, zframe_t **routing_id_p, ht_record_t **audit_p)
{
    *routing_id_p = NULL;
    *audit_p = NULL;
    zsock_t *pipe = zactor_sock (self);
    if (!(zsock_events (pipe) & ZMQ_POLLIN))
        return NULL;
    zmsg_t *reply = zmsg_recv (pipe);
    if (!reply)
        return NULL;
    zframe_t *routing_id = zmsg_pop (reply);
    zframe_t *audit = zmsg_pop (reply);
    if (!routing_id || !audit || zframe_size (audit) != sizeof (ht_record_t *)) {
        zframe_destroy (&routing_id);
        zframe_destroy (&audit);
        zmsg_destroy (&reply);
        return NULL;
    }
    memcpy (audit_p, zframe_data (audit), sizeof (ht_record_t *));
    zframe_destroy (&audit);
    *routing_id_p = routing_id;
    return reply;
}
