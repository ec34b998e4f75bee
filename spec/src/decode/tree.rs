//! YAML text -> a small tree of nodes that remember their line and column.
//!
//! We build the tree from saphyr's event stream ourselves (rather than with saphyr's
//! `MarkedYaml` loader) for three reasons: a nesting limit (a deep tree would overflow the
//! stack when dropped or walked), a budget on alias expansion that we can report as an
//! ordinary spec error, and map keys that keep their own positions so "unknown field" can
//! point at the key, not at the map.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar as YScalar;
use saphyr_parser::{Event, Parser, Span};

/// Deepest nesting of maps and lists accepted; real specs use about ten.
pub const MAX_DEPTH: usize = 64;
/// Most nodes that aliases may produce in one file ("billion laughs" guard).
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl Pos {
    fn of(span: Span) -> Pos {
        Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }
}

/// A node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What it holds.
    pub value: Value,
}

/// A node's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar with its text as written and its YAML 1.2 core-schema type.
    Scalar(Scalar),
    /// A list.
    Seq(Vec<Node>),
    /// A map in document order (duplicates kept; the walker reports them).
    Map(Vec<(Node, Node)>),
}

/// A scalar.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The text as written (without quotes).
    pub raw: String,
    /// Its resolved type.
    pub kind: ScalarKind,
}

/// A scalar's resolved type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalarKind {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number that fits i64.
    Int(i64),
    /// A float.
    Float(f64),
    /// Anything else, including every quoted scalar.
    Str,
}

impl Node {
    /// A short name of the node's type, for "expected X, got Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
            Value::Scalar(s) => match s.kind {
                ScalarKind::Null => "nothing (null)",
                ScalarKind::Bool(_) => "a boolean",
                ScalarKind::Int(_) => "an integer",
                ScalarKind::Float(_) => "a number",
                ScalarKind::Str => "a string",
            },
        }
    }

    /// The scalar, if this is one.
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// True for `null`/`~`/empty.
    pub fn is_null(&self) -> bool {
        matches!(
            &self.value,
            Value::Scalar(Scalar {
                kind: ScalarKind::Null,
                ..
            })
        )
    }

    /// The text of a scalar key; complex keys have none.
    pub fn key_text(&self) -> Option<&str> {
        self.scalar().map(|s| s.raw.as_str())
    }

    fn count(&self) -> usize {
        match &self.value {
            Value::Scalar(_) => 1,
            Value::Seq(v) => 1 + v.iter().map(Node::count).sum::<usize>(),
            Value::Map(v) => 1 + v.iter().map(|(k, n)| k.count() + n.count()).sum::<usize>(),
        }
    }
}

/// One document of the stream.
#[derive(Debug)]
pub struct Document {
    /// Its root, or `None` for an empty document.
    pub root: Option<Node>,
    /// Where it starts.
    pub pos: Pos,
}

/// Why the text is not YAML (only the first such problem can be reported: the parser
/// cannot go on past it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

struct Frame {
    node: Node,
    anchor: usize,
    key: Option<Node>,
}

/// Parses every document in `text`.
pub fn parse(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_nodes = 0usize;
    let mut root: Option<Node> = None;
    let mut doc_pos = Pos { line: 1, col: 1 };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| SyntaxError {
            pos: Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
            },
            message: format!("not valid YAML: {}", e.info()),
        })?;
        let pos = Pos::of(span);
        let finished: Option<(Node, usize)> = match event {
            Event::DocumentStart(_) => {
                doc_pos = pos;
                None
            }
            Event::DocumentEnd => {
                docs.push(Document {
                    root: root.take(),
                    pos: doc_pos,
                });
                None
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        pos,
                        message: format!(
                            "nesting deeper than {MAX_DEPTH} levels; a spec never needs that"
                        ),
                    });
                }
                let value = if matches!(event, Event::SequenceStart(..)) {
                    Value::Seq(Vec::new())
                } else {
                    Value::Map(Vec::new())
                };
                stack.push(Frame {
                    node: Node { pos, value },
                    anchor,
                    key: None,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => stack.pop().map(|f| (f.node, f.anchor)),
            Event::Scalar(text, style, anchor, tag) => {
                let raw = text.to_string();
                let kind = match YScalar::parse_from_cow_and_metadata(
                    Cow::Borrowed(&raw),
                    style,
                    tag.as_ref(),
                ) {
                    Some(YScalar::Null) => ScalarKind::Null,
                    Some(YScalar::Boolean(b)) => ScalarKind::Bool(b),
                    Some(YScalar::Integer(i)) => ScalarKind::Int(i),
                    Some(YScalar::FloatingPoint(f)) => ScalarKind::Float(f.into_inner()),
                    Some(YScalar::String(_)) | None => ScalarKind::Str,
                };
                Some((
                    Node {
                        pos,
                        value: Value::Scalar(Scalar { raw, kind }),
                    },
                    anchor,
                ))
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(SyntaxError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                alias_nodes = alias_nodes.saturating_add(target.count());
                if alias_nodes > MAX_ALIAS_NODES {
                    return Err(SyntaxError {
                        pos,
                        message: format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                    });
                }
                let mut node = target.clone();
                node.pos = pos;
                Some((node, 0))
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd => None,
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(parent) => match &mut parent.node.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match parent.key.take() {
                    None => parent.key = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                Value::Scalar(_) => {}
            },
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_keys_keep_theirs() {
        let docs = parse("a: 1\nb:\n  c: 'x'\n---\n- 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        let Some(Node {
            value: Value::Map(m),
            ..
        }) = &docs[0].root
        else {
            panic!()
        };
        assert_eq!(m[1].0.pos, Pos { line: 2, col: 1 });
        let Value::Map(inner) = &m[1].1.value else {
            panic!()
        };
        assert_eq!(inner[0].1.pos, Pos { line: 3, col: 6 });
        assert_eq!(inner[0].1.scalar().unwrap().kind, ScalarKind::Str);
        assert_eq!(m[0].1.scalar().unwrap().kind, ScalarKind::Int(1));
    }

    #[test]
    fn deep_nesting_and_alias_bombs_are_errors_not_crashes() {
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
        let deep_block: String = (0..200)
            .map(|i| format!("{}- \n", "  ".repeat(i)))
            .collect();
        let _ = parse(&deep_block);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..10 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("a{}", i - 1)
            };
            bomb.push_str(&format!("a{i}: &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let e = parse(&bomb).unwrap_err();
        assert!(e.message.contains("aliases expand"), "{e:?}");
    }

    #[test]
    fn empty_text_has_no_documents() {
        assert!(parse("").unwrap().is_empty());
        assert_eq!(parse("---\n").unwrap().len(), 1);
    }
}
