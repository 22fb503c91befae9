#!/usr/bin/env bash
#  Run each libFuzzer target of a -DHT_FUZZ=ON build for a bounded time,
#  one after another, starting from a temporary copy of its seed corpus
#  (tests/fuzz/corpus/<target>/: the repository is never written).
#
#  Usage: tests/fuzz/run.sh BUILD_DIR SECONDS_EACH [TARGET...]
#  TARGET is a corpus name (record, record_json, msg, cert, store,
#  config); all of them if none is given.
#
#  Prints one line per target: executions, the corpus it grew to, and
#  crashes (any crash, leak, timeout or out-of-memory input libFuzzer
#  keeps). Inputs that crashed are kept in a temporary directory, printed
#  with the fuzzer's report, to replay with `BUILD_DIR/tests/fuzz/fuzz_X
#  FILE` and to turn into a unit test. Exits 1 if any target crashed.
set -euo pipefail

if [ $# -lt 2 ] || [ ! -d "$1" ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 BUILD_DIR SECONDS_EACH [TARGET...]" >&2
    exit 2
fi
build="$(cd "$1" && pwd)"
seconds="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=(record record_json msg cert store config)
fi
work="$(mktemp -d /tmp/hutong-fuzz.XXXXXX)"
#  The targets' scratch stores and files (on /dev/shm if there is one),
#  removed even when a crash kept a target from cleaning up
scratch="$(mktemp -d "$([ -w /dev/shm ] && echo /dev/shm || echo /tmp)/hutong-fuzz.XXXXXX")"
export HT_FUZZ_TMPDIR="$scratch"
#  Keep the crash inputs; the corpora and logs of clean runs go
keep=false
cleanup () {
    rm -rf "$scratch"
    if $keep; then rm -rf "$work/corpus"; else rm -rf "$work"; fi
}
trap cleanup EXIT

#  A leak is a failure as much as a crash; UBSan findings abort
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
for target in "${targets[@]}"; do
    program="$build/tests/fuzz/fuzz_$target"
    if [ ! -x "$program" ] || [ ! -d "$here/corpus/$target" ]; then
        echo "fuzz: $target: no program $program or corpus $here/corpus/$target" >&2
        failed=1
        continue
    fi
    mkdir -p "$work/corpus/$target" "$work/crashes/$target"
    cp "$here/corpus/$target"/* "$work/corpus/$target/"
    seeds=$(ls "$work/corpus/$target" | wc -l)
    log="$work/$target.log"
    status=0
    "$program" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
               -print_final_stats=1 -artifact_prefix="$work/crashes/$target/" \
               "$work/corpus/$target" > "$log" 2>&1 || status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)
    crashes=$(find "$work/crashes/$target" -type f | wc -l)
    grown=$(ls "$work/corpus/$target" | wc -l)
    printf 'fuzz: %-12s %6ss  execs=%s  corpus=%s->%s  crashes=%s\n' \
           "$target" "$seconds" "${execs:-0}" "$seeds" "$grown" "$crashes"
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed=1
        keep=true
        echo "fuzz: $target failed (exit $status); the fuzzer's report:"
        grep -E -A40 'ERROR: |fuzz oracle failed|runtime error|SUMMARY' "$log" | head -80 || tail -40 "$log"
        for crash in "$work/crashes/$target"/*; do
            [ -f "$crash" ] && echo "fuzz: input kept: $crash (replay: $program $crash)"
        done
        cp "$log" "$work/crashes/$target/fuzzer.log"
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: FAILED; inputs and logs in $work/crashes"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
