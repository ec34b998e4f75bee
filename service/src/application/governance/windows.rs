//! Change windows (`windows:` in serve's config): when chaos may run
//! (`Mon-Fri 09:00-16:00 Europe/Berlin`) and when it may not (`2026-12-20..2027-01-03`),
//! per experiment or namespace glob. Days and hours are read on the window's own wall
//! clock, so a window keeps its local hours across a daylight-saving change.
//!
//! Whether a time is allowed changes only at the edges of the windows (an allowed range's
//! start and end, a freeze's first and last day), so the next allowed time and the time a
//! window closes are found by checking those edges in order, never by stepping minutes.

use chrono::{
    DateTime, Datelike, Days, FixedOffset, LocalResult, NaiveDate, NaiveTime, Timelike, Utc,
};
use faultline_spec::Zone;

use crate::application::config_file::Glob;

/// How far ahead weekly ranges are looked through for the next allowed time (the end of
/// a freeze is found however far away it is).
pub const HORIZON_DAYS: u64 = 400;

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Why a window's text is not a window (the config reader adds file, line and field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The days part is not `Mon-Fri`, `Sat,Sun`, `Mon`.
    #[error("`{0}`: days must be like Mon-Fri, Sat,Sun or Wed (Mon Tue Wed Thu Fri Sat Sun)")]
    Days(String),
    /// The hours part is not `HH:MM-HH:MM`.
    #[error("`{0}`: hours must be like 09:00-16:00 (24:00 may end a range)")]
    Hours(String),
    /// The range ends where or before it starts.
    #[error("`{0}`: the range must end after it starts; split a range over midnight in two")]
    Backwards(String),
    /// The entry is not `DAYS HH:MM-HH:MM [ZONE]`.
    #[error("`{0}`: expected `DAYS HH:MM-HH:MM [ZONE]`, e.g. `Mon-Fri 09:00-16:00 Europe/Berlin`")]
    Shape(String),
    /// The freeze is not `YYYY-MM-DD..YYYY-MM-DD` (or one date).
    #[error("`{0}`: a freeze is YYYY-MM-DD..YYYY-MM-DD (both days included) or one YYYY-MM-DD")]
    Freeze(String),
    /// The time zone is not in the IANA database.
    #[error(transparent)]
    Zone(#[from] faultline_spec::ZoneError),
}

/// One weekly allowed range: on these days, from `start` to `end`, on this zone's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weekly {
    /// Monday first.
    days: [bool; 7],
    /// Minutes after midnight.
    start: u32,
    /// Minutes after midnight, up to 24 * 60.
    end: u32,
    zone: Zone,
    text: String,
}

impl Weekly {
    /// Parses `Mon-Fri 09:00-16:00 Europe/Berlin`; without a zone, `zone` is used.
    pub fn parse(text: &str, zone: &Zone) -> Result<Weekly, WindowError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let (days, hours, zone) = match parts.as_slice() {
            [d, h] => (*d, *h, zone.clone()),
            [d, h, z] => (*d, *h, faultline_spec::zone::parse_zone(z)?),
            _ => return Err(WindowError::Shape(text.to_string())),
        };
        let days = parse_days(days)?;
        let (start, end) = hours
            .split_once('-')
            .ok_or_else(|| WindowError::Hours(hours.to_string()))?;
        let (start, end) = (minute(start, hours)?, minute(end, hours)?);
        if end <= start {
            return Err(WindowError::Backwards(hours.to_string()));
        }
        Ok(Weekly {
            days,
            start,
            end,
            zone,
            text: text.trim().to_string(),
        })
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        let Some(wall) = self.zone.wall_clock(at) else {
            return false;
        };
        let m = wall.time().num_seconds_from_midnight() / 60;
        self.days[wall.weekday().num_days_from_monday() as usize] && m >= self.start && m < self.end
    }

    /// Every start and end of this range on the days from `from`, for `days` days.
    fn edges(&self, from: NaiveDate, days: u64, out: &mut Vec<DateTime<Utc>>) {
        for d in 0..days {
            let Some(date) = from.checked_add_days(Days::new(d)) else {
                break;
            };
            if self.days[date.weekday().num_days_from_monday() as usize] {
                out.extend(instant(&self.zone, date, self.start));
                out.extend(instant(&self.zone, date, self.end));
            }
        }
    }
}

/// Days of a freeze, both included, on the window's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    from: NaiveDate,
    to: NaiveDate,
}

