#!/usr/bin/env bash
#  Fault: slow links. Ten nodes; two uplinks go through the fault proxy.
#  Writers at six nodes of four tiers keep writing while a link is slowed:
#    A. a county's uplink delayed so that a round trip (a PULL and its
#       BATCH) takes longer than the peer timeout while each way alone
#       stays under it: pulls time out and are sent again, answers arrive
#       late, twice; data must still flow while the link is slow, and no
#       version be applied or counted twice
#    B. a township's uplink delayed beyond the peer timeout one way: the
#       link cannot stay up; a community below is stopped and written in
#       its store meanwhile
#  After each the delay is removed: the link must recover, every
#  acknowledged write reach every holder once, at one current version
#  (converge.py, with histories checked for versions kept twice).
#
#  slow_link_case is the reusable piece: slow_link_case NAME REGION
#  DELAY_MS [EXTRA_FAULT...] runs one case on REGION's uplink; an extra
#  fault, if given, is a command called as `EXTRA_FAULT... start REGION`
#  once the delay is on and `EXTRA_FAULT... stop REGION` before it is
#  removed (a scenario combining a slow link with another fault passes
#  its function here; FAULT_ALLOW_QUARANTINE lists the quarantine reasons
#  that fault explains).
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"
source "$here/faults.sh"
use_debian_python
show_logs_on_failure
timeout_ms="${NETWORK_TIMEOUT_MS:-3000}"
slow_s=$(( 2 * timeout_ms / 1000 + 6 ))    #  how long a link stays slow

#  The proxy itself first (alongside the nodes' start): a changed delay,
#  and pass, apply to the chunks it already holds, in order
start_bg proxy-selftest "$work/proxy-selftest.out" "$python" "$here/faultproxy.py" selftest

NETWORK_BATCH=100
fault_tree
NETWORK_PROXIES="$fault_k1 $fault_t21"
network_start
fault_ready 60
wait_until 30 bg_gone proxy-selftest || fail "faultproxy.py selftest did not end within 30 s"
stop_bg proxy-selftest || { cat "$work/proxy-selftest.out" >&2; fail "faultproxy.py selftest failed"; }
ok "faultproxy.py: a changed delay, and pass, apply to the chunks already queued, in order"
fault_pool "${HUTONG_IT_SEED:-13}"
fault_writers_start
ok "writers at ${#fault_writers[@]} nodes of four tiers; proxies on the uplinks of $NETWORK_PROXIES"

#  peer_figure REGION PEER FIELD: one figure of REGION's status for PEER
peer_figure () {
    node_status "$1" | "$python" -c '
import json, sys
print(sum(p[sys.argv[2]] for p in json.load(sys.stdin)["peers"] if p["region"] == sys.argv[1]))' "$2" "$3"
}

#  given_up REGION...: how often their logs say a peer went silent
given_up () {
    local region n=0
    for region in "$@"; do
        n=$(( n + $(grep -c "silent for over" "$(node_log "$region")" || true) ))
    done
    echo "$n"
}

