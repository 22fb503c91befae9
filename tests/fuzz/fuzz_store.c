//  fuzz_store: the whole store write path (ht_store_apply: verify,
//  authorize, validate, the ownership rule, merge, history, indexes,
//  quarantine) on a scratch LMDB store, with inputs that get past the
//  signature check.
//
//  Input: JSON lines, as `hutong put` reads them (at most S_MAX_LINES).
//  Each draft is completed (key, scope; an hlc the draft gives is kept,
//  else one is issued) and signed with a fixed key of the PKI in
//  ht_fuzz.h — the county's, the township's or a community's, chosen by
//  the line's length — so its mutations reach the rules behind the
//  signature. A draft that fails completion is signed as it is, for the
//  store to refuse. A record that comes signed is applied as it is. An
//  input of odd length is signed as one batch (format 3) by the first
//  line's key; even, each record alone. Input sizes modulo 4 of 2 and 3
//  arrive from a peer (the replicated rules), others as local writes.
//
//  The store is the city's, made once per input in a directory created
//  once (ht_fuzz_tmpdir: on /dev/shm when there is one), with the PKI
//  applied: every
//  input starts from the same store, so a crash file replays alone.
//
//  Oracles beyond "no crash". No record the store accepted, and no current
//  version of an entity the input touched, lies outside its author's
//  jurisdiction: the author is a key of the PKI, its certificate permits
//  the kind, and cert.region ⊑ scope ⊑ region. While the input has not
//  had a cert or revocation accepted, cert.region is the one the PKI
//  issued; once it has, a certificate may lawfully have been re-issued by
//  a key above, so the bound is the county's (441802000000): no key the
//  input signs with is certified by the root, so no input can reach
//  past the county, whatever it re-certifies. And, for an input without
//  certs or revocations (which change what the records after them may
//  do), the arrival order does not matter: the same records applied one
//  at a time in reverse order, to a second store, leave every entity
//  with the same current version and every version with the same
//  conflict flag (DESIGN.md, "Ownership (order-independent)"). With HT_FUZZ_VERBOSE set
//  it prints each record's result.
#include "ht_fuzz.h"
#include "ht_record_complete.h"
#include "ht_store.h"
#include <dirent.h>
#include <unistd.h>

#define S_MAX_LINES 16
#define S_DIR_BYTES 256

static ht_fuzz_pki_t *s_pki;
static char s_dir [S_DIR_BYTES];        //  the store the batch goes to
static char s_dir_again [S_DIR_BYTES];  //  the same records, one at a time

//  Remove the store's files, leaving the directory
static void
s_store_clear (const char *directory)
{
    DIR *dir = opendir (directory);
    HT_FUZZ_REQUIRE (dir);
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, ".."))
            continue;
        char path [S_DIR_BYTES + 256];
        snprintf (path, sizeof path, "%s/%s", directory, entry->d_name);
        unlink (path);
    }
    closedir (dir);
}

//  A fresh city store holding the PKI, in directory path
static ht_store_t *
s_store_fresh (const char *path)
{
    s_store_clear (path);
    HT_FUZZ_REQUIRE (ht_store_create (path, HT_FUZZ_CITY,
                                      ht_keypair_public (s_pki->keys [HT_FUZZ_ROOT]),
                                      s_pki->idkey) == 0);
    int error = 0;
    ht_store_t *store = ht_store_open (path, 0, &error);
    HT_FUZZ_REQUIRE (store);
    ht_store_set_verbose (store, false);
    HT_FUZZ_REQUIRE (ht_store_set_ingest_window (store, 0, 0) == 0);
    int results [HT_FUZZ_PRINCIPALS];
    ht_origin_t origin = { .lazy = true };
    HT_FUZZ_REQUIRE (ht_store_apply (store, s_pki->certs, HT_FUZZ_PRINCIPALS, &origin,
                                     NULL, results) == 0);
    for (int i = 0; i < HT_FUZZ_PRINCIPALS; i++)
        HT_FUZZ_REQUIRE (results [i] == 0);
    return store;
}

//  The signer of a line: county, township, community A or B
static int
s_signer_of (size_t length)
{
    return HT_FUZZ_COUNTY_KEY + (int) (length % 4);
}

//  Complete a draft for signer; an hlc the draft gives is kept
static void
s_complete (ht_record_t *draft, int signer)
{
    uint64_t given_hlc = ht_record_hlc (draft);
    ht_hlc_t clock = { ht_hlc_make (HT_FUZZ_T0_MS + 30 * HT_FUZZ_DAY_MS, 0) };
    ht_complete_t context = {
        .idkey = s_pki->idkey, .author_region = s_pki->regions [signer], .clock = &clock
    };
    const char *reason = NULL;
    int rc = ht_record_complete (draft, &context, &reason);
    if (getenv ("HT_FUZZ_VERBOSE") && rc)
        fprintf (stderr, "fuzz_store: draft not completed: %s\n", reason);
    if (rc == HT_OK && given_hlc)
        ht_record_set_hlc (draft, given_hlc);
}

