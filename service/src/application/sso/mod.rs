//! Sign-in for people (issue 28): the rules of single sign-on through an OIDC provider,
//! without the protocol. [`config`] reads `serve --sso-config` (the provider, the client,
//! the role map, the session lifetime); [`roles`] maps a verified ID token's claims to a
//! [`Role`](crate::application::identity::Role) (highest wins, no match refused);
//! [`session`] is what a signed-in person holds (kept in the store, behind the
//! `SessionStore` port); [`login`] a sign-in in flight (the `LoginStore` port). The
//! protocol itself (discovery, PKCE, the code exchange, ID-token verification) is the
//! API's (`api/sso/`, the `openidconnect` crate).

pub mod config;
pub mod login;
pub mod person;
pub mod roles;
pub mod session;

pub use config::SsoConfig;
pub use login::PendingLogin;
pub use person::Person;
pub use roles::{RoleMap, RoleRefusal};
pub use session::Session;
