//  ht_ratelimit: token buckets per client in a table of bounded size. A
//  hash finds a client's bucket; a list keeps the buckets from least to
//  most recently seen, so the one to evict is its first. Tokens are kept
//  in thousandths so that refill needs no floating point: a bucket gains
//  rate_per_s thousandths per millisecond.
#include <czmq.h>
#include "ht_ratelimit.h"

#define S_MILLI 1000                //  thousandths of a token in one token

//  One client's bucket
typedef struct {
    char *client;                   //  its name (owned)
    int64_t millitokens;            //  tokens left, in thousandths
    int64_t refilled_ms;            //  when tokens were last added
    void *handle;                   //  its place in order
} s_bucket_t;

struct _ht_ratelimit_t {
    zhashx_t *buckets;              //  client -> s_bucket_t (owned)
    zlistx_t *order;                //  the same buckets, least recently seen first
    size_t max_clients;             //  most buckets held
};

static void
s_bucket_destroy (s_bucket_t **self_p)
{
    s_bucket_t *self = *self_p;
    if (self) {
        free (self->client);
        free (self);
        *self_p = NULL;
    }
}

ht_ratelimit_t *
ht_ratelimit_new (size_t max_clients)
{
    ht_ratelimit_t *self = (ht_ratelimit_t *) zmalloc (sizeof (ht_ratelimit_t));
    self->buckets = zhashx_new ();
    zhashx_set_destructor (self->buckets, (zhashx_destructor_fn *) s_bucket_destroy);
    self->order = zlistx_new ();
    self->max_clients = max_clients? max_clients: 1;
    return self;
}

void
ht_ratelimit_destroy (ht_ratelimit_t **self_p)
{
    ht_ratelimit_t *self = *self_p;
    if (self) {
        zlistx_destroy (&self->order);      //  borrows; the hash owns
        zhashx_destroy (&self->buckets);
        free (self);
        *self_p = NULL;
    }
}

//  A full bucket for a client not seen (or forgotten), evicting the least
//  recently seen client if the table is full
static s_bucket_t *
s_bucket_new (ht_ratelimit_t *self, const char *client, int64_t capacity, int64_t now_ms)
{
    if (zhashx_size (self->buckets) >= self->max_clients) {
        s_bucket_t *oldest = (s_bucket_t *) zlistx_first (self->order);
        zlistx_delete (self->order, oldest->handle);
        zhashx_delete (self->buckets, oldest->client);
    }
    s_bucket_t *bucket = (s_bucket_t *) zmalloc (sizeof (s_bucket_t));
    bucket->client = strdup (client);
    bucket->millitokens = capacity;
    bucket->refilled_ms = now_ms;
    zhashx_insert (self->buckets, client, bucket);
    bucket->handle = zlistx_add_end (self->order, bucket);
    return bucket;
}

//  Add what the time since the last refill earned, up to capacity. A
//  clock that seems to go back earns nothing.
static void
s_refill (s_bucket_t *bucket, int64_t rate_per_s, int64_t capacity, int64_t now_ms)
{
    int64_t elapsed_ms = now_ms - bucket->refilled_ms;
    if (elapsed_ms > 0) {
        //  Past the time a refill from empty takes, more time adds nothing;
        //  capping it first keeps the product from overflowing
        int64_t fill_ms = capacity / rate_per_s + 1;
        if (elapsed_ms > fill_ms)
            elapsed_ms = fill_ms;
        bucket->millitokens += elapsed_ms * rate_per_s;
        bucket->refilled_ms = now_ms;
    }
    //  Also after a reload that lowered the burst
    if (bucket->millitokens > capacity)
        bucket->millitokens = capacity;
}

int
ht_ratelimit_check (ht_ratelimit_t *self, const char *client, int rate_per_s, int burst,
                    int64_t now_ms)
{
    assert (self && client && rate_per_s >= 1 && burst >= 1);
    int64_t capacity = (int64_t) burst * S_MILLI;
    s_bucket_t *bucket = (s_bucket_t *) zhashx_lookup (self->buckets, client);
    if (bucket) {
        //  Refused requests count as seen too: a client that floods stays
        //  in the table, and so cannot earn a fresh bucket by eviction
        zlistx_move_end (self->order, bucket->handle);
        s_refill (bucket, rate_per_s, capacity, now_ms);
    }
    else
        bucket = s_bucket_new (self, client, capacity, now_ms);
    if (bucket->millitokens < S_MILLI)
        return HT_ERATELIMIT;
    bucket->millitokens -= S_MILLI;
    return HT_OK;
}

size_t
ht_ratelimit_size (const ht_ratelimit_t *self)
{
    return zhashx_size (self->buckets);
}

bool
ht_ratelimit_tracks (const ht_ratelimit_t *self, const char *client)
{
    return zhashx_lookup (self->buckets, client) != NULL;
}
