//  hutong put: JSON lines in, signed records stored.
//
//  A line is either a draft ({"kind","region","fields"}, optionally key and
//  scope) which put completes (ht_record_complete: key from the natural
//  key, default scope, a timestamp after the current version) and signs
//  with --key; or an already signed record (it has "sig"), stored as it
//  is. Records go to the store in batches, each one write transaction.
//
//  Through --store, completion reads the current version from the store.
//  Through --node it does not (the key's read policy need not show it the
//  record), so the node's PUT reply names the records that landed behind
//  a newer current version, with its hlc. A draft of ours among them is
//  timestamped again after that version (our clock observes it, as a
//  hybrid logical clock does) and sent once more, so an update made here
//  replaces the version it follows, as through --store; one still behind
//  then (or behind a version too far in our future to follow) is
//  reported and fails the run.
//
//  A draft that says what the current version says (ht_record_same_content)
//  is not stored: no new version. Through --store put compares it with the
//  current version, then asks the gate whether its key could write it at
//  all (ht_gate_admit_unchanged), so an uncertified key is still refused;
//  through --node the node does both with what arrives, as the key's read
//  policy need not show put the current version. Either way the summary
//  counts it as unchanged.
//
//  Drafts are signed when their write batch is flushed: up to
//  --sign-batch of them (default HT_SIGN_BATCH) under one batch
//  signature (docs/records.md §4a), which a receiving node checks once
//  for all of them. A lone draft, or
//  every draft with --plain-sig, is signed alone.
#include <sodium.h>
#include "hutong.h"
#include "ht_client.h"
#include "ht_record_complete.h"
#include "ht_gate.h"

#define S_DEFAULT_BATCH 1000
#define S_MAX_REPORTED 10           //  line errors printed before going quiet
#define S_DEFAULT_TIMEOUT_MS 10000  //  --node: wait this long for each answer
#define S_MAX_TIMEOUT_MS 3600000

static const ht_option_t s_put_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the node store to write (on this machine)"),
    HT_OPTION_TEXT ("node", "ENDPOINT", "or: send to a running node's client endpoint"),
    HT_OPTION_TEXT ("node-key", "PUB", "with --node: the node's public key (file or hex)"),
    HT_OPTION_TEXT ("idkey", "FILE", "with --node: the network pseudonym key, for elder keys"),
    HT_OPTION_TEXT ("key", "KEYFILE", "sign drafts with this key (needed unless every line is signed)"),
    HT_OPTION_UINT ("batch", "N", 1, 100000, "records per write transaction (default 1000)"),
    HT_OPTION_FLAG ("import", "with --store: re-import records exported from this network (no ingest window)"),
    HT_OPTION_FLAG ("quiet", "no progress, no summary"),
    HT_OPTION_FLAG ("plain-sig", "sign every draft alone, not in batches (for nodes older than format 3)"),
    HT_OPTION_UINT ("timeout", "MS", 1, S_MAX_TIMEOUT_MS, "with --node: how long to wait for each answer (default 10000)"),
    HT_OPTION_UINT ("sign-batch", "N", 2, HT_BATCH_MAX_RECORDS, "drafts under one batch signature (default " HT_SIGN_BATCH_TEXT ")"),
    HT_OPTION_END
};

