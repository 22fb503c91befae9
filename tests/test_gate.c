//  test_gate: the admission gate against certified insiders. Each test
//  is an attack by a key holding a valid certificate (or a rule a
//  legitimate writer relies on), played against a real store, and names
//  the reason it must be refused with. docs/security.md lists the rules;
//  every rule there has a test here.
#include <czmq.h>
#include <sodium.h>
#include "ht_fixture.h"
#include "ht_gate.h"
#include "ht_test.h"
#include "ht_next_release.h"

#define S_COMMUNITY_C "441802001003"

//  A store at the township with the fixture's PKI
typedef struct {
    ht_fixture_t *fixture;
    ht_store_t *store;
    char dir [HT_FIXTURE_DIR_CHARS];
} s_env_t;

static void
s_env_init (s_env_t *env, const char *region)
{
    env->fixture = ht_fixture_new ();
    env->store = ht_fixture_store_new (env->fixture, region, 0, env->dir);
    ht_fixture_apply_certs (env->fixture, env->store);
}

static void
s_env_destroy (s_env_t *env)
{
    ht_fixture_store_destroy (&env->store, env->dir);
    ht_fixture_destroy (&env->fixture);
}

static const ht_keypair_t *
s_key (s_env_t *env, ht_fixture_principal_t who)
{
    return env->fixture->keys [who];
}

//  Apply one record as a local write (or from peer); its result code
static int
s_apply_from (s_env_t *env, ht_record_t *record, const char *peer)
{
    uint8_t epoch [HT_EPOCH_BYTES] = { 1 };
    ht_origin_t origin = { .peer = peer, .epoch = epoch, .cursor = 1 };
    int result = -999;
    ck_assert_int_eq (ht_store_apply (env->store, &record, 1, peer? &origin: NULL,
                                      NULL, &result), 0);
    return result;
}

static int
s_apply (s_env_t *env, ht_record_t *record)
{
    return s_apply_from (env, record, NULL);
}

//  Apply and destroy
static int
s_apply_take (s_env_t *env, ht_record_t **record_p)
{
    int result = s_apply (env, *record_p);
    ht_record_destroy (record_p);
    return result;
}

//  True if the current version of (kind, key) was signed by author
static bool
s_current_by (s_env_t *env, const char *kind, const char *key, const ht_keypair_t *author)
{
    int error = 0;
    ht_record_t *current = ht_store_get (env->store, kind, key, &error);
    bool by = current && memcmp (ht_record_author (current), ht_keypair_public (author),
                                 HT_PUBKEY_BYTES) == 0;
    ht_record_destroy (&current);
    return by;
}

//  A cert record by issuer, keyed by key_pub and naming pubkey, for
//  region; deleted makes it a tombstone (no fields)
static ht_record_t *
s_cert (const ht_keypair_t *issuer, const uint8_t *key_pub, const uint8_t *pubkey,
        const char *region, const char *kinds_csv, uint64_t hlc, bool deleted)
{
    char hex [2 * HT_PUBKEY_BYTES + 1];
    ht_record_t *record = ht_record_new ("cert");
    ck_assert_int_eq (ht_record_set_key (record, ht_hex_encode (key_pub, HT_PUBKEY_BYTES, hex)), 0);
    ck_assert_int_eq (ht_record_set_region (record, region), 0);
    ck_assert_int_eq (ht_record_set_scope (record, region), 0);
    if (!deleted) {
        const char *kinds [4];
        char copy [64];
        snprintf (copy, sizeof copy, "%s", kinds_csv);
        size_t count = 0;
        for (char *kind = strtok (copy, ","); kind && count < 4; kind = strtok (NULL, ","))
            kinds [count++] = kind;
        ck_assert_int_eq (ht_record_set_str (record, "name", "forged"), 0);
        ck_assert_int_eq (ht_record_set_str (record, "role", "node"), 0);
        ck_assert_int_eq (ht_record_set_strs (record, "kinds", kinds, count), 0);
        ck_assert_int_eq (ht_record_set_int (record, "not_before",
                                             (int64_t) HT_FIXTURE_NOT_BEFORE_MS), 0);
        ck_assert_int_eq (ht_record_set_int (record, "not_after",
                                             (int64_t) HT_FIXTURE_NOT_AFTER_MS), 0);
        ck_assert_int_eq (ht_record_set_bin (record, "pubkey", pubkey, HT_PUBKEY_BYTES), 0);
    }
    ht_record_set_deleted (record, deleted);
    ht_record_set_hlc (record, hlc);
    ck_assert_int_eq (ht_record_sign (record, issuer), 0);
    return record;
}

//  A revocation of pubkey by issuer in region, in force from revoked_at
static ht_record_t *
s_revocation (const ht_keypair_t *issuer, const uint8_t *pubkey, const char *region,
              uint64_t revoked_at_ms, uint64_t hlc)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_revocation_issue (pubkey, region, revoked_at_ms, "test",
                                               issuer, hlc, &error, &reason);
    ck_assert_msg (record, "revocation: %s", reason? reason: "?");
    return record;
}

//  A tombstone of (kind, key) in region by author at hlc
static ht_record_t *
s_tombstone (const ht_keypair_t *author, const char *kind, const char *key,
             const char *region, uint64_t hlc)
{
    ht_record_t *record = ht_record_new (kind);
    ck_assert_int_eq (ht_record_set_key (record, key), 0);
    ck_assert_int_eq (ht_record_set_region (record, region), 0);
    ck_assert_int_eq (ht_record_set_scope (record, region), 0);
    ht_record_set_deleted (record, true);
    ht_record_set_hlc (record, hlc);
    ck_assert_int_eq (ht_record_sign (record, author), 0);
    return record;
}

static const char *
s_hex (const ht_keypair_t *key, char *hex)
{
    return ht_hex_encode (ht_keypair_public (key), HT_PUBKEY_BYTES, hex);
}

//  --------------------------------------------------------------------------
//  Certificates

START_TEST (a_cert_keyed_by_one_key_but_naming_another_is_refused)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const ht_keypair_t *community = s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY);
    const ht_keypair_t *county = s_key (&env, HT_FIXTURE_COUNTY_KEY);
    //  Keyed as the county's cert, naming the community's own key
    ht_record_t *forged = s_cert (community, ht_keypair_public (county),
                                  ht_keypair_public (community), HT_FIXTURE_COMMUNITY_A,
                                  "elder", ht_fixture_hlc (1, 0), false);
    ck_assert_int_eq (s_apply_take (&env, &forged), HT_ECERTKEY);
    char hex [65];
    ck_assert (s_current_by (&env, "cert", s_hex (county, hex), s_key (&env, HT_FIXTURE_ROOT)));
    //  The same for a revocation keyed by one key naming another
    ht_record_t *revocation = s_revocation (s_key (&env, HT_FIXTURE_TOWNSHIP_KEY),
                                            ht_keypair_public (community),
                                            HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_T0_MS,
                                            ht_fixture_hlc (1, 0));
    ck_assert_int_eq (ht_record_set_key (revocation, s_hex (county, hex)), 0);
    ck_assert_int_eq (ht_record_sign (revocation, s_key (&env, HT_FIXTURE_TOWNSHIP_KEY)), 0);
    ck_assert_int_eq (s_apply_take (&env, &revocation), HT_ECERTKEY);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_community_cannot_take_over_its_county_cert_and_the_county_keeps_working)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const ht_keypair_t *community = s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY);
    const ht_keypair_t *county = s_key (&env, HT_FIXTURE_COUNTY_KEY);
    //  A properly keyed cert for the county's key, in the community's
    //  own region: the chain rule admits it, the ownership rule does not
    ht_record_t *grab = s_cert (community, ht_keypair_public (county),
                                ht_keypair_public (county), HT_FIXTURE_COMMUNITY_A,
                                "elder", ht_fixture_hlc (2, 0), false);
    ck_assert_int_eq (s_apply_take (&env, &grab), HT_ENOTISSUER);
    char hex [65];
    ck_assert (s_current_by (&env, "cert", s_hex (county, hex), s_key (&env, HT_FIXTURE_ROOT)));
    ck_assert_uint_eq (ht_store_counter (env.store, "conflicts"), 1);
    //  The county still writes county-wide
    ht_record_t *elder = ht_fixture_elder_in (env.fixture, county, HT_FIXTURE_COMMUNITY_A,
                                              HT_FIXTURE_COMMUNITY_A, 7, "县", ht_fixture_hlc (3, 0));
    ck_assert_int_eq (s_apply_take (&env, &elder), HT_OK);
    //  Nor may it tombstone the county's cert
    ht_record_t *tomb = s_cert (community, ht_keypair_public (county), NULL,
                                HT_FIXTURE_COMMUNITY_A, "", ht_fixture_hlc (4, 0), true);
    ck_assert_int_eq (s_apply_take (&env, &tomb), HT_ENOTISSUER);
    ck_assert (s_current_by (&env, "cert", hex, s_key (&env, HT_FIXTURE_ROOT)));
    s_env_destroy (&env);
}
END_TEST

