#!/usr/bin/env bash
#  The demonstration: a four-tier network on 127.0.0.1 — 清远市 (city),
#  清城区 (county), 凤城街道 (township) and two communities — started from
#  generated keys, certificates and sample data. Records written at each
#  tier are shown arriving at the others as they replicate; redacted copies
#  verify; departments query the county through their read policies and
#  their reads are audited up to the city; forged and out-of-jurisdiction
#  writes are refused. On a terminal
#  the network keeps running until Ctrl-C; every node is stopped on exit.
#  Usage: tools/demo.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
export HUTONG="$build/tools/hutong" HUTONGD="$build/node/hutongd"
source "$root/integration/lib.sh"
source "$root/integration/network.sh"

city=441800000000 county=441802000000 township=441802001000
east=441802001001 west=441802001002
bold () { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say () { printf '$ %s\n' "$*"; }

#  A line per node: how many records of each kind it holds
show_holdings () {
    local region
    printf '  %-14s %-10s %6s %8s %6s %5s %10s\n' node tier elder facility credit cert quarantine
    for region in "${network_regions[@]}"; do
        node_status "$region" | python3 -c '
import json, sys, unicodedata
def pad(text, width):
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 0)
s = json.load(sys.stdin); r = s["records"]; q = sum(s["quarantine"].values())
tiers = {12: "community", 9: "township", 6: "county", 4: "city"}
code = s["region"]; digits = len(code.rstrip("0"))
tier = next(t for n, t in sorted(tiers.items()) if digits <= n)
print("  %s %-10s %6d %8d %6d %5d %10d" % (pad(s["name"], 14), tier, r["elder"], r["facility"],
      r["credit"], r["cert"], q))'
    done
}

#  Poll until a node holds at least N records of a kind
wait_for () {
    local region="$1" kind="$2" want="$3" deadline=$((SECONDS + 30))
    until [ "$(node_status "$region" | python3 -c "import json,sys; print(json.load(sys.stdin)['records']['$kind'])")" -ge "$want" ]; do
        [ $SECONDS -lt $deadline ] || fail "$kind did not reach $region"
        sleep 0.1
    done
}

bold "Keys and certificates: each tier certifies the one below"
network_add $city "" 清远市
network_add $county $city 清城区
network_add $township $county 凤城街道
network_add $east $township 东门社区
network_add $west $township 西门社区
"$HUTONG" cert show $east.cert | python3 -m json.tool --no-ensure-ascii | sed 's/^/  /' | head -14

bold "Five hutongd nodes on 127.0.0.1 (CurveZMQ; each admits only certified neighbours)"
network_start
network_wait_connected 30
for region in "${network_regions[@]}"; do
    printf '  %s  pid %s  client %s\n' "$region" "$(node_pid "$region")" "$(node_client "$region")"
done
show_holdings

bold "A community records its elders (flow up only: township, county, city)"
"$HUTONG" gen --seed 2026 --elders 200 --counties 1 --townships 1 --communities 1 \
    | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line); r["region"] = r["scope"] = sys.argv[1]
    r["fields"]["hukou_region"] = sys.argv[1]; r["fields"].pop("residence_region", None)
    print(json.dumps(r, ensure_ascii=False))' $east > elders.jsonl
say "hutong put --node $(node_client $east) --key 东门社区.key elders.jsonl"
"$HUTONG" put --node "$(node_client $east)" --node-key $east.key.pub --key $east.key \
    --idkey net.idkey elders.jsonl
wait_for $city elder 200
show_holdings

bold "The county registers facilities (scope: the county, so every tier inside it sees them)"
"$HUTONG" gen --seed 2026 --facilities 12 --counties 1 > facilities.jsonl
say "hutong put --store 清城区.store --key 清城区.key facilities.jsonl"
"$HUTONG" put --store "$(node_store $county)" --key $county.key facilities.jsonl
wait_for $east facility 12
wait_for $west facility 12
show_holdings

bold "The city's market regulator lists a facility (scope: the city, reaching every node)"
"$HUTONG" gen --seed 2026 --facilities 12 --credit 30 --counties 1 | tail -n 30 \
    | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    r["scope"] = r["fields"]["issuer_region"] = sys.argv[1]
    print(json.dumps(r, ensure_ascii=False))' $city > credit.jsonl
"$HUTONG" put --store "$(node_store $city)" --key $city.key credit.jsonl
wait_for $west credit 30
show_holdings

