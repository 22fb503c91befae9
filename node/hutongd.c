//  hutongd: the node daemon. Only wiring: parse the command line, load the
//  config, lock and open the store, start the node actor, then turn
//  signals into actions until told to stop (malamute.c).
#include <malloc.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include "ht_check.h"
#include "ht_config.h"
#include "ht_keys.h"
#include "ht_log.h"
#include "ht_node.h"
#include "ht_schema.h"
#include "ht_path.h"
#include "ht_roff.h"
#include "ht_store.h"

#define S_VERSION "0.1.0"
#define S_EXIT_OK 0                 //  clean stop, --check passed, --help
#define S_EXIT_FAILURE 1            //  could not start: config, store, lock, node
#define S_EXIT_USAGE 2              //  bad command line
#define S_EXIT_NODE_DIED 3          //  the node failed while running
#define S_MESSAGE_MAX_CHARS 1024
#define S_ENDPOINTS_TIMEOUT_MS 5000

//  What the event handlers share
typedef struct {
    const char *config_path;        //  re-read on SIGHUP
    bool check_only;                //  --check: report and exit
    bool online;                    //  --online: --check also says HELLO to the parent
    bool json;                      //  --json: --check prints one JSON document
    const char *man;                //  --man SECTION: print a manual page
    ht_config_t config;             //  current settings
    zactor_t *node;                 //  the node actor
    ht_check_t *check;              //  the --check report, or NULL
    int exit_code;                  //  set by whichever handler stops the loop
} s_daemon_t;

//  The command line, for --help and the manual page
typedef struct {
    const char *flags;              //  "-c, --config FILE"
    const char *help;               //  one or two lines
} s_option_t;

static const s_option_t s_options [] = {
    { "-c, --config FILE", "configuration file (ZPL), e.g. /etc/hutong/hutongd.cfg" },
    { "    --check", "check FILE, the store, the node's certificate, its parent's key,\n"
                     "its ports and that no hutongd runs on the store, then exit" },
    { "    --online", "with --check: also say HELLO to the parent and wait for WELCOME" },
    { "    --json", "with --check: print one JSON document on stdout" },
    { "-h, --help", "show this help" },
    { "    --version", "show the version" },
};

#define S_OPTION_COUNT (sizeof (s_options) / sizeof (s_options [0]))

static const char *const s_description =
    "Runs one Hutong node. Signals: SIGTERM/SIGINT finish the batch in\n"
    "flight and stop; SIGHUP re-reads the keys marked reload below and\n"
    "reopens log/file (for logrotate).";

static const char *const s_check_text =
    "--check prints one line per check (ok or FAIL, the check, what it\n"
    "found): config, store, lock (no hutongd runs on the store), key (node/key\n"
    "has a valid, unrevoked node certificate for node/region with a chain to\n"
    "node/anchor), parent (parent/key is certified as the node of the parent\n"
    "region), listen and client (the ports are free), log (log/file can be\n"
    "written), and with --online, online (the parent answers HELLO).";

static const char *const s_exit_text =
    "Exit codes: 0 stopped cleanly, or every check passed; 1 could not start,\n"
    "or a check failed (invalid configuration, store missing, mismatched or\n"
    "in use by another hutongd, certificate or parent key not valid, port in\n"
    "use, node failed to start); 2 bad command line; 3 the node failed while\n"
    "running (worth a restart). Messages go to stderr, or to log/file.";

static const char *const s_safety_text =
    "hutongd refuses to start if FILE, the store directory or the directory\n"
    "holding node/key is a symbolic link or writable by group or others\n"
    "(fix with chmod go-w), or if <store>/hutongd.lock is not a plain file.";

//  Print usage, exit codes and the configuration keys
static void
s_usage (FILE *out)
{
    fprintf (out, "Usage: hutongd --config FILE [--check [--online] [--json]]\n"
                  "       hutongd --help | --version\n\n%s\n\n", s_description);
    for (size_t index = 0; index < S_OPTION_COUNT; index++) {
        const char *help = s_options [index].help;
        fprintf (out, "  %-19s", s_options [index].flags);
        for (const char *line = help; line; ) {
            const char *newline = strchr (line, '\n');
            int length = newline? (int) (newline - line): (int) strlen (line);
            fprintf (out, "%s%.*s\n", line == help? "": "                     ", length, line);
            line = newline? newline + 1: NULL;
        }
    }
    fprintf (out, "\n%s\n\n%s\n\n%s\n\n", s_check_text, s_exit_text, s_safety_text);
    ht_config_print_help (out);
}

