//! Turns a spec'd steady-state check into measurements judged against its expectation.
//!
//! Values are in base units: a Prometheus check's value is the query's result; an HTTP
//! check's `value` is the share of good answers (0..=1) and its latency statistics
//! (`p99`, `mean`, ...) are in seconds, the unit `expect` thresholds are converted to
//! (`300ms` = 0.3).

use std::time::Duration;

use faultline_spec::SteadyCheck;
use faultline_spec::steady::{HttpMethod, Probe, Statistic};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::error::ProbeError;
use super::http::{HttpProbe, HttpProbeError, HttpSample, LatencyWindow};
use super::prometheus::PrometheusClient;
use super::timer;

/// Samples an HTTP check takes for one judgement outside the `during` phase.
const HTTP_SAMPLES_PER_JUDGEMENT: usize = 3;
/// How often a Prometheus check is evaluated while faults are active.
const PROMETHEUS_EVERY: Duration = Duration::from_secs(1);

/// Why a check could not be prepared; nothing is injected then.
#[derive(Debug, thiserror::Error)]
pub enum CheckSetupError {
    /// A Prometheus check without a Prometheus server to ask.
    #[error(
        "steady-state check `{check}` queries Prometheus, but no Prometheus URL is configured (--prometheus URL or FAULTLINE_PROMETHEUS_URL)"
    )]
    NoPrometheus {
        /// The check's name.
        check: String,
    },
    /// An HTTP check whose probe could not be set up.
    #[error("steady-state check `{check}`")]
    Http {
        /// The check's name.
        check: String,
        /// Why.
        #[source]
        source: HttpProbeError,
    },
}

/// Why one measurement has no value; its message is the evaluation's `error`.
#[derive(Debug, thiserror::Error)]
enum Unmeasured {
    /// Prometheus gave no value.
    #[error(transparent)]
    Prometheus(#[from] ProbeError),
    /// The window holds no sample yet.
    #[error("no samples yet")]
    NoSamples,
    /// The window's requests failed (one counts as infinitely slow): the last one's error.
    #[error("{0}")]
    Failed(String),
}

/// One measurement taken while faults are active, for [`CheckProbe::observe`].
pub struct Measurement(Taken);

enum Taken {
    Query(Result<f64, Unmeasured>),
    Request(HttpSample),
}

/// One judgement of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The measured value, if one could be measured.
    pub value: Option<f64>,
    /// Whether it met the expectation (never true without a value).
    pub ok: bool,
    /// Why there is no value, or why the probe failed.
    pub error: Option<String>,
}

enum Measure {
    Prometheus {
        client: PrometheusClient,
        query: String,
    },
    Http {
        probe: HttpProbe,
        every: Duration,
    },
}

impl Measure {
    fn every(&self) -> Duration {
        match self {
            Measure::Prometheus { .. } => PROMETHEUS_EVERY,
            Measure::Http { every, .. } => *every,
        }
    }
}

/// A check ready to measure.
pub struct CheckProbe {
    /// The check as spec'd.
    pub check: SteadyCheck,
    measure: Measure,
    /// An HTTP check's latest requests while faults are active, judged together.
    window: LatencyWindow,
    /// Every raw measurement (a request's latency in seconds, a query's value; `None` when
    /// it failed), kept for the statistical verdict of checks with `compare:`.
    samples: Vec<Option<f64>>,
}

