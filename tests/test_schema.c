//  test_schema: the schema registry as data — tables sorted bytewise (the
//  order field digests are signed in), limits that fit their types,
//  lookups, the consistency between a kind's key, subtype and field
//  rules — and schema versions: a kind that gains a field in a new
//  version leaves every record of the old version verifiable, and a
//  reader one version behind refuses only the new version's records.
#include "ht_schema.h"
#include "ht_record.h"
#include "ht_keys.h"
#include "ht_hlc.h"
#include "ht_test.h"
#include "ht_next_release.h"

#include <sodium.h>
#include <string.h>

#define S_JAN_2026_MS 1767225600000ULL     //  2026-01-01T00:00:00Z

//  Number of items of a NULL-terminated list
static size_t
s_count (const char *const *list)
{
    size_t count = 0;
    while (list && list [count])
        count++;
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

//  Check that a field sets the limits of its type, and only those
static void
s_assert_limits (const ht_kind_t *kind, const ht_field_t *rule)
{
    bool text = rule->type == HT_TYPE_STR || rule->type == HT_TYPE_STRS;
    if (text) {
        ck_assert_msg (rule->min_chars >= 1 && rule->min_chars <= rule->max_chars,
                       "%s.%s: chars %u..%u", kind->name, rule->name,
                       rule->min_chars, rule->max_chars);
    }
    else {
        ck_assert_msg (rule->min_chars == 0 && rule->max_chars == 0 && !rule->choices
                       && !rule->rule, "%s.%s: text limits on a non-text field",
                       kind->name, rule->name);
    }
    if (rule->type == HT_TYPE_INT)
        ck_assert_msg (rule->min <= rule->max, "%s.%s: min > max", kind->name, rule->name);
    else
        ck_assert_msg (rule->min == 0 && rule->max == 0, "%s.%s: INT limits on a %s",
                       kind->name, rule->name, ht_type_name (rule->type));
    if (rule->type == HT_TYPE_STRS)
        ck_assert_msg (rule->min_items <= rule->max_items && rule->max_items > 0,
                       "%s.%s: items %u..%u", kind->name, rule->name,
                       rule->min_items, rule->max_items);
    else
        ck_assert_msg (rule->min_items == 0 && rule->max_items == 0,
                       "%s.%s: item limits on a %s", kind->name, rule->name,
                       ht_type_name (rule->type));
    if (rule->type == HT_TYPE_BIN)
        ck_assert_msg (rule->bytes > 0, "%s.%s: no size", kind->name, rule->name);
    else
        ck_assert_msg (rule->bytes == 0, "%s.%s: a size on a %s", kind->name, rule->name,
                       ht_type_name (rule->type));
}

START_TEST (field_rules_are_within_their_types_bounds)
{
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        for (size_t field = 0; field < kind->field_count; field++) {
            const ht_field_t *rule = &kind->fields [field];
            ck_assert (rule->type >= HT_TYPE_STR && rule->type <= HT_TYPE_BIN);
            ck_assert (rule->sens <= HT_SENS_S);
            ck_assert (rule->group < HT_GROUP_COUNT);
            s_assert_limits (kind, rule);
            ck_assert_uint_lt (strlen (rule->name), 64);   //  the decoder's name buffer
            if (rule->rule) {
                ck_assert_ptr_nonnull (rule->rule->check);
                ck_assert_uint_gt (strlen (rule->rule->name), 0);
                ck_assert_uint_gt (strlen (rule->rule->label), 0);
            }
        }
    }
}
END_TEST

START_TEST (every_field_names_a_version_its_kind_has)
{
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        uint16_t highest = 0;
        for (size_t field = 0; field < kind->field_count; field++) {
            uint16_t since = kind->fields [field].since;
            ck_assert_msg (since >= 1 && since <= kind->version, "%s.%s: since %u, kind at %u",
                           kind->name, kind->fields [field].name, since, kind->version);
            highest = since > highest? since: highest;
            ck_assert (ht_schema_field_in_version (&kind->fields [field], kind->version));
            ck_assert (!ht_schema_field_in_version (&kind->fields [field], since - 1));
        }
        //  The current version is the one that introduced the newest field
        ck_assert_uint_eq (highest, kind->version);
        ck_assert_uint_eq (ht_schema_write_version (kind), kind->version);
    }
}
END_TEST

