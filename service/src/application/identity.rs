//! Who is calling, and what they may start. A [`Caller`] comes from one of several
//! sources — a static bearer token, a GitLab CI job's ID token, a person's OIDC sign-in
//! session — and carries its [`Role`] and the [`Grant`]s that bound which
//! experiments it may run against which namespaces. The API builds it at the edge; the
//! rule that a run may start ([`Caller::may_start`]) lives here so every route that starts
//! runs applies the same one.

use std::collections::BTreeSet;

use faultline_spec::{Experiment, Target};
use serde::{Deserialize, Serialize};

use crate::application::config_file::Glob;
use crate::application::engine::plan::kubernetes_targets;
use crate::domain::{Actor, ActorKind, GitlabContext};

/// What a caller may do. Ordered: each role may do everything the lower ones may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read runs, events and reports.
    Viewer,
    /// Also create and abort runs.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    /// Parses `viewer` / `operator` / `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// One set of rights: a role, over experiments and namespaces matching these patterns.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Where the rights come from, for messages: a trust policy's name, or `token`.
    pub from: String,
    /// The role.
    pub role: Role,
    /// Experiment-name patterns.
    pub experiments: Vec<Glob>,
    /// Namespace patterns over every namespace the experiment targets.
    pub namespaces: Vec<Glob>,
}

impl Grant {
    /// Every experiment, every namespace (a static token, or no authentication).
    pub fn everything(from: &str, role: Role) -> Grant {
        Grant {
            from: from.to_string(),
            role,
            experiments: vec![Glob::new("*")],
            namespaces: vec![Glob::new("*")],
        }
    }
}

/// The GitLab CI job behind an ID token, from its verified claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CiJob {
    /// `project_id`.
    pub project_id: u64,
    /// `project_path`.
    pub project_path: String,
    /// `ref` (branch or tag name).
    pub git_ref: String,
    /// `pipeline_id`.
    pub pipeline_id: Option<u64>,
    /// `job_id`.
    pub job_id: Option<u64>,
    /// `sha`.
    pub sha: String,
    /// `environment`, for jobs that deploy.
    pub environment: Option<String>,
    /// `user_login`: who started the pipeline.
    pub user_login: Option<String>,
}

impl CiJob {
    /// The job as the audit log names it: `project_path job <id>` (or the pipeline when
    /// the token carries no job id), with its project, ref and pipeline.
    pub fn actor(&self) -> Actor {
        let name = match (self.job_id, self.pipeline_id) {
            (Some(job), _) => format!("{} job {job}", self.project_path),
            (None, Some(p)) => format!("{} pipeline {p}", self.project_path),
            (None, None) => self.project_path.clone(),
        };
        Actor {
            kind: ActorKind::CiJob,
            name,
            project: Some(self.project_path.clone()),
            git_ref: Some(self.git_ref.clone()),
            pipeline: self.pipeline_id.map(|p| p.to_string()),
        }
    }

    /// The run's trigger record: the job's own project, ref, pipeline and job (from the
    /// verified token, not from what the request body claims). The body may add what the
    /// token does not carry — the merge request and links — for the same project only.
    pub fn context(&self, body: Option<&GitlabContext>) -> GitlabContext {
        let same = body.filter(|b| b.project_id == self.project_id);
        GitlabContext {
            event: "ci".into(),
            event_uuid: None,
            project_id: self.project_id,
            project_path: self.project_path.clone(),
            project_url: same.map(|b| b.project_url.clone()).unwrap_or_default(),
            sha: self.sha.clone(),
            git_ref: Some(self.git_ref.clone()),
            pipeline_id: self.pipeline_id,
            job_id: self.job_id,
            mr_iid: same.and_then(|b| b.mr_iid),
            environment: self.environment.clone(),
            environment_url: same.and_then(|b| b.environment_url.clone()),
            user: self.user_login.clone(),
        }
    }
}

