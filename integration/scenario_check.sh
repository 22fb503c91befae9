#!/usr/bin/env bash
#  hutongd --check: a city runs, a county is set up the way
#  integration/network.sh does it, and its configuration passes every
#  check, online too. Then each thing that stops a node is broken in
#  turn: its key uncertified or revoked, a parent/key that is not the
#  parent's, a port in use, a node already running on the store. Each
#  must exit 1 naming the problem. A county refused by its parent says
#  why in its own log, and the parent's log names the key it refused.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"
show_logs_on_failure
city=441800000000 county=441802000000 other=441803000000
daemon_deadline=30

#  expect_line STREAM TEXT WHAT: the last command's stdout or stderr holds TEXT
expect_line () {
    local file="$work/last.$1"
    grep -qF -- "$2" "$file" || { cat "$work/last.out" "$work/last.err" >&2; fail "$3: no '$2' on std$1"; }
    ok "$3"
}

#  config_with FILE KEY VALUE...: county.cfg with node/KEY or parent/KEY lines replaced
config_with () {
    local out="$1"; shift
    cp "$county.cfg" "$out"
    while [ $# -gt 0 ]; do
        python3 - "$out" "$1" "$2" <<'EOF'
import sys
path, dotted, value = sys.argv[1], sys.argv[2], sys.argv[3]
section, key = dotted.split("/")
lines, current, done = open(path).read().split("\n"), None, False
for index, line in enumerate(lines):
    if line and not line.startswith(" "):
        current = line.strip()
    elif current == section and line.strip().startswith(key + " ="):
        lines[index] = "    %s = %s" % (key, value); done = True
if not done:
    at = next(i for i, l in enumerate(lines) if l.strip() == section) + 1
    lines.insert(at, "    %s = %s" % (key, value))
open(path, "w").write("\n".join(lines))
EOF
        shift 2
    done
}

check () { timeout $daemon_deadline "$HUTONGD" "$@"; }
pub () { json_get "$1.key.pub" "j['public']"; }

network_chain $city $county
network_start_node $city
network_init_store $county
network_write_config $county
city_hex="$(pub $city)"; county_hex="$(pub $county)"

#  --------------------------------------------------------------------------
#  A good configuration

expect_exit 0 "--check passes a county set up as network.sh does" -- check --config $county.cfg --check
for name in config store lock key parent listen client log; do
    grep -qE "^ok +$name " last.out || { cat last.out last.err >&2; fail "no 'ok $name' line"; }
done
ok "--check prints one ok line for each of config, store, lock, key, parent, listen, client, log"
expect_line out "node/key ${county_hex:0:16}... is certified as node '$county' of $county" \
    "the key line names the key, its certificate and region"
expect_line out "parent/key ${city_hex:0:16}... is certified as node '$city' of parent region $city" \
    "the parent line names the parent's certificate"
expect_exit 0 "--check --online gets a WELCOME from the running city" -- \
    check --config $county.cfg --check --online
expect_line out "answered WELCOME: '$city' ($city)" "the online line names the parent that answered"
expect_exit 0 "--check --json passes" -- check --config $county.cfg --check --json
expect_eq "$(json_get last.out "j['ok'], j['failed'], [c['check'] for c in j['checks'] if c['ok']]")" \
    "True 0 ['config', 'store', 'lock', 'key', 'parent', 'listen', 'client', 'log']" "--json lists the checks"
expect_exit 2 "--online without --check is a usage error" -- check --config $county.cfg --online

#  --------------------------------------------------------------------------
#  (1) The node's own key

make_key stranger
config_with stranger.cfg node/key "$work/stranger.key"
expect_exit 1 "--check fails for a key with no certificate" -- check --config stranger.cfg --check
expect_line err "FAIL key     node/key $(pub stranger) has no valid certificate for region $county in the store: no certificate for this key" \
    "the failure names the key and why"
expect_line err "1 check failed" "one check failed"
expect_exit 1 "--check --json fails for it too" -- check --config stranger.cfg --check --json
expect_eq "$(json_get last.out "j['ok'], [c['check'] for c in j['checks'] if not c['ok']]")" \
    "False ['key']" "--json names the failed check"

#  Certified, but for a township of the county rather than the county
make_key township
make_cert $county township 441802001000 --name township
"$HUTONG" put --store "$(node_store $county)" --quiet township.cert
config_with township.cfg node/key "$work/township.key"
expect_exit 1 "--check fails for a key certified for another region" -- check --config township.cfg --check
expect_line err "certified for another region than it claims" "the failure says the region is wrong"

#  Revoked, in a copy of the store
cp -a "$(node_store $county)" revoked.store
"$HUTONG" cert revoke --issuer $city.key --subject $county.key.pub --region $county \
    --reason "test" --out revoke.jsonl >/dev/null
"$HUTONG" put --store revoked.store --quiet revoke.jsonl
config_with revoked.cfg node/store "$work/revoked.store"
expect_exit 1 "--check fails for a revoked key" -- check --config revoked.cfg --check
expect_line err "FAIL key     node/key $county_hex has no valid certificate" "the revoked key fails the key check"
expect_line err "revoked" "the failure says it is revoked"

#  Online with an uncertified key: the city's ZAP handler refuses it
expect_exit 1 "--check --online fails for a key the parent does not certify" -- \
    check --config stranger.cfg --check --online
expect_line err "refused this node's key $(pub stranger) in the CURVE handshake (ZAP status 400)" \
    "the online failure says the parent refused the key in the handshake"

#  Online with a key the parent certifies as another child (the next
#  county): admitted to the socket, refused at HELLO
make_key neighbour
make_cert $city neighbour $other --name neighbour
config_with neighbour.cfg node/key "$work/neighbour.key"
"$HUTONG" put --store "$(node_store $city)" --quiet neighbour.cert
wait_until 10 "$HUTONG" get --store "$(node_store $city)" cert "$(pub neighbour)" \
    >/dev/null 2>&1 || fail "the city did not store the neighbour's certificate"
expect_exit 1 "--check --online fails when the parent refuses HELLO" -- \
    check --config neighbour.cfg --check --online
expect_line err "refused HELLO: not_child" "the online failure carries the parent's ERROR"

#  A key the city knows and refuses at the handshake is named by its
#  Ed25519 key and certificate name in the city's log
"$HUTONG" cert revoke --issuer $city.key --subject neighbour.key.pub --region $other \
    --out revoke-neighbour.jsonl >/dev/null
"$HUTONG" put --store "$(node_store $city)" --quiet revoke-neighbour.jsonl
expect_exit 1 "--check --online fails for a revoked key" -- check --config neighbour.cfg --check --online
expect_line err "(ZAP status 400)" "the revoked key is refused in the handshake"
wait_until 10 grep -qF "refused node connection from key $(pub neighbour) (neighbour)" \
    "$(node_log $city)" || fail "the city's log does not name the refused key and certificate"
ok "the parent's log names the refused Ed25519 key and its certificate's name"

#  --------------------------------------------------------------------------
#  (2) parent/key

config_with wrongparent.cfg parent/key "$work/stranger.key.pub"
expect_exit 1 "--check fails for a parent/key that is not the parent's" -- \
    check --config wrongparent.cfg --check
expect_line err "parent/key $(pub stranger) is not certified as the node of parent region $city" \
    "the failure names the wrong key and the parent region"
expect_line err "names key $city_hex ('$city')" "the failure names the key the store certifies"
expect_exit 1 "--check --online fails for it" -- check --config wrongparent.cfg --check --online
expect_line err "the CURVE handshake did not complete" "the online failure blames the handshake"

#  A county running with a wrong parent/key says so in its log
cp wrongparent.cfg wrongparent-run.cfg
start_bg wrongparent wrongparent.log "$HUTONGD" --config wrongparent-run.cfg
wait_until 20 grep -qF "no answer from parent" wrongparent.log \
    || fail "a county with a wrong parent/key is silent about it"
expect_line_in_log () { grep -qF -- "$1" wrongparent.log || fail "$2: no '$1' in the log"; ok "$2"; }
expect_line_in_log "W: node: no answer from parent" "the county warns"
expect_line_in_log "parent/key" "the warning names parent/key as a likely cause"
stop_bg wrongparent || fail "the county with a wrong parent/key did not stop cleanly"

#  A county running with a key its parent does not certify says so too
start_bg stranger stranger.log "$HUTONGD" --config stranger.cfg
wait_until 20 grep -qF "refused this node's key $(pub stranger) in the CURVE handshake" stranger.log \
    || fail "a county whose key the parent does not certify is silent about it"
grep -q "W: node: parent .* refused this node's key" stranger.log || fail "not a warning"
ok "a county whose key its parent refuses warns, naming its key"
stop_bg stranger || fail "the county with an uncertified key did not stop cleanly"

#  --------------------------------------------------------------------------
#  (3) Ports in use

config_with port.cfg node/client "${network_client_ep[$city]}" node/listen "${network_node_ep[$city]}"
expect_exit 1 "--check fails for ports in use" -- check --config port.cfg --check
expect_line err "FAIL client  node/client ${network_client_ep[$city]} is in use" "node/client in use is named"
expect_line err "FAIL listen  node/listen ${network_node_ep[$city]} is in use" "node/listen in use is named"
expect_line err "2 checks failed" "two checks failed"

#  --------------------------------------------------------------------------
#  log/file in a directory that does not exist

config_with logfile.cfg log/file "$work/no-such-dir/hutongd.log"
expect_exit 1 "--check fails for a log/file that cannot be written" -- check --config logfile.cfg --check
expect_line err "FAIL log     log/file $work/no-such-dir/hutongd.log cannot be written" "the failure names log/file"
expect_exit 1 "hutongd does not start with it" -- check --config logfile.cfg
expect_line err "log/file: cannot open $work/no-such-dir/hutongd.log: No such file or directory" \
    "hutongd names log/file and why"

#  --------------------------------------------------------------------------
#  (4) A node running on the store

network_start_node $county
expect_exit 1 "--check fails while the county runs" -- check --config $county.cfg --check
expect_line err "FAIL lock    store $(node_store $county) is in use by a running hutongd (pid $(node_pid $county))" \
    "the failure names the running node's pid"
network_stop_node $county || fail "the county did not stop cleanly"
expect_exit 0 "--check passes again once it stopped" -- check --config $county.cfg --check

scenario_done=1
