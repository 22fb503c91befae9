#!/usr/bin/env bash
#  Run every unit test (the Check programs tests/test_*, what
#  `ctest -LE integration` runs but the install and schema_doc scripts)
#  under valgrind memcheck: an invalid read or write, a use of an
#  uninitialised value, or memory "definitely" or "indirectly" lost fails
#  the test. tests/valgrind.supp holds the only suppressions, each for
#  noise of a library we do not own.
#
#  Usage: [VALGRIND_JOBS=N] tests/valgrind.sh BUILD_DIR [TEST_NAME...]
#  Prints one line per test and the whole run's time; exits 1 if any test
#  failed or reported an error. Each test's valgrind log is kept in a
#  temporary directory, printed at the end, for the failures.
#
#  Check runs each test in a forked child by default; CK_FORK=no keeps
#  every test of a program in one process, so one valgrind sees them all
#  and the leak check at exit covers the whole program. A test then has
#  no Check timeout; valgrind is slow (20-50 times), so none is needed.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -d "$1/tests" ]; then
    echo "usage: $0 BUILD_DIR [TEST_NAME...]" >&2
    exit 2
fi
build="$(cd "$1" && pwd)"
shift
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
command -v valgrind > /dev/null || { echo "valgrind: not installed (tools/install-deps.sh)" >&2; exit 2; }

if [ $# -gt 0 ]; then
    tests=("$@")
else
    tests=()
    for program in "$build"/tests/test_*; do
        [ -x "$program" ] && [ -f "$program" ] && tests+=("$(basename "$program")")
    done
fi
logs="$(mktemp -d /tmp/hutong-valgrind.XXXXXX)"

#  Run one test program under valgrind; print its line, and leave
#  NAME.failed in the log directory if it failed
s_run () {
    local name="$1" program="$build/tests/$1" status=0
    if [ ! -x "$program" ]; then
        echo "valgrind: $name: no such test program" >&2
        touch "$logs/$name.failed"
        return
    fi
    local test_started=$(date +%s)
    (cd "$build/tests" && CK_FORK=no CK_DEFAULT_TIMEOUT=0 \
        valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
                 --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
                 --num-callers=30 --suppressions="$source_dir/tests/valgrind.supp" \
                 --log-file="$logs/$name.log" "$program" > "$logs/$name.out" 2>&1) || status=$?
    local seconds=$(( $(date +%s) - test_started ))
    local summary errors
    summary="$(grep -m1 -o '[0-9]*%: Checks: [0-9]*, Failures: [0-9]*, Errors: [0-9]*' "$logs/$name.out" || true)"
    errors="$(grep -m1 -o 'ERROR SUMMARY: [0-9]* errors' "$logs/$name.log" || echo 'no valgrind summary')"
    if [ "$status" -eq 0 ]; then
        printf 'valgrind: %-22s ok    %5ds  %s; %s\n' "$name" "$seconds" "$summary" "$errors"
    else
        local why
        why=$([ "$status" -eq 99 ] && echo "memcheck errors" || echo "test failed (exit $status)")
        printf 'valgrind: %-22s FAIL  %5ds  %s; %s: %s\n' "$name" "$seconds" "$summary" "$errors" "$why"
        touch "$logs/$name.failed"
    fi
}

#  VALGRIND_JOBS programs at once (default 1: the machine may be shared)
jobs_max="${VALGRIND_JOBS:-1}"
started=$(date +%s)
for name in "${tests[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
        wait -n || true
    done
    s_run "$name" &
done
wait
failed=()
for name in "${tests[@]}"; do
    [ -e "$logs/$name.failed" ] && failed+=("$name")
done
total=$(( $(date +%s) - started ))
echo "valgrind: ${#tests[@]} test programs in ${total}s, ${#failed[@]} failed${failed:+: ${failed[*]}}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "valgrind: logs in $logs (NAME.log from valgrind, NAME.out from the test)"
    exit 1
fi
rm -rf "$logs"
