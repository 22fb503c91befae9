//  test_valid: field validators — citizen ID, USCC, dates, phones, text.
//  Vectors come from DOMAIN.md §4; derived vectors were computed independently
//  from the same formulas, never by the code under test.
#include "ht_valid.h"
#include "ht_region.h"
#include "ht_test.h"

#include <string.h>

#define S_TODAY 20240601            //  fixed "today" so tests never age

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  Citizen ID ----------------------------------------------------------

START_TEST (the_standard_sample_citizen_id_is_valid)
{
    const char *reason = "unset";
    ck_assert_int_eq (ht_valid_citizen_id ("11010519491231002X", S_TODAY, &reason), 0);
    ck_assert_ptr_null (reason);
    ck_assert_int_eq (ht_citizen_id_check_char ("11010519491231002"), 'X');
}
END_TEST

START_TEST (the_synthetic_qingcheng_citizen_id_is_valid)
{
    const char *reason = "unset";
    ck_assert_int_eq (ht_valid_citizen_id ("441802194005120317", S_TODAY, &reason), 0);
    ck_assert_ptr_null (reason);
    ck_assert_int_eq (ht_citizen_id_check_char ("44180219400512031"), '7');
    //  Only the first 17 characters count
    ck_assert_int_eq (ht_citizen_id_check_char ("441802194005120317"), '7');
}
END_TEST

START_TEST (today_zero_means_the_current_date)
{
    ck_assert_int_eq (ht_valid_citizen_id ("441802194005120317", 0, NULL), 0);
}
END_TEST

START_TEST (every_wrong_check_character_is_rejected_naming_the_right_one)
{
    const char *checks = "0123456789X";
    for (const char *c = checks; *c; c++) {
        char id [] = "441802194005120317";
        id [17] = *c;
        const char *reason = NULL;
        int rc = ht_valid_citizen_id (id, S_TODAY, &reason);
        if (*c == '7')
            ck_assert_int_eq (rc, 0);
        else {
            ck_assert_int_eq (rc, HT_ESCHEMA);
            ck_assert_str_eq (reason, "check character should be 7");
        }
    }
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_citizen_id ("110105194912310020", S_TODAY, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "check character should be X");
}
END_TEST

START_TEST (every_single_digit_typo_is_caught)
{
    for (int position = 0; position < 17; position++) {
        for (char digit = '0'; digit <= '9'; digit++) {
            char id [] = "441802194005120317";
            if (id [position] == digit)
                continue;
            id [position] = digit;
            ck_assert_msg (ht_valid_citizen_id (id, S_TODAY, NULL) == HT_ESCHEMA, "%s", id);
        }
    }
}
END_TEST

START_TEST (a_lowercase_x_is_rejected_asking_for_uppercase)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_citizen_id ("11010519491231002x", S_TODAY, &reason), HT_ESCHEMA);
    ck_assert_ptr_nonnull (strstr (reason, "uppercase X"));
}
END_TEST