START_TEST (only_the_anchor_certifies_the_anchor)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const ht_keypair_t *root = s_key (&env, HT_FIXTURE_ROOT);
    const ht_keypair_t *township = s_key (&env, HT_FIXTURE_TOWNSHIP_KEY);
    ht_record_t *grab = s_cert (township, ht_keypair_public (root), ht_keypair_public (root),
                                HT_FIXTURE_TOWNSHIP, "elder", ht_fixture_hlc (1, 0), false);
    ck_assert_int_eq (s_apply_take (&env, &grab), HT_ENOTISSUER);
    ht_record_t *tomb = s_cert (township, ht_keypair_public (root), NULL,
                                HT_FIXTURE_TOWNSHIP, "", ht_fixture_hlc (1, 0), true);
    ck_assert_int_eq (s_apply_take (&env, &tomb), HT_ENOTISSUER);
    char hex [65];
    ck_assert (s_current_by (&env, "cert", s_hex (root, hex), root));
    s_env_destroy (&env);
}
END_TEST

START_TEST (the_issuer_renews_and_tombstones_its_cert_and_nobody_else_does)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const ht_keypair_t *township = s_key (&env, HT_FIXTURE_TOWNSHIP_KEY);
    const ht_keypair_t *county = s_key (&env, HT_FIXTURE_COUNTY_KEY);
    const ht_keypair_t *community = s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY);
    char hex [65];
    s_hex (community, hex);
    //  Even the county above the township is not the community's issuer
    ht_record_t *county_renewal = s_cert (county, ht_keypair_public (community),
                                          ht_keypair_public (community), HT_FIXTURE_COMMUNITY_A,
                                          "elder", ht_fixture_hlc (1, 0), false);
    ck_assert_int_eq (s_apply_take (&env, &county_renewal), HT_ENOTISSUER);
    ht_record_t *renewal = s_cert (township, ht_keypair_public (community),
                                   ht_keypair_public (community), HT_FIXTURE_COMMUNITY_A,
                                   "elder", ht_fixture_hlc (2, 0), false);
    ck_assert_int_eq (s_apply_take (&env, &renewal), HT_OK);
    ht_record_t *tomb = s_cert (township, ht_keypair_public (community), NULL,
                                HT_FIXTURE_COMMUNITY_A, "", ht_fixture_hlc (3, 0), true);
    ck_assert_int_eq (s_apply_take (&env, &tomb), HT_OK);
    //  With its cert deleted the community writes nothing
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 3, "甲",
                                           ht_fixture_hlc (4, 0));
    ck_assert_int_eq (s_apply_take (&env, &elder), HT_ENOCERT);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_cert_tombstone_with_nothing_to_delete_squats_nothing)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const ht_keypair_t *a = s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY);
    const ht_keypair_t *township = s_key (&env, HT_FIXTURE_TOWNSHIP_KEY);
    ht_keypair_t *fresh = ht_fixture_key (0x77, "fresh");
    //  Community A "deletes" a cert nobody issued yet, hoping to own it
    ht_record_t *squat = s_cert (a, ht_keypair_public (fresh), NULL, HT_FIXTURE_COMMUNITY_A,
                                 "", ht_fixture_hlc (1, 0), true);
    ck_assert_int_eq (s_apply_take (&env, &squat), HT_ENOTISSUER);
    //  The township then certifies the key for its other community
    ht_record_t *cert = s_cert (township, ht_keypair_public (fresh), ht_keypair_public (fresh),
                                S_COMMUNITY_C, "elder", ht_fixture_hlc (2, 0), false);
    ck_assert_int_eq (s_apply_take (&env, &cert), HT_OK);
    char hex [65];
    ck_assert (s_current_by (&env, "cert", s_hex (fresh, hex), township));
    ht_keypair_destroy (&fresh);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Revocations

START_TEST (a_community_cannot_revoke_a_sibling_its_county_or_the_root)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const ht_keypair_t *a = s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY);
    const ht_fixture_principal_t targets [] = {
        HT_FIXTURE_COMMUNITY_B_KEY, HT_FIXTURE_COUNTY_KEY, HT_FIXTURE_ROOT,
        HT_FIXTURE_TOWNSHIP_KEY };
    const char *regions [] = {
        HT_FIXTURE_COMMUNITY_B, HT_FIXTURE_COUNTY, HT_FIXTURE_CITY, HT_FIXTURE_TOWNSHIP };
    for (size_t i = 0; i < 4; i++) {
        ht_record_t *revocation = s_revocation (a, ht_keypair_public (s_key (&env, targets [i])),
                                                regions [i], HT_FIXTURE_T0_MS,
                                                ht_fixture_hlc (1, 0));
        int result = s_apply_take (&env, &revocation);
        //  Outside A's region a revocation also fails A's own chain rule;
        //  the chain rule names the insider's real problem first
        ck_assert_msg (result == HT_ENOTCHAIN, "target %zu: %s", i, ht_errname (result));
    }
    //  B still writes
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_B_KEY, 4, "乙",
                                           ht_fixture_hlc (2, 0));
    ck_assert_int_eq (s_apply_take (&env, &elder), HT_OK);
    s_env_destroy (&env);
}
END_TEST

START_TEST (an_issuer_above_the_revoked_key_may_revoke_it_in_its_region_only)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const uint8_t *b = ht_keypair_public (s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY));
    //  The county is B's issuer's issuer: on B's chain
    ht_record_t *wrong_region = s_revocation (s_key (&env, HT_FIXTURE_COUNTY_KEY), b,
                                              HT_FIXTURE_TOWNSHIP, HT_FIXTURE_T0_MS,
                                              ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_apply_take (&env, &wrong_region), HT_ESCOPE);
    ht_record_t *revocation = s_revocation (s_key (&env, HT_FIXTURE_COUNTY_KEY), b,
                                            HT_FIXTURE_COMMUNITY_B,
                                            HT_FIXTURE_T0_MS + 2 * HT_FIXTURE_DAY_MS,
                                            ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_apply_take (&env, &revocation), HT_OK);
    ht_record_t *late = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_B_KEY, 5, "乙",
                                          ht_fixture_hlc (3, 0));
    ck_assert_int_eq (s_apply_take (&env, &late), HT_EREVOKED);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_revocation_is_final_but_may_move_earlier)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const ht_keypair_t *township = s_key (&env, HT_FIXTURE_TOWNSHIP_KEY);
    const ht_keypair_t *b = s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY);
    const ht_keypair_t *a = s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY);
    uint64_t revoked_at = HT_FIXTURE_T0_MS + 10 * HT_FIXTURE_DAY_MS;
    ht_record_t *revocation = s_revocation (township, ht_keypair_public (b),
                                            HT_FIXTURE_COMMUNITY_B, revoked_at,
                                            ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_apply_take (&env, &revocation), HT_OK);
    char hex [65];
    s_hex (b, hex);
    //  Undo by tombstone: by the revoker itself, by the revoked key, by a neighbour
    const ht_keypair_t *undoers [] = { township, b, a };
    for (size_t i = 0; i < 3; i++) {
        ht_record_t *tomb = s_tombstone (undoers [i], "revocation", hex,
                                         HT_FIXTURE_COMMUNITY_B, ht_fixture_hlc (2, (uint16_t) i));
        int result = s_apply_take (&env, &tomb);
        ck_assert_msg (result == (i == 0? HT_EFINAL: HT_ENOTCHAIN), "undoer %zu: %s", i,
                       ht_errname (result));
    }
    //  Postponing is refused; moving earlier is allowed
    ht_record_t *later = s_revocation (township, ht_keypair_public (b), HT_FIXTURE_COMMUNITY_B,
                                       revoked_at + HT_FIXTURE_DAY_MS, ht_fixture_hlc (3, 0));
    ck_assert_int_eq (s_apply_take (&env, &later), HT_EFINAL);
    ht_record_t *earlier = s_revocation (township, ht_keypair_public (b), HT_FIXTURE_COMMUNITY_B,
                                         revoked_at - 5 * HT_FIXTURE_DAY_MS, ht_fixture_hlc (4, 0));
    ck_assert_int_eq (s_apply_take (&env, &earlier), HT_OK);
    //  B stays revoked: a write after the earlier time is refused
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_B_KEY, 6, "乙",
                                           ht_fixture_hlc (6, 0));
    ck_assert_int_eq (s_apply_take (&env, &elder), HT_EREVOKED);
    ck_assert_uint_eq (ht_store_counter (env.store, "conflicts"), 2);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Entity ownership

