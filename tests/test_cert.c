//  test_cert: certificates and revocations as records, and the
//  authorization rule — a chain from the city root (441800000000) to a
//  county (441802), a township (441802001) and a community (441802001001),
//  held by an in-memory certificate source.
#include "ht_cert.h"
#include "ht_keys.h"
#include "ht_hlc.h"
#include "ht_test.h"
#include "ht_fixture.h"

#include <sodium.h>
#include <string.h>

#define S_2019_JUN_MS 1559347200000ULL
#define S_2020_MS 1577836800000ULL
#define S_2024_MS 1704067200000ULL
#define S_2025_MS 1735689600000ULL
#define S_2025_JUN_MS 1748736000000ULL
#define S_2026_MS 1767225600000ULL
#define S_2030_MS 1893456000000ULL
#define S_2031_MS 1924992000000ULL

#define S_CITY "441800000000"
#define S_COUNTY "441802000000"
#define S_OTHER_COUNTY "441803000000"
#define S_TOWNSHIP "441802001000"
#define S_OTHER_TOWNSHIP "441802002000"
#define S_COMMUNITY "441802001001"
#define S_OTHER_COMMUNITY "441802001002"
#define S_ALL_KINDS "elder facility credit cert revocation"

#define S_MAX_RECORDS 32

//  --------------------------------------------------------------------------
//  An in-memory certificate source over cert and revocation records

typedef struct {
    ht_record_t *records [S_MAX_RECORDS];   //  verified certs and revocations
    size_t count;                           //  records held
} s_source_t;

static int
s_source_cert (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES],
               ht_cert_t *cert, uint8_t issuer [HT_PUBKEY_BYTES])
{
    s_source_t *self = (s_source_t *) ctx;
    for (size_t index = 0; index < self->count; index++) {
        ht_cert_t parsed;
        if (strcmp (ht_record_kind (self->records [index]), "cert") == 0
        &&  ht_cert_parse (self->records [index], &parsed) == 0
        &&  memcmp (parsed.pubkey, pubkey, HT_PUBKEY_BYTES) == 0) {
            *cert = parsed;
            memcpy (issuer, ht_record_author (self->records [index]), HT_PUBKEY_BYTES);
            return HT_OK;
        }
    }
    return HT_ENOTFOUND;
}

static int
s_source_revocation (void *ctx, const uint8_t pubkey [HT_PUBKEY_BYTES], uint64_t *revoked_at)
{
    s_source_t *self = (s_source_t *) ctx;
    int rc = HT_ENOTFOUND;
    for (size_t index = 0; index < self->count; index++) {
        uint8_t revoked [HT_PUBKEY_BYTES];
        uint64_t at = 0;
        if (strcmp (ht_record_kind (self->records [index]), "revocation") == 0
        &&  ht_revocation_parse (self->records [index], revoked, &at) == 0
        &&  memcmp (revoked, pubkey, HT_PUBKEY_BYTES) == 0
        &&  (rc != HT_OK || at < *revoked_at)) {
            *revoked_at = at;               //  the earliest revocation counts
            rc = HT_OK;
        }
    }
    return rc;
}

//  Take a verified record into the source
static void
s_source_add (s_source_t *self, ht_record_t **record_p)
{
    ck_assert_ptr_nonnull (*record_p);
    ck_assert_int_eq (ht_record_verify (*record_p, NULL), 0);
    ck_assert_uint_lt (self->count, S_MAX_RECORDS);
    self->records [self->count++] = *record_p;
    *record_p = NULL;
}

//  --------------------------------------------------------------------------
//  The world: four tiers of node keys, each certified by the one above

typedef struct {
    ht_keypair_t *root;             //  city, the trust anchor
    ht_keypair_t *county;           //  441802
    ht_keypair_t *township;         //  441802001
    ht_keypair_t *community;        //  441802001001
    s_source_t source;              //  their certs (and later revocations)
    ht_certsource_t certsource;     //  the source as ht_cert sees it
} s_world_t;

static ht_keypair_t *
s_key (uint8_t fill)
{
    uint8_t seed [32];
    memset (seed, fill, sizeof seed);
    ht_keypair_t *key = ht_keypair_from_seed (seed, "test");
    ck_assert_ptr_nonnull (key);
    return key;
}

//  A certificate spec: kinds is a space-separated list
static ht_cert_t
s_spec (const char *name, const char *region, const ht_keypair_t *subject,
        const char *kinds, ht_role_t role, uint64_t not_before, uint64_t not_after)
{
    ht_cert_t spec;
    memset (&spec, 0, sizeof spec);
    snprintf (spec.name, sizeof spec.name, "%s", name);
    snprintf (spec.region, sizeof spec.region, "%s", region);
    spec.role = role;
    if (role == HT_ROLE_DEPARTMENT)
        snprintf (spec.department, sizeof spec.department, "civil_affairs");
    const char *cursor = kinds;
    while (*cursor) {
        size_t length = strcspn (cursor, " ");
        ck_assert_uint_lt (spec.kind_count, HT_CERT_MAX_KINDS);
        snprintf (spec.kinds [spec.kind_count++], HT_KIND_MAX_CHARS + 1, "%.*s",
                  (int) length, cursor);
        cursor += length;
        cursor += strspn (cursor, " ");
    }
    spec.not_before_ms = not_before;
    spec.not_after_ms = not_after;
    memcpy (spec.pubkey, ht_keypair_public (subject), HT_PUBKEY_BYTES);
    return spec;
}

