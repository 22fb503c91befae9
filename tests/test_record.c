//  test_record: records with a redactable signature — building, signing
//  and verifying, the canonical form of a full record, schema validation,
//  key derivation and the merge order. Redaction, JSON and hostile bytes
//  have their own files (test_record_redact, test_record_json,
//  test_record_wire); the shared elder and encoding tools are in
//  ht_record_fixture.h.
//
//  Hostile-input tests never trust a "looks fine" answer: whenever a
//  mangled encoding decodes, the test also verifies it and fails if the
//  signature still holds.
#include "ht_record.h"
#include "ht_keys.h"
#include "ht_codec.h"
#include "ht_hlc.h"
#include "ht_valid.h"
#include "ht_test.h"
#include "ht_fixture.h"
#include "ht_record_fixture.h"

#include <sodium.h>
#include <string.h>

#define S_USCC "52441802MJ0001002K"         //  synthetic, DOMAIN.md §4

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  --------------------------------------------------------------------------
//  Building, signing, the canonical form

START_TEST (an_elder_record_validates_signs_and_verifies)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), 0);
    ck_assert (!ht_record_is_signed (record));
    ck_assert (ht_record_is_full (record));
    ck_assert_int_eq (ht_record_verify (record, &reason), HT_EBADSIG);

    ht_keypair_t *key = ht_fixture_key (0x42, "test");
    ck_assert_int_eq (ht_record_sign (record, key), 0);
    ck_assert (ht_record_is_signed (record));
    ck_assert (ht_record_is_full (record));
    ck_assert_mem_eq (ht_record_author (record), ht_keypair_public (key), HT_PUBKEY_BYTES);
    reason = "unset";
    ck_assert_int_eq (ht_record_verify (record, &reason), 0);
    ck_assert_int_eq (ht_record_verify (record, NULL), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), 0);

    //  The signature is Ed25519 over the record digest
    uint8_t digest [HT_DIGEST_BYTES];
    ck_assert_int_eq (ht_record_digest (record, digest), 0);
    ck_assert_int_eq (crypto_sign_verify_detached (ht_record_sig (record), digest,
                      HT_DIGEST_BYTES, ht_keypair_public (key)), 0);

    ck_assert_str_eq (ht_record_kind (record), "elder");
    ck_assert_str_eq (ht_record_region (record), HT_FIXTURE_COMMUNITY_A);
    ck_assert_str_eq (ht_record_scope (record), HT_FIXTURE_COMMUNITY_A);
    ck_assert_uint_eq (ht_record_hlc (record), ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS, 0));
    ck_assert (!ht_record_deleted (record));
    int64_t sex = 0;
    ck_assert (ht_record_get_int (record, "sex", &sex));
    ck_assert_int_eq (sex, 1);
    ck_assert_int_eq (ht_record_field_state (record, "phone"), HT_FIELD_ABSENT);
    ck_assert_ptr_null (ht_record_get_str (record, "phone"));
    ck_assert_ptr_null (ht_record_get_str (record, "sex"));   //  wrong type
    ht_keypair_destroy (&key);
    ht_record_destroy (&record);
    ht_record_destroy (&record);                //  safe twice
}
END_TEST

START_TEST (only_a_record_signed_in_this_process_and_unchanged_counts_as_signed_here)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ck_assert (ht_record_signed_here (record));
    //  Its bytes, decoded, are someone else's claim: verify those
    uint8_t *data;
    size_t size;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    ht_record_t *decoded = ht_record_fixture_decode (data, size);
    ck_assert (!ht_record_signed_here (decoded));
    //  A redacted copy is another form
    const char *name [] = { "name" };
    ht_record_t *redacted = ht_record_redact (record, name, 1);
    ck_assert (!ht_record_signed_here (redacted));
    //  Any change after signing clears it, with the signature itself
    ck_assert_int_eq (ht_record_set_str (record, "name", "李四"), 0);
    ck_assert (!ht_record_signed_here (record));
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);
    ht_record_destroy (&decoded);
    ht_record_destroy (&redacted);
    free (data);
}
END_TEST

//  The digest is remembered once computed: every change must forget it.
//  Each change is made to a record whose digest was just taken and to a
//  fresh decoding of the same bytes that never computed one; both must
//  then hash alike, and unlike before the change.
typedef int (*s_change_fn) (ht_record_t *record);
static int s_change_name (ht_record_t *r) { return ht_record_set_str (r, "name", "王五"); }
static int s_change_hlc (ht_record_t *r) { ht_record_set_hlc (r, ht_record_hlc (r) + 1); return 0; }
static int s_change_deleted (ht_record_t *r) { ht_record_set_deleted (r, true); return 0; }
static int s_change_scope (ht_record_t *r) { return ht_record_set_scope (r, HT_FIXTURE_TOWNSHIP); }
static int s_change_unset (ht_record_t *r) { return ht_record_unset (r, "name"); }
static int s_change_sex (ht_record_t *r) { return ht_record_set_int (r, "sex", 2); }

