//  ht_health: the warning rules (see ht_health.h).
#include <czmq.h>
#include "ht_health.h"

const char *const ht_health_codes [] = {
    "parent_down", "peer_unseen", "lag_growing", "map_nearly_full", "cert_expiring",
    "clock_skew", "clock_quarantined", "peer_epoch_changed",
    "store_full", NULL };

//  One peer's recent samples
typedef struct {
    uint64_t lag [HT_HEALTH_LAG_SAMPLES];       //  ring: lag at each heartbeat
    uint64_t cursor [HT_HEALTH_LAG_SAMPLES];    //  and our cursor then
    size_t next;                        //  where the next sample goes
    size_t count;                       //  samples held (up to the ring's size)
    int64_t caught_up_ms;               //  last sample with no lag (or the first)
} s_history_t;

struct _ht_health_t {
    zhashx_t *peers;                    //  region -> s_history_t (owned)
};

static void
s_history_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

ht_health_t *
ht_health_new (void)
{
    ht_health_t *self = (ht_health_t *) zmalloc (sizeof (ht_health_t));
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_history_free);
    return self;
}

void
ht_health_destroy (ht_health_t **self_p)
{
    ht_health_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->peers);
        free (self);
        *self_p = NULL;
    }
}

static uint64_t
s_uint (const json_t *object, const char *key)
{
    json_int_t value = json_integer_value (json_object_get (object, key));
    return value > 0? (uint64_t) value: 0;
}

void
ht_health_sample (ht_health_t *self, const json_t *peers, int64_t now)
{
    size_t index;
    json_t *peer;
    json_array_foreach ((json_t *) peers, index, peer) {
        const char *region = json_string_value (json_object_get (peer, "region"));
        if (!region)
            continue;
        s_history_t *history = (s_history_t *) zhashx_lookup (self->peers, region);
        if (!history) {
            history = (s_history_t *) zmalloc (sizeof (s_history_t));
            history->caught_up_ms = now;
            zhashx_insert (self->peers, region, history);
        }
        uint64_t lag = s_uint (peer, "lag");
        history->lag [history->next] = lag;
        history->cursor [history->next] = s_uint (peer, "cursor");
        history->next = (history->next + 1) % HT_HEALTH_LAG_SAMPLES;
        if (history->count < HT_HEALTH_LAG_SAMPLES)
            history->count++;
        if (lag == 0)
            history->caught_up_ms = now;
    }
}

//  Add {code, text[, peer]} to warnings
static void
s_warn (json_t *warnings, const char *code, const char *peer, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    json_t *warning = json_pack ("{s:s, s:s}", "code", code, "text", text? text: "");
    if (peer)
        json_object_set_new (warning, "peer", json_string (peer));
    json_array_append_new (warnings, warning);
    free (text);
}

//  Lag grew from the oldest sample to the newest, the cursor unmoved:
//  the peer writes and we do not keep up (a stuck link, a batch that
//  keeps failing)
static bool
s_lag_growing (const s_history_t *history)
{
    if (!history || history->count < HT_HEALTH_LAG_SAMPLES)
        return false;
    size_t oldest = history->next;      //  a full ring: next is the oldest
    size_t newest = (history->next + HT_HEALTH_LAG_SAMPLES - 1) % HT_HEALTH_LAG_SAMPLES;
    return history->lag [newest] > history->lag [oldest]
        && history->cursor [newest] == history->cursor [oldest];
}

//  The rules about one peer
static void
s_peer_rules (ht_health_t *self, json_t *peer, json_t *warnings,
              const ht_health_limits_t *limits, int64_t now)
{
    const char *name = json_string_value (json_object_get (peer, "name"));
    const char *region = json_string_value (json_object_get (peer, "region"));
    const char *role = json_string_value (json_object_get (peer, "role"));
    bool connected = json_is_true (json_object_get (peer, "connected"));
    json_int_t seen = json_integer_value (json_object_get (peer, "last_seen_ms_ago"));
    s_history_t *history = region? (s_history_t *) zhashx_lookup (self->peers, region): NULL;
    uint64_t lag = s_uint (peer, "lag");
    json_object_set_new (peer, "behind_ms", json_integer (
        history && lag? (json_int_t) (now - history->caught_up_ms): 0));
    if (role && streq (role, "parent") && !connected)
        s_warn (warnings, "parent_down", region, "parent %s (%s) is not connected", name,
                region);
    if (seen > limits->unseen_ms)
        s_warn (warnings, "peer_unseen", region, "%s %s (%s) not heard for %lld s", role,
                name, region, (long long) (seen / 1000));
    else
    if (seen < 0 && limits->uptime_ms > limits->unseen_ms)
        s_warn (warnings, "peer_unseen", region, "%s %s (%s) never heard since start",
                role, name, region);
    if (connected && s_lag_growing (history))
        s_warn (warnings, "lag_growing", region, "lag toward %s %s (%s) grew to %llu while "
                "our cursor stood still", role, name, region, (unsigned long long) lag);
    json_int_t changed = json_integer_value (json_object_get (peer, "epoch_changed_ms_ago"));
    if (json_object_get (peer, "epoch_changed_ms_ago") && changed >= 0
    &&  changed < HT_HEALTH_EPOCH_MS)
        s_warn (warnings, "peer_epoch_changed", region, "%s %s (%s) came back with a new "
                "store epoch %lld s ago (restored or rolled back): its log is pulled again "
                "from zero", role, name, region, (long long) (changed / 1000));
}

