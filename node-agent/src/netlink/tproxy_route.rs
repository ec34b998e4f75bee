//! The routing a `tproxy` rule needs: packets carrying the fault's mark are delivered
//! locally, so the transparent proxy's socket takes them whatever their destination.
//! `ip rule add fwmark MARK lookup TABLE` and `ip route add local 0.0.0.0/0 dev lo table
//! TABLE`, over route netlink.

use std::net::Ipv4Addr;

use futures::TryStreamExt;
use netlink_packet_route::route::{RouteScope, RouteType};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use rtnetlink::{IpVersion, RouteMessageBuilder};

use super::conn::Netlink;
use crate::error::FaultError;

/// The rule's preference: after `local` (0), before `main` (32766).
pub const RULE_PRIORITY: u32 = 9000;

fn failed(nl: &Netlink, action: &'static str, e: rtnetlink::Error) -> FaultError {
    FaultError::Io {
        action,
        path: nl.netns().to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

fn local_default(lo: u32, table: u32) -> netlink_packet_route::route::RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(Ipv4Addr::UNSPECIFIED, 0)
        .table_id(table)
        .kind(RouteType::Local)
        .scope(RouteScope::Host)
        .output_interface(lo)
        .build()
}

async fn loopback(nl: &Netlink) -> Result<u32, FaultError> {
    nl.links()
        .await?
        .into_iter()
        .find(|l| l.loopback)
        .map(|l| l.index)
        .ok_or_else(|| FaultError::Io {
            action: "find the loopback interface in",
            path: nl.netns().to_path_buf(),
            source: std::io::Error::other("no loopback interface"),
        })
}

impl Netlink {
    /// Our rules: those with fwmark `mark` that look up `table`.
    async fn fwmark_rules(&self, mark: u32, table: u32) -> Result<Vec<RuleMessage>, FaultError> {
        let rules: Vec<RuleMessage> = self
            .handle()
            .rule()
            .get(IpVersion::V4)
            .execute()
            .try_collect()
            .await
            .map_err(|e| failed(self, "list ip rules in", e))?;
        Ok(rules
            .into_iter()
            .filter(|r| {
                r.attributes.contains(&RuleAttribute::FwMark(mark))
                    && (r.attributes.contains(&RuleAttribute::Table(table))
                        || u32::from(r.header.table) == table)
            })
            .collect())
    }

    /// `ip rule add fwmark MARK lookup TABLE pref 9000` (once) and `ip route replace
    /// local 0.0.0.0/0 dev lo table TABLE`.
    pub async fn add_tproxy_route(&self, mark: u32, table: u32) -> Result<(), FaultError> {
        let lo = loopback(self).await?;
        self.handle()
            .route()
            .add(local_default(lo, table))
            .replace()
            .execute()
            .await
            .map_err(|e| failed(self, "add the local route of the HTTP proxy in", e))?;
        if self.fwmark_rules(mark, table).await?.is_empty() {
            self.handle()
                .rule()
                .add()
                .v4()
                .fw_mark(mark)
                .table_id(table)
                .priority(RULE_PRIORITY)
                .action(RuleAction::ToTable)
                .execute()
                .await
                .map_err(|e| failed(self, "add the fwmark rule of the HTTP proxy in", e))?;
        }
        Ok(())
    }

    /// Whether the rule and the route are there: (rules, routes in `table`).
    pub async fn tproxy_route(&self, mark: u32, table: u32) -> Result<(usize, usize), FaultError> {
        let rules = self.fwmark_rules(mark, table).await?.len();
        let filter = RouteMessageBuilder::<Ipv4Addr>::new()
            .table_id(table)
            .build();
        let routes: Vec<_> = self
            .handle()
            .route()
            .get(filter)
            .execute()
            .try_collect()
            .await
            .map_err(|e| failed(self, "list routes in", e))?;
        let ours = routes
            .iter()
            .filter(|r| {
                r.header.kind == RouteType::Local
                    && r.attributes.iter().any(|a| {
                        matches!(a, netlink_packet_route::route::RouteAttribute::Table(t) if *t == table)
                    })
            })
            .count();
        Ok((rules, ours))
    }

    /// Deletes the rule(s) and the route; true if anything was there.
    pub async fn del_tproxy_route(&self, mark: u32, table: u32) -> Result<bool, FaultError> {
        let mut removed = false;
        for rule in self.fwmark_rules(mark, table).await? {
            self.handle()
                .rule()
                .del(rule)
                .execute()
                .await
                .map_err(|e| failed(self, "delete the fwmark rule of the HTTP proxy in", e))?;
            removed = true;
        }
        if self.tproxy_route(mark, table).await?.1 > 0 {
            let lo = loopback(self).await?;
            self.handle()
                .route()
                .del(local_default(lo, table))
                .execute()
                .await
                .map_err(|e| failed(self, "delete the local route of the HTTP proxy in", e))?;
            removed = true;
        }
        Ok(removed)
    }
}
