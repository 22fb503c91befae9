//  test_complete: draft completion (ht_record_complete) — the default scope
//  per scope_rule, the key per key_rule, the hlc after the current
//  version, the far-future refusal, what a draft gives kept as given, and
//  validation failures named. Each test checks the value a rule gives,
//  not just success, so removing the rule fails it.
#include "ht_record_complete.h"
#include "ht_cert.h"
#include "ht_keys.h"
#include "ht_hlc.h"
#include "ht_test.h"
#include "ht_fixture.h"

#include <sodium.h>
#include <string.h>

#define S_ID_NO "441802194005120317"        //  synthetic, DOMAIN.md §4
#define S_USCC "52441802MJ0001002K"         //  synthetic, DOMAIN.md §4
#define S_COMMUNITY "441802001001"
#define S_TOWNSHIP "441802001000"
#define S_COUNTY "441802000000"
#define S_CITY "441800000000"
#define S_KEY_HASH_BYTES 16                 //  BLAKE2b-128, records.md §8
#define S_MINUTE_MS (60 * 1000ull)

//  --------------------------------------------------------------------------
//  Helpers

static void
s_idkey (uint8_t idkey [HT_IDKEY_BYTES], uint8_t first)
{
    for (size_t index = 0; index < HT_IDKEY_BYTES; index++)
        idkey [index] = (uint8_t) (first + index);
}

//  An hlc minutes from now on the wall clock (negative: ago)
static uint64_t
s_hlc_in_minutes (int minutes)
{
    return ht_hlc_make (ht_hlc_wall_ms () + (uint64_t) ((int64_t) minutes * (int64_t) S_MINUTE_MS),
                        0);
}

//  An elder draft of 张三 in the community: no key, no scope, no hlc
static ht_record_t *
s_elder (void)
{
    ht_record_t *record = ht_record_new ("elder");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_str (record, "id_type", "居民身份证"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "id_no", S_ID_NO), 0);
    ck_assert_int_eq (ht_record_set_str (record, "name", "张三"), 0);
    ck_assert_int_eq (ht_record_set_int (record, "sex", 1), 0);
    ck_assert_int_eq (ht_record_set_str (record, "birth_date", "19400512"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "hukou_region", S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_str (record, "status", "active"), 0);
    return record;
}

//  A facility draft in the community, with a USCC and/or a serial
static ht_record_t *
s_facility (const char *uscc, const char *serial)
{
    return ht_fixture_facility_draft (S_COMMUNITY, uscc, serial);
}

//  An inspection by the county's civil affairs of a facility in the community
static ht_record_t *
s_inspection (void)
{
    ht_record_t *record = ht_record_new ("credit");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "inspection"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "date", "20250310"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "doc_no", "清民检〔2025〕12号"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "issuer_dept", "civil_affairs"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "issuer_region", S_COUNTY), 0);
    ck_assert_int_eq (ht_record_set_str (record, "subject_name", "清城区颐康养老院"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "subject_uscc", S_USCC), 0);
    ck_assert_int_eq (ht_record_set_str (record, "result", "合格"), 0);
    return record;
}

//  A revocation draft of a key with a fixed public key
static ht_record_t *
s_revocation (uint8_t pubkey [HT_PUBKEY_BYTES])
{
    for (size_t index = 0; index < HT_PUBKEY_BYTES; index++)
        pubkey [index] = (uint8_t) (0xc0 + index);
    ht_record_t *record = ht_record_new ("revocation");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_region (record, S_TOWNSHIP), 0);
    ck_assert_int_eq (ht_record_set_bin (record, "pubkey", pubkey, HT_PUBKEY_BYTES), 0);
    ck_assert_int_eq (ht_record_set_int (record, "revoked_at", 1767225600000LL), 0);
    return record;
}

