//  hutong bench network: replication figures across running nodes — the
//  end-to-end rate of a bulk write at a community until all of it is
//  stored at the city, and the latency of single writes on an otherwise
//  idle network — next to the raw Ed25519 verify rate of this run.
#include <pthread.h>
#include <sodium.h>
#include "hutong.h"
#include "ht_client.h"

#define S_POLL_US 200               //  how often the city store is looked at
#define S_LATENCY_DEADLINE_S 10.0   //  a write slower than this is lost
#define S_MAX_RECORDS 100000000     //  bulk records per run
#define S_MAX_WRITES 1000000        //  single writes per run
#define S_MAX_BATCH 100000          //  as for 'hutong put'
#define S_MAX_CLIENTS 64            //  connections putting at once

static const ht_option_t s_options [] = {
    HT_OPTION_TEXT ("write-store", "DIR", "the community node's store (bulk writes go here)"),
    HT_OPTION_TEXT ("write-node", "ENDPOINT", "the community node's client endpoint (single writes)"),
    HT_OPTION_TEXT ("write-node-key", "PUB", "the community node's public key"),
    HT_OPTION_TEXT ("key", "KEYFILE", "the community's key (signs the elders)"),
    HT_OPTION_TEXT ("watch-store", "DIR", "the city node's store, watched for arrivals"),
    HT_OPTION_UINT ("records", "N", 1, S_MAX_RECORDS, "bulk records (default 100000)"),
    HT_OPTION_UINT ("writes", "N", 1, S_MAX_WRITES, "single writes timed for latency (default 200)"),
    HT_OPTION_UINT ("batch", "N", 1, S_MAX_BATCH, "records per write transaction (default 1000)"),
    HT_OPTION_FLAG ("via-store", "bulk: write the community store directly (default: its client socket)"),
    HT_OPTION_FLAG ("json", "print the figures as one JSON object"),
    HT_OPTION_UINT ("sign-batch", "N", 1, HT_BATCH_MAX_RECORDS,
                    "bulk: sign N records a signature, as hutong put does (default " HT_SIGN_BATCH_TEXT "; 1: each alone)"),
    HT_OPTION_UINT ("put-clients", "N", 1, S_MAX_CLIENTS,
                    "also: --puts single-record PUTs over 1 connection, then over N at once "
                    "(the node's limits/client_rate and client_burst must allow them)"),
    HT_OPTION_UINT ("puts", "N", 1, S_MAX_WRITES, "single-record PUTs for --put-clients (default 2000)"),
    HT_OPTION_END
};

static const ht_command_spec_t s_spec = {
    "hutong bench network --write-store DIR --write-node EP --write-node-key PUB\n"
    "                     --key KEYFILE --watch-store DIR [--records N] [--writes N]",
    "Against running nodes (tools/bench-network.sh starts a community ->\n"
    "township -> county -> city chain): time N elders written into the\n"
    "community's store until all are stored at the city, and time single\n"
    "writes sent to the community node until each is stored at the city.\n"
    "Prints records/s, p50/p99 latency, and the raw verify rate of this run.\n"
    "The bulk is signed as 'hutong put' signs it, in batches of --sign-batch\n"
    "records under one signature (records.md section 4a); single writes are\n"
    "signed alone. With --put-clients N: single-record PUTs acknowledged by\n"
    "the community node per second, over one connection and over N at once\n"
    "(the node stores the PUTs waiting at once in one transaction).",
    s_options
};

typedef struct {
    ht_store_t *write_store;        //  community store
    ht_store_t *watch_store;        //  city store
    ht_client_t *client;            //  community node
    ht_keypair_t *key;              //  community key
    char community [HT_REGION_BYTES];   //  its region
    ht_hlc_t clock;                 //  timestamps for drafts
    size_t next_index;              //  next distinct elder
    size_t sign_batch;              //  bulk records a signature
    const char *endpoint;           //  the community node's client socket
    uint8_t node_key [HT_PUBKEY_BYTES]; //  its public key
} s_bench_t;

//  An unsigned elder of the community
static ht_record_t *
s_elder (s_bench_t *self)
{
    return ht_bench_elder (self->next_index++, ht_store_idkey (self->write_store),
                           &self->clock, self->community);
}

