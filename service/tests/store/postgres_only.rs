//! What only several replicas on one PostgreSQL database have: run leases, fencing by
//! generation, adoption of a lost replica's runs, work claimed by exactly one replica,
//! migrations run once, and a store that survives the database restarting.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use faultline::application::ports::{
    AuditLog, NewNotification, NotificationQueue, RunLeases, RunStore, Storage, StoreError,
};
use faultline::domain::{
    ActiveFault, Actor, AuditAction, ExecutorRef, NewAudit, RunEvent, RunState,
};

use super::database;
use super::ports::pg_store;
use faultline::store::Store;

const TTL: Duration = Duration::from_secs(2);

fn note(m: &str) -> RunEvent {
    RunEvent::Note { message: m.into() }
}

fn active(id: &str) -> ActiveFault {
    ActiveFault {
        fault: id.into(),
        step: "pause".into(),
        kind: "processPause".into(),
        executor: ExecutorRef::InProcess,
        targets: vec!["pid 1".into()],
        expires: Utc::now(),
    }
}

#[test]
fn a_lapsed_run_is_adopted_once_and_its_old_owner_is_fenced_out() {
    let Some((pg, url)) = database("lease_fence") else {
        return;
    };
    // a renews its leases every third of its own TTL: a long one leaves a's heartbeat
    // quiet while the test makes its lease lapse below, as a paused replica's would be.
    let a = pg_store(&url, "replica-a", Duration::from_secs(60));
    let b = pg_store(&url, "replica-b", TTL);
    let c = pg_store(&url, "replica-c", TTL);
    a.create_run_from("r1", "exp", "{}", None).unwrap();
    a.record("r1", &note("driven by a")).unwrap();
    a.fault_started("r1", &active("r1-f1")).unwrap();
    // A live lease is not adopted, and nobody else may write.
    assert!(b.adopt_lapsed().unwrap().is_empty(), "a's lease is live");
    assert!(matches!(
        b.record("r1", &note("b")),
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(
        b.active_faults().unwrap().is_empty(),
        "a live replica's faults are its own"
    );

    // a is paused past its lease (as if its heartbeat stopped): the lease lapses.
    pg.psql(
        "lease_fence",
        "UPDATE runs SET lease_until = now() - interval '1 second' WHERE id = 'r1'",
    );
    let gen_before = pg.psql("lease_fence", "SELECT generation FROM runs WHERE id = 'r1'");
    // Two replicas adopting at once: exactly one gets the run.
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| b.adopt_lapsed().unwrap());
        let y = s.spawn(|| c.adopt_lapsed().unwrap());
        (x.join().unwrap(), y.join().unwrap())
    });
    assert_eq!(x.len() + y.len(), 1, "adopted once: b {x:?}, c {y:?}");
    let (adopter, other) = if x.len() == 1 { (&b, &c) } else { (&c, &b) };
    let gen_after = pg.psql("lease_fence", "SELECT generation FROM runs WHERE id = 'r1'");
    assert_eq!(
        gen_after.parse::<i64>().unwrap(),
        gen_before.parse::<i64>().unwrap() + 1,
        "adoption bumps the generation"
    );
    // The old owner comes back: every write it tries is refused, nothing lands.
    let events = adopter.events("r1").unwrap().len();
    for result in [
        a.record("r1", &note("a is back")).map(|_| ()),
        a.fault_ended("r1", "r1-f1"),
        a.fault_renewed("r1", "r1-f1", Utc::now()),
    ] {
        assert!(
            matches!(result, Err(StoreError::LeaseLost { .. })),
            "{result:?}"
        );
    }
    assert!(matches!(
        other.record("r1", &note("x")),
        Err(StoreError::LeaseLost { .. })
    ));
    assert_eq!(
        adopter.events("r1").unwrap().len(),
        events,
        "nothing written by the fenced"
    );
    // The adopter sees the run's active fault, and ends the run.
    let faults = adopter.active_faults().unwrap();
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].1.fault, "r1-f1");
    adopter.fault_ended("r1", "r1-f1").unwrap();
    assert_eq!(adopter.fail_interrupted("replica lost").unwrap(), ["r1"]);
    let run = adopter.run("r1").unwrap();
    assert_eq!(
        (run.state, run.reason.as_str()),
        (RunState::Error, "replica lost")
    );
    assert!(adopter.fail_interrupted("again").unwrap().is_empty());
}