//  hutongd(8), from the same texts as --help
static void
s_man_hutongd (FILE *out)
{
    fprintf (out, ".\\\" -*- coding: utf-8 -*-\n.TH HUTONGD 8 \"\" \"hutong %s\" \"Hutong\"\n"
                  ".SH NAME\nhutongd \\- the Hutong node daemon\n"
                  ".SH SYNOPSIS\n.B hutongd\n\\fB\\-\\-config\\fR \\fIFILE\\fR "
                  "[\\fB\\-\\-check\\fR [\\fB\\-\\-online\\fR] [\\fB\\-\\-json\\fR]]\n"
                  ".SH DESCRIPTION\n", S_VERSION);
    ht_roff_text (out, s_description);
    fprintf (out, ".PP\nThe configuration keys are described in\n.BR hutongd.cfg (5).\n"
                  ".SH OPTIONS\n");
    for (size_t index = 0; index < S_OPTION_COUNT; index++) {
        fprintf (out, ".TP\n.B ");
        ht_roff_inline (out, s_options [index].flags + strspn (s_options [index].flags, " "));
        fputc ('\n', out);
        ht_roff_text (out, s_options [index].help);
    }
    fprintf (out, ".SH CHECKS\n");
    ht_roff_text (out, s_check_text);
    fprintf (out, ".SH EXIT STATUS\n");
    ht_roff_text (out, s_exit_text);
    fprintf (out, ".SH FILES\n");
    ht_roff_text (out, s_safety_text);
    fprintf (out, ".SH SEE ALSO\n.BR hutong (1),\n.BR hutongd.cfg (5),\n"
                  ".BR systemd.exec (5)\n");
}

//  hutongd.cfg(5), from the configuration key table
static void
s_man_config (FILE *out)
{
    fprintf (out, ".\\\" -*- coding: utf-8 -*-\n.TH HUTONGD.CFG 5 \"\" \"hutong %s\" \"Hutong\"\n"
                  ".SH NAME\nhutongd.cfg \\- configuration of the Hutong node daemon\n"
                  ".SH SYNOPSIS\n/etc/hutong/hutongd.cfg\n"
                  ".SH DESCRIPTION\n", S_VERSION);
    ht_config_print_roff (out);
    fprintf (out, ".SH SEE ALSO\n.BR hutongd (8),\n.BR hutong (1)\n");
}

//  Print "hutongd: <message>" to stderr and return S_EXIT_FAILURE
static int
s_fail (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "hutongd: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    return S_EXIT_FAILURE;
}

//  A problem that stops the node: with --check a failed check named
//  name, else "hutongd: <message>" on stderr. Returns S_EXIT_FAILURE.
static int
s_refuse (s_daemon_t *self, const char *name, const char *format, ...)
{
    char message [S_MESSAGE_MAX_CHARS];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    if (self->check)
        ht_check_note (self->check, name, false, "%s", message);
    else
        fprintf (stderr, "hutongd: %s\n", message);
    return S_EXIT_FAILURE;
}

//  Take <store>/hutongd.lock so two daemons never serve one store (other
//  processes, like 'hutong put', may still write: LMDB is multi-process
//  safe). We write our pid into the lock file, so it must be our own
//  plain file: a symbolic or hard link planted under that name would
//  have us truncate whatever it points at. Returns the held fd, or -1
//  after printing why.
static int
s_lock_store (const char *store_path)
{
    char lock_path [PATH_MAX + 16], pid_text [32] = "", reason [S_MESSAGE_MAX_CHARS];
    snprintf (lock_path, sizeof lock_path, "%s/%s", store_path, HT_CHECK_LOCK_FILE);
    int error = HT_OK, pid = 0;
    int fd = ht_check_lock_take (store_path, &pid, &error, reason, sizeof reason);
    if (fd < 0 && error == HT_ELOCKED) {
        if (pid)
            s_fail ("store %s is in use by another hutongd (pid %d)", store_path, pid);
        else
            s_fail ("store %s is in use by another hutongd (pid unknown)", store_path);
    }
    else
    if (fd < 0 && error == HT_EIO && errno == ENOENT)
        s_fail ("node/store: %s does not exist (create it with 'hutong init')", store_path);
    else
    if (fd < 0 && error == HT_EUNSAFE)
        s_fail ("node/store: %s (remove it: hutongd makes its own lock file)", reason);
    else
    if (fd < 0)
        s_fail ("node/store: cannot open %s", reason);
    if (fd < 0)
        return -1;
    int length = snprintf (pid_text, sizeof pid_text, "%d\n", (int) getpid ());
    if (ftruncate (fd, 0) != 0 || pwrite (fd, pid_text, (size_t) length, 0) != length)
        fprintf (stderr, "hutongd: warning: cannot write pid to %s: %s\n",
                 lock_path, strerror (errno));
    return fd;
}

