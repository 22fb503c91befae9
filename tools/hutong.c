//  hutong: one subcommand table; main() only dispatches.
#include <sodium.h>
#include "hutong.h"

static const ht_command_t s_commands [] = {
    { "keygen",      ht_cmd_keygen,      "create a key pair (0600 key file and .pub)" },
    { "cert issue",  ht_cmd_cert_issue,  "issue a certificate for a child key" },
    { "cert show",   ht_cmd_cert_show,   "show and check a certificate" },
    { "cert revoke", ht_cmd_cert_revoke, "revoke a key from a point in time" },
    { "rotate plan", ht_cmd_rotate_plan, "check a node key rotation before the switch" },
    { "rotate reissue", ht_cmd_rotate_reissue, "re-sign the old key's certificates with the new key" },
    { "init",        ht_cmd_init,        "create a node store for a region" },
    { "put",         ht_cmd_put,         "sign and store records from JSON lines" },
    { "get",         ht_cmd_get,         "a record's current version (--store, or --node)" },
    { "find",        ht_cmd_find,        "find an elder by ID number, a facility by USCC" },
    { "list",        ht_cmd_list,        "list records by kind and region, or by field" },
    { "count",       ht_cmd_count,       "count records per region of the next tier down" },
    { "history",     ht_cmd_history,     "every version of a record, conflicts marked" },
    { "audit",       ht_cmd_audit,       "who read whom, when and why (audit records)" },
    { "purposes",    ht_cmd_purposes,    "the purpose codes a read names" },
    { "feed",        ht_cmd_feed,        "follow a node's change feed (JSON lines, resumable)" },
    { "export",      ht_cmd_export,      "export records as JSON lines, full or redacted" },
    { "verify",      ht_cmd_verify,      "verify records (JSON or msgpack), full or redacted" },
    { "status",      ht_cmd_status,      "a running node's peers, lag, records and quarantine" },
    { "quarantine",  ht_cmd_quarantine,  "list rejected input with its reason" },
    { "backup",      ht_cmd_backup,      "a consistent hot copy of a node's store, with manifest" },
    { "restore",     ht_cmd_restore,     "put a backup in place, with a new epoch (node stopped)" },
    { "schema",      ht_cmd_schema,      "print the schema tables (text, JSON or Markdown)" },
    { "gen",         ht_cmd_gen,         "generate realistic synthetic records (of a city or region)" },
    { "bench network", ht_cmd_bench_network, "measure replication across running nodes" },
    { "bench query", ht_cmd_bench_query, "measure reads over a node's client socket" },
    { "bench serve", ht_cmd_bench_serve, "measure serving PULLs: cost per record sent vs log size" },
    { "bench",       ht_cmd_bench,       "measure signing, verifying and storing" },
};

#define S_COMMAND_COUNT (sizeof (s_commands) / sizeof (s_commands [0]))

static void
s_help (FILE *out)
{
    fprintf (out,
        "Usage: hutong COMMAND [OPTIONS]\n\n"
        "Hutong (互通) — the federated elderly-care data network's command.\n\n"
        "Commands:\n");
    for (size_t index = 0; index < S_COMMAND_COUNT; index++)
        fprintf (out, "  %-15s %s\n", s_commands [index].name, s_commands [index].summary);
    fprintf (out,
        "\nRun 'hutong COMMAND --help' for a command's options.\n\n"
        "Exit codes: 0 success; 1 invalid input (verify: record invalid;\n"
        "put: some records rejected); 2 usage error; 3 operational error.\n");
}

//  hutong(1) in roff, each command's section from its own option table
//  (the build runs this: 'hutong man > hutong.1'). Exit 3 if a command
//  did not describe itself.
static int
s_man (void)
{
    printf (".\\\" -*- coding: utf-8 -*-\n.TH HUTONG 1 \"\" \"hutong 0.1.0\" \"Hutong\"\n"
            ".SH NAME\nhutong \\- the Hutong elderly-care data network's command\n"
            ".SH SYNOPSIS\n.B hutong\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n"
            ".SH DESCRIPTION\nKeys, certificates, stores, records, queries and benchmarks of a\n"
            "Hutong network. Every command takes\n.B \\-\\-help\n.PP\n");
    for (size_t index = 0; index < S_COMMAND_COUNT; index++)
        printf (".TP\n.B \"%s\"\n%s\n", s_commands [index].name, s_commands [index].summary);
    printf (".SH COMMANDS\n");
    int failed = 0;
    for (size_t index = 0; index < S_COMMAND_COUNT; index++) {
        const char *name = s_commands [index].name;
        const char *space = strchr (name, ' ');
        char first [32], flag [] = "--help-roff";
        snprintf (first, sizeof first, "%s", space? space + 1: name);
        char *argv [] = { first, flag, NULL };
        fflush (stdout);
        if (s_commands [index].run (2, argv) != HT_EXIT_OK) {
            fprintf (stderr, "hutong: man: '%s' did not describe itself\n", name);
            failed++;
        }
    }
    printf (".SH EXIT STATUS\n0 success; 1 invalid input (verify: record invalid; put: some\n"
            "records rejected); 2 usage error; 3 operational error.\n"
            ".SH SEE ALSO\n.BR hutongd (8),\n.BR hutongd.cfg (5)\n");
    return failed? HT_EXIT_ERROR: HT_EXIT_OK;
}

int
main (int argc, char **argv)
{
    //  czmq must not grab signals or log to stdout in a command-line tool
    setenv ("ZSYS_SIGHANDLER", "false", 0);
    //  stdout carries results (JSON for scripts); logs go to stderr
    zsys_set_logstream (stderr);
    if (sodium_init () < 0) {
        fprintf (stderr, "hutong: libsodium failed to initialise\n");
        return HT_EXIT_ERROR;
    }
    if (argc < 2 || streq (argv [1], "--help") || streq (argv [1], "-h")
    ||  streq (argv [1], "help")) {
        s_help (stdout);
        return argc < 2? HT_EXIT_USAGE: HT_EXIT_OK;
    }
    if (streq (argv [1], "man"))
        return s_man ();            //  not in --help: the build makes hutong.1 with it
    if (streq (argv [1], "--version")) {
        printf ("hutong 0.1.0\n");
        return HT_EXIT_OK;
    }
    //  Two-word commands ("cert issue") match before one-word ones
    for (size_t index = 0; index < S_COMMAND_COUNT; index++) {
        const char *name = s_commands [index].name;
        const char *space = strchr (name, ' ');
        if (space && argc >= 3
        &&  strlen (argv [1]) == (size_t) (space - name)
        &&  strncmp (argv [1], name, (size_t) (space - name)) == 0
        &&  streq (argv [2], space + 1))
            return s_commands [index].run (argc - 2, argv + 2);
        if (!space && streq (argv [1], name))
            return s_commands [index].run (argc - 1, argv + 1);
    }
    fprintf (stderr, "hutong: unknown command '%s'%s (see 'hutong --help')\n",
             argv [1], streq (argv [1], "cert")? " — use 'cert issue', 'cert show' or 'cert revoke'": "");
    return HT_EXIT_USAGE;
}
