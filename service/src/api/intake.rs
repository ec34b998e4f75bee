//! Turns a `POST /api/v1/runs` body into exactly one validated experiment.
//!
//! Accepted bodies: the experiment itself as YAML or JSON (native or Chaos Mesh), or the
//! envelope `{"experiment": <experiment as JSON, or its YAML text as a string>, "dryRun":
//! bool, "gitlab": {...}}` — `gitlab` is the pipeline a CI job runs in
//! (`faultline trigger` fills it from `CI_*` variables), so the run reports back to it. Validation is the spec loader's, so the errors carry the same field paths and
//! lines as `faultline validate`; for an envelope the lines refer to the experiment
//! pretty-printed on its own (two-space JSON), which the error message says.

use faultline_spec::{Experiment, load_str};

use super::error::ApiError;
use crate::domain::GitlabContext;

/// A validated submission.
#[derive(Debug, Clone)]
pub struct Intake {
    /// The experiment.
    pub experiment: Experiment,
    /// Plan only, inject nothing (`dryRun` in the envelope or `spec.guard.dryRun`).
    pub dry_run: bool,
    /// The GitLab pipeline the submitting CI job runs in, if it said.
    pub gitlab: Option<GitlabContext>,
}

/// Content types the intake reads; anything else is 415.
const TEXT_TYPES: [&str; 6] = [
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "text/x-yaml",
    "application/json",
    "text/plain",
];

/// Parses and validates `body` sent with `content_type` (its media type, lowercase,
/// without parameters; `None` if absent).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Intake, ApiError> {
    if let Some(ct) = content_type
        && !TEXT_TYPES.contains(&ct)
    {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {ct} is not accepted; send application/yaml or application/json"),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty body; send an experiment as YAML or JSON",
        ));
    }
    let (doc, mut dry_run, gitlab, source) = match envelope(text)? {
        Some(e) => (e.doc, e.dry_run, e.gitlab, "body.experiment"),
        None => (text.to_string(), false, None, "body"),
    };
    let mut exps = load_str(&doc, source).map_err(|e| ApiError::invalid_spec(&e))?;
    if exps.len() != 1 {
        return Err(ApiError::bad_request(format!(
            "the body holds {} experiments; send exactly one per request",
            exps.len()
        )));
    }
    let experiment = exps.remove(0);
    dry_run |= experiment.spec.guard.dry_run;
    Ok(Intake {
        experiment,
        dry_run,
        gitlab,
    })
}

/// The envelope's parts.
struct Envelope {
    doc: String,
    dry_run: bool,
    gitlab: Option<GitlabContext>,
}

/// If `text` is the `{"experiment": ..., "dryRun": ..., "gitlab": ...}` envelope, its
/// parts. Text that is not JSON, or JSON that is an experiment itself, is `None`.
fn envelope(text: &str) -> Result<Option<Envelope>, ApiError> {
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str(text) else {
        return Ok(None);
    };
    let Some(exp) = map.remove("experiment") else {
        return Ok(None);
    };
    if map.contains_key("apiVersion") || map.contains_key("kind") {
        // An experiment that happens to have a field called `experiment`: let the loader
        // name the unknown field.
        return Ok(None);
    }
    let dry_run = match map.remove("dryRun") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => b,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dryRun must be true or false, not {other}"
            )));
        }
    };
    let gitlab = match map.remove("gitlab") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(gitlab_context(v)?),
    };
    if let Some(unknown) = map.keys().next() {
        return Err(ApiError::bad_request(format!(
            "unknown field `{unknown}` in the request; expected `experiment`, `dryRun` and `gitlab`"
        )));
    }
    let doc = match exp {
        serde_json::Value::String(s) => s,
        other => serde_json::to_string_pretty(&other)
            .map_err(|e| ApiError::bad_request(format!("experiment: {e}")))?,
    };
    Ok(Some(Envelope {
        doc,
        dry_run,
        gitlab,
    }))
}

/// The envelope's `gitlab` object, with the fields a commit status needs.
fn gitlab_context(v: serde_json::Value) -> Result<GitlabContext, ApiError> {
    let cx: GitlabContext = serde_path_to_error::deserialize(v)
        .map_err(|e| ApiError::bad_request(format!("gitlab.{}: {}", e.path(), e.inner())))?;
    if cx.project_id == 0 || cx.project_path.trim().is_empty() {
        return Err(ApiError::bad_request(
            "gitlab.projectId and gitlab.projectPath are required (CI_PROJECT_ID, CI_PROJECT_PATH)",
        ));
    }
    if cx.sha.len() != 40 || !cx.sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(format!(
            "gitlab.sha: {:?} is not a full commit SHA (CI_COMMIT_SHA)",
            cx.sha
        )));
    }
    Ok(cx)
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: { name: t }
spec:
  target: { local: { pid: 1 } }
  steps:
    - processPause: {}
      duration: 1s
";

    #[test]
    fn yaml_json_and_the_envelope_give_the_same_experiment() {
        let a = parse(Some("application/yaml"), YAML.as_bytes()).unwrap();
        assert!(!a.dry_run);
        let json = serde_json::to_string(&a.experiment).unwrap();
        let b = parse(Some("application/json"), json.as_bytes()).unwrap();
        assert_eq!(a.experiment, b.experiment);
        let env = format!(r#"{{"experiment": {json}, "dryRun": true}}"#);
        let c = parse(None, env.as_bytes()).unwrap();
        assert!(c.dry_run);
        assert_eq!(a.experiment, c.experiment);
        let env = serde_json::json!({ "experiment": YAML }).to_string();
        assert_eq!(
            parse(None, env.as_bytes()).unwrap().experiment,
            a.experiment
        );
    }

    #[test]
    fn every_problem_is_listed_with_its_line() {
        let bad = YAML
            .replace("duration: 1s", "duration: 1 fortnight")
            .replace("processPause", "processPuase");
        let e = parse(Some("application/yaml"), bad.as_bytes()).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(!e.details.is_empty());
        assert!(e.details.iter().all(|d| d.line > 1), "{e:?}");
        // The misspelt fault is named by its step and the fix lists the real kinds.
        assert!(
            e.details
                .iter()
                .any(|d| d.path.starts_with("spec.steps[0]") && d.message.contains("processPause")),
            "{e:?}"
        );
    }

    #[test]
    fn two_documents_and_bad_envelopes_are_refused() {
        let two = format!("{YAML}---\n{YAML}");
        let e = parse(None, two.as_bytes()).unwrap_err();
        assert!(e.error.contains("holds 2 experiments"), "{}", e.error);
        let e = parse(None, br#"{"experiment": {}, "dryRun": "yes"}"#).unwrap_err();
        assert!(e.error.contains("dryRun"), "{}", e.error);
        let e = parse(None, br#"{"experiment": {}, "dry": true}"#).unwrap_err();
        assert!(e.error.contains("`dry`"), "{}", e.error);
        assert_eq!(
            parse(Some("image/png"), YAML.as_bytes())
                .unwrap_err()
                .status,
            415
        );
        assert_eq!(parse(None, b"\xff\xfe").unwrap_err().status, 400);
        assert_eq!(parse(None, b"  \n").unwrap_err().status, 400);
    }
}
