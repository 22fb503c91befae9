#!/usr/bin/env bash
#  Python partner client, reads: the client written from the docs alone
#  (integration/partner/hutong_client.py) reads a running 4-node chain,
#  city 441800000000 -> county 441802000000 -> township 441802001000 ->
#  community 441802001001, through the county's client socket, with the
#  keys of county departments (certificates issued by the county node and
#  stored at the county while it runs). Elders are written at the community
#  and replicate up. Through FIND, GET, LIST (pages), COUNT and HISTORY:
#  health sees the elder's name and ID number in full; finance sees both
#  withheld, with masks; civil_affairs gets full records; market_regulation
#  is refused (policy); a read without a purpose, or with one the policy
#  does not allow, is refused by name. Every record verifies in Python as
#  it arrives (full and redacted) and, as the same bytes and the same JSON,
#  in the C verifier; the C client prints the same records. A record with
#  one byte of a disclosed value flipped fails Python verification, also
#  when a (fake) node sends it; a changed mask does not, since masks are not
#  signed. The reads left audit records at the county.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"

use_debian_python
client () { "$python" "$here/partner/hutong_client.py" "$@"; }
#  lines FILE PYTHON-EXPR: the expression over the JSON lines of FILE (as l)
lines () { "$python" -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1]) if x.strip()]; print($2)" "$1"; }

"$HUTONG" schema --json > "$work/schema.json"
export HUTONG_SCHEMA="$work/schema.json"

city=441800000000
county=441802000000
township=441802001000
community=441802001001
id_no=441802194005120317
name="阿依古丽·买买提"                 #  8 characters: long enough for a mask
show_logs_on_failure

expect_exit 0 "hutong_client.py --help lists the reads" -- client --help
for command in get find list count history; do
    grep -q " $command " "$work/last.out" || fail "--help does not list $command"
done

#  --------------------------------------------------------------------------
#  The network, the county's departments, the elders

network_chain "$city" "$county" "$township" "$community"
network_start
network_wait_connected 30
ok "city, county, township and community running and connected"

for department in health finance market_regulation civil_affairs; do
    make_key "$department"
    make_cert "$county" "$department" "$county" --role department --department "$department"
done
"$HUTONG" put --store "$(node_store "$county")" --quiet health.cert finance.cert \
    market_regulation.cert civil_affairs.cert \
    || fail "the county refused its departments' certificates"
#  The county learns a new client key on a handshake it does not know,
#  at most once a second (node/ht_zap.c): until then it refuses it
county_admits () {
    client count --node "$(node_client "$county")" --node-key "$county.key.pub" \
        --key "$1.key" --timeout 2000 --kind facility >/dev/null 2>&1
}
for department in health finance market_regulation civil_affairs; do
    wait_until 10 county_admits "$department" || fail "the county does not admit the $department key"
done
ok "the county certified four departments: health, finance, market_regulation, civil_affairs"

#  elder_draft NAME ID PHONE: a draft of an elder of the community
elder_draft () {
    "$python" - "$community" "$1" "$2" "$3" <<'PY'
import json, sys
community, name, id_no, phone = sys.argv[1:]
print(json.dumps({"kind": "elder", "region": community, "fields": {
    "name": name, "id_type": "居民身份证", "id_no": id_no, "sex": 1 if int(id_no[16]) % 2 else 2,
    "birth_date": id_no[6:14], "hukou_region": community, "status": "active", "phone": phone,
    "categories": ["低保"], "ability_level": 2}}, ensure_ascii=False))
PY
}
#  citizen_id BODY17: the ID number with its check character
citizen_id () {
    "$python" -c '
import sys
body = sys.argv[1]
weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
print(body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11])' "$1"
}
{
    elder_draft "$name" "$id_no" 13800138000
    elder_draft "王桂兰" "$(citizen_id 44180219380203002)" 13800138001
    elder_draft "陈建国" "$(citizen_id 44180219410707001)" 13800138002
    elder_draft "刘淑珍" "$(citizen_id 44180219420911004)" 13800138003
    elder_draft "张德福" "$(citizen_id 44180219350101005)" 13800138004
} > elders.jsonl
elders=$(wc -l < elders.jsonl)
community_put () {
    "$HUTONG" put --node "$(node_client "$community")" --node-key "$community.key.pub" \
        --key "$community.key" --idkey net.idkey "$@"
}
community_put elders.jsonl > put.json || fail "the community refused the elders: $(cat put.json)"
county_elders () { "$HUTONG" list --store "$(node_store "$county")" --kind elder 2>/dev/null | wc -l; }
county_has_elders () { [ "$(county_elders)" = "$elders" ]; }
wait_until 30 county_has_elders || fail "the elders did not reach the county (it holds $(county_elders))"
ok "$elders elders written at the community replicated to the county"

