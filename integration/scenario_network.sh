#!/usr/bin/env bash
#  Network: fifteen hutongd nodes on 127.0.0.1 — one city, two counties,
#  four townships, eight communities — each with its own key, certificate
#  (issued by its parent) and store. Records written at every tier, through
#  the store and through a node's client socket, must end up at exactly the
#  nodes the holder rule names, at identical versions. Then: one facility
#  updated at two tiers at once converges on one winner with the loser in
#  history; a township stopped while its community and county write catches
#  up on exactly what it missed; a forged record, an out-of-scope write, an
#  uncertified client and an uncertified node are refused, and the network
#  keeps working after each.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
: "${HUTONGD:?set HUTONGD to the hutongd binary}"
started_at=$(date +%s)
holders () { python3 "$here/holders.py" "$@"; }

#  --------------------------------------------------------------------------
#  The tree

city=441800000000
counties=(441802000000 441803000000)
townships=(441802001000 441802002000 441803100000 441803101000)
communities=(441802001001 441802001002 441802002001 441802002002
             441803100001 441803100200 441803101001 441803101200)
nodes=("$city" "${counties[@]}" "${townships[@]}" "${communities[@]}")

source "$here/network.sh"
show_logs_on_failure

#  fail_later WHAT: a failed check that later checks do not depend on; the
#  scenario goes on and fails at its end
deferred=()
fail_later () { echo "not ok - $*" >&2; deferred+=("$*"); }

#  --------------------------------------------------------------------------
#  Keys, certificates (each parent's for its children), stores holding what
#  the holder rule gives them, configurations, nodes started top-down

NETWORK_HEARTBEAT_MS=250 NETWORK_TIMEOUT_MS=3000 NETWORK_RECONNECT_MAX_MS=500
for r in "${nodes[@]}"; do network_add "$r" "$(region_parent "$r")"; done
ok "15 keys; the city's root certificate and each parent's certificate for its children"
network_start
#  The nodes run, so --check must find each store locked (and its ports
#  taken); everything else must pass
for r in "${nodes[@]}"; do
    "$HUTONGD" --config "$r.cfg" --check --json >"$r.check.json" 2>"$r.check.err" || true
    python3 -c '
import json, sys
failed = sorted(c["check"] for c in json.load(open(sys.argv[1]))["checks"] if not c["ok"])
sys.exit(0 if "lock" in failed and set(failed) <= {"lock", "listen", "client"} else 1)' \
        "$r.check.json" || fail "hutongd --check on $r.cfg: $(cat "$r.check.json" "$r.check.err")"
done
ok "15 stores hold their certificate chains; every configuration passes --check but for the running node"

#  The table holders.py reads: region, parent, store, key, public key, client
: > nodes.tsv
for r in "${nodes[@]}"; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "${network_parent_of[$r]:--}" "$(node_store "$r")" \
        "$work/$r.key" "$work/$r.key.pub" "$(node_client "$r")" >> nodes.tsv
done
if ! wait_until 30 holders connected nodes.tsv --quiet; then
    holders connected nodes.tsv || true
    fail "the 15 nodes did not all connect to their parents and children within 30 s"
fi
for r in "${nodes[@]}"; do node_alive "$r" || fail "hutongd $r exited"; done
ok "15 nodes running; every node reports its parent and children connected"

#  wait_converged SECONDS EXPECT WHAT: every node holds exactly what the
#  holder rule gives it, and the network holds EXPECT (kind=N,...) entities
wait_converged () {
    local seconds="$1" expect="$2" what="$3" t0 summary
    t0=$(date +%s%N)
    if ! wait_until "$seconds" holders converge nodes.tsv --expect "$expect" --quiet; then
        holders converge nodes.tsv --expect "$expect" >&2 || true
        fail "$what: the network did not converge within ${seconds}s"
    fi
    summary="$(holders converge nodes.tsv --expect "$expect")"
    echo "# $summary"
    ok "$what: every node holds exactly its records at identical versions ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
}

#  node_status REGION FILE: the node's status JSON into FILE
node_status () { holders status nodes.tsv "$1" > "$2" || fail "$1 does not answer status"; }

#  put_store NODE FILE WHAT [KEY-OF]: sign FILE with NODE's key (or the key
#  of KEY-OF) into NODE's store; every line must be stored
put_store () {
    local node="$1" file="$2" what="$3" signer="${4:-$1}" want
    want=$(grep -c . "$file")
    "$HUTONG" put --store "$node.store" --key "$signer.key" "$file" > put.out 2> put.err \
        || fail "$what: put --store $node failed: $(cat put.out put.err)"
    expect_eq "$(json_get put.out "j['stored']")" "$want" "$what"
}

