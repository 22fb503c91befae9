//  ht_record_complete: draft completion by the kind's rules in the schema
//  table. The reasons are the ones `hutong put` has always printed.
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "ht_record_complete.h"
#include "ht_record_private.h"

#define S_COUNTY_DIGITS 6           //  PP CC DD: a county code's own digits

//  The key the kind's key_rule derives from the natural key
static int
s_complete_key (ht_record_t *self, const ht_complete_t *context, const char **reason)
{
    switch (self->kind->key_rule) {
        case HT_KEY_GIVEN:
            *reason = "no key given, and this kind has no natural key to derive one from";
            return HT_EREQUIRED;
        case HT_KEY_KEYED_HASH:
            //  Personal IDs are low-entropy: without the network's secret
            //  there is no key to give, not an unkeyed one
            if (!context->idkey) {
                *reason = "no key given, and this kind's key is derived with the network "
                          "pseudonym key (idkey), which was not given";
                return HT_EKEY;
            }
            break;
        case HT_KEY_HASH:
        case HT_KEY_HEX:
            break;
    }
    if (ht_record_derive_key (self, context->idkey) != HT_OK) {
        *reason = "no key given and the natural key fields are missing";
        return HT_EREQUIRED;
    }
    return HT_OK;
}

//  The scope the kind's scope_rule gives a draft that names none
static int
s_complete_scope (ht_record_t *self, const ht_complete_t *context, const char **reason)
{
    char county [HT_REGION_BYTES];
    const char *scope = self->region;
    switch (self->kind->scope_rule) {
        case HT_SCOPE_REGION:
            break;
        case HT_SCOPE_COUNTY:
            snprintf (county, sizeof county, "%.*s000000", S_COUNTY_DIGITS, self->region);
            scope = county;
            break;
        case HT_SCOPE_AUTHOR:
            if (!context->author_region || !*context->author_region) {
                *reason = "no scope given, and the signing key has no certificate in this store";
                return HT_ENOCERT;
            }
            scope = context->author_region;
            break;
    }
    if (ht_record_set_scope (self, scope) != HT_OK) {
        *reason = "the default scope is not a region code";
        return HT_EREGION;
    }
    return HT_OK;
}

//  An hlc from the clock, after the current version's: a new version must
//  sort after the one it replaces, even if that one came from a node whose
//  clock runs ahead of ours (but not so far that it is a bad clock)
static int
s_complete_hlc (ht_record_t *self, const ht_complete_t *context, const char **reason)
{
    uint64_t current = context->current_hlc;
    if (context->current) {
        uint64_t looked_up = context->current (context->current_arg, self->kind->name,
                                               self->key);
        current = looked_up > current? looked_up: current;
    }
    if (current && ht_hlc_observe (context->clock, current) != HT_OK) {
        *reason = "the current version is timestamped far in the future (a bad clock?)";
        return HT_ECLOCK;
    }
    ht_record_set_hlc (self, ht_hlc_now (context->clock));
    return HT_OK;
}

int
ht_record_complete (ht_record_t *draft, const ht_complete_t *context, const char **reason_p)
{
    assert (draft && context && context->clock);
    const char *ignored = NULL;
    const char **reason = reason_p? reason_p: &ignored;
    if (ht_record_is_signed (draft)) {
        *reason = "the record is signed already: only a draft is completed";
        return HT_EINVAL;
    }
    if (!*draft->region) {
        *reason = "a draft needs \"region\"";
        return HT_EREQUIRED;
    }
    //  What completion fills in, kept to put back if it fails
    char key [sizeof draft->key], scope [sizeof draft->scope];
    memcpy (key, draft->key, sizeof key);
    memcpy (scope, draft->scope, sizeof scope);
    uint64_t hlc = draft->hlc;

    int rc = *draft->key? HT_OK: s_complete_key (draft, context, reason);
    if (rc == HT_OK && !*draft->scope)
        rc = s_complete_scope (draft, context, reason);
    if (rc == HT_OK)
        rc = s_complete_hlc (draft, context, reason);
    if (rc == HT_OK)
        rc = ht_record_validate (draft, reason);
    if (rc != HT_OK) {
        memcpy (draft->key, key, sizeof key);
        memcpy (draft->scope, scope, sizeof scope);
        draft->hlc = hlc;
    }
    return rc;
}
