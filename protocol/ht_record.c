//  ht_record: records with a redactable signature — lifecycle, fields,
//  digests, signing, redaction and the canonical msgpack form.
//
//  Wire form: a msgpack map, keys sorted bytewise:
//    author bin32 · b [index, size, [bin32...]]? · del bool ·
//    f {name: value} · hlc uint · key str ·
//    kind str · m {name: mask}? · region str · s {name: salt}? ·
//    scope str · seed bin32? · sig bin64 · suite uint · sv uint ·
//    v uint · w {name: digest}?
//  sv is the kind's schema version the record is written in. A full form
//  has seed and no s/w; a redacted form has no seed, and every field of
//  its schema version is in f (with its salt in s; nil if disclosed
//  absent) or in w. m carries unsigned display masks for withheld fields.
//  b, the batch proof, is in batch-signed records (v 3) only
//  (ht_record_batch.c).
#include <czmq.h>
#include <sodium.h>
#include "ht_codec.h"
#include "ht_keys.h"
#include "ht_record_private.h"
#include "ht_valid.h"

#define S_NIL_BYTE 0xc0             //  msgpack nil: an absent value
#define S_MAX_RECORD_BYTES (1024 * 1024)

ht_record_t *
ht_record_new (const char *kind)
{
    const ht_kind_t *schema = ht_schema_kind (kind);
    return schema? ht_record_new_of (schema): NULL;
}

ht_record_t *
ht_record_new_of (const ht_kind_t *kind)
{
    assert (kind && kind->field_count <= HT_FIELD_MAX_COUNT);
    ht_record_t *self = (ht_record_t *) zmalloc (HT_RECORD_BYTES (kind));
    self->kind = kind;
    self->schema_version = ht_schema_write_version (kind);
    self->suite = HT_SUITE_ED25519_BLAKE2B;
    return self;
}

void
ht_record__clear_field (ht_field_slot_t *slot)
{
    free (slot->value);
    free (slot->text);
    for (size_t index = 0; index < slot->item_count; index++)
        free (slot->items [index]);
    free (slot->items);
    free (slot->bin);
    free (slot->mask);
    memset (slot, 0, sizeof (*slot));
}

void
ht_record_destroy (ht_record_t **self_p)
{
    assert (self_p);
    ht_record_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->kind->field_count; index++)
        ht_record__clear_field (&self->fields [index]);
    sodium_memzero (self->seed, sizeof self->seed);
    free (self);
    *self_p = NULL;
}

ht_record_t *
ht_record_dup (const ht_record_t *self)
{
    ht_record_t *copy = (ht_record_t *) zmalloc (HT_RECORD_BYTES (self->kind));
    memcpy (copy, self, HT_RECORD_BYTES (self->kind));
    for (size_t index = 0; index < self->kind->field_count; index++) {
        const ht_field_slot_t *from = &self->fields [index];
        ht_field_slot_t *to = &copy->fields [index];
        //  Shallow copy first, then rebuild the owned parts
        to->value = NULL; to->text = NULL; to->items = NULL;
        to->item_count = 0; to->bin = NULL; to->mask = NULL;
        if (from->state == HT_FIELD_PRESENT)
            if (ht_record__load_field (copy, index, from->value, from->value_size)) {
                ht_record_destroy (&copy);
                return NULL;
            }
        to->state = from->state;
        to->has_salt = from->has_salt;      //  loading cleared the salt too
        memcpy (to->salt, from->salt, HT_SALT_BYTES);
        if (from->mask)
            to->mask = strdup (from->mask);
    }
    copy->is_signed = self->is_signed;      //  loading fields cleared it
    return copy;
}

//  --------------------------------------------------------------------------
//  Header accessors and setters