//  Sign count records sign_batch a signature; false on failure
static bool
s_sign_bulk (s_bench_t *self, ht_record_t **records, size_t count)
{
    size_t step = self->sign_batch? self->sign_batch: 1;
    for (size_t offset = 0; offset < count; offset += step) {
        size_t size = count - offset < step? count - offset: step;
        int rc = size > 1? ht_record_sign_batch (records + offset, size, self->key)
                         : ht_record_sign (records [offset], self->key);
        if (rc)
            return false;
    }
    return true;
}

//  A signed elder of the community
static ht_record_t *
s_signed_elder (s_bench_t *self)
{
    ht_record_t *record = s_elder (self);
    if (record && ht_record_sign (record, self->key))
        ht_record_destroy (&record);
    return record;
}

//  Wait until the city holds count elders; seconds waited, or -1
static double
s_wait_count (s_bench_t *self, uint64_t count, double deadline_s)
{
    double start = ht_bench_now ();
    while (ht_store_count (self->watch_store, "elder") < count) {
        if (ht_bench_now () - start > deadline_s)
            return -1;
        usleep (S_POLL_US);
    }
    return ht_bench_now () - start;
}

//  Write one batch: into the store (another process, as `hutong put
//  --store` does; the node notices within poll_ms), or to the node over
//  its client socket (it notices at once); true if all were applied
static bool
s_write_batch (s_bench_t *self, ht_record_t **records, size_t size, bool via_store)
{
    ht_apply_stats_t stats = { 0 };
    if (via_store)
        return ht_store_apply (self->write_store, records, size, NULL, &stats, NULL) == 0
            && stats.applied == size;
    int error = 0;
    json_t *reply = ht_client_put (self->client, records, size, &error);
    bool ok = reply && (size_t) json_integer_value (json_object_get (reply, "applied")) == size;
    json_decref (reply);
    return ok;
}

//  Bulk: sign (untimed), then write and wait (timed); records/s or -1
static double
s_throughput (s_bench_t *self, size_t count, size_t batch, bool via_store)
{
    ht_record_t **records = (ht_record_t **) calloc (count, sizeof (ht_record_t *));
    bool ok = records != NULL;
    for (size_t index = 0; ok && index < count; index++)
        ok = (records [index] = s_elder (self)) != NULL;
    ok = ok && s_sign_bulk (self, records, count);
    uint64_t target = ht_store_count (self->watch_store, "elder") + count;
    double start = ht_bench_now ();
    for (size_t offset = 0; offset < count && ok; offset += batch) {
        size_t size = count - offset < batch? count - offset: batch;
        ok = s_write_batch (self, records + offset, size, via_store);
        if (ht_stderr_is_tty ())
            fprintf (stderr, "\rbench: wrote %zu of %zu", offset + size, count);
    }
    double written = ht_bench_now () - start;
    double waited = ok? s_wait_count (self, target, 600): -1;
    if (ht_stderr_is_tty ())
        fprintf (stderr, "\rbench: wrote %zu in %.1fs; all at the city after %.1fs\n",
                 count, written, written + waited);
    for (size_t index = 0; records && index < count; index++)
        ht_record_destroy (&records [index]);
    free (records);
    return waited < 0? -1: (double) count / (ht_bench_now () - start);
}

//  Single writes on an idle network: send, then watch the city store for
//  the key; fills the sorted latencies (ms), returns how many arrived
static size_t
s_latency (s_bench_t *self, size_t writes, double *latencies)
{
    size_t arrived = 0;
    for (size_t index = 0; index < writes; index++) {
        ht_record_t *record = s_signed_elder (self);
        char key [HT_KEY_MAX_CHARS + 1];
        snprintf (key, sizeof key, "%s", ht_record_key (record));
        int error = 0;
        double start = ht_bench_now ();
        json_t *reply = ht_client_put (self->client, &record, 1, &error);
        json_decref (reply);
        ht_record_destroy (&record);
        ht_record_t *found = NULL;
        while (reply && !found && ht_bench_now () - start < S_LATENCY_DEADLINE_S) {
            found = ht_store_get (self->watch_store, "elder", key, NULL);
            if (!found)
                usleep (S_POLL_US);
        }
        if (found)
            latencies [arrived++] = (ht_bench_now () - start) * 1000.0;
        ht_record_destroy (&found);
        usleep (20000);             //  let the network go idle again
    }
    ht_bench_sort (latencies, arrived);
    return arrived;
}

