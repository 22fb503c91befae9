//  hutong get|find|list|count|history|audit --node: reads over a node's
//  client socket, through the client's read policy. Every record the
//  node sends is verified (ht_client) before it is printed: human rows,
//  or with --json one JSON object a line (the record's JSON form, masks
//  included).
#include "hutong.h"
#include "ht_client.h"
#include "ht_hlc.h"
#include "ht_msg.h"
#include "ht_policy.h"

#define S_MAX_TIMEOUT_MS 3600000
#define S_MAX_PAGE 1000
#define S_ROW_FIELDS_CHARS 110      //  human rows: field text shown

//  Options every remote read shares, first in each table (same order)
#define S_COMMON_OPTIONS \
    HT_OPTION_TEXT ("node", "ENDPOINT", "the node's client endpoint, e.g. tcp://127.0.0.1:7201"), \
    HT_OPTION_TEXT ("node-key", "PUB", "the node's public key (file or hex)"), \
    HT_OPTION_TEXT ("key", "KEYFILE", "our key, certified by the node (department, partner, operator)"), \
    HT_OPTION_TEXT ("purpose", "CODE", "why we read: needed for personal fields (hutong purposes)"), \
    HT_OPTION_UINT ("timeout", "MS", 1, S_MAX_TIMEOUT_MS, "how long to wait for each answer (default 10000)"), \
    HT_OPTION_FLAG ("json", "one JSON object a line instead of a table")
enum { S_NODE, S_NODE_KEY, S_KEY, S_PURPOSE, S_TIMEOUT, S_JSON, S_FIRST_OWN };

typedef struct {
    ht_keypair_t *key;
    ht_client_t *client;
    bool json;
    size_t printed;
} s_session_t;

bool
ht_query_wanted (int argc, char **argv)
{
    for (int index = 1; index < argc; index++)
        if (streq (argv [index], "--node") || strncmp (argv [index], "--node=", 7) == 0)
            return true;
    return false;
}

//  Connect as the common options say; exit code on failure
static int
s_open (const char *what, const ht_command_spec_t *spec, const char **values,
        s_session_t *session)
{
    memset (session, 0, sizeof (*session));
    if (!values [S_NODE] || !values [S_NODE_KEY] || !values [S_KEY])
        return ht_usage_error ("%s: --node, --node-key and --key are required", what);
    if (values [S_PURPOSE] && !ht_purpose_find (values [S_PURPOSE]))
        return ht_usage_error ("%s: unknown purpose '%s' (hutong purposes lists them)", what,
                               values [S_PURPOSE]);
    uint8_t node_key [HT_PUBKEY_BYTES];
    if (ht_public_load (values [S_NODE_KEY], node_key))
        return ht_usage_error ("%s: cannot read a public key from '%s'", what,
                               values [S_NODE_KEY]);
    session->key = ht_load_key (values [S_KEY]);
    if (!session->key)
        return HT_EXIT_ERROR;
    int timeout = (int) ht_args_number (spec, values, S_TIMEOUT, 10000);
    session->client = ht_client_new (values [S_NODE], node_key, session->key, timeout);
    if (!session->client) {
        ht_keypair_destroy (&session->key);
        return ht_usage_error ("%s: cannot connect to '%s': check --node", what, values [S_NODE]);
    }
    session->json = values [S_JSON] != NULL;
    return HT_EXIT_OK;
}

static void
s_close (s_session_t *session)
{
    ht_client_destroy (&session->client);
    ht_keypair_destroy (&session->key);
}

//  Exit code for a failed request, having said why
static int
s_failed (const char *what, s_session_t *session, int error)
{
    fprintf (stderr, "hutong: %s: %s\n", what, ht_client_reason (session->client));
    return error == HT_ENOTFOUND || error == HT_ENOPURPOSE || error == HT_EPURPOSE
        || error == HT_EPOLICY || error == HT_ESCOPE || error == HT_EFORBIDDEN
         ? HT_EXIT_INVALID: HT_EXIT_ERROR;
}

