//! The governance sections of serve's config file: `audit:` (ship the audit log as JSON
//! lines), `windows:` (change windows) and `veto:` (the preflight veto). They are maps
//! and lists, unlike the flat keys a flag or an environment variable can also set, so
//! they are read from the file only, here; [`super::file`] leaves them to this reader.
//! Every problem is reported at once, with its line and field.

use std::path::{Path, PathBuf};
use std::time::Duration;

use faultline_spec::decode::tree::Node;
use faultline_spec::{Zone, zone::parse_zone};

use crate::application::config_file::walk::{Walk, join, one_document, read_file};
use crate::application::config_file::{ConfigErrors, Glob};
use crate::application::governance::{ChangeWindow, Freeze, Weekly};

/// The sections this reader owns.
pub const SECTIONS: &[&str] = &["audit", "windows", "veto"];

/// The default time the veto has to answer.
pub const DEFAULT_VETO_TIMEOUT: Duration = Duration::from_secs(5);

/// `veto:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VetoSettings {
    /// Where the plan is POSTed.
    pub url: String,
    /// How long it has to answer.
    pub timeout: Duration,
    /// Go ahead when it does not answer (default: refuse the run).
    pub fail_open: bool,
}

/// What the governance sections say; all empty when the file has none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Governance {
    /// `audit.file`: the JSON-lines copy of the audit log.
    pub audit_file: Option<PathBuf>,
    /// `windows:`, in order.
    pub windows: Vec<ChangeWindow>,
    /// `veto:`.
    pub veto: Option<VetoSettings>,
}

impl Governance {
    /// Reads the governance sections of the serve config file at `path`.
    pub fn load(path: &Path) -> Result<Governance, ConfigErrors> {
        let (text, name) = read_file(path, "serve config")?;
        let base = path.parent().unwrap_or(Path::new("."));
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        Governance::parse(&text, &name, &base)
    }

    /// Parses the sections of `text` (named `file` in errors); a relative `audit.file`
    /// is joined onto `base`. Other keys are left to [`super::ServeLayer::parse`].
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Governance, ConfigErrors> {
        let mut g = Governance::default();
        let Some(root) = one_document(text, file)? else {
            return Ok(g);
        };
        let mut w = Walk {
            file,
            errors: Vec::new(),
        };
        if let faultline_spec::decode::tree::Value::Map(entries) = &root.value {
            for (k, v) in entries {
                match k.key_text() {
                    _ if v.is_null() => {}
                    Some("audit") => g.audit_file = audit(&mut w, v, base),
                    Some("windows") => g.windows = windows(&mut w, v),
                    Some("veto") => g.veto = veto(&mut w, v),
                    _ => {}
                }
            }
        }
        if w.errors.is_empty() {
            Ok(g)
        } else {
            Err(ConfigErrors(w.errors))
        }
    }
}

fn audit(w: &mut Walk<'_>, node: &Node, base: &Path) -> Option<PathBuf> {
    let mut out = None;
    for (k, v) in w.map(node, "audit", &["file"])? {
        if k == "file" {
            out = w.string(v, "audit.file").map(|p| base.join(p));
        }
    }
    out
}

fn veto(w: &mut Walk<'_>, node: &Node) -> Option<VetoSettings> {
    let fields = w.map(node, "veto", &["url", "timeout", "failOpen"])?;
    let (mut url, mut timeout, mut fail_open) = (None, DEFAULT_VETO_TIMEOUT, false);
    for (k, v) in &fields {
        let field = join("veto", k);
        match *k {
            "url" => url = w.url(v, &field),
            "timeout" => {
                if let Some(t) = w.string(v, &field) {
                    match t.trim().parse::<faultline_spec::Duration>() {
                        Ok(d) if !d.std().is_zero() => timeout = d.std(),
                        Ok(_) => w.err(v, &field, "must be longer than 0s"),
                        Err(e) => w.err(v, &field, format!("`{t}`: {e}")),
                    }
                }
            }
            _ => match w.string(v, &field).as_deref() {
                Some("true") => fail_open = true,
                Some("false") => fail_open = false,
                Some(other) => w.err(v, &field, format!("`{other}` is not true or false")),
                None => {}
            },
        }
    }
    if url.is_none() && !fields.iter().any(|(k, _)| *k == "url") {
        w.err(node, "veto.url", "missing: where the run's plan is POSTed");
    }
    Some(VetoSettings {
        url: url?,
        timeout,
        fail_open,
    })
}

fn windows(w: &mut Walk<'_>, node: &Node) -> Vec<ChangeWindow> {
    let faultline_spec::decode::tree::Value::Seq(items) = &node.value else {
        w.err(
            node,
            "windows",
            format!("expected a list of windows, got {}", node.type_name()),
        );
        return Vec::new();
    };
    let mut out: Vec<ChangeWindow> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("windows[{i}]");
        if let Some(win) = window(w, item, &path) {
            if out.iter().any(|o| o.name == win.name) {
                w.err(
                    item,
                    &join(&path, "name"),
                    format!("`{}` is used twice", win.name),
                );
            }
            out.push(win);
        }
    }
    out
}

