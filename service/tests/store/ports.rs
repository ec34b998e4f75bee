//! Each store port's behaviour, one body run against SQLite and against PostgreSQL: a
//! replica on PostgreSQL must answer the application exactly as the embedded store does.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use faultline::application::ports::{
    AuditQuery, NewNotification, NotificationStatus, RunFilter, Storage, StoreError,
};
use faultline::domain::{
    ActiveFault, Actor, AuditAction, AuditOutcome, ExecutorRef, NewAudit, RunEvent, RunState,
};
use faultline::store::{PgSettings, PgStore, Store};

use super::database;

pub(super) fn go(to: RunState) -> RunEvent {
    RunEvent::StateChanged {
        to,
        reason: String::new(),
    }
}

fn note(m: &str) -> RunEvent {
    RunEvent::Note { message: m.into() }
}

/// A PostgreSQL store as replica `replica` of the database at `url`.
pub fn pg_store(url: &str, replica: &str, ttl: Duration) -> PgStore {
    PgStore::open(&PgSettings {
        url: url.to_string(),
        password_file: None,
        lease_ttl: ttl,
        replica: replica.to_string(),
    })
    .unwrap()
}

/// Runs `body` on an in-memory SQLite store, then on a fresh PostgreSQL database (when
/// PostgreSQL is installed; otherwise it says SKIPPED for that half).
pub(super) fn on_both(name: &str, body: impl Fn(&dyn Storage)) {
    body(&Store::open_in_memory().unwrap());
    if let Some((_pg, url)) = database(name) {
        let store = pg_store(&url, "replica-a", Duration::from_secs(5));
        body(&store);
    }
}

fn runs_and_events(s: &dyn Storage) {
    s.create_run_from("r1", "exp", "{}", None).unwrap();
    assert_eq!(s.record("r1", &go(RunState::CheckingBefore)).unwrap(), 1);
    let batch = [note("a"), go(RunState::Injecting), note("b")];
    assert_eq!(s.record_all("r1", &batch).unwrap(), 4);
    assert_eq!(s.run("r1").unwrap().state, RunState::Injecting);
    let seqs: Vec<u64> = s.events("r1").unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    // Only what is new: what a live view reads on each news.
    let after = s.events_after("r1", 2).unwrap();
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(after[1].event, note("b"));
    assert!(s.events_after("r1", 4).unwrap().is_empty());
    // An illegal transition spoils its whole batch.
    let bad = [note("c"), go(RunState::Pending)];
    let e = s.record_all("r1", &bad).unwrap_err();
    assert!(matches!(e, StoreError::IllegalTransition { .. }), "{e}");
    assert_eq!(s.events("r1").unwrap().len(), 4);
    assert!(matches!(
        s.record("nope", &go(RunState::Error)),
        Err(StoreError::NoSuchRun(_))
    ));
    assert!(matches!(s.run("nope"), Err(StoreError::NoSuchRun(_))));
    s.record("r1", &go(RunState::Error)).unwrap();
    let r = s.run("r1").unwrap();
    assert!(r.state.is_terminal() && r.finished_at.is_some());
    // Pages, filters.
    for i in 0..5 {
        let exp = if i % 2 == 0 { "even" } else { "odd" };
        s.create_run_from(&format!("p{i}"), exp, "{}", None)
            .unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let ids = |f: RunFilter<'_>| -> Vec<String> {
        s.find_runs(&f).unwrap().into_iter().map(|r| r.id).collect()
    };
    let all = ids(RunFilter {
        limit: 100,
        ..RunFilter::default()
    });
    assert_eq!(all.len(), 6);
    let page1 = ids(RunFilter {
        limit: 4,
        ..RunFilter::default()
    });
    let page2 = ids(RunFilter {
        limit: 4,
        before: page1.last().map(String::as_str),
        ..RunFilter::default()
    });
    assert_eq!([page1, page2].concat(), all, "pages cover every run once");
    let even = ids(RunFilter {
        experiment: Some("even"),
        limit: 100,
        ..RunFilter::default()
    });
    assert_eq!(even, ["p4", "p2", "p0"]);
    let errors = ids(RunFilter {
        state: Some(RunState::Error),
        limit: 100,
        ..RunFilter::default()
    });
    assert_eq!(errors, ["r1"]);
    assert_eq!(s.list_runs(2).unwrap().len(), 2);
}