//  "name=value" for each field shown, masks with a ~, withheld skipped
static void
s_row_fields (const ht_record_t *record, char *text, size_t size)
{
    const ht_kind_t *kind = ht_record_schema (record);
    json_t *json = ht_record_to_json (record);
    json_t *fields = json_object_get (json, "fields"), *masked = json_object_get (json, "masked");
    size_t used = 0;
    text [0] = 0;
    for (size_t index = 0; index < kind->field_count && used + 1 < size; index++) {
        const char *name = kind->fields [index].name;
        json_t *value = json_object_get (fields, name);
        json_t *mask = json_object_get (masked, name);
        if ((!value || json_is_null (value)) && !mask)
            continue;
        if (value && json_is_null (value))
            value = NULL;
        char *shown = value? json_dumps (value, JSON_ENCODE_ANY | JSON_COMPACT): NULL;
        const char *plain = value && json_is_string (value)? json_string_value (value)
                          : shown? shown: json_string_value (mask);
        int wrote = snprintf (text + used, size - used, "%s%s%s%s", used? " ": "", name,
                              value? "=": "~", plain? plain: "");
        free (shown);
        if (wrote < 0)
            break;
        used += (size_t) wrote < size - used? (size_t) wrote: size - used - 1;
    }
    json_decref (json);
}

//  Print one record; note (may be NULL) is merged into its JSON line
static void
s_print_record (s_session_t *session, const ht_record_t *record, json_t *note)
{
    if (session->json) {
        json_t *json = ht_record_to_json (record);
        if (note)
            json_object_update (json, note);
        ht_print_json (json);
        json_decref (json);
    }
    else {
        char fields [S_ROW_FIELDS_CHARS * 4], time [40];
        s_row_fields (record, fields, sizeof fields);
        if (session->printed == 0)
            printf ("%-32s %-12s %-24s %s\n", "KEY", "REGION", "HLC", "FIELDS (~ masked)");
        ht_print_column (ht_record_key (record), 32);
        printf ("%-12s %-24s ", ht_record_region (record),
                ht_hlc_format (ht_record_hlc (record), time, sizeof time));
        const char *conflict = note? json_string_value (json_object_get (note, "conflict")): NULL;
        if (conflict)
            printf ("[conflict %s] ", conflict);
        if (ht_record_deleted (record))
            printf ("[deleted] ");
        ht_print_column (fields, S_ROW_FIELDS_CHARS);
        printf ("\n");
    }
    session->printed++;
}

static void
s_print_result (s_session_t *session, const ht_client_result_t *result)
{
    json_t *versions = json_object_get (result->json, "versions");
    for (size_t index = 0; index < result->count; index++)
        s_print_record (session, result->records [index], json_array_get (versions, index));
}

//  On a terminal, say what the policy did (stderr keeps stdout clean)
static void
s_print_summary (const ht_client_result_t *result)
{
    if (!ht_stderr_is_tty ())
        return;
    json_t *emergency = json_object_get (result->json, "emergency");
    fprintf (stderr, "policy %s%s%s%s\n", json_string_value (json_object_get (result->json, "policy")),
             json_is_true (json_object_get (result->json, "audited"))? ", this read was audited": "",
             json_is_string (emergency)? ", under declared emergency ": "",
             json_is_string (emergency)? json_string_value (emergency): "");
}

//  --------------------------------------------------------------------------
//  get, find, history

static const ht_option_t s_one_options [] = { S_COMMON_OPTIONS, HT_OPTION_END };

static const ht_command_spec_t s_get_spec = {
    "hutong get --node ENDPOINT --node-key PUB --key KEYFILE [--purpose CODE] KIND KEY",
    "Read the current version of a record from a running node, as our read\n"
    "policy shows it: withheld fields are absent, masked ones shown with ~,\n"
    "every shown field verified against the author's signature. Reads that\n"
    "show personal fields need a --purpose the policy allows, and are\n"
    "audited. Exit 1 if there is none we may see, or the node refused.",
    s_one_options
};

static const ht_command_spec_t s_find_spec = {
    "hutong find --node ENDPOINT --node-key PUB --key KEYFILE [--purpose CODE] KIND ID",
    "Find an elder by citizen ID number, or a facility by USCC: the node\n"
    "derives the record key (for elders with the network's pseudonym key,\n"
    "which clients never hold). Output and exit codes as for get.",
    s_one_options
};

