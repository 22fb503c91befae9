#!/usr/bin/env bash
#  Bootstrap benchmark: a county node holding N elders (written into its
#  store with `hutong put --store`, each verified there), then an empty
#  city started next to it, timed until it holds all N: records/s, the
#  city's peak resident memory, its CPU and the county's, its disk per
#  record. With several builds, the same county serves an empty city of
#  each build in turn (back to back, one machine state), so a change is
#  measured against its baseline in one run. Binds 127.0.0.1 only; every
#  node is stopped by its PID and the scratch directory removed.
#  Usage: tools/bench-bootstrap.sh [--records N] [--runs K] [BUILD_DIR...]
#    --records N   elders the county holds (default 100000)
#    --runs K      bootstraps per build, alternating builds (default 1)
#    BUILD_DIR     builds whose hutongd runs the city (default: build);
#                  the first also runs the county and writes its store
#  Exit status: 0 figures printed, 1 a step failed, 2 usage error.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
records=100000 runs=1 builds=()
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) sed -n '2,/^set -euo/{/^set/d;s/^#  \{0,1\}//;p}' "$0"; exit 0 ;;
        --records) records="${2:?--records needs a number}"; shift ;;
        --runs) runs="${2:?--runs needs a number}"; shift ;;
        -*) echo "bench-bootstrap: unknown option $1 (--help)" >&2; exit 2 ;;
        *) builds+=("$(cd "$1" && pwd)") ;;
    esac
    shift
done
[[ "$records" =~ ^[1-9][0-9]*$ && "$runs" =~ ^[1-9][0-9]*$ ]] \
    || { echo "bench-bootstrap: --records and --runs take a positive number" >&2; exit 2; }
[ ${#builds[@]} -gt 0 ] || builds=("$root/build")
export HUTONG="${builds[0]}/tools/hutong" HUTONGD="${builds[0]}/node/hutongd"
python=python3; [ -x /usr/bin/python3 ] && python=/usr/bin/python3
source "$root/integration/lib.sh"
source "$root/integration/network.sh"
cleanup_hooks+=("network_stop")

city=441800000000 county=441802000000
network_chain "$city" "$county"
say () { echo "# $*" >&2; }
node_elders () {
    node_status "$1" 2>/dev/null | "$python" -c 'import json, sys; print(json.load(sys.stdin)["records"]["elder"])' 2>/dev/null
}
cpu_ticks () { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
du_bytes () { du -sb "$1" | awk '{print $1}'; }

say "the county's store: $records elders (hutong gen | hutong put --store)"
network_init_store "$county"
t0=$(date +%s%N)
"$HUTONG" gen --elders "$records" --region "$county" --facilities 0 --credit 0 \
    | "$HUTONG" put --store "$(node_store "$county")" --key "$county.key" --quiet >/dev/null \
    || fail "cannot write the county's store"
say "written in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
#  The county dials its parent: the city's endpoint is chosen now, so the
#  county finds each new city where the last one was
network_pick_port city_ep
network_node_ep[$city]="$city_ep"
network_start_node "$county"
want="$(node_elders "$county")"
[ "$want" = "$records" ] || fail "the county holds $want elders, not $records"
tick_hz=$(getconf CLK_TCK)

for ((run = 1; run <= runs; run++)); do
    for build in "${builds[@]}"; do
        #  The city's store is made by its own build's hutong (an older
        #  build does not open a newer layout)
        HUTONGD="$build/node/hutongd" HUTONG="$build/tools/hutong"
        rm -rf "$(node_store "$city")"
        network_init_store "$city"
        empty=$(du_bytes "$(node_store "$city")")
        county_cpu=$(cpu_ticks "$(node_pid "$county")")
        t0=$(date +%s%N)
        network_start_node "$city"
        peak=0
        until held="$(node_elders "$city")" && [ "$held" = "$want" ]; do
            [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 3600 ] || fail "the city did not bootstrap"
            rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$(node_pid "$city")/status" 2>/dev/null || echo 0)"
            [ "${rss:-0}" -gt "$peak" ] && peak="$rss"
            sleep 0.1
        done
        ns=$(( $(date +%s%N) - t0 ))
        city_cpu=$(cpu_ticks "$(node_pid "$city")")
        written=$(awk '/^write_bytes:/ {print $2}' "/proc/$(node_pid "$city")/io" 2>/dev/null || echo 0)
        county_cpu=$(( $(cpu_ticks "$(node_pid "$county")") - county_cpu ))
        network_stop_node "$city" || fail "the city did not stop cleanly"
        disk=$(du_bytes "$(node_store "$city")")
        awk -v b="$build" -v n="$want" -v ns="$ns" -v peak="$peak" -v cc="$city_cpu" \
            -v kc="$county_cpu" -v hz="$tick_hz" -v disk="$disk" -v empty="$empty" -v written="$written" 'BEGIN {
            printf "%s: %d records in %.1f s = %.0f records/s; city peak RSS %.0f MiB; CPU ms per record: city %.3f, county %.3f; city wrote %.1f KiB per record, holds %.0f B per record\n",
                b, n, ns / 1e9, n / (ns / 1e9), peak / 1024, cc * 1000 / hz / n, kc * 1000 / hz / n, written / 1024 / n, (disk - empty) / n }'
    done
done