#  ask WHO COMMAND ARGS...: the Python client's COMMAND at the county with
#  WHO's key
ask () {
    local who="$1" command="$2"; shift 2
    client "$command" --node "$(node_client "$county")" --node-key "$county.key.pub" \
        --key "$who.key" --timeout 5000 "$@"
}
#  c_read WHO COMMAND ARGS...: the same through the C client
c_read () {
    local who="$1" command="$2"; shift 2
    "$HUTONG" "$command" --node "$(node_client "$county")" --node-key "$county.key.pub" \
        --key "$who.key" --timeout 5000 --json "$@"
}
#  both_verify FILE...: the C and the Python verifier accept every record
both_verify () {
    local file
    for file in "$@"; do
        "$HUTONG" verify --json "$file" > "$file.c-verify" \
            || { cat "$file.c-verify" >&2; fail "the C verifier refuses a record of $file"; }
        client verify --json "$file" > "$file.py-verify" \
            || { cat "$file.py-verify" >&2; fail "Python refuses a record of $file"; }
        [ "$(grep -c '"valid": *true' "$file.c-verify")" = "$(grep -c '"valid": true' "$file.py-verify")" ] \
            && [ "$(grep -c '"valid": true' "$file.py-verify")" -gt 0 ] \
            || fail "$file: the verifiers count different records, or none"
    done
}
#  same_records A B: two files of JSON lines hold the same records
same_records () {
    "$python" - "$1" "$2" <<'PY' || fail "$1 and $2 differ"
import json, sys
a, b = ([json.loads(line) for line in open(path) if line.strip()] for path in sys.argv[1:])
key = lambda record: (record["key"], record["hlc"])
sys.exit(0 if sorted(a, key=key) == sorted(b, key=key) else 1)
PY
}

#  --------------------------------------------------------------------------
#  FIND: what each department sees of the elder

masked_id="${id_no:0:6}********${id_no:14:4}"

ask health find --purpose care_service --reply health.reply --wire health.msgpack \
    elder "$id_no" > health.jsonl || fail "health's FIND failed: $(cat health.jsonl)"
expect_eq "$(lines health.jsonl "len(l)")" "1" "FIND-OK: health gets one verified record"
expect_eq "$(lines health.jsonl "(l[0]['fields']['id_no'], l[0]['fields']['name'])")" \
    "('$id_no', '$name')" "health sees the ID number and the name in full"
expect_eq "$(lines health.jsonl "('seed' in l[0], sorted(l[0]['withheld']), sorted(l[0].get('masked', {})))")" \
    "(False, ['categories', 'ethnicity'], [])" \
    "health's record is redacted: categories withheld (too short for a mask)"
expect_eq "$(json_get health.reply "(j['policy'], j['kind'], j['count'], j['purpose'], j['audited'], j['emergency'])")" \
    "('health', 'elder', 1, 'care_service', True, None)" \
    "the FIND-OK JSON names policy, kind, count and purpose, and the read was audited"
key="$(lines health.jsonl "l[0]['key']")"

ask finance find --purpose subsidy_review --reply finance.reply --wire finance.msgpack \
    elder "$id_no" > finance.jsonl || fail "finance's FIND failed: $(cat finance.jsonl)"
expect_eq "$(lines finance.jsonl "('name' in l[0]['fields'], 'name' in l[0]['withheld'], l[0]['masked']['name'])")" \
    "(False, True, '阿依古丽****')" "finance sees the name withheld, with a mask"
expect_eq "$(lines finance.jsonl "('id_no' in l[0]['fields'], 'id_no' in l[0]['withheld'], l[0]['masked']['id_no'])")" \
    "(False, True, '$masked_id')" "finance sees the ID number withheld, masked"
expect_eq "$(lines finance.jsonl "(l[0]['fields'], sorted(l[0]['masked']))")" \
    "({}, ['birth_date', 'hukou_region', 'id_no', 'name', 'phone'])" \
    "finance sees no field in full; the texts of 7 characters or more are masked"
