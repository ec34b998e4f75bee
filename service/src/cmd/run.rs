//! `faultline run FILE`: experiments on this machine through the in-process agent.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use faultline::application::engine::inject::Injector;
use faultline::application::engine::plan::{guard_refusal, plan};
use faultline::application::engine::plan_checks::planned_checks;
use faultline::application::engine::runner::{RunOptions, confirm_recovered};
use faultline::application::probes::PrometheusClient;
use faultline::application::runs::run_experiment;
use faultline::domain::RunState;
use faultline::domain::progress::print_progress;
use faultline::notify::{Channels, Notifier, RetryPolicy, check_experiment};
use faultline::store::Store;
use faultline_spec::{Experiment, load_file};

use super::watchdog::{Watchdog, open_agent};
use crate::cli::{GrafanaArgs, OtlpArgs, RunArgs};
use faultline::application::ports::AnnotationQueue;
use faultline::outputs::grafana::ReportLink;
use faultline::outputs::grafana_shared::SharedQueue;
use faultline::outputs::{GrafanaObserver, TraceObserver};
use faultline_exporter::Tracing;
use faultline_exporter::grafana::{GrafanaConfig, SenderConfig};

/// Exit code: every experiment passed.
pub const PASSED: u8 = 0;
/// Exit code: a steady-state check failed.
pub const FAILED: u8 = 1;
/// Exit code: aborted, error, or invalid input.
pub const NOT_A_VERDICT: u8 = 2;

/// How long `faultline run` waits for pending notifications before exiting.
const NOTIFY_WAIT: Duration = Duration::from_secs(30);

/// Loads `--notify-config` and checks the experiments' own `notify:` entries against it.
fn notify_setup(args: &RunArgs, exps: &[Experiment]) -> anyhow::Result<Option<Channels>> {
    let Some(path) = &args.notify.notify_config else {
        if exps.iter().any(|e| !e.spec.notify.is_empty()) {
            println!("note: notify: entries are not sent without --notify-config");
        }
        return Ok(None);
    };
    let reports = std::path::absolute(args.state.state_dir.join("reports"))
        .unwrap_or_else(|_| args.state.state_dir.join("reports"));
    let link = format!("file://{}/{{run}}/report.html", reports.display());
    let channels = Notifier::load(path, args.notify.notify_templates.as_deref(), Some(link))?;
    let problems: Vec<String> = exps
        .iter()
        .flat_map(|e| check_experiment(channels.config(), e))
        .collect();
    anyhow::ensure!(
        problems.is_empty(),
        "notifications cannot be sent:\n{}",
        problems.join("\n")
    );
    Ok(Some(channels))
}

/// The exit code for a verdict.
pub fn exit_code(v: RunState) -> u8 {
    match v {
        RunState::Passed => PASSED,
        RunState::Failed => FAILED,
        _ => NOT_A_VERDICT,
    }
}

