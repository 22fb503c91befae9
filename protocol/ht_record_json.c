//  ht_record_json: the record's JSON form, for tools and people. Chinese
//  text stays readable (callers dump without JSON_ENSURE_ASCII). Binary
//  values are lowercase hex. Driven by the schema table like the codec.
#include <czmq.h>
#include "ht_codec.h"
#include "ht_record_private.h"

//  A field's value as JSON (present fields only)
static json_t *
s_value_to_json (const ht_field_slot_t *slot, ht_type_t type)
{
    switch (type) {
        case HT_TYPE_STR: return json_string (slot->text);
        case HT_TYPE_INT: return json_integer (slot->number);
        case HT_TYPE_BOOL: return json_boolean (slot->number);
        case HT_TYPE_BIN: {
            char *hex = (char *) malloc (slot->bin_size * 2 + 1);
            ht_hex_encode (slot->bin, slot->bin_size, hex);
            json_t *value = json_string (hex);
            free (hex);
            return value;
        }
        case HT_TYPE_STRS: {
            json_t *array = json_array ();
            for (size_t index = 0; index < slot->item_count; index++)
                json_array_append_new (array, json_string (slot->items [index]));
            return array;
        }
    }
    return json_null ();
}

static json_t *
s_hex (const uint8_t *data, size_t size)
{
    char hex [2 * HT_SIG_BYTES + 1];
    assert (size <= HT_SIG_BYTES);
    return json_string (ht_hex_encode (data, size, hex));
}

//  Add a non-empty object under name, or drop it
static void
s_set_nonempty (json_t *json, const char *name, json_t *object)
{
    if (json_object_size (object))
        json_object_set_new (json, name, object);
    else
        json_decref (object);
}

//  {"index": i, "path": [hex64, ...], "size": n}
static json_t *
s_batch_to_json (const ht_record_t *self)
{
    json_t *path = json_array ();
    for (size_t step = 0; step < self->batch_path_count; step++)
        json_array_append_new (path, s_hex (self->batch_path [step], HT_DIGEST_BYTES));
    return json_pack ("{s:I, s:I, s:o}", "index", (json_int_t) self->batch_index,
                      "size", (json_int_t) self->batch_size, "path", path);
}

json_t *
ht_record_to_json (const ht_record_t *self)
{
    json_t *json = json_object ();
    json_object_set_new (json, "kind", json_string (self->kind->name));
    //  A draft may not have these yet: leave them out rather than write ""
    //  that ht_record_from_json would refuse
    if (*self->key)
        json_object_set_new (json, "key", json_string (self->key));
    if (*self->region)
        json_object_set_new (json, "region", json_string (self->region));
    if (*self->scope)
        json_object_set_new (json, "scope", json_string (self->scope));
    json_object_set_new (json, "hlc", json_integer ((json_int_t) self->hlc));
    json_object_set_new (json, "deleted", json_boolean (self->deleted));
    if (self->is_signed) {
        json_object_set_new (json, "author", s_hex (self->author, HT_PUBKEY_BYTES));
        json_object_set_new (json, "suite", json_integer (self->suite));
        json_object_set_new (json, "sv", json_integer (self->schema_version));
        json_object_set_new (json, "sig", s_hex (self->sig, HT_SIG_BYTES));
        if (self->has_seed)
            json_object_set_new (json, "seed", s_hex (self->seed, HT_SEED_BYTES));
        if (self->batch_size)
            json_object_set_new (json, "batch", s_batch_to_json (self));
    }
    bool redacted = self->is_signed && !self->has_seed;
    json_t *fields = json_object (), *salts = json_object ();
    json_t *withheld = json_object (), *masked = json_object ();
    for (size_t index = 0; index < self->kind->field_count; index++) {
        const ht_field_t *field = &self->kind->fields [index];
        const ht_field_slot_t *slot = &self->fields [index];
        if (slot->state == HT_FIELD_PRESENT)
            json_object_set_new (fields, field->name, s_value_to_json (slot, field->type));
        else
        if (slot->state == HT_FIELD_WITHHELD)
            json_object_set_new (withheld, field->name, s_hex (slot->digest, HT_DIGEST_BYTES));
        else
        if (redacted && slot->has_salt)
            json_object_set_new (fields, field->name, json_null ());
        if (redacted && slot->has_salt)
            json_object_set_new (salts, field->name, s_hex (slot->salt, HT_SALT_BYTES));
        if (slot->mask)
            json_object_set_new (masked, field->name, json_string (slot->mask));
    }
    json_object_set_new (json, "fields", fields);
    s_set_nonempty (json, "salts", salts);
    s_set_nonempty (json, "withheld", withheld);
    s_set_nonempty (json, "masked", masked);
    return json;
}