START_TEST (a_digest_taken_before_a_change_is_not_reused_after_it)
{
    s_change_fn changes [] = {
        s_change_name, s_change_hlc, s_change_deleted, s_change_scope, s_change_unset,
        s_change_sex
    };
    ht_record_t *signed_record = ht_record_fixture_elder_signed ();
    uint8_t *data;
    size_t size;
    ck_assert_int_eq (ht_record_encode (signed_record, &data, &size), 0);
    for (size_t i = 0; i < S_COUNT (changes); i++) {
        ht_record_t *seen = ht_record_fixture_decode (data, size);
        ht_record_t *fresh = ht_record_fixture_decode (data, size);
        uint8_t before [HT_DIGEST_BYTES], after [HT_DIGEST_BYTES], expected [HT_DIGEST_BYTES];
        ck_assert_int_eq (ht_record_digest (seen, before), 0);
        ck_assert_int_eq (ht_record_verify (seen, NULL), 0);
        ck_assert_int_eq (changes [i] (seen), 0);
        ck_assert_int_eq (changes [i] (fresh), 0);
        ck_assert_int_eq (ht_record_digest (seen, after), 0);
        ck_assert_int_eq (ht_record_digest (fresh, expected), 0);
        ck_assert_msg (memcmp (after, expected, HT_DIGEST_BYTES) == 0,
                       "change %zu: the digest from before the change was kept", i);
        ck_assert_mem_ne (after, before, HT_DIGEST_BYTES);
        ck_assert_int_ne (ht_record_verify (seen, NULL), 0);
        ht_record_destroy (&seen);
        ht_record_destroy (&fresh);
    }
    //  Signing anew (a fresh seed) hashes anew, and so does a batch
    ht_keypair_t *key = ht_fixture_key (0x42, "test");
    ht_record_t *again = ht_record_fixture_decode (data, size);
    uint8_t first [HT_DIGEST_BYTES], second [HT_DIGEST_BYTES], third [HT_DIGEST_BYTES];
    ck_assert_int_eq (ht_record_digest (again, first), 0);
    ck_assert_int_eq (ht_record_sign (again, key), 0);
    ck_assert_int_eq (ht_record_digest (again, second), 0);
    ck_assert_mem_ne (first, second, HT_DIGEST_BYTES);
    ck_assert_int_eq (ht_record_sign_batch (&again, 1, key), 0);
    ck_assert_int_eq (ht_record_digest (again, third), 0);
    ck_assert_mem_ne (second, third, HT_DIGEST_BYTES);
    ck_assert_int_eq (ht_record_verify (again, NULL), 0);
    ht_record_destroy (&again);
    ht_keypair_destroy (&key);
    ht_record_destroy (&signed_record);
    free (data);
}
END_TEST

START_TEST (two_signatures_of_one_record_use_fresh_seeds_and_both_verify)
{
    ht_record_t *first = ht_record_fixture_elder_signed ();
    ht_record_t *second = ht_record_fixture_elder_signed ();
    uint8_t digest_first [HT_DIGEST_BYTES], digest_second [HT_DIGEST_BYTES];
    ck_assert_int_eq (ht_record_digest (first, digest_first), 0);
    ck_assert_int_eq (ht_record_digest (second, digest_second), 0);
    //  A fresh seed salts every field anew: equal content, other digest
    ck_assert_mem_ne (digest_first, digest_second, HT_DIGEST_BYTES);
    ck_assert_int_eq (ht_record_verify (first, NULL), 0);
    ck_assert_int_eq (ht_record_verify (second, NULL), 0);
    ht_record_destroy (&first);
    ht_record_destroy (&second);
}
END_TEST

