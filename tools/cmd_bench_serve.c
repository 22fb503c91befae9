//  hutong bench serve: what serving a child's PULLs costs per record sent,
//  for a small and a large change log holding the same records to send.
//  A city's log is mostly its counties' elders, which never flow down to
//  another county; through the routing index a PULL reads only what the
//  child holds, so the cost per record sent should not grow with the log.
#include <sodium.h>
#include "hutong.h"

#define S_MAX_LOG 20000000          //  records in the larger log
#define S_SCAN_FACTOR 20            //  as the node serves a PULL
#define S_FILL_BATCH 5000           //  records per store transaction
#define S_ROUNDS 31                 //  serving passes timed of each log, in
                                    //  turn; the fastest counts (other load
                                    //  on the machine only adds)
#define S_CHILD "441803000000"      //  the county served
#define S_CHILD_PREFIX "441803"     //  ... named by prefix: walked without the
                                    //  routing index, the whole log (as before it)
#define S_FULL_ROUNDS 3             //  whole-log passes timed (they are slow)
#define S_CHILD_COMMUNITY "441803001001"    //  where its records live

static const ht_option_t s_serve_options [] = {
    HT_OPTION_UINT ("small", "N", 1000, S_MAX_LOG, "records in the smaller log (default 100000)"),
    HT_OPTION_UINT ("large", "N", 1000, S_MAX_LOG, "records in the larger log (default 1000000)"),
    HT_OPTION_UINT ("send", "N", 1, 1000000, "records the child holds, in each log (default 2000)"),
    HT_OPTION_UINT ("batch", "N", 1, 100000, "records per BATCH, as limits/batch (default 5000)"),
    HT_OPTION_TEXT ("dir", "DIR", "where to create the scratch stores (default /tmp)"),
    HT_OPTION_FLAG ("json", "print the figures as one JSON object"),
    HT_OPTION_END
};

static const ht_command_spec_t s_serve_spec = {
    "hutong bench serve [--small N] [--large N] [--send N] [--batch N] [--dir DIR] [--json]",
    "Build two scratch city stores: one of --small records, one of --large,\n"
    "each with the same --send records held by one county (spread through\n"
    "the log) and the rest in another county. Then serve that county's\n"
    "PULLs from cursor 0 to the log's end, as the node does (at most 20 x\n"
    "batch entries examined per PULL), through the routing index and, for\n"
    "comparison, walking the whole log as before it, the two logs in turn\n"
    "(31 rounds each; the fastest of each counts); print the PULLs, log\n"
    "entries examined and time per record sent for each, and the ratios\n"
    "large / small (1.0 is flat). Needs disk for both stores (about 2 KiB a\n"
    "record). A benchmark, not a test.",
    s_serve_options
};

//  One log's figures
typedef struct {
    size_t records;                 //  in the log
    size_t sent;                    //  records served to the child
    size_t pulls;                   //  PULLs it took
    size_t examined;                //  log entries examined
    double us_per_record;           //  fastest serving time per record sent
    size_t full_pulls;              //  the same, walking the whole log
    size_t full_examined;
    double full_us_per_record;
    double fill_s;                  //  building the store took
} s_log_t;

//  Collect served records as the node does, up to a batch
typedef struct {
    zmsg_t *records;
    size_t count;
    size_t max;
} s_batch_t;

static int
s_take (void *arg, uint64_t seq, const uint8_t *data, size_t size, const char *origin)
{
    (void) seq; (void) origin;
    s_batch_t *batch = (s_batch_t *) arg;
    if (batch->count >= batch->max)
        return 1;
    zmsg_addmem (batch->records, data, size);
    batch->count++;
    return 0;
}

