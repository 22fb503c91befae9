//  test_metrics: the Prometheus text built from a STATUS document, the
//  latency histograms, metrics/listen addresses, the warning rules
//  (ht_health) and the HTTP endpoint itself on 127.0.0.1. Time is made
//  up: no test sleeps.
#include <arpa/inet.h>
#include <czmq.h>
#include <regex.h>
#include "ht_health.h"
#include "ht_metrics.h"
#include "ht_test.h"

#define S_DAY_MS (86400LL * 1000)

//  A status document as the node builds it: one parent, one child
static json_t *
s_status (void)
{
    json_t *status = json_pack (
        "{s:s, s:s, s:I, s:{s:i, s:i}, s:{}, s:i, s:i, s:i, s:i, s:i, s:i,"
        " s:I, s:I, s:I, s:I, s:{}}",
        "name", "county", "region", "441802000000", "last_seq", (json_int_t) 42,
        "records", "elder", 7, "cert", 4, "quarantine",
        "conflicts", 0, "quarantine_dropped", 0, "refused_connections", 1,
        "rate_limited", 0, "dropped_sends", 3, "protocol_errors", 2,
        "store_bytes", (json_int_t) 1 << 20, "map_bytes", (json_int_t) 256 << 20,
        "capacity_bytes", (json_int_t) 1 << 30, "cert_expires_ms", (json_int_t) 90 * S_DAY_MS,
        "request_latency");
    json_t *peers = json_array ();
    json_array_append_new (peers, json_pack ("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I}",
        "name", "city", "region", "441800000000", "role", "parent", "connected", 1,
        "last_seen_ms_ago", (json_int_t) 100, "lag", (json_int_t) 0, "cursor", (json_int_t) 9,
        "batches", (json_int_t) 3, "epoch_changes", (json_int_t) 0));
    json_array_append_new (peers, json_pack ("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I}",
        "name", "南湖\"街道\"\\", "region", "441802001000", "role", "child", "connected", 1,
        "last_seen_ms_ago", (json_int_t) 200, "lag", (json_int_t) 5, "cursor", (json_int_t) 10,
        "batches", (json_int_t) 1, "epoch_changes", (json_int_t) 0));
    json_object_set_new (status, "peers", peers);
    return status;
}

static json_t *
s_peer (json_t *status, size_t index)
{
    return json_array_get (json_object_get (status, "peers"), index);
}

//  The warnings for status with these limits, as a list of codes
static char *
s_codes (ht_health_t *health, json_t *status, int64_t unseen_ms, int64_t uptime_ms,
         int64_t now)
{
    ht_health_limits_t limits = { unseen_ms, uptime_ms, 60000 };
    ht_health_apply (health, status, &limits, now);
    char codes [512] = "";
    size_t index;
    json_t *warning;
    json_array_foreach (json_object_get (status, "warnings"), index, warning) {
        const char *code = json_string_value (json_object_get (warning, "code"));
        bool listed = false;
        for (size_t known = 0; ht_health_codes [known]; known++)
            listed |= streq (ht_health_codes [known], code);
        ck_assert_msg (listed, "%s is not in ht_health_codes", code);
        strcat (codes, code);
        strcat (codes, " ");
    }
    return strdup (codes);
}

