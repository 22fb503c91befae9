//  hutong verify: check records from JSON lines or a msgpack stream, full
//  or redacted — signature, field digests, schema, and with --store the
//  author's certificate chain. Records signed in a batch (format 3) are
//  checked the same way, each alone; a batch's root signature is checked
//  once for all the records of it that come in.
#include "hutong.h"
#include "ht_codec.h"

static const ht_option_t s_verify_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "also check each author's chain against this store"),
    HT_OPTION_TEXT ("format", "FMT", "auto (default), json or msgpack"),
    HT_OPTION_FLAG ("json", "one JSON result line per record"),
    HT_OPTION_FLAG ("quiet", "print nothing; the exit code tells"),
    HT_OPTION_END
};

static const ht_command_spec_t s_verify_spec = {
    "hutong verify [--store DIR] [--format FMT] [--json] [FILE...]",
    "Verify records, full or redacted, from JSON lines or concatenated\n"
    "msgpack (FILEs or standard input). Each record's signature is checked\n"
    "over every field digest, so a redacted record verifies without its\n"
    "withheld values. A record signed in a batch is checked through its proof\n"
    "of inclusion, each batch root's signature once. The summary counts\n"
    "batch-signed records and the Ed25519 checks made. Exit 0 if every record\n"
    "is valid, 1 if any is not (each is named with the reason), 3 if the\n"
    "input cannot be read.",
    s_verify_options
};

typedef struct {
    ht_store_t *store;              //  for chains, or NULL
    bool json;                      //  JSON result lines
    bool quiet;                     //  no output at all
    size_t records;                 //  records seen
    size_t invalid;                 //  records refused
    size_t batch_signed;            //  records signed in a batch
    ht_record_roots_t *roots;       //  batch roots checked so far
} s_verify_t;

//  Check one record; returns 0 or the first error, with the reason
static int
s_check (s_verify_t *self, const ht_record_t *record, const char **reason)
{
    int rc = ht_record_verify_with (record, self->roots, reason);
    if (rc == HT_EBADSIG) {
        //  A signature alone cannot say which field was edited; a schema
        //  check often can, so say that too when it finds something
        const char *schema_reason = NULL;
        if (ht_record_validate (record, &schema_reason))
            *reason = schema_reason;
    }
    if (!rc)
        rc = ht_record_validate (record, reason);
    if (!rc && self->store)
        rc = ht_cert_authorize (record, ht_store_anchor (self->store),
                                ht_store_certsource (self->store), reason);
    return rc;
}

//  Report one record's verdict
static void
s_report (s_verify_t *self, const ht_record_t *record, int code, const char *reason)
{
    self->records++;
    if (code)
        self->invalid++;
    if (record && ht_record_batch (record, NULL, NULL))
        self->batch_signed++;
    if (self->quiet)
        return;
    const char *kind = record? ht_record_kind (record): "?";
    const char *key = record? ht_record_key (record): "?";
    if (self->json) {
        json_t *json = json_pack ("{s:I, s:s, s:s, s:b}", "record", (json_int_t) self->records,
                                  "kind", kind, "key", key, "valid", code == 0);
        size_t index, size;
        uint8_t root [HT_DIGEST_BYTES];
        char root_hex [2 * HT_DIGEST_BYTES + 1];
        if (record && ht_record_batch (record, &index, &size))
            json_object_set_new (json, "batch", json_pack ("{s:I, s:I}", "index",
                                 (json_int_t) index, "size", (json_int_t) size));
        if (record && ht_record_batch_root (record, root) == HT_OK)
            json_object_set_new (json_object_get (json, "batch"), "root",
                                 json_string (ht_hex_encode (root, HT_DIGEST_BYTES, root_hex)));
        if (code) {
            json_object_set_new (json, "error", json_string (ht_errname (code)));
            json_object_set_new (json, "reason", json_string (reason? reason: ht_strerror (code)));
        }
        ht_print_json (json);
        json_decref (json);
    }
    else
    if (code)
        printf ("record %zu (%s %s): INVALID: %s: %s\n", self->records, kind, key,
                ht_errname (code), reason? reason: ht_strerror (code));
}

