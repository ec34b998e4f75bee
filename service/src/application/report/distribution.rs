//! The picture of a statistical verdict: the `before` and `during` samples of a check
//! with `compare:` side by side on one value axis, each as a box plot (quartiles, median,
//! whiskers to min and max) over a strip of every kept sample, so a person sees the shift
//! the test judged — and whether it is a shift of the whole distribution or of a tail.

use serde::Serialize;

use crate::domain::compare::show;
use crate::domain::{Comparison, SampleSummary};

/// Plot area, in SVG pixels.
pub const WIDTH: f64 = 360.0;
/// Plot area height.
pub const HEIGHT: f64 = 200.0;
/// Left margin, for the axis labels.
pub const LEFT: f64 = 70.0;
const TOP: f64 = 20.0;
const BOX_W: f64 = 60.0;

/// One comparison, ready for the template.
#[derive(Debug, Serialize)]
pub struct Plot {
    /// Check name.
    pub check: String,
    /// Whether the check held.
    pub ok: bool,
    /// The verdict line.
    pub reason: String,
    /// `maxIncrease 20%`.
    pub limit: String,
    /// Both windows: before, then during.
    pub boxes: Vec<BoxGlyph>,
    /// Axis ticks.
    pub ticks: Vec<Tick>,
}

/// One window's box plot and strip.
#[derive(Debug, Serialize)]
pub struct BoxGlyph {
    /// `before` or `during`.
    pub label: String,
    /// Centre of the box.
    pub x: f64,
    /// Left edge of the box.
    pub x0: f64,
    /// Box width.
    pub w: f64,
    /// y of the third quartile (top of the box).
    pub q3: f64,
    /// Box height (at least 1 px, so a window of equal values still shows).
    pub h: f64,
    /// y of the first quartile.
    pub q1: f64,
    /// y of the median.
    pub median: f64,
    /// y of the top whisker.
    pub max: f64,
    /// y of the bottom whisker.
    pub min: f64,
    /// The strip: one dot per kept sample.
    pub dots: Vec<(f64, f64)>,
    /// `n = 20, median 4.43 ms`, and failures if any.
    pub caption: String,
}

/// A value on the axis.
#[derive(Debug, Serialize)]
pub struct Tick {
    /// y.
    pub y: f64,
    /// The value as text.
    pub text: String,
}

/// Lays out `c` (of check `check`).
pub fn plot(check: &str, c: &Comparison) -> Plot {
    let unit = c.unit.as_deref();
    let finite = |s: &SampleSummary| {
        s.values
            .iter()
            .copied()
            .chain([s.min, s.max].into_iter().flatten())
            .collect::<Vec<_>>()
    };
    let all: Vec<f64> = finite(&c.baseline)
        .into_iter()
        .chain(finite(&c.during))
        .collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    // Failed samples sit at the top: worse than anything measured.
    let y = |v: Option<f64>| v.map_or(TOP, |v| TOP + (hi - v) / (hi - lo) * HEIGHT);
    let glyph = |i: usize, label: &str, s: &SampleSummary| {
        let x = LEFT + WIDTH * (0.25 + 0.5 * i as f64);
        let dots = s
            .values
            .iter()
            .enumerate()
            // A deterministic spread (golden-ratio steps) so equal values do not overlap.
            .map(|(k, v)| {
                let jitter = ((k as f64 * 0.618_034) % 1.0 - 0.5) * BOX_W * 1.6;
                (x + jitter, y(Some(*v)))
            })
            .collect();
        let mut caption = format!("n = {}, median {}", s.count, show(s.median, unit));
        if s.failed > 0 {
            caption.push_str(&format!(", {} failed", s.failed));
        }
        BoxGlyph {
            label: label.to_string(),
            x,
            x0: x - BOX_W / 2.0,
            w: BOX_W,
            q3: y(s.q3),
            h: (y(s.q1) - y(s.q3)).max(1.0),
            q1: y(s.q1),
            median: y(s.median),
            max: y(s.max),
            min: y(s.min),
            dots,
            caption,
        }
    };
    let ticks = (0..=4)
        .map(|k| {
            let v = lo + (hi - lo) * k as f64 / 4.0;
            Tick {
                y: y(Some(v)),
                text: show(Some(v), unit),
            }
        })
        .collect();
    Plot {
        check: check.to_string(),
        ok: c.ok,
        reason: c.reason.clone(),
        limit: c.limit.clone(),
        boxes: vec![
            glyph(0, "before", &c.baseline),
            glyph(1, "during", &c.during),
        ],
        ticks,
    }
}