#  put_node NODE FILE WHAT [SIGNER]: send FILE over CurveZMQ to NODE's
#  client socket, signed by SIGNER's key (default NODE's)
put_node () {
    local node="$1" file="$2" what="$3" signer="${4:-$1}" rc=0
    "$HUTONG" put --node "${network_client_ep[$node]}" --node-key "$node.key.pub" --key "$signer.key" \
        --idkey net.idkey "$file" > put.out 2> put.err || rc=$?
    [ "$rc" = 0 ] || fail "$what: put --node $node exited $rc: $(cat put.out put.err)"
    ok "$what"
}

#  --------------------------------------------------------------------------
#  Writes at every tier

"$HUTONG" gen --seed 11 --elders 260 > pool-elders.jsonl
"$HUTONG" gen --seed 11 --facilities 40 --credit 60 > pool-records.jsonl
grep '"kind":"facility"' pool-records.jsonl | grep '"uscc"' > pool-facilities.jsonl
grep '"kind":"credit"' pool-records.jsonl > pool-credit.jsonl
[ "$(grep -c . pool-facilities.jsonl)" -ge 30 ] || fail "gen printed too few facilities with a USCC"
next_elder=0; next_facility=0; next_credit=0

#  elders_in REGION COUNT: the next COUNT elder drafts, moved to REGION
elders_in () {
    sed -n "$((next_elder + 1)),$((next_elder + $2))p" pool-elders.jsonl \
        | holders set region="$1" scope="$1" fields.hukou_region="$1" fields.residence_region="$1"
    next_elder=$((next_elder + $2))
}
#  facility_in REGION SCOPE: the next facility draft, located in REGION
facility_in () {
    next_facility=$((next_facility + 1))
    sed -n "${next_facility}p" pool-facilities.jsonl | holders set region="$1" scope="$2"
}
#  credit_in REGION ISSUER [TYPE]: the next credit draft (of TYPE), about a
#  subject in REGION, issued (and scoped) by ISSUER's region
credit_in () {
    local line
    if [ -n "${3:-}" ]; then
        line="$(grep "\"type\":\"$3\"" pool-credit.jsonl | sed -n 1p)"
        [ -n "$line" ] || fail "gen printed no $3 credit record"
        echo "$line" | holders set region="$1" scope="$2" fields.issuer_region="$2" \
            fields.doc_no="city-$3-$RANDOM"
    else
        next_credit=$((next_credit + 1))
        sed -n "${next_credit}p" pool-credit.jsonl | holders set region="$1" scope="$2" fields.issuer_region="$2"
    fi
}

#  Communities: 25 elders each. Six through their own store, one through its
#  own client socket, one (a village) through its township's client socket
for c in "${communities[@]}"; do elders_in "$c" 25 > "elders-$c.jsonl"; done
for c in 441802001001 441802001002 441802002001 441802002002 441803100001 441803101001; do
    put_store "$c" "elders-$c.jsonl" "community $c stores 25 elders"
done
put_node 441803100200 elders-441803100200.jsonl "village 441803100200 puts 25 elders through its client socket"
put_node 441803101000 elders-441803101200.jsonl "village 441803101200 puts 25 elders through its township's client socket" 441803101200

#  Townships: 3 facilities each (the township itself and its communities),
#  scoped to the township: a township may not publish county-wide
for t in "${townships[@]}"; do
    : > "facilities-$t.jsonl"
    facility_in "$t" "$t" >> "facilities-$t.jsonl"
    for c in "${communities[@]}"; do
        [ "$(region_parent "$c")" = "$t" ] && facility_in "$c" "$t" >> "facilities-$t.jsonl"
    done
done
for t in 441802001000 441802002000 441803101000; do
    put_store "$t" "facilities-$t.jsonl" "township $t stores 3 facilities"
done
put_node 441803100000 facilities-441803100000.jsonl "township 441803100000 puts 3 facilities through its client socket"
facility_in 441802002001 441802000000 > township-wide.jsonl     #  refused: not counted
expect_exit 1 "a township publishing a facility county-wide is refused" -- \
    "$HUTONG" put --store 441802002000.store --key 441802002000.key township-wide.jsonl
grep -q '"out_of_scope"' <("$HUTONG" quarantine --json --store 441802002000.store) \
    || fail "the county-wide facility signed by a township is not quarantined as out_of_scope"
ok "the township's county-wide facility is quarantined as out_of_scope"

