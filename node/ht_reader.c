//  ht_reader: the reader thread (see ht_reader.h).
#include "ht_reader.h"
#include "ht_hlc.h"

typedef struct {
    ht_store_t *store;
    char region [HT_REGION_BYTES];
    ht_policyset_t *policies;
} s_args_t;

//  Answer one READ message
static void
s_read (zsock_t *pipe, ht_query_t *query, zmsg_t *request)
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
    zmsg_t *reply = ht_query_answer (query, (const ht_query_client_t *) zframe_data (client),
                                     (const ht_msg_t *) zframe_data (msg), ht_hlc_wall_ms (),
                                     &audit);
    zmsg_pushmem (reply, &audit, sizeof audit);
    zmsg_prepend (reply, &routing_id);
    if (zmsg_send (&reply, pipe) != 0) {
        zmsg_destroy (&reply);
        ht_record_destroy (&audit);
    }
    zframe_destroy (&client);
    zframe_destroy (&msg);
}

static void
s_reader_actor (zsock_t *pipe, void *arg)
{
    s_args_t *args = (s_args_t *) arg;
    ht_query_t *query = ht_query_new (args->store, args->region, args->policies);
    free (args);
    zsock_signal (pipe, 0);
    while (true) {
        zmsg_t *message = zmsg_recv (pipe);
        if (!message)
            break;
        char *command = zmsg_popstr (message);
        bool stop = !command || streq (command, "$TERM");
        if (command && streq (command, "READ"))
            s_read (pipe, query, message);
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
        zstr_free (&command);
        zmsg_destroy (&message);
        if (stop)
            break;
    }
    ht_query_destroy (&query);
}

zactor_t *
ht_reader_new (ht_store_t *store, const char *region, ht_policyset_t *policies)
{
    s_args_t *args = (s_args_t *) zmalloc (sizeof (s_args_t));
    args->store = store;
    snprintf (args->region, sizeof args->region, "%s", region);
    args->policies = policies;
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
