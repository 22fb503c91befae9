//  test_hlc: the hybrid logical clock — packing, monotonicity, observing
//  remote timestamps, the drift limit, formatting.
#include "ht_hlc.h"
#include "ht_test.h"

#include <string.h>
#include <time.h>

#define S_JAN_2026_MS 1767225600000ULL     //  2026-01-01T00:00:00Z

START_TEST (make_ms_and_counter_round_trip)
{
    uint64_t hlc = ht_hlc_make (S_JAN_2026_MS, 7);
    ck_assert_uint_eq (ht_hlc_ms (hlc), S_JAN_2026_MS);
    ck_assert_uint_eq (ht_hlc_counter (hlc), 7);
    ck_assert_uint_eq (hlc, (S_JAN_2026_MS << 16) | 7);
    hlc = ht_hlc_make (S_JAN_2026_MS, 65535);
    ck_assert_uint_eq (ht_hlc_counter (hlc), 65535);
    ck_assert_uint_eq (ht_hlc_ms (hlc), S_JAN_2026_MS);
    ck_assert_uint_eq (ht_hlc_make (0, 0), 0);
    //  48 bits of milliseconds: the largest fits
    uint64_t max_ms = (1ULL << 48) - 1;
    ck_assert_uint_eq (ht_hlc_ms (ht_hlc_make (max_ms, 1)), max_ms);
    //  Order follows (ms, counter)
    ck_assert_uint_lt (ht_hlc_make (S_JAN_2026_MS, 65535), ht_hlc_make (S_JAN_2026_MS + 1, 0));
}
END_TEST

START_TEST (the_wall_clock_is_the_system_time)
{
    uint64_t before = (uint64_t) time (NULL) * 1000;
    uint64_t wall = ht_hlc_wall_ms ();
    uint64_t after = ((uint64_t) time (NULL) + 1) * 1000;
    ck_assert_uint_ge (wall, before);
    ck_assert_uint_le (wall, after);
}
END_TEST

START_TEST (timestamps_strictly_increase_under_many_calls)
{
    //  Far more calls than one millisecond holds: counters must carry
    ht_hlc_t clock = { 0 };
    uint64_t previous = ht_hlc_now (&clock);
    ck_assert_uint_ge (ht_hlc_ms (previous), ht_hlc_wall_ms () - 1000);
    size_t same_ms = 0;
    for (int call = 0; call < 200000; call++) {
        uint64_t next = ht_hlc_now (&clock);
        ck_assert_uint_gt (next, previous);
        same_ms += ht_hlc_ms (next) == ht_hlc_ms (previous);
        previous = next;
    }
    ck_assert_uint_gt (same_ms, 0);             //  the counter did work
    ck_assert_uint_eq (clock.last, previous);
}
END_TEST

START_TEST (a_full_counter_carries_into_the_next_millisecond)
{
    //  A clock ahead of the wall (it observed a remote) keeps counting
    uint64_t ahead = ht_hlc_wall_ms () + 60000;
    ht_hlc_t clock = { ht_hlc_make (ahead, 65535) };
    uint64_t next = ht_hlc_now (&clock);
    ck_assert_uint_eq (next, ht_hlc_make (ahead + 1, 0));
    ck_assert_uint_eq (ht_hlc_now (&clock), ht_hlc_make (ahead + 1, 1));
}
END_TEST

START_TEST (the_wall_clock_wins_once_it_moves_on)
{
    ht_hlc_t clock = { ht_hlc_make (S_JAN_2026_MS - 1000000000ULL, 500) };
    uint64_t next = ht_hlc_now (&clock);
    ck_assert_uint_eq (ht_hlc_counter (next), 0);
    ck_assert_uint_ge (ht_hlc_ms (next), ht_hlc_wall_ms () - 1000);
}
END_TEST

//  A node whose clock is known to run ahead dates by the corrected clock,
//  and never goes back behind what it issued before
START_TEST (a_timestamp_from_a_corrected_clock_still_follows_those_before)
{
    ht_hlc_t clock = { 0 };
    uint64_t wall = ht_hlc_wall_ms ();
    uint64_t first = ht_hlc_next (&clock, wall - 600000);
    ck_assert_uint_eq (first, ht_hlc_make (wall - 600000, 0));
    uint64_t own = ht_hlc_now (&clock);
    ck_assert_uint_ge (ht_hlc_ms (own), wall);
    //  Corrected again: after what our own clock issued, by the counter
    ck_assert_uint_eq (ht_hlc_next (&clock, wall - 600000), own + 1);
}
END_TEST

