//  ht_record: one signed version of one entity, with a redactable signature.
//
//  The signature covers a canonical header (which names the kind's schema
//  version the record is written in) and, for every field of that schema
//  version, digest_f = BLAKE2b-256(salt_f || name || canonical(value))
//  (an absent value is digested as msgpack nil). salt_f is
//  BLAKE2b-128(key = seed, name), with a random per-record seed. The full
//  form carries the seed; a redacted form carries, per field, either the
//  value and its salt (disclosed) or only its digest (withheld). Both forms
//  have the same digest, so both verify with the author's key.
//
//  A record is signed alone (format 2: the signature is over its digest)
//  or in a batch (format 3): one signature over the root of a Merkle tree
//  of the batch's record digests (RFC 9162's shape), each record carrying
//  its leaf index, the batch size and its audit path, so it still verifies
//  alone, redacted or not. A verifier checks each distinct root once.
#ifndef HT_RECORD_H_INCLUDED
#define HT_RECORD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ht_error.h"
#include "ht_schema.h"
#include "ht_region.h"

#define HT_FORMAT_VERSION 2         //  2: the header carries the schema version
#define HT_FORMAT_BATCH 3           //  3: format 2, signed in a batch: the record
                                    //  carries its inclusion proof
#define HT_BATCH_MAX_RECORDS 65536  //  records under one batch signature
#define HT_BATCH_MAX_PATH 16        //  audit path of the largest batch
#define HT_BATCH_TAG "hutong batch root"    //  starts the signed message
#define HT_SUITE_ED25519_BLAKE2B 1  //  room is kept for SM2/SM3 (suite 2)
#define HT_PUBKEY_BYTES 32
#define HT_SECRETKEY_BYTES 64
#define HT_SIG_BYTES 64
#define HT_DIGEST_BYTES 32
#define HT_SALT_BYTES 16
#define HT_SEED_BYTES 32
#define HT_IDKEY_BYTES 32           //  network secret for pseudonymous keys

typedef struct _ht_record_t ht_record_t;
typedef struct _ht_keypair_t ht_keypair_t;

typedef enum {
    HT_FIELD_ABSENT = 0,            //  not set (full form)
    HT_FIELD_PRESENT = 1,           //  value known (full form, or disclosed)
    HT_FIELD_WITHHELD = 2           //  only the digest is known
} ht_field_state_t;

//  Create an empty unsigned record of a built-in kind, in the kind's write
//  version (ht_schema_write_version); NULL if the kind is unknown
ht_record_t *ht_record_new (const char *kind);

//  Same for a kind descriptor from any registry (tests model a later
//  release with their own); the descriptor must outlive the record
ht_record_t *ht_record_new_of (const ht_kind_t *kind);

//  Destroy a record and set the caller's pointer to NULL
void ht_record_destroy (ht_record_t **self_p);

//  Deep copy; the caller owns it
ht_record_t *ht_record_dup (const ht_record_t *self);

//  Header items. Returned strings are borrowed for the record's lifetime.
const ht_kind_t *ht_record_schema (const ht_record_t *self);
const char *ht_record_kind (const ht_record_t *self);
//  The kind's schema version the record is written in (signed)
uint16_t ht_record_schema_version (const ht_record_t *self);
const char *ht_record_key (const ht_record_t *self);
const char *ht_record_region (const ht_record_t *self);
const char *ht_record_scope (const ht_record_t *self);
uint64_t ht_record_hlc (const ht_record_t *self);
const uint8_t *ht_record_author (const ht_record_t *self);
bool ht_record_deleted (const ht_record_t *self);
const uint8_t *ht_record_sig (const ht_record_t *self);
//  True if the record carries its seed (every field value is known)
bool ht_record_is_full (const ht_record_t *self);
//  True if the record has been signed (or decoded with a signature)
bool ht_record_is_signed (const ht_record_t *self);
//  True if ht_record_sign signed it in this process and nothing changed
//  since: its signature is known good without verifying (a decoded or
//  parsed record is never signed here)
bool ht_record_signed_here (const ht_record_t *self);

//  Setters invalidate any signature. Keys: 1-64 chars of [0-9A-Za-z_.:-].
int ht_record_set_key (ht_record_t *self, const char *key) HT_WUR;
int ht_record_set_region (ht_record_t *self, const char *region) HT_WUR;
int ht_record_set_scope (ht_record_t *self, const char *scope) HT_WUR;
void ht_record_set_hlc (ht_record_t *self, uint64_t hlc);
//  Write the record in another schema version of its kind (1 .. the kind's
//  current version): HT_ESCHEMAVERSION for a version the kind does not
//  have, HT_EFIELD if a field of a later version is set
int ht_record_set_schema_version (ht_record_t *self, uint16_t version) HT_WUR;
void ht_record_set_deleted (ht_record_t *self, bool deleted);

