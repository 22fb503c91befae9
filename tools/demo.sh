#!/usr/bin/env bash
#  The demonstration: a four-tier network on 127.0.0.1 — 清远市 (city),
#  清城区 (county), 凤城街道 (township) and two of its communities, named
#  as `hutong gen` names them — started from generated keys, certificates
#  and sample data. Records written at each tier are shown arriving at the
#  others as they replicate; putting the same data again changes nothing;
#  a partner's redacted copy shows what is disclosed, masked and withheld,
#  and still verifies; departments query the county through their read
#  policies and their reads are audited up to the city; forged and
#  out-of-jurisdiction writes are refused and shown in quarantine. Every
#  step prints the command it runs, as typed in the data directory.
#  On a terminal the network keeps running until Ctrl-C. Every node is
#  stopped on exit; the data directory is removed unless --keep is given.
#  Usage: tools/demo.sh [--keep] [BUILD_DIR]
set -euo pipefail
keep=""
if [ "${1:-}" = "--keep" ]; then keep=1; shift; fi
case "${1:-}" in
    -h|--help) sed -n '2,14p' "$0" | sed 's/^#  \{0,1\}//'; exit 0 ;;
    -*) echo "usage: tools/demo.sh [--keep] [BUILD_DIR]" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
export HUTONG="$build/tools/hutong" HUTONGD="$build/node/hutongd"
work_template=/tmp/hutong-demo.XXXXXX
source "$root/integration/lib.sh"
source "$root/integration/network.sh"
work_keep="$keep"

city=441800000000 county=441802000000 township=441802001000
east=441802001001 west=441802001002
seed=2026

#  Headings and commands stand out on a terminal only
if [ -t 1 ]; then bright=$'\033[1m' dim=$'\033[2m' plain=$'\033[0m'; else bright="" dim="" plain=""; fi
step_number=0
step () { step_number=$((step_number + 1)); printf '\n%s== %d. %s%s\n' "$bright" "$step_number" "$*" "$plain"; }
note () { printf '  %s\n' "$*"; }
#  The hutong command, as the steps show it
hutong () { "$HUTONG" "$@"; }
#  run 'COMMAND': show it, then run it with its output indented; its exit
#  status is returned (a refusal the step expects is followed by || true)
run () {
    printf '  %s$ %s%s\n' "$dim" "$1" "$plain"
    local status=0
    eval "$1" > run.out 2>&1 || status=$?
    sed 's/^/    /' run.out
    return $status
}
#  shown 'COMMAND': show a command that a helper below runs (for each node)
shown () { printf '  %s$ %s%s\n' "$dim" "$1" "$plain"; }

#  The names gen gives these places (a hand-built network names its nodes so)
"$HUTONG" gen --seed $seed --regions > regions.jsonl
name_of () {
    python3 -c '
import json, sys
print("".join(p["name"] for p in map(json.loads, open("regions.jsonl")) if p["region"] == sys.argv[1]))' "$1"
}

