//! [`Running`]: what a fault family keeps running while its faults are applied (the DNS
//! and HTTP faults' proxies), by fault, so recover and observe find it again.

use std::collections::HashMap;
use std::sync::Mutex;

use super::record::FaultId;

/// A family's running parts, by fault; a `static` (one agent per process).
#[derive(Debug)]
pub struct Running<P>(Mutex<Option<HashMap<FaultId, P>>>);

impl<P> Running<P> {
    /// Nothing running yet.
    pub const fn new() -> Running<P> {
        Running(Mutex::new(None))
    }

    /// `f` over the map, under its lock. A panic elsewhere with the lock held leaves
    /// a whole map (every change is one insert or remove), so a poisoned lock is taken.
    pub fn with<T>(&self, f: impl FnOnce(&mut HashMap<FaultId, P>) -> T) -> T {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(guard.get_or_insert_with(HashMap::new))
    }
}
