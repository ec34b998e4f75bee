//! Fixtures of the notification tests: finished runs in a real store, and the wait for
//! their notifications to settle. (The Slack and webhook receiver is
//! `faultline_test_support::fakes::receiver`.)

use std::time::{Duration, Instant};

use chrono::Utc;
use faultline::application::ports::observe::{RunInfo, RunObserver};
use faultline::application::ports::{NotificationRow, NotificationStatus};
use faultline::domain::{RunEvent, RunState};
use faultline::store::Store;

/// Writes a finished run like the engine does (a check that failed during a fault), then
/// tells `observer` about the terminal event, as the engine does after persisting it.
pub fn finish_run(
    store: &Store,
    observer: &dyn RunObserver,
    run: &str,
    experiment: &str,
    spec_json: &str,
    verdict: RunState,
) {
    store.create_run(run, experiment, spec_json).unwrap();
    let go = |to| RunEvent::StateChanged {
        to,
        reason: String::new(),
    };
    let check = |phase: &str, value: f64, ok| RunEvent::CheckEvaluated {
        check: "availability".into(),
        phase: phase.into(),
        value: Some(value),
        expect: ">= 0.99".into(),
        ok,
        error: None,
    };
    for ev in [
        go(RunState::CheckingBefore),
        check("before", 1.0, true),
        go(RunState::Injecting),
        RunEvent::FaultApplied {
            fault: format!("{run}-f1-0"),
            kind: "processPause".into(),
            target: "pid 4242".into(),
            step: "processPause#1".into(),
            agent: "in-process".into(),
            node: None,
        },
        RunEvent::FaultVerified {
            step: "processPause#1".into(),
            kind: "processPause".into(),
            affected: 1,
            selected: 1,
            evidence: "pid 4242: state T (stopped)".into(),
        },
        go(RunState::Observing),
        check("during", 0.42, verdict == RunState::Passed),
        go(RunState::Recovering),
        go(RunState::CheckingAfter),
        check("after", 1.0, true),
    ] {
        store.record(run, &ev).unwrap();
    }
    let end = RunEvent::StateChanged {
        to: verdict,
        reason: format!("test verdict {verdict}"),
    };
    store.record(run, &end).unwrap();
    let info = RunInfo {
        id: run.into(),
        experiment: experiment.into(),
        gitlab: None,
    };
    observer.observe(&info, &end, Utc::now());
}

/// The experiment JSON the store keeps, with only what the observer reads: `notify`.
pub fn spec_with_notify(notify: serde_json::Value) -> String {
    serde_json::json!({ "spec": { "notify": notify } }).to_string()
}

/// Polls `store` until every notification of `run` is no longer pending (30 s at most).
pub async fn settled(store: &Store, run: &str) -> Vec<NotificationRow> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = store.notifications(run).unwrap();
        if !rows.is_empty() && rows.iter().all(|r| r.status != NotificationStatus::Pending) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "notifications of {run} still pending after 30 s: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
