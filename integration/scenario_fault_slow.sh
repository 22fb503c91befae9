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
#    C. a county's uplink delayed beyond the peer timeout while the
#       county's store is full (its tmpfs shrunk to what it uses): the
#       batches it pulls fail as store_full and are asked for again with
#       backoff, its pulls over the slow link time out and are sent
#       again; writers go on at the other tiers and at the county, whose
#       puts all exit 3 naming store_full; then the tmpfs grows again
#       (no restart). Needs root (mount); skipped otherwise
#    D. the same at a township whose store is at its cap
#       (limits/map_limit_mb, set just above what it uses and applied by a
#       restart): a raised cap is not applied by SIGHUP (the node says
#       to restart), so it is raised by a restart
#  After each the delay is removed: the link must recover, every
#  acknowledged write reach every holder once, at one current version
#  (converge.py, with histories checked for versions kept twice); in C
#  and D no write refused as full is held anywhere, no node died, and
#  the full node's CPU stayed bounded while it failed.
#
#  slow_link_case is the reusable piece: slow_link_case NAME REGION
#  DELAY_MS [EXTRA_FAULT...] runs one case on REGION's uplink; an extra
#  fault, if given, is a command called as `EXTRA_FAULT... start REGION`
#  once the delay is on and `EXTRA_FAULT... stop REGION` before it is
#  removed (a scenario combining a slow link with another fault passes
#  its function here; FAULT_ALLOW_QUARANTINE lists the quarantine reasons
#  that fault explains).
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/faults.sh"
fault_setup
slow_s=$(( 2 * timeout_ms / 1000 + 6 ))    #  how long a link stays slow

#  The proxy itself first (alongside the nodes' start): a changed delay,
#  and pass, apply to the chunks it already holds, in order
start_bg proxy-selftest "$work/proxy-selftest.out" "$python" "$here/faultproxy.py" selftest

NETWORK_BATCH=100
fault_tree

#  C: the county's store on a tmpfs of its own (mode 0700: the store
#  refuses a directory others may write), unmounted on exit after the
#  nodes are stopped; D: a township's cap, which network_write_config
#  writes when slow_cap_mb names one
slow_tmpfs=""
slow_tmpfs_mb=64
unmount_tmpfs () {
    [ -n "$slow_tmpfs" ] || return 0
    umount "$slow_tmpfs" 2>/dev/null || umount -l "$slow_tmpfs" 2>/dev/null || true
    slow_tmpfs=""
}
cleanup_hooks+=("unmount_tmpfs")
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$(node_store "$fault_k1")"
    mount -t tmpfs -o size=${slow_tmpfs_mb}m,mode=0700 tmpfs "$(node_store "$fault_k1")" \
        || fail "cannot mount a tmpfs on $(node_store "$fault_k1")"
    slow_tmpfs="$(node_store "$fault_k1")"
    network_init_store "$fault_k1"
fi
declare -A slow_cap_mb=()
network_limits_extra () {
    [ -n "${slow_cap_mb[$1]:-}" ] || return 0
    echo "    map_mb = ${slow_cap_mb[$1]}"
    echo "    map_limit_mb = ${slow_cap_mb[$1]}"
}

NETWORK_PROXIES="$fault_k1 $fault_t21"
network_start
fault_ready 60
wait_until 30 bg_gone proxy-selftest || fail "faultproxy.py selftest did not end within 30 s"
stop_bg proxy-selftest || { cat "$work/proxy-selftest.out" >&2; fail "faultproxy.py selftest failed"; }
ok "faultproxy.py: a changed delay, and pass, apply to the chunks already queued, in order"
#  12000 elders: D's fill takes up to 4000 from the 8000th on (past the
#  spares; a cap leaves up to 1 MiB to fill, some 430 B a draft)
fault_pool "${HUTONG_IT_SEED:-13}" 12000
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
    fault_case_converge "$name" --histories 40
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

#  --------------------------------------------------------------------------
#  C and D: a slow link into a node whose store is full. slow_full_tmpfs
#  and slow_full_cap are the extra faults slow_link_case calls (start:
#  make the store full; stop: check, then make room); the pieces:

