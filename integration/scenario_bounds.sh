#!/usr/bin/env bash
#  Bounds: what an outside peer can make a live node hold is bounded at
#  the socket. A county node (with a township child running hutongd) on
#  127.0.0.1 faces, from Python peers speaking CURVE:
#  - frames at, just over and far over the 2 MiB frame cap, on the client
#    socket and on the node socket: at the cap they are answered; over it
#    the connection is dropped and the node's memory does not grow;
#  - a certified child that sends thousands of PULLs and never reads: the
#    county's memory stays bounded and its failed sends are counted;
#  - 5,000 connection attempts with fresh uncertified keys: a bounded
#    number of refusal lines in the log and bounded memory;
#  - a client flooding requests gets rate_limited (a PUT among them is not
#    stored) while another client is served and replication goes on.
#  Usage: scenario_bounds.sh [BUILD_DIR] (or HUTONG and HUTONGD set).
here="$(cd "$(dirname "$0")" && pwd)"
if [ -n "${1:-}" ]; then
    build="$(cd "$1" && pwd)"
    export HUTONG="$build/tools/hutong" HUTONGD="$build/node/hutongd"
fi
source "$here/lib.sh"
source "$here/network.sh"
show_logs_on_failure
started_at=$(date +%s)
python=/usr/bin/python3             #  Debian's, with python3-zmq and python3-nacl
"$python" -c 'import zmq, nacl, msgpack' 2>/dev/null \
    || fail "$python lacks zmq, nacl or msgpack (apt-get install python3-zmq python3-nacl python3-msgpack)"

frame_cap=$((2 * 1024 * 1024))      #  HT_MSG_MAX_FRAME_BYTES
big_frame=$((64 * 1024 * 1024))     #  what an unbounded node would buffer
peer_hwm=100                        #  S_PEER_HWM_MESSAGES (ht_node.c)
refusal_lines_per_minute=11         #  S_REFUSAL_LOG_LINES + one summary