START_TEST (the_cert_buffers_hold_the_schemas_longest_texts)
{
    const ht_kind_t *cert = ht_schema_kind ("cert");
    const ht_field_t *name = &cert->fields [ht_schema_field_index (cert, "name")];
    const ht_field_t *department = &cert->fields [ht_schema_field_index (cert, "department")];
    const ht_field_t *policy = &cert->fields [ht_schema_field_index (cert, "policy")];
    const ht_field_t *kinds = &cert->fields [ht_schema_field_index (cert, "kinds")];
    ck_assert_uint_eq (name->max_chars, HT_CERT_NAME_MAX_CHARS);
    ck_assert_uint_eq (department->max_chars, HT_CERT_CODE_MAX_CHARS);
    ck_assert_uint_eq (policy->max_chars, HT_CERT_CODE_MAX_CHARS);
    ck_assert_uint_eq (kinds->max_items, HT_CERT_MAX_KINDS);
    ck_assert_uint_eq (HT_TEXT_BYTES (HT_CERT_NAME_MAX_CHARS), 4 * 63 + 1);
}
END_TEST

START_TEST (key_and_subtype_fields_exist_in_their_tables)
{
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        size_t count = s_count (kind->key_fields);
        if (kind->key_rule != HT_KEY_GIVEN)
            ck_assert_uint_gt (count, 0);
        //  Keys are derived from version 1 fields: a record's key must not
        //  depend on which version wrote it, or two nodes would diverge
        for (size_t word = 0; word < count; word++) {
            int field = ht_schema_field_index (kind, kind->key_fields [word]);
            ck_assert_msg (field >= 0, "%s: key field %s missing", kind->name,
                           kind->key_fields [word]);
            ck_assert_uint_eq (kind->fields [field].since, 1);
        }
        if (kind->key_rule == HT_KEY_HEX) {
            ck_assert_uint_eq (count, 1);
            int field = ht_schema_field_index (kind, kind->key_fields [0]);
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
            ck_assert_uint_eq (kind->fields [field].since, 1);
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
            const char *const *words = kind->fields [field].subtypes;
            size_t count = s_count (words);
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
    ck_assert_str_eq (ht_type_name (HT_TYPE_STR), "str");
    ck_assert_str_eq (ht_type_name (HT_TYPE_STRS), "strs");
    ck_assert_str_eq (ht_type_name (HT_TYPE_BIN), "bin");
    ck_assert_str_eq (ht_type_name ((ht_type_t) 0), "?");
    ck_assert_str_eq (ht_type_name ((ht_type_t) 9), "?");
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

//  --------------------------------------------------------------------------
//  Schema versions. The next release is played by a registry of our own:
//  the built-in kinds, with facility at version 2, which adds one optional
//  field in the middle of the sorted table. The built-in registry is the
//  reader one version behind.

#define S_NEW_FIELD HT_NEXT_RELEASE_FIELD

//  The next release's registry (tests/ht_next_release.h)
static const ht_registry_t *
s_next_release (void)
{
    return ht_next_release ();
}

//  A valid facility of the kind's write version, signed
static ht_record_t *
s_facility (const ht_kind_t *kind, uint16_t version, bool barrier_free)
{
    ck_assert_int_ge (sodium_init (), 0);
    ht_record_t *record = ht_record_new_of (kind);
    ck_assert_int_eq (ht_record_set_schema_version (record, version), 0);
    ck_assert_int_eq (ht_record_set_str (record, "name", "清城区社会福利院"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "institution"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "status", "open"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "serial", "7"), 0);
    ck_assert_int_eq (ht_record_set_int (record, "beds_total", 120), 0);
    if (barrier_free)
        ck_assert_int_eq (ht_record_set_bool (record, S_NEW_FIELD, true), 0);
    ck_assert_int_eq (ht_record_set_region (record, "441802001001"), 0);
    ck_assert_int_eq (ht_record_set_scope (record, "441802000000"), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ht_record_set_hlc (record, ht_hlc_make (S_JAN_2026_MS, 0));
    uint8_t seed [32];
    memset (seed, 0x5a, sizeof seed);
    ht_keypair_t *key = ht_keypair_from_seed (seed, "versions");
    ck_assert_int_eq (ht_record_sign (record, key), 0);
    ht_keypair_destroy (&key);
    const char *reason = NULL;
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    return record;
}

//  Encode, decode with a registry, and return the decoded record or NULL
//  with *error set
static ht_record_t *
s_round_trip (const ht_record_t *record, const ht_registry_t *registry, int *error)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    *error = 0;
    ht_record_t *decoded = ht_record_decode_with (registry, data, size, error, NULL);
    free (data);
    return decoded;
}

//  True if two records have the same digest
static bool
s_same_digest (const ht_record_t *a, const ht_record_t *b)
{
    uint8_t digest_a [HT_DIGEST_BYTES], digest_b [HT_DIGEST_BYTES];
    ck_assert_int_eq (ht_record_digest (a, digest_a), 0);
    ck_assert_int_eq (ht_record_digest (b, digest_b), 0);
    return memcmp (digest_a, digest_b, HT_DIGEST_BYTES) == 0;
}

START_TEST (a_new_field_in_a_new_version_leaves_old_records_verifiable)
{
    const ht_registry_t *next = s_next_release ();
    const ht_kind_t *facility_v2 = ht_schema_registry_kind (next, "facility");
    ck_assert_uint_eq (facility_v2->version, 2);
    ck_assert_uint_eq (ht_schema_write_version (facility_v2), 2);

    //  A record written by today's release, read by the next one
    ht_record_t *old = s_facility (ht_schema_kind ("facility"), 1, false);
    ck_assert_uint_eq (ht_record_schema_version (old), 1);
    int error = 0;
    ht_record_t *upgraded = s_round_trip (old, next, &error);
    ck_assert_msg (upgraded != NULL, "the next release refuses an old record: %s",
                   ht_errname (error));
    ck_assert_ptr_eq (ht_record_schema (upgraded), facility_v2);
    ck_assert_uint_eq (ht_record_schema_version (upgraded), 1);
    ck_assert_int_eq (ht_record_verify (upgraded, NULL), 0);
    ck_assert (s_same_digest (old, upgraded));
    const char *reason = NULL;
    ck_assert_msg (ht_record_validate (upgraded, &reason) == 0, "%s", reason);
    ck_assert_int_eq (ht_record_field_state (upgraded, S_NEW_FIELD), HT_FIELD_ABSENT);

    //  Its redacted form lists only version 1's fields, and verifies too
    const char *disclose [] = { "name", "type", "status" };
    ht_record_t *redacted = ht_record_redact (old, disclose, 3);
    ck_assert_ptr_nonnull (redacted);
    ht_record_t *redacted_upgraded = s_round_trip (redacted, next, &error);
    ck_assert_msg (redacted_upgraded != NULL, "%s", ht_errname (error));
    ck_assert_int_eq (ht_record_verify (redacted_upgraded, NULL), 0);
    ck_assert (s_same_digest (old, redacted_upgraded));

    //  And the JSON form
    json_t *json = ht_record_to_json (old);
    ck_assert_int_eq (json_integer_value (json_object_get (json, "sv")), 1);
    ht_record_t *parsed = ht_record_from_json_with (next, json, &error, &reason);
    ck_assert_msg (parsed != NULL, "%s", reason);
    ck_assert_int_eq (ht_record_verify (parsed, NULL), 0);
    json_decref (json);

    ht_record_destroy (&parsed);
    ht_record_destroy (&redacted_upgraded);
    ht_record_destroy (&redacted);
    ht_record_destroy (&upgraded);
    ht_record_destroy (&old);
}
END_TEST

START_TEST (a_reader_one_version_behind_refuses_only_the_new_version)
{
    const ht_registry_t *next = s_next_release ();
    const ht_kind_t *facility_v2 = ht_schema_registry_kind (next, "facility");
    int error = 0;

    //  The next release writes version 2: today's release refuses it, by
    //  name, in every form
    ht_record_t *fresh = s_facility (facility_v2, 2, true);
    ck_assert_int_eq (ht_record_verify (fresh, NULL), 0);
    ht_record_t *decoded = s_round_trip (fresh, NULL, &error);
    ck_assert_ptr_null (decoded);
    ck_assert_int_eq (error, HT_ESCHEMAVERSION);
    ck_assert_str_eq (ht_errname (error), "schema_version");
    const char *disclose [] = { "name" };
    ht_record_t *redacted = ht_record_redact (fresh, disclose, 1);
    decoded = s_round_trip (redacted, NULL, &error);
    ck_assert_ptr_null (decoded);
    ck_assert_int_eq (error, HT_ESCHEMAVERSION);
    json_t *json = ht_record_to_json (fresh);
    const char *reason = NULL;
    ck_assert_ptr_null (ht_record_from_json (json, &error, &reason));
    ck_assert_int_eq (error, HT_ESCHEMAVERSION);
    json_decref (json);
    //  ... while the next release reads it
    decoded = s_round_trip (fresh, next, &error);
    ck_assert_msg (decoded != NULL, "%s", ht_errname (error));
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    bool value = false;
    ck_assert (ht_record_get_bool (decoded, S_NEW_FIELD, &value) && value);
    ht_record_destroy (&decoded);

    //  A new release configured to write version 1 (its readers are not
    //  upgraded yet) makes records today's release verifies
    ht_record_t *compatible = s_facility (facility_v2, 1, false);
    decoded = s_round_trip (compatible, NULL, &error);
    ck_assert_msg (decoded != NULL, "%s", ht_errname (error));
    ck_assert_ptr_eq (ht_record_schema (decoded), ht_schema_kind ("facility"));
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    ck_assert (s_same_digest (compatible, decoded));
    ht_record_destroy (&decoded);

    ht_record_destroy (&compatible);
    ht_record_destroy (&redacted);
    ht_record_destroy (&fresh);
}
END_TEST

START_TEST (a_record_never_carries_a_field_of_a_later_version)
{
    const ht_registry_t *next = s_next_release ();
    const ht_kind_t *facility_v2 = ht_schema_registry_kind (next, "facility");
    ht_record_t *record = ht_record_new_of (facility_v2);
    ck_assert_int_eq (ht_record_set_schema_version (record, 1), 0);
    ck_assert_int_eq (ht_record_set_bool (record, S_NEW_FIELD, true), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_schema_version (record, 3), HT_ESCHEMAVERSION);
    ck_assert_int_eq (ht_record_set_schema_version (record, 0), HT_ESCHEMAVERSION);
    ck_assert_int_eq (ht_record_set_schema_version (record, 2), 0);
    ck_assert_int_eq (ht_record_set_bool (record, S_NEW_FIELD, true), 0);
    //  Going back would leave the field neither signed nor sent
    ck_assert_int_eq (ht_record_set_schema_version (record, 1), HT_EFIELD);
    ck_assert_uint_eq (ht_record_schema_version (record), 2);
    ht_record_destroy (&record);

    //  Wire bytes that claim version 1 but carry the new field are refused,
    //  although everything else about them is canonical
    record = s_facility (facility_v2, 2, true);
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    const uint8_t sv_2 [] = { 0xa2, 's', 'v', 0x02 };
    uint8_t *at = memmem (data, size, sv_2, sizeof sv_2);
    ck_assert_ptr_nonnull (at);
    at [3] = 0x01;
    int error = 0;
    ck_assert_ptr_null (ht_record_decode_with (next, data, size, &error, NULL));
    ck_assert_int_eq (error, HT_EFIELD);
    //  And version 0 is no version at all
    at [3] = 0x00;
    ck_assert_ptr_null (ht_record_decode_with (next, data, size, &error, NULL));
    ck_assert_int_eq (error, HT_EMALFORMED);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (write_versions_are_chosen_per_kind_within_what_is_known)
{
    const ht_kind_t *elder = ht_schema_kind ("elder");
    ck_assert_int_eq (ht_schema_set_write_version ("dragon", 1), HT_EKIND);
    ck_assert_int_eq (ht_schema_set_write_version ("elder", elder->version + 1),
                      HT_ESCHEMAVERSION);
    ck_assert_uint_eq (ht_schema_write_version (elder), elder->version);
    ck_assert_int_eq (ht_schema_set_write_version ("elder", 1), 0);
    ck_assert_uint_eq (ht_schema_write_version (elder), 1);
    ht_record_t *record = ht_record_new ("elder");
    ck_assert_uint_eq (ht_record_schema_version (record), 1);
    ht_record_destroy (&record);
    ck_assert_int_eq (ht_schema_set_write_version ("elder", 0), 0);
    ck_assert_uint_eq (ht_schema_write_version (elder), elder->version);
    //  Kinds of another registry are written in their current version
    const ht_kind_t *facility_v2 = ht_schema_registry_kind (s_next_release (), "facility");
    ck_assert_uint_eq (ht_schema_write_version (facility_v2), 2);
    ck_assert_ptr_eq (ht_schema_registry_kind (NULL, "elder"), elder);
    ck_assert_ptr_null (ht_schema_registry_kind (NULL, "dragon"));
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
    tcase_add_test (tc, every_field_names_a_version_its_kind_has);
    tcase_add_test (tc, the_cert_buffers_hold_the_schemas_longest_texts);
    suite_add_tcase (suite, tc);
    tc = tcase_create ("versions");
    tcase_add_test (tc, a_new_field_in_a_new_version_leaves_old_records_verifiable);
    tcase_add_test (tc, a_reader_one_version_behind_refuses_only_the_new_version);
    tcase_add_test (tc, a_record_never_carries_a_field_of_a_later_version);
    tcase_add_test (tc, write_versions_are_chosen_per_kind_within_what_is_known);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (schema_suite)
