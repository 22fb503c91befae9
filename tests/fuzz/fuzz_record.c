//  fuzz_record: a record's msgpack wire form (ht_record_decode), as a
//  node receives it from a peer, then everything done with what decodes:
//  verification, validation, redaction and the JSON form.
//
//  Oracles beyond "no crash":
//  - a record that decodes encodes to exactly the same bytes (the
//    canonical form is the only form), and so does its copy;
//  - ht_record_peek reads the same header without building the record;
//  - its JSON form is valid UTF-8, parses back (jansson), and the record
//    parsed from it encodes to the same bytes again: JSON carries every
//    item (nothing dropped, nothing changed);
//  - a redacted copy has the same digest and verifies exactly when the
//    record does, and survives its own wire round trip;
//  - its body, compact under the routing head a store writes for it
//    (store layout 10), rebuilds to exactly its bytes, and a compact body
//    cut short, or under another head, never rebuilds to them.
#include "ht_fuzz.h"
#include "ht_store_private.h"

//  Fields to disclose in the redacted copy: a subset chosen by the input
static size_t
s_pick_fields (const ht_record_t *record, const uint8_t *data, size_t size,
               const char **names)
{
    const ht_kind_t *kind = ht_record_schema (record);
    uint8_t pick = size? data [size / 2]: 0;
    size_t count = 0;
    for (size_t index = 0; index < kind->field_count; index++)
        if (pick & (1u << (index % 8)))
            names [count++] = kind->fields [index].name;
    return count;
}

//  The JSON form parses back into the same record
static void
s_check_json (const ht_record_t *record, const uint8_t *data, size_t size)
{
    char *text = ht_fuzz_json_dump (record);
    ht_record_t *parsed = ht_fuzz_json_read (text);
    ht_fuzz_encode_same (parsed, data, size, "read back from its JSON form");
    ht_record_destroy (&parsed);
    free (text);
}

//  A redacted copy keeps the digest and the verdict of the signature
static void
s_check_redaction (const ht_record_t *record, const uint8_t *data, size_t size,
                   int verified)
{
    const char *names [HT_FIELD_MAX_COUNT];
    size_t count = s_pick_fields (record, data, size, names);
    ht_record_t *redacted = ht_record_redact (record, names, count);
    if (!redacted)
        HT_FUZZ_FAIL ("a decoded record cannot be redacted");
    uint8_t digest [HT_DIGEST_BYTES], redacted_digest [HT_DIGEST_BYTES];
    if (ht_record_digest (record, digest) || ht_record_digest (redacted, redacted_digest))
        HT_FUZZ_FAIL ("a decoded record or its redacted copy has no digest");
    if (memcmp (digest, redacted_digest, HT_DIGEST_BYTES))
        HT_FUZZ_FAIL ("redaction changed the record's digest");
    const char *reason = NULL;
    int redacted_verified = ht_record_verify (redacted, &reason);
    if ((verified == 0) != (redacted_verified == 0))
        HT_FUZZ_FAIL ("the record %s but its redacted copy %s",
                      verified? "fails": "verifies", redacted_verified? "fails": "verifies");
    uint8_t *encoded = NULL;
    size_t encoded_size = 0;
    ht_fuzz_encode (redacted, &encoded, &encoded_size, "redacted");
    ht_record_t *decoded = ht_fuzz_decode (encoded, encoded_size, "a redacted copy");
    if (ht_record_digest (decoded, redacted_digest)
    ||  memcmp (digest, redacted_digest, HT_DIGEST_BYTES))
        HT_FUZZ_FAIL ("a redacted copy's digest changed on the wire");
    s_check_json (decoded, encoded, encoded_size);
    ht_record_destroy (&decoded);
    free (encoded);
    ht_record_destroy (&redacted);
}

