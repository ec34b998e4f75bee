//! `faultline validate FILE...`: decode every file, print every error (compiler style, one
//! per line on stderr), optionally print the native form; exit 0 when all are valid, 2 if not.

use std::io::Read;

use anyhow::Context;
use faultline_spec::{Experiment, SpecErrors, load_file, load_str, yaml};

use crate::cli::{OutputFormat, ValidateArgs};

/// Exit code when any file is invalid.
pub const INVALID: u8 = 2;

fn load(path: &std::path::Path) -> Result<Vec<Experiment>, SpecErrors> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            return Err(SpecErrors {
                file: "-".into(),
                errors: vec![faultline_spec::SpecError::new(
                    "",
                    1,
                    1,
                    format!("cannot read stdin: {e}"),
                )],
            });
        }
        return load_str(&text, "-");
    }
    load_file(path)
}

/// One line per `check:` step: what it requests, how it is decided, and what a failure
/// does to the run (the verdict fails; with `abortRun` the run also stops at once).
pub fn status_check_lines(e: &Experiment) -> Vec<String> {
    e.spec
        .check_steps()
        .iter()
        .map(|c| format!("status check {}: {}", c.name, c.explain()))
        .collect()
}

/// The warning for an experiment whose faults hold until aborted (Chaos Mesh chaos
/// without `duration`), said once per experiment; `None` when it has none.
pub fn until_aborted_warning(e: &Experiment) -> Option<String> {
    let n = e
        .spec
        .fault_steps()
        .iter()
        .filter(|f| f.until_aborted)
        .count();
    if n == 0 {
        return None;
    }
    let bound = match e.spec.guard.max_duration {
        Some(d) => format!("guard.maxDuration, {d}"),
        None => format!(
            "guard.maxDuration, unset: the service's maxDuration, default {}",
            faultline_spec::Guard::DEFAULT_MAX_DURATION
        ),
    };
    Some(format!(
        "experiment {}: {n} fault step{} without `duration` hold{} until the run is aborted (Ctrl-C, the API, the emergency stop), at most {bound}",
        e.metadata.name,
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" },
    ))
}

/// The note for an experiment with task steps, which only cluster mode runs; `None`
/// when it has none.
pub fn task_warning(e: &Experiment) -> Option<String> {
    let n = faultline_spec::task::count_tasks(&e.spec.steps);
    (n > 0).then(|| {
        format!(
            "experiment {}: {n} task step{} run{} a container in the cluster: it needs cluster mode (`faultline serve --kubernetes`); `faultline run` refuses it before injecting anything",
            e.metadata.name,
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
        )
    })
}

/// Runs `validate`.
pub fn run(args: &ValidateArgs) -> anyhow::Result<u8> {
    let mut invalid = 0usize;
    let mut experiments = 0usize;
    for path in &args.files {
        match load(path) {
            Ok(exps) => {
                experiments += exps.len();
                tracing::info!(file = %path.display(), experiments = exps.len(), "valid");
                for e in &exps {
                    if let Some(w) = until_aborted_warning(e) {
                        eprintln!("{}: warning: {w}", path.display());
                    }
                    if let Some(w) = task_warning(e) {
                        eprintln!("{}: warning: {w}", path.display());
                    }
                    if let Some(n) = e
                        .spec
                        .schedule
                        .as_ref()
                        .and_then(|s| s.policy().history_limit)
                    {
                        // Said once here and in docs/schedules.md: accepted, not enforced.
                        eprintln!(
                            "{}: note: experiment {}: historyLimit {n} is kept and shown, not enforced: faultline keeps every run",
                            path.display(),
                            e.metadata.name
                        );
                    }
                }
                if args.explain {
                    for e in &exps {
                        let text = match args.format {
                            OutputFormat::Yaml => {
                                let checks: String = status_check_lines(e)
                                    .iter()
                                    .map(|l| format!("# {l}\n"))
                                    .collect();
                                format!(
                                    "---\n{}{checks}",
                                    yaml::to_yaml(e).context("printing YAML")?
                                )
                            }
                            OutputFormat::Json => {
                                // JSON has no comments: what the checks do goes to stderr.
                                for l in status_check_lines(e) {
                                    eprintln!("{}: {l}", path.display());
                                }
                                serde_json::to_string_pretty(e).context("printing JSON")? + "\n"
                            }
                        };
                        print!("{text}");
                    }
                } else {
                    println!(
                        "{}: ok ({} experiment{})",
                        path.display(),
                        exps.len(),
                        if exps.len() == 1 { "" } else { "s" }
                    );
                }
            }
            Err(errs) => {
                invalid += 1;
                eprintln!("{errs}");
            }
        }
    }
    if invalid > 0 {
        eprintln!("{invalid} of {} file(s) invalid", args.files.len());
        return Ok(INVALID);
    }
    tracing::info!(files = args.files.len(), experiments, "all valid");
    Ok(0)
}
