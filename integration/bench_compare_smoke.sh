#!/usr/bin/env bash
#  The machinery of `tools/bench-network.sh --compare` at a tiny size:
#  a PostgreSQL cascade and a Hutong chain of four tiers each, the bulk
#  reaching the last tier in both, every figure present in --json and in
#  the table, and afterwards no postgres or hutongd process and no
#  directory of the run left behind. No timing is judged. Not part of the
#  test command (it needs PostgreSQL 15, which it installs if missing):
#    HUTONG=build/tools/hutong HUTONGD=build/node/hutongd bash integration/bench_compare_smoke.sh
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
use_debian_python
root="$(cd "$here/.." && pwd)"
build="$(dirname "$(dirname "$HUTONG")")"

size=500 writes=5 fan_in=50

#  Nothing of a run left: its directories, and any process whose working
#  directory (postgres: its data directory) or command line is inside them
left_behind () {
    local dir pid
    while read -r dir; do
        [ ! -e "$dir" ] || echo "directory $dir"
        for pid in $(pgrep -x postgres) $(pgrep -x hutongd); do
            if [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$dir"* ]] \
               || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir"; then
                echo "process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
            fi
        done
    done <"$1"
}

#  One run: the table on stdout, the same figures in figures.json
"$root/tools/bench-network.sh" --compare "$build" --sizes $size --writes $writes \
    --fan-in $fan_in --json-file figures.json >table.txt 2>run.err \
    || { cat run.err table.txt >&2; fail "bench-network.sh --compare failed"; }
sed -n 's/.* working in \(.*\) and \(.*\)$/\1\n\2/p' run.err >run.dirs
[ "$(wc -l < run.dirs)" = 2 ] || { cat run.err >&2; fail "the run named no directories"; }
ok "bench-network.sh --compare --sizes $size ran"
python3 - figures.json $size $writes $fan_in <<'PY' || fail "figures.json lacks a figure"
import json, sys
f = json.load(open(sys.argv[1]))
size, writes, fan_in = (int(a) for a in sys.argv[2:5])
ht, pg = f["hutong"], f["postgresql"]
assert f["sizes"] == [size], f["sizes"]
for system in (ht, pg):
    assert [b["records"] for b in system["bulk"]] == [size], system["bulk"]
    assert all(b["records_per_second"] > 0 and b["cpu_seconds"] > 0 for b in system["bulk"]), system["bulk"]
    assert sorted(n["tier"] for n in system["nodes"]) == ["city", "community", "county", "township"]
    assert all(n["rss_mib"] > 0 and isinstance(n["disk_bytes_per_record"], float)
               for n in system["nodes"]), system["nodes"]
# at 500 rows a cluster's du after a CHECKPOINT can even shrink (WAL
# recycled); the table itself cannot
assert all(n["table_bytes_per_record"] > 0 for n in pg["nodes"]), pg["nodes"]
assert all(n["disk_bytes_per_record"] > 0 for n in ht["nodes"]), ht["nodes"]
# every tier holds the bulk (Hutong: and the single writes)
assert all(n["rows"] == size for n in pg["nodes"]), pg["nodes"]
assert all(n["elders"] == size + writes for n in ht["nodes"]), ht["nodes"]
assert all(n["processes"] >= 5 for n in pg["nodes"]), pg["nodes"]
for latency in (ht["latency"], pg["latency_async"], pg["latency_sync"]):
    assert latency["p99_ms"] >= latency["p50_ms"] > 0, latency
assert pg["latency_sync"]["arrived"] == pg["latency_async"]["arrived"] == writes
assert ht["latency"]["writes"] == writes
assert ht["bootstrap"][0]["records"] == size + writes and ht["bootstrap"][0]["records_per_second"] > 0
assert ht["fan_in"]["records"] == 10 * fan_in and ht["fan_in"]["records_per_second"] > 0
r = f["ratios_hutong_to_postgresql"]
assert abs(r["bulk_%d" % size] - ht["bulk"][0]["records_per_second"] / pg["bulk"][0]["records_per_second"]) < 1e-9
for key in ("latency_p99_sync", "memory_rss_%d" % size, "disk_%d" % size):
    assert r[key] > 0, key
PY
ok "--json holds both systems' bulk, latency, memory and disk figures, bootstrap, fan-in, ratios"
for figure in "3-hop bulk, $size records" "single write p99, ms (PG synchronous)" \
              "bootstrap of an empty city" "fan-in, 10 townships" "memory at rest" "disk per record"; do
    grep -F "$figure" table.txt | grep -qE '[0-9.]+ +[0-9.-]+ +([0-9.]+x|-)' \
        || { cat table.txt >&2; fail "the table lacks '$figure'"; }
done
grep -qE '^  Hutong .* city [0-9.]+ MiB' table.txt && grep -qE '^  PostgreSQL .* city [0-9.]+ MiB' table.txt \
    || { cat table.txt >&2; fail "the table lacks the per-node lines"; }
ok "the table prints both systems' figures side by side"
expect_eq "$(left_behind run.dirs)" "" "no directory, postgres or hutongd of the run is left behind"

expect_exit 2 "an unknown option is a usage error" -- "$root/tools/bench-network.sh" --compare --nonsense
expect_exit 2 "bad --sizes is a usage error" -- "$root/tools/bench-network.sh" --compare --sizes 10,x
scenario_done=1
