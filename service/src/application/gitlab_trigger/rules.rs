//! Which experiments an event runs: every rule whose conditions all hold, each naming
//! experiments of the catalog by pattern. An event no rule wants is answered with the
//! reason, so whoever wires the webhook can see why nothing ran.

use super::config::Rule;
use super::hooks::HookEvent;

/// One experiment to run, and the rule that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The rule's name.
    pub rule: String,
    /// The catalog experiment's name.
    pub experiment: String,
}

/// The first condition of a rule an event failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The event is of another kind (`pipeline/deployment`: the rule's kinds).
    #[error("not a {0} event")]
    Event(String),
    /// The event's status is not one the rule wants.
    #[error("status {status:?} is not one of {wanted:?}")]
    Status {
        /// The event's status (empty when it has none).
        status: String,
        /// The rule's statuses.
        wanted: Vec<String>,
    },
    /// The project matches none of the rule's patterns.
    #[error("project {0} does not match")]
    Project(String),
    /// The branch or tag matches none of the rule's patterns.
    #[error("ref {0:?} does not match")]
    Ref(String),
    /// The environment matches none of the rule's patterns.
    #[error("environment {0:?} does not match")]
    Environment(String),
}

/// Why an event starts no run; the webhook answers with it, so whoever wires the
/// webhook can see why nothing ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    /// The GitLab config has no rules.
    #[error("no rules are configured")]
    NoRules,
    /// Every rule failed a condition: each rule's name and the first it failed.
    #[error("{}", mismatches(.0))]
    NoRuleApplies(Vec<(String, Mismatch)>),
    /// The rules that applied name no experiment of the catalog: their names.
    #[error("{}", no_experiments(.0))]
    NoExperiment(Vec<String>),
}

