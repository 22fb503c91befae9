//  test_config: hutongd's configuration — defaults, a full file, every kind
//  of bad value named by its key, reload, logging levels, --help, and the
//  example files in conf/.
#include <czmq.h>
#include <sys/stat.h>
#include "ht_config.h"
#include "ht_test.h"
#include "ht_fixture.h"

#ifndef HT_SOURCE_DIR
#   define HT_SOURCE_DIR "."
#endif

#define S_ERROR_CHARS 512
#define S_MIB (1024u * 1024u)

//  A temporary directory with the files a config names
typedef struct {
    char dir [HT_FIXTURE_DIR_CHARS];    //  everything lives here
    char key [PATH_MAX];                //  node key file, 0600
    char anchor [PATH_MAX];             //  root public key file
    char parent_key [PATH_MAX];         //  parent public key file
    char config [PATH_MAX];             //  the config file under test
    ht_config_t loaded;                 //  result of the last s_load
    char error [S_ERROR_CHARS];         //  message of the last s_load
} s_env_t;

//  --------------------------------------------------------------------------
//  Helpers

//  Write text to path with mode
static void
s_write_file (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    ck_assert_msg (file != NULL, "cannot write %s", path);
    fputs (text, file);
    fclose (file);
    ck_assert_int_eq (chmod (path, mode), 0);
}

//  Save a fresh key pair: secret to key_path (0600), public to pub_path
static void
s_make_keys (const char *key_path, const char *pub_path)
{
    ht_keypair_t *keypair = ht_keypair_new ("test");
    ck_assert_ptr_nonnull (keypair);
    if (key_path)
        ck_assert_int_eq (ht_keypair_save (keypair, key_path, true), 0);
    if (pub_path)
        ck_assert_int_eq (ht_keypair_save_public (keypair, pub_path, true), 0);
    ht_keypair_destroy (&keypair);
}

//  Set up a temporary directory with a node key, anchor and parent key
static void
s_env_init (s_env_t *env)
{
    memset (env, 0, sizeof *env);
    ht_fixture_tempdir (env->dir);
    snprintf (env->key, sizeof env->key, "%s/node.key", env->dir);
    snprintf (env->anchor, sizeof env->anchor, "%s/root.pub", env->dir);
    snprintf (env->parent_key, sizeof env->parent_key, "%s/parent.pub", env->dir);
    snprintf (env->config, sizeof env->config, "%s/hutongd.cfg", env->dir);
    s_make_keys (env->key, NULL);
    s_make_keys (NULL, env->anchor);
    s_make_keys (NULL, env->parent_key);
}

//  The node section with every required key, for region (caller frees)
static char *
s_node_section (const s_env_t *env, const char *region)
{
    return zsys_sprintf ("node\n"
                         "    region = %s\n"
                         "    key = %s\n"
                         "    anchor = %s\n"
                         "    store = %s/store\n",
                         region, env->key, env->anchor, env->dir);
}

//  Write text as the config and load it into env->loaded; returns the code
static int
s_load_text (s_env_t *env, const char *text)
{
    s_write_file (env->config, text, 0644);
    ht_config_defaults (&env->loaded);
    env->error [0] = 0;
    return ht_config_load (env->config, &env->loaded, env->error, sizeof env->error);
}

//  Load the node section for the county plus extra; returns the code.
//  extra lines indented 4 spaces continue the node section.
static int
s_load (s_env_t *env, const char *extra)
{
    char *node = s_node_section (env, HT_FIXTURE_COUNTY);
    char *text = zsys_sprintf ("%s%s", node, extra);
    int rc = s_load_text (env, text);
    zstr_free (&node);
    zstr_free (&text);
    return rc;
}

//  Assert that loading extra fails with HT_ECONFIG and a message holding needle
static void
s_assert_rejects (s_env_t *env, const char *extra, const char *needle)
{
    int rc = s_load (env, extra);
    ck_assert_msg (rc == HT_ECONFIG, "expected HT_ECONFIG for [%s], got %d (%s)",
                   extra, rc, env->error);
    ck_assert_msg (strstr (env->error, needle) != NULL,
                   "error '%s' does not contain '%s'", env->error, needle);
}