START_TEST (a_community_cannot_overwrite_or_tombstone_its_neighbours_elder)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    const ht_keypair_t *a = s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY);
    const ht_keypair_t *b = s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY);
    ht_record_t *mine = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 8, "甲",
                                          ht_fixture_hlc (1, 0));
    char key [HT_KEY_MAX_CHARS + 1];
    snprintf (key, sizeof key, "%s", ht_record_key (mine));
    ck_assert_int_eq (s_apply_take (&env, &mine), HT_OK);
    //  B writes the same person (same key) into its own region
    ht_record_t *theft = ht_fixture_elder_in (env.fixture, b, HT_FIXTURE_COMMUNITY_B,
                                              HT_FIXTURE_COMMUNITY_B, 8, "乙", ht_fixture_hlc (2, 0));
    ck_assert_str_eq (ht_record_key (theft), key);
    ck_assert_int_eq (s_apply_take (&env, &theft), HT_ENOTOWNER);
    ht_record_t *tomb = s_tombstone (b, "elder", key, HT_FIXTURE_COMMUNITY_B, ht_fixture_hlc (3, 0));
    ck_assert_int_eq (s_apply_take (&env, &tomb), HT_ENOTOWNER);
    ck_assert (s_current_by (&env, "elder", key, a));
    ck_assert_uint_eq (ht_store_counter (env.store, "conflicts"), 2);
    //  A updates its own elder as before
    ht_record_t *update = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 8, "甲二",
                                            ht_fixture_hlc (4, 0));
    ck_assert_int_eq (s_apply_take (&env, &update), HT_OK);
    //  The township, above both, moves the elder to B; then B owns it
    ht_record_t *move = ht_fixture_elder_in (env.fixture, s_key (&env, HT_FIXTURE_TOWNSHIP_KEY),
                                             HT_FIXTURE_COMMUNITY_B, HT_FIXTURE_COMMUNITY_B, 8,
                                             "迁", ht_fixture_hlc (5, 0));
    ck_assert_int_eq (s_apply_take (&env, &move), HT_OK);
    ht_record_t *b_update = ht_fixture_elder_in (env.fixture, b, HT_FIXTURE_COMMUNITY_B,
                                                 HT_FIXTURE_COMMUNITY_B, 8, "乙二",
                                                 ht_fixture_hlc (6, 0));
    ck_assert_int_eq (s_apply_take (&env, &b_update), HT_OK);
    ck_assert (s_current_by (&env, "elder", key, b));
    ht_record_t *a_back = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 8, "甲三",
                                            ht_fixture_hlc (7, 0));
    ck_assert_int_eq (s_apply_take (&env, &a_back), HT_ENOTOWNER);
    s_env_destroy (&env);
}
END_TEST

START_TEST (an_identical_write_is_passed_over_only_for_a_key_that_could_make_it)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ht_record_t *current = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 8, "甲",
                                             ht_fixture_hlc (1, 0));
    ck_assert_int_eq (s_apply (&env, current), HT_OK);
    ht_gate_t gate = ht_gate_of_store (env.store, HT_FIXTURE_TOWNSHIP,
                                       ht_hlc_ms (ht_fixture_hlc (10, 0)));
    //  The owner, and the township above it, may be told "unchanged"
    ht_record_t *again = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 8, "甲",
                                           ht_fixture_hlc (2, 0));
    ht_record_t *above = ht_fixture_elder_in (env.fixture, s_key (&env, HT_FIXTURE_TOWNSHIP_KEY),
                                              HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_A, 8,
                                              "甲", ht_fixture_hlc (3, 0));
    //  A neighbour, a key without a certificate, a forged signature may not:
    //  an answer would confirm a guess of the record's content
    ht_record_t *neighbour = ht_fixture_elder_in (env.fixture, s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY),
                                                  HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_A, 8,
                                                  "甲", ht_fixture_hlc (4, 0));
    ht_keypair_t *stranger = ht_fixture_key (0x77, "stranger");
    ht_record_t *uncertified = ht_fixture_elder_in (env.fixture, stranger, HT_FIXTURE_COMMUNITY_A,
                                                    HT_FIXTURE_COMMUNITY_A, 8, "甲",
                                                    ht_fixture_hlc (5, 0));
    ht_record_t *signed_again = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 8, "甲",
                                                  ht_fixture_hlc (6, 0));
    json_t *json = ht_record_to_json (signed_again);
    char sig [2 * HT_SIG_BYTES + 1];
    snprintf (sig, sizeof sig, "%s", json_string_value (json_object_get (json, "sig")));
    sig [0] = sig [0] == '0'? '1': '0';
    json_object_set_new (json, "sig", json_string (sig));
    ht_record_t *forged = ht_record_from_json (json, NULL, NULL);
    ck_assert_ptr_nonnull (forged);
    json_decref (json);
    ht_record_destroy (&signed_again);
    ht_record_t *records [] = { again, above, neighbour, uncertified, forged };
    int expected [] = { HT_OK, HT_OK, HT_ESCOPE, HT_ENOCERT, HT_EBADSIG };
    for (size_t index = 0; index < sizeof records / sizeof records [0]; index++) {
        ck_assert (ht_record_same_content (current, records [index]));
        ck_assert_int_eq (ht_gate_admit_unchanged (&gate, records [index], current, HT_GATE_INGEST),
                          expected [index]);
        ht_record_destroy (&records [index]);
    }
    ht_keypair_destroy (&stranger);
    ht_record_destroy (&current);
    s_env_destroy (&env);
}
END_TEST

//  The versions of one contested elder: A's, B's attacks, the township's
//  move, and later writes by both
static size_t
s_contested (s_env_t *env, ht_record_t **versions)
{
    const ht_keypair_t *a = s_key (env, HT_FIXTURE_COMMUNITY_A_KEY);
    const ht_keypair_t *b = s_key (env, HT_FIXTURE_COMMUNITY_B_KEY);
    const ht_keypair_t *township = s_key (env, HT_FIXTURE_TOWNSHIP_KEY);
    size_t n = 0;
    versions [n++] = ht_fixture_elder_in (env->fixture, a, HT_FIXTURE_COMMUNITY_A,
                                          HT_FIXTURE_COMMUNITY_A, 9, "甲", ht_fixture_hlc (1, 0));
    versions [n++] = ht_fixture_elder_in (env->fixture, b, HT_FIXTURE_COMMUNITY_B,
                                          HT_FIXTURE_COMMUNITY_B, 9, "乙", ht_fixture_hlc (2, 0));
    versions [n++] = ht_fixture_elder_in (env->fixture, township, HT_FIXTURE_COMMUNITY_B,
                                          HT_FIXTURE_COMMUNITY_B, 9, "迁", ht_fixture_hlc (3, 0));
    versions [n++] = ht_fixture_elder_in (env->fixture, a, HT_FIXTURE_COMMUNITY_A,
                                          HT_FIXTURE_COMMUNITY_A, 9, "甲二", ht_fixture_hlc (4, 0));
    versions [n++] = ht_fixture_elder_in (env->fixture, b, HT_FIXTURE_COMMUNITY_B,
                                          HT_FIXTURE_COMMUNITY_B, 9, "乙二", ht_fixture_hlc (5, 0));
    return n;
}

//  The current version's name and the conflict code of each version
static void
s_verdict (s_env_t *env, ht_record_t **versions, size_t count, char *name, int *flags)
{
    int error = 0;
    ht_record_t *current = ht_store_get (env->store, "elder", ht_record_key (versions [0]), &error);
    ck_assert_ptr_nonnull (current);
    snprintf (name, 32, "%s", ht_record_get_str (current, "name"));
    ht_record_destroy (&current);
    for (size_t i = 0; i < count; i++)
        flags [i] = ht_store_conflict_of (env->store, versions [i]);
}

