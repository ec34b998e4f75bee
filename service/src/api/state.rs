//! What every handler shares.

use std::sync::Arc;

use faultline_exporter::ServiceMetrics;

use super::gitlab_hooks::GitlabHooks;
use super::id_token::IdTokens;
use crate::application::engine::inject::Injector;
use crate::application::live::LiveRuns;
use crate::application::ports::Storage;

/// The service's shared state, one per process.
pub struct ApiState {
    /// Runs, events, verdicts.
    pub store: Arc<dyn Storage>,
    /// The runs this process drives.
    pub live: Arc<LiveRuns>,
    /// The service's metric families.
    pub metrics: Arc<ServiceMetrics>,
    /// True when faults are injected by the in-process agent, so dry runs can resolve
    /// local targets on this machine.
    pub resolve_locally: bool,
    /// The GitLab webhook's config, once `serve --gitlab-config` set it.
    pub gitlab: std::sync::OnceLock<Arc<GitlabHooks>>,
    /// GitLab CI ID tokens and their trust policies, once `serve --id-token-config` set
    /// them.
    pub id_tokens: std::sync::OnceLock<Arc<IdTokens>>,
    /// Where the web console is served and what it links to, once `serve` set it
    /// (default: at the root, no Grafana link).
    pub console: std::sync::OnceLock<super::console::settings::ConsoleSettings>,
    /// People's sign-in through an OIDC provider, once `serve --sso-config` set it.
    pub sso: std::sync::OnceLock<Arc<super::sso::Sso>>,
}

impl ApiState {
    /// State over `live` (which holds the store and the injector).
    pub fn new(
        store: Arc<dyn Storage>,
        live: Arc<LiveRuns>,
        metrics: Arc<ServiceMetrics>,
    ) -> ApiState {
        let resolve_locally = matches!(live.injector(), Injector::InProcess(_));
        ApiState {
            store,
            live,
            metrics,
            resolve_locally,
            gitlab: std::sync::OnceLock::new(),
            id_tokens: std::sync::OnceLock::new(),
            console: std::sync::OnceLock::new(),
            sso: std::sync::OnceLock::new(),
        }
    }

    /// `/metrics` text: the service's families and, with the in-process agent, the
    /// agent's.
    pub fn metrics_text(&self) -> String {
        let mut text = self.metrics.encode_text();
        if let Injector::InProcess(agent) = self.live.injector() {
            text.push_str(&agent.metrics().encode_text());
        }
        text
    }
}