//  Read the input's lines into records; drafts completed, not signed
static size_t
s_read_lines (const uint8_t *data, size_t size, ht_record_t **records, int *signers,
              bool *drafts)
{
    size_t count = 0;
    for (size_t at = 0; at < size && count < S_MAX_LINES; ) {
        const uint8_t *newline = memchr (data + at, '\n', size - at);
        size_t length = newline? (size_t) (newline - (data + at)): size - at;
        json_t *json = json_loadb ((const char *) data + at, length, 0, NULL);
        at += length + 1;
        ht_record_t *record = json? ht_record_from_json (json, NULL, NULL): NULL;
        json_decref (json);
        if (!record)
            continue;
        drafts [count] = !ht_record_is_signed (record);
        signers [count] = s_signer_of (length);
        if (drafts [count])
            s_complete (record, signers [count]);
        records [count++] = record;
    }
    return count;
}

//  Sign the drafts: each alone, or all as one batch by the first signer
static void
s_sign (ht_record_t **records, int *signers, const bool *drafts, size_t count, bool batch)
{
    ht_record_t *signable [S_MAX_LINES];
    size_t signable_count = 0;
    for (size_t i = 0; i < count; i++) {
        if (!drafts [i] || !*ht_record_key (records [i]) || !*ht_record_region (records [i])
        ||  !*ht_record_scope (records [i]))
            continue;               //  no key, region or scope: stays unsigned
        if (batch)
            signers [i] = signers [0];
        if (batch)
            signable [signable_count++] = records [i];
        else
        if (ht_record_sign (records [i], s_pki->keys [signers [i]]))
            HT_FUZZ_FAIL ("a full draft with key, region and scope cannot be signed");
    }
    if (signable_count
    &&  ht_record_sign_batch (signable, signable_count, s_pki->keys [signers [0]]))
        HT_FUZZ_FAIL ("drafts with key, region and scope cannot be signed as a batch");
}

//  Does the jurisdiction of principal (or the county's, if certificates
//  changed) allow author to have written this record?
static void
s_check_jurisdiction (const ht_record_t *record, bool certs_changed, const char *what)
{
    int author = ht_fuzz_pki_find (s_pki, ht_record_author (record));
    if (author < 0)
        HT_FUZZ_FAIL ("%s %s/%s is by a key outside the PKI", what,
                      ht_record_kind (record), ht_record_key (record));
    const char *bound = certs_changed && author != HT_FUZZ_ROOT? HT_FUZZ_COUNTY
                      : s_pki->regions [author];
    const char *scope = ht_record_scope (record), *region = ht_record_region (record);
    if (!ht_region_covers (bound, scope) || !ht_region_covers (scope, region))
        HT_FUZZ_FAIL ("%s %s/%s lies outside its author's jurisdiction: author %d "
                      "(bound %s), scope %s, region %s", what, ht_record_kind (record),
                      ht_record_key (record), author, bound, scope, region);
    if (!certs_changed && !ht_cert_permits (&s_pki->parsed [author], ht_record_kind (record)))
        HT_FUZZ_FAIL ("%s %s/%s is of a kind its author may not write", what,
                      ht_record_kind (record), ht_record_key (record));
}

//  The oracle over one applied batch
static void
s_check_batch (ht_store_t *store, ht_record_t **records, const int *results, size_t count)
{
    bool certs_changed = false;
    for (size_t i = 0; i < count; i++)
        if (results [i] == 0 && (streq (ht_record_kind (records [i]), "cert")
                             ||  streq (ht_record_kind (records [i]), "revocation")))
            certs_changed = true;
    for (size_t i = 0; i < count; i++) {
        if (results [i] == 0)
            s_check_jurisdiction (records [i], certs_changed, "accepted record");
        int error = 0;
        ht_record_t *current = ht_store_get (store, ht_record_kind (records [i]),
                                             ht_record_key (records [i]), &error);
        if (current)
            s_check_jurisdiction (current, certs_changed, "current version");
        else
        if (error != HT_ENOTFOUND)
            HT_FUZZ_FAIL ("the store cannot read an entity back: %s", ht_strerror (error));
        ht_record_destroy (&current);
    }
}

//  HT_FUZZ_VERBOSE: why each quarantined input was refused
static int
s_print_quarantine (void *arg, int code, const char *reason, const char *origin,
                    uint64_t when_ms, const uint8_t *data, size_t size)
{
    (void) arg; (void) origin; (void) when_ms; (void) data; (void) size;
    fprintf (stderr, "fuzz_store: quarantined: %s: %s\n", ht_errname (code), reason);
    return 0;
}

static void
s_cleanup (void)
{
    ht_fuzz_pki_destroy (&s_pki);
    s_store_clear (s_dir);
    rmdir (s_dir);
    s_store_clear (s_dir_again);
    rmdir (s_dir_again);
}

//  True if the input has a cert or revocation: those change what the
//  records after them may do, so their order matters by design
static bool
s_has_certs (ht_record_t **records, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (streq (ht_record_kind (records [i]), "cert")
        ||  streq (ht_record_kind (records [i]), "revocation"))
            return true;
    return false;
}

