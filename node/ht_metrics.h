//  ht_metrics: what a node shows the staff who watch it, over HTTP on a
//  local address (metrics/listen): GET /metrics, the Prometheus text
//  exposition (version 0.0.4), and GET /healthz, 200 "ok" or 503
//  "degraded" with one warning a line (?format=json: a JSON document).
//
//  One source of truth: the metrics are built from the node's STATUS
//  document (ht_metrics_text), the same one `hutong status` prints, and
//  the health verdict is its "warnings" list (ht_health). Nothing is
//  counted twice.
//
//  Threads: libmicrohttpd answers on its own thread and never touches the
//  node. The node's thread builds a snapshot (the text and the verdict)
//  each heartbeat and publishes it under a mutex; a request copies the
//  latest snapshot and nothing else. The request latency histograms
//  (ht_latency) are the one thing written by two threads (the node's and
//  the reader's), so they carry their own mutex.
#ifndef HT_METRICS_H_INCLUDED
#define HT_METRICS_H_INCLUDED

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include "ht_error.h"

#define HT_METRICS_MAX_CONNECTIONS 16   //  HTTP connections at once; more wait
                                        //  in the kernel's backlog or are refused
#define HT_METRICS_TIMEOUT_S 10         //  an idle HTTP connection is closed after
#define HT_LATENCY_BUCKETS 10           //  histogram bounds (ht_latency_bounds_us)

//  --------------------------------------------------------------------------
//  Addresses

//  Parse a metrics/listen value: "PORT" (on 127.0.0.1) or "IPV4:PORT"
//  ("localhost" means 127.0.0.1), port 0..65535 (0: any free port). Fills
//  addr and sets *loopback if the address is in 127.0.0.0/8. Returns 0, or
//  HT_EINVAL with *reason.
int ht_metrics_parse_listen (const char *text, struct sockaddr_in *addr, bool *loopback,
                             const char **reason) HT_WUR;

//  --------------------------------------------------------------------------
//  Request latency, by command (thread-safe)

typedef struct _ht_latency_t ht_latency_t;

//  The histograms' upper bounds in microseconds (HT_LATENCY_BUCKETS of
//  them; a last bucket, +Inf, holds the rest)
extern const int64_t ht_latency_bounds_us [HT_LATENCY_BUCKETS];

//  New, empty histograms. The caller owns them.
ht_latency_t *ht_latency_new (void);

//  Destroy and set the pointer to NULL
void ht_latency_destroy (ht_latency_t **self_p);

//  One request of command answered in elapsed_us microseconds. Commands
//  other than the protocol's client requests count as "other".
void ht_latency_record (ht_latency_t *self, const char *command, int64_t elapsed_us);

//  The histograms for the status document, commands seen only:
//  {"GET": {"count": N, "sum_us": S, "buckets": [cumulative count at each
//  bound]}, ...}. The caller owns it.
json_t *ht_latency_status (ht_latency_t *self);

//  --------------------------------------------------------------------------
//  The exposition

//  The Prometheus text (0.0.4) for a STATUS document with its "warnings"
//  (see docs/operations.md "Monitoring" for each metric). The caller
//  owns the string.
char *ht_metrics_text (const json_t *status);

//  --------------------------------------------------------------------------
//  The HTTP server

typedef struct _ht_metrics_t ht_metrics_t;

//  Serve on addr (from ht_metrics_parse_listen); NULL if it cannot bind
//  (errno says why). The caller owns it. Until the first publish, both
//  paths answer 503.
ht_metrics_t *ht_metrics_new (const struct sockaddr_in *addr);

//  Stop serving (waits for the server's thread) and set the pointer to NULL
void ht_metrics_destroy (ht_metrics_t **self_p);

//  The port it listens on (the one chosen, if it asked for 0)
int ht_metrics_port (ht_metrics_t *self);

//  Publish a new snapshot for status (a STATUS document with its
//  "warnings"): what /metrics and /healthz answer from now on. Called
//  from the node's thread; status is only read.
void ht_metrics_publish (ht_metrics_t *self, const json_t *status);

//  What /healthz answers for status: true if healthy; *text (caller
//  owns) is "ok\n" or "degraded\n" then "code: text" a line, or with
//  as_json the JSON {"status": "ok"|"degraded", "warnings": [...]}
bool ht_metrics_health (const json_t *status, bool as_json, char **text);

#endif
