//  hutong status: a running node's peers, cursors and lag, records per
//  kind, quarantine by reason, refused connections.
#include "hutong.h"
#include "ht_client.h"

#define S_MAX_TIMEOUT_MS 3600000    //  an hour: longer is a mistake

static const ht_option_t s_status_options [] = {
    HT_OPTION_TEXT ("node", "ENDPOINT", "the node's client endpoint, e.g. tcp://127.0.0.1:7201"),
    HT_OPTION_TEXT ("node-key", "PUB", "the node's public key (file or hex)"),
    HT_OPTION_TEXT ("key", "KEYFILE", "our key; the node admits certified keys of its region"),
    HT_OPTION_UINT ("timeout", "MS", 1, S_MAX_TIMEOUT_MS, "how long to wait for an answer (default 5000)"),
    HT_OPTION_FLAG ("json", "print the status as one JSON object"),
    HT_OPTION_END
};

static const ht_command_spec_t s_status_spec = {
    "hutong status --node ENDPOINT --node-key PUB --key KEYFILE [--json]",
    "Ask a running node for its status: each peer (parent or child), whether\n"
    "it is connected, when it was last heard, our cursor into its log and\n"
    "how many of its sequence numbers we have not yet examined (lag);\n"
    "records per kind; quarantined input by reason; conflicts (versions the\n"
    "ownership rule keeps out), quarantine entries dropped, refused\n"
    "connections, rate-limited requests, dropped sends, protocol errors.\n"
    "Exit 3 if the node does not answer.",
    s_status_options
};

//  Print "name value, name value" for a JSON object of counts
static void
s_print_counts (const char *title, json_t *counts)
{
    printf ("%-12s", title);
    const char *name;
    json_t *value;
    bool first = true;
    json_object_foreach (counts, name, value) {
        printf ("%s%s %lld", first? "": ", ", name, (long long) json_integer_value (value));
        first = false;
    }
    printf ("%s\n", first? "none": "");
}

//  The human table
static void
s_print_table (json_t *status)
{
    printf ("node        %s (%s)  last seq %lld  epoch %.16s...\n",
            json_string_value (json_object_get (status, "name")),
            json_string_value (json_object_get (status, "region")),
            (long long) json_integer_value (json_object_get (status, "last_seq")),
            json_string_value (json_object_get (status, "epoch")));
    printf ("\n%-16s %-13s %-7s %-9s %10s %8s %10s %10s\n", "PEER", "REGION", "ROLE",
            "CONNECTED", "LAST SEEN", "LAG", "RECEIVED", "SENT");
    size_t index;
    json_t *peer;
    json_array_foreach (json_object_get (status, "peers"), index, peer) {
        json_int_t seen = json_integer_value (json_object_get (peer, "last_seen_ms_ago"));
        char seen_text [32];
        if (seen < 0)
            snprintf (seen_text, sizeof seen_text, "never");
        else
            snprintf (seen_text, sizeof seen_text, "%.1fs ago", (double) seen / 1000.0);
        ht_print_column (json_string_value (json_object_get (peer, "name")), 16);
        printf ("%-13s %-7s %-9s %10s %8lld %10lld %10lld\n",
                json_string_value (json_object_get (peer, "region")),
                json_string_value (json_object_get (peer, "role")),
                json_is_true (json_object_get (peer, "connected"))? "yes": "no", seen_text,
                (long long) json_integer_value (json_object_get (peer, "lag")),
                (long long) json_integer_value (json_object_get (peer, "received")),
                (long long) json_integer_value (json_object_get (peer, "sent")));
    }
    printf ("\n");
    s_print_counts ("records", json_object_get (status, "records"));
    s_print_counts ("quarantine", json_object_get (status, "quarantine"));
    //  What an operator acts on: conflicts point at a misbehaving key,
    //  drops at a flooding source, the rest at hostile or broken peers
    static const char *const counters [][2] = {
        { "conflicts", "conflicts" }, { "quarantine_dropped", "q dropped" },
        { "refused_connections", "refused" }, { "rate_limited", "rate limit" },
        { "dropped_sends", "send drops" }, { "protocol_errors", "proto errs" } };
    for (size_t item = 0; item < sizeof counters / sizeof counters [0]; item++)
        printf ("%-12s%lld\n", counters [item][1], (long long) json_integer_value (
                json_object_get (status, counters [item][0])));
}

int
ht_cmd_status (int argc, char **argv)
{
    enum { NODE, NODE_KEY, KEY, TIMEOUT, JSON };
    const char *values [5];
    int first_arg, rc = ht_args_parse (&s_status_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    uint8_t node_key [HT_PUBKEY_BYTES];
    if (!values [NODE] || !values [NODE_KEY] || !values [KEY])
        return ht_usage_error ("status: --node, --node-key and --key are required");
    if (ht_public_load (values [NODE_KEY], node_key))
        return ht_usage_error ("status: cannot read a public key from '%s'", values [NODE_KEY]);
    ht_keypair_t *key = ht_load_key (values [KEY]);
    if (!key)
        return HT_EXIT_ERROR;
    int timeout = (int) ht_args_number (&s_status_spec, values, TIMEOUT, 5000);
    ht_client_t *client = ht_client_new (values [NODE], node_key, key, timeout);
    int error = HT_EINVAL;
    json_t *status = client? ht_client_status (client, &error): NULL;
    if (status && values [JSON])
        ht_print_json (status);
    else
    if (status)
        s_print_table (status);
    else
        fprintf (stderr, "hutong: status: %s: %s\n", values [NODE],
                 client? ht_client_reason (client): "cannot connect: check --node and --node-key");
    json_decref (status);
    ht_client_destroy (&client);
    ht_keypair_destroy (&key);
    return status? HT_EXIT_OK: HT_EXIT_ERROR;
}
