//! What happens to a run, as persisted events. The run's report, its SSE stream, metrics
//! and notifications are all derived from this list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::RunState;

/// The most of a task's stdout a run's events keep (the branches saw all of what was
/// read): a chatty container must not bloat the store.
pub const TASK_STDOUT_SHOWN: usize = 1000;

/// One thing that happened to a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum RunEvent {
    /// The run moved to another state.
    StateChanged {
        /// New state.
        to: RunState,
        /// Why (e.g. "not steady, nothing injected", "abort bound breached").
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// A steady-state check was evaluated.
    CheckEvaluated {
        /// Check name.
        check: String,
        /// before | during | after.
        phase: String,
        /// Measured value, if one could be measured.
        value: Option<f64>,
        /// The expectation as written, e.g. `>= 0.99`.
        expect: String,
        /// Whether the value met the expectation.
        ok: bool,
        /// Why no value (probe error), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A check with `compare:` had its `during` samples compared with its `before`
    /// samples, once the faults were removed; this, not `expect`, is its `during` verdict.
    CheckCompared {
        /// Check name.
        check: String,
        /// Both windows' samples, the test's result and the verdict (boxed: it is far
        /// larger than the other events).
        comparison: Box<super::compare::Comparison>,
    },
    /// A fault became active on a target.
    FaultApplied {
        /// Fault id (unique per agent).
        fault: String,
        /// Fault kind name.
        kind: String,
        /// Target as written.
        target: String,
        /// Step name.
        step: String,
        /// Who applied it: `in-process`, a node agent's URL, or `kubernetes-api` (pod
        /// faults, which the service carries out itself). Empty in events stored before
        /// this was recorded.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        agent: String,
        /// The node the target runs on, when known (cluster mode).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// A fault was removed.
    FaultRecovered {
        /// Fault id.
        fault: String,
        /// How: removed, already gone, target gone.
        outcome: String,
    },
    /// A step's fault was seen in effect, read back after the apply (the qdisc, the nft
    /// rules, the cgroup's CPU time, the process state, the pods), on at least the share
    /// of its targets `verify.minCoverage` asks.
    FaultVerified {
        /// Step name.
        step: String,
        /// Fault kind name.
        kind: String,
        /// Targets it was seen on.
        affected: usize,
        /// Targets selected.
        selected: usize,
        /// What was read, per target (`TARGET: evidence`, `; `-joined).
        evidence: String,
    },
    /// A step's fault was not seen in effect on enough of its targets within
    /// `verify.within`: the run ends `error` and every fault is recovered.
    FaultUnverified {
        /// Step name.
        step: String,
        /// Fault kind name.
        kind: String,
        /// Targets it was seen on.
        affected: usize,
        /// Targets selected.
        selected: usize,
        /// What was read, per target, at the last look.
        evidence: String,
    },
    /// A `check:` step (a status check) reached its result: passed or failed after its
    /// consecutive threshold, or its time bound came first. Its answers before this are
    /// `CheckEvaluated` events of phase `step`.
    StatusCheckDecided {
        /// The check's name.
        check: String,
        /// The step's label.
        step: String,
        /// Whether the check passed.
        passed: bool,
        /// How it was decided and what that does to the run, e.g. "failed after 3
        /// consecutive failures (status 500, expected 200); the run goes on, and its verdict
        /// fails".
        decision: String,
    },
    /// A task step's container exited: what it left, and which branches it picked.
    TaskFinished {
        /// Step name.
        step: String,
        /// The task's pod, `NS/NAME` (deleted by now).
        pod: String,
        /// The container's exit code.
        exit_code: i32,
        /// Its log, whitespace trimmed, cut at [`TASK_STDOUT_SHOWN`] characters.
        stdout: String,
        /// The branches whose condition held (`branch#N: CONDITION`), in order; empty when
        /// none did.
        branches: Vec<String>,
    },
    /// Anything else worth showing on the timeline.
    Note {
        /// Text.
        message: String,
    },
}

/// A task's event as one line: `task probe: pod shop/t-1 exited 0, stdout "ok"; ran
/// branch#1: exitCode == 0` (empty for any other event).
pub fn task_summary(ev: &RunEvent) -> String {
    let RunEvent::TaskFinished {
        step,
        pod,
        exit_code,
        stdout,
        branches,
    } = ev
    else {
        return String::new();
    };
    let next = if branches.is_empty() {
        "no branch's condition held".to_string()
    } else {
        format!("ran {}", branches.join("; "))
    };
    format!("task {step}: pod {pod} exited {exit_code}, stdout {stdout:?}; {next}")
}

/// A fault step's verification as one line: `verified networkDelay (step 1.delay): seen
/// on 2/2 target(s): ...` or `UNVERIFIED ...` (empty for any other event).
pub fn verification_summary(ev: &RunEvent) -> String {
    let (state, step, kind, affected, selected, evidence) = match ev {
        RunEvent::FaultVerified {
            step,
            kind,
            affected,
            selected,
            evidence,
        } => ("verified", step, kind, affected, selected, evidence),
        RunEvent::FaultUnverified {
            step,
            kind,
            affected,
            selected,
            evidence,
        } => ("UNVERIFIED", step, kind, affected, selected, evidence),
        _ => return String::new(),
    };
    format!("{state} {kind} (step {step}): seen on {affected}/{selected} target(s): {evidence}")
}

/// An event as stored: with its sequence number and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// 1, 2, 3, ... per run.
    pub seq: u64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The event.
    #[serde(flatten)]
    pub event: RunEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_events_stored_before_the_agent_was_recorded_still_read() {
        let old = r#"{"type":"faultApplied","fault":"r1-f1-0","kind":"processPause","target":"pid 7","step":"pause"}"#;
        let ev: RunEvent = serde_json::from_str(old).unwrap();
        let RunEvent::FaultApplied { agent, node, .. } = &ev else {
            panic!("{ev:?}")
        };
        assert!(agent.is_empty() && node.is_none());
        // Written back, it is the same document: nothing empty is added.
        assert_eq!(serde_json::to_string(&ev).unwrap(), old);
        let new = RunEvent::FaultApplied {
            fault: "r1-f1n0-0".into(),
            kind: "stressCpu".into(),
            target: "pod shop/web-0".into(),
            step: "stress".into(),
            agent: "http://10.0.0.5:7150".into(),
            node: Some("node-a".into()),
        };
        let text = serde_json::to_string(&new).unwrap();
        assert!(
            text.contains(r#""agent":"http://10.0.0.5:7150","node":"node-a""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<RunEvent>(&text).unwrap(), new);
    }
}