//  Issue a node cert valid 2020..2030, signed at 2024-01-01
static ht_record_t *
s_issue (const ht_keypair_t *issuer, const ht_keypair_t *subject, const char *region,
         const char *kinds, ht_role_t role)
{
    ht_cert_t spec = s_spec ("node", region, subject, kinds, role, S_2020_MS, S_2030_MS);
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_cert_issue (&spec, issuer, ht_hlc_make (S_2024_MS, 0),
                                        &error, &reason);
    ck_assert_msg (record != NULL, "issue failed: %d %s", error, reason);
    return record;
}

static void
s_world_init (s_world_t *world)
{
    ck_assert_int_ge (sodium_init (), 0);
    memset (world, 0, sizeof *world);
    world->root = s_key (0x01);
    world->county = s_key (0x02);
    world->township = s_key (0x03);
    world->community = s_key (0x04);
    world->certsource.cert = s_source_cert;
    world->certsource.revocation = s_source_revocation;
    world->certsource.ctx = &world->source;
    ht_record_t *record = s_issue (world->root, world->root, S_CITY, S_ALL_KINDS, HT_ROLE_NODE);
    s_source_add (&world->source, &record);
    record = s_issue (world->root, world->county, S_COUNTY, S_ALL_KINDS, HT_ROLE_NODE);
    s_source_add (&world->source, &record);
    record = s_issue (world->county, world->township, S_TOWNSHIP, S_ALL_KINDS, HT_ROLE_NODE);
    s_source_add (&world->source, &record);
    record = s_issue (world->township, world->community, S_COMMUNITY, S_ALL_KINDS, HT_ROLE_NODE);
    s_source_add (&world->source, &record);
}

static void
s_world_destroy (s_world_t *world)
{
    for (size_t index = 0; index < world->source.count; index++)
        ht_record_destroy (&world->source.records [index]);
    ht_keypair_destroy (&world->root);
    ht_keypair_destroy (&world->county);
    ht_keypair_destroy (&world->township);
    ht_keypair_destroy (&world->community);
}

//  Revoke subject's key from revoked_at, issued by issuer, into the world
static void
s_revoke (s_world_t *world, const ht_keypair_t *issuer, const ht_keypair_t *subject,
          const char *region, uint64_t revoked_at)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_revocation_issue (ht_keypair_public (subject), region, revoked_at,
                                               "key lost", issuer,
                                               ht_hlc_make (revoked_at, 0), &error, &reason);
    ck_assert_msg (record != NULL, "revocation failed: %d %s", error, reason);
    s_source_add (&world->source, &record);
}

//  An elder of region with scope, signed by author at ms
static ht_record_t *
s_elder (const ht_keypair_t *author, const char *region, const char *scope, uint64_t ms)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    memset (idkey, 0x5a, sizeof idkey);
    ht_record_t *record = ht_fixture_elder_draft ("441802194005120317", "张三", region, scope,
                                                  idkey, ht_hlc_make (ms, 0));
    ck_assert_int_eq (ht_record_sign (record, author), 0);
    ck_assert_int_eq (ht_record_validate (record, NULL), 0);
    return record;
}

//  Authorize a record against the world's root; returns the code and
//  checks a reason comes with every refusal
static int
s_authorize (const s_world_t *world, const ht_record_t *record)
{
    const char *reason = NULL;
    int rc = ht_cert_authorize (record, ht_keypair_public (world->root),
                                &world->certsource, &reason);
    if (rc)
        ck_assert_ptr_nonnull (reason);
    return rc;
}

//  Authorize a freshly built elder, then destroy it
static int
s_authorize_elder (const s_world_t *world, const ht_keypair_t *author,
                   const char *region, const char *scope, uint64_t ms)
{
    ht_record_t *record = s_elder (author, region, scope, ms);
    int rc = s_authorize (world, record);
    ht_record_destroy (&record);
    return rc;
}

//  --------------------------------------------------------------------------
//  The chain

START_TEST (the_root_certificate_authorizes_itself)
{
    s_world_t world;
    s_world_init (&world);
    //  The first record in the source is the root's self-signed cert
    ht_record_t *root_cert = world.source.records [0];
    ck_assert_mem_eq (ht_record_author (root_cert), ht_keypair_public (world.root), 32);
    ck_assert_int_eq (s_authorize (&world, root_cert), 0);
    //  Even from an empty source: the anchor needs nobody
    s_source_t empty = { { NULL }, 0 };
    ht_certsource_t source = { s_source_cert, s_source_revocation, &empty };
    ck_assert_int_eq (ht_cert_authorize (root_cert, ht_keypair_public (world.root),
                                         &source, NULL), 0);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_self_signed_root_outside_its_window_is_expired)
{
    s_world_t world;
    s_world_init (&world);
    ht_cert_t spec = s_spec ("清远市", S_CITY, world.root, S_ALL_KINDS, HT_ROLE_NODE,
                             S_2020_MS, S_2030_MS);
    ht_record_t *late = ht_cert_issue (&spec, world.root, ht_hlc_make (S_2031_MS, 0), NULL, NULL);
    ck_assert_ptr_nonnull (late);
    ck_assert_int_eq (s_authorize (&world, late), HT_EEXPIRED);
    ht_record_destroy (&late);
    s_world_destroy (&world);
}
END_TEST

START_TEST (every_certificate_of_the_chain_is_authorized)
{
    s_world_t world;
    s_world_init (&world);
    for (size_t index = 0; index < world.source.count; index++)
        ck_assert_msg (s_authorize (&world, world.source.records [index]) == 0,
                       "cert %zu refused", index);
    s_world_destroy (&world);
}
END_TEST

