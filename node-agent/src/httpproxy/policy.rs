//! What the HTTP proxy does to a request: the fault's [`Policy`] (which requests, which
//! side, what happens) and the [`Stats`] that `observe` reads back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use faultline_spec::NodeFault;
use faultline_spec::fault::http::HttpChanges;
use faultline_spec::fault::{HttpMatch, HttpTarget, HttpTls};

/// What a picked request (or its response) gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Held this long before it goes on.
    Delay(Duration),
    /// Answered with this status and body in the server's place.
    Abort {
        /// The status.
        code: u16,
        /// The body, if any.
        body: Option<String>,
    },
    /// The client's connection reset (RST).
    Reset,
    /// Headers set, body replaced or merge-patched.
    Replace(HttpChanges),
}

impl Action {
    /// The counter's word for it, as `observe` reports it.
    pub const fn verb(&self) -> &'static str {
        match self {
            Action::Delay(_) => "delayed",
            Action::Abort { .. } => "aborted",
            Action::Reset => "reset",
            Action::Replace(_) => "replaced",
        }
    }
}

/// Which requests the proxy acts on, on which side, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Which requests.
    pub matching: HttpMatch,
    /// Before the server sees the request, or after it answered.
    pub target: HttpTarget,
    /// What happens to a picked one.
    pub action: Action,
    /// HTTPS termination: the server's certificate and key (and a CA for upstream).
    pub tls: Option<HttpTls>,
}

impl Policy {
    /// The policy of an HTTP fault; `None` for another kind.
    pub fn of(kind: &NodeFault) -> Option<Policy> {
        let (matching, target, action, tls) = match kind {
            NodeFault::HttpDelay(d) => {
                (&d.matching, d.target, Action::Delay(d.delay.std()), &d.tls)
            }
            NodeFault::HttpAbort(a) => (
                &a.matching,
                a.target,
                Action::Abort {
                    code: a.code,
                    body: a.body.clone(),
                },
                &a.tls,
            ),
            NodeFault::HttpReset(r) => (&r.matching, r.target, Action::Reset, &r.tls),
            NodeFault::HttpReplace(r) => (
                &r.matching,
                r.target,
                Action::Replace(r.replace.clone()),
                &r.tls,
            ),
            _ => return None,
        };
        Some(Policy {
            matching: matching.clone(),
            target,
            action,
            tls: tls.clone(),
        })
    }

    /// True when the rule can be judged without reading HTTP (no method, path or
    /// header to match): a TLS connection is then faulted as a whole.
    pub fn applies_to_opaque_streams(&self) -> bool {
        self.matching.method.is_none()
            && self.matching.path.is_none()
            && self.matching.headers.is_empty()
    }
}

/// The proxy's counters since it started.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests read (HTTP) or connections taken whole (TLS).
    pub requests: AtomicU64,
    /// Requests the fault acted on.
    pub faulted: AtomicU64,
    /// Requests passed on untouched.
    pub forwarded: AtomicU64,
    /// Requests the fault picked but could not act on (a patch of a body that is not
    /// JSON); passed on untouched, so not counted as faulted.
    pub spared: AtomicU64,
}

impl Stats {
    /// (requests, faulted, forwarded, spared) now.
    pub fn read(&self) -> (u64, u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.faulted.load(Ordering::Relaxed),
            self.forwarded.load(Ordering::Relaxed),
            self.spared.load(Ordering::Relaxed),
        )
    }
}

/// A uniform draw in 0..1 for `probability` (xorshift; a fault's probability needs no
/// better).
#[derive(Debug)]
pub struct Dice(AtomicU64);

impl Dice {
    /// Seeded from the clock.
    pub fn new() -> Dice {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            | 1;
        Dice(AtomicU64::new(seed))
    }

    /// True with chance `share` (0..=1).
    pub fn hits(&self, share: f64) -> bool {
        if share >= 1.0 {
            return true;
        }
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.store(x, Ordering::Relaxed);
        ((x >> 11) as f64 / (1u64 << 53) as f64) < share
    }
}

impl Default for Dice {
    fn default() -> Self {
        Dice::new()
    }
}