#  slow_fill NAME REGION: put ops-fill-NAME.jsonl at REGION's node, 100
#  drafts a put until one is refused as full, then 10, then one at a time until
#  they have been refused for 2 s in a row: not even one more fits. (A
#  store at its limit has room again for a moment when pages that an
#  ended read still held are freed, so a few refusals in a row do not
#  yet make it full.) Every put is recorded (fault_put), so what was
#  acknowledged is checked later
slow_fill () {
    local name="$1" region="$2" line=1 step=100 refused=0 since=0 rc total
    total=$(grep -c . "$work/ops-fill-$name.jsonl")
    while [ "$refused" -lt 5 ] || [ $(( $(fault_clock_ms) - since )) -lt 2000 ]; do
        [ "$line" -le "$total" ] || fail "$name: $region took all $total drafts and is not full"
        sed -n "${line},$((line + step - 1))p" "$work/ops-fill-$name.jsonl" > "$work/round-fill.jsonl"
        rc=0
        fault_put "fill-$name" "$region" "$work/round-fill.jsonl" || rc=$?
        #  Puts this fast from one key can pass the node's rate limit
        #  (security.md): nothing of it was stored; put the same again
        if [ "$rc" = 3 ] && tail -n 2 "$work/put-fill-$name.err" | grep -q rate_limited; then
            sleep 0.2
            continue
        fi
        line=$((line + step))
        case "$rc" in
            0) refused=0 ;;
            3) tail -n 2 "$work/put-fill-$name.err" | grep -q store_full \
                   || fail "$name: a put filling $region exited 3 but not as store_full: $(tail -n 2 "$work/put-fill-$name.err")"
               if [ "$step" -gt 1 ]; then
                   step=$((step / 10))
               else
                   [ "$refused" -gt 0 ] || since=$(fault_clock_ms)
                   refused=$((refused + 1))
               fi ;;
            *) fail "$name: a put filling $region exited $rc: $(tail -n 2 "$work/put-fill-$name.err")" ;;
        esac
    done
    wait_until 60 node_store_full "$region" \
        || fail "$name: $region does not say its store is full (status warning, a neighbour's batches failing)"
    ok "$name: $region's store is full after $(grep -c '"ack":true' "$work/writes-fill-$name.jsonl") drafts of its own; it says so, its neighbours' batches fail as store_full"
}

#  slow_refused_loop NAME REGION: the writer at the full node: five
#  drafts of ops-full-NAME.jsonl a put (elders, as the last of the fill:
#  a store where one more elder does not fit takes no five), each put's
#  exit status in rc-full-NAME, until full-NAME.stop appears
slow_refused_loop () {
    local name="$1" region="$2" line=1 total rc
    total=$(grep -c . "$work/ops-full-$name.jsonl")
    while [ ! -e "$work/full-$name.stop" ] && [ "$line" -le "$total" ]; do
        sed -n "${line},$((line + 4))p" "$work/ops-full-$name.jsonl" > "$work/round-full-$name.jsonl"
        rc=0
        fault_put "full-$name" "$region" "$work/round-full-$name.jsonl" || rc=$?
        #  Refused by the rate limit, not judged by the store: again
        if [ "$rc" = 3 ] && tail -n 2 "$work/put-full-$name.err" | grep -q rate_limited; then
            sleep 0.25
            continue
        fi
        echo "$rc" >> "$work/rc-full-$name"
        line=$((line + 5))
        sleep 0.25
    done
}
slow_refused_start () {
    local name="$1" region="$2" elder_region="$3" skip="$4"
    fault_ops "full-$name" elders "$elder_region" 300 "$skip"
    rm -f "$work/full-$name.stop" "$work/rc-full-$name"
    start_bg "full-$name" "$work/full-$name.log" slow_refused_loop "$name" "$region"
}
slow_puts () { grep -c . "$work/rc-full-$1" 2>/dev/null || echo 0; }
slow_puts_over () { [ "$(slow_puts "$1")" -gt "$2" ]; }

