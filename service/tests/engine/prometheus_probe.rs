//! The PromQL probe against a real Prometheus (Debian's `prometheus` package, which
//! `./test.sh` installs), started on a loopback port by the test and killed by its guard.

use std::time::Duration;

use faultline::application::probes::{ProbeError, PrometheusClient};
use faultline_test_support::closed_port;
use faultline_test_support::peers::start_prometheus;

const EMPTY_CONFIG: &str = "global:\n  scrape_interval: 15s\nscrape_configs: []\n";

#[tokio::test]
async fn instant_queries_give_one_value_or_say_why_not() {
    let Some(prom) = start_prometheus(EMPTY_CONFIG, None).await else {
        return;
    };
    let client = PrometheusClient::new(&prom.url, Duration::from_secs(5));

    assert_eq!(client.instant("vector(0.995)").await.unwrap(), 0.995);
    assert_eq!(client.instant("scalar(vector(3)) * 2").await.unwrap(), 6.0);

    let err = client.instant("vector(1) > 2").await.unwrap_err();
    assert!(matches!(err, ProbeError::NoValue { .. }), "{err}");
    assert!(err.to_string().contains("empty vector"), "{err}");

    let two = r#"label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")"#;
    let err = client.instant(two).await.unwrap_err();
    assert!(err.to_string().contains("2 series"), "{err}");

    let err = client.instant("sum(").await.unwrap_err();
    assert!(matches!(err, ProbeError::Query { .. }), "{err}");
    assert!(err.to_string().contains("bad_data"), "{err}");
}

#[tokio::test]
async fn an_unreachable_prometheus_is_an_error_not_a_value() {
    let (_closed, port) = closed_port(); // bound, not listening: connections are refused
    let client = PrometheusClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2));
    let err = client.instant("vector(1)").await.unwrap_err();
    assert!(matches!(err, ProbeError::Request { .. }), "{err}");
}