static const ht_command_spec_t s_put_spec = {
    "hutong put (--store DIR | --node ENDPOINT --node-key PUB [--timeout MS]) [--key KEYFILE] [--plain-sig] [FILE...]",
    "Read records as JSON lines from FILEs (or standard input). Drafts are\n"
    "completed, validated and signed with --key; signed records are stored as\n"
    "they are. Drafts written together are signed in batches of up to 32\n"
    "under one signature, each record carrying its proof of inclusion, so a\n"
    "node checks one signature per batch (a lone draft, or every draft with\n"
    "--plain-sig, is signed alone). The store verifies and authorizes each\n"
    "one; rejects go to its quarantine ('hutong quarantine'). With --node the\n"
    "records go over CurveZMQ to a running node, which admits --key only if\n"
    "it holds a valid certificate for it. A record entering the network must\n"
    "be fresh (its hlc within the node's ingest window, 10 minutes back, 5\n"
    "ahead): drafts are timestamped now, after the entity's current version;\n"
    "re-importing exported records needs --import. A version its author may\n"
    "not write over the current owner is kept as a conflict. A draft that\n"
    "says what the current version says (same kind, key, region, scope and\n"
    "fields) is not stored, as long as --key could write it: no new version,\n"
    "counted as \"unchanged\" (through --node the node compares it with the\n"
    "version it holds). Through --node, a draft the node kept behind a newer\n"
    "version (dated ahead of our clock, or written meanwhile) is timestamped\n"
    "after it and sent once more (\"restamped\"). Prints a JSON summary;\n"
    "progress on a terminal. Exit 0 if all were stored or unchanged, 1 if any\n"
    "line was refused, quarantined (clock_skew: the node's clock is off its\n"
    "parent's) or kept as a conflict, or a draft was still kept as history\n"
    "because the node or store holds a newer version it did not replace; 3 if\n"
    "the store failed (store_full: the store's disk is full or it reached its\n"
    "cap, limits/map_limit_mb; the batch that did not fit is not written,\n"
    "those before it are) or the node did not answer: put first asks the node\n"
    "for its INFO (the key's certificate, the schema versions it writes), and\n"
    "a node that does not answer within --timeout, or refuses the key, fails\n"
    "the put at once with nothing sent.",
    s_put_options
};

typedef struct {
    ht_store_t *store;              //  where records go, or NULL
    ht_client_t *client;            //  or: the node they go to
    uint8_t idkey [HT_IDKEY_BYTES]; //  pseudonym key for elder keys
    bool have_idkey;                //  idkey is set
    ht_keypair_t *key;              //  signs drafts, or NULL
    ht_cert_t own_cert;             //  the key's certificate, if found
    bool have_cert;                 //  own_cert is set
    ht_hlc_t clock;                 //  issues version timestamps
    ht_record_t **batch;            //  records waiting for the store
    size_t *batch_lines;            //  their input line numbers
    bool *batch_drafts;             //  which of them put completed
    size_t batch_size;              //  how many are waiting
    size_t batch_max;               //  flush at this many
    size_t lines;                   //  lines read
    size_t refused;                 //  lines refused before the store
    size_t behind;                  //  drafts kept as history behind a
                                    //  newer current version
    size_t restamped;               //  --node: drafts sent again after one
    size_t reported;                //  error messages printed
    ht_apply_stats_t stats;         //  what the store did, plus the drafts
                                    //  put passed over as unchanged
    ht_record_t *current;           //  --store: the current version of the
                                    //  draft being completed, or NULL
    zhashx_t *pending;              //  --store: "kind/key" -> the batch's
                                    //  latest record of it (borrowed)
    int64_t started_ms;             //  for the rate
    bool progress;                  //  print progress to stderr
    bool import;                    //  --import: not fresh, re-imported
    bool plain;                     //  --plain-sig: sign each draft alone
    size_t sign_batch;              //  drafts under one batch signature
    int timeout_ms;                 //  --node: wait this long for an answer
} s_put_t;

//  Report a refused line (the first few only)
static void
s_refuse (s_put_t *self, size_t line, const char *what, const char *reason)
{
    self->refused++;
    if (self->reported++ < S_MAX_REPORTED)
        fprintf (stderr, "hutong: put: line %zu: %s%s%s\n", line, what,
                 reason? ": ": "", reason? reason: "");
    else
    if (self->reported == S_MAX_REPORTED + 1)
        fprintf (stderr, "hutong: put: more lines refused; see the summary\n");
}

//  The hlc of the entity's current version in the store, 0 if none:
//  completion asks once it knows the draft's key
static uint64_t
s_store_current_hlc (void *arg, const char *kind, const char *key)
{
    s_put_t *self = (s_put_t *) arg;
    ht_record_destroy (&self->current);
    self->current = ht_store_get (self->store, kind, key, NULL);
    return self->current? ht_record_hlc (self->current): 0;
}

