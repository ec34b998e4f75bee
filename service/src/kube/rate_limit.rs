//! A client-side rate limit for the API server: a token bucket (`qps` tokens a second, up
//! to `burst` saved), client-go's `flowcontrol.NewTokenBucketRateLimiter`. Chaos Mesh fixes
//! its client at QPS 30 and stalled selecting ~6k pods (chaos-mesh issue 4776); ours is
//! set with `--kube-qps` / `--kube-burst`.
//!
//! It is a tower layer so kube's own client stack stays untouched: the wait happens in
//! `poll_ready`, which kube's buffer calls before each request.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

/// The shared bucket: every clone of the layer (and of the services it makes) draws from it.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    bucket: Arc<Mutex<Bucket>>,
}

impl RateLimitLayer {
    /// `qps` requests a second on average, bursts of up to `burst`. `qps` must be positive
    /// and `burst` at least 1 (the CLI checks both); a bucket starts full.
    pub fn new(qps: f64, burst: u32) -> RateLimitLayer {
        let burst = f64::from(burst.max(1));
        RateLimitLayer {
            bucket: Arc::new(Mutex::new(Bucket {
                qps: qps.max(f64::MIN_POSITIVE),
                burst,
                tokens: burst,
                last: Instant::now(),
            })),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            bucket: self.bucket.clone(),
            sleep: None,
            reserved: false,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Takes a token, or says how long until one is there.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.qps))
        }
    }
}

/// The service [`RateLimitLayer`] wraps around another.
pub struct RateLimit<S> {
    inner: S,
    bucket: Arc<Mutex<Bucket>>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// A token was taken for the next `call`.
    reserved: bool,
}

impl<S, R> Service<R> for RateLimit<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        while !self.reserved {
            if let Some(sleep) = self.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleep = None;
            }
            let taken = self
                .bucket
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(Instant::now());
            match taken {
                Ok(()) => self.reserved = true,
                Err(wait) => self.sleep = Some(Box::pin(tokio::time::sleep(wait))),
            }
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> S::Future {
        self.reserved = false;
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn timed_calls(qps: f64, burst: u32, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let svc = tower::service_fn(|_: ()| async { Ok::<_, std::convert::Infallible>(()) });
        let mut svc = RateLimitLayer::new(qps, burst).layer(svc);
        let mut at = Vec::new();
        for _ in 0..n {
            svc.ready().await.unwrap().call(()).await.unwrap();
            at.push(start.elapsed());
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_bucket_bursts_then_paces_at_qps() {
        let at = timed_calls(10.0, 3, 6).await;
        // Three at once from the full bucket, then one every 100 ms.
        for (i, t) in at.iter().enumerate() {
            let want = Duration::from_millis(100 * (i.saturating_sub(2)) as u64);
            let diff = t.abs_diff(want);
            assert!(
                diff < Duration::from_millis(2),
                "call {i} at {t:?}, want {want:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_higher_qps_lets_more_through() {
        // Two from the burst, then 60 paced: 2 s at QPS 30 (Chaos Mesh's fixed rate),
        // 0.2 s at 300. (With a burst of 1 the bucket's cap would drop the fraction of a
        // token each millisecond-rounded sleep overshoots, so it would run ~2 % slow.)
        let slow = *timed_calls(30.0, 2, 62).await.last().unwrap();
        let fast = *timed_calls(300.0, 2, 62).await.last().unwrap();
        assert!((slow.as_secs_f64() - 2.0).abs() < 0.01, "{slow:?}");
        assert!((fast.as_secs_f64() - 0.2).abs() < 0.01, "{fast:?}");
    }
}
