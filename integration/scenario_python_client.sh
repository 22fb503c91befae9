#!/usr/bin/env bash
#  Python partner client: a client written from docs/records.md and
#  docs/protocol.md alone (pyzmq + msgpack + PyNaCl) against a running
#  2-node chain, city 441800000000 -> county 441802000000. It asks the
#  county for STATUS and INFO over CurveZMQ, signs an elder record in
#  Python and PUTs it into the county; the record is stored there under the
#  key the C code derives, and replicates to the city. The city's records,
#  exported full and for the partner policy, verify in Python (signature,
#  digests, certificate chain); tampered ones do not, and the C verifier
#  agrees with the Python one both ways. The client keeps no copy of the
#  field tables: it reads them from `hutong schema --json`. Elders written
#  at once are signed in a batch (one signature over a Merkle root): the
#  pinned vectors check out in Python, and the batch-signed records verify
#  in Python full and redacted, while a changed path, field or proof fails.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"

#  A Python 3 that has the three modules (a pyenv python3 may lack them)
python=""
for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import zmq, msgpack, nacl' 2>/dev/null; then python="$candidate"; break; fi
done
[ -n "$python" ] || fail "no python3 with pyzmq, msgpack and PyNaCl (apt-get install python3-zmq python3-msgpack python3-nacl)"
client () { "$python" "$here/partner/hutong_client.py" "$@"; }

#  The schema tables the client builds and verifies records with
"$HUTONG" schema --json > "$work/schema.json"
export HUTONG_SCHEMA="$work/schema.json"

city=441800000000
county=441802000000
community=441802001001                  #  the elder's region: inside the county
id_no=441802194005120317

show_logs_on_failure


expect_exit 0 "hutong_client.py --help" -- client --help
grep -q "put-elder" "$work/last.out" || fail "--help does not list put-elder"

#  --------------------------------------------------------------------------
#  The network

network_chain "$city" "$county"
network_start
network_wait_connected 30
ok "city and county running and connected"

#  The county's own key is the client: its certificate is in the county's
#  store and its region is inside the county's jurisdiction
node_opts=(--node "$(node_client "$county")" --node-key "$work/$county.key.pub"
           --key "$work/$county.key" --timeout 5000)

#  --------------------------------------------------------------------------
#  STATUS and INFO from Python

client status "${node_opts[@]}" > status.json || fail "STATUS from Python failed"
expect_eq "$(json_get status.json "j['region']")" "$county" "STATUS-OK names the county's region"
expect_eq "$(json_get status.json "[p['role'] + ':' + str(p['connected']) for p in j['peers']]")" \
    "['parent:True']" "STATUS-OK shows the county connected to its parent"
expect_eq "$(json_get status.json "j['records']['cert']")" "2" "the county holds the two certificates"

client info "${node_opts[@]}" > info.json || fail "INFO from Python failed"
expect_eq "$(json_get info.json "j['anchor']")" "$(json_get "$city.key.pub" "j['public']")" \
    "INFO-OK names the city's root key as the anchor"
expect_eq "$(json_get info.json "j['client_cert']['key']")" "$(json_get "$county.key.pub" "j['public']")" \
    "INFO-OK returns our own certificate"

#  A key the county holds no certificate for is refused at the handshake
make_key stranger
expect_exit 3 "a key without a certificate gets no answer" -- \
    client status --node "$(node_client "$county")" --node-key "$work/$county.key.pub" \
    --key "$work/stranger.key" --timeout 2000
grep -q "refused our key" "$work/last.err" || fail "the client did not report the ZAP refusal: $(cat "$work/last.err")"

#  --------------------------------------------------------------------------
#  An elder signed in Python, PUT into the county

client put-elder "${node_opts[@]}" --idkey "$work/net.idkey" --region "$community" \
    --id-no "$id_no" --name "李秀英" --phone 13800138000 --categories 低保 \
    --ability-level 2 --out elder.jsonl > put.json \
    || fail "the county refused the Python-signed elder: $(cat put.json)"
expect_eq "$(json_get put.json "j['applied']")" "1" "PUT-OK: the county applied the Python-signed record"
expect_eq "$(json_get put.json "j['results']")" "['ok']" "PUT-OK: the record's result is ok"
key="$(json_get elder.jsonl "j['key']")"