//  One connection putting its share of single-record PUTs, one at a time
typedef struct {
    const char *endpoint;           //  the community node
    const uint8_t *node_key;        //  its public key
    const ht_keypair_t *key;        //  the client's
    ht_record_t **records;          //  signed, one a PUT
    size_t count;
    double *latencies;              //  ms, one per PUT
    size_t acknowledged;            //  PUTs that stored their record
} s_putter_t;

static void *
s_putter_run (void *arg)
{
    s_putter_t *putter = (s_putter_t *) arg;
    ht_client_t *client = ht_client_new (putter->endpoint, putter->node_key, putter->key, 10000);
    for (size_t index = 0; client && index < putter->count; index++) {
        int error = 0;
        double start = ht_bench_now ();
        json_t *reply = ht_client_put (client, &putter->records [index], 1, &error);
        if (reply && json_integer_value (json_object_get (reply, "applied")) == 1)
            putter->latencies [putter->acknowledged++] = (ht_bench_now () - start) * 1000.0;
        json_decref (reply);
    }
    ht_client_destroy (&client);
    return NULL;
}

//  count single-record PUTs over clients connections at once: PUTs
//  acknowledged per second, and their p50/p99 (ms) in *p50, *p99
static double
s_puts (s_bench_t *self, size_t count, size_t clients, double *p50, double *p99)
{
    ht_record_t **records = (ht_record_t **) calloc (count + 1, sizeof (ht_record_t *));
    double *latencies = (double *) calloc (count + 1, sizeof (double));
    s_putter_t putters [S_MAX_CLIENTS];
    pthread_t threads [S_MAX_CLIENTS];
    bool ok = records && latencies;
    for (size_t index = 0; ok && index < count; index++)
        ok = (records [index] = s_signed_elder (self)) != NULL;
    size_t offset = 0, started = 0;
    double start = ht_bench_now ();
    for (size_t index = 0; ok && index < clients; index++) {
        size_t share = count / clients + (index < count % clients);
        putters [index] = (s_putter_t) { self->endpoint, self->node_key, self->key,
                                         records + offset, share, latencies + offset, 0 };
        offset += share;
        if (pthread_create (&threads [index], NULL, s_putter_run, &putters [index]) == 0)
            started++;
    }
    size_t acknowledged = 0;
    for (size_t index = 0; index < started; index++) {
        pthread_join (threads [index], NULL);
        acknowledged += putters [index].acknowledged;
    }
    double seconds = ht_bench_now () - start;
    //  Pack the acknowledged latencies together, then sort them
    size_t packed = 0;
    for (size_t index = 0; index < started; index++)
        for (size_t i = 0; i < putters [index].acknowledged; i++)
            latencies [packed++] = putters [index].latencies [i];
    ht_bench_sort (latencies, packed);
    *p50 = ht_bench_percentile (latencies, packed, 0.50);
    *p99 = ht_bench_percentile (latencies, packed, 0.99);
    for (size_t index = 0; records && index < count; index++)
        ht_record_destroy (&records [index]);
    free (records);
    free (latencies);
    return ok && started == clients && acknowledged == count? (double) count / seconds: -1;
}

//  Open stores, key and client from the options; exit code on failure
static int
s_open (s_bench_t *self, const char **values)
{
    enum { WRITE_STORE, WRITE_NODE, WRITE_NODE_KEY, KEY, WATCH_STORE };
    uint8_t node_key [HT_PUBKEY_BYTES];
    for (int index = WRITE_STORE; index <= WATCH_STORE; index++)
        if (!values [index])
            return ht_usage_error ("bench network: --write-store, --write-node, "
                                   "--write-node-key, --key and --watch-store are required");
    if (ht_public_load (values [WRITE_NODE_KEY], node_key))
        return ht_usage_error ("bench network: cannot read %s", values [WRITE_NODE_KEY]);
    if (!(self->key = ht_load_key (values [KEY]))
    ||  !(self->write_store = ht_open_store (values [WRITE_STORE]))
    ||  !(self->watch_store = ht_open_store (values [WATCH_STORE])))
        return HT_EXIT_ERROR;
    snprintf (self->community, sizeof self->community, "%s", ht_store_region (self->write_store));
    memcpy (self->node_key, node_key, HT_PUBKEY_BYTES);
    self->endpoint = values [WRITE_NODE];
    self->client = ht_client_new (values [WRITE_NODE], node_key, self->key, 10000);
    if (!self->client)
        return ht_usage_error ("bench network: cannot connect to %s", values [WRITE_NODE]);
    //  Elders already written by an earlier run keep their keys distinct
    self->next_index = (size_t) ht_store_count (self->write_store, "elder");
    return HT_EXIT_OK;
}

