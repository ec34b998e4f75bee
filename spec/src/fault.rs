//! The fault kinds of DESIGN §5 with typed parameters.
//!
//! These types are shared: the experiment spec names them in `steps`, the agent protocol
//! carries them in an apply request, and the executors in `crate::faults` take them. In
//! YAML/JSON a fault is a one-key map: `stressCpu: { workers: 1, load: 100 }`.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::selector::PodSelector;
use super::units::{BitRate, Bytes, Duration, Percent};

/// One fault, by kind, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum FaultKind {
    /// CPU stress workers in the target's cgroup.
    StressCpu(StressCpu),
    /// Memory-allocating workers in the target's cgroup.
    StressMemory(StressMemory),
    /// netem delay on the target's interfaces.
    NetworkDelay(NetworkDelay),
    /// netem packet loss.
    NetworkLoss(NetworkLoss),
    /// netem packet duplication.
    NetworkDuplicate(NetworkDuplicate),
    /// netem packet corruption.
    NetworkCorrupt(NetworkCorrupt),
    /// netem reordering (needs a delay to reorder against).
    NetworkReorder(NetworkReorder),
    /// tbf bandwidth limit.
    NetworkBandwidth(NetworkBandwidth),
    /// nftables drop rules to/from peers.
    NetworkPartition(NetworkPartition),
    /// Signal the target processes (default SIGKILL).
    ProcessKill(ProcessKill),
    /// Stop the target processes for the fault's duration.
    ProcessPause(ProcessPause),
    /// Delete the target pods (Kubernetes API, run by the service).
    PodKill(PodKill),
    /// Swap the pods' images to a pause image for the duration (Kubernetes API).
    PodFailure(PodFailure),
    /// Kill named containers of the target pods (via the node agent).
    ContainerKill(ContainerKill),
}

impl FaultKind {
    /// The spec key of this kind, e.g. `networkDelay`; used in logs, metrics and reports.
    pub const fn name(&self) -> &'static str {
        match self {
            FaultKind::StressCpu(_) => "stressCpu",
            FaultKind::StressMemory(_) => "stressMemory",
            FaultKind::NetworkDelay(_) => "networkDelay",
            FaultKind::NetworkLoss(_) => "networkLoss",
            FaultKind::NetworkDuplicate(_) => "networkDuplicate",
            FaultKind::NetworkCorrupt(_) => "networkCorrupt",
            FaultKind::NetworkReorder(_) => "networkReorder",
            FaultKind::NetworkBandwidth(_) => "networkBandwidth",
            FaultKind::NetworkPartition(_) => "networkPartition",
            FaultKind::ProcessKill(_) => "processKill",
            FaultKind::ProcessPause(_) => "processPause",
            FaultKind::PodKill(_) => "podKill",
            FaultKind::PodFailure(_) => "podFailure",
            FaultKind::ContainerKill(_) => "containerKill",
        }
    }

    /// Every kind's spec key, for "did you mean" suggestions and error messages.
    pub const ALL_NAMES: [&'static str; 14] = [
        "stressCpu",
        "stressMemory",
        "networkDelay",
        "networkLoss",
        "networkDuplicate",
        "networkCorrupt",
        "networkReorder",
        "networkBandwidth",
        "networkPartition",
        "processKill",
        "processPause",
        "podKill",
        "podFailure",
        "containerKill",
    ];

    /// Where the fault is carried out.
    pub const fn executor(&self) -> Executor {
        match self {
            FaultKind::PodKill(_) | FaultKind::PodFailure(_) => Executor::KubernetesApi,
            _ => Executor::Agent,
        }
    }

    /// True for faults that happen once (a kill) rather than holding for a duration.
    pub const fn is_instant(&self) -> bool {
        matches!(
            self,
            FaultKind::ProcessKill(_) | FaultKind::PodKill(_) | FaultKind::ContainerKill(_)
        )
    }
}

/// Who carries a fault out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    /// The node agent (or the agent library in-process for `faultline run`).
    Agent,
    /// The service, through the Kubernetes API.
    KubernetesApi,
}

/// `stressCpu`: `workers` busy processes, each duty-cycled to `load` percent of one core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StressCpu {
    /// Number of worker processes (1..=256).
    pub workers: u32,
    /// Percent of one core each worker keeps busy (0..=100).
    pub load: Percent,
}

/// `stressMemory`: `workers` processes that together allocate and touch `size`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StressMemory {
    /// Number of worker processes (1..=256); each holds `size / workers`.
    pub workers: u32,
    /// Total memory to allocate and keep resident.
    pub size: Bytes,
}

/// Which traffic a network fault affects, as Chaos Mesh defines `direction`: `to` is
/// traffic the target sends (egress of its interfaces), `from` is traffic it receives,
/// `both` is both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// Egress from the target (Chaos Mesh's default).
    #[default]
    To,
    /// Ingress to the target.
    From,
    /// Both directions.
    Both,
}

