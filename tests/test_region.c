//  test_region: region codes — validation, tiers, prefixes, parents, covers.
#include "ht_region.h"
#include "ht_test.h"

#include <string.h>

//  Validation ----------------------------------------------------------

START_TEST (the_domain_examples_are_valid)
{
    const char *examples [] = {
        "441800000000",         //  清远市
        "441802000000",         //  清城区
        "441802001000",         //  凤城街道
        "500108000000",         //  南岸区
        "500000000000",         //  重庆 city node
        "220581102001",         //  九龙社区
        "220581102200",         //  春明村
        "320508019044",         //  Gusu, Yangyuxiang community
        "440000000000",         //  广东省
        "441900003000",         //  东莞 东城街道: no county, DD=00
        "442000001000",         //  中山 石岐街道
        "460400100000",         //  儋州 那大镇
        "820000000000",         //  Macao
        "710000000000",         //  Taiwan
    };
    for (size_t index = 0; index < sizeof examples / sizeof examples [0]; index++) {
        const char *reason = "unset";
        ck_assert_msg (ht_region_check (examples [index], &reason) == 0,
                       "%s: %s", examples [index], reason);
        ck_assert_ptr_null (reason);
        ck_assert (ht_region_valid (examples [index]));
    }
}
END_TEST

START_TEST (every_known_province_is_accepted_and_no_other)
{
    for (int province = 0; province < 100; province++) {
        char code [HT_REGION_BYTES];
        memcpy (code, "000000000000", HT_REGION_BYTES);
        code [0] = (char) ('0' + province / 10);
        code [1] = (char) ('0' + province % 10);
        bool known = (province >= 11 && province <= 15)
                  || (province >= 21 && province <= 23)
                  || (province >= 31 && province <= 37)
                  || (province >= 41 && province <= 46)
                  || (province >= 50 && province <= 54)
                  || (province >= 61 && province <= 65)
                  || province == 71 || province == 81 || province == 82;
        ck_assert_msg (ht_region_valid (code) == known, "%s", code);
    }
}
END_TEST