#  Counties: 3 facilities scoped county-wide, 4 credit records about
#  subjects in their townships and communities
for k in "${counties[@]}"; do
    { facility_in "$k" "$k"
      for t in "${townships[@]}"; do [ "$(region_parent "$t")" = "$k" ] && facility_in "$t" "$k"; done
    } > "facilities-$k.jsonl"
    : > "credit-$k.jsonl"
    for c in "${communities[@]}"; do
        [ "${c:0:6}" = "${k:0:6}" ] && credit_in "$c" "$k" >> "credit-$k.jsonl"
    done
    put_store "$k" "facilities-$k.jsonl" "county $k stores 3 county-wide facilities"
    put_store "$k" "credit-$k.jsonl" "county $k stores 4 credit records"
done

#  The city: a blacklist entry and a penalty, scoped city-wide
credit_in 441803101001 "$city" list_entry > credit-city-list.jsonl
credit_in 441802002002 "$city" penalty > credit-city-penalty.jsonl
put_store "$city" credit-city-list.jsonl "the city stores a list entry scoped city-wide"
put_node "$city" credit-city-penalty.jsonl "the city puts a penalty scoped city-wide through its client socket"

elders=200; facilities=18; credits=10
expect="cert=15,elder=$elders,facility=$facilities,credit=$credits"
wait_converged 60 "$expect" "writes at all four tiers"

list_doc="$(json_get credit-city-list.jsonl "j['fields']['doc_no']")"
list_key="$(holders keyof "$city.store" credit doc_no "$list_doc")"
for r in "${nodes[@]}"; do
    "$HUTONG" get --store "$r.store" credit "$list_key" >/dev/null 2>&1 \
        || fail "the city's list entry $list_key is missing at $r"
done
ok "the city's list entry reached all 15 nodes"

#  --------------------------------------------------------------------------
#  One facility updated at a township and at its county at once

facility_in 441803100001 441803100000 > concurrent-base.jsonl
uscc="$(json_get concurrent-base.jsonl "j['fields']['uscc']")"
holders set fields.name=太和镇仁民社区颐养院 fields.staff:=7 < concurrent-base.jsonl > concurrent-a.jsonl
holders set fields.name=清新区太和颐养中心 fields.staff:=9 < concurrent-base.jsonl > concurrent-b.jsonl
"$HUTONG" put --store 441803100000.store --key 441803100000.key concurrent-a.jsonl > put-a.out 2>&1 \
    || fail "township version of the facility: $(cat put-a.out)"
"$HUTONG" put --store 441803000000.store --key 441803000000.key concurrent-b.jsonl > put-b.out 2>&1 \
    || fail "county version of the facility: $(cat put-b.out)"
ok "facility $uscc written at township 441803100000 and county 441803000000 back to back"
facilities=$((facilities + 1)); expect="cert=15,elder=$elders,facility=$facilities,credit=$credits"
wait_converged 30 "$expect" "after the concurrent update"
facility_key="$(holders keyof 441803100000.store facility uscc "$uscc")"
holders concurrent nodes.tsv facility "$facility_key" 441803100000 441803000000 > concurrent.out \
    || { cat concurrent.out >&2; fail "the concurrent update did not settle on one winner with the loser in history"; }
sed 's/^/# /' concurrent.out
ok "every holder has the same winner; the losing version is in history"

#  --------------------------------------------------------------------------
#  A township stops; its community and its county write; it comes back

down=441802001000
node_status "$down" status-before.json
echo "# $down before stopping: received $(json_get status-before.json \
    "' '.join('%s=%d' % (p['region'], p['received']) for p in j['peers'])")"
rc=0; network_stop_node "$down" || rc=$?
expect_eq "$rc" 0 "township $down stops cleanly on SIGTERM"

elders_in 441802001001 5 > down-community.jsonl
put_store 441802001001 down-community.jsonl "community 441802001001 stores 5 elders while its township is down"
{ facility_in 441802001002 441802000000       #  held by the township
  facility_in 441802002001 441802000000       #  held by the township (county-wide)
  facility_in 441802002002 441802002000       #  not held: the other township's scope
} > down-county-facilities.jsonl
credit_in 441802001001 441802000000 > down-county-credit.jsonl
elders_in 441802002001 1 > down-county-elder.jsonl   #  not held: another township's elder
put_store 441802000000 down-county-facilities.jsonl "county stores 3 facilities while the township is down"
put_store 441802000000 down-county-credit.jsonl "county stores a credit record while the township is down"
put_store 441802000000 down-county-elder.jsonl "county stores an elder of the other township while the township is down"
cat down-community.jsonl down-county-facilities.jsonl down-county-credit.jsonl down-county-elder.jsonl > down-all.jsonl
missed="$(holders holds "$down" down-all.jsonl)"
echo "# $(grep -c . down-all.jsonl) records written while $down was down; it should hold $missed of them"
elders=$((elders + 6)); facilities=$((facilities + 3)); credits=$((credits + 1))
expect="cert=15,elder=$elders,facility=$facilities,credit=$credits"