//  Verify a JSON-lines buffer
static void
s_verify_json (s_verify_t *self, const char *data, size_t size)
{
    const char *line = data, *end = data + size;
    while (line < end) {
        const char *next = memchr (line, '\n', (size_t) (end - line));
        size_t length = next? (size_t) (next - line): (size_t) (end - line);
        if (length > 0 && strspn (line, " \t\r") < length) {
            json_error_t json_error;
            json_t *json = json_loadb (line, length, 0, &json_error);
            int code = json? 0: HT_EMALFORMED;
            const char *reason = json? NULL: json_error.text;
            ht_record_t *record = json? ht_record_from_json (json, &code, &reason): NULL;
            if (record && !ht_record_is_signed (record)) {
                code = HT_EBADSIG;
                reason = "record is not signed (a draft?)";
            }
            else
            if (record)
                code = s_check (self, record, &reason);
            s_report (self, record, code, reason);
            ht_record_destroy (&record);
            json_decref (json);
        }
        line += length + 1;
    }
}

//  Verify a stream of concatenated msgpack records
static void
s_verify_msgpack (s_verify_t *self, const uint8_t *data, size_t size)
{
    size_t offset = 0;
    while (offset < size) {
        size_t length = 0;
        int code = ht_codec_scan_prefix (data + offset, size - offset, &length);
        if (code) {
            s_report (self, NULL, code, "the msgpack stream is damaged here; stopping");
            return;
        }
        const char *reason = NULL;
        ht_record_t *record = ht_record_decode (data + offset, length, &code, &reason);
        if (record)
            code = s_check (self, record, &reason);
        s_report (self, record, code, reason);
        ht_record_destroy (&record);
        offset += length;
    }
}

//  Read a whole file (or stdin) into memory
static char *
s_slurp (FILE *input, size_t *size)
{
    size_t capacity = 65536, used = 0;
    char *data = (char *) malloc (capacity);
    size_t got;
    while ((got = fread (data + used, 1, capacity - used, input)) > 0) {
        used += got;
        if (used == capacity)
            data = (char *) realloc (data, capacity *= 2);
    }
    *size = used;
    return data;
}

//  Verify one input in the given format
static int
s_verify_input (s_verify_t *self, FILE *input, const char *format)
{
    size_t size;
    char *data = s_slurp (input, &size);
    if (ferror (input)) {
        free (data);
        return HT_EIO;
    }
    size_t skip = 0;
    while (skip < size && strchr (" \t\r\n", data [skip]))
        skip++;
    bool json = streq (format, "json") || (streq (format, "auto") && skip < size && data [skip] == '{');
    if (json)
        s_verify_json (self, data, size);
    else
        s_verify_msgpack (self, (const uint8_t *) data, size);
    free (data);
    return 0;
}

int
ht_cmd_verify (int argc, char **argv)
{
    enum { STORE, FORMAT, JSON, QUIET };
    const char *values [4];
    int first_arg, rc = ht_args_parse (&s_verify_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    const char *format = values [FORMAT]? values [FORMAT]: "auto";
    if (!streq (format, "auto") && !streq (format, "json") && !streq (format, "msgpack"))
        return ht_usage_error ("verify: --format must be auto, json or msgpack");
    s_verify_t self = { .json = values [JSON] != NULL, .quiet = values [QUIET] != NULL,
                        .roots = ht_record_roots_new (256) };
    if (values [STORE] && !(self.store = ht_open_store (values [STORE])))
        return HT_EXIT_ERROR;
    for (int arg = first_arg; rc == 0 && (arg < argc || arg == first_arg); arg++) {
        bool use_stdin = arg >= argc || streq (argv [arg], "-");
        FILE *input = use_stdin? stdin: fopen (argv [arg], "rb");
        if (!input) {
            fprintf (stderr, "hutong: verify: cannot read %s: %s\n", argv [arg], strerror (errno));
            rc = HT_EIO;
            break;
        }
        rc = s_verify_input (&self, input, format);
        if (!use_stdin)
            fclose (input);
    }
    ht_store_destroy (&self.store);
    uint64_t checks = self.roots? ht_record_roots_checks (self.roots): 0;
    ht_record_roots_destroy (&self.roots);
    if (rc)
        return ht_fail ("verify", rc);
    if (!self.quiet && !self.json)
        printf ("{\"records\":%zu,\"valid\":%zu,\"invalid\":%zu,\"batch_signed\":%zu,"
                "\"signature_checks\":%" PRIu64 "}\n", self.records,
                self.records - self.invalid, self.invalid, self.batch_signed, checks);
    return self.invalid? HT_EXIT_INVALID: HT_EXIT_OK;
}
