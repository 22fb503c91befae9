//  hutong bench query: read figures over a running node's client socket
//  (CURVE, the C client, every record verified as it arrives) — GET and
//  FIND latency on random existing records, LIST records/s following
//  pages, COUNT latency over a whole region — next to what the same
//  reads cost without the socket, measured in the same run: raw LMDB
//  gets of the same keys (ht_store_get on the node's store, which the
//  node keeps serving), the redact/encode/decode/verify pipeline of the
//  same records, and a durable one-record commit (an audit record's
//  write) on the same disk. Latencies are split by kind and by whether
//  the node audited the read, so one run with mixed kinds compares
//  audited and unaudited reads interleaved. A benchmark: it prints
//  figures and never judges them.
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include "hutong.h"
#include "ht_client.h"
#include "ht_policy.h"

#define S_MAX_REQUESTS 10000000
#define S_MAX_SAMPLES 1000000       //  targets kept from the store
#define S_MAX_KINDS 8
#define S_NATURAL_BYTES 40          //  a citizen ID or a USCC
#define S_PAGE 1000                 //  LIST page size (the node's most)
#define S_MAX_GROUPS 32             //  (request, kind, audited) rows

static const ht_option_t s_options [] = {
    HT_OPTION_TEXT ("node", "ENDPOINT", "the node's client endpoint, e.g. tcp://127.0.0.1:7201"),
    HT_OPTION_TEXT ("node-key", "PUB", "the node's public key (file or hex)"),
    HT_OPTION_TEXT ("key", "KEYFILE", "our key, certified by the node"),
    HT_OPTION_TEXT ("purpose", "CODE", "why we read (needed for personal fields)"),
    HT_OPTION_UINT ("count", "N", 1, S_MAX_REQUESTS, "GET requests, and as many FINDs (default 10000)"),
    HT_OPTION_TEXT ("keys", "FILE", "GET targets: 'KEY' or 'KIND KEY' a line (default: sampled from --store)"),
    HT_OPTION_TEXT ("ids", "FILE", "FIND targets: 'ID' (elder id_no) or 'KIND VALUE' a line"),
    HT_OPTION_TEXT ("store", "DIR", "the node's store: samples targets, and the raw LMDB baseline"),
    HT_OPTION_TEXT ("kinds", "LIST", "kinds sampled from --store, comma-separated (default elder)"),
    HT_OPTION_TEXT ("region", "CODE", "LIST and COUNT region (default: our jurisdiction)"),
    HT_OPTION_TEXT ("list-kind", "KIND", "kind LIST and COUNT read (default elder)"),
    HT_OPTION_UINT ("list-records", "N", 0, S_MAX_REQUESTS, "LIST until this many records (default 100000; 0: no LIST)"),
    HT_OPTION_UINT ("counts", "N", 0, 100000, "COUNT requests (default 20)"),
    HT_OPTION_UINT ("warmup", "N", 0, 100000, "untimed requests first (default 200)"),
    HT_OPTION_UINT ("clients", "N", 1, 64, "GET/FIND over N connections at once, a thread each (default 1)"),
    HT_OPTION_TEXT ("scratch", "DIR", "time durable one-record commits in a scratch store here"),
    HT_OPTION_UINT ("commits", "N", 1, 100000, "scratch commits timed (default 200)"),
    HT_OPTION_UINT ("timeout", "MS", 1, 3600000, "how long to wait for each answer (default 10000)"),
    HT_OPTION_TEXT ("label", "TEXT", "a name for this run in the output"),
    HT_OPTION_FLAG ("json", "print the figures as one JSON object"),
    HT_OPTION_END
};
enum { S_NODE, S_NODE_KEY, S_KEY, S_PURPOSE, S_COUNT, S_KEYS, S_IDS, S_STORE, S_KINDS,
       S_REGION, S_LIST_KIND, S_LIST_RECORDS, S_COUNTS, S_WARMUP, S_CLIENTS, S_SCRATCH, S_COMMITS,
       S_TIMEOUT, S_LABEL, S_JSON, S_OPTION_COUNT };

static const ht_command_spec_t s_spec = {
    "hutong bench query --node EP --node-key PUB --key KEYFILE [--purpose CODE]\n"
    "                   [--count N] [--keys FILE] [--ids FILE] [--store DIR] [--json]",
    "Against a running node (tools/bench-query.sh starts one with a city of\n"
    "elders): time --count GETs of random existing records and as many FINDs\n"
    "(elders by id_no, facilities by USCC), interleaved; LIST in pages of\n"
    "1000 until --list-records; --counts COUNTs over the region. Each\n"
    "latency includes the client's verification of every record. Rows are\n"
    "split by kind and by whether the node audited the read. With --store\n"
    "(the node's store; read only) targets are sampled from it and the same\n"
    "keys are read again through ht_store_get as the baseline; with\n"
    "--scratch a durable one-record commit is timed on that disk. Prints\n"
    "p50/p99/max per row; a benchmark, not a test.",
    s_options
};

