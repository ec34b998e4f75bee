//! The native experiment document (DESIGN §4): `apiVersion: faultline.dev/v1alpha1`,
//! `kind: Experiment`. These types are what the decoder produces and what the run engine
//! consumes; they are always valid (the decoder checks every rule before building one).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fault::FaultKind;
use super::schedule::Schedule;
use super::schedule_policy::ConcurrencyPolicy;
use super::selector::Target;
use super::status_check::CheckStep;
use super::steady::SteadyCheck;
use super::task::step::{Task, TaskStep};
use super::units::{Duration, Percent};

/// The native `apiVersion`.
pub const API_VERSION: &str = "faultline.dev/v1alpha1";
/// The native `kind`.
pub const KIND: &str = "Experiment";

/// One experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Experiment {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// Name and labels.
    pub metadata: Metadata,
    /// What to do.
    pub spec: ExperimentSpec,
}

/// Kubernetes-style object metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// DNS-1123 name: lowercase letters, digits, `-` and `.`.
    pub name: String,
    /// Namespace the experiment belongs to (and the default for its pod selectors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Free-form annotations; imports record their source under `faultline.dev/source`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The body of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Default target of every fault step; a step may override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Checks that define "healthy".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steady_state: Vec<SteadyCheck>,
    /// The faults, in order (serial at the top level).
    pub steps: Vec<Step>,
    /// Who hears about the verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<Notify>,
    /// Cron schedule for recurring runs (UTC, or in the time zone it names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Blast-radius limits.
    #[serde(default)]
    pub guard: Guard,
    /// Upper bound on the whole run; past it the run aborts and recovers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Duration>,
    /// Prometheus alert names that abort the run when they fire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abort_on_alerts: Vec<String>,
    /// Label matchers (`namespace: final`) of an Alertmanager silence held for the fault
    /// window, so the chaos does not page anyone; needs `serve --alertmanager`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub silence_alerts: std::collections::BTreeMap<String, String>,
}

