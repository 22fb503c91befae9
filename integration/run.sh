#!/usr/bin/env bash
#  Run every integration scenario (integration/scenario_*.sh) against a
#  build directory; print "N passed, N failed" and exit non-zero on failure.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-build}" && pwd)"
export HUTONG="$build/tools/hutong"
export HUTONGD="$build/node/hutongd"
passed=0; failed=0; failures=()
for scenario in "$here"/scenario_*.sh; do
    name="$(basename "$scenario" .sh)"
    echo "=== $name"
    start=$(date +%s)
    if bash "$scenario"; then
        passed=$((passed + 1)); echo "=== $name: passed ($(( $(date +%s) - start ))s)"
    else
        failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED"
    fi
done
echo "integration: ${passed} passed, ${failed} failed${failures:+ (${failures[*]})}"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
