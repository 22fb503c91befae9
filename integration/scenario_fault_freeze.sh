#!/usr/bin/env bash
#  Fault: a frozen node. Ten nodes; writers at six nodes of four tiers keep
#  writing while a node is stopped with SIGSTOP for longer than the peer
#  timeout — its process and sockets stay, it just says nothing — then
#  continued with SIGCONT:
#    A. a township (a relay) while its communities and its county write;
#       one community is stopped meanwhile and written in its store
#    B. the city while the counties write
#    C. a county and a community of the other county at once
#  Its neighbours must notice the silence, its children reconnect and
#  resume when it wakes, the frozen node catch up both ways, and nothing
#  acknowledged be lost (converge.py).
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/faults.sh"
fault_setup
freeze_s=$(( timeout_ms / 1000 + 3 ))  #  a freeze outlasts the peer timeout
long_s=14                               #  and, in A, a put's 10 s wait

fault_tree
network_start
fault_ready 60
fault_pool "${HUTONG_IT_SEED:-9}"
fault_writers_start
ok "writers at ${#fault_writers[@]} nodes of four tiers"

absent_at () {
    if fault_has "$1" "$2"; then fail "$3: $1 holds it while $4 is frozen"; fi
    ok "$3: not at $1 while $4 is frozen"
}
#  frozen_for START_NS: the freeze must have outlasted the peer timeout
frozen_for () {
    local ms=$(( ($(date +%s%N) - $1) / 1000000 ))
    [ "$ms" -gt "$timeout_ms" ] || fail "the freeze lasted $ms ms, not longer than the peer timeout"
    echo "$ms"
}

#  --------------------------------------------------------------------------
#  A. Township t11 frozen; its communities m111 (a writer) and m112 and its
#  county k1 write. The freeze outlasts the time a put --node waits (10 s
#  for the node's INFO, after which it fails with nothing sent, or for the
#  PUT of a put whose INFO was answered just before the freeze): t11's own
#  writer is not acknowledged, though t11 may store a PUT it was sent
#  once it continues

#  t11's writer is under way (so its put in flight or next is sent to
#  the frozen node well before the freeze ends)
wait_until 60 grep -q . "$work/writes-t11.jsonl" || fail "A: t11's writer wrote nothing in 60 s"
fault_freeze "$fault_t11"
frozen_at=$(date +%s%N)
fault_draft a-up elder "$fault_m111"
fault_put fg "$fault_m111" "$work/a-up.jsonl" || fail "A: m111's elder was not acknowledged"
fault_draft a-down facility "$fault_k1" "$fault_k1"
fault_put fg "$fault_k1" "$work/a-down.jsonl" || fail "A: the county's facility was not acknowledged"
wait_until "$wait_s" fault_disconnected "$fault_m111" "$fault_t11" \
    || fail "A: community m111 still reports its frozen parent connected ${wait_s}s on"
wait_until "$wait_s" fault_disconnected "$fault_k1" "$fault_t11" \
    || fail "A: county k1 still reports its frozen child connected ${wait_s}s on"
ok "A: the child and the parent of the frozen township report it silent"
fault_stop "$fault_m112"
fault_draft a-store elder "$fault_m112"
fault_put fg "$fault_m112" "$work/a-store.jsonl" || fail "A: put --store at the stopped m112 failed"
fault_restart "$fault_m112"        #  it comes back while its parent is still frozen
absent_at "$fault_k1" "$work/a-up.jsonl" "A: m111's elder" "t11"
while [ $(( ($(date +%s%N) - frozen_at) / 1000000000 )) -lt "$long_s" ]; do sleep 0.2; done
fault_thaw "$fault_t11"
ok "A: t11 frozen for $(frozen_for "$frozen_at") ms (peer timeout $timeout_ms ms), then continued"
grep -q '"ack":false,"via":"node:'"$fault_t11" "$work/writes-t11.jsonl" \
    || fail "A: no put to the frozen township timed out: the freeze tested less than it says"