START_TEST (only_the_configured_anchor_is_trusted)
{
    s_world_t world;
    s_world_init (&world);
    ht_record_t *record = s_elder (world.community, S_COMMUNITY, S_COMMUNITY, S_2026_MS);
    ck_assert_int_eq (ht_cert_authorize (record, ht_keypair_public (world.county),
                                         &world.certsource, NULL), HT_ECHAIN);
    ck_assert_int_eq (ht_cert_authorize (world.source.records [0], ht_keypair_public (world.county),
                                         &world.certsource, NULL), HT_ECHAIN);
    ht_record_destroy (&record);
    s_world_destroy (&world);
}
END_TEST

//  --------------------------------------------------------------------------
//  Jurisdiction

START_TEST (a_community_may_write_its_own_elders)
{
    s_world_t world;
    s_world_init (&world);
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_COMMUNITY, S_2026_MS), 0);
    s_world_destroy (&world);
}
END_TEST

START_TEST (an_ancestor_may_write_below_it_and_share_up_to_its_own_level)
{
    s_world_t world;
    s_world_init (&world);
    ck_assert_int_eq (s_authorize_elder (&world, world.township, S_COMMUNITY, S_TOWNSHIP, S_2026_MS), 0);
    ck_assert_int_eq (s_authorize_elder (&world, world.township, S_COMMUNITY, S_COMMUNITY, S_2026_MS), 0);
    ck_assert_int_eq (s_authorize_elder (&world, world.county, S_OTHER_COMMUNITY, S_COUNTY, S_2026_MS), 0);
    ck_assert_int_eq (s_authorize_elder (&world, world.root, S_COMMUNITY, S_CITY, S_2026_MS), 0);
    //  but not above it
    ck_assert_int_eq (s_authorize_elder (&world, world.township, S_COMMUNITY, S_COUNTY, S_2026_MS),
                      HT_ESCOPE);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_community_writing_another_community_is_out_of_scope)
{
    s_world_t world;
    s_world_init (&world);
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_OTHER_COMMUNITY,
                                         S_OTHER_COMMUNITY, S_2026_MS), HT_ESCOPE);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_scope_wider_than_the_authors_jurisdiction_is_out_of_scope)
{
    s_world_t world;
    s_world_init (&world);
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_TOWNSHIP, S_2026_MS),
                      HT_ESCOPE);
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_CITY, S_2026_MS),
                      HT_ESCOPE);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_scope_below_the_region_is_out_of_scope)
{
    //  Authorization checks scope ⊑ region itself, not only validation
    s_world_t world;
    s_world_init (&world);
    ht_record_t *record = ht_record_new ("elder");
    ck_assert_int_eq (ht_record_set_key (record, "k"), 0);
    ck_assert_int_eq (ht_record_set_region (record, S_TOWNSHIP), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_COMMUNITY), 0);
    ht_record_set_hlc (record, ht_hlc_make (S_2026_MS, 0));
    ck_assert_int_eq (ht_record_sign (record, world.township), 0);
    ck_assert_int_eq (s_authorize (&world, record), HT_ESCOPE);
    ht_record_destroy (&record);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_county_cannot_certify_a_key_for_another_county)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *stranger = s_key (0x20);
    ht_record_t *cert = s_issue (world.county, stranger, S_OTHER_COUNTY, "elder", HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, cert), HT_ESCOPE);
    ht_record_destroy (&cert);
    //  Nor a township certify a sibling township's community
    cert = s_issue (world.township, stranger, "441802002001", "elder", HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, cert), HT_ESCOPE);
    //  Even once such a cert is in a source, its holder gets nowhere
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize_elder (&world, stranger, "441802002001", "441802002001", S_2026_MS),
                      HT_ESCOPE);
    ht_keypair_destroy (&stranger);
    s_world_destroy (&world);
}
END_TEST

//  --------------------------------------------------------------------------
//  Kinds

