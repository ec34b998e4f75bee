//! What a fault kind's declaration says about it, as data: its name and docs, who carries
//! it out, what it may aim at, where Chaos Mesh keeps it, and its fields with their types,
//! defaults and docs. `kinds.rs` declares every kind once; the decoders, the Chaos Mesh
//! import and the docs' field tables read these tables rather than naming kinds.
//!
//! Only data: the traits a declared struct implements are in `params.rs`, and a kind's
//! readers ([`KindDecl::read`], [`KindDecl::decode`]) are generated with the kinds, since
//! they yield a [`FaultKind`](super::kinds::FaultKind). So this file imports no fault type
//! and every other file of the fault vocabulary may import it.

use crate::decode::cx::Schema;

/// Who carries a fault out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    /// The node agent (or the agent library in-process for `faultline run`).
    Agent,
    /// The service, through the Kubernetes API.
    KubernetesApi,
}

/// What a kind may be aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// A `local` target (process, cgroup, netns, container) or Kubernetes pods.
    LocalOrPods,
    /// Kubernetes pods only (the kind acts on pods or their containers).
    Pods,
    /// Kubernetes nodes: the step's `target` names them with `nodes` and/or
    /// `nodeSelectors` and a `mode`, and nothing about pods.
    Nodes,
    /// The nodes of one zone, which the kind's own fields name; it takes no `target`.
    Zone,
}

/// Where a kind sits in a Chaos Mesh manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChaosMesh {
    /// The Chaos Mesh kind: `StressChaos`, `NetworkChaos` or `PodChaos`.
    pub kind: &'static str,
    /// What selects this kind there: the `action` of a NetworkChaos or PodChaos, the
    /// stressor of a StressChaos (`cpu`, `memory`).
    pub action: &'static str,
    /// A field (path under `spec`) whose presence selects this kind among those that share
    /// `action`: a NetworkChaos `delay` with `delay.reorder` is a reorder.
    pub when: Option<&'static str>,
}

impl ChaosMesh {
    /// A StressChaos stressor.
    pub const fn stress(stressor: &'static str) -> Self {
        ChaosMesh {
            kind: "StressChaos",
            action: stressor,
            when: None,
        }
    }

    /// A NetworkChaos action.
    pub const fn network(action: &'static str) -> Self {
        ChaosMesh {
            kind: "NetworkChaos",
            action,
            when: None,
        }
    }

    /// A PodChaos action.
    pub const fn pod(action: &'static str) -> Self {
        ChaosMesh {
            kind: "PodChaos",
            action,
            when: None,
        }
    }

    /// A DNSChaos action.
    pub const fn dns(action: &'static str) -> Self {
        ChaosMesh {
            kind: "DNSChaos",
            action,
            when: None,
        }
    }

    /// An HTTPChaos: it has no `action`; `selected_by` names the field that makes it this
    /// kind (`abort: true`, `delay`, ...), as the docs show it.
    pub const fn http(selected_by: &'static str) -> Self {
        ChaosMesh {
            kind: "HTTPChaos",
            action: selected_by,
            when: None,
        }
    }

    /// The same, chosen only when `field` is present.
    pub const fn when(self, field: &'static str) -> Self {
        ChaosMesh {
            when: Some(field),
            ..self
        }
    }
}

/// One field of a kind (or of a group of fields a kind takes, like the traffic scope).
#[derive(Debug, Clone, Copy)]
pub struct FieldDecl {
    /// The key in the spec and in JSON, e.g. `gracePeriod`.
    pub name: &'static str,
    /// What it means (the field's doc comment).
    pub doc: &'static str,
    /// What a value looks like, for a required field: said when it is missing.
    pub expect: Option<&'static str>,
    /// The type as the docs name it.
    pub ty: fn() -> String,
    /// The value when left out, as the docs show it; `None` for a required field.
    pub default: Option<fn() -> String>,
    /// Where Chaos Mesh keeps the same value, as a path under the chaos's `spec`
    /// (`delay.reorder.gap`); `None` when Chaos Mesh has no such field.
    pub chaos_mesh: Option<&'static str>,
}

impl FieldDecl {
    /// True when the field must be given.
    pub const fn required(&self) -> bool {
        self.default.is_none()
    }
}

/// A fault kind. Its readers, [`KindDecl::read`] and [`KindDecl::decode`], are generated
/// in `kinds.rs` with the [`FaultKind`](super::kinds::FaultKind) they yield.
#[derive(Debug, Clone, Copy)]
pub struct KindDecl {
    /// The spec key, e.g. `networkDelay`.
    pub name: &'static str,
    /// What it does (the kind's doc comment).
    pub doc: &'static str,
    /// Who carries it out.
    pub executor: Executor,
    /// What it may be aimed at.
    pub targets: Targets,
    /// True for faults that happen once (a kill) rather than holding for a duration.
    pub instant: bool,
    /// Where Chaos Mesh keeps it, if Chaos Mesh has it.
    pub chaos_mesh: Option<ChaosMesh>,
    /// Its own fields, in order.
    pub fields: &'static [FieldDecl],
    /// The traffic-scope fields it takes beside its own, if it is a network fault.
    pub scope: Option<&'static [FieldDecl]>,
    /// The fields the decoder accepts in its map (own and scope).
    pub schema: &'static Schema,
}

/// The declaration of the field named `name` in `fields` (generated code asks only for
/// names it declared).
pub fn field_decl(fields: &'static [FieldDecl], name: &str) -> &'static FieldDecl {
    fields
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| unreachable!("field `{name}` is declared"))
}

/// Stops the build when a required field does not say what a value looks like (the
/// "missing required field" message needs it); every declared struct is checked.
pub const fn check_fields(fields: &[FieldDecl]) {
    let mut i = 0;
    while i < fields.len() {
        if fields[i].default.is_none() && fields[i].expect.is_none() {
            panic!("a required field needs `, required \"what a value looks like\"`");
        }
        i += 1;
    }
}

/// Renders a default value for the docs: its JSON form, strings unquoted.
pub fn show_default<T: serde::Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => format!("`{s}`"),
        Ok(serde_json::Value::Null) => "none".into(),
        Ok(serde_json::Value::Array(a)) if a.is_empty() => "none".into(),
        Ok(v) => format!("`{v}`"),
        Err(_) => "?".into(),
    }
}
