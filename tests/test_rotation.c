//  test_rotation: the parent keys a child tries while its parent rotates
#include <czmq.h>
#include <sodium.h>
#include "ht_fixture.h"
#include "ht_rotation.h"
#include "ht_test.h"

//  Certify subject as a node of region, by issuer, into store
static void
s_certify (ht_store_t *store, const ht_keypair_t *subject, const char *region,
           const ht_keypair_t *issuer, uint64_t offset_ms)
{
    static const char *const kinds [] = { "elder", "facility" };
    ht_record_t *cert = ht_fixture_cert (subject, region, kinds, 2, issuer, offset_ms);
    int result = -999;
    ck_assert_int_eq (ht_store_apply (store, &cert, 1, NULL, NULL, &result), 0);
    ck_assert_int_eq (result, HT_OK);
    ht_record_destroy (&cert);
}

START_TEST (the_pinned_key_comes_first_then_its_issuers_successors_newest_first_until_it_is_revoked)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    ht_fixture_apply_certs (fixture, store);
    const ht_keypair_t *county = fixture->keys [HT_FIXTURE_COUNTY_KEY];
    const ht_keypair_t *township = fixture->keys [HT_FIXTURE_TOWNSHIP_KEY];
    const uint8_t *pinned = ht_keypair_public (township);
    uint64_t now = HT_FIXTURE_T0_MS + 30 * HT_FIXTURE_DAY_MS;
    uint8_t keys [HT_ROTATION_MAX_KEYS][HT_PUBKEY_BYTES];
    //  No rotation under way: only the pin
    ck_assert_uint_eq (ht_rotation_parent_keys (store, HT_FIXTURE_COMMUNITY_A, pinned, now,
                                                keys, HT_ROTATION_MAX_KEYS), 1);
    ck_assert_int_eq (memcmp (keys [0], pinned, HT_PUBKEY_BYTES), 0);
    //  Two successors by the county, one key the township minted itself
    ht_keypair_t *first = ht_fixture_key (0x71, "first");
    ht_keypair_t *second = ht_fixture_key (0x72, "second");
    ht_keypair_t *minted = ht_fixture_key (0x73, "minted");
    s_certify (store, first, HT_FIXTURE_TOWNSHIP, county, 100);
    s_certify (store, second, HT_FIXTURE_TOWNSHIP, county, 200);
    s_certify (store, minted, HT_FIXTURE_TOWNSHIP, township, 300);
    size_t count = ht_rotation_parent_keys (store, HT_FIXTURE_COMMUNITY_A, pinned, now,
                                            keys, HT_ROTATION_MAX_KEYS);
    ck_assert_uint_eq (count, 3);
    ck_assert_int_eq (memcmp (keys [0], pinned, HT_PUBKEY_BYTES), 0);
    ck_assert_int_eq (memcmp (keys [1], ht_keypair_public (second), HT_PUBKEY_BYTES), 0);
    ck_assert_int_eq (memcmp (keys [2], ht_keypair_public (first), HT_PUBKEY_BYTES), 0);
    //  The pin revoked: only its successors are left to try
    ht_record_t *revocation = ht_revocation_issue (pinned, HT_FIXTURE_TOWNSHIP, now - 1, "rotated",
                                                   county, ht_hlc_make (now - 1, 0), NULL, NULL);
    int result = -999;
    ck_assert_int_eq (ht_store_apply (store, &revocation, 1, NULL, NULL, &result), 0);
    ck_assert_int_eq (result, HT_OK);
    ht_record_destroy (&revocation);
    count = ht_rotation_parent_keys (store, HT_FIXTURE_COMMUNITY_A, pinned, now, keys,
                                     HT_ROTATION_MAX_KEYS);
    ck_assert_uint_eq (count, 2);
    ck_assert_int_eq (memcmp (keys [0], ht_keypair_public (second), HT_PUBKEY_BYTES), 0);
    //  The root has no parent: only the pin
    ck_assert_uint_eq (ht_rotation_parent_keys (store, HT_FIXTURE_CITY, pinned, now,
                                                keys, HT_ROTATION_MAX_KEYS), 1);
    ht_keypair_destroy (&first);
    ht_keypair_destroy (&second);
    ht_keypair_destroy (&minted);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_rotation");
    TCase *keys = tcase_create ("parent keys");
    tcase_add_test (keys, the_pinned_key_comes_first_then_its_issuers_successors_newest_first_until_it_is_revoked);
    suite_add_tcase (suite, keys);
    return suite;
}

HT_TEST_MAIN (s_suite)
