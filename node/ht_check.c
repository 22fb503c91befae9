//  ht_check: `hutongd --check` (see ht_check.h). Each check says what it
//  found in one sentence an operator can act on; the fixes are in
//  docs/operations.md ("Checking a node").
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "ht_check.h"
#include "ht_gate.h"
#include "ht_hlc.h"
#include "ht_keys.h"
#include "ht_linkmon.h"
#include "ht_msg.h"
#include "ht_path.h"

#define S_MESSAGE_MAX_CHARS 1024
#define S_HEX_KEY_CHARS (2 * HT_PUBKEY_BYTES)
#define S_POLL_SLICE_MS 50          //  wait at most this long per poll

struct _ht_check_t {
    const char *config_path;        //  the file being checked (borrowed)
    bool json;                      //  print JSON at the end, not lines
    FILE *out;                      //  where passed checks and JSON go
    FILE *err;                      //  where failed checks go
    json_t *checks;                 //  [{check, ok, message}]
    size_t failed;                  //  checks that failed
    const ht_config_t *config;      //  for the summary line, or NULL
};

ht_check_t *
ht_check_new (const char *config_path, bool json, FILE *out, FILE *err)
{
    ht_check_t *self = (ht_check_t *) zmalloc (sizeof (ht_check_t));
    self->config_path = config_path;
    self->json = json;
    self->out = out;
    self->err = err;
    self->checks = json_array ();
    return self;
}

void
ht_check_destroy (ht_check_t **self_p)
{
    ht_check_t *self = *self_p;
    if (self) {
        json_decref (self->checks);
        free (self);
        *self_p = NULL;
    }
}

void
ht_check_note (ht_check_t *self, const char *name, bool ok, const char *format, ...)
{
    char message [S_MESSAGE_MAX_CHARS];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    if (!ok)
        self->failed++;
    json_array_append_new (self->checks, json_pack ("{s:s, s:b, s:s}", "check", name,
                                                    "ok", ok, "message", message));
    if (!self->json) {
        fflush (self->out);         //  in order on a terminal
        fprintf (ok? self->out: self->err, "%-4s %-7s %s\n", ok? "ok": "FAIL", name, message);
    }
}

size_t
ht_check_finish (ht_check_t *self)
{
    if (self->json) {
        json_t *report = json_pack ("{s:s, s:b, s:I, s:O}", "config", self->config_path,
                                    "ok", self->failed == 0, "failed",
                                    (json_int_t) self->failed, "checks", self->checks);
        if (self->config)
            json_object_set_new (report, "name", json_string (self->config->name));
        char *text = json_dumps (report, JSON_COMPACT);
        fprintf (self->out, "%s\n", text? text: "{}");
        free (text);
        json_decref (report);
    }
    else
    if (self->failed == 0 && self->config)
        fprintf (self->out, "hutongd: %s OK: %s (%s), store %s\n", self->config_path,
                 self->config->name, self->config->region, self->config->store_path);
    else
    if (self->failed)
        fprintf (self->err, "hutongd: %s: %zu check%s failed\n", self->config_path,
                 self->failed, self->failed == 1? "": "s");
    return self->failed;
}

//  --------------------------------------------------------------------------
//  The lock

int
ht_check_lock (const char *store_path, int *pid, char *reason, size_t reason_size)
{
    char lock_path [PATH_MAX + 16], pid_text [32] = "";
    snprintf (lock_path, sizeof lock_path, "%s/%s", store_path, HT_CHECK_LOCK_FILE);
    *pid = 0;
    int error = HT_OK;
    //  Read-only and never created: a check leaves the store as it was
    int fd = ht_path_open (lock_path, O_RDONLY, 0, &error, reason, reason_size);
    if (fd < 0 && error == HT_EIO && errno == ENOENT)
        return 0;
    if (fd < 0)
        return error;
    int held = 0;
    if (flock (fd, LOCK_SH | LOCK_NB) != 0) {
        held = 1;
        ssize_t size = pread (fd, pid_text, sizeof pid_text - 1, 0);
        pid_text [size > 0? size: 0] = 0;
        *pid = atoi (pid_text);
    }
    close (fd);                     //  releases our shared lock, if we got it
    return held;
}

