#!/usr/bin/env bash
#  Monitoring: a city, a county and two townships, each serving /metrics
#  and /healthz on 127.0.0.1. The exposition parses (HELP and TYPE for
#  every sample, numeric values) and agrees with what was written and with
#  the node's STATUS; /healthz is ok; the HTTP server turns away a request
#  over its connection limit and closes idle connections. Then a township
#  stops: the county's /healthz turns degraded naming it, `hutong status`
#  shows the warning and a LAST SEEN that grows, and `status --tree` at
#  the city shows every node.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
use_debian_python
source "$here/network.sh"
show_logs_on_failure
helper () { python3 "$here/metrics_helper.py" "$@"; }
holders () { python3 "$here/holders.py" "$@"; }

city=441800000000 county=441802000000 town1=441802001000 town2=441802002000
NETWORK_HEARTBEAT_MS=250 NETWORK_TIMEOUT_MS=2000 NETWORK_RECONNECT_MAX_MS=500
network_config_extra () {
    printf 'metrics\n    listen = 127.0.0.1:0\nhealth\n    unseen_s = 3\n'
}
network_add "$city"
network_add "$county" "$city"
network_add "$town1" "$county"
network_add "$town2" "$county"
network_start
network_wait_connected 30
ok "four nodes started and connected"

#  metrics_url REGION: where the node serves, from its log
metrics_url () {
    local line
    line="$(grep -a "metrics on http://" "$(node_log "$1")" | tail -n 1)"
    [ -n "$line" ] || fail "$1 logged no metrics address"
    sed -E 's|.*(http://[0-9.]+:[0-9]+)/metrics.*|\1|' <<<"$line"
}
county_url="$(metrics_url "$county")"
town_url="$(metrics_url "$town1")"

#  --------------------------------------------------------------------------
#  Records written at a township reach the county; the metrics say so

"$HUTONG" gen --seed 5 --elders 7 \
    | holders set region="$town1" scope="$town1" fields.hukou_region="$town1" \
      fields.residence_region="$town1" > elders.jsonl
written=$(grep -c . elders.jsonl)
"$HUTONG" put --store "$(node_store "$town1")" --key "$town1.key" elders.jsonl > put.out \
    || fail "put at $town1 failed: $(cat put.out)"
network_wait_idle 30

helper scrape "$town_url/metrics" > town.json || fail "the township's /metrics does not parse"
expect_eq "$(json_get town.json "int(j['hutong_records{kind=\"elder\"}'])")" "$written" \
    "the township's hutong_records{kind=elder} is the $written elders written"
helper scrape "$county_url/metrics" > county.json || fail "the county's /metrics does not parse"
node_status "$county" > county-status.json
expect_eq "$(json_get county.json "int(j['hutong_records{kind=\"elder\"}'])")" \
    "$(json_get county-status.json "j['records']['elder']")" \
    "the county's hutong_records{kind=elder} is its STATUS count"
expect_eq "$(json_get county.json "int(j['hutong_records{kind=\"elder\"}'])")" "$written" \
    "the county holds the $written elders"
label="peer=\"$town1\",region=\"$town1\",role=\"child\""
expect_eq "$(json_get county.json "int(j['hutong_peer_lag_records{$label}'])")" 0 \
    "the county's lag toward the township is 0 once idle"
expect_eq "$(json_get county.json "int(j['hutong_peer_connected{$label}'])")" 1 \
    "the county sees the township connected"
expect_eq "$(json_get county.json "int(j['hutong_peer_records_applied_total{$label}'] >= $written)")" 1 \
    "the county applied the township's records"
expect_eq "$(json_get county.json "int(j['hutong_peers_connected'])")" 3 \
    "the county has three peers connected"
expect_eq "$(json_get county.json "int(j['hutong_cert_expiry_seconds'] > 0)")" 1 \
    "the county's certificate has time left"
expect_eq "$(json_get county.json "int(0 < j['hutong_store_used_bytes'] <= j['hutong_store_map_bytes'])")" 1 \
    "store bytes used are within the map"
expect_eq "$(json_get county.json "int(j['hutong_request_duration_seconds_count{command=\"STATUS\"}'] >= 1)")" 1 \
    "the STATUS requests answered are in the latency histogram"

#  A connection held open on the county's client socket is counted, and
#  uncounted once it closes
client_port="${network_client_ep[$county]##*:}"
client_connections () {
    helper scrape "$county_url/metrics" > scrape.json \
        && [ "$(json_get scrape.json "int(j['hutong_client_connections'])")" "$1" "$2" ]
}
exec 5<>"/dev/tcp/127.0.0.1/$client_port"
wait_until 10 client_connections -ge 1 || fail "an open client connection is not counted"
ok "hutong_client_connections counts an open connection"
exec 5>&-
wait_until 10 client_connections -eq 0 || fail "a closed client connection is still counted"
ok "hutong_client_connections drops back to 0 once it closes"

