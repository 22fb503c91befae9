#  Shared by the fault scenarios (scenario_fault_*.sh): a ten-node tree,
#  writers at several tiers that keep writing while a fault happens, and
#  the convergence check after it healed (converge.py).
#
#  A writer sends its drafts with `hutong put --node` while its node runs,
#  and with `hutong put --store` into the node's store while the node is
#  down (fault_down). Every draft is recorded in $work/writes-NAME.jsonl
#  with "ack": true if the put that carried it exited 0, false if not (the
#  draft may or may not have been stored), and "via" (node:REGION or
#  store:REGION). converge.py then checks that every acknowledged write is
#  at every holder, at one current version.
#
#  A scenario begins with
#    here="$(cd "$(dirname "$0")" && pwd)"
#    source "$here/faults.sh"
#    fault_setup
#  (this file sources lib.sh and network.sh itself).

fault_python=/usr/bin/python3
fault_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$fault_here/lib.sh"
source "$fault_here/network.sh"

#  fault_setup: what every fault scenario does first: Debian's Python in
#  $python, the nodes' logs shown if it fails; timeout_ms, the peer
#  timeout (NETWORK_TIMEOUT_MS, default 3000), and wait_s, how long a
#  side may take to notice a fault (the peer timeout and 15 s); no
#  case_times yet (fault_case_converge adds them)
fault_setup () {
    use_debian_python
    show_logs_on_failure
    timeout_ms="${NETWORK_TIMEOUT_MS:-3000}"
    wait_s=$(( timeout_ms / 1000 + 15 ))
    case_times=()
}

#  The tree: a city, two counties, three townships, four communities
fault_city=441800000000
fault_k1=441802000000 fault_k2=441803000000
fault_t11=441802001000 fault_t12=441802002000 fault_t21=441803100000
fault_m111=441802001001 fault_m112=441802001002 fault_m121=441802002001 fault_m211=441803100001
fault_nodes=("$fault_city" "$fault_k1" "$fault_k2" "$fault_t11" "$fault_t12" "$fault_t21"
             "$fault_m111" "$fault_m112" "$fault_m121" "$fault_m211")
fault_leaves=("$fault_m111" "$fault_m112" "$fault_m121" "$fault_m211")
fault_relays=("$fault_k1" "$fault_k2" "$fault_t11" "$fault_t12" "$fault_t21")

fault_count=0                       #  faults injected so far
fault_started_at=$(date +%s)
mkdir -p "$work/down"

#  fault_tree: add the ten nodes (NETWORK_* settings apply), then
#  network_start starts them
fault_tree () {
    local region
    for region in "${fault_nodes[@]}"; do network_add "$region" "$(region_parent "$region")"; done
}

#  fault_ready SECONDS: every node connected; the node table written
fault_ready () {
    network_wait_connected "$1"
    network_nodes_tsv "$work/nodes.tsv"
    ok "${#fault_nodes[@]} nodes running and connected"
}

#  fault_pool SEED [ELDERS]: the draft pool the writers take from (hutong
#  gen; 8000 elders unless told)
fault_pool () {
    "$HUTONG" gen --seed "$1" --elders "${2:-8000}" --facilities 3000 --credit 3000 > "$work/pool.jsonl"
}

#  fault_ops NAME WHAT REGION [SCOPE|ISSUER] COUNT SKIP: a writer's drafts
#  in $work/ops-NAME.jsonl (fault_writes.py: rounds of new entities and
#  one update of an earlier one)
fault_ops () {
    local name="$1" what="$2"; shift 2
    local skip="${*: -1}"
    set -- "${@:1:$(($# - 1))}"
    "$fault_python" "$fault_here/fault_writes.py" "$what" "$work/pool.jsonl" "$@" \
        --skip "$skip" --batch "${FAULT_BATCH:-5}" --seed "$skip" --tag "$name" \
        > "$work/ops-$name.jsonl" || fail "fault_writes.py $what $*"
}

#  Down markers: a writer writes a down node's store directly
fault_is_down () { [ -e "$work/down/$1" ]; }

