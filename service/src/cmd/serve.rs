//! `faultline serve`: the HTTP API over the run store, with faults injected by the
//! in-process agent or a node agent.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use faultline::api::GitlabHooks;
use faultline::api::id_token::IdTokens;
use faultline::api::sso::Sso;
use faultline::api::{Auth, Service, check_bind};
use faultline::application::ci_identity::IdTokenConfig;
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{Outcome, RunOptions, confirm_recovered};
use faultline::application::gitlab_trigger::GitlabConfig;
use faultline::application::ports::{AnnotationQueue, Outbox, PlanPreviews, RunStore, Storage};
use faultline::application::ports::{LoginStore, SessionStore};
use faultline::application::probes::PrometheusClient;
use faultline::application::runs::wait_for_signal;
use faultline::application::sso::SsoConfig;
use faultline::gitlab::{GitlabClient, GitlabObserver};
use faultline::notify::{Channels, Notifier, NotifyConfig, RetryPolicy, Templates};
use faultline::outputs::agent_health::KnownAgents;
use faultline::outputs::{MetricsObserver, SilenceObserver};
use faultline::store::{PgSettings, PgStore, Store};
use faultline_agent::agent::Agent;
use faultline_agent::client::AgentClient;
use faultline_exporter::RunMetrics;

use faultline::application::governance::{Preflight, SystemClock};
use faultline::config::value::Raw;
use faultline::config::{Governance, ServeConfig, ServeLayer, StoreSettings, env_var};
use faultline::domain::{Actor, AuditAction, AuditOutcome, NewAudit};
use faultline::outputs::audit_file::AuditFile;
use faultline::outputs::veto::HttpVeto;

use crate::cli::{GrafanaArgs, OtlpArgs, ServeArgs};

/// Runs `serve` until SIGTERM or Ctrl-C; 0 after a clean stop.
pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    // Settings first: a bad config stops here, before anything is bound, created or opened.
    let cfg = settings(args)?;
    let id_tokens = match &cfg.id_token_config {
        Some(path) => Some(
            IdTokenConfig::load(path)
                .map_err(|e| anyhow::anyhow!("invalid ID-token config:\n{e}"))?,
        ),
        None => None,
    };
    let sso = match &cfg.sso_config {
        Some(path) => {
            Some(SsoConfig::load(path).map_err(|e| anyhow::anyhow!("invalid SSO config:\n{e}"))?)
        }
        None => None,
    };
    let governance = match &args.config {
        Some(path) => {
            Governance::load(path).map_err(|e| anyhow::anyhow!("invalid serve config:\n{e}"))?
        }
        None => Governance::default(),
    };
    let auth = match (&cfg.tokens_file, cfg.insecure_no_auth) {
        (Some(path), _) => Auth::from_file(path)?,
        (None, true) => Auth::Disabled,
        // CI jobs call with their ID tokens; no static token is needed.
        (None, false) if id_tokens.is_some() => Auth::Tokens(Vec::new().into()),
        // People sign in through the OIDC provider; no static token is needed.
        (None, false) if sso.is_some() => Auth::Tokens(Vec::new().into()),
        (None, false) => bail!(
            "no tokensFile given (--tokens-file, FAULTLINE_TOKENS_FILE or the config file); give one (lines `role:token`), an idTokenConfig, or insecureNoAuth on a loopback address"
        ),
    };
    if id_tokens.is_some() && matches!(auth, Auth::Disabled) {
        bail!(
            "idTokenConfig and insecureNoAuth are both set: without authentication every caller is admin, so ID tokens would bind nothing"
        );
    }
    if sso.is_some() && matches!(auth, Auth::Disabled) {
        bail!(
            "ssoConfig and insecureNoAuth are both set: without authentication every caller is admin, so a sign-in would grant nothing"
        );
    }
    check_bind(cfg.listen, &auth)?;
    // The certificate files are read now: one that is missing, not PEM or not the key's
    // stops the start here, naming the file, before anything is bound.
    let tls = cfg
        .tls
        .as_ref()
        .map(|t| t.config())
        .transpose()
        .context("invalid TLS settings (tlsCert, tlsKey)")?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let config_path = args.config.clone();
    let identities = Identities { id_tokens, sso };
    rt.block_on(serve(&cfg, auth, identities, governance, config_path, tls))?;
    Ok(0)
}

