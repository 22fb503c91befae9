//  ht_record_wire: the record's canonical msgpack form (see ht_record.c
//  for the layout). One encoder and one decoder serve every kind: the
//  schema table says which fields exist and what type each value has.
#include <czmq.h>
#include <sodium.h>
#include "ht_codec.h"
#include "ht_record_private.h"
#include "ht_hlc.h"
#include "ht_valid.h"

#define S_MAX_RECORD_BYTES (1024 * 1024)

//  True if the field goes into "f": present, or (redacted) disclosed
//  absent. Fields of later schema versions are never set or salted.
static bool
s_in_f (const ht_record_t *self, const ht_field_slot_t *slot)
{
    return slot->state == HT_FIELD_PRESENT
        || (!self->has_seed && slot->state == HT_FIELD_ABSENT && slot->has_salt);
}

//  Pack one of the field maps: 'f' values, 's' salts, 'w' digests, 'm' masks
static void
s_pack_field_map (const ht_record_t *self, msgpack_packer *packer, char which)
{
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            msgpack_pack_map (packer, count);
        for (size_t index = 0; index < self->kind->field_count; index++) {
            const ht_field_slot_t *slot = &self->fields [index];
            bool wanted = which == 'w'? slot->state == HT_FIELD_WITHHELD
                        : which == 'm'? slot->mask != NULL
                        : s_in_f (self, slot);
            if (!wanted)
                continue;
            if (pass == 0) {
                count++;
                continue;
            }
            ht_pack_cstr (packer, self->kind->fields [index].name);
            if (which == 'f' && slot->state == HT_FIELD_PRESENT)
                ht_pack_raw (packer, slot->value, slot->value_size);
            else
            if (which == 'f')
                msgpack_pack_nil (packer);
            else
            if (which == 's')
                ht_pack_bin (packer, slot->salt, HT_SALT_BYTES);
            else
            if (which == 'w')
                ht_pack_bin (packer, slot->digest, HT_DIGEST_BYTES);
            else
                ht_pack_cstr (packer, slot->mask);
        }
    }
}

static bool
s_has_masks (const ht_record_t *self)
{
    for (size_t index = 0; index < self->kind->field_count; index++)
        if (self->fields [index].mask)
            return true;
    return false;
}

int
ht_record_encode (const ht_record_t *self, uint8_t **data, size_t *size)
{
    if (!self->is_signed)
        return HT_EINVAL;
    bool redacted = !self->has_seed;
    bool masks = s_has_masks (self);
    ht_packer_t out;
    ht_packer_init (&out);
    msgpack_packer *packer = &out.packer;
    bool batch = self->batch_size > 0;
    msgpack_pack_map (packer, 12 + (redacted? 2: 1) + (masks? 1: 0) + (batch? 1: 0));
    ht_pack_cstr (packer, "author");
    ht_pack_bin (packer, self->author, HT_PUBKEY_BYTES);
    if (batch) {
        //  b = [leaf index, batch size, [sibling hashes, leaf to root]]
        ht_pack_cstr (packer, "b");
        msgpack_pack_array (packer, 3);
        msgpack_pack_uint32 (packer, self->batch_index);
        msgpack_pack_uint32 (packer, self->batch_size);
        msgpack_pack_array (packer, self->batch_path_count);
        for (size_t step = 0; step < self->batch_path_count; step++)
            ht_pack_bin (packer, self->batch_path [step], HT_DIGEST_BYTES);
    }
    ht_pack_cstr (packer, "del");
    if (self->deleted) msgpack_pack_true (packer); else msgpack_pack_false (packer);
    ht_pack_cstr (packer, "f");
    s_pack_field_map (self, packer, 'f');
    ht_pack_cstr (packer, "hlc");
    msgpack_pack_uint64 (packer, self->hlc);
    ht_pack_cstr (packer, "key");
    ht_pack_cstr (packer, self->key);
    ht_pack_cstr (packer, "kind");
    ht_pack_cstr (packer, self->kind->name);
    if (masks) {
        ht_pack_cstr (packer, "m");
        s_pack_field_map (self, packer, 'm');
    }
    ht_pack_cstr (packer, "region");
    ht_pack_cstr (packer, self->region);
    if (redacted) {
        ht_pack_cstr (packer, "s");
        s_pack_field_map (self, packer, 's');
    }
    ht_pack_cstr (packer, "scope");
    ht_pack_cstr (packer, self->scope);
    if (!redacted) {
        ht_pack_cstr (packer, "seed");
        ht_pack_bin (packer, self->seed, HT_SEED_BYTES);
    }
    ht_pack_cstr (packer, "sig");
    ht_pack_bin (packer, self->sig, HT_SIG_BYTES);
    ht_pack_cstr (packer, "suite");
    msgpack_pack_uint8 (packer, self->suite);
    ht_pack_cstr (packer, "sv");
    msgpack_pack_uint16 (packer, self->schema_version);
    ht_pack_cstr (packer, "v");
    msgpack_pack_uint8 (packer, ht_record__format (self));
    if (redacted) {
        ht_pack_cstr (packer, "w");
        s_pack_field_map (self, packer, 'w');
    }
    *data = ht_packer_take (&out, size);
    ht_packer_destroy (&out);
    return HT_OK;
}