//  The name of an entity in the pending table
static void
s_entity_name (const ht_record_t *record, char *name, size_t size)
{
    snprintf (name, size, "%s/%s", ht_record_kind (record), ht_record_key (record));
}

//  The version a completed draft is compared with: the batch's latest of
//  the entity, if it holds one not yet in the store, else the store's
static ht_record_t *
s_draft_latest (s_put_t *self, const ht_record_t *draft)
{
    char name [HT_KIND_MAX_CHARS + HT_KEY_MAX_CHARS + 2];
    s_entity_name (draft, name, sizeof name);
    ht_record_t *latest = (ht_record_t *) zhashx_lookup (self->pending, name);
    return latest? latest: self->current;
}

//  True if a signed draft changes nothing the store would let its key
//  change: the same content as the latest version, and a key that may
//  write it
static bool
s_draft_unchanged (s_put_t *self, const ht_record_t *draft, const ht_record_t *latest)
{
    ht_gate_t gate = ht_gate_of_store (self->store, ht_store_region (self->store),
                                       ht_hlc_wall_ms ());
    return ht_gate_admit_unchanged (&gate, draft, latest, HT_GATE_INGEST) == HT_OK;
}

//  Complete, validate and sign a draft; 0 or an error with *reason.
//  *unchanged is set if the draft changes nothing (it is not stored).
static int
s_complete_draft (s_put_t *self, ht_record_t *record, bool *unchanged, const char **reason)
{
    if (!self->key) {
        *reason = "a draft needs --key to be signed";
        return HT_EKEY;
    }
    ht_complete_t context = {
        .idkey = self->have_idkey? self->idkey: NULL,
        .author_region = self->have_cert? self->own_cert.region: NULL,
        .clock = &self->clock,
        .current = self->store? s_store_current_hlc: NULL,
        .current_arg = self
    };
    int rc = ht_record_complete (record, &context, reason);
    if (rc == HT_EKEY && self->store && !self->have_idkey)
        *reason = "no key given, and this kind's key is derived with the network pseudonym "
                  "key (idkey), which this store does not hold (hutong init --idkey FILE)";
    ht_record_t *latest = rc == HT_OK && self->store? s_draft_latest (self, record): NULL;
    bool same = latest && ht_record_same_content (latest, record);
    //  A draft of this batch waiting for its batch signature: the gate
    //  judges a successor against its author, so sign it alone for now
    //  (the flush signs it again, with its batch)
    if (same && !ht_record_is_signed (latest) && (rc = ht_record_sign (latest, self->key)))
        *reason = ht_strerror (rc);
    //  Batch-signed drafts are signed at the flush; one that may change
    //  nothing is signed now, as the gate checks it like any record
    if (rc == HT_OK && (self->plain || same) && (rc = ht_record_sign (record, self->key)))
        *reason = ht_strerror (rc);
    *unchanged = rc == HT_OK && same && s_draft_unchanged (self, record, latest);
    ht_record_destroy (&self->current);
    return rc;
}

