//  ht_config: hutongd's configuration. One table (s_keys) lists every key;
//  defaults, parsing, validation, reload and --help all walk it, so a new
//  key is one line here plus one field in ht_config_t (Redis
//  static_configs). Files are ZPL, parsed by czmq's zconfig.
#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include "ht_config.h"
#include "ht_policy.h"
#include "ht_schema.h"
#include "ht_keys.h"
#include "ht_metrics.h"
#include "ht_log.h"
#include "ht_roff.h"
#include "ht_valid.h"

#define S_PATH_MAX_CHARS 128        //  longest key path we build from a file
#define S_ERROR_MAX_CHARS 512       //  scratch for messages
#define S_MAX_DEPTH 4               //  deepest ZPL nesting we walk
#define S_SUGGEST_DISTANCE 3        //  edit distance for "did you mean"
#define S_MEBIBYTE (1024u * 1024u)

//  How a key's text value is parsed and checked
typedef enum {
    S_TYPE_STRING,                  //  free text
    S_TYPE_PATH,                    //  a file or directory path
    S_TYPE_SECRET_KEY,              //  a key file that must be 0600
    S_TYPE_PUBLIC_KEY,              //  a public key file or 64 hex digits
    S_TYPE_BIND,                    //  an endpoint to bind
    S_TYPE_CONNECT,                 //  an endpoint to connect to
    S_TYPE_INT,                     //  integer in [min, max]
    S_TYPE_MEBIBYTES,               //  integer MiB in [min, max], stored as bytes
    S_TYPE_BOOL,                    //  true/false, yes/no, 1/0
    S_TYPE_LEVEL,                   //  error, warning, info, debug
    S_TYPE_REGION                   //  a 12-digit region code
} s_type_t;

#define S_REQUIRED   1              //  the file must set it
#define S_RELOADABLE 2              //  SIGHUP applies it without a restart

//  One configuration key
typedef struct {
    const char *path;               //  "section/name" in the ZPL tree
    s_type_t type;                  //  how the value is parsed
    const char *default_value;      //  text form, NULL for none
    long min;                       //  bounds for integer types
    long max;
    int flags;                      //  S_REQUIRED, S_RELOADABLE
    size_t offset;                  //  field in ht_config_t
    size_t size;                    //  field size in bytes
    const char *help;               //  one or two lines for --help
} s_key_t;

#define S_FIELD(member) \
    offsetof (ht_config_t, member), sizeof (((ht_config_t *) 0)->member)