//  --------------------------------------------------------------------------
//  Parsing

//  Pack a JSON value as the schema type wants; false on a type mismatch
static bool
s_pack_json (msgpack_packer *packer, ht_type_t type, const json_t *value)
{
    switch (type) {
        case HT_TYPE_STR:
            if (!json_is_string (value))
                return false;
            msgpack_pack_str_with_body (packer, json_string_value (value),
                                        json_string_length (value));
            return true;
        case HT_TYPE_INT:
            if (!json_is_integer (value))
                return false;
            msgpack_pack_int64 (packer, json_integer_value (value));
            return true;
        case HT_TYPE_BOOL:
            if (!json_is_boolean (value))
                return false;
            if (json_is_true (value)) msgpack_pack_true (packer);
            else msgpack_pack_false (packer);
            return true;
        case HT_TYPE_BIN: {
            const char *hex = json_string_value (value);
            size_t size = hex? strlen (hex) / 2: 0;
            uint8_t *bytes = (uint8_t *) malloc (size + 1);
            bool ok = hex && ht_hex_decode (hex, bytes, size) == HT_OK;
            if (ok)
                ht_pack_bin (packer, bytes, size);
            free (bytes);
            return ok;
        }
        case HT_TYPE_STRS: {
            if (!json_is_array (value))
                return false;
            msgpack_pack_array (packer, json_array_size (value));
            size_t index;
            const json_t *item;
            json_array_foreach (value, index, item) {
                if (!json_is_string (item))
                    return false;
                msgpack_pack_str_with_body (packer, json_string_value (item),
                                            json_string_length (item));
            }
            return true;
        }
    }
    return false;
}

typedef struct {
    int code;
    const char *reason;
} s_parse_error_t;

static void
s_fail (s_parse_error_t *error, int code, const char *reason)
{
    if (!error->code) {
        error->code = code;
        error->reason = reason;
    }
}

//  Read "fields" into self; null values mark disclosed-absent fields
static void
s_parse_fields (ht_record_t *self, const json_t *fields, s_parse_error_t *error)
{
    if (!json_is_object (fields)) {
        s_fail (error, HT_EMALFORMED, "\"fields\" must be an object");
        return;
    }
    const char *name;
    const json_t *value;
    json_object_foreach ((json_t *) fields, name, value) {
        int index = ht_record__field_index (self, name);
        if (index < 0) {
            s_fail (error, HT_EFIELD, "unknown field for this kind and schema version");
            return;
        }
        if (json_is_null (value))
            continue;
        ht_packer_t packer;
        ht_packer_init (&packer);
        bool ok = s_pack_json (&packer.packer, self->kind->fields [index].type, value);
        int rc = ok? ht_record__load_field (self, (size_t) index,
                                            (const uint8_t *) packer.buffer.data,
                                            packer.buffer.size): HT_EFIELD;
        ht_packer_destroy (&packer);
        if (rc) {
            s_fail (error, HT_EFIELD, "a field value has the wrong JSON type "
                    "(text, integer, true/false, list of texts, or hex)");
            return;
        }
    }
}

//  Read a hex item of exactly size bytes; false if absent or malformed
static bool
s_parse_hex (const json_t *json, const char *name, uint8_t *data, size_t size)
{
    const char *hex = json_string_value (json_object_get (json, name));
    return hex && ht_hex_decode (hex, data, size) == HT_OK;
}

