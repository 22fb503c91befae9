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
#include "ht_config.h"
#include "ht_keys.h"
#include "ht_node.h"
#include "ht_schema.h"
#include "ht_path.h"
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
    ht_config_t config;             //  current settings
    zactor_t *node;                 //  the node actor
    int exit_code;                  //  set by whichever handler stops the loop
} s_daemon_t;

//  Print usage, exit codes and the configuration keys
static void
s_usage (FILE *out)
{
    fprintf (out,
        "Usage: hutongd --config FILE [--check]\n"
        "       hutongd --help | --version\n\n"
        "Runs one Hutong node. Signals: SIGTERM/SIGINT finish the batch in\n"
        "flight and stop; SIGHUP re-reads the keys marked reload below.\n\n"
        "  -c, --config FILE  configuration file (ZPL), e.g. /etc/hutong/hutongd.cfg\n"
        "      --check        validate FILE and open the store, then exit\n"
        "  -h, --help         show this help\n"
        "      --version      show the version\n\n"
        "Exit codes: 0 stopped cleanly, or --check passed; 1 could not start\n"
        "(invalid configuration, store missing, mismatched or in use by another\n"
        "hutongd, node failed to start); 2 bad command line; 3 the node failed\n"
        "while running (worth a restart). Messages go to stderr.\n\n"
        "hutongd refuses to start if FILE, the store directory or the directory\n"
        "holding node/key is a symbolic link or writable by group or others\n"
        "(fix with chmod go-w), or if <store>/hutongd.lock is not a plain file.\n\n");
    ht_config_print_help (out);
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
    snprintf (lock_path, sizeof lock_path, "%s/hutongd.lock", store_path);
    int error = HT_OK;
    int fd = ht_path_open (lock_path, O_RDWR | O_CREAT, 0644, &error, reason, sizeof reason);
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
    if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
        ssize_t size = pread (fd, pid_text, sizeof pid_text - 1, 0);
        pid_text [size > 0? strcspn (pid_text, "\n"): 0] = 0;
        s_fail ("store %s is in use by another hutongd (pid %s)", store_path,
                *pid_text? pid_text: "unknown");
        close (fd);
        return -1;
    }
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
            zsys_warning ("hutongd: schema/write_version/%s: %d not applied", kind, version);
        if (ht_store_set_counter (store, name, (uint64_t) version) != HT_OK)
            zsys_warning ("hutongd: cannot record schema/write_version/%s in the store", kind);
    }
}

