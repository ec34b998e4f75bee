//! Polling with a deadline: the way a test waits for something another process or thread
//! does (a signal delivered, a file written, a request arriving) without sleeping a fixed,
//! hopeful time. The `_for` forms fail the test with a message naming what never came.

use std::time::{Duration, Instant};

/// How often a condition is polled: short against the waits (seconds), long enough not to
/// compete for the two cores with what is being waited for.
pub const POLL: Duration = Duration::from_millis(10);

/// Polls `cond` every [`POLL`] until it holds or `within` passes; how long it took, or
/// `None` when it never held.
pub fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// As [`wait_until`], failing the test with `what` when `cond` did not hold in time.
pub fn wait_for(what: &str, within: Duration, cond: impl FnMut() -> bool) -> Duration {
    wait_until(within, cond)
        .unwrap_or_else(|| panic!("timed out after {within:?} waiting for {what}"))
}

/// [`wait_until`] for async tests: sleeps on the runtime, not the thread, so the tasks the
/// test waits for keep running on a current-thread runtime.
pub async fn wait_until_async(
    within: Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`wait_for`] for async tests.
pub async fn wait_for_async(what: &str, within: Duration, cond: impl FnMut() -> bool) -> Duration {
    wait_until_async(within, cond)
        .await
        .unwrap_or_else(|| panic!("timed out after {within:?} waiting for {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_that_holds_returns_at_once_and_one_that_never_does_times_out() {
        assert!(wait_until(Duration::from_secs(5), || true).unwrap() < Duration::from_secs(1));
        assert_eq!(wait_until(Duration::from_millis(30), || false), None);
    }

    #[test]
    #[should_panic(expected = "waiting for the moon")]
    fn wait_for_names_what_never_came() {
        wait_for("the moon", Duration::from_millis(20), || false);
    }
}