static const s_key_t s_keys [] = {
    { "node/region", S_TYPE_REGION, NULL, 0, 0, S_REQUIRED, S_FIELD (region),
      "This node's 12-digit region code (e.g. 441802000000); must match the store" },
    { "node/key", S_TYPE_SECRET_KEY, NULL, 0, 0, S_REQUIRED, S_FIELD (key_file),
      "This node's key file (hutong keygen); mode 0600, signs and encrypts" },
    { "node/key_passphrase_file", S_TYPE_PATH, "", 0, 0, 0, S_FIELD (key_passphrase_file),
      "For an encrypted node/key: file holding its passphrase (0600 or 0400); empty: "
      "$HUTONG_PASSPHRASE or the systemd credential hutong-key-passphrase" },
    { "node/anchor", S_TYPE_PUBLIC_KEY, NULL, 0, 0, S_REQUIRED, S_FIELD (anchor),
      "The city root's public key (file or 64 hex digits); must match the store" },
    { "node/store", S_TYPE_PATH, NULL, 0, 0, S_REQUIRED, S_FIELD (store_path),
      "Store directory made by 'hutong init'; holds hutongd.lock while running" },
    { "node/listen", S_TYPE_BIND, "", 0, 0, 0, S_FIELD (listen),
      "Endpoint child nodes connect to, e.g. tcp://*:7700; empty for a leaf" },
    { "node/client", S_TYPE_BIND, "", 0, 0, 0, S_FIELD (client_listen),
      "Endpoint for department and partner clients; empty for none" },
    { "node/name", S_TYPE_STRING, "", 0, 0, 0, S_FIELD (name),
      "Label in logs and status; defaults to node/region" },
    { "parent/endpoint", S_TYPE_CONNECT, "", 0, 0, 0, S_FIELD (parent),
      "Parent node's node/listen endpoint; empty on the root (city) node" },
    { "parent/key", S_TYPE_PUBLIC_KEY, "", 0, 0, 0, S_FIELD (parent_key),
      "Parent node's public key (file or hex); required with parent/endpoint" },
    { "limits/batch", S_TYPE_INT, "5000", 1, 100000, S_RELOADABLE,
      S_FIELD (batch_records), "Most records per replication batch (one transaction)" },
    { "limits/heartbeat_ms", S_TYPE_INT, "1000", 50, 60000, S_RELOADABLE,
      S_FIELD (heartbeat_ms), "Ping an idle peer this often" },
    { "limits/peer_timeout_ms", S_TYPE_INT, "5000", 200, 600000, S_RELOADABLE,
      S_FIELD (peer_timeout_ms), "A peer silent this long is dead; must exceed heartbeat_ms" },
    { "limits/reconnect_min_ms", S_TYPE_INT, "100", 10, 60000, S_RELOADABLE,
      S_FIELD (reconnect_min_ms), "First reconnect delay; later ones back off up to reconnect_max_ms" },
    { "limits/reconnect_max_ms", S_TYPE_INT, "5000", 100, 600000, S_RELOADABLE,
      S_FIELD (reconnect_max_ms), "Reconnect delay cap; at least reconnect_min_ms" },
    { "limits/poll_ms", S_TYPE_INT, "20", 5, 10000, S_RELOADABLE,
      S_FIELD (poll_ms), "Check the store this often for writes by 'hutong put'" },
    { "limits/pull_wait_ms", S_TYPE_INT, "2000", 0, 600000, S_RELOADABLE,
      S_FIELD (pull_wait_ms), "A PULL finding nothing waits at the neighbour this long for news "
      "(long poll; at most peer_timeout_ms/2); 0: answered at once, NOTIFY only" },
    { "limits/map_mb", S_TYPE_MEBIBYTES, "256", 1, 1048576, 0,
      S_FIELD (map_bytes), "Initial LMDB map size in MiB; grows on demand" },
    { "limits/map_limit_mb", S_TYPE_MEBIBYTES, "0", 0, 1048576, 0,
      S_FIELD (map_limit_bytes), "Cap on the store's size in MiB, kept in the store for every "
      "writer (hutong put --store too); past it writes fail as store_full; 0 for none" },
    { "limits/client_rate", S_TYPE_INT, "50", 1, 100000, S_RELOADABLE,
      S_FIELD (client_rate), "Requests a second one client key may make; more get rate_limited" },
    { "limits/client_burst", S_TYPE_INT, "100", 1, 100000, S_RELOADABLE,
      S_FIELD (client_burst), "Requests one client key may make at once, then client_rate" },
    { "limits/ingest_behind_s", S_TYPE_INT, "600", 1, 86400, 0,
      S_FIELD (ingest_behind_s), "A record written here may be at most this many seconds old (else stale)" },
    { "limits/ingest_ahead_s", S_TYPE_INT, "300", 1, 300, 0,
      S_FIELD (ingest_ahead_s), "A record written here may be at most this many seconds ahead (else clock)" },
    { "limits/clock_skew_s", S_TYPE_INT, "60", 1, 150, S_RELOADABLE,
      S_FIELD (clock_skew_s), "A neighbour's clock this many seconds off ours is reported (clock_skew); "
      "ours that far ahead of the parent's refuses writes dated by it" },
    { "limits/quarantine_retry_s", S_TYPE_INT, "30", 1, 3600, S_RELOADABLE,
      S_FIELD (quarantine_retry_s), "Retry records quarantined for a cause that can go away "
      "(clock, no_cert, schema_version) this often" },
    { "limits/quarantine_entries", S_TYPE_INT, "10000", 10, 10000000, 0,
      S_FIELD (quarantine_entries), "Quarantine entries kept per source (neighbour, client); oldest dropped" },
    { "limits/quarantine_mb", S_TYPE_MEBIBYTES, "16", 1, 65536, 0,
      S_FIELD (quarantine_bytes), "Quarantine MiB kept per source (neighbour, client); oldest dropped" },
    { "schema/write_version/cert", S_TYPE_INT, "0", 0, 65535, 0,
      S_FIELD (write_version [0]), "Schema version cert records are written in; 0: this build's newest" },
    { "schema/write_version/credit", S_TYPE_INT, "0", 0, 65535, 0,
      S_FIELD (write_version [1]), "Schema version credit records are written in; 0: this build's newest" },
    { "schema/write_version/elder", S_TYPE_INT, "0", 0, 65535, 0,
      S_FIELD (write_version [2]), "Schema version elder records are written in; 0: this build's newest" },
    { "schema/write_version/facility", S_TYPE_INT, "0", 0, 65535, 0,
      S_FIELD (write_version [3]), "Schema version facility records are written in; 0: this build's newest" },
    { "schema/write_version/revocation", S_TYPE_INT, "0", 0, 65535, 0,
      S_FIELD (write_version [4]), "Schema version revocations are written in; 0: this build's newest" },
    { "policy/file", S_TYPE_PATH, "", 0, 0, S_RELOADABLE, S_FIELD (policy_file),
      "Read policy file (conf/policy.cfg's format); empty: the built-in conf/policy.cfg" },
    { "log/level", S_TYPE_LEVEL, "info", 0, 0, S_RELOADABLE,
      S_FIELD (log_level), "Least severe level logged: error, warning, info or debug" },
    { "log/syslog", S_TYPE_BOOL, "no", 0, 0, S_RELOADABLE,
      S_FIELD (log_syslog), "yes: log to syslog (ident hutongd) instead of stderr" },
    { "metrics/listen", S_TYPE_STRING, "", 0, 0, 0, S_FIELD (metrics_listen),
      "HTTP /metrics and /healthz on PORT or 127.0.0.1:PORT; empty: off" },
    { "metrics/remote", S_TYPE_BOOL, "no", 0, 0, 0, S_FIELD (metrics_remote),
      "yes: let metrics/listen be a non-loopback address (the endpoint has no authentication)" },
    { "health/unseen_s", S_TYPE_INT, "60", 1, 86400, S_RELOADABLE, S_FIELD (unseen_s),
      "A peer not heard for this many seconds is a warning (status, /healthz)" },
    { "log/file", S_TYPE_PATH, "", 0, 0, S_RELOADABLE, S_FIELD (log_file),
      "Append log lines to this file instead of stderr; reopened on SIGHUP (logrotate)" },
};