//  printing why
static ht_store_t *
s_open_store (const ht_config_t *config)
{
    int code = 0;
    uint8_t anchor [HT_PUBKEY_BYTES];
    ht_store_t *store = ht_store_open (config->store_path, config->map_bytes, &code);
    if (!store && code == HT_ENOTFOUND)
        s_fail ("node/store: %s %s (create it with 'hutong init')", config->store_path,
                access (config->store_path, F_OK) == 0? "holds no store": "does not exist");
    else
    if (!store)
        s_fail ("node/store: cannot open %s: %s", config->store_path, ht_strerror (code));
    else
    if (!streq (ht_store_region (store), config->region))
        s_fail ("node/region: %s, but the store at %s belongs to region %s",
                config->region, config->store_path, ht_store_region (store));
    else
    if (ht_public_load (config->anchor, anchor) != 0
    ||  memcmp (anchor, ht_store_anchor (store), HT_PUBKEY_BYTES) != 0)
        s_fail ("node/anchor: %s is not the root key the store at %s trusts",
                config->anchor, config->store_path);
    else
    if (ht_store_set_ingest_window (store, (uint64_t) config->ingest_behind_s * 1000,
                                    (uint64_t) config->ingest_ahead_s * 1000) != 0)
        s_fail ("node/store: cannot write the ingest window into %s", config->store_path);
    else {
        //  The window lives in the store, so hutong put --store on this
        //  store applies the same one
        s_write_versions (config, store);
        ht_store_set_map_limit (store, config->map_limit_bytes);
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
            zsys_info ("hutongd: stopping");
        return -1;
    }
    char error [S_MESSAGE_MAX_CHARS];
    if (ht_path_check (self->config_path, error, sizeof error) == HT_EUNSAFE
    ||  ht_config_reload (self->config_path, &self->config, error, sizeof error) != 0) {
        zsys_error ("hutongd: configuration not reloaded, keeping the old one: %s", error);
        return 0;
    }
    ht_config_apply_log (&self->config);
    zsock_send (self->node, "sb", "RELOAD", &self->config, sizeof self->config);
    if (ht_config_log_enabled (&self->config, "info"))
        zsys_info ("hutongd: configuration reloaded");
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
        zsys_error ("hutongd: node actor stopped unexpectedly; exiting");
        //  Nobody is left to answer ht_node_destroy's $TERM: do not wait
        zsock_set_rcvtimeo (pipe, 0);
    }
    else {
        char *command = zmsg_popstr (message);
        zsys_error ("hutongd: node actor sent unexpected '%.40s'; stopping",
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
        zsys_info ("hutongd: %s (%s) started; node %s, client %s, parent %s",
                   self->config.name, self->config.region,
                   *node_endpoint? node_endpoint: "none", *client_endpoint? client_endpoint: "none",
                   *self->config.parent? self->config.parent: "none");
    if (rc != 0)
        zsys_error ("hutongd: node actor did not answer ENDPOINTS");
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
    ht_config_apply_log (&self->config);
    zloop_t *loop = zloop_new ();
    zmq_pollitem_t signal_item = { NULL, signal_fd, ZMQ_POLLIN, 0 };
    self->exit_code = S_EXIT_FAILURE;
    self->node = ht_node_new (&self->config, store_p);
    if (!self->node)
        zsys_error ("hutongd: node did not start");
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

//  Parse the command line into self and check_only. Returns -1 to go on,
//  or the exit code after --help, --version or a usage error.
static int
s_parse_args (int argc, char **argv, s_daemon_t *self, bool *check_only)
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
            *check_only = true;
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
        else {
            fprintf (stderr, "hutongd: unexpected argument '%s' (see hutongd --help)\n", arg);
            return S_EXIT_USAGE;
        }
    }
    if (!self->config_path) {
        fprintf (stderr, "hutongd: --config FILE is required (see hutongd --help)\n");
        return S_EXIT_USAGE;
    }
    return -1;
}

//  Refuse a store or key directory others may write: they could swap
//  the store or the key under us. A store that is missing is left for
//  s_run to report. Returns 0, or S_EXIT_FAILURE after printing why.
static int
s_check_paths (const ht_config_t *config)
{
    char reason [S_MESSAGE_MAX_CHARS];
    int code = ht_path_check (config->store_path, reason, sizeof reason);
    if (code == HT_EUNSAFE || (code && errno != ENOENT))
        return s_fail ("node/store: %s", reason);
    if (ht_path_check_parent (config->key_file, reason, sizeof reason))
        return s_fail ("node/key: %s", reason);
    return 0;
}

//  With a loaded config: check the store, or lock it and serve
static int
s_run (s_daemon_t *self, bool check_only, const sigset_t *signals)
{
    int lock_fd = check_only? -1: s_lock_store (self->config.store_path);
    if (!check_only && lock_fd < 0)
        return S_EXIT_FAILURE;
    int exit_code = S_EXIT_FAILURE;
    ht_store_t *store = s_open_store (&self->config);
    if (store && check_only) {
        printf ("hutongd: %s OK: %s (%s), store %s\n", self->config_path,
                self->config.name, self->config.region, self->config.store_path);
        exit_code = S_EXIT_OK;
    }
    else
    if (store)
        exit_code = s_serve (self, &store, signals);
    ht_store_destroy (&store);      //  still ours if the node never took it
    if (lock_fd >= 0)
        close (lock_fd);            //  releases the flock
    return exit_code;
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
    bool check_only = false;
    int exit_code = s_parse_args (argc, argv, &self, &check_only);
    if (exit_code >= 0)
        return exit_code;
    if (sodium_init () < 0)
        return s_fail ("libsodium failed to initialise");
    //  A config file others may write is theirs, whatever it says
    char error [S_MESSAGE_MAX_CHARS];
    if (ht_path_check (self.config_path, error, sizeof error) == HT_EUNSAFE)
        return s_fail ("--config: %s", error);
    if (ht_config_load (self.config_path, &self.config, error, sizeof error) != 0)
        return s_fail ("%s", error);
    if (s_check_paths (&self.config) != 0)
        return S_EXIT_FAILURE;
    return s_run (&self, check_only, &signals);
}