//  A certificate draft for a key of the township
static ht_record_t *
s_cert (uint8_t pubkey [HT_PUBKEY_BYTES])
{
    for (size_t index = 0; index < HT_PUBKEY_BYTES; index++)
        pubkey [index] = (uint8_t) (0x30 + index);
    const char *kinds [] = { "elder" };
    ht_record_t *record = ht_record_new ("cert");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_region (record, S_TOWNSHIP), 0);
    ck_assert_int_eq (ht_record_set_str (record, "name", "fengcheng"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "role", ht_role_name (HT_ROLE_NODE)), 0);
    ck_assert_int_eq (ht_record_set_strs (record, "kinds", kinds, 1), 0);
    ck_assert_int_eq (ht_record_set_int (record, "not_before", 1577836800000LL), 0);
    ck_assert_int_eq (ht_record_set_int (record, "not_after", 2208988800000LL), 0);
    ck_assert_int_eq (ht_record_set_bin (record, "pubkey", pubkey, HT_PUBKEY_BYTES), 0);
    return record;
}

//  Complete, asserting success with the reason in the message
static void
s_complete_ok (ht_record_t *record, const ht_complete_t *context)
{
    const char *reason = NULL;
    int rc = ht_record_complete (record, context, &reason);
    ck_assert_msg (rc == 0, "completion failed: %s: %s", ht_errname (rc), reason);
}

//  Hex of BLAKE2b-128 (keyed if idkey) over the canonical values of the
//  named fields, in order: the key records.md §8 gives
static const char *
s_expected_key (const ht_record_t *record, const uint8_t *idkey,
                const char *const *names, char hex [2 * S_KEY_HASH_BYTES + 1])
{
    crypto_generichash_state state;
    crypto_generichash_init (&state, idkey, idkey? HT_IDKEY_BYTES: 0, S_KEY_HASH_BYTES);
    for (; *names; names++) {
        int index = ht_schema_field_index (ht_record_schema (record), *names);
        ck_assert_int_ge (index, 0);
        size_t size = 0;
        const uint8_t *value = ht_record_field_value (record, (size_t) index, &size);
        ck_assert_ptr_nonnull (value);
        crypto_generichash_update (&state, value, size);
    }
    uint8_t hash [S_KEY_HASH_BYTES];
    crypto_generichash_final (&state, hash, sizeof hash);
    return ht_hex_encode (hash, sizeof hash, hex);
}

//  The asked-for current version: what the lookup was asked, and its answer
typedef struct {
    uint64_t answer;                //  the hlc to answer
    char kind [HT_KIND_MAX_CHARS + 1];  //  the kind it was asked for
    char key [HT_KEY_MAX_CHARS + 1];    //  the key it was asked for
    int calls;                      //  how often it was asked
} s_lookup_t;

static uint64_t
s_lookup (void *arg, const char *kind, const char *key)
{
    s_lookup_t *self = (s_lookup_t *) arg;
    snprintf (self->kind, sizeof self->kind, "%s", kind);
    snprintf (self->key, sizeof self->key, "%s", key);
    self->calls++;
    return self->answer;
}

//  --------------------------------------------------------------------------
//  Default scope, per scope_rule

START_TEST (an_elder_without_scope_is_scoped_to_its_own_region)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .author_region = S_CITY, .clock = &clock };
    ht_record_t *record = s_elder ();
    s_complete_ok (record, &context);
    //  Not the author's region, though one was given: elders flow up only
    ck_assert_str_eq (ht_record_scope (record), S_COMMUNITY);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_facility_without_scope_is_scoped_to_the_county_of_its_region)
{
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .author_region = S_CITY, .clock = &clock };
    ht_record_t *record = s_facility (S_USCC, NULL);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_scope (record), S_COUNTY);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_credit_record_without_scope_is_scoped_to_the_authors_certificate_region)
{
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .author_region = S_COUNTY, .clock = &clock };
    ht_record_t *record = s_inspection ();
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_scope (record), S_COUNTY);
    ht_record_destroy (&record);

    //  Another author, another scope
    context.author_region = S_TOWNSHIP;
    record = s_inspection ();
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_scope (record), S_TOWNSHIP);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_credit_record_without_scope_or_author_certificate_is_refused)
{
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .clock = &clock };
    ht_record_t *record = s_inspection ();
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_ENOCERT);
    ck_assert_str_eq (reason, "no scope given, and the signing key has no certificate in this store");
    //  An empty region is no region either
    context.author_region = "";
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_ENOCERT);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (an_author_region_that_does_not_cover_the_record_fails_validation_on_scope)
{
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .author_region = "441803000000", .clock = &clock };
    ht_record_t *record = s_inspection ();
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "scope: must be the region or one of its ancestors");
    ht_record_destroy (&record);
}
END_TEST