"$HUTONG" get --store "$(node_store "$county")" elder "$key" > county-elder.jsonl \
    || fail "the county does not hold elder $key"
expect_eq "$(json_get county-elder.jsonl "j['sig']")" "$(json_get elder.jsonl "j['sig']")" \
    "the county stores exactly the version Python signed"
"$HUTONG" verify elder.jsonl > c-verify.json || fail "the C verifier refuses the Python-signed record"
ok "the C verifier accepts the Python-signed record"

#  Replication to the city, polled with a deadline
city_has_elder () { "$HUTONG" get --store "$(node_store "$city")" elder "$key" > city-elder.jsonl 2>/dev/null; }
wait_until 20 city_has_elder || fail "the elder did not reach the city within 20 s"
expect_eq "$(json_get city-elder.jsonl "j['sig']")" "$(json_get elder.jsonl "j['sig']")" \
    "the elder replicated to the city, same version"
"$HUTONG" list --store "$(node_store "$city")" --kind elder --region 441802 > city-list.jsonl
expect_eq "$(wc -l < city-list.jsonl)" "1" "hutong list at the city shows one elder in the county"
expect_eq "$(json_get city-list.jsonl "j['key']")" "$key" "hutong list at the city shows the Python-made key"

#  The key Python derived is the key the C code derives: a C-signed draft
#  of the same person becomes a new version of the same entity
echo "{\"kind\":\"elder\",\"region\":\"$community\",\"fields\":{\"name\":\"李秀英\",\"id_type\":\"居民身份证\",\"id_no\":\"$id_no\",\"sex\":1,\"birth_date\":\"19400512\",\"hukou_region\":\"$community\",\"status\":\"active\",\"phone\":\"13900139000\"}}" > draft.jsonl
"$HUTONG" put --node "$(node_client "$county")" --node-key "$work/$county.key.pub" \
    --key "$work/$county.key" --idkey "$work/net.idkey" draft.jsonl > c-put.json \
    || fail "hutong put --node refused the C draft: $(cat c-put.json)"
"$HUTONG" list --store "$(node_store "$county")" --kind elder > county-list.jsonl
expect_eq "$(wc -l < county-list.jsonl)" "1" "still one elder at the county after the C put of the same person"
expect_eq "$(json_get county-list.jsonl "j['fields']['phone']")" "13900139000" \
    "the C version superseded the Python one: Python and C derive the same elder key"
expect_eq "$("$HUTONG" history --store "$(node_store "$county")" elder "$key" | wc -l)" "2" \
    "the Python version is kept in history"
city_has_new_phone () { city_has_elder && [ "$(json_get city-elder.jsonl "j['fields']['phone']")" = 13900139000 ]; }
wait_until 20 city_has_new_phone || fail "the new version did not reach the city within 20 s"
ok "the new version replicated to the city"

#  Out of jurisdiction: the county's key signing an elder of another county
client put-elder "${node_opts[@]}" --idkey "$work/net.idkey" --region 441803001001 \
    --id-no 441803194106150028 --name "王桂兰" > foreign.json 2>foreign.err && fail "an out-of-county elder was accepted"
expect_eq "$(json_get foreign.json "j['results']")" "['out_of_scope']" \
    "PUT-OK: an elder outside the county is quarantined as out_of_scope"

#  --------------------------------------------------------------------------
#  The city's records, verified in Python

city_store="$(node_store "$city")"
"$HUTONG" export --store "$city_store" > city-full.jsonl 2>/dev/null
"$HUTONG" export --store "$city_store" --policy partner > city-partner.jsonl 2>/dev/null
"$HUTONG" export --store "$city_store" --policy health --format msgpack > city-health.msgpack 2>/dev/null
total="$(wc -l < city-full.jsonl)"
expect_eq "$total" "3" "the city exports three records (two certificates, one elder)"
#  A read policy reads only its kinds: partner and health read elders, not
#  certificates
expect_eq "$(wc -l < city-partner.jsonl)" "1" "the partner export has the elder (masked), no certificate"

client verify --anchor "$work/$city.key.pub" city-full.jsonl > py-full.json \
    || { cat py-full.json >&2; fail "Python refuses a full record"; }
expect_eq "$(json_get py-full.json "j['valid']")" "$total" \
    "Python verifies every full record: signature, digests and certificate chain"