START_TEST (a_kind_the_certificate_does_not_permit_is_refused)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *department = s_key (0x21);
    ht_record_t *cert = s_issue (world.community, department, S_COMMUNITY, "elder",
                                 HT_ROLE_DEPARTMENT);
    ck_assert_int_eq (s_authorize (&world, cert), 0);
    s_source_add (&world.source, &cert);

    //  Five links: department, community, township, county, root
    ck_assert_int_eq (s_authorize_elder (&world, department, S_COMMUNITY, S_COMMUNITY, S_2026_MS), 0);

    ht_record_t *facility = ht_record_new ("facility");
    ck_assert_int_eq (ht_record_set_str (facility, "name", "颐康"), 0);
    ck_assert_int_eq (ht_record_set_str (facility, "type", "institution"), 0);
    ck_assert_int_eq (ht_record_set_str (facility, "status", "open"), 0);
    ck_assert_int_eq (ht_record_set_str (facility, "uscc", "52441802MJ0001002K"), 0);
    ck_assert_int_eq (ht_record_derive_key (facility, NULL), 0);
    ck_assert_int_eq (ht_record_set_region (facility, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_scope (facility, S_COMMUNITY), 0);
    ht_record_set_hlc (facility, ht_hlc_make (S_2026_MS, 0));
    ck_assert_int_eq (ht_record_sign (facility, department), 0);
    ck_assert_int_eq (ht_record_validate (facility, NULL), 0);
    ck_assert_int_eq (s_authorize (&world, facility), HT_EKINDPERM);
    //  The community itself may
    ck_assert_int_eq (ht_record_sign (facility, world.community), 0);
    ck_assert_int_eq (s_authorize (&world, facility), 0);
    ht_record_destroy (&facility);
    ht_keypair_destroy (&department);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_key_certified_by_one_issuer_cannot_be_taken_over_by_another)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *neighbour = s_key (0x25);
    ht_record_t *cert = s_issue (world.county, neighbour, S_OTHER_TOWNSHIP, "elder cert",
                                 HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, cert), 0);
    s_source_add (&world.source, &cert);
    //  The township re-certifies its neighbour's key for its own region
    ht_record_t *grab = s_issue (world.township, neighbour, "441802001000", "elder",
                                 HT_ROLE_NODE);
    //  The chain rule alone admits it (the township may certify in its
    //  region); the ownership rule refuses it as a successor of the
    //  county's certificate (test_gate)
    ck_assert_int_eq (s_authorize (&world, grab), HT_OK);
    ht_record_destroy (&grab);
    //  The same issuer may renew it
    ht_record_t *renewal = s_issue (world.county, neighbour, S_OTHER_TOWNSHIP, "elder",
                                    HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, renewal), 0);
    ht_record_destroy (&renewal);
    //  Nobody but the anchor certifies the anchor
    ht_record_t *root_grab = s_issue (world.county, world.root, "441802000000", "elder",
                                      HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, root_grab), HT_ENOTISSUER);
    ht_record_destroy (&root_grab);
    ht_keypair_destroy (&neighbour);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_certificate_granting_a_kind_its_issuer_lacks_is_refused)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *narrow = s_key (0x22);
    ht_keypair_t *below = s_key (0x23);
    ht_record_t *cert = s_issue (world.county, narrow, S_OTHER_TOWNSHIP, "elder cert",
                                 HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, cert), 0);
    s_source_add (&world.source, &cert);

    cert = s_issue (narrow, below, "441802002001", "elder facility", HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, cert), HT_EKINDPERM);
    ht_record_destroy (&cert);
    cert = s_issue (narrow, below, "441802002001", "elder", HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, cert), 0);
    ht_record_destroy (&cert);
    //  And a key without "cert" cannot certify at all
    ht_keypair_t *clerk = s_key (0x24);
    ht_record_t *department_cert = s_issue (world.community, clerk, S_COMMUNITY, "elder",
                                            HT_ROLE_DEPARTMENT);
    ck_assert_int_eq (s_authorize (&world, department_cert), 0);
    ht_record_destroy (&department_cert);
    ht_keypair_destroy (&clerk);
    ht_keypair_destroy (&narrow);
    ht_keypair_destroy (&below);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_certificate_from_an_issuer_without_cert_kind_is_refused)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *department = s_key (0x24);
    ht_keypair_t *victim = s_key (0x25);
    ht_record_t *cert = s_issue (world.community, department, S_COMMUNITY, "elder",
                                 HT_ROLE_DEPARTMENT);
    s_source_add (&world.source, &cert);
    cert = s_issue (department, victim, S_COMMUNITY, "elder", HT_ROLE_PARTNER);
    ck_assert_int_eq (s_authorize (&world, cert), HT_EKINDPERM);
    ht_record_destroy (&cert);
    ht_keypair_destroy (&department);
    ht_keypair_destroy (&victim);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_department_certificate_granting_cert_fails_validation)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *department = s_key (0x26);
    const char *grants [] = { "elder cert", "revocation", "cert", "elder audit" };
    for (size_t index = 0; index < 4; index++) {
        ht_cert_t spec = s_spec ("民政科", S_COMMUNITY, department, grants [index],
                                 HT_ROLE_DEPARTMENT, S_2020_MS, S_2030_MS);
        int error = 0;
        const char *reason = NULL;
        ht_record_t *cert = ht_cert_issue (&spec, world.community, ht_hlc_make (S_2024_MS, 0),
                                          &error, &reason);
        ck_assert_ptr_null (cert);
        ck_assert_int_eq (error, HT_ESCHEMA);
        ck_assert_ptr_nonnull (reason);
        ck_assert_ptr_nonnull (strstr (reason, "only node certificates"));
        //  A partner likewise
        spec.role = HT_ROLE_PARTNER;
        cert = ht_cert_issue (&spec, world.community, ht_hlc_make (S_2024_MS, 0), &error, &reason);
        ck_assert_ptr_null (cert);
        ck_assert_int_eq (error, HT_ESCHEMA);
    }
    //  Built by hand, the record fails ht_record_validate
    ht_record_t *record = ht_record_new ("cert");
    const char *kinds [] = { "elder", "cert" };
    ck_assert_int_eq (ht_record_set_str (record, "name", "民政科"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "role", "department"), 0);
    ck_assert_int_eq (ht_record_set_strs (record, "kinds", kinds, 2), 0);
    ck_assert_int_eq (ht_record_set_int (record, "not_before", (int64_t) S_2020_MS), 0);
    ck_assert_int_eq (ht_record_set_int (record, "not_after", (int64_t) S_2030_MS), 0);
    ck_assert_int_eq (ht_record_set_bin (record, "pubkey", ht_keypair_public (department), 32), 0);
    ck_assert_int_eq (ht_record_derive_key (record, NULL), 0);
    ck_assert_int_eq (ht_record_set_region (record, S_COMMUNITY), 0);
    ck_assert_int_eq (ht_record_set_scope (record, S_COMMUNITY), 0);
    const char *reason = NULL;
    ck_assert_int_eq (ht_record_validate (record, &reason), HT_ESCHEMA);
    //  As a node it is fine
    ck_assert_int_eq (ht_record_set_str (record, "role", "node"), 0);
    ck_assert_msg (ht_record_validate (record, &reason) == 0, "%s", reason);
    ht_record_destroy (&record);
    ht_keypair_destroy (&department);
    s_world_destroy (&world);
}
END_TEST

