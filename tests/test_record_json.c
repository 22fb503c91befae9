//  test_record_json: the JSON form of records — readable Chinese text,
//  byte-for-byte round trips of signed records, unsigned drafts, the
//  schema version, and JSON of the wrong shape.
#include "ht_record.h"
#include "ht_test.h"
#include "ht_fixture.h"
#include "ht_record_fixture.h"

#include <string.h>

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  --------------------------------------------------------------------------
//  JSON

START_TEST (json_keeps_chinese_text_readable_and_verifies_after_parsing)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    json_t *json = ht_record_to_json (record);
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref (json);
    ck_assert_ptr_nonnull (strstr (text, "张三"));
    ck_assert_ptr_nonnull (strstr (text, "居民身份证"));
    ck_assert_ptr_null (strstr (text, "\\u"));

    json_error_t json_error;
    json = json_loads (text, 0, &json_error);
    free (text);
    ck_assert_ptr_nonnull (json);
    ck_assert_ptr_nonnull (json_object_get (json, "seed"));
    ht_record_t *parsed = ht_record_fixture_from_json (json);
    ck_assert (ht_record_is_signed (parsed));
    ck_assert (ht_record_is_full (parsed));
    ck_assert_int_eq (ht_record_verify (parsed, NULL), 0);
    ck_assert_str_eq (ht_record_get_str (parsed, "name"), "张三");

    //  And its msgpack form is byte for byte the original's
    size_t size = 0, parsed_size = 0;
    uint8_t *data = ht_record_fixture_encode (record, &size);
    uint8_t *parsed_data = ht_record_fixture_encode (parsed, &parsed_size);
    ck_assert_uint_eq (size, parsed_size);
    ck_assert_mem_eq (data, parsed_data, size);
    free (data);
    free (parsed_data);
    ht_record_destroy (&parsed);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (json_without_a_signature_is_an_unsigned_draft)
{
    json_error_t json_error;
    json_t *json = json_loads (
        "{\"kind\": \"elder\", \"region\": \"441802001001\", \"scope\": \"441802001001\","
        " \"fields\": {\"name\": \"张三\", \"sex\": 1, \"id_type\": \"居民身份证\","
        " \"id_no\": \"441802194005120317\", \"birth_date\": \"19400512\","
        " \"hukou_region\": \"441802001001\", \"status\": \"active\"}}", 0, &json_error);
    ck_assert_ptr_nonnull (json);
    ht_record_t *draft = ht_record_fixture_from_json (json);
    ck_assert (!ht_record_is_signed (draft));
    uint8_t idkey [HT_IDKEY_BYTES];
    ht_record_fixture_idkey (idkey, 0xa0);
    ck_assert_int_eq (ht_record_derive_key (draft, idkey), 0);
    ck_assert_int_eq (ht_record_validate (draft, NULL), 0);
    ht_record_t *built = ht_record_fixture_elder_draft ();
    ck_assert_str_eq (ht_record_key (draft), ht_record_key (built));
    ht_record_destroy (&built);
    ht_record_destroy (&draft);
}
END_TEST

START_TEST (a_draft_without_key_or_region_round_trips_through_json)
{
    ht_record_t *draft = ht_record_new ("elder");
    ck_assert_int_eq (ht_record_set_str (draft, "name", "张三"), 0);
    json_t *json = ht_record_to_json (draft);
    ht_record_t *parsed = ht_record_fixture_from_json (json);
    ck_assert (!ht_record_is_signed (parsed));
    ck_assert_str_eq (ht_record_get_str (parsed, "name"), "张三");
    ck_assert_str_eq (ht_record_key (parsed), "");
    ht_record_destroy (&parsed);
    ht_record_destroy (&draft);
}
END_TEST

