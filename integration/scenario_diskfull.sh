#!/usr/bin/env bash
#  A full disk and a reached map cap are errors, never a crash, for every
#  writer. A county feeds two townships: township A keeps its store on a
#  small tmpfs, township B has limits/map_limit_mb = 1. Records the county
#  takes flow down until each township's store is full; then
#  - no process died (by PID), and each node logged that its store is
#    full and says so in its status (warning store_full, the peer's
#    apply_error), while it asks for the failed batch again with backoff:
#    its CPU stays bounded;
#  - hutong put --node to the running node, and hutong put --store on the
#    store of the stopped node, exit 3 naming store_full;
#  - the node starts again on its full store;
#  - what was acknowledged is all there, and mdb_stat reads the store;
#  - township B's file never grows past its cap.
#  Then township A's tmpfs grows: without a restart its writes succeed
#  again and it holds what the county holds for it (and the county what
#  it wrote).
#  Needs root (mount); skipped otherwise.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"
show_logs_on_failure

if [ "$(id -u)" != 0 ]; then
    echo "ok - skipped: mounting a tmpfs needs root"
    exit 0
fi

county=441802000000 town_a=441802001000 town_b=441802002000
cap_mb=1
cpu_bound_percent=30
#  Small batches: the stores fill batch by batch, and one that does not
#  fit is refused whole
NETWORK_BATCH=200
network_limits_extra () {
    if [ "$1" = "$town_b" ]; then
        echo "    map_mb = $cap_mb"
        echo "    map_limit_mb = $cap_mb"
    fi
}

#  Township A's store directory is a small tmpfs of its own (mode 0700:
#  the store refuses a directory others may write), unmounted on exit
#  after the nodes are stopped (network.sh's hook runs first)
mounted=""
unmount_store () {
    [ -n "$mounted" ] || return 0
    umount "$mounted" 2>/dev/null || umount -l "$mounted" 2>/dev/null || true
    mounted=""
}
cleanup_hooks+=("unmount_store")
network_add $county
network_add $town_a $county
network_add $town_b $county
mkdir -p "$(node_store $town_a)"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$(node_store $town_a)" \
    || fail "cannot mount a tmpfs on $(node_store $town_a)"
mounted="$(node_store $town_a)"
network_init_store $town_a
ok "township A's store is on a 2 MiB tmpfs"

network_start
network_wait_connected 30

elder_count () {
    node_status "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"].get("elder", 0))'
}
#  store_elders DIR PREFIX: elders under PREFIX in a store (read directly)
store_elders () { "$HUTONG" list --store "$1" --kind elder --region "$2" --limit 0 | wc -l; }
#  full_seen REGION: the node says its store is full (network.sh)
full_seen () { node_store_full "$1"; }
#  file_bytes REGION: the size of the node's data file
file_bytes () { stat -c %s "$(node_store "$1")/data.mdb"; }
#  put_node REGION FILE, put_store REGION FILE: write FILE as REGION's key
put_node () {
    "$HUTONG" put --node "$(node_client "$1")" --node-key "$work/$1.key.pub" \
        --key "$work/$1.key" --idkey net.idkey --quiet "$2"
}
put_store () { "$HUTONG" put --store "$(node_store "$1")" --key "$work/$1.key" --quiet "$2"; }
#  expect_store_full WHAT -- COMMAND...: exit 3, stderr naming store_full
expect_store_full () {
    local what="$1"; shift 2
    expect_exit 3 "$what is refused" -- "$@"
    grep -q "store_full" "$work/last.err" || { cat "$work/last.err" >&2; fail "$what: no store_full"; }
    ok "$what: $(grep -m1 -o 'store_full: [^:]*' "$work/last.err")"
}
#  alive REGION: its hutongd is the process we started
expect_alive () { node_alive "$1" || fail "hutongd $1 died"; ok "hutongd $1 (pid $(node_pid "$1")) runs"; }

#  Elders for each township, made once so no citizen ID repeats
"$HUTONG" gen --seed 7 --region $town_a --elders 3000 > town_a.jsonl
"$HUTONG" gen --seed 8 --region $town_b --elders 1500 > town_b.jsonl
head -n 50 town_a.jsonl > acked.jsonl
sed -n 51,2500p town_a.jsonl > bulk_a.jsonl
sed -n 2501,2700p town_a.jsonl > via_node.jsonl
sed -n 2701,3000p town_a.jsonl > via_store.jsonl

#  --------------------------------------------------------------------------
#  Township A: the disk fills

expect_exit 0 "township A takes 50 elders through put --node" -- put_node $town_a acked.jsonl
acked_keys="$("$HUTONG" list --store "$(node_store $town_a)" --kind elder --limit 0 \
    | python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["key"] for l in sys.stdin)))')"
expect_eq "$(wc -w <<<"$acked_keys")" 50 "township A holds the 50 it acknowledged"
expect_exit 0 "the county takes 2450 more of township A's elders" -- put_node $county bulk_a.jsonl
wait_until 90 full_seen $town_a || fail "township A never said its store is full"
ok "township A says its store is full (status warning store_full, batches failing as store_full)"
grep -q "store: full: .*the disk holding .* is full" "$(node_log $town_a)" \
    || fail "township A's log does not say the disk is full"