fn window(w: &mut Walk<'_>, node: &Node, path: &str) -> Option<ChangeWindow> {
    let fields = w.map(
        node,
        path,
        &[
            "name",
            "experiments",
            "namespaces",
            "allow",
            "freeze",
            "zone",
        ],
    )?;
    let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let mut ok = true;
    let zone = match get("zone") {
        Some(v) => match w.string(v, &join(path, "zone")).map(|z| parse_zone(&z)) {
            Some(Ok(z)) => Some(z),
            Some(Err(e)) => {
                w.err(v, &join(path, "zone"), e.to_string());
                ok = false;
                None
            }
            None => None,
        },
        None => None,
    };
    let globs = |w: &mut Walk<'_>, key: &str| -> Vec<Glob> {
        get(key)
            .and_then(|v| w.strings(v, &join(path, key)))
            .unwrap_or_default()
            .into_iter()
            .map(Glob::new)
            .collect()
    };
    let experiments = globs(w, "experiments");
    let namespaces = globs(w, "namespaces");
    // Entries without a zone, and the freezes, use `zone:`, else the first entry's zone.
    let allow_texts = get("allow").map(|v| (v, w.strings(v, &join(path, "allow"))));
    let first_zone = allow_texts
        .as_ref()
        .and_then(|(_, t)| t.as_ref())
        .and_then(|t| t.first())
        .and_then(|t| t.split_whitespace().nth(2))
        .and_then(Zone::named);
    let zone = zone.or(first_zone).unwrap_or_else(Zone::utc);
    let mut allow = Vec::new();
    if let Some((v, texts)) = allow_texts {
        for (j, t) in texts.unwrap_or_default().iter().enumerate() {
            match Weekly::parse(t, &zone) {
                Ok(a) => allow.push(a),
                Err(e) => {
                    w.err(item(v, j), &format!("{path}.allow[{j}]"), e.to_string());
                    ok = false;
                }
            }
        }
    }
    let mut freezes = Vec::new();
    if let Some(v) = get("freeze") {
        for (j, t) in w
            .strings(v, &join(path, "freeze"))
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            match Freeze::parse(t) {
                Ok(f) => freezes.push(f),
                Err(e) => {
                    w.err(item(v, j), &format!("{path}.freeze[{j}]"), e.to_string());
                    ok = false;
                }
            }
        }
    }
    if allow.is_empty() && freezes.is_empty() && ok {
        w.err(
            node,
            path,
            "give `allow:` (when runs may run), `freeze:` (when not), or both",
        );
        ok = false;
    }
    let name = match get("name") {
        Some(v) => w.string(v, &join(path, "name"))?,
        None => path.to_string(),
    };
    ok.then_some(ChangeWindow {
        name,
        experiments,
        namespaces,
        allow,
        freezes,
        zone,
    })
}

/// The `j`th item of a list node (for its line), or the node itself for a scalar.
fn item(node: &Node, j: usize) -> &Node {
    match &node.value {
        faultline_spec::decode::tree::Value::Seq(items) => items.get(j).unwrap_or(node),
        _ => node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Governance, ConfigErrors> {
        Governance::parse(text, "serve.yaml", Path::new("/etc/faultline"))
    }

    #[test]
    fn sections_are_read_typed() {
        let g = parse(
            "listen: 127.0.0.1:1\naudit:\n  file: audit/audit.jsonl\nwindows:\n  - name: business-hours\n    experiments: [\"checkout-*\"]\n    allow: [\"Mon-Fri 09:00-16:00 Europe/Berlin\"]\n    freeze: [\"2026-12-20..2027-01-03\"]\nveto:\n  url: http://127.0.0.1:9/veto\n  timeout: 2s\n  failOpen: true\n",
        )
        .unwrap();
        assert_eq!(
            g.audit_file.unwrap(),
            Path::new("/etc/faultline/audit/audit.jsonl")
        );
        assert_eq!(g.windows.len(), 1);
        assert_eq!(g.windows[0].name, "business-hours");
        assert_eq!(g.windows[0].zone.name(), "Europe/Berlin");
        let v = g.veto.unwrap();
        assert_eq!((v.timeout, v.fail_open), (Duration::from_secs(2), true));
        assert_eq!(
            parse("listen: 127.0.0.1:1\n").unwrap(),
            Governance::default()
        );
    }

    #[test]
    fn every_bad_field_is_named_with_its_line() {
        let e = parse(
            "windows:\n  - name: a\n    allow:\n      - Mon-Fri 09:00-16:00\n      - Mon-Fry 09:00-16:00\n    freeze: [2027-01-03..2026-12-20]\n  - name: b\n    zone: Europe/Berln\n    allow: [Mon 09:00-10:00]\n  - name: c\n    experiments: [x]\n  - allwo: [Mon 09:00-10:00]\nveto:\n  timeout: soon\naudit:\n  path: x\n",
        )
        .unwrap_err();
        let lines: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        let want = [
            "serve.yaml:5:9: windows[0].allow[1]: `Mon-Fry`: days must be like",
            "serve.yaml:6:14: windows[0].freeze[0]: `2027-01-03..2026-12-20`: a freeze is",
            "serve.yaml:8:11: windows[1].zone: unknown time zone `Europe/Berln`; did you mean `Europe/Berlin`?",
            "serve.yaml:10:5: windows[2]: give `allow:`",
            "serve.yaml:12:5: windows[3].allwo: unknown field",
            "serve.yaml:12:5: windows[3]: give `allow:`",
            "serve.yaml:14:12: veto.timeout: `soon`",
            "serve.yaml:14:3: veto.url: missing",
            "serve.yaml:16:3: audit.path: unknown field",
        ];
        assert_eq!(lines.len(), want.len(), "{lines:#?}");
        for (got, want) in lines.iter().zip(want) {
            assert!(got.starts_with(want), "{got}\n  wanted {want}");
        }
    }
}
