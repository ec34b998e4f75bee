//! What a fault is seen to do once applied: the family reads its effect back from the
//! kernel ([`Observation`]), against what it read right after apply ([`Baseline`]).
//!
//! "Seen" means the kernel holds what was asked, read back from the kernel itself, not
//! from our own memory of having asked: the qdisc with our handle and parameters, the nft
//! table with its rules, the stressed cgroup's CPU time rising at the asked load, the
//! workers' RSS, a process stopped or gone. Counters that move only with traffic (qdisc
//! and nft packets) are evidence, never the condition: a target that sends nothing during
//! the check still has the fault in place, and a check that waited for traffic would fail
//! a correct fault.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// What an observation compares against: a counter read right after apply, and when.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    /// When it was read.
    pub at: Instant,
    /// The family's counter (qdisc packets, nft packets, cgroup CPU ns), when it has one.
    pub counter: Option<u64>,
    /// The host's idle CPU time in ns, for families that judge a rate against what the
    /// machine had to spare (CPU stress).
    pub host_idle: Option<u64>,
}

impl Baseline {
    /// A baseline read now.
    pub fn now(counter: Option<u64>) -> Baseline {
        Baseline {
            at: Instant::now(),
            counter,
            host_idle: None,
        }
    }

    /// The same, with the host's idle CPU time read now as well.
    pub fn with_host_idle(self, host_idle: Option<u64>) -> Baseline {
        Baseline { host_idle, ..self }
    }
}

/// One fault on one target as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// The fault is seen in effect.
    pub effective: bool,
    /// What was read, in words (`eth0: tbf rate 1Mbit limit 20000 as asked, 120 packets
    /// since apply`), for the run's events and the error of a fault that did not take.
    pub evidence: String,
}

impl Observation {
    /// Seen in effect.
    pub fn seen(evidence: impl Into<String>) -> Observation {
        Observation {
            effective: true,
            evidence: evidence.into(),
        }
    }

    /// Not (yet) seen in effect.
    pub fn unseen(evidence: impl Into<String>) -> Observation {
        Observation {
            effective: false,
            evidence: evidence.into(),
        }
    }
}
