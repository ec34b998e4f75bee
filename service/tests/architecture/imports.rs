//! A crate's files and the imports between them. Each file is a module (its path from
//! the crate root, found by following `mod x;` from `lib.rs` or `main.rs`); each import —
//! a `use` path, grouped or not, or a path written inline (`crate::a::b`, `super::x`,
//! `self::x`, a child module's `x::y`) — is resolved to the deepest module it names, and
//! so to that module's file.

use std::collections::{BTreeMap, BTreeSet};

use super::source::{Token, read};

/// Source files by path relative to the crate's source folder (`src`).
pub type Sources = BTreeMap<String, String>;

/// One import of one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Import {
    /// The importing file.
    pub from: String,
    /// Its line.
    pub line: usize,
    /// The path as written, `::`-joined (`crate::store::Store`).
    pub path: String,
    /// The file of the deepest module the path names.
    pub to: String,
}

/// A crate: its module paths and files, and the imports between its files.
#[derive(Debug, Default)]
pub struct Crate {
    /// Module path (`["api", "runs"]`) -> its file (inline modules map to their file).
    pub modules: BTreeMap<Vec<String>, String>,
    /// Every import between two different files of the crate.
    pub imports: Vec<Import>,
}

/// A file's module path from the crate root: `api/runs.rs` -> `[api, runs]`,
/// `api/mod.rs` -> `[api]`, the root -> `[]`.
fn module_of(file: &str, root: &str) -> Vec<String> {
    if file == root {
        return Vec::new();
    }
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The folder a file's child modules live in: `api/mod.rs` -> `api`, `api/runs.rs` ->
/// `api/runs`, the root -> ``.
fn child_dir(file: &str, root: &str) -> String {
    if file == root {
        return String::new();
    }
    match file.strip_suffix("/mod.rs") {
        Some(dir) => dir.to_string(),
        None => file.strip_suffix(".rs").unwrap_or(file).to_string(),
    }
}

/// Where the tokens of a file place inline modules: token index ranges with their names.
struct Scopes {
    /// `(first token, one past the last, module path relative to the file)`.
    ranges: Vec<(usize, usize, Vec<String>)>,
}

impl Scopes {
    fn find(toks: &[Token]) -> Scopes {
        let mut ranges = Vec::new();
        let mut stack: Vec<(usize, i32, Vec<String>)> = Vec::new();
        let mut depth = 0;
        for (i, t) in toks.iter().enumerate() {
            match t.text.as_str() {
                "{" => {
                    depth += 1;
                    if i >= 2 && toks[i - 2].text == "mod" {
                        let mut path = stack.last().map(|s| s.2.clone()).unwrap_or_default();
                        path.push(toks[i - 1].text.clone());
                        stack.push((i, depth, path));
                    }
                }
                "}" => {
                    if stack.last().is_some_and(|s| s.1 == depth) {
                        let (start, _, path) = stack.pop().expect("checked");
                        ranges.push((start, i + 1, path));
                    }
                    depth -= 1;
                }
                _ => {}
            }
        }
        Scopes { ranges }
    }

    /// The inline module path at token `i` (innermost).
    fn at(&self, i: usize) -> Vec<String> {
        self.ranges
            .iter()
            .filter(|(s, e, _)| *s <= i && i < *e)
            .max_by_key(|(_, _, p)| p.len())
            .map(|(_, _, p)| p.clone())
            .unwrap_or_default()
    }
}

/// The paths one `use` tree names, `::`-split: `crate::{a, b::{c, self}, d as e}` gives
/// `crate::a`, `crate::b::c`, `crate::b`, `crate::d`. A glob names its module.
pub fn use_paths(tree: &[Token]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // `use ::kube::Client`: a leading `::` names an external crate.
    if tree.first().is_some_and(|t| t.text == "::") {
        return out;
    }
    expand(&[], tree, &mut out);
    out
}

fn expand(prefix: &[String], tree: &[Token], out: &mut Vec<Vec<String>>) {
    let mut path: Vec<String> = prefix.to_vec();
    let mut i = 0;
    while i < tree.len() {
        match tree[i].text.as_str() {
            "::" => {}
            "{" => {
                // The group runs to its matching brace; split it at top-level commas.
                let mut depth = 0;
                let mut start = i + 1;
                for j in i..tree.len() {
                    match tree[j].text.as_str() {
                        "{" => depth += 1,
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                if start < j {
                                    expand(&path, &tree[start..j], out);
                                }
                                return;
                            }
                        }
                        "," if depth == 1 => {
                            if start < j {
                                expand(&path, &tree[start..j], out);
                            }
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            "*" => break,
            "as" => break,
            "self" if !path.is_empty() => {}
            name => path.push(name.to_string()),
        }
        i += 1;
    }
    if !path.is_empty() {
        out.push(path);
    }
}

/// Reads the crate rooted at `root` (`lib.rs`, `main.rs`) out of `sources`: every file
/// `mod x;` reaches (not the `#[cfg(test)]` ones), and the imports between them. Paths
/// into other crates (a binary's `faultline::x`, `std::`) are not imports between files.
pub fn read_crate(sources: &Sources, root: &str) -> Crate {
    let mut krate = Crate::default();
    let mut files: Vec<String> = Vec::new();
    let mut queue = vec![root.to_string()];
    let mut tokens: BTreeMap<String, Vec<Token>> = BTreeMap::new();
    while let Some(file) = queue.pop() {
        let Some(src) = sources.get(&file) else {
            continue;
        };
        let toks = read(src);
        let module = module_of(&file, root);
        let scopes = Scopes::find(&toks);
        krate.modules.insert(module.clone(), file.clone());
        for (_, _, inline) in &scopes.ranges {
            let mut m = module.clone();
            m.extend(inline.iter().cloned());
            krate.modules.insert(m, file.clone());
        }
        for i in 0..toks.len().saturating_sub(2) {
            if toks[i].text == "mod" && toks[i + 2].text == ";" {
                let mut dir = child_dir(&file, root);
                for part in scopes.at(i) {
                    dir = if dir.is_empty() {
                        part
                    } else {
                        format!("{dir}/{part}")
                    };
                }
                let name = &toks[i + 1].text;
                let base = if dir.is_empty() {
                    name.clone()
                } else {
                    format!("{dir}/{name}")
                };
                let child = [format!("{base}.rs"), format!("{base}/mod.rs")]
                    .into_iter()
                    .find(|c| sources.contains_key(c));
                if let Some(c) = child {
                    queue.push(c);
                }
            }
        }
        files.push(file.clone());
        tokens.insert(file, toks);
    }
    for file in &files {
        let toks = &tokens[file];
        let module = module_of(file, root);
        let scopes = Scopes::find(toks);
        for (line, written) in paths_of(toks) {
            let (at, segs) = written;
            let mut here = module.clone();
            here.extend(scopes.at(at));
            let Some(abs) = absolute(&krate.modules, &here, &segs) else {
                continue;
            };
            if let Some(to) = deepest_file(&krate.modules, &abs)
                && to != *file
            {
                krate.imports.push(Import {
                    from: file.clone(),
                    line,
                    path: segs.join("::"),
                    to,
                });
            }
        }
    }
    krate.imports.sort();
    krate.imports.dedup();
    krate
}

/// Every path a file writes, `use` trees expanded: `(line, (token index, segments))`.
fn paths_of(toks: &[Token]) -> Vec<(usize, (usize, Vec<String>))> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i].text == "use" {
            let end = (i..toks.len())
                .find(|&j| toks[j].text == ";")
                .unwrap_or(toks.len());
            for p in use_paths(&toks[i + 1..end]) {
                out.push((toks[i].line, (i, p)));
            }
            i = end;
            continue;
        }
        // An inline path: an identifier followed by `::`, not itself after `::`.
        let starts = toks[i]
            .text
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && toks.get(i + 1).is_some_and(|t| t.text == "::")
            && (i == 0 || toks[i - 1].text != "::");
        if starts {
            let mut segs = vec![toks[i].text.clone()];
            let mut j = i + 1;
            while j + 1 < toks.len() && toks[j].text == "::" {
                let next = &toks[j + 1].text;
                if !next
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                {
                    break;
                }
                segs.push(next.clone());
                j += 2;
            }
            out.push((toks[i].line, (i, segs)));
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// `segs` written in module `here`, as a path from the crate root; `None` for a path into
/// another crate (`std::`, `serde::`) or a local name.
fn absolute(
    modules: &BTreeMap<Vec<String>, String>,
    here: &[String],
    segs: &[String],
) -> Option<Vec<String>> {
    match segs[0].as_str() {
        "crate" => Some(segs[1..].to_vec()),
        "self" => Some([here, &segs[1..]].concat()),
        "super" => {
            let ups = segs.iter().take_while(|s| *s == "super").count();
            let base = here.get(..here.len().checked_sub(ups)?)?;
            Some([base, &segs[ups..]].concat())
        }
        first => {
            // A child module of the current one (`runs::configure` in `api/mod.rs`).
            let mut child = here.to_vec();
            child.push(first.to_string());
            modules.contains_key(&child).then(|| [here, segs].concat())
        }
    }
}

/// The file of the deepest module `abs` names (an item's path names its module).
pub fn deepest_file(modules: &BTreeMap<Vec<String>, String>, abs: &[String]) -> Option<String> {
    (0..=abs.len())
        .rev()
        .find_map(|n| modules.get(&abs[..n]).cloned())
}

/// The files of a crate and the files each imports.
pub fn graph(krate: &Crate) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = krate
        .modules
        .values()
        .map(|f| (f.clone(), BTreeSet::new()))
        .collect();
    for i in &krate.imports {
        g.entry(i.from.clone()).or_default().insert(i.to.clone());
    }
    g
}