START_TEST (an_operator_certificate_authors_nothing)
{
    s_world_t world;
    s_world_init (&world);
    //  An operator of the community, even one granted elders, signs
    //  nothing a store accepts: operators read status and audits only
    ht_keypair_t *operator = s_key (0x27);
    ht_record_t *cert = s_issue (world.community, operator, S_COMMUNITY, "elder",
                                 HT_ROLE_OPERATOR);
    ck_assert_int_eq (s_authorize (&world, cert), 0);
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize_elder (&world, operator, S_COMMUNITY, S_COMMUNITY, S_2026_MS),
                      HT_EKINDPERM);
    //  The same grant to a department authorizes the elder
    ht_keypair_t *department = s_key (0x28);
    cert = s_issue (world.community, department, S_COMMUNITY, "elder", HT_ROLE_DEPARTMENT);
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize_elder (&world, department, S_COMMUNITY, S_COMMUNITY,
                                         S_2026_MS), 0);
    ht_keypair_destroy (&operator);
    ht_keypair_destroy (&department);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_certificate_spec_that_cannot_be_a_record_is_refused)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *subject = s_key (0x27);
    ht_cert_t spec = s_spec ("x", "4418", subject, "elder", HT_ROLE_NODE, S_2020_MS, S_2030_MS);
    int error = 0;
    const char *reason = NULL;
    ck_assert_ptr_null (ht_cert_issue (&spec, world.community, 1, &error, &reason));
    ck_assert_int_eq (error, HT_EINVAL);
    ck_assert_ptr_nonnull (reason);
    //  An unknown kind, or a window that ends before it starts
    spec = s_spec ("x", S_COMMUNITY, subject, "elder dragons", HT_ROLE_NODE, S_2020_MS, S_2030_MS);
    ck_assert_ptr_null (ht_cert_issue (&spec, world.community, 1, &error, &reason));
    ck_assert_int_eq (error, HT_ESCHEMA);
    spec = s_spec ("x", S_COMMUNITY, subject, "elder", HT_ROLE_NODE, S_2030_MS, S_2020_MS);
    ck_assert_ptr_null (ht_cert_issue (&spec, world.community, 1, &error, &reason));
    ck_assert_int_eq (error, HT_ESCHEMA);
    //  A certificate granting nothing (kinds needs one item)
    spec = s_spec ("x", S_COMMUNITY, subject, "", HT_ROLE_NODE, S_2020_MS, S_2030_MS);
    ck_assert_ptr_null (ht_cert_issue (&spec, world.community, 1, &error, &reason));
    ck_assert_int_eq (error, HT_ESCHEMA);
    ht_keypair_destroy (&subject);
    s_world_destroy (&world);
}
END_TEST

//  --------------------------------------------------------------------------
//  Time: validity windows and revocations

START_TEST (an_expired_certificate_is_refused)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *short_lived = s_key (0x28);
    ht_cert_t spec = s_spec ("short", "441802001003", short_lived, "elder", HT_ROLE_NODE,
                             S_2020_MS, S_2025_JUN_MS);
    ht_record_t *cert = ht_cert_issue (&spec, world.township, ht_hlc_make (S_2024_MS, 0), NULL, NULL);
    ck_assert_ptr_nonnull (cert);
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize_elder (&world, short_lived, "441802001003", "441802001003",
                                         S_2026_MS), HT_EEXPIRED);
    ck_assert_int_eq (s_authorize_elder (&world, short_lived, "441802001003", "441802001003",
                                         S_2025_MS), 0);
    ck_assert_int_eq (s_authorize_elder (&world, short_lived, "441802001003", "441802001003",
                                         S_2025_JUN_MS), 0);
    ck_assert_int_eq (s_authorize_elder (&world, short_lived, "441802001003", "441802001003",
                                         S_2025_JUN_MS + 1), HT_EEXPIRED);
    //  And before the window opens
    ck_assert_int_eq (s_authorize_elder (&world, short_lived, "441802001003", "441802001003",
                                         S_2019_JUN_MS), HT_EEXPIRED);
    //  The whole chain must be valid then: nothing is before 2020
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_COMMUNITY,
                                         S_2019_JUN_MS), HT_EEXPIRED);
    ht_keypair_destroy (&short_lived);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_revoked_key_is_refused_after_its_revocation_only)
{
    s_world_t world;
    s_world_init (&world);
    s_revoke (&world, world.township, world.community, S_COMMUNITY, S_2025_JUN_MS);
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_COMMUNITY,
                                         S_2026_MS), HT_EREVOKED);
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_COMMUNITY,
                                         S_2025_MS), 0);
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_COMMUNITY,
                                         S_2025_JUN_MS), HT_EREVOKED);
    //  Others are unaffected
    ck_assert_int_eq (s_authorize_elder (&world, world.township, S_COMMUNITY, S_COMMUNITY,
                                         S_2026_MS), 0);
    s_world_destroy (&world);
}
END_TEST

