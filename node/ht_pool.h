//  ht_pool: a few worker threads kept for the life of their owner, to run
//  the same function over several shares of work at once (the store
//  verifies a batch's signatures this way). Creating threads per batch
//  costs more than a small batch's work; these wait on a condition
//  variable between batches.
#ifndef HT_POOL_H_INCLUDED
#define HT_POOL_H_INCLUDED

#include <stddef.h>

typedef struct _ht_pool_t ht_pool_t;

//  A pool of threads workers (0: none; ht_pool_wait then runs everything
//  on the caller's thread). NULL if out of memory; threads that cannot
//  start are simply not there.
ht_pool_t *ht_pool_new (size_t threads);

//  Stop the workers, wait for them, free the pool, set the pointer to NULL
void ht_pool_destroy (ht_pool_t **self_p);

//  Workers that started
size_t ht_pool_size (const ht_pool_t *self);

//  Run fn (args [i]) for i in 0..count-1 in two steps: start hands the
//  shares to the workers and returns (the caller goes on with other
//  work); wait runs the shares no worker took yet on the caller's thread
//  and returns when all are done. args must live until wait returns. One
//  run at a time per pool.
void ht_pool_start (ht_pool_t *self, void (*fn) (void *arg), void **args, size_t count);
void ht_pool_wait (ht_pool_t *self);

#endif
