//! `faultline trigger`: what a CI job runs. Posts one experiment to a faultline server,
//! prints the run's id and URL and, with `--wait`, follows the run's event stream (SSE)
//! as progress lines, prints the verdict and the checks table, writes the reports asked
//! for (JUnit, HTML, GitLab metrics), and exits with the verdict: 0 passed, 1 failed, 2
//! aborted, error, invalid input, an unreachable server or a timeout. A timeout leaves the
//! run to the server (it ends and recovers on its own) and still writes the reports of
//! where it got to.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};
use faultline::domain::GitlabContext;
use faultline::domain::progress::print_progress;
use faultline::domain::{RunState, StoredEvent};
use futures::StreamExt;
use serde_json::Value;

use super::run::{NOT_A_VERDICT, exit_code};
use super::trigger_report::{RunSummary, metrics_text, verdict_table};
use crate::cli::{ServerArgs, TriggerArgs};

/// How often a dropped event stream is reopened before giving up.
const RECONNECTS: u32 = 5;

/// Runs `trigger`. Every failure is exit code 2 with a message on stderr.
pub fn run(args: &TriggerArgs) -> anyhow::Result<u8> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match rt.block_on(trigger(args)) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("faultline trigger: {e:#}");
            Ok(NOT_A_VERDICT)
        }
    }
}

/// A faultline server's API, as the CLI calls it.
pub(super) struct Api {
    http: reqwest::Client,
    pub(super) base: String,
    pub(super) token: Option<String>,
}

impl Api {
    /// A client for `args`' server and token.
    pub(super) fn new(args: &ServerArgs) -> anyhow::Result<Api> {
        Ok(Api {
            http: faultline_exporter::tls_provider::http_client()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .context("failed to set up the HTTP client")?,
            base: args.server.trim_end_matches('/').to_string(),
            token: token(args)?,
        })
    }

    pub(super) fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// GETs `path` (30 s timeout), failing on a non-2xx status with the server's message.
    async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let res = self
            .req(reqwest::Method::GET, path)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .with_context(|| format!("GET {}{path} failed", self.base))?;
        check(res, path).await
    }
}

/// Turns an error status into an error naming the server's explanation.
pub(super) async fn check(res: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    let status = res.status();
    if status.is_success() {
        return Ok(res);
    }
    let body = res.text().await.unwrap_or_default();
    let msg = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or(body);
    Err(anyhow!("{what}: the server answered {status}: {msg}"))
}

fn token(args: &ServerArgs) -> anyhow::Result<Option<String>> {
    if let Some(path) = &args.token_file {
        let t = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read token file {}", path.display()))?;
        return Ok(Some(t.trim().to_string()));
    }
    Ok(args.token.clone())
}

/// The variable `trigger` reads an ID token from when `--id-token-env` is not given.
pub const DEFAULT_ID_TOKEN_ENV: &str = "FAULTLINE_ID_TOKEN";

