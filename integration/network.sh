#  Build and run a local Hutong network on 127.0.0.1: keys, certificates
#  (each parent certifies its children), stores holding the certificates
#  the holder rule gives them, configs, and hutongd processes started
#  top-down on ephemeral ports. Source after lib.sh (which provides
#  $work, fail, ok and the cleanup trap). Every node started is stopped
#  on exit.
: "${HUTONGD:?set HUTONGD to the hutongd binary}"

network_regions=()                  #  in start order: parents first
declare -A network_parent_of=()     #  region -> parent region ("" for root)
declare -A network_name_of=()       #  region -> the node's name
declare -A network_pid_of=()        #  region -> pid of its hutongd
declare -A network_node_ep=()       #  region -> node endpoint (children)
declare -A network_client_ep=()     #  region -> client endpoint
declare -A network_key_of=()        #  region -> key file, if not $work/REGION.key
declare -A network_passphrase_of=() #  region -> node/key_passphrase_file, if any
declare -A network_parent_ep_of=()  #  region -> where it reaches its parent, if not
                                    #  the parent's own endpoint (a fault proxy)
declare -A network_proxy_of=()      #  region -> control socket of its uplink's proxy
network_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
declare -A network_env_of=()        #  region -> "NAME=value ..." its hutongd runs with
                                    #  (e.g. libfaketime's), if any
cleanup_hooks+=("network_stop")

#  region_prefix CODE: the code without trailing zero groups
region_prefix () {
    local c="$1"
    if [ "${c:9:3}" != 000 ]; then echo "$c"
    elif [ "${c:6:3}" != 000 ]; then echo "${c:0:9}"
    elif [ "${c:4:2}" != 00 ]; then echo "${c:0:6}"
    elif [ "${c:2:2}" != 00 ]; then echo "${c:0:4}"
    else echo "${c:0:2}"; fi
}

#  region_parent CODE: the code of the tier above ("" for a city)
region_parent () {
    local c="$1"
    if [ "${c:9:3}" != 000 ]; then echo "${c:0:9}000"
    elif [ "${c:6:3}" != 000 ]; then echo "${c:0:6}000000"
    elif [ "${c:4:2}" != 00 ]; then echo "${c:0:4}00000000"
    fi
}

#  region_related A B: one is an ancestor-or-self of the other
region_related () {
    local a b
    a="$(region_prefix "$1")"; b="$(region_prefix "$2")"
    [[ "$b" == "$a"* || "$a" == "$b"* ]]
}

node_store () { echo "$work/$1.store"; }
node_client () { echo "${network_client_ep[$1]}"; }
node_pid () { echo "${network_pid_of[$1]}"; }
node_log () { echo "$work/$1.log"; }

#  network_add REGION [PARENT] [NAME]: a node with its key and certificate
#  (valid from NETWORK_NOT_BEFORE, ms since 1970, if set: a scenario that
#  signs back-dated records needs chains valid at those times)
network_add () {
    local region="$1" parent="${2:-}" name="${3:-$1}"
    network_regions+=("$region")
    network_parent_of[$region]="$parent"
    network_name_of[$region]="$name"
    make_key "$region" "$name"
    [ -f net.idkey ] || "$HUTONG" keygen --idkey --out net.idkey >/dev/null
    make_cert "${parent:-$region}" "$region" "$region" --name "$name" \
        ${NETWORK_NOT_BEFORE:+--not-before "$NETWORK_NOT_BEFORE"}
}

#  network_chain ROOT CHILD GRANDCHILD ...: each the parent of the next
network_chain () {
    local parent=""
    for region in "$@"; do network_add "$region" "$parent"; parent="$region"; done
}

#  The root's region (the one without a parent)
network_root () {
    local region
    for region in "${network_regions[@]}"; do
        [ -z "${network_parent_of[$region]}" ] && { echo "$region"; return; }
    done
}

#  True if region has a child in the network
network_has_children () {
    local other
    for other in "${network_regions[@]}"; do
        [ "${network_parent_of[$other]}" = "$1" ] && return 0
    done
    return 1
}

#  Create a node's store holding the certificates it should hold. They
#  were signed when the network was made, so they are re-imported
#  (`put --import`): a store made later than the ingest window
#  (limits/ingest_behind_s) after them, as a node rebuilt from empty in a
#  long run, still takes them
network_init_store () {
    local region="$1" other certs=()
    "$HUTONG" init --store "$(node_store "$region")" --region "$region" \
        --anchor "$(network_root).key.pub" --idkey net.idkey >/dev/null
    for other in "${network_regions[@]}"; do
        region_related "$region" "$other" && certs+=("$other.cert")
    done
    "$HUTONG" put --store "$(node_store "$region")" --import --quiet "${certs[@]}" \
        || fail "cannot store the certificates of $region"
}