START_TEST (every_arrival_order_gives_the_same_current_version_and_conflicts)
{
    //  All 120 orders of five versions: A first, B's theft, the
    //  township's move to B, A's update (now not A's to make), B's update
    int expected_flags [5] = { 0, HT_ENOTOWNER, 0, HT_ENOTOWNER, 0 };
    size_t order [5] = { 0, 1, 2, 3, 4 };
    size_t permutations = 0;
    while (true) {
        s_env_t env;
        s_env_init (&env, HT_FIXTURE_TOWNSHIP);
        ht_record_t *versions [5];
        size_t count = s_contested (&env, versions);
        for (size_t i = 0; i < count; i++)
            (void) s_apply (&env, versions [order [i]]);
        char name [32];
        int flags [5];
        s_verdict (&env, versions, count, name, flags);
        ck_assert_str_eq (name, "乙二");
        for (size_t i = 0; i < count; i++)
            ck_assert_msg (flags [i] == expected_flags [i], "order %zu%zu%zu%zu%zu version %zu: %s",
                           order [0], order [1], order [2], order [3], order [4], i,
                           ht_errname (flags [i]));
        ck_assert_uint_eq (ht_store_counter (env.store, "conflicts"), 2);
        ck_assert_uint_eq (ht_store_count (env.store, "elder"), 1);
        for (size_t i = 0; i < count; i++)
            ht_record_destroy (&versions [i]);
        s_env_destroy (&env);
        permutations++;
        //  Next permutation in lexicographic order
        int i = 3;
        while (i >= 0 && order [i] > order [i + 1])
            i--;
        if (i < 0)
            break;
        int j = 4;
        while (order [j] < order [i])
            j--;
        size_t swap = order [i]; order [i] = order [j]; order [j] = swap;
        for (int lo = i + 1, hi = 4; lo < hi; lo++, hi--) {
            swap = order [lo]; order [lo] = order [hi]; order [hi] = swap;
        }
    }
    ck_assert_uint_eq (permutations, 120);
}
END_TEST

START_TEST (a_late_earlier_version_is_judged_again_with_those_after_it)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ht_record_t *versions [5];
    size_t count = s_contested (&env, versions);
    //  Without the township's move, A's update is legitimate and B's
    //  versions are not
    ck_assert_int_eq (s_apply (&env, versions [0]), HT_OK);
    ck_assert_int_eq (s_apply (&env, versions [1]), HT_ENOTOWNER);
    ck_assert_int_eq (s_apply (&env, versions [3]), HT_OK);
    ck_assert_int_eq (s_apply (&env, versions [4]), HT_ENOTOWNER);
    ck_assert (s_current_by (&env, "elder", ht_record_key (versions [0]),
                             s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY)));
    //  The move arrives late: B's later update becomes current, A's is flagged
    ck_assert_int_eq (s_apply (&env, versions [2]), HT_OK);
    ck_assert (s_current_by (&env, "elder", ht_record_key (versions [0]),
                             s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY)));
    ck_assert_int_eq (ht_store_conflict_of (env.store, versions [3]), HT_ENOTOWNER);
    ck_assert_int_eq (ht_store_conflict_of (env.store, versions [4]), 0);
    ck_assert_int_eq (ht_store_conflict_of (env.store, versions [1]), HT_ENOTOWNER);
    //  Replaying any of them changes nothing, and says again what each is
    for (size_t i = 0; i < count; i++) {
        int result = s_apply (&env, versions [i]);
        int expected = i == 1 || i == 3? HT_ENOTOWNER: HT_OK;
        ck_assert_msg (result == expected, "replay %zu: %s", i, ht_errname (result));
    }
    ck_assert_uint_eq (ht_store_counter (env.store, "conflicts"), 2);
    for (size_t i = 0; i < count; i++)
        ht_record_destroy (&versions [i]);
    s_env_destroy (&env);
}
END_TEST

//  Collect a store's changes (as a replica would receive them)
typedef struct {
    zlistx_t *chunks;
} s_changes_t;

static int
s_collect_change (void *arg, uint64_t seq, const uint8_t *data, size_t size,
                  const char *origin)
{
    (void) seq; (void) origin;
    zlistx_add_end (((s_changes_t *) arg)->chunks, zchunk_new (data, size));
    return 0;
}

START_TEST (a_move_in_history_stays_in_the_change_log_so_every_holder_judges_alike)
{
    s_env_t township, county;
    s_env_init (&township, HT_FIXTURE_TOWNSHIP);
    s_env_init (&county, HT_FIXTURE_COUNTY);
    ht_record_t *versions [5];
    size_t count = s_contested (&township, versions);
    //  The county saw A's first version; then it was cut off while the
    //  township moved the elder to B and B updated it
    ck_assert_int_eq (s_apply (&county, versions [0]), HT_OK);
    ck_assert_int_eq (s_apply (&township, versions [0]), HT_OK);
    uint64_t seen = ht_store_last_seq (township.store);
    ck_assert_int_eq (s_apply (&township, versions [2]), HT_OK);
    ck_assert_int_eq (s_apply (&township, versions [4]), HT_OK);
    //  What the county pulls after its cursor: the move (now history)
    //  and B's update, not just the current version
    s_changes_t changes = { zlistx_new () };
    zlistx_set_destructor (changes.chunks, (zlistx_destructor_fn *) zchunk_destroy);
    uint64_t last = 0;
    ck_assert_int_eq (ht_store_changes_for (township.store, seen, 0, HT_FIXTURE_COUNTY, NULL, 0,
                                            s_collect_change, &changes, &last), 2);
    ck_assert_uint_eq (last, ht_store_last_seq (township.store));
    for (zchunk_t *chunk = zlistx_first (changes.chunks); chunk; chunk = zlistx_next (changes.chunks)) {
        const uint8_t *data [1] = { zchunk_data (chunk) };
        size_t size = zchunk_size (chunk);
        uint8_t epoch [HT_EPOCH_BYTES] = { 7 };
        ht_origin_t origin = { .peer = HT_FIXTURE_TOWNSHIP, .epoch = epoch, .cursor = 1 };
        ck_assert_int_eq (ht_store_apply_encoded (county.store, data, &size, 1, &origin,
                                                  NULL, NULL), 0);
    }
    //  Both judge B's update current
    ck_assert (s_current_by (&county, "elder", ht_record_key (versions [0]),
                             s_key (&county, HT_FIXTURE_COMMUNITY_B_KEY)));
    ck_assert (s_current_by (&township, "elder", ht_record_key (versions [0]),
                             s_key (&township, HT_FIXTURE_COMMUNITY_B_KEY)));
    ck_assert_uint_eq (ht_store_counter (county.store, "conflicts"), 0);
    //  Community A (the old owner) holds none of it now: the moved
    //  versions are not A's to hold (the routing index finds none to examine)
    ck_assert_int_eq (ht_store_changes_for (township.store, seen, 0, HT_FIXTURE_COMMUNITY_A,
                                            NULL, 0, NULL, NULL, NULL), 0);
    zlistx_destroy (&changes.chunks);
    for (size_t i = 0; i < count; i++)
        ht_record_destroy (&versions [i]);
    s_env_destroy (&county);
    s_env_destroy (&township);
}
END_TEST

//  --------------------------------------------------------------------------
//  Ingest freshness and the clock

START_TEST (a_local_write_must_be_fresh_and_a_replicated_one_need_not)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ck_assert_int_eq (ht_store_set_ingest_window (env.store, HT_GATE_INGEST_BEHIND_MS,
                                                  HT_GATE_INGEST_AHEAD_MS), 0);
    uint64_t now = ht_hlc_wall_ms ();
    ht_record_t *fresh = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 10, "甲",
                                           ht_hlc_make (now - 60 * 1000, 0));
    ck_assert_int_eq (s_apply_take (&env, &fresh), HT_OK);
    //  Eleven minutes back: stale at ingest
    ht_record_t *old = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 11, "甲",
                                         ht_hlc_make (now - 11 * 60 * 1000, 0));
    ck_assert_int_eq (s_apply (&env, old), HT_ESTALE);
    //  The same record from a neighbour is an ordinary replicated record
    ck_assert_int_eq (s_apply_from (&env, old, "441802000000"), HT_OK);
    ht_record_destroy (&old);
    //  Six minutes ahead: refused at ingest (clock), under the replication drift
    ht_record_t *ahead = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 12, "甲",
                                           ht_hlc_make (now + 6 * 60 * 1000, 0));
    ck_assert_int_eq (s_apply (&env, ahead), HT_ECLOCK);
    ht_record_destroy (&ahead);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_revoked_key_cannot_back_date_its_way_in_through_an_honest_node)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ck_assert_int_eq (ht_store_set_ingest_window (env.store, HT_GATE_INGEST_BEHIND_MS,
                                                  HT_GATE_INGEST_AHEAD_MS), 0);
    uint64_t now = ht_hlc_wall_ms ();
    const ht_keypair_t *b = s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY);
    ht_record_t *revocation = s_revocation (s_key (&env, HT_FIXTURE_TOWNSHIP_KEY),
                                            ht_keypair_public (b), HT_FIXTURE_COMMUNITY_B,
                                            now - 60 * 60 * 1000, ht_hlc_make (now, 0));
    ck_assert_int_eq (s_apply_take (&env, &revocation), HT_OK);
    //  Dated now: revoked. Dated before the revocation: stale.
    ht_record_t *now_write = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_B_KEY, 13, "乙",
                                               ht_hlc_make (now, 1));
    ck_assert_int_eq (s_apply_take (&env, &now_write), HT_EREVOKED);
    ht_record_t *backdated = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_B_KEY, 13, "乙",
                                               ht_hlc_make (now - 2 * 60 * 60 * 1000, 0));
    ck_assert_int_eq (s_apply_take (&env, &backdated), HT_ESTALE);
    s_env_destroy (&env);
}
END_TEST

