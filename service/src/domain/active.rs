//! A fault the run has started and not yet confirmed recovered, as the store keeps it: the
//! fault request's id, which executor carries it out and where, its targets and its lease.
//! Written before the fault is applied and removed once it is recovered, so a service that
//! restarts after a crash knows exactly what to confirm recovered, and through what.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an active fault is carried out: enough to reach it again from a new process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ExecutorRef {
    /// The agent library inside the service process (its journal is under the state dir).
    InProcess,
    /// A node agent over HTTP.
    Agent {
        /// Its URL when the fault was applied.
        url: String,
        /// Its node, in cluster mode (a restarted agent pod has a new URL; the node stays).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// The Kubernetes API (podFailure): the pods whose images were swapped.
    Kubernetes {
        /// The pods, `NS/NAME`.
        pods: Vec<String>,
    },
    /// The Kubernetes API (nodeCordon, nodeTaint, nodeDrain): the nodes changed, each
    /// carrying the fault's record.
    Nodes {
        /// The node names.
        nodes: Vec<String>,
    },
}

impl ExecutorRef {
    /// How the executor is named in messages: `in-process`, the agent's URL, or
    /// `kubernetes-api`.
    pub fn name(&self) -> &str {
        match self {
            ExecutorRef::InProcess => "in-process",
            ExecutorRef::Agent { url, .. } => url,
            ExecutorRef::Kubernetes { .. } | ExecutorRef::Nodes { .. } => "kubernetes-api",
        }
    }
}

/// One fault request of a run that is not yet confirmed recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveFault {
    /// The fault request's id (`<run>-f<n>`, `<run>-f<n>n<k>` per node); its events'
    /// fault ids are `<id>-<index>`.
    pub fault: String,
    /// The step that applied it.
    pub step: String,
    /// The fault kind's name.
    pub kind: String,
    /// Who carries it out.
    pub executor: ExecutorRef,
    /// Its targets as written in its events (`pod NS/NAME`, a container ID, a process).
    pub targets: Vec<String>,
    /// When its lease lapses unless renewed (the agent's lease or podFailure's
    /// annotation lease): past this, the executor recovers it on its own.
    pub expires: DateTime<Utc>,
}

impl ActiveFault {
    /// Whether event fault id `event` belongs to this request (`<id>-<index>`).
    pub fn owns(&self, event: &str) -> bool {
        event
            .strip_prefix(self.fault.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_active_fault_round_trips_and_owns_only_its_own_records() {
        let a = ActiveFault {
            fault: "abc-f1n0".into(),
            step: "net".into(),
            kind: "networkDelay".into(),
            executor: ExecutorRef::Agent {
                url: "http://10.0.0.1:7150".into(),
                node: Some("node-a".into()),
            },
            targets: vec!["pod shop/web-1".into()],
            expires: Utc::now(),
        };
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#""kind":"agent""#), "{json}");
        assert_eq!(serde_json::from_str::<ActiveFault>(&json).unwrap(), a);
        assert!(a.owns("abc-f1n0-0"));
        assert!(a.owns("abc-f1n0-12"));
        assert!(!a.owns("abc-f1n0"));
        assert!(!a.owns("abc-f1n01-0"));
        assert!(!a.owns("abc-f1-0"));
    }
}
