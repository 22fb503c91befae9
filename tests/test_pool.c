//  test_pool: the store's kept verifier threads
#include <stdatomic.h>
#include "ht_pool.h"
#include "ht_test.h"

typedef struct {
    atomic_int runs;                //  how often this share ran
    int value;                      //  its input
    int result;                     //  its output
} s_share_t;

static void
s_square (void *arg)
{
    s_share_t *share = (s_share_t *) arg;
    share->result = share->value * share->value;
    atomic_fetch_add (&share->runs, 1);
}

//  Run count shares through pool, several times; each runs exactly once a run
static void
s_check_runs (ht_pool_t *pool, size_t count, int rounds)
{
    s_share_t shares [16];
    void *args [16];
    for (int round = 0; round < rounds; round++) {
        for (size_t i = 0; i < count; i++) {
            atomic_init (&shares [i].runs, 0);
            shares [i].value = (int) i + round;
            shares [i].result = -1;
            args [i] = &shares [i];
        }
        ht_pool_start (pool, s_square, args, count);
        ht_pool_wait (pool);
        for (size_t i = 0; i < count; i++) {
            ck_assert_int_eq (atomic_load (&shares [i].runs), 1);
            ck_assert_int_eq (shares [i].result, shares [i].value * shares [i].value);
        }
    }
}

START_TEST (every_share_runs_exactly_once_per_run_on_kept_threads)
{
    ht_pool_t *pool = ht_pool_new (3);
    ck_assert_ptr_nonnull (pool);
    ck_assert_uint_eq (ht_pool_size (pool), 3);
    s_check_runs (pool, 4, 500);
    s_check_runs (pool, 16, 100);
    s_check_runs (pool, 1, 10);
    ht_pool_destroy (&pool);
    ck_assert_ptr_null (pool);
}
END_TEST

START_TEST (a_pool_without_threads_runs_everything_on_the_caller)
{
    ht_pool_t *pool = ht_pool_new (0);
    ck_assert_uint_eq (ht_pool_size (pool), 0);
    s_check_runs (pool, 8, 3);
    ht_pool_destroy (&pool);
}
END_TEST

//  A share that waits until the caller lets it finish
typedef struct {
    atomic_int *gate;               //  0: wait, 1: go
    atomic_int runs;
} s_gated_t;

static void
s_gated (void *arg)
{
    s_gated_t *share = (s_gated_t *) arg;
    while (atomic_load (share->gate) == 0)
        ;
    atomic_fetch_add (&share->runs, 1);
}

START_TEST (started_shares_run_on_the_workers_while_the_caller_goes_on)
{
    ht_pool_t *pool = ht_pool_new (2);
    ck_assert_uint_eq (ht_pool_size (pool), 2);
    for (int round = 0; round < 50; round++) {
        atomic_int gate;
        atomic_init (&gate, 0);
        s_gated_t shares [5];
        void *args [5];
        for (size_t i = 0; i < 5; i++) {
            shares [i].gate = &gate;
            atomic_init (&shares [i].runs, 0);
            args [i] = &shares [i];
        }
        ht_pool_start (pool, s_gated, args, 5);
        //  start returned while the shares wait (had it run one on this
        //  thread, it would wait for the gate forever)
        int ran = 0;
        for (size_t i = 0; i < 5; i++)
            ran += atomic_load (&shares [i].runs);
        ck_assert_int_eq (ran, 0);
        atomic_store (&gate, 1);
        //  wait runs what the two workers left, and all are done
        ht_pool_wait (pool);
        for (size_t i = 0; i < 5; i++)
            ck_assert_int_eq (atomic_load (&shares [i].runs), 1);
        //  The pool still runs as before
        s_check_runs (pool, 4, 1);
    }
    ht_pool_wait (pool);            //  nothing started: returns at once
    ht_pool_destroy (&pool);
}
END_TEST

static Suite *
pool_suite (void)
{
    Suite *suite = suite_create ("ht_pool");
    TCase *tc = tcase_create ("runs");
    tcase_add_test (tc, every_share_runs_exactly_once_per_run_on_kept_threads);
    tcase_add_test (tc, a_pool_without_threads_runs_everything_on_the_caller);
    tcase_add_test (tc, started_shares_run_on_the_workers_while_the_caller_goes_on);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (pool_suite)
