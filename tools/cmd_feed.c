//  hutong feed: follow a node's change feed — one JSON line an event —
//  keeping the cursor in a file so a restart resumes where it stopped.
#include <signal.h>
#include "hutong.h"
#include "ht_client.h"
#include "ht_policy.h"

#define S_MAX_TIMEOUT_MS 3600000
#define S_CURSOR_SAVE_MS 200        //  save the cursor file at most this often

static volatile sig_atomic_t s_stop;
static void s_on_signal (int signal_number) { (void) signal_number; s_stop = 1; }

static const ht_option_t s_feed_options [] = {
    HT_OPTION_TEXT ("node", "ENDPOINT", "the node's client endpoint"),
    HT_OPTION_TEXT ("node-key", "PUB", "the node's public key (file or hex)"),
    HT_OPTION_TEXT ("key", "KEYFILE", "our key, certified by the node (partner, department)"),
    HT_OPTION_TEXT ("purpose", "CODE", "why we read: needed if events show personal fields"),
    HT_OPTION_TEXT ("kinds", "LIST", "kinds, comma-separated (default: all our policy shows)"),
    HT_OPTION_TEXT ("region", "CODE", "only records under this region code or prefix"),
    HT_OPTION_TEXT ("field", "NAME", "only records whose indexed field (one kind)..."),
    HT_OPTION_TEXT ("value", "TEXT", "...has this value"),
    HT_OPTION_TEXT ("since", "CURSOR", "start: start, now, or a saved EPOCH:SEQ (default start)"),
    HT_OPTION_TEXT ("cursor-file", "FILE", "resume from and keep the cursor in FILE"),
    HT_OPTION_FLAG ("follow", "keep waiting for new events (else stop when caught up)"),
    HT_OPTION_UINT ("idle", "MS", 1, S_MAX_TIMEOUT_MS, "without --follow: stop after MS with no event (default 2000)"),
    HT_OPTION_UINT ("limit", "N", 1, UINT64_MAX >> 1, "stop after N events"),
    HT_OPTION_END
};
enum { NODE, NODE_KEY, KEY, PURPOSE, KINDS, REGION, FIELD, VALUE, SINCE, CURSOR_FILE, FOLLOW,
       IDLE, LIMIT };

static const ht_command_spec_t s_feed_spec = {
    "hutong feed --node ENDPOINT --node-key PUB --key KEYFILE [OPTIONS]",
    "Follow the change feed of a running node: every change to the records\n"
    "our read policy shows, as one JSON line an event {\"seq\", \"cursor\",\n"
    "\"record\"} in sequence order, each record verified, redacted as the\n"
    "policy says. Deletions come as tombstones (\"deleted\": true). With\n"
    "--cursor-file the cursor is kept there and a restart resumes after the\n"
    "last event saved (at least once: an event may come again). If the node\n"
    "cannot serve the cursor (a restored node) a line {\"resync\": true} is\n"
    "printed and the feed starts again from the start: rebuild from it.\n"
    "Exit 0 when caught up (or at --limit, or on SIGINT/SIGTERM), 1 if the\n"
    "node refused the subscription, 3 on other errors.",
    s_feed_options
};

//  Parse "EPOCHHEX:SEQ"; false if it is not one
static bool
s_parse_cursor (const char *text, uint8_t *epoch, uint64_t *cursor)
{
    const char *colon = text? strchr (text, ':'): NULL;
    if (!colon || colon - text != 2 * HT_MSG_EPOCH_BYTES)
        return false;
    char hex [2 * HT_MSG_EPOCH_BYTES + 1];
    memcpy (hex, text, sizeof hex - 1);
    hex [sizeof hex - 1] = 0;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (colon + 1, &end, 10);
    return ht_hex_decode (hex, epoch, HT_MSG_EPOCH_BYTES) == HT_OK && colon [1]
        && strspn (colon + 1, "0123456789") == strlen (colon + 1) && errno == 0
        && ((*cursor = value), true);
}

static const char *
s_format_cursor (const uint8_t *epoch, uint64_t cursor, char *text, size_t size)
{
    char hex [2 * HT_MSG_EPOCH_BYTES + 1];
    snprintf (text, size, "%s:%llu", ht_hex_encode (epoch, HT_MSG_EPOCH_BYTES, hex),
              (unsigned long long) cursor);
    return text;
}

//  Write the cursor file atomically (temporary file, then rename)
static int
s_save_cursor (const char *path, ht_client_t *client)
{
    uint8_t epoch [HT_MSG_EPOCH_BYTES];
    uint64_t cursor = 0;
    bool has = false;
    ht_client_feed_cursor (client, epoch, &cursor, &has);
    if (!path || !has)
        return 0;
    char text [64], temporary [PATH_MAX + 8];
    snprintf (temporary, sizeof temporary, "%s.tmp", path);
    FILE *file = fopen (temporary, "w");
    if (!file)
        return -1;
    fprintf (file, "%s\n", s_format_cursor (epoch, cursor, text, sizeof text));
    bool written = fflush (file) == 0 && fsync (fileno (file)) == 0;
    written = fclose (file) == 0 && written;
    return written && rename (temporary, path) == 0? 0: -1;
}