START_TEST (an_unknown_province_is_rejected_by_name)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_region_check ("991802001000", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "unknown province code 99");
    ck_assert_int_eq (ht_region_check ("001802001000", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "unknown province code 00");
    ck_assert_int_eq (ht_region_check ("161802001000", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "unknown province code 16");
}
END_TEST

START_TEST (a_code_of_the_wrong_length_is_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_region_check ("44180200100", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "region code must be 12 digits");
    ck_assert_int_eq (ht_region_check ("4418020010000", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "region code must be 12 digits");
    ck_assert_int_eq (ht_region_check ("", &reason), HT_EREGION);
    ck_assert_int_eq (ht_region_check ("4418", &reason), HT_EREGION);
}
END_TEST

START_TEST (a_code_with_letters_or_signs_is_rejected)
{
    const char *bad [] = {
        "44180200100A", "4418O2001000", " 44180200100", "44180200100 ",
        "+44180200100", "4418-0200100", "４41802001000"
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        const char *reason = NULL;
        ck_assert_int_eq (ht_region_check (bad [index], &reason), HT_EREGION);
        ck_assert_ptr_nonnull (reason);
    }
    const char *reason = NULL;
    ck_assert_int_eq (ht_region_check ("44180200100A", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "region code must contain only ASCII digits");
}
END_TEST

START_TEST (a_missing_code_is_rejected_without_crashing)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_region_check (NULL, &reason), HT_EREGION);
    ck_assert_str_eq (reason, "region code is missing");
    ck_assert (!ht_region_valid (NULL));
    ck_assert_int_eq (ht_region_tier (NULL), HT_TIER_NONE);
    ck_assert (!ht_region_covers (NULL, "441800000000"));
    ck_assert (!ht_region_covers ("44", NULL));
    ck_assert (!ht_region_unusual (NULL));
    char out [HT_REGION_BYTES];
    ck_assert_int_eq (ht_region_prefix (NULL, out), HT_EREGION);
    ck_assert_int_eq (ht_region_parent (NULL, out), HT_EREGION);
    ck_assert_int_eq (ht_region_from_prefix (NULL, out), HT_EREGION);
}
END_TEST

START_TEST (a_zero_group_before_a_non_zero_group_is_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_region_check ("440002000000", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "city group CC is 00 but a lower group is not");
    ck_assert_int_eq (ht_region_check ("440000001000", &reason), HT_EREGION);
    ck_assert_int_eq (ht_region_check ("440000000001", &reason), HT_EREGION);
    ck_assert_int_eq (ht_region_check ("500000001000", &reason), HT_EREGION);
    ck_assert_int_eq (ht_region_check ("441802000001", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "township group TTT is 000 but VVV is not");
    ck_assert_int_eq (ht_region_check ("441800000001", &reason), HT_EREGION);
    ck_assert_str_eq (reason, "township group TTT is 000 but VVV is not");
}
END_TEST

START_TEST (dd_zero_is_allowed_before_a_township_group)
{
    const char *reason = NULL;
    //  东莞 has no counties: its townships sit at DD=00
    ck_assert_int_eq (ht_region_check ("441900003000", &reason), 0);
    ck_assert_int_eq (ht_region_check ("441900003001", &reason), 0);
    ck_assert_int_eq (ht_region_check ("441900121000", &reason), 0);
}
END_TEST

//  Tiers ---------------------------------------------------------------

START_TEST (the_tier_is_the_deepest_non_zero_group)
{
    ck_assert_int_eq (ht_region_tier ("440000000000"), HT_TIER_PROVINCE);
    ck_assert_int_eq (ht_region_tier ("441800000000"), HT_TIER_CITY);
    ck_assert_int_eq (ht_region_tier ("441802000000"), HT_TIER_COUNTY);
    ck_assert_int_eq (ht_region_tier ("441802001000"), HT_TIER_TOWNSHIP);
    ck_assert_int_eq (ht_region_tier ("220581102001"), HT_TIER_COMMUNITY);
    ck_assert_int_eq (ht_region_tier ("220581102200"), HT_TIER_COMMUNITY);
    ck_assert_int_eq (ht_region_tier ("320508019044"), HT_TIER_COMMUNITY);
    ck_assert_int_eq (ht_region_tier ("441900003000"), HT_TIER_TOWNSHIP);
}
END_TEST

START_TEST (a_municipality_without_a_city_group_is_a_city)
{
    ck_assert_int_eq (ht_region_tier ("110000000000"), HT_TIER_CITY);
    ck_assert_int_eq (ht_region_tier ("120000000000"), HT_TIER_CITY);
    ck_assert_int_eq (ht_region_tier ("310000000000"), HT_TIER_CITY);
    ck_assert_int_eq (ht_region_tier ("500000000000"), HT_TIER_CITY);
    ck_assert_int_eq (ht_region_tier ("500108000000"), HT_TIER_COUNTY);
    ck_assert_int_eq (ht_region_tier ("510000000000"), HT_TIER_PROVINCE);
}
END_TEST

START_TEST (an_invalid_code_has_no_tier)
{
    ck_assert_int_eq (ht_region_tier ("441800000100"), HT_TIER_NONE);
    ck_assert_int_eq (ht_region_tier ("991800000000"), HT_TIER_NONE);
    ck_assert_int_eq (ht_region_tier ("4418"), HT_TIER_NONE);
}
END_TEST

START_TEST (tiers_have_names)
{
    ck_assert_str_eq (ht_tier_name (HT_TIER_PROVINCE), "province");
    ck_assert_str_eq (ht_tier_name (HT_TIER_CITY), "city");
    ck_assert_str_eq (ht_tier_name (HT_TIER_COUNTY), "county");
    ck_assert_str_eq (ht_tier_name (HT_TIER_TOWNSHIP), "township");
    ck_assert_str_eq (ht_tier_name (HT_TIER_COMMUNITY), "community");
    ck_assert_str_eq (ht_tier_name (HT_TIER_NONE), "none");
    ck_assert_str_eq (ht_tier_name ((ht_tier_t) 42), "none");
}
END_TEST

//  Prefixes ------------------------------------------------------------

static void
s_assert_prefix (const char *code, const char *expected)
{
    char prefix [HT_REGION_BYTES];
    ck_assert_int_eq (ht_region_prefix (code, prefix), (int) strlen (expected));
    ck_assert_str_eq (prefix, expected);
}

START_TEST (the_prefix_drops_trailing_zero_groups)
{
    s_assert_prefix ("440000000000", "44");
    s_assert_prefix ("441800000000", "4418");
    s_assert_prefix ("441802000000", "441802");
    s_assert_prefix ("441802001000", "441802001");
    s_assert_prefix ("220581102200", "220581102200");
    s_assert_prefix ("320508019044", "320508019044");
    s_assert_prefix ("500000000000", "50");
    s_assert_prefix ("500108000000", "500108");
}
END_TEST

START_TEST (the_prefix_keeps_dd_zero_when_a_township_follows)
{
    s_assert_prefix ("441900003000", "441900003");
    s_assert_prefix ("441900003001", "441900003001");
    s_assert_prefix ("441900000000", "4419");
}
END_TEST

START_TEST (the_prefix_of_an_invalid_code_is_an_error)
{
    char prefix [HT_REGION_BYTES] = "untouched";
    ck_assert_int_eq (ht_region_prefix ("441800000100", prefix), HT_EREGION);
    ck_assert_int_eq (ht_region_prefix ("4418", prefix), HT_EREGION);
    ck_assert_str_eq (prefix, "untouched");
}
END_TEST

START_TEST (a_prefix_expands_to_its_code)
{
    char code [HT_REGION_BYTES];
    ck_assert_int_eq (ht_region_from_prefix ("50", code), 0);
    ck_assert_str_eq (code, "500000000000");
    ck_assert_int_eq (ht_region_from_prefix ("4418", code), 0);
    ck_assert_str_eq (code, "441800000000");
    ck_assert_int_eq (ht_region_from_prefix ("441802", code), 0);
    ck_assert_str_eq (code, "441802000000");
    ck_assert_int_eq (ht_region_from_prefix ("441900003", code), 0);
    ck_assert_str_eq (code, "441900003000");
    ck_assert_int_eq (ht_region_from_prefix ("220581102200", code), 0);
    ck_assert_str_eq (code, "220581102200");
}
END_TEST

START_TEST (a_prefix_and_its_code_round_trip)
{
    const char *codes [] = {
        "440000000000", "441800000000", "441802000000", "441802001000",
        "220581102001", "500000000000", "500108000000", "441900003000"
    };
    for (size_t index = 0; index < sizeof codes / sizeof codes [0]; index++) {
        char prefix [HT_REGION_BYTES];
        char code [HT_REGION_BYTES];
        ck_assert_int_gt (ht_region_prefix (codes [index], prefix), 0);
        ck_assert_int_eq (ht_region_from_prefix (prefix, code), 0);
        ck_assert_str_eq (code, codes [index]);
    }
}
END_TEST

START_TEST (a_prefix_off_a_group_boundary_is_rejected)
{
    char code [HT_REGION_BYTES] = "untouched";
    const char *bad [] = {
        "", "4", "441", "44180", "4418020", "44180200", "4418020010",
        "44180200100", "4418020010000", "99", "44a8", "440002",
        "440000001"
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++)
        ck_assert_msg (ht_region_from_prefix (bad [index], code) == HT_EREGION,
                       "%s", bad [index]);
    ck_assert_str_eq (code, "untouched");
}
END_TEST

//  Parents -------------------------------------------------------------

static void
s_assert_parent (const char *code, const char *expected)
{
    char parent [HT_REGION_BYTES];
    ck_assert_int_eq (ht_region_parent (code, parent), 0);
    ck_assert_str_eq (parent, expected);
}

START_TEST (the_parent_zeroes_the_deepest_non_zero_group)
{
    s_assert_parent ("441802001000", "441802000000");
    s_assert_parent ("441802000000", "441800000000");
    s_assert_parent ("441800000000", "440000000000");
    s_assert_parent ("220581102001", "220581102000");
    s_assert_parent ("320508019044", "320508019000");
}
END_TEST

START_TEST (a_province_has_no_parent)
{
    char parent [HT_REGION_BYTES];
    ck_assert_int_eq (ht_region_parent ("440000000000", parent), HT_ENOTFOUND);
    ck_assert_int_eq (ht_region_parent ("820000000000", parent), HT_ENOTFOUND);
}
END_TEST

START_TEST (a_municipality_city_has_no_parent)
{
    char parent [HT_REGION_BYTES];
    ck_assert_int_eq (ht_region_parent ("500000000000", parent), HT_ENOTFOUND);
    ck_assert_int_eq (ht_region_parent ("110000000000", parent), HT_ENOTFOUND);
    ck_assert_int_eq (ht_region_parent ("120000000000", parent), HT_ENOTFOUND);
    ck_assert_int_eq (ht_region_parent ("310000000000", parent), HT_ENOTFOUND);
}
END_TEST

START_TEST (a_municipality_district_hangs_under_the_municipality)
{
    s_assert_parent ("500108000000", "500000000000");
    s_assert_parent ("110105000000", "110000000000");
    s_assert_parent ("500229000000", "500000000000");
    s_assert_parent ("500108001000", "500108000000");
}
END_TEST

START_TEST (a_township_of_a_city_without_counties_hangs_under_the_city)
{
    s_assert_parent ("441900003000", "441900000000");
    s_assert_parent ("441900003001", "441900003000");
    s_assert_parent ("441900000000", "440000000000");
}
END_TEST

START_TEST (the_parent_chain_of_a_community_reaches_the_province)
{
    const char *chain [] = {
        "441802001001", "441802001000", "441802000000", "441800000000",
        "440000000000"
    };
    char code [HT_REGION_BYTES];
    memcpy (code, chain [0], HT_REGION_BYTES);
    for (size_t index = 1; index < sizeof chain / sizeof chain [0]; index++) {
        ck_assert_int_eq (ht_region_parent (code, code), 0);
        ck_assert_str_eq (code, chain [index]);
    }
    ck_assert_int_eq (ht_region_parent (code, code), HT_ENOTFOUND);
    ck_assert_str_eq (code, "440000000000");
}
END_TEST

START_TEST (the_parent_of_an_invalid_code_is_an_error)
{
    char parent [HT_REGION_BYTES] = "untouched";
    ck_assert_int_eq (ht_region_parent ("441800000100", parent), HT_EREGION);
    ck_assert_int_eq (ht_region_parent ("991802000000", parent), HT_EREGION);
    ck_assert_int_eq (ht_region_parent ("441802", parent), HT_EREGION);
    ck_assert_str_eq (parent, "untouched");
}
END_TEST

START_TEST (every_ancestor_covers_its_descendant)
{
    const char *start [] = {
        "320508019044", "220581102200", "500108001000", "441900003001"
    };
    for (size_t index = 0; index < sizeof start / sizeof start [0]; index++) {
        char ancestor [HT_REGION_BYTES];
        memcpy (ancestor, start [index], HT_REGION_BYTES);
        while (ht_region_parent (ancestor, ancestor) == 0) {
            ck_assert_msg (ht_region_covers (ancestor, start [index]),
                           "%s over %s", ancestor, start [index]);
            ck_assert_msg (!ht_region_covers (start [index], ancestor),
                           "%s over %s", start [index], ancestor);
        }
    }
}
END_TEST

//  Covers --------------------------------------------------------------

START_TEST (a_region_covers_itself_and_its_descendants)
{
    ck_assert (ht_region_covers ("441800000000", "441800000000"));
    ck_assert (ht_region_covers ("441800000000", "441802001000"));
    ck_assert (ht_region_covers ("4418", "441802001000"));
    ck_assert (ht_region_covers ("441802", "441802001"));
    ck_assert (ht_region_covers ("44", "4418"));
    ck_assert (ht_region_covers ("440000000000", "441900003000"));
    ck_assert (ht_region_covers ("4419", "441900003"));
    ck_assert (ht_region_covers ("32", "320508019044"));
}
END_TEST

START_TEST (a_municipality_prefix_covers_both_summaries)
{
    ck_assert (ht_region_covers ("50", "500108000000"));
    ck_assert (ht_region_covers ("500000000000", "500108000000"));
    ck_assert (ht_region_covers ("50", "500229000000"));
    ck_assert (ht_region_covers ("11", "110105000000"));
}
END_TEST

START_TEST (a_region_does_not_cover_siblings_or_ancestors)
{
    ck_assert (!ht_region_covers ("441802000000", "441803000000"));
    ck_assert (!ht_region_covers ("441802001000", "441802000000"));
    ck_assert (!ht_region_covers ("441802", "4418"));
    ck_assert (!ht_region_covers ("4418", "4419"));
    ck_assert (!ht_region_covers ("44", "500108000000"));
    ck_assert (!ht_region_covers ("50", "510000000000"));
    ck_assert (!ht_region_covers ("441802001", "441802002001"));
    ck_assert (!ht_region_covers ("441802001001", "441802001010"));
}
END_TEST

START_TEST (covers_is_false_when_either_side_is_invalid)
{
    ck_assert (!ht_region_covers ("44", "441800000100"));
    ck_assert (!ht_region_covers ("441800000100", "441800000100"));
    ck_assert (!ht_region_covers ("4", "441800000000"));
    ck_assert (!ht_region_covers ("441", "441800000000"));
    ck_assert (!ht_region_covers ("99", "991800000000"));
    ck_assert (!ht_region_covers ("", "441800000000"));
    ck_assert (!ht_region_covers ("44", ""));
}
END_TEST

//  Unusual groups ------------------------------------------------------

START_TEST (townships_and_villages_outside_the_listed_ranges_are_unusual)
{
    ck_assert (!ht_region_unusual ("441802001000"));
    ck_assert (!ht_region_unusual ("441802599399"));
    ck_assert (!ht_region_unusual ("441800000000"));
    ck_assert (ht_region_unusual ("441802600000"));
    ck_assert (ht_region_unusual ("441802999001"));
    ck_assert (ht_region_unusual ("441802001400"));
    ck_assert (ht_region_unusual ("441802001999"));
    //  Unusual codes still validate: ranges only warn
    ck_assert (ht_region_valid ("441802600000"));
    ck_assert (ht_region_valid ("441802001999"));
}
END_TEST

Suite *
region_suite (void)
{
    Suite *suite = suite_create ("ht_region");
    TCase *validation = tcase_create ("validation");
    tcase_add_test (validation, the_domain_examples_are_valid);
    tcase_add_test (validation, every_known_province_is_accepted_and_no_other);
    tcase_add_test (validation, an_unknown_province_is_rejected_by_name);
    tcase_add_test (validation, a_code_of_the_wrong_length_is_rejected);
    tcase_add_test (validation, a_code_with_letters_or_signs_is_rejected);
    tcase_add_test (validation, a_missing_code_is_rejected_without_crashing);
    tcase_add_test (validation, a_zero_group_before_a_non_zero_group_is_rejected);
    tcase_add_test (validation, dd_zero_is_allowed_before_a_township_group);
    suite_add_tcase (suite, validation);

    TCase *tiers = tcase_create ("tiers");
    tcase_add_test (tiers, the_tier_is_the_deepest_non_zero_group);
    tcase_add_test (tiers, a_municipality_without_a_city_group_is_a_city);
    tcase_add_test (tiers, an_invalid_code_has_no_tier);
    tcase_add_test (tiers, tiers_have_names);
    suite_add_tcase (suite, tiers);

    TCase *prefixes = tcase_create ("prefixes");
    tcase_add_test (prefixes, the_prefix_drops_trailing_zero_groups);
    tcase_add_test (prefixes, the_prefix_keeps_dd_zero_when_a_township_follows);
    tcase_add_test (prefixes, the_prefix_of_an_invalid_code_is_an_error);
    tcase_add_test (prefixes, a_prefix_expands_to_its_code);
    tcase_add_test (prefixes, a_prefix_and_its_code_round_trip);
    tcase_add_test (prefixes, a_prefix_off_a_group_boundary_is_rejected);
    suite_add_tcase (suite, prefixes);

    TCase *parents = tcase_create ("parents");
    tcase_add_test (parents, the_parent_zeroes_the_deepest_non_zero_group);
    tcase_add_test (parents, a_province_has_no_parent);
    tcase_add_test (parents, a_municipality_city_has_no_parent);
    tcase_add_test (parents, a_municipality_district_hangs_under_the_municipality);
    tcase_add_test (parents, a_township_of_a_city_without_counties_hangs_under_the_city);
    tcase_add_test (parents, the_parent_chain_of_a_community_reaches_the_province);
    tcase_add_test (parents, the_parent_of_an_invalid_code_is_an_error);
    tcase_add_test (parents, every_ancestor_covers_its_descendant);
    suite_add_tcase (suite, parents);

    TCase *covers = tcase_create ("covers");
    tcase_add_test (covers, a_region_covers_itself_and_its_descendants);
    tcase_add_test (covers, a_municipality_prefix_covers_both_summaries);
    tcase_add_test (covers, a_region_does_not_cover_siblings_or_ancestors);
    tcase_add_test (covers, covers_is_false_when_either_side_is_invalid);
    suite_add_tcase (suite, covers);

    TCase *unusual = tcase_create ("unusual");
    tcase_add_test (unusual, townships_and_villages_outside_the_listed_ranges_are_unusual);
    suite_add_tcase (suite, unusual);
    return suite;
}

HT_TEST_MAIN (region_suite)
