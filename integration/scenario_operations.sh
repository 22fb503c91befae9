#!/usr/bin/env bash
#  What county IT staff do by hand on a network they build themselves:
#  - `gen --region CODE` writes data for one county, township or
#    community only, with the names the city's tree gives those places,
#    and refuses a code it has no place for;
#  - a node set up with `init` without --idkey (here the township)
#    replicates elders and stores facilities, while what needs the
#    pseudonym key (an elder draft put through its store, FIND of an
#    elder by ID number at it) fails naming the idkey;
#  - `quarantine` groups rejected writes by reason, most frequent first,
#    with the author's jurisdiction when the store holds the author's
#    certificate; --summary counts, --purge --reason removes one group,
#    and --json gives the same for scripts.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"

county=441802000000 township=441802001000 community=441802001001 other=441802001002
show_logs_on_failure

#  records_outside CODE FILE: how many drafts of FILE have a region (or
#  hukou or residence region) not inside CODE, and how many of each kind
records_outside () {
    python3 - "$(region_prefix "$1")" "$2" <<'EOF'
import collections, json, sys
prefix = sys.argv[1]
kinds = collections.Counter(); outside = 0
for line in open(sys.argv[2]):
    r = json.loads(line); kinds[r["kind"]] += 1
    codes = [r["region"]] + [r["fields"][f] for f in ("hukou_region", "residence_region") if f in r["fields"]]
    outside += any(not code.startswith(prefix) for code in codes)
print(" ".join(["outside=%d" % outside] + ["%s=%d" % kv for kv in sorted(kinds.items())]))
EOF
}
#  place_name CODE: its name in the city's tree (tree.jsonl)
place_name () {
    python3 -c '
import json, sys
print("".join(p["name"] for p in map(json.loads, open("tree.jsonl")) if p["region"] == sys.argv[1]))' "$1"
}

#  --------------------------------------------------------------------------
#  gen --region

"$HUTONG" gen --seed 5 --regions > tree.jsonl
for code in 441802000000 441881000000 "$township" 441881101000 "$community" 441881101201; do
    "$HUTONG" gen --seed 5 --region "$code" --elders 200 --facilities 15 --credit 30 > "gen-$code.jsonl" \
        || fail "gen --region $code failed"
    expect_eq "$(records_outside "$code" "gen-$code.jsonl")" \
        "outside=0 credit=30 elder=200 facility=15" "gen --region $code: every record is inside it"
done
expect_eq "$("$HUTONG" gen --seed 5 --region "$community" --elders 50 | python3 -c '
import json, sys
print(sorted({json.loads(l)["region"] for l in sys.stdin}))')" "['$community']" \
    "the elders of a community region all live there"

#  Runs for two communities make different people, facilities and
#  documents: put together on one network, no key is shared
"$HUTONG" gen --seed 5 --region "$other" --elders 200 --facilities 15 --credit 30 > "gen-$other.jsonl"
expect_eq "$(python3 - "gen-$community.jsonl" "gen-$other.jsonl" <<'EOF'
import json, sys
def natural_keys(path):
    keys = set()
    for line in open(path):
        r = json.loads(line); f = r["fields"]
        keys.add((r["kind"], f.get("id_no") or f.get("uscc") or f.get("serial") or
                  (f.get("type"), f.get("issuer_region"), f.get("issuer_dept"), f.get("doc_no"))))
    return keys
print(len(natural_keys(sys.argv[1]) & natural_keys(sys.argv[2])))
EOF
)" "0" "two communities' runs share no citizen ID, USCC, serial or document number"

#  Its part of the tree, with the names the whole city's tree gives it
"$HUTONG" gen --seed 5 --regions --region "${township:0:9}" > township-tree.jsonl
grep "\"region\":\"${township:0:9}" tree.jsonl > expected-tree.jsonl
cmp -s township-tree.jsonl expected-tree.jsonl \
    || fail "gen --regions --region $township differs from the city tree's part: $(diff township-tree.jsonl expected-tree.jsonl | head -5)"
ok "gen --regions --region names the township's places as the city tree does"
expect_eq "$(head -n 1 township-tree.jsonl | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')" \
    "凤城街道" "the township keeps its real name"

expect_exit 2 "gen --region of a township the tree does not have" -- \
    "$HUTONG" gen --seed 5 --region 441802099000 --elders 1
grep -q "441802099000: the tree has no such place" "$work/last.err" \
    || fail "gen does not say the place is missing: $(cat "$work/last.err")"
expect_exit 2 "gen --region outside the city" -- "$HUTONG" gen --region 441900000000
grep -q "is not inside the city 441800000000" "$work/last.err" \
    || fail "gen does not say the region is outside the city: $(cat "$work/last.err")"
expect_exit 2 "gen --region of a malformed code" -- "$HUTONG" gen --region 44180200100X
[ -s "$work/last.err" ] && [ ! -s "$work/last.out" ] || fail "gen printed records for a malformed code"
ok "a malformed code prints nothing but the error"

#  --------------------------------------------------------------------------
#  A network whose township node holds no pseudonym key

community_name="$(place_name "$community")"
network_add "$county" "" "$(place_name "$county")"
network_add "$township" "$county" "$(place_name "$township")"
network_add "$community" "$township" "$community_name"
make_key stranger
"$HUTONG" init --store "$(node_store "$township")" --region "$township" \
    --anchor "$county.key.pub" > init.json || fail "init without --idkey failed"
expect_eq "$(json_get init.json "j['idkey']")" "False" "init without --idkey makes a store without one"
"$HUTONG" put --store "$(node_store "$township")" --quiet "$county.cert" "$township.cert" "$community.cert" \
    || fail "cannot store the township's certificates"