#[test]
fn a_webhook_delivery_sent_to_two_replicas_at_once_is_claimed_by_one() {
    let Some((_pg, url)) = database("deliveries_race") else {
        return;
    };
    let a: Arc<dyn Storage> = Arc::new(pg_store(&url, "replica-a", TTL));
    let b: Arc<dyn Storage> = Arc::new(pg_store(&url, "replica-b", TTL));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for i in 0..50 {
            let uuid = format!("delivery-{i}");
            let (x, y) = tokio::join!(
                a.claim_delivery(&uuid, "Merge Request Hook"),
                b.claim_delivery(&uuid, "Merge Request Hook")
            );
            let firsts = [x.unwrap(), y.unwrap()]
                .iter()
                .filter(|d| d.is_none())
                .count();
            assert_eq!(firsts, 1, "delivery {i}: exactly one replica handles it");
        }
    });
}

#[test]
fn due_notifications_are_claimed_by_one_replica_each() {
    let Some((_pg, url)) = database("outbox_claims") else {
        return;
    };
    let a = pg_store(&url, "replica-a", TTL);
    let b = pg_store(&url, "replica-b", TTL);
    for i in 0..40 {
        let run = format!("r{i}");
        a.create_run_from(&run, "exp", "{}", None).unwrap();
        for route in ["slack", "gitlab"] {
            a.enqueue_notification(&NewNotification {
                run: &run,
                route,
                channel: route,
                destination: "{}",
                verdict: RunState::Passed,
            })
            .unwrap();
        }
    }
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| {
            let mut got = Vec::new();
            for _ in 0..5 {
                got.extend(
                    a.due_notifications(Utc::now())
                        .unwrap()
                        .into_iter()
                        .map(|r| r.id),
                );
            }
            got
        });
        let y = s.spawn(|| {
            let mut got = Vec::new();
            for _ in 0..5 {
                got.extend(
                    b.due_notifications(Utc::now())
                        .unwrap()
                        .into_iter()
                        .map(|r| r.id),
                );
            }
            got
        });
        (x.join().unwrap(), y.join().unwrap())
    });
    let mut all: Vec<i64> = x.iter().chain(&y).copied().collect();
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    assert_eq!(n, 80, "every due notification claimed");
    assert_eq!(
        all.len(),
        80,
        "none claimed twice (a {}, b {})",
        x.len(),
        y.len()
    );
}

#[test]
fn one_replica_leads_a_chore_until_its_lease_lapses() {
    let Some((pg, url)) = database("chores") else {
        return;
    };
    let a = pg_store(&url, "replica-a", TTL);
    let b = pg_store(&url, "replica-b", TTL);
    assert!(a.leads("scheduler").unwrap());
    assert!(!b.leads("scheduler").unwrap());
    assert!(a.leads("scheduler").unwrap(), "renewed by its holder");
    assert!(b.leads("other-chore").unwrap(), "each chore its own lease");
    pg.psql(
        "chores",
        "UPDATE chore_leases SET until = now() - interval '1 second' WHERE name = 'scheduler'",
    );
    assert!(b.leads("scheduler").unwrap(), "taken over once lapsed");
    assert!(!a.leads("scheduler").unwrap());
}

#[test]
fn replicas_starting_at_once_migrate_the_database_once() {
    let Some((pg, url)) = database("migrate_once") else {
        return;
    };
    let stores: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let url = url.clone();
                s.spawn(move || pg_store(&url, &format!("replica-{i}"), TTL))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        pg.psql("migrate_once", "SELECT version FROM faultline_schema"),
        faultline::store::postgres::SCHEMA_VERSION.to_string(),
        "every migration ran"
    );
    assert_eq!(
        pg.psql("migrate_once", "SELECT count(*) FROM faultline_schema"),
        "1"
    );
    stores[0].create_run_from("r1", "exp", "{}", None).unwrap();
    assert_eq!(stores[3].run("r1").unwrap().experiment, "exp");
}

