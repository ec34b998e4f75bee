//! Where a declared kind's fields are read from. Natively a kind's fields are the keys of
//! one map; in a Chaos Mesh manifest the same values sit in Chaos Mesh's own objects
//! (`delay.latency`, `loss.loss`), each field's declaration saying where. Both are a
//! [`Source`], so one reader per kind serves both.

use std::any::Any;

use super::cx::{Cx, Obj};
use super::tree::Node;
use super::value::Read;
use crate::fault::decl::FieldDecl;

/// Gives the node of a declared field, or reports it missing.
pub trait Source {
    /// The node given for `field` with its path, or `None` when it is not there.
    fn node(&self, field: &FieldDecl) -> Option<(&Node, String)>;

    /// Reports the required `field` missing.
    fn missing(&self, cx: &mut Cx, field: &FieldDecl);

    /// The group of fields flattened beside a struct's own (a network fault's traffic
    /// scope), when the source read it already (Chaos Mesh spells the scope its own way);
    /// `None` to read it field by field like the rest. The reader takes it when it is of
    /// the group's type.
    ///
    /// Untyped because the group is itself a declared struct, read through a `Source`:
    /// naming its type here would make the readers and what they read import each other.
    fn group(&self) -> Option<&dyn Any> {
        None
    }
}

impl Source for Obj<'_> {
    fn node(&self, field: &FieldDecl) -> Option<(&Node, String)> {
        self.get(field.name).map(|n| (n, self.at(field.name)))
    }

    fn missing(&self, cx: &mut Cx, field: &FieldDecl) {
        cx.missing(self, field.name, field.expect.unwrap_or_default());
    }
}

/// Reads one declared field with `R`: a present value is read and checked; an absent one
/// takes `default`, or is reported missing when the field has none (it is required).
pub fn field<R: Read>(
    cx: &mut Cx,
    src: &dyn Source,
    decl: &FieldDecl,
    default: Option<fn() -> R::Value>,
) -> Option<R::Value> {
    match (src.node(decl), default) {
        (Some((node, path)), _) => R::read(cx, node, &path),
        (None, Some(default)) => Some(default()),
        (None, None) => {
            src.missing(cx, decl);
            None
        }
    }
}
