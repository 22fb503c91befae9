#!/usr/bin/env bash
#  Fault: links cut. Ten nodes; four uplinks (two counties', two
#  townships') go through the fault proxy (faultproxy.py). Writers at six
#  nodes of four tiers keep writing while, one after the other:
#    A. a county's uplink is cut both ways for longer than the peer
#       timeout: both ends must notice; an elder updated below the cut, then
#       above it (by the city), then below again through a stopped
#       community's store, ends at its last version everywhere
#    B. a township's uplink holds what the child sends (one way, "hold up")
#    C. another township's uplink holds what the parent sends ("hold down")
#    D. a short cut (under the peer timeout), then a blip (every
#       connection reset once) in the middle of a bulk write
#  After each: healing, catch-up both ways, and the convergence check
#  (converge.py): every acknowledged write at every holder, one current
#  version, nothing quarantined, every node running and linked.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/faults.sh"
fault_setup

#  Small batches, so a fault lands between many of them
NETWORK_BATCH=100
fault_tree
NETWORK_PROXIES="$fault_k1 $fault_k2 $fault_t11 $fault_t21"
network_start
fault_ready 60
fault_pool "${HUTONG_IT_SEED:-5}"

#  An elder of community m112 everyone holds before the faults
fault_draft shared elder "$fault_m112"
fault_put fg "$fault_m112" "$work/shared.jsonl" || fail "the shared elder was not stored"
wait_until 30 fault_has "$fault_city" "$work/shared.jsonl" || fail "the shared elder did not reach the city"
fault_writers_start
ok "writers at ${#fault_writers[@]} nodes of four tiers; proxies on the uplinks of $NETWORK_PROXIES"

#  absent_at REGION FILE WHAT: the fault held FILE's draft back from REGION
absent_at () {
    if fault_has "$1" "$2"; then fail "$3: $1 holds it while the fault lasts: the fault did not hold"; fi
    ok "$3: not at $1 while the fault lasts"
}

#  --------------------------------------------------------------------------
#  A. County k1's uplink cut both ways, longer than the peer timeout

proxy_ctl "$fault_k1" cut >/dev/null; fault_count=$((fault_count + 1))
cut_at=$(date +%s%N)
#  Below the cut: a new elder at m111, the shared elder updated at m112;
#  above: a city-wide credit record, then the city's update of the shared
#  elder (later, so it wins over m112's)
fault_draft a-below elder "$fault_m111"
fault_put fg "$fault_m111" "$work/a-below.jsonl" || fail "A: the elder below the cut was not acknowledged"
"$python" "$here/holders.py" set fields.phone=13800000001 < "$work/shared.jsonl" > "$work/shared-m112.jsonl"
fault_put fg "$fault_m112" "$work/shared-m112.jsonl" || fail "A: m112's update was not acknowledged"
fault_draft a-above credit "$fault_m121" "$fault_city"
fault_put fg "$fault_city" "$work/a-above.jsonl" || fail "A: the city's credit record was not acknowledged"
"$python" "$here/holders.py" set fields.phone=13800000002 < "$work/shared.jsonl" > "$work/shared-city.jsonl"
fault_put fg "$fault_city" "$work/shared-city.jsonl" || fail "A: the city's update was not acknowledged"
#  Both ends notice the silence
wait_until "$wait_s" fault_disconnected "$fault_city" "$fault_k1" \
    || fail "A: the city still reports county $fault_k1 connected ${wait_s}s into the cut"
wait_until "$wait_s" fault_disconnected "$fault_k1" "$fault_city" \
    || fail "A: county $fault_k1 still reports the city connected ${wait_s}s into the cut"