//  The value of the sample whose line starts with prefix ("name{labels} ")
static double
s_value (const char *text, const char *prefix)
{
    for (const char *line = text; line && *line; line = strchr (line, '\n') + 1) {
        if (strncmp (line, prefix, strlen (prefix)) == 0)
            return strtod (line + strlen (prefix), NULL);
        if (!strchr (line, '\n'))
            break;
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  The exposition

START_TEST (every_line_is_a_comment_or_a_well_formed_sample_with_help_and_type)
{
    json_t *status = s_status ();
    json_object_set_new (status, "warnings", json_array ());
    char *text = ht_metrics_text (status);
    regex_t sample;
    ck_assert_int_eq (regcomp (&sample, "^([a-z_]+)(\\{([a-z_]+=\"([^\"\\\\]|\\\\.)*\",?)*\\})? "
                               "(-?[0-9.e+-]+|\\+Inf)$", REG_EXTENDED), 0);
    zhashx_t *typed = zhashx_new ();
    size_t samples = 0;
    char *copy = strdup (text), *save = NULL;
    for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        char name [128];
        if (sscanf (line, "# TYPE %127s", name) == 1) {
            zhashx_insert (typed, name, "yes");
            continue;
        }
        if (strncmp (line, "# HELP ", 7) == 0)
            continue;
        regmatch_t match [2];
        ck_assert_msg (regexec (&sample, line, 2, match, 0) == 0, "bad line: %s", line);
        snprintf (name, sizeof name, "%.*s", (int) (match [1].rm_eo - match [1].rm_so), line);
        char *suffix = strstr (name, "_bucket");
        if (!suffix) suffix = strstr (name, "_sum");
        if (!suffix && !zhashx_lookup (typed, name)) suffix = strstr (name, "_count");
        if (suffix && strstr (name, "request_duration"))
            *suffix = 0;
        ck_assert_msg (zhashx_lookup (typed, name), "%s has no TYPE before it", name);
        samples++;
    }
    ck_assert_uint_gt (samples, 20);
    zhashx_destroy (&typed);
    regfree (&sample);
    free (copy);
    free (text);
    json_decref (status);
}
END_TEST

START_TEST (samples_carry_the_status_values)
{
    json_t *status = s_status ();
    json_object_set_new (status, "warnings", json_array ());
    char *text = ht_metrics_text (status);
    ck_assert (s_value (text, "hutong_records{kind=\"elder\"} ") == 7);
    ck_assert (s_value (text, "hutong_records{kind=\"cert\"} ") == 4);
    ck_assert (s_value (text, "hutong_peer_lag_records{peer=\"city\",region=\"441800000000\","
                              "role=\"parent\"} ") == 0);
    ck_assert (s_value (text, "hutong_peers_connected ") == 2);
    ck_assert (s_value (text, "hutong_protocol_errors_total ") == 2);
    ck_assert (s_value (text, "hutong_dropped_sends_total ") == 3);
    ck_assert (s_value (text, "hutong_cert_expiry_seconds ") == 90.0 * 86400);
    ck_assert (s_value (text, "hutong_peer_last_seen_seconds{peer=\"city\",region="
                              "\"441800000000\",role=\"parent\"} ") == 0.1);
    ck_assert (s_value (text, "hutong_healthy ") == 1);
    ck_assert (s_value (text, "hutong_quarantine_size ") == 0);
    ck_assert (s_value (text, "hutong_warnings{code=\"peer_unseen\"} ") == 0);
    ck_assert (s_value (text, "hutong_warnings{code=\"peer_epoch_changed\"} ") == 0);
    free (text);
    json_decref (status);
}
END_TEST

START_TEST (label_values_are_escaped_and_stay_utf8)
{
    json_t *status = s_status ();
    char *text = ht_metrics_text (status);
    ck_assert_ptr_nonnull (strstr (text, "hutong_peer_lag_records{peer=\"南湖\\\"街道\\\"\\\\\","
                                         "region=\"441802001000\",role=\"child\"} 5\n"));
    free (text);
    json_decref (status);
}
END_TEST

START_TEST (a_peer_never_heard_has_no_last_seen_sample)
{
    json_t *status = s_status ();
    json_object_set_new (s_peer (status, 1), "last_seen_ms_ago", json_integer (-1));
    char *text = ht_metrics_text (status);
    ck_assert (s_value (text, "hutong_peer_last_seen_seconds{peer=\"南湖") == -1);
    ck_assert_ptr_nonnull (strstr (text, "hutong_peer_last_seen_seconds{peer=\"city\""));
    free (text);
    json_decref (status);
}
END_TEST

START_TEST (a_node_without_a_certificate_has_no_expiry_sample)
{
    json_t *status = s_status ();
    json_object_del (status, "cert_expires_ms");
    char *text = ht_metrics_text (status);
    ck_assert_ptr_null (strstr (text, "hutong_cert_expiry_seconds "));
    free (text);
    json_decref (status);
}
END_TEST

//  --------------------------------------------------------------------------
//  Latency

START_TEST (latency_buckets_are_cumulative_and_end_at_the_count)
{
    ht_latency_t *latency = ht_latency_new ();
    ht_latency_record (latency, "GET", 100);            //  first bucket
    ht_latency_record (latency, "GET", 3000);           //  the 5 ms bucket
    ht_latency_record (latency, "GET", 60000000);       //  only +Inf
    ht_latency_record (latency, "NOT-A-COMMAND", 10);
    json_t *histograms = ht_latency_status (latency);
    json_t *get = json_object_get (histograms, "GET");
    ck_assert_int_eq (json_integer_value (json_object_get (get, "count")), 3);
    ck_assert_int_eq (json_integer_value (json_object_get (get, "sum_us")), 60003100);
    json_t *buckets = json_object_get (get, "buckets");
    ck_assert_int_eq (json_integer_value (json_array_get (buckets, 0)), 1);
    ck_assert_int_eq (json_integer_value (json_array_get (buckets, 2)), 1);
    ck_assert_int_eq (json_integer_value (json_array_get (buckets, 3)), 2);
    ck_assert_int_eq (json_integer_value (json_array_get (buckets, HT_LATENCY_BUCKETS - 1)), 2);
    ck_assert_ptr_nonnull (json_object_get (histograms, "other"));
    ck_assert_ptr_null (json_object_get (histograms, "PUT"));
    json_t *status = s_status ();
    json_object_set_new (status, "request_latency", histograms);
    char *text = ht_metrics_text (status);
    ck_assert (s_value (text, "hutong_request_duration_seconds_bucket{command=\"GET\","
                              "le=\"+Inf\"} ") == 3);
    ck_assert (s_value (text, "hutong_request_duration_seconds_bucket{command=\"GET\","
                              "le=\"0.005\"} ") == 2);
    ck_assert (s_value (text, "hutong_request_duration_seconds_count{command=\"GET\"} ") == 3);
    free (text);
    json_decref (status);
    ht_latency_destroy (&latency);
    ht_latency_destroy (&latency);
}
END_TEST

//  --------------------------------------------------------------------------
//  metrics/listen

START_TEST (listen_addresses_parse_and_know_loopback)
{
    struct sockaddr_in addr;
    bool loopback = false;
    const char *reason = NULL;
    ck_assert_int_eq (ht_metrics_parse_listen ("9464", &addr, &loopback, &reason), HT_OK);
    ck_assert (loopback);
    ck_assert_int_eq (ntohs (addr.sin_port), 9464);
    ck_assert_int_eq (ht_metrics_parse_listen ("localhost:0", &addr, &loopback, &reason), HT_OK);
    ck_assert (loopback);
    ck_assert_int_eq (ht_metrics_parse_listen ("127.0.0.2:80", &addr, &loopback, &reason), HT_OK);
    ck_assert (loopback);
    ck_assert_int_eq (ht_metrics_parse_listen ("10.1.2.3:9464", &addr, &loopback, &reason), HT_OK);
    ck_assert (!loopback);
    const char *bad [] = { "", "x", ":80", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                           "host.example:80", "1.2.3:80", "127.0.0.1:80x" };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        reason = NULL;
        ck_assert_msg (ht_metrics_parse_listen (bad [index], &addr, &loopback, &reason)
                       == HT_EINVAL, "accepted '%s'", bad [index]);
        ck_assert_ptr_nonnull (reason);
    }
}
END_TEST

