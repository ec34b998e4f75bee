//! The `faultline_agents_known` / `faultline_agents_healthy` gauges: every
//! [`PROBE_EVERY`] the service asks each agent it knows whether it is alive — the
//! in-process agent, the `--agent` URL, or in cluster mode every pod of the agent
//! DaemonSet (one paginated list, then `GET /healthz` on each ready pod). A pod that is
//! not running and ready counts as known and unhealthy without a call.
//!
//! The probe is what an SRE alerts on (`faultline_agents_healthy < faultline_agents_known`):
//! a node whose agent is down cannot take faults, and its faults rely on the agent's own
//! lease to be removed.

use std::sync::Arc;
use std::time::Duration;

use faultline_agent::agent::Agent;
use faultline_agent::client::{AgentClient, ClientError};
use faultline_exporter::ServiceMetrics;
use futures::StreamExt;

use crate::application::ports::{ClusterError, NodeAgents};

/// How often the agents are probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(15);
/// How long one agent may take to answer before it counts as unhealthy.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Health calls in flight at once (a cluster may have hundreds of agents).
const PROBE_CONCURRENCY: usize = 32;

/// The agents a service knows.
#[derive(Clone)]
pub enum KnownAgents {
    /// The agent library in this process.
    InProcess(Arc<Agent>),
    /// One node agent (`serve --agent URL`).
    Remote(AgentClient),
    /// The agent DaemonSet's pods, found through the Kubernetes API; `client` carries the
    /// agents' token and is pointed at each pod in turn.
    Cluster {
        /// Lists the agent pods (the `kube` adapter's agent directory).
        directory: Arc<dyn NodeAgents>,
        /// The HTTP client every probe call shares.
        client: AgentClient,
    },
}

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Agents known.
    pub known: usize,
    /// Agents that answered their health check.
    pub healthy: usize,
}

/// Whether the agent behind `client` answers `/healthz` with `ok` in time.
async fn healthy(client: &AgentClient) -> bool {
    match tokio::time::timeout(PROBE_TIMEOUT, client.health()).await {
        Ok(Ok(h)) => h.status == "ok",
        Ok(Err(e)) => {
            tracing::debug!(agent = client.url(), error = %faultline_agent::agent::error_chain(&e), "agent health check failed");
            false
        }
        Err(_) => false,
    }
}

impl KnownAgents {
    /// The agents of a cluster, probed with the directory's token.
    pub fn cluster(directory: impl NodeAgents + 'static) -> Result<KnownAgents, ClientError> {
        // A base that is never called: every probe goes through `at(pod URL)`.
        let tls = directory.tls();
        let base = if tls.is_some() {
            "https://127.0.0.1:0"
        } else {
            "http://127.0.0.1:0"
        };
        let client = AgentClient::with_tls(base, directory.token(), tls.as_ref())?;
        Ok(KnownAgents::Cluster {
            directory: Arc::new(directory),
            client,
        })
    }

    /// Probes every agent once. An error means the agents could not even be listed
    /// (Kubernetes API down): the gauges then keep their last values.
    pub async fn probe(&self) -> Result<Probe, ClusterError> {
        match self {
            KnownAgents::InProcess(agent) => Ok(Probe {
                known: 1,
                // A stopped agent (shutdown, its thread gone) refuses every call.
                healthy: usize::from(agent.list().await.is_ok()),
            }),
            KnownAgents::Remote(client) => Ok(Probe {
                known: 1,
                healthy: usize::from(healthy(client).await),
            }),
            KnownAgents::Cluster { directory, client } => {
                let pods = directory.discover().await?;
                let calls: Vec<_> = pods
                    .iter()
                    .filter_map(|p| p.url.as_deref())
                    .map(|url| {
                        let c = client.at(url);
                        async move { healthy(&c).await }
                    })
                    .collect();
                let answers: Vec<bool> = futures::stream::iter(calls)
                    .buffer_unordered(PROBE_CONCURRENCY)
                    .collect()
                    .await;
                Ok(Probe {
                    known: pods.len(),
                    healthy: answers.into_iter().filter(|ok| *ok).count(),
                })
            }
        }
    }
}

