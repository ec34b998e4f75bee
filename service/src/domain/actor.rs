//! Who did something: the actor an audit record names, a run is started by, and a preflight
//! veto is told about. A small typed value rather than a string, so the sign-in kinds (CI
//! job tokens, OIDC) add a kind and their fields instead of a new string format.

use serde::{Deserialize, Serialize};

use super::trigger::GitlabContext;

/// How an actor proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A bearer token from the tokens file; the name is the token's name.
    Token,
    /// A GitLab CI job (its ID token, or a webhook event of its pipeline).
    CiJob,
    /// A person signed in through OIDC; the name is the subject.
    Oidc,
    /// The scheduler (`spec.schedule`); the name is the experiment.
    Schedule,
    /// The service itself (start-up, change windows, the veto).
    System,
}

impl ActorKind {
    /// The kind as stored and shown (`token`, `ci_job`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::Token => "token",
            ActorKind::CiJob => "ci_job",
            ActorKind::Oidc => "oidc",
            ActorKind::Schedule => "schedule",
            ActorKind::System => "system",
        }
    }

    /// Parses what [`ActorKind::as_str`] writes.
    pub fn parse(s: &str) -> Option<ActorKind> {
        [
            ActorKind::Token,
            ActorKind::CiJob,
            ActorKind::Oidc,
            ActorKind::Schedule,
            ActorKind::System,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Who did something, with the pipeline it came from when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// How it proved who it is.
    pub kind: ActorKind,
    /// The token's name, the job's project path, the OIDC subject, the experiment of a
    /// schedule, or what part of the service acted.
    pub name: String,
    /// GitLab project path, when a CI job acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Branch or tag, when a CI job acted.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Pipeline id, when a CI job acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
}

impl Actor {
    fn plain(kind: ActorKind, name: impl Into<String>) -> Actor {
        Actor {
            kind,
            name: name.into(),
            project: None,
            git_ref: None,
            pipeline: None,
        }
    }

    /// A tokens-file token called `name`.
    pub fn token(name: impl Into<String>) -> Actor {
        Actor::plain(ActorKind::Token, name)
    }

    /// The scheduler, firing experiment `experiment`.
    pub fn schedule(experiment: impl Into<String>) -> Actor {
        Actor::plain(ActorKind::Schedule, experiment)
    }

    /// The service itself; `what` names the part (`serve`, `change-window`, `veto`).
    pub fn system(what: impl Into<String>) -> Actor {
        Actor::plain(ActorKind::System, what)
    }

    /// The GitLab pipeline (webhook event or CI job) of `cx`. The name is the user who
    /// caused the event when GitLab says, else the project.
    pub fn gitlab(cx: &GitlabContext) -> Actor {
        Actor {
            kind: ActorKind::CiJob,
            name: cx.user.clone().unwrap_or_else(|| cx.project_path.clone()),
            project: Some(cx.project_path.clone()),
            git_ref: cx.git_ref.clone(),
            pipeline: cx.pipeline_id.map(|p| p.to_string()),
        }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.name)?;
        if let Some(p) = &self.project {
            write!(f, " ({p}")?;
            if let Some(r) = &self.git_ref {
                write!(f, "@{r}")?;
            }
            if let Some(id) = &self.pipeline {
                write!(f, ", pipeline {id}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_actors_read_well() {
        for k in ["token", "ci_job", "oidc", "schedule", "system"] {
            assert_eq!(ActorKind::parse(k).unwrap().as_str(), k);
        }
        assert_eq!(ActorKind::parse("root"), None);
        let cx = GitlabContext {
            project_path: "shop/checkout".into(),
            git_ref: Some("main".into()),
            pipeline_id: Some(77),
            ..GitlabContext::default()
        };
        let a = Actor::gitlab(&cx);
        assert_eq!(
            a.to_string(),
            "ci_job shop/checkout (shop/checkout@main, pipeline 77)"
        );
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["kind"], "ci_job");
        assert_eq!(json["ref"], "main");
        assert_eq!(Actor::token("alice").to_string(), "token alice");
    }
}