START_TEST (a_citizen_id_with_an_impossible_date_is_rejected)
{
    //  1940-02-30, check 2
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_citizen_id ("441802194002300312", S_TODAY, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "day is past the end of the month");
    //  1900-02-29: 1900 is not a leap year; 2000-02-29 is fine
    ck_assert_int_eq (ht_valid_citizen_id ("110105190002290025", S_TODAY, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "February 29 is only in leap years");
    ck_assert_int_eq (ht_valid_citizen_id ("110105200002290021", S_TODAY, &reason), 0);
}
END_TEST

START_TEST (a_citizen_id_born_in_the_future_is_rejected)
{
    //  2099-05-12, check 1
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_citizen_id ("441802209905120311", S_TODAY, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "birth date is in the future");
    ck_assert_int_eq (ht_valid_citizen_id ("441802209905120311", 0, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "birth date is in the future");
    //  Born today is not the future
    ck_assert_int_eq (ht_valid_citizen_id ("441802209905120311", 20990512, &reason), 0);
    ck_assert_int_eq (ht_valid_citizen_id ("441802209905120311", 20990511, &reason), HT_ESCHEMA);
}
END_TEST

START_TEST (a_citizen_id_from_an_unknown_province_is_rejected)
{
    //  Province 99, check 4
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_citizen_id ("991802194005120314", S_TODAY, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "unknown province code 99");
}
END_TEST

START_TEST (a_citizen_id_of_the_wrong_length_is_rejected)
{
    const char *bad [] = {
        "", "44180219400512031", "4418021940051203170", "110105491231002",
        "441802194005120317 "
    };
    for (size_t index = 0; index < S_COUNT (bad); index++) {
        const char *reason = NULL;
        ck_assert_int_eq (ht_valid_citizen_id (bad [index], S_TODAY, &reason), HT_ESCHEMA);
        ck_assert_str_eq (reason, "citizen ID must be 18 characters");
    }
}
END_TEST

START_TEST (a_citizen_id_with_non_digits_is_rejected)
{
    const char *bad [] = {
        "4418021940051203X7", "A41802194005120317", "44180219400512031 ",
        "441802-94005120317", "X41802194005120317"
    };
    for (size_t index = 0; index < S_COUNT (bad); index++) {
        const char *reason = NULL;
        ck_assert_msg (ht_valid_citizen_id (bad [index], S_TODAY, &reason) == HT_ESCHEMA,
                       "%s", bad [index]);
        ck_assert_ptr_nonnull (reason);
    }
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_citizen_id ("44180219400512031Y", S_TODAY, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "check character must be a digit or X");
    ck_assert_int_eq (ht_citizen_id_check_char ("4418021940051203A"), '\0');
    ck_assert_int_eq (ht_citizen_id_check_char ("4418"), '\0');
    ck_assert_int_eq (ht_citizen_id_check_char (NULL), '\0');
}
END_TEST

START_TEST (a_missing_citizen_id_is_rejected_without_crashing)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_citizen_id (NULL, S_TODAY, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "citizen ID is missing");
    ck_assert_int_eq (ht_valid_citizen_id (NULL, S_TODAY, NULL), HT_ESCHEMA);
    ck_assert_uint_eq (ht_citizen_id_birth (NULL), 0);
    ck_assert_int_eq (ht_citizen_id_sex (NULL), 0);
}
END_TEST

START_TEST (a_fifteen_digit_id_upgrades_to_eighteen)
{
    char out [HT_CITIZEN_ID_DIGITS + 1];
    ck_assert_int_eq (ht_citizen_id_upgrade ("110105491231002", out), 0);
    ck_assert_str_eq (out, "11010519491231002X");
    ck_assert_int_eq (ht_valid_citizen_id (out, S_TODAY, NULL), 0);
}
END_TEST

START_TEST (a_malformed_fifteen_digit_id_does_not_upgrade)
{
    const char *bad [] = {
        "11010549123100", "1101054912310021", "11010549123100A",
        "110105490230002",     //  1949-02-30
        "990105491231002",     //  unknown province
        ""
    };
    for (size_t index = 0; index < S_COUNT (bad); index++) {
        char out [HT_CITIZEN_ID_DIGITS + 1] = "untouched";
        ck_assert_msg (ht_citizen_id_upgrade (bad [index], out) == HT_ESCHEMA, "%s", bad [index]);
        ck_assert_str_eq (out, "untouched");
    }
    char out [HT_CITIZEN_ID_DIGITS + 1];
    ck_assert_int_eq (ht_citizen_id_upgrade (NULL, out), HT_ESCHEMA);
}
END_TEST

START_TEST (the_birth_date_and_sex_come_from_the_id)
{
    ck_assert_uint_eq (ht_citizen_id_birth ("441802194005120317"), 19400512);
    ck_assert_int_eq (ht_citizen_id_sex ("441802194005120317"), 1);
    ck_assert_uint_eq (ht_citizen_id_birth ("11010519491231002X"), 19491231);
    ck_assert_int_eq (ht_citizen_id_sex ("11010519491231002X"), 2);
    ck_assert_uint_eq (ht_citizen_id_birth ("441802194002300312"), 0);
    ck_assert_uint_eq (ht_citizen_id_birth ("4418021940"), 0);
    ck_assert_int_eq (ht_citizen_id_sex ("4418021940"), 0);
}
END_TEST

//  USCC ----------------------------------------------------------------

START_TEST (the_domain_usccs_are_valid_with_their_org_codes)
{
    const char *valid [] = { "91350100M000100Y43", "52441802MJ0001002K" };
    for (size_t index = 0; index < S_COUNT (valid); index++) {
        bool org_code_ok = false;
        const char *reason = "unset";
        ck_assert_int_eq (ht_valid_uscc (valid [index], &org_code_ok, &reason), 0);
        ck_assert_ptr_null (reason);
        ck_assert (org_code_ok);
    }
    ck_assert_int_eq (ht_uscc_check_char ("91350100M000100Y4"), '3');
    ck_assert_int_eq (ht_uscc_check_char ("52441802MJ0001002"), 'K');
}
END_TEST

START_TEST (the_web_example_uscc_ends_in_7_not_d)
{
    bool org_code_ok = true;
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_uscc ("91310115MA1H8R7C67", &org_code_ok, &reason), 0);
    //  Its organisation code MA1H8R7C-6 should end in 4: a warning only
    ck_assert (!org_code_ok);
    ck_assert_int_eq (ht_valid_uscc ("91310115MA1H8R7C6D", &org_code_ok, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "check character should be 7");
    ck_assert (!org_code_ok);
}
END_TEST

START_TEST (a_failed_org_code_check_only_warns)
{
    //  M000100Y-5 instead of -4: USCC check 6 from the §4 formula
    bool org_code_ok = true;
    ck_assert_int_eq (ht_valid_uscc ("91350100M000100Y56", &org_code_ok, NULL), 0);
    ck_assert (!org_code_ok);
    ck_assert_int_eq (ht_valid_uscc ("91350100M000100Y56", NULL, NULL), 0);
}
END_TEST

START_TEST (every_wrong_uscc_check_character_is_rejected)
{
    const char *alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (const char *c = alphabet; *c; c++) {
        char uscc [] = "52441802MJ0001002K";
        uscc [17] = *c;
        const char *reason = NULL;
        int rc = ht_valid_uscc (uscc, NULL, &reason);
        if (*c == 'K')
            ck_assert_int_eq (rc, 0);
        else {
            ck_assert_int_eq (rc, HT_ESCHEMA);
            ck_assert_str_eq (reason, "check character should be K");
        }
    }
}
END_TEST

START_TEST (every_single_character_uscc_typo_is_caught)
{
    const char *alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (int position = 0; position < 17; position++) {
        for (const char *c = alphabet; *c; c++) {
            char uscc [] = "91350100M000100Y43";
            if (uscc [position] == *c)
                continue;
            uscc [position] = *c;
            ck_assert_msg (ht_valid_uscc (uscc, NULL, NULL) == HT_ESCHEMA, "%s", uscc);
        }
    }
}
END_TEST

START_TEST (uscc_letters_i_o_s_v_z_are_rejected)
{
    const char *letters = "IOSVZ";
    for (const char *c = letters; *c; c++) {
        char uscc [] = "91350100M000100Y43";
        uscc [8] = *c;
        bool org_code_ok = true;
        const char *reason = NULL;
        ck_assert_int_eq (ht_valid_uscc (uscc, &org_code_ok, &reason), HT_ESCHEMA);
        ck_assert_str_eq (reason, "USCC never uses the letters I, O, S, V or Z");
        ck_assert (!org_code_ok);
        ck_assert_int_eq (ht_uscc_check_char (uscc), '\0');
    }
}
END_TEST

START_TEST (a_lowercase_uscc_is_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_uscc ("91350100m000100Y43", NULL, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "USCC letters must be uppercase");
    ck_assert_int_eq (ht_valid_uscc ("52441802MJ0001002k", NULL, &reason), HT_ESCHEMA);
}
END_TEST

START_TEST (a_uscc_of_the_wrong_length_or_alphabet_is_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_uscc ("91350100M000100Y4", NULL, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "USCC must be 18 characters");
    ck_assert_int_eq (ht_valid_uscc ("91350100M000100Y433", NULL, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "USCC must be 18 characters");
    ck_assert_int_eq (ht_valid_uscc ("", NULL, &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_uscc ("91350100-000100Y43", NULL, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "USCC must contain only digits and uppercase letters");
    ck_assert_int_eq (ht_valid_uscc (NULL, NULL, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "USCC is missing");
    ck_assert_int_eq (ht_uscc_check_char ("9135"), '\0');
    ck_assert_int_eq (ht_uscc_check_char (NULL), '\0');
}
END_TEST

//  Dates ---------------------------------------------------------------

START_TEST (real_dates_are_valid)
{
    const char *dates [] = {
        "19400512", "19491231", "20000229", "20240229", "20230228",
        "19000228", "00010101", "99991231", "20240131", "20240430"
    };
    for (size_t index = 0; index < S_COUNT (dates); index++) {
        const char *reason = "unset";
        ck_assert_msg (ht_valid_date (dates [index], &reason) == 0, "%s", dates [index]);
        ck_assert_ptr_null (reason);
    }
    ck_assert_uint_eq (ht_date_parse ("19400512"), 19400512);
}
END_TEST

START_TEST (impossible_dates_are_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_date ("20240230", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "day is past the end of the month");
    ck_assert_int_eq (ht_valid_date ("20230229", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "February 29 is only in leap years");
    ck_assert_int_eq (ht_valid_date ("19000229", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_date ("20240431", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_date ("20241301", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "month must be 01-12");
    ck_assert_int_eq (ht_valid_date ("20240001", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_date ("20240100", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "day must not be 00");
    ck_assert_int_eq (ht_valid_date ("00000101", &reason), HT_ESCHEMA);
    ck_assert_uint_eq (ht_date_parse ("20240230"), 0);
}
END_TEST

START_TEST (malformed_dates_are_rejected)
{
    const char *bad [] = {
        "", "2024061", "202406011", "2024-06-01", "2024060a", " 20240601",
        "２0240601"
    };
    for (size_t index = 0; index < S_COUNT (bad); index++) {
        const char *reason = NULL;
        ck_assert_int_eq (ht_valid_date (bad [index], &reason), HT_ESCHEMA);
        ck_assert_str_eq (reason, "date must be 8 digits YYYYMMDD");
        ck_assert_uint_eq (ht_date_parse (bad [index]), 0);
    }
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_date (NULL, &reason), HT_ESCHEMA);
    ck_assert_uint_eq (ht_date_parse (NULL), 0);
}
END_TEST

START_TEST (today_is_a_real_recent_date)
{
    uint32_t today = ht_date_today ();
    ck_assert_uint_gt (today, 20240101);
    ck_assert_uint_lt (today, 22000101);
    char text [9];
    for (int index = 7; index >= 0; index--) {
        text [index] = (char) ('0' + today % 10);
        today /= 10;
    }
    text [8] = '\0';
    ck_assert_int_eq (ht_valid_date (text, NULL), 0);
}
END_TEST

START_TEST (age_counts_whole_years)
{
    ck_assert_int_eq (ht_date_age (19400512, 20240511), 83);
    ck_assert_int_eq (ht_date_age (19400512, 20240512), 84);
    ck_assert_int_eq (ht_date_age (19400512, 19400512), 0);
    ck_assert_int_eq (ht_date_age (19641231, 20241231), 60);
    ck_assert_int_eq (ht_date_age (19641231, 20241230), 59);
}
END_TEST

START_TEST (a_leap_day_birthday_comes_on_march_first_in_common_years)
{
    ck_assert_int_eq (ht_date_age (20000229, 20010228), 0);
    ck_assert_int_eq (ht_date_age (20000229, 20010301), 1);
    ck_assert_int_eq (ht_date_age (20000229, 20040229), 4);
}
END_TEST

START_TEST (age_is_minus_one_for_bad_dates_or_birth_after_the_day)
{
    ck_assert_int_eq (ht_date_age (20240602, 20240601), -1);
    ck_assert_int_eq (ht_date_age (0, 20240601), -1);
    ck_assert_int_eq (ht_date_age (19400230, 20240601), -1);
    ck_assert_int_eq (ht_date_age (19400512, 0), -1);
}
END_TEST

//  Phones --------------------------------------------------------------

START_TEST (mobile_numbers_are_valid)
{
    const char *good [] = { "13800138000", "19912345678", "15000000000", "17712345678" };
    for (size_t index = 0; index < S_COUNT (good); index++) {
        const char *reason = "unset";
        ck_assert_msg (ht_valid_phone (good [index], &reason) == 0, "%s", good [index]);
        ck_assert_ptr_null (reason);
    }
}
END_TEST

START_TEST (a_number_starting_with_1_must_be_a_mobile)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_phone ("12345678901", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "mobile number must start with 13-19");
    ck_assert_int_eq (ht_valid_phone ("10012345678", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_phone ("1380013800", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "mobile number must be 11 digits");
    ck_assert_int_eq (ht_valid_phone ("138001380000", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_phone ("138-0013-8000", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_phone ("1380013800a", &reason), HT_ESCHEMA);
}
END_TEST

START_TEST (fixed_line_numbers_are_valid)
{
    const char *good [] = {
        "0763-3328888", "020-12345678", "3328888", "07633328888",
        "010-6512-3456", "400-123-4567", "01234567890123456789"
    };
    for (size_t index = 0; index < S_COUNT (good); index++)
        ck_assert_msg (ht_valid_phone (good [index], NULL) == 0, "%s", good [index]);
}
END_TEST

START_TEST (malformed_fixed_line_numbers_are_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_phone ("332888", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "phone number must be 7-20 characters");
    ck_assert_int_eq (ht_valid_phone ("012345678901234567890", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "phone number must be 7-20 characters");
    ck_assert_int_eq (ht_valid_phone ("0763 3328888", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "phone number may contain only digits and '-'");
    ck_assert_int_eq (ht_valid_phone ("+86-763-3328888", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_phone ("0763-332888x", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_phone ("-------", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_phone ("0763-3328888-", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "phone number must start and end with a digit");
    ck_assert_int_eq (ht_valid_phone ("0763--3328888", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "phone number has two '-' in a row");
    ck_assert_int_eq (ht_valid_phone ("", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "phone number is missing");
    ck_assert_int_eq (ht_valid_phone (NULL, &reason), HT_ESCHEMA);
}
END_TEST

//  Regions -------------------------------------------------------------

START_TEST (region_validation_reports_schema_errors)
{
    const char *reason = "unset";
    ck_assert_int_eq (ht_valid_region ("441802001000", &reason), 0);
    ck_assert_ptr_null (reason);
    ck_assert_int_eq (ht_valid_region ("991802001000", &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "unknown province code 99");
    ck_assert_int_eq (ht_valid_region ("44180200100", &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_region (NULL, &reason), HT_ESCHEMA);
}
END_TEST

//  Text ----------------------------------------------------------------

START_TEST (utf8_text_within_the_limit_is_valid)
{
    const char *reason = "unset";
    ck_assert_int_eq (ht_valid_text ("张三", 50, &reason), 0);
    ck_assert_ptr_null (reason);
    ck_assert_int_eq (ht_valid_text ("张三", 2, NULL), 0);
    ck_assert_int_eq (ht_valid_text ("a", 1, NULL), 0);
    ck_assert_int_eq (ht_valid_text ("广东省清远市清城区凤城街道 12 号", 50, NULL), 0);
    ck_assert_int_eq (ht_valid_text ("\xf0\x9f\x98\x80", 1, NULL), 0);     //  U+1F600
    ck_assert_int_eq (ht_valid_text ("\xf4\x8f\xbf\xbf", 1, NULL), 0);     //  U+10FFFF
    ck_assert_int_eq (ht_valid_text ("\xef\xbf\xbd", 1, NULL), 0);         //  U+FFFD
}
END_TEST

START_TEST (text_longer_than_the_limit_in_code_points_is_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_text ("张三", 1, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "text is too long");
    ck_assert_int_eq (ht_valid_text ("abc", 2, &reason), HT_ESCHEMA);
}
END_TEST

START_TEST (empty_text_is_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_text ("", 50, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "text is empty");
    ck_assert_int_eq (ht_valid_text (NULL, 50, &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_text ("a", 0, &reason), HT_ESCHEMA);
}
END_TEST

START_TEST (text_with_control_characters_is_rejected)
{
    const char *bad [] = {
        "张\t三", "张三\n", "\r", "a\x1b[31m", "a\x7f", "a\xc2\x85"
    };
    for (size_t index = 0; index < S_COUNT (bad); index++) {
        const char *reason = NULL;
        ck_assert_int_eq (ht_valid_text (bad [index], 50, &reason), HT_ESCHEMA);
        ck_assert_str_eq (reason, "text has a control character");
    }
}
END_TEST

START_TEST (invalid_utf8_is_rejected)
{
    const char *bad [] = {
        "\xff", "a\x80", "\xe5\xbc", ("\xe5\xbc" "a"), "\xf8\x88\x80\x80\x80",
        "\xc3", "\xe5\x28\xa1"
    };
    for (size_t index = 0; index < S_COUNT (bad); index++) {
        const char *reason = NULL;
        ck_assert_msg (ht_valid_text (bad [index], 50, &reason) == HT_ESCHEMA, "%zu", index);
        ck_assert_str_eq (reason, "text is not valid UTF-8");
    }
}
END_TEST

//  ht_utf8_valid reads exactly size bytes (msgpack texts end in no NUL)
START_TEST (utf8_valid_checks_exactly_the_bytes_given)
{
    ck_assert (ht_utf8_valid ("", 0));
    ck_assert (ht_utf8_valid ("张三 Zhang", strlen ("张三 Zhang")));
    ck_assert (ht_utf8_valid ("\xf4\x8f\xbf\xbf", 4));             //  U+10FFFF
    //  A character cut by the size, though its bytes follow in memory
    ck_assert (!ht_utf8_valid ("张", 2));
    ck_assert (!ht_utf8_valid ("a张", 3));
    ck_assert (ht_utf8_valid ("a张", 1));
    const char *bad [] = { "\xff", "a\x80", "\xe5\xbc", "\xc0\xaf", "\xed\xa0\x80",
                           "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80" };
    for (size_t index = 0; index < S_COUNT (bad); index++)
        ck_assert_msg (!ht_utf8_valid (bad [index], strlen (bad [index])), "%zu", index);
    //  A NUL byte is not text
    ck_assert (!ht_utf8_valid ("a\0b", 3));
}
END_TEST

START_TEST (overlong_utf8_is_rejected)
{
    const char *bad [] = { "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xc0\x80" };
    for (size_t index = 0; index < S_COUNT (bad); index++) {
        const char *reason = NULL;
        ck_assert_int_eq (ht_valid_text (bad [index], 50, &reason), HT_ESCHEMA);
        ck_assert_str_eq (reason, "text has an overlong UTF-8 sequence");
    }
}
END_TEST

START_TEST (utf16_surrogates_and_out_of_range_code_points_are_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq (ht_valid_text ("\xed\xa0\x80", 50, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "text has a UTF-16 surrogate");
    ck_assert_int_eq (ht_valid_text ("\xed\xbf\xbf", 50, &reason), HT_ESCHEMA);
    ck_assert_int_eq (ht_valid_text ("\xf4\x90\x80\x80", 50, &reason), HT_ESCHEMA);
    ck_assert_str_eq (reason, "text is beyond the last Unicode code point");
}
END_TEST

Suite *
valid_suite (void)
{
    Suite *suite = suite_create ("ht_valid");
    TCase *citizen = tcase_create ("citizen_id");
    tcase_add_test (citizen, the_standard_sample_citizen_id_is_valid);
    tcase_add_test (citizen, the_synthetic_qingcheng_citizen_id_is_valid);
    tcase_add_test (citizen, today_zero_means_the_current_date);
    tcase_add_test (citizen, every_wrong_check_character_is_rejected_naming_the_right_one);
    tcase_add_test (citizen, every_single_digit_typo_is_caught);
    tcase_add_test (citizen, a_lowercase_x_is_rejected_asking_for_uppercase);
    tcase_add_test (citizen, a_citizen_id_with_an_impossible_date_is_rejected);
    tcase_add_test (citizen, a_citizen_id_born_in_the_future_is_rejected);
    tcase_add_test (citizen, a_citizen_id_from_an_unknown_province_is_rejected);
    tcase_add_test (citizen, a_citizen_id_of_the_wrong_length_is_rejected);
    tcase_add_test (citizen, a_citizen_id_with_non_digits_is_rejected);
    tcase_add_test (citizen, a_missing_citizen_id_is_rejected_without_crashing);
    tcase_add_test (citizen, a_fifteen_digit_id_upgrades_to_eighteen);
    tcase_add_test (citizen, a_malformed_fifteen_digit_id_does_not_upgrade);
    tcase_add_test (citizen, the_birth_date_and_sex_come_from_the_id);
    suite_add_tcase (suite, citizen);

    TCase *uscc = tcase_create ("uscc");
    tcase_add_test (uscc, the_domain_usccs_are_valid_with_their_org_codes);
    tcase_add_test (uscc, the_web_example_uscc_ends_in_7_not_d);
    tcase_add_test (uscc, a_failed_org_code_check_only_warns);
    tcase_add_test (uscc, every_wrong_uscc_check_character_is_rejected);
    tcase_add_test (uscc, every_single_character_uscc_typo_is_caught);
    tcase_add_test (uscc, uscc_letters_i_o_s_v_z_are_rejected);
    tcase_add_test (uscc, a_lowercase_uscc_is_rejected);
    tcase_add_test (uscc, a_uscc_of_the_wrong_length_or_alphabet_is_rejected);
    suite_add_tcase (suite, uscc);

    TCase *dates = tcase_create ("dates");
    tcase_add_test (dates, real_dates_are_valid);
    tcase_add_test (dates, impossible_dates_are_rejected);
    tcase_add_test (dates, malformed_dates_are_rejected);
    tcase_add_test (dates, today_is_a_real_recent_date);
    tcase_add_test (dates, age_counts_whole_years);
    tcase_add_test (dates, a_leap_day_birthday_comes_on_march_first_in_common_years);
    tcase_add_test (dates, age_is_minus_one_for_bad_dates_or_birth_after_the_day);
    suite_add_tcase (suite, dates);

    TCase *phones = tcase_create ("phones");
    tcase_add_test (phones, mobile_numbers_are_valid);
    tcase_add_test (phones, a_number_starting_with_1_must_be_a_mobile);
    tcase_add_test (phones, fixed_line_numbers_are_valid);
    tcase_add_test (phones, malformed_fixed_line_numbers_are_rejected);
    suite_add_tcase (suite, phones);

    TCase *regions = tcase_create ("regions");
    tcase_add_test (regions, region_validation_reports_schema_errors);
    suite_add_tcase (suite, regions);

    TCase *text = tcase_create ("text");
    tcase_add_test (text, utf8_text_within_the_limit_is_valid);
    tcase_add_test (text, text_longer_than_the_limit_in_code_points_is_rejected);
    tcase_add_test (text, empty_text_is_rejected);
    tcase_add_test (text, text_with_control_characters_is_rejected);
    tcase_add_test (text, invalid_utf8_is_rejected);
    tcase_add_test (text, utf8_valid_checks_exactly_the_bytes_given);
    tcase_add_test (text, overlong_utf8_is_rejected);
    tcase_add_test (text, utf16_surrogates_and_out_of_range_code_points_are_rejected);
    suite_add_tcase (suite, text);
    return suite;
}

HT_TEST_MAIN (valid_suite)
