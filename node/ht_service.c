//  ht_service: requests from clients on the client socket — PUT (signed
//  records), STATUS and INFO. Replies carry the request's token and a JSON
//  document as their last frame.
#include <sodium.h>
#include "ht_node_private.h"

//  Send a reply command with token and a JSON frame to routing_id
static void
s_reply (ht_node_t *self, zframe_t *routing_id, const char *command, uint64_t token,
         json_t *json)
{
    ht_msg_t msg;
    ht_msg_init (&msg, command);
    msg.token = token;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    zmsg_addstr (zmsg, text? text: "{}");
    free (text);
    zframe_t *id = zframe_dup (routing_id);
    zmsg_prepend (zmsg, &id);
    ht_node_send (self, self->client, &zmsg);
}

//  0 if the client may make a request now; else answer it rate_limited
//  (an answer the client does not read is dropped, not queued)
static int
s_check_rate (ht_node_t *self, zframe_t *routing_id, const char *user, uint64_t token)
{
    if (ht_ratelimit_check (self->client_rates, user, self->config.client_rate,
                            self->config.client_burst, ht_node_now ()) == HT_OK)
        return HT_OK;
    self->rate_limited++;
    ht_msg_t error;
    ht_msg_init (&error, HT_MSG_ERROR);
    error.token = token;
    snprintf (error.error, sizeof error.error, "%s", ht_errname (HT_ERATELIMIT));
    snprintf (error.text, sizeof error.text, "more than %d requests at once or %d a second "
              "from this key; slow down", self->config.client_burst, self->config.client_rate);
    zmsg_t *out = ht_msg_encode (&error);
    zframe_t *id = zframe_dup (routing_id);
    zmsg_prepend (out, &id);
    ht_node_send (self, self->client, &out);
    return HT_ERATELIMIT;
}

//  Store the records of a PUT as local writes: they enter the network
//  here, so they face the ingest window; quarantine counts them against
//  the client that sent them
static json_t *
s_put (ht_node_t *self, zmsg_t *records, const char *user)
{
    size_t count = zmsg_size (records);
    if (count > HT_PUT_MAX_RECORDS)
        return json_pack ("{s:s, s:s}", "error", "too_many_records",
                          "reason", "a PUT carries at most " HT_STRINGIFY (HT_PUT_MAX_RECORDS) " records");
    const uint8_t **data = (const uint8_t **) calloc (count + 1, sizeof (uint8_t *));
    size_t *sizes = (size_t *) calloc (count + 1, sizeof (size_t));
    int *results = (int *) calloc (count + 1, sizeof (int));
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (records); frame; frame = zmsg_next (records), index++) {
        data [index] = zframe_data (frame);
        sizes [index] = zframe_size (frame);
    }
    char source [32];
    snprintf (source, sizeof source, "client:%.16s", user);
    ht_origin_t origin = { .source = source };
    ht_apply_stats_t stats = { 0 };
    int rc = ht_store_apply_encoded (self->store, data, sizes, count, &origin, &stats,
                                     results);
    json_t *reply = json_pack ("{s:I, s:I, s:I, s:I, s:I}", "applied", (json_int_t) stats.applied,
                               "unchanged", (json_int_t) stats.unchanged,
                               "historic", (json_int_t) stats.historic,
                               "conflicts", (json_int_t) stats.conflicts,
                               "quarantined", (json_int_t) stats.quarantined);
    json_t *list = json_array ();
    for (index = 0; index < count; index++)
        json_array_append_new (list, json_string (ht_errname (rc? rc: results [index])));
    json_object_set_new (reply, "results", list);
    if (rc)
        json_object_set_new (reply, "error", json_string (ht_strerror (rc)));
    free (data);
    free (sizes);
    free (results);
    if (stats.applied) {
        self->last_seq = ht_store_last_seq (self->store);
        ht_repl_notify_all (self, NULL);
    }
    return reply;
}

//  Count quarantined entries by reason
static int
s_count_quarantine (void *arg, int code, const char *reason, const char *origin,
                    uint64_t when_ms, const uint8_t *data, size_t size)
{
    (void) reason; (void) origin; (void) when_ms; (void) data; (void) size;
    json_t *counts = (json_t *) arg;
    const char *name = ht_errname (code);
    json_int_t count = json_integer_value (json_object_get (counts, name));
    json_object_set_new (counts, name, json_integer (count + 1));
    return 0;
}

//  One peer's line in the status
static json_t *
s_peer_status (const ht_peer_t *peer, int64_t now)
{
    uint64_t lag = peer->peer_last_seq > peer->cursor? peer->peer_last_seq - peer->cursor: 0;
    return json_pack ("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "name", peer->label, "region", peer->name,
        "role", peer->is_parent? HT_PEER_PARENT: HT_PEER_CHILD,
        "connected", peer->welcomed,
        "last_seen_ms_ago", (json_int_t) (peer->last_seen_ms? now - peer->last_seen_ms: -1),
        "cursor", (json_int_t) peer->cursor, "peer_seq", (json_int_t) peer->peer_last_seq,
        "lag", (json_int_t) lag, "received", (json_int_t) peer->received,
        "applied", (json_int_t) peer->applied, "sent", (json_int_t) peer->sent);
}

