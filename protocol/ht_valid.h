//  ht_valid: field validators — citizen ID (GB 11643), unified social
//  credit code (GB 32100), dates, phones. Each returns 0 or HT_ESCHEMA and,
//  if reason is not NULL, sets it to a static text naming the problem.
#ifndef HT_VALID_H_INCLUDED
#define HT_VALID_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ht_error.h"

#define HT_CITIZEN_ID_DIGITS 18
#define HT_USCC_CHARS 18

//  Check character (0-9 or 'X') for the first 17 digits of a citizen ID
char ht_citizen_id_check_char (const char *first17);

//  Validate an 18-character citizen ID: digits, MOD 11-2 check (uppercase
//  X only), a real date not in the future, a known province. today is
//  YYYYMMDD (0 means the current UTC date).
int ht_valid_citizen_id (const char *id, uint32_t today, const char **reason) HT_WUR;

//  Upgrade a 15-digit ID to 18 digits (insert "19", add check). out must
//  hold 19 bytes. Returns 0 or HT_ESCHEMA.
int ht_citizen_id_upgrade (const char *id15, char *out) HT_WUR;

//  Birth date YYYYMMDD and sex (1 male, 2 female) encoded in a valid ID
uint32_t ht_citizen_id_birth (const char *id);
int ht_citizen_id_sex (const char *id);

//  Check character for the first 17 characters of a USCC, '\0' if any
//  character is outside the alphabet
char ht_uscc_check_char (const char *first17);

//  Validate an 18-character USCC: alphabet, check character. Sets
//  *org_code_ok (if not NULL) to the result of the optional GB 11714 check
//  on characters 9-17, which only warns.
int ht_valid_uscc (const char *uscc, bool *org_code_ok, const char **reason) HT_WUR;

//  Validate a calendar date YYYYMMDD (8 ASCII digits, real day)
int ht_valid_date (const char *date, const char **reason) HT_WUR;

//  Date as an integer YYYYMMDD from a string; 0 if invalid
uint32_t ht_date_parse (const char *date);

//  Today's UTC date as YYYYMMDD
uint32_t ht_date_today (void);

//  Whole years between birth and on (both YYYYMMDD)
int ht_date_age (uint32_t birth, uint32_t on);

//  Validate a mainland mobile number ^1[3-9][0-9]{9}$, or a fixed line
//  of digits and '-' (7-20 chars)
int ht_valid_phone (const char *phone, const char **reason) HT_WUR;

//  Validate a 12-digit region code (wraps ht_region_check for the schema)
int ht_valid_region (const char *code, const char **reason) HT_WUR;

//  Validate UTF-8 text of 1..max_chars code points, no control characters
int ht_valid_text (const char *text, int max_chars, const char **reason) HT_WUR;

//  UTF-8, one home for walking it. Decode the sequence at text: its length
//  in bytes, or 0 with *problem naming what is wrong (not UTF-8, an
//  overlong form, a surrogate, beyond U+10FFFF). Never reads past a NUL.
int ht_utf8_decode (const char *text, uint32_t *code_point, const char **problem);

//  True if the size bytes at text (not NUL-terminated) are UTF-8 text:
//  every sequence whole and in its shortest form, no surrogate, nothing
//  past U+10FFFF, and no NUL byte. Records and messages hold only such
//  text (msgpack str is UTF-8, and so is JSON), so every reader can show
//  it and the JSON form carries it whole.
bool ht_utf8_valid (const char *text, size_t size);

//  Bytes of the character whose first byte is lead (for validated text)
size_t ht_utf8_char_bytes (unsigned char lead);

//  Characters in text: bytes that do not continue one (safe on a cut-off
//  sequence)
size_t ht_utf8_chars (const char *text);

#endif
