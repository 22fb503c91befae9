//  test_feed: change-feed subscriptions (ht_feed, over ht_query's
//  subscribe check and events) against a real store, with a fake
//  monotonic clock. docs/protocol.md §4 "Feeds" is the contract.
//
//  The store is the city's (清远 441800000000), so it holds a second
//  county (清新区 441803000000) a county client must not see. Clients get
//  certificates issued in the fixture PKI. Every message the feed sends
//  is decoded as a client would: command, msgpack body, JSON frame, then
//  one record frame per event, each decoded, verified and compared byte
//  for byte with what the client's policy may see of the stored record.
#include <czmq.h>
#include <inttypes.h>
#include <sodium.h>
#include "ht_read_fixture.h"
#include "ht_test.h"

#define S_MAX_LOG 1200                      //  events one drain may collect
#define S_T0_MS 5000000                     //  the fake monotonic clock's start

//  --------------------------------------------------------------------------
//  The store (ht_read_fixture.h), with the feed over its query engine

typedef ht_read_env_t s_env_t;

//  An elder of county A (community A's key, community A), signed
static ht_record_t *
s_elder (s_env_t *env, unsigned serial, const char *name, uint64_t hlc)
{
    return ht_fixture_elder (env->fixture, HT_FIXTURE_COMMUNITY_A_KEY, serial, name, hlc);
}

//  An inspection of 福寿养老院 in region, by author, shared to scope
static ht_record_t *
s_credit (const ht_keypair_t *author, const char *region, const char *scope,
          const char *issuer_region, const char *doc_no)
{
    return ht_read_credit (author, region, scope, issuer_region, doc_no, "福寿养老院", NULL);
}

//  count inspections of county B (county B only), or of community A by
//  county A (county A scope), applied as one batch
static void
s_put_credits (s_env_t *env, bool county_b, size_t count)
{
    ht_record_t **records = (ht_record_t **) calloc (count, sizeof (ht_record_t *));
    int *results = (int *) calloc (count, sizeof (int));
    ck_assert_ptr_nonnull (records);
    ck_assert_ptr_nonnull (results);
    for (size_t index = 0; index < count; index++) {
        char doc_no [64];
        snprintf (doc_no, sizeof doc_no, "检〔2024〕%u号", env->credit_serial++);
        records [index] = county_b
            ? s_credit (env->county_b, HT_READ_COMMUNITY_B2, HT_READ_COUNTY_B, HT_READ_COUNTY_B,
                        doc_no)
            : s_credit (env->fixture->keys [HT_FIXTURE_COUNTY_KEY], HT_FIXTURE_COMMUNITY_A,
                        HT_FIXTURE_COUNTY, HT_FIXTURE_COUNTY, doc_no);
    }
    ck_assert_int_eq (ht_store_apply (env->store, records, count, NULL, NULL, results), 0);
    for (size_t index = 0; index < count; index++) {
        ck_assert_int_eq (results [index], HT_OK);
        ht_record_destroy (&records [index]);
    }
    free (records);
    free (results);
}

//  A tombstone of the elder of key in community A, by community A
static void
s_put_tombstone (s_env_t *env, const char *key, uint64_t hlc)
{
    ht_record_t *tomb = ht_record_new ("elder");
    ck_assert_int_eq (ht_record_set_key (tomb, key), 0);
    ck_assert_int_eq (ht_record_set_region (tomb, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_eq (ht_record_set_scope (tomb, HT_FIXTURE_COMMUNITY_A), 0);
    ht_record_set_deleted (tomb, true);
    ht_record_set_hlc (tomb, hlc);
    ck_assert_int_eq (ht_record_sign (tomb, env->fixture->keys [HT_FIXTURE_COMMUNITY_A_KEY]), 0);
    ht_read_put (env, &tomb);
}

//  The city store: the PKI (root renewed with every kind, and county B),
//  county A's elders (5 in community A, 3 in community B, 2 in township
//  2, the last deceased), one elder of county B, a care home in
//  community A, an inspection county B shares city-wide and one it keeps
//  to itself
static void
s_env_init (s_env_t *env)
{
    static const char *const county_kinds [] = { "elder", "facility", "credit", "cert" };
    ht_read_env_open (env, 0, county_kinds, HT_READ_COUNT (county_kinds));
    ht_read_env_elders (env, 0, HT_READ_PHONE);
    ht_read_env_facilities (env, "福寿养老院", NULL);
    ht_read_env_query (env);
    env->feed = ht_feed_new (env->query, env->store);
    ck_assert_ptr_nonnull (env->feed);
    env->conn_a = zframe_new ("conn-a", 6);
    env->conn_b = zframe_new ("conn-b", 6);
}

static void
s_env_destroy (s_env_t *env)
{
    zframe_destroy (&env->conn_a);
    zframe_destroy (&env->conn_b);
    ht_feed_destroy (&env->feed);
    ck_assert_ptr_null (env->feed);
    ht_feed_destroy (&env->feed);               //  safe twice
    ht_read_env_close (env);
}

//  The store's epoch as hex
static const char *
s_epoch_hex (s_env_t *env, char *hex)
{
    return ht_hex_encode (ht_store_epoch (env->store), HT_EPOCH_BYTES, hex);
}

//  --------------------------------------------------------------------------
//  Clients

typedef ht_read_client_t s_client_t;

//  An integration partner of region
static void
s_partner (s_env_t *env, s_client_t *self, uint8_t seed, const char *region)
{
    ht_read_partner (env, self, seed, "颐康护理 app", region);
}

//  The store, a partner of county A and county A's civil affairs
static void
s_env_init_two (s_env_t *env, s_client_t *partner, s_client_t *civil)
{
    s_env_init (env);
    s_partner (env, partner, 0x71, HT_FIXTURE_COUNTY);
    ht_read_department (env, civil, 0x72, "civil_affairs");
}

//  --------------------------------------------------------------------------
//  Requests and what the feed sends

//  A request as the node decodes it: encoded and decoded again, so every
//  item must be one the command's body may carry
static ht_msg_t
s_wire (const ht_msg_t *msg)
{
    zmsg_t *zmsg = ht_msg_encode (msg);
    ck_assert_ptr_nonnull (zmsg);
    ht_msg_t decoded;
    const char *reason = NULL;
    ck_assert_msg (ht_msg_decode (zmsg, &decoded, &reason) == HT_OK, "%s", reason);
    ck_assert_uint_eq (zmsg_size (zmsg), 0);
    zmsg_destroy (&zmsg);
    return decoded;
}

//  A SUBSCRIBE from the start
static ht_msg_t
s_subscribe_msg (uint64_t token, const char *kind, const char *purpose, uint64_t max)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_SUBSCRIBE);
    msg.token = token;
    snprintf (msg.kind, sizeof msg.kind, "%s", kind? kind: "");
    snprintf (msg.purpose, sizeof msg.purpose, "%s", purpose? purpose: "");
    msg.max = max;
    return msg;
}

//  One message from the feed, taken apart (EVENTS: audit is its draft)
typedef ht_read_reply_t s_out_t;

static int64_t
s_int (const s_out_t *out, const char *name)
{
    json_t *value = json_object_get (out->json, name);
    ck_assert_msg (json_is_integer (value), "%s: no integer %s", out->head.command, name);
    return (int64_t) json_integer_value (value);
}

static const char *
s_str (const s_out_t *out, const char *name)
{
    json_t *value = json_object_get (out->json, name);
    ck_assert_msg (json_is_string (value), "%s: no text %s", out->head.command, name);
    return json_string_value (value);
}

//  Take a message apart as a client would (the message is destroyed):
//  an ERROR has nothing after its body; anything else has a JSON frame,
//  and EVENTS one verified record frame per event, in the order and with
//  the keys, kinds and deletions its JSON lists, inside (from, cursor]
static void
s_take (s_env_t *env, zmsg_t **message_p, s_out_t *out)
{
    memset (out, 0, sizeof *out);
    zmsg_t *message = *message_p;
    ck_assert_ptr_nonnull (message);
    const char *reason = NULL;
    ck_assert_msg (ht_msg_decode (message, &out->head, &reason) == HT_OK, "%s", reason);
    if (streq (out->head.command, HT_MSG_ERROR)) {
        ck_assert_uint_eq (zmsg_size (message), 0);
        ck_assert_uint_gt (strlen (out->head.error), 0);
        ck_assert_uint_gt (strlen (out->head.text), 0);
        zmsg_destroy (message_p);
        return;
    }
    ht_read_take_frames (message, out, HT_READ_MAX_RECORDS);
    zmsg_destroy (message_p);
    char epoch [2 * HT_EPOCH_BYTES + 1];
    if (!streq (out->head.command, HT_MSG_EVENTS)) {
        ck_assert_uint_eq (out->count, 0);
        ck_assert_str_eq (s_str (out, "epoch"), s_epoch_hex (env, epoch));
        return;
    }
    ck_assert_str_eq (s_str (out, "epoch"), s_epoch_hex (env, epoch));
    ck_assert (json_is_null (json_object_get (out->json, "emergency")));
    ck_assert (json_is_boolean (json_object_get (out->json, "audited")));
    ck_assert_uint_gt (strlen (s_str (out, "policy")), 0);
    json_t *events = json_object_get (out->json, "events");
    ck_assert (json_is_array (events));
    ck_assert_uint_eq (json_array_size (events), out->count);
    ck_assert_uint_gt (out->count, 0);
    int64_t from = s_int (out, "from"), cursor = s_int (out, "cursor");
    int64_t previous = from;
    for (size_t index = 0; index < out->count; index++) {
        json_t *event = json_array_get (events, index);
        json_t *seq = json_object_get (event, "seq");
        ck_assert (json_is_integer (seq));
        ck_assert_int_gt (json_integer_value (seq), previous);
        ck_assert_int_le (json_integer_value (seq), cursor);
        previous = (int64_t) json_integer_value (seq);
        const ht_record_t *record = out->records [index];
        ck_assert_str_eq (json_string_value (json_object_get (event, "key")),
                          ht_record_key (record));
        ck_assert_str_eq (json_string_value (json_object_get (event, "kind")),
                          ht_record_kind (record));
        ck_assert (json_is_boolean (json_object_get (event, "deleted")));
        ck_assert_int_eq (json_is_true (json_object_get (event, "deleted")),
                          ht_record_deleted (record));
    }
}

//  Send a feed request as client on conn; true with the answer taken
//  apart, false if the feed does not answer (CREDIT, UNSUBSCRIBE)
static bool
s_ask (s_env_t *env, const s_client_t *client, zframe_t *conn, const ht_msg_t *msg,
       int64_t now_ms, s_out_t *out)
{
    memset (out, 0, sizeof *out);
    ck_assert (ht_feed_handles (msg->command));
    ht_msg_t wire = s_wire (msg);
    zmsg_t *answer = ht_feed_request (env->feed, conn, &client->client, &wire, now_ms);
    if (!answer)
        return false;
    s_take (env, &answer, out);
    ck_assert_uint_eq (out->head.token, msg->token);
    return true;
}