int
ht_check_lock_take (const char *store_path, int *pid, int *error, char *reason,
                    size_t reason_size)
{
    char lock_path [PATH_MAX + 16], pid_text [32] = "";
    snprintf (lock_path, sizeof lock_path, "%s/%s", store_path, HT_CHECK_LOCK_FILE);
    *pid = 0;
    *error = HT_OK;
    int fd = ht_path_open (lock_path, O_RDWR | O_CREAT, 0644, error, reason, reason_size);
    if (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) != 0) {
        ssize_t size = pread (fd, pid_text, sizeof pid_text - 1, 0);
        pid_text [size > 0? size: 0] = 0;
        *pid = atoi (pid_text);
        *error = HT_ELOCKED;
        close (fd);
        fd = -1;
    }
    return fd;
}

static void
s_check_lock (ht_check_t *self, const ht_config_t *config)
{
    char reason [S_MESSAGE_MAX_CHARS];
    int pid = 0;
    int rc = ht_check_lock (config->store_path, &pid, reason, sizeof reason);
    if (rc == 0)
        ht_check_note (self, "lock", true, "no hutongd runs on store %s", config->store_path);
    else
    if (rc == 1 && pid)
        ht_check_note (self, "lock", false, "store %s is in use by a running hutongd (pid %d); "
                       "stop it first (systemctl stop hutongd)", config->store_path, pid);
    else
    if (rc == 1)
        ht_check_note (self, "lock", false, "store %s is in use by a running hutongd; stop "
                       "it first (systemctl stop hutongd)", config->store_path);
    else
        ht_check_note (self, "lock", false, "cannot tell whether a hutongd runs on the "
                       "store: %s", reason);
}

//  --------------------------------------------------------------------------
//  Keys and certificates

//  "YYYY-MM-DD" of a time in ms since 1970 (UTC)
static void
s_date (uint64_t at_ms, char *text, size_t size)
{
    time_t seconds = (time_t) (at_ms / 1000);
    struct tm utc;
    gmtime_r (&seconds, &utc);
    strftime (text, size, "%Y-%m-%d", &utc);
}

static void
s_check_own_key (ht_check_t *self, const ht_config_t *config, ht_store_t *store)
{
    int error = HT_OK;
    ht_keypair_t *key = ht_keypair_load (config->key_file, &error);
    if (!key) {
        ht_check_note (self, "key", false, "node/key: cannot load %s: %s", config->key_file,
                       ht_strerror (error));
        return;
    }
    char hex [S_HEX_KEY_CHARS + 1], until [16];
    ht_hex_encode (ht_keypair_public (key), HT_PUBKEY_BYTES, hex);
    //  Our own key asks the gate as a key of our region would on our
    //  client socket, claiming our region: its chain, window and
    //  revocations, all as of now. It must be a node's certificate.
    ht_gate_t gate = ht_gate_of_store (store, config->region, ht_hlc_wall_ms ());
    ht_cert_t cert;
    const char *reason = NULL;
    int rc = ht_gate_admit_key (&gate, HT_GATE_CLIENT_SOCKET, ht_keypair_public (key),
                                config->region, &cert, &reason);
    if (rc == HT_OK && cert.role != HT_ROLE_NODE)
        ht_check_note (self, "key", false, "node/key %s is certified as a %s, not as a "
                       "node; issue it a node certificate for %s", hex, ht_role_name (cert.role),
                       config->region);
    else
    if (rc == HT_OK) {
        s_date (cert.not_after_ms, until, sizeof until);
        ht_check_note (self, "key", true, "node/key %.16s... is certified as node '%s' of "
                       "%s until %s", hex, cert.name, config->region, until);
    }
    else
        ht_check_note (self, "key", false, "node/key %s has no valid certificate for region "
                       "%s in the store: %s (%s); have the parent issue one (hutong cert "
                       "issue) and store it (hutong put --store %s FILE.cert)", hex,
                       config->region, reason, ht_errname (rc), config->store_path);
    ht_keypair_destroy (&key);
}

//  What the store holds about a region's node certificates
typedef struct {
    const char *region;             //  the region asked about
    size_t count;                   //  node certificates found for it
    char first_hex [S_HEX_KEY_CHARS + 1];   //  the first one's key
    char first_name [HT_TEXT_BYTES (HT_CERT_NAME_MAX_CHARS)];
} s_region_certs_t;

