//  ht_log: logging at the configured level. czmq's zsys_* log at every
//  level; these macros ask the node's configuration first, so
//  log/level = info keeps debug lines out. Every module that logs keeps a
//  pointer to the configuration it was made with (borrowed; a reload
//  updates it in place).
#ifndef HT_LOG_H_INCLUDED
#define HT_LOG_H_INCLUDED

#include <czmq.h>
#include "ht_config.h"

#define HT_LOG(config, level, logger, ...) \
    do { if (ht_config_log_enabled ((config), level)) logger (__VA_ARGS__); } while (0)
#define HT_DEBUG(config, ...) HT_LOG (config, "debug", zsys_debug, __VA_ARGS__)
#define HT_INFO(config, ...) HT_LOG (config, "info", zsys_info, __VA_ARGS__)
#define HT_WARNING(config, ...) HT_LOG (config, "warning", zsys_warning, __VA_ARGS__)
#define HT_ERROR(config, ...) HT_LOG (config, "error", zsys_error, __VA_ARGS__)

#endif
