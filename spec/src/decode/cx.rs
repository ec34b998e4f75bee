//! The decoding context: collects every error with its path and position, and knows the
//! schema of each object, to name unknown fields and say where they belong. Its typed
//! scalar readers are in `scalars.rs`.

use super::tree::{Node, Pos, Value};
use crate::error::SpecError;

/// One field of a schema: its name, and its schema when it holds an object.
pub type Field = (&'static str, Option<&'static Schema>);

/// The fields an object may have; a field that is itself an object names its schema, so an
/// unknown field can be recognised as one that belongs one level down (or up).
#[derive(Debug)]
pub struct Schema {
    /// Field names with their schema when they hold an object.
    pub fields: &'static [Field],
    /// Schemas whose fields sit beside these, in this object (a network fault's traffic
    /// scope, a step's fault kinds); their fields count as this object's, after its own.
    pub include: &'static [&'static Schema],
}

impl Schema {
    /// A schema of just these fields.
    pub const fn new(fields: &'static [Field]) -> Self {
        Schema {
            fields,
            include: &[],
        }
    }

    /// A schema of these fields plus those of `include` (which sit beside them).
    pub const fn including(fields: &'static [Field], include: &'static [&'static Schema]) -> Self {
        Schema { fields, include }
    }

    /// Every field, own ones first, then those of the included schemas (depth first).
    fn all(&'static self) -> Vec<&'static Field> {
        let mut out: Vec<&'static Field> = self.fields.iter().collect();
        for s in self.include {
            out.extend(s.all());
        }
        out
    }

    fn has(&'static self, name: &str) -> bool {
        self.all().iter().any(|(f, _)| *f == name)
    }

    fn names(&'static self) -> impl Iterator<Item = &'static str> {
        self.all().into_iter().map(|(f, _)| *f)
    }
}

/// Joins a field name onto a path.
pub fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Appends a list index to a path.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c.to_ascii_lowercase() == lower {
            return Some(c);
        }
        let d = strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase());
        let limit = (c.len().max(word.len()) / 3).clamp(1, 4);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// A map being read: look fields up by name.
#[derive(Clone)]
pub struct Obj<'n> {
    /// Path of the object.
    pub path: String,
    /// Where it starts.
    pub pos: Pos,
    entries: &'n [(Node, Node)],
}

impl<'n> Obj<'n> {
    /// The value of a field, if present (the first, when duplicated: duplicates are errors).
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.key_text() == Some(name))
            .map(|(_, v)| v)
    }

    /// The path of a field.
    pub fn at(&self, name: &str) -> String {
        join(&self.path, name)
    }

    /// Field names present, in order.
    pub fn keys(&self) -> impl Iterator<Item = (&'n str, &'n Node)> {
        self.entries
            .iter()
            .filter_map(|(k, _)| k.key_text().map(|t| (t, k)))
    }
}

/// Collects errors while a document is decoded.
#[derive(Default)]
pub struct Cx {
    /// Every error so far.
    pub errors: Vec<SpecError>,
    scopes: Vec<(String, &'static Schema)>,
}

impl Cx {
    /// Records an error.
    pub fn err(&mut self, path: &str, pos: Pos, message: impl Into<String>) {
        self.errors
            .push(SpecError::new(path, pos.line, pos.col, message));
    }

    /// Records an error with a hint.
    pub fn err_hint(
        &mut self,
        path: &str,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.errors
            .push(SpecError::new(path, pos.line, pos.col, message).with_hint(hint));
    }

    /// Records "expected X, got Y".
    pub fn expected(&mut self, path: &str, node: &Node, what: &str) {
        let got = match node.scalar() {
            Some(s) if !node.is_null() => format!("`{}`", truncate(&s.raw)),
            _ => node.type_name().to_string(),
        };
        self.err(path, node.pos, format!("expected {what}, got {got}"));
    }

    /// A missing required field.
    pub fn missing(&mut self, obj: &Obj<'_>, name: &str, what: &str) {
        self.err(
            &obj.at(name),
            obj.pos,
            format!("missing required field `{name}` ({what})"),
        );
    }