//  Assert that loading extra succeeds
static void
s_assert_accepts (s_env_t *env, const char *extra)
{
    int rc = s_load (env, extra);
    ck_assert_msg (rc == 0, "rejected [%s]: %s", extra, env->error);
}

//  Remove the temporary directory and everything in it
static void
s_env_cleanup (s_env_t *env)
{
    ht_fixture_rmrf (env->dir);
}

//  --------------------------------------------------------------------------
//  Defaults and a full file

START_TEST (defaults_match_the_documented_values)
{
    ht_config_t config;
    ht_config_defaults (&config);
    ck_assert_int_eq (config.batch_records, 5000);
    ck_assert_int_eq (config.heartbeat_ms, 1000);
    ck_assert_int_eq (config.peer_timeout_ms, 5000);
    ck_assert_int_eq (config.reconnect_min_ms, 100);
    ck_assert_int_eq (config.reconnect_max_ms, 5000);
    ck_assert_int_eq (config.poll_ms, 20);
    ck_assert_uint_eq (config.map_bytes, 256 * S_MIB);
    ck_assert_uint_eq (config.map_limit_bytes, 0);
    ck_assert_str_eq (config.log_level, "info");
    ck_assert (!config.log_syslog);
    ck_assert_str_eq (config.listen, "");
    ck_assert_str_eq (config.client_listen, "");
    ck_assert_str_eq (config.parent, "");
    ck_assert_str_eq (config.name, "");
}
END_TEST

START_TEST (a_full_valid_file_loads_every_key)
{
    s_env_t env;
    s_env_init (&env);
    char *extra = zsys_sprintf (
        "    name = \"清城区 county\"\n"
        "    listen = tcp://*:7700\n"
        "    client = tcp://127.0.0.1:*\n"
        "parent\n"
        "    endpoint = tcp://10.18.0.10:7700\n"
        "    key = %s\n"
        "limits\n"
        "    batch = 250\n"
        "    heartbeat_ms = 500\n"
        "    peer_timeout_ms = 2500\n"
        "    reconnect_min_ms = 50\n"
        "    reconnect_max_ms = 800\n"
        "    poll_ms = 20\n"
        "    map_mb = 64\n"
        "    map_limit_mb = 128\n"
        "log\n"
        "    level = debug\n"
        "    syslog = yes\n", env.parent_key);
    s_assert_accepts (&env, extra);
    const ht_config_t *config = &env.loaded;
    ck_assert_str_eq (config->region, HT_FIXTURE_COUNTY);
    ck_assert_str_eq (config->name, "清城区 county");
    ck_assert_str_eq (config->key_file, env.key);
    ck_assert_str_eq (config->anchor, env.anchor);
    ck_assert_str_eq (config->listen, "tcp://*:7700");
    ck_assert_str_eq (config->client_listen, "tcp://127.0.0.1:*");
    ck_assert_str_eq (config->parent, "tcp://10.18.0.10:7700");
    ck_assert_str_eq (config->parent_key, env.parent_key);
    ck_assert_int_eq (config->batch_records, 250);
    ck_assert_int_eq (config->heartbeat_ms, 500);
    ck_assert_int_eq (config->peer_timeout_ms, 2500);
    ck_assert_int_eq (config->reconnect_min_ms, 50);
    ck_assert_int_eq (config->reconnect_max_ms, 800);
    ck_assert_int_eq (config->poll_ms, 20);
    ck_assert_uint_eq (config->map_bytes, 64 * S_MIB);
    ck_assert_uint_eq (config->map_limit_bytes, 128 * S_MIB);
    ck_assert_str_eq (config->log_level, "debug");
    ck_assert (config->log_syslog);
    zstr_free (&extra);
    s_env_cleanup (&env);
}
END_TEST

