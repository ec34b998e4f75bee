//! One experiment from spec to written reports: create the run, drive it, write the HTML,
//! JSON and JUnit reports. Shared by `faultline run`, `faultline demo` and the server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use faultline_spec::Experiment;

use crate::application::engine::inject::Injector;
use crate::application::engine::runner::{RunOptions, Runner};
use crate::application::ports::observe::FnObserver;
use crate::application::ports::{RunStore, StoreError};
use crate::application::report::{Report, to_html, to_junit};
use crate::domain::GitlabContext;
use crate::domain::RunState;

/// Why a run could not be created, or its reports built or written.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    /// The experiment does not serialise to the JSON stored with the run.
    #[error("serialising the experiment")]
    SerialiseExperiment(#[source] serde_json::Error),
    /// The run could not be created in the store.
    #[error("creating the run in the store")]
    Create(#[source] StoreError),
    /// The run could not be read back for its report.
    #[error("reading the run")]
    ReadRun(#[source] StoreError),
    /// The run's events could not be read back for its report.
    #[error("reading the run's events")]
    ReadEvents(#[source] StoreError),
    /// The report does not serialise to JSON.
    #[error("serialising the report")]
    SerialiseReport(#[source] serde_json::Error),
    /// A report directory or file could not be written.
    #[error("{action} {}", path.display())]
    Write {
        /// `creating` (the directory) or `writing` (a file).
        action: &'static str,
        /// The directory or file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// How a finished run went and where its reports are.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The run's id.
    pub run: String,
    /// The verdict.
    pub verdict: RunState,
    /// Why.
    pub reason: String,
    /// Directory holding `report.html`, `report.json` and `junit.xml`.
    pub reports: PathBuf,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// A fresh run id: 12 lowercase hex characters, short enough to prefix fault ids.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Creates a `pending` run of `exp` in the store (the experiment stored as JSON) and
/// returns its id; nothing is started.
pub fn create_run(store: &dyn RunStore, exp: &Experiment) -> Result<String, RunsError> {
    create_run_from(store, exp, None)
}

/// [`create_run`] for a run that GitLab event `gitlab` triggered.
pub fn create_run_from(
    store: &dyn RunStore,
    exp: &Experiment,
    gitlab: Option<&GitlabContext>,
) -> Result<String, RunsError> {
    let run = new_run_id();
    let spec_json = serde_json::to_string(exp).map_err(RunsError::SerialiseExperiment)?;
    store
        .create_run_from(&run, &exp.metadata.name, &spec_json, gitlab)
        .map_err(RunsError::Create)?;
    Ok(run)
}

/// The report of run `run` as it stands in the store (final once the run is terminal).
pub fn build_report(store: &dyn RunStore, run: &str) -> Result<Report, RunsError> {
    let row = store.run(run).map_err(RunsError::ReadRun)?;
    let events = store.events(run).map_err(RunsError::ReadEvents)?;
    Ok(Report::build(&row, events))
}

/// Runs `exp` to its verdict. Ctrl-C or SIGTERM aborts it (faults are recovered first).
pub async fn run_experiment(
    store: Arc<dyn RunStore>,
    injector: Injector,
    opts: RunOptions,
    exp: &Experiment,
    report_root: &Path,
    progress: Option<fn(&crate::domain::RunEvent)>,
) -> Result<Finished, RunsError> {
    // Listening before the run exists: a signal from here on aborts it, never kills the
    // process between an injection and its journal (a listener registered inside the
    // spawned task would only listen once that task is first polled).
    let signal = termination_signal();
    // The report's templates are parsed on a spare thread while the run waits on its
    // probes, not after the verdict, where the user waits for the exit.
    tokio::task::spawn_blocking(crate::application::report::prepare_html);
    let run = create_run(&*store, exp)?;
    let mut opts = opts;
    if let Some(p) = progress {
        opts.observers.push(Arc::new(FnObserver(p)));
    }
    let runner = Runner::new(store.clone(), injector, opts, run.clone(), exp.clone());
    let abort = runner.abort_handle();
    let signals = tokio::spawn(async move {
        let reason = signal.await;
        abort.abort(reason);
    });
    let verdict = runner.execute().await;
    signals.abort();

    let report = build_report(&*store, &run)?;
    let dir = report_root.join(&run);
    std::fs::create_dir_all(&dir).map_err(|source| RunsError::Write {
        action: "creating",
        path: dir.clone(),
        source,
    })?;
    let write = |name: &str, body: String| {
        let path = dir.join(name);
        std::fs::write(&path, body).map_err(|source| RunsError::Write {
            action: "writing",
            path,
            source,
        })
    };
    write("report.html", to_html(&report))?;
    write(
        "report.json",
        serde_json::to_string_pretty(&report).map_err(RunsError::SerialiseReport)?,
    )?;
    write("junit.xml", to_junit(&report))?;
    Ok(Finished {
        run,
        verdict,
        reason: report.reason.clone(),
        reports: dir,
        seconds: report.duration_seconds.unwrap_or(0.0),
    })
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM from the moment it is called (not from the
/// first poll, as [`wait_for_signal`] does); resolves with the reason of the first.
#[cfg(unix)]
pub fn termination_signal() -> impl std::future::Future<Output = String> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => tokio::select! {
                _ = int.recv() => "interrupted (Ctrl-C)".into(),
                _ = term.recv() => "terminated (SIGTERM)".into(),
            },
            _ => wait_for_signal().await,
        }
    }
}

/// [`termination_signal`] where only Ctrl-C exists.
#[cfg(not(unix))]
pub fn termination_signal() -> impl std::future::Future<Output = String> + Send + 'static {
    wait_for_signal()
}

/// Resolves on Ctrl-C or SIGTERM with the reason, e.g. `terminated (SIGTERM)`.
#[cfg(unix)]
pub async fn wait_for_signal() -> String {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "interrupted (Ctrl-C)".into();
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted (Ctrl-C)".into(),
        _ = term.recv() => "terminated (SIGTERM)".into(),
    }
}

/// Resolves on Ctrl-C with the reason.
#[cfg(not(unix))]
pub async fn wait_for_signal() -> String {
    let _ = tokio::signal::ctrl_c().await;
    "interrupted (Ctrl-C)".into()
}