START_TEST (encode_decode_reencode_gives_identical_bytes)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (record, &size);
    ht_record_t *decoded = ht_record_fixture_decode (data, size);
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    ck_assert_int_eq (ht_record_validate (decoded, NULL), 0);
    ck_assert (ht_record_is_full (decoded));
    ck_assert_str_eq (ht_record_key (decoded), ht_record_key (record));
    ck_assert_str_eq (ht_record_get_str (decoded, "name"), "张三");
    size_t again_size = 0;
    uint8_t *again = ht_record_fixture_encode (decoded, &again_size);
    ck_assert_uint_eq (again_size, size);
    ck_assert_mem_eq (again, data, size);
    ck_assert_int_eq (ht_record_compare (record, decoded), 0);
    free (again);
    free (data);
    ht_record_destroy (&decoded);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (an_unsigned_record_does_not_encode)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), HT_EINVAL);
    ck_assert_ptr_null (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (every_single_byte_change_of_the_encoding_is_refused)
{
    //  Every position, every other byte value: none may both decode and
    //  verify (a byte inside a map key usually breaks decoding, a byte of
    //  a value or of the signature breaks verification)
    ht_record_t *record = ht_record_fixture_elder_signed ();
    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (record, &size);
    uint8_t *copy = (uint8_t *) malloc (size);
    size_t tried = 0, decoded = 0, accepted = 0;
    size_t first_position = 0;
    int first_value = -1;
    for (size_t position = 0; position < size; position++) {
        for (int value = 0; value < 256; value++) {
            if (value == data [position])
                continue;
            memcpy (copy, data, size);
            copy [position] = (uint8_t) value;
            tried++;
            int error = 0;
            ht_record_t *mangled = ht_record_decode (copy, size, &error, NULL);
            if (!mangled) {
                ck_assert_int_ne (error, 0);
                continue;
            }
            decoded++;
            if (ht_record_verify (mangled, NULL) == 0) {
                if (!accepted) {
                    first_position = position;
                    first_value = value;
                }
                accepted++;
            }
            ht_record_destroy (&mangled);
        }
    }
    ck_assert_uint_eq (tried, size * 255);
    ck_assert_msg (accepted == 0,
                   "%zu of %zu changes accepted (of %zu decoded); first at byte "
                   "%zu (0x%02x -> 0x%02x)", accepted, tried, decoded,
                   first_position, data [first_position], first_value);
    free (copy);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (an_alternative_encoding_of_the_same_record_is_refused)
{
    //  One record, one encoding: a longer integer form of hlc (int64
    //  instead of uint64) says the same thing in other bytes
    ht_record_t *record = ht_record_fixture_elder_signed ();
    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (record, &size);
    uint8_t *hlc = (uint8_t *) memmem (data, size, "\xa3hlc\xcf", 5);
    ck_assert_ptr_nonnull (hlc);
    hlc [4] = 0xd3;
    ht_record_fixture_assert_refused (data, size, HT_EMALFORMED);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

static void s_pack_nil (msgpack_packer *packer) { msgpack_pack_nil (packer); }

static void
s_pack_f_with_nil_phone (msgpack_packer *packer, const msgpack_object *old)
{
    ht_record_fixture_pack_fields (packer, old, "phone", s_pack_nil, true);
}

START_TEST (a_full_record_listing_an_absent_field_as_nil_is_refused)
{
    //  An absent field digests as nil either way, so this extra entry would
    //  be a second encoding of the same record
    ht_record_t *record = ht_record_fixture_elder_signed ();
    size_t size = 0, new_size = 0;
    uint8_t *data = ht_record_fixture_encode (record, &size);
    uint8_t *changed = ht_record_fixture_rewrite (data, size, "f", s_pack_f_with_nil_phone, NULL,
                                                  &new_size);
    ck_assert (!ht_record_fixture_accepted (changed, new_size));
    free (changed);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (changing_any_header_item_breaks_the_signature)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_keypair_t *other = ht_fixture_key (0x77, "test");
    char other_hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hex_encode (ht_keypair_public (other), HT_PUBKEY_BYTES, other_hex);

    //  Unchanged JSON still verifies, so each failure below is the edit's
    ck_assert_int_eq (ht_record_fixture_verify_json (ht_record_to_json (record)), 0);

    json_t *json = ht_record_to_json (record);
    json_object_set_new (json, "key", json_string ("0123456789abcdef0123456789abcdef"));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "region", json_string ("441802001002"));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "scope", json_string (HT_FIXTURE_TOWNSHIP));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "hlc", json_integer ((json_int_t) ht_record_hlc (record) + 1));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "author", json_string (other_hex));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "deleted", json_true ());
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    //  The suite is checked before the signature
    json = ht_record_to_json (record);
    json_object_set_new (json, "suite", json_integer (2));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EVERSION);

    ht_keypair_destroy (&other);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (changing_the_kind_breaks_the_signature)
{
    //  A revocation's fields are all cert fields too, so the JSON parses
    //  as a cert: only the signature can tell
    ht_record_t *record = ht_record_new ("revocation");
    uint8_t pubkey [HT_PUBKEY_BYTES];
    ht_record_fixture_fill (pubkey, sizeof pubkey, 0x10);
    ck_assert_int_eq (ht_record_set_bin (record, "pubkey", pubkey, sizeof pubkey), 0);
    ck_assert_int_eq (ht_record_set_int (record, "revoked_at",
                                         (int64_t) HT_RECORD_FIXTURE_JAN_2026_MS), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ck_assert_int_eq (ht_record_set_region (record, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_eq (ht_record_set_scope (record, HT_FIXTURE_COMMUNITY_A), 0);
    ht_record_set_hlc (record, ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS, 0));
    ht_record_fixture_sign (record, 0x42);
    ck_assert_int_eq (ht_record_verify (record, NULL), 0);

    json_t *json = ht_record_to_json (record);
    json_t *fields = json_object_get (json, "fields");
    json_object_del (fields, "revoked_at");
    json_object_set_new (json, "kind", json_string ("cert"));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (changing_any_field_value_breaks_the_signature)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    json_t *original = ht_record_to_json (record);
    const char *name;
    json_t *value;
    size_t changed = 0;
    json_object_foreach (json_object_get (original, "fields"), name, value) {
        json_t *json = json_deep_copy (original);
        json_t *fields = json_object_get (json, "fields");
        if (json_is_string (value)) {
            //  Another valid-looking value of the same type
            char *text = NULL;
            ck_assert_int_gt (asprintf (&text, "%s0", json_string_value (value)), 0);
            json_object_set_new (fields, name, json_string (text));
            free (text);
        }
        else {
            ck_assert (json_is_integer (value));
            json_object_set_new (fields, name, json_integer (json_integer_value (value) + 1));
        }
        ck_assert_msg (ht_record_fixture_verify_json (json) == HT_EBADSIG,
                       "changing %s verified", name);
        changed++;
    }
    ck_assert_uint_eq (changed, 7);

    //  Setting an absent field, or dropping a present one
    json_t *json = json_deep_copy (original);
    json_object_set_new (json_object_get (json, "fields"), "phone", json_string ("13800138000"));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
    json = json_deep_copy (original);
    json_object_del (json_object_get (json, "fields"), "name");
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);

    json_decref (original);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_changed_signature_is_refused)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    for (size_t position = 0; position < 2 * HT_SIG_BYTES; position += 7) {
        json_t *json = ht_record_to_json (record);
        ht_record_fixture_flip_hex (json, "sig", position);
        ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
    }
    //  A genuine signature of the same author over another record
    ht_record_t *other = ht_record_fixture_elder_signed ();
    char sig_hex [2 * HT_SIG_BYTES + 1];
    ht_hex_encode (ht_record_sig (other), HT_SIG_BYTES, sig_hex);
    json_t *json = ht_record_to_json (record);
    json_object_set_new (json, "sig", json_string (sig_hex));
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
    ht_record_destroy (&other);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_changed_seed_is_refused)
{
    //  The seed yields every salt: another seed, other field digests
    ht_record_t *record = ht_record_fixture_elder_signed ();
    json_t *json = ht_record_to_json (record);
    ht_record_fixture_flip_hex (json, "seed", 10);
    ck_assert_int_eq (ht_record_fixture_verify_json (json), HT_EBADSIG);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (every_setter_drops_the_signature)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ck_assert_int_eq (ht_record_set_str (record, "name", "张三"), 0);
    ck_assert (!ht_record_is_signed (record));
    ck_assert_int_eq (ht_record_verify (record, NULL), HT_EBADSIG);
    ht_record_destroy (&record);

    record = ht_record_fixture_elder_signed ();
    ht_record_set_hlc (record, ht_record_hlc (record) + 1);
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);

    record = ht_record_fixture_elder_signed ();
    ht_record_set_deleted (record, true);
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);

    record = ht_record_fixture_elder_signed ();
    ck_assert_int_eq (ht_record_unset (record, "name"), 0);
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);

    record = ht_record_fixture_elder_signed ();
    ck_assert_int_eq (ht_record_set_scope (record, HT_FIXTURE_TOWNSHIP), 0);
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_duplicate_keeps_the_signature)
{
    ht_record_t *record = ht_record_fixture_elder_signed ();
    ht_record_t *copy = ht_record_dup (record);
    ck_assert_ptr_nonnull (copy);
    ck_assert (ht_record_is_signed (copy));
    ck_assert_int_eq (ht_record_verify (copy, NULL), 0);
    ck_assert_str_eq (ht_record_get_str (copy, "name"), "张三");
    ck_assert_int_eq (ht_record_compare (record, copy), 0);
    ht_record_destroy (&copy);

    const char *disclose [] = { "name", "status" };
    ht_record_t *redacted = ht_record_redact (record, disclose, 2);
    ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "441802********0317"), 0);
    copy = ht_record_dup (redacted);
    ck_assert_ptr_nonnull (copy);
    ck_assert (ht_record_is_signed (copy));
    ck_assert (!ht_record_is_full (copy));
    ck_assert_int_eq (ht_record_verify (copy, NULL), 0);
    ck_assert_str_eq (ht_record_get_mask (copy, "id_no"), "441802********0317");
    ht_record_destroy (&copy);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_deleted_record_signs_and_verifies_without_its_fields)
{
    //  A tombstone need not carry the required fields
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_unset (record, "name"), 0);
    ht_record_set_deleted (record, true);
    ck_assert_int_eq (ht_record_validate (record, NULL), 0);
    ht_record_fixture_sign (record, 0x42);
    size_t size = 0;
    uint8_t *data = ht_record_fixture_encode (record, &size);
    ht_record_t *decoded = ht_record_fixture_decode (data, size);
    ck_assert (ht_record_deleted (decoded));
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    free (data);
    ht_record_destroy (&decoded);
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  Validation