START_TEST (revoking_the_township_revokes_everything_below_it_after_that_time)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *department = s_key (0x29);
    ht_record_t *cert = s_issue (world.community, department, S_COMMUNITY, "elder",
                                 HT_ROLE_DEPARTMENT);
    s_source_add (&world.source, &cert);
    s_revoke (&world, world.county, world.township, S_TOWNSHIP, S_2025_JUN_MS);

    ck_assert_int_eq (s_authorize_elder (&world, world.township, S_COMMUNITY, S_TOWNSHIP,
                                         S_2026_MS), HT_EREVOKED);
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_COMMUNITY,
                                         S_2026_MS), HT_EREVOKED);
    ck_assert_int_eq (s_authorize_elder (&world, department, S_COMMUNITY, S_COMMUNITY,
                                         S_2026_MS), HT_EREVOKED);
    //  Before the revocation everything stands
    ck_assert_int_eq (s_authorize_elder (&world, world.community, S_COMMUNITY, S_COMMUNITY,
                                         S_2025_MS), 0);
    ck_assert_int_eq (s_authorize_elder (&world, department, S_COMMUNITY, S_COMMUNITY,
                                         S_2025_MS), 0);
    //  The county above and its other townships are untouched
    ck_assert_int_eq (s_authorize_elder (&world, world.county, S_COMMUNITY, S_COUNTY,
                                         S_2026_MS), 0);
    ht_keypair_destroy (&department);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_revocation_record_is_authorized_like_any_other)
{
    s_world_t world;
    s_world_init (&world);
    ht_record_t *revocation = ht_revocation_issue (ht_keypair_public (world.community), S_COMMUNITY,
                                                   S_2025_JUN_MS, NULL, world.township,
                                                   ht_hlc_make (S_2025_JUN_MS, 0), NULL, NULL);
    ck_assert_ptr_nonnull (revocation);
    ck_assert_int_eq (s_authorize (&world, revocation), 0);
    ht_record_destroy (&revocation);
    //  A revocation of a key whose certificate is not held cannot be
    //  judged yet
    ht_keypair_t *neighbour = s_key (0x2a);
    revocation = ht_revocation_issue (ht_keypair_public (neighbour), S_OTHER_COMMUNITY,
                                      S_2025_JUN_MS, "", world.community,
                                      ht_hlc_make (S_2025_JUN_MS, 0), NULL, NULL);
    ck_assert_ptr_nonnull (revocation);
    ck_assert_int_eq (s_authorize (&world, revocation), HT_ENOCERT);
    //  A community cannot revoke its neighbour: it is not on its chain
    ht_record_t *cert = s_issue (world.township, neighbour, S_OTHER_COMMUNITY, "elder",
                                 HT_ROLE_NODE);
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize (&world, revocation), HT_ENOTCHAIN);
    ht_record_destroy (&revocation);
    ht_keypair_destroy (&neighbour);
    s_world_destroy (&world);
}
END_TEST

//  --------------------------------------------------------------------------
//  Broken chains

START_TEST (an_unknown_author_has_no_certificate)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *nobody = s_key (0x2b);
    ck_assert_int_eq (s_authorize_elder (&world, nobody, S_COMMUNITY, S_COMMUNITY, S_2026_MS),
                      HT_ENOCERT);
    ht_keypair_destroy (&nobody);
    s_world_destroy (&world);
}
END_TEST

START_TEST (an_issuer_without_a_certificate_breaks_the_chain)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *orphan_issuer = s_key (0x2c);
    ht_keypair_t *subject = s_key (0x2d);
    ht_record_t *cert = s_issue (orphan_issuer, subject, S_COMMUNITY, "elder", HT_ROLE_NODE);
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize_elder (&world, subject, S_COMMUNITY, S_COMMUNITY, S_2026_MS),
                      HT_ENOCERT);
    ht_keypair_destroy (&orphan_issuer);
    ht_keypair_destroy (&subject);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_chain_ending_in_a_self_signed_non_anchor_is_refused)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *rogue = s_key (0x2e);
    ht_keypair_t *puppet = s_key (0x2f);
    ht_record_t *cert = s_issue (rogue, rogue, S_CITY, S_ALL_KINDS, HT_ROLE_NODE);
    //  Unknown until its cert is held; then a self-signed stranger
    ck_assert_int_eq (s_authorize (&world, cert), HT_ENOCERT);
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize (&world, world.source.records [world.source.count - 1]),
                      HT_ECHAIN);
    cert = s_issue (rogue, puppet, S_COMMUNITY, "elder", HT_ROLE_NODE);
    ck_assert_int_eq (s_authorize (&world, cert), HT_ECHAIN);
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize_elder (&world, puppet, S_COMMUNITY, S_COMMUNITY, S_2026_MS),
                      HT_ECHAIN);
    ck_assert_int_eq (s_authorize_elder (&world, rogue, S_COMMUNITY, S_COMMUNITY, S_2026_MS),
                      HT_ECHAIN);
    ht_keypair_destroy (&rogue);
    ht_keypair_destroy (&puppet);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_certificate_cycle_ends_in_a_chain_error)
{
    //  Two keys certifying each other never reach the root: the walk must
    //  stop at its depth limit rather than loop
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *left = s_key (0x30);
    ht_keypair_t *right = s_key (0x31);
    ht_record_t *cert = s_issue (left, right, S_COMMUNITY, S_ALL_KINDS, HT_ROLE_NODE);
    s_source_add (&world.source, &cert);
    cert = s_issue (right, left, S_COMMUNITY, S_ALL_KINDS, HT_ROLE_NODE);
    s_source_add (&world.source, &cert);
    ck_assert_int_eq (s_authorize_elder (&world, left, S_COMMUNITY, S_COMMUNITY, S_2026_MS),
                      HT_ECHAIN);
    ht_keypair_destroy (&left);
    ht_keypair_destroy (&right);
    s_world_destroy (&world);
}
END_TEST

//  --------------------------------------------------------------------------
//  Parsing