//  --------------------------------------------------------------------------
//  Decoding. Every item is type-checked; unknown or repeated keys are
//  refused, because two encodings of one record must not both verify
//  while saying different things.

typedef struct {
    int code;                       //  first error
    const char *reason;             //  its static reason
    uint64_t format;                //  the record's v
    bool in_f [HT_FIELD_MAX_COUNT]; //  field was listed in f
} s_decode_error_t;

static void
s_fail (s_decode_error_t *error, int code, const char *reason)
{
    if (!error->code) {
        error->code = code;
        error->reason = reason;
    }
}

//  True if a str is not UTF-8 text (ht_utf8_valid)
static bool
s_bad_str (const msgpack_object *value)
{
    return value->type == MSGPACK_OBJECT_STR && value->via.str.size
        && !ht_utf8_valid (value->via.str.ptr, value->via.str.size);
}

//  True if a value is text, or a list with a text, that is not UTF-8: the
//  reason a value of the right type is refused
static bool
s_bad_text (const msgpack_object *value)
{
    if (value->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t index = 0; index < value->via.array.size; index++)
            if (s_bad_str (&value->via.array.ptr [index]))
                return true;
    return s_bad_str (value);
}

//  Decode the field maps f (values), s (salts), w (digests), m (masks)
static void
s_decode_field_map (ht_record_t *self, const msgpack_object *map, char which,
                    s_decode_error_t *error)
{
    if (map->type != MSGPACK_OBJECT_MAP) {
        s_fail (error, HT_EMALFORMED, "field map is not a map");
        return;
    }
    //  Keys come sorted, as the schema's fields are: the one after the
    //  last found is tried first
    size_t next = 0;
    for (uint32_t index = 0; index < map->via.map.size && !error->code; index++) {
        const msgpack_object_kv *pair = &map->via.map.ptr [index];
        char name [64];
        int field = -1;
        if (next < self->kind->field_count
        &&  ht_obj_str_eq (&pair->key, self->kind->fields [next].name))
            field = ht_record__in_version (self, next)? (int) next: -1;
        else
        if (ht_obj_cstr (&pair->key, name, sizeof name))
            field = ht_record__field_index (self, name);
        next = field >= 0? (size_t) field + 1: next;
        if (field < 0) {
            s_fail (error, HT_EFIELD, "unknown field for this kind and schema version");
            return;
        }
        ht_field_slot_t *slot = &self->fields [field];
        if (which == 'f') {
            if (error->in_f [field] || slot->state == HT_FIELD_WITHHELD) {
                s_fail (error, HT_EMALFORMED, "field appears twice");
                return;
            }
            error->in_f [field] = true;
            if (pair->val.type == MSGPACK_OBJECT_NIL)
                continue;                   //  disclosed absent
            uint8_t salt [HT_SALT_BYTES];
            bool had_salt = slot->has_salt;
            memcpy (salt, slot->salt, HT_SALT_BYTES);
            int rc = ht_record__load_object (self, (size_t) field, &pair->val);
            if (rc && s_bad_text (&pair->val))
                s_fail (error, HT_EFIELD, "field text is not UTF-8, or holds a NUL "
                        "byte (every text of a record is UTF-8)");
            else
            if (rc)
                s_fail (error, HT_EFIELD, "field value has the wrong type");
            slot->has_salt = had_salt;      //  loading clears the slot
            memcpy (slot->salt, salt, HT_SALT_BYTES);
        }
        else
        if (which == 's') {
            if (slot->has_salt || !ht_obj_bin (&pair->val, slot->salt, HT_SALT_BYTES))
                s_fail (error, HT_EMALFORMED, "salt is not 16 bytes, or appears twice");
            slot->has_salt = true;
        }
        else
        if (which == 'w') {
            if (error->in_f [field] || slot->state == HT_FIELD_WITHHELD
            ||  !ht_obj_bin (&pair->val, slot->digest, HT_DIGEST_BYTES))
                s_fail (error, HT_EMALFORMED, "withheld digest is not 32 bytes, or the field is also disclosed");
            slot->state = HT_FIELD_WITHHELD;
        }
        else {
            char mask [256];
            if (!ht_obj_cstr (&pair->val, mask, sizeof mask))
                s_fail (error, HT_EMALFORMED, "mask is not UTF-8 text of at most 255 bytes");
            else {
                free (slot->mask);
                slot->mask = strdup (mask);
            }
        }
    }
}

