//  ht_policy: read policies as data (conf/policy.cfg, built in as the
//  default), purposes, and the redactor.
#include <czmq.h>
#include "ht_policy.h"
#include "ht_policy_default.h"      //  s_default_text: conf/policy.cfg
#include "ht_valid.h"

struct _ht_policyset_t {
    ht_policy_t policies [HT_POLICY_MAX];
    size_t count;
};

//  --------------------------------------------------------------------------
//  Purposes

static const ht_purpose_t s_purposes [] = {
    { "subsidy_review",     "补贴审核 subsidy eligibility and payment review", true },
    { "care_service",       "养老服务 providing or referring care services", true },
    { "assessment",         "能力评估 ability and care-level assessment", true },
    { "inspection",         "监督检查 supervision and inspection", true },
    { "emergency_response", "应急处置 emergency response", true },
    { "medical_insurance",  "医保经办 medical insurance handling", true },
    { "audit_review",       "审计监督 reviewing who read whom", true },
    { "statistics",         "统计分析 statistics (never personal fields)", false },
    { "operations",         "运维 running the node (never personal fields)", false },
};
#define S_PURPOSE_COUNT (sizeof (s_purposes) / sizeof (s_purposes [0]))

const ht_purpose_t *
ht_purpose_find (const char *code)
{
    for (size_t index = 0; code && index < S_PURPOSE_COUNT; index++)
        if (streq (s_purposes [index].code, code))
            return &s_purposes [index];
    return NULL;
}

const ht_purpose_t *
ht_purpose_at (size_t index)
{
    return index < S_PURPOSE_COUNT? &s_purposes [index]: NULL;
}

//  --------------------------------------------------------------------------
//  Access names

static const char *const s_access_names [] = { "none", "count", "masked", "full" };

int
ht_access_parse (const char *name)
{
    for (int index = HT_ACCESS_NONE; name && index <= HT_ACCESS_FULL; index++)
        if (streq (s_access_names [index], name))
            return index;
    return -1;
}

const char *
ht_access_name (ht_access_t access)
{
    return access <= HT_ACCESS_FULL? s_access_names [access]: "?";
}

//  --------------------------------------------------------------------------
//  Loading

static ht_policyset_t *
s_fail (ht_policyset_t *self, char *error, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    if (error && size)
        vsnprintf (error, size, format, args);
    va_end (args);
    free (self);
    return NULL;
}

//  Set bits in *mask for each space-separated word of list; the index of
//  each word comes from lookup (-1: unknown, its word copied to bad)
static bool
s_parse_words (const char *list, int (*lookup) (const char *word), uint32_t *mask,
               char *bad, size_t bad_size)
{
    char word [64];
    *mask = 0;
    const char *cursor = list;
    while (*cursor) {
        cursor += strspn (cursor, " ,");
        size_t length = strcspn (cursor, " ,");
        if (length == 0)
            break;
        snprintf (word, sizeof word, "%.*s", (int) length, cursor);
        int index = length < sizeof word? lookup (word): -1;
        if (index < 0) {
            snprintf (bad, bad_size, "%.*s", (int) (length > 60? 60: length), cursor);
            return false;
        }
        *mask |= 1u << index;
        cursor += length;
    }
    return true;
}

static int
s_kind_index (const char *word)
{
    for (size_t index = 0; ht_schema_kind_at (index); index++)
        if (streq (ht_schema_kind_at (index)->name, word))
            return (int) index;
    return -1;
}

static int
s_purpose_index (const char *word)
{
    const ht_purpose_t *purpose = ht_purpose_find (word);
    return purpose? (int) (purpose - s_purposes): -1;
}

static int
s_group_index (const char *name)
{
    for (int group = 0; group < HT_GROUP_COUNT; group++)
        if (streq (ht_group_name ((ht_group_t) group), name))
            return group;
    return -1;
}