impl ExperimentSpec {
    /// Every fault step, depth first, in order.
    pub fn fault_steps(&self) -> Vec<&FaultStep> {
        fn walk<'a>(steps: &'a [Step], out: &mut Vec<&'a FaultStep>) {
            for s in steps {
                match s {
                    Step::Fault(f) => out.push(f),
                    Step::Parallel(g) | Step::Serial(g) => walk(&g.steps, out),
                    Step::Suspend(_) | Step::Check(_) => {}
                    Step::Task(t) => t.task.branches.iter().for_each(|b| walk(&b.then, out)),
                    Step::Repeat(r) => walk(std::slice::from_ref(&*r.step), out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.steps, &mut out);
        out
    }
}

impl ExperimentSpec {
    /// Every `check:` step, depth first, in order.
    pub fn check_steps(&self) -> Vec<&CheckStep> {
        fn walk<'a>(steps: &'a [Step], out: &mut Vec<&'a CheckStep>) {
            for s in steps {
                match s {
                    Step::Check(c) => out.push(c),
                    Step::Parallel(g) | Step::Serial(g) => walk(&g.steps, out),
                    Step::Fault(_) | Step::Suspend(_) => {}
                    Step::Task(t) => t.task.branches.iter().for_each(|b| walk(&b.then, out)),
                    Step::Repeat(r) => walk(std::slice::from_ref(&*r.step), out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.steps, &mut out);
        out
    }
}

/// One entry of `steps`.
// A fault step is large next to a group's Vec; specs hold tens of steps, so boxing would
// only make matching noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StepRepr", into = "StepRepr")]
pub enum Step {
    /// Inject one fault.
    Fault(FaultStep),
    /// Run these at the same time; done when all are done (or its deadline passes).
    Parallel(Group),
    /// Run these one after the other (until its deadline passes).
    Serial(Group),
    /// Wait.
    Suspend(Duration),
    /// Check the system's status over HTTP until decided (`status_check.rs`).
    Check(CheckStep),
    /// Run a container in the cluster, then the branches its outcome picks.
    Task(TaskStep<Step>),
    /// Run one step at each time of a schedule, until a deadline.
    Repeat(Repeat),
}

/// The children of a `serial:` or `parallel:` step and the bound on the whole group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The group ends when this has passed since it started: children still holding a
    /// fault are recovered at that moment, children not yet started are skipped, and the
    /// run goes on with the next step (Chaos Mesh's `deadline` on a Serial or Parallel
    /// node). A child's own duration or deadline still holds when it is shorter.
    pub deadline: Option<Duration>,
}

impl From<Vec<Step>> for Group {
    fn from(steps: Vec<Step>) -> Self {
        Group {
            steps,
            deadline: None,
        }
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StepRepr {
    Parallel {
        parallel: Vec<Step>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<Duration>,
    },
    Serial {
        serial: Vec<Step>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<Duration>,
    },
    Suspend {
        suspend: Duration,
    },
    Check {
        check: CheckStep,
    },
    Task {
        task: Task<Step>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<Duration>,
    },
    Repeat {
        repeat: RepeatBody,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<Duration>,
    },
    Fault(FaultStep),
}

impl From<StepRepr> for Step {
    fn from(r: StepRepr) -> Self {
        match r {
            StepRepr::Parallel { parallel, deadline } => Step::Parallel(Group {
                steps: parallel,
                deadline,
            }),
            StepRepr::Serial { serial, deadline } => Step::Serial(Group {
                steps: serial,
                deadline,
            }),
            StepRepr::Suspend { suspend } => Step::Suspend(suspend),
            StepRepr::Check { check } => Step::Check(check),
            StepRepr::Task {
                task,
                name,
                deadline,
            } => Step::Task(TaskStep {
                name,
                task,
                deadline,
            }),
            StepRepr::Repeat { repeat, deadline } => Step::Repeat(Repeat {
                schedule: repeat.schedule,
                concurrency: repeat.concurrency_policy,
                step: repeat.step,
                deadline,
            }),
            StepRepr::Fault(f) => Step::Fault(f),
        }
    }
}

impl From<Step> for StepRepr {
    fn from(s: Step) -> Self {
        match s {
            Step::Parallel(g) => StepRepr::Parallel {
                parallel: g.steps,
                deadline: g.deadline,
            },
            Step::Serial(g) => StepRepr::Serial {
                serial: g.steps,
                deadline: g.deadline,
            },
            Step::Suspend(suspend) => StepRepr::Suspend { suspend },
            Step::Check(check) => StepRepr::Check { check },
            Step::Task(t) => StepRepr::Task {
                task: t.task,
                name: t.name,
                deadline: t.deadline,
            },
            Step::Repeat(r) => StepRepr::Repeat {
                repeat: RepeatBody {
                    schedule: r.schedule,
                    concurrency_policy: r.concurrency,
                    step: r.step,
                },
                deadline: r.deadline,
            },
            Step::Fault(f) => StepRepr::Fault(f),
        }
    }
}

/// `repeat:`, a step that runs one step at each time of a schedule until its deadline
/// (Chaos Mesh's Workflow `templateType: Schedule` node). Without a deadline (its own or an
/// enclosing group's) it repeats until the run is aborted, at most `guard.maxDuration`,
/// as an `untilAborted` fault holds.
/// A step run at each time of a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    /// When each instance starts (a cron expression in UTC, a descriptor, `@every 2s`).
    pub schedule: Schedule,
    /// A time that comes while the previous instance still runs: skipped (`Forbid`, the
    /// default, as for `spec.schedule`) or started beside it (`Allow`).
    pub concurrency: ConcurrencyPolicy,
    /// The step each instance runs.
    pub step: Box<Step>,
    /// Repeating ends when this has passed since the step started: instances still
    /// holding a fault are recovered then, as a group's deadline does.
    pub deadline: Option<Duration>,
}

/// `repeat:`'s body as the spec writes it (the deadline sits beside `repeat:`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RepeatBody {
    schedule: Schedule,
    #[serde(default)]
    concurrency_policy: ConcurrencyPolicy,
    step: Box<Step>,
}

/// A fault with its timing and (optional) own target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultStep {
    /// A name for reports; default the fault kind with its position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The fault, as a one-key map (`stressCpu: {...}`).
    #[serde(flatten)]
    pub fault: FaultKind,
    /// How long it holds; required unless the fault is instant (a kill) or
    /// `until_aborted` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// No `duration`: the fault holds until the run is aborted (Ctrl-C, the API, the
    /// emergency stop) or `guard.maxDuration` passes, whichever comes first. This is how a
    /// Chaos Mesh chaos without `duration` (kept until the object is deleted) imports.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub until_aborted: bool,
    /// Overrides `spec.target` for this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// How the run checks the fault took effect once applied; `None` (`verify: false`)
    /// skips the check. Default: seen on every target within 5s.
    #[serde(
        default = "crate::verify::Verify::on",
        skip_serializing_if = "crate::verify::Verify::is_default",
        with = "crate::verify::serde_field"
    )]
    pub verify: Option<crate::verify::Verify>,
}

