//! httpDelay, httpAbort, httpReset, httpReplace: requests on one TCP port of the target
//! delayed, answered in the server's place, reset or changed by a transparent proxy.
//!
//! Apply starts an [`httpproxy`] in the target's network namespace, then sets up, in
//! that namespace:
//! - `ip rule add fwmark M lookup T` and `ip route add local 0.0.0.0/0 dev lo table T`
//!   (route netlink), so packets marked M are delivered locally whatever their address;
//! - one nft transaction, table `ip faultline_<fault id>`: for `inbound`, a prerouting
//!   rule `iifname != "lo" tcp dport PORT tproxy to :PROXY meta mark set M`; for
//!   `outbound`, an output `route` chain marking `tcp dport PORT` packets M (except the
//!   proxy's own, marked [`UPSTREAM_MARK`]), which the rule reroutes through `lo`, and
//!   a prerouting `tproxy` rule for them there;
//! - then cuts the TCP connections on PORT that were open before (the kernel's
//!   `SOCK_DESTROY` over `NETLINK_SOCK_DIAG`, `netlink/sock_destroy.rs`; what `ss -K`
//!   does), so keep-alive clients reconnect through the proxy: an established socket is
//!   never handed to `tproxy`.
//!
//! M and T are derived from the fault id, so two HTTP faults in one namespace (other
//! ports) never share a rule. Apply twice is once (the running proxy is kept, the table
//! rebuilt, the route replaced, the rule added once; connections are cut only when the
//! proxy starts). Recover stops the proxy (and with it every proxied connection), deletes
//! the table, the rule and the route; after an agent crash the proxy is gone with the
//! agent and the journal's record names the rest.
//!
//! IPv6 alike, where the namespace has it (the proxy then listens on `[::]`, IPv4 and
//! IPv6 on one socket): a second table `ip6 faultline_<fault id>` with the same rules
//! (`tproxy ip6`), and the same fwmark rule and local route (`::/0`) with `ip -6`.

use std::path::Path;
use std::sync::Arc;

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::partition::{blocking, nft, table_name};
use super::record::{FaultRecord, Recovered};
use super::running::Running;
use crate::error::FaultError;
use crate::httpproxy::{self, Policy, Proxy, Stats, UPSTREAM_MARK};
use crate::netlink::{Netlink, PortSide, destroy_tcp};
use crate::netns;
use faultline_spec::NodeFault;
use faultline_spec::fault::HttpDirection;
use rtnetlink::IpVersion;

/// The HTTP fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Http;

/// The proxies this agent runs, by fault.
static PROXIES: Running<Proxy> = Running::new();

/// The port and direction of an HTTP fault.
fn port_of(kind: &NodeFault) -> Option<(u16, HttpDirection)> {
    match kind {
        NodeFault::HttpDelay(f) => Some((f.port, f.direction)),
        NodeFault::HttpAbort(f) => Some((f.port, f.direction)),
        NodeFault::HttpReset(f) => Some((f.port, f.direction)),
        NodeFault::HttpReplace(f) => Some((f.port, f.direction)),
        _ => None,
    }
}

/// The packet mark and route table of `rec`'s tproxy route: `0x0fa2xxxx`, `xxxx` from the
/// fault id (FNV-1a), so faults in one namespace do not share them.
pub fn mark_and_table(rec: &FaultRecord) -> (u32, u32) {
    let h = rec.id.as_str().bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let v = 0x0fa2_0000 | ((h ^ (h >> 16)) & 0xffff);
    (v, v)
}

fn netns_of(rec: &FaultRecord) -> Result<&Path, FaultError> {
    rec.resolved
        .netns
        .as_deref()
        .ok_or_else(|| rec.unsupported("the target has no network namespace"))
}

/// The nft families the fault's tables are written in: IPv4 always, IPv6 when the proxy
/// takes it (the namespace has IPv6).
pub fn families(ipv6: bool) -> &'static [&'static str] {
    if ipv6 { &["ip", "ip6"] } else { &["ip"] }
}

