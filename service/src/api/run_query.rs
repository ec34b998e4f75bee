//! The query of `GET /api/v1/runs`, read and checked: every filter the store applies
//! (experiment, state or verdict, GitLab project, creation time), each bad value a 400
//! that names its parameter, and the `next` page's URL with the same filters.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::error::ApiError;
use crate::application::ports::RunFilter;
use crate::domain::RunState;

/// The query as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    /// Page size, 1-1000 (default 50).
    limit: Option<u32>,
    /// Only this experiment's runs.
    experiment: Option<String>,
    /// Only runs in this state (`passed`, `failed`, `aborted`, `error`, or a live state).
    state: Option<String>,
    /// Only runs that ended with this verdict: `passed`, `failed`, `aborted`, `error`.
    verdict: Option<String>,
    /// Only runs a GitLab event of this project (`group/project`) or group started.
    project: Option<String>,
    /// Only runs created at or after this time (RFC 3339).
    since: Option<String>,
    /// Only runs created before this time (RFC 3339).
    until: Option<String>,
    /// The page after this run id (the previous page's `next` has it).
    before: Option<String>,
}

/// The query, checked: what the store is asked.
#[derive(Debug, Clone)]
pub(super) struct RunQuery {
    pub limit: u32,
    experiment: Option<String>,
    state: Option<RunState>,
    project: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    before: Option<String>,
}

const VERDICTS: [RunState; 4] = [
    RunState::Passed,
    RunState::Failed,
    RunState::Aborted,
    RunState::Error,
];

fn time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.to_utc())
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "{field}={t}: not an RFC 3339 time like 2026-12-07T09:00:00Z ({e})"
                ))
            })
    })
    .transpose()
}

/// A GitLab project or group path: segments of letters, digits, `.`, `_` and `-`.
fn project(text: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(p) = text else { return Ok(None) };
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if p.len() > 255 || !p.split('/').all(segment_ok) {
        return Err(ApiError::bad_request(format!(
            "project={p}: not a GitLab project or group path like group/project"
        )));
    }
    Ok(Some(p.to_string()))
}

impl ListQuery {
    /// The query checked, or a 400 naming the parameter that is wrong and why.
    pub(super) fn check(&self) -> Result<RunQuery, ApiError> {
        let state = match self.state.as_deref() {
            None => None,
            Some(s) => Some(RunState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "state={s}: not a run state; use passed, failed, aborted, error, pending, checking-before, injecting, observing, recovering or checking-after"
                ))
            })?),
        };
        let verdict =
            match self.verdict.as_deref() {
                None => None,
                Some(v) => Some(VERDICTS.into_iter().find(|s| s.as_str() == v).ok_or_else(
                    || {
                        ApiError::bad_request(format!(
                            "verdict={v}: not a verdict; use passed, failed, aborted or error"
                        ))
                    },
                )?),
            };
        let state = match (state, verdict) {
            (Some(s), Some(v)) if s != v => {
                return Err(ApiError::bad_request(format!(
                    "verdict={v} and state={s}: a run has one state; give one of them"
                )));
            }
            (s, v) => s.or(v),
        };
        let (since, until) = (
            time("since", self.since.as_deref())?,
            time("until", self.until.as_deref())?,
        );
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(ApiError::bad_request(format!(
                "since={} is not before until={}: the range holds no time",
                s.to_rfc3339(),
                u.to_rfc3339()
            )));
        }
        Ok(RunQuery {
            limit: self.limit.unwrap_or(50).clamp(1, 1000),
            experiment: self.experiment.clone(),
            state,
            project: project(self.project.as_deref())?,
            since,
            until,
            before: self.before.clone(),
        })
    }
}

impl RunQuery {
    /// The store's filter.
    pub(super) fn filter(&self) -> RunFilter<'_> {
        RunFilter {
            experiment: self.experiment.as_deref(),
            state: self.state,
            before: self.before.as_deref(),
            limit: self.limit,
            project: self.project.as_deref(),
            since: self.since,
            until: self.until,
        }
    }

    /// The next page's URL (`list` is this page's absolute URL, without a query): the
    /// same filters, after run `last`. The values are escaped.
    pub(super) fn next_url(&self, list: &str, last: &str) -> String {
        let Ok(mut url) = reqwest::Url::parse(list) else {
            return format!("{list}?limit={}&before={last}", self.limit);
        };
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("limit", &self.limit.to_string());
        pairs.append_pair("before", last);
        if let Some(e) = &self.experiment {
            pairs.append_pair("experiment", e);
        }
        if let Some(s) = self.state {
            pairs.append_pair("state", s.as_str());
        }
        if let Some(p) = &self.project {
            pairs.append_pair("project", p);
        }
        if let Some(t) = self.since {
            pairs.append_pair("since", &t.to_rfc3339());
        }
        if let Some(t) = self.until {
            pairs.append_pair("until", &t.to_rfc3339());
        }
        drop(pairs);
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &str) -> Result<RunQuery, String> {
        let q = actix_web::web::Query::<ListQuery>::from_query(pairs).map_err(|e| e.to_string())?;
        q.check().map_err(|e| e.error)
    }

    #[test]
    fn each_bad_value_names_its_parameter() {
        for (pairs, field) in [
            ("verdict=great", "verdict=great"),
            ("verdict=observing", "verdict=observing"),
            ("state=done", "state=done"),
            ("since=yesterday", "since=yesterday"),
            ("until=2026-13-01T00:00:00Z", "until=2026-13-01"),
            ("project=a//b", "project=a//b"),
            ("project=%3Cb%3E", "project=<b>"),
            (
                "verdict=passed&state=failed",
                "verdict=passed and state=failed",
            ),
            (
                "since=2026-12-07T10:00:00Z&until=2026-12-07T09:00:00Z",
                "since=2026-12-07T10:00:00+00:00 is not before until",
            ),
        ] {
            let e = query(pairs).expect_err(pairs);
            assert!(e.contains(field), "{pairs}: {e}");
        }
    }

    #[test]
    fn good_values_reach_the_filter_and_the_next_page() {
        let q = query(
            "verdict=failed&project=shop/check-out_1&since=2026-12-07T09:00:00%2B01:00&limit=5",
        )
        .unwrap();
        let f = q.filter();
        assert_eq!(f.state, Some(RunState::Failed));
        assert_eq!(f.project, Some("shop/check-out_1"));
        assert_eq!(f.since.unwrap().to_rfc3339(), "2026-12-07T08:00:00+00:00");
        assert_eq!(f.limit, 5);
        let next = q.next_url("http://h/api/v1/runs", "r9");
        assert_eq!(
            next,
            "http://h/api/v1/runs?limit=5&before=r9&state=failed&project=shop%2Fcheck-out_1&since=2026-12-07T08%3A00%3A00%2B00%3A00"
        );
    }
}