//  A node whose clock runs ahead of its parent's judges what enters the
//  network there by the parent's clock too: a record dated by its own
//  clock would be quarantined as clock by every neighbour, so it is
//  refused at once (clock_skew), never acknowledged (R15)
START_TEST (a_node_ahead_of_its_parent_refuses_writes_dated_by_its_own_clock)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ck_assert_int_eq (ht_store_set_ingest_window (env.store, HT_GATE_INGEST_BEHIND_MS,
                                                  HT_GATE_INGEST_AHEAD_MS), 0);
    uint64_t now = ht_hlc_wall_ms ();
    const uint64_t lead = 10 * 60 * 1000;
    ck_assert_int_eq (ht_store_set_clock_lead (env.store, (int64_t) lead, now), 0);
    //  Dated by our clock: 10 minutes ahead of the parent's
    ht_record_t *own = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 20, "甲",
                                         ht_hlc_make (now, 0));
    ck_assert_int_eq (s_apply (&env, own), HT_ECLOCKSKEW);
    //  From a neighbour the same record is judged by the replicated rule
    ck_assert_int_eq (s_apply_from (&env, own, "441802000000"), HT_OK);
    ht_record_destroy (&own);
    //  Dated by the parent's clock (a client whose clock is right), or up
    //  to the ingest window ahead of it: admitted
    ht_record_t *right = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 21, "甲",
                                           ht_hlc_make (now - lead + 4 * 60 * 1000, 0));
    ck_assert_int_eq (s_apply_take (&env, &right), HT_OK);
    ht_record_t *edge = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 22, "甲",
                                          ht_hlc_make (now - lead + 6 * 60 * 1000, 0));
    ck_assert_int_eq (s_apply_take (&env, &edge), HT_ECLOCKSKEW);
    //  Not known to be off: our own clock alone decides
    ck_assert_int_eq (ht_store_set_clock_lead (env.store, 0, now), 0);
    own = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 23, "甲",
                            ht_hlc_make (now, 0));
    ck_assert_int_eq (s_apply_take (&env, &own), HT_OK);
    //  Behind the parent's: a record dated right is still refused (our
    //  window decides), but the refusal names our clock
    ck_assert_int_eq (ht_store_set_clock_lead (env.store, -(int64_t) lead, now), 0);
    ht_record_t *ahead = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 24, "甲",
                                           ht_hlc_make (now + lead, 0));
    ck_assert_int_eq (s_apply (&env, ahead), HT_ECLOCKSKEW);
    ht_record_destroy (&ahead);
    ahead = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 25, "甲",
                              ht_hlc_make (now + lead + 6 * 60 * 1000, 0));
    ck_assert_int_eq (s_apply_take (&env, &ahead), HT_ECLOCK);
    s_env_destroy (&env);
}
END_TEST

//  Reopen env's store as another writer of it would (hutong put --store)
static void
s_reopen (s_env_t *env)
{
    ht_store_destroy (&env->store);
    int error = 0;
    env->store = ht_store_open (env->dir, 0, &error);
    ck_assert_msg (env->store, "reopen: %s", ht_strerror (error));
}

START_TEST (another_writer_believes_the_kept_lead_while_its_clock_has_not_gone_back)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ck_assert_int_eq (ht_store_set_ingest_window (env.store, HT_GATE_INGEST_BEHIND_MS,
                                                  HT_GATE_INGEST_AHEAD_MS), 0);
    uint64_t now = ht_hlc_wall_ms ();
    const uint64_t lead = 10 * 60 * 1000;
    //  The node read its lead a minute ago, and stopped
    ck_assert_int_eq (ht_store_set_clock_lead (env.store, (int64_t) lead, now - 60 * 1000), 0);
    s_reopen (&env);
    ht_record_t *own = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 30, "甲",
                                         ht_hlc_make (now, 0));
    ck_assert_int_eq (s_apply (&env, own), HT_ECLOCKSKEW);
    //  Read "later" than our clock says now: the clock went back since,
    //  set right, so the lead no longer holds
    ck_assert_int_eq (ht_store_set_clock_lead (env.store, (int64_t) lead, now + lead), 0);
    s_reopen (&env);
    ck_assert_int_eq (s_apply (&env, own), HT_OK);
    ht_record_destroy (&own);
    //  Read over an hour ago: not believed either
    ck_assert_int_eq (ht_store_set_clock_lead (env.store, (int64_t) lead,
                                               now - 2 * 60 * 60 * 1000), 0);
    s_reopen (&env);
    own = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 31, "甲",
                            ht_hlc_make (now, 0));
    ck_assert_int_eq (s_apply_take (&env, &own), HT_OK);
    //  A lead behind is not kept for other writers
    ck_assert_int_eq (ht_store_set_clock_lead (env.store, -(int64_t) lead, now), 0);
    s_reopen (&env);
    ht_record_t *ahead = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 32, "甲",
                                           ht_hlc_make (now + lead, 0));
    ck_assert_int_eq (s_apply_take (&env, &ahead), HT_ECLOCK);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Keys on sockets

//  A gate over the store's certificates at region, now
static ht_gate_t
s_gate (s_env_t *env, const char *region, uint64_t now_ms)
{
    return (ht_gate_t) {
        .anchor = ht_store_anchor (env->store),
        .source = ht_store_certsource (env->store),
        .region = region, .now_ms = now_ms
    };
}

START_TEST (sockets_admit_only_fitting_valid_unrevoked_keys)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    uint64_t now = HT_FIXTURE_T0_MS + 30 * HT_FIXTURE_DAY_MS;
    ht_gate_t township = s_gate (&env, HT_FIXTURE_TOWNSHIP, now);
    ht_gate_t county = s_gate (&env, HT_FIXTURE_COUNTY, now);
    ht_gate_t community = s_gate (&env, HT_FIXTURE_COMMUNITY_A, now);
    const uint8_t *a = ht_keypair_public (s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY));
    const uint8_t *t = ht_keypair_public (s_key (&env, HT_FIXTURE_TOWNSHIP_KEY));
    const char *reason = NULL;
    ht_cert_t cert;
    ck_assert_int_eq (ht_gate_admit_key (&township, HT_GATE_NODE_SOCKET, a, NULL, &cert, &reason), 0);
    ck_assert_str_eq (cert.region, HT_FIXTURE_COMMUNITY_A);
    //  Not a direct child of the county; not the region it claims
    ck_assert_int_eq (ht_gate_admit_key (&county, HT_GATE_NODE_SOCKET, a, NULL, NULL, &reason),
                      HT_ESCOPE);
    ck_assert_int_eq (ht_gate_admit_key (&township, HT_GATE_NODE_SOCKET, a,
                                         HT_FIXTURE_COMMUNITY_B, NULL, &reason), HT_ESCOPE);
    //  Clients: inside the jurisdiction; and node (or operator) keys of
    //  the tiers above, which may read its status — never a sibling's
    ck_assert_int_eq (ht_gate_admit_key (&county, HT_GATE_CLIENT_SOCKET, a, NULL, NULL, &reason), 0);
    ck_assert_int_eq (ht_gate_admit_key (&community, HT_GATE_CLIENT_SOCKET, t, NULL, NULL, &reason),
                      0);
    const uint8_t *sibling = ht_keypair_public (s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY));
    ck_assert_int_eq (ht_gate_admit_key (&community, HT_GATE_CLIENT_SOCKET, sibling, NULL, NULL,
                                         &reason), HT_ESCOPE);
    //  The parent link: the township is community A's parent
    ck_assert_int_eq (ht_gate_admit_key (&community, HT_GATE_PARENT_LINK, t, NULL, NULL, &reason), 0);
    ck_assert_int_eq (ht_gate_admit_key (&community, HT_GATE_PARENT_LINK, a, NULL, NULL, &reason),
                      HT_ESCOPE);
    //  An unknown key
    ht_keypair_t *stranger = ht_fixture_key (0x99, "stranger");
    ck_assert_int_eq (ht_gate_admit_key (&township, HT_GATE_CLIENT_SOCKET,
                                         ht_keypair_public (stranger), NULL, NULL, &reason),
                      HT_ENOCERT);
    ht_keypair_destroy (&stranger);
    //  Revoked from now on: refused on both sockets, and so is its key's
    //  own certificate even though its issuer's chain is fine
    ht_record_t *revocation = s_revocation (s_key (&env, HT_FIXTURE_TOWNSHIP_KEY), a,
                                            HT_FIXTURE_COMMUNITY_A, now - 1, ht_fixture_hlc (2, 0));
    ck_assert_int_eq (s_apply_take (&env, &revocation), HT_OK);
    ck_assert_int_eq (ht_gate_admit_key (&township, HT_GATE_NODE_SOCKET, a, NULL, NULL, &reason),
                      HT_EREVOKED);
    ck_assert_int_eq (ht_gate_admit_key (&county, HT_GATE_CLIENT_SOCKET, a, NULL, NULL, &reason),
                      HT_EREVOKED);
    //  Expired: after the fixture's certificates end
    ht_gate_t later = s_gate (&env, HT_FIXTURE_TOWNSHIP, HT_FIXTURE_NOT_AFTER_MS + 1);
    const uint8_t *b = ht_keypair_public (s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY));
    ck_assert_int_eq (ht_gate_admit_key (&later, HT_GATE_NODE_SOCKET, b, NULL, NULL, &reason),
                      HT_EEXPIRED);
    s_env_destroy (&env);
}
END_TEST