//  --------------------------------------------------------------------------
//  Warning rules

START_TEST (a_healthy_node_has_no_warnings)
{
    ht_health_t *health = ht_health_new ();
    json_t *status = s_status ();
    char *codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "");
    char *text = NULL;
    ck_assert (ht_metrics_health (status, false, &text));
    ck_assert_str_eq (text, "ok\n");
    free (text);
    free (codes);
    json_decref (status);
    ht_health_destroy (&health);
}
END_TEST

START_TEST (a_parent_not_connected_is_parent_down)
{
    ht_health_t *health = ht_health_new ();
    json_t *status = s_status ();
    json_object_set_new (s_peer (status, 0), "connected", json_false ());
    char *codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "parent_down ");
    char *text = NULL;
    ck_assert (!ht_metrics_health (status, false, &text));
    ck_assert_str_eq (text, "degraded\nparent_down: parent city (441800000000) is not connected\n");
    free (text);
    ck_assert (!ht_metrics_health (status, true, &text));
    json_t *document = json_loads (text, 0, NULL);
    ck_assert_str_eq (json_string_value (json_object_get (document, "status")), "degraded");
    json_decref (document);
    free (text);
    free (codes);
    json_decref (status);
    ht_health_destroy (&health);
}
END_TEST

START_TEST (a_peer_is_unseen_only_past_the_threshold)
{
    ht_health_t *health = ht_health_new ();
    json_t *status = s_status ();
    json_object_set_new (s_peer (status, 1), "last_seen_ms_ago", json_integer (60000));
    char *codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "");
    free (codes);
    json_object_set_new (s_peer (status, 1), "last_seen_ms_ago", json_integer (60001));
    codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "peer_unseen ");
    ck_assert_str_eq (json_string_value (json_object_get (json_array_get (
        json_object_get (status, "warnings"), 0), "peer")), "441802001000");
    free (codes);
    json_decref (status);
    ht_health_destroy (&health);
}
END_TEST

