//! dnsError, dnsDelay, dnsSpoof: the target's DNS queries for matching names answered
//! with an error, late, or with other addresses.
//!
//! Apply starts a [`dnsproxy`] in the target's network namespace (on its `127.0.0.1`) and
//! then one nft transaction, table `ip faultline_<fault id>`, whose `output` nat chain
//! redirects every UDP and TCP packet to port 53, whatever the address, to the proxy,
//! except the proxy's own marked upstream queries. The proxy forwards what it does not
//! answer to the first `nameserver` of the target's `resolv.conf`. Apply twice is once
//! (the running proxy is kept, the table rebuilt). Recover deletes the table and stops
//! the proxy; after an agent crash the proxy is gone with the agent and the journal's
//! record names the table. IPv4 only: a target querying an IPv6 resolver is not redirected.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::partition::{blocking, nft, table_name};
use super::record::{FaultId, FaultRecord, Recovered};
use crate::dnsproxy::{self, Action, MARK, Policy, Proxy, Stats};
use crate::error::FaultError;
use crate::netns;
use faultline_spec::NodeFault;

/// The DNS fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Dns;

/// The proxies this agent runs, by fault.
static PROXIES: Mutex<Option<HashMap<FaultId, Proxy>>> = Mutex::new(None);

fn with_proxies<T>(f: impl FnOnce(&mut HashMap<FaultId, Proxy>) -> T) -> T {
    let mut guard = PROXIES.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

fn unsupported(rec: &FaultRecord, reason: impl Into<String>) -> FaultError {
    FaultError::Unsupported {
        kind: rec.kind.name(),
        target: rec.target.to_string(),
        reason: reason.into(),
    }
}

/// The record's policy.
fn policy(rec: &FaultRecord) -> Result<Policy, FaultError> {
    let probability = |p: Option<faultline_spec::Percent>| p.map_or(1.0, |p| p.value() / 100.0);
    let types = |t: &[faultline_spec::fault::DnsType]| t.iter().map(|t| t.code()).collect();
    let policy = match &rec.kind {
        NodeFault::DnsError(d) => Policy {
            patterns: d.patterns.clone(),
            types: types(&d.query_types),
            probability: probability(d.probability),
            action: Action::Answer(d.answer),
        },
        NodeFault::DnsDelay(d) => Policy {
            patterns: d.patterns.clone(),
            types: types(&d.query_types),
            probability: probability(d.probability),
            action: Action::Delay {
                latency: d.latency.std(),
                jitter: d.jitter.std(),
            },
        },
        NodeFault::DnsSpoof(d) => Policy {
            patterns: d.patterns.clone(),
            types: types(&d.query_types),
            probability: probability(d.probability),
            action: Action::Spoof {
                addresses: d.addresses.clone(),
                random: d.random,
                ttl: d.ttl.map_or(DEFAULT_SPOOF_TTL, |t| {
                    u32::try_from(t.std().as_secs()).unwrap_or(u32::MAX)
                }),
            },
        },
        _ => return Err(unsupported(rec, "not a DNS fault")),
    };
    if policy.patterns.is_empty() {
        return Err(unsupported(rec, "a DNS fault needs `patterns`"));
    }
    Ok(policy)
}

/// A spoofed answer's TTL when the fault names none: short, so caches let go soon.
pub const DEFAULT_SPOOF_TTL: u32 = 5;

fn netns_of(rec: &FaultRecord) -> Result<&Path, FaultError> {
    rec.resolved
        .netns
        .as_deref()
        .ok_or_else(|| unsupported(rec, "the target has no network namespace"))
}

/// The `resolv.conf` the target reads: its first process's (`/proc/PID/root/...`), or
/// for a named namespace the one `ip netns exec` would mount (`/etc/netns/NAME/...`).
fn resolv_conf_paths(rec: &FaultRecord, netns: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = rec
        .resolved
        .procs
        .iter()
        .map(|p| PathBuf::from(format!("/proc/{}/root/etc/resolv.conf", p.pid)))
        .collect();
    if let Ok(rest) = netns.strip_prefix("/run/netns") {
        out.push(Path::new("/etc/netns").join(rest).join("resolv.conf"));
    }
    if let Some(pid) = netns
        .strip_prefix("/proc")
        .ok()
        .and_then(|r| r.components().next())
    {
        let pid = pid.as_os_str().to_string_lossy();
        out.push(PathBuf::from(format!("/proc/{pid}/root/etc/resolv.conf")));
    }
    out
}

/// The first `nameserver` in `text`.
pub fn first_nameserver(text: &str) -> Option<IpAddr> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .find_map(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Where the proxy forwards: the target's nameserver, port 53.
fn upstream(rec: &FaultRecord, netns: &Path) -> Result<SocketAddr, FaultError> {
    let paths = resolv_conf_paths(rec, netns);
    for p in &paths {
        if let Ok(text) = std::fs::read_to_string(p) {
            return match first_nameserver(&text) {
                Some(IpAddr::V4(a)) => Ok(SocketAddr::from((a, 53))),
                Some(IpAddr::V6(_)) => Err(unsupported(
                    rec,
                    format!(
                        "{} names an IPv6 nameserver; dnsError redirects IPv4 DNS only",
                        p.display()
                    ),
                )),
                None => Err(unsupported(
                    rec,
                    format!("{} names no nameserver", p.display()),
                )),
            };
        }
    }
    let tried: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Err(unsupported(
        rec,
        format!(
            "no resolv.conf of the target found (tried {}): unmatched queries would have nowhere to go",
            tried.join(", ")
        ),
    ))
}

/// The apply transaction: `table ip T { chain output { type nat hook output priority
/// -100; meta mark MARK return; udp dport 53 counter redirect to :PORT; tcp dport 53
/// counter redirect to :PORT } }`. Written as nft's JSON directly: the `nftables` crate's
/// types for these few statements read longer than the JSON they make.
pub fn ruleset(table: &str, port: u16) -> serde_json::Value {
    let t = json!({"family": "ip", "name": table});
    let redirect = |proto: &str| {
        json!({"add": {"rule": {"family": "ip", "table": table, "chain": "output", "expr": [
            {"match": {"left": {"payload": {"protocol": proto, "field": "dport"}}, "op": "==", "right": 53}},
            {"counter": {"packets": 0, "bytes": 0}},
            {"redirect": {"port": port}}
        ]}}})
    };
    json!({"nftables": [
        {"add": {"table": t}},
        {"flush": {"table": t}},
        {"add": {"chain": {"family": "ip", "table": table, "name": "output", "type": "nat",
            "hook": "output", "prio": -100, "policy": "accept"}}},
        {"add": {"rule": {"family": "ip", "table": table, "chain": "output", "expr": [
            {"match": {"left": {"meta": {"key": "mark"}}, "op": "==", "right": MARK}},
            {"return": null}
        ]}}},
        redirect("udp"),
        redirect("tcp"),
    ]})
}

/// Our table's redirect rules and their ports, read back from the kernel; `None` when the
/// table is not there.
fn read_table(netns: &Path, table: &str) -> Result<Option<Vec<u64>>, FaultError> {
    let action = format!("list table ip {table} in {}", netns.display());
    let listing = nft(netns, &["-j", "list", "tables", "ip"], "", &action)?;
    let tables: serde_json::Value = serde_json::from_str(&listing).unwrap_or_default();
    let present = tables["nftables"]
        .as_array()
        .is_some_and(|a| a.iter().any(|o| o["table"]["name"] == table));
    if !present {
        return Ok(None);
    }
    let out = nft(netns, &["-j", "list", "table", "ip", table], "", &action)?;
    let json: serde_json::Value = serde_json::from_str(&out).map_err(|e| FaultError::Command {
        program: "nft",
        action,
        detail: format!("unreadable JSON: {e}"),
    })?;
    let ports = json["nftables"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|o| o["rule"]["expr"].as_array())
        .filter_map(|e| e.iter().find_map(|x| x["redirect"]["port"].as_u64()))
        .collect();
    Ok(Some(ports))
}

impl Fault for Dns {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let policy = policy(rec)?;
        let netns = netns_of(rec)?.to_path_buf();
        let running = with_proxies(|m| m.get(&rec.id).map(|p| p.port));
        let port = match running {
            Some(port) => port,
            None => {
                let upstream = upstream(rec, &netns)?;
                let proxy = dnsproxy::start(&netns, upstream, policy).await?;
                let port = proxy.port;
                with_proxies(|m| m.insert(rec.id.clone(), proxy));
                port
            }
        };
        let table = table_name(rec);
        let json = ruleset(&table, port).to_string();
        let action = format!("add table ip {table} in {}", netns.display());
        let path = netns.clone();
        let added =
            blocking(move || nft(&path, &["-j", "-f", "-"], &json, &action).map(drop)).await;
        if added.is_err() {
            // Nothing stays applied: the proxy without its redirect is stopped too.
            with_proxies(|m| m.remove(&rec.id));
        }
        added
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let stopped = with_proxies(|m| m.remove(&rec.id)).is_some();
        let path = netns_of(rec)?.to_path_buf();
        let id = rec.resolved.netns_id;
        let table = table_name(rec);
        blocking(move || {
            let netns = match netns::locate(&path, id) {
                Ok(p) => p,
                Err(FaultError::TargetNotFound(what)) => return Ok(Recovered::TargetGone(what)),
                Err(e) => return Err(e),
            };
            match read_table(&netns, &table) {
                Ok(Some(_)) => {}
                Ok(None) if stopped => return Ok(Recovered::Removed),
                Ok(None) => return Ok(Recovered::AlreadyGone),
                Err(FaultError::TargetNotFound(what)) => return Ok(Recovered::TargetGone(what)),
                Err(e) => return Err(e),
            }
            let action = format!("delete table ip {table} in {}", netns.display());
            nft(&netns, &["delete", "table", "ip", &table], "", &action)?;
            Ok(Recovered::Removed)
        })
        .await
    }

    /// Queries answered with the fault so far.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        Baseline::now(stats(rec).map(|s| s.read().1))
    }

    /// Seen when the proxy runs and the table redirects UDP and TCP port 53 to it; the
    /// queries it answered with the fault since apply are the evidence.
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        let table = table_name(rec);
        let Some((port, stats)) =
            with_proxies(|m| m.get(&rec.id).map(|p| (p.port, p.stats.clone())))
        else {
            return Observation::unseen("the DNS proxy is not running in this agent");
        };
        let path = match netns_of(rec) {
            Ok(p) => p.to_path_buf(),
            Err(e) => return Observation::unseen(e.to_string()),
        };
        let t = table.clone();
        let read = blocking(move || read_table(&path, &t)).await;
        let (queries, faulted, forwarded) = stats.read();
        let counts = format!(
            "{} of {queries} queries answered with the fault since apply, {forwarded} forwarded",
            faulted.saturating_sub(since.counter.unwrap_or(0))
        );
        match read {
            Ok(Some(ports)) if ports.iter().filter(|p| **p == u64::from(port)).count() == 2 => {
                Observation::seen(format!(
                    "nft table ip {table} redirects UDP and TCP port 53 to the proxy on 127.0.0.1:{port}; {counts}"
                ))
            }
            Ok(Some(ports)) => Observation::unseen(format!(
                "nft table ip {table} redirects to {ports:?}, not to the proxy's port {port}"
            )),
            Ok(None) => Observation::unseen(format!("nft table ip {table} is not there")),
            Err(e) => Observation::unseen(format!("nft table ip {table} unreadable: {e}")),
        }
    }
}

/// The counters of the proxy of `rec`, while it runs.
pub fn stats(rec: &FaultRecord) -> Option<Arc<Stats>> {
    with_proxies(|m| m.get(&rec.id).map(|p| p.stats.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_nameserver_is_the_upstream() {
        let text = "# generated\nsearch svc.cluster.local\nnameserver 10.96.0.10\nnameserver 8.8.8.8\noptions ndots:5\n";
        assert_eq!(first_nameserver(text), Some("10.96.0.10".parse().unwrap()));
        assert_eq!(first_nameserver("search x\n"), None);
    }

    #[test]
    fn the_ruleset_redirects_udp_and_tcp_53_and_spares_marked_packets() {
        let text = ruleset("faultline_x", 5353).to_string();
        assert_eq!(
            text.matches(r#"{"redirect":{"port":5353}}"#).count(),
            2,
            "{text}"
        );
        assert!(
            text.contains(r#""hook":"output""#) && text.contains(r#""type":"nat""#),
            "{text}"
        );
        assert!(
            text.contains(&format!(r#""right":{MARK}}}}},{{"return":null}}"#)),
            "{text}"
        );
    }
}