#  Write a node's config; the parent must already be running
network_write_config () {
    local region="$1" parent="${network_parent_of[$1]}"
    local client_ep="${network_client_ep[$1]:-}" node_ep="${network_node_ep[$1]:-}"
    [ -n "$client_ep" ] || network_pick_port client_ep
    [ -n "$node_ep" ] || network_pick_port node_ep
    {
        echo "node"
        echo "    name = ${network_name_of[$region]:-$region}"
        echo "    region = $region"
        echo "    key = ${network_key_of[$region]:-$work/$region.key}"
        [ -z "${network_passphrase_of[$region]:-}" ] \
            || echo "    key_passphrase_file = ${network_passphrase_of[$region]}"
        echo "    anchor = $work/$(network_root).key.pub"
        echo "    store = $(node_store "$region")"
        #  A restarted node binds what it bound before, so its neighbours
        #  find it where they left it
        echo "    client = $client_ep"
        network_has_children "$region" && echo "    listen = $node_ep"
        if [ -n "$parent" ]; then
            echo "parent"
            echo "    endpoint = ${network_parent_ep_of[$region]:-${network_node_ep[$parent]}}"
            echo "    key = $work/$parent.key.pub"
        fi
        echo "limits"
        [ -n "${NETWORK_BATCH:-}" ] && echo "    batch = $NETWORK_BATCH"
        echo "    heartbeat_ms = ${NETWORK_HEARTBEAT_MS:-500}"
        echo "    peer_timeout_ms = ${NETWORK_TIMEOUT_MS:-3000}"
        [ -n "${NETWORK_PULL_WAIT_MS:-}" ] && echo "    pull_wait_ms = $NETWORK_PULL_WAIT_MS"
        [ -n "${NETWORK_QUARANTINE_RETRY_S:-}" ] \
            && echo "    quarantine_retry_s = $NETWORK_QUARANTINE_RETRY_S"
        echo "    reconnect_min_ms = 50"
        echo "    reconnect_max_ms = ${NETWORK_RECONNECT_MAX_MS:-1000}"
        #  A scenario's own limits for a node: it defines
        #  network_limits_extra REGION to print them (indented)
        if declare -F network_limits_extra >/dev/null; then network_limits_extra "$region"; fi
        echo "log"
        echo "    level = ${NETWORK_LOG_LEVEL:-info}"
        #  A scenario's own sections (metrics, health): it defines
        #  network_config_extra REGION to print them
        if declare -F network_config_extra >/dev/null; then network_config_extra "$region"; fi
    } > "$work/$region.cfg"
}

#  A free port below the kernel's ephemeral range (32768 and up). A node
#  restarted on a port inside that range can find it taken: while it was
#  down, its children's reconnect attempts walk the local ports and one
#  may connect to itself on that very port (TCP self-connect), or another
#  process's connection may be given it. Ports below the range are never
#  handed out for outgoing connections.
network_port_next=$(( 20000 + ($$ * 97) % 10000 ))
#  network_pick_port VAR: set VAR to such an endpoint (no subshell, so
#  each call moves on to the next port)
network_pick_port () {
    local tries=0 endpoint="tcp://127.0.0.1:*"
    while (( tries++ < 200 )); do
        network_port_next=$(( network_port_next + 1 ))
        (( network_port_next < 32000 )) || network_port_next=20000
        #  Nothing accepts a connection there: nobody listens on it
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$network_port_next") 2>/dev/null; then
            endpoint="tcp://127.0.0.1:$network_port_next"
            break
        fi
    done
    printf -v "$1" '%s' "$endpoint"
}

#  Start one node and learn its bound endpoints from its log
network_start_node () {
    local region="$1" line deadline=$((SECONDS + 20)) skip
    [ -d "$(node_store "$region")" ] || network_init_store "$region"
    network_write_config "$region"
    touch "$(node_log "$region")"
    skip=$(wc -l < "$(node_log "$region")")
    #  env runs the daemon in its own process (the pid is hutongd's)
    # shellcheck disable=SC2086
    env ${network_env_of[$region]:-} "$HUTONGD" --config "$work/$region.cfg" \
        >>"$(node_log "$region")" 2>&1 &
    network_pid_of[$region]=$!
    until line="$(tail -n +$((skip + 1)) "$(node_log "$region")" | grep -a " started; node " | tail -n 1)" \
          && [ -n "$line" ]; do
        kill -0 "${network_pid_of[$region]}" 2>/dev/null \
            || { cat "$(node_log "$region")" >&2; fail "hutongd $region exited at start"; }
        [ $SECONDS -lt $deadline ] || fail "hutongd $region did not start"
        sleep 0.05
    done
    network_node_ep[$region]="$(sed -E 's/.* node ([^,]*), client.*/\1/' <<<"$line")"
    network_client_ep[$region]="$(sed -E 's/.* client ([^,]*), parent.*/\1/' <<<"$line")"
}

