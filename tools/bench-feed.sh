#!/usr/bin/env bash
#  Change-feed benchmark (docs/protocol.md §4 "Feeds") on a chain
#  city 441800000000 -> county 441802000000 -> township 441802001000 ->
#  community 441802001001 on 127.0.0.1, partners certified at the city
#  (role partner, policy partner, purpose care_service). Each figure is
#  printed next to its target and to a baseline of the same run:
#   1. replication apply rate community -> city for N elders (three
#      verifying hops; `hutong bench network --via-store`, as
#      tools/bench-network.sh does): the baseline, records/s;
#   2. events/s to one partner following from the start over those N
#      elders: `hutong feed --limit N`, and the Python client's feed
#      (integration/partner/hutong_client.py); target >= 50% of (1);
#   3. events/s to 10 partners at once (C feeds), aggregate; target >= the
#      one-partner rate of (2);
#   4. the city's memory (VmRSS) with 0 and with 100 stalled subscribers
#      (raw CURVE clients that subscribe and never read: credit 0, and
#      credit 1,000), and with one never-reading subscriber granted the
#      most credit (10,000); KiB per subscriber; target <= 4 MiB each;
#   5. latency from a write at the community to a partner following at the
#      city (three hops and the feed): 200 elders PUT 5 at a time from
#      Python, arrival wall time - the record's hlc ms, for a Python and a
#      C follower; p50/p99/max, target p99 < 50 ms; next to the latency of
#      single writes until stored at the city (from (1)) and of credit
#      records written the same way, whose EVENTS carry no personal
#      fields and so write no audit record.
#  Also printed: CPU seconds per thread of the city while it feeds, and the
#  audit records the feeds wrote. Figures only: nothing asserts a timing.
#  Usage: tools/bench-feed.sh [BUILD_DIR]   (BENCH_RECORDS=N, default 20000)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
records="${BENCH_RECORDS:-20000}"
export HUTONG="$build/tools/hutong" HUTONGD="$build/node/hutongd"
[ -x "$HUTONG" ] && [ -x "$HUTONGD" ] || { echo "no hutong/hutongd in $build" >&2; exit 2; }
source "$root/integration/lib.sh"
source "$root/integration/network.sh"

use_debian_python
"$HUTONG" schema --json > "$work/schema.json"
export HUTONG_SCHEMA="$work/schema.json"
bench () { "$python" "$root/tools/bench_feed.py" "$@"; }
helper () { "$python" "$root/integration/feeds_helper.py" "$@"; }
started=$SECONDS
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
progress () { echo "# [$((SECONDS - started)) s] $*"; }
#  jq-like: field EXPR of the JSON in FILE
get () { json_get "$1" "$2"; }
calc () { "$python" -c "print($1)"; }

city=441800000000
county=441802000000
township=441802001000
community=441802001001
show_logs_on_failure

#  The city reads a policy file: the built-in policies plus partner_nopi,
#  a partner policy showing only the public field group (no personal
#  elder field), to see whether an elder feed can avoid the audit record
#  each EVENTS batch with personal fields costs (docs/protocol.md, Feeds)
{
    cat "$root/conf/policy.cfg"
    cat <<'EOF'

    partner_nopi
        summary = "bench: a partner shown public fields only"
        kinds = "credit elder facility"
        purposes = "care_service"
        access
            public = full
EOF
} > "$work/policy.cfg"
chmod 600 "$work/policy.cfg"
eval "$(declare -f network_write_config | sed '1s/network_write_config/network_write_config_base/')"
network_write_config () {
    network_write_config_base "$@"
    if [ "$1" = "$city" ]; then
        printf 'policy\n    file = %s\n' "$work/policy.cfg" >> "$work/$1.cfg"
    fi
}

progress "starting the chain $city -> $county -> $township -> $community (build $build)"
network_chain "$city" "$county" "$township" "$community"
network_start
network_wait_connected 30
city_pid="$(node_pid "$city")"
city_ep="$(node_client "$city")"
progress "chain running and connected; city hutongd pid $city_pid"

#  --------------------------------------------------------------------------
#  Partners certified at the city, stored into its store while it runs

stalled=()
for index in $(seq -w 1 100); do stalled+=("s$index"); done
movers=(m01 m02 m03 m04 m05 m06 m07 m08 m09 m10)
partners=(f1 f2 py1 py2 w1 lat_py lat_c "${movers[@]}" "${stalled[@]}")
mkdir "$work/certs"
for partner in "${partners[@]}" nopi; do
    make_key "$partner"
    policy=partner; [ "$partner" = nopi ] && policy=partner_nopi
    make_cert "$city" "$partner" "$city" --role partner --policy "$policy" --kinds credit
    mv "$partner.cert" certs/