#define S_KEY_COUNT (sizeof (s_keys) / sizeof (s_keys [0]))

const char *const ht_config_write_kinds [HT_CONFIG_WRITE_KINDS] = {
    "cert", "credit", "elder", "facility", "revocation" };

static const char *const s_levels [] = { "error", "warning", "info", "debug" };
#define S_LEVEL_COUNT ((int) (sizeof (s_levels) / sizeof (s_levels [0])))

//  What one load has seen so far
typedef struct {
    ht_config_t *config;            //  being filled
    bool seen [S_KEY_COUNT];        //  key was set by the file
    char *error;                    //  caller's message buffer
    size_t error_size;
} s_loader_t;

//  Write a message into error and return code
static int
s_fail (char *error, size_t error_size, int code, const char *format, ...)
{
    if (error && error_size) {
        va_list args;
        va_start (args, format);
        vsnprintf (error, error_size, format, args);
        va_end (args);
    }
    return code;
}

//  The key with this path, or NULL
static const s_key_t *
s_key_find (const char *path)
{
    for (size_t index = 0; index < S_KEY_COUNT; index++)
        if (streq (s_keys [index].path, path))
            return &s_keys [index];
    return NULL;
}

//  Where a key's value lives in config
static void *
s_field (ht_config_t *config, const s_key_t *key)
{
    return (char *) config + key->offset;
}

//  Rank of a log level name, -1 if unknown
static int
s_level_rank (const char *level)
{
    for (int rank = 0; rank < S_LEVEL_COUNT; rank++)
        if (streq (s_levels [rank], level))
            return rank;
    return -1;
}

//  --------------------------------------------------------------------------
//  Values

//  Parse a whole decimal integer within the key's bounds
static int
s_parse_int (const s_key_t *key, const char *value, long *number,
             char *error, size_t error_size)
{
    char *end = NULL;
    errno = 0;
    long parsed = strtol (value, &end, 10);
    if (*value == 0 || isspace ((unsigned char) *value) || *end != 0 || errno)
        return s_fail (error, error_size, HT_ECONFIG,
                       "%s: '%s' is not an integer", key->path, value);
    if (parsed < key->min || parsed > key->max)
        return s_fail (error, error_size, HT_ECONFIG, "%s: %ld is out of range %ld..%ld",
                       key->path, parsed, key->min, key->max);
    *number = parsed;
    return 0;
}

//  Parse true/false, yes/no, 1/0 (any case)
static int
s_parse_bool (const s_key_t *key, const char *value, bool *flag,
              char *error, size_t error_size)
{
    if (!strcasecmp (value, "true") || !strcasecmp (value, "yes") || streq (value, "1"))
        *flag = true;
    else
    if (!strcasecmp (value, "false") || !strcasecmp (value, "no") || streq (value, "0"))
        *flag = false;
    else
        return s_fail (error, error_size, HT_ECONFIG,
                       "%s: '%s' is not a boolean (true/false, yes/no, 1/0)",
                       key->path, value);
    return 0;
}

//  Problem with a tcp:// address "host:port", or NULL if it is fine
static const char *
s_tcp_problem (const char *address, bool bind)
{
    const char *colon = strrchr (address, ':');
    if (!colon || colon == address)
        return "needs tcp://host:port";
    const char *port = colon + 1;
    if (streq (port, "*"))
        return bind? NULL: "ephemeral port '*' can only be bound, not connected to";
    if (colon - address == 1 && *address == '*' && !bind)
        return "cannot connect to host '*'";
    char *end = NULL;
    long number = strtol (port, &end, 10);
    if (*port == 0 || !isdigit ((unsigned char) *port) || *end != 0
    ||  number < 1 || number > 65535)
        return "port must be 1..65535 (or '*' to bind an ephemeral port)";
    return NULL;
}