START_TEST (a_peer_never_heard_is_unseen_once_the_node_has_run_that_long)
{
    ht_health_t *health = ht_health_new ();
    json_t *status = s_status ();
    json_object_set_new (s_peer (status, 1), "last_seen_ms_ago", json_integer (-1));
    char *codes = s_codes (health, status, 60000, 30000, 0);
    ck_assert_str_eq (codes, "");
    free (codes);
    codes = s_codes (health, status, 60000, 60001, 0);
    ck_assert_str_eq (codes, "peer_unseen ");
    ck_assert_ptr_nonnull (strstr (json_string_value (json_object_get (json_array_get (
        json_object_get (status, "warnings"), 0), "text")), "never"));
    free (codes);
    json_decref (status);
    ht_health_destroy (&health);
}
END_TEST

//  Sample the child with lag and cursor at now
static void
s_sample_child (ht_health_t *health, json_t *status, int64_t lag, int64_t cursor, int64_t now)
{
    json_object_set_new (s_peer (status, 1), "lag", json_integer (lag));
    json_object_set_new (s_peer (status, 1), "cursor", json_integer (cursor));
    ht_health_sample (health, json_object_get (status, "peers"), now);
}

START_TEST (lag_that_grows_while_the_cursor_stands_still_is_lag_growing)
{
    ht_health_t *health = ht_health_new ();
    json_t *status = s_status ();
    for (int beat = 0; beat < HT_HEALTH_LAG_SAMPLES - 1; beat++)
        s_sample_child (health, status, 5 + beat, 10, beat * 1000);
    char *codes = s_codes (health, status, 60000, 1000000, 9000);
    ck_assert_str_eq (codes, "");           //  not enough samples yet
    free (codes);
    s_sample_child (health, status, 50, 10, 10000);
    codes = s_codes (health, status, 60000, 1000000, 10000);
    ck_assert_str_eq (codes, "lag_growing ");
    //  Behind since the first sample: it never had no lag
    ck_assert_int_eq (json_integer_value (json_object_get (s_peer (status, 1), "behind_ms")),
                      10000);
    free (codes);
    json_decref (status);
    ht_health_destroy (&health);
}
END_TEST