static const ht_command_spec_t s_history_spec = {
    "hutong history --node ENDPOINT --node-key PUB --key KEYFILE [--purpose CODE] KIND KEY",
    "Every version of a record the node holds, oldest first, the current one\n"
    "last; a version the ownership rule refused is marked with its conflict\n"
    "(e.g. not_owner). Output and exit codes as for get.",
    s_one_options
};

typedef enum { S_GET, S_FIND, S_HISTORY } s_one_t;

static int
s_one (const char *what, const ht_command_spec_t *spec, s_one_t which, int argc, char **argv)
{
    const char *values [S_FIRST_OWN];
    int first_arg, rc = ht_args_parse (spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (argc - first_arg != 2)
        return ht_usage_error ("%s: KIND and %s are required", what,
                               which == S_FIND? "ID": "KEY");
    s_session_t session;
    if ((rc = s_open (what, spec, values, &session)))
        return rc;
    const char *kind = argv [first_arg], *key = argv [first_arg + 1];
    ht_client_result_t result;
    int error = which == S_GET? ht_client_get (session.client, kind, key, values [S_PURPOSE], &result)
              : which == S_FIND? ht_client_find (session.client, kind, key, values [S_PURPOSE], &result)
              : ht_client_history (session.client, kind, key, values [S_PURPOSE], &result);
    if (error == HT_OK) {
        s_print_result (&session, &result);
        s_print_summary (&result);
        ht_client_result_free (&result);
    }
    else
        rc = s_failed (what, &session, error);
    s_close (&session);
    return rc;
}

int
ht_cmd_query_get (int argc, char **argv)
{
    return s_one ("get", &s_get_spec, S_GET, argc, argv);
}

int
ht_cmd_find (int argc, char **argv)
{
    return s_one ("find", &s_find_spec, S_FIND, argc, argv);
}

int
ht_cmd_query_history (int argc, char **argv)
{
    return s_one ("history", &s_history_spec, S_HISTORY, argc, argv);
}

//  --------------------------------------------------------------------------
//  list, audit: pages

static const ht_option_t s_list_options [] = {
    S_COMMON_OPTIONS,
    HT_OPTION_TEXT ("kind", "KIND", "record kind (hutong schema lists them)"),
    HT_OPTION_TEXT ("region", "CODE", "region code or prefix (default: our jurisdiction)"),
    HT_OPTION_TEXT ("field", "NAME", "look up by an indexed field instead..."),
    HT_OPTION_TEXT ("value", "TEXT", "...having this value"),
    HT_OPTION_UINT ("limit", "N", 1, S_MAX_PAGE, "records per page (default 100)"),
    HT_OPTION_TEXT ("after", "CURSOR", "start after this cursor (a page's next)"),
    HT_OPTION_FLAG ("all", "follow every page to the end"),
    HT_OPTION_END
};
enum { S_KIND = S_FIRST_OWN, S_REGION, S_FIELD, S_VALUE, S_LIMIT, S_AFTER, S_ALL };

static const ht_command_spec_t s_list_spec = {
    "hutong list --node ENDPOINT --node-key PUB --key KEYFILE --kind KIND [OPTIONS]",
    "List records a running node holds that our read policy lets us see: by\n"
    "kind under a region (ordered by region, then by when the node stored\n"
    "each), or by an indexed field's value (ordered by when each was\n"
    "stored). One page (--limit) at a time; the cursor of the next goes to\n"
    "stderr, or --all follows them all (a record changed meanwhile comes\n"
    "again, at its new version). Records are verified and redacted as for\n"
    "get.",
    s_list_options
};

//  Page through a listing, printing what keep accepts (NULL: all)
typedef bool (s_keep_fn) (const ht_record_t *record, const void *arg);

static int
s_pages (const char *what, s_session_t *session, const char *kind,
         ht_client_query_t *query, bool all, s_keep_fn *keep, const void *arg)
{
    char cursor [HT_MSG_AFTER_BYTES] = "";
    while (true) {
        ht_client_result_t result;
        int error = ht_client_list (session->client, kind, query, &result);
        if (error)
            return s_failed (what, session, error);
        for (size_t index = 0; index < result.count; index++)
            if (!keep || keep (result.records [index], arg))
                s_print_record (session, result.records [index], NULL);
        const char *next = json_string_value (json_object_get (result.json, "next"));
        snprintf (cursor, sizeof cursor, "%s", next? next: "");
        if (!all || !next)
            s_print_summary (&result);
        ht_client_result_free (&result);
        if (!*cursor)
            break;
        if (!all) {
            fprintf (stderr, "next page: --after %s\n", cursor);
            break;
        }
        query->after = cursor;
    }
    return HT_EXIT_OK;
}

int
ht_cmd_query_list (int argc, char **argv)
{
    const char *values [S_ALL + 1];
    int first_arg, rc = ht_args_parse (&s_list_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [S_KIND])
        return ht_usage_error ("list: --kind is required");
    if (!values [S_FIELD] != !values [S_VALUE])
        return ht_usage_error ("list: --field and --value go together");
    s_session_t session;
    if ((rc = s_open ("list", &s_list_spec, values, &session)))
        return rc;
    ht_client_query_t query = {
        .purpose = values [S_PURPOSE], .region = values [S_REGION], .field = values [S_FIELD],
        .value = values [S_VALUE], .after = values [S_AFTER],
        .max = (size_t) ht_args_number (&s_list_spec, values, S_LIMIT, 100) };
    rc = s_pages ("list", &session, values [S_KIND], &query, values [S_ALL] != NULL, NULL, NULL);
    s_close (&session);
    return rc;
}

static const ht_option_t s_audit_options [] = {
    S_COMMON_OPTIONS,
    HT_OPTION_TEXT ("region", "CODE", "only audits of nodes under this region"),
    HT_OPTION_TEXT ("department", "CODE", "only reads by this department"),
    HT_OPTION_TEXT ("subject", "KEY", "only reads of this record key"),
    HT_OPTION_TEXT ("id-no", "ID", "only reads of this elder (the node derives the key)"),
    HT_OPTION_TEXT ("client", "PUB", "only reads by this client key (64 hex)"),
    HT_OPTION_TIME ("since", "TIME", "only reads at or after this time"),
    HT_OPTION_END
};
enum { S_AUDIT_REGION = S_FIRST_OWN, S_DEPARTMENT, S_SUBJECT, S_ID_NO, S_CLIENT, S_SINCE };

static const ht_command_spec_t s_audit_spec = {
    "hutong audit --node ENDPOINT --node-key PUB --key KEYFILE [FILTERS]",
    "Who read whom, when and why: the audit records a node holds (its own\n"
    "and, at a county or city, those of every node below). Each names the\n"
    "client key and certificate, department, policy, purpose, the records\n"
    "read and the personal fields shown. Needs a key whose read policy\n"
    "covers audit (operator, civil_affairs). Filters combine.",
    s_audit_options
};

typedef struct {
    uint64_t since;
    const char *department;
    const char *client;
} s_audit_filter_t;

static bool
s_audit_keep (const ht_record_t *record, const void *arg)
{
    const s_audit_filter_t *filter = (const s_audit_filter_t *) arg;
    int64_t at = 0;
    const char *department = ht_record_get_str (record, "department");
    const char *client = ht_record_get_str (record, "client");
    return (!filter->since || (ht_record_get_int (record, "at", &at)
                               && (uint64_t) at >= filter->since))
        && (!filter->department || (department && streq (department, filter->department)))
        && (!filter->client || (client && streq (client, filter->client)));
}

int
ht_cmd_audit (int argc, char **argv)
{
    const char *values [S_SINCE + 1];
    int first_arg, rc = ht_args_parse (&s_audit_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    int subjects = !!values [S_SUBJECT] + !!values [S_ID_NO];
    if (subjects > 1)
        return ht_usage_error ("audit: give --subject or --id-no, not both");
    s_session_t session;
    if ((rc = s_open ("audit", &s_audit_spec, values, &session)))
        return rc;
    //  One indexed filter goes to the node; the rest are checked here
    ht_client_query_t query = { .purpose = values [S_PURPOSE], .region = values [S_AUDIT_REGION],
                                .max = S_MAX_PAGE };
    s_audit_filter_t filter = {
        .since = ht_args_number (&s_audit_spec, values, S_SINCE, 0),
        .department = values [S_DEPARTMENT], .client = values [S_CLIENT] };
    if (values [S_SUBJECT])
        query.field = "subjects", query.value = values [S_SUBJECT];
    else
    if (values [S_ID_NO])
        query.field = "subject_id_no", query.value = values [S_ID_NO];
    else
    if (values [S_DEPARTMENT])
        query.field = "department", query.value = values [S_DEPARTMENT];
    else
    if (values [S_CLIENT])
        query.field = "client", query.value = values [S_CLIENT];
    rc = s_pages ("audit", &session, "audit", &query, true, s_audit_keep, &filter);
    s_close (&session);
    return rc;
}

//  --------------------------------------------------------------------------
//  count

static const ht_option_t s_count_options [] = {
    S_COMMON_OPTIONS,
    HT_OPTION_TEXT ("kind", "KIND", "record kind"),
    HT_OPTION_TEXT ("region", "CODE", "region code or prefix (default: our jurisdiction)"),
    HT_OPTION_END
};

static const ht_command_spec_t s_count_spec = {
    "hutong count --node ENDPOINT --node-key PUB --key KEYFILE --kind KIND [--region CODE]",
    "Count current records of a kind in a region, grouped by the next tier\n"
    "down (how many elders per township of this county). Counts show no\n"
    "field, so policies with counts-only access (fire, emergency) may ask.",
    s_count_options
};

int
ht_cmd_count (int argc, char **argv)
{
    const char *values [S_FIRST_OWN + 2];
    int first_arg, rc = ht_args_parse (&s_count_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [S_FIRST_OWN])
        return ht_usage_error ("count: --kind is required");
    s_session_t session;
    if ((rc = s_open ("count", &s_count_spec, values, &session)))
        return rc;
    int error = 0;
    json_t *counts = ht_client_count (session.client, values [S_FIRST_OWN],
                                      values [S_FIRST_OWN + 1], values [S_PURPOSE], &error);
    if (!counts)
        rc = s_failed ("count", &session, error);
    else
    if (session.json)
        ht_print_json (counts);
    else {
        printf ("%s in %s: %lld\n", values [S_FIRST_OWN],
                json_string_value (json_object_get (counts, "region")),
                (long long) json_integer_value (json_object_get (counts, "total")));
        const char *region;
        json_t *value;
        json_object_foreach (json_object_get (counts, "by"), region, value)
            printf ("  %s  %lld\n", region, (long long) json_integer_value (value));
    }
    json_decref (counts);
    s_close (&session);
    return rc;
}

//  --------------------------------------------------------------------------
//  purposes

int
ht_cmd_purposes (int argc, char **argv)
{
    static const ht_option_t options [] = {
        HT_OPTION_FLAG ("json", "print as JSON"), HT_OPTION_END };
    static const ht_command_spec_t spec = {
        "hutong purposes [--json]",
        "The purpose codes a read names (PIPL Art. 6). Only a personal one may\n"
        "justify showing personal (PI) or sensitive (S) fields, and only if the\n"
        "client's read policy lists it (conf/policy.cfg).",
        options
    };
    const char *values [1];
    int first_arg, rc = ht_args_parse (&spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    json_t *list = json_array ();
    for (size_t index = 0; ht_purpose_at (index); index++) {
        const ht_purpose_t *purpose = ht_purpose_at (index);
        if (values [0])
            json_array_append_new (list, json_pack ("{s:s, s:s, s:b}", "code", purpose->code,
                                   "label", purpose->label, "personal", purpose->personal));
        else
            printf ("%-20s %-9s %s\n", purpose->code, purpose->personal? "personal": "-",
                    purpose->label);
    }
    if (values [0])
        ht_print_json (list);
    json_decref (list);
    return HT_EXIT_OK;
}