#  vm KEY PID: a /proc/PID/status figure in KiB (VmRSS, VmHWM)
vm () { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$2/status"; }
mib () { echo "$(( $1 / 1024 )) MiB"; }

#  --------------------------------------------------------------------------
#  A Python peer: CURVE keys derived from Ed25519 key files, as
#  integration/partner/hutong_client.py does (protocol.md §1)

cat > peer.py <<'PY'
import json, sys, time
import msgpack, zmq
from nacl.bindings import crypto_sign_ed25519_pk_to_curve25519, crypto_sign_ed25519_sk_to_curve25519
from zmq.utils.monitor import recv_monitor_message

context = zmq.Context.instance()

def public_of(path):
    with open(path) as handle:
        return bytes.fromhex(json.load(handle)["public"])

def dealer(endpoint, node_pub, keyfile=None, **options):
    """A CURVE DEALER: keys from keyfile, or a fresh made-up pair."""
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    for name, value in options.items():
        setattr(sock, name, value)
    sock.curve_serverkey = crypto_sign_ed25519_pk_to_curve25519(public_of(node_pub))
    if keyfile:
        with open(keyfile) as handle:
            key = json.load(handle)
        sock.curve_publickey = crypto_sign_ed25519_pk_to_curve25519(bytes.fromhex(key["public"]))
        sock.curve_secretkey = crypto_sign_ed25519_sk_to_curve25519(bytes.fromhex(key["secret"]))
    else:
        sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
    sock.connect(endpoint)
    return sock

def wait_for(sock, monitor, want, seconds):
    """The first message whose command is in want, or None; and whether
    the monitor saw the connection drop meanwhile."""
    deadline = time.monotonic() + seconds
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    dropped = False
    while time.monotonic() < deadline:
        ready = dict(poller.poll(50))
        if monitor in ready:
            event = recv_monitor_message(monitor)["event"]
            dropped = dropped or event == zmq.EVENT_DISCONNECTED
        if sock in ready:
            parts = sock.recv_multipart()
            if parts[0].decode() in want:
                return parts, dropped
        if dropped:
            break
    return None, dropped

def hello(sock, monitor, region):
    body = {"v": 1, "region": region, "name": "bounds-" + region, "epoch": bytes(16), "seq": 0}
    sock.send_multipart([b"HELLO", msgpack.packb(body)])
    parts, _ = wait_for(sock, monitor, ("WELCOME", "ERROR"), 10)
    if not parts or parts[0] != b"WELCOME":
        sys.exit("no WELCOME from the node: %r" % (parts,))

def cmd_frame(endpoint, node_pub, keyfile, size, region=None):
    """One frame of size bytes: answered, or the connection dropped?"""
    size = int(size)
    sock = dealer(endpoint, node_pub, keyfile)
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    if region:
        hello(sock, monitor, region)
        sock.send_multipart([b"PING", msgpack.packb({"seq": 0}), bytes(size)])
        parts, dropped = wait_for(sock, monitor, ("PONG",), 10)
    else:
        sock.send_multipart([b"STATUS", msgpack.packb({"token": 1}), bytes(size)])
        parts, dropped = wait_for(sock, monitor, ("STATUS-OK", "ERROR"), 10)
    print(json.dumps({"answer": parts[0].decode() if parts else None, "dropped": dropped}))

def cmd_pull_flood(endpoint, node_pub, keyfile, region, count, hold_s):
    """HELLO, then count PULLs from cursor 0, never reading again."""
    count = int(count)
    sock = dealer(endpoint, node_pub, keyfile, rcvhwm=1, rcvbuf=4096)
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    hello(sock, monitor, region)
    for _ in range(count):
        sock.send_multipart([b"PULL", msgpack.packb({"cursor": 0, "max": 100000})])
    print("sent %d PULLs" % count, flush=True)
    time.sleep(int(hold_s))

def status_of(sock, token):
    sock.send_multipart([b"STATUS", msgpack.packb({"token": token})])
    if not sock.poll(5000):
        sys.exit("no STATUS-OK from the node")
    parts = sock.recv_multipart()
    if parts[0] != b"STATUS-OK":
        sys.exit("STATUS answered %r" % parts[:2])
    return json.loads(parts[2])

def cmd_refuse_flood(endpoint, node_pub, status_key, count, group):
    """count connections with fresh made-up keys, group at a time; each
    group is closed once the node has refused all of it"""
    watcher = dealer(endpoint, node_pub, status_key)
    count, group, token = int(count), int(group), 1
    first = status_of(watcher, token)["refused_connections"]
    done = 0
    while done < count:
        size = min(group, count - done)
        socks = [dealer(endpoint, node_pub, reconnect_ivl=600000) for _ in range(size)]
        deadline = time.monotonic() + 30
        while True:
            token += 1
            refused = status_of(watcher, token)["refused_connections"] - first
            if refused >= done + size:
                break
            if time.monotonic() > deadline:
                sys.exit("only %d of %d attempts refused within 30 s" % (refused, done + size))
            time.sleep(0.05)
        for sock in socks:
            sock.close(0)
        done += size
    print(json.dumps({"attempts": done, "refused": refused}))

def cmd_request_flood(endpoint, node_pub, keyfile, seconds, put_file):
    """INFO requests, 20 outstanding, for seconds; then a PUT among a burst
    of 31 requests. Counts the answers by kind; names the PUT's answer."""
    sock = dealer(endpoint, node_pub, keyfile)
    counts = {"served": 0, "rate_limited": 0, "other": 0}
    sent = answered = 0
    put_token, put_answer = None, None
    record = open(put_file, "rb").read() if put_file else None

    def send(command, token, *frames):
        sock.send_multipart([command, msgpack.packb({"token": token})] + list(frames))

    def receive(timeout_ms):
        nonlocal answered, put_answer
        if not sock.poll(timeout_ms):
            return False
        parts = sock.recv_multipart()
        body = msgpack.unpackb(parts[1])
        answered += 1
        if parts[0] == b"ERROR" and body.get("error") == "rate_limited":
            counts["rate_limited"] += 1
        elif parts[0] in (b"INFO-OK", b"PUT-OK"):
            counts["served"] += 1
        else:
            counts["other"] += 1
        if body.get("token") == put_token:
            put_answer = body.get("error") or parts[0].decode()
        return True

    end = time.monotonic() + int(seconds)
    while time.monotonic() < end:
        while sent - answered < 20:
            sent += 1
            send(b"INFO", sent)
        receive(1000)
    if record:
        #  The node queues at most 32 replies for a client (its send HWM)
        #  and drops the rest for one that reads slowly: drain (briefly, so
        #  the bucket stays nearly empty), then send a burst the queue
        #  holds, with the PUT after the 15 tokens the bucket may have
        while answered < sent and receive(50):
            pass
        for _ in range(15):
            sent += 1
            send(b"INFO", sent)
        sent += 1
        put_token = sent
        send(b"PUT", put_token, record)
        for _ in range(15):
            sent += 1
            send(b"INFO", sent)
    while answered < sent and receive(5000):
        pass
    counts["unanswered"] = sent - answered
    counts["put"] = put_answer
    print(json.dumps(counts))

def cmd_refused(endpoint, node_pub, keyfile):
    """Connect with keyfile's key: does the handshake fail on ZAP's word?"""
    sock = dealer(endpoint, node_pub, keyfile, reconnect_ivl=600000)
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    refused = bool(monitor.poll(10000)) and \
        recv_monitor_message(monitor)["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH
    print(json.dumps({"refused": refused}))

commands = {"frame": cmd_frame, "pull-flood": cmd_pull_flood, "refused": cmd_refused,
            "refuse-flood": cmd_refuse_flood, "request-flood": cmd_request_flood}
if __name__ == "__main__":
    commands[sys.argv[1]](*sys.argv[2:])
PY
peer () { "$python" "$work/peer.py" "$@"; }

#  --------------------------------------------------------------------------
#  A county (the root here) with one township running hutongd; a second
#  township's key (the Python child), and a department client

county=441802000000 township=441802001000 rogue_child=441802002000
NETWORK_BATCH=200 NETWORK_HEARTBEAT_MS=250 NETWORK_TIMEOUT_MS=3000
network_chain "$county" "$township"
make_key "$rogue_child"; make_cert "$county" "$rogue_child" "$rogue_child"
make_key dept; make_cert "$county" dept "$county" --role department --department civil_affairs
network_init_store "$county"
"$HUTONG" put --store "$(node_store "$county")" --quiet "$rogue_child.cert" dept.cert \
    || fail "cannot store the extra certificates at the county"

#  1,000 county-wide elders at the county: each BATCH to a child is
#  limits/batch (200) of them
"$HUTONG" gen --seed 5 --elders 1001 \
    | "$python" "$here/holders.py" set region=$county scope=$county \
        fields.hukou_region=$county fields.residence_region=$county > elders.jsonl
sed -n 1001p elders.jsonl > flooded-put.jsonl
sed -i 1001d elders.jsonl
"$HUTONG" put --store "$(node_store "$county")" --key "$county.key" --quiet elders.jsonl \
    || fail "cannot store 1,000 elders at the county"
network_start
network_wait_connected 30
county_pid="$(node_pid "$county")"
county_log="$(node_log "$county")"
ok "county $county (pid $county_pid) and township $township running and connected"

county_status () { node_status "$county" > status.json || fail "the county does not answer status"; }
county_holds () { "$HUTONG" get --store "$(node_store "$county")" elder "$1" >/dev/null 2>&1; }

#  write_at_township WHAT: one new elder at the township reaches the county
next_elder=0
write_at_township () {
    next_elder=$((next_elder + 1))
    "$HUTONG" gen --seed $((900 + next_elder)) --elders 1 \
        | "$python" "$here/holders.py" set region=$township scope=$township \
            fields.hukou_region=$township fields.residence_region=$township > live.jsonl
    "$HUTONG" put --store "$(node_store "$township")" --key "$township.key" live.jsonl > put.out 2>&1 \
        || fail "$1: put at the township: $(cat put.out)"
    local key
    key="$("$python" "$here/holders.py" keyof "$(node_store "$township")" elder id_no \
        "$(json_get live.jsonl "j['fields']['id_no']")")"
    wait_until 20 county_holds "$key" || fail "$1: an elder written at the township did not reach the county"
    ok "$1: an elder written at the township reached the county"
}

#  --------------------------------------------------------------------------
#  Frames: at the cap answered; over it the connection drops, nothing kept

client_ep="$(node_client "$county")" node_ep="${network_node_ep[$county]}"
frame () { peer frame "$@" > frame.json || fail "the Python peer failed: $(cat frame.json)"; }
expect_answer () { expect_eq "$(json_get frame.json "j['answer']")" "$1" "$2"; }
expect_dropped () {
    expect_eq "$(json_get frame.json "j['answer'] is None and j['dropped']")" True "$1"
}

frame "$client_ep" "$county.key.pub" "$county.key" "$frame_cap"
expect_answer STATUS-OK "client socket: a STATUS with a frame of exactly 2 MiB is answered"
frame "$client_ep" "$county.key.pub" "$county.key" $((frame_cap + 1))
expect_dropped "client socket: a frame of 2 MiB + 1 byte drops the connection, unanswered"
frame "$node_ep" "$county.key.pub" "$rogue_child.key" "$frame_cap" "$rogue_child"
expect_answer PONG "node socket: a PING with a frame of exactly 2 MiB from a child is answered"
frame "$node_ep" "$county.key.pub" "$rogue_child.key" $((frame_cap + 1)) "$rogue_child"
expect_dropped "node socket: a frame of 2 MiB + 1 byte drops the child's connection, unanswered"

for socket in client node; do
    before_rss=$(vm VmRSS "$county_pid") before_hwm=$(vm VmHWM "$county_pid")
    if [ $socket = client ]; then frame "$client_ep" "$county.key.pub" "$county.key" "$big_frame"
    else frame "$node_ep" "$county.key.pub" "$rogue_child.key" "$big_frame" "$rogue_child"; fi
    expect_dropped "$socket socket: a 64 MiB frame drops the connection"
    after_rss=$(vm VmRSS "$county_pid") after_hwm=$(vm VmHWM "$county_pid")
    echo "# $socket socket, 64 MiB frame: county VmRSS $(mib "$before_rss") -> $(mib "$after_rss"), peak (VmHWM) $(mib "$before_hwm") -> $(mib "$after_hwm")"
    [ $((after_hwm - before_hwm)) -lt $((8 * 1024)) ] \
        || fail "$socket socket: the county's peak memory grew by $(mib $((after_hwm - before_hwm))) for a refused 64 MiB frame"
    ok "$socket socket: the 64 MiB frame was not buffered (peak grew by $(( (after_hwm - before_hwm) )) KiB < 8 MiB)"
done

#  --------------------------------------------------------------------------
#  A certified child pulls without reading

county_status
dropped_before="$(json_get status.json "j['dropped_sends']")"
"$HUTONG" export --store "$(node_store "$county")" --kind elder --format msgpack --out elders.bin
batch_kib=$(( $(wc -c < elders.bin) / 5 / 1024 ))     #  a BATCH: 200 of the 1,000
pulls=5000
bound_kib=$(( peer_hwm * batch_kib + 32 * 1024 ))
echo "# one BATCH of 200 elders is ${batch_kib} KiB; $pulls unread BATCHes would be $(( pulls * batch_kib / 1024 )) MiB"
before_rss=$(vm VmRSS "$county_pid") before_hwm=$(vm VmHWM "$county_pid")
start_bg puller puller.log "$python" "$work/peer.py" pull-flood "$node_ep" "$county.key.pub" "$rogue_child.key" "$rogue_child" "$pulls" 120
wait_until 60 grep -q "sent $pulls PULLs" puller.log || fail "the Python child did not send its PULLs: $(cat puller.log)"
#  settled: the county has served them all (dropped_sends stops growing)
last_dropped=-1
settled () {
    county_status
    local now; now="$(json_get status.json "j['dropped_sends']")"
    [ "$now" = "$last_dropped" ] && [ "$now" -gt "$dropped_before" ] && return 0
    last_dropped="$now"; sleep 0.5; return 1
}
wait_until 60 settled || fail "the county's dropped sends did not settle above $dropped_before"
after_rss=$(vm VmRSS "$county_pid") after_hwm=$(vm VmHWM "$county_pid")
echo "# $pulls PULLs unread: county VmRSS $(mib "$before_rss") -> $(mib "$after_rss"), peak $(mib "$before_hwm") -> $(mib "$after_hwm"); dropped_sends $dropped_before -> $last_dropped"
[ $((after_hwm - before_hwm)) -lt "$bound_kib" ] \
    || fail "the county's peak memory grew by $(mib $((after_hwm - before_hwm))), over the bound of $(mib "$bound_kib") ($peer_hwm batches + 32 MiB)"
ok "the county's memory grew by $(mib $((after_hwm - before_hwm))) at peak, under $(mib "$bound_kib") ($peer_hwm queued batches + 32 MiB)"
[ $((last_dropped - dropped_before)) -ge $((pulls / 2)) ] \
    || fail "only $last_dropped sends dropped for $pulls unread batches"
ok "the county counted $last_dropped dropped sends and never blocked"
write_at_township "while the child is not reading"
stop_bg puller 5 || true

#  --------------------------------------------------------------------------
#  Refused keys: a certified key is named; 5,000 fresh made-up keys

refusal_lines () { grep -c "zap: .*refus" "$county_log" || true; }
lines_before=$(refusal_lines)
t0=$(date +%s)
peer refused "$node_ep" "$county.key.pub" dept.key > refused.json
expect_eq "$(json_get refused.json "j['refused']")" True "a department's key is refused on the node socket"
dept_prefix="$(json_get dept.key.pub "j['public']")"
named () { grep -qF "zap: refused node connection from key $dept_prefix (dept)" "$county_log"; }
wait_until 5 named || fail "the refusal line does not name the department's Ed25519 key and certificate"
ok "the refusal line names the Ed25519 key and the certificate: $(grep -o "from key $dept_prefix.*" "$county_log" | head -n 1)"
before_rss=$(vm VmRSS "$county_pid") before_hwm=$(vm VmHWM "$county_pid")
peer refuse-flood "$client_ep" "$county.key.pub" "$county.key" 5000 250 > refused.json \
    || fail "the refusal flood failed: $(cat refused.json)"
elapsed=$(( $(date +%s) - t0 ))
after_rss=$(vm VmRSS "$county_pid") after_hwm=$(vm VmHWM "$county_pid")
lines=$(( $(refusal_lines) - lines_before ))
echo "# 5000 fresh keys in ${elapsed}s: $(cat refused.json); county VmRSS $(mib "$before_rss") -> $(mib "$after_rss"), peak $(mib "$before_hwm") -> $(mib "$after_hwm"); $lines refusal log lines"
grep "zap: .*refus" "$county_log" | tail -n 3 | sed 's/^/#   /'
#  A span of T seconds meets at most T/60 + 2 of the node's one-minute windows
max_lines=$(( refusal_lines_per_minute * (elapsed / 60 + 2) ))
[ "$lines" -le "$max_lines" ] || fail "$lines refusal lines in the log for 5000 keys (at most $max_lines)"
ok "a refused department and 5000 refused keys made $lines log lines (at most $max_lines)"
[ $((after_hwm - before_hwm)) -lt $((64 * 1024)) ] \
    || fail "the county's peak memory grew by $(mib $((after_hwm - before_hwm))) for 5000 refused keys"
ok "5000 refused keys grew the county's peak memory by $(mib $((after_hwm - before_hwm))) (< 64 MiB)"

#  --------------------------------------------------------------------------
#  A client flooding requests

cfg="$work/$county.cfg"
sed -i 's/^limits$/limits\n    client_rate = 20\n    client_burst = 40/' "$cfg"
reloads=$(grep -c "configuration reloaded" "$county_log" || true)
kill -HUP "$county_pid"
reloaded () { [ "$(grep -c "configuration reloaded" "$county_log" || true)" -gt "$reloads" ]; }
wait_until 10 reloaded || fail "the county did not reload its configuration"
ok "county reloaded with limits/client_rate = 20 and limits/client_burst = 40"

#  The flooded PUT carries one elder signed by the county, in its wire
#  form: signed in a scratch store of the county's region, exported as msgpack
"$HUTONG" init --store scratch.store --region "$county" --anchor "$county.key.pub" --idkey net.idkey >/dev/null
"$HUTONG" put --store scratch.store --quiet "$county.cert" || fail "cannot store the county's cert in the scratch store"
"$HUTONG" put --store scratch.store --key "$county.key" --quiet flooded-put.jsonl \
    || fail "cannot sign the record to be flooded"
"$HUTONG" export --store scratch.store --kind elder --format msgpack --out put.bin \
    || fail "cannot export the record to be flooded"
flooded_key="$("$python" "$here/holders.py" keyof scratch.store elder id_no "$(json_get flooded-put.jsonl "j['fields']['id_no']")")"

county_status
limited_before="$(json_get status.json "j['rate_limited']")"
flood_s=6
start_bg flooder flood.log "$python" "$work/peer.py" request-flood "$client_ep" "$county.key.pub" dept.key "$flood_s" put.bin
for attempt in 1 2 3; do
    sleep 1
    "$HUTONG" status --json --node "$client_ep" --node-key "$county.key.pub" --key "$county.key" \
        --timeout 3000 > other.json || fail "another client got no status during the flood (attempt $attempt)"
done
ok "another client's requests are served during the flood"
write_at_township "during the request flood"
wait_until 30 bg_gone flooder || fail "the flooding client did not finish"
stop_bg flooder 1 || true
flood="$(tail -n 1 flood.log)"
echo "# flood of ${flood_s}s at 20 requests/s, burst 40: $flood"
served="$(json_get flood.log "j['served']")" limited="$(json_get flood.log "j['rate_limited']")"
[ "$limited" -gt 0 ] || fail "no rate_limited answers in the flood: $flood"
max_served=$(( 40 + 20 * (flood_s + 5) ))
[ "$served" -le "$max_served" ] || fail "$served requests served in the flood (at most $max_served)"
ok "the flooding client got $limited rate_limited answers; $served served (at most $max_served)"
expect_eq "$(json_get flood.log "j['put']")" rate_limited "the PUT inside the flood is answered rate_limited"
county_holds "$flooded_key" && fail "the rate-limited PUT was stored anyway"
ok "the rate-limited PUT was not stored"
county_status
[ "$(json_get status.json "j['rate_limited'] - $limited_before")" -ge "$limited" ] \
    || fail "the county's status counts fewer rate_limited answers than the client got"
ok "the county's status counts the rate_limited answers ($(json_get status.json "j['rate_limited']"))"

kill -0 "$county_pid" || fail "the county died"
rc=0; network_stop_node "$township" || rc=$?; expect_eq "$rc" 0 "the township stops cleanly"
rc=0; network_stop_node "$county" || rc=$?; expect_eq "$rc" 0 "the county stops cleanly"
scenario_done=1
echo "# scenario_bounds: $(( $(date +%s) - started_at )) s"