const ht_kind_t *ht_record_schema (const ht_record_t *self) { return self->kind; }
const char *ht_record_kind (const ht_record_t *self) { return self->kind->name; }
uint16_t ht_record_schema_version (const ht_record_t *self) { return self->schema_version; }
const char *ht_record_key (const ht_record_t *self) { return self->key; }
const char *ht_record_region (const ht_record_t *self) { return self->region; }
const char *ht_record_scope (const ht_record_t *self) { return self->scope; }
uint64_t ht_record_hlc (const ht_record_t *self) { return self->hlc; }
const uint8_t *ht_record_author (const ht_record_t *self) { return self->author; }
bool ht_record_deleted (const ht_record_t *self) { return self->deleted; }
const uint8_t *ht_record_sig (const ht_record_t *self) { return self->sig; }
bool ht_record_is_full (const ht_record_t *self) { return self->has_seed || !self->is_signed; }
bool ht_record_is_signed (const ht_record_t *self) { return self->is_signed; }
bool ht_record_signed_here (const ht_record_t *self) { return self->signed_here; }

static bool
s_key_valid (const char *key)
{
    size_t length = strlen (key);
    return length > 0 && length <= HT_KEY_MAX_CHARS
        && strspn (key, "0123456789abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.:-") == length;
}

int
ht_record_set_key (ht_record_t *self, const char *key)
{
    if (!s_key_valid (key))
        return HT_EINVAL;
    strcpy (self->key, key);
    ht_record__changed (self);
    return HT_OK;
}

//  Copy a 12-digit code; codes are validated in ht_record_validate so a
//  decoded record can name the problem, but the shape is fixed here
static int
s_set_code (char *target, const char *code)
{
    if (strlen (code) != HT_REGION_DIGITS
    ||  strspn (code, "0123456789") != HT_REGION_DIGITS)
        return HT_EREGION;
    strcpy (target, code);
    return HT_OK;
}

int
ht_record_set_region (ht_record_t *self, const char *region)
{
    ht_record__changed (self);
    return s_set_code (self->region, region);
}

int
ht_record_set_scope (ht_record_t *self, const char *scope)
{
    ht_record__changed (self);
    return s_set_code (self->scope, scope);
}

int
ht_record_set_schema_version (ht_record_t *self, uint16_t version)
{
    if (version == 0 || version > self->kind->version)
        return HT_ESCHEMAVERSION;
    //  A field the version does not have must not be set: it would be
    //  neither signed nor sent
    for (size_t index = 0; index < self->kind->field_count; index++) {
        const ht_field_slot_t *slot = &self->fields [index];
        if (!ht_schema_field_in_version (&self->kind->fields [index], version)
        &&  (slot->state != HT_FIELD_ABSENT || slot->has_salt))
            return HT_EFIELD;
    }
    self->schema_version = version;
    ht_record__changed (self);
    return HT_OK;
}

void
ht_record_set_hlc (ht_record_t *self, uint64_t hlc)
{
    self->hlc = hlc;
    ht_record__changed (self);
}

void
ht_record_set_deleted (ht_record_t *self, bool deleted)
{
    self->deleted = deleted;
    ht_record__changed (self);
}

//  --------------------------------------------------------------------------
//  Fields. Every setter packs the value canonically and loads it through
//  the same path the decoder uses, so there is one way a value gets in.

//  Copy a msgpack str object into a new NUL-terminated string; NULL if it
//  holds a NUL byte (C strings could not represent it faithfully) or is
//  not UTF-8: every text of a record is (records.md), so every reader can
//  show it and its JSON form carries it whole
static char *
s_strdup_object (const msgpack_object *object)
{
    //  An empty str may carry a NULL pointer: never hand it on
    if (object->via.str.size && !ht_utf8_valid (object->via.str.ptr, object->via.str.size))
        return NULL;
    char *text = (char *) malloc (object->via.str.size + 1);
    if (object->via.str.size)
        memcpy (text, object->via.str.ptr, object->via.str.size);
    text [object->via.str.size] = 0;
    return text;
}

