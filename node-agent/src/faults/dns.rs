//! dnsError, dnsDelay, dnsSpoof: the target's DNS queries for matching names answered
//! with an error, late, or with other addresses.
//!
//! Apply starts a [`dnsproxy`] in the target's network namespace (on its `127.0.0.1` and
//! `::1`) and then one nft transaction, tables `ip faultline_<fault id>` and (when the
//! namespace has IPv6) `ip6 faultline_<fault id>`, whose `output` nat chains redirect
//! every UDP and TCP packet to port 53, whatever the address, to the proxy, except the
//! proxy's own marked upstream queries. The proxy forwards what it does not
//! answer to the first `nameserver` of the target's `resolv.conf`. Apply twice is once
//! (the running proxy is kept, the table rebuilt). Recover deletes the table and stops
//! the proxy; after an agent crash the proxy is gone with the agent and the journal's
//! record names the tables. IPv4 and IPv6 alike: an IPv6 nameserver is the upstream as
//! an IPv4 one is, and queries to an IPv6 resolver are redirected by the `ip6` table.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::partition::{blocking, nft, table_name};
use super::record::{FaultRecord, Recovered};
use super::running::Running;
use crate::dnsproxy::{self, Action, MARK, Policy, Proxy, Stats};
use crate::error::FaultError;
use crate::{netlink, netns};
use faultline_spec::NodeFault;

/// The DNS fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Dns;

/// The proxies this agent runs, by fault.
static PROXIES: Running<Proxy> = Running::new();

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
        _ => return Err(rec.unsupported("not a DNS fault")),
    };
    if policy.patterns.is_empty() {
        return Err(rec.unsupported("a DNS fault needs `patterns`"));
    }
    Ok(policy)
}

/// The port whose queries are redirected.
const DNS_PORT: u16 = 53;

/// A spoofed answer's TTL when the fault names none: short, so caches let go soon.
pub const DEFAULT_SPOOF_TTL: u32 = 5;

fn netns_of(rec: &FaultRecord) -> Result<&Path, FaultError> {
    rec.resolved
        .netns
        .as_deref()
        .ok_or_else(|| rec.unsupported("the target has no network namespace"))
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
                Some(a) => Ok(SocketAddr::from((a, 53))),
                None => Err(rec.unsupported(format!("{} names no nameserver", p.display()))),
            };
        }
    }
    let tried: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Err(rec.unsupported(format!(
        "no resolv.conf of the target found (tried {}): unmatched queries would have nowhere to go",
        tried.join(", ")
    )))
}

/// The nft families the redirect is written in: IPv4 always, IPv6 when the proxy
/// listens on `::1` (the namespace has IPv6).
pub fn families(ipv6: bool) -> &'static [&'static str] {
    if ipv6 { &["ip", "ip6"] } else { &["ip"] }
}

/// The apply transaction, per family F of `families`: `table F T { chain output { type
/// nat hook output priority -100; meta mark MARK return; udp dport 53 counter redirect to
/// :PORT; tcp dport 53 counter redirect to :PORT } }`. `redirect` sends IPv4 to
/// `127.0.0.1` and IPv6 to `::1`, where the proxy listens on the same port. Written as
/// nft's JSON directly: the `nftables` crate's types for these few statements read longer
/// than the JSON they make.
pub fn ruleset(table: &str, port: u16, families: &[&str]) -> serde_json::Value {
    let mut commands = Vec::new();
    for family in families {
        let t = json!({"family": family, "name": table});
        let redirect = |proto: &str| {
            json!({"add": {"rule": {"family": family, "table": table, "chain": "output", "expr": [
                {"match": {"left": {"payload": {"protocol": proto, "field": "dport"}}, "op": "==", "right": 53}},
                {"counter": {"packets": 0, "bytes": 0}},
                {"redirect": {"port": port}}
            ]}}})
        };
        commands.extend([
            json!({"add": {"table": t}}),
            json!({"flush": {"table": t}}),
            json!({"add": {"chain": {"family": family, "table": table, "name": "output", "type": "nat",
                "hook": "output", "prio": -100, "policy": "accept"}}}),
            json!({"add": {"rule": {"family": family, "table": table, "chain": "output", "expr": [
                {"match": {"left": {"meta": {"key": "mark"}}, "op": "==", "right": MARK}},
                {"return": null}
            ]}}}),
            redirect("udp"),
            redirect("tcp"),
        ]);
    }
    json!({ "nftables": commands })
}

