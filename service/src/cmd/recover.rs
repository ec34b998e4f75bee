//! `faultline recover`: remove what a killed `faultline run` left, from the journal.

use anyhow::Context;

use super::watchdog::open_agent;

use crate::cli::StateArgs;

/// Runs `recover`; exit 1 when something could not be recovered.
pub fn run(args: &StateArgs) -> anyhow::Result<u8> {
    let dir = args.state_dir.join("agent");
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // As `recover_state_dir`, but waiting for a killed run's watchdog that is recovering.
    let report = rt
        .block_on(async {
            let agent = open_agent(&dir, None).await?;
            let report = agent.startup_report().clone();
            agent.shutdown().await?;
            Ok::<_, faultline_agent::AgentError>(report)
        })
        .with_context(|| format!("recovering from {}", dir.display()))?;
    for r in &report.recovered {
        println!("recovered {} ({}): {:?}", r.id, r.kind, r.outcome);
    }
    for (id, why) in &report.failed {
        println!("NOT recovered {id}: {why}");
    }
    if report.recovered.is_empty() && report.failed.is_empty() {
        println!(
            "nothing to recover: the journal in {} holds no active fault",
            dir.display()
        );
    }
    Ok(u8::from(!report.failed.is_empty()))
}
