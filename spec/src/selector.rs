//! What an experiment aims at: Kubernetes pods chosen by selectors and a mode, or one
//! thing on this machine (`LocalTarget`). The Kubernetes shape is Chaos Mesh's
//! `PodSelectorSpec` + `mode`/`value`, so imported manifests keep their meaning.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::target::LocalTarget;
use super::units::{Percent, UnitError};

/// An experiment's (or a step's) target: exactly one of Kubernetes pods or a local thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "TargetRepr", into = "TargetRepr")]
pub enum Target {
    /// Pods chosen by selectors and a mode; resolved by the service.
    Kubernetes(PodSelector),
    /// A process, cgroup, netns or container on the machine running the agent.
    Local(LocalTarget),
}

impl Target {
    /// The Kubernetes selector, if this is a pod target.
    pub fn kubernetes(&self) -> Option<&PodSelector> {
        match self {
            Target::Kubernetes(s) => Some(s),
            Target::Local(_) => None,
        }
    }
}

/// The wire shape: `{local: {...}}` or the selector fields inline.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum TargetRepr {
    Local { local: LocalTarget },
    Kubernetes(PodSelector),
}

impl From<TargetRepr> for Target {
    fn from(r: TargetRepr) -> Self {
        match r {
            TargetRepr::Local { local } => Target::Local(local),
            TargetRepr::Kubernetes(s) => Target::Kubernetes(s),
        }
    }
}

impl From<Target> for TargetRepr {
    fn from(t: Target) -> Self {
        match t {
            Target::Local(local) => TargetRepr::Local { local },
            Target::Kubernetes(s) => TargetRepr::Kubernetes(s),
        }
    }
}

/// Chaos Mesh's pod selector plus the mode that picks among the matching pods.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSelector {
    /// Namespaces to look in; empty means the experiment's own namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Labels every chosen pod has (`app: nginx`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub label_selectors: BTreeMap<String, String>,
    /// Set-based label requirements (`matchExpressions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expression_selectors: Vec<LabelExpression>,
    /// Field selectors (`spec.nodeName: node-1`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_selectors: BTreeMap<String, String>,
    /// Annotations every chosen pod has.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotation_selectors: BTreeMap<String, String>,
    /// Only pods in these phases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_phase_selectors: Vec<PodPhase>,
    /// Pods by name, per namespace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pods: BTreeMap<String, Vec<String>>,
    /// Only pods scheduled on these nodes (by name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Only pods scheduled on nodes with these labels. With `nodes` too, the two node sets
    /// are combined (a pod on either qualifies), as in Chaos Mesh.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selectors: BTreeMap<String, String>,
    /// How many of the matching pods are hit.
    #[serde(flatten)]
    pub mode: Mode,
}

impl PodSelector {
    /// `nodeSelectors` in Kubernetes' label selector syntax (`pool=spot,zone=a`); `None`
    /// when there are none.
    pub fn node_label_selector(&self) -> Option<String> {
        let labels: Vec<String> = self
            .node_selectors
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (!labels.is_empty()).then(|| labels.join(","))
    }

    /// The nodes it names, as errors and plans show them: `nodes a,b or pool=batch (mode
    /// one)`.
    pub fn describe_nodes(&self) -> String {
        let mut parts = Vec::new();
        if !self.nodes.is_empty() {
            parts.push(self.nodes.join(","));
        }
        parts.extend(self.node_label_selector());
        format!("nodes {} (mode {})", parts.join(" or "), self.mode)
    }
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelExpression {
    /// The label key.
    pub key: String,
    /// How the label's value is compared with `values`.
    pub operator: LabelOperator,
    /// Values for `In`/`NotIn`; empty for `Exists`/`DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A `matchExpressions` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LabelOperator {
    /// The label's value is one of `values`.
    In,
    /// The label is absent or its value is none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl LabelOperator {
    /// Every operator's spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 4] = ["In", "NotIn", "Exists", "DoesNotExist"];

    /// Parses the Kubernetes spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "In" => LabelOperator::In,
            "NotIn" => LabelOperator::NotIn,
            "Exists" => LabelOperator::Exists,
            "DoesNotExist" => LabelOperator::DoesNotExist,
            _ => return None,
        })
    }

    /// True when the operator takes a non-empty `values` list.
    pub const fn needs_values(self) -> bool {
        matches!(self, LabelOperator::In | LabelOperator::NotIn)
    }
}

/// A pod phase for `podPhaseSelectors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    /// Accepted, not all containers running yet.
    Pending,
    /// Bound to a node, containers running.
    Running,
    /// All containers exited 0.
    Succeeded,
    /// All containers exited, one or more failed.
    Failed,
    /// The node could not be reached.
    Unknown,
}

impl PodPhase {
    /// Every phase's spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 5] =
        ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

    /// Parses the Kubernetes spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Pending" => PodPhase::Pending,
            "Running" => PodPhase::Running,
            "Succeeded" => PodPhase::Succeeded,
            "Failed" => PodPhase::Failed,
            "Unknown" => PodPhase::Unknown,
            _ => return None,
        })
    }
}

/// How many of the selected pods a fault hits (Chaos Mesh's `mode` with its `value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "ModeRepr", into = "ModeRepr")]
pub enum Mode {
    /// One pod, chosen at random.
    One,
    /// Every selected pod.
    #[default]
    All,
    /// This many pods, chosen at random.
    Fixed(u32),
    /// This share of the pods, chosen at random.
    FixedPercent(Percent),
    /// A random share of the pods, up to this percentage.
    RandomMaxPercent(Percent),
}

