//  test_schema: the schema registry as data — tables sorted bytewise (the
//  order field digests are signed in), sizes within bounds, lookups, and
//  the consistency between a kind's key, subtype and field rules.
#include "ht_schema.h"
#include "ht_record.h"
#include "ht_test.h"

#include <string.h>

//  Split a space-separated list into words; returns how many
static size_t
s_words (const char *list, char words [][32], size_t capacity)
{
    size_t count = 0;
    const char *cursor = list;
    while (cursor && *cursor && count < capacity) {
        size_t length = strcspn (cursor, " ");
        ck_assert_uint_lt (length, 32);
        memcpy (words [count], cursor, length);
        words [count][length] = 0;
        count++;
        cursor += length;
        cursor += strspn (cursor, " ");
    }
    return count;
}

START_TEST (every_field_table_is_sorted_strictly_bytewise)
{
    ck_assert_uint_gt (ht_schema_kind_count (), 0);
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        ck_assert_ptr_nonnull (kind);
        ck_assert_uint_gt (kind->field_count, 0);
        for (size_t field = 1; field < kind->field_count; field++)
            ck_assert_msg (strcmp (kind->fields [field - 1].name, kind->fields [field].name) < 0,
                           "%s: %s before %s", kind->name, kind->fields [field - 1].name,
                           kind->fields [field].name);
    }
}
END_TEST

START_TEST (every_kind_has_fewer_fields_than_the_slot_limit)
{
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        ck_assert_msg (kind->field_count < HT_FIELD_MAX_COUNT, "%s has %zu fields",
                       kind->name, kind->field_count);
        ck_assert_uint_le (strlen (kind->name), HT_KIND_MAX_CHARS);
    }
}
END_TEST

START_TEST (every_kind_is_found_by_name)
{
    const char *expected [] = { "cert", "credit", "elder", "facility", "revocation" };
    for (size_t index = 0; index < sizeof expected / sizeof expected [0]; index++) {
        const ht_kind_t *kind = ht_schema_kind (expected [index]);
        ck_assert_msg (kind != NULL, "no kind %s", expected [index]);
        ck_assert_str_eq (kind->name, expected [index]);
    }
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        ck_assert_ptr_eq (ht_schema_kind (kind->name), kind);
        //  Kind names are sorted too, and unique
        if (index > 0)
            ck_assert_int_lt (strcmp (ht_schema_kind_at (index - 1)->name, kind->name), 0);
    }
}
END_TEST

START_TEST (an_unknown_kind_is_null)
{
    ck_assert_ptr_null (ht_schema_kind ("dragon"));
    ck_assert_ptr_null (ht_schema_kind (""));
    ck_assert_ptr_null (ht_schema_kind ("Elder"));
    ck_assert_ptr_null (ht_schema_kind ("elder "));
    ck_assert_ptr_null (ht_schema_kind_at (ht_schema_kind_count ()));
    ck_assert_ptr_null (ht_schema_kind_at ((size_t) -1));
}
END_TEST

START_TEST (fields_are_found_by_name_in_their_kind)
{
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        for (size_t field = 0; field < kind->field_count; field++)
            ck_assert_int_eq (ht_schema_field_index (kind, kind->fields [field].name), (int) field);
        ck_assert_int_eq (ht_schema_field_index (kind, "no_such_field"), -1);
        ck_assert_int_eq (ht_schema_field_index (kind, ""), -1);
    }
    const ht_kind_t *elder = ht_schema_kind ("elder");
    ck_assert_int_ge (ht_schema_field_index (elder, "id_no"), 0);
    ck_assert_int_eq (ht_schema_field_index (elder, "uscc"), -1);
}
END_TEST

