//! `faultline serve`: the HTTP API over the run store, with faults injected by the
//! in-process agent or a node agent.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use faultline::api::{Auth, Service, check_bind};
use faultline::checks::PrometheusClient;
use faultline::engine::inject::Injector;
use faultline::engine::runner::RunOptions;
use faultline::notify::{Notifier, RetryPolicy};
use faultline::outputs::MetricsObserver;
use faultline::runs::wait_for_signal;
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_agent::client::AgentClient;
use faultline_exporter::RunMetrics;

use crate::cli::ServeArgs;

/// Runs `serve` until SIGTERM or Ctrl-C; 0 after a clean stop.
pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    let auth = match (&args.tokens_file, args.insecure_no_auth) {
        (Some(path), _) => Auth::from_file(path)?,
        (None, true) => Auth::Disabled,
        (None, false) => bail!(
            "no --tokens-file given; pass one (lines `role:token`), or --insecure-no-auth on a loopback address"
        ),
    };
    check_bind(args.listen, &auth)?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(serve(args, auth))?;
    Ok(0)
}

async fn serve(args: &ServeArgs, auth: Auth) -> anyhow::Result<()> {
    if matches!(auth, Auth::Disabled) {
        tracing::warn!("serving the API without authentication (--insecure-no-auth)");
    }
    // Bind first: a second service on the same port fails here without touching the
    // store or the journal of the first.
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let dir = &args.state.state_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create state dir {}", dir.display()))?;
    let store = Arc::new(
        Store::open(&dir.join("faultline.db"))
            .with_context(|| format!("failed to open the store in {}", dir.display()))?,
    );
    let (injector, agent) = match &args.agent {
        Some(url) => {
            let token = read_token(args.agent_token_file.as_deref())?;
            let client = AgentClient::new(url.clone(), token)
                .with_context(|| format!("failed to set up the agent client for {url}"))?;
            (Injector::Remote(client), None)
        }
        None => {
            // Opening the agent recovers whatever a killed service left in the journal.
            let agent = Agent::open(dir.join("agent"))
                .await
                .context("failed to open the in-process agent")?;
            let recovered = agent.startup_report().recovered.len();
            if recovered > 0 {
                tracing::warn!(recovered, "recovered faults a previous process left behind");
            }
            (Injector::InProcess(Arc::new(agent.clone())), Some(agent))
        }
    };
    // Run metrics and Grafana annotations observe every run; their families join the
    // service's registry once it exists (below).
    let run_metrics = RunMetrics::new().context("failed to create the run metrics")?;
    let public = args
        .grafana
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let public = public.trim_end_matches('/').to_string();
    let public_link = public.clone();
    let grafana = crate::cmd::run::grafana_observer(
        &args.grafana,
        dir,
        Box::new(move |run| format!("{public}/api/v1/runs/{run}/report.html")),
    )?;
    let mut opts = RunOptions {
        lease: args.lease.std().max(Duration::from_secs(3)),
        prometheus: args
            .prometheus
            .as_deref()
            .map(|u| PrometheusClient::new(u, Duration::from_secs(5))),
        ..RunOptions::default()
    };
    opts.observers
        .push(Arc::new(MetricsObserver::new(run_metrics.clone())));
    if let Some(g) = &grafana {
        opts.observers.push(g.clone());
    }
    // Notifications: verdicts go to the store's outbox first, so none is lost while a
    // channel is down; the worker keeps retrying them for as long as the service runs.
    let notifier = match &args.notify.notify_config {
        Some(path) => {
            let link = format!("{public_link}/api/v1/runs/{{run}}/report.html");
            let channels =
                Notifier::load(path, args.notify.notify_templates.as_deref(), Some(link))?;
            Some(Notifier::start(
                channels,
                store.clone(),
                RetryPolicy::default(),
            ))
        }
        None => None,
    };
    if let Some(n) = &notifier {
        opts.observers.push(n.observer());
    }
    let cluster = match args.cluster.kubernetes {
        true => {
            let token = read_token(args.agent_token_file.as_deref())?;
            let mode = crate::cmd::cluster::start(&args.cluster, token, opts.lease).await?;
            opts.cluster = Some(mode.cluster.clone());
            Some(mode)
        }
        false => None,
    };
    let service = Service::open(store, injector, opts, auth)?;
    let registry = service.state.metrics.registry();
    run_metrics
        .register(registry)
        .context("failed to register the run metrics")?;
    if let Some(g) = &grafana {
        g.sender()
            .register_metrics(registry)
            .context("failed to register the Grafana annotation metrics")?;
    }
    let server = service.bind(listener)?;
    // Parsed by scripts and tests waiting for the service: keep the wording.
    println!("faultline listening on http://{}", args.listen);
    tracing::info!(listen = %args.listen, state_dir = %dir.display(), interrupted = service.interrupted.len(), "serving");
    service.run_until(server, wait_for_signal()).await?;
    if let Some(agent) = agent {
        let left = agent
            .shutdown()
            .await
            .context("failed to recover the faults left on shutdown")?;
        if !left.is_empty() {
            tracing::warn!(
                recovered = left.len(),
                "recovered faults still applied at shutdown"
            );
        }
    }
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    if let Some(g) = grafana {
        let left = g.sender().flush(Duration::from_secs(5)).await;
        if left > 0 {
            tracing::warn!(
                left,
                "Grafana annotations not sent yet; kept queued for the next start"
            );
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The agents' bearer token from `--agent-token-file`, trimmed.
fn read_token(path: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    path.map(|p| {
        std::fs::read_to_string(p)
            .map(|t| t.trim().to_string())
            .with_context(|| format!("failed to read {}", p.display()))
    })
    .transpose()
}
