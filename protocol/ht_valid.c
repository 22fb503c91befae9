//  ht_valid: field validators for the schema table.
//
//  Every check reads at most a few bytes past the longest valid input, so
//  hostile strings of any length cost nothing. Reasons are static texts
//  that tell a data-entry clerk what to fix.
#include "ht_valid.h"
#include "ht_region.h"

#include <string.h>
#include <time.h>

#define S_COUNT(array) ((int) (sizeof (array) / sizeof ((array) [0])))
#define S_OLD_ID_DIGITS 15
#define S_ORG_CODE_START 8          //  USCC characters 9-17, zero-based
#define S_ORG_CODE_BODY 8           //  characters before the org-code check
#define S_PHONE_MIN_CHARS 7
#define S_PHONE_MAX_CHARS 20
#define S_MOBILE_DIGITS 11

//  GB 11643 weights 2^(17-i) mod 11
static const int s_id_weights [17] = {
    7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2
};
static const char s_id_check_chars [] = "0123456789X";
static const char *const s_id_should_be [11] = {
    "check character should be 0", "check character should be 1",
    "check character should be 2", "check character should be 3",
    "check character should be 4", "check character should be 5",
    "check character should be 6", "check character should be 7",
    "check character should be 8", "check character should be 9",
    "check character should be X"
};

//  GB 32100 alphabet: digits, then letters without I O S V Z, valued 0-30
static const char s_uscc_alphabet [] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
#define S_USCC_BASE 31
//  GB 32100 weights 3^(i-1) mod 31
static const int s_uscc_weights [17] = {
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
};
static const char *const s_uscc_should_be [S_USCC_BASE] = {
    "check character should be 0", "check character should be 1",
    "check character should be 2", "check character should be 3",
    "check character should be 4", "check character should be 5",
    "check character should be 6", "check character should be 7",
    "check character should be 8", "check character should be 9",
    "check character should be A", "check character should be B",
    "check character should be C", "check character should be D",
    "check character should be E", "check character should be F",
    "check character should be G", "check character should be H",
    "check character should be J", "check character should be K",
    "check character should be L", "check character should be M",
    "check character should be N", "check character should be P",
    "check character should be Q", "check character should be R",
    "check character should be T", "check character should be U",
    "check character should be W", "check character should be X",
    "check character should be Y"
};

//  GB 11714 organisation-code weights
static const int s_org_weights [S_ORG_CODE_BODY] = { 3, 7, 9, 10, 5, 8, 4, 2 };

static bool
s_is_digit (char c)
{
    return c >= '0' && c <= '9';
}

//  True if the first count characters of text are ASCII digits; stops at
//  the terminator, so a short string is simply not all digits
static bool
s_digits (const char *text, int count)
{
    for (int index = 0; index < count; index++)
        if (!s_is_digit (text [index]))
            return false;
    return true;
}

//  Value of count digits, which the caller has checked
static uint32_t
s_number (const char *text, int count)
{
    uint32_t value = 0;
    for (int index = 0; index < count; index++)
        value = value * 10 + (uint32_t) (text [index] - '0');
    return value;
}

static int
s_set_reason (const char **reason, const char *text)
{
    if (reason)
        *reason = text;
    return text? HT_ESCHEMA: 0;
}

//  ---------------------------------------------------------------------
//  Dates

