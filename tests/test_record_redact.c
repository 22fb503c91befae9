//  test_record_redact: redaction of signed records — what a redacted
//  form discloses, holds and withholds, that it still verifies (as bytes
//  and as JSON) and that tampering with it does not, and the unsigned
//  masks that may ride along on withheld fields.
#include "ht_record.h"
#include "ht_keys.h"
#include "ht_codec.h"
#include "ht_test.h"
#include "ht_fixture.h"
#include "ht_record_fixture.h"

#include <sodium.h>
#include <string.h>

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

static bool
s_contains (const uint8_t *data, size_t size, const void *needle, size_t length)
{
    return memmem (data, size, needle, length) != NULL;
}

static bool
s_contains_text (const uint8_t *data, size_t size, const char *text)
{
    return s_contains (data, size, text, strlen (text));
}

//  --------------------------------------------------------------------------
//  Redaction

START_TEST (a_record_redacted_to_name_and_status_verifies)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);
    ck_assert (ht_record_is_signed (redacted));
    ck_assert (!ht_record_is_full (redacted));
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_verify (redacted, &reason), 0);
    //  Withheld required fields are taken on trust by validation
    ck_assert_int_eq (ht_record_validate (redacted, &reason), 0);

    ck_assert_str_eq (ht_record_get_str (redacted, "name"), "张三");
    ck_assert_str_eq (ht_record_get_str (redacted, "status"), "active");
    ck_assert_int_eq (ht_record_field_state (redacted, "name"), HT_FIELD_PRESENT);
    ck_assert_int_eq (ht_record_field_state (redacted, "id_no"), HT_FIELD_WITHHELD);
    ck_assert_int_eq (ht_record_field_state (redacted, "phone"), HT_FIELD_WITHHELD);
    ck_assert_ptr_null (ht_record_get_str (redacted, "id_no"));
    int64_t sex;
    ck_assert (!ht_record_get_int (redacted, "sex", &sex));
    //  The source is untouched
    ck_assert_str_eq (ht_record_get_str (record, "id_no"), HT_RECORD_FIXTURE_ID_NO);
    ck_assert_int_eq (ht_record_verify (record, NULL), 0);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (redacted_bytes_hold_no_withheld_value_nor_the_seed)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);

    //  The seed and salts of withheld fields, from the full form's JSON
    json_t *json = ht_record_to_json (record);
    uint8_t seed [HT_SEED_BYTES];
    ck_assert_int_eq (ht_hex_decode (json_string_value (json_object_get (json, "seed")),
                                     seed, sizeof seed), 0);
    json_decref (json);

    size_t full_size = 0;
    uint8_t *full = ht_record_fixture_encode (record, &full_size);
    ck_assert (s_contains (full, full_size, seed, sizeof seed));   //  control
    ck_assert (s_contains_text (full, full_size, HT_RECORD_FIXTURE_ID_NO));

    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (redacted, &size);
    ck_assert_uint_eq (data [0], 0x8e);        //  14 items: s and w, no seed
    const char *withheld [] = { HT_RECORD_FIXTURE_ID_NO, "19400512", "居民身份证", "seed" };
    for (size_t index = 0; index < S_COUNT (withheld); index++)
        ck_assert_msg (!s_contains_text (data, size, withheld [index]),
                       "redacted bytes contain %s", withheld [index]);
    ck_assert (!s_contains (data, size, seed, sizeof seed));
    ck_assert (s_contains_text (data, size, "张三"));

    //  A withheld field's salt would allow guessing a low-entropy value
    //  (sex is 1 or 2) by hashing every candidate: it must stay home
    const char *names [] = { "sex", "id_no", "birth_date", "phone" };
    for (size_t index = 0; index < S_COUNT (names); index++) {
        uint8_t salt [HT_SALT_BYTES];
        crypto_generichash (salt, sizeof salt, (const uint8_t *) names [index],
                            strlen (names [index]), seed, sizeof seed);
        ck_assert_msg (!s_contains (data, size, salt, sizeof salt),
                       "redacted bytes contain the salt of %s", names [index]);
    }
    free (data);
    free (full);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (redaction_keeps_the_digest)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);
    uint8_t full_digest [HT_DIGEST_BYTES], redacted_digest [HT_DIGEST_BYTES];
    ck_assert_int_eq (ht_record_digest (record, full_digest), 0);
    ck_assert_int_eq (ht_record_digest (redacted, redacted_digest), 0);
    ck_assert_mem_eq (full_digest, redacted_digest, HT_DIGEST_BYTES);
    ck_assert_mem_eq (ht_record_sig (record), ht_record_sig (redacted), HT_SIG_BYTES);

    //  Redacting further keeps it again, and withheld stays withheld
    const char *only_name [] = { "name", "id_no" };
    ht_record_t *narrower = ht_record_redact (redacted, only_name, 2);
    ck_assert_ptr_nonnull (narrower);
    ck_assert_int_eq (ht_record_field_state (narrower, "status"), HT_FIELD_WITHHELD);
    ck_assert_int_eq (ht_record_field_state (narrower, "id_no"), HT_FIELD_WITHHELD);
    ck_assert_int_eq (ht_record_digest (narrower, redacted_digest), 0);
    ck_assert_mem_eq (full_digest, redacted_digest, HT_DIGEST_BYTES);
    ck_assert_int_eq (ht_record_verify (narrower, NULL), 0);
    ck_assert_int_eq (ht_record_compare (record, narrower), 0);
    ht_record_destroy (&narrower);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_redacted_record_survives_encode_and_decode)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);
    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (redacted, &size);
    ht_record_t *decoded = ht_record_fixture_decode (data, size);
    ck_assert (!ht_record_is_full (decoded));
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    ck_assert_str_eq (ht_record_get_str (decoded, "name"), "张三");
    ck_assert_int_eq (ht_record_field_state (decoded, "id_no"), HT_FIELD_WITHHELD);
    size_t again_size = 0;
    uint8_t *again = ht_record_fixture_encode (decoded, &again_size);
    ck_assert_uint_eq (again_size, size);
    ck_assert_mem_eq (again, data, size);
    free (again);
    free (data);
    ht_record_destroy (&decoded);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (every_single_byte_change_of_a_redacted_encoding_is_refused)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);
    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (redacted, &size);
    uint8_t *copy = (uint8_t *) malloc (size);
    size_t accepted = 0, first_position = 0;
    for (size_t position = 0; position < size; position++)
        for (int value = 0; value < 256; value++) {
            if (value == data [position])
                continue;
            memcpy (copy, data, size);
            copy [position] = (uint8_t) value;
            if (ht_record_fixture_accepted (copy, size) && accepted++ == 0)
                first_position = position;
        }
    ck_assert_msg (accepted == 0, "%zu changes accepted, first at byte %zu",
                   accepted, first_position);
    free (copy);
    free (data);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_redacted_record_survives_json)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);
    json_t *json = ht_record_to_json (redacted);
    ck_assert_ptr_null (json_object_get (json, "seed"));
    ck_assert_ptr_nonnull (json_object_get (json_object_get (json, "withheld"), "id_no"));
    ck_assert_ptr_nonnull (json_object_get (json_object_get (json, "salts"), "name"));
    ck_assert_ptr_null (json_object_get (json_object_get (json, "salts"), "id_no"));
    char *text = json_dumps (json, JSON_COMPACT);
    ck_assert_ptr_nonnull (strstr (text, "张三"));
    ck_assert_ptr_null (strstr (text, HT_RECORD_FIXTURE_ID_NO));
    ck_assert_ptr_null (strstr (text, "19400512"));
    json_decref (json);

    json_error_t json_error;
    json = json_loads (text, 0, &json_error);
    ck_assert_ptr_nonnull (json);
    free (text);
    ht_record_t *parsed = ht_record_fixture_from_json (json);
    ck_assert (!ht_record_is_full (parsed));
    ck_assert_int_eq (ht_record_verify (parsed, NULL), 0);
    ck_assert_str_eq (ht_record_get_str (parsed, "status"), "active");
    ck_assert_int_eq (ht_record_field_state (parsed, "sex"), HT_FIELD_WITHHELD);
    ht_record_destroy (&parsed);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (tampering_a_redacted_record_fails_verification)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);
    json_t *original = ht_record_to_json (redacted);
    ck_assert_int_eq (ht_record_fixture_verify_json (json_deep_copy (original)), 0);

    //  A disclosed value
    json_t *json = json_deep_copy (original);
    json_object_set_new (json_object_get (json, "fields"), "name", json_string ("李四"));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    //  A salt
    json = json_deep_copy (original);
    ht_record_fixture_flip_hex (json_object_get (json, "salts"), "name", 3);
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    //  A withheld digest
    json = json_deep_copy (original);
    ht_record_fixture_flip_hex (json_object_get (json, "withheld"), "id_no", 5);
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    //  A withheld field turned into a disclosed guess needs its salt
    json = json_deep_copy (original);
    json_object_del (json_object_get (json, "withheld"), "sex");
    json_object_set_new (json_object_get (json, "fields"), "sex", json_integer (1));
    int error = 0;
    ht_record_t *parsed = ht_record_from_json (json, &error, NULL);
    ck_assert_ptr_null (parsed);
    ck_assert_int_eq (error, HT_EDIGEST);
    json_decref (json);

    //  A field that is neither disclosed nor withheld
    json = json_deep_copy (original);
    json_object_del (json_object_get (json, "withheld"), "phone");
    parsed = ht_record_from_json (json, &error, NULL);
    ck_assert_ptr_null (parsed);
    ck_assert_int_eq (error, HT_EDIGEST);
    json_decref (json);

    json_decref (original);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_withheld_field_does_not_reveal_whether_it_was_set)
{
    ht_record_t *without = ht_record_fixture_elder_signed ();
    ht_record_t *with = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (with, "phone", "13800138000"), 0);
    ht_record_fixture_sign (with, 0x42);
    ht_record_t *redacted_without = ht_record_fixture_redact_name_status (without);
    ht_record_t *redacted_with = ht_record_fixture_redact_name_status (with);
    ck_assert_int_eq (ht_record_field_state (redacted_without, "phone"), HT_FIELD_WITHHELD);
    ck_assert_int_eq (ht_record_field_state (redacted_with, "phone"), HT_FIELD_WITHHELD);

    size_t size_without = 0, size_with = 0;
    uint8_t *data_without = ht_record_fixture_encode (redacted_without, &size_without);
    uint8_t *data_with = ht_record_fixture_encode (redacted_with, &size_with);
    ck_assert (s_contains_text (data_without, size_without, "phone"));
    ck_assert (s_contains_text (data_with, size_with, "phone"));
    ck_assert (!s_contains_text (data_with, size_with, "13800138000"));
    //  Same shape, same size: nothing but random-looking digests differ
    ck_assert_uint_eq (size_without, size_with);

    json_t *json_without = ht_record_to_json (redacted_without);
    json_t *json_with = ht_record_to_json (redacted_with);
    ck_assert_uint_eq (json_object_size (json_object_get (json_without, "withheld")),
                       json_object_size (json_object_get (json_with, "withheld")));
    ck_assert_ptr_nonnull (json_object_get (json_object_get (json_without, "withheld"), "phone"));
    json_decref (json_without);
    json_decref (json_with);
    free (data_without);
    free (data_with);
    ht_record_destroy (&redacted_without);
    ht_record_destroy (&redacted_with);
    ht_record_destroy (&without);
    ht_record_destroy (&with);
}
END_TEST