    /// Reads `node` as an object of `schema` and hands it to `f`; reports a non-map,
    /// duplicate keys and unknown fields (with where they belong) first.
    pub fn object<'n, R>(
        &mut self,
        node: &'n Node,
        path: &str,
        schema: &'static Schema,
        f: impl FnOnce(&mut Cx, &Obj<'n>) -> R,
    ) -> Option<R> {
        let Value::Map(entries) = &node.value else {
            let fields: Vec<_> = schema.names().collect();
            let what = if fields.is_empty() {
                "an empty map `{}` (it takes no fields)".to_string()
            } else {
                format!("a map with fields {}", fields.join(", "))
            };
            self.expected(path, node, &what);
            return None;
        };
        let obj = Obj {
            path: path.to_string(),
            pos: node.pos,
            entries,
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in entries {
            let Some(name) = key.key_text() else {
                self.err(
                    path,
                    key.pos,
                    "a key must be a plain name, not a map or a list",
                );
                continue;
            };
            if seen.contains(&name) {
                self.err(&obj.at(name), key.pos, format!("duplicate field `{name}`"));
                continue;
            }
            seen.push(name);
            if !schema.has(name) {
                self.unknown_field(&obj, name, key.pos, schema);
            }
        }
        self.scopes.push((path.to_string(), schema));
        let r = f(self, &obj);
        self.scopes.pop();
        Some(r)
    }

    fn unknown_field(&mut self, obj: &Obj<'_>, name: &str, pos: Pos, schema: &'static Schema) {
        let path = obj.at(name);
        let msg = "unknown field";
        // 1. A typo of a field of this object.
        if let Some(s) = closest(name, schema.names()) {
            return self.err_hint(&path, pos, msg, format!("did you mean `{s}`?"));
        }
        // 2. A field of a child object (present ones first): it needs indenting.
        let present = |f: &str| obj.get(f).is_some();
        let mut children: Vec<_> = schema
            .all()
            .into_iter()
            .filter_map(|(f, c)| c.map(|c| (*f, c)))
            .collect();
        children.sort_by_key(|(f, _)| !present(f));
        if let Some((child, _)) = children.iter().find(|(_, c)| c.has(name)) {
            return self.err_hint(
                &path,
                pos,
                msg,
                format!(
                    "`{name}` belongs under `{}`; indent it under `{child}:`",
                    obj.at(child)
                ),
            );
        }
        // 3. A field of an ancestor: it needs dedenting.
        for depth in (0..self.scopes.len()).rev() {
            let (apath, aschema) = &self.scopes[depth];
            if aschema.has(name) {
                let via = self
                    .scopes
                    .get(depth + 1)
                    .map_or(obj.path.as_str(), |(p, _)| p.as_str());
                let via_key = via.rsplit('.').next().unwrap_or(via);
                let via_key = via_key.split('[').next().unwrap_or(via_key);
                let place = if apath.is_empty() {
                    "the top level".to_string()
                } else {
                    format!("`{apath}`")
                };
                return self.err_hint(
                    &path,
                    pos,
                    msg,
                    format!("`{name}` belongs under {place}, not `{}`; dedent it to line up with `{via_key}:`", obj.path),
                );
            }
            // 4. A sibling object (another child of that ancestor).
            if let Some((sib, _)) = aschema
                .all()
                .into_iter()
                .find(|(_, c)| c.is_some_and(|c| c.has(name)))
            {
                return self.err_hint(
                    &path,
                    pos,
                    msg,
                    format!("`{name}` belongs under `{}`", join(apath, sib)),
                );
            }
        }
        let fields: Vec<_> = schema.names().collect();
        let hint = if fields.is_empty() {
            format!("`{}` takes no fields; write it `{{}}`", obj.path)
        } else {
            format!("known fields here: {}", fields.join(", "))
        };
        self.err_hint(&path, pos, msg, hint)
    }
}

/// Long values are cut in messages so one bad line cannot flood the terminal.
pub fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_but_not_strangers() {
        let fields = ["latency", "jitter", "correlation", "direction"];
        assert_eq!(closest("latncy", fields), Some("latency"));
        assert_eq!(closest("Jitter", fields), Some("jitter"));
        assert_eq!(closest("corelation", fields), Some("correlation"));
        assert_eq!(closest("bandwidth", fields), None);
    }
}
