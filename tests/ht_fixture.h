//  ht_fixture: a small deterministic PKI, signed elder records and
//  temporary stores, shared by the test files. Header-only: every
//  function is static inline, so a test file that uses only some of them
//  compiles without unused-function warnings.
//
//  The PKI follows the city of 清远 (441800000000): the root (city) signs
//  a county (清城区 441802000000), the county a township (凤城街道
//  441802001000), and the township two communities (441802001001 and
//  441802001002). Keys come from fixed seeds, so every run and every test
//  file sees the same keys; certs are valid from 2020 to 2040.
#ifndef HT_FIXTURE_H_INCLUDED
#define HT_FIXTURE_H_INCLUDED

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ht_cert.h"
#include "ht_hlc.h"
#include "ht_keys.h"
#include "ht_record.h"
#include "ht_store.h"
#include "ht_valid.h"

#define HT_FIXTURE_CITY "441800000000"
#define HT_FIXTURE_COUNTY "441802000000"
#define HT_FIXTURE_TOWNSHIP "441802001000"
#define HT_FIXTURE_COMMUNITY_A "441802001001"
#define HT_FIXTURE_COMMUNITY_B "441802001002"
#define HT_FIXTURE_NOT_BEFORE_MS 1577836800000ull   //  2020-01-01
#define HT_FIXTURE_NOT_AFTER_MS 2208988800000ull    //  2040-01-01
#define HT_FIXTURE_T0_MS 1704067200000ull           //  2024-01-01: certs
#define HT_FIXTURE_DAY_MS 86400000ull
#define HT_FIXTURE_CERT_COUNT 5
#define HT_FIXTURE_DIR_CHARS 64

//  The principals, in issue order; certs [i] certifies keys [i]
typedef enum {
    HT_FIXTURE_ROOT = 0,
    HT_FIXTURE_COUNTY_KEY = 1,
    HT_FIXTURE_TOWNSHIP_KEY = 2,
    HT_FIXTURE_COMMUNITY_A_KEY = 3,
    HT_FIXTURE_COMMUNITY_B_KEY = 4
} ht_fixture_principal_t;

typedef struct {
    ht_keypair_t *keys [HT_FIXTURE_CERT_COUNT];     //  by principal
    ht_record_t *certs [HT_FIXTURE_CERT_COUNT];     //  signed cert records
    uint8_t idkey [HT_IDKEY_BYTES];                 //  pseudonym key
} ht_fixture_t;

//  A key pair from a seed of one repeated byte
static inline ht_keypair_t *
ht_fixture_key (uint8_t seed_byte, const char *name)
{
    uint8_t seed [32];
    memset (seed, seed_byte, sizeof seed);
    ht_keypair_t *key = ht_keypair_from_seed (seed, name);
    ck_assert_ptr_nonnull (key);
    return key;
}

//  Issue one cert for subject, signed by issuer at T0 + offset ms
static inline ht_record_t *
ht_fixture_cert (const ht_keypair_t *subject, const char *region,
                 const char *const *kinds, size_t kind_count,
                 const ht_keypair_t *issuer, uint64_t offset_ms)
{
    ht_cert_t spec;
    memset (&spec, 0, sizeof spec);
    snprintf (spec.name, sizeof spec.name, "%s", ht_keypair_name (subject));
    spec.role = HT_ROLE_NODE;
    snprintf (spec.region, sizeof spec.region, "%s", region);
    for (size_t i = 0; i < kind_count; i++)
        snprintf (spec.kinds [i], sizeof spec.kinds [i], "%s", kinds [i]);
    spec.kind_count = kind_count;
    spec.not_before_ms = HT_FIXTURE_NOT_BEFORE_MS;
    spec.not_after_ms = HT_FIXTURE_NOT_AFTER_MS;
    memcpy (spec.pubkey, ht_keypair_public (subject), HT_PUBKEY_BYTES);
    int error = 0;
    const char *reason = NULL;
    ht_record_t *cert = ht_cert_issue (&spec, issuer,
                                       ht_hlc_make (HT_FIXTURE_T0_MS + offset_ms, 0),
                                       &error, &reason);
    ck_assert_msg (cert, "cert for %s: %s", region, reason? reason: "?");
    return cert;
}

