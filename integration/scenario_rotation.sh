#!/usr/bin/env bash
#  Rotation: a city, a county and a township on 127.0.0.1. While the city
#  and the township keep writing, the county (the middle node) rotates its
#  key the way docs/operations.md says: a new key, the pre-flight check
#  (which refuses while the new certificate is missing, when it comes from
#  another issuer, and when the old key would be revoked before the
#  overlap ends), the city's certificate for the new key, the switch
#  (config node/key and a restart), and the old key's revocation. Records
#  must keep flowing both ways through the overlap and after the
#  revocation, the township must follow its parent to the new key without
#  a config change, and the county started again on its old key must be
#  refused by the city and by the township.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
: "${HUTONGD:?set HUTONGD to the hutongd binary}"
holders () { python3 "$here/holders.py" "$@"; }

city=441800000000
county=441802000000
township=441802001000
source "$here/network.sh"
show_logs_on_failure

NETWORK_HEARTBEAT_MS=250 NETWORK_TIMEOUT_MS=1500 NETWORK_RECONNECT_MAX_MS=300
network_chain "$city" "$county" "$township"
network_start
network_wait_connected 30
ok "city, county and township connected"

#  --------------------------------------------------------------------------
#  Writes at the top and at the bottom, all through the rotation

"$HUTONG" gen --seed 21 --elders 2000 \
    | holders set region="$township" scope="$township" fields.hukou_region="$township" \
                  fields.residence_region="$township" > bottom-pool.jsonl
"$HUTONG" gen --seed 21 --facilities 2000 \
    | holders set region="$township" scope="$city" > top-pool.jsonl

#  writer NAME STORE KEY POOL: store the pool's drafts one at a time until
#  NAME.stop exists; NAME.count says how many were stored. A refused put
#  ends the writer with a message in its log.
writer () {
    local name="$1" store="$2" key="$3" pool="$4" stored=0 line
    while [ ! -e "$name.stop" ] && IFS= read -r line; do
        printf '%s\n' "$line" > "$name.next.jsonl"
        "$HUTONG" put --store "$store" --key "$key" --quiet "$name.next.jsonl" \
            || { echo "$name: put refused after $stored records"; return 1; }
        stored=$((stored + 1))
        echo "$stored" > "$name.count.new" && mv "$name.count.new" "$name.count"
        sleep 0.05                  #  pace the writes; nothing waits on this
    done < "$pool"
}
start_bg top writer-top.log writer top "$(node_store "$city")" "$city.key" top-pool.jsonl
start_bg bottom writer-bottom.log writer bottom "$(node_store "$township")" "$township.key" \
    bottom-pool.jsonl

written () { cat "$1.count" 2>/dev/null || echo 0; }
held () { "$HUTONG" list --store "$(node_store "$1")" --kind "$2" --limit 0 | grep -c . || true; }
grew () { [ "$(written "$1")" -gt "$2" ]; }
#  Has every facility the city wrote so far reached the township, and
#  every elder the township wrote so far reached the city?
caught_up () {
    [ "$(held "$township" facility)" -ge "$1" ] && [ "$(held "$city" elder)" -ge "$2" ]
}
#  flowing WHAT: new writes at both ends arrive at the other end
flowing () {
    local top_mark bottom_mark
    wait_until 20 grew top "${last_top:-0}" || fail "$1: the city's writer is stuck"
    wait_until 20 grew bottom "${last_bottom:-0}" \
        || fail "$1: the township's writer is stuck"
    top_mark=$(written top) bottom_mark=$(written bottom)
    wait_until 30 caught_up "$top_mark" "$bottom_mark" \
        || fail "$1: writes did not cross the county (township holds $(held "$township" facility) of \
$top_mark facilities, city $(held "$city" elder) of $bottom_mark elders)"
    for name in top bottom; do bg_alive "$name" || fail "$1: the $name writer stopped: $(cat writer-$name.log)"; done
    ok "$1: city → township ($top_mark facilities) and township → city ($bottom_mark elders)"
    last_top=$top_mark last_bottom=$bottom_mark
}
flowing "before the rotation"

#  --------------------------------------------------------------------------
#  Pre-flight: refused while anything a neighbour needs is missing

#  The new key file is sealed under a passphrase (a file only the node's
#  user reads, as a systemd credential would be)
printf 'rotated county key 二〇二六\n' > county-new.passphrase
chmod 600 county-new.passphrase
"$HUTONG" keygen --out county-new.key --name "$county-2" \
    --passphrase-file county-new.passphrase > keygen.json
[ "$(json_get keygen.json "j['encrypted']")" = True ] || fail "keygen did not encrypt: $(cat keygen.json)"
rc=0
"$HUTONG" rotate reissue --store "$(node_store "$county")" --old-key "$county.key.pub" \
    --new-key county-new.key > /dev/null 2> reissue.err < /dev/null || rc=$?
