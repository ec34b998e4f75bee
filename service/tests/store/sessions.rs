//! People's sign-in sessions across replicas on one PostgreSQL store: a session put
//! through replica A's store answers on replica B, and sign-out on B ends it for A. Two
//! `PgStore` handles stand for the replicas (a store-level check: the API reads sessions
//! through nothing but these ports). The id itself is never stored, only its SHA-256. A
//! sign-in started on A completes on B, once.

use std::time::Duration;

use faultline::application::identity::Role;
use faultline::application::ports::SessionStore;
use faultline::application::sso::{Person, Session};

use super::database;
use super::ports::pg_store;

fn alice(expires: i64) -> Session {
    Session {
        person: Person {
            subject: "alice".into(),
            display: "alice".into(),
            email: None,
        },
        role: Role::Admin,
        expires,
        id_token: "header.payload.signature".into(),
    }
}

#[test]
fn a_session_signed_in_on_one_replica_answers_and_ends_on_another() {
    let Some((_pg, url)) = database("sessions") else {
        return;
    };
    let a = pg_store(&url, "replica-a", Duration::from_secs(5));
    let b = pg_store(&url, "replica-b", Duration::from_secs(5));
    let now = chrono::Utc::now().timestamp();
    let id = "the-cookie-value-only-the-browser-holds";
    a.put_session(id, &alice(now + 3600), now).unwrap();
    assert_eq!(
        b.session(id, now).unwrap(),
        Some(alice(now + 3600)),
        "B knows A's session"
    );
    assert_eq!(
        b.drop_session(id).unwrap(),
        Some(alice(now + 3600)),
        "signed out on B"
    );
    assert_eq!(a.session(id, now).unwrap(), None, "so A refuses it too");
}

#[test]
fn the_database_holds_no_session_id() {
    let Some((pg, url)) = database("sessions_hashed") else {
        return;
    };
    let a = pg_store(&url, "replica-a", Duration::from_secs(5));
    let now = chrono::Utc::now().timestamp();
    let id = "secret-session-id-0123456789";
    a.put_session(id, &alice(now + 60), now).unwrap();
    let text = pg.psql(
        "sessions_hashed",
        "SELECT key || session_json FROM sessions",
    );
    assert!(text.contains("alice"), "the row is there: {text}");
    assert!(!text.contains(id), "but not the id: {text}");
}

#[test]
fn a_sign_in_started_on_one_replica_completes_once_on_another() {
    use faultline::application::ports::LoginStore;
    use faultline::application::sso::PendingLogin;
    let Some((_pg, url)) = database("logins") else {
        return;
    };
    let a = pg_store(&url, "replica-a", Duration::from_secs(5));
    let b = pg_store(&url, "replica-b", Duration::from_secs(5));
    let now = chrono::Utc::now().timestamp();
    let login = PendingLogin {
        nonce: "n".into(),
        verifier: "v".repeat(43),
        expires: now + 600,
    };
    a.put_login("state", &login, now).unwrap();
    assert_eq!(
        b.take_login("state", now).unwrap(),
        Some(login),
        "the callback on B"
    );
    assert_eq!(
        a.take_login("state", now).unwrap(),
        None,
        "a replayed callback on A"
    );
}