//  Problem with an endpoint, or NULL; "" means "none" and is fine
static const char *
s_endpoint_problem (const char *value, bool bind)
{
    for (const char *scan = value; *scan; scan++)
        if (isspace ((unsigned char) *scan) || iscntrl ((unsigned char) *scan))
            return "contains white space";
    if (*value == 0)
        return NULL;
    if (strncmp (value, "tcp://", 6) == 0)
        return s_tcp_problem (value + 6, bind);
    if (strncmp (value, "ipc://", 6) == 0)
        return value [6]? NULL: "ipc:// needs a path";
    if (strncmp (value, "inproc://", 9) == 0)
        return value [9]? NULL: "inproc:// needs a name";
    return "is not tcp://host:port, ipc://path or inproc://name";
}

//  Check a secret key file: readable, 0600, well-formed
static int
s_check_secret_key (const s_key_t *key, const char *path, char *error, size_t error_size)
{
    int code = HT_OK;
    ht_keypair_t *keypair = ht_keypair_load (path, &code);
    int saved_errno = errno;
    ht_keypair_destroy (&keypair);
    //  An encrypted key is opened when the node starts, with its passphrase
    if (code == HT_EPASSPHRASE)
        return 0;
    if (code == HT_EKEYMODE)
        return s_fail (error, error_size, HT_ECONFIG,
                       "%s: %s is readable by group or others (chmod 600)", key->path, path);
    if (code == HT_EIO)
        return s_fail (error, error_size, HT_ECONFIG, "%s: cannot read %s: %s",
                       key->path, path, strerror (saved_errno));
    if (code != HT_OK)
        return s_fail (error, error_size, HT_ECONFIG, "%s: %s is not a valid key file (%s)",
                       key->path, path, ht_strerror (code));
    return 0;
}

//  Check a public key: 64 hex digits or a readable key file
static int
s_check_public_key (const s_key_t *key, const char *value, char *error, size_t error_size)
{
    uint8_t public_key [HT_PUBKEY_BYTES];
    errno = 0;
    int code = ht_public_load (value, public_key);
    if (code == HT_EIO)
        return s_fail (error, error_size, HT_ECONFIG, "%s: cannot read %s: %s",
                       key->path, value, strerror (errno? errno: ENOENT));
    if (code != HT_OK)
        return s_fail (error, error_size, HT_ECONFIG,
                       "%s: %s is neither a public key file nor 64 hex digits",
                       key->path, value);
    return 0;
}

//  Problem with a text value of key's type; 0 or HT_ECONFIG
static int
s_check_type (const s_key_t *key, const char *value, char *error, size_t error_size)
{
    const char *reason = NULL;
    if (*value == 0 && (key->flags & S_REQUIRED))
        return 0;                   //  s_check_required names it as missing
    switch (key->type) {
        case S_TYPE_REGION:
            if (ht_region_check (value, &reason) != 0)
                return s_fail (error, error_size, HT_ECONFIG, "%s: '%s' is not a valid region code: %s",
                               key->path, value, reason);
            return 0;
        case S_TYPE_BIND:
        case S_TYPE_CONNECT:
            reason = s_endpoint_problem (value, key->type == S_TYPE_BIND);
            return reason? s_fail (error, error_size, HT_ECONFIG, "%s: '%s' %s",
                                   key->path, value, reason): 0;
        case S_TYPE_LEVEL:
            if (s_level_rank (value) < 0)
                return s_fail (error, error_size, HT_ECONFIG,
                               "%s: '%s' is not one of error, warning, info, debug",
                               key->path, value);
            return 0;
        case S_TYPE_SECRET_KEY:
            return *value? s_check_secret_key (key, value, error, error_size): 0;
        case S_TYPE_PUBLIC_KEY:
            return *value? s_check_public_key (key, value, error, error_size): 0;
        case S_TYPE_STRING:
            //  Free text travels (node/name in HELLO, which a parent
            //  refuses unless it is UTF-8) and shows in status JSON
            if (!ht_utf8_valid (value, strlen (value)))
                return s_fail (error, error_size, HT_ECONFIG,
                               "%s: value is not UTF-8 text", key->path);
            return 0;
        default:
            return 0;
    }
}

//  Check a text value by its type, then that it fits its field
static int
s_check_text (const s_key_t *key, const char *value, char *error, size_t error_size)
{
    int rc = s_check_type (key, value, error, error_size);
    if (rc == 0 && strlen (value) >= key->size)
        rc = s_fail (error, error_size, HT_ECONFIG,
                     "%s: value is too long (at most %zu characters)",
                     key->path, key->size - 1);
    return rc;
}

