//  ht_refusals: the keys the ZAP handler refused, in a table of bounded
//  size, and the decision of which refusals deserve a log line.
//
//  Anyone can make up a Curve key and connect, so neither the table nor
//  the log may grow with the number of keys an outsider tries. The table
//  holds at most max_keys keys; a new key beyond that evicts the least
//  recently refused one, whose count moves to "others". Logging is
//  limited twice: at most one line per key per interval, and at most
//  lines_per_interval lines per interval in all. Refusals that were due a
//  line after that budget ran out are summed up in one summary line,
//  handed out with the first refusal of the next interval.
//
//  The class only decides; the caller logs (it knows the log level and
//  how to name a key). Time is passed in, so tests need no clock.
#ifndef HT_REFUSALS_H_INCLUDED
#define HT_REFUSALS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _ht_refusals_t ht_refusals_t;

//  What the caller should log for one refusal
typedef struct {
    bool log_key;                   //  log one line naming this key
    uint64_t key_refusals;          //  refusals of this key while tracked, this one included
    uint64_t summary_refusals;      //  if not 0, first log "N more refusals from
    uint64_t summary_keys;          //  M keys in the last interval"
} ht_refusal_note_t;

//  Create an empty table of at most max_keys keys (at least 1) that
//  grants at most lines_per_interval log lines per interval_ms
ht_refusals_t *ht_refusals_new (size_t max_keys, int64_t interval_ms, size_t lines_per_interval);

//  Destroy the table and set the caller's pointer to NULL; safe on NULL
void ht_refusals_destroy (ht_refusals_t **self_p);

//  Count one refusal of key (any string; the table keeps its own copy)
//  at now_ms on a monotonic clock, and fill note with what to log
void ht_refusals_add (ht_refusals_t *self, const char *key, int64_t now_ms,
                      ht_refusal_note_t *note);

//  Every refusal counted, tracked or evicted
uint64_t ht_refusals_total (const ht_refusals_t *self);

//  Refusals of keys that were evicted from the table
uint64_t ht_refusals_others (const ht_refusals_t *self);

//  Keys in the table now (at most max_keys)
size_t ht_refusals_size (const ht_refusals_t *self);

//  Refusals of key while tracked; 0 if the table does not hold it
uint64_t ht_refusals_count (const ht_refusals_t *self, const char *key);

#endif