//  One policy section into policy; NULL, or a problem (written to problem)
static const char *
s_parse_policy (zconfig_t *section, ht_policy_t *policy, char *problem, size_t size)
{
    const char *name = zconfig_name (section);
    if (strlen (name) >= sizeof policy->name || strspn (name, "abcdefghijklmnopqrstuvwxyz_0123456789")
                                                != strlen (name)) {
        snprintf (problem, size, "policy name '%.40s' is not 1-31 of a-z 0-9 _", name);
        return problem;
    }
    snprintf (policy->name, sizeof policy->name, "%s", name);
    bool has_kinds = false;
    char bad [64];
    for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
        const char *key = zconfig_name (item);
        const char *value = zconfig_value (item)? zconfig_value (item): "";
        if (streq (key, "summary"))
            snprintf (policy->summary, sizeof policy->summary, "%s", value);
        else
        if (streq (key, "kinds")) {
            has_kinds = true;
            if (!s_parse_words (value, s_kind_index, &policy->kinds, bad, sizeof bad)) {
                snprintf (problem, size, "policy/%s/kinds: unknown kind '%s'", name, bad);
                return problem;
            }
        }
        else
        if (streq (key, "purposes")) {
            if (!s_parse_words (value, s_purpose_index, &policy->purposes, bad, sizeof bad)) {
                snprintf (problem, size, "policy/%s/purposes: unknown purpose '%s' "
                          "(`hutong purposes` lists them)", name, bad);
                return problem;
            }
        }
        else
        if (streq (key, "region")) {
            size_t length = strlen (value);
            char code [HT_REGION_BYTES];
            if (length > HT_REGION_DIGITS || strspn (value, "0123456789") != length
            ||  ht_region_from_prefix (value, code) != HT_OK || !ht_region_valid (code)) {
                snprintf (problem, size, "policy/%s/region: '%.20s' is not a region code or "
                          "prefix (2, 4, 6, 9 or 12 digits)", name, value);
                return problem;
            }
            snprintf (policy->region, sizeof policy->region, "%s", value);
        }
        else
        if (streq (key, "access")) {
            for (zconfig_t *group = zconfig_child (item); group; group = zconfig_next (group)) {
                int index = s_group_index (zconfig_name (group));
                int access = ht_access_parse (zconfig_value (group));
                if (index < 0) {
                    snprintf (problem, size, "policy/%s/access: unknown field group '%.40s' "
                              "(`hutong schema` names them)", name, zconfig_name (group));
                    return problem;
                }
                if (access < 0) {
                    snprintf (problem, size, "policy/%s/access/%s: '%.20s' is not none, count, "
                              "masked or full", name, zconfig_name (group),
                              zconfig_value (group)? zconfig_value (group): "");
                    return problem;
                }
                policy->access [index] = (ht_access_t) access;
            }
        }
        else {
            snprintf (problem, size, "policy/%s: unknown key '%.40s' (summary, kinds, "
                      "purposes, region, access)", name, key);
            return problem;
        }
    }
    if (!has_kinds) {
        snprintf (problem, size, "policy/%s: kinds is required", name);
        return problem;
    }
    return NULL;
}

ht_policyset_t *
ht_policyset_parse (const char *text, char *error, size_t error_size)
{
    ht_policyset_t *self = (ht_policyset_t *) zmalloc (sizeof (ht_policyset_t));
    zconfig_t *root = text? zconfig_str_load (text): NULL;
    if (!root)
        return s_fail (self, error, error_size,
                       "not valid ZPL (indent 4 spaces per level, 'name = value')");
    char problem [256] = "";
    zconfig_t *top = zconfig_child (root);
    for (; top && !*problem; top = zconfig_next (top)) {
        if (!streq (zconfig_name (top), "policy")) {
            snprintf (problem, sizeof problem, "unknown section '%.40s' (expected policy)",
                      zconfig_name (top));
            break;
        }
        for (zconfig_t *section = zconfig_child (top); section && !*problem;
             section = zconfig_next (section)) {
            if (self->count == HT_POLICY_MAX)
                snprintf (problem, sizeof problem, "more than %d policies", HT_POLICY_MAX);
            else
            if (ht_policyset_find (self, zconfig_name (section)))
                snprintf (problem, sizeof problem, "policy/%.40s is defined twice",
                          zconfig_name (section));
            else
                s_parse_policy (section, &self->policies [self->count++], problem,
                                sizeof problem);
        }
    }
    zconfig_destroy (&root);
    if (*problem)
        return s_fail (self, error, error_size, "%s", problem);
    if (self->count == 0)
        return s_fail (self, error, error_size, "no policy section");
    return self;
}

