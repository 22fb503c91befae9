//  ht_query: read requests through read policies (see ht_query.h).
#include <inttypes.h>
#include "ht_query.h"
#include "ht_hlc.h"
#include "ht_region.h"
#include "ht_schema.h"
#include "ht_valid.h"

struct _ht_query_t {
    ht_store_t *store;                  //  what we read (borrowed)
    char region [HT_REGION_BYTES];      //  this node's region
    ht_policyset_t *policies;           //  owned; NULL: the built-in set
};

//  An active emergency declaration (an `emergency` record)
typedef struct {
    char key [HT_KEY_MAX_CHARS + 1];            //  the declaration's key
    char region [HT_REGION_BYTES];              //  where it applies
    char policy [HT_POLICY_NAME_BYTES];         //  whose reads it widens
    char grant [HT_POLICY_NAME_BYTES];          //  the policy they read as
} s_emergency_t;

//  One read in progress: who asks, under what, and what it disclosed
typedef struct {
    ht_query_t *self;
    const ht_query_client_t *client;
    const ht_msg_t *msg;
    const ht_kind_t *kind;                      //  the kind asked for
    const ht_policy_t *policy;                  //  the client's own policy
    char limit [HT_REGION_BYTES];               //  the client's region limit
    uint64_t now_ms;
    s_emergency_t emergencies [HT_QUERY_MAX_EMERGENCIES];
    size_t emergency_count;
    const char *emergency_used;                 //  a declaration widened a record
    zmsg_t *records;                            //  encoded records to send
    json_t *versions;                           //  HISTORY: per-record notes
    size_t count;                               //  records in the reply
    zlistx_t *subjects;                         //  keys of records shown with
                                                //  PI / S fields (audit)
    zhashx_t *seen;                             //  the same keys, to look up
    bool disclosed [HT_FIELD_MAX_COUNT];        //  fields of kind shown in full
    bool masked [HT_FIELD_MAX_COUNT];           //  and masked
    int error;                                  //  first refusal, or 0
    const char *reason;                         //  and why
    //  LIST paging
    size_t page;                                //  records wanted
    size_t examined, scan_limit;                //  entries looked at, and cap
    char cursor [HT_STORE_CURSOR_BYTES];        //  last entry examined
    bool stopped;                               //  stopped before the end
    const char *prefix;                         //  LIST: region filter
    //  Feeds
    uint32_t kinds;                             //  kinds wanted, bit per
                                                //  ht_schema_kind_at index
    size_t credit;                              //  events that may be sent
    uint64_t last_seq;                          //  last log entry taken
    json_t *events;                             //  {seq, kind, key, deleted}
} s_read_t;

ht_query_t *
ht_query_new (ht_store_t *store, const char *region, ht_policyset_t *policies)
{
    ht_query_t *self = (ht_query_t *) zmalloc (sizeof (ht_query_t));
    self->store = store;
    snprintf (self->region, sizeof self->region, "%s", region);
    self->policies = policies;
    return self;
}

void
ht_query_destroy (ht_query_t **self_p)
{
    ht_query_t *self = *self_p;
    if (self) {
        ht_policyset_destroy (&self->policies);
        free (self);
        *self_p = NULL;
    }
}

void
ht_query_set_policies (ht_query_t *self, ht_policyset_t *policies)
{
    ht_policyset_destroy (&self->policies);
    self->policies = policies;
}

const ht_policy_t *
ht_query_policy (const ht_query_t *self, const ht_cert_t *cert)
{
    const char *name = *cert->policy? cert->policy
                     : *cert->department? cert->department: ht_role_name (cert->role);
    return ht_policyset_find (self->policies? self->policies: ht_policyset_default (), name);
}

bool
ht_query_handles (const char *command)
{
    return streq (command, HT_MSG_GET) || streq (command, HT_MSG_FIND)
        || streq (command, HT_MSG_LIST) || streq (command, HT_MSG_COUNT)
        || streq (command, HT_MSG_HISTORY);
}

zmsg_t *
ht_query_error (uint64_t token, int code, const char *reason)
{
    ht_msg_t msg;
    ht_msg_init (&msg, HT_MSG_ERROR);
    msg.token = token;
    snprintf (msg.error, sizeof msg.error, "%s", ht_errname (code));
    snprintf (msg.text, sizeof msg.text, "%s", reason? reason: ht_strerror (code));
    return ht_msg_encode (&msg);
}

static int
s_refuse (s_read_t *read, int code, const char *reason)
{
    if (!read->error) {
        read->error = code;
        read->reason = reason;
    }
    return code;
}

//  --------------------------------------------------------------------------
//  Regions and emergencies