START_TEST (json_carries_the_schema_version_of_signed_records_only)
{
    //  A signed record names its version; a draft leaves it to the writer
    ht_record_t *record = ht_record_fixture_elder_signed ();
    json_t *json = ht_record_to_json (record);
    ck_assert_int_eq (json_integer_value (json_object_get (json, "sv")), 1);
    ht_record_t *unsigned_draft = ht_record_fixture_elder_draft ();
    json_t *draft_json = ht_record_to_json (unsigned_draft);
    ck_assert_ptr_null (json_object_get (draft_json, "sv"));
    json_decref (draft_json);
    ht_record_destroy (&unsigned_draft);

    //  Signed without sv: refused, not guessed
    int error = 0;
    const char *reason = NULL;
    json_object_del (json, "sv");
    ck_assert_ptr_null (ht_record_from_json (json, &error, &reason));
    ck_assert_int_eq (error, HT_EMALFORMED);
    //  A version the kind does not have yet: refused by name
    json_object_set_new (json, "sv", json_integer (2));
    ck_assert_ptr_null (ht_record_from_json (json, &error, &reason));
    ck_assert_int_eq (error, HT_ESCHEMAVERSION);
    json_object_set_new (json, "sv", json_integer (0));
    ck_assert_ptr_null (ht_record_from_json (json, &error, &reason));
    ck_assert_int_eq (error, HT_EMALFORMED);
    json_object_set_new (json, "sv", json_string ("1"));
    ck_assert_ptr_null (ht_record_from_json (json, &error, &reason));
    ck_assert_int_eq (error, HT_EMALFORMED);
    //  A draft may name the version it is to be written in
    json_t *draft = json_pack ("{s:s, s:i, s:{s:s}}", "kind", "elder", "sv", 1,
                               "fields", "name", "张三");
    ht_record_t *parsed = ht_record_fixture_from_json (json_incref (draft));
    ck_assert_uint_eq (ht_record_schema_version (parsed), 1);
    ht_record_destroy (&parsed);
    json_object_set_new (draft, "sv", json_integer (9));
    ck_assert_ptr_null (ht_record_from_json (draft, &error, &reason));
    ck_assert_int_eq (error, HT_ESCHEMAVERSION);
    json_decref (draft);
    json_decref (json);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (json_of_the_wrong_shape_is_refused)
{
    const char *cases [] = {
        "[]",
        "{}",
        "{\"kind\": \"dragon\", \"fields\": {}}",
        "{\"kind\": \"elder\", \"fields\": {\"nickname\": \"x\"}}",
        "{\"kind\": \"elder\", \"fields\": {\"sex\": \"1\"}}",
        "{\"kind\": \"elder\", \"fields\": {\"sex\": 1.0}}",
        "{\"kind\": \"elder\", \"fields\": {\"name\": 3}}",
        "{\"kind\": \"elder\", \"fields\": {\"categories\": [\"特困\", 1]}}",
        "{\"kind\": \"elder\", \"fields\": []}",
        "{\"kind\": \"elder\", \"colour\": \"red\"}",
        "{\"kind\": \"elder\", \"region\": \"4418\"}",
        "{\"kind\": \"elder\", \"key\": \"has space\"}",
        "{\"kind\": \"elder\", \"hlc\": -1}",
        "{\"kind\": \"elder\", \"deleted\": \"yes\"}",
        "{\"kind\": \"cert\", \"fields\": {\"pubkey\": \"abc\"}}",
        "{\"kind\": \"cert\", \"fields\": {\"pubkey\": \"zz\"}}",
        "{\"kind\": \"elder\", \"sig\": \"00\", \"fields\": {}}",
    };
    for (size_t index = 0; index < S_COUNT (cases); index++) {
        json_error_t json_error;
        json_t *json = json_loads (cases [index], 0, &json_error);
        ck_assert_msg (json != NULL, "bad test JSON %s", cases [index]);
        int error = 0;
        const char *reason = NULL;
        ht_record_t *record = ht_record_from_json (json, &error, &reason);
        ck_assert_msg (record == NULL, "accepted %s", cases [index]);
        ck_assert_int_ne (error, 0);
        ck_assert_ptr_nonnull (reason);
        json_decref (json);
    }
}
END_TEST

//  Found by tests/fuzz/fuzz_record_json: such a record was read as signed,
//  though its wire form (which it would travel in) refuses it
START_TEST (a_signed_record_without_key_region_or_scope_is_refused)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    const char *items [] = { "key", "region", "scope" };
    for (size_t index = 0; index < S_COUNT (items); index++) {
        json_t *json = ht_record_to_json (record);
        ck_assert_int_eq (json_object_del (json, items [index]), 0);
        int error = 0;
        const char *reason = NULL;
        ck_assert_ptr_null (ht_record_from_json (json, &error, &reason));
        ck_assert_int_eq (error, HT_EMALFORMED);
        ck_assert_str_eq (reason, "a signed record needs key, region and scope");
        json_decref (json);
    }
    //  Whole, it reads back and verifies
    json_t *json = ht_record_to_json (record);
    ht_record_t *again = ht_record_from_json (json, NULL, NULL);
    ck_assert_ptr_nonnull (again);
    ck_assert_int_eq (ht_record_verify (again, NULL), 0);
    ht_record_destroy (&again);
    json_decref (json);
    ht_record_destroy (&record);
}
END_TEST

static Suite *
record_json_suite (void)
{
    Suite *suite = suite_create ("ht_record_json");
    TCase *tc = tcase_create ("json");
    tcase_add_unchecked_fixture (tc, ht_record_fixture_setup, NULL);
    tcase_add_test (tc, json_keeps_chinese_text_readable_and_verifies_after_parsing);
    tcase_add_test (tc, json_without_a_signature_is_an_unsigned_draft);
    tcase_add_test (tc, json_of_the_wrong_shape_is_refused);
    tcase_add_test (tc, a_signed_record_without_key_region_or_scope_is_refused);
    tcase_add_test (tc, a_draft_without_key_or_region_round_trips_through_json);
    tcase_add_test (tc, json_carries_the_schema_version_of_signed_records_only);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (record_json_suite)
