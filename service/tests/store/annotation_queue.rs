//! The Grafana annotation queue replicas share on PostgreSQL, at the port: each operation
//! is claimed by one replica, a run's operations go out in order (a patch waits for its
//! create, whose Grafana id every replica then reads), a lapsed claim is taken over, and a
//! replica that lost its claim learns so.

use std::time::Duration;

use faultline::application::ports::AnnotationQueue;

use super::database;
use super::ports::pg_store;

#[test]
fn operations_are_claimed_once_and_in_their_runs_order() {
    let Some((_pg, url)) = database("annotation_queue") else {
        return;
    };
    let a = pg_store(&url, "replica-a", Duration::from_secs(5));
    let b = pg_store(&url, "replica-b", Duration::from_secs(5));
    let hold = Duration::from_secs(30);
    a.push_annotation("r1", "r1/f", "create r1").unwrap();
    a.push_annotation("r1", "r1/f", "patch r1").unwrap();
    a.push_annotation("r2", "r2/f", "create r2").unwrap();
    assert_eq!(a.annotations_waiting().unwrap(), 3);

    let first = a.claim_annotation(hold).unwrap().expect("r1's create");
    assert_eq!(first.op, "create r1");
    let other = b.claim_annotation(hold).unwrap().expect("r2's create");
    assert_eq!(
        other.op, "create r2",
        "b skipped what a holds and r1's patch"
    );
    assert_eq!(
        b.claim_annotation(hold).unwrap(),
        None,
        "the patch waits for its create"
    );

    a.annotation_done(first.seq, Some(7)).unwrap();
    let patch = b
        .claim_annotation(hold)
        .unwrap()
        .expect("r1's patch, now due");
    assert_eq!(patch.op, "patch r1");
    assert_eq!(
        b.annotation_id("r1/f").unwrap(),
        Some(7),
        "a's create, read by b"
    );
    assert!(b.hold_annotation(patch.seq, hold).unwrap());
    assert!(
        !a.hold_annotation(patch.seq, hold).unwrap(),
        "a never held it"
    );

    // b "dies" holding r2's create with a short hold: a takes it over once it lapses.
    b.annotation_done(patch.seq, None).unwrap();
    assert!(
        b.hold_annotation(other.seq, Duration::from_millis(200))
            .unwrap()
    );
    assert_eq!(a.claim_annotation(hold).unwrap(), None, "still held by b");
    std::thread::sleep(Duration::from_millis(400));
    let taken = a.claim_annotation(hold).unwrap().expect("the lapsed claim");
    assert_eq!(taken.seq, other.seq);
    assert!(
        !b.hold_annotation(other.seq, hold).unwrap(),
        "b learns it lost it"
    );
    a.annotations_forget(taken.seq, "r2").unwrap();
    a.annotations_forget(first.seq, "r1").unwrap();
    assert_eq!(a.annotations_waiting().unwrap(), 0);
    assert_eq!(
        a.annotation_id("r1/f").unwrap(),
        None,
        "a finished run's ids are dropped"
    );
}
