//  ht_schema: the schema registry. Each kind is a table of fields, sorted
//  bytewise by name (the order field digests are signed in; a unit test
//  checks it). Field rules come from DOMAIN.md §3.
#include <czmq.h>
#include <time.h>
#include "ht_schema.h"
#include "ht_record.h"
#include "ht_valid.h"
#include "ht_hlc.h"

//  Validator adapters with the ht_text_check_fn shape
static int
s_check_uscc (const char *text, const char **reason)
{
    return ht_valid_uscc (text, NULL, reason);
}

static int
s_check_key (const char *text, const char **reason)
{
    size_t length = strlen (text);
    if (length == 0 || length > HT_KEY_MAX_CHARS
    ||  strspn (text, "0123456789abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.:-") != length) {
        *reason = "not a record key (1-64 of 0-9 A-Z a-z _ . : -)";
        return HT_ESCHEMA;
    }
    return HT_OK;
}

static int
s_check_kind (const char *text, const char **reason)
{
    if (!ht_schema_kind (text)) {
        *reason = "unknown record kind";
        return HT_ESCHEMA;
    }
    return HT_OK;
}

#define S_CHOICES(...)  (const char *const []) { __VA_ARGS__, NULL }

//  Field shorthand: name, type, required, subtypes, sensitivity, group,
//  indexed, check, choices, min, max
#define F(name, type, req, sub, sens, group, idx, check, choices, min, max) \
    { name, type, req, sub, sens, group, idx, check, choices, min, max }

#define P   HT_SENS_P
#define I   HT_SENS_I
#define PI  HT_SENS_PI
#define S   HT_SENS_S
#define STR HT_TYPE_STR
#define INT HT_TYPE_INT
#define BOOL HT_TYPE_BOOL
#define STRS HT_TYPE_STRS
#define BIN HT_TYPE_BIN
#define G_PUB HT_GROUP_PUBLIC
#define G_FI HT_GROUP_FACILITY_I
#define G_CI HT_GROUP_CREDIT_I
#define G_ID HT_GROUP_IDENTITY
#define G_NO HT_GROUP_ID_NO
#define G_CAT HT_GROUP_CATEGORIES
#define G_AB HT_GROUP_ABILITY

static const char *const s_id_types [] = {
    "居民身份证", "港澳台居民居住证", "外国人永久居留身份证", NULL };
static const char *const s_living [] = {
    "独居", "空巢", "留守", "family", "institution", NULL };
static const char *const s_categories [] = {
    "特困", "低保", "低收入", "优抚", "重度残疾", "计生特殊家庭", NULL };
static const char *const s_elder_status [] = {
    "active", "deceased", "moved", NULL };

//  elder (老年人基本信息): region = responsible community
static const ht_field_t s_elder_fields [] = {
    F ("ability_level",    INT,  false, NULL, S,  G_AB,  false, NULL, NULL, 0, 4),
    F ("address",          STR,  false, NULL, PI, G_ID,  false, NULL, NULL, 1, 200),
    F ("birth_date",       STR,  true,  NULL, PI, G_ID,  false, ht_valid_date, NULL, 8, 8),
    F ("care_level",       INT,  false, NULL, S,  G_AB,  false, NULL, NULL, 0, 4),
    F ("categories",       STRS, false, NULL, S,  G_CAT, true,  NULL, s_categories, 0, 6),
    F ("contact",          STR,  false, NULL, PI, G_ID,  false, NULL, NULL, 1, 100),
    F ("ethnicity",        STR,  false, NULL, S,  G_CAT, false, NULL, NULL, 1, 20),
    F ("facility",         STR,  false, NULL, PI, G_ID,  true,  s_check_key, NULL, 1, 64),
    F ("hukou_region",     STR,  true,  NULL, PI, G_ID,  true,  ht_valid_region, NULL, 12, 12),
    F ("id_no",            STR,  true,  NULL, S,  G_NO,  false, NULL, NULL, 6, 32),
    F ("id_type",          STR,  true,  NULL, I,  G_ID,  false, NULL, s_id_types, 1, 20),
    F ("living",           STR,  false, NULL, PI, G_ID,  true,  NULL, s_living, 1, 20),
    F ("name",             STR,  true,  NULL, PI, G_ID,  false, NULL, NULL, 1, 50),
    F ("phone",            STR,  false, NULL, PI, G_ID,  false, ht_valid_phone, NULL, 1, 20),
    F ("residence_region", STR,  false, NULL, PI, G_ID,  true,  ht_valid_region, NULL, 12, 12),
    F ("sex",              INT,  true,  NULL, PI, G_ID,  false, NULL, NULL, 1, 2),
    F ("status",           STR,  true,  NULL, PI, G_ID,  true,  NULL, s_elder_status, 1, 20),
    F ("status_date",      STR,  false, NULL, PI, G_ID,  false, ht_valid_date, NULL, 8, 8),
};