//  Parse value for key into config; 0 or HT_ECONFIG naming the key
static int
s_set (ht_config_t *config, const s_key_t *key, const char *value,
       char *error, size_t error_size)
{
    long number = 0;
    int rc = 0;
    switch (key->type) {
        case S_TYPE_INT:
            assert (key->size == sizeof (int));
            rc = s_parse_int (key, value, &number, error, error_size);
            if (rc == 0)
                *(int *) s_field (config, key) = (int) number;
            return rc;
        case S_TYPE_MEBIBYTES:
            assert (key->size == sizeof (size_t));
            rc = s_parse_int (key, value, &number, error, error_size);
            if (rc == 0)
                *(size_t *) s_field (config, key) = (size_t) number * S_MEBIBYTE;
            return rc;
        case S_TYPE_BOOL:
            assert (key->size == sizeof (bool));
            return s_parse_bool (key, value, (bool *) s_field (config, key), error, error_size);
        default:
            rc = s_check_text (key, value, error, error_size);
            if (rc == 0) {
                memset (s_field (config, key), 0, key->size);
                memcpy (s_field (config, key), value, strlen (value));
            }
            return rc;
    }
}

void
ht_config_defaults (ht_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof *config);
    for (size_t index = 0; index < S_KEY_COUNT; index++) {
        if (!s_keys [index].default_value)
            continue;
        char error [S_ERROR_MAX_CHARS];
        int rc = s_set (config, &s_keys [index], s_keys [index].default_value,
                        error, sizeof error);
        assert (rc == 0);           //  the table's own defaults must parse
        (void) rc;
    }
}

//  --------------------------------------------------------------------------
//  Unknown keys: suggest the nearest known one

//  Levenshtein distance, or INT_MAX for texts longer than we bother with
static int
s_distance (const char *first, const char *second)
{
    size_t first_length = strlen (first), second_length = strlen (second);
    if (first_length > S_PATH_MAX_CHARS || second_length > S_PATH_MAX_CHARS)
        return INT_MAX;
    int previous [S_PATH_MAX_CHARS + 1], current [S_PATH_MAX_CHARS + 1];
    for (size_t column = 0; column <= second_length; column++)
        previous [column] = (int) column;
    for (size_t row = 1; row <= first_length; row++) {
        current [0] = (int) row;
        for (size_t column = 1; column <= second_length; column++) {
            int replace = previous [column - 1] + (first [row - 1] != second [column - 1]);
            int insert = current [column - 1] + 1, remove = previous [column] + 1;
            current [column] = replace < insert? (replace < remove? replace: remove)
                                               : (insert < remove? insert: remove);
        }
        memcpy (previous, current, (second_length + 1) * sizeof (int));
    }
    return previous [second_length];
}

//  The part of a path after its last '/'
static const char *
s_leaf (const char *path)
{
    const char *slash = strrchr (path, '/');
    return slash? slash + 1: path;
}

//  The known key an unknown path most likely meant, or NULL: the same
//  name in another section ("batch" -> "limits/batch"), else the nearest
//  path by edit distance ("limits/bacth" -> "limits/batch")
static const char *
s_suggest (const char *path)
{
    for (size_t index = 0; index < S_KEY_COUNT; index++)
        if (streq (s_leaf (s_keys [index].path), s_leaf (path)))
            return s_keys [index].path;
    const char *best = NULL;
    int best_distance = S_SUGGEST_DISTANCE + 1;
    for (size_t index = 0; index < S_KEY_COUNT; index++) {
        int distance = s_distance (path, s_keys [index].path);
        if (distance < best_distance) {
            best_distance = distance;
            best = s_keys [index].path;
        }
    }
    return best;
}

//  True if path names a section ("limits") of some key
static bool
s_is_section (const char *path)
{
    size_t length = strlen (path);
    for (size_t index = 0; index < S_KEY_COUNT; index++)
        if (strncmp (s_keys [index].path, path, length) == 0
        &&  s_keys [index].path [length] == '/')
            return true;
    return false;
}

//  --------------------------------------------------------------------------
//  Walking the ZPL tree

//  Apply one leaf item (path = value) of the file
static int
s_load_leaf (s_loader_t *self, const char *path, const char *value)
{
    const s_key_t *key = s_key_find (path);
    if (!key && *value == 0 && s_is_section (path))
        return 0;                   //  an empty section: nothing to set
    if (!key) {
        const char *suggestion = s_suggest (path);
        if (suggestion)
            return s_fail (self->error, self->error_size, HT_ECONFIG,
                           "%s: unknown key (did you mean %s?)", path, suggestion);
        return s_fail (self->error, self->error_size, HT_ECONFIG,
                       "%s: unknown key (see hutongd --help)", path);
    }
    size_t index = (size_t) (key - s_keys);
    //  Two settings of one key are a merge accident, not an override
    if (self->seen [index])
        return s_fail (self->error, self->error_size, HT_ECONFIG,
                       "%s: set more than once", path);
    self->seen [index] = true;
    return s_set (self->config, key, value, self->error, self->error_size);
}