//  Send records to the node; its answer fills stats, results, and the
//  current version's hlc of each record that is not current (behind)
static int
s_send_records (s_put_t *self, ht_record_t **records, size_t count, ht_apply_stats_t *stats,
                int *results, uint64_t *behind)
{
    int error = 0;
    json_t *reply = ht_client_put (self->client, records, count, &error);
    if (!reply) {
        fprintf (stderr, "hutong: put: %s\n", ht_client_reason (self->client));
        return error;
    }
    stats->applied = (size_t) json_integer_value (json_object_get (reply, "applied"));
    stats->unchanged = (size_t) json_integer_value (json_object_get (reply, "unchanged"));
    stats->historic = (size_t) json_integer_value (json_object_get (reply, "historic"));
    stats->quarantined = (size_t) json_integer_value (json_object_get (reply, "quarantined"));
    stats->conflicts = (size_t) json_integer_value (json_object_get (reply, "conflicts"));
    json_t *list = json_object_get (reply, "results");
    for (size_t index = 0; index < count; index++) {
        results [index] = ht_errcode (json_string_value (json_array_get (list, index)));
    }
    size_t at;
    json_t *item;
    json_array_foreach (json_object_get (reply, "historic_records"), at, item) {
        json_int_t index = json_integer_value (json_object_get (item, "index"));
        json_int_t hlc = json_integer_value (json_object_get (item, "current_hlc"));
        if (index >= 0 && (size_t) index < count && hlc > 0)
            behind [index] = (uint64_t) hlc;
    }
    //  The node's store failed the whole PUT: "code" names why (store_full:
    //  its disk or its cap); a node that does not say repeats it per record
    int rc = HT_OK;
    if (json_object_get (reply, "error")) {
        const char *name = json_string_value (json_object_get (reply, "code"));
        rc = ht_errcode (name? name: json_string_value (json_array_get (list, 0)));
        if (rc == HT_OK || rc == HT_EINVAL)
            rc = HT_ESTORE;
    }
    json_decref (reply);
    return rc;
}

static int
s_send_batch (s_put_t *self, ht_apply_stats_t *stats, int *results, uint64_t *behind)
{
    return s_send_records (self, self->batch, self->batch_size, stats, results, behind);
}

//  After a store batch: the current version's hlc of each draft of ours
//  that is not current (a writer got in between completion and the batch,
//  or a later line of the batch replaced it)
static void
s_store_behind (s_put_t *self, const ht_apply_stats_t *stats, const int *results,
                uint64_t *behind)
{
    for (size_t index = 0; stats->historic && index < self->batch_size; index++) {
        ht_record_t *record = self->batch [index];
        if (!self->batch_drafts [index] || results [index])
            continue;
        ht_record_t *current = ht_store_get (self->store, ht_record_kind (record),
                                             ht_record_key (record), NULL);
        if (current && ht_record_compare (current, record) > 0)
            behind [index] = ht_record_hlc (current);
        ht_record_destroy (&current);
    }
}

//  True if the version a record was kept behind is another record of this
//  batch: a later line updated the same entity again, so the record was
//  replaced by our own newer version, not passed over
static bool
s_behind_our_own (const s_put_t *self, size_t index, uint64_t current_hlc)
{
    const ht_record_t *record = self->batch [index];
    for (size_t other = 0; other < self->batch_size; other++) {
        const ht_record_t *candidate = self->batch [other];
        if (other != index && ht_record_hlc (candidate) == current_hlc
        &&  streq (ht_record_key (candidate), ht_record_key (record))
        &&  streq (ht_record_kind (candidate), ht_record_kind (record)))
            return true;
    }
    return false;
}

//  --node: should this record, kept behind a newer version, be sent again
//  after it? A draft of ours passed over by another writer's version
//  that our clock can follow (not beyond the drift a node accepts)
static bool
s_may_restamp (s_put_t *self, size_t index, int code, uint64_t behind)
{
    return self->client && !code && behind && self->batch_drafts [index]
        && !s_behind_our_own (self, index, behind)
        && ht_hlc_observe (&self->clock, behind) == HT_OK;
}

