#!/usr/bin/env bash
#  Clocks: one node's wall clock 10 minutes off loses no acknowledged
#  write (docs/security.md R11, R12, R15, R16; docs/operations.md
#  "Clocks"). A chain city / county / township / community, the
#  township's hutongd run under libfaketime (LD_PRELOAD, its offset read
#  from a file on every call, FAKETIME_NO_CACHE, so every thread's
#  clock_gettime sees it; the monotonic clock left alone, as a wrong wall
#  clock leaves it). The tools that write "on the township's machine" run
#  under faketime(1) with the same offset.
#
#  1. The township 10 minutes ahead. It reads its clock against the
#     county's and reports it (status, log, /metrics); the county and the
#     community name the township's clock. Writes dated by its clock are
#     refused at once, through the node and through its stopped store
#     (clock_skew, exit 1): never acknowledged, never quarantined
#     elsewhere. Writes at the other tiers flow through it. A community
#     store written while stopped by a tool 5 min 20 s ahead is
#     acknowledged; the records are in the township's future, quarantined
#     there as clock and retried until they are not. The clock is set
#     right (restart without faketime): every acknowledged write is at
#     every holder, no clock entry is left in any quarantine.
#  2. The township 4 minutes ahead (within what neighbours accept): its
#     writes are current everywhere; updates of them made at the county
#     with a right clock are timestamped after them (put --node sends
#     them again) and are current everywhere, not history.
#  3. The township 10 minutes behind. It reports it, and pulls from no
#     neighbour (nothing of theirs quarantined, dropped or lost: it waits
#     at them); writes by a right clock at it are refused (clock_skew),
#     writes dated by its own clock are acknowledged and reach everyone.
#     Set right: everything written anywhere meanwhile arrives.
#  4. The township 3 minutes behind: it still pulls; a record dated 2.5
#     minutes ahead at the county is in its future, quarantined as clock,
#     and admitted on retry once its clock is stepped right.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
use_debian_python
source "$here/network.sh"
show_logs_on_failure
helper () { python3 "$here/metrics_helper.py" "$@"; }

command -v faketime >/dev/null || fail "faketime is not installed (tools/install-deps.sh)"
faketime_lib=""
for candidate in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
                 /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 \
                 /usr/local/lib/faketime/libfaketimeMT.so.1; do
    [ -e "$candidate" ] && { faketime_lib="$candidate"; break; }
done
[ -n "$faketime_lib" ] || fail "libfaketime is not installed (tools/install-deps.sh: faketime)"
#  libfaketime comes first in LD_PRELOAD; a build with AddressSanitizer
#  (HT_SANITIZE) wants its runtime first unless told otherwise
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

city=441800000000 county=441802000000 town=441802001000 comm=441802001001
all=("$city" "$county" "$town" "$comm")
#  Certificates valid from an hour ago: a clock behind dates records
#  before now. Retry quarantine every 2 s, not 30.
NETWORK_NOT_BEFORE=$(( $(date +%s%3N) - 3600000 ))
NETWORK_HEARTBEAT_MS=250 NETWORK_TIMEOUT_MS=2000 NETWORK_RECONNECT_MAX_MS=500
NETWORK_QUARANTINE_RETRY_S=2
network_config_extra () { printf 'metrics\n    listen = 127.0.0.1:0\n'; }
network_chain "$city" "$county" "$town" "$comm"
network_start
network_wait_connected 30
ok "city, county, township and community started and connected"

#  skew_node REGION OFFSET: restart REGION's hutongd with its wall clock
#  OFFSET off (faketime's form: "+10m", "-600"), or right with ""
skew_node () {
    network_stop_node "$1" || fail "hutongd $1 did not stop cleanly"
    if [ -n "$2" ]; then
        echo "$2" > "$work/$1.faketime"
        network_env_of[$1]="LD_PRELOAD=$faketime_lib FAKETIME_TIMESTAMP_FILE=$work/$1.faketime FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1"
    else
        network_env_of[$1]=""
    fi
    network_start_node "$1"
}

