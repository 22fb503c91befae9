//  ht_fuzz: what the libFuzzer targets share. Header-only (static
//  inline), like tests/ht_fixture.h, whose deterministic PKI it repeats
//  without Check (a fuzz target has no test runner to fail into):
//
//    root (清远市 441800000000) -> county (清城区 441802000000)
//      -> township (凤城街道 441802001000) -> communities A and B
//         (441802001001, 441802001002)
//
//  with keys from seeds of one repeated byte (0x11, 0x22, ...) and certs
//  valid 2020-2040, so seeds made by tests/fuzz/make_corpus.c verify
//  against the same keys.
//
//  A failed oracle calls HT_FUZZ_FAIL, which prints what broke and
//  aborts: libFuzzer keeps the input that did it.
#ifndef HT_FUZZ_H_INCLUDED
#define HT_FUZZ_H_INCLUDED

#include <czmq.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ht_cert.h"
#include "ht_hlc.h"
#include "ht_keys.h"
#include "ht_record.h"
#include "ht_valid.h"

#define HT_FUZZ_CITY "441800000000"
#define HT_FUZZ_COUNTY "441802000000"
#define HT_FUZZ_TOWNSHIP "441802001000"
#define HT_FUZZ_COMMUNITY_A "441802001001"
#define HT_FUZZ_COMMUNITY_B "441802001002"
#define HT_FUZZ_NOT_BEFORE_MS 1577836800000ull     //  2020-01-01
#define HT_FUZZ_NOT_AFTER_MS 2208988800000ull      //  2040-01-01
#define HT_FUZZ_T0_MS 1704067200000ull             //  2024-01-01: certs
#define HT_FUZZ_DAY_MS 86400000ull
#define HT_FUZZ_PRINCIPALS 5

//  Stop with a message: the fuzzer reports the input as a crash
#define HT_FUZZ_FAIL(...) do {                                      \
        fprintf (stderr, "fuzz oracle failed (%s:%d): ", __FILE__, __LINE__); \
        fprintf (stderr, __VA_ARGS__);                              \
        fprintf (stderr, "\n");                                     \
        abort ();                                                   \
    } while (0)

//  Our own contract (the harness's setup), not the input's
#define HT_FUZZ_REQUIRE(condition) do {                             \
        if (!(condition))                                           \
            HT_FUZZ_FAIL ("harness setup: %s", #condition);         \
    } while (0)

typedef enum {
    HT_FUZZ_ROOT = 0,
    HT_FUZZ_COUNTY_KEY = 1,
    HT_FUZZ_TOWNSHIP_KEY = 2,
    HT_FUZZ_COMMUNITY_A_KEY = 3,
    HT_FUZZ_COMMUNITY_B_KEY = 4
} ht_fuzz_principal_t;

typedef struct {
    ht_keypair_t *keys [HT_FUZZ_PRINCIPALS];   //  by principal
    ht_record_t *certs [HT_FUZZ_PRINCIPALS];   //  certs [i] certifies keys [i]
    ht_cert_t parsed [HT_FUZZ_PRINCIPALS];     //  their content
    const char *regions [HT_FUZZ_PRINCIPALS];  //  each one's jurisdiction
    uint8_t idkey [HT_IDKEY_BYTES];            //  pseudonym key
} ht_fuzz_pki_t;

//  --------------------------------------------------------------------------
//  Deterministic randomness. Signing draws a fresh seed per record and a
//  store a random epoch; with libsodium's generator replaced by this one
//  (reset before each input) the same input always makes the same bytes,
//  so a crash file replays exactly. splitmix64: not for secrets, which a
//  fuzz target has none of.

static uint64_t s_ht_fuzz_random_state;

static inline uint32_t
s_ht_fuzz_random (void)
{
    uint64_t z = (s_ht_fuzz_random_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t) (z ^ (z >> 31));
}

static inline void
s_ht_fuzz_random_buf (void *const buffer, const size_t size)
{
    uint8_t *bytes = (uint8_t *) buffer;
    for (size_t index = 0; index < size; index++)
        bytes [index] = (uint8_t) s_ht_fuzz_random ();
}

static inline const char *s_ht_fuzz_random_name (void) { return "ht_fuzz"; }

