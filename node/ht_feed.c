//  ht_feed: change-feed subscriptions (see ht_feed.h).
#include "ht_feed.h"

typedef struct {
    zframe_t *routing_id;               //  the client's connection
    ht_query_client_t client;           //  who, with its certificate
    ht_msg_t subscribe;                 //  what it asked for
    uint32_t kinds;                     //  as a mask
    uint64_t position;                  //  log entries up to here are done
    uint64_t events_through;            //  where the last EVENTS ended
    size_t credit;                      //  events it may still be sent
    int64_t last_sent_ms;               //  when we last sent it anything
    int64_t last_heard_ms;              //  when it last subscribed or gave credit
    bool caught_up;                     //  nothing waits after position
} s_sub_t;

struct _ht_feed_t {
    ht_query_t *query;                  //  borrowed
    ht_store_t *store;                  //  borrowed
    zlistx_t *subs;                     //  s_sub_t, taking turns
    uint64_t seen_seq;                  //  the store's last sequence, last look
};

static void
s_sub_destroy (s_sub_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->routing_id);
        free (*self_p);
        *self_p = NULL;
    }
}

ht_feed_t *
ht_feed_new (ht_query_t *query, ht_store_t *store)
{
    ht_feed_t *self = (ht_feed_t *) zmalloc (sizeof (ht_feed_t));
    self->query = query;
    self->store = store;
    self->subs = zlistx_new ();
    zlistx_set_destructor (self->subs, (czmq_destructor *) s_sub_destroy);
    return self;
}

void
ht_feed_destroy (ht_feed_t **self_p)
{
    ht_feed_t *self = *self_p;
    if (self) {
        zlistx_destroy (&self->subs);
        free (self);
        *self_p = NULL;
    }
}

bool
ht_feed_handles (const char *command)
{
    return streq (command, HT_MSG_SUBSCRIBE) || streq (command, HT_MSG_CREDIT)
        || streq (command, HT_MSG_UNSUBSCRIBE);
}

size_t
ht_feed_size (ht_feed_t *self)
{
    return zlistx_size (self->subs);
}

//  The subscription of a connection and token, or NULL
static s_sub_t *
s_find (ht_feed_t *self, zframe_t *routing_id, uint64_t token, void **handle_p)
{
    for (s_sub_t *sub = (s_sub_t *) zlistx_first (self->subs); sub;
         sub = (s_sub_t *) zlistx_next (self->subs))
        if (sub->subscribe.token == token && zframe_eq (sub->routing_id, routing_id)) {
            if (handle_p)
                *handle_p = zlistx_cursor (self->subs);
            return sub;
        }
    return NULL;
}

//  A message with token and a JSON frame
static zmsg_t *
s_json_message (const char *command, uint64_t token, json_t *json)
{
    ht_msg_t msg;
    ht_msg_init (&msg, command);
    msg.token = token;
    zmsg_t *zmsg = ht_msg_encode (&msg);
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    zmsg_addstr (zmsg, text? text: "{}");
    free (text);
    json_decref (json);
    return zmsg;
}

static const char *
s_epoch_hex (ht_feed_t *self, char *hex)
{
    return ht_hex_encode (ht_store_epoch (self->store), HT_EPOCH_BYTES, hex);
}

//  Subscriptions a client key holds
static size_t
s_count_of (ht_feed_t *self, const char *user)
{
    size_t count = 0;
    for (s_sub_t *sub = (s_sub_t *) zlistx_first (self->subs); sub;
         sub = (s_sub_t *) zlistx_next (self->subs))
        count += streq (sub->client.user, user);
    return count;
}

//  Drop subscriptions whose partner has not been heard of for long
static void
s_expire (ht_feed_t *self, int64_t now_ms)
{
    //  Deleting moves the list's cursor: start again after each one
    bool deleted = true;
    while (deleted) {
        deleted = false;
        for (s_sub_t *sub = (s_sub_t *) zlistx_first (self->subs); sub;
             sub = (s_sub_t *) zlistx_next (self->subs))
            if (now_ms - sub->last_heard_ms > HT_FEED_IDLE_MS) {
                zlistx_delete (self->subs, zlistx_cursor (self->subs));
                deleted = true;
                break;
            }
    }
}