//  Every text of a record is UTF-8: the setters refuse other bytes, so a
//  record's JSON form (jansson carries only UTF-8) never loses a field
START_TEST (a_text_that_is_not_utf8_is_refused_by_every_setter)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (record, "name", "张\xff"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_str (record, "name", "\xe5\xbc"), HT_EFIELD);
    ht_record_t *facility = ht_fixture_facility_draft (HT_FIXTURE_COUNTY, NULL, "0001");
    const char *services [] = { "助浴", "\xc0\xaf" };
    ck_assert_int_eq (ht_record_set_strs (facility, "services", services, 2), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_strs (facility, "services", services, 1), 0);
    ht_record_fixture_sign (record, 0x42);
    const char *disclose [] = { "name" };
    ht_record_t *redacted = ht_record_redact (record, disclose, 1);
    ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "4418\xff"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "441802********0317"), 0);
    json_t *json = ht_record_to_json (facility);
    ck_assert_int_eq (json_array_size (json_object_get (json_object_get (json, "fields"),
                                                        "services")), 1);
    json_decref (json);
    ht_record_destroy (&redacted);
    ht_record_destroy (&facility);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_missing_required_field_is_named)
{
    const char *required [] = { "birth_date", "hukou_region", "id_no", "id_type",
                                "name", "sex", "status" };
    for (size_t index = 0; index < S_COUNT (required); index++) {
        ht_record_t *record = ht_record_fixture_elder_draft ();
        ck_assert_int_eq (ht_record_unset (record, required [index]), 0);
        const char *reason = NULL;
        ck_assert_int_eq (ht_record_validate (record, &reason), HT_EREQUIRED);
        char expected [64];
        snprintf (expected, sizeof expected, "%s: required", required [index]);
        ck_assert_str_eq (reason, expected);
        ht_record_destroy (&record);
    }
}
END_TEST

START_TEST (sex_not_matching_the_citizen_id_is_refused)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_int (record, "sex", 2), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "sex"));
    //  And out of range altogether
    ck_assert_int_eq (ht_record_set_int (record, "sex", 3), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "sex: number out of range");
    ht_record_destroy (&record);
}
END_TEST

START_TEST (birth_date_not_matching_the_citizen_id_is_refused)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (record, "birth_date", "19400513"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "birth_date"));
    ck_assert_int_eq (ht_record_set_str (record, "birth_date", "19400231"), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "birth_date:"));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_bad_citizen_id_is_refused)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (record, "id_no", "441802194005120318"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "elder: check character should be 7");
    ht_record_destroy (&record);
}
END_TEST

//  An elder born on birth (YYYYMMDD) with a matching, valid citizen ID
static ht_record_t *
s_elder_born (const char *birth)
{
    char id [19];
    snprintf (id, sizeof id, "441802%s031", birth);     //  digit 17 odd: male
    id [17] = ht_citizen_id_check_char (id);
    id [18] = 0;
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (record, "id_no", id), 0);
    ck_assert_int_eq (ht_record_set_str (record, "birth_date", birth), 0);
    return record;
}