START_TEST (the_name_defaults_to_the_region_and_the_rest_to_defaults)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_accepts (&env, "");
    ck_assert_str_eq (env.loaded.name, HT_FIXTURE_COUNTY);
    ck_assert_int_eq (env.loaded.batch_records, 5000);
    ck_assert_str_eq (env.loaded.listen, "");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (flat_key_paths_work_like_sections)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_accepts (&env, "limits/batch = 42\nlog/level = warning\n");
    ck_assert_int_eq (env.loaded.batch_records, 42);
    ck_assert_str_eq (env.loaded.log_level, "warning");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (an_anchor_may_be_given_as_hex)
{
    s_env_t env;
    s_env_init (&env);
    uint8_t public_key [HT_PUBKEY_BYTES];
    char hex [2 * HT_PUBKEY_BYTES + 1];
    ck_assert_int_eq (ht_public_load (env.anchor, public_key), 0);
    ht_hex_encode (public_key, HT_PUBKEY_BYTES, hex);
    char *text = zsys_sprintf ("node\n    region = %s\n    key = %s\n    anchor = %s\n"
                               "    store = /var/lib/hutong/store\n",
                               HT_FIXTURE_CITY, env.key, hex);
    ck_assert_msg (s_load_text (&env, text) == 0, "%s", env.error);
    ck_assert_str_eq (env.loaded.anchor, hex);
    zstr_free (&text);
    s_env_cleanup (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Bad input is named by its key

START_TEST (an_unknown_key_is_rejected_with_a_suggestion)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "limits\n    bacth = 10\n",
                      "limits/bacth: unknown key (did you mean limits/batch?)");
    s_assert_rejects (&env, "limit\n    poll_ms = 10\n",
                      "limit/poll_ms: unknown key (did you mean limits/poll_ms?)");
    s_assert_rejects (&env, "    batch = 10\n",
                      "node/batch: unknown key (did you mean limits/batch?)");
    s_assert_rejects (&env, "    listne = tcp://*:1\n", "did you mean node/listen?");
    s_assert_rejects (&env, "frobnicate\n    widgets = 3\n",
                      "frobnicate/widgets: unknown key");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_missing_required_key_is_named)
{
    static const char *const required [] = { "region", "key", "anchor", "store" };
    s_env_t env;
    s_env_init (&env);
    for (size_t skip = 0; skip < 4; skip++) {
        const char *values [4] = { HT_FIXTURE_COUNTY, env.key, env.anchor, "/tmp/store" };
        char *text = strdup ("node\n");
        for (size_t index = 0; index < 4; index++) {
            if (index == skip)
                continue;
            char *longer = zsys_sprintf ("%s    %s = %s\n", text, required [index], values [index]);
            free (text);
            text = longer;
        }
        ck_assert_int_eq (s_load_text (&env, text), HT_ECONFIG);
        char expected [64];
        snprintf (expected, sizeof expected, "node/%s: required key is missing", required [skip]);
        ck_assert_str_eq (env.error, expected);
        free (text);
    }
    //  An empty file, and an empty value, are as good as missing
    ck_assert_int_eq (s_load_text (&env, ""), HT_ECONFIG);
    ck_assert_str_eq (env.error, "node/region: required key is missing");
    ck_assert_int_eq (s_load_text (&env, "node\n    region = \"\"\n"), HT_ECONFIG);
    ck_assert_ptr_nonnull (strstr (env.error, "required key is missing"));
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_bad_region_is_named)
{
    s_env_t env;
    s_env_init (&env);
    const char *bad [] = { "4418", "4418000000001", "44180000000x", "991800000000",
                           "440018000000" };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        char *node = s_node_section (&env, bad [index]);
        ck_assert_int_eq (s_load_text (&env, node), HT_ECONFIG);
        ck_assert_msg (strncmp (env.error, "node/region: '", 14) == 0
                       && strstr (env.error, bad [index]), "%s", env.error);
        zstr_free (&node);
    }
    s_env_cleanup (&env);
}
END_TEST