static zmsg_t *
s_subscribe (ht_feed_t *self, zframe_t *routing_id, const ht_query_client_t *client,
             const ht_msg_t *msg, int64_t now_ms)
{
    uint32_t kinds = 0;
    const char *reason = NULL;
    int rc = ht_query_subscribe_check (self->query, client, msg, &kinds, &reason);
    if (rc != HT_OK)
        return ht_query_error (msg->token, rc, reason);
    char epoch [2 * HT_EPOCH_BYTES + 1];
    uint64_t last_seq = ht_store_last_seq (self->store);
    uint64_t position = 0;
    if (msg->has_epoch) {
        //  Resuming: only a cursor this store issued, in this epoch
        if (memcmp (msg->epoch, ht_store_epoch (self->store), HT_EPOCH_BYTES) != 0)
            return s_json_message (HT_MSG_RESYNC, msg->token, json_pack ("{s:s, s:s}",
                "epoch", s_epoch_hex (self, epoch), "reason", "the cursor is of another epoch "
                "of this node's store (restored or rebuilt): start again from the start"));
        if (msg->cursor > last_seq)
            return s_json_message (HT_MSG_RESYNC, msg->token, json_pack ("{s:s, s:s}",
                "epoch", s_epoch_hex (self, epoch), "reason", "the cursor is past this node's "
                "log (the store was rolled back): start again from the start"));
        position = msg->cursor;
    }
    else
    if (streq (msg->after, "now"))
        position = last_seq;
    else
    if (*msg->after && !streq (msg->after, "start"))
        return ht_query_error (msg->token, HT_EINVAL, "after: start or now (or give epoch "
                               "and cursor to resume)");
    //  Subscribing again with the same token replaces the subscription
    void *handle = NULL;
    if (s_find (self, routing_id, msg->token, &handle))
        zlistx_delete (self->subs, handle);
    s_expire (self, now_ms);
    if (zlistx_size (self->subs) >= HT_FEED_MAX_SUBSCRIPTIONS
    ||  s_count_of (self, client->user) >= HT_FEED_MAX_PER_KEY)
        return ht_query_error (msg->token, HT_ERATELIMIT, "too many subscriptions: at most "
                               HT_STRINGIFY (HT_FEED_MAX_PER_KEY) " per key and "
                               HT_STRINGIFY (HT_FEED_MAX_SUBSCRIPTIONS) " per node");
    s_sub_t *sub = (s_sub_t *) zmalloc (sizeof (s_sub_t));
    sub->routing_id = zframe_dup (routing_id);
    sub->client = *client;
    sub->subscribe = *msg;
    sub->kinds = kinds;
    sub->position = sub->events_through = position;
    sub->credit = msg->max > HT_FEED_MAX_CREDIT? HT_FEED_MAX_CREDIT: (size_t) msg->max;
    sub->last_heard_ms = sub->last_sent_ms = now_ms;
    zlistx_add_end (self->subs, sub);
    json_t *kinds_json = json_array ();
    for (size_t index = 0; ht_schema_kind_at (index); index++)
        if (kinds & (1u << index))
            json_array_append_new (kinds_json, json_string (ht_schema_kind_at (index)->name));
    const ht_policy_t *policy = ht_query_policy (self->query, &client->cert);
    return s_json_message (HT_MSG_SUBSCRIBE_OK, msg->token, json_pack (
        "{s:s, s:I, s:I, s:o, s:s, s:I}", "epoch", s_epoch_hex (self, epoch),
        "cursor", (json_int_t) position, "last_seq", (json_int_t) last_seq, "kinds", kinds_json,
        "policy", policy? policy->name: "", "credit", (json_int_t) sub->credit));
}

zmsg_t *
ht_feed_request (ht_feed_t *self, zframe_t *routing_id, const ht_query_client_t *client,
                 const ht_msg_t *msg, int64_t now_ms)
{
    if (streq (msg->command, HT_MSG_SUBSCRIBE))
        return s_subscribe (self, routing_id, client, msg, now_ms);
    void *handle = NULL;
    s_sub_t *sub = s_find (self, routing_id, msg->token, &handle);
    //  A key may only touch its own subscriptions (the routing id is its
    //  connection's; checked again in case a connection changed keys)
    if (sub && !streq (sub->client.user, client->user))
        sub = NULL;
    if (streq (msg->command, HT_MSG_UNSUBSCRIBE)) {
        if (sub)
            zlistx_delete (self->subs, handle);
        return NULL;
    }
    //  CREDIT for a subscription we do not hold (dropped as idle, or the
    //  node restarted): tell the client to subscribe again from its cursor
    if (!sub)
        return ht_query_error (msg->token, HT_ENOTFOUND, "no such subscription here: "
                               "subscribe again from your cursor");
    //  Capped before adding: a huge grant must not wrap
    sub->credit = msg->max >= HT_FEED_MAX_CREDIT - sub->credit
                ? HT_FEED_MAX_CREDIT: sub->credit + (size_t) msg->max;
    sub->last_heard_ms = now_ms;
    return NULL;
}

