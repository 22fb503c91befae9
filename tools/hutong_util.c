//  hutong_util: option parsing, errors and output shared by subcommands.
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include "hutong.h"
#include "ht_roff.h"
#include "ht_valid.h"

#define S_MAX_OPTIONS 32
#define S_MS_PER_SECOND 1000

//  How a value fared against its option's type
typedef enum {
    S_VALUE_OK,                     //  fits; the number is filled in
    S_VALUE_MALFORMED,              //  not of the type at all
    S_VALUE_OUT_OF_RANGE            //  of the type, but outside the bounds
} s_verdict_t;

//  --------------------------------------------------------------------------
//  Values

//  A whole decimal number: digits only, so no sign, white space or
//  trailing text slips through strtoull, and no overflow
static s_verdict_t
s_parse_digits (const char *text, uint64_t *number)
{
    if (*text == 0 || strspn (text, "0123456789") != strlen (text))
        return S_VALUE_MALFORMED;
    errno = 0;
    *number = strtoull (text, NULL, 10);
    return errno == ERANGE? S_VALUE_OUT_OF_RANGE: S_VALUE_OK;
}

//  Read exactly count digits at text; the text after them, or NULL
static const char *
s_fixed_digits (const char *text, int count, int *value)
{
    *value = 0;
    for (int index = 0; index < count; index++) {
        if (!isdigit ((unsigned char) text [index]))
            return NULL;
        *value = *value * 10 + (text [index] - '0');
    }
    return text + count;
}

//  Read "Z", "+HH:MM", "-HH:MM" or nothing (UTC) into seconds east of
//  UTC; the text after it, or NULL
static const char *
s_zone (const char *text, long *east_seconds)
{
    int hours = 0, minutes = 0;
    *east_seconds = 0;
    if (*text == 'Z')
        return text + 1;
    if (*text != '+' && *text != '-')
        return text;
    const char *cursor = s_fixed_digits (text + 1, 2, &hours);
    cursor = cursor && *cursor == ':'? s_fixed_digits (cursor + 1, 2, &minutes): NULL;
    if (!cursor || hours > 23 || minutes > 59)
        return NULL;
    *east_seconds = (*text == '-'? -1: 1) * (hours * 3600L + minutes * 60L);
    return cursor;
}

//  Read YYYY-MM-DD[THH:MM[:SS][zone]] into broken-down UTC fields and a
//  zone; the text after it, or NULL
static const char *
s_iso_fields (const char *text, struct tm *fields, long *east_seconds)
{
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    const char *cursor = s_fixed_digits (text, 4, &year);
    cursor = cursor && *cursor == '-'? s_fixed_digits (cursor + 1, 2, &month): NULL;
    cursor = cursor && *cursor == '-'? s_fixed_digits (cursor + 1, 2, &day): NULL;
    *east_seconds = 0;
    if (cursor && *cursor == 'T') {
        cursor = s_fixed_digits (cursor + 1, 2, &hour);
        cursor = cursor && *cursor == ':'? s_fixed_digits (cursor + 1, 2, &minute): NULL;
        if (cursor && *cursor == ':')
            cursor = s_fixed_digits (cursor + 1, 2, &second);
        cursor = cursor? s_zone (cursor, east_seconds): NULL;
    }
    *fields = (struct tm) { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                            .tm_hour = hour, .tm_min = minute, .tm_sec = second };
    return cursor;
}

//  An ISO-8601 date (UTC midnight) or date and time, to ms since 1970.
//  timegm does the calendar; it also normalises out-of-range fields in
//  place (February 30 becomes March 2), so any field it changed was not
//  a real date or time.
static s_verdict_t
s_parse_iso (const char *text, uint64_t *ms)
{
    struct tm fields;
    long east_seconds = 0;
    const char *rest = s_iso_fields (text, &fields, &east_seconds);
    if (!rest || *rest)
        return S_VALUE_MALFORMED;
    struct tm wanted = fields;
    time_t seconds = timegm (&fields);
    if (fields.tm_year != wanted.tm_year || fields.tm_mon != wanted.tm_mon
    ||  fields.tm_mday != wanted.tm_mday || fields.tm_hour != wanted.tm_hour
    ||  fields.tm_min != wanted.tm_min || fields.tm_sec != wanted.tm_sec)
        return S_VALUE_MALFORMED;
    int64_t utc_seconds = (int64_t) seconds - east_seconds;
    if (utc_seconds < 0)
        return S_VALUE_OUT_OF_RANGE;
    *ms = (uint64_t) utc_seconds * S_MS_PER_SECOND;
    return S_VALUE_OK;
}

