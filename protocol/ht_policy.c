//  ht_policy: read policies as data (DOMAIN.md §6), and the redactor.
#include <czmq.h>
#include "ht_policy.h"
#include "ht_valid.h"

#define N HT_ACCESS_NONE
#define A HT_ACCESS_COUNT
#define M HT_ACCESS_MASKED
#define F HT_ACCESS_FULL

//  Columns: public, facility_internal, credit_internal, identity, id_no,
//  categories, ability, subsidy. Emergency management gets counts only
//  outside a declared emergency (PIPL Art. 13(4) widens it then).
static const ht_policy_t s_policies [] = {
    { "full",              "everything (node operators)",      { F, F, F, F, F, F, F, F } },
    { "civil_affairs",     "民政 civil affairs",                { F, F, F, F, F, F, F, F } },
    { "health",            "卫健 health",                       { F, F, M, F, F, M, F, N } },
    { "market_regulation", "市场监管 market regulation",        { F, F, M, N, N, N, N, N } },
    { "fire",              "消防 fire and rescue",              { F, F, M, A, N, N, A, N } },
    { "medical_insurance", "医保 medical insurance",            { F, F, M, F, F, M, F, N } },
    { "emergency",         "应急 emergency management",         { F, F, M, A, N, A, A, N } },
    { "finance",           "财政 finance",                      { F, F, M, M, M, M, M, F } },
    { "partner",           "integration partner (own orders)",  { F, N, N, M, N, N, M, N } },
    { "public",            "the public",                        { F, N, N, N, N, N, N, N } },
};

#undef N
#undef A
#undef M
#undef F

#define S_POLICY_COUNT (sizeof (s_policies) / sizeof (s_policies [0]))

const ht_policy_t *
ht_policy_find (const char *name)
{
    for (size_t index = 0; index < S_POLICY_COUNT; index++)
        if (streq (s_policies [index].name, name))
            return &s_policies [index];
    return NULL;
}

const ht_policy_t *
ht_policy_at (size_t index)
{
    return index < S_POLICY_COUNT? &s_policies [index]: NULL;
}

const char *
ht_policy_mask_text (const char *text, char *mask, size_t size)
{
    if (size == 0)
        return mask;
    //  Count characters (input was validated as UTF-8 on the way in);
    //  every one is counted, so the tail is the text's true tail
    size_t count = 0, length = strlen (text);
    for (size_t offset = 0; offset < length;
         offset += ht_utf8_char_bytes ((unsigned char) text [offset]))
        count++;
    //  ID numbers keep 6 + 4 (441802********0317), phones 3 + 4
    //  (138****5678); shorter texts only their first half (1940****)
    size_t head = count >= 15? 6: count >= 11? 3: count / 2;
    size_t tail = count >= 11? 4: 0;
    if (count <= 1)
        head = 0;
    size_t used = 0, offset = 0;
    for (size_t index = 0; index < count && used + 5 < size; index++) {
        size_t width = ht_utf8_char_bytes ((unsigned char) text [offset]);
        if (width > length - offset)
            width = length - offset;
        if (index < head || index >= count - tail) {
            memcpy (mask + used, text + offset, width);
            used += width;
        }
        else
            mask [used++] = '*';
        offset += width;
    }
    mask [used] = 0;
    return mask;
}


ht_record_t *
ht_policy_redact (const ht_policy_t *policy, const ht_record_t *record, int *error_p)
{
    int ignored;
    int *error = error_p? error_p: &ignored;
    const ht_kind_t *kind = ht_record_schema (record);
    const char *disclose [HT_FIELD_MAX_COUNT];
    size_t disclosed = 0, visible = 0, fields = 0;
    uint16_t version = ht_record_schema_version (record);
    for (size_t index = 0; index < kind->field_count; index++) {
        if (!ht_schema_field_in_version (&kind->fields [index], version))
            continue;               //  the record has no such field
        fields++;
        ht_access_t access = policy->access [kind->fields [index].group];
        if (access == HT_ACCESS_FULL)
            disclose [disclosed++] = kind->fields [index].name;
        if (access >= HT_ACCESS_MASKED)
            visible++;
    }
    if (visible == 0) {
        *error = HT_EPOLICY;
        return NULL;
    }
    ht_record_t *copy = disclosed == fields
                      ? ht_record_dup (record)
                      : ht_record_redact (record, disclose, disclosed);
    for (size_t index = 0; copy && index < kind->field_count; index++) {
        const ht_field_t *field = &kind->fields [index];
        const char *text = ht_record_get_str (record, field->name);
        //  A mask of a short value would show most of it ("a*****" for
        //  active, "张*"): short values stay withheld without one
        if (policy->access [field->group] == HT_ACCESS_MASKED && text
        &&  ht_utf8_chars (text) >= HT_POLICY_MASK_MIN_CHARS) {
            char mask [256];
            ht_policy_mask_text (text, mask, sizeof mask);
            if (ht_record_set_mask (copy, field->name, mask))
                ht_record_destroy (&copy);
        }
    }
    *error = copy? HT_OK: HT_EINVAL;
    return copy;
}
