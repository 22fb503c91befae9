//  ht_schema: the schema registry, held as data. One table per record kind
//  lists every field with its type, limits, rule, sensitivity, access
//  group, whether it is indexed, and the schema version that introduced
//  it. The one codec, validator and redactor read these tables, and so do
//  `hutong schema` and clients in other languages (through its JSON); no
//  kind has code of its own except a cross-field check.
//
//  Schema versions: a kind's table only ever grows. Version v of a kind is
//  its fields with since <= v; a record carries its version in its signed
//  header and is digested over exactly those fields, so every record of
//  an older version verifies unchanged after a release adds fields.
#ifndef HT_SCHEMA_H_INCLUDED
#define HT_SCHEMA_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ht_error.h"

#define HT_KIND_MAX_CHARS 15
#define HT_KEY_MAX_CHARS 64
#define HT_FIELD_MAX_COUNT 48       //  no kind has more fields than this

//  Bytes that hold a text of `chars` code points and its NUL: UTF-8
//  takes at most 4 bytes per code point
#define HT_TEXT_BYTES(chars) ((chars) * 4 + 1)

//  Limits of cert fields, shared with ht_cert_t's buffers so a text the
//  schema accepts always fits (ht_cert.h)
#define HT_CERT_NAME_MAX_CHARS 63   //  name
#define HT_CERT_CODE_MAX_CHARS 31   //  department and policy codes
#define HT_CERT_MAX_KINDS 16        //  kinds it may author
#define HT_AUDIT_MAX_SUBJECTS 1000  //  entities one audit record names

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
    HT_GROUP_AUDIT,                 //  audit records: who read whom
    HT_GROUP_COUNT
} ht_group_t;

//  A named text rule (STR values, each STRS item): the check, and how
//  tools and docs name it. check returns 0 or HT_ESCHEMA with a static
//  reason.
typedef struct {
    const char *name;               //  stable identifier: "date", "uscc"...
    const char *label;              //  for people: "date YYYYMMDD"
    int (*check) (const char *text, const char **reason);
} ht_text_rule_t;

//  One field of a kind. Each limit belongs to one type; the others are 0.
//  Tables are append-only across schema versions: a later version adds
//  fields (with a higher since), never removes, renames or retypes one.
typedef struct {
    const char *name;               //  field name; tables sorted bytewise
    ht_type_t type;                 //  value type
    bool required;                  //  must be present (in its subtypes)
    const char *const *subtypes;    //  subtypes using it, NULL-terminated;
                                    //  NULL: every subtype
    ht_sens_t sens;                 //  sensitivity class
    ht_group_t group;               //  access group for read policies
    bool indexed;                   //  kept in the field index for lookups
    const ht_text_rule_t *rule;     //  named text check, or NULL
    const char *const *choices;     //  allowed texts, NULL-terminated
    uint32_t min_chars;             //  STR, each STRS item: fewest code points
    uint32_t max_chars;             //  STR, each STRS item: most code points
    int64_t min;                    //  INT: lowest value
    int64_t max;                    //  INT: highest value
    uint32_t min_items;             //  STRS: fewest items
    uint32_t max_items;             //  STRS: most items
    uint32_t bytes;                 //  BIN: exact size
    uint16_t since;                 //  schema version that introduced it
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
    const ht_field_t *fields;       //  every version's fields, sorted
                                    //  bytewise by name
    size_t field_count;             //  number of fields
    uint16_t version;               //  current schema version: the
                                    //  highest since of its fields
    const char *subtype_field;      //  field naming the subtype, or NULL
    ht_scope_rule_t scope_rule;     //  default scope
    ht_key_rule_t key_rule;         //  how the key is derived
    const char *const *key_fields;  //  natural key fields, NULL-terminated
                                    //  (all of version 1: keys never change)
    const char *key_fallback;       //  field giving "region-serial" keys
                                    //  when the natural key is absent
    //  Cross-field rules, run after every field passed its own rule.
    //  Returns 0 or HT_ESCHEMA with a static reason.
    int (*check) (const ht_record_t *record, const char **reason);
} ht_kind_t;

//  A set of kinds, sorted bytewise by name. The built-in registry is what
//  this program knows; a test builds its own to play a later release.
typedef struct {
    const ht_kind_t *kinds;         //  the kinds, sorted by name
    size_t kind_count;              //  how many
} ht_registry_t;

//  The built-in registry (static, never NULL)
const ht_registry_t *ht_schema_registry (void);

//  Kind descriptor by name in a registry (NULL: the built-in one); NULL
//  if the registry has no such kind
const ht_kind_t *ht_schema_registry_kind (const ht_registry_t *registry,
                                          const char *name);

//  Kind descriptor by name in the built-in registry; NULL if unknown
const ht_kind_t *ht_schema_kind (const char *name);

//  Kind descriptor by index (0..count-1); NULL past the end
const ht_kind_t *ht_schema_kind_at (size_t index);

//  Number of kinds
size_t ht_schema_kind_count (void);

//  Index of a field in its kind's table, -1 if the kind has no such field
//  (in any version)
int ht_schema_field_index (const ht_kind_t *kind, const char *name);

//  True if a field is part of schema version `version` of its kind, i.e.
//  introduced at or before it: the fields a record of that version has
bool ht_schema_field_in_version (const ht_field_t *field, uint16_t version);

//  True if a field is used by the given subtype (NULL subtype: all)
bool ht_schema_field_in_subtype (const ht_field_t *field, const char *subtype);

//  The schema version new records of a kind are written in: its current
//  version unless ht_schema_set_write_version chose an older one (readers
//  are upgraded before writers switch, DESIGN.md "Schema versions"). A
//  kind outside the built-in registry is written in its current version.
uint16_t ht_schema_write_version (const ht_kind_t *kind);

//  Choose the write version of a built-in kind, 1 .. its current version;
//  0 restores the default (the current version). Process-wide: call it
//  while reading the configuration, before starting threads. Returns 0,
//  HT_EKIND for an unknown kind, or HT_ESCHEMAVERSION for a version this
//  program does not know.
int ht_schema_set_write_version (const char *kind, uint16_t version) HT_WUR;

//  Names of types, sensitivity classes and groups ("str", "P", "identity")
const char *ht_type_name (ht_type_t type);
const char *ht_sens_name (ht_sens_t sens);
const char *ht_group_name (ht_group_t group);

//  Version of the registry as a whole, kept in every node's meta. Records
//  carry their kind's own version (ht_kind_t.version) in their header.
#define HT_SCHEMA_VERSION 1

#endif