//  A request's region (a 12-digit code or a prefix of 2, 4, 6 or 9
//  digits) as a code; "" gives the client's limit
static int
s_request_region (const s_read_t *read, char *code)
{
    const char *text = read->msg->region;
    if (!*text) {
        memcpy (code, read->limit, HT_REGION_BYTES);
        return HT_OK;
    }
    if (strlen (text) == HT_REGION_DIGITS)
        return ht_region_check (text, NULL) == HT_OK? (strcpy (code, text), HT_OK): HT_EREGION;
    return ht_region_from_prefix (text, code) == HT_OK && ht_region_valid (code)
         ? HT_OK: HT_EREGION;
}

//  Collect the declarations in force now that widen the client's policy
static int
s_collect_emergency (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    s_read_t *read = (s_read_t *) arg;
    int64_t starts = 0, ends = 0;
    const char *policy = ht_record_get_str (record, "policy");
    const char *grant = ht_record_get_str (record, "grant");
    if (ht_record_deleted (record) || !policy || !grant
    ||  !ht_record_get_int (record, "starts", &starts)
    ||  !ht_record_get_int (record, "ends", &ends)
    ||  (int64_t) read->now_ms < starts || (int64_t) read->now_ms >= ends
    ||  !streq (policy, read->policy->name)
    ||  read->emergency_count == HT_QUERY_MAX_EMERGENCIES)
        return 0;
    s_emergency_t *emergency = &read->emergencies [read->emergency_count++];
    snprintf (emergency->key, sizeof emergency->key, "%s", ht_record_key (record));
    snprintf (emergency->region, sizeof emergency->region, "%s", ht_record_region (record));
    snprintf (emergency->policy, sizeof emergency->policy, "%s", policy);
    snprintf (emergency->grant, sizeof emergency->grant, "%s", grant);
    return 0;
}

//  The policy a record is read under: the client's, or what a
//  declaration in force over the record's region grants it
static const ht_policy_t *
s_policy_for (s_read_t *read, const ht_record_t *record, const char **emergency)
{
    *emergency = NULL;
    for (size_t index = 0; index < read->emergency_count; index++) {
        const s_emergency_t *declared = &read->emergencies [index];
        const ht_policy_t *grant = ht_policyset_find (
            read->self->policies? read->self->policies: ht_policyset_default (),
            declared->grant);
        if (grant && ht_region_covers (declared->region, ht_record_region (record))) {
            *emergency = declared->key;
            return grant;
        }
    }
    return read->policy;
}

//  May the client see this record at all? What a node of its region
//  would hold: its own region and below, and what is shared down to it
static bool
s_visible (const s_read_t *read, const ht_record_t *record)
{
    return ht_region_holds (read->limit, ht_record_region (record), ht_record_scope (record));
}

//  --------------------------------------------------------------------------
//  Showing records

#define S_OTHER_KIND 1              //  s_show: not shown, a feed batch's kind differs

//  Add record to the reply as policy shows it. Returns 0, a refusal (the
//  policy sees nothing of it, or a purpose is missing), or, in a feed,
//  S_OTHER_KIND.
static int
s_show (s_read_t *read, const ht_record_t *record, json_t *note)
{
    const char *emergency = NULL;
    const ht_policy_t *policy = s_policy_for (read, record, &emergency);
    ht_policy_view_t view;
    ht_policy_view (policy, record, &view);
    const char *reason = NULL;
    int rc = HT_OK;
    //  A policy that may only count the kind (and no declaration widens
    //  it for this record): the record is as absent, so a lookup tells
    //  nothing the client may not know
    if (ht_policy_kind_access (policy, ht_record_kind (record)) < HT_ACCESS_MASKED
    ||  view.visible == 0)
        return s_refuse (read, HT_ENOTFOUND, "no such record here for this client");
    if (view.personal && (rc = ht_policy_check_purpose (policy, read->msg->purpose,
                                                        &reason)) != HT_OK)
        return s_refuse (read, rc, reason);
    //  A feed batch's one audit record names one kind: a personal record
    //  of another kind waits for the next batch
    const ht_kind_t *kind = ht_record_schema (record);
    if (read->events && view.personal) {
        if (read->kind && read->kind != kind)
            return S_OTHER_KIND;
        read->kind = kind;
    }
    int error = 0;
    ht_record_t *shown = ht_policy_redact (policy, record, &error);
    uint8_t *data = NULL;
    size_t size = 0;
    if (!shown || ht_record_encode (shown, &data, &size) != HT_OK) {
        ht_record_destroy (&shown);
        return s_refuse (read, error? error: HT_ENOMEM, "the record could not be redacted");
    }
    zmsg_addmem (read->records, data, size);
    free (data);
    ht_record_destroy (&shown);
    read->count++;
    if (note)
        json_array_append_new (read->versions, note);
    if (view.personal) {
        if (zlistx_size (read->subjects) < HT_AUDIT_MAX_SUBJECTS
        &&  zhashx_insert (read->seen, ht_record_key (record), read) == 0)
            zlistx_add_end (read->subjects, (void *) ht_record_key (record));
        for (size_t index = 0; index < view.disclosed_count; index++)
            read->disclosed [ht_schema_field_index (kind, view.disclosed [index])] = true;
        for (size_t index = 0; index < view.masked_count; index++)
            read->masked [ht_schema_field_index (kind, view.masked [index])] = true;
        if (emergency)
            read->emergency_used = emergency;
    }
    return HT_OK;
}