[ "$rc" = 3 ] && grep -q "encrypted and no passphrase" reissue.err \
    || fail "an encrypted key without its passphrase: exit $rc, $(cat reissue.err)"
ok "the new key file is encrypted; without its passphrase it is refused with a clear error"
plan () {
    "$HUTONG" rotate plan --store "$(node_store "$county")" --region "$county" \
        --old-key "$county.key.pub" --new-key county-new.key.pub \
        --parent-store "$(node_store "$city")" --child-stores "$(node_store "$township")" "$@"
}
#  names_missing CHECK: plan.json is a refusal naming CHECK as failed
names_missing () {
    python3 -c '
import json, sys
plan = json.load(open("plan.json"))
failed = [c["check"] for c in plan["checks"] if not c["ok"]]
sys.exit(0 if not plan["ready"] and sys.argv[1] in failed else 1)' "$1"
}
#  refused WHAT CHECK [options]: the plan exits 1 and names CHECK as failed
refused () {
    local what="$1" check="$2" rc=0; shift 2
    plan --json "$@" > plan.json || rc=$?
    [ "$rc" = 1 ] || fail "$what: rotate plan exited $rc, not 1: $(cat plan.json)"
    names_missing "$check" \
        || fail "$what: the plan does not name $check as missing: $(cat plan.json)"
    ok "$what: rotate plan refuses ($check)"
}
refused "no certificate for the new key yet" new_cert

#  A certificate from another issuer than the old one's (the county
#  certifying itself) is no certificate the township would follow
"$HUTONG" keygen --out county-self.key --name "$county-self" >/dev/null
make_cert "$county" county-self "$county"
"$HUTONG" put --store "$(node_store "$county")" --quiet county-self.cert
rc=0
"$HUTONG" rotate plan --json --store "$(node_store "$county")" --region "$county" \
    --old-key "$county.key.pub" --new-key county-self.key.pub > plan.json || rc=$?
[ "$rc" = 1 ] && names_missing same_issuer \
    || fail "a self-issued successor certificate: the plan does not refuse it on same_issuer: $(cat plan.json)"
ok "a successor certified by the county itself: rotate plan refuses (same_issuer)"

#  The city issues the new key's certificate, valid from the old one's
#  start (records signed under the certificates the new key re-issues
#  must still verify)
"$HUTONG" cert show --json "$county.cert" > old-cert.json
"$HUTONG" cert issue --issuer "$city.key" --subject county-new.key.pub --region "$county" \
    --role node --name "$county" --not-before "$(json_get old-cert.json "j['not_before']")" \
    --out county-new.cert --store "$(node_store "$city")" \
    || fail "the city cannot issue the county's new certificate"
new_hex="$(json_get county-new.key.pub "j['public']")"
old_hex="$(json_get "$county.key.pub" "j['public']")"
township_hex="$(json_get "$township.key.pub" "j['public']")"
wait_until 30 "$HUTONG" get --store "$(node_store "$township")" cert "$new_hex" >/dev/null 2>&1 \
    || fail "the county's new certificate did not reach the township"
ok "the city certified the county's new key; the certificate reached the county and the township"
refused "the township's certificate still hangs on the old key" reissued

#  The county's new key re-issues what its old key certified
HUTONG_PASSPHRASE_FILE=county-new.passphrase \
    "$HUTONG" rotate reissue --store "$(node_store "$county")" --old-key "$county.key.pub" \
    --new-key county-new.key > reissue.json || fail "rotate reissue failed: $(cat reissue.json)"
expect_eq "$(json_get reissue.json "j['reissued']")" 2 \
    "rotate reissue: the township's certificate and the self-issued one, signed by the new key"
township_cert_by_new () {
    "$HUTONG" get --store "$(node_store "$township")" cert "$township_hex" > township-cert.json \
        2>/dev/null && [ "$(json_get township-cert.json "j['author']")" = "$new_hex" ]
}
wait_until 30 township_cert_by_new || fail "the re-issued certificate did not reach the township"
ok "the re-issued certificate reached the township"
overlap_until=$(( $(date +%s) * 1000 + 600000 ))
refused "revoking the old key before the overlap ends" revoke_after_overlap \
    --overlap-until "$overlap_until" --revoke-at "$(( overlap_until - 60000 ))"
plan --overlap-until "$overlap_until" --revoke-at "$overlap_until" > plan.txt \
    || fail "rotate plan refuses a good rotation: $(cat plan.txt)"