done
"$HUTONG" put --store "$(node_store "$city")" --quiet certs/*.cert \
    || fail "the city refused the partners' certificates"
#  and one at the community, for the latency of the feed alone (part 5)
community_ep="$(node_client "$community")"
make_key lat_cm
make_cert "$community" lat_cm "$community" --role partner --policy partner --kinds credit
"$HUTONG" put --store "$(node_store "$community")" --quiet lat_cm.cert \
    || fail "the community refused the partner's certificate"
helper admit 30 --node "$city_ep" --node-key "$city.key.pub" "${partners[@]/%/.key}" nopi.key \
    || fail "the city does not admit the partners"
helper admit 30 --node "$community_ep" --node-key "$community.key.pub" lat_cm.key \
    || fail "the community does not admit its partner"
progress "the city certified and admits $(( ${#partners[@]} + 1 )) partner keys, the community one"
network_wait_idle 60

city_status () { node_status "$city"; }
city_count () { city_status | "$python" -c "import json,sys; print(json.load(sys.stdin)['records'].get('$1', 0))"; }

#  --------------------------------------------------------------------------
#  1. Baseline: replication community -> city

progress "1. baseline: $records elders written into the community's store, timed until all are stored at the city; before that 200 single writes (PUT at the community until stored at the city)"
"$HUTONG" bench network --write-store "$(node_store "$community")" \
    --write-node "$(node_client "$community")" --write-node-key "$community.key.pub" \
    --key "$community.key" --watch-store "$(node_store "$city")" \
    --records "$records" --writes 200 --via-store --json > base.json \
    || fail "hutong bench network failed"
apply_rate=$(get base.json "round(j['records_per_second'])")
network_wait_idle 60
city_elders=$(city_count elder)
progress "the city holds $city_elders elders"

#  --------------------------------------------------------------------------
#  2. One partner following from the start

audit_before=$(city_count audit)
progress "2. one partner follows from the start: hutong feed --limit $records"
bench cfeeds --hutong "$HUTONG" --node "$city_ep" --node-key "$city.key.pub" \
    --limit "$records" --kinds elder --purpose care_service --city-pid "$city_pid" f1.key > one.json \
    || fail "hutong feed did not deliver $records events: $(cat one.json)"
network_wait_idle 30
audit_after=$(city_count audit)
one_rate=$(get one.json "round(j['aggregate_per_second'])")
progress "   again, to see the noise (another key)"
bench cfeeds --hutong "$HUTONG" --node "$city_ep" --node-key "$city.key.pub" \
    --limit "$records" --kinds elder --purpose care_service --city-pid "$city_pid" f2.key > one-b.json \
    || fail "hutong feed did not deliver $records events: $(cat one-b.json)"
progress "   the Python client's feed (window 1000, as the C client keeps)"
bench pyfeed --node "$city_ep" --node-key "$city.key.pub" --key py1.key --limit "$records" \
    --kinds elder --purpose care_service --city-pid "$city_pid" > py.json \
    || fail "the Python feed did not deliver $records events: $(cat py.json)"
progress "   the Python client's feed with the most credit (window 10000)"
bench pyfeed --node "$city_ep" --node-key "$city.key.pub" --key py2.key --limit "$records" \
    --kinds elder --purpose care_service --window 10000 --city-pid "$city_pid" > py-big.json \
    || fail "the Python feed did not deliver $records events: $(cat py-big.json)"
#  Can a partner policy without personal elder fields avoid the audit?
nopi_out=$("$python" "$root/integration/partner/hutong_client.py" feed --node "$city_ep" \
    --node-key "$city.key.pub" --key nopi.key --kinds elder --limit 1 --idle 2000 2>&1 >/dev/null) \
    && nopi_rc=0 || nopi_rc=$?

#  --------------------------------------------------------------------------
#  3. Ten partners at once

progress "3. ten partners follow from the start at once: 10 x hutong feed --limit $records"
bench cfeeds --hutong "$HUTONG" --node "$city_ep" --node-key "$city.key.pub" \
    --limit "$records" --kinds elder --purpose care_service --city-pid "$city_pid" \
    "${movers[@]/%/.key}" > ten.json \
    || fail "a partner of ten did not get $records events: $(cat ten.json)"
ten_rate=$(get ten.json "round(j['aggregate_per_second'])")

#  --------------------------------------------------------------------------
#  4. Memory per subscriber

dropped_rate () {
    local first second
    first=$(city_status | "$python" -c 'import json,sys; print(json.load(sys.stdin)["dropped_sends"])')
    sleep 5
    second=$(city_status | "$python" -c 'import json,sys; print(json.load(sys.stdin)["dropped_sends"])')
    calc "round(($second - $first) / 5.0, 1)"
}
#  Elder drafts of the community: 200 + 200 for part 5, and single ones
#  that poke the chain: the node gives back its mapped store pages and
#  the heap's free memory after two quiet seconds, but only once after
#  each replicated write (feed reads and closed connections alone do not
#  bring it about), so each memory figure is taken 4 s after a poke
"$HUTONG" gen --seed 23 --counties 1 --townships 1 --communities 1 --facilities 0 --credit 0 \
    --elders 1200 | helper slices "$community" lat:200 lat2:200 poke:40 \
    || fail "cannot make the elder drafts"
split -l 1 -d -a 2 poke.jsonl poke-part.
pokes=0
poke () {
    "$HUTONG" put --node "$community_ep" --node-key "$community.key.pub" --key "$community.key" \
        --idkey net.idkey --quiet "poke-part.$(printf %02d $pokes)" || fail "the community refused a poke"
    pokes=$((pokes + 1))
}
settle () { poke; network_wait_idle 30; sleep 4; }
rss_of () { bench rss "$city_pid" "$1" --port "${city_ep##*:}"; }
#  stall_group NAME MAX KEYS...: baseline, then the subscribers, sampled
#  for 8 s after all were answered; NAME.json: {"base", "with", "ready"}
stall_group () {
    local name="$1" max="$2"; shift 2
    settle
    rss_of 2 > "$name.base.json"
    start_bg "$name" "$work/$name.log" "$python" "$root/tools/bench_feed.py" stall \
        --node "$city_ep" --node-key "$city.key.pub" --keys "$(IFS=,; echo "${*/%/.key}")" \
        --max "$max" --ready "$work/$name.ready" --kinds elder --purpose care_service
    wait_until 40 test -s "$name.ready" || fail "the stalled subscribers of $name did not subscribe"
    rss_of 6 > "$name.peak.json"
    poke
    sleep 4
    rss_of 1 > "$name.settled.json"
    "$python" -c '