client verify --anchor "$work/$city.key.pub" --chain city-full.jsonl city-partner.jsonl > py-partner.json \
    || { cat py-partner.json >&2; fail "Python refuses a redacted record"; }
expect_eq "$(json_get py-partner.json "j['valid']")" "1" \
    "Python verifies the partner-redacted elder against the certificate chain"
client verify city-health.msgpack > py-health.json \
    || { cat py-health.json >&2; fail "Python refuses a msgpack record"; }
expect_eq "$(json_get py-health.json "j['valid']")" "1" \
    "Python verifies the health-redacted msgpack export (strict canonical decoding)"
if grep -q "$id_no" city-partner.jsonl; then fail "the partner export leaks the ID number"; fi
ok "the partner export holds no ID number"

#  --------------------------------------------------------------------------
#  Tampering

grep '"kind":"elder"' city-full.jsonl > elder-full.jsonl
grep '"kind":"elder"' city-partner.jsonl > elder-partner.jsonl
"$python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def rewrite(source, target, change):
    record = json.loads(open("%s/%s" % (work, source)).readline())
    change(record)
    open("%s/%s" % (work, target), "w").write(json.dumps(record, ensure_ascii=False) + "\n")
def flip(hex_text):
    data = bytearray.fromhex(hex_text); data[0] ^= 1; return data.hex()
rewrite("elder-full.jsonl", "tampered-name.jsonl",
        lambda r: r["fields"].update(name="王五"))
rewrite("elder-full.jsonl", "tampered-region.jsonl",
        lambda r: r.update(region="441802001002", scope="441802001002"))
rewrite("elder-partner.jsonl", "tampered-withheld.jsonl",
        lambda r: r["withheld"].update(id_no=flip(r["withheld"]["id_no"])))
rewrite("elder-full.jsonl", "future-version.jsonl", lambda r: r.update(sv=r["sv"] + 1))
rewrite("elder-partner.jsonl", "tampered-disclosed.jsonl",
        lambda r: (r["fields"].update(status="active"), r.setdefault("salts", {}).update(status="00" * 16),
                   r["withheld"].pop("status"), r.get("masked", {}).pop("status", None)))
PY
for tampered in tampered-name tampered-region tampered-withheld tampered-disclosed; do
    expect_exit 1 "Python refuses $tampered" -- client verify "$tampered.jsonl"
    grep -q "bad_signature" "$work/last.out" || fail "$tampered: no bad_signature in: $(cat "$work/last.out")"
    expect_exit 1 "the C verifier refuses $tampered too" -- "$HUTONG" verify "$tampered.jsonl"
done

#  Tables of a later release, where elder gained a field in version 2:
#  Python still verifies every version 1 record, whose digest covers only
#  version 1's fields
"$python" - "$work/schema.json" "$work/schema-next.json" <<'PY'
import json, sys
tables = json.load(open(sys.argv[1]))
elder = next(kind for kind in tables["kinds"] if kind["name"] == "elder")
elder["version"] = elder["write_version"] = 2
elder["fields"].append({"name": "hearing_aid", "type": "bool", "required": False,
                        "since": 2, "subtypes": None, "sens": "S", "group": "ability",
                        "indexed": False, "rule": None, "choices": None})
elder["fields"].sort(key=lambda field: field["name"].encode())
json.dump(tables, open(sys.argv[2], "w"))
PY
client --schema "$work/schema-next.json" verify --anchor "$work/$city.key.pub" city-full.jsonl \
    > py-next.json || { cat py-next.json >&2; fail "the next release's tables refuse a version 1 record"; }
expect_eq "$(json_get py-next.json "j['valid']")" "$total" \
    "with a field added in elder version 2, Python still verifies every version 1 record"

#  A schema version newer than the tables is refused by name, by both
expect_exit 1 "Python refuses a record of a schema version its tables do not have" -- \
    client verify future-version.jsonl
grep -q "schema_version" "$work/last.out" || fail "no schema_version in: $(cat "$work/last.out")"
expect_exit 1 "the C verifier refuses it too" -- "$HUTONG" verify future-version.jsonl
grep -q "schema_version" "$work/last.out" || fail "C: no schema_version in: $(cat "$work/last.out")"
expect_exit 2 "the client needs the tables to verify" -- \
    env -u HUTONG_SCHEMA "$python" "$here/partner/hutong_client.py" verify elder-full.jsonl