grep -q "$id_no" finance.jsonl finance.msgpack && fail "finance's answer holds the ID number"
grep -q "$name" finance.jsonl finance.msgpack && fail "finance's answer holds the name"
ok "finance's answer holds neither the ID number nor the name"

ask civil_affairs find --purpose subsidy_review --wire civil.msgpack elder "$id_no" > civil.jsonl \
    || fail "civil_affairs' FIND failed: $(cat civil.jsonl)"
expect_eq "$(lines civil.jsonl "('seed' in l[0], 'withheld' in l[0], l[0]['fields']['categories'])")" \
    "(True, False, ['低保'])" "civil_affairs gets the full record (seed, every field)"

expect_exit 1 "market_regulation may not read elders" -- \
    ask market_regulation find --purpose inspection elder "$id_no"
grep -q "refused FIND: policy:" last.err || fail "no policy refusal: $(cat last.err)"
expect_exit 1 "a read without a purpose" -- ask health find elder "$id_no"
grep -q "refused FIND: purpose_required:" last.err || fail "no purpose_required: $(cat last.err)"
#  ... whether or not the elder is on the register (protocol.md §4, rule 5)
expect_exit 1 "a read without a purpose of an elder the county does not hold" -- \
    ask health find elder "$(citizen_id 44180219990101001)"
grep -q "refused FIND: purpose_required:" last.err \
    || fail "a FIND without a purpose tells whether the elder exists: $(cat last.err)"
expect_exit 1 "a purpose health's policy does not allow" -- \
    ask health find --purpose subsidy_review elder "$id_no"
grep -q "refused FIND: purpose_not_allowed:" last.err || fail "no purpose_not_allowed: $(cat last.err)"
expect_exit 1 "a purpose that never justifies personal fields" -- \
    ask health find --purpose statistics elder "$id_no"
grep -q "refused FIND: purpose_not_allowed:" last.err || fail "no purpose_not_allowed: $(cat last.err)"
expect_exit 1 "an elder the county does not hold" -- \
    ask health find --purpose care_service elder "$(citizen_id 44180219990101001)"
grep -q "refused FIND: not_found:" last.err || fail "no not_found: $(cat last.err)"
expect_exit 3 "FIND of a kind without a natural key" -- ask health find --purpose care_service credit x
grep -q "refused FIND: unknown_kind:" last.err || fail "no unknown_kind: $(cat last.err)"
expect_exit 3 "FIND of a kind there is not" -- ask health find --purpose care_service dragon x
grep -q "refused FIND: unknown_kind:" last.err || fail "no unknown_kind: $(cat last.err)"

#  The same bytes and the same JSON, verified by C and Python
both_verify health.msgpack health.jsonl finance.msgpack finance.jsonl civil.msgpack civil.jsonl
ok "every record verifies in C and Python, as the node's bytes and as the Python client's JSON"
"$HUTONG" verify --store "$(node_store "$county")" health.msgpack finance.jsonl civil.jsonl >/dev/null \
    || fail "the C verifier refuses an author's chain"
client verify --anchor "$city.key.pub" --chain <("$HUTONG" export --store "$(node_store "$county")" 2>/dev/null) \
    health.jsonl finance.jsonl civil.jsonl > chain.json || { cat chain.json >&2; fail "Python refuses a chain"; }
ok "the records' authors are authorized by their chains (C against the county store, Python from its export)"
c_read health find --purpose care_service elder "$id_no" > c-health.jsonl
c_read finance find --purpose subsidy_review elder "$id_no" > c-finance.jsonl
same_records health.jsonl c-health.jsonl
same_records finance.jsonl c-finance.jsonl
ok "the C client prints the same records as the Python client (health, finance)"

#  --------------------------------------------------------------------------
#  GET, HISTORY

ask health get --purpose care_service --reply get.reply elder "$key" > get.jsonl \
    || fail "health's GET failed: $(cat get.jsonl)"
same_records get.jsonl health.jsonl
ok "GET-OK by the key FIND found returns the same version"
expect_exit 1 "GET of a key the county does not hold" -- ask health get --purpose care_service elder 00112233445566778899aabbccddeeff
grep -q "refused GET: not_found:" last.err || fail "no not_found: $(cat last.err)"

