//  ht_store_body: current records compact in their log entries (store
//  layout 10). The routing head in front of a record already holds its
//  kind and key (the entity key), its region and its scope; the record's
//  canonical map repeats all four, and names every item it has. A compact
//  body keeps only the values the head does not hold, in canonical order,
//  behind a bitmap of the items there (records.md section 5 lists them):
//
//      present(2, big-endian; bit i: the i-th of s_items' values) value...
//
//  Rebuilding the map from the head and those values gives back exactly
//  the bytes that were signed: names and the head's texts are written as
//  the canonical encoder writes them, and a body is made compact only if
//  it is exactly that shape (any other is stored whole, as before layout
//  10). For a batch-signed elder that is some 125 bytes less a record:
//  seven log entries to a page where six fitted.
#include <stdlib.h>
#include <string.h>
#include "ht_store_private.h"
#include "ht_codec.h"

//  Where an item's value comes from: the body, or one of the head's texts
typedef enum { S_BODY, S_KIND, S_KEY, S_REGION, S_SCOPE } s_from_t;

//  Every top-level item a record may have, in canonical (bytewise) order
typedef struct {
    const char *name;
    size_t name_size;
    s_from_t from;
} s_item_t;

#define S_ITEM(name, from) { name, sizeof name - 1, from }
static const s_item_t s_items [] = {
    S_ITEM ("author", S_BODY), S_ITEM ("b", S_BODY), S_ITEM ("del", S_BODY),
    S_ITEM ("f", S_BODY), S_ITEM ("hlc", S_BODY), S_ITEM ("key", S_KEY),
    S_ITEM ("kind", S_KIND), S_ITEM ("m", S_BODY), S_ITEM ("region", S_REGION),
    S_ITEM ("s", S_BODY), S_ITEM ("scope", S_SCOPE), S_ITEM ("seed", S_BODY),
    S_ITEM ("sig", S_BODY), S_ITEM ("suite", S_BODY), S_ITEM ("sv", S_BODY),
    S_ITEM ("v", S_BODY), S_ITEM ("w", S_BODY)
};
#define S_ITEMS (sizeof s_items / sizeof s_items [0])
#define S_HEAD_ITEMS 4              //  key, kind, region, scope
#define S_PRESENT_BYTES 2           //  the bitmap: 13 values
#define S_FIXMAP_MAX 15             //  larger maps have a 3-byte header
#define S_FIXSTR_MAX 31             //  longer texts a 2-byte one (up to 255)

//  The head's text for an item not in the body
static void
s_head_text (const ht_store_route_t *head, s_from_t from, const uint8_t **text, size_t *size)
{
    const uint8_t *nul = memchr (head->ekey, 0, head->ekey_size);
    size_t kind_size = nul? (size_t) (nul - head->ekey): head->ekey_size;
    switch (from) {
        case S_KIND:
            *text = head->ekey;
            *size = kind_size;
            break;
        case S_KEY:
            *text = head->ekey + kind_size + (nul != NULL);
            *size = head->ekey_size - kind_size - (nul != NULL);
            break;
        case S_REGION:
        case S_SCOPE:
            *text = (const uint8_t *) (from == S_REGION? head->region: head->scope);
            *size = strlen ((const char *) *text);
            break;
        default:
            *text = NULL;
            *size = 0;
    }
}

//  The canonical header of a str of size bytes (at most 255); its size
static size_t
s_str_header (size_t size, uint8_t header [2])
{
    if (size <= S_FIXSTR_MAX) {
        header [0] = (uint8_t) (0xa0 | size);
        return 1;
    }
    header [0] = 0xd9;
    header [1] = (uint8_t) size;
    return 2;
}

//  True if value (size bytes) is the canonical str of the head's text
static bool
s_is_head_text (const ht_store_route_t *head, s_from_t from, const uint8_t *value, size_t size)
{
    const uint8_t *text;
    size_t text_size;
    uint8_t header [2];
    s_head_text (head, from, &text, &text_size);
    if (text_size > 255)
        return false;
    size_t header_size = s_str_header (text_size, header);
    return size == header_size + text_size && memcmp (value, header, header_size) == 0
        && memcmp (value + header_size, text, text_size) == 0;
}