//  A certificate for subject in region with role, by issuer, applied
static void
s_certify (s_env_t *env, const ht_keypair_t *subject, const char *region, ht_role_t role,
           const ht_keypair_t *issuer)
{
    static const char *const kinds [] = { "elder", "facility" };
    ht_record_t *cert = ht_fixture_cert (subject, region, kinds, role == HT_ROLE_NODE? 2: 1,
                                         issuer, 1000);
    if (role != HT_ROLE_NODE) {
        ht_cert_t spec;
        ck_assert_int_eq (ht_cert_parse (cert, &spec), 0);
        ht_record_destroy (&cert);
        spec.role = role;
        snprintf (spec.department, sizeof spec.department, "civil_affairs");
        cert = ht_cert_issue (&spec, issuer, ht_fixture_hlc (0, 1), NULL, NULL);
        ck_assert_ptr_nonnull (cert);
    }
    ck_assert_int_eq (s_apply_take (env, &cert), HT_OK);
}

START_TEST (only_the_pinned_parent_keys_own_issuer_names_its_successor)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);     //  holds every cert asked about
    uint64_t now = HT_FIXTURE_T0_MS + 30 * HT_FIXTURE_DAY_MS;
    ht_gate_t community = s_gate (&env, HT_FIXTURE_COMMUNITY_A, now);
    const ht_keypair_t *county = s_key (&env, HT_FIXTURE_COUNTY_KEY);
    const ht_keypair_t *township = s_key (&env, HT_FIXTURE_TOWNSHIP_KEY);
    const uint8_t *pinned = ht_keypair_public (township);
    ht_keypair_t *successor = ht_fixture_key (0x61, "township-new");
    ht_keypair_t *minted = ht_fixture_key (0x62, "township-self");
    ht_keypair_t *from_root = ht_fixture_key (0x63, "township-root");
    ht_keypair_t *department = ht_fixture_key (0x64, "township-civil");
    //  The county certified the township: its new key is the township's
    s_certify (&env, successor, HT_FIXTURE_TOWNSHIP, HT_ROLE_NODE, county);
    const char *reason = NULL;
    ck_assert_int_eq (ht_gate_admit_parent_successor (&community, pinned,
                          ht_keypair_public (successor), &reason), HT_OK);
    //  Certified insiders that pass the parent-link check alone: the
    //  township minting itself a second key, the root certifying one
    s_certify (&env, minted, HT_FIXTURE_TOWNSHIP, HT_ROLE_NODE, township);
    s_certify (&env, from_root, HT_FIXTURE_TOWNSHIP, HT_ROLE_NODE, s_key (&env, HT_FIXTURE_ROOT));
    ck_assert_int_eq (ht_gate_admit_key (&community, HT_GATE_PARENT_LINK,
                                         ht_keypair_public (minted), NULL, NULL, &reason), 0);
    ck_assert_int_eq (ht_gate_admit_parent_successor (&community, pinned,
                          ht_keypair_public (minted), &reason), HT_ENOTISSUER);
    ck_assert_int_eq (ht_gate_admit_parent_successor (&community, pinned,
                          ht_keypair_public (from_root), &reason), HT_ENOTISSUER);
    //  A client of the township's region, a sibling node, the county
    s_certify (&env, department, HT_FIXTURE_TOWNSHIP, HT_ROLE_DEPARTMENT, township);
    ck_assert_int_eq (ht_gate_admit_parent_successor (&community, pinned,
                          ht_keypair_public (department), &reason), HT_ESCOPE);
    ck_assert_int_eq (ht_gate_admit_parent_successor (&community, pinned,
                          ht_keypair_public (s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY)), &reason),
                      HT_ESCOPE);
    ck_assert_int_eq (ht_gate_admit_parent_successor (&community, pinned,
                          ht_keypair_public (county), &reason), HT_ESCOPE);
    //  A pin this node holds no certificate for has no successor
    ht_keypair_t *stranger = ht_fixture_key (0x65, "stranger");
    ck_assert_int_eq (ht_gate_admit_parent_successor (&community, ht_keypair_public (stranger),
                          ht_keypair_public (successor), &reason), HT_ENOCERT);
    ht_keypair_destroy (&stranger);
    //  A revoked successor is no successor
    ht_record_t *revocation = s_revocation (county, ht_keypair_public (successor),
                                            HT_FIXTURE_TOWNSHIP, now - 1, ht_fixture_hlc (2, 0));
    ck_assert_int_eq (s_apply_take (&env, &revocation), HT_OK);
    ck_assert_int_eq (ht_gate_admit_parent_successor (&community, pinned,
                          ht_keypair_public (successor), &reason), HT_EREVOKED);
    ht_keypair_destroy (&successor);
    ht_keypair_destroy (&minted);
    ht_keypair_destroy (&from_root);
    ht_keypair_destroy (&department);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_rotated_issuers_successor_renews_its_certificates_and_nobody_else_does)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    static const char *const kinds [] = { "elder", "facility", "cert", "revocation" };
    static const char *const community [] = { "elder", "cert", "revocation" };
    const ht_keypair_t *county = s_key (&env, HT_FIXTURE_COUNTY_KEY);
    const ht_keypair_t *township = s_key (&env, HT_FIXTURE_TOWNSHIP_KEY);
    const ht_keypair_t *a = s_key (&env, HT_FIXTURE_COMMUNITY_A_KEY);
    const ht_keypair_t *b = s_key (&env, HT_FIXTURE_COMMUNITY_B_KEY);
    ht_keypair_t *successor = ht_fixture_key (0x81, "township-new");
    ht_keypair_t *minted = ht_fixture_key (0x82, "township-minted");
    ht_record_t *cert = ht_fixture_cert (successor, HT_FIXTURE_TOWNSHIP, kinds, 4, county, 100);
    ck_assert_int_eq (s_apply_take (&env, &cert), HT_OK);
    cert = ht_fixture_cert (minted, HT_FIXTURE_TOWNSHIP, kinds, 4, township, 200);
    ck_assert_int_eq (s_apply_take (&env, &cert), HT_OK);
    //  The county's successor of the township renews community A's
    //  certificate; the key the township minted itself cannot renew B's
    char a_hex [2 * HT_PUBKEY_BYTES + 1], b_hex [2 * HT_PUBKEY_BYTES + 1];
    cert = ht_fixture_cert (a, HT_FIXTURE_COMMUNITY_A, community, 3, successor,
                            10 * HT_FIXTURE_DAY_MS);
    ck_assert_int_eq (s_apply_take (&env, &cert), HT_OK);
    ck_assert (s_current_by (&env, "cert", s_hex (a, a_hex), successor));
    cert = ht_fixture_cert (b, HT_FIXTURE_COMMUNITY_B, community, 3, minted,
                            10 * HT_FIXTURE_DAY_MS);
    s_apply_take (&env, &cert);
    ck_assert (s_current_by (&env, "cert", s_hex (b, b_hex), township));
    //  The old township key revoked: A, renewed, keeps writing; B does not
    uint64_t revoked_at = HT_FIXTURE_T0_MS + 20 * HT_FIXTURE_DAY_MS;
    ht_record_t *revocation = s_revocation (county, ht_keypair_public (township),
                                            HT_FIXTURE_TOWNSHIP, revoked_at,
                                            ht_fixture_hlc (20, 0));
    ck_assert_int_eq (s_apply_take (&env, &revocation), HT_OK);
    ht_record_t *elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_A_KEY, 21, "甲",
                                           ht_fixture_hlc (25, 0));
    ck_assert_int_eq (s_apply_take (&env, &elder), HT_OK);
    elder = ht_fixture_elder (env.fixture, HT_FIXTURE_COMMUNITY_B_KEY, 22, "乙",
                              ht_fixture_hlc (25, 0));
    ck_assert_int_eq (s_apply_take (&env, &elder), HT_EREVOKED);
    ht_keypair_destroy (&successor);
    ht_keypair_destroy (&minted);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Quarantine bounds