int
ht_cmd_feed (int argc, char **argv)
{
    const char *values [LIMIT + 1];
    int first_arg, rc = ht_args_parse (&s_feed_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [NODE] || !values [NODE_KEY] || !values [KEY])
        return ht_usage_error ("feed: --node, --node-key and --key are required");
    if (!values [FIELD] != !values [VALUE])
        return ht_usage_error ("feed: --field and --value go together");
    if (values [PURPOSE] && !ht_purpose_find (values [PURPOSE]))
        return ht_usage_error ("feed: unknown purpose '%s' (hutong purposes lists them)",
                               values [PURPOSE]);
    ht_client_feed_t spec = {
        .kinds = values [KINDS], .region = values [REGION], .field = values [FIELD],
        .value = values [VALUE], .purpose = values [PURPOSE] };
    uint8_t epoch [HT_MSG_EPOCH_BYTES];
    //  Where to start: --since, else the cursor file, else the start
    char saved [128] = "";
    const char *since = values [SINCE];
    if (!since && values [CURSOR_FILE]) {
        FILE *file = fopen (values [CURSOR_FILE], "r");
        if (file && fgets (saved, sizeof saved, file))
            saved [strcspn (saved, "\r\n")] = 0;
        if (file)
            fclose (file);
        if (*saved)
            since = saved;
    }
    if (since && streq (since, "now"))
        spec.from_now = true;
    else
    if (since && !streq (since, "start")) {
        if (!s_parse_cursor (since, epoch, &spec.cursor))
            return ht_usage_error ("feed: '%s' is not a cursor (start, now or EPOCH:SEQ)", since);
        spec.epoch = epoch;
    }
    uint8_t node_key [HT_PUBKEY_BYTES];
    if (ht_public_load (values [NODE_KEY], node_key))
        return ht_usage_error ("feed: cannot read a public key from '%s'", values [NODE_KEY]);
    ht_keypair_t *key = ht_load_key (values [KEY]);
    if (!key)
        return HT_EXIT_ERROR;
    ht_client_t *client = ht_client_new (values [NODE], node_key, key, 10000);
    if (!client || ht_client_feed_start (client, &spec) != HT_OK) {
        ht_client_destroy (&client);
        ht_keypair_destroy (&key);
        return ht_usage_error ("feed: cannot connect to '%s'", values [NODE]);
    }
    //  A line is out before the cursor that covers it is saved, and a
    //  reader of a pipe sees each event as it comes
    setvbuf (stdout, NULL, _IOLBF, 0);
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    int idle = (int) ht_args_number (&s_feed_spec, values, IDLE, 2000);
    uint64_t limit = ht_args_number (&s_feed_spec, values, LIMIT, 0), printed = 0;
    bool follow = values [FOLLOW] != NULL;
    int64_t saved_at = 0;
    rc = HT_EXIT_OK;
    while (!s_stop && (!limit || printed < limit)) {
        ht_client_event_t event;
        int error = ht_client_feed_next (client, follow? 1000: idle, &event);
        if (error == HT_ETIMEOUT) {
            fflush (stdout);
            s_save_cursor (values [CURSOR_FILE], client);
            if (follow)
                continue;
            break;                      //  caught up
        }
        if (error == HT_ERESYNC) {
            json_t *resync = json_pack ("{s:b, s:s}", "resync", true, "reason",
                                        ht_client_reason (client));
            ht_print_json (resync);
            json_decref (resync);
            fflush (stdout);
            ht_client_feed_t again = spec;
            again.epoch = NULL;
            again.from_now = false;
            ht_client_feed_start (client, &again);
            continue;
        }
        if (error != HT_OK) {
            fprintf (stderr, "hutong: feed: %s\n", ht_client_reason (client));
            rc = error == HT_EPOLICY || error == HT_ENOPURPOSE || error == HT_EPURPOSE
              || error == HT_ESCOPE || error == HT_EKIND? HT_EXIT_INVALID: HT_EXIT_ERROR;
            break;
        }
        char cursor [64];
        json_t *line = json_pack ("{s:I, s:s, s:o}", "seq", (json_int_t) event.seq, "cursor",
                                  s_format_cursor (event.epoch, event.cursor, cursor, sizeof cursor),
                                  "record", ht_record_to_json (event.record));
        ht_print_json (line);
        json_decref (line);
        ht_record_destroy (&event.record);
        printed++;
        //  The line is out before the cursor that covers it is saved
        int64_t now = zclock_mono ();
        if (values [CURSOR_FILE] && now - saved_at >= S_CURSOR_SAVE_MS) {
            fflush (stdout);
            if (s_save_cursor (values [CURSOR_FILE], client) != 0) {
                fprintf (stderr, "hutong: feed: cannot write %s: %s\n", values [CURSOR_FILE],
                         strerror (errno));
                rc = HT_EXIT_ERROR;
                break;
            }
            saved_at = now;
        }
    }
    fflush (stdout);
    if (values [CURSOR_FILE] && s_save_cursor (values [CURSOR_FILE], client) != 0) {
        fprintf (stderr, "hutong: feed: cannot write %s: %s\n", values [CURSOR_FILE],
                 strerror (errno));
        rc = HT_EXIT_ERROR;
    }
    if (ht_stderr_is_tty ())
        fprintf (stderr, "%llu events\n", (unsigned long long) printed);
    ht_client_destroy (&client);
    ht_keypair_destroy (&key);
    return rc;
}
