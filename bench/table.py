#!/usr/bin/env python3
"""Assembles the benchmark table of issue 10 from the benches' JSON lines.

    bench/table.py RESULTS.jsonl OUT.md [--kernel-log FILE] [--mode quick|full]
                   [--load-start "1 5 15"] [--seconds N] [--layout TEXT] [--failed NAME ...]

Each line of RESULTS.jsonl is one measure, written by a bench through test-support/src/bench/report.rs:
{"id", "name", "label", "unit", "samples"}. The goals and the pairs compared live here, in
one place; the benches only measure. Prints the table and writes OUT.md (docs/benchmarks.md)
with the date and the machine. Standard library only.
"""

import argparse
import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys

# What the talk measured for Chaos Mesh (issue 10, P5): not measured here.
CHAOS_MESH_DAEMON_MIB = (16, 19)
CHAOS_MESH_CONTROLLER_MIB = (17, 37)


def pct(samples, q):
    """Nearest-rank percentile q (0..100)."""
    s = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(s)))
    return s[min(rank, len(s)) - 1]


def fmt(v, unit):
    if v is None:
        return "—"
    if unit in ("req/s", "q/s"):
        return f"{v:,.0f} {unit}"
    if unit == "cores":
        return f"{v:.3f} cores"
    if abs(v) >= 100:
        return f"{v:.0f} {unit}"
    if abs(v) >= 10:
        return f"{v:.1f} {unit}"
    return f"{v:.2f} {unit}"


def yes(ok):
    return "**yes**" if ok else "**no**"


class Table:
    def __init__(self, measures):
        self.m = {}
        for x in measures:
            self.m[(x["id"], x["name"])] = x
        self.rows = []

    def get(self, id_, name):
        return self.m.get((id_, name))

    def row(self, id_, x, ratio="", goal="", met=""):
        if x is None:
            return
        s = x["samples"]
        u = x["unit"]
        self.rows.append([
            id_, x["label"], str(len(s)), fmt(min(s), u), fmt(statistics.median(s), u),
            fmt(max(s), u), ratio, goal, met,
        ])

    def missing(self, id_, what, how):
        self.rows.append([id_, what, "0", "—", "—", "—", "", "", f"not measured ({how})"])


def kernel_figure(path):
    """The netem delay figure from a kernel-tier log: (min-RTT rise, median rise, date, line)."""
    if not path or not os.path.exists(path):
        return None
    text = open(path, errors="replace").read()
    m = None
    for m in re.finditer(r"KT-RESULT delay\s+(\w+)\s+(.*)", text):
        pass
    if m is None:
        return None
    detail = m.group(2)
    rise = re.search(r"\(rise ([0-9.]+) ms; min [0-9.]+ -> [0-9.]+, rise ([0-9.]+) ms", detail)
    if not rise:
        return None
    kernel = re.search(r"\(kernel ([^;]+);", text)
    # run.sh names its QEMU mode on the boot line; older logs only said "(tcg, ...".
    accel = re.search(r"==> booting \S+ \(([\w-]+):", text)
    when = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    return {
        "median_rise": float(rise.group(1)),
        "min_rise": float(rise.group(2)),
        "verdict": m.group(1),
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": kernel.group(1) if kernel else "?",
        "accel": {"tcg": "TCG, guest time in instructions", "tcg-realtime": "TCG, real time",
                  "kvm": "KVM"}.get(accel.group(1) if accel else "", "TCG, real time"),
        "file": path,
    }


