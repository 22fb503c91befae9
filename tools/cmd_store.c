//  hutong init, get, list, history, export, quarantine: the node store
//  from the command line. (put is in cmd_put.c.)
#include "hutong.h"
#include "ht_path.h"
#include "ht_policy.h"
#include <sodium.h>

#define S_REASON_MAX_CHARS 512
#define S_MAX_LIST 1000000000       //  --limit: beyond this, 0 (all) is meant

//  --------------------------------------------------------------------------
//  init

static const ht_option_t s_init_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "directory for the new store"),
    HT_OPTION_TEXT ("region", "CODE", "this node's region (12-digit code)"),
    HT_OPTION_TEXT ("anchor", "PUB", "the city's root public key (file or hex): the trust anchor"),
    HT_OPTION_TEXT ("idkey", "FILE", "the network pseudonym key file (from 'keygen --idkey'), "
                    "for nodes that derive elder keys"),
    HT_OPTION_END
};

static const ht_command_spec_t s_init_spec = {
    "hutong init --store DIR --region CODE --anchor PUB [--idkey FILE]",
    "Create a node store (an LMDB environment) for a region, trusting the\n"
    "city's root key. Then put the certificate chain into it, e.g.\n"
    "  hutong put --store DIR root.cert county.cert\n"
    "--idkey gives the store the network pseudonym key, which elder keys are\n"
    "derived with: a node whose writers put elder drafts through it, or that\n"
    "answers FIND of an elder by ID number, needs it. Leave it out elsewhere\n"
    "(the fewer copies of the secret, the better): those operations then\n"
    "fail, naming the missing idkey. Replication never needs it.",
    s_init_options
};

//  Refuse a store directory, or a directory holding the pseudonym key,
//  that group or others may write: they could swap the store or the key
//  under every later reader. A store that does not exist yet is fine:
//  ht_store_create makes it 0700. HT_EXIT_USAGE after saying why.
static int
s_check_init_paths (const char *store_path, const char *idkey_path)
{
    char reason [S_REASON_MAX_CHARS];
    int code = ht_path_check (store_path, reason, sizeof reason);
    if (code == HT_EUNSAFE || (code && errno != ENOENT))
        return ht_usage_error ("init: --store: %s", reason);
    if (idkey_path && ht_path_check_parent (idkey_path, reason, sizeof reason))
        return ht_usage_error ("init: --idkey: %s", reason);
    return HT_EXIT_OK;
}

int
ht_cmd_init (int argc, char **argv)
{
    enum { STORE, REGION, ANCHOR, IDKEY };
    const char *values [4];
    int first_arg, rc = ht_args_parse (&s_init_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [STORE] || !values [REGION] || !values [ANCHOR])
        return ht_usage_error ("init: --store, --region and --anchor are required");
    const char *why = NULL;
    if (ht_region_check (values [REGION], &why))
        return ht_usage_error ("init: --region %s: %s", values [REGION], why);
    if (s_check_init_paths (values [STORE], values [IDKEY]))
        return HT_EXIT_USAGE;
    uint8_t anchor [HT_PUBKEY_BYTES], idkey [HT_IDKEY_BYTES];
    if (ht_public_load (values [ANCHOR], anchor))
        return ht_usage_error ("init: cannot read a public key from '%s'", values [ANCHOR]);
    if (values [IDKEY] && ht_read_idkey (values [IDKEY], idkey))
        return HT_EXIT_USAGE;
    rc = ht_store_create (values [STORE], values [REGION], anchor, values [IDKEY]? idkey: NULL);
    sodium_memzero (idkey, sizeof idkey);
    if (rc) {
        fprintf (stderr, "hutong: init: %s: %s%s\n", values [STORE], ht_strerror (rc),
                 rc == HT_EINVAL? " (it already holds a store?)": "");
        return HT_EXIT_ERROR;
    }
    printf ("{\"store\":\"%s\",\"region\":\"%s\",\"idkey\":%s}\n", values [STORE],
            values [REGION], values [IDKEY]? "true": "false");
    return HT_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  Output of records, full or through a read policy

typedef struct {
    const ht_policy_t *policy;      //  redact through this, or NULL: full
    const char *kind;               //  only this kind, or NULL
    const char *region;             //  only under this prefix, or NULL
    bool msgpack;                   //  raw msgpack instead of JSON lines
    FILE *out;                      //  where to write
    size_t written;                 //  records written
    size_t hidden;                  //  records the policy may not see
    ht_store_t *store;              //  mark conflicts from this store, or NULL
} s_output_t;

//  Write one record (redacted if a policy is set); 0 to go on
static int
s_write_record (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    s_output_t *output = (s_output_t *) arg;
    ht_record_t *shown = NULL;
    if (output->policy) {
        shown = ht_policy_redact (output->policy, record, NULL);
        if (!shown) {
            output->hidden++;
            return 0;
        }
        record = shown;
    }
    if (output->msgpack) {
        uint8_t *data;
        size_t size;
        if (ht_record_encode (record, &data, &size) == HT_OK) {
            fwrite (data, 1, size, output->out);
            free (data);
        }
    }
    else {
        json_t *json = ht_record_to_json (record);
        int conflict = output->store? ht_store_conflict_of (output->store, record): 0;
        if (conflict)
            json_object_set_new (json, "conflict", json_string (ht_errname (conflict)));
        char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf (output->out, "%s\n", text);
        free (text);
        json_decref (json);
    }
    output->written++;
    ht_record_destroy (&shown);
    return 0;
}

//  Resolve --policy; usage error code if unknown
static int
s_output_policy (s_output_t *output, const char *name)
{
    if (!name)
        return 0;
    output->policy = ht_policy_find (name);
    if (output->policy)
        return 0;
    fprintf (stderr, "hutong: unknown policy '%s'; policies:", name);
    for (size_t index = 0; ht_policy_at (index); index++)
        fprintf (stderr, " %s", ht_policy_at (index)->name);
    fprintf (stderr, "\n");
    return HT_EXIT_USAGE;
}

//  --------------------------------------------------------------------------
//  get, history

static const ht_option_t s_get_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the node store"),
    HT_OPTION_TEXT ("policy", "NAME", "show the record as this read policy sees it"),
    HT_OPTION_END
};