impl Freeze {
    /// Parses `2026-12-20..2027-01-03` or `2026-12-24`.
    pub fn parse(text: &str) -> Result<Freeze, WindowError> {
        let bad = || WindowError::Freeze(text.to_string());
        let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad());
        let (from, to) = match text.split_once("..") {
            Some((a, b)) => (date(a)?, date(b)?),
            None => (date(text)?, date(text)?),
        };
        if to < from {
            return Err(bad());
        }
        Ok(Freeze { from, to })
    }
}

/// One entry of `windows:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeWindow {
    /// Its name in refusals and abort reasons.
    pub name: String,
    /// Experiments it governs (globs); with `namespaces` empty too, it governs every run.
    pub experiments: Vec<Glob>,
    /// Namespaces it governs (globs): a run touching any of them is governed.
    pub namespaces: Vec<Glob>,
    /// When runs may run; empty: at any time outside the freezes.
    pub allow: Vec<Weekly>,
    /// When no run may run.
    pub freezes: Vec<Freeze>,
    /// The clock of the freezes (and of `allow` entries that name no zone).
    pub zone: Zone,
}

/// A trigger refused by a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Outside {
    /// The window that refused (the first that does not allow now).
    pub window: String,
    /// Why, in words (`allowed Mon-Fri 09:00-16:00 Europe/Berlin`, `frozen 2026-12-20..2027-01-03`).
    pub why: String,
    /// The next time every governing window allows, on the refusing window's clock;
    /// `None` if there is none within [`HORIZON_DAYS`].
    pub next: Option<DateTime<FixedOffset>>,
}

impl std::fmt::Display for Outside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "outside change window `{}` ({})", self.window, self.why)?;
        match self.next {
            Some(t) => write!(f, "; next allowed {}", t.to_rfc3339()),
            None => write!(f, "; no allowed time in the next {HORIZON_DAYS} days"),
        }
    }
}

/// When a running run must stop, and which window says so.
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    /// The window.
    pub window: String,
    /// When it closes.
    pub at: DateTime<Utc>,
}

impl ChangeWindow {
    /// Whether this window governs a run of `experiment` touching `namespaces`.
    pub fn governs(&self, experiment: &str, namespaces: &[String]) -> bool {
        (self.experiments.is_empty() && self.namespaces.is_empty())
            || self.experiments.iter().any(|g| g.matches(experiment))
            || self
                .namespaces
                .iter()
                .any(|g| namespaces.iter().any(|n| g.matches(n)))
    }

    fn frozen(&self, at: DateTime<Utc>) -> Option<&Freeze> {
        let day = self.zone.wall_clock(at)?.date();
        self.freezes.iter().find(|f| f.from <= day && day <= f.to)
    }

    /// Whether a run may run at `at`.
    pub fn allows(&self, at: DateTime<Utc>) -> bool {
        self.frozen(at).is_none()
            && (self.allow.is_empty() || self.allow.iter().any(|w| w.contains(at)))
    }

    fn why_not(&self, at: DateTime<Utc>) -> String {
        match self.frozen(at) {
            Some(f) => format!("frozen {}..{} {}", f.from, f.to, self.zone.name()),
            None => {
                let texts: Vec<&str> = self.allow.iter().map(|w| w.text.as_str()).collect();
                format!("allowed {}", texts.join(", "))
            }
        }
    }

    /// Every instant at which this window may change its mind, from the day before
    /// `from` for `days` days.
    fn edges(&self, from: DateTime<Utc>, days: u64, out: &mut Vec<DateTime<Utc>>) {
        let start = from.date_naive().pred_opt().unwrap_or(from.date_naive());
        for w in &self.allow {
            w.edges(start, days + 1, out);
        }
        for f in &self.freezes {
            out.extend(instant(&self.zone, f.from, 0));
            if let Some(after) = f.to.succ_opt() {
                out.extend(instant(&self.zone, after, 0));
            }
        }
    }
}

/// The windows of `all` that govern a run of `experiment` touching `namespaces`.
pub fn governing<'a>(
    all: &'a [ChangeWindow],
    experiment: &str,
    namespaces: &[String],
) -> Vec<&'a ChangeWindow> {
    all.iter()
        .filter(|w| w.governs(experiment, namespaces))
        .collect()
}

/// `Ok(())` if every window in `windows` allows a run at `now`; else the first refusing
/// window with the next time all of them allow.
pub fn check(windows: &[&ChangeWindow], now: DateTime<Utc>) -> Result<(), Outside> {
    let Some(refusing) = windows.iter().find(|w| !w.allows(now)) else {
        return Ok(());
    };
    let next = first_edge(windows, now, HORIZON_DAYS, |t| {
        windows.iter().all(|w| w.allows(t))
    });
    Err(Outside {
        window: refusing.name.clone(),
        why: refusing.why_not(now),
        next: next.map(|t| refusing.zone.with_offset(t)),
    })
}

