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
//  A group commit stores at most this many PUTs, or records, at once
#define S_GROUP_PUTS 64
#define S_GROUP_RECORDS 5000

struct _ht_service_t {
    ht_store_t *store;                  //  where PUTs go (borrowed)
    const ht_config_t *config;          //  limits, region (borrowed)
    ht_service_io_t io;                 //  what we ask of our owner
    ht_ratelimit_t *rates;              //  request budget per client key
    uint64_t rate_limited;              //  requests refused over the rate
    uint64_t protocol_errors;           //  malformed or unknown requests
    bool holding;                       //  PUTs wait for a group commit
    void *held [S_GROUP_PUTS];          //  ... these (s_put_t), in order
    size_t held_count;
    size_t held_records;                //  records in them
    zhashx_t *held_entities;            //  "kind/key" of each: one PUT per
                                        //  entity in a group
    zlist_t *replies;                   //  stored PUTs' replies, routed
    uint64_t groups_stored;             //  held groups stored so far
};

//  What a request handler answers: an OK command with a JSON document,
//  or an ERROR with its name and reason
typedef struct {
    const char *command;                //  the OK reply's command, or NULL
    json_t *json;                       //  its document (owned)
    const char *error;                  //  else: the error's name
    char reason [HT_MSG_TEXT_CHARS + 1];    //  and why
} s_answer_t;

typedef struct s_put_t s_put_t;
static void s_put_free (s_put_t **put_p);

ht_service_t *
ht_service_new (ht_store_t *store, const ht_config_t *config, ht_service_io_t io)
{
    ht_service_t *self = (ht_service_t *) zmalloc (sizeof (ht_service_t));
    self->store = store;
    self->config = config;
    self->io = io;
    self->rates = ht_ratelimit_new (S_RATE_CLIENTS);
    self->held_entities = zhashx_new ();
    self->replies = zlist_new ();
    return self;
}