/// The route netlink versions of the fwmark rule and local route, as [`families`].
fn ip_versions(ipv6: bool) -> Vec<IpVersion> {
    if ipv6 {
        vec![IpVersion::V4, IpVersion::V6]
    } else {
        vec![IpVersion::V4]
    }
}

/// The nft script of the fault's tables, one per family of `families` (each flushed and
/// rebuilt on every apply, all in one transaction).
pub fn ruleset(
    table: &str,
    port: u16,
    direction: HttpDirection,
    proxy: u16,
    mark: u32,
    families: &[&str],
) -> String {
    let mut script = String::new();
    for family in families {
        let chains = match direction {
            HttpDirection::Inbound => format!(
                "  chain prerouting {{\n    type filter hook prerouting priority mangle; policy accept;\n    iifname != \"lo\" tcp dport {port} counter tproxy {family} to :{proxy} meta mark set {mark:#x} accept\n  }}\n"
            ),
            HttpDirection::Outbound => format!(
                "  chain output {{\n    type route hook output priority mangle; policy accept;\n    meta mark {UPSTREAM_MARK:#x} return\n    tcp dport {port} counter meta mark set {mark:#x}\n  }}\n  chain prerouting {{\n    type filter hook prerouting priority mangle; policy accept;\n    iifname \"lo\" meta mark {mark:#x} tcp dport {port} counter tproxy {family} to :{proxy} accept\n  }}\n"
            ),
        };
        script += &format!(
            "add table {family} {table}\nflush table {family} {table}\ntable {family} {table} {{\n{chains}}}\n"
        );
    }
    script
}

/// The proxy ports our `family` table's `tproxy` rules send to; `None` when the table is
/// gone.
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
    Ok(Some(
        json["nftables"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|o| o["rule"]["expr"].as_array())
            .filter_map(|e| e.iter().find_map(|x| x["tproxy"]["port"].as_u64()))
            .collect(),
    ))
}

impl Http {
    async fn set_up(&self, rec: &FaultRecord, netns: &Path) -> Result<(), FaultError> {
        let policy = Policy::of(&rec.kind).ok_or_else(|| rec.unsupported("not an HTTP fault"))?;
        let (port, direction) =
            port_of(&rec.kind).ok_or_else(|| rec.unsupported("not an HTTP fault"))?;
        let running = PROXIES.with(|m| m.get(&rec.id).map(|p| (p.port, p.ipv6)));
        let ((proxy_port, ipv6), fresh) = match running {
            Some(p) => (p, false),
            None => {
                let proxy = httpproxy::start(netns, policy).await?;
                let p = (proxy.port, proxy.ipv6);
                PROXIES.with(|m| m.insert(rec.id.clone(), proxy));
                (p, true)
            }
        };
        let (mark, table_id) = mark_and_table(rec);
        let nl = Netlink::open(netns)?;
        for ip in ip_versions(ipv6) {
            nl.add_tproxy_route(mark, table_id, ip).await?;
        }
        let table = table_name(rec);
        let script = ruleset(&table, port, direction, proxy_port, mark, families(ipv6));
        let action = format!("add tables {table} in {}", netns.display());
        let path = netns.to_path_buf();
        blocking(move || nft(&path, &["-f", "-"], &script, &action).map(drop)).await?;
        if fresh {
            // Inbound: the server's sockets (local port); outbound: the client's.
            let side = match direction {
                HttpDirection::Inbound => PortSide::Local,
                HttpDirection::Outbound => PortSide::Remote,
            };
            let path = netns.to_path_buf();
            let cut = blocking(move || destroy_tcp(&path, port, side)).await?;
            tracing::debug!(fault = %rec.id.as_str(), cut, "connections open before the HTTP fault were cut");
        }
        Ok(())
    }

