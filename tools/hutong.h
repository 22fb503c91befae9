//  hutong: the command-line tool. Each subcommand is a function in a
//  cmd_*.c file, listed once in hutong.c's table; helpers shared by
//  several subcommands live in hutong_util.c.
#ifndef HUTONG_H_INCLUDED
#define HUTONG_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include "ht_error.h"
#include "ht_record.h"
#include "ht_keys.h"
#include "ht_cert.h"
#include "ht_hlc.h"
#include "ht_store.h"

//  Drafts `hutong put` signs under one batch signature (records.md §4a),
//  and what the benchmarks sign as it does: 32 keeps a record's proof to
//  five hashes (about 176 bytes; 349 at 1,000), so five log entries of an
//  elder fit an LMDB page where four did, while one Ed25519 check per 32
//  records is about a microsecond a record
#define HT_SIGN_BATCH 32
#define HT_SIGN_BATCH_TEXT HT_TEXT_OF (HT_SIGN_BATCH)
#define HT_TEXT_OF(number) HT_TEXT_OF_ (number)
#define HT_TEXT_OF_(number) #number

//  Exit codes, as documented in `hutong --help`
#define HT_EXIT_OK 0            //  success
#define HT_EXIT_INVALID 1       //  verify: the record is invalid; put: some
                                //  records were rejected
#define HT_EXIT_USAGE 2         //  bad command line
#define HT_EXIT_ERROR 3         //  operational error (file, store, key)

//  A subcommand: argc/argv start at the subcommand's own name
typedef int (ht_command_fn) (int argc, char **argv);

typedef struct {
    const char *name;           //  "put", "cert issue", ...
    ht_command_fn *run;         //  entry point
    const char *summary;        //  one line for `hutong --help`
} ht_command_t;

//  Options: a small getopt_long wrapper so every subcommand parses the
//  same way and prints the same --help. Each option's value has a type,
//  and ht_args_parse checks every value against it (whole string, bounds)
//  before a subcommand sees it: a time that does not parse must stop the
//  command, never turn silently into 0.
typedef enum {
    HT_VALUE_NONE,              //  a flag: takes no value
    HT_VALUE_TEXT,              //  any text; the subcommand checks it
    HT_VALUE_UINT,              //  a whole decimal number in [min, max]
    HT_VALUE_TIME               //  ms since 1970, or an ISO-8601 date or
                                //  date and time (see ht_args_help)
} ht_value_type_t;

//  Latest time an option accepts: 9999-12-31T23:59:59.999Z
#define HT_TIME_MAX_MS 253402300799999ull

typedef struct {
    const char *name;           //  long name without dashes
    ht_value_type_t type;       //  what the value is
    const char *value_name;     //  shown in help, e.g. "FILE"
    const char *help;           //  one line
    uint64_t min;               //  bounds of an HT_VALUE_UINT value
    uint64_t max;
} ht_option_t;

//  Option table entries, one per value type, so every field is set
#define HT_OPTION_FLAG(name, help) \
    { name, HT_VALUE_NONE, NULL, help, 0, 0 }
#define HT_OPTION_TEXT(name, value_name, help) \
    { name, HT_VALUE_TEXT, value_name, help, 0, 0 }
#define HT_OPTION_UINT(name, value_name, min, max, help) \
    { name, HT_VALUE_UINT, value_name, help, min, max }
#define HT_OPTION_TIME(name, value_name, help) \
    { name, HT_VALUE_TIME, value_name, help, 0, HT_TIME_MAX_MS }
#define HT_OPTION_END \
    { NULL, HT_VALUE_NONE, NULL, NULL, 0, 0 }

typedef struct {
    const char *usage;          //  "hutong put [OPTIONS] [FILE]"
    const char *description;    //  a paragraph
    const ht_option_t *options; //  terminated by a { NULL } entry
} ht_command_spec_t;

//  Parse argv by spec into values (one per option; "" for flags that were
//  given, NULL if absent). Handles --help (prints, returns 1 so the caller
//  exits 0). Every value must fit its option's type, or this prints e.g.
//  "hutong: --at: 'yesterday' is not a time (...)" and returns
//  HT_EXIT_USAGE. Returns 0, 1 for help, or HT_EXIT_USAGE after printing
//  why. *first_arg receives the index of the first positional argument.
int ht_args_parse (const ht_command_spec_t *spec, int argc, char **argv,
                   const char **values, int *first_arg);

//  The number an accepted HT_VALUE_UINT or HT_VALUE_TIME option stands for
//  (ms since 1970 for a time), or fallback if it was not given. values
//  must come from a successful ht_args_parse over the same spec.
uint64_t ht_args_number (const ht_command_spec_t *spec, const char **values,
                         int index, uint64_t fallback);

