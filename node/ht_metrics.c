//  ht_metrics: the metrics and health endpoint (see ht_metrics.h).
#include <arpa/inet.h>
#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include "ht_metrics.h"
#include "ht_health.h"

#define S_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

//  --------------------------------------------------------------------------
//  Addresses

int
ht_metrics_parse_listen (const char *text, struct sockaddr_in *addr, bool *loopback,
                         const char **reason)
{
    memset (addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    const char *colon = strrchr (text, ':');
    const char *port = colon? colon + 1: text;
    char host [INET_ADDRSTRLEN] = "127.0.0.1";
    if (colon) {
        size_t length = (size_t) (colon - text);
        if (length == 0 || length >= sizeof host) {
            *reason = "expected PORT or IPV4:PORT, e.g. 127.0.0.1:9464";
            return HT_EINVAL;
        }
        memcpy (host, text, length);
        host [length] = 0;
        if (streq (host, "localhost"))
            snprintf (host, sizeof host, "127.0.0.1");
    }
    char *end = NULL;
    long number = strtol (port, &end, 10);
    if (!isdigit ((unsigned char) *port) || *end || number < 0 || number > 65535) {
        *reason = "the port must be 0..65535";
        return HT_EINVAL;
    }
    if (inet_pton (AF_INET, host, &addr->sin_addr) != 1) {
        *reason = "the host must be an IPv4 address such as 127.0.0.1";
        return HT_EINVAL;
    }
    addr->sin_port = htons ((uint16_t) number);
    *loopback = (ntohl (addr->sin_addr.s_addr) >> 24) == 127;
    return HT_OK;
}

//  --------------------------------------------------------------------------
//  Request latency

//  1 ms .. 10 s: a GET answers in well under a millisecond, a large LIST
//  page or PUT in tens of milliseconds; seconds mean trouble
const int64_t ht_latency_bounds_us [HT_LATENCY_BUCKETS] = {
    250, 1000, 2500, 5000, 10000, 25000, 100000, 250000, 1000000, 10000000 };

//  The client requests of docs/protocol.md §4; the rest count as "other"
static const char *const s_commands [] = {
    "PUT", "STATUS", "INFO", "GET", "FIND", "LIST", "COUNT", "HISTORY",
    "SUBSCRIBE", "CREDIT", "UNSUBSCRIBE", "other" };
#define S_COMMAND_COUNT (sizeof s_commands / sizeof s_commands [0])

typedef struct {
    uint64_t buckets [HT_LATENCY_BUCKETS + 1];  //  per bound, then +Inf (not cumulative)
    uint64_t count;                     //  requests
    int64_t sum_us;                     //  their total time
} s_histogram_t;

struct _ht_latency_t {
    pthread_mutex_t mutex;              //  the node's and the reader's threads record
    s_histogram_t histograms [S_COMMAND_COUNT];     //  by s_commands
};

ht_latency_t *
ht_latency_new (void)
{
    ht_latency_t *self = (ht_latency_t *) zmalloc (sizeof (ht_latency_t));
    pthread_mutex_init (&self->mutex, NULL);
    return self;
}

void
ht_latency_destroy (ht_latency_t **self_p)
{
    ht_latency_t *self = *self_p;
    if (self) {
        pthread_mutex_destroy (&self->mutex);
        free (self);
        *self_p = NULL;
    }
}

void
ht_latency_record (ht_latency_t *self, const char *command, int64_t elapsed_us)
{
    size_t index = 0;
    while (index < S_COMMAND_COUNT - 1 && !streq (s_commands [index], command))
        index++;
    size_t bucket = 0;
    while (bucket < HT_LATENCY_BUCKETS && elapsed_us > ht_latency_bounds_us [bucket])
        bucket++;
    pthread_mutex_lock (&self->mutex);
    s_histogram_t *histogram = &self->histograms [index];
    histogram->buckets [bucket]++;
    histogram->count++;
    histogram->sum_us += elapsed_us > 0? elapsed_us: 0;
    pthread_mutex_unlock (&self->mutex);
}

json_t *
ht_latency_status (ht_latency_t *self)
{
    s_histogram_t copy [S_COMMAND_COUNT];
    pthread_mutex_lock (&self->mutex);
    memcpy (copy, self->histograms, sizeof copy);
    pthread_mutex_unlock (&self->mutex);
    json_t *status = json_object ();
    for (size_t index = 0; index < S_COMMAND_COUNT; index++) {
        if (!copy [index].count)
            continue;
        json_t *buckets = json_array ();
        uint64_t cumulative = 0;
        for (size_t bucket = 0; bucket < HT_LATENCY_BUCKETS; bucket++) {
            cumulative += copy [index].buckets [bucket];
            json_array_append_new (buckets, json_integer ((json_int_t) cumulative));
        }
        json_object_set_new (status, s_commands [index], json_pack ("{s:I, s:I, s:o}",
            "count", (json_int_t) copy [index].count,
            "sum_us", (json_int_t) copy [index].sum_us, "buckets", buckets));
    }
    return status;
}

//  --------------------------------------------------------------------------
//  The exposition

//  Append a label value, escaped as the format says (\\, \", \n)
static void
s_label_value (zchunk_t *out, const char *value)
{
    for (const char *scan = value? value: ""; *scan; scan++) {
        if (*scan == '\\')
            zchunk_extend (out, "\\\\", 2);
        else
        if (*scan == '"')
            zchunk_extend (out, "\\\"", 2);
        else
        if (*scan == '\n')
            zchunk_extend (out, "\\n", 2);
        else
            zchunk_extend (out, scan, 1);
    }
}

static void
s_printf (zchunk_t *out, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    if (text)
        zchunk_extend (out, text, strlen (text));
    free (text);
}

static void
s_header (zchunk_t *out, const char *name, const char *type, const char *help)
{
    s_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

//  One sample: name{label="value"} number; label NULL for none
static void
s_sample (zchunk_t *out, const char *name, const char *label, const char *value,
          double number)
{
    s_printf (out, "%s", name);
    if (label) {
        s_printf (out, "{%s=\"", label);
        s_label_value (out, value);
        s_printf (out, "\"}");
    }
    s_printf (out, " %.15g\n", number);
}

static double
s_number (const json_t *object, const char *key)
{
    return json_number_value (json_object_get (object, key));
}

//  A node-wide number from status, if present
static void
s_scalar (zchunk_t *out, const json_t *status, const char *key, const char *name,
          const char *type, const char *help, double scale)
{
    const json_t *value = json_object_get (status, key);
    if (!json_is_number (value))
        return;
    s_header (out, name, type, help);
    s_sample (out, name, NULL, NULL, json_number_value (value) * scale);
}

//  A metric with one sample per key of an object of numbers
static void
s_by_key (zchunk_t *out, const json_t *counts, const char *name, const char *label,
          const char *type, const char *help)
{
    s_header (out, name, type, help);
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) counts, key, value)
        s_sample (out, name, label, key, json_number_value (value));
}