//  Junk from one source: records whose signature does not verify
static void
s_junk (s_env_t *env, size_t count, const char *source)
{
    for (size_t i = 0; i < count; i++) {
        ht_record_t *record = ht_fixture_elder (env->fixture, HT_FIXTURE_COMMUNITY_A_KEY,
                                                (unsigned) (100 + i), "坏", ht_fixture_hlc (1, 0));
        uint8_t *bytes = NULL;
        size_t size = 0;
        ck_assert_int_eq (ht_record_encode (record, &bytes, &size), 0);
        uint8_t *sig = memmem (bytes, size, ht_record_sig (record), HT_SIG_BYTES);
        ck_assert_ptr_nonnull (sig);
        sig [10] ^= 0x01;
        const uint8_t *data [1] = { bytes };
        ht_origin_t origin = { .source = source };
        ck_assert_int_eq (ht_store_apply_encoded (env->store, data, &size, 1, &origin,
                                                  NULL, NULL), 0);
        free (bytes);
        ht_record_destroy (&record);
    }
}

typedef struct {
    size_t total;
    size_t from [2];
    const char *names [2];
} s_qcount_t;

static int
s_count_sources (void *arg, int code, const char *reason, const char *origin,
                 uint64_t when_ms, const uint8_t *data, size_t size)
{
    (void) code; (void) reason; (void) when_ms; (void) data; (void) size;
    s_qcount_t *count = (s_qcount_t *) arg;
    count->total++;
    for (int i = 0; i < 2; i++)
        if (strcmp (origin, count->names [i]) == 0)
            count->from [i]++;
    return 0;
}

START_TEST (quarantine_keeps_each_source_within_its_bound_and_drops_its_oldest)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ht_store_set_quarantine_limits (env.store, 10, HT_STORE_QUARANTINE_BYTES);
    s_junk (&env, 3, "client:victim");
    s_junk (&env, 25, "client:flooder");
    s_qcount_t count = { 0, { 0, 0 }, { "client:victim", "client:flooder" } };
    ck_assert_int_eq (ht_store_quarantine (env.store, s_count_sources, &count), 13);
    ck_assert_uint_eq (count.from [0], 3);
    ck_assert_uint_eq (count.from [1], 10);
    ck_assert_uint_eq (ht_store_counter (env.store, "quarantine_dropped"), 15);
    //  A byte bound holds too: room for about two entries
    ht_store_set_quarantine_limits (env.store, 1000, 1200);
    s_junk (&env, 5, "client:bytes");
    count = (s_qcount_t) { 0, { 0, 0 }, { "client:bytes", "" } };
    ht_store_quarantine (env.store, s_count_sources, &count);
    ck_assert_uint_ge (count.from [0], 1);
    ck_assert_uint_le (count.from [0], 2);
    //  Purge by reason empties what matched, and the counts follow
    ck_assert_int_eq (ht_store_quarantine_purge (env.store, HT_EBADSIG, 0), (int) count.total);
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 0);
    ht_store_set_quarantine_limits (env.store, 10, HT_STORE_QUARANTINE_BYTES);
    s_junk (&env, 10, "client:flooder");
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 10);
    ck_assert_int_eq (ht_store_quarantine_purge (env.store, HT_EREVOKED, 0), 0);
    ck_assert_int_eq (ht_store_quarantine_purge (env.store, 1, 1), 0);
    ck_assert_int_eq (ht_store_quarantine_purge (env.store, 1, 0), 10);
    s_env_destroy (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Retrying quarantine

//  A retry takes at most so many entries; the next one goes on after
//  them, round to the first again, so entries that keep failing at the
//  front never keep the others from being tried
START_TEST (entries_that_keep_failing_do_not_keep_those_after_them_from_a_retry)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ht_keypair_t *never = ht_fixture_key (0x67, "never");
    ht_keypair_t *later = ht_fixture_key (0x68, "later");
    //  From the county: two records by a key never certified, then one
    //  by a key whose certificate comes later
    for (int serial = 30; serial < 32; serial++) {
        ht_record_t *stuck = ht_fixture_elder_in (env.fixture, never, S_COMMUNITY_C,
                                                  S_COMMUNITY_C, serial, "甲",
                                                  ht_fixture_hlc (5, 0));
        ck_assert_int_eq (s_apply_from (&env, stuck, HT_FIXTURE_COUNTY), HT_ENOCERT);
        ht_record_destroy (&stuck);
    }
    ht_record_t *elder = ht_fixture_elder_in (env.fixture, later, S_COMMUNITY_C, S_COMMUNITY_C,
                                              32, "乙", ht_fixture_hlc (5, 0));
    ck_assert_int_eq (s_apply_from (&env, elder, HT_FIXTURE_COUNTY), HT_ENOCERT);
    ht_record_t *cert = s_cert (s_key (&env, HT_FIXTURE_TOWNSHIP_KEY), ht_keypair_public (later),
                                ht_keypair_public (later), S_COMMUNITY_C, "elder",
                                ht_fixture_hlc (1, 0), false);
    ck_assert_int_eq (s_apply_take (&env, &cert), HT_OK);
    //  One entry a retry: the first two fail, then the third is admitted
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 1), 0);
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 1), 0);
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 1), 1);
    int error = 0;
    ht_record_t *stored = ht_store_get (env.store, "elder", ht_record_key (elder), &error);
    ck_assert_ptr_nonnull (stored);
    ht_record_destroy (&stored);
    //  And round again: the two left are tried, nothing else is lost
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 1), 0);
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 0), 0);
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 2);
    ht_record_destroy (&elder);
    ht_keypair_destroy (&never);
    ht_keypair_destroy (&later);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_record_waiting_for_its_certificate_is_admitted_once_the_certificate_arrives)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_TOWNSHIP);
    ht_keypair_t *fresh = ht_fixture_key (0x66, "fresh");
    //  From the county: an elder by a key whose certificate has not come yet
    ht_record_t *elder = ht_fixture_elder_in (env.fixture, fresh, S_COMMUNITY_C, S_COMMUNITY_C,
                                              20, "丙", ht_fixture_hlc (5, 0));
    ck_assert_int_eq (s_apply_from (&env, elder, HT_FIXTURE_COUNTY), HT_ENOCERT);
    //  The same from a local writer is not retried: its writer was told
    ht_record_t *local = ht_fixture_elder_in (env.fixture, fresh, S_COMMUNITY_C, S_COMMUNITY_C,
                                              21, "丁", ht_fixture_hlc (5, 0));
    ck_assert_int_eq (s_apply (&env, local), HT_ENOCERT);
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 2);
    //  Retrying before the certificate changes nothing, and adds nothing
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 0), 0);
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 2);
    ht_record_t *cert = s_cert (s_key (&env, HT_FIXTURE_TOWNSHIP_KEY), ht_keypair_public (fresh),
                                ht_keypair_public (fresh), S_COMMUNITY_C, "elder",
                                ht_fixture_hlc (1, 0), false);
    ck_assert_int_eq (s_apply_take (&env, &cert), HT_OK);
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 0), 1);
    int error = 0;
    ht_record_t *stored = ht_store_get (env.store, "elder", ht_record_key (elder), &error);
    ck_assert_ptr_nonnull (stored);
    ht_record_destroy (&stored);
    stored = ht_store_get (env.store, "elder", ht_record_key (local), &error);
    ck_assert_ptr_null (stored);
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 1);
    //  The retried record came from the county: it is not echoed back there
    s_changes_t to_county = { zlistx_new () }, to_all = { zlistx_new () };
    zlistx_set_destructor (to_county.chunks, (zlistx_destructor_fn *) zchunk_destroy);
    zlistx_set_destructor (to_all.chunks, (zlistx_destructor_fn *) zchunk_destroy);
    ck_assert_int_ge (ht_store_changes_for (env.store, 0, 0, HT_FIXTURE_COUNTY, HT_FIXTURE_COUNTY,
                                            0, s_collect_change, &to_county, NULL), 0);
    ck_assert_int_ge (ht_store_changes_for (env.store, 0, 0, HT_FIXTURE_COUNTY, NULL, 0,
                                            s_collect_change, &to_all, NULL), 0);
    ck_assert_uint_eq (zlistx_size (to_county.chunks) + 1, zlistx_size (to_all.chunks));
    zlistx_destroy (&to_county.chunks);
    zlistx_destroy (&to_all.chunks);
    ht_record_destroy (&elder);
    ht_record_destroy (&local);
    ht_keypair_destroy (&fresh);
    s_env_destroy (&env);
}
END_TEST