/// Our table's redirect rules and their ports in `family`, read back from the kernel;
/// `None` when the table is not there.
fn read_table(netns: &Path, family: &str, table: &str) -> Result<Option<Vec<u64>>, FaultError> {
    let action = format!("list table {family} {table} in {}", netns.display());
    let listing = nft(netns, &["-j", "list", "tables", family], "", &action)?;
    let tables: serde_json::Value = serde_json::from_str(&listing).unwrap_or_default();
    let present = tables["nftables"]
        .as_array()
        .is_some_and(|a| a.iter().any(|o| o["table"]["name"] == table));
    if !present {
        return Ok(None);
    }
    let out = nft(netns, &["-j", "list", "table", family, table], "", &action)?;
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

/// Deletes our tables in every family that has one (a record journaled before IPv6 was
/// redirected has only the `ip` one); whether any was there.
fn delete_tables(netns: &Path, table: &str) -> Result<bool, FaultError> {
    let mut deleted = false;
    for &family in families(true) {
        if read_table(netns, family, table)?.is_some() {
            let action = format!("delete table {family} {table} in {}", netns.display());
            nft(netns, &["delete", "table", family, table], "", &action)?;
            deleted = true;
        }
    }
    Ok(deleted)
}

impl Fault for Dns {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let policy = policy(rec)?;
        let netns = netns_of(rec)?.to_path_buf();
        let running = PROXIES.with(|m| m.get(&rec.id).map(|p| (p.port, p.ipv6)));
        let (port, ipv6) = match running {
            Some(listening) => listening,
            None => {
                let upstream = upstream(rec, &netns)?;
                if upstream.is_ipv6() && !dnsproxy_can_ipv6(&netns).await {
                    return Err(rec.unsupported(format!(
                            "the nameserver {} is IPv6 but the namespace has no IPv6 loopback for the proxy",
                            upstream.ip()
                        ),
                    ));
                }
                let proxy = dnsproxy::start(&netns, upstream, policy).await?;
                let listening = (proxy.port, proxy.ipv6);
                PROXIES.with(|m| m.insert(rec.id.clone(), proxy));
                listening
            }
        };
        let table = table_name(rec);
        let json = ruleset(&table, port, families(ipv6)).to_string();
        let action = format!("add tables {table} in {}", netns.display());
        let path = netns.clone();
        let added = blocking(move || {
            nft(&path, &["-j", "-f", "-"], &json, &action)?;
            // Flows already tracked keep the path NAT gave their first packet: forgotten,
            // their next query meets the redirect.
            if let Err(e) = netlink::forget_port(&path, DNS_PORT) {
                let _ = delete_tables(&path, &table);
                return Err(e);
            }
            Ok(())
        })
        .await;
        if added.is_err() {
            // Nothing stays applied: the proxy without its redirect is stopped too.
            PROXIES.with(|m| m.remove(&rec.id));
        }
        added
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let stopped = PROXIES.with(|m| m.remove(&rec.id)).is_some();
        let path = netns_of(rec)?.to_path_buf();
        let id = rec.resolved.netns_id;
        let table = table_name(rec);
        blocking(move || {
            let netns = match netns::locate(&path, id) {
                Ok(p) => p,
                Err(FaultError::TargetNotFound(what)) => return Ok(Recovered::TargetGone(what)),
                Err(e) => return Err(e),
            };
            let deleted = delete_tables(&netns, &table).and_then(|deleted| {
                // Flows redirected so far would keep going to the stopped proxy.
                netlink::forget_port(&netns, DNS_PORT)?;
                Ok(deleted)
            });
            match deleted {
                Ok(true) => Ok(Recovered::Removed),
                Ok(false) if stopped => Ok(Recovered::Removed),
                Ok(false) => Ok(Recovered::AlreadyGone),
                Err(FaultError::TargetNotFound(what)) => Ok(Recovered::TargetGone(what)),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Queries answered with the fault so far.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        Baseline::now(stats(rec).map(|s| s.read().1))
    }

    /// Seen when the proxy runs and its tables (`ip`, and `ip6` when it listens on `::1`)
    /// redirect UDP and TCP port 53 to it; the queries it answered with the fault since
    /// apply are the evidence.
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        let table = table_name(rec);
        let Some((port, ipv6, stats)) =
            PROXIES.with(|m| m.get(&rec.id).map(|p| (p.port, p.ipv6, p.stats.clone())))
        else {
            return Observation::unseen("the DNS proxy is not running in this agent");
        };
        let path = match netns_of(rec) {
            Ok(p) => p.to_path_buf(),
            Err(e) => return Observation::unseen(e.to_string()),
        };
        let t = table.clone();
        let read = blocking(move || {
            families(ipv6)
                .iter()
                .map(|f| Ok((*f, read_table(&path, f, &t)?)))
                .collect::<Result<Vec<_>, FaultError>>()
        })
        .await;
        let (queries, faulted, forwarded) = stats.read();
        let counts = format!(
            "{} of {queries} queries answered with the fault since apply, {forwarded} forwarded",
            faulted.saturating_sub(since.counter.unwrap_or(0))
        );
        let tables = match read {
            Ok(t) => t,
            Err(e) => return Observation::unseen(format!("nft table {table} unreadable: {e}")),
        };
        for (family, ports) in &tables {
            match ports {
                Some(p) if p.iter().filter(|p| **p == u64::from(port)).count() == 2 => {}
                Some(p) => {
                    return Observation::unseen(format!(
                        "nft table {family} {table} redirects to {p:?}, not to the proxy's port {port}"
                    ));
                }
                None => {
                    return Observation::unseen(format!("nft table {family} {table} is not there"));
                }
            }
        }
        let listens = if ipv6 {
            format!("127.0.0.1:{port} and [::1]:{port}")
        } else {
            format!("127.0.0.1:{port} (the namespace has no IPv6)")
        };
        let names: Vec<String> = tables.iter().map(|(f, _)| format!("{f} {table}")).collect();
        Observation::seen(format!(
            "nft tables {} redirect UDP and TCP port 53 to the proxy on {listens}; {counts}",
            names.join(", ")
        ))
    }
}

/// Whether the namespace at `netns` has an IPv6 loopback the proxy can listen on.
async fn dnsproxy_can_ipv6(netns: &Path) -> bool {
    let path = netns.to_path_buf();
    tokio::task::spawn_blocking(move || {
        netns::run_in(&path, || {
            std::net::UdpSocket::bind((std::net::Ipv6Addr::LOCALHOST, 0)).is_ok()
        })
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or(false)
}

/// The counters of the proxy of `rec`, while it runs.
pub fn stats(rec: &FaultRecord) -> Option<Arc<Stats>> {
    PROXIES.with(|m| m.get(&rec.id).map(|p| p.stats.clone()))
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
        let text = ruleset("faultline_x", 5353, families(true)).to_string();
        assert_eq!(
            text.matches(r#"{"redirect":{"port":5353}}"#).count(),
            4,
            "{text}"
        );
        assert!(
            text.contains(r#""family":"ip6","name":"faultline_x""#),
            "{text}"
        );
        let v4_only = ruleset("faultline_x", 5353, families(false)).to_string();
        assert!(!v4_only.contains("ip6"), "{v4_only}");
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
