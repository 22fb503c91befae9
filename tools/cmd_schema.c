//  hutong schema: the schema registry's tables, as text, JSON (for
//  clients in other languages, which read the tables rather than copy
//  them) or Markdown (docs/records.md §10 is this output; a test compares
//  the two).
#include "hutong.h"

#define S_RULE_CHARS 1024           //  longest rule text (choices included)

static const ht_option_t s_schema_options [] = {
    HT_OPTION_FLAG ("json", "print the tables as one JSON object"),
    HT_OPTION_FLAG ("markdown", "print the tables of docs/records.md section 10"),
    HT_OPTION_END
};

static const ht_command_spec_t s_schema_spec = {
    "hutong schema [--json | --markdown] [KIND]",
    "Print the schema registry: for each kind (or only KIND) its current\n"
    "schema version, the version new records are written in, how its key\n"
    "and default scope are made, and each field with its type, whether it\n"
    "is required, the subtypes using it, sensitivity, access group, whether\n"
    "it is indexed, the schema version that introduced it, and its limits,\n"
    "named rule and allowed values. --json is what clients in other\n"
    "languages read (integration/partner/hutong_client.py --schema).",
    s_schema_options
};

static const char *
s_key_rule_name (ht_key_rule_t rule)
{
    static const char *const names [] = { "given", "hash", "keyed_hash", "hex" };
    return rule <= HT_KEY_HEX? names [rule]: "?";
}

static const char *
s_scope_rule_name (ht_scope_rule_t rule)
{
    static const char *const names [] = { "region", "county", "author" };
    return rule <= HT_SCOPE_AUTHOR? names [rule]: "?";
}

//  Append formatted text to a fixed buffer, cutting at its end
static void
s_append (char *text, size_t size, const char *format, ...)
{
    size_t used = strlen (text);
    if (used + 1 >= size)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (text + used, size - used, format, args);
    va_end (args);
}

//  An integer bound, with the int64 ends written as powers of two
static void
s_append_bound (char *text, size_t size, int64_t value)
{
    if (value == INT64_MAX)
        s_append (text, size, "2^63-1");
    else
    if (value == INT64_MIN)
        s_append (text, size, "-2^63");
    else
        s_append (text, size, "%" PRId64, value);
}

//  A range "low..high unit", or "n unit" when both ends are equal
static void
s_append_range (char *text, size_t size, uint32_t low, uint32_t high, const char *unit)
{
    if (low == high)
        s_append (text, size, "%u %s", low, unit);
    else
        s_append (text, size, "%u..%u %s", low, high, unit);
}

//  The field's rule in words: limits, named check, allowed values
static const char *
s_rule_text (const ht_field_t *field, char *text, size_t size)
{
    text [0] = 0;
    switch (field->type) {
        case HT_TYPE_STR:
            s_append_range (text, size, field->min_chars, field->max_chars, "chars");
            break;
        case HT_TYPE_STRS:
            s_append_range (text, size, field->min_items, field->max_items, "items");
            s_append (text, size, ", each ");
            s_append_range (text, size, field->min_chars, field->max_chars, "chars");
            break;
        case HT_TYPE_INT:
            s_append_bound (text, size, field->min);
            s_append (text, size, " .. ");
            s_append_bound (text, size, field->max);
            break;
        case HT_TYPE_BOOL:
            s_append (text, size, "true or false");
            break;
        case HT_TYPE_BIN:
            s_append (text, size, "exactly %u bytes", field->bytes);
            break;
    }
    if (field->rule)
        s_append (text, size, "; %s", field->rule->label);
    for (const char *const *choice = field->choices; choice && *choice; choice++)
        s_append (text, size, "%s%s", choice == field->choices? "; one of: ": ", ", *choice);
    return text;
}

//  Subtypes as "a b", or "all"
static const char *
s_subtypes_text (const ht_field_t *field, char *text, size_t size)
{
    text [0] = 0;
    if (!field->subtypes)
        s_append (text, size, "all");
    for (const char *const *name = field->subtypes; name && *name; name++)
        s_append (text, size, "%s%s", name == field->subtypes? "": " ", *name);
    return text;
}