START_TEST (certs_and_revocations_without_scope_are_scoped_to_their_region)
{
    uint8_t pubkey [HT_PUBKEY_BYTES];
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .author_region = S_CITY, .clock = &clock };
    ht_record_t *record = s_revocation (pubkey);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_scope (record), S_TOWNSHIP);
    ht_record_destroy (&record);
    record = s_cert (pubkey);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_scope (record), S_TOWNSHIP);
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  Key, per key_rule

START_TEST (an_elder_key_is_the_idkey_keyed_hash_of_the_id_number)
{
    uint8_t idkey [HT_IDKEY_BYTES], other_idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    s_idkey (other_idkey, 0xb0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .clock = &clock };
    ht_record_t *record = s_elder ();
    s_complete_ok (record, &context);
    static const char *const id_no [] = { "id_no", NULL };
    char hex [2 * S_KEY_HASH_BYTES + 1];
    ck_assert_str_eq (ht_record_key (record), s_expected_key (record, idkey, id_no, hex));
    //  Keyed: another network's idkey gives another key, and no unkeyed one
    ck_assert_str_ne (ht_record_key (record), s_expected_key (record, NULL, id_no, hex));
    ht_record_t *other = s_elder ();
    context.idkey = other_idkey;
    s_complete_ok (other, &context);
    ck_assert_str_ne (ht_record_key (record), ht_record_key (other));
    ht_record_destroy (&record);
    ht_record_destroy (&other);
}
END_TEST

START_TEST (an_elder_without_key_needs_the_idkey)
{
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .clock = &clock };
    ht_record_t *record = s_elder ();
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_EKEY);
    ck_assert_str_eq (reason, "no key given, and this kind's key is derived with the network "
                              "pseudonym key (idkey), which was not given");
    ck_assert_str_eq (ht_record_key (record), "");
    //  A given key needs no idkey
    ck_assert_int_eq (ht_record_set_key (record, "0123456789abcdef0123456789abcdef"), 0);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_key (record), "0123456789abcdef0123456789abcdef");
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_facility_key_is_the_hash_of_its_uscc)
{
    ht_hlc_t clock = { 0 };
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    //  Unkeyed even when an idkey is at hand: anyone may name a facility
    ht_complete_t context = { .idkey = idkey, .clock = &clock };
    ht_record_t *record = s_facility (S_USCC, "0007");
    s_complete_ok (record, &context);
    static const char *const uscc [] = { "uscc", NULL };
    char hex [2 * S_KEY_HASH_BYTES + 1];
    ck_assert_str_eq (ht_record_key (record), s_expected_key (record, NULL, uscc, hex));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_facility_without_uscc_is_keyed_region_serial)
{
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .clock = &clock };
    ht_record_t *record = s_facility (NULL, "0007");
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_key (record), S_COMMUNITY "-0007");
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_facility_without_uscc_or_serial_has_no_key)
{
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .clock = &clock };
    ht_record_t *record = s_facility (NULL, NULL);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_EREQUIRED);
    ck_assert_str_eq (reason, "no key given and the natural key fields are missing");
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_credit_key_is_the_hash_of_type_issuer_and_document)
{
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .author_region = S_COUNTY, .clock = &clock };
    ht_record_t *record = s_inspection ();
    s_complete_ok (record, &context);
    static const char *const natural [] = {
        "type", "issuer_region", "issuer_dept", "doc_no", NULL };
    char hex [2 * S_KEY_HASH_BYTES + 1];
    ck_assert_str_eq (ht_record_key (record), s_expected_key (record, NULL, natural, hex));
    ht_record_destroy (&record);
}
END_TEST