//  Subscribe; the answer must be SUBSCRIBE-OK (its JSON in out, to be
//  destroyed by the caller)
static void
s_subscribe_ok (s_env_t *env, const s_client_t *client, zframe_t *conn, const ht_msg_t *msg,
                int64_t now_ms, s_out_t *out)
{
    ck_assert (s_ask (env, client, conn, msg, now_ms, out));
    ck_assert_msg (streq (out->head.command, HT_MSG_SUBSCRIBE_OK), "%s %s: %s",
                   out->head.command, out->head.error, out->head.text);
    ck_assert_int_eq (s_int (out, "last_seq"), (int64_t) ht_store_last_seq (env->store));
    ck_assert (json_is_array (json_object_get (out->json, "kinds")));
}

//  Subscribe; the answer must be SUBSCRIBE-OK (and is dropped)
static void
s_subscribed (s_env_t *env, const s_client_t *client, zframe_t *conn, const ht_msg_t *msg,
              int64_t now_ms)
{
    s_out_t out;
    s_subscribe_ok (env, client, conn, msg, now_ms, &out);
    ht_read_reply_destroy (&out);
}

//  Subscribe; the answer must be an ERROR named error
static void
s_subscribe_refused (s_env_t *env, const s_client_t *client, zframe_t *conn,
                     const ht_msg_t *msg, const char *error)
{
    size_t size = ht_feed_size (env->feed);
    s_out_t out;
    ck_assert (s_ask (env, client, conn, msg, S_T0_MS, &out));
    ck_assert_msg (streq (out.head.command, HT_MSG_ERROR), "%s (kind %s, purpose %s), not %s",
                   out.head.command, msg->kind, msg->purpose, error);
    ck_assert_msg (streq (out.head.error, error), "%s (kind %s, region %s, field %s, "
                   "purpose %s), not %s: %s", out.head.error, msg->kind, msg->region,
                   msg->field, msg->purpose, error, out.head.text);
    ck_assert_uint_eq (ht_feed_size (env->feed), size);
    ht_read_reply_destroy (&out);
}

//  CREDIT: no answer
static void
s_credit_ok (s_env_t *env, const s_client_t *client, zframe_t *conn, uint64_t token,
             uint64_t max, int64_t now_ms)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_CREDIT);
    msg.token = token;
    msg.max = max;
    s_out_t out;
    ck_assert_msg (!s_ask (env, client, conn, &msg, now_ms, &out), "CREDIT answered %s %s",
                   out.head.command, out.head.error);
}

//  CREDIT: answered with ERROR not_found
static void
s_credit_not_found (s_env_t *env, const s_client_t *client, zframe_t *conn, uint64_t token,
                    int64_t now_ms)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_CREDIT);
    msg.token = token;
    msg.max = 10;
    s_out_t out;
    ck_assert (s_ask (env, client, conn, &msg, now_ms, &out));
    ck_assert_str_eq (out.head.command, HT_MSG_ERROR);
    ck_assert_str_eq (out.head.error, "not_found");
    ht_read_reply_destroy (&out);
}

static void
s_unsubscribe (s_env_t *env, const s_client_t *client, zframe_t *conn, uint64_t token)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_UNSUBSCRIBE);
    msg.token = token;
    s_out_t out;
    ck_assert (!s_ask (env, client, conn, &msg, S_T0_MS, &out));
}

//  The feed's next message at now_ms: true with it taken apart (and its
//  connection in *conn_p if given), false if none is due
static bool
s_next (s_env_t *env, int64_t now_ms, s_out_t *out, zframe_t **conn_p)
{
    memset (out, 0, sizeof *out);
    zframe_t *routing_id = (zframe_t *) out;    //  must be overwritten
    ht_record_t *audit = (ht_record_t *) out;   //  must be overwritten
    zmsg_t *message = ht_feed_next (env->feed, now_ms, &routing_id, &audit);
    if (!message) {
        ck_assert_ptr_null (routing_id);
        ck_assert_ptr_null (audit);
        return false;
    }
    ck_assert_ptr_nonnull (routing_id);
    s_take (env, &message, out);
    out->audit = audit;
    if (streq (out->head.command, HT_MSG_EVENTS))
        ck_assert_int_eq (json_is_true (json_object_get (out->json, "audited")), audit != NULL);
    else
        ck_assert_ptr_null (audit);
    if (conn_p)
        *conn_p = routing_id;
    else
        zframe_destroy (&routing_id);
    return true;
}

//  --------------------------------------------------------------------------
//  What a subscription received

typedef struct {
    uint64_t token;                             //  the subscription
    const s_client_t *client;                   //  whose
    zframe_t *conn;                             //  on which connection
    int64_t cursor;                             //  where the next EVENTS begins
    int64_t events_through;                     //  where the last EVENTS ended
    size_t batches, heartbeats, audits;
    size_t count;                               //  events received
    char keys [S_MAX_LOG][HT_READ_KEY_BYTES];
    char kinds [S_MAX_LOG][HT_KIND_MAX_CHARS + 1];
    int64_t seqs [S_MAX_LOG];
    bool deleted [S_MAX_LOG];
    uint64_t hlcs [S_MAX_LOG];
    int64_t hb_credit, hb_cursor, hb_events_through, hb_last_seq;   //  the last FEED-HB
} s_log_t;

static s_log_t *
s_log_new (uint64_t token, const s_client_t *client, zframe_t *conn, int64_t cursor)
{
    s_log_t *log = (s_log_t *) calloc (1, sizeof (s_log_t));
    ck_assert_ptr_nonnull (log);
    log->token = token;
    log->client = client;
    log->conn = conn;
    log->cursor = log->events_through = cursor;
    log->hb_credit = log->hb_cursor = log->hb_events_through = log->hb_last_seq = -1;
    return log;
}

//  Is key among what log received?
static bool
s_log_has (const s_log_t *log, const char *key)
{
    for (size_t index = 0; index < log->count; index++)
        if (streq (log->keys [index], key))
            return true;
    return false;
}

//  Record a message: an EVENTS must start where the last one ended, its
//  records must be what the client's policy shows of the stored
//  records, byte for byte, and its audit draft must count the batch
static void
s_log_add (s_env_t *env, s_log_t *log, const s_out_t *out)
{
    if (streq (out->head.command, HT_MSG_FEED_HB)) {
        log->heartbeats++;
        log->hb_credit = s_int (out, "credit");
        log->hb_cursor = s_int (out, "cursor");
        log->hb_events_through = s_int (out, "events_through");
        log->hb_last_seq = s_int (out, "last_seq");
        //  The cursor may move past what the client does not see
        ck_assert_int_ge (log->hb_cursor, log->cursor);
        ck_assert_int_le (log->hb_cursor, log->hb_last_seq);
        ck_assert_int_eq (log->hb_events_through, log->events_through);
        log->cursor = log->hb_cursor;
        return;
    }
    ck_assert_str_eq (out->head.command, HT_MSG_EVENTS);
    ck_assert_int_eq (s_int (out, "from"), log->cursor);
    log->cursor = log->events_through = s_int (out, "cursor");
    log->batches++;
    const ht_policy_t *policy = ht_query_policy (env->query, &log->client->client.cert);
    ck_assert_ptr_nonnull (policy);
    ck_assert_str_eq (s_str (out, "policy"), policy->name);
    json_t *events = json_object_get (out->json, "events");
    for (size_t index = 0; index < out->count; index++) {
        const ht_record_t *record = out->records [index];
        ck_assert_uint_lt (log->count, S_MAX_LOG);
        snprintf (log->keys [log->count], HT_READ_KEY_BYTES, "%s", ht_record_key (record));
        snprintf (log->kinds [log->count], HT_KIND_MAX_CHARS + 1, "%s", ht_record_kind (record));
        log->seqs [log->count] = (int64_t) json_integer_value (
            json_object_get (json_array_get (events, index), "seq"));
        log->deleted [log->count] = ht_record_deleted (record);
        log->hlcs [log->count] = ht_record_hlc (record);
        log->count++;
        //  Exactly what the policy shows of the stored version
        int error = 0;
        ht_record_t *stored = ht_store_get (env->store, ht_record_kind (record),
                                            ht_record_key (record), &error);
        ck_assert_msg (stored, "%s %s not stored", ht_record_kind (record),
                       ht_record_key (record));
        ht_record_t *shown = ht_policy_redact (policy, stored, &error);
        ck_assert_ptr_nonnull (shown);
        uint8_t *data = NULL;
        size_t size = 0;
        ck_assert_int_eq (ht_record_encode (shown, &data, &size), 0);
        ck_assert_msg (size == out->sizes [index]
                       && memcmp (data, out->data [index], size) == 0,
                       "%s %s is not what policy %s shows", ht_record_kind (record),
                       ht_record_key (record), policy->name);
        free (data);
        ht_record_destroy (&shown);
        ht_record_destroy (&stored);
    }
    if (out->audit) {
        log->audits++;
        ck_assert_str_eq (ht_record_get_str (out->audit, "request"), "feed");
        int64_t events_count = -1;
        ck_assert (ht_record_get_int (out->audit, "events", &events_count));
        ck_assert_int_eq (events_count, (int64_t) out->count);
        ck_assert_str_eq (ht_record_get_str (out->audit, "client"), log->client->client.user);
        ck_assert_str_eq (ht_record_get_str (out->audit, "policy"), policy->name);
        size_t subjects = ht_record_get_strs_count (out->audit, "subjects");
        ck_assert_uint_gt (subjects, 0);
        for (size_t index = 0; index < subjects; index++) {
            const char *key = ht_record_get_strs_item (out->audit, "subjects", index);
            bool in_batch = false;
            for (size_t at = 0; at < out->count; at++)
                in_batch |= streq (ht_record_key (out->records [at]), key);
            ck_assert_msg (in_batch, "audit subject %s is not in the batch", key);
        }
    }
}

//  Take every message the feed has due at now_ms, each into the log of
//  its subscription (found by token and connection)
static void
s_drain (s_env_t *env, int64_t now_ms, s_log_t **logs, size_t log_count)
{
    ht_feed_busy (env->feed);               //  as the reader: look at the store
    for (size_t turn = 0; turn < 100000; turn++) {
        s_out_t out;
        zframe_t *conn = NULL;
        if (!s_next (env, now_ms, &out, &conn)) {
            if (ht_feed_busy (env->feed))
                continue;                   //  a batch found nothing yet
            return;
        }
        s_log_t *log = NULL;
        for (size_t index = 0; index < log_count; index++)
            if (logs [index]->token == out.head.token && zframe_eq (logs [index]->conn, conn))
                log = logs [index];
        ck_assert_msg (log, "%s for token %" PRIu64 ", which nobody holds",
                       out.head.command, out.head.token);
        s_log_add (env, log, &out);
        zframe_destroy (&conn);
        ht_read_reply_destroy (&out);
    }
    ck_abort_msg ("the feed never went quiet");
}

