//! What every Chaos Mesh kind shares: the API version, metadata, `selector` +
//! `mode`/`value`, `duration`, and the wrapping of a translated spec into a native
//! experiment.

use crate::decode::cx::{Cx, Obj, Schema};
use crate::decode::native::metadata;
use crate::decode::target::{SELECTOR, mode, selector_fields};
use crate::decode::tree::{Node, Pos};
use crate::experiment::{self, Experiment, ExperimentSpec, Guard, KIND, Step};
use crate::selector::Target;
use crate::units::Duration;

/// Chaos Mesh's API version.
pub const API_VERSION: &str = "chaos-mesh.org/v1alpha1";

/// Kubernetes object metadata as `kubectl get -o yaml` prints it; the server-set fields are
/// accepted and dropped so an exported object imports as it is.
pub static METADATA: Schema = Schema::new(&[
    ("name", None),
    ("namespace", None),
    ("labels", None),
    ("annotations", None),
    ("uid", None),
    ("resourceVersion", None),
    ("generation", None),
    ("creationTimestamp", None),
    ("managedFields", None),
    ("finalizers", None),
]);

/// The schema of a whole Chaos Mesh document whose `spec` has the schema `$spec`: every
/// kind has the same five top-level fields. A macro rather than a `const fn` because the
/// field list must be a `'static` slice naming `$spec`, and only a static's own
/// initialiser promotes such a slice.
macro_rules! document_schema {
    ($spec:path) => {
        $crate::decode::cx::Schema::new(&[
            ("apiVersion", None),
            ("kind", None),
            ("metadata", Some(&$crate::chaos_mesh::common::METADATA)),
            ("spec", Some(&$spec)),
            ("status", None),
        ])
    };
}
pub(crate) use document_schema;

/// Fields every Chaos Mesh chaos spec may carry that faultline deliberately does not carry
/// out; [`target`] refuses each, saying why and what to do instead ([`REFUSALS`]).
pub static REFUSED: Schema = Schema::new(&[("remoteCluster", None), ("scheduler", None)]);

/// Why each field of [`REFUSED`] is refused, and what to write instead.
pub const REFUSALS: [(&str, &str, &str); 2] = [
    (
        "remoteCluster",
        "faultline injects only into the cluster its service and agents run in; it holds no credentials for other clusters",
        "install faultline in the cluster that runs these pods and trigger it there (one service per cluster), then remove `remoteCluster`",
    ),
    (
        "scheduler",
        "`scheduler` is Chaos Mesh 1.x's and was removed in 2.0",
        "wrap the chaos in `kind: Schedule` (`spec.schedule`, `spec.type` and the chaos) or give the native experiment `spec.schedule`",
    ),
];

/// The annotation that records where an imported experiment came from.
pub const SOURCE_ANNOTATION: &str = "faultline.dev/source";

/// A translated chaos: its step (one fault, or a group) and the pods it aims at.
pub struct Translated {
    /// The fault step(s).
    pub step: Step,
    /// The selector and mode.
    pub target: Target,
}

/// Reads `selector` + `mode` + `value` of a chaos spec. Every chaos kind reads its target
/// here, top-level or inside a workflow, so this is also where the [`REFUSED`] fields they
/// share are refused.
pub fn target(cx: &mut Cx, o: &Obj<'_>) -> Option<Target> {
    let mut allowed = true;
    for (field, why, instead) in REFUSALS {
        if let Some(n) = o.get(field) {
            cx.err_hint(
                &o.at(field),
                n.pos,
                format!("`{field}` is not supported: {why}"),
                instead,
            );
            allowed = false;
        }
    }
    let m = mode(cx, o);
    let sel = match o.get("selector") {
        Some(n) => cx
            .object(n, &o.at("selector"), &SELECTOR, selector_fields)
            .flatten(),
        None => {
            cx.missing(o, "selector", "which pods: namespaces, labelSelectors, ...");
            None
        }
    };
    let mut sel = sel?;
    sel.mode = m?;
    allowed.then_some(Target::Kubernetes(sel))
}

/// The opening every chaos kind's `translate` shares: the pods it aims at ([`target`]),
/// then how long it lasts ([`duration`]), both read before either is used so that the
/// errors of both are reported.
pub fn target_and_duration(
    cx: &mut Cx,
    o: &Obj<'_>,
    deadline: Option<Duration>,
) -> (Option<Target>, Option<Option<Duration>>) {
    let tgt = target(cx, o);
    let dur = duration(cx, o, deadline);
    (tgt, dur)
}

/// Reads a chaos spec's required `action`, one of `actions`. `listed` is how the missing
/// field's error lists them (each kind keeps its own wording).
pub fn action(
    cx: &mut Cx,
    o: &Obj<'_>,
    actions: &[&'static str],
    listed: &str,
) -> Option<&'static str> {
    match o.get("action") {
        Some(n) => cx.one_of(n, &o.at("action"), actions),
        None => {
            cx.missing(o, "action", listed);
            None
        }
    }
}

/// The chaos's duration: a workflow template's `deadline` when given, else `duration`.
/// `None` inside `Some` means neither is set.
pub fn duration(cx: &mut Cx, o: &Obj<'_>, deadline: Option<Duration>) -> Option<Option<Duration>> {
    let own = match o.get("duration") {
        Some(n) => Some(cx.parsed::<Duration>(n, &o.at("duration"), "a duration like `30s`")?),
        None => None,
    };
    Some(deadline.or(own))
}