START_TEST (cert_and_revocation_keys_are_the_hex_of_the_public_key)
{
    uint8_t pubkey [HT_PUBKEY_BYTES];
    char hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .clock = &clock };
    ht_record_t *record = s_revocation (pubkey);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_key (record), ht_hex_encode (pubkey, sizeof pubkey, hex));
    ht_record_destroy (&record);
    record = s_cert (pubkey);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_key (record), ht_hex_encode (pubkey, sizeof pubkey, hex));
    ht_record_destroy (&record);
}
END_TEST

//  A kind with no natural key: a writer-named note
static const ht_field_t s_note_fields [] = {
    { .name = "text", .type = HT_TYPE_STR, .required = true, .sens = HT_SENS_P,
      .group = HT_GROUP_PUBLIC, .min_chars = 1, .max_chars = 100, .since = 1 },
};
static const ht_kind_t s_note_kind = {
    .name = "note", .fields = s_note_fields, .field_count = 1, .version = 1,
    .scope_rule = HT_SCOPE_REGION, .key_rule = HT_KEY_GIVEN,
};

START_TEST (a_kind_without_natural_key_needs_a_given_key)
{
    ht_hlc_t clock = { 0 };
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_complete_t context = { .idkey = idkey, .clock = &clock };
    ht_record_t *record = ht_record_new_of (&s_note_kind);
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_str (record, "text", "门前积水"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_EREQUIRED);
    ck_assert_str_eq (reason, "no key given, and this kind has no natural key to derive one from");
    ck_assert_int_eq (ht_record_set_key (record, "note-1"), 0);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_key (record), "note-1");
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  The hlc

START_TEST (a_draft_is_timestamped_by_the_clock)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .clock = &clock };
    uint64_t before = s_hlc_in_minutes (0);
    ht_record_t *record = s_elder ();
    s_complete_ok (record, &context);
    ck_assert_uint_ge (ht_record_hlc (record), before);
    ck_assert_uint_le (ht_record_hlc (record), s_hlc_in_minutes (0));
    //  The clock issued it: the next one sorts after it
    ck_assert_uint_eq (clock.last, ht_record_hlc (record));
    ht_record_t *next = s_elder ();
    s_complete_ok (next, &context);
    ck_assert_uint_gt (ht_record_hlc (next), ht_record_hlc (record));
    ht_record_destroy (&record);
    ht_record_destroy (&next);
}
END_TEST