/// Narrows a network fault to some traffic. Empty lists mean all traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkScope {
    /// Which way the affected traffic flows.
    #[serde(default)]
    pub direction: Direction,
    /// Only traffic to/from these networks (Chaos Mesh `externalTargets` and resolved
    /// `target` pods).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<IpNet>,
    /// Only traffic to/from these ports (TCP or UDP).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
    /// Interface inside the target's netns; default: every non-loopback interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Peer pods (Chaos Mesh NetworkChaos `target`): the service resolves them to pod IPs
    /// and adds those to `peers` before the agent sees the fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_selector: Option<PodSelector>,
}

/// `networkDelay` (netem delay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkDelay {
    /// Added latency.
    pub latency: Duration,
    /// Random variation around `latency`.
    #[serde(default)]
    pub jitter: Duration,
    /// Correlation of each delay with the previous one, percent.
    #[serde(default)]
    pub correlation: Percent,
    /// Traffic selection.
    #[serde(flatten)]
    pub scope: NetworkScope,
}

/// `networkLoss` (netem loss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkLoss {
    /// Share of packets dropped.
    pub loss: Percent,
    /// Correlation with the previous packet's fate, percent.
    #[serde(default)]
    pub correlation: Percent,
    /// Traffic selection.
    #[serde(flatten)]
    pub scope: NetworkScope,
}

/// `networkDuplicate` (netem duplicate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkDuplicate {
    /// Share of packets sent twice.
    pub duplicate: Percent,
    /// Correlation, percent.
    #[serde(default)]
    pub correlation: Percent,
    /// Traffic selection.
    #[serde(flatten)]
    pub scope: NetworkScope,
}

/// `networkCorrupt` (netem corrupt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkCorrupt {
    /// Share of packets with a flipped bit.
    pub corrupt: Percent,
    /// Correlation, percent.
    #[serde(default)]
    pub correlation: Percent,
    /// Traffic selection.
    #[serde(flatten)]
    pub scope: NetworkScope,
}

/// `networkReorder` (netem reorder; the kernel reorders only delayed traffic, so a
/// `latency` is part of it, as in Chaos Mesh's `delay.reorder`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkReorder {
    /// Share of packets sent at once (out of order) instead of delayed.
    pub reorder: Percent,
    /// Correlation, percent.
    #[serde(default)]
    pub correlation: Percent,
    /// Reorder every `gap`-th packet (0 = netem's default).
    #[serde(default)]
    pub gap: u32,
    /// Delay the rest of the packets by this much.
    pub latency: Duration,
    /// Traffic selection.
    #[serde(flatten)]
    pub scope: NetworkScope,
}

/// `networkBandwidth` (tbf).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkBandwidth {
    /// Sustained rate.
    pub rate: BitRate,
    /// Bytes that may queue waiting for tokens.
    pub limit: Bytes,
    /// Bucket size in bytes (the burst).
    pub buffer: Bytes,
    /// Traffic selection.
    #[serde(flatten)]
    pub scope: NetworkScope,
}

/// `networkPartition`: drop traffic between the target and `peers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkPartition {
    /// Traffic selection; `peers` must not be empty (a partition from everything is a
    /// different fault: use `networkLoss: { loss: 100 }`).
    #[serde(flatten)]
    pub scope: NetworkScope,
}

/// `processKill`: send `signal` to the target processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProcessKill {
    /// Signal name or number; default `SIGKILL`.
    #[serde(default = "default_kill_signal")]
    pub signal: Signal,
}

fn default_kill_signal() -> Signal {
    Signal::Kill
}

/// The signals a `processKill` may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Signal {
    /// SIGKILL (9).
    #[default]
    #[serde(rename = "SIGKILL")]
    Kill,
    /// SIGTERM (15).
    #[serde(rename = "SIGTERM")]
    Term,
    /// SIGINT (2).
    #[serde(rename = "SIGINT")]
    Int,
    /// SIGHUP (1).
    #[serde(rename = "SIGHUP")]
    Hup,
    /// SIGQUIT (3).
    #[serde(rename = "SIGQUIT")]
    Quit,
    /// SIGUSR1 (10).
    #[serde(rename = "SIGUSR1")]
    Usr1,
    /// SIGUSR2 (12).
    #[serde(rename = "SIGUSR2")]
    Usr2,
}

impl Signal {
    /// Every accepted name, for error messages.
    pub const ALL_NAMES: [&'static str; 7] = [
        "SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2",
    ];

    /// The Linux signal number.
    pub const fn number(self) -> i32 {
        match self {
            Signal::Kill => 9,
            Signal::Term => 15,
            Signal::Int => 2,
            Signal::Hup => 1,
            Signal::Quit => 3,
            Signal::Usr1 => 10,
            Signal::Usr2 => 12,
        }
    }

