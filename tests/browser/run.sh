#!/usr/bin/env bash
# The browser tier: the web console in Debian's headless chromium (chromium-driver +
# Python selenium) against a live `faultline serve` on loopback. Prints one
# `BROWSER-RESULT <test> PASS|FAIL|SKIP` line per test; test.sh counts them.
# Screenshots and page sources of failures: $CARGO_TARGET_DIR/test-logs/browser/.
set -uo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
for tool in chromium chromedriver; do
    if ! command -v "$tool" >/dev/null; then
        echo "BROWSER-RESULT all SKIP $tool is not installed (apt-get install chromium chromium-driver)"
        exit 0
    fi
done
if ! python3 -c 'import selenium' 2>/dev/null; then
    echo "BROWSER-RESULT all SKIP python selenium is not installed (pip install selenium)"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "BROWSER-RESULT all SKIP needs root: the runs pause processes through the in-process agent"
    exit 0
fi
cargo build --quiet -p faultline --bin faultline || { echo "BROWSER-RESULT build FAIL cargo build -p faultline"; exit 1; }
python3 tests/browser/console_test.py --binary "$target/debug/faultline" "$@"
console=$?
# Signing in through a real OIDC provider (oidc-provider-mock, PyPI).
python3 tests/browser/sso_test.py --binary "$target/debug/faultline"
sso=$?
# The governance pages (audit, access), server-side run filters, the dry-run preview.
python3 tests/browser/governance_test.py --binary "$target/debug/faultline"
governance=$?
[ "$console" = 0 ] && [ "$sso" = 0 ] && [ "$governance" = 0 ]
