//! The two cookies of a sign-in, and reading cookies (actix-web is built without its
//! cookie feature; two names are all the service reads).
//!
//! - `faultline_session`: the session's opaque id. `HttpOnly` (no script reads it),
//!   `Secure` (always: browsers treat http://localhost and 127.0.0.1 as secure, so local
//!   use works), `SameSite=Strict` (no other site's page sends it), `Path` the public
//!   path (under an ingress sub-path it stays there).
//! - `faultline_login`: the `state` of a sign-in in flight, binding the provider's
//!   callback to the browser that started it. `SameSite=Lax`, because the callback is a
//!   top-level navigation *from the provider's site*, where a Strict cookie is not sent.

use actix_web::HttpRequest;

/// The session cookie's name.
pub const SESSION: &str = "faultline_session";
/// The sign-in-in-flight cookie's name.
pub const LOGIN: &str = "faultline_login";

/// The value of cookie `name` in `req`'s `Cookie` headers.
pub fn read(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for the session `id`, living `max_age` seconds, under `path`.
pub fn session(id: &str, path: &str, max_age: u64) -> String {
    format!("{SESSION}={id}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// `Set-Cookie` for a sign-in in flight (`state`), living 10 minutes, under `path`.
pub fn login(state: &str, path: &str) -> String {
    format!("{LOGIN}={state}; Path={path}; Max-Age=600; HttpOnly; Secure; SameSite=Lax")
}

/// `Set-Cookie` that removes cookie `name` (same path and flags it was set with).
pub fn clear(name: &str, path: &str) -> String {
    let same_site = if name == LOGIN { "Lax" } else { "Strict" };
    format!("{name}=; Path={path}; Max-Age=0; HttpOnly; Secure; SameSite={same_site}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn cookies_are_read_by_name_among_others() {
        let req = TestRequest::default()
            .insert_header(("Cookie", "a=1; faultline_session=abc; b=2"))
            .to_http_request();
        assert_eq!(read(&req, SESSION).as_deref(), Some("abc"));
        assert_eq!(read(&req, LOGIN), None);
        let empty = TestRequest::default()
            .insert_header(("Cookie", "faultline_session="))
            .to_http_request();
        assert_eq!(read(&empty, SESSION), None);
    }

    #[test]
    fn the_session_cookie_carries_every_flag() {
        let c = session("x", "/chaos/", 60);
        for flag in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/chaos/",
            "Max-Age=60",
        ] {
            assert!(c.contains(flag), "{c} lacks {flag}");
        }
        assert!(clear(SESSION, "/").contains("Max-Age=0"));
    }
}
