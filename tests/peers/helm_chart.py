#!/usr/bin/env python3
"""The Helm chart (deploy/faultline) against Helm's own Go SDK and Kubernetes' schemas.

No API server, no helm binary and no Docker daemon exist here, so this is what can be
checked without them, done with the real peers:

- Helm v4's SDK (PyPI helm-python-sdk): `lint --strict`, render for the default values and
  for overrides, and the values schema refusing bad values with a message naming the field;
- kubernetes-validate: every rendered object against the Kubernetes 1.33 OpenAPI schemas,
  strict (unknown fields are errors); the Prometheus Operator kinds, which it has no schema
  for, are checked here for apiVersion, kind and required fields;
- the security facts a reviewer would check by hand: the agent privileged in the host PID
  namespace with its mounts, the service non-root on a read-only root filesystem, RBAC
  exactly the least-privilege set, NetworkPolicy guarding the agents, the service's agent
  selector matching the DaemonSet;
- that the flags the chart passes exist in the built binaries (`--help`), when built;
- the Dockerfile: its targets, the binaries it copies, and the chart's image values agree.

Prints one `PEER-RESULT <name> PASS|FAIL|SKIP <detail>` line per assertion; exits 1 if any
failed. Run from anywhere: paths are relative to the repository root.
"""

from __future__ import annotations

import base64
import copy
import filecmp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "faultline"
KUBE_VERSION = "1.33.0"
RELEASE, NAMESPACE = "chaos", "faultline"

# Kinds kubernetes-validate has no schema for (CRDs of the Prometheus Operator), with the
# fields their CRDs require (monitoring.coreos.com/v1).
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ["selector", "endpoints"],
    ("monitoring.coreos.com/v1", "PrometheusRule"): ["groups"],
}

# The service's ClusterRole, exactly: (apiGroup, resource, verb, resourceNames).
CLUSTER_RULES = {
    *(("", "pods", v, ()) for v in ("get", "list", "watch", "delete", "patch", "create")),
    ("", "pods/log", "get", ()),
    *(("", "events", v, ()) for v in ("create", "patch")),
    *(("", "namespaces", v, ()) for v in ("get", "list")),
    ("", "pods/eviction", "create", ()),
    *(("", "nodes", v, ()) for v in ("get", "list", "patch")),
}


def leader_rules(lease: str) -> set[tuple[str, str, str, tuple[str, ...]]]:
    """The leader-election Role: create any Lease (it cannot be narrowed by name), read
    and update only the one named by --leader-lease."""
    g = "coordination.k8s.io"
    return {(g, "leases", "create", ()), (g, "leases", "get", (lease,)), (g, "leases", "update", (lease,))}


failures = 0


def result(name: str, ok: bool | None, detail: str) -> None:
    """One PEER-RESULT line; ok=None is a SKIP."""
    global failures
    status = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    failures += ok is False
    print(f"PEER-RESULT {name} {status} {' '.join(detail.split())}", flush=True)


def check(name: str, fn: Callable[[], str]) -> None:
    """Runs `fn`; an AssertionError (or any exception) is a FAIL with its message."""
    try:
        result(name, True, fn())
    except Exception as e:  # noqa: BLE001 - every failure becomes a FAIL line
        result(name, False, f"{type(e).__name__}: {e}")


def merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# ---- rendering ---------------------------------------------------------------------------

EXISTING = {"auth": {"existingSecret": "ops-faultline-tokens"}}
MONITORING = {
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "prometheusRule": {"enabled": True},
    "networkPolicy": {
        "agentMetricsFrom": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
            }
        ]
    },
}
PERSISTENCE = {"persistence": {"enabled": True, "storageClass": "fast", "size": "5Gi"}}
# Issue 27: HTTPS for the API, mutual TLS between the service and the agents.
TLS = {
    "tls": {
        "serve": {"enabled": True, "secretName": "faultline-api-tls"},
        "agents": {
            "enabled": True,
            "secretName": "faultline-agent-tls",
            "mutual": True,
            "clientSecretName": "faultline-agent-client-tls",
        },
    },
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
}
REPLICAS = {"replicaCount": 2}
# `replicas`, the deprecated alias of replicaCount, still works.
REPLICAS_ALIAS = {"replicas": 2}
EVERYTHING = merge(
    merge(merge(MONITORING, REPLICAS), TLS),
    {
        "persistence": {"enabled": True, "accessModes": ["ReadWriteMany"]},
        "kubernetes": {"qps": 200, "burst": 400},
        "protectedNamespaces": ["kube-system", "monitoring"],
        "maxDuration": "2h30m",
        "prometheus": {"url": "http://prometheus.monitoring:9090"},
        "grafana": {
            "url": "http://grafana.monitoring",
            "tokenSecret": {"name": "grafana-sa"},
            "dashboardUid": "faultline-overview",
        },
        "publicUrl": "https://faultline.example.org",
        "tracing": {"otlpEndpoint": "http://otel-collector.monitoring:4318"},
        "notify": {"config": {"slack": {"webhooks": {"team-sre": "https://hooks.slack.com/x"}}}},
        "auth": {
            "tokens": [{"role": "operator", "token": "ci-token-0123456789abcdef"}],
            "agentToken": "agent-token-0123456789abcdef",
        },
        "networkPolicy": {"apiFrom": [{"namespaceSelector": {"matchLabels": {"ci": "true"}}}]},
        "agent": {"priorityClassName": "system-node-critical", "port": 7151},
    },
)
# Several replicas on PostgreSQL (issue 27): the bundled StatefulSet, and an external one.
HA_BUNDLED = {"replicaCount": 3, "store": {"type": "postgres", "postgres": {"bundled": {"enabled": True}}}}
HA_EXTERNAL = {
    "replicaCount": 3,
    "store": {
        "type": "postgres",
        "leaseTtl": "8s",
        "postgres": {
            "url": "postgres://faultline@db.example.org:5432/faultline?sslmode=verify-full"
            "&sslrootcert=/etc/faultline/store-tls/ca.crt"
            "&sslcert=/etc/faultline/store-tls/tls.crt&sslkey=/etc/faultline/store-tls/tls.key",
            "passwordSecret": {"name": "faultline-db", "key": "pw"},
            "tlsSecret": {"name": "faultline-db-tls", "clientCert": True},
        },
    },
}
CASES: dict[str, dict] = {
    "default": {},
    "monitoring": MONITORING,
    "existing-secret": EXISTING,
    "persistence": PERSISTENCE,
    "replicas-2": REPLICAS,
    "replicas-alias": REPLICAS_ALIAS,
    "everything": EVERYTHING,
    "tls": TLS,
    "ha-bundled": HA_BUNDLED,
    "ha-external": HA_EXTERNAL,
}