#  An update at the community: the county keeps the first version as history
elder_draft "$name" "$id_no" 13900139000 > update.jsonl
community_put update.jsonl > update.json || fail "the community refused the update: $(cat update.json)"
county_versions () { "$HUTONG" history --store "$(node_store "$county")" elder "$key" 2>/dev/null | wc -l; }
county_has_update () { [ "$(county_versions)" = 2 ]; }
wait_until 30 county_has_update || fail "the update did not reach the county"
ask health history --purpose care_service --reply history.reply --wire history.msgpack \
    elder "$key" > history.jsonl || fail "health's HISTORY failed: $(cat history.jsonl)"
expect_eq "$(lines history.jsonl "[r['fields']['phone'] for r in l]")" "['13800138000', '13900139000']" \
    "HISTORY-OK: both versions, oldest first"
expect_eq "$(lines history.jsonl "l[0]['hlc'] < l[1]['hlc']")" "True" "their hlcs ascend"
expect_eq "$(json_get history.reply "j['versions']")" \
    "[{'conflict': None, 'current': False}, {'conflict': None, 'current': True}]" \
    "HISTORY-OK versions: the last is current, neither a conflict"
both_verify history.msgpack history.jsonl
c_read health history --purpose care_service elder "$key" \
    | "$python" -c 'import json,sys
for line in sys.stdin:
    r = json.loads(line); r.pop("conflict", None); r.pop("current", None)
    print(json.dumps(r, ensure_ascii=False))' > c-history.jsonl
same_records history.jsonl c-history.jsonl
ok "HISTORY: every version verifies in C and Python, and the C client shows the same"

#  --------------------------------------------------------------------------
#  LIST, COUNT

ask health list --purpose care_service --kind elder --limit 2 --all --reply pages.reply \
    --wire pages.msgpack > pages.jsonl || fail "health's LIST failed: $(cat pages.jsonl)"
expect_eq "$(lines pages.reply "[p['count'] for p in l]")" "[2, 2, 1]" "LIST-OK in pages of 2: 2, 2, 1"
expect_eq "$(lines pages.reply "[p['next'] is None for p in l]")" "[False, False, True]" \
    "each page but the last names the next"
expect_eq "$(lines pages.jsonl "len(set(r['key'] for r in l))")" "$elders" \
    "the pages hold every elder once"
expect_eq "$(lines pages.reply "(l[0]['region'], l[0]['policy'], l[0]['audited'], all(p['examined'] >= p['count'] for p in l))")" \
    "('$county', 'health', True, True)" "LIST-OK JSON: the county's region, policy health, audited"
expect_eq "$(lines pages.jsonl "[r['fields']['phone'] for r in l if r['key'] == '$key']")" "['13900139000']" \
    "LIST shows the current version"
both_verify pages.msgpack pages.jsonl
c_read health list --purpose care_service --kind elder --limit 2 --all > c-pages.jsonl
same_records pages.jsonl c-pages.jsonl
ok "LIST: every record verifies in C and Python, and the C client lists the same"

#  One page, then the next from its cursor
ask health list --purpose care_service --kind elder --limit 3 --reply page1.reply > page1.jsonl 2> page1.err
grep -q "^next page: --after $(json_get page1.reply "j['next']")\$" page1.err || fail "list does not say the next page: $(cat page1.err)"
next="$(json_get page1.reply "j['next']")"
ask health list --purpose care_service --kind elder --limit 3 --after "$next" --reply page2.reply > page2.jsonl
expect_eq "$(cat page1.jsonl page2.jsonl | "$python" -c 'import json,sys; print(len({json.loads(x)["key"] for x in sys.stdin}))')" \
    "$elders" "LIST --after the first page's next gives the rest"
expect_eq "$(json_get page2.reply "j['next']")" "None" "and the second page is the last"

ask health list --purpose care_service --kind elder --field hukou_region --value "$community" \
    > by-field.jsonl || fail "LIST by hukou_region failed"
expect_eq "$(lines by-field.jsonl "len(l)")" "$elders" "LIST by an indexed field (hukou_region)"
expect_exit 1 "finance may not list by a field it does not see" -- \
    ask finance list --purpose subsidy_review --kind elder --field hukou_region --value "$community"
grep -q "refused LIST: policy:" last.err || fail "no policy refusal: $(cat last.err)"
expect_exit 1 "LIST of a region outside the county" -- ask health list --purpose care_service --kind elder --region 441803
grep -q "refused LIST: out_of_scope:" last.err || fail "no out_of_scope: $(cat last.err)"
expect_exit 1 "LIST without a purpose" -- ask health list --kind elder
grep -q "refused LIST: purpose_required:" last.err || fail "no purpose_required: $(cat last.err)"
ask finance list --purpose subsidy_review --kind elder --wire finance-list.msgpack > finance-list.jsonl \
    || fail "finance's LIST failed"
