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

mod cluster_agents;
mod data;
mod page;
pub mod settings;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use super::state::ApiState;
pub use page::Page;
pub use settings::{CSP, ConsoleSettings, secure};

const SCRIPT: &str = include_str!("assets/console.js");
const STYLE: &str = include_str!("assets/console.css");
/// The audit and access pages' part of the script, loaded only there.
const GOVERNANCE_SCRIPT: &str = include_str!("assets/governance.js");
/// The dry-run plan drawn as HTML, loaded only on an experiment's page.
const PLAN_SCRIPT: &str = include_str!("assets/plan.js");

/// Mounts the pages and assets at the root (after the API's routes).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(runs))
        .route("/signin", web::get().to(signin))
        .route("/runs/{id}", web::get().to(run))
        .route("/experiments", web::get().to(experiments))
        .route("/experiments/{name}", web::get().to(experiment))
        .route("/schedules", web::get().to(schedules))
        .route("/agents", web::get().to(agents))
        .route("/audit", web::get().to(audit))
        .route("/access", web::get().to(access))
        .route("/assets/console.js", web::get().to(script))
        .route("/assets/governance.js", web::get().to(governance_script))
        .route("/assets/plan.js", web::get().to(plan_script))
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

async fn audit(state: web::Data<ApiState>) -> HttpResponse {
    html(&state, Page::Audit)
}

async fn access(state: web::Data<ApiState>) -> HttpResponse {
    html(&state, Page::Access)
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

async fn governance_script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", GOVERNANCE_SCRIPT)
}

async fn plan_script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", PLAN_SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}
