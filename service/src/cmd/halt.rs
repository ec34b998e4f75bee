//! `faultline stop-all` and `faultline resume`: the emergency stop from a terminal
//! (`POST` / `DELETE /api/v1/emergency-stop`).

use anyhow::Context;
use serde_json::Value;

use super::trigger::{Api, check};
use crate::cli::{ServerArgs, StopAllArgs};

fn block_on<F: std::future::Future<Output = anyhow::Result<u8>>>(f: F) -> anyhow::Result<u8> {
    tokio::runtime::Runtime::new()
        .context("starting the async runtime")?
        .block_on(f)
}

/// Engages the emergency stop; prints what was aborted.
pub fn stop_all(args: &StopAllArgs) -> anyhow::Result<u8> {
    block_on(async {
        let api = Api::new(&args.api)?;
        let body = serde_json::json!({ "reason": args.reason });
        let res = api
            .req(reqwest::Method::POST, "/api/v1/emergency-stop")
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {}/api/v1/emergency-stop failed", api.base))?;
        let v: Value = check(res, "emergency stop").await?.json().await?;
        let aborted: Vec<&str> = v["aborted"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "emergency stop engaged on {} ({}); aborted {} run(s){}",
            api.base,
            v["halt"]["reason"].as_str().unwrap_or(""),
            aborted.len(),
            if aborted.is_empty() {
                String::new()
            } else {
                format!(": {}", aborted.join(", "))
            }
        );
        println!(
            "new runs are refused until `faultline resume --server {}`",
            api.base
        );
        Ok(0)
    })
}

/// Releases the emergency stop.
pub fn resume(args: &ServerArgs) -> anyhow::Result<u8> {
    block_on(async {
        let api = Api::new(args)?;
        let res = api
            .req(reqwest::Method::DELETE, "/api/v1/emergency-stop")
            .send()
            .await
            .with_context(|| format!("DELETE {}/api/v1/emergency-stop failed", api.base))?;
        let v: Value = check(res, "releasing the emergency stop")
            .await?
            .json()
            .await?;
        match v["released"]["reason"].as_str() {
            Some(r) => println!("emergency stop released on {} (it was: {r})", api.base),
            None => println!("the emergency stop was not engaged on {}", api.base),
        }
        Ok(0)
    })
}
