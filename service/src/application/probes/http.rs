//! HTTP probes: a request every `every`, judged by status and body, with latencies kept
//! in a window so a check can ask for a percentile ("p99 < 300ms").

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::error::chain;

/// One request's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSample {
    /// When it was sent.
    pub at: Instant,
    /// Round trip, if an answer came.
    pub latency: Option<Duration>,
    /// Whether status and body matched what the check expects.
    pub ok: bool,
    /// Why not ok.
    pub error: Option<String>,
}

/// Why an HTTP probe could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HttpProbeError {
    /// The check's method is not an HTTP method.
    #[error("`{0}` is not an HTTP method")]
    Method(String),
    /// The HTTP client could not be built (TLS roots, the resolver). Transparent: its
    /// message is reqwest's, with its causes.
    #[error(transparent)]
    Client(reqwest::Error),
}

/// What to request and what counts as a good answer.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    url: String,
    method: reqwest::Method,
    /// The accepted statuses, inclusive: one code, or a status check's range.
    status: (u16, u16),
    body_contains: Option<String>,
    /// Sent with every request (a status check's `headers`).
    headers: Vec<(String, String)>,
    /// Sent with every request (a status check's `body`).
    body: Option<String>,
    /// The whole request's limit, connecting included.
    timeout: Duration,
    http: reqwest::Client,
}

/// One HTTP client for every probe of the process, one for `http://` and one for
/// `https://` URLs. Building a TLS-capable client loads and parses the system's CA
/// certificates (every file of /etc/ssl/certs): a client per probe cost ~150 file opens and
/// milliseconds each in a `faultline run` whose whole overhead is tens of ms, so the
/// certificates are loaded once, and only when a probe needs TLS. Sharing a client also
/// shares its connection pool between probes of the same server.
fn shared_client(tls: bool) -> Result<reqwest::Client, reqwest::Error> {
    static PLAIN: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    static TLS: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let cell = if tls { &TLS } else { &PLAIN };
    if let Some(c) = cell.get() {
        return Ok(c.clone());
    }
    let builder = faultline_exporter::tls_provider::http_client().pool_max_idle_per_host(2);
    // No roots at all for plain HTTP: nothing to verify, nothing to load.
    let builder = if tls {
        builder
    } else {
        builder.tls_certs_only(Vec::new())
    };
    let built = builder.build()?;
    Ok(cell.get_or_init(|| built).clone())
}

impl HttpProbe {
    /// A probe of `method url` expecting `status` (and `body_contains`, if given).
    pub fn new(
        url: &str,
        method: &str,
        status: u16,
        body_contains: Option<String>,
        timeout: Duration,
    ) -> Result<HttpProbe, HttpProbeError> {
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpProbeError::Method(method.to_string()))?;
        Ok(HttpProbe {
            url: url.to_string(),
            method,
            status: (status, status),
            body_contains,
            headers: Vec::new(),
            body: None,
            timeout,
            http: shared_client(url.starts_with("https://")).map_err(HttpProbeError::Client)?,
        })
    }

    /// Accepts every status from `low` to `high`, both included (a status check's
    /// `200-400`).
    pub fn accepting(mut self, low: u16, high: u16) -> HttpProbe {
        self.status = (low, high);
        self
    }

    /// Sends these headers and this body with every request.
    pub fn sending(mut self, headers: Vec<(String, String)>, body: Option<String>) -> HttpProbe {
        self.headers = headers;
        self.body = body;
        self
    }

    /// Sends one request and judges the answer.
    pub async fn sample(&self) -> HttpSample {
        let at = Instant::now();
        let result = async {
            let mut req = self
                .http
                .request(self.method.clone(), &self.url)
                .timeout(self.timeout);
            for (name, value) in &self.headers {
                req = req.header(name, value);
            }
            if let Some(body) = &self.body {
                req = req.body(body.clone());
            }
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let body = resp.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let latency = at.elapsed();
        match result {
            Err(e) => HttpSample {
                at,
                latency: None,
                ok: false,
                error: Some(chain(&e)),
            },
            Ok((status, _)) if !(self.status.0..=self.status.1).contains(&status) => HttpSample {
                at,
                latency: Some(latency),
                ok: false,
                error: Some(match self.status {
                    (one, high) if one == high => format!("status {status}, expected {one}"),
                    (low, high) => format!("status {status}, expected {low}-{high}"),
                }),
            },
            Ok((_, body)) => match &self.body_contains {
                Some(needle) if !body.contains(needle.as_str()) => HttpSample {
                    at,
                    latency: Some(latency),
                    ok: false,
                    error: Some(format!("body does not contain `{needle}`")),
                },
                _ => HttpSample {
                    at,
                    latency: Some(latency),
                    ok: true,
                    error: None,
                },
            },
        }
    }
}

