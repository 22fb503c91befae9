//  ht_schema: the schema registry, held as data. One table per record kind
//  lists every field with its type, rule, sensitivity, access group and
//  whether it is indexed. The one codec, validator and redactor read these
//  tables; no kind has code of its own except a cross-field check.
#ifndef HT_SCHEMA_H_INCLUDED
#define HT_SCHEMA_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ht_error.h"

#define HT_KIND_MAX_CHARS 15
#define HT_KEY_MAX_CHARS 64
#define HT_FIELD_MAX_COUNT 48       //  no kind has more fields than this

typedef struct _ht_record_t ht_record_t;

typedef enum {
    HT_TYPE_STR = 1,                //  UTF-8 text (msgpack str)
    HT_TYPE_INT = 2,                //  signed 64-bit integer; money in fen
    HT_TYPE_BOOL = 3,               //  true / false
    HT_TYPE_STRS = 4,               //  array of UTF-8 texts
    HT_TYPE_BIN = 5                 //  bytes (msgpack bin; hex in JSON)
} ht_type_t;

typedef enum {
    HT_SENS_P = 0,                  //  public
    HT_SENS_I = 1,                  //  government-internal
    HT_SENS_PI = 2,                 //  personal
    HT_SENS_S = 3                   //  sensitive personal (PIPL Art. 28)
} ht_sens_t;

//  Access groups: the read policy grants access per group (DOMAIN.md §6)
typedef enum {
    HT_GROUP_PUBLIC = 0,            //  public facility and credit fields
    HT_GROUP_FACILITY_I,            //  facility internal (subsidy basis)
    HT_GROUP_CREDIT_I,              //  credit internal (inspectors)
    HT_GROUP_IDENTITY,              //  elder identity and contact
    HT_GROUP_ID_NO,                 //  citizen ID numbers
    HT_GROUP_CATEGORIES,            //  assistance categories, ethnicity
    HT_GROUP_ABILITY,               //  ability and care levels, assessments
    HT_GROUP_SUBSIDY,               //  subsidies and accounts
    HT_GROUP_COUNT
} ht_group_t;

//  A validator for text values: 0 or HT_ESCHEMA with a static reason
typedef int (ht_text_check_fn) (const char *text, const char **reason);

typedef struct {
    const char *name;               //  field name; tables sorted bytewise
    ht_type_t type;                 //  value type
    bool required;                  //  must be present (in its subtypes)
    const char *subtypes;           //  NULL: every subtype; else a space-
                                    //  separated list of subtypes using it
    ht_sens_t sens;                 //  sensitivity class
    ht_group_t group;               //  access group for read policies
    bool indexed;                   //  kept in the field index for lookups
    ht_text_check_fn *check;        //  text rule (STR, each STRS item)
    const char *const *choices;     //  allowed texts, NULL-terminated
    int64_t min;                    //  INT: lowest; STR: fewest chars
    int64_t max;                    //  INT: highest; STR: most chars;
                                    //  BIN: exact size; STRS: most items
} ht_field_t;

//  How a record's default scope follows from its region and author
typedef enum {
    HT_SCOPE_REGION = 0,            //  own region: flows up only
    HT_SCOPE_COUNTY = 1,            //  the county containing the region
    HT_SCOPE_AUTHOR = 2             //  the author's jurisdiction
} ht_scope_rule_t;

//  How a kind derives its entity key from the natural key, so two nodes
//  creating the same entity converge on one key
typedef enum {
    HT_KEY_GIVEN = 0,               //  no natural key: the writer names it
    HT_KEY_HASH = 1,                //  hex BLAKE2b-128 of the key fields
    HT_KEY_KEYED_HASH = 2,          //  same, keyed with the network idkey
                                    //  (personal IDs are low-entropy: an
                                    //  unkeyed hash would be reversible)
    HT_KEY_HEX = 3                  //  hex of a BIN key field (public keys)
} ht_key_rule_t;

typedef struct {
    const char *name;               //  kind name, e.g. "elder"
    const ht_field_t *fields;       //  fields sorted bytewise by name
    size_t field_count;             //  number of fields
    const char *subtype_field;      //  field naming the subtype, or NULL
    ht_scope_rule_t scope_rule;     //  default scope
    ht_key_rule_t key_rule;         //  how the key is derived
    const char *key_fields;         //  space-separated natural key fields
    const char *key_fallback;       //  field giving "region-serial" keys
                                    //  when the natural key is absent
    //  Cross-field rules, run after every field passed its own rule.
    //  Returns 0 or HT_ESCHEMA with a static reason.
    int (*check) (const ht_record_t *record, const char **reason);
} ht_kind_t;

//  Kind descriptor by name; NULL if unknown
const ht_kind_t *ht_schema_kind (const char *name);

//  Kind descriptor by index (0..count-1); NULL past the end
const ht_kind_t *ht_schema_kind_at (size_t index);

//  Number of kinds
size_t ht_schema_kind_count (void);

//  Index of a field in its kind's table, -1 if the kind has no such field
int ht_schema_field_index (const ht_kind_t *kind, const char *name);

//  True if a field is used by the given subtype (NULL subtype: all)
bool ht_schema_field_in_subtype (const ht_field_t *field, const char *subtype);

//  Names of sensitivity classes and groups ("P", "identity", ...)
const char *ht_sens_name (ht_sens_t sens);
const char *ht_group_name (ht_group_t group);

//  Schema version, stored in every node's meta: bump when a table changes
#define HT_SCHEMA_VERSION 1

#endif
