//! networkPartition: an nftables table of drop rules in the target's netns.
//!
//! One table per fault, `inet faultline_<fault id>`, with an `input` and an `output` base
//! chain dropping traffic from and to `scope.peers` (only on `scope.ports`, either side's
//! port, when given) and from and to each `scope.peerPorts` peer on its own port. Apply is one nft transaction (`add table; flush table; add chain ...;
//! add rule ...`), so applying twice equals once and a failure leaves nothing half-built.
//! Recover deletes the table by name; a missing table is `AlreadyGone`, a missing netns
//! `TargetGone`. `nft` runs inside the netns via `pre_exec` setns (any netns path works).

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use ipnet::IpNet;
use nftables::expr::{Expression, NamedExpression, Payload, PayloadField, Prefix, SetItem};
use nftables::schema::{Chain, NfCmd, NfListObject, NfObject, Nftables, Rule, Table};
use nftables::stmt::{AnonymousCounter, Counter, Match, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::record::{FaultRecord, Recovered};
use crate::error::FaultError;
use crate::netns;
use faultline_spec::{NetworkScope, NodeFault};

/// The partition fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Partition;

/// The nft table of a fault (`faultline_<id>`; ids hold `[A-Za-z0-9_-]`, nft names take
/// `_` more safely than `-`).
pub fn table_name(rec: &FaultRecord) -> String {
    format!("faultline_{}", rec.id.as_str().replace('-', "_"))
}

fn scope(rec: &FaultRecord) -> Result<&NetworkScope, FaultError> {
    let unsupported = |reason: &str| FaultError::Unsupported {
        kind: rec.kind.name(),
        target: rec.target.to_string(),
        reason: reason.into(),
    };
    match &rec.kind {
        NodeFault::NetworkPartition(p)
            if p.scope.peers.is_empty() && p.scope.peer_ports.is_empty() =>
        {
            Err(unsupported(
                "a partition needs `peers` or `peerPorts`; to cut everything use networkLoss 100%",
            ))
        }
        // Rules are per peer; ports with no peer to narrow would be silently dropped.
        NodeFault::NetworkPartition(p) if p.scope.peers.is_empty() && !p.scope.ports.is_empty() => {
            Err(unsupported(
                "`ports` narrow `peers` and this partition has none; list each peer with its port under `peerPorts`",
            ))
        }
        NodeFault::NetworkPartition(p) => Ok(&p.scope),
        _ => Err(unsupported("not a partition fault")),
    }
}

fn netns_of(rec: &FaultRecord) -> Result<&Path, FaultError> {
    rec.resolved
        .netns
        .as_deref()
        .ok_or_else(|| FaultError::Unsupported {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            reason: "the target has no network namespace".into(),
        })
}

fn field(protocol: &'static str, name: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: protocol.into(),
            field: name.into(),
        },
    )))
}

fn matches(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::EQ,
    })
}

/// `ip[6] saddr|daddr NET`.
fn peer_match(addr_field: &'static str, net: &IpNet) -> Statement<'static> {
    let proto = match net {
        IpNet::V4(_) => "ip",
        IpNet::V6(_) => "ip6",
    };
    let prefix = Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(Expression::String(net.network().to_string().into())),
        len: u32::from(net.prefix_len()),
    }));
    matches(field(proto, addr_field), prefix)
}

/// `th sport|dport {PORTS}`.
fn ports_match(port_field: &'static str, ports: &[u16]) -> Statement<'static> {
    let set = ports
        .iter()
        .map(|p| SetItem::Element(Expression::Number(u32::from(*p))))
        .collect();
    matches(
        field("th", port_field),
        Expression::Named(NamedExpression::Set(set)),
    )
}

/// `add rule inet TABLE CHAIN <expr> counter drop`.
fn drop_rule(
    table: &str,
    chain: &'static str,
    mut expr: Vec<Statement<'static>>,
) -> NfObject<'static> {
    // The counter is what `observe` reads: packets this rule dropped.
    expr.push(Statement::Counter(Counter::Anonymous(Some(
        AnonymousCounter::default(),
    ))));
    expr.push(Statement::Drop(None));
    NfObject::CmdObject(NfCmd::Add(NfListObject::Rule(Rule {
        family: NfFamily::INet,
        table: table.to_string().into(),
        chain: chain.into(),
        expr: Cow::Owned(expr),
        handle: None,
        index: None,
        comment: None,
    })))
}