fn catalog_and_halt(s: &dyn Storage) {
    assert!(s.put_experiment("b", "text-b", "api").unwrap());
    assert!(s.put_experiment("a", "text-a", "file").unwrap());
    assert!(
        !s.put_experiment("a", "text-a2", "api").unwrap(),
        "replaced"
    );
    assert_eq!(s.experiment("a").unwrap().unwrap().text, "text-a2");
    assert_eq!(s.experiment_names().unwrap(), ["a", "b"]);
    assert_eq!(s.list_experiments().unwrap().len(), 2);
    assert!(s.delete_experiment("b").unwrap());
    assert!(!s.delete_experiment("b").unwrap());
    assert_eq!(s.experiment("b").unwrap(), None);

    assert_eq!(s.halted().unwrap(), None);
    let h = s.halt("first", "admin").unwrap();
    assert_eq!(
        s.halt("second", "admin").unwrap().reason,
        "first",
        "first kept"
    );
    assert_eq!(s.halted().unwrap(), Some(h.clone()));
    assert_eq!(s.release_halt().unwrap(), Some(h));
    assert_eq!(s.release_halt().unwrap(), None);
}

fn deliveries(s: &dyn Storage) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(s.claim_delivery("u1", "Push Hook").await.unwrap(), None);
        let again = s.claim_delivery("u1", "Push Hook").await.unwrap().unwrap();
        assert_eq!(
            (again.event.as_str(), again.response.as_str()),
            ("Push Hook", "")
        );
        s.finish_delivery("u1", "{\"runs\":[]}".into())
            .await
            .unwrap();
        let again = s.claim_delivery("u1", "Push Hook").await.unwrap().unwrap();
        assert_eq!(again.response, "{\"runs\":[]}");
        assert_eq!(
            s.prune_deliveries(Utc::now() - chrono::Duration::hours(1))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            s.prune_deliveries(Utc::now() + chrono::Duration::seconds(1))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            s.claim_delivery("u1", "Push Hook").await.unwrap(),
            None,
            "pruned: new"
        );
    });
}

fn notifications(s: &dyn Storage) {
    s.create_run_from("n1", "exp", "{}", None).unwrap();
    let n = |route: &'static str| NewNotification {
        run: "n1",
        route,
        channel: "webhook",
        destination: "{}",
        verdict: RunState::Passed,
    };
    assert!(s.enqueue_notification(&n("a")).unwrap());
    assert!(s.enqueue_notification(&n("b")).unwrap());
    assert!(
        !s.enqueue_notification(&n("a")).unwrap(),
        "deduplicated per route"
    );
    let due = s.due_notifications(Utc::now()).unwrap();
    assert_eq!(
        due.iter().map(|r| r.route.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    s.notification_retry(
        due[0].id,
        1,
        Utc::now() + chrono::Duration::hours(1),
        "down",
    )
    .unwrap();
    s.notification_sent(due[1].id, 1).unwrap();
    let pending = s.pending_notifications().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].attempts, pending[0].last_error.as_str()),
        (1, "down")
    );
    s.notification_failed(due[0].id, 8, "gave up").unwrap();
    assert!(s.pending_notifications().unwrap().is_empty());
    let rows = s.notifications("n1").unwrap();
    assert_eq!(rows[0].status, NotificationStatus::Failed);
    assert_eq!(rows[1].status, NotificationStatus::Sent);
    assert!(rows[1].done_at.is_some());
}

