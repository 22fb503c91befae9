#!/usr/bin/env bash
#  A relay killed with SIGKILL in the middle of a bulk transfer loses
#  nothing: after a restart it resumes from the cursor committed with its
#  last batch, and the city ends with exactly every record, none twice,
#  nothing quarantined. Then the same for the city itself.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"
show_logs_on_failure
records="${HUTONG_IT_CRASH_RECORDS:-20000}"
city=441800000000 county=441802000000 township=441802001000 community=441802001001

#  Small batches, so the kill lands between many commits
NETWORK_BATCH=500
network_chain $city $county $township $community
network_start
network_wait_connected 30

elder_count () { node_status "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"]["elder"])'; }
quarantined () { node_status "$1" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["quarantine"].values()))'; }

#  wait_count REGION N SECONDS: until REGION holds N elders
wait_count () {
    local deadline=$((SECONDS + $3))
    until [ "$(elder_count "$1")" -ge "$2" ]; do
        [ $SECONDS -lt $deadline ] || fail "$1 holds $(elder_count "$1") elders, not $2"
        sleep 0.1
    done
}

#  One run of gen for both rounds, so no citizen ID appears twice
"$HUTONG" gen --seed 11 --elders $((records * 2)) --counties 1 --townships 1 --communities 1 \
    | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line); r["region"] = r["scope"] = r["fields"]["hukou_region"] = sys.argv[1]
    r["fields"].pop("residence_region", None)
    print(json.dumps(r, ensure_ascii=False))' $community > all.jsonl
head -n "$records" all.jsonl > elders.jsonl
tail -n +$((records + 1)) all.jsonl > more.jsonl
#  A node stopped (SIGSTOP) passes nothing on: each stream below starts
#  only when its relay is let go, whatever the machine's speed
stopped=()
cleanup_hooks=('for pid in "${stopped[@]+"${stopped[@]}"}"; do kill -CONT "$pid" 2>/dev/null; done'
               "${cleanup_hooks[@]}")
hold () { stopped+=("$(node_pid "$1")"); kill -STOP "$(node_pid "$1")"; }
release () { kill -CONT "$(node_pid "$1")"; }

#  kill_mid_stream REGION RELAY N TOTAL: RELAY (held) is let run 50 ms at
#  a time, and stopped while REGION is counted (so REGION gets at most
#  what is in flight), until REGION holds N elders; then REGION is killed,
#  perhaps in the middle of applying, holding fewer than TOTAL, and
#  restarted with RELAY running again
kill_mid_stream () {
    local region="$1" relay="$2" n="$3" total="$4" deadline=$((SECONDS + 60)) held
    until [ "$(elder_count "$region")" -ge "$n" ]; do
        [ $SECONDS -lt $deadline ] || fail "$region holds $(elder_count "$region") elders after 60 s, not $n"
        release "$relay"
        sleep 0.05
        kill -STOP "$(node_pid "$relay")"
    done
    kill -KILL "$(node_pid "$region")"
    wait "$(node_pid "$region")" 2>/dev/null || true
    network_pid_of[$region]=""
    held="$("$HUTONG" export --store "$(node_store "$region")" --kind elder 2>/dev/null | wc -l)"
    ok "$region was killed mid-stream holding $held of $total elders"
    [ "$held" -lt "$total" ] || fail "the kill of $region came too late to test anything"
    release "$relay"
    network_start_node "$region"
}

#  Kill the county while records stream through it
hold $township
"$HUTONG" put --store "$(node_store $community)" --key $community.key --quiet elders.jsonl
ok "the community stored $records elders"
kill_mid_stream $county $township $((records / 10)) "$records"
wait_count $city "$records" 120
expect_eq "$(elder_count $county)" "$records" "the restarted county holds every elder once"
expect_eq "$(elder_count $city)" "$records" "the city holds every elder once"
expect_eq "$(quarantined $county)$(quarantined $city)" "00" "nothing was quarantined"

#  Kill the city mid-stream too: it is the last hop
total=$((records * 2))
hold $county
"$HUTONG" put --store "$(node_store $community)" --key $community.key --quiet more.jsonl
kill_mid_stream $city $county $((records + records / 10)) "$total"
wait_count $city "$total" 120
expect_eq "$(elder_count $city)" "$total" "the restarted city holds every elder once"

#  The versions agree everywhere the holder rule puts them
for region in $county $city; do
    "$HUTONG" export --store "$(node_store $region)" --kind elder 2>/dev/null \
        | python3 -c 'import json,sys; [print(r["key"], r["hlc"], r["sig"]) for r in map(json.loads, sys.stdin)]' \
        | sort > "$region.versions"
done
cmp -s $county.versions $city.versions || fail "the county and the city hold different versions"
ok "the county and the city hold identical versions of all $total elders"
"$HUTONG" verify --store "$(node_store $city)" <("$HUTONG" export --store "$(node_store $city)" 2>/dev/null) > verify.json
expect_eq "$(json_get verify.json "j['invalid']")" "0" "every record at the city verifies after the crashes"
scenario_done=1
