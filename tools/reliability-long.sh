#!/usr/bin/env bash
#  The long reliability run: integration/checker.py (the randomized
#  convergence checker of scenario_checker.sh) for 30 minutes of random
#  writes and faults on a nine-node network on 127.0.0.1, then heal,
#  converge and check. Prints the seed first, the figures at the end
#  (faults of each kind, writes acknowledged and lost, convergence time)
#  and with --json a JSON summary as its last line but one. Exit 0 only if
#  no acknowledged write was lost and every check passed.
#  Usage: tools/reliability-long.sh [--minutes N] [--seed S] [--json] [--verbose] [BUILD_DIR]
#  A failing run is replayed with the seed it printed: --seed S.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
minutes=30 seed="" extra=() build=""
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --json) extra+=(--json); shift ;;
        --verbose) extra+=(--verbose); shift ;;
        --keep) extra+=(--keep); shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^#  \{0,1\}//'; exit 0 ;;
        -*) echo "reliability-long.sh: unknown option $1" >&2; exit 2 ;;
        *) build="$1"; shift ;;
    esac
done
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "reliability-long.sh: --minutes N" >&2; exit 2; }
build="$(cd "${build:-$root/build}" && pwd)"
export HUTONG="${HUTONG:-$build/tools/hutong}" HUTONGD="${HUTONGD:-$build/node/hutongd}"
[ -x "$HUTONG" ] && [ -x "$HUTONGD" ] || { echo "no hutong/hutongd in $build" >&2; exit 2; }
export PYTHONDONTWRITEBYTECODE=1
seconds=$(/usr/bin/python3 -c "import sys; print(float(sys.argv[1]) * 60)" "$minutes")
#  The bulk puts' pool of new elders lasts the whole run (some 1,500 a minute)
bulk=$(/usr/bin/python3 -c "import sys; print(min(60000, int(float(sys.argv[1]) * 1500) + 1500))" "$minutes")
#  A long run converges over more history: give it longer than the short one
#  (and more entities, so each keeps a history of readable length)
exec /usr/bin/python3 "$root/integration/checker.py" --seconds "$seconds" \
    --converge-timeout 300 --elders 200 --facilities 20 --bulk "$bulk" ${seed:+--seed "$seed"} \
    ${extra[@]+"${extra[@]}"}
