#!/usr/bin/env bash
#  Fault: kill -9. Ten nodes (a city, two counties, three townships, four
#  communities); writers at six nodes of all four tiers keep writing
#  (put --node while their node runs, put --store into its store while it
#  is down) while random nodes are killed with SIGKILL — leaves, relays and
#  the city, sometimes two at once — and restarted, again and again. Then
#  every acknowledged write must be at every node the holder rule gives
#  it, each entity at one current version everywhere, nothing quarantined,
#  every node running. Seedable: HUTONG_IT_SEED (printed); HUTONG_IT_KILLS
#  kills (default 10).
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/faults.sh"
fault_setup

seed="${HUTONG_IT_SEED:-$(( $(date +%s%N) % 100000 ))}"
kills="${HUTONG_IT_KILLS:-10}"
RANDOM=$seed
echo "# seed $seed (HUTONG_IT_SEED=$seed to repeat), $kills kills"

fault_tree
network_start
fault_ready 60
fault_pool "$seed"
fault_writers_start
ok "writers at ${#fault_writers[@]} nodes of four tiers"

#  pick VAR FROM...: set VAR to one of the words, by the seeded RANDOM (no
#  subshell: a subshell's RANDOM would not move the scenario's on)
pick () { local var="$1"; shift; local all=("$@"); printf -v "$var" '%s' "${all[$((RANDOM % ${#all[@]}))]}"; }
#  pause_between MIN_MS MAX_MS: a seeded pause (the fault's length, or the
#  time between faults), not a check
pause_between () {
    local ms=$(( $1 + RANDOM % ($2 - $1 + 1) ))
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
}

#  The first three kills hit each class once, in a seeded order
classes=(leaf relay city)
for ((i = 0; i < 3; i++)); do
    j=$((RANDOM % 3)); t="${classes[$i]}"; classes[$i]="${classes[$j]}"; classes[$j]="$t"
done
declare -A killed_class=()
round=0
while [ "$round" -lt "$kills" ]; do
    if [ "$round" -lt 3 ]; then class="${classes[$round]}"; else pick class leaf leaf relay relay city; fi
    case "$class" in
        leaf) pick victim "${fault_leaves[@]}" ;;
        relay) pick victim "${fault_relays[@]}" ;;
        city) victim="$fault_city" ;;
    esac
    victims=("$victim")
    #  Sometimes two at once (the second of any class, not the same node)
    if [ "$round" -ge 3 ] && [ $((RANDOM % 3)) = 0 ] && [ "$((round + 2))" -le "$kills" ]; then
        pick second "${fault_nodes[@]}"
        [ "$second" = "${victims[0]}" ] || victims+=("$second")
    fi
    before="$(fault_writes_count)"
    #  One kill in three lets the writers find out late: a put in flight
    #  or sent just after goes to the dead node
    if [ $((RANDOM % 3)) = 0 ]; then late=" (writers told late)"; FAULT_MARK_AFTER=0.5 fault_kill "${victims[@]}"
    else late=""; fault_kill "${victims[@]}"; fi
    for v in "${victims[@]}"; do
        case " ${fault_leaves[*]} | ${fault_relays[*]} " in
            *" $v "*"|"*) c=leaf ;; *"|"*" $v "*) c=relay ;; *) c=city ;;
        esac
        killed_class[$c]=$(( ${killed_class[$c]:-0} + 1 ))
    done
    round=$((round + ${#victims[@]}))
    #  Down for 0.5 to 5 s: shorter and longer than the peer timeout
    pause_between 500 5000
    fault_restart "${victims[@]}"
    echo "# kill $round/$kills: ${victims[*]} ($class)$late; acknowledged writes $before -> $(fault_writes_count)"
    pause_between 1000 3000
done
ok "$fault_count nodes killed with SIGKILL and restarted (leaves ${killed_class[leaf]:-0}, relays ${killed_class[relay]:-0}, the city ${killed_class[city]:-0})"

#  Writes go on a little after the last restart, then stop
pause_between 1000 2000
fault_writers_stop
echo "# writes: $(fault_writes_count) acknowledged, $(fault_writes_unacked) not acknowledged"
[ "$(cat "$work"/writes-*.jsonl | grep -c '"via":"store:')" -gt 0 ] \
    || fail "no write went through a killed node's store: the scenario tested less than it says"
ok "writes went through both paths: $(cat "$work"/writes-*.jsonl | grep -c '"via":"node:') drafts by put --node, $(cat "$work"/writes-*.jsonl | grep -c '"via":"store:') by put --store"

healed=$(date +%s)
fault_converge "after $fault_count kills" 120 --histories 30
fault_all_alive
#  A kill is not a rollback: no store should have taken a new epoch
epochs=0
for r in "${fault_nodes[@]}"; do
    n="$(node_status "$r" | "$python" -c 'import json,sys; print(sum(p["epoch_changes"] for p in json.load(sys.stdin)["peers"]))')"
    epochs=$((epochs + n))
done
expect_eq "$epochs" 0 "no peer saw an epoch change (a kill -9 is not a rollback)"
echo "# scenario_fault_kill: seed $seed, faults $fault_count, $(( $(date +%s) - fault_started_at )) s in all, converged $(( $(date +%s) - healed )) s after the writers stopped"
fault_converge_selftest
scenario_done=1