//  Print the spec's help to stdout
void ht_args_help (const ht_command_spec_t *spec);

//  Print the same as a subsection of hutong(1), in roff, to stdout (what
//  a command's hidden --help-roff option does)
void ht_args_roff (const ht_command_spec_t *spec);

//  Print "hutong: <what>: <error text>" to stderr, return HT_EXIT_ERROR
int ht_fail (const char *what, int code);

//  Print "hutong: <message>" to stderr, return HT_EXIT_USAGE
int ht_usage_error (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

//  Print a JSON value on one line to stdout, UTF-8 kept readable
void ht_print_json (const json_t *json);

//  Open a store directory, printing an error on failure
ht_store_t *ht_open_store (const char *path);

//  Load a key file, printing an error (naming chmod 600 for mode) on failure
ht_keypair_t *ht_load_key (const char *path);

//  Read the network pseudonym key (64 hex digits) from a 0600 file,
//  printing why on failure; 0 or an error
int ht_read_idkey (const char *path, uint8_t idkey [HT_IDKEY_BYTES]);

//  Print text in a table column of width display columns (wide CJK
//  characters count two), cut on a character boundary, then one space
void ht_print_column (const char *text, int width);

//  A time in ms since 1970 as "2026-12-02 03:10:11 UTC" into text
//  (32 bytes); returns text
const char *ht_utc_text (uint64_t ms, char *text, size_t size);

//  True if stderr is a terminal (progress is shown only then)
bool ht_stderr_is_tty (void);

//  Benchmark helpers (cmd_bench.c)
//  Seconds on the monotonic clock, sub-microsecond resolution
double ht_bench_now (void);

//  A fresh store in a new directory under dir (its path written to path,
//  PATH_MAX bytes) holding a root certificate for root; NULL on failure.
//  Remove it with ht_bench_scratch_remove.
ht_store_t *ht_bench_scratch_store (char *path, const char *dir, const ht_keypair_t *root,
                                    const uint8_t *idkey);
void ht_bench_scratch_remove (ht_store_t **store_p, const char *path);
//  Raw libsodium Ed25519 verifications per second on one core
double ht_bench_verify_rate (size_t count);
//  Sort count figures ascending
void ht_bench_sort (double *values, size_t count);
//  Nearest-rank percentile p (0..1) of count sorted figures; -1 if none
double ht_bench_percentile (const double *sorted, size_t count, double p);
//  An elder draft with a valid citizen ID distinct per index, in
//  community (or one of twenty under 441802001 if NULL), completed with
//  idkey and clock (ht_record_complete), unsigned; caller owns, NULL on
//  failure
ht_record_t *ht_bench_elder (size_t index, const uint8_t *idkey, ht_hlc_t *clock,
                             const char *community);

//  Subcommands (cmd_*.c)
int ht_cmd_backup (int argc, char **argv);
int ht_cmd_restore (int argc, char **argv);
int ht_cmd_keygen (int argc, char **argv);
int ht_cmd_cert_issue (int argc, char **argv);
int ht_cmd_cert_show (int argc, char **argv);
int ht_cmd_rotate_plan (int argc, char **argv);
int ht_cmd_rotate_reissue (int argc, char **argv);
int ht_cmd_cert_revoke (int argc, char **argv);
int ht_cmd_init (int argc, char **argv);
int ht_cmd_put (int argc, char **argv);
int ht_cmd_get (int argc, char **argv);
int ht_cmd_list (int argc, char **argv);
int ht_cmd_history (int argc, char **argv);
int ht_cmd_export (int argc, char **argv);
int ht_cmd_verify (int argc, char **argv);
int ht_cmd_quarantine (int argc, char **argv);
int ht_cmd_gen (int argc, char **argv);
int ht_cmd_bench (int argc, char **argv);
int ht_cmd_status (int argc, char **argv);
int ht_cmd_bench_network (int argc, char **argv);
int ht_cmd_bench_query (int argc, char **argv);
int ht_cmd_bench_serve (int argc, char **argv);
int ht_cmd_schema (int argc, char **argv);
int ht_cmd_find (int argc, char **argv);
int ht_cmd_count (int argc, char **argv);
int ht_cmd_audit (int argc, char **argv);
int ht_cmd_purposes (int argc, char **argv);
int ht_cmd_feed (int argc, char **argv);
int ht_cmd_query_get (int argc, char **argv);
int ht_cmd_query_list (int argc, char **argv);
int ht_cmd_query_history (int argc, char **argv);

//  True if the command line names --node: get, list and history then
//  read from a running node instead of a local store
bool ht_query_wanted (int argc, char **argv);

#endif
