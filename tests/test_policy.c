//  test_policy: the named read policies against the access table of
//  DOMAIN.md §6, the redactor that applies them, and display masks.
//
//  Every redacted record is verified and its bytes searched for the values
//  it withholds: a policy that verifies but leaks is the failure to catch.
#include "ht_policy.h"
#include "ht_record.h"
#include "ht_keys.h"
#include "ht_hlc.h"
#include "ht_test.h"
#include "ht_fixture.h"
#include "ht_read_fixture.h"

#include <sodium.h>
#include <string.h>

#define S_JAN_2026_MS 1767225600000ULL     //  2026-01-01T00:00:00Z
#define S_ID_NO "441802194005120317"        //  synthetic, DOMAIN.md §4
#define S_ID_NO_MASK "441802********0317"
#define S_USCC "52441802MJ0001002K"         //  synthetic, DOMAIN.md §4
#define S_PHONE "13800138000"
#define S_ADDRESS "清城区凤城街道站前路12号"
#define S_COMMUNITY "441802001001"
#define S_COUNTY "441802000000"

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  Every policy, in the order of conf/policy.cfg (the built-in set)
static const char *const s_names [] = {
    "node", "operator", "civil_affairs", "health", "market_regulation", "fire",
    "medical_insurance", "emergency", "emergency_declared", "finance", "partner",
    "public", "full" };

//  --------------------------------------------------------------------------
//  Helpers

static ht_keypair_t *
s_key (uint8_t first)
{
    uint8_t seed [32];
    for (size_t index = 0; index < sizeof seed; index++)
        seed [index] = (uint8_t) (first + index);
    ht_keypair_t *key = ht_keypair_from_seed (seed, "test");
    ck_assert_ptr_nonnull (key);
    return key;
}

static void
s_sign (ht_record_t *record)
{
    const char *reason = NULL;
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    ht_keypair_t *key = s_key (0x42);
    ck_assert_int_eq (ht_record_sign (record, key), 0);
    ht_keypair_destroy (&key);
}

//  The elder of test_record (张三, born 1940-05-12), with a field in every
//  elder group: identity, id_no, categories and ability
static ht_record_t *
s_elder_draft (void)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    for (size_t index = 0; index < sizeof idkey; index++)
        idkey [index] = (uint8_t) (0xa0 + index);
    ht_record_t *record = ht_fixture_elder_draft (S_ID_NO, "张三", S_COMMUNITY, S_COMMUNITY,
                                                  idkey, ht_hlc_make (S_JAN_2026_MS, 0));
    ht_read_set_every_group (record, S_PHONE, S_ADDRESS);
    return record;
}

static ht_record_t *
s_elder_signed (void)
{
    ht_record_t *record = s_elder_draft ();
    s_sign (record);
    return record;
}

//  A care home as test_record builds it, with internal (I) head counts
static ht_record_t *
s_facility_signed (void)
{
    ht_record_t *record = ht_record_new ("facility");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_str (record, "name", "清城区颐康养老院"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "institution"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "status", "open"), 0);
    ck_assert_int_eq (ht_record_set_int (record, "beds_total", 120), 0);
    ck_assert_int_eq (ht_record_set_str (record, "uscc", S_USCC), 0);
    ck_assert_int_eq (ht_record_set_str (record, "address", S_ADDRESS), 0);
    ck_assert_int_eq (ht_record_set_int (record, "residents", 87), 0);
    ck_assert_int_eq (ht_record_set_int (record, "residents_disabled", 12), 0);
    ck_assert_int_eq (ht_record_set_int (record, "staff", 31), 0);
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_COUNTY), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ht_record_set_hlc (record, ht_hlc_make (S_JAN_2026_MS, 0));
    s_sign (record);
    return record;
}

static const ht_policy_t *
s_policy (const char *name)
{
    const ht_policy_t *policy = ht_policy_find (name);
    ck_assert_msg (policy != NULL, "no policy %s", name);
    return policy;
}

//  Redact, asserting a record comes back that verifies
static ht_record_t *
s_redact (const char *name, const ht_record_t *record)
{
    int error = 12345;
    ht_record_t *redacted = ht_policy_redact (s_policy (name), record, &error);
    ck_assert_msg (redacted != NULL, "%s: no record (%d)", name, error);
    ck_assert_int_eq (error, HT_OK);
    const char *reason = NULL;
    ck_assert_msg (ht_record_verify (redacted, &reason) == 0, "%s: %s", name, reason);
    return redacted;
}

//  Redact, asserting the policy may see nothing of the record
static void
s_assert_refused (const char *name, const ht_record_t *record)
{
    int error = 0;
    ck_assert_ptr_null (ht_policy_redact (s_policy (name), record, &error));
    ck_assert_int_eq (error, HT_EPOLICY);
    //  The error pointer is optional
    ck_assert_ptr_null (ht_policy_redact (s_policy (name), record, NULL));
}

static uint8_t *
s_encode (const ht_record_t *record, size_t *size)
{
    uint8_t *data = NULL;
    ck_assert_int_eq (ht_record_encode (record, &data, size), 0);
    ck_assert_ptr_nonnull (data);
    return data;
}

static bool
s_contains_text (const uint8_t *data, size_t size, const char *text)
{
    return memmem (data, size, text, strlen (text)) != NULL;
}

