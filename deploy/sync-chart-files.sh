#!/usr/bin/env bash
# Copies the files the chart ships from their single source of truth into the chart.
#
# Helm reads only files inside the chart directory (`.Files.Get` cannot reach ../ and a
# symlink out of the chart is not packaged reliably), so the Grafana dashboards and the
# Prometheus rules are copied in. tests/peers/helm_chart.py fails when a copy differs
# from its source: after editing dashboards/*.json or deploy/prometheus/faultline-rules.yml,
# run this script and commit both.
set -euo pipefail
cd "$(dirname "$0")/.."

rm -f deploy/faultline/dashboards/*.json
cp dashboards/*.json deploy/faultline/dashboards/
cp deploy/prometheus/faultline-rules.yml deploy/faultline/prometheus/faultline-rules.yml
echo "copied $(ls dashboards/*.json | wc -l) dashboard(s) and the Prometheus rules into deploy/faultline/"
