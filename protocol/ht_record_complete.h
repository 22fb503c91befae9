//  ht_record_complete: turn an unsigned draft into a record ready to sign.
//
//  A draft names its kind, region and fields, and may name its key and
//  scope. Completion fills in what it leaves out by the kind's rules in
//  the schema table (ht_schema.h): the key from the natural key
//  (key_rule), the default scope (scope_rule), and an hlc that sorts
//  after the entity's current version, then validates the result. Every
//  writer completes drafts here (hutong put, gen, the benches), so two
//  writers of one entity derive one key and one scope.
#ifndef HT_RECORD_COMPLETE_H_INCLUDED
#define HT_RECORD_COMPLETE_H_INCLUDED

#include <stdint.h>
#include "ht_error.h"
#include "ht_hlc.h"
#include "ht_record.h"

//  The hlc of an entity's current version, 0 if there is none (or it
//  cannot be read): asked once the draft's key is known
typedef uint64_t (ht_complete_current_fn) (void *arg, const char *kind, const char *key);

//  What completion needs to know beyond the draft. Everything is
//  borrowed for the call.
typedef struct {
    const uint8_t *idkey;           //  network pseudonym key (HT_IDKEY_BYTES),
                                    //  or NULL: kinds keyed with it need a
                                    //  given key
    const char *author_region;      //  the signing key's certificate region,
                                    //  or NULL: author-scoped kinds need a
                                    //  given scope
    ht_hlc_t *clock;                //  issues the version's hlc (required)
    uint64_t current_hlc;           //  the current version's hlc if the
                                    //  caller knows it, else 0
    ht_complete_current_fn *current;    //  or NULL: asked for it once the
                                        //  key is known (a store lookup)
    void *current_arg;              //  current's argument
} ht_complete_t;

//  Complete an unsigned draft: key (if none is given) by the kind's
//  key_rule, scope (if none is given) by its scope_rule, hlc from the
//  clock after it observed the current version's hlc (the higher of
//  current_hlc and current's answer); then validate. A given key or scope
//  is kept as given; the hlc is always issued now. Does not sign: the
//  caller signs. Returns 0, or an error with *reason (static, or for a
//  validation failure the draft's own text naming the field, valid until
//  the draft changes or is destroyed, as ht_record_validate's):
//    HT_EINVAL     the record is signed already (only drafts are completed)
//    HT_EREQUIRED  no region; or no key and the natural key fields (or the
//                  facility fallback) are missing, or the kind has none
//    HT_EKEY       no key, and the kind's key needs the idkey, which is NULL
//    HT_ENOCERT    no scope, the kind's scope is the author's, and
//                  author_region is NULL
//    HT_ECLOCK     the current version's hlc is too far in the future
//                  (HT_HLC_MAX_DRIFT_MS): a bad clock, not followed
//    any code of ht_record_validate, with its reason
//  On failure the draft is left as it was (the clock may have moved on).
int ht_record_complete (ht_record_t *draft, const ht_complete_t *context,
                        const char **reason) HT_WUR;

#endif
