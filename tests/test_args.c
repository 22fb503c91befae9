//  test_args: hutong's option table parses every value strictly: a
//  number is digits only and within its bounds, a time is milliseconds
//  since 1970 or a real ISO-8601 date or date and time, and anything
//  else is a usage error before a subcommand sees it. The expected
//  milliseconds were computed independently (Python's datetime).
#include "hutong.h"
#include "ht_test.h"

enum { S_AT, S_COUNT, S_SEED, S_NAME, S_FORCE, S_OPTION_COUNT };

static const ht_option_t s_options [] = {
    HT_OPTION_TIME ("at", "TIME", "a time"),
    HT_OPTION_UINT ("count", "N", 1, 100, "a bounded count"),
    HT_OPTION_UINT ("seed", "N", 0, UINT64_MAX, "any 64-bit number"),
    HT_OPTION_TEXT ("name", "TEXT", "any text"),
    HT_OPTION_FLAG ("force", "a flag"),
    HT_OPTION_END
};

static const ht_command_spec_t s_spec = {
    "test [OPTIONS]", "Options of every type.", s_options
};

#define S_FALLBACK 777u

//  Parse "--NAME VALUE"; the exit code, with *number the option's value
//  (or S_FALLBACK) when it parsed
static int
s_parse (int option, const char *value, uint64_t *number)
{
    char flag [64];
    snprintf (flag, sizeof flag, "--%s", s_options [option].name);
    char *argv [] = { "test", flag, (char *) value, NULL };
    const char *values [S_OPTION_COUNT];
    int first_arg = 0;
    int rc = ht_args_parse (&s_spec, 3, argv, values, &first_arg);
    *number = rc == 0? ht_args_number (&s_spec, values, option, S_FALLBACK): 0;
    return rc;
}

//  The ms a time option gives value; fails the test if it is refused
static uint64_t
s_time (const char *value)
{
    uint64_t number = 0;
    ck_assert_msg (s_parse (S_AT, value, &number) == 0, "'%s' was refused", value);
    return number;
}

//  Fails the test unless option refuses value as a usage error
static void
s_refused (int option, const char *value)
{
    uint64_t number = 0;
    ck_assert_msg (s_parse (option, value, &number) == HT_EXIT_USAGE,
                   "--%s '%s' was accepted", s_options [option].name, value);
}

START_TEST (a_time_in_milliseconds_is_taken_as_is)
{
    ck_assert_uint_eq (s_time ("1796083200000"), 1796083200000u);
    ck_assert_uint_eq (s_time ("0"), 0);
    ck_assert_uint_eq (s_time ("253402300799999"), HT_TIME_MAX_MS);
}
END_TEST

START_TEST (an_iso_date_is_utc_midnight)
{
    ck_assert_uint_eq (s_time ("2026-12-01"), 1796083200000u);
    ck_assert_uint_eq (s_time ("1970-01-01"), 0);
    ck_assert_uint_eq (s_time ("2028-02-29"), 1835395200000u);
}
END_TEST

START_TEST (an_iso_date_and_time_may_omit_seconds_and_zone)
{
    ck_assert_uint_eq (s_time ("2026-12-01T08:30"), 1796113800000u);
    ck_assert_uint_eq (s_time ("2026-12-01T08:30Z"), 1796113800000u);
    ck_assert_uint_eq (s_time ("2026-12-01T08:30:15"), 1796113815000u);
    ck_assert_uint_eq (s_time ("2026-12-01T08:30:15Z"), 1796113815000u);
}
END_TEST

START_TEST (an_iso_offset_is_converted_to_utc)
{
    ck_assert_uint_eq (s_time ("2026-12-01T16:30+08:00"), 1796113800000u);
    ck_assert_uint_eq (s_time ("2026-12-01T16:30:00+08:00"), 1796113800000u);
    ck_assert_uint_eq (s_time ("2026-12-01T03:00:00-05:30"), 1796113800000u);
    //  An offset may carry the time into the next year
    ck_assert_uint_eq (s_time ("2026-12-31T23:30-01:00"), 1798763400000u);
}
END_TEST

START_TEST (a_time_that_is_not_a_time_is_refused)
{
    const char *garbage [] = {
        "yesterday", "", " ", "now", "0x10", "1e3", "1.5", "+5", "-1",
        " 1796083200000", "1796083200000 ", "1796083200000ms",
        "2026-12", "2026-12-1", "26-12-01", "2026/12/01", "2026-12-01x",
        "2026-12-01Z", "2026-12-01T", "2026-12-01 08:30", "2026-12-01t08:30",
        "2026-12-01T8:30", "2026-12-01T08", "2026-12-01T08:30:1",
        "2026-12-01T08:30:00z", "2026-12-01T08:30:00.5Z", "2026-12-01T08:30+08",
        "2026-12-01T08:30+0800", "2026-12-01T08:30+24:00", "2026-12-01T08:30+08:60",
        "2026-12-01T08:30Z+08:00", "2026-12-01T08:30:00ZZ"
    };
    for (size_t index = 0; index < sizeof garbage / sizeof garbage [0]; index++)
        s_refused (S_AT, garbage [index]);
}
END_TEST

START_TEST (a_date_the_calendar_does_not_have_is_refused)
{
    const char *impossible [] = {
        "2026-02-29", "2026-02-30", "2026-04-31", "2026-13-01", "2026-00-10",
        "2026-12-00", "2026-12-32", "2026-12-01T24:00", "2026-12-01T08:60",
        "2026-12-01T08:30:60", "2100-02-29"
    };
    for (size_t index = 0; index < sizeof impossible / sizeof impossible [0]; index++)
        s_refused (S_AT, impossible [index]);
}
END_TEST

