//! A declared kind's fields, read where Chaos Mesh keeps them. Each field's declaration
//! names its Chaos Mesh path (`delay.reorder.gap`); [`Paths`] holds the Chaos Mesh objects
//! a chaos's `spec` has on those paths, opened and checked against Chaos Mesh's schemas,
//! so the kind's own reader, with its ranges and messages, reads them.

use std::any::Any;

use crate::decode::cx::{Cx, Obj, Schema, join};
use crate::decode::source::Source;
use crate::decode::tree::{Node, Value};
use crate::fault::{FieldDecl, KINDS, KindDecl, NetworkScope};

/// The kinds that a Chaos Mesh kind (`NetworkChaos`) translates to, in declaration order.
pub fn kinds_of(chaos: &'static str) -> impl Iterator<Item = &'static KindDecl> {
    KINDS
        .iter()
        .copied()
        .filter(move |k| k.chaos_mesh.is_some_and(|c| c.kind == chaos))
}

/// The actions (or stressors) of a Chaos Mesh kind faultline carries out, in declaration
/// order, each once.
pub fn actions_of(chaos: &'static str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in kinds_of(chaos) {
        let a = k.chaos_mesh.map_or("", |c| c.action);
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// The Chaos Mesh objects of one chaos that a kind's fields sit in, by path under `spec`
/// (`""` is the object the paths start from).
pub struct Paths<'n> {
    objs: Vec<(String, Obj<'n>)>,
    scope: Option<NetworkScope>,
    zero_unset: &'static [&'static str],
    hidden: &'static [&'static str],
}

impl<'n> Paths<'n> {
    /// Just `spec`: for fields kept directly in it.
    pub fn root(spec: &Obj<'n>) -> Self {
        Paths {
            objs: vec![(String::new(), spec.clone())],
            scope: None,
            zero_unset: &[],
            hidden: &[],
        }
    }

    /// Opens, under `base` (at `base_path` under `spec`, read with `schema`), the objects
    /// that `kind`'s fields sit in, each checked against its Chaos Mesh schema as it is
    /// opened. An object that is absent is left out; the caller says it is missing.
    pub fn open(
        cx: &mut Cx,
        base: &Obj<'n>,
        base_path: &str,
        schema: &'static Schema,
        kind: &KindDecl,
    ) -> Self {
        let wanted: Vec<String> = kind
            .fields
            .iter()
            .filter_map(|f| f.chaos_mesh)
            .flat_map(|p| {
                p.match_indices('.')
                    .map(|(i, _)| p[..i].to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut objs = vec![(base_path.to_string(), base.clone())];
        open_under(cx, base, schema, base_path, &wanted, &mut objs);
        Paths {
            objs,
            scope: None,
            zero_unset: &[],
            hidden: &[],
        }
    }

    /// The same, with the traffic scope already read (Chaos Mesh spells it differently:
    /// `externalTargets`, and peer pods under `target`).
    pub fn with_scope(self, scope: NetworkScope) -> Self {
        Paths {
            scope: Some(scope),
            ..self
        }
    }

    /// The same, reading a `0` at any of `paths` as absent: Chaos Mesh's optional numbers
    /// (`bandwidth.peakrate`) mean "none" by 0, where faultline's fields leave them out.
    pub fn zero_is_unset(self, paths: &'static [&'static str]) -> Self {
        Paths {
            zero_unset: paths,
            ..self
        }
    }

    /// The same, with the fields at `paths` left for the caller to read (Chaos Mesh's
    /// `externalTargets` holds both `peers` and `hosts`).
    pub fn hiding(self, paths: &'static [&'static str]) -> Self {
        Paths {
            hidden: paths,
            ..self
        }
    }

    /// The object opened at `path`, if it was there.
    pub fn obj(&self, path: &str) -> Option<&Obj<'n>> {
        self.objs.iter().find(|(p, _)| p == path).map(|(_, o)| o)
    }

    /// The object and key that hold `field`: its Chaos Mesh path split at the last dot.
    fn locate(&self, field: &FieldDecl) -> Option<(&Obj<'n>, &'static str)> {
        let path = field.chaos_mesh?;
        let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
        self.objs
            .iter()
            .find(|(p, _)| p == parent)
            .map(|(_, o)| (o, key))
    }
}

