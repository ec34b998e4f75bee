#!/usr/bin/env bash
# The reliability suite of issue 10 at full size; writes docs/reliability.md from what it
# counted (DESIGN §9 runs the short version of each part in ./test.sh's unit tier).
#
#   ./soak.sh            R1 with 1,000 randomized experiments, every other part 5 times
#   ./soak.sh --quick    R1 with 100, every other part once (a few minutes)
#   SOAK_RUNS=300 SOAK_REPEAT=3 ./soak.sh
#
# Needs root (network namespaces, cgroups, qdiscs) and what ./test.sh installs (run that
# once first). Exits non-zero when anything failed; the document says what.
set -uo pipefail
cd "$(dirname "$0")"

runs=${SOAK_RUNS:-1000}
repeat=${SOAK_REPEAT:-5}
if [ "${1:-}" = --quick ]; then
    runs=${SOAK_RUNS:-100}
    repeat=${SOAK_REPEAT:-1}
fi
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target/soak" docs
# Absolute: the tests run with their package's directory as the working directory.
out=$(cd "$target/soak" && pwd)
rm -f "$out"/*.log
started=$(date +%s)

echo "==> building the test binaries"
cargo test -q -p faultline -p faultline-agent --no-run 2>&1 | tail -n 3

rows=()
failed_any=0

# One row of the table: ID, what it tries, then `package:test[:filter]` entries, each run
# `repeat` times (R1 once, with its own count). The service's tests are grouped into one
# binary per area (`api`, `cli`, `engine`, `outputs`, `kube`); a filter names the module
# (`crash_serve`) or the test. Counts passed/failed from cargo's output.
part() {
    local id=$1 what=$2 times=$3
    shift 3
    local passed=0 failed=0 names=()
    for entry in "$@"; do
        IFS=: read -r pkg test filter <<<"$entry"
        names+=("\`$test${filter:+ $filter}\`")
        for i in $(seq 1 "$times"); do
            local log="$out/$id-$test-$i.log"
            echo "==> $id: $pkg $test ${filter:-} ($i/$times)"
            cargo test -q -p "$pkg" --test "$test" -- ${filter:+"$filter"} --test-threads 2 >"$log" 2>&1
            read -r p f < <(awk '/^test result:/ {
                for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
            } END { print p + 0, f + 0 }' "$log")
            # A binary that did not build or panicked outside a test reports no result line.
            if [ "$p" = 0 ] && [ "$f" = 0 ]; then f=1; fi
            passed=$((passed + p))
            failed=$((failed + f))
            [ "$f" != 0 ] && { echo "    FAILED, see $log"; grep -E '^test .* FAILED$' "$log" | head -5; }
        done
    done
    [ "$failed" != 0 ] && failed_any=1
    rows+=("| $id | $what | ${names[*]} × $times | $passed | $failed |")
}

echo "==> R1: $runs randomized experiments"
r1_json=$out/r1.json
rm -f "$r1_json"
FLTEST_SOAK_RUNS=$runs FLTEST_SOAK_REPORT=$r1_json \
    cargo test -q -p faultline --test reliability -- --nocapture >"$out/R1.log" 2>&1
r1_status=$?
grep -E '^R1: [0-9]+ runs' "$out/R1.log" || true
if [ "$r1_status" != 0 ] || [ ! -s "$r1_json" ]; then
    failed_any=1
    echo "    R1 FAILED, see $out/R1.log"
fi
r1_row=$(python3 - "$r1_json" "$r1_status" <<'EOF'
import json, sys
path, status = sys.argv[1], sys.argv[2]
try:
    r = json.load(open(path))
except Exception:
    print("| R1 | randomized experiments | did not finish: see target/soak/R1.log | 0 | 1 |")
    sys.exit()
fmt = lambda d: ", ".join(f"{k} {v}" for k, v in sorted(d.items()))
print(f"| R1 | {r['runs']:,} randomized experiments through `faultline run` (bandwidth, partition, "
      f"CPU/memory stress, pause by signal/freezer, kill; 1 ms–2 s each): {r['faults']:,} faults, "
      f"{r['applied']:,} applied; endings: {fmt(r['endings'])}; verdicts: {fmt(r['verdicts'])}; "
      f"seed {r['seed']}, {r['seconds']} s | `reliability` × 1: **leftovers found: {r['leftovers']}** | "
      f"{'1' if status == '0' else '0'} | {'0' if status == '0' else '1'} |")
EOF
)

part R2 "kill -9 the agent mid-fault and restart it (recovered within 1 s), lapsed and renewed leases, SIGTERM; kill -9 \`faultline run\` and \`faultline serve\` mid-run (fault recovered, run \`error\` with the reason); kill -9 \`faultline run\` (or its process group) alone mid-pause and mid-stress: its watchdog recovers within 2 s with nobody's help" "$repeat" \
    faultline-agent:crash_recovery faultline:cli:crash_run faultline:cli:crash_serve faultline:cli:watchdog
part R3 "fuzzing: the spec parser and Chaos Mesh importer (10,000 mutations per property), API bodies, GitLab webhook payloads (600 mutations), bodies over 1 MiB, slowloris bodies and heads (408 / closed)" "$repeat" \
    faultline-spec:fuzz faultline:api:api_fuzz faultline:api:webhook_fuzz faultline:api:slow_clients
part R4 "auth: every route without a token, with a bad token and the wrong role; webhook and Alertmanager receiver tokens; the agent without its token; no token in logs, reports or the store" "$repeat" \
    faultline:api:every_route_checks_the_token_and_its_role \
    faultline:api:bad_tokens_bodies_and_unwanted_events_run_nothing \
    faultline:api:the_receiver_wants_a_token_and_alertmanagers_payload \
    faultline-agent:api:fault_calls_need_the_bearer_token_but_probes_do_not \
    faultline:api:tokens_stay_secret
part R5 "peers down during a run: SMTP, Slack (500/429), Grafana, GitLab -> verdict stored, sent once they are back; Prometheus down -> \`error\`, said clearly" "$repeat" \
    faultline:outputs:smtp_down_when_the_run_ends_the_mail_arrives_after_retries \
    faultline:outputs:slack_gets_block_kit_and_retries_through_500_and_429 \
    faultline:outputs:grafana_down_during_the_run_gets_the_annotations_when_it_is_back \
    faultline:api:merge_request_pipelines_keep_one_note_and_survive_a_gitlab_outage \
    faultline:engine:an_unreachable_prometheus_is_an_error_not_a_value

elapsed=$(($(date +%s) - started))
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
    echo "# Reliability suite"
    echo
    echo "Regenerated by \`./soak.sh\` (issue 10's R1–R5) on $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(nproc) cores ($cpu), kernel $(uname -r), in ${elapsed} s."
    echo "\`./test.sh\` runs the same tests once, with R1 at 100 experiments."
    echo
    echo "After every R1 run the suite compares the namespace's qdiscs and nftables ruleset,"
    echo "the cgroup's members and freezer state, the target's state and the fault journal"
    echo "with their state before the run; any difference is a leftover."
    echo
    echo "| id | what it tries | tests × repetitions | passed | failed |"
    echo "|---|---|---|---:|---:|"
    echo "$r1_row"
    printf '%s\n' "${rows[@]}"
    echo
    echo "## What it found"
    echo
    echo "- R1, first version: a network fault aimed at a process (\`target: { local: { pid } }\`)"
    echo "  whose process died mid-fault left its tbf qdisc or nft table in the namespace:"
    echo "  recovery saw \`/proc/PID/ns/net\` gone and called the target gone, though the"
    echo "  namespace lived on (a named netns; in Kubernetes, the pod's pause container)."
    echo "  The agent now records the namespace's identity when it resolves the target and"
    echo "  finds it again by that (\`node-agent/src/netns.rs\`, \`locate\`)."
    echo "- R3: a request body trickled in a byte at a time held its connection for ever"
    echo "  (actix times out slow heads only); bodies now have a 15 s deadline and get a 408."
    cat <<'EOF'

## The run's watchdog (kill -9 of `faultline run`)

The node agent recovers lapsed leases by itself; `faultline run` carries its agent
in-process, so a run killed with `-9` used to leave its faults (a paused process stayed
paused) until someone ran `faultline recover`. Now the run starts a watchdog before it
journals its first fault that stays applied (`service/src/cmd/watchdog.rs`; runs that
inject nothing lasting, dry runs and instant faults such as processKill start none):

- the same binary as `faultline __watchdog STATE_DIR PID`, holding the read end of a pipe
  only the run can write to. A run that ends with nothing applied writes a goodbye byte
  and waits for the watchdog to exit: no watchdog outlives a clean run.
- EOF without the goodbye (the run died) or the run no longer being its parent (polled
  every 250 ms, in case something else held the pipe open; not `PR_SET_PDEATHSIG`, which
  fires when the spawning *thread* exits): it takes the state dir's lock as soon as the
  dead run's is released, recovers the journal exactly as the next run would (pauses
  first), records each fault recovered on the run and ends it `error` ("the faultline
  process running it (pid N) was killed; its watchdog recovered K fault record(s) it left
  applied"), and exits. The next `faultline run` or `faultline recover` finds nothing left;
  one started while the watchdog is still at it waits for it.
- It is started in a process group of its own, before it runs a line of its own code
  (so a group kill right after the first fault cannot catch it half-started): a
  terminal's Ctrl-C goes to the run, which aborts and recovers, not to the watchdog; `kill -9 -PGID` of the run's process group kills the run and its stress
  workers but not the watchdog, which recovers. Killing the watchdog as well (`kill -9` of
  both, a systemd unit stop or CI job that kills the whole cgroup) leaves the journal to
  the next `faultline run` or `faultline recover`, as before.

Tests: `service/tests/cli/watchdog.rs` (kill -9 mid-`processPause`: the process runs again
within 2 s; kill -9 of the process group; kill -9 mid-stressCpu: the cgroup's workers are
gone within 2 s; a clean run leaves no watchdog, a run without lasting faults arms none),
`crash_run.rs` (run and watchdog both killed: `faultline recover`), and the kernel tier's
`watchdog-netem` (kill -9 mid-`networkDelay` on Debian's kernel: qdisc gone, RTT floor back).
EOF
} >docs/reliability.md
echo
cat docs/reliability.md
echo
if [ "$failed_any" != 0 ]; then
    echo "soak: FAILED (logs in $out)"
    exit 1
fi
echo "soak: all passed"
