//! The agents page in cluster mode: every pod of the agent DaemonSet the Kubernetes API
//! lists (the `kube` adapter's agent directory, through the `NodeAgents` port), each asked
//! for its health, version and active faults. A pod that is not ready, or does not answer
//! in time, is listed as unhealthy with the reason: the page shows what the cluster has,
//! not only what answers. [`AgentShown`] is also how `data.rs` shows the one agent of
//! the other modes.

use std::time::Duration;

use faultline_agent::client::AgentClient;
use futures::StreamExt;
use serde::Serialize;

use crate::application::ports::{DiscoveredAgent, NodeAgents};

/// A node agent as the console lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AgentShown {
    pub(super) name: String,
    /// The node it runs on (cluster mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) node: Option<String>,
    /// `in-process`, or the agent's URL.
    pub(super) location: String,
    pub(super) healthy: bool,
    pub(super) version: Option<String>,
    /// Fault records the agent holds now.
    pub(super) active_faults: Option<usize>,
    /// Why it is not healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
}

/// How long one agent may take to answer before it is shown as not answering.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);
/// Agents asked at once (a large cluster is asked in waves, not 500 calls at a time).
const CONCURRENCY: usize = 16;

/// Every agent pod with what it says about itself, by node then pod.
pub(super) async fn list(directory: &dyn NodeAgents) -> Result<Vec<AgentShown>, String> {
    let pods = directory
        .discover()
        .await
        .map_err(|e| format!("listing the agent pods failed: {e}"))?;
    // A base that is never called: each agent is asked through `at(pod URL)`.
    let tls = directory.tls();
    let base = if tls.is_some() {
        "https://127.0.0.1:0"
    } else {
        "http://127.0.0.1:0"
    };
    let client = AgentClient::with_tls(base, directory.token(), tls.as_ref())
        .map_err(|e| format!("building the agent client failed: {e}"))?;
    let mut shown: Vec<AgentShown> = futures::stream::iter(pods)
        .map(|pod| ask(&client, pod))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    shown.sort_by(|a, b| (&a.node, &a.name).cmp(&(&b.node, &b.name)));
    Ok(shown)
}

async fn ask(client: &AgentClient, pod: DiscoveredAgent) -> AgentShown {
    let mut shown = AgentShown {
        name: pod.pod,
        node: pod.node,
        location: pod.url.clone().unwrap_or_default(),
        healthy: false,
        version: None,
        active_faults: None,
        error: None,
    };
    let Some(url) = pod.url else {
        shown.error = Some("pod not ready (no address yet)".into());
        return shown;
    };
    match tokio::time::timeout(ASK_TIMEOUT, client.at(&url).health()).await {
        Ok(Ok(h)) => {
            shown.healthy = h.status == "ok";
            if !shown.healthy {
                shown.error = Some(format!("status {}", h.status));
            }
            shown.version = Some(h.version);
            shown.active_faults = Some(h.active);
        }
        Ok(Err(e)) => shown.error = Some(faultline_agent::agent::error_chain(&e)),
        Err(_) => shown.error = Some(format!("no answer within {ASK_TIMEOUT:?}")),
    }
    shown
}