//  Per-peer samples: labelled by name, region and role
static void
s_peer_metric (zchunk_t *out, const json_t *peers, const char *key, const char *name,
               const char *type, const char *help, double scale)
{
    s_header (out, name, type, help);
    size_t index;
    json_t *peer;
    json_array_foreach ((json_t *) peers, index, peer) {
        const json_t *value = json_object_get (peer, key);
        if (!json_is_number (value) || json_number_value (value) < 0)
            continue;               //  "never" is no sample
        s_printf (out, "%s{peer=\"", name);
        s_label_value (out, json_string_value (json_object_get (peer, "name")));
        s_printf (out, "\",region=\"");
        s_label_value (out, json_string_value (json_object_get (peer, "region")));
        s_printf (out, "\",role=\"%s\"} %.15g\n",
                  json_string_value (json_object_get (peer, "role")),
                  json_number_value (value) * scale);
    }
}

static void
s_peers (zchunk_t *out, const json_t *peers)
{
    s_header (out, "hutong_peer_connected", "gauge", "1 if the link with the peer is up");
    size_t index;
    json_t *peer;
    json_array_foreach ((json_t *) peers, index, peer) {
        s_printf (out, "hutong_peer_connected{peer=\"");
        s_label_value (out, json_string_value (json_object_get (peer, "name")));
        s_printf (out, "\",region=\"");
        s_label_value (out, json_string_value (json_object_get (peer, "region")));
        s_printf (out, "\",role=\"%s\"} %d\n", json_string_value (json_object_get (peer, "role")),
                  json_is_true (json_object_get (peer, "connected"))? 1: 0);
    }
    s_peer_metric (out, peers, "lag", "hutong_peer_lag_records", "gauge",
                   "Sequence numbers of the peer's log not yet examined here", 1);
    s_peer_metric (out, peers, "behind_ms", "hutong_peer_lag_seconds", "gauge",
                   "Seconds since the link last had no lag (0: caught up)", 0.001);
    s_peer_metric (out, peers, "last_seen_ms_ago", "hutong_peer_last_seen_seconds", "gauge",
                   "Seconds since the peer was last heard (no sample: never)", 0.001);
    s_peer_metric (out, peers, "batches", "hutong_peer_batches_applied_total", "counter",
                   "Batches from the peer applied here", 1);
    s_peer_metric (out, peers, "received", "hutong_peer_records_received_total", "counter",
                   "Records received from the peer", 1);
    s_peer_metric (out, peers, "applied", "hutong_peer_records_applied_total", "counter",
                   "Records from the peer that became current here", 1);
    s_peer_metric (out, peers, "sent", "hutong_peer_records_sent_total", "counter",
                   "Records sent to the peer", 1);
    s_peer_metric (out, peers, "stale_batches", "hutong_peer_stale_batches_total", "counter",
                   "Batches from the peer dropped as not starting at our cursor", 1);
    s_peer_metric (out, peers, "epoch_changes", "hutong_peer_epoch_changes_total", "counter",
                   "Times the peer came back with a new store epoch (a restore)", 1);
}

