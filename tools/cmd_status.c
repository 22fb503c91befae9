//  hutong status: a running node's peers, cursors and lag, records per
//  kind, quarantine by reason, refused connections, and the warnings the
//  node works out (ht_health); --tree: the nodes below it.
#include "hutong.h"
#include "ht_client.h"

#define S_MAX_TIMEOUT_MS 3600000    //  an hour: longer is a mistake
#define S_TREE_MAX_NODES 1024       //  --nodes lines we read
#define S_TREE_MAX_DEPTH 6          //  city, county, township, community, and room

static const ht_option_t s_status_options [] = {
    HT_OPTION_TEXT ("node", "ENDPOINT", "the node's client endpoint, e.g. tcp://127.0.0.1:7201"),
    HT_OPTION_TEXT ("node-key", "PUB", "the node's public key (file or hex)"),
    HT_OPTION_TEXT ("key", "KEYFILE", "our key; the node admits certified keys of its region"),
    HT_OPTION_UINT ("timeout", "MS", 1, S_MAX_TIMEOUT_MS, "how long to wait for an answer (default 5000)"),
    HT_OPTION_FLAG ("json", "print the status as one JSON object"),
    HT_OPTION_FLAG ("tree", "show the node and every node below it: health, last seen, lag"),
    HT_OPTION_TEXT ("nodes", "FILE", "with --tree: more nodes to ask, one 'ENDPOINT PUB' a line"),
    HT_OPTION_END
};