json_t *
ht_service_status (ht_node_t *self)
{
    int64_t now = ht_node_now ();
    char epoch [2 * HT_MSG_EPOCH_BYTES + 1];
    json_t *status = json_pack ("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "name", self->config.name, "region", self->config.region,
        "epoch", ht_hex_encode (ht_store_epoch (self->store), HT_MSG_EPOCH_BYTES, epoch),
        "last_seq", (json_int_t) ht_store_last_seq (self->store),
        "refused_connections", (json_int_t) ht_refusals_total (self->refusals),
        "dropped_sends", (json_int_t) self->dropped_sends,
        "rate_limited", (json_int_t) self->rate_limited,
        "conflicts", (json_int_t) ht_store_counter (self->store, "conflicts"),
        "quarantine_dropped", (json_int_t) ht_store_counter (self->store, "quarantine_dropped"),
        "protocol_errors", (json_int_t) self->protocol_errors);
    json_t *peers = json_array ();
    for (ht_peer_t *peer = (ht_peer_t *) zhashx_first (self->peers); peer;
         peer = (ht_peer_t *) zhashx_next (self->peers))
        json_array_append_new (peers, s_peer_status (peer, now));
    json_object_set_new (status, "peers", peers);
    json_t *records = json_object ();
    for (size_t index = 0; ht_schema_kind_at (index); index++) {
        const char *kind = ht_schema_kind_at (index)->name;
        json_object_set_new (records, kind, json_integer ((json_int_t) ht_store_count (self->store, kind)));
    }
    json_object_set_new (status, "records", records);
    json_t *quarantine = json_object ();
    ht_store_quarantine (self->store, s_count_quarantine, quarantine);
    json_object_set_new (status, "quarantine", quarantine);
    return status;
}

//  Who we are, and the asking client's own certificate (for default scopes)
static json_t *
s_info (ht_node_t *self, const char *user_id)
{
    char hex [2 * HT_PUBKEY_BYTES + 1];
    json_t *info = json_pack ("{s:s, s:s, s:s, s:I}", "name", self->config.name,
        "region", self->config.region,
        "anchor", ht_hex_encode (ht_store_anchor (self->store), HT_PUBKEY_BYTES, hex),
        "last_seq", (json_int_t) ht_store_last_seq (self->store));
    int error = 0;
    ht_record_t *cert = user_id? ht_store_get (self->store, "cert", user_id, &error): NULL;
    json_object_set_new (info, "client_cert", cert? ht_record_to_json (cert): json_null ());
    ht_record_destroy (&cert);
    return info;
}

int
ht_service_handle (ht_node_t *self)
{
    zmsg_t *zmsg = zmsg_recv (self->client);
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
    //  The budget is per key, checked before any work but decoding the
    //  small body (for the token), so one client cannot keep the loop
    //  from replication and from the other clients
    if (routing_id && s_check_rate (self, routing_id, user, rc? 0: msg.token) != HT_OK) {
        zframe_destroy (&routing_id);
        zmsg_destroy (&zmsg);
        return 0;
    }
    json_t *reply = NULL;
    const char *command = NULL;
    //  The key may have been revoked, or its certificate expired, since
    //  its connection was admitted: every request asks the gate again
    const char *why = NULL;
    int admitted = rc == HT_OK? ht_zap_admit (self, HT_GATE_CLIENT_SOCKET, user, NULL,
                                              NULL, &why): HT_OK;
    if (admitted != HT_OK) {
        reply = json_pack ("{s:s, s:s}", "error", ht_errname (admitted), "reason", why);
        command = HT_MSG_ERROR;
    }
    else
    if (rc == HT_OK && streq (msg.command, HT_MSG_PUT)) {
        reply = s_put (self, zmsg, user);
        command = json_object_get (reply, "reason")? HT_MSG_ERROR: HT_MSG_PUT_OK;
    }
    else
    if (rc == HT_OK && streq (msg.command, HT_MSG_STATUS))
        reply = ht_service_status (self), command = HT_MSG_STATUS_OK;
    else
    if (rc == HT_OK && streq (msg.command, HT_MSG_INFO))
        reply = s_info (self, *user? user: NULL), command = HT_MSG_INFO_OK;
    else {
        self->protocol_errors++;
        reply = json_pack ("{s:s, s:s}", "error", rc? ht_errname (rc): "unknown_request",
                           "reason", rc? reason: "expected PUT, STATUS or INFO");
        command = HT_MSG_ERROR;
    }
    if (routing_id) {
        if (streq (command, HT_MSG_ERROR)) {
            ht_msg_t error;
            ht_msg_init (&error, HT_MSG_ERROR);
            error.token = rc? 0: msg.token;
            snprintf (error.error, sizeof error.error, "%s",
                      json_string_value (json_object_get (reply, "error")));
            snprintf (error.text, sizeof error.text, "%s",
                      json_string_value (json_object_get (reply, "reason")));
            zmsg_t *out = ht_msg_encode (&error);
            zframe_t *id = zframe_dup (routing_id);
            zmsg_prepend (out, &id);
            ht_node_send (self, self->client, &out);
        }
        else
            s_reply (self, routing_id, command, msg.token, reply);
    }
    json_decref (reply);
    zframe_destroy (&routing_id);
    zmsg_destroy (&zmsg);
    return 0;
}