static void
s_drain_one (s_env_t *env, int64_t now_ms, s_log_t *log)
{
    s_drain (env, now_ms, &log, 1);
}

//  What a client of region should receive from after_seq on: the log's
//  entries of the kinds listed (comma-separated) whose region and scope
//  a node of region holds and that lie under prefix (or anywhere)
typedef struct {
    const char *holder;
    const char *kinds;
    const char *prefix;
    s_log_t *log;
} s_expect_t;

static int
s_expect_each (void *arg, uint64_t seq, const uint8_t *data, size_t size, const char *origin)
{
    (void) origin;
    s_expect_t *expect = (s_expect_t *) arg;
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    ck_assert_ptr_nonnull (record);
    char listed [64];
    snprintf (listed, sizeof listed, ",%s,", expect->kinds);
    char kind [HT_KIND_MAX_CHARS + 3];
    snprintf (kind, sizeof kind, ",%s,", ht_record_kind (record));
    if (strstr (listed, kind)
    &&  ht_region_holds (expect->holder, ht_record_region (record), ht_record_scope (record))
    &&  (!expect->prefix || ht_region_covers (expect->prefix, ht_record_region (record)))) {
        s_log_t *log = expect->log;
        ck_assert_uint_lt (log->count, S_MAX_LOG);
        snprintf (log->keys [log->count], HT_READ_KEY_BYTES, "%s", ht_record_key (record));
        log->seqs [log->count] = (int64_t) seq;
        log->deleted [log->count] = ht_record_deleted (record);
        log->count++;
    }
    ht_record_destroy (&record);
    return 0;
}

static s_log_t *
s_expected (s_env_t *env, const char *holder, const char *kinds, const char *prefix,
            uint64_t after_seq)
{
    s_log_t *log = s_log_new (0, NULL, NULL, 0);
    s_expect_t expect = { holder, kinds, prefix, log };
    ck_assert_int_ge (ht_store_changes (env->store, after_seq, 0, s_expect_each, &expect), 0);
    return log;
}

//  The log received exactly the expected events, in order
static void
s_assert_events (const s_log_t *log, const s_log_t *expected)
{
    for (size_t index = 0; index < log->count && index < expected->count; index++) {
        ck_assert_msg (streq (log->keys [index], expected->keys [index]),
                       "event %zu: %s, expected %s", index, log->keys [index],
                       expected->keys [index]);
        ck_assert_int_eq (log->seqs [index], expected->seqs [index]);
        ck_assert_int_eq (log->deleted [index], expected->deleted [index]);
    }
    ck_assert_uint_eq (log->count, expected->count);
}

//  Subscribe as msg asks, take everything, unsubscribe: what came
static s_log_t *
s_feed_of (s_env_t *env, const s_client_t *client, const ht_msg_t *msg)
{
    s_out_t out;
    s_subscribe_ok (env, client, env->conn_a, msg, S_T0_MS, &out);
    s_log_t *log = s_log_new (msg->token, client, env->conn_a, s_int (&out, "cursor"));
    ht_read_reply_destroy (&out);
    s_drain_one (env, S_T0_MS, log);
    s_unsubscribe (env, client, env->conn_a, msg->token);
    return log;
}

static void
s_log_destroy (s_log_t **log_p)
{
    free (*log_p);
    *log_p = NULL;
}

//  Take and drop whatever the feed has due at now_ms (heartbeats)
static void
s_discard (s_env_t *env, int64_t now_ms)
{
    s_out_t out;
    while (s_next (env, now_ms, &out, NULL))
        ht_read_reply_destroy (&out);
}

//  --------------------------------------------------------------------------
//  From the start, in order

START_TEST (a_feed_from_the_start_delivers_every_visible_record_in_sequence_order)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ck_assert (ht_feed_handles (HT_MSG_SUBSCRIBE));
    ck_assert (ht_feed_handles (HT_MSG_CREDIT));
    ck_assert (ht_feed_handles (HT_MSG_UNSUBSCRIBE));
    ck_assert (!ht_feed_handles (HT_MSG_GET));
    ck_assert (!ht_feed_handles (HT_MSG_EVENTS));

    //  Every kind the partner's policy shows (no kind named), 3 at a time
    ht_msg_t msg = s_subscribe_msg (7, NULL, "care_service", 3);
    s_out_t out;
    s_subscribe_ok (&env, &partner, env.conn_a, &msg, S_T0_MS, &out);
    char epoch [2 * HT_EPOCH_BYTES + 1];
    ck_assert_str_eq (s_str (&out, "epoch"), s_epoch_hex (&env, epoch));
    ck_assert_int_eq (s_int (&out, "cursor"), 0);
    ck_assert_int_eq (s_int (&out, "credit"), 3);
    ck_assert_str_eq (s_str (&out, "policy"), "partner");
    json_t *kinds = json_object_get (out.json, "kinds");
    ck_assert_uint_eq (json_array_size (kinds), 3);
    const char *names [] = { "credit", "elder", "facility" };
    for (size_t index = 0; index < HT_READ_COUNT (names); index++) {
        bool listed = false;
        for (size_t at = 0; at < json_array_size (kinds); at++)
            listed |= streq (json_string_value (json_array_get (kinds, at)), names [index]);
        ck_assert_msg (listed, "kinds lacks %s", names [index]);
    }
    ht_read_reply_destroy (&out);
    ck_assert_uint_eq (ht_feed_size (env.feed), 1);

    //  Take each batch, then give the 3 it took back
    s_log_t *log = s_log_new (7, &partner, env.conn_a, 0);
    int64_t now = S_T0_MS;
    for (size_t round = 0; round < 20; round++) {
        size_t before = log->count;
        s_drain_one (&env, now, log);
        if (log->count == before)
            break;
        ck_assert_uint_eq (log->count - before, 3);
        s_credit_ok (&env, &partner, env.conn_a, 7, 3, now);
        now += 10;
    }
    s_log_t *expected = s_expected (&env, HT_FIXTURE_COUNTY, "credit,elder,facility", NULL, 0);
    ck_assert_uint_eq (expected->count, HT_READ_ELDER_COUNT + 2);
    s_assert_events (log, expected);
    ck_assert_uint_eq (log->batches, (expected->count + 2) / 3);
    ck_assert_uint_eq (log->audits, log->batches);  //  masked identity: audited
    ck_assert_int_eq (log->cursor, (int64_t) ht_store_last_seq (env.store));
    ck_assert (s_log_has (log, env.credit_city));   //  shared city-wide
    s_log_destroy (&expected);

    //  Nothing more to send: a heartbeat a second later, at the end
    s_drain_one (&env, now + HT_FEED_HEARTBEAT_MS, log);
    ck_assert_uint_eq (log->heartbeats, 1);
    ck_assert_int_eq (log->hb_cursor, (int64_t) ht_store_last_seq (env.store));
    ck_assert_int_eq (log->hb_events_through, log->cursor);
    ck_assert_int_eq (log->hb_last_seq, (int64_t) ht_store_last_seq (env.store));
    //  A change of a kind it does not follow moves the cursor, in FEED-HB,
    //  and not events_through (the end of the last EVENTS)
    int64_t events_through = log->events_through;
    s_client_t other;
    ht_read_department (&env, &other, 0x7a, "health");
    ck_assert (ht_feed_busy (env.feed));
    s_drain_one (&env, now + 2 * HT_FEED_HEARTBEAT_MS, log);
    ck_assert_uint_eq (log->heartbeats, 2);
    ck_assert_int_eq (log->hb_cursor, (int64_t) ht_store_last_seq (env.store));
    ck_assert_int_eq (log->hb_events_through, events_through);
    ck_assert_int_lt (log->hb_events_through, log->hb_cursor);
    ht_read_client_destroy (&other);
    s_log_destroy (&log);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (events_carry_the_policys_redacted_form_that_verifies)
{
    s_env_t env;
    s_client_t partner, civil;
    s_env_init_two (&env, &partner, &civil);
    //  The partner: identity masked, the ID number not even masked
    ht_msg_t msg = s_subscribe_msg (1, "elder", "care_service", 100);
    s_out_t out;
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
    ck_assert_uint_eq (out.count, HT_READ_ELDER_COUNT);
    for (size_t index = 0; index < out.count; index++) {
        const ht_record_t *record = out.records [index];
        ck_assert (!ht_record_is_full (record));
        ck_assert_int_eq (ht_record_field_state (record, "id_no"), HT_FIELD_WITHHELD);
        ck_assert_ptr_null (ht_record_get_mask (record, "id_no"));
        ck_assert_int_eq (ht_record_field_state (record, "phone"), HT_FIELD_WITHHELD);
        ck_assert_str_eq (ht_record_get_mask (record, "phone"), "138****8000");
        ck_assert (!ht_read_contains (out.data [index], out.sizes [index], "13800138000"));
    }
    ht_read_reply_destroy (&out);
    //  Civil affairs: the whole record, verifiable
    msg = s_subscribe_msg (2, "elder", "subsidy_review", 100);
    s_subscribed (&env, &civil, env.conn_b, &msg, S_T0_MS);
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
    ck_assert_uint_eq (out.head.token, 2);
    ck_assert_str_eq (s_str (&out, "policy"), "civil_affairs");
    ck_assert_uint_eq (out.count, HT_READ_ELDER_COUNT);
    for (size_t index = 0; index < out.count; index++) {
        ck_assert_str_eq (ht_record_get_str (out.records [index], "phone"), "13800138000");
        ck_assert_ptr_nonnull (ht_record_get_str (out.records [index], "id_no"));
    }
    ht_read_reply_destroy (&out);
    ht_read_client_destroy (&partner);
    ht_read_client_destroy (&civil);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Jurisdiction

START_TEST (records_outside_the_clients_jurisdiction_never_appear)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner_a, partner_b;
    s_partner (&env, &partner_a, 0x71, HT_FIXTURE_COUNTY);
    s_partner (&env, &partner_b, 0x73, HT_READ_COUNTY_B);
    ht_msg_t msg = s_subscribe_msg (1, NULL, "care_service", 1000);
    s_subscribed (&env, &partner_a, env.conn_a, &msg, S_T0_MS);
    s_subscribed (&env, &partner_b, env.conn_b, &msg, S_T0_MS);
    s_log_t *log_a = s_log_new (1, &partner_a, env.conn_a, 0);
    s_log_t *log_b = s_log_new (1, &partner_b, env.conn_b, 0);
    s_log_t *logs [] = { log_a, log_b };
    s_drain (&env, S_T0_MS, logs, 2);
    //  County A: its elders and care home, and what county B shares city-wide
    ck_assert (!s_log_has (log_a, env.elder_b));
    ck_assert (!s_log_has (log_a, env.credit_b));
    ck_assert (s_log_has (log_a, env.credit_city));
    s_log_t *expected = s_expected (&env, HT_FIXTURE_COUNTY, "credit,elder,facility", NULL, 0);
    s_assert_events (log_a, expected);
    s_log_destroy (&expected);
    //  County B: its own, and none of county A's
    ck_assert_uint_eq (log_b->count, 3);
    ck_assert (s_log_has (log_b, env.elder_b));
    ck_assert (s_log_has (log_b, env.credit_b));
    ck_assert (s_log_has (log_b, env.credit_city));
    for (size_t index = 0; index < HT_READ_ELDER_COUNT; index++)
        ck_assert (!s_log_has (log_b, env.elders [index]));
    ck_assert (!s_log_has (log_b, env.facility));
    //  Nor later: a county B write reaches only county B
    ht_record_t *record = ht_fixture_elder_in (env.fixture, env.county_b, HT_READ_COMMUNITY_B2,
                                               HT_READ_COMMUNITY_B2, 41, "清新老人二",
                                               ht_fixture_hlc (3, 0));
    char key [HT_READ_KEY_BYTES];
    snprintf (key, sizeof key, "%s", ht_record_key (record));
    ht_read_put (&env, &record);
    size_t count_a = log_a->count;
    s_drain (&env, S_T0_MS + 10, logs, 2);
    ck_assert_uint_eq (log_a->count, count_a);
    ck_assert_uint_eq (log_b->count, 4);
    ck_assert_str_eq (log_b->keys [3], key);
    //  Nor by asking for county B's region
    msg = s_subscribe_msg (2, "elder", "care_service", 1000);
    snprintf (msg.region, sizeof msg.region, "%s", HT_READ_COUNTY_B);
    s_subscribe_refused (&env, &partner_a, env.conn_a, &msg, "out_of_scope");
    snprintf (msg.region, sizeof msg.region, "%s", "441803");
    s_subscribe_refused (&env, &partner_a, env.conn_a, &msg, "out_of_scope");
    s_log_destroy (&log_a);
    s_log_destroy (&log_b);
    ht_read_client_destroy (&partner_a);
    ht_read_client_destroy (&partner_b);
    s_env_destroy (&env);
}
END_TEST