//  --------------------------------------------------------------------------
//  Requests

static void
s_get (s_read_t *read, const char *key)
{
    int error = 0;
    ht_record_t *record = ht_store_get (read->self->store, read->kind->name, key, &error);
    //  What the client may not see is as absent as what is not here
    if (!record || !s_visible (read, record))
        s_refuse (read, HT_ENOTFOUND, "no such record here for this client");
    else
        s_show (read, record, NULL);
    ht_record_destroy (&record);
}

//  The entity key of kind whose natural key field has value; HT_OK, or
//  a refusal
static int
s_derive_key (const char *kind, const char *field, const char *value, s_read_t *read,
              char *key)
{
    *key = 0;
    const char *why = NULL;
    bool org_code_ok = false;
    size_t length = strlen (value);
    //  A citizen ID (18 characters) must be one; other ID types are 6-32
    //  letters and digits; a USCC must be one
    bool valid = streq (field, "uscc")
               ? ht_valid_uscc (value, &org_code_ok, &why) == HT_OK
               : length == 18 && strspn (value, "0123456789") >= 17
               ? ht_valid_citizen_id (value, 0, &why) == HT_OK
               : length >= 6 && length <= 32
                 && strspn (value, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == length;
    if (!valid)
        return s_refuse (read, HT_EINVAL, streq (field, "id_no")? "not a citizen ID number "
                         "(GB 11643) nor another ID number (6-32 of 0-9 A-Z)": "not a USCC");
    //  A node set up without the pseudonym key cannot derive elder keys
    if (streq (field, "id_no") && !ht_store_idkey (read->self->store))
        return s_refuse (read, HT_EKEY, "this node holds no network pseudonym key (idkey), "
                         "which finding an elder by ID number needs: it was set up "
                         "without 'hutong init --idkey'; look the elder up by key instead");
    ht_record_t *probe = ht_record_new (kind);
    if (probe && ht_record_set_str (probe, field, value) == HT_OK
    &&  ht_record_derive_key (probe, ht_store_idkey (read->self->store)) == HT_OK)
        snprintf (key, HT_KEY_MAX_CHARS + 1, "%s", ht_record_key (probe));
    ht_record_destroy (&probe);
    if (!*key)
        return s_refuse (read, HT_EINVAL, streq (field, "id_no")? "not a citizen ID number"
                                                                : "not a USCC");
    return HT_OK;
}

//  FIND: the node derives the entity key from the natural key — for an
//  elder with the network's pseudonym key, which clients never hold
static void
s_find (s_read_t *read)
{
    const char *field = streq (read->kind->name, "elder")? "id_no"
                      : streq (read->kind->name, "facility")? "uscc": NULL;
    if (!field) {
        s_refuse (read, HT_EKIND, "FIND looks up elders by id_no and facilities by uscc");
        return;
    }
    char key [HT_KEY_MAX_CHARS + 1];
    if (s_derive_key (read->kind->name, field, read->msg->value, read, key) == HT_OK)
        s_get (read, key);
}

//  LIST visitor: filter, show, page
static int
s_list_each (void *arg, const ht_record_t *record, uint64_t seq)
{
    s_read_t *read = (s_read_t *) arg;
    read->examined++;
    ht_store_list_cursor (record, seq, read->cursor, sizeof read->cursor);
    bool wanted = s_visible (read, record)
               && (!read->prefix || ht_region_covers (read->prefix, ht_record_region (record)));
    if (wanted && s_show (read, record, NULL) != HT_OK) {
        if (read->error != HT_ENOTFOUND)
            return 1;               //  refused: the whole request is
        read->error = 0;            //  a record it may not see is left out
    }
    if (read->count >= read->page || read->examined >= read->scan_limit) {
        read->stopped = true;
        return 1;
    }
    return 0;
}

static void
s_list (s_read_t *read, json_t *reply)
{
    char code [HT_REGION_BYTES], prefix [HT_REGION_BYTES];
    if (s_request_region (read, code) != HT_OK) {
        s_refuse (read, HT_EREGION, "region: a 12-digit code or a prefix of 2, 4, 6 or 9 digits");
        return;
    }
    //  A region inside the limit lists there; one above it lists what the
    //  client may see of it (what is shared down); another is refused
    if (!ht_region_covers (read->limit, code) && !ht_region_covers (code, read->limit)) {
        s_refuse (read, HT_ESCOPE, "the region is outside this client's jurisdiction");
        return;
    }
    if (ht_region_prefix (code, prefix) < 0) {
        s_refuse (read, HT_EREGION, "bad region");
        return;
    }
    read->page = read->msg->max == 0? HT_QUERY_DEFAULT_PAGE
               : read->msg->max > HT_QUERY_MAX_PAGE? HT_QUERY_MAX_PAGE: (size_t) read->msg->max;
    read->scan_limit = read->page * HT_QUERY_SCAN_FACTOR < 1000
                     ? 1000: read->page * HT_QUERY_SCAN_FACTOR;
    const char *after = *read->msg->after? read->msg->after: NULL;
    int rc;
    //  Audit records by an elder's ID number: the node derives the key
    //  (clients never hold the pseudonym key)
    const char *field = read->msg->field, *value = read->msg->value;
    char derived [HT_KEY_MAX_CHARS + 1];
    if (streq (read->kind->name, "audit") && streq (field, "subject_id_no")) {
        if (s_derive_key ("elder", "id_no", value, read, derived) != HT_OK)
            return;
        field = "subjects";
        value = derived;
    }
    if (*field) {
        int index = ht_schema_field_index (read->kind, field);
        if (index < 0 || !read->kind->fields [index].indexed) {
            s_refuse (read, HT_EFIELD, "field: not an indexed field of this kind "
                      "(`hutong schema` marks them)");
            return;
        }
        //  Looking up by a field the policy does not show would tell what
        //  it holds (who is 低保): the client must see that field in full
        const ht_field_t *indexed = &read->kind->fields [index];
        if (read->policy->access [indexed->group] < HT_ACCESS_FULL) {
            s_refuse (read, HT_EPOLICY, "the read policy does not show this field, so it "
                      "cannot look records up by it");
            return;
        }
        read->prefix = code;
        rc = ht_store_find_after (read->self->store, read->kind->name, field, value, after, 0,
                                  s_list_each, read);
    }
    else
        rc = ht_store_list (read->self->store, read->kind->name, prefix, after, 0,
                            s_list_each, read);
    if (rc < 0 && !read->error)
        s_refuse (read, rc == HT_ENOTFOUND? HT_EINVAL: rc,
                  rc == HT_ENOTFOUND? "after: not a cursor this node issued": NULL);
    json_object_set_new (reply, "next", read->stopped? json_string (read->cursor): json_null ());
    json_object_set_new (reply, "examined", json_integer ((json_int_t) read->examined));
    json_object_set_new (reply, "region", json_string (code));
}

//  Tier digits one level below a prefix of length digits
static size_t
s_next_tier (size_t digits)
{
    return digits < 4? 4: digits < 6? 6: digits < 9? 9: HT_REGION_DIGITS;
}

static void
s_count_each (void *arg, const char *region, uint64_t count)
{
    json_object_set_new ((json_t *) arg, region, json_integer ((json_int_t) count));
}

static void
s_count (s_read_t *read, json_t *reply)
{
    char code [HT_REGION_BYTES], prefix [HT_REGION_BYTES];
    if (s_request_region (read, code) != HT_OK) {
        s_refuse (read, HT_EREGION, "region: a 12-digit code or a prefix of 2, 4, 6 or 9 digits");
        return;
    }
    if (ht_policy_kind_access (read->policy, read->kind->name) < HT_ACCESS_COUNT) {
        s_refuse (read, HT_EPOLICY, "the read policy does not cover this kind");
        return;
    }
    //  Counts stay within the client's jurisdiction: a region above it
    //  counts the client's own part
    if (ht_region_covers (code, read->limit))
        memcpy (code, read->limit, sizeof code);
    else
    if (!ht_region_covers (read->limit, code)) {
        s_refuse (read, HT_ESCOPE, "the region is outside this client's jurisdiction");
        return;
    }
    int digits = ht_region_prefix (code, prefix);
    json_t *groups = json_object ();
    int total = digits < 0? HT_EREGION
              : ht_store_count_regions (read->self->store, read->kind->name, prefix,
                                        s_next_tier ((size_t) digits), s_count_each, groups);
    if (total < 0) {
        json_decref (groups);
        s_refuse (read, total, NULL);
        return;
    }
    json_object_set_new (reply, "region", json_string (code));
    json_object_set_new (reply, "total", json_integer (total));
    json_object_set_new (reply, "by", groups);
}

//  HISTORY visitor: superseded versions, oldest first
static int
s_history_each (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    s_read_t *read = (s_read_t *) arg;
    int conflict = ht_store_conflict_of (read->self->store, record);
    json_t *note = json_pack ("{s:o, s:b}", "conflict",
                              conflict? json_string (ht_errname (conflict)): json_null (),
                              "current", false);
    if (s_show (read, record, note) != HT_OK) {
        json_decref (note);
        if (read->error != HT_ENOTFOUND)
            return 1;
        read->error = 0;            //  a version it may not see is left out,
    }                               //  as LIST does
    return 0;
}

static void
s_history (s_read_t *read)
{
    ht_record_t *current = ht_store_get (read->self->store, read->kind->name,
                                         read->msg->key, NULL);
    //  Visibility follows the current version: the entity as it is now
    if (!current || !s_visible (read, current)) {
        ht_record_destroy (&current);
        s_refuse (read, HT_ENOTFOUND, "no such record here for this client");
        return;
    }
    int rc = ht_store_history (read->self->store, read->kind->name, read->msg->key,
                               s_history_each, read);
    if (rc < 0)
        s_refuse (read, rc, NULL);
    json_t *note = json_pack ("{s:n, s:b}", "conflict", "current", true);
    if (!read->error && s_show (read, current, note) == HT_OK)
        note = NULL;                //  s_show took it
    json_decref (note);
    ht_record_destroy (&current);
}

//  --------------------------------------------------------------------------
//  The audit draft of a disclosing read

static ht_record_t *
s_audit_draft (s_read_t *read, const char *request)
{
    ht_record_t *draft = ht_record_new ("audit");
    const char *subjects [HT_AUDIT_MAX_SUBJECTS];
    const char *disclosed [HT_FIELD_MAX_COUNT], *masked [HT_FIELD_MAX_COUNT];
    size_t subject_count = 0, disclosed_count = 0, masked_count = 0;
    for (const char *key = (const char *) zlistx_first (read->subjects); key;
         key = (const char *) zlistx_next (read->subjects))
        subjects [subject_count++] = key;
    for (size_t index = 0; index < read->kind->field_count; index++) {
        if (read->disclosed [index])
            disclosed [disclosed_count++] = read->kind->fields [index].name;
        if (read->masked [index])
            masked [masked_count++] = read->kind->fields [index].name;
    }
    const ht_cert_t *cert = &read->client->cert;
    int rc = draft? HT_OK: HT_ENOMEM;
    if (rc == HT_OK)
        rc = ht_record_set_int (draft, "at", (int64_t) read->now_ms)
          || ht_record_set_str (draft, "client", read->client->user)
          || ht_record_set_str (draft, "client_name", cert->name)
          || (*cert->department && ht_record_set_str (draft, "department", cert->department))
          || (read->emergency_used && ht_record_set_str (draft, "emergency", read->emergency_used))
          || ht_record_set_strs (draft, "fields", disclosed, disclosed_count)
          || (masked_count && ht_record_set_strs (draft, "masked", masked, masked_count))
          || ht_record_set_str (draft, "policy", read->policy->name)
          || (*read->msg->purpose && ht_record_set_str (draft, "purpose", read->msg->purpose))
          || ht_record_set_str (draft, "request", request)
          || ht_record_set_str (draft, "subject_kind", read->kind->name)
          || ht_record_set_strs (draft, "subjects", subjects, subject_count);
    if (rc != HT_OK)
        ht_record_destroy (&draft);
    return draft;
}

//  --------------------------------------------------------------------------
//  Dispatch

//  The audit's subjects, in the order shown, each once
static void
s_subjects_new (s_read_t *read)
{
    read->subjects = zlistx_new ();
    zlistx_set_duplicator (read->subjects, (czmq_duplicator *) strdup);
    zlistx_set_destructor (read->subjects, (czmq_destructor *) zstr_free);
    read->seen = zhashx_new ();             //  keys copied; items borrowed
}

//  Free what a read gathered
static void
s_read_end (s_read_t *read)
{
    json_decref (read->versions);
    json_decref (read->events);
    zmsg_destroy (&read->records);
    zlistx_destroy (&read->subjects);
    zhashx_destroy (&read->seen);
}

//  The client's limit: its certificate's region, narrowed (never
//  widened) by its policy's region
static int
s_set_limit (s_read_t *read)
{
    memcpy (read->limit, read->client->cert.region, sizeof read->limit);
    if (!*read->policy->region)
        return HT_OK;
    //  A policy region the certificate does not cover narrows it to
    //  nothing: refuse rather than fall back to the certificate's
    char narrowed [HT_REGION_BYTES];
    if (ht_region_from_prefix (read->policy->region, narrowed) != HT_OK
    ||  !ht_region_covers (read->limit, narrowed))
        return HT_ESCOPE;
    memcpy (read->limit, narrowed, sizeof read->limit);
    return HT_OK;
}

//  Could a declaration in force widen the client's policy to read the
//  kind? (Only then does a counts-only policy look records up.)
static bool
s_may_be_widened (s_read_t *read)
{
    for (size_t index = 0; index < read->emergency_count; index++) {
        const ht_policy_t *grant = ht_policyset_find (
            read->self->policies? read->self->policies: ht_policyset_default (),
            read->emergencies [index].grant);
        if (grant && ht_policy_kind_access (grant, read->kind->name) >= HT_ACCESS_MASKED)
            return true;
    }
    return false;
}

//  Does the policy show any personal (PI or S) field of kind, in full or
//  masked?
static bool
s_kind_shows_personal (const ht_policy_t *policy, const ht_kind_t *kind)
{
    for (size_t index = 0; index < kind->field_count; index++) {
        const ht_field_t *field = &kind->fields [index];
        if ((field->sens == HT_SENS_PI || field->sens == HT_SENS_S)
        &&  policy->access [field->group] >= HT_ACCESS_MASKED)
            return true;
    }
    return false;
}

//  The OK reply: command, token, JSON, records
static zmsg_t *
s_reply (const char *command, uint64_t token, json_t *json, zmsg_t **records_p)
{
    ht_msg_t msg;
    ht_msg_init (&msg, command);
    msg.token = token;
    zmsg_t *reply = ht_msg_encode (&msg);
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    zmsg_addstr (reply, text? text: "{}");
    free (text);
    zframe_t *frame;
    while ((frame = zmsg_pop (*records_p)))
        zmsg_append (reply, &frame);
    zmsg_destroy (records_p);
    return reply;
}

zmsg_t *
ht_query_answer (ht_query_t *self, const ht_query_client_t *client, const ht_msg_t *msg,
                 uint64_t now_ms, ht_record_t **audit_p)
{
    *audit_p = NULL;
    s_read_t read = { .self = self, .client = client, .msg = msg, .now_ms = now_ms };
    read.kind = ht_schema_kind (msg->kind);
    read.policy = ht_query_policy (self, &client->cert);
    if (!read.kind)
        return ht_query_error (msg->token, HT_EKIND, "unknown record kind (`hutong schema` "
                               "lists them)");
    if (!read.policy)
        return ht_query_error (msg->token, HT_EPOLICY, "no read policy for this client's "
                               "certificate in this node's policy file");
    if (!ht_policy_permits_kind (read.policy, read.kind->name))
        return ht_query_error (msg->token, HT_EPOLICY, "the read policy does not cover this kind");
    if (*msg->purpose && !ht_purpose_find (msg->purpose))
        return ht_query_error (msg->token, HT_EPURPOSE, "unknown purpose code (`hutong "
                               "purposes` lists them)");
    if (s_set_limit (&read) != HT_OK)
        return ht_query_error (msg->token, HT_ESCOPE, "the read policy's region lies outside "
                               "this client's certificate: it may read nothing here");
    //  A request that may show personal fields of the kind names an
    //  allowed purpose before any lookup: otherwise a FIND answered
    //  purpose_required or not_found would tell, unaudited, whether a
    //  citizen ID is on the register
    const char *why = NULL;
    int allowed;
    if (!streq (msg->command, HT_MSG_COUNT) && s_kind_shows_personal (read.policy, read.kind)
    &&  (allowed = ht_policy_check_purpose (read.policy, msg->purpose, &why)) != HT_OK)
        return ht_query_error (msg->token, allowed, why);
    if (!streq (msg->command, HT_MSG_COUNT))
        ht_store_list (self->store, "emergency", "", NULL, 0, s_collect_emergency, &read);
    if (!streq (msg->command, HT_MSG_COUNT)
    &&  ht_policy_kind_access (read.policy, read.kind->name) < HT_ACCESS_MASKED
    &&  !s_may_be_widened (&read))
        return ht_query_error (msg->token, HT_EPOLICY, "the read policy shows no field of this "
                               "kind to this client (COUNT may still be allowed)");

    read.records = zmsg_new ();
    read.versions = json_array ();
    s_subjects_new (&read);
    json_t *reply = json_pack ("{s:s, s:s}", "policy", read.policy->name, "kind",
                               read.kind->name);
    const char *command = NULL, *request = NULL;
    if (streq (msg->command, HT_MSG_GET)) {
        s_get (&read, msg->key);
        command = HT_MSG_GET_OK, request = "get";
    }
    else
    if (streq (msg->command, HT_MSG_FIND)) {
        s_find (&read);
        command = HT_MSG_FIND_OK, request = "find";
    }
    else
    if (streq (msg->command, HT_MSG_LIST)) {
        s_list (&read, reply);
        command = HT_MSG_LIST_OK, request = "list";
    }
    else
    if (streq (msg->command, HT_MSG_COUNT)) {
        s_count (&read, reply);
        command = HT_MSG_COUNT_OK;
    }
    else
    if (streq (msg->command, HT_MSG_HISTORY)) {
        s_history (&read);
        command = HT_MSG_HISTORY_OK, request = "history";
        json_object_set (reply, "versions", read.versions);
    }
    zmsg_t *answer;
    if (read.error || !command)
        answer = ht_query_error (msg->token, read.error? read.error: HT_EINVAL, read.reason);
    else {
        bool audited = zlistx_size (read.subjects) > 0;
        if (audited && !(*audit_p = s_audit_draft (&read, request)))
            answer = ht_query_error (msg->token, HT_EAUDIT, "the audit record could not be made");
        else {
            json_object_set_new (reply, "count", json_integer ((json_int_t) read.count));
            json_object_set_new (reply, "purpose", *msg->purpose? json_string (msg->purpose)
                                                                : json_null ());
            json_object_set_new (reply, "audited", json_boolean (audited));
            json_object_set_new (reply, "emergency", read.emergency_used
                                 ? json_string (read.emergency_used): json_null ());
            answer = s_reply (command, msg->token, reply, &read.records);
        }
    }
    json_decref (reply);
    s_read_end (&read);
    return answer;
}

//  --------------------------------------------------------------------------
//  Change feeds

//  The kinds of a SUBSCRIBE ("elder,facility"; "": every kind the policy
//  shows records of) as a mask; 0 on an unknown or unreadable kind
static uint32_t
s_feed_kinds (const ht_policy_t *policy, const char *list, const char **reason)
{
    uint32_t kinds = 0;
    for (size_t index = 0; ht_schema_kind_at (index); index++) {
        const char *name = ht_schema_kind_at (index)->name;
        size_t length = strlen (name);
        const char *found = *list? strstr (list, name): NULL;
        bool listed = !*list
                   || (found && (found == list || found [-1] == ',')
                       && (found [length] == 0 || found [length] == ','));
        if (listed && ht_policy_kind_access (policy, name) >= HT_ACCESS_MASKED)
            kinds |= 1u << index;
        else
        if (listed && *list) {
            *reason = "the read policy shows no record of a kind asked for";
            return 0;
        }
    }
    //  Every name given must be a kind
    for (const char *cursor = list; *cursor; ) {
        size_t length = strcspn (cursor, ",");
        char name [HT_KIND_MAX_CHARS + 1];
        snprintf (name, sizeof name, "%.*s", (int) (length > HT_KIND_MAX_CHARS? 0: length),
                  cursor);
        if (!ht_schema_kind (name)) {
            *reason = "unknown record kind (`hutong schema` lists them)";
            return 0;
        }
        cursor += length + (cursor [length] == ',');
    }
    if (!kinds)
        *reason = "the read policy shows no record of any kind";
    return kinds;
}

int
ht_query_subscribe_check (ht_query_t *self, const ht_query_client_t *client,
                          const ht_msg_t *msg, uint32_t *kinds, const char **reason)
{
    s_read_t read = { .self = self, .client = client, .msg = msg };
    read.policy = ht_query_policy (self, &client->cert);
    if (*msg->purpose && !ht_purpose_find (msg->purpose)) {
        *reason = "unknown purpose code (`hutong purposes` lists them)";
        return HT_EPURPOSE;
    }
    if (!read.policy) {
        *reason = "no read policy for this client's certificate in this node's policy file";
        return HT_EPOLICY;
    }
    if (s_set_limit (&read) != HT_OK) {
        *reason = "the read policy's region lies outside this client's certificate";
        return HT_ESCOPE;
    }
    if (!(*kinds = s_feed_kinds (read.policy, msg->kind, reason)))
        return strstr (*reason, "unknown")? HT_EKIND: HT_EPOLICY;
    char code [HT_REGION_BYTES];
    if (s_request_region (&read, code) != HT_OK) {
        *reason = "region: a 12-digit code or a prefix of 2, 4, 6 or 9 digits";
        return HT_EREGION;
    }
    if (!ht_region_covers (read.limit, code) && !ht_region_covers (code, read.limit)) {
        *reason = "the region is outside this client's jurisdiction";
        return HT_ESCOPE;
    }
    if (*msg->field) {
        const ht_kind_t *kind = __builtin_popcount (*kinds) == 1
            ? ht_schema_kind_at ((size_t) __builtin_ctz (*kinds)): NULL;
        int index = kind? ht_schema_field_index (kind, msg->field): -1;
        if (index < 0 || !kind->fields [index].indexed) {
            *reason = "field: an indexed field of the one kind subscribed to";
            return HT_EFIELD;
        }
        if (read.policy->access [kind->fields [index].group] < HT_ACCESS_FULL) {
            *reason = "the read policy does not show this field, so it cannot filter by it";
            return HT_EPOLICY;
        }
    }
    for (size_t index = 0; ht_schema_kind_at (index); index++)
        if ((*kinds & (1u << index))
        &&  s_kind_shows_personal (read.policy, ht_schema_kind_at (index))) {
            int rc = ht_policy_check_purpose (read.policy, msg->purpose, reason);
            if (rc != HT_OK)
                return rc;
            break;
        }
    return HT_OK;
}

//  Does the record match the subscription's field filter?
static bool
s_feed_field_matches (const ht_record_t *record, const char *field, const char *value)
{
    const char *text = ht_record_get_str (record, field);
    if (text)
        return streq (text, value);
    size_t count = ht_record_get_strs_count (record, field);
    for (size_t index = 0; index < count; index++)
        if (streq (ht_record_get_strs_item (record, field, index), value))
            return true;
    int64_t number;
    char digits [24];
    if (ht_record_get_int (record, field, &number)) {
        snprintf (digits, sizeof digits, "%" PRId64, number);
        return streq (digits, value);
    }
    return false;
}

//  Change-log visitor: the next event, or stop before it (no credit, or
//  it would mix kinds in one batch's audit record)
static int
s_feed_each (void *arg, uint64_t seq, const uint8_t *data, size_t size, const char *origin)
{
    (void) origin;
    s_read_t *read = (s_read_t *) arg;
    //  Kind and region from the header first: what the subscription does
    //  not want costs no decoding
    ht_record_head_t head;
    const ht_kind_t *head_kind = ht_record_peek (data, size, &head) == HT_OK
                               ? ht_schema_kind (head.kind): NULL;
    int kind_index = -1;
    for (size_t at = 0; head_kind && ht_schema_kind_at (at); at++)
        if (ht_schema_kind_at (at) == head_kind)
            kind_index = (int) at;
    if (kind_index < 0 || !(read->kinds & (1u << kind_index))
    ||  (read->prefix && !ht_region_covers (read->prefix, head.region))) {
        read->last_seq = seq;
        return 0;
    }
    ht_record_t *record = ht_record_decode (data, size, NULL, NULL);
    if (!record) {
        read->last_seq = seq;           //  cannot happen: stored records decode
        return 0;
    }
    const ht_kind_t *kind = ht_record_schema (record);
    //  A tombstone has no fields: it goes to field-filtered feeds too, so
    //  a partner holding the entity learns it is gone
    bool wanted = !*read->msg->field || ht_record_deleted (record)
               || s_feed_field_matches (record, read->msg->field, read->msg->value);
    int stop = 0;
    if (wanted && read->credit == 0)
        stop = 1;
    else
    if (wanted) {
        int rc = s_show (read, record, NULL);
        if (rc == S_OTHER_KIND)
            stop = 1;
        else
        if (rc == HT_OK) {
            json_array_append_new (read->events, json_pack ("{s:I, s:s, s:s, s:b}",
                "seq", (json_int_t) seq, "kind", kind->name, "key", ht_record_key (record),
                "deleted", ht_record_deleted (record)));
            read->credit--;
        }
        read->error = 0;                //  a record it may not see is skipped
    }
    if (!stop)
        read->last_seq = seq;
    else
        read->stopped = true;
    ht_record_destroy (&record);
    return stop;
}

zmsg_t *
ht_query_events (ht_query_t *self, const ht_query_client_t *client, const ht_msg_t *subscribe,
                 uint32_t kinds, uint64_t after_seq, size_t credit, uint64_t now_ms,
                 ht_record_t **audit_p, uint64_t *next_seq)
{
    *audit_p = NULL;
    s_read_t read = { .self = self, .client = client, .msg = subscribe, .now_ms = now_ms,
                      .kinds = kinds, .credit = credit > HT_QUERY_MAX_PAGE? HT_QUERY_MAX_PAGE
                                                                         : credit,
                      .last_seq = after_seq };
    read.policy = ht_query_policy (self, &client->cert);
    *next_seq = after_seq;
    if (!read.policy || s_set_limit (&read) != HT_OK)
        return NULL;
    char code [HT_REGION_BYTES];
    if (*subscribe->region && s_request_region (&read, code) == HT_OK)
        read.prefix = code;
    ht_store_list (self->store, "emergency", "", NULL, 0, s_collect_emergency, &read);
    read.records = zmsg_new ();
    read.events = json_array ();
    s_subjects_new (&read);
    //  The holder rule on the log's routing heads is the visibility rule:
    //  what the client may not see costs no record read
    uint64_t examined = after_seq;
    ht_store_changes_for (self->store, after_seq, HT_QUERY_FEED_SCAN, read.limit, NULL, 0,
                          s_feed_each, &read, &examined);
    //  Past every entry examined, those the holder rule skipped before
    //  the visitor saw them included; unless the visitor stopped before
    //  one it must send next time
    *next_seq = read.stopped || examined < read.last_seq? read.last_seq: examined;
    zmsg_t *answer = NULL;
    if (read.count) {
        bool audited = zlistx_size (read.subjects) > 0;
        if (audited)
            *audit_p = s_audit_draft (&read, "feed");
        if (*audit_p)
            ht_record_set_int (*audit_p, "events", (int64_t) read.count) == HT_OK
                ? (void) 0: ht_record_destroy (audit_p);
        if (audited && !*audit_p)
            *next_seq = after_seq;      //  not audited: not sent, tried again
        else {
            char epoch [2 * HT_EPOCH_BYTES + 1];
            json_t *reply = json_pack ("{s:s, s:I, s:I, s:o, s:s, s:b, s:o}",
                "epoch", ht_hex_encode (ht_store_epoch (self->store), HT_EPOCH_BYTES, epoch),
                "from", (json_int_t) after_seq, "cursor", (json_int_t) *next_seq,
                "events", read.events,
                "policy", read.policy->name, "audited", audited,
                "emergency", read.emergency_used? json_string (read.emergency_used): json_null ());
            read.events = NULL;
            answer = s_reply (HT_MSG_EVENTS, subscribe->token, reply, &read.records);
            json_decref (reply);
        }
    }
    s_read_end (&read);
    return answer;
}