static const ht_command_spec_t s_get_spec = {
    "hutong get --store DIR [--policy NAME] KIND KEY",
    "Print the current version of a record as one JSON line, from a store\n"
    "on this machine (with --node instead: from a running node; see\n"
    "hutong get --node x --help).\n"
    "Exit 1 if there is no such record.",
    s_get_options
};

static const ht_command_spec_t s_history_spec = {
    "hutong history --store DIR [--policy NAME] KIND KEY",
    "Print every version of a record as JSON lines, oldest first: the\n"
    "superseded versions, then the current one. A version the ownership\n"
    "rule refused carries \"conflict\": its reason (e.g. not_owner: its\n"
    "author may not replace the entity's owner). Exit 1 if none. With --node\n"
    "instead: from a running node (hutong history --node x --help).",
    s_get_options
};

//  Shared body of get and history
static int
s_get_or_history (const ht_command_spec_t *spec, bool history, int argc, char **argv)
{
    const char *values [2];
    int first_arg, rc = ht_args_parse (spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [0] || argc - first_arg != 2)
        return ht_usage_error ("%s: --store DIR, KIND and KEY are required", argv [0]);
    s_output_t output = { .out = stdout };
    if ((rc = s_output_policy (&output, values [1])))
        return rc;
    ht_store_t *store = ht_open_store (values [0]);
    if (!store)
        return HT_EXIT_ERROR;
    const char *kind = argv [first_arg], *key = argv [first_arg + 1];
    output.store = history? store: NULL;
    if (history)
        ht_store_history (store, kind, key, s_write_record, &output);
    output.store = NULL;
    int error = 0;
    ht_record_t *record = ht_store_get (store, kind, key, &error);
    if (record)
        s_write_record (&output, record, 0);
    ht_record_destroy (&record);
    ht_store_destroy (&store);
    if (error && error != HT_ENOTFOUND)
        return ht_fail ("get", error);
    if (output.hidden)
        fprintf (stderr, "hutong: policy %s may not see this record\n", values [1]);
    else
    if (!output.written)
        fprintf (stderr, "hutong: no %s record with key %s\n", kind, key);
    return output.written? HT_EXIT_OK: HT_EXIT_INVALID;
}

int
ht_cmd_get (int argc, char **argv)
{
    if (ht_query_wanted (argc, argv))
        return ht_cmd_query_get (argc, argv);
    return s_get_or_history (&s_get_spec, false, argc, argv);
}

int
ht_cmd_history (int argc, char **argv)
{
    if (ht_query_wanted (argc, argv))
        return ht_cmd_query_history (argc, argv);
    return s_get_or_history (&s_history_spec, true, argc, argv);
}