expect_eq "$(lines finance-list.jsonl "(len(l), all(r['fields'] == {} and 'id_no' in r['masked'] for r in l))")" \
    "($elders, True)" "finance lists every elder, nothing in full, ID numbers masked"
both_verify finance-list.msgpack

ask health count --kind elder > count.json || fail "health's COUNT failed"
expect_eq "$(json_get count.json "(j['total'], j['by'], j['region'], j['count'], j['audited'])")" \
    "($elders, {'$township': $elders}, '$county', 0, False)" \
    "COUNT-OK: the total, by township, not audited (no purpose needed)"
ask finance count --kind elder --region "${township:0:9}" > count-township.json || fail "COUNT of the township failed"
expect_eq "$(json_get count-township.json "(j['total'], j['by'])")" "($elders, {'$community': $elders})" \
    "COUNT-OK of the township groups by community"
expect_exit 1 "market_regulation may not count elders" -- ask market_regulation count --kind elder
grep -q "refused COUNT: policy:" last.err || fail "no policy refusal: $(cat last.err)"
ask market_regulation count --kind facility > facilities.json || fail "market_regulation's COUNT of facilities failed"
expect_eq "$(json_get facilities.json "j['total']")" "0" "market_regulation counts facilities (none)"

#  --------------------------------------------------------------------------
#  Tampering, and the library API against a node that lies

"$python" - "$here/partner" "$work" <<'PY' > tamper.txt || fail "tampering: $(cat tamper.txt)"
import sys
sys.path.insert(0, sys.argv[1])
import msgpack
import hutong_client as hc
work = sys.argv[2]
registry = hc.Schema.load(work + "/schema.json")

def one(path):
    return open(path, "rb").read()

def refused(data):
    try:
        hc.verify_frames([data], registry)
    except hc.RecordError as error:
        return error.error
    return "verified"

health, finance = one(work + "/health.msgpack"), one(work + "/finance.msgpack")
id_no = hc.Record.decode(health, registry).fields["id_no"]
# one byte of a disclosed value (the ID number's last digit), still canonical msgpack
packed = hc.pack(id_no)
at = health.index(packed) + len(packed) - 1
tampered = bytearray(health)
tampered[at] ^= 1
tampered = bytes(tampered)
assert hc.Record.decode(tampered, registry).fields["id_no"] != id_no
open(work + "/tampered.msgpack", "wb").write(tampered)
print("disclosed", refused(tampered))
# a withheld digest
wire = msgpack.unpackb(finance, raw=False)
wire["w"]["name"] = bytes([wire["w"]["name"][0] ^ 1]) + wire["w"]["name"][1:]
print("withheld", refused(hc._pack_wire(wire)))
# a mask: not signed, so the record still verifies (never trust a mask)
wire = msgpack.unpackb(finance, raw=False)
wire["m"]["id_no"] = "000000********0000"
open(work + "/remasked.msgpack", "wb").write(hc._pack_wire(wire))
print("mask", refused(hc._pack_wire(wire)))
print("untouched", refused(health), refused(finance))
PY
expect_eq "$(tr '\n' ';' < tamper.txt)" \
    "disclosed bad_signature;withheld bad_signature;mask verified;untouched verified verified;" \
    "Python refuses a flipped byte of a disclosed value and of a withheld digest; a changed mask verifies (unsigned)"
expect_exit 1 "the Python CLI refuses the tampered record" -- client verify tampered.msgpack
grep -q "bad_signature" last.out || fail "no bad_signature: $(cat last.out)"
expect_exit 1 "the C verifier refuses it too" -- "$HUTONG" verify tampered.msgpack
expect_exit 0 "the C verifier accepts the changed mask too" -- "$HUTONG" verify remasked.msgpack

#  A node that sends a tampered record: the library refuses the answer.
#  A CURVE ROUTER on 127.0.0.1 in the same process, stopped at the end.
"$python" - "$here/partner" "$work" "$(node_client "$county")" "$county.key.pub" <<'PY' \
    > liar.txt 2>&1 || fail "the lying node: $(cat liar.txt)"
