//  ht_codec: the canonical msgpack rules in one place. Maps are written
//  with keys sorted bytewise, integers in their shortest form (msgpack-c's
//  packers choose it), and no floats anywhere in signed data. Readers
//  never trust input: every accessor checks the object's type.
#ifndef HT_CODEC_H_INCLUDED
#define HT_CODEC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "ht_error.h"

//  A growable output buffer with its packer. The first bytes go into the
//  packer itself (a field value, a record header, most records: no heap
//  at all); more move to the heap. Used where it was initialized: the
//  packer points at it, so it is never copied.
#define HT_PACKER_INLINE_BYTES 1024
typedef struct {
    msgpack_sbuffer buffer;         //  bytes written so far (data, size)
    msgpack_packer packer;          //  writes into buffer
    char inline_bytes [HT_PACKER_INLINE_BYTES];
} ht_packer_t;

//  Start an empty packer
void ht_packer_init (ht_packer_t *self);

//  Free the packer's buffer
void ht_packer_destroy (ht_packer_t *self);

//  Hand the bytes to the caller (malloc'd) and leave the packer empty
uint8_t *ht_packer_take (ht_packer_t *self, size_t *size);

//  Pack a NUL-terminated string as msgpack str
void ht_pack_cstr (msgpack_packer *packer, const char *text);

//  Pack bytes as msgpack bin
void ht_pack_bin (msgpack_packer *packer, const uint8_t *data, size_t size);

//  Append bytes that are already canonical msgpack (a stored field value)
void ht_pack_raw (msgpack_packer *packer, const uint8_t *data, size_t size);

//  Value of key in a msgpack map object, NULL if absent or not a map
const msgpack_object *ht_obj_get (const msgpack_object *map, const char *key);

//  Copy a str object into text (NUL-terminated); false if the object is
//  not a str, is not UTF-8 (ht_utf8_valid), holds a NUL byte, or does
//  not fit
bool ht_obj_cstr (const msgpack_object *object, char *text, size_t size);

//  Read an integer object; false if not an integer or out of int64 range
bool ht_obj_int (const msgpack_object *object, int64_t *value);

//  Read an unsigned integer object; false if not a non-negative integer
bool ht_obj_uint (const msgpack_object *object, uint64_t *value);

//  Read a bin object of exactly size bytes; false otherwise
bool ht_obj_bin (const msgpack_object *object, uint8_t *data, size_t size);

//  True if a str object equals a NUL-terminated text
bool ht_obj_str_eq (const msgpack_object *object, const char *text);

//  Big-endian integers of width bytes (1..8), the one codec for them: the
//  store's keys and values, msgpack's length prefixes
uint64_t ht_be_get (const uint8_t *data, size_t width);
void ht_be_put (uint8_t *data, uint64_t value, size_t width);

#endif

//  Walk msgpack bytes without allocating and check that every declared
//  length and element count fits in the bytes that remain, so a hostile
//  4-byte header cannot make the unpacker reserve gigabytes. Returns 0,
//  HT_ETRUNCATED (data ends early) or HT_EMALFORMED (bad byte, trailing
//  bytes after one object).
int ht_codec_scan (const uint8_t *data, size_t size);

//  Same for the first object of a stream: *consumed receives its length
int ht_codec_scan_prefix (const uint8_t *data, size_t size, size_t *consumed);
