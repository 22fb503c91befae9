//  ht_service: the client service (see ht_service.h).
#include <sodium.h>
#include "ht_service.h"
#include "ht_feed.h"
#include "ht_gate.h"
#include "ht_hlc.h"
#include "ht_log.h"
#include "ht_msg.h"
#include "ht_ratelimit.h"
#include "ht_region.h"
#include "ht_schema.h"

//  Clients whose request budget is remembered (least recently seen
//  forgotten first); only certified keys get this far
#define S_RATE_CLIENTS 4096
#define S_HEX_KEY_CHARS (2 * HT_PUBKEY_BYTES)

struct _ht_service_t {
    ht_store_t *store;                  //  where PUTs go (borrowed)
    const ht_config_t *config;          //  limits, region (borrowed)
    ht_service_io_t io;                 //  what we ask of our owner
    ht_ratelimit_t *rates;              //  request budget per client key
    uint64_t rate_limited;              //  requests refused over the rate
    uint64_t protocol_errors;           //  malformed or unknown requests
};

//  What a request handler answers: an OK command with a JSON document,
//  or an ERROR with its name and reason
typedef struct {
    const char *command;                //  the OK reply's command, or NULL
    json_t *json;                       //  its document (owned)
    const char *error;                  //  else: the error's name
    char reason [HT_MSG_TEXT_CHARS + 1];    //  and why
} s_answer_t;

ht_service_t *
ht_service_new (ht_store_t *store, const ht_config_t *config, ht_service_io_t io)
{
    ht_service_t *self = (ht_service_t *) zmalloc (sizeof (ht_service_t));
    self->store = store;
    self->config = config;
    self->io = io;
    self->rates = ht_ratelimit_new (S_RATE_CLIENTS);
    return self;
}

void
ht_service_destroy (ht_service_t **self_p)
{
    ht_service_t *self = *self_p;
    if (self) {
        ht_ratelimit_destroy (&self->rates);
        free (self);
        *self_p = NULL;
    }
}

uint64_t ht_service_rate_limited (const ht_service_t *self) { return self->rate_limited; }
uint64_t ht_service_protocol_errors (const ht_service_t *self) { return self->protocol_errors; }

static void
s_fail (s_answer_t *answer, const char *error, const char *reason)
{
    answer->command = NULL;
    answer->error = error;
    snprintf (answer->reason, sizeof answer->reason, "%s", reason? reason: "");
}

//  --------------------------------------------------------------------------
//  Requests

//  The records of a PUT, by index, that are not their entity's current
//  version after it, each with the current version's hlc: a writer that
//  timestamped an update from its own clock learns that a version which
//  sorts after it was here already. Only looked for when the PUT kept
//  records as history.
static json_t *
s_historic_records (ht_service_t *self, const uint8_t *const *data, const size_t *sizes,
                    const int *results, const bool *unchanged, size_t count)
{
    json_t *list = json_array ();
    for (size_t index = 0; index < count; index++) {
        ht_record_head_t head;
        if (results [index] || unchanged [index]
        ||  ht_record_peek (data [index], sizes [index], &head))
            continue;
        ht_record_t *current = ht_store_get (self->store, head.kind, head.key, NULL);
        bool behind = current && ht_record_hlc (current) > head.hlc;
        //  One hlc, two versions: the merge order decides (rare enough
        //  to decode for)
        if (current && ht_record_hlc (current) == head.hlc) {
            ht_record_t *record = ht_record_decode (data [index], sizes [index], NULL, NULL);
            behind = record && ht_record_compare (current, record) > 0;
            ht_record_destroy (&record);
        }
        if (behind)
            json_array_append_new (list, json_pack ("{s:I, s:I}", "index", (json_int_t) index,
                "current_hlc", (json_int_t) ht_record_hlc (current)));
        ht_record_destroy (&current);
    }
    return list;
}

//  A client's version that says what the entity's current version says
//  (ht_record_same_content) changes nothing: it is not stored, and counts
//  as unchanged. Only a version the store would admit and let succeed the
//  current one is passed over; any other is applied (and refused) as
//  before, so the answer tells a client nothing about content it could
//  not have written over anyway.
static bool
s_changes_nothing (ht_service_t *self, const uint8_t *data, size_t size,
                   const ht_record_head_t *head)
{
    ht_record_t *current = ht_store_get (self->store, head->kind, head->key, NULL);
    ht_record_t *record = current? ht_record_decode (data, size, NULL, NULL): NULL;
    bool same = record && ht_record_same_content (current, record);
    if (same) {
        ht_gate_t gate = ht_gate_of_store (self->store, ht_store_region (self->store),
                                           (uint64_t) zclock_time ());
        same = ht_gate_admit_unchanged (&gate, record, current, HT_GATE_INGEST) == HT_OK;
    }
    ht_record_destroy (&record);
    ht_record_destroy (&current);
    return same;
}

