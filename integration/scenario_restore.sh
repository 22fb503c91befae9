#!/usr/bin/env bash
#  Restoring a node never loses an acknowledged record. Writers keep
#  putting elders at a community, at its township and at the county
#  (`hutong put --node`, each batch acknowledged by exit 0) while nodes
#  are backed up hot, stopped, rolled back and started again, four ways:
#    1. the township restored with `hutong backup` / `hutong restore`;
#    2. the township's data file overwritten by a copy taken earlier
#       (found by the store's high-water mark);
#    3. the county's whole store directory put back from a cold copy,
#       mark and all (found by its peers: a pull from past its log);
#    4. the community's store lost and made anew with `hutong init`.
#  Each time the node takes a new epoch; its neighbours read it again and
#  it asks them for everything it should hold, including what it wrote
#  itself after the copy. Afterwards every acknowledged record is at
#  every node the holder rule puts it on, and the holders agree.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"
use_debian_python
show_logs_on_failure
city=441800000000 county=441802000000 township=441802001000
community_a=441802001001 community_b=441802001002
chunk=5                             #  drafts per put

network_chain $city $county $township $community_a
network_add $community_b $township
network_start
network_wait_connected 30
ok "a five-node network is running"

#  One gen run, so no citizen ID appears twice; each writer its own share
"$HUTONG" gen --seed 23 --elders 6000 --facilities 0 --credit 0 --counties 1 --townships 1 --communities 1 > all.jsonl
split_for () {   #  split_for NAME REGION FIRST COUNT
    sed -n "$3,$(( $3 + $4 - 1 ))p" all.jsonl \
        | "$python" "$here/holders.py" set region="$2" scope="$2" fields.hukou_region="$2" \
        | "$python" -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l); r["fields"].pop("residence_region", None); print(json.dumps(r, ensure_ascii=False))' \
        > "$1.drafts"
    mkdir -p "$1.chunks"
    split -l $chunk -d -a 4 "$1.drafts" "$1.chunks/c"
}
split_for community $community_a 1 2000
split_for township $township 2001 2000
split_for county $community_b 4001 2000
ok "drafts for three writers: community, township, county (into the other community)"

#  writer NAME REGION: put each chunk at REGION's node; an acknowledged
#  chunk (exit 0) is appended to NAME.acked, a refused one to NAME.refused
writer () {
    local name="$1" region="$2" file
    for file in "$name.chunks"/c*; do
        [ -e writers.stop ] && break
        while [ -e "$name.pause" ]; do touch "$name.paused"; sleep 0.05; done
        rm -f "$name.paused"
        if "$HUTONG" put --node "$(node_client "$region")" --node-key "$region.key.pub" \
               --key "$region.key" --idkey net.idkey "$file" >/dev/null 2>&1; then
            cat "$file" >> "$name.acked"
        else
            cat "$file" >> "$name.refused"
            sleep 0.2
        fi
    done
}
: > community.acked; : > township.acked; : > county.acked
start_bg w_community writers.log writer community $community_a
start_bg w_township writers.log writer township $township
start_bg w_county writers.log writer county $county
acked () { cat community.acked township.acked county.acked | wc -l; }
acked_ge () { [ "$(acked)" -ge "$1" ]; }
wait_until 30 acked_ge 150 || fail "the writers did not get going"
ok "three writers are putting (acknowledged so far: $(acked))"

#  restart_node REGION: start it again and wait until its peers are back
restart_node () {
    network_start_node "$1"
    network_wait_connected 30
}
expect_new_epoch () {   #  expect_new_epoch REGION WHAT
    grep -q "NEW EPOCH" "$(node_log "$1")" || fail "$1 took no new epoch after $2"
    ok "$1 logged a new epoch after $2"
}

#  1. hutong backup while the node runs under load; restore by command
"$HUTONG" backup --store "$(node_store $township)" --out township.bak --json > backup.json \
    || fail "hutong backup failed"
expect_eq "$(stat -c %a township.bak)" "600" "the backup file is mode 0600"
expect_eq "$(json_get backup.json "j['region']")" "$township" "its manifest names the region"
[ "$(json_get backup.json "j['records']['elder']")" -ge 1 ] || fail "the backup holds no elders"
ok "hot backup of the township under load: $(json_get backup.json "j['records']['elder']") elders, sequence $(json_get backup.json "j['last_seq']")"
"$HUTONG" backup --show township.bak --json > shown.json
expect_eq "$(json_get shown.json "j['last_seq']")" "$(json_get backup.json "j['last_seq']")" \
    "backup --show reads the same manifest"
expect_exit 2 "a backup never overwrites a file" -- \
    "$HUTONG" backup --store "$(node_store $township)" --out township.bak
before=$(acked)
wait_until 30 acked_ge $((before + 100)) || fail "writes stalled after the backup"
expect_exit 3 "restore refuses while the node runs" -- \
    "$HUTONG" restore --from township.bak --store "$(node_store $township)"
network_stop_node $township
: > "$(node_log $township)"
"$HUTONG" restore --from township.bak --store "$(node_store $township)" --json > restored.json \
    || fail "hutong restore failed"