//  Fill store with count records, send of them the child's, spread evenly
static int
s_fill (ht_store_t *store, size_t count, size_t send, const ht_keypair_t *root,
        const uint8_t *idkey)
{
    ht_hlc_t clock = { 0 };
    ht_record_t *records [S_FILL_BATCH];
    size_t every = count / send, sent = 0;
    for (size_t offset = 0; offset < count; offset += S_FILL_BATCH) {
        size_t size = count - offset < S_FILL_BATCH? count - offset: S_FILL_BATCH;
        for (size_t i = 0; i < size; i++) {
            size_t index = offset + i;
            bool child = sent < send && index % every == every / 2;
            //  The child's elders are numbered past the others
            records [i] = ht_bench_elder (child? S_MAX_LOG + sent: index, idkey, &clock,
                                          child? S_CHILD_COMMUNITY: NULL);
            sent += child;
            if (!records [i] || ht_record_sign (records [i], root))
                return HT_EINVAL;
        }
        ht_apply_stats_t stats = { 0 };
        int rc = ht_store_apply (store, records, size, NULL, &stats, NULL);
        for (size_t i = 0; i < size; i++)
            ht_record_destroy (&records [i]);
        if (rc || stats.applied != size)
            return rc? rc: HT_EINVAL;
    }
    return sent == send? 0: HT_EINVAL;
}

//  Serve the child (holder) from cursor 0 to the end once; seconds taken
static double
s_serve_once (ht_store_t *store, size_t batch_max, const char *holder, s_log_t *log)
{
    uint64_t last_seq = ht_store_last_seq (store), cursor = 0;
    log->sent = log->pulls = log->examined = 0;
    double start = ht_bench_now ();
    while (true) {
        s_batch_t batch = { zmsg_new (), 0, batch_max };
        uint64_t last = cursor;
        int rc = ht_store_changes_for (store, cursor, batch_max * S_SCAN_FACTOR, holder,
                                       S_CHILD, 0, s_take, &batch, &last);
        zmsg_destroy (&batch.records);
        if (rc < 0)
            return -1;
        log->examined += (size_t) rc;
        log->pulls++;
        log->sent += batch.count;
        bool more = batch.count == batch_max || last < last_seq;
        cursor = last;
        if (!more)
            break;
    }
    return ht_bench_now () - start;
}

//  A log being measured: its store, and the fastest of its rounds
typedef struct {
    ht_store_t *store;
    char path [PATH_MAX];
    ht_keypair_t *root;
    double fastest;                 //  seconds, index walk (-1: none yet)
    double full_fastest;            //  ... whole-log walk
} s_scratch_t;

//  Build one log; 0 or an error
static int
s_build (const char *dir, size_t count, size_t send, s_log_t *log, s_scratch_t *scratch)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    randombytes_buf (idkey, sizeof idkey);
    scratch->root = ht_keypair_new ("bench");
    scratch->store = scratch->root
                   ? ht_bench_scratch_store (scratch->path, dir, scratch->root, idkey): NULL;
    scratch->fastest = scratch->full_fastest = -1;
    log->records = count;
    double start = ht_bench_now ();
    int rc = scratch->store? s_fill (scratch->store, count, send, scratch->root, idkey)
                           : HT_ESTORE;
    log->fill_s = ht_bench_now () - start;
    return rc;
}

//  One serving pass of a log, by the index (full: walking the whole log),
//  keeping the fastest; 0 or an error
static int
s_round (s_scratch_t *scratch, size_t batch_max, size_t send, bool full, s_log_t *log)
{
    double once = s_serve_once (scratch->store, batch_max, full? S_CHILD_PREFIX: S_CHILD, log);
    //  The child also holds the root's certificate (its scope is the city)
    if (once < 0 || log->sent < send)
        return HT_ESTORE;
    double *fastest = full? &scratch->full_fastest: &scratch->fastest;
    if (*fastest < 0 || once < *fastest)
        *fastest = once;
    if (full) {
        log->full_pulls = log->pulls;
        log->full_examined = log->examined;
    }
    return 0;
}

