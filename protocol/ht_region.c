//  ht_region: 12-digit administrative region codes (统计用区划代码).
//
//  A code is five fixed-width groups PP CC DD TTT VVV. Everything here
//  works on the digits alone: whether a code exists in a given year's table
//  is the caller's business (DOMAIN.md §2), so this module only rejects
//  codes that cannot exist in any table.
#include "ht_region.h"

#include <assert.h>
#include <string.h>

#define S_GROUP_COUNT 5

//  Start and width of each group, in order PP CC DD TTT VVV
typedef struct {
    int start;                  //  offset of the group's first digit
    int width;                  //  digits in the group
} s_group_t;

static const s_group_t s_groups [S_GROUP_COUNT] = {
    { 0, 2 }, { 2, 2 }, { 4, 2 }, { 6, 3 }, { 9, 3 }
};

enum { S_PP = 0, S_CC = 1, S_DD = 2, S_TTT = 3, S_VVV = 4 };

//  Known provinces (GB/T 2260 first two digits), as inclusive ranges
static const int s_provinces [][2] = {
    { 11, 15 }, { 21, 23 }, { 31, 37 }, { 41, 46 },
    { 50, 54 }, { 61, 65 }, { 71, 71 }, { 81, 82 }
};

//  Municipalities (直辖市): their city node is PP itself, and CC 01/02 are
//  government-less summaries rather than cities
static const int s_municipalities [] = { 11, 12, 31, 50 };

//  One reason per possible province code, so the text can name the code
//  and still be static
#define S_UNKNOWN(tens) \
    "unknown province code " #tens "0", "unknown province code " #tens "1", \
    "unknown province code " #tens "2", "unknown province code " #tens "3", \
    "unknown province code " #tens "4", "unknown province code " #tens "5", \
    "unknown province code " #tens "6", "unknown province code " #tens "7", \
    "unknown province code " #tens "8", "unknown province code " #tens "9"
static const char *const s_unknown_province [100] = {
    S_UNKNOWN (0), S_UNKNOWN (1), S_UNKNOWN (2), S_UNKNOWN (3), S_UNKNOWN (4),
    S_UNKNOWN (5), S_UNKNOWN (6), S_UNKNOWN (7), S_UNKNOWN (8), S_UNKNOWN (9)
};
#undef S_UNKNOWN

#define S_COUNT(array) ((int) (sizeof (array) / sizeof ((array) [0])))

//  Numeric value of a group; code must hold 12 digits
static int
s_group_value (const char *code, int group)
{
    int value = 0;
    for (int index = 0; index < s_groups [group].width; index++)
        value = value * 10 + (code [s_groups [group].start + index] - '0');
    return value;
}

static void
s_group_zero (char *code, int group)
{
    memset (code + s_groups [group].start, '0', (size_t) s_groups [group].width);
}

static bool
s_province_known (int province)
{
    for (int index = 0; index < S_COUNT (s_provinces); index++)
        if (province >= s_provinces [index][0] && province <= s_provinces [index][1])
            return true;
    return false;
}

static bool
s_is_municipality (const char *code)
{
    int province = s_group_value (code, S_PP);
    for (int index = 0; index < S_COUNT (s_municipalities); index++)
        if (province == s_municipalities [index])
            return true;
    return false;
}

//  Index of the deepest non-zero group of a valid code
static int
s_deepest_group (const char *code)
{
    int group = S_VVV;
    while (group > S_PP && s_group_value (code, group) == 0)
        group--;
    return group;
}

//  Reads at most 13 bytes, so an unterminated or huge input costs nothing
static const char *
s_check_digits (const char *code)
{
    if (code == NULL)
        return "region code is missing";
    int length = 0;
    while (length <= HT_REGION_DIGITS && code [length]) {
        if (code [length] < '0' || code [length] > '9')
            return "region code must contain only ASCII digits";
        length++;
    }
    if (length != HT_REGION_DIGITS)
        return "region code must be 12 digits";
    return NULL;
}

//  A zero group may not precede a non-zero one, or the code would name a
//  place whose ancestor does not exist. DD=00 is the one exception, for
//  cities whose townships hang directly under the city.
static const char *
s_check_groups (const char *code)
{
    bool cc_zero = s_group_value (code, S_CC) == 0;
    bool dd_zero = s_group_value (code, S_DD) == 0;
    bool ttt_zero = s_group_value (code, S_TTT) == 0;
    bool vvv_zero = s_group_value (code, S_VVV) == 0;

    if (cc_zero && !(dd_zero && ttt_zero && vvv_zero))
        return "city group CC is 00 but a lower group is not";
    //  DD=00 with TTT != 000 is a city without counties (东莞 4419): the
    //  one zero group allowed before a non-zero one (DOMAIN.md §2). Which
    //  cities have no counties is the configured code table's business,
    //  not a list compiled in here.
    if (ttt_zero && !vvv_zero)
        return "township group TTT is 000 but VVV is not";
    return NULL;
}

//  Validate a 12-digit code
int
ht_region_check (const char *code, const char **reason)
{
    const char *problem = s_check_digits (code);
    if (problem == NULL && !s_province_known (s_group_value (code, S_PP)))
        problem = s_unknown_province [s_group_value (code, S_PP)];
    if (problem == NULL)
        problem = s_check_groups (code);
    if (reason)
        *reason = problem;
    return problem? HT_EREGION: 0;
}