//  Names of the top-level keys, in canonical order; index = bit in "seen"
static const char *const s_top_keys [] = {
    "author", "b", "del", "f", "hlc", "key", "kind", "m", "region", "s",
    "scope", "seed", "sig", "suite", "sv", "v", "w", NULL };

enum { K_AUTHOR, K_B, K_DEL, K_F, K_HLC, K_KEY, K_KIND, K_M, K_REGION, K_S,
       K_SCOPE, K_SEED, K_SIG, K_SUITE, K_SV, K_V, K_W };

#define S_BIT(key) (1u << (key))
#define S_REQUIRED_KEYS (S_BIT (K_AUTHOR) | S_BIT (K_DEL) | S_BIT (K_F) | \
    S_BIT (K_HLC) | S_BIT (K_KEY) | S_BIT (K_KIND) | S_BIT (K_REGION) | \
    S_BIT (K_SCOPE) | S_BIT (K_SIG) | S_BIT (K_SUITE) | S_BIT (K_SV) | \
    S_BIT (K_V))

//  Read the batch proof b = [index, size, [sibling, ...]]: the path must
//  be exactly as long as the index and size say
static bool
s_decode_batch (ht_record_t *self, const msgpack_object *value)
{
    uint64_t index, size;
    if (value->type != MSGPACK_OBJECT_ARRAY || value->via.array.size != 3
    ||  !ht_obj_uint (&value->via.array.ptr [0], &index)
    ||  !ht_obj_uint (&value->via.array.ptr [1], &size)
    ||  size == 0 || size > HT_BATCH_MAX_RECORDS || index >= size)
        return false;
    const msgpack_object *path = &value->via.array.ptr [2];
    if (path->type != MSGPACK_OBJECT_ARRAY
    ||  path->via.array.size != ht_record__batch_path_length (index, size))
        return false;
    for (uint32_t step = 0; step < path->via.array.size; step++)
        if (!ht_obj_bin (&path->via.array.ptr [step], self->batch_path [step], HT_DIGEST_BYTES))
            return false;
    self->batch_index = (uint32_t) index;
    self->batch_size = (uint32_t) size;
    self->batch_path_count = (uint8_t) path->via.array.size;
    return true;
}

//  Read one header item into self
static void
s_decode_item (ht_record_t *self, int key, const msgpack_object *value,
               s_decode_error_t *error)
{
    char text [HT_KEY_MAX_CHARS + 1];
    uint64_t number;
    bool ok = true;
    switch (key) {
        case K_AUTHOR: ok = ht_obj_bin (value, self->author, HT_PUBKEY_BYTES); break;
        case K_B:
            ok = s_decode_batch (self, value);
            if (!ok)
                s_fail (error, HT_EMALFORMED, "batch proof b is not [index, size, path] "
                        "with index < size and the path as long as they say");
            break;
        case K_DEL:
            ok = value->type == MSGPACK_OBJECT_BOOLEAN;
            self->deleted = ok && value->via.boolean;
            break;
        case K_HLC: ok = ht_obj_uint (value, &self->hlc) && self->hlc <= HT_HLC_MAX; break;
        case K_KEY:
            ok = ht_obj_cstr (value, text, sizeof text) && !ht_record_set_key (self, text);
            break;
        case K_REGION:
            ok = ht_obj_cstr (value, text, sizeof text) && !ht_record_set_region (self, text);
            break;
        case K_SCOPE:
            ok = ht_obj_cstr (value, text, sizeof text) && !ht_record_set_scope (self, text);
            break;
        case K_SEED:
            ok = ht_obj_bin (value, self->seed, HT_SEED_BYTES);
            self->has_seed = ok;
            break;
        case K_SIG: ok = ht_obj_bin (value, self->sig, HT_SIG_BYTES); break;
        case K_SUITE:
            ok = ht_obj_uint (value, &number) && number < 256;
            self->suite = (uint8_t) number;
            break;
        case K_F: s_decode_field_map (self, value, 'f', error); break;
        case K_S: s_decode_field_map (self, value, 's', error); break;
        case K_W: s_decode_field_map (self, value, 'w', error); break;
        case K_M: s_decode_field_map (self, value, 'm', error); break;
        default: break;                 //  kind, v and sv were read first
    }
    if (!ok)
        s_fail (error, HT_EMALFORMED, "header item has the wrong type or value");
}

