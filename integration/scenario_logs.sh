#!/usr/bin/env bash
#  hutongd's logs: every line starts with an ISO-8601 time with
#  milliseconds and zone and a level letter; log/level = debug shows each
#  batch and each client request; log/file takes the lines and is
#  reopened on SIGHUP after logrotate moved it; log/syslog = yes where no
#  syslog daemon listens on /dev/log falls back to stderr with one
#  warning; where one listens (a mount namespace with our own /dev/log,
#  if unshare allows), the lines reach it.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/network.sh"
show_logs_on_failure
use_debian_python
city=441800000000 county=441802000000
line_pattern='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} [EWID]: '

#  --------------------------------------------------------------------------
#  Format and debug lines

NETWORK_LOG_LEVEL=debug
network_chain $city $county
network_start
network_wait_connected 30
node_status $county >/dev/null || fail "the county does not answer STATUS"
wait_until 10 grep -q " D: service: STATUS from client " "$(node_log $county)" \
    || fail "no debug line for the STATUS request"
ok "log/level = debug shows a line per client request"
grep -q " D: node: batch from $city" "$(node_log $county)" \
    || grep -q " D: node: serving " "$(node_log $city)" || fail "no debug line for a batch"
ok "log/level = debug shows batches"
bad="$(grep -avE "$line_pattern" "$(node_log $county)" "$(node_log $city)" | head -n 3 || true)"
[ -z "$bad" ] || fail "log lines without an ISO-8601 time and level: $bad"
ok "every log line starts with an ISO-8601 time with milliseconds and zone ($(wc -l < "$(node_log $county)") county lines)"
network_stop_node $county || fail "the county did not stop cleanly"

#  --------------------------------------------------------------------------
#  log/file and SIGHUP

network_write_config $county
cp $county.cfg file.cfg
printf '    file = %s\n' "$work/county-file.log" >> file.cfg     #  log is the last section
start_bg county-file county-file.stderr "$HUTONGD" --config file.cfg
wait_until 20 grep -qs " I: hutongd: .* started; node " county-file.log \
    || fail "no 'started' line in log/file"
ok "log/file receives the lines"
[ ! -s county-file.stderr ] || fail "lines went to stderr as well: $(head -n 3 county-file.stderr)"
ok "nothing goes to stderr with log/file set"
mv county-file.log county-file.log.1
kill -HUP "${bg_pids[county-file]}"
wait_until 10 grep -q " I: hutongd: configuration reloaded" county-file.log \
    || fail "after SIGHUP the lines did not go to a new log/file"
ok "SIGHUP reopens log/file after it was moved away (logrotate)"
grep -q "configuration reloaded" county-file.log.1 && fail "the moved file still receives lines"
ok "the moved file receives no more lines"
grep -qE "$line_pattern" county-file.log || fail "log/file lines lack the time stamp"
stop_bg county-file || fail "the county did not stop cleanly"

#  --------------------------------------------------------------------------
#  log/syslog = yes without a syslog daemon

cp $county.cfg syslog.cfg
printf '    syslog = yes\n' >> syslog.cfg
#  Where /dev/log exists, hide it in a mount namespace of our own
runner=()
if [ -e /dev/log ]; then
    if unshare -m -r true 2>/dev/null; then
        runner=(unshare -m -r sh -c 'mount --bind /dev/null /dev/log && exec "$@"' sh)
    else
        echo "# skip: /dev/log exists here and unshare cannot hide it; syslog fallback untested"
    fi
fi
if [ ! -e /dev/log ] || [ ${#runner[@]} -gt 0 ]; then
    start_bg county-syslog county-syslog.stderr "${runner[@]}" "$HUTONGD" --config syslog.cfg
    wait_until 20 grep -q " started; node " county-syslog.stderr \
        || fail "with syslog and no /dev/log the lines did not go to stderr"
    kill -HUP "${bg_pids[county-syslog]}"
    wait_until 10 grep -q "configuration reloaded" county-syslog.stderr || fail "no reload line"
    expect_eq "$(grep -c "W: log: log/syslog = yes, but no syslog daemon answers on /dev/log" county-syslog.stderr)" \
        1 "one warning says syslog is missing, even after a reload"
    ok "log/syslog without /dev/log falls back to stderr"
    stop_bg county-syslog || fail "the county did not stop cleanly"
fi

#  --------------------------------------------------------------------------
#  log/syslog = yes with a syslog daemon (our own, on a /dev/log of our own)

if unshare -m -r true 2>/dev/null; then
    cat > syslogd.py <<'EOF'
import os, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("/dev/log")
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        out.write(sock.recv(65536) + b"\n")
EOF
    #  A tmpfs over /dev in the namespace holds our socket as /dev/log
    start_bg county-syslogd county-syslogd.stderr unshare -m -r sh -c '
        mount -t tmpfs tmpfs /dev && : > /dev/null || exit 1   #  a plain file will do
        python3 "$1/syslogd.py" "$1/syslog.received" & daemon=$!
        while [ ! -e "$1/syslog.received.ready" ]; do sleep 0.05; done
        "$2" --config "$1/syslog.cfg" & node=$!
        trap "kill -TERM $node; wait $node; kill $daemon" TERM
        wait $node' sh "$work" "$HUTONGD"
    wait_until 20 grep -qs "started; node" syslog.received \
        || fail "syslog did not receive the 'started' line"
    grep -q "hutongd\[[0-9]*\]: hutongd: .* started" syslog.received \
        || fail "the syslog line lacks the ident hutongd and the pid: $(head -n 2 syslog.received)"
    ok "log/syslog = yes sends the lines to syslog as hutongd[pid]"
    grep -q "no syslog daemon answers" syslog.received county-syslogd.stderr \
        && fail "a fallback warning although syslog answers"
    ok "no fallback warning while syslog answers"
    stop_bg county-syslogd || true
else
    echo "# skip: unshare -m -r is not allowed here; delivery to a real syslog untested"
fi

scenario_done=1