START_TEST (the_cursor_moves_past_changes_outside_the_jurisdiction)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_msg_t msg = s_subscribe_msg (1, NULL, "care_service", 1000);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    s_log_t *log = s_log_new (1, &partner, env.conn_a, 0);
    s_drain_one (&env, S_T0_MS, log);
    ck_assert_int_eq (log->cursor, (int64_t) ht_store_last_seq (env.store));
    //  County B writes what county A may not see: the feed's cursor
    //  (protocol.md: "moves past entries the client does not see too")
    //  still reaches the log's end
    s_put_credits (&env, true, 3);
    s_drain_one (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, log);
    ck_assert_uint_eq (log->heartbeats, 1);
    ck_assert_int_eq (log->hb_last_seq, (int64_t) ht_store_last_seq (env.store));
    ck_assert_msg (log->hb_cursor == log->hb_last_seq, "FEED-HB cursor %" PRId64 " stays "
                   "behind last_seq %" PRId64 " after changes the client may not see",
                   log->hb_cursor, log->hb_last_seq);
    s_log_destroy (&log);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_long_run_of_changes_outside_the_jurisdiction_does_not_stall_the_feed)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_msg_t msg = s_subscribe_msg (1, "credit,elder", "care_service", 1000);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    s_log_t *log = s_log_new (1, &partner, env.conn_a, 0);
    s_drain_one (&env, S_T0_MS, log);
    size_t before = log->count;
    //  More county B changes than one batch examines, then one for county A
    s_put_credits (&env, true, HT_QUERY_FEED_SCAN + 1);
    ht_record_t *record = s_elder (&env, 60, "新老人", ht_fixture_hlc (5, 0));
    char key [HT_READ_KEY_BYTES];
    snprintf (key, sizeof key, "%s", ht_record_key (record));
    ht_read_put (&env, &record);
    int64_t now = S_T0_MS;
    for (size_t round = 0; round < 5 && log->count == before; round++) {
        now += HT_FEED_HEARTBEAT_MS;
        s_drain_one (&env, now, log);
    }
    ck_assert_msg (log->count == before + 1, "the county A elder written after %d county B "
                   "changes never came (cursor %" PRId64 ", last_seq %" PRIu64 ")",
                   HT_QUERY_FEED_SCAN + 1, log->hb_cursor, ht_store_last_seq (env.store));
    ck_assert_str_eq (log->keys [before], key);
    s_log_destroy (&log);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Credit and heartbeats

