//  ht_codec: canonical msgpack helpers.
#include <stdlib.h>
#include <string.h>
#include "ht_codec.h"
#include "ht_valid.h"

//  The packer's writer: into the inline bytes, then the heap; false
//  (msgpack's -1) if memory runs out
static int
s_packer_write (void *data, const char *bytes, size_t size)
{
    ht_packer_t *self = (ht_packer_t *) data;
    msgpack_sbuffer *buffer = &self->buffer;
    if (size > buffer->alloc - buffer->size) {
        if (size > SIZE_MAX / 2 - buffer->size)
            return -1;
        size_t alloc = buffer->alloc * 2;
        if (alloc < buffer->size + size)
            alloc = buffer->size + size;
        char *grown = buffer->data == self->inline_bytes? malloc (alloc)
                                                         : realloc (buffer->data, alloc);
        if (!grown)
            return -1;
        if (buffer->data == self->inline_bytes)
            memcpy (grown, buffer->data, buffer->size);
        buffer->data = grown;
        buffer->alloc = alloc;
    }
    memcpy (buffer->data + buffer->size, bytes, size);
    buffer->size += size;
    return 0;
}

void
ht_packer_init (ht_packer_t *self)
{
    self->buffer.data = self->inline_bytes;
    self->buffer.size = 0;
    self->buffer.alloc = HT_PACKER_INLINE_BYTES;
    msgpack_packer_init (&self->packer, self, s_packer_write);
}

void
ht_packer_destroy (ht_packer_t *self)
{
    if (self->buffer.data != self->inline_bytes)
        free (self->buffer.data);
    ht_packer_init (self);
}

uint8_t *
ht_packer_take (ht_packer_t *self, size_t *size)
{
    *size = self->buffer.size;
    uint8_t *bytes = NULL;
    if (self->buffer.data != self->inline_bytes)
        bytes = (uint8_t *) self->buffer.data;
    else
    if ((bytes = malloc (self->buffer.size? self->buffer.size: 1)) != NULL)
        memcpy (bytes, self->buffer.data, self->buffer.size);
    ht_packer_init (self);
    return bytes;
}

void
ht_pack_cstr (msgpack_packer *packer, const char *text)
{
    msgpack_pack_str_with_body (packer, text, strlen (text));
}

void
ht_pack_bin (msgpack_packer *packer, const uint8_t *data, size_t size)
{
    msgpack_pack_bin_with_body (packer, data, size);
}

void
ht_pack_raw (msgpack_packer *packer, const uint8_t *data, size_t size)
{
    packer->callback (packer->data, (const char *) data, size);
}

const msgpack_object *
ht_obj_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object_kv *pair = &map->via.map.ptr [index];
        if (ht_obj_str_eq (&pair->key, key))
            return &pair->val;
    }
    return NULL;
}

bool
ht_obj_str_eq (const msgpack_object *object, const char *text)
{
    size_t length = strlen (text);
    return object->type == MSGPACK_OBJECT_STR
        && object->via.str.size == length
        && memcmp (object->via.str.ptr, text, length) == 0;
}

bool
ht_obj_cstr (const msgpack_object *object, char *text, size_t size)
{
    if (object->type != MSGPACK_OBJECT_STR || object->via.str.size >= size)
        return false;
    //  An empty str may carry a NULL pointer: never hand it to memchr
    if (object->via.str.size == 0) {
        *text = 0;
        return true;
    }
    //  Text that is not UTF-8 is refused here, where it enters: a reader
    //  could not show it, and JSON (jansson) cannot carry it at all
    if (!ht_utf8_valid (object->via.str.ptr, object->via.str.size))
        return false;
    memcpy (text, object->via.str.ptr, object->via.str.size);
    text [object->via.str.size] = 0;
    return true;
}

bool
ht_obj_int (const msgpack_object *object, int64_t *value)
{
    if (object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *value = object->via.i64;
        return true;
    }
    if (object->type == MSGPACK_OBJECT_POSITIVE_INTEGER
    &&  object->via.u64 <= (uint64_t) INT64_MAX) {
        *value = (int64_t) object->via.u64;
        return true;
    }
    return false;
}