#  fault_kill REGION...: SIGKILL, at once for all named. Their writers
#  switch to their stores at once, or, with FAULT_MARK_AFTER=SECONDS, only
#  that long after the kill: a put sent in between goes to a dead node,
#  and its client waits (10 s) for an answer that may come from the node
#  restarted.
fault_kill () {
    local region pid
    [ -n "${FAULT_MARK_AFTER:-}" ] || for region in "$@"; do touch "$work/down/$region"; done
    for region in "$@"; do
        pid="${network_pid_of[$region]:-}"
        [ -n "$pid" ] || fail "fault_kill: $region is not running"
        kill -KILL "$pid" 2>/dev/null || fail "fault_kill: $region (pid $pid) had already exited"
    done
    for region in "$@"; do
        wait "${network_pid_of[$region]}" 2>/dev/null || true
        network_pid_of[$region]=""
        fault_count=$((fault_count + 1))
    done
    if [ -n "${FAULT_MARK_AFTER:-}" ]; then
        sleep "$FAULT_MARK_AFTER"
        for region in "$@"; do touch "$work/down/$region"; done
    fi
}

#  fault_stop REGION: SIGTERM (a clean stop), its writer to its store
fault_stop () {
    touch "$work/down/$1"
    network_stop_node "$1" || fail "$1 did not stop cleanly on SIGTERM"
}

#  fault_restart REGION...: start them again (same ports, same store)
fault_restart () {
    local region
    for region in "$@"; do
        network_start_node "$region"
        rm -f "$work/down/$region"
    done
}

#  fault_put NAME REGION FILE: one put of FILE, signed with REGION's key,
#  to REGION's node if it runs, else into its store; every line recorded
#  in writes-NAME.jsonl; returns put's exit status
fault_put () {
    local name="$1" region="$2" file="$3" via rc=0 ack=true
    if fault_is_down "$region"; then
        via="store:$region"
        "$HUTONG" put --store "$(node_store "$region")" --key "$work/$region.key" --quiet \
            "$file" 2>>"$work/put-$name.err" || rc=$?
    else
        via="node:$region"
        "$HUTONG" put --node "${network_client_ep[$region]}" --node-key "$work/$region.key.pub" \
            --key "$work/$region.key" --idkey "$work/net.idkey" --quiet "$file" \
            2>>"$work/put-$name.err" || rc=$?
    fi
    [ "$rc" = 0 ] || ack=false
    sed "s/^{/{\"ack\":$ack,\"via\":\"$via\",\"rc\":$rc,\"t\":$(date +%s%3N),/" "$file" \
        >> "$work/writes-$name.jsonl"
    return "$rc"
}

#  fault_writer_loop NAME REGION: put the drafts of ops-NAME.jsonl, BATCH
#  (FAULT_BATCH, 5) a round, until they run out or writers.stop appears;
#  the next line to send is kept in pos-NAME, so a writer started again
#  goes on where it stopped
fault_writer_loop () {
    local name="$1" region="$2" line batch="${FAULT_BATCH:-5}" total
    total=$(grep -c . "$work/ops-$name.jsonl")
    line=$(cat "$work/pos-$name" 2>/dev/null || echo 1)
    while [ ! -e "$work/writers.stop" ] && [ "$line" -le "$total" ]; do
        sed -n "${line},$((line + batch - 1))p" "$work/ops-$name.jsonl" > "$work/round-$name.jsonl"
        fault_put "$name" "$region" "$work/round-$name.jsonl" || true
        line=$((line + batch))
        echo "$line" > "$work/pos-$name"
        sleep "${FAULT_WRITE_PAUSE:-0.25}"
    done
}

#  fault_writers_start: the writers at six nodes of four tiers (at most
#  FAULT_WRITES drafts each, default 1500; they stop when told): elders at
#  three communities, facilities at a township, credit records at a county
#  and at the city. fault_writers_resume starts them again after
#  fault_writers_stop.
fault_writers=()
fault_writer_regions=()
fault_writers_start () {
    local n="${FAULT_WRITES:-1500}"
    [ -s "$work/pool.jsonl" ] || fault_pool "${HUTONG_IT_SEED:-1}"
    fault_ops m111 elders "$fault_m111" "$n" 0
    fault_ops m211 elders "$fault_m211" "$n" 2500
    fault_ops m121 elders "$fault_m121" "$n" 5000
    fault_ops t11 facilities "$fault_m112" "$fault_t11" "$n" 0
    fault_ops k2 credit "$fault_m211" "$fault_k2" "$n" 0
    fault_ops city credit "$fault_m121" "$fault_city" "$n" 1500
    fault_writer_regions=("m111=$fault_m111" "m211=$fault_m211" "m121=$fault_m121"
                          "t11=$fault_t11" "k2=$fault_k2" "city=$fault_city")
    fault_writers_resume
}
fault_writers_resume () {
    local item
    rm -f "$work/writers.stop"
    for item in "${fault_writer_regions[@]}"; do
        fault_writers+=("${item%%=*}")
        start_bg "writer-${item%%=*}" "$work/writer-${item%%=*}.log" \
            fault_writer_loop "${item%%=*}" "${item#*=}"
    done
}