//  Build the PKI; destroy with ht_fixture_destroy
static inline ht_fixture_t *
ht_fixture_new (void)
{
    static const char *const all [] = {
        "elder", "facility", "credit", "cert", "revocation" };
    static const char *const township [] = {
        "elder", "facility", "cert", "revocation" };
    static const char *const community [] = { "elder", "cert", "revocation" };
    static const char *const names [HT_FIXTURE_CERT_COUNT] = {
        "qingyuan", "qingcheng", "fengcheng", "community-a", "community-b" };
    static const char *const regions [HT_FIXTURE_CERT_COUNT] = {
        HT_FIXTURE_CITY, HT_FIXTURE_COUNTY, HT_FIXTURE_TOWNSHIP,
        HT_FIXTURE_COMMUNITY_A, HT_FIXTURE_COMMUNITY_B };
    static const int issuers [HT_FIXTURE_CERT_COUNT] = { 0, 0, 1, 2, 2 };

    ht_fixture_t *self = calloc (1, sizeof *self);
    ck_assert_ptr_nonnull (self);
    for (int i = 0; i < HT_FIXTURE_CERT_COUNT; i++)
        self->keys [i] = ht_fixture_key ((uint8_t) (0x11 * (i + 1)), names [i]);
    for (int i = 0; i < HT_FIXTURE_CERT_COUNT; i++) {
        const char *const *kinds = i < 2? all: i == 2? township: community;
        size_t count = i < 2? 5: i == 2? 4: 3;
        self->certs [i] = ht_fixture_cert (self->keys [i], regions [i], kinds,
                                           count, self->keys [issuers [i]],
                                           (uint64_t) i);
    }
    memset (self->idkey, 0x5a, sizeof self->idkey);
    return self;
}

//  Destroy the fixture and set the pointer to NULL
static inline void
ht_fixture_destroy (ht_fixture_t **self_p)
{
    if (!*self_p)
        return;
    ht_fixture_t *self = *self_p;
    for (int i = 0; i < HT_FIXTURE_CERT_COUNT; i++) {
        ht_keypair_destroy (&self->keys [i]);
        ht_record_destroy (&self->certs [i]);
    }
    free (self);
    *self_p = NULL;
}

//  A valid citizen ID of a man born 1940-05-12 in 清城区; serial picks
//  the 3-digit sequence (always odd: male). serial 15 gives the ID
//  441802194005120317 from DOMAIN.md. id must hold 19 bytes.
static inline const char *
ht_fixture_citizen_id (unsigned serial, char *id)
{
    snprintf (id, 19, "44180219400512%03u", (2 * serial + 1) % 1000);
    id [17] = ht_citizen_id_check_char (id);
    id [18] = 0;
    return id;
}

//  An hlc on day `day` after T0 (certs are issued at T0 + 0..4 ms)
static inline uint64_t
ht_fixture_hlc (unsigned day, uint16_t counter)
{
    return ht_hlc_make (HT_FIXTURE_T0_MS + (1 + day) * HT_FIXTURE_DAY_MS, counter);
}

//  The elder draft every suite builds on: a person of citizen ID id_no
//  (sex and birth date taken from it), living in region, shared down to
//  scope, at hlc, keyed with idkey; unsigned. The caller owns it.
static inline ht_record_t *
ht_fixture_elder_draft (const char *id_no, const char *name, const char *region,
                        const char *scope, const uint8_t *idkey, uint64_t hlc)
{
    char birth [16];
    snprintf (birth, sizeof birth, "%08u", (unsigned) ht_citizen_id_birth (id_no));
    ht_record_t *record = ht_record_new ("elder");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_str (record, "id_type", "居民身份证"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "id_no", id_no), 0);
    ck_assert_int_eq (ht_record_set_str (record, "name", name), 0);
    ck_assert_int_eq (ht_record_set_int (record, "sex", ht_citizen_id_sex (id_no)), 0);
    ck_assert_int_eq (ht_record_set_str (record, "birth_date", birth), 0);
    ck_assert_int_eq (ht_record_set_str (record, "hukou_region", region), 0);
    ck_assert_int_eq (ht_record_set_str (record, "status", "active"), 0);
    ck_assert_int_eq (ht_record_set_region (record, region), 0);
    ck_assert_int_eq (ht_record_set_scope (record, scope), 0);
    ck_assert_int_eq (ht_record_derive_key (record, idkey), 0);
    ht_record_set_hlc (record, hlc);
    return record;
}