static int
s_count_region_cert (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    s_region_certs_t *found = (s_region_certs_t *) arg;
    ht_cert_t cert;
    if (ht_record_deleted (record) || ht_cert_parse (record, &cert) != HT_OK
    ||  cert.role != HT_ROLE_NODE || !streq (cert.region, found->region))
        return 0;
    if (found->count++ == 0) {
        ht_hex_encode (cert.pubkey, HT_PUBKEY_BYTES, found->first_hex);
        snprintf (found->first_name, sizeof found->first_name, "%s", cert.name);
    }
    return 0;
}

//  Why the parent key was refused, with what the store does hold
static void
s_parent_refused (ht_check_t *self, const ht_config_t *config, ht_store_t *store,
                  const char *parent_region, const char *hex, int rc, const char *reason)
{
    s_region_certs_t found = { parent_region, 0, "", "" };
    //  Certificates of the region and below, the region's own among them
    ht_store_list (store, "cert", parent_region, NULL, 0, s_count_region_cert, &found);
    if (found.count && !streq (found.first_hex, hex))
        ht_check_note (self, "parent", false, "parent/key %s is not certified as the node "
                       "of parent region %s: %s (%s); the store's certificate for that region "
                       "names key %s ('%s'): set parent/key to the parent's node/key .pub",
                       hex, parent_region, reason, ht_errname (rc), found.first_hex,
                       found.first_name);
    else
    if (found.count)
        ht_check_note (self, "parent", false, "parent/key %s: its certificate for parent "
                       "region %s is not valid: %s (%s)", hex, parent_region, reason,
                       ht_errname (rc));
    else
        ht_check_note (self, "parent", false, "parent/key %s: the store holds no node "
                       "certificate for parent region %s (%s); store the parent's certificate "
                       "(hutong put --store %s PARENT.cert)", hex, parent_region, reason,
                       config->store_path);
}

static void
s_check_parent_key (ht_check_t *self, const ht_config_t *config, ht_store_t *store)
{
    char parent_region [HT_REGION_BYTES], hex [S_HEX_KEY_CHARS + 1];
    uint8_t pubkey [HT_PUBKEY_BYTES];
    if (!*config->parent) {
        ht_check_note (self, "parent", true, "no parent/endpoint: %s is the root of its "
                       "network", config->region);
        return;
    }
    if (ht_region_parent (config->region, parent_region) != HT_OK
    ||  ht_public_load (config->parent_key, pubkey) != HT_OK) {
        ht_check_note (self, "parent", false, "parent/key %s or node/region %s has no "
                       "parent to check against", config->parent_key, config->region);
        return;
    }
    ht_hex_encode (pubkey, HT_PUBKEY_BYTES, hex);
    //  The same question the running node asks of the key its parent
    //  link authenticated, with the parent's region claimed
    ht_gate_t gate = ht_gate_of_store (store, config->region, ht_hlc_wall_ms ());
    ht_cert_t cert;
    const char *reason = NULL;
    int rc = ht_gate_admit_key (&gate, HT_GATE_PARENT_LINK, pubkey, parent_region, &cert,
                                &reason);
    if (rc == HT_OK)
        ht_check_note (self, "parent", true, "parent/key %.16s... is certified as node '%s' "
                       "of parent region %s", hex, cert.name, parent_region);
    else
        s_parent_refused (self, config, store, parent_region, hex, rc, reason);
}

//  --------------------------------------------------------------------------
//  Ports

//  Can endpoint be bound now? NULL if so, else why not (static text or
//  zmq_strerror's) with *in_use set if someone else has it
static const char *
s_bind_problem (const char *endpoint, bool *in_use)
{
    *in_use = false;
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        //  Binding an ipc:// endpoint removes the socket file of whoever
        //  has it, so ask by connecting instead
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        snprintf (address.sun_path, sizeof address.sun_path, "%s", endpoint + 6);
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool taken = fd >= 0
                  && connect (fd, (struct sockaddr *) &address, sizeof address) == 0;
        if (fd >= 0)
            close (fd);
        *in_use = taken;
        return taken? "a process already listens there": NULL;
    }
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    const char *problem = NULL;
    if (!sock)
        problem = "cannot make a socket";
    else
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        *in_use = zmq_errno () == EADDRINUSE;
        problem = zmq_strerror (zmq_errno ());
    }
    zsock_destroy (&sock);          //  unbinds: the port is free again
    return problem;
}

