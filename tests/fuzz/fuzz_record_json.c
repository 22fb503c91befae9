//  fuzz_record_json: the JSON record reader, as `hutong put` and
//  `hutong verify` read each input line (json_loadb, then
//  ht_record_from_json). A draft is completed (key, scope, hlc) and
//  signed with community A's fixed key, as hutong put does; a signed
//  record is verified and validated.
//
//  Oracles beyond "no crash":
//  - what the reader accepts has a JSON form that is valid UTF-8 and
//    reads back as the same JSON (json_equal);
//  - a signed record (given or just signed) encodes, and the wire form
//    decodes to a record that encodes to the same bytes and has the same
//    JSON form: the two forms carry the same record;
//  - a record signed here verifies.
#include "ht_fuzz.h"
#include "ht_record_complete.h"

static ht_fuzz_pki_t *s_pki;

//  The JSON form reads back as itself
static void
s_check_json (const ht_record_t *record)
{
    char *text = ht_fuzz_json_dump (record);
    ht_record_t *again = ht_fuzz_json_read (text);
    char *text_again = ht_fuzz_json_dump (again);
    if (strcmp (text, text_again))
        HT_FUZZ_FAIL ("a record's JSON form changes when read back:\n%s\n%s", text, text_again);
    free (text_again);
    ht_record_destroy (&again);
    free (text);
}

//  The wire form carries the same record as the JSON form
static void
s_check_wire (const ht_record_t *record)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ht_fuzz_encode (record, &data, &size, "signed");
    ht_record_t *decoded = ht_fuzz_decode (data, size, "a record read from JSON, encoded");
    ht_fuzz_encode_same (decoded, data, size, "decoded");
    char *text = ht_fuzz_json_dump (record), *text_decoded = ht_fuzz_json_dump (decoded);
    if (strcmp (text, text_decoded))
        HT_FUZZ_FAIL ("a record's JSON form changes on the wire:\n%s\n%s", text, text_decoded);
    free (text);
    free (text_decoded);
    free (data);
    ht_record_destroy (&decoded);
}

//  Complete and sign a draft as hutong put does, with community A's key
static void
s_sign_draft (ht_record_t *draft)
{
    ht_hlc_t clock = { ht_hlc_make (HT_FUZZ_T0_MS + 10 * HT_FUZZ_DAY_MS, 0) };
    ht_complete_t context = {
        .idkey = s_pki->idkey,
        .author_region = s_pki->regions [HT_FUZZ_COMMUNITY_A_KEY],
        .clock = &clock
    };
    const char *reason = NULL;
    if (ht_record_complete (draft, &context, &reason))
        return;
    if (ht_record_validate (draft, &reason))
        HT_FUZZ_FAIL ("a completed draft fails validation: %s", reason? reason: "?");
    int rc = ht_record_sign (draft, s_pki->keys [HT_FUZZ_COMMUNITY_A_KEY]);
    if (rc)
        HT_FUZZ_FAIL ("a completed draft cannot be signed: %s", ht_strerror (rc));
    if ((rc = ht_record_verify (draft, &reason)))
        HT_FUZZ_FAIL ("a record signed here does not verify: %s", reason? reason: "?");
    s_check_json (draft);
    s_check_wire (draft);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    s_pki = ht_fuzz_initialize (argc, argv, true);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    ht_fuzz_random_reset (size);
    json_error_t json_error;
    json_t *json = json_loadb ((const char *) data, size, 0, &json_error);
    if (!json)
        return 0;
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_from_json (json, &error, &reason);
    json_decref (json);
    if (!record) {
        if (error == 0 || !reason)
            HT_FUZZ_FAIL ("the JSON reader failed without an error code and reason");
        return 0;
    }
    s_check_json (record);
    if (ht_record_is_signed (record)) {
        (void) ht_record_verify (record, &reason);
        (void) ht_record_validate (record, &reason);
        s_check_wire (record);
    }
    else
        s_sign_draft (record);
    ht_record_destroy (&record);
    return 0;
}