ht_policyset_t *
ht_policyset_load (const char *path, char *error, size_t error_size)
{
    zchunk_t *chunk = path? zchunk_slurp (path, 0): NULL;
    char *text = chunk? zchunk_strdup (chunk): NULL;
    zchunk_destroy (&chunk);
    if (!text) {
        if (error && error_size)
            snprintf (error, error_size, "cannot read %s: %s", path? path: "(none)",
                      strerror (errno));
        return NULL;
    }
    char problem [300];
    ht_policyset_t *self = ht_policyset_parse (text, problem, sizeof problem);
    zstr_free (&text);
    if (!self && error && error_size)
        snprintf (error, error_size, "%s: %s", path, problem);
    return self;
}

void
ht_policyset_destroy (ht_policyset_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  The built-in set, parsed once (the text is ours: it always parses;
//  test_policy checks that)
static ht_policyset_t *s_default;
static void
s_default_parse (void)
{
    char error [300];
    s_default = ht_policyset_parse (s_default_text, error, sizeof error);
    if (!s_default) {
        fprintf (stderr, "ht_policy: built-in policy.cfg does not parse: %s\n", error);
        abort ();
    }
}

const ht_policyset_t *
ht_policyset_default (void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once (&once, s_default_parse);
    return s_default;
}

const ht_policy_t *
ht_policyset_find (const ht_policyset_t *self, const char *name)
{
    if (!self)
        self = ht_policyset_default ();
    for (size_t index = 0; name && index < self->count; index++)
        if (streq (self->policies [index].name, name))
            return &self->policies [index];
    return NULL;
}

const ht_policy_t *
ht_policyset_at (const ht_policyset_t *self, size_t index)
{
    if (!self)
        self = ht_policyset_default ();
    return index < self->count? &self->policies [index]: NULL;
}

const ht_policy_t *
ht_policy_find (const char *name)
{
    return ht_policyset_find (NULL, name);
}

const ht_policy_t *
ht_policy_at (size_t index)
{
    return ht_policyset_at (NULL, index);
}

//  --------------------------------------------------------------------------
//  Decisions

bool
ht_policy_permits_kind (const ht_policy_t *policy, const char *kind)
{
    int index = s_kind_index (kind? kind: "");
    return index >= 0 && (policy->kinds & (1u << index));
}

ht_access_t
ht_policy_kind_access (const ht_policy_t *policy, const char *kind)
{
    const ht_kind_t *schema = ht_schema_kind (kind? kind: "");
    if (!schema || !ht_policy_permits_kind (policy, kind))
        return HT_ACCESS_NONE;
    ht_access_t most = HT_ACCESS_NONE;
    for (size_t index = 0; index < schema->field_count; index++) {
        ht_access_t access = policy->access [schema->fields [index].group];
        if (access > most)
            most = access;
    }
    return most;
}

int
ht_policy_check_purpose (const ht_policy_t *policy, const char *code, const char **reason)
{
    if (!code || !*code) {
        *reason = "this read would disclose personal fields: name a purpose "
                  "(`hutong purposes` lists them)";
        return HT_ENOPURPOSE;
    }
    const ht_purpose_t *purpose = ht_purpose_find (code);
    if (!purpose) {
        *reason = "unknown purpose code (`hutong purposes` lists them)";
        return HT_EPURPOSE;
    }
    if (!purpose->personal) {
        *reason = "this purpose never justifies personal fields; ask for counts instead";
        return HT_EPURPOSE;
    }
    if (!(policy->purposes & (1u << (purpose - s_purposes)))) {
        *reason = "the read policy does not allow personal fields for this purpose";
        return HT_EPURPOSE;
    }
    return HT_OK;
}

//  --------------------------------------------------------------------------
//  Redaction

//  Has the record a value for field (full form)?
static bool
s_has_value (const ht_record_t *record, const ht_field_t *field)
{
    return ht_record_field_state (record, field->name) == HT_FIELD_PRESENT;
}

//  Will the field show a mask? (Masks are for texts long enough that
//  the mask hides most of them; "a*****" for active or "张*" would not)
static bool
s_shows_mask (const ht_record_t *record, const ht_field_t *field)
{
    const char *text = ht_record_get_str (record, field->name);
    return text && ht_utf8_chars (text) >= HT_POLICY_MASK_MIN_CHARS;
}

void
ht_policy_view (const ht_policy_t *policy, const ht_record_t *record, ht_policy_view_t *view)
{
    memset (view, 0, sizeof (*view));
    const ht_kind_t *kind = ht_record_schema (record);
    uint16_t version = ht_record_schema_version (record);
    for (size_t index = 0; index < kind->field_count; index++) {
        const ht_field_t *field = &kind->fields [index];
        if (!ht_schema_field_in_version (field, version))
            continue;               //  the record has no such field
        ht_access_t access = policy->access [field->group];
        if (access >= HT_ACCESS_MASKED)
            view->visible++;
        bool personal = field->sens == HT_SENS_PI || field->sens == HT_SENS_S;
        if (!personal || !s_has_value (record, field))
            continue;
        if (access == HT_ACCESS_FULL)
            view->disclosed [view->disclosed_count++] = field->name;
        else
        if (access == HT_ACCESS_MASKED && s_shows_mask (record, field))
            view->masked [view->masked_count++] = field->name;
    }
    view->personal = view->disclosed_count + view->masked_count > 0;
}

const char *
ht_policy_mask_text (const char *text, char *mask, size_t size)
{
    if (size == 0)
        return mask;
    //  Count characters (input was validated as UTF-8 on the way in);
    //  every one is counted, so the tail is the text's true tail
    size_t count = 0, length = strlen (text);
    for (size_t offset = 0; offset < length;
         offset += ht_utf8_char_bytes ((unsigned char) text [offset]))
        count++;
    //  ID numbers keep 6 + 4 (441802********0317), phones 3 + 4
    //  (138****5678); shorter texts only their first half (1940****)
    size_t head = count >= 15? 6: count >= 11? 3: count / 2;
    size_t tail = count >= 11? 4: 0;
    if (count <= 1)
        head = 0;
    size_t used = 0, offset = 0;
    for (size_t index = 0; index < count && used + 5 < size; index++) {
        size_t width = ht_utf8_char_bytes ((unsigned char) text [offset]);
        if (width > length - offset)
            width = length - offset;
        if (index < head || index >= count - tail) {
            memcpy (mask + used, text + offset, width);
            used += width;
        }
        else
            mask [used++] = '*';
        offset += width;
    }
    mask [used] = 0;
    return mask;
}



ht_record_t *
ht_policy_redact (const ht_policy_t *policy, const ht_record_t *record, int *error_p)
{
    int ignored;
    int *error = error_p? error_p: &ignored;
    const ht_kind_t *kind = ht_record_schema (record);
    const char *disclose [HT_FIELD_MAX_COUNT];
    size_t disclosed = 0, fields = 0;
    uint16_t version = ht_record_schema_version (record);
    ht_policy_view_t view;
    ht_policy_view (policy, record, &view);
    if (view.visible == 0 || !ht_policy_permits_kind (policy, kind->name)) {
        *error = HT_EPOLICY;
        return NULL;
    }
    for (size_t index = 0; index < kind->field_count; index++) {
        if (!ht_schema_field_in_version (&kind->fields [index], version))
            continue;
        fields++;
        if (policy->access [kind->fields [index].group] == HT_ACCESS_FULL)
            disclose [disclosed++] = kind->fields [index].name;
    }
    ht_record_t *copy = disclosed == fields
                      ? ht_record_dup (record)
                      : ht_record_redact (record, disclose, disclosed);
    for (size_t index = 0; copy && index < kind->field_count; index++) {
        const ht_field_t *field = &kind->fields [index];
        if (policy->access [field->group] == HT_ACCESS_MASKED && s_shows_mask (record, field)) {
            char mask [256];
            ht_policy_mask_text (ht_record_get_str (record, field->name), mask, sizeof mask);
            if (ht_record_set_mask (copy, field->name, mask))
                ht_record_destroy (&copy);
        }
    }
    *error = copy? HT_OK: HT_EINVAL;
    return copy;
}