//  Fill the slot's typed cache from a parsed value; 0 or HT_EFIELD
static int
s_cache_value (ht_field_slot_t *slot, ht_type_t type, const msgpack_object *object)
{
    switch (type) {
        case HT_TYPE_STR:
            if (object->type != MSGPACK_OBJECT_STR)
                return HT_EFIELD;
            slot->text = s_strdup_object (object);
            return slot->text? HT_OK: HT_EFIELD;
        case HT_TYPE_INT:
            return ht_obj_int (object, &slot->number)? HT_OK: HT_EFIELD;
        case HT_TYPE_BOOL:
            if (object->type != MSGPACK_OBJECT_BOOLEAN)
                return HT_EFIELD;
            slot->number = object->via.boolean;
            return HT_OK;
        case HT_TYPE_BIN:
            if (object->type != MSGPACK_OBJECT_BIN)
                return HT_EFIELD;
            slot->bin_size = object->via.bin.size;
            slot->bin = (uint8_t *) malloc (slot->bin_size + 1);
            if (slot->bin_size)             //  empty bin: ptr may be NULL
                memcpy (slot->bin, object->via.bin.ptr, slot->bin_size);
            return HT_OK;
        case HT_TYPE_STRS:
            if (object->type != MSGPACK_OBJECT_ARRAY)
                return HT_EFIELD;
            slot->items = (char **) zmalloc ((object->via.array.size + 1) * sizeof (char *));
            for (uint32_t index = 0; index < object->via.array.size; index++) {
                const msgpack_object *item = &object->via.array.ptr [index];
                if (item->type != MSGPACK_OBJECT_STR)
                    return HT_EFIELD;
                slot->items [index] = s_strdup_object (item);
                if (!slot->items [index])
                    return HT_EFIELD;
                slot->item_count++;
            }
            return HT_OK;
    }
    return HT_EFIELD;
}

//  Fill a slot from a parsed value and its canonical bytes (copied)
static int
s_load_slot (ht_record_t *self, size_t index, const msgpack_object *object,
             const uint8_t *value, size_t size)
{
    ht_field_slot_t *slot = &self->fields [index];
    char *mask = slot->mask;
    slot->mask = NULL;
    ht_record__clear_field (slot);
    slot->mask = mask;
    int rc = s_cache_value (slot, self->kind->fields [index].type, object);
    if (rc) {
        ht_record__clear_field (slot);
        return rc;
    }
    slot->value = (uint8_t *) malloc (size);
    memcpy (slot->value, value, size);
    slot->value_size = size;
    slot->state = HT_FIELD_PRESENT;
    ht_record__changed (self);
    return HT_OK;
}

int
ht_record__load_field (ht_record_t *self, size_t index, const uint8_t *value, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    int rc = HT_EFIELD;
    if (msgpack_unpack_next (&unpacked, (const char *) value, size, &offset)
            == MSGPACK_UNPACK_SUCCESS && offset == size)
        rc = s_load_slot (self, index, &unpacked.data, value, size);
    msgpack_unpacked_destroy (&unpacked);
    if (rc)
        ht_record__clear_field (&self->fields [index]);
    return rc;
}

int
ht_record__load_object (ht_record_t *self, size_t index, const msgpack_object *object)
{
    //  Decoding already parsed the value: pack it canonically and cache
    //  it from the parse, rather than parse the packed bytes again
    ht_packer_t packer;
    ht_packer_init (&packer);
    msgpack_pack_object (&packer.packer, *object);
    int rc = s_load_slot (self, index, object, (const uint8_t *) packer.buffer.data,
                          packer.buffer.size);
    ht_packer_destroy (&packer);
    if (rc)
        ht_record__clear_field (&self->fields [index]);
    return rc;
}

int
ht_record__field_index (const ht_record_t *self, const char *name)
{
    int index = ht_schema_field_index (self->kind, name);
    return index >= 0 && ht_record__in_version (self, (size_t) index)? index: -1;
}

bool
ht_record__in_version (const ht_record_t *self, size_t index)
{
    return ht_schema_field_in_version (&self->kind->fields [index], self->schema_version);
}

//  Index of a named field of the record's version and the expected type,
//  or -1
static int
s_field_of_type (const ht_record_t *self, const char *name, ht_type_t type)
{
    int index = ht_record__field_index (self, name);
    if (index < 0 || self->kind->fields [index].type != type)
        return -1;
    return index;
}

//  Load the packer's bytes into a field, of the expected type
static int
s_set_packed (ht_record_t *self, const char *name, ht_type_t type, ht_packer_t *packer)
{
    int index = s_field_of_type (self, name, type);
    int rc = index < 0? HT_EFIELD
           : ht_record__load_field (self, (size_t) index,
                                    (const uint8_t *) packer->buffer.data,
                                    packer->buffer.size);
    ht_packer_destroy (packer);
    return rc;
}