//  Found by tests/fuzz/fuzz_config: such a name loaded, and every HELLO
//  it went into was refused by the parent as malformed
START_TEST (a_name_that_is_not_utf8_is_named)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "    name = \"qing\xff\"\n", "node/name: value is not UTF-8 text");
    s_assert_rejects (&env, "    name = \"\xe5\xbc\"\n", "node/name: value is not UTF-8 text");
    s_assert_accepts (&env, "    name = \"清城区 node\"\n");
    ck_assert_str_eq (env.loaded.name, "清城区 node");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (bad_and_out_of_bounds_integers_are_named)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "limits\n    batch = 12x\n", "limits/batch: '12x' is not an integer");
    s_assert_rejects (&env, "limits\n    batch = \"\"\n", "limits/batch: '' is not an integer");
    s_assert_rejects (&env, "limits\n    batch = 1.5\n", "limits/batch: '1.5' is not an integer");
    s_assert_rejects (&env, "limits\n    poll_ms = 99999999999999999999\n",
                      "limits/poll_ms: '99999999999999999999' is not an integer");
    s_assert_rejects (&env, "limits\n    batch = 0\n", "limits/batch: 0 is out of range 1..100000");
    s_assert_rejects (&env, "limits\n    batch = 100001\n",
                      "limits/batch: 100001 is out of range 1..100000");
    s_assert_rejects (&env, "limits\n    heartbeat_ms = -5\n", "limits/heartbeat_ms: -5 is out of range");
    s_assert_rejects (&env, "limits\n    map_mb = 0\n", "limits/map_mb: 0 is out of range");
    s_assert_accepts (&env, "limits\n    batch = 1\n    poll_ms = 10000\n");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_bad_bool_is_named)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "log\n    syslog = maybe\n", "log/syslog: 'maybe' is not a boolean");
    const char *yes [] = { "true", "yes", "1", "YES" }, *no [] = { "false", "no", "0", "No" };
    for (size_t index = 0; index < 4; index++) {
        char *text = zsys_sprintf ("log\n    syslog = %s\n", yes [index]);
        s_assert_accepts (&env, text);
        ck_assert (env.loaded.log_syslog);
        zstr_free (&text);
        text = zsys_sprintf ("log\n    syslog = %s\n", no [index]);
        s_assert_accepts (&env, text);
        ck_assert (!env.loaded.log_syslog);
        zstr_free (&text);
    }
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_bad_level_is_named)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "log\n    level = verbose\n",
                      "log/level: 'verbose' is not one of error, warning, info, debug");
    s_assert_accepts (&env, "log\n    level = error\n");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (bad_endpoints_are_named)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "    listen = http://x:80\n", "node/listen: 'http://x:80' is not tcp://");
    s_assert_rejects (&env, "    listen = tcp://hostonly\n", "node/listen: 'tcp://hostonly'");
    s_assert_rejects (&env, "    client = tcp://*:70000\n", "node/client: 'tcp://*:70000' port");
    s_assert_rejects (&env, "    client = tcp://:7700\n", "node/client:");
    s_assert_rejects (&env, "    listen = ipc://\n", "node/listen: 'ipc://' ipc:// needs a path");
    s_assert_rejects (&env, "    listen = \"tcp://a b:1\"\n", "node/listen:");
    char *text = zsys_sprintf ("parent\n    endpoint = tcp://127.0.0.1:*\n    key = %s\n",
                               env.parent_key);
    s_assert_rejects (&env, text, "parent/endpoint: 'tcp://127.0.0.1:*' ephemeral port");
    zstr_free (&text);
    text = zsys_sprintf ("parent\n    endpoint = tcp://*:7700\n    key = %s\n", env.parent_key);
    s_assert_rejects (&env, text, "parent/endpoint:");
    zstr_free (&text);
    const char *good [] = { "tcp://127.0.0.1:*", "tcp://*:7700", "tcp://[::1]:7700",
                            "ipc:///run/hutong/node.sock", "inproc://node", "tcp://eth0:7700" };
    for (size_t index = 0; index < sizeof good / sizeof good [0]; index++) {
        text = zsys_sprintf ("    listen = %s\n", good [index]);
        s_assert_accepts (&env, text);
        ck_assert_str_eq (env.loaded.listen, good [index]);
        zstr_free (&text);
    }
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_parent_endpoint_needs_a_parent_key)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "parent\n    endpoint = tcp://10.18.0.10:7700\n",
                      "parent/key: required when parent/endpoint is set");
    char *text = zsys_sprintf ("parent\n    key = %s\n", env.parent_key);
    s_assert_rejects (&env, text, "parent/key: set but parent/endpoint is not");
    zstr_free (&text);
    s_assert_rejects (&env, "parent\n    endpoint = tcp://10.18.0.10:7700\n"
                            "    key = /nonexistent/parent.pub\n",
                      "parent/key: cannot read /nonexistent/parent.pub");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_key_file_readable_by_others_is_refused)
{
    s_env_t env;
    s_env_init (&env);
    ck_assert_int_eq (chmod (env.key, 0644), 0);
    char expected [PATH_MAX + 64];
    snprintf (expected, sizeof expected,
              "node/key: %s is readable by group or others (chmod 600)", env.key);
    ck_assert_int_eq (s_load (&env, ""), HT_ECONFIG);
    ck_assert_str_eq (env.error, expected);
    ck_assert_int_eq (chmod (env.key, 0640), 0);
    ck_assert_int_eq (s_load (&env, ""), HT_ECONFIG);
    ck_assert_str_eq (env.error, expected);
    s_env_cleanup (&env);
}
END_TEST