#  fault_writers_stop: let each writer finish its put in flight and stop
fault_writers_stop () {
    local name
    touch "$work/writers.stop"
    for name in "${fault_writers[@]}"; do
        wait_until 60 bg_gone "writer-$name" || fail "writer $name did not stop within 60 s"
        stop_bg "writer-$name" || true
    done
    fault_writers=()
}

#  fault_writes_count: acknowledged drafts so far, and all drafts sent
fault_writes_count () {
    cat "$work"/writes-*.jsonl 2>/dev/null | grep -c '^{"ack":true' || true
}
fault_writes_unacked () {
    cat "$work"/writes-*.jsonl 2>/dev/null | grep -c '^{"ack":false' || true
}

#  fault_converge WHAT SECONDS [converge.py options]: wait until every
#  acknowledged write is at every holder at one version, nothing is
#  quarantined (but for the reasons FAULT_ALLOW_QUARANTINE lists, comma
#  separated), every node answers and is linked; print the figures
fault_converge () {
    local what="$1" seconds="$2"; shift 2
    network_nodes_tsv "$work/nodes.tsv"
    if ! "$fault_python" "$fault_here/converge.py" check "$work/nodes.tsv" "$work"/writes-*.jsonl \
         --idkey "$work/net.idkey" --faults "$fault_count" --wait "$seconds" \
         ${FAULT_ALLOW_QUARANTINE:+--allow-quarantine "$FAULT_ALLOW_QUARANTINE"} "$@" \
         > "$work/converge.out"; then
        cat "$work/converge.out" >&2
        fail "$what: the network did not converge within ${seconds}s"
    fi
    sed -n 1p "$work/converge.out"
    sed -n 2p "$work/converge.out"
    ok "$what: $(sed -n 1p "$work/converge.out")"
}

#  fault_case_converge WHAT [converge.py options]: fault_converge (90 s)
#  after a case, its time to converge added to case_times
fault_case_converge () {
    fault_converge "$1" 90 "${@:2}"
    case_times+=("$1: $(sed -n 2p "$work/converge.out" | sed 's/.*, \([0-9.]* s\)$/\1/')")
}

#  fault_heal_and_check WHAT [stay-stopped]: after a case, stop the
#  writers, converge, check every node runs, and start the writers again
#  (unless stay-stopped)
fault_heal_and_check () {
    fault_writers_stop
    fault_case_converge "$1"
    fault_all_alive
    [ "${2:-}" = stay-stopped ] || fault_writers_resume
}

#  fault_all_alive: every node's hutongd still runs
fault_all_alive () {
    local region dead=()
    for region in "${fault_nodes[@]}"; do node_alive "$region" || dead+=("$region"); done
    [ "${#dead[@]}" = 0 ] || fail "hutongd exited at: ${dead[*]}"
    ok "all ${#fault_nodes[@]} nodes still running"
}

#  fault_clock_ms: now, in ms
fault_clock_ms () { date +%s%3N; }

#  fault_key FILE: "KIND KEY" of the draft on FILE's first line
fault_key () {
    head -n 1 "$1" | "$fault_python" "$fault_here/converge.py" key --idkey "$work/net.idkey"
}

#  fault_has REGION FILE: REGION's store holds the entity of FILE's first
#  draft (any version)
fault_has () {
    local kind key
    read -r kind key < <(fault_key "$2")
    "$HUTONG" get --store "$(node_store "$1")" "$kind" "$key" >/dev/null 2>&1
}