START_TEST (a_cert_record_parses_back_to_its_spec)
{
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *subject = s_key (0x32);
    ht_cert_t spec = s_spec ("清城区民政局", S_COUNTY, subject, "elder credit",
                             HT_ROLE_DEPARTMENT, S_2020_MS, S_2030_MS);
    snprintf (spec.policy, sizeof spec.policy, "civil_affairs");
    ht_record_t *record = ht_cert_issue (&spec, world.county, ht_hlc_make (S_2024_MS, 5), NULL, NULL);
    ck_assert_ptr_nonnull (record);
    ck_assert_str_eq (ht_record_kind (record), "cert");
    char hex [65];
    ck_assert_str_eq (ht_record_key (record), ht_hex_encode (ht_keypair_public (subject), 32, hex));
    ck_assert_str_eq (ht_record_region (record), S_COUNTY);
    ck_assert_str_eq (ht_record_scope (record), S_COUNTY);
    ck_assert_uint_eq (ht_record_hlc (record), ht_hlc_make (S_2024_MS, 5));
    ck_assert_mem_eq (ht_record_author (record), ht_keypair_public (world.county), 32);
    ck_assert_int_eq (ht_record_verify (record, NULL), 0);

    //  Through the wire and back
    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    ht_record_t *decoded = ht_record_decode (data, size, NULL, NULL);
    free (data);
    ck_assert_ptr_nonnull (decoded);
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);

    ht_cert_t parsed;
    ck_assert_int_eq (ht_cert_parse (decoded, &parsed), 0);
    ck_assert_str_eq (parsed.name, "清城区民政局");
    ck_assert_int_eq (parsed.role, HT_ROLE_DEPARTMENT);
    ck_assert_str_eq (parsed.department, "civil_affairs");
    ck_assert_str_eq (parsed.policy, "civil_affairs");
    ck_assert_str_eq (parsed.region, S_COUNTY);
    ck_assert_uint_eq (parsed.kind_count, 2);
    ck_assert_str_eq (parsed.kinds [0], "elder");
    ck_assert_str_eq (parsed.kinds [1], "credit");
    ck_assert_uint_eq (parsed.not_before_ms, S_2020_MS);
    ck_assert_uint_eq (parsed.not_after_ms, S_2030_MS);
    ck_assert_mem_eq (parsed.pubkey, ht_keypair_public (subject), 32);
    ck_assert (ht_cert_permits (&parsed, "credit"));
    ck_assert (!ht_cert_permits (&parsed, "facility"));
    ck_assert (!ht_cert_permits (&parsed, "cred"));
    ck_assert_int_eq (s_authorize (&world, decoded), 0);

    //  Not a cert, not parsed
    ht_record_t *elder = s_elder (world.community, S_COMMUNITY, S_COMMUNITY, S_2026_MS);
    ck_assert_int_eq (ht_cert_parse (elder, &parsed), HT_EKIND);
    uint8_t pubkey [32];
    uint64_t revoked_at;
    ck_assert_int_eq (ht_revocation_parse (elder, pubkey, &revoked_at), HT_EKIND);
    ck_assert_int_eq (ht_revocation_parse (decoded, pubkey, &revoked_at), HT_EKIND);
    //  A cert without its content
    ht_record_t *empty = ht_record_new ("cert");
    ck_assert_int_eq (ht_cert_parse (empty, &parsed), HT_EFIELD);
    ht_record_destroy (&empty);
    ht_record_destroy (&elder);
    ht_record_destroy (&decoded);
    ht_record_destroy (&record);
    ht_keypair_destroy (&subject);
    s_world_destroy (&world);
}
END_TEST

//  A text of count copies of one UTF-8 character
static void
s_repeat (char *text, size_t size, const char *character, size_t count)
{
    text [0] = 0;
    for (size_t index = 0; index < count; index++) {
        ck_assert_uint_lt (strlen (text) + strlen (character), size);
        strcat (text, character);
    }
}

START_TEST (a_cert_with_the_longest_multibyte_texts_round_trips_exactly)
{
    //  63 four-byte characters (U+20BB7 𠮷) fill the name's 253 bytes; a
    //  buffer sized in characters would cut the last one in half
    s_world_t world;
    s_world_init (&world);
    ht_keypair_t *subject = s_key (0x33);
    ht_cert_t spec = s_spec ("x", S_COUNTY, subject, "elder", HT_ROLE_DEPARTMENT,
                             S_2020_MS, S_2030_MS);
    s_repeat (spec.name, sizeof spec.name, "𠮷", HT_CERT_NAME_MAX_CHARS);
    ck_assert_uint_eq (strlen (spec.name), 4 * HT_CERT_NAME_MAX_CHARS);
    ck_assert_uint_eq (sizeof spec.name, strlen (spec.name) + 1);
    s_repeat (spec.department, sizeof spec.department, "民", HT_CERT_CODE_MAX_CHARS);
    s_repeat (spec.policy, sizeof spec.policy, "😀", HT_CERT_CODE_MAX_CHARS);
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_cert_issue (&spec, world.county, ht_hlc_make (S_2024_MS, 0),
                                         &error, &reason);
    ck_assert_msg (record != NULL, "%s", reason);
    ck_assert_str_eq (ht_record_get_str (record, "name"), spec.name);

    uint8_t *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (ht_record_encode (record, &data, &size), 0);
    ht_record_t *decoded = ht_record_decode (data, size, NULL, NULL);
    free (data);
    ck_assert_ptr_nonnull (decoded);
    ck_assert_int_eq (ht_record_verify (decoded, NULL), 0);
    ht_cert_t parsed;
    ck_assert_int_eq (ht_cert_parse (decoded, &parsed), 0);
    ck_assert_str_eq (parsed.name, spec.name);
    ck_assert_str_eq (parsed.department, spec.department);
    ck_assert_str_eq (parsed.policy, spec.policy);
    //  Issued again from the parsed content: the same record content
    ht_record_t *again = ht_cert_issue (&parsed, world.county, ht_hlc_make (S_2024_MS, 0),
                                        NULL, NULL);
    ck_assert_ptr_nonnull (again);
    ck_assert_str_eq (ht_record_get_str (again, "name"), spec.name);

    //  One character more is refused at issue, not cut
    ht_cert_t longer = spec;
    char name [HT_TEXT_BYTES (HT_CERT_NAME_MAX_CHARS)];
    s_repeat (name, sizeof name, "a", HT_CERT_NAME_MAX_CHARS + 1);
    memcpy (longer.name, name, strlen (name) + 1);
    ck_assert_ptr_null (ht_cert_issue (&longer, world.county, ht_hlc_make (S_2024_MS, 0),
                                       &error, NULL));
    ck_assert_int_ne (error, 0);
    ht_record_destroy (&again);
    ht_record_destroy (&decoded);
    ht_record_destroy (&record);
    ht_keypair_destroy (&subject);
    s_world_destroy (&world);
}
END_TEST

