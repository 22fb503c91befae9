//  ht_client: request/reply over a DEALER with CURVE; tokens match replies
//  to requests so a late answer to an abandoned request is ignored.
#include "ht_client.h"
#include "ht_msg.h"

struct _ht_client_t {
    zsock_t *dealer;                //  CURVE client to the node
    zpoller_t *poller;              //  waits for replies
    int timeout_ms;                 //  how long to wait
    uint64_t token;                 //  last request's token
};

ht_client_t *
ht_client_new (const char *endpoint, const uint8_t node_key [HT_PUBKEY_BYTES],
               const ht_keypair_t *key, int timeout_ms)
{
    uint8_t server_curve [HT_CURVE_KEY_BYTES];
    if (ht_curve_public_from_ed25519 (node_key, server_curve))
        return NULL;
    ht_client_t *self = (ht_client_t *) zmalloc (sizeof (ht_client_t));
    self->dealer = zsock_new (ZMQ_DEALER);
    zsock_set_curve_serverkey_bin (self->dealer, server_curve);
    zsock_set_curve_publickey_bin (self->dealer, ht_keypair_curve_public (key));
    zsock_set_curve_secretkey_bin (self->dealer, ht_keypair_curve_secret (key));
    zsock_set_linger (self->dealer, 0);
    zsock_set_sndhwm (self->dealer, 0);
    if (zsock_connect (self->dealer, "%s", endpoint) < 0) {
        ht_client_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (self->dealer, NULL);
    self->timeout_ms = timeout_ms;
    return self;
}

void
ht_client_destroy (ht_client_t **self_p)
{
    ht_client_t *self = *self_p;
    if (self) {
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->dealer);
        free (self);
        *self_p = NULL;
    }
}

//  Send a request (records frames consumed) and wait for the reply with
//  our token; returns its JSON frame parsed, or NULL with *error
static json_t *
s_request (ht_client_t *self, const char *command, zmsg_t **records_p, int *error)
{
    ht_msg_t msg;
    ht_msg_init (&msg, command);
    msg.token = ++self->token;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    zframe_t *frame;
    while (records_p && *records_p && (frame = zmsg_pop (*records_p)))
        zmsg_append (zmsg, &frame);
    if (records_p)
        zmsg_destroy (records_p);
    zmsg_send (&zmsg, self->dealer);
    int64_t deadline = zclock_mono () + self->timeout_ms;
    while (zclock_mono () < deadline) {
        if (!zpoller_wait (self->poller, (int) (deadline - zclock_mono ())))
            break;
        zmsg_t *reply = zmsg_recv (self->dealer);
        ht_msg_t answer;
        const char *reason = NULL;
        int rc = reply? ht_msg_decode (reply, &answer, &reason): HT_EMALFORMED;
        //  A request the node could not read is answered with ERROR and
        //  token 0; we have one request out, so that answer is ours
        bool ours = answer.token == msg.token
                 || (streq (answer.command, HT_MSG_ERROR) && answer.token == 0);
        if (rc == HT_OK && ours) {
            json_t *json = NULL;
            char *text = streq (answer.command, HT_MSG_ERROR)? NULL: zmsg_popstr (reply);
            if (text)
                json = json_loads (text, 0, NULL);
            zstr_free (&text);
            *error = json? HT_OK: streq (answer.error, "too_many_records")
                                  || streq (answer.error, "malformed")? HT_EINVAL: HT_EPOLICY;
            zmsg_destroy (&reply);
            return json;
        }
        zmsg_destroy (&reply);          //  a late answer to an old request
    }
    *error = HT_ETIMEOUT;
    return NULL;
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
            *error = HT_EINVAL;
            return NULL;
        }
        zmsg_addmem (frames, data, size);
        free (data);
    }
    return s_request (self, HT_MSG_PUT, &frames, error);
}

json_t *
ht_client_status (ht_client_t *self, int *error)
{
    return s_request (self, HT_MSG_STATUS, NULL, error);
}

json_t *
ht_client_info (ht_client_t *self, int *error)
{
    return s_request (self, HT_MSG_INFO, NULL, error);
}
