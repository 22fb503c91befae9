//  gen_draft: records as gen fills them in, and how they go out. The
//  setters note the first field that could not be set; gen_emit
//  completes and validates a draft as put will, and prints it as one
//  JSON line.
#include "gen.h"
#include "ht_record_complete.h"

#define S_MAX_SUBSET 16             //  largest table gen_subset draws from

//  Stands in for the network pseudonym key, which gen does not have: the
//  keys it derives are checked, then left out for put to derive again
static const uint8_t s_standin_idkey [HT_IDKEY_BYTES] = { 0 };

//  --------------------------------------------------------------------------
//  Output: one fwrite per line

int
gen_write_json (gen_out_t *self, const json_t *json)
{
    size_t size = json_dumpb (json, self->line, self->capacity, JSON_COMPACT);
    if (size + 1 > self->capacity) {
        char *line = (char *) realloc (self->line, size * 2);
        if (!line)
            return HT_ENOMEM;
        self->line = line;
        self->capacity = size * 2;
        size = json_dumpb (json, self->line, self->capacity, JSON_COMPACT);
    }
    if (size == 0)
        return HT_EINVAL;
    self->line [size] = '\n';
    return fwrite (self->line, 1, size + 1, stdout) == size + 1? HT_OK: HT_EIO;
}

//  --------------------------------------------------------------------------
//  Drafts: the setters note the first field that could not be set

void
gen_note (gen_draft_t *self, int rc, const char *name)
{
    if (rc && !self->failed)
        self->failed = name;
}

void
gen_str (gen_draft_t *self, const char *name, const char *value)
{
    gen_note (self, value? ht_record_set_str (self->record, name, value): HT_EFIELD, name);
}

void
gen_int (gen_draft_t *self, const char *name, int64_t value)
{
    gen_note (self, ht_record_set_int (self->record, name, value), name);
}

void
gen_day (gen_draft_t *self, const char *name, int32_t days)
{
    char text [GEN_DATE_BYTES];
    gen_str (self, name, gen_date (days, text));
}

void
gen_strs (gen_draft_t *self, const char *name, const char *const *items, size_t count)
{
    gen_note (self, ht_record_set_strs (self->record, name, items, count), name);
}

void
gen_header (gen_draft_t *self, const char *region, const char *scope)
{
    gen_note (self, ht_record_set_region (self->record, region), "region");
    gen_note (self, ht_record_set_scope (self->record, scope), "scope");
}

//  Set a list field to low..high distinct entries of a table
void
gen_subset (gen_draft_t *self, gen_rng_t *rng, const char *name, const char *const *table,
            size_t count, int low, int high)
{
    const char *items [S_MAX_SUBSET];
    assert (count <= S_MAX_SUBSET && (size_t) high <= count);
    memcpy (items, table, count * sizeof (char *));
    size_t wanted = (size_t) gen_range (rng, low, high);
    for (size_t index = 0; index < wanted; index++) {
        size_t other = index + gen_below (rng, (uint32_t) (count - index));
        const char *item = items [other];
        items [other] = items [index];
        items [index] = item;
    }
    gen_strs (self, name, items, wanted);
}

const char *
gen_choice (const char *kind, const char *field, size_t index, size_t count)
{
    const ht_kind_t *schema = ht_schema_kind (kind);
    int at = schema? ht_schema_field_index (schema, field): -1;
    const char *const *choices = at < 0? NULL: schema->fields [at].choices;
    size_t listed = 0;
    while (choices && choices [listed])
        listed++;
    return listed == count && index < count? choices [index]: NULL;
}

//  --------------------------------------------------------------------------
//  Printing

//  Complete and validate as put will (gen names every scope, so no
//  author's certificate is needed), then print without the key and hlc
//  put gives it. An invalid draft is a bug in gen.
int
gen_emit (gen_t *self, gen_draft_t *draft)
{
    ht_record_t *record = draft->record;
    const char *reason = draft->failed;
    int rc = reason? HT_EFIELD: HT_OK;
    ht_hlc_t clock = { .last = self->hlc };
    ht_complete_t context = { .idkey = s_standin_idkey, .clock = &clock };
    if (rc == HT_OK)
        rc = ht_record_complete (record, &context, &reason);
    if (rc) {
        fprintf (stderr, "hutong: gen: bug: generated an invalid %s: %s\n",
                 ht_record_kind (record), reason? reason: ht_strerror (rc));
        return HT_EXIT_ERROR;
    }
    json_t *json = ht_record_to_json (record);
    json_object_del (json, "key");
    json_object_del (json, "hlc");
    json_object_del (json, "deleted");
    rc = gen_write_json (&self->out, json);
    json_decref (json);
    return rc? ht_fail ("gen: writing standard output", rc): HT_EXIT_OK;
}