//  A facility in community A, kept by the township, of a kind from some
//  registry at a schema version, signed by the township
static ht_record_t *
s_facility (s_env_t *env, const ht_kind_t *kind, uint16_t version, const char *serial)
{
    ht_record_t *record = ht_record_new_of (kind);
    ck_assert_int_eq (ht_record_set_schema_version (record, version), 0);
    ck_assert_int_eq (ht_record_set_str (record, "name", "凤城街道日间照料中心"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "community_station"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "status", "open"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "serial", serial), 0);
    ck_assert_int_eq (ht_record_set_int (record, "beds_total", 20), 0);
    if (version >= 2)
        ck_assert_int_eq (ht_record_set_bool (record, HT_NEXT_RELEASE_FIELD, true), 0);
    ck_assert_int_eq (ht_record_set_region (record, HT_FIXTURE_COMMUNITY_A), 0);
    ck_assert_int_eq (ht_record_set_scope (record, HT_FIXTURE_TOWNSHIP), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ht_record_set_hlc (record, ht_fixture_hlc (3, 0));
    ck_assert_int_eq (ht_record_sign (record, s_key (env, HT_FIXTURE_TOWNSHIP_KEY)), 0);
    return record;
}

//  Apply a record's encoding as received from peer; its result
static int
s_apply_bytes_from (s_env_t *env, const ht_record_t *record, const char *peer)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &bytes, &size), 0);
    const uint8_t *data [1] = { bytes };
    uint8_t epoch [HT_EPOCH_BYTES] = { 3 };
    ht_origin_t origin = { .peer = peer, .epoch = epoch, .cursor = 1 };
    int result = -999;
    ck_assert_int_eq (ht_store_apply_encoded (env->store, data, &size, 1, &origin, NULL,
                                              &result), 0);
    free (bytes);
    return result;
}

START_TEST (a_node_one_release_behind_quarantines_a_newer_record_and_applies_it_once_upgraded)
{
    s_env_t env;
    s_env_init (&env, HT_FIXTURE_COUNTY);
    const ht_registry_t *next = ht_next_release ();
    const ht_kind_t *facility_v2 = ht_schema_registry_kind (next, "facility");
    ht_record_t *old = s_facility (&env, ht_schema_kind ("facility"), 1, "8");
    ht_record_t *new = s_facility (&env, facility_v2, 2, "9");
    //  This release: the old record is stored, the new one waits
    ck_assert_int_eq (s_apply_bytes_from (&env, old, HT_FIXTURE_TOWNSHIP), HT_OK);
    ck_assert_int_eq (s_apply_bytes_from (&env, new, HT_FIXTURE_TOWNSHIP), HT_ESCHEMAVERSION);
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 0), 0);
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 1);
    //  The upgrade: the node now knows version 2, and the retry applies it
    ht_store_set_registry (env.store, next);
    ck_assert_int_eq (ht_store_quarantine_retry (env.store, 0), 1);
    ck_assert_int_eq (ht_store_quarantine (env.store, NULL, NULL), 0);
    int error = 0;
    ht_record_t *stored = ht_store_get (env.store, "facility", ht_record_key (new), &error);
    ck_assert_ptr_nonnull (stored);
    bool flag = false;
    ck_assert (ht_record_get_bool (stored, HT_NEXT_RELEASE_FIELD, &flag) && flag);
    ht_record_destroy (&stored);
    //  and the old version's record still verifies under the new tables
    stored = ht_store_get (env.store, "facility", ht_record_key (old), &error);
    ck_assert_ptr_nonnull (stored);
    const char *reason = NULL;
    ck_assert_msg (ht_record_verify (stored, &reason) == HT_OK, "%s", reason);
    ht_record_destroy (&stored);
    ht_store_set_registry (env.store, NULL);
    ht_record_destroy (&old);
    ht_record_destroy (&new);
    s_env_destroy (&env);
}
END_TEST

static Suite *
gate_suite (void)
{
    Suite *suite = suite_create ("ht_gate");
    TCase *certs = tcase_create ("certificates");
    tcase_add_test (certs, a_cert_keyed_by_one_key_but_naming_another_is_refused);
    tcase_add_test (certs, a_community_cannot_take_over_its_county_cert_and_the_county_keeps_working);
    tcase_add_test (certs, only_the_anchor_certifies_the_anchor);
    tcase_add_test (certs, only_the_pinned_parent_keys_own_issuer_names_its_successor);
    tcase_add_test (certs, a_rotated_issuers_successor_renews_its_certificates_and_nobody_else_does);
    tcase_add_test (certs, the_issuer_renews_and_tombstones_its_cert_and_nobody_else_does);
    tcase_add_test (certs, a_cert_tombstone_with_nothing_to_delete_squats_nothing);
    suite_add_tcase (suite, certs);
    TCase *revocations = tcase_create ("revocations");
    tcase_add_test (revocations, a_community_cannot_revoke_a_sibling_its_county_or_the_root);
    tcase_add_test (revocations, an_issuer_above_the_revoked_key_may_revoke_it_in_its_region_only);
    tcase_add_test (revocations, a_revocation_is_final_but_may_move_earlier);
    suite_add_tcase (suite, revocations);
    TCase *ownership = tcase_create ("ownership");
    tcase_set_timeout (ownership, 120);
    tcase_add_test (ownership, a_community_cannot_overwrite_or_tombstone_its_neighbours_elder);
    tcase_add_test (ownership, an_identical_write_is_passed_over_only_for_a_key_that_could_make_it);
    tcase_add_test (ownership, every_arrival_order_gives_the_same_current_version_and_conflicts);
    tcase_add_test (ownership, a_late_earlier_version_is_judged_again_with_those_after_it);
    tcase_add_test (ownership, a_move_in_history_stays_in_the_change_log_so_every_holder_judges_alike);
    suite_add_tcase (suite, ownership);
    TCase *clock = tcase_create ("freshness");
    tcase_add_test (clock, a_local_write_must_be_fresh_and_a_replicated_one_need_not);
    tcase_add_test (clock, a_revoked_key_cannot_back_date_its_way_in_through_an_honest_node);
    tcase_add_test (clock, a_node_ahead_of_its_parent_refuses_writes_dated_by_its_own_clock);
    tcase_add_test (clock, another_writer_believes_the_kept_lead_while_its_clock_has_not_gone_back);
    suite_add_tcase (suite, clock);
    TCase *keys = tcase_create ("keys");
    tcase_add_test (keys, sockets_admit_only_fitting_valid_unrevoked_keys);
    suite_add_tcase (suite, keys);
    TCase *bounds = tcase_create ("bounds");
    tcase_add_test (bounds, quarantine_keeps_each_source_within_its_bound_and_drops_its_oldest);
    tcase_add_test (bounds, a_record_waiting_for_its_certificate_is_admitted_once_the_certificate_arrives);
    tcase_add_test (bounds, entries_that_keep_failing_do_not_keep_those_after_them_from_a_retry);
    tcase_add_test (bounds, a_node_one_release_behind_quarantines_a_newer_record_and_applies_it_once_upgraded);
    suite_add_tcase (suite, bounds);
    return suite;
}

HT_TEST_MAIN (gate_suite)