    /// Deletes the fault's tables, fwmark rules and local routes.
    async fn remove_rules(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let path = netns_of(rec)?.to_path_buf();
        let netns = match netns::locate(&path, rec.resolved.netns_id) {
            Ok(p) => p,
            Err(FaultError::TargetNotFound(what)) => return Ok(Recovered::TargetGone(what)),
            Err(e) => return Err(e),
        };
        let table = table_name(rec);
        let ns = netns.clone();
        // Both families, whatever the proxy took: a record journaled by an agent that
        // wrote only `ip` simply has no `ip6` table.
        let table_gone = blocking(move || {
            let mut gone = true;
            for family in families(true) {
                if read_table(&ns, family, &table)?.is_none() {
                    continue;
                }
                let action = format!("delete table {family} {table} in {}", ns.display());
                nft(&ns, &["delete", "table", family, &table], "", &action)?;
                gone = false;
            }
            Ok(gone)
        })
        .await;
        let table_gone = match table_gone {
            Ok(g) => g,
            Err(FaultError::TargetNotFound(what)) => return Ok(Recovered::TargetGone(what)),
            Err(e) => return Err(e),
        };
        let (mark, table_id) = mark_and_table(rec);
        let nl = Netlink::open(&netns)?;
        let mut route_removed = nl.del_tproxy_route(mark, table_id, IpVersion::V4).await?;
        // A kernel without IPv6 refuses to list IPv6 rules; then there are none of ours.
        route_removed |= nl
            .del_tproxy_route(mark, table_id, IpVersion::V6)
            .await
            .unwrap_or(false);
        Ok(if !table_gone || route_removed {
            Recovered::Removed
        } else {
            Recovered::AlreadyGone
        })
    }
}

impl Fault for Http {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let netns = netns_of(rec)?.to_path_buf();
        let done = self.set_up(rec, &netns).await;
        if done.is_err() {
            // Nothing stays applied: proxy, table, rule and route all go.
            let _ = self.recover(rec).await;
        }
        done
    }

    /// Rules first, proxy last: a connection opened meanwhile goes straight to the
    /// server rather than to a proxy about to close. The proxy is stopped whatever the
    /// rules' removal said.
    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let removed = self.remove_rules(rec).await;
        let stopped = PROXIES.with(|m| m.remove(&rec.id)).is_some();
        match removed {
            Ok(Recovered::AlreadyGone) if stopped => Ok(Recovered::Removed),
            other => other,
        }
    }

    /// Requests acted on so far.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        Baseline::now(stats(rec).map(|s| s.read().1))
    }

    /// Seen when the proxy runs, the table sends the port to it and the fwmark rule and
    /// local route are in place; the requests it acted on since apply are the evidence.
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        let verb = Policy::of(&rec.kind).map_or("faulted", |p| p.action.verb());
        let Some((port, ipv6, stats)) =
            PROXIES.with(|m| m.get(&rec.id).map(|p| (p.port, p.ipv6, p.stats.clone())))
        else {
            return Observation::unseen("the HTTP proxy is not running in this agent");
        };
        let path = match netns_of(rec) {
            Ok(p) => p.to_path_buf(),
            Err(e) => return Observation::unseen(e.to_string()),
        };
        let table = table_name(rec);
        let (t, p) = (table.clone(), path.clone());
        // Every family's table must send the port to the proxy; the ports of the first
        // that does not (or all of them) are what is reported.
        let read = blocking(move || {
            let mut ports = Vec::new();
            for family in families(ipv6) {
                match read_table(&p, family, &t)? {
                    Some(found) if found.contains(&u64::from(port)) => ports = found,
                    other => return Ok(other),
                }
            }
            Ok(Some(ports))
        })
        .await;
        let (mark, table_id) = mark_and_table(rec);
        let route = match Netlink::open(&path) {
            Ok(nl) => {
                // (rules, routes) of the family that has fewest: each needs one of each.
                let mut least = (usize::MAX, usize::MAX);
                let mut failed = None;
                for ip in ip_versions(ipv6) {
                    match nl.tproxy_route(mark, table_id, ip).await {
                        Ok((r, t)) => least = (least.0.min(r), least.1.min(t)),
                        Err(e) => failed = Some(e),
                    }
                }
                failed.map_or(Ok(least), Err)
            }
            Err(e) => Err(e),
        };
        let table = if ipv6 {
            format!("{table} (ip and ip6)")
        } else {
            table
        };
        let (requests, faulted, forwarded, spared) = stats.read();
        let counts = format!(
            "{} of {requests} requests {verb} since apply, {forwarded} passed on untouched{}",
            faulted.saturating_sub(since.counter.unwrap_or(0)),
            if spared > 0 {
                format!(", {spared} picked but not JSON (unpatched)")
            } else {
                String::new()
            }
        );
        match (read, route) {
            (Ok(Some(ports)), Ok((rules, routes)))
                if ports.contains(&u64::from(port)) && rules > 0 && routes > 0 =>
            {
                Observation::seen(format!(
                    "nft table ip {table} sends the port to the proxy on :{port} (tproxy, fwmark {mark:#x} -> local table {table_id}); {counts}"
                ))
            }
            (Ok(Some(ports)), Ok((rules, routes))) => Observation::unseen(format!(
                "nft table ip {table} tproxies to {ports:?} (proxy on {port}); {rules} fwmark rule(s), {routes} local route(s) in table {table_id}"
            )),
            (Ok(None), _) => Observation::unseen(format!("nft table ip {table} is not there")),
            (Err(e), _) => Observation::unseen(format!("nft table ip {table} unreadable: {e}")),
            (_, Err(e)) => Observation::unseen(format!("ip rules unreadable: {e}")),
        }
    }
}

