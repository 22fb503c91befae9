#!/usr/bin/env bash
#  Hutong next to PostgreSQL 15 logical replication, in one run, on
#  127.0.0.1 (see --help). Run through `tools/bench-network.sh --compare`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage () {
    cat <<'EOF'
Usage: tools/bench-network.sh --compare [BUILD_DIR] [--sizes N,M,...] [--quick]
                                        [--writes W] [--fan-in R] [--json]
                                        [--json-file FILE]

Hutong next to a PostgreSQL 15 logical-replication cascade, in one run:
both as four tiers community -> township -> county -> city on 127.0.0.1,
durable commits at every node (PostgreSQL: fsync=on, synchronous_commit=on,
subscriptions with synchronous_commit=on; Hutong: its LMDB commits).
For each bulk size a fresh cascade and a fresh chain:
  - bulk: N elders written at the community in transactions of 1000,
    timed from the first write until the city holds all N (rows/s);
  - single-write latency p50/p99 until stored at the city, at the first
    size only (PostgreSQL: asynchronous, and synchronous with
    synchronous_standby_names naming the next hop's subscription);
  - resident memory at rest per node (PostgreSQL: RSS and PSS summed over
    the postmaster and its children; Hutong: the daemon's VmRSS);
  - disk bytes per record per node ((du after - du empty) / records held;
    PostgreSQL's data directory after a CHECKPOINT, WAL included);
  - Hutong only: bootstrap (an empty city started last next to a county
    holding N: records/s until it holds all, and the city's peak RSS
    meanwhile).
Then Hutong only, fan-in: a county whose 10 townships, each holding R
elders, start sending at once: aggregate records/s stored at the county.
Prints both systems side by side with Hutong / PostgreSQL and the
targets; nothing is asserted. PostgreSQL 15 (postgresql-15) and
python3-psycopg2 are installed with apt-get when missing (as root).
Running as root, the clusters run as the 'postgres' user (runuser).
Every process started is stopped by its PID and every directory removed.

Options:
  BUILD_DIR         the Hutong build (default: build)
  --sizes LIST      bulk sizes, comma-separated (default 100000,1000000)
  --quick           --sizes 10000,100000 --writes 100
  --writes W        single writes timed per system and mode (default 200)
  --fan-in R        elders per township for fan-in (default: first size / 10)
  --json            print all figures as one JSON object instead
  --json-file FILE  also write that JSON object to FILE
  --help            show this help
Exit status: 0 figures printed, 1 a step failed, 2 usage error.
EOF
}

build="$root/build" sizes="100000,1000000" writes=200 fan_in="" json="" json_file=""
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --quick) sizes="10000,100000"; writes=100 ;;
        --sizes) sizes="${2:?--sizes needs a list}"; shift ;;
        --writes) writes="${2:?--writes needs a number}"; shift ;;
        --fan-in) fan_in="${2:?--fan-in needs a number}"; shift ;;
        --json) json=1 ;;
        --json-file) json_file="${2:?--json-file needs a file}"; shift
                     [[ "$json_file" == /* ]] || json_file="$PWD/$json_file" ;;
        -*) echo "bench-compare: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) build="$1" ;;
    esac
    shift
done
[[ "$sizes" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "bench-compare: --sizes: expected N,M,..." >&2; exit 2; }
[[ "$writes" =~ ^[1-9][0-9]*$ ]] || { echo "bench-compare: --writes: expected a positive number" >&2; exit 2; }
IFS=, read -r -a size_list <<<"$sizes"
fan_in="${fan_in:-$(( size_list[0] / 10 ))}"
[[ "$fan_in" =~ ^[1-9][0-9]*$ ]] || { echo "bench-compare: --fan-in: expected a positive number" >&2; exit 2; }
build="$(cd "$build" 2>/dev/null && pwd)" || { echo "bench-compare: no build directory $build" >&2; exit 2; }
[ -x "$build/tools/hutong" ] && [ -x "$build/node/hutongd" ] \
    || { echo "bench-compare: $build has no tools/hutong and node/hutongd; build first" >&2; exit 2; }

#  --------------------------------------------------------------------------
#  PostgreSQL 15 and psycopg2 from Debian

pg_bin=/usr/lib/postgresql/15/bin
python=/usr/bin/python3
missing=()
[ -x "$pg_bin/postgres" ] || missing+=(postgresql-15)
"$python" -c 'import psycopg2' 2>/dev/null || missing+=(python3-psycopg2)
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "bench-compare: missing ${missing[*]}; run as root or apt-get install them" >&2; exit 1; }
    echo "bench-compare: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

export HUTONG="$build/tools/hutong" HUTONGD="$build/node/hutongd"
work_template=/tmp/hutong-bench.XXXXXX
source "$root/integration/lib.sh"
source "$root/integration/network.sh"
started=$SECONDS
say () { printf '[%4ds] %s\n' $((SECONDS - started)) "$*" >&2; }

pg_tiers=(community township county city)
declare -A pg_port=() pg_pid=()

#  Every cluster at once: a fast shutdown (SIGINT to the postmaster, by
#  its PID), SIGKILL after 20 s; then the directory goes
pg_stop_all () {
    local tier pid deadline=$((SECONDS + 20))
    for tier in "${pg_tiers[@]}"; do
        [ -z "${pg_pid[$tier]:-}" ] || kill -INT "${pg_pid[$tier]}" 2>/dev/null || true
    done
    for tier in "${pg_tiers[@]}"; do
        pid="${pg_pid[$tier]:-}"
        [ -n "$pid" ] || continue
        while kill -0 "$pid" 2>/dev/null; do
            [ $SECONDS -lt $deadline ] || { kill -KILL "$pid" 2>/dev/null || true; }
            sleep 0.05
        done
        pg_pid[$tier]=""
    done
    rm -rf "$pg_dir"
}

#  PostgreSQL refuses to run as root: then the clusters belong to the
#  'postgres' user the Debian package creates, in a directory of their own
#  ($work is root's, mode 700)
pg_dir="$(mktemp -d /tmp/hutong-bench-pg.XXXXXX)"
cleanup_hooks+=("pg_stop_all")
pg_as () { "$@"; }
if [ "$(id -u)" = 0 ]; then
    getent passwd postgres >/dev/null || fail "no 'postgres' user to run the clusters as"
    chown postgres: "$pg_dir"
    pg_as () { (cd "$pg_dir" && runuser -u postgres -- "$@"); }
fi
say "working in $work and $pg_dir"

psql_at () {   #  psql_at TIER SQL: one value or nothing
    PGOPTIONS="-c client_min_messages=warning" "$pg_bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${pg_port[$1]}" -U postgres \
        -d postgres -c "$2"
}

pg_initdb () {   #  pg_initdb TIER: a new cluster's directory
    pg_as "$pg_bin/initdb" -D "$pg_dir/$1" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$pg_dir/$1.initdb.log" 2>&1
}
pg_start () {   #  pg_start TIER: start the cluster on its own port
    local tier="$1" dir="$pg_dir/$1" pg_endpoint
    network_pick_port pg_endpoint
    pg_port[$tier]="${pg_endpoint##*:}"
    cat >>"$dir/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = ${pg_port[$tier]}
unix_socket_directories = '$pg_dir'
wal_level = logical
fsync = on
synchronous_commit = on
max_wal_senders = 10
max_replication_slots = 10
EOF
    pg_as "$pg_bin/pg_ctl" -D "$dir" -l "$pg_dir/$tier.log" -w -t 60 start >/dev/null \
        || { cat "$pg_dir/$tier.log" >&2; fail "postgres $tier did not start"; }
    pg_pid[$tier]="$(head -n 1 "$dir/postmaster.pid")"
}

#  The cascade: each tier subscribes to the one below and publishes what
#  it applies to the one above
pg_cascade () {
    local tier below="" pids=()
    #  initdb is the slow part: all four at once
    for tier in "${pg_tiers[@]}"; do pg_initdb "$tier" & pids+=($!); done
    for tier in "${pg_tiers[@]}"; do
        wait "${pids[0]}" || { cat "$pg_dir/$tier.initdb.log" >&2; fail "initdb $tier failed"; }
        pids=("${pids[@]:1}")
    done
    for tier in "${pg_tiers[@]}"; do
        pg_start "$tier"
        psql_at "$tier" "CREATE TABLE elder (id text PRIMARY KEY, region text NOT NULL,
                         payload jsonb NOT NULL)"
        [ "$tier" = city ] || psql_at "$tier" "CREATE PUBLICATION elder_pub FOR TABLE elder"
        [ -z "$below" ] || psql_at "$tier" "CREATE SUBSCRIPTION ${tier}_sub CONNECTION
            'host=127.0.0.1 port=${pg_port[$below]} user=postgres dbname=postgres'
            PUBLICATION elder_pub WITH (synchronous_commit = 'on')"
        below="$tier"
    done
    for tier in community township county; do
        wait_until 60 pg_streaming "$tier" || fail "postgres $tier: its subscriber is not streaming"
    done
}
pg_streaming () {
    [ "$(psql_at "$1" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1 ]
}

#  pg_sync on|off: each hop's commit waits for the next hop's subscription
pg_sync () {
    local tier next=(township county city) index=0 names
    for tier in community township county; do
        names="''"
        [ "$1" = on ] && names="'${next[$index]}_sub'"
        psql_at "$tier" "ALTER SYSTEM SET synchronous_standby_names = $names" >/dev/null
        psql_at "$tier" "SELECT pg_reload_conf()" >/dev/null
        index=$((index + 1))
    done
    for tier in community township county; do
        local want=async
        [ "$1" = on ] && want=sync
        wait_until 30 pg_sync_state "$tier" "$want" || fail "postgres $tier: replication not $want"
    done
}
pg_sync_state () {
    [ "$(psql_at "$1" "SELECT sync_state FROM pg_stat_replication")" = "$2" ]
}

#  pg_memory TIER: "RSS_KIB PSS_KIB PROCESSES" of the postmaster and its children
pg_memory () {
    local pid rss=0 pss=0 count=0 value
    for pid in "${pg_pid[$1]}" $(pgrep -P "${pg_pid[$1]}"); do
        value=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
        [ -n "$value" ] || continue
        rss=$((rss + value)); count=$((count + 1))
        pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
    done
    echo "$rss $pss $count"
}

#  cpu_ticks PID...: user + system CPU of the processes and of their
#  children already reaped, in clock ticks
cpu_ticks () {
    local pid total=0
    for pid in "$@"; do
        total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
pg_cpu () {   #  CPU ticks of all four clusters
    local tier pids=()
    for tier in "${pg_tiers[@]}"; do pids+=("${pg_pid[$tier]}" $(pgrep -P "${pg_pid[$tier]}")); done
    cpu_ticks "${pids[@]}"
}
hutong_cpu () {
    local region pids=()
    for region in "${chain[@]}"; do pids+=("$(node_pid "$region")"); done
    cpu_ticks "${pids[@]}"
}

du_bytes () { echo $(( $(du -sk "$1" | cut -f1) * 1024 )); }

#  --------------------------------------------------------------------------
#  PostgreSQL, one size: JSON lines into pg.SIZE.*

pg_run () {
    local size="$1" with_latency="$2" tier
    say "postgresql: cascade of 4 clusters for $size rows"
    pg_cascade
    for tier in "${pg_tiers[@]}"; do
        psql_at "$tier" "CHECKPOINT"
        echo "$tier $(du_bytes "$pg_dir/$tier")" >>"pg.$size.empty"
    done
    say "postgresql: bulk of $size rows"
    local cpu; cpu=$(pg_cpu)
    "$python" "$root/tools/bench_pg.py" bulk --write "${pg_port[community]}" \
        --watch "${pg_port[city]}" --rows "$size" > "pg.$size.bulk.json" \
        || fail "postgresql bulk of $size failed"
    echo $(( $(pg_cpu) - cpu )) > "pg.$size.cpu"
    sleep 4
    for tier in "${pg_tiers[@]}"; do
        psql_at "$tier" "CHECKPOINT"
        echo "$tier $(pg_memory "$tier") $(du_bytes "$pg_dir/$tier") $(psql_at "$tier" \
            "SELECT count(*), pg_total_relation_size('elder') FROM elder" | tr '|' ' ')" \
            >>"pg.$size.rest"
    done
    if [ "$with_latency" = 1 ]; then
        say "postgresql: $writes single writes, asynchronous"
        "$python" "$root/tools/bench_pg.py" latency --write "${pg_port[community]}" \
            --watch "${pg_port[city]}" --writes "$writes" --first 100000000 > pg.latency_async.json
        pg_sync on
        say "postgresql: $writes single writes, synchronous at every hop"
        "$python" "$root/tools/bench_pg.py" latency --write "${pg_port[community]}" \
            --watch "${pg_port[city]}" --writes "$writes" --first 200000000 > pg.latency_sync.json
    fi
    pg_stop_all
    pg_dir_again
}
#  A fresh directory for the next cascade (pg_stop_all removed it)
pg_dir_again () {
    mkdir -p "$pg_dir"
    [ "$(id -u)" != 0 ] || chown postgres: "$pg_dir"
}

#  --------------------------------------------------------------------------
#  Hutong, one size: the chain of tools/bench-network.sh

chain=(441800000000 441802000000 441802001000 441802001001)
city=441800000000 county=441802000000 community=441802001001
network_chain "${chain[@]}"

node_elders () {   #  node_elders REGION: elders the node holds, per its status
    node_status "$1" 2>/dev/null | "$python" -c 'import json, sys; print(json.load(sys.stdin)["records"]["elder"])' 2>/dev/null
}
node_settled () {   #  elders stored, and versions kept as conflicts
    node_status "$1" 2>/dev/null | "$python" -c '
import json, sys
s = json.load(sys.stdin)
print(s["records"]["elder"] + s["conflicts"])' 2>/dev/null
}
node_records () {
    node_status "$1" | "$python" -c 'import json, sys; print(sum(json.load(sys.stdin)["records"].values()))'
}
hutong_rest () {   #  hutong_rest OUT: memory, disk and records per node at rest
    local region
    network_wait_idle 120
    sleep 4                         #  a node gives its pages back after 2 quiet s
    for region in "${chain[@]}"; do
        echo "$region $(awk '/^VmRSS:/ {print $2}' "/proc/$(node_pid "$region")/status") \
$(du_bytes "$(node_store "$region")") $(node_elders "$region") $(node_records "$region")" >>"$1"
    done
}

hutong_run () {
    local size="$1" with_latency="$2" region
    say "hutong: chain of 4 nodes for $size records"
    rm -rf "$work"/*.store
    network_start
    network_wait_connected 30
    for region in "${chain[@]}"; do
        echo "$region $(du_bytes "$(node_store "$region")")" >>"hutong.$size.empty"
    done
    say "hutong: bench network, $size records$([ "$with_latency" = 1 ] && echo ", $writes single writes")"
    local cpu; cpu=$(hutong_cpu)
    "$HUTONG" bench network --write-store "$(node_store $community)" \
        --write-node "$(node_client $community)" --write-node-key $community.key.pub \
        --key $community.key --watch-store "$(node_store $city)" --records "$size" \
        --writes "$([ "$with_latency" = 1 ] && echo "$writes" || echo 1)" --via-store --json \
        > "hutong.$size.bench.json" || fail "hutong bench network of $size failed"
    echo $(( $(hutong_cpu) - cpu )) > "hutong.$size.cpu"
    hutong_rest "hutong.$size.rest"
    #  Bootstrap: the city again, empty, next to a county holding it all
    local want t0 held county_cpu
    want="$(node_elders $county)"
    network_stop_node $city
    rm -rf "$(node_store $city)"
    network_init_store $city
    say "hutong: bootstrap of an empty city from a county holding $want elders"
    county_cpu=$(cpu_ticks "$(node_pid $county)")
    t0=$(date +%s%N)
    network_start_node $city
    local peak=0 rss
    until held="$(node_elders $city)" && [ "$held" = "$want" ]; do
        [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 3600 ] || fail "the city did not bootstrap"
        #  The city's resident memory while it ingests, at its peak
        rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$(node_pid $city)/status" 2>/dev/null || echo 0)"
        [ "${rss:-0}" -gt "$peak" ] && peak="$rss"
        sleep 0.1
    done
    echo "{\"records\": $want, \"seconds\": $(( $(date +%s%N) - t0 ))e-9, \"city_cpu_ticks\": \
$(cpu_ticks "$(node_pid $city)"), \"county_cpu_ticks\": $(( $(cpu_ticks "$(node_pid $county)") - county_cpu )), \
\"city_peak_rss_kib\": $peak}" > "hutong.$size.bootstrap.json"
    network_stop
}

#  Fan-in: a county and 10 townships, each township holding R elders
#  before anything runs; the townships start first, the county last, and
#  the clock runs from the county's start until it has settled all 10 x R
#  (`hutong gen` can give two townships one person: the second version
#  of that elder is kept as a conflict)
hutong_fan_in () {
    local townships region index=0 t0 want
    network_stop
    rm -rf "$work"/*.store "$work"/*.cfg "$work"/*.key "$work"/*.key.pub "$work"/*.cert
    network_regions=() network_parent_of=() network_name_of=() network_pid_of=()
    network_node_ep=() network_client_ep=()
    mapfile -t townships < <("$HUTONG" gen --regions --townships 10 | "$python" -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin]
print("\n".join(r["region"] for r in rows if r["tier"] == "township" and r["parent"] == sys.argv[1]))' $county)
    [ ${#townships[@]} = 10 ] || fail "hutong gen gave ${#townships[@]} townships of $county"
    network_add $city
    network_add $county $city
    for region in "${townships[@]}"; do network_add "$region" $county; done
    say "hutong: fan-in, loading $fan_in elders into each of 10 township stores"
    for region in "${townships[@]}"; do
        index=$((index + 1))
        network_init_store "$region"
        "$HUTONG" gen --townships 10 --seed "$index" --region "$region" --elders "$fan_in" \
            --facilities 0 --credit 0 > "$region.jsonl"
        "$HUTONG" put --store "$(node_store "$region")" --key "$region.key" --batch 10000 --quiet \
            "$region.jsonl" || fail "loading $region failed"
        rm "$region.jsonl"
    done
    #  The city is not started: the county's parent endpoint is a port
    #  nobody listens on, so the county spends nothing forwarding upward
    network_pick_port "network_node_ep[$city]"
    NETWORK_RECONNECT_MAX_MS=100
    network_init_store $county
    network_pick_port "network_node_ep[$county]"
    for region in "${townships[@]}"; do network_start_node "$region"; done
    say "hutong: fan-in, starting the county"
    want=$((10 * fan_in))
    t0=$(date +%s%N)
    network_start_node $county
    until held="$(node_settled $county)" && [ "$held" -ge "$want" ]; do
        [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 3600 ] || fail "the county did not receive the fan-in"
        sleep 0.1
    done
    echo "{\"townships\": 10, \"records\": $want, \"seconds\": $(( $(date +%s%N) - t0 ))e-9}" > hutong.fan_in.json
    network_stop
}

#  --------------------------------------------------------------------------
#  The run: PostgreSQL then Hutong at each size, so both see the same noise

first=1
for size in "${size_list[@]}"; do
    pg_run "$size" "$first"
    hutong_run "$size" "$first"
    first=0
done
hutong_fan_in
say "done in $((SECONDS - started)) s; every node stopped"

"$python" - "$sizes" "$writes" "$json" "$json_file" "$($pg_bin/postgres --version)" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(getconf CLK_TCK)" <<'PY'
import json, sys
sizes = [int(s) for s in sys.argv[1].split(",")]
writes, as_json, json_file = int(sys.argv[2]), sys.argv[3], sys.argv[4]
pg_version, cores, load, tick = sys.argv[5], sys.argv[6], sys.argv[7], float(sys.argv[8])
MIB = 1024.0 * 1024.0

def lines(path):
    return [line.split() for line in open(path) if line.strip()]

def load_json(path):
    return json.load(open(path))

pg, ht = {"version": pg_version, "bulk": [], "nodes": []}, {"bulk": [], "nodes": [], "bootstrap": []}
for size in sizes:
    bulk = load_json("pg.%d.bulk.json" % size)
    pg["bulk"].append({"records": size, "records_per_second": bulk["rows_per_second"],
                       "seconds": bulk["seconds"],
                       "cpu_seconds": int(open("pg.%d.cpu" % size).read()) / tick})
    empty = {tier: int(b) for tier, b in lines("pg.%d.empty" % size)}
    for tier, rss, pss, procs, du, rows, relation in lines("pg.%d.rest" % size):
        pg["nodes"].append({"records": size, "tier": tier, "rss_mib": int(rss) / 1024.0,
                            "pss_mib": int(pss) / 1024.0, "processes": int(procs),
                            "rows": int(rows), "disk_bytes_per_record": (int(du) - empty[tier]) / int(rows),
                            "table_bytes_per_record": int(relation) / int(rows)})
    bench = load_json("hutong.%d.bench.json" % size)
    ht["bulk"].append({"records": size, "records_per_second": bench["records_per_second"],
                       "seconds": size / bench["records_per_second"],
                       "cpu_seconds": int(open("hutong.%d.cpu" % size).read()) / tick,
                       "verify_per_second": bench["verify_per_second"]})
    if size == sizes[0]:
        ht["latency"] = {"writes": bench["writes_arrived"], "p50_ms": bench["latency_p50_ms"],
                         "p99_ms": bench["latency_p99_ms"], "max_ms": bench["latency_max_ms"]}
        ht["verify_per_second"] = bench["verify_per_second"]
    empty = {region: int(b) for region, b in lines("hutong.%d.empty" % size)}
    tiers = dict(zip(("441800000000", "441802000000", "441802001000", "441802001001"),
                     ("city", "county", "township", "community")))
    for region, rss, du, elders, records in lines("hutong.%d.rest" % size):
        ht["nodes"].append({"records": size, "tier": tiers[region], "region": region,
                            "rss_mib": int(rss) / 1024.0, "elders": int(elders),
                            "records_held": int(records),
                            "disk_bytes_per_record": (int(du) - empty[region]) / int(elders)})
    boot = load_json("hutong.%d.bootstrap.json" % size)
    ht["bootstrap"].append({"records": boot["records"], "seconds": boot["seconds"],
                            "records_per_second": boot["records"] / boot["seconds"],
                            "city_cpu_seconds": boot["city_cpu_ticks"] / tick,
                            "county_cpu_seconds": boot["county_cpu_ticks"] / tick,
                            "city_peak_rss_mib": boot.get("city_peak_rss_kib", 0) / 1024.0})
pg["latency_async"] = load_json("pg.latency_async.json")
pg["latency_sync"] = load_json("pg.latency_sync.json")
fan = load_json("hutong.fan_in.json")
ht["fan_in"] = dict(fan, records_per_second=fan["records"] / fan["seconds"])

def nodes(system, size, field):
    return [n[field] for n in system["nodes"] if n["records"] == size]

rows, ratios = [], {}
def row(name, h, p, ratio_key=None, target=""):
    ratio = h / p if (h is not None and p not in (None, 0)) else None
    if ratio_key and ratio is not None:
        ratios[ratio_key] = ratio
    rows.append((name, h, p, ratio, target))

for index, size in enumerate(sizes):
    h, p = ht["bulk"][index]["records_per_second"], pg["bulk"][index]["records_per_second"]
    ok = "met" if h >= 1.2 * p else "MISSED"
    row("3-hop bulk, %d records (records/s)" % size, h, p, "bulk_%d" % size, ">= 1.2x PG: %s" % ok)
for index, size in enumerate(sizes):
    h, p = ht["bulk"][index], pg["bulk"][index]
    row("  CPU ms per record, 4 nodes together, %d records" % size,
        1000.0 * h["cpu_seconds"] / size, 1000.0 * p["cpu_seconds"] / size, "cpu_%d" % size)
hl, pa, ps = ht["latency"], pg["latency_async"], pg["latency_sync"]
row("single write p50, ms (PG asynchronous)", hl["p50_ms"], pa["p50_ms"], "latency_p50_async")
row("single write p99, ms (PG asynchronous)", hl["p99_ms"], pa["p99_ms"], "latency_p99_async")
row("single write p50, ms (PG synchronous)", hl["p50_ms"], ps["p50_ms"], "latency_p50_sync")
row("single write p99, ms (PG synchronous)", hl["p99_ms"], ps["p99_ms"], "latency_p99_sync",
    "<= PG sync p99: %s" % ("met" if hl["p99_ms"] <= ps["p99_ms"] else "MISSED"))
for index, size in enumerate(sizes):
    boot = ht["bootstrap"][index]
    row("bootstrap of an empty city, %d records (records/s)" % boot["records"],
        boot["records_per_second"], None, None,
        ">= 25,000/s: %s" % ("met" if boot["records_per_second"] >= 25000 else "MISSED"))
for boot in ht["bootstrap"]:
    row("  city peak RSS while ingesting, bootstrap of %d records (MiB)" % boot["records"],
        boot["city_peak_rss_mib"], None, None,
        "<= 256 MiB: %s" % ("met" if boot["city_peak_rss_mib"] <= 256 else "MISSED"))
for boot in ht["bootstrap"]:
    for node in ("city", "county"):
        row("  %s CPU ms per record, bootstrap of %d records" % (node, boot["records"]),
            1000.0 * boot[node + "_cpu_seconds"] / boot["records"], None)
row("fan-in, 10 townships -> county, %d records (records/s)" % ht["fan_in"]["records"],
    ht["fan_in"]["records_per_second"], None)
for size in sizes:
    h = max(nodes(ht, size, "rss_mib"))
    row("memory at rest, largest node, %d records (MiB; PG RSS sum)" % size, h,
        max(nodes(pg, size, "rss_mib")), "memory_rss_%d" % size,
        "<= 32 MiB: %s" % ("met" if h <= 32 else "MISSED"))
    row("memory at rest, largest node, %d records (MiB; PG PSS sum)" % size, h,
        max(nodes(pg, size, "pss_mib")), "memory_pss_%d" % size)
for size in sizes:
    h = sum(nodes(ht, size, "disk_bytes_per_record")) / 4
    p = sum(nodes(pg, size, "disk_bytes_per_record")) / 4
    row("disk per record, mean of 4 nodes, %d records (bytes)" % size, h, p, "disk_%d" % size,
        "<= PG: %s" % ("met" if h <= p else "MISSED"))
    row("  PG: table + index only (bytes)", h, sum(nodes(pg, size, "table_bytes_per_record")) / 4,
        "disk_table_%d" % size)

out = {"sizes": sizes, "writes": writes, "cores": int(cores), "load_average": load,
       "hutong": ht, "postgresql": pg, "ratios_hutong_to_postgresql": ratios,
       "targets": {"bulk_ratio_min": 1.2, "latency_p99": "<= postgresql synchronous p99",
                   "bootstrap_records_per_second_min": 25000, "memory_mib_per_node_max": 32,
                   "disk_bytes_per_record": "<= postgresql"}}
if json_file:
    with open(json_file, "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=2)
if as_json:
    print(json.dumps(out, ensure_ascii=False, indent=2))
    sys.exit(0)

def num(value):
    if value is None:
        return "-"
    return "%.0f" % value if abs(value) >= 100 else "%.2f" % value

print()
print("== Hutong vs %s, 4 tiers community -> township -> county -> city on 127.0.0.1" % pg_version)
print("   %s cores, load average %s: a shared machine gives noisy figures" % (cores, load))
print("   Hutong verifies every record at each hop (libsodium verify this run: %.0f/s)"
      % ht["verify_per_second"])
print()
print("%-62s %12s %12s %8s  %s" % ("figure", "Hutong", "PostgreSQL", "H / PG", "target"))
for name, h, p, ratio, target in rows:
    print("%-62s %12s %12s %8s  %s" % (name, num(h), num(p),
          "-" if ratio is None else "%.2fx" % ratio, target))
print()
print("per node at rest (MiB resident; bytes per record on disk):")
for size in sizes:
    for system, label in ((ht, "Hutong"), (pg, "PostgreSQL")):
        print("  %-10s %8d records: %s" % (label, size, ", ".join(
            "%s %.1f MiB%s %.0f B" % (n["tier"], n["rss_mib"],
            " (PSS %.1f, %d processes)" % (n["pss_mib"], n["processes"]) if "pss_mib" in n else "",
            n["disk_bytes_per_record"]) for n in system["nodes"] if n["records"] == size)))
print("PostgreSQL commit alone: asynchronous p50 %.2f / p99 %.2f ms, synchronous p50 %.2f / p99 %.2f ms"
      % (pa["commit_p50_ms"], pa["commit_p99_ms"], ps["commit_p50_ms"], ps["commit_p99_ms"]))
PY
scenario_done=1
