//  hutong_util: option parsing, errors and output shared by subcommands.
#include <getopt.h>
#include <stdarg.h>
#include <sodium.h>
#include <sys/stat.h>
#include "hutong.h"

#define S_MAX_OPTIONS 32

void
ht_args_help (const ht_command_spec_t *spec)
{
    printf ("Usage: %s\n\n%s\n\nOptions:\n", spec->usage, spec->description);
    for (const ht_option_t *option = spec->options; option && option->name; option++) {
        char left [64];
        snprintf (left, sizeof left, "--%s%s%s", option->name,
                  option->has_value? " ": "", option->has_value? option->value_name: "");
        printf ("  %-24s %s\n", left, option->help);
    }
    printf ("  %-24s %s\n", "--help", "show this help");
}

int
ht_args_parse (const ht_command_spec_t *spec, int argc, char **argv,
               const char **values, int *first_arg)
{
    struct option long_options [S_MAX_OPTIONS + 2];
    size_t count = 0;
    for (const ht_option_t *option = spec->options; option && option->name; option++) {
        assert (count < S_MAX_OPTIONS);
        values [count] = NULL;
        long_options [count] = (struct option) {
            option->name, option->has_value? required_argument: no_argument,
            NULL, (int) count + 1000 };
        count++;
    }
    long_options [count++] = (struct option) { "help", no_argument, NULL, 'h' };
    long_options [count] = (struct option) { NULL, 0, NULL, 0 };
    optind = 1;
    opterr = 0;
    int choice;
    while ((choice = getopt_long (argc, argv, "h", long_options, NULL)) != -1) {
        if (choice == 'h') {
            ht_args_help (spec);
            return 1;
        }
        if (choice == '?' || choice == ':')
            return ht_usage_error ("%s: unknown option or missing value near '%s' (see --help)",
                                   argv [0], argv [optind - 1]);
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
    return store;
}

ht_keypair_t *
ht_load_key (const char *path)
{
    int error = 0;
    ht_keypair_t *key = ht_keypair_load (path, &error);
    if (!key) {
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
        size_t bytes = *cursor < 0x80? 1: *cursor < 0xe0? 2: *cursor < 0xf0? 3: 4;
        uint32_t code = bytes == 1? *cursor: *cursor & (0x3f >> (bytes - 1));
        size_t index = 1;
        for (; index < bytes && (cursor [index] & 0xc0) == 0x80; index++)
            code = (code << 6) | (cursor [index] & 0x3f);
        if (index < bytes)
            break;                  //  a cut-off character: stop before it
        int columns = s_columns (code);
        if (used + columns > width)
            break;                  //  never split a character to fit
        fwrite (cursor, 1, bytes, stdout);
        used += columns;
        cursor += bytes;
    }
    printf ("%*s", width - used + 1, "");
}
