//  ht_ratelimit: a token bucket per client, so that one client cannot
//  keep the node's single loop busy and starve replication and the other
//  clients. A client is named by a string (the hex Ed25519 key ZAP gave
//  its connection, so reconnecting or opening more connections with the
//  same key shares one bucket). Each bucket holds up to burst tokens,
//  gains rate_per_s tokens a second, and a request takes one.
//
//  The table holds at most max_clients buckets; a new client beyond that
//  evicts the least recently seen one (which, should it come back,
//  starts again with a full bucket). Rate and burst are passed with each
//  check so a reloaded configuration applies at once; time is passed in,
//  so tests need no clock.
#ifndef HT_RATELIMIT_H_INCLUDED
#define HT_RATELIMIT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ht_error.h"

typedef struct _ht_ratelimit_t ht_ratelimit_t;

//  Create an empty table of at most max_clients buckets (at least 1)
ht_ratelimit_t *ht_ratelimit_new (size_t max_clients);

//  Destroy the table and set the caller's pointer to NULL; safe on NULL
void ht_ratelimit_destroy (ht_ratelimit_t **self_p);

//  Take one token from client's bucket at now_ms (monotonic). A client
//  not in the table starts with burst tokens. Returns 0 if the request
//  may go ahead, HT_ERATELIMIT if the bucket is empty (nothing is taken
//  then). rate_per_s and burst are at least 1.
int ht_ratelimit_check (ht_ratelimit_t *self, const char *client, int rate_per_s,
                        int burst, int64_t now_ms) HT_WUR;

//  Clients in the table now (at most max_clients)
size_t ht_ratelimit_size (const ht_ratelimit_t *self);

//  True if the table holds a bucket for client
bool ht_ratelimit_tracks (const ht_ratelimit_t *self, const char *client);

#endif
