//  test_record: records with a redactable signature — building, signing,
//  the canonical msgpack form, redaction, JSON, hostile input, schema
//  validation, key derivation and the merge order.
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

#include <sodium.h>
#include <string.h>

#define S_JAN_2026_MS 1767225600000ULL     //  2026-01-01T00:00:00Z
#define S_ID_NO "441802194005120317"        //  synthetic, DOMAIN.md §4
#define S_USCC "52441802MJ0001002K"         //  synthetic, DOMAIN.md §4
#define S_COMMUNITY "441802001001"
#define S_TOWNSHIP "441802001000"
#define S_COUNTY "441802000000"

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  --------------------------------------------------------------------------
//  Helpers

//  A fixed network idkey and author key, so every run builds the same
//  record (up to the random per-record seed)
static void
s_fill (uint8_t *bytes, size_t size, uint8_t first)
{
    for (size_t index = 0; index < size; index++)
        bytes [index] = (uint8_t) (first + index);
}

static ht_keypair_t *
s_key (uint8_t first)
{
    uint8_t seed [32];
    s_fill (seed, sizeof seed, first);
    ht_keypair_t *key = ht_keypair_from_seed (seed, "test");
    ck_assert_ptr_nonnull (key);
    return key;
}

static void
s_idkey (uint8_t idkey [HT_IDKEY_BYTES], uint8_t first)
{
    s_fill (idkey, HT_IDKEY_BYTES, first);
}

//  The elder of the issue: 张三, born 1940-05-12, of community 441802001001
static ht_record_t *
s_elder_draft (void)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    return ht_fixture_elder_draft (S_ID_NO, "张三", S_COMMUNITY, S_COMMUNITY, idkey,
                                   ht_hlc_make (S_JAN_2026_MS, 0));
}

static void
s_sign (ht_record_t *record, uint8_t key_first)
{
    ht_keypair_t *key = s_key (key_first);
    ck_assert_int_eq (ht_record_sign (record, key), 0);
    ht_keypair_destroy (&key);
}

static ht_record_t *
s_elder_signed (void)
{
    ht_record_t *record = s_elder_draft ();
    s_sign (record, 0x42);
    return record;
}

//  The record's canonical bytes in a buffer of exactly that size, so
//  AddressSanitizer sees any read past the end
static uint8_t *
s_encode (const ht_record_t *record, size_t *size)
{
    uint8_t *data = NULL;
    ck_assert_int_eq (ht_record_encode (record, &data, size), 0);
    ck_assert_ptr_nonnull (data);
    return data;
}

//  Decode, asserting success
static ht_record_t *
s_decode (const uint8_t *data, size_t size)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_decode (data, size, &error, &reason);
    ck_assert_msg (record != NULL, "decode failed: %d %s", error, reason);
    ck_assert_int_eq (error, 0);
    return record;
}

//  True if bytes decode into a record whose signature holds (the one
//  outcome hostile bytes must never reach)
static bool
s_accepted (const uint8_t *data, size_t size)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_decode (data, size, &error, &reason);
    if (!record) {
        ck_assert_int_ne (error, 0);
        ck_assert_ptr_nonnull (reason);
        return false;
    }
    bool verified = ht_record_verify (record, NULL) == 0;
    ht_record_destroy (&record);
    return verified;
}

//  Parse JSON into a record, asserting success, and take the JSON
static ht_record_t *
s_from_json (json_t *json)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_from_json (json, &error, &reason);
    ck_assert_msg (record != NULL, "from_json failed: %d %s", error, reason);
    json_decref (json);
    return record;
}

//  Parse edited JSON and verify it; returns the verify code
static int
s_verify_json (json_t *json)
{
    ht_record_t *record = s_from_json (json);
    ck_assert (ht_record_is_signed (record));
    int rc = ht_record_verify (record, NULL);
    ht_record_destroy (&record);
    return rc;
}

//  Flip one hex digit of a JSON string item ("0" <-> "1" etc.)
static void
s_flip_hex (json_t *object, const char *name, size_t position)
{
    const char *hex = json_string_value (json_object_get (object, name));
    ck_assert_ptr_nonnull (hex);
    char *copy = strdup (hex);
    ck_assert_uint_lt (position, strlen (copy));
    copy [position] = copy [position] == '0'? '1': '0';
    json_object_set_new (object, name, json_string (copy));
    free (copy);
}

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

//  Deterministic PRNG (xorshift64*), so hostile-input runs are repeatable
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

//  Rewrite the top-level map of an encoding: the value of key is packed
//  by pack_value (given the old value), extra pairs are appended by
//  pack_extra (which returns how many it wrote)
typedef void (s_value_fn) (msgpack_packer *packer, const msgpack_object *old);
typedef size_t (s_extra_fn) (msgpack_packer *packer);

static uint8_t *
s_rewrite (const uint8_t *data, size_t size, const char *key,
           s_value_fn *pack_value, s_extra_fn *pack_extra, size_t *new_size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    ck_assert_int_eq (msgpack_unpack_next (&unpacked, (const char *) data, size, &offset),
                      MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *map = &unpacked.data;
    ck_assert_int_eq (map->type, MSGPACK_OBJECT_MAP);
    ht_packer_t body;
    ht_packer_init (&body);
    size_t count = 0;
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object_kv *pair = &map->via.map.ptr [index];
        msgpack_pack_object (&body.packer, pair->key);
        if (key && ht_obj_str_eq (&pair->key, key))
            pack_value (&body.packer, &pair->val);
        else
            msgpack_pack_object (&body.packer, pair->val);
        count++;
    }
    if (pack_extra)
        count += pack_extra (&body.packer);
    ht_packer_t out;
    ht_packer_init (&out);
    msgpack_pack_map (&out.packer, count);
    ht_pack_raw (&out.packer, (const uint8_t *) body.buffer.data, body.buffer.size);
    ht_packer_destroy (&body);
    msgpack_unpacked_destroy (&unpacked);
    uint8_t *result = ht_packer_take (&out, new_size);
    ht_packer_destroy (&out);
    return result;
}

