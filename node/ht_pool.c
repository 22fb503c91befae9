//  ht_pool: kept worker threads (see ht_pool.h).
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include "ht_pool.h"

#define S_MAX_THREADS 16

struct _ht_pool_t {
    pthread_mutex_t lock;
    pthread_cond_t work;                //  a run began, or stop
    pthread_cond_t done;                //  a share finished
    pthread_t threads [S_MAX_THREADS];
    size_t size;                        //  workers that started
    bool stop;                          //  the owner is going
    void (*fn) (void *arg);             //  the run's function
    void **args;                        //  its shares
    size_t count;                       //  how many
    size_t next;                        //  next share to take
    size_t pending;                     //  shares not finished yet
    bool started;                       //  ht_pool_start began a run
};

//  Take shares until none are left; call with the lock held
static void
s_drain (ht_pool_t *self)
{
    while (self->next < self->count) {
        void *arg = self->args [self->next++];
        pthread_mutex_unlock (&self->lock);
        self->fn (arg);
        pthread_mutex_lock (&self->lock);
        if (--self->pending == 0)
            pthread_cond_broadcast (&self->done);
    }
}

static void *
s_worker (void *arg)
{
    ht_pool_t *self = (ht_pool_t *) arg;
    pthread_mutex_lock (&self->lock);
    while (!self->stop) {
        s_drain (self);
        if (!self->stop)
            pthread_cond_wait (&self->work, &self->lock);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

ht_pool_t *
ht_pool_new (size_t threads)
{
    ht_pool_t *self = (ht_pool_t *) calloc (1, sizeof (ht_pool_t));
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->work, NULL);
    pthread_cond_init (&self->done, NULL);
    if (threads > S_MAX_THREADS)
        threads = S_MAX_THREADS;
    for (size_t i = 0; i < threads; i++)
        if (pthread_create (&self->threads [self->size], NULL, s_worker, self) == 0)
            self->size++;
    return self;
}

void
ht_pool_destroy (ht_pool_t **self_p)
{
    ht_pool_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->stop = true;
    pthread_cond_broadcast (&self->work);
    pthread_mutex_unlock (&self->lock);
    for (size_t i = 0; i < self->size; i++)
        pthread_join (self->threads [i], NULL);
    pthread_cond_destroy (&self->work);
    pthread_cond_destroy (&self->done);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

size_t
ht_pool_size (const ht_pool_t *self)
{
    return self? self->size: 0;
}

void
ht_pool_start (ht_pool_t *self, void (*fn) (void *arg), void **args, size_t count)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->fn = fn;
    self->args = args;
    self->count = count;
    self->next = 0;
    self->pending = count;
    self->started = true;
    pthread_cond_broadcast (&self->work);
    pthread_mutex_unlock (&self->lock);
}

void
ht_pool_wait (ht_pool_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    if (self->started) {
        //  The caller runs what the workers left, then waits for the rest
        s_drain (self);
        while (self->pending > 0)
            pthread_cond_wait (&self->done, &self->lock);
        self->fn = NULL;
        self->args = NULL;
        self->count = self->next = 0;
        self->started = false;
    }
    pthread_mutex_unlock (&self->lock);
}
