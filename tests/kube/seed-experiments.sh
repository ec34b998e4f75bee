#!/usr/bin/env bash
# Opt-in real-cluster suite (test.sh's `kube` tier, only when KUBECONFIG is set): installs
# the chart on the cluster KUBECONFIG points at and runs the seed talk's experiments —
# StressChaos CPU and memory, NetworkChaos delay, the pod-kill -> pod-failure Workflow —
# unchanged, through `faultline trigger`, against an nginx Deployment in namespace `final`
# as the talk had it. Prints one `KUBE-RESULT <name> PASS|FAIL <detail>` per assertion.
#
# Needs: kubectl; the Helm SDK (pip helm-python-sdk, as the peers tier); the images built
# from the repository's Dockerfile and pushed where the cluster can pull them:
#   FAULTLINE_IMAGE=registry/faultline:tag FAULTLINE_AGENT_IMAGE=registry/faultline-agent:tag
# No Kubernetes API server can run on the machines this project is developed on, so this
# script has not been run there; it is kept to the kubectl commands every cluster accepts.
set -uo pipefail
cd "$(dirname "$0")/../.."

ns=faultline-e2e
target_ns=final
status=0
result() { echo "KUBE-RESULT $1 $2 ${*:3}"; [ "$2" = PASS ] || status=1; }

for need in kubectl python3; do
    command -v "$need" >/dev/null || { result setup FAIL "$need is not installed"; exit 1; }
done
if [ -z "${FAULTLINE_IMAGE:-}" ] || [ -z "${FAULTLINE_AGENT_IMAGE:-}" ]; then
    result setup FAIL "set FAULTLINE_IMAGE and FAULTLINE_AGENT_IMAGE to images built with the Dockerfile (--target service / agent)"
    exit 1
fi
work=$(mktemp -d)
pf=""
cleanup() {
    [ -n "$pf" ] && kill "$pf" 2>/dev/null
    kubectl delete namespace "$target_ns" "$ns" --ignore-not-found --wait=false >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
python3 - "$work/manifests.yaml" "$ns" "$token" <<'PY'
import sys, yaml, helm_python as helm
out, ns, token = sys.argv[1:]
svc_repo, svc_tag = __import__("os").environ["FAULTLINE_IMAGE"].rsplit(":", 1)
agent_repo, agent_tag = __import__("os").environ["FAULTLINE_AGENT_IMAGE"].rsplit(":", 1)
values = {
    "image": {"repository": svc_repo, "tag": svc_tag},
    "agent": {"image": {"repository": agent_repo, "tag": agent_tag}},
    "auth": {"tokens": [{"role": "operator", "token": token}]},
}
chart = helm.Chart.load("deploy/faultline")
docs = []
for name, text in sorted(chart.render(values, name="faultline", namespace=ns, is_install=True).items()):
    if not name.endswith("NOTES.txt"):
        docs.extend(d for d in yaml.safe_load_all(text) if d)
with open(out, "w") as f:
    yaml.safe_dump_all(docs, f)
PY
[ -s "$work/manifests.yaml" ] && result render PASS "chart rendered with the Helm SDK" || { result render FAIL "chart did not render"; exit 1; }

kubectl create namespace "$ns" >/dev/null 2>&1
kubectl create namespace "$target_ns" >/dev/null 2>&1
if kubectl apply -n "$ns" -f "$work/manifests.yaml" >"$work/apply.log" 2>&1; then
    result install PASS "kubectl apply of the rendered chart"
else
    result install FAIL "$(tail -3 "$work/apply.log")"; exit 1
fi
kubectl -n "$ns" rollout status deployment/faultline --timeout=180s >/dev/null 2>&1 \
    && result service-ready PASS "service Deployment rolled out" || result service-ready FAIL "service not ready in 180 s"
kubectl -n "$ns" rollout status daemonset/faultline-agent --timeout=180s >/dev/null 2>&1 \
    && result agents-ready PASS "agent DaemonSet ready on every node" || result agents-ready FAIL "agents not ready in 180 s"

# The talk's system under test: nginx in namespace `final`.
kubectl -n "$target_ns" create deployment nginx --image=nginx:1.27 --replicas=2 >/dev/null 2>&1
kubectl -n "$target_ns" rollout status deployment/nginx --timeout=180s >/dev/null 2>&1 \
    && result nginx PASS "nginx in $target_ns" || result nginx FAIL "nginx not ready"

port=18080
kubectl -n "$ns" port-forward svc/faultline "$port:8080" >/dev/null 2>&1 &
pf=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

cargo build -q -p faultline 2>/dev/null
bin=${CARGO_TARGET_DIR:-target}/debug/faultline
for exp in examples/chaos-mesh/{stress-cpu,stress-memory,network-delay,workflow}.yaml; do
    name=$(basename "$exp" .yaml)
    FAULTLINE_TOKEN=$token timeout 900 "$bin" trigger --server "http://127.0.0.1:$port" --wait \
        --timeout 10m --junit "$work/$name.xml" "$exp" >"$work/$name.log" 2>&1
    code=$?
    if [ "$code" = 0 ] && [ -s "$work/$name.xml" ]; then
        result "seed/$name" PASS "passed; JUnit written"
    else
        result "seed/$name" FAIL "exit $code: $(tail -2 "$work/$name.log" | tr '\n' ' ')"
    fi
done
# No fault outlives its run: every pod runs its own image again and none carries
# faultline's podFailure label.
left=$(kubectl -n "$target_ns" get pods -l faultline.dev/pod-failure -o name 2>/dev/null | wc -l)
[ "$left" = 0 ] && result no-leftovers PASS "no pod still marked by podFailure" || result no-leftovers FAIL "$left pod(s) still failed"
exit $status
