//! What can go wrong between faultline and the API server.

/// One error of the Kubernetes layer; each names the object or setting involved.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No kubeconfig and no in-cluster service account.
    #[error("failed to find a Kubernetes config (in-cluster service account or KUBECONFIG)")]
    Config(#[source] ::kube::config::InferConfigError),
    /// The client could not be built from the config (TLS, proxy, auth plugin).
    #[error("failed to build the Kubernetes client")]
    Client(#[source] ::kube::Error),
    /// A call to the API server failed.
    #[error("failed to {action}")]
    Api {
        /// What was being done, e.g. `list pods in namespace shop`.
        action: String,
        /// The API server's (or the transport's) answer.
        #[source]
        source: ::kube::Error,
    },
    /// The selector cannot be turned into a request.
    #[error("{field}: {message}")]
    Selector {
        /// The spec field, e.g. `spec.target.namespaces`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Nothing matched the selector (Chaos Mesh: "no pod is selected").
    #[error("no pod is selected by {selector}")]
    NoPodSelected {
        /// The selector, as a person reads it.
        selector: String,
    },
    /// A guard limit would be exceeded; nothing was injected.
    #[error("guard: {0}")]
    Guard(String),
    /// The selected pod is not on a node yet, or its node has no ready agent.
    #[error("{target}: {message}")]
    NoAgent {
        /// `pod NS/NAME` or `node NAME`.
        target: String,
        /// Why: not scheduled, no agent pod on its node, agent not ready.
        message: String,
    },
    /// The pod has no running container that the fault could aim at.
    #[error("pod {pod}: {message}")]
    NoContainer {
        /// `NS/NAME`.
        pod: String,
        /// Which container is missing or has no ID yet.
        message: String,
    },
    /// The pod's original-images annotation cannot be read back.
    #[error("pod {pod}: annotation {annotation} is not valid JSON")]
    BadAnnotation {
        /// `NS/NAME`.
        pod: String,
        /// The annotation key.
        annotation: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// An object faultline builds could not be put together (a task's pod).
    #[error("failed to build {what}")]
    BadObject {
        /// Which object.
        what: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The node agent client could not be set up.
    #[error("failed to set up the agent client for {url}")]
    AgentClient {
        /// The agent URL.
        url: String,
        /// Why.
        #[source]
        source: faultline_agent::client::ClientError,
    },
}

impl KubeError {
    /// Wraps a failed API call with what was being done.
    pub fn api(action: impl Into<String>) -> impl FnOnce(::kube::Error) -> KubeError {
        let action = action.into();
        move |source| KubeError::Api { action, source }
    }

    /// True when the API server answered 404 Not Found.
    pub fn is_not_found(e: &::kube::Error) -> bool {
        status_code(e) == Some(404)
    }

    /// True when the API server answered 409 Conflict (stale resourceVersion, exists).
    pub fn is_conflict(e: &::kube::Error) -> bool {
        status_code(e) == Some(409)
    }
}

fn status_code(e: &::kube::Error) -> Option<u16> {
    match e {
        ::kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}