START_TEST (credit_bounds_the_events_and_only_heartbeats_come_until_more_is_given)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_msg_t msg = s_subscribe_msg (1, "elder", "care_service", 3);
    s_out_t out;
    s_subscribe_ok (&env, &partner, env.conn_a, &msg, S_T0_MS, &out);
    ck_assert_int_eq (s_int (&out, "credit"), 3);
    ht_read_reply_destroy (&out);
    //  Exactly 3 events, in one EVENTS
    ck_assert (ht_feed_busy (env.feed));
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
    ck_assert_uint_eq (out.count, 3);
    ck_assert_int_eq (s_int (&out, "from"), 0);
    int64_t cursor = s_int (&out, "cursor");
    ht_read_reply_destroy (&out);
    //  Then nothing until a second has passed, then only FEED-HB
    ck_assert (!ht_feed_busy (env.feed));
    ck_assert (!s_next (&env, S_T0_MS, &out, NULL));
    ck_assert (!s_next (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS - 1, &out, NULL));
    ck_assert (s_next (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_FEED_HB);
    ck_assert_uint_eq (out.head.token, 1);
    ck_assert_int_eq (s_int (&out, "credit"), 0);
    ck_assert_int_eq (s_int (&out, "cursor"), cursor);
    ck_assert_int_eq (s_int (&out, "events_through"), cursor);
    ck_assert_int_eq (s_int (&out, "last_seq"), (int64_t) ht_store_last_seq (env.store));
    ht_read_reply_destroy (&out);
    ck_assert (!s_next (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, &out, NULL));
    ck_assert (!s_next (&env, S_T0_MS + 2 * HT_FEED_HEARTBEAT_MS - 1, &out, NULL));
    //  A new change waits for credit too
    ht_record_t *record = s_elder (&env, 60, "新老人", ht_fixture_hlc (5, 0));
    ht_read_put (&env, &record);
    ck_assert (!ht_feed_busy (env.feed));
    ck_assert (s_next (&env, S_T0_MS + 2 * HT_FEED_HEARTBEAT_MS, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_FEED_HB);
    ck_assert_int_eq (s_int (&out, "credit"), 0);
    ck_assert_int_eq (s_int (&out, "cursor"), cursor);
    ck_assert_int_eq (s_int (&out, "last_seq"), (int64_t) ht_store_last_seq (env.store));
    ht_read_reply_destroy (&out);
    //  CREDIT resumes where it stopped
    int64_t now = S_T0_MS + 2 * HT_FEED_HEARTBEAT_MS + 10;
    s_credit_ok (&env, &partner, env.conn_a, 1, 2, now);
    ck_assert (ht_feed_busy (env.feed));
    ck_assert (s_next (&env, now, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
    ck_assert_uint_eq (out.count, 2);
    ck_assert_int_eq (s_int (&out, "from"), cursor);
    ht_read_reply_destroy (&out);
    //  And the rest with more
    s_log_t *log = s_log_new (1, &partner, env.conn_a, 0);
    s_unsubscribe (&env, &partner, env.conn_a, 1);
    msg = s_subscribe_msg (1, "elder", "care_service", 3);
    s_subscribed (&env, &partner, env.conn_a, &msg, now);
    for (size_t round = 0; round < 10; round++) {
        s_drain_one (&env, now, log);
        s_credit_ok (&env, &partner, env.conn_a, 1, 3, now);
    }
    ck_assert_uint_eq (log->count, HT_READ_ELDER_COUNT + 1);
    ck_assert_uint_eq (log->batches, (HT_READ_ELDER_COUNT + 1 + 2) / 3);
    ck_assert_uint_eq (log->heartbeats, 0);
    s_log_destroy (&log);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (credit_above_the_maximum_is_capped)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_msg_t msg = s_subscribe_msg (1, "elder", "care_service", 2 * HT_FEED_MAX_CREDIT);
    s_out_t out;
    s_subscribe_ok (&env, &partner, env.conn_a, &msg, S_T0_MS, &out);
    ck_assert_int_eq (s_int (&out, "credit"), HT_FEED_MAX_CREDIT);
    ht_read_reply_destroy (&out);
    s_log_t *log = s_log_new (1, &partner, env.conn_a, 0);
    s_drain_one (&env, S_T0_MS, log);
    ck_assert_uint_eq (log->count, HT_READ_ELDER_COUNT);
    s_drain_one (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, log);
    ck_assert_int_eq (log->hb_credit, HT_FEED_MAX_CREDIT - HT_READ_ELDER_COUNT);
    //  CREDIT tops up to the maximum, not past it
    s_credit_ok (&env, &partner, env.conn_a, 1, 5000, S_T0_MS + HT_FEED_HEARTBEAT_MS);
    s_drain_one (&env, S_T0_MS + 2 * HT_FEED_HEARTBEAT_MS, log);
    ck_assert_uint_eq (log->heartbeats, 2);
    ck_assert_int_eq (log->hb_credit, HT_FEED_MAX_CREDIT);
    s_credit_ok (&env, &partner, env.conn_a, 1, HT_FEED_MAX_CREDIT + 1,
                 S_T0_MS + 2 * HT_FEED_HEARTBEAT_MS);
    s_drain_one (&env, S_T0_MS + 3 * HT_FEED_HEARTBEAT_MS, log);
    ck_assert_int_eq (log->hb_credit, HT_FEED_MAX_CREDIT);
    s_log_destroy (&log);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_huge_credit_is_capped_and_does_not_wrap)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_msg_t msg = s_subscribe_msg (1, "elder", "care_service", 5);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    s_log_t *log = s_log_new (1, &partner, env.conn_a, 0);
    s_drain_one (&env, S_T0_MS, log);
    ck_assert_uint_eq (log->count, 5);
    //  Credit 0 plus UINT64_MAX: the maximum, not 0 - 1 (or 5 + 2^64 - 1 = 4)
    s_credit_ok (&env, &partner, env.conn_a, 1, 3, S_T0_MS);
    s_credit_ok (&env, &partner, env.conn_a, 1, UINT64_MAX, S_T0_MS);
    s_drain_one (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, log);
    ck_assert_msg (log->count == HT_READ_ELDER_COUNT, "credit 3, then CREDIT max=UINT64_MAX: "
                   "%zu more events, not %d", log->count - 5, HT_READ_ELDER_COUNT - 5);
    s_drain_one (&env, S_T0_MS + 2 * HT_FEED_HEARTBEAT_MS, log);
    ck_assert_msg (log->hb_credit == HT_FEED_MAX_CREDIT - (HT_READ_ELDER_COUNT - 5),
                   "credit after CREDIT max=UINT64_MAX: %" PRId64, log->hb_credit);
    s_log_destroy (&log);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_batch_holds_at_most_HT_FEED_BATCH_events)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    s_put_credits (&env, false, HT_FEED_BATCH + 20);
    ht_msg_t msg = s_subscribe_msg (1, "credit", NULL, HT_FEED_MAX_CREDIT);
    s_out_t out;
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
    ck_assert_uint_eq (out.count, HT_FEED_BATCH);
    ck_assert_ptr_null (out.audit);                 //  public fields only
    int64_t cursor = s_int (&out, "cursor");
    ht_read_reply_destroy (&out);
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
    ck_assert_uint_eq (out.count, 21);              //  20 and the city's
    ck_assert_int_eq (s_int (&out, "from"), cursor);
    ht_read_reply_destroy (&out);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Cursors

START_TEST (a_saved_cursor_resumes_with_later_changes_only)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_msg_t msg = s_subscribe_msg (1, NULL, "care_service", 1000);
    s_log_t *log = s_feed_of (&env, &partner, &msg);
    int64_t saved = log->cursor;
    ck_assert_int_eq (saved, (int64_t) ht_store_last_seq (env.store));
    s_log_destroy (&log);
    ck_assert_uint_eq (ht_feed_size (env.feed), 0);

    //  Changes after the cursor: a new version of one elder, a new elder
    ht_record_t *record = s_elder (&env, 21, "改名", ht_fixture_hlc (5, 0));
    ck_assert_str_eq (ht_record_key (record), env.elders [1]);
    uint64_t new_hlc = ht_record_hlc (record);
    ht_read_put (&env, &record);
    record = s_elder (&env, 60, "新老人", ht_fixture_hlc (5, 1));
    char added [HT_READ_KEY_BYTES];
    snprintf (added, sizeof added, "%s", ht_record_key (record));
    ht_read_put (&env, &record);

    msg = s_subscribe_msg (2, NULL, "care_service", 1000);
    memcpy (msg.epoch, ht_store_epoch (env.store), HT_EPOCH_BYTES);
    msg.has_epoch = true;
    msg.cursor = (uint64_t) saved;
    s_out_t out;
    s_subscribe_ok (&env, &partner, env.conn_a, &msg, S_T0_MS, &out);
    ck_assert_int_eq (s_int (&out, "cursor"), saved);
    ht_read_reply_destroy (&out);
    log = s_log_new (2, &partner, env.conn_a, saved);
    s_drain_one (&env, S_T0_MS, log);
    ck_assert_uint_eq (log->count, 2);
    ck_assert_str_eq (log->keys [0], env.elders [1]);
    ck_assert_uint_eq (log->hlcs [0], new_hlc);     //  the version after the cursor
    ck_assert_str_eq (log->keys [1], added);
    ck_assert_int_gt (log->seqs [0], saved);
    ck_assert_int_eq (log->cursor, (int64_t) ht_store_last_seq (env.store));
    s_log_destroy (&log);
    s_unsubscribe (&env, &partner, env.conn_a, 2);

    //  A cursor at the end: nothing but heartbeats
    msg.cursor = ht_store_last_seq (env.store);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    log = s_log_new (2, &partner, env.conn_a, (int64_t) msg.cursor);
    s_drain_one (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, log);
    ck_assert_uint_eq (log->count, 0);
    ck_assert_uint_eq (log->heartbeats, 1);
    s_log_destroy (&log);
    s_unsubscribe (&env, &partner, env.conn_a, 2);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_cursor_the_store_cannot_serve_gets_resync)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    char epoch [2 * HT_EPOCH_BYTES + 1];
    s_epoch_hex (&env, epoch);
    //  Another epoch (the store was restored or rebuilt)
    ht_msg_t msg = s_subscribe_msg (3, NULL, "care_service", 1000);
    memcpy (msg.epoch, ht_store_epoch (env.store), HT_EPOCH_BYTES);
    msg.epoch [HT_EPOCH_BYTES - 1] ^= 0x01;
    msg.has_epoch = true;
    msg.cursor = 1;
    s_out_t out;
    ck_assert (s_ask (&env, &partner, env.conn_a, &msg, S_T0_MS, &out));
    ck_assert_str_eq (out.head.command, HT_MSG_RESYNC);
    ck_assert_uint_eq (out.head.token, 3);
    ck_assert_str_eq (s_str (&out, "epoch"), epoch);
    ck_assert_uint_gt (strlen (s_str (&out, "reason")), 0);
    ht_read_reply_destroy (&out);
    ck_assert_uint_eq (ht_feed_size (env.feed), 0);
    //  Past the log's end (the store was rolled back)
    memcpy (msg.epoch, ht_store_epoch (env.store), HT_EPOCH_BYTES);
    msg.cursor = ht_store_last_seq (env.store) + 1;
    ck_assert (s_ask (&env, &partner, env.conn_a, &msg, S_T0_MS, &out));
    ck_assert_str_eq (out.head.command, HT_MSG_RESYNC);
    ck_assert_str_eq (s_str (&out, "epoch"), epoch);
    ht_read_reply_destroy (&out);
    msg.cursor = UINT64_MAX;
    ck_assert (s_ask (&env, &partner, env.conn_a, &msg, S_T0_MS, &out));
    ck_assert_str_eq (out.head.command, HT_MSG_RESYNC);
    ht_read_reply_destroy (&out);
    ck_assert_uint_eq (ht_feed_size (env.feed), 0);
    //  Nothing is sent for a subscription refused
    ck_assert (!s_next (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, &out, NULL));
    //  "after" other than start or now, without a cursor
    msg = s_subscribe_msg (4, NULL, "care_service", 1000);
    snprintf (msg.after, sizeof msg.after, "%s", "yesterday");
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "invalid");
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (after_now_only_new_writes_arrive)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_msg_t msg = s_subscribe_msg (5, NULL, "care_service", 1000);
    snprintf (msg.after, sizeof msg.after, "%s", "now");
    s_out_t out;
    s_subscribe_ok (&env, &partner, env.conn_a, &msg, S_T0_MS, &out);
    int64_t start = s_int (&out, "cursor");
    ck_assert_int_eq (start, (int64_t) ht_store_last_seq (env.store));
    ht_read_reply_destroy (&out);
    s_log_t *log = s_log_new (5, &partner, env.conn_a, start);
    ck_assert (!ht_feed_busy (env.feed));
    s_drain_one (&env, S_T0_MS, log);
    ck_assert_uint_eq (log->count, 0);
    ht_record_t *record = s_elder (&env, 60, "新老人", ht_fixture_hlc (5, 0));
    char key [HT_READ_KEY_BYTES];
    snprintf (key, sizeof key, "%s", ht_record_key (record));
    ht_read_put (&env, &record);
    ck_assert (ht_feed_busy (env.feed));
    s_drain_one (&env, S_T0_MS + 10, log);
    ck_assert_uint_eq (log->count, 1);
    ck_assert_str_eq (log->keys [0], key);
    ck_assert_int_eq (log->cursor, (int64_t) ht_store_last_seq (env.store));
    //  And "start" is the snapshot: everything
    s_log_destroy (&log);
    msg = s_subscribe_msg (6, NULL, "care_service", 1000);
    snprintf (msg.after, sizeof msg.after, "%s", "start");
    log = s_feed_of (&env, &partner, &msg);
    ck_assert_uint_eq (log->count, HT_READ_ELDER_COUNT + 3);
    s_log_destroy (&log);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Filters, policies and purposes