int
ht_record_set_str (ht_record_t *self, const char *name, const char *value)
{
    ht_packer_t packer;
    ht_packer_init (&packer);
    ht_pack_cstr (&packer.packer, value);
    return s_set_packed (self, name, HT_TYPE_STR, &packer);
}

int
ht_record_set_int (ht_record_t *self, const char *name, int64_t value)
{
    ht_packer_t packer;
    ht_packer_init (&packer);
    msgpack_pack_int64 (&packer.packer, value);
    return s_set_packed (self, name, HT_TYPE_INT, &packer);
}

int
ht_record_set_bool (ht_record_t *self, const char *name, bool value)
{
    ht_packer_t packer;
    ht_packer_init (&packer);
    if (value)
        msgpack_pack_true (&packer.packer);
    else
        msgpack_pack_false (&packer.packer);
    return s_set_packed (self, name, HT_TYPE_BOOL, &packer);
}

int
ht_record_set_strs (ht_record_t *self, const char *name,
                    const char *const *values, size_t count)
{
    ht_packer_t packer;
    ht_packer_init (&packer);
    msgpack_pack_array (&packer.packer, count);
    for (size_t index = 0; index < count; index++)
        ht_pack_cstr (&packer.packer, values [index]);
    return s_set_packed (self, name, HT_TYPE_STRS, &packer);
}

int
ht_record_set_bin (ht_record_t *self, const char *name, const uint8_t *data, size_t size)
{
    ht_packer_t packer;
    ht_packer_init (&packer);
    ht_pack_bin (&packer.packer, data, size);
    return s_set_packed (self, name, HT_TYPE_BIN, &packer);
}

int
ht_record_unset (ht_record_t *self, const char *name)
{
    int index = ht_record__field_index (self, name);
    if (index < 0)
        return HT_EFIELD;
    ht_record__clear_field (&self->fields [index]);
    ht_record__changed (self);
    return HT_OK;
}

ht_field_state_t
ht_record_field_state (const ht_record_t *self, const char *name)
{
    int index = ht_record__field_index (self, name);
    return index < 0? HT_FIELD_ABSENT: self->fields [index].state;
}

//  The slot of a present field of the given type, or NULL
static const ht_field_slot_t *
s_present (const ht_record_t *self, const char *name, ht_type_t type)
{
    int index = s_field_of_type (self, name, type);
    if (index < 0 || self->fields [index].state != HT_FIELD_PRESENT)
        return NULL;
    return &self->fields [index];
}

const char *
ht_record_get_str (const ht_record_t *self, const char *name)
{
    const ht_field_slot_t *slot = s_present (self, name, HT_TYPE_STR);
    return slot? slot->text: NULL;
}

bool
ht_record_get_int (const ht_record_t *self, const char *name, int64_t *value)
{
    const ht_field_slot_t *slot = s_present (self, name, HT_TYPE_INT);
    if (slot)
        *value = slot->number;
    return slot != NULL;
}

bool
ht_record_get_bool (const ht_record_t *self, const char *name, bool *value)
{
    const ht_field_slot_t *slot = s_present (self, name, HT_TYPE_BOOL);
    if (slot)
        *value = slot->number != 0;
    return slot != NULL;
}

size_t
ht_record_get_strs_count (const ht_record_t *self, const char *name)
{
    const ht_field_slot_t *slot = s_present (self, name, HT_TYPE_STRS);
    return slot? slot->item_count: 0;
}

const char *
ht_record_get_strs_item (const ht_record_t *self, const char *name, size_t index)
{
    const ht_field_slot_t *slot = s_present (self, name, HT_TYPE_STRS);
    return slot && index < slot->item_count? slot->items [index]: NULL;
}

const uint8_t *
ht_record_get_bin (const ht_record_t *self, const char *name, size_t *size)
{
    const ht_field_slot_t *slot = s_present (self, name, HT_TYPE_BIN);
    if (!slot)
        return NULL;
    *size = slot->bin_size;
    return slot->bin;
}

