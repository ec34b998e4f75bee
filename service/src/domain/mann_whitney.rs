//! The one-sided Mann-Whitney U test (Wilcoxon rank-sum): is sample `y` stochastically
//! greater than sample `x`? Rank-based, so it assumes nothing about the distributions'
//! shape — latencies are skewed and long-tailed — and a failed request, counted as an
//! infinite latency, simply takes the highest rank.
//!
//! The p-value follows scipy's `mannwhitneyu(y, x, alternative="greater")` with
//! `method="auto"`: the exact null distribution when the smaller sample has at most 8
//! values and there are no ties, otherwise the normal approximation with tie correction
//! and continuity correction. The tests compare against values scipy 1.17 computed.

use statrs::distribution::{ContinuousCDF, Normal};

/// Largest smaller-sample size for which the exact distribution is used (scipy's rule).
const EXACT_MAX: usize = 8;

/// The result of one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of `y`: the number of (x, y) pairs with y > x, ties counting one half.
    pub u: f64,
    /// One-sided p-value for "y is greater than x".
    pub p: f64,
    /// Whether the exact distribution (rather than the normal approximation) gave `p`.
    pub exact: bool,
}

/// Tests whether `y` tends to be greater than `x`. Both must be non-empty and free of NaN
/// (callers hold measured values; infinity is allowed and ranks highest).
pub fn greater(y: &[f64], x: &[f64]) -> MannWhitney {
    let (n1, n2) = (y.len(), x.len());
    debug_assert!(n1 > 0 && n2 > 0, "Mann-Whitney needs two non-empty samples");
    let (rank_sum_y, tie_term, ties) = ranks(y, x);
    let u = rank_sum_y - (n1 * (n1 + 1)) as f64 / 2.0;
    if !ties && n1.min(n2) <= EXACT_MAX {
        return MannWhitney {
            u,
            p: exact_sf(u, n1, n2),
            exact: true,
        };
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let n = n1f + n2f;
    let mu = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    let p = if var <= 0.0 {
        // Every value is the same: no evidence either way.
        1.0
    } else {
        let z = (u - mu - 0.5) / var.sqrt();
        let normal = Normal::standard();
        normal.sf(z)
    };
    MannWhitney {
        u,
        p: p.clamp(0.0, 1.0),
        exact: false,
    }
}

/// Rank sum of `y` in the pooled sample (mid-ranks for ties), the tie term Σ(t³ - t) and
/// whether any value is tied.
fn ranks(y: &[f64], x: &[f64]) -> (f64, f64, bool) {
    let mut pooled: Vec<(f64, bool)> = y
        .iter()
        .map(|v| (*v, true))
        .chain(x.iter().map(|v| (*v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut tie_term, mut ties) = (0.0, 0.0, false);
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i + 1;
        while j < pooled.len() && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        let t = (j - i) as f64;
        // Ranks i+1 ..= j share their mean.
        let mid = (i + 1 + j) as f64 / 2.0;
        rank_sum += mid * pooled[i..j].iter().filter(|(_, is_y)| *is_y).count() as f64;
        if j - i > 1 {
            ties = true;
            tie_term += t * t * t - t;
        }
        i = j;
    }
    (rank_sum, tie_term, ties)
}

/// P(U >= u) under the null hypothesis, from the exact distribution of U for samples of
/// `n1` and `n2` values without ties.
fn exact_sf(u: f64, n1: usize, n2: usize) -> f64 {
    let counts = u_counts(n1.min(n2), n1.max(n2));
    let total: i128 = counts.iter().sum();
    // U is a whole number without ties; round in case of float noise.
    let from = (u.round().max(0.0) as usize).min(counts.len());
    let tail: i128 = counts[from..].iter().sum();
    tail as f64 / total as f64
}

/// How many arrangements give each U = 0 ..= m·n: the coefficients of the Gaussian
/// binomial [m+n choose m](q) = Π_{i=1..m} (1 - q^(n+i)) / (1 - q^i). After step i the
/// polynomial is [n+i choose i], whose coefficients are positive and at most C(n+i, i),
/// so the integer arithmetic is exact (C(10 008, 8) < 2^127).
fn u_counts(m: usize, n: usize) -> Vec<i128> {
    let top = m * n;
    let mut c = vec![0_i128; top + 1];
    c[0] = 1;
    for i in 1..=m {
        // Multiply by (1 - q^(n+i)), highest degree first so each term is read unchanged.
        let k = n + i;
        for d in (k..=top).rev() {
            c[d] -= c[d - k];
        }
        // Divide by (1 - q^i): a running sum with stride i.
        for d in i..=top {
            c[d] += c[d - i];
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: `scipy.stats.mannwhitneyu(y, x, alternative="greater")`,
    /// scipy 1.17.1, default method ("auto").
    #[track_caller]
    fn check(y: &[f64], x: &[f64], u: f64, p: f64, exact: bool) {
        let r = greater(y, x);
        assert_eq!(r.u, u, "U");
        assert_eq!(r.exact, exact, "method");
        assert!(
            (r.p - p).abs() <= 1e-9 * p.max(1e-300) + 1e-15,
            "p = {}, scipy {p}",
            r.p
        );
    }

    #[test]
    fn small_samples_without_ties_use_the_exact_distribution() {
        check(
            &[3.5, 6.0, 7.0, 8.0, 9.0, 10.0],
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            28.0,
            0.008658008658008658,
            true,
        );
        check(
            &[2.5, 4.5, 6.5, 8.5, 9.5],
            &[1.1, 2.2, 3.3, 4.4, 5.5, 6.6, 7.7],
            25.0,
            0.13383838383838387,
            true,
        );
        // One small sample and one large: still exact.
        let y: Vec<f64> = (0..30).map(|i| 1.05 + 0.1 * i as f64).collect();
        check(
            &y,
            &[0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7],
            194.0,
            7.071069689665515e-05,
            true,
        );
    }

    #[test]
    fn ties_use_the_normal_approximation_with_tie_and_continuity_correction() {
        check(
            &[3.0, 3.0, 4.0, 5.0, 5.0, 6.0, 6.0, 7.0, 8.0, 8.0, 9.0],
            &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0, 5.0, 6.0],
            90.5,
            0.0063018029920819596,
            false,
        );
        let x = [
            10.0, 12.0, 11.0, 13.0, 12.0, 14.0, 11.0, 10.0, 13.0, 12.0, 15.0, 11.0,
        ];
        let y = [
            11.0, 13.0, 12.0, 10.0, 14.0, 12.0, 11.0, 13.0, 12.0, 10.0, 12.0, 14.0,
        ];
        check(&y, &x, 74.0, 0.46472020704141537, false);
    }

    #[test]
    fn failures_counted_as_infinite_rank_highest() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let inf = f64::INFINITY;
        let y = [5.0, 6.0, 7.0, 8.0, inf, inf, 9.0, 10.0, 11.0, 12.0];
        check(&y, &x, 82.0, 0.008482456476793564, false);
    }

    #[test]
    fn a_shifted_latency_distribution_is_significant() {
        // Lognormal latencies around 10 ms (x, 40 samples) and 13 ms (y, 60 samples),
        // rounded to 0.1 ms as a probe would see them (so with ties).
        let x = [
            0.01, 0.0109, 0.0092, 0.0077, 0.0087, 0.0074, 0.0102, 0.0149, 0.0086, 0.0083, 0.0116,
            0.0111, 0.0103, 0.0076, 0.0099, 0.0123, 0.0067, 0.0087, 0.0057, 0.0068, 0.0058, 0.0093,
            0.0068, 0.0108, 0.0105, 0.0095, 0.0047, 0.0085, 0.0099, 0.0103, 0.0063, 0.0087, 0.0075,
            0.0078, 0.0137, 0.0078, 0.0099, 0.013, 0.0084, 0.0097,
        ];
        let y = [
            0.0134, 0.0133, 0.009, 0.0133, 0.0195, 0.0082, 0.0168, 0.0135, 0.0107, 0.0237, 0.0163,
            0.0091, 0.0133, 0.0155, 0.0123, 0.016, 0.0127, 0.0159, 0.02, 0.0106, 0.0138, 0.0113,
            0.0135, 0.0091, 0.0109, 0.0123, 0.017, 0.0183, 0.0087, 0.0102, 0.0158, 0.0072, 0.0113,
            0.0126, 0.019, 0.016, 0.0118, 0.0116, 0.0121, 0.0205, 0.0114, 0.0119, 0.0145, 0.0125,
            0.0123, 0.0093, 0.013, 0.0114, 0.0184, 0.0158, 0.0129, 0.0159, 0.0117, 0.0178, 0.013,
            0.0155, 0.0088, 0.0144, 0.0078, 0.0071,
        ];
        check(&y, &x, 2042.0, 1.5935231797524912e-09, false);
        // The other way round is nowhere near significant.
        assert!(greater(&x, &y).p > 0.99);
    }

    #[test]
    fn identical_samples_give_no_evidence() {
        let r = greater(&[5.0; 20], &[5.0; 20]);
        assert_eq!((r.u, r.p), (200.0, 1.0));
    }

    #[test]
    fn exact_counts_are_the_gaussian_binomial() {
        // [4 choose 2](q) = 1 + q + 2q² + q³ + q⁴.
        assert_eq!(u_counts(2, 2), vec![1, 1, 2, 1, 1]);
        // Sums to C(m+n, m), and is symmetric.
        let c = u_counts(8, 10_000);
        let total: i128 = c.iter().sum();
        assert_eq!(total, (1..=8).fold(1_i128, |a, k| a * (10_000 + k) / k));
        assert_eq!(c[1], c[c.len() - 2]);
    }
}