START_TEST (a_disclosed_absent_field_stays_absent_and_verifies)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    const char *disclose [] = { "name", "phone" };
    ht_record_t *redacted = ht_record_redact (record, disclose, 2);
    ck_assert_int_eq (ht_record_field_state (redacted, "phone"), HT_FIELD_ABSENT);
    ck_assert_int_eq (ht_record_verify (redacted, NULL), 0);
    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (redacted, &size);
    ht_record_t *decoded = ht_record_fixture_decode (data, size);
    ck_assert_int_eq (ht_record_field_state (decoded, "phone"), HT_FIELD_ABSENT);
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    json_t *json = ht_record_to_json (decoded);
    ck_assert (json_is_null (json_object_get (json_object_get (json, "fields"), "phone")));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), 0);
    free (data);
    ht_record_destroy (&decoded);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (only_a_signed_full_record_can_be_redacted_or_signed_again)
{
    ht_record_t *draft = ht_record_fixture_elder_draft ();
    const char *disclose [] = { "name" };
    ck_assert_ptr_null (ht_record_redact (draft, disclose, 1));
    ht_record_destroy (&draft);

    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_redact (record, disclose, 1);
    ht_keypair_t *key = ht_fixture_key (0x42, "test");
    ck_assert_int_eq (ht_record_sign (redacted, key), HT_EREDACTED);
    ck_assert_int_eq (ht_record_verify (redacted, NULL), 0);
    //  Re-signing a full record is fine (a new version by another key)
    ck_assert_int_eq (ht_record_sign (record, key), 0);
    ck_assert_int_eq (ht_record_verify (record, NULL), 0);
    ht_keypair_destroy (&key);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (masks_ride_along_unsigned_on_withheld_fields_only)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);
    ck_assert_int_eq (ht_record_set_mask (redacted, "name", "张*"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_mask (redacted, "nope", "x"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "441802********0317"), 0);
    ck_assert_str_eq (ht_record_get_mask (redacted, "id_no"), "441802********0317");
    ck_assert_int_eq (ht_record_verify (redacted, NULL), 0);

    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (redacted, &size);
    ck_assert_uint_eq (data [0], 0x8f);        //  m joins s and w
    ht_record_t *decoded = ht_record_fixture_decode (data, size);
    ck_assert_str_eq (ht_record_get_mask (decoded, "id_no"), "441802********0317");
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    json_t *json = ht_record_to_json (decoded);
    ck_assert_str_eq (json_string_value (json_object_get (json_object_get (json, "masked"), "id_no")),
                      "441802********0317");
    ht_record_t *parsed = ht_record_fixture_from_json (json);
    ck_assert_str_eq (ht_record_get_mask (parsed, "id_no"), "441802********0317");
    ck_assert_int_eq (ht_record_verify (parsed, NULL), 0);
    free (data);
    ht_record_destroy (&parsed);
    ht_record_destroy (&decoded);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

static void
s_pack_mask_on_name (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_map (packer, 2);
    ht_pack_cstr (packer, "id_no");
    ht_pack_cstr (packer, "441802********0317");
    ht_pack_cstr (packer, "name");
    ht_pack_cstr (packer, "李四");
}

START_TEST (a_mask_over_a_disclosed_value_is_refused)
{
    //  A mask is unsigned: shown over a disclosed value it would pass a
    //  forged name off as a signed record's (JSON refuses it likewise)
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *redacted = ht_record_fixture_redact_name_status (record);
    ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "441802********0317"), 0);
    size_t size = 0, new_size = 0;
    uint8_t *data = ht_record_fixture_encode (redacted, &size);
    uint8_t *changed = ht_record_fixture_rewrite (data, size, "m", s_pack_mask_on_name, NULL,
                                                  &new_size);
    ck_assert (!ht_record_fixture_accepted (changed, new_size));

    json_t *json = ht_record_to_json (redacted);
    json_object_set_new (json_object_get (json, "masked"), "name", json_string ("李四"));
    ck_assert_ptr_null (ht_record_from_json (json, NULL, NULL));
    json_decref (json);
    free (changed);
    free (data);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