//  Set a field; HT_EFIELD if the record's schema version has no such field
//  or the type differs, or a text is not UTF-8 (ht_utf8_valid: no record
//  holds such text, so its JSON form always carries every field).
//  Values are copied. Only the field's own type rule is checked later,
//  by ht_record_validate.
int ht_record_set_str (ht_record_t *self, const char *name, const char *value) HT_WUR;
int ht_record_set_int (ht_record_t *self, const char *name, int64_t value) HT_WUR;
int ht_record_set_bool (ht_record_t *self, const char *name, bool value) HT_WUR;
int ht_record_set_strs (ht_record_t *self, const char *name,
                        const char *const *values, size_t count) HT_WUR;
int ht_record_set_bin (ht_record_t *self, const char *name,
                       const uint8_t *data, size_t size) HT_WUR;
int ht_record_unset (ht_record_t *self, const char *name) HT_WUR;

//  State of a field (absent, present, withheld); ABSENT for unknown names
ht_field_state_t ht_record_field_state (const ht_record_t *self, const char *name);

//  Field getters. Text returns are borrowed for the record's lifetime, NULL
//  if the field is absent, withheld or of another type.
const char *ht_record_get_str (const ht_record_t *self, const char *name);
bool ht_record_get_int (const ht_record_t *self, const char *name, int64_t *value);
bool ht_record_get_bool (const ht_record_t *self, const char *name, bool *value);
//  Number of items of a STRS field, and item i (borrowed)
size_t ht_record_get_strs_count (const ht_record_t *self, const char *name);
const char *ht_record_get_strs_item (const ht_record_t *self, const char *name, size_t index);
//  BIN field: pointer to the bytes (borrowed) and its size; NULL if none
const uint8_t *ht_record_get_bin (const ht_record_t *self, const char *name, size_t *size);
//  Canonical msgpack bytes of a present field (borrowed); NULL if none
const uint8_t *ht_record_field_value (const ht_record_t *self, size_t index, size_t *size);

//  Subtype (value of the kind's subtype field), or NULL
const char *ht_record_subtype (const ht_record_t *self);

//  Derive the entity key from the natural key where the kind has one:
//  elder = BLAKE2b-128(key = idkey, id_no), facility = BLAKE2b-128(uscc) or
//  region-serial, credit = BLAKE2b-128(type, issuer_region, issuer_dept,
//  doc_no), cert and revocation = hex(pubkey). idkey may be NULL for
//  kinds that do not need it. Returns 0, HT_EREQUIRED if the natural key
//  fields are missing, or HT_EINVAL if the kind has no natural key.
int ht_record_derive_key (ht_record_t *self, const uint8_t *idkey) HT_WUR;

//  Check every present field against its schema rule, required fields,
//  subtype membership, region/scope codes and ⊑, and the kind's cross-field
//  rule. Withheld fields are taken on trust (the signature covers them).
int ht_record_validate (const ht_record_t *self, const char **reason) HT_WUR;

//  The record digest: BLAKE2b-256(canonical header || the digests of the
//  fields of the record's schema version, in table order). This is what
//  the signature signs. Requires a key, region and scope. Works for full
//  and redacted forms alike.
int ht_record_digest (const ht_record_t *self, uint8_t digest [HT_DIGEST_BYTES]) HT_WUR;

//  Sign with a key pair: sets the author, a fresh seed, salts, and the
//  signature. The record must be full (not redacted).
int ht_record_sign (ht_record_t *self, const ht_keypair_t *key) HT_WUR;

//  Sign count full records (1 .. HT_BATCH_MAX_RECORDS, all distinct) with
//  one signature: each gets the author, a fresh seed, format 3, its leaf
//  index, the batch size and its audit path; the signature is over the
//  root of the tree of their digests. On failure none is signed.
int ht_record_sign_batch (ht_record_t *const *records, size_t count,
                          const ht_keypair_t *key) HT_WUR;

//  True if the record is signed in a batch (format 3); its leaf index and
//  the batch size, either pointer may be NULL
bool ht_record_batch (const ht_record_t *self, size_t *index, size_t *size);

//  The batch root a batch-signed record's proof leads to: 0, HT_EINVAL for
//  a record signed alone, HT_EDIGEST or HT_EBADSIG if there is none
int ht_record_batch_root (const ht_record_t *self, uint8_t root [HT_DIGEST_BYTES]) HT_WUR;

//  Verify the signature against the author's key: recomputes every field
//  digest from the disclosed values and salts, and for a batch-signed
//  record the root its proof leads to. 0, or HT_EBADSIG/HT_EDIGEST
//  /HT_EMALFORMED with a static reason. Does not check authorization.
int ht_record_verify (const ht_record_t *self, const char **reason) HT_WUR;

//  A bounded cache of checked batch signatures, keyed by (author, batch
//  size, root, signature), safe to share between threads: a verifier
//  checks each distinct root signature once, not once per record
typedef struct _ht_record_roots_t ht_record_roots_t;

//  A cache of up to capacity roots (at least 8); NULL if out of memory
ht_record_roots_t *ht_record_roots_new (size_t capacity);

