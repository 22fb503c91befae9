//  ht_policy: named read policies — what each department or partner may
//  see of each field group (DOMAIN.md §6) — and the redactor that turns a
//  full record into the form a policy allows.
#ifndef HT_POLICY_H_INCLUDED
#define HT_POLICY_H_INCLUDED

#include "ht_error.h"
#include "ht_record.h"
#include "ht_schema.h"

#define HT_POLICY_MASK_MIN_CHARS 7   //  shorter values get no mask

typedef enum {
    HT_ACCESS_NONE = 0,             //  withheld
    HT_ACCESS_COUNT = 1,            //  counts only: no record is shown
    HT_ACCESS_MASKED = 2,           //  withheld, with an unsigned mask
    HT_ACCESS_FULL = 3              //  disclosed, verifiable
} ht_access_t;

typedef struct {
    const char *name;               //  "civil_affairs", "partner", ...
    const char *summary;            //  one line for people
    ht_access_t access [HT_GROUP_COUNT];    //  per field group
} ht_policy_t;

//  Policy by name ("full" discloses everything); NULL if unknown
const ht_policy_t *ht_policy_find (const char *name);

//  Policy by index, NULL past the end (for listings)
const ht_policy_t *ht_policy_at (size_t index);

//  The form of record a policy may see: a redacted copy with masks (for
//  masked texts of at least HT_POLICY_MASK_MIN_CHARS characters), or
//  a plain copy for full access. NULL with *error HT_EPOLICY when the
//  policy may see no field of the record (counts only, or nothing).
//  The record must be signed and full. The caller owns the result.
ht_record_t *ht_policy_redact (const ht_policy_t *policy, const ht_record_t *record,
                               int *error);

//  Mask a text for display: keep a few leading and trailing characters
//  (441802********0317, 138****5678, 1940****). Writes into mask (size
//  bytes).
const char *ht_policy_mask_text (const char *text, char *mask, size_t size);

#endif