//  Mark the records of a PUT that change nothing: only the first of its
//  entity in the PUT can be one, as an earlier record of the entity may
//  change what the current version says. Returns how many.
static size_t
s_mark_unchanged (ht_service_t *self, const uint8_t *const *data, const size_t *sizes,
                  size_t count, bool *unchanged)
{
    zhashx_t *seen = zhashx_new ();
    size_t marked = 0;
    for (size_t index = 0; seen && index < count; index++) {
        ht_record_head_t head;
        if (ht_record_peek (data [index], sizes [index], &head))
            continue;
        char name [HT_KIND_MAX_CHARS + HT_KEY_MAX_CHARS + 2];
        snprintf (name, sizeof name, "%s/%s", head.kind, head.key);
        bool first = zhashx_insert (seen, name, (void *) name) == 0;
        unchanged [index] = first && s_changes_nothing (self, data [index], sizes [index], &head);
        marked += unchanged [index];
    }
    zhashx_destroy (&seen);
    return marked;
}

//  Store the records of a PUT as local writes: they enter the network
//  here, so they face the ingest window; quarantine counts them against
//  the client that sent them. Records that change nothing are left out.
static void
s_put (ht_service_t *self, zmsg_t *records, const char *user, s_answer_t *answer)
{
    size_t count = zmsg_size (records);
    if (count > HT_PUT_MAX_RECORDS) {
        s_fail (answer, "too_many_records",
                "a PUT carries at most " HT_STRINGIFY (HT_PUT_MAX_RECORDS) " records");
        return;
    }
    const uint8_t **data = (const uint8_t **) calloc (count + 1, sizeof (uint8_t *));
    size_t *sizes = (size_t *) calloc (count + 1, sizeof (size_t));
    int *results = (int *) calloc (count + 1, sizeof (int));
    bool *unchanged = (bool *) calloc (count + 1, sizeof (bool));
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (records); frame; frame = zmsg_next (records), index++) {
        data [index] = zframe_data (frame);
        sizes [index] = zframe_size (frame);
    }
    size_t skipped = s_mark_unchanged (self, data, sizes, count, unchanged);
    //  The rest are applied, packed to the front; then put back in place
    const uint8_t **changing = (const uint8_t **) calloc (count + 1, sizeof (uint8_t *));
    size_t *changing_sizes = (size_t *) calloc (count + 1, sizeof (size_t));
    int *changing_results = (int *) calloc (count + 1, sizeof (int));
    size_t changing_count = 0;
    for (index = 0; index < count; index++)
        if (!unchanged [index]) {
            changing [changing_count] = data [index];
            changing_sizes [changing_count++] = sizes [index];
        }
    char source [32];
    snprintf (source, sizeof source, "client:%.16s", user);
    ht_origin_t origin = { .source = source };
    ht_apply_stats_t stats = { 0 };
    int rc = changing_count? ht_store_apply_encoded (self->store, changing, changing_sizes,
                                                     changing_count, &origin, &stats,
                                                     changing_results): 0;
    stats.unchanged += skipped;
    for (index = 0, changing_count = 0; index < count; index++)
        results [index] = unchanged [index]? 0: changing_results [changing_count++];
    free (changing);
    free (changing_sizes);
    free (changing_results);
    json_t *reply = json_pack ("{s:I, s:I, s:I, s:I, s:I}", "applied", (json_int_t) stats.applied,
                               "unchanged", (json_int_t) stats.unchanged,
                               "historic", (json_int_t) stats.historic,
                               "conflicts", (json_int_t) stats.conflicts,
                               "quarantined", (json_int_t) stats.quarantined);
    json_t *list = json_array ();
    for (index = 0; index < count; index++)
        json_array_append_new (list, json_string (ht_errname (rc? rc: results [index])));
    json_object_set_new (reply, "results", list);
    json_object_set_new (reply, "historic_records", rc == 0 && stats.historic
                         ? s_historic_records (self, data, sizes, results, unchanged, count)
                         : json_array ());
    if (rc) {
        json_object_set_new (reply, "error", json_string (ht_strerror (rc)));
        json_object_set_new (reply, "code", json_string (ht_errname (rc)));
        HT_WARNING (self->config, "service: PUT of %zu records from client %.16s not "
                    "stored: %s (%s)", count, user, ht_errname (rc), ht_strerror (rc));
    }
    free (unchanged);
    free (data);
    free (sizes);
    free (results);
    HT_DEBUG (self->config, "service: PUT of %zu records from client %.16s: %zu applied, "
              "%zu quarantined", count, user, stats.applied, stats.quarantined);
    if (stats.applied && self->io.wrote)
        self->io.wrote (self->io.arg);
    answer->command = HT_MSG_PUT_OK;
    answer->json = reply;
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