void
ht_feed_rewind (ht_feed_t *self, zframe_t *routing_id, uint64_t token, uint64_t from,
                size_t events)
{
    //  Several batches may be rewound (their audit records failed
    //  together): go back to the earliest, and give back their credit,
    //  which the client never saw and so never gives back itself
    s_sub_t *sub = s_find (self, routing_id, token, NULL);
    if (sub) {
        if (from < sub->position)
            sub->position = from;
        sub->credit = events >= HT_FEED_MAX_CREDIT - sub->credit
                    ? HT_FEED_MAX_CREDIT: sub->credit + events;
        sub->caught_up = false;
    }
}

bool
ht_feed_busy (ht_feed_t *self)
{
    uint64_t last_seq = ht_store_last_seq (self->store);
    if (last_seq != self->seen_seq) {
        self->seen_seq = last_seq;
        for (s_sub_t *sub = (s_sub_t *) zlistx_first (self->subs); sub;
             sub = (s_sub_t *) zlistx_next (self->subs))
            sub->caught_up = false;
    }
    for (s_sub_t *sub = (s_sub_t *) zlistx_first (self->subs); sub;
         sub = (s_sub_t *) zlistx_next (self->subs))
        if (sub->credit && !sub->caught_up && sub->position < last_seq)
            return true;
    return false;
}

zmsg_t *
ht_feed_next (ht_feed_t *self, int64_t now_ms, zframe_t **routing_id_p, ht_record_t **audit_p)
{
    *routing_id_p = NULL;
    *audit_p = NULL;
    size_t turns = zlistx_size (self->subs);
    uint64_t last_seq = ht_store_last_seq (self->store);
    for (size_t turn = 0; turn < turns; turn++) {
        //  Round robin: take the first, put it at the end
        s_sub_t *sub = (s_sub_t *) zlistx_first (self->subs);
        void *handle = zlistx_cursor (self->subs);
        zlistx_move_end (self->subs, handle);
        zmsg_t *message = NULL;
        if (sub->credit && !sub->caught_up && sub->position < last_seq) {
            uint64_t next = sub->position;
            size_t credit = sub->credit < HT_FEED_BATCH? sub->credit: HT_FEED_BATCH;
            message = ht_query_events (self->query, &sub->client, &sub->subscribe, sub->kinds,
                                       sub->position, credit, (uint64_t) zclock_time (),
                                       audit_p, &next);
            if (message) {
                //  Frames: command, body, JSON, then one per event
                size_t events = zmsg_size (message) - 3;
                sub->credit -= events < sub->credit? events: sub->credit;
                sub->events_through = next;
            }
            sub->caught_up = next >= last_seq;
            if (!message && next == sub->position)
                sub->caught_up = true;  //  nothing it may see, or stuck: wait
            sub->position = next;
        }
        if (!message && now_ms - sub->last_sent_ms >= HT_FEED_HEARTBEAT_MS) {
            char epoch [2 * HT_EPOCH_BYTES + 1];
            //  events_through lets the client see an EVENTS lost on the
            //  way (a full queue): it then subscribes again from its cursor
            message = s_json_message (HT_MSG_FEED_HB, sub->subscribe.token, json_pack (
                "{s:s, s:I, s:I, s:I, s:I}", "epoch", s_epoch_hex (self, epoch),
                "cursor", (json_int_t) sub->position, "events_through",
                (json_int_t) sub->events_through, "last_seq", (json_int_t) last_seq,
                "credit", (json_int_t) sub->credit));
        }
        if (message) {
            sub->last_sent_ms = now_ms;
            *routing_id_p = zframe_dup (sub->routing_id);
            return message;
        }
    }
    return NULL;
}
