//! GitLab CI ID tokens (issue 28): the trust policies that bind a job's claims to rights
//! (like Vault's JWT roles), their config file and why a token is refused (the spent
//! `jti`s live in the store, behind the `SpentTokens` port). Pure rules over claims someone else verified: the signature, the keys
//! and HTTP live with the API adapter (`api/id_token/`).

pub mod claims;
pub mod config;
pub mod policy;
pub mod refusal;

pub use claims::IdClaims;
pub use config::IdTokenConfig;
pub use policy::{PolicyMiss, TrustPolicy};
pub use refusal::Refusal;
