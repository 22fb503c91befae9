#!/usr/bin/env bash
#  Foundation: 100,000 generated elders loaded with `put`, exported and
#  verified; a record edited by hand fails verify and says why; redacted
#  exports verify and leak no withheld value; hostile writes are quarantined.
source "$(dirname "$0")/lib.sh"
elders="${HUTONG_IT_ELDERS:-100000}"

make_key root; make_key county; make_key community; make_key other
"$HUTONG" keygen --idkey --out net.idkey >/dev/null
make_cert root root 441800000000
make_cert root county 441802000000
make_cert county community 441802001001
"$HUTONG" init --store city --region 441800000000 --anchor root.key.pub --idkey net.idkey >/dev/null
expect_exit 0 "certificate chain stored" -- "$HUTONG" put --store city root.cert county.cert community.cert

#  Bulk load through the real pipeline
"$HUTONG" gen --seed 7 --elders "$elders" > elders.jsonl
expect_eq "$(wc -l < elders.jsonl)" "$elders" "gen printed $elders elders"
"$HUTONG" put --store city --key root.key elders.jsonl > put.json
expect_eq "$(json_get put.json "j['stored']")" "$elders" "put stored every elder"
expect_eq "$(json_get put.json "j['refused'] + j['quarantined']")" "0" "put refused nothing"

#  Same input again: nothing new (keys are derived from the ID number,
#  and a draft identical to the current version is not stored again)
expect_exit 0 "re-put of the same drafts" -- "$HUTONG" put --store city --key root.key elders.jsonl
expect_eq "$(json_get last.out "(j['unchanged'], j['stored'], j['historic'])")" "($elders, 0, 0)" \
    "re-put makes no new version: every draft is unchanged"
"$HUTONG" export --store city --kind elder > export.jsonl 2>/dev/null
expect_eq "$(wc -l < export.jsonl)" "$elders" "one current version per elder after re-put"

"$HUTONG" verify --store city export.jsonl > verify.json
expect_eq "$(json_get verify.json "j['valid']")" "$elders" "verify accepts every exported record"

#  msgpack export verifies too
"$HUTONG" export --store city --kind elder --format msgpack > export.msgpack 2>/dev/null
"$HUTONG" verify --format msgpack export.msgpack > verify-mp.json
expect_eq "$(json_get verify-mp.json "j['valid']")" "$elders" "verify accepts the msgpack export"

#  Edit one record by hand: verify names the record and the reason
head -n 1 export.jsonl | python3 -c '
import json,sys; r=json.loads(sys.stdin.read()); r["fields"]["name"]="王五"; print(json.dumps(r, ensure_ascii=False))' > edited.jsonl
expect_exit 1 "an edited name fails verify" -- "$HUTONG" verify edited.jsonl
grep -q "bad_signature" "$work/last.out" || fail "verify did not name the bad signature"
head -n 1 export.jsonl | python3 -c '
import json,sys; r=json.loads(sys.stdin.read()); r["fields"]["sex"]=3-r["fields"]["sex"]; print(json.dumps(r, ensure_ascii=False))' > edited-sex.jsonl
expect_exit 1 "an edited sex fails verify" -- "$HUTONG" verify edited-sex.jsonl
grep -q "sex" "$work/last.out" || fail "verify did not name the sex field"

#  Redacted export for a partner: verifies, and holds no ID number
"$HUTONG" export --store city --kind elder --policy market_regulation > mr.jsonl 2>mr.err
expect_eq "$(wc -l < mr.jsonl)" "0" "market regulation sees no elder record"
"$HUTONG" export --store city --kind elder --policy health > health.jsonl 2>/dev/null
"$HUTONG" verify health.jsonl > health-verify.json
expect_eq "$(json_get health-verify.json "j['valid']")" "$elders" "health's redacted records verify"
"$HUTONG" export --store city --kind elder --policy partner > partner.jsonl 2>/dev/null
"$HUTONG" verify partner.jsonl > partner-verify.json
expect_eq "$(json_get partner-verify.json "j['valid']")" "$elders" "partner's redacted records verify"
id_no="$(head -n 1 export.jsonl | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["fields"]["id_no"])')"
if grep -q "$id_no" partner.jsonl; then fail "a withheld ID number leaked into the partner export"; fi
ok "no withheld ID number in the partner export"

#  A community key writing another community's elder is quarantined
"$HUTONG" put --store city community.cert >/dev/null 2>&1 || true
head -n 1 elders.jsonl | python3 -c '
import json,sys; r=json.loads(sys.stdin.read()); r["region"]=r["scope"]="441802001002"; r["fields"]["hukou_region"]="441802001002"; print(json.dumps(r, ensure_ascii=False))' > foreign.jsonl
expect_exit 1 "a community writing another community's elder is refused" -- \
    "$HUTONG" put --store city --key community.key foreign.jsonl
"$HUTONG" quarantine --json --store city > quarantine.jsonl
grep -q '"out_of_scope"' quarantine.jsonl || fail "quarantine does not hold the out-of-scope write"
ok "the out-of-scope write is in quarantine with its reason"

#  A key with no certificate is refused
head -n 10 elders.jsonl > ten.jsonl
expect_exit 1 "a key without a certificate is refused" -- \
    "$HUTONG" put --store city --key other.key ten.jsonl
grep -q '"no_cert"' <("$HUTONG" quarantine --json --store city) || fail "no_cert not quarantined"
ok "uncertified writes are quarantined as no_cert"