//  --------------------------------------------------------------------------
//  list

static const ht_option_t s_list_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the node store"),
    HT_OPTION_TEXT ("kind", "KIND", "record kind (elder, facility, credit, cert, revocation)"),
    HT_OPTION_TEXT ("region", "PREFIX", "only records under this region (code or prefix)"),
    HT_OPTION_TEXT ("field", "NAME", "look up by an indexed field instead..."),
    HT_OPTION_TEXT ("value", "TEXT", "...having this value"),
    HT_OPTION_UINT ("limit", "N", 0, S_MAX_LIST, "at most N records (default 100; 0 for all)"),
    HT_OPTION_TEXT ("after", "KEY", "page: start after this entity (region listings)"),
    HT_OPTION_TEXT ("policy", "NAME", "show records as this read policy sees them"),
    HT_OPTION_END
};

static const ht_command_spec_t s_list_spec = {
    "hutong list --store DIR --kind KIND [--region PREFIX | --field NAME --value TEXT]",
    "List current records as JSON lines: by kind under a region prefix\n"
    "(ordered by region, then by when each was stored), or by an indexed\n"
    "field's value (ordered by when each was stored), from a store on this\n"
    "machine (with --node instead: from a running node through our read\n"
    "policy; see hutong list --node x --help).",
    s_list_options
};

int
ht_cmd_list (int argc, char **argv)
{
    if (ht_query_wanted (argc, argv))
        return ht_cmd_query_list (argc, argv);
    enum { STORE, KIND, REGION, FIELD, VALUE, LIMIT, AFTER, POLICY };
    const char *values [8];
    int first_arg, rc = ht_args_parse (&s_list_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [STORE] || !values [KIND])
        return ht_usage_error ("list: --store and --kind are required");
    if (!ht_schema_kind (values [KIND]))
        return ht_usage_error ("list: unknown kind '%s'", values [KIND]);
    if (!values [FIELD] != !values [VALUE])
        return ht_usage_error ("list: --field and --value go together");
    s_output_t output = { .out = stdout };
    if ((rc = s_output_policy (&output, values [POLICY])))
        return rc;
    size_t limit = (size_t) ht_args_number (&s_list_spec, values, LIMIT, 100);
    ht_store_t *store = ht_open_store (values [STORE]);
    if (!store)
        return HT_EXIT_ERROR;
    if (values [FIELD])
        rc = ht_store_find (store, values [KIND], values [FIELD], values [VALUE],
                            limit, s_write_record, &output);
    else
        rc = ht_store_list (store, values [KIND], values [REGION]? values [REGION]: "",
                            values [AFTER], limit, s_write_record, &output);
    ht_store_destroy (&store);
    if (rc < 0)
        return ht_fail ("list", rc);
    return HT_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  export

static const ht_option_t s_export_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the node store"),
    HT_OPTION_TEXT ("kind", "KIND", "only this kind"),
    HT_OPTION_TEXT ("region", "PREFIX", "only records under this region"),
    HT_OPTION_TEXT ("policy", "NAME", "redact for this read policy (default: full records)"),
    HT_OPTION_TEXT ("format", "FMT", "json (JSON lines, default) or msgpack (concatenated)"),
    HT_OPTION_TEXT ("out", "FILE", "write here instead of stdout"),
    HT_OPTION_END
};

static const ht_command_spec_t s_export_spec = {
    "hutong export --store DIR [--kind KIND] [--region PREFIX] [--policy NAME]",
    "Export current records, full or redacted for a read policy. Redacted\n"
    "records still verify: withheld fields travel as digests only.\n"
    "Policies: full, civil_affairs, health, market_regulation, fire,\n"
    "medical_insurance, emergency, finance, partner, public.",
    s_export_options
};

//  Change-log callback: decode, filter, write
static int
s_export_change (void *arg, uint64_t seq, const uint8_t *data, size_t size,
                 const char *origin)
{
    (void) origin;
    s_output_t *output = (s_output_t *) arg;
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    if (!record)
        return 0;
    bool wanted = (!output->kind || streq (ht_record_kind (record), output->kind))
               && (!output->region || ht_region_covers (output->region, ht_record_region (record)));
    if (wanted)
        s_write_record (output, record, seq);
    ht_record_destroy (&record);
    return 0;
}