bold "What a partner may see of an elder: redacted, masked, and still verifiable"
key="$("$HUTONG" list --store "$(node_store $city)" --kind elder --limit 1 \
       | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["key"])')"
say "hutong get --store 清远市.store --policy partner elder $key"
"$HUTONG" get --store "$(node_store $city)" --policy partner elder "$key" > partner.json
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("  disclosed:", json.dumps(r["fields"], ensure_ascii=False))
print("  masked (unsigned hints):", json.dumps(r.get("masked", {}), ensure_ascii=False))
print("  withheld (digests only):", ", ".join(sorted(r.get("withheld", {}))))' partner.json
say "hutong verify partner.json"
"$HUTONG" verify partner.json | sed 's/^/  /'

bold "Departments query the county over CurveZMQ, each through its read policy"
for department in health finance fire; do
    make_key $department 清城区$department
    make_cert $county $department $county --role department --department $department
done
make_key operator 清远市运维
make_cert $city operator $city --role operator
"$HUTONG" put --store "$(node_store $county)" --quiet health.cert finance.cert fire.cert
"$HUTONG" put --store "$(node_store $city)" --quiet operator.cert
id_no="$(head -n 1 elders.jsonl | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["fields"]["id_no"])')"
county_read () {
    local who="$1"; shift
    "$HUTONG" "$1" --node "$(node_client $county)" --node-key $county.key.pub --key $who.key "${@:2}"
}
say "hutong find --node <清城区> --key health.key --purpose care_service elder $id_no"
county_read health find --purpose care_service elder "$id_no" | sed 's/^/  /'
say "hutong find --node <清城区> --key finance.key --purpose subsidy_review elder $id_no   (~ masked)"
county_read finance find --purpose subsidy_review elder "$id_no" | sed 's/^/  /'
say "hutong find --node <清城区> --key health.key elder $id_no   (no purpose)"
county_read health find elder "$id_no" 2>&1 | sed 's/^/  /' || true
say "hutong count --node <清城区> --key fire.key --kind elder   (fire may count, not read)"
county_read fire count --kind elder | sed 's/^/  /'
say "hutong audit --node <清远市> --key operator.key   (the reads, audited at the county, reached the city)"
deadline=$((SECONDS + 30))
until [ "$("$HUTONG" audit --node "$(node_client $city)" --node-key $city.key.pub --key operator.key --json | wc -l)" -ge 2 ]; do
    [ $SECONDS -lt $deadline ] || fail "the audit records did not reach the city"
    sleep 0.2
done
"$HUTONG" audit --node "$(node_client $city)" --node-key $city.key.pub --key operator.key --json \
    | python3 -c '
import json, sys
for line in sys.stdin:
    f = json.loads(line)["fields"]
    print("  %s read %s %s for %s: %s" % (f["client_name"], f["subject_kind"], ",".join(f["subjects"])[:16],
          f.get("purpose"), " ".join(f["fields"] + [m + "~" for m in f.get("masked", [])])))'

bold "Refused: a forged record, and a community writing another community's elder"
"$HUTONG" get --store "$(node_store $city)" elder "$key" | sed 's/"status":"active"/"status":"deceased","status_date":"20261101"/' > forged.json
say "hutong verify forged.json"
"$HUTONG" verify forged.json | sed 's/^/  /' || true
head -n 1 elders.jsonl | python3 -c '
import json, sys
r = json.loads(sys.stdin.read()); r["region"] = r["scope"] = r["fields"]["hukou_region"] = sys.argv[1]
print(json.dumps(r, ensure_ascii=False))' $west > foreign.jsonl
say "hutong put --node <凤城街道> --key 东门社区.key foreign.jsonl   (an elder of 西门社区)"
"$HUTONG" put --node "$(node_client $township)" --node-key $township.key.pub --key $east.key \
    --idkey net.idkey foreign.jsonl 2>&1 | sed 's/^/  /' || true
show_holdings

bold "凤城街道's view of its neighbours"
"$HUTONG" status --node "$(node_client $township)" --node-key $township.key.pub --key $township.key \
    | sed 's/^/  /'

if [ -t 0 ] && [ -t 1 ]; then
    bold "The network is running in $work. Press Ctrl-C to stop every node."
    trap 'echo; echo "stopping..."; exit 0' INT
    while true; do sleep 1; done
fi
bold "Done: stopping every node"
