//! PromQL instant queries against Prometheus' HTTP API (`GET /api/v1/query`).

use std::time::Duration;

use serde::Deserialize;

use super::error::{ProbeError, chain};

/// A Prometheus server to ask.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    error: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: serde_json::Value,
}

impl PrometheusClient {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:9090`), with a per-query
    /// timeout.
    pub fn new(base: &str, timeout: Duration) -> PrometheusClient {
        let http = faultline_exporter::tls_provider::http_client()
            .timeout(timeout)
            .build()
            .expect("static reqwest config");
        PrometheusClient {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    /// Which of `names` are firing now, from Prometheus' `ALERTS` series: the alert rules
    /// a team already trusts become the experiment's stop conditions.
    pub async fn firing_alerts(&self, names: &[String]) -> Result<Vec<String>, ProbeError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let alternatives: Vec<String> = names.iter().map(|n| regex_escape(n)).collect();
        let query = format!(
            "ALERTS{{alertstate=\"firing\",alertname=~\"{}\"}}",
            alternatives.join("|")
        );
        let data = self.query(&query).await?;
        let mut firing: Vec<String> = data
            .result
            .as_array()
            .map(|series| {
                series
                    .iter()
                    .filter_map(|s| s["metric"]["alertname"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        firing.sort();
        firing.dedup();
        Ok(firing)
    }

    async fn query(&self, query: &str) -> Result<Data, ProbeError> {
        let url = format!("{}/api/v1/query", self.base);
        let req_err = |e: reqwest::Error| ProbeError::Request {
            url: url.clone(),
            detail: chain(&e),
        };
        let resp = self
            .http
            .get(&url)
            .query(&[("query", query)])
            .send()
            .await
            .map_err(req_err)?;
        let answer: Answer = resp.json().await.map_err(req_err)?;
        if answer.status != "success" {
            return Err(ProbeError::Query {
                query: query.into(),
                error_type: answer.error_type,
                error: answer.error,
            });
        }
        answer.data.ok_or_else(|| ProbeError::NoValue {
            query: query.into(),
            detail: "no data in the answer".into(),
        })
    }

    /// Evaluates `query` now and returns its single value: a scalar, or a vector with
    /// exactly one sample.
    pub async fn instant(&self, query: &str) -> Result<f64, ProbeError> {
        let data = self.query(query).await?;
        let no_value = |detail: String| ProbeError::NoValue {
            query: query.into(),
            detail,
        };
        let sample = match data.result_type.as_str() {
            "scalar" => data.result.clone(),
            "vector" => match data.result.as_array().map(Vec::as_slice) {
                Some([one]) => one["value"].clone(),
                Some([]) => return Err(no_value("empty vector (no series matched)".into())),
                Some(many) => {
                    return Err(no_value(format!(
                        "{} series; aggregate them (sum, avg, max)",
                        many.len()
                    )));
                }
                None => return Err(no_value("malformed vector".into())),
            },
            other => {
                return Err(no_value(format!(
                    "a {other}; use an instant vector or scalar expression"
                )));
            }
        };
        let value = sample[1].as_str().and_then(|v| v.parse::<f64>().ok());
        match value {
            Some(v) if v.is_finite() => Ok(v),
            Some(v) => Err(no_value(format!("{v}"))),
            None => Err(no_value(format!("unreadable sample {sample}"))),
        }
    }
}

/// Escapes regex metacharacters (and quotes) so an alert name matches only itself.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if r".+*?()|[]{}^$\".contains(c) {
            // One backslash for the regex, doubled for the PromQL string literal.
            out.push_str(r"\\");
        } else if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