//  A signed elder of the citizen ID serial, authored by author for
//  region with scope, at hlc; name distinguishes versions
static inline ht_record_t *
ht_fixture_elder_in (const ht_fixture_t *self, const ht_keypair_t *author,
                     const char *region, const char *scope, unsigned serial,
                     const char *name, uint64_t hlc)
{
    char id [19];
    ht_record_t *record = ht_fixture_elder_draft (ht_fixture_citizen_id (serial, id), name,
                                                  region, scope, self->idkey, hlc);
    ck_assert_int_eq (ht_record_sign (record, author), 0);
    return record;
}

//  A signed elder in a community, written by that community's key with
//  the default scope (its own region)
static inline ht_record_t *
ht_fixture_elder (const ht_fixture_t *self, ht_fixture_principal_t community,
                  unsigned serial, const char *name, uint64_t hlc)
{
    const char *region = community == HT_FIXTURE_COMMUNITY_B_KEY?
                         HT_FIXTURE_COMMUNITY_B: HT_FIXTURE_COMMUNITY_A;
    return ht_fixture_elder_in (self, self->keys [community], region, region,
                                serial, name, hlc);
}

//  count signed elders of a community from serial first (one version
//  each, at hlc; name distinguishes versions), in an array the caller
//  frees with ht_fixture_records_destroy
static inline ht_record_t **
ht_fixture_elders (const ht_fixture_t *self, ht_fixture_principal_t community,
                   unsigned first, size_t count, const char *name, uint64_t hlc)
{
    ht_record_t **records = (ht_record_t **) calloc (count + 1, sizeof (ht_record_t *));
    ck_assert_ptr_nonnull (records);
    for (size_t i = 0; i < count; i++)
        records [i] = ht_fixture_elder (self, community, first + (unsigned) i, name, hlc);
    return records;
}

//  A valid citizen ID of 清城区, distinct for every index (the birth date
//  moves on, from 1930-01-01, where one date's 500 serials run out); id
//  must hold 19 bytes
static inline const char *
ht_fixture_citizen_id_at (unsigned index, char *id)
{
    unsigned day = index / 500;
    snprintf (id, 19, "441802%04u%02u%02u%03u", 1930 + day / 336, 1 + day / 28 % 12,
              1 + day % 28, (2 * (index % 500) + 1) % 1000);
    id [17] = ht_citizen_id_check_char (id);
    id [18] = 0;
    return id;
}

//  count distinct elders of community A from index first (any number:
//  ht_fixture_citizen_id_at), at hlc, all signed as one batch by its key
static inline ht_record_t **
ht_fixture_many_elders (const ht_fixture_t *self, unsigned first, size_t count, uint64_t hlc)
{
    ht_record_t **records = (ht_record_t **) calloc (count + 1, sizeof (ht_record_t *));
    ck_assert_ptr_nonnull (records);
    for (size_t i = 0; i < count; i++) {
        char id [19];
        records [i] = ht_fixture_elder_draft (ht_fixture_citizen_id_at (first + (unsigned) i, id),
                                              "冯十二", HT_FIXTURE_COMMUNITY_A,
                                              HT_FIXTURE_COMMUNITY_A, self->idkey, hlc);
    }
    ck_assert_int_eq (ht_record_sign_batch (records, count,
                                            self->keys [HT_FIXTURE_COMMUNITY_A_KEY]), 0);
    return records;
}