//  The entity's current version in two stores is the same (or absent)
static void
s_check_same_current (ht_store_t *store, ht_store_t *again, const ht_record_t *record)
{
    int error = 0, error_again = 0;
    ht_record_t *current = ht_store_get (store, ht_record_kind (record),
                                         ht_record_key (record), &error);
    ht_record_t *current_again = ht_store_get (again, ht_record_kind (record),
                                               ht_record_key (record), &error_again);
    uint8_t digest [HT_DIGEST_BYTES], digest_again [HT_DIGEST_BYTES];
    if (!current != !current_again
    ||  (current && (ht_record_digest (current, digest)
                 ||  ht_record_digest (current_again, digest_again)
                 ||  memcmp (digest, digest_again, HT_DIGEST_BYTES))))
        HT_FUZZ_FAIL ("%s/%s: the current version depends on the arrival order "
                      "(batch: %s, one by one in reverse: %s)", ht_record_kind (record),
                      ht_record_key (record), current? "one": "none",
                      current_again? "another": "none");
    if (ht_store_conflict_of (store, record) != ht_store_conflict_of (again, record))
        HT_FUZZ_FAIL ("%s/%s: a version is flagged differently by arrival order (%s, %s)",
                      ht_record_kind (record), ht_record_key (record),
                      ht_errname (ht_store_conflict_of (store, record)),
                      ht_errname (ht_store_conflict_of (again, record)));
    ht_record_destroy (&current);
    ht_record_destroy (&current_again);
}

//  The ownership rule is order-independent (DESIGN.md): the same records
//  applied one at a time in reverse order leave every entity as the
//  batch did
static void
s_check_order (ht_store_t *store, ht_record_t **records, size_t count,
               const ht_origin_t *origin)
{
    ht_store_t *again = s_store_fresh (s_dir_again);
    ht_origin_t each = *origin;
    for (size_t i = count; i-- > 0; ) {
        each.cursor++;
        if (ht_store_apply (again, &records [i], 1, &each, NULL, NULL))
            HT_FUZZ_FAIL ("a batch of one record failed as a whole");
    }
    (void) ht_store_quarantine_retry (again, 0);
    for (size_t i = 0; i < count; i++)
        s_check_same_current (store, again, records [i]);
    ht_store_destroy (&again);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    s_pki = ht_fuzz_initialize (argc, argv, true);
    const char *base = ht_fuzz_tmpdir ();
    snprintf (s_dir, sizeof s_dir, "%s/ht_fuzz_store_XXXXXX", base);
    HT_FUZZ_REQUIRE (mkdtemp (s_dir));
    snprintf (s_dir_again, sizeof s_dir_again, "%s/ht_fuzz_store_XXXXXX", base);
    HT_FUZZ_REQUIRE (mkdtemp (s_dir_again));
    atexit (s_cleanup);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    ht_fuzz_random_reset (size);
    ht_record_t *records [S_MAX_LINES];
    int signers [S_MAX_LINES], results [S_MAX_LINES];
    bool drafts [S_MAX_LINES];
    size_t count = s_read_lines (data, size, records, signers, drafts);
    if (count == 0)
        return 0;
    s_sign (records, signers, drafts, count, size % 2 == 1);

    ht_store_t *store = s_store_fresh (s_dir);
    uint8_t epoch [HT_EPOCH_BYTES];
    memset (epoch, 0xe7, sizeof epoch);
    ht_origin_t origin = { .lazy = true };
    if (size % 4 >= 2) {
        origin.peer = "fuzz-peer";
        origin.epoch = epoch;
        origin.cursor = 1;
    }
    ht_apply_stats_t stats;
    int rc = ht_store_apply (store, records, count, &origin, &stats, results);
    if (rc)
        HT_FUZZ_FAIL ("a small batch failed as a whole: %s", ht_strerror (rc));
    if (stats.applied + stats.unchanged + stats.historic + stats.quarantined
        + stats.conflicts != count)
        HT_FUZZ_FAIL ("the batch's stats do not add up to its %zu records", count);
    for (size_t i = 0; i < count && getenv ("HT_FUZZ_VERBOSE"); i++)
        fprintf (stderr, "fuzz_store: %s/%s by %d: %s\n", ht_record_kind (records [i]),
                 ht_record_key (records [i]), signers [i], ht_errname (results [i]));
    if (getenv ("HT_FUZZ_VERBOSE"))
        (void) ht_store_quarantine (store, s_print_quarantine, NULL);
    s_check_batch (store, records, results, count);
    //  What was quarantined may be tried again without harm
    (void) ht_store_quarantine_retry (store, 0);
    s_check_batch (store, records, results, count);
    if (!s_has_certs (records, count))
        s_check_order (store, records, count, &origin);
    ht_store_destroy (&store);
    for (size_t i = 0; i < count; i++)
        ht_record_destroy (&records [i]);
    return 0;
}