static const char *const s_facility_types [] = {
    "institution", "street_center", "community_station", "village_point",
    "meal_point", NULL };
static const char *const s_ownership [] = {
    "公办", "公建民营", "民办公助", "民办", NULL };
static const char *const s_profit [] = { "营利", "非营利", NULL };
static const char *const s_facility_status [] = {
    "open", "suspended", "closed", NULL };

//  facility (养老服务设施/机构): region = location
static const ht_field_t s_facility_fields [] = {
    F ("address",              STR,  false, NULL, P, G_PUB, false, NULL, NULL, 1, 200),
    F ("area",                 INT,  false, NULL, P, G_PUB, false, NULL, NULL, 0, INT64_MAX),
    F ("beds_nursing",         INT,  false, NULL, P, G_PUB, false, NULL, NULL, 0, 100000),
    F ("beds_total",           INT,  false, NULL, P, G_PUB, false, NULL, NULL, 0, 100000),
    F ("clinic",               BOOL, false, NULL, P, G_PUB, false, NULL, NULL, 0, 0),
    F ("filing_date",          STR,  false, NULL, P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("filing_no",            STR,  false, NULL, P, G_PUB, false, NULL, NULL, 1, 64),
    F ("geo_lat",              INT,  false, NULL, P, G_PUB, false, NULL, NULL, -90000000, 90000000),
    F ("geo_lon",              INT,  false, NULL, P, G_PUB, false, NULL, NULL, -180000000, 180000000),
    F ("insurance_designated", BOOL, false, NULL, P, G_PUB, false, NULL, NULL, 0, 0),
    F ("name",                 STR,  true,  NULL, P, G_PUB, true,  NULL, NULL, 1, 100),
    F ("operator_uscc",        STR,  false, NULL, P, G_PUB, true,  s_check_uscc, NULL, 18, 18),
    F ("ownership",            STR,  false, NULL, P, G_PUB, true,  NULL, s_ownership, 1, 20),
    F ("parent_center",        STR,  false, NULL, P, G_PUB, true,  s_check_key, NULL, 1, 64),
    F ("person_in_charge",     STR,  false, NULL, P, G_PUB, false, NULL, NULL, 1, 50),
    F ("phone",                STR,  false, NULL, P, G_PUB, false, ht_valid_phone, NULL, 1, 20),
    F ("profit",               STR,  false, NULL, P, G_PUB, false, NULL, s_profit, 1, 20),
    F ("rating_level",         INT,  false, NULL, P, G_PUB, true,  NULL, NULL, 1, 5),
    F ("residents",            INT,  false, NULL, I, G_FI,  false, NULL, NULL, 0, 100000),
    F ("residents_disabled",   INT,  false, NULL, I, G_FI,  false, NULL, NULL, 0, 100000),
    F ("serial",               STR,  false, NULL, P, G_PUB, false, NULL, NULL, 1, 32),
    F ("services",             STRS, false, NULL, P, G_PUB, false, NULL, NULL, 0, 32),
    F ("staff",                INT,  false, NULL, I, G_FI,  false, NULL, NULL, 0, 100000),
    F ("status",               STR,  true,  NULL, P, G_PUB, true,  NULL, s_facility_status, 1, 20),
    F ("type",                 STR,  true,  NULL, P, G_PUB, true,  NULL, s_facility_types, 1, 20),
    F ("uscc",                 STR,  false, NULL, P, G_PUB, true,  s_check_uscc, NULL, 18, 18),
};

static const char *const s_credit_types [] = {
    "inspection", "penalty", "rectification", "rating", "list_entry", NULL };
static const char *const s_methods [] = {
    "双随机", "targeted", "complaint", "joint", NULL };
static const char *const s_results [] = {
    "合格", "责令整改", "不合格", "拒检", NULL };
static const char *const s_penalty_types [] = {
    "警告", "罚款", "停业整顿", "吊销", NULL };
static const char *const s_outcomes [] = { "done", "partial", "overdue", NULL };
static const char *const s_lists [] = { "joint_punishment", "watch", NULL };
static const char *const s_grounds [] = {
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", NULL };
static const char *const s_list_status [] = {
    "notice", "listed", "removed", NULL };

#define INSP "inspection"
#define PEN "penalty"
#define RECT "rectification"
#define RAT "rating"
#define LIST "list_entry"

//  credit (信用监管): region = the subject's region, scope = the issuer's
static const ht_field_t s_credit_fields [] = {
    F ("actions",         STR,  true,  RECT, P, G_PUB, false, NULL, NULL, 1, 2000),
    F ("checklist",       STRS, false, INSP, P, G_PUB, false, NULL, NULL, 0, 64),
    F ("date",            STR,  true,  NULL, P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("deadline",        STR,  false, INSP " " RECT, P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("decision_no",     STR,  false, PEN " " LIST, P, G_PUB, true, NULL, NULL, 1, 64),
    F ("departments",     STRS, false, INSP, P, G_PUB, false, NULL, NULL, 0, 16),
    F ("doc_no",          STR,  true,  NULL, P, G_PUB, true,  NULL, NULL, 1, 64),
    F ("facts",           STR,  false, LIST, P, G_PUB, false, NULL, NULL, 1, 4000),
    F ("fine",            INT,  false, PEN,  P, G_PUB, false, NULL, NULL, 0, INT64_MAX),
    F ("grounds",         STRS, false, LIST, P, G_PUB, false, NULL, s_grounds, 1, 10),
    F ("inspectors",      STRS, false, INSP, I, G_CI,  false, NULL, NULL, 0, 16),
    F ("issuer_dept",     STR,  true,  NULL, P, G_PUB, true,  NULL, NULL, 1, 32),
    F ("issuer_region",   STR,  true,  NULL, P, G_PUB, true,  ht_valid_region, NULL, 12, 12),
    F ("legal_basis",     STR,  false, PEN,  P, G_PUB, false, NULL, NULL, 1, 500),
    F ("level",           STR,  false, RAT,  P, G_PUB, false, NULL, NULL, 1, 20),
    F ("list",            STR,  false, LIST, P, G_PUB, true,  NULL, s_lists, 1, 20),
    F ("listed_on",       STR,  false, LIST, P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("method",          STR,  false, INSP, P, G_PUB, false, NULL, s_methods, 1, 20),
    F ("notice_on",       STR,  false, LIST, P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("objection",       STR,  false, LIST, P, G_PUB, false, NULL, NULL, 1, 2000),
    F ("outcome",         STR,  false, RECT, P, G_PUB, false, NULL, s_outcomes, 1, 20),
    F ("penalty_types",   STRS, false, PEN,  P, G_PUB, false, NULL, s_penalty_types, 1, 4),
    F ("plan_no",         STR,  false, INSP, P, G_PUB, false, NULL, NULL, 1, 64),
    F ("publicity_from",  STR,  false, PEN,  P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("publicity_until", STR,  false, PEN,  P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("published_on",    STR,  false, INSP, P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("ref",             STR,  false, RECT, P, G_PUB, true,  s_check_key, NULL, 1, 64),
    F ("removal_reason",  STR,  false, LIST, P, G_PUB, false, NULL, NULL, 1, 500),
    F ("removed_on",      STR,  false, LIST, P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("result",          STR,  false, INSP, P, G_PUB, true,  NULL, s_results, 1, 20),
    F ("scheme",          STR,  false, RAT,  P, G_PUB, false, NULL, NULL, 1, 64),
    F ("status",          STR,  false, LIST, P, G_PUB, true,  NULL, s_list_status, 1, 20),
    F ("subject_facility",STR,  false, NULL, P, G_PUB, true,  s_check_key, NULL, 1, 64),
    F ("subject_id_no",   STR,  false, NULL, S, G_NO,  false, NULL, NULL, 6, 32),
    F ("subject_name",    STR,  true,  NULL, P, G_PUB, true,  NULL, NULL, 1, 100),
    F ("subject_uscc",    STR,  false, NULL, P, G_PUB, true,  s_check_uscc, NULL, 18, 18),
    F ("type",            STR,  true,  NULL, P, G_PUB, true,  NULL, s_credit_types, 1, 20),
    F ("valid_until",     STR,  false, RAT,  P, G_PUB, false, ht_valid_date, NULL, 8, 8),
    F ("verified_on",     STR,  false, RECT, P, G_PUB, false, ht_valid_date, NULL, 8, 8),
};

static const char *const s_roles [] = { "node", "department", "partner", NULL };

//  cert: key = hex(pubkey), region = the subject's jurisdiction
static const ht_field_t s_cert_fields [] = {
    F ("department", STR,  false, NULL, P, G_PUB, true,  NULL, NULL, 1, 31),
    F ("kinds",      STRS, true,  NULL, P, G_PUB, false, s_check_kind, NULL, 1, 16),
    F ("name",       STR,  true,  NULL, P, G_PUB, false, NULL, NULL, 1, 63),
    F ("not_after",  INT,  true,  NULL, P, G_PUB, false, NULL, NULL, 0, INT64_MAX),
    F ("not_before", INT,  true,  NULL, P, G_PUB, false, NULL, NULL, 0, INT64_MAX),
    F ("policy",     STR,  false, NULL, P, G_PUB, false, NULL, NULL, 1, 31),
    F ("pubkey",     BIN,  true,  NULL, P, G_PUB, false, NULL, NULL, 0, 32),
    F ("role",       STR,  true,  NULL, P, G_PUB, true,  NULL, s_roles, 1, 20),
};

//  revocation: key = hex(pubkey) of the revoked key
static const ht_field_t s_revocation_fields [] = {
    F ("pubkey",     BIN,  true,  NULL, P, G_PUB, false, NULL, NULL, 0, 32),
    F ("reason",     STR,  false, NULL, P, G_PUB, false, NULL, NULL, 1, 500),
    F ("revoked_at", INT,  true,  NULL, P, G_PUB, false, NULL, NULL, 0, INT64_MAX),
};

//  Cross-field rules
static int s_elder_check (const ht_record_t *record, const char **reason);
static int s_facility_check (const ht_record_t *record, const char **reason);
static int s_credit_check (const ht_record_t *record, const char **reason);
static int s_cert_check (const ht_record_t *record, const char **reason);

#define KIND_FIELDS(table) table, sizeof (table) / sizeof (table [0])

static const ht_kind_t s_kinds [] = {
    { "cert", KIND_FIELDS (s_cert_fields), NULL, HT_SCOPE_REGION,
      HT_KEY_HEX, "pubkey", NULL, s_cert_check },
    { "credit", KIND_FIELDS (s_credit_fields), "type", HT_SCOPE_AUTHOR,
      HT_KEY_HASH, "type issuer_region issuer_dept doc_no", NULL, s_credit_check },
    { "elder", KIND_FIELDS (s_elder_fields), NULL, HT_SCOPE_REGION,
      HT_KEY_KEYED_HASH, "id_no", NULL, s_elder_check },
    { "facility", KIND_FIELDS (s_facility_fields), NULL, HT_SCOPE_COUNTY,
      HT_KEY_HASH, "uscc", "serial", s_facility_check },
    { "revocation", KIND_FIELDS (s_revocation_fields), NULL, HT_SCOPE_REGION,
      HT_KEY_HEX, "pubkey", NULL, NULL },
};

#define S_KIND_COUNT (sizeof (s_kinds) / sizeof (s_kinds [0]))

const ht_kind_t *
ht_schema_kind (const char *name)
{
    for (size_t index = 0; index < S_KIND_COUNT; index++)
        if (streq (s_kinds [index].name, name))
            return &s_kinds [index];
    return NULL;
}

const ht_kind_t *
ht_schema_kind_at (size_t index)
{
    return index < S_KIND_COUNT? &s_kinds [index]: NULL;
}

size_t
ht_schema_kind_count (void)
{
    return S_KIND_COUNT;
}

int
ht_schema_field_index (const ht_kind_t *kind, const char *name)
{
    //  Tables are short (< 50): a linear scan beats a hash here
    for (size_t index = 0; index < kind->field_count; index++)
        if (streq (kind->fields [index].name, name))
            return (int) index;
    return -1;
}

bool
ht_schema_field_in_subtype (const ht_field_t *field, const char *subtype)
{
    if (!field->subtypes || !subtype)
        return true;
    size_t length = strlen (subtype);
    if (length == 0)
        return false;               //  strstr finds "" everywhere: no progress
    const char *cursor = field->subtypes;
    while ((cursor = strstr (cursor, subtype)) != NULL) {
        bool starts = cursor == field->subtypes || cursor [-1] == ' ';
        bool ends = cursor [length] == '\0' || cursor [length] == ' ';
        if (starts && ends)
            return true;
        cursor += length;
    }
    return false;
}

const char *
ht_sens_name (ht_sens_t sens)
{
    static const char *const names [] = { "P", "I", "PI", "S" };
    return sens <= HT_SENS_S? names [sens]: "?";
}

const char *
ht_group_name (ht_group_t group)
{
    static const char *const names [HT_GROUP_COUNT] = {
        "public", "facility_internal", "credit_internal", "identity",
        "id_no", "categories", "ability", "subsidy" };
    return group < HT_GROUP_COUNT? names [group]: "?";
}

//  --------------------------------------------------------------------------
//  Cross-field rules. Withheld fields are skipped: the signature vouches
//  for them, and a redacted record must still validate.

#define S_ELDER_MIN_AGE 60          //  老年人权益保障法 Art. 2

static int
s_elder_check (const ht_record_t *record, const char **reason)
{
    const char *id_type = ht_record_get_str (record, "id_type");
    const char *id_no = ht_record_get_str (record, "id_no");
    const char *birth = ht_record_get_str (record, "birth_date");
    int64_t sex;
    bool have_sex = ht_record_get_int (record, "sex", &sex);

    if (id_no && id_type && streq (id_type, "居民身份证")) {
        if (ht_valid_citizen_id (id_no, 0, reason))
            return HT_ESCHEMA;
        if (have_sex && ht_citizen_id_sex (id_no) != sex) {
            *reason = "sex does not match the citizen ID (digit 17 odd = male)";
            return HT_ESCHEMA;
        }
        if (birth && ht_citizen_id_birth (id_no) != ht_date_parse (birth)) {
            *reason = "birth_date does not match the citizen ID (digits 7-14)";
            return HT_ESCHEMA;
        }
    }
    if (birth && ht_record_hlc (record)) {
        //  Age is judged at the record's own time, so replaying an old
        //  record later gives the same answer everywhere
        time_t seconds = (time_t) (ht_hlc_ms (ht_record_hlc (record)) / 1000);
        struct tm utc;
        gmtime_r (&seconds, &utc);
        uint32_t on = (uint32_t) ((utc.tm_year + 1900) * 10000
                                + (utc.tm_mon + 1) * 100 + utc.tm_mday);
        if (ht_date_age (ht_date_parse (birth), on) < S_ELDER_MIN_AGE) {
            *reason = "elder must be at least 60 years old";
            return HT_ESCHEMA;
        }
    }
    const char *status = ht_record_get_str (record, "status");
    if (status && !streq (status, "active")
    &&  ht_record_field_state (record, "status_date") == HT_FIELD_ABSENT) {
        *reason = "status_date is required when status is not active";
        return HT_ESCHEMA;
    }
    return HT_OK;
}

//  True if both INT fields are present and first > second
static bool
s_int_exceeds (const ht_record_t *record, const char *first, const char *second)
{
    int64_t a, b;
    return ht_record_get_int (record, first, &a)
        && ht_record_get_int (record, second, &b) && a > b;
}

//  True if both date fields are present and first is after second
static bool
s_date_after (const ht_record_t *record, const char *first, const char *second)
{
    const char *a = ht_record_get_str (record, first);
    const char *b = ht_record_get_str (record, second);
    return a && b && strcmp (a, b) > 0;
}

static int
s_facility_check (const ht_record_t *record, const char **reason)
{
    if (s_int_exceeds (record, "beds_nursing", "beds_total")) {
        *reason = "beds_nursing exceeds beds_total";
        return HT_ESCHEMA;
    }
    if (s_int_exceeds (record, "residents_disabled", "residents")) {
        *reason = "residents_disabled exceeds residents";
        return HT_ESCHEMA;
    }
    if (ht_record_field_state (record, "uscc") == HT_FIELD_ABSENT
    &&  ht_record_field_state (record, "serial") == HT_FIELD_ABSENT) {
        *reason = "a facility needs uscc or, without a legal entity, serial";
        return HT_ESCHEMA;
    }
    return HT_OK;
}

static int
s_credit_check (const ht_record_t *record, const char **reason)
{
    const char *type = ht_record_subtype (record);
    if (s_date_after (record, "date", "deadline")) {
        *reason = "deadline is before date";
        return HT_ESCHEMA;
    }
    if (s_date_after (record, "publicity_from", "publicity_until")) {
        *reason = "publicity_until is before publicity_from";
        return HT_ESCHEMA;
    }
    if (ht_record_field_state (record, "subject_uscc") == HT_FIELD_ABSENT
    &&  ht_record_field_state (record, "subject_id_no") == HT_FIELD_ABSENT
    &&  ht_record_field_state (record, "subject_facility") == HT_FIELD_ABSENT) {
        *reason = "a credit record names its subject by subject_uscc, "
                  "subject_facility or subject_id_no";
        return HT_ESCHEMA;
    }
    const char *status = ht_record_get_str (record, "status");
    if (type && streq (type, "list_entry") && status && streq (status, "removed")
    &&  (ht_record_field_state (record, "removed_on") == HT_FIELD_ABSENT
    ||   ht_record_field_state (record, "removal_reason") == HT_FIELD_ABSENT)) {
        *reason = "a removed list entry needs removed_on and removal_reason";
        return HT_ESCHEMA;
    }
    return HT_OK;
}

static int
s_cert_check (const ht_record_t *record, const char **reason)
{
    if (s_int_exceeds (record, "not_before", "not_after")) {
        *reason = "not_after is before not_before";
        return HT_ESCHEMA;
    }
    //  Only nodes certify others: a department or partner key that could
    //  issue certificates would escape the administrative map
    const char *role = ht_record_get_str (record, "role");
    size_t count = ht_record_get_strs_count (record, "kinds");
    for (size_t index = 0; role && !streq (role, "node") && index < count; index++) {
        const char *kind = ht_record_get_strs_item (record, "kinds", index);
        if (streq (kind, "cert") || streq (kind, "revocation")) {
            *reason = "only node certificates may grant cert or revocation";
            return HT_ESCHEMA;
        }
    }
    return HT_OK;
}
