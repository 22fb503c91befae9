//  ht_policy: read policies — what each department, partner or operator
//  may read of each kind and field group (DOMAIN.md §6), for which
//  purposes and in which region — loaded from a policy file (conf/
//  policy.cfg is the shipped default, built in), the purpose codes a
//  read names, and the redactor that turns a full record into the form a
//  policy allows.
#ifndef HT_POLICY_H_INCLUDED
#define HT_POLICY_H_INCLUDED

#include <stdbool.h>
#include "ht_error.h"
#include "ht_record.h"
#include "ht_region.h"
#include "ht_schema.h"

#define HT_POLICY_MASK_MIN_CHARS 7   //  shorter values get no mask
#define HT_POLICY_NAME_BYTES 32
#define HT_POLICY_SUMMARY_BYTES 160
#define HT_POLICY_MAX 64            //  policies in one file

typedef enum {
    HT_ACCESS_NONE = 0,             //  withheld
    HT_ACCESS_COUNT = 1,            //  counts only: no record is shown
    HT_ACCESS_MASKED = 2,           //  withheld, with an unsigned mask
    HT_ACCESS_FULL = 3              //  disclosed, verifiable
} ht_access_t;

typedef struct {
    char name [HT_POLICY_NAME_BYTES];           //  "civil_affairs", "partner", ...
    char summary [HT_POLICY_SUMMARY_BYTES];     //  one line for people
    ht_access_t access [HT_GROUP_COUNT];        //  per field group
    uint32_t kinds;                             //  readable kinds: bit per
                                                //  ht_schema_kind_at index
    uint32_t purposes;                          //  purposes that justify
                                                //  personal fields: bit per
                                                //  ht_purpose_at index
    char region [HT_REGION_BYTES];              //  narrows the certificate's
                                                //  region to this prefix ("")
} ht_policy_t;

//  --------------------------------------------------------------------------
//  Purposes (PIPL Art. 6): every read names why. Only a personal purpose
//  can justify disclosing PI or S fields, and only if the client's policy
//  lists it.

typedef struct {
    const char *code;               //  "subsidy_review", ...
    const char *label;              //  for people: "补贴审核 subsidy review"
    bool personal;                  //  may justify PI / S fields
} ht_purpose_t;

//  Purpose by code, NULL if unknown; by index, NULL past the end
const ht_purpose_t *ht_purpose_find (const char *code);
const ht_purpose_t *ht_purpose_at (size_t index);

//  --------------------------------------------------------------------------
//  Policy sets

typedef struct _ht_policyset_t ht_policyset_t;

//  The built-in set: conf/policy.cfg as shipped (static, never NULL)
const ht_policyset_t *ht_policyset_default (void);

//  Load a policy file (ZPL, the format of conf/policy.cfg). NULL with a
//  sentence in error naming the section and key at fault. The caller owns
//  the result.
ht_policyset_t *ht_policyset_load (const char *path, char *error, size_t error_size);

//  Same from text in memory
ht_policyset_t *ht_policyset_parse (const char *text, char *error, size_t error_size);

//  Destroy a set and set the pointer to NULL
void ht_policyset_destroy (ht_policyset_t **self_p);

//  Policy by name in a set (NULL: the built-in set); NULL if unknown
const ht_policy_t *ht_policyset_find (const ht_policyset_t *self, const char *name);

//  Policy by index, NULL past the end (for listings)
const ht_policy_t *ht_policyset_at (const ht_policyset_t *self, size_t index);

//  The built-in policy named name, NULL if unknown (local tools)
const ht_policy_t *ht_policy_find (const char *name);
const ht_policy_t *ht_policy_at (size_t index);

//  May the policy read records of this kind at all (counts included)?
bool ht_policy_permits_kind (const ht_policy_t *policy, const char *kind);

//  The most a policy sees of any field of a kind: NONE if the kind is not
//  among its kinds, COUNT if it may only count it
ht_access_t ht_policy_kind_access (const ht_policy_t *policy, const char *kind);

//  May a read under this policy with purpose (NULL or "": none) disclose
//  personal fields? HT_OK, HT_ENOPURPOSE (none given) or HT_EPURPOSE (an
//  unknown purpose, one that is not personal, or one the policy does not
//  list), with a reason
int ht_policy_check_purpose (const ht_policy_t *policy, const char *purpose,
                             const char **reason);

//  --------------------------------------------------------------------------
//  Redaction

//  What a policy discloses of one record
typedef struct {
    size_t visible;                             //  fields shown, full or masked
    bool personal;                              //  a PI or S value is shown
    const char *disclosed [HT_FIELD_MAX_COUNT]; //  PI / S fields with a value,
    size_t disclosed_count;                     //  shown in full
    const char *masked [HT_FIELD_MAX_COUNT];    //  PI / S fields shown masked
    size_t masked_count;
} ht_policy_view_t;

//  What the policy would show of record (names borrowed from the schema)
void ht_policy_view (const ht_policy_t *policy, const ht_record_t *record,
                     ht_policy_view_t *view);

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

//  Parse an access name (none, count, masked, full); -1 if unknown
int ht_access_parse (const char *name);
const char *ht_access_name (ht_access_t access);

#endif
