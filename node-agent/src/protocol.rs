//! The agent's wire types (HTTP JSON, camelCase), shared by the daemon and [`AgentClient`].
//!
//! | call | body | answer |
//! |---|---|---|
//! | `POST /v1/faults` | [`ApplyRequest`] | [`ApplyResponse`] |
//! | `POST /v1/faults/{id}/renew` | [`RenewRequest`] | [`RenewResponse`] |
//! | `DELETE /v1/faults/{id}` | – | [`RecoverResponse`] |
//! | `GET /v1/faults` | – | [`ListResponse`] |
//! | `GET /v1/faults/{id}/observation` | – | [`ObserveResponse`] |
//! | `GET /healthz` | – | [`Health`] |
//! | errors | – | [`ErrorBody`] with status 400, 401, 404, 409, 422, 500, 503 |
//!
//! Ids: the request's `id` names the whole request; each target gets its own
//! [`FaultRecord`] whose id is `<id>-<n>`, `n` being the target's index in `targets`
//! (so `id` may be at most 48 − 1 − digits(n) characters). Renew and delete accept either
//! the request id (all its records) or one record id.
//!
//! [`AgentClient`]: crate::client::AgentClient

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::faults::{FaultId, FaultRecord, Recovered};
use faultline_spec::{LocalTarget, NodeFault};

/// The longest lease an apply or renew may ask for (one day): a fault that must hold
/// longer is renewed.
pub const MAX_LEASE_SECONDS: u64 = 86_400;

/// `POST /v1/faults`: apply one fault to each target, all or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyRequest {
    /// The request id; record ids derive from it (`<id>-<n>`).
    pub id: FaultId,
    /// The fault and its parameters, as a one-key map (`{"networkDelay":{...}}`).
    pub kind: NodeFault,
    /// Where to apply it; at least one.
    pub targets: Vec<LocalTarget>,
    /// The agent recovers the fault by itself this many seconds from now unless renewed
    /// (1..=86400).
    pub lease_seconds: u64,
}

/// The answer to a successful apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyResponse {
    /// The request id.
    pub id: FaultId,
    /// One record per target, in target order.
    pub records: Vec<FaultRecord>,
}

/// `POST /v1/faults/{id}/renew`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenewRequest {
    /// New lease, counted from now (1..=86400).
    pub lease_seconds: u64,
}

/// The answer to a renew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewResponse {
    /// The records renewed.
    pub renewed: Vec<FaultId>,
    /// Their new expiry.
    pub lease_until: DateTime<Utc>,
}

/// One recovered record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveredFault {
    /// The record id.
    pub id: FaultId,
    /// The fault kind's spec name.
    pub kind: String,
    /// What recovery found.
    pub outcome: Recovered,
}

/// The answer to `DELETE /v1/faults/{id}`. Deleting an id that is not active is not an
/// error (recovery is idempotent): the list is then empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoverResponse {
    /// What was recovered.
    pub recovered: Vec<RecoveredFault>,
}

/// `GET /v1/faults`: every active record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse {
    /// Active records, by id.
    pub faults: Vec<FaultRecord>,
}

/// One record's effect as read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedFault {
    /// The record id.
    pub id: FaultId,
    /// The fault kind's spec name.
    pub kind: String,
    /// The record's target as asked for.
    pub target: String,
    /// The fault is seen in effect on this target.
    pub effective: bool,
    /// What was read (the qdisc and its counters, the nft rules, the CPU time, the
    /// process state).
    pub evidence: String,
}

/// `GET /v1/faults/{id}/observation`: each record of the request (or the one record).
/// 404 when the agent holds none (recovered, or never applied here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObserveResponse {
    /// One per record, in target order.
    pub observations: Vec<ObservedFault>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `ok` when the agent answers.
    pub status: String,
    /// The agent's version.
    pub version: String,
    /// Active records.
    pub active: usize,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// What went wrong, naming the field or the step.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_request_reads_the_documented_shape_and_round_trips() {
        let json = r#"{"id":"run1-step0","kind":{"networkDelay":{"latency":"10ms"}},
                       "targets":[{"netns":"x"},{"pid":12}],"leaseSeconds":60}"#;
        let r: ApplyRequest = serde_json::from_str(json).unwrap();
        assert_eq!(
            r.targets,
            vec![LocalTarget::Netns("x".into()), LocalTarget::Pid(12)]
        );
        assert_eq!(r.lease_seconds, 60);
        let back: ApplyRequest = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json = r#"{"id":"a","kind":{"processKill":{}},"targets":[],"leaseSeconds":1,"x":1}"#;
        let e = serde_json::from_str::<ApplyRequest>(json)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `x`"), "{e}");
    }
}