case_times=()
#  slow_link_case NAME REGION DELAY_MS [EXTRA_FAULT...]: see above.
#  SLOW_FLOWS=1: data must get through while the link is slow (the delay
#  one way is under the peer timeout); SLOW_STOP=REGION: that node is
#  stopped while the link is slow (its writer writes its store) and
#  restarted after
slow_link_case () {
    local name="$1" region="$2" delay="$3"; shift 3
    local parent="${network_parent_of[$region]}" below started stale_before lost_before
    #  A community below the link (or the node itself)
    below="$region"
    for r in "${fault_leaves[@]}"; do
        [[ "$r" == "$(region_prefix "$region")"* ]] && { below="$r"; break; }
    done
    stale_before=$(( $(peer_figure "$parent" "$region" stale_batches) + $(peer_figure "$region" "$parent" stale_batches) ))
    lost_before=$(given_up "$region" "$parent")
    proxy_ctl "$region" delay "$delay" >/dev/null; fault_count=$((fault_count + 1))
    started=$(date +%s%N)
    [ "$#" = 0 ] || "$@" start "$region"
    [ -z "${SLOW_STOP:-}" ] || fault_stop "$SLOW_STOP"
    #  One write below the slow link, one above it
    fault_draft "$name-up" elder "$below"
    fault_put fg "$below" "$work/$name-up.jsonl" || fail "$name: the elder below the slow link was not acknowledged"
    fault_draft "$name-down" facility "$parent" "$parent"
    fault_put fg "$parent" "$work/$name-down.jsonl" || fail "$name: the facility above the slow link was not acknowledged"
    if [ -n "${SLOW_FLOWS:-}" ]; then
        wait_until 30 fault_has "$parent" "$work/$name-up.jsonl" \
            || fail "$name: the elder did not cross the link while it was slow (${delay} ms each way)"
        wait_until 30 fault_has "$region" "$work/$name-down.jsonl" \
            || fail "$name: the facility did not cross the link while it was slow (${delay} ms each way)"
        ok "$name: with ${delay} ms each way, writes crossed both ways while the link was slow ($(( ($(date +%s%N) - started) / 1000000 )) ms)"
    fi
    while [ $(( ($(date +%s%N) - started) / 1000000000 )) -lt "$slow_s" ]; do sleep 0.2; done
    [ "$#" = 0 ] || "$@" stop "$region"
    proxy_ctl "$region" delay 0 >/dev/null
    local slow_ms=$(( ($(date +%s%N) - started) / 1000000 ))
    [ -z "${SLOW_STOP:-}" ] || fault_restart "$SLOW_STOP"
    #  Recovery: a write after the delay is gone crosses both ways
    fault_draft "$name-after" elder "$below"
    fault_put fg "$below" "$work/$name-after.jsonl" || fail "$name: the elder after the delay was not acknowledged"
    local healed=$(date +%s%N)
    wait_until 30 fault_has "$fault_city" "$work/$name-after.jsonl" \
        || fail "$name: the link did not recover within 30 s of the delay's removal"
    wait_until 30 fault_has "$below" "$work/$name-down.jsonl" \
        || fail "$name: the facility above did not come down within 30 s of the delay's removal"
    wait_until 30 fault_connected "$parent" "$region" || fail "$name: $parent does not report $region connected"
    wait_until 30 fault_connected "$region" "$parent" || fail "$name: $region does not report $parent connected"
    ok "$name: ${slow_ms} ms at ${delay} ms each way; recovered $(( ($(date +%s%N) - healed) / 1000000 )) ms after the delay was removed"
    local stale=$(( $(peer_figure "$parent" "$region" stale_batches) + $(peer_figure "$region" "$parent" stale_batches) - stale_before ))
    local lost=$(( $(given_up "$region" "$parent") - lost_before ))
    echo "# $name: batches dropped as stale (a re-sent pull's answer) $stale; links given up as silent $lost"
    slow_stale=$stale slow_lost=$lost
    fault_writers_stop
    fault_converge "$name" 90 --histories 40
    case_times+=("$name: $(sed -n 2p "$work/converge.out" | sed 's/.*, \([0-9.]* s\)$/\1/')")
    fault_all_alive
    fault_writers_resume
}

#  A. Each way under the peer timeout, a round trip over it
SLOW_FLOWS=1 slow_link_case A "$fault_k1" $(( timeout_ms * 2 / 3 ))
[ "$slow_stale" -gt 0 ] || [ "$slow_lost" -gt 0 ] \
    || echo "# A: no pull was sent again (no stale batch): the delay did not outlast a round trip here"

#  B. One way over the peer timeout, a community below stopped meanwhile
SLOW_STOP="$fault_m211" slow_link_case B "$fault_t21" $(( timeout_ms + 1500 ))
[ "$slow_lost" -gt 0 ] || fail "B: the link was never given up as silent at $(( timeout_ms + 1500 )) ms each way"

fault_writers_stop
fault_converge "the end" 60 --histories 100
echo "# writes: $(fault_writes_count) acknowledged, $(fault_writes_unacked) not acknowledged"
echo "# time to converge after each case: $(IFS=';'; echo "${case_times[*]}")"
echo "# scenario_fault_slow: faults $fault_count, $(( $(date +%s) - fault_started_at )) s"
scenario_done=1