const uint8_t *
ht_record_field_value (const ht_record_t *self, size_t index, size_t *size)
{
    if (index >= self->kind->field_count
    ||  self->fields [index].state != HT_FIELD_PRESENT)
        return NULL;
    *size = self->fields [index].value_size;
    return self->fields [index].value;
}

const char *
ht_record_subtype (const ht_record_t *self)
{
    return self->kind->subtype_field
         ? ht_record_get_str (self, self->kind->subtype_field): NULL;
}

int
ht_record_set_mask (ht_record_t *self, const char *name, const char *mask)
{
    int index = ht_record__field_index (self, name);
    if (index < 0 || self->fields [index].state != HT_FIELD_WITHHELD
    ||  !ht_utf8_valid (mask, strlen (mask)))
        return HT_EFIELD;
    free (self->fields [index].mask);
    self->fields [index].mask = strdup (mask);
    return HT_OK;
}

const char *
ht_record_get_mask (const ht_record_t *self, const char *name)
{
    int index = ht_record__field_index (self, name);
    return index < 0? NULL: self->fields [index].mask;
}

//  --------------------------------------------------------------------------
//  Digests and signatures

//  BLAKE2b-128 keyed with the seed, before any input: every salt starts
//  from this state, so the key block is compressed once per record, not
//  once per field (a fifth of a verify's hashing)
static void
s_seeded_state (const ht_record_t *self, crypto_generichash_state *seeded)
{
    crypto_generichash_init (seeded, self->seed, HT_SEED_BYTES, HT_SALT_BYTES);
}

//  salt_f = BLAKE2b-128(key = seed, name), or the disclosed salt; seeded
//  is the state from s_seeded_state, or NULL to start one here
static int
s_field_salt (const ht_record_t *self, size_t index,
              const crypto_generichash_state *seeded, uint8_t salt [HT_SALT_BYTES])
{
    const char *name = self->kind->fields [index].name;
    if (self->has_seed) {
        crypto_generichash_state state;
        if (seeded)
            state = *seeded;
        else
            s_seeded_state (self, &state);
        crypto_generichash_update (&state, (const uint8_t *) name, strlen (name));
        crypto_generichash_final (&state, salt, HT_SALT_BYTES);
    }
    else
    if (self->fields [index].has_salt)
        memcpy (salt, self->fields [index].salt, HT_SALT_BYTES);
    else
        return HT_EDIGEST;
    return HT_OK;
}

//  digest_f = BLAKE2b-256(salt_f || name || canonical(value)), nil if absent
static int
s_field_digest (const ht_record_t *self, size_t index,
                const crypto_generichash_state *seeded, uint8_t digest [HT_DIGEST_BYTES])
{
    const ht_field_slot_t *slot = &self->fields [index];
    if (slot->state == HT_FIELD_WITHHELD) {
        memcpy (digest, slot->digest, HT_DIGEST_BYTES);
        return HT_OK;
    }
    uint8_t salt [HT_SALT_BYTES];
    if (s_field_salt (self, index, seeded, salt))
        return HT_EDIGEST;
    const char *name = self->kind->fields [index].name;
    static const uint8_t nil = S_NIL_BYTE;
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, HT_DIGEST_BYTES);
    crypto_generichash_update (&state, salt, HT_SALT_BYTES);
    crypto_generichash_update (&state, (const uint8_t *) name, strlen (name));
    if (slot->state == HT_FIELD_PRESENT)
        crypto_generichash_update (&state, slot->value, slot->value_size);
    else
        crypto_generichash_update (&state, &nil, 1);
    crypto_generichash_final (&state, digest, HT_DIGEST_BYTES);
    return HT_OK;
}

uint8_t
ht_record__format (const ht_record_t *self)
{
    return self->batch_size? HT_FORMAT_BATCH: HT_FORMAT_VERSION;
}