static bool
s_leap_year (uint32_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static uint32_t
s_days_in_month (uint32_t year, uint32_t month)
{
    static const uint32_t days [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month == 2 && s_leap_year (year))
        return 29;
    return days [month - 1];
}

//  Reason a YYYYMMDD number is not a real date, or NULL
static const char *
s_date_problem (uint32_t date)
{
    uint32_t year = date / 10000;
    uint32_t month = date / 100 % 100;
    uint32_t day = date % 100;
    if (year < 1 || year > 9999)
        return "year must be 0001-9999";
    if (month < 1 || month > 12)
        return "month must be 01-12";
    if (day < 1)
        return "day must not be 00";
    if (day > s_days_in_month (year, month))
        return month == 2 && day == 29? "February 29 is only in leap years":
                                        "day is past the end of the month";
    return NULL;
}

//  Validate a calendar date YYYYMMDD
int
ht_valid_date (const char *date, const char **reason)
{
    if (date == NULL)
        return s_set_reason (reason, "date is missing");
    if (!s_digits (date, 8) || date [8] != '\0')
        return s_set_reason (reason, "date must be 8 digits YYYYMMDD");
    return s_set_reason (reason, s_date_problem (s_number (date, 8)));
}

//  Date as an integer YYYYMMDD; 0 if invalid
uint32_t
ht_date_parse (const char *date)
{
    if (ht_valid_date (date, NULL) != 0)
        return 0;
    return s_number (date, 8);
}

//  Today's UTC date as YYYYMMDD; 0 if the clock cannot be read
uint32_t
ht_date_today (void)
{
    time_t now = time (NULL);
    struct tm fields;
    if (now == (time_t) -1 || gmtime_r (&now, &fields) == NULL)
        return 0;
    return (uint32_t) (fields.tm_year + 1900) * 10000
         + (uint32_t) (fields.tm_mon + 1) * 100 + (uint32_t) fields.tm_mday;
}

//  Whole years from birth to on; -1 if either date is not real or on is
//  before birth. Someone born on 29 February comes of age on 1 March in
//  common years, since 0301 is the first month-day not before 0229.
int
ht_date_age (uint32_t birth, uint32_t on)
{
    if (s_date_problem (birth) || s_date_problem (on) || on < birth)
        return -1;
    int years = (int) (on / 10000 - birth / 10000);
    if (on % 10000 < birth % 10000)
        years--;
    return years;
}

//  ---------------------------------------------------------------------
//  Citizen ID (GB 11643-1999)

//  Check character for the first 17 digits; '\0' if any is not a digit
char
ht_citizen_id_check_char (const char *first17)
{
    if (first17 == NULL || !s_digits (first17, 17))
        return '\0';
    int sum = 0;
    for (int index = 0; index < 17; index++)
        sum += (first17 [index] - '0') * s_id_weights [index];
    return s_id_check_chars [(12 - sum % 11) % 11];
}

//  Shape only: 17 digits, then a digit or X, then the end
static const char *
s_citizen_id_shape (const char *id)
{
    if (id == NULL)
        return "citizen ID is missing";
    size_t length = strnlen (id, HT_CITIZEN_ID_DIGITS + 1);
    if (length != HT_CITIZEN_ID_DIGITS)
        return "citizen ID must be 18 characters";
    if (!s_digits (id, 17))
        return "citizen ID must be 17 digits and a check character";
    if (id [17] == 'x')
        return "check character x must be an uppercase X";
    if (!s_is_digit (id [17]) && id [17] != 'X')
        return "check character must be a digit or X";
    return NULL;
}

//  Validate an 18-character citizen ID
int
ht_valid_citizen_id (const char *id, uint32_t today, const char **reason)
{
    const char *problem = s_citizen_id_shape (id);
    if (problem)
        return s_set_reason (reason, problem);

    //  The check goes first: a wrong one means the number was mistyped,
    //  and any other complaint would send the clerk to the wrong digit
    int sum = 0;
    for (int index = 0; index < 17; index++)
        sum += (id [index] - '0') * s_id_weights [index];
    int expected = (12 - sum % 11) % 11;
    if (id [17] != s_id_check_chars [expected])
        return s_set_reason (reason, s_id_should_be [expected]);

    //  Only the province is checked: the address code is the place of
    //  issue, and counties are renumbered over the years
    char province [HT_REGION_BYTES] = "000000000000";
    memcpy (province, id, 2);
    if (ht_region_check (province, &problem) != 0)
        return s_set_reason (reason, problem);

    uint32_t birth = s_number (id + 6, 8);
    problem = s_date_problem (birth);
    if (problem)
        return s_set_reason (reason, problem);
    if (today == 0)
        today = ht_date_today ();
    if (birth > today)
        return s_set_reason (reason, "birth date is in the future");
    return s_set_reason (reason, NULL);
}

//  Upgrade a 15-digit ID to 18 digits; out is untouched on failure
int
ht_citizen_id_upgrade (const char *id15, char *out)
{
    if (id15 == NULL || out == NULL || !s_digits (id15, S_OLD_ID_DIGITS)
    ||  id15 [S_OLD_ID_DIGITS] != '\0')
        return HT_ESCHEMA;
    char upgraded [HT_CITIZEN_ID_DIGITS + 1];
    memcpy (upgraded, id15, 6);
    memcpy (upgraded + 6, "19", 2);
    memcpy (upgraded + 8, id15 + 6, 9);
    upgraded [17] = ht_citizen_id_check_char (upgraded);
    upgraded [18] = '\0';
    //  15-digit IDs were issued from 1984 to 2004, so 19xx is never future
    if (ht_valid_citizen_id (upgraded, 0, NULL) != 0)
        return HT_ESCHEMA;
    memcpy (out, upgraded, sizeof upgraded);
    return 0;
}

//  Birth date encoded in an ID, 0 if the ID is malformed or the date unreal
uint32_t
ht_citizen_id_birth (const char *id)
{
    if (s_citizen_id_shape (id))
        return 0;
    uint32_t birth = s_number (id + 6, 8);
    return s_date_problem (birth)? 0: birth;
}

//  Sex from the sequence's parity (1 male, 2 female), 0 if malformed
int
ht_citizen_id_sex (const char *id)
{
    if (s_citizen_id_shape (id))
        return 0;
    return (id [16] - '0') % 2 == 1? 1: 2;
}

//  ---------------------------------------------------------------------
//  Unified social credit code (GB 32100-2015)

//  Value 0-30 of a USCC character, -1 if outside the alphabet
static int
s_uscc_value (char c)
{
    if (c == '\0')
        return -1;
    const char *found = strchr (s_uscc_alphabet, c);
    return found? (int) (found - s_uscc_alphabet): -1;
}

//  Check character for the first 17 characters; '\0' if any is not in
//  the alphabet
char
ht_uscc_check_char (const char *first17)
{
    if (first17 == NULL)
        return '\0';
    int sum = 0;
    for (int index = 0; index < 17; index++) {
        int value = s_uscc_value (first17 [index]);
        if (value < 0)
            return '\0';
        sum += value * s_uscc_weights [index];
    }
    return s_uscc_alphabet [(S_USCC_BASE - sum % S_USCC_BASE) % S_USCC_BASE];
}

//  GB 11714 check over USCC characters 9-17. Letters count A=10 ... Z=35
//  over the full alphabet, as the older standard has no gaps.
static bool
s_org_code_ok (const char *uscc)
{
    const char *org_code = uscc + S_ORG_CODE_START;
    int sum = 0;
    for (int index = 0; index < S_ORG_CODE_BODY; index++) {
        char c = org_code [index];
        int value = s_is_digit (c)? c - '0': c - 'A' + 10;
        sum += value * s_org_weights [index];
    }
    int check = 11 - sum % 11;
    char expected = check == 11? '0': check == 10? 'X': (char) ('0' + check);
    return org_code [S_ORG_CODE_BODY] == expected;
}

static const char *
s_uscc_shape (const char *uscc)
{
    if (uscc == NULL)
        return "USCC is missing";
    if (strnlen (uscc, HT_USCC_CHARS + 1) != HT_USCC_CHARS)
        return "USCC must be 18 characters";
    for (int index = 0; index < HT_USCC_CHARS; index++) {
        char c = uscc [index];
        if (c >= 'a' && c <= 'z')
            return "USCC letters must be uppercase";
        if (c == 'I' || c == 'O' || c == 'S' || c == 'V' || c == 'Z')
            return "USCC never uses the letters I, O, S, V or Z";
        if (s_uscc_value (c) < 0)
            return "USCC must contain only digits and uppercase letters";
    }
    return NULL;
}

//  Validate an 18-character USCC; the org-code result only warns
int
ht_valid_uscc (const char *uscc, bool *org_code_ok, const char **reason)
{
    if (org_code_ok)
        *org_code_ok = false;
    const char *problem = s_uscc_shape (uscc);
    if (problem)
        return s_set_reason (reason, problem);
    char expected = ht_uscc_check_char (uscc);
    if (uscc [17] != expected)
        return s_set_reason (reason, s_uscc_should_be [s_uscc_value (expected)]);
    if (org_code_ok)
        *org_code_ok = s_org_code_ok (uscc);
    return s_set_reason (reason, NULL);
}

//  ---------------------------------------------------------------------
//  Phones, regions, text

//  Validate a mobile or fixed-line number. Numbers starting with 1 are
//  mobiles in China's numbering plan (fixed lines start with an area code
//  0 or a local digit 2-9), so they must match the mobile pattern exactly;
//  this catches a mobile with a digit dropped or doubled.
int
ht_valid_phone (const char *phone, const char **reason)
{
    if (phone == NULL || phone [0] == '\0')
        return s_set_reason (reason, "phone number is missing");
    size_t length = strnlen (phone, S_PHONE_MAX_CHARS + 1);
    if (phone [0] == '1') {
        if (length != S_MOBILE_DIGITS || !s_digits (phone, S_MOBILE_DIGITS))
            return s_set_reason (reason, "mobile number must be 11 digits");
        if (phone [1] < '3')
            return s_set_reason (reason, "mobile number must start with 13-19");
        return s_set_reason (reason, NULL);
    }
    if (length < S_PHONE_MIN_CHARS || length > S_PHONE_MAX_CHARS)
        return s_set_reason (reason, "phone number must be 7-20 characters");
    for (size_t index = 0; index < length; index++)
        if (!s_is_digit (phone [index]) && phone [index] != '-')
            return s_set_reason (reason, "phone number may contain only digits and '-'");
    if (!s_is_digit (phone [0]) || !s_is_digit (phone [length - 1]))
        return s_set_reason (reason, "phone number must start and end with a digit");
    if (strstr (phone, "--"))
        return s_set_reason (reason, "phone number has two '-' in a row");
    return s_set_reason (reason, NULL);
}

//  Validate a 12-digit region code for the schema
int
ht_valid_region (const char *code, const char **reason)
{
    const char *problem = NULL;
    if (ht_region_check (code, &problem) != 0)
        return s_set_reason (reason, problem);
    return s_set_reason (reason, NULL);
}

//  Overlong forms and surrogates are refused because they let two byte
//  strings mean one text, which breaks hashes and comparisons downstream.
int
ht_utf8_decode (const char *text_chars, uint32_t *code_point, const char **problem)
{
    const unsigned char *text = (const unsigned char *) text_chars;
    unsigned char lead = text [0];
    int length;
    uint32_t minimum;
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    }
    else
    if (lead >= 0xC0 && lead < 0xE0) {
        length = 2;
        minimum = 0x80;
        *code_point = lead & 0x1F;
    }
    else
    if (lead >= 0xE0 && lead < 0xF0) {
        length = 3;
        minimum = 0x800;
        *code_point = lead & 0x0F;
    }
    else
    if (lead >= 0xF0 && lead < 0xF8) {
        length = 4;
        minimum = 0x10000;
        *code_point = lead & 0x07;
    }
    else {
        *problem = "text is not valid UTF-8";
        return 0;
    }
    //  A NUL fails the continuation test, so we never read past the end
    for (int index = 1; index < length; index++) {
        if ((text [index] & 0xC0) != 0x80) {
            *problem = "text is not valid UTF-8";
            return 0;
        }
        *code_point = (*code_point << 6) | (text [index] & 0x3F);
    }
    *problem = NULL;
    if (*code_point < minimum)
        *problem = "text has an overlong UTF-8 sequence";
    else
    if (*code_point >= 0xD800 && *code_point <= 0xDFFF)
        *problem = "text has a UTF-16 surrogate";
    else
    if (*code_point > 0x10FFFF)
        *problem = "text is beyond the last Unicode code point";
    return *problem? 0: length;
}

