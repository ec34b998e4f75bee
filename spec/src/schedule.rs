//! `spec.schedule`: a cron expression, in UTC (the string form) or in a named IANA time
//! zone (`{ cron: "0 3 * * 1-5", timezone: Europe/Berlin }`).
//!
//! Daylight-saving rule, the one Vixie cron follows for fixed times: a schedule fires at
//! most once per wall-clock time. A local time that a spring-forward skips fires at the
//! end of the gap (02:30 on the day Berlin jumps from 02:00 to 03:00 fires at 03:00 CEST);
//! a local time that a fall-back repeats fires on its first occurrence only (02:30 CEST,
//! not again at 02:30 CET). The `cron` crate alone would skip the first and fire twice on
//! the second — a chaos experiment run twice at night, or silently not at all.
//!
//! Day rule, crontab(5)'s: when both the day-of-month and the weekday field are
//! restricted (neither is `*` or `?`), a day matches if either does, so `0 3 1 * MON` runs
//! on the 1st and on every Monday. The `cron` crate alone requires both (Quartz's
//! reading), which would run it only on a Monday the 1st: a few times a year.
//!
//! Chaos Mesh's `@` forms are read too (robfig/cron's standard parser): the descriptors
//! `@hourly` ... `@yearly` are their 5-field expressions under the rules above, and
//! `@every <duration>` fires at whole multiples of the interval since the Unix epoch, in
//! no zone ([`crate::cron_shorthand`] says why that anchor).

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::cron_shorthand::{self, Shorthand, ShorthandError};
use crate::schedule_policy::{ConcurrencyPolicy, SchedulePolicy};
use crate::units::Duration;
use crate::zone::{Zone, parse_zone};

/// Why a cron expression was refused. The reasons are printed inside the message (not as a
/// `source`): the decoder shows each spec error on one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Neither the 5 standard fields nor 6-7 with seconds.
    #[error(
        "cron expression `{expr}` has {fields} fields; write 5 (minute hour day month weekday) or 6-7 with seconds"
    )]
    FieldCount {
        /// The expression as written.
        expr: String,
        /// How many fields it has.
        fields: usize,
    },
    /// The weekday field is not standard cron.
    #[error("cron expression `{expr}`: {why}")]
    Weekday {
        /// The expression as written.
        expr: String,
        /// What is wrong with its weekday field.
        why: WeekdayError,
    },
    /// An `@` form that robfig/cron does not know, or a bad `@every`.
    #[error("cron expression `{expr}`: {why}")]
    Shorthand {
        /// The expression as written.
        expr: String,
        /// What is wrong with it.
        why: ShorthandError,
    },
    /// The `cron` crate refused a field.
    #[error("cron expression `{expr}` is invalid: {why}")]
    Invalid {
        /// The expression as written.
        expr: String,
        /// The last line of the `cron` crate's message (the reason without the caret line).
        why: String,
    },
}

/// What is wrong with a weekday field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeekdayError {
    /// Neither a number 0-7 nor a day name.
    #[error("weekday `{0}` is not 0-7 (0 and 7 are Sunday) or a name like MON")]
    NotADay(String),
    /// A `/step` that is not a positive number.
    #[error("weekday step `{0}` is not a positive number")]
    BadStep(String),
    /// A range whose start is after its end.
    #[error("weekday range `{0}` runs backwards; write e.g. `5-7` or `FRI,SAT,SUN`")]
    Backwards(String),
}

/// A validated cron expression, kept as written, with the zone its times are in and the
/// options of what happens at them.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    rule: Rule,
    /// `None`: the string form, UTC.
    zone: Option<Zone>,
    policy: SchedulePolicy,
}

/// How the times are computed.
#[derive(Debug, Clone)]
enum Rule {
    /// One schedule, or two under the day rule (days by date, days by weekday): the
    /// schedule fires at the earlier of their next times.
    Cron(Vec<cron::Schedule>),
    /// `@every`: whole multiples of this many seconds since the epoch.
    Every(u64),
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr && self.zone == other.zone && self.policy == other.policy
    }
}