grep -q "hutong schema --json" "$work/last.err" || fail "the client does not say where tables come from"

#  A record that is valid but not canonical msgpack is refused as malformed
"$python" - "$work" <<'PY'
import msgpack, sys
work = sys.argv[1]
data = open(work + "/city-health.msgpack", "rb").read()
unpacker = msgpack.Unpacker(raw=False)
unpacker.feed(data)
record = next(unpacker)
reordered = bytearray(msgpack.Packer().pack_map_header(len(record)))
for key in sorted(record, reverse=True):
    reordered += msgpack.packb(key) + msgpack.packb(record[key])
open(work + "/noncanonical.msgpack", "wb").write(bytes(reordered))
PY
expect_exit 1 "Python refuses a record whose map keys are not sorted" -- client verify noncanonical.msgpack
grep -q "canonical" "$work/last.out" || fail "the refusal does not say canonical: $(cat "$work/last.out")"
expect_exit 1 "the C verifier refuses it too" -- "$HUTONG" verify --format msgpack noncanonical.msgpack

#  --------------------------------------------------------------------------
#  Batch signatures (docs/records.md §4a)

#  The pinned vectors, recomputed in Python: record digests, the RFC 9162
#  tree of three, every path, the signed message and the signature of the
#  key seed, and the redacted record's digest. The C unit test
#  (test_record_batch) checks the same file.
"$python" - "$here/partner" "$here/../tests/batch_vectors.json" > vectors.txt <<'PY' \
    || fail "the pinned batch vectors do not check out in Python: $(cat vectors.txt)"
import json, os, sys
sys.path.insert(0, sys.argv[1])
import hutong_client as hc
from nacl.signing import SigningKey
registry = hc.Schema.load(os.environ["HUTONG_SCHEMA"])
vectors = json.load(open(sys.argv[2]))
records = [hc.Record.from_json(item, registry) for item in vectors["records"]]
digests = [record.digest() for record in records]
leaves = [hc.merkle_leaf(digest) for digest in digests]
node01 = hc.merkle_node(leaves[0], leaves[1])
root = hc.merkle_node(node01, leaves[2])
assert root.hex() == vectors["root"] == hc.merkle_root(digests).hex(), "root"
key = SigningKey(bytes.fromhex(vectors["key_seed"]))
sig = key.sign(hc.BATCH_TAG + (3).to_bytes(8, "big") + root).signature
expected_paths = [[leaves[1], leaves[2]], [leaves[0], leaves[2]], [node01]]
for index, record in enumerate(records):
    assert record.author == bytes(key.verify_key), "author"
    assert record.batch == (index, 3, expected_paths[index]), "path %d" % index
    assert record.sig == sig, "signature %d" % index
    assert record.header_bytes()[:3] == b"\x9a\x03\x01", "header %d" % index
    record.verify()
    assert hc.Record.decode(record.encode(), registry).batch == record.batch, "wire %d" % index
redacted = hc.Record.from_json(vectors["redacted"], registry)
assert not redacted.full and redacted.digest() == digests[1], "redacted digest"
redacted.verify()
#  A batch Python signs, for the C verifier
for record in records:
    record.batch = None
hc.sign_batch(records, bytes(key) + bytes(key.verify_key))
with open("py-batch.jsonl", "w") as out:
    for record in records:
        out.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
print("vectors ok")
PY
ok "Python recomputes the pinned batch vectors: digests, tree, paths, message, signature"
"$HUTONG" verify --json py-batch.jsonl > c-py-batch.json \
    || { cat c-py-batch.json >&2; fail "the C verifier refuses a batch Python signed"; }
expect_eq "$(grep -c '"valid":true' c-py-batch.json)" "3" "the C verifier accepts the three records of a batch Python signed"

#  Five elders written at once: hutong put signs them under one signature
"$HUTONG" gen --seed 7 --city "$city" --region "$county" --elders 5 --facilities 0 --credit 0 \
    > batch-drafts.jsonl 2>/dev/null || fail "hutong gen failed"
"$HUTONG" put --node "$(node_client "$county")" --node-key "$work/$county.key.pub" \
    --key "$work/$county.key" --idkey "$work/net.idkey" batch-drafts.jsonl > batch-put.json \
    || fail "the county refused the batch-signed drafts: $(cat batch-put.json)"
