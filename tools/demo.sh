#!/usr/bin/env bash
#  The demonstration: a city's certificate chain down to a community,
#  a node store loaded with generated data, and what the store guarantees —
#  every record verifies, redacted copies verify without their withheld
#  fields, and forged or out-of-jurisdiction writes land in quarantine.
set -euo pipefail
build="$(cd "${1:-build}" && pwd)"
hutong="$build/tools/hutong"
work="$(mktemp -d /tmp/hutong-demo.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

step () { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show () { printf '$ %s\n' "$*"; "$@"; }

step "Keys and certificates: 清远市 (root) → 清城区 → 凤城街道 → a community"
for name in city county township community; do
    "$hutong" keygen --out "$name.key" --name "$name" >/dev/null
done
"$hutong" keygen --idkey --out net.idkey >/dev/null
show "$hutong" cert issue --issuer city.key --subject city.key.pub --region 441800000000 --name 清远市 --out city.cert
"$hutong" cert issue --issuer city.key --subject county.key.pub --region 441802000000 --name 清城区 --out county.cert >/dev/null
"$hutong" cert issue --issuer county.key --subject township.key.pub --region 441802001000 --name 凤城街道 --out township.cert >/dev/null
"$hutong" cert issue --issuer township.key --subject community.key.pub --region 441802001001 --name 社区 --out community.cert >/dev/null
show "$hutong" cert show community.cert

step "A node store for the city, trusting the root key"
show "$hutong" init --store city-store --region 441800000000 --anchor city.key.pub --idkey net.idkey
show "$hutong" put --store city-store city.cert county.cert township.cert community.cert

step "Generated data for a real-shaped city: facilities, elders, credit records"
"$hutong" gen --seed 2026 --facilities 300 --elders 5000 --credit 300 > data.jsonl
show "$hutong" put --store city-store --key city.key data.jsonl

step "What the store holds"
key="$("$hutong" list --store city-store --kind elder --region 441802 --limit 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["key"])')"
printf '$ hutong get --store city-store elder %s\n' "$key"
"$hutong" get --store city-store elder "$key" | python3 -m json.tool --no-ensure-ascii | head -40

step "Every record verifies (signature over every field digest, schema, chain)"
"$hutong" export --store city-store > all.jsonl
show "$hutong" verify --store city-store all.jsonl

step "The same elder as an integration partner may see it: redacted, still verifiable"
"$hutong" get --store city-store --policy partner elder "$key" > partner.json
python3 -m json.tool --no-ensure-ascii partner.json | head -30
show "$hutong" verify partner.json

step "A record edited by hand fails, naming why"
python3 - "$key" <<'PY' < all.jsonl > edited.json
import json, sys
for line in sys.stdin:
    record = json.loads(line)
    if record["key"] == sys.argv[1]:
        record["fields"]["name"] = "冒名顶替"
        print(json.dumps(record, ensure_ascii=False))
PY
show "$hutong" verify edited.json || true

step "A community writing another community's elder is refused and quarantined"
python3 - <<'PY' > foreign.jsonl
import json
print(json.dumps({"kind": "elder", "region": "441802001002", "fields": {
    "id_type": "居民身份证", "id_no": "441802194005120317", "name": "张三", "sex": 1,
    "birth_date": "19400512", "hukou_region": "441802001002", "status": "active"}},
    ensure_ascii=False))
PY
show "$hutong" put --store city-store --key community.key foreign.jsonl || true
show "$hutong" quarantine --store city-store

step "Done. Everything above ran in $work (removed on exit)."