/// A notification channel and the verdicts it hears about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notify {
    /// Where to send.
    #[serde(flatten)]
    pub channel: Channel,
    /// Which verdicts; default failed, aborted and error (a passing run tells only
    /// those who ask for `passed`).
    #[serde(default = "Verdict::unsuccessful")]
    pub on: Vec<Verdict>,
}

/// A notification channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    /// A Slack channel name (without `#`).
    Slack(String),
    /// An email address.
    Email(String),
    /// A URL that receives the verdict as JSON.
    Webhook(String),
    /// The triggering GitLab pipeline's commit status and merge request.
    Gitlab(GitlabNotify),
}

/// Options of the GitLab channel (none yet; the trigger says which project and commit).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitlabNotify {}

/// A run's verdict, as notifications filter on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Steady state held throughout.
    Passed,
    /// A steady-state check failed.
    Failed,
    /// An abort bound, alert or deadline stopped the run.
    Aborted,
    /// The run could not be carried out.
    Error,
}

impl Verdict {
    /// Every verdict's spelling.
    pub const ALL_NAMES: [&'static str; 4] = ["passed", "failed", "aborted", "error"];

    /// Every verdict but `passed`: the default of a `notify:` entry.
    pub fn unsuccessful() -> Vec<Verdict> {
        vec![Verdict::Failed, Verdict::Aborted, Verdict::Error]
    }

    /// All four.
    pub fn all() -> Vec<Verdict> {
        vec![
            Verdict::Passed,
            Verdict::Failed,
            Verdict::Aborted,
            Verdict::Error,
        ]
    }

    /// Parses a verdict name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "passed" => Verdict::Passed,
            "failed" => Verdict::Failed,
            "aborted" => Verdict::Aborted,
            "error" => Verdict::Error,
            _ => return None,
        })
    }
}

/// Blast-radius limits checked before anything is injected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Guard {
    /// Refuse to run when a step resolves to more targets than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_targets: Option<u32>,
    /// Refuse when a step hits more than this share of the matching pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_percent: Option<Percent>,
    /// Namespaces no step may touch; default `[kube-system]`.
    #[serde(default = "Guard::default_protected")]
    pub protected_namespaces: Vec<String>,
    /// Resolve targets and check the steady state, but inject nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Refuse the run unless this PromQL (e.g. an error-budget burn rate) meets its
    /// expectation right before injection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_budget: Option<ErrorBudget>,
    /// The longest a fault step with `untilAborted: true` (a Chaos Mesh chaos without
    /// `duration`) holds before it is recovered, when no one aborts the run first. Unset:
    /// the service's `maxDuration` setting, default [`Guard::DEFAULT_MAX_DURATION`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<Duration>,
    /// Let node faults (nodeCordon, nodeTaint, nodeDrain, zoneOutage) hit control-plane
    /// nodes (labelled `node-role.kubernetes.io/control-plane` or `.../master`); refused
    /// by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_control_plane: bool,
}

/// `guard.errorBudget`: what must hold before faults are allowed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorBudget {
    /// A PromQL expression that evaluates to one number.
    pub prometheus: String,
    /// What it must satisfy, e.g. `< 1` for a burn rate.
    pub expect: super::steady::Expectation,
}

impl Guard {
    /// How long an `untilAborted` fault holds when neither `guard.maxDuration` nor the
    /// service says: one hour, long enough for a game day, short enough that a forgotten
    /// run does not outlive the shift.
    pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(3600);

    /// The namespaces protected unless the spec says otherwise.
    pub fn default_protected() -> Vec<String> {
        vec!["kube-system".to_string()]
    }
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            max_targets: None,
            max_percent: None,
            protected_namespaces: Guard::default_protected(),
            dry_run: false,
            error_budget: None,
            max_duration: None,
            allow_control_plane: false,
        }
    }
}
