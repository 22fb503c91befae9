//  test_error: error codes, their stable names and texts
#include <string.h>
#include "ht_error.h"
#include "ht_test.h"

START_TEST (every_code_has_a_name_that_maps_back_to_it)
{
    for (int code = 0; code > -HT_ERROR_COUNT; code--) {
        const char *name = ht_errname (code);
        ck_assert_str_ne (name, "unknown");
        ck_assert_int_eq (ht_errcode (name), code);
    }
    ck_assert_int_eq (ht_errcode ("ok"), HT_OK);
    ck_assert_int_eq (ht_errcode ("out_of_scope"), HT_ESCOPE);
}
END_TEST

START_TEST (every_code_has_a_distinct_name_and_a_sentence)
{
    for (int a = 0; a > -HT_ERROR_COUNT; a--) {
        ck_assert_uint_gt (strlen (ht_strerror (a)), 5);
        for (int b = a - 1; b > -HT_ERROR_COUNT; b--)
            ck_assert_str_ne (ht_errname (a), ht_errname (b));
    }
}
END_TEST

START_TEST (unknown_names_and_codes_are_refused_plainly)
{
    ck_assert_int_eq (ht_errcode ("no_such_error"), HT_EINVAL);
    ck_assert_int_eq (ht_errcode (""), HT_EINVAL);
    ck_assert_int_eq (ht_errcode (NULL), HT_EINVAL);
    ck_assert_str_eq (ht_errname (-HT_ERROR_COUNT), "unknown");
    ck_assert_str_eq (ht_errname (1), "unknown");
    ck_assert_str_eq (ht_strerror (-1000), "unknown error");
}
END_TEST

static Suite *
error_suite (void)
{
    Suite *suite = suite_create ("ht_error");
    TCase *tc = tcase_create ("names");
    tcase_add_test (tc, every_code_has_a_name_that_maps_back_to_it);
    tcase_add_test (tc, every_code_has_a_distinct_name_and_a_sentence);
    tcase_add_test (tc, unknown_names_and_codes_are_refused_plainly);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (error_suite)