START_TEST (an_elder_younger_than_60_is_refused)
{
    //  Age is judged at the record's hlc, 2026-01-01
    ht_record_t *record = s_elder_born ("19800512");
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "elder: elder must be at least 60 years old");
    ht_record_destroy (&record);

    record = s_elder_born ("19660102");     //  one day short of 60
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ht_record_destroy (&record);

    record = s_elder_born ("19660101");     //  60 that very day
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_status_other_than_active_needs_its_date)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (record, "status", "deceased"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_record_set_str (record, "status_date", "20251201"), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), 0);
    ck_assert_int_eq (ht_record_set_str (record, "status", "asleep"), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "status: not one of the allowed values");
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_bad_region_code_is_refused)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_region (record, "4418020010"), HT_EREGION);
    ck_assert_int_eq (ht_record_set_region (record, "44180200100x"), HT_EREGION);
    ck_assert_int_eq (ht_record_set_region (record, "4418020010011"), HT_EREGION);
    //  Well-shaped but unknown province
    ck_assert_int_eq (ht_record_set_region (record, "991802001001"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_EREGION);
    ck_assert_ptr_nonnull (strstr (reason, "region: "));
    ht_record_destroy (&record);

    record = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (record, "hukou_region", "440002001001"), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "hukou_region: "));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_scope_that_is_not_an_ancestor_of_the_region_is_refused)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    const char *reason = NULL;
    //  A sibling township
    ck_assert_int_eq (ht_record_set_scope (record, "441802002000"), 0);
    ck_assert_int_ne (ht_record_validate (record, &reason), 0);
    ck_assert_str_eq (reason, "scope: must be the region or one of its ancestors");
    //  A descendant: scope may not reach below the region
    ck_assert_int_eq (ht_record_set_region (record, HT_FIXTURE_TOWNSHIP), 0);
    ck_assert_int_eq (ht_record_set_scope (record, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_ne (ht_record_validate (record, &reason), 0);
    //  Ancestors are fine
    ck_assert_int_eq (ht_record_set_region (record, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_eq (ht_record_set_scope (record, HT_FIXTURE_COUNTY), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), 0);
    ht_record_destroy (&record);
}
END_TEST

static ht_record_t *
s_inspection (void)
{
    ht_record_t *record = ht_record_new ("credit");
    ck_assert_int_eq (ht_record_set_str (record, "type", "inspection"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "date", "20250310"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "doc_no", "清民检〔2025〕12号"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "issuer_dept", "civil_affairs"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "issuer_region", HT_FIXTURE_COUNTY), 0);
    ck_assert_int_eq (ht_record_set_str (record, "subject_name", "清城区颐康养老院"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "subject_uscc", S_USCC), 0);
    ck_assert_int_eq (ht_record_set_str (record, "result", "合格"), 0);
    ck_assert_int_eq (ht_record_set_region (record, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_eq (ht_record_set_scope (record, HT_FIXTURE_COUNTY), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ht_record_set_hlc (record, ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS, 0));
    return record;
}

START_TEST (a_credit_field_not_used_by_its_subtype_is_refused)
{
    ht_record_t *record = s_inspection ();
    const char *reason = NULL;
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    ck_assert_str_eq (ht_record_subtype (record), "inspection");
    ck_assert_int_eq (ht_record_set_int (record, "fine", 50000), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_EFIELD);
    ck_assert_str_eq (reason, "fine: not used by this subtype");
    //  The same fine on a penalty is fine
    ck_assert_int_eq (ht_record_unset (record, "result"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "penalty"), 0);
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_field_required_by_its_subtype_only_is_enforced_there)
{
    ht_record_t *record = s_inspection ();
    ck_assert_int_eq (ht_record_unset (record, "result"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "rectification"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_EREQUIRED);
    ck_assert_str_eq (reason, "actions: required");
    ck_assert_int_eq (ht_record_set_str (record, "actions", "增设扶手"), 0);
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (an_empty_or_unknown_subtype_is_refused_promptly)
{
    //  An empty subtype must not hang the subtype membership scan
    const char *types [] = { "", "inspect", "inspection penalty", "spection" };
    for (size_t index = 0; index < S_COUNT (types); index++) {
        ht_record_t *record = s_inspection ();
        ck_assert_int_eq (ht_record_set_str (record, "type", types [index]), 0);
        const char *reason = NULL;
        ck_assert_msg (ht_record_validate (record, &reason) != 0, "type '%s' passed",
                       types [index]);
        ht_record_destroy (&record);
    }
}
END_TEST

START_TEST (a_credit_record_needs_a_subject)
{
    ht_record_t *record = s_inspection ();
    ck_assert_int_eq (ht_record_unset (record, "subject_uscc"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "credit: "));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_list_shorter_than_its_minimum_is_refused)
{
    //  Field minimums of list fields count items
    ht_record_t *record = s_inspection ();
    ck_assert_int_eq (ht_record_unset (record, "result"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "penalty"), 0);
    ck_assert_int_eq (ht_record_set_strs (record, "penalty_types", NULL, 0), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "penalty_types: too few items");
    const char *types [] = { "罚款" };
    ck_assert_int_eq (ht_record_set_strs (record, "penalty_types", types, 1), 0);
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    const char *bad [] = { "罚款", "鞭刑" };
    ck_assert_int_eq (ht_record_set_strs (record, "penalty_types", bad, 2), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "penalty_types: not one of the allowed values");
    ht_record_destroy (&record);
}
END_TEST

static ht_record_t *
s_facility (const char *uscc, const char *serial)
{
    ht_record_t *record = ht_fixture_facility_draft (HT_FIXTURE_COMMUNITY_A, uscc, serial);
    ck_assert_int_eq (ht_record_set_scope (record, HT_FIXTURE_COUNTY), 0);
    ht_record_set_hlc (record, ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS, 0));
    return record;
}

START_TEST (a_facility_without_uscc_or_serial_is_refused)
{
    ht_record_t *record = s_facility (NULL, NULL);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), HT_EREQUIRED);
    ck_assert_int_eq (ht_record_set_key (record, "any"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "facility: "));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_facility_with_a_valid_uscc_passes)
{
    ht_record_t *record = s_facility (S_USCC, NULL);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    const char *reason = NULL;
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    ht_record_destroy (&record);

    record = s_facility ("52441802MJ0001002J", NULL);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "uscc: "));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (facility_beds_and_residents_must_add_up)
{
    ht_record_t *record = s_facility (S_USCC, NULL);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ck_assert_int_eq (ht_record_set_int (record, "beds_nursing", 121), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_record_set_int (record, "beds_nursing", 120), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), 0);
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  Key derivation

static bool
s_is_lower_hex (const char *text, size_t length)
{
    return strlen (text) == length && strspn (text, "0123456789abcdef") == length;
}

START_TEST (facility_keys_are_deterministic_for_one_uscc)
{
    ht_record_t *first = s_facility (S_USCC, NULL);
    ht_record_t *second = s_facility (S_USCC, "ignored-when-uscc-is-set");
    ck_assert_int_eq (ht_record_set_region (second, "441802002001"), 0);
    ck_assert_int_eq (ht_record_derive_key (first, NULL), 0);
    ck_assert_int_eq (ht_record_derive_key (second, NULL), 0);
    ck_assert_str_eq (ht_record_key (first), ht_record_key (second));
    ck_assert (s_is_lower_hex (ht_record_key (first), 32));

    //  The key is the unkeyed BLAKE2b-128 of the canonical value
    uint8_t hash [16];
    char hex [33];
    size_t size = 0;
    int index = ht_schema_field_index (ht_record_schema (first), "uscc");
    const uint8_t *value = ht_record_field_value (first, (size_t) index, &size);
    crypto_generichash (hash, sizeof hash, value, size, NULL, 0);
    ck_assert_str_eq (ht_record_key (first), ht_hex_encode (hash, sizeof hash, hex));
    ht_record_destroy (&first);
    ht_record_destroy (&second);

    //  Without a USCC the key is region-serial
    ht_record_t *point = s_facility (NULL, "0007");
    ck_assert_int_eq (ht_record_derive_key (point, NULL), 0);
    ck_assert_str_eq (ht_record_key (point), "441802001001-0007");
    ht_record_destroy (&point);
}
END_TEST

START_TEST (elder_keys_are_32_hex_digits_and_depend_on_the_idkey)
{
    uint8_t idkey [HT_IDKEY_BYTES], other_idkey [HT_IDKEY_BYTES];
    ht_record_fixture_idkey (idkey, 0xa0);
    ht_record_fixture_idkey (other_idkey, 0xb0);
    ht_record_t *first = ht_record_fixture_elder_draft ();
    ht_record_t *second = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (second, "name", "张三丰"), 0);
    ck_assert_int_eq (ht_record_derive_key (second, idkey), 0);
    //  Only the ID number counts
    ck_assert_str_eq (ht_record_key (first), ht_record_key (second));
    ck_assert (s_is_lower_hex (ht_record_key (first), 32));
    ck_assert_int_eq (ht_record_derive_key (second, other_idkey), 0);
    ck_assert_str_ne (ht_record_key (first), ht_record_key (second));
    //  And it is not the unkeyed hash, which anyone could compute
    uint8_t hash [16];
    char hex [33];
    size_t size = 0;
    int index = ht_schema_field_index (ht_record_schema (first), "id_no");
    const uint8_t *value = ht_record_field_value (first, (size_t) index, &size);
    crypto_generichash (hash, sizeof hash, value, size, NULL, 0);
    ck_assert_str_ne (ht_record_key (first), ht_hex_encode (hash, sizeof hash, hex));
    crypto_generichash (hash, sizeof hash, value, size, idkey, sizeof idkey);
    ck_assert_str_eq (ht_record_key (first), ht_hex_encode (hash, sizeof hash, hex));

    ck_assert_int_eq (ht_record_derive_key (second, NULL), HT_EINVAL);
    ck_assert_int_eq (ht_record_unset (second, "id_no"), 0);
    ck_assert_int_eq (ht_record_derive_key (second, idkey), HT_EREQUIRED);
    ht_record_destroy (&first);
    ht_record_destroy (&second);
}
END_TEST

START_TEST (credit_keys_follow_type_issuer_and_document)
{
    ht_record_t *first = s_inspection ();
    ht_record_t *second = s_inspection ();
    ck_assert_int_eq (ht_record_set_str (second, "subject_name", "another name"), 0);
    ck_assert_int_eq (ht_record_derive_key (second, NULL), 0);
    ck_assert_str_eq (ht_record_key (first), ht_record_key (second));
    ck_assert_int_eq (ht_record_set_str (second, "doc_no", "清民检〔2025〕13号"), 0);
    ck_assert_int_eq (ht_record_derive_key (second, NULL), 0);
    ck_assert_str_ne (ht_record_key (first), ht_record_key (second));
    ht_record_destroy (&first);
    ht_record_destroy (&second);
}
END_TEST

START_TEST (record_keys_are_checked_for_shape)
{
    ht_record_t *record = ht_record_new ("facility");
    ck_assert_int_eq (ht_record_set_key (record, ""), HT_EINVAL);
    ck_assert_int_eq (ht_record_set_key (record, "a b"), HT_EINVAL);
    ck_assert_int_eq (ht_record_set_key (record, "键"), HT_EINVAL);
    char long_key [HT_KEY_MAX_CHARS + 2];
    memset (long_key, 'a', sizeof long_key - 1);
    long_key [sizeof long_key - 1] = 0;
    ck_assert_int_eq (ht_record_set_key (record, long_key), HT_EINVAL);
    long_key [HT_KEY_MAX_CHARS] = 0;
    ck_assert_int_eq (ht_record_set_key (record, long_key), 0);
    ck_assert_int_eq (ht_record_set_key (record, "Az09_.:-"), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), HT_EREQUIRED);
    ht_record_destroy (&record);
    ck_assert_ptr_null (ht_record_new ("dragon"));
}
END_TEST