impl Eq for Schedule {}

impl Schedule {
    /// Checks a cron expression: the standard 5 fields, 6/7 with seconds (and year), a
    /// descriptor like `@daily`, or `@every 2m`.
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let t = expr.trim();
        let rule = match cron_shorthand::parse(t) {
            None => cron_rule(t, t)?,
            Some(Ok(Shorthand::Cron(fields))) => cron_rule(t, fields)?,
            Some(Ok(Shorthand::Every(secs))) => Rule::Every(secs),
            Some(Err(why)) => {
                return Err(ScheduleError::Shorthand {
                    expr: t.to_string(),
                    why,
                });
            }
        };
        Ok(Schedule {
            expr: t.to_string(),
            rule,
            zone: None,
            policy: SchedulePolicy::default(),
        })
    }

    /// The same schedule with its times in `zone`.
    pub fn in_zone(self, zone: Zone) -> Schedule {
        Schedule {
            zone: Some(zone),
            ..self
        }
    }

    /// The same schedule with `policy`.
    pub fn with_policy(self, policy: SchedulePolicy) -> Schedule {
        Schedule { policy, ..self }
    }

    /// What happens at its times.
    pub fn policy(&self) -> &SchedulePolicy {
        &self.policy
    }

    /// Whether it is `@every` (no wall clock, so a time zone means nothing to it).
    pub fn is_every(&self) -> bool {
        matches!(self.rule, Rule::Every(_))
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    /// The zone named in the spec; `None` for the string form (UTC).
    pub fn zone(&self) -> Option<&Zone> {
        self.zone.as_ref()
    }

    /// The zone the cron fields are read in (UTC unless one is named).
    pub fn effective_zone(&self) -> Zone {
        self.zone.clone().unwrap_or_else(Zone::utc)
    }

    /// The first time strictly after `after` that the schedule fires, by the DST rule of
    /// the module doc.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.rule {
            Rule::Every(secs) => cron_shorthand::next_every(*secs, after),
            Rule::Cron(parsed) => {
                let zone = self.effective_zone();
                parsed.iter().filter_map(|p| next_of(p, &zone, after)).min()
            }
        }
    }

    /// The last time in `(from, to]` that the schedule fires, if any: of several times
    /// missed together, only the newest is worth starting (as robfig and Chaos Mesh do).
    pub fn last_in(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut last = None;
        let mut at = from;
        // Bounded: a one-second schedule over a day is 86,400 steps; callers ask about
        // seconds to minutes.
        for _ in 0..100_000 {
            match self.next_after(at) {
                Some(t) if t <= to => {
                    last = Some(t);
                    at = t;
                }
                _ => break,
            }
        }
        last
    }
}

/// Compiles a field expression (`fields_text`; `t` is what the spec wrote, for messages).
fn cron_rule(t: &str, fields_text: &str) -> Result<Rule, ScheduleError> {
    // The `cron` crate wants a seconds field; the usual 5-field form fires at second 0.
    let mut fields: Vec<String> = fields_text.split_whitespace().map(str::to_string).collect();
    match fields.len() {
        5 => fields.insert(0, "0".into()),
        6 | 7 => {}
        n => {
            return Err(ScheduleError::FieldCount {
                expr: t.to_string(),
                fields: n,
            });
        }
    }
    let unrestricted = |f: &str| f == "*" || f == "?";
    let either_day = !unrestricted(&fields[3]) && !unrestricted(&fields[5]);
    fields[5] = weekdays(&fields[5]).map_err(|why| ScheduleError::Weekday {
        expr: t.to_string(),
        why,
    })?;
    let compile = |fields: &[String]| {
        fields.join(" ").parse::<cron::Schedule>().map_err(|e| {
            // The cron crate's message repeats the input with a caret line; keep its
            // last line, the reason, so the error stays on one line.
            let text = e.to_string();
            let why = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string();
            ScheduleError::Invalid {
                expr: t.to_string(),
                why,
            }
        })
    };
    let parsed = if either_day {
        let mut by_date = fields.clone();
        by_date[5] = "*".into();
        let mut by_weekday = fields;
        by_weekday[3] = "*".into();
        vec![compile(&by_date)?, compile(&by_weekday)?]
    } else {
        vec![compile(&fields)?]
    };
    Ok(Rule::Cron(parsed))
}