grep -q "^Ready" plan.txt || fail "rotate plan does not say it is ready: $(cat plan.txt)"
ok "rotate plan: ready (parent admits the new key, the township follows it, both valid through the overlap)"
#  The same plan run where each store lives, one side at a time, as
#  docs/operations.md does it
for side in "--store $(node_store "$county")" "--parent-store $(node_store "$city")" \
            "--child-stores $(node_store "$township")"; do
    # shellcheck disable=SC2086
    "$HUTONG" rotate plan --region "$county" --old-key "$county.key.pub" \
        --new-key county-new.key.pub --overlap-until "$overlap_until" $side > plan-side.txt \
        || fail "rotate plan ${side%% *} alone refuses: $(cat plan-side.txt)"
    grep -q "^Ready as far as these stores show" plan-side.txt \
        || fail "rotate plan ${side%% *} alone does not name what it did not check: $(cat plan-side.txt)"
done
ok "rotate plan on each side alone (node, parent, child): ready, naming the sides it did not check"

#  --------------------------------------------------------------------------
#  The switch: node/key names the new key; the county restarts

network_key_of[$county]="$work/county-new.key"
network_stop_node "$county" || fail "the county did not stop cleanly"
#  Without node/key_passphrase_file (nor HUTONG_PASSPHRASE) hutongd
#  cannot open its key and says why
network_write_config "$county"
rc=0
env -u HUTONG_PASSPHRASE timeout 20 "$HUTONGD" --config "$work/$county.cfg" \
    > no-passphrase.log 2>&1 < /dev/null || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "passphrase is needed" no-passphrase.log \
    || fail "hutongd with an encrypted key and no passphrase: exit $rc, $(cat no-passphrase.log)"
ok "hutongd refuses to start on an encrypted key without its passphrase (exit $rc)"
network_passphrase_of[$county]="$work/county-new.passphrase"
network_start_node "$county"
wait_until 30 grep -aq "certified as its successor by its issuer" "$(node_log "$township")" \
    || fail "the township never tried the county's new key"
flowing "overlap, the county on its new key"
grep -aq "child .* ($county) connected" "$(node_log "$city")" || fail "the city never admitted the county"

#  --------------------------------------------------------------------------
#  After the overlap: the old key is revoked

"$HUTONG" cert revoke --issuer "$city.key" --subject "$county.key.pub" --region "$county" \
    --reason "key rotated" --out county-old.revocation --store "$(node_store "$city")" \
    || fail "the city cannot revoke the county's old key"
wait_until 30 "$HUTONG" get --store "$(node_store "$township")" revocation "$old_hex" >/dev/null 2>&1 \
    || fail "the revocation of the county's old key did not reach the township"
ok "the city revoked the county's old key; the revocation reached the township"
flowing "after the revocation, the county on its new key"

#  --------------------------------------------------------------------------
#  The county on its old key is refused by its parent and by its child

network_key_of[$county]="$work/$county.key"
network_stop_node "$county" || fail "the county did not stop cleanly"
network_start_node "$county"
wait_until 30 grep -aq "zap: refused node connection from key ${old_hex:0:16}.*revoked" \
    "$(node_log "$city")" || fail "the city did not refuse the county's revoked key"
ok "the city refuses the county on its revoked old key"
wait_until 30 grep -aq "the pinned parent/key is revoked or expired; trying only the keys its issuer" \
    "$(node_log "$township")" || fail "the township did not give up its parent's revoked key"
township_parent_down () {
    node_status "$township" 2>/dev/null | python3 -c '
import json, sys
peers = json.load(sys.stdin)["peers"]
sys.exit(0 if any(p["region"] == sys.argv[1] and not p["connected"] for p in peers) else 1)' "$county"
}
township_parent_down || fail "the township is connected to its parent on the revoked key"
ok "the township refuses its parent on the revoked old key: it tries only the new key and is not connected"

#  Back on the new key, the network carries writes again
network_key_of[$county]="$work/county-new.key"
network_stop_node "$county" || fail "the county did not stop cleanly"
network_start_node "$county"
flowing "the county back on its new key"

#  --------------------------------------------------------------------------
#  Nothing written was lost

touch top.stop bottom.stop
wait_until 20 bg_gone top && wait_until 20 bg_gone bottom || fail "the writers did not stop"
stop_bg top 20 || fail "the city's writer failed: $(cat writer-top.log)"
stop_bg bottom 20 || fail "the township's writer failed: $(cat writer-bottom.log)"
wait_until 30 caught_up "$(written top)" "$(written bottom)" \
    || fail "not every write crossed the county in the end"
expect_eq "$(held "$township" facility)" "$(written top)" "every facility the city wrote reached the township"
expect_eq "$(held "$city" elder)" "$(written bottom)" "every elder the township wrote reached the city"
scenario_done=1
