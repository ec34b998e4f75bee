//! The typed scalar readers of [`Cx`]: strings, words, numbers, percentages, values with
//! units, lists and string maps, each reporting "expected X, got Y" with the field's path
//! and line.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::cx::{Cx, closest, index, join, truncate};
use super::tree::{Node, ScalarKind, Value};
use crate::units::{Percent, UnitError};

impl Cx {
    /// A string (any non-null scalar, as written).
    pub fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match node.scalar() {
            Some(s) if !node.is_null() => Some(s.raw.clone()),
            _ => {
                self.expected(path, node, "a string");
                None
            }
        }
    }

    /// A non-empty string.
    pub fn nonempty(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.string(node, path)?;
        if s.trim().is_empty() {
            self.err(path, node.pos, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// One of `allowed`, with a suggestion when it is close to one.
    pub fn one_of(
        &mut self,
        node: &Node,
        path: &str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let s = self.string(node, path)?;
        if let Some(a) = allowed.iter().find(|a| **a == s) {
            return Some(a);
        }
        let msg = format!(
            "`{}` is not allowed; allowed: {}",
            truncate(&s),
            allowed.join(", ")
        );
        match closest(&s, allowed.iter().copied()) {
            Some(c) => self.err_hint(path, node.pos, msg, format!("did you mean `{c}`?")),
            None => self.err(path, node.pos, msg),
        }
        None
    }

    /// A whole number in `lo..=hi`.
    pub fn int(&mut self, node: &Node, path: &str, lo: i64, hi: i64) -> Option<i64> {
        match node.scalar().map(|s| s.kind) {
            Some(ScalarKind::Int(i)) if (lo..=hi).contains(&i) => Some(i),
            Some(ScalarKind::Int(i)) => {
                self.err(
                    path,
                    node.pos,
                    format!("{i} is out of range; allowed {lo} to {hi}"),
                );
                None
            }
            _ => {
                self.expected(path, node, &format!("a whole number from {lo} to {hi}"));
                None
            }
        }
    }

    /// A finite number.
    pub fn number(&mut self, node: &Node, path: &str) -> Option<f64> {
        match node.scalar().map(|s| s.kind) {
            Some(ScalarKind::Int(i)) => Some(i as f64),
            Some(ScalarKind::Float(f)) if f.is_finite() => Some(f),
            _ => {
                self.expected(path, node, "a number");
                None
            }
        }
    }

    /// A boolean.
    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.scalar().map(|s| s.kind) {
            Some(ScalarKind::Bool(b)) => Some(b),
            _ => {
                self.expected(path, node, "true or false");
                None
            }
        }
    }

    /// A percentage, 0 to 100, as a number or a string (`'100'`, `50%`).
    pub fn percent(&mut self, node: &Node, path: &str) -> Option<Percent> {
        let r = match node.scalar().map(|s| (s.kind, s.raw.as_str())) {
            Some((ScalarKind::Int(i), _)) => Percent::new(i as f64),
            Some((ScalarKind::Float(f), _)) => Percent::new(f),
            Some((ScalarKind::Str, raw)) => raw.parse(),
            _ => {
                self.expected(path, node, "a percentage from 0 to 100");
                return None;
            }
        };
        self.unit(node, path, r, "a percentage from 0 to 100")
    }

    /// A value with a unit that parses from its text (`Duration`, `Bytes`, `BitRate`).
    pub fn parsed<T: FromStr<Err = UnitError>>(
        &mut self,
        node: &Node,
        path: &str,
        what: &str,
    ) -> Option<T> {
        match node.scalar() {
            Some(s) if !node.is_null() && !matches!(s.kind, ScalarKind::Bool(_)) => {
                let r = s.raw.parse::<T>();
                self.unit(node, path, r, what)
            }
            _ => {
                self.expected(path, node, what);
                None
            }
        }
    }

    fn unit<T>(
        &mut self,
        node: &Node,
        path: &str,
        r: Result<T, UnitError>,
        what: &str,
    ) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(path, node.pos, format!("{}; allowed: {what}", e.0));
                None
            }
        }
    }

    /// A list.
    pub fn list<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.expected(path, node, "a list");
                None
            }
        }
    }

    /// A list of strings.
    pub fn strings(&mut self, node: &Node, path: &str) -> Option<Vec<String>> {
        let items = self.list(node, path)?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, n) in items.iter().enumerate() {
            match self.nonempty(n, &index(path, i)) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A map of strings to strings (labels, annotations, selectors).
    pub fn string_map(&mut self, node: &Node, path: &str) -> Option<BTreeMap<String, String>> {
        let Value::Map(entries) = &node.value else {
            self.expected(path, node, "a map of names to strings");
            return None;
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (k, v) in entries {
            let Some(key) = k.key_text() else {
                self.err(
                    path,
                    k.pos,
                    "a key must be a plain name, not a map or a list",
                );
                ok = false;
                continue;
            };
            let p = join(path, key);
            if out.contains_key(key) {
                self.err(&p, k.pos, format!("duplicate key `{key}`"));
                ok = false;
                continue;
            }
            match self.string(v, &p) {
                Some(s) => {
                    out.insert(key.to_string(), s);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}
