//! A network fault's `hosts` (Chaos Mesh `externalTargets` names), resolved to addresses
//! when the fault is injected, here in the service, before any executor sees it: the agent
//! and its journal take addresses only (`NodeFault` stays IP-only on the wire), one lookup
//! serves every node of a cluster step, and the addresses are recorded in the run's events
//! before the fault is applied. Resolution uses the service's own resolver (the system's,
//! through tokio): a pod's resolver may differ, which Chaos Mesh's controller shares.

use faultline_spec::{NodeFault, PeerPort};
use ipnet::IpNet;

use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::domain::RunEvent;

impl Runner {
    /// `kind` with its `hosts` resolved and added to `peers` (each address once), or, for
    /// a name with a port, to `peerPorts` (each address on that port), noted on the run
    /// with what each name resolved to. A name that does not resolve, or
    /// resolves to nothing, stops the step: for a partition, fewer peers than asked would
    /// be a different fault.
    pub(super) async fn resolve_hosts(
        &self,
        mut kind: NodeFault,
        label: &str,
    ) -> Result<NodeFault, Stop> {
        let Some(scope) = kind.scope_mut() else {
            return Ok(kind);
        };
        if scope.hosts.is_empty() {
            return Ok(kind);
        }
        let mut seen = Vec::new();
        for host in std::mem::take(&mut scope.hosts) {
            let fail = |reason: String| {
                Stop::error(RunError::HostUnresolved {
                    step: label.to_string(),
                    host: host.to_string(),
                    reason,
                })
            };
            let addrs = tokio::net::lookup_host((host.name.as_str(), 0))
                .await
                .map_err(|e| fail(e.to_string()))?;
            let mut ips: Vec<std::net::IpAddr> = addrs.map(|a| a.ip()).collect();
            ips.sort();
            ips.dedup();
            if ips.is_empty() {
                return Err(fail("it resolved to no address".into()));
            }
            for ip in &ips {
                let peer = IpNet::from(*ip);
                match host.port {
                    None if !scope.peers.contains(&peer) => scope.peers.push(peer),
                    Some(port) => {
                        let pair = PeerPort { peer, port };
                        if !scope.peer_ports.contains(&pair) {
                            scope.peer_ports.push(pair);
                        }
                    }
                    None => {}
                }
            }
            let shown: Vec<String> = ips.iter().map(ToString::to_string).collect();
            seen.push(format!("`{host}` -> {}", shown.join(", ")));
        }
        self.record(RunEvent::Note {
            message: format!("step {label}: hosts resolved: {}", seen.join("; ")),
        })?;
        Ok(kind)
    }
}