/// The rules of one chain: per peer, `ip[6] saddr|daddr PEER [th sport|dport {PORTS}]
/// counter drop`; per `peerPorts` pair, `ip[6] saddr|daddr PEER th sport|dport PORT
/// counter drop` (either side's port, as `ports` match), so a pair drops that peer's one
/// port and no other.
fn rules(
    table: &str,
    chain: &'static str,
    addr_field: &'static str,
    s: &NetworkScope,
) -> Vec<NfObject<'static>> {
    let port_fields: &[Option<&'static str>] = if s.ports.is_empty() {
        &[None]
    } else {
        &[Some("sport"), Some("dport")]
    };
    let mut out = Vec::new();
    for peer in &s.peers {
        for port_field in port_fields {
            let mut expr = vec![peer_match(addr_field, peer)];
            if let Some(pf) = port_field {
                expr.push(ports_match(pf, &s.ports));
            }
            out.push(drop_rule(table, chain, expr));
        }
    }
    for pair in &s.peer_ports {
        for pf in ["sport", "dport"] {
            let expr = vec![
                peer_match(addr_field, &pair.peer),
                ports_match(pf, &[pair.port]),
            ];
            out.push(drop_rule(table, chain, expr));
        }
    }
    out
}

/// The whole apply transaction for `rec`.
pub fn ruleset(table: &str, s: &NetworkScope) -> Nftables<'static> {
    let t = || Table {
        family: NfFamily::INet,
        name: table.to_string().into(),
        handle: None,
    };
    let chain = |name: &'static str, hook| {
        NfObject::CmdObject(NfCmd::Add(NfListObject::Chain(Chain {
            family: NfFamily::INet,
            table: table.to_string().into(),
            name: name.into(),
            _type: Some(NfChainType::Filter),
            hook: Some(hook),
            // Before the usual filter chains (priority 0), so their accepts cannot let the
            // peers' traffic through first.
            prio: Some(-10),
            policy: Some(NfChainPolicy::Accept),
            ..Chain::default()
        })))
    };
    let mut objects = vec![
        NfObject::CmdObject(NfCmd::Add(NfListObject::Table(t()))),
        NfObject::CmdObject(NfCmd::Flush(nftables::schema::FlushObject::Table(t()))),
        chain("input", NfHook::Input),
        chain("output", NfHook::Output),
    ];
    objects.extend(rules(table, "input", "saddr", s));
    objects.extend(rules(table, "output", "daddr", s));
    Nftables {
        objects: Cow::Owned(objects),
    }
}

/// Runs `nft ARGS` in the netns with `stdin`; returns stdout.
pub(crate) fn nft(
    netns: &Path,
    args: &[&str],
    stdin: &str,
    action: &str,
) -> Result<String, FaultError> {
    let fail = |detail: String| FaultError::Command {
        program: "nft",
        action: action.to_string(),
        detail,
    };
    let mut child = netns::command_in(netns, "nft")?
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            fail(format!(
                "cannot run nft ({e}); install the nftables package"
            ))
        })?;
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .map_err(|e| fail(format!("writing to nft: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn table_exists(netns: &Path, table: &str) -> Result<bool, FaultError> {
    let listing = nft(
        netns,
        &["-j", "list", "tables", "inet"],
        "",
        &format!("list tables in {}", netns.display()),
    )?;
    let parsed: Nftables = serde_json::from_str(&listing).map_err(|e| FaultError::Command {
        program: "nft",
        action: format!("list tables in {}", netns.display()),
        detail: format!("unreadable JSON: {e}"),
    })?;
    Ok(parsed
        .objects
        .iter()
        .any(|o| matches!(o, NfObject::ListObject(NfListObject::Table(t)) if t.name == table)))
}

impl Fault for Partition {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let s = scope(rec)?;
        let netns = netns_of(rec)?.to_path_buf();
        let table = table_name(rec);
        let json = serde_json::to_string(&ruleset(&table, s)).map_err(|e| FaultError::Command {
            program: "nft",
            action: format!("encode table {table}"),
            detail: e.to_string(),
        })?;
        let action = format!("add table inet {table} in {}", netns.display());
        // nft is a short blocking exec; keep it off the async workers.
        blocking(move || nft(&netns, &["-j", "-f", "-"], &json, &action).map(drop)).await
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let path = netns_of(rec)?.to_path_buf();
        let id = rec.resolved.netns_id;
        let table = table_name(rec);
        blocking(move || {
            // The path may be a dead PID's while the namespace, and our table, live on.
            let netns = match netns::locate(&path, id) {
                Ok(p) => p,
                Err(FaultError::TargetNotFound(what)) => return Ok(Recovered::TargetGone(what)),
                Err(e) => return Err(e),
            };
            match table_exists(&netns, &table) {
                Ok(true) => {}
                Ok(false) => return Ok(Recovered::AlreadyGone),
                Err(FaultError::TargetNotFound(what)) => return Ok(Recovered::TargetGone(what)),
                Err(e) => return Err(e),
            }
            let action = format!("delete table inet {table} in {}", netns.display());
            nft(&netns, &["delete", "table", "inet", &table], "", &action)?;
            Ok(Recovered::Removed)
        })
        .await
    }

    /// The packets our rules dropped so far.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        let counter = read_table(rec).await.ok().flatten().map(|t| t.packets);
        Baseline::now(counter)
    }

    /// Seen when the table is in the netns with every drop rule the scope asks for; the
    /// packets the rules dropped since apply are evidence (they move only when the target
    /// talks to the peers).
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        let want = match scope(rec) {
            Ok(s) => rules("t", "input", "saddr", s).len() * 2,
            Err(e) => return Observation::unseen(e.to_string()),
        };
        let table = table_name(rec);
        match read_table(rec).await {
            Ok(None) => Observation::unseen(format!("nft table inet {table} is not there")),
            Ok(Some(t)) => {
                let dropped = t.packets.saturating_sub(since.counter.unwrap_or(0));
                let evidence = format!(
                    "nft table inet {table}: {} of {want} drop rule(s), {dropped} packet(s) dropped since apply",
                    t.drop_rules
                );
                if t.drop_rules >= want {
                    Observation::seen(evidence)
                } else {
                    Observation::unseen(evidence)
                }
            }
            Err(e) => Observation::unseen(format!("nft table inet {table} unreadable: {e}")),
        }
    }
}

