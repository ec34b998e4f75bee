//! `verify:` on a fault step: how the run checks, after applying, that the fault took
//! effect. On by default (`within: 5s`, `minCoverage: 100%`); `verify: false` turns it off.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::units::{Duration, Percent};

/// How long to look for a fault's effect, and on how many of its targets it must be seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Verify {
    /// How long after the apply the effect may take to be seen (default 5s).
    #[serde(default = "Verify::default_within")]
    pub within: Duration,
    /// The share of the selected targets it must be seen on (default 100%).
    #[serde(default = "Verify::default_min_coverage")]
    pub min_coverage: Percent,
}

impl Default for Verify {
    fn default() -> Self {
        Verify {
            within: Verify::default_within(),
            min_coverage: Verify::default_min_coverage(),
        }
    }
}

impl Verify {
    /// 5s.
    pub const fn default_within() -> Duration {
        Duration::from_secs(5)
    }

    /// 100%.
    pub fn default_min_coverage() -> Percent {
        Percent::new(100.0).expect("100 is a percentage")
    }

    /// The default a step gets when it says nothing: on, with the default values.
    pub fn on() -> Option<Verify> {
        Some(Verify::default())
    }

    /// True if `v` is the default, which a step's JSON leaves out.
    pub fn is_default(v: &Option<Verify>) -> bool {
        *v == Verify::on()
    }

    /// Whether `affected` of `selected` targets is enough.
    pub fn covered(&self, affected: usize, selected: usize) -> bool {
        selected == 0 || affected as f64 * 100.0 >= self.min_coverage.value() * selected as f64
    }
}

/// `verify` in a step's JSON: `false` for off, the object for on.
pub mod serde_field {
    use super::*;

    /// `None` as `false`, `Some` as the object.
    pub fn serialize<S: Serializer>(v: &Option<Verify>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => v.serialize(s),
            None => s.serialize_bool(false),
        }
    }

    /// `false` is off, `true` the default, an object its values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Verify>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            On(Verify),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Flag(false) => None,
            Raw::Flag(true) => Verify::on(),
            Raw::On(v) => Some(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_counts_against_the_share_asked() {
        let v = Verify {
            within: Duration::from_secs(1),
            min_coverage: Percent::new(50.0).unwrap(),
        };
        assert!(v.covered(1, 2) && !v.covered(0, 2) && v.covered(0, 0));
        assert!(Verify::default().covered(3, 3) && !Verify::default().covered(2, 3));
    }
}
