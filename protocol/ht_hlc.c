//  ht_hlc: hybrid logical clock.
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "ht_hlc.h"

#define S_COUNTER_MASK ((1u << HT_HLC_COUNTER_BITS) - 1)

uint64_t
ht_hlc_make (uint64_t ms, uint16_t counter)
{
    return (ms << HT_HLC_COUNTER_BITS) | counter;
}

uint64_t
ht_hlc_ms (uint64_t hlc)
{
    return hlc >> HT_HLC_COUNTER_BITS;
}

uint16_t
ht_hlc_counter (uint64_t hlc)
{
    return (uint16_t) (hlc & S_COUNTER_MASK);
}

uint64_t
ht_hlc_wall_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
}

uint64_t
ht_hlc_now (ht_hlc_t *self)
{
    return ht_hlc_next (self, ht_hlc_wall_ms ());
}

uint64_t
ht_hlc_next (ht_hlc_t *self, uint64_t wall_ms)
{
    uint64_t wall = ht_hlc_make (wall_ms, 0);
    //  The wall clock wins when it has moved on; otherwise bump the counter
    //  (which carries into the milliseconds if 65,536 writes share one ms)
    self->last = wall > self->last? wall: self->last + 1;
    return self->last;
}

int
ht_hlc_observe (ht_hlc_t *self, uint64_t remote)
{
    if (ht_hlc_ms (remote) > ht_hlc_wall_ms () + HT_HLC_MAX_DRIFT_MS)
        return HT_ECLOCK;
    if (remote > self->last)
        self->last = remote;
    return HT_OK;
}

const char *
ht_hlc_format_ms (int64_t ms, char *buf, size_t size)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm utc;
    gmtime_r (&seconds, &utc);
    char stamp [24];
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf (buf, size, "%s.%03uZ", stamp, (unsigned) (ms % 1000));
    return buf;
}

const char *
ht_hlc_format (uint64_t hlc, char *buf, size_t size)
{
    char stamp [40];
    ht_hlc_format_ms ((int64_t) ht_hlc_ms (hlc), stamp, sizeof stamp);
    snprintf (buf, size, "%s+%u", stamp, (unsigned) ht_hlc_counter (hlc));
    return buf;
}