static void
s_check_endpoint (ht_check_t *self, const char *name, const char *key, const char *endpoint)
{
    size_t length = strlen (endpoint);
    if (!length) {
        ht_check_note (self, name, true, "%s is not set", key);
        return;
    }
    if (length >= 2 && streq (endpoint + length - 2, ":*")) {
        ht_check_note (self, name, true, "%s %s takes a free port when the node starts",
                       key, endpoint);
        return;
    }
    bool in_use = false;
    const char *problem = s_bind_problem (endpoint, &in_use);
    if (!problem)
        ht_check_note (self, name, true, "%s %s is free", key, endpoint);
    else
    if (in_use)
        ht_check_note (self, name, false, "%s %s is in use: %s (another hutongd, or another "
                       "program: see ss -ltnp)", key, endpoint, problem);
    else
        ht_check_note (self, name, false, "%s %s cannot be bound: %s", key, endpoint, problem);
}

//  --------------------------------------------------------------------------
//  Online: say HELLO to the parent

//  A CURVE DEALER to the parent, as the node makes it, watched by monitor
static zsock_t *
s_parent_dealer (const ht_config_t *config, const ht_keypair_t *key,
                 const uint8_t *parent_curve, zsock_t **monitor_p)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_curve_serverkey_bin (dealer, parent_curve);
    zsock_set_curve_publickey_bin (dealer, ht_keypair_curve_public (key));
    zsock_set_curve_secretkey_bin (dealer, ht_keypair_curve_secret (key));
    zsock_set_linger (dealer, 0);
    zsock_set_sndtimeo (dealer, 0);
    *monitor_p = ht_linkmon_new (dealer);
    zsock_connect (dealer, "%s", config->parent);
    return dealer;
}

//  Tell what the link saw when no answer came in time
static void
s_no_answer (ht_check_t *self, const ht_config_t *config, const ht_linkmon_seen_t *seen,
             const char *hex)
{
    int timeout = config->peer_timeout_ms;
    if (seen->auth_status)
        ht_check_note (self, "online", false, "parent %s refused this node's key %s in the "
                       "CURVE handshake (ZAP status %d): the parent's store holds no valid "
                       "certificate for it as its child node; the parent's log names the key",
                       config->parent, hex, seen->auth_status);
    else
    if (!seen->connected)
        ht_check_note (self, "online", false, "parent %s: no connection within %d ms (%d "
                       "attempts failed): is the parent running, and is parent/endpoint its "
                       "node/listen?", config->parent, timeout, seen->retries);
    else
    if (!seen->handshaken)
        ht_check_note (self, "online", false, "parent %s: connected, but the CURVE handshake "
                       "did not complete within %d ms: parent/key is likely not the key of the "
                       "node listening there", config->parent, timeout);
    else
        ht_check_note (self, "online", false, "parent %s: no answer to HELLO within %d ms "
                       "after the CURVE handshake", config->parent, timeout);
}

//  The parent's answer to our HELLO
static void
s_on_answer (ht_check_t *self, const ht_config_t *config, zsock_t *dealer)
{
    zmsg_t *zmsg = zmsg_recv (dealer);
    ht_msg_t msg;
    const char *reason = NULL;
    if (!zmsg || ht_msg_decode (zmsg, &msg, &reason) != HT_OK)
        ht_check_note (self, "online", false, "parent %s answered with a malformed message: "
                       "%s", config->parent, reason? reason: "nothing");
    else
    if (streq (msg.command, HT_MSG_WELCOME))
        ht_check_note (self, "online", true, "parent %s answered WELCOME: '%s' (%s)",
                       config->parent, msg.name, msg.region);
    else
    if (streq (msg.command, HT_MSG_ERROR))
        ht_check_note (self, "online", false, "parent %s refused HELLO: %s: %s",
                       config->parent, msg.error, msg.text);
    else
        ht_check_note (self, "online", false, "parent %s answered HELLO with %s",
                       config->parent, msg.command);
    zmsg_destroy (&zmsg);
}