//  Read "salts" and "withheld" of a redacted record
static void
s_parse_redaction (ht_record_t *self, const json_t *json, s_parse_error_t *error)
{
    const json_t *salts = json_object_get (json, "salts");
    const json_t *withheld = json_object_get (json, "withheld");
    const json_t *fields = json_object_get (json, "fields");
    for (size_t index = 0; index < self->kind->field_count && !error->code; index++) {
        if (!ht_record__in_version (self, index))
            continue;               //  not of this record's schema version
        const char *name = self->kind->fields [index].name;
        ht_field_slot_t *slot = &self->fields [index];
        bool in_fields = json_object_get (fields, name) != NULL;
        if (json_object_get (withheld, name)) {
            if (in_fields || !s_parse_hex (withheld, name, slot->digest, HT_DIGEST_BYTES))
                s_fail (error, HT_EMALFORMED, "a withheld digest is not 64 hex digits, or the field is also disclosed");
            slot->state = HT_FIELD_WITHHELD;
        }
        else
        if (!in_fields || !s_parse_hex (salts, name, slot->salt, HT_SALT_BYTES))
            s_fail (error, HT_EDIGEST, "a field is neither disclosed with its salt nor withheld");
        else
            slot->has_salt = true;
    }
    const char *name;
    const json_t *mask;
    json_object_foreach (json_object_get (json, "masked"), name, mask)
        if (!json_is_string (mask) || ht_record_set_mask (self, name, json_string_value (mask)))
            s_fail (error, HT_EMALFORMED, "a mask is not text for a withheld field");
}

//  Read "batch": {"index", "size", "path"} of a batch-signed record, with
//  the path exactly as long as index and size say
static void
s_parse_batch (ht_record_t *self, const json_t *batch, s_parse_error_t *error)
{
    const json_t *index = json_object_get (batch, "index");
    const json_t *size = json_object_get (batch, "size");
    const json_t *path = json_object_get (batch, "path");
    json_int_t at = json_integer_value (index), count = json_integer_value (size);
    bool ok = json_is_object (batch) && json_object_size (batch) == 3
           && json_is_integer (index) && json_is_integer (size) && json_is_array (path)
           && count > 0 && count <= HT_BATCH_MAX_RECORDS && at >= 0 && at < count
           && json_array_size (path) == ht_record__batch_path_length ((uint64_t) at,
                                                                      (uint64_t) count);
    for (size_t step = 0; ok && step < json_array_size (path); step++) {
        const char *hex = json_string_value (json_array_get (path, step));
        ok = hex && ht_hex_decode (hex, self->batch_path [step], HT_DIGEST_BYTES) == HT_OK;
    }
    if (!ok) {
        s_fail (error, HT_EMALFORMED, "batch must be {index, size, path} with index < size "
                "and the path (hex64 each) as long as they say");
        return;
    }
    self->batch_index = (uint32_t) at;
    self->batch_size = (uint32_t) count;
    self->batch_path_count = (uint8_t) json_array_size (path);
}

//  Read the header items of a signed record
static void
s_parse_signed (ht_record_t *self, const json_t *json, s_parse_error_t *error)
{
    json_int_t suite = json_integer_value (json_object_get (json, "suite"));
    //  A signed record has its whole header: the wire form refuses one
    //  without key, region or scope, so JSON must too (one record, one
    //  verdict, in either form)
    if (!*self->key || !*self->region || !*self->scope) {
        s_fail (error, HT_EMALFORMED, "a signed record needs key, region and scope");
        return;
    }
    if (!s_parse_hex (json, "author", self->author, HT_PUBKEY_BYTES)
    ||  !s_parse_hex (json, "sig", self->sig, HT_SIG_BYTES)
    ||  !json_is_integer (json_object_get (json, "hlc"))
    ||  !json_object_get (json, "sv")
    ||  suite < 0 || suite > 255) {
        s_fail (error, HT_EMALFORMED, "a signed record needs author, sig (hex), hlc, "
                "suite and sv");
        return;
    }
    self->suite = (uint8_t) suite;
    if (json_object_get (json, "batch"))
        s_parse_batch (self, json_object_get (json, "batch"), error);
    if (json_object_get (json, "seed")) {
        if (!s_parse_hex (json, "seed", self->seed, HT_SEED_BYTES))
            s_fail (error, HT_EMALFORMED, "seed is not 64 hex digits");
        self->has_seed = true;
        if (json_object_get (json, "salts") || json_object_get (json, "withheld"))
            s_fail (error, HT_EMALFORMED, "a full record carries no salts or digests");
    }
    else
        s_parse_redaction (self, json, error);
}