fn open_under<'n>(
    cx: &mut Cx,
    obj: &Obj<'n>,
    schema: &'static Schema,
    prefix: &str,
    wanted: &[String],
    out: &mut Vec<(String, Obj<'n>)>,
) {
    for (key, child) in schema.fields {
        let path = join(prefix, key);
        let (true, Some(node), Some(child)) = (wanted.contains(&path), obj.get(key), child) else {
            continue;
        };
        cx.object(node, &obj.at(key), child, |cx, o| {
            out.push((path.clone(), o.clone()));
            open_under(cx, o, child, &path, wanted, out);
        });
    }
}

impl Source for Paths<'_> {
    fn node(&self, field: &FieldDecl) -> Option<(&Node, String)> {
        if field.chaos_mesh.is_some_and(|p| self.hidden.contains(&p)) {
            return None;
        }
        let (obj, key) = self.locate(field)?;
        let n = obj.get(key)?;
        let zero = n.scalar().is_some_and(|s| s.raw.trim() == "0");
        if zero
            && field
                .chaos_mesh
                .is_some_and(|p| self.zero_unset.contains(&p))
        {
            return None;
        }
        Some((n, obj.at(key)))
    }

    fn missing(&self, cx: &mut Cx, field: &FieldDecl) {
        let what = field.expect.unwrap_or_default();
        match (field.chaos_mesh, self.locate(field)) {
            (_, Some((obj, key))) => cx.missing(obj, key, what),
            // Its object is absent or not a map: the caller or the opening said so.
            (Some(_), None) => {}
            // A field Chaos Mesh has no place for: said at the start, so a kind that
            // needs it is never translated without a word.
            (None, None) => cx.missing(&self.objs[0].1, field.name, what),
        }
    }

    fn group(&self) -> Option<&dyn Any> {
        self.scope.as_ref().map(|s| s as &dyn Any)
    }
}

/// True when `o` has a value at the dotted `path`.
pub fn present(o: &Obj<'_>, path: &str) -> bool {
    let (first, rest) = path.split_once('.').unwrap_or((path, ""));
    let Some(mut at) = o.get(first) else {
        return false;
    };
    for key in rest.split('.').filter(|k| !k.is_empty()) {
        let Value::Map(entries) = &at.value else {
            return false;
        };
        match entries.iter().find(|(k, _)| k.key_text() == Some(key)) {
            Some((_, v)) => at = v,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos_mesh::{dns, network, pod, stress};

    fn has_path(schema: &'static Schema, path: &str) -> bool {
        let (first, rest) = path.split_once('.').unwrap_or((path, ""));
        schema.fields.iter().any(|(f, child)| {
            *f == first && (rest.is_empty() || child.is_some_and(|c| has_path(c, rest)))
        })
    }

    #[test]
    fn every_declared_chaos_mesh_path_is_in_chaos_mesh_s_schema() {
        for (chaos, spec) in [
            ("StressChaos", &stress::SPEC),
            ("NetworkChaos", &network::SPEC),
            ("PodChaos", &pod::SPEC),
            ("DNSChaos", &dns::SPEC),
        ] {
            let kinds: Vec<_> = kinds_of(chaos).collect();
            assert!(!kinds.is_empty(), "{chaos}");
            for k in kinds {
                let scope = k.scope.unwrap_or_default();
                for f in k.fields.iter().chain(scope) {
                    if let Some(p) = f.chaos_mesh {
                        assert!(
                            has_path(spec, p),
                            "{}.{}: {chaos} has no `{p}`",
                            k.name,
                            f.name
                        );
                    } else {
                        assert!(
                            !f.required(),
                            "{}.{} is required but Chaos Mesh has no place for it",
                            k.name,
                            f.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn actions_are_listed_in_declaration_order_once() {
        assert_eq!(
            actions_of("NetworkChaos"),
            [
                "delay",
                "loss",
                "duplicate",
                "corrupt",
                "netem",
                "bandwidth",
                "partition"
            ]
        );
        assert_eq!(
            actions_of("PodChaos"),
            ["pod-kill", "pod-failure", "container-kill"]
        );
        assert_eq!(actions_of("StressChaos"), ["cpu", "memory"]);
        assert_eq!(actions_of("DNSChaos"), ["error", "random"]);
    }
}
