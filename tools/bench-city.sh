#!/usr/bin/env bash
#  Scale benchmark: a whole city on 127.0.0.1, shaped like Qingyuan's
#  tree from `hutong gen --regions` (the city, its 8 counties and their
#  85 townships as hutongd nodes; communities have no node, their elders
#  are written at their township). Each township signs and stores its
#  share of the elders (`hutong put --store`, as a township's own writer
#  does); the script times until the city holds every one, printing the
#  city's count and the resident memory of each tier as it goes, then
#  the records/s, each tier's memory and disk, and whether any peer was
#  dropped as silent.
#  Usage: tools/bench-city.sh [--quick] [BUILD_DIR] [ELDERS]
#    --quick     20000 elders (ELDERS, if given, wins)
#    ELDERS      elders in the whole city (default 670000)
#  Environment: BENCH_TIMEOUT_S (default 3600) gives up waiting after
#  that long; BENCH_PUT_JOBS (default 2) townships written at once;
#  BENCH_SAMPLE_S (default 5) seconds between progress lines.
#  Exit 0 if the city converged, 1 if not in time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
elders=""
if [ "${1:-}" = --help ]; then sed -n '2,17p' "$0" | sed 's/^#  \{0,1\}//'; exit 0; fi
if [ "${1:-}" = --quick ]; then elders=20000; shift; fi
build="$(cd "${1:-$root/build}" && pwd)"
elders="${2:-${elders:-670000}}"
timeout_s="${BENCH_TIMEOUT_S:-3600}"
jobs="${BENCH_PUT_JOBS:-2}"
sample_s="${BENCH_SAMPLE_S:-5}"
export HUTONG="$build/tools/hutong" HUTONGD="$build/node/hutongd"
#  The network's own timeouts, not the scenarios' short ones
export NETWORK_HEARTBEAT_MS="${NETWORK_HEARTBEAT_MS:-1000}"
export NETWORK_TIMEOUT_MS="${NETWORK_TIMEOUT_MS:-5000}"
export NETWORK_LOG_LEVEL="${NETWORK_LOG_LEVEL:-info}"
source "$root/integration/lib.sh"
source "$root/integration/network.sh"
put_pids=()
s_stop_puts () {
    local pid
    for pid in "${put_pids[@]+"${put_pids[@]}"}"; do kill "$pid" 2>/dev/null || true; done
}
cleanup_hooks=("s_stop_puts" "${cleanup_hooks[@]}")

#  The tree: city, counties, townships (in start order, parents first)
"$HUTONG" gen --regions > regions.jsonl
city="$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["tier"] == "city": print(r["region"]); break' regions.jsonl)"
network_add "$city" "" city
counties=() townships=()
while read -r tier region parent; do
    network_add "$region" "$parent" "$region"
    if [ "$tier" = county ]; then counties+=("$region"); else townships+=("$region"); fi