//  Number of UTF-8 characters if text is valid UTF-8 (shortest forms, no
//  surrogates), else -1
static long
s_utf8_chars (const char *text)
{
    const unsigned char *cursor = (const unsigned char *) text;
    long count = 0;
    while (*cursor) {
        uint32_t code = 0;
        size_t width = 0;
        if (cursor [0] < 0x80) { code = cursor [0]; width = 1; }
        else if ((cursor [0] & 0xe0) == 0xc0) { code = cursor [0] & 0x1f; width = 2; }
        else if ((cursor [0] & 0xf0) == 0xe0) { code = cursor [0] & 0x0f; width = 3; }
        else if ((cursor [0] & 0xf8) == 0xf0) { code = cursor [0] & 0x07; width = 4; }
        else return -1;
        for (size_t index = 1; index < width; index++) {
            if ((cursor [index] & 0xc0) != 0x80)
                return -1;
            code = (code << 6) | (cursor [index] & 0x3f);
        }
        static const uint32_t lowest [] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (code < lowest [width] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
            return -1;
        cursor += width;
        count++;
    }
    return count;
}

//  Mask a text into a fresh buffer and compare
static void
s_assert_mask (const char *text, const char *expected)
{
    char mask [256];
    const char *result = ht_policy_mask_text (text, mask, sizeof mask);
    ck_assert_ptr_eq (result, mask);
    ck_assert_str_eq (mask, expected);
}

//  --------------------------------------------------------------------------
//  The policy table

START_TEST (every_named_policy_exists_and_an_unknown_name_does_not)
{
    for (size_t index = 0; index < S_COUNT (s_names); index++) {
        const ht_policy_t *policy = ht_policy_find (s_names [index]);
        ck_assert_msg (policy != NULL, "no policy %s", s_names [index]);
        ck_assert_str_eq (policy->name, s_names [index]);
        ck_assert_ptr_nonnull (policy->summary);
        ck_assert_uint_gt (strlen (policy->summary), 0);
    }
    ck_assert_ptr_null (ht_policy_find ("nonexistent"));
    ck_assert_ptr_null (ht_policy_find (""));
    ck_assert_ptr_null (ht_policy_find ("Full"));
    ck_assert_ptr_null (ht_policy_find ("full "));
}
END_TEST

START_TEST (the_policy_listing_holds_each_policy_once_and_then_ends)
{
    size_t count = 0;
    while (ht_policy_at (count))
        count++;
    ck_assert_uint_eq (count, S_COUNT (s_names));
    for (size_t index = 0; index < count; index++) {
        const ht_policy_t *policy = ht_policy_at (index);
        ck_assert_str_eq (policy->name, s_names [index]);
        ck_assert_ptr_eq (ht_policy_find (policy->name), policy);
    }
    ck_assert_ptr_null (ht_policy_at (count));
    ck_assert_ptr_null (ht_policy_at (SIZE_MAX));
}
END_TEST

START_TEST (the_access_table_matches_domain_section_6)
{
    //  DOMAIN.md §6 as written (rows: field groups; columns: CA HE MR FI
    //  MI EM FN PA). EM's A* is A outside a declared emergency.
    enum { N = HT_ACCESS_NONE, A = HT_ACCESS_COUNT, M = HT_ACCESS_MASKED, F = HT_ACCESS_FULL };
    static const char *const columns [] = {
        "civil_affairs", "health", "market_regulation", "fire",
        "medical_insurance", "emergency", "finance", "partner" };
    static const int table [HT_GROUP_COUNT][8] = {
        [HT_GROUP_PUBLIC]      = { F, F, F, F, F, F, F, F },
        [HT_GROUP_FACILITY_I]  = { F, F, F, F, F, F, F, N },
        [HT_GROUP_CREDIT_I]    = { F, M, M, M, M, M, M, N },
        [HT_GROUP_IDENTITY]    = { F, F, N, A, F, A, M, M },
        [HT_GROUP_ID_NO]       = { F, F, N, N, F, N, M, N },
        [HT_GROUP_CATEGORIES]  = { F, M, N, N, M, A, M, N },
        [HT_GROUP_ABILITY]     = { F, F, N, A, F, A, M, M },
        [HT_GROUP_SUBSIDY]     = { F, N, N, N, N, N, F, N },
        [HT_GROUP_AUDIT]       = { F, N, N, N, N, N, N, N },   //  supervision
    };
    for (size_t column = 0; column < S_COUNT (columns); column++) {
        const ht_policy_t *policy = s_policy (columns [column]);
        for (int group = 0; group < HT_GROUP_COUNT; group++)
            ck_assert_msg ((int) policy->access [group] == table [group][column],
                           "%s sees %s as %d, DOMAIN.md says %d", policy->name,
                           ht_group_name ((ht_group_t) group),
                           policy->access [group], table [group][column]);
    }
    //  Node operators see everything; the public only public fields
    for (int group = 0; group < HT_GROUP_COUNT; group++) {
        ck_assert_int_eq (s_policy ("full")->access [group], HT_ACCESS_FULL);
        ck_assert_int_eq (s_policy ("public")->access [group],
                          group == HT_GROUP_PUBLIC? HT_ACCESS_FULL: HT_ACCESS_NONE);
    }
}
END_TEST

//  --------------------------------------------------------------------------
//  Redacting elder records

START_TEST (civil_affairs_sees_the_id_number)
{
    ht_record_t *record = s_elder_signed ();
    ht_record_t *seen = s_redact ("civil_affairs", record);
    ck_assert (ht_record_is_full (seen));
    ck_assert_str_eq (ht_record_get_str (seen, "id_no"), S_ID_NO);
    ck_assert_str_eq (ht_record_get_str (seen, "name"), "张三");
    ck_assert_uint_eq (ht_record_get_strs_count (seen, "categories"), 2);
    ck_assert_ptr_null (ht_record_get_mask (seen, "id_no"));
    ht_record_destroy (&seen);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (market_regulation_sees_no_elder_record)
{
    ht_record_t *record = s_elder_signed ();
    s_assert_refused ("market_regulation", record);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (fire_and_emergency_see_only_counts_of_elders)
{
    //  A = counts only: no record at all, not even a masked one
    ht_record_t *record = s_elder_signed ();
    s_assert_refused ("fire", record);
    s_assert_refused ("emergency", record);
    s_assert_refused ("public", record);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_partner_sees_an_elder_record_with_masks_and_no_disclosed_field)
{
    ht_record_t *record = s_elder_signed ();
    ht_record_t *seen = s_redact ("partner", record);
    const ht_kind_t *kind = ht_record_schema (seen);
    for (size_t index = 0; index < kind->field_count; index++)
        ck_assert_msg (ht_record_field_state (seen, kind->fields [index].name) == HT_FIELD_WITHHELD,
                       "partner sees %s", kind->fields [index].name);
    ck_assert_str_eq (ht_record_get_mask (seen, "phone"), "138****8000");
    ck_assert_str_eq (ht_record_get_mask (seen, "birth_date"), "1940****");
    ck_assert_ptr_nonnull (ht_record_get_mask (seen, "address"));
    //  No mask of the ID number: the partner has no access to it at all
    ck_assert_ptr_null (ht_record_get_mask (seen, "id_no"));
    ht_record_destroy (&seen);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (health_discloses_identity_but_withholds_categories)
{
    ht_record_t *record = s_elder_signed ();
    ht_record_t *seen = s_redact ("health", record);
    //  Categories are M for health: withheld (a list gets no mask)
    ht_read_assert_health_view (seen, S_ID_NO);
    ck_assert_str_eq (ht_record_get_str (seen, "phone"), S_PHONE);
    ck_assert_uint_eq (ht_record_get_strs_count (seen, "categories"), 0);
    ck_assert_ptr_null (ht_record_get_mask (seen, "ethnicity"));    //  2 chars
    ht_record_destroy (&seen);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (every_field_follows_its_group_under_every_policy)
{
    ht_record_t *record = s_elder_signed ();
    const ht_kind_t *kind = ht_record_schema (record);
    for (size_t p = 0; ht_policy_at (p); p++) {
        const ht_policy_t *policy = ht_policy_at (p);
        int error = 0;
        ht_record_t *seen = ht_policy_redact (policy, record, &error);
        bool any_visible = false;
        for (size_t index = 0; index < kind->field_count; index++)
            any_visible |= policy->access [kind->fields [index].group] >= HT_ACCESS_MASKED;
        if (!any_visible) {
            ck_assert_msg (seen == NULL && error == HT_EPOLICY, "%s", policy->name);
            continue;
        }
        ck_assert_msg (seen != NULL, "%s: %d", policy->name, error);
        for (size_t index = 0; index < kind->field_count; index++) {
            const ht_field_t *field = &kind->fields [index];
            ht_access_t access = policy->access [field->group];
            ht_field_state_t state = ht_record_field_state (seen, field->name);
            if (access == HT_ACCESS_FULL)
                ck_assert_msg (state == ht_record_field_state (record, field->name),
                               "%s: %s", policy->name, field->name);
            else
                ck_assert_msg (state == HT_FIELD_WITHHELD, "%s: %s disclosed",
                               policy->name, field->name);
            //  A mask only on masked texts of HT_POLICY_MASK_MIN_CHARS or more
            const char *text = ht_record_get_str (record, field->name);
            bool masked = access == HT_ACCESS_MASKED && text
                       && s_utf8_chars (text) >= HT_POLICY_MASK_MIN_CHARS;
            const char *mask = ht_record_get_mask (seen, field->name);
            ck_assert_msg (masked == (mask != NULL), "%s: %s mask %s", policy->name,
                           field->name, mask? mask: "(none)");
            if (mask) {
                ck_assert_str_ne (mask, text);
                ck_assert_int_eq (s_utf8_chars (mask), s_utf8_chars (text));
            }
        }
        ht_record_destroy (&seen);
    }
    ht_record_destroy (&record);
}
END_TEST

START_TEST (every_redacted_record_verifies_and_holds_none_of_its_withheld_values)
{
    ht_record_t *record = s_elder_signed ();
    const ht_kind_t *kind = ht_record_schema (record);
    size_t full_size = 0;
    uint8_t *full = s_encode (record, &full_size);
    ck_assert (s_contains_text (full, full_size, S_ID_NO));        //  control
    size_t redacted_count = 0, id_withheld_count = 0;
    for (size_t p = 0; ht_policy_at (p); p++) {
        const ht_policy_t *policy = ht_policy_at (p);
        ht_record_t *seen = ht_policy_redact (policy, record, NULL);
        if (!seen)
            continue;
        redacted_count++;
        ck_assert_msg (ht_record_verify (seen, NULL) == 0, "%s", policy->name);
        size_t size = 0;
        uint8_t *data = s_encode (seen, &size);
        //  Bytes decode again into a record that still verifies
        ht_record_t *decoded = ht_record_decode (data, size, NULL, NULL);
        ck_assert_ptr_nonnull (decoded);
        ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
        ht_record_destroy (&decoded);

        if (policy->access [HT_GROUP_ID_NO] != HT_ACCESS_FULL) {
            id_withheld_count++;
            ck_assert_msg (!s_contains_text (data, size, S_ID_NO),
                           "%s leaks the ID number", policy->name);
        }
        for (size_t index = 0; index < kind->field_count; index++) {
            const ht_field_t *field = &kind->fields [index];
            if (policy->access [field->group] == HT_ACCESS_FULL)
                continue;
            const char *text = ht_record_get_str (record, field->name);
            //  Region codes also name the record's own region in its header
            if (text && strcmp (text, ht_record_region (record)) != 0)
                ck_assert_msg (!s_contains_text (data, size, text),
                               "%s leaks %s", policy->name, field->name);
            size_t items = ht_record_get_strs_count (record, field->name);
            for (size_t item = 0; item < items; item++)
                ck_assert_msg (!s_contains_text (data, size,
                               ht_record_get_strs_item (record, field->name, item)),
                               "%s leaks %s", policy->name, field->name);
        }
        free (data);
        ht_record_destroy (&seen);
    }
    //  node, civil_affairs, health, medical_insurance, emergency_declared,
    //  finance, partner, full (operator, market_regulation, fire, emergency
    //  and public see no elder field)
    ck_assert_uint_eq (redacted_count, 8);
    //  emergency_declared, finance, partner
    ck_assert_uint_eq (id_withheld_count, 3);
    free (full);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (the_full_policy_returns_the_record_unchanged)
{
    ht_record_t *record = s_elder_signed ();
    ht_record_t *seen = s_redact ("full", record);
    ck_assert (ht_record_is_full (seen));
    size_t size = 0, seen_size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *seen_data = s_encode (seen, &seen_size);
    ck_assert_uint_eq (seen_size, size);
    ck_assert_mem_eq (seen_data, data, size);
    ck_assert_ptr_ne (seen, record);                        //  a copy
    free (seen_data);
    free (data);
    ht_record_destroy (&seen);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (finance_sees_masks_of_long_texts_only)
{
    ht_record_t *record = s_elder_signed ();
    ht_record_t *seen = s_redact ("finance", record);
    ck_assert_str_eq (ht_record_get_mask (seen, "id_no"), S_ID_NO_MASK);
    ck_assert_str_eq (ht_record_get_mask (seen, "phone"), "138****8000");
    ck_assert_str_eq (ht_record_get_mask (seen, "birth_date"), "1940****");
    //  "a*****" or "张*" would show most of the value: no mask at all
    ck_assert_ptr_null (ht_record_get_mask (seen, "status"));      //  active
    ck_assert_ptr_null (ht_record_get_mask (seen, "name"));        //  张三
    ck_assert_ptr_null (ht_record_get_mask (seen, "id_type"));     //  5 chars
    ck_assert_ptr_null (ht_record_get_mask (seen, "living"));
    ck_assert_ptr_null (ht_record_get_mask (seen, "ethnicity"));
    //  Absent fields and non-text fields get none
    ck_assert_ptr_null (ht_record_get_mask (seen, "contact"));
    ck_assert_ptr_null (ht_record_get_mask (seen, "ability_level"));
    ck_assert_ptr_null (ht_record_get_mask (seen, "categories"));
    ht_record_destroy (&seen);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_mask_starts_at_the_minimum_length)
{
    //  contact is free text in the identity group: finance masks it
    const char *contacts [] = { "123456", "1234567" };
    const char *masks [] = { NULL, "123****" };
    ck_assert_int_eq (HT_POLICY_MASK_MIN_CHARS, 7);
    for (size_t index = 0; index < S_COUNT (contacts); index++) {
        ht_record_t *record = s_elder_draft ();
        ck_assert_int_eq (ht_record_set_str (record, "contact", contacts [index]), 0);
        s_sign (record);
        ht_record_t *seen = s_redact ("finance", record);
        const char *mask = ht_record_get_mask (seen, "contact");
        if (masks [index])
            ck_assert_str_eq (mask, masks [index]);
        else
            ck_assert_ptr_null (mask);
        ht_record_destroy (&seen);
        ht_record_destroy (&record);
    }
}
END_TEST

//  --------------------------------------------------------------------------
//  Masks

START_TEST (masks_keep_the_documented_heads_and_tails)
{
    s_assert_mask (S_ID_NO, S_ID_NO_MASK);
    s_assert_mask ("13800138000", "138****8000");
    s_assert_mask ("19400512", "1940****");
    s_assert_mask ("441802001001", "441*****1001");
    s_assert_mask ("", "");
    s_assert_mask ("x", "*");
}
END_TEST

START_TEST (masking_chinese_text_keeps_whole_characters)
{
    char mask [256];
    ht_policy_mask_text (S_ADDRESS, mask, sizeof mask);
    ck_assert_int_eq (s_utf8_chars (S_ADDRESS), 13);
    ck_assert_int_eq (s_utf8_chars (mask), 13);
    ck_assert_str_eq (mask, "清城区******路12号");
    //  Four-byte characters too
    ht_policy_mask_text ("😀😀😀😀😀😀😀😀", mask, sizeof mask);
    ck_assert_int_eq (s_utf8_chars (mask), 8);
    ck_assert_str_eq (mask, "😀😀😀😀****");
}
END_TEST

START_TEST (a_mask_never_writes_past_its_buffer)
{
    //  Every buffer size from 1 up: the mask is NUL-terminated inside it,
    //  whole characters only, and the byte after it is untouched
    const char *texts [] = { S_ID_NO, S_ADDRESS, "😀😀😀😀😀😀😀😀" };
    for (size_t t = 0; t < S_COUNT (texts); t++)
        for (size_t size = 1; size < 64; size++) {
            char buffer [65];
            memset (buffer, '#', sizeof buffer);
            ht_policy_mask_text (texts [t], buffer, size);
            ck_assert_uint_lt (strlen (buffer), size);
            ck_assert_int_ge (s_utf8_chars (buffer), 0);
            for (size_t index = size; index < sizeof buffer; index++)
                ck_assert_int_eq (buffer [index], '#');
        }
}
END_TEST

START_TEST (a_long_text_keeps_only_four_trailing_characters)
{
    //  Longer than any schema field allows, as a caller may still pass
    char text [301];
    for (size_t index = 0; index < 300; index++)
        text [index] = (char) ('a' + index % 26);
    text [300] = 0;
    char expected [301];
    memcpy (expected, text, 6);
    memset (expected + 6, '*', 290);
    memcpy (expected + 296, text + 296, 5);
    for (size_t size = 300; size < 320; size++) {
        char *mask = malloc (size);
        ht_policy_mask_text (text, mask, size);
        if (size >= 305)
            ck_assert_str_eq (mask, expected);
        else
            ck_assert_uint_lt (strlen (mask), size);
        free (mask);
    }
}
END_TEST

START_TEST (masks_are_outside_the_signature)
{
    ht_record_t *record = s_elder_signed ();
    ht_record_t *seen = s_redact ("finance", record);

    //  A mask changed in the bytes still verifies: it is display only
    size_t size = 0;
    uint8_t *data = s_encode (seen, &size);
    uint8_t *found = memmem (data, size, S_ID_NO_MASK, strlen (S_ID_NO_MASK));
    ck_assert_ptr_nonnull (found);
    memcpy (found, "441802999999990317", strlen (S_ID_NO_MASK));
    ht_record_t *tampered = ht_record_decode (data, size, NULL, NULL);
    ck_assert_ptr_nonnull (tampered);
    ck_assert_int_eq (ht_record_verify (tampered, NULL), 0);
    ck_assert_str_eq (ht_record_get_mask (tampered, "id_no"), "441802999999990317");
    ht_record_destroy (&tampered);
    free (data);

    //  So does one changed through the API
    ck_assert_int_eq (ht_record_set_mask (seen, "id_no", "anything"), 0);
    ck_assert_int_eq (ht_record_verify (seen, NULL), 0);
    ht_record_destroy (&seen);

    //  A mask over a disclosed field would pass off a forged value as
    //  signed: refused
    seen = s_redact ("health", record);
    ck_assert_int_eq (ht_record_set_mask (seen, "name", "李四"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_mask (seen, "id_no", S_ID_NO_MASK), HT_EFIELD);
    ck_assert_ptr_null (ht_record_get_mask (seen, "name"));
    ck_assert_int_eq (ht_record_set_mask (seen, "categories", "低*"), 0);
    ck_assert_int_eq (ht_record_verify (seen, NULL), 0);
    ht_record_destroy (&seen);
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  Facility records

START_TEST (the_public_sees_a_facility_without_its_internal_counts)
{
    ht_record_t *record = s_facility_signed ();
    const ht_kind_t *kind = ht_record_schema (record);
    const char *policies [] = { "public", "partner" };
    for (size_t p = 0; p < S_COUNT (policies); p++) {
        ht_record_t *seen = s_redact (policies [p], record);
        for (size_t index = 0; index < kind->field_count; index++) {
            const ht_field_t *field = &kind->fields [index];
            ht_field_state_t state = ht_record_field_state (seen, field->name);
            //  Only P fields are in the public group
            ck_assert_int_eq (field->sens == HT_SENS_P, field->group == HT_GROUP_PUBLIC);
            if (field->group == HT_GROUP_PUBLIC)
                ck_assert_msg (state == ht_record_field_state (record, field->name),
                               "%s: %s", policies [p], field->name);
            else
                ck_assert_msg (state == HT_FIELD_WITHHELD, "%s sees %s",
                               policies [p], field->name);
            ck_assert_ptr_null (ht_record_get_mask (seen, field->name));
        }
        ck_assert_str_eq (ht_record_get_str (seen, "uscc"), S_USCC);
        ck_assert_str_eq (ht_record_get_str (seen, "name"), "清城区颐康养老院");
        int64_t count = 0;
        ck_assert (ht_record_get_int (seen, "beds_total", &count));
        ck_assert_int_eq (count, 120);
        ck_assert (!ht_record_get_int (seen, "residents", &count));
        ck_assert (!ht_record_get_int (seen, "residents_disabled", &count));
        ck_assert (!ht_record_get_int (seen, "staff", &count));
        ht_record_destroy (&seen);
    }
    //  Every department sees the whole facility
    const char *departments [] = { "civil_affairs", "health", "market_regulation", "fire",
                                   "medical_insurance", "emergency", "finance" };
    for (size_t p = 0; p < S_COUNT (departments); p++) {
        ht_record_t *seen = s_redact (departments [p], record);
        ck_assert_msg (ht_record_is_full (seen), "%s", departments [p]);
        int64_t staff = 0;
        ck_assert (ht_record_get_int (seen, "staff", &staff));
        ck_assert_int_eq (staff, 31);
        ht_record_destroy (&seen);
    }
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  Policy files

//  Parse text, asserting it is refused with a sentence containing expected
static void
s_assert_file_refused (const char *text, const char *expected)
{
    char error [300];
    memset (error, 0, sizeof error);
    ht_policyset_t *set = ht_policyset_parse (text, error, sizeof error);
    ck_assert_msg (set == NULL, "accepted: %s", text);
    ck_assert_msg (strstr (error, expected) != NULL, "error '%s' does not name '%s'",
                   error, expected);
    //  The error buffer is optional
    ck_assert_ptr_null (ht_policyset_parse (text, NULL, 0));
}

//  One policy section named name whose body is body
#define S_POLICY_FILE(name, body) "policy\n    " name "\n" body

START_TEST (a_minimal_policy_file_parses)
{
    char error [300] = "";
    ht_policyset_t *set = ht_policyset_parse (
        S_POLICY_FILE ("reader", "        kinds = \"facility\"\n"), error, sizeof error);
    ck_assert_msg (set != NULL, "%s", error);
    const ht_policy_t *policy = ht_policyset_find (set, "reader");
    ck_assert_ptr_nonnull (policy);
    ck_assert_ptr_eq (ht_policyset_at (set, 0), policy);
    ck_assert_ptr_null (ht_policyset_at (set, 1));
    ck_assert_ptr_null (ht_policyset_find (set, "civil_affairs"));
    ck_assert_str_eq (policy->name, "reader");
    ck_assert_str_eq (policy->summary, "");
    ck_assert_str_eq (policy->region, "");
    ck_assert_uint_eq (policy->purposes, 0);
    //  Groups not named are none: it may read facilities, and see nothing
    ck_assert (ht_policy_permits_kind (policy, "facility"));
    ck_assert (!ht_policy_permits_kind (policy, "elder"));
    ck_assert (!ht_policy_permits_kind (policy, "no_such_kind"));
    for (int group = 0; group < HT_GROUP_COUNT; group++)
        ck_assert_int_eq (policy->access [group], HT_ACCESS_NONE);
    ck_assert_int_eq (ht_policy_kind_access (policy, "facility"), HT_ACCESS_NONE);
    ht_policyset_destroy (&set);
    ck_assert_ptr_null (set);
    ht_policyset_destroy (&set);

    //  Every key, with lists separated by spaces or commas
    set = ht_policyset_parse (
        S_POLICY_FILE ("county_health",
                       "        summary = \"卫健 one county\"\n"
                       "        kinds = \"elder, facility\"\n"
                       "        purposes = \"care_service,assessment\"\n"
                       "        region = \"441802\"\n"
                       "        access\n"
                       "            public = full\n"
                       "            identity = masked\n"
                       "            ability = count\n"),
        error, sizeof error);
    ck_assert_msg (set != NULL, "%s", error);
    policy = ht_policyset_find (set, "county_health");
    ck_assert_str_eq (policy->summary, "卫健 one county");
    ck_assert_str_eq (policy->region, "441802");
    ck_assert (ht_policy_permits_kind (policy, "elder"));
    ck_assert (ht_policy_permits_kind (policy, "facility"));
    ck_assert (!ht_policy_permits_kind (policy, "credit"));
    ck_assert_int_eq (policy->access [HT_GROUP_PUBLIC], HT_ACCESS_FULL);
    ck_assert_int_eq (policy->access [HT_GROUP_IDENTITY], HT_ACCESS_MASKED);
    ck_assert_int_eq (policy->access [HT_GROUP_ABILITY], HT_ACCESS_COUNT);
    ck_assert_int_eq (policy->access [HT_GROUP_ID_NO], HT_ACCESS_NONE);
    ck_assert_int_eq (ht_policy_kind_access (policy, "elder"), HT_ACCESS_MASKED);
    const char *reason = NULL;
    ck_assert_int_eq (ht_policy_check_purpose (policy, "assessment", &reason), HT_OK);
    ck_assert_int_eq (ht_policy_check_purpose (policy, "care_service", &reason), HT_OK);
    ck_assert_int_eq (ht_policy_check_purpose (policy, "subsidy_review", &reason), HT_EPURPOSE);
    ht_policyset_destroy (&set);
}
END_TEST

START_TEST (a_policy_file_with_a_mistake_is_refused_naming_it)
{
    s_assert_file_refused (S_POLICY_FILE ("x", "        kinds = \"elder\"\n"
                                               "        access\n"
                                               "            identiti = full\n"),
                           "policy/x/access: unknown field group 'identiti'");
    s_assert_file_refused (S_POLICY_FILE ("x", "        kinds = \"elder\"\n"
                                               "        access\n"
                                               "            identity = partial\n"),
                           "policy/x/access/identity: 'partial' is not none, count, "
                           "masked or full");
    s_assert_file_refused (S_POLICY_FILE ("x", "        kinds = \"elder\"\n"
                                               "        access\n"
                                               "            identity = Full\n"),
                           "'Full' is not none");
    s_assert_file_refused (S_POLICY_FILE ("x", "        kinds = \"elder pets\"\n"),
                           "policy/x/kinds: unknown kind 'pets'");
    s_assert_file_refused (S_POLICY_FILE ("x", "        kinds = \"elder\"\n"
                                               "        purposes = \"care_service fun\"\n"),
                           "policy/x/purposes: unknown purpose 'fun'");
    s_assert_file_refused ("policy\n"
                           "    x\n"
                           "        kinds = \"elder\"\n"
                           "    y\n"
                           "        kinds = \"elder\"\n"
                           "    x\n"
                           "        kinds = \"facility\"\n",
                           "policy/x is defined twice");
    s_assert_file_refused (S_POLICY_FILE ("x", "        summary = \"no kinds\"\n"
                                               "        access\n"
                                               "            public = full\n"),
                           "policy/x: kinds is required");
    s_assert_file_refused (S_POLICY_FILE ("x", "        kinds = \"elder\"\n"
                                               "        colour = \"red\"\n"),
                           "policy/x: unknown key 'colour'");
    s_assert_file_refused (S_POLICY_FILE ("x", "        kinds = \"elder\"\n"
                                               "        region = \"4418x\"\n"),
                           "policy/x/region: '4418x' is not a region code or prefix");
    s_assert_file_refused (S_POLICY_FILE ("x", "        kinds = \"elder\"\n"
                                               "        region = \"44180\"\n"),
                           "policy/x/region: '44180' is not a region code or prefix");
    s_assert_file_refused (S_POLICY_FILE ("Civil", "        kinds = \"elder\"\n"),
                           "policy name 'Civil' is not 1-31 of a-z 0-9 _");
    s_assert_file_refused ("policies\n    x\n        kinds = \"elder\"\n",
                           "unknown section 'policies'");
    s_assert_file_refused ("", "no policy section");
    s_assert_file_refused (NULL, "not valid ZPL");
    //  One mistake refuses the whole file, however much else is right
    s_assert_file_refused ("policy\n"
                           "    good\n"
                           "        kinds = \"facility\"\n"
                           "    bad\n"
                           "        kinds = \"facility\"\n"
                           "        access\n"
                           "            public = most\n",
                           "policy/bad/access/public");
}
END_TEST

//  Every field of two policies is equal
static void
s_assert_same_policy (const ht_policy_t *a, const ht_policy_t *b)
{
    ck_assert_str_eq (a->name, b->name);
    ck_assert_str_eq (a->summary, b->summary);
    for (int group = 0; group < HT_GROUP_COUNT; group++)
        ck_assert_msg (a->access [group] == b->access [group], "%s: %s", a->name,
                       ht_group_name ((ht_group_t) group));
    ck_assert_uint_eq (a->kinds, b->kinds);
    ck_assert_uint_eq (a->purposes, b->purposes);
    ck_assert_str_eq (a->region, b->region);
}

START_TEST (the_shipped_policy_file_loads_as_the_built_in_set)
{
    char error [300] = "";
    ht_policyset_t *set = ht_policyset_load (HT_SOURCE_DIR "/conf/policy.cfg", error,
                                             sizeof error);
    ck_assert_msg (set != NULL, "%s", error);
    size_t count = 0;
    for (; ht_policyset_at (set, count); count++) {
        const ht_policy_t *loaded = ht_policyset_at (set, count);
        const ht_policy_t *built_in = ht_policy_at (count);
        ck_assert_msg (built_in != NULL, "%s is not built in", loaded->name);
        s_assert_same_policy (loaded, built_in);
        s_assert_same_policy (ht_policyset_find (set, loaded->name),
                              ht_policy_find (loaded->name));
    }
    ck_assert_uint_eq (count, S_COUNT (s_names));
    ck_assert_ptr_null (ht_policy_at (count));
    //  NULL asks the built-in set
    ck_assert_ptr_eq (ht_policyset_find (NULL, "health"), ht_policy_find ("health"));
    ck_assert_ptr_eq (ht_policyset_at (NULL, 0), ht_policy_at (0));
    ck_assert_ptr_eq (ht_policyset_at (ht_policyset_default (), 3), ht_policy_at (3));
    ht_policyset_destroy (&set);
}
END_TEST

START_TEST (loading_a_missing_or_wrong_policy_file_names_the_file)
{
    char error [400] = "";
    ck_assert_ptr_null (ht_policyset_load ("/nonexistent/policy.cfg", error, sizeof error));
    ck_assert_ptr_nonnull (strstr (error, "cannot read /nonexistent/policy.cfg"));
    ck_assert_ptr_null (ht_policyset_load (NULL, error, sizeof error));
    char path [] = "/tmp/ht_policy_XXXXXX";
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    const char *text = S_POLICY_FILE ("x", "        kinds = \"elder\"\n"
                                           "        colour = \"red\"\n");
    ck_assert_int_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    ck_assert_ptr_null (ht_policyset_load (path, error, sizeof error));
    ck_assert_msg (strncmp (error, path, strlen (path)) == 0, "%s", error);
    ck_assert_ptr_nonnull (strstr (error, "unknown key 'colour'"));
    unlink (path);
}
END_TEST

START_TEST (access_names_parse_and_print_both_ways)
{
    const char *names [] = { "none", "count", "masked", "full" };
    for (int index = 0; index < (int) S_COUNT (names); index++) {
        ck_assert_int_eq (ht_access_parse (names [index]), index);
        ck_assert_str_eq (ht_access_name ((ht_access_t) index), names [index]);
    }
    ck_assert_int_eq (ht_access_parse ("Full"), -1);
    ck_assert_int_eq (ht_access_parse (""), -1);
    ck_assert_int_eq (ht_access_parse (NULL), -1);
    ck_assert_str_eq (ht_access_name ((ht_access_t) 4), "?");
}
END_TEST

//  --------------------------------------------------------------------------
//  Purposes

START_TEST (only_personal_purposes_a_policy_lists_justify_personal_fields)
{
    const ht_policy_t *civil = s_policy ("civil_affairs");
    struct { const char *purpose; int expected; } cases [] = {
        { NULL, HT_ENOPURPOSE },
        { "", HT_ENOPURPOSE },
        { "statistics", HT_EPURPOSE },          //  never personal
        { "operations", HT_EPURPOSE },
        { "sightseeing", HT_EPURPOSE },         //  unknown
        { "subsidy_review ", HT_EPURPOSE },
        { "medical_insurance", HT_EPURPOSE },   //  personal, not civil affairs'
        { "subsidy_review", HT_OK },
        { "audit_review", HT_OK },
    };
    for (size_t index = 0; index < S_COUNT (cases); index++) {
        const char *reason = NULL;
        int rc = ht_policy_check_purpose (civil, cases [index].purpose, &reason);
        ck_assert_msg (rc == cases [index].expected, "%s: %d",
                       cases [index].purpose? cases [index].purpose: "(null)", rc);
        if (rc != HT_OK)
            ck_assert (reason != NULL && *reason);
    }
    //  The public lists none; the operator only audit review
    const char *reason = NULL;
    ck_assert_int_eq (ht_policy_check_purpose (s_policy ("public"), "care_service", &reason),
                      HT_EPURPOSE);
    ck_assert_int_eq (ht_policy_check_purpose (s_policy ("operator"), "audit_review", &reason),
                      HT_OK);
    ck_assert_int_eq (ht_policy_check_purpose (s_policy ("operator"), "inspection", &reason),
                      HT_EPURPOSE);
    ck_assert_int_eq (ht_policy_check_purpose (s_policy ("emergency"), "emergency_response",
                                               &reason), HT_OK);
    //  A policy file may list statistics, and it still justifies nothing
    char error [300] = "";
    ht_policyset_t *set = ht_policyset_parse (
        S_POLICY_FILE ("stats", "        kinds = \"elder\"\n"
                                "        purposes = \"statistics care_service\"\n"),
        error, sizeof error);
    ck_assert_msg (set != NULL, "%s", error);
    const ht_policy_t *stats = ht_policyset_find (set, "stats");
    ck_assert_int_eq (ht_policy_check_purpose (stats, "care_service", &reason), HT_OK);
    ck_assert_int_eq (ht_policy_check_purpose (stats, "statistics", &reason), HT_EPURPOSE);
    ht_policyset_destroy (&set);
}
END_TEST

START_TEST (the_purpose_table_marks_statistics_and_operations_not_personal)
{
    size_t count = 0;
    for (; ht_purpose_at (count); count++) {
        const ht_purpose_t *purpose = ht_purpose_at (count);
        ck_assert_ptr_eq (ht_purpose_find (purpose->code), purpose);
        ck_assert_uint_gt (strlen (purpose->label), 0);
        bool statistical = strcmp (purpose->code, "statistics") == 0
                        || strcmp (purpose->code, "operations") == 0;
        ck_assert_int_eq (purpose->personal, !statistical);
    }
    ck_assert_uint_eq (count, 9);
    ck_assert_ptr_null (ht_purpose_at (SIZE_MAX));
    ck_assert_ptr_null (ht_purpose_find ("nonexistent"));
    ck_assert_ptr_null (ht_purpose_find (NULL));
    ck_assert_ptr_nonnull (ht_purpose_find ("subsidy_review"));
    //  No shipped policy lists a purpose that could never justify anything
    for (size_t p = 0; ht_policy_at (p); p++)
        for (size_t index = 0; ht_purpose_at (index); index++)
            if (!ht_purpose_at (index)->personal)
                ck_assert_msg (!(ht_policy_at (p)->purposes & (1u << index)),
                               "%s lists %s", ht_policy_at (p)->name,
                               ht_purpose_at (index)->code);
}
END_TEST

//  --------------------------------------------------------------------------
//  Views

//  The view's names equal expected, in order
static void
s_assert_names (const char *const *names, size_t count, const char *const *expected,
                size_t expected_count, const char *what)
{
    ck_assert_msg (count == expected_count, "%s: %zu names, expected %zu", what, count,
                   expected_count);
    for (size_t index = 0; index < count; index++)
        ck_assert_msg (strcmp (names [index], expected [index]) == 0, "%s [%zu]: %s, expected %s",
                       what, index, names [index], expected [index]);
}

START_TEST (a_view_lists_the_personal_fields_a_policy_discloses_and_masks)
{
    ht_record_t *record = s_elder_signed ();
    size_t elder_fields = ht_record_schema (record)->field_count;
    ht_policy_view_t view;
    //  Civil affairs: every PI / S field with a value, in full
    static const char *const all [] = {
        "ability_level", "address", "birth_date", "care_level", "categories", "ethnicity",
        "hukou_region", "id_no", "living", "name", "phone", "sex", "status" };
    ht_policy_view (s_policy ("civil_affairs"), record, &view);
    ck_assert_uint_eq (view.visible, elder_fields);
    ck_assert (view.personal);
    s_assert_names (view.disclosed, view.disclosed_count, all, S_COUNT (all), "civil disclosed");
    ck_assert_uint_eq (view.masked_count, 0);
    //  Health: categories and ethnicity are masked, and neither shows a mask
    static const char *const health [] = {
        "ability_level", "address", "birth_date", "care_level", "hukou_region", "id_no",
        "living", "name", "phone", "sex", "status" };
    ht_policy_view (s_policy ("health"), record, &view);
    ck_assert_uint_eq (view.visible, elder_fields);
    s_assert_names (view.disclosed, view.disclosed_count, health, S_COUNT (health),
                    "health disclosed");
    ck_assert_uint_eq (view.masked_count, 0);
    //  Finance: masks of texts of seven characters or more, nothing in full
    static const char *const finance [] = {
        "address", "birth_date", "hukou_region", "id_no", "phone" };
    ht_policy_view (s_policy ("finance"), record, &view);
    ck_assert (view.personal);
    ck_assert_uint_eq (view.disclosed_count, 0);
    s_assert_names (view.masked, view.masked_count, finance, S_COUNT (finance), "finance masked");
    //  A partner: identity and ability masked, no ID number at all
    static const char *const partner [] = { "address", "birth_date", "hukou_region", "phone" };
    ht_policy_view (s_policy ("partner"), record, &view);
    ck_assert_uint_eq (view.disclosed_count, 0);
    s_assert_names (view.masked, view.masked_count, partner, S_COUNT (partner), "partner masked");
    //  emergency_declared: no ID number
    ht_policy_view (s_policy ("emergency_declared"), record, &view);
    for (size_t index = 0; index < view.disclosed_count; index++)
        ck_assert_str_ne (view.disclosed [index], "id_no");
    ck_assert_uint_eq (view.disclosed_count, S_COUNT (all) - 1);
    //  Counts only, or nothing: no field visible, nothing personal
    const char *blind [] = { "emergency", "fire", "operator", "market_regulation", "public" };
    for (size_t index = 0; index < S_COUNT (blind); index++) {
        ht_policy_view (s_policy (blind [index]), record, &view);
        ck_assert_msg (view.visible == 0, "%s sees %zu fields", blind [index], view.visible);
        ck_assert (!view.personal);
        ck_assert_uint_eq (view.disclosed_count + view.masked_count, 0);
    }
    ht_record_destroy (&record);
    //  A facility has no personal field: visible, never personal
    record = s_facility_signed ();
    ht_policy_view (s_policy ("public"), record, &view);
    ck_assert_uint_gt (view.visible, 0);
    ck_assert (!view.personal);
    ht_policy_view (s_policy ("full"), record, &view);
    ck_assert_uint_eq (view.visible, ht_record_schema (record)->field_count);
    ck_assert (!view.personal);
    ck_assert_uint_eq (view.disclosed_count + view.masked_count, 0);
    ht_record_destroy (&record);
}
END_TEST

static Suite *
policy_suite (void)
{
    Suite *suite = suite_create ("ht_policy");
    TCase *tc = tcase_create ("table");
    tcase_add_test (tc, every_named_policy_exists_and_an_unknown_name_does_not);
    tcase_add_test (tc, the_policy_listing_holds_each_policy_once_and_then_ends);
    tcase_add_test (tc, the_access_table_matches_domain_section_6);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("redaction");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, civil_affairs_sees_the_id_number);
    tcase_add_test (tc, market_regulation_sees_no_elder_record);
    tcase_add_test (tc, fire_and_emergency_see_only_counts_of_elders);
    tcase_add_test (tc, a_partner_sees_an_elder_record_with_masks_and_no_disclosed_field);
    tcase_add_test (tc, health_discloses_identity_but_withholds_categories);
    tcase_add_test (tc, every_field_follows_its_group_under_every_policy);
    tcase_add_test (tc, every_redacted_record_verifies_and_holds_none_of_its_withheld_values);
    tcase_add_test (tc, the_full_policy_returns_the_record_unchanged);
    tcase_add_test (tc, finance_sees_masks_of_long_texts_only);
    tcase_add_test (tc, a_mask_starts_at_the_minimum_length);
    tcase_add_test (tc, the_public_sees_a_facility_without_its_internal_counts);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("masks");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, masks_keep_the_documented_heads_and_tails);
    tcase_add_test (tc, masking_chinese_text_keeps_whole_characters);
    tcase_add_test (tc, a_mask_never_writes_past_its_buffer);
    tcase_add_test (tc, a_long_text_keeps_only_four_trailing_characters);
    tcase_add_test (tc, masks_are_outside_the_signature);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("files");
    tcase_add_test (tc, a_minimal_policy_file_parses);
    tcase_add_test (tc, a_policy_file_with_a_mistake_is_refused_naming_it);
    tcase_add_test (tc, the_shipped_policy_file_loads_as_the_built_in_set);
    tcase_add_test (tc, loading_a_missing_or_wrong_policy_file_names_the_file);
    tcase_add_test (tc, access_names_parse_and_print_both_ways);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("purposes and views");
    tcase_add_unchecked_fixture (tc, ht_read_sodium_setup, NULL);
    tcase_add_test (tc, only_personal_purposes_a_policy_lists_justify_personal_fields);
    tcase_add_test (tc, the_purpose_table_marks_statistics_and_operations_not_personal);
    tcase_add_test (tc, a_view_lists_the_personal_fields_a_policy_discloses_and_masks);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (policy_suite)