impl CheckProbe {
    /// Prepares `check`. A Prometheus check needs a Prometheus server: without one this
    /// fails, naming the check, before anything is injected.
    pub fn new(
        check: &SteadyCheck,
        prometheus: Option<&PrometheusClient>,
    ) -> Result<CheckProbe, CheckSetupError> {
        let measure = match &check.probe {
            Probe::Prometheus(query) => {
                let client = prometheus
                    .cloned()
                    .ok_or_else(|| CheckSetupError::NoPrometheus {
                        check: check.name.clone(),
                    })?;
                Measure::Prometheus {
                    client,
                    query: query.clone(),
                }
            }
            Probe::Http(h) => {
                let probe = HttpProbe::new(
                    &h.url,
                    method_name(h.method),
                    h.status,
                    h.body_contains.clone(),
                    h.timeout.std(),
                )
                .map_err(|source| CheckSetupError::Http {
                    check: check.name.clone(),
                    source,
                })?;
                let every = h.every.std().max(Duration::from_millis(10));
                Measure::Http { probe, every }
            }
        };
        // While faults are active, an HTTP check judges the requests sent in the last five
        // intervals: long enough to smooth one slow answer, short enough to see an outage
        // within seconds.
        let window = LatencyWindow::new(measure.every() * 5);
        Ok(CheckProbe {
            check: check.clone(),
            measure,
            window,
            samples: Vec::new(),
        })
    }

    /// How often the check is measured while faults are active.
    pub fn interval(&self) -> Duration {
        self.measure.every()
    }

    /// Starts the next measurement while faults are active (one request, or one query),
    /// as a future that owns what it needs: the monitor starts one every
    /// [`CheckProbe::interval`] without waiting for the last to answer, so a slowed service
    /// is measured as often as a healthy one instead of once per slow answer (the
    /// coordinated-omission error of a probe that waits).
    pub fn start_measurement(&self) -> BoxFuture<'static, Measurement> {
        match &self.measure {
            Measure::Prometheus { client, query } => {
                let (client, query) = (client.clone(), query.clone());
                async move {
                    let v = client.instant(&query).await.map_err(Unmeasured::from);
                    Measurement(Taken::Query(v))
                }
                .boxed()
            }
            Measure::Http { probe, .. } => {
                let probe = probe.clone();
                async move { Measurement(Taken::Request(probe.sample().await)) }.boxed()
            }
        }
    }

    /// Keeps `m` and judges the current window with it.
    pub fn observe(&mut self, m: Measurement) -> Evaluation {
        match m.0 {
            Taken::Query(v) => {
                self.samples.push(v.as_ref().ok().copied());
                judge(&self.check, v)
            }
            Taken::Request(s) => {
                self.samples.push(latency(&s));
                self.window.push(s);
                let v = stat(&self.window, self.check.expect.statistic);
                judge(&self.check, v)
            }
        }
    }

    /// The baseline of a check with `compare:`: `n` measurements one interval apart,
    /// judged together against `expect` (an HTTP window of all `n` requests; for a query,
    /// its median, and every value must hold).
    pub async fn measure_baseline(&mut self, n: usize) -> Evaluation {
        let every = self.interval();
        match &mut self.measure {
            Measure::Prometheus { client, query } => {
                let mut values = Vec::with_capacity(n);
                let mut failed = 0;
                let mut last_error = None;
                // Start to start, as the HTTP baseline and the monitor while faults are
                // active: a slow query does not stretch the baseline.
                let start = tokio::time::Instant::now();
                for i in 0..n {
                    if i > 0 {
                        timer::sleep_until(start + every * i as u32).await;
                    }
                    let v = client.instant(query).await.map_err(Unmeasured::from);
                    self.samples.push(v.as_ref().ok().copied());
                    match v {
                        Ok(v) => {
                            failed += usize::from(!self.check.expect.holds(v));
                            values.push(v);
                        }
                        Err(e) => {
                            failed += 1;
                            last_error = Some(e.to_string());
                        }
                    }
                }
                values.sort_by(f64::total_cmp);
                let value = values.get(values.len() / 2).copied();
                Evaluation {
                    value,
                    ok: value.is_some() && failed == 0,
                    error: last_error.or_else(|| {
                        (failed > 0).then(|| {
                            format!("{failed} of {n} baseline values did not meet the expectation")
                        })
                    }),
                }
            }
            Measure::Http { probe, .. } => {
                let mut window = LatencyWindow::new(Duration::MAX / 4);
                // `every` apart from start to start, as while faults are active, so both
                // windows sample the service at the same rate.
                let start = tokio::time::Instant::now();
                for i in 0..n {
                    if i > 0 {
                        timer::sleep_until(start + every * i as u32).await;
                    }
                    let s = probe.sample().await;
                    self.samples.push(latency(&s));
                    window.push(s);
                }
                let v = stat(&window, self.check.expect.statistic);
                judge(&self.check, v)
            }
        }
    }

    /// The raw measurements so far, leaving none.
    pub fn take_samples(&mut self) -> Vec<Option<f64>> {
        std::mem::take(&mut self.samples)
    }

    /// The unit of [`CheckProbe::take_samples`]' values: seconds for an HTTP check.
    pub fn sample_unit(&self) -> Option<&'static str> {
        match self.measure {
            Measure::Prometheus { .. } => None,
            Measure::Http { .. } => Some("s"),
        }
    }

    /// A fresh judgement: one query, or a few HTTP samples `every` apart.
    pub async fn measure_once(&mut self) -> Evaluation {
        match &mut self.measure {
            Measure::Prometheus { client, query } => judge(
                &self.check,
                client.instant(query).await.map_err(Unmeasured::from),
            ),
            Measure::Http { probe, every, .. } => {
                let mut window = LatencyWindow::new(Duration::MAX / 4);
                // `every` apart from start to start: a slow answer does not stretch the
                // judgement by its own latency.
                let start = tokio::time::Instant::now();
                for i in 0..HTTP_SAMPLES_PER_JUDGEMENT {
                    if i > 0 {
                        timer::sleep_until(start + *every * i as u32).await;
                    }
                    window.push(probe.sample().await);
                }
                let v = stat(&window, self.check.expect.statistic);
                judge(&self.check, v)
            }
        }
    }

    /// If `value` crossed one of the check's abort bounds, says which.
    pub fn abort_breach(&self, value: f64) -> Option<String> {
        let name = &self.check.name;
        if let Some(low) = self.check.abort_below.filter(|low| value < *low) {
            return Some(format!(
                "abort bound breached: `{name}` = {value} is below abortBelow {low}"
            ));
        }
        if let Some(high) = self.check.abort_above.filter(|high| value > *high) {
            return Some(format!(
                "abort bound breached: `{name}` = {value} is above abortAbove {high}"
            ));
        }
        None
    }
}

