//! The rules: which layer a module is in, which imports cross layers the wrong way, and
//! which files import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};

use super::imports::{Crate, Import};

/// A layer of the service, lowest first. An import may point down or sideways inside a
/// layer, never up; an adapter may not import another adapter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// The run itself.
    Domain,
    /// What the service does with runs, and the ports it needs.
    Application,
    /// One way to the outside world, named by its module.
    Adapter(String),
    /// The composition root: wires adapters into the application.
    Top,
}

impl Layer {
    fn rank(&self) -> u8 {
        match self {
            Layer::Domain => 0,
            Layer::Application => 1,
            Layer::Adapter(_) => 2,
            Layer::Top => 3,
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layer::Domain => f.write_str("the domain"),
            Layer::Application => f.write_str("the application"),
            Layer::Adapter(a) => write!(f, "adapter `{a}`"),
            Layer::Top => f.write_str("the composition root"),
        }
    }
}

/// Where each top-level module of a crate sits; `None` for a module nobody placed.
pub type LayerMap = fn(&[String]) -> Option<Layer>;

/// Why an import breaks the layering, for every import that does; and the modules that
/// have no layer.
pub fn violations(krate: &Crate, layer_of: LayerMap) -> Vec<String> {
    let mut out = Vec::new();
    let mut unplaced = BTreeSet::new();
    let file_layer: BTreeMap<&String, Option<Layer>> = krate
        .modules
        .iter()
        .map(|(m, f)| (f, layer_of(m)))
        .collect();
    for (m, f) in &krate.modules {
        if layer_of(m).is_none() {
            unplaced.insert(format!("{f}: module `{}` is in no layer", m.join("::")));
        }
    }
    for Import {
        from,
        line,
        path,
        to,
    } in &krate.imports
    {
        let (Some(Some(a)), Some(Some(b))) = (file_layer.get(from), file_layer.get(to)) else {
            continue;
        };
        let why = if b.rank() > a.rank() {
            "a lower layer imports a higher one"
        } else if matches!((a, b), (Layer::Adapter(x), Layer::Adapter(y)) if x != y) {
            "an adapter imports another adapter"
        } else {
            continue;
        };
        out.push(format!(
            "{from}:{line}: `{path}` ({to}): {a} imports {b} — {why}"
        ));
    }
    out.extend(unplaced);
    out
}

/// The import circles of a graph: every strongly connected set of more than one file
/// (Tarjan's algorithm), each sorted.
pub fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[w].min(self.low[v]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.index[w].min(self.low[v]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut set = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    set.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if set.len() > 1 {
                    set.sort();
                    self.found.push(set);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found.sort();
    walk.found
}

/// A circle as a person reads it: its files, and the imports that tie them.
pub fn describe_circle(krate: &Crate, circle: &[String]) -> String {
    let mut s = format!("circle of {} files: {}", circle.len(), circle.join(", "));
    for i in &krate.imports {
        if circle.contains(&i.from) && circle.contains(&i.to) {
            s.push_str(&format!(
                "\n    {}:{}: `{}` -> {}",
                i.from, i.line, i.path, i.to
            ));
        }
    }
    s
}
