#!/usr/bin/env bash
#  hutong put completes drafts (ht_record_complete): key, default scope and
#  an hlc after the entity's current version. Against one running node:
#  an update sent with `put --node` becomes the current version; a node
#  holding a version timestamped ahead of the writer's clock (signed in
#  Python two minutes ahead, within the node's ingest window) first keeps
#  the writer's update as history, and `put --node`, told so, timestamps
#  it after that version and sends it again, so it is current (and says
#  the node's version is ahead of its clock); a writer whose clock is too
#  far behind to follow that version (under faketime) has its update kept
#  as history, and `put --node` says so and exits 1 rather than 0;
#  `put --store`, which reads the current version first, sorts its
#  update after that one. In one PUT, a draft replaced by a later line of
#  the same entity is not sent again nor reported; only the one passed
#  over is. An elder
#  draft sent without --idkey is refused with the reason. A draft that
#  says what the current version says is unchanged, through the node and
#  through the store: no new version, no new signature. A node that does
#  not answer (SIGSTOP) fails `put --node` after one --timeout (its INFO),
#  with nothing sent, not after one for INFO and another for PUT.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"

county=441802000000
community=441802001001
id_no=441802194005120317
show_logs_on_failure

#  Certificates valid from an hour ago: a writer whose clock is behind
#  dates its records before now
NETWORK_NOT_BEFORE=$(( $(date +%s%3N) - 3600000 ))
network_chain "$county"
network_start
ok "the county node is running"

node_put () {
    "$HUTONG" put --node "$(node_client "$county")" --node-key "$county.key.pub" \
        --key "$county.key" "$@"
}
#  elder_draft NAME [ID]: a draft of the man of citizen ID ID (default
#  $id_no), born 1940-05-12 in the community
elder_draft () {
    printf '{"kind":"elder","region":"%s","fields":{"name":"%s","id_type":"居民身份证",' "$community" "$1"
    printf '"id_no":"%s","sex":1,"birth_date":"19400512","hukou_region":"%s","status":"active"}}\n' \
        "${2:-$id_no}" "$community"
}
#  current_name [KEY]: the name in the node's current version of elder KEY
#  (default $key), which is left in current.json
current_name () {
    "$HUTONG" get --store "$(node_store "$county")" elder "${1:-$key}" > current.json \
        && json_get current.json "j['fields']['name']"
}

#  --------------------------------------------------------------------------
#  A new elder, then an update, through the client socket

elder_draft "李秀英" > v1.jsonl
expect_exit 0 "put --node of a new elder" -- node_put --idkey net.idkey v1.jsonl
expect_eq "$(json_get last.out "j['stored']")" "1" "the new elder is stored"
key="$("$HUTONG" list --store "$(node_store "$county")" --kind elder \
       | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["key"])')"
[ -n "$key" ] || fail "the county store lists no elder"

elder_draft "李秀英二" > v2.jsonl
expect_exit 0 "put --node of an update" -- node_put --idkey net.idkey v2.jsonl
expect_eq "$(json_get last.out "(j['stored'], j['historic'], j['refused'])")" "(1, 0, 0)" \
    "the update is stored, not kept as history"
expect_eq "$(current_name)" "李秀英二" "the update is the current version at the node"
"$HUTONG" history --store "$(node_store "$county")" elder "$key" > history.jsonl
expect_eq "$(python3 -c 'import json,sys; print([json.loads(l)["fields"]["name"] for l in open(sys.argv[1])])' \
    history.jsonl)" "['李秀英', '李秀英二']" "the first version is history, before the update"

#  The same draft again changes nothing: no new version, no new signature
sig_before="$(current_name >/dev/null && json_get current.json "j['sig']")"
expect_exit 0 "put --node of a draft identical to the current version" -- \
    node_put --idkey net.idkey v2.jsonl
expect_eq "$(json_get last.out "(j['stored'], j['unchanged'], j['historic'], j['refused'])")" \
    "(0, 1, 0, 0)" "the node counts it as unchanged, not stored"
