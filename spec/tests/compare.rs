//! A check's `compare:` block: good forms decode to the typed value with defaults filled
//! in; each bad value fails at its exact field path and line with a message that says why.

use faultline_spec::compare::{Baseline, StatTest};
use faultline_spec::{ChangeLimit, Compare, load_str, yaml};

/// A valid experiment around one check; the check's `compare` is on line 14.
fn doc(probe: &str, phases: &str, compare: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{name: t}}
spec:
  target: {{local: {{pid: 1}}}}
  steps:
    - processPause: {{}}
      duration: 5s
  steadyState:
    - name: latency
{probe}
      expect: "p99 < 1s"
      phases: {phases}
      compare: {compare}
"#
    )
}

const HTTP: &str = "      http: {url: \"http://127.0.0.1:8080/\", every: 100ms}";
const PROM: &str = "      prometheus: up";
const BOTH: &str = "[before, during, after]";

#[test]
fn the_short_form_gets_the_documented_defaults() {
    let exps = load_str(&doc(HTTP, BOTH, "{maxIncrease: 20%}"), "t.yaml").unwrap();
    let c = exps[0].spec.steady_state[0].compare.unwrap();
    assert_eq!(
        c,
        Compare {
            baseline: Baseline::Before,
            test: StatTest::MannWhitney,
            p: 0.05,
            limit: ChangeLimit::MaxIncrease(20.0),
            samples: 20,
        }
    );
    // `validate --explain` prints what validates again.
    let printed = yaml::to_yaml(&exps[0]).unwrap();
    assert!(printed.contains("maxIncrease: \"20%\""), "{printed}");
    let again = load_str(&printed, "explained.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again[0].spec.steady_state[0].compare, Some(c));
}

#[test]
fn the_long_form_and_max_decrease_on_a_query() {
    let full = "{baseline: before, test: mann-whitney, p: 0.01, maxDecrease: 5%, samples: 30}";
    let exps = load_str(
        &doc(PROM, BOTH, full).replace("p99 < 1s", ">= 0.99"),
        "t.yaml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let c = exps[0].spec.steady_state[0].compare.unwrap();
    assert_eq!(
        (c.p, c.limit, c.samples),
        (0.01, ChangeLimit::MaxDecrease(5.0), 30)
    );
}

#[test]
fn every_bad_compare_names_its_field_and_line() {
    let at = "spec.steadyState[0].compare";
    let cases: &[(&str, String, String, &str)] = &[
        (
            "p too high",
            doc(HTTP, BOTH, "{maxIncrease: 20%, p: 1.5}"),
            format!("{at}.p"),
            "above 0 and below 1",
        ),
        (
            "p zero",
            doc(HTTP, BOTH, "{maxIncrease: 20%, p: 0}"),
            format!("{at}.p"),
            "not a significance level",
        ),
        (
            "p not a number",
            doc(HTTP, BOTH, "{maxIncrease: 20%, p: low}"),
            format!("{at}.p"),
            "expected a number",
        ),
        (
            "percent without %",
            doc(HTTP, BOTH, "{maxIncrease: 20}"),
            format!("{at}.maxIncrease"),
            "like `20%`",
        ),
        (
            "percent not a number",
            doc(HTTP, BOTH, "{maxIncrease: lots%}"),
            format!("{at}.maxIncrease"),
            "not a percentage",
        ),
        (
            "increase too large",
            doc(HTTP, BOTH, "{maxIncrease: 5000%}"),
            format!("{at}.maxIncrease"),
            "allowed 0% to 1000%",
        ),
        (
            "negative increase",
            doc(HTTP, BOTH, "{maxIncrease: -5%}"),
            format!("{at}.maxIncrease"),
            "out of range",
        ),
        (
            "decrease of all",
            doc(PROM, BOTH, "{maxDecrease: 100%}"),
            format!("{at}.maxDecrease"),
            "below 100%",
        ),
        (
            "no limit",
            doc(HTTP, BOTH, "{p: 0.05}"),
            at.to_string(),
            "add `maxIncrease: 20%`",
        ),
        (
            "both limits",
            doc(PROM, BOTH, "{maxIncrease: 5%, maxDecrease: 5%}"),
            format!("{at}.maxDecrease"),
            "not both",
        ),
        (
            "decrease on http",
            doc(HTTP, BOTH, "{maxDecrease: 5%}"),
            format!("{at}.maxDecrease"),
            "compares request latencies",
        ),
        (
            "no before phase",
            doc(HTTP, "[during, after]", "{maxIncrease: 20%}"),
            at.to_string(),
            "must run in both",
        ),
        (
            "no during phase",
            doc(HTTP, "[before]", "{maxIncrease: 20%}"),
            at.to_string(),
            "add `before` and `during`",
        ),
        (
            "too few samples",
            doc(HTTP, BOTH, "{maxIncrease: 20%, samples: 3}"),
            format!("{at}.samples"),
            "allowed 5 to 10000",
        ),
        (
            "unreachable p",
            doc(HTTP, BOTH, "{maxIncrease: 20%, samples: 5, p: 0.001}"),
            format!("{at}.samples"),
            "take at least 7 samples",
        ),
        (
            "unknown test",
            doc(HTTP, BOTH, "{maxIncrease: 20%, test: t-test}"),
            format!("{at}.test"),
            "allowed: mann-whitney",
        ),
        (
            "unknown baseline",
            doc(HTTP, BOTH, "{maxIncrease: 20%, baseline: after}"),
            format!("{at}.baseline"),
            "allowed: before",
        ),
        (
            "typo",
            doc(HTTP, BOTH, "{maxIncrese: 20%}"),
            format!("{at}.maxIncrese"),
            "did you mean `maxIncrease`",
        ),
        (
            "not a map",
            doc(HTTP, BOTH, "baseline"),
            at.to_string(),
            "a map with fields baseline",
        ),
    ];
    let mut failures = Vec::new();
    for (name, text, path, needle) in cases {
        match load_str(text, "case.yaml") {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(errs) => {
                let hit = errs.errors.iter().any(|e| {
                    e.path == *path
                        && e.line == 14
                        && (e.message.contains(needle)
                            || e.hint.as_deref().is_some_and(|h| h.contains(needle)))
                });
                if !hit {
                    failures.push(format!(
                        "{name}: wanted {path} at line 14 with `{needle}`, got:\n{errs}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