//  Open the store and check it is the one config describes; NULL after
//  Sign in the schema versions the configuration names (readers are
//  upgraded first, writers switched after), and leave them in the store
//  so that hutong put --store on it writes the same
static void
s_write_versions (const ht_config_t *config, ht_store_t *store)
{
    for (size_t index = 0; index < HT_CONFIG_WRITE_KINDS; index++) {
        const char *kind = ht_config_write_kinds [index];
        int version = config->write_version [index];
        const ht_kind_t *schema = ht_schema_kind (kind);
        char name [32];
        snprintf (name, sizeof name, "wv:%s", kind);
        if (schema && ht_schema_set_write_version (kind, version? (uint16_t) version
                                                               : schema->version) != HT_OK)
            ht_log_warning ("hutongd: schema/write_version/%s: %d not applied", kind,
                            version);
        if (ht_store_set_counter (store, name, (uint64_t) version) != HT_OK)
            ht_log_warning ("hutongd: cannot record schema/write_version/%s in the store",
                            kind);
    }
}

//  printing why
static ht_store_t *
s_open_store (s_daemon_t *self)
{
    const ht_config_t *config = &self->config;
    int code = 0;
    uint8_t anchor [HT_PUBKEY_BYTES];
    ht_store_t *store = ht_store_open (config->store_path, config->map_bytes, &code);
    if (!store && code == HT_ENOTFOUND)
        s_refuse (self, "store", "node/store: %s %s (create it with 'hutong init')", config->store_path,
                  access (config->store_path, F_OK) == 0? "holds no store": "does not exist");
    else
    if (!store)
        s_refuse (self, "store", "node/store: cannot open %s: %s", config->store_path, ht_strerror (code));
    else
    if (!streq (ht_store_region (store), config->region))
        s_refuse (self, "store", "node/region: %s, but the store at %s belongs to region %s",
                  config->region, config->store_path, ht_store_region (store));
    else
    if (ht_public_load (config->anchor, anchor) != 0
    ||  memcmp (anchor, ht_store_anchor (store), HT_PUBKEY_BYTES) != 0)
        s_refuse (self, "store", "node/anchor: %s is not the root key the store at %s trusts",
                  config->anchor, config->store_path);
    else
    if (ht_store_set_ingest_window (store, (uint64_t) config->ingest_behind_s * 1000,
                                    (uint64_t) config->ingest_ahead_s * 1000) != 0)
        s_refuse (self, "store", "node/store: cannot write the ingest window into %s", config->store_path);
    else {
        //  The window lives in the store, so hutong put --store on this
        //  store applies the same one
        s_write_versions (config, store);
        //  Every writer of the store holds to the cap; on a full disk it
        //  is stored with the first batch that fits
        if (ht_store_set_map_limit (store, config->map_limit_bytes) != HT_OK)
            ht_log_warning ("hutongd: limits/map_limit_mb not yet stored in %s (the disk is "
                            "full?): this node holds to it, hutong put --store to the one "
                            "stored before until a write fits", config->store_path);
        ht_store_set_verbose (store, ht_config_log_enabled (config, "warning"));
        ht_store_set_quarantine_limits (store, (uint64_t) config->quarantine_entries,
                                        config->quarantine_bytes);
        return store;
    }
    ht_store_destroy (&store);
    return NULL;
}

//  SIGHUP re-reads the file; SIGTERM and SIGINT end the loop
static int
s_on_signal (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    s_daemon_t *self = (s_daemon_t *) arg;
    struct signalfd_siginfo info;
    if (read (item->fd, &info, sizeof info) != (ssize_t) sizeof info)
        return 0;
    if (info.ssi_signo != SIGHUP) {
        if (ht_config_log_enabled (&self->config, "info"))
            ht_log_info ("hutongd: stopping");
        return -1;
    }
    char error [S_MESSAGE_MAX_CHARS], log_error [S_MESSAGE_MAX_CHARS];
    bool reloaded = ht_path_check (self->config_path, error, sizeof error) != HT_EUNSAFE
                 && ht_config_reload (self->config_path, &self->config, error,
                                      sizeof error) == 0;
    //  logrotate sends SIGHUP after moving log/file away: reopen it even
    //  if the new configuration is refused
    if (ht_log_open (&self->config, log_error, sizeof log_error) != HT_OK)
        ht_log_error ("hutongd: %s; logging where it did", log_error);
    if (!reloaded) {
        ht_log_error ("hutongd: configuration not reloaded, keeping the old one: %s", error);
        return 0;
    }
    zsock_send (self->node, "sb", "RELOAD", &self->config, sizeof self->config);
    if (ht_config_log_enabled (&self->config, "info"))
        ht_log_info ("hutongd: configuration reloaded");
    return 0;
}