void
ht_service_store_status (ht_service_t *self, json_t *status)
{
    json_object_set_new (status, "name", json_string (self->config->name));
    json_object_set_new (status, "region", json_string (self->config->region));
    json_object_set_new (status, "rate_limited", json_integer ((json_int_t) self->rate_limited));
    char epoch [2 * HT_EPOCH_BYTES + 1];
    json_object_set_new (status, "epoch", json_string (
        ht_hex_encode (ht_store_epoch (self->store), HT_EPOCH_BYTES, epoch)));
    json_object_set_new (status, "last_seq",
                         json_integer ((json_int_t) ht_store_last_seq (self->store)));
    json_object_set_new (status, "conflicts",
                         json_integer ((json_int_t) ht_store_counter (self->store, "conflicts")));
    json_object_set_new (status, "quarantine_dropped", json_integer (
        (json_int_t) ht_store_counter (self->store, "quarantine_dropped")));
    json_t *records = json_object ();
    for (size_t index = 0; ht_schema_kind_at (index); index++) {
        const char *kind = ht_schema_kind_at (index)->name;
        json_object_set_new (records, kind,
                             json_integer ((json_int_t) ht_store_count (self->store, kind)));
    }
    json_object_set_new (status, "records", records);
    json_t *quarantine = json_object ();
    ht_store_quarantine (self->store, s_count_quarantine, quarantine);
    json_object_set_new (status, "quarantine", quarantine);
}

//  A node's status (its peers, keys and counters) is for those who run
//  it or the tiers above: operator and node keys whose region covers
//  this node's. A partner, a department or a lower tier is refused.
static bool
s_may_read_status (ht_service_t *self, const ht_cert_t *cert)
{
    return (cert->role == HT_ROLE_OPERATOR || cert->role == HT_ROLE_NODE)
        && ht_region_covers (cert->region, self->config->region);
}

static void
s_status (ht_service_t *self, const ht_cert_t *cert, s_answer_t *answer)
{
    if (!s_may_read_status (self, cert)) {
        s_fail (answer, ht_errname (HT_EFORBIDDEN), "a node's status is for operator and "
                "node keys of its own region or above");
        return;
    }
    json_t *status = self->io.status? self->io.status (self->io.arg): NULL;
    if (!status) {
        status = json_object ();
        ht_service_store_status (self, status);
    }
    answer->command = HT_MSG_STATUS_OK;
    answer->json = status;
}

//  Who we are, and the asking client's own certificate (for default scopes)
static void
s_info (ht_service_t *self, const char *user, s_answer_t *answer)
{
    char hex [S_HEX_KEY_CHARS + 1];
    json_t *info = json_pack ("{s:s, s:s, s:s, s:I}", "name", self->config->name,
        "region", self->config->region,
        "anchor", ht_hex_encode (ht_store_anchor (self->store), HT_PUBKEY_BYTES, hex),
        "last_seq", (json_int_t) ht_store_last_seq (self->store));
    int error = 0;
    ht_record_t *cert = *user? ht_store_get (self->store, "cert", user, &error): NULL;
    json_object_set_new (info, "client_cert", cert? ht_record_to_json (cert): json_null ());
    ht_record_destroy (&cert);
    //  The schema versions this node writes in, so a client can write the same
    json_t *versions = json_object ();
    for (size_t index = 0; ht_schema_kind_at (index); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        json_object_set_new (versions, kind->name,
                             json_integer ((json_int_t) ht_schema_write_version (kind)));
    }
    json_object_set_new (info, "write_versions", versions);
    answer->command = HT_MSG_INFO_OK;
    answer->json = info;
}

//  --------------------------------------------------------------------------
//  Dispatch

