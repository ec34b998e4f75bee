#!/usr/bin/env bash
# Validates Chaos Mesh's own documented manifests, verbatim, with the built `faultline`.
#
#   tests/chaos-mesh/check-upstream.sh WEBSITE_GIT_DIR CHAOS_MESH_GIT_DIR
#
# WEBSITE_GIT_DIR is a clone of github.com/chaos-mesh/website, CHAOS_MESH_GIT_DIR one of
# github.com/chaos-mesh/chaos-mesh (bare or not). The commits this corpus mirrors are in
# README.md; the script reads exactly those. Every YAML block of the website's docs/*.md and
# every file of the repository's examples/ whose kind faultline imports is validated;
# the script prints one line per manifest and the count, and exits 1 when a manifest that
# faultline should accept is refused. Those upstream files are not committed here (this
# corpus holds our own manifests with the same fields); this script is how anyone with the
# two clones checks the originals themselves. Needs python3 and git; no network.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
website=${1:?usage: $0 WEBSITE_GIT_DIR CHAOS_MESH_GIT_DIR}
repo=${2:?usage: $0 WEBSITE_GIT_DIR CHAOS_MESH_GIT_DIR}
website_commit=ee8caafaf1261417738d5aafdec1038c7ddb8176
repo_commit=v2.8.3
bin=${FAULTLINE_BIN:-$here/../../target/debug/faultline}
[ -x "$bin" ] || { echo "no faultline binary at $bin (cargo build, or set FAULTLINE_BIN)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 "$here/extract_upstream.py" "$website" "$website_commit" "$repo" "$repo_commit" "$out"
ok=0; refused=0; unexpected=0; total=0
for f in "$out"/*.yaml; do
    name=$(basename "$f")
    total=$((total + 1))
    if "$bin" validate "$f" >/dev/null 2>"$out/err"; then
        ok=$((ok + 1)); echo "accepted  $name"
    else
        # A refusal is expected when our mirror of the same file says `# refused:`.
        mirror=$(ls "$here"/docs/"$name" "$here"/examples/"$name" 2>/dev/null | head -n1 || true)
        first=$(head -n1 "$out/err" | sed "s|$out/||")
        if [ -n "$mirror" ] && grep -q '^# refused: ' "$mirror"; then
            refused=$((refused + 1)); echo "refused   $first"
        else
            unexpected=$((unexpected + 1)); echo "REFUSED!  $first"
        fi
    fi
done
echo "upstream Chaos Mesh manifests: $ok of $total accepted, $refused refused deliberately, $unexpected refused unexpectedly"
[ "$unexpected" = 0 ]