#  fault_connected REGION PEER: REGION answers status and says PEER is
#  connected (fault_disconnected: answers and says it is not)
fault_peer_state () {
    node_status "$1" 2>/dev/null | "$fault_python" -c '
import json, sys
s = json.load(sys.stdin)
print(["down", "up"][any(p["region"] == sys.argv[1] and p["connected"] for p in s["peers"])])' "$2"
}
fault_connected () { [ "$(fault_peer_state "$1" "$2")" = up ]; }
fault_disconnected () { [ "$(fault_peer_state "$1" "$2")" = down ]; }

#  fault_draft NAME KIND REGION [SCOPE]: one fresh draft of the pool's far
#  end (no writer takes it) in $work/NAME.jsonl
fault_next_spare=0
fault_draft () {
    local name="$1" kind="$2" region="$3" scope="${4:-$3}"
    fault_next_spare=$((fault_next_spare + 1))
    case "$kind" in
        elder) "$fault_python" "$fault_here/fault_writes.py" elders "$work/pool.jsonl" "$region" 1 \
                   --skip $((7800 + fault_next_spare)) ;;
        facility) "$fault_python" "$fault_here/fault_writes.py" facilities "$work/pool.jsonl" "$region" \
                   "$scope" 1 --skip $((2600 + fault_next_spare)) ;;
        credit) "$fault_python" "$fault_here/fault_writes.py" credit "$work/pool.jsonl" "$region" \
                   "$scope" 1 --skip $((2900 + fault_next_spare)) --tag "$name" ;;
    esac > "$work/$name.jsonl" || fail "fault_draft $*"
}

#  fault_freeze REGION...: SIGSTOP (the process stays, silent: its peers'
#  timeouts must find it); fault_thaw REGION...: SIGCONT. On exit every
#  frozen node is thawed first, so it can stop cleanly.
declare -A fault_frozen=()
fault_freeze () {
    local region
    for region in "$@"; do
        kill -STOP "${network_pid_of[$region]}" || fail "cannot SIGSTOP $region"
        fault_frozen[$region]=1
        fault_count=$((fault_count + 1))
    done
}
fault_thaw () {
    local region
    for region in "$@"; do
        kill -CONT "${network_pid_of[$region]}" || fail "cannot SIGCONT $region"
        unset "fault_frozen[$region]"
    done
}
fault_thaw_all () {
    local region
    for region in "${!fault_frozen[@]}"; do kill -CONT "${network_pid_of[$region]}" 2>/dev/null || true; done
}
cleanup_hooks=("fault_thaw_all" "${cleanup_hooks[@]}")

#  fault_converge_selftest: the check can fail. A draft recorded as
#  acknowledged but never sent must be reported lost at each of its
#  holders, and an acknowledged update never sent as stale; the
#  network itself must still pass without them.
fault_converge_selftest () {
    local out="$work/selftest.out" rc=0 holders
    fault_draft never elder "$fault_m121"
    sed 's/^{/{"ack":true,"via":"never-sent",/' "$work/never.jsonl" > "$work/selftest-lost.jsonl"
    head -n 1 "$work/writes-m111.jsonl" \
        | "$fault_python" "$fault_here/holders.py" set fields.phone=13999999999 ack:=true via=never-sent > "$work/selftest-stale.jsonl"
    "$fault_python" "$fault_here/converge.py" check "$work/nodes.tsv" "$work"/writes-*.jsonl \
        "$work/selftest-lost.jsonl" "$work/selftest-stale.jsonl" --idkey "$work/net.idkey" \
        > "$out" || rc=$?
    [ "$rc" = 1 ] || { cat "$out" >&2; fail "converge.py passed a network missing a write (exit $rc)"; }
    holders=0
    for region in "${fault_nodes[@]}"; do
        [[ "$fault_m121" == "$(region_prefix "$region")"* ]] && holders=$((holders + 1))
    done
    [ "$(grep -c "^lost: elder .*never-sent.* missing at " "$out")" = "$holders" ] \
        || { cat "$out" >&2; fail "converge.py did not name the $holders holders of the write never sent"; }
    grep -q "^stale: elder .* at $fault_m111: no node holds the version this acknowledged write made" "$out" \
        || { cat "$out" >&2; fail "converge.py did not report the update never sent as stale"; }
    ok "converge.py fails on a write never sent (lost at its $holders holders) and an update never sent (stale)"
}
