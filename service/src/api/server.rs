//! The service process around the API: open the store (ending runs a previous process
//! left unfinished), build the App, serve it, and on a stop signal abort every live run,
//! wait for their faults to be recovered, then stop.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, Service as _};
use actix_web::{App, HttpServer, web};
use faultline_agent::tls::listen_https;
use faultline_exporter::ServiceMetrics;

use super::auth::Auth;
use super::deadline;
use super::state::ApiState;
use crate::application::engine::inject::Injector;
use crate::application::engine::runner::RunOptions;
use crate::application::live::LiveRuns;
use crate::application::ports::{Storage, StoreError};

/// The reason given to runs a previous process left non-terminal.
pub const INTERRUPTED: &str = "service restarted mid-run";

/// How long a stop waits for aborted runs to recover their faults.
pub const STOP_GRACE: Duration = Duration::from_secs(60);

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Serving on a non-loopback address without authentication was asked for.
    #[error(
        "refusing to serve {0} without authentication: it is not a loopback address; pass --tokens-file, or listen on 127.0.0.1"
    )]
    InsecureBind(SocketAddr),
    /// The service's metric families could not be registered.
    #[error("failed to register the service metrics")]
    Metrics(#[source] prometheus::Error),
    /// Ending interrupted runs failed.
    #[error("failed to end runs interrupted by a restart")]
    Interrupted(#[source] StoreError),
    /// The HTTP server could not start or failed.
    #[error("HTTP server on {addr} failed")]
    Http {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Refuses `--insecure-no-auth` on an address other machines can reach.
pub fn check_bind(addr: SocketAddr, auth: &Auth) -> Result<(), ServeError> {
    if matches!(auth, Auth::Disabled) && !addr.ip().is_loopback() {
        return Err(ServeError::InsecureBind(addr));
    }
    Ok(())
}

/// A ready service: store opened, interrupted runs ended, live-run registry made.
pub struct Service {
    /// Shared with every handler.
    pub state: web::Data<ApiState>,
    /// Who may call.
    pub auth: Auth,
    /// The ids of runs a previous process left unfinished, now `error`.
    pub interrupted: Vec<String>,
}

impl Service {
    /// Ends what a previous process left running (`error`, [`INTERRUPTED`]) and prepares
    /// the registry. Must be called inside the tokio runtime runs will be spawned on.
    pub fn open(
        store: Arc<dyn Storage>,
        injector: Injector,
        opts: RunOptions,
        auth: Auth,
    ) -> Result<Service, ServeError> {
        let interrupted = store
            .fail_interrupted(INTERRUPTED)
            .map_err(ServeError::Interrupted)?;
        for id in &interrupted {
            tracing::warn!(run = %id, "run was interrupted by a restart; marked error");
        }
        let metrics =
            Arc::new(ServiceMetrics::new(env!("CARGO_PKG_VERSION")).map_err(ServeError::Metrics)?);
        let live = Arc::new(LiveRuns::new(
            store.clone(),
            injector,
            opts,
            metrics.clone(),
        ));
        Ok(Service {
            state: web::Data::new(ApiState::new(store, live, metrics)),
            auth,
            interrupted,
        })
    }

    /// The live runs.
    pub fn live(&self) -> &Arc<LiveRuns> {
        &self.state.live
    }

    /// Starts serving on `listener`. Signals are left to [`Service::run_until`]'s caller.
    pub fn bind(&self, listener: TcpListener) -> Result<Server, ServeError> {
        self.bind_tls(listener, None)
    }

    /// As [`Service::bind`], over HTTPS when `tls` is given (`faultline serve --tls-cert`).
    pub fn bind_tls(
        &self,
        listener: TcpListener,
        tls: Option<rustls::ServerConfig>,
    ) -> Result<Server, ServeError> {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let state = self.state.clone();
        let auth = web::Data::new(self.auth.clone());
        let make_app = move || {
            App::new()
                .app_data(state.clone())
                .app_data(auth.clone())
                .wrap_fn(|mut req, srv| {
                    let metrics = req
                        .app_data::<web::Data<ApiState>>()
                        .map(|s| s.metrics.clone());
                    let missed = deadline::limit_body(&mut req);
                    let fut = srv.call(req);
                    async move {
                        let res = deadline::answer(fut.await?.map_into_boxed_body(), &missed);
                        if let Some(m) = metrics {
                            let route = res
                                .request()
                                .match_pattern()
                                .unwrap_or_else(|| "unmatched".into());
                            m.api_request(&route, res.status().as_u16());
                        }
                        Ok(res)
                    }
                })
                .configure(super::routes::configure)
        };
        let failed = |source| ServeError::Http {
            addr: addr.clone(),
            source,
        };
        let server = match tls {
            None => HttpServer::new(make_app)
                .workers(2)
                .disable_signals()
                .shutdown_timeout(5)
                .listen(listener)
                .map_err(failed)?
                .run(),
            // Plain HTTP to the TLS port gets a 400 in words (faultline_agent::tls).
            Some(config) => listen_https(
                actix_server::Server::build()
                    .workers(2)
                    .disable_signals()
                    .shutdown_timeout(5),
                listener,
                config,
                make_app,
            )
            .map_err(failed)?,
        };
        Ok(server)
    }

    /// Serves until `stop` resolves (with the reason, e.g. "terminated (SIGTERM)"), then
    /// aborts every live run with that reason, waits up to [`STOP_GRACE`] for them to
    /// recover their faults and reach a verdict, and stops the server.
    pub async fn run_until(
        &self,
        server: Server,
        stop: impl Future<Output = String>,
    ) -> Result<(), ServeError> {
        let handle = server.handle();
        let mut server = std::pin::pin!(server);
        let reason = tokio::select! {
            r = &mut server => {
                return r.map_err(|source| ServeError::Http { addr: String::new(), source });
            }
            reason = stop => reason,
        };
        // The server future drives actix's command loop: it must be polled while the runs
        // wind down and while `stop` is answered, or the stop never completes.
        let wind_down = async {
            tracing::info!(%reason, live_runs = self.live().len(), "stopping: aborting live runs");
            self.live().abort_all(&reason);
            if !self.live().wait_idle(STOP_GRACE).await {
                tracing::error!(
                    "runs still live after the grace period; their faults recover when their leases lapse"
                );
            }
            handle.stop(true).await;
        };
        let ((), served) = tokio::join!(wind_down, &mut server);
        served.map_err(|source| ServeError::Http {
            addr: String::new(),
            source,
        })
    }
}