//  Check the form is complete: full (seed, no s/w) or redacted (every
//  field disclosed with a salt, or withheld)
static void
s_check_form (ht_record_t *self, unsigned seen, s_decode_error_t *error)
{
    if ((seen & S_REQUIRED_KEYS) != S_REQUIRED_KEYS) {
        s_fail (error, HT_EMALFORMED, "record lacks a required header item");
        return;
    }
    //  Format 3 and the batch proof come together
    if ((error->format == HT_FORMAT_BATCH) != !!(seen & S_BIT (K_B))) {
        s_fail (error, HT_EMALFORMED, "a batch-signed record (v 3) carries its batch "
                "proof b, and only it does");
        return;
    }
    bool redacted = !(seen & S_BIT (K_SEED));
    if (!redacted && (seen & (S_BIT (K_S) | S_BIT (K_W)))) {
        s_fail (error, HT_EMALFORMED, "a full record carries no salts or digests");
        return;
    }
    for (size_t index = 0; redacted && index < self->kind->field_count; index++) {
        if (!ht_record__in_version (self, index))
            continue;                   //  not of this record's version
        const ht_field_slot_t *slot = &self->fields [index];
        bool withheld = slot->state == HT_FIELD_WITHHELD;
        bool disclosed = error->in_f [index] && slot->has_salt;
        if (withheld == disclosed || (withheld && slot->has_salt)) {
            s_fail (error, HT_EDIGEST, "a field is neither disclosed with its salt nor withheld");
            return;
        }
    }
    //  Masks are unsigned: over a disclosed value one would pass a forged
    //  text off as signed (ht_record_set_mask refuses it likewise)
    for (size_t index = 0; index < self->kind->field_count; index++)
        if (self->fields [index].mask && self->fields [index].state != HT_FIELD_WITHHELD) {
            s_fail (error, HT_EMALFORMED, "a mask is given for a field that is "
                    "not withheld");
            return;
        }
    if (!redacted)
        for (size_t index = 0; index < self->kind->field_count; index++)
            self->fields [index].has_salt = false;
}

//  Read the items that say how to read the rest: the format version and
//  the kind's schema version (which fields exist), before any field
static void
s_decode_versions (ht_record_t *self, const msgpack_object *map, s_decode_error_t *error)
{
    uint64_t number = 0;
    const msgpack_object *format = ht_obj_get (map, "v");
    if (format && (!ht_obj_uint (format, &number)
               || (number != HT_FORMAT_VERSION && number != HT_FORMAT_BATCH))) {
        s_fail (error, HT_EVERSION, "unsupported record format version");
        return;
    }
    error->format = number;
    const msgpack_object *version = ht_obj_get (map, "sv");
    if (!version)
        return;                         //  the form check names it missing
    if (!ht_obj_uint (version, &number) || number == 0)
        s_fail (error, HT_EMALFORMED, "schema version is not a positive integer");
    else
    if (number > self->kind->version)
        s_fail (error, HT_ESCHEMAVERSION, "the record's schema version is newer than "
                "this program knows for its kind");
    else
        self->schema_version = (uint16_t) number;
}