//  The rules about the node itself
static void
s_node_rules (const json_t *status, json_t *warnings)
{
    double used = json_number_value (json_object_get (status, "store_bytes"));
    double capacity = json_number_value (json_object_get (status, "capacity_bytes"));
    if (capacity > 0 && used * 100 > capacity * HT_HEALTH_MAP_PERCENT)
        s_warn (warnings, "map_nearly_full", NULL, "the store uses %.0f%% of the %.0f MiB it "
                "may grow to (limits/map_limit_mb or the disk)", used * 100 / capacity,
                capacity / (1024 * 1024));
    const json_t *full = json_object_get (status, "store_full");
    if (full)
        s_warn (warnings, "store_full", NULL, "the last write did not fit: %s; writes are "
                "refused (store_full) and batches asked for again with backoff until there "
                "is room", json_string_value (json_object_get (full, "text")));
    const json_t *expires = json_object_get (status, "cert_expires_ms");
    if (json_is_integer (expires) && json_integer_value (expires) <= 0)
        s_warn (warnings, "cert_expiring", NULL, "this node's certificate has expired: "
                "have the parent issue a new one");
    else
    if (json_is_integer (expires) && json_integer_value (expires) < HT_HEALTH_CERT_MS)
        s_warn (warnings, "cert_expiring", NULL, "this node's certificate expires in %lld "
                "days: have the parent issue a new one",
                (long long) (json_integer_value (expires) / 86400000));
    json_int_t ahead = json_integer_value (json_object_get (
        json_object_get (status, "quarantine"), "clock"));
    if (ahead > 0)
        s_warn (warnings, "clock_quarantined", NULL, "%lld records refused as timestamped "
                "ahead of this node's clock, retried until it allows them: check the clocks "
                "(NTP) here and at their writers", (long long) ahead);
}

//  How far ahead or behind, for people
static void
s_skew_text (int64_t skew_ms, char *text, size_t size)
{
    snprintf (text, size, "%.1f s %s", (double) (skew_ms < 0? -skew_ms: skew_ms) / 1000.0,
              skew_ms < 0? "behind": "ahead of");
}

//  The clock rules: our own clock against the reference, then each
//  connected peer whose clock is off ours by more than our own error
//  explains (a peer that agrees with the reference is not named again)
static void
s_clock_rules (const json_t *status, json_t *warnings, const ht_health_limits_t *limits)
{
    const json_t *clock = json_object_get (status, "clock");
    bool ours_off = json_is_true (json_object_get (clock, "skewed"));
    int64_t skew = ours_off? (int64_t) json_integer_value (json_object_get (clock, "skew_ms")): 0;
    char text [48];
    if (ours_off) {
        const char *reference = json_string_value (json_object_get (clock, "reference"));
        s_skew_text (skew, text, sizeof text);
        s_warn (warnings, "clock_skew", NULL, "this node's clock is %s %s: %s; set it right "
                "(NTP)", text, reference? reference: "its neighbours",
                json_is_true (json_object_get (clock, "pulls_paused"))
                ? "it pulls from no neighbour until then (their records wait for it)"
              : skew > 0? "a record entering the network here dated by it is refused as "
                          "clock_skew" : "records dated ahead of it by more than 5 minutes "
                                         "are quarantined as clock and retried");
    }
    size_t index;
    json_t *peer;
    json_array_foreach (json_object_get (status, "peers"), index, peer) {
        const json_t *offset = json_object_get (peer, "clock_offset_ms");
        if (!json_is_true (json_object_get (peer, "connected")) || !json_is_integer (offset))
            continue;
        int64_t theirs = (int64_t) json_integer_value (offset);
        int64_t beyond = theirs + skew;         //  its clock against the reference's
        if ((theirs < 0? -theirs: theirs) <= limits->clock_skew_ms
        ||  (beyond < 0? -beyond: beyond) <= limits->clock_skew_ms)
            continue;
        const char *region = json_string_value (json_object_get (peer, "region"));
        s_skew_text (theirs, text, sizeof text);
        s_warn (warnings, "clock_skew", region, "the clock of %s %s (%s) is %s this node's: "
                "%s (NTP)", json_string_value (json_object_get (peer, "role")),
                json_string_value (json_object_get (peer, "name")), region, text,
                json_is_null (json_object_get (clock, "skew_ms"))
                ? "one of the two is wrong" : "its clock is the one off; set it right");
    }
}

void
ht_health_apply (ht_health_t *self, json_t *status, const ht_health_limits_t *limits,
                 int64_t now)
{
    json_t *warnings = json_array ();
    size_t index;
    json_t *peer;
    json_array_foreach (json_object_get (status, "peers"), index, peer)
        s_peer_rules (self, peer, warnings, limits, now);
    s_node_rules (status, warnings);
    s_clock_rules (status, warnings, limits);
    json_object_set_new (status, "warnings", warnings);
}
