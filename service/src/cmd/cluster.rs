//! `faultline serve --kubernetes`: connects to the cluster, restores pods a killed service
//! left under podFailure and nodes it left cordoned or tainted, and competes for the leader Lease for the service's lifetime.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use faultline::config::KubeSettings;
use faultline::kube::agents::AgentSettings;
use faultline::kube::{ClientOptions, Cluster, ClusterConfig, LeaderElector, LeaseConfig, connect};
use faultline_agent::agent::error_chain;
use faultline_agent::tls::ClientTls;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Cluster mode while the service runs.
pub struct ClusterMode {
    /// What runs use.
    pub cluster: Cluster,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Connects and starts the elector and the podFailure sweep. `lease` is the fault lease:
/// a podFailure whose annotation has not been renewed for that long has no live run.
pub async fn start(
    args: &KubeSettings,
    agent_token: Option<String>,
    agent_tls: Option<ClientTls>,
    lease: Duration,
) -> anyhow::Result<ClusterMode> {
    let own_ns = std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|s| !s.is_empty());
    let agent_ns = args
        .agent_namespace
        .clone()
        .or_else(|| own_ns.clone())
        .unwrap_or_else(|| "faultline".into());
    let protected = if args.protect_namespaces.is_empty() {
        let mut p = vec!["kube-system".to_string()];
        p.extend(own_ns.clone().filter(|ns| ns != "kube-system"));
        p
    } else {
        args.protect_namespaces.clone()
    };
    let client = connect(ClientOptions {
        qps: args.qps,
        burst: args.burst,
    })
    .await
    .context("--kubernetes")?;
    let cfg = ClusterConfig {
        pause_image: args.pause_image.clone(),
        protected_namespaces: protected.clone(),
        agent_tls,
        ..ClusterConfig::new(AgentSettings {
            namespace: agent_ns.clone(),
            selector: args.agent_selector.clone(),
            port: args.agent_port,
            token: agent_token,
        })
    };
    let cluster = Cluster::new(client.clone(), cfg);
    tracing::info!(agents = %format!("{} in {agent_ns}:{}", args.agent_selector, args.agent_port), protected = %protected.join(","), qps = args.qps, burst = args.burst, "cluster mode");

    // The service-restart case: pods a previous process left with the pause image. Only
    // lapsed leases are touched, so a live run of another replica keeps its pods.
    sweep(&cluster).await;

    let (stop, stop_rx) = watch::channel(false);
    let identity = format!(
        "{}_{}",
        std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "faultline".into()),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let lease_ns = own_ns.unwrap_or(agent_ns);
    let elector = Arc::new(LeaderElector::new(
        client,
        LeaseConfig::new(args.leader_lease.clone(), lease_ns, identity),
    ));
    cluster.follow_leadership(elector.subscribe());
    let mut tasks = Vec::new();
    {
        let elector = elector.clone();
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            elector
                .run(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
        }));
    }
    {
        // The leader keeps sweeping: a replica that died mid-run leaves pods whose lease
        // lapses later than this start.
        let cluster = cluster.clone();
        let mut rx = stop_rx;
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(lease.max(Duration::from_secs(5))) => {}
                    _ = rx.wait_for(|s| *s) => break,
                }
                if elector.is_leader() {
                    sweep(&cluster).await;
                }
            }
        }));
    }
    Ok(ClusterMode {
        cluster,
        stop,
        tasks,
    })
}

impl ClusterMode {
    /// Stops the sweep and hands the Lease back.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

/// How long a finished task pod may stay before the sweep deletes it: a live run deletes
/// its pod within a second of the container exiting.
const TASK_POD_GRACE: chrono::Duration = chrono::Duration::minutes(2);

async fn sweep(cluster: &Cluster) {
    match cluster
        .tasks()
        .sweep_finished(cluster.resolver(), chrono::Utc::now(), TASK_POD_GRACE)
        .await
    {
        Ok(deleted) => {
            for pod in &deleted {
                tracing::warn!(pod = %pod, "deleted a finished task pod no live run owns");
            }
        }
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "task pod sweep failed; retrying later")
        }
    }
    match cluster
        .pod_failure()
        .sweep_lapsed(cluster.resolver(), chrono::Utc::now())
        .await
    {
        Ok(restored) if restored.is_empty() => {}
        Ok(restored) => {
            for (pod, r) in &restored {
                tracing::warn!(pod = %pod, outcome = r.outcome(), "restored a podFailure no live run owns (its lease lapsed)");
            }
        }
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "podFailure sweep failed; retrying later")
        }
    }
    // Nodes a killed service left cordoned or tainted (nodeCordon, nodeTaint, nodeDrain):
    // restored once their record's lease lapsed, so a live run keeps its nodes.
    match cluster.node_faults().sweep_lapsed(chrono::Utc::now()).await {
        Ok(restored) => {
            for (node, r) in &restored {
                tracing::warn!(node = %node, outcome = r.outcome(), "restored a node fault no live run owns (its lease lapsed)");
            }
        }
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "node fault sweep failed; retrying later")
        }
    }
}