/// Runs `run`.
pub fn run(args: &RunArgs) -> anyhow::Result<u8> {
    // Not clap `requires`: `serve` shares these flags, and its config file may give the
    // partner, so each command checks the pair itself.
    if args.grafana.grafana_url.is_some() && args.grafana.grafana_token_file.is_none() {
        anyhow::bail!("--grafana-url needs --grafana-token-file (a service-account token)");
    }
    if args.notify.notify_templates.is_some() && args.notify.notify_config.is_none() {
        anyhow::bail!("--notify-templates needs --notify-config");
    }
    let exps = match load_file(&args.file) {
        Ok(e) => e,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(NOT_A_VERDICT);
        }
    };
    if args.dry_run {
        for exp in &exps {
            println!(
                "experiment {} (dry run: nothing is injected)",
                exp.metadata.name
            );
            if let Some(refusal) = guard_refusal(exp) {
                println!("  would be refused: {refusal}");
            }
            for f in plan(exp) {
                let d = f.holds();
                println!(
                    "  t+{:>6.1}s  {:<18} {:<10} on {} ({})",
                    f.starts_at_seconds, f.kind, d, f.target, f.step
                );
            }
            for c in planned_checks(exp) {
                println!(
                    "  t+{:>6.1}s  status check {} ({}): {}",
                    c.starts_at_seconds, c.check, c.step, c.explain
                );
            }
        }
        return Ok(PASSED);
    }
    let channels = match notify_setup(args, &exps) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(NOT_A_VERDICT);
        }
    };
    // One thread: a run is a single experiment's steps, checks and probes, all waiting on
    // I/O (the agent has its own thread). Worker threads only added their start and a
    // cross-thread wake-up per probe and per agent call to every run (P7).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let r: anyhow::Result<_> = rt.block_on(async {
        std::fs::create_dir_all(&args.state.state_dir)
            .with_context(|| format!("creating state dir {}", args.state.state_dir.display()))?;
        // Opening the agent recovers whatever an earlier, killed run left in the journal
        // (waiting, if that run's watchdog is doing it right now). The watchdog is armed
        // before the first fault that stays applied.
        let watchdog = Watchdog::new(&args.state.state_dir);
        // The agent opens on its own thread while this one opens the store: neither needs
        // the other, and each took about a millisecond of every run (P7).
        let (agent_dir, store_file) = (
            args.state.state_dir.join("agent"),
            args.state.state_dir.join("faultline.db"),
        );
        let (agent, store) = tokio::join!(open_agent(&agent_dir, Some(&watchdog)), async {
            Store::open_local(&store_file)
        });
        let agent = agent.context("opening the in-process agent")?;
        let report = agent.startup_report();
        if !report.recovered.is_empty() {
            println!(
                "recovered {} fault(s) a previous run left behind",
                report.recovered.len()
            );
        }
        let store = store.context("opening the run store")?;
        // What a killed run left active, confirmed recovered (the journal did it as the
        // agent opened) and recorded on its run before the run is ended.
        let in_process = Injector::InProcess(Arc::new(agent.clone()));
        let confirmed = confirm_recovered(&store, &in_process, None).await?;
        if !confirmed.is_empty() {
            println!(
                "confirmed {} fault(s) of interrupted runs recovered",
                confirmed
                    .iter()
                    .filter(|c| c.outcome.is_recovered())
                    .count()
            );
        }
        let interrupted = store.fail_interrupted("the faultline process running it was killed")?;
        if !interrupted.is_empty() {
            println!("marked {} interrupted run(s) as error", interrupted.len());
        }
        let grafana = grafana_observer(
            &args.grafana,
            &args.state.state_dir,
            report_files(&args.state.state_dir),
            None,
        )?;
        let mut opts = RunOptions {
            lease: args.lease.std().max(Duration::from_secs(3)),
            prometheus: args
                .prometheus
                .as_deref()
                .map(|u| PrometheusClient::new(u, Duration::from_secs(5))),
            ..RunOptions::default()
        };
        if let Some(g) = &grafana {
            opts.observers.push(g.clone());
        }
        let traces = trace_observer(&args.otlp)?;
        if let Some((_, t)) = &traces {
            opts.observers.push(t.clone());
            // Fault spans open before their apply call, which carries them to the agent.
            opts.fault_traces = Some(t.clone());
        }
        let store = Arc::new(store);
        let notifier = channels.map(|c| Notifier::start(c, store.clone(), RetryPolicy::default()));
        if let Some(n) = &notifier {
            opts.observers.push(n.observer());
        }
        let agent = Arc::new(agent);
        let mut worst = PASSED;
        for exp in &exps {
            println!("experiment {}", exp.metadata.name);
            let done = run_experiment(
                store.clone(),
                Injector::InProcess(agent.clone()),
                opts.clone(),
                exp,
                &args.state.state_dir.join("reports"),
                Some(print_progress),
            )
            .await?;
            println!("verdict: {} — {}", done.verdict, done.reason);
            println!("report:  {}", done.reports.join("report.html").display());
            worst = worst.max(exit_code(done.verdict));
            if matches!(done.verdict, RunState::Aborted) {
                break;
            }
        }
        // Goodbye to the watchdog only when nothing is left applied; otherwise it retries
        // what is left once this process has exited and released the journal.
        let clean = agent.list().await.is_ok_and(|l| l.is_empty());
        watchdog.goodbye(clean);
        if let Some(g) = grafana {
            // A one-shot process: give Grafana a moment; what it does not take stays
            // queued on disk and goes out with the next run (or `serve`).
            let left = g.sender().flush(Duration::from_secs(10)).await;
            if left > 0 {
                println!(
                    "grafana: {left} annotation(s) not sent yet; kept queued under the state dir"
                );
            }
        }
        if let Some((t, _)) = traces {
            // A one-shot process: send every run's spans before exiting.
            if let Err(e) = t.shutdown().await {
                println!("traces: {:#}", anyhow::Error::from(e));
            }
        }
        if let Some(n) = notifier {
            println!("{}", n.finish(NOTIFY_WAIT).await?);
        }
        Ok((worst, (store, agent, watchdog)))
    });
    let (worst, _left_open) = r?;
    // A one-shot process ends here, without taking down what it opened: every record is
    // committed, the journal fsync'd, and nothing is left applied (else the watchdog has
    // it). Closing the store, stopping the agent's thread and joining the runtime's idle
    // threads took about a millisecond of every run (P7); the kernel releases them all at
    // exit. stdout is line-buffered, so this flush only says so.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(i32::from(worst))
}

