#!/usr/bin/env bash
# Real-peer tier (DESIGN §9): runs every tests/peers/checks/*.sh in name order. Each check
# prints one `PEER-RESULT <name> PASS|FAIL|SKIP <detail>` line per assertion; test.sh counts
# them. A check that exits non-zero without printing a FAIL line is counted as one failure,
# so a crashed script cannot pass silently.
set -uo pipefail
cd "$(dirname "$0")/../.."

status=0
for check in tests/peers/checks/*.sh; do
    [ -e "$check" ] || continue
    name=$(basename "$check" .sh)
    printf '\n--> peer check %s\n' "$name"
    out=$(mktemp)
    bash "$check" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    if [ "$rc" != 0 ]; then
        status=1
        grep -q '^PEER-RESULT .* FAIL' "$out" || echo "PEER-RESULT $name FAIL script exited $rc"
    fi
    rm -f "$out"
done
exit $status
