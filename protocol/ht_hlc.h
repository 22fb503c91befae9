//  ht_hlc: hybrid logical clock — 48 bits of milliseconds since the Unix
//  epoch, 16 bits of counter. Timestamps from one clock strictly increase,
//  and a clock that sees a later remote timestamp moves past it, so
//  causally later writes always compare greater.
#ifndef HT_HLC_H_INCLUDED
#define HT_HLC_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "ht_error.h"

#define HT_HLC_COUNTER_BITS 16
//  How far ahead of our wall clock a remote timestamp may be before we
//  refuse it, so one bad clock cannot drag the network into the future
#define HT_HLC_MAX_DRIFT_MS (5 * 60 * 1000)
//  The largest hlc a record may carry: it must fit a signed 64-bit
//  integer, so JSON and every reader carry it exactly (2^63 - 1 is past
//  the year 4 million anyway)
#define HT_HLC_MAX ((uint64_t) INT64_MAX)

typedef struct {
    uint64_t last;          //  last timestamp issued or observed
} ht_hlc_t;

//  Build a timestamp from milliseconds and counter
uint64_t ht_hlc_make (uint64_t ms, uint16_t counter);

//  Milliseconds part of a timestamp
uint64_t ht_hlc_ms (uint64_t hlc);

//  Counter part of a timestamp
uint16_t ht_hlc_counter (uint64_t hlc);

//  Current wall-clock time in milliseconds since the Unix epoch
uint64_t ht_hlc_wall_ms (void);

//  Issue a new timestamp, greater than any issued or observed before
uint64_t ht_hlc_now (ht_hlc_t *self);

//  Issue a new timestamp from a wall clock reading of the caller's
//  (wall_ms: e.g. ours corrected by a known skew), greater than any
//  issued or observed before
uint64_t ht_hlc_next (ht_hlc_t *self, uint64_t wall_ms);

//  Observe a remote timestamp. Returns 0, or HT_ECLOCK if it is more than
//  HT_HLC_MAX_DRIFT_MS ahead of our wall clock (then the clock is unchanged)
int ht_hlc_observe (ht_hlc_t *self, uint64_t remote) HT_WUR;

//  A wall-clock time in ms since 1970 as ISO 8601 UTC with milliseconds
//  ("2026-12-02T03:04:05.123Z") into buf (>= 25 bytes); returns buf
const char *ht_hlc_format_ms (int64_t ms, char *buf, size_t size);

//  Format a timestamp as "2026-11-24T21:45:11.123Z+3" into buf (>= 32 bytes)
const char *ht_hlc_format (uint64_t hlc, char *buf, size_t size);

#endif
