//  ht_schema: the schema registry. Each kind is a table of fields, sorted
//  bytewise by name (the order field digests are signed in; a unit test
//  checks it). Field rules come from DOMAIN.md §3. Every field names the
//  schema version that introduced it; a record of version v carries, and
//  is signed over, exactly the fields of version v or earlier.
#include <czmq.h>
#include <stdatomic.h>
#include <time.h>
#include "ht_schema.h"
#include "ht_record.h"
#include "ht_valid.h"
#include "ht_hlc.h"

//  Text rules: the validators, named for tools and docs
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

static const ht_text_rule_t s_rule_date = { "date", "date YYYYMMDD", ht_valid_date };
static const ht_text_rule_t s_rule_region = { "region", "region code", ht_valid_region };
static const ht_text_rule_t s_rule_phone = { "phone", "phone", ht_valid_phone };
static const ht_text_rule_t s_rule_key = { "record_key", "record key", s_check_key };
static const ht_text_rule_t s_rule_uscc = { "uscc", "USCC (GB 32100)", s_check_uscc };
static const ht_text_rule_t s_rule_kind = { "kind", "known kind", s_check_kind };

#define R_DATE   (&s_rule_date)
#define R_REGION (&s_rule_region)
#define R_PHONE  (&s_rule_phone)
#define R_KEY    (&s_rule_key)
#define R_USCC   (&s_rule_uscc)
#define R_KIND   (&s_rule_kind)

#define S_CHOICES(...)  (const char *const []) { __VA_ARGS__, NULL }
#define SUB(...)        S_CHOICES (__VA_ARGS__)
#define ALL             NULL        //  used by every subtype
#define S_ITEM_MAX_CHARS 100        //  each item of a list of texts

//  Field shorthands, one per type. Every line ends with the schema version
//  that introduced the field: a new version only adds lines (with its own
//  number), so the older versions' fields stay exactly as they were.
//    TEXT  (name, required, subtypes, sens, group, indexed,
//           min chars, max chars, rule, choices, since)
//    TEXTS (..., min items, max items, rule, choices, since)
//           each item 1..S_ITEM_MAX_CHARS chars
//    NUM   (..., min, max, since)
//    FLAG  (..., since)
//    BYTES (..., exact size, since)
//  (The subtypes argument is a compound literal with commas of its own,
//  so it is placed in each body directly rather than through a helper.)
#define TEXT(name_, req_, sub_, sens_, group_, idx_, lo_, hi_, rule_, choices_, since_) \
    { .name = name_, .type = HT_TYPE_STR, .required = req_, .subtypes = sub_, \
      .sens = sens_, .group = group_, .indexed = idx_, .min_chars = lo_, \
      .max_chars = hi_, .rule = rule_, .choices = choices_, .since = since_ }
#define TEXTS(name_, req_, sub_, sens_, group_, idx_, lo_, hi_, rule_, choices_, since_) \
    { .name = name_, .type = HT_TYPE_STRS, .required = req_, .subtypes = sub_, \
      .sens = sens_, .group = group_, .indexed = idx_, .min_items = lo_, \
      .max_items = hi_, .min_chars = 1, .max_chars = S_ITEM_MAX_CHARS, \
      .rule = rule_, .choices = choices_, .since = since_ }
#define NUM(name_, req_, sub_, sens_, group_, idx_, lo_, hi_, since_) \
    { .name = name_, .type = HT_TYPE_INT, .required = req_, .subtypes = sub_, \
      .sens = sens_, .group = group_, .indexed = idx_, .min = lo_, .max = hi_, \
      .since = since_ }
#define FLAG(name_, req_, sub_, sens_, group_, idx_, since_) \
    { .name = name_, .type = HT_TYPE_BOOL, .required = req_, .subtypes = sub_, \
      .sens = sens_, .group = group_, .indexed = idx_, .since = since_ }
#define BYTES(name_, req_, sub_, sens_, group_, idx_, bytes_, since_) \
    { .name = name_, .type = HT_TYPE_BIN, .required = req_, .subtypes = sub_, \
      .sens = sens_, .group = group_, .indexed = idx_, .bytes = bytes_, \
      .since = since_ }