/// Where a caller's identity comes from.
#[derive(Debug, Clone)]
pub enum CallerSource {
    /// A `role:token` (or `role/name:token`) line of the tokens file.
    StaticToken {
        /// The token's name (never the secret), as the audit log shows it.
        name: String,
    },
    /// A GitLab CI job's ID token, admitted by the named trust policies.
    CiJob {
        /// The job.
        job: CiJob,
        /// The token's `jti`, recorded when it starts a run.
        jti: String,
        /// The token's `exp` (Unix seconds): how long its `jti` must be remembered.
        expires: i64,
    },
    /// `--insecure-no-auth`: everyone is admin.
    NoAuth,
    /// A person signed in through the OIDC provider (`serve --sso-config`): the session
    /// cookie's.
    Oidc {
        /// Who, as the provider's verified ID token named them.
        person: crate::application::sso::person::Person,
    },
}

/// A caller the API admitted.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Where the identity comes from.
    pub source: CallerSource,
    /// What it may do; a route needing a role admits the caller when any grant has it.
    pub grants: Vec<Grant>,
}

impl Caller {
    /// A static token's or an unauthenticated caller's: one grant over everything.
    pub fn unscoped(source: CallerSource, role: Role) -> Caller {
        let from = match source {
            CallerSource::NoAuth => "no authentication",
            _ => "token",
        };
        Caller {
            source,
            grants: vec![Grant::everything(from, role)],
        }
    }

    /// Who this caller is in the audit log and to the veto: a static token by its name,
    /// a person by their OIDC subject (`oidc <sub>`), a CI job as `ci_job` with its project, ref and pipeline (from the verified token).
    pub fn actor(&self) -> Actor {
        match &self.source {
            CallerSource::StaticToken { name } => Actor::token(name.clone()),
            CallerSource::NoAuth => Actor::token("anonymous (auth disabled)"),
            CallerSource::CiJob { job, .. } => job.actor(),
            CallerSource::Oidc { person } => person.actor(),
        }
    }

    /// The name shown for this caller (the console, whoami, who engaged the emergency
    /// stop).
    pub fn name(&self) -> String {
        match &self.source {
            CallerSource::StaticToken { name } => name.clone(),
            CallerSource::Oidc { person } => person.display.clone(),
            _ => self.actor().name,
        }
    }

    /// The highest role of any grant.
    pub fn role(&self) -> Role {
        self.grants
            .iter()
            .map(|g| g.role)
            .max()
            .unwrap_or(Role::Viewer)
    }

    /// The CI job, when a job's ID token made this caller.
    pub fn ci_job(&self) -> Option<&CiJob> {
        match &self.source {
            CallerSource::CiJob { job, .. } => Some(job),
            _ => None,
        }
    }

    /// Whether this caller may start a run of `exp`: one grant must give operator, match
    /// the experiment's name and every namespace it targets. The refusal says, per grant,
    /// what did not match.
    pub fn may_start(&self, exp: &Experiment) -> Result<(), String> {
        let name = &exp.metadata.name;
        let namespaces = namespaces_of(exp);
        let mut why = Vec::new();
        for g in &self.grants {
            if g.role < Role::Operator {
                why.push(format!(
                    "{}: role {} may not start runs",
                    g.from,
                    g.role.as_str()
                ));
            } else if !g.experiments.iter().any(|p| p.matches(name)) {
                why.push(format!(
                    "{}: experiment `{name}` matches none of its experiments",
                    g.from
                ));
            } else if let Some(ns) = namespaces
                .iter()
                .find(|ns| !g.namespaces.iter().any(|p| p.matches(ns)))
            {
                why.push(format!(
                    "{}: namespace `{ns}` matches none of its namespaces",
                    g.from
                ));
            } else {
                return Ok(());
            }
        }
        Err(why.join("; "))
    }
}

/// The namespace a pod selector without `namespaces` looks in, as the engine resolves it.
const DEFAULT_NAMESPACE: &str = "default";