#  Meanwhile its neighbours keep serving: each answers status and, once
#  peer_timeout_ms has passed, reports the township disconnected
#  peer_down NODE PEER: NODE answers status and shows PEER not connected
peer_down () {
    : > peer-down.json
    holders status nodes.tsv "$1" > peer-down.json 2>/dev/null || return 1
    [ "$(json_get peer-down.json "any(p['region'] == '$2' and p['connected'] for p in j['peers'])")" = False ]
}
for n in 441802001001 441802001002 441802000000; do
    if wait_until 10 peer_down "$n" "$down"; then
        ok "$n answers status while $down is down and reports it disconnected"
    elif [ ! -s peer-down.json ]; then
        fail_later "$n does not answer status while its neighbour $down is down"
    else
        fail_later "$n still reports $down connected 10 s after it stopped"
    fi
done

network_start_node "$down"
wait_until 20 holders connected nodes.tsv --quiet || { holders connected nodes.tsv || true; fail "$down did not reconnect to its parent and children"; }
ok "township $down restarted and reconnected"
wait_converged 30 "$expect" "after the township's restart"
node_status "$down" status-after.json
echo "# $down after restarting: received $(json_get status-after.json \
    "' '.join('%s=%d' % (p['region'], p['received']) for p in j['peers'])")"
expect_eq "$(json_get status-after.json "sum(p['received'] for p in j['peers'])")" "$missed" \
    "the restarted township received exactly the $missed records it missed (no full re-send)"

#  --------------------------------------------------------------------------
#  Hostile input; after each, the network still carries new writes

#  elder_reaches_city COMMUNITY WHAT: one new elder there must reach the city
elder_reaches_city () {
    local c="$1" what="$2" id key t0
    elders_in "$c" 1 > live.jsonl
    elders=$((elders + 1))
    t0=$(date +%s%N)
    "$HUTONG" put --store "$c.store" --key "$c.key" live.jsonl > put.out 2>&1 || fail "put at $c: $(cat put.out)"
    id="$(json_get live.jsonl "j['fields']['id_no']")"
    key="$(holders keyof "$c.store" elder id_no "$id")"
    wait_until 20 "$HUTONG" get --store "$city.store" elder "$key" >/dev/null 2>&1 \
        || fail "$what: a new elder at $c did not reach the city within 20 s"
    ok "$what: a new elder at $c reached the city ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
}

#  (a) A forged record: an exported elder with its name changed, sig kept
victim=441802001002
"$HUTONG" export --store "$victim.store" --kind elder --region "$victim" 2>/dev/null | sed -n 1p > original.jsonl
holders set fields.name=冒名顶替 < original.jsonl > forged.jsonl
victim_key="$(json_get original.jsonl "j['key']")"
expect_exit 1 "a forged elder is refused by the community's store" -- \
    "$HUTONG" put --store "$victim.store" forged.jsonl
"$HUTONG" quarantine --json --store "$victim.store" > quarantine.jsonl
grep -q '"bad_signature"' quarantine.jsonl || fail "the forged elder is not quarantined as bad_signature: $(cat quarantine.jsonl)"
ok "the forged elder is quarantined as bad_signature"
"$HUTONG" get --store "$victim.store" elder "$victim_key" > current.json
expect_eq "$(json_get current.json "j['sig']")" \
    "$(json_get original.jsonl "j['sig']")" "the community still holds the genuine version"
elder_reaches_city 441802001001 "after the forged record"

#  (a') Valid signature, wrong author: a community signs its neighbour's
#  elder and sends it to their township's client socket
township=441802001000
node_status "$township" q-before.json
before="$(json_get q-before.json "j['quarantine'].get('out_of_scope', 0)")"
elders_in 441802001002 1 > foreign.jsonl     #  refused: not counted
expect_exit 1 "an elder of 441802001002 signed by community 441802001001 is refused over the network" -- \
    "$HUTONG" put --node "${network_client_ep[$township]}" --node-key "$township.key.pub" \
    --key 441802001001.key --idkey net.idkey foreign.jsonl