def build(t, kernel):
    # P1: netlink vs exec tc, same targets, same run.
    nl, tc = t.get("P1", "netlink"), t.get("P1", "tc")
    if nl and tc:
        r = statistics.median(tc["samples"]) / statistics.median(nl["samples"])
        t.row("P1", nl, f"{r:.1f}× faster than exec tc", "≥ 10×", yes(r >= 10))
        t.row("P1", tc, "", "(compared)", "")
    else:
        t.missing("P1", "apply+recover a network fault on 100 netns targets", "netlink_vs_tc")

    # P2: fan-out to 10 agent processes.
    x = t.get("P2", "active")
    if x:
        p50, p99 = pct(x["samples"], 50), pct(x["samples"], 99)
        t.row("P2", x, f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", "p50 < 100 ms, p99 < 250 ms",
              yes(p50 < 100 and p99 < 250))
    else:
        t.missing("P2", "trigger -> all faults active, 100 targets over 10 agents", "agents_fanout")

    # P3: lease deadline to qdisc gone.
    x = t.get("P3", "lag")
    if x:
        p99 = pct(x["samples"], 99)
        t.row("P3", x, f"p50 {pct(x['samples'], 50):.2f} ms, p99 {p99:.2f} ms", "p99 ≤ 50 ms",
              yes(p99 <= 50))
    else:
        t.missing("P3", "fault deadline -> fault removed", "lease_expiry")

    # P4: fidelity against the requested values.
    if kernel:
        s = kernel["min_rise"]
        t.rows.append([
            "P4", f"networkDelay 10 ms: min-RTT rise over 20 pings (kernel tier, {kernel['kernel']}"
            f" in QEMU ({kernel['accel']}); last run {kernel['date']}; median rise {kernel['median_rise']:.2f} ms)",
            "1", "—", f"{s:.2f} ms", "—", "", "10 ± 0.5 ms", yes(9.5 <= s <= 10.5),
        ])
    else:
        t.missing("P4", "networkDelay 10 ms (this kernel has no sch_netem)",
                  "kernel tier: ./bench.sh --kernel or TIERS=kernel ./test.sh")
    # Load is a percentage, so "± 5 %" is read as five points of load (as the bench does).
    for name, lo, hi, goal in [("cpu100", 0.95, 1.05, "1.00 ± 0.05 cores"),
                               ("cpu50", 0.45, 0.55, "0.50 ± 0.05 cores"),
                               ("mem64", 64 * 0.95, 64 * 1.05, "64 MiB ± 5 %")]:
        x = t.get("P4", name)
        if x:
            med = statistics.median(x["samples"])
            t.row("P4", x, "", goal, yes(lo <= med <= hi))
        else:
            t.missing("P4", name, "stress_fidelity")

    # P5: idle RSS against the talk's Chaos Mesh figures.
    x = t.get("P5", "agent")
    if x:
        med = statistics.median(x["samples"])
        lo = CHAOS_MESH_DAEMON_MIB[0]
        t.row("P5", x, f"{lo / med:.1f}× less than Chaos Mesh's daemon "
              f"({CHAOS_MESH_DAEMON_MIB[0]}–{CHAOS_MESH_DAEMON_MIB[1]} MiB, talk)",
              "≤ 8 MiB", yes(med <= 8))
    else:
        t.missing("P5", "agent idle RSS", "agent_rss")
    t.row("P5", t.get("P5", "agent_start"), "", "(at start)", "")
    x = t.get("P5", "service")
    if x:
        med = statistics.median(x["samples"])
        lo = CHAOS_MESH_CONTROLLER_MIB[0]
        t.row("P5", x, f"{lo / med:.1f}× less than Chaos Mesh's controller "
              f"({CHAOS_MESH_CONTROLLER_MIB[0]}–{CHAOS_MESH_CONTROLLER_MIB[1]} MiB, talk)",
              "≤ 25 MiB", yes(med <= 25))
    else:
        t.missing("P5", "service idle RSS", "idle_rss")

    # P6: per webhook row, the connection count with the best median throughput among
    # those that meet the goal (>= 20k/s and p99 < 5 ms at the same load), else the best
    # throughput. A closed loop past saturation (64 connections on 2 shared cores) adds
    # only queueing: the same throughput at a p99 that grows with the connection count,
    # so the best meeting load is the figure; the bench log prints every load.
    rows = sorted({n.split("_")[1] for (i, n) in t.m if i == "P6" and n.startswith("rps_")})
    for r in rows:
        loads = []
        for (i, n), x in t.m.items():
            if i == "P6" and n.startswith(f"rps_{r}_"):
                conns = n.split("_")[2]
                rps = statistics.median(x["samples"])
                p99 = statistics.median(t.get("P6", f"p99_{r}_{conns}")["samples"])
                errs = sum(t.get("P6", f"non2xx_{r}_{conns}")["samples"])
                meets = rps >= 20000 and p99 < 5 and errs == 0
                loads.append((meets, rps, x, conns, p99, errs))
        meets, rps, best, conns, p99, errs = max(loads, key=lambda l: (l[0], l[1]))
        t.row("P6", best, f"p99 {p99:.2f} ms (median), non-2xx {errs:.0f}",
              "≥ 20k events/s, p99 < 5 ms", yes(meets))
    if not rows:
        t.missing("P6", "webhook intake", "webhook_intake")

    # P7: faultline run vs Chaos Toolkit, same run.
    fo, co = t.get("P7", "faultline_overhead"), t.get("P7", "chaos_overhead")
    fr, cr = t.get("P7", "faultline_rss"), t.get("P7", "chaos_rss")
    if fo and co and fr and cr:
        ro = statistics.median(co["samples"]) / statistics.median(fo["samples"])
        rr = statistics.median(cr["samples"]) / statistics.median(fr["samples"])
        # Issue 10 asked >= 10x; issue 25 raised it to a median under 8 ms (>= 20x) with the
        # watchdog in: the row is met when both hold (the ratio alone moves with how slow
        # the machine runs Chaos Toolkit that day).
        mo = statistics.median(fo["samples"])
        t.row("P7", fo, f"{ro:.1f}× less than Chaos Toolkit", "median < 8 ms (≥ 20× less overhead)", yes(ro >= 20 and mo < 8))
        t.row("P7", co, "", "(compared)", "")
        t.row("P7", fr, f"{rr:.1f}× less than Chaos Toolkit", "≥ 5× less peak RSS", yes(rr >= 5))
        t.row("P7", cr, "", "(compared)", "")
        fs, cs = t.get("P7", "faultline_pss"), t.get("P7", "chaos_pss")
        if fs and cs:
            rs = statistics.median(cs["samples"]) / statistics.median(fs["samples"])
            t.row("P7", fs, f"{rs:.1f}× less than Chaos Toolkit", "(whole tree, shared pages once)", "")
            t.row("P7", cs, "", "(compared)", "")
    else:
        t.missing("P7", "same experiment through faultline run and Chaos Toolkit", "vs_chaostoolkit")

    # P8: resolve + inject 10,000 pods (the goal), then resolving alone for comparison.
    x = t.get("P8", "inject_10000")
    if x:
        med = statistics.median(x["samples"])
        t.row("P8", x, "Chaos Mesh stalled at ~6k pods (their issue 4776)", "< 5 s", yes(med < 5))
        r = t.get("P8", "recover_10000")
        if r:
            t.row("P8", r, "", "(the same run's recovery)", "")
    else:
        t.missing("P8", "resolve + inject 10,000 simulated pods", "pods_inject")
    for (i, n), y in sorted(t.m.items()):
        if i == "P8" and n.startswith("resolve_"):
            t.row("P8", y, "", "(resolve only)", "")
    p14_rows(t)
    p13_rows(t)
    p12_rows(t)
    p9_rows(t)