//  The node speaks only when asked, so a message now means its thread
//  ended (czmq then sends a signal) or something went wrong
static int
s_on_node (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    s_daemon_t *self = (s_daemon_t *) arg;
    zmsg_t *message = zmsg_recv (pipe);
    if (!message || zmsg_signal (message) >= 0) {
        ht_log_error ("hutongd: node actor stopped unexpectedly; exiting");
        //  Nobody is left to answer ht_node_destroy's $TERM: do not wait
        zsock_set_rcvtimeo (pipe, 0);
    }
    else {
        char *command = zmsg_popstr (message);
        ht_log_error ("hutongd: node actor sent unexpected '%.40s'; stopping",
                      command? command: "");
        zstr_free (&command);
    }
    zmsg_destroy (&message);
    self->exit_code = S_EXIT_NODE_DIED;
    return -1;
}

//  Ask the node for its bound endpoints and log that it started
static int
s_log_started (s_daemon_t *self)
{
    char *node_endpoint = NULL, *client_endpoint = NULL;
    zsock_set_rcvtimeo (self->node, S_ENDPOINTS_TIMEOUT_MS);
    int rc = zstr_send (self->node, "ENDPOINTS") == 0
          && zstr_recvx (self->node, &node_endpoint, &client_endpoint, NULL) == 2? 0: -1;
    zsock_set_rcvtimeo (self->node, -1);
    if (rc == 0 && ht_config_log_enabled (&self->config, "info"))
        ht_log_info ("hutongd: %s (%s) started; node %s, client %s, parent %s",
                     self->config.name, self->config.region,
                     *node_endpoint? node_endpoint: "none",
                     *client_endpoint? client_endpoint: "none",
                     *self->config.parent? self->config.parent: "none");
    if (rc != 0)
        ht_log_error ("hutongd: node actor did not answer ENDPOINTS");
    zstr_free (&node_endpoint);
    zstr_free (&client_endpoint);
    return rc;
}

//  Run the node until a signal or a failure stops it
static int
s_serve (s_daemon_t *self, ht_store_t **store_p, const sigset_t *signals)
{
    int signal_fd = signalfd (-1, signals, SFD_CLOEXEC);
    if (signal_fd < 0)
        return s_fail ("signalfd: %s", strerror (errno));
    zloop_t *loop = zloop_new ();
    zmq_pollitem_t signal_item = { NULL, signal_fd, ZMQ_POLLIN, 0 };
    self->exit_code = S_EXIT_FAILURE;
    self->node = ht_node_new (&self->config, store_p);
    if (!self->node)
        ht_log_error ("hutongd: node did not start");
    else
    if (s_log_started (self) == 0
    &&  zloop_poller (loop, &signal_item, s_on_signal, self) == 0
    &&  zloop_reader (loop, zactor_sock (self->node), s_on_node, self) == 0) {
        self->exit_code = S_EXIT_OK;
        zloop_start (loop);         //  until a handler returns -1
    }
    zloop_destroy (&loop);
    ht_node_destroy (&self->node);  //  finishes the batch in flight
    close (signal_fd);
    return self->exit_code;
}

//  Parse the command line into self. Returns -1 to go on, or the exit
//  code after --help, --version, --man or a usage error.
static int
s_parse_args (int argc, char **argv, s_daemon_t *self)
{
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        if ((streq (arg, "--config") || streq (arg, "-c")) && index + 1 < argc)
            self->config_path = argv [++index];
        else
        if (streq (arg, "--config") || streq (arg, "-c")) {
            fprintf (stderr, "hutongd: %s needs a FILE (see hutongd --help)\n", arg);
            return S_EXIT_USAGE;
        }
        else
        if (streq (arg, "--check"))
            self->check_only = true;
        else
        if (streq (arg, "--online"))
            self->online = true;
        else
        if (streq (arg, "--json"))
            self->json = true;
        else
        if (streq (arg, "--help") || streq (arg, "-h")) {
            s_usage (stdout);
            return S_EXIT_OK;
        }
        else
        if (streq (arg, "--version")) {
            printf ("hutongd %s\n", S_VERSION);
            return S_EXIT_OK;
        }
        else
        //  Not in --help: the build runs it to make the manual pages
        if (streq (arg, "--man") && index + 1 < argc
        &&  (streq (argv [index + 1], "8") || streq (argv [index + 1], "5"))) {
            if (streq (argv [++index], "8"))
                s_man_hutongd (stdout);
            else
                s_man_config (stdout);
            return S_EXIT_OK;
        }
        else {
            fprintf (stderr, "hutongd: unexpected argument '%s' (see hutongd --help)\n", arg);
            return S_EXIT_USAGE;
        }
    }
    if (!self->config_path) {
        fprintf (stderr, "hutongd: --config FILE is required (see hutongd --help)\n");
        return S_EXIT_USAGE;
    }
    if ((self->online || self->json) && !self->check_only) {
        fprintf (stderr, "hutongd: %s goes with --check (see hutongd --help)\n",
                 self->online? "--online": "--json");
        return S_EXIT_USAGE;
    }
    return -1;
}