START_TEST (missing_or_malformed_key_files_are_named)
{
    s_env_t env;
    s_env_init (&env);
    char *text = zsys_sprintf ("node\n    region = %s\n    key = %s/none.key\n"
                               "    anchor = %s\n    store = /s\n",
                               HT_FIXTURE_COUNTY, env.dir, env.anchor);
    ck_assert_int_eq (s_load_text (&env, text), HT_ECONFIG);
    ck_assert_msg (strstr (env.error, "node/key: cannot read")
                   && strstr (env.error, "No such file or directory"), "%s", env.error);
    zstr_free (&text);

    //  A public key file where the secret key belongs
    text = zsys_sprintf ("node\n    region = %s\n    key = %s\n    anchor = %s\n    store = /s\n",
                         HT_FIXTURE_COUNTY, env.anchor, env.anchor);
    ck_assert_int_eq (chmod (env.anchor, 0600), 0);
    ck_assert_int_eq (s_load_text (&env, text), HT_ECONFIG);
    ck_assert_msg (strstr (env.error, "node/key:") && strstr (env.error, "not a valid key file"),
                   "%s", env.error);
    zstr_free (&text);

    text = zsys_sprintf ("node\n    region = %s\n    key = %s\n    anchor = abc123\n    store = /s\n",
                         HT_FIXTURE_COUNTY, env.key);
    ck_assert_int_eq (s_load_text (&env, text), HT_ECONFIG);
    ck_assert_msg (strncmp (env.error, "node/anchor: ", 13) == 0, "%s", env.error);
    zstr_free (&text);
    s_env_cleanup (&env);
}
END_TEST

START_TEST (related_keys_must_agree)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "limits\n    heartbeat_ms = 5000\n",
                      "limits/peer_timeout_ms: 5000 must exceed limits/heartbeat_ms (5000)");
    s_assert_rejects (&env, "limits\n    reconnect_min_ms = 6000\n",
                      "limits/reconnect_max_ms: 5000 is below limits/reconnect_min_ms (6000)");
    s_assert_rejects (&env, "limits\n    map_limit_mb = 100\n",
                      "limits/map_limit_mb: 100 is below limits/map_mb (256)");
    s_assert_rejects (&env, "    listen = tcp://*:7700\n    client = tcp://*:7700\n",
                      "node/client: same endpoint as node/listen");
    s_assert_accepts (&env, "    listen = tcp://127.0.0.1:*\n    client = tcp://127.0.0.1:*\n");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (metrics_listen_is_loopback_unless_remote_is_set)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_accepts (&env, "metrics\n    listen = 9464\n");
    s_assert_accepts (&env, "metrics\n    listen = 127.0.0.1:9464\n");
    s_assert_rejects (&env, "metrics\n    listen = 10.0.0.5:9464\n",
                      "metrics/listen: '10.0.0.5:9464' is not a loopback address; "
                      "set metrics/remote = yes");
    s_assert_accepts (&env, "metrics\n    listen = 10.0.0.5:9464\n    remote = yes\n");
    s_assert_rejects (&env, "metrics\n    listen = 127.0.0.1:99999\n",
                      "metrics/listen: '127.0.0.1:99999': the port must be 0..65535");
    s_assert_rejects (&env, "metrics\n    listen = example.org:80\n",
                      "the host must be an IPv4 address");
    s_assert_rejects (&env, "health\n    unseen_s = 0\n", "health/unseen_s: 0 is out of range");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_writer_may_not_write_a_schema_version_this_build_does_not_know)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "schema\n    write_version\n        elder = 2\n",
                      "schema/write_version/elder: 2, but this build knows elder up to version 1");
    s_assert_accepts (&env, "schema\n    write_version\n        elder = 1\n        facility = 0\n");
    ht_config_t config;
    ht_config_defaults (&config);
    for (size_t index = 0; index < HT_CONFIG_WRITE_KINDS; index++)
        ck_assert_int_eq (config.write_version [index], 0);
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_key_set_twice_is_an_error)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_rejects (&env, "limits\n    batch = 5\nlimits/batch = 6\n",
                      "limits/batch: set more than once");
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_missing_file_is_an_io_error)
{
    ht_config_t config;
    char error [S_ERROR_CHARS];
    ck_assert_int_eq (ht_config_load ("/nonexistent/hutongd.cfg", &config, error, sizeof error),
                      HT_EIO);
    ck_assert_str_eq (error, "cannot read /nonexistent/hutongd.cfg: No such file or directory");
    ck_assert_int_eq (ht_config_load ("/tmp", &config, error, sizeof error), HT_EIO);
    ck_assert_str_eq (error, "cannot read /tmp: Is a directory");
}
END_TEST