/// What `nft list table` shows of ours.
struct TableState {
    /// Rules ending in `drop`.
    drop_rules: usize,
    /// Their counters' packets, summed.
    packets: u64,
}

/// Our table as the netns holds it now; `None` when it is not there.
async fn read_table(rec: &FaultRecord) -> Result<Option<TableState>, FaultError> {
    let path = netns_of(rec)?.to_path_buf();
    let id = rec.resolved.netns_id;
    let table = table_name(rec);
    blocking(move || {
        let netns = netns::locate(&path, id)?;
        if !table_exists(&netns, &table)? {
            return Ok(None);
        }
        let action = format!("list table inet {table} in {}", netns.display());
        let out = nft(
            &netns,
            &["-j", "list", "table", "inet", &table],
            "",
            &action,
        )?;
        let json: serde_json::Value =
            serde_json::from_str(&out).map_err(|e| FaultError::Command {
                program: "nft",
                action: action.clone(),
                detail: format!("unreadable JSON: {e}"),
            })?;
        Ok(Some(table_state(&json)))
    })
    .await
}

/// Counts drop rules and sums their counters in `nft -j list table` output.
fn table_state(json: &serde_json::Value) -> TableState {
    let mut state = TableState {
        drop_rules: 0,
        packets: 0,
    };
    let objects = json["nftables"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for expr in objects.iter().filter_map(|o| o["rule"]["expr"].as_array()) {
        if expr.iter().any(|e| e.get("drop").is_some()) {
            state.drop_rules += 1;
        }
        state.packets += expr
            .iter()
            .filter_map(|e| e["counter"]["packets"].as_u64())
            .sum::<u64>();
    }
    state
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FaultError> + Send + 'static,
) -> Result<T, FaultError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FaultError::Command {
            program: "nft",
            action: "run".into(),
            detail: format!("worker thread failed: {e}"),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_state_counts_drop_rules_and_sums_their_counters() {
        let json: serde_json::Value = serde_json::from_str(
            r#"{"nftables":[{"metainfo":{}},{"table":{"name":"t"}},
            {"rule":{"expr":[{"match":{}},{"counter":{"packets":3,"bytes":9}},{"drop":null}]}},
            {"rule":{"expr":[{"match":{}},{"counter":{"packets":4,"bytes":9}},{"drop":null}]}},
            {"rule":{"expr":[{"accept":null}]}}]}"#,
        )
        .unwrap();
        let s = table_state(&json);
        assert_eq!((s.drop_rules, s.packets), (2, 7));
    }

    #[test]
    fn the_ruleset_drops_peers_both_ways_and_ports_on_either_side() {
        let s = NetworkScope {
            peers: vec![
                "10.1.0.0/16".parse().unwrap(),
                "fd00::1/128".parse().unwrap(),
            ],
            ports: vec![80, 443],
            ..NetworkScope::default()
        };
        let json = serde_json::to_value(ruleset("faultline_x", &s)).unwrap();
        let text = json.to_string();
        let objs = json["nftables"].as_array().unwrap();
        // table, flush, 2 chains, 2 peers x 2 port sides x 2 chains.
        assert_eq!(objs.len(), 4 + 8, "{text}");
        assert!(
            text.contains(r#""hook":"input""#) && text.contains(r#""hook":"output""#),
            "{text}"
        );
        assert!(
            text.contains(r#"{"prefix":{"addr":"10.1.0.0","len":16}}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""field":"daddr","protocol":"ip6""#),
            "{text}"
        );
        assert!(text.contains(r#"{"set":[80,443]}"#), "{text}");
        assert_eq!(text.matches(r#""drop":null"#).count(), 8, "{text}");
        assert_eq!(text.matches(r#""counter":{"#).count(), 8, "{text}");
    }

    #[test]
    fn each_peer_port_pair_drops_its_peer_on_its_port_only() {
        let s = NetworkScope {
            peers: vec!["10.1.0.0/16".parse().unwrap()],
            peer_ports: vec![
                "192.0.2.20:8080".parse().unwrap(),
                "[2001:db8::1]:443".parse().unwrap(),
            ],
            ..NetworkScope::default()
        };
        let json = serde_json::to_value(ruleset("faultline_x", &s)).unwrap();
        let objs = json["nftables"].as_array().unwrap();
        let rules: Vec<String> = objs
            .iter()
            .filter_map(|o| o["add"]["rule"].as_object())
            .map(|r| {
                format!(
                    "{} {}",
                    r["chain"],
                    serde_json::Value::Array(r["expr"].as_array().unwrap().clone())
                )
            })
            .collect();
        // Per chain: the peer on every port (1), each pair by either side's port (2 x 2).
        assert_eq!(rules.len(), 2 * (1 + 4), "{rules:#?}");
        let pair = |chain: &str, proto: &str, addr: &str, len: u8, side: &str, port: u16| {
            let dir = if chain == "input" { "saddr" } else { "daddr" };
            format!(
                r#""{chain}" [{{"match":{{"left":{{"payload":{{"field":"{dir}","protocol":"{proto}"}}}},"op":"==","right":{{"prefix":{{"addr":"{addr}","len":{len}}}}}}}}},{{"match":{{"left":{{"payload":{{"field":"{side}","protocol":"th"}}}},"op":"==","right":{{"set":[{port}]}}}}}},{{"counter":{{"bytes":0,"packets":0}}}},{{"drop":null}}]"#
            )
        };
        for chain in ["input", "output"] {
            for side in ["sport", "dport"] {
                let v4 = pair(chain, "ip", "192.0.2.20", 32, side, 8080);
                assert!(rules.contains(&v4), "{v4}\n{rules:#?}");
                let v6 = pair(chain, "ip6", "2001:db8::1", 128, side, 443);
                assert!(rules.contains(&v6), "{v6}\n{rules:#?}");
            }
        }
        // The peer's rule carries no port: peer ports never narrow `peers`.
        let text = json.to_string();
        assert_eq!(text.matches(r#""len":16"#).count(), 2, "{text}");
        assert_eq!(text.matches(r#"{"set":[8080]}"#).count(), 4, "{text}");
    }

    #[test]
    fn a_partition_of_pairs_alone_is_taken_and_ports_without_peers_are_refused() {
        let rec = |scope: NetworkScope| FaultRecord {
            id: crate::faults::record::FaultId::new("p").unwrap(),
            kind: NodeFault::NetworkPartition(faultline_spec::fault::NetworkPartition { scope }),
            target: faultline_spec::LocalTarget::Netns("/run/netns/x".into()),
            resolved: crate::target::Resolved::default(),
            lease_until: chrono::Utc::now(),
            prior: None,
        };
        let pairs = NetworkScope {
            peer_ports: vec!["10.0.0.1:80".parse().unwrap()],
            ..NetworkScope::default()
        };
        assert!(scope(&rec(pairs.clone())).is_ok());
        let with_ports = NetworkScope {
            ports: vec![443],
            ..pairs
        };
        let err = scope(&rec(with_ports)).unwrap_err().to_string();
        assert!(err.contains("peerPorts"), "{err}");
        let err = scope(&rec(NetworkScope::default()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("networkLoss"), "{err}");
    }
}
