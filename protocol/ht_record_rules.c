//  ht_record_rules: schema validation and key derivation, driven by the
//  kind's table. Reasons name the field ("id_no: check character should
//  be X"), written into the record's reason buffer.
#include <czmq.h>
#include <sodium.h>
#include "ht_valid.h"
#include "ht_record_private.h"

#define S_KEY_HASH_BYTES 16         //  BLAKE2b-128: 32 hex digits

const char *
ht_record__reason (const ht_record_t *self, const char *field, const char *reason)
{
    //  Records are heap objects that are never defined const, so writing
    //  the explanation through a const pointer is well-defined; it keeps
    //  the read-only checkers' signatures honest about the content
    ht_record_t *mutable_self = (ht_record_t *) self;
    snprintf (mutable_self->reason, HT_REASON_CHARS, "%s: %s", field, reason);
    return mutable_self->reason;
}

//  True if text is one of choices
static bool
s_in_choices (const char *const *choices, const char *text)
{
    for (; *choices; choices++)
        if (streq (*choices, text))
            return true;
    return false;
}

//  Check one text (a STR value or a STRS item) against the field's
//  length in code points, choices and named rule
static int
s_check_text (const ht_field_t *field, const char *text, const char **reason)
{
    if (ht_valid_text (text, (int) field->max_chars, reason))
        return HT_ESCHEMA;
    if (ht_utf8_chars (text) < field->min_chars) {
        *reason = "too short";
        return HT_ESCHEMA;
    }
    if (field->choices && !s_in_choices (field->choices, text)) {
        *reason = "not one of the allowed values";
        return HT_ESCHEMA;
    }
    if (field->rule && field->rule->check (text, reason))
        return HT_ESCHEMA;
    return HT_OK;
}

//  Check one present value against its field's rule
static int
s_check_value (const ht_field_t *field, const ht_field_slot_t *slot, const char **reason)
{
    switch (field->type) {
        case HT_TYPE_STR:
            return s_check_text (field, slot->text, reason);
        case HT_TYPE_INT:
            if (slot->number < field->min || slot->number > field->max) {
                *reason = "number out of range";
                return HT_ESCHEMA;
            }
            return HT_OK;
        case HT_TYPE_BOOL:
            return HT_OK;
        case HT_TYPE_BIN:
            if (slot->bin_size != field->bytes) {
                *reason = "wrong number of bytes";
                return HT_ESCHEMA;
            }
            return HT_OK;
        case HT_TYPE_STRS:
            if (slot->item_count > field->max_items) {
                *reason = "too many items";
                return HT_ESCHEMA;
            }
            if (slot->item_count < field->min_items) {
                *reason = "too few items";
                return HT_ESCHEMA;
            }
            for (size_t index = 0; index < slot->item_count; index++)
                if (s_check_text (field, slot->items [index], reason))
                    return HT_ESCHEMA;
            return HT_OK;
    }
    return HT_EFIELD;
}

//  Key, region and scope: shape, codes, scope ⊑ region
static int
s_check_header (const ht_record_t *self, const char **reason)
{
    const char *why = NULL;
    if (!*self->key)
        *reason = ht_record__reason (self, "key", "missing");
    else
    if (ht_region_check (self->region, &why))
        *reason = ht_record__reason (self, "region", why? why: "missing");
    else
    if (ht_region_check (self->scope, &why))
        *reason = ht_record__reason (self, "scope", why? why: "missing");
    else
    if (!ht_region_covers (self->scope, self->region))
        *reason = ht_record__reason (self, "scope",
                                     "must be the region or one of its ancestors");
    else
        return HT_OK;
    return why? HT_EREGION: HT_ESCHEMA;
}