START_TEST (a_syntax_error_names_the_line)
{
    s_env_t env;
    s_env_init (&env);
    char *node = s_node_section (&env, HT_FIXTURE_COUNTY);
    char *text = zsys_sprintf ("%slimits\n  batch = 5\n", node);
    ck_assert_int_eq (s_load_text (&env, text), HT_ECONFIG);
    ck_assert_msg (strstr (env.error, ": line 7: indent by 4 spaces"), "%s", env.error);
    zstr_free (&text);
    text = zsys_sprintf ("%slimits\n\tbatch = 5\n", node);
    ck_assert_int_eq (s_load_text (&env, text), HT_ECONFIG);
    ck_assert_msg (strstr (env.error, ": line 7: tabs are not allowed"), "%s", env.error);
    zstr_free (&text);
    text = zsys_sprintf ("%s    name = \"open\n", node);
    ck_assert_int_eq (s_load_text (&env, text), HT_ECONFIG);
    ck_assert_msg (strstr (env.error, ": line 6: missing closing quote"), "%s", env.error);
    zstr_free (&text);
    zstr_free (&node);
    s_env_cleanup (&env);
}
END_TEST

START_TEST (a_failed_load_leaves_the_config_untouched)
{
    s_env_t env;
    s_env_init (&env);
    ht_config_t config;
    ht_config_defaults (&config);
    config.batch_records = 77;
    char *node = s_node_section (&env, HT_FIXTURE_COUNTY);
    char *text = zsys_sprintf ("%slimits\n    batch = 5\n    poll_ms = 1\n", node);
    s_write_file (env.config, text, 0644);
    char error [S_ERROR_CHARS];
    ck_assert_int_eq (ht_config_load (env.config, &config, error, sizeof error), HT_ECONFIG);
    ck_assert_int_eq (config.batch_records, 77);
    ck_assert_str_eq (config.region, "");
    zstr_free (&text);
    zstr_free (&node);
    s_env_cleanup (&env);
}
END_TEST

//  --------------------------------------------------------------------------
//  Reload, logging, help

