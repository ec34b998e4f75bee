//! `faultline-agent`: the per-node daemon. Recovers what a previous run left applied,
//! serves the HTTP API, recovers faults whose lease lapses, and on SIGTERM/SIGINT
//! recovers everything before it exits.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use faultline_agent::Agent;
use faultline_agent::daemon::{self, Auth};
use faultline_agent::tls::ServerTls;
use faultline_exporter::{AgentTracer, Tracing};

/// faultline's node agent: applies and recovers faults on this node, with leases and a
/// journal so that no fault outlives its lease.
///
/// On start it recovers whatever the journal in --state-dir says a previous agent (or
/// `faultline run`) left applied. On SIGTERM or SIGINT it recovers every active fault,
/// then exits 0.
///
/// API (JSON): POST /v1/faults, POST /v1/faults/{id}/renew, DELETE /v1/faults/{id},
/// GET /v1/faults (bearer token); GET /healthz, GET /metrics (open).
///
/// With --tls-cert and --tls-key the API is served over HTTPS (the files are re-read when
/// they change, no restart); with --tls-client-ca too, every caller must show a client
/// certificate signed by that CA (mutual TLS, as `faultline serve --agent-client-cert`
/// does).
///
/// With --otlp-endpoint, each apply, recover and renew exports a span
/// (`faultline.agent.apply` / `recover` / `renew`) over OTLP/HTTP, a child of the fault's
/// span in the run's trace when the service sent a W3C `traceparent` header.
#[derive(Debug, Parser)]
#[command(name = "faultline-agent", version, about, long_about)]
struct Args {
    /// Address to serve the HTTP API on. Binds loopback unless told otherwise; in a
    /// cluster use the pod IP and a token.
    #[arg(long, default_value = "127.0.0.1:7150", value_name = "ADDR")]
    listen: SocketAddr,

    /// Where the journal and its lock live. Two agents (or an agent and `faultline run`)
    /// cannot share one.
    #[arg(long, default_value = "/var/lib/faultline/agent", value_name = "DIR")]
    state_dir: PathBuf,

    /// File holding the bearer token callers must send on /v1/* (surrounding whitespace
    /// ignored). Required unless --tls-client-ca (mutual TLS) or --insecure-no-auth.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// Serve /v1/* without any authentication. Anyone who can reach --listen can then
    /// pause and kill processes on this node: for tests and single-user machines only.
    #[arg(long, conflicts_with = "token_file")]
    insecure_no_auth: bool,

    /// OTLP/HTTP base URL (e.g. http://otel-collector:4318; `/v1/traces` is appended) to
    /// export a span per fault call to, as protobuf. Falls back to
    /// OTEL_EXPORTER_OTLP_ENDPOINT; off when neither is set. OTEL_SERVICE_NAME (default
    /// faultline-agent), OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS apply.
    #[arg(long, value_name = "URL", env = "FAULTLINE_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,

    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key. Re-read
    /// when the file changes: a renewed certificate is served to new connections without
    /// a restart.
    #[arg(
        long,
        value_name = "FILE",
        env = "FAULTLINE_AGENT_TLS_CERT",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(
        long,
        value_name = "FILE",
        env = "FAULTLINE_AGENT_TLS_KEY",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,

    /// Require a client certificate signed by a CA of this file (PEM) from every caller,
    /// /healthz and /metrics included (mutual TLS); needs --tls-cert.
    #[arg(
        long,
        value_name = "FILE",
        env = "FAULTLINE_AGENT_TLS_CLIENT_CA",
        requires = "tls_cert"
    )]
    tls_client_ca: Option<PathBuf>,

    /// Log line format on stderr (level from RUST_LOG, default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

fn main() -> ExitCode {
    // A stress worker is this binary re-exec'ed; it never returns from here.
    faultline_agent::faults::stress::run_stress_worker_if_requested();
    let args = Args::parse();
    // ring is the build's only rustls provider (issue 27): the TLS listener and OTLP's
    // client take it from here.
    faultline_exporter::tls_provider::install();
    init_logging(args.log_format);
    match actix_web::rt::System::new().block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn auth(args: &Args) -> anyhow::Result<Auth> {
    match &args.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("failed to read token file {}", path.display()))?;
            Auth::token(&text).with_context(|| format!("token file {} is empty", path.display()))
        }
        // Mutual TLS authenticates every caller by its certificate: "token or mTLS".
        None if args.tls_client_ca.is_some() => {
            tracing::info!(
                "callers are authenticated by their client certificate (--tls-client-ca), no token"
            );
            Ok(Auth::Disabled)
        }
        None if args.insecure_no_auth => {
            tracing::warn!("serving /v1/* without authentication (--insecure-no-auth)");
            Ok(Auth::Disabled)
        }
        None => bail!(
            "no --token-file given; pass one, or --tls-client-ca to require client certificates, or --insecure-no-auth to serve the API to anyone"
        ),
    }
}

/// `--otlp-endpoint`, else the standard `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn otlp_endpoint(args: &Args) -> Option<String> {
    args.otlp_endpoint
        .clone()
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
        .filter(|e| !e.trim().is_empty())
}

/// The HTTPS settings, every file read now (an error names it); `None`: plain HTTP.
fn tls(args: &Args) -> anyhow::Result<Option<rustls::ServerConfig>> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    let settings = ServerTls {
        cert: cert.clone(),
        key: key.clone(),
        client_ca: args.tls_client_ca.clone(),
    };
    Ok(Some(settings.config().context("invalid TLS settings")?))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let auth = auth(&args)?;
    let tls = tls(&args)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Bind before recovering: a second agent on the same port fails here without
    // touching the journal of the first.
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let agent = Agent::open(&args.state_dir)
        .await
        .with_context(|| format!("failed to open state dir {}", args.state_dir.display()))?;
    let report = agent.startup_report();
    tracing::info!(listen = %args.listen, scheme, mutual_tls = args.tls_client_ca.is_some(), state_dir = %args.state_dir.display(),
        recovered = report.recovered.len(), failed = report.failed.len(), "agent ready");
    let export = match otlp_endpoint(&args) {
        Some(endpoint) => {
            let t = Tracing::start(&endpoint, "faultline-agent")
                .context("starting OTLP trace export")?;
            tracing::info!(
                endpoint = t.endpoint(),
                "exporting fault call spans over OTLP/HTTP"
            );
            Some(t)
        }
        None => None,
    };
    let server = daemon::serve_tls(
        agent.clone(),
        auth,
        listener,
        export.as_ref().map(AgentTracer::new),
        tls,
    )
    .context("failed to start the HTTP server")?;
    // Returns once actix has handled SIGTERM/SIGINT and drained requests in flight.
    server.await.context("HTTP server failed")?;
    if let Some(t) = export
        && let Err(e) = t.shutdown().await
    {
        tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "the last spans may not have been sent");
    }
    tracing::info!("stopping: recovering every active fault");
    let recovered = agent
        .shutdown()
        .await
        .context("failed to recover every fault on shutdown")?;
    tracing::info!(recovered = recovered.len(), "stopped");
    Ok(())
}
