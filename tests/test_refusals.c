//  test_refusals: the table of refused keys stays within its cap, evicts
//  the least recently refused key into "others", and grants log lines at
//  most once per key per interval and at most a budget per interval, with
//  one summary for the rest. Time is simulated: no test sleeps.
#include <czmq.h>
#include "ht_refusals.h"
#include "ht_test.h"

#define S_INTERVAL_MS 60000
#define S_LINES 10
#define S_KEY_CHARS 32

//  A distinct key per index
static const char *
s_key (size_t index, char key [S_KEY_CHARS])
{
    snprintf (key, S_KEY_CHARS, "key-%06zu", index);
    return key;
}

//  Refuse keys first .. first + count - 1 once each at now_ms; return how
//  many log lines (key lines and summaries) were granted
static size_t
s_refuse_range (ht_refusals_t *refusals, size_t first, size_t count, int64_t now_ms)
{
    size_t lines = 0;
    char key [S_KEY_CHARS];
    for (size_t index = first; index < first + count; index++) {
        ht_refusal_note_t note;
        ht_refusals_add (refusals, s_key (index, key), now_ms, &note);
        lines += note.log_key + (note.summary_refusals > 0);
    }
    return lines;
}

START_TEST (the_table_holds_exactly_its_cap_of_keys)
{
    ht_refusals_t *refusals = ht_refusals_new (64, S_INTERVAL_MS, S_LINES);
    s_refuse_range (refusals, 0, 64, 0);
    ck_assert_uint_eq (ht_refusals_size (refusals), 64);
    ck_assert_uint_eq (ht_refusals_others (refusals), 0);
    s_refuse_range (refusals, 64, 1, 0);
    ck_assert_uint_eq (ht_refusals_size (refusals), 64);
    s_refuse_range (refusals, 65, 5000, 0);
    ck_assert_uint_eq (ht_refusals_size (refusals), 64);
    ck_assert_uint_eq (ht_refusals_total (refusals), 5065);
    ht_refusals_destroy (&refusals);
    ck_assert_ptr_null (refusals);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (a_new_key_at_the_cap_evicts_the_oldest_into_others)
{
    ht_refusals_t *refusals = ht_refusals_new (3, S_INTERVAL_MS, S_LINES);
    ht_refusal_note_t note;
    for (int attempt = 0; attempt < 4; attempt++)
        ht_refusals_add (refusals, "first", 0, &note);
    ht_refusals_add (refusals, "second", 1, &note);
    ht_refusals_add (refusals, "third", 2, &note);
    ht_refusals_add (refusals, "fourth", 3, &note);
    ck_assert_uint_eq (ht_refusals_count (refusals, "first"), 0);
    ck_assert_uint_eq (ht_refusals_others (refusals), 4);
    ck_assert_uint_eq (ht_refusals_count (refusals, "second"), 1);
    ck_assert_uint_eq (ht_refusals_count (refusals, "fourth"), 1);
    ck_assert_uint_eq (ht_refusals_total (refusals), 7);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (a_key_refused_again_outlives_keys_refused_since_it_was_new)
{
    ht_refusals_t *refusals = ht_refusals_new (3, S_INTERVAL_MS, S_LINES);
    ht_refusal_note_t note;
    ht_refusals_add (refusals, "persistent", 0, &note);
    ht_refusals_add (refusals, "second", 1, &note);
    ht_refusals_add (refusals, "third", 2, &note);
    ht_refusals_add (refusals, "persistent", 3, &note);
    ht_refusals_add (refusals, "fourth", 4, &note);
    ck_assert_uint_eq (ht_refusals_count (refusals, "persistent"), 2);
    ck_assert_uint_eq (ht_refusals_count (refusals, "second"), 0);
    ck_assert_uint_eq (ht_refusals_others (refusals), 1);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (every_refusal_is_counted_tracked_or_in_others)
{
    ht_refusals_t *refusals = ht_refusals_new (100, S_INTERVAL_MS, S_LINES);
    char key [S_KEY_CHARS];
    ht_refusal_note_t note;
    uint64_t tracked = 0;
    for (size_t index = 0; index < 1000; index++)
        ht_refusals_add (refusals, s_key (index % 250, key), (int64_t) index, &note);
    for (size_t index = 0; index < 250; index++)
        tracked += ht_refusals_count (refusals, s_key (index, key));
    ck_assert_uint_eq (tracked + ht_refusals_others (refusals), 1000);
    ck_assert_uint_eq (ht_refusals_total (refusals), 1000);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (a_key_refused_twice_in_one_interval_logs_once)
{
    ht_refusals_t *refusals = ht_refusals_new (16, S_INTERVAL_MS, S_LINES);
    ht_refusal_note_t note;
    ht_refusals_add (refusals, "looping", 0, &note);
    ck_assert (note.log_key);
    ck_assert_uint_eq (note.key_refusals, 1);
    ht_refusals_add (refusals, "looping", 100, &note);
    ck_assert (!note.log_key);
    ck_assert_uint_eq (note.key_refusals, 2);
    ht_refusals_add (refusals, "looping", S_INTERVAL_MS - 1, &note);
    ck_assert (!note.log_key);
    ck_assert_uint_eq (note.summary_refusals, 0);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (a_key_is_logged_again_once_its_interval_has_passed)
{
    ht_refusals_t *refusals = ht_refusals_new (16, S_INTERVAL_MS, S_LINES);
    ht_refusal_note_t note;
    ht_refusals_add (refusals, "looping", 1000, &note);
    ck_assert (note.log_key);
    for (int64_t now = 1100; now < 1000 + S_INTERVAL_MS; now += 100) {
        ht_refusals_add (refusals, "looping", now, &note);
        ck_assert (!note.log_key);
    }
    ht_refusals_add (refusals, "looping", 1000 + S_INTERVAL_MS, &note);
    ck_assert (note.log_key);
    ck_assert_uint_eq (note.key_refusals, S_INTERVAL_MS / 100 + 1);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (once_the_line_budget_is_used_new_keys_get_no_line)
{
    ht_refusals_t *refusals = ht_refusals_new (1024, S_INTERVAL_MS, S_LINES);
    ck_assert_uint_eq (s_refuse_range (refusals, 0, S_LINES, 0), S_LINES);
    ht_refusal_note_t note;
    ht_refusals_add (refusals, "one too many", 10, &note);
    ck_assert (!note.log_key);
    ck_assert_uint_eq (s_refuse_range (refusals, S_LINES, 500, 20), 0);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (the_next_interval_starts_with_a_summary_of_the_unlogged)
{
    ht_refusals_t *refusals = ht_refusals_new (1024, S_INTERVAL_MS, 2);
    ht_refusal_note_t note;
    s_refuse_range (refusals, 0, 2, 0);                 //  both logged
    s_refuse_range (refusals, 2, 5, 10);                //  5 keys over the budget
    s_refuse_range (refusals, 2, 5, 20);                //  the same 5 again
    ht_refusals_add (refusals, "later", S_INTERVAL_MS, &note);
    ck_assert_uint_eq (note.summary_refusals, 10);
    ck_assert_uint_eq (note.summary_keys, 5);
    ck_assert (note.log_key);                           //  a fresh budget
    ht_refusals_add (refusals, "later still", S_INTERVAL_MS + 1, &note);
    ck_assert_uint_eq (note.summary_refusals, 0);       //  handed out once
    ck_assert (note.log_key);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (a_quiet_interval_has_no_summary)
{
    ht_refusals_t *refusals = ht_refusals_new (16, S_INTERVAL_MS, S_LINES);
    ht_refusal_note_t note;
    s_refuse_range (refusals, 0, 3, 0);
    ht_refusals_add (refusals, "next", 5 * S_INTERVAL_MS, &note);
    ck_assert_uint_eq (note.summary_refusals, 0);
    ck_assert_uint_eq (note.summary_keys, 0);
    ht_refusals_destroy (&refusals);
}
END_TEST

START_TEST (five_thousand_fresh_keys_a_second_log_a_bounded_number_of_lines)
{
    //  An outsider tries 5,000 new keys a second for ten minutes: at most
    //  the budget plus one summary per interval, and a table at its cap
    ht_refusals_t *refusals = ht_refusals_new (1024, S_INTERVAL_MS, S_LINES);
    size_t lines = 0, intervals = 10;
    for (size_t second = 0; second < intervals * 60; second++)
        lines += s_refuse_range (refusals, second * 5000, 5000, (int64_t) second * 1000);
    ck_assert_uint_le (lines, intervals * (S_LINES + 1));
    ck_assert_uint_ge (lines, intervals * S_LINES);
    ck_assert_uint_eq (ht_refusals_size (refusals), 1024);
    ck_assert_uint_eq (ht_refusals_total (refusals), intervals * 60 * 5000);
    ht_refusals_destroy (&refusals);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_refusals");
    TCase *table = tcase_create ("table");
    tcase_add_test (table, the_table_holds_exactly_its_cap_of_keys);
    tcase_add_test (table, a_new_key_at_the_cap_evicts_the_oldest_into_others);
    tcase_add_test (table, a_key_refused_again_outlives_keys_refused_since_it_was_new);
    tcase_add_test (table, every_refusal_is_counted_tracked_or_in_others);
    suite_add_tcase (suite, table);
    TCase *logging = tcase_create ("logging");
    tcase_add_test (logging, a_key_refused_twice_in_one_interval_logs_once);
    tcase_add_test (logging, a_key_is_logged_again_once_its_interval_has_passed);
    tcase_add_test (logging, once_the_line_budget_is_used_new_keys_get_no_line);
    tcase_add_test (logging, the_next_interval_starts_with_a_summary_of_the_unlogged);
    tcase_add_test (logging, a_quiet_interval_has_no_summary);
    tcase_add_test (logging, five_thousand_fresh_keys_a_second_log_a_bounded_number_of_lines);
    suite_add_tcase (suite, logging);
    return suite;
}

HT_TEST_MAIN (s_suite)