#[test]
fn a_database_restart_fails_calls_with_an_error_then_the_store_goes_on() {
    let Some((pg, url)) = database("restart") else {
        return;
    };
    let a = pg_store(&url, "replica-a", Duration::from_secs(30));
    a.create_run_from("r1", "exp", "{}", None).unwrap();
    a.record("r1", &note("before")).unwrap();
    pg.stop();
    let e = a.record("r1", &note("while down")).unwrap_err();
    assert!(matches!(e, StoreError::Database { .. }), "{e}");
    pg.start();
    // The pool drops the dead connections and opens new ones.
    let mut ok = false;
    for _ in 0..20 {
        if a.record("r1", &note("after")).is_ok() {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ok, "the store never came back after the database restarted");
    let notes: Vec<String> = a
        .events("r1")
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            RunEvent::Note { message } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(
        notes,
        ["before", "after"],
        "nothing half-written while it was down"
    );
}

/// A live view on one replica wakes when another replica records an event: the signal
/// comes from PostgreSQL's NOTIFY (a store without it would answer `None`, and the view
/// would have to poll).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_hears_of_events_another_replica_records() {
    let Some((_pg, url)) = database("event_news") else {
        return;
    };
    let a = pg_store(&url, "replica-a", TTL);
    let b = pg_store(&url, "replica-b", TTL);
    a.create_run_from("r1", "exp", "{}", None).unwrap();
    let mut news = b.watch_events("r1").expect("PostgreSQL signals events");
    let other = b.watch_events("r2").unwrap();
    // The LISTEN connection is made in the background: record until b has heard.
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            a.record("r1", &note("tick")).unwrap();
            if tokio::time::timeout(Duration::from_millis(200), news.changed())
                .await
                .is_ok()
            {
                return;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "replica b never heard of replica a's events");
    assert!(
        !other.has_changed().unwrap(),
        "news of r1 woke a view of r2"
    );
    assert!(!b.events_after("r1", 0).unwrap().is_empty());
    assert!(
        Store::open_in_memory()
            .unwrap()
            .watch_events("r1")
            .is_none()
    );
}

/// Appends racing for one run (a run's driver and an abort, say) each take their own
/// seqs, with no gap: the seq comes from the run's row, read once the append holds it.
/// A run whose events an older faultline appended (the row's count behind) goes on after
/// them.
#[test]
fn appends_racing_for_one_run_get_one_seq_each() {
    let Some((pg, url)) = database("append_race") else {
        return;
    };
    let a = pg_store(&url, "replica-a", TTL);
    a.create_run_from("r1", "exp", "{}", None).unwrap();
    let mut seqs: Vec<u64> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let a = &a;
                s.spawn(move || {
                    (0..25)
                        .map(|i| a.record("r1", &note(&format!("w{w} e{i}"))).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=100).collect::<Vec<u64>>());
    let stored: Vec<u64> = a.events("r1").unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(stored, (1..=100).collect::<Vec<u64>>());

    pg.psql(
        "append_race",
        "UPDATE runs SET last_seq = 90 WHERE id = 'r1'",
    );
    assert_eq!(
        a.record("r1", &note("after an older faultline")).unwrap(),
        101
    );
}

/// The heartbeat keeps a live replica's lease: past several TTLs, nobody can adopt its run.
#[test]
fn a_live_replicas_heartbeat_keeps_its_runs() {
    let Some((_pg, url)) = database("heartbeat") else {
        return;
    };
    let a = pg_store(&url, "replica-a", TTL);
    let b = pg_store(&url, "replica-b", TTL);
    a.create_run_from("r1", "exp", "{}", None).unwrap();
    for _ in 0..3 {
        std::thread::sleep(TTL);
        assert!(
            b.adopt_lapsed().unwrap().is_empty(),
            "adopted a live replica's run"
        );
    }
    a.record("r1", &note("still mine")).unwrap();
}

#[test]
fn the_database_refuses_to_change_or_delete_an_audit_record() {
    let Some((pg, url)) = database("audit_append_only") else {
        return;
    };
    let store = pg_store(&url, "replica-a", TTL);
    store
        .append_audit(&NewAudit::ok(
            Actor::token("alice"),
            AuditAction::RunStart,
            "exp",
        ))
        .unwrap();
    for sql in ["UPDATE audit SET reason = 'x'", "DELETE FROM audit"] {
        let e = pg.try_psql("audit_append_only", sql).unwrap_err();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    assert_eq!(
        pg.psql(
            "audit_append_only",
            "SELECT count(*) FROM audit WHERE reason = ''"
        ),
        "1"
    );
}
