//  ht_next_release: the next release's schema registry, played by tests.
//  The built-in kinds, with facility at version 2, which adds one
//  optional field ("barrier_free") in the middle of the sorted table. The
//  built-in registry is then the reader one version behind. Header-only.
#ifndef HT_NEXT_RELEASE_H_INCLUDED
#define HT_NEXT_RELEASE_H_INCLUDED

#include <check.h>
#include <string.h>
#include "ht_schema.h"

#define HT_NEXT_RELEASE_FIELD "barrier_free"   //  sorts between area and beds_*
#define HT_NEXT_RELEASE_KINDS 8

//  Build (once) and return the next release's registry
static inline const ht_registry_t *
ht_next_release (void)
{
    static ht_field_t fields [HT_FIELD_MAX_COUNT];
    static ht_kind_t kinds [HT_NEXT_RELEASE_KINDS];
    static ht_registry_t registry;
    const ht_registry_t *builtin = ht_schema_registry ();
    ck_assert_uint_le (builtin->kind_count, HT_NEXT_RELEASE_KINDS);
    const ht_kind_t *facility = ht_schema_kind ("facility");
    const ht_field_t added = {
        .name = HT_NEXT_RELEASE_FIELD, .type = HT_TYPE_BOOL, .required = false,
        .sens = HT_SENS_P, .group = HT_GROUP_PUBLIC, .since = 2 };
    size_t count = 0;
    for (size_t index = 0; index < facility->field_count; index++) {
        if (count == index && strcmp (facility->fields [index].name, HT_NEXT_RELEASE_FIELD) > 0)
            fields [count++] = added;
        fields [count++] = facility->fields [index];
    }
    ck_assert_uint_eq (count, facility->field_count + 1);
    for (size_t index = 0; index < builtin->kind_count; index++) {
        kinds [index] = builtin->kinds [index];
        if (&builtin->kinds [index] == facility) {
            kinds [index].fields = fields;
            kinds [index].field_count = count;
            kinds [index].version = 2;
        }
    }
    registry = (ht_registry_t) { kinds, builtin->kind_count };
    return &registry;
}

#endif
