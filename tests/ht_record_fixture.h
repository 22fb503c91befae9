//  ht_record_fixture: the elder record and the encoding tools the
//  test_record* files share — a fixed draft and its signed form, encode
//  and decode that assert, JSON round trips, and rewriting an encoding's
//  top-level map to build hostile bytes. Header-only: every function is
//  static inline, like ht_fixture.h, whose keys and elder draft it uses.
#ifndef HT_RECORD_FIXTURE_H_INCLUDED
#define HT_RECORD_FIXTURE_H_INCLUDED

#include <check.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "ht_codec.h"
#include "ht_hlc.h"
#include "ht_keys.h"
#include "ht_record.h"
#include "ht_fixture.h"

#define HT_RECORD_FIXTURE_JAN_2026_MS 1767225600000ULL   //  2026-01-01T00:00:00Z
#define HT_RECORD_FIXTURE_ID_NO "441802194005120317"      //  synthetic, DOMAIN.md §4

//  The sodium_init every suite's test cases run first
static inline void
ht_record_fixture_setup (void)
{
    ck_assert_int_ge (sodium_init (), 0);
}

//  Fill bytes with first, first + 1, ...
static inline void
ht_record_fixture_fill (uint8_t *bytes, size_t size, uint8_t first)
{
    for (size_t index = 0; index < size; index++)
        bytes [index] = (uint8_t) (first + index);
}

//  A fixed network idkey, so every run builds the same record (up to the
//  random per-record seed)
static inline void
ht_record_fixture_idkey (uint8_t idkey [HT_IDKEY_BYTES], uint8_t first)
{
    ht_record_fixture_fill (idkey, HT_IDKEY_BYTES, first);
}

//  The elder of the issue: 张三, born 1940-05-12, of community 441802001001
static inline ht_record_t *
ht_record_fixture_elder_draft (void)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    ht_record_fixture_idkey (idkey, 0xa0);
    return ht_fixture_elder_draft (HT_RECORD_FIXTURE_ID_NO, "张三", HT_FIXTURE_COMMUNITY_A,
                                   HT_FIXTURE_COMMUNITY_A, idkey,
                                   ht_hlc_make (HT_RECORD_FIXTURE_JAN_2026_MS, 0));
}

//  Sign with the fixed author key of seed byte key_byte
static inline void
ht_record_fixture_sign (ht_record_t *record, uint8_t key_byte)
{
    ht_keypair_t *key = ht_fixture_key (key_byte, "test");
    ck_assert_int_eq (ht_record_sign (record, key), 0);
    ht_keypair_destroy (&key);
}

//  The elder draft, signed by the key of seed byte 0x42
static inline ht_record_t *
ht_record_fixture_elder_signed (void)
{
    ht_record_t *record = ht_record_fixture_elder_draft ();
    ht_record_fixture_sign (record, 0x42);
    return record;
}

//  Redact to name and status (and a name no kind has)
static inline ht_record_t *
ht_record_fixture_redact_name_status (const ht_record_t *record)
{
    const char *disclose [] = { "name", "status", "no_such_field" };
    ht_record_t *redacted = ht_record_redact (record, disclose,
                                              sizeof disclose / sizeof disclose [0]);
    ck_assert_ptr_nonnull (redacted);
    return redacted;
}

//  The record's canonical bytes in a buffer of exactly that size, so
//  AddressSanitizer sees any read past the end
static inline uint8_t *
ht_record_fixture_encode (const ht_record_t *record, size_t *size)
{
    uint8_t *data = NULL;
    ck_assert_int_eq (ht_record_encode (record, &data, size), 0);
    ck_assert_ptr_nonnull (data);
    return data;
}

//  Decode, asserting success
static inline ht_record_t *
ht_record_fixture_decode (const uint8_t *data, size_t size)
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
static inline bool
ht_record_fixture_accepted (const uint8_t *data, size_t size)
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

//  Decode must refuse these bytes with the given error
static inline void
ht_record_fixture_assert_refused (const uint8_t *data, size_t size, int expected)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_decode (data, size, &error, &reason);
    ck_assert_ptr_null (record);
    ck_assert_msg (error == expected, "expected %d, got %d (%s)", expected, error, reason);
    ck_assert_ptr_nonnull (reason);
}

//  Parse JSON into a record, asserting success, and take the JSON
static inline ht_record_t *
ht_record_fixture_from_json (json_t *json)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_from_json (json, &error, &reason);
    ck_assert_msg (record != NULL, "from_json failed: %d %s", error, reason);
    json_decref (json);
    return record;
}

//  Parse edited JSON and verify it; returns the verify code
static inline int
ht_record_fixture_verify_json (json_t *json)
{
    ht_record_t *record = ht_record_fixture_from_json (json);
    ck_assert (ht_record_is_signed (record));
    int rc = ht_record_verify (record, NULL);
    ht_record_destroy (&record);
    return rc;
}

//  Flip one hex digit of a JSON string item ("0" <-> "1" etc.)
static inline void
ht_record_fixture_flip_hex (json_t *object, const char *name, size_t position)
{
    const char *hex = json_string_value (json_object_get (object, name));
    ck_assert_ptr_nonnull (hex);
    char *copy = strdup (hex);
    ck_assert_uint_lt (position, strlen (copy));
    copy [position] = copy [position] == '0'? '1': '0';
    json_object_set_new (object, name, json_string (copy));
    free (copy);
}

//  Rewrite the top-level map of an encoding: the value of key is packed
//  by pack_value (given the old value), extra pairs are appended by
//  pack_extra (which returns how many it wrote)
typedef void (ht_record_fixture_value_fn) (msgpack_packer *packer, const msgpack_object *old);
typedef size_t (ht_record_fixture_extra_fn) (msgpack_packer *packer);

static inline uint8_t *
ht_record_fixture_rewrite (const uint8_t *data, size_t size, const char *key,
                           ht_record_fixture_value_fn *pack_value,
                           ht_record_fixture_extra_fn *pack_extra, size_t *new_size)
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
static inline void
ht_record_fixture_pack_fields (msgpack_packer *packer, const msgpack_object *old,
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

#endif