import json, sys
peak, settled = (json.load(open(path)) for path in sys.argv[1:3])
for name, value in settled["peak"].items():
    peak["peak"][name] = max(peak["peak"].get(name, 0), value)
print(json.dumps({"peak": peak["peak"], "last": settled["last"]}))' \
        "$name.peak.json" "$name.settled.json" > "$name.with.json"
    stop_bg "$name" || true
    "$python" - "$name" "$#" <<'PY' > "$name.json"
import json, sys
name, count = sys.argv[1], int(sys.argv[2])
base = json.load(open(name + ".base.json"))["last"]
with_ = json.load(open(name + ".with.json"))
ready = json.loads(open(name + ".ready").readline())
out = {"subscribers": count, "ready": ready, "base": base, "last": with_["last"], "peak": with_["peak"]}
for when in ("peak", "last"):
    out[when + "_per_sub"] = {what: round((with_[when][what] - base[what]) / count, 1)
                              for what in ("VmRSS", "RssAnon", "RssFile")}
    out[when + "_per_sub"]["send_queue"] = round(with_[when].get("send_queue_kib", 0) / count, 1)
print(json.dumps(out))
PY
}
progress "4. memory: first, the city's dropped sends a second while idle"
idle_drops=$(dropped_rate)
progress "   100 subscribers with credit 0 (stalled: never granted any)"
stall_group stall0 0 "${stalled[@]}"
progress "   100 subscribers with credit 1000 that never read"
stall_group stall1k 1000 "${stalled[@]}"
progress "   one subscriber with credit 10000 that never reads"
stall_group stall10k 10000 w1
dropped=$(city_status | "$python" -c 'import json,sys; print(json.load(sys.stdin)["dropped_sends"])')
store_kib=$(du -k "$(node_store "$city")/data.mdb" | cut -f1)

#  --------------------------------------------------------------------------
#  5. Latency community write -> partner at the city