START_TEST (filters_select_kinds_region_prefixes_and_field_values)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t civil, partner;
    ht_read_department (&env, &civil, 0x72, "civil_affairs");
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    uint64_t token = 10;
    //  One kind
    ht_msg_t msg = s_subscribe_msg (token++, "facility", "subsidy_review", 1000);
    s_log_t *log = s_feed_of (&env, &civil, &msg);
    ck_assert_uint_eq (log->count, 1);
    ck_assert_str_eq (log->keys [0], env.facility);
    s_log_destroy (&log);
    msg = s_subscribe_msg (token++, "credit", "subsidy_review", 1000);
    log = s_feed_of (&env, &civil, &msg);
    ck_assert_uint_eq (log->count, 1);
    ck_assert_str_eq (log->keys [0], env.credit_city);
    s_log_destroy (&log);
    //  A community
    msg = s_subscribe_msg (token++, "elder", "subsidy_review", 1000);
    snprintf (msg.region, sizeof msg.region, "%s", HT_FIXTURE_COMMUNITY_B);
    log = s_feed_of (&env, &civil, &msg);
    s_log_t *expected = s_expected (&env, HT_FIXTURE_COUNTY, "elder", HT_FIXTURE_COMMUNITY_B, 0);
    ck_assert_uint_eq (expected->count, 3);
    s_assert_events (log, expected);
    s_log_destroy (&expected);
    s_log_destroy (&log);
    //  A township by its prefix: communities A and B, not township 2
    msg = s_subscribe_msg (token++, "elder,facility", "subsidy_review", 1000);
    snprintf (msg.region, sizeof msg.region, "%s", "441802001");
    log = s_feed_of (&env, &civil, &msg);
    ck_assert_uint_eq (log->count, 9);
    for (size_t index = 0; index < 8; index++)
        ck_assert (s_log_has (log, env.elders [index]));
    ck_assert (s_log_has (log, env.facility));
    s_log_destroy (&log);
    msg = s_subscribe_msg (token++, "elder,facility", "subsidy_review", 1000);
    snprintf (msg.region, sizeof msg.region, "%s", "441802002");
    log = s_feed_of (&env, &civil, &msg);
    ck_assert_uint_eq (log->count, 2);
    ck_assert_str_eq (log->keys [0], env.elders [8]);
    ck_assert_str_eq (log->keys [1], env.elders [9]);
    s_log_destroy (&log);
    //  A region above the client's: still only what it may see
    msg = s_subscribe_msg (token++, "credit", "subsidy_review", 1000);
    snprintf (msg.region, sizeof msg.region, "%s", "4418");
    log = s_feed_of (&env, &civil, &msg);
    ck_assert_uint_eq (log->count, 1);
    ck_assert_str_eq (log->keys [0], env.credit_city);
    s_log_destroy (&log);
    //  An indexed field's value
    msg = s_subscribe_msg (token++, "elder", "subsidy_review", 1000);
    snprintf (msg.field, sizeof msg.field, "%s", "status");
    snprintf (msg.value, sizeof msg.value, "%s", "deceased");
    log = s_feed_of (&env, &civil, &msg);
    ck_assert_uint_eq (log->count, 1);
    ck_assert_str_eq (log->keys [0], env.elders [HT_READ_DECEASED]);
    s_log_destroy (&log);
    snprintf (msg.value, sizeof msg.value, "%s", "active");
    msg.token = token++;
    log = s_feed_of (&env, &civil, &msg);
    ck_assert_uint_eq (log->count, HT_READ_ELDER_COUNT - 1);
    ck_assert (!s_log_has (log, env.elders [HT_READ_DECEASED]));
    s_log_destroy (&log);
    msg = s_subscribe_msg (token++, "facility", NULL, 1000);
    snprintf (msg.field, sizeof msg.field, "%s", "type");
    snprintf (msg.value, sizeof msg.value, "%s", "institution");
    log = s_feed_of (&env, &partner, &msg);
    ck_assert_uint_eq (log->count, 1);
    s_log_destroy (&log);
    snprintf (msg.value, sizeof msg.value, "%s", "meal_point");
    msg.token = token++;
    log = s_feed_of (&env, &partner, &msg);
    ck_assert_uint_eq (log->count, 0);
    s_log_destroy (&log);
    //  What a filter may not be
    msg = s_subscribe_msg (token++, "elder,facility", "subsidy_review", 1000);
    snprintf (msg.field, sizeof msg.field, "%s", "status");
    snprintf (msg.value, sizeof msg.value, "%s", "active");
    s_subscribe_refused (&env, &civil, env.conn_a, &msg, "bad_field");
    snprintf (msg.kind, sizeof msg.kind, "%s", "elder");
    snprintf (msg.field, sizeof msg.field, "%s", "name");   //  not indexed
    s_subscribe_refused (&env, &civil, env.conn_a, &msg, "bad_field");
    snprintf (msg.field, sizeof msg.field, "%s", "nonsense");
    s_subscribe_refused (&env, &civil, env.conn_a, &msg, "bad_field");
    //  The partner sees status masked: it may not filter by it
    msg = s_subscribe_msg (token++, "elder", "care_service", 1000);
    snprintf (msg.field, sizeof msg.field, "%s", "status");
    snprintf (msg.value, sizeof msg.value, "%s", "deceased");
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "policy");
    msg = s_subscribe_msg (token++, "elder", "subsidy_review", 1000);
    snprintf (msg.region, sizeof msg.region, "%s", "4418020");
    s_subscribe_refused (&env, &civil, env.conn_a, &msg, "bad_region");
    msg = s_subscribe_msg (token++, "dragon", "subsidy_review", 1000);
    s_subscribe_refused (&env, &civil, env.conn_a, &msg, "unknown_kind");
    msg = s_subscribe_msg (token++, "elder,dragon", "subsidy_review", 1000);
    s_subscribe_refused (&env, &civil, env.conn_a, &msg, "unknown_kind");
    ck_assert_uint_eq (ht_feed_size (env.feed), 0);
    ht_read_client_destroy (&civil);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (policies_and_purposes_decide_who_may_subscribe_to_what)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t fire, partner, nobody;
    ht_read_department (&env, &fire, 0x74, "fire");
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_read_client_init (&env, &nobody, 0x75, "pilot", HT_ROLE_PARTNER, NULL, "no_such_policy",
                   HT_FIXTURE_COUNTY);
    //  Fire may only count elders: it cannot follow them
    ht_msg_t msg = s_subscribe_msg (1, "elder", "emergency_response", 1000);
    s_subscribe_refused (&env, &fire, env.conn_a, &msg, "policy");
    msg = s_subscribe_msg (1, "elder,facility", "inspection", 1000);
    s_subscribe_refused (&env, &fire, env.conn_a, &msg, "policy");
    //  Every kind it may read is every kind it sees records of
    msg = s_subscribe_msg (2, NULL, NULL, 1000);
    s_out_t out;
    s_subscribe_ok (&env, &fire, env.conn_a, &msg, S_T0_MS, &out);
    json_t *kinds = json_object_get (out.json, "kinds");
    ck_assert_uint_gt (json_array_size (kinds), 0);
    for (size_t index = 0; index < json_array_size (kinds); index++)
        ck_assert_str_ne (json_string_value (json_array_get (kinds, index)), "elder");
    ck_assert_str_eq (s_str (&out, "policy"), "fire");
    ht_read_reply_destroy (&out);
    s_log_t *log = s_log_new (2, &fire, env.conn_a, 0);
    s_drain_one (&env, S_T0_MS, log);
    ck_assert_uint_eq (log->count, 2);
    ck_assert (s_log_has (log, env.facility));
    ck_assert (s_log_has (log, env.credit_city));
    ck_assert_uint_eq (log->audits, 0);
    s_log_destroy (&log);
    s_unsubscribe (&env, &fire, env.conn_a, 2);
    //  The partner: kinds outside its policy
    msg = s_subscribe_msg (3, "audit", "care_service", 1000);
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "policy");
    msg = s_subscribe_msg (3, "cert", NULL, 1000);
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "policy");
    //  Personal fields need a purpose its policy lists
    msg = s_subscribe_msg (3, "elder", NULL, 1000);
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "purpose_required");
    msg = s_subscribe_msg (3, NULL, NULL, 1000);             //  elder among them
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "purpose_required");
    msg = s_subscribe_msg (3, "elder", "subsidy_review", 1000);
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "purpose_not_allowed");
    msg = s_subscribe_msg (3, "elder", "statistics", 1000);
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "purpose_not_allowed");
    //  An unknown purpose is refused even where none is needed
    msg = s_subscribe_msg (3, "elder", "sightseeing", 1000);
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "purpose_not_allowed");
    msg = s_subscribe_msg (3, "facility", "sightseeing", 1000);
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "purpose_not_allowed");
    //  Public fields need none
    msg = s_subscribe_msg (3, "facility,credit", NULL, 1000);
    log = s_feed_of (&env, &partner, &msg);
    ck_assert_uint_eq (log->count, 2);
    ck_assert_uint_eq (log->audits, 0);
    s_log_destroy (&log);
    //  No policy for the certificate: nothing
    msg = s_subscribe_msg (4, "facility", NULL, 1000);
    s_subscribe_refused (&env, &nobody, env.conn_a, &msg, "policy");
    ck_assert_uint_eq (ht_feed_size (env.feed), 0);
    ht_read_client_destroy (&fire);
    ht_read_client_destroy (&partner);
    ht_read_client_destroy (&nobody);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Deletions