[ "$(json_get restored.json "j['new_epoch']")" != "$(json_get backup.json "j['epoch']")" ] \
    || fail "the restored store kept the backup's epoch"
ok "restored the township from its backup with a new epoch"
restart_node $township
wait_until 10 grep -q "peer $township has a new store epoch" "$(node_log $county)" \
    || fail "the county did not see the township's new epoch"
ok "the county reads the restored township again from zero"

#  2. a plain copy over the data file: the high-water mark finds it
"$HUTONG" backup --store "$(node_store $township)" --out township2.bak >/dev/null
before=$(acked)
wait_until 30 acked_ge $((before + 100)) || fail "writes stalled after the copy"
network_stop_node $township
: > "$(node_log $township)"
cp township2.bak "$(node_store $township)/data.mdb"
ok "copied an older data file over the township's (a plain file copy)"
restart_node $township
expect_new_epoch $township "a plain copy of its data file"
grep -q "rolled back\|another epoch" "$(node_log $township)" \
    || fail "the township's log does not say it was rolled back"

#  3. the county's whole directory put back from a cold copy
network_stop_node $county
cp -a "$(node_store $county)" county.copy
restart_node $county
before=$(acked)
wait_until 30 acked_ge $((before + 100)) || fail "writes stalled after the county's copy"
network_stop_node $county
rm -rf "$(node_store $county)"
cp -a county.copy "$(node_store $county)"
: > "$(node_log $county)"
ok "put the county's whole store directory back from a copy (mark included)"
restart_node $county
wait_until 30 grep -q "NEW EPOCH" "$(node_log $county)" || fail "the county did not find its rollback"
ok "the county found it was rolled back from its peers' cursors"

#  4. the community's store lost: a fresh store, filled by its neighbours.
#  What it had not sent anyone yet is lost with its disk, so its writer
#  pauses until its township has everything
before=$(acked)
wait_until 30 acked_ge $((before + 50)) || fail "writes stalled"
touch community.pause
wait_until 30 test -e community.paused || fail "the community's writer did not pause"
#  The township has pulled all the community has: its cursor for the
#  community is the community's last sequence (the other writers go on)
township_has_all_of_a () {
    local seq cursor
    seq=$(node_status $community_a | "$python" -c 'import json,sys; print(json.load(sys.stdin)["last_seq"])')
    cursor=$(node_status $township | "$python" -c '
import json, sys
print([p["cursor"] for p in json.load(sys.stdin)["peers"] if p["region"] == sys.argv[1]][0])' $community_a)
    [ "$cursor" = "$seq" ]
}
wait_until 60 township_has_all_of_a || fail "the township did not pull all the community had"
network_stop_node $community_a
rm -rf "$(node_store $community_a)"
network_start_node $community_a
network_wait_connected 30
rm -f community.pause
ok "the community's store was lost and made anew with hutong init"

before=$(acked)
wait_until 30 acked_ge $((before + 100)) || fail "writes stalled at the end"
touch writers.stop
for name in w_community w_township w_county; do stop_bg "$name" 30 || true; done
ok "writers stopped: $(acked) drafts acknowledged, $(cat *.refused 2>/dev/null | wc -l) refused while nodes were down"

#  Convergence: wait until every node holds what it should
export_all () {
    local region
    for region in "${network_regions[@]}"; do
        "$HUTONG" export --store "$(node_store "$region")" --kind elder 2>/dev/null > "$region.export"
    done
}
checked () {
    export_all
    "$python" "$here/restore_check.py" community.acked township.acked county.acked -- \
        $(for r in "${network_regions[@]}"; do printf '%s=%s.export ' "$r" "$r"; done) > check.json
}
wait_until 120 checked || { cat check.json >&2; fail "acknowledged records are missing"; }
expect_eq "$(json_get check.json "j['lost']")" "0" \
    "every acknowledged record is at every holder ($(json_get check.json "j['acknowledged']") acknowledged, $(json_get check.json "j['checked']") placements checked, $(json_get check.json "j['lost']") lost)"

#  The holders agree on each version
network_wait_idle 60
versions () {
    "$python" -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["region"].startswith(sys.argv[2]): print(r["key"], r["hlc"], r["sig"])' "$1.export" "$2" | sort
}
export_all
versions $city 441802001 > city.v; versions $county 441802001 > county.v
versions $township 441802001 > township.v
cmp -s city.v county.v && cmp -s county.v township.v \
    || fail "the city, county and township hold different versions"
versions $community_a $community_a > a.v; versions $township $community_a > ta.v
cmp -s a.v ta.v || fail "the rebuilt community and its township hold different versions"
ok "city, county, township and the rebuilt community agree on every version ($(wc -l < city.v) elders)"
for region in "${network_regions[@]}"; do
    q=$(node_status "$region" | "$python" -c 'import json,sys; print(sum(json.load(sys.stdin)["quarantine"].values()))')
    expect_eq "$q" "0" "nothing quarantined at $region"
done
scenario_done=1
