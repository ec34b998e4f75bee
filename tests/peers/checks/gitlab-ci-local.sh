#!/usr/bin/env bash
# Real peer: gitlab-ci-local (npm, 4.70.0; see notes/real-peers.md) runs the shipped
# ci/example.gitlab-ci.yml -- which includes ci/faultline.gitlab-ci.yml with `inputs:` --
# against a live `faultline serve` on loopback, as a GitLab runner would:
#
#   1. a passing experiment: the pipeline passes, `promote` runs, and the chaos job leaves
#      report.xml (JUnit with one test case per check and phase), report.html and
#      metrics.txt (GitLab's metrics report) as artifacts;
#   2. a failing experiment: the chaos job fails with exit code 1, `promote` does not run,
#      and the artifacts are there all the same (`when: always`);
#   3. a token the server refuses: the chaos job fails with exit code 2;
#   4. the job's GitLab ID token (gitlab-ci-local mints none, so the check mints one with
#      GitLab's claims, signed by a key whose JWKS a python3 http.server on loopback
#      serves, and hands it to the job as FAULTLINE_ID_TOKEN): the template sends it in
#      place of the static token (a viewer's here, which could not start the run), the run
#      passes and records the job; one with another audience fails with exit code 2 and
#      the reason.
#
# The system under test is a python3 http.server on loopback; the fault is processPause of
# a `sleep` this script starts, through serve's in-process agent. Everything started here
# (serve, the web server, the sleeper, temp dirs) is removed on exit, failed or not.
# Prints one `PEER-RESULT <name> PASS|FAIL|SKIP <detail>` per assertion (tests/peers/run.sh);
# after a failed assertion, the tail of that pipeline's log. FAULTLINE_PEER_KEEP=1 keeps the
# temp dir (repository, job logs, serve.log) for a look afterwards.
set -uo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD

failures=0
dumped=0 # whether the current pipeline's log was shown already
result() { # name PASS|FAIL|SKIP detail...
    echo "PEER-RESULT gitlab-ci-local/$1 $2 ${*:3}"
    if [ "$2" = FAIL ]; then
        failures=$((failures + 1))
        if [ "$dumped" = 0 ] && [ -s "${tmp:-}/glcl.log" ]; then
            dumped=1
            tail -n 30 "$tmp/glcl.log" | sed 's/^/    | /'
        fi
    fi
    return 0
}
check() { # name detail command... : PASS if the command succeeds
    local name=$1 detail=$2
    shift 2
    if "$@"; then result "$name" PASS "$detail"; else result "$name" FAIL "$detail"; fi
}

# --- what the check needs -----------------------------------------------------------
want=4.70.0
have=$(gitlab-ci-local --version 2>/dev/null | tail -n1)
if [ "$have" != "$want" ]; then
    result setup SKIP "gitlab-ci-local $want is not installed (found '${have:-nothing}'); ./test.sh installs it"
    exit 0
fi
for tool in rsync git python3 curl openssl; do
    if ! command -v "$tool" >/dev/null; then
        result setup SKIP "$tool is not installed (gitlab-ci-local needs rsync; ./test.sh installs it)"
        exit 0
    fi
done

# The binary the template runs: this tree's, built unless it is up to date.
target=${CARGO_TARGET_DIR:-$root/target}
if ! cargo build --quiet -p faultline --bin faultline; then
    result build FAIL "cargo build -p faultline failed"
    exit 1
fi
bin=$target/debug/faultline

