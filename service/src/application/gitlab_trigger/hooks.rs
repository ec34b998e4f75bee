//! GitLab's webhook payloads (Push, Merge request, Pipeline, Job, Deployment hooks), as
//! GitLab's webhook-events documentation shows them, and their reduction to one
//! [`HookEvent`]. Only the fields faultline acts on are typed; GitLab adds fields over
//! time, so unknown ones are ignored (unlike an experiment, a payload is not ours to
//! police).

use serde::Deserialize;

use crate::domain::GitlabContext;

/// The event kinds faultline acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `Push Hook`.
    Push,
    /// `Merge Request Hook`.
    MergeRequest,
    /// `Pipeline Hook`.
    Pipeline,
    /// `Job Hook` (`object_kind: build`).
    Job,
    /// `Deployment Hook`.
    Deployment,
}

impl EventKind {
    /// Every kind, for rule validation messages.
    pub const ALL: [EventKind; 5] = [
        EventKind::Push,
        EventKind::MergeRequest,
        EventKind::Pipeline,
        EventKind::Job,
        EventKind::Deployment,
    ];

    /// The name rules use: `push`, `merge_request`, `pipeline`, `job`, `deployment`.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::Push => "push",
            EventKind::MergeRequest => "merge_request",
            EventKind::Pipeline => "pipeline",
            EventKind::Job => "job",
            EventKind::Deployment => "deployment",
        }
    }

    /// The kind a rule names.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The kind an `X-Gitlab-Event` header names; `None` for events faultline ignores
    /// (Issue Hook, Note Hook, System Hook, ...).
    pub fn from_header(h: &str) -> Option<EventKind> {
        match h {
            "Push Hook" => Some(EventKind::Push),
            "Merge Request Hook" => Some(EventKind::MergeRequest),
            "Pipeline Hook" => Some(EventKind::Pipeline),
            "Job Hook" => Some(EventKind::Job),
            "Deployment Hook" => Some(EventKind::Deployment),
            _ => None,
        }
    }

    /// The payload's `object_kind` for this kind (jobs are still `build`).
    const fn object_kind(self) -> &'static str {
        match self {
            EventKind::Job => "build",
            other => other.name(),
        }
    }
}

/// One webhook delivery, reduced to what rules match on and what runs report back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    /// The kind.
    pub kind: EventKind,
    /// Pipeline/job/deployment status (`success`, `failed`, `running`...), or the merge
    /// request's action (`open`, `update`, `merge`...); `None` for pushes.
    pub status: Option<String>,
    /// Project, commit, ref, pipeline, MR, environment.
    pub context: GitlabContext,
}