START_TEST (observing_a_far_future_remote_is_refused)
{
    ht_hlc_t clock = { 0 };
    uint64_t now = ht_hlc_now (&clock);
    uint64_t remote = ht_hlc_make (ht_hlc_wall_ms () + HT_HLC_MAX_DRIFT_MS + 60000, 0);
    ck_assert_int_eq (ht_hlc_observe (&clock, remote), HT_ECLOCK);
    ck_assert_uint_eq (clock.last, now);
    uint64_t next = ht_hlc_now (&clock);
    ck_assert_uint_lt (next, remote);
    //  The year 2500 too
    ck_assert_int_eq (ht_hlc_observe (&clock, ht_hlc_make (16725225600000ULL, 0)), HT_ECLOCK);
    ck_assert_uint_eq (clock.last, next);
}
END_TEST

START_TEST (observing_a_slightly_later_remote_moves_past_it)
{
    ht_hlc_t clock = { 0 };
    uint64_t mine = ht_hlc_now (&clock);
    uint64_t remote = ht_hlc_make (ht_hlc_wall_ms () + 2000, 42);
    ck_assert_int_eq (ht_hlc_observe (&clock, remote), 0);
    uint64_t next = ht_hlc_now (&clock);
    ck_assert_uint_gt (next, remote);
    ck_assert_uint_gt (next, mine);
    //  Within the drift allowance is still fine
    remote = ht_hlc_make (ht_hlc_wall_ms () + HT_HLC_MAX_DRIFT_MS - 10000, 0);
    ck_assert_int_eq (ht_hlc_observe (&clock, remote), 0);
    ck_assert_uint_gt (ht_hlc_now (&clock), remote);
}
END_TEST

START_TEST (observing_an_earlier_remote_changes_nothing)
{
    ht_hlc_t clock = { 0 };
    uint64_t mine = ht_hlc_now (&clock);
    ck_assert_int_eq (ht_hlc_observe (&clock, ht_hlc_make (S_JAN_2026_MS - 86400000ULL, 3)), 0);
    ck_assert_uint_eq (clock.last, mine);
    ck_assert_int_eq (ht_hlc_observe (&clock, mine), 0);
    ck_assert_uint_eq (clock.last, mine);
    ck_assert_uint_gt (ht_hlc_now (&clock), mine);
}
END_TEST

START_TEST (timestamps_format_as_utc_with_the_counter)
{
    char buf [32];
    ck_assert_str_eq (ht_hlc_format (ht_hlc_make (S_JAN_2026_MS, 0), buf, sizeof buf),
                      "2026-01-01T00:00:00.000Z+0");
    ck_assert_str_eq (ht_hlc_format (ht_hlc_make (S_JAN_2026_MS + 123456, 3), buf, sizeof buf),
                      "2026-01-01T00:02:03.456Z+3");
    ck_assert_str_eq (ht_hlc_format (ht_hlc_make (1795556711123ULL, 65535), buf, sizeof buf),
                      "2026-11-24T21:45:11.123Z+65535");
    ck_assert_str_eq (ht_hlc_format (0, buf, sizeof buf), "1970-01-01T00:00:00.000Z+0");
    //  A short buffer is cut, never overrun
    char small [11];
    ht_hlc_format (ht_hlc_make (S_JAN_2026_MS, 0), small, sizeof small);
    ck_assert_str_eq (small, "2026-01-01");
}
END_TEST

static Suite *
hlc_suite (void)
{
    Suite *suite = suite_create ("ht_hlc");
    TCase *tc = tcase_create ("clock");
    tcase_add_test (tc, make_ms_and_counter_round_trip);
    tcase_add_test (tc, the_wall_clock_is_the_system_time);
    tcase_add_test (tc, timestamps_strictly_increase_under_many_calls);
    tcase_add_test (tc, a_full_counter_carries_into_the_next_millisecond);
    tcase_add_test (tc, the_wall_clock_wins_once_it_moves_on);
    tcase_add_test (tc, a_timestamp_from_a_corrected_clock_still_follows_those_before);
    tcase_add_test (tc, observing_a_far_future_remote_is_refused);
    tcase_add_test (tc, observing_a_slightly_later_remote_moves_past_it);
    tcase_add_test (tc, observing_an_earlier_remote_changes_nothing);
    tcase_add_test (tc, timestamps_format_as_utc_with_the_counter);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (hlc_suite)
