//! Waiting for a probe's next send time to within tens of microseconds. tokio's timer
//! wheel counts whole milliseconds and rounds every deadline up to the next one, so a
//! check with `every: 10ms` sent its requests 10.4 to 11 ms apart, and a `faultline run`
//! judging two phases slept about 3 ms more than its experiment asked for (P7). Here
//! tokio's timer waits for all but the last two milliseconds, and a thread of the
//! runtime's blocking pool sleeps the rest with the kernel's own timer (`nanosleep`).
//! Only those last milliseconds block a thread, so a sleep given up (an aborted run)
//! holds one for at most that long. A timerfd on the runtime's epoll would need no
//! thread, but tokio registers raw descriptors only through `unsafe`, which this crate
//! forbids.

use std::time::Duration;

use tokio::time::Instant;

/// How much of a wait the kernel timer takes: more than tokio's rounding can add.
const FINE: Duration = Duration::from_millis(2);

/// Waits until `deadline`, woken within tens of microseconds of it.
pub async fn sleep_until(deadline: Instant) {
    if let Some(coarse) = deadline.checked_sub(FINE)
        && coarse > Instant::now()
    {
        tokio::time::sleep_until(coarse).await;
    }
    let deadline = deadline.into_std();
    if deadline <= std::time::Instant::now() {
        return;
    }
    let slept = tokio::task::spawn_blocking(move || {
        std::thread::sleep(deadline.saturating_duration_since(std::time::Instant::now()))
    })
    .await;
    if slept.is_err() {
        // The runtime is shutting down: its timer is all there is.
        tokio::time::sleep_until(deadline.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // How close to the deadline it wakes is measured where it matters, in P7 (bench.sh):
    // a timing bound here would fail on a loaded machine, not on a wrong timer.
    #[tokio::test(flavor = "current_thread")]
    async fn it_wakes_at_its_deadline_not_before() {
        for micros in [300, 2_300, 10_000] {
            let wait = Duration::from_micros(micros);
            let t = Instant::now();
            sleep_until(t + wait).await;
            let slept = t.elapsed();
            assert!(slept >= wait, "woke after {slept:?} of {wait:?}");
            // A unit slip (seconds for microseconds) would show as a wait of seconds.
            assert!(
                slept < wait + Duration::from_secs(2),
                "{slept:?} for {wait:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_deadline_already_passed_returns_at_once() {
        let t = Instant::now();
        sleep_until(t - Duration::from_millis(5)).await;
        sleep_until(t).await;
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