node_status "$township" q-after.json
expect_eq "$(json_get q-after.json "j['quarantine'].get('out_of_scope', 0)")" "$((before + 1))" \
    "township $township quarantined the write as out_of_scope"
elder_reaches_city 441802002002 "after the out-of-scope write"

#  (b) A client whose key no certificate names
"$HUTONG" keygen --out stranger.key --name stranger >/dev/null
node_status "$city" refused-before.json
refused_before="$(json_get refused-before.json "j['refused_connections']")"
expect_exit 3 "an uncertified key gets no status from the city" -- \
    "$HUTONG" status --node "${network_client_ep[$city]}" --node-key "$city.key.pub" --key stranger.key --timeout 1000
city_refused_more () { node_status "$city" refused-now.json; [ "$(json_get refused-now.json "j['refused_connections']")" -gt "$refused_before" ]; }
wait_until 10 city_refused_more || fail "the city's refused_connections did not grow past $refused_before"
ok "the city counted the refused connection ($(json_get refused-now.json "j['refused_connections']"))"
elder_reaches_city 441803100001 "after the uncertified client"

#  (b') A node whose key no certificate names, configured as a county's child
rogue_county=441803000000
"$HUTONG" keygen --out rogue.key --name rogue >/dev/null
"$HUTONG" init --store rogue.store --region 441803102000 --anchor "$city.key.pub" --idkey net.idkey >/dev/null
cat > rogue.cfg <<EOF
node
    name = rogue
    region = 441803102000
    key = $work/rogue.key
    anchor = $work/$city.key.pub
    store = $work/rogue.store
parent
    endpoint = ${network_node_ep[$rogue_county]}
    key = $work/$rogue_county.key.pub
limits
    heartbeat_ms = 250
    peer_timeout_ms = 3000
EOF
node_status "$rogue_county" rogue-before.json
rogue_before="$(json_get rogue-before.json "j['refused_connections']")"
start_bg rogue rogue.log "$HUTONGD" --config rogue.cfg
county_refused_more () { node_status "$rogue_county" rogue-now.json; [ "$(json_get rogue-now.json "j['refused_connections']")" -gt "$rogue_before" ]; }
wait_until 15 county_refused_more || fail "county $rogue_county did not refuse the rogue node"
ok "county $rogue_county refused the uncertified node ($(json_get rogue-now.json "j['refused_connections']") refused)"
expect_eq "$(json_get rogue-now.json "[p['region'] for p in j['peers'] if p['connected'] and p['region'] == '441803102000']")" "[]" \
    "the rogue node is not among the county's connected peers"
expect_eq "$("$HUTONG" export --store rogue.store 2>/dev/null | grep -c . || true)" 0 "the rogue node's store received nothing"
rc=0; stop_bg rogue 5 || rc=$?
if [ "$rc" = 0 ]; then ok "the refused rogue node stops cleanly on SIGTERM"
else fail_later "the refused rogue node did not stop on SIGTERM within 5 s (exit $rc)"; fi
elder_reaches_city 441803101200 "after the rogue node"

#  Everything settles once more
expect="cert=15,elder=$elders,facility=$facilities,credit=$credits"
wait_converged 30 "$expect" "after the hostile input"
for r in "${nodes[@]}"; do node_alive "$r" || fail "hutongd $r died"; done
ok "all 15 nodes still running"

#  Stop the tree from the leaves up: each node exits 0 on SIGTERM
unclean=()
for r in "${communities[@]}" "${townships[@]}" "${counties[@]}" "$city"; do
    rc=0; network_stop_node "$r" || rc=$?
    [ "$rc" = 0 ] || unclean+=("$r:$rc")
done
if [ "${#unclean[@]}" = 0 ]; then ok "all 15 nodes stop cleanly on SIGTERM, leaves first"
else fail_later "nodes did not stop cleanly on SIGTERM (region:exit): ${unclean[*]}"; fi
debug_lines="$( (grep -cE '^[0-9T:.+-]+ D: ' ./*.log || true) | awk -F: '{ n += $NF } END { print n + 0 }')"
if [ "$debug_lines" = 0 ]; then ok "no debug lines in the logs at log/level = info"
else fail_later "$debug_lines debug lines (D:) in the logs although log/level = info"; fi

[ "${#deferred[@]}" = 0 ] || fail "${#deferred[@]} check(s) failed: $(printf '%s; ' "${deferred[@]}")"
scenario_done=1
echo "# scenario_network: $(( $(date +%s) - started_at )) s"