//  How the kind's key is made, as a sentence; quote marks field names
static const char *
s_key_text (const ht_kind_t *kind, const char *quote, char *text, size_t size)
{
    text [0] = 0;
    switch (kind->key_rule) {
        case HT_KEY_GIVEN: s_append (text, size, "named by the writer"); break;
        case HT_KEY_HASH: s_append (text, size, "hex (BLAKE2b-128 over"); break;
        case HT_KEY_KEYED_HASH:
            s_append (text, size, "hex (BLAKE2b-128 keyed with the idkey, over");
            break;
        case HT_KEY_HEX: s_append (text, size, "hex of"); break;
    }
    for (const char *const *name = kind->key_fields; name && *name; name++)
        s_append (text, size, "%s%s%s%s", name == kind->key_fields? " ": ", ",
                  quote, *name, quote);
    if (kind->key_rule == HT_KEY_HASH || kind->key_rule == HT_KEY_KEYED_HASH)
        s_append (text, size, ")");
    if (kind->key_fallback)
        s_append (text, size, "; without it, region-%s", kind->key_fallback);
    return text;
}

static const char *
s_scope_text (ht_scope_rule_t rule)
{
    return rule == HT_SCOPE_COUNTY? "the county of its region"
         : rule == HT_SCOPE_AUTHOR? "the signing key's certificate region"
         : "its own region";
}

//  --------------------------------------------------------------------------
//  JSON

//  A NULL-terminated list as a JSON array, or null
static json_t *
s_list_json (const char *const *list)
{
    if (!list)
        return json_null ();
    json_t *array = json_array ();
    for (; *list; list++)
        json_array_append_new (array, json_string (*list));
    return array;
}

static json_t *
s_field_json (const ht_field_t *field)
{
    json_t *json = json_pack ("{s:s, s:s, s:b, s:o, s:s, s:s, s:b, s:i, s:o, s:o}",
        "name", field->name, "type", ht_type_name (field->type),
        "required", field->required, "subtypes", s_list_json (field->subtypes),
        "sens", ht_sens_name (field->sens), "group", ht_group_name (field->group),
        "indexed", field->indexed, "since", field->since,
        "rule", field->rule? json_string (field->rule->name): json_null (),
        "choices", s_list_json (field->choices));
    //  Only the limits the type has
    if (field->type == HT_TYPE_STR || field->type == HT_TYPE_STRS) {
        json_object_set_new (json, "min_chars", json_integer (field->min_chars));
        json_object_set_new (json, "max_chars", json_integer (field->max_chars));
    }
    if (field->type == HT_TYPE_STRS) {
        json_object_set_new (json, "min_items", json_integer (field->min_items));
        json_object_set_new (json, "max_items", json_integer (field->max_items));
    }
    if (field->type == HT_TYPE_INT) {
        json_object_set_new (json, "min", json_integer (field->min));
        json_object_set_new (json, "max", json_integer (field->max));
    }
    if (field->type == HT_TYPE_BIN)
        json_object_set_new (json, "bytes", json_integer (field->bytes));
    return json;
}

static json_t *
s_kind_json (const ht_kind_t *kind)
{
    json_t *fields = json_array ();
    for (size_t index = 0; index < kind->field_count; index++)
        json_array_append_new (fields, s_field_json (&kind->fields [index]));
    return json_pack ("{s:s, s:i, s:i, s:o, s:s, s:s, s:o, s:o, s:o}",
        "name", kind->name, "version", kind->version,
        "write_version", ht_schema_write_version (kind),
        "subtype_field", kind->subtype_field? json_string (kind->subtype_field): json_null (),
        "scope_rule", s_scope_rule_name (kind->scope_rule),
        "key_rule", s_key_rule_name (kind->key_rule),
        "key_fields", s_list_json (kind->key_fields),
        "key_fallback", kind->key_fallback? json_string (kind->key_fallback): json_null (),
        "fields", fields);
}