static Suite *
record_redact_suite (void)
{
    Suite *suite = suite_create ("ht_record_redact");
    TCase *tc = tcase_create ("redaction");
    tcase_add_unchecked_fixture (tc, ht_record_fixture_setup, NULL);
    tcase_set_timeout (tc, 300);           //  the byte-flip sweeps
    tcase_add_test (tc, a_record_redacted_to_name_and_status_verifies);
    tcase_add_test (tc, redacted_bytes_hold_no_withheld_value_nor_the_seed);
    tcase_add_test (tc, redaction_keeps_the_digest);
    tcase_add_test (tc, a_redacted_record_survives_encode_and_decode);
    tcase_add_test (tc, every_single_byte_change_of_a_redacted_encoding_is_refused);
    tcase_add_test (tc, a_redacted_record_survives_json);
    tcase_add_test (tc, tampering_a_redacted_record_fails_verification);
    tcase_add_test (tc, a_withheld_field_does_not_reveal_whether_it_was_set);
    tcase_add_test (tc, a_disclosed_absent_field_stays_absent_and_verifies);
    tcase_add_test (tc, only_a_signed_full_record_can_be_redacted_or_signed_again);
    tcase_add_test (tc, masks_ride_along_unsigned_on_withheld_fields_only);
    tcase_add_test (tc, a_mask_over_a_disclosed_value_is_refused);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (record_redact_suite)