START_TEST (field_rules_are_within_their_types_bounds)
{
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        for (size_t field = 0; field < kind->field_count; field++) {
            const ht_field_t *rule = &kind->fields [field];
            ck_assert (rule->type >= HT_TYPE_STR && rule->type <= HT_TYPE_BIN);
            ck_assert (rule->sens <= HT_SENS_S);
            ck_assert (rule->group < HT_GROUP_COUNT);
            ck_assert_msg (rule->min <= rule->max || rule->type == HT_TYPE_BOOL,
                           "%s.%s: min > max", kind->name, rule->name);
            if (rule->type == HT_TYPE_BIN)
                ck_assert_int_gt (rule->max, 0);
            if (rule->choices)
                ck_assert (rule->type == HT_TYPE_STR || rule->type == HT_TYPE_STRS);
            ck_assert_uint_lt (strlen (rule->name), 64);   //  the decoder's name buffer
        }
    }
}
END_TEST

START_TEST (key_and_subtype_fields_exist_in_their_tables)
{
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        char words [8][32];
        size_t count = s_words (kind->key_fields, words, 8);
        if (kind->key_rule != HT_KEY_GIVEN)
            ck_assert_uint_gt (count, 0);
        for (size_t word = 0; word < count; word++)
            ck_assert_msg (ht_schema_field_index (kind, words [word]) >= 0,
                           "%s: key field %s missing", kind->name, words [word]);
        if (kind->key_rule == HT_KEY_HEX) {
            int field = ht_schema_field_index (kind, kind->key_fields);
            ck_assert_int_eq (kind->fields [field].type, HT_TYPE_BIN);
        }
        if (kind->key_fallback)
            ck_assert_int_ge (ht_schema_field_index (kind, kind->key_fallback), 0);
        if (kind->subtype_field) {
            int field = ht_schema_field_index (kind, kind->subtype_field);
            ck_assert_int_ge (field, 0);
            ck_assert_int_eq (kind->fields [field].type, HT_TYPE_STR);
            ck_assert (kind->fields [field].required);
            ck_assert_ptr_nonnull (kind->fields [field].choices);
        }
    }
}
END_TEST

START_TEST (every_named_subtype_is_an_allowed_value)
{
    //  A typo in a table ("inspecton") would silently drop a field
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        const char *const *choices = NULL;
        if (kind->subtype_field)
            choices = kind->fields [ht_schema_field_index (kind, kind->subtype_field)].choices;
        for (size_t field = 0; field < kind->field_count; field++) {
            if (!kind->fields [field].subtypes)
                continue;
            ck_assert_msg (choices != NULL, "%s.%s names subtypes of a kind without them",
                           kind->name, kind->fields [field].name);
            char words [8][32];
            size_t count = s_words (kind->fields [field].subtypes, words, 8);
            ck_assert_uint_gt (count, 0);
            for (size_t word = 0; word < count; word++) {
                bool known = false;
                for (const char *const *choice = choices; *choice && !known; choice++)
                    known = strcmp (*choice, words [word]) == 0;
                ck_assert_msg (known, "%s.%s: unknown subtype %s", kind->name,
                               kind->fields [field].name, words [word]);
                ck_assert (ht_schema_field_in_subtype (&kind->fields [field], words [word]));
            }
        }
    }
}
END_TEST

START_TEST (subtype_membership_matches_whole_words)
{
    const ht_kind_t *credit = ht_schema_kind ("credit");
    const ht_field_t *fine = &credit->fields [ht_schema_field_index (credit, "fine")];
    const ht_field_t *deadline = &credit->fields [ht_schema_field_index (credit, "deadline")];
    const ht_field_t *date = &credit->fields [ht_schema_field_index (credit, "date")];

    ck_assert (ht_schema_field_in_subtype (fine, "penalty"));
    ck_assert (!ht_schema_field_in_subtype (fine, "inspection"));
    ck_assert (!ht_schema_field_in_subtype (fine, "penalt"));
    ck_assert (!ht_schema_field_in_subtype (fine, "enalty"));
    ck_assert (!ht_schema_field_in_subtype (fine, "penaltyx"));
    //  A list of two: both members, each found as a whole word
    ck_assert (ht_schema_field_in_subtype (deadline, "inspection"));
    ck_assert (ht_schema_field_in_subtype (deadline, "rectification"));
    ck_assert (!ht_schema_field_in_subtype (deadline, "rating"));
    ck_assert (!ht_schema_field_in_subtype (deadline, "spection"));
    //  No list: every subtype; no subtype: every field
    ck_assert (ht_schema_field_in_subtype (date, "rating"));
    ck_assert (ht_schema_field_in_subtype (date, "anything"));
    ck_assert (ht_schema_field_in_subtype (fine, NULL));
}
END_TEST