/// When a run allowed at `now` must stop: the first edge after `now` at which one of
/// `windows` stops allowing; `None` if none does within [`HORIZON_DAYS`].
pub fn closing(windows: &[&ChangeWindow], now: DateTime<Utc>) -> Option<Closing> {
    let at = first_edge(windows, now, HORIZON_DAYS, |t| {
        windows.iter().any(|w| !w.allows(t))
    })?;
    let window = windows.iter().find(|w| !w.allows(at))?;
    Some(Closing {
        window: window.name.clone(),
        at,
    })
}

fn first_edge(
    windows: &[&ChangeWindow],
    after: DateTime<Utc>,
    days: u64,
    wanted: impl Fn(DateTime<Utc>) -> bool,
) -> Option<DateTime<Utc>> {
    let mut edges = Vec::new();
    for w in windows {
        w.edges(after, days, &mut edges);
    }
    edges.retain(|t| *t > after);
    edges.sort();
    edges.dedup();
    edges.into_iter().find(|t| wanted(*t))
}

/// The instant the wall clock of `zone` reads `minute` minutes after the start of `date`
/// (24:00 is the next midnight). A time a spring-forward skips is taken as the first
/// instant after the gap; a time a fall-back repeats, as its first occurrence.
fn instant(zone: &Zone, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
    let (date, minute) = if minute >= 24 * 60 {
        (date.succ_opt()?, minute - 24 * 60)
    } else {
        (date, minute)
    };
    let wall = date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(
        minute * 60,
        0,
    )?);
    match zone.instants_of(wall) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
        // No zone skips more than an hour at once in practice; jiff gives the gap's end
        // for the wall time an hour on.
        LocalResult::None => match zone.instants_of(wall + chrono::Duration::hours(1)) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                Some(t - chrono::Duration::hours(1))
            }
            LocalResult::None => None,
        },
    }
}

fn parse_days(text: &str) -> Result<[bool; 7], WindowError> {
    let bad = || WindowError::Days(text.to_string());
    let day = |s: &str| {
        DAY_NAMES
            .iter()
            .position(|d| d.eq_ignore_ascii_case(s))
            .ok_or_else(bad)
    };
    let mut days = [false; 7];
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                // `Fri-Mon` wraps over the weekend.
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    Ok(days)
}