    /// Parses `SIGKILL`, `KILL`, `kill` or `9`.
    pub fn parse(s: &str) -> Option<Signal> {
        let up = s.trim().to_ascii_uppercase();
        let name = up.strip_prefix("SIG").unwrap_or(&up);
        Some(match name {
            "KILL" | "9" => Signal::Kill,
            "TERM" | "15" => Signal::Term,
            "INT" | "2" => Signal::Int,
            "HUP" | "1" => Signal::Hup,
            "QUIT" | "3" => Signal::Quit,
            "USR1" | "10" => Signal::Usr1,
            "USR2" | "12" => Signal::Usr2,
            _ => return None,
        })
    }
}

/// `processPause`: stop the target processes for the fault's duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProcessPause {
    /// How: SIGSTOP/SIGCONT per process (default) or the cgroup freezer.
    #[serde(default)]
    pub method: PauseMethod,
}

/// How a pause is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum PauseMethod {
    /// SIGSTOP, then SIGCONT on recovery.
    #[default]
    Signal,
    /// Freeze the target's cgroup (v1 freezer or v2 `cgroup.freeze`).
    Freezer,
}

/// `podKill`: delete the target pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodKill {
    /// Grace period for the delete; default: the pod's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<Duration>,
}

/// `podFailure`: make the pods' containers fail by swapping their images to a pause image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodFailure {
    /// Only these containers; default all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_names: Vec<String>,
}

/// `containerKill`: kill named containers of the target pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerKill {
    /// Containers to kill; must not be empty.
    pub container_names: Vec<String>,
}

/// The netem options one qdisc carries; the delay/loss/duplicate/corrupt/reorder kinds
/// each set some of them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NetemParams {
    /// Added latency.
    pub latency: Duration,
    /// Latency variation.
    pub jitter: Duration,
    /// Delay correlation.
    pub delay_correlation: Percent,
    /// Loss share.
    pub loss: Percent,
    /// Loss correlation.
    pub loss_correlation: Percent,
    /// Duplicate share.
    pub duplicate: Percent,
    /// Duplicate correlation.
    pub duplicate_correlation: Percent,
    /// Corrupt share.
    pub corrupt: Percent,
    /// Corrupt correlation.
    pub corrupt_correlation: Percent,
    /// Reorder share.
    pub reorder: Percent,
    /// Reorder correlation.
    pub reorder_correlation: Percent,
    /// Reorder gap.
    pub gap: u32,
}

impl FaultKind {
    /// The netem options and traffic scope of a netem-backed kind; `None` for the rest.
    pub fn netem(&self) -> Option<(NetemParams, &NetworkScope)> {
        let mut p = NetemParams::default();
        let scope = match self {
            FaultKind::NetworkDelay(d) => {
                p.latency = d.latency;
                p.jitter = d.jitter;
                p.delay_correlation = d.correlation;
                &d.scope
            }
            FaultKind::NetworkLoss(l) => {
                p.loss = l.loss;
                p.loss_correlation = l.correlation;
                &l.scope
            }
            FaultKind::NetworkDuplicate(d) => {
                p.duplicate = d.duplicate;
                p.duplicate_correlation = d.correlation;
                &d.scope
            }
            FaultKind::NetworkCorrupt(c) => {
                p.corrupt = c.corrupt;
                p.corrupt_correlation = c.correlation;
                &c.scope
            }
            FaultKind::NetworkReorder(r) => {
                p.reorder = r.reorder;
                p.reorder_correlation = r.correlation;
                p.gap = r.gap;
                p.latency = r.latency;
                &r.scope
            }
            _ => return None,
        };
        Some((p, scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_round_trip_through_json_as_one_key_maps() {
        let json = r#"{"networkDelay":{"latency":"10ms","jitter":"0s","correlation":100.0,"direction":"to"}}"#;
        let f: FaultKind = serde_json::from_str(json).unwrap();
        let FaultKind::NetworkDelay(d) = &f else {
            panic!("wrong kind: {f:?}")
        };
        assert_eq!(d.latency, Duration::from_millis(10));
        assert_eq!(d.correlation.value(), 100.0);
        let back: FaultKind = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn every_name_is_listed() {
        let kinds = [
            FaultKind::StressCpu(StressCpu {
                workers: 1,
                load: Percent::new(1.0).unwrap(),
            }),
            FaultKind::ProcessKill(ProcessKill::default()),
            FaultKind::PodKill(PodKill::default()),
        ];
        for k in kinds {
            assert!(FaultKind::ALL_NAMES.contains(&k.name()));
        }
    }

    #[test]
    fn signals_parse_loosely() {
        assert_eq!(Signal::parse("kill"), Some(Signal::Kill));
        assert_eq!(Signal::parse("SIGTERM"), Some(Signal::Term));
        assert_eq!(Signal::parse("9"), Some(Signal::Kill));
        assert_eq!(Signal::parse("SIGWHAT"), None);
    }
}