wait_until "$wait_s" fault_connected "$fault_m111" "$fault_t11" || fail "A: m111 did not reconnect to t11"
wait_until "$wait_s" fault_connected "$fault_m112" "$fault_t11" || fail "A: m112 did not connect to t11"
wait_until "$wait_s" fault_connected "$fault_k1" "$fault_t11" || fail "A: t11 did not come back at k1"
ok "A: the children and the parent are linked to t11 again"
wait_until 60 fault_has "$fault_city" "$work/a-up.jsonl" || fail "A: m111's elder did not go up"
wait_until 60 fault_has "$fault_city" "$work/a-store.jsonl" || fail "A: m112's stored elder did not go up"
wait_until 60 fault_has "$fault_t11" "$work/a-down.jsonl" || fail "A: the frozen township did not catch up on the county's facility"
wait_until 60 fault_has "$fault_m111" "$work/a-down.jsonl" || fail "A: the county's facility did not reach m111"
ok "A: catch-up both ways through the township that was frozen"
fault_heal_and_check "A (relay frozen)"

#  --------------------------------------------------------------------------
#  B. The city frozen while the counties write

fault_freeze "$fault_city"
frozen_at=$(date +%s%N)
fault_draft b-k1 elder "$fault_m121"
fault_put fg "$fault_m121" "$work/b-k1.jsonl" || fail "B: m121's elder was not acknowledged"
fault_draft b-k2 facility "$fault_k2" "$fault_k2"
fault_put fg "$fault_k2" "$work/b-k2.jsonl" || fail "B: k2's facility was not acknowledged"
wait_until "$wait_s" fault_disconnected "$fault_k1" "$fault_city" || fail "B: k1 still reports the frozen city connected"
wait_until "$wait_s" fault_disconnected "$fault_k2" "$fault_city" || fail "B: k2 still reports the frozen city connected"
ok "B: both counties report the frozen city silent"
while [ $(( ($(date +%s%N) - frozen_at) / 1000000000 )) -lt "$freeze_s" ]; do sleep 0.2; done
fault_thaw "$fault_city"
ok "B: the city frozen for $(frozen_for "$frozen_at") ms, then continued"
wait_until 60 fault_has "$fault_city" "$work/b-k1.jsonl" || fail "B: the city did not catch up on m121's elder"
wait_until 60 fault_has "$fault_city" "$work/b-k2.jsonl" || fail "B: the city did not catch up on k2's facility"
ok "B: the city caught up"
fault_heal_and_check "B (city frozen)"

#  --------------------------------------------------------------------------
#  C. County k1 and community m211 (a writer) frozen at once

fault_freeze "$fault_k1" "$fault_m211"
frozen_at=$(date +%s%N)
fault_draft c-t11 facility "$fault_m111" "$fault_t11"
fault_put fg "$fault_t11" "$work/c-t11.jsonl" || fail "C: t11's facility was not acknowledged"
fault_draft c-city credit "$fault_m211" "$fault_city"
fault_put fg "$fault_city" "$work/c-city.jsonl" || fail "C: the city's credit record was not acknowledged"
wait_until "$wait_s" fault_disconnected "$fault_t11" "$fault_k1" || fail "C: t11 still reports the frozen k1 connected"
wait_until "$wait_s" fault_disconnected "$fault_t21" "$fault_m211" || fail "C: t21 still reports the frozen m211 connected"
ok "C: the neighbours of both frozen nodes report them silent"
while [ $(( ($(date +%s%N) - frozen_at) / 1000000000 )) -lt "$freeze_s" ]; do sleep 0.2; done
fault_thaw "$fault_k1" "$fault_m211"
ok "C: k1 and m211 frozen for $(frozen_for "$frozen_at") ms, then continued"
wait_until 60 fault_has "$fault_city" "$work/c-t11.jsonl" || fail "C: t11's facility did not go up through k1"
wait_until 60 fault_has "$fault_m211" "$work/c-city.jsonl" || fail "C: m211 did not catch up on the city's record"
ok "C: catch-up through the county and at the community that were frozen"
fault_heal_and_check "C (county and community frozen)" stay-stopped
fault_converge "the end" 60 --histories 30

unacked=$(fault_writes_unacked)
echo "# writes: $(fault_writes_count) acknowledged, $unacked not acknowledged (a put to a frozen node times out)"
echo "# time to converge after each case: $(IFS=';'; echo "${case_times[*]}")"
echo "# scenario_fault_freeze: faults $fault_count, $(( $(date +%s) - fault_started_at )) s"
scenario_done=1