//  --node: timestamp the drafts the node kept behind another writer's
//  version again, after it, and send them once more; their results,
//  current versions and counts replace the first answer's
static int
s_restamp (s_put_t *self, int *results, uint64_t *behind, ht_apply_stats_t *stats)
{
    ht_record_t **again = (ht_record_t **) calloc (self->batch_size, sizeof (ht_record_t *));
    size_t *where = (size_t *) calloc (self->batch_size, sizeof (size_t));
    size_t count = 0;
    int rc = 0;
    for (size_t index = 0; index < self->batch_size && !rc; index++) {
        if (!s_may_restamp (self, index, results [index], behind [index]))
            continue;
        char when [32];
        int64_t ahead_ms = (int64_t) ht_hlc_ms (behind [index]) - (int64_t) ht_hlc_wall_ms ();
        if (ahead_ms > 1000 && self->reported++ < S_MAX_REPORTED)
            fprintf (stderr, "hutong: put: line %zu: the node holds a version dated %s, "
                     "%.1f s ahead of this machine's clock; timestamped after it and sent "
                     "again (check the clocks)\n", self->batch_lines [index],
                     ht_hlc_format (behind [index], when, sizeof when), ahead_ms / 1000.0);
        ht_record_set_hlc (self->batch [index], ht_hlc_now (&self->clock));
        rc = ht_record_sign (self->batch [index], self->key);
        where [count] = index;
        again [count++] = self->batch [index];
    }
    int *results_again = (int *) calloc (count + 1, sizeof (int));
    uint64_t *behind_again = (uint64_t *) calloc (count + 1, sizeof (uint64_t));
    ht_apply_stats_t stats_again = { 0 };
    if (!rc && count)
        rc = s_send_records (self, again, count, &stats_again, results_again, behind_again);
    for (size_t item = 0; !rc && item < count; item++) {
        results [where [item]] = results_again [item];
        behind [where [item]] = behind_again [item];
    }
    if (!rc && count) {
        //  The first answer counted them as history
        stats->historic -= count < stats->historic? count: stats->historic;
        stats->applied += stats_again.applied;
        stats->unchanged += stats_again.unchanged;
        stats->historic += stats_again.historic;
        stats->quarantined += stats_again.quarantined;
        stats->conflicts += stats_again.conflicts;
        self->restamped += count;
    }
    free (again);
    free (where);
    free (results_again);
    free (behind_again);
    return rc;
}

//  Report what the store or node did with one record of the batch
static void
s_report (s_put_t *self, size_t index, int code, uint64_t behind)
{
    bool conflict = code == HT_ENOTOWNER || code == HT_ENOTISSUER || code == HT_EFINAL;
    bool kept_behind = !code && behind && self->batch_drafts [index]
                    && !s_behind_our_own (self, index, behind);
    if (kept_behind)
        self->behind++;
    if ((!code && !kept_behind) || self->reported++ >= S_MAX_REPORTED)
        return;
    char when [32];
    if (kept_behind)
        fprintf (stderr, "hutong: put: line %zu: kept as history: the %s holds a newer "
                 "version (hlc %s) that this one did not replace\n", self->batch_lines [index],
                 self->client? "node": "store", ht_hlc_format (behind, when, sizeof when));
    else
        fprintf (stderr, "hutong: put: line %zu: %s: %s (%s)\n",
                 self->batch_lines [index], conflict? "kept as a conflict": "quarantined",
                 ht_errname (code), ht_strerror (code));
}

//  Sign the waiting drafts, up to --sign-batch under one signature; a
//  lone one (or each, with --plain-sig, which signed them already) alone
static int
s_sign_drafts (s_put_t *self)
{
    ht_record_t **drafts = (ht_record_t **) calloc (self->batch_size, sizeof (ht_record_t *));
    size_t count = 0;
    for (size_t index = 0; index < self->batch_size; index++)
        if (self->batch_drafts [index] && !self->plain)
            drafts [count++] = self->batch [index];
    int rc = 0;
    size_t most = self->sign_batch;
    for (size_t offset = 0; offset < count && rc == 0; offset += most) {
        size_t size = count - offset < most? count - offset: most;
        rc = size == 1? ht_record_sign (drafts [offset], self->key)
           : ht_record_sign_batch (drafts + offset, size, self->key);
    }
    free (drafts);
    if (rc)
        fprintf (stderr, "hutong: put: cannot sign the drafts: %s\n", ht_strerror (rc));
    return rc;
}