def render(chart: helm.Chart, values: dict) -> list[dict]:
    """Every object the chart renders with `values`, in template order."""
    out = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objs = []
    for template, text in sorted(out.items()):
        if template.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc["__template"] = template
                objs.append(doc)
    return objs


def one(objs: list[dict], kind: str, pred: Callable[[dict], bool] = lambda o: True) -> dict:
    found = [o for o in objs if o["kind"] == kind and pred(o)]
    assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
    return found[0]


def deployment(objs):
    return one(objs, "Deployment")


def daemonset(objs):
    return one(objs, "DaemonSet")


def container(workload: dict) -> dict:
    cs = workload["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1, f"{workload['kind']} has {len(cs)} containers"
    return cs[0]


def flags(c: dict) -> dict[str, list[str]]:
    """`--name=value` args as {name: [values]} (a bare `--name` has value "")."""
    out: dict[str, list[str]] = {}
    for a in c.get("args", []):
        if a.startswith("--"):
            k, _, v = a[2:].partition("=")
            out.setdefault(k, []).append(v)
    return out


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def mount_for(workload: dict, path: str) -> tuple[dict, dict]:
    """The volumeMount that holds `path` (longest prefix) and its volume."""
    c = container(workload)
    mounts = [
        m
        for m in c.get("volumeMounts", [])
        if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")
    ]
    assert mounts, f"nothing is mounted at {path}"
    m = max(mounts, key=lambda m: len(m["mountPath"]))
    vols = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    return m, vols[m["name"]]


def secret_file(workload: dict, path: str) -> tuple[str, str]:
    """(secret name, key) that the file at `path` comes from."""
    m, v = mount_for(workload, path)
    assert "secret" in v, f"{path} is not from a Secret volume"
    rel = os.path.relpath(path, m["mountPath"])
    items = {i["path"]: i["key"] for i in v["secret"].get("items", [])}
    assert rel in items, f"{path}: the Secret volume {v['name']} projects {sorted(items)}, not {rel}"
    return v["secret"]["secretName"], items[rel]


def rules_of(role: dict) -> set[tuple[str, str, str, tuple[str, ...]]]:
    out = set()
    for r in role["rules"]:
        names = tuple(sorted(r.get("resourceNames", [])))
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    assert "*" not in (g, res, v), f"wildcard in {role['kind']} {role['metadata']['name']}"
                    # RBAC never matches a create against resourceNames: such a grant is dead.
                    assert not (v == "create" and names), f"create on {res} narrowed by name never applies"
                    out.add((g, res, v, names))
    return out


# ---- assertions per rendered case --------------------------------------------------------


def validate_all(case: str, objs: list[dict]) -> None:
    bad, crd = [], 0
    for o in objs:
        obj = {k: v for k, v in o.items() if k != "__template"}
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key in CRD_KINDS:
            crd += 1
            missing = [f for f in CRD_KINDS[key] if not obj.get("spec", {}).get(f)]
            if not obj.get("metadata", {}).get("name") or missing:
                bad.append(f"{key[1]}: missing metadata.name or spec.{missing}")
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            bad.append(
                f"{o['__template']} {obj['kind']}/{obj['metadata'].get('name')}: "
                f"{e.message} at {list(e.path)}"
            )
        except kubernetes_validate.SchemaNotFoundError:
            bad.append(f"{obj['kind']} {obj['apiVersion']}: no Kubernetes {KUBE_VERSION} schema")
    result(
        f"k8s-validate-{case}",
        not bad,
        "; ".join(bad)
        if bad
        else f"{len(objs) - crd} objects valid against Kubernetes {KUBE_VERSION} (strict), {crd} Prometheus Operator objects checked by hand",
    )


def check_agent(case: str, objs: list[dict], values: dict) -> None:
    ds = daemonset(objs)
    pod = ds["spec"]["template"]["spec"]
    c = container(ds)
    f = flags(c)
    port = values["agent"]["port"]

    def privileged() -> str:
        sc = c.get("securityContext", {})
        assert sc.get("privileged") is True, "container not privileged"
        assert sc.get("runAsUser") == 0, f"runAsUser {sc.get('runAsUser')}, not 0"
        assert pod.get("hostPID") is True, "hostPID is not true"
        assert not pod.get("hostNetwork"), "hostNetwork must stay off (the NetworkPolicy guards the pod IP)"
        assert pod.get("automountServiceAccountToken") is False, "the pod mounts a service-account token"
        return "privileged, root, hostPID, no hostNetwork, no API token"

    def mounts() -> str:
        want = {"/sys/fs/cgroup": ("/sys/fs/cgroup", False), "/lib/modules": ("/lib/modules", True)}
        for path, (host, ro) in want.items():
            m, v = mount_for(ds, path)
            assert m["mountPath"] == path and v.get("hostPath", {}).get("path") == host, (
                f"{path} is not hostPath {host}"
            )
            assert bool(m.get("readOnly")) == ro, f"{path} readOnly={m.get('readOnly')}, want {ro}"
        state = f["state-dir"][0]
        m, v = mount_for(ds, state)
        assert v.get("hostPath", {}).get("path") == values["agent"]["stateHostPath"], (
            f"--state-dir {state} is not on the host"
        )
        assert not m.get("readOnly"), "the journal is read-only"
        assert not any(m["mountPath"] == "/proc" for m in c["volumeMounts"]), (
            "/proc mounted (hostPID already gives the node's)"
        )
        return (
            f"/sys/fs/cgroup rw, /lib/modules ro, journal {state} on host {values['agent']['stateHostPath']}"
        )

    def args() -> str:
        assert f.get("listen") == [f"0.0.0.0:{port}"], f"--listen {f.get('listen')}"
        assert [p["containerPort"] for p in c["ports"]] == [port], f"ports {c['ports']}"
        name, key = secret_file(ds, f["token-file"][0])
        v = pod["volumes"]
        projected = [
            i["key"]
            for vol in v
            if vol.get("secret", {}).get("secretName") == name
            for i in vol["secret"].get("items", [])
        ]
        assert projected == ["agent-token"], f"the agent sees secret keys {projected}, want only agent-token"
        tol = pod.get("tolerations", [])
        assert {"operator": "Exists"} in tol, f"tolerations {tol} do not reach every node"
        otlp = values["tracing"]["otlpEndpoint"]
        assert f.get("otlp-endpoint") == ([otlp] if otlp else None), f"--otlp-endpoint {f.get('otlp-endpoint')}"
        return (
            f"--listen 0.0.0.0:{port}, token from {name}/{key} only, tolerates every taint, "
            f"traces {'to ' + otlp if otlp else 'off'}"
        )

    check(f"agent-privileges-{case}", privileged)
    check(f"agent-mounts-{case}", mounts)
    check(f"agent-args-{case}", args)


def check_service(case: str, objs: list[dict], values: dict) -> None:
    dep, ds = deployment(objs), daemonset(objs)
    pod = dep["spec"]["template"]["spec"]
    c = container(dep)
    f = flags(c)

    def hardening() -> str:
        psc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"pod securityContext {psc}"
        assert sc.get("readOnlyRootFilesystem") is True, "root filesystem writable"
        assert sc.get("allowPrivilegeEscalation") is False, "privilege escalation allowed"
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"capabilities {sc.get('capabilities')}"
        assert not sc.get("privileged"), "privileged"
        assert not (pod.get("hostPID") or pod.get("hostNetwork")), "host namespaces"
        return f"uid {psc['runAsUser']}, read-only root, no escalation, all capabilities dropped"

    def args() -> str:
        a = c["args"]
        assert "serve" in a and "--kubernetes" in a, f"args {a}"
        assert a.index("serve") < a.index("--kubernetes"), "--kubernetes before the subcommand"
        assert f["listen"] == ["0.0.0.0:8080"], f"--listen {f['listen']}"
        for flag, key in (("tokens-file", "tokens"), ("agent-token-file", "agent-token")):
            name, k = secret_file(dep, f[flag][0])
            assert k == key, f"--{flag} reads key {k}"
            want = values["auth"]["existingSecret"] or f"{RELEASE}-faultline-tokens"
            assert name == want, f"--{flag} from Secret {name}, want {want}"
        m, v = mount_for(dep, f["state-dir"][0])
        assert not m.get("readOnly") and ("emptyDir" in v or "persistentVolumeClaim" in v), (
            f"state dir on {v}"
        )
        prot = set(f.get("protect-namespace", []))
        assert {"kube-system", NAMESPACE} <= prot, f"protected {prot}"
        env = {e["name"]: e for e in c.get("env", [])}
        assert (
            env.get("POD_NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            == "metadata.namespace"
        ), "POD_NAMESPACE not from the downward API"
        otlp = values["tracing"]["otlpEndpoint"]
        assert f.get("otlp-endpoint") == ([otlp] if otlp else None), f"--otlp-endpoint {f.get('otlp-endpoint')}"
        return (
            f"serve --kubernetes, tokens from Secret {name}, protects {sorted(prot)}, "
            f"POD_NAMESPACE from the downward API, traces {'to ' + otlp if otlp else 'off'}"
        )

    def agent_selector() -> str:
        sel = dict(kv.split("=", 1) for kv in f["agent-selector"][0].split(","))
        labels = ds["spec"]["template"]["metadata"]["labels"]
        assert selects(sel, labels), f"--agent-selector {sel} does not match the agent pods {labels}"
        assert not selects(sel, dep["spec"]["template"]["metadata"]["labels"]), (
            "--agent-selector also matches the service pods"
        )
        assert labels.get("app.kubernetes.io/name") == "faultline-agent", (
            "agent pods lack the default --agent-selector label"
        )
        assert f["agent-namespace"] == [ds["metadata"]["namespace"]], (
            f"--agent-namespace {f['agent-namespace']}"
        )
        assert f["agent-port"] == [str(container(ds)["ports"][0]["containerPort"])], (
            f"--agent-port {f['agent-port']}"
        )
        return (
            f"--agent-selector {f['agent-selector'][0]} selects the DaemonSet's pods only, "
            f"port {f['agent-port'][0]}"
        )

    def probes() -> str:
        lp, rp = c["livenessProbe"]["httpGet"], c["readinessProbe"]["httpGet"]
        assert (lp["path"], rp["path"]) == ("/healthz", "/readyz"), f"probes {lp['path']} {rp['path']}"
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports.get(lp["port"]) == 8080 == ports.get(rp["port"]), f"probe port {lp['port']}"
        svc = one(objs, "Service", lambda o: o["spec"].get("clusterIP") != "None")
        assert selects(svc["spec"]["selector"], dep["spec"]["template"]["metadata"]["labels"]), (
            "Service selects other pods"
        )
        assert svc["spec"]["ports"][0]["targetPort"] in ports, "Service targetPort is not a container port"
        return "liveness /healthz, readiness /readyz on 8080; the Service selects the service pods"

    check(f"service-hardening-{case}", hardening)
    check(f"service-args-{case}", args)
    check(f"service-agent-selector-{case}", agent_selector)
    check(f"service-probes-{case}", probes)


def check_rbac(case: str, objs: list[dict]) -> None:
    dep, ds = deployment(objs), daemonset(objs)
    sa = dep["spec"]["template"]["spec"]["serviceAccountName"]
    agent_sa = ds["spec"]["template"]["spec"]["serviceAccountName"]

    def rbac() -> str:
        cr, role = one(objs, "ClusterRole"), one(objs, "Role")
        got = rules_of(cr)
        assert got == CLUSTER_RULES, (
            f"ClusterRole extra {sorted(got - CLUSTER_RULES)} missing {sorted(CLUSTER_RULES - got)}"
        )
        lease = flags(container(dep))["leader-lease"][0]
        got, want = rules_of(role), leader_rules(lease)
        assert got == want, f"Role extra {sorted(got - want)} missing {sorted(want - got)}"
        assert role["metadata"]["namespace"] == NAMESPACE, "leader Role outside the release namespace"
        for binding, target in (("ClusterRoleBinding", cr), ("RoleBinding", role)):
            b = one(objs, binding)
            assert b["roleRef"]["name"] == target["metadata"]["name"], (
                f"{binding} binds {b['roleRef']['name']}"
            )
            subjects = [(s["kind"], s["name"], s.get("namespace")) for s in b["subjects"]]
            assert subjects == [("ServiceAccount", sa, NAMESPACE)], f"{binding} subjects {subjects}"
        bound = [
            o
            for o in objs
            if o["kind"].endswith("Binding") and any(s["name"] == agent_sa for s in o["subjects"])
        ]
        assert not bound, "the agent's service account is bound to a role"
        asa = one(objs, "ServiceAccount", lambda o: o["metadata"]["name"] == agent_sa)
        assert asa.get("automountServiceAccountToken") is False, "agent ServiceAccount automounts its token"
        return f"ClusterRole {len(CLUSTER_RULES)} grants, Role: create leases, get/update Lease {lease} only; bound to {sa} only; agent account {agent_sa} bound to nothing"

    check(f"rbac-least-privilege-{case}", rbac)


def check_network_policy(case: str, objs: list[dict], values: dict) -> None:
    dep, ds = deployment(objs), daemonset(objs)
    agent_labels = ds["spec"]["template"]["metadata"]["labels"]
    server_labels = dep["spec"]["template"]["metadata"]["labels"]
    agent_ports = {p["name"]: p["containerPort"] for p in container(ds)["ports"]}

    def agents() -> str:
        pols = [
            p
            for p in objs
            if p["kind"] == "NetworkPolicy" and selects(p["spec"]["podSelector"]["matchLabels"], agent_labels)
        ]
        assert len(pols) == 1, f"{len(pols)} NetworkPolicies select the agent pods"
        spec = pols[0]["spec"]
        assert not selects(spec["podSelector"]["matchLabels"], server_labels), (
            "the agent policy selects the service pods"
        )
        assert spec["policyTypes"] == ["Ingress"] and len(spec["ingress"]) == 1, f"policy {spec}"
        rule = spec["ingress"][0]
        ports = [agent_ports.get(p["port"], p["port"]) for p in rule["ports"]]
        assert ports == [values["agent"]["port"]], f"opens ports {ports}"
        peers = rule["from"]
        assert peers, "ingress from anywhere"
        first = peers[0]
        assert set(first) == {"podSelector"} and selects(
            first["podSelector"]["matchLabels"], server_labels
        ), f"first peer {first}"
        extra = peers[1:]
        assert extra == values["networkPolicy"]["agentMetricsFrom"], f"peers beyond the service: {extra}"
        who = "the service's pods and the metrics scrapers" if extra else "the service's pods only"
        return f"agent port {ports[0]} open to {who}"

    def api() -> str:
        pol = one(
            objs, "NetworkPolicy", lambda p: selects(p["spec"]["podSelector"]["matchLabels"], server_labels)
        )
        rule = pol["spec"]["ingress"]
        assert len(rule) == 1 and [p["port"] for p in rule[0]["ports"]] == ["http"], f"API ingress {rule}"
        assert rule[0].get("from", []) == values["networkPolicy"]["apiFrom"], (
            f"API peers {rule[0].get('from')}"
        )
        return "API port open to " + (
            "the configured peers" if values["networkPolicy"]["apiFrom"] else "anyone"
        )

    check(f"networkpolicy-agents-{case}", agents)
    check(f"networkpolicy-api-{case}", api)


def check_secret(case: str, objs: list[dict], values: dict) -> None:
    def tokens() -> str:
        secrets = [o for o in objs if o["kind"] == "Secret" and "tokens" in o.get("data", {})]
        if values["auth"]["existingSecret"]:
            assert not secrets, "a tokens Secret is rendered although auth.existingSecret is set"
            return f"no Secret rendered; pods use {values['auth']['existingSecret']}"
        (s,) = secrets
        lines = base64.b64decode(s["data"]["tokens"]).decode().splitlines()
        # The rules of faultline's tokens file (service/src/api/auth.rs): `role:token`.
        for line in lines:
            assert re.fullmatch(r"(viewer|operator|admin):[^\s:#]{16,}", line), (
                f"bad tokens line {line.split(':')[0]}:..."
            )
        agent = base64.b64decode(s["data"]["agent-token"]).decode()
        assert len(agent) >= 16 and agent.strip() == agent, "agent token short or padded"
        roles = [line.split(":")[0] for line in lines]
        if values["auth"]["tokens"]:
            assert roles == [t["role"] for t in values["auth"]["tokens"]], f"roles {roles}"
        else:
            assert roles == ["admin", "operator"], f"generated roles {roles}"
        return f"tokens for {roles}, agent token of {len(agent)} characters"

    check(f"secret-tokens-{case}", tokens)


def check_monitoring(case: str, objs: list[dict], values: dict) -> None:
    sms = [o for o in objs if o["kind"] == "ServiceMonitor"]
    rules = [o for o in objs if o["kind"] == "PrometheusRule"]
    if not values["serviceMonitor"]["enabled"]:
        result(
            f"monitoring-off-{case}",
            not sms and not rules,
            f"{len(sms)} ServiceMonitors, {len(rules)} PrometheusRules while disabled",
        )
        return

    def monitors() -> str:
        assert len(sms) == 2, f"{len(sms)} ServiceMonitors"
        services = [o for o in objs if o["kind"] == "Service"]
        scraped = []
        for sm in sms:
            assert selects(values["serviceMonitor"]["labels"], sm["metadata"]["labels"]), (
                "selector labels for Prometheus missing"
            )
            match = [
                s for s in services if selects(sm["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
            ]
            assert len(match) == 1, f"{sm['metadata']['name']} selects {len(match)} Services"
            names = {p["name"] for p in match[0]["spec"]["ports"]}
            for ep in sm["spec"]["endpoints"]:
                assert ep["port"] in names and ep["path"] == "/metrics", f"endpoint {ep}"
            pods = [
                w
                for w in (deployment(objs), daemonset(objs))
                if selects(match[0]["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])
            ]
            assert len(pods) == 1, f"Service {match[0]['metadata']['name']} selects {len(pods)} workloads"
            scraped.append(pods[0]["kind"])
        assert sorted(scraped) == ["DaemonSet", "Deployment"], f"scrapes {scraped}"
        return "a ServiceMonitor each for the service and the agents, through a Service selecting exactly their pods"

    def prometheus_rule() -> str:
        (pr,) = rules
        source = yaml.safe_load((ROOT / "deploy/prometheus/faultline-rules.yml").read_text())
        assert pr["spec"]["groups"] == source["groups"], (
            "the PrometheusRule's groups differ from deploy/prometheus/faultline-rules.yml"
        )
        n = sum(len(g["rules"]) for g in source["groups"])
        promtool = shutil.which("promtool")
        if not promtool:
            return f"{n} rules equal to the source (promtool not installed: not re-checked)"
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as fh:
            yaml.safe_dump({"groups": pr["spec"]["groups"]}, fh)
            fh.flush()
            p = subprocess.run([promtool, "check", "rules", fh.name], capture_output=True, text=True)
            assert p.returncode == 0, p.stdout + p.stderr
        return f"{n} rules equal to the source and pass promtool check rules"

    check(f"servicemonitors-{case}", monitors)
    check(f"prometheusrule-{case}", prometheus_rule)


def check_dashboards(case: str, objs: list[dict]) -> None:
    def dashboards() -> str:
        cm = one(objs, "ConfigMap", lambda o: o["metadata"]["name"].endswith("-dashboards"))
        assert cm["metadata"]["labels"].get("grafana_dashboard") == "1", 'no grafana_dashboard: "1" label'
        sources = {p.name: p.read_text() for p in sorted((ROOT / "dashboards").glob("*.json"))}
        assert sources, "no dashboards/*.json"
        assert cm["data"] == sources, (
            f"ConfigMap keys {sorted(cm['data'])} or contents differ from dashboards/*.json"
        )
        return f"{len(sources)} dashboards, byte-identical to dashboards/*.json, labelled for the sidecar"

    check(f"dashboards-configmap-{case}", dashboards)


def check_case_specific(case: str, objs: list[dict], values: dict) -> None:
    dep = deployment(objs)
    vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    if case == "persistence":

        def pvc() -> str:
            claim = one(objs, "PersistentVolumeClaim")
            assert vols["state"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"], (
                "state volume is not the claim"
            )
            assert (
                claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
                and claim["spec"]["storageClassName"] == "fast"
            ), "claim size/class"
            assert dep["spec"]["strategy"]["type"] == "Recreate", (
                "RollingUpdate with a ReadWriteOnce volume would deadlock on another node"
            )
            return "state on the claim, Recreate strategy for the ReadWriteOnce volume"

        check("persistence-claim", pvc)
    if case == "default":

        def ephemeral() -> str:
            assert "emptyDir" in vols["state"] and not [
                o for o in objs if o["kind"] == "PersistentVolumeClaim"
            ], "state not in an emptyDir"
            assert dep["spec"]["replicas"] == 1, "replicas"
            return "one replica, state in an emptyDir, no claim"

        check("default-state", ephemeral)
    if case == "replicas-2":

        def two() -> str:
            spec = dep["spec"]
            assert spec["replicas"] == 2, f"replicas {spec['replicas']}"
            assert spec["strategy"]["type"] == "RollingUpdate", "Recreate would stop both replicas at once"
            svc = one(objs, "Service", lambda o: o["spec"].get("clusterIP") != "None")
            assert svc["spec"].get("sessionAffinity") == "ClientIP", (
                "clients not pinned to the replica with their runs"
            )
            return "2 replicas (one leads through the Lease), RollingUpdate, clients pinned by ClientIP"

        check("replicas-2", two)
    if case == "replicas-alias":

        def alias() -> str:
            assert dep["spec"]["replicas"] == 2, f"replicas {dep['spec']['replicas']}"
            one(objs, "PodDisruptionBudget")
            return "the deprecated `replicas: 2` still gives 2 replicas and their PodDisruptionBudget"

        check("replicas-alias", alias)
    if case == "everything":

        def optional_flags() -> str:
            f = flags(container(dep))
            want = {
                "kube-qps": ["200"],
                "kube-burst": ["400"],
                "prometheus": ["http://prometheus.monitoring:9090"],
                "grafana-url": ["http://grafana.monitoring"],
                "grafana-dashboard-uid": ["faultline-overview"],
                "public-url": ["https://faultline.example.org"],
                "max-duration": ["2h30m"],
            }
            for k, v in want.items():
                assert f.get(k) == v, f"--{k} {f.get(k)}, want {v}"
            assert secret_file(dep, f["grafana-token-file"][0]) == ("grafana-sa", "token"), (
                "grafana token source"
            )
            name, key = secret_file(dep, f["notify-config"][0])
            notify = one(objs, "Secret", lambda o: o["metadata"]["name"] == name)
            assert yaml.safe_load(base64.b64decode(notify["data"][key])) == values["notify"]["config"], (
                "notify config not passed through"
            )
            assert "monitoring" in f["protect-namespace"], "protectedNamespaces"
            return "qps/burst, maxDuration, Prometheus, Grafana (token from its Secret), public URL, notify config reach the args"

        check("everything-flags", optional_flags)
    if case == "tls":
        check_tls(objs, values)
    if case in ("ha-bundled", "ha-external"):

        def ha() -> str:
            c = container(dep)
            f = flags(c)
            pg = values["store"]["postgres"]
            url = pg["url"] or f"postgres://faultline@{RELEASE}-faultline-postgres.{NAMESPACE}.svc:5432/faultline"
            assert f.get("store") == [url], f"--store {f.get('store')}, want {url}"
            assert f.get("store-lease-ttl") == [values["store"]["leaseTtl"]], f"--store-lease-ttl {f.get('store-lease-ttl')}"
            secret, key = secret_file(dep, f["store-password-file"][0])
            want = pg["passwordSecret"]["name"] or f"{RELEASE}-faultline-postgres"
            assert (secret, key) == (want, pg["passwordSecret"]["key"]), f"password from {secret}/{key}"
            text = yaml.safe_dump(c)
            assert "password=" not in text.lower() and ":" not in url.split("@")[0].split("//")[1], (
                "a password in the args"
            )
            tls = pg.get("tlsSecret", {})
            if tls.get("name"):
                # Every file the URL's libpq keys name comes from the TLS Secret's key.
                query = dict(kv.split("=", 1) for kv in url.split("?", 1)[1].split("&"))
                for param, key in (("sslrootcert", "ca.crt"), ("sslcert", "tls.crt"), ("sslkey", "tls.key")):
                    got = secret_file(dep, query[param])
                    assert got == (tls["name"], key), f"{param} from {got}, want {tls['name']}/{key}"
            pdb = one(objs, "PodDisruptionBudget")
            assert selects(pdb["spec"]["selector"]["matchLabels"], dep["spec"]["template"]["metadata"]["labels"]), (
                "the PodDisruptionBudget selects other pods"
            )
            assert pdb["spec"]["minAvailable"] == 1, f"minAvailable {pdb['spec']['minAvailable']}"
            svc = one(objs, "Service", lambda o: o["spec"].get("clusterIP") != "None")
            assert "sessionAffinity" not in svc["spec"], "clients pinned although any replica answers for any run"
            sts = [o for o in objs if o["kind"] == "StatefulSet"]
            if pg["bundled"]["enabled"]:
                assert len(sts) == 1, f"{len(sts)} StatefulSets"
                pod_labels = sts[0]["spec"]["template"]["metadata"]["labels"]
                assert not selects(dep["spec"]["selector"]["matchLabels"], pod_labels), (
                    "the service's selector also picks the database pod"
                )
                env = {e["name"]: e.get("value") for e in container(sts[0])["env"]}
                assert env.get("POSTGRES_PASSWORD_FILE") and "POSTGRES_PASSWORD" not in env, "database password inline"
                one(objs, "Secret", lambda o: o["metadata"]["name"] == want)
            else:
                assert not sts, "a bundled database rendered for an external one"
            over_tls = f", TLS files from Secret {tls['name']}" if tls.get("name") else ""
            return (
                f"{dep['spec']['replicas']} replicas on {'the bundled' if sts else 'an external'} PostgreSQL, "
                f"password from Secret {secret} as a file{over_tls}, PodDisruptionBudget minAvailable 1"
            )

        check(f"ha-store-{case}", ha)


# ---- refusals ----------------------------------------------------------------------------


def check_tls(objs: list[dict], values: dict) -> None:
    """HTTPS for the API and mutual TLS to the agents: every TLS flag reads the right key
    of the right Secret, through a whole-Secret mount (a subPath mount never sees a renewed
    certificate), and the probes and ServiceMonitors speak HTTPS."""
    dep, ds = deployment(objs), daemonset(objs)
    t = values["tls"]

    def no_subpath(workload: dict) -> None:
        for m in container(workload).get("volumeMounts", []):
            assert "subPath" not in m, f"{workload['kind']} mounts {m['name']} with subPath"

    def service() -> str:
        f = flags(container(dep))
        want = {
            "tls-cert": (t["serve"]["secretName"], "tls.crt"),
            "tls-key": (t["serve"]["secretName"], "tls.key"),
            "agent-ca": (t["agents"]["secretName"], "ca.crt"),
            "agent-client-cert": (t["agents"]["clientSecretName"], "tls.crt"),
            "agent-client-key": (t["agents"]["clientSecretName"], "tls.key"),
        }
        for flag, source in want.items():
            assert flag in f, f"--{flag} not passed"
            assert secret_file(dep, f[flag][0]) == source, f"--{flag} from {secret_file(dep, f[flag][0])}"
        assert f["agent-server-name"] == [t["agents"]["serverName"]], f"--agent-server-name {f['agent-server-name']}"
        _, v = mount_for(dep, f["agent-ca"][0])
        assert [i["key"] for i in v["secret"]["items"]] == ["ca.crt"], "the service sees the agents' key"
        no_subpath(dep)
        c = container(dep)
        schemes = {c[p]["httpGet"].get("scheme") for p in ("livenessProbe", "readinessProbe", "startupProbe")}
        assert schemes == {"HTTPS"}, f"probe schemes {schemes}"
        return "--tls-cert/--tls-key, --agent-ca (ca.crt only), client cert and server name from their Secrets; HTTPS probes"

    def agent() -> str:
        f = flags(container(ds))
        want = {
            "tls-cert": (t["agents"]["secretName"], "tls.crt"),
            "tls-key": (t["agents"]["secretName"], "tls.key"),
            "tls-client-ca": (t["agents"]["clientSecretName"], "ca.crt"),
        }
        for flag, source in want.items():
            assert flag in f, f"--{flag} not passed"
            assert secret_file(ds, f[flag][0]) == source, f"--{flag} from {secret_file(ds, f[flag][0])}"
        _, v = mount_for(ds, f["tls-client-ca"][0])
        assert [i["key"] for i in v["secret"]["items"]] == ["ca.crt"], "the agents see the service's client key"
        no_subpath(ds)
        c = container(ds)
        for p in ("livenessProbe", "readinessProbe"):
            assert "tcpSocket" in c[p] and "httpGet" not in c[p], f"{p} {c[p]} (kubelet has no client certificate)"
        return "--tls-cert/--tls-key and --tls-client-ca (ca.crt only) from their Secrets; TCP probes under mutual TLS"

    def monitors() -> str:
        sms = {sm["metadata"]["name"]: sm["spec"]["endpoints"][0] for sm in objs if sm["kind"] == "ServiceMonitor"}
        api = sms[f"{RELEASE}-faultline"]
        agents = sms[f"{RELEASE}-faultline-agent"]
        assert api["scheme"] == "https" and api["tlsConfig"]["ca"]["secret"]["name"] == t["serve"]["secretName"], api
        assert agents["scheme"] == "https" and agents["tlsConfig"]["serverName"] == t["agents"]["serverName"], agents
        assert agents["tlsConfig"]["keySecret"]["name"] == t["agents"]["clientSecretName"], agents
        return "both ServiceMonitors scrape over HTTPS; the agents' shows the client certificate"

    check("tls-service", service)
    check("tls-agent", agent)
    check("tls-servicemonitors", monitors)



def check_refusals(chart: helm.Chart) -> None:
    # (name, values, what the message must name)
    bad = [
        ("schema-replicas-type", {"replicas": "two"}, "/replicas"),
        ("schema-replica-count-type", {"replicaCount": "two"}, "/replicaCount"),
        ("schema-replica-count-zero", {"replicaCount": 0}, "/replicaCount"),
        ("schema-unknown-key", {"replica": 2}, "'replica'"),
        ("schema-agent-port-range", {"agent": {"port": 70000}}, "/agent/port"),
        (
            "schema-token-role",
            {"auth": {"tokens": [{"role": "root", "token": "0123456789abcdefgh"}]}},
            "/auth/tokens/0/role",
        ),
        (
            "schema-token-short",
            {"auth": {"tokens": [{"role": "admin", "token": "short"}]}},
            "/auth/tokens/0/token",
        ),
        ("schema-log-format", {"logFormat": "xml"}, "/logFormat"),
        ("schema-max-duration", {"maxDuration": "1 hour"}, "/maxDuration"),
        ("schema-nested-unknown", {"agent": {"hostNetwork": True}}, "'hostNetwork'"),
        ("schema-store-type", {"store": {"type": "mysql"}}, "/store/type"),
        (
            "schema-store-url-password",
            {"store": {"type": "postgres", "postgres": {"url": "postgres://fl:secret@db/fl"}}},
            "/store/postgres/url",
        ),
    ]
    for name, values, field in bad:

        def refused(values=values, field=field) -> str:
            try:
                chart.validate_schema(values)
            except helm.HelmValuesError as e:
                assert field in str(e), f"message does not name {field}: {e}"
            else:
                raise AssertionError(f"{values} accepted")
            # `helm install` renders, which validates too: the same values must not render.
            try:
                chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
            except helm.HelmValuesError:
                pass
            else:
                raise AssertionError("rendered although the schema refuses it")
            return f"refused, naming {field}"

        check(name, refused)

    # Rules across fields, enforced by the templates' `fail`.
    cross = [
        ("refuse-rwo-replicas", {"replicaCount": 2, "persistence": {"enabled": True}}, "persistence.accessModes"),
        ("refuse-replicas-disagree", {"replicaCount": 3, "replicas": 2}, "set replicaCount only"),
        ("refuse-grafana-no-token", {"grafana": {"url": "http://grafana"}}, "grafana.tokenSecret.name"),
        ("refuse-tls-serve-no-secret", {"tls": {"serve": {"enabled": True}}}, "tls.serve.secretName"),
        ("refuse-tls-agents-no-secret", {"tls": {"agents": {"enabled": True}}}, "tls.agents.secretName"),
        (
            "refuse-tls-mutual-no-client-secret",
            {"tls": {"agents": {"enabled": True, "secretName": "a", "mutual": True}}},
            "tls.agents.clientSecretName",
        ),
        ("refuse-postgres-nowhere", {"store": {"type": "postgres"}}, "store.postgres.url"),
        (
            "refuse-postgres-twice",
            {"store": {"type": "postgres", "postgres": {"url": "postgres://fl@db/fl", "bundled": {"enabled": True}}}},
            "store.postgres.bundled.enabled",
        ),
    ]
    for name, values, field in cross:

        def failed(values=values, field=field) -> str:
            try:
                chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
            except helm.HelmRenderError as e:
                assert field in str(e), f"message does not name {field}: {e}"
                return f"render fails naming {field}"
            raise AssertionError(f"{values} rendered")

        check(name, failed)

    def good_values() -> str:
        for values in CASES.values():
            chart.validate_schema(values)
        chart.validate_schema(yaml.safe_load((CHART / "values.yaml").read_text()))
        return f"values.yaml and the {len(CASES)} override sets pass the schema"

    check("schema-accepts-good-values", good_values)


# ---- the chart's files and the built binaries ---------------------------------------------


def check_copies() -> None:
    def copies() -> str:
        pairs = [(p, CHART / "dashboards" / p.name) for p in sorted((ROOT / "dashboards").glob("*.json"))]
        pairs.append(
            (ROOT / "deploy/prometheus/faultline-rules.yml", CHART / "prometheus/faultline-rules.yml")
        )
        stale = [
            str(c.relative_to(ROOT))
            for s, c in pairs
            if not c.exists() or not filecmp.cmp(s, c, shallow=False)
        ]
        extra = sorted({p.name for p in (CHART / "dashboards").glob("*.json")} - {s.name for s, _ in pairs})
        assert not stale and not extra, (
            f"stale {stale}, no source for {extra}: run deploy/sync-chart-files.sh"
        )
        return f"{len(pairs)} files in the chart equal their sources"

    check("chart-file-copies", copies)


def check_lint() -> None:
    for name, values in (("default", None), ("everything", EVERYTHING)):

        def lint(values=values) -> str:
            report = helm.lint(
                CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}"
            )
            # Severity 2 = warning, 3 = error; strict lint fails on both. 1 = info (e.g.
            # "icon is recommended") is only advice.
            bad = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2]
            bad += report.get("errors", [])
            assert not bad, "; ".join(dict.fromkeys(bad))
            infos = [m["error"] for m in report["messages"] if m["severity"] < 2]
            return f"no warnings or errors ({len(infos)} info: {'; '.join(infos) or 'none'})"

        check(f"helm-lint-strict-{name}", lint)


def built(binary: str) -> Path | None:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    found = [target / p / binary for p in ("debug", "release") if (target / p / binary).exists()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def check_flags_exist(objs: list[dict]) -> None:
    """Every flag the chart passes is one the binary knows: a renamed flag would otherwise
    surface only as a crash-looping pod on a real cluster."""
    for binary, workload, sub in (
        ("faultline", deployment(objs), ["serve"]),
        ("faultline-agent", daemonset(objs), []),
    ):
        exe = built(binary)
        if exe is None:
            result(
                f"flags-known-{binary}",
                None,
                f"{binary} is not built (cargo build -p {binary}); flags not checked",
            )
            continue

        def known(exe=exe, workload=workload, sub=sub, binary=binary) -> str:
            help_text = subprocess.run(
                [exe, *sub, "--help"], capture_output=True, text=True, check=True
            ).stdout
            help_text += subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
            passed = sorted({a[2:].split("=")[0] for a in container(workload)["args"] if a.startswith("--")})
            missing = [f for f in passed if not re.search(rf"--{re.escape(f)}\b", help_text)]
            assert not missing, f"{exe} {' '.join(sub)} does not know --{', --'.join(missing)}"
            return f"all {len(passed)} flags the chart passes are in `{binary} {' '.join(sub)} --help`"

        check(f"flags-known-{binary}", known)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str, token: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def serve_and_probe(cmd: list[str], base: str, probe: Callable[[], str]) -> str:
    """Starts `cmd`, waits for `base`/healthz, runs `probe`, then SIGTERMs it and wants 0."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if http_status(f"{base}/healthz") == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{cmd[0]} did not come up: {proc.communicate(timeout=5)[1][-400:]}")
            time.sleep(0.1)
        out = probe()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=30)
    assert rc == 0, f"exit {rc} on SIGTERM: {proc.stderr.read()[-400:]}"
    return out


def check_rendered_secret_works(objs: list[dict]) -> None:
    """The generated Secret, used for real: the agent started with the DaemonSet's own args
    (addresses and paths moved to a temp dir) takes the agent token and nothing else, and
    `faultline serve` takes every generated API token."""
    secret = one(objs, "Secret", lambda o: "tokens" in o.get("data", {}))
    agent_token = base64.b64decode(secret["data"]["agent-token"]).decode()
    api_tokens = dict(
        line.split(":", 1) for line in base64.b64decode(secret["data"]["tokens"]).decode().splitlines()
    )

    agent = built("faultline-agent")
    if agent is None:
        result("secret-agent-token-live", None, "faultline-agent is not built; not started")
    else:

        def agent_live() -> str:
            with tempfile.TemporaryDirectory() as tmp:
                port = free_port()
                (Path(tmp) / "agent-token").write_text(agent_token)
                moved = {
                    "listen": f"127.0.0.1:{port}",
                    "state-dir": f"{tmp}/agent",
                    "token-file": f"{tmp}/agent-token",
                }
                args = []
                for a in container(daemonset(objs))["args"]:
                    k = a[2:].partition("=")[0]
                    args.append(f"--{k}={moved[k]}" if k in moved else a)
                base = f"http://127.0.0.1:{port}"

                def probe() -> str:
                    codes = (
                        http_status(f"{base}/v1/faults", agent_token),
                        http_status(f"{base}/v1/faults", "not-the-token"),
                    )
                    assert codes == (200, 401), f"/v1/faults with the token, without: {codes}"
                    return "agent token accepted, a wrong one refused"

                out = serve_and_probe([str(agent), *args], base, probe)
                return f"{out}; started with the DaemonSet's args {' '.join(args)}"

        check("secret-agent-token-live", agent_live)

    service = built("faultline")
    if service is None:
        result("secret-api-tokens-live", None, "faultline is not built; not started")
        return

    def service_live() -> str:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            tokens = Path(tmp) / "tokens"
            tokens.write_text(base64.b64decode(secret["data"]["tokens"]).decode())
            base = f"http://127.0.0.1:{port}"
            # Without --kubernetes: this machine has no API server to connect to.
            cmd = [str(service), "serve", f"--listen=127.0.0.1:{port}", f"--state-dir={tmp}/state"]
            cmd.append(f"--tokens-file={tokens}")

            def probe() -> str:
                for role, token in api_tokens.items():
                    code = http_status(f"{base}/api/v1/runs", token)
                    assert code == 200, f"GET /api/v1/runs as {role}: {code}"
                code = http_status(f"{base}/api/v1/runs", "not-a-token")
                assert code == 401, f"a wrong token got {code}"
                return f"faultline serve accepts the generated {sorted(api_tokens)} tokens, refuses others"

            return serve_and_probe(cmd, base, probe)

    check("secret-api-tokens-live", service_live)


def check_dockerfile(objs: list[dict]) -> None:
    text = (ROOT / "Dockerfile").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    chart_meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    stages = {name: base for base, name in re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)", text, re.M | re.I)}

    def stage(name: str) -> str:
        m = re.search(rf"^FROM\s+\S+\s+AS\s+{name}\s*$(.*?)(?=^FROM\s|\Z)", text, re.M | re.S | re.I)
        assert m, f"no stage {name}"
        return m.group(1)

    def targets() -> str:
        # Built on the runtime's Debian (dist.sh links its glibc into the binaries; the
        # image supplies /etc/nsswitch.conf and the CA roots), with a pinned toolchain no
        # older than the workspace's rust-version.
        builder = stages.get("builder", "")
        m = re.fullmatch(r"rust:1\.(\d+)(?:\.\d+)?-bookworm", builder)
        assert m, f"builder from {builder}"
        minimum = int(cargo["workspace"]["package"]["rust-version"].split(".")[1])
        assert int(m.group(1)) >= minimum, f"builder {builder} older than rust-version 1.{minimum}"
        for t in ("service", "agent"):
            assert stages.get(t) == "debian:bookworm-slim", f"target {t} from {stages.get(t)}"
        return f"targets service and agent on debian:bookworm-slim, built on {builder}"

    def binaries() -> str:
        # The image builds what build-support/dist.sh builds (one `cargo rustc` per binary).
        assert re.search(r"^\s*build-support/dist\.sh", text, re.M), "the Dockerfile does not run build-support/dist.sh"
        dist = (ROOT / "build-support" / "dist.sh").read_text()
        packages = re.search(r"^for bin in ([^;]+);", dist, re.M).group(1).split()
        assert re.search(r'cargo rustc --release --locked -q -p "\$bin" --bin "\$bin"', dist), "dist.sh does not build each binary"
        bins = {}
        for member in cargo["workspace"]["members"]:
            manifest = tomllib.loads((ROOT / member / "Cargo.toml").read_text())
            for b in manifest.get("bin", []):
                bins[b["name"]] = (manifest["package"]["name"], ROOT / member / b["path"])
        for exe, target in (("faultline", "service"), ("faultline-agent", "agent")):
            assert exe in bins and bins[exe][1].exists(), f"no binary {exe} in the workspace"
            assert bins[exe][0] in packages, f"the build does not build package {bins[exe][0]} ({exe})"
            assert f"target/dist/{exe} /out/{exe}" in text, f"{exe} is not copied out of target/dist"
            body = stage(target)
            assert f"COPY --from=builder /out/{exe} /usr/local/bin/{exe}" in body, (
                f"target {target} does not copy {exe}"
            )
            assert f'ENTRYPOINT ["/usr/local/bin/{exe}"]' in body, f"target {target} does not run {exe}"
        assert "nftables" in stage("agent"), "the agent image lacks nftables (networkPartition runs nft)"
        assert re.search(r"^target/?$", (ROOT / ".dockerignore").read_text(), re.M), (
            ".dockerignore sends target/ to the daemon"
        )
        return f"dist.sh builds {packages}; each target copies and runs its binary; agent has nft"

    def users() -> str:
        uid = deployment(objs)["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
        assert re.search(rf"^USER {uid}:{uid}$", stage("service"), re.M), f"service image user is not {uid}"
        assert re.search(r"^USER 0:0$", stage("agent"), re.M), "agent image does not run as root"
        assert re.search(r"^EXPOSE 8080$", stage("service"), re.M) and re.search(
            rf"^EXPOSE {values['agent']['port']}$", stage("agent"), re.M
        ), "EXPOSE ports"
        return f"service image runs as {uid} (the chart's runAsUser), agent as root"

    def images() -> str:
        version = cargo["workspace"]["package"]["version"]
        assert chart_meta["appVersion"] == version, (
            f"appVersion {chart_meta['appVersion']} != workspace version {version}"
        )
        tagged = dict((t, ref) for t, ref in re.findall(r"docker build --target (\S+)\s+-t (\S+)", text))
        want = {"service": values["image"], "agent": values["agent"]["image"]}
        for target, image in want.items():
            assert tagged.get(target) == f"{image['repository']}:{version}", (
                f"Dockerfile tags {target} as {tagged.get(target)}, "
                f"chart pulls {image['repository']}:{version}"
            )
        rendered = {container(deployment(objs))["image"], container(daemonset(objs))["image"]}
        assert rendered == set(tagged.values()), f"rendered images {rendered}"
        return f"chart images {sorted(rendered)} are what the Dockerfile's targets are tagged"

    for name, fn in (("targets", targets), ("binaries", binaries), ("users", users), ("images", images)):
        check(f"dockerfile-{name}", fn)


def main() -> int:
    result(
        "helm-sdk",
        True,
        f"Helm SDK {helm.helm_sdk_version()} (helm-python-sdk {helm.__version__}), "
        f"kubernetes-validate for {KUBE_VERSION}",
    )
    check_lint()
    check_copies()
    chart = helm.Chart.load(CHART)
    defaults = chart.values
    rendered: dict[str, list[dict]] = {}
    for case, over in CASES.items():
        values = merge(defaults, over)
        try:
            objs = render(chart, over)
        except helm.HelmError as e:
            result(f"helm-render-{case}", False, str(e))
            continue
        kinds = sorted({o["kind"] for o in objs})
        result(f"helm-render-{case}", True, f"{len(objs)} objects: {', '.join(kinds)}")
        rendered[case] = objs
        validate_all(case, objs)
        check_agent(case, objs, values)
        check_service(case, objs, values)
        check_rbac(case, objs)
        check_network_policy(case, objs, values)
        check_secret(case, objs, values)
        check_monitoring(case, objs, values)
        check_dashboards(case, objs)
        check_case_specific(case, objs, values)
    check_refusals(chart)
    if "everything" in rendered:
        check_flags_exist(rendered["everything"])
    if "default" in rendered:
        check_rendered_secret_works(rendered["default"])
    if "default" in rendered:
        check_dockerfile(rendered["default"])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
