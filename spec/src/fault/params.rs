//! A struct of declared fields: the traits it implements ([`Params`], [`Grouped`], and
//! [`Kind`] for a fault kind's parameters) and the `params!` macro that implements them
//! from one declaration.
//!
//! `params!` takes a struct whose fields say how they are read:
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
//! The traffic scope (`scope.rs`) is declared with this macro too, so nothing here names
//! it: a struct's group is reached through [`Grouped`], generic over the group's type.
//! `declare.rs` builds the kinds on top of this file.

use crate::decode::cx::{Cx, Obj, Schema};
use crate::decode::source::Source;
use crate::fault::decl::{FieldDecl, KindDecl};

/// A struct of declared fields: a kind's parameters, or a group of fields kinds share.
pub trait Params: Sized {
    /// Its fields, in order.
    const FIELDS: &'static [FieldDecl];
    /// The group flattened beside them, if any (a network fault's traffic scope).
    const GROUP: Option<&'static [FieldDecl]>;
    /// The fields a map of it may have.
    const SCHEMA: &'static Schema;

    /// Reads every field from `src`, reporting each problem; `None` if any was bad.
    fn read(cx: &mut Cx, src: &dyn Source) -> Option<Self>;

    /// Checks across fields that a native map must pass (a partition needs peers);
    /// reports and returns false when one fails.
    fn check(&self, cx: &mut Cx, o: &Obj<'_>) -> bool;
}

/// The group of type `G` a declared struct carries beside its own fields (a network
/// fault's traffic scope); a struct without one has none, of any type.
pub trait Grouped<G> {
    /// The group, if the struct has one of type `G`.
    fn group(&self) -> Option<&G>;

    /// The group, to narrow or resolve it.
    fn group_mut(&mut self) -> Option<&mut G>;
}

/// A fault kind's parameter struct, with its declaration.
pub trait Kind: Params {
    /// The kind's declaration.
    const DECL: KindDecl;
}

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

/// [`Grouped`] for a struct: its group when it has one, else none of any type.
macro_rules! grouped {
    ($S:ident;) => {
        impl<G> $crate::fault::params::Grouped<G> for $S {
            fn group(&self) -> Option<&G> {
                None
            }

            fn group_mut(&mut self) -> Option<&mut G> {
                None
            }
        }
    };
    ($S:ident; $scope:ident: $sty:ty) => {
        impl $crate::fault::params::Grouped<$sty> for $S {
            fn group(&self) -> Option<&$sty> {
                Some(&self.$scope)
            }

            fn group_mut(&mut self) -> Option<&mut $sty> {
                Some(&mut self.$scope)
            }
        }
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

        impl $crate::fault::params::Params for $S {
            const FIELDS: &'static [$crate::fault::decl::FieldDecl] = &[$(
                $crate::fault::decl::FieldDecl {
                    name: $crate::fault::params::key!($field $($key)?),
                    doc: concat!($($fdoc, "\n"),*),
                    expect: $crate::fault::params::opt!($($expect)?),
                    ty: <$reader as $crate::decode::value::Read>::describe,
                    default: $crate::fault::params::default_doc!($fty; $($dflt)?),
                    chaos_mesh: $crate::fault::params::opt!($($cm)?),
                },
            )*];
            const GROUP: Option<&'static [$crate::fault::decl::FieldDecl]> =
                $crate::fault::params::opt!($(<$sty as $crate::fault::params::Params>::FIELDS)?);
            const SCHEMA: &'static $crate::decode::cx::Schema = &$crate::decode::cx::Schema {
                fields: &[$((
                    $crate::fault::params::key!($field $($key)?),
                    <$reader as $crate::decode::value::Read>::CHILD,
                ),)*],
                include: &[$(<$sty as $crate::fault::params::Params>::SCHEMA)?],
            };

            // A kind without fields (`nodeCordon`) reads nothing from `cx` and `src`.
            #[allow(unused_variables)]
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
                            $crate::fault::params::key!($field $($key)?),
                        ),
                        $crate::fault::params::default_fn!($fty; $($dflt)?),
                    );
                )*
                // Every field is read (and every problem reported) before any is unwrapped.
                Some(Self {
                    $($scope: match src.group().and_then(|g| g.downcast_ref::<$sty>()) {
                        Some(given) => given.clone(),
                        None => <$sty as $crate::fault::params::Params>::read(cx, src)?,
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
        }

        $crate::fault::params::grouped!($S; $($scope: $sty)?);

        const _: () = $crate::fault::decl::check_fields(<$S as $crate::fault::params::Params>::FIELDS);
    };
}

pub(crate) use {default_doc, default_fn, grouped, key, opt, params};