START_TEST (lag_that_grows_while_we_apply_is_not_a_warning)
{
    ht_health_t *health = ht_health_new ();
    json_t *status = s_status ();
    for (int beat = 0; beat < HT_HEALTH_LAG_SAMPLES; beat++)
        s_sample_child (health, status, 5 + beat, 10 + beat, beat * 1000);
    char *codes = s_codes (health, status, 60000, 1000000, 10000);
    ck_assert_str_eq (codes, "");
    free (codes);
    //  Caught up at one heartbeat: behind counts from there
    s_sample_child (health, status, 0, 30, 11000);
    s_sample_child (health, status, 3, 30, 12000);
    codes = s_codes (health, status, 60000, 1000000, 12500);
    ck_assert_int_eq (json_integer_value (json_object_get (s_peer (status, 1), "behind_ms")),
                      1500);
    free (codes);
    json_decref (status);
    ht_health_destroy (&health);
}
END_TEST

START_TEST (the_node_rules_map_cert_clock_and_epoch)
{
    ht_health_t *health = ht_health_new ();
    json_t *status = s_status ();
    json_object_set_new (status, "store_bytes", json_integer (901));
    json_object_set_new (status, "capacity_bytes", json_integer (1000));
    json_object_set_new (status, "cert_expires_ms", json_integer (29 * S_DAY_MS));
    json_object_set_new (json_object_get (status, "quarantine"), "clock", json_integer (4));
    json_object_set_new (s_peer (status, 1), "epoch_changed_ms_ago", json_integer (5000));
    char *codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "peer_epoch_changed map_nearly_full cert_expiring clock_quarantined ");
    free (codes);
    json_object_set_new (status, "store_bytes", json_integer (900));
    json_object_set_new (status, "cert_expires_ms", json_integer (31 * S_DAY_MS));
    json_object_del (json_object_get (status, "quarantine"), "clock");
    json_object_set_new (s_peer (status, 1), "epoch_changed_ms_ago",
                         json_integer (HT_HEALTH_EPOCH_MS));
    codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "");
    free (codes);
    json_object_set_new (status, "cert_expires_ms", json_integer (-1));
    codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "cert_expiring ");
    free (codes);
    json_decref (status);
    ht_health_destroy (&health);
    ht_health_destroy (&health);
}
END_TEST

//  The clock a status shows: the node's judgement of its own, and each
//  peer's offset (ms; NULL's -1 for "not read")
static void
s_set_clock (json_t *status, bool known, int64_t skew_ms, int64_t parent_ms, int64_t child_ms)
{
    bool skewed = known && (skew_ms > 60000 || skew_ms < -60000);
    json_t *clock = json_pack ("{s:b, s:b, s:I}", "skewed", skewed, "pulls_paused",
                               skewed && skew_ms < -240000, "tolerance_ms", (json_int_t) 60000);
    json_object_set_new (clock, "skew_ms", known? json_integer (skew_ms): json_null ());
    json_object_set_new (clock, "reference", known? json_string ("its parent city "
                                                                 "(441800000000)"): json_null ());
    json_object_set_new (status, "clock", clock);
    json_object_set_new (s_peer (status, 0), "clock_offset_ms",
                         parent_ms == -1? json_null (): json_integer (parent_ms));
    json_object_set_new (s_peer (status, 1), "clock_offset_ms",
                         child_ms == -1? json_null (): json_integer (child_ms));
}

//  The text of the index-th warning
static const char *
s_warning_text (json_t *status, size_t index)
{
    return json_string_value (json_object_get (json_array_get (
        json_object_get (status, "warnings"), index), "text"));
}

