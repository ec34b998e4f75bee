//! Names for what tests create in namespaces the whole machine shares (network
//! namespaces, cgroups, fault ids), so that parallel tests and concurrent test binaries
//! never meet.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A number no earlier call in this process returned.
pub fn next_number() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// `fltest-<pid>-<tag>-<n>`. The prefix marks a leftover as a test's (and `TestCgroup`
/// insists on it); the pid keeps test binaries running at the same time apart; the counter
/// keeps apart the tests of one binary, which run on parallel threads — one copy of this
/// helper had no counter, and two tests using the same tag then shared a name.
///
/// Call it once per object and keep the result: a second call names another object.
pub fn unique(tag: &str) -> String {
    format!("fltest-{}-{tag}-{}", std::process::id(), next_number())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_calls_with_one_tag_give_two_names() {
        let (a, b) = (unique("x"), unique("x"));
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("fltest-{}-x-", std::process::id())));
    }
}