import sys, threading
sys.path.insert(0, sys.argv[1])
import msgpack, zmq
from nacl.bindings import crypto_sign_ed25519_sk_to_curve25519
from nacl.signing import SigningKey
import hutong_client as hc
work, endpoint, county_pub = sys.argv[2], sys.argv[3], sys.argv[4]
registry = hc.Schema.load(work + "/schema.json")
public, secret = hc.load_keyfile(work + "/health.key")

# The real county, through the library
client = hc.NodeClient(endpoint, hc.load_public(county_pub), public, secret, 5000, registry)
answer, records, wire = client.find("elder", "441802194005120317", purpose="care_service")
assert answer["count"] == 1 and records[0]["fields"]["id_no"] == "441802194005120317"
print("find", answer["policy"], len(wire))
try:
    client.find("elder", "441802194005120317")
except hc.NodeRefused as error:
    print("refused", error.command, error.error)
pages = list(client.pages("elder", purpose="care_service", max=2))
print("pages", [page.json["count"] for page in pages], sum(len(page.records) for page in pages))
print("count", client.count("elder")["total"])
history = client.history("elder", records[0]["key"], purpose="care_service")
print("history", [note["current"] for note in history.json["versions"]])
client.close()

# A node that answers every FIND with the tampered record
node_key = SigningKey.generate()
server = zmq.Context.instance().socket(zmq.ROUTER)
server.linger = 0
server.curve_server = True
server.curve_secretkey = crypto_sign_ed25519_sk_to_curve25519(
    bytes(node_key) + bytes(node_key.verify_key))
server.bind("tcp://127.0.0.1:*")
liar_endpoint = server.getsockopt_string(zmq.LAST_ENDPOINT)
frames = {"tampered": open(work + "/tampered.msgpack", "rb").read(),
          "honest": open(work + "/health.msgpack", "rb").read()}
stop = threading.Event()
sent = []
def serve():
    while not stop.is_set():
        if not server.poll(50):
            continue
        identity, command, body = server.recv_multipart()[:3]
        token = msgpack.unpackb(body)["token"]
        which = "honest" if len(sent) == 0 else "tampered"
        sent.append(which)
        server.send_multipart([identity, b"FIND-OK", hc.pack({"token": token}),
                               b'{"count":1,"kind":"elder","policy":"health"}', frames[which]])
thread = threading.Thread(target=serve)
thread.start()
try:
    liar = hc.NodeClient(liar_endpoint, bytes(node_key.verify_key), public, secret, 5000, registry)
    print("honest", liar.find("elder", "441802194005120317", purpose="care_service").json["count"])
    try:
        liar.find("elder", "441802194005120317", purpose="care_service")
        print("tampered accepted")
    except hc.RecordError as error:
        print("tampered", error.error)
    liar.close()
finally:
    stop.set()
    thread.join()
    server.close(0)
PY
expect_eq "$(tr '\n' ';' < liar.txt)" \
    "find health 1;refused FIND purpose_required;pages [2, 2, 1] $elders;count $elders;history [False, True];honest 1;tampered bad_signature;" \
    "the library API: find, NodeRefused by name, pages, count, history; a node sending a tampered record is refused"

#  --------------------------------------------------------------------------
#  The reads were audited at the county

ask civil_affairs list --purpose audit_review --kind audit --field subject_id_no --value "$id_no" \
    --wire audits.msgpack > audits.jsonl || fail "civil_affairs' LIST of audits failed: $(cat audits.jsonl)"
expect_eq "$(lines audits.jsonl "sorted({(r['fields'].get('department'), r['fields'].get('purpose')) for r in l})")" \
    "[('civil_affairs', 'subsidy_review'), ('finance', 'subsidy_review'), ('health', 'care_service')]" \
    "the county audited each department's reads of the elder, with their purposes"
expect_eq "$(lines audits.jsonl "all(r['region'] == '$county' and '$key' in r['fields']['subjects'] for r in l)")" \
    "True" "each audit record names the elder's key, at the county's region"
expect_eq "$(lines audits.jsonl "sorted({tuple(r['fields']['masked']) for r in l if r['fields']['department'] == 'finance'})")" \
    "$(lines finance.jsonl "[tuple(sorted(l[0]['masked']))]")" \
    "finance's audits list the fields it saw masked, and no other"
both_verify audits.msgpack

#  Nothing the reads did was quarantined
node_status "$county" > status.json || fail "the county does not answer STATUS"
expect_eq "$(json_get status.json "j['quarantine']")" "{}" "the county quarantined nothing"

scenario_done=1
ok "python query scenario complete"
