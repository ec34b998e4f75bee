//! The store as the application sees it: each port forwards to the SQLite store's own
//! method of the same name, so the store keeps one plain API (its tests and benches call
//! it directly) and the application depends on the traits alone.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::sqlite::Store;
use crate::application::ports::{
    AbortRequest, AbortRequested, AuditLog, AuditQuery, CatalogStore, Delivery, DeliveryLog,
    ExperimentRow, Halt, HaltStore, NewNotification, NotificationQueue, NotificationRow,
    RemoteAborts, RunFilter, RunLeases, RunStore, StoreError, VerdictPoint,
};
use crate::domain::{
    ActiveFault, AuditRecord, GitlabContext, NewAudit, RunEvent, RunRow, StoredEvent,
};

impl RunStore for Store {
    fn create_run_from(
        &self,
        id: &str,
        experiment: &str,
        spec_json: &str,
        gitlab: Option<&GitlabContext>,
    ) -> Result<(), StoreError> {
        Store::create_run_from(self, id, experiment, spec_json, gitlab)
    }

    fn run(&self, id: &str) -> Result<RunRow, StoreError> {
        Store::run(self, id)
    }

    fn list_runs(&self, limit: u32) -> Result<Vec<RunRow>, StoreError> {
        Store::list_runs(self, limit)
    }

    fn find_runs(&self, filter: &RunFilter<'_>) -> Result<Vec<RunRow>, StoreError> {
        Store::find_runs(self, filter)
    }

    fn verdict_trends(&self, last: u32) -> Result<Vec<VerdictPoint>, StoreError> {
        Store::verdict_trends(self, last)
    }

    fn events(&self, run: &str) -> Result<Vec<StoredEvent>, StoreError> {
        Store::events(self, run)
    }

    fn events_after(&self, run: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
        Store::events_after(self, run, after)
    }

    fn record(&self, run: &str, event: &RunEvent) -> Result<u64, StoreError> {
        Store::record(self, run, event)
    }

    fn record_all(&self, run: &str, events: &[RunEvent]) -> Result<u64, StoreError> {
        Store::record_all(self, run, events)
    }

    fn fail_interrupted(&self, reason: &str) -> Result<Vec<String>, StoreError> {
        Store::fail_interrupted(self, reason)
    }

    fn fault_started(&self, run: &str, fault: &ActiveFault) -> Result<(), StoreError> {
        Store::fault_started(self, run, fault)
    }

    fn fault_renewed(
        &self,
        run: &str,
        fault: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Store::fault_renewed(self, run, fault, expires)
    }

    fn fault_ended(&self, run: &str, fault: &str) -> Result<(), StoreError> {
        Store::fault_ended(self, run, fault)
    }

    fn active_faults(&self) -> Result<Vec<(String, ActiveFault)>, StoreError> {
        Store::active_faults(self)
    }
}

impl CatalogStore for Store {
    fn put_experiment(&self, name: &str, text: &str, source: &str) -> Result<bool, StoreError> {
        Store::put_experiment(self, name, text, source)
    }

    fn experiment(&self, name: &str) -> Result<Option<ExperimentRow>, StoreError> {
        Store::experiment(self, name)
    }

    fn list_experiments(&self) -> Result<Vec<ExperimentRow>, StoreError> {
        Store::list_experiments(self)
    }

    fn experiment_names(&self) -> Result<Vec<String>, StoreError> {
        Store::experiment_names(self)
    }

    fn delete_experiment(&self, name: &str) -> Result<bool, StoreError> {
        Store::delete_experiment(self, name)
    }
}

impl HaltStore for Store {
    fn halt(&self, reason: &str, actor: &str) -> Result<Halt, StoreError> {
        Store::halt(self, reason, actor)
    }

    fn release_halt(&self) -> Result<Option<Halt>, StoreError> {
        Store::release_halt(self)
    }

    fn halted(&self) -> Result<Option<Halt>, StoreError> {
        Store::halted(self)
    }
}

impl DeliveryLog for Store {
    fn claim_delivery(
        &self,
        uuid: &str,
        event: &str,
    ) -> BoxFuture<'static, Result<Option<Delivery>, StoreError>> {
        // Queued here, as the store's own method does; the box only carries the answer.
        Box::pin(Store::claim_delivery(self, uuid, event))
    }

    fn finish_delivery(
        &self,
        uuid: &str,
        response: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(Store::finish_delivery(self, uuid, response))
    }

    fn prune_deliveries(
        &self,
        before: DateTime<Utc>,
    ) -> BoxFuture<'static, Result<usize, StoreError>> {
        Box::pin(Store::prune_deliveries(self, before))
    }
}

impl NotificationQueue for Store {
    fn enqueue_notification(&self, n: &NewNotification<'_>) -> Result<bool, StoreError> {
        Store::enqueue_notification(self, n)
    }

    fn due_notifications(&self, now: DateTime<Utc>) -> Result<Vec<NotificationRow>, StoreError> {
        Store::due_notifications(self, now)
    }

    fn pending_notifications(&self) -> Result<Vec<NotificationRow>, StoreError> {
        Store::pending_notifications(self)
    }

    fn notifications(&self, run: &str) -> Result<Vec<NotificationRow>, StoreError> {
        Store::notifications(self, run)
    }

    fn notification_sent(&self, id: i64, attempts: u32) -> Result<(), StoreError> {
        Store::notification_sent(self, id, attempts)
    }

    fn notification_failed(&self, id: i64, attempts: u32, error: &str) -> Result<(), StoreError> {
        Store::notification_failed(self, id, attempts, error)
    }

    fn notification_retry(
        &self,
        id: i64,
        attempts: u32,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        Store::notification_retry(self, id, attempts, next_at, error)
    }
}

impl AuditLog for Store {
    fn append_audit(&self, record: &NewAudit) -> Result<AuditRecord, StoreError> {
        Store::append_audit(self, record)
    }

    fn find_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        Store::find_audit(self, query)
    }
}

/// One process owns the SQLite file: no other replica's runs to adopt, no chore to share.
impl RunLeases for Store {
    fn adopt_lapsed(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    fn leads(&self, _chore: &str) -> Result<bool, StoreError> {
        Ok(true)
    }
}

/// One process owns the SQLite file: a run not live in it is driven by no one else.
impl RemoteAborts for Store {
    fn request_abort(
        &self,
        _run: &str,
        _reason: &str,
        _actor: &str,
    ) -> Result<AbortRequested, StoreError> {
        Ok(AbortRequested::NotShared)
    }

    fn take_abort_requests(&self) -> Result<Vec<AbortRequest>, StoreError> {
        Ok(Vec::new())
    }
}