//  Check text against option's type and bounds; number receives the value
static s_verdict_t
s_convert (const ht_option_t *option, const char *text, uint64_t *number)
{
    *number = 0;
    s_verdict_t verdict = S_VALUE_OK;
    if (option->type == HT_VALUE_UINT)
        verdict = s_parse_digits (text, number);
    else
    if (option->type == HT_VALUE_TIME) {
        verdict = s_parse_digits (text, number);
        if (verdict == S_VALUE_MALFORMED)
            verdict = s_parse_iso (text, number);
    }
    else
        return S_VALUE_OK;          //  flags and text: the subcommand decides
    if (verdict == S_VALUE_OK && (*number < option->min || *number > option->max))
        verdict = S_VALUE_OUT_OF_RANGE;
    return verdict;
}

//  Say why a value was refused; HT_EXIT_USAGE
static int
s_value_error (const ht_option_t *option, const char *text, s_verdict_t verdict)
{
    if (option->type == HT_VALUE_TIME && verdict == S_VALUE_MALFORMED)
        return ht_usage_error ("--%s: '%s' is not a time (expected milliseconds since 1970 "
                               "or an ISO date like 2026-12-01 or 2026-12-01T08:30:00Z)",
                               option->name, text);
    if (option->type == HT_VALUE_TIME)
        return ht_usage_error ("--%s: '%s' is out of range (expected a time from 1970 "
                               "to the end of 9999)", option->name, text);
    return ht_usage_error ("--%s: '%s' is %s (expected %" PRIu64 " to %" PRIu64 ")",
                           option->name, text, verdict == S_VALUE_MALFORMED
                           ? "not a whole number": "out of range", option->min, option->max);
}

uint64_t
ht_args_number (const ht_command_spec_t *spec, const char **values, int index,
                uint64_t fallback)
{
    const ht_option_t *option = &spec->options [index];
    assert (option->type == HT_VALUE_UINT || option->type == HT_VALUE_TIME);
    if (!values [index])
        return fallback;
    uint64_t number = 0;
    s_verdict_t verdict = s_convert (option, values [index], &number);
    assert (verdict == S_VALUE_OK); //  ht_args_parse refused anything else
    (void) verdict;
    return number;
}

//  --------------------------------------------------------------------------
//  Parsing and help

//  The bounds of a number option for --help, e.g. " [1..100000]"
static void
s_bounds_text (const ht_option_t *option, char *text, size_t size)
{
    *text = 0;
    if (option->type == HT_VALUE_UINT && option->max == UINT64_MAX)
        snprintf (text, size, " [%" PRIu64 " or more]", option->min);
    else
    if (option->type == HT_VALUE_UINT)
        snprintf (text, size, " [%" PRIu64 "..%" PRIu64 "]", option->min, option->max);
}

#define S_TIME_HELP \
    "A TIME is milliseconds since 1970, or an ISO-8601 date (UTC midnight)\n" \
    "or date and time: 2026-12-01, 2026-12-01T08:30, 2026-12-01T08:30:00Z,\n" \
    "2026-12-01T16:30:00+08:00 (no zone means UTC).\n"

void
ht_args_help (const ht_command_spec_t *spec)
{
    printf ("Usage: %s\n\n%s\n\nOptions:\n", spec->usage, spec->description);
    bool has_time = false;
    for (const ht_option_t *option = spec->options; option && option->name; option++) {
        bool has_value = option->type != HT_VALUE_NONE;
        char left [64], bounds [64];
        snprintf (left, sizeof left, "--%s%s%s", option->name,
                  has_value? " ": "", has_value? option->value_name: "");
        s_bounds_text (option, bounds, sizeof bounds);
        printf ("  %-24s %s%s\n", left, option->help, bounds);
        has_time |= option->type == HT_VALUE_TIME;
    }
    printf ("  %-24s %s\n", "--help", "show this help");
    if (has_time)
        printf ("\n%s", S_TIME_HELP);
}

void
ht_args_roff (const ht_command_spec_t *spec)
{
    printf (".SS \"");
    ht_roff_inline (stdout, spec->usage);
    printf ("\"\n");
    ht_roff_text (stdout, spec->description);
    bool has_time = false;
    for (const ht_option_t *option = spec->options; option && option->name; option++) {
        char bounds [64];
        s_bounds_text (option, bounds, sizeof bounds);
        printf (".TP\n.BR \"");
        ht_roff_inline (stdout, "--");
        ht_roff_inline (stdout, option->name);
        printf ("\"");
        if (option->type != HT_VALUE_NONE) {
            printf (" \" \" \\fI");
            ht_roff_inline (stdout, option->value_name);
            printf ("\\fR");
        }
        printf ("\n");
        char help [512];
        snprintf (help, sizeof help, "%s%s", option->help, bounds);
        ht_roff_text (stdout, help);
        has_time |= option->type == HT_VALUE_TIME;
    }
    if (has_time) {
        printf (".PP\n");
        ht_roff_text (stdout, S_TIME_HELP);
    }
}