/// The ID token to call with, and the variable it came from: `--id-token-env VAR`'s
/// (which must be set), else FAULTLINE_ID_TOKEN's when set; `None` falls back to the
/// static token.
fn id_token(
    asked: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<(String, String)>> {
    let var = asked.unwrap_or(DEFAULT_ID_TOKEN_ENV);
    match lookup(var).map(|t| t.trim().to_string()) {
        Some(t) if !t.is_empty() => Ok(Some((var.to_string(), t))),
        _ if asked.is_some() => Err(anyhow!(
            "--id-token-env {var}: the variable is not set; declare it in the job's `id_tokens:` (with `aud:` the server's audience)"
        )),
        _ => Ok(None),
    }
}

async fn trigger(args: &TriggerArgs) -> anyhow::Result<u8> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("failed to read {}", args.file.display()))?;
    let mut api = Api::new(&args.api)?;
    if let Some((var, token)) = id_token(args.id_token_env.as_deref(), |k| std::env::var(k).ok())? {
        eprintln!("faultline: calling with the GitLab CI ID token in ${var}");
        api.token = Some(token);
    }
    let json_file = args.file.extension().is_some_and(|e| e == "json");
    let req = api.req(reqwest::Method::POST, "/api/v1/runs");
    // Inside a GitLab CI job the run reports to the job's own commit and pipeline (status,
    // MR note; for a dry run, the blast-radius preview on the MR).
    let gitlab = if args.no_gitlab_context {
        None
    } else {
        GitlabContext::from_ci_env(|k| std::env::var(k).ok())
    };
    if let Some(cx) = &gitlab {
        eprintln!("faultline: reporting to GitLab {}", cx.summary());
    }
    let req = if args.dry_run || gitlab.is_some() {
        req.json(
            &serde_json::json!({ "experiment": text, "dryRun": args.dry_run, "gitlab": gitlab }),
        )
    } else {
        req.header(
            "content-type",
            if json_file {
                "application/json"
            } else {
                "application/yaml"
            },
        )
        .body(text)
    };
    let res = req
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .with_context(|| format!("POST {}/api/v1/runs failed", api.base))?;
    let status = res.status();
    let body: Value = res
        .json()
        .await
        .with_context(|| format!("the server's answer ({status}) is not JSON"))?;
    if status == reqwest::StatusCode::BAD_REQUEST && body["details"].is_array() {
        eprintln!(
            "{}: {}",
            args.file.display(),
            body["error"].as_str().unwrap_or("")
        );
        for d in body["details"].as_array().into_iter().flatten() {
            eprintln!(
                "{}:{}:{}: {}: {}",
                args.file.display(),
                d["line"],
                d["column"],
                d["path"].as_str().unwrap_or(""),
                d["message"].as_str().unwrap_or("")
            );
        }
        return Ok(NOT_A_VERDICT);
    }
    if !status.is_success() {
        return Err(anyhow!(
            "the server refused the experiment ({status}): {}",
            body["error"].as_str().unwrap_or("no explanation")
        ));
    }
    if args.dry_run {
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
        return Ok(0);
    }
    let id = body["id"]
        .as_str()
        .ok_or_else(|| anyhow!("the server's answer has no run id: {body}"))?
        .to_string();
    let url = body["url"]
        .as_str()
        .map_or_else(|| format!("{}/api/v1/runs/{id}", api.base), str::to_string);
    println!("run {id} created: {url}");
    if !args.wait {
        return Ok(0);
    }
    let follow = follow(&api, &id);
    // Ok(verdict) or Err(the timeout that expired first).
    let ended = match args.timeout {
        Some(t) => match tokio::time::timeout(t.std(), follow).await {
            Ok(end) => Ok(end?),
            Err(_) => Err(t),
        },
        None => Ok(follow.await?),
    };
    // One report document feeds the table and the metrics file, so they agree.
    let summary = fetch_summary(&api, &id).await;
    let code = match &ended {
        Ok((verdict, reason)) => {
            println!("verdict: {verdict} — {reason}");
            exit_code(*verdict)
        }
        Err(t) => {
            // The run is the server's: it goes on and ends (and recovers) on its own. Say
            // which run, where it is and how to stop it; the reports below show how far it
            // got, so a CI job's `when: always` artifacts are still there to look at.
            let state = match &summary {
                Ok(s) if s.verdict.is_terminal() => format!("ended {} just then", s.verdict),
                Ok(s) => format!("is still {} and goes on on the server", s.verdict),
                Err(_) => "goes on on the server".to_string(),
            };
            eprintln!(
                "faultline trigger: gave up waiting after {t}: run {id} {state}: {url} \
                 (abort it with POST {url}/abort)"
            );
            NOT_A_VERDICT
        }
    };
    match &summary {
        Ok(s) => print!("{}", verdict_table(s)),
        Err(e) => eprintln!("faultline trigger: no checks table: {e:#}"),
    }
    write_report(&api, &id, "junit.xml", args.junit.as_deref()).await?;
    write_report(&api, &id, "report.html", args.html.as_deref()).await?;
    if let Some(path) = &args.metrics {
        let s = summary.map_err(|e| e.context(format!("cannot write {}", path.display())))?;
        let text = metrics_text(&s).context("encoding the metrics report")?;
        std::fs::write(path, text)
            .with_context(|| format!("failed to write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(code)
}

/// Follows the run's events until its end marker; reconnects with `Last-Event-ID` when
/// the stream drops. Returns the verdict and reason.
async fn follow(api: &Api, id: &str) -> anyhow::Result<(RunState, String)> {
    let mut last: u64 = 0;
    let mut attempts = 0;
    loop {
        let res = api
            .req(reqwest::Method::GET, &format!("/api/v1/runs/{id}/events"))
            .header("Last-Event-ID", last.to_string())
            .header("Accept", "text/event-stream")
            .send()
            .await;
        let dropped = match res {
            Ok(res) => {
                let res = check(res, "event stream").await?;
                match read_stream(res, &mut last).await {
                    Some(end) => return Ok(end),
                    None => "the event stream ended early".to_string(),
                }
            }
            Err(e) => format!("event stream: {e}"),
        };
        attempts += 1;
        if attempts > RECONNECTS {
            return Err(anyhow!("{dropped}; gave up after {RECONNECTS} reconnects"));
        }
        eprintln!("{dropped}; reconnecting");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Prints each event of the stream; returns the verdict at the end marker, or `None` if
/// the stream stopped before it.
async fn read_stream(res: reqwest::Response, last: &mut u64) -> Option<(RunState, String)> {
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    while let Some(chunk) = stream.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk.ok()?));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut event, mut data) = ("", String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = v;
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if event == "end" {
                let v: Value = serde_json::from_str(&data).ok()?;
                let verdict = RunState::parse(v["verdict"].as_str()?)?;
                return Some((verdict, v["reason"].as_str().unwrap_or("").to_string()));
            }
            if let Ok(ev) = serde_json::from_str::<StoredEvent>(&data) {
                *last = ev.seq;
                print_progress(&ev.event);
            }
        }
    }
    None
}

/// The run's report as `trigger` reads it.
async fn fetch_summary(api: &Api, id: &str) -> anyhow::Result<RunSummary> {
    api.get(&format!("/api/v1/runs/{id}/report.json"))
        .await?
        .json::<RunSummary>()
        .await
        .with_context(|| format!("the report of run {id} is not the JSON expected"))
}

async fn write_report(api: &Api, id: &str, name: &str, to: Option<&Path>) -> anyhow::Result<()> {
    let Some(path) = to else { return Ok(()) };
    let body = api
        .get(&format!("/api/v1/runs/{id}/{name}"))
        .await?
        .bytes()
        .await
        .with_context(|| format!("reading {name} of run {id}"))?;
    std::fs::write(path, &body).with_context(|| format!("failed to write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_token_comes_from_the_named_variable_or_the_default_one() {
        let env = |k: &str| (k == "FAULTLINE_ID_TOKEN").then(|| "eyJ.a.b\n".to_string());
        assert_eq!(
            id_token(None, env).unwrap(),
            Some(("FAULTLINE_ID_TOKEN".into(), "eyJ.a.b".into()))
        );
        assert_eq!(
            id_token(None, |_| None).unwrap(),
            None,
            "static token fallback"
        );
        let e = id_token(Some("MY_TOKEN"), env).unwrap_err().to_string();
        assert!(e.contains("MY_TOKEN") && e.contains("id_tokens:"), "{e}");
    }
}