START_TEST (tombstones_arrive_as_deleted_events)
{
    s_env_t env;
    s_client_t partner, civil;
    s_env_init_two (&env, &partner, &civil);
    ht_msg_t msg = s_subscribe_msg (1, "elder", "care_service", 1000);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    s_log_t *log = s_log_new (1, &partner, env.conn_a, 0);
    s_drain_one (&env, S_T0_MS, log);
    ck_assert_uint_eq (log->count, HT_READ_ELDER_COUNT);
    for (size_t index = 0; index < log->count; index++)
        ck_assert (!log->deleted [index]);
    s_put_tombstone (&env, env.elders [2], ht_fixture_hlc (6, 0));
    s_drain_one (&env, S_T0_MS + 10, log);
    ck_assert_uint_eq (log->count, HT_READ_ELDER_COUNT + 1);
    ck_assert_str_eq (log->keys [HT_READ_ELDER_COUNT], env.elders [2]);
    ck_assert (log->deleted [HT_READ_ELDER_COUNT]);
    ck_assert_str_eq (log->kinds [HT_READ_ELDER_COUNT], "elder");
    s_log_destroy (&log);
    //  From the start, the entity is its tombstone, where it was deleted
    msg = s_subscribe_msg (2, "elder", "subsidy_review", 1000);
    log = s_feed_of (&env, &civil, &msg);
    s_log_t *expected = s_expected (&env, HT_FIXTURE_COUNTY, "elder", NULL, 0);
    s_assert_events (log, expected);
    ck_assert_uint_eq (log->count, HT_READ_ELDER_COUNT);
    ck_assert_str_eq (log->keys [HT_READ_ELDER_COUNT - 1], env.elders [2]);
    ck_assert (log->deleted [HT_READ_ELDER_COUNT - 1]);
    s_log_destroy (&expected);
    s_log_destroy (&log);
    ht_read_client_destroy (&partner);
    ht_read_client_destroy (&civil);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Audit

START_TEST (a_disclosing_batch_yields_one_audit_draft_naming_its_events)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t civil, partner;
    ht_read_department (&env, &civil, 0x72, "civil_affairs");
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    ht_msg_t msg = s_subscribe_msg (1, "elder", "subsidy_review", 100);
    s_out_t out;
    s_subscribed (&env, &civil, env.conn_a, &msg, S_T0_MS);
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
    ck_assert_uint_eq (out.count, HT_READ_ELDER_COUNT);
    ck_assert (json_is_true (json_object_get (out.json, "audited")));
    const ht_record_t *audit = out.audit;
    ck_assert_ptr_nonnull (audit);
    ck_assert_str_eq (ht_record_kind (audit), "audit");
    ck_assert (!ht_record_is_signed (audit));
    ck_assert_str_eq (ht_record_get_str (audit, "request"), "feed");
    int64_t events = 0;
    ck_assert (ht_record_get_int (audit, "events", &events));
    ck_assert_int_eq (events, HT_READ_ELDER_COUNT);
    ck_assert_str_eq (ht_record_get_str (audit, "subject_kind"), "elder");
    ck_assert_str_eq (ht_record_get_str (audit, "policy"), "civil_affairs");
    ck_assert_str_eq (ht_record_get_str (audit, "purpose"), "subsidy_review");
    ck_assert_str_eq (ht_record_get_str (audit, "department"), "civil_affairs");
    ck_assert_str_eq (ht_record_get_str (audit, "client"), civil.client.user);
    ck_assert_uint_eq (ht_record_get_strs_count (audit, "subjects"), HT_READ_ELDER_COUNT);
    for (size_t index = 0; index < HT_READ_ELDER_COUNT; index++)
        ck_assert_str_eq (ht_record_get_strs_item (audit, "subjects", index),
                          ht_record_key (out.records [index]));
    bool names_id_no = false;
    for (size_t index = 0; index < ht_record_get_strs_count (audit, "fields"); index++)
        names_id_no |= streq (ht_record_get_strs_item (audit, "fields", index), "id_no");
    ck_assert (names_id_no);
    ht_read_reply_destroy (&out);
    ck_assert (!s_next (&env, S_T0_MS, &out, NULL));
    s_unsubscribe (&env, &civil, env.conn_a, 1);

    //  A batch of two kinds: one draft, counting every event, naming the
    //  elders (the care home shows no personal field)
    msg = s_subscribe_msg (2, "elder,facility", "subsidy_review", 100);
    s_subscribed (&env, &civil, env.conn_a, &msg, S_T0_MS);
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_uint_eq (out.count, HT_READ_ELDER_COUNT + 1);
    ck_assert_ptr_nonnull (out.audit);
    ck_assert (ht_record_get_int (out.audit, "events", &events));
    ck_assert_int_eq (events, HT_READ_ELDER_COUNT + 1);
    ck_assert_uint_eq (ht_record_get_strs_count (out.audit, "subjects"), HT_READ_ELDER_COUNT);
    ht_read_reply_destroy (&out);
    s_unsubscribe (&env, &civil, env.conn_a, 2);

    //  Masks disclose too: the partner's batch is audited
    msg = s_subscribe_msg (3, "elder", "care_service", 4);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_uint_eq (out.count, 4);
    ck_assert_ptr_nonnull (out.audit);
    ck_assert (ht_record_get_int (out.audit, "events", &events));
    ck_assert_int_eq (events, 4);
    ck_assert_uint_eq (ht_record_get_strs_count (out.audit, "subjects"), 4);
    ck_assert_str_eq (ht_record_get_str (out.audit, "purpose"), "care_service");
    ck_assert_uint_gt (ht_record_get_strs_count (out.audit, "masked"), 0);
    ht_read_reply_destroy (&out);
    s_unsubscribe (&env, &partner, env.conn_a, 3);

    //  Public fields only: no draft
    msg = s_subscribe_msg (4, "facility", NULL, 100);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    ck_assert (s_next (&env, S_T0_MS, &out, NULL));
    ck_assert_uint_eq (out.count, 1);
    ck_assert_ptr_null (out.audit);
    ck_assert (json_is_false (json_object_get (out.json, "audited")));
    ht_read_reply_destroy (&out);
    ht_read_client_destroy (&civil);
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

//  Take the next EVENTS (the caller destroys it)
static void
s_next_events (s_env_t *env, int64_t now_ms, s_out_t *out)
{
    ck_assert (s_next (env, now_ms, out, NULL));
    ck_assert_str_eq (out->head.command, HT_MSG_EVENTS);
}

//  The same events, byte for byte, between the same cursors
static void
s_assert_same_events (const s_out_t *one, const s_out_t *other)
{
    ck_assert_int_eq (s_int (one, "from"), s_int (other, "from"));
    ck_assert_int_eq (s_int (one, "cursor"), s_int (other, "cursor"));
    ck_assert_uint_eq (one->count, other->count);
    for (size_t index = 0; index < one->count; index++) {
        ck_assert_uint_eq (one->sizes [index], other->sizes [index]);
        ck_assert (memcmp (one->data [index], other->data [index], one->sizes [index]) == 0);
    }
    ck_assert_int_eq (one->audit != NULL, other->audit != NULL);
}

START_TEST (a_rewound_batch_comes_again)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t civil;
    ht_read_department (&env, &civil, 0x72, "civil_affairs");
    ht_msg_t msg = s_subscribe_msg (1, "elder", "subsidy_review", 100);
    s_out_t out;
    s_subscribed (&env, &civil, env.conn_a, &msg, S_T0_MS);
    s_out_t first, again;
    s_next_events (&env, S_T0_MS, &first);
    ck_assert_ptr_nonnull (first.audit);
    ck_assert (!s_next (&env, S_T0_MS, &out, NULL));
    //  The node could not store the audit record: the same events again
    ht_feed_rewind (env.feed, env.conn_a, 1, (uint64_t) s_int (&first, "from"), first.count);
    ck_assert (ht_feed_busy (env.feed));
    s_next_events (&env, S_T0_MS, &again);
    s_assert_same_events (&first, &again);
    ht_read_reply_destroy (&again);
    ck_assert (!s_next (&env, S_T0_MS, &out, NULL));
    //  Rewinding what another connection or token holds does nothing
    ht_feed_rewind (env.feed, env.conn_b, 1, 0, 0);
    ht_feed_rewind (env.feed, env.conn_a, 2, 0, 0);
    ck_assert (!ht_feed_busy (env.feed));
    ck_assert (!s_next (&env, S_T0_MS, &out, NULL));
    //  After more changes, a rewind goes back to the last batch's start
    ht_record_t *record = s_elder (&env, 60, "新老人", ht_fixture_hlc (5, 0));
    ht_read_put (&env, &record);
    ck_assert (ht_feed_busy (env.feed));
    s_next_events (&env, S_T0_MS + 10, &again);
    ck_assert_uint_eq (again.count, 1);
    ck_assert_int_eq (s_int (&again, "from"), s_int (&first, "cursor"));
    s_out_t third;
    ht_feed_rewind (env.feed, env.conn_a, 1, (uint64_t) s_int (&again, "from"), again.count);
    s_next_events (&env, S_T0_MS + 10, &third);
    s_assert_same_events (&again, &third);
    ht_read_reply_destroy (&third);
    ht_read_reply_destroy (&again);
    ht_read_reply_destroy (&first);
    ht_read_client_destroy (&civil);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_rewound_batch_gives_back_the_credit_it_took)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t civil;
    ht_read_department (&env, &civil, 0x72, "civil_affairs");
    //  Credit for exactly one batch: it was never sent, so it must not
    //  use up the credit (the client, which never saw it, gives none back)
    ht_msg_t msg = s_subscribe_msg (1, "elder", "subsidy_review", HT_READ_ELDER_COUNT);
    s_subscribed (&env, &civil, env.conn_a, &msg, S_T0_MS);
    s_out_t first, again;
    s_next_events (&env, S_T0_MS, &first);
    ck_assert_uint_eq (first.count, HT_READ_ELDER_COUNT);
    ht_feed_rewind (env.feed, env.conn_a, 1, (uint64_t) s_int (&first, "from"), first.count);
    ck_assert (s_next (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, &again, NULL));
    ck_assert_msg (streq (again.head.command, HT_MSG_EVENTS), "after the rewind: %s with "
                   "credit %" PRId64 ", not the batch again", again.head.command,
                   streq (again.head.command, HT_MSG_FEED_HB)? s_int (&again, "credit"): -1);
    s_assert_same_events (&first, &again);
    ht_read_reply_destroy (&again);
    ht_read_reply_destroy (&first);
    ht_read_client_destroy (&civil);
    s_env_destroy (&env);
}
END_TEST

START_TEST (when_two_batches_are_rewound_the_first_comes_again)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t civil;
    ht_read_department (&env, &civil, 0x72, "civil_affairs");
    ht_msg_t msg = s_subscribe_msg (1, "elder", "subsidy_review", 100);
    s_out_t out;
    s_subscribed (&env, &civil, env.conn_a, &msg, S_T0_MS);
    //  The reader hands out two batches before the node, which stores
    //  their audit records in one transaction, finds it could store
    //  neither: it rewinds once per batch
    s_out_t first, second;
    s_next_events (&env, S_T0_MS, &first);
    ht_record_t *record = s_elder (&env, 60, "新老人", ht_fixture_hlc (5, 0));
    ht_read_put (&env, &record);
    ck_assert (ht_feed_busy (env.feed));
    s_next_events (&env, S_T0_MS, &second);
    ck_assert_int_eq (s_int (&second, "from"), s_int (&first, "cursor"));
    ht_feed_rewind (env.feed, env.conn_a, 1, (uint64_t) s_int (&first, "from"), first.count);
    ht_feed_rewind (env.feed, env.conn_a, 1, (uint64_t) s_int (&second, "from"), second.count);
    //  Neither was sent: the events come again from the first one's start
    ck_assert (ht_feed_busy (env.feed));
    s_next_events (&env, S_T0_MS, &out);
    ck_assert_msg (s_int (&out, "from") == s_int (&first, "from"), "after rewinding both "
                   "batches the feed goes on from %" PRId64 " (the second's start), not %"
                   PRId64 ": the first batch's %zu events are never sent", s_int (&out, "from"),
                   s_int (&first, "from"), first.count);
    ht_read_reply_destroy (&out);
    ht_read_reply_destroy (&second);
    ht_read_reply_destroy (&first);
    ht_read_client_destroy (&civil);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Bounds

START_TEST (a_key_holds_at_most_HT_FEED_MAX_PER_KEY_subscriptions)
{
    s_env_t env;
    s_client_t partner, civil;
    s_env_init_two (&env, &partner, &civil);
    ht_msg_t msg;
    s_out_t out;
    for (uint64_t token = 1; token <= HT_FEED_MAX_PER_KEY; token++) {
        msg = s_subscribe_msg (token, "facility", NULL, 0);
        s_subscribe_ok (&env, &partner, env.conn_a, &msg, S_T0_MS, &out);
        ck_assert_int_eq (s_int (&out, "credit"), 0);
        ht_read_reply_destroy (&out);
    }
    ck_assert_uint_eq (ht_feed_size (env.feed), HT_FEED_MAX_PER_KEY);
    msg = s_subscribe_msg (HT_FEED_MAX_PER_KEY + 1, "facility", NULL, 0);
    s_subscribe_refused (&env, &partner, env.conn_a, &msg, "rate_limited");
    //  The key's, on any connection
    s_subscribe_refused (&env, &partner, env.conn_b, &msg, "rate_limited");
    //  The same token replaces its subscription
    msg = s_subscribe_msg (5, "facility", NULL, 7);
    s_subscribe_ok (&env, &partner, env.conn_a, &msg, S_T0_MS, &out);
    ck_assert_int_eq (s_int (&out, "credit"), 7);
    ht_read_reply_destroy (&out);
    ck_assert_uint_eq (ht_feed_size (env.feed), HT_FEED_MAX_PER_KEY);
    //  Another key has its own
    msg = s_subscribe_msg (HT_FEED_MAX_PER_KEY + 1, "facility", "subsidy_review", 0);
    s_subscribed (&env, &civil, env.conn_b, &msg, S_T0_MS);
    ck_assert_uint_eq (ht_feed_size (env.feed), HT_FEED_MAX_PER_KEY + 1);
    //  Another key cannot end the partner's, even on its connection
    s_unsubscribe (&env, &civil, env.conn_a, 3);
    ck_assert_uint_eq (ht_feed_size (env.feed), HT_FEED_MAX_PER_KEY + 1);
    s_credit_not_found (&env, &civil, env.conn_a, 3, S_T0_MS);
    //  One ended makes room
    s_unsubscribe (&env, &partner, env.conn_a, 3);
    ck_assert_uint_eq (ht_feed_size (env.feed), HT_FEED_MAX_PER_KEY);
    s_credit_not_found (&env, &partner, env.conn_a, 3, S_T0_MS);
    msg = s_subscribe_msg (HT_FEED_MAX_PER_KEY + 1, "facility", NULL, 0);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    ck_assert_uint_eq (ht_feed_size (env.feed), HT_FEED_MAX_PER_KEY + 1);
    ht_read_client_destroy (&partner);
    ht_read_client_destroy (&civil);
    s_env_destroy (&env);
}
END_TEST