int
ht_cmd_export (int argc, char **argv)
{
    enum { STORE, KIND, REGION, POLICY, FORMAT, OUT };
    const char *values [6];
    int first_arg, rc = ht_args_parse (&s_export_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [STORE])
        return ht_usage_error ("export: --store is required");
    const char *format = values [FORMAT]? values [FORMAT]: "json";
    if (!streq (format, "json") && !streq (format, "msgpack"))
        return ht_usage_error ("export: --format must be json or msgpack");
    s_output_t output = { .kind = values [KIND], .region = values [REGION],
                          .msgpack = streq (format, "msgpack"), .out = stdout };
    if ((rc = s_output_policy (&output, values [POLICY])))
        return rc;
    ht_store_t *store = ht_open_store (values [STORE]);
    if (!store)
        return HT_EXIT_ERROR;
    if (values [OUT] && !(output.out = fopen (values [OUT], "w"))) {
        ht_store_destroy (&store);
        fprintf (stderr, "hutong: cannot write %s: %s\n", values [OUT], strerror (errno));
        return HT_EXIT_ERROR;
    }
    rc = ht_store_changes (store, 0, 0, s_export_change, &output);
    ht_store_destroy (&store);
    if (output.out != stdout)
        fclose (output.out);
    else
        fflush (stdout);
    if (rc < 0)
        return ht_fail ("export", rc);
    fprintf (stderr, "export: %zu records%s", output.written,
             output.hidden? "": "\n");
    if (output.hidden)
        fprintf (stderr, ", %zu not visible to policy %s\n", output.hidden, values [POLICY]);
    return HT_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  quarantine

static const ht_option_t s_quarantine_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the node store"),
    HT_OPTION_FLAG ("summary", "count entries per reason and source instead of listing them"),
    HT_OPTION_FLAG ("purge", "remove entries (all, or those --reason and --before select)"),
    HT_OPTION_TEXT ("reason", "NAME", "only entries quarantined for this reason (e.g. bad_signature)"),
    HT_OPTION_TIME ("before", "TIME", "only entries quarantined before this time"),
    HT_OPTION_FLAG ("json", "JSON lines (with --summary or --purge: one JSON object)"),
    HT_OPTION_END
};

enum { Q_STORE, Q_SUMMARY, Q_PURGE, Q_REASON, Q_BEFORE, Q_JSON, Q_COUNT };

static const ht_command_spec_t s_quarantine_spec = {
    "hutong quarantine --store DIR [--summary | --purge] [--reason NAME] [--before TIME] [--json]",
    "Show rejected input grouped by reason, the most frequent first; in each\n"
    "group, oldest first: when, where it came from (a neighbour's region,\n"
    "client:<key prefix>, or local), the record's kind, key, region and scope,\n"
    "its author's key and jurisdiction (the region of the author's certificate,\n"
    "if this store holds it), and why it was refused. Input that did not\n"
    "decode shows its size. --json prints one JSON line per entry, in the same\n"
    "order, with the record itself (or its bytes in hex), \"author\" and\n"
    "\"author_region\" (null if the store holds no certificate for the author).\n"
    "Quarantined input never blocks replication; each source keeps at most\n"
    "its bound of entries, the oldest dropped first. --summary counts entries\n"
    "per reason and source; --purge removes what --reason and --before select\n"
    "(all without them) and says how many (--json: {\"purged\": 12}).",
    s_quarantine_options
};

//  A reason entries were quarantined for, and how many
typedef struct {
    int code;                       //  error code
    size_t count;                   //  entries selected with it
} s_qgroup_t;

typedef struct {
    int code;                       //  --reason's code, or 1 for any
    uint64_t before_ms;             //  --before, or 0 for any
    bool json;                      //  --json
    ht_store_t *store;              //  for authors' certificates
    s_qgroup_t groups [64];         //  the reasons seen (error codes are few)
    size_t group_count;
    int showing;                    //  the group being printed
    json_t *summary;                //  counts, for --summary
} s_quarantine_t;

//  True if an entry passes --reason and --before
static bool
s_quarantine_selects (const s_quarantine_t *self, int code, uint64_t when_ms)
{
    return (self->code == 1 || code == self->code)
        && (!self->before_ms || when_ms < self->before_ms);
}

