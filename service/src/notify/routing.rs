//! Who hears about a verdict: the experiment's own `notify:` entries plus the global
//! routes of the config, filtered by verdict and experiment name, deduplicated by
//! destination (the same mailbox named twice gets one mail).

use faultline_spec::{Channel, Notify, Verdict};
use serde::{Deserialize, Serialize};

use crate::application::config_file::Glob;
use crate::domain::RunState;

/// Where one notification goes. Stored in the outbox as JSON, so it holds no secret:
/// those are looked up in the config when sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Destination {
    /// Mail to these addresses.
    Email {
        /// Recipients.
        to: Vec<String>,
    },
    /// A Slack channel, through its configured incoming webhook.
    Slack {
        /// Channel name.
        channel: String,
    },
    /// A signed POST of the JSON report.
    Webhook {
        /// Receiver URL.
        url: String,
    },
    /// The GitLab commit status / MR note, as an experiment's `notify:` or a route asks;
    /// what is actually sent for GitLab-triggered runs are the two below.
    Gitlab,
    /// The run's commit status on the triggering SHA, posted with the run's state at
    /// send time (so a late retry never moves GitLab backwards). `phase` (`running`,
    /// `final`) only keeps the two posts apart in the outbox.
    GitlabStatus {
        /// `running` or `final`.
        phase: String,
    },
    /// The verdict note on the merge request, one per experiment, updated in place.
    GitlabNote,
}

impl Destination {
    /// The channel kind: `email`, `slack`, `webhook`, `gitlab`.
    pub const fn channel(&self) -> &'static str {
        match self {
            Destination::Email { .. } => "email",
            Destination::Slack { .. } => "slack",
            Destination::Webhook { .. } => "webhook",
            Destination::Gitlab | Destination::GitlabStatus { .. } | Destination::GitlabNote => {
                "gitlab"
            }
        }
    }

    /// The outbox key: one notification per run per key.
    pub fn key(&self) -> String {
        match self {
            Destination::Email { to } => {
                let mut to: Vec<String> = to.iter().map(|a| a.to_lowercase()).collect();
                to.sort();
                format!("email:{}", to.join(","))
            }
            Destination::Slack { channel } => format!("slack:{channel}"),
            Destination::Webhook { url } => format!("webhook:{url}"),
            Destination::Gitlab => "gitlab".into(),
            Destination::GitlabStatus { phase } => format!("gitlab-status:{phase}"),
            Destination::GitlabNote => "gitlab-note".into(),
        }
    }

    /// The destination an experiment's `notify:` entry names.
    pub fn from_spec(c: &Channel) -> Destination {
        match c {
            Channel::Slack(channel) => Destination::Slack {
                channel: channel.trim_start_matches('#').to_string(),
            },
            Channel::Email(to) => Destination::Email {
                to: vec![to.clone()],
            },
            Channel::Webhook(url) => Destination::Webhook { url: url.clone() },
            Channel::Gitlab(_) => Destination::Gitlab,
        }
    }
}

/// A global route from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Where it was written (`routes[2]`), for messages.
    pub source: String,
    /// Where it sends.
    pub destination: Destination,
    /// Which verdicts it hears about.
    pub on: Vec<Verdict>,
    /// Experiment-name patterns; empty means every experiment.
    pub experiments: Vec<Glob>,
    /// Environment patterns (the run's GitLab environment, else the config's
    /// `environment`); empty means any, and a run with no environment.
    pub environments: Vec<Glob>,
}

/// The verdicts a route hears about when it does not say: failed, aborted and error
/// (someone must look), never passed unless asked for.
pub fn default_verdicts() -> Vec<Verdict> {
    Verdict::unsuccessful()
}

/// The verdict of a terminal state; `None` while the run is live.
pub const fn verdict_of(state: RunState) -> Option<Verdict> {
    match state {
        RunState::Passed => Some(Verdict::Passed),
        RunState::Failed => Some(Verdict::Failed),
        RunState::Aborted => Some(Verdict::Aborted),
        RunState::Error => Some(Verdict::Error),
        _ => None,
    }
}