//  Validate UTF-8 text of 1..max_chars code points without control
//  characters (C0, DEL and C1: none belongs in a name or an address)
int
ht_valid_text (const char *text, int max_chars, const char **reason)
{
    if (text == NULL || text [0] == '\0')
        return s_set_reason (reason, "text is empty");
    if (max_chars < 1)
        return s_set_reason (reason, "text limit must be at least 1 character");
    const unsigned char *cursor = (const unsigned char *) text;
    int chars = 0;
    while (*cursor) {
        uint32_t code_point = 0;
        const char *problem = NULL;
        int length = ht_utf8_decode ((const char *) cursor, &code_point, &problem);
        if (length == 0)
            return s_set_reason (reason, problem);
        if (code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F))
            return s_set_reason (reason, "text has a control character");
        if (++chars > max_chars)
            return s_set_reason (reason, "text is too long");
        cursor += length;
    }
    return s_set_reason (reason, NULL);
}

size_t
ht_utf8_char_bytes (unsigned char lead)
{
    return lead < 0x80? 1: lead < 0xe0? 2: lead < 0xf0? 3: 4;
}

bool
ht_utf8_valid (const char *text, size_t size)
{
    size_t at = 0;
    while (at < size) {
        if (text [at] > 0 && (unsigned char) text [at] < 0x80) {
            at++;                   //  ASCII, most of every record
            continue;
        }
        //  The sequence's length comes first, so decoding never reads
        //  past size (text need not end in a NUL)
        size_t length = ht_utf8_char_bytes ((unsigned char) text [at]);
        if (text [at] == 0 || at + length > size)
            return false;
        char sequence [5] = { 0 };
        memcpy (sequence, text + at, length);
        uint32_t code_point;
        const char *problem = NULL;
        if (ht_utf8_decode (sequence, &code_point, &problem) != (int) length)
            return false;
        at += length;
    }
    return true;
}

size_t
ht_utf8_chars (const char *text)
{
    size_t count = 0;
    for (const unsigned char *cursor = (const unsigned char *) text; *cursor; cursor++)
        count += (*cursor & 0xc0) != 0x80;
    return count;
}