expect_eq "$(json_get batch-put.json "j['stored']")" "5" "the county stored the five batch-signed elders"
city_has_six () { [ "$("$HUTONG" list --store "$city_store" --kind elder 2>/dev/null | wc -l)" = 6 ]; }
wait_until 20 city_has_six || fail "the batch-signed elders did not reach the city within 20 s"
ok "the batch-signed elders replicated to the city (each verified there alone)"
"$HUTONG" export --store "$city_store" --kind elder > batch-full.jsonl 2>/dev/null
"$HUTONG" export --store "$city_store" --kind elder --policy partner > batch-partner.jsonl 2>/dev/null
"$HUTONG" export --store "$city_store" --kind elder --policy health --format msgpack \
    > batch-health.msgpack 2>/dev/null
"$HUTONG" verify --json batch-full.jsonl > c-batch.json || fail "the C verifier refuses the city's elders"
expect_eq "$("$python" -c '
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
batched = [line["batch"] for line in lines if "batch" in line]
print(len(batched), len({item["root"] for item in batched}), sorted(item["index"] for item in batched),
      {item["size"] for item in batched})' c-batch.json)" "5 1 [0, 1, 2, 3, 4] {5}" \
    "the five elders carry leaves 0-4 of one batch of 5, one root"

client verify --anchor "$work/$city.key.pub" --chain city-full.jsonl batch-full.jsonl > py-batch.json \
    || { cat py-batch.json >&2; fail "Python refuses a batch-signed record"; }
expect_eq "$(json_get py-batch.json "(j['valid'], j['batch_signed'])")" "(6, 5)" \
    "Python verifies the six elders, five of them batch-signed: signature, proof, digests, chain"
client verify --anchor "$work/$city.key.pub" --chain city-full.jsonl batch-partner.jsonl > py-batch-partner.json \
    || { cat py-batch-partner.json >&2; fail "Python refuses a redacted batch-signed record"; }
expect_eq "$(json_get py-batch-partner.json "(j['valid'], j['batch_signed'])")" "(6, 5)" \
    "Python verifies the partner-redacted batch-signed elders: redaction keeps the proof"
client verify batch-health.msgpack > py-batch-health.json \
    || { cat py-batch-health.json >&2; fail "Python refuses a redacted batch-signed msgpack record"; }
expect_eq "$(json_get py-batch-health.json "(j['valid'], j['batch_signed'])")" "(6, 5)" \
    "Python verifies the health-redacted msgpack export of batch-signed elders (strict decoding)"

"$python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def batched(source):
    return [json.loads(line) for line in open("%s/%s" % (work, source)) if '"batch"' in line]
def write(target, record):
    open("%s/%s" % (work, target), "w").write(json.dumps(record, ensure_ascii=False) + "\n")
def flip(hex_text):
    data = bytearray.fromhex(hex_text); data[5] ^= 1; return data.hex()
full, partner = batched("batch-full.jsonl"), batched("batch-partner.jsonl")
record = json.loads(json.dumps(full[0])); record["batch"]["path"][0] = flip(record["batch"]["path"][0])
write("batch-path.jsonl", record)
record = json.loads(json.dumps(partner[0])); record["batch"]["path"][-1] = flip(record["batch"]["path"][-1])
write("batch-path-redacted.jsonl", record)
record = json.loads(json.dumps(full[0])); record["fields"]["name"] = "王五"
write("batch-name.jsonl", record)
#  Another record's proof of the same shape: leaves 0-3 of 5 have paths of 3
first, other = [r for r in full if len(r["batch"]["path"]) == 3][:2]
record = json.loads(json.dumps(first)); record["batch"] = other["batch"]
write("batch-moved.jsonl", record)
record = json.loads(json.dumps(full[0])); record["batch"]["size"] += 1
write("batch-size.jsonl", record)
PY
for tampered in batch-path batch-path-redacted batch-name batch-moved; do
    expect_exit 1 "Python refuses $tampered" -- client verify "$tampered.jsonl"
    grep -q "bad_signature" "$work/last.out" || fail "$tampered: no bad_signature in: $(cat "$work/last.out")"
    expect_exit 1 "the C verifier refuses $tampered too" -- "$HUTONG" verify "$tampered.jsonl"
    grep -q "bad_signature" "$work/last.out" || fail "C: $tampered: no bad_signature in: $(cat "$work/last.out")"
