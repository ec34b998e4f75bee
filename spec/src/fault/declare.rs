//! The two macros that turn declarations into code, so a kind is written once.
//!
//! [`params!`] takes a struct whose fields say how they are read:
//!
//! ```text
//! /// Added latency.
//! latency: Duration as Dur, required "a duration like `10ms`", chaos_mesh "delay.latency";
//! /// Random variation around `latency`.
//! jitter: Duration as Dur = default, chaos_mesh "delay.jitter";
//! ```
//!
//! and emits the struct (serde names from the keys, `#[serde(default)]` from `= default`),
//! its field table (`Params::FIELDS`: names, docs, types, defaults, Chaos Mesh paths), the
//! schema the decoder checks keys against, and its reader. `Dur` is the reader
//! (`decode::value`); the compiler checks it yields the field's type. A field is required
//! unless declared `= default`, and a required field says what a value looks like, for the
//! "missing required field" message.
//!
//! [`fault_kinds!`] takes every kind in order, each with its parameters, and emits the
//! `FaultKind` enum (the spec's vocabulary), `NodeFault` and `PodFault` (who carries it
//! out), their names, and each kind's `KindDecl`.
//!
//! Plain `macro_rules!`, no procedural macro: what is generated is what a hand-written kind
//! had, and `cargo expand` shows it.

/// `Some(x)` for one argument, `None` for none.
macro_rules! opt {
    () => {
        None
    };
    ($x:expr) => {
        Some($x)
    };
}

/// A field's key: the one given, else the field's name.
macro_rules! key {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $key:literal) => {
        $key
    };
}

/// The default of a field declared `= default` (its type's `Default`), for the reader.
macro_rules! default_fn {
    ($ty:ty;) => {
        None
    };
    ($ty:ty; default) => {
        Some(<$ty as Default>::default as fn() -> $ty)
    };
}

/// The default of a field declared `= default`, as the docs show it.
macro_rules! default_doc {
    ($ty:ty;) => {
        None
    };
    ($ty:ty; default) => {
        Some(|| $crate::fault::decl::show_default(<$ty as Default>::default()))
    };
}

/// Who carries out the kinds of a group.
macro_rules! executor {
    (node) => {
        $crate::fault::Executor::Agent
    };
    (pod) => {
        $crate::fault::Executor::KubernetesApi
    };
}