//  path = prefix "/" name (or name alone at the root); false if it does
//  not fit (checked by length, not by snprintf's truncation, which
//  optimizing compilers rightly warn about)
static bool
s_join_path (char *path, size_t size, const char *prefix, const char *name)
{
    size_t prefix_size = strlen (prefix), name_size = strlen (name);
    size_t total = prefix_size + (prefix_size? 1: 0) + name_size;
    if (total >= size)
        return false;
    memcpy (path, prefix, prefix_size);
    if (prefix_size)
        path [prefix_size++] = '/';
    memcpy (path + prefix_size, name, name_size);
    path [total] = 0;
    return true;
}

//  Walk the children of item, whose path is prefix ("" at the root)
static int
s_load_children (s_loader_t *self, zconfig_t *item, const char *prefix, int depth)
{
    for (zconfig_t *child = zconfig_child (item); child; child = zconfig_next (child)) {
        char path [S_PATH_MAX_CHARS + 1];
        const char *value = zconfig_value (child)? zconfig_value (child): "";
        if (!s_join_path (path, sizeof path, prefix, zconfig_name (child))
        ||  depth >= S_MAX_DEPTH)
            return s_fail (self->error, self->error_size, HT_ECONFIG,
                           "%.60s...: unknown key (nested too deep)", prefix);
        int rc = 0;
        if (!zconfig_child (child))
            rc = s_load_leaf (self, path, value);
        else
        if (*value)
            rc = s_fail (self->error, self->error_size, HT_ECONFIG,
                         "%s: has a value and keys indented under it", path);
        else
            rc = s_load_children (self, child, path, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Whole-file checks

//  Every required key must be set to something
static int
s_check_required (const s_loader_t *self)
{
    for (size_t index = 0; index < S_KEY_COUNT; index++) {
        const s_key_t *key = &s_keys [index];
        if ((key->flags & S_REQUIRED)
        &&  (!self->seen [index] || *(const char *) s_field (self->config, key) == 0))
            return s_fail (self->error, self->error_size, HT_ECONFIG,
                           "%s: required key is missing", key->path);
    }
    return 0;
}

//  Rules that relate two keys
static int
s_check_relations (const ht_config_t *config, char *error, size_t error_size)
{
    if (*config->parent && !*config->parent_key)
        return s_fail (error, error_size, HT_ECONFIG,
                       "parent/key: required when parent/endpoint is set");
    if (!*config->parent && *config->parent_key)
        return s_fail (error, error_size, HT_ECONFIG,
                       "parent/key: set but parent/endpoint is not");
    if (config->peer_timeout_ms <= config->heartbeat_ms)
        return s_fail (error, error_size, HT_ECONFIG,
                       "limits/peer_timeout_ms: %d must exceed limits/heartbeat_ms (%d)",
                       config->peer_timeout_ms, config->heartbeat_ms);
    if (config->reconnect_max_ms < config->reconnect_min_ms)
        return s_fail (error, error_size, HT_ECONFIG,
                       "limits/reconnect_max_ms: %d is below limits/reconnect_min_ms (%d)",
                       config->reconnect_max_ms, config->reconnect_min_ms);
    if (config->map_limit_bytes && config->map_limit_bytes < config->map_bytes)
        return s_fail (error, error_size, HT_ECONFIG,
                       "limits/map_limit_mb: %zu is below limits/map_mb (%zu)",
                       config->map_limit_bytes / S_MEBIBYTE, config->map_bytes / S_MEBIBYTE);
    //  Writers switch to a schema version only once readers know it: a
    //  version this build does not know cannot be written
    for (size_t index = 0; index < HT_CONFIG_WRITE_KINDS; index++) {
        const ht_kind_t *kind = ht_schema_kind (ht_config_write_kinds [index]);
        int version = config->write_version [index];
        if (kind && version > (int) kind->version)
            return s_fail (error, error_size, HT_ECONFIG,
                           "schema/write_version/%s: %d, but this build knows %s up to "
                           "version %u (upgrade it first)", kind->name, version, kind->name,
                           (unsigned) kind->version);
    }
    //  A policy file with a mistake is refused as a whole (and on SIGHUP
    //  the node keeps the policies it had)
    if (*config->policy_file) {
        char problem [320];
        ht_policyset_t *policies = ht_policyset_load (config->policy_file, problem,
                                                      sizeof problem);
        if (!policies)
            return s_fail (error, error_size, HT_ECONFIG, "policy/file: %s", problem);
        ht_policyset_destroy (&policies);
    }
    //  The metrics are unauthenticated: off the loopback only when asked
    if (*config->metrics_listen) {
        struct sockaddr_in addr;
        bool loopback = false;
        const char *reason = NULL;
        if (ht_metrics_parse_listen (config->metrics_listen, &addr, &loopback, &reason))
            return s_fail (error, error_size, HT_ECONFIG, "metrics/listen: '%s': %s",
                           config->metrics_listen, reason);
        if (!loopback && !config->metrics_remote)
            return s_fail (error, error_size, HT_ECONFIG, "metrics/listen: '%s' is not a "
                           "loopback address; set metrics/remote = yes to serve it anyway",
                           config->metrics_listen);
    }
    //  Ephemeral ports differ on every bind, so only fixed ones can clash
    size_t length = strlen (config->listen);
    if (length && streq (config->listen, config->client_listen)
    &&  !(length >= 2 && streq (config->listen + length - 2, ":*")))
        return s_fail (error, error_size, HT_ECONFIG,
                       "node/client: same endpoint as node/listen (%s)", config->listen);
    return 0;
}

//  zconfig reports ZPL syntax errors only on stdout, so find the first
//  bad line ourselves for the message. This mirrors zconfig's few rules;
//  it only explains a failure, it never decides one.
static const char *
s_zpl_problem (const char *line)
{
    size_t spaces = strspn (line, " ");
    if (line [spaces] == '\t')
        return "tabs are not allowed; indent with 4 spaces per level";
    if (line [spaces] == 0 || line [spaces] == '#' || line [spaces] == '\n')
        return NULL;
    if (spaces % 4)
        return "indent by 4 spaces per level";
    const char *scan = line + spaces;
    while (isalnum ((unsigned char) *scan) || (*scan && strchr ("$-_@.&+/", *scan)))
        scan++;
    if (scan == line + spaces)
        return "expected 'name = value'";
    scan += strspn (scan, " \t\r\n");
    if (*scan == 0 || *scan == '#')
        return NULL;
    if (*scan != '=')
        return "expected 'name = value'";
    scan += 1 + strspn (scan + 1, " \t");
    if ((*scan == '"' || *scan == '\'') && !strchr (scan + 1, *scan))
        return "missing closing quote";
    return NULL;
}

//  Explain why zconfig rejected text, the contents of path
static int
s_syntax_error (const char *path, char *text, char *error, size_t error_size)
{
    int line_number = 0;
    const char *problem = NULL;
    for (char *line = text; line && !problem; ) {
        char *newline = strchr (line, '\n');
        if (newline)
            *newline = 0;
        line_number++;
        problem = s_zpl_problem (line);
        line = newline? newline + 1: NULL;
    }
    if (problem)
        return s_fail (error, error_size, HT_ECONFIG, "%s: line %d: %s",
                       path, line_number, problem);
    return s_fail (error, error_size, HT_ECONFIG,
                   "%s: not valid ZPL (indent 4 spaces per level, 'name = value')", path);
}

//  Read path into a zconfig tree, or NULL with the reason in error. We
//  slurp the file ourselves: zconfig_load leaks its zfile_t when the
//  text does not parse (czmq 4.2), and we want the text for the message.
static zconfig_t *
s_read_file (const char *path, int *code, char *error, size_t error_size)
{
    struct stat info;
    if (stat (path, &info) != 0 || access (path, R_OK) != 0) {
        *code = s_fail (error, error_size, HT_EIO, "cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    if (!S_ISREG (info.st_mode)) {
        *code = s_fail (error, error_size, HT_EIO, "cannot read %s: %s", path,
                        S_ISDIR (info.st_mode)? strerror (EISDIR): "not a regular file");
        return NULL;
    }
    zchunk_t *chunk = zchunk_slurp (path, 0);
    if (!chunk) {
        *code = s_fail (error, error_size, HT_EIO, "cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    zconfig_t *tree = zconfig_chunk_load (chunk);
    if (!tree) {
        char *text = zchunk_strdup (chunk);
        *code = text? s_syntax_error (path, text, error, error_size): HT_ENOMEM;
        zstr_free (&text);
    }
    zchunk_destroy (&chunk);
    return tree;
}

int
ht_config_load (const char *path, ht_config_t *config, char *error, size_t error_size)
{
    assert (path && config);
    ht_config_t *loaded = calloc (1, sizeof *loaded);
    s_loader_t loader = { loaded, { false }, error, error_size };
    zconfig_t *tree = NULL;
    int code = HT_ENOMEM;
    if (!loaded)
        goto cleanup;
    ht_config_defaults (loaded);
    tree = s_read_file (path, &code, error, error_size);
    if (!tree)
        goto cleanup;
    code = s_load_children (&loader, tree, "", 0);
    if (code == 0)
        code = s_check_required (&loader);
    if (code == 0)
        code = s_check_relations (loaded, error, error_size);
    if (code == 0 && *loaded->name == 0)
        memcpy (loaded->name, loaded->region, sizeof loaded->region);
    if (code == 0)
        *config = *loaded;          //  all or nothing: the caller's copy is untouched on error
cleanup:
    if (code == HT_ENOMEM)
        s_fail (error, error_size, code, "out of memory reading %s", path);
    zconfig_destroy (&tree);
    free (loaded);
    return code;
}

int
ht_config_reload (const char *path, ht_config_t *config, char *error, size_t error_size)
{
    assert (path && config);
    ht_config_t *fresh = calloc (1, sizeof *fresh);
    if (!fresh)
        return s_fail (error, error_size, HT_ENOMEM, "out of memory reading %s", path);
    int code = ht_config_load (path, fresh, error, error_size);
    for (size_t index = 0; code == 0 && index < S_KEY_COUNT; index++) {
        const s_key_t *key = &s_keys [index];
        if (key->flags & S_RELOADABLE)
            memcpy (s_field (config, key), s_field (fresh, key), key->size);
        else
        if (memcmp (s_field (config, key), s_field (fresh, key), key->size) != 0)
            ht_log_warning ("config: %s changed; restart hutongd to apply", key->path);
    }
    free (fresh);
    return code;
}

//  --------------------------------------------------------------------------
//  Help and logging

//  Name of a type for --help
static const char *
s_type_name (s_type_t type)
{
    switch (type) {
        case S_TYPE_PATH:       return "path";
        case S_TYPE_SECRET_KEY: return "key file";
        case S_TYPE_PUBLIC_KEY: return "public key";
        case S_TYPE_BIND:
        case S_TYPE_CONNECT:    return "endpoint";
        case S_TYPE_INT:        return "integer";
        case S_TYPE_MEBIBYTES:  return "MiB";
        case S_TYPE_BOOL:       return "boolean";
        case S_TYPE_LEVEL:      return "level";
        case S_TYPE_REGION:     return "region";
        default:                return "text";
    }
}

void
ht_config_print_help (FILE *out)
{
    fprintf (out, "Configuration keys (ZPL: a section line, then its keys indented\n"
                  "4 spaces as 'name = value'; keys marked reload take effect on\n"
                  "SIGHUP, the others need a restart):\n\n");
    for (size_t index = 0; index < S_KEY_COUNT; index++) {
        const s_key_t *key = &s_keys [index];
        char detail [S_ERROR_MAX_CHARS];
        int length = snprintf (detail, sizeof detail, "%s", s_type_name (key->type));
        if (key->type == S_TYPE_INT || key->type == S_TYPE_MEBIBYTES)
            length += snprintf (detail + length, sizeof detail - (size_t) length,
                                ", %ld..%ld", key->min, key->max);
        if (key->default_value && *key->default_value)
            snprintf (detail + length, sizeof detail - (size_t) length,
                      ", default %s", key->default_value);
        fprintf (out, "  %-24s %s%s%s\n      %s\n", key->path, detail,
                 key->flags & S_REQUIRED? ", required": "",
                 key->flags & S_RELOADABLE? ", reload": "", key->help);
    }
}

void
ht_config_print_roff (FILE *out)
{
    fprintf (out, "hutongd reads one file in czmq's ZPL format: a section name on its own\n"
                  "line, then that section's keys indented by 4 spaces as\n"
                  ".IR \"name = value\" .\n"
                  "A line starting with # is a comment. Keys marked\n.I reload\n"
                  "take effect on SIGHUP (systemctl reload hutongd); the others need a\n"
                  "restart. Check a file with\n.BR \"hutongd \\-\\-config FILE \\-\\-check\" .\n"
                  ".SH KEYS\n");
    for (size_t index = 0; index < S_KEY_COUNT; index++) {
        const s_key_t *key = &s_keys [index];
        fprintf (out, ".TP\n.B ");
        ht_roff_inline (out, key->path);
        fprintf (out, "\n.RI \"(%s", s_type_name (key->type));
        if (key->type == S_TYPE_INT || key->type == S_TYPE_MEBIBYTES)
            fprintf (out, ", %ld..%ld", key->min, key->max);
        if (key->default_value && *key->default_value) {
            fprintf (out, ", default ");
            ht_roff_inline (out, key->default_value);
        }
        fprintf (out, "%s%s)\"\n", key->flags & S_REQUIRED? ", required": "",
                 key->flags & S_RELOADABLE? ", reload": "");
        ht_roff_text (out, key->help);
    }
    fprintf (out, ".SH EXAMPLE\n.nf\n.RS\nnode\n    region = 441802000000\n"
                  "    key = /etc/hutong/keys/node.key\n    anchor = /etc/hutong/root.key.pub\n"
                  "    store = /var/lib/hutong/store\n    listen = tcp://*:7700\n"
                  "    client = tcp://*:7701\nparent\n    endpoint = tcp://city.example:7700\n"
                  "    key = /etc/hutong/parent.key.pub\nlog\n    level = info\n"
                  "    file = /var/log/hutong/hutongd.log\n.RE\n.fi\n"
                  ".SH FILES\n.TP\n.I /etc/hutong/hutongd.cfg\nthe configuration hutongd.service "
                  "starts with\n");
}

bool
ht_config_log_enabled (const ht_config_t *config, const char *level)
{
    assert (config && level);
    int wanted = s_level_rank (level);
    int threshold = s_level_rank (config->log_level);
    //  An unknown level is logged rather than lost
    return wanted < 0 || threshold < 0 || wanted <= threshold;
}
