//! Progress lines for people watching a run in a terminal (`faultline run`, `demo`).

use super::event::RunEvent;

/// One line per event, for `faultline run` and `demo`.
pub fn print_progress(ev: &RunEvent) {
    match ev {
        RunEvent::StateChanged { to, reason } if reason.is_empty() => println!("  -> {to}"),
        RunEvent::StateChanged { to, reason } => println!("  -> {to}: {reason}"),
        RunEvent::CheckEvaluated {
            check,
            phase,
            value,
            expect,
            ok,
            error,
        } => {
            let v = value.map_or_else(|| error.clone().unwrap_or_default(), |v| format!("{v:.4}"));
            println!(
                "     check {check} ({phase}) = {v} [{expect}] {}",
                if *ok { "ok" } else { "NOT MET" }
            );
        }
        RunEvent::FaultApplied {
            kind, target, step, ..
        } => println!("     + {kind} on {target} ({step})"),
        RunEvent::FaultVerified { .. } | RunEvent::FaultUnverified { .. } => {
            println!("     {}", super::verification_summary(ev))
        }
        RunEvent::FaultRecovered { fault, outcome } => {
            println!("     - {fault} recovered: {outcome}")
        }
        RunEvent::Note { message } => println!("     {message}"),
        RunEvent::StatusCheckDecided {
            check,
            passed,
            decision,
            ..
        } => println!(
            "     status check {check} {}: {decision}",
            if *passed { "PASSED" } else { "FAILED" }
        ),
        RunEvent::TaskFinished { .. } => println!("     {}", super::task_summary(ev)),
        RunEvent::CheckCompared { check, comparison } => println!(
            "     check {check} (during vs before) {}: {}",
            if comparison.ok { "ok" } else { "NOT MET" },
            comparison.reason
        ),
    }
}