//  First pass: count the selected entries of each reason, or (--summary)
//  of each reason and source
static int
s_count_quarantined (void *arg, int code, const char *reason, const char *origin,
                     uint64_t when_ms, const uint8_t *data, size_t size)
{
    (void) reason; (void) data; (void) size;
    s_quarantine_t *self = (s_quarantine_t *) arg;
    if (!s_quarantine_selects (self, code, when_ms))
        return 0;
    if (self->summary) {
        char name [96];
        snprintf (name, sizeof name, "%s %s", ht_errname (code), origin? origin: "");
        json_int_t count = json_integer_value (json_object_get (self->summary, name));
        json_object_set_new (self->summary, name, json_integer (count + 1));
        return 0;
    }
    size_t index = 0;
    while (index < self->group_count && self->groups [index].code != code)
        index++;
    if (index == self->group_count && index < sizeof self->groups / sizeof self->groups [0])
        self->groups [self->group_count++] = (s_qgroup_t) { code, 0 };
    if (index < self->group_count)
        self->groups [index].count++;
    return 0;
}

//  Most entries first, then by name
static int
s_group_compare (const void *a, const void *b)
{
    const s_qgroup_t *left = (const s_qgroup_t *) a, *right = (const s_qgroup_t *) b;
    if (left->count != right->count)
        return left->count > right->count? -1: 1;
    return strcmp (ht_errname (left->code), ht_errname (right->code));
}

//  The jurisdiction of a record's author, from the certificate the store
//  holds for it; false if it holds none
static bool
s_author_cert (s_quarantine_t *self, const ht_record_t *record, ht_cert_t *cert)
{
    const ht_certsource_t *source = ht_store_certsource (self->store);
    uint8_t issuer [HT_PUBKEY_BYTES];
    return source->cert (source->ctx, ht_record_author (record), cert, issuer) == HT_OK;
}

//  One entry as a JSON line
static void
s_quarantined_json (s_quarantine_t *self, int code, const char *reason, const char *origin,
                    uint64_t when_ms, const uint8_t *data, size_t size)
{
    json_t *json = json_pack ("{s:s, s:s, s:s, s:I}", "error", ht_errname (code),
                              "reason", reason? reason: "", "origin", origin? origin: "",
                              "when", (json_int_t) when_ms);
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    if (record) {
        char author [2 * HT_PUBKEY_BYTES + 1];
        ht_cert_t cert;
        bool certified = s_author_cert (self, record, &cert);
        json_object_set_new (json, "region", json_string (ht_record_region (record)));
        json_object_set_new (json, "scope", json_string (ht_record_scope (record)));
        json_object_set_new (json, "author", json_string (
            ht_hex_encode (ht_record_author (record), HT_PUBKEY_BYTES, author)));
        json_object_set_new (json, "author_region", certified? json_string (cert.region): json_null ());
        json_object_set_new (json, "record", ht_record_to_json (record));
    }
    else {
        char *hex = (char *) malloc (2 * size + 1);
        json_object_set_new (json, "bytes", json_string (hex? ht_hex_encode (data, size, hex): ""));
        free (hex);
    }
    ht_record_destroy (&record);
    ht_print_json (json);
    json_decref (json);
}

//  One entry for people: when and whence, what, who wrote it, why
static void
s_quarantined_text (s_quarantine_t *self, const char *reason, const char *origin,
                    uint64_t when_ms, const uint8_t *data, size_t size)
{
    char when [32], author [2 * HT_PUBKEY_BYTES + 1];
    printf ("  %s  from %s\n", ht_utc_text (when_ms, when, sizeof when), origin && *origin? origin: "?");
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    if (record) {
        ht_cert_t cert;
        bool certified = s_author_cert (self, record, &cert);
        printf ("    %s %s  region %s  scope %s\n", ht_record_kind (record), ht_record_key (record),
                ht_record_region (record), ht_record_scope (record));
        ht_hex_encode (ht_record_author (record), HT_PUBKEY_BYTES, author);
        if (certified)
            printf ("    author %.16s…  jurisdiction %s (%s, %s)\n", author, cert.region,
                    cert.name, ht_role_name (cert.role));
        else
            printf ("    author %.16s…  jurisdiction unknown (no certificate for it here)\n", author);
    }
    else
        printf ("    %zu bytes that do not decode as a record\n", size);
    printf ("    why: %s\n", reason && *reason? reason: "(no reason given)");
    ht_record_destroy (&record);
}

//  Second pass, once per group: print the group's entries
static int
s_print_quarantined (void *arg, int code, const char *reason, const char *origin,
                     uint64_t when_ms, const uint8_t *data, size_t size)
{
    s_quarantine_t *self = (s_quarantine_t *) arg;
    if (code != self->showing || !s_quarantine_selects (self, code, when_ms))
        return 0;
    if (self->json)
        s_quarantined_json (self, code, reason, origin, when_ms, data, size);
    else
        s_quarantined_text (self, reason, origin, when_ms, data, size);
    return 0;
}