progress "5. latency: 200 elders PUT at the community 5 at a time (50 ms apart), each batch followed by 5 credit records; a Python and a C partner follow at the city from now"
settle
#  meanwhile: how long a small write takes to be durable on this disk
start_bg fsync "$work/fsync.log" "$python" "$root/tools/bench_feed.py" fsync --dir "$work" \
    --out "$work/fsync.json"
start_bg lat_py "$work/lat_py.log" "$python" "$root/tools/bench_feed.py" follow \
    --node "$city_ep" --node-key "$city.key.pub" --key lat_py.key --kinds elder,credit \
    --purpose care_service --out "$work/lat_py.arrivals" --ready "$work/lat_py.ready"
start_bg lat_c "$work/lat_c.log" "$python" "$root/tools/bench_feed.py" cfollow \
    --out "$work/lat_c.arrivals" -- "$HUTONG" feed --node "$city_ep" --node-key "$city.key.pub" \
    --key lat_c.key --kinds elder,credit --purpose care_service --since now --follow \
    --cursor-file "$work/lat_c.cursor"
wait_until 20 test -s lat_py.ready || fail "the Python follower did not subscribe: $(cat lat_py.log)"
wait_until 20 test -s lat_c.cursor || fail "the C follower did not subscribe: $(cat lat_c.log)"
bench write --node "$(node_client "$community")" --node-key "$community.key.pub" \
    --key "$community.key" --idkey net.idkey --drafts lat.jsonl --community "$community" \
    --batch 5 --gap-ms 50 --out "$work/written.txt" --credit > write.json \
    || fail "the community refused writes: $(cat write.json)"
wait_until 30 bench arrived written.txt lat_py.arrivals lat_c.arrivals \
    || echo "# NOTE: not every write reached both followers within 30 s"
stop_bg lat_py || true
stop_bg lat_c || true
bench latency written.txt lat_py.arrivals lat_c.arrivals > latency.json
#  The same writes, followed at the community itself: the feed's part
#  without the three hops (arrival - the PUT-OK of its batch)
progress "   again, the partner following at the community (no replication hop)"
start_bg lat_cm "$work/lat_cm.log" "$python" "$root/tools/bench_feed.py" follow \
    --node "$community_ep" --node-key "$community.key.pub" --key lat_cm.key --kinds elder,credit \
    --purpose care_service --out "$work/lat_cm.arrivals" --ready "$work/lat_cm.ready"
wait_until 20 test -s lat_cm.ready || fail "the community's follower did not subscribe: $(cat lat_cm.log)"
bench write --node "$community_ep" --node-key "$community.key.pub" \
    --key "$community.key" --idkey net.idkey --drafts lat2.jsonl --community "$community" \
    --batch 5 --gap-ms 50 --out "$work/written2.txt" --credit > write2.json \
    || fail "the community refused writes: $(cat write2.json)"
wait_until 30 bench arrived written2.txt lat_cm.arrivals \
    || echo "# NOTE: not every write reached the community's follower within 30 s"
stop_bg lat_cm || true
stop_bg fsync || true
bench latency written2.txt lat_cm.arrivals > latency2.json

#  --------------------------------------------------------------------------
#  Figures

echo
echo "=== bench-feed: $records elders, chain community -> township -> county -> city, $(nproc) cores (shared), load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end, $((SECONDS - started)) s"
"$python" - "$records" "$audit_before" "$audit_after" "$nopi_rc" "$nopi_out" "$dropped" "$idle_drops" \
    "$store_kib" <<'PY'
import json, sys
records, audit_before, audit_after, nopi_rc, nopi_out, dropped, idle_drops, store_kib = sys.argv[1:]
records = int(records)
load = lambda name: json.load(open(name))
base, one, one_b, py, py_big, ten = (load(n) for n in
    ("base.json", "one.json", "one-b.json", "py.json", "py-big.json", "ten.json"))
s0, s1k, s10k, lat, write, lat2, write2, fsync = (load(n) for n in
    ("stall0.json", "stall1k.json", "stall10k.json", "latency.json", "write.json",
     "latency2.json", "write2.json", "fsync.json"))
apply = base["records_per_second"]
def verdict(ok):
    return "meets target" if ok else "MISSES target"
def threads(cpu):
    top = sorted(cpu["threads"].items(), key=lambda item: -item[1])[:4]
    return "%.1f s (%s)" % (cpu["total"], ", ".join("%s %.1f" % (name.split("#")[0], used)
                                                    for name, used in top))