START_TEST (reload_changes_only_reloadable_keys)
{
    s_env_t env;
    s_env_init (&env);
    s_assert_accepts (&env, "    listen = tcp://*:7700\nlimits\n    batch = 10\n    map_mb = 64\n");
    ht_config_t config = env.loaded;

    char *node = s_node_section (&env, HT_FIXTURE_COUNTY);
    char *text = zsys_sprintf ("%s    listen = tcp://*:7800\n"
                               "limits\n    batch = 20\n    poll_ms = 50\n    map_mb = 128\n"
                               "log\n    level = debug\n", node);
    s_write_file (env.config, text, 0644);
    char error [S_ERROR_CHARS];
    ck_assert_int_eq (ht_config_reload (env.config, &config, error, sizeof error), 0);
    ck_assert_int_eq (config.batch_records, 20);
    ck_assert_int_eq (config.poll_ms, 50);
    ck_assert_str_eq (config.log_level, "debug");
    ck_assert_str_eq (config.listen, "tcp://*:7700");      //  needs a restart
    ck_assert_uint_eq (config.map_bytes, 64 * S_MIB);      //  needs a restart
    zstr_free (&text);

    //  A bad file changes nothing
    text = zsys_sprintf ("%slimits\n    batch = 0\n", node);
    s_write_file (env.config, text, 0644);
    ht_config_t before = config;
    ck_assert_int_eq (ht_config_reload (env.config, &config, error, sizeof error), HT_ECONFIG);
    ck_assert_ptr_nonnull (strstr (error, "limits/batch"));
    ck_assert_int_eq (memcmp (&before, &config, sizeof config), 0);
    zstr_free (&text);
    zstr_free (&node);
    s_env_cleanup (&env);
}
END_TEST

START_TEST (log_levels_filter_by_severity)
{
    ht_config_t config;
    ht_config_defaults (&config);
    ck_assert (ht_config_log_enabled (&config, "error"));
    ck_assert (ht_config_log_enabled (&config, "warning"));
    ck_assert (ht_config_log_enabled (&config, "info"));
    ck_assert (!ht_config_log_enabled (&config, "debug"));
    snprintf (config.log_level, sizeof config.log_level, "error");
    ck_assert (ht_config_log_enabled (&config, "error"));
    ck_assert (!ht_config_log_enabled (&config, "warning"));
    snprintf (config.log_level, sizeof config.log_level, "debug");
    ck_assert (ht_config_log_enabled (&config, "debug"));
}
END_TEST

START_TEST (help_lists_every_key_with_its_default)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    ck_assert_ptr_nonnull (out);
    ht_config_print_help (out);
    fclose (out);
    const char *keys [] = {
        "node/region", "node/key", "node/anchor", "node/store", "node/listen",
        "node/client", "node/name", "parent/endpoint", "parent/key", "limits/batch",
        "limits/heartbeat_ms", "limits/peer_timeout_ms", "limits/reconnect_min_ms",
        "limits/reconnect_max_ms", "limits/poll_ms", "limits/map_mb",
        "limits/map_limit_mb", "log/level", "log/syslog" };
    for (size_t index = 0; index < sizeof keys / sizeof keys [0]; index++)
        ck_assert_msg (strstr (text, keys [index]), "help lacks %s", keys [index]);
    ck_assert_ptr_nonnull (strstr (text, "1..100000, default 5000"));
    free (text);
}
END_TEST

//  --------------------------------------------------------------------------
//  The examples in conf/

//  Replace every occurrence of from in text by to (caller frees)
static char *
s_replace (const char *text, const char *from, const char *to)
{
    char *result = strdup ("");
    const char *rest = text, *hit;
    while ((hit = strstr (rest, from)) != NULL) {
        char *longer = zsys_sprintf ("%s%.*s%s", result, (int) (hit - rest), rest, to);
        free (result);
        result = longer;
        rest = hit + strlen (from);
    }
    char *whole = zsys_sprintf ("%s%s", result, rest);
    free (result);
    return whole;
}

//  Create the key file a config key names (secret or public), with its directory
static void
s_make_named_key (zconfig_t *tree, const char *path, bool secret)
{
    const char *file = zconfig_get (tree, path, "");
    if (*file == 0)
        return;
    char *dir = strdup (file);
    *strrchr (dir, '/') = 0;
    ck_assert_int_eq (zsys_dir_create ("%s", dir), 0);
    free (dir);
    if (!zsys_file_exists (file))
        s_make_keys (secret? file: NULL, secret? NULL: file);
}

