//  ht_record_private: the record's layout, shared by ht_record.c (core,
//  signing, msgpack), ht_record_json.c and ht_record_rules.c. Not public.
#ifndef HT_RECORD_PRIVATE_H_INCLUDED
#define HT_RECORD_PRIVATE_H_INCLUDED

#include <msgpack.h>
#include "ht_record.h"

#define HT_REASON_CHARS 160

typedef struct {
    ht_field_state_t state;         //  absent, present or withheld
    uint8_t *value;                 //  canonical msgpack (present only)
    size_t value_size;              //  its size
    char *text;                     //  STR: the text, NUL-terminated
    char **items;                   //  STRS: the texts
    size_t item_count;              //  STRS: how many
    int64_t number;                 //  INT value, BOOL as 0/1
    uint8_t *bin;                   //  BIN: the bytes
    size_t bin_size;                //  BIN: how many
    bool has_salt;                  //  salt known without the seed
    uint8_t salt [HT_SALT_BYTES];   //  disclosed salt (redacted form)
    uint8_t digest [HT_DIGEST_BYTES];   //  withheld field's digest
    char *mask;                     //  unsigned display mask, or NULL
} ht_field_slot_t;

struct _ht_record_t {
    const ht_kind_t *kind;          //  schema of this kind
    uint16_t schema_version;        //  kind's schema version it is
                                    //  written in: fields of later
                                    //  versions stay absent
    char key [HT_KEY_MAX_CHARS + 1];    //  entity key within kind
    char region [HT_REGION_BYTES];  //  region the entity belongs to
    char scope [HT_REGION_BYTES];   //  how far down it is shared
    uint64_t hlc;                   //  version timestamp
    uint8_t author [HT_PUBKEY_BYTES];   //  signer's public key
    bool deleted;                   //  tombstone
    uint8_t suite;                  //  signature suite
    bool is_signed;                 //  sig is set and covers the content
    bool signed_here;               //  ht_record_sign made sig from this
                                    //  very content: no need to verify it
    uint8_t sig [HT_SIG_BYTES];     //  signature over the digest
    uint32_t batch_size;            //  records under the batch signature;
                                    //  0: signed alone (format 2)
    uint32_t batch_index;           //  this record's leaf in the batch
    uint8_t batch_path_count;       //  audit path length
    uint8_t batch_path [HT_BATCH_MAX_PATH][HT_DIGEST_BYTES];
                                    //  sibling hashes, leaf to root
    bool digest_known;              //  digest_memo is ht_record_digest's
                                    //  answer for the content as it is:
                                    //  every change clears it
    uint8_t digest_memo [HT_DIGEST_BYTES];
    bool has_seed;                  //  full form: seed known
    uint8_t seed [HT_SEED_BYTES];   //  per-record salt seed
    char reason [HT_REASON_CHARS];  //  last validation reason, naming the
                                    //  field (written by const checkers:
                                    //  records are always heap objects)
    ht_field_slot_t fields [];      //  by schema index, as many as the
                                    //  kind has fields
};

//  Bytes of a record of a kind (the slots follow the header)
#define HT_RECORD_BYTES(kind) \
    (sizeof (ht_record_t) + (kind)->field_count * sizeof (ht_field_slot_t))

//  The record's content changed: it is no longer signed, and its digest
//  must be computed again
static inline void
ht_record__changed (ht_record_t *self)
{
    self->is_signed = self->signed_here = false;
    self->digest_known = false;
}

//  Load a field slot from canonical msgpack bytes, checking the type;
//  the slot takes a copy. 0 or HT_EFIELD.
int ht_record__load_field (ht_record_t *self, size_t index,
                           const uint8_t *value, size_t size);

//  Same from a value decoding has parsed already (packed canonically here)
int ht_record__load_object (ht_record_t *self, size_t index, const msgpack_object *object);

//  Index of a field of the record's schema version, or -1 if the kind has
//  no such field or it came in a later version
int ht_record__field_index (const ht_record_t *self, const char *name);

//  True if field index belongs to the record's schema version
bool ht_record__in_version (const ht_record_t *self, size_t index);

//  Free a slot's value and caches, leaving it absent
void ht_record__clear_field (ht_field_slot_t *slot);

//  The record's format version: HT_FORMAT_BATCH if signed in a batch
uint8_t ht_record__format (const ht_record_t *self);

//  Length of the audit path of leaf index in a batch of size (index <
//  size): the number of sibling hashes RFC 9162's verification consumes
size_t ht_record__batch_path_length (uint64_t index, uint64_t size);

//  Check a batch-signed record's proof and its root signature, given the
//  record digest; roots may be NULL. 0 or HT_EBADSIG with *reason.
int ht_record__verify_batch (const ht_record_t *self, const uint8_t digest [HT_DIGEST_BYTES],
                             ht_record_roots_t *roots, const char **reason);

//  Count one Ed25519 verification made for roots (NULL: nothing)
void ht_record__roots_count (ht_record_roots_t *roots);

//  Write "field: reason" into the record's reason buffer and return it
const char *ht_record__reason (const ht_record_t *self, const char *field,
                               const char *reason);

#endif
