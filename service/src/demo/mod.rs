//! `faultline demo`: the whole product on one machine, in under a minute, touching
//! nothing outside its own sandbox. A web server runs in a fresh network namespace; three
//! experiments with HTTP steady-state checks run against it through the in-process agent:
//!
//! 1. CPU stress on the server's process — the SLOs hold: **passed**;
//! 2. a bandwidth limit on its namespace — the latency SLO breaks: **failed**;
//! 3. a partition from the host — availability crosses its abort bound: **aborted**, the
//!    fault is recovered at once and the service comes back.
//!
//! Then it proves no fault outlived its run: the agent's journal holds nothing active.

mod prometheus;
mod sandbox;
pub mod web;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use faultline_agent::agent::Agent;
use faultline_spec::load_str;

use crate::application::engine::inject::Injector;
use crate::application::engine::runner::RunOptions;
use crate::application::probes::PrometheusClient;
use crate::application::runs::run_experiment;
use crate::domain::RunState;
use crate::domain::progress::print_progress;
use crate::store::Store;
use sandbox::{HOST_ADDR, Sandbox};

/// Where the demo keeps its state.
pub struct DemoOptions {
    /// State directory: the store, the agent journal, reports.
    pub state_dir: PathBuf,
}

/// The three experiments, as a user would write them, with the sandbox's values filled in.
fn experiments(sb: &Sandbox, with_prometheus: bool) -> String {
    let pid = sb.web_pid();
    let ns = &sb.netns;
    let root = sb.url("/");
    let big = sb.url("/big");
    // With Prometheus, the first and last experiments also hold a PromQL SLO: the server
    // is scraped (so it is reachable from the host) before and after the faults.
    let scraped = if with_prometheus {
        "    - name: scraped-by-prometheus\n      prometheus: 'max_over_time(up{job=\"demo-web\"}[5s])'\n      expect: \">= 1\"\n      phases: [before, after]\n      recoveryWithin: 15s\n"
    } else {
        ""
    };
    // Each verdict must hold by a margin on a loaded host, not by luck. What such a host
    // measures (2 cores, `stress-ng --cpu 2` plus other builds, load 5-8, 36 demo runs):
    // the small page and the unthrottled big page answer in 1-210 ms. A `during` window
    // is the last five requests, so its p99 is its slowest: one slow request among the
    // ~50 a run sends decides, and thresholds that must hold sit at 5x and more above
    // 210 ms. Those that must break are broken by the fault's own physics, which a busy
    // CPU can only make worse.
    format!(
        r#"# Designed to pass. p99 under 1 s (~5x the slowest answer measured) and a request
# fails only after 2 s (~10x). With `p99 < 500ms` and 1 s, one slow request in ~600
# measured on a loaded host came within 2.4x of failing the run. recoveryWithin: the
# `after` phase re-measures a slow judgement rather than failing on it.
apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: demo-cpu-stress }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "{root}", every: 200ms, timeout: 2s }}
      expect: ">= 0.99"
      recoveryWithin: 10s
    - name: latency-p99
      http: {{ url: "{root}", every: 200ms, timeout: 2s }}
      expect: "p99 < 1s"
      recoveryWithin: 10s
{scraped}  steps:
    - name: cpu-80
      stressCpu: {{ workers: 1, load: 80 }}
      duration: 4s
---
# Designed to fail. At 256 kbit/s the 64 KiB page cannot take less than 1.9 s (64 KiB
# less the 4 KB burst; 2.03-2.09 s measured), 2x the 1 s SLO whatever the CPU does, and
# unthrottled it meets the SLO by 5x (at most 190 ms measured), so the `before` check
# holds and the fault is what fails the run. The 3 s timeout lets the figure shown be
# a latency; a slower transfer times out, which fails the check the same. The 4 s step
# outlasts the first throttled request: sent within 300 ms of the limit, it is judged
# 2.1 s later (3.3 s at the latest, timed out).
apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: demo-bandwidth }}
spec:
  target: {{ local: {{ netns: {ns} }} }}
  steadyState:
    - name: big-page-p99
      http: {{ url: "{big}", every: 300ms, timeout: 3s }}
      expect: "p99 < 1s"
      recoveryWithin: 10s
  steps:
    - name: throttle-256kbit
      networkBandwidth: {{ rate: 256kbit, limit: 32KB, buffer: 4KB }}
      duration: 4s