/// Why a payload could not be read; the handler answers 400 with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    /// Not JSON, or a field of the wrong type; `path` is where (`object_attributes.sha`).
    #[error("{path}: {message}")]
    Malformed {
        /// JSON path of the offending field (`.` for the document).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The header and the payload disagree about the kind.
    #[error("X-Gitlab-Event says {header} but object_kind is {object_kind:?}")]
    KindMismatch {
        /// The header value.
        header: &'static str,
        /// The payload's `object_kind`.
        object_kind: String,
    },
    /// A field faultline needs is missing or empty.
    #[error("{0}: missing; GitLab always sends it for this event")]
    Missing(&'static str),
}

#[derive(Deserialize)]
struct Project {
    id: Option<u64>,
    path_with_namespace: Option<String>,
    web_url: Option<String>,
}

#[derive(Deserialize)]
struct User {
    username: Option<String>,
}

#[derive(Deserialize)]
struct PushHook {
    object_kind: String,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    after: Option<String>,
    checkout_sha: Option<String>,
    project_id: Option<u64>,
    user_username: Option<String>,
    project: Option<Project>,
}

#[derive(Deserialize)]
struct LastCommit {
    id: Option<String>,
}

#[derive(Deserialize)]
struct MrAttributes {
    iid: Option<u64>,
    source_branch: Option<String>,
    action: Option<String>,
    state: Option<String>,
    last_commit: Option<LastCommit>,
}

#[derive(Deserialize)]
struct MergeRequestHook {
    object_kind: String,
    user: Option<User>,
    project: Option<Project>,
    object_attributes: MrAttributes,
}

#[derive(Deserialize)]
struct PipelineAttributes {
    id: Option<u64>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    sha: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct PipelineMr {
    iid: Option<u64>,
}

#[derive(Deserialize)]
struct PipelineHook {
    object_kind: String,
    object_attributes: PipelineAttributes,
    merge_request: Option<PipelineMr>,
    user: Option<User>,
    project: Option<Project>,
}

#[derive(Deserialize)]
struct JobEnvironment {
    name: Option<String>,
}

#[derive(Deserialize)]
struct JobHook {
    object_kind: String,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    sha: Option<String>,
    build_status: Option<String>,
    pipeline_id: Option<u64>,
    project_id: Option<u64>,
    user: Option<User>,
    project: Option<Project>,
    environment: Option<JobEnvironment>,
}

#[derive(Deserialize)]
struct DeploymentHook {
    object_kind: String,
    status: Option<String>,
    environment: Option<String>,
    environment_external_url: Option<String>,
    short_sha: Option<String>,
    commit_url: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    user: Option<User>,
    project: Option<Project>,
}

/// Decodes `body` as `T`. The common case — a good payload — takes one plain pass; only
/// a failure pays for the kind check and the path-tracking pass that names the field
/// (tracking costs about twice the plain pass on a 7 KB pipeline payload).
fn decode<'a, T: Deserialize<'a>>(kind: EventKind, body: &'a [u8]) -> Result<T, PayloadError> {
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    // A payload of another kind fails on whichever of this kind's fields it lacks, which
    // says nothing useful: say the kind is wrong instead.
    let k: Kind = tracked(body)?;
    check_kind(kind, &need(k.object_kind, "object_kind")?)?;
    tracked(body)
}

fn tracked<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, PayloadError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        PayloadError::Malformed {
            path,
            message: if inner.is_syntax() || inner.is_eof() {
                format!("not JSON: {inner}")
            } else {
                inner.to_string()
            },
        }
    })
}

fn check_kind(kind: EventKind, object_kind: &str) -> Result<(), PayloadError> {
    if object_kind == kind.object_kind() {
        return Ok(());
    }
    let header = match kind {
        EventKind::Push => "Push Hook",
        EventKind::MergeRequest => "Merge Request Hook",
        EventKind::Pipeline => "Pipeline Hook",
        EventKind::Job => "Job Hook",
        EventKind::Deployment => "Deployment Hook",
    };
    Err(PayloadError::KindMismatch {
        header,
        object_kind: object_kind.to_string(),
    })
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn need<T>(v: Option<T>, path: &'static str) -> Result<T, PayloadError> {
    v.ok_or(PayloadError::Missing(path))
}

/// `refs/heads/main` -> `main`, `refs/tags/v1` -> `v1`.
fn short_ref(r: String) -> String {
    r.strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("refs/tags/"))
        .map(str::to_string)
        .unwrap_or(r)
}

/// Project id, path and URL; `fallback_id` is the payload's top-level `project_id`.
fn project(
    p: Option<Project>,
    fallback_id: Option<u64>,
) -> Result<(u64, String, String), PayloadError> {
    let (id, path, url) = match p {
        Some(p) => (p.id.or(fallback_id), p.path_with_namespace, p.web_url),
        None => (fallback_id, None, None),
    };
    Ok((
        need(id, "project.id")?,
        need(nonempty(path), "project.path_with_namespace")?,
        url.unwrap_or_default(),
    ))
}

#[derive(Deserialize)]
struct Kind {
    object_kind: Option<String>,
}

