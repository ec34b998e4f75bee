#!/usr/bin/env bash
# The Helm chart (deploy/faultline) against Helm v4's own SDK and the Kubernetes 1.33
# schemas: lint, render with default values and overrides, validate every object, check
# the security facts and that bad values are refused. See tests/peers/helm_chart.py.
#
# Peers (installed by test.sh): PyPI helm-python-sdk (Helm's Go SDK as a C library; no helm
# binary and no network needed at run time) and kubernetes-validate (ships its schemas).
set -uo pipefail
cd "$(dirname "$0")/../../.."

if ! python3 -c 'import helm_python, kubernetes_validate' 2>/dev/null; then
    echo "PEER-RESULT helm SKIP helm-python-sdk or kubernetes-validate missing: pip install helm-python-sdk kubernetes-validate (test.sh does)"
    exit 0
fi
# The whole check takes ~10 s; a hung native call must not hold the tier.
timeout 180 python3 tests/peers/helm_chart.py
rc=$?
[ "$rc" = 124 ] && echo "PEER-RESULT helm FAIL tests/peers/helm_chart.py timed out after 180 s"
exit "$rc"