/// The destinations that hear about `experiment` ending in `state`: the experiment's own
/// entries first, then the global routes, each destination once.
pub fn resolve(
    routes: &[Route],
    experiment: &str,
    environment: Option<&str>,
    spec: &[Notify],
    state: RunState,
) -> Vec<Destination> {
    let Some(verdict) = verdict_of(state) else {
        return Vec::new();
    };
    let from_spec = spec
        .iter()
        .filter(|n| n.on.contains(&verdict))
        .map(|n| Destination::from_spec(&n.channel));
    let global = routes
        .iter()
        .filter(|r| r.on.contains(&verdict))
        .filter(|r| r.experiments.is_empty() || r.experiments.iter().any(|g| g.matches(experiment)))
        .filter(|r| {
            r.environments.is_empty()
                || environment.is_some_and(|e| r.environments.iter().any(|g| g.matches(e)))
        })
        .map(|r| r.destination.clone());
    let mut out: Vec<Destination> = Vec::new();
    for d in from_spec.chain(global) {
        if !out.iter().any(|o| o.key() == d.key()) {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use RunState::*;

    fn route(d: Destination, on: &[Verdict], globs: &[&str]) -> Route {
        Route {
            source: "routes[x]".into(),
            destination: d,
            on: if on.is_empty() {
                default_verdicts()
            } else {
                on.to_vec()
            },
            experiments: globs.iter().map(|g| Glob::new(*g)).collect(),
            environments: Vec::new(),
        }
    }

    fn email(a: &str) -> Destination {
        Destination::Email { to: vec![a.into()] }
    }

    fn hook(u: &str) -> Destination {
        Destination::Webhook { url: u.into() }
    }

    #[test]
    fn every_verdict_against_every_route() {
        let routes = [
            route(email("ops@x.org"), &[], &[]),
            route(
                Destination::Slack {
                    channel: "team-sre".into(),
                },
                &[Verdict::Passed],
                &["checkout-*"],
            ),
            route(
                hook("https://h/g"),
                &[Verdict::Failed, Verdict::Passed],
                &["payments"],
            ),
        ];
        let spec = [
            Notify {
                channel: Channel::Webhook("https://spec/s".into()),
                on: Verdict::all(),
            },
            // The same mailbox as the global route, spelled differently: one mail.
            Notify {
                channel: Channel::Email("OPS@x.org".into()),
                on: vec![Verdict::Aborted],
            },
        ];
        let table: [(&str, RunState, &[&str]); 8] = [
            (
                "checkout-api",
                Passed,
                &["webhook:https://spec/s", "slack:team-sre"],
            ),
            (
                "checkout-api",
                Failed,
                &["webhook:https://spec/s", "email:ops@x.org"],
            ),
            (
                "checkout-api",
                Aborted,
                &["webhook:https://spec/s", "email:ops@x.org"],
            ),
            (
                "checkout-api",
                Error,
                &["webhook:https://spec/s", "email:ops@x.org"],
            ),
            (
                "payments",
                Passed,
                &["webhook:https://spec/s", "webhook:https://h/g"],
            ),
            (
                "payments",
                Failed,
                &[
                    "webhook:https://spec/s",
                    "email:ops@x.org",
                    "webhook:https://h/g",
                ],
            ),
            (
                "payments",
                Aborted,
                &["webhook:https://spec/s", "email:ops@x.org"],
            ),
            (
                "payments",
                Error,
                &["webhook:https://spec/s", "email:ops@x.org"],
            ),
        ];
        for (exp, state, want) in table {
            let got: Vec<String> = resolve(&routes, exp, None, &spec, state)
                .iter()
                .map(Destination::key)
                .collect();
            assert_eq!(got, want, "{exp} {state}");
        }
        for live in [
            Pending,
            CheckingBefore,
            Injecting,
            Observing,
            Recovering,
            CheckingAfter,
        ] {
            assert!(
                resolve(&routes, "payments", None, &spec, live).is_empty(),
                "{live}"
            );
        }
    }

    #[test]
    fn defaults_notify_failed_aborted_error_but_not_passed() {
        let routes = [route(email("a@x.org"), &[], &[])];
        for (state, hears) in [
            (Passed, false),
            (Failed, true),
            (Aborted, true),
            (Error, true),
        ] {
            assert_eq!(
                !resolve(&routes, "e", None, &[], state).is_empty(),
                hears,
                "{state}"
            );
        }
    }

    #[test]
    fn environment_routes_hear_only_runs_in_their_environment() {
        let mut prod = route(email("oncall@x"), &[], &[]);
        prod.environments = vec![Glob::new("prod*")];
        let any = route(hook("https://h/all"), &[], &[]);
        let routes = [prod, any];
        let keys = |env: Option<&str>| -> Vec<String> {
            resolve(&routes, "e", env, &[], Failed)
                .iter()
                .map(Destination::key)
                .collect()
        };
        assert_eq!(
            keys(Some("production")),
            ["email:oncall@x", "webhook:https://h/all"]
        );
        assert_eq!(keys(Some("staging")), ["webhook:https://h/all"]);
        assert_eq!(
            keys(None),
            ["webhook:https://h/all"],
            "no environment: only routes for any"
        );
    }

    #[test]
    fn destinations_round_trip_through_the_outbox_json() {
        for d in [
            email("a@x"),
            hook("https://h"),
            Destination::Slack {
                channel: "c".into(),
            },
            Destination::Gitlab,
        ] {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(
                serde_json::from_str::<Destination>(&json).unwrap(),
                d,
                "{json}"
            );
        }
    }
}