#define P   HT_SENS_P
#define I   HT_SENS_I
#define PI  HT_SENS_PI
#define S   HT_SENS_S
#define G_PUB HT_GROUP_PUBLIC
#define G_FI HT_GROUP_FACILITY_I
#define G_CI HT_GROUP_CREDIT_I
#define G_ID HT_GROUP_IDENTITY
#define G_NO HT_GROUP_ID_NO
#define G_CAT HT_GROUP_CATEGORIES
#define G_AB HT_GROUP_ABILITY
#define G_AUD HT_GROUP_AUDIT

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
    NUM   ("ability_level",    false, ALL, S,  G_AB,  false, 0, 4, 1),
    TEXT  ("address",          false, ALL, PI, G_ID,  false, 1, 200, NULL, NULL, 1),
    TEXT  ("birth_date",       true,  ALL, PI, G_ID,  false, 8, 8, R_DATE, NULL, 1),
    NUM   ("care_level",       false, ALL, S,  G_AB,  false, 0, 4, 1),
    TEXTS ("categories",       false, ALL, S,  G_CAT, true,  0, 6, NULL, s_categories, 1),
    TEXT  ("contact",          false, ALL, PI, G_ID,  false, 1, 100, NULL, NULL, 1),
    TEXT  ("ethnicity",        false, ALL, S,  G_CAT, false, 1, 20, NULL, NULL, 1),
    TEXT  ("facility",         false, ALL, PI, G_ID,  true,  1, 64, R_KEY, NULL, 1),
    TEXT  ("hukou_region",     true,  ALL, PI, G_ID,  true,  12, 12, R_REGION, NULL, 1),
    TEXT  ("id_no",            true,  ALL, S,  G_NO,  false, 6, 32, NULL, NULL, 1),
    TEXT  ("id_type",          true,  ALL, I,  G_ID,  false, 1, 20, NULL, s_id_types, 1),
    TEXT  ("living",           false, ALL, PI, G_ID,  true,  1, 20, NULL, s_living, 1),
    TEXT  ("name",             true,  ALL, PI, G_ID,  false, 1, 50, NULL, NULL, 1),
    TEXT  ("phone",            false, ALL, PI, G_ID,  false, 1, 20, R_PHONE, NULL, 1),
    TEXT  ("residence_region", false, ALL, PI, G_ID,  true,  12, 12, R_REGION, NULL, 1),
    NUM   ("sex",              true,  ALL, PI, G_ID,  false, 1, 2, 1),
    TEXT  ("status",           true,  ALL, PI, G_ID,  true,  1, 20, NULL, s_elder_status, 1),
    TEXT  ("status_date",      false, ALL, PI, G_ID,  false, 8, 8, R_DATE, NULL, 1),
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
    TEXT  ("address",              false, ALL, P, G_PUB, false, 1, 200, NULL, NULL, 1),
    NUM   ("area",                 false, ALL, P, G_PUB, false, 0, INT64_MAX, 1),
    NUM   ("beds_nursing",         false, ALL, P, G_PUB, false, 0, 100000, 1),
    NUM   ("beds_total",           false, ALL, P, G_PUB, false, 0, 100000, 1),
    FLAG  ("clinic",               false, ALL, P, G_PUB, false, 1),
    TEXT  ("filing_date",          false, ALL, P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("filing_no",            false, ALL, P, G_PUB, false, 1, 64, NULL, NULL, 1),
    NUM   ("geo_lat",              false, ALL, P, G_PUB, false, -90000000, 90000000, 1),
    NUM   ("geo_lon",              false, ALL, P, G_PUB, false, -180000000, 180000000, 1),
    FLAG  ("insurance_designated", false, ALL, P, G_PUB, false, 1),
    TEXT  ("name",                 true,  ALL, P, G_PUB, true,  1, 100, NULL, NULL, 1),
    TEXT  ("operator_uscc",        false, ALL, P, G_PUB, true,  18, 18, R_USCC, NULL, 1),
    TEXT  ("ownership",            false, ALL, P, G_PUB, true,  1, 20, NULL, s_ownership, 1),
    TEXT  ("parent_center",        false, ALL, P, G_PUB, true,  1, 64, R_KEY, NULL, 1),
    TEXT  ("person_in_charge",     false, ALL, P, G_PUB, false, 1, 50, NULL, NULL, 1),
    TEXT  ("phone",                false, ALL, P, G_PUB, false, 1, 20, R_PHONE, NULL, 1),
    TEXT  ("profit",               false, ALL, P, G_PUB, false, 1, 20, NULL, s_profit, 1),
    NUM   ("rating_level",         false, ALL, P, G_PUB, true,  1, 5, 1),
    NUM   ("residents",            false, ALL, I, G_FI,  false, 0, 100000, 1),
    NUM   ("residents_disabled",   false, ALL, I, G_FI,  false, 0, 100000, 1),
    TEXT  ("serial",               false, ALL, P, G_PUB, false, 1, 32, NULL, NULL, 1),
    TEXTS ("services",             false, ALL, P, G_PUB, false, 0, 32, NULL, NULL, 1),
    NUM   ("staff",                false, ALL, I, G_FI,  false, 0, 100000, 1),
    TEXT  ("status",               true,  ALL, P, G_PUB, true,  1, 20, NULL, s_facility_status, 1),
    TEXT  ("type",                 true,  ALL, P, G_PUB, true,  1, 20, NULL, s_facility_types, 1),
    TEXT  ("uscc",                 false, ALL, P, G_PUB, true,  18, 18, R_USCC, NULL, 1),
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
    TEXT  ("actions",          true,  SUB (RECT),       P, G_PUB, false, 1, 2000, NULL, NULL, 1),
    TEXTS ("checklist",        false, SUB (INSP),       P, G_PUB, false, 0, 64, NULL, NULL, 1),
    TEXT  ("date",             true,  ALL,              P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("deadline",         false, SUB (INSP, RECT), P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("decision_no",      false, SUB (PEN, LIST),  P, G_PUB, true,  1, 64, NULL, NULL, 1),
    TEXTS ("departments",      false, SUB (INSP),       P, G_PUB, false, 0, 16, NULL, NULL, 1),
    TEXT  ("doc_no",           true,  ALL,              P, G_PUB, true,  1, 64, NULL, NULL, 1),
    TEXT  ("facts",            false, SUB (LIST),       P, G_PUB, false, 1, 4000, NULL, NULL, 1),
    NUM   ("fine",             false, SUB (PEN),        P, G_PUB, false, 0, INT64_MAX, 1),
    TEXTS ("grounds",          false, SUB (LIST),       P, G_PUB, false, 1, 10, NULL, s_grounds, 1),
    TEXTS ("inspectors",       false, SUB (INSP),       I, G_CI,  false, 0, 16, NULL, NULL, 1),
    TEXT  ("issuer_dept",      true,  ALL,              P, G_PUB, true,  1, 32, NULL, NULL, 1),
    TEXT  ("issuer_region",    true,  ALL,              P, G_PUB, true,  12, 12, R_REGION, NULL, 1),
    TEXT  ("legal_basis",      false, SUB (PEN),        P, G_PUB, false, 1, 500, NULL, NULL, 1),
    TEXT  ("level",            false, SUB (RAT),        P, G_PUB, false, 1, 20, NULL, NULL, 1),
    TEXT  ("list",             false, SUB (LIST),       P, G_PUB, true,  1, 20, NULL, s_lists, 1),
    TEXT  ("listed_on",        false, SUB (LIST),       P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("method",           false, SUB (INSP),       P, G_PUB, false, 1, 20, NULL, s_methods, 1),
    TEXT  ("notice_on",        false, SUB (LIST),       P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("objection",        false, SUB (LIST),       P, G_PUB, false, 1, 2000, NULL, NULL, 1),
    TEXT  ("outcome",          false, SUB (RECT),       P, G_PUB, false, 1, 20, NULL, s_outcomes, 1),
    TEXTS ("penalty_types",    false, SUB (PEN),        P, G_PUB, false, 1, 4, NULL, s_penalty_types, 1),
    TEXT  ("plan_no",          false, SUB (INSP),       P, G_PUB, false, 1, 64, NULL, NULL, 1),
    TEXT  ("publicity_from",   false, SUB (PEN),        P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("publicity_until",  false, SUB (PEN),        P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("published_on",     false, SUB (INSP),       P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("ref",              false, SUB (RECT),       P, G_PUB, true,  1, 64, R_KEY, NULL, 1),
    TEXT  ("removal_reason",   false, SUB (LIST),       P, G_PUB, false, 1, 500, NULL, NULL, 1),
    TEXT  ("removed_on",       false, SUB (LIST),       P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("result",           false, SUB (INSP),       P, G_PUB, true,  1, 20, NULL, s_results, 1),
    TEXT  ("scheme",           false, SUB (RAT),        P, G_PUB, false, 1, 64, NULL, NULL, 1),
    TEXT  ("status",           false, SUB (LIST),       P, G_PUB, true,  1, 20, NULL, s_list_status, 1),
    TEXT  ("subject_facility", false, ALL,              P, G_PUB, true,  1, 64, R_KEY, NULL, 1),
    TEXT  ("subject_id_no",    false, ALL,              S, G_NO,  false, 6, 32, NULL, NULL, 1),
    TEXT  ("subject_name",     true,  ALL,              P, G_PUB, true,  1, 100, NULL, NULL, 1),
    TEXT  ("subject_uscc",     false, ALL,              P, G_PUB, true,  18, 18, R_USCC, NULL, 1),
    TEXT  ("type",             true,  ALL,              P, G_PUB, true,  1, 20, NULL, s_credit_types, 1),
    TEXT  ("valid_until",      false, SUB (RAT),        P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
    TEXT  ("verified_on",      false, SUB (RECT),       P, G_PUB, false, 8, 8, R_DATE, NULL, 1),
};

static const char *const s_roles [] = { "node", "department", "partner", "operator", NULL };

//  cert: key = hex(pubkey), region = the subject's jurisdiction
static const ht_field_t s_cert_fields [] = {
    TEXT  ("department", false, ALL, P, G_PUB, true,  1, HT_CERT_CODE_MAX_CHARS, NULL, NULL, 1),
    TEXTS ("kinds",      true,  ALL, P, G_PUB, false, 1, HT_CERT_MAX_KINDS, R_KIND, NULL, 1),
    TEXT  ("name",       true,  ALL, P, G_PUB, false, 1, HT_CERT_NAME_MAX_CHARS, NULL, NULL, 1),
    NUM   ("not_after",  true,  ALL, P, G_PUB, false, 0, INT64_MAX, 1),
    NUM   ("not_before", true,  ALL, P, G_PUB, false, 0, INT64_MAX, 1),
    TEXT  ("policy",     false, ALL, P, G_PUB, false, 1, HT_CERT_CODE_MAX_CHARS, NULL, NULL, 1),
    BYTES ("pubkey",     true,  ALL, P, G_PUB, false, HT_PUBKEY_BYTES, 1),
    TEXT  ("role",       true,  ALL, P, G_PUB, true,  1, 20, NULL, s_roles, 1),
};

//  revocation: key = hex(pubkey) of the revoked key
static const ht_field_t s_revocation_fields [] = {
    BYTES ("pubkey",     true,  ALL, P, G_PUB, false, HT_PUBKEY_BYTES, 1),
    TEXT  ("reason",     false, ALL, P, G_PUB, false, 1, 500, NULL, NULL, 1),
    NUM   ("revoked_at", true,  ALL, P, G_PUB, false, 0, INT64_MAX, 1),
};

static const char *const s_requests [] = {
    "get", "find", "list", "history", "feed", NULL };

//  audit: one disclosing read, written by the node that answered it;
//  region = scope = the node's region, so it flows up to its ancestors.
//  Indexed only what `hutong audit` looks up by (who, which department,
//  why, whom): every index entry is written with each read's record
static const ht_field_t s_audit_fields [] = {
    NUM   ("at",           true,  ALL, I, G_AUD, false, 0, INT64_MAX, 1),
    TEXT  ("client",       true,  ALL, I, G_AUD, true,  64, 64, R_KEY, NULL, 1),
    TEXT  ("client_name",  true,  ALL, I, G_AUD, false, 1, HT_CERT_NAME_MAX_CHARS, NULL, NULL, 1),
    TEXT  ("department",   false, ALL, I, G_AUD, true,  1, HT_CERT_CODE_MAX_CHARS, NULL, NULL, 1),
    TEXT  ("emergency",    false, ALL, I, G_AUD, false, 1, 64, R_KEY, NULL, 1),
    NUM   ("events",       false, ALL, I, G_AUD, false, 0, INT64_MAX, 1),
    TEXTS ("fields",       false, ALL, I, G_AUD, false, 0, HT_FIELD_MAX_COUNT, NULL, NULL, 1),
    TEXTS ("masked",       false, ALL, I, G_AUD, false, 0, HT_FIELD_MAX_COUNT, NULL, NULL, 1),
    TEXT  ("policy",       true,  ALL, I, G_AUD, false, 1, HT_CERT_CODE_MAX_CHARS, NULL, NULL, 1),
    TEXT  ("purpose",      false, ALL, I, G_AUD, true,  1, HT_CERT_CODE_MAX_CHARS, NULL, NULL, 1),
    TEXT  ("request",      true,  ALL, I, G_AUD, false, 1, 16, NULL, s_requests, 1),
    TEXT  ("subject_kind", true,  ALL, I, G_AUD, false, 1, HT_KIND_MAX_CHARS, R_KIND, NULL, 1),
    TEXTS ("subjects",     true,  ALL, I, G_AUD, true,  1, HT_AUDIT_MAX_SUBJECTS, R_KEY, NULL, 1),
};

//  emergency: a declared emergency (PIPL Art. 13(4)) in region, from
//  starts to ends (ms): clients of read policy `policy` read as policy
//  `grant` there meanwhile, every read audited
static const ht_field_t s_emergency_fields [] = {
    TEXT  ("doc_no", true,  ALL, P, G_PUB, true,  1, 64, NULL, NULL, 1),
    NUM   ("ends",   true,  ALL, P, G_PUB, false, 0, INT64_MAX, 1),
    TEXT  ("grant",  true,  ALL, P, G_PUB, false, 1, HT_CERT_CODE_MAX_CHARS, NULL, NULL, 1),
    TEXT  ("policy", true,  ALL, P, G_PUB, false, 1, HT_CERT_CODE_MAX_CHARS, NULL, NULL, 1),
    TEXT  ("reason", true,  ALL, P, G_PUB, false, 1, 500, NULL, NULL, 1),
    NUM   ("starts", true,  ALL, P, G_PUB, false, 0, INT64_MAX, 1),
};

//  Cross-field rules
static int s_emergency_check (const ht_record_t *record, const char **reason);
static int s_elder_check (const ht_record_t *record, const char **reason);
static int s_facility_check (const ht_record_t *record, const char **reason);
static int s_credit_check (const ht_record_t *record, const char **reason);
static int s_cert_check (const ht_record_t *record, const char **reason);

#define KIND_FIELDS(table) table, sizeof (table) / sizeof (table [0])

//  Columns: name, fields, current version, subtype field, default scope,
//  key rule, natural key fields, fallback key field, cross-field rule
static const ht_kind_t s_kinds [] = {
    { "audit", KIND_FIELDS (s_audit_fields), 1, NULL, HT_SCOPE_REGION,
      HT_KEY_GIVEN, NULL, NULL, NULL },
    { "cert", KIND_FIELDS (s_cert_fields), 1, NULL, HT_SCOPE_REGION,
      HT_KEY_HEX, S_CHOICES ("pubkey"), NULL, s_cert_check },
    { "credit", KIND_FIELDS (s_credit_fields), 1, "type", HT_SCOPE_AUTHOR,
      HT_KEY_HASH, S_CHOICES ("type", "issuer_region", "issuer_dept", "doc_no"),
      NULL, s_credit_check },
    { "elder", KIND_FIELDS (s_elder_fields), 1, NULL, HT_SCOPE_REGION,
      HT_KEY_KEYED_HASH, S_CHOICES ("id_no"), NULL, s_elder_check },
    { "emergency", KIND_FIELDS (s_emergency_fields), 1, NULL, HT_SCOPE_REGION,
      HT_KEY_HASH, S_CHOICES ("doc_no"), NULL, s_emergency_check },
    { "facility", KIND_FIELDS (s_facility_fields), 1, NULL, HT_SCOPE_COUNTY,
      HT_KEY_HASH, S_CHOICES ("uscc"), "serial", s_facility_check },
    { "revocation", KIND_FIELDS (s_revocation_fields), 1, NULL, HT_SCOPE_REGION,
      HT_KEY_HEX, S_CHOICES ("pubkey"), NULL, NULL },
};

#define S_KIND_COUNT (sizeof (s_kinds) / sizeof (s_kinds [0]))

static const ht_registry_t s_registry = { s_kinds, S_KIND_COUNT };

//  Write versions chosen by ht_schema_set_write_version, by kind index;
//  0 means the kind's current version. The one piece of process-wide
//  state here: the configuration sets it once at start-up, and readers in
//  any thread see a whole value (atomic).
static _Atomic uint16_t s_write_versions [S_KIND_COUNT];

const ht_registry_t *
ht_schema_registry (void)
{
    return &s_registry;
}

const ht_kind_t *
ht_schema_registry_kind (const ht_registry_t *registry, const char *name)
{
    if (!registry)
        registry = &s_registry;
    for (size_t index = 0; name && index < registry->kind_count; index++)
        if (streq (registry->kinds [index].name, name))
            return &registry->kinds [index];
    return NULL;
}

const ht_kind_t *
ht_schema_kind (const char *name)
{
    return ht_schema_registry_kind (&s_registry, name);
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
    //  Tables are short (< 50): a linear scan beats a hash here. Most
    //  callers name a field by the table's own string (walking the
    //  fields): found by its address first, without comparing text.
    for (size_t index = 0; index < kind->field_count; index++)
        if (kind->fields [index].name == name)
            return (int) index;
    for (size_t index = 0; index < kind->field_count; index++)
        if (streq (kind->fields [index].name, name))
            return (int) index;
    return -1;
}

bool
ht_schema_field_in_version (const ht_field_t *field, uint16_t version)
{
    return field->since <= version;
}

bool
ht_schema_field_in_subtype (const ht_field_t *field, const char *subtype)
{
    if (!field->subtypes || !subtype)
        return true;
    for (const char *const *name = field->subtypes; *name; name++)
        if (streq (*name, subtype))
            return true;
    return false;
}

//  Index of a built-in kind, or -1 for a kind from another registry
static int
s_builtin_index (const ht_kind_t *kind)
{
    for (size_t index = 0; index < S_KIND_COUNT; index++)
        if (&s_kinds [index] == kind)
            return (int) index;
    return -1;
}

uint16_t
ht_schema_write_version (const ht_kind_t *kind)
{
    int index = s_builtin_index (kind);
    uint16_t chosen = index < 0? 0: s_write_versions [index];
    return chosen? chosen: kind->version;
}

int
ht_schema_set_write_version (const char *kind, uint16_t version)
{
    const ht_kind_t *schema = ht_schema_kind (kind);
    if (!schema)
        return HT_EKIND;
    if (version > schema->version)
        return HT_ESCHEMAVERSION;
    s_write_versions [s_builtin_index (schema)] = version;
    return HT_OK;
}

const char *
ht_type_name (ht_type_t type)
{
    static const char *const names [] = { "?", "str", "int", "bool", "strs", "bin" };
    return type >= HT_TYPE_STR && type <= HT_TYPE_BIN? names [type]: "?";
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
        "id_no", "categories", "ability", "subsidy", "audit" };
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
        if (streq (kind, "cert") || streq (kind, "revocation") || streq (kind, "audit")) {
            *reason = "only node certificates may grant cert, revocation or audit";
            return HT_ESCHEMA;
        }
    }
    return HT_OK;
}

static int
s_emergency_check (const ht_record_t *record, const char **reason)
{
    if (s_int_exceeds (record, "starts", "ends")) {
        *reason = "ends is before starts";
        return HT_ESCHEMA;
    }
    return HT_OK;
}