//  Each peer's clock minus ours, and ours against the reference: signed,
//  and absent until read (an older peer sends no clock)
static void
s_clocks (zchunk_t *out, const json_t *status)
{
    const char *name = "hutong_peer_clock_skew_seconds";
    s_header (out, name, "gauge", "The peer's wall clock minus this node's, seconds (half "
              "the round trip corrected)");
    size_t index;
    json_t *peer;
    json_array_foreach (json_object_get (status, "peers"), index, peer) {
        const json_t *offset = json_object_get (peer, "clock_offset_ms");
        if (!json_is_integer (offset))
            continue;
        s_printf (out, "%s{peer=\"", name);
        s_label_value (out, json_string_value (json_object_get (peer, "name")));
        s_printf (out, "\",region=\"");
        s_label_value (out, json_string_value (json_object_get (peer, "region")));
        s_printf (out, "\",role=\"%s\"} %.15g\n",
                  json_string_value (json_object_get (peer, "role")),
                  (double) json_integer_value (offset) / 1000.0);
    }
    const json_t *clock = json_object_get (status, "clock");
    s_scalar (out, clock, "skew_ms", "hutong_clock_skew_seconds", "gauge", "This node's wall "
              "clock minus its parent's (or most children's), seconds", 0.001);
    if (json_is_object (clock)) {
        s_header (out, "hutong_clock_pulls_paused", "gauge", "1 while this node's clock is so "
                  "far behind that it pulls from no neighbour");
        s_sample (out, "hutong_clock_pulls_paused", NULL, NULL,
                  json_is_true (json_object_get (clock, "pulls_paused")));
    }
}

//  hutong_request_duration_seconds, one histogram per command
static void
s_latency (zchunk_t *out, const json_t *latency)
{
    const char *name = "hutong_request_duration_seconds";
    s_header (out, name, "histogram", "Time to answer a client request, by command");
    const char *command;
    json_t *histogram;
    json_object_foreach ((json_t *) latency, command, histogram) {
        const json_t *buckets = json_object_get (histogram, "buckets");
        for (size_t bucket = 0; bucket < HT_LATENCY_BUCKETS; bucket++)
            s_printf (out, "%s_bucket{command=\"%s\",le=\"%g\"} %.15g\n", name, command,
                      (double) ht_latency_bounds_us [bucket] / 1e6,
                      json_number_value (json_array_get (buckets, bucket)));
        s_printf (out, "%s_bucket{command=\"%s\",le=\"+Inf\"} %.15g\n", name, command,
                  s_number (histogram, "count"));
        s_printf (out, "%s_sum{command=\"%s\"} %.15g\n", name, command,
                  s_number (histogram, "sum_us") / 1e6);
        s_printf (out, "%s_count{command=\"%s\"} %.15g\n", name, command,
                  s_number (histogram, "count"));
    }
}

//  Health: 1 if no warnings, and the warnings by code
static void
s_health (zchunk_t *out, const json_t *warnings)
{
    s_header (out, "hutong_healthy", "gauge", "1 if the node has no warnings (/healthz ok)");
    s_sample (out, "hutong_healthy", NULL, NULL, json_array_size (warnings)? 0: 1);
    //  Every code has a sample, 0 when not in force: an alert rule on
    //  one never finds its series missing
    json_t *codes = json_object ();
    for (size_t code = 0; ht_health_codes [code]; code++)
        json_object_set_new (codes, ht_health_codes [code], json_integer (0));
    size_t index;
    json_t *warning;
    json_array_foreach ((json_t *) warnings, index, warning) {
        const char *code = json_string_value (json_object_get (warning, "code"));
        if (code)
            json_object_set_new (codes, code, json_integer (
                json_integer_value (json_object_get (codes, code)) + 1));
    }
    s_by_key (out, codes, "hutong_warnings", "code", "gauge",
              "Warnings now in force, by code (see hutong status)");
    json_decref (codes);
}

