//! The browser's part in the sign-in tests (`sso.rs`): a client that follows no redirect
//! and carries cookies by hand, so each hop of the OpenID Connect flow can be checked, and
//! the provider's users.

use std::collections::HashMap;

use faultline_test_support::client;
use faultline_test_support::peers::OidcProvider;
use serde_json::Value;

/// A client that shows every redirect instead of following it.
pub(crate) fn hop() -> reqwest::Client {
    faultline_exporter::tls_provider::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The `Set-Cookie` header of `r` setting `name`, whole (value and attributes).
pub(crate) fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The value of a `Set-Cookie` line.
pub(crate) fn value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

pub(crate) fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location on {}", r.status()))
        .to_string()
}

pub(crate) fn query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Sets the claims the provider puts in `sub`'s ID token.
pub(crate) async fn user(provider: &OidcProvider, sub: &str, claims: Value) {
    let r = client()
        .put(format!("{}/users/{sub}", provider.issuer))
        .json(&claims)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "the provider took {sub}'s claims");
}

/// `/auth/login`: (the provider's authorization URL, the `faultline_login` cookie line).
pub(crate) async fn login(base: &str) -> (String, String) {
    let r = hop()
        .get(format!("{base}/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let cookie = set_cookie(&r, "faultline_login").expect("a login cookie");
    (location(&r), cookie)
}

/// The provider's authorization form, posted as `sub`: the callback URL it sends back.
pub(crate) async fn authorize(authorize_url: &str, sub: &str) -> String {
    let r = hop()
        .post(authorize_url)
        .header("content-type", "application/x-www-form-urlencoded")
        // The subjects here are plain words: nothing to escape.
        .body(format!("sub={sub}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    location(&r)
}

/// GETs the callback with the `faultline_login` cookie value `state_cookie`.
pub(crate) async fn callback(url: &str, state_cookie: &str) -> reqwest::Response {
    hop()
        .get(url)
        .header("cookie", format!("faultline_login={state_cookie}"))
        .send()
        .await
        .unwrap()
}

/// A whole sign-in as `sub`: the callback's answer.
pub(crate) async fn sign_in(base: &str, sub: &str) -> reqwest::Response {
    let (to_provider, cookie) = login(base).await;
    let back = authorize(&to_provider, sub).await;
    callback(&back, &value(&cookie)).await
}

/// The session cookie of a sign-in that must succeed.
pub(crate) async fn session_of(base: &str, sub: &str) -> String {
    let r = sign_in(base, sub).await;
    assert_eq!(
        r.status(),
        303,
        "{sub}: {}",
        r.text().await.unwrap_or_default()
    );
    value(&set_cookie(&r, "faultline_session").expect("a session cookie"))
}

pub(crate) async fn whoami(base: &str, session: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{base}/api/v1/whoami"))
        .header("cookie", format!("faultline_session={session}"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}