void
ht_service_destroy (ht_service_t **self_p)
{
    ht_service_t *self = *self_p;
    if (self) {
        ht_ratelimit_destroy (&self->rates);
        for (size_t index = 0; index < self->held_count; index++)
            s_put_free ((s_put_t **) &self->held [index]);
        zhashx_destroy (&self->held_entities);
        zmsg_t *reply;
        while (self->replies && (reply = (zmsg_t *) zlist_pop (self->replies)))
            zmsg_destroy (&reply);
        zlist_destroy (&self->replies);
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

//  A PUT being stored: its records as received, which of them change
//  nothing (left out), and what became of the rest
struct s_put_t {
    zframe_t *routing_id;               //  held: where the reply goes (owned)
    zmsg_t *request;                    //  held: its frames (owned)
    uint64_t token;                     //  held: the request's token
    int64_t started_us;                 //  held: when it arrived
    char user [S_HEX_KEY_CHARS + 1];    //  the client's key
    char source [32];                   //  its quarantine source
    ht_origin_t origin;                 //  a local write from that source
    size_t count;                       //  records in it
    const uint8_t **data;               //  each one's bytes (in the frames)
    size_t *sizes;
    bool *unchanged;                    //  changes nothing: not applied
    size_t skipped;                     //  how many
    const uint8_t **changing;           //  the rest, packed to the front
    size_t *changing_sizes;
    size_t changing_count;
    int *changing_results;              //  their codes
    ht_apply_stats_t stats;             //  what applying them did
    int error;                          //  0, or why they were not stored
};

static void
s_put_free (s_put_t **put_p)
{
    s_put_t *put = *put_p;
    if (put) {
        zframe_destroy (&put->routing_id);
        zmsg_destroy (&put->request);
        free (put->data);
        free (put->sizes);
        free (put->unchanged);
        free (put->changing);
        free (put->changing_sizes);
        free (put->changing_results);
        free (put);
        *put_p = NULL;
    }
}

//  Read a PUT's records (borrowed from records, which must outlive it)
//  and leave out those that change nothing; NULL if out of memory
static s_put_t *
s_put_new (ht_service_t *self, zmsg_t *records, const char *user)
{
    s_put_t *put = (s_put_t *) calloc (1, sizeof (s_put_t));
    size_t count = zmsg_size (records);
    if (put) {
        put->count = count;
        put->data = (const uint8_t **) calloc (count + 1, sizeof (uint8_t *));
        put->sizes = (size_t *) calloc (count + 1, sizeof (size_t));
        put->unchanged = (bool *) calloc (count + 1, sizeof (bool));
        put->changing = (const uint8_t **) calloc (count + 1, sizeof (uint8_t *));
        put->changing_sizes = (size_t *) calloc (count + 1, sizeof (size_t));
        put->changing_results = (int *) calloc (count + 1, sizeof (int));
    }
    if (!put || !put->data || !put->sizes || !put->unchanged || !put->changing
    ||  !put->changing_sizes || !put->changing_results) {
        s_put_free (&put);
        return NULL;
    }
    snprintf (put->user, sizeof put->user, "%s", user);
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (records); frame; frame = zmsg_next (records), index++) {
        put->data [index] = zframe_data (frame);
        put->sizes [index] = zframe_size (frame);
    }
    put->skipped = s_mark_unchanged (self, put->data, put->sizes, count, put->unchanged);
    for (index = 0; index < count; index++)
        if (!put->unchanged [index]) {
            put->changing [put->changing_count] = put->data [index];
            put->changing_sizes [put->changing_count++] = put->sizes [index];
        }
    snprintf (put->source, sizeof put->source, "client:%.16s", user);
    put->origin = (ht_origin_t) { .source = put->source };
    return put;
}

//  Store the records of PUTs as local writes, in one transaction (one
//  wait for the disk for them all): they enter the network here, so they
//  face the ingest window; quarantine counts each one's records against
//  the client that sent them. Sets each one's stats and error (the
//  store's: nothing of that PUT was written).
static void
s_puts_apply (ht_service_t *self, s_put_t **puts, size_t count)
{
    ht_store_group_t *groups = (ht_store_group_t *) calloc (count + 1, sizeof (ht_store_group_t));
    size_t used = 0;
    for (size_t index = 0; groups && index < count; index++)
        if (puts [index]->changing_count)
            groups [used++] = (ht_store_group_t) {
                puts [index]->changing, puts [index]->changing_sizes,
                puts [index]->changing_count, &puts [index]->origin, { 0 },
                puts [index]->changing_results, 0 };
    //  On an error each group's own says what became of it
    if (groups && used && ht_store_apply_groups (self->store, groups, used) != 0)
        HT_DEBUG (self->config, "service: a group of %zu PUTs was stored PUT by PUT", used);
    size_t applied = 0;
    for (size_t index = 0, group = 0; index < count; index++) {
        puts [index]->error = groups? 0: HT_ENOMEM;
        if (groups && puts [index]->changing_count) {
            puts [index]->stats = groups [group].stats;
            puts [index]->error = groups [group++].error;
        }
        applied += puts [index]->stats.applied;
    }
    free (groups);
    if (applied && self->io.wrote)
        self->io.wrote (self->io.arg);
}

//  The answer to a PUT that was stored (rc 0) or not (rc the store's error)
static void
s_put_answer (ht_service_t *self, s_put_t *put, int rc, s_answer_t *answer)
{
    ht_apply_stats_t stats = put->stats;
    stats.unchanged += put->skipped;
    int *results = (int *) calloc (put->count + 1, sizeof (int));
    for (size_t index = 0, changing = 0; results && index < put->count; index++)
        results [index] = put->unchanged [index]? 0: put->changing_results [changing++];
    json_t *reply = json_pack ("{s:I, s:I, s:I, s:I, s:I}", "applied", (json_int_t) stats.applied,
                               "unchanged", (json_int_t) stats.unchanged,
                               "historic", (json_int_t) stats.historic,
                               "conflicts", (json_int_t) stats.conflicts,
                               "quarantined", (json_int_t) stats.quarantined);
    json_t *list = json_array ();
    for (size_t index = 0; index < put->count; index++)
        json_array_append_new (list, json_string (ht_errname (rc || !results? rc? rc: HT_ENOMEM
                                                                            : results [index])));
    json_object_set_new (reply, "results", list);
    json_object_set_new (reply, "historic_records", rc == 0 && stats.historic && results
                         ? s_historic_records (self, put->data, put->sizes, results,
                                               put->unchanged, put->count)
                         : json_array ());
    if (rc) {
        json_object_set_new (reply, "error", json_string (ht_strerror (rc)));
        json_object_set_new (reply, "code", json_string (ht_errname (rc)));
        HT_WARNING (self->config, "service: PUT of %zu records from client %.16s not "
                    "stored: %s (%s)", put->count, put->user, ht_errname (rc), ht_strerror (rc));
    }
    free (results);
    HT_DEBUG (self->config, "service: PUT of %zu records from client %.16s: %zu applied, "
              "%zu quarantined", put->count, put->user, stats.applied, stats.quarantined);
    answer->command = HT_MSG_PUT_OK;
    answer->json = reply;
}

//  Can a PUT of count records go to the store at all?
static bool
s_put_acceptable (size_t count, s_answer_t *answer)
{
    if (count <= HT_PUT_MAX_RECORDS)
        return true;
    s_fail (answer, "too_many_records",
            "a PUT carries at most " HT_STRINGIFY (HT_PUT_MAX_RECORDS) " records");
    return false;
}

//  A PUT answered alone: read, stored, answered
static void
s_put (ht_service_t *self, zmsg_t *records, const char *user, s_answer_t *answer)
{
    if (!s_put_acceptable (zmsg_size (records), answer))
        return;
    s_put_t *put = s_put_new (self, records, user);
    if (!put) {
        s_fail (answer, ht_errname (HT_ENOMEM), "out of memory");
        return;
    }
    s_puts_apply (self, &put, 1);
    s_put_answer (self, put, put->error, answer);
    s_put_free (&put);
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

//  Store the held PUTs in one transaction; their replies join the queue
static void
s_held_flush (ht_service_t *self)
{
    if (self->held_count == 0)
        return;
    s_put_t **puts = (s_put_t **) self->held;
    s_puts_apply (self, puts, self->held_count);
    self->groups_stored++;
    for (size_t index = 0; index < self->held_count; index++) {
        s_answer_t answer = { NULL, NULL, NULL, "" };
        s_put_answer (self, puts [index], puts [index]->error, &answer);
        zmsg_t *reply = s_encode (&answer, puts [index]->token);
        json_decref (answer.json);
        zmsg_prepend (reply, &puts [index]->routing_id);
        zlist_append (self->replies, reply);
        if (self->io.latency)
            ht_latency_record (self->io.latency, HT_MSG_PUT,
                               zclock_usecs () - puts [index]->started_us);
        s_put_free (&puts [index]);
    }
    self->held_count = 0;
    self->held_records = 0;
    zhashx_purge (self->held_entities);
}

//  Does a PUT (its record frames) name an entity a held one does? (Its
//  records are compared with the current versions before it is stored:
//  after the held PUT's.) Else, if take, its entities are taken down.
static bool
s_held_overlaps (ht_service_t *self, zmsg_t *records, bool take)
{
    for (zframe_t *frame = zmsg_first (records); frame; frame = zmsg_next (records)) {
        ht_record_head_t head;
        if (ht_record_peek (zframe_data (frame), zframe_size (frame), &head))
            continue;
        char name [HT_KIND_MAX_CHARS + HT_KEY_MAX_CHARS + 2];
        snprintf (name, sizeof name, "%s/%s", head.kind, head.key);
        if (!take && zhashx_lookup (self->held_entities, name))
            return true;
        if (take)
            zhashx_insert (self->held_entities, name, (void *) 1);
    }
    return false;
}

//  Does a PUT carry a certificate or a revocation? Those change who may
//  write, and whose key is admitted at all: such a PUT is stored alone,
//  after the PUTs held before it, so what follows it is judged by it
static bool
s_put_changes_trust (zmsg_t *records)
{
    for (zframe_t *frame = zmsg_first (records); frame; frame = zmsg_next (records)) {
        ht_record_head_t head;
        if (ht_record_peek (zframe_data (frame), zframe_size (frame), &head) == 0
        &&  (streq (head.kind, "cert") || streq (head.kind, "revocation")))
            return true;
    }
    return false;
}

//  Hold an admitted PUT for the group commit; false: answer it now
static bool
s_hold (ht_service_t *self, zframe_t *routing_id, const char *user, uint64_t token,
        zmsg_t **request_p, s_answer_t *answer)
{
    zmsg_t *records = *request_p;
    if (!s_put_acceptable (zmsg_size (records), answer))
        return false;
    if (s_put_changes_trust (records))
        return false;               //  stored alone, once the held ones are
    //  Compared with what is stored once those before it are
    size_t count = zmsg_size (records);
    if (self->held_count == S_GROUP_PUTS || self->held_records + count > S_GROUP_RECORDS
    ||  (self->held_count && s_held_overlaps (self, records, false)))
        s_held_flush (self);
    s_put_t *put = s_put_new (self, records, user);
    if (!put)
        return false;               //  answered alone, which says why
    put->routing_id = zframe_dup (routing_id);
    put->request = records;
    *request_p = NULL;
    put->token = token;
    put->started_us = zclock_usecs ();
    s_held_overlaps (self, records, true);
    self->held [self->held_count++] = put;
    self->held_records += count;
    return true;
}

void
ht_service_hold_puts (ht_service_t *self, bool hold)
{
    self->holding = hold;
    if (!hold)
        s_held_flush (self);
}

uint64_t
ht_service_groups_stored (const ht_service_t *self)
{
    return self->groups_stored;
}

zmsg_t *
ht_service_next_reply (ht_service_t *self)
{
    return (zmsg_t *) zlist_pop (self->replies);
}

zmsg_t *
ht_service_answer (ht_service_t *self, zframe_t *routing_id, const char *user,
                   zmsg_t **request_p, int64_t now, ht_service_read_t *read)
{
    read->held = false;
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
    if (self->holding && streq (msg.command, HT_MSG_PUT)
    &&  s_hold (self, routing_id, user, token, request_p, &answer)) {
        read->held = true;
        return NULL;
    }
    //  What is answered now comes after the PUTs held before it: stored
    //  first, their replies queued ahead of this one
    s_held_flush (self);
    if (answer.error)
        ;                           //  refused: answered with why
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