START_TEST (a_draft_sorts_after_a_current_version_from_a_clock_ahead_of_ours)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    //  Two minutes ahead of our clock: within the drift a node accepts
    uint64_t current = s_hlc_in_minutes (2);
    ht_complete_t context = { .idkey = idkey, .clock = &clock, .current_hlc = current };
    ht_record_t *record = s_elder ();
    s_complete_ok (record, &context);
    ck_assert_uint_gt (ht_record_hlc (record), current);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (the_current_version_is_looked_up_by_the_derived_key)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    s_lookup_t lookup = { .answer = s_hlc_in_minutes (3) };
    ht_complete_t context = { .idkey = idkey, .clock = &clock,
                              .current = s_lookup, .current_arg = &lookup };
    ht_record_t *record = s_elder ();
    s_complete_ok (record, &context);
    ck_assert_int_eq (lookup.calls, 1);
    ck_assert_str_eq (lookup.kind, "elder");
    ck_assert_str_eq (lookup.key, ht_record_key (record));
    ck_assert_uint_gt (ht_record_hlc (record), lookup.answer);
    ht_record_destroy (&record);

    //  The later of what the caller knew and what the lookup says wins
    context.current_hlc = s_hlc_in_minutes (4);
    record = s_elder ();
    s_complete_ok (record, &context);
    ck_assert_uint_gt (ht_record_hlc (record), context.current_hlc);
    ht_record_destroy (&record);
    context.current_hlc = 0;
    lookup.answer = s_hlc_in_minutes (4) + 1000;
    record = s_elder ();
    s_complete_ok (record, &context);
    ck_assert_uint_gt (ht_record_hlc (record), lookup.answer);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_current_version_far_in_the_future_is_refused_and_the_draft_left_as_it_was)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    uint64_t future = s_hlc_in_minutes (10);
    ht_complete_t context = { .idkey = idkey, .clock = &clock, .current_hlc = future };
    ht_record_t *record = s_elder ();
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_ECLOCK);
    ck_assert_str_eq (reason, "the current version is timestamped far in the future (a bad clock?)");
    //  Our clock did not follow it
    ck_assert_uint_lt (clock.last, future);
    ck_assert_str_eq (ht_record_key (record), "");
    ck_assert_str_eq (ht_record_scope (record), "");
    ck_assert_uint_eq (ht_record_hlc (record), 0);
    //  Through a lookup alike
    s_lookup_t lookup = { .answer = future };
    context = (ht_complete_t) { .idkey = idkey, .clock = &clock,
                                .current = s_lookup, .current_arg = &lookup };
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_ECLOCK);
    ht_record_destroy (&record);
}
END_TEST

//  --------------------------------------------------------------------------
//  What the draft gives, and what is refused

START_TEST (a_given_key_and_scope_are_kept_as_given)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .author_region = S_CITY, .clock = &clock };
    ht_record_t *record = s_elder ();
    ck_assert_int_eq (ht_record_set_key (record, "given-key"), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_TOWNSHIP), 0);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_key (record), "given-key");
    ck_assert_str_eq (ht_record_scope (record), S_TOWNSHIP);
    ht_record_destroy (&record);

    //  Credit: a given scope needs no author's certificate
    context.author_region = NULL;
    record = s_inspection ();
    ck_assert_int_eq (ht_record_set_scope (record, S_CITY), 0);
    s_complete_ok (record, &context);
    ck_assert_str_eq (ht_record_scope (record), S_CITY);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_draft_without_region_is_refused)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .clock = &clock };
    ht_record_t *record = ht_record_new ("elder");
    ck_assert_int_eq (ht_record_set_str (record, "id_no", S_ID_NO), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_EREQUIRED);
    ck_assert_str_eq (reason, "a draft needs \"region\"");
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_missing_required_field_is_named_and_the_draft_left_as_it_was)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .clock = &clock };
    ht_record_t *record = s_elder ();
    ck_assert_int_eq (ht_record_unset (record, "name"), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_EREQUIRED);
    ck_assert_str_eq (reason, "name: required");
    ck_assert_str_eq (ht_record_key (record), "");
    ck_assert_str_eq (ht_record_scope (record), "");
    ck_assert_uint_eq (ht_record_hlc (record), 0);
    //  Fixed, it completes
    ck_assert_int_eq (ht_record_set_str (record, "name", "张三"), 0);
    s_complete_ok (record, &context);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_field_failing_its_rule_is_named)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .clock = &clock };
    ht_record_t *record = s_elder ();
    ck_assert_int_eq (ht_record_set_int (record, "sex", 3), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "sex: number out of range");
    ht_record_destroy (&record);

    //  A given scope outside the region's ancestors
    record = s_elder ();
    ck_assert_int_eq (ht_record_set_scope (record, "441802002000"), 0);
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "scope: must be the region or one of its ancestors");
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_signed_record_is_not_completed)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .clock = &clock };
    ht_record_t *record = s_elder ();
    s_complete_ok (record, &context);
    ht_keypair_t *key = ht_keypair_new ("community");
    ck_assert_int_eq (ht_record_sign (record, key), 0);
    uint64_t hlc = ht_record_hlc (record);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_complete (record, &context, &reason), HT_EINVAL);
    ck_assert_str_eq (reason, "the record is signed already: only a draft is completed");
    //  Its signature and timestamp stand
    ck_assert_uint_eq (ht_record_hlc (record), hlc);
    ck_assert_int_eq (ht_record_verify (record, NULL), 0);
    ht_keypair_destroy (&key);
    ht_record_destroy (&record);
}
END_TEST