static struct randombytes_implementation s_ht_fuzz_randombytes = {
    s_ht_fuzz_random_name, s_ht_fuzz_random, NULL, NULL, s_ht_fuzz_random_buf, NULL
};

//  Replace libsodium's generator (before anything draws from it)
static inline void
ht_fuzz_random_install (void)
{
    HT_FUZZ_REQUIRE (randombytes_set_implementation (&s_ht_fuzz_randombytes) == 0);
    HT_FUZZ_REQUIRE (sodium_init () >= 0);
}

//  Start the sequence again: call at the start of each input
static inline void
ht_fuzz_random_reset (uint64_t seed)
{
    s_ht_fuzz_random_state = seed;
}

//  --------------------------------------------------------------------------
//  The PKI

static inline ht_keypair_t *
ht_fuzz_key (uint8_t seed_byte, const char *name)
{
    uint8_t seed [32];
    memset (seed, seed_byte, sizeof seed);
    ht_keypair_t *key = ht_keypair_from_seed (seed, name);
    HT_FUZZ_REQUIRE (key);
    return key;
}

//  Build the PKI (the same as tests/ht_fixture.h's ht_fixture_new)
static inline ht_fuzz_pki_t *
ht_fuzz_pki_new (void)
{
    static const char *const all [] = { "elder", "facility", "credit", "cert", "revocation" };
    static const char *const township [] = { "elder", "facility", "cert", "revocation" };
    static const char *const community [] = { "elder", "cert", "revocation" };
    static const char *const names [HT_FUZZ_PRINCIPALS] = {
        "qingyuan", "qingcheng", "fengcheng", "community-a", "community-b" };
    static const char *const regions [HT_FUZZ_PRINCIPALS] = {
        HT_FUZZ_CITY, HT_FUZZ_COUNTY, HT_FUZZ_TOWNSHIP, HT_FUZZ_COMMUNITY_A,
        HT_FUZZ_COMMUNITY_B };
    static const int issuers [HT_FUZZ_PRINCIPALS] = { 0, 0, 1, 2, 2 };

    ht_fuzz_pki_t *self = (ht_fuzz_pki_t *) calloc (1, sizeof *self);
    HT_FUZZ_REQUIRE (self);
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++)
        self->keys [i] = ht_fuzz_key ((uint8_t) (0x11 * (i + 1)), names [i]);
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++) {
        const char *const *kinds = i < 2? all: i == 2? township: community;
        size_t count = i < 2? 5: i == 2? 4: 3;
        ht_cert_t spec;
        memset (&spec, 0, sizeof spec);
        snprintf (spec.name, sizeof spec.name, "%s", names [i]);
        spec.role = HT_ROLE_NODE;
        snprintf (spec.region, sizeof spec.region, "%s", regions [i]);
        for (size_t k = 0; k < count; k++)
            snprintf (spec.kinds [k], sizeof spec.kinds [k], "%s", kinds [k]);
        spec.kind_count = count;
        spec.not_before_ms = HT_FUZZ_NOT_BEFORE_MS;
        spec.not_after_ms = HT_FUZZ_NOT_AFTER_MS;
        memcpy (spec.pubkey, ht_keypair_public (self->keys [i]), HT_PUBKEY_BYTES);
        int error = 0;
        const char *reason = NULL;
        self->certs [i] = ht_cert_issue (&spec, self->keys [issuers [i]],
                                         ht_hlc_make (HT_FUZZ_T0_MS + (uint64_t) i, 0),
                                         &error, &reason);
        HT_FUZZ_REQUIRE (self->certs [i]);
        HT_FUZZ_REQUIRE (ht_cert_parse (self->certs [i], &self->parsed [i]) == 0);
        self->regions [i] = regions [i];
    }
    memset (self->idkey, 0x5a, sizeof self->idkey);
    return self;
}

static inline void
ht_fuzz_pki_destroy (ht_fuzz_pki_t **self_p)
{
    ht_fuzz_pki_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++) {
        ht_keypair_destroy (&self->keys [i]);
        ht_record_destroy (&self->certs [i]);
    }
    free (self);
    *self_p = NULL;
}

//  The principal whose key is pubkey, or -1
static inline int
ht_fuzz_pki_find (const ht_fuzz_pki_t *self, const uint8_t *pubkey)
{
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++)
        if (memcmp (ht_keypair_public (self->keys [i]), pubkey, HT_PUBKEY_BYTES) == 0)
            return i;
    return -1;
}

