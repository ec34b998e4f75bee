//! The macro that turns the list of kinds into the fault vocabulary, so a kind is written
//! once.
//!
//! [`fault_kinds!`] takes every kind in order, each with its parameters (declared with
//! `params!`, `params.rs`), and emits the `FaultKind` enum (the spec's vocabulary),
//! `NodeFault` and `PodFault` (who carries it out), their names, each kind's `KindDecl`
//! and the readers that yield a `FaultKind` from one.
//!
//! Plain `macro_rules!`, no procedural macro: what is generated is what a hand-written kind
//! had, and `cargo expand` shows it.

/// Who carries out the kinds of a group.
macro_rules! executor {
    (node) => {
        $crate::fault::decl::Executor::Agent
    };
    (pod) => {
        $crate::fault::decl::Executor::KubernetesApi
    };
}

/// Every fault kind, in the order messages list them; see the module doc.
macro_rules! fault_kinds {
    // Sorts the kinds into the agent's (`node`) and the service's (`pod`), in order.
    (@split [$($n:tt)*] [$($p:tt)*] $docs:tt node $V:ident $name:literal $($rest:tt)*) => {
        $crate::fault::declare::fault_kinds!(@split [$($n)* $docs $V $name] [$($p)*] $($rest)*);
    };
    (@split [$($n:tt)*] [$($p:tt)*] $docs:tt pod $V:ident $name:literal $($rest:tt)*) => {
        $crate::fault::declare::fault_kinds!(@split [$($n)*] [$($p)* $docs $V $name] $($rest)*);
    };
    (@split
        [$({$(#[doc = $nd:literal])*} $nV:ident $nname:literal)*]
        [$({$(#[doc = $pd:literal])*} $pV:ident $pname:literal)*]
    ) => {
        /// The faults the node agent carries out: the agent's wire type and what its
        /// journal records. Serialised exactly as the same kinds of [`FaultKind`].
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub enum NodeFault {
            $($(#[doc = $nd])* #[serde(rename = $nname)] $nV($nV),)*
        }

        /// The faults the service carries out itself, through the Kubernetes API.
        /// Serialised exactly as the same kinds of [`FaultKind`].
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub enum PodFault {
            $($(#[doc = $pd])* #[serde(rename = $pname)] $pV($pV),)*
        }

        impl NodeFault {
            /// Every kind's spec key, in declaration order.
            pub const ALL_NAMES: [&'static str; [$($nname),*].len()] = [$($nname),*];

            /// The kind's declaration.
            pub const fn decl(&self) -> &'static $crate::fault::decl::KindDecl {
                match self {
                    $(NodeFault::$nV(_) => &<$nV as $crate::fault::params::Kind>::DECL,)*
                }
            }

            /// The traffic scope of a network fault.
            pub fn scope(&self) -> Option<&$crate::fault::scope::NetworkScope> {
                match self {
                    $(NodeFault::$nV(p) => $crate::fault::params::Grouped::<$crate::fault::scope::NetworkScope>::group(p),)*
                }
            }

            /// The traffic scope of a network fault, to narrow or resolve it.
            pub fn scope_mut(&mut self) -> Option<&mut $crate::fault::scope::NetworkScope> {
                match self {
                    $(NodeFault::$nV(p) => $crate::fault::params::Grouped::<$crate::fault::scope::NetworkScope>::group_mut(p),)*
                }
            }
        }

        impl PodFault {
            /// Every kind's spec key, in declaration order.
            pub const ALL_NAMES: [&'static str; [$($pname),*].len()] = [$($pname),*];

            /// The kind's declaration.
            pub const fn decl(&self) -> &'static $crate::fault::decl::KindDecl {
                match self {
                    $(PodFault::$pV(_) => &<$pV as $crate::fault::params::Kind>::DECL,)*
                }
            }
        }

        impl FaultKind {
            /// The fault as the agent takes it, if the agent carries it out.
            pub fn to_node(&self) -> Option<NodeFault> {
                match self {
                    $(FaultKind::$nV(p) => Some(NodeFault::$nV(p.clone())),)*
                    _ => None,
                }
            }

            /// The fault as the service takes it, if it goes through the Kubernetes API.
            pub fn to_pod(&self) -> Option<PodFault> {
                match self {
                    $(FaultKind::$pV(p) => Some(PodFault::$pV(p.clone())),)*
                    _ => None,
                }
            }
        }

        impl From<NodeFault> for FaultKind {
            fn from(f: NodeFault) -> Self {
                match f {
                    $(NodeFault::$nV(p) => FaultKind::$nV(p),)*
                }
            }
        }

        impl From<PodFault> for FaultKind {
            fn from(f: PodFault) -> Self {
                match f {
                    $(PodFault::$pV(p) => FaultKind::$pV(p),)*
                }
            }
        }
    };
    (
        $(
            $(#[doc = $doc:literal])*
            $(#[derive($($derive:ident),*)])?
            $group:ident $V:ident $name:literal {
                targets: $targets:expr,
                instant: $instant:expr,
                chaos_mesh: $cm:expr,
                $(check: $check:path,)?
            } {
                $($fields:tt)*
            }
        )*
    ) => {
        $(
            $crate::fault::params::params! {
                $(#[doc = $doc])*
                $(#[derive($($derive),*)])?
                pub struct $V {
                    $($fields)*
                }
                $(check $check;)?
            }

            impl $crate::fault::params::Kind for $V {
                const DECL: $crate::fault::decl::KindDecl = $crate::fault::decl::KindDecl {
                    name: $name,
                    doc: concat!($($doc, "\n"),*),
                    executor: $crate::fault::declare::executor!($group),
                    targets: $targets,
                    instant: $instant,
                    chaos_mesh: $cm,
                    fields: <$V as $crate::fault::params::Params>::FIELDS,
                    scope: <$V as $crate::fault::params::Params>::GROUP,
                    schema: <$V as $crate::fault::params::Params>::SCHEMA,
                };
            }
        )*

        /// One fault, by kind, with its parameters. In YAML and JSON a one-key map:
        /// `stressCpu: { workers: 1, load: 100 }`.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub enum FaultKind {
            $($(#[doc = $doc])* #[serde(rename = $name)] $V($V),)*
        }

        impl FaultKind {
            /// Every kind's spec key, for "did you mean" suggestions and error messages.
            pub const ALL_NAMES: [&'static str; [$($name),*].len()] = [$($name),*];

            /// The kind's declaration.
            pub const fn decl(&self) -> &'static $crate::fault::decl::KindDecl {
                match self {
                    $(FaultKind::$V(_) => &<$V as $crate::fault::params::Kind>::DECL,)*
                }
            }

            /// The traffic scope of a network fault.
            pub fn scope(&self) -> Option<&$crate::fault::scope::NetworkScope> {
                match self {
                    $(FaultKind::$V(p) => $crate::fault::params::Grouped::<$crate::fault::scope::NetworkScope>::group(p),)*
                }
            }
        }

        // Here rather than in `decl.rs`, which holds the declarations as data: these
        // yield the `FaultKind` declared above.
        impl $crate::fault::decl::KindDecl {
            /// Reads the kind's fields from `src`, each checked on its own.
            pub fn read(
                &self,
                cx: &mut $crate::decode::cx::Cx,
                src: &dyn $crate::decode::source::Source,
            ) -> Option<FaultKind> {
                match self.name {
                    $($name => <$V as $crate::fault::params::Params>::read(cx, src).map(FaultKind::$V),)*
                    other => unreachable!("`{other}` is not a declared kind"),
                }
            }

            /// Reads the kind from a native map: its fields, then the checks across them.
            pub fn decode(
                &self,
                cx: &mut $crate::decode::cx::Cx,
                o: &$crate::decode::cx::Obj<'_>,
            ) -> Option<FaultKind> {
                match self.name {
                    $($name => {
                        let p = <$V as $crate::fault::params::Params>::read(cx, o)?;
                        $crate::fault::params::Params::check(&p, cx, o).then_some(FaultKind::$V(p))
                    })*
                    other => unreachable!("`{other}` is not a declared kind"),
                }
            }
        }

        /// Every kind's declaration, in order.
        pub static KINDS: [&$crate::fault::decl::KindDecl; [$($name),*].len()] =
            [$(&<$V as $crate::fault::params::Kind>::DECL),*];

        /// The kinds as keys of a step, each with its fields.
        pub static STEP_KEYS: $crate::decode::cx::Schema = $crate::decode::cx::Schema::new(&[
            $(($name, Some(<$V as $crate::fault::params::Params>::SCHEMA)),)*
        ]);

        $crate::fault::declare::fault_kinds!(@split [] [] $({$(#[doc = $doc])*} $group $V $name)*);
    };
}

pub(crate) use {executor, fault_kinds};