//  Pack a field map (f) with every old pair, one changed or added
static void
s_pack_fields (msgpack_packer *packer, const msgpack_object *old,
               const char *name, void (*pack)(msgpack_packer *), bool add)
{
    msgpack_pack_map (packer, old->via.map.size + (add? 1: 0));
    for (uint32_t index = 0; index < old->via.map.size; index++) {
        const msgpack_object_kv *pair = &old->via.map.ptr [index];
        msgpack_pack_object (packer, pair->key);
        if (!add && ht_obj_str_eq (&pair->key, name))
            pack (packer);
        else
            msgpack_pack_object (packer, pair->val);
    }
    if (add) {
        ht_pack_cstr (packer, name);
        pack (packer);
    }
}

//  Decode must refuse these bytes with the given error
static void
s_assert_refused (const uint8_t *data, size_t size, int expected)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_decode (data, size, &error, &reason);
    ck_assert_ptr_null (record);
    ck_assert_msg (error == expected, "expected %d, got %d (%s)", expected, error, reason);
    ck_assert_ptr_nonnull (reason);
}

static void s_assert_rewrite_refused (const char *key, s_value_fn *pack_value, int expected);

//  --------------------------------------------------------------------------
//  Building, signing, the canonical form

START_TEST (an_elder_record_validates_signs_and_verifies)
{
    ht_record_t *record = s_elder_draft ();
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), 0);
    ck_assert (!ht_record_is_signed (record));
    ck_assert (ht_record_is_full (record));
    ck_assert_int_eq (ht_record_verify (record, &reason), HT_EBADSIG);

    ht_keypair_t *key = s_key (0x42);
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
    ck_assert_str_eq (ht_record_region (record), S_COMMUNITY);
    ck_assert_str_eq (ht_record_scope (record), S_COMMUNITY);
    ck_assert_uint_eq (ht_record_hlc (record), ht_hlc_make (S_JAN_2026_MS, 0));
    ck_assert (!ht_record_deleted (record));
    ck_assert_str_eq (ht_record_get_str (record, "name"), "张三");
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
    ht_record_t *record = s_elder_signed ();
    ck_assert (ht_record_signed_here (record));
    //  Its bytes, decoded, are someone else's claim: verify those
    uint8_t *data;
    size_t size;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    ht_record_t *decoded = s_decode (data, size);
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

