//  fuzz_config: hutongd's configuration file (ht_config_load, and
//  ht_config_reload as on SIGHUP), ZPL text in a file.
//
//  The target works in a directory of its own, created once, holding a
//  valid key file (node.key, 0600), the root's public key (root.pub) and
//  a policy file (policy.cfg, conf/policy.cfg), so configurations that
//  name them relatively can load; the seeds are conf/*.cfg so rewritten.
//  Each input is written to hutongd.cfg there. Standard input is
//  /dev/null, so a file name such as /dev/stdin cannot block. The target
//  changes into its directory only while it loads, so libFuzzer's own
//  relative paths (corpus, artefacts) keep their meaning. With
//  HT_FUZZ_VERBOSE set it prints why each refused input was refused.
//
//  Oracles beyond "no crash", for a configuration that loads:
//  - loading it again gives the same configuration, and reloading it
//    over itself (SIGHUP) succeeds and changes nothing;
//  - what the loader promises holds: a valid region, a name (UTF-8: it
//    travels in HELLO and shows in the parent's status JSON), a log
//    level, peer_timeout_ms > heartbeat_ms, reconnect_max_ms >=
//    reconnect_min_ms, a map limit no smaller than the map.
//  A configuration refused is refused with a message.
#include "ht_fuzz.h"
#include "ht_config.h"
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#define S_DIR_BYTES 256
#define S_ERROR_BYTES 512

static char s_dir [S_DIR_BYTES];
static char s_path [S_DIR_BYTES + 16];
static int s_home = -1;             //  the directory the fuzzer started in

static void
s_write_file (const char *path, const void *data, size_t size, mode_t mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    HT_FUZZ_REQUIRE (fd >= 0);
    HT_FUZZ_REQUIRE (write (fd, data, size) == (ssize_t) size);
    close (fd);
}

static void
s_cleanup (void)
{
    DIR *dir = opendir (s_dir);
    struct dirent *entry;
    while (dir && (entry = readdir (dir)) != NULL) {
        char path [S_DIR_BYTES + 256];
        snprintf (path, sizeof path, "%s/%s", s_dir, entry->d_name);
        unlink (path);
    }
    if (dir)
        closedir (dir);
    rmdir (s_dir);
}

//  The promises of a loaded configuration
static void
s_check_loaded (const ht_config_t *config)
{
    const char *reason = NULL;
    if (ht_region_check (config->region, &reason))
        HT_FUZZ_FAIL ("loaded with an invalid region '%s'", config->region);
    if (!*config->name || strnlen (config->name, sizeof config->name) == sizeof config->name)
        HT_FUZZ_FAIL ("loaded without a name, or with one not terminated");
    if (!ht_fuzz_is_utf8 (config->name, strlen (config->name)))
        HT_FUZZ_FAIL ("loaded with a name that is not UTF-8");
    if (!ht_config_log_enabled (config, "error"))
        HT_FUZZ_FAIL ("loaded with a log level that logs no errors ('%s')", config->log_level);
    if (config->peer_timeout_ms <= config->heartbeat_ms)
        HT_FUZZ_FAIL ("loaded with peer_timeout_ms %d <= heartbeat_ms %d",
                      config->peer_timeout_ms, config->heartbeat_ms);
    if (config->reconnect_max_ms < config->reconnect_min_ms)
        HT_FUZZ_FAIL ("loaded with reconnect_max_ms below reconnect_min_ms");
    if (config->map_limit_bytes && config->map_limit_bytes < config->map_bytes)
        HT_FUZZ_FAIL ("loaded with map_limit_mb below map_mb");
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    ht_fuzz_initialize (argc, argv, false);
    HT_FUZZ_REQUIRE (freopen ("/dev/null", "r", stdin));
    snprintf (s_dir, sizeof s_dir, "%s/ht_fuzz_config_XXXXXX", ht_fuzz_tmpdir ());
    HT_FUZZ_REQUIRE (mkdtemp (s_dir));
    atexit (s_cleanup);
    s_home = open (".", O_RDONLY | O_DIRECTORY);
    HT_FUZZ_REQUIRE (s_home >= 0);
    HT_FUZZ_REQUIRE (chdir (s_dir) == 0);
    uint8_t seed [32];
    memset (seed, 0x33, sizeof seed);
    ht_keypair_t *key = ht_keypair_from_seed (seed, "fuzz node");
    HT_FUZZ_REQUIRE (key);
    HT_FUZZ_REQUIRE (ht_keypair_save (key, "node.key", true) == 0);
    HT_FUZZ_REQUIRE (ht_keypair_save_public (key, "root.pub", true) == 0);
    ht_keypair_destroy (&key);
    zchunk_t *policy = zchunk_slurp (HT_SOURCE_DIR "/conf/policy.cfg", 0);
    HT_FUZZ_REQUIRE (policy);
    s_write_file ("policy.cfg", zchunk_data (policy), zchunk_size (policy), 0600);
    zchunk_destroy (&policy);
    snprintf (s_path, sizeof s_path, "%s/hutongd.cfg", s_dir);
    HT_FUZZ_REQUIRE (fchdir (s_home) == 0);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_write_file (s_path, data, size, 0600);
    HT_FUZZ_REQUIRE (chdir (s_dir) == 0);
    static ht_config_t config, again;
    char error [S_ERROR_BYTES] = "";
    int rc = ht_config_load (s_path, &config, error, sizeof error);
    if (rc) {
        if (!*error)
            HT_FUZZ_FAIL ("a configuration was refused without a message");
        if (getenv ("HT_FUZZ_VERBOSE"))
            fprintf (stderr, "fuzz_config: refused: %s\n", error);
        HT_FUZZ_REQUIRE (fchdir (s_home) == 0);
        return 0;
    }
    s_check_loaded (&config);
    ht_config_defaults (&again);
    if (ht_config_load (s_path, &again, error, sizeof error))
        HT_FUZZ_FAIL ("a configuration that loaded once does not load again: %s", error);
    if (memcmp (&config, &again, sizeof config))
        HT_FUZZ_FAIL ("one configuration file loads two ways");
    if (ht_config_reload (s_path, &again, error, sizeof error))
        HT_FUZZ_FAIL ("a configuration does not reload over itself: %s", error);
    if (memcmp (&config, &again, sizeof config))
        HT_FUZZ_FAIL ("reloading a configuration over itself changed it");
    HT_FUZZ_REQUIRE (fchdir (s_home) == 0);
    return 0;
}
