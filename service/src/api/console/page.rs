//! The page shells: the layout (navigation, the emergency-stop banner, the error line)
//! and each page's fixed structure, rendered on the server with auto-escaping. The script
//! fills in the data.

use minijinja::{Environment, context};

use super::settings::ConsoleSettings;
use crate::domain::{AuditAction, AuditOutcome};

const SHELL: &str = include_str!("assets/shell.html");

/// One console page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// Paste a token.
    SignIn,
    /// The run history.
    Runs,
    /// One run, live.
    Run(String),
    /// The catalog.
    Experiments,
    /// One experiment: YAML, validate, dry run, start, CI snippet.
    Experiment(String),
    /// The schedules.
    Schedules,
    /// The node agents.
    Agents,
    /// The audit log (admins).
    Audit,
    /// Who may start what: the CI ID-token trust policies and the latest refusals.
    Access,
}

impl Page {
    /// The page's name, as the script and the template know it.
    pub fn name(&self) -> &'static str {
        match self {
            Page::SignIn => "signin",
            Page::Runs => "runs",
            Page::Run(_) => "run",
            Page::Experiments => "experiments",
            Page::Experiment(_) => "experiment",
            Page::Schedules => "schedules",
            Page::Agents => "agents",
            Page::Audit => "audit",
            Page::Access => "access",
        }
    }

    fn title(&self) -> String {
        match self {
            Page::SignIn => "Sign in".into(),
            Page::Runs => "Runs".into(),
            Page::Run(id) => format!("Run {id}"),
            Page::Experiments => "Experiments".into(),
            Page::Experiment(name) => format!("Experiment {name}"),
            Page::Schedules => "Schedules".into(),
            Page::Agents => "Agents".into(),
            Page::Audit => "Audit log".into(),
            Page::Access => "Access".into(),
        }
    }

    fn argument(&self) -> &str {
        match self {
            Page::Run(a) | Page::Experiment(a) => a,
            _ => "",
        }
    }

    /// The page's HTML under `settings`.
    pub fn render(&self, settings: &ConsoleSettings) -> String {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_template("shell.html", SHELL)
            .expect("console shell parses");
        let tmpl = env
            .get_template("shell.html")
            .expect("console shell is registered");
        tmpl.render(context! {
            page => self.name(),
            title => self.title(),
            arg => self.argument(),
            // URL-safe characters only (ConsoleSettings::new): the template marks it safe.
            base => settings.base.as_str(),
            grafana => settings.grafana_url.as_deref().unwrap_or(""),
            dashboard => settings.grafana_dashboard.as_deref().unwrap_or(""),
            // The audit page's filter choices: the words the API accepts.
            audit_actions => AuditAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            audit_outcomes => AuditOutcome::ALL.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        })
        .unwrap_or_else(|e| format!("<!doctype html><p>console page failed to render: {e}</p>"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_argument_is_escaped_and_links_start_at_the_base() {
        let s = ConsoleSettings::new(Some("https://h/chaos/"));
        let html = Page::Run("<img src=x onerror=alert(1)>".into()).render(&s);
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(html.contains(r#"src="/chaos/assets/console.js""#), "{html}");
        assert!(
            html.contains(r#"href="/chaos/assets/console.css""#),
            "{html}"
        );
        assert!(!html.contains("<script>"), "no inline script: {html}");
        assert!(!html.contains("style="), "no inline style: {html}");
    }
}