//  --------------------------------------------------------------------------
//  Oracle helpers

//  True if size bytes at data are UTF-8 (shortest forms, no surrogates,
//  nothing past U+10FFFF), by the project's one decoder; NUL bytes are
//  not text
static inline bool
ht_fuzz_is_utf8 (const char *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        uint32_t code_point;
        const char *problem = NULL;
        if (data [at] == 0)
            return false;
        int length = ht_utf8_decode (data + at, &code_point, &problem);
        if (length <= 0 || at + (size_t) length > size)
            return false;
        at += (size_t) length;
    }
    return true;
}

//  Where a target makes its scratch directories: $HT_FUZZ_TMPDIR (run.sh
//  sets it to a directory it removes afterwards, so what a crashed run
//  left is gone too), else /dev/shm if writable (no disk under a store),
//  else /tmp
static inline const char *
ht_fuzz_tmpdir (void)
{
    const char *dir = getenv ("HT_FUZZ_TMPDIR");
    if (dir && *dir)
        return dir;
    return access ("/dev/shm", W_OK) == 0? "/dev/shm": "/tmp";
}

//  Encode a record or fail the oracle; the caller frees *data
static inline void
ht_fuzz_encode (const ht_record_t *record, uint8_t **data, size_t *size, const char *what)
{
    int rc = ht_record_encode (record, data, size);
    if (rc)
        HT_FUZZ_FAIL ("%s: a decoded record does not encode: %s", what, ht_strerror (rc));
}

//  A record's JSON form, dumped (compact, keys sorted), or fail the
//  oracle if it has none or it is not UTF-8; the caller frees it
static inline char *
ht_fuzz_json_dump (const ht_record_t *record)
{
    json_t *json = ht_record_to_json (record);
    char *text = json? json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS): NULL;
    json_decref (json);
    if (!text)
        HT_FUZZ_FAIL ("a record has no JSON form");
    if (!ht_fuzz_is_utf8 (text, strlen (text)))
        HT_FUZZ_FAIL ("a record's JSON form is not UTF-8: %s", text);
    return text;
}

//  The record that text, a record's JSON form, reads back as, or fail the
//  oracle; the caller destroys it
static inline ht_record_t *
ht_fuzz_json_read (const char *text)
{
    json_error_t json_error;
    json_t *json = json_loads (text, 0, &json_error);
    if (!json)
        HT_FUZZ_FAIL ("a record's JSON form does not parse: %s: %s", json_error.text, text);
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_from_json (json, &error, &reason);
    json_decref (json);
    if (!record)
        HT_FUZZ_FAIL ("a record's JSON form is refused: %s: %s", reason? reason: "?", text);
    return record;
}

//  The record size bytes at data decode to, or fail the oracle (what
//  names the bytes); the caller destroys it
static inline ht_record_t *
ht_fuzz_decode (const uint8_t *data, size_t size, const char *what)
{
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_decode (data, size, &error, &reason);
    if (!record)
        HT_FUZZ_FAIL ("%s: does not decode: %s", what, reason? reason: "?");
    return record;
}

//  Fail the oracle unless record encodes to exactly the size bytes at
//  data (what names the record)
static inline void
ht_fuzz_encode_same (const ht_record_t *record, const uint8_t *data, size_t size,
                     const char *what)
{
    uint8_t *encoded = NULL;
    size_t encoded_size = 0;
    ht_fuzz_encode (record, &encoded, &encoded_size, what);
    if (encoded_size != size || memcmp (encoded, data, size))
        HT_FUZZ_FAIL ("%s: a record encodes to other bytes", what);
    free (encoded);
}

//  --------------------------------------------------------------------------
//  libFuzzer's entry points, which the targets define

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  What each target's LLVMFuzzerInitialize does first: replace libsodium's
//  generator, then build the PKI if the target wants it (else NULL)
static inline ht_fuzz_pki_t *
ht_fuzz_initialize (int *argc, char ***argv, bool with_pki)
{
    (void) argc; (void) argv;
    ht_fuzz_random_install ();
    return with_pki? ht_fuzz_pki_new (): NULL;
}

#endif