print("1. replication apply rate, community -> city (3 verifying hops), baseline: %8.0f records/s"
      % apply)
print("   (raw Ed25519 verify rate of this run: %.0f /s; single writes PUT at the community "
      "until stored at the city: p50 %.1f ms, p99 %.1f ms, max %.1f ms)"
      % (base["verify_per_second"], base["latency_p50_ms"], base["latency_p99_ms"],
         base["latency_max_ms"]))
best_one = max(one["aggregate_per_second"], one_b["aggregate_per_second"])
print("2. one partner from the start, hutong feed --limit %d:         %8.0f events/s = %.2f x apply "
      "rate (target >= 0.50: %s)" % (records, one["aggregate_per_second"],
                                     one["aggregate_per_second"] / apply,
                                     verdict(one["aggregate_per_second"] >= 0.5 * apply)))
print("   again (another key):                                      %8.0f events/s = %.2f x"
      % (one_b["aggregate_per_second"], one_b["aggregate_per_second"] / apply))
print("   first event after %.2f s; CPU meanwhile: client %.1f s, city %s"
      % (one["per_feed"][0]["first_event_s"], one["client_cpu_s"], threads(one["city_cpu"])))
print("   Python client feed (window 1000, verifies in Python):      %8.0f events/s = %.2f x apply "
      "rate (target >= 0.50: %s); CPU: client %.1f s, city %.1f s"
      % (py["per_second"], py["per_second"] / apply, verdict(py["per_second"] >= 0.5 * apply),
         py["client_cpu_s"], py["city_cpu"]["total"]))
print("   Python client feed, window 10000:                         %8.0f events/s = %.2f x; "
      "CPU: client %.1f s, city %.1f s" % (py_big["per_second"], py_big["per_second"] / apply,
                                          py_big["client_cpu_s"], py_big["city_cpu"]["total"]))
audits = int(audit_after) - int(audit_before)
print("   audit records the city wrote for the first C feed: %d (%.0f events each; one per EVENTS "
      "batch showing personal fields, stored before the batch is sent)"
      % (audits, records / audits if audits else 0))
print("   a partner policy without personal elder fields (partner_nopi, public group only, via "
      "policy/file): SUBSCRIBE kind elder -> %s" % ("accepted" if nopi_rc == "0" else
      "refused (exit %s): %s" % (nopi_rc, nopi_out.strip().splitlines()[-1][:160] if nopi_out.strip() else "")))
print("3. ten partners at once, aggregate:                          %8.0f events/s = %.2f x the "
      "one-partner rate (target >= 1.00: %s)"
      % (ten["aggregate_per_second"], ten["aggregate_per_second"] / one["aggregate_per_second"],
         verdict(ten["aggregate_per_second"] >= one["aggregate_per_second"])))
rates = [f["per_second"] for f in ten["per_feed"]]
print("   each partner %.0f .. %.0f events/s, all done after %.1f s; CPU: clients %.1f s, city %s"
      % (min(rates), max(rates), ten["wall_s"], ten["client_cpu_s"], threads(ten["city_cpu"])))
print("4. city memory, KiB: VmRSS (RssAnon / RssFile); per subscriber: at its peak while the "
      "feed read and queued (6 s), and settled (4 s after a write, when the node gives back "
      "mapped store pages and free heap)")
print("   0 subscribers, at rest: %d (%d / %d); the city's store file holds %d KiB"
      % (s0["base"]["VmRSS"], s0["base"]["RssAnon"], s0["base"]["RssFile"], int(store_kib)))
for name, group in (("100 stalled, credit 0      ", s0), ("100 never read, credit 1000", s1k),
                    ("1 never reads, credit 10000", s10k)):
    peak, last = group["peak_per_sub"], group["last_per_sub"]
    print("   %s: peak %d (%d / %d): %+.1f KiB each (anon %+.1f, file %+.1f); settled %d: "
          "%+.1f KiB each (anon %+.1f) (target <= 4096: %s); kernel send queues %.1f KiB each%s"
          % (name, group["peak"]["VmRSS"], group["peak"]["RssAnon"], group["peak"]["RssFile"],
             peak["VmRSS"], peak["RssAnon"], peak["RssFile"], group["last"]["VmRSS"],
             last["VmRSS"], last["RssAnon"], verdict(last["VmRSS"] <= 4096),
             peak["send_queue"],
             "" if group["ready"]["subscribed"] == group["subscribers"] else
             " [only %d of %d subscribed: %s]" % (group["ready"]["subscribed"],
                                                  group["subscribers"], group["ready"]["errors"])))
