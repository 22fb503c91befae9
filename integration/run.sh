#!/usr/bin/env bash
#  Run the integration scenarios (integration/scenario_*.sh) against a
#  build directory; print "N passed, N failed" and exit non-zero on failure.
#
#  Usage: run.sh [--valgrind] [BUILD_DIR] [SCENARIO...]
#    SCENARIO    names (scenario_put or put) to run only those
#    --valgrind  run every hutongd and hutong under valgrind memcheck;
#                a scenario fails if valgrind reports an invalid access,
#                an uninitialised value or a leak (definite or indirect)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
valgrind=""
if [ "${1:-}" = "--valgrind" ]; then valgrind=1; shift; fi
build="$(cd "${1:-build}" && pwd)"; shift || true
export HUTONG="$build/tools/hutong"
export HUTONGD="$build/node/hutongd"

#  A sanitized build (ASan) is told to the scenarios: its RSS is not a
#  node's own, so memory bounds are judged only without it
if ldd "$HUTONGD" 2>/dev/null | grep -q libasan; then export HUTONG_IT_SANITIZED=1; fi

scenarios=()
if [ $# -eq 0 ]; then
    scenarios=("$here"/scenario_*.sh)
else
    for name in "$@"; do
        name="${name#scenario_}"; name="${name%.sh}"
        [ -f "$here/scenario_$name.sh" ] || { echo "run.sh: no scenario $name" >&2; exit 2; }
        scenarios+=("$here/scenario_$name.sh")
    done
fi

if [ -n "$valgrind" ]; then
    command -v valgrind >/dev/null || { echo "run.sh: valgrind is not installed" >&2; exit 2; }
    wrap="$(mktemp -d /tmp/hutong-vg.XXXXXX)"
    trap 'rm -rf "$wrap"' EXIT
    mkdir -p "$wrap/logs"
    supp=""
    [ -f "$here/../tests/valgrind.supp" ] && supp="--suppressions=$here/../tests/valgrind.supp"
    #  Wrappers with the binaries' own names, so a scenario that runs
    #  "$HUTONG" or "$HUTONGD" runs it under valgrind; --log-file keeps
    #  valgrind's words out of the scenario's output
    for tool in "$HUTONG" "$HUTONGD"; do
        cat > "$wrap/$(basename "$tool")" <<WRAP
#!/bin/sh
exec valgrind --quiet --error-exitcode=97 --leak-check=full \\
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
    $supp \\
    --log-file="$wrap/logs/$(basename "$tool").%p.log" "$tool" "\$@"
WRAP
        chmod +x "$wrap/$(basename "$tool")"
    done
    export HUTONG="$wrap/hutong" HUTONGD="$wrap/hutongd"
    #  valgrind slows a node down ten times and more: give peers longer
    export NETWORK_TIMEOUT_MS="${NETWORK_TIMEOUT_MS:-15000}"
fi

#  valgrind_report: print what valgrind found since the last call; fail if anything
valgrind_report () {
    [ -n "$valgrind" ] || return 0
    local log found=0
    for log in "$wrap"/logs/*.log; do
        [ -s "$log" ] || { rm -f "$log"; continue; }
        echo "--- valgrind: $(basename "$log")"; head -n 60 "$log"; found=1; rm -f "$log"
    done
    rm -f "$wrap"/logs/*.log
    [ $found = 0 ]
}

passed=0; failed=0; failures=()
for scenario in "${scenarios[@]}"; do
    name="$(basename "$scenario" .sh)"
    echo "=== $name"
    start=$(date +%s)
    if bash "$scenario" && valgrind_report; then
        passed=$((passed + 1)); echo "=== $name: passed ($(( $(date +%s) - start ))s)"
    else
        valgrind_report || true
        failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED"
    fi
done
echo "integration${valgrind:+ (valgrind)}: ${passed} passed, ${failed} failed${failures:+ (${failures[*]})}"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