//  One record to read: by key (GET) and by natural key (FIND)
typedef struct {
    char kind [HT_KIND_MAX_CHARS + 1];
    char key [HT_KEY_MAX_CHARS + 1];
    char natural [S_NATURAL_BYTES];     //  id_no or uscc, "" if none
} s_target_t;

typedef struct {
    s_target_t *items;
    size_t count, capacity;
} s_pool_t;

//  Latency summary of one row
typedef struct {
    char label [64];
    const char *request;                //  "get", "find", ...
    char kind [HT_KIND_MAX_CHARS + 1];
    int audited;                        //  1 yes, 0 no, -1 not a read
    size_t n;
    double p50, p99, max, mean;         //  ms
} s_row_t;

typedef struct {
    ht_client_t *client;
    ht_keypair_t *key;
    const char *endpoint;               //  for more connections
    uint8_t node_key [HT_PUBKEY_BYTES];
    int timeout;
    ht_store_t *store;                  //  or NULL
    const char *purpose;                //  or NULL
    const char *region;                 //  or NULL
    const char *list_kind;
    char policy [64];                   //  the node's name for our policy
    s_pool_t gets, finds;
    size_t failures;                    //  requests that failed
    size_t audited_reads;               //  answers that said audited
    char first_failure [256];
    s_row_t rows [S_MAX_GROUPS];
    size_t row_count;
    json_t *extra;                      //  LIST, COUNT, ratios
} s_bench_t;

//  --------------------------------------------------------------------------
//  Figures

//  Sort values (ms) and fill a row's figures
static void
s_summarise (s_row_t *row, double *values, size_t n)
{
    ht_bench_sort (values, n);
    double sum = 0;
    for (size_t index = 0; index < n; index++)
        sum += values [index];
    row->n = n;
    row->p50 = ht_bench_percentile (values, n, 0.50);
    row->p99 = ht_bench_percentile (values, n, 0.99);
    row->max = n? values [n - 1]: -1;
    row->mean = n? sum / (double) n: -1;
}

static s_row_t *
s_add_row (s_bench_t *self, const char *request, const char *kind, int audited,
           const char *label)
{
    if (self->row_count == S_MAX_GROUPS)
        return NULL;
    s_row_t *row = &self->rows [self->row_count++];
    memset (row, 0, sizeof (*row));
    row->request = request;
    snprintf (row->kind, sizeof row->kind, "%s", kind? kind: "");
    row->audited = audited;
    snprintf (row->label, sizeof row->label, "%s", label);
    return row;
}

static void
s_failed (s_bench_t *self, const char *what, int error)
{
    if (self->failures++ == 0)
        snprintf (self->first_failure, sizeof self->first_failure, "%s: %s (%s)", what,
                  ht_errname (error), ht_client_reason (self->client));
}

//  --------------------------------------------------------------------------
//  Targets

static void
s_pool_add (s_pool_t *pool, const char *kind, const char *key, const char *natural)
{
    if (pool->count == pool->capacity) {
        pool->capacity = pool->capacity? pool->capacity * 2: 1024;
        pool->items = (s_target_t *) realloc (pool->items, pool->capacity * sizeof (s_target_t));
    }
    s_target_t *target = &pool->items [pool->count++];
    snprintf (target->kind, sizeof target->kind, "%s", kind);
    snprintf (target->key, sizeof target->key, "%s", key? key: "");
    snprintf (target->natural, sizeof target->natural, "%s", natural? natural: "");
}

//  Read 'VALUE' or 'KIND VALUE' lines into pool (as keys, or natural
//  keys); the count read, or -1
static long
s_pool_load (s_pool_t *pool, const char *path, const char *default_kind, bool natural)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        fprintf (stderr, "hutong: bench query: cannot read %s: %s\n", path, strerror (errno));
        return -1;
    }
    char line [512], first [128], second [128];
    long loaded = 0;
    while (fgets (line, sizeof line, file)) {
        int fields = sscanf (line, "%127s %127s", first, second);
        const char *kind = fields == 2? first: default_kind;
        const char *value = fields == 2? second: first;
        if (fields < 1 || *first == '#' || !ht_schema_kind (kind))
            continue;
        s_pool_add (pool, kind, natural? NULL: value, natural? value: NULL);
        loaded++;
    }
    fclose (file);
    return loaded;
}

//  Reservoir sampling over a kind in the store
typedef struct {
    s_pool_t *pool;
    size_t first;                       //  this kind's slots start here
    size_t want;                        //  and number this many
    uint64_t seen;
} s_sampler_t;