tmp=$(mktemp -d -t faultline-glcl.XXXXXX)
pids=()
cleanup() {
    # SIGCONT first: a process left stopped by a failed recovery does not die of SIGTERM.
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ "${FAULTLINE_PEER_KEEP:-}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() { # url: up to 20 s
    for _ in $(seq 200); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# --- the system under test, a fault target and the service ------------------------------
mkdir -p "$tmp/www" "$tmp/bin" "$tmp/home"
echo '<h1>checkout</h1>' >"$tmp/www/index.html"
web_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$web_port" >"$tmp/web.log" 2>&1 &
pids+=($!)
sleep 300 &
sleeper=$!
pids+=($sleeper)

operator=op-$(od -An -tx8 -N16 /dev/urandom | tr -d ' \n')
viewer=view-$(od -An -tx8 -N16 /dev/urandom | tr -d ' \n')
printf 'operator:%s\nviewer:%s\n' "$operator" "$viewer" >"$tmp/tokens"
fl_port=$(free_port)

# A GitLab stand-in for ID tokens: an RSA key, its discovery document and JWKS served by a
# python3 http.server, and a trust policy for project 42's protected main.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
mkdir -p "$tmp/issuer/.well-known" "$tmp/issuer/oauth/discovery"
openssl genrsa -out "$tmp/id-key.pem" 2048 2>/dev/null
iss_port=$(free_port)
issuer="http://127.0.0.1:$iss_port"
modulus=$(openssl rsa -in "$tmp/id-key.pem" -noout -modulus | cut -d= -f2)
n=$(python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$modulus" | b64url)
printf '{"issuer":"%s","jwks_uri":"%s/oauth/discovery/keys"}' "$issuer" "$issuer" \
    >"$tmp/issuer/.well-known/openid-configuration"
printf '{"keys":[{"kty":"RSA","kid":"peer-key","use":"sig","alg":"RS256","n":"%s","e":"AQAB"}]}' "$n" \
    >"$tmp/issuer/oauth/discovery/keys"
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/issuer" "$iss_port" >"$tmp/issuer.log" 2>&1 &
pids+=($!)
cat >"$tmp/id-tokens.yaml" <<EOF
issuer: $issuer
audience: http://127.0.0.1:$fl_port
policies:
  - name: checkout-main
    claims: { project_id: "42", ref: main, ref_protected: "true" }
    experiments: ["checkout-*"]
    namespaces: ["*"]
EOF
# id_token AUD: a job token of project 42 on main, GitLab's claims, signed RS256 by openssl.
id_token() {
    local now header payload input
    now=$(date +%s)
    header=$(printf '{"alg":"RS256","typ":"JWT","kid":"peer-key"}' | b64url)
    payload=$(printf '{"namespace_id":"7","namespace_path":"shop","project_id":"42","project_path":"shop/checkout","user_id":"3","user_login":"alice","user_email":"alice@example.org","pipeline_id":"574","pipeline_source":"push","job_id":"9001","ref":"main","ref_type":"branch","ref_path":"refs/heads/main","ref_protected":"true","runner_id":1,"runner_environment":"self-hosted","sha":"714a629c0b401fdce83e847fc9589983fc6f46bc","jti":"%s","iss":"%s","iat":%d,"nbf":%d,"exp":%d,"sub":"project_path:shop/checkout:ref_type:branch:ref:main","aud":"%s"}' \
        "$(od -An -tx8 -N16 /dev/urandom | tr -d ' \n')" "$issuer" "$now" "$((now - 5))" "$((now + 300))" "$1" | b64url)
    input="$header.$payload"
    printf '%s.%s' "$input" "$(printf '%s' "$input" | openssl dgst -sha256 -sign "$tmp/id-key.pem" | b64url)"
}

"$bin" serve --listen "127.0.0.1:$fl_port" --state-dir "$tmp/state" --tokens-file "$tmp/tokens" \
    --id-token-config "$tmp/id-tokens.yaml" >"$tmp/serve.log" 2>&1 &
pids+=($!)
if ! wait_http "http://127.0.0.1:$web_port/" || ! wait_http "http://127.0.0.1:$fl_port/healthz" ||
    ! wait_http "$issuer/.well-known/openid-configuration"; then
    result setup FAIL "faultline serve or the web server did not come up: $(tail -n5 "$tmp/serve.log")"
    exit 1
fi
# gitlab-ci-local runs jobs with this PATH: only this tree's faultline on it.
ln -s "$bin" "$tmp/bin/faultline"

# --- the repository gitlab-ci-local runs ---------------------------------------------
repo=$tmp/repo
mkdir -p "$repo/ci" "$repo/experiments"
cp ci/faultline.gitlab-ci.yml ci/example.gitlab-ci.yml "$repo/ci/"
cp ci/example.gitlab-ci.yml "$repo/.gitlab-ci.yml"
git -C "$repo" init -q -b main
gitc() { git -C "$repo" -c user.name=faultline-test -c user.email=test@faultline.invalid "$@"; }

# experiment NAME EXTRA_CHECKS: pauses the sleeper for 2 s; availability of the web
# server's / holds throughout. EXTRA_CHECKS is YAML appended to steadyState.
experiment() {
    cat <<EOF
apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: { name: $1 }
spec:
  target: { local: { pid: $sleeper } }
  steadyState:
    - name: availability
      http: { url: "http://127.0.0.1:$web_port/", every: 200ms, timeout: 1s }
      expect: ">= 0.99"
$2
  steps:
    - name: pause-bystander
      processPause: {}
      duration: 2s
EOF
}

# pipeline [JOB...]: commits the repository and runs gitlab-ci-local in it; the exit code
# is gitlab-ci-local's, its output is in $tmp/glcl.log.
pipeline() {
    # Nothing from an earlier pipeline may pass for this one's artifacts: the pipeline's
    # files are committed, everything else (the state dir, reports) is removed, and (below)
    # artifacts are not copied back into the repository.
    gitc add .gitlab-ci.yml ci experiments && gitc commit -q --allow-empty -m "pipeline under test"
    gitc clean -fdxq
    dumped=0
    (
        cd "$repo" &&
            PATH="$tmp/bin:$PATH" timeout 100 gitlab-ci-local --home "$tmp/home" \
                --force-shell-executor --shell-isolation --no-artifacts-to-source \
                --variable "FAULTLINE_URL=http://127.0.0.1:$fl_port" \
                --variable "FAULTLINE_TOKEN=${token:-$operator}" \
                --variable "STAGING_URL=http://127.0.0.1:$web_port" \
                "$@"
    ) >"$tmp/glcl.log" 2>&1
}

art=$repo/.gitlab-ci-local/artifacts/chaos
out=$repo/.gitlab-ci-local/output

# junit FILE: the JUnit cases and failures as `name<TAB>failed|ok|error` lines (an XML
# parser, so a malformed file fails here).
junit_cases() {
    python3 - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
assert suites, "no <testsuite>"
for s in suites:
    for c in s.findall("testcase"):
        state = "failed" if c.find("failure") is not None else "error" if c.find("error") is not None else "ok"
        print(f"{c.get('name')}\t{state}")
EOF
}
# metrics_well_formed FILE: every series line is `name{labels} value`, the file ends with
# `# EOF`, and promtool (Prometheus' own linter) accepts it when it is installed.
metrics_well_formed() {
    [ "$(tail -n1 "$1")" = "# EOF" ] || return 1
    grep -v '^#' "$1" | grep -qvE '^[a-z_]+\{[^}]*\} -?[0-9.e+-]+$' && return 1
    if command -v promtool >/dev/null; then promtool check metrics <"$1" >/dev/null || return 1; fi
    return 0
}

# --- 1. a passing experiment: the whole pipeline passes and promote runs ---------------
experiment checkout-staging "" >"$repo/experiments/checkout-staging.yaml"
started=$(date +%s)
pipeline
rc=$?
log=$(cat "$tmp/glcl.log")
check pass/pipeline "gitlab-ci-local exit $rc (want 0) for build, deploy-staging, chaos, promote" \
    [ "$rc" = 0 ]
check pass/chaos-job "the chaos job passed" grep -qE '^ PASS +chaos' "$tmp/glcl.log"
check pass/verdict "the job log streams the run and shows the verdict table" \
    bash -c 'grep -q "verdict: passed" "$1" && grep -q "+ processPause" "$1" &&
        grep -qE "^check +phase +value +min +max +expect +result" "$1" &&
        grep -qE "^availability +during .* ok$" "$1"' _ "$out/chaos.log"
check pass/promote "promote ran after the passed chaos job" \
    grep -q "promoting checkout" "$out/promote.log"
check pass/no-token-in-log "the job log never shows the token" \
    bash -c '! grep -qF "$1" "$2"' _ "$operator" "$tmp/glcl.log"
cases=$(junit_cases "$art/report.xml" 2>&1)
check pass/junit "report.xml is JUnit with a passing case per check and phase, fault and verdict" \
    bash -c 'for c in "availability (before)" "availability (during)" "availability (after)" verdict; do
        grep -qxF "$(printf "%s\tok" "$c")" <<<"$1" || exit 1; done
        grep -qP "^processPause on .*\tok$" <<<"$1" && ! grep -qP "\t(failed|error)$" <<<"$1"' _ "$cases"
check pass/html "report.html is the run's HTML report" \
    grep -q "checkout-staging" "$art/report.html"
check pass/metrics "metrics.txt has every phase's value, the verdict and the duration" \
    bash -c 'for p in before during after; do
        grep -qE "^faultline_check_value\{check=\"availability\",experiment=\"checkout-staging\",phase=\"$p\"\} (1|0\.99[0-9]*)$" "$1" || exit 1
        grep -qxF "faultline_check_ok{check=\"availability\",experiment=\"checkout-staging\",phase=\"$p\"} 1" "$1" || exit 1
    done
    grep -qxF "faultline_run_verdict{experiment=\"checkout-staging\",verdict=\"passed\"} 1" "$1" &&
    grep -qE "^faultline_run_duration_seconds\{experiment=\"checkout-staging\"\} [0-9.]+$" "$1"' \
    _ "$art/metrics.txt"
check pass/metrics-format "metrics.txt is name{labels} value lines ending in # EOF$(command -v promtool >/dev/null && echo ', promtool check metrics accepts it')" \
    metrics_well_formed "$art/metrics.txt"
check pass/resumed "the paused sleeper runs again after the experiment" \
    bash -c '[ "$(awk "{print \$3}" /proc/$1/stat)" != T ]' _ "$sleeper"

# --- 2. a failing experiment: chaos fails with 1, promote does not run ------------------
# The catalog page does not exist (404): that check is not met while the fault is on.
experiment checkout-staging '    - name: catalog
      http: { url: "http://127.0.0.1:'"$web_port"'/catalog.json", every: 200ms, timeout: 1s }
      expect: ">= 0.99"
      phases: [during]' >"$repo/experiments/checkout-staging.yaml"
pipeline
rc=$?
check fail/pipeline "gitlab-ci-local exit $rc (want non-zero)" [ "$rc" != 0 ]
check fail/chaos-job "the chaos job failed with the verdict's exit code 1" \
    grep -qE '^chaos +finished in .* FAIL 1 *$' "$tmp/glcl.log"
check fail/promote "promote did not run after the failed chaos job" \
    bash -c '! grep -q "promote *starting" "$1" && [ ! -e "$2" ]' _ "$tmp/glcl.log" "$out/promote.log"
check fail/verdict "the job log shows the failed verdict and the unmet check" \
    bash -c 'grep -q "verdict: failed" "$1" && grep -qE "^catalog +during .*NOT MET" "$1"' _ "$out/chaos.log"
cases=$(junit_cases "$art/report.xml" 2>&1)
check fail/junit "report.xml (uploaded on failure) fails the catalog case and the verdict, passes availability" \
    bash -c 'grep -qxF "$(printf "catalog (during)\tfailed")" <<<"$1" &&
        grep -qxF "$(printf "verdict\tfailed")" <<<"$1" &&
        grep -qxF "$(printf "availability (during)\tok")" <<<"$1"' _ "$cases"
check fail/html "report.html is uploaded on failure" grep -q "catalog" "$art/report.html"
check fail/metrics "metrics.txt (uploaded on failure) records the failed check and verdict" \
    bash -c 'grep -qxF "faultline_check_ok{check=\"catalog\",experiment=\"checkout-staging\",phase=\"during\"} 0" "$1" &&
        grep -qxF "faultline_check_value{check=\"catalog\",experiment=\"checkout-staging\",phase=\"during\"} 0" "$1" &&
        grep -qxF "faultline_run_verdict{experiment=\"checkout-staging\",verdict=\"failed\"} 1" "$1"' _ "$art/metrics.txt"
check fail/metrics-format "metrics.txt of the failed run is well formed" metrics_well_formed "$art/metrics.txt"

# --- 3. a token the server refuses (viewer role): exit 2, not a verdict ----------------
token=$viewer pipeline chaos
rc=$?
check refused/chaos-job "the chaos job failed with exit code 2 (gitlab-ci-local exit $rc)" \
    bash -c '[ "$1" != 0 ] && grep -qE "^chaos +finished in .* FAIL 2 *$" "$2" && grep -q "403" "$2"' \
    _ "$rc" "$tmp/glcl.log"

# --- 4. the job's ID token in place of the static token ---------------------------------
experiment checkout-staging "" >"$repo/experiments/checkout-staging.yaml"
jwt=$(id_token "http://127.0.0.1:$fl_port")
token=$viewer pipeline --variable "FAULTLINE_ID_TOKEN=$jwt" chaos
rc=$?
check id-token/chaos-job "with a viewer's static token beside it, the job's ID token started the run and it passed (gitlab-ci-local exit $rc)" \
    bash -c '[ "$1" = 0 ] && grep -q "calling with the GitLab CI ID token" "$2" && grep -q "verdict: passed" "$2"' \
    _ "$rc" "$out/chaos.log"
run=$(grep -oE 'run [0-9a-f]+ created' "$out/chaos.log" | awk '{print $2}' | tail -n1)
check id-token/recorded "the run records the job the token names (project 42, job 9001, ref main)" \
    bash -c 'curl -fsS -H "Authorization: Bearer $1" "$2/api/v1/runs/$3" | python3 -c "
import json, sys
g = json.load(sys.stdin)[\"gitlab\"]
assert (g[\"event\"], g[\"projectId\"], g[\"jobId\"], g[\"gitRef\"]) == (\"ci\", 42, 9001, \"main\"), g
"' _ "$viewer" "http://127.0.0.1:$fl_port" "${run:-none}"
check id-token/no-token-in-log "neither the job log nor serve's log shows the ID token" \
    bash -c '! grep -qF "$1" "$2" "$3"' _ "${jwt##*.}" "$tmp/glcl.log" "$tmp/serve.log"
jwt=$(id_token "https://vault.example.org")
token=$operator pipeline --variable "FAULTLINE_ID_TOKEN=$jwt" chaos
rc=$?
check id-token/audience "a token for another audience: exit 2 naming the check, though an operator token is beside it" \
    bash -c '[ "$1" != 0 ] && grep -qE "^chaos +finished in .* FAIL 2 *$" "$2" && grep -q "ID token refused (audience)" "$2"' \
    _ "$rc" "$tmp/glcl.log"

echo "gitlab-ci-local check took $(($(date +%s) - started)) s"
[ "$failures" = 0 ]