//  Apply the waiting batch in one transaction, reporting rejects
static int
s_flush (s_put_t *self)
{
    if (self->batch_size == 0)
        return 0;
    int signed_rc = s_sign_drafts (self);
    if (signed_rc)
        return signed_rc;
    int *results = (int *) calloc (self->batch_size, sizeof (int));
    uint64_t *behind = (uint64_t *) calloc (self->batch_size, sizeof (uint64_t));
    ht_apply_stats_t stats = { 0 };
    ht_origin_t origin = { .import = self->import };
    int rc = self->client? s_send_batch (self, &stats, results, behind)
           : ht_store_apply (self->store, self->batch, self->batch_size, &origin, &stats,
                             results);
    if (!rc && self->store)
        s_store_behind (self, &stats, results, behind);
    if (!rc && self->client && stats.historic)
        rc = s_restamp (self, results, behind, &stats);
    if (rc == HT_EFULL)
        fprintf (stderr, "hutong: put: store_full: the %s is full (its disk, or its cap "
                 "limits/map_limit_mb): lines %zu-%zu not stored, nothing of their batch "
                 "written; %zu records stored before them. Make room and put the same "
                 "input again: what is stored counts as unchanged\n",
                 self->client? "node's store": "store", self->batch_lines [0],
                 self->batch_lines [self->batch_size - 1],
                 self->stats.applied + self->stats.historic + self->stats.conflicts);
    for (size_t index = 0; index < self->batch_size && !rc; index++)
        s_report (self, index, results [index], behind [index]);
    for (size_t index = 0; index < self->batch_size; index++)
        ht_record_destroy (&self->batch [index]);
    if (self->pending)
        zhashx_purge (self->pending);
    free (results);
    free (behind);
    self->stats.applied += stats.applied;
    self->stats.unchanged += stats.unchanged;
    self->stats.historic += stats.historic;
    self->stats.quarantined += stats.quarantined;
    self->stats.conflicts += stats.conflicts;
    self->batch_size = 0;
    return rc;
}

//  Show progress on a terminal: records and rate
static void
s_show_progress (s_put_t *self, bool last)
{
    if (!self->progress)
        return;
    double seconds = (double) (zclock_mono () - self->started_ms) / 1000.0;
    fprintf (stderr, "\rput: %zu lines, %zu stored, %.0f records/s%s",
             self->lines, self->stats.applied + self->stats.unchanged,
             seconds > 0? (double) self->lines / seconds: 0.0, last? "\n": "");
}

//  Handle one input line; 0, or a store error that stops the run
static int
s_put_line (s_put_t *self, const char *line, size_t length)
{
    json_error_t json_error;
    json_t *json = json_loadb (line, length, 0, &json_error);
    if (!json) {
        s_refuse (self, self->lines, "not JSON", json_error.text);
        return 0;
    }
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_from_json (json, &error, &reason);
    json_decref (json);
    if (!record) {
        s_refuse (self, self->lines, ht_strerror (error), reason);
        return 0;
    }
    bool draft = !ht_record_is_signed (record), unchanged = false;
    if (draft && (error = s_complete_draft (self, record, &unchanged, &reason))) {
        s_refuse (self, self->lines, ht_errname (error), reason);
        ht_record_destroy (&record);
        return 0;
    }
    if (unchanged) {
        self->stats.unchanged++;
        ht_record_destroy (&record);
        return 0;
    }
    if (self->pending) {
        char name [HT_KIND_MAX_CHARS + HT_KEY_MAX_CHARS + 2];
        s_entity_name (record, name, sizeof name);
        zhashx_update (self->pending, name, record);
    }
    self->batch_drafts [self->batch_size] = draft;
    self->batch_lines [self->batch_size] = self->lines;
    self->batch [self->batch_size++] = record;
    int rc = self->batch_size == self->batch_max? s_flush (self): 0;
    if (self->lines % 10000 == 0)
        s_show_progress (self, false);
    return rc;
}

//  Read one stream of JSON lines
static int
s_put_stream (s_put_t *self, FILE *input)
{
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    int rc = 0;
    while (rc == 0 && (length = getline (&line, &capacity, input)) >= 0) {
        self->lines++;
        while (length > 0 && (line [length - 1] == '\n' || line [length - 1] == '\r'))
            length--;
        if (length > 0)
            rc = s_put_line (self, line, (size_t) length);
    }
    free (line);
    return rc;
}