/// Links to the reports `faultline run` writes under `state_dir`.
fn report_files(state_dir: &std::path::Path) -> ReportLink {
    let root = std::path::absolute(state_dir.join("reports"))
        .unwrap_or_else(|_| state_dir.join("reports"));
    Box::new(move |run| format!("file://{}/{run}/report.html", root.display()))
}

/// The Grafana annotation observer `args` ask for, if any (for `run` and `serve`). Its
/// queue is a file under `state_dir`, or `shared`, the queue of the replicas on one
/// PostgreSQL store. Needs a tokio runtime.
pub fn grafana_observer(
    args: &GrafanaArgs,
    state_dir: &std::path::Path,
    report_link: ReportLink,
    shared: Option<Arc<dyn AnnotationQueue>>,
) -> anyhow::Result<Option<Arc<GrafanaObserver>>> {
    let (Some(url), Some(token_file)) = (&args.grafana_url, &args.grafana_token_file) else {
        return Ok(None);
    };
    let cfg = GrafanaConfig {
        url: url.clone(),
        token_file: token_file.clone(),
        dashboard_uid: args.grafana_dashboard_uid.clone(),
        timeout: Duration::from_secs(5),
    };
    let obs = match shared {
        Some(store) => GrafanaObserver::start_with(
            cfg,
            Box::new(SharedQueue::new(store)),
            SenderConfig::default(),
            report_link,
        ),
        None => GrafanaObserver::start(cfg, state_dir, SenderConfig::default(), report_link),
    }
    .context("starting Grafana annotations")?;
    Ok(Some(Arc::new(obs)))
}

/// The OTLP trace export and its run observer that `args` ask for, if any (for `run` and
/// `serve`). Needs a tokio runtime; shut the [`Tracing`] down before exiting.
pub fn trace_observer(args: &OtlpArgs) -> anyhow::Result<Option<(Tracing, Arc<TraceObserver>)>> {
    let Some(endpoint) = args.endpoint() else {
        return Ok(None);
    };
    let export = Tracing::start(&endpoint, "faultline").context("starting OTLP trace export")?;
    tracing::info!(
        endpoint = export.endpoint(),
        "exporting run traces over OTLP/HTTP"
    );
    let observer = Arc::new(TraceObserver::new(
        export.tracer(faultline::outputs::traces::SCOPE),
    ));
    Ok(Some((export, observer)))
}