//  Load conf/<name>.cfg with its /etc/hutong and /var/lib/hutong paths
//  moved under a temporary directory that holds the keys it names
static void
s_check_example (const char *name, const char *region, bool leaf)
{
    s_env_t env;
    s_env_init (&env);
    char *source = zsys_sprintf ("%s/conf/%s.cfg", HT_SOURCE_DIR, name);
    zchunk_t *chunk = zchunk_slurp (source, 0);
    ck_assert_msg (chunk != NULL, "cannot read %s", source);
    char *original = zchunk_strdup (chunk);
    char *etc = zsys_sprintf ("%s/etc/", env.dir), *var = zsys_sprintf ("%s/var/", env.dir);
    char *step = s_replace (original, "/etc/hutong/", etc);
    char *text = s_replace (step, "/var/lib/hutong/", var);
    zconfig_t *tree = zconfig_str_load (text);
    ck_assert_msg (tree != NULL, "%s is not valid ZPL", source);
    s_make_named_key (tree, "node/key", true);
    s_make_named_key (tree, "node/anchor", false);
    s_make_named_key (tree, "parent/key", false);

    int rc = s_load_text (&env, text);
    ck_assert_msg (rc == 0, "%s: %s", source, env.error);
    ck_assert_str_eq (env.loaded.region, region);
    ck_assert_msg ((*env.loaded.listen == 0) == leaf, "%s: listen '%s'", name, env.loaded.listen);
    ck_assert_msg ((*env.loaded.parent == 0) == streq (name, "city"),
                   "%s: parent '%s'", name, env.loaded.parent);
    ck_assert_ptr_null (strstr (original, "/tmp"));
    zconfig_destroy (&tree);
    zchunk_destroy (&chunk);
    zstr_free (&source);
    zstr_free (&original);
    zstr_free (&etc);
    zstr_free (&var);
    zstr_free (&step);
    zstr_free (&text);
    s_env_cleanup (&env);
}

START_TEST (the_example_configs_all_load)
{
    s_check_example ("city", HT_FIXTURE_CITY, false);
    s_check_example ("county", HT_FIXTURE_COUNTY, false);
    s_check_example ("township", HT_FIXTURE_TOWNSHIP, false);
    s_check_example ("community", HT_FIXTURE_COMMUNITY_A, true);
}
END_TEST

static Suite *
config_suite (void)
{
    Suite *suite = suite_create ("config");
    TCase *values = tcase_create ("values");
    tcase_add_test (values, defaults_match_the_documented_values);
    tcase_add_test (values, a_full_valid_file_loads_every_key);
    tcase_add_test (values, the_name_defaults_to_the_region_and_the_rest_to_defaults);
    tcase_add_test (values, flat_key_paths_work_like_sections);
    tcase_add_test (values, an_anchor_may_be_given_as_hex);
    suite_add_tcase (suite, values);

    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, an_unknown_key_is_rejected_with_a_suggestion);
    tcase_add_test (errors, a_missing_required_key_is_named);
    tcase_add_test (errors, a_bad_region_is_named);
    tcase_add_test (errors, a_name_that_is_not_utf8_is_named);
    tcase_add_test (errors, bad_and_out_of_bounds_integers_are_named);
    tcase_add_test (errors, a_bad_bool_is_named);
    tcase_add_test (errors, a_bad_level_is_named);
    tcase_add_test (errors, bad_endpoints_are_named);
    tcase_add_test (errors, a_parent_endpoint_needs_a_parent_key);
    tcase_add_test (errors, a_key_file_readable_by_others_is_refused);
    tcase_add_test (errors, missing_or_malformed_key_files_are_named);
    tcase_add_test (errors, related_keys_must_agree);
    tcase_add_test (errors, metrics_listen_is_loopback_unless_remote_is_set);
    tcase_add_test (errors, a_writer_may_not_write_a_schema_version_this_build_does_not_know);
    tcase_add_test (errors, a_key_set_twice_is_an_error);
    tcase_add_test (errors, a_missing_file_is_an_io_error);
    tcase_add_test (errors, a_syntax_error_names_the_line);
    tcase_add_test (errors, a_failed_load_leaves_the_config_untouched);
    suite_add_tcase (suite, errors);

    TCase *runtime = tcase_create ("runtime");
    tcase_add_test (runtime, reload_changes_only_reloadable_keys);
    tcase_add_test (runtime, log_levels_filter_by_severity);
    tcase_add_test (runtime, help_lists_every_key_with_its_default);
    tcase_add_test (runtime, the_example_configs_all_load);
    suite_add_tcase (suite, runtime);
    return suite;
}

HT_TEST_MAIN (config_suite)
