//  ht_health: the warnings an operator acts on, worked out in one place
//  from the node's STATUS document, so that `hutong status`, /healthz and
//  the hutong_warnings metric always agree. Each warning is
//  {"code": ..., "text": ...} (and "peer": its region, for a peer's):
//
//  - parent_down: the parent link is not up
//  - peer_unseen: a peer not heard for longer than health/unseen_s (or
//    never, that long after start)
//  - lag_growing: a connected peer's lag grew over the last
//    HT_HEALTH_LAG_SAMPLES heartbeats while our cursor stood still
//  - map_nearly_full: the store uses over 90% of what it may grow to
//  - cert_expiring: this node's certificate expires within 30 days
//  - clock_skew: a clock off by more than limits/clock_skew_s: ours
//    against the reference the engine judges it by (the parent, or most
//    children), naming it and the offset; and each connected peer whose
//    clock is that far off ours (and not just by our own error)
//  - clock_quarantined: records refused as timestamped ahead of our
//    clock (quarantine reason "clock"): our clock or the writer's is
//    wrong; they are retried every limits/quarantine_retry_s
//  - peer_epoch_changed: a peer came back with a new store epoch (a
//    restore or rollback) within the last day
//
//  The one piece of state is each peer's recent lag and cursor, sampled
//  each heartbeat (ht_health_sample); everything else is in the document.
#ifndef HT_HEALTH_H_INCLUDED
#define HT_HEALTH_H_INCLUDED

#include <jansson.h>
#include <stdint.h>

#define HT_HEALTH_LAG_SAMPLES 10            //  heartbeats lag must grow over
#define HT_HEALTH_MAP_PERCENT 90            //  map_nearly_full above this
#define HT_HEALTH_CERT_MS (30LL * 86400 * 1000)     //  cert_expiring within this
#define HT_HEALTH_EPOCH_MS (86400LL * 1000)         //  peer_epoch_changed for this long

typedef struct _ht_health_t ht_health_t;

//  Every warning code, in the order above; NULL-terminated
extern const char *const ht_health_codes [];

//  The limits the rules apply
typedef struct {
    int64_t unseen_ms;                  //  health/unseen_s, in ms
    int64_t uptime_ms;                  //  how long the node has run
    int64_t clock_skew_ms;              //  limits/clock_skew_s, in ms
} ht_health_limits_t;

//  New, with no samples. The caller owns it.
ht_health_t *ht_health_new (void);

//  Destroy and set the pointer to NULL
void ht_health_destroy (ht_health_t **self_p);

//  Remember each peer's lag and cursor at a heartbeat at now (monotonic
//  ms); peers is the status document's "peers" array (read only)
void ht_health_sample (ht_health_t *self, const json_t *peers, int64_t now);

//  Add to status, a whole STATUS document, each peer's "behind_ms" (how
//  long the link has had lag: 0 if none) and the "warnings" array. The
//  clock rules read each peer's "clock_offset_ms" and the node's "clock"
//  (ht_repl_clock_status).
void ht_health_apply (ht_health_t *self, json_t *status, const ht_health_limits_t *limits,
                      int64_t now);

#endif
