//  hutong bench: signing, verifying and storing rates, each next to the raw
//  libsodium verify rate measured in the same run, so the figures compare
//  across machines as ratios.
#include <math.h>
#include <sodium.h>
#include "hutong.h"
#include "ht_record_complete.h"
#include "ht_valid.h"

#define S_MAX_RECORDS 10000000     //  all are held in memory at once
#define S_MAX_BATCH 100000          //  as for 'hutong put'
#define S_ROOTS 64                  //  batch roots a verifier remembers

static const ht_option_t s_bench_options [] = {
    HT_OPTION_UINT ("records", "N", 1, S_MAX_RECORDS, "records per measurement (default 20000)"),
    HT_OPTION_UINT ("batch", "N", 1, S_MAX_BATCH, "records per store transaction (default 1000)"),
    HT_OPTION_TEXT ("dir", "DIR", "where to create the scratch store (default /tmp)"),
    HT_OPTION_FLAG ("json", "print the figures as one JSON object"),
    HT_OPTION_END
};

static const ht_command_spec_t s_bench_spec = {
    "hutong bench [--records N] [--batch N] [--dir DIR] [--json]",
    "Measure records signed/s, verified/s (decode + all field digests +\n"
    "Ed25519) and stored/s (verify, authorize, validate, merge, index, in\n"
    "durable batches), next to the raw libsodium Ed25519 verify rate of a\n"
    "32-byte message measured in the same run; each for records signed\n"
    "alone and for records signed in batches of " HT_SIGN_BATCH_TEXT " (one Ed25519 signature\n"
    "per batch, checked once; docs/records.md §4a). A benchmark, not a test.",
    s_bench_options
};

typedef struct {
    const char *name;               //  what was measured
    double per_second;              //  how fast
} s_figure_t;