static const ht_command_spec_t s_status_spec = {
    "hutong status --node ENDPOINT --node-key PUB --key KEYFILE [--json]\n"
    "       hutong status --tree --node ENDPOINT --node-key PUB --key KEYFILE [--nodes FILE] [--json]",
    "Ask a running node for its status: each peer (parent or child), whether\n"
    "it is connected, when it was last heard (\"never\" if not since the node\n"
    "started), our cursor into its log, how many of its sequence numbers we\n"
    "have not yet examined (lag), records received from it and how many of\n"
    "them became current here (applied), records sent; records per kind;\n"
    "quarantined input by reason; conflicts, quarantine entries dropped,\n"
    "refused connections, rate-limited requests, dropped sends, protocol\n"
    "errors; each peer's clock against ours (CLOCK: its wall clock minus\n"
    "ours, corrected for half the round trip; '-' until read) and our clock\n"
    "against the parent's (or most children's); and the node's warnings (the\n"
    "same as its /healthz): parent_down, peer_unseen, lag_growing,\n"
    "map_nearly_full, cert_expiring, clock_skew, clock_quarantined,\n"
    "peer_epoch_changed, store_full.\n"
    "\n"
    "--tree shows the node and the nodes below it, one line each: health,\n"
    "last seen and lag as its parent sees it. A node's children are in its\n"
    "own status; deeper nodes are shown only if asked: --nodes FILE lists\n"
    "their client endpoints and public keys ('ENDPOINT PUB' a line, # for\n"
    "comments), each asked with --key (an operator key of this region reads\n"
    "every node below). A node not asked shows health '-'.\n"
    "Exit 3 if the node (--node) does not answer.",
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

//  A peer's last seen, for people: "never" or "12.3s ago"
static void
s_seen_text (json_t *peer, char *text, size_t size)
{
    json_int_t seen = json_integer_value (json_object_get (peer, "last_seen_ms_ago"));
    if (!json_object_get (peer, "last_seen_ms_ago") || seen < 0)
        snprintf (text, size, "never");
    else
        snprintf (text, size, "%.1fs ago", (double) seen / 1000.0);
}

//  A peer's clock against ours, for people: "+600.0s", or "-" if not read
static void
s_clock_text (json_t *peer, char *text, size_t size)
{
    json_t *offset = json_object_get (peer, "clock_offset_ms");
    if (json_is_integer (offset))
        snprintf (text, size, "%+.1fs", (double) json_integer_value (offset) / 1000.0);
    else
        snprintf (text, size, "-");
}

//  The node's own clock, as judged against its neighbours'
static void
s_print_clock (json_t *status)
{
    json_t *clock = json_object_get (status, "clock");
    json_t *skew = json_object_get (clock, "skew_ms");
    if (!clock)
        return;                     //  an older node
    if (!json_is_integer (skew)) {
        printf ("%-12s%s\n", "clock", "not judged (no parent's clock read, nor most children's)");
        return;
    }
    double seconds = (double) json_integer_value (skew) / 1000.0;
    printf ("%-12s%.1f s %s %s%s%s\n", "clock", seconds < 0? -seconds: seconds,
            seconds < 0? "behind": "ahead of",
            json_string_value (json_object_get (clock, "reference")),
            json_is_true (json_object_get (clock, "skewed"))? "  SKEWED": "",
            json_is_true (json_object_get (clock, "pulls_paused"))? ", pulls paused": "");
}

static long long
s_int (json_t *object, const char *key)
{
    return (long long) json_integer_value (json_object_get (object, key));
}

//  The node's warnings, one a line ("none" if healthy)
static void
s_print_warnings (json_t *status)
{
    json_t *warnings = json_object_get (status, "warnings");
    printf ("\n%-12s%s\n", "health", !warnings? "unknown (the node reports no warnings)"
                                    : json_array_size (warnings)? "DEGRADED": "ok");
    size_t index;
    json_t *warning;
    json_array_foreach (warnings, index, warning)
        printf ("  warning   %s: %s\n", json_string_value (json_object_get (warning, "code")),
                json_string_value (json_object_get (warning, "text")));
}

//  The human table
static void
s_print_table (json_t *status)
{
    printf ("node        %s (%s)  last seq %lld  epoch %.16s...\n",
            json_string_value (json_object_get (status, "name")),
            json_string_value (json_object_get (status, "region")),
            s_int (status, "last_seq"), json_string_value (json_object_get (status, "epoch")));
    printf ("\n%-16s %-13s %-7s %-9s %10s %8s %10s %10s %10s %9s\n", "PEER", "REGION", "ROLE",
            "CONNECTED", "LAST SEEN", "LAG", "RECEIVED", "APPLIED", "SENT", "CLOCK");
    size_t index;
    json_t *peer;
    json_array_foreach (json_object_get (status, "peers"), index, peer) {
        char seen_text [32], clock_text [32];
        s_seen_text (peer, seen_text, sizeof seen_text);
        s_clock_text (peer, clock_text, sizeof clock_text);
        ht_print_column (json_string_value (json_object_get (peer, "name")), 16);
        printf ("%-13s %-7s %-9s %10s %8lld %10lld %10lld %10lld %9s\n",
                json_string_value (json_object_get (peer, "region")),
                json_string_value (json_object_get (peer, "role")),
                json_is_true (json_object_get (peer, "connected"))? "yes": "no", seen_text,
                s_int (peer, "lag"), s_int (peer, "received"), s_int (peer, "applied"),
                s_int (peer, "sent"), clock_text);
    }
    printf ("\n");
    s_print_clock (status);
    s_print_counts ("records", json_object_get (status, "records"));
    s_print_counts ("quarantine", json_object_get (status, "quarantine"));
    //  What an operator acts on: conflicts point at a misbehaving key,
    //  drops at a flooding source, the rest at hostile or broken peers
    static const char *const counters [][2] = {
        { "conflicts", "conflicts" }, { "quarantine_dropped", "q dropped" },
        { "refused_connections", "refused" }, { "rate_limited", "rate limit" },
        { "dropped_sends", "send drops" }, { "protocol_errors", "proto errs" } };
    for (size_t item = 0; item < sizeof counters / sizeof counters [0]; item++)
        printf ("%-12s%lld\n", counters [item][1], s_int (status, counters [item][0]));
    s_print_warnings (status);
}

//  --------------------------------------------------------------------------
//  --tree

//  Ask one node for its status; NULL (reason on stderr) if it does not answer
static json_t *
s_ask (const char *endpoint, const uint8_t node_key [HT_PUBKEY_BYTES], ht_keypair_t *key,
       int timeout, bool quiet)
{
    ht_client_t *client = ht_client_new (endpoint, node_key, key, timeout);
    int error = HT_EINVAL;
    json_t *status = client? ht_client_status (client, &error): NULL;
    if (!status && !quiet)
        fprintf (stderr, "hutong: status: %s: %s\n", endpoint,
                 client? ht_client_reason (client): "cannot connect: check the endpoint and key");
    ht_client_destroy (&client);
    return status;
}

//  Ask every node --nodes lists; their statuses by region go into known.
//  0, or HT_EXIT_USAGE for a file that cannot be read or a bad line.
static int
s_ask_listed (const char *path, ht_keypair_t *key, int timeout, json_t *known)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return ht_usage_error ("status: cannot read --nodes %s: %s", path, strerror (errno));
    char line [1024];
    int number = 0, rc = 0;
    while (!rc && number < S_TREE_MAX_NODES && fgets (line, sizeof line, file)) {
        number++;
        char endpoint [512], pub [512];
        uint8_t node_key [HT_PUBKEY_BYTES];
        int fields = sscanf (line, " %511s %511s", endpoint, pub);
        if (fields <= 0 || *endpoint == '#')
            continue;
        if (fields != 2 || ht_public_load (pub, node_key)) {
            rc = ht_usage_error ("status: --nodes %s line %d: expected 'ENDPOINT PUB'", path,
                                 number);
            break;
        }
        json_t *status = s_ask (endpoint, node_key, key, timeout, false);
        const char *region = json_string_value (json_object_get (status, "region"));
        if (region)
            json_object_set (known, region, status);
        json_decref (status);
    }
    fclose (file);
    return rc;
}

