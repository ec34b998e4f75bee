//! People's sign-in through a REAL OpenID provider (PyPI `oidc-provider-mock`: authlib's
//! OIDC server, RS256 ID tokens, nonces required) and the real `faultline serve`, over
//! HTTP on loopback (issue 28). The browser's part is played by a client that follows no
//! redirect and carries cookies by hand, so each hop is checked: the login redirect's
//! state, nonce and S256 challenge; the callback's CSRF checks (state bound to the
//! browser's cookie, one use); the role map (highest wins, no match refused with a page
//! saying why); the session cookie's flags; the CSRF header on state-changing requests;
//! the audit actor `oidc <sub>`; logout ending the session server-side; bearer tokens
//! working beside it all.

use std::process::{Command, Stdio};

use crate::serve_bin::Serve;
use crate::sso_browser::*;
use crate::support::*;
use faultline_test_support::client;
use faultline_test_support::peers::{OidcProvider, have_oidc_provider, start_oidc_provider};
use serde_json::{Value, json};

const CLIENT_ID: &str = "faultline-console";

/// A provider and the real `faultline serve` signing people in at it, in a temp dir
/// (dropped in this order).
struct SignIns {
    serve: Serve,
    provider: OidcProvider,
    _dir: tempfile::TempDir,
}

impl SignIns {
    /// `None` (the test skipped) where python3 cannot import oidc-provider-mock.
    fn start() -> Option<SignIns> {
        if !have_oidc_provider() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let provider = start_oidc_provider();
        let serve = serve(dir.path(), &provider);
        Some(SignIns {
            serve,
            provider,
            _dir: dir,
        })
    }
}

