//! How many of the matching pods a selection mode picks (Chaos Mesh's
//! `FilterObjectsByMode`): the guard's worst case before a run, and the share a
//! percentage picks. Shared by the dry run, which reports it, and the Kubernetes adapter,
//! which chooses by it.

use faultline_spec::Mode;

/// How many pods `mode` picks from `n` matching pods at most: the guard's worst case
/// (for `random-max-percent`, the count at the maximum percentage).
pub fn max_chosen(mode: Mode, n: usize) -> usize {
    match mode {
        Mode::One => n.min(1),
        Mode::All => n,
        Mode::Fixed(k) => n.min(k as usize),
        Mode::FixedPercent(p) | Mode::RandomMaxPercent(p) => share(n, whole_percent(p.value())),
    }
}

/// Chaos Mesh parses the percentage with `Atoi`, so only whole percents exist there; ours
/// may carry a fraction, which is dropped so a share never exceeds what was written.
pub fn whole_percent(p: f64) -> u32 {
    // In 0..=100 by `Percent`'s invariant, so the cast cannot truncate anything but the
    // fraction.
    p.floor() as u32
}

/// `percent` % of `n`, rounded down.
pub fn share(n: usize, percent: u32) -> usize {
    n * percent as usize / 100
}