/// Probes `agents` now and every `every` after, setting the gauges, until aborted.
pub fn spawn(
    agents: KnownAgents,
    metrics: Arc<ServiceMetrics>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match agents.probe().await {
                Ok(p) => {
                    if p.healthy < p.known {
                        tracing::warn!(
                            known = p.known,
                            healthy = p.healthy,
                            "some agents did not answer their health check"
                        );
                    }
                    metrics.agents(p.known, p.healthy);
                }
                Err(e) => {
                    tracing::warn!(error = %faultline_agent::agent::error_chain(&e), "could not list the agents; agent gauges keep their last values")
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::agents::AgentSettings;
    use crate::kube::{AgentDirectory, Resolver};
    use http::{Request, Response};
    use kube::client::Body;

    /// A real agent daemon on a loopback port.
    async fn daemon(dir: &std::path::Path) -> (Agent, u16, actix_web::dev::ServerHandle) {
        let agent = Agent::open(dir).await.unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = faultline_agent::daemon::serve(
            agent.clone(),
            faultline_agent::daemon::Auth::Disabled,
            listener,
        )
        .unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        (agent, port, handle)
    }

    fn closed_port() -> u16 {
        // Bound then dropped: nothing listens there for the test's lifetime (loopback).
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn the_in_process_agent_is_healthy_until_it_stops() {
        let dir = tempfile::tempdir().unwrap();
        let agent = Arc::new(Agent::open(dir.path()).await.unwrap());
        let known = KnownAgents::InProcess(agent.clone());
        assert_eq!(
            known.probe().await.unwrap(),
            Probe {
                known: 1,
                healthy: 1
            }
        );
        agent.shutdown().await.unwrap();
        assert_eq!(known.probe().await.unwrap().healthy, 0);
    }

    #[tokio::test]
    async fn a_remote_agent_is_healthy_when_it_answers_and_not_when_it_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (agent, port, handle) = daemon(dir.path()).await;
        let up = KnownAgents::Remote(
            AgentClient::new(format!("http://127.0.0.1:{port}"), None).unwrap(),
        );
        assert_eq!(up.probe().await.unwrap().healthy, 1);
        handle.stop(true).await;
        agent.shutdown().await.unwrap();
        assert_eq!(
            up.probe().await.unwrap(),
            Probe {
                known: 1,
                healthy: 0
            }
        );
        let down = KnownAgents::Remote(
            AgentClient::new(format!("http://127.0.0.1:{}", closed_port()), None).unwrap(),
        );
        assert_eq!(down.probe().await.unwrap().healthy, 0);
    }

    fn agent_pod(name: &str, ready: bool) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": name, "namespace": "faultline", "labels": { "app": "agent" } },
            "spec": { "nodeName": format!("node-{name}"), "containers": [] },
            "status": {
                "phase": "Running",
                "podIP": "127.0.0.1",
                "conditions": [ { "type": "Ready", "status": if ready { "True" } else { "False" } } ]
            }
        })
    }

    /// A Kubernetes API stand-in answering one list of the agent pods with `items`.
    fn one_pod_list(items: Vec<serde_json::Value>) -> (kube::Client, tokio::task::JoinHandle<()>) {
        let (svc, mut api) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(async move {
            let (req, send) = api
                .next_request()
                .await
                .expect("one list of the agent pods");
            assert_eq!(req.method(), http::Method::GET);
            assert_eq!(req.uri().path(), "/api/v1/namespaces/faultline/pods");
            let query = req.uri().query().unwrap_or_default().to_string();
            assert!(query.contains("labelSelector=app%3Dagent"), "{query}");
            let list = serde_json::json!({
                "apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items
            });
            send.send_response(Response::new(Body::from(
                serde_json::to_vec(&list).unwrap(),
            )));
        });
        (kube::Client::new(svc, "default"), server)
    }

    fn settings(port: u16) -> AgentSettings {
        AgentSettings {
            namespace: "faultline".into(),
            selector: "app=agent".into(),
            port,
            token: None,
        }
    }

    #[tokio::test]
    async fn in_cluster_mode_every_agent_pod_is_known_and_the_ready_answering_ones_healthy() {
        let dir = tempfile::tempdir().unwrap();
        let (agent, port, handle) = daemon(dir.path()).await;
        let (client, server) = one_pod_list(vec![agent_pod("a", true), agent_pod("b", false)]);
        let directory = AgentDirectory::new(Resolver::new(client, 500), settings(port));
        let known = KnownAgents::cluster(directory).unwrap();
        // Pod a: ready, and a real agent answers on its IP and port. Pod b: not ready.
        assert_eq!(
            known.probe().await.unwrap(),
            Probe {
                known: 2,
                healthy: 1
            }
        );
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        handle.stop(true).await;
        agent.shutdown().await.unwrap();
    }

    /// Cluster mode over mutual TLS: agents dialled at https://POD_IP, their certificate
    /// checked for the fixed name, the service's client certificate shown.
    #[tokio::test]
    async fn in_cluster_mode_agents_are_reached_over_mutual_tls_by_pod_ip() {
        use faultline_agent::tls::{ClientTls, ServerTls};
        use faultline_test_support::certs::Authority;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ca, clients) = (Authority::new("agents CA"), Authority::new("clients CA"));
        let (cert, key) = ca.issue("faultline-agent").write(d, "agent");
        let tls = ServerTls {
            cert,
            key,
            client_ca: Some(clients.write(d, "clients-ca")),
        };
        let agent = Agent::open(d.join("state")).await.unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let daemon = faultline_agent::daemon::serve_tls(
            agent.clone(),
            faultline_agent::daemon::Auth::Disabled,
            listener,
            None,
            Some(tls.config().unwrap()),
        )
        .unwrap();
        let handle = daemon.handle();
        tokio::spawn(daemon);
        let (client, server) = one_pod_list(vec![agent_pod("a", true)]);
        let directory = AgentDirectory::new(Resolver::new(client, 500), settings(port)).with_tls(
            Some(ClientTls {
                ca: ca.write(d, "ca"),
                identity: Some(clients.issue_client("faultline").write(d, "client")),
                server_name: Some("faultline-agent".into()),
            }),
        );
        let known = KnownAgents::cluster(directory).unwrap();
        assert_eq!(
            known.probe().await.unwrap(),
            Probe {
                known: 1,
                healthy: 1
            }
        );
        server.await.unwrap();
        handle.stop(true).await;
        agent.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn the_probe_sets_the_gauges() {
        let dir = tempfile::tempdir().unwrap();
        let agent = Arc::new(Agent::open(dir.path()).await.unwrap());
        let metrics = Arc::new(ServiceMetrics::new("t").unwrap());
        let task = spawn(
            KnownAgents::InProcess(agent.clone()),
            metrics.clone(),
            Duration::from_secs(3600),
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !metrics.encode_text().contains("faultline_agents_healthy 1") {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the first probe runs at once"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(metrics.encode_text().contains("faultline_agents_known 1"));
        task.abort();
        agent.shutdown().await.unwrap();
    }
}