int
ht_args_parse (const ht_command_spec_t *spec, int argc, char **argv,
               const char **values, int *first_arg)
{
    struct option long_options [S_MAX_OPTIONS + 3];
    size_t count = 0;
    for (const ht_option_t *option = spec->options; option && option->name; option++) {
        assert (count < S_MAX_OPTIONS);
        values [count] = NULL;
        long_options [count] = (struct option) {
            option->name, option->type != HT_VALUE_NONE? required_argument: no_argument,
            NULL, (int) count + 1000 };
        count++;
    }
    long_options [count++] = (struct option) { "help", no_argument, NULL, 'h' };
    //  Not in --help: 'hutong man' asks each command for its manual section
    long_options [count++] = (struct option) { "help-roff", no_argument, NULL, 'R' };
    long_options [count] = (struct option) { NULL, 0, NULL, 0 };
    optind = 1;
    opterr = 0;
    int choice;
    while ((choice = getopt_long (argc, argv, "h", long_options, NULL)) != -1) {
        if (choice == 'h') {
            ht_args_help (spec);
            return 1;
        }
        if (choice == 'R') {
            ht_args_roff (spec);
            return 1;
        }
        if (choice == '?' || choice == ':')
            return ht_usage_error ("%s: unknown option or missing value near '%s' (see --help)",
                                   argv [0], argv [optind - 1]);
        const ht_option_t *option = &spec->options [choice - 1000];
        uint64_t number;
        s_verdict_t verdict = optarg? s_convert (option, optarg, &number): S_VALUE_OK;
        if (verdict != S_VALUE_OK)
            return s_value_error (option, optarg, verdict);
        values [choice - 1000] = optarg? optarg: "";
    }
    *first_arg = optind;
    return 0;
}

int
ht_fail (const char *what, int code)
{
    fprintf (stderr, "hutong: %s: %s\n", what, ht_strerror (code));
    return HT_EXIT_ERROR;
}

int
ht_usage_error (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "hutong: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    return HT_EXIT_USAGE;
}

void
ht_print_json (const json_t *json)
{
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    if (text) {
        fputs (text, stdout);
        fputc ('\n', stdout);
        free (text);
    }
}

ht_store_t *
ht_open_store (const char *path)
{
    int error = 0;
    ht_store_t *store = ht_store_open (path, 0, &error);
    if (!store) {
        if (error == HT_ENOTFOUND)
            fprintf (stderr, "hutong: %s holds no store (create one with 'hutong init')\n", path);
        else
            fprintf (stderr, "hutong: cannot open store %s: %s\n", path, ht_strerror (error));
    }
    //  Write records in the schema versions the node of this store is
    //  configured to write (its hutongd leaves them there)
    for (size_t index = 0; store && ht_schema_kind_at (index); index++) {
        const ht_kind_t *kind = ht_schema_kind_at (index);
        char name [32];
        snprintf (name, sizeof name, "wv:%s", kind->name);
        uint64_t version = ht_store_counter (store, name);
        if (version && version <= kind->version
        &&  ht_schema_set_write_version (kind->name, (uint16_t) version) != HT_OK)
            fprintf (stderr, "hutong: %s: cannot write %s in schema version %u\n", path,
                     kind->name, (unsigned) version);
    }
    return store;
}

ht_keypair_t *
ht_load_key (const char *path)
{
    int error = 0;
    //  An encrypted key file: $HUTONG_PASSPHRASE_FILE, $HUTONG_PASSPHRASE,
    //  a systemd credential, or a prompt on the terminal
    const char *file = getenv ("HUTONG_PASSPHRASE_FILE");
    ht_passphrase_source_t passphrase = {
        .file = file && *file? file: NULL, .environment = true, .terminal = true
    };
    ht_keypair_t *key = ht_keypair_load_from (path, &passphrase, &error);
    if (!key) {
        if (error == HT_EPASSPHRASE)
            fprintf (stderr, "hutong: key file %s is encrypted and no passphrase is available: "
                     "set HUTONG_PASSPHRASE or HUTONG_PASSPHRASE_FILE, or run on a terminal\n",
                     path);
        else
        if (error == HT_EDECRYPT)
            fprintf (stderr, "hutong: key file %s: wrong passphrase, or the file was altered\n",
                     path);
        else
        if (error == HT_EINVAL)
            fprintf (stderr, "hutong: key file %s: the passphrase given is empty, too long or "
                     "mistyped%s%s\n", path, passphrase.file? " (in ": "",
                     passphrase.file? passphrase.file: "");
        else
        if (error == HT_EKEYMODE)
            fprintf (stderr, "hutong: key file %s is readable by others; run: chmod 600 %s\n",
                     path, path);
        else
        if (error == HT_EIO)
            fprintf (stderr, "hutong: cannot read key file %s: %s\n", path, strerror (errno));
        else
            fprintf (stderr, "hutong: key file %s: %s\n", path, ht_strerror (error));
    }
    return key;
}