fn active_faults_lifecycle(s: &dyn Storage) {
    s.create_run_from("f1", "exp", "{}", None).unwrap();
    let fault = ActiveFault {
        fault: "f1-a".into(),
        step: "pause".into(),
        kind: "processPause".into(),
        executor: ExecutorRef::InProcess,
        targets: vec!["pid 1".into()],
        expires: Utc::now(),
    };
    s.fault_started("f1", &fault).unwrap();
    s.fault_renewed("f1", "f1-a", Utc::now() + chrono::Duration::seconds(30))
        .unwrap();
    s.fault_renewed("f1", "f1-missing", Utc::now()).unwrap();
    s.fault_ended("f1", "f1-a").unwrap();
    s.fault_ended("f1", "f1-a").unwrap();
    // Nothing of a live run is anybody's to confirm recovered, and nothing was adopted.
    assert!(s.adopt_lapsed().unwrap().is_empty());
    assert!(s.leads("scheduler").unwrap());
}

fn audit_log(s: &dyn Storage) {
    let start = |who: &str, exp: &str| NewAudit::ok(Actor::token(who), AuditAction::RunStart, exp);
    let a = s.append_audit(&start("alice", "exp-a")).unwrap();
    let b = s
        .append_audit(&start("bob", "exp-b").ended(AuditOutcome::Refused, "halted"))
        .unwrap();
    let c = s.append_audit(&start("alice", "exp-c")).unwrap();
    assert!(
        a.id < b.id && b.id < c.id,
        "ids grow: {} {} {}",
        a.id,
        b.id,
        c.id
    );
    assert_eq!(b.reason, "halted");
    let page = |q: AuditQuery| s.find_audit(&AuditQuery { limit: 10, ..q }).unwrap();
    assert_eq!(
        page(AuditQuery::default()),
        [c.clone(), b.clone(), a.clone()]
    );
    let alice = page(AuditQuery {
        actor: Some("alice".into()),
        ..AuditQuery::default()
    });
    assert_eq!(alice, [c.clone(), a.clone()]);
    let refused = page(AuditQuery {
        outcome: Some(AuditOutcome::Refused),
        ..AuditQuery::default()
    });
    assert_eq!(refused, std::slice::from_ref(&b));
    // The next page starts after the previous page's last record.
    let older = page(AuditQuery {
        before: Some(b.id),
        ..AuditQuery::default()
    });
    assert_eq!(older, std::slice::from_ref(&a));
    let none = page(AuditQuery {
        since: Some(c.at + chrono::Duration::seconds(1)),
        ..AuditQuery::default()
    });
    assert!(none.is_empty(), "{none:?}");
}

#[test]
fn the_audit_log_behaves_alike() {
    on_both("ports_audit", audit_log);
}

#[test]
fn runs_and_events_behave_alike_on_sqlite_and_postgres() {
    on_both("ports_runs", runs_and_events);
}

#[test]
fn the_catalog_and_the_emergency_stop_behave_alike() {
    on_both("ports_catalog", catalog_and_halt);
}

#[test]
fn webhook_deliveries_behave_alike() {
    on_both("ports_deliveries", deliveries);
}

#[test]
fn the_notification_outbox_behaves_alike() {
    on_both("ports_outbox", notifications);
}

#[test]
fn active_faults_and_leases_behave_alike_for_a_live_run() {
    on_both("ports_active", active_faults_lifecycle);
}

/// The ports are called from async tasks as well as threads: a PostgreSQL store works
/// from a current-thread runtime's task (its queries run on its own runtime).
#[tokio::test]
async fn the_postgres_store_answers_from_inside_a_current_thread_runtime() {
    let Some((_pg, url)) = database("ports_async") else {
        return;
    };
    let store: Arc<dyn Storage> = Arc::new(pg_store(&url, "replica-a", Duration::from_secs(5)));
    store.create_run_from("r1", "exp", "{}", None).unwrap();
    let s = store.clone();
    tokio::spawn(async move { s.record("r1", &note("from a task")).unwrap() })
        .await
        .unwrap();
    assert_eq!(store.events("r1").unwrap().len(), 1);
    drop(store); // dropping inside a runtime must not panic
}