START_TEST (setting_a_field_checks_name_and_type)
{
    ht_record_t *record = ht_record_new ("elder");
    ck_assert_int_eq (ht_record_set_str (record, "nickname", "x"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_str (record, "sex", "1"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_int (record, "name", 1), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_bool (record, "name", true), HT_EFIELD);
    ck_assert_int_eq (ht_record_unset (record, "nickname"), HT_EFIELD);
    const char *categories [] = { "特困", "低保" };
    ck_assert_int_eq (ht_record_set_strs (record, "categories", categories, 2), 0);
    ck_assert_uint_eq (ht_record_get_strs_count (record, "categories"), 2);
    ck_assert_str_eq (ht_record_get_strs_item (record, "categories", 1), "低保");
    ck_assert_ptr_null (ht_record_get_strs_item (record, "categories", 2));
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  Merge order

START_TEST (compare_orders_by_hlc_then_author_then_digest)
{
    ht_record_t *early = ht_record_fixture_elder_draft ();
    ht_record_t *late = ht_record_fixture_elder_draft ();
    ht_record_set_hlc (late, ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS, 1));
    ht_record_fixture_sign (early, 0x42);
    ht_record_fixture_sign (late, 0x01);
    ck_assert_int_eq (ht_record_compare (early, late), -1);
    ck_assert_int_eq (ht_record_compare (late, early), 1);
    ck_assert_int_eq (ht_record_compare (early, early), 0);

    //  Same hlc: the author's bytes decide
    ht_record_t *by_a = ht_record_fixture_elder_draft ();
    ht_record_t *by_b = ht_record_fixture_elder_draft ();
    ht_record_fixture_sign (by_a, 0x01);
    ht_record_fixture_sign (by_b, 0x02);
    int order = memcmp (ht_record_author (by_a), ht_record_author (by_b), HT_PUBKEY_BYTES);
    ck_assert_int_ne (order, 0);
    ck_assert_int_eq (ht_record_compare (by_a, by_b), order < 0? -1: 1);
    ck_assert_int_eq (ht_record_compare (by_b, by_a), order < 0? 1: -1);

    //  Same hlc and author, other content: the digest decides, and both
    //  directions agree
    ht_record_t *one = ht_record_fixture_elder_draft ();
    ht_record_t *two = ht_record_fixture_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (two, "phone", "13800138000"), 0);
    ht_record_fixture_sign (one, 0x42);
    ht_record_fixture_sign (two, 0x42);
    uint8_t digest_one [HT_DIGEST_BYTES], digest_two [HT_DIGEST_BYTES];
    ck_assert_int_eq (ht_record_digest (one, digest_one), 0);
    ck_assert_int_eq (ht_record_digest (two, digest_two), 0);
    order = memcmp (digest_one, digest_two, HT_DIGEST_BYTES);
    ck_assert_int_ne (order, 0);
    ck_assert_int_eq (ht_record_compare (one, two), order < 0? -1: 1);
    ck_assert_int_eq (ht_record_compare (two, one), -ht_record_compare (one, two));

    //  hlc outranks the author
    ht_record_set_hlc (by_b, ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS - 1, 0));
    ht_record_fixture_sign (by_b, 0x02);
    ck_assert_int_eq (ht_record_compare (by_b, by_a), -1);

    ht_record_destroy (&early);
    ht_record_destroy (&late);
    ht_record_destroy (&by_a);
    ht_record_destroy (&by_b);
    ht_record_destroy (&one);
    ht_record_destroy (&two);
}
END_TEST

