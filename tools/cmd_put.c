//  hutong put: JSON lines in, signed records stored.
//
//  A line is either a draft ({"kind","region","fields"}, optionally key and
//  scope) which put completes — key from the natural key, default scope,
//  a timestamp after any version it supersedes — validates and signs with
//  --key; or an already signed record (it has "sig"), stored as it is.
//  Records go to the store in batches, each one write transaction.
#include <sodium.h>
#include "hutong.h"
#include "ht_client.h"

#define S_DEFAULT_BATCH 1000
#define S_MAX_REPORTED 10           //  line errors printed before going quiet

static const ht_option_t s_put_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the node store to write (on this machine)"),
    HT_OPTION_TEXT ("node", "ENDPOINT", "or: send to a running node's client endpoint"),
    HT_OPTION_TEXT ("node-key", "PUB", "with --node: the node's public key (file or hex)"),
    HT_OPTION_TEXT ("idkey", "FILE", "with --node: the network pseudonym key, for elder keys"),
    HT_OPTION_TEXT ("key", "KEYFILE", "sign drafts with this key (needed unless every line is signed)"),
    HT_OPTION_UINT ("batch", "N", 1, 100000, "records per write transaction (default 1000)"),
    HT_OPTION_FLAG ("import", "with --store: re-import records exported from this network (no ingest window)"),
    HT_OPTION_FLAG ("quiet", "no progress, no summary"),
    HT_OPTION_END
};