//  The reply's frames for an answer to the request with token
static zmsg_t *
s_encode (const s_answer_t *answer, uint64_t token)
{
    ht_msg_t msg;
    ht_msg_init (&msg, answer->command? answer->command: HT_MSG_ERROR);
    msg.token = token;
    if (!answer->command) {
        snprintf (msg.error, sizeof msg.error, "%s", answer->error);
        snprintf (msg.text, sizeof msg.text, "%s", answer->reason);
    }
    zmsg_t *zmsg = ht_msg_encode (&msg);
    if (answer->command) {
        char *text = json_dumps (answer->json, JSON_COMPACT | JSON_SORT_KEYS);
        zmsg_addstr (zmsg, text? text: "{}");
        free (text);
    }
    return zmsg;
}

//  Dispatch a decoded request from an admitted client
static void
s_dispatch (ht_service_t *self, const ht_msg_t *msg, zmsg_t *records, const char *user,
            const ht_cert_t *cert, s_answer_t *answer)
{
    if (streq (msg->command, HT_MSG_PUT))
        s_put (self, records, user, answer);
    else
    if (streq (msg->command, HT_MSG_STATUS))
        s_status (self, cert, answer);
    else
    if (streq (msg->command, HT_MSG_INFO))
        s_info (self, user, answer);
    else {
        self->protocol_errors++;
        s_fail (answer, "unknown_request",
                "expected PUT, STATUS, INFO, GET, FIND, LIST, COUNT, HISTORY, SUBSCRIBE, "
                "CREDIT or UNSUBSCRIBE");
    }
}

zmsg_t *
ht_service_answer (ht_service_t *self, const char *user, zmsg_t **request_p, int64_t now,
                   ht_service_read_t *read)
{
    ht_cert_t cert;
    ht_msg_t msg;
    const char *reason = NULL;
    s_answer_t answer = { NULL, NULL, NULL, "" };
    int rc = ht_msg_decode (*request_p, &msg, &reason);
    uint64_t token = rc? 0: msg.token;
    //  The budget is per key, checked before any work but decoding the
    //  small body (for the token), so one client cannot keep the loop
    //  from replication and from the other clients
    const char *why = NULL;
    ht_gate_t gate = ht_gate_of_store (self->store, self->config->region, ht_hlc_wall_ms ());
    int admitted;
    if (ht_ratelimit_check (self->rates, user, self->config->client_rate,
                            self->config->client_burst, now) != HT_OK) {
        self->rate_limited++;
        char text [HT_MSG_TEXT_CHARS + 1];
        snprintf (text, sizeof text, "more than %d requests at once or %d a second from "
                  "this key; slow down", self->config->client_burst, self->config->client_rate);
        s_fail (&answer, ht_errname (HT_ERATELIMIT), text);
    }
    else
    if (rc) {
        self->protocol_errors++;
        s_fail (&answer, ht_errname (rc), reason);
    }
    else
    //  The key may have been revoked, or its certificate expired, since
    //  its connection was admitted: every request asks the gate again
    if ((admitted = ht_gate_admit_hex (&gate, HT_GATE_CLIENT_SOCKET, user, NULL, &cert,
                                       &why)) != HT_OK)
        s_fail (&answer, ht_errname (admitted), why);
    else
    if (ht_query_handles (msg.command) || ht_feed_handles (msg.command)) {
        //  Reads go to the reader thread
        memset (read, 0, sizeof (*read));
        snprintf (read->client.user, sizeof read->client.user, "%s", user);
        read->client.cert = cert;
        read->msg = msg;
        zmsg_destroy (request_p);
        HT_DEBUG (self->config, "service: %s from client %.16s... (%s): to the reader",
                  msg.command, user, cert.name);
        return NULL;
    }
    else {
        int64_t started_us = zclock_usecs ();
        s_dispatch (self, &msg, *request_p, user, &cert, &answer);
        if (self->io.latency)
            ht_latency_record (self->io.latency, msg.command, zclock_usecs () - started_us);
    }
    HT_DEBUG (self->config, "service: %s from client %.16s...: %s%s%s",
              rc? "a malformed request": msg.command, user,
              answer.error? answer.error: answer.command? answer.command: "answered",
              answer.error? ": ": "", answer.error? answer.reason: "");
    zmsg_t *reply = s_encode (&answer, token);
    json_decref (answer.json);
    zmsg_destroy (request_p);
    return reply;
}