expect_eq "$(current_name >/dev/null && json_get current.json "j['sig']")" "$sig_before" \
    "the current version is still the one signed before"
expect_eq "$("$HUTONG" history --store "$(node_store "$county")" elder "$key" | wc -l)" "2" \
    "the history holds no third version"
#  One PUT: the identical draft, then a change of it: the change is stored
{ cat v2.jsonl; elder_draft "李秀英六"; elder_draft "李秀英二"; } > back-and-forth.jsonl
expect_exit 0 "put --node of the identical draft, a change, and a change back" -- \
    node_put --idkey net.idkey back-and-forth.jsonl
expect_eq "$(json_get last.out "(j['stored'], j['unchanged'])")" "(2, 1)" \
    "only the first, identical to the node's version, is unchanged"
expect_eq "$(current_name)" "李秀英二" "the change back is the current version"

#  Without the network pseudonym key put cannot derive an elder's key
expect_exit 1 "put --node of an elder draft without --idkey" -- node_put v2.jsonl
grep -q "no key given, and this kind's key is derived with the network pseudonym key" "$work/last.err" \
    || fail "put does not say the idkey is missing: $(cat "$work/last.err")"
expect_eq "$(json_get last.out "(j['stored'], j['refused'])")" "(0, 1)" "the draft is refused"

#  --------------------------------------------------------------------------
#  A node that does not answer: one timeout, for INFO, then put fails

frozen=""
thaw_county () { [ -z "$frozen" ] || kill -CONT "$frozen" 2>/dev/null || true; frozen=""; }
cleanup_hooks=("thaw_county" "${cleanup_hooks[@]}")
elders_held () { "$HUTONG" list --store "$(node_store "$county")" --kind elder --limit 0 | wc -l; }
held_before="$(elders_held)"
elder_draft "赵建军" 441802194005120018 > frozen.jsonl
timeout_ms=2000
#  The command's own start and exit, measured, belong to no timeout
#  (under valgrind they take a second or more)
started=$(date +%s%N)
"$HUTONG" put --help >/dev/null 2>&1 || true
startup_ms=$(( ($(date +%s%N) - started) / 1000000 ))
bound_ms=$(( timeout_ms * 16 / 10 + startup_ms ))
frozen="$(node_pid "$county")"
kill -STOP "$frozen"
started=$(date +%s%N)
expect_exit 3 "put --node to a frozen node" -- node_put --idkey net.idkey --timeout "$timeout_ms" frozen.jsonl
took_ms=$(( ($(date +%s%N) - started) / 1000000 ))
thaw_county
grep -q "hutong: put: no INFO from the node, nothing sent: timeout: " "$work/last.err" \
    || fail "put does not say the node did not answer its INFO: $(cat "$work/last.err")"
[ "$took_ms" -lt "$bound_ms" ] \
    || fail "put to a frozen node took $took_ms ms with --timeout $timeout_ms (bound $bound_ms ms, of which $startup_ms ms the command's start and exit): it waited again for the PUT"
[ "$took_ms" -ge $(( timeout_ms * 9 / 10 )) ] \
    || fail "put to a frozen node gave up after $took_ms ms, before its --timeout of $timeout_ms"
ok "put to a frozen node failed after $took_ms ms (--timeout $timeout_ms, bound $bound_ms ms with $startup_ms ms to start and exit): $(cut -c1-90 "$work/last.err")"
#  Thawed, the node answers again; what the failed put read was never sent
expect_exit 0 "put --node once the node runs again" -- node_put --idkey net.idkey v2.jsonl
expect_eq "$(elders_held)" "$held_before" "the frozen put stored nothing"
expect_exit 2 "put --store with --timeout (a store answers at once)" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key "$county.key" --timeout 100 v2.jsonl

#  --------------------------------------------------------------------------
#  A current version ahead of the writer's clock