one = s10k["last_per_sub"]
pinned = s10k["peak_per_sub"]["RssAnon"] + s10k["peak_per_sub"]["send_queue"]
print("   max for one stalled subscriber (credit 10000, never reads): settled %+.0f KiB = %.2f MiB "
      "of VmRSS (target <= 4 MiB: %s); at its peak %+.0f KiB = %.1f MiB (%.1f MiB of it store "
      "pages the reader mapped, shared and given back at rest)"
      % (one["VmRSS"], one["VmRSS"] / 1024, verdict(one["VmRSS"] <= 4096),
         s10k["peak_per_sub"]["VmRSS"], s10k["peak_per_sub"]["VmRSS"] / 1024,
         s10k["peak_per_sub"]["RssFile"] / 1024))
print("   the events it was granted wait in the node: anon %+.0f KiB + kernel send queue %.0f KiB "
      "= %.1f MiB (target <= 4 MiB: %s)" % (s10k["peak_per_sub"]["RssAnon"],
                                            s10k["peak_per_sub"]["send_queue"], pinned / 1024,
                                            verdict(pinned <= 4096)))
print("   dropped_sends at the city: %s so far, %s a second while idle (heartbeats to "
      "subscriptions of `hutong feed` runs that exited without UNSUBSCRIBE)" % (dropped, idle_drops))
print("5. latency, PUT at the community -> partner at the city (arrival - hlc ms; PUT of 5 takes "
      "p50 %.1f ms):" % write["put_ms_p50"])
for name in sorted(lat):
    figures = lat[name]
    follower, kind = name.split("/")
    who = {"lat_py": "Python partner", "lat_c": "C partner (hutong feed)"}.get(follower, follower)
    note = "target p99 < 50 ms: %s" % verdict(figures["p99"] is not None and figures["p99"] < 50) \
        if kind == "elder" else "no audit record (public fields): control"
    print("   %-24s %-6s p50 %6.1f  p99 %6.1f  max %6.1f ms  (%d of %d arrived; %s)"
          % (who, kind, figures["p50"] or -1, figures["p99"] or -1, figures["max"] or -1,
             figures["arrived"], figures["written"], note))
print("   baseline: single writes until stored at the city (no feed), p50 %.1f, p99 %.1f ms"
      % (base["latency_p50_ms"], base["latency_p99_ms"]))
print("   where it goes (p50 / p99 ms): the PUT of 5 at the community (sign, verify, commit) "
      "%.1f / %.1f;" % (write["put_ms_p50"], write["put_ms_p99"]))
for name in sorted(lat):
    figures = lat[name]
    print("     PUT-OK -> %-34s %5.1f / %5.1f" % ({"lat_py": "Python partner at the city",
          "lat_c": "C partner at the city"}[name.split("/")[0]] + ", " + name.split("/")[1],
          figures["after_put_p50"], figures["after_put_p99"]))
for name in sorted(lat2):
    figures = lat2[name]
    print("     PUT-OK -> %-34s %5.1f / %5.1f   (write -> arrival %5.1f / %5.1f; PUT %.1f / %.1f)"
          % ("Python partner at the community, " + name.split("/")[1], figures["after_put_p50"],
             figures["after_put_p99"], figures["p50"], figures["p99"], write2["put_ms_p50"],
             write2["put_ms_p99"]))
print("     (the community follower's feed is the feed alone; the city's minus it is the three "
      "hops; elder batches wait for an audit commit, credit ones do not)")
print("   the disk meanwhile: 4 KiB write + fsync p50 %.1f, p99 %.1f, max %.1f ms (%d of %d over "
      "50 ms); IO pressure: some %.1f%%, full %.1f%% of the time; each write passes 4 commits "
      "(community PUT, 3 hops) and an elder a 5th (the city's audit record)"
      % (fsync["p50"], fsync["p99"], fsync["max"], fsync["over_50ms"], fsync["fsyncs"],
         fsync["io_pressure_pct"].get("some", -1), fsync["io_pressure_pct"].get("full", -1)))
for name in sorted(lat):
    worst = lat[name]["worst"][:3]
    print("   slowest %-14s %s" % (name + ":", ", ".join(
        "%.0f ms (write #%d, %.1f s in)" % (ms, index, at / 1000.0) for ms, index, at in worst)))
PY
progress "done"
scenario_done=1