static const char *const s_json_items [] = {
    "kind", "key", "region", "scope", "hlc", "deleted", "author", "suite",
    "sv", "sig", "seed", "fields", "salts", "withheld", "masked", "batch", NULL };

//  Read the schema version, which says what fields there are: before them
static void
s_parse_schema_version (ht_record_t *self, const json_t *json, s_parse_error_t *error)
{
    const json_t *version = json_object_get (json, "sv");
    if (!version)
        return;                     //  a draft: the kind's write version
    if (!json_is_integer (version) || json_integer_value (version) < 1)
        s_fail (error, HT_EMALFORMED, "sv must be a positive integer");
    else
    if (json_integer_value (version) > self->kind->version)
        s_fail (error, HT_ESCHEMAVERSION, "the record's schema version is newer than "
                "this program knows for its kind");
    else
        self->schema_version = (uint16_t) json_integer_value (version);
}

//  Read key, region, scope, hlc, deleted (each optional in a draft)
static void
s_parse_header (ht_record_t *self, const json_t *json, s_parse_error_t *error)
{
    const char *key = json_string_value (json_object_get (json, "key"));
    const char *region = json_string_value (json_object_get (json, "region"));
    const char *scope = json_string_value (json_object_get (json, "scope"));
    const json_t *hlc = json_object_get (json, "hlc");
    const json_t *deleted = json_object_get (json, "deleted");
    if (key && ht_record_set_key (self, key))
        s_fail (error, HT_EINVAL, "key must be 1-64 of 0-9 A-Z a-z _ . : -");
    if (region && ht_record_set_region (self, region))
        s_fail (error, HT_EREGION, "region must be 12 digits");
    if (scope && ht_record_set_scope (self, scope))
        s_fail (error, HT_EREGION, "scope must be 12 digits");
    if (hlc && (!json_is_integer (hlc) || json_integer_value (hlc) < 0))
        s_fail (error, HT_EMALFORMED, "hlc must be a non-negative integer");
    else
    if (hlc)
        self->hlc = (uint64_t) json_integer_value (hlc);
    if (deleted && !json_is_boolean (deleted))
        s_fail (error, HT_EMALFORMED, "deleted must be true or false");
    self->deleted = json_is_true (deleted);
}

ht_record_t *
ht_record_from_json (const json_t *json, int *error_p, const char **reason_p)
{
    return ht_record_from_json_with (NULL, json, error_p, reason_p);
}

ht_record_t *
ht_record_from_json_with (const ht_registry_t *registry, const json_t *json,
                          int *error_p, const char **reason_p)
{
    s_parse_error_t error = { 0, NULL };
    ht_record_t *self = NULL;
    const char *kind = json_string_value (json_object_get (json, "kind"));
    const ht_kind_t *schema = kind? ht_schema_registry_kind (registry, kind): NULL;
    if (!json_is_object (json))
        s_fail (&error, HT_EMALFORMED, "a record is a JSON object");
    else
    if (!kind)
        s_fail (&error, HT_EMALFORMED, "record has no \"kind\"");
    else
    if (!schema)
        s_fail (&error, HT_EKIND, "unknown record kind");
    else {
        self = ht_record_new_of (schema);
        const char *item;
        const json_t *value;
        json_object_foreach ((json_t *) json, item, value) {
            size_t index = 0;
            while (s_json_items [index] && !streq (s_json_items [index], item))
                index++;
            if (!s_json_items [index])
                s_fail (&error, HT_EMALFORMED, "unknown item in record JSON");
        }
        s_parse_schema_version (self, json, &error);
        s_parse_header (self, json, &error);
        const json_t *fields = json_object_get (json, "fields");
        if (fields)
            s_parse_fields (self, fields, &error);
        if (json_object_get (json, "sig") && !error.code)
            s_parse_signed (self, json, &error);
        if (json_object_get (json, "sig") && !error.code)
            self->is_signed = true;
    }
    if (error.code)
        ht_record_destroy (&self);
    if (error_p)
        *error_p = error.code;
    if (reason_p)
        *reason_p = error.reason;
    return self;
}