/// [`Schedule::next_after`] for one compiled schedule.
fn next_of(parsed: &cron::Schedule, zone: &Zone, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Iterate wall-clock times: cron over a zone without DST (UTC standing in for
    // "naive local"), then place each candidate in the real zone.
    let local = Utc.from_utc_datetime(&zone.wall_clock(after)?);
    for wall in parsed.after(&local) {
        let at = match zone.instants_of(wall.naive_utc()) {
            LocalResult::Single(t) => t,
            // Repeated by a fall-back: the first occurrence only.
            LocalResult::Ambiguous(first, _) => first,
            LocalResult::None => end_of_gap(zone, wall.naive_utc())?,
        };
        // Times already passed (the second pass of a repeated hour, or several
        // skipped times that share one gap's end) do not fire again.
        if at > after {
            return Some(at);
        }
    }
    None
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The weekday field in standard cron numbering (0 or 7 = Sunday, 1 = Monday, as crontab(5)
/// and Kubernetes CronJobs read it) as the `cron` crate's names: that crate numbers days
/// Quartz-style (1 = Sunday), so `1-5` would otherwise mean Sunday to Thursday.
fn weekdays(field: &str) -> Result<String, WeekdayError> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    let day = |s: &str| -> Result<u32, WeekdayError> {
        if let Some(i) = DAY_NAMES.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32);
        }
        match s.parse::<u32>() {
            Ok(n) if n <= 7 => Ok(n),
            _ => Err(WeekdayError::NotADay(s.to_string())),
        }
    };
    let mut set = [false; 7];
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => match s.parse::<u32>() {
                Ok(n) if n > 0 => (b, n),
                _ => return Err(WeekdayError::BadStep(s.to_string())),
            },
            None => (item, 1),
        };
        let (from, to) = match base.split_once('-') {
            _ if base == "*" => (0, 6),
            Some((a, b)) => (day(a)?, day(b)?),
            None if item.contains('/') => (day(base)?, 6),
            None => (day(base)?, day(base)?),
        };
        if from > to {
            return Err(WeekdayError::Backwards(base.to_string()));
        }
        for d in (from..=to).step_by(step as usize) {
            set[(d % 7) as usize] = true;
        }
    }
    let names: Vec<&str> = (0..7).filter(|&d| set[d]).map(|d| DAY_NAMES[d]).collect();
    Ok(names.join(","))
}

/// The first existing local time after `wall`, which a spring-forward skipped. Gaps are
/// whole minutes and at most a day long (Samoa, 2011), so a bounded minute walk finds it.
fn end_of_gap(zone: &Zone, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut t = wall.with_second(0)?;
    for _ in 0..=(25 * 60) {
        t += chrono::Duration::minutes(1);
        if let Some(at) = zone.instants_of(t).earliest() {
            return Some(at);
        }
    }
    None
}

/// The two forms in JSON/YAML.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Form {
    Utc(String),
    Zoned(Zoned),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Zoned {
    cron: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timezone: Option<String>,
    #[serde(default, skip_serializing_if = "is_forbid")]
    concurrency_policy: ConcurrencyPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    starting_deadline: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    history_limit: Option<u32>,
}