START_TEST (a_clock_off_its_parents_is_clock_skew_naming_the_reference_and_offset)
{
    ht_health_t *health = ht_health_new ();
    json_t *status = s_status ();
    //  Our clock 10 minutes ahead of the parent's; the child agrees with
    //  the parent, so only ours is named
    s_set_clock (status, true, 600000, -600000, -600000);
    char *codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "clock_skew ");
    free (codes);
    ck_assert_ptr_nonnull (strstr (s_warning_text (status, 0), "this node's clock is 600.0 s "
                                   "ahead of its parent city (441800000000)"));
    ck_assert_ptr_nonnull (strstr (s_warning_text (status, 0), "refused as clock_skew"));
    //  Behind by so much that it pulls nothing
    s_set_clock (status, true, -600000, 600000, 600000);
    codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "clock_skew ");
    free (codes);
    ck_assert_ptr_nonnull (strstr (s_warning_text (status, 0), "600.0 s behind"));
    ck_assert_ptr_nonnull (strstr (s_warning_text (status, 0), "pulls from no neighbour"));
    //  Ours right, the child's 10 minutes ahead: the child is named
    s_set_clock (status, true, 0, 0, 600000);
    codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "clock_skew ");
    free (codes);
    json_t *warning = json_array_get (json_object_get (status, "warnings"), 0);
    ck_assert_str_eq (json_string_value (json_object_get (warning, "peer")), "441802001000");
    ck_assert_ptr_nonnull (strstr (s_warning_text (status, 0), "is 600.0 s ahead of this "
                                   "node's: its clock is the one off"));
    //  Within the tolerance, or not read at all: no warning
    s_set_clock (status, true, 0, 30000, -59000);
    codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "");
    free (codes);
    s_set_clock (status, false, 0, -1, -1);
    codes = s_codes (health, status, 60000, 1000000, 0);
    ck_assert_str_eq (codes, "");
    free (codes);
    json_decref (status);
    ht_health_destroy (&health);
}
END_TEST

START_TEST (each_peers_clock_offset_is_a_gauge_in_seconds)
{
    json_t *status = s_status ();
    s_set_clock (status, true, 600000, -600250, -1);
    json_object_set_new (status, "warnings", json_array ());
    char *text = ht_metrics_text (status);
    ck_assert (s_value (text, "hutong_peer_clock_skew_seconds{peer=\"city\",region="
                              "\"441800000000\",role=\"parent\"} ") == -600.25);
    //  A peer whose clock was not read has no sample
    ck_assert_ptr_null (strstr (text, "hutong_peer_clock_skew_seconds{peer=\"南湖"));
    ck_assert (s_value (text, "hutong_clock_skew_seconds ") == 600);
    ck_assert (s_value (text, "hutong_clock_pulls_paused ") == 0);
    free (text);
    //  No reference: no sample of our own skew
    s_set_clock (status, false, 0, -1, -1);
    text = ht_metrics_text (status);
    ck_assert_ptr_null (strstr (text, "hutong_clock_skew_seconds "));
    free (text);
    json_decref (status);
}
END_TEST

//  --------------------------------------------------------------------------
//  The HTTP server