/// The counters of the proxy of `rec`, while it runs.
pub fn stats(rec: &FaultRecord) -> Option<Arc<Stats>> {
    PROXIES.with(|m| m.get(&rec.id).map(|p| p.stats.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_rules_tproxy_the_port_from_outside_only() {
        let s = ruleset(
            "faultline_x",
            8080,
            HttpDirection::Inbound,
            40000,
            0x0fa2_0001,
            families(false),
        );
        assert!(s.contains("iifname != \"lo\" tcp dport 8080 counter tproxy ip to :40000 meta mark set 0xfa20001 accept"), "{s}");
        assert!(!s.contains("hook output"), "{s}");
        assert!(!s.contains("ip6"), "{s}");
    }

    #[test]
    fn outbound_rules_mark_the_target_s_packets_but_not_the_proxy_s() {
        let s = ruleset(
            "faultline_x",
            80,
            HttpDirection::Outbound,
            40000,
            0x0fa2_0001,
            families(false),
        );
        assert!(
            s.contains(&format!("meta mark {UPSTREAM_MARK:#x} return")),
            "{s}"
        );
        assert!(
            s.contains("tcp dport 80 counter meta mark set 0xfa20001"),
            "{s}"
        );
        assert!(
            s.contains(
                "iifname \"lo\" meta mark 0xfa20001 tcp dport 80 counter tproxy ip to :40000 accept"
            ),
            "{s}"
        );
    }

    #[test]
    fn with_ipv6_the_same_rules_are_written_in_an_ip6_table() {
        let s = ruleset(
            "faultline_x",
            8080,
            HttpDirection::Inbound,
            40000,
            0x0fa2_0001,
            families(true),
        );
        assert!(s.contains("table ip faultline_x {"), "{s}");
        assert!(s.contains("table ip6 faultline_x {"), "{s}");
        assert!(
            s.contains("tcp dport 8080 counter tproxy ip6 to :40000 meta mark set 0xfa20001"),
            "{s}"
        );
    }
}