START_TEST (compare_is_antisymmetric_over_many_versions)
{
    ht_record_t *versions [12];
    for (size_t index = 0; index < S_COUNT (versions); index++) {
        versions [index] = ht_record_fixture_elder_draft ();
        ht_record_set_hlc (versions [index],
                           ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS, (uint16_t) (index % 3)));
        ht_record_fixture_sign (versions [index], (uint8_t) (index % 2));
    }
    for (size_t a = 0; a < S_COUNT (versions); a++)
        for (size_t b = 0; b < S_COUNT (versions); b++) {
            int ab = ht_record_compare (versions [a], versions [b]);
            int ba = ht_record_compare (versions [b], versions [a]);
            ck_assert_int_eq (ab, -ba);
            ck_assert (ab >= -1 && ab <= 1);
            if (a == b)
                ck_assert_int_eq (ab, 0);
            else
                ck_assert_int_ne (ab, 0);       //  fresh seeds: digests differ
            for (size_t c = 0; c < S_COUNT (versions); c++)
                if (ab < 0 && ht_record_compare (versions [b], versions [c]) < 0)
                    ck_assert_int_lt (ht_record_compare (versions [a], versions [c]), 0);
        }
    for (size_t index = 0; index < S_COUNT (versions); index++)
        ht_record_destroy (&versions [index]);
}
END_TEST

//  --------------------------------------------------------------------------
//  Hex

START_TEST (hex_round_trips_and_refuses_bad_input)
{
    const uint8_t bytes [] = { 0x00, 0x7f, 0xab, 0xff };
    char hex [9];
    ck_assert_str_eq (ht_hex_encode (bytes, sizeof bytes, hex), "007fabff");
    uint8_t back [4];
    ck_assert_int_eq (ht_hex_decode ("007fabff", back, sizeof back), 0);
    ck_assert_mem_eq (back, bytes, sizeof bytes);
    ck_assert_int_eq (ht_hex_decode ("007FABFF", back, sizeof back), 0);
    ck_assert_int_eq (ht_hex_decode ("007fab", back, sizeof back), HT_EINVAL);
    ck_assert_int_eq (ht_hex_decode ("007fabff00", back, sizeof back), HT_EINVAL);
    ck_assert_int_eq (ht_hex_decode ("007fabfg", back, sizeof back), HT_EINVAL);
    ck_assert_int_eq (ht_hex_decode ("007f abf", back, sizeof back), HT_EINVAL);
}
END_TEST

//  --------------------------------------------------------------------------
//  Same content

START_TEST (versions_with_the_same_content_are_the_same_whoever_signed_them_whenever)
{
    ht_record_t *signed_one = ht_record_fixture_elder_signed ();
    ht_record_t *draft = ht_record_fixture_elder_draft ();
    ht_record_set_hlc (draft, ht_record_hlc (signed_one) + 1);
    ck_assert (ht_record_same_content (signed_one, draft));
    ht_record_fixture_sign (draft, 0x43);       //  another author, a fresh seed
    ck_assert (ht_record_same_content (signed_one, draft));
    ck_assert (ht_record_same_content (draft, signed_one));
    ht_record_destroy (&draft);
    ht_record_destroy (&signed_one);
}
END_TEST

