//  ht_check: `hutongd --check`. Asks, without starting the node, what
//  would stop it from working: its key's certificate, its parent's key,
//  its ports, a node already running on its store, and (online) whether
//  the parent answers a HELLO. Every trust question goes to the gate
//  (ht_gate.h), the one place that also decides them for a running node.
#ifndef HT_CHECK_H_INCLUDED
#define HT_CHECK_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include "ht_config.h"
#include "ht_store.h"

//  The file in the store directory a running hutongd holds locked
#define HT_CHECK_LOCK_FILE "hutongd.lock"

typedef struct _ht_check_t ht_check_t;

//  A report for the configuration file at config_path, printed as it
//  goes, one line per check (passed to out, failed to err), or with json
//  as one document to out at the end
ht_check_t *ht_check_new (const char *config_path, bool json, FILE *out, FILE *err);
void ht_check_destroy (ht_check_t **self_p);

//  Record one check's outcome: ok or not, and a sentence
void ht_check_note (ht_check_t *self, const char *name, bool ok, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Run every check on config and its opened store (borrowed); with
//  online, also say HELLO to the parent and wait for its answer
void ht_check_node (ht_check_t *self, const ht_config_t *config, ht_store_t *store,
                    bool online);

//  Print the summary (text) or the JSON document; the number of failed
//  checks
size_t ht_check_finish (ht_check_t *self);

//  Is the store's lock held by a running hutongd? 0 if not (or there is
//  no lock file yet), 1 if it is (*pid: its pid, 0 if unknown), or an
//  error code (HT_EUNSAFE, HT_EIO) with a sentence in reason
int ht_check_lock (const char *store_path, int *pid, char *reason, size_t reason_size) HT_WUR;

//  Take the store's lock, as hutongd does while it runs and hutong restore
//  while it replaces the data file: the lock file is opened (created 0644)
//  through ht_path_open, so a symbolic or hard link planted under its name
//  is refused (docs/security.md L2). Returns the held fd (close it to
//  release), or -1 with *error: HT_ELOCKED if another process holds it
//  (*pid: its pid, 0 if unknown), or ht_path_open's error with reason.
int ht_check_lock_take (const char *store_path, int *pid, int *error, char *reason,
                        size_t reason_size);

#endif