size_t
ht_store__body_compact (const ht_store_route_t *head, const uint8_t *body, size_t size,
                        uint8_t *out)
{
    //  The map's header, as the canonical encoder writes it for its count
    size_t count, at;
    if (size > 0 && (body [0] & 0xf0) == 0x80) {
        count = body [0] & 0x0f;
        at = 1;
    }
    else
    if (size >= 3 && body [0] == 0xde) {
        count = (size_t) ht_be_get (body + 1, 2);
        at = 3;
        if (count <= S_FIXMAP_MAX)
            return 0;
    }
    else
        return 0;
    unsigned present = 0, bit = 0, heads = 0;
    size_t used = S_PRESENT_BYTES, item = 0;
    for (size_t index = 0; index < count; index++) {
        //  The name: a fixstr, the table's next one (names strictly ascend)
        if (at >= size || (body [at] & 0xe0) != 0xa0)
            return 0;
        size_t name_size = body [at] & 0x1f;
        if (name_size > size - at - 1)
            return 0;
        const uint8_t *name = body + at + 1;
        for (; item < S_ITEMS; item++) {
            if (s_items [item].name_size == name_size
            &&  memcmp (s_items [item].name, name, name_size) == 0)
                break;
            bit += s_items [item].from == S_BODY;
        }
        if (item == S_ITEMS)
            return 0;
        at += 1 + name_size;
        size_t value_size = 0;
        if (ht_codec_scan_prefix (body + at, size - at, &value_size) != 0)
            return 0;
        if (s_items [item].from == S_BODY) {
            memcpy (out + used, body + at, value_size);
            used += value_size;
            present |= 1u << bit++;
        }
        else
        if (s_is_head_text (head, s_items [item].from, body + at, value_size))
            heads++;
        else
            return 0;
        at += value_size;
        item++;
    }
    if (at != size || heads != S_HEAD_ITEMS)
        return 0;
    ht_be_put (out, present, S_PRESENT_BYTES);
    return used;
}

//  The size of the record a compact body stands for
static size_t
s_whole_size (const ht_store_route_t *route, unsigned present)
{
    size_t count = 0, size = route->body_size - S_PRESENT_BYTES;
    unsigned bit = 0;
    for (size_t item = 0; item < S_ITEMS; item++) {
        const s_item_t *it = &s_items [item];
        if (it->from == S_BODY && !(present & (1u << bit++)))
            continue;
        count++;
        size += 1 + it->name_size;
        if (it->from != S_BODY) {
            const uint8_t *text;
            size_t text_size;
            uint8_t header [2];
            s_head_text (route, it->from, &text, &text_size);
            size += s_str_header (text_size, header) + text_size;
        }
    }
    return size + (count <= S_FIXMAP_MAX? 1: 3);
}

//  Write the record a compact body stands for into out (size bytes)
static int
s_rebuild (const ht_store_route_t *route, unsigned present, uint8_t *out, size_t size)
{
    size_t count = S_HEAD_ITEMS, used = 0, at = S_PRESENT_BYTES;
    for (unsigned bits = present; bits; bits &= bits - 1)
        count++;
    if (count <= S_FIXMAP_MAX)
        out [used++] = (uint8_t) (0x80 | count);
    else {
        out [used++] = 0xde;
        ht_be_put (out + used, count, 2);
        used += 2;
    }
    unsigned bit = 0;
    for (size_t item = 0; item < S_ITEMS; item++) {
        const s_item_t *it = &s_items [item];
        if (it->from == S_BODY && !(present & (1u << bit++)))
            continue;
        out [used++] = (uint8_t) (0xa0 | it->name_size);
        memcpy (out + used, it->name, it->name_size);
        used += it->name_size;
        if (it->from == S_BODY) {
            size_t value_size = 0;
            if (ht_codec_scan_prefix (route->body + at, route->body_size - at, &value_size)
            ||  value_size > size - used)
                return MDB_CORRUPTED;
            memcpy (out + used, route->body + at, value_size);
            used += value_size;
            at += value_size;
        }
        else {
            const uint8_t *text;
            size_t text_size;
            s_head_text (route, it->from, &text, &text_size);
            used += s_str_header (text_size, out + used);
            memcpy (out + used, text, text_size);
            used += text_size;
        }
    }
    return used == size && at == route->body_size? 0: MDB_CORRUPTED;
}

int
ht_store__bytes_get (const ht_store_route_t *route, ht_store_bytes_t *bytes)
{
    bytes->heap = NULL;
    if (!route->compact) {
        bytes->data = route->body;
        bytes->size = route->body_size;
        return 0;
    }
    bytes->data = NULL;
    bytes->size = 0;
    if (route->body_size < S_PRESENT_BYTES)
        return MDB_CORRUPTED;
    unsigned present = (unsigned) ht_be_get (route->body, S_PRESENT_BYTES);
    size_t size = s_whole_size (route, present);
    uint8_t *out = bytes->inline_bytes;
    if (size > sizeof bytes->inline_bytes && !(out = bytes->heap = malloc (size)))
        return ENOMEM;
    int rc = s_rebuild (route, present, out, size);
    if (rc) {
        ht_store__bytes_done (bytes);
        return rc;
    }
    bytes->data = out;
    bytes->size = size;
    return 0;
}

void
ht_store__bytes_done (ht_store_bytes_t *bytes)
{
    free (bytes->heap);
    bytes->heap = NULL;
    bytes->data = NULL;
    bytes->size = 0;
}