//  GET path from 127.0.0.1:port; the whole reply (caller frees)
static char *
s_http_get (int port, const char *path)
{
    int sock = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    ck_assert_int_eq (connect (sock, (struct sockaddr *) &addr, sizeof addr), 0);
    char request [256];
    snprintf (request, sizeof request, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    ck_assert_int_eq (write (sock, request, strlen (request)), (ssize_t) strlen (request));
    zchunk_t *reply = zchunk_new (NULL, 4096);
    char buffer [4096];
    ssize_t size;
    while ((size = read (sock, buffer, sizeof buffer)) > 0)
        zchunk_extend (reply, buffer, (size_t) size);
    close (sock);
    char *text = zchunk_strdup (reply);
    zchunk_destroy (&reply);
    return text;
}

START_TEST (the_server_answers_metrics_healthz_and_404)
{
    struct sockaddr_in addr;
    bool loopback = false;
    const char *reason = NULL;
    ck_assert_int_eq (ht_metrics_parse_listen ("127.0.0.1:0", &addr, &loopback, &reason), 0);
    ht_metrics_t *metrics = ht_metrics_new (&addr);
    ck_assert_ptr_nonnull (metrics);
    int port = ht_metrics_port (metrics);
    ck_assert_int_gt (port, 0);
    char *reply = s_http_get (port, "/metrics");
    ck_assert_ptr_nonnull (strstr (reply, " 503 "));        //  nothing published yet
    free (reply);
    json_t *status = s_status ();
    json_object_set_new (status, "warnings", json_pack ("[{s:s, s:s}]", "code", "peer_unseen",
                                                        "text", "child x not heard"));
    ht_metrics_publish (metrics, status);
    reply = s_http_get (port, "/metrics");
    ck_assert_ptr_nonnull (strstr (reply, " 200 OK"));
    ck_assert_ptr_nonnull (strstr (reply, "text/plain; version=0.0.4"));
    ck_assert_ptr_nonnull (strstr (reply, "\nhutong_records{kind=\"elder\"} 7\n"));
    ck_assert_ptr_nonnull (strstr (reply, "\nhutong_warnings{code=\"peer_unseen\"} 1\n"));
    ck_assert_ptr_nonnull (strstr (reply, "\nhutong_healthy 0\n"));
    free (reply);
    reply = s_http_get (port, "/healthz");
    ck_assert_ptr_nonnull (strstr (reply, " 503 "));
    ck_assert_ptr_nonnull (strstr (reply, "\r\n\r\ndegraded\npeer_unseen: child x not heard\n"));
    free (reply);
    reply = s_http_get (port, "/healthz?format=json");
    ck_assert_ptr_nonnull (strstr (reply, "\"status\":\"degraded\""));
    free (reply);
    json_object_set_new (status, "warnings", json_array ());
    ht_metrics_publish (metrics, status);
    reply = s_http_get (port, "/healthz");
    ck_assert_ptr_nonnull (strstr (reply, " 200 OK"));
    ck_assert_ptr_nonnull (strstr (reply, "\r\n\r\nok\n"));
    free (reply);
    reply = s_http_get (port, "/other");
    ck_assert_ptr_nonnull (strstr (reply, " 404 "));
    free (reply);
    json_decref (status);
    ht_metrics_destroy (&metrics);
    ht_metrics_destroy (&metrics);
}
END_TEST

START_TEST (a_port_in_use_is_refused)
{
    struct sockaddr_in addr;
    bool loopback = false;
    const char *reason = NULL;
    ck_assert_int_eq (ht_metrics_parse_listen ("127.0.0.1:0", &addr, &loopback, &reason), 0);
    ht_metrics_t *first = ht_metrics_new (&addr);
    ck_assert_ptr_nonnull (first);
    addr.sin_port = htons ((uint16_t) ht_metrics_port (first));
    ht_metrics_t *second = ht_metrics_new (&addr);
    ck_assert_ptr_null (second);
    ht_metrics_destroy (&first);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_metrics");
    TCase *text = tcase_create ("exposition");
    tcase_add_test (text, every_line_is_a_comment_or_a_well_formed_sample_with_help_and_type);
    tcase_add_test (text, samples_carry_the_status_values);
    tcase_add_test (text, label_values_are_escaped_and_stay_utf8);
    tcase_add_test (text, a_peer_never_heard_has_no_last_seen_sample);
    tcase_add_test (text, a_node_without_a_certificate_has_no_expiry_sample);
    tcase_add_test (text, latency_buckets_are_cumulative_and_end_at_the_count);
    tcase_add_test (text, listen_addresses_parse_and_know_loopback);
    suite_add_tcase (suite, text);
    TCase *rules = tcase_create ("warnings");
    tcase_add_test (rules, a_healthy_node_has_no_warnings);
    tcase_add_test (rules, a_parent_not_connected_is_parent_down);
    tcase_add_test (rules, a_peer_is_unseen_only_past_the_threshold);
    tcase_add_test (rules, a_peer_never_heard_is_unseen_once_the_node_has_run_that_long);
    tcase_add_test (rules, lag_that_grows_while_the_cursor_stands_still_is_lag_growing);
    tcase_add_test (rules, lag_that_grows_while_we_apply_is_not_a_warning);
    tcase_add_test (rules, the_node_rules_map_cert_clock_and_epoch);
    tcase_add_test (rules, a_clock_off_its_parents_is_clock_skew_naming_the_reference_and_offset);
    tcase_add_test (rules, each_peers_clock_offset_is_a_gauge_in_seconds);
    suite_add_tcase (suite, rules);
    TCase *server = tcase_create ("server");
    tcase_add_test (server, the_server_answers_metrics_healthz_and_404);
    tcase_add_test (server, a_port_in_use_is_refused);
    suite_add_tcase (suite, server);
    return suite;
}

HT_TEST_MAIN (s_suite)
