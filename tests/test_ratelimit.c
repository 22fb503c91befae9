//  test_ratelimit: a client may send a burst, then requests at its rate;
//  tokens refill over simulated time and never beyond the burst; each
//  client has its own bucket; the table stays within its cap and forgets
//  the least recently seen client first. No test sleeps.
#include <czmq.h>
#include "ht_ratelimit.h"
#include "ht_test.h"

#define S_RATE 10                   //  requests a second
#define S_BURST 20                  //  requests at once

//  How many of count requests by client at now_ms go ahead
static int
s_allowed (ht_ratelimit_t *limit, const char *client, int count, int64_t now_ms)
{
    int allowed = 0;
    for (int index = 0; index < count; index++)
        allowed += ht_ratelimit_check (limit, client, S_RATE, S_BURST, now_ms) == HT_OK;
    return allowed;
}

START_TEST (a_new_client_may_send_a_full_burst_at_once)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (16);
    ck_assert_int_eq (s_allowed (limit, "client", S_BURST, 0), S_BURST);
    ht_ratelimit_destroy (&limit);
    ck_assert_ptr_null (limit);
    ht_ratelimit_destroy (&limit);
}
END_TEST

START_TEST (the_request_after_the_burst_is_rate_limited)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (16);
    ck_assert_int_eq (s_allowed (limit, "client", S_BURST, 0), S_BURST);
    ck_assert_int_eq (ht_ratelimit_check (limit, "client", S_RATE, S_BURST, 0), HT_ERATELIMIT);
    ck_assert_int_eq (s_allowed (limit, "client", 1000, 0), 0);
    ht_ratelimit_destroy (&limit);
}
END_TEST

START_TEST (tokens_refill_at_the_rate_over_simulated_time)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (16);
    s_allowed (limit, "client", S_BURST, 0);
    //  One token per 100 ms at 10 a second: none before, one at 100 ms
    ck_assert_int_eq (s_allowed (limit, "client", 5, 99), 0);
    ck_assert_int_eq (s_allowed (limit, "client", 5, 100), 1);
    //  A second later: ten more, and no more than ten
    ck_assert_int_eq (s_allowed (limit, "client", 50, 1100), S_RATE);
    //  A steady client at its rate is never refused
    for (int64_t now = 1200; now < 60000; now += 1000 / S_RATE)
        ck_assert_int_eq (s_allowed (limit, "client", 1, now), 1);
    ht_ratelimit_destroy (&limit);
}
END_TEST

START_TEST (a_long_pause_earns_no_more_than_the_burst)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (16);
    s_allowed (limit, "client", S_BURST, 0);
    int64_t day_ms = 24 * 3600 * 1000;
    ck_assert_int_eq (s_allowed (limit, "client", 10 * S_BURST, day_ms), S_BURST);
    //  Even after far longer than a refill takes, with the largest rate
    ck_assert_int_eq (ht_ratelimit_check (limit, "busy", 100000, 1, 0), HT_OK);
    ck_assert_int_eq (ht_ratelimit_check (limit, "busy", 100000, 1, INT64_MAX / 2), HT_OK);
    ck_assert_int_eq (ht_ratelimit_check (limit, "busy", 100000, 1, INT64_MAX / 2), HT_ERATELIMIT);
    ht_ratelimit_destroy (&limit);
}
END_TEST

START_TEST (a_clock_going_back_earns_nothing)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (16);
    s_allowed (limit, "client", S_BURST, 5000);
    ck_assert_int_eq (s_allowed (limit, "client", 10, 1000), 0);
    ck_assert_int_eq (s_allowed (limit, "client", 10, 5000), 0);
    ck_assert_int_eq (s_allowed (limit, "client", 10, 5100), 1);
    ht_ratelimit_destroy (&limit);
}
END_TEST

START_TEST (a_lower_burst_caps_a_full_bucket_at_once)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (16);
    ck_assert_int_eq (ht_ratelimit_check (limit, "client", S_RATE, 100, 0), HT_OK);
    int allowed = 0;
    for (int index = 0; index < 100; index++)
        allowed += ht_ratelimit_check (limit, "client", S_RATE, 5, 0) == HT_OK;
    ck_assert_int_eq (allowed, 5);
    ht_ratelimit_destroy (&limit);
}
END_TEST

START_TEST (each_client_has_its_own_bucket)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (16);
    ck_assert_int_eq (s_allowed (limit, "flooder", 1000, 0), S_BURST);
    ck_assert_int_eq (s_allowed (limit, "neighbour", S_BURST, 0), S_BURST);
    ck_assert_int_eq (s_allowed (limit, "flooder", 1, 0), 0);
    ht_ratelimit_destroy (&limit);
}
END_TEST

START_TEST (the_table_holds_at_most_its_cap_of_clients)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (100);
    char client [32];
    for (int index = 0; index < 100; index++) {
        snprintf (client, sizeof client, "client-%d", index);
        ck_assert_int_eq (ht_ratelimit_check (limit, client, S_RATE, S_BURST, index), HT_OK);
    }
    ck_assert_uint_eq (ht_ratelimit_size (limit), 100);
    for (int index = 100; index < 10000; index++) {
        snprintf (client, sizeof client, "client-%d", index);
        ck_assert_int_eq (ht_ratelimit_check (limit, client, S_RATE, S_BURST, index), HT_OK);
        ck_assert_uint_le (ht_ratelimit_size (limit), 100);
    }
    ck_assert_uint_eq (ht_ratelimit_size (limit), 100);
    ck_assert (!ht_ratelimit_tracks (limit, "client-9899"));
    ck_assert (ht_ratelimit_tracks (limit, "client-9900"));
    ht_ratelimit_destroy (&limit);
}
END_TEST

START_TEST (the_least_recently_seen_client_is_evicted_first)
{
    ht_ratelimit_t *limit = ht_ratelimit_new (3);
    ck_assert_int_eq (s_allowed (limit, "flooder", 1000, 0), S_BURST);
    ck_assert_int_eq (s_allowed (limit, "quiet", 1, 1), 1);
    ck_assert_int_eq (s_allowed (limit, "other", 1, 2), 1);
    //  The flooder keeps sending (refused): it stays, the quiet one goes
    ck_assert_int_eq (s_allowed (limit, "flooder", 1, 3), 0);
    ck_assert_int_eq (s_allowed (limit, "newcomer", 1, 4), 1);
    ck_assert (!ht_ratelimit_tracks (limit, "quiet"));
    ck_assert (ht_ratelimit_tracks (limit, "flooder"));
    ck_assert_int_eq (s_allowed (limit, "flooder", 1, 5), 0);
    ht_ratelimit_destroy (&limit);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_ratelimit");
    TCase *bucket = tcase_create ("bucket");
    tcase_add_test (bucket, a_new_client_may_send_a_full_burst_at_once);
    tcase_add_test (bucket, the_request_after_the_burst_is_rate_limited);
    tcase_add_test (bucket, tokens_refill_at_the_rate_over_simulated_time);
    tcase_add_test (bucket, a_long_pause_earns_no_more_than_the_burst);
    tcase_add_test (bucket, a_clock_going_back_earns_nothing);
    tcase_add_test (bucket, a_lower_burst_caps_a_full_bucket_at_once);
    tcase_add_test (bucket, each_client_has_its_own_bucket);
    suite_add_tcase (suite, bucket);
    TCase *table = tcase_create ("table");
    tcase_add_test (table, the_table_holds_at_most_its_cap_of_clients);
    tcase_add_test (table, the_least_recently_seen_client_is_evicted_first);
    suite_add_tcase (suite, table);
    return suite;
}

HT_TEST_MAIN (s_suite)
