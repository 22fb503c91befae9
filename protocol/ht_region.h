//  ht_region: 12-digit administrative region codes (统计用区划代码).
//
//  A code is PP CC DD TTT VVV. Its prefix drops trailing zero groups
//  (441802001000 -> "441802001"); a municipality's city is "50". The
//  prefix relation a ⊑ b ("a is an ancestor-or-self of b") compares
//  prefixes group-wise, which for fixed-width groups is a string prefix.
#ifndef HT_REGION_H_INCLUDED
#define HT_REGION_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "ht_error.h"

#define HT_REGION_DIGITS 12
#define HT_REGION_BYTES 13          //  12 digits + NUL

typedef enum {
    HT_TIER_NONE = 0,               //  not a valid code
    HT_TIER_PROVINCE = 1,           //  PP only (000000000000-style prefix "PP")
    HT_TIER_CITY = 2,               //  PPCC, or a municipality's PP
    HT_TIER_COUNTY = 3,             //  6 digits
    HT_TIER_TOWNSHIP = 4,           //  9 digits
    HT_TIER_COMMUNITY = 5           //  12 digits
} ht_tier_t;

//  Validate a 12-digit code: 12 ASCII digits, known province PP, no zero
//  group before a non-zero one (DD=00 excepted when TTT != 000).
//  Returns 0 or HT_EREGION. If reason is not NULL, it receives a static
//  text naming the problem.
int ht_region_check (const char *code, const char **reason) HT_WUR;

//  True if code passes ht_region_check
bool ht_region_valid (const char *code);

//  Tier of a valid code (deepest non-zero group), HT_TIER_NONE if invalid.
//  Municipality codes PP0000000000 are cities (prefix "PP").
ht_tier_t ht_region_tier (const char *code);

//  Name of a tier: "province", "city", "county", "township", "community"
const char *ht_tier_name (ht_tier_t tier);

//  Write the prefix of code into prefix (at least HT_REGION_BYTES bytes).
//  Returns prefix length in digits, or HT_EREGION if code is invalid.
int ht_region_prefix (const char *code, char *prefix);

//  Expand a prefix (2, 4, 6, 9 or 12 digits) to a 12-digit code by padding
//  zeros. Returns 0 or HT_EREGION.
int ht_region_from_prefix (const char *prefix, char *code) HT_WUR;

//  Write the parent code of code into parent (HT_REGION_BYTES). A city's
//  parent is its province code. Returns 0, HT_ENOTFOUND for a province,
//  or HT_EREGION if code is invalid.
int ht_region_parent (const char *code, char *parent) HT_WUR;

//  True if a ⊑ b: a's prefix is a group-wise prefix of b's prefix.
//  Both may be 12-digit codes or prefixes; false if either is invalid.
bool ht_region_covers (const char *a, const char *b);

//  The holder rule (DESIGN.md "Who holds what"): a node of region node
//  holds a record of (region, scope) iff node ⊑ region (the record is the
//  node's own or below it: upward flow) or scope ⊑ node (the node lies
//  inside the record's scope: downward flow). The one home of that rule.
bool ht_region_holds (const char *node, const char *region, const char *scope);

//  True if child is a direct child of parent (one tier down): the
//  replication topology and node admission both ask this
bool ht_region_is_child (const char *parent, const char *child);

//  True if the TTT/VVV groups are outside the ranges DOMAIN.md lists
//  (these only warn; never reject on them)
bool ht_region_unusual (const char *code);

#endif