//  The canonical header: [v, suite, kind, sv, key, region, scope, hlc,
//  author, deleted]. sv, the kind's schema version, says which fields
//  the digests that follow are of; v says how the record is signed, so
//  a batch-signed record's digest can never pass for a plain one's.
static void
s_pack_header (const ht_record_t *self, msgpack_packer *packer)
{
    msgpack_pack_array (packer, 10);
    msgpack_pack_uint8 (packer, ht_record__format (self));
    msgpack_pack_uint8 (packer, self->suite);
    ht_pack_cstr (packer, self->kind->name);
    msgpack_pack_uint16 (packer, self->schema_version);
    ht_pack_cstr (packer, self->key);
    ht_pack_cstr (packer, self->region);
    ht_pack_cstr (packer, self->scope);
    msgpack_pack_uint64 (packer, self->hlc);
    ht_pack_bin (packer, self->author, HT_PUBKEY_BYTES);
    if (self->deleted)
        msgpack_pack_true (packer);
    else
        msgpack_pack_false (packer);
}

int
ht_record_digest (const ht_record_t *self, uint8_t digest [HT_DIGEST_BYTES])
{
    if (!*self->key || !*self->region || !*self->scope)
        return HT_EINVAL;
    //  A record's digest is asked for several times on its way into a
    //  store (verify, the held check, its history key): hashed once
    if (self->digest_known) {
        memcpy (digest, self->digest_memo, HT_DIGEST_BYTES);
        return HT_OK;
    }
    ht_packer_t header;
    ht_packer_init (&header);
    s_pack_header (self, &header.packer);
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, HT_DIGEST_BYTES);
    crypto_generichash_update (&state, (const uint8_t *) header.buffer.data,
                               header.buffer.size);
    ht_packer_destroy (&header);
    crypto_generichash_state seeded;
    if (self->has_seed)
        s_seeded_state (self, &seeded);
    //  Exactly the fields of the record's schema version: a field added
    //  by a later version is no part of an older record, so the record
    //  verifies the same before and after a reader upgrades
    for (size_t index = 0; index < self->kind->field_count; index++) {
        if (!ht_record__in_version (self, index))
            continue;
        uint8_t field_digest [HT_DIGEST_BYTES];
        if (s_field_digest (self, index, self->has_seed? &seeded: NULL, field_digest))
            return HT_EDIGEST;
        crypto_generichash_update (&state, field_digest, HT_DIGEST_BYTES);
    }
    crypto_generichash_final (&state, digest, HT_DIGEST_BYTES);
    //  Records are heap objects, each used by one thread at a time
    ht_record_t *memo = (ht_record_t *) self;
    memcpy (memo->digest_memo, digest, HT_DIGEST_BYTES);
    memo->digest_known = true;
    return HT_OK;
}

int
ht_record_sign (ht_record_t *self, const ht_keypair_t *key)
{
    for (size_t index = 0; index < self->kind->field_count; index++)
        if (self->fields [index].state == HT_FIELD_WITHHELD)
            return HT_EREDACTED;
    if (self->is_signed && !self->has_seed)
        return HT_EREDACTED;
    self->suite = HT_SUITE_ED25519_BLAKE2B;
    memcpy (self->author, ht_keypair_public (key), HT_PUBKEY_BYTES);
    randombytes_buf (self->seed, HT_SEED_BYTES);
    self->has_seed = true;
    self->batch_size = self->batch_index = self->batch_path_count = 0;
    self->digest_known = false;
    uint8_t digest [HT_DIGEST_BYTES];
    int rc = ht_record_digest (self, digest);
    if (rc)
        return rc;
    crypto_sign_detached (self->sig, NULL, digest, HT_DIGEST_BYTES,
                          ht_keypair_secret (key));
    self->is_signed = self->signed_here = true;
    return HT_OK;
}

int
ht_record_verify (const ht_record_t *self, const char **reason)
{
    return ht_record_verify_with (self, NULL, reason);
}

int
ht_record_verify_with (const ht_record_t *self, ht_record_roots_t *roots,
                       const char **reason)
{
    const char *ignored;
    if (!reason)
        reason = &ignored;
    if (!self->is_signed) {
        *reason = "record is not signed";
        return HT_EBADSIG;
    }
    if (self->suite != HT_SUITE_ED25519_BLAKE2B) {
        *reason = "unsupported signature suite";
        return HT_EVERSION;
    }
    uint8_t digest [HT_DIGEST_BYTES];
    if (ht_record_digest (self, digest)) {
        *reason = "a field is neither disclosed with its salt nor withheld";
        return HT_EDIGEST;
    }
    if (self->batch_size)
        return ht_record__verify_batch (self, digest, roots, reason);
    ht_record__roots_count (roots);
    if (crypto_sign_verify_detached (self->sig, digest, HT_DIGEST_BYTES,
                                     self->author) != 0) {
        *reason = "signature does not match the record's content and author";
        return HT_EBADSIG;
    }
    return HT_OK;
}