ok "A: both ends report the link down ($(( ($(date +%s%N) - cut_at) / 1000000 )) ms into the cut)"
#  A community below stops; the shared elder is updated in its store, last
fault_stop "$fault_m112"
"$python" "$here/holders.py" set fields.phone=13800000003 < "$work/shared.jsonl" > "$work/shared-store.jsonl"
fault_put fg "$fault_m112" "$work/shared-store.jsonl" || fail "A: put --store at the stopped m112 failed"
fault_draft a-store elder "$fault_m112"
fault_put fg "$fault_m112" "$work/a-store.jsonl" || fail "A: put --store of a new elder at m112 failed"
absent_at "$fault_city" "$work/a-below.jsonl" "A: m111's elder"
absent_at "$fault_k1" "$work/a-above.jsonl" "A: the city's credit record"
cut_ms=$(( ($(date +%s%N) - cut_at) / 1000000 ))
[ "$cut_ms" -gt "$timeout_ms" ] || fail "A: the cut lasted ${cut_ms} ms, not longer than the peer timeout"
proxy_ctl "$fault_k1" pass >/dev/null
fault_restart "$fault_m112"
ok "A: the cut lasted $cut_ms ms (peer timeout $timeout_ms ms); healed, m112 restarted"
wait_until 60 fault_has "$fault_city" "$work/a-below.jsonl" || fail "A: m111's elder did not go up after healing"
wait_until 60 fault_has "$fault_m121" "$work/a-above.jsonl" || fail "A: the city's record did not come down after healing"
ok "A: catch-up both ways"
fault_heal_and_check "A (cut both ways)"
current_phone () {
    local kind key
    read -r kind key < <(fault_key "$work/shared.jsonl")
    "$HUTONG" get --store "$(node_store "$1")" "$kind" "$key" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["fields"]["phone"])'
}
for r in "$fault_city" "$fault_k1" "$fault_t11" "$fault_m112"; do
    expect_eq "$(current_phone "$r")" 13800000003 "A: the shared elder's current version at $r is the last write (m112's store)"
done

#  --------------------------------------------------------------------------
#  B. Township t21's uplink: what t21 sends is held (one way), past the
#  peer timeout. Its community m211 stops and is written in its store.

proxy_ctl "$fault_t21" hold up >/dev/null; fault_count=$((fault_count + 1))
hold_at=$(date +%s%N)
fault_draft b-below elder "$fault_m211"
fault_put fg "$fault_m211" "$work/b-below.jsonl" || fail "B: the elder below was not acknowledged"
fault_draft b-above credit "$fault_m211" "$fault_k2"
fault_put fg "$fault_k2" "$work/b-above.jsonl" || fail "B: the county's credit record was not acknowledged"
wait_until "$wait_s" fault_disconnected "$fault_k2" "$fault_t21" \
    || fail "B: county $fault_k2 still reports t21 connected ${wait_s}s into the hold"
ok "B: the county reports the township silent ($(( ($(date +%s%N) - hold_at) / 1000000 )) ms into the hold)"
fault_stop "$fault_m211"
wait_until 30 grep -q "\"via\":\"store:$fault_m211\"" "$work/writes-m211.jsonl" \
    || fail "B: m211's writer did not write its store while it was stopped"
absent_at "$fault_k2" "$work/b-below.jsonl" "B: m211's elder (the held direction)"
proxy_ctl "$fault_t21" pass >/dev/null
fault_restart "$fault_m211"
ok "B: held $(( ($(date +%s%N) - hold_at) / 1000000 )) ms; released, m211 restarted"
wait_until 60 fault_has "$fault_city" "$work/b-below.jsonl" || fail "B: m211's elder did not go up after the hold"
wait_until 60 fault_has "$fault_m211" "$work/b-above.jsonl" || fail "B: the county's record did not come down after the hold"
ok "B: catch-up both ways"
fault_heal_and_check "B (hold up)"

#  --------------------------------------------------------------------------
#  C. Township t11's uplink: what its parent sends is held, past the peer
#  timeout