START_TEST (a_time_before_1970_or_after_9999_is_refused)
{
    s_refused (S_AT, "1969-12-31");
    s_refused (S_AT, "1970-01-01T00:30+01:00");
    s_refused (S_AT, "9999-12-31T23:59:59-00:01");
    s_refused (S_AT, "253402300800000");
    s_refused (S_AT, "18446744073709551616");
    s_refused (S_AT, "99999999999999999999999");
}
END_TEST

START_TEST (a_number_is_digits_only)
{
    const char *garbage [] = {
        "", "abc", "5x", "x5", " 5", "5 ", "+5", "-5", "-0", "0x10", "1e2", "5.0", "٥"
    };
    for (size_t index = 0; index < sizeof garbage / sizeof garbage [0]; index++)
        s_refused (S_COUNT, garbage [index]);
}
END_TEST

START_TEST (a_number_outside_its_bounds_is_refused)
{
    uint64_t number = 0;
    s_refused (S_COUNT, "0");
    s_refused (S_COUNT, "101");
    s_refused (S_COUNT, "18446744073709551616");
    ck_assert_int_eq (s_parse (S_COUNT, "1", &number), 0);
    ck_assert_uint_eq (number, 1);
    ck_assert_int_eq (s_parse (S_COUNT, "100", &number), 0);
    ck_assert_uint_eq (number, 100);
    ck_assert_int_eq (s_parse (S_COUNT, "007", &number), 0);
    ck_assert_uint_eq (number, 7);
}
END_TEST

START_TEST (a_number_may_reach_but_not_pass_2_to_the_64)
{
    uint64_t number = 0;
    ck_assert_int_eq (s_parse (S_SEED, "18446744073709551615", &number), 0);
    ck_assert_uint_eq (number, UINT64_MAX);
    s_refused (S_SEED, "18446744073709551616");
    s_refused (S_SEED, "-1");
}
END_TEST

START_TEST (an_absent_option_gives_the_fallback)
{
    char *argv [] = { "test", "--name", "x", NULL };
    const char *values [S_OPTION_COUNT];
    int first_arg = 0;
    ck_assert_int_eq (ht_args_parse (&s_spec, 3, argv, values, &first_arg), 0);
    ck_assert_uint_eq (ht_args_number (&s_spec, values, S_AT, 42), 42);
    ck_assert_uint_eq (ht_args_number (&s_spec, values, S_COUNT, 9), 9);
    ck_assert_str_eq (values [S_NAME], "x");
    ck_assert_ptr_null (values [S_FORCE]);
}
END_TEST

START_TEST (text_and_flags_pass_through)
{
    char *argv [] = { "test", "--name", " not a number ", "--force", "rest", NULL };
    const char *values [S_OPTION_COUNT];
    int first_arg = 0;
    ck_assert_int_eq (ht_args_parse (&s_spec, 5, argv, values, &first_arg), 0);
    ck_assert_str_eq (values [S_NAME], " not a number ");
    ck_assert_str_eq (values [S_FORCE], "");
    ck_assert_int_eq (first_arg, 4);
    ck_assert_str_eq (argv [first_arg], "rest");
}
END_TEST

START_TEST (every_form_and_repeat_of_an_option_is_checked)
{
    char *joined [] = { "test", "--at=yesterday", NULL };
    char *repeated [] = { "test", "--count", "5", "--count", "5x", NULL };
    char *missing [] = { "test", "--count", NULL };
    const char *values [S_OPTION_COUNT];
    int first_arg = 0;
    ck_assert_int_eq (ht_args_parse (&s_spec, 2, joined, values, &first_arg), HT_EXIT_USAGE);
    ck_assert_int_eq (ht_args_parse (&s_spec, 5, repeated, values, &first_arg), HT_EXIT_USAGE);
    ck_assert_int_eq (ht_args_parse (&s_spec, 2, missing, values, &first_arg), HT_EXIT_USAGE);
    char *good [] = { "test", "--at=2026-12-01", NULL };
    ck_assert_int_eq (ht_args_parse (&s_spec, 2, good, values, &first_arg), 0);
    ck_assert_uint_eq (ht_args_number (&s_spec, values, S_AT, 0), 1796083200000u);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("args");
    TCase *times = tcase_create ("times");
    tcase_add_test (times, a_time_in_milliseconds_is_taken_as_is);
    tcase_add_test (times, an_iso_date_is_utc_midnight);
    tcase_add_test (times, an_iso_date_and_time_may_omit_seconds_and_zone);
    tcase_add_test (times, an_iso_offset_is_converted_to_utc);
    tcase_add_test (times, a_time_that_is_not_a_time_is_refused);
    tcase_add_test (times, a_date_the_calendar_does_not_have_is_refused);
    tcase_add_test (times, a_time_before_1970_or_after_9999_is_refused);
    suite_add_tcase (suite, times);
    TCase *numbers = tcase_create ("numbers");
    tcase_add_test (numbers, a_number_is_digits_only);
    tcase_add_test (numbers, a_number_outside_its_bounds_is_refused);
    tcase_add_test (numbers, a_number_may_reach_but_not_pass_2_to_the_64);
    suite_add_tcase (suite, numbers);
    TCase *table = tcase_create ("table");
    tcase_add_test (table, an_absent_option_gives_the_fallback);
    tcase_add_test (table, text_and_flags_pass_through);
    tcase_add_test (table, every_form_and_repeat_of_an_option_is_checked);
    suite_add_tcase (suite, table);
    return suite;
}

HT_TEST_MAIN (s_suite)