/// Every namespace `exp` reaches: each Kubernetes selector's namespaces (the experiment's
/// own, else `default`, when a selector names none) and the experiment's own namespace.
/// An experiment on local targets only reaches none.
pub fn namespaces_of(exp: &Experiment) -> BTreeSet<String> {
    let own = exp.metadata.namespace.clone();
    let mut out: BTreeSet<String> = own.iter().cloned().collect();
    for sel in kubernetes_targets(exp) {
        if sel.namespaces.is_empty() {
            out.insert(own.clone().unwrap_or_else(|| DEFAULT_NAMESPACE.into()));
        }
        out.extend(sel.namespaces.iter().cloned());
    }
    if let Some(Target::Kubernetes(sel)) = &exp.spec.target {
        out.extend(sel.namespaces.iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(yaml: &str) -> Experiment {
        faultline_spec::load_str(yaml, "t.yaml")
            .expect("a valid experiment")
            .remove(0)
    }

    fn grant(role: Role, exps: &[&str], ns: &[&str]) -> Grant {
        Grant {
            from: "policy p".into(),
            role,
            experiments: exps.iter().map(|s| Glob::new(*s)).collect(),
            namespaces: ns.iter().map(|s| Glob::new(*s)).collect(),
        }
    }

    const CHECKOUT: &str = "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: { name: checkout-kill }\nspec:\n  target: { namespaces: [checkout], labelSelectors: { app: web }, mode: all }\n  steps:\n    - podKill: {}\n";

    #[test]
    fn a_grant_must_cover_the_name_and_every_namespace() {
        let e = exp(CHECKOUT);
        assert_eq!(
            namespaces_of(&e).into_iter().collect::<Vec<_>>(),
            ["checkout"]
        );
        let ok = Caller {
            source: CallerSource::StaticToken {
                name: "ci-bot".into(),
            },
            grants: vec![grant(Role::Operator, &["checkout-*"], &["checkout"])],
        };
        assert_eq!(ok.may_start(&e), Ok(()));
        let other_ns = Caller {
            grants: vec![grant(Role::Operator, &["checkout-*"], &["payments"])],
            ..ok.clone()
        };
        let why = other_ns.may_start(&e).unwrap_err();
        assert!(why.contains("namespace `checkout`"), "{why}");
        let viewer = Caller {
            grants: vec![grant(Role::Viewer, &["*"], &["*"])],
            ..ok.clone()
        };
        assert!(viewer.may_start(&e).unwrap_err().contains("role viewer"));
        let other_exp = Caller {
            grants: vec![grant(Role::Admin, &["payments-*"], &["*"])],
            ..ok
        };
        assert!(
            other_exp
                .may_start(&e)
                .unwrap_err()
                .contains("experiment `checkout-kill`")
        );
    }

    #[test]
    fn callers_are_audited_as_their_token_or_job() {
        let token = Caller::unscoped(
            CallerSource::StaticToken {
                name: "deploy-bot".into(),
            },
            Role::Operator,
        );
        assert_eq!(token.actor(), Actor::token("deploy-bot"));
        let job = CiJob {
            project_id: 42,
            project_path: "shop/checkout".into(),
            git_ref: "main".into(),
            pipeline_id: Some(77),
            job_id: Some(901),
            sha: "abc".into(),
            environment: None,
            user_login: Some("alice".into()),
        };
        let ci = Caller::unscoped(
            CallerSource::CiJob {
                job,
                jti: "j".into(),
                expires: 0,
            },
            Role::Operator,
        );
        assert_eq!(
            ci.actor().to_string(),
            "ci_job shop/checkout job 901 (shop/checkout@main, pipeline 77)"
        );
    }

    #[test]
    fn a_selector_without_namespaces_reaches_the_experiment_s_own() {
        let e = exp(&CHECKOUT
            .replace(
                "metadata: { name: checkout-kill }",
                "metadata: { name: checkout-kill, namespace: shop }",
            )
            .replace("namespaces: [checkout], ", ""));
        assert_eq!(namespaces_of(&e).into_iter().collect::<Vec<_>>(), ["shop"]);
    }
}