START_TEST (a_completed_draft_signs_and_verifies)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    s_idkey (idkey, 0xa0);
    ht_hlc_t clock = { 0 };
    ht_complete_t context = { .idkey = idkey, .author_region = S_COUNTY, .clock = &clock };
    ht_keypair_t *key = ht_keypair_new ("county");
    ht_record_t *drafts [] = { s_elder (), s_facility (S_USCC, NULL), s_inspection () };
    for (size_t index = 0; index < sizeof drafts / sizeof drafts [0]; index++) {
        s_complete_ok (drafts [index], &context);
        ck_assert_int_eq (ht_record_sign (drafts [index], key), 0);
        ck_assert_int_eq (ht_record_verify (drafts [index], NULL), 0);
        ht_record_destroy (&drafts [index]);
    }
    ht_keypair_destroy (&key);
}
END_TEST

static void
s_setup (void)
{
    ck_assert_int_ge (sodium_init (), 0);
}

static Suite *
complete_suite (void)
{
    Suite *suite = suite_create ("ht_record_complete");
    TCase *tc = tcase_create ("scope");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, an_elder_without_scope_is_scoped_to_its_own_region);
    tcase_add_test (tc, a_facility_without_scope_is_scoped_to_the_county_of_its_region);
    tcase_add_test (tc, a_credit_record_without_scope_is_scoped_to_the_authors_certificate_region);
    tcase_add_test (tc, a_credit_record_without_scope_or_author_certificate_is_refused);
    tcase_add_test (tc, an_author_region_that_does_not_cover_the_record_fails_validation_on_scope);
    tcase_add_test (tc, certs_and_revocations_without_scope_are_scoped_to_their_region);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("key");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, an_elder_key_is_the_idkey_keyed_hash_of_the_id_number);
    tcase_add_test (tc, an_elder_without_key_needs_the_idkey);
    tcase_add_test (tc, a_facility_key_is_the_hash_of_its_uscc);
    tcase_add_test (tc, a_facility_without_uscc_is_keyed_region_serial);
    tcase_add_test (tc, a_facility_without_uscc_or_serial_has_no_key);
    tcase_add_test (tc, a_credit_key_is_the_hash_of_type_issuer_and_document);
    tcase_add_test (tc, cert_and_revocation_keys_are_the_hex_of_the_public_key);
    tcase_add_test (tc, a_kind_without_natural_key_needs_a_given_key);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("hlc");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, a_draft_is_timestamped_by_the_clock);
    tcase_add_test (tc, a_draft_sorts_after_a_current_version_from_a_clock_ahead_of_ours);
    tcase_add_test (tc, the_current_version_is_looked_up_by_the_derived_key);
    tcase_add_test (tc, a_current_version_far_in_the_future_is_refused_and_the_draft_left_as_it_was);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("given and refused");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, a_given_key_and_scope_are_kept_as_given);
    tcase_add_test (tc, a_draft_without_region_is_refused);
    tcase_add_test (tc, a_missing_required_field_is_named_and_the_draft_left_as_it_was);
    tcase_add_test (tc, a_field_failing_its_rule_is_named);
    tcase_add_test (tc, a_signed_record_is_not_completed);
    tcase_add_test (tc, a_completed_draft_signs_and_verifies);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (complete_suite)