double
ht_bench_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static int
s_compare_doubles (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

void
ht_bench_sort (double *values, size_t count)
{
    qsort (values, count, sizeof (double), s_compare_doubles);
}

double
ht_bench_percentile (const double *sorted, size_t count, double p)
{
    if (count == 0)
        return -1;
    size_t rank = (size_t) ceil (p * (double) count);
    return sorted [rank == 0? 0: rank > count? count - 1: rank - 1];
}

double
ht_bench_verify_rate (size_t count)
{
    uint8_t public_key [crypto_sign_PUBLICKEYBYTES], secret_key [crypto_sign_SECRETKEYBYTES];
    uint8_t message [32], sig [crypto_sign_BYTES];
    crypto_sign_keypair (public_key, secret_key);
    randombytes_buf (message, sizeof message);
    crypto_sign_detached (sig, NULL, message, sizeof message, secret_key);
    double start = ht_bench_now ();
    for (size_t index = 0; index < count; index++)
        if (crypto_sign_verify_detached (sig, message, sizeof message, public_key) != 0)
            abort ();               //  our own signature: cannot fail
    return (double) count / (ht_bench_now () - start);
}

ht_record_t *
ht_bench_elder (size_t index, const uint8_t *idkey, ht_hlc_t *clock, const char *community)
{
    char id [HT_CITIZEN_ID_DIGITS + 1], birth [9], region [HT_REGION_BYTES];
    snprintf (birth, sizeof birth, "19%02zu%02zu%02zu", 30 + index % 30,
              1 + index / 30 % 12, 1 + index / 360 % 28);
    snprintf (id, sizeof id, "441802%s%03zu", birth, index / 10080 % 1000);
    id [17] = ht_citizen_id_check_char (id);
    id [18] = 0;
    if (community)
        snprintf (region, sizeof region, "%s", community);
    else
        snprintf (region, sizeof region, "441802001%03zu", 1 + index % 20);
    ht_record_t *record = ht_record_new ("elder");
    ht_complete_t context = { .idkey = idkey, .clock = clock };
    int rc = ht_record_set_region (record, region)
          || ht_record_set_str (record, "id_type", "居民身份证")
          || ht_record_set_str (record, "id_no", id)
          || ht_record_set_str (record, "name", "测试老人")
          || ht_record_set_int (record, "sex", ht_citizen_id_sex (id))
          || ht_record_set_str (record, "birth_date", birth)
          || ht_record_set_str (record, "hukou_region", region)
          || ht_record_set_str (record, "status", "active")
          || ht_record_complete (record, &context, NULL);
    if (rc)                         //  our own draft: a bug if it fails
        ht_record_destroy (&record);
    return record;
}

//  Sign count elders, alone or in batches of HT_SIGN_BATCH; the records
//  are returned for the next steps
static double
s_sign_rate (ht_record_t **records, size_t count, const ht_keypair_t *key,
             const uint8_t *idkey, bool batched)
{
    ht_hlc_t clock = { 0 };
    for (size_t index = 0; index < count; index++)
        records [index] = ht_bench_elder (index, idkey, &clock, NULL);
    double start = ht_bench_now ();
    for (size_t index = 0; index < count && !batched; index++)
        if (ht_record_sign (records [index], key))
            abort ();
    for (size_t offset = 0; offset < count && batched; offset += HT_SIGN_BATCH) {
        size_t size = count - offset < HT_SIGN_BATCH? count - offset: HT_SIGN_BATCH;
        if (ht_record_sign_batch (records + offset, size, key))
            abort ();
    }
    return (double) count / (ht_bench_now () - start);
}

//  Decode and verify every record from its encoded form, as a verifier
//  reading a stream does: remembering the batch roots it checked
static double
s_verify_rate (ht_record_t **records, size_t count)
{
    ht_record_roots_t *roots = ht_record_roots_new (S_ROOTS);
    uint8_t **data = (uint8_t **) calloc (count, sizeof (uint8_t *));
    size_t *sizes = (size_t *) calloc (count, sizeof (size_t));
    for (size_t index = 0; index < count; index++)
        if (ht_record_encode (records [index], &data [index], &sizes [index]))
            abort ();
    double start = ht_bench_now ();
    for (size_t index = 0; index < count; index++) {
        ht_record_t *record = ht_record_decode (data [index], sizes [index], NULL, NULL);
        if (!record || ht_record_verify_with (record, roots, NULL))
            abort ();
        ht_record_destroy (&record);
    }
    double rate = (double) count / (ht_bench_now () - start);
    ht_record_roots_destroy (&roots);
    for (size_t index = 0; index < count; index++)
        free (data [index]);
    free (data);
    free (sizes);
    return rate;
}

//  A fresh store under dir holding the root's certificate; NULL on failure
//  Store every record in batches into a fresh store: as a receiving node
//  does (encoded bytes in: decode, verify, authorize, merge, index), or
//  as `hutong put` does (records it just signed, which need no verify)
static double
s_store_rate (ht_record_t **records, size_t count, size_t batch, const char *dir,
              const ht_keypair_t *root, const uint8_t *idkey, bool received)
{
    char path [PATH_MAX];
    ht_store_t *store = ht_bench_scratch_store (path, dir, root, idkey);
    uint8_t **data = (uint8_t **) calloc (count, sizeof (uint8_t *));
    size_t *sizes = (size_t *) calloc (count, sizeof (size_t));
    for (size_t index = 0; received && index < count; index++)
        if (ht_record_encode (records [index], &data [index], &sizes [index]))
            abort ();
    double rate = -1;
    //  Received records come from a neighbour, as at a relay
    uint8_t epoch [HT_EPOCH_BYTES] = { 1 };
    ht_origin_t from_peer = { .peer = "bench-peer", .epoch = epoch, .cursor = 1 };
    if (store) {
        double start = ht_bench_now ();
        for (size_t offset = 0; offset < count; offset += batch) {
            size_t size = count - offset < batch? count - offset: batch;
            ht_apply_stats_t stats = { 0 };
            int rc = received
                   ? ht_store_apply_encoded (store, (const uint8_t *const *) data + offset,
                                             sizes + offset, size, &from_peer, &stats, NULL)
                   : ht_store_apply (store, records + offset, size, NULL, &stats, NULL);
            if (rc)
                abort ();
        }
        rate = (double) count / (ht_bench_now () - start);
        if (ht_store_count (store, "elder") != count)
            rate = -1;              //  something was refused: no figure
    }
    for (size_t index = 0; index < count; index++)
        free (data [index]);
    free (data);
    free (sizes);
    ht_bench_scratch_remove (&store, path);
    return rate;
}

//  Print the figures as a table or one JSON object
static void
s_print (const s_figure_t *figures, size_t count, double baseline, size_t records, bool json)
{
    json_t *out = json_object ();
    if (!json)
        printf ("%-34s %12s %10s\n", "measure (records)", "per second", "x verify");
    for (size_t index = 0; index < count; index++) {
        double ratio = figures [index].per_second / baseline;
        if (json) {
            json_t *item = json_pack ("{s:f, s:f}", "per_second", figures [index].per_second,
                                      "ratio", ratio);
            json_object_set_new (out, figures [index].name, item);
        }
        else
            printf ("%-34s %12.0f %10.3f\n", figures [index].name,
                    figures [index].per_second, ratio);
    }
    json_object_set_new (out, "records", json_integer ((json_int_t) records));
    if (json)
        ht_print_json (out);
    json_decref (out);
}

int
ht_cmd_bench (int argc, char **argv)
{
    enum { RECORDS, BATCH, DIR, JSON };
    const char *values [4];
    int first_arg, rc = ht_args_parse (&s_bench_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    long count = (long) ht_args_number (&s_bench_spec, values, RECORDS, 20000);
    long batch = (long) ht_args_number (&s_bench_spec, values, BATCH, 1000);
    uint8_t idkey [HT_IDKEY_BYTES];
    randombytes_buf (idkey, sizeof idkey);
    ht_keypair_t *root = ht_keypair_new ("bench");
    ht_record_t **records = (ht_record_t **) calloc ((size_t) count, sizeof (ht_record_t *));
    ht_record_t **batched = (ht_record_t **) calloc ((size_t) count, sizeof (ht_record_t *));
    s_figure_t figures [8];
    figures [0] = (s_figure_t) { "libsodium verify (baseline)", ht_bench_verify_rate ((size_t) count) };
    figures [1] = (s_figure_t) { "record sign", s_sign_rate (records, (size_t) count, root, idkey,
                                                             false) };
    figures [2] = (s_figure_t) { "record decode+verify", s_verify_rate (records, (size_t) count) };
    const char *dir = values [DIR]? values [DIR]: "/tmp";
    figures [3] = (s_figure_t) { "store received (verify, durable)",
                                 s_store_rate (records, (size_t) count, (size_t) batch,
                                               dir, root, idkey, true) };
    figures [4] = (s_figure_t) { "store put (signed here, durable)",
                                 s_store_rate (records, (size_t) count, (size_t) batch,
                                               dir, root, idkey, false) };
    figures [5] = (s_figure_t) { "batch-signed sign (" HT_SIGN_BATCH_TEXT " a batch)",
                                 s_sign_rate (batched, (size_t) count, root, idkey, true) };
    figures [6] = (s_figure_t) { "batch-signed decode+verify",
                                 s_verify_rate (batched, (size_t) count) };
    figures [7] = (s_figure_t) { "batch-signed store received",
                                 s_store_rate (batched, (size_t) count, (size_t) batch,
                                               dir, root, idkey, true) };
    s_print (figures, 8, figures [0].per_second, (size_t) count, values [JSON] != NULL);
    for (long index = 0; index < count; index++) {
        ht_record_destroy (&records [index]);
        ht_record_destroy (&batched [index]);
    }
    free (records);
    free (batched);
    ht_keypair_destroy (&root);
    return figures [3].per_second > 0 && figures [4].per_second > 0 && figures [7].per_second > 0
         ? HT_EXIT_OK: HT_EXIT_ERROR;
}
