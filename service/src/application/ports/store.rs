//! [`Storage`]: everything the service keeps (runs, the catalog, the emergency stop,
//! webhook deliveries, the notification outbox, the audit log, people's sessions and sign-ins in flight) in one handle. Each part is its own small
//! port; code that needs one part takes that part.

use super::audit_log::AuditLog;
use super::catalog_store::{CatalogStore, HaltStore};
use super::deliveries::DeliveryLog;
use super::leases::RunLeases;
use super::logins::LoginStore;
use super::notifications::NotificationQueue;
use super::remote_abort::RemoteAborts;
use super::run_store::RunStore;
use super::sessions::SessionStore;
use super::spent_tokens::SpentTokens;

/// Everything the service stores, as one handle (`store::Store` on SQLite and
/// `store::PgStore` on PostgreSQL): the HTTP API, the live runs and the notification outbox each use
/// several parts of it.
pub trait Storage:
    RunStore
    + CatalogStore
    + HaltStore
    + DeliveryLog
    + NotificationQueue
    + AuditLog
    + RunLeases
    + RemoteAborts
    + SpentTokens
    + SessionStore
    + LoginStore
{
}

impl<T> Storage for T where
    T: RunStore
        + CatalogStore
        + HaltStore
        + DeliveryLog
        + NotificationQueue
        + AuditLog
        + RunLeases
        + RemoteAborts
        + SpentTokens
        + SessionStore
        + LoginStore
{
}
