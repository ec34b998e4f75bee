//! What a run knows about the GitLab event that started it. Stored with the run (as JSON)
//! so that statuses, notes, reports and notifications written long after the webhook —
//! after a restart too — still name the commit, pipeline and merge request.

use serde::{Deserialize, Serialize};

/// The GitLab side of a run: where to report back and what to show people.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitlabContext {
    /// The event kind that triggered the run: `pipeline`, `deployment`, `job`,
    /// `merge_request`, `push`, or `ci` when a CI job called `faultline trigger`.
    pub event: String,
    /// `X-Gitlab-Event-UUID` of the delivery, when a webhook started the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_uuid: Option<String>,
    /// Numeric project id (what the REST API addresses).
    pub project_id: u64,
    /// `group/project`.
    pub project_path: String,
    /// The project's web URL, for links.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project_url: String,
    /// The full commit SHA the status is posted on.
    pub sha: String,
    /// Branch or tag name (without `refs/heads/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Pipeline id, when the event belongs to a pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<u64>,
    /// The CI job, when a job started the run (`faultline trigger` in GitLab CI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<u64>,
    /// Merge request iid, when the pipeline or event belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mr_iid: Option<u64>,
    /// Environment name (deployments, and jobs with an environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The environment's external URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
    /// Who caused the event (username).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl GitlabContext {
    /// The pipeline a GitLab CI job runs in, from its predefined variables (`lookup` is
    /// `std::env::var` outside tests); `None` outside GitLab CI or without a project id
    /// and full commit SHA.
    pub fn from_ci_env(lookup: impl Fn(&str) -> Option<String>) -> Option<GitlabContext> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        if get("GITLAB_CI").as_deref() != Some("true") {
            return None;
        }
        let sha = get("CI_COMMIT_SHA")?;
        Some(GitlabContext {
            event: "ci".into(),
            event_uuid: None,
            project_id: get("CI_PROJECT_ID")?.parse().ok()?,
            project_path: get("CI_PROJECT_PATH")?,
            project_url: get("CI_PROJECT_URL").unwrap_or_default(),
            sha,
            git_ref: get("CI_COMMIT_REF_NAME"),
            pipeline_id: get("CI_PIPELINE_ID").and_then(|v| v.parse().ok()),
            job_id: get("CI_JOB_ID").and_then(|v| v.parse().ok()),
            mr_iid: get("CI_MERGE_REQUEST_IID").and_then(|v| v.parse().ok()),
            environment: get("CI_ENVIRONMENT_NAME"),
            environment_url: get("CI_ENVIRONMENT_URL"),
            user: get("GITLAB_USER_LOGIN"),
        })
    }

    /// The values experiment templates may use as `{{ gitlab.<name> }}`.
    pub fn template_values(&self) -> serde_json::Value {
        serde_json::json!({
            "event": self.event,
            "project": self.project_path,
            "project_id": self.project_id,
            "project_url": self.project_url,
            "sha": self.sha,
            "short_sha": self.sha.chars().take(8).collect::<String>(),
            "ref": self.git_ref.clone().unwrap_or_default(),
            "pipeline_id": self.pipeline_id,
            "job_id": self.job_id,
            "mr_iid": self.mr_iid,
            "environment": self.environment.clone().unwrap_or_default(),
            "environment_url": self.environment_url.clone().unwrap_or_default(),
            "user": self.user.clone().unwrap_or_default(),
        })
    }

    /// One line for logs, reports and notes: `group/app@1a2b3c4d (pipeline 31, !7)`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}@{}",
            self.project_path,
            self.sha.chars().take(8).collect::<String>()
        );
        let mut extra = Vec::new();
        if let Some(p) = self.pipeline_id {
            extra.push(format!("pipeline {p}"));
        }
        if let Some(job) = self.job_id {
            extra.push(format!("job {job}"));
        }
        if let Some(mr) = self.mr_iid {
            extra.push(format!("!{mr}"));
        }
        if let Some(env) = &self.environment {
            extra.push(format!("environment {env}"));
        }
        if !extra.is_empty() {
            s.push_str(&format!(" ({})", extra.join(", ")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ci_job_knows_its_pipeline_and_nothing_outside_gitlab_ci() {
        let env = |k: &str| {
            let v = match k {
                "GITLAB_CI" => "true",
                "CI_PROJECT_ID" => "42",
                "CI_PROJECT_PATH" => "group/checkout",
                "CI_COMMIT_SHA" => "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
                "CI_PIPELINE_ID" => "31",
                "CI_MERGE_REQUEST_IID" => "7",
                "CI_COMMIT_REF_NAME" => "feature",
                "CI_ENVIRONMENT_NAME" => "",
                _ => return None,
            };
            Some(v.to_string())
        };
        let c = GitlabContext::from_ci_env(env).unwrap();
        assert_eq!(
            (c.project_id, c.pipeline_id, c.mr_iid),
            (42, Some(31), Some(7))
        );
        assert_eq!(c.environment, None, "empty variables are absent");
        assert_eq!(c.event, "ci");
        assert_eq!(
            GitlabContext::from_ci_env(|k| if k == "GITLAB_CI" { None } else { env(k) }),
            None
        );
    }

    #[test]
    fn round_trips_and_summarises() {
        let c = GitlabContext {
            event: "pipeline".into(),
            project_id: 1,
            project_path: "group/checkout".into(),
            sha: "bcbb5ec396a2c0f828686f14fac9b80b780504f2".into(),
            pipeline_id: Some(31),
            mr_iid: Some(7),
            ..GitlabContext::default()
        };
        let back: GitlabContext =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(c.summary(), "group/checkout@bcbb5ec3 (pipeline 31, !7)");
        assert_eq!(c.template_values()["short_sha"], "bcbb5ec3");
    }
}