//  Destroy the cache and set the caller's pointer to NULL
void ht_record_roots_destroy (ht_record_roots_t **self_p);

//  Ed25519 verifications made through the cache so far (plain records'
//  and roots'): what the cache saves shows here
uint64_t ht_record_roots_checks (const ht_record_roots_t *self);

//  ht_record_verify, asking roots (NULL: none) before checking a batch
//  signature and remembering the verdict after. Any thread.
int ht_record_verify_with (const ht_record_t *self, ht_record_roots_t *roots,
                           const char **reason) HT_WUR;

//  Verify count records, each distinct batch root once (through roots, or
//  a cache of its own if NULL). results [i] gets each record's code and
//  reasons [i] its reason (reasons may be NULL). Returns how many failed.
size_t ht_record_verify_all (const ht_record_t *const *records, size_t count,
                             ht_record_roots_t *roots, int *results, const char **reasons);

//  Build a redacted copy that discloses only the named fields (the others
//  are withheld as digests). Names not in the schema are ignored. The
//  record must be signed. The caller owns the result; NULL on error.
ht_record_t *ht_record_redact (const ht_record_t *self,
                               const char *const *disclose, size_t count);

//  Attach an unsigned display mask to a withheld field of a redacted copy
//  (e.g. "441802********0317"). Masks are outside the signature and shown
//  as such. Returns HT_EFIELD if the field is not withheld or the mask is
//  not UTF-8.
int ht_record_set_mask (ht_record_t *self, const char *name, const char *mask) HT_WUR;
const char *ht_record_get_mask (const ht_record_t *self, const char *name);

//  Encode as canonical msgpack (maps sorted bytewise, shortest integers).
//  *data is malloc'd and owned by the caller.
int ht_record_encode (const ht_record_t *self, uint8_t **data, size_t *size) HT_WUR;

//  Decode msgpack bytes (full or redacted). NULL on error with *error and
//  *reason set (either may be NULL). Never trusts the bytes: every item is
//  type-checked, unknown fields are refused, digests are recomputed.
//  HT_EVERSION for another record format, HT_ESCHEMAVERSION for a schema
//  version newer than the kind's current one.
ht_record_t *ht_record_decode (const uint8_t *data, size_t size,
                               int *error, const char **reason);

//  Same, with the kinds of a registry (NULL: the built-in one)
ht_record_t *ht_record_decode_with (const ht_registry_t *registry,
                                    const uint8_t *data, size_t size,
                                    int *error, const char **reason);

//  The routing header of an encoded record, read without building the
//  record or hashing anything: what a sender needs to apply the holder
//  rule to every record it considers sending
typedef struct {
    char kind [HT_KIND_MAX_CHARS + 1];      //  record kind
    char key [HT_KEY_MAX_CHARS + 1];        //  entity key
    char region [HT_REGION_BYTES];          //  entity's region
    char scope [HT_REGION_BYTES];           //  how far down it is shared
    uint64_t hlc;                           //  version timestamp
} ht_record_head_t;

//  Read the header of an encoded record; 0 or HT_EMALFORMED
int ht_record_peek (const uint8_t *data, size_t size, ht_record_head_t *head) HT_WUR;

//  JSON form (UTF-8 kept readable by the caller's json_dumps flags):
//  {"kind","key","region","scope","hlc","author","deleted","suite","sv",
//   "sig", "seed"?, "fields":{...}, "salts"?:{...}, "withheld"?:{...},
//   "masked"?:{...}, "batch"?:{"index","size","path"}}. BIN values, keys,
//   signatures and path hashes are lowercase hex.
//  A draft (unsigned) has no author, suite, sv or sig. The caller owns
//  the result.
json_t *ht_record_to_json (const ht_record_t *self);

//  Parse the JSON form. An object without "sig" is an unsigned draft:
//  only kind, fields and optionally key/region/scope/hlc/deleted/sv are
//  read (sv defaults to the kind's write version). NULL on error with
//  *error and *reason.
ht_record_t *ht_record_from_json (const json_t *json, int *error, const char **reason);

//  Same, with the kinds of a registry (NULL: the built-in one)
ht_record_t *ht_record_from_json_with (const ht_registry_t *registry, const json_t *json,
                                       int *error, const char **reason);

//  Total order of versions of one entity: -1, 0, +1 comparing (hlc,
//  author), then the digest so that equivocating authors still converge
int ht_record_compare (const ht_record_t *a, const ht_record_t *b);

//  True if two versions say the same: kind, schema version, key, region,
//  scope, tombstone and every field value alike (whoever signed them,
//  whenever). False if either withholds a field, as its value is unknown.
//  A draft compared with the current version this way changes nothing.
bool ht_record_same_content (const ht_record_t *a, const ht_record_t *b);

//  Hex helpers (lowercase). hex must hold 2*size+1 bytes.
char *ht_hex_encode (const uint8_t *data, size_t size, char *hex);
int ht_hex_decode (const char *hex, uint8_t *data, size_t size) HT_WUR;

#endif