static int
s_sample_each (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    s_sampler_t *sampler = (s_sampler_t *) arg;
    const char *kind = ht_record_kind (record);
    const char *natural = streq (kind, "elder")? ht_record_get_str (record, "id_no")
                        : streq (kind, "facility")? ht_record_get_str (record, "uscc"): NULL;
    sampler->seen++;
    size_t slot;
    if (sampler->pool->count < sampler->first + sampler->want) {
        s_pool_add (sampler->pool, kind, ht_record_key (record), natural);
        return 0;
    }
    slot = (size_t) (sampler->seen <= UINT32_MAX
                     ? randombytes_uniform ((uint32_t) sampler->seen)
                     : randombytes_random () % sampler->seen);
    if (slot < sampler->want) {
        s_target_t *target = &sampler->pool->items [sampler->first + slot];
        snprintf (target->key, sizeof target->key, "%s", ht_record_key (record));
        snprintf (target->natural, sizeof target->natural, "%s", natural? natural: "");
    }
    return 0;
}

//  Sample up to want records of each kind in the list; 0 or an exit code
static int
s_sample_store (s_bench_t *self, const char *kinds, size_t want)
{
    char list [256], *saveptr = NULL;
    snprintf (list, sizeof list, "%s", kinds);
    const char *names [S_MAX_KINDS];
    size_t kind_count = 0;
    for (char *name = strtok_r (list, ",", &saveptr); name && kind_count < S_MAX_KINDS;
         name = strtok_r (NULL, ",", &saveptr)) {
        if (!ht_schema_kind (name))
            return ht_usage_error ("bench query: --kinds: unknown kind '%s'", name);
        names [kind_count++] = name;
    }
    if (kind_count == 0)
        return ht_usage_error ("bench query: --kinds names no kind");
    size_t each = want / kind_count? want / kind_count: 1;
    double start = ht_bench_now ();
    for (size_t index = 0; index < kind_count; index++) {
        s_sampler_t sampler = { &self->gets, self->gets.count, each, 0 };
        int rc = ht_store_list (self->store, names [index], "", NULL, 0, s_sample_each, &sampler);
        if (rc < 0)
            return ht_fail ("bench query: sampling the store", rc);
        if (sampler.seen == 0)
            fprintf (stderr, "hutong: bench query: the store holds no %s\n", names [index]);
    }
    for (size_t index = 0; index < self->gets.count; index++)
        if (*self->gets.items [index].natural)
            s_pool_add (&self->finds, self->gets.items [index].kind, NULL,
                        self->gets.items [index].natural);
    fprintf (stderr, "bench query: sampled %zu records (%s) from the store in %.1f s\n",
             self->gets.count, kinds, ht_bench_now () - start);
    return HT_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  Requests over the socket

//  One client connection doing GETs and FINDs; with --clients N, N of
//  them run at once, each in its own thread with its own connection
typedef struct {
    double ms;
    uint32_t target;                    //  index in gets or finds
    bool find;
    bool audited;
} s_sample_t;

typedef struct {
    const s_bench_t *bench;             //  pools, purpose (read only)
    ht_client_t *client;                //  this worker's connection
    size_t count, warmup;               //  rounds (a GET and a FIND each)
    s_sample_t *samples;
    size_t sample_count;
    uint32_t *sequence;                 //  GET targets, for the baseline
    size_t sequence_count;
    size_t failures, audited_reads;
    char first_failure [256];
    char policy [64];
    bool progress;                      //  this one reports progress
} s_worker_t;

static void
s_worker_failed (s_worker_t *self, const char *what, int error)
{
    if (self->failures++ == 0)
        snprintf (self->first_failure, sizeof self->first_failure, "%s: %s (%s)", what,
                  ht_errname (error), ht_client_reason (self->client));
}

//  One GET or FIND; ms, or -1 on failure. *audited from the answer.
static double
s_read_one (s_worker_t *self, const s_target_t *target, bool find, bool *audited)
{
    ht_client_result_t result;
    const char *purpose = self->bench->purpose;
    double start = ht_bench_now ();
    int rc = find? ht_client_find (self->client, target->kind, target->natural, purpose, &result)
                 : ht_client_get (self->client, target->kind, target->key, purpose, &result);
    double elapsed = (ht_bench_now () - start) * 1000.0;
    if (rc != HT_OK) {
        s_worker_failed (self, find? "FIND": "GET", rc);
        return -1;
    }
    *audited = json_is_true (json_object_get (result.json, "audited"));
    if (*audited)
        self->audited_reads++;
    const char *policy = json_string_value (json_object_get (result.json, "policy"));
    if (!*self->policy && policy)
        snprintf (self->policy, sizeof self->policy, "%s", policy);
    bool one = result.count == 1;
    ht_client_result_free (&result);
    if (!one) {
        s_worker_failed (self, find? "FIND (not one record)": "GET (not one record)",
                         HT_EMALFORMED);
        return -1;
    }
    return elapsed;
}

//  Warm up untimed (connect, handshake, caches on both sides), then the
//  GETs and FINDs, interleaved (one of each per round) so both see the
//  same noise
static void *
s_worker_run (void *arg)
{
    s_worker_t *self = (s_worker_t *) arg;
    const s_pool_t *gets = &self->bench->gets, *finds = &self->bench->finds;
    bool audited;
    for (size_t index = 0; index < self->warmup && gets->count; index++)
        s_read_one (self, &gets->items [randombytes_uniform ((uint32_t) gets->count)], false,
                    &audited);
    self->failures = 0;
    self->first_failure [0] = 0;
    for (size_t index = 0; index < self->count; index++) {
        if (gets->count) {
            uint32_t target = randombytes_uniform ((uint32_t) gets->count);
            self->sequence [self->sequence_count++] = target;
            double ms = s_read_one (self, &gets->items [target], false, &audited);
            if (ms >= 0)
                self->samples [self->sample_count++] = (s_sample_t) { ms, target, false, audited };
        }
        if (finds->count) {
            uint32_t target = randombytes_uniform ((uint32_t) finds->count);
            double ms = s_read_one (self, &finds->items [target], true, &audited);
            if (ms >= 0)
                self->samples [self->sample_count++] = (s_sample_t) { ms, target, true, audited };
        }
        if (self->progress && ht_stderr_is_tty () && (index + 1) % 1000 == 0)
            fprintf (stderr, "\rbench query: %zu of %zu reads", index + 1, self->count);
    }
    if (self->progress && ht_stderr_is_tty ())
        fprintf (stderr, "\n");
    return NULL;
}

//  Which row a read goes to: by request, kind and audited
typedef struct {
    const char *request;
    char kind [HT_KIND_MAX_CHARS + 1];
    bool audited;
    double *values;
    size_t n;
} s_group_t;

static s_group_t *
s_group (s_group_t *groups, size_t *group_count, const char *request, const char *kind,
         bool audited, size_t capacity)
{
    for (size_t index = 0; index < *group_count; index++)
        if (streq (groups [index].request, request) && streq (groups [index].kind, kind)
        &&  groups [index].audited == audited)
            return &groups [index];
    if (*group_count == S_MAX_GROUPS)
        return NULL;
    s_group_t *group = &groups [(*group_count)++];
    group->request = request;
    snprintf (group->kind, sizeof group->kind, "%s", kind);
    group->audited = audited;
    group->values = (double *) calloc (capacity, sizeof (double));
    group->n = 0;
    return group;
}

static int
s_compare_groups (const void *a, const void *b)
{
    const s_group_t *x = (const s_group_t *) a, *y = (const s_group_t *) b;
    int rc = strcmp (x->request, y->request);
    if (rc == 0)
        rc = strcmp (x->kind, y->kind);
    return rc? rc: (int) y->audited - (int) x->audited;
}

//  count rounds of a GET and a FIND over clients connections (count
//  split between them), warm-up first; the GET targets go to sequence
//  (for the store baseline), *sequence_count how many
static void
s_reads (s_bench_t *self, size_t count, size_t clients, size_t warmup, uint32_t *sequence,
         size_t *sequence_count)
{
    s_worker_t *workers = (s_worker_t *) calloc (clients, sizeof (s_worker_t));
    pthread_t *threads = (pthread_t *) calloc (clients, sizeof (pthread_t));
    bool *started = (bool *) calloc (clients, sizeof (bool));
    for (size_t index = 0; index < clients; index++) {
        s_worker_t *worker = &workers [index];
        worker->bench = self;
        worker->client = index == 0? self->client
                       : ht_client_new (self->endpoint, self->node_key, self->key, self->timeout);
        worker->count = count / clients + (index < count % clients);
        worker->warmup = warmup / clients + 1;
        worker->samples = (s_sample_t *) calloc (2 * worker->count + 1, sizeof (s_sample_t));
        worker->sequence = (uint32_t *) calloc (worker->count + 1, sizeof (uint32_t));
        worker->progress = index == 0;
    }
    double start = ht_bench_now ();
    if (clients == 1)
        s_worker_run (&workers [0]);
    else
        for (size_t index = 0; index < clients; index++)
            started [index] = workers [index].client
                           && pthread_create (&threads [index], NULL, s_worker_run,
                                              &workers [index]) == 0;
    for (size_t index = 0; clients > 1 && index < clients; index++)
        if (started [index])
            pthread_join (threads [index], NULL);
    double seconds = ht_bench_now () - start;
    //  Merge: rows by request, kind and audited
    s_group_t groups [S_MAX_GROUPS];
    size_t group_count = 0, reads = 0;
    *sequence_count = 0;
    for (size_t index = 0; index < clients; index++) {
        s_worker_t *worker = &workers [index];
        if (!worker->client || (clients > 1 && !started [index]))
            snprintf (worker->first_failure, sizeof worker->first_failure,
                      "client %zu could not start", index), worker->failures++;
        for (size_t at = 0; at < worker->sample_count; at++) {
            const s_sample_t *sample = &worker->samples [at];
            const s_target_t *target = sample->find? &self->finds.items [sample->target]
                                                   : &self->gets.items [sample->target];
            s_group_t *group = s_group (groups, &group_count, sample->find? "find": "get",
                                        target->kind, sample->audited, 2 * count);
            if (group)
                group->values [group->n++] = sample->ms;
        }
        reads += worker->sample_count;
        memcpy (sequence + *sequence_count, worker->sequence,
                worker->sequence_count * sizeof (uint32_t));
        *sequence_count += worker->sequence_count;
        if (worker->failures && self->failures++ == 0)
            snprintf (self->first_failure, sizeof self->first_failure, "%s",
                      worker->first_failure);
        self->failures += worker->failures? worker->failures - 1: 0;
        self->audited_reads += worker->audited_reads;
        if (!*self->policy)
            snprintf (self->policy, sizeof self->policy, "%s", worker->policy);
        free (worker->samples);
        free (worker->sequence);
        if (index > 0)
            ht_client_destroy (&worker->client);
    }
    json_object_set_new (self->extra, "reads", json_pack ("{s:I, s:I, s:f, s:f}",
        "clients", (json_int_t) clients, "answered", (json_int_t) reads, "seconds", seconds,
        "per_second", seconds > 0? (double) reads / seconds: 0.0));
    qsort (groups, group_count, sizeof (s_group_t), s_compare_groups);
    for (size_t index = 0; index < group_count; index++) {
        s_group_t *group = &groups [index];
        char label [64];
        snprintf (label, sizeof label, "%s %s (%s)", streq (group->request, "get")? "GET": "FIND",
                  group->kind, group->audited? "audited": "not audited");
        s_row_t *row = s_add_row (self, group->request, group->kind, group->audited, label);
        if (row)
            s_summarise (row, group->values, group->n);
        free (group->values);
    }
    free (workers);
    free (threads);
    free (started);
}

//  LIST pages of S_PAGE until records or the end
static void
s_list (s_bench_t *self, size_t records)
{
    char cursor [512] = "";
    size_t listed = 0, pages = 0, audited = 0, capacity = records / S_PAGE + 2;
    double *latencies = (double *) calloc (capacity, sizeof (double));
    ht_client_query_t query = { .purpose = self->purpose, .region = self->region,
                                .max = S_PAGE };
    double start = ht_bench_now ();
    bool ended = false;
    while (listed < records && pages < capacity) {
        ht_client_result_t result;
        double page_start = ht_bench_now ();
        int rc = ht_client_list (self->client, self->list_kind, &query, &result);
        if (rc != HT_OK) {
            s_failed (self, "LIST", rc);
            break;
        }
        latencies [pages++] = (ht_bench_now () - page_start) * 1000.0;
        listed += result.count;
        if (json_is_true (json_object_get (result.json, "audited"))) {
            audited++;
            self->audited_reads++;
        }
        const char *next = json_string_value (json_object_get (result.json, "next"));
        snprintf (cursor, sizeof cursor, "%s", next? next: "");
        ht_client_result_free (&result);
        if (!*cursor) {
            ended = true;
            break;
        }
        query.after = cursor;
        if (ht_stderr_is_tty ())
            fprintf (stderr, "\rbench query: listed %zu records", listed);
    }
    double seconds = ht_bench_now () - start;
    if (ht_stderr_is_tty ())
        fprintf (stderr, "\n");
    char label [64];
    snprintf (label, sizeof label, "LIST %s page of %d", self->list_kind, S_PAGE);
    s_row_t *row = s_add_row (self, "list", self->list_kind, audited? 1: 0, label);
    if (row)
        s_summarise (row, latencies, pages);
    json_object_set_new (self->extra, "list", json_pack ("{s:s, s:I, s:I, s:I, s:f, s:f, s:b}",
        "kind", self->list_kind, "records", (json_int_t) listed, "pages", (json_int_t) pages,
        "audited_pages", (json_int_t) audited, "seconds", seconds,
        "records_per_second", seconds > 0? (double) listed / seconds: 0.0, "reached_end", ended));
    free (latencies);
}

//  COUNT over the region, count times
static void
s_count (s_bench_t *self, size_t count)
{
    double *latencies = (double *) calloc (count + 1, sizeof (double));
    size_t done = 0;
    json_int_t total = -1;
    char region [HT_REGION_BYTES] = "";
    for (size_t index = 0; index < count; index++) {
        int error = 0;
        double start = ht_bench_now ();
        json_t *reply = ht_client_count (self->client, self->list_kind, self->region,
                                         self->purpose, &error);
        double ms = (ht_bench_now () - start) * 1000.0;
        if (!reply) {
            s_failed (self, "COUNT", error);
            continue;
        }
        latencies [done++] = ms;
        total = json_integer_value (json_object_get (reply, "total"));
        const char *code = json_string_value (json_object_get (reply, "region"));
        snprintf (region, sizeof region, "%s", code? code: "");
        json_decref (reply);
    }
    char label [64];
    snprintf (label, sizeof label, "COUNT %s in %s", self->list_kind, region);
    s_row_t *row = s_add_row (self, "count", self->list_kind, 0, label);
    if (row)
        s_summarise (row, latencies, done);
    json_object_set_new (self->extra, "count", json_pack ("{s:s, s:s, s:I}", "kind",
        self->list_kind, "region", region, "total", total));
    free (latencies);
}

//  --------------------------------------------------------------------------
//  Without the socket

//  The same GETs straight from LMDB (ht_store_get: read transaction,
//  copy, decode), then the pipeline the node and client add per record:
//  redact under our policy and encode (node), decode and verify (client)
static void
s_store_baseline (s_bench_t *self, const uint32_t *sequence, size_t count)
{
    double *gets = (double *) calloc (count + 1, sizeof (double));
    double *node_side = (double *) calloc (count + 1, sizeof (double));
    double *client_side = (double *) calloc (count + 1, sizeof (double));
    size_t got = 0, piped = 0;
    const ht_policy_t *policy = *self->policy? ht_policy_find (self->policy): NULL;
    for (size_t index = 0; index < count; index++) {
        const s_target_t *target = &self->gets.items [sequence [index]];
        int error = 0;
        double start = ht_bench_now ();
        ht_record_t *record = ht_store_get (self->store, target->kind, target->key, &error);
        double ms = (ht_bench_now () - start) * 1000.0;
        if (!record)
            continue;
        gets [got++] = ms;
        ht_record_t *shown = NULL, *decoded = NULL;
        uint8_t *data = NULL;
        size_t size = 0;
        start = ht_bench_now ();
        if (policy)
            shown = ht_policy_redact (policy, record, &error);
        bool encoded = shown && ht_record_encode (shown, &data, &size) == HT_OK;
        double middle = ht_bench_now ();
        if (encoded)
            decoded = ht_record_decode (data, size, NULL, NULL);
        bool verified = decoded && ht_record_verify (decoded, NULL) == HT_OK;
        double end = ht_bench_now ();
        if (verified) {
            node_side [piped] = (middle - start) * 1000.0;
            client_side [piped++] = (end - middle) * 1000.0;
        }
        free (data);
        ht_record_destroy (&decoded);
        ht_record_destroy (&shown);
        ht_record_destroy (&record);
    }
    s_row_t *row = s_add_row (self, "store_get", NULL, -1, "ht_store_get (LMDB, same keys)");
    if (row)
        s_summarise (row, gets, got);
    row = s_add_row (self, "redact_encode", NULL, -1, "  node: redact + encode");
    if (row)
        s_summarise (row, node_side, piped);
    row = s_add_row (self, "decode_verify", NULL, -1, "  client: decode + verify");
    if (row)
        s_summarise (row, client_side, piped);
    free (gets);
    free (node_side);
    free (client_side);
}

//  A fresh scratch store under dir whose root may write elders; NULL on
//  failure (path receives its directory)
//  Durable one-record transactions, as the node commits one read's audit
//  record when no other read is waiting
static void
s_commit_probe (s_bench_t *self, const char *dir, size_t commits)
{
    char path [PATH_MAX];
    uint8_t idkey [HT_IDKEY_BYTES];
    randombytes_buf (idkey, sizeof idkey);
    ht_keypair_t *root = ht_keypair_new ("probe");
    ht_store_t *store = root? ht_bench_scratch_store (path, dir, root, idkey): NULL;
    double *latencies = (double *) calloc (commits, sizeof (double));
    size_t done = 0;
    ht_hlc_t clock = { 0 };
    for (size_t index = 0; store && index < commits; index++) {
        ht_record_t *record = ht_bench_elder (index, idkey, &clock, NULL);
        ht_apply_stats_t stats = { 0 };
        if (record && ht_record_sign (record, root) == HT_OK) {
            double start = ht_bench_now ();
            int rc = ht_store_apply (store, &record, 1, NULL, &stats, NULL);
            double ms = (ht_bench_now () - start) * 1000.0;
            if (rc == HT_OK && stats.applied == 1)
                latencies [done++] = ms;
        }
        ht_record_destroy (&record);
    }
    if (!store)
        fprintf (stderr, "hutong: bench query: cannot make a scratch store under %s\n", dir);
    s_row_t *row = s_add_row (self, "commit", NULL, -1, "durable 1-record commit (scratch)");
    if (row)
        s_summarise (row, latencies, done);
    free (latencies);
    if (store)
        ht_bench_scratch_remove (&store, path);
    ht_keypair_destroy (&root);
}

//  --------------------------------------------------------------------------
//  Output

static const s_row_t *
s_find_row (const s_bench_t *self, const char *request, const char *kind, int audited)
{
    for (size_t index = 0; index < self->row_count; index++) {
        const s_row_t *row = &self->rows [index];
        if (streq (row->request, request) && (!kind || streq (row->kind, kind))
        &&  (audited < 0 || row->audited == audited))
            return row;
    }
    return NULL;
}

static void
s_print (s_bench_t *self, const char *label, bool json)
{
    //  GET over the socket against the raw LMDB get of the same keys
    const s_row_t *store = s_find_row (self, "store_get", NULL, -1);
    json_t *ratios = json_object ();
    for (size_t index = 0; store && store->n && index < self->row_count; index++) {
        const s_row_t *row = &self->rows [index];
        if (!streq (row->request, "get") || !row->n)
            continue;
        char name [96];
        snprintf (name, sizeof name, "get_%s_%s_vs_store", row->kind,
                  row->audited? "audited": "unaudited");
        json_object_set_new (ratios, name, json_pack ("{s:f, s:f}",
            "p50", row->p50 / store->p50, "p99", row->p99 / store->p99));
    }
    if (json) {
        json_t *out = json_pack ("{s:s, s:s, s:s, s:I}", "label", label? label: "",
                                 "policy", self->policy,
                                 "purpose", self->purpose? self->purpose: "",
                                 "failures", (json_int_t) self->failures);
        json_t *rows = json_array ();
        for (size_t index = 0; index < self->row_count; index++) {
            const s_row_t *row = &self->rows [index];
            json_t *item = json_pack ("{s:s, s:s, s:s, s:I, s:f, s:f, s:f, s:f}",
                "label", row->label, "request", row->request, "kind", row->kind,
                "n", (json_int_t) row->n, "p50_ms", row->p50, "p99_ms", row->p99,
                "max_ms", row->max, "mean_ms", row->mean);
            if (row->audited >= 0)
                json_object_set_new (item, "audited", json_boolean (row->audited));
            json_array_append_new (rows, item);
        }
        json_object_set_new (out, "rows", rows);
        json_object_update (out, self->extra);
        json_object_set_new (out, "ratios", json_incref (ratios));
        if (*self->first_failure)
            json_object_set_new (out, "first_failure", json_string (self->first_failure));
        ht_print_json (out);
        json_decref (out);
    }
    else {
        printf ("bench query%s%s: policy %s, purpose %s\n", label? " ": "", label? label: "",
                *self->policy? self->policy: "?", self->purpose? self->purpose: "(none)");
        printf ("%-38s %8s %9s %9s %9s %9s\n", "measure", "n", "p50 ms", "p99 ms", "max ms",
                "mean ms");
        for (size_t index = 0; index < self->row_count; index++) {
            const s_row_t *row = &self->rows [index];
            printf ("%-38s %8zu %9.3f %9.3f %9.3f %9.3f\n", row->label, row->n, row->p50,
                    row->p99, row->max, row->mean);
        }
        json_t *list = json_object_get (self->extra, "list");
        if (list)
            printf ("LIST %s: %" JSON_INTEGER_FORMAT " records in %" JSON_INTEGER_FORMAT
                    " pages, %.0f records/s%s\n",
                    json_string_value (json_object_get (list, "kind")),
                    json_integer_value (json_object_get (list, "records")),
                    json_integer_value (json_object_get (list, "pages")),
                    json_real_value (json_object_get (list, "records_per_second")),
                    json_is_true (json_object_get (list, "reached_end"))? " (to the end)": "");
        json_t *count = json_object_get (self->extra, "count");
        if (count)
            printf ("COUNT %s in %s: total %" JSON_INTEGER_FORMAT "\n",
                    json_string_value (json_object_get (count, "kind")),
                    json_string_value (json_object_get (count, "region")),
                    json_integer_value (json_object_get (count, "total")));
        const char *name;
        json_t *ratio;
        json_object_foreach (ratios, name, ratio)
            printf ("ratio %s: p50 %.1fx, p99 %.1fx\n", name,
                    json_real_value (json_object_get (ratio, "p50")),
                    json_real_value (json_object_get (ratio, "p99")));
        if (self->failures)
            printf ("failed requests: %zu (first: %s)\n", self->failures, self->first_failure);
    }
    json_decref (ratios);
}

//  --------------------------------------------------------------------------
//  The command

static int
s_open (s_bench_t *self, const char **values)
{
    if (!values [S_NODE] || !values [S_NODE_KEY] || !values [S_KEY])
        return ht_usage_error ("bench query: --node, --node-key and --key are required");
    if (values [S_PURPOSE] && !ht_purpose_find (values [S_PURPOSE]))
        return ht_usage_error ("bench query: unknown purpose '%s' (hutong purposes lists them)",
                               values [S_PURPOSE]);
    if (values [S_LIST_KIND] && !ht_schema_kind (values [S_LIST_KIND]))
        return ht_usage_error ("bench query: --list-kind: unknown kind '%s'",
                               values [S_LIST_KIND]);
    if (ht_public_load (values [S_NODE_KEY], self->node_key))
        return ht_usage_error ("bench query: cannot read a public key from '%s'",
                               values [S_NODE_KEY]);
    if (!(self->key = ht_load_key (values [S_KEY])))
        return HT_EXIT_ERROR;
    if (values [S_STORE]) {
        //  Map what the file holds: the store's map is read-only address
        //  space (no MDB_WRITEMAP), so any size is safe beside the running
        //  node; this one grows no larger than the store needs
        char data [PATH_MAX];
        struct stat status;
        snprintf (data, sizeof data, "%s/data.mdb", values [S_STORE]);
        size_t map_bytes = stat (data, &status) == 0? (size_t) status.st_size: 0;
        int error = 0;
        self->store = ht_store_open (values [S_STORE], map_bytes, &error);
        if (!self->store)
            return ht_fail (values [S_STORE], error);
        ht_store_set_verbose (self->store, false);
    }
    self->timeout = (int) ht_args_number (&s_spec, values, S_TIMEOUT, 10000);
    self->endpoint = values [S_NODE];
    self->client = ht_client_new (values [S_NODE], self->node_key, self->key, self->timeout);
    if (!self->client)
        return ht_usage_error ("bench query: cannot connect to '%s'", values [S_NODE]);
    self->purpose = values [S_PURPOSE];
    self->region = values [S_REGION];
    self->list_kind = values [S_LIST_KIND]? values [S_LIST_KIND]: "elder";
    self->extra = json_object ();
    return HT_EXIT_OK;
}

static int
s_targets (s_bench_t *self, const char **values, size_t count)
{
    const char *kinds = values [S_KINDS]? values [S_KINDS]: "elder";
    char default_kind [HT_KIND_MAX_CHARS + 1];
    snprintf (default_kind, sizeof default_kind, "%.*s", (int) strcspn (kinds, ","), kinds);
    if (values [S_KEYS] && s_pool_load (&self->gets, values [S_KEYS], default_kind, false) < 0)
        return HT_EXIT_ERROR;
    if (values [S_IDS] && s_pool_load (&self->finds, values [S_IDS], "elder", true) < 0)
        return HT_EXIT_ERROR;
    if (!values [S_KEYS] && self->store) {
        s_pool_t finds = self->finds;
        self->finds = (s_pool_t) { 0 };
        int rc = s_sample_store (self, kinds, count < S_MAX_SAMPLES? count: S_MAX_SAMPLES);
        if (values [S_IDS]) {           //  the file's IDs, not the sampled ones
            free (self->finds.items);
            self->finds = finds;
        }
        else
            free (finds.items);
        if (rc)
            return rc;
    }
    if (!self->gets.count)
        return ht_usage_error ("bench query: no records to GET: give --keys FILE or "
                               "--store DIR (holding the kinds of --kinds)");
    return HT_EXIT_OK;
}

int
ht_cmd_bench_query (int argc, char **argv)
{
    const char *values [S_OPTION_COUNT];
    int first_arg, rc = ht_args_parse (&s_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (first_arg < argc)
        return ht_usage_error ("bench query: unexpected argument '%s'", argv [first_arg]);
    size_t count = (size_t) ht_args_number (&s_spec, values, S_COUNT, 10000);
    size_t list_records = (size_t) ht_args_number (&s_spec, values, S_LIST_RECORDS, 100000);
    size_t counts = (size_t) ht_args_number (&s_spec, values, S_COUNTS, 20);
    size_t warmup = (size_t) ht_args_number (&s_spec, values, S_WARMUP, 200);
    size_t clients = (size_t) ht_args_number (&s_spec, values, S_CLIENTS, 1);
    size_t sequence_count = 0;
    size_t commits = (size_t) ht_args_number (&s_spec, values, S_COMMITS, 200);
    s_bench_t self = { 0 };
    rc = s_open (&self, values);
    if (rc == HT_EXIT_OK)
        rc = s_targets (&self, values, count);
    uint32_t *sequence = (uint32_t *) calloc (count, sizeof (uint32_t));
    if (rc == HT_EXIT_OK) {
        uint64_t audits_before = self.store? ht_store_count (self.store, "audit"): 0;
        s_reads (&self, count, clients, warmup, sequence, &sequence_count);
        if (list_records)
            s_list (&self, list_records);
        if (counts)
            s_count (&self, counts);
        if (self.store) {
            //  The node stores each burst's audit records before it
            //  answers, so all of them are there by now
            json_object_set_new (self.extra, "audits", json_pack ("{s:I, s:I}",
                "audited_answers", (json_int_t) self.audited_reads,
                "audit_records_stored", (json_int_t) (ht_store_count (self.store, "audit")
                                                      - audits_before)));
            s_store_baseline (&self, sequence, sequence_count);
        }
        if (values [S_SCRATCH])
            s_commit_probe (&self, values [S_SCRATCH], commits);
        s_print (&self, values [S_LABEL], values [S_JSON] != NULL);
        json_t *audits = json_object_get (self.extra, "audits");
        if (!values [S_JSON] && audits)
            printf ("answers marked audited (warm-up included): %" JSON_INTEGER_FORMAT
                    "; audit records stored meanwhile: %" JSON_INTEGER_FORMAT "\n",
                    json_integer_value (json_object_get (audits, "audited_answers")),
                    json_integer_value (json_object_get (audits, "audit_records_stored")));
        rc = self.failures? HT_EXIT_ERROR: HT_EXIT_OK;
    }
    free (sequence);
    free (self.gets.items);
    free (self.finds.items);
    json_decref (self.extra);
    ht_client_destroy (&self.client);
    ht_store_destroy (&self.store);
    ht_keypair_destroy (&self.key);
    return rc;
}