//  Destroy count records and their array
static inline void
ht_fixture_records_destroy (ht_record_t **records, size_t count)
{
    for (size_t i = 0; records && i < count; i++)
        ht_record_destroy (&records [i]);
    free (records);
}

//  A facility draft in region (清城区颐康养老院, 120 beds), with a USCC
//  and/or a serial, no scope and no hlc. The caller owns it.
static inline ht_record_t *
ht_fixture_facility_draft (const char *region, const char *uscc, const char *serial)
{
    ht_record_t *record = ht_record_new ("facility");
    ck_assert_ptr_nonnull (record);
    ck_assert_int_eq (ht_record_set_region (record, region), 0);
    ck_assert_int_eq (ht_record_set_str (record, "name", "清城区颐康养老院"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "type", "institution"), 0);
    ck_assert_int_eq (ht_record_set_str (record, "status", "open"), 0);
    ck_assert_int_eq (ht_record_set_int (record, "beds_total", 120), 0);
    if (uscc)
        ck_assert_int_eq (ht_record_set_str (record, "uscc", uscc), 0);
    if (serial)
        ck_assert_int_eq (ht_record_set_str (record, "serial", serial), 0);
    return record;
}

//  Remove a directory tree (test stores only; no symlinks followed)
static inline void
ht_fixture_rmrf (const char *path)
{
    DIR *dir = opendir (path);
    struct dirent *entry;
    while (dir && (entry = readdir (dir)) != NULL) {
        if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
            continue;
        char child [PATH_MAX + 256];
        if (snprintf (child, sizeof child, "%s/%s", path, entry->d_name) >= (int) sizeof child)
            continue;
        struct stat info;
        if (lstat (child, &info) == 0 && S_ISDIR (info.st_mode))
            ht_fixture_rmrf (child);
        else
            unlink (child);
    }
    if (dir)
        closedir (dir);
    rmdir (path);
}

//  Make a fresh temporary directory name under /tmp; dir holds
//  HT_FIXTURE_DIR_CHARS bytes. The directory exists and is empty.
static inline const char *
ht_fixture_tempdir (char *dir)
{
    snprintf (dir, HT_FIXTURE_DIR_CHARS, "/tmp/ht_test_XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (dir));
    return dir;
}

//  Create and open a store for region in a fresh temporary directory
//  (written to dir), map_bytes as for ht_store_open
static inline ht_store_t *
ht_fixture_store_new (const ht_fixture_t *self, const char *region,
                      size_t map_bytes, char *dir)
{
    ht_fixture_tempdir (dir);
    ck_assert_int_eq (ht_store_create (dir, region,
                                       ht_keypair_public (self->keys [HT_FIXTURE_ROOT]),
                                       self->idkey), 0);
    int error = -1;
    ht_store_t *store = ht_store_open (dir, map_bytes, &error);
    ck_assert_msg (store, "open %s: %s", dir, ht_strerror (error));
    //  Fixture records carry fixed times in the past: no ingest window
    //  (the freshness rule has its own tests, with the window on)
    ck_assert_int_eq (ht_store_set_ingest_window (store, 0, 0), 0);
    return store;
}

//  Apply the whole PKI (root first) as one local batch
static inline void
ht_fixture_apply_certs (const ht_fixture_t *self, ht_store_t *store)
{
    ht_apply_stats_t stats;
    int results [HT_FIXTURE_CERT_COUNT];
    ck_assert_int_eq (ht_store_apply (store, self->certs, HT_FIXTURE_CERT_COUNT,
                                      NULL, &stats, results), 0);
    for (int i = 0; i < HT_FIXTURE_CERT_COUNT; i++)
        ck_assert_msg (results [i] == 0, "cert %d: %s", i, ht_strerror (results [i]));
    ck_assert_uint_eq (stats.applied + stats.unchanged, HT_FIXTURE_CERT_COUNT);
}

//  Close a store and remove its directory
static inline void
ht_fixture_store_destroy (ht_store_t **store_p, const char *dir)
{
    ht_store_destroy (store_p);
    ht_fixture_rmrf (dir);
}

#endif