fn judge(check: &SteadyCheck, value: Result<f64, Unmeasured>) -> Evaluation {
    match value {
        Ok(v) => Evaluation {
            value: Some(v),
            ok: check.expect.holds(v),
            error: None,
        },
        Err(e) => Evaluation {
            value: None,
            ok: false,
            error: Some(e.to_string()),
        },
    }
}

/// A request's latency in seconds; `None` when it got no good answer.
fn latency(s: &HttpSample) -> Option<f64> {
    s.latency.filter(|_| s.ok).map(|l| l.as_secs_f64())
}

fn method_name(m: HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "GET",
        HttpMethod::Head => "HEAD",
        HttpMethod::Post => "POST",
    }
}

/// The statistic of an HTTP window, in base units (ratio, or seconds).
fn stat(w: &LatencyWindow, s: Statistic) -> Result<f64, Unmeasured> {
    let no_samples = || Unmeasured::NoSamples;
    let ms = |q: f64| w.percentile_ms(q).ok_or_else(no_samples).map(|v| v / 1e3);
    let v = match s {
        Statistic::Value => w.success_ratio().ok_or_else(no_samples)?,
        Statistic::P50 => ms(50.0)?,
        Statistic::P90 => ms(90.0)?,
        Statistic::P95 => ms(95.0)?,
        Statistic::P99 => ms(99.0)?,
        Statistic::Max => ms(100.0)?,
        Statistic::Min => ms(0.0)?,
        Statistic::Mean => w.mean_ms().ok_or_else(no_samples)? / 1e3,
    };
    if v.is_finite() {
        Ok(v)
    } else {
        // A failed request counts as infinitely slow; report why instead of `inf`.
        Err(Unmeasured::Failed(
            w.last_error().unwrap_or("request failed").to_string(),
        ))
    }
}