//  Find the signing key's own certificate (for author-scoped kinds): in
//  the store, or as the node holds it (its INFO). A node that does not
//  answer INFO would not answer PUT either, and put cannot sign in the
//  versions it writes without it: HT_EXIT_ERROR at once, nothing sent
//  (not a second wait of --timeout for the PUT). 0 otherwise.
static int
s_find_own_cert (s_put_t *self)
{
    if (!self->key)
        return HT_EXIT_OK;
    if (self->store) {
        const ht_certsource_t *source = ht_store_certsource (self->store);
        uint8_t issuer [HT_PUBKEY_BYTES];
        self->have_cert = source->cert (source->ctx, ht_keypair_public (self->key),
                                        &self->own_cert, issuer) == HT_OK;
        return HT_EXIT_OK;
    }
    int error = 0;
    json_t *info = ht_client_info (self->client, &error);
    if (!info) {
        fprintf (stderr, "hutong: put: no INFO from the node, nothing sent: %s: %s\n",
                 ht_errname (error), ht_client_reason (self->client));
        return HT_EXIT_ERROR;
    }
    json_t *cert_json = json_object_get (info, "client_cert");
    ht_record_t *cert = cert_json && json_is_object (cert_json)
                      ? ht_record_from_json (cert_json, NULL, NULL): NULL;
    self->have_cert = cert && ht_cert_parse (cert, &self->own_cert) == HT_OK;
    ht_record_destroy (&cert);
    //  Sign drafts in the schema versions the node writes in, so every node
    //  it replicates to can read them (docs/operations.md "Upgrades")
    const char *kind;
    json_t *version;
    json_object_foreach (json_object_get (info, "write_versions"), kind, version) {
        const ht_kind_t *schema = ht_schema_kind (kind);
        json_int_t wanted = json_integer_value (version);
        if (!schema || wanted < 1)
            continue;
        if (wanted > (json_int_t) schema->version)
            fprintf (stderr, "hutong: put: the node writes %s in schema version %d, which "
                     "this build does not know; writing version %u\n", kind, (int) wanted,
                     (unsigned) schema->version);
        else
        if (ht_schema_set_write_version (kind, (uint16_t) wanted) != HT_OK)
            fprintf (stderr, "hutong: put: cannot write %s in schema version %d\n", kind,
                     (int) wanted);
    }
    json_decref (info);
    return HT_EXIT_OK;
}

//  Open the destination: a store, or a connection to a node
static int
s_open_sink (s_put_t *self, const char **values)
{
    enum { STORE, NODE, NODE_KEY, IDKEY };
    if (values [STORE]) {
        if (!(self->store = ht_open_store (values [STORE])))
            return HT_EXIT_ERROR;
        //  A store made without --idkey holds none: elder drafts are refused
        if (ht_store_idkey (self->store)) {
            memcpy (self->idkey, ht_store_idkey (self->store), HT_IDKEY_BYTES);
            self->have_idkey = true;
        }
        self->pending = zhashx_new ();
        return self->pending? HT_EXIT_OK: HT_EXIT_ERROR;
    }
    uint8_t node_key [HT_PUBKEY_BYTES];
    if (!values [NODE_KEY] || ht_public_load (values [NODE_KEY], node_key))
        return ht_usage_error ("put: --node needs --node-key, the node's public key");
    if (!self->key)
        return ht_usage_error ("put: --node needs --key: the node admits certified keys only");
    if (values [IDKEY]) {
        if (ht_read_idkey (values [IDKEY], self->idkey))
            return HT_EXIT_ERROR;
        self->have_idkey = true;
    }
    self->client = ht_client_new (values [NODE], node_key, self->key, self->timeout_ms);
    if (!self->client)
        return ht_usage_error ("put: cannot connect to %s", values [NODE]);
    return HT_EXIT_OK;
}