/// Flags and FAULTLINE_* variables (clap has already put a flag over its variable) over
/// the `--config` file, over the defaults.
fn settings(args: &ServeArgs) -> anyhow::Result<ServeConfig> {
    let file = match &args.config {
        Some(path) => {
            ServeLayer::load(path).map_err(|e| anyhow::anyhow!("invalid serve config:\n{e}"))?
        }
        None => ServeLayer::default(),
    };
    let cwd = std::env::current_dir().context("no working directory")?;
    let mut given = ServeLayer::default();
    let mut errors = Vec::new();
    for (key, flag, value) in args.given() {
        if let Err(why) = given.set(key, Raw::Text(value), &cwd) {
            errors.push(format!("{flag} (or {}): {why}", env_var(key)));
        }
    }
    if !errors.is_empty() {
        bail!("invalid serve settings:\n{}", errors.join("\n"));
    }
    given
        .over(file)
        .resolve()
        .map_err(|e| anyhow::anyhow!("invalid serve settings:\n{}", e.join("\n")))
}

/// Who may call besides the tokens file: CI jobs by their ID tokens, people through SSO.
struct Identities {
    id_tokens: Option<IdTokenConfig>,
    sso: Option<SsoConfig>,
}

async fn serve(
    args: &ServeConfig,
    auth: Auth,
    identities: Identities,
    governance: Governance,
    config_path: Option<std::path::PathBuf>,
    tls: Option<rustls::ServerConfig>,
) -> anyhow::Result<()> {
    let Identities { id_tokens, sso } = identities;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if matches!(auth, Auth::Disabled) {
        tracing::warn!("serving the API without authentication (--insecure-no-auth)");
    }
    // Bind first: a second service on the same port fails here without touching the
    // store or the journal of the first.
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let dir = &args.state_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create state dir {}", dir.display()))?;
    let (store, shared_annotations) = open_store(args)?;
    let (injector, agent) = match &args.agent_url {
        Some(url) => {
            let token = read_token(args.agent_token_file.as_deref())?;
            let client = AgentClient::with_tls(url.clone(), token, args.agent_tls.as_ref())
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
        .public_url
        .clone()
        // The bound address, not the asked one: `--listen 127.0.0.1:0` gets a real port,
        // which links and the SSO redirect URI must carry.
        .unwrap_or_else(|| {
            let at = listener.local_addr().unwrap_or(args.listen);
            format!("{scheme}://{at}")
        });
    let public = public.trim_end_matches('/').to_string();
    let public_link = public.clone();
    let grafana = crate::cmd::run::grafana_observer(
        &GrafanaArgs {
            grafana_url: args.grafana_url.clone(),
            grafana_token_file: args.grafana_token_file.clone(),
            grafana_dashboard_uid: args.grafana_dashboard_uid.clone(),
            public_url: args.public_url.clone(),
        },
        dir,
        Box::new(move |run| format!("{public}/api/v1/runs/{run}/report.html")),
        shared_annotations,
    )?;
    let mut opts = RunOptions {
        lease: args.lease,
        max_duration: args.max_duration,
        prometheus: args
            .prometheus_url
            .as_deref()
            .map(|u| PrometheusClient::new(u, Duration::from_secs(5))),
        alerts_pushed: true,
        ..RunOptions::default()
    };
    opts.observers
        .push(Arc::new(MetricsObserver::new(run_metrics.clone())));
    if let Some(g) = &grafana {
        opts.observers.push(g.clone());
    }
    let traces = crate::cmd::run::trace_observer(&OtlpArgs {
        otlp_endpoint: args.otlp_endpoint.clone(),
    })?;
    if let Some((_, t)) = &traces {
        opts.observers.push(t.clone());
        // Fault spans open before their apply call, which carries them to the agent.
        opts.fault_traces = Some(t.clone());
    }
    if let Some(url) = &args.alertmanager_url {
        opts.observers.push(Arc::new(
            SilenceObserver::new(url, store.clone() as Arc<dyn RunStore>)
                .context("failed to set up the Alertmanager client")?,
        ));
    }
    let mut catalog_loaded = None;
    if let Some(dir) = &args.experiments_dir {
        let names = load_experiments(&*store, dir)?;
        catalog_loaded = Some((dir.display().to_string(), names.len()));
        tracing::info!(dir = %dir.display(), experiments = names.len(), "experiment catalog loaded");
    }
    let gitlab = match &args.gitlab_config {
        Some(path) => Some(
            GitlabConfig::load(path).map_err(|e| anyhow::anyhow!("invalid GitLab config:\n{e}"))?,
        ),
        None => None,
    };
    let gitlab_client = gitlab
        .as_ref()
        .and_then(|g| g.api.as_ref())
        .map(GitlabClient::new)
        .transpose()
        .context("failed to set up the GitLab API client")?;
    // Notifications and GitLab statuses: verdicts go to the store's outbox first, so none
    // is lost while a channel is down; the worker keeps retrying them for as long as the
    // service runs.
    let link = format!("{public_link}/api/v1/runs/{{run}}/report.html");
    let channels = match &args.notify_config {
        Some(path) => Some(Notifier::load(
            path,
            args.notify_templates.as_deref(),
            Some(link.clone()),
        )?),
        None if gitlab_client.is_some() => Some(Channels::new(
            NotifyConfig {
                report_url: Some(link.clone()),
                ..NotifyConfig::default()
            },
            Templates::load(None)?,
        )?),
        None => None,
    };
    let notifier = channels.map(|ch| {
        let ch = match &gitlab_client {
            Some(c) => ch.with_gitlab(c.clone()),
            None => ch,
        };
        Notifier::start(ch, store.clone(), RetryPolicy::default())
    });
    if let Some(n) = &notifier {
        if args.notify_config.is_some() {
            opts.observers.push(n.observer());
        }
        if gitlab_client.is_some() {
            opts.observers
                .push(Arc::new(GitlabObserver::new(n.outbox().clone())));
        }
    }
    let halted = store
        .halted()
        .context("failed to read the emergency stop")?;
    let cluster = match args.kube.enabled {
        true => {
            let token = read_token(args.agent_token_file.as_deref())?;
            let mode =
                crate::cmd::cluster::start(&args.kube, token, args.agent_tls.clone(), opts.lease)
                    .await?;
            opts.cluster = Some(Arc::new(mode.cluster.clone()));
            Some(mode)
        }
        false => None,
    };
    let known_agents = match (&cluster, &injector) {
        (Some(mode), _) => KnownAgents::cluster(mode.cluster.agents().clone())
            .context("failed to set up the agent health probe")?,
        (None, Injector::InProcess(a)) => KnownAgents::InProcess(a.clone()),
        (None, Injector::Remote(c)) => KnownAgents::Remote(c.clone()),
    };
    // With several replicas (PostgreSQL), the runs of replicas that died before this one
    // started are adopted first; their faults are then confirmed below like a restart's.
    let adopted = store
        .adopt_lapsed()
        .context("failed to adopt the runs of lost replicas")?;
    if !adopted.is_empty() {
        tracing::warn!(
            runs = adopted.len(),
            "adopted runs whose replica's lease lapsed"
        );
    }
    // Faults a dead process left active, as the store recorded them before applying them:
    // each confirmed recovered through the executor that applied it, before the runs it
    // interrupted are ended (Service::open).
    let confirmed = confirm_recovered(store.as_ref(), &injector, opts.cluster.as_ref())
        .await
        .context("failed to confirm faults a previous process left active recovered")?;
    for c in &confirmed {
        match &c.outcome {
            Outcome::Recovered { targets } => {
                tracing::warn!(run = %c.run, fault = %c.fault, executor = %c.executor, targets, "confirmed recovered a fault a previous process left active")
            }
            Outcome::Unconfirmed { reason } => {
                tracing::error!(run = %c.run, fault = %c.fault, executor = %c.executor, error = %reason, "could not confirm a fault a previous process left active recovered; retried at the next start")
            }
        }
    }
    if let Some(v) = &governance.veto {
        let veto = HttpVeto::new(&v.url, v.timeout)
            .with_context(|| format!("failed to set up the veto client for {}", v.url))?;
        opts.preflight = Some(Preflight {
            veto: Arc::new(veto),
            fail_open: v.fail_open,
        });
    }
    let adoption = match &args.store {
        StoreSettings::Postgres { lease_ttl, .. } => Some(faultline::application::adoption::spawn(
            store.clone(),
            injector.clone(),
            opts.cluster.clone(),
            opts.observers.clone(),
            adoption_period(*lease_ttl),
        )),
        StoreSettings::Sqlite => None,
    };
    let service = Service::open(store, injector, opts, auth)?;
    let audit = service.live().audit().clone();
    if let Some(path) = &governance.audit_file {
        let file = AuditFile::open(path)
            .with_context(|| format!("failed to open the audit file {}", path.display()))?;
        audit.ship_to(Arc::new(file));
    }
    if let Some((dir, n)) = catalog_loaded {
        audit.record(
            NewAudit::ok(Actor::system("serve"), AuditAction::ConfigLoad, dir).ended(
                AuditOutcome::Ok,
                format!("{n} experiment(s) loaded into the catalog"),
            ),
        );
    }
    let windows = governance.windows.len();
    service
        .live()
        .set_windows(governance.windows, Arc::new(SystemClock));
    audit.record(
        NewAudit::ok(
            Actor::system("serve"),
            AuditAction::ConfigLoad,
            config_path.map_or_else(|| "serve settings".into(), |p| p.display().to_string()),
        )
        .ended(
            AuditOutcome::Ok,
            format!(
                "started; {windows} change window(s), veto {}, audit file {}",
                governance.veto.as_ref().map_or("off", |v| v.url.as_str()),
                governance
                    .audit_file
                    .as_ref()
                    .map_or_else(|| "off".into(), |p| p.display().to_string())
            ),
        ),
    );
    // The web console: its links start at --public-url's path (an ingress sub-path).
    let mut console = faultline::api::console::ConsoleSettings::new(args.public_url.as_deref());
    console.grafana_url = args.grafana_url.clone();
    console.grafana_dashboard = args.grafana_dashboard_uid.clone();
    if let Some(config) = sso {
        // Sign-ins in flight and sessions live in the store, so replicas sharing a
        // PostgreSQL store all know them (a callback or a cookie may reach any).
        let logins: Arc<dyn LoginStore> = service.state.store.clone();
        let sessions: Arc<dyn SessionStore> = service.state.store.clone();
        let sso = Sso::new(config, &public_link, &console.base, logins, sessions)
            .context("failed to set up SSO")?;
        tracing::info!(
            issuer = sso.issuer(),
            redirect_uri = sso.redirect_uri(),
            "people sign in through SSO"
        );
        let sso = Arc::new(sso);
        let _ = service.state.sso.set(sso.clone());
        // Discover now, so a wrong issuer shows in the log at start-up; a provider that is
        // down is asked again at the first sign-in.
        tokio::spawn(async move {
            if let Err(e) = sso.provider().await {
                tracing::warn!(error = %e, "SSO provider not reachable yet; sign-in retries it");
            }
        });
    }
    let _ = service.state.console.set(console);
    let agent_probe = faultline::outputs::agent_health::spawn(
        known_agents,
        service.state.metrics.clone(),
        faultline::outputs::agent_health::PROBE_EVERY,
    );
    service.state.metrics.emergency_stop(halted.is_some());
    if let Some(n) = &notifier {
        n.outbox().count_with(service.state.metrics.clone());
    }
    if let Some(h) = &halted {
        tracing::warn!(reason = %h.reason, since = %h.at, "the emergency stop is engaged: no run starts until it is released (faultline resume)");
    }
    let pruning = gitlab.as_ref().map(|config| {
        faultline::api::webhooks::prune_deliveries(
            service.state.store.clone(),
            config.keep_deliveries,
            faultline::api::webhooks::PRUNE_EVERY,
        )
    });
    if let Some(config) = gitlab {
        faultline::api::webhooks::install(
            &service.state,
            GitlabHooks {
                config,
                outbox: gitlab_client
                    .as_ref()
                    .and(notifier.as_ref())
                    .map(|n| -> Arc<dyn Outbox> { Arc::new(n.outbox().clone()) }),
                previews: gitlab_client.map(|c| -> Arc<dyn PlanPreviews> { Arc::new(c) }),
            },
        );
    }
    if let Some(config) = id_tokens {
        let (issuer, policies) = (config.issuer.clone(), config.policies.len());
        let ids = IdTokens::new(config, service.state.metrics.registry())
            .context("failed to set up GitLab CI ID tokens")?;
        let _ = service.state.id_tokens.set(Arc::new(ids));
        tracing::info!(%issuer, policies, "accepting GitLab CI ID tokens");
    }
    let registry = service.state.metrics.registry();
    run_metrics
        .register(registry)
        .context("failed to register the run metrics")?;
    if let Some(g) = &grafana {
        g.sender()
            .register_metrics(registry)
            .context("failed to register the Grafana annotation metrics")?;
    }
    // Schedules fire on one replica: the Lease holder in cluster mode, else the holder of
    // the store's `scheduler` lease (PostgreSQL: one replica of those sharing the
    // database; SQLite: this one).
    let leading: faultline::application::schedule::Leading = match &cluster {
        Some(mode) => {
            let c = mode.cluster.clone();
            Arc::new(move || c.leads().unwrap_or(false))
        }
        None => {
            let store = service.state.store.clone();
            Arc::new(move || store.leads("scheduler").unwrap_or(false))
        }
    };
    let scheduler = faultline::application::schedule::spawn(
        service.state.store.clone(),
        service.live().clone(),
        leading,
    );
    let server = service.bind_tls(listener, tls)?;
    // With replicas sharing a store, a stop engaged through another replica aborts the
    // runs live here too.
    let halt_watch = matches!(args.store, StoreSettings::Postgres { .. }).then(|| {
        faultline::application::halt_watch::spawn(
            service.state.store.clone(),
            service.live().clone(),
            Duration::from_secs(1),
        )
    });
    // An abort asked of another replica for a run driven here is taken from the store.
    let abort_watch = match &args.store {
        StoreSettings::Postgres { lease_ttl, .. } => {
            Some(faultline::application::abort_watch::spawn(
                service.state.store.clone(),
                service.live().clone(),
                adoption_period(*lease_ttl),
            ))
        }
        StoreSettings::Sqlite => None,
    };
    // Parsed by scripts and tests waiting for the service: keep the wording.
    println!("faultline listening on {scheme}://{}", args.listen);
    tracing::info!(listen = %args.listen, scheme, state_dir = %dir.display(), interrupted = service.interrupted.len(), "serving");
    service.run_until(server, wait_for_signal()).await?;
    scheduler.abort();
    if let Some(a) = adoption {
        a.abort();
    }
    if let Some(a) = abort_watch {
        a.abort();
    }
    if let Some(h) = halt_watch {
        h.abort();
    }
    agent_probe.abort();
    if let Some(p) = pruning {
        p.abort();
    }
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
    if let Some((t, _)) = traces
        && let Err(e) = t.shutdown().await
    {
        tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "the last run traces may not have been sent");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The store `store` names: the state directory's SQLite file, or PostgreSQL.
/// The store `args` name and, on PostgreSQL, the Grafana annotation queue the replicas
/// share.
type Opened = (Arc<dyn Storage>, Option<Arc<dyn AnnotationQueue>>);

fn open_store(args: &ServeConfig) -> anyhow::Result<Opened> {
    match &args.store {
        StoreSettings::Sqlite => {
            let dir = &args.state_dir;
            let store = Store::open(&dir.join("faultline.db"))
                .with_context(|| format!("failed to open the store in {}", dir.display()))?;
            Ok((Arc::new(store), None))
        }
        StoreSettings::Postgres {
            url,
            password_file,
            lease_ttl,
        } => {
            // Unique per process: a restarted replica is a new owner, and adopts what its
            // previous life left like any other replica would.
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "faultline".into());
            let replica = format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let store = PgStore::open(&PgSettings {
                url: url.clone(),
                password_file: password_file.clone(),
                lease_ttl: *lease_ttl,
                replica: replica.clone(),
            })
            .with_context(|| format!("failed to open the PostgreSQL store {url}"))?;
            tracing::info!(%replica, lease_ttl = ?lease_ttl, "store: PostgreSQL");
            let store = Arc::new(store);
            Ok((store.clone(), Some(store)))
        }
    }
}

/// How often a replica looks for lapsed runs to adopt: a tenth of the TTL (at most
/// 500 ms: one indexed UPDATE that usually finds nothing), so a lost replica's runs are
/// adopted within the TTL and half a second.
fn adoption_period(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_millis(100), Duration::from_millis(500))
}

/// Loads `--experiments DIR` into the catalog, or says every problem found.
fn load_experiments(store: &dyn Storage, dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    faultline::application::catalog::load_dir(store, dir).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(|e| format!("{e:#}")).collect();
        anyhow::anyhow!(
            "--experiments {}: nothing loaded:\n{}",
            dir.display(),
            text.join("\n")
        )
    })
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