impl Mode {
    /// Every mode's spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 5] =
        ["one", "all", "fixed", "fixed-percent", "random-max-percent"];

    /// The spec spelling, e.g. `fixed-percent`.
    pub const fn name(&self) -> &'static str {
        match self {
            Mode::One => "one",
            Mode::All => "all",
            Mode::Fixed(_) => "fixed",
            Mode::FixedPercent(_) => "fixed-percent",
            Mode::RandomMaxPercent(_) => "random-max-percent",
        }
    }

    /// True for the modes that need a `value`.
    pub fn needs_value(name: &str) -> bool {
        matches!(name, "fixed" | "fixed-percent" | "random-max-percent")
    }

    /// Builds a mode from its spelling and `value` (as Chaos Mesh writes it, a string).
    pub fn from_parts(name: &str, value: Option<&str>) -> Result<Mode, ModeError> {
        let need = |v: Option<&str>| {
            v.map(|s| s.trim().to_string())
                .ok_or_else(|| ModeError::NeedsValue(name.to_string()))
        };
        let no_value = |m: Mode| match value {
            Some(_) => Err(ModeError::TakesNoValue(name.to_string())),
            None => Ok(m),
        };
        match name {
            "one" => no_value(Mode::One),
            "all" => no_value(Mode::All),
            "fixed" => {
                let v = need(value)?;
                match v.parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(Mode::Fixed(n)),
                    _ => Err(ModeError::NotACount(v)),
                }
            }
            "fixed-percent" | "random-max-percent" => {
                let v = need(value)?;
                let p: Percent = v.parse().map_err(|why| ModeError::NotAPercent {
                    mode: name.to_string(),
                    why,
                })?;
                Ok(if name == "fixed-percent" {
                    Mode::FixedPercent(p)
                } else {
                    Mode::RandomMaxPercent(p)
                })
            }
            other => Err(ModeError::Unknown(other.to_string())),
        }
    }

    /// The `value` as Chaos Mesh writes it, if the mode has one.
    pub fn value(&self) -> Option<String> {
        match self {
            Mode::One | Mode::All => None,
            Mode::Fixed(n) => Some(n.to_string()),
            Mode::FixedPercent(p) | Mode::RandomMaxPercent(p) => Some(p.to_string()),
        }
    }
}

/// Why a `mode` and `value` do not make a mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    /// A mode that counts or takes a share was given no `value`.
    #[error("mode `{0}` needs a `value`")]
    NeedsValue(String),
    /// `one` or `all` was given a `value`.
    #[error("mode `{0}` takes no `value`; remove it")]
    TakesNoValue(String),
    /// `fixed` with a value that is not a pod count.
    #[error("value `{0}` for mode `fixed` must be a whole number of pods, at least 1")]
    NotACount(String),
    /// A percent mode with a value that is not a percentage (the reason is part of the
    /// one-line message, not a `source`).
    #[error("value for mode `{mode}`: {why}")]
    NotAPercent {
        /// The mode's spelling.
        mode: String,
        /// Why the value is not a percentage.
        why: UnitError,
    },
    /// No such mode.
    #[error("unknown mode `{0}`; allowed: {all}", all = Mode::ALL_NAMES.join(", "))]
    Unknown(String),
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            Some(v) => write!(f, "{} {v}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeRepr {
    mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

impl TryFrom<ModeRepr> for Mode {
    type Error = ModeError;

    fn try_from(r: ModeRepr) -> Result<Self, Self::Error> {
        Mode::from_parts(&r.mode, r.value.as_deref())
    }
}

impl From<Mode> for ModeRepr {
    fn from(m: Mode) -> Self {
        ModeRepr {
            mode: m.name().to_string(),
            value: m.value(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_need_exactly_the_values_they_use() {
        assert_eq!(Mode::from_parts("all", None), Ok(Mode::All));
        assert_eq!(Mode::from_parts("fixed", Some("3")), Ok(Mode::Fixed(3)));
        assert!(
            Mode::from_parts("fixed", None)
                .unwrap_err()
                .to_string()
                .contains("needs a `value`")
        );
        assert!(
            Mode::from_parts("one", Some("1"))
                .unwrap_err()
                .to_string()
                .contains("takes no")
        );
        assert!(
            Mode::from_parts("fixed-percent", Some("150"))
                .unwrap_err()
                .to_string()
                .contains("0 to 100")
        );
        assert!(
            Mode::from_parts("some", None)
                .unwrap_err()
                .to_string()
                .contains("random-max-percent")
        );
    }

    #[test]
    fn targets_round_trip_through_json() {
        let mut sel = PodSelector {
            namespaces: vec!["final".into()],
            mode: Mode::FixedPercent(Percent::new(50.0).unwrap()),
            ..PodSelector::default()
        };
        sel.label_selectors.insert("app".into(), "nginx".into());
        sel.expression_selectors.push(LabelExpression {
            key: "tier".into(),
            operator: LabelOperator::NotIn,
            values: vec!["db".into()],
        });
        sel.pod_phase_selectors.push(PodPhase::Running);
        sel.pods.insert("final".into(), vec!["nginx-0".into()]);
        for t in [
            Target::Kubernetes(sel),
            Target::Local(LocalTarget::Netns("fltest".into())),
        ] {
            let json = serde_json::to_string(&t).unwrap();
            let back: Target = serde_json::from_str(&json).unwrap();
            assert_eq!(back, t, "{json}");
        }
    }
}