int
ht_record_validate (const ht_record_t *self, const char **reason_p)
{
    const char *ignored;
    const char **reason = reason_p? reason_p: &ignored;
    int rc = s_check_header (self, reason);
    if (rc)
        return rc;
    const char *subtype = ht_record_subtype (self);
    for (size_t index = 0; index < self->kind->field_count; index++) {
        if (!ht_record__in_version (self, index))
            continue;               //  a later version's field: not required
        const ht_field_t *field = &self->kind->fields [index];
        const ht_field_slot_t *slot = &self->fields [index];
        bool used = ht_schema_field_in_subtype (field, subtype);
        const char *why = NULL;
        if (slot->state == HT_FIELD_PRESENT && !used) {
            *reason = ht_record__reason (self, field->name, "not used by this subtype");
            return HT_EFIELD;
        }
        if (slot->state == HT_FIELD_ABSENT && used && field->required
        &&  !self->deleted && (self->has_seed || !self->is_signed)) {
            *reason = ht_record__reason (self, field->name, "required");
            return HT_EREQUIRED;
        }
        if (slot->state == HT_FIELD_PRESENT && s_check_value (field, slot, &why)) {
            *reason = ht_record__reason (self, field->name, why);
            return HT_ESCHEMA;
        }
    }
    const char *why = NULL;
    if (self->kind->check && !self->deleted && self->kind->check (self, &why)) {
        *reason = ht_record__reason (self, self->kind->name, why);
        return HT_ESCHEMA;
    }
    return HT_OK;
}

//  Hash the canonical msgpack of each natural key field in turn (msgpack
//  values carry their own length, so no separator is needed)
static int
s_hash_key (ht_record_t *self, const uint8_t *idkey)
{
    crypto_generichash_state state;
    crypto_generichash_init (&state, idkey, idkey? HT_IDKEY_BYTES: 0, S_KEY_HASH_BYTES);
    for (const char *const *name = self->kind->key_fields; *name; name++) {
        int index = ht_schema_field_index (self->kind, *name);
        if (index < 0 || self->fields [index].state != HT_FIELD_PRESENT)
            return HT_EREQUIRED;
        const ht_field_slot_t *slot = &self->fields [index];
        crypto_generichash_update (&state, slot->value, slot->value_size);
    }
    uint8_t hash [S_KEY_HASH_BYTES];
    char hex [2 * S_KEY_HASH_BYTES + 1];
    crypto_generichash_final (&state, hash, S_KEY_HASH_BYTES);
    return ht_record_set_key (self, ht_hex_encode (hash, S_KEY_HASH_BYTES, hex));
}

//  region-serial, for entities with no natural key (a village point)
static int
s_fallback_key (ht_record_t *self)
{
    const char *serial = self->kind->key_fallback
                       ? ht_record_get_str (self, self->kind->key_fallback): NULL;
    if (!serial || !*self->region)
        return HT_EREQUIRED;
    char key [HT_KEY_MAX_CHARS + 2];
    snprintf (key, sizeof key, "%s-%s", self->region, serial);
    return ht_record_set_key (self, key);
}

int
ht_record_derive_key (ht_record_t *self, const uint8_t *idkey)
{
    switch (self->kind->key_rule) {
        case HT_KEY_GIVEN:
            return HT_EINVAL;
        case HT_KEY_HEX: {
            size_t size = 0;
            const uint8_t *bin = ht_record_get_bin (self, self->kind->key_fields [0], &size);
            char hex [2 * HT_PUBKEY_BYTES + 1];
            if (!bin || size != HT_PUBKEY_BYTES)
                return HT_EREQUIRED;
            return ht_record_set_key (self, ht_hex_encode (bin, size, hex));
        }
        case HT_KEY_KEYED_HASH:
            if (!idkey)
                return HT_EINVAL;
            return s_hash_key (self, idkey);
        case HT_KEY_HASH: {
            int rc = s_hash_key (self, NULL);
            return rc == HT_EREQUIRED && self->kind->key_fallback
                 ? s_fallback_key (self): rc;
        }
    }
    return HT_EINVAL;
}