int
ht_cmd_bench_network (int argc, char **argv)
{
    enum { RECORDS = 5, WRITES, BATCH, VIA_STORE, JSON, SIGN_BATCH, PUT_CLIENTS, PUTS };
    const char *values [13];
    int first_arg, rc = ht_args_parse (&s_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    long records = (long) ht_args_number (&s_spec, values, RECORDS, 100000);
    long writes = (long) ht_args_number (&s_spec, values, WRITES, 200);
    long batch = (long) ht_args_number (&s_spec, values, BATCH, 1000);
    s_bench_t self = { 0 };
    self.sign_batch = (size_t) ht_args_number (&s_spec, values, SIGN_BATCH, HT_SIGN_BATCH);
    rc = s_open (&self, values);
    double *latencies = (double *) calloc ((size_t) writes, sizeof (double));
    if (rc == HT_EXIT_OK) {
        double baseline = ht_bench_verify_rate (20000);
        size_t arrived = s_latency (&self, (size_t) writes, latencies);
        double rate = s_throughput (&self, (size_t) records, (size_t) batch,
                                    values [VIA_STORE] != NULL);
        double p50 = ht_bench_percentile (latencies, arrived, 0.50);
        double p99 = ht_bench_percentile (latencies, arrived, 0.99);
        json_t *out = json_pack ("{s:f, s:f, s:f, s:I, s:I, s:f, s:f, s:f, s:I}",
            "verify_per_second", baseline, "records_per_second", rate,
            "ratio_to_verify", rate / baseline, "records", (json_int_t) records,
            "writes_arrived", (json_int_t) arrived, "latency_p50_ms", p50,
            "latency_p99_ms", p99, "latency_max_ms", arrived? latencies [arrived - 1]: -1.0,
            "sign_batch", (json_int_t) self.sign_batch);
        size_t clients = (size_t) ht_args_number (&s_spec, values, PUT_CLIENTS, 0);
        size_t puts = (size_t) ht_args_number (&s_spec, values, PUTS, 2000);
        double one_p50 = -1, one_p99 = -1, many_p50 = -1, many_p99 = -1;
        double one = clients? s_puts (&self, puts, 1, &one_p50, &one_p99): 0;
        double many = clients? s_puts (&self, puts, clients, &many_p50, &many_p99): 0;
        if (clients)
            json_object_update_new (out, json_pack ("{s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f}",
                "put_clients", (json_int_t) clients, "puts", (json_int_t) puts,
                "puts_per_second_1", one, "puts_per_second_n", many,
                "put_p50_ms_1", one_p50, "put_p99_ms_1", one_p99,
                "put_p50_ms_n", many_p50, "put_p99_ms_n", many_p99));
        if (clients && !values [JSON])
            printf ("single-record PUTs, 1 client  %9.0f /s  (p50 %.1f ms, p99 %.1f ms)\n"
                    "single-record PUTs, %2zu clients %8.0f /s  (p50 %.1f ms, p99 %.1f ms)\n",
                    one, one_p50, one_p99, clients, many, many_p50, many_p99);
        if (values [JSON])
            ht_print_json (out);
        else
            printf ("libsodium verify (baseline)  %10.0f /s\n"
                    "end to end, community->city  %10.0f records/s  (%.3f x verify; %zu a signature)\n"
                    "single write latency         p50 %.1f ms, p99 %.1f ms (%zu of %ld arrived)\n",
                    baseline, rate, rate / baseline, self.sign_batch, p50, p99, arrived, writes);
        json_decref (out);
        rc = rate > 0 && arrived == (size_t) writes && one >= 0 && many >= 0? HT_EXIT_OK
                                                                             : HT_EXIT_ERROR;
    }
    free (latencies);
    ht_client_destroy (&self.client);
    ht_store_destroy (&self.write_store);
    ht_store_destroy (&self.watch_store);
    ht_keypair_destroy (&self.key);
    return rc;
}