//  --summary: counts per reason and source, and what the bounds dropped
static void
s_quarantine_summary (s_quarantine_t *self)
{
    json_int_t dropped = (json_int_t) ht_store_counter (self->store, "quarantine_dropped");
    if (self->json) {
        json_t *json = json_pack ("{s:O, s:I}", "counts", self->summary, "dropped", dropped);
        ht_print_json (json);
        json_decref (json);
        return;
    }
    const char *name;
    json_t *count;
    printf ("%-24s %-28s %8s\n", "reason", "source", "entries");
    json_object_foreach (self->summary, name, count) {
        const char *space = strchr (name, ' ');
        printf ("%-24.*s %-28s %8" JSON_INTEGER_FORMAT "\n", (int) (space - name), name,
                *(space + 1)? space + 1: "?", json_integer_value (count));
    }
    if (!json_object_size (self->summary))
        printf ("(nothing quarantined%s)\n", self->code != 1 || self->before_ms? " that matches": "");
    printf ("dropped to keep sources within their bounds: %" JSON_INTEGER_FORMAT "\n", dropped);
}

//  The listing: count the groups, then walk once per group
static int
s_quarantine_list (s_quarantine_t *self)
{
    int rc = ht_store_quarantine (self->store, s_count_quarantined, self);
    if (rc < 0 || self->summary) {
        if (rc >= 0)
            s_quarantine_summary (self);
        return rc;
    }
    qsort (self->groups, self->group_count, sizeof (s_qgroup_t), s_group_compare);
    for (size_t index = 0; rc >= 0 && index < self->group_count; index++) {
        const s_qgroup_t *group = &self->groups [index];
        if (!self->json)
            printf ("%s%s: %zu entr%s (%s)\n", index? "\n": "", ht_errname (group->code),
                    group->count, group->count == 1? "y": "ies", ht_strerror (group->code));
        self->showing = group->code;
        rc = ht_store_quarantine (self->store, s_print_quarantined, self);
    }
    if (!self->json && !self->group_count)
        printf ("nothing quarantined%s\n", self->code != 1 || self->before_ms? " that matches": "");
    return rc;
}

//  --purge, and how many went
static int
s_quarantine_purge (s_quarantine_t *self)
{
    int rc = ht_store_quarantine_purge (self->store, self->code, self->before_ms);
    if (rc >= 0 && self->json) {
        json_t *json = json_pack ("{s:i}", "purged", rc);
        ht_print_json (json);
        json_decref (json);
    }
    else
    if (rc >= 0)
        printf ("purged %d entr%s\n", rc, rc == 1? "y": "ies");
    return rc;
}

int
ht_cmd_quarantine (int argc, char **argv)
{
    const char *values [Q_COUNT];
    int first_arg, rc = ht_args_parse (&s_quarantine_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [Q_STORE])
        return ht_usage_error ("quarantine: --store is required");
    if (first_arg < argc)
        return ht_usage_error ("quarantine: unexpected argument '%s' (see --help)", argv [first_arg]);
    if (values [Q_SUMMARY] && values [Q_PURGE])
        return ht_usage_error ("quarantine: --summary and --purge do not go together");
    s_quarantine_t self = { .code = 1, .json = values [Q_JSON] != NULL,
                            .before_ms = ht_args_number (&s_quarantine_spec, values, Q_BEFORE, 0) };
    if (values [Q_REASON]) {
        self.code = ht_errcode (values [Q_REASON]);
        if (self.code == HT_OK || (self.code == HT_EINVAL && strcmp (values [Q_REASON], "invalid")))
            return ht_usage_error ("quarantine: --reason %s: not an error name "
                                   "(e.g. bad_signature, out_of_scope, no_cert)", values [Q_REASON]);
    }
    if (!(self.store = ht_open_store (values [Q_STORE])))
        return HT_EXIT_ERROR;
    if (values [Q_PURGE])
        rc = s_quarantine_purge (&self);
    else {
        self.summary = values [Q_SUMMARY]? json_object (): NULL;
        rc = s_quarantine_list (&self);
        json_decref (self.summary);
    }
    fflush (stdout);
    ht_store_destroy (&self.store);
    return rc < 0? ht_fail ("quarantine", rc): HT_EXIT_OK;
}
