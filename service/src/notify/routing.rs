//! Who hears about a verdict: the experiment's own `notify:` entries plus the global
//! routes of the config, filtered by verdict and experiment name, deduplicated by
//! destination (the same mailbox named twice gets one mail).

use faultline_spec::{Notify, Verdict};

use crate::application::config_file::Glob;
use crate::application::ports::Destination;
use crate::domain::RunState;

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
    use faultline_spec::Channel;

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
}