START_TEST (an_empty_subtype_belongs_nowhere_and_returns)
{
    const ht_kind_t *credit = ht_schema_kind ("credit");
    const ht_field_t *fine = &credit->fields [ht_schema_field_index (credit, "fine")];
    const ht_field_t *date = &credit->fields [ht_schema_field_index (credit, "date")];
    ck_assert (!ht_schema_field_in_subtype (fine, ""));
    ck_assert (ht_schema_field_in_subtype (date, ""));
}
END_TEST

START_TEST (sensitivity_and_group_names_are_stable)
{
    ck_assert_str_eq (ht_sens_name (HT_SENS_P), "P");
    ck_assert_str_eq (ht_sens_name (HT_SENS_I), "I");
    ck_assert_str_eq (ht_sens_name (HT_SENS_PI), "PI");
    ck_assert_str_eq (ht_sens_name (HT_SENS_S), "S");
    ck_assert_str_eq (ht_sens_name ((ht_sens_t) 9), "?");
    ck_assert_str_eq (ht_group_name (HT_GROUP_PUBLIC), "public");
    ck_assert_str_eq (ht_group_name (HT_GROUP_ID_NO), "id_no");
    ck_assert_str_eq (ht_group_name (HT_GROUP_SUBSIDY), "subsidy");
    ck_assert_str_eq (ht_group_name (HT_GROUP_COUNT), "?");
    for (int group = 0; group < HT_GROUP_COUNT; group++)
        ck_assert_str_ne (ht_group_name ((ht_group_t) group), "?");
}
END_TEST

START_TEST (personal_identifiers_are_sensitive_and_in_their_group)
{
    //  The read policies rely on these: an ID number must never be public
    const ht_kind_t *elder = ht_schema_kind ("elder");
    const ht_field_t *id_no = &elder->fields [ht_schema_field_index (elder, "id_no")];
    ck_assert_int_eq (id_no->sens, HT_SENS_S);
    ck_assert_int_eq (id_no->group, HT_GROUP_ID_NO);
    const ht_kind_t *credit = ht_schema_kind ("credit");
    const ht_field_t *subject = &credit->fields [ht_schema_field_index (credit, "subject_id_no")];
    ck_assert_int_eq (subject->group, HT_GROUP_ID_NO);
    for (size_t field = 0; field < elder->field_count; field++)
        ck_assert_int_ne (elder->fields [field].sens, HT_SENS_P);
}
END_TEST

static Suite *
schema_suite (void)
{
    Suite *suite = suite_create ("ht_schema");
    TCase *tc = tcase_create ("tables");
    tcase_add_test (tc, every_field_table_is_sorted_strictly_bytewise);
    tcase_add_test (tc, every_kind_has_fewer_fields_than_the_slot_limit);
    tcase_add_test (tc, every_kind_is_found_by_name);
    tcase_add_test (tc, an_unknown_kind_is_null);
    tcase_add_test (tc, fields_are_found_by_name_in_their_kind);
    tcase_add_test (tc, field_rules_are_within_their_types_bounds);
    tcase_add_test (tc, key_and_subtype_fields_exist_in_their_tables);
    tcase_add_test (tc, every_named_subtype_is_an_allowed_value);
    tcase_add_test (tc, subtype_membership_matches_whole_words);
    tcase_add_test (tc, an_empty_subtype_belongs_nowhere_and_returns);
    tcase_add_test (tc, sensitivity_and_group_names_are_stable);
    tcase_add_test (tc, personal_identifiers_are_sensitive_and_in_their_group);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (schema_suite)