bool
ht_obj_uint (const msgpack_object *object, uint64_t *value)
{
    if (object->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *value = object->via.u64;
    return true;
}

bool
ht_obj_bin (const msgpack_object *object, uint8_t *data, size_t size)
{
    if (object->type != MSGPACK_OBJECT_BIN || object->via.bin.size != size)
        return false;
    if (size)                       //  empty bin: ptr may be NULL
        memcpy (data, object->via.bin.ptr, size);
    return true;
}

uint64_t
ht_be_get (const uint8_t *data, size_t width)
{
    uint64_t value = 0;
    for (size_t index = 0; index < width; index++)
        value = (value << 8) | data [index];
    return value;
}

void
ht_be_put (uint8_t *data, uint64_t value, size_t width)
{
    for (size_t index = width; index-- > 0;) {
        data [index] = (uint8_t) (value & 0xff);
        value >>= 8;
    }
}

//  Size of the header at data (type byte and length bytes), the payload
//  bytes that follow, and the element count it opens (maps count twice).
//  Returns false for the one invalid type byte 0xc1.
static bool
s_scan_header (const uint8_t *data, size_t *header, uint64_t *payload,
               uint64_t *elements)
{
    uint8_t byte = data [0];
    *header = 1; *payload = 0; *elements = 0;
    if (byte <= 0x7f || byte >= 0xe0 || byte == 0xc0 || byte == 0xc2 || byte == 0xc3)
        return true;
    if (byte >= 0x80 && byte <= 0x8f) { *elements = 2 * (byte & 0x0f); return true; }
    if (byte >= 0x90 && byte <= 0x9f) { *elements = byte & 0x0f; return true; }
    if (byte >= 0xa0 && byte <= 0xbf) { *payload = byte & 0x1f; return true; }
    switch (byte) {
        case 0xc4: case 0xd9: *header = 2; break;           //  bin8, str8
        case 0xc5: case 0xda: *header = 3; break;           //  bin16, str16
        case 0xc6: case 0xdb: *header = 5; break;           //  bin32, str32
        case 0xc7: *header = 2; *payload = 1; break;        //  ext8 (+type)
        case 0xc8: *header = 3; *payload = 1; break;
        case 0xc9: *header = 5; *payload = 1; break;
        case 0xca: *payload = 4; return true;               //  float32
        case 0xcb: *payload = 8; return true;               //  float64
        case 0xcc: case 0xd0: *payload = 1; return true;
        case 0xcd: case 0xd1: *payload = 2; return true;
        case 0xce: case 0xd2: *payload = 4; return true;
        case 0xcf: case 0xd3: *payload = 8; return true;
        case 0xd4: *payload = 2; return true;               //  fixext 1
        case 0xd5: *payload = 3; return true;
        case 0xd6: *payload = 5; return true;
        case 0xd7: *payload = 9; return true;
        case 0xd8: *payload = 17; return true;
        case 0xdc: *header = 3; *elements = 1; break;       //  array16
        case 0xdd: *header = 5; *elements = 1; break;       //  array32
        case 0xde: *header = 3; *elements = 2; break;       //  map16
        case 0xdf: *header = 5; *elements = 2; break;       //  map32
        default: return false;
    }
    return true;
}

int
ht_codec_scan (const uint8_t *data, size_t size)
{
    size_t consumed = 0;
    int rc = ht_codec_scan_prefix (data, size, &consumed);
    return rc? rc: consumed == size? HT_OK: HT_EMALFORMED;
}

int
ht_codec_scan_prefix (const uint8_t *data, size_t size, size_t *consumed)
{
    uint64_t pending = 1;           //  objects still to read
    size_t offset = 0;
    while (pending > 0) {
        if (offset >= size)
            return HT_ETRUNCATED;
        size_t header;
        uint64_t payload, elements;
        if (!s_scan_header (data + offset, &header, &payload, &elements))
            return HT_EMALFORMED;
        if (header > size - offset)
            return HT_ETRUNCATED;
        if (header > 1) {
            //  Length-prefixed: the length bytes give the payload or count
            uint64_t length = ht_be_get (data + offset + 1, header - 1);
            if (elements)
                elements *= length;
            else
                payload += length;
        }
        offset += header;
        if (payload > size - offset)
            return HT_ETRUNCATED;
        offset += (size_t) payload;
        pending = pending - 1 + elements;
        //  Every element takes at least one byte
        if (pending > size - offset)
            return HT_ETRUNCATED;
    }
    *consumed = offset;
    return HT_OK;
}