fn minute(hhmm: &str, whole: &str) -> Result<u32, WindowError> {
    let bad = || WindowError::Hours(whole.to_string());
    let (h, m) = hhmm.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn window(allow: &[&str], freeze: &[&str]) -> ChangeWindow {
        let zone = Zone::named("Europe/Berlin").unwrap();
        ChangeWindow {
            name: "business-hours".into(),
            experiments: vec![Glob::new("checkout-*")],
            namespaces: vec![Glob::new("shop")],
            allow: allow
                .iter()
                .map(|a| Weekly::parse(a, &zone).unwrap())
                .collect(),
            freezes: freeze.iter().map(|f| Freeze::parse(f).unwrap()).collect(),
            zone,
        }
    }

    #[test]
    fn inside_and_outside_on_the_window_s_own_clock() {
        let w = window(&["Mon-Fri 09:00-16:00 Europe/Berlin"], &[]);
        // Monday 2026-12-07, 08:30 UTC = 09:30 CET: inside.
        assert!(w.allows(utc("2026-12-07T08:30:00Z")));
        // 07:59 UTC = 08:59 CET: before.
        assert!(!w.allows(utc("2026-12-07T07:59:00Z")));
        // 15:00 UTC = 16:00 CET: the end is excluded.
        assert!(!w.allows(utc("2026-12-07T15:00:00Z")));
        // Saturday.
        assert!(!w.allows(utc("2026-12-12T10:00:00Z")));
        let e = check(&[&w], utc("2026-12-12T10:00:00Z")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "outside change window `business-hours` (allowed Mon-Fri 09:00-16:00 Europe/Berlin); next allowed 2026-12-14T09:00:00+01:00"
        );
    }

    #[test]
    fn a_freeze_refuses_inside_the_hours_and_the_next_time_is_after_it() {
        let w = window(
            &["Mon-Fri 09:00-16:00 Europe/Berlin"],
            &["2026-12-20..2027-01-03"],
        );
        // Monday 2026-12-21, 10:00 CET: a weekday hour, but frozen.
        let e = check(&[&w], utc("2026-12-21T09:00:00Z")).unwrap_err();
        assert!(e.why.contains("frozen 2026-12-20..2027-01-03"), "{e}");
        // 2027-01-03 is a Sunday (still frozen); Monday 2027-01-04 09:00 CET is next.
        assert_eq!(e.next.unwrap().to_rfc3339(), "2027-01-04T09:00:00+01:00");
        // The freeze's days are the window zone's: 2026-12-19 23:30 UTC is already the
        // 20th in Berlin.
        let sat = window(&[], &["2026-12-20"]);
        assert!(!sat.allows(utc("2026-12-19T23:30:00Z")));
        assert!(sat.allows(utc("2026-12-19T22:30:00Z")));
    }

    #[test]
    fn next_allowed_time_across_daylight_saving_changes() {
        let w = window(&["Mon-Fri 09:00-16:00 Europe/Berlin"], &[]);
        // Saturday 2026-03-28 (CET, +01:00); the clocks go forward on Sunday the 29th, so
        // Monday 09:00 is 07:00 UTC, not 08:00.
        let e = check(&[&w], utc("2026-03-28T12:00:00Z")).unwrap_err();
        assert_eq!(e.next.unwrap().to_rfc3339(), "2026-03-30T09:00:00+02:00");
        assert_eq!(e.next.unwrap().to_utc(), utc("2026-03-30T07:00:00Z"));
        // Saturday 2026-10-24 (CEST); back on Sunday the 25th: Monday 09:00 is 08:00 UTC.
        let e = check(&[&w], utc("2026-10-24T12:00:00Z")).unwrap_err();
        assert_eq!(e.next.unwrap().to_rfc3339(), "2026-10-26T09:00:00+01:00");
        assert_eq!(e.next.unwrap().to_utc(), utc("2026-10-26T08:00:00Z"));
        // A window through the changing night keeps its wall-clock hours: Sunday
        // 2026-03-29 01:00-04:00 lasts two real hours, 2026-10-25's lasts four.
        let night = window(&["Sun 01:00-04:00"], &[]);
        let open = utc("2026-03-29T00:30:00Z");
        assert!(night.allows(open));
        assert_eq!(
            closing(&[&night], open).unwrap().at,
            utc("2026-03-29T02:00:00Z")
        );
        let open = utc("2026-10-25T00:30:00Z");
        assert!(night.allows(open));
        assert_eq!(
            closing(&[&night], open).unwrap().at,
            utc("2026-10-25T03:00:00Z")
        );
    }

    #[test]
    fn a_running_run_closes_at_the_first_window_that_ends() {
        let hours = window(&["Mon-Fri 09:00-16:00 Europe/Berlin"], &[]);
        let mut lunch = window(&["Mon-Fri 09:00-12:00", "Mon-Fri 12:00-13:00"], &[]);
        lunch.name = "mornings".into();
        let now = utc("2026-12-07T09:00:00Z");
        // Adjacent ranges are one: mornings close at 13:00 CET, before business hours.
        let c = closing(&[&hours, &lunch], now).unwrap();
        assert_eq!(
            (c.window.as_str(), c.at),
            ("mornings", utc("2026-12-07T12:00:00Z"))
        );
        let c = closing(&[&hours], now).unwrap();
        assert_eq!(c.at, utc("2026-12-07T15:00:00Z"));
        // A freeze starting at midnight closes a window that is open around the clock.
        let always = window(&[], &["2026-12-08"]);
        assert_eq!(
            closing(&[&always], now).unwrap().at,
            utc("2026-12-07T23:00:00Z")
        );
    }

    #[test]
    fn globs_pick_the_runs_a_window_governs() {
        let w = window(&["Mon 09:00-10:00"], &[]);
        assert!(w.governs("checkout-latency", &[]));
        assert!(w.governs("other", &["shop".into()]));
        assert!(!w.governs("other", &["payments".into()]));
        let mut all = w.clone();
        all.experiments.clear();
        all.namespaces.clear();
        assert!(all.governs("anything", &[]));
    }

    #[test]
    fn bad_windows_say_what_is_wrong() {
        let z = Zone::utc();
        let e = |t: &str| Weekly::parse(t, &z).unwrap_err().to_string();
        assert!(e("Mon-Fry 09:00-16:00").contains("days must be like"));
        assert!(e("Mon-Fri 9-16").contains("hours must be like"));
        assert!(e("Mon-Fri 16:00-09:00").contains("split a range over midnight"));
        assert!(e("Mon-Fri 09:00-16:00 Europe/Berln").contains("Europe/Berlin"));
        assert!(e("weekdays").contains("expected `DAYS HH:MM-HH:MM [ZONE]`"));
        assert!(Weekly::parse("Fri-Mon 00:00-24:00", &z).is_ok());
        assert!(Freeze::parse("2027-01-03..2026-12-20").is_err());
        assert!(Freeze::parse("2026-12-32").is_err());
    }
}