#  Drafts of new elders, each a citizen ID of its own
serial=0
#  drafts REGION SCOPE NAME COUNT: COUNT elders of REGION shared down to
#  SCOPE, named NAME-n
drafts () {
    python3 - "$@" "$serial" <<'PY'
import json, sys
region, scope, name, count, first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
for n in range(first, first + count):
    body = "44180219400512" + "%03d" % (2 * n + 1)      # odd: a man's (sex 1)
    id_no = body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    print(json.dumps({"kind": "elder", "region": region, "scope": scope, "fields": {
        "name": "%s%d" % (name, n), "id_type": "居民身份证", "id_no": id_no, "sex": 1,
        "birth_date": "19400512", "hukou_region": region, "status": "active"}},
        ensure_ascii=False))
PY
    serial=$((serial + $4))
}

#  Writes. Each leaves its exit status in $put_rc and its summary in
#  put.out (stderr in put.err); the lines of a run that exits 0 are
#  acknowledged and go to acked.jsonl, which the end checks.
: > acked.jsonl
#  clock_prefix OFFSET: the command prefix of a tool run on a clock that
#  far off ("" for a right one), in $prefix
clock_prefix () {
    prefix=()
    [ -z "$1" ] || prefix=(env FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$1")
}
#  put_node REGION FILE [OFFSET]: hutong put --node at REGION's node, as
#  REGION's key, from a clock OFFSET off
put_node () {
    clock_prefix "${3:-}"
    put_rc=0
    "${prefix[@]}" "$HUTONG" put --node "$(node_client "$1")" --node-key "$work/$1.key.pub" \
        --key "$work/$1.key" --idkey net.idkey "$2" > put.out 2> put.err || put_rc=$?
    if [ "$put_rc" = 0 ]; then cat "$2" >> acked.jsonl; fi
}
#  put_store REGION FILE [OFFSET]: hutong put --store into REGION's store
put_store () {
    clock_prefix "${3:-}"
    put_rc=0
    "${prefix[@]}" "$HUTONG" put --store "$(node_store "$1")" --key "$work/$1.key" "$2" \
        > put.out 2> put.err || put_rc=$?
    if [ "$put_rc" = 0 ]; then cat "$2" >> acked.jsonl; fi
}
summary () { json_get put.out "$1"; }

#  acked_everywhere: every acknowledged write is current at every node
#  that should hold it (the holder rule), by citizen ID and name
acked_everywhere () {
    python3 - "$work" "${all[@]}" <<'PY'
import json, os, subprocess, sys
work, nodes = sys.argv[1], sys.argv[2:]
def prefix(code):
    end = 2
    for start, width in ((0, 2), (2, 2), (4, 2), (6, 3), (9, 3)):
        if int(code[start:start + width]):
            end = start + width
    return code[:end]
covers = lambda a, b: prefix(b).startswith(prefix(a))
want = {}
for line in open(os.path.join(work, "acked.jsonl")):
    draft = json.loads(line)
    want[draft["fields"]["id_no"]] = draft      # the last write of each elder
missing = []
for node in nodes:
    listed = subprocess.run([os.environ["HUTONG"], "list", "--store", f"{work}/{node}.store",
                             "--kind", "elder", "--limit", "0"],
                            capture_output=True, text=True, check=True).stdout
    have = {r["fields"]["id_no"]: r["fields"]["name"] for r in map(json.loads, listed.splitlines())}
    for id_no, draft in want.items():
        if covers(node, draft["region"]) or covers(draft["scope"], node):
            if have.get(id_no) != draft["fields"]["name"]:
                missing.append("%s holds %s as %s" % (node, draft["fields"]["name"], have.get(id_no)))
if missing:
    print("%d not where they belong, e.g. %s" % (len(missing), missing[:4]), file=sys.stderr)
    sys.exit(1)
print("%d acknowledged writes current at every holder" % len(want))
PY
}
wait_acked () {
    wait_until "$1" acked_everywhere >/dev/null 2>&1 || { acked_everywhere || true; fail "$2"; }
    ok "$2 ($(acked_everywhere))"
}

#  status_of REGION EXPR: a Python expression over REGION's status (j)
status_of () {
    node_status "$1" > "status-$1.json" 2>/dev/null || return 1
    json_get "status-$1.json" "$2"
}
#  is REGION EXPR: the expression holds for REGION's status now
is () { [ "$(status_of "$1" "bool($2)" 2>/dev/null)" = True ]; }
#  A peer's entry in j, by region
peer () { echo "[p for p in j['peers'] if p['region'] == '$1'][0]"; }
#  The clock_skew warnings naming a peer (None: about our own clock)
skew_warnings () { echo "[w for w in j['warnings'] if w['code'] == 'clock_skew' and w.get('peer') == $1]"; }

#  metric REGION SAMPLE: a sample of REGION's /metrics
metric () {
    local line url
    line="$(grep -a "metrics on http://" "$(node_log "$1")" | tail -n 1)"
    url="$(sed -E 's|.*(http://[0-9.]+:[0-9]+)/metrics.*|\1|' <<<"$line")"
    helper scrape "$url/metrics" > "metrics-$1.json" || fail "$1's /metrics does not parse"
    json_get "metrics-$1.json" "j.get('$2')"
}
label () { echo "hutong_peer_clock_skew_seconds{peer=\"$1\",region=\"$1\",role=\"$2\"}"; }
#  metric_is REGION SAMPLE EXPR: within 5 s, the sample (x) satisfies EXPR
#  (the endpoint serves a snapshot made at most a second ago)
metric_holds () {
    python3 -c 'import sys; x = float(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' \
        "$(metric "$1" "$2")" "$3" 2>/dev/null
}
metric_is () {
    wait_until 5 metric_holds "$1" "$2" "$3" \
        || fail "$1's $2 is $(metric "$1" "$2"), not $3"
    ok "$4"
}

#  No clock entry left in any node's quarantine
no_clock_quarantine () {
    local region
    for region in "${all[@]}"; do
        is "$region" "j['quarantine'].get('clock', 0) == 0" || return 1
    done
}

#  --------------------------------------------------------------------------
#  1. The township 10 minutes ahead

skew_node "$town" "+10m"
network_wait_connected 30
wait_until 20 is "$town" "j['clock']['skewed'] and 595000 < j['clock']['skew_ms'] < 605000" \
    || fail "the township does not find its clock 10 minutes ahead: $(cat "status-$town.json")"
expect_eq "$(status_of "$town" "'$county' in j['clock']['reference']")" True \
    "the township judges its clock 10 minutes ahead of its parent county's"
expect_eq "$(status_of "$town" "len($(skew_warnings None)) == 1 and 'refused as clock_skew' in $(skew_warnings None)[0]['text']")" \
    True "the township warns clock_skew: its writes are refused"
grep -aq "this node's clock is [56][0-9][0-9]\.[0-9] s ahead of its parent" "$(node_log "$town")" \
    || fail "the township logs no clock warning"
ok "the township logs that its clock is ahead of its parent's"
wait_until 10 is "$county" "590000 < $(peer "$town")['clock_offset_ms'] < 610000 and $(skew_warnings "'$town'")" \
    || fail "the county does not name the township's clock: $(cat "status-$county.json")"
ok "the county reads the township's clock 10 minutes ahead and warns clock_skew naming it"
grep -aq "the clock of child $town ($town) is [56][0-9][0-9]\.[0-9] s ahead of this node's" \
    "$(node_log "$county")" || fail "the county logs no warning about the township's clock"
ok "the county logs the township's clock when first seen"
wait_until 10 is "$comm" "not j['clock']['skewed'] and not j['clock']['pulls_paused'] and $(skew_warnings "'$town'")" \
    || fail "the community is not judged by the network's clock: $(cat "status-$comm.json")"
ok "the community judges its clock by the network's (through its parent's skew), right, and names the township's"
status_table () {
    "$HUTONG" status --node "$(node_client "$1")" --node-key "$work/$1.key.pub" \
        --key "$work/$1.key" --timeout 3000
}
status_table "$county" > county-table.out
grep -Eq "^$town +$town +child +yes .* \+(599|600)\.[0-9]s$" county-table.out \
    || fail "hutong status at the county shows no CLOCK of +600 s for the township: $(cat county-table.out)"
ok "hutong status at the county shows the township's CLOCK +600 s"
status_table "$town" > town-table.out
grep -Eq "^clock +(599|600)\.[0-9] s ahead of its parent $county \($county\)  SKEWED$" town-table.out \
    || fail "hutong status at the township does not show its clock SKEWED: $(cat town-table.out)"
grep -q "warning   clock_skew: this node's clock is" town-table.out \
    || fail "hutong status at the township shows no clock_skew warning: $(cat town-table.out)"
ok "hutong status at the township shows its clock SKEWED ahead of the county's, and the warning"
metric_is "$county" "$(label "$town" child)" "abs(x - 600) < 5" \
    "the county's hutong_peer_clock_skew_seconds for the township is 600"
metric_is "$town" hutong_clock_skew_seconds "abs(x - 600) < 5" \
    "the township's hutong_clock_skew_seconds is 600"
metric_is "$town" 'hutong_warnings{code="clock_skew"}' "x >= 1" \
    "the township's hutong_warnings{code=clock_skew} is set"

drafts "$town" "$town" "镇钟快" 3 > w1.jsonl
put_node "$town" w1.jsonl "+10m"
expect_eq "$put_rc/$(summary "(j['stored'], j['quarantined'])")" "1/(0, 3)" \
    "put --node at the township dated by its clock is refused, exit 1"
grep -q "quarantined: clock_skew" put.err || fail "put does not say clock_skew: $(cat put.err)"
ok "put --node says clock_skew"
drafts "$county" "$county" "县" 3 > w2.jsonl
put_node "$county" w2.jsonl
expect_eq "$put_rc" 0 "put --node at the county (a right clock) is acknowledged"
drafts "$comm" "$comm" "居" 3 > w3.jsonl
put_node "$comm" w3.jsonl
expect_eq "$put_rc" 0 "put --node at the community is acknowledged"

network_stop_node "$town" || fail "the township did not stop cleanly"
drafts "$town" "$town" "镇店快" 2 > w4.jsonl
put_store "$town" w4.jsonl "+10m"
expect_eq "$put_rc/$(summary "(j['stored'], j['quarantined'])")" "1/(0, 2)" \
    "put --store into the stopped township's store, on its clock, is refused (the lead it kept), exit 1"
grep -q "quarantined: clock_skew" put.err || fail "put --store does not say clock_skew: $(cat put.err)"
network_stop_node "$comm" || fail "the community did not stop cleanly"
drafts "$comm" "$comm" "居店快" 2 > w5.jsonl
put_store "$comm" w5.jsonl "+320"
expect_eq "$put_rc" 0 \
    "put --store into the stopped community's store by a tool 5 min 20 s ahead is acknowledged"
w5_at=$SECONDS

#  The township's clock set right: restarted without faketime
skew_node "$town" ""
network_start_node "$comm"
network_wait_connected 30
wait_until 10 is "$town" "not j['clock']['skewed'] and abs(j['clock']['skew_ms']) < 5000" \
    || fail "the township's clock is still judged off: $(cat "status-$town.json")"
ok "the township's clock is judged right again"
wait_until 10 is "$town" "j['quarantine'].get('clock', 0) == 2" \
    || fail "the community's records from 5 min 20 s ahead are not in the township's quarantine: $(cat "status-$town.json")"
ok "the records written 5 min 20 s ahead are quarantined at the township as clock"
wait_acked 60 "every acknowledged write is at every holder once no longer in the future"
grep -aq "quarantined records admitted on retry" "$(node_log "$town")" \
    || fail "the township did not admit them on retry"
ok "the township admitted them on retry, $((SECONDS - w5_at)) s after they were written"
wait_until 10 no_clock_quarantine || fail "a clock entry is left in a quarantine"
ok "no node's quarantine holds a clock entry"
wait_until 10 is "$county" "not $(skew_warnings "'$town'") and abs($(peer "$town")['clock_offset_ms']) < 5000" \
    || fail "the county still warns about the township's clock"
ok "the county's clock_skew warning cleared"
grep -aq "the clock of child $town ($town) agrees with this node's again" "$(node_log "$county")" \
    || fail "the county logs no line when the township's clock is right again"
ok "the county logs that the township's clock agrees again"

#  --------------------------------------------------------------------------
#  2. The township 4 minutes ahead: within what neighbours accept

skew_node "$town" "+4m"
network_wait_connected 30
wait_until 20 is "$town" "j['clock']['skewed'] and 235000 < j['clock']['skew_ms'] < 245000" \
    || fail "the township does not find its clock 4 minutes ahead: $(cat "status-$town.json")"
drafts "$town" "$town" "镇四" 3 > w6.jsonl
put_node "$town" w6.jsonl "+4m"
expect_eq "$put_rc" 0 \
    "put --node at the township dated by its clock 4 minutes ahead is acknowledged (within the window)"
wait_acked 30 "the township's writes 4 minutes ahead are at every holder"
sed 's/"name": "镇四/"name": "县改镇四/' w6.jsonl > w7.jsonl
put_node "$county" w7.jsonl
expect_eq "$put_rc/$(summary "(j['stored'], j['historic'], j['restamped'])")" "0/(3, 0, 3)" \
    "put --node at the county of updates of them: timestamped after them, stored, exit 0"
grep -q "ahead of this machine's clock; timestamped after it and sent again" put.err \
    || fail "put does not say the node's versions are ahead of its clock: $(cat put.err)"
ok "put --node says the versions it follows are ahead of its clock"
skew_node "$town" ""
network_wait_connected 30
wait_acked 30 "the updates are current at every holder, not history"

#  --------------------------------------------------------------------------
#  3. The township 10 minutes behind

skew_node "$town" "-10m"
network_wait_connected 30
wait_until 20 is "$town" "j['clock']['pulls_paused'] and -605000 < j['clock']['skew_ms'] < -595000" \
    || fail "the township does not find its clock 10 minutes behind: $(cat "status-$town.json")"
ok "the township judges its clock 10 minutes behind the county's and pulls from no neighbour"
expect_eq "$(status_of "$town" "'pulls from no neighbour' in $(skew_warnings None)[0]['text']")" True \
    "the township warns clock_skew: its pulls are paused"
grep -aq "this node's clock is [56][0-9][0-9]\.[0-9] s behind its parent .*pulls from none of them" \
    "$(node_log "$town")" || fail "the township logs no warning that it pulls from nobody"
ok "the township logs that it pulls from none of its neighbours"
metric_is "$town" hutong_clock_pulls_paused "x == 1" "the township's hutong_clock_pulls_paused is 1"
metric_is "$county" "$(label "$town" child)" "abs(x + 600) < 5" \
    "the county's hutong_peer_clock_skew_seconds for the township is -600"
wait_until 10 is "$county" "-610000 < $(peer "$town")['clock_offset_ms'] < -590000 and $(skew_warnings "'$town'")" \
    || fail "the county does not name the township's clock behind: $(cat "status-$county.json")"
ok "the county reads the township's clock 10 minutes behind and warns naming it"
wait_until 10 is "$comm" "not j['clock']['pulls_paused']" || fail "the community stopped pulling"
ok "the community, judged by the network's clock, keeps pulling"

drafts "$county" "$county" "县二" 3 > w8.jsonl
put_node "$county" w8.jsonl
expect_eq "$put_rc" 0 "put --node at the county is acknowledged"
drafts "$comm" "$comm" "居二" 3 > w9.jsonl
put_node "$comm" w9.jsonl
expect_eq "$put_rc" 0 "put --node at the community is acknowledged"
drafts "$town" "$town" "镇钟慢" 2 > w10.jsonl
put_node "$town" w10.jsonl
expect_eq "$put_rc/$(summary "(j['stored'], j['quarantined'])")" "1/(0, 2)" \
    "put --node at the township by a right clock is refused, exit 1"
grep -q "quarantined: clock_skew" put.err || fail "put does not say clock_skew: $(cat put.err)"
drafts "$town" "$town" "镇慢" 2 > w11.jsonl
put_node "$town" w11.jsonl "-10m"
expect_eq "$put_rc" 0 "put --node at the township dated by its clock (10 minutes back) is acknowledged"
w8_first="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["fields"]["id_no"])' w8.jsonl)"
expect_eq "$("$HUTONG" list --store "$(node_store "$town")" --kind elder --limit 0 | grep -c "$w8_first" || true)" 0 \
    "the county's new record has not been pulled by the township: it waits in the county's log"
expect_eq "$(status_of "$town" "$(peer "$county")['lag'] > 0 and j['clock']['pulls_paused']")" True \
    "the township's lag toward the county shows it"
expect_eq "$(status_of "$town" "j['quarantine'].get('clock', 0)")" 0 \
    "nothing of the county's or the community's is quarantined at the township meanwhile"

#  Set right while it runs (as NTP steps a clock): its readings of the
#  county's clock say so within a few heartbeats, and it pulls again
echo "+0" > "$work/$town.faketime"
wait_until 20 is "$town" "not j['clock']['skewed'] and not j['clock']['pulls_paused']" \
    || fail "the township's clock is still judged off: $(cat "status-$town.json")"
ok "the township's clock, stepped right while it runs, is judged right again, and it pulls"
grep -aq "this node's clock agrees with its parent .*again.*pulling from its neighbours again" \
    "$(node_log "$town")" || fail "the township logs no line when its clock is right again"
ok "the township logs that its clock agrees again and it pulls again"
wait_acked 30 "every acknowledged write is at every holder once the clock behind is right"
#  And restarted without faketime
skew_node "$town" ""
network_wait_connected 30
wait_until 10 is "$town" "j['clock']['skew_ms'] is not None and not j['clock']['skewed']" \
    || fail "the township's clock is judged off after the restart: $(cat "status-$town.json")"
grep -aq "this node's clock agrees with its parent" "$(node_log "$town")" \
    || fail "the restarted township does not log that its clock agrees with its parent's"
ok "the restarted township logs that its clock agrees with its parent's"

#  --------------------------------------------------------------------------
#  4. The township 3 minutes behind: within what it still pulls through

skew_node "$town" "-3m"
network_wait_connected 30
wait_until 20 is "$town" "j['clock']['skewed'] and not j['clock']['pulls_paused'] and -185000 < j['clock']['skew_ms'] < -175000" \
    || fail "the township does not find its clock 3 minutes behind: $(cat "status-$town.json")"
ok "the township judges its clock 3 minutes behind, and still pulls"
#  A record written at the county dated 2.5 minutes ahead (a client's
#  clock, within the county's window) is 5.5 minutes in the township's
#  future: quarantined there as clock, retried, and admitted once the
#  township's clock is stepped right while it runs
"$HUTONG" schema --json > schema.json
drafts "$county" "$county" "县快" 1 > w12.jsonl
HUTONG_SCHEMA="$work/schema.json" python3 "$here/partner/hutong_client.py" put-elder \
    --node "$(node_client "$county")" --node-key "$county.key.pub" --key "$county.key" \
    --idkey net.idkey --region "$county" --scope "$county" \
    --id-no "$(json_get w12.jsonl "j['fields']['id_no']")" --name "$(json_get w12.jsonl "j['fields']['name']")" \
    --hlc-ms "$(( $(date +%s%3N) + 150000 ))" > w12.out || fail "the county refused the record ahead: $(cat w12.out)"
cat w12.jsonl >> acked.jsonl
ok "a record dated 2.5 minutes ahead is acknowledged at the county"
wait_until 20 is "$town" "j['quarantine'].get('clock', 0) == 1" \
    || fail "the record is not quarantined at the township as clock: $(cat "status-$town.json")"
ok "the township, 3 minutes behind, quarantines it as clock"
expect_eq "$(status_of "$town" "len([w for w in j['warnings'] if w['code'] == 'clock_quarantined'])")" 1 \
    "the township warns clock_quarantined"
echo "+0" > "$work/$town.faketime"
wait_acked 30 "once the township's clock is right, the record is admitted on retry and at every holder"
skew_node "$town" ""
network_wait_connected 30

wait_until 10 no_clock_quarantine || fail "a clock entry is left in a quarantine"
ok "no node's quarantine holds a clock entry"
for region in "${all[@]}"; do
    expect_eq "$(status_of "$region" "len([w for w in j['warnings'] if w['code'].startswith('clock')])")" 0 \
        "$region has no clock warning left"
done

scenario_done=1