/// Reads a payload that came with `X-Gitlab-Event` naming `kind`.
pub fn parse(kind: EventKind, body: &[u8]) -> Result<HookEvent, PayloadError> {
    let mut cx = GitlabContext {
        event: kind.name().to_string(),
        ..GitlabContext::default()
    };
    let status = match kind {
        EventKind::Push => {
            let h: PushHook = decode(kind, body)?;
            check_kind(kind, &h.object_kind)?;
            (cx.project_id, cx.project_path, cx.project_url) = project(h.project, h.project_id)?;
            // checkout_sha is null when the push deleted the branch; `after` is then zeros.
            cx.sha = need(
                nonempty(h.checkout_sha).or(nonempty(h.after)),
                "checkout_sha",
            )?;
            cx.git_ref = nonempty(h.git_ref).map(short_ref);
            cx.user = nonempty(h.user_username);
            None
        }
        EventKind::MergeRequest => {
            let h: MergeRequestHook = decode(kind, body)?;
            check_kind(kind, &h.object_kind)?;
            (cx.project_id, cx.project_path, cx.project_url) = project(h.project, None)?;
            let a = h.object_attributes;
            cx.sha = need(
                nonempty(a.last_commit.and_then(|c| c.id)),
                "object_attributes.last_commit.id",
            )?;
            cx.mr_iid = Some(need(a.iid, "object_attributes.iid")?);
            cx.git_ref = nonempty(a.source_branch);
            cx.user = h.user.and_then(|u| nonempty(u.username));
            nonempty(a.action).or(nonempty(a.state))
        }
        EventKind::Pipeline => {
            let h: PipelineHook = decode(kind, body)?;
            check_kind(kind, &h.object_kind)?;
            (cx.project_id, cx.project_path, cx.project_url) = project(h.project, None)?;
            let a = h.object_attributes;
            cx.sha = need(nonempty(a.sha), "object_attributes.sha")?;
            cx.pipeline_id = Some(need(a.id, "object_attributes.id")?);
            cx.git_ref = nonempty(a.git_ref);
            cx.mr_iid = h.merge_request.and_then(|m| m.iid);
            cx.user = h.user.and_then(|u| nonempty(u.username));
            Some(need(nonempty(a.status), "object_attributes.status")?)
        }
        EventKind::Job => {
            let h: JobHook = decode(kind, body)?;
            check_kind(kind, &h.object_kind)?;
            (cx.project_id, cx.project_path, cx.project_url) = project(h.project, h.project_id)?;
            cx.sha = need(nonempty(h.sha), "sha")?;
            cx.git_ref = nonempty(h.git_ref);
            cx.pipeline_id = h.pipeline_id;
            cx.environment = h.environment.and_then(|e| nonempty(e.name));
            cx.user = h.user.and_then(|u| nonempty(u.username));
            Some(need(nonempty(h.build_status), "build_status")?)
        }
        EventKind::Deployment => {
            let h: DeploymentHook = decode(kind, body)?;
            check_kind(kind, &h.object_kind)?;
            (cx.project_id, cx.project_path, cx.project_url) = project(h.project, None)?;
            // The deployment payload carries only `short_sha`; the full SHA a commit
            // status needs is the last segment of `commit_url`.
            let from_url = nonempty(h.commit_url)
                .and_then(|u| u.rsplit('/').next().map(str::to_string))
                .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()));
            cx.sha = need(from_url.or(nonempty(h.short_sha)), "commit_url")?;
            cx.git_ref = nonempty(h.git_ref);
            cx.environment = Some(need(nonempty(h.environment), "environment")?);
            cx.environment_url = nonempty(h.environment_external_url);
            cx.user = h.user.and_then(|u| nonempty(u.username));
            Some(need(nonempty(h.status), "status")?)
        }
    };
    Ok(HookEvent {
        kind,
        status,
        context: cx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_map_to_kinds_and_back() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.name()), Some(k));
        }
        assert_eq!(EventKind::from_header("Job Hook"), Some(EventKind::Job));
        assert_eq!(EventKind::from_header("Note Hook"), None);
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(
            EventKind::Pipeline,
            br#"{"object_kind":"pipeline","object_attributes":{"id":"x"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("object_attributes.id:"), "{e}");
        let e = parse(
            EventKind::Pipeline,
            br#"{"object_kind":"push","object_attributes":{}}"#,
        )
        .unwrap_err();
        assert!(matches!(e, PayloadError::KindMismatch { .. }), "{e}");
        let e = parse(EventKind::Push, b"{not json").unwrap_err();
        assert!(e.to_string().contains("not JSON"), "{e}");
        let e = parse(
            EventKind::Pipeline,
            br#"{"object_kind":"pipeline","object_attributes":{"id":1,"status":"success"},"project":{"id":1,"path_with_namespace":"g/p"}}"#,
        )
        .unwrap_err();
        assert_eq!(e, PayloadError::Missing("object_attributes.sha"));
    }

    #[test]
    fn refs_lose_their_prefix() {
        assert_eq!(short_ref("refs/heads/main".into()), "main");
        assert_eq!(short_ref("refs/tags/v1.2".into()), "v1.2");
        assert_eq!(short_ref("main".into()), "main");
    }
}