//  Build both logs, then serve them in turn, round after round: whatever
//  else the machine does meanwhile falls on both alike, and the fastest
//  round of each counts (other load only adds). 0 or an error.
static int
s_measure (const char *dir, const size_t counts [2], size_t send, size_t batch_max,
           s_log_t logs [2])
{
    s_scratch_t scratch [2];
    memset (scratch, 0, sizeof scratch);
    int rc = 0;
    for (int i = 0; rc == 0 && i < 2; i++)
        rc = s_build (dir, counts [i], send, &logs [i], &scratch [i]);
    //  Before the index: the whole log walked, a few times
    for (int round = 0; rc == 0 && round < S_FULL_ROUNDS; round++)
        for (int i = 0; rc == 0 && i < 2; i++)
            rc = s_round (&scratch [i], batch_max, send, true, &logs [i]);
    for (int round = 0; rc == 0 && round < S_ROUNDS; round++)
        for (int i = 0; rc == 0 && i < 2; i++)
            rc = s_round (&scratch [round % 2? 1 - i: i], batch_max, send, false,
                          &logs [round % 2? 1 - i: i]);
    for (int i = 0; i < 2; i++) {
        if (rc == 0) {
            logs [i].us_per_record = scratch [i].fastest * 1e6 / (double) logs [i].sent;
            logs [i].full_us_per_record = scratch [i].full_fastest * 1e6
                                        / (double) (logs [i].sent? logs [i].sent: 1);
        }
        if (scratch [i].store)
            ht_bench_scratch_remove (&scratch [i].store, scratch [i].path);
        ht_keypair_destroy (&scratch [i].root);
    }
    return rc;
}

int
ht_cmd_bench_serve (int argc, char **argv)
{
    enum { SMALL, LARGE, SEND, BATCH, DIR, JSON };
    const char *values [6];
    int first_arg, rc = ht_args_parse (&s_serve_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    size_t small = (size_t) ht_args_number (&s_serve_spec, values, SMALL, 100000);
    size_t large = (size_t) ht_args_number (&s_serve_spec, values, LARGE, 1000000);
    size_t send = (size_t) ht_args_number (&s_serve_spec, values, SEND, 2000);
    size_t batch = (size_t) ht_args_number (&s_serve_spec, values, BATCH, 5000);
    const char *dir = values [DIR]? values [DIR]: "/tmp";
    if (send * 2 > small || small > large) {
        fprintf (stderr, "hutong: bench serve: need --send at most half of --small, "
                 "and --small at most --large\n");
        return HT_EXIT_USAGE;
    }
    s_log_t logs [2];
    memset (logs, 0, sizeof logs);
    size_t counts [2] = { small, large };
    if ((rc = s_measure (dir, counts, send, batch, logs)) != 0) {
        fprintf (stderr, "hutong: bench serve: the %zu- and %zu-record logs failed: %s\n",
                 small, large, ht_strerror (rc));
        return HT_EXIT_ERROR;
    }
    double ratio = logs [1].us_per_record / logs [0].us_per_record;
    double full_ratio = logs [1].full_us_per_record / logs [0].full_us_per_record;
    if (values [JSON]) {
        json_t *out = json_object ();
        const char *names [2] = { "small", "large" };
        for (int i = 0; i < 2; i++)
            json_object_set_new (out, names [i], json_pack (
                "{s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:f, s:f}",
                "records", (json_int_t) logs [i].records,
                "sent", (json_int_t) logs [i].sent, "pulls", (json_int_t) logs [i].pulls,
                "examined", (json_int_t) logs [i].examined,
                "us_per_record_sent", logs [i].us_per_record,
                "whole_log_pulls", (json_int_t) logs [i].full_pulls,
                "whole_log_examined", (json_int_t) logs [i].full_examined,
                "whole_log_us_per_record_sent", logs [i].full_us_per_record,
                "fill_s", logs [i].fill_s));
        json_object_set_new (out, "ratio", json_real (ratio));
        json_object_set_new (out, "whole_log_ratio", json_real (full_ratio));
        ht_print_json (out);
        json_decref (out);
    }
    else {
        printf ("%-6s %9s %6s %-8s %6s %9s %18s\n", "log", "records", "sent", "walk",
                "pulls", "examined", "us per record sent");
        for (int i = 0; i < 2; i++) {
            printf ("%-6s %9zu %6zu %-8s %6zu %9zu %18.3f\n", i? "large": "small",
                    logs [i].records, logs [i].sent, "index", logs [i].pulls,
                    logs [i].examined, logs [i].us_per_record);
            printf ("%-6s %9zu %6zu %-8s %6zu %9zu %18.3f\n", "", logs [i].records,
                    logs [i].sent, "whole", logs [i].full_pulls, logs [i].full_examined,
                    logs [i].full_us_per_record);
        }
        printf ("ratio (large / small): index %.3f, whole log %.3f\n", ratio, full_ratio);
    }
    return HT_EXIT_OK;
}
