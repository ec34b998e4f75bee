//! Entry points: text or a file in, experiments or every error out.

use std::path::Path;

use super::chaos_mesh;
use super::decode::cx::{Cx, closest, truncate};
use super::decode::native;
use super::decode::tree::{self, Node, Pos, Value};
use super::error::{SpecError, SpecErrors};
use super::experiment::{API_VERSION, Experiment, KIND};

/// The documents this version reads, as `(apiVersion, kind)`.
pub const SUPPORTED: [(&str, &str); 9] = [
    (API_VERSION, KIND),
    (chaos_mesh::API_VERSION, "StressChaos"),
    (chaos_mesh::API_VERSION, "NetworkChaos"),
    (chaos_mesh::API_VERSION, "PodChaos"),
    (chaos_mesh::API_VERSION, "DNSChaos"),
    (chaos_mesh::API_VERSION, "HTTPChaos"),
    (chaos_mesh::API_VERSION, "Workflow"),
    (chaos_mesh::API_VERSION, "StatusCheck"),
    (chaos_mesh::API_VERSION, "Schedule"),
];

fn supported_list() -> String {
    format!(
        "{API_VERSION} (kind {KIND}) and {} (kinds StressChaos, NetworkChaos, PodChaos, DNSChaos, HTTPChaos, Workflow, Schedule, StatusCheck)",
        chaos_mesh::API_VERSION
    )
}

/// Reads every document of `text` (YAML or JSON; `---` separates documents), each into one
/// native experiment. `file` names the source in messages.
pub fn load_str(text: &str, file: &str) -> Result<Vec<Experiment>, SpecErrors> {
    let fail = |errors: Vec<SpecError>| {
        Err(SpecErrors {
            file: file.to_string(),
            errors,
        })
    };
    let docs = match tree::parse(text) {
        Ok(d) => d,
        Err(e) => return fail(vec![SpecError::new("", e.pos.line, e.pos.col, e.message)]),
    };
    let mut cx = Cx::default();
    let mut out = Vec::new();
    for doc in &docs {
        // `---` at the end of a file (or a comment-only document) is an empty document.
        let Some(root) = doc.root.as_ref().filter(|r| !r.is_null()) else {
            continue;
        };
        if let Some(e) = document(&mut cx, root) {
            out.push(e);
        }
    }
    if out.is_empty() && cx.errors.is_empty() {
        let pos = docs.first().map_or(Pos { line: 1, col: 1 }, |d| d.pos);
        cx.err(
            "",
            pos,
            format!(
                "no experiment in this file; expected a document of {}",
                supported_list()
            ),
        );
    }
    if !cx.errors.is_empty() {
        let mut errors = cx.errors;
        errors.sort_by_key(|e| (e.line, e.column));
        errors.dedup();
        return fail(errors);
    }
    Ok(out)
}

/// Reads a file; see [`load_str`]. A file that cannot be read or is not UTF-8 is one error.
pub fn load_file(path: &Path) -> Result<Vec<Experiment>, SpecErrors> {
    let file = path.display().to_string();
    let one = |msg: String| SpecErrors {
        file: file.clone(),
        errors: vec![SpecError::new("", 1, 1, msg)],
    };
    let bytes = std::fs::read(path).map_err(|e| one(format!("cannot read the file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        one(format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    load_str(&text, &file)
}

fn document(cx: &mut Cx, root: &Node) -> Option<Experiment> {
    let Value::Map(_) = &root.value else {
        cx.expected(
            "",
            root,
            &format!("a document with apiVersion and kind ({})", supported_list()),
        );
        return None;
    };
    let field = |name: &str| match &root.value {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| k.key_text() == Some(name))
            .map(|(_, v)| v),
        _ => None,
    };
    let (Some(api), Some(kind)) = (field("apiVersion"), field("kind")) else {
        cx.err_hint(
            "",
            root.pos,
            "missing `apiVersion` or `kind`",
            format!("supported: {}", supported_list()),
        );
        return None;
    };
    let api_s = cx.string(api, "apiVersion")?;
    let kind_s = cx.string(kind, "kind")?;
    if !SUPPORTED.iter().any(|(a, _)| *a == api_s) {
        let apis = [API_VERSION, chaos_mesh::API_VERSION];
        let hint = match closest(&api_s, apis) {
            Some(c) => format!("did you mean `{c}`? supported: {}", supported_list()),
            None => format!("supported: {}", supported_list()),
        };
        cx.err_hint(
            "apiVersion",
            api.pos,
            format!("unknown apiVersion `{}`", truncate(&api_s)),
            hint,
        );
        return None;
    }
    if !SUPPORTED.contains(&(api_s.as_str(), kind_s.as_str())) {
        let kinds: Vec<_> = SUPPORTED
            .iter()
            .filter(|(a, _)| *a == api_s)
            .map(|(_, k)| *k)
            .collect();
        let hint = match closest(&kind_s, kinds.iter().copied()) {
            Some(c) => format!("did you mean `{c}`? {api_s} supports {}", kinds.join(", ")),
            None => format!("{api_s} supports {}", kinds.join(", ")),
        };
        cx.err_hint(
            "kind",
            kind.pos,
            format!("unknown kind `{}`", truncate(&kind_s)),
            hint,
        );
        return None;
    }
    if api_s == API_VERSION {
        native::experiment(cx, root)
    } else {
        chaos_mesh::translate(cx, root, &kind_s)
    }
}