//  One tree entry: the node as its parent sees it (peer, NULL at the top)
//  and as it says itself (status, NULL if not asked); its children below
static json_t *
s_tree_node (json_t *peer, json_t *status, json_t *known, int depth)
{
    json_t *node = json_object ();
    json_object_set_new (node, "name", json_string (json_string_value (json_object_get (
        status? status: peer, "name"))));
    json_object_set_new (node, "region", json_string (json_string_value (json_object_get (
        status? status: peer, "region"))));
    if (peer) {
        json_object_set (node, "connected", json_object_get (peer, "connected"));
        json_object_set (node, "last_seen_ms_ago", json_object_get (peer, "last_seen_ms_ago"));
        json_object_set (node, "lag", json_object_get (peer, "lag"));
    }
    if (status)
        json_object_set (node, "warnings", json_object_get (status, "warnings"));
    json_t *children = json_array ();
    size_t index;
    json_t *child;
    json_array_foreach (json_object_get (status, "peers"), index, child) {
        const char *role = json_string_value (json_object_get (child, "role"));
        if (!role || !streq (role, "child") || depth >= S_TREE_MAX_DEPTH)
            continue;
        json_t *below = json_object_get (known, json_string_value (
            json_object_get (child, "region")));
        json_array_append_new (children, s_tree_node (child, below, known, depth + 1));
    }
    json_object_set_new (node, "children", children);
    return node;
}

//  One line of the tree, then its children indented
static void
s_print_tree_node (json_t *node, int depth)
{
    char label [128], seen_text [32] = "-", lag_text [32] = "-";
    snprintf (label, sizeof label, "%*s%s", depth * 2, "",
              json_string_value (json_object_get (node, "name")));
    json_t *warnings = json_object_get (node, "warnings");
    const char *health = !warnings? "-": json_array_size (warnings)? "DEGRADED": "ok";
    if (json_object_get (node, "connected") && !json_is_true (json_object_get (node, "connected")))
        health = warnings? health: "down";
    if (json_object_get (node, "last_seen_ms_ago")) {
        s_seen_text (node, seen_text, sizeof seen_text);
        snprintf (lag_text, sizeof lag_text, "%lld", s_int (node, "lag"));
    }
    const char *first = json_string_value (json_object_get (json_array_get (warnings, 0),
                                                            "text"));
    ht_print_column (label, 28);
    printf ("%-13s %-9s %-9s %10s %8s  %s\n",
            json_string_value (json_object_get (node, "region")), health,
            !json_object_get (node, "connected")? "-":
            json_is_true (json_object_get (node, "connected"))? "yes": "no",
            seen_text, lag_text, first? first: "");
    size_t index;
    json_t *child;
    json_array_foreach (json_object_get (node, "children"), index, child)
        s_print_tree_node (child, depth + 1);
}

static int
s_tree (json_t *status, const char *nodes_path, ht_keypair_t *key, int timeout, bool json)
{
    json_t *known = json_object ();
    int rc = nodes_path? s_ask_listed (nodes_path, key, timeout, known): 0;
    if (rc) {
        json_decref (known);
        return rc;
    }
    json_t *tree = s_tree_node (NULL, status, known, 0);
    if (json)
        ht_print_json (tree);
    else {
        printf ("%-28s %-13s %-9s %-9s %10s %8s  %s\n", "NODE", "REGION", "HEALTH",
                "CONNECTED", "LAST SEEN", "LAG", "FIRST WARNING");
        s_print_tree_node (tree, 0);
    }
    json_decref (tree);
    json_decref (known);
    return HT_EXIT_OK;
}

int
ht_cmd_status (int argc, char **argv)
{
    enum { NODE, NODE_KEY, KEY, TIMEOUT, JSON, TREE, NODES };
    const char *values [7];
    int first_arg, rc = ht_args_parse (&s_status_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    uint8_t node_key [HT_PUBKEY_BYTES];
    if (!values [NODE] || !values [NODE_KEY] || !values [KEY])
        return ht_usage_error ("status: --node, --node-key and --key are required");
    if (values [NODES] && !values [TREE])
        return ht_usage_error ("status: --nodes goes with --tree");
    if (ht_public_load (values [NODE_KEY], node_key))
        return ht_usage_error ("status: cannot read a public key from '%s'", values [NODE_KEY]);
    ht_keypair_t *key = ht_load_key (values [KEY]);
    if (!key)
        return HT_EXIT_ERROR;
    int timeout = (int) ht_args_number (&s_status_spec, values, TIMEOUT, 5000);
    json_t *status = s_ask (values [NODE], node_key, key, timeout, false);
    rc = status? HT_EXIT_OK: HT_EXIT_ERROR;
    if (status && values [TREE])
        rc = s_tree (status, values [NODES], key, timeout, values [JSON] != NULL);
    else
    if (status && values [JSON])
        ht_print_json (status);
    else
    if (status)
        s_print_table (status);
    json_decref (status);
    ht_keypair_destroy (&key);
    return rc;
}