ok "township A logged the full disk: $(grep -m1 -o 'store: full: [^;]*' "$(node_log $town_a)")"
expect_alive $town_a
held_a="$(store_elders "$(node_store $town_a)" 441802001)"
[ "$held_a" -gt 50 ] && [ "$held_a" -lt 2500 ] \
    || fail "township A holds $held_a elders: the disk filled too early or not at all"
ok "township A filled its disk at $held_a elders"

percent="$(cpu_percent "$(node_pid $town_a)" 4)"
[ "$percent" -lt "$cpu_bound_percent" ] \
    || fail "township A used $percent% of a core while full and retrying"
ok "township A used $percent% of a core over 4 s while full and retrying (bound $cpu_bound_percent%)"
retries="$(grep -c "cannot store a batch" "$(node_log $town_a)")"
[ "$retries" -lt 10 ] || fail "township A logged $retries failed batches: one per attempt"
ok "the failed batch is logged $retries time(s), not at every attempt"

expect_store_full "put --node to township A on a full disk" -- put_node $town_a via_node.jsonl
grep -q "service: PUT of .* not stored: store_full" "$(node_log $town_a)" \
    || fail "township A's log does not name the refused PUT"
ok "township A logged the refused PUT"
expect_alive $town_a
mdb_stat -a "$(node_store $town_a)" > /dev/null || fail "mdb_stat cannot read township A's store"
ok "mdb_stat reads township A's full store"

#  The node stopped: put --store on its full store
network_stop_node $town_a || fail "township A did not stop cleanly"
ok "township A stopped cleanly"
expect_store_full "put --store on township A's full store" -- put_store $town_a via_store.jsonl
network_start_node $town_a
expect_alive $town_a
ok "township A starts again on its full disk"
still_keys="$("$HUTONG" list --store "$(node_store $town_a)" --kind elder --limit 0 \
    | python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["key"] for l in sys.stdin)))')"
python3 - "$acked_keys" "$still_keys" <<'EOF' || fail "an acknowledged elder is missing"
import sys
acked, held = set(sys.argv[1].split()), set(sys.argv[2].split())
sys.exit(0 if acked <= held else 1)
EOF
ok "every elder township A acknowledged is still there"

#  --------------------------------------------------------------------------
#  Township B: the map cap (limits/map_limit_mb = 1)

cap_bytes=$((cap_mb * 1024 * 1024))
expect_exit 0 "the county takes 1500 of township B's elders" -- put_node $county town_b.jsonl
wait_until 90 full_seen $town_b || fail "township B never said its store is full"
grep -q "store: full: .*reached its cap of $cap_mb.0 MiB" "$(node_log $town_b)" \
    || fail "township B's log does not name its cap"
ok "township B logged its cap: $(grep -m1 -o 'store: full: [^;]*' "$(node_log $town_b)")"
expect_alive $town_b
percent="$(cpu_percent "$(node_pid $town_b)" 4)"
[ "$percent" -lt "$cpu_bound_percent" ] \
    || fail "township B used $percent% of a core while at its cap and retrying"
ok "township B used $percent% of a core over 4 s at its cap (bound $cpu_bound_percent%)"
#  (each half far more than a full store finds room for among the pages
#  LMDB frees as the county's batches are retried)
"$HUTONG" gen --seed 9 --region $town_b --elders 2000 > more_b.jsonl
head -n 1000 more_b.jsonl > more_b_node.jsonl
tail -n 1000 more_b.jsonl > more_b_store.jsonl
expect_store_full "put --node to township B at its cap" -- put_node $town_b more_b_node.jsonl
network_stop_node $town_b || fail "township B did not stop cleanly"
expect_store_full "put --store on township B's store at its cap" -- put_store $town_b more_b_store.jsonl
[ "$(file_bytes $town_b)" -le "$cap_bytes" ] \
    || fail "township B's data file is $(file_bytes $town_b) bytes, past its cap of $cap_bytes"
ok "township B's data file ($(file_bytes $town_b) bytes) stays within its cap ($cap_bytes)"
network_start_node $town_b
expect_alive $town_b
mdb_stat -a "$(node_store $town_b)" > /dev/null || fail "mdb_stat cannot read township B's store"
ok "township B starts again at its cap, and mdb_stat reads its store"

#  --------------------------------------------------------------------------
#  Room again for township A, without a restart

pid_a="$(node_pid $town_a)"
mount -o remount,size=64m "$(node_store $town_a)" || fail "cannot grow the tmpfs"
ok "township A's tmpfs grows to 64 MiB"
expect_exit 0 "put --node to township A with room" -- put_node $town_a via_node.jsonl
expect_exit 0 "put --store on township A's store with room (the node running)" -- \
    put_store $town_a via_store.jsonl
want=3000
converged () {
    [ "$(store_elders "$(node_store $town_a)" 441802001)" = "$want" ] \
        && [ "$(store_elders "$(node_store $county)" 441802001)" = "$want" ]
}
wait_until 120 converged \
    || fail "township A holds $(store_elders "$(node_store $town_a)" 441802001), the county $(store_elders "$(node_store $county)" 441802001) of township A's $want elders"
ok "township A and the county both hold all $want of township A's elders"
expect_eq "$(node_pid $town_a)" "$pid_a" "township A recovered without a restart"
grep -q "store: writes fit again" "$(node_log $town_a)" || fail "township A never logged the recovery"
ok "township A logged that writes fit again"
node_status $town_a > status_a.json
expect_eq "$(json_get status_a.json "'store_full' in j")" "False" "township A's status no longer says full"
expect_alive $county
expect_alive $town_b
scenario_done=1