START_TEST (two_signatures_of_one_record_use_fresh_seeds_and_both_verify)
{
    ht_record_t *first = s_elder_signed ();
    ht_record_t *second = s_elder_signed ();
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
    ht_record_t *record = s_elder_signed ();
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
    ht_record_t *decoded = s_decode (data, size);
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    ck_assert_int_eq (ht_record_validate (decoded, NULL), 0);
    ck_assert (ht_record_is_full (decoded));
    ck_assert_str_eq (ht_record_key (decoded), ht_record_key (record));
    ck_assert_str_eq (ht_record_get_str (decoded, "name"), "张三");
    size_t again_size = 0;
    uint8_t *again = s_encode (decoded, &again_size);
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
    ht_record_t *record = s_elder_draft ();
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
    ht_record_t *record = s_elder_signed ();
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
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
    ht_record_t *record = s_elder_signed ();
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *hlc = (uint8_t *) memmem (data, size, "\xa3hlc\xcf", 5);
    ck_assert_ptr_nonnull (hlc);
    hlc [4] = 0xd3;
    s_assert_refused (data, size, HT_EMALFORMED);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

static void s_pack_nil (msgpack_packer *packer) { msgpack_pack_nil (packer); }

static void
s_pack_f_with_nil_phone (msgpack_packer *packer, const msgpack_object *old)
{
    s_pack_fields (packer, old, "phone", s_pack_nil, true);
}

START_TEST (a_full_record_listing_an_absent_field_as_nil_is_refused)
{
    //  An absent field digests as nil either way, so this extra entry would
    //  be a second encoding of the same record
    ht_record_t *record = s_elder_signed ();
    size_t size = 0, new_size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *changed = s_rewrite (data, size, "f", s_pack_f_with_nil_phone, NULL, &new_size);
    ck_assert (!s_accepted (changed, new_size));
    free (changed);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (changing_any_header_item_breaks_the_signature)
{
    ht_record_t *record = s_elder_signed ();
    ht_keypair_t *other = s_key (0x77);
    char other_hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hex_encode (ht_keypair_public (other), HT_PUBKEY_BYTES, other_hex);

    //  Unchanged JSON still verifies, so each failure below is the edit's
    ck_assert_int_eq (s_verify_json (ht_record_to_json (record)), 0);

    json_t *json = ht_record_to_json (record);
    json_object_set_new (json, "key", json_string ("0123456789abcdef0123456789abcdef"));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "region", json_string ("441802001002"));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "scope", json_string (S_TOWNSHIP));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "hlc", json_integer ((json_int_t) ht_record_hlc (record) + 1));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "author", json_string (other_hex));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    json = ht_record_to_json (record);
    json_object_set_new (json, "deleted", json_true ());
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    //  The suite is checked before the signature
    json = ht_record_to_json (record);
    json_object_set_new (json, "suite", json_integer (2));
    ck_assert_int_eq (s_verify_json (json), HT_EVERSION);

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
    s_fill (pubkey, sizeof pubkey, 0x10);
    ck_assert_int_eq (ht_record_set_bin (record, "pubkey", pubkey, sizeof pubkey), 0);
    ck_assert_int_eq (ht_record_set_int (record, "revoked_at", (int64_t) S_JAN_2026_MS), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_COMMUNITY), 0);
    ht_record_set_hlc (record, ht_hlc_make (S_JAN_2026_MS, 0));
    s_sign (record, 0x42);
    ck_assert_int_eq (ht_record_verify (record, NULL), 0);

    json_t *json = ht_record_to_json (record);
    json_t *fields = json_object_get (json, "fields");
    json_object_del (fields, "revoked_at");
    json_object_set_new (json, "kind", json_string ("cert"));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (changing_any_field_value_breaks_the_signature)
{
    ht_record_t *record = s_elder_signed ();
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
        ck_assert_msg (s_verify_json (json) == HT_EBADSIG, "changing %s verified", name);
        changed++;
    }
    ck_assert_uint_eq (changed, 7);

    //  Setting an absent field, or dropping a present one
    json_t *json = json_deep_copy (original);
    json_object_set_new (json_object_get (json, "fields"), "phone", json_string ("13800138000"));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);
    json = json_deep_copy (original);
    json_object_del (json_object_get (json, "fields"), "name");
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    json_decref (original);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_changed_signature_is_refused)
{
    ht_record_t *record = s_elder_signed ();
    for (size_t position = 0; position < 2 * HT_SIG_BYTES; position += 7) {
        json_t *json = ht_record_to_json (record);
        s_flip_hex (json, "sig", position);
        ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);
    }
    //  A genuine signature of the same author over another record
    ht_record_t *other = s_elder_signed ();
    char sig_hex [2 * HT_SIG_BYTES + 1];
    ht_hex_encode (ht_record_sig (other), HT_SIG_BYTES, sig_hex);
    json_t *json = ht_record_to_json (record);
    json_object_set_new (json, "sig", json_string (sig_hex));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);
    ht_record_destroy (&other);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_changed_seed_is_refused)
{
    //  The seed yields every salt: another seed, other field digests
    ht_record_t *record = s_elder_signed ();
    json_t *json = ht_record_to_json (record);
    s_flip_hex (json, "seed", 10);
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (every_setter_drops_the_signature)
{
    ht_record_t *record = s_elder_signed ();
    ck_assert_int_eq (ht_record_set_str (record, "name", "张三"), 0);
    ck_assert (!ht_record_is_signed (record));
    ck_assert_int_eq (ht_record_verify (record, NULL), HT_EBADSIG);
    ht_record_destroy (&record);

    record = s_elder_signed ();
    ht_record_set_hlc (record, ht_record_hlc (record) + 1);
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);

    record = s_elder_signed ();
    ht_record_set_deleted (record, true);
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);

    record = s_elder_signed ();
    ck_assert_int_eq (ht_record_unset (record, "name"), 0);
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);

    record = s_elder_signed ();
    ck_assert_int_eq (ht_record_set_scope (record, S_TOWNSHIP), 0);
    ck_assert (!ht_record_is_signed (record));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_duplicate_keeps_the_signature)
{
    ht_record_t *record = s_elder_signed ();
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
    ht_record_t *record = s_elder_draft ();
    ck_assert_int_eq (ht_record_unset (record, "name"), 0);
    ht_record_set_deleted (record, true);
    ck_assert_int_eq (ht_record_validate (record, NULL), 0);
    s_sign (record, 0x42);
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
    ht_record_t *decoded = s_decode (data, size);
    ck_assert (ht_record_deleted (decoded));
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    free (data);
    ht_record_destroy (&decoded);
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  Redaction

static ht_record_t *
s_redact_name_status (const ht_record_t *record)
{
    const char *disclose [] = { "name", "status", "no_such_field" };
    ht_record_t *redacted = ht_record_redact (record, disclose, S_COUNT (disclose));
    ck_assert_ptr_nonnull (redacted);
    return redacted;
}

START_TEST (a_record_redacted_to_name_and_status_verifies)
{
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
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
    ck_assert_str_eq (ht_record_get_str (record, "id_no"), S_ID_NO);
    ck_assert_int_eq (ht_record_verify (record, NULL), 0);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (redacted_bytes_hold_no_withheld_value_nor_the_seed)
{
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);

    //  The seed and salts of withheld fields, from the full form's JSON
    json_t *json = ht_record_to_json (record);
    uint8_t seed [HT_SEED_BYTES];
    ck_assert_int_eq (ht_hex_decode (json_string_value (json_object_get (json, "seed")),
                                     seed, sizeof seed), 0);
    json_decref (json);

    size_t full_size = 0;
    uint8_t *full = s_encode (record, &full_size);
    ck_assert (s_contains (full, full_size, seed, sizeof seed));   //  control
    ck_assert (s_contains_text (full, full_size, S_ID_NO));

    size_t size = 0;
    uint8_t *data = s_encode (redacted, &size);
    ck_assert_uint_eq (data [0], 0x8e);        //  14 items: s and w, no seed
    const char *withheld [] = { S_ID_NO, "19400512", "居民身份证", "seed" };
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
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
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
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
    size_t size = 0;
    uint8_t *data = s_encode (redacted, &size);
    ht_record_t *decoded = s_decode (data, size);
    ck_assert (!ht_record_is_full (decoded));
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    ck_assert_str_eq (ht_record_get_str (decoded, "name"), "张三");
    ck_assert_int_eq (ht_record_field_state (decoded, "id_no"), HT_FIELD_WITHHELD);
    size_t again_size = 0;
    uint8_t *again = s_encode (decoded, &again_size);
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
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
    size_t size = 0;
    uint8_t *data = s_encode (redacted, &size);
    uint8_t *copy = (uint8_t *) malloc (size);
    size_t accepted = 0, first_position = 0;
    for (size_t position = 0; position < size; position++)
        for (int value = 0; value < 256; value++) {
            if (value == data [position])
                continue;
            memcpy (copy, data, size);
            copy [position] = (uint8_t) value;
            if (s_accepted (copy, size) && accepted++ == 0)
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
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
    json_t *json = ht_record_to_json (redacted);
    ck_assert_ptr_null (json_object_get (json, "seed"));
    ck_assert_ptr_nonnull (json_object_get (json_object_get (json, "withheld"), "id_no"));
    ck_assert_ptr_nonnull (json_object_get (json_object_get (json, "salts"), "name"));
    ck_assert_ptr_null (json_object_get (json_object_get (json, "salts"), "id_no"));
    char *text = json_dumps (json, JSON_COMPACT);
    ck_assert_ptr_nonnull (strstr (text, "张三"));
    ck_assert_ptr_null (strstr (text, S_ID_NO));
    ck_assert_ptr_null (strstr (text, "19400512"));
    json_decref (json);

    json_error_t json_error;
    json = json_loads (text, 0, &json_error);
    ck_assert_ptr_nonnull (json);
    free (text);
    ht_record_t *parsed = s_from_json (json);
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
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
    json_t *original = ht_record_to_json (redacted);
    ck_assert_int_eq (s_verify_json (json_deep_copy (original)), 0);

    //  A disclosed value
    json_t *json = json_deep_copy (original);
    json_object_set_new (json_object_get (json, "fields"), "name", json_string ("李四"));
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    //  A salt
    json = json_deep_copy (original);
    s_flip_hex (json_object_get (json, "salts"), "name", 3);
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

    //  A withheld digest
    json = json_deep_copy (original);
    s_flip_hex (json_object_get (json, "withheld"), "id_no", 5);
    ck_assert_int_eq (s_verify_json (json), HT_EBADSIG);

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
    ht_record_t *without = s_elder_signed ();
    ht_record_t *with = s_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (with, "phone", "13800138000"), 0);
    s_sign (with, 0x42);
    ht_record_t *redacted_without = s_redact_name_status (without);
    ht_record_t *redacted_with = s_redact_name_status (with);
    ck_assert_int_eq (ht_record_field_state (redacted_without, "phone"), HT_FIELD_WITHHELD);
    ck_assert_int_eq (ht_record_field_state (redacted_with, "phone"), HT_FIELD_WITHHELD);

    size_t size_without = 0, size_with = 0;
    uint8_t *data_without = s_encode (redacted_without, &size_without);
    uint8_t *data_with = s_encode (redacted_with, &size_with);
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
    ht_record_t *record = s_elder_signed ();
    const char *disclose [] = { "name", "phone" };
    ht_record_t *redacted = ht_record_redact (record, disclose, 2);
    ck_assert_int_eq (ht_record_field_state (redacted, "phone"), HT_FIELD_ABSENT);
    ck_assert_int_eq (ht_record_verify (redacted, NULL), 0);
    size_t size = 0;
    uint8_t *data = s_encode (redacted, &size);
    ht_record_t *decoded = s_decode (data, size);
    ck_assert_int_eq (ht_record_field_state (decoded, "phone"), HT_FIELD_ABSENT);
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    json_t *json = ht_record_to_json (decoded);
    ck_assert (json_is_null (json_object_get (json_object_get (json, "fields"), "phone")));
    ck_assert_int_eq (s_verify_json (json), 0);
    free (data);
    ht_record_destroy (&decoded);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (only_a_signed_full_record_can_be_redacted_or_signed_again)
{
    ht_record_t *draft = s_elder_draft ();
    const char *disclose [] = { "name" };
    ck_assert_ptr_null (ht_record_redact (draft, disclose, 1));
    ht_record_destroy (&draft);

    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = ht_record_redact (record, disclose, 1);
    ht_keypair_t *key = s_key (0x42);
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
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
    ck_assert_int_eq (ht_record_set_mask (redacted, "name", "张*"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_mask (redacted, "nope", "x"), HT_EFIELD);
    ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "441802********0317"), 0);
    ck_assert_str_eq (ht_record_get_mask (redacted, "id_no"), "441802********0317");
    ck_assert_int_eq (ht_record_verify (redacted, NULL), 0);

    size_t size = 0;
    uint8_t *data = s_encode (redacted, &size);
    ck_assert_uint_eq (data [0], 0x8f);        //  m joins s and w
    ht_record_t *decoded = s_decode (data, size);
    ck_assert_str_eq (ht_record_get_mask (decoded, "id_no"), "441802********0317");
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    json_t *json = ht_record_to_json (decoded);
    ck_assert_str_eq (json_string_value (json_object_get (json_object_get (json, "masked"), "id_no")),
                      "441802********0317");
    ht_record_t *parsed = s_from_json (json);
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
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
    ck_assert_int_eq (ht_record_set_mask (redacted, "id_no", "441802********0317"), 0);
    size_t size = 0, new_size = 0;
    uint8_t *data = s_encode (redacted, &size);
    uint8_t *changed = s_rewrite (data, size, "m", s_pack_mask_on_name, NULL, &new_size);
    ck_assert (!s_accepted (changed, new_size));

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

//  --------------------------------------------------------------------------
//  JSON

START_TEST (json_keeps_chinese_text_readable_and_verifies_after_parsing)
{
    ht_record_t *record = s_elder_signed ();
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
    ht_record_t *parsed = s_from_json (json);
    ck_assert (ht_record_is_signed (parsed));
    ck_assert (ht_record_is_full (parsed));
    ck_assert_int_eq (ht_record_verify (parsed, NULL), 0);
    ck_assert_str_eq (ht_record_get_str (parsed, "name"), "张三");

    //  And its msgpack form is byte for byte the original's
    size_t size = 0, parsed_size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *parsed_data = s_encode (parsed, &parsed_size);
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
    ht_record_t *draft = s_from_json (json);
    ck_assert (!ht_record_is_signed (draft));
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ck_assert_int_eq (ht_record_derive_key (draft, idkey), 0);
    ck_assert_int_eq (ht_record_validate (draft, NULL), 0);
    ht_record_t *built = s_elder_draft ();
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
    ht_record_t *parsed = s_from_json (json);
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
    ht_record_t *record = s_elder_signed ();
    json_t *json = ht_record_to_json (record);
    ck_assert_int_eq (json_integer_value (json_object_get (json, "sv")), 1);
    ht_record_t *unsigned_draft = s_elder_draft ();
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
    ht_record_t *parsed = s_from_json (json_incref (draft));
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

//  --------------------------------------------------------------------------
//  Hostile bytes

START_TEST (every_truncated_encoding_is_refused)
{
    ht_record_t *record = s_elder_signed ();
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
    for (size_t length = 0; length < size; length++) {
        uint8_t *prefix = (uint8_t *) malloc (length? length: 1);
        memcpy (prefix, data, length);
        int error = 0;
        const char *reason = NULL;
        ht_record_t *decoded = ht_record_decode (prefix, length, &error, &reason);
        ck_assert_msg (decoded == NULL, "prefix of %zu bytes decoded", length);
        ck_assert_int_eq (error, HT_ETRUNCATED);
        ck_assert_ptr_nonnull (reason);
        free (prefix);
    }
    free (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (trailing_bytes_after_a_record_are_refused)
{
    ht_record_t *record = s_elder_signed ();
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *longer = (uint8_t *) malloc (size + 1);
    memcpy (longer, data, size);
    longer [size] = 0xc0;
    s_assert_refused (longer, size + 1, HT_EMALFORMED);
    free (longer);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (random_garbage_never_decodes_into_a_verified_record)
{
    uint64_t state = 0x48757470ULL;         //  fixed seed: repeatable
    for (int round = 0; round < 10000; round++) {
        size_t size = (size_t) (s_random (&state) % 600);
        uint8_t *data = (uint8_t *) malloc (size? size: 1);
        for (size_t index = 0; index < size; index++)
            data [index] = (uint8_t) s_random (&state);
        //  Half the buffers start like a record, to get past the first byte
        if (round % 2 && size > 0)
            data [0] = 0x8c;
        ck_assert (!s_accepted (data, size));
        free (data);
    }
}
END_TEST

START_TEST (random_mutations_of_a_record_never_verify)
{
    //  Several bytes changed at once reach deeper into the decoder than
    //  random buffers do
    ht_record_t *record = s_elder_signed ();
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *copy = (uint8_t *) malloc (size);
    uint64_t state = 0x5A68616E67ULL;
    for (int round = 0; round < 10000; round++) {
        memcpy (copy, data, size);
        int changes = 1 + (int) (s_random (&state) % 4);
        bool changed = false;
        for (int change = 0; change < changes; change++) {
            size_t position = (size_t) (s_random (&state) % size);
            uint8_t value = (uint8_t) s_random (&state);
            changed |= copy [position] != value;
            copy [position] = value;
        }
        if (changed && memcmp (copy, data, size) != 0)
            ck_assert (!s_accepted (copy, size));
        //  And a random truncation of the mutant
        size_t length = (size_t) (s_random (&state) % size);
        ck_assert (!s_accepted (copy, length));
    }
    free (copy);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

static void
s_pack_deep_array (msgpack_packer *packer)
{
    for (int depth = 0; depth < 100; depth++)
        msgpack_pack_array (packer, 1);
    ht_pack_cstr (packer, "特困");
}

static void
s_pack_f_deep_categories (msgpack_packer *packer, const msgpack_object *old)
{
    s_pack_fields (packer, old, "categories", s_pack_deep_array, true);
}

START_TEST (peek_reads_the_header_and_refuses_hostile_bytes)
{
    ht_record_t *record = s_elder_signed ();
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
    ht_record_head_t head;
    ck_assert_int_eq (ht_record_peek (data, size, &head), 0);
    ck_assert_str_eq (head.kind, "elder");
    ck_assert_str_eq (head.key, ht_record_key (record));
    ck_assert_str_eq (head.region, S_COMMUNITY);
    ck_assert_str_eq (head.scope, S_COMMUNITY);
    ck_assert_uint_eq (head.hlc, ht_record_hlc (record));
    for (size_t length = 0; length < size; length++) {
        uint8_t *prefix = (uint8_t *) malloc (length? length: 1);
        memcpy (prefix, data, length);
        ck_assert_int_eq (ht_record_peek (prefix, length, &head), HT_EMALFORMED);
        free (prefix);
    }
    uint64_t state = 0x7065656BULL;
    for (int round = 0; round < 2000; round++) {
        size_t length = (size_t) (s_random (&state) % 200);
        uint8_t *garbage = (uint8_t *) malloc (length? length: 1);
        for (size_t index = 0; index < length; index++)
            garbage [index] = (uint8_t) s_random (&state);
        int rc = ht_record_peek (garbage, length, &head);
        ck_assert (rc == 0 || rc == HT_EMALFORMED);
        free (garbage);
    }
    const uint8_t array [] = { 0x92, 0x01, 0x02 };
    ck_assert_int_eq (ht_record_peek (array, sizeof array, &head), HT_EMALFORMED);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (nested_arrays_100_deep_are_refused)
{
    uint8_t data [101];
    memset (data, 0x91, 100);               //  [[[[...]]]]
    data [100] = 0x01;
    int error = 0;
    ck_assert_ptr_null (ht_record_decode (data, sizeof data, &error, NULL));
    ck_assert_int_eq (error, HT_EMALFORMED);
}
END_TEST

START_TEST (a_field_value_nested_100_deep_is_refused)
{
    s_assert_rewrite_refused ("f", s_pack_f_deep_categories, HT_EMALFORMED);
}
END_TEST

START_TEST (a_map_claiming_four_billion_entries_is_refused)
{
    const uint8_t data [10] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a', 0x01, 0xa1, 'b' };
    s_assert_refused (data, sizeof data, HT_ETRUNCATED);
    const uint8_t array [10] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05 };
    s_assert_refused (array, sizeof array, HT_ETRUNCATED);
    const uint8_t text [10] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd', 'e' };
    s_assert_refused (text, sizeof text, HT_ETRUNCATED);
}
END_TEST

START_TEST (a_record_that_is_not_a_map_is_refused)
{
    const uint8_t array [] = { 0x92, 0x01, 0x02 };
    s_assert_refused (array, sizeof array, HT_EMALFORMED);
    const uint8_t nil [] = { 0xc0 };
    s_assert_refused (nil, sizeof nil, HT_EMALFORMED);
    const uint8_t reserved [] = { 0xc1 };
    s_assert_refused (reserved, sizeof reserved, HT_EMALFORMED);
    const uint8_t empty_map [] = { 0x80 };
    s_assert_refused (empty_map, sizeof empty_map, HT_EMALFORMED);
}
END_TEST

static size_t
s_extra_unknown (msgpack_packer *packer)
{
    ht_pack_cstr (packer, "zzz");
    msgpack_pack_uint8 (packer, 1);
    return 1;
}

START_TEST (an_unknown_top_level_key_is_refused)
{
    ht_record_t *record = s_elder_signed ();
    size_t size = 0, new_size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *changed = s_rewrite (data, size, NULL, NULL, s_extra_unknown, &new_size);
    s_assert_refused (changed, new_size, HT_EMALFORMED);
    free (changed);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

static size_t
s_extra_duplicate_del (msgpack_packer *packer)
{
    ht_pack_cstr (packer, "del");
    msgpack_pack_true (packer);
    return 1;
}

static size_t
s_extra_duplicate_kind (msgpack_packer *packer)
{
    ht_pack_cstr (packer, "kind");
    ht_pack_cstr (packer, "facility");
    return 1;
}

START_TEST (a_duplicate_top_level_key_is_refused)
{
    ht_record_t *record = s_elder_signed ();
    size_t size = 0, new_size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *changed = s_rewrite (data, size, NULL, NULL, s_extra_duplicate_del, &new_size);
    s_assert_refused (changed, new_size, HT_EMALFORMED);
    free (changed);
    changed = s_rewrite (data, size, NULL, NULL, s_extra_duplicate_kind, &new_size);
    s_assert_refused (changed, new_size, HT_EMALFORMED);
    free (changed);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

static void s_pack_other_name (msgpack_packer *packer) { ht_pack_cstr (packer, "李四"); }

static void
s_pack_f_duplicate_name (msgpack_packer *packer, const msgpack_object *old)
{
    s_pack_fields (packer, old, "name", s_pack_other_name, true);
}

START_TEST (a_duplicate_field_is_refused)
{
    ht_record_t *record = s_elder_signed ();
    size_t size = 0, new_size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *changed = s_rewrite (data, size, "f", s_pack_f_duplicate_name, NULL, &new_size);
    s_assert_refused (changed, new_size, HT_EMALFORMED);
    free (changed);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

static void s_pack_text_one (msgpack_packer *packer) { ht_pack_cstr (packer, "1"); }
static void s_pack_float_one (msgpack_packer *packer) { msgpack_pack_double (packer, 1.0); }
static void s_pack_number (msgpack_packer *packer) { msgpack_pack_uint8 (packer, 7); }
static void s_pack_nickname (msgpack_packer *packer) { ht_pack_cstr (packer, "小三"); }

static void
s_pack_f_text_sex (msgpack_packer *packer, const msgpack_object *old)
{
    s_pack_fields (packer, old, "sex", s_pack_text_one, false);
}

static void
s_pack_f_float_sex (msgpack_packer *packer, const msgpack_object *old)
{
    s_pack_fields (packer, old, "sex", s_pack_float_one, false);
}

static void
s_pack_f_number_name (msgpack_packer *packer, const msgpack_object *old)
{
    s_pack_fields (packer, old, "name", s_pack_number, false);
}

static void
s_pack_f_nickname (msgpack_packer *packer, const msgpack_object *old)
{
    s_pack_fields (packer, old, "nickname", s_pack_nickname, true);
}

static void
s_pack_float_hlc (msgpack_packer *packer, const msgpack_object *old)
{
    msgpack_pack_double (packer, (double) old->via.u64);
}

static void
s_pack_not_a_map (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_array (packer, 0);
}

//  Rewrite the elder's encoding and expect decode to refuse it
static void
s_assert_rewrite_refused (const char *key, s_value_fn *pack_value, int expected)
{
    ht_record_t *record = s_elder_signed ();
    size_t size = 0, new_size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *changed = s_rewrite (data, size, key, pack_value, NULL, &new_size);
    s_assert_refused (changed, new_size, expected);
    free (changed);
    free (data);
    ht_record_destroy (&record);
}

START_TEST (a_field_of_the_wrong_type_is_refused)
{
    s_assert_rewrite_refused ("f", s_pack_f_text_sex, HT_EFIELD);
    s_assert_rewrite_refused ("f", s_pack_f_number_name, HT_EFIELD);
}
END_TEST

START_TEST (an_unknown_field_is_refused)
{
    s_assert_rewrite_refused ("f", s_pack_f_nickname, HT_EFIELD);
}
END_TEST

START_TEST (a_float_in_place_of_an_integer_is_refused)
{
    s_assert_rewrite_refused ("f", s_pack_f_float_sex, HT_EFIELD);
    s_assert_rewrite_refused ("hlc", s_pack_float_hlc, HT_EMALFORMED);
}
END_TEST

START_TEST (a_field_map_that_is_not_a_map_is_refused)
{
    s_assert_rewrite_refused ("f", s_pack_not_a_map, HT_EMALFORMED);
}
END_TEST

static void s_pack_version_one (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_uint8 (packer, 1);
}

static void s_pack_version_three (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_uint8 (packer, 3);
}

START_TEST (an_unknown_format_version_is_refused)
{
    //  Format 1 (a header without the schema version) is no longer read
    s_assert_rewrite_refused ("v", s_pack_version_one, HT_EVERSION);
    s_assert_rewrite_refused ("v", s_pack_version_three, HT_EVERSION);
}
END_TEST

static void s_pack_schema_version_two (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_uint8 (packer, 2);
}

static void s_pack_schema_version_big (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_uint64 (packer, 1ull << 40);
}

static void s_pack_schema_version_zero (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_uint8 (packer, 0);
}

static void s_pack_schema_version_text (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    ht_pack_cstr (packer, "1");
}

START_TEST (a_schema_version_newer_than_the_kinds_is_refused_by_name)
{
    //  elder is at version 1 here: version 2 comes from a later release
    ck_assert_uint_eq (ht_schema_kind ("elder")->version, 1);
    s_assert_rewrite_refused ("sv", s_pack_schema_version_two, HT_ESCHEMAVERSION);
    s_assert_rewrite_refused ("sv", s_pack_schema_version_big, HT_ESCHEMAVERSION);
    s_assert_rewrite_refused ("sv", s_pack_schema_version_zero, HT_EMALFORMED);
    s_assert_rewrite_refused ("sv", s_pack_schema_version_text, HT_EMALFORMED);
}
END_TEST

START_TEST (a_record_without_its_schema_version_is_refused)
{
    //  Rename "sv" to an unknown item: it is then both unknown and missing
    ht_record_t *record = s_elder_signed ();
    size_t size = 0;
    uint8_t *data = s_encode (record, &size);
    const uint8_t sv [] = { 0xa2, 's', 'v', 0x01 };
    uint8_t *at = memmem (data, size, sv, sizeof sv);
    ck_assert_ptr_nonnull (at);
    at [2] = 'x';
    s_assert_refused (data, size, HT_EMALFORMED);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

static void s_pack_unknown_kind (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    ht_pack_cstr (packer, "dragon");
}

START_TEST (an_unknown_kind_is_refused)
{
    s_assert_rewrite_refused ("kind", s_pack_unknown_kind, HT_EKIND);
}
END_TEST

static void s_pack_empty_map (msgpack_packer *packer, const msgpack_object *old)
{
    (void) old;
    msgpack_pack_map (packer, 0);
}

static size_t
s_extra_salts (msgpack_packer *packer)
{
    ht_pack_cstr (packer, "s");
    msgpack_pack_map (packer, 0);
    return 1;
}

START_TEST (a_full_record_carrying_salts_is_refused)
{
    ht_record_t *record = s_elder_signed ();
    size_t size = 0, new_size = 0;
    uint8_t *data = s_encode (record, &size);
    uint8_t *changed = s_rewrite (data, size, NULL, NULL, s_extra_salts, &new_size);
    s_assert_refused (changed, new_size, HT_EMALFORMED);
    free (changed);
    free (data);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_redacted_record_missing_a_digest_is_refused)
{
    //  Dropping every withheld digest leaves fields neither disclosed nor
    //  withheld: the record cannot be verified and is refused outright
    ht_record_t *record = s_elder_signed ();
    ht_record_t *redacted = s_redact_name_status (record);
    size_t size = 0, new_size = 0;
    uint8_t *data = s_encode (redacted, &size);
    uint8_t *changed = s_rewrite (data, size, "w", s_pack_empty_map, NULL, &new_size);
    s_assert_refused (changed, new_size, HT_EDIGEST);
    free (changed);
    changed = s_rewrite (data, size, "s", s_pack_empty_map, NULL, &new_size);
    s_assert_refused (changed, new_size, HT_EDIGEST);
    free (changed);
    free (data);
    ht_record_destroy (&redacted);
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  Validation

START_TEST (a_missing_required_field_is_named)
{
    const char *required [] = { "birth_date", "hukou_region", "id_no", "id_type",
                                "name", "sex", "status" };
    for (size_t index = 0; index < S_COUNT (required); index++) {
        ht_record_t *record = s_elder_draft ();
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
    ht_record_t *record = s_elder_draft ();
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
    ht_record_t *record = s_elder_draft ();
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
    ht_record_t *record = s_elder_draft ();
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
    ht_record_t *record = s_elder_draft ();
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
    ht_record_t *record = s_elder_draft ();
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
    ht_record_t *record = s_elder_draft ();
    ck_assert_int_eq (ht_record_set_region (record, "4418020010"), HT_EREGION);
    ck_assert_int_eq (ht_record_set_region (record, "44180200100x"), HT_EREGION);
    ck_assert_int_eq (ht_record_set_region (record, "4418020010011"), HT_EREGION);
    //  Well-shaped but unknown province
    ck_assert_int_eq (ht_record_set_region (record, "991802001001"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_EREGION);
    ck_assert_ptr_nonnull (strstr (reason, "region: "));
    ht_record_destroy (&record);

    record = s_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (record, "hukou_region", "440002001001"), 0);
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "hukou_region: "));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_scope_that_is_not_an_ancestor_of_the_region_is_refused)
{
    ht_record_t *record = s_elder_draft ();
    const char *reason = NULL;
    //  A sibling township
    ck_assert_int_eq (ht_record_set_scope (record, "441802002000"), 0);
    ck_assert_int_ne (ht_record_validate (record, &reason), 0);
    ck_assert_str_eq (reason, "scope: must be the region or one of its ancestors");
    //  A descendant: scope may not reach below the region
    ck_assert_int_eq (ht_record_set_region (record, S_TOWNSHIP), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_COMMUNITY), 0);
    ck_assert_int_ne (ht_record_validate (record, &reason), 0);
    //  Ancestors are fine
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_COUNTY), 0);
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
    ck_assert_int_eq (ht_record_set_str (record, "issuer_region", S_COUNTY), 0);
    ck_assert_int_eq (ht_record_set_str (record, "subject_name", "清城区颐康养老院"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "subject_uscc", S_USCC), 0);
    ck_assert_int_eq (ht_record_set_str (record, "result", "合格"), 0);
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_COUNTY), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ht_record_set_hlc (record, ht_hlc_make (S_JAN_2026_MS, 0));
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
    ht_record_t *record = ht_record_new ("facility");
    ck_assert_int_eq (ht_record_set_str (record, "name", "清城区颐康养老院"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "institution"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "status", "open"), 0);
    ck_assert_int_eq (ht_record_set_int (record, "beds_total", 120), 0);
    if (uscc)
        ck_assert_int_eq (ht_record_set_str (record, "uscc", uscc), 0);
    if (serial)
        ck_assert_int_eq (ht_record_set_str (record, "serial", serial), 0);
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_COUNTY), 0);
    ht_record_set_hlc (record, ht_hlc_make (S_JAN_2026_MS, 0));
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
    s_idkey (idkey, 0xa0);
    s_idkey (other_idkey, 0xb0);
    ht_record_t *first = s_elder_draft ();
    ht_record_t *second = s_elder_draft ();
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
    ht_record_t *early = s_elder_draft ();
    ht_record_t *late = s_elder_draft ();
    ht_record_set_hlc (late, ht_hlc_make (S_JAN_2026_MS, 1));
    s_sign (early, 0x42);
    s_sign (late, 0x01);
    ck_assert_int_eq (ht_record_compare (early, late), -1);
    ck_assert_int_eq (ht_record_compare (late, early), 1);
    ck_assert_int_eq (ht_record_compare (early, early), 0);

    //  Same hlc: the author's bytes decide
    ht_record_t *by_a = s_elder_draft ();
    ht_record_t *by_b = s_elder_draft ();
    s_sign (by_a, 0x01);
    s_sign (by_b, 0x02);
    int order = memcmp (ht_record_author (by_a), ht_record_author (by_b), HT_PUBKEY_BYTES);
    ck_assert_int_ne (order, 0);
    ck_assert_int_eq (ht_record_compare (by_a, by_b), order < 0? -1: 1);
    ck_assert_int_eq (ht_record_compare (by_b, by_a), order < 0? 1: -1);

    //  Same hlc and author, other content: the digest decides, and both
    //  directions agree
    ht_record_t *one = s_elder_draft ();
    ht_record_t *two = s_elder_draft ();
    ck_assert_int_eq (ht_record_set_str (two, "phone", "13800138000"), 0);
    s_sign (one, 0x42);
    s_sign (two, 0x42);
    uint8_t digest_one [HT_DIGEST_BYTES], digest_two [HT_DIGEST_BYTES];
    ck_assert_int_eq (ht_record_digest (one, digest_one), 0);
    ck_assert_int_eq (ht_record_digest (two, digest_two), 0);
    order = memcmp (digest_one, digest_two, HT_DIGEST_BYTES);
    ck_assert_int_ne (order, 0);
    ck_assert_int_eq (ht_record_compare (one, two), order < 0? -1: 1);
    ck_assert_int_eq (ht_record_compare (two, one), -ht_record_compare (one, two));

    //  hlc outranks the author
    ht_record_set_hlc (by_b, ht_hlc_make (S_JAN_2026_MS - 1, 0));
    s_sign (by_b, 0x02);
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
        versions [index] = s_elder_draft ();
        ht_record_set_hlc (versions [index], ht_hlc_make (S_JAN_2026_MS, (uint16_t) (index % 3)));
        s_sign (versions [index], (uint8_t) (index % 2));
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

static void
s_setup (void)
{
    ck_assert_int_ge (sodium_init (), 0);
}

static Suite *
record_suite (void)
{
    Suite *suite = suite_create ("ht_record");
    TCase *tc = tcase_create ("signing");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_set_timeout (tc, 300);           //  the byte-flip sweeps
    tcase_add_test (tc, an_elder_record_validates_signs_and_verifies);
    tcase_add_test (tc, two_signatures_of_one_record_use_fresh_seeds_and_both_verify);
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

    tc = tcase_create ("redaction");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
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

    tc = tcase_create ("json");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, json_keeps_chinese_text_readable_and_verifies_after_parsing);
    tcase_add_test (tc, json_without_a_signature_is_an_unsigned_draft);
    tcase_add_test (tc, json_of_the_wrong_shape_is_refused);
    tcase_add_test (tc, a_draft_without_key_or_region_round_trips_through_json);
    tcase_add_test (tc, json_carries_the_schema_version_of_signed_records_only);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("hostile");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_set_timeout (tc, 300);           //  10,000-buffer sweeps
    tcase_add_test (tc, every_truncated_encoding_is_refused);
    tcase_add_test (tc, trailing_bytes_after_a_record_are_refused);
    tcase_add_test (tc, random_garbage_never_decodes_into_a_verified_record);
    tcase_add_test (tc, random_mutations_of_a_record_never_verify);
    tcase_add_test (tc, peek_reads_the_header_and_refuses_hostile_bytes);
    tcase_add_test (tc, nested_arrays_100_deep_are_refused);
    tcase_add_test (tc, a_field_value_nested_100_deep_is_refused);
    tcase_add_test (tc, a_map_claiming_four_billion_entries_is_refused);
    tcase_add_test (tc, a_record_that_is_not_a_map_is_refused);
    tcase_add_test (tc, an_unknown_top_level_key_is_refused);
    tcase_add_test (tc, a_duplicate_top_level_key_is_refused);
    tcase_add_test (tc, a_duplicate_field_is_refused);
    tcase_add_test (tc, a_field_of_the_wrong_type_is_refused);
    tcase_add_test (tc, an_unknown_field_is_refused);
    tcase_add_test (tc, a_float_in_place_of_an_integer_is_refused);
    tcase_add_test (tc, a_field_map_that_is_not_a_map_is_refused);
    tcase_add_test (tc, an_unknown_format_version_is_refused);
    tcase_add_test (tc, a_schema_version_newer_than_the_kinds_is_refused_by_name);
    tcase_add_test (tc, a_record_without_its_schema_version_is_refused);
    tcase_add_test (tc, an_unknown_kind_is_refused);
    tcase_add_test (tc, a_full_record_carrying_salts_is_refused);
    tcase_add_test (tc, a_redacted_record_missing_a_digest_is_refused);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("validation");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
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
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, facility_keys_are_deterministic_for_one_uscc);
    tcase_add_test (tc, elder_keys_are_32_hex_digits_and_depend_on_the_idkey);
    tcase_add_test (tc, credit_keys_follow_type_issuer_and_document);
    tcase_add_test (tc, record_keys_are_checked_for_shape);
    tcase_add_test (tc, setting_a_field_checks_name_and_type);
    tcase_add_test (tc, hex_round_trips_and_refuses_bad_input);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("merge");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, compare_orders_by_hlc_then_author_then_digest);
    tcase_add_test (tc, compare_is_antisymmetric_over_many_versions);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (record_suite)