done < <(python3 -c 'import json,sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for tier in ("county", "township"):
    for r in rows:
        if r["tier"] == tier: print(r["tier"], r["region"], r["parent"])' regions.jsonl)
echo "# network: 1 city, ${#counties[@]} counties, ${#townships[@]} townships; $elders elders"

#  Each township's share, made before anything runs
per=$(( elders / ${#townships[@]} )) extra=$(( elders % ${#townships[@]} )) index=0
for township in "${townships[@]}"; do
    count=$(( per + (index < extra ? 1 : 0) )); index=$((index + 1))
    "$HUTONG" gen --region "$township" --elders "$count" --facilities 0 --credit 0 \
        > "$township.jsonl"
done

#  Elders are keyed by their ID numbers, and the generator deals a few
#  numbers out twice in different townships: the city holds each once
distinct=$(cat "${townships[@]/%/.jsonl}" | python3 -c 'import json,sys
print(len({json.loads(l)["fields"]["id_no"] for l in sys.stdin}))')
echo "# $distinct distinct elders (ID numbers) among them"

start_s=$SECONDS
network_start
network_wait_connected 300
echo "# $(( ${#network_regions[@]} )) nodes started and connected in $((SECONDS - start_s)) s"

#  rss_mib REGION [FIELD]: the node's resident memory in MiB (FIELD
#  RssAnon: its heap alone, without the store's mapped pages, which are
#  page cache the kernel maps 16 at a time around each page read)
rss_mib () { awk -v f="${2:-VmRSS}:" '$1 == f {printf "%.0f", $2 / 1024}' "/proc/$(node_pid "$1")/status"; }
#  tier_rss [FIELD] REGIONS...: "max/mean" resident MiB over them (FIELD
#  as for rss_mib, when it names one)
tier_rss () {
    local field=VmRSS region sum=0 max=0 value
    case "$1" in Rss*|Vm*) field=$1; shift ;; esac
    for region in "$@"; do
        value=$(rss_mib "$region" "$field"); sum=$((sum + value)); (( value > max )) && max=$value
    done
    echo "$max/$(( sum / $# ))"
}
#  city_elders: what the city's store counts (a reader of its own)
city_elders () {
    "$HUTONG" status --json --node "$(node_client "$city")" --node-key "$work/$city.key.pub" \
        --key "$work/$city.key" --timeout 30000 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"]["elder"])' \
        2>/dev/null || echo "?"
}
peak_city=0 peak_county=0 peak_township=0 heap_city=0 heap_county=0 heap_township=0
#  progress LABEL: one line of figures, keeping the peaks
progress () {
    local c k t
    c=$(rss_mib "$city"); k=$(tier_rss "${counties[@]}"); t=$(tier_rss "${townships[@]}")
    (( c > peak_city )) && peak_city=$c
    (( ${k%/*} > peak_county )) && peak_county=${k%/*}
    (( ${t%/*} > peak_township )) && peak_township=${t%/*}
    local h
    h=$(tier_rss RssAnon "$city"); (( ${h%/*} > heap_city )) && heap_city=${h%/*}
    h=$(tier_rss RssAnon "${counties[@]}"); (( ${h%/*} > heap_county )) && heap_county=${h%/*}
    h=$(tier_rss RssAnon "${townships[@]}"); (( ${h%/*} > heap_township )) && heap_township=${h%/*}
    printf '%6d s  %-8s city holds %8s elders  RSS MiB city %5d  county max/mean %s  township max/mean %s\n' \
        $((SECONDS - put_start)) "$1" "$held" "$c" "$k" "$t"
}

put_start=$SECONDS
held=0
pending=("${townships[@]}")
last_sample=$SECONDS
while :; do
    #  Keep $jobs puts running
    running=()
    for pid in "${put_pids[@]+"${put_pids[@]}"}"; do
        if kill -0 "$pid" 2>/dev/null; then running+=("$pid")
        else wait "$pid" || fail "a township's put failed (pid $pid)"; fi
    done
    put_pids=("${running[@]+"${running[@]}"}")
    while [ ${#put_pids[@]} -lt "$jobs" ] && [ ${#pending[@]} -gt 0 ]; do
        township="${pending[0]}"; pending=("${pending[@]:1}")
        "$HUTONG" put --store "$(node_store "$township")" --key "$township.key" --quiet \
            "$township.jsonl" &
        put_pids+=($!)
    done
    if [ ${#put_pids[@]} -eq 0 ] && [ ${#pending[@]} -eq 0 ]; then break; fi
    if (( SECONDS - last_sample >= sample_s )); then
        held=$(city_elders); progress writing; last_sample=$SECONDS
    fi
    sleep 0.2
done
put_s=$((SECONDS - put_start))
echo "# every township's elders written in $put_s s"

converged=""
while :; do
    held=$(city_elders)
    if [ "$held" = "$distinct" ]; then converged=$((SECONDS - put_start)); break; fi
    (( SECONDS - put_start < timeout_s )) || break
    progress syncing
    sleep "$sample_s"
done
progress done
silent=$(cat "$work"/*.log | grep -ac "silent" || true)
stale=$("$HUTONG" status --json --node "$(node_client "$city")" --node-key "$work/$city.key.pub" \
    --key "$work/$city.key" --timeout 30000 2>/dev/null \
    | python3 -c 'import json,sys; print(sum(p["stale_batches"] for p in json.load(sys.stdin)["peers"]))' \
    2>/dev/null || echo "?")
echo
if [ -n "$converged" ]; then
    echo "city holds all $distinct elders $converged s after the first put ($((converged - put_s)) s after the last)"
    echo "end to end: $(( distinct / (converged > 0 ? converged : 1) )) records/s"
else
    echo "city holds $held of $distinct elders after $timeout_s s: not converged"
fi
echo "peak RSS MiB while ingesting: city $peak_city, county $peak_county, township $peak_township"
echo "peak heap (RssAnon) MiB while ingesting: city $heap_city, county $heap_county, township $heap_township"
#  Memory at rest: a node gives its mapped pages back after a quiet spell
sleep 5
held=$(city_elders); progress "at rest"
#  disk_mib REGIONS...: "max/mean" MiB of their stores
disk_mib () {
    local region sum=0 max=0 value
    for region in "$@"; do
        value=$(du -sm "$(node_store "$region")" | awk '{print $1}')
        sum=$((sum + value)); (( value > max )) && max=$value
    done
    echo "$max/$(( sum / $# ))"
}
echo "disk MiB (max/mean): city $(disk_mib "$city"), county $(disk_mib "${counties[@]}"), township $(disk_mib "${townships[@]}")"
echo "log lines naming a silent peer: $silent; batches the city dropped as stale: $stale"
for region in "$city" "${counties[@]}"; do
    grep -a "silent" "$(node_log "$region")" | head -n 3 | sed "s/^/  $region: /" || true
done
[ -n "$converged" ]