python=""
for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import zmq, msgpack, nacl' 2>/dev/null; then python="$candidate"; break; fi
done
if [ -z "$python" ]; then
    echo "# skipped the clock-skew checks: no python3 with pyzmq, msgpack and PyNaCl"
    scenario_done=1
    exit 0
fi
"$HUTONG" schema --json > schema.json
ahead_ms=$(( $(date +%s%3N) + 120000 ))
HUTONG_SCHEMA="$work/schema.json" "$python" "$here/partner/hutong_client.py" put-elder \
    --node "$(node_client "$county")" --node-key "$county.key.pub" --key "$county.key" \
    --idkey net.idkey --region "$community" --id-no "$id_no" --name "未来" \
    --hlc-ms "$ahead_ms" > ahead.json || fail "the version ahead was not stored: $(cat ahead.json)"
expect_eq "$(json_get ahead.json "(j['key'], j['applied'])")" "('$key', 1)" \
    "a version two minutes ahead of our clock is current at the node"

elder_draft "李秀英三" > v3.jsonl
expect_exit 0 "put --node of an update behind the node's current version" -- \
    node_put --idkey net.idkey v3.jsonl
grep -q "line 1: the node holds a version dated .* ahead of this machine's clock; timestamped after it and sent again" \
    "$work/last.err" || fail "put does not say it sent the update again: $(cat "$work/last.err")"
expect_eq "$(json_get last.out "(j['stored'], j['historic'], j['restamped'])")" "(1, 0, 1)" \
    "the update, timestamped after the version ahead, is stored"
expect_eq "$(current_name)" "李秀英三" "the update is the current version"
expect_eq "$(json_get current.json "j['hlc'] > ($ahead_ms << 16)")" "True" \
    "its hlc is after the version ahead"

#  In one PUT: a new elder, an update of it, and an update of the elder
#  whose current version is ahead. Only that last one was passed over and
#  sent again; the first was replaced by the second, the writer's own
#  newer version, and is neither sent again nor reported.
second_id="$(python3 -c '
body = "44180219400512033"
weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11])')"
{ elder_draft "王建国" "$second_id"; elder_draft "王建国二" "$second_id"; elder_draft "李秀英五"; } \
    > batch.jsonl
expect_exit 0 "put --node of a batch with one update behind the node's current version" -- \
    node_put --idkey net.idkey batch.jsonl
grep -q "line 3: the node holds a version dated" "$work/last.err" \
    || fail "line 3 is not reported: $(cat "$work/last.err")"
! grep -q "line [12]:" "$work/last.err" || fail "lines 1 and 2 are reported: $(cat "$work/last.err")"
expect_eq "$(json_get last.out "(j['stored'], j['historic'], j['restamped'])")" "(3, 0, 1)" \
    "the summary counts all three as stored, one sent again"
second_key="$("$HUTONG" list --store "$(node_store "$county")" --kind elder | python3 -c '
import json, sys
print("".join(r["key"] for r in map(json.loads, sys.stdin) if r["key"] != sys.argv[1]))' "$key")"
expect_eq "$(current_name "$second_key")" "王建国二" "the new elder's second version is current"
expect_eq "$(current_name)" "李秀英五" "the update sent again is current"

#  A writer whose clock is 4 minutes behind cannot follow a version 2
#  minutes ahead of the node's: 6 minutes ahead of its own clock, past
#  the 5 a hybrid clock follows. Its update is kept as history, said so,
#  and the run fails.
command -v faketime >/dev/null || fail "faketime is not installed (tools/install-deps.sh)"
#  libfaketime comes first in LD_PRELOAD; a build with AddressSanitizer
#  (HT_SANITIZE) wants its runtime first unless told otherwise
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
HUTONG_SCHEMA="$work/schema.json" "$python" "$here/partner/hutong_client.py" put-elder \
    --node "$(node_client "$county")" --node-key "$county.key.pub" --key "$county.key" \
    --idkey net.idkey --region "$community" --id-no "$id_no" --name "未来二" \
    --hlc-ms "$(( $(date +%s%3N) + 120000 ))" > ahead2.json \
    || fail "the second version ahead was not stored: $(cat ahead2.json)"
