//! Every route of the service, mounted in one place.

/// Mounts every route: the health routes at the root, the rest under `/api/v1`.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    super::health::configure(cfg);
    super::webhooks::configure(cfg);
    super::alertmanager::configure(cfg);
    // People's sign-in (/auth/*), beside the console under the same public path.
    super::sso::routes::configure(cfg);
    cfg.service(
        actix_web::web::scope("/api/v1")
            .configure(super::runs::configure)
            .configure(super::experiments::configure)
            .configure(super::halt::configure)
            .configure(super::schedules::configure)
            .configure(super::auth_policies::configure)
            .configure(super::audit::configure)
            .configure(super::whoami::configure)
            .configure(super::console::configure_api)
            .configure(super::verdict_trends::configure),
    );
    // The web console's pages and assets, at the root (docs/console.md).
    super::console::configure(cfg);
}
