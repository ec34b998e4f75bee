//! The `@` forms of a schedule, as robfig/cron v3's standard parser (Chaos Mesh's) reads
//! them: the descriptors `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily`
//! (`@midnight`), `@hourly`, each a fixed 5-field expression, and `@every <duration>`.
//!
//! `@every` has no wall clock. robfig counts it from the moment the schedule is added to a
//! running cron, so a restart (or a new leader) shifts every later time. faultline counts
//! it from the Unix epoch instead: `@every 2m` fires at the instants that are whole
//! multiples of two minutes since 1970-01-01T00:00:00Z. Every replica and every restart
//! then agree on the times, so a leader change neither doubles nor skips one, and a time
//! missed while the service was down is known. The zone plays no part. As robfig does, a
//! fraction of a second is dropped and less than a second is refused (robfig rounds it up
//! to 1s silently; here the spec says what it means).

use crate::units::Duration;

/// What an `@` form stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shorthand {
    /// A descriptor: the 5-field expression it abbreviates.
    Cron(&'static str),
    /// `@every`: a fixed interval of whole seconds, counted from the Unix epoch.
    Every(u64),
}

/// Why an `@` form was refused (printed inside [`crate::ScheduleError::Shorthand`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShorthandError {
    /// Not one of robfig's descriptors.
    #[error(
        "`{0}` is not a descriptor; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or `@every <duration>`"
    )]
    Unknown(String),
    /// `@every` with a duration that does not parse.
    #[error("`@every` needs a duration like `2s` or `1h30m`: {0}")]
    BadInterval(String),
    /// `@every` with less than a second between runs.
    #[error("`@every {0}` is shorter than 1s; schedules fire at most once a second")]
    TooShort(String),
}

/// The descriptors and the expressions they stand for (robfig's `parseDescriptor`).
const DESCRIPTORS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// Reads an expression starting with `@` (trimmed); `None` when it does not.
pub fn parse(expr: &str) -> Option<Result<Shorthand, ShorthandError>> {
    if !expr.starts_with('@') {
        return None;
    }
    if let Some(rest) = expr.strip_prefix("@every") {
        let interval = rest.trim();
        return Some(every(interval));
    }
    let found = DESCRIPTORS
        .iter()
        .find(|(d, _)| d.eq_ignore_ascii_case(expr))
        .map(|(_, cron)| Shorthand::Cron(cron));
    Some(found.ok_or_else(|| ShorthandError::Unknown(expr.to_string())))
}

fn every(interval: &str) -> Result<Shorthand, ShorthandError> {
    let d: Duration = interval
        .parse()
        .map_err(|e: crate::units::UnitError| ShorthandError::BadInterval(e.to_string()))?;
    match d.std().as_secs() {
        0 => Err(ShorthandError::TooShort(interval.to_string())),
        secs => Ok(Shorthand::Every(secs)),
    }
}

/// The first multiple of `secs` seconds since the epoch strictly after `after`.
pub fn next_every(
    secs: u64,
    after: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let step = i64::try_from(secs).ok()?;
    let next = after
        .timestamp()
        .div_euclid(step)
        .checked_add(1)?
        .checked_mul(step)?;
    chrono::DateTime::from_timestamp(next, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn descriptors_stand_for_robfig_s_expressions() {
        assert_eq!(parse("@hourly"), Some(Ok(Shorthand::Cron("0 * * * *"))));
        assert_eq!(parse("@ANNUALLY"), Some(Ok(Shorthand::Cron("0 0 1 1 *"))));
        assert_eq!(parse("@weekly"), Some(Ok(Shorthand::Cron("0 0 * * 0"))));
        assert_eq!(parse("0 3 * * *"), None);
        let e = parse("@fortnightly").unwrap().unwrap_err().to_string();
        assert!(e.contains("`@fortnightly` is not a descriptor"), "{e}");
    }

    #[test]
    fn every_takes_whole_seconds_and_refuses_less_than_one() {
        assert_eq!(parse("@every 2s"), Some(Ok(Shorthand::Every(2))));
        assert_eq!(parse("@every 1h30m"), Some(Ok(Shorthand::Every(5400))));
        // A fraction is dropped, as robfig drops it.
        assert_eq!(parse("@every 1500ms"), Some(Ok(Shorthand::Every(1))));
        let e = parse("@every 500ms").unwrap().unwrap_err().to_string();
        assert!(e.contains("shorter than 1s"), "{e}");
        let e = parse("@every").unwrap().unwrap_err().to_string();
        assert!(e.contains("needs a duration"), "{e}");
        let e = parse("@every often").unwrap().unwrap_err().to_string();
        assert!(e.contains("needs a duration"), "{e}");
    }

    #[test]
    fn every_counts_from_the_epoch_so_restarts_agree() {
        let t = utc("2026-01-09T12:00:01.500Z");
        assert_eq!(next_every(2, t), Some(utc("2026-01-09T12:00:02Z")));
        // Strictly after: a time on the grid gives the next one.
        assert_eq!(
            next_every(2, utc("2026-01-09T12:00:02Z")),
            Some(utc("2026-01-09T12:00:04Z"))
        );
        assert_eq!(next_every(3600, t), Some(utc("2026-01-09T13:00:00Z")));
    }
}