---
# Designed to abort. Before the cut a request has 2 s (~10x the slowest answer
# measured), so the `before` check holds. Cut off, every request times out after those
# 2 s. A `during` window spans five intervals (1 s), less than a timed-out request plus
# the next interval (2.2 s), so the second timed-out request's window holds nothing
# else: availability 0 against abortBelow 0.5, about 4.2 s after the cut, long before
# the 30 s the step would last without the bound.
apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: demo-partition }}
spec:
  target: {{ local: {{ netns: {ns} }} }}
  steadyState:
    - name: availability
      http: {{ url: "{root}", every: 200ms, timeout: 2s }}
      expect: ">= 0.99"
      abortBelow: 0.5
      recoveryWithin: 10s
{scraped}  steps:
    - name: cut-off-host
      networkPartition: {{ peers: ["{HOST_ADDR}/32"], direction: both }}
      duration: 30s
"#
    )
}

/// Runs the demo; `Ok(true)` when every experiment reached the verdict it demonstrates.
pub async fn run(opts: DemoOptions) -> anyhow::Result<bool> {
    if !nix::unistd::geteuid().is_root() {
        bail!(
            "the demo needs root: it creates a network namespace, a veth pair, qdiscs, nftables rules and stress workers"
        );
    }
    std::fs::create_dir_all(&opts.state_dir)
        .with_context(|| format!("creating {}", opts.state_dir.display()))?;
    println!("faultline demo — state in {}", opts.state_dir.display());
    let sandbox = Sandbox::create().context("setting up the demo sandbox")?;
    println!(
        "sandbox: network namespace {} with a web server (pid {}) at {}",
        sandbox.netns,
        sandbox.web_pid(),
        sandbox.url("/")
    );
    let prom = prometheus::start(&format!("{}:{}", sandbox::WEB_ADDR, sandbox::WEB_PORT))
        .await
        .context("starting Prometheus for the demo")?;
    match &prom {
        Some(p) => println!("prometheus: {} scrapes the web server every second", p.url),
        None => println!(
            "prometheus: not installed (apt-get install prometheus); using HTTP checks only"
        ),
    }
    let agent = Arc::new(
        Agent::open(opts.state_dir.join("agent"))
            .await
            .context("opening the in-process agent")?,
    );
    let store =
        Arc::new(Store::open(&opts.state_dir.join("faultline.db")).context("opening the store")?);
    let exps = load_str(&experiments(&sandbox, prom.is_some()), "demo experiments")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let expected = [RunState::Passed, RunState::Failed, RunState::Aborted];
    let mut rows = Vec::new();
    for exp in &exps {
        println!("\n== experiment {}", exp.metadata.name);
        // The `scraped-by-prometheus` check looks back 5 s, which may reach into the
        // experiment before (see `scraped_within`).
        if let Some(p) = &prom
            && !p.scraped_within(Duration::from_secs(15)).await
        {
            println!("   prometheus: no good scrape of the web server for 15 s; going on");
        }
        let finished = run_experiment(
            store.clone(),
            Injector::InProcess(agent.clone()),
            RunOptions {
                prometheus: prom
                    .as_ref()
                    .map(|p| PrometheusClient::new(&p.url, Duration::from_secs(2))),
                ..RunOptions::default()
            },
            exp,
            &opts.state_dir.join("reports"),
            Some(print_progress),
        )
        .await?;
        println!("   verdict: {} — {}", finished.verdict, finished.reason);
        rows.push((exp.metadata.name.clone(), finished));
    }
    let left = agent
        .list()
        .await
        .context("listing the agent's active faults")?;
    println!(
        "\n{:<18} {:<8} {:>7}  report",
        "experiment", "verdict", "seconds"
    );
    let mut as_expected = true;
    for ((name, f), want) in rows.iter().zip(expected) {
        println!(
            "{name:<18} {:<8} {:>7.1}  {}",
            f.verdict.as_str(),
            f.seconds,
            f.reports.join("report.html").display()
        );
        as_expected &= f.verdict == want;
    }
    println!(
        "\nfaults still active after the demo: {} (the agent's journal in {})",
        left.len(),
        opts.state_dir.join("agent").display()
    );
    drop(prom);
    drop(sandbox);
    Ok(as_expected && left.is_empty())
}
