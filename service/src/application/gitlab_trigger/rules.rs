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

/// Why a rule did not act on an event (the first condition that failed).
fn mismatch(rule: &Rule, ev: &HookEvent) -> Option<String> {
    let cx = &ev.context;
    if !rule.events.contains(&ev.kind) {
        return Some(format!("not a {} event", names(rule)));
    }
    if !rule.status.is_empty() {
        let st = ev.status.as_deref().unwrap_or("");
        if !rule.status.iter().any(|s| s == st) {
            return Some(format!("status {st:?} is not one of {:?}", rule.status));
        }
    }
    if !rule.projects.is_empty() && !rule.projects.iter().any(|g| g.matches(&cx.project_path)) {
        return Some(format!("project {} does not match", cx.project_path));
    }
    if !rule.refs.is_empty() {
        let r = cx.git_ref.as_deref().unwrap_or("");
        if !rule.refs.iter().any(|g| g.matches(r)) {
            return Some(format!("ref {r:?} does not match"));
        }
    }
    if !rule.environments.is_empty() {
        let env = cx.environment.as_deref().unwrap_or("");
        if !rule.environments.iter().any(|g| g.matches(env)) {
            return Some(format!("environment {env:?} does not match"));
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
pub fn applicable<'r>(rules: &'r [Rule], ev: &HookEvent) -> Result<Vec<&'r Rule>, String> {
    let mut out = Vec::new();
    let mut why = Vec::new();
    for rule in rules {
        match mismatch(rule, ev) {
            Some(reason) => why.push(format!("rule {}: {reason}", rule.name)),
            None => out.push(rule),
        }
    }
    if out.is_empty() {
        if why.is_empty() {
            why.push("no rules are configured".into());
        }
        return Err(why.join("; "));
    }
    Ok(out)
}

/// The catalog experiments (of `experiments`, by name) that `rules` name, deduplicated
/// (two rules naming the same experiment run it once). `Err` says why there are none.
pub fn experiments(rules: &[&Rule], experiments: &[String]) -> Result<Vec<Match>, String> {
    let mut out: Vec<Match> = Vec::new();
    let mut why = Vec::new();
    for rule in rules {
        let hits: Vec<&String> = experiments
            .iter()
            .filter(|name| rule.experiments.iter().any(|g| g.matches(name)))
            .collect();
        if hits.is_empty() {
            why.push(format!(
                "rule {}: matched, but no experiment in the catalog matches its `experiments`",
                rule.name
            ));
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
        Err(why.join("; "))
    } else {
        Ok(out)
    }
}

/// [`applicable`] then [`experiments`].
pub fn select(rules: &[Rule], ev: &HookEvent, names: &[String]) -> Result<Vec<Match>, String> {
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
        let e = select(&rules, &deployment("running", "staging"), &cat).unwrap_err();
        assert!(e.contains("status \"running\""), "{e}");
        let e = select(&rules, &deployment("success", "production"), &cat).unwrap_err();
        assert!(e.contains("environment \"production\""), "{e}");
        let mut push = deployment("success", "staging");
        push.kind = EventKind::Push;
        assert!(
            select(&rules, &push, &cat)
                .unwrap_err()
                .contains("not a deployment event")
        );
        let mut other = deployment("success", "staging");
        other.context.project_path = "elsewhere/app".into();
        assert!(
            select(&rules, &other, &cat)
                .unwrap_err()
                .contains("project elsewhere/app")
        );
        assert!(
            select(
                &rules,
                &deployment("success", "staging"),
                &["billing".into()]
            )
            .unwrap_err()
            .contains("no experiment in the catalog")
        );
        assert_eq!(
            select(&[], &push, &cat).unwrap_err(),
            "no rules are configured"
        );
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