/// The real `faultline serve` (`-vv`, the test tokens) signing people in at `provider`.
fn serve(dir: &std::path::Path, provider: &OidcProvider) -> Serve {
    std::fs::write(dir.join("client-secret"), "console-secret-0123456789\n").unwrap();
    let cfg = dir.join("sso.yaml");
    std::fs::write(
        &cfg,
        format!(
            "issuer: {}\nclientId: {CLIENT_ID}\nclientSecretFile: client-secret\nroles:\n  claim: groups\n  viewer: [platform, \"platform/*\"]\n  operator: [platform/sre]\n  admin: [platform/chaos-admins]\nsessionTtl: 1h\n",
            provider.issuer
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().expect("a UTF-8 temp path");
    Serve::start(dir, "-vv", &["--sso-config", cfg]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_acts_by_session_cookie_and_signs_out() {
    let Some(t) = SignIns::start() else {
        return;
    };
    let (provider, base) = (&t.provider, t.serve.base.as_str());
    user(
        provider,
        "alice",
        json!({"preferred_username": "alice", "email": "alice@example.org", "groups": ["platform/sre", "platform/docs"]}),
    )
    .await;

    // The login redirect: to the provider's authorization endpoint with this client, the
    // registered callback, a fresh state (also in the browser's Lax cookie) and nonce, and
    // an S256 PKCE challenge; the verifier never leaves the server.
    let (to_provider, cookie) = login(base).await;
    assert!(
        to_provider.starts_with(&format!("{}/oauth2/authorize?", provider.issuer)),
        "{to_provider}"
    );
    let q = query(&to_provider);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], format!("{base}/auth/callback"));
    assert!(q["scope"].split(' ').any(|s| s == "openid"), "{q:?}");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43, "base64url SHA-256: {q:?}");
    assert!(q["state"].len() >= 16 && q["nonce"].len() >= 16, "{q:?}");
    assert!(!q.contains_key("code_verifier"));
    assert_eq!(value(&cookie), q["state"]);
    for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/auth/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    let (again, _) = login(base).await;
    let q2 = query(&again);
    for k in ["state", "nonce", "code_challenge"] {
        assert_ne!(q[k], q2[k], "{k} is reused across sign-ins");
    }

    // The provider signs alice in; the callback makes a session: 303 to the console, the
    // cookie HttpOnly, Secure, SameSite=Strict, on the public path; the login cookie gone.
    let back = authorize(&to_provider, "alice").await;
    let r = callback(&back, &value(&cookie)).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(location(&r), "/");
    let line = set_cookie(&r, "faultline_session").unwrap();
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/;",
        "Max-Age=3600",
    ] {
        assert!(line.contains(flag), "{line} lacks {flag}");
    }
    assert!(
        set_cookie(&r, "faultline_login")
            .unwrap()
            .contains("Max-Age=0")
    );
    let session = value(&line);
    assert!(session.len() >= 40, "an unguessable id: {session}");
    // The same callback again (a replayed code and state) is refused: one use.
    let replay = callback(&back, &value(&cookie)).await;
    assert_eq!(replay.status(), 400);

    // The session answers as alice, operator by her groups, through the same caller
    // type bearer tokens have.
    let (status, me) = whoami(base, &session).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (
            &me["name"],
            &me["role"],
            &me["auth"],
            &me["canStart"],
            &me["canResume"]
        ),
        (
            &json!("alice"),
            &json!("operator"),
            &json!("sso"),
            &json!(true),
            &json!(false)
        )
    );
    // A forged or absent cookie is 401; a bearer token still works and wins.
    assert_eq!(whoami(base, "forged-session-id").await.0, 401);
    let r = client()
        .get(format!("{base}/api/v1/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .get(format!("{base}/api/v1/whoami"))
        .bearer_auth(VIEWER)
        .header("cookie", format!("faultline_session={session}"))
        .send()
        .await
        .unwrap();
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (&me["auth"], &me["role"]),
        (&json!("token"), &json!("viewer"))
    );

    // A state-changing request by cookie needs the CSRF header: without it 403 and
    // nothing done; with it the emergency stop is engaged, by `oidc alice`.
    let stop = |csrf: bool| {
        let mut r = client()
            .post(format!("{base}/api/v1/emergency-stop"))
            .header("cookie", format!("faultline_session={session}"))
            .json(&json!({"reason": "sso test"}));
        if csrf {
            r = r.header("X-Faultline-CSRF", "1");
        }
        r.send()
    };
    let r = stop(false).await.unwrap();
    assert_eq!(r.status(), 403);
    let why: Value = r.json().await.unwrap();
    assert!(
        why["error"].as_str().unwrap().contains("X-Faultline-CSRF"),
        "{why}"
    );
    let halted = viewer_json(format!("{base}/api/v1/emergency-stop")).await;
    assert_eq!(halted["engaged"], false, "refused means not engaged");
    let r = stop(true).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let r = admin_json(format!("{base}/api/v1/audit?actor=alice")).await;
    let text = r.to_string();
    assert!(
        text.contains("\"emergency-stop.engage\"") && text.contains("\"oidc\""),
        "the audit log names the person: {text}"
    );
    let r = client()
        .delete(format!("{base}/api/v1/emergency-stop"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Sign-out: needs the CSRF header; drops the session on the server (the old cookie
    // is 401 after), clears the cookie, and points at the provider's end_session.
    let out = |csrf: bool| {
        let mut r = client()
            .post(format!("{base}/auth/logout"))
            .header("cookie", format!("faultline_session={session}"));
        if csrf {
            r = r.header("X-Faultline-CSRF", "1");
        }
        r.send()
    };
    assert_eq!(out(false).await.unwrap().status(), 403);
    assert_eq!(whoami(base, &session).await.0, 200, "still signed in");
    let r = out(true).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        set_cookie(&r, "faultline_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    let bye: Value = r.json().await.unwrap();
    assert_eq!(bye["signedOut"], true);
    let next = bye["next"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/oauth2/end_session?", provider.issuer)),
        "{next}"
    );
    let nq = query(next);
    assert_eq!(nq["post_logout_redirect_uri"], format!("{base}/signin"));
    assert_eq!(nq["id_token_hint"].split('.').count(), 3, "{nq:?}");
    assert_eq!(
        whoami(base, &session).await.0,
        401,
        "the session ended server-side"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_come_from_the_claim_and_forged_callbacks_are_refused() {
    let Some(t) = SignIns::start() else {
        return;
    };
    let (provider, base) = (&t.provider, t.serve.base.as_str());
    for (sub, claims) in [
        (
            "bob",
            json!({"preferred_username": "bob", "groups": ["platform/web"]}),
        ),
        (
            "carol",
            json!({"preferred_username": "carol", "groups": ["platform", "platform/chaos-admins", "platform/sre"]}),
        ),
        (
            "mallory",
            json!({"preferred_username": "mallory", "groups": ["sales", "<b>marketing</b>"]}),
        ),
        ("dave", json!({"preferred_username": "dave"})),
    ] {
        user(provider, sub, claims).await;
    }

    // The highest matching role wins.
    for (sub, role, can_start) in [("bob", "viewer", false), ("carol", "admin", true)] {
        let session = session_of(base, sub).await;
        let (_, me) = whoami(base, &session).await;
        assert_eq!(
            (&me["role"], &me["canStart"]),
            (&json!(role), &json!(can_start)),
            "{sub}"
        );
    }
    // A viewer's session may not start anything (the role, not the CSRF header, refuses).
    let viewer = session_of(base, "bob").await;
    let r = client()
        .post(format!("{base}/api/v1/emergency-stop"))
        .header("cookie", format!("faultline_session={viewer}"))
        .header("X-Faultline-CSRF", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let why: Value = r.json().await.unwrap();
    assert!(
        why["error"].as_str().unwrap().contains("operator role"),
        "{why}"
    );

    // No matching group, or no claim at all: refused with a page that says why (the
    // values escaped), and no session.
    let r = sign_in(base, "mallory").await;
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r, "faultline_session").is_none());
    let page = r.text().await.unwrap();
    assert!(
        page.contains("`groups` values (sales, &lt;b&gt;marketing&lt;/b&gt;)"),
        "{page}"
    );
    assert!(page.contains("You signed in as mallory"), "{page}");
    let r = sign_in(base, "dave").await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("carries no `groups` claim")
    );

    // CSRF on the callback: a state other than the one this browser's cookie holds (a
    // callback another site made the browser open, or a login cookie of another
    // sign-in), no state at all, or no login cookie: 400, no session.
    let (to_provider, cookie) = login(base).await;
    let back = authorize(&to_provider, "carol").await;
    let state = query(&back)["state"].clone();
    let forged = back.replace(&state, "forged-state-0123456789");
    let r = callback(&forged, &value(&cookie)).await;
    assert_eq!(r.status(), 400);
    assert!(set_cookie(&r, "faultline_session").is_none());
    assert!(r.text().await.unwrap().contains("`state` is not the one"));
    let r = callback(&back, "forged-state-0123456789").await;
    assert_eq!(
        r.status(),
        400,
        "the callback's state must be this browser's"
    );
    let r = hop().get(&back).send().await.unwrap();
    assert_eq!(r.status(), 400, "no login cookie");
    let no_state = back.replace(&format!("state={state}"), "x=1");
    assert_eq!(callback(&no_state, &value(&cookie)).await.status(), 400);
    // The untouched callback still works: the refusals above consumed nothing.
    let r = callback(&back, &value(&cookie)).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());

    // The provider's refusal comes back as an error: shown, no session.
    let (to_provider, cookie) = login(base).await;
    let denied = hop()
        .post(&to_provider)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=deny")
        .send()
        .await
        .unwrap();
    let back = location(&denied);
    let r = callback(&back, &value(&cookie)).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("access_denied"));

    // Refusals are in the audit log.
    let audit = admin_json(format!("{base}/api/v1/audit?outcome=refused")).await;
    let text = audit.to_string();
    assert!(
        text.contains("GET /auth/callback")
            && text.contains("\"mallory\"")
            && text.contains("access_denied"),
        "{text}"
    );
}

#[test]
fn a_bad_sso_config_stops_the_start_naming_the_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sso.yaml");
    let start = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["serve", "--listen", "127.0.0.1:0", "--sso-config"])
            .arg(&cfg)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    std::fs::write(
        &cfg,
        "issuer: https://gitlab.example.org\nclientId: app\nclientSecret: inline-secret\nroles:\n  claim: groups\n  owner: [x]\n",
    )
    .unwrap();
    let (code, err) = start(&[]);
    assert_ne!(code, Some(0), "{err}");
    for want in ["sso.yaml:3", "clientSecret", "sso.yaml:6", "roles.owner"] {
        assert!(err.contains(want), "{want} missing in:\n{err}");
    }
    assert!(!err.contains("inline-secret"), "the secret echoed:\n{err}");
    assert!(
        !dir.path().join("state").exists(),
        "a refused start created its state"
    );
    // Without authentication everyone is admin: a sign-in would grant nothing.
    std::fs::write(
        &cfg,
        "issuer: https://gitlab.example.org\nclientId: app\nroles: {claim: groups, admin: [x]}\n",
    )
    .unwrap();
    let (code, err) = start(&["--insecure-no-auth"]);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("ssoConfig and insecureNoAuth"), "{err}");
}