fn spent_tokens(s: &dyn Storage) {
    assert!(s.spend_token("jti-1", 100, 10).unwrap());
    assert!(
        !s.spend_token("jti-1", 100, 50).unwrap(),
        "spent, not expired"
    );
    assert!(s.spend_token("jti-2", 200, 50).unwrap(), "another jti");
    assert!(
        s.spend_token("jti-1", 300, 150).unwrap(),
        "jti-1's token expired at 100: its row was pruned"
    );
    assert_eq!(s.spent_tokens(150).unwrap(), 2, "jti-1 (again) and jti-2");
    assert_eq!(s.spent_tokens(250).unwrap(), 1, "jti-2 expired at 200");
}

#[test]
fn spent_id_tokens_behave_alike() {
    on_both("spent_alike", spent_tokens);
}

fn signed_in(subject: &str, expires: i64) -> faultline::application::sso::Session {
    faultline::application::sso::Session {
        person: faultline::application::sso::Person {
            subject: subject.into(),
            display: format!("{subject}-name"),
            email: Some(format!("{subject}@example.test")),
        },
        role: faultline::application::identity::Role::Operator,
        expires,
        id_token: format!("id-token-of-{subject}"),
    }
}

fn sessions(s: &dyn Storage) {
    let alice = signed_in("alice", 100);
    s.put_session("cookie-a", &alice, 0).unwrap();
    assert_eq!(s.session("cookie-a", 99).unwrap(), Some(alice.clone()));
    assert_eq!(s.session("cookie-a", 100).unwrap(), None, "expired");
    assert_eq!(s.session("cookie-b", 0).unwrap(), None, "another id");
    // A put after alice's expiry prunes her row: she is gone even to a reader whose
    // clock lags.
    let bob = signed_in("bob", 500);
    s.put_session("cookie-b", &bob, 150).unwrap();
    assert_eq!(s.session("cookie-a", 0).unwrap(), None, "pruned on put");
    assert_eq!(s.session("cookie-b", 150).unwrap(), Some(bob.clone()));
    // Sign-out: the session it was, then nothing.
    assert_eq!(s.drop_session("cookie-b").unwrap(), Some(bob));
    assert_eq!(s.drop_session("cookie-b").unwrap(), None);
    assert_eq!(s.session("cookie-b", 150).unwrap(), None, "dropped");
}

#[test]
fn sessions_behave_alike() {
    on_both("ports_sessions", sessions);
}

fn logins(s: &dyn Storage) {
    use faultline::application::ports::MAX_PENDING_LOGINS;
    use faultline::application::sso::PendingLogin;
    let login = |n: i64| PendingLogin {
        nonce: format!("nonce-{n}"),
        verifier: format!("verifier-{n}"),
        expires: 600 + n,
    };
    s.put_login("state-1", &login(1), 0).unwrap();
    assert_eq!(s.take_login("state-2", 0).unwrap(), None, "another state");
    assert_eq!(s.take_login("state-1", 0).unwrap(), Some(login(1)));
    assert_eq!(s.take_login("state-1", 0).unwrap(), None, "one use");
    s.put_login("late", &login(0), 0).unwrap();
    assert_eq!(s.take_login("late", 600).unwrap(), None, "expired");
    // A flood of logins keeps the table bounded: the soonest to expire go first.
    for n in 0..=MAX_PENDING_LOGINS {
        s.put_login(&format!("flood-{n}"), &login(n), 0).unwrap();
    }
    assert_eq!(s.take_login("flood-0", 0).unwrap(), None, "forgotten");
    assert_eq!(s.take_login("flood-1", 0).unwrap(), Some(login(1)));
}

#[test]
fn sign_ins_in_flight_behave_alike() {
    on_both("ports_logins", logins);
}
