//! The CI ID tokens that already started a run (their `jti`s), shared by every replica
//! on the store, so a token copied out of a job log cannot start chaos a second time —
//! not on this replica, not on another one, not after a restart. Each `jti` is kept
//! until its token expires; expired ones are pruned as new ones are spent.

use super::store_error::StoreError;

/// The spent-`jti` set.
pub trait SpentTokens: Send + Sync {
    /// Records `jti` (its token valid until `expires`, Unix seconds) as spent at `now`;
    /// `false` when it already was and its token has not expired. Insert-if-absent in
    /// one statement, so two replicas spending the same `jti` at once: one wins.
    fn spend_token(&self, jti: &str, expires: i64, now: i64) -> Result<bool, StoreError>;

    /// How many spent `jti`s are still held (their tokens not expired at `now`).
    fn spent_tokens(&self, now: i64) -> Result<u64, StoreError>;
}