/// A struct of declared fields; see the module doc.
macro_rules! params {
    (
        $(#[doc = $doc:literal])*
        $(#[derive($($derive:ident),*)])?
        pub struct $S:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $(#[serde($($serde:tt)*)])*
                $field:ident $(($key:literal))? : $fty:ty as $reader:ty $(= $dflt:ident)?
                    $(, required $expect:literal)? $(, chaos_mesh $cm:literal)?;
            )*
            $(..$scope:ident: $sty:ty)?
        }
        $(check $check:path;)?
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize $($(, $derive)*)?)]
        #[serde(deny_unknown_fields)]
        pub struct $S {
            $(
                $(#[doc = $fdoc])*
                $(#[serde(rename = $key)])?
                $(#[serde($dflt)])?
                $(#[serde($($serde)*)])*
                pub $field: $fty,
            )*
            $(
                /// Which traffic it affects; these fields sit beside the kind's own.
                #[serde(flatten)]
                pub $scope: $sty,
            )?
        }

        impl $crate::fault::Params for $S {
            const FIELDS: &'static [$crate::fault::FieldDecl] = &[$(
                $crate::fault::FieldDecl {
                    name: $crate::fault::declare::key!($field $($key)?),
                    doc: concat!($($fdoc, "\n"),*),
                    expect: $crate::fault::declare::opt!($($expect)?),
                    ty: <$reader as $crate::decode::value::Read>::describe,
                    default: $crate::fault::declare::default_doc!($fty; $($dflt)?),
                    chaos_mesh: $crate::fault::declare::opt!($($cm)?),
                },
            )*];
            const GROUP: Option<&'static [$crate::fault::FieldDecl]> =
                $crate::fault::declare::opt!($(<$sty as $crate::fault::Params>::FIELDS)?);
            const SCHEMA: &'static $crate::decode::cx::Schema = &$crate::decode::cx::Schema {
                fields: &[$((
                    $crate::fault::declare::key!($field $($key)?),
                    <$reader as $crate::decode::value::Read>::CHILD,
                ),)*],
                include: &[$(<$sty as $crate::fault::Params>::SCHEMA)?],
            };

            fn read(
                cx: &mut $crate::decode::cx::Cx,
                src: &dyn $crate::decode::source::Source,
            ) -> Option<Self> {
                $(
                    let $field = $crate::decode::source::field::<$reader>(
                        cx,
                        src,
                        $crate::fault::decl::field_decl(
                            Self::FIELDS,
                            $crate::fault::declare::key!($field $($key)?),
                        ),
                        $crate::fault::declare::default_fn!($fty; $($dflt)?),
                    );
                )*
                // Every field is read (and every problem reported) before any is unwrapped.
                Some(Self {
                    $($scope: match src.scope() {
                        Some(scope) => scope,
                        None => <$sty as $crate::fault::Params>::read(cx, src)?,
                    },)?
                    $($field: $field?,)*
                })
            }

            fn check(&self, _cx: &mut $crate::decode::cx::Cx, _o: &$crate::decode::cx::Obj<'_>) -> bool {
                $(if !$check(_cx, _o, self) {
                    return false;
                })?
                true
            }

            fn scope(&self) -> Option<&$crate::fault::NetworkScope> {
                $crate::fault::declare::opt!($(&self.$scope)?)
            }

            fn scope_mut(&mut self) -> Option<&mut $crate::fault::NetworkScope> {
                $crate::fault::declare::opt!($(&mut self.$scope)?)
            }
        }

        const _: () = $crate::fault::decl::check_fields(<$S as $crate::fault::Params>::FIELDS);
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
            pub const fn decl(&self) -> &'static $crate::fault::KindDecl {
                match self {
                    $(NodeFault::$nV(_) => &<$nV as $crate::fault::Kind>::DECL,)*
                }
            }

            /// The traffic scope of a network fault.
            pub fn scope(&self) -> Option<&$crate::fault::NetworkScope> {
                match self {
                    $(NodeFault::$nV(p) => $crate::fault::Params::scope(p),)*
                }
            }

            /// The traffic scope of a network fault, to narrow or resolve it.
            pub fn scope_mut(&mut self) -> Option<&mut $crate::fault::NetworkScope> {
                match self {
                    $(NodeFault::$nV(p) => $crate::fault::Params::scope_mut(p),)*
                }
            }
        }

        impl PodFault {
            /// Every kind's spec key, in declaration order.
            pub const ALL_NAMES: [&'static str; [$($pname),*].len()] = [$($pname),*];

            /// The kind's declaration.
            pub const fn decl(&self) -> &'static $crate::fault::KindDecl {
                match self {
                    $(PodFault::$pV(_) => &<$pV as $crate::fault::Kind>::DECL,)*
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
            $crate::fault::declare::params! {
                $(#[doc = $doc])*
                $(#[derive($($derive),*)])?
                pub struct $V {
                    $($fields)*
                }
                $(check $check;)?
            }

            impl $crate::fault::Kind for $V {
                const DECL: $crate::fault::KindDecl = $crate::fault::KindDecl {
                    name: $name,
                    doc: concat!($($doc, "\n"),*),
                    executor: $crate::fault::declare::executor!($group),
                    targets: $targets,
                    instant: $instant,
                    chaos_mesh: $cm,
                    fields: <$V as $crate::fault::Params>::FIELDS,
                    scope: <$V as $crate::fault::Params>::GROUP,
                    schema: <$V as $crate::fault::Params>::SCHEMA,
                    read: |cx, src| <$V as $crate::fault::Params>::read(cx, src).map(FaultKind::$V),
                    decode: |cx, o| {
                        let p = <$V as $crate::fault::Params>::read(cx, o)?;
                        $crate::fault::Params::check(&p, cx, o).then_some(FaultKind::$V(p))
                    },
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
            pub const fn decl(&self) -> &'static $crate::fault::KindDecl {
                match self {
                    $(FaultKind::$V(_) => &<$V as $crate::fault::Kind>::DECL,)*
                }
            }

            /// The traffic scope of a network fault.
            pub fn scope(&self) -> Option<&$crate::fault::NetworkScope> {
                match self {
                    $(FaultKind::$V(p) => $crate::fault::Params::scope(p),)*
                }
            }
        }

        /// Every kind's declaration, in order.
        pub static KINDS: [&$crate::fault::KindDecl; [$($name),*].len()] =
            [$(&<$V as $crate::fault::Kind>::DECL),*];

        /// The kinds as keys of a step, each with its fields.
        pub static STEP_KEYS: $crate::decode::cx::Schema = $crate::decode::cx::Schema::new(&[
            $(($name, Some(<$V as $crate::fault::Params>::SCHEMA)),)*
        ]);

        $crate::fault::declare::fault_kinds!(@split [] [] $({$(#[doc = $doc])*} $group $V $name)*);
    };
}

pub(crate) use {default_doc, default_fn, executor, fault_kinds, key, opt, params};
