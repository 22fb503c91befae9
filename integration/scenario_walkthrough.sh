#!/usr/bin/env bash
#  docs/operations.md "A whole network, step by step", run exactly as
#  written: every ```sh block of that section, in order, in an empty
#  directory, with hutong and hutongd of this build first on PATH and ten
#  free ports from $BASE. Then what the walkthrough says should hold is
#  checked in the stores it left. Every hutongd it started is stopped (by
#  the walkthrough itself, or by the PIDs it wrote, on failure).
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
use_debian_python
doc="$here/../docs/operations.md"

"$python" - "$doc" > walkthrough.sh <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("\n## A whole network, step by step\n")
end = text.index("\n## ", start + 1)
blocks = re.findall(r"^```sh\n(.*?)^```$", text[start:end], re.S | re.M)
if len(blocks) < 5:
    sys.exit("the walkthrough has only %d sh blocks" % len(blocks))
print("set -euo pipefail")
for index, block in enumerate(blocks, 1):
    print("echo '### walkthrough step %d'" % index)
    print(block, end="")
EOF
ok "extracted $(grep -c '^echo .### walkthrough step' walkthrough.sh) steps from docs/operations.md"

#  Ten free ports in a row, below the ephemeral range
base=$(( 20000 + ($$ * 37) % 9000 ))
while :; do
    busy=0
    for offset in 0 1 2 3 4 5 6 7 8 9; do
        (exec 3<>"/dev/tcp/127.0.0.1/$((base + offset))") 2>/dev/null && busy=1
    done
    [ $busy = 0 ] && break
    base=$((base + 10))
done

stop_walkthrough_nodes () {
    local pid_file pid
    for pid_file in "$work"/*.pid; do
        [ -e "$pid_file" ] || continue
        pid=$(cat "$pid_file")
        kill -TERM "$pid" 2>/dev/null || true
        wait_until 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
    done
}
cleanup_hooks+=("stop_walkthrough_nodes")

export PATH="$(dirname "$HUTONG"):$(dirname "$HUTONGD"):$PATH"
export BASE=$base
timeout 300 bash walkthrough.sh > walkthrough.out 2>&1 \
    || { tail -n 40 walkthrough.out >&2; for log in *.log; do echo "--- $log" >&2; tail -n 8 "$log" >&2; done
         fail "the walkthrough in docs/operations.md failed"; }
ok "the walkthrough ran to its end ($(grep -c '^### walkthrough step' walkthrough.out) steps)"

#  What it said would happen
for node in city county township community1 community2; do
    pid=$(cat $node.pid)
    ! kill -0 "$pid" 2>/dev/null || fail "$node (pid $pid) still runs after step 8"
done
ok "every node it started has stopped"
count () { "$HUTONG" list --store "$1.store" --kind elder --limit 0 | wc -l; }
expect_eq "$(count city)" 25 "the city holds the 25 elders written at the community"
expect_eq "$(count county)" 25 "so does the county"
expect_eq "$(count community1)" 25 "the restored community got back the 5 written after its backup"
expect_eq "$(count community2)" 0 "the other community holds none of them"
grep -q "凤城街道第一社区\|community1" walkthrough.out || fail "status --tree showed no community"
grep -q '"kind":"elder"\|elder' walkthrough.out || fail "the county's civil affairs bureau listed no elder"
ok "status --tree and the bureau's listing were printed"
scenario_done=1