#  A line per node: how many records of each kind it holds
show_holdings () {
    local region
    printf '    %-14s %-10s %6s %8s %6s %5s %10s\n' node tier elder facility credit cert quarantine
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
print("    %s %-10s %6d %8d %6d %5d %10d" % (pad(s["name"], 14), tier, r["elder"], r["facility"],
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

#  The store of a node that never derives elder keys: no pseudonym key
init_store_without_idkey () {
    local region="$1" other certs=()
    "$HUTONG" init --store "$region.store" --region "$region" --anchor $city.key.pub >/dev/null
    for other in "${network_regions[@]}"; do
        region_related "$region" "$other" && certs+=("$other.cert")
    done
    "$HUTONG" put --store "$region.store" --quiet "${certs[@]}"
}

#  Say where the data is, and whether it stays
farewell () {
    if [ -n "$work_keep" ]; then
        note "The data stays in $work: stores (*.store), keys, certificates, configs (*.cfg),"
        note "logs (*.log) and the sample data (*.jsonl). Remove it with: rm -rf $work"
    else
        note "The data in $work is removed now (tools/demo.sh --keep keeps it)."
    fi
}

east_name="$(name_of $east)" west_name="$(name_of $west)"
printf '%sHutong demonstration%s: data directory %s\n' "$bright" "$plain" "$work"

step "Keys and certificates: each tier certifies the one below (names from 'hutong gen --regions')"
network_add $city "" "$(name_of $city)"
network_add $county $city "$(name_of $county)"
network_add $township $county "$(name_of $township)"
network_add $east $township "$east_name"
network_add $west $township "$west_name"
note "For each node a key pair and a certificate from its parent (the city's is its own), e.g.:"
shown "hutong keygen --out $east.key --name $east_name"
shown "hutong cert issue --issuer $township.key --subject $east.key.pub --region $east --name $east_name --out $east.cert"
note "and one network pseudonym key, which elder keys are derived with:"
shown "hutong keygen --idkey --out net.idkey"
run "hutong cert show $east.cert"

step "Five hutongd nodes on 127.0.0.1 (CurveZMQ; each admits only certified neighbours)"
note "Each node: a store trusting the city's key, holding the certificates it needs, then hutongd, e.g.:"
shown "hutong init --store $east.store --region $east --anchor $city.key.pub --idkey net.idkey"
shown "hutong put --store $east.store $city.cert $county.cert $township.cert $east.cert"
shown "hutongd --config $east.cfg"
note "$(name_of $township) never derives elder keys, so its store gets no pseudonym key:"
shown "hutong init --store $township.store --region $township --anchor $city.key.pub"
init_store_without_idkey $township
network_start
network_wait_connected 30
for region in "${network_regions[@]}"; do
    printf '    %s  pid %-7s client %s  %s\n' "$region" "$(node_pid "$region")" \
        "$(node_client "$region")" "$(name_of "$region")"
done
show_holdings

step "$east_name records its elders (elders flow up only: township, county, city)"
run "hutong gen --seed $seed --region $east --elders 200 > elders.jsonl"
run "hutong put --node $(node_client $east) --node-key $east.key.pub --key $east.key --idkey net.idkey elders.jsonl"
wait_for $city elder 200
show_holdings

step "The county registers facilities in 凤城街道 (scope: the county, so every node inside it gets them)"
run "hutong gen --seed $seed --region $township --facilities 12 > facilities.jsonl"
run "hutong put --store $county.store --key $county.key facilities.jsonl"
wait_for $east facility 12
wait_for $west facility 12
show_holdings
note "The same drafts again change nothing: no new version is made (\"unchanged\": 12)."
run "hutong put --store $county.store --key $county.key facilities.jsonl"

step "The city writes credit records about those facilities (inspections, penalties, ratings, lists)"
run "hutong gen --seed $seed --region $township --facilities 12 --credit 30 | tail -n 30 > credit.jsonl"
run "hutong put --store $city.store --key $city.key credit.jsonl"
wait_for $west credit 30
show_holdings

step "What a partner may see of an elder: disclosed, masked or withheld, and still verifiable"
key="$("$HUTONG" list --store $city.store --kind elder --limit 1 \
       | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["key"])')"
run "hutong get --store $city.store --policy partner elder $key > partner.json"
python3 - partner.json <<'EOF'
import json, sys, unicodedata
def pad(text, width):
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 0)
r = json.load(open(sys.argv[1]))
fields, masked, withheld = r["fields"], r.get("masked", {}), r.get("withheld", {})
rows = [(name, r[name], "disclosed: signed, verifies") for name in ("kind", "key", "region", "scope")]
rows += [(name, json.dumps(value, ensure_ascii=False), "disclosed: signed, verifies")
         for name, value in sorted(fields.items())]
rows += [(name, masked[name], "masked: an unverified hint; the value is withheld")
         for name in sorted(masked)]
rows += [(name, "—", "withheld: only a digest travels")
         for name in sorted(withheld) if name not in masked]
print("    %s %s %s" % (pad("field", 17), pad("the partner gets", 36), "what it is"))
for name, shown, what in rows:
    print("    %s %s %s" % (pad(name, 17), pad(shown, 36), what))
EOF
note "verify recomputes the signature over the disclosed values and the withheld digests:"
run "hutong verify partner.json"

step "Departments query the county over CurveZMQ, each through its read policy"
declare -A department_name=([health]=清城区卫健局 [finance]=清城区财政局 [fire]=清城区消防救援大队)
for department in health finance fire; do
    make_key $department "${department_name[$department]}"
    "$HUTONG" cert issue --issuer $county.key --subject $department.key.pub --region $county \
        --name "${department_name[$department]}" --role department --department $department \
        --out $department.cert >/dev/null
done
make_key operator 清远市运维
make_cert $city operator $city --role operator
note "Certificates for 卫健 (health), 财政 (finance), 消防 (fire) and a city operator, e.g.:"
shown "hutong cert issue --issuer $county.key --subject health.key.pub --region $county --name ${department_name[health]} --role department --department health --out health.cert"
run "hutong put --store $county.store --quiet health.cert finance.cert fire.cert"
"$HUTONG" put --store $city.store --quiet operator.cert
id_no="$(head -n 1 elders.jsonl | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["fields"]["id_no"])')"
at_county="--node $(node_client $county) --node-key $county.key.pub"
note "Health, for care services, sees the elder in full:"
run "hutong find $at_county --key health.key --purpose care_service elder $id_no"
note "Finance, reviewing subsidies, sees masked values (~):"
run "hutong find $at_county --key finance.key --purpose subsidy_review elder $id_no"
note "A read of personal fields without a purpose is refused:"
run "hutong find $at_county --key health.key elder $id_no" || true
note "Fire may count elders, not read them:"
run "hutong count $at_county --key fire.key --kind elder"
note "The reads were audited at the county, and the audit records reached the city:"
deadline=$((SECONDS + 30))
until [ "$("$HUTONG" audit --node "$(node_client $city)" --node-key $city.key.pub --key operator.key --json | wc -l)" -ge 2 ]; do
    [ $SECONDS -lt $deadline ] || fail "the audit records did not reach the city"
    sleep 0.2
done
run "hutong audit --node $(node_client $city) --node-key $city.key.pub --key operator.key --json > audit.jsonl 2>/dev/null"
note "(one line per audit record: who read which elder, why, and which fields; ~ masked)"
python3 - audit.jsonl <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    f = json.loads(line)["fields"]
    print("    %s (%s) read %s %s… for %s: %s" % (f["client_name"], f.get("department", ""),
          f["subject_kind"], ",".join(f["subjects"])[:16], f.get("purpose"),
          " ".join(f["fields"] + [m + "~" for m in f.get("masked", [])])))
EOF

step "Refused: a forged record, and a community writing another community's elder"
note "A deceased date written into a signed record by hand:"
run "hutong get --store $city.store elder $key | sed 's/\"status\":\"active\"/\"status\":\"deceased\",\"status_date\":\"20261101\"/' > forged.json"
run "hutong verify forged.json" || true
note "$east_name's key writing an elder of $west_name, through 凤城街道:"
run "hutong gen --seed $seed --region $west --elders 1 > foreign.jsonl"
run "hutong put --node $(node_client $township) --node-key $township.key.pub --key $east.key --idkey net.idkey foreign.jsonl" || true
note "凤城街道 keeps the refused write in quarantine, with its author's jurisdiction:"
run "hutong quarantine --store $township.store"
show_holdings

step "凤城街道's view of its neighbours"
run "hutong status --node $(node_client $township) --node-key $township.key.pub --key $township.key"

if [ -t 0 ] && [ -t 1 ]; then
    step "The network is running. Press Ctrl-C to stop every node."
    note "Try the commands above in $work, e.g."
    note "  cd $work && $HUTONG status --node $(node_client $county) --node-key $county.key.pub --key $county.key"
    trap 'echo; step "Stopping every node"; farewell; exit 0' INT
    while true; do sleep 1; done
fi
step "Done: stopping every node"
farewell