//  Read every input and flush the last batch
static int
s_put_inputs (s_put_t *self, int first_arg, int argc, char **argv)
{
    int rc = 0;
    if (first_arg >= argc)
        rc = s_put_stream (self, stdin);
    for (int arg = first_arg; arg < argc && rc == 0; arg++) {
        FILE *input = streq (argv [arg], "-")? stdin: fopen (argv [arg], "r");
        if (!input) {
            fprintf (stderr, "hutong: put: cannot read %s: %s\n", argv [arg], strerror (errno));
            return HT_EIO;
        }
        rc = s_put_stream (self, input);
        if (input != stdin)
            fclose (input);
    }
    return rc? rc: s_flush (self);
}

int
ht_cmd_put (int argc, char **argv)
{
    enum { STORE, NODE, NODE_KEY, IDKEY, KEY, BATCH, IMPORT, QUIET, PLAIN, TIMEOUT, SIGN_BATCH };
    const char *values [12];
    int first_arg, rc = ht_args_parse (&s_put_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [STORE] == !values [NODE])
        return ht_usage_error ("put: name one of --store DIR or --node ENDPOINT");
    if (values [IMPORT] && !values [STORE])
        return ht_usage_error ("put: --import writes a local store: use it with --store");
    if (values [TIMEOUT] && !values [NODE])
        return ht_usage_error ("put: --timeout is for --node: a store answers at once");
    size_t batch = (size_t) ht_args_number (&s_put_spec, values, BATCH, S_DEFAULT_BATCH);
    s_put_t self = { .batch_max = batch, .started_ms = zclock_mono (),
                     .progress = !values [QUIET] && ht_stderr_is_tty (),
                     .import = values [IMPORT] != NULL, .plain = values [PLAIN] != NULL,
                     .sign_batch = (size_t) ht_args_number (&s_put_spec, values, SIGN_BATCH,
                                                            HT_SIGN_BATCH),
                     .timeout_ms = (int) ht_args_number (&s_put_spec, values, TIMEOUT,
                                                         S_DEFAULT_TIMEOUT_MS) };
    if (values [KEY] && !(self.key = ht_load_key (values [KEY])))
        return HT_EXIT_ERROR;
    if ((rc = s_open_sink (&self, values)) || (rc = s_find_own_cert (&self))) {
        ht_store_destroy (&self.store);
        ht_client_destroy (&self.client);
        ht_keypair_destroy (&self.key);
        zhashx_destroy (&self.pending);
        return rc;
    }
    self.batch = (ht_record_t **) calloc (self.batch_max, sizeof (ht_record_t *));
    self.batch_lines = (size_t *) calloc (self.batch_max, sizeof (size_t));
    self.batch_drafts = (bool *) calloc (self.batch_max, sizeof (bool));
    rc = s_put_inputs (&self, first_arg, argc, argv);
    s_show_progress (&self, true);
    double seconds = (double) (zclock_mono () - self.started_ms) / 1000.0;
    if (!values [QUIET])
        printf ("{\"lines\":%zu,\"stored\":%zu,\"unchanged\":%zu,\"historic\":%zu,"
                "\"conflicts\":%zu,\"quarantined\":%zu,\"refused\":%zu,\"restamped\":%zu,"
                "\"seconds\":%.3f}\n",
                self.lines, self.stats.applied, self.stats.unchanged, self.stats.historic,
                self.stats.conflicts, self.stats.quarantined, self.refused, self.restamped,
                seconds);
    for (size_t index = 0; index < self.batch_size; index++)
        ht_record_destroy (&self.batch [index]);
    free (self.batch);
    free (self.batch_lines);
    free (self.batch_drafts);
    zhashx_destroy (&self.pending);
    ht_store_destroy (&self.store);
    ht_client_destroy (&self.client);
    ht_keypair_destroy (&self.key);
    sodium_memzero (self.idkey, sizeof self.idkey);
    if (rc)
        fprintf (stderr, "hutong: put: %s: %s\n", ht_errname (rc), ht_strerror (rc));
    if (rc)
        return HT_EXIT_ERROR;
    return self.refused || self.stats.quarantined || self.stats.conflicts || self.behind
         ? HT_EXIT_INVALID: HT_EXIT_OK;
}
