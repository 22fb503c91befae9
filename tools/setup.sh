#!/usr/bin/env bash
#  The two setup commands of the README, for a fresh Debian 12 machine
#  (as root): install what is missing (make included), build, then
#    tools/setup.sh run    run the demonstration (a local four-tier network)
#    tools/setup.sh test   run every test (unit, ASan+UBSan, integration)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    run|test) ;;
    *) echo "usage: tools/setup.sh run|test" >&2; exit 2 ;;
esac
./tools/install-deps.sh
exec make "$1"
