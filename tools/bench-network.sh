#!/usr/bin/env bash
#  Replication benchmark: a chain community -> township -> county -> city
#  on 127.0.0.1 (three verifying hops), then `hutong bench network`: bulk
#  end-to-end records/s, single-write latency p50/p99, the raw verify rate
#  of the same run; finally each node's resident memory at rest.
#  The bulk is signed and written into the community's store as
#  `hutong put --store` does (its signer does not re-verify what it just
#  signed; the township, county and city verify every record), 32
#  records a signature as `hutong put` signs them (records.md section 4a;
#  BENCH_SIGN_BATCH=N signs N a signature, 1 each alone).
#  BENCH_VIA_NODE=1 sends it to the community node's client socket
#  instead, which adds a fourth verification at the community.
#  NETWORK_PULL_WAIT_MS=0 turns long polling off (each hop then waits for
#  NOTIFY, PULL, BATCH), to compare latencies with and without it.
#  BENCH_PUT_CLIENTS=N also times BENCH_PUTS (default 2000) single-record
#  PUTs to the community node over one connection, then over N at once
#  (the community's client rate limits are raised for it): the PUTs
#  waiting at once are stored in one transaction (group commit).
#  Usage: tools/bench-network.sh [BUILD_DIR] [RECORDS] [WRITES]
#         tools/bench-network.sh --compare [...]   the same next to a
#         PostgreSQL 15 logical-replication cascade (tools/bench-compare.sh;
#         --compare --help tells more)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-}" in
    --compare) shift; exec "$root/tools/bench-compare.sh" "$@" ;;
    --help|-h) sed -n '2,/^set -euo/{/^set/d;s/^#  \{0,1\}//;p}' "$0"; exit 0 ;;
esac
build="$(cd "${1:-$root/build}" && pwd)"
records="${2:-100000}"
writes="${3:-200}"
export HUTONG="$build/tools/hutong" HUTONGD="$build/node/hutongd"
source "$root/integration/lib.sh"
source "$root/integration/network.sh"

if [ -n "${BENCH_PUT_CLIENTS:-}" ]; then
    network_limits_extra () { echo "    client_rate = 100000"; echo "    client_burst = 100000"; }
fi
network_chain 441800000000 441802000000 441802001000 441802001001
network_start
network_wait_connected 30

"$HUTONG" bench network --write-store "$(node_store 441802001001)" \
    --write-node "$(node_client 441802001001)" --write-node-key 441802001001.key.pub \
    --key 441802001001.key --watch-store "$(node_store 441800000000)" \
    --records "$records" ${BENCH_SIGN_BATCH:+--sign-batch "$BENCH_SIGN_BATCH"} --writes "$writes" --json $([ -n "${BENCH_VIA_NODE:-}" ] || echo --via-store) \
    ${BENCH_PUT_CLIENTS:+--put-clients "$BENCH_PUT_CLIENTS" --puts "${BENCH_PUTS:-2000}"} > figures.json
python3 - figures.json <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print("libsodium verify (baseline, 1 core)  %8.0f /s" % f["verify_per_second"])
print("3-hop end to end, community -> city  %8.0f records/s = %.3f x verify (target >= 0.25; %d a signature)"
      % (f["records_per_second"], f["ratio_to_verify"], f["sign_batch"]))
print("single write latency, idle network   p50 %.1f ms, p99 %.1f ms (target p99 < 20 ms)"
      % (f["latency_p50_ms"], f["latency_p99_ms"]))
if "put_clients" in f:
    for n, key in ((1, "1"), (f["put_clients"], "n")):
        print("single-record PUTs, %2d connection(s)  %8.0f /s, p50 %.1f ms, p99 %.1f ms"
              % (n, f["puts_per_second_" + key], f["put_p50_ms_" + key], f["put_p99_ms_" + key]))
PY
#  Resident memory at rest, each node holding what reached it: a node
#  gives back its mapped store pages after two quiet seconds
network_wait_idle 30
sleep 4
for region in "${network_regions[@]}"; do
    printf 'resident memory at rest %s: %s (%s records held)\n' "$region" \
        "$(awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %.1f MiB ", $1, $2/1024}' "/proc/$(node_pid "$region")/status")" \
        "$("$HUTONG" export --store "$(node_store "$region")" 2>&1 >/dev/null | awk '{print $2}')"
done