START_TEST (a_changed_field_region_scope_or_tombstone_is_other_content)
{
    ht_record_t *current = ht_record_fixture_elder_signed ();
    for (int change = 0; change < 6; change++) {
        ht_record_t *draft = ht_record_fixture_elder_draft ();
        if (change == 0)
            ck_assert_int_eq (ht_record_set_str (draft, "name", "张四"), 0);
        else
        if (change == 1)
            ck_assert_int_eq (ht_record_set_str (draft, "phone", "13800138000"), 0);
        else
        if (change == 2)
            ck_assert_int_eq (ht_record_set_region (draft, HT_FIXTURE_TOWNSHIP), 0);
        else
        if (change == 3)
            ck_assert_int_eq (ht_record_set_scope (draft, HT_FIXTURE_TOWNSHIP), 0);
        else
        if (change == 4)
            ht_record_set_deleted (draft, true);
        else
            ck_assert_int_eq (ht_record_set_key (draft, "another_key"), 0);
        ck_assert_msg (!ht_record_same_content (current, draft), "change %d", change);
        ht_record_destroy (&draft);
    }
    ht_record_destroy (&current);
}
END_TEST

START_TEST (a_withheld_field_is_never_shown_the_same)
{
    ht_record_t *current = ht_record_fixture_elder_signed ();
    const char *disclose [] = { "name", "status" };
    ht_record_t *redacted = ht_record_redact (current, disclose, S_COUNT (disclose));
    ck_assert_ptr_nonnull (redacted);
    ht_record_t *draft = ht_record_fixture_elder_draft ();
    ck_assert (ht_record_same_content (current, draft));
    ck_assert (!ht_record_same_content (redacted, draft));
    ck_assert (!ht_record_same_content (draft, redacted));
    ht_record_destroy (&draft);
    ht_record_destroy (&redacted);
    ht_record_destroy (&current);
}
END_TEST

static Suite *
record_suite (void)
{
    Suite *suite = suite_create ("ht_record");
    TCase *tc = tcase_create ("signing");
    tcase_add_unchecked_fixture (tc, ht_record_fixture_setup, NULL);
    tcase_set_timeout (tc, 300);           //  the byte-flip sweeps
    tcase_add_test (tc, an_elder_record_validates_signs_and_verifies);
    tcase_add_test (tc, two_signatures_of_one_record_use_fresh_seeds_and_both_verify);
    tcase_add_test (tc, a_digest_taken_before_a_change_is_not_reused_after_it);
    tcase_add_test (tc, only_a_record_signed_in_this_process_and_unchanged_counts_as_signed_here);
    tcase_add_test (tc, encode_decode_reencode_gives_identical_bytes);
    tcase_add_test (tc, an_unsigned_record_does_not_encode);
    tcase_add_test (tc, every_single_byte_change_of_the_encoding_is_refused);
    tcase_add_test (tc, an_alternative_encoding_of_the_same_record_is_refused);
    tcase_add_test (tc, a_full_record_listing_an_absent_field_as_nil_is_refused);
    tcase_add_test (tc, changing_any_header_item_breaks_the_signature);
    tcase_add_test (tc, changing_the_kind_breaks_the_signature);
    tcase_add_test (tc, changing_any_field_value_breaks_the_signature);
    tcase_add_test (tc, a_changed_signature_is_refused);
    tcase_add_test (tc, a_changed_seed_is_refused);
    tcase_add_test (tc, every_setter_drops_the_signature);
    tcase_add_test (tc, a_duplicate_keeps_the_signature);
    tcase_add_test (tc, a_deleted_record_signs_and_verifies_without_its_fields);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("validation");
    tcase_add_unchecked_fixture (tc, ht_record_fixture_setup, NULL);
    tcase_add_test (tc, a_text_that_is_not_utf8_is_refused_by_every_setter);
    tcase_add_test (tc, a_missing_required_field_is_named);
    tcase_add_test (tc, sex_not_matching_the_citizen_id_is_refused);
    tcase_add_test (tc, birth_date_not_matching_the_citizen_id_is_refused);
    tcase_add_test (tc, a_bad_citizen_id_is_refused);
    tcase_add_test (tc, an_elder_younger_than_60_is_refused);
    tcase_add_test (tc, a_status_other_than_active_needs_its_date);
    tcase_add_test (tc, a_bad_region_code_is_refused);
    tcase_add_test (tc, a_scope_that_is_not_an_ancestor_of_the_region_is_refused);
    tcase_add_test (tc, a_credit_field_not_used_by_its_subtype_is_refused);
    tcase_add_test (tc, a_field_required_by_its_subtype_only_is_enforced_there);
    tcase_add_test (tc, an_empty_or_unknown_subtype_is_refused_promptly);
    tcase_add_test (tc, a_credit_record_needs_a_subject);
    tcase_add_test (tc, a_list_shorter_than_its_minimum_is_refused);
    tcase_add_test (tc, a_facility_without_uscc_or_serial_is_refused);
    tcase_add_test (tc, a_facility_with_a_valid_uscc_passes);
    tcase_add_test (tc, facility_beds_and_residents_must_add_up);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("keys");
    tcase_add_unchecked_fixture (tc, ht_record_fixture_setup, NULL);
    tcase_add_test (tc, facility_keys_are_deterministic_for_one_uscc);
    tcase_add_test (tc, elder_keys_are_32_hex_digits_and_depend_on_the_idkey);
    tcase_add_test (tc, credit_keys_follow_type_issuer_and_document);
    tcase_add_test (tc, record_keys_are_checked_for_shape);
    tcase_add_test (tc, setting_a_field_checks_name_and_type);
    tcase_add_test (tc, hex_round_trips_and_refuses_bad_input);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("merge");
    tcase_add_unchecked_fixture (tc, ht_record_fixture_setup, NULL);
    tcase_add_test (tc, compare_orders_by_hlc_then_author_then_digest);
    tcase_add_test (tc, compare_is_antisymmetric_over_many_versions);
    tcase_add_test (tc, versions_with_the_same_content_are_the_same_whoever_signed_them_whenever);
    tcase_add_test (tc, a_changed_field_region_scope_or_tombstone_is_other_content);
    tcase_add_test (tc, a_withheld_field_is_never_shown_the_same);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (record_suite)