/// The duration of a pod-failure, which faultline only holds for a duration: refuses a
/// missing one and `0s` (nothing would be injected, and the native form refuses it too).
/// StressChaos, NetworkChaos and DNSChaos take [`hold_duration`] instead.
pub fn need_duration(
    cx: &mut Cx,
    o: &Obj<'_>,
    dur: Option<Duration>,
    what: &str,
) -> Option<Duration> {
    match dur {
        None => {
            cx.err_hint(
                &o.at("duration"),
                o.pos,
                format!("{what} needs a `duration`"),
                "Chaos Mesh keeps it until the object is deleted; faultline needs to know when to recover: add e.g. `duration: 30s`",
            );
            None
        }
        Some(d) if d == Duration::ZERO => {
            cx.err(
                &o.at("duration"),
                pos_of(o, "duration"),
                "must be longer than 0s",
            );
            None
        }
        Some(d) => Some(d),
    }
}

/// The duration of a StressChaos, NetworkChaos or DNSChaos. Without one Chaos Mesh keeps the chaos
/// until the object is deleted; faultline holds it until the run is aborted, at most
/// `guard.maxDuration`: `Some(None)`. `0s` is refused as by [`need_duration`].
pub fn hold_duration(cx: &mut Cx, o: &Obj<'_>, dur: Option<Duration>) -> Option<Option<Duration>> {
    match dur {
        None => Some(None),
        Some(d) if d == Duration::ZERO => {
            cx.err(
                &o.at("duration"),
                pos_of(o, "duration"),
                "must be longer than 0s",
            );
            None
        }
        Some(d) => Some(Some(d)),
    }
}

/// Rejects a field faultline cannot carry out, naming it.
pub fn unsupported(cx: &mut Cx, o: &Obj<'_>, field: &str, why: &str) -> bool {
    match o.get(field) {
        Some(n) => {
            cx.err(
                &o.at(field),
                n.pos,
                format!("`{field}` is not supported: {why}"),
            );
            false
        }
        None => true,
    }
}

/// Rejects one flag of a raw options list (`stressors.cpu.options`), naming it; always
/// false.
pub fn unsupported_flag(cx: &mut Cx, path: &str, pos: Pos, flag: &str, why: &str) -> bool {
    cx.err(path, pos, format!("`{flag}` is not supported: {why}"));
    false
}

/// Builds the native experiment for a Chaos Mesh document: metadata, then `spec` read by
/// `body` with `spec_schema`.
pub fn document(
    cx: &mut Cx,
    root: &Node,
    kind: &str,
    root_schema: &'static Schema,
    spec_schema: &'static Schema,
    body: impl FnOnce(&mut Cx, &Obj<'_>) -> Option<(Vec<Step>, Option<Target>)>,
) -> Option<Experiment> {
    cx.object(root, "", root_schema, |cx, o| {
        let meta = match o.get("metadata") {
            Some(n) => cx.object(n, "metadata", &METADATA, metadata).flatten(),
            None => {
                cx.missing(o, "metadata", "at least `name`");
                None
            }
        };
        let spec = match o.get("spec") {
            Some(n) => cx.object(n, "spec", spec_schema, body).flatten(),
            None => {
                cx.missing(o, "spec", "the chaos to inject");
                None
            }
        };
        let mut meta = meta?;
        let (steps, target) = spec?;
        meta.annotations
            .insert(SOURCE_ANNOTATION.into(), format!("{API_VERSION} {kind}"));
        Some(Experiment {
            api_version: experiment::API_VERSION.into(),
            kind: KIND.into(),
            metadata: meta,
            spec: ExperimentSpec {
                target,
                steady_state: Vec::new(),
                steps,
                notify: Vec::new(),
                schedule: None,
                guard: Guard::default(),
                deadline: None,
                abort_on_alerts: Vec::new(),
                silence_alerts: Default::default(),
            },
        })
    })
    .flatten()
}

/// `metadata.name` of a document, read without reporting (the metadata reader reports).
pub fn object_name(root: &Node) -> Option<String> {
    let field = |n: &Node, name: &str| match &n.value {
        crate::decode::tree::Value::Map(m) => m
            .iter()
            .find(|(k, _)| k.key_text() == Some(name))
            .map(|(_, v)| v.clone()),
        _ => None,
    };
    let name = field(&field(root, "metadata")?, "name")?;
    name.scalar().map(|s| s.raw.clone())
}

/// The position to blame for a field that may be absent.
pub fn pos_of(o: &Obj<'_>, field: &str) -> Pos {
    o.get(field).map_or(o.pos, |n| n.pos)
}

/// Gives every fault step under `step` the chaos's selector.
pub fn set_target(step: &mut Step, target: &crate::selector::Target) {
    match step {
        Step::Fault(f) => f.target = Some(target.clone()),
        Step::Parallel(g) | Step::Serial(g) => {
            g.steps.iter_mut().for_each(|s| set_target(s, target))
        }
        Step::Suspend(_) | Step::Check(_) | Step::Task(_) => {}
        Step::Repeat(r) => set_target(&mut r.step, target),
    }
}