START_TEST (credit_for_a_subscription_not_held_is_not_found)
{
    s_env_t env;
    s_env_init (&env);
    s_client_t partner;
    s_partner (&env, &partner, 0x71, HT_FIXTURE_COUNTY);
    s_credit_not_found (&env, &partner, env.conn_a, 99, S_T0_MS);
    ht_msg_t msg = s_subscribe_msg (1, "facility", NULL, 0);
    s_out_t out;
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    s_credit_ok (&env, &partner, env.conn_a, 1, 1, S_T0_MS);
    //  Another token, or the same token on another connection
    s_credit_not_found (&env, &partner, env.conn_a, 2, S_T0_MS);
    s_credit_not_found (&env, &partner, env.conn_b, 1, S_T0_MS);
    //  Unsubscribed (twice: the second is no error)
    s_unsubscribe (&env, &partner, env.conn_a, 1);
    s_unsubscribe (&env, &partner, env.conn_a, 1);
    ck_assert_uint_eq (ht_feed_size (env.feed), 0);
    s_credit_not_found (&env, &partner, env.conn_a, 1, S_T0_MS);
    ck_assert (!s_next (&env, S_T0_MS + 10 * HT_FEED_HEARTBEAT_MS, &out, NULL));
    ht_read_client_destroy (&partner);
    s_env_destroy (&env);
}
END_TEST

START_TEST (subscriptions_idle_too_long_are_dropped_on_the_next_subscribe)
{
    s_env_t env;
    s_client_t partner, civil;
    s_env_init_two (&env, &partner, &civil);
    ht_msg_t msg;
    for (uint64_t token = 1; token <= HT_FEED_MAX_PER_KEY; token++) {
        msg = s_subscribe_msg (token, "facility", NULL, 0);
        s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    }
    //  CREDIT is hearing from it; heartbeats sent are not
    s_credit_ok (&env, &partner, env.conn_a, 2, 1, S_T0_MS + HT_FEED_IDLE_MS / 2);
    for (int64_t now = S_T0_MS; now <= S_T0_MS + HT_FEED_IDLE_MS; now += HT_FEED_IDLE_MS / 4)
        s_discard (&env, now);
    ck_assert_uint_eq (ht_feed_size (env.feed), HT_FEED_MAX_PER_KEY);
    //  Exactly the idle time: kept
    msg = s_subscribe_msg (1, "facility", "subsidy_review", 0);
    s_subscribed (&env, &civil, env.conn_b, &msg, S_T0_MS + HT_FEED_IDLE_MS);
    ck_assert_uint_eq (ht_feed_size (env.feed), HT_FEED_MAX_PER_KEY + 1);
    //  Past it: dropped, all but the one that gave credit, and the key
    //  has room again
    msg = s_subscribe_msg (HT_FEED_MAX_PER_KEY + 1, "facility", NULL, 0);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS + HT_FEED_IDLE_MS + 1);
    ck_assert_uint_eq (ht_feed_size (env.feed), 3);
    s_credit_not_found (&env, &partner, env.conn_a, 1, S_T0_MS + HT_FEED_IDLE_MS + 2);
    s_credit_not_found (&env, &partner, env.conn_a, 3, S_T0_MS + HT_FEED_IDLE_MS + 2);
    s_credit_ok (&env, &partner, env.conn_a, 2, 1, S_T0_MS + HT_FEED_IDLE_MS + 2);
    s_credit_ok (&env, &civil, env.conn_b, 1, 1, S_T0_MS + HT_FEED_IDLE_MS + 2);
    ht_read_client_destroy (&partner);
    ht_read_client_destroy (&civil);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Turns

START_TEST (subscriptions_with_credit_take_turns)
{
    s_env_t env;
    s_client_t partner, civil;
    s_env_init_two (&env, &partner, &civil);
    ht_msg_t msg = s_subscribe_msg (1, "elder", "care_service", 1);
    s_out_t out;
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    msg = s_subscribe_msg (2, "elder", "subsidy_review", 1);
    s_subscribed (&env, &civil, env.conn_b, &msg, S_T0_MS);
    //  A third, on the partner's connection, without credit: it waits and
    //  holds up nobody
    msg = s_subscribe_msg (3, "elder", "care_service", 0);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    s_log_t *one = s_log_new (1, &partner, env.conn_a, 0);
    s_log_t *two = s_log_new (2, &civil, env.conn_b, 0);
    s_log_t *three = s_log_new (3, &partner, env.conn_a, 0);
    s_log_t *logs [] = { one, two, three };
    for (size_t round = 1; round <= 4; round++) {
        //  Each with credit gets one event per round, whoever came first
        for (size_t turn = 0; turn < 2; turn++) {
            zframe_t *conn = NULL;
            ck_assert (s_next (&env, S_T0_MS, &out, &conn));
            ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
            s_log_t *log = out.head.token == 1? one: out.head.token == 2? two: three;
            ck_assert (zframe_eq (conn, log->conn));
            s_log_add (&env, log, &out);
            zframe_destroy (&conn);
            ht_read_reply_destroy (&out);
        }
        ck_assert_uint_eq (one->count, round);
        ck_assert_uint_eq (two->count, round);
        ck_assert (!s_next (&env, S_T0_MS, &out, NULL));
        s_credit_ok (&env, &partner, env.conn_a, 1, 1, S_T0_MS);
        s_credit_ok (&env, &civil, env.conn_b, 2, 1, S_T0_MS);
    }
    ck_assert_uint_eq (three->count, 0);
    //  One with plenty of credit does not keep the other waiting
    s_credit_ok (&env, &partner, env.conn_a, 1, 1000, S_T0_MS);
    s_credit_ok (&env, &partner, env.conn_a, 3, 1000, S_T0_MS);
    s_drain (&env, S_T0_MS, logs, 3);
    ck_assert_uint_eq (one->count, HT_READ_ELDER_COUNT);
    ck_assert_uint_eq (two->count, 5);
    ck_assert_uint_eq (three->count, HT_READ_ELDER_COUNT);
    //  Heartbeats for each, a second after what each got last
    s_drain (&env, S_T0_MS + HT_FEED_HEARTBEAT_MS, logs, 3);
    ck_assert_uint_eq (one->heartbeats, 1);
    ck_assert_uint_eq (two->heartbeats, 1);
    ck_assert_uint_eq (three->heartbeats, 1);
    ck_assert_int_eq (two->hb_credit, 0);
    s_log_destroy (&one);
    s_log_destroy (&two);
    s_log_destroy (&three);
    s_unsubscribe (&env, &partner, env.conn_a, 1);
    s_unsubscribe (&env, &civil, env.conn_b, 2);
    s_unsubscribe (&env, &partner, env.conn_a, 3);
    ck_assert_uint_eq (ht_feed_size (env.feed), 0);

    //  Two with more than a batch waiting each: their batches alternate
    s_put_credits (&env, false, HT_FEED_BATCH + 20);
    msg = s_subscribe_msg (4, "credit", NULL, HT_FEED_MAX_CREDIT);
    s_subscribed (&env, &partner, env.conn_a, &msg, S_T0_MS);
    msg = s_subscribe_msg (5, "credit", "subsidy_review", HT_FEED_MAX_CREDIT);
    s_subscribed (&env, &civil, env.conn_b, &msg, S_T0_MS);
    uint64_t tokens [4];
    size_t counts [4];
    for (size_t turn = 0; turn < 4; turn++) {
        ck_assert (s_next (&env, S_T0_MS, &out, NULL));
        ck_assert_str_eq (out.head.command, HT_MSG_EVENTS);
        tokens [turn] = out.head.token;
        counts [turn] = out.count;
        ht_read_reply_destroy (&out);
    }
    ck_assert_uint_ne (tokens [0], tokens [1]);
    ck_assert_uint_eq (tokens [0], tokens [2]);
    ck_assert_uint_eq (tokens [1], tokens [3]);
    ck_assert_uint_eq (counts [0], HT_FEED_BATCH);
    ck_assert_uint_eq (counts [1], HT_FEED_BATCH);
    ck_assert_uint_eq (counts [2], 21);
    ck_assert_uint_eq (counts [3], 21);
    ck_assert (!s_next (&env, S_T0_MS, &out, NULL));
    ht_read_client_destroy (&partner);
    ht_read_client_destroy (&civil);
    s_env_destroy (&env);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("feed");
    TCase *tc = tcase_create ("start");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, a_feed_from_the_start_delivers_every_visible_record_in_sequence_order);
    tcase_add_test (tc, events_carry_the_policys_redacted_form_that_verifies);
    tcase_add_test (tc, tombstones_arrive_as_deleted_events);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("jurisdiction");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, records_outside_the_clients_jurisdiction_never_appear);
    tcase_add_test (tc, the_cursor_moves_past_changes_outside_the_jurisdiction);
    tcase_add_test (tc, a_long_run_of_changes_outside_the_jurisdiction_does_not_stall_the_feed);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("credit");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, credit_bounds_the_events_and_only_heartbeats_come_until_more_is_given);
    tcase_add_test (tc, credit_above_the_maximum_is_capped);
    tcase_add_test (tc, a_huge_credit_is_capped_and_does_not_wrap);
    tcase_add_test (tc, a_batch_holds_at_most_HT_FEED_BATCH_events);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("cursors");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, a_saved_cursor_resumes_with_later_changes_only);
    tcase_add_test (tc, a_cursor_the_store_cannot_serve_gets_resync);
    tcase_add_test (tc, after_now_only_new_writes_arrive);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("filters");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, filters_select_kinds_region_prefixes_and_field_values);
    tcase_add_test (tc, policies_and_purposes_decide_who_may_subscribe_to_what);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("audit");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, a_disclosing_batch_yields_one_audit_draft_naming_its_events);
    tcase_add_test (tc, a_rewound_batch_comes_again);
    tcase_add_test (tc, a_rewound_batch_gives_back_the_credit_it_took);
    tcase_add_test (tc, when_two_batches_are_rewound_the_first_comes_again);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("bounds");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, a_key_holds_at_most_HT_FEED_MAX_PER_KEY_subscriptions);
    tcase_add_test (tc, credit_for_a_subscription_not_held_is_not_found);
    tcase_add_test (tc, subscriptions_idle_too_long_are_dropped_on_the_next_subscribe);
    tcase_add_test (tc, subscriptions_with_credit_take_turns);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (s_suite)
