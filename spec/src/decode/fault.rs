//! A fault step's parameters: the kind's declared fields, read from its map.

use super::cx::Cx;
use super::tree::{Node, Value};
use crate::fault::{FaultKind, KINDS};

/// Reads the parameters of fault `kind` from `node`; `None` for an unknown kind (the
/// step reports those) or bad parameters (reported here).
pub fn fault(cx: &mut Cx, kind: &str, node: &Node, path: &str) -> Option<FaultKind> {
    let decl = KINDS.iter().find(|k| k.name == kind)?;
    // `podKill: {}` and `podKill:` (null) mean the same: no parameters.
    let empty = Node {
        pos: node.pos,
        value: Value::Map(Vec::new()),
    };
    let node = if node.is_null() { &empty } else { node };
    cx.object(node, path, decl.schema, |cx, o| decl.decode(cx, o))
        .flatten()
}
