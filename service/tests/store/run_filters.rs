//! The runs list's filters and the verdict trends, pushed into the store's query: the
//! same answers on SQLite and PostgreSQL, whatever page the client is on.

use std::time::Duration;

use chrono::Utc;
use faultline::application::ports::{RunFilter, Storage};
use faultline::domain::{GitlabContext, RunState};

use super::ports::{go, on_both};

fn from(project: &str) -> GitlabContext {
    GitlabContext {
        project_path: project.into(),
        git_ref: Some("main".into()),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        ..GitlabContext::default()
    }
}

fn ids(s: &dyn Storage, f: RunFilter<'_>) -> Vec<String> {
    let f = RunFilter { limit: 100, ..f };
    s.find_runs(&f).unwrap().into_iter().map(|r| r.id).collect()
}

/// Eight runs, oldest first: a0..a3 of experiment `a`, b0..b3 of `b`; even ones passed,
/// odd ones failed, except the last of each, still live. GitLab projects: a0, a1 from
/// shop/checkout, b0 from shop/cart, b1 from shopping/cart (not under `shop`), the rest
/// from no pipeline. Returns the time between the fourth and fifth run.
fn history(s: &dyn Storage) -> chrono::DateTime<Utc> {
    let mut middle = Utc::now();
    for (i, id) in ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3"]
        .iter()
        .enumerate()
    {
        let gitlab = match *id {
            "a0" | "a1" => Some(from("shop/checkout")),
            "b0" => Some(from("shop/cart")),
            "b1" => Some(from("shopping/cart")),
            _ => None,
        };
        if i == 4 {
            std::thread::sleep(Duration::from_millis(5));
            middle = Utc::now();
            std::thread::sleep(Duration::from_millis(5));
        }
        s.create_run_from(id, &id[..1], "{}", gitlab.as_ref())
            .unwrap();
        let n = i % 4;
        if n < 3 {
            let verdict = if n % 2 == 0 {
                RunState::Passed
            } else {
                RunState::Failed
            };
            let path = [
                RunState::CheckingBefore,
                RunState::Injecting,
                RunState::Recovering,
                RunState::CheckingAfter,
                verdict,
            ]
            .map(go);
            s.record_all(id, &path).unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    middle
}

fn filters(s: &dyn Storage) {
    let middle = history(s);
    assert_eq!(
        ids(
            s,
            RunFilter {
                state: Some(RunState::Failed),
                ..RunFilter::default()
            }
        ),
        ["b1", "a1"]
    );
    // A project matches itself and, as a group, what is under it; not a longer name.
    let project = |p| {
        ids(
            s,
            RunFilter {
                project: Some(p),
                ..RunFilter::default()
            },
        )
    };
    assert_eq!(project("shop/checkout"), ["a1", "a0"]);
    assert_eq!(project("shop"), ["b0", "a1", "a0"]);
    assert_eq!(project("shop/cart"), ["b0"]);
    assert_eq!(project("shopping"), ["b1"]);
    assert!(project("sho").is_empty());
    let since = ids(
        s,
        RunFilter {
            since: Some(middle),
            ..RunFilter::default()
        },
    );
    assert_eq!(since, ["b3", "b2", "b1", "b0"]);
    let until = ids(
        s,
        RunFilter {
            until: Some(middle),
            ..RunFilter::default()
        },
    );
    assert_eq!(until, ["a3", "a2", "a1", "a0"]);
    // Every filter at once, a page at a time: the page follows the filters.
    let all = RunFilter {
        project: Some("shop"),
        until: Some(Utc::now()),
        state: Some(RunState::Passed),
        ..RunFilter::default()
    };
    let page1 = s.find_runs(&RunFilter { limit: 1, ..all }).unwrap();
    assert_eq!(page1.len(), 1);
    assert_eq!(page1[0].id, "b0");
    let page2 = s
        .find_runs(&RunFilter {
            limit: 1,
            before: Some("b0"),
            ..all
        })
        .unwrap();
    assert_eq!(page2[0].id, "a0");
    assert!(
        s.find_runs(&RunFilter {
            limit: 1,
            before: Some("a0"),
            ..all
        })
        .unwrap()
        .is_empty()
    );
}

fn trends(s: &dyn Storage) {
    history(s);
    // Live runs have no verdict yet: a3 and b3 are not in the trend.
    let points: Vec<(String, String, RunState)> = s
        .verdict_trends(2)
        .unwrap()
        .into_iter()
        .map(|p| (p.experiment, p.id, p.verdict))
        .collect();
    let want = [
        ("a", "a2", RunState::Passed),
        ("a", "a1", RunState::Failed),
        ("b", "b2", RunState::Passed),
        ("b", "b1", RunState::Failed),
    ]
    .map(|(e, i, v)| (e.to_string(), i.to_string(), v));
    assert_eq!(points, want);
    assert_eq!(s.verdict_trends(20).unwrap().len(), 6);
}

#[test]
fn runs_are_filtered_by_verdict_project_and_time_in_the_store() {
    on_both("run_filters", filters);
}

#[test]
fn the_verdict_trend_is_each_experiments_last_verdicts() {
    on_both("run_trends", trends);
}