//  Sum of an object's numbers
static double
s_total (const json_t *counts)
{
    double total = 0;
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) counts, key, value)
        total += json_number_value (value);
    return total;
}

char *
ht_metrics_text (const json_t *status)
{
    zchunk_t *out = zchunk_new (NULL, 4096);
    const json_t *peers = json_object_get (status, "peers");
    s_by_key (out, json_object_get (status, "records"), "hutong_records", "kind", "gauge",
              "Current entities stored, by kind");
    s_scalar (out, status, "last_seq", "hutong_last_seq", "gauge",
              "The store's latest local sequence number", 1);
    s_peers (out, peers);
    s_clocks (out, status);
    s_header (out, "hutong_peers_connected", "gauge", "Peers (parent and children) linked now");
    double connected = 0;
    size_t index;
    json_t *peer;
    json_array_foreach ((json_t *) peers, index, peer)
        connected += json_is_true (json_object_get (peer, "connected"));
    s_sample (out, "hutong_peers_connected", NULL, NULL, connected);
    s_scalar (out, status, "client_connections", "hutong_client_connections", "gauge",
              "Connections open on the client socket", 1);
    s_by_key (out, json_object_get (status, "quarantine"), "hutong_quarantine_records", "reason",
              "gauge", "Records refused and kept in quarantine, by reason");
    s_header (out, "hutong_quarantine_size", "gauge", "Records in quarantine");
    s_sample (out, "hutong_quarantine_size", NULL, NULL,
              s_total (json_object_get (status, "quarantine")));
    s_scalar (out, status, "quarantine_dropped", "hutong_quarantine_dropped_total", "counter",
              "Quarantine entries dropped to keep a source within its bound", 1);
    s_scalar (out, status, "conflicts", "hutong_conflicts_total", "counter",
              "Versions the ownership rule kept out of the current state", 1);
    s_latency (out, json_object_get (status, "request_latency"));
    s_scalar (out, status, "store_bytes", "hutong_store_used_bytes", "gauge",
              "Bytes of the store's map in use", 1);
    s_scalar (out, status, "map_bytes", "hutong_store_map_bytes", "gauge",
              "The store's current map size (it grows on demand)", 1);
    s_scalar (out, status, "capacity_bytes", "hutong_store_capacity_bytes", "gauge",
              "Most the store can use: limits/map_limit_mb, else used plus free disk", 1);
    s_scalar (out, status, "cert_expires_ms", "hutong_cert_expiry_seconds", "gauge",
              "Seconds until this node's own certificate expires", 0.001);
    s_scalar (out, status, "protocol_errors", "hutong_protocol_errors_total", "counter",
              "Malformed or unexpected messages from peers and clients", 1);
    s_scalar (out, status, "dropped_sends", "hutong_dropped_sends_total", "counter",
              "Messages a full or gone peer or client could not take", 1);
    s_scalar (out, status, "refused_connections", "hutong_refused_connections_total",
              "counter", "Connections refused at the CURVE handshake", 1);
    s_scalar (out, status, "rate_limited", "hutong_rate_limited_total", "counter",
              "Client requests refused as over the client's rate", 1);
    s_health (out, json_object_get (status, "warnings"));
    char *text = (char *) zmalloc (zchunk_size (out) + 1);
    memcpy (text, zchunk_data (out), zchunk_size (out));
    zchunk_destroy (&out);
    return text;
}

bool
ht_metrics_health (const json_t *status, bool as_json, char **text)
{
    const json_t *warnings = json_object_get (status, "warnings");
    bool healthy = json_array_size (warnings) == 0;
    if (as_json) {
        json_t *document = json_pack ("{s:s, s:O}", "status", healthy? "ok": "degraded",
                                      "warnings", warnings? (json_t *) warnings: json_array ());
        *text = json_dumps (document, JSON_COMPACT);
        json_decref (document);
        return healthy;
    }
    zchunk_t *out = zchunk_new (NULL, 256);
    s_printf (out, "%s\n", healthy? "ok": "degraded");
    size_t index;
    json_t *warning;
    json_array_foreach ((json_t *) warnings, index, warning)
        s_printf (out, "%s: %s\n", json_string_value (json_object_get (warning, "code")),
                  json_string_value (json_object_get (warning, "text")));
    *text = (char *) zmalloc (zchunk_size (out) + 1);
    memcpy (*text, zchunk_data (out), zchunk_size (out));
    zchunk_destroy (&out);
    return healthy;
}