def p14_rows(t):
    """P14: replica failover on PostgreSQL: kill -9 of the driving replica -> its fault
    removed, and -> the run ended `replica lost`, p50 and p99 against TTL + 1 s."""
    for name, what in [("removed", "fault removed"), ("adopted", "run adopted and ended")]:
        x = t.get("P14", name)
        if not x:
            t.missing("P14", f"failover: {what}", "failover")
            continue
        s = sorted(x["samples"])
        p50 = statistics.median(s)
        p99 = s[max(0, min(len(s), -(-99 * len(s) // 100)) - 1)]
        t.row("P14", x, f"p50 {p50:.2f} s, p99 {p99:.2f} s", "p50, p99 ≤ TTL 5 s + 1 s",
              yes(p50 <= 6 and p99 <= 6))


def p13_rows(t):
    """P13: recorded webhook deliveries (each starting a run) through 3 replicas on
    PostgreSQL against 1 on SQLite, same run: the ratio (goal >= 2x) and p99 (< 10 ms)."""
    x = t.get("P13", "ratio")
    if not x:
        t.missing("P13", "webhook intake + run starts: 3 replicas on PostgreSQL vs 1 on SQLite", "replicas_intake")
        return
    t.row("P13", t.get("P13", "sqlite_rps"), "", "(the baseline)", "")
    p = t.get("P13", "pg3_rps")
    t.row("P13", p, "", "", "")
    r = statistics.median(x["samples"])
    t.row("P13", x, f"{r:.2f}x", "≥ 2x", yes(r >= 2))
    # The latency goal is judged at the paced load both keep up with; at wrk's saturation
    # the p99 is the queue's (the bench's docstring says why).
    for name in ["pg3_p99_paced_ms", "sqlite_p99_paced_ms", "pg3_p99_ms", "sqlite_p99_ms"]:
        y = t.get("P13", name)
        if y:
            p99 = statistics.median(y["samples"])
            judged = name == "pg3_p99_paced_ms"
            t.row("P13", y, f"median of p99s {p99:.2f} ms", "p99 < 10 ms" if judged else "", yes(p99 < 10) if judged else "")


def p12_rows(t):
    """P12: the web console's runs page with 10,000 runs stored (issue 26)."""
    x = t.get("P12", "first_load_kb")
    if x:
        t.row("P12", x, "", "≤ 100 KB", yes(max(x["samples"]) <= 100))
        for name in ["page_ms", "runs_api_ms"]:
            y = t.get("P12", name)
            if y:
                p99 = pct(y["samples"], 99)
                t.row("P12", y, f"p99 {p99:.2f} ms", "p99 < 20 ms", yes(p99 < 20))
        r = t.get("P12", "render_ms")
        if r:
            t.row("P12", r, f"max {max(r['samples']):.0f} ms", "< 300 ms",
                  yes(statistics.median(r["samples"]) < 300))
        else:
            t.missing("P12", "console runs page rendered in chromium", "console_load: chromium/selenium missing")
    else:
        t.missing("P12", "web console runs page, 10,000 runs", "console_load")
    # The live view's lag with 10 runs streaming at once (bench live_lag).
    for name, why in [("live_sse_lag_ms", "live_lag"), ("live_browser_lag_ms", "live_lag: chromium/selenium missing")]:
        y = t.get("P12", name)
        if y:
            p99 = pct(y["samples"], 99)
            t.row("P12", y, f"p50 {pct(y['samples'], 50):.0f} ms, p99 {p99:.0f} ms", "< 1 s lag", yes(p99 < 1000))
        else:
            t.missing("P12", "live view lag, 10 runs streaming", why)

    # P15: an ID token verified per request with cached keys (issue 28), per-repeat p99s.
    x = t.get("P15", "verify_p99")
    if x:
        med = statistics.median(x["samples"])
        d, v50 = t.get("P15", "signature_p50"), t.get("P15", "verify_p50")
        share = ""
        if d and v50:
            ratio = statistics.median(d["samples"]) / statistics.median(v50["samples"])
            share = f"RS256 signature alone: {ratio:.0%} of its p50"
        t.row("P15", x, share, "p99 < 50 us", yes(med < 50))
        for name in ["verify_p50", "signature_p99", "signature_p50"]:
            t.row("P15", t.get("P15", name), "", "(compared)", "")
    else:
        t.missing("P15", "ID token verified per request, cached keys", "id_token_verify")


def p9_rows(t):
    """P9: HTTP proxy with no matching rule vs direct, haproxy beside it, same run."""
    dp, fp, hp = t.get("P9", "direct_p50"), t.get("P9", "faultline_p50"), t.get("P9", "haproxy_p50")
    dr, fr, hr = t.get("P9", "direct_rps"), t.get("P9", "faultline_rps"), t.get("P9", "haproxy_rps")
    d1, f1, h1 = t.get("P9", "direct_p50_one"), t.get("P9", "faultline_p50_one"), t.get("P9", "haproxy_p50_one")
    if dp and fp and dr and fr:
        med = lambda x: statistics.median(x["samples"])
        share = med(fr) / med(dr)
        # The added latency is judged on one connection's requests, one after another: at
        # 16 saturating connections every p50 is mostly queueing (16 / throughput), so it
        # restates the throughput row rather than measuring the proxy's own time.
        if d1 and f1:
            added1 = med(f1) - med(d1)
            t.row("P9", f1, f"+{added1:.0f} µs p50 over direct", "added p50 ≤ 100 µs", yes(added1 <= 100))
            t.row("P9", d1, "", "(direct, compared)", "")
        t.row("P9", fp, f"+{med(fp) - med(dp):.0f} µs p50 over direct", "(saturated: mostly queueing)", "")
        t.row("P9", fr, f"{100 * share:.0f}% of direct", "≥ 80% of direct", yes(share >= 0.8))
        t.row("P9", dp, "", "(direct, compared)", "")
        t.row("P9", dr, "", "(direct, compared)", "")
        if hp and hr:
            if d1 and h1:
                t.row("P9", h1, f"+{med(h1) - med(d1):.0f} µs p50 over direct", "(haproxy, side by side)", "")
            t.row("P9", hp, f"+{med(hp) - med(dp):.0f} µs p50 over direct", "(haproxy, side by side)", "")
            t.row("P9", hr, f"{100 * med(hr) / med(dr):.0f}% of direct", "(haproxy, side by side)", "")
    else:
        t.missing("P9", "HTTP pass-through: proxy with no matching rule vs direct vs haproxy", "http_passthrough")

    # P10: the DNS faults' resolver passing everything through vs asking the upstream
    # directly, same client, same run.
    dq, pq = t.get("P10", "direct_qps"), t.get("P10", "proxy_qps")
    dl, pl = t.get("P10", "direct_p50"), t.get("P10", "proxy_p50")
    if dq and pq and dl and pl:
        share = statistics.median(pq["samples"]) / statistics.median(dq["samples"])
        added = statistics.median(pl["samples"]) - statistics.median(dl["samples"])
        qps = statistics.median(pq["samples"])
        lost = t.get("P10", "proxy_lost")
        lost = sum(lost["samples"]) if lost else 0
        t.row("P10", pq, f"{100 * share:.0f}% of direct, {lost:.0f} unanswered",
              "≥ 20k queries/s, none lost", yes(qps >= 20000 and lost == 0))
        t.row("P10", dq, "", "(compared)", "")
        t.row("P10", pl, f"added p50 {added:.0f} µs", "added p50 ≤ 200 µs", yes(added <= 200))
        t.row("P10", dl, "", "(compared)", "")
    else:
        t.missing("P10", "DNS resolver pass-through vs direct", "dns_passthrough")

    # P11: apply -> verified per kind (no goal in issue 25: the figures are the record).
    p11 = sorted(((n, x) for (i, n), x in t.m.items() if i == "P11"), key=lambda nx: nx[0])
    for _, x in p11:
        t.row("P11", x, f"p50 {pct(x['samples'], 50):.1f} ms, p99 {pct(x['samples'], 99):.1f} ms",
              "(recorded)", "")
    if not p11:
        t.missing("P11", "apply -> verified per kind", "apply_to_verified")


def machine(load_start):
    cpu = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    load_end = " ".join(open("/proc/loadavg").read().split()[:3])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": os.uname().release,
        "mem": mem,
        "load_start": load_start or "?",
        "load_end": load_end,
        "commit": commit,
    }


def render(t, mc, args):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = ["id", "measure", "runs", "min", "median", "max", "ratio / percentiles", "goal", "met"]
    lines = [
        "# Benchmarks",
        "",
        "Regenerated by `./bench.sh` (release build; `--quick` for fewer repeats, `--kernel` to",
        "re-measure the netem delay in the kernel tier). Do not edit by hand.",
        "",
        f"- date: {now}; mode: {args.mode}; commit {mc['commit']}; whole table took "
        f"{args.seconds} s",
        f"- machine: {mc['cpu']}, {mc['cores']} cores, {mc['mem']}, kernel {mc['kernel']}",
        f"- load average (1/5/15 min): {mc['load_start']} at start, {mc['load_end']} at end "
        "(the cores are shared: other work running meanwhile shows up here)",
        f"- code layout: {args.layout or 'not checked'} "
        "(`build-support/order/profile.sh` regenerates it)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in t.rows:
        lines.append("| " + " | ".join(r) + " |")
    if args.failed:
        lines += ["", "Benches that failed this time (their rows are missing): "
                  + ", ".join(args.failed)]
    lines += ["", NOTES.strip(), ""]
    return "\n".join(lines)


NOTES = """
## How each row is measured

- **runs**: repeated runs of the measure (for P3, every fault of every round; for P4 CPU,
  one 5 s cgroup accounting window each). Ratios compare medians measured in the same run.
- **P1** `node-agent/benches/netlink_vs_tc.rs`: tbf apply+recover on 100 veth targets in
  their own netns, faultline's netlink executor (on a current-thread runtime, as on the
  agent thread) vs one `tc` exec per step.
- **P2** `node-agent/benches/agents_fanout.rs`: 10 `faultline-agent` processes on loopback
  (bearer token), 10 netns targets each; one `POST /v1/faults` per agent, all at once; the
  time until the last answer (journaled and in the kernel; every round then checks all 100
  qdiscs over netlink, recovers, checks none is left). tbf, since this kernel has no
  sch_netem. The run engine's steps before injection are not included.
- **P3** `node-agent/benches/lease_expiry.rs`: 100 faults with 1 s leases never renewed;
  from each journaled `leaseUntil` to its qdisc gone, polled over netlink (an upper bound).
- **P4** `node-agent/benches/stress_fidelity.rs` (cgroup v1 cpuacct / memory accounting);
  the netem row comes from the kernel tier (`tests/kernel-tier/`, Debian's cloud kernel in
  QEMU under TCG): the rise of the minimum RTT of 20 pings when 10 ms delay is applied (netem
  puts a floor under every packet; TCG scheduling noise moves the median up, never the
  floor). The guest's clock counts instructions (`-icount`, `tests/kernel-tier/run.sh` says
  why): in real time every emulated timer interrupt cost a delayed packet 0.3-0.8 ms of
  emulation, and the floor rose 10.0-10.8 ms; counted (4 ns per instruction), 10.01 ms. It is re-measured only with
  `./bench.sh --kernel`; otherwise the row shows the last kernel-tier log found and its date.
- **P5** `node-agent/benches/agent_rss.rs` (VmRSS after 1,000 apply/recover cycles over
  HTTP) and `service/benches/idle_rss.rs` (`faultline serve` 1 s after `/healthz` answers),
  on the binaries as they ship ("shipped build": `build-support/dist.sh`, see P7).
  Chaos Mesh's figures are the talk's, not measured here.
- **P6** `service/benches/webhook_intake.rs`: GitLab Pipeline Hook deliveries by `wrk` on
  loopback; per row the connection count (1, 8, 32, 64) with the best median throughput
  among those meeting the goal, else the best throughput (the bench log prints them all).
  Rows: a = ignored with unique UUID, b = ignored, c = matched then refused by the emergency
  stop, d = c with a recorded delivery (an INSERT and an UPDATE, group-committed).
- **P7** `service/benches/vs_chaostoolkit.rs`: HTTP probe, SIGKILL of a victim, HTTP probe,
  in both tools, alternating; overhead = wall time minus the experiment's own sleeps
  (faultline judges an HTTP check on 3 requests `every: 10ms` apart: 40 ms subtracted; Chaos
  Toolkit's probe is one request); peak RSS = the largest process's VmHWM in the tool's
  process tree (read every 1 ms); peak tree PSS = highest sampled sum of PSS over the whole
  tree (every 10 ms; summed RSS would count a forked child's copy-on-write pages twice).
  faultline is the binary as it ships ("shipped build", `build-support/dist.sh`, the
  Dockerfile's build): static-pie (glibc linked in, ASLR kept), fat LTO, and a function
  order profiled on it. A run peaked at 15.2 MiB until 2026-12-02, 9.5 MiB of it code:
  the kernel maps 64 KB around each page a process faults in, and the 1.7 MB of functions
  a run executes were scattered over 13 MB. Laid out side by side from the order file
  (`build-support/order/`, profiled under callgrind; the "code layout" line above says how
  much of it the measured binary has): 8.5 MiB. Without chrono-tz, whose zone tables were
  1 MiB of pointers the loader relocates at every start: 7.5 MiB (4.5×). Static-pie and
  fat LTO: 5.7 MiB. A run no longer maps libc, libm, libgcc_s and the loader (2.2 MiB of
  their pages were resident) and carries the few hundred KB of glibc it calls; fat LTO
  makes direct the 141,000 calls between crates that went through a 21,500-entry GOT
  (rustc emits `R_X86_64_GOTPCREL`, which lld cannot relax) and shrinks `.data.rel.ro`
  from 0.73 to 0.53 MiB. What is resident at the peak now: 2.8-3.1 MiB of code (glibc's
  included), 1.3 MiB of read-only data, 0.5 MiB of relocated pointers, 0.4 MiB of heap.
  Not taken: non-PIE (drops ASLR for a root service that takes network input). Benches
  run alone with `cargo bench` measure their own build (dynamic, thin LTO) and say so.
  Overhead: until 2026-12-06 most of it was waiting on the disk: 18 fsyncs, 2
  fdatasyncs and 3 ftruncates per run (the store's `synchronous=FULL` commits, a WAL
  created at each open and checkpointed and deleted at each close, the journal compacted
  at every open, the kill journaled although there is nothing to undo, the lock file
  truncated), 22 ms median on a busy host (7.7×). Now `faultline run`'s store commits with
  `synchronous=NORMAL` (every commit is in the file before the next step, so a killed run
  loses nothing; a power cut may lose the last ones, and it also ends every fault such a
  run applies) and keeps its WAL between runs, checkpointing every 256 pages (the next
  run reads the WAL back before its first query); the journal is compacted only when it
  needs it; instant faults are not journaled; and a run is one thread (context switches
  per run 220 -> 25): no fsync left on P7's path, CPU per run 9.2 -> 6.2 ms (`perf stat`,
  side by side). The run's watchdog (docs/reliability.md) is started only before a fault
  that stays applied, so P7's processKill does not start one; a run that does
  (processPause) used 7.2 ms of CPU, the child included. Measured 2026-12-07 13:50 UTC
  (shipped build, order file fresh, load 0.4, `vs_chaostoolkit` alone): faultline 15.4 ms
  median (12.7-17.7), Chaos Toolkit 336 ms (294-401; 164 ms on 2026-12-03 on this machine
  kind, so the host ran slower that day), 21.9×: the ratio of issue 25 holds, its median
  under 8 ms does not. `perf stat` of the same run: 11.6-15 ms of CPU, so what is left is
  work, not waiting; `perf record` puts it in relocating the static-pie at start (5-6%),
  reading the SQLite WAL back at open (up to 256 pages), and first-touch page faults.
  Until that day a processKill run could also wait 250 ms: the fact-check read the killed
  process while it was still dying and waited a whole read-back interval; apply now waits
  (up to 1 s) for a SIGKILLed process to be gone.
- **P12** `service/benches/console_load.rs`: the web console's runs page with 10,000 runs
  stored: HTML + script + stylesheet bytes with headers, uncompressed; the page and the
  first page of runs it asks the API for, sequential requests over one connection (p99);
  then `bench/console_render.py` loads the page in headless chromium and reads the
  script's `faultline-ready` mark (from navigation start to the 50 runs drawn; the first
  load, which warms chromium, is not counted).
- **P12** `service/benches/live_lag.rs`: the live view's lag with 10 runs streaming at
  once. Ten real runs (each pauses its own `sleep` process; an HTTP check every 100 ms
  records an event), each followed by an SSE client, and the first also by the console's
  live view in headless chromium (`bench/live_lag.py`, a MutationObserver on the events
  table). Lag: an event's stored time to its SSE frame read, and to its row drawn.
- **P9** `node-agent/benches/http_passthrough.rs`: a hyper server in one test namespace,
  `wrk -c16` (5 s, small GET, keep-alive) in the other, three ways in one run: direct;
  through the HTTP faults' proxy (an `httpDelay` whose `match` picks no request, so every
  request is passed on untouched: `tproxy` rule, hyper server and client); through Debian's
  `haproxy` (`mode http`, keep-alive to the server) in the server's namespace. The server,
  the proxy and `wrk` share the 2 cores, so the ratios, not the absolute figures, are the
  result. Since 2026-12-07 each proxy runs on its own thread, entered into the target's
  netns at start, with a single-threaded runtime (`httpproxy/runtime.rs`): upstream
  sockets are made in place and a request's two tasks wake each other on one core. The
  bench before/after that change, alternated 3 times each in one session (`--quick`, load
  7.6-8.2 from other builds): throughput 29% -> 54% of direct (medians; 21-58% ->
  34-55%), added p50 unchanged (+257 -> +258 µs); haproxy beside them 35-85%, +120-240 µs.
  Since 2026-12-07 13:00 UTC each way is also measured with one connection (`wrk -c1`, 3 s,
  requests one after another), and the added-latency goal is judged there: at 16
  saturating connections the p50 is mostly time queued behind other requests (16 /
  throughput), so it restated the throughput row. On a quiet machine (load 0.6, release
  bench build, 3 repeats): one connection direct p50 85-89 µs, through faultline's proxy
  108-116 µs (+24 µs), through haproxy 102-110 µs (+23 µs); saturated, 35% of direct
  throughput for faultline and 41% for haproxy. The throughput goal (≥ 80%) is met by
  neither: the proxy does the server's socket work twice over (client side and upstream)
  plus an HTTP parse on the same 2 cores as the server and `wrk`.
- **P8** `service/benches/pods_inject.rs`: one run of the real engine in cluster mode
  pauses 10,000 pods spread over 10 nodes; each node's agent is a real `faultline-agent` on
  its own loopback address. The Kubernetes API is kube's mock service with real PodList
  pages (500 per page) through the client-side rate limit; every pod's container is a real
  cgroup (`cri-containerd-<id>.scope`) holding a real process, which its agent finds from
  the container ID and SIGSTOPs. Time = run start -> all 10,000 `FaultApplied` persisted;
  each round checks all 10,000 processes were stopped while the fault held and none after.
  `service/benches/kube_resolve.rs` times resolving alone.
- **P15** `service/benches/id_token_verify.rs`: a GitLab CI ID token (RS256, 2048-bit
  key, GitLab's claim shape) verified call by call on one thread once its key is cached:
  header checks, signature (ring), iss/aud/exp/nbf/iat and the trust policies; beside it
  the RS256 signature check alone (`jsonwebtoken::crypto::verify`). Samples are each
  repeat's p99 (or p50) of 20,000 calls.
- **P14** `service/benches/failover.rs`: three `faultline serve` replicas on one real
  PostgreSQL 15 (`storeLeaseTtl` 5 s) and one node agent; each trial starts a run pausing
  a process through one replica, kills that replica with SIGKILL mid-fault, and times the
  kill -> the process running again (the fault removed by the adopting replica through
  the agent) and -> the run's `error: replica lost` verdict read through another replica.
  20 trials (5 with `--quick`).
- **P13** `service/benches/replicas_intake.rs`: GitLab Pipeline Hooks with unique uuids,
  each matched into a catalog experiment whose one step waits 100 ms (`suspend`: no
  fault, whose pauses would overlap on a shared target across hundreds of concurrent
  runs), so every delivery is recorded (deduplicated by uuid) and starts a run, driven
  to its end; wrk, 24
  connections, 3 s, to one `serve` on SQLite and then split over three `serve` replicas
  on one PostgreSQL 15, alternating, 3 repeats, each load started once the machine is
  quiet again (the runs the previous load started have ended). The ratio is per repeat; the replicas' p99 is the worst replica's. The p99
  goal is judged on a paced load (40 deliveries a second on schedule, open loop, round
  robin over the replicas), since at saturation every request waits behind the 24 in
  flight and the p99 measures that queue. The
  database, the replicas and wrk share the machine's cores, so the ratio measures what
  sharing the store costs on one host more than what three hosts would give.

## The rows that move with the shared cores

- **P6 row d (recorded deliveries).** A delivery that would start runs is recorded before
  anything starts, so a resent one is answered, not run twice: an INSERT, durable
  (`synchronous=FULL`) before anything starts, and an UPDATE with the answer, queued before
  the reply but not waited for (the claim is what stops a second run). One writer thread
  group-commits them (`service/src/store/deliveries.rs`), so concurrent deliveries share
  an fsync. The row went from 1.96k/s (two commits each, one at a time) to 12.8k/s group
  committed (2026-12-02) and 21.9k/s at p99 5.1 ms on a quiet machine, still waiting for
  both commits; waiting for the claim alone (2026-12-03): 31.7k/s at p99 4.4 ms (64
  connections, load 1.5-2.0), 25.5k/s at p99 3.5 ms (32, load 0.0-1.8), and 19.3k/s at
  p99 4.1 ms on a busy host, whose single-threaded steps (the table `webhook_intake` prints
  first) ran 40-55% slower than in the 25.5k/s run and its commits twice as slow. Recorded
  deliveries are kept for the GitLab config's `keepDeliveries` (30 days), so the table and
  its uuid index stay a month deep. Deliveries no rule wants (rows a and b) are never
  written.
- **P6 row c** depends most on what else the shared cores run: 19.6k/s (p99 5.5 ms) at a
  load average of 1.8-3.0 on 2026-12-02 16:00, 34.9k/s (p99 3.2 ms) at 0.7-1.3 at 18:00,
  and 34.0k to 56.3k/s on 2026-12-03, with the same code on the request path.
- **P10** `node-agent/benches/dns_passthrough.rs`: a client in a netns asks b's nameserver
  (a minimal UDP responder in a second netns, behind a veth) for names no fault matches,
  first directly, then with a DNS fault applied (nft redirect to the agent's resolver,
  which forwards upstream): 32 threads with one query in flight each for the throughput,
  one query at a time for the p50 round trip; alternating rounds, same client (this
  bench's own Rust UDP client, on the same two cores as the proxy and the responder).
  Each client socket has its own source port: kernel-chosen ports were now and then
  reused, and the reused flow's conntrack entry sent it around the proxy or, after a
  recovery, to the stopped proxy (fixed since: apply and recovery now delete port 53's
  conntrack entries, docs/faults.md dnsError). Before
  the proxy reused its upstream sockets (one socket, hence one `setns`, per query) it
  passed 13.8k queries/s.
- **P11** `node-agent/benches/apply_to_verified.rs`: per kind this kernel can carry out,
  prepare + apply + settle through the kind's executor (what the agent does for a request),
  then read back as the engine's verify does (at once, then every 250 ms) until effective;
  the time from the start to that read-back. Kinds seen on the first read-back show the
  executor's own time; stressCpu waits for its cgroup's CPU time to rise (two or three
  read-backs). Until 2026-12-07 the bench skipped settle and processPause and processKill
  were read while the signal was still being delivered (252 ms, the 250 ms grid); a kill's
  settle did not wait either, so a real run's fact-check did the same. With both: pause
  p50 2.4 ms, kill 2.3 ms (`--quick`, 10 samples, quiet machine, 2026-12-07 14:00 UTC). Every fault is recovered and checked gone. Not here: netem kinds (kernel
  tier), ioThrottle (needs a blkio device the bench does not set up), pod and node kinds
  (Kubernetes).
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("--kernel-log")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--load-start", default="")
    ap.add_argument("--layout", default="")
    ap.add_argument("--seconds", default="?")
    ap.add_argument("--failed", nargs="*", default=[])
    args = ap.parse_args()
    measures = []
    with open(args.results) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                x = json.loads(line)
                for k in ("id", "name", "label", "unit", "samples"):
                    if k not in x:
                        raise ValueError(f"missing field `{k}`")
                if not x["samples"]:
                    raise ValueError("field `samples` is empty")
            except ValueError as e:
                sys.exit(f"{args.results}:{n}: {e}")
            measures.append(x)
    t = Table(measures)
    build(t, kernel_figure(args.kernel_log))
    text = render(t, machine(args.load_start), args)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
