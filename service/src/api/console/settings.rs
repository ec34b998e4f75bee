//! Where the console is served, what it links to, and the headers every console response
//! carries. A leaf: the API's state holds the settings, the pages read them.

use actix_web::HttpResponse;
use actix_web::http::header::{HeaderName, HeaderValue};

/// The policy every console response is served with.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// What the console needs to know about where it is served and what it links to.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSettings {
    /// The path the console is reached at from outside, with a trailing `/` (`/chaos/`
    /// behind an ingress that strips that prefix; `/` by default). Every link and every
    /// API call the pages make starts with it.
    pub base: String,
    /// Grafana's base URL, for "Open in Grafana" (none: the link is not shown).
    pub grafana_url: Option<String>,
    /// The dashboard the link opens (none: Grafana's home with the run's time range).
    pub grafana_dashboard: Option<String>,
}

impl ConsoleSettings {
    /// Settings for a service reached at `public_url` (`https://host/chaos/`; `None`: at
    /// the root). Only the URL's path matters: links stay relative to the host the page
    /// was loaded from.
    pub fn new(public_url: Option<&str>) -> ConsoleSettings {
        let path = public_url
            .and_then(|u| reqwest::Url::parse(u).ok())
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        // Only URL-safe characters, so the base goes into attributes unescaped; anything
        // else is percent-encoded (the URL parser already encodes most).
        let trimmed: String = path
            .trim_matches('/')
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~/%".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let base = if trimmed.is_empty() {
            "/".to_string()
        } else {
            format!("/{trimmed}/")
        };
        ConsoleSettings {
            base,
            ..ConsoleSettings::default()
        }
    }
}

/// Adds the console's security headers to `res`.
pub fn secure(mut res: HttpResponse) -> HttpResponse {
    let h = res.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_the_public_urls_path_with_one_trailing_slash() {
        assert_eq!(ConsoleSettings::new(None).base, "/");
        assert_eq!(ConsoleSettings::new(Some("https://h")).base, "/");
        assert_eq!(
            ConsoleSettings::new(Some("https://h/chaos")).base,
            "/chaos/"
        );
        assert_eq!(ConsoleSettings::new(Some("https://h/a/b/")).base, "/a/b/");
        assert_eq!(
            ConsoleSettings::new(Some("https://h/a'b&c\"<x>/")).base,
            "/a%27b%26c%22%3Cx%3E/"
        );
    }
}