//  --------------------------------------------------------------------------
//  The HTTP server

struct _ht_metrics_t {
    struct MHD_Daemon *daemon;          //  libmicrohttpd, on its own thread
    pthread_mutex_t mutex;              //  guards the snapshot below
    char *metrics;                      //  /metrics body, or NULL before the first
    char *health;                       //  /healthz body
    char *health_json;                  //  /healthz?format=json body
    bool healthy;                       //  /healthz: 200, else 503
};

static enum MHD_Result
s_reply (struct MHD_Connection *connection, unsigned int code, const char *type,
         const char *body)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (
        strlen (body), (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result result = MHD_queue_response (connection, code, response);
    MHD_destroy_response (response);
    return result;
}

//  libmicrohttpd's request handler, on its thread: copy the snapshot
static enum MHD_Result
s_on_request (void *arg, struct MHD_Connection *connection, const char *url,
              const char *method, const char *version, const char *upload_data,
              size_t *upload_data_size, void **request_state)
{
    (void) version; (void) upload_data; (void) upload_data_size; (void) request_state;
    ht_metrics_t *self = (ht_metrics_t *) arg;
    if (!streq (method, MHD_HTTP_METHOD_GET) && !streq (method, MHD_HTTP_METHOD_HEAD))
        return s_reply (connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                        "only GET\n");
    bool metrics = streq (url, "/metrics"), health = streq (url, "/healthz");
    if (!metrics && !health)
        return s_reply (connection, MHD_HTTP_NOT_FOUND, "text/plain",
                        "not found: try /metrics or /healthz\n");
    const char *format = MHD_lookup_connection_value (connection, MHD_GET_ARGUMENT_KIND,
                                                      "format");
    bool as_json = format && streq (format, "json");
    pthread_mutex_lock (&self->mutex);
    const char *body = metrics? self->metrics: as_json? self->health_json: self->health;
    char *copy = body? strdup (body): NULL;
    bool healthy = self->healthy;
    pthread_mutex_unlock (&self->mutex);
    enum MHD_Result result;
    if (!copy)
        result = s_reply (connection, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                          "starting\n");
    else
    if (metrics)
        result = s_reply (connection, MHD_HTTP_OK, S_METRICS_CONTENT_TYPE, copy);
    else
        result = s_reply (connection, healthy? MHD_HTTP_OK: MHD_HTTP_SERVICE_UNAVAILABLE,
                          as_json? "application/json": "text/plain; charset=utf-8", copy);
    free (copy);
    return result;
}

ht_metrics_t *
ht_metrics_new (const struct sockaddr_in *addr)
{
    ht_metrics_t *self = (ht_metrics_t *) zmalloc (sizeof (ht_metrics_t));
    pthread_mutex_init (&self->mutex, NULL);
    //  One thread polls every connection: a scrape is a copy, so one is
    //  enough, and a slow or idle client holds a connection slot until
    //  the timeout, never a thread
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
        0, NULL, NULL, s_on_request, self,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *) addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) HT_METRICS_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) HT_METRICS_TIMEOUT_S,
        MHD_OPTION_END);
    if (!self->daemon) {
        int saved = errno;
        ht_metrics_destroy (&self);
        errno = saved;
    }
    return self;
}

void
ht_metrics_destroy (ht_metrics_t **self_p)
{
    ht_metrics_t *self = *self_p;
    if (self) {
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        pthread_mutex_destroy (&self->mutex);
        free (self->metrics);
        free (self->health);
        free (self->health_json);
        free (self);
        *self_p = NULL;
    }
}

int
ht_metrics_port (ht_metrics_t *self)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    return info? (int) info->port: -1;
}

void
ht_metrics_publish (ht_metrics_t *self, const json_t *status)
{
    char *metrics = ht_metrics_text (status);
    char *health = NULL, *health_json = NULL;
    bool healthy = ht_metrics_health (status, false, &health);
    ht_metrics_health (status, true, &health_json);
    pthread_mutex_lock (&self->mutex);
    char *old [3] = { self->metrics, self->health, self->health_json };
    self->metrics = metrics;
    self->health = health;
    self->health_json = health_json;
    self->healthy = healthy;
    pthread_mutex_unlock (&self->mutex);
    for (size_t index = 0; index < 3; index++)
        free (old [index]);
}