START_TEST (a_revocation_parses_back_to_its_key_and_time)
{
    s_world_t world;
    s_world_init (&world);
    ht_record_t *revocation = ht_revocation_issue (ht_keypair_public (world.community), S_COMMUNITY,
                                                   S_2025_JUN_MS, "密钥丢失", world.township,
                                                   ht_hlc_make (S_2025_MS, 0), NULL, NULL);
    ck_assert_ptr_nonnull (revocation);
    char hex [65];
    ck_assert_str_eq (ht_record_key (revocation),
                      ht_hex_encode (ht_keypair_public (world.community), 32, hex));
    ck_assert_str_eq (ht_record_get_str (revocation, "reason"), "密钥丢失");
    uint8_t pubkey [32];
    uint64_t revoked_at = 0;
    ck_assert_int_eq (ht_revocation_parse (revocation, pubkey, &revoked_at), 0);
    ck_assert_mem_eq (pubkey, ht_keypair_public (world.community), 32);
    ck_assert_uint_eq (revoked_at, S_2025_JUN_MS);
    ht_record_destroy (&revocation);
    //  A bad region is refused up front
    int error = 0;
    ck_assert_ptr_null (ht_revocation_issue (pubkey, "44", 1, NULL, world.township, 1, &error, NULL));
    ck_assert_int_eq (error, HT_EINVAL);
    s_world_destroy (&world);
}
END_TEST

START_TEST (role_names_round_trip)
{
    ck_assert_str_eq (ht_role_name (HT_ROLE_NODE), "node");
    ck_assert_str_eq (ht_role_name (HT_ROLE_DEPARTMENT), "department");
    ck_assert_str_eq (ht_role_name (HT_ROLE_PARTNER), "partner");
    ck_assert_str_eq (ht_role_name ((ht_role_t) 7), "?");
    ck_assert_int_eq (ht_role_parse ("node"), HT_ROLE_NODE);
    ck_assert_int_eq (ht_role_parse ("department"), HT_ROLE_DEPARTMENT);
    ck_assert_int_eq (ht_role_parse ("partner"), HT_ROLE_PARTNER);
    ck_assert_str_eq (ht_role_name (HT_ROLE_OPERATOR), "operator");
    ck_assert_int_eq (ht_role_parse ("operator"), HT_ROLE_OPERATOR);
    ck_assert_int_eq (ht_role_parse ("admin"), -1);
    ck_assert_int_eq (ht_role_parse (""), -1);
}
END_TEST

static Suite *
cert_suite (void)
{
    Suite *suite = suite_create ("ht_cert");
    TCase *tc = tcase_create ("chain");
    tcase_add_test (tc, the_root_certificate_authorizes_itself);
    tcase_add_test (tc, a_self_signed_root_outside_its_window_is_expired);
    tcase_add_test (tc, every_certificate_of_the_chain_is_authorized);
    tcase_add_test (tc, only_the_configured_anchor_is_trusted);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("jurisdiction");
    tcase_add_test (tc, a_community_may_write_its_own_elders);
    tcase_add_test (tc, an_ancestor_may_write_below_it_and_share_up_to_its_own_level);
    tcase_add_test (tc, a_community_writing_another_community_is_out_of_scope);
    tcase_add_test (tc, a_scope_wider_than_the_authors_jurisdiction_is_out_of_scope);
    tcase_add_test (tc, a_scope_below_the_region_is_out_of_scope);
    tcase_add_test (tc, a_county_cannot_certify_a_key_for_another_county);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("kinds");
    tcase_add_test (tc, a_kind_the_certificate_does_not_permit_is_refused);
    tcase_add_test (tc, an_operator_certificate_authors_nothing);
    tcase_add_test (tc, a_certificate_granting_a_kind_its_issuer_lacks_is_refused);
    tcase_add_test (tc, a_key_certified_by_one_issuer_cannot_be_taken_over_by_another);
    tcase_add_test (tc, a_certificate_from_an_issuer_without_cert_kind_is_refused);
    tcase_add_test (tc, a_department_certificate_granting_cert_fails_validation);
    tcase_add_test (tc, a_certificate_spec_that_cannot_be_a_record_is_refused);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("time");
    tcase_add_test (tc, an_expired_certificate_is_refused);
    tcase_add_test (tc, a_revoked_key_is_refused_after_its_revocation_only);
    tcase_add_test (tc, revoking_the_township_revokes_everything_below_it_after_that_time);
    tcase_add_test (tc, a_revocation_record_is_authorized_like_any_other);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("broken");
    tcase_add_test (tc, an_unknown_author_has_no_certificate);
    tcase_add_test (tc, an_issuer_without_a_certificate_breaks_the_chain);
    tcase_add_test (tc, a_chain_ending_in_a_self_signed_non_anchor_is_refused);
    tcase_add_test (tc, a_certificate_cycle_ends_in_a_chain_error);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("parsing");
    tcase_add_test (tc, a_cert_record_parses_back_to_its_spec);
    tcase_add_test (tc, a_cert_with_the_longest_multibyte_texts_round_trips_exactly);
    tcase_add_test (tc, a_revocation_parses_back_to_its_key_and_time);
    tcase_add_test (tc, role_names_round_trip);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (cert_suite)