static const ht_command_spec_t s_put_spec = {
    "hutong put (--store DIR | --node ENDPOINT --node-key PUB) [--key KEYFILE] [FILE...]",
    "Read records as JSON lines from FILEs (or standard input). Drafts are\n"
    "completed, validated and signed with --key; signed records are stored\n"
    "as they are. The store verifies and authorizes each one; rejects go to\n"
    "its quarantine ('hutong quarantine'). With --node the records go over\n"
    "CurveZMQ to a running node, which admits --key only if it holds a valid\n"
    "certificate for it. A record entering the network must be fresh (its hlc\n"
    "within the node's ingest window, 10 minutes back, 5 ahead): drafts are\n"
    "timestamped now; re-importing exported records needs --import. A version\n"
    "its author may not write over the current owner is kept as a conflict.\n"
    "Prints a JSON summary; progress on a terminal. Exit 0 if all were\n"
    "stored, 1 if any line was refused, quarantined or kept as a conflict.",
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
    size_t batch_size;              //  how many are waiting
    size_t batch_max;               //  flush at this many
    size_t lines;                   //  lines read
    size_t refused;                 //  lines refused before the store
    size_t reported;                //  error messages printed
    ht_apply_stats_t stats;         //  what the store did
    int64_t started_ms;             //  for the rate
    bool progress;                  //  print progress to stderr
    bool import;                    //  --import: not fresh, re-imported
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

//  The scope a draft gets when it names none
static int
s_default_scope (s_put_t *self, ht_record_t *record)
{
    char scope [HT_REGION_BYTES];
    const char *region = ht_record_region (record);
    switch (ht_record_schema (record)->scope_rule) {
        case HT_SCOPE_REGION:
            return ht_record_set_scope (record, region);
        case HT_SCOPE_COUNTY:
            //  The county is the region's first six digits
            snprintf (scope, sizeof scope, "%.6s000000", region);
            return ht_record_set_scope (record, scope);
        case HT_SCOPE_AUTHOR:
            if (!self->have_cert)
                return HT_ENOCERT;
            return ht_record_set_scope (record, self->own_cert.region);
    }
    return HT_EINVAL;
}

//  Complete, validate and sign a draft; 0 or an error with *reason
static int
s_complete_draft (s_put_t *self, ht_record_t *record, const char **reason)
{
    if (!self->key) {
        *reason = "a draft needs --key to be signed";
        return HT_EKEY;
    }
    if (!*ht_record_region (record)) {
        *reason = "a draft needs \"region\"";
        return HT_EREQUIRED;
    }
    if (!*ht_record_key (record)
    &&  ht_record_derive_key (record, self->have_idkey? self->idkey: NULL)) {
        *reason = "no key given and the natural key fields are missing";
        return HT_EREQUIRED;
    }
    if (!*ht_record_scope (record) && s_default_scope (self, record)) {
        *reason = "no scope given, and the signing key has no certificate in this store";
        return HT_ENOCERT;
    }
    //  A new version must sort after the one it replaces, even if that one
    //  came from a node whose clock runs ahead of ours
    ht_record_t *current = self->store? ht_store_get (self->store, ht_record_kind (record),
                                                      ht_record_key (record), NULL): NULL;
    int rc = current? ht_hlc_observe (&self->clock, ht_record_hlc (current)): HT_OK;
    ht_record_destroy (&current);
    if (rc) {
        *reason = "the current version is timestamped far in the future (a bad clock?)";
        return rc;
    }
    ht_record_set_hlc (record, ht_hlc_now (&self->clock));
    rc = ht_record_validate (record, reason);
    if (rc)
        return rc;
    rc = ht_record_sign (record, self->key);
    if (rc)
        *reason = ht_strerror (rc);
    return rc;
}

//  Send the batch to the node; its answer fills stats and results
static int
s_send_batch (s_put_t *self, ht_apply_stats_t *stats, int *results)
{
    int error = 0;
    json_t *reply = ht_client_put (self->client, self->batch, self->batch_size, &error);
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
    for (size_t index = 0; index < self->batch_size; index++) {
        results [index] = ht_errcode (json_string_value (json_array_get (list, index)));
    }
    int rc = json_object_get (reply, "error")? HT_ESTORE: HT_OK;
    json_decref (reply);
    return rc;
}

//  Apply the waiting batch in one transaction, reporting rejects
static int
s_flush (s_put_t *self)
{
    if (self->batch_size == 0)
        return 0;
    int *results = (int *) calloc (self->batch_size, sizeof (int));
    ht_apply_stats_t stats = { 0 };
    ht_origin_t origin = { .import = self->import };
    int rc = self->client? s_send_batch (self, &stats, results)
           : ht_store_apply (self->store, self->batch, self->batch_size, &origin, &stats,
                             results);
    for (size_t index = 0; index < self->batch_size; index++) {
        int code = results [index];
        bool conflict = code == HT_ENOTOWNER || code == HT_ENOTISSUER || code == HT_EFINAL;
        if (!rc && code && self->reported++ < S_MAX_REPORTED)
            fprintf (stderr, "hutong: put: line %zu: %s: %s (%s)\n",
                     self->batch_lines [index], conflict? "kept as a conflict": "quarantined",
                     ht_errname (code), ht_strerror (code));
        ht_record_destroy (&self->batch [index]);
    }
    free (results);
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
    if (!ht_record_is_signed (record) && (error = s_complete_draft (self, record, &reason))) {
        s_refuse (self, self->lines, ht_errname (error), reason);
        ht_record_destroy (&record);
        return 0;
    }
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
//  the store, or as the node holds it
static void
s_find_own_cert (s_put_t *self)
{
    if (!self->key)
        return;
    if (self->store) {
        const ht_certsource_t *source = ht_store_certsource (self->store);
        uint8_t issuer [HT_PUBKEY_BYTES];
        self->have_cert = source->cert (source->ctx, ht_keypair_public (self->key),
                                        &self->own_cert, issuer) == HT_OK;
        return;
    }
    int error = 0;
    json_t *info = ht_client_info (self->client, &error);
    json_t *cert_json = json_object_get (info, "client_cert");
    ht_record_t *cert = cert_json && json_is_object (cert_json)
                      ? ht_record_from_json (cert_json, NULL, NULL): NULL;
    self->have_cert = cert && ht_cert_parse (cert, &self->own_cert) == HT_OK;
    ht_record_destroy (&cert);
    json_decref (info);
}

//  Open the destination: a store, or a connection to a node
static int
s_open_sink (s_put_t *self, const char **values)
{
    enum { STORE, NODE, NODE_KEY, IDKEY };
    if (values [STORE]) {
        if (!(self->store = ht_open_store (values [STORE])))
            return HT_EXIT_ERROR;
        memcpy (self->idkey, ht_store_idkey (self->store), HT_IDKEY_BYTES);
        self->have_idkey = true;
        return HT_EXIT_OK;
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
    self->client = ht_client_new (values [NODE], node_key, self->key, 10000);
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
    enum { STORE, NODE, NODE_KEY, IDKEY, KEY, BATCH, IMPORT, QUIET };
    const char *values [9];
    int first_arg, rc = ht_args_parse (&s_put_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [STORE] == !values [NODE])
        return ht_usage_error ("put: name one of --store DIR or --node ENDPOINT");
    if (values [IMPORT] && !values [STORE])
        return ht_usage_error ("put: --import writes a local store: use it with --store");
    size_t batch = (size_t) ht_args_number (&s_put_spec, values, BATCH, S_DEFAULT_BATCH);
    s_put_t self = { .batch_max = batch, .started_ms = zclock_mono (),
                     .progress = !values [QUIET] && ht_stderr_is_tty (),
                     .import = values [IMPORT] != NULL };
    if (values [KEY] && !(self.key = ht_load_key (values [KEY])))
        return HT_EXIT_ERROR;
    if ((rc = s_open_sink (&self, values))) {
        ht_store_destroy (&self.store);
        ht_keypair_destroy (&self.key);
        return rc;
    }
    s_find_own_cert (&self);
    self.batch = (ht_record_t **) calloc (self.batch_max, sizeof (ht_record_t *));
    self.batch_lines = (size_t *) calloc (self.batch_max, sizeof (size_t));
    rc = s_put_inputs (&self, first_arg, argc, argv);
    s_show_progress (&self, true);
    double seconds = (double) (zclock_mono () - self.started_ms) / 1000.0;
    if (!values [QUIET])
        printf ("{\"lines\":%zu,\"stored\":%zu,\"unchanged\":%zu,\"historic\":%zu,"
                "\"conflicts\":%zu,\"quarantined\":%zu,\"refused\":%zu,\"seconds\":%.3f}\n",
                self.lines, self.stats.applied, self.stats.unchanged, self.stats.historic,
                self.stats.conflicts, self.stats.quarantined, self.refused, seconds);
    for (size_t index = 0; index < self.batch_size; index++)
        ht_record_destroy (&self.batch [index]);
    free (self.batch);
    free (self.batch_lines);
    ht_store_destroy (&self.store);
    ht_client_destroy (&self.client);
    ht_keypair_destroy (&self.key);
    sodium_memzero (self.idkey, sizeof self.idkey);
    if (rc)
        return ht_fail ("put", rc);
    return self.refused || self.stats.quarantined || self.stats.conflicts
         ? HT_EXIT_INVALID: HT_EXIT_OK;
}