ht_record_t *
ht_record_redact (const ht_record_t *self, const char *const *disclose, size_t count)
{
    if (!self->is_signed)
        return NULL;
    ht_record_t *copy = ht_record_dup (self);
    if (!copy)
        return NULL;
    for (size_t index = 0; index < self->kind->field_count; index++) {
        const char *name = self->kind->fields [index].name;
        bool disclosed = false;
        for (size_t which = 0; which < count && !disclosed; which++)
            disclosed = streq (disclose [which], name);
        ht_field_slot_t *slot = &copy->fields [index];
        if (slot->state == HT_FIELD_WITHHELD || !ht_record__in_version (self, index))
            continue;               //  already withheld, or not of its version
        if (disclosed) {
            if (s_field_salt (self, index, NULL, slot->salt)) {
                ht_record_destroy (&copy);
                return NULL;
            }
            slot->has_salt = true;
        }
        else {
            uint8_t digest [HT_DIGEST_BYTES];
            if (s_field_digest (self, index, NULL, digest)) {
                ht_record_destroy (&copy);
                return NULL;
            }
            ht_record__clear_field (slot);
            memcpy (slot->digest, digest, HT_DIGEST_BYTES);
            slot->state = HT_FIELD_WITHHELD;
        }
    }
    sodium_memzero (copy->seed, HT_SEED_BYTES);
    copy->has_seed = false;
    copy->digest_known = false;     //  the same digest, computed anew
    copy->is_signed = true;
    copy->signed_here = false;      //  another form now: verify it like any
    return copy;
}

int
ht_record_compare (const ht_record_t *a, const ht_record_t *b)
{
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc? -1: 1;
    int order = memcmp (a->author, b->author, HT_PUBKEY_BYTES);
    if (order)
        return order < 0? -1: 1;
    //  Same author and time but other content: an equivocating author.
    //  Order by digest so every node keeps the same winner.
    uint8_t digest_a [HT_DIGEST_BYTES], digest_b [HT_DIGEST_BYTES];
    if (ht_record_digest (a, digest_a) || ht_record_digest (b, digest_b))
        return 0;
    order = memcmp (digest_a, digest_b, HT_DIGEST_BYTES);
    return order < 0? -1: order > 0? 1: 0;
}

bool
ht_record_same_content (const ht_record_t *a, const ht_record_t *b)
{
    if (a->kind != b->kind || a->schema_version != b->schema_version
    ||  a->deleted != b->deleted || strcmp (a->key, b->key)
    ||  strcmp (a->region, b->region) || strcmp (a->scope, b->scope))
        return false;
    for (size_t index = 0; index < a->kind->field_count; index++) {
        const ht_field_slot_t *field_a = &a->fields [index], *field_b = &b->fields [index];
        //  A withheld value is unknown here: it cannot be shown equal
        if (field_a->state == HT_FIELD_WITHHELD || field_b->state == HT_FIELD_WITHHELD
        ||  field_a->state != field_b->state)
            return false;
        if (field_a->state == HT_FIELD_PRESENT
        &&  (field_a->value_size != field_b->value_size
         ||  memcmp (field_a->value, field_b->value, field_a->value_size)))
            return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  Hex

char *
ht_hex_encode (const uint8_t *data, size_t size, char *hex)
{
    return sodium_bin2hex (hex, size * 2 + 1, data, size);
}

int
ht_hex_decode (const char *hex, uint8_t *data, size_t size)
{
    size_t decoded = 0;
    if (strlen (hex) != size * 2
    ||  sodium_hex2bin (data, size, hex, size * 2, NULL, &decoded, NULL) != 0
    ||  decoded != size)
        return HT_EINVAL;
    return HT_OK;
}