//  True if code passes ht_region_check
bool
ht_region_valid (const char *code)
{
    return ht_region_check (code, NULL) == 0;
}

//  Tier of a valid code, HT_TIER_NONE if invalid
ht_tier_t
ht_region_tier (const char *code)
{
    if (!ht_region_valid (code))
        return HT_TIER_NONE;
    int group = s_deepest_group (code);
    if (group == S_PP && s_is_municipality (code))
        return HT_TIER_CITY;
    //  Groups and tiers run in step: PP is the province, VVV the community
    return (ht_tier_t) (HT_TIER_PROVINCE + group);
}

//  Name of a tier
const char *
ht_tier_name (ht_tier_t tier)
{
    switch (tier) {
        case HT_TIER_PROVINCE:  return "province";
        case HT_TIER_CITY:      return "city";
        case HT_TIER_COUNTY:    return "county";
        case HT_TIER_TOWNSHIP:  return "township";
        case HT_TIER_COMMUNITY: return "community";
        default:                return "none";
    }
}

//  Write the prefix of code into prefix; returns its length in digits
int
ht_region_prefix (const char *code, char *prefix)
{
    assert (prefix);
    if (!ht_region_valid (code))
        return HT_EREGION;
    //  Trailing zero groups go; DD=00 stays when TTT follows it (441900003)
    int group = s_deepest_group (code);
    int length = s_groups [group].start + s_groups [group].width;
    memmove (prefix, code, (size_t) length);
    prefix [length] = '\0';
    return length;
}

//  Expand a prefix of 2, 4, 6, 9 or 12 digits to a 12-digit code
int
ht_region_from_prefix (const char *prefix, char *code)
{
    assert (code);
    if (prefix == NULL)
        return HT_EREGION;
    size_t length = strnlen (prefix, HT_REGION_BYTES);
    bool at_group_end = false;
    for (int group = 0; group < S_GROUP_COUNT; group++)
        if (length == (size_t) (s_groups [group].start + s_groups [group].width))
            at_group_end = true;
    if (!at_group_end)
        return HT_EREGION;

    //  Build apart from code, so a failure leaves it untouched and the
    //  two buffers may be the same
    char expanded [HT_REGION_BYTES];
    memset (expanded, '0', HT_REGION_DIGITS);
    expanded [HT_REGION_DIGITS] = '\0';
    memcpy (expanded, prefix, length);
    if (!ht_region_valid (expanded))
        return HT_EREGION;
    memcpy (code, expanded, HT_REGION_BYTES);
    return 0;
}

//  Write the parent code of code into parent
int
ht_region_parent (const char *code, char *parent)
{
    assert (parent);
    ht_tier_t tier = ht_region_tier (code);
    if (tier == HT_TIER_NONE)
        return HT_EREGION;
    //  A municipality's city is the top of our hierarchy: the province
    //  and the city are the same government
    if (tier == HT_TIER_PROVINCE
    || (tier == HT_TIER_CITY && s_deepest_group (code) == S_PP))
        return HT_ENOTFOUND;

    char result [HT_REGION_BYTES];
    memcpy (result, code, HT_REGION_BYTES);
    s_group_zero (result, s_deepest_group (code));
    //  A municipality's districts hang under PP, not under the 01/02
    //  summaries: 500108 -> 50, not 5001
    if (s_is_municipality (result) && s_deepest_group (result) == S_CC
    &&  s_deepest_group (code) == S_DD)
        s_group_zero (result, S_CC);
    memcpy (parent, result, HT_REGION_BYTES);
    return 0;
}

//  Prefix of a 12-digit code or of a prefix; false if neither is valid
static bool
s_any_prefix (const char *code_or_prefix, char *prefix)
{
    //  Full codes (the common case: every record check) validate once
    if (code_or_prefix && strlen (code_or_prefix) == HT_REGION_DIGITS)
        return ht_region_prefix (code_or_prefix, prefix) > 0;
    char code [HT_REGION_BYTES];
    if (ht_region_from_prefix (code_or_prefix, code) != 0)
        return false;
    return ht_region_prefix (code, prefix) > 0;
}

//  True if a's prefix is a group-wise prefix of b's prefix
bool
ht_region_covers (const char *a, const char *b)
{
    char prefix_a [HT_REGION_BYTES];
    char prefix_b [HT_REGION_BYTES];
    if (!s_any_prefix (a, prefix_a) || !s_any_prefix (b, prefix_b))
        return false;
    //  Prefixes end on group boundaries, so a string prefix is a group
    //  prefix: "4418" never covers "44180" because no prefix is 5 long
    return strncmp (prefix_a, prefix_b, strlen (prefix_a)) == 0;
}

//  True if a valid code's TTT or VVV is outside DOMAIN.md's ranges;
//  false for invalid codes, which have worse problems
bool
ht_region_unusual (const char *code)
{
    if (!ht_region_valid (code))
        return false;
    int township = s_group_value (code, S_TTT);
    int village = s_group_value (code, S_VVV);
    return township > 599 || village > 399;
}

bool
ht_region_holds (const char *node, const char *region, const char *scope)
{
    return ht_region_covers (node, region) || ht_region_covers (scope, node);
}

bool
ht_region_is_child (const char *parent, const char *child)
{
    char above [HT_REGION_BYTES];
    return ht_region_valid (parent) && ht_region_parent (child, above) == HT_OK
        && ht_region_covers (above, parent) && ht_region_covers (parent, above);
}