bool
ht_stderr_is_tty (void)
{
    return isatty (STDERR_FILENO) != 0;
}

int
ht_read_idkey (const char *path, uint8_t idkey [HT_IDKEY_BYTES])
{
    struct stat info;
    if (stat (path, &info) != 0) {
        fprintf (stderr, "hutong: cannot read %s: %s\n", path, strerror (errno));
        return HT_EIO;
    }
    if (info.st_mode & (S_IRWXG | S_IRWXO)) {
        fprintf (stderr, "hutong: %s is readable by others; run: chmod 600 %s\n", path, path);
        return HT_EKEYMODE;
    }
    FILE *file = fopen (path, "r");
    char hex [2 * HT_IDKEY_BYTES + 2] = "";
    bool ok = file && fgets (hex, sizeof hex, file);
    if (file)
        fclose (file);
    hex [strcspn (hex, "\r\n")] = 0;
    ok = ok && ht_hex_decode (hex, idkey, HT_IDKEY_BYTES) == HT_OK;
    sodium_memzero (hex, sizeof hex);
    if (!ok)
        fprintf (stderr, "hutong: %s does not hold a 64-hex-digit pseudonym key\n", path);
    return ok? HT_OK: HT_EKEY;
}

//  Display columns of one code point: East Asian wide characters take two
static int
s_columns (uint32_t code)
{
    return (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf)
        || (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff)
        || (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60)
        || (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x20000 && code <= 0x3fffd)? 2: 1;
}

void
ht_print_column (const char *text, int width)
{
    const unsigned char *cursor = (const unsigned char *) (text? text: "");
    int used = 0;
    while (*cursor) {
        uint32_t code = 0;
        const char *problem = NULL;
        int bytes = ht_utf8_decode ((const char *) cursor, &code, &problem);
        if (bytes == 0)
            break;                  //  a cut-off or bad character: stop before it
        int columns = s_columns (code);
        if (used + columns > width)
            break;                  //  never split a character to fit
        fwrite (cursor, 1, (size_t) bytes, stdout);
        used += columns;
        cursor += bytes;
    }
    printf ("%*s", width - used + 1, "");
}

ht_store_t *
ht_bench_scratch_store (char *path, const char *dir, const ht_keypair_t *root,
                        const uint8_t *idkey)
{
    snprintf (path, PATH_MAX, "%s/hutong-bench-XXXXXX", dir);
    if (!mkdtemp (path)
    ||  ht_store_create (path, "441800000000", ht_keypair_public (root), idkey) != HT_OK)
        return NULL;
    ht_store_t *store = ht_store_open (path, 0, NULL);
    ht_cert_t spec = { .name = "bench root", .role = HT_ROLE_NODE, .region = "441800000000",
                       .kinds = { "elder", "cert" }, .kind_count = 2,
                       .not_before_ms = 0, .not_after_ms = UINT64_MAX >> 17 };
    memcpy (spec.pubkey, ht_keypair_public (root), HT_PUBKEY_BYTES);
    //  Issued now: a local write must be fresh (the ingest window)
    ht_hlc_t clock = { 0 };
    ht_record_t *cert = store? ht_cert_issue (&spec, root, ht_hlc_now (&clock), NULL, NULL): NULL;
    ht_apply_stats_t stats = { 0 };
    if (!cert || ht_store_apply (store, &cert, 1, NULL, &stats, NULL) != HT_OK)
        ht_store_destroy (&store);
    ht_record_destroy (&cert);
    return store;
}

void
ht_bench_scratch_remove (ht_store_t **store_p, const char *path)
{
    ht_store_destroy (store_p);
    char command [PATH_MAX + 16];
    snprintf (command, sizeof command, "rm -rf '%s'", path);
    if (system (command) != 0)
        fprintf (stderr, "hutong: bench: could not remove %s\n", path);
}

const char *
ht_utc_text (uint64_t ms, char *text, size_t size)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm utc;
    gmtime_r (&seconds, &utc);
    strftime (text, size, "%Y-%m-%d %H:%M:%S UTC", &utc);
    return text;
}