//  Refuse a store or key directory others may write: they could swap
//  the store or the key under us. A store that is missing is left for
//  s_open_store to report. Returns 0, or S_EXIT_FAILURE after saying why.
static int
s_check_paths (s_daemon_t *self)
{
    char reason [S_MESSAGE_MAX_CHARS];
    int code = ht_path_check (self->config.store_path, reason, sizeof reason);
    if (code == HT_EUNSAFE || (code && errno != ENOENT))
        return s_refuse (self, "store", "node/store: %s", reason);
    if (ht_path_check_parent (self->config.key_file, reason, sizeof reason))
        return s_refuse (self, "key", "node/key: %s", reason);
    return 0;
}

//  --check: report on the configuration, its store and what the node
//  would meet, then exit 0 if every check passed
static int
s_check (s_daemon_t *self)
{
    ht_store_t *store = s_check_paths (self) == 0? s_open_store (self): NULL;
    if (store)
        ht_check_node (self->check, &self->config, store, self->online);
    ht_store_destroy (&store);
    return S_EXIT_OK;               //  main counts the failed checks
}

//  With a loaded config: lock the store and serve
static int
s_run (s_daemon_t *self, const sigset_t *signals)
{
    char error [S_MESSAGE_MAX_CHARS];
    if (s_check_paths (self) != 0)
        return S_EXIT_FAILURE;
    if (ht_log_open (&self->config, error, sizeof error) != HT_OK)
        return s_fail ("%s", error);
    int lock_fd = s_lock_store (self->config.store_path);
    if (lock_fd < 0)
        return S_EXIT_FAILURE;
    int exit_code = S_EXIT_FAILURE;
    ht_store_t *store = s_open_store (self);
    if (store)
        exit_code = s_serve (self, &store, signals);
    ht_store_destroy (&store);      //  still ours if the node never took it
    close (lock_fd);                //  releases the flock
    ht_log_close ();
    return exit_code;
}

//  Load the configuration, then check or run
static int
s_start (s_daemon_t *self, const sigset_t *signals)
{
    //  A config file others may write is theirs, whatever it says
    char error [S_MESSAGE_MAX_CHARS];
    if (ht_path_check (self->config_path, error, sizeof error) == HT_EUNSAFE)
        return s_refuse (self, "config", "--config: %s", error);
    if (ht_config_load (self->config_path, &self->config, error, sizeof error) != 0)
        return s_refuse (self, "config", "%s", error);
    if (self->check)
        ht_check_note (self->check, "config", true, "%s is valid", self->config_path);
    return self->check? s_check (self): s_run (self, signals);
}

int
main (int argc, char **argv)
{
    //  Block the signals before any thread exists so every thread inherits
    //  the mask and they reach only our signalfd; czmq must not catch them
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGHUP);
    sigprocmask (SIG_BLOCK, &signals, NULL);
    setenv ("ZSYS_SIGHANDLER", "false", 1);
    //  One malloc arena for the whole process: batches are decoded on
    //  short-lived worker threads, and per-thread arenas would keep what
    //  they freed, so a node at rest could not give its memory back
    mallopt (M_ARENA_MAX, 1);

    s_daemon_t self;
    memset (&self, 0, sizeof self);
    int exit_code = s_parse_args (argc, argv, &self);
    if (exit_code >= 0)
        return exit_code;
    if (sodium_init () < 0)
        return s_fail ("libsodium failed to initialise");
    if (self.check_only)
        self.check = ht_check_new (self.config_path, self.json, stdout, stderr);
    exit_code = s_start (&self, &signals);
    if (self.check)
        exit_code = ht_check_finish (self.check)? S_EXIT_FAILURE: S_EXIT_OK;
    ht_check_destroy (&self.check);
    return exit_code;
}
