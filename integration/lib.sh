#  Shared helpers for integration scenarios: a scratch directory removed on
#  exit, assertions that say what they expected, and a small PKI.
set -euo pipefail
: "${HUTONG:?set HUTONG to the hutong binary}"
#  work_template (set before sourcing) names the scratch directory; set
#  work_keep non-empty to keep it on exit (tools/demo.sh --keep)
work="$(mktemp -d "${work_template:-/tmp/hutong-it.XXXXXX}")"
work_keep=""
cleanup_hooks=()
cleanup () {
    local status=$? hook
    for hook in "${cleanup_hooks[@]+"${cleanup_hooks[@]}"}"; do eval "$hook" || true; done
    if [ -n "$work_keep" ]; then
        :
    elif [ -n "${HUTONG_IT_KEEP:-}" ] && [ "$status" != 0 ]; then
        echo "# kept the scratch directory $work (HUTONG_IT_KEEP)" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$work"

fail () { echo "FAIL: $*" >&2; exit 1; }
ok () { echo "ok - $*"; }

#  expect_eq ACTUAL EXPECTED WHAT
expect_eq () { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; ok "$3"; }

#  expect_exit CODE WHAT -- COMMAND...: run COMMAND, check its exit code
expect_exit () {
    local want="$1" what="$2"; shift 3
    local got=0
    "$@" >"$work/last.out" 2>"$work/last.err" || got=$?
    [ "$got" = "$want" ] || { cat "$work/last.err" >&2; fail "$what: exit $got, expected $want"; }
    ok "$what (exit $want)"
}

#  json_get FILE PYTHON-EXPR: evaluate an expression over the JSON in FILE (as j)
json_get () { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

#  make_key NAME [LABEL]: key pair NAME.key / NAME.key.pub
make_key () { "$HUTONG" keygen --out "$1.key" --name "${2:-$1}" >/dev/null; }

#  make_cert ISSUER SUBJECT REGION [extra cert-issue options]: SUBJECT.cert
make_cert () {
    local issuer="$1" subject="$2" region="$3"; shift 3
    "$HUTONG" cert issue --issuer "$issuer.key" --subject "$subject.key.pub" \
        --region "$region" --name "$subject" --out "$subject.cert" "$@" >/dev/null
}

#  wait_until SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds;
#  return 1 if it still fails at the deadline (no fixed sleeps in scenarios)
wait_until () {
    local deadline=$(( $(date +%s%N) + ${1%.*} * 1000000000 )); shift
    while :; do
        "$@" && return 0
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

#  cpu_percent PID SECONDS: the share of one core PID used over SECONDS
cpu_percent () {
    local pid="$1" seconds="$2" before after ticks
    ticks="$(getconf CLK_TCK)"
    before="$(awk '{print $14 + $15}' "/proc/$pid/stat")"
    sleep "$seconds"        #  the measuring window, not a wait for a condition
    after="$(awk '{print $14 + $15}' "/proc/$pid/stat")"
    echo $(( (after - before) * 100 / (ticks * seconds) ))
}

#  Background processes the scenario starts, by name; all are stopped on exit
declare -A bg_pids=()

#  start_bg NAME LOGFILE COMMAND...: start COMMAND in the background
start_bg () {
    local name="$1" log="$2"; shift 2
    "$@" >>"$log" 2>&1 &
    bg_pids[$name]=$!
}

#  bg_alive NAME: true while NAME's process runs (bash reaps exited children)
bg_alive () { [ -n "${bg_pids[$1]:-}" ] && kill -0 "${bg_pids[$1]}" 2>/dev/null; }
bg_gone () { ! bg_alive "$1"; }

#  stop_bg NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10);
#  returns the process's exit status (137 if it had to be killed)
stop_bg () {
    local name="$1" grace="${2:-10}" pid="${bg_pids[$1]:-}" rc=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_until "$grace" bg_gone "$name"; then
        echo "# $name (pid $pid) ignored SIGTERM for ${grace}s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || rc=$?
    unset "bg_pids[$name]"
    return "$rc"
}

#  stop_all_bg: stop every process start_bg started (a cleanup hook)
stop_all_bg () {
    local name
    for name in "${!bg_pids[@]}"; do kill -TERM "${bg_pids[$name]}" 2>/dev/null || true; done
    for name in "${!bg_pids[@]}"; do stop_bg "$name" 5 || true; done
}
cleanup_hooks+=("stop_all_bg")

#  show_logs_on_failure: on a failing exit, print the end of every node log
#  in $work; a scenario sets scenario_done=1 once all its checks passed
scenario_done=
show_logs_on_failure () { cleanup_hooks=("dump_logs" "${cleanup_hooks[@]}"); }
dump_logs () {
    [ -z "$scenario_done" ] || return 0
    local log
    for log in "$work"/*.log; do
        [ -e "$log" ] || continue
        echo "--- last lines of $(basename "$log")" >&2
        tail -n 15 "$log" >&2
    done
}

#  use_debian_python: set $python to Debian's interpreter with pyzmq,
#  msgpack and PyNaCl (another python3 may come first on PATH without
#  them) and put it first on PATH as python3, for these helpers too
use_debian_python () {
    python=/usr/bin/python3
    "$python" -c 'import zmq, msgpack, nacl' 2>/dev/null \
        || fail "$python lacks pyzmq, msgpack or PyNaCl (apt-get install python3-zmq python3-msgpack python3-nacl)"
    mkdir -p "$work/bin" && ln -sf "$python" "$work/bin/python3" && PATH="$work/bin:$PATH"
    export PYTHONDONTWRITEBYTECODE=1    #  importing the client leaves no __pycache__
}
