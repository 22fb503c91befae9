//  ht_config: hutongd's configuration. One table lists every key with its
//  default, bounds and help; parsing, validation and `hutongd --help` all
//  read it (Redis static_configs). Files are czmq ZPL (zconfig).
#ifndef HT_CONFIG_H_INCLUDED
#define HT_CONFIG_H_INCLUDED

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "ht_error.h"
#include "ht_region.h"

#define HT_ENDPOINT_MAX_CHARS 255
#define HT_LOG_LEVEL_MAX_CHARS 15

#define HT_CONFIG_WRITE_KINDS 5     //  kinds with a schema/write_version key

typedef struct {
    //  node
    char name [64];                         //  node/name: label in logs and status
    char region [HT_REGION_BYTES];          //  node/region: this node's region
    char key_file [PATH_MAX];               //  node/key: Ed25519 key file (0600)
    char key_passphrase_file [PATH_MAX];    //  node/key_passphrase_file ("" = environment)
    char anchor [PATH_MAX];                 //  node/anchor: root public key (file or hex)
    char store_path [PATH_MAX];             //  node/store: store directory
    char listen [HT_ENDPOINT_MAX_CHARS + 1];    //  node/listen: endpoint for child nodes ("" = leaf)
    char client_listen [HT_ENDPOINT_MAX_CHARS + 1]; //  node/client: endpoint for clients ("" = none)
    //  parent
    char parent [HT_ENDPOINT_MAX_CHARS + 1];    //  parent/endpoint ("" = this is the root)
    char parent_key [PATH_MAX];             //  parent/key: parent's public key (file or hex)
    //  limits
    int batch_records;                      //  limits/batch: records per batch
    int heartbeat_ms;                       //  limits/heartbeat_ms: ping interval
    int peer_timeout_ms;                    //  limits/peer_timeout_ms: silence = dead
    int reconnect_min_ms;                   //  limits/reconnect_min_ms: first retry
    int reconnect_max_ms;                   //  limits/reconnect_max_ms: backoff cap
    int poll_ms;                            //  limits/poll_ms: check for writes by other processes
    int pull_wait_ms;                       //  limits/pull_wait_ms: long poll, 0 = off
    size_t map_bytes;                       //  limits/map_mb (MiB): initial LMDB map size
    size_t map_limit_bytes;                 //  limits/map_limit_mb (MiB): cap, 0 = none
    int client_rate;                        //  limits/client_rate: requests/s per client key
    int client_burst;                       //  limits/client_burst: requests at once per client key
    int ingest_behind_s;                    //  limits/ingest_behind_s: freshness window back
    int ingest_ahead_s;                     //  limits/ingest_ahead_s: and ahead
    int clock_skew_s;                       //  limits/clock_skew_s: a clock this far off is skewed
    int quarantine_retry_s;                 //  limits/quarantine_retry_s: retry quarantine this often
    int quarantine_entries;                 //  limits/quarantine_entries: per source
    size_t quarantine_bytes;                //  limits/quarantine_mb (MiB): per source
    //  schema: the version each kind is written in (0: the newest known),
    //  in the order of ht_config_write_kinds
    int write_version [HT_CONFIG_WRITE_KINDS];
    //  log
    char log_level [HT_LOG_LEVEL_MAX_CHARS + 1];    //  log/level: error, warning, info, debug
    bool log_syslog;                        //  log/syslog: also send to syslog
    char log_file [PATH_MAX];               //  log/file: append lines here ("" = stderr)
    char policy_file [PATH_MAX];            //  policy/file: read policies ("" = built in)
    //  monitoring
    char metrics_listen [HT_ENDPOINT_MAX_CHARS + 1];    //  metrics/listen: HTTP address ("" = off)
    bool metrics_remote;                    //  metrics/remote: allow a non-loopback address
    int unseen_s;                           //  health/unseen_s: a peer silent this long is a warning
} ht_config_t;

//  The kinds schema/write_version/<kind> names, in config order
extern const char *const ht_config_write_kinds [HT_CONFIG_WRITE_KINDS];

//  Fill config with every key's default
void ht_config_defaults (ht_config_t *config);

//  Load and validate a ZPL file over the defaults. On failure returns
//  HT_ECONFIG (or HT_EIO) and writes a message naming the key and the
//  problem into error (error_size bytes), e.g.
//  "node/region: '4418' is not a 12-digit region code".
int ht_config_load (const char *path, ht_config_t *config,
                    char *error, size_t error_size) HT_WUR;

//  Re-read path for a SIGHUP: only reloadable keys (limits, log) change
//  in config; others that differ are named in a warning. Same errors.
int ht_config_reload (const char *path, ht_config_t *config,
                      char *error, size_t error_size) HT_WUR;

//  Print every key with its default, bounds and help (for --help)
void ht_config_print_help (FILE *out);

//  The same as the DESCRIPTION and KEYS sections of hutongd.cfg(5), in roff
void ht_config_print_roff (FILE *out);

//  True if a message at this level ("error".."debug") should be logged
bool ht_config_log_enabled (const ht_config_t *config, const char *level);

#endif