fn is_forbid(p: &ConcurrencyPolicy) -> bool {
    *p == ConcurrencyPolicy::Forbid
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.zone.is_none() && self.policy.is_default() {
            return Form::Utc(self.expr.clone()).serialize(s);
        }
        Form::Zoned(Zoned {
            cron: self.expr.clone(),
            timezone: self.zone.as_ref().map(|z| z.name().to_string()),
            concurrency_policy: self.policy.concurrency,
            starting_deadline: self.policy.starting_deadline,
            history_limit: self.policy.history_limit,
        })
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let (cron, zone, policy) = match Form::deserialize(d)? {
            Form::Utc(c) => (c, None, SchedulePolicy::default()),
            Form::Zoned(z) => (
                z.cron,
                z.timezone,
                SchedulePolicy {
                    concurrency: z.concurrency_policy,
                    starting_deadline: z.starting_deadline,
                    history_limit: z.history_limit,
                },
            ),
        };
        let s = Schedule::parse(&cron)
            .map_err(D::Error::custom)?
            .with_policy(policy);
        match zone {
            None => Ok(s),
            Some(z) => Ok(s.in_zone(parse_zone(&z).map_err(D::Error::custom)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn berlin(expr: &str) -> Schedule {
        Schedule::parse(expr)
            .unwrap()
            .in_zone(parse_zone("Europe/Berlin").unwrap())
    }

    fn times(s: &Schedule, from: &str, n: usize) -> Vec<String> {
        let mut at = utc(from);
        (0..n)
            .map(|_| {
                at = s.next_after(at).unwrap();
                at.to_rfc3339()
            })
            .collect()
    }

    #[test]
    fn the_string_form_is_utc() {
        let s = Schedule::parse("0 3 * * *").unwrap();
        assert_eq!(s.zone(), None);
        assert_eq!(
            times(&s, "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T03:00:00+00:00", "2026-03-30T03:00:00+00:00"]
        );
    }

    #[test]
    fn a_zoned_schedule_follows_the_zone_s_offset_across_the_year() {
        // 03:00 on weekdays in Berlin: 02:00 UTC in winter (CET), 01:00 UTC in summer.
        let s = berlin("0 3 * * 1-5");
        assert_eq!(
            times(&s, "2026-01-09T12:00:00Z", 1),
            ["2026-01-12T02:00:00+00:00"]
        );
        assert_eq!(
            times(&s, "2026-07-10T12:00:00Z", 1),
            ["2026-07-13T01:00:00+00:00"]
        );
    }

    #[test]
    fn spring_forward_fires_a_skipped_time_once_at_the_end_of_the_gap() {
        // 2026-03-29: Berlin jumps from 02:00 CET (01:00 UTC) to 03:00 CEST.
        let s = berlin("30 2 * * *");
        assert_eq!(
            times(&s, "2026-03-28T12:00:00Z", 3),
            [
                "2026-03-29T01:00:00+00:00", // the gap's end, 03:00 CEST
                "2026-03-30T00:30:00+00:00", // 02:30 CEST
                "2026-03-31T00:30:00+00:00",
            ]
        );
        // Every 20 minutes: 02:00, 02:20 and 02:40 all fall in the gap and fire once.
        let s = berlin("*/20 * * * *");
        assert_eq!(
            times(&s, "2026-03-29T00:30:00Z", 4),
            [
                "2026-03-29T00:40:00+00:00", // 01:40 CET
                "2026-03-29T01:00:00+00:00", // 03:00 CEST, for the skipped times
                "2026-03-29T01:20:00+00:00", // 03:20 CEST
                "2026-03-29T01:40:00+00:00",
            ]
        );
    }

    #[test]
    fn fall_back_fires_a_repeated_time_on_its_first_occurrence_only() {
        // 2026-10-25: Berlin goes from 03:00 CEST (01:00 UTC) back to 02:00 CET.
        let s = berlin("30 2 * * *");
        assert_eq!(
            times(&s, "2026-10-24T12:00:00Z", 2),
            [
                "2026-10-25T00:30:00+00:00", // 02:30 CEST; not again at 02:30 CET
                "2026-10-26T01:30:00+00:00", // 02:30 CET
            ]
        );
        // Asked from inside the repeated hour's second pass, the next is after it.
        assert_eq!(
            times(&s, "2026-10-25T01:10:00Z", 1),
            ["2026-10-26T01:30:00+00:00"]
        );
    }

    #[test]
    fn weekdays_are_numbered_as_crontab_numbers_them() {
        // 2026-01-09 is a Friday; `1-5` is Monday to Friday, 0 and 7 are Sunday.
        let s = Schedule::parse("0 3 * * 1-5").unwrap();
        assert_eq!(
            times(&s, "2026-01-09T12:00:00Z", 1),
            ["2026-01-12T03:00:00+00:00"]
        );
        for sunday in ["0 3 * * 0", "0 3 * * 7", "0 3 * * sun", "0 3 * * 5-7/2"] {
            let s = Schedule::parse(sunday).unwrap();
            let first = times(&s, "2026-01-09T12:00:00Z", 1);
            assert_eq!(first, ["2026-01-11T03:00:00+00:00"], "{sunday}");
        }
        assert_eq!(weekdays("*/2").unwrap(), "SUN,TUE,THU,SAT");
        assert_eq!(weekdays("MON-FRI").unwrap(), "MON,TUE,WED,THU,FRI");
        assert!(
            Schedule::parse("0 3 * * 5-1")
                .unwrap_err()
                .to_string()
                .contains("backwards")
        );
        assert!(
            Schedule::parse("0 3 * * 8")
                .unwrap_err()
                .to_string()
                .contains("0-7")
        );
    }

    #[test]
    fn a_date_and_a_weekday_both_given_fire_on_either_as_crontab_does() {
        // January 2026: the 1st is a Thursday, Mondays are the 5th, 12th, 19th, 26th.
        let s = Schedule::parse("0 3 1,15 * MON").unwrap();
        assert_eq!(
            times(&s, "2025-12-31T12:00:00Z", 5),
            [
                "2026-01-01T03:00:00+00:00",
                "2026-01-05T03:00:00+00:00",
                "2026-01-12T03:00:00+00:00",
                "2026-01-15T03:00:00+00:00",
                "2026-01-19T03:00:00+00:00",
            ]
        );
        // A day matching both fires once. 2026-06-01 is a Monday.
        let s = Schedule::parse("0 3 1 * 1").unwrap();
        assert_eq!(
            times(&s, "2026-05-31T12:00:00Z", 2),
            ["2026-06-01T03:00:00+00:00", "2026-06-08T03:00:00+00:00"]
        );
        // Either field left open: only the other one restricts (the 1st of each month;
        // every Monday), in the seconds form too.
        for (expr, want) in [
            ("0 3 1 * *", "2026-02-01T03:00:00+00:00"),
            ("0 3 * * MON", "2026-01-19T03:00:00+00:00"),
            ("0 0 3 1 * ?", "2026-02-01T03:00:00+00:00"),
        ] {
            let s = Schedule::parse(expr).unwrap();
            assert_eq!(times(&s, "2026-01-13T12:00:00Z", 1), [want], "{expr}");
        }
        // In a zone, each side keeps the DST rule: Berlin, Mondays and the 29th, 02:30;
        // 2026-03-29 (a Sunday) skips 02:00-03:00, so it fires at 03:00 CEST (01:00 UTC).
        let s = Schedule::parse("30 2 29 * MON")
            .unwrap()
            .in_zone(parse_zone("Europe/Berlin").unwrap());
        assert_eq!(
            times(&s, "2026-03-28T00:00:00Z", 2),
            ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]
        );
    }
    #[test]
    fn both_forms_round_trip_through_json() {
        for s in [Schedule::parse("0 3 * * *").unwrap(), berlin("0 3 * * 1-5")] {
            let j = serde_json::to_string(&s).unwrap();
            let back: Schedule = serde_json::from_str(&j).unwrap();
            assert_eq!(back, s, "{j}");
        }
        assert_eq!(
            serde_json::to_string(&berlin("0 3 * * 1-5")).unwrap(),
            r#"{"cron":"0 3 * * 1-5","timezone":"Europe/Berlin"}"#
        );
        let e = serde_json::from_str::<Schedule>(r#"{"cron":"0 3 * * *","timezone":"Nowhere"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown time zone"), "{e}");
    }
}