//  --------------------------------------------------------------------------
//  Markdown and text

static void
s_print_markdown (const ht_kind_t *kind)
{
    char text [S_RULE_CHARS], subtypes [S_RULE_CHARS];
    printf ("#### `%s`\n\n", kind->name);
    printf ("Schema version %u. Key: %s. Default scope: %s.", kind->version,
            s_key_text (kind, "`", text, sizeof text), s_scope_text (kind->scope_rule));
    if (kind->subtype_field)
        printf (" Subtype field: `%s`.", kind->subtype_field);
    printf ("\n\n| # | field | type | required | subtypes | sens | group | indexed | since | rule |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t index = 0; index < kind->field_count; index++) {
        const ht_field_t *field = &kind->fields [index];
        printf ("| %zu | `%s` | %s | %s | %s | %s | %s | %s | %u | %s |\n", index, field->name,
                ht_type_name (field->type), field->required? "yes": "no",
                s_subtypes_text (field, subtypes, sizeof subtypes),
                ht_sens_name (field->sens), ht_group_name (field->group),
                field->indexed? "yes": "no", field->since,
                s_rule_text (field, text, sizeof text));
    }
}

static void
s_print_text (const ht_kind_t *kind)
{
    char text [S_RULE_CHARS], subtypes [S_RULE_CHARS];
    printf ("%s: schema version %u, written in %u; key %s; scope %s\n", kind->name,
            kind->version, ht_schema_write_version (kind), s_key_text (kind, "", text, sizeof text),
            s_scope_text (kind->scope_rule));
    printf ("  %-2s %-21s %-4s %-3s %-26s %-4s %-17s %-3s %-5s %s\n", "#", "FIELD", "TYPE",
            "REQ", "SUBTYPES", "SENS", "GROUP", "IDX", "SINCE", "RULE");
    for (size_t index = 0; index < kind->field_count; index++) {
        const ht_field_t *field = &kind->fields [index];
        printf ("  %-2zu %-21s %-4s %-3s %-26s %-4s %-17s %-3s %-5u %s\n", index, field->name,
                ht_type_name (field->type), field->required? "yes": "no",
                s_subtypes_text (field, subtypes, sizeof subtypes),
                ht_sens_name (field->sens), ht_group_name (field->group),
                field->indexed? "yes": "no", field->since,
                s_rule_text (field, text, sizeof text));
    }
}

int
ht_cmd_schema (int argc, char **argv)
{
    enum { JSON, MARKDOWN };
    const char *values [2];
    int first_arg, rc = ht_args_parse (&s_schema_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (values [JSON] && values [MARKDOWN])
        return ht_usage_error ("schema: --json and --markdown exclude each other");
    if (argc - first_arg > 1)
        return ht_usage_error ("schema: at most one KIND");
    const char *only = first_arg < argc? argv [first_arg]: NULL;
    if (only && !ht_schema_kind (only))
        return ht_usage_error ("schema: unknown kind '%s'", only);
    json_t *kinds = json_array ();
    bool first = true;
    for (size_t index = 0; index < ht_schema_kind_count (); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        if (only && !streq (kind->name, only))
            continue;
        if (values [JSON])
            json_array_append_new (kinds, s_kind_json (kind));
        else {
            if (!first)
                printf ("\n");
            if (values [MARKDOWN])
                s_print_markdown (kind);
            else
                s_print_text (kind);
        }
        first = false;
    }
    if (values [JSON]) {
        json_t *json = json_pack ("{s:i, s:o}", "format_version", HT_FORMAT_VERSION,
                                  "kinds", kinds);
        ht_print_json (json);
        json_decref (json);
    }
    else
        json_decref (kinds);
    return fflush (stdout) == 0? HT_EXIT_OK: ht_fail ("schema: writing standard output", HT_EIO);
}
