//! The web console (issue 26): server-rendered page shells at `/`, one small script and
//! one stylesheet, all compiled into the binary (no CDN, no Node build). The pages hold no
//! data: the script fetches it from `/api/v1` with the bearer token the person signed in
//! with (kept in `sessionStorage`, sent as `Authorization`), so the console can do exactly
//! what the API lets that token do, through the same handlers.
//!
//! It sits inside the `api` adapter, not beside it: it shares the API's auth and state,
//! and adapters may not import each other.
//!
//! Every console response carries a strict Content-Security-Policy (`default-src 'self'`,
//! no inline script or style) and `X-Frame-Options: DENY`; the script writes text with
//! `textContent` only, so names, reasons and refs from the store are never markup.

mod data;
mod page;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use actix_web::{HttpResponse, web};

use super::state::ApiState;
pub use page::Page;

/// The policy every console response is served with.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

const SCRIPT: &str = include_str!("assets/console.js");
const STYLE: &str = include_str!("assets/console.css");

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

/// Mounts the pages and assets at the root (after the API's routes).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(runs))
        .route("/signin", web::get().to(signin))
        .route("/runs/{id}", web::get().to(run))
        .route("/experiments", web::get().to(experiments))
        .route("/experiments/{name}", web::get().to(experiment))
        .route("/schedules", web::get().to(schedules))
        .route("/agents", web::get().to(agents))
        .route("/assets/console.js", web::get().to(script))
        .route("/assets/console.css", web::get().to(style));
}

/// Mounts the console's data routes under `/api/v1` (the agents list and the run's
/// timeline picture and leases); they are API routes, with the API's auth.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    data::configure(cfg);
}

fn settings(state: &ApiState) -> ConsoleSettings {
    state
        .console
        .get()
        .cloned()
        .unwrap_or_else(|| ConsoleSettings::new(None))
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
            actix_web::http::header::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    res
}

fn html(state: &ApiState, page: Page) -> HttpResponse {
    let body = page.render(&settings(state));
    secure(
        HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(body),
    )
}

async fn runs(state: web::Data<ApiState>) -> HttpResponse {
    html(&state, Page::Runs)
}

async fn signin(state: web::Data<ApiState>) -> HttpResponse {
    html(&state, Page::SignIn)
}

async fn run(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    html(&state, Page::Run(id.into_inner()))
}

async fn experiments(state: web::Data<ApiState>) -> HttpResponse {
    html(&state, Page::Experiments)
}

async fn experiment(state: web::Data<ApiState>, name: web::Path<String>) -> HttpResponse {
    html(&state, Page::Experiment(name.into_inner()))
}

async fn schedules(state: web::Data<ApiState>) -> HttpResponse {
    html(&state, Page::Schedules)
}

async fn agents(state: web::Data<ApiState>) -> HttpResponse {
    html(&state, Page::Agents)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    // Revalidated on each load (the ETag is the build's): a new binary's script is never
    // mixed with an old page.
    secure(
        HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, content_type))
            .insert_header((CACHE_CONTROL, "no-cache"))
            .body(body),
    )
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
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
