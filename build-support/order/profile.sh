#!/usr/bin/env bash
# Regenerates build-support/order/faultline.txt, the order the linker lays out the
# `faultline` binary's functions in (`--symbol-ordering-file`, see build-support/pack_relocs.rs).
#
# Why: the kernel maps a binary's code 64 KB around every page it faults in, so a run that
# executes 1.7 MB of functions scattered over 13 MB of code kept 9.5 MiB of it resident.
# With the functions a run executes laid out first, side by side, the same run keeps about
# 3 MiB. This is an order file as Chromium and Android ship: a stale one costs nothing but
# the saving (a symbol it names that no longer exists is skipped).
#
# How: every function the binary executes in a few ordinary uses is recorded under
# valgrind's callgrind (exact, unlike sampling), in first-executed order:
#   1. `faultline run` of P7's experiment (bench/p7-experiment.yaml: an HTTP steady state
#      and a processKill), on a fresh state directory and again on the same one (a user's
#      second run);
#   2. `faultline validate` of every example;
#   3. `faultline serve` until it answers /healthz and one API request.
# Loopback only; every process it starts is stopped on exit.
#
#   build-support/order/profile.sh           profile, rewrite the file, print coverage
#   build-support/order/profile.sh --check   only print how much of the file the current
#                                            shipped binary (target/dist) still has; exit
#                                            status 3 when it is stale (more than 1% of the
#                                            names gone), 0 otherwise (dist.sh and bench.sh
#                                            call this)
#
# It goes stale after a toolchain update or a change of dependencies (symbol names carry a
# hash of their crate's build), and after almost any change of the code: fat LTO's
# numbered local names shift. build-support/dist.sh checks after every build and reruns
# this script when the file is stale, so there is rarely a reason to run it by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
order=build-support/order/faultline.txt
bin=${CARGO_TARGET_DIR:-target}/dist/faultline # as it ships: build-support/dist.sh

coverage() {
    local have total
    total=$(wc -l <"$order") # written without repeats
    have=$(nm --defined-only "$bin" | awk '{print $3}' | sort -u | comm -12 - <(sort "$order") | wc -l)
    echo -n "order file: $have of $total functions found in $bin"
    # Fat LTO numbers its local symbols (`foo.12143`), and any change of the code can
    # renumber them: a 3% loss (144 names, one small change to the webhook handler) took
    # P7's peak RSS from 5.7 to 8.5 MiB, each name left out a 64 KB fault-around away.
    if [ $((have * 100)) -lt $((total * 99)) ]; then
        echo " (stale: build-support/dist.sh re-profiles it)"
        return 3
    fi
    echo
}

if [ "${1:-}" = "--check" ]; then
    [ -x "$bin" ] || { echo "order file: no $bin to check" >&2; exit 0; }
    coverage # its status is the script's: 3 when stale
    exit
fi

command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
callgrind=(valgrind --tool=callgrind --demangle=no --dump-instr=no)
profiled() { # NAME ARGS...: runs the binary under callgrind, output in $work/NAME.cg
    local name=$1; shift
    "${callgrind[@]}" --callgrind-out-file="$work/$name.cg" "$bin" "$@" >"$work/$name.log" 2>&1
}

mkdir -p "$work/www"
web_port=$(free_port)
python3 -m http.server "$web_port" --bind 127.0.0.1 -d "$work/www" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$web_port") 2>/dev/null && break; sleep 0.1; done

# The workloads, under callgrind, into $work/TAG-*.cg.
profile_uses() {
    local tag=$1 round victim serve
    for round in 1 2; do
        sleep 600 &
        victim=$!
        pids+=("$victim")
        sed -e "s|\${URL}|http://127.0.0.1:$web_port/|" -e "s|\${PID}|$victim|" \
            bench/p7-experiment.yaml >"$work/experiment.yaml"
        profiled "$tag-run-$round" run --state-dir "$work/$tag-state" "$work/experiment.yaml" ||
            { cat "$work/$tag-run-$round.log" >&2; echo "profile.sh: faultline run failed" >&2; exit 1; }
    done

    profiled "$tag-validate" validate examples/native/*.yaml examples/native/*.json examples/chaos-mesh/*.yaml || true

    api_port=$(free_port)
    echo "operator:order-profile-token-0123456789" >"$work/tokens"
    # Not through profiled: $! must be valgrind itself, which the TERM below stops.
    "${callgrind[@]}" --callgrind-out-file="$work/$tag-serve.cg" \
        "$bin" serve --listen "127.0.0.1:$api_port" --state-dir "$work/$tag-serve-state" \
        --tokens-file "$work/tokens" >"$work/$tag-serve.log" 2>&1 &
    serve=$!
    pids+=("$serve")
    for _ in $(seq 600); do curl -fs "http://127.0.0.1:$api_port/healthz" >/dev/null && break; sleep 0.1; done
    curl -fs -H "Authorization: Bearer order-profile-token-0123456789" \
        "http://127.0.0.1:$api_port/api/v1/runs" >/dev/null || echo "profile.sh: GET /api/v1/runs failed" >&2
    kill -TERM "$serve"
    wait "$serve" || true
}

# The shipped build (build-support/dist.sh, the Dockerfile's and what bench.sh measures):
# symbol names carry a hash of their crate's build, so another build (a bench build turns
# on tokio's test-util for every crate) finds only some of them.
# FAULTLINE_NO_REPROFILE=1: dist.sh would otherwise find the file stale and run this script.
FAULTLINE_NO_REPROFILE=1 build-support/dist.sh 2>&1 | tail -n 5 >&2
profile_uses shipped

python3 - "$order" "$work"/shipped-*.cg <<'EOF'
import re, sys
# callgrind's compressed names: "fn=(id) name" defines id, "fn=(id)" reuses it; the same
# for cfn= (callees) and ob=/cob= (the object a function is in).
order, files = sys.argv[1], sys.argv[2:]
seen, out = set(), []
for path in files:
    names, objs, ob = {}, {}, None
    for line in open(path, errors="replace"):
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(3):
                objs[m.group(2)] = m.group(3)
            if m.group(1) == "ob":
                ob = objs[m.group(2)]
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not m:
            continue
        if m.group(3):
            names[m.group(2)] = m.group(3)
        if m.group(1) == "fn" and ob and ob.endswith("/faultline"):
            name = re.sub(r"'\d+$", "", names[m.group(2)])  # callgrind's recursion marks
            if not name.startswith("0x") and name not in seen:
                seen.add(name)
                out.append(name)
open(order, "w").write("\n".join(out) + "\n")
print(f"order file: {len(out)} functions written to {order}")
EOF
coverage || true # profiled on this very binary: stale here would be news, not a failure of the run