proxy_ctl "$fault_t11" hold down >/dev/null; fault_count=$((fault_count + 1))
hold_at=$(date +%s%N)
fault_draft c-above facility "$fault_k1" "$fault_k1"
fault_put fg "$fault_k1" "$work/c-above.jsonl" || fail "C: the county's facility was not acknowledged"
fault_draft c-below elder "$fault_m111"
fault_put fg "$fault_m111" "$work/c-below.jsonl" || fail "C: the elder below was not acknowledged"
wait_until "$wait_s" fault_disconnected "$fault_t11" "$fault_k1" \
    || fail "C: township t11 still reports its parent connected ${wait_s}s into the hold"
ok "C: the township reports its parent silent ($(( ($(date +%s%N) - hold_at) / 1000000 )) ms into the hold)"
absent_at "$fault_t11" "$work/c-above.jsonl" "C: the county's facility (the held direction)"
proxy_ctl "$fault_t11" pass >/dev/null
ok "C: held $(( ($(date +%s%N) - hold_at) / 1000000 )) ms; released"
wait_until 60 fault_has "$fault_m111" "$work/c-above.jsonl" || fail "C: the county's facility did not come down after the hold"
wait_until 60 fault_has "$fault_city" "$work/c-below.jsonl" || fail "C: m111's elder did not go up after the hold"
ok "C: catch-up both ways"
fault_heal_and_check "C (hold down)"

#  --------------------------------------------------------------------------
#  D. A cut shorter than the peer timeout, with the writers on; then,
#  with them stopped, a blip (every connection of two uplinks reset once)
#  in the middle of a bulk write

proxy_ctl "$fault_k2" cut >/dev/null; fault_count=$((fault_count + 1))
fault_draft d-short elder "$fault_m211"
fault_put fg "$fault_m211" "$work/d-short.jsonl" || fail "D: the elder during the short cut was not acknowledged"
sleep 1      #  the short cut's length (a fault, not a check)
proxy_ctl "$fault_k2" pass >/dev/null
wait_until 60 fault_has "$fault_city" "$work/d-short.jsonl" || fail "D: the elder did not go up after the short cut"
ok "D: a 1 s cut: the elder written meanwhile reached the city"
fault_heal_and_check "D (short cut)"
fault_writers_stop

city_m211 () {
    "$HUTONG" export --store "$(node_store "$fault_city")" --kind elder --region "$fault_m211" 2>/dev/null \
        | grep -c . || true
}
"$python" "$here/fault_writes.py" elders "$work/pool.jsonl" "$fault_m211" 1200 --skip 6550 --batch 100000 \
    > "$work/d-bulk.jsonl"
before=$(city_m211)
start_bg bulk "$work/bulk.log" fault_put bulk "$fault_m211" "$work/d-bulk.jsonl"
#  Reset both uplinks on its way as soon as some of it reached the city
bulk_arriving () { [ "$(city_m211)" -gt "$before" ]; }
wait_until 60 bulk_arriving || fail "D: none of the bulk reached the city within 60 s"
at_reset=$(( $(city_m211) - before ))
proxy_ctl "$fault_t21" reset >/dev/null; proxy_ctl "$fault_k2" reset >/dev/null
fault_count=$((fault_count + 2))
rc=0; wait_until 60 bg_gone bulk || rc=1; stop_bg bulk || rc=$?
[ "$rc" = 0 ] || fail "D: the bulk put was not acknowledged (exit $rc)"
fault_draft d-city credit "$fault_m211" "$fault_city"
fault_put fg "$fault_city" "$work/d-city.jsonl" || fail "D: the city's credit record was not acknowledged"
ok "D: both uplinks above m211 reset when the city held $at_reset (just before) of a bulk of 1200 elders"
fault_case_converge "D (blip)"

fault_converge "the end" 60 --histories 30
fault_all_alive
for r in "$fault_k1" "$fault_k2" "$fault_t11" "$fault_t21"; do
    echo "# proxy $r: $(proxy_ctl "$r" stats)"
done
echo "# time to converge after each case: $(IFS=';'; echo "${case_times[*]}")"
echo "# scenario_fault_link: faults $fault_count, $(( $(date +%s) - fault_started_at )) s"
fault_converge_selftest
scenario_done=1
