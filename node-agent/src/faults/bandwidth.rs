//! networkBandwidth: a tbf qdisc over netlink in the target's netns (see
//! [`super::shaping`] for interfaces, direction and recovery).

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::record::{FaultRecord, Recovered};
use super::shaping::{self, Shape};
use crate::error::{BandwidthError, FaultError};
use crate::netlink::{Peak, Tbf};
use faultline_spec::NodeFault;
use faultline_spec::fault::NetworkBandwidth;

/// The bandwidth fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Bandwidth;

fn spec(rec: &FaultRecord) -> Result<&NetworkBandwidth, FaultError> {
    match &rec.kind {
        NodeFault::NetworkBandwidth(b) => Ok(b),
        other => Err(FaultError::Unsupported {
            kind: other.name(),
            target: rec.target.to_string(),
            reason: "not a bandwidth fault".into(),
        }),
    }
}

/// The tbf options for a spec, or why the kernel cannot take them (tbf's burst, limit and
/// minburst are 32-bit byte counts; a peak rate needs a minburst and must exceed the rate).
/// The spec's check says the same before a run; this guards journals and API callers.
pub fn options(b: &NetworkBandwidth) -> Result<Tbf, BandwidthError> {
    let burst = u32::try_from(b.buffer.0)
        .map_err(|_| BandwidthError::BufferTooLarge { buffer: b.buffer })?;
    let limit =
        u32::try_from(b.limit.0).map_err(|_| BandwidthError::LimitTooLarge { limit: b.limit })?;
    if burst == 0 || limit == 0 {
        return Err(BandwidthError::Zero);
    }
    let rate = b.rate.bytes_per_sec().max(1);
    let peak = match (b.peakrate, b.minburst) {
        (None, None) => None,
        (Some(peak), Some(minburst)) => {
            let minburst = u32::try_from(minburst.0)
                .map_err(|_| BandwidthError::MinburstTooLarge { minburst })?;
            if peak.bytes_per_sec() <= rate || minburst == 0 {
                return Err(if minburst == 0 {
                    BandwidthError::PeakWithoutMinburst
                } else {
                    BandwidthError::PeakNotAboveRate { peak, rate: b.rate }
                });
            }
            Some(Peak {
                rate: peak.bytes_per_sec(),
                minburst,
            })
        }
        _ => return Err(BandwidthError::PeakWithoutMinburst),
    };
    Ok(Tbf {
        rate,
        burst,
        limit,
        peak,
    })
}

impl Fault for Bandwidth {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let b = spec(rec)?;
        let tbf = options(b).map_err(|e| FaultError::Unsupported {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            reason: e.to_string(),
        })?;
        shaping::apply(rec, &b.scope, Shape::Tbf(tbf)).await
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        shaping::recover(rec, &spec(rec)?.scope).await
    }

    /// The packets our qdiscs sent so far.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        match spec(rec) {
            Ok(b) => shaping::baseline(rec, &b.scope).await,
            Err(_) => Baseline::now(None),
        }
    }

    /// Our tbf qdisc on every chosen device, with the asked rate and limit.
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        let b = match spec(rec) {
            Ok(b) => b,
            Err(e) => return Observation::unseen(e.to_string()),
        };
        match options(b) {
            Ok(tbf) => shaping::observe(rec, &b.scope, &Shape::Tbf(tbf), since).await,
            Err(e) => Observation::unseen(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::{BitRate, Bytes, NetworkScope};

    fn spec(buffer: u64, limit: u64) -> NetworkBandwidth {
        NetworkBandwidth {
            rate: BitRate(8_000_000),
            limit: Bytes(limit),
            buffer: Bytes(buffer),
            peakrate: None,
            minburst: None,
            scope: NetworkScope::default(),
        }
    }

    #[test]
    fn options_the_kernel_cannot_take_say_which() {
        let t = options(&spec(10_000, 20_000)).unwrap();
        assert_eq!((t.rate, t.burst, t.limit), (1_000_000, 10_000, 20_000));
        let big = u64::from(u32::MAX) + 1;
        assert!(matches!(
            options(&spec(big, 1)),
            Err(BandwidthError::BufferTooLarge { .. })
        ));
        let e = options(&spec(1, big)).unwrap_err();
        assert!(matches!(e, BandwidthError::LimitTooLarge { .. }), "{e}");
        assert!(e.to_string().ends_with("is above tbf's 4 GiB"), "{e}");
        assert_eq!(options(&spec(0, 1)), Err(BandwidthError::Zero));
    }

    #[test]
    fn a_peak_needs_its_bucket_and_a_higher_rate() {
        let peak = |p: u64, m: Option<u64>| NetworkBandwidth {
            peakrate: Some(BitRate(p)),
            minburst: m.map(Bytes),
            ..spec(10_000, 20_000)
        };
        let t = options(&peak(16_000_000, Some(1500))).unwrap();
        assert_eq!(
            t.peak,
            Some(Peak {
                rate: 2_000_000,
                minburst: 1500
            })
        );
        assert_eq!(
            options(&peak(16_000_000, None)),
            Err(BandwidthError::PeakWithoutMinburst)
        );
        let e = options(&peak(8_000_000, Some(1500))).unwrap_err();
        assert_eq!(e.to_string(), "peakrate 8mbit must be above rate 8mbit");
        let e = options(&peak(16_000_000, Some(u64::from(u32::MAX) + 1))).unwrap_err();
        assert!(matches!(e, BandwidthError::MinburstTooLarge { .. }), "{e}");
    }
}
