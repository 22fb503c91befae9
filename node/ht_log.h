//  ht_log: hutongd's log lines. czmq's zsys_* print a two-digit year and
//  no zone ("26-12-01 19:25:58"), so the node writes its own lines:
//
//      2026-12-02T03:04:05.123+08:00 I: node: connected to parent ...
//
//  (ISO-8601 local time with milliseconds and the zone offset, then the
//  level letter E, W, I or D). They go to log/file if set, to syslog if
//  log/syslog = yes and /dev/log answers, and to stderr otherwise.
//
//  The HT_* macros ask the node's configuration first, so log/level =
//  info keeps debug lines out. Every module that logs keeps a pointer to
//  the configuration it was made with (borrowed; a reload updates it in
//  place). Code without a configuration (the store) calls ht_log_error
//  and friends, which log at every level, as zsys_* did.
#ifndef HT_LOG_H_INCLUDED
#define HT_LOG_H_INCLUDED

#include <czmq.h>
#include "ht_config.h"

#define HT_LOG_FORMAT __attribute__ ((format (printf, 1, 2)))

#define HT_LOG(config, level, logger, ...) \
    do { if (ht_config_log_enabled ((config), level)) logger (__VA_ARGS__); } while (0)
#define HT_DEBUG(config, ...) HT_LOG (config, "debug", ht_log_debug, __VA_ARGS__)
#define HT_INFO(config, ...) HT_LOG (config, "info", ht_log_info, __VA_ARGS__)
#define HT_WARNING(config, ...) HT_LOG (config, "warning", ht_log_warning, __VA_ARGS__)
#define HT_ERROR(config, ...) HT_LOG (config, "error", ht_log_error, __VA_ARGS__)

//  Write one line at a level, whatever log/level says
void ht_log_error (const char *format, ...) HT_LOG_FORMAT;
void ht_log_warning (const char *format, ...) HT_LOG_FORMAT;
void ht_log_info (const char *format, ...) HT_LOG_FORMAT;
void ht_log_debug (const char *format, ...) HT_LOG_FORMAT;

//  Send lines where config's log/file and log/syslog say, (re)opening
//  log/file: at start, and on SIGHUP so that logrotate can move the old
//  file away. On failure returns HT_EIO (or HT_EUNSAFE for a symbolic
//  link) with a message in error, and the lines keep going where they
//  went. log/syslog = yes without a syslog socket logs one warning and
//  falls back to log/file or stderr.
int ht_log_open (const ht_config_t *config, char *error, size_t error_size) HT_WUR;

//  Close log/file and syslog; lines go to stderr again
void ht_log_close (void);

//  Write the line's time stamp for at (CLOCK_REALTIME) into text
//  (HT_LOG_TIME_BYTES), e.g. "2026-12-02T03:04:05.123+08:00"
#define HT_LOG_TIME_BYTES 40
void ht_log_timestamp (const struct timespec *at, char *text);

#endif