//  The compact form a store keeps gives back the bytes as signed
static void
s_check_compact (const ht_record_t *record, const uint8_t *data, size_t size)
{
    uint8_t ekey [HT_STORE_ENTITY_KEY_BYTES];
    ht_store_route_t head;
    memset (&head, 0, sizeof head);
    head.ekey_size = ht_store__entity_key (ht_record_kind (record), ht_record_key (record), ekey);
    if (head.ekey_size == 0)
        return;                     //  a key no store files
    head.ekey = ekey;
    snprintf (head.region, HT_REGION_BYTES, "%s", ht_record_region (record));
    snprintf (head.scope, HT_REGION_BYTES, "%s", ht_record_scope (record));
    uint8_t *compact = (uint8_t *) malloc (size);
    if (!compact)
        HT_FUZZ_FAIL ("out of memory");
    size_t compact_size = ht_store__body_compact (&head, data, size, compact);
    if (compact_size == 0) {
        free (compact);
        return;                     //  stored whole
    }
    if (compact_size >= size)
        HT_FUZZ_FAIL ("a compact body (%zu bytes) is not smaller than its record (%zu)",
                      compact_size, size);
    ht_store_route_t stored = head;
    stored.body = compact;
    stored.body_size = compact_size;
    stored.compact = true;
    ht_store_bytes_t whole;
    if (ht_store__bytes_get (&stored, &whole))
        HT_FUZZ_FAIL ("a compact body does not rebuild");
    if (whole.size != size || memcmp (whole.data, data, size))
        HT_FUZZ_FAIL ("a compact body rebuilds to other bytes (%zu, not %zu)", whole.size, size);
    ht_store__bytes_done (&whole);
    //  Cut short, it rebuilds to nothing or to other bytes, never these
    stored.body_size = compact_size - 1;
    if (ht_store__bytes_get (&stored, &whole) == 0) {
        if (whole.size == size && !memcmp (whole.data, data, size))
            HT_FUZZ_FAIL ("a compact body cut short rebuilds to the whole record");
        ht_store__bytes_done (&whole);
    }
    //  Under another region, it is another record
    stored.body_size = compact_size;
    stored.region [0] = stored.region [0] == '4'? '5': '4';
    if (ht_store__bytes_get (&stored, &whole) == 0) {
        if (whole.size == size && !memcmp (whole.data, data, size))
            HT_FUZZ_FAIL ("a compact body rebuilds to the same record under another head");
        ht_store__bytes_done (&whole);
    }
    free (compact);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    ht_fuzz_initialize (argc, argv, false);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    ht_fuzz_random_reset (size);
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_decode (data, size, &error, &reason);
    if (!record) {
        if (error == 0 || !reason)
            HT_FUZZ_FAIL ("decoding failed without an error code and reason");
        return 0;
    }
    ht_fuzz_encode_same (record, data, size, "decoded");
    ht_record_t *copy = ht_record_dup (record);
    if (!copy)
        HT_FUZZ_FAIL ("a decoded record cannot be copied");
    ht_fuzz_encode_same (copy, data, size, "copy");
    ht_record_destroy (&copy);

    ht_record_head_t head;
    if (ht_record_peek (data, size, &head) != HT_OK)
        HT_FUZZ_FAIL ("a record decodes but its header does not peek");
    if (strcmp (head.kind, ht_record_kind (record)) || strcmp (head.key, ht_record_key (record))
    ||  strcmp (head.region, ht_record_region (record))
    ||  strcmp (head.scope, ht_record_scope (record)) || head.hlc != ht_record_hlc (record))
        HT_FUZZ_FAIL ("peek and decode disagree on the header");

    int verified = ht_record_verify (record, &reason);
    const char *why = NULL;
    (void) ht_record_validate (record, &why);
    uint8_t root [HT_DIGEST_BYTES];
    if (ht_record_batch (record, NULL, NULL))
        (void) ht_record_batch_root (record, root);
    if (ht_record_is_full (record)) {
        const char *subtype = ht_record_subtype (record);
        (void) subtype;
    }
    s_check_json (record, data, size);
    s_check_redaction (record, data, size, verified);
    s_check_compact (record, data, size);
    ht_record_destroy (&record);
    return 0;
}