elder_draft "李秀英六" > v6.jsonl
expect_exit 1 "put --node from a clock 4 minutes behind, of an update behind a version ahead" -- \
    env FAKETIME_NO_CACHE=1 faketime -f "-4m" "$HUTONG" put --node "$(node_client "$county")" \
    --node-key "$county.key.pub" --key "$county.key" --idkey net.idkey v6.jsonl
grep -q "line 1: kept as history: the node holds a newer version" "$work/last.err" \
    || fail "put does not say the update was kept as history: $(cat "$work/last.err")"
expect_eq "$(json_get last.out "(j['stored'], j['historic'], j['restamped'])")" "(0, 1, 0)" \
    "the summary counts it as history, not as stored"
expect_eq "$(current_name)" "未来二" "the version ahead is still current"
ahead_ms=$(json_get current.json "j['hlc'] >> 16")

elder_draft "李秀英四" > v4.jsonl
expect_exit 0 "put --store of an update reads the current version first" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key "$county.key" v4.jsonl
expect_eq "$(json_get last.out "(j['stored'], j['historic'])")" "(1, 0)" "that update is stored"
expect_eq "$(current_name)" "李秀英四" "and is the current version"
expect_eq "$(json_get current.json "j['hlc'] > ($ahead_ms << 16)")" "True" \
    "its hlc is after the version ahead"

#  put --store compares before signing: the same draft again is unchanged,
#  within one run too (the second line compares with the first, not yet
#  in the store)
hlc_before="$(json_get current.json "j['hlc']")"
{ cat v4.jsonl; elder_draft "李秀英七"; elder_draft "李秀英七"; } > store-again.jsonl
expect_exit 0 "put --store of the current draft, a change, and that change again" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key "$county.key" store-again.jsonl
expect_eq "$(json_get last.out "(j['stored'], j['unchanged'], j['historic'])")" "(1, 2, 0)" \
    "the identical drafts are unchanged, the change is stored"
expect_eq "$(current_name)" "李秀英七" "the change is the current version"
expect_exit 0 "put --store of the draft before that change" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key "$county.key" v4.jsonl
expect_eq "$(json_get last.out "(j['stored'], j['unchanged'])")" "(1, 0)" \
    "going back to an earlier content is a change"
expect_exit 0 "put --store of it once more" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key "$county.key" v4.jsonl
expect_eq "$(json_get last.out "(j['stored'], j['unchanged'])")" "(0, 1)" "this time it is unchanged"
[ "$hlc_before" != "$(current_name >/dev/null && json_get current.json "j['hlc']")" ] \
    || fail "the current version did not move on"

#  --sign-batch N: drafts written together are signed N under one batch
#  signature (a lone draft left over alone): five new elders, two a batch,
#  are two batches of two and one record signed alone
verify_counts () {
    "$HUTONG" export --store "$(node_store "$county")" --kind elder > elders.jsonl 2>/dev/null
    "$HUTONG" verify elders.jsonl > verified.json
    json_get verified.json "(j['records'], j['batch_signed'], j['signature_checks'])"
}
before="$(verify_counts)"
"$HUTONG" gen --elders 5 --region "$community" --facilities 0 --credit 0 > five.jsonl
expect_exit 0 "put --store --sign-batch 2 of five new elders" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key "$county.key" --sign-batch 2 five.jsonl
expect_eq "$(json_get last.out "j['stored']")" "5" "the five are stored"
expect_eq "$(verify_counts)" "$(python3 -c 'import sys; r, b, c = eval(sys.argv[1]); print((r + 5, b + 4, c + 3))' "$before")" \
    "four more batch-signed records, checked with two signatures, and one more alone"
expect_exit 2 "put refuses --sign-batch 1 (that is --plain-sig)" -- \
    "$HUTONG" put --store "$(node_store "$county")" --key "$county.key" --sign-batch 1 five.jsonl

scenario_done=1