#  slow_full_checks NAME REGION: while the store is still full and the
#  link slow: the node's CPU over 4 s, then the writer at it stopped:
#  every put it made exited 3 naming store_full
slow_cpu_bound=30
slow_full_checks () {
    local name="$1" region="$2" percent puts refused named
    wait_until 30 slow_puts_over "$name" 2 || fail "$name: the writer at $region made no puts"
    percent="$(cpu_percent "$(node_pid "$region")" 4)"
    [ "$percent" -lt "$slow_cpu_bound" ] \
        || fail "$name: $region used $percent% of a core over 4 s while full behind a slow link"
    ok "$name: $region used $percent% of a core over 4 s while full and retrying behind the slow link (bound $slow_cpu_bound%)"
    touch "$work/full-$name.stop"
    wait_until 60 bg_gone "full-$name" || fail "$name: the writer at $region did not stop"
    stop_bg "full-$name" || true
    puts=$(slow_puts "$name")
    refused=$(grep -cx 3 "$work/rc-full-$name" || true)
    named=$(grep -c "store_full" "$work/put-full-$name.err" || true)
    [ "$refused" = "$puts" ] \
        || fail "$name: $((puts - refused)) of $puts puts at $region exited otherwise than 3 while its store was full: $(sort "$work/rc-full-$name" | uniq -c | tr '\n' ' ')"
    [ "$named" -ge "$puts" ] || fail "$name: $puts puts at $region refused, only $named name store_full"
    ok "$name: all $puts puts at $region while it was full exited 3 naming store_full, none acknowledged"
}

#  slow_healed NAME REGION FACILITY_REGION: with room again (the link
#  still slow), a put at the node is acknowledged and the node no longer
#  says it is full
slow_not_full () {
    node_status "$1" 2>/dev/null | "$python" -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(1 if "store_full" in s or any(w["code"] == "store_full" for w in s.get("warnings", [])) else 0)'
}
slow_healed () {
    local name="$1" region="$2" fac_region="$3"
    fault_draft "$name-healed" facility "$fac_region" "$region"
    fault_put fg "$region" "$work/$name-healed.jsonl" \
        || fail "$name: a put at $region was refused once there was room: $(tail -n 2 "$work/put-fg.err")"
    wait_until 30 slow_not_full "$region" || fail "$name: $region still says its store is full"
    ok "$name: with room again, a put at $region is acknowledged and it no longer says it is full"
}

#  slow_full_tmpfs start|stop REGION (C): the store's tmpfs shrunk to
#  what it uses (and a little), then filled; at stop grown back
declare -A slow_pid_at=()
slow_full_tmpfs () {
    local what="$1" region="$2" used bsize blocks free size tries=0
    if [ "$what" = start ]; then
        slow_pid_at[$region]="$(node_pid "$region")"
        #  The node writes meanwhile: a size below what it uses by then is
        #  refused, and tried again with what it uses now
        until [ "$tries" -ge 10 ]; do
            read -r blocks free bsize < <(stat -f -c '%b %f %S' "$slow_tmpfs")
            used=$(( (blocks - free) * bsize ))
            size=$(( used + 512 * 1024 ))
            mount -o remount,size="$size" "$slow_tmpfs" 2>/dev/null && break
            tries=$((tries + 1))
        done
        [ "$tries" -lt 10 ] || fail "C: cannot shrink the tmpfs of $region to what it uses"
        fault_count=$((fault_count + 1))
        ok "C: $region's tmpfs shrunk to $((size / 1024)) KiB (it used $((used / 1024)) KiB)"
        FAULT_BATCH=100 fault_ops fill-C elders "$fault_m112" 1200 6200
        slow_fill C "$region"
        grep -q "store: full: .*the disk holding .* is full" "$(node_log "$region")" \
            || fail "C: $region's log does not say its disk is full"
        slow_refused_start C "$region" "$fault_m112" 1200
    else
        slow_full_checks C "$region"
        mount -o remount,size=${slow_tmpfs_mb}m "$slow_tmpfs" || fail "C: cannot grow the tmpfs again"
        slow_healed C "$region" "$fault_m112"
        wait_until 30 grep -q "store: writes fit again" "$(node_log "$region")" \
            || fail "C: $region never logged that writes fit again"
        expect_eq "$(node_pid "$region")" "${slow_pid_at[$region]}" "C: $region recovered without a restart"
    fi
}

