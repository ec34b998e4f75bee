//! Opening the PostgreSQL store: the URL and password file, the pool and its runtime,
//! the migrations, and the background tasks (lease heartbeat, event news).

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::config::Host;

use super::connect::{Inner, OpenError, PgSettings, PgStore};
use super::lease::heartbeat;
use super::listen::{Watchers, listen};
use super::schema::migrate;
use super::tls::PgTls;

impl PgStore {
    /// Connects, migrates (once across replicas) and starts the lease heartbeat.
    pub fn open(settings: &PgSettings) -> Result<PgStore, OpenError> {
        // libpq's TLS keys first: tokio-postgres refuses three of the four.
        let (url, tls) = PgTls::split(&settings.url)?;
        let mut config = tokio_postgres::Config::from_str(&url).map_err(OpenError::Url)?;
        let over_unix_socket = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)));
        config.ssl_mode(tls.wire_mode(over_unix_socket)?);
        let connector = tls.connector()?;
        if let Some(path) = &settings.password_file {
            let password =
                std::fs::read_to_string(path).map_err(|source| OpenError::PasswordFile {
                    path: path.clone(),
                    source,
                })?;
            config.password(password.trim_end_matches(['\r', '\n']));
        }
        config.connect_timeout(Duration::from_secs(5));
        config.application_name(format!("faultline {}", settings.replica));
        let listen_config = config.clone();
        let manager = Manager::from_config(
            config,
            connector.clone(),
            // Verified: a pooled connection is tried with an empty query before it is
            // handed out. After a database restart the pool still holds connections the
            // server closed, and Fast hands one out until its task has seen the close —
            // the next BEGIN failed ("store begin failed") and ended a run that a 1.5 s
            // restart should not end. One round trip per call buys that.
            ManagerConfig {
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("faultline-pg")
            .enable_all()
            .build()
            .map_err(|e| OpenError::Setup(e.to_string()))?;
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            // A database that does not answer fails a call in seconds, not never: the
            // engine records the error and the run ends, or readiness reports it.
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| OpenError::Setup(e.to_string()))?;
        let store = PgStore {
            inner: Arc::new(Inner {
                pool,
                replica: settings.replica.clone(),
                ttl: settings.lease_ttl,
                held: Mutex::new(HashMap::new()),
                adopted: Mutex::new(BTreeSet::new()),
                watchers: Arc::new(Watchers::default()),
            }),
            rt: Some(rt),
        };
        store.call(|inner| async move { migrate(&inner).await })?;
        store.spawn(heartbeat(store.inner.clone()));
        store.spawn(listen(
            listen_config,
            connector,
            store.inner.watchers.clone(),
        ));
        Ok(store)
    }
}