network_start
network_wait_connected 30
ok "the network runs with a township node set up without --idkey"

"$HUTONG" gen --seed 5 --region "$community" --elders 20 --facilities 0 > elders.jsonl
expect_exit 0 "the community puts its elders" -- \
    "$HUTONG" put --node "$(node_client "$community")" --node-key "$community.key.pub" \
    --key "$community.key" --idkey net.idkey elders.jsonl
township_elders () {
    [ "$(node_status "$township" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"]["elder"])')" = 20 ]
}
wait_until 30 township_elders || fail "the elders did not replicate to the township"
ok "the township replicates elders without the pseudonym key"

"$HUTONG" gen --seed 5 --region "$township" --elders 0 --facilities 5 > facilities.jsonl
expect_exit 0 "the county's facility drafts go into the township's store (no idkey needed)" -- \
    "$HUTONG" put --store "$(node_store "$township")" --key "$county.key" facilities.jsonl
expect_exit 1 "an elder draft put through the township's store is refused" -- \
    "$HUTONG" put --store "$(node_store "$township")" --key "$township.key" elders.jsonl
grep -q "pseudonym key (idkey), which this store does not hold (hutong init --idkey FILE)" "$work/last.err" \
    || fail "put does not name the missing idkey: $(cat "$work/last.err")"
ok "put names the idkey the store was set up without"

make_key health
make_cert "$township" health "$township" --role department --department health
"$HUTONG" put --store "$(node_store "$township")" --quiet health.cert
id_no="$(head -n 1 elders.jsonl | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["fields"]["id_no"])')"
#  The node takes up the certificate put into its store within a moment
township_find () {
    local status=0
    "$HUTONG" find --node "$(node_client "$township")" --node-key "$township.key.pub" --key health.key \
        --purpose care_service elder "$id_no" > find.out 2> find.err || status=$?
    [ "$status" = 3 ]
}
wait_until 15 township_find || fail "FIND at the township did not fail as an operational error: $(cat find.err)"
ok "FIND of an elder by ID number at the township fails (exit 3)"
grep -q "holds no network pseudonym key (idkey)" find.err \
    || fail "find does not name the missing idkey: $(cat find.err) $(cat find.out)"
ok "the township's answer names the idkey it was set up without"

#  --------------------------------------------------------------------------
#  quarantine triage at the county

"$HUTONG" gen --seed 5 --region "$other" --elders 1 --facilities 0 > foreign.jsonl
expect_exit 1 "the community writing another community's elder is refused" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key "$community.key" foreign.jsonl
"$HUTONG" gen --seed 5 --region "$community" --elders 22 --facilities 0 | tail -n 2 > two.jsonl
expect_exit 1 "a key without a certificate is refused" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key stranger.key two.jsonl

expect_exit 0 "quarantine lists the entries" -- "$HUTONG" quarantine --store "$(node_store "$county")"
cp "$work/last.out" triage.txt
expect_eq "$(grep -E '^[a-z_]+: ' triage.txt | cut -d' ' -f1-3)" "no_cert: 2 entries
out_of_scope: 1 entry" "entries are grouped by reason, the most frequent first"
grep -q "elder .* region $other  scope $other" triage.txt || fail "no record region and scope: $(cat triage.txt)"
grep -q "jurisdiction $community ($community_name, node)" triage.txt \
    || fail "the out-of-scope author's jurisdiction is not shown: $(cat triage.txt)"
grep -q "jurisdiction unknown (no certificate for it here)" triage.txt \
    || fail "the uncertified author is not marked as unknown: $(cat triage.txt)"
ok "each entry shows its region, scope and its author's jurisdiction"

"$HUTONG" quarantine --json --store "$(node_store "$county")" > triage.jsonl
expect_eq "$(python3 -c '
import json, sys
print([(j["error"], j["author_region"], j["region"]) for j in map(json.loads, open(sys.argv[1]))])' triage.jsonl)" \
    "[('no_cert', None, '$community'), ('no_cert', None, '$community'), ('out_of_scope', '$community', '$other')]" \
    "--json gives the same groups with author_region"

"$HUTONG" quarantine --summary --json --store "$(node_store "$county")" > summary.json
expect_eq "$(json_get summary.json "sorted(j['counts'].values())")" "[1, 2]" "--summary --json counts per reason and source"
"$HUTONG" quarantine --summary --store "$(node_store "$county")" > summary.txt
grep -qE "^no_cert +local +2$" summary.txt || fail "--summary does not show the no_cert count: $(cat summary.txt)"
ok "--summary shows a table"

expect_exit 2 "--purge --reason of an unknown reason" -- \
    "$HUTONG" quarantine --store "$(node_store "$county")" --purge --reason no_such_reason
expect_exit 0 "--purge --reason no_cert" -- \
    "$HUTONG" quarantine --store "$(node_store "$county")" --purge --reason no_cert
expect_eq "$(cat "$work/last.out")" "purged 2 entries" "purge says how many it removed"
expect_eq "$("$HUTONG" quarantine --json --store "$(node_store "$county")" | python3 -c '
import json, sys
print([json.loads(l)["error"] for l in sys.stdin])')" "['out_of_scope']" "only the other reason is left"
expect_exit 0 "--purge --json" -- "$HUTONG" quarantine --store "$(node_store "$county")" --purge --json
expect_eq "$(json_get "$work/last.out" "j['purged']")" "1" "--purge --json counts in JSON"
expect_eq "$("$HUTONG" quarantine --store "$(node_store "$county")")" "nothing quarantined" \
    "an empty quarantine says so"

scenario_done=1