static void
s_check_online (ht_check_t *self, const ht_config_t *config, ht_store_t *store)
{
    if (!*config->parent) {
        ht_check_note (self, "online", true, "no parent to say HELLO to");
        return;
    }
    int error = HT_OK;
    ht_keypair_t *key = ht_keypair_load (config->key_file, &error);
    uint8_t parent_ed [HT_PUBKEY_BYTES], parent_curve [HT_CURVE_KEY_BYTES];
    if (!key || ht_public_load (config->parent_key, parent_ed) != HT_OK
    ||  ht_curve_public_from_ed25519 (parent_ed, parent_curve) != HT_OK) {
        ht_check_note (self, "online", false, "cannot load node/key or parent/key");
        ht_keypair_destroy (&key);
        return;
    }
    char hex [S_HEX_KEY_CHARS + 1];
    ht_hex_encode (ht_keypair_public (key), HT_PUBKEY_BYTES, hex);
    zsock_t *monitor = NULL;
    zsock_t *dealer = s_parent_dealer (config, key, parent_curve, &monitor);
    if (!monitor) {
        ht_check_note (self, "online", false, "cannot watch the link to the parent");
        zsock_destroy (&dealer);
        ht_keypair_destroy (&key);
        return;
    }
    //  The node's own HELLO: the identity a running node would give
    ht_msg_t hello;
    ht_msg_init (&hello, HT_MSG_HELLO);
    hello.version = HT_PROTOCOL_VERSION;
    snprintf (hello.region, sizeof hello.region, "%s", config->region);
    snprintf (hello.name, sizeof hello.name, "%s", config->name);
    memcpy (hello.epoch, ht_store_epoch (store), HT_MSG_EPOCH_BYTES);
    hello.has_epoch = true;
    hello.last_seq = ht_store_last_seq (store);
    zmsg_t *zmsg = ht_msg_encode (&hello);
    zmsg_send (&zmsg, dealer);      //  queued until the handshake is done
    zmsg_destroy (&zmsg);
    ht_linkmon_seen_t seen = { false, false, 0, false, 0 };
    zpoller_t *poller = zpoller_new (dealer, monitor, NULL);
    int64_t deadline = zclock_mono () + config->peer_timeout_ms;
    bool answered = false;
    //  A refusal in the handshake is not the last word: libzmq tries
    //  again, and a parent that has just stored our certificate admits
    //  the next attempt
    while (!answered && zclock_mono () < deadline) {
        zsock_t *ready = (zsock_t *) zpoller_wait (poller, S_POLL_SLICE_MS);
        if (ready == monitor)
            ht_linkmon_read (monitor, &seen);
        else
        if (ready == dealer) {
            s_on_answer (self, config, dealer);
            answered = true;
        }
    }
    if (!answered)
        s_no_answer (self, config, &seen, hex);
    zpoller_destroy (&poller);
    ht_linkmon_destroy (dealer, &monitor);
    zsock_destroy (&dealer);
    ht_keypair_destroy (&key);
}

//  --------------------------------------------------------------------------
//  Logs

//  Could log/file be opened for appending? Asked without creating it
static void
s_check_log (ht_check_t *self, const ht_config_t *config)
{
    if (!*config->log_file) {
        ht_check_note (self, "log", true, "log lines go to %s",
                       config->log_syslog? "syslog (or stderr if it does not answer)": "stderr");
        return;
    }
    char directory [PATH_MAX];
    snprintf (directory, sizeof directory, "%s", config->log_file);
    char *slash = strrchr (directory, '/');
    if (slash)
        *(slash == directory? slash + 1: slash) = 0;
    else
        snprintf (directory, sizeof directory, ".");
    bool exists = access (config->log_file, F_OK) == 0;
    if (exists? access (config->log_file, W_OK) == 0: access (directory, W_OK | X_OK) == 0)
        ht_check_note (self, "log", true, "log/file %s can be written", config->log_file);
    else
        ht_check_note (self, "log", false, "log/file %s cannot be written by this user: "
                       "%s: %s", config->log_file, exists? config->log_file: directory,
                       strerror (errno));
}

void
ht_check_node (ht_check_t *self, const ht_config_t *config, ht_store_t *store, bool online)
{
    self->config = config;
    ht_check_note (self, "store", true, "%s belongs to region %s and trusts node/anchor",
                   config->store_path, config->region);
    s_check_lock (self, config);
    s_check_own_key (self, config, store);
    s_check_parent_key (self, config, store);
    s_check_endpoint (self, "listen", "node/listen", config->listen);
    s_check_endpoint (self, "client", "node/client", config->client_listen);
    s_check_log (self, config);
    if (online)
        s_check_online (self, config, store);
}