/// The last samples within a time window, for ratios and latency percentiles.
#[derive(Debug, Clone)]
pub struct LatencyWindow {
    span: Duration,
    samples: VecDeque<HttpSample>,
}

impl LatencyWindow {
    /// A window holding the samples of the last `span`.
    pub fn new(span: Duration) -> LatencyWindow {
        LatencyWindow {
            span,
            samples: VecDeque::new(),
        }
    }

    /// Adds a sample in the order the requests were sent (answers to requests sent on a
    /// schedule can arrive out of order) and forgets those sent before the window.
    pub fn push(&mut self, s: HttpSample) {
        let at = self
            .samples
            .iter()
            .rposition(|k| k.at <= s.at)
            .map_or(0, |i| i + 1);
        let newest = self.samples.back().map_or(s.at, |k| k.at.max(s.at));
        self.samples.insert(at, s);
        while let Some(front) = self.samples.front() {
            if newest.duration_since(front.at) > self.span {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Number of samples in the window.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no sample is in the window.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Share of good answers, 0..=1; `None` when empty.
    pub fn success_ratio(&self) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let ok = self.samples.iter().filter(|s| s.ok).count();
        Some(ok as f64 / self.samples.len() as f64)
    }

    /// Latency percentile `q` (0..=100) in milliseconds, nearest-rank over the samples;
    /// a failed request counts as infinitely slow, so an outage cannot look fast.
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = self
            .samples
            .iter()
            .map(|s| {
                if s.ok {
                    s.latency.map_or(f64::INFINITY, |l| l.as_secs_f64() * 1e3)
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        let rank = ((q / 100.0) * ms.len() as f64).ceil().max(1.0) as usize;
        Some(ms[rank.min(ms.len()) - 1])
    }

    /// Mean latency in milliseconds; infinite if any request failed.
    pub fn mean_ms(&self) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let sum: f64 = self
            .samples
            .iter()
            .map(|s| {
                if s.ok {
                    s.latency.map_or(f64::INFINITY, |l| l.as_secs_f64() * 1e3)
                } else {
                    f64::INFINITY
                }
            })
            .sum();
        Some(sum / self.samples.len() as f64)
    }

    /// The newest failure's reason, for events.
    pub fn last_error(&self) -> Option<&str> {
        self.samples.iter().rev().find_map(|s| s.error.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Instant, ms: u64, ok: bool) -> HttpSample {
        HttpSample {
            at,
            latency: Some(Duration::from_millis(ms)),
            ok,
            error: (!ok).then(|| "boom".into()),
        }
    }

    #[test]
    fn percentiles_use_nearest_rank_and_failures_count_as_slow() {
        let t0 = Instant::now();
        let mut w = LatencyWindow::new(Duration::from_secs(60));
        for i in 1..=100 {
            w.push(sample(t0, i, true));
        }
        assert_eq!(w.percentile_ms(50.0), Some(50.0));
        assert_eq!(w.percentile_ms(99.0), Some(99.0));
        assert_eq!(w.percentile_ms(100.0), Some(100.0));
        w.push(sample(t0, 1, false));
        assert_eq!(w.percentile_ms(100.0), Some(f64::INFINITY));
        assert!((w.success_ratio().unwrap() - 100.0 / 101.0).abs() < 1e-9);
        assert_eq!(w.last_error(), Some("boom"));
    }

    #[test]
    fn the_window_forgets_old_samples() {
        let t0 = Instant::now();
        let mut w = LatencyWindow::new(Duration::from_secs(10));
        w.push(sample(t0, 5, false));
        w.push(sample(t0 + Duration::from_secs(11), 5, true));
        assert_eq!(w.len(), 1);
        assert_eq!(w.success_ratio(), Some(1.0));
        assert!(
            LatencyWindow::new(Duration::from_secs(1))
                .percentile_ms(99.0)
                .is_none()
        );
    }
}