#  slow_full_cap start|stop REGION (D): the cap set just above what the
#  store uses and applied by a restart, then filled; at stop, a raised
#  cap and SIGHUP (which does not apply it), then a restart
slow_full_cap () {
    local what="$1" region="$2" used cap log
    log="$(node_log "$region")"
    if [ "$what" = start ]; then
        used=$(node_status "$region" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["store_bytes"])')
        cap=$(( used / 1048576 + 1 ))       #  less than 1 MiB to fill
        slow_cap_mb[$region]=$cap
        fault_stop "$region"
        fault_restart "$region"
        fault_count=$((fault_count + 1))
        ok "D: $region restarted with limits/map_limit_mb = $cap (its store used $((used / 1024)) KiB)"
        FAULT_BATCH=100 fault_ops fill-D elders "$fault_m211" 4000 8000
        slow_fill D "$region"
        grep -q "store: full: .*reached its cap of $cap.0 MiB" "$log" \
            || fail "D: $region's log does not name its cap of $cap MiB"
        slow_refused_start D "$region" "$fault_m211" 1500
    else
        #  The cap is read at start: SIGHUP names it and keeps the old one
        unset "slow_cap_mb[$region]"
        network_write_config "$region"
        kill -HUP "$(node_pid "$region")"
        wait_until 20 grep -q "config: limits/map_limit_mb changed; restart hutongd to apply" "$log" \
            || fail "D: SIGHUP with a raised cap: $region does not say a restart is needed"
        local puts
        puts=$(slow_puts D)
        wait_until 20 slow_puts_over D "$puts" || fail "D: no put at $region after the SIGHUP"
        ok "D: a raised limits/map_limit_mb is not applied by SIGHUP ($region logs that it needs a restart)"
        slow_full_checks D "$region"
        fault_stop "$region"
        fault_restart "$region"
        slow_healed D "$region" "$fault_m211"
        ok "D: $region restarted with no cap"
    fi
}

#  slow_never_stored NAME: no write refused at the full node is held
#  anywhere, now that every acknowledged one is everywhere
slow_never_stored () {
    "$python" "$here/converge.py" absent "$work/nodes.tsv" "$work/writes-full-$1.jsonl" \
        --idkey "$work/net.idkey" > "$work/absent-$1.out" \
        || { cat "$work/absent-$1.out" >&2; fail "$1: a write refused as store_full is held"; }
    ok "$1: no write refused as full is held anywhere ($(head -n 1 "$work/absent-$1.out"))"
    #  The check can fail: the fill's acknowledged writes are held
    grep '"ack":true' "$work/writes-fill-$1.jsonl" > "$work/acked-fill-$1.jsonl"
    local rc=0
    "$python" "$here/converge.py" absent "$work/nodes.tsv" "$work/acked-fill-$1.jsonl" \
        --idkey "$work/net.idkey" > "$work/absent-acked-$1.out" || rc=$?
    [ "$rc" = 1 ] && grep -q "^held: elder " "$work/absent-acked-$1.out" \
        || { cat "$work/absent-acked-$1.out" >&2; fail "$1: converge.py absent passed writes that are held (exit $rc)"; }
}

#  C. A county behind a slow link, its tmpfs full
if [ -n "$slow_tmpfs" ]; then
    slow_link_case C "$fault_k1" $(( timeout_ms + 1500 )) slow_full_tmpfs
    slow_never_stored C
else
    echo "ok - C skipped: shrinking a tmpfs needs root"
fi

#  D. A township behind a slow link, at its cap
slow_link_case D "$fault_t21" $(( timeout_ms + 1500 )) slow_full_cap
slow_never_stored D

fault_writers_stop
fault_converge "the end" 60 --histories 100
echo "# writes: $(fault_writes_count) acknowledged, $(fault_writes_unacked) not acknowledged"
echo "# time to converge after each case: $(IFS=';'; echo "${case_times[*]}")"
echo "# scenario_fault_slow: faults $fault_count, $(( $(date +%s) - fault_started_at )) s"
scenario_done=1