done
#  --plain-sig signs each draft alone, as does a lone draft
"$HUTONG" gen --seed 8 --city "$city" --region "$county" --elders 3 --facilities 0 --credit 0 \
    > plain-drafts.jsonl 2>/dev/null || fail "hutong gen failed"
head -2 plain-drafts.jsonl > plain-two.jsonl
tail -1 plain-drafts.jsonl > plain-lone.jsonl
"$HUTONG" put --node "$(node_client "$county")" --node-key "$work/$county.key.pub" \
    --key "$work/$county.key" --idkey "$work/net.idkey" --plain-sig plain-two.jsonl > plain-put.json \
    || fail "the county refused the plainly signed drafts: $(cat plain-put.json)"
"$HUTONG" put --node "$(node_client "$county")" --node-key "$work/$county.key.pub" \
    --key "$work/$county.key" --idkey "$work/net.idkey" plain-lone.jsonl > lone-put.json \
    || fail "the county refused the lone draft: $(cat lone-put.json)"
"$HUTONG" export --store "$(node_store "$county")" --kind elder > county-elders.jsonl 2>/dev/null
"$HUTONG" verify county-elders.jsonl > c-county.json || fail "the C verifier refuses the county's elders"
expect_eq "$(json_get c-county.json "(j['records'], j['batch_signed'], j['signature_checks'])")" \
    "(9, 5, 5)" "nine elders, five batch-signed: the C verifier makes one check for the batch, one per other record"
client verify county-elders.jsonl > py-county.json || fail "Python refuses the county's elders"
expect_eq "$(json_get py-county.json "(j['valid'], j['batch_signed'])")" "(9, 5)" \
    "Python verifies the batch-signed and the plainly signed elders side by side"

#  A size of 6 gives the same path length for some leaves, another for
#  others: refused either way (malformed, or bad_signature)
expect_exit 1 "Python refuses a batch-signed record whose batch size was changed" -- \
    client verify batch-size.jsonl
expect_exit 1 "the C verifier refuses it too" -- "$HUTONG" verify batch-size.jsonl

#  --------------------------------------------------------------------------
#  ERROR replies on the client socket (docs/protocol.md §4)

"$python" - "$here/partner" "$(node_client "$county")" "$work/$county.key.pub" "$work/$county.key" \
    > errors.txt <<'PY' || fail "ERROR replies: $(cat errors.txt)"
import sys
sys.path.insert(0, sys.argv[1])
import msgpack
import hutong_client as hc
public, secret = hc.load_keyfile(sys.argv[4])
client = hc.NodeClient(sys.argv[2], hc.load_public(sys.argv[3]), public, secret, 5000)
def exchange(frames):
    client.socket.send_multipart(frames)
    if not client.socket.poll(5000):
        raise SystemExit("no reply to %r" % frames[0])
    command, body = client.socket.recv_multipart()[:2]
    body = msgpack.unpackb(body, raw=False)
    print(command.decode(), body["error"], body["token"])
exchange([b"FETCH", hc.pack({"token": 7})])                 # unknown command
exchange([b"PULL", hc.pack({"cursor": 0, "max": 1})])        # a node command on the client socket
exchange([b"STATUS", b"\xc1"])                                # a body that is not msgpack
exchange([b"STATUS", hc.pack({"token": "seven"})])          # an item of the wrong type
client.close()
PY
expect_eq "$(tr '\n' ';' < errors.txt)" \
    "ERROR invalid 0;ERROR unknown_request 0;ERROR malformed 0;ERROR malformed 0;" \
    "ERROR replies name the problem: invalid, unknown_request, malformed"

#  Neither node quarantined anything but the out-of-scope write
client status "${node_opts[@]}" > status-end.json
expect_eq "$(json_get status-end.json "j['quarantine']")" "{'out_of_scope': 1}" \
    "the county quarantined only the out-of-scope write"
expect_eq "$(json_get status-end.json "j['protocol_errors']")" "4" \
    "the county counted exactly the four bad requests as protocol errors"

scenario_done=1
ok "python client scenario complete"