#  network_proxy REGION: put a fault-injecting proxy (faultproxy.py) on
#  REGION's link to its parent; the parent must be running and REGION not
#  yet started. The proxy is stopped on exit.
network_proxy () {
    local region="$1" parent="${network_parent_of[$1]}" proxy_ep
    local control="$work/$1.proxy"
    [ -n "$parent" ] || fail "network_proxy: $region has no parent"
    [ -n "${network_node_ep[$parent]:-}" ] || fail "network_proxy: start $parent first"
    network_pick_port proxy_ep
    start_bg "proxy-$region" "$work/$region.proxy.out" /usr/bin/python3 \
        "$network_dir/faultproxy.py" serve --listen "${proxy_ep#tcp://}" \
        --target "${network_node_ep[$parent]#tcp://}" --control "$control"
    wait_until 10 test -S "$control" || fail "the proxy for $region did not start"
    network_parent_ep_of[$region]="$proxy_ep"
    network_proxy_of[$region]="$control"
}

#  proxy_ctl REGION COMMAND...: pass, cut, hold up|down, delay MS, reset, stats
proxy_ctl () {
    local region="$1"; shift
    /usr/bin/python3 "$network_dir/faultproxy.py" ctl "${network_proxy_of[$region]}" "$@" \
        || fail "proxy $region: $* refused"
}

#  NETWORK_PROXIES: regions (or "all") whose uplink network_start puts
#  behind a fault proxy
network_start () {
    local region
    for region in "${network_regions[@]}"; do
        if [ -n "${network_parent_of[$region]}" ] && [ -z "${network_parent_ep_of[$region]:-}" ] \
           && [[ " ${NETWORK_PROXIES:-} " == *" all "* || " ${NETWORK_PROXIES:-} " == *" $region "* ]]; then
            network_proxy "$region"
        fi
        network_start_node "$region"
    done
}

#  network_stop_node REGION: SIGTERM, then SIGKILL after 10 s; returns
#  the daemon's exit status (0: it stopped cleanly)
network_stop_node () {
    local pid="${network_pid_of[$1]:-}" deadline=$((SECONDS + 10)) status=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { kill -KILL "$pid" 2>/dev/null || true; break; }
        sleep 0.05
    done
    wait "$pid" 2>/dev/null || status=$?
    network_pid_of[$1]=""
    return $status
}

#  node_alive REGION: its hutongd is running
node_alive () { [ -n "${network_pid_of[$1]:-}" ] && kill -0 "${network_pid_of[$1]}" 2>/dev/null; }

network_stop () {
    local index
    for ((index = ${#network_regions[@]} - 1; index >= 0; index--)); do
        network_stop_node "${network_regions[$index]}" || true
    done
}

#  node_status REGION: the node's status JSON
node_status () {
    "$HUTONG" status --json --node "$(node_client "$1")" --node-key "$work/$1.key.pub" \
        --key "$work/$1.key" --timeout 3000
}

#  node_store_full REGION: the node says its store is full: the status
#  warning store_full, its store_full object, and a neighbour whose
#  batches fail as store_full (scenario_diskfull, scenario_fault_slow)
node_store_full () {
    node_status "$1" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
codes = [w["code"] for w in s.get("warnings", [])]
peers = [p for p in s["peers"] if p.get("apply_error") == "store_full" and p["apply_failures"] > 0]
sys.exit(0 if "store_full" in codes and "store_full" in s and peers else 1)'
}

#  Wait until every node's peers are all connected
network_wait_connected () {
    local deadline=$((SECONDS + $1)) region
    for region in "${network_regions[@]}"; do
        until node_status "$region" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["peers"] and all(p["connected"] for p in s["peers"]) else 1)'; do
            [ $SECONDS -lt $deadline ] || fail "node $region did not connect to its peers"
            sleep 0.1
        done
    done
}

#  Wait until no node has lag toward any peer twice in a row
network_wait_idle () {
    local deadline=$((SECONDS + $1)) region busy quiet=0
    while [ $quiet -lt 2 ]; do
        busy=0
        for region in "${network_regions[@]}"; do
            node_status "$region" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if all(p["connected"] and p["lag"] == 0 for p in s["peers"]) else 1)' || busy=1
        done
        if [ $busy = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
        [ $SECONDS -lt $deadline ] || fail "the network did not go idle"
        sleep 0.2
    done
}

#  network_nodes_tsv FILE: the node table holders.py and converge.py read
#  (region, parent or -, store, key, public key, client endpoint; a line
#  each). Client endpoints are known once the nodes have started.
network_nodes_tsv () {
    local region
    : > "$1"
    for region in "${network_regions[@]}"; do
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$region" "${network_parent_of[$region]:--}" \
            "$(node_store "$region")" "${network_key_of[$region]:-$work/$region.key}" \
            "$work/$region.key.pub" "${network_client_ep[$region]:-tcp://127.0.0.1:0}" >> "$1"
    done
}