//  Decode a parsed top-level map
static ht_record_t *
s_decode_map (const ht_registry_t *registry, const msgpack_object *map,
              s_decode_error_t *error)
{
    char kind [HT_KIND_MAX_CHARS + 1];
    const msgpack_object *kind_object = ht_obj_get (map, "kind");
    if (!kind_object || !ht_obj_cstr (kind_object, kind, sizeof kind)) {
        s_fail (error, HT_EMALFORMED, "record has no kind");
        return NULL;
    }
    const ht_kind_t *schema = ht_schema_registry_kind (registry, kind);
    if (!schema) {
        s_fail (error, HT_EKIND, "unknown record kind");
        return NULL;
    }
    ht_record_t *self = ht_record_new_of (schema);
    s_decode_versions (self, map, error);
    unsigned seen = 0;
    for (uint32_t index = 0; index < map->via.map.size && !error->code; index++) {
        const msgpack_object_kv *pair = &map->via.map.ptr [index];
        int key = 0;
        while (s_top_keys [key] && !ht_obj_str_eq (&pair->key, s_top_keys [key]))
            key++;
        if (!s_top_keys [key])
            s_fail (error, HT_EMALFORMED, "unknown header item");
        else
        if (seen & S_BIT (key))
            s_fail (error, HT_EMALFORMED, "header item appears twice");
        else {
            seen |= S_BIT (key);
            s_decode_item (self, key, &pair->val, error);
        }
    }
    if (!error->code)
        s_check_form (self, seen, error);
    if (error->code) {
        ht_record_destroy (&self);
        return NULL;
    }
    self->is_signed = true;
    return self;
}

//  True if the record encodes to exactly these bytes. The decoder accepts
//  any key order and integer width msgpack allows; this makes the
//  canonical form the only one, so one record has one encoding (a longer
//  hlc, a reordered map or an explicit nil would otherwise all verify).
static bool
s_is_canonical (const ht_record_t *self, const uint8_t *data, size_t size)
{
    uint8_t *encoded = NULL;
    size_t encoded_size = 0;
    bool same = ht_record_encode (self, &encoded, &encoded_size) == HT_OK
             && encoded_size == size && memcmp (encoded, data, size) == 0;
    free (encoded);
    return same;
}

ht_record_t *
ht_record_decode (const uint8_t *data, size_t size, int *error_p, const char **reason_p)
{
    return ht_record_decode_with (NULL, data, size, error_p, reason_p);
}

ht_record_t *
ht_record_decode_with (const ht_registry_t *registry, const uint8_t *data, size_t size,
                       int *error_p, const char **reason_p)
{
    s_decode_error_t error;
    memset (&error, 0, sizeof error);
    ht_record_t *self = NULL;
    int scan = size > S_MAX_RECORD_BYTES? HT_EMALFORMED: ht_codec_scan (data, size);
    if (scan)
        s_fail (&error, scan, scan == HT_ETRUNCATED? "msgpack data ends early"
                : "not a single well-formed msgpack object (or over 1 MiB)");
    else {
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        if (msgpack_unpack_next (&unpacked, (const char *) data, size, &offset)
                != MSGPACK_UNPACK_SUCCESS)
            s_fail (&error, HT_EMALFORMED, "msgpack does not parse");
        else
        if (unpacked.data.type != MSGPACK_OBJECT_MAP)
            s_fail (&error, HT_EMALFORMED, "record is not a msgpack map");
        else
            self = s_decode_map (registry, &unpacked.data, &error);
        msgpack_unpacked_destroy (&unpacked);
    }
    if (self && !s_is_canonical (self, data, size)) {
        s_fail (&error, HT_EMALFORMED, "record is not in canonical form "
                "(sorted keys, shortest integers, no nil for absent fields)");
        ht_record_destroy (&self);
    }
    if (error_p)
        *error_p = error.code;
    if (reason_p)
        *reason_p = error.reason;
    return self;
}

int
ht_record_peek (const uint8_t *data, size_t size, ht_record_head_t *head)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    int rc = HT_EMALFORMED;
    if (ht_codec_scan (data, size) == HT_OK
    &&  msgpack_unpack_next (&unpacked, (const char *) data, size, &offset)
            == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *map = &unpacked.data;
        const msgpack_object *kind = ht_obj_get (map, "kind");
        const msgpack_object *key = ht_obj_get (map, "key");
        const msgpack_object *region = ht_obj_get (map, "region");
        const msgpack_object *scope = ht_obj_get (map, "scope");
        const msgpack_object *hlc = ht_obj_get (map, "hlc");
        if (kind && key && region && scope && hlc
        &&  ht_obj_cstr (kind, head->kind, sizeof head->kind)
        &&  ht_obj_cstr (key, head->key, sizeof head->key)
        &&  ht_obj_cstr (region, head->region, sizeof head->region)
        &&  ht_obj_cstr (scope, head->scope, sizeof head->scope)
        &&  ht_obj_uint (hlc, &head->hlc) && head->hlc <= HT_HLC_MAX)
            rc = HT_OK;
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}