fn mismatches(m: &[(String, Mismatch)]) -> String {
    m.iter()
        .map(|(rule, why)| format!("rule {rule}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn no_experiments(rules: &[String]) -> String {
    rules
        .iter()
        .map(|rule| {
            format!(
                "rule {rule}: matched, but no experiment in the catalog matches its `experiments`"
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a rule did not act on an event (the first condition that failed).
fn mismatch(rule: &Rule, ev: &HookEvent) -> Option<Mismatch> {
    let cx = &ev.context;
    if !rule.events.contains(&ev.kind) {
        return Some(Mismatch::Event(names(rule)));
    }
    if !rule.status.is_empty() {
        let st = ev.status.as_deref().unwrap_or("");
        if !rule.status.iter().any(|s| s == st) {
            return Some(Mismatch::Status {
                status: st.to_string(),
                wanted: rule.status.clone(),
            });
        }
    }
    if !rule.projects.is_empty() && !rule.projects.iter().any(|g| g.matches(&cx.project_path)) {
        return Some(Mismatch::Project(cx.project_path.clone()));
    }
    if !rule.refs.is_empty() {
        let r = cx.git_ref.as_deref().unwrap_or("");
        if !rule.refs.iter().any(|g| g.matches(r)) {
            return Some(Mismatch::Ref(r.to_string()));
        }
    }
    if !rule.environments.is_empty() {
        let env = cx.environment.as_deref().unwrap_or("");
        if !rule.environments.iter().any(|g| g.matches(env)) {
            return Some(Mismatch::Environment(env.to_string()));
        }
    }
    None
}

fn names(rule: &Rule) -> String {
    rule.events
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join("/")
}

/// The rules whose conditions `ev` meets; `Err` says, per rule, why none does. Cheap: it
/// needs no catalog, so an event nobody wants is answered without touching the store.
pub fn applicable<'r>(rules: &'r [Rule], ev: &HookEvent) -> Result<Vec<&'r Rule>, Ignored> {
    let mut out = Vec::new();
    let mut why = Vec::new();
    for rule in rules {
        match mismatch(rule, ev) {
            Some(reason) => why.push((rule.name.clone(), reason)),
            None => out.push(rule),
        }
    }
    if out.is_empty() {
        if why.is_empty() {
            return Err(Ignored::NoRules);
        }
        return Err(Ignored::NoRuleApplies(why));
    }
    Ok(out)
}

/// The catalog experiments (of `experiments`, by name) that `rules` name, deduplicated
/// (two rules naming the same experiment run it once). `Err` says why there are none.
pub fn experiments(rules: &[&Rule], experiments: &[String]) -> Result<Vec<Match>, Ignored> {
    let mut out: Vec<Match> = Vec::new();
    let mut why = Vec::new();
    for rule in rules {
        let hits: Vec<&String> = experiments
            .iter()
            .filter(|name| rule.experiments.iter().any(|g| g.matches(name)))
            .collect();
        if hits.is_empty() {
            why.push(rule.name.clone());
        }
        for name in hits {
            if !out.iter().any(|m| &m.experiment == name) {
                out.push(Match {
                    rule: rule.name.clone(),
                    experiment: name.clone(),
                });
            }
        }
    }
    if out.is_empty() {
        Err(Ignored::NoExperiment(why))
    } else {
        Ok(out)
    }
}

/// [`applicable`] then [`experiments`].
pub fn select(rules: &[Rule], ev: &HookEvent, names: &[String]) -> Result<Vec<Match>, Ignored> {
    experiments(&applicable(rules, ev)?, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::config_file::Glob;
    use crate::application::gitlab_trigger::hooks::EventKind;
    use crate::domain::trigger::GitlabContext;

    fn rule(events: &[EventKind], status: &[&str], env: &[&str], exps: &[&str]) -> Rule {
        Rule {
            name: "r".into(),
            events: events.to_vec(),
            status: status.iter().map(|s| s.to_string()).collect(),
            projects: vec![Glob::new("group/*")],
            refs: Vec::new(),
            environments: env.iter().map(|s| Glob::new(*s)).collect(),
            experiments: exps.iter().map(|s| Glob::new(*s)).collect(),
        }
    }

    fn deployment(status: &str, env: &str) -> HookEvent {
        HookEvent {
            kind: EventKind::Deployment,
            status: Some(status.into()),
            context: GitlabContext {
                project_path: "group/checkout".into(),
                environment: Some(env.into()),
                ..GitlabContext::default()
            },
        }
    }

    #[test]
    fn every_condition_must_hold() {
        let rules = [rule(
            &[EventKind::Deployment],
            &["success"],
            &["staging"],
            &["checkout-*"],
        )];
        let cat = vec![
            "checkout-stress".to_string(),
            "checkout-net".into(),
            "billing".into(),
        ];
        let m = select(&rules, &deployment("success", "staging"), &cat).unwrap();
        let names: Vec<&str> = m.iter().map(|m| m.experiment.as_str()).collect();
        assert_eq!(names, ["checkout-stress", "checkout-net"]);
        let e = select(&rules, &deployment("running", "staging"), &cat)
            .unwrap_err()
            .to_string();
        assert!(e.contains("status \"running\""), "{e}");
        let e = select(&rules, &deployment("success", "production"), &cat)
            .unwrap_err()
            .to_string();
        assert!(e.contains("environment \"production\""), "{e}");
        let mut push = deployment("success", "staging");
        push.kind = EventKind::Push;
        assert!(
            select(&rules, &push, &cat)
                .unwrap_err()
                .to_string()
                .contains("not a deployment event")
        );
        let mut other = deployment("success", "staging");
        other.context.project_path = "elsewhere/app".into();
        assert!(
            select(&rules, &other, &cat)
                .unwrap_err()
                .to_string()
                .contains("project elsewhere/app")
        );
        assert!(
            select(
                &rules,
                &deployment("success", "staging"),
                &["billing".into()]
            )
            .unwrap_err()
            .to_string()
            .contains("no experiment in the catalog")
        );
        assert_eq!(select(&[], &push, &cat).unwrap_err(), Ignored::NoRules);
    }

    #[test]
    fn two_rules_naming_one_experiment_run_it_once() {
        let rules = [
            rule(&[EventKind::Deployment], &[], &[], &["checkout-*"]),
            rule(
                &[EventKind::Deployment],
                &["success"],
                &[],
                &["checkout-stress"],
            ),
        ];
        let m = select(
            &rules,
            &deployment("success", "x"),
            &["checkout-stress".into()],
        )
        .unwrap();
        assert_eq!(m.len(), 1);
    }
}