#  --------------------------------------------------------------------------
#  /healthz, unknown paths, the connection bound

healthy () { helper health "$county_url/healthz" > health.out; [ "$(head -1 health.out)" = 200 ]; }
wait_until 20 healthy || fail "the county's /healthz is not ok: $(cat health.out)"
expect_eq "$(sed -n 2p health.out)" "ok" "the county's /healthz says ok"
helper health "$county_url/nothing" > notfound.out
expect_eq "$(head -1 notfound.out)" 404 "an unknown path is 404"
helper hold "$county_url/metrics" 16 > hold.out
expect_eq "$(sed -n 1p hold.out)" "over the limit: 0" \
    "with 16 connections open a 17th is turned away"
expect_eq "$(sed -n 2p hold.out)" "after: 200" "once they close, /metrics answers again"
expect_eq "$(helper idle "$county_url/metrics" 30)" "closed" \
    "the server closes an idle connection"

#  --------------------------------------------------------------------------
#  A township stops

network_stop_node "$town1" || fail "$town1 did not stop cleanly"
unseen () { helper health "$county_url/healthz" > health.out; grep -q "peer_unseen: .*$town1" health.out; }
wait_until 30 unseen || fail "the county's /healthz does not name $town1: $(cat health.out)"
expect_eq "$(head -1 health.out)" 503 "the county's /healthz is 503 with the township gone"
expect_eq "$(sed -n 2p health.out)" "degraded" "and says degraded"
helper health "$county_url/healthz?format=json" > health-json.out
expect_eq "$(sed -n 2p health-json.out | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j["status"], any(w["code"] == "peer_unseen" and w.get("peer") == sys.argv[1] for w in j["warnings"]))' "$town1")" \
    "degraded True" "?format=json names the township's region"

status_table () {
    "$HUTONG" status --node "$(node_client "$county")" --node-key "$county.key.pub" \
        --key "$county.key" --timeout 3000
}
#  seen_s: the township's LAST SEEN in the human table, in seconds
seen_s () { status_table | awk -v r="$town1" '$2 == r { sub(/s$/, "", $5); print $5 }'; }
status_table > table.out
cat table.out
grep -q "warning   peer_unseen: child $town1" table.out \
    || fail "hutong status shows no peer_unseen warning: $(cat table.out)"
ok "hutong status shows the peer_unseen warning"
grep -q "APPLIED" table.out || fail "the status table has no APPLIED column"
ok "the status table has an APPLIED column"
first="$(seen_s)"
grows () { python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) else 1)' "$first" "$(seen_s)"; }
wait_until 10 grows || fail "LAST SEEN of the stopped township does not grow (stays $first s)"
ok "the stopped township's LAST SEEN grows ($first s, then more)"
expect_eq "$(json_get county.json "int(j['hutong_healthy'])")" 1 \
    "hutong_healthy was 1 before the township stopped"
helper scrape "$county_url/metrics" > county2.json
expect_eq "$(json_get county2.json "int(j['hutong_healthy'])")" 0 "hutong_healthy is 0 now"
expect_eq "$(json_get county2.json "int(j['hutong_warnings{code=\"peer_unseen\"}'])")" 1 \
    "hutong_warnings{code=peer_unseen} is 1"

#  --------------------------------------------------------------------------
#  --tree at the city: every node, the county's children from its own status

printf '# the county\n%s %s\n' "$(node_client "$county")" "$county.key.pub" > nodes.txt
"$HUTONG" status --tree --node "$(node_client "$city")" --node-key "$city.key.pub" \
    --key "$city.key" --nodes nodes.txt > tree.out || fail "status --tree failed"
for r in "$city" "$county" "$town1" "$town2"; do
    grep -q " $r " tree.out || fail "status --tree does not show $r: $(cat tree.out)"
done
ok "status --tree at the city shows all four nodes"
grep "$county" tree.out | grep -q DEGRADED || fail "the tree does not show the county degraded"
ok "the tree shows the county degraded"
cat tree.out
"$HUTONG" status --tree --json --node "$(node_client "$city")" --node-key "$city.key.pub" \
    --key "$city.key" --nodes nodes.txt > tree.json
expect_eq "$(json_get tree.json "[c['connected'] for c in j['children'][0]['children'] if c['region'] == '$town1'][0]")" \
    "False" "in --tree --json the stopped township is not connected"
printf 'tcp://127.0.0.1:1\n' > bad-nodes.txt
expect_exit 2 "a --nodes line without a key is a usage error" -- "$HUTONG" status --tree \
    --nodes bad-nodes.txt --node "$(node_client "$city")" --node-key "$city.key.pub" --key "$city.key"
expect_exit 2 "--nodes without --tree is a usage error" -- "$HUTONG" status --nodes nodes.txt \
    --node "$(node_client "$city")" --node-key "$city.key.pub" --key "$city.key"

scenario_done=1
