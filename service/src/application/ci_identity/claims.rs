//! The claims of a verified GitLab ID token, as the strings GitLab writes them
//! (`"project_id": "42"`, `"ref_protected": "true"`), and the job they describe.

use std::borrow::Cow;

use crate::application::identity::CiJob;

/// GitLab's documented ID-token claims a policy may bind (docs: "ID token
/// authentication", token payload). The `job_*` forms name the project the job runs in;
/// for a merge request from a fork, `project_*` and `namespace_*` name the fork.
pub const KNOWN_CLAIMS: &[&str] = &[
    "namespace_id",
    "namespace_path",
    "project_id",
    "project_path",
    "job_namespace_id",
    "job_namespace_path",
    "job_project_id",
    "job_project_path",
    "user_id",
    "user_login",
    "user_email",
    "user_access_level",
    "pipeline_id",
    "pipeline_source",
    "job_id",
    "ref",
    "ref_type",
    "ref_path",
    "ref_protected",
    "environment",
    "environment_protected",
    "deployment_tier",
    "environment_action",
    "runner_id",
    "runner_environment",
    "sha",
    "ci_config_ref_uri",
    "ci_config_sha",
    "project_visibility",
    "sub",
];

/// Claims of which a policy must bind at least one, without a wildcard: a policy that
/// does not pin the project or group would admit every project of the GitLab instance.
pub const ANCHOR_CLAIMS: &[&str] = &[
    "project_id",
    "namespace_id",
    "job_project_id",
    "job_namespace_id",
];

/// A verified token's claims: every string, number or boolean claim as text, borrowed
/// from the decoded payload where the JSON held it unescaped (every claim name does).
///
/// A list, not a map: a token has thirty-odd claims and a request reads a dozen of them,
/// and building a map of them cost more than the rest of the payload's decoding (P15).
/// A name given twice counts as JSON parsers read it: the last one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdClaims<'p>(Vec<(Cow<'p, str>, Cow<'p, str>)>);

impl<'p> IdClaims<'p> {
    /// Claims from name and text pairs.
    pub fn of(pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> IdClaims<'p> {
        IdClaims(
            pairs
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
                .collect(),
        )
    }

    /// Room for `n` claims.
    pub fn with_capacity(n: usize) -> IdClaims<'p> {
        IdClaims(Vec::with_capacity(n))
    }

    /// Adds a claim (a later one of the same name wins).
    pub fn push(&mut self, name: Cow<'p, str>, text: Cow<'p, str>) {
        self.0.push((name, text));
    }

    /// Removes every claim of this name.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| k != name);
    }

    /// One claim.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The job: the project it runs in (`job_project_*`, else `project_*`), its ref,
    /// pipeline, job, commit, environment and user. `None` without a numeric project id
    /// or a commit SHA.
    pub fn job(&self) -> Option<CiJob> {
        let num = |k: &str| self.get(k).and_then(|v| v.parse::<u64>().ok());
        let text = |k: &str| self.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        Some(CiJob {
            project_id: num("job_project_id").or_else(|| num("project_id"))?,
            project_path: text("job_project_path").or_else(|| text("project_path"))?,
            git_ref: text("ref").unwrap_or_default(),
            pipeline_id: num("pipeline_id"),
            job_id: num("job_id"),
            sha: text("sha")?,
            environment: text("environment"),
            user_login: text("user_login"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_text_and_the_job_is_where_it_runs() {
        let c = IdClaims::of([
            ("project_id", "1002"),
            ("project_path", "fork/checkout"),
            ("job_project_id", "42"),
            ("job_project_path", "shop/checkout"),
            ("ref", "feature"),
            ("pipeline_id", "31"),
            ("job_id", "77"),
            ("sha", "abc"),
        ]);
        let job = c.job().unwrap();
        assert_eq!(
            (job.project_id, job.project_path.as_str()),
            (42, "shop/checkout")
        );
        assert_eq!((job.pipeline_id, job.job_id), (Some(31), Some(77)));
    }

    #[test]
    fn a_claim_named_twice_reads_as_the_last_and_removing_takes_both() {
        let mut c = IdClaims::of([("ref", "main"), ("sha", "abc"), ("ref", "release-1")]);
        assert_eq!(c.get("ref"), Some("release-1"));
        assert_eq!(c.get("nope"), None);
        c.remove("ref");
        assert_eq!((c.get("ref"), c.get("sha")), (None, Some("abc")));
    }
}
