#!/usr/bin/env bash
# The benchmark table of issue 10 (P1..P8) and issue 25 (P9): builds the benches once in release mode, runs
# each, collects their JSON lines and writes docs/benchmarks.md with the date and machine
# (bench/table.py holds the goals and ratios). Benchmarks are never run by ./test.sh.
#
#   ./bench.sh            full table (about 16 minutes on 2 cores, plus the builds)
#   ./bench.sh --quick    fewer repeats, same measures
#   ./bench.sh --kernel   also re-measure the netem delay in the kernel tier (QEMU, ~1 min)
#   ./bench.sh --only P1,P7   run only some rows (the table then lacks the others)
#
# Needs root (netns, qdiscs, cgroups), wrk (P6, P9; apt), haproxy (P9; apt) and Chaos Toolkit
# (P7; pip): all are installed here when missing; P13 and P14 need PostgreSQL 15 (apt postgresql,
# as ./test.sh installs). Everything a bench creates (netns, qdiscs, agents, cgroups,
# processes) is removed by the bench itself, also when it fails. Output of each bench goes
# to $CARGO_TARGET_DIR/bench/<bench>.log.
set -uo pipefail
cd "$(dirname "$0")"

quick=0 kernel=0 only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --kernel) kernel=1 ;;
        --only) only=${2:?--only needs a list like P1,P7}; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench.sh must run as root (netns, qdiscs, cgroups)" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-target}
out=$target/bench
mkdir -p "$out"
results=$(realpath -m "$out/results.jsonl")
: > "$results"
export FAULTLINE_BENCH_JSON=$results
export FAULTLINE_BENCH_QUICK=$quick
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$SECONDS

say() { printf '\n==> %s\n' "$*" >&2; }

# --- tools (idempotent) -----------------------------------------------------------------
command -v wrk >/dev/null || { say "apt-get install wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v haproxy >/dev/null || { say "apt-get install haproxy"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
python3 -c 'import chaostoolkit' 2>/dev/null || { say "pip install chaostoolkit"; pip install --quiet chaostoolkit || pip install --quiet --break-system-packages chaostoolkit; }
# The real script, not a pyenv shim (a shim would add two shells to Chaos Toolkit's tree).
chaos=$(command -v pyenv >/dev/null && pyenv which chaos 2>/dev/null || command -v chaos || true)
export FAULTLINE_BENCH_CHAOS=${FAULTLINE_BENCH_CHAOS:-$chaos}

# --- build once -------------------------------------------------------------------------
# The executables are run directly: `cargo bench -p CRATE` would resolve features for that
# crate alone and rebuild its dependencies in release mode a second time.
say "cargo bench --workspace --no-run (release)"
executables=$out/executables.txt
cargo bench --workspace --no-run --message-format=json 2>"$out/build.log" |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"], m["manifest_path"].rsplit("/", 1)[0])
' >"$executables" || { tail -n 30 "$out/build.log" >&2; echo "bench.sh: build failed" >&2; exit 1; }

# The memory rows (P5, P7) measure the binaries as they ship: build-support/dist.sh
# (static-pie, fat LTO; the Dockerfile's build), about 4 minutes after the release build
# above. The rest run the bench build's binaries: those rows time work, not memory.
say "build-support/dist.sh (the shipped binaries)"
build-support/dist.sh >"$out/dist.log" 2>&1 || { tail -n 30 "$out/dist.log" >&2; echo "bench.sh: dist build failed" >&2; exit 1; }
export FAULTLINE_BENCH_DIST=$(realpath "$target/dist")

# How much of the linker's order file the shipped `faultline` still has (a stale one is
# only a lost saving: P5 and P7 read the binary's resident code).
layout=$(build-support/order/profile.sh --check 2>&1)
say "$layout"

# id  bench
benches="
P1 netlink_vs_tc
P2 agents_fanout
P3 lease_expiry
P4 stress_fidelity
P5 agent_rss
P5 idle_rss
P6 webhook_intake
P7 vs_chaostoolkit
P8 pods_inject
P8 kube_resolve
P15 id_token_verify
P14 failover
P13 replicas_intake
P12 console_load
P12 live_lag
P9 http_passthrough
P10 dns_passthrough
P11 apply_to_verified
"
failed=()
while read -r id bench; do
    [ -n "$id" ] || continue
    if [ -n "$only" ] && ! [[ ",$only," == *",$id,"* ]]; then continue; fi
    say "$id: $bench"
    read -r _ exe dir < <(grep "^$bench " "$executables")
    if [ -z "${exe:-}" ]; then
        failed+=("$bench")
        echo "$bench: no executable was built" >&2
        continue
    fi
    s=$SECONDS
    # As `cargo bench` runs it: from the crate's directory, with `--bench`.
    if (cd "$dir" && "$exe" --bench) </dev/null >"$out/$bench.log" 2>&1; then
        tail -n 12 "$out/$bench.log" >&2
        echo "($((SECONDS - s)) s)" >&2
    else
        failed+=("$bench")
        echo "$bench FAILED; last lines of $out/$bench.log:" >&2
        tail -n 20 "$out/$bench.log" >&2
    fi
done <<<"$benches"

# --- P4 netem: the kernel tier ----------------------------------------------------------
kernel_log=$out/kernel-tier.log
if [ "$kernel" = 1 ]; then
    say "P4 netem: tests/kernel-tier/run.sh"
    FAULTLINE_KT_PROFILE=release tests/kernel-tier/run.sh >"$kernel_log.new" 2>&1 \
        && mv "$kernel_log.new" "$kernel_log" \
        || { failed+=("kernel-tier"); tail -n 20 "$kernel_log.new" >&2; }
fi
# Else the newest kernel-tier output there is: this script's, or test.sh's.
tier_log=$target/test-logs/kernel.log
if [ -f "$tier_log" ] && { [ ! -f "$kernel_log" ] || [ "$tier_log" -nt "$kernel_log" ]; }; then
    kernel_log=$tier_log
fi

say "docs/benchmarks.md"
mode=full
[ "$quick" = 1 ] && mode=quick
[ -n "$only" ] && mode="$mode, only $only"
python3 bench/table.py "$results" docs/benchmarks.md --kernel-log "$kernel_log" \
    --mode "$mode" --load-start "$load_start" --seconds "$((SECONDS - t0))" \
    --layout "$layout" --failed "${failed[@]}"
[ ${#failed[@]} -eq 0 ]
