//! The routing a `tproxy` rule needs: packets carrying the fault's mark are delivered
//! locally, so the transparent proxy's socket takes them whatever their destination.
//! `ip rule add fwmark MARK lookup TABLE` and `ip route add local 0.0.0.0/0 dev lo table
//! TABLE`, over route netlink; for IPv6 the same with `ip -6` and `::/0`.

use std::net::{Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use netlink_packet_route::route::{RouteScope, RouteType};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use rtnetlink::{IpVersion, RouteMessageBuilder, RuleAddRequest};

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

fn local_default(lo: u32, table: u32, ip: IpVersion) -> netlink_packet_route::route::RouteMessage {
    match ip {
        IpVersion::V4 => RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(Ipv4Addr::UNSPECIFIED, 0)
            .table_id(table)
            .kind(RouteType::Local)
            .scope(RouteScope::Host)
            .output_interface(lo)
            .build(),
        IpVersion::V6 => RouteMessageBuilder::<Ipv6Addr>::new()
            .destination_prefix(Ipv6Addr::UNSPECIFIED, 0)
            .table_id(table)
            .kind(RouteType::Local)
            .scope(RouteScope::Host)
            .output_interface(lo)
            .build(),
    }
}

/// `fwmark MARK lookup TABLE pref 9000`, for either IP version.
fn fwmark_rule<T>(add: RuleAddRequest<T>, mark: u32, table: u32) -> RuleAddRequest<T> {
    add.fw_mark(mark)
        .table_id(table)
        .priority(RULE_PRIORITY)
        .action(RuleAction::ToTable)
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
    async fn fwmark_rules(
        &self,
        mark: u32,
        table: u32,
        ip: IpVersion,
    ) -> Result<Vec<RuleMessage>, FaultError> {
        let rules: Vec<RuleMessage> = self
            .handle()
            .rule()
            .get(ip)
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
    /// local 0.0.0.0/0 dev lo table TABLE` (with `ip -6` and `::/0` for `V6`).
    pub async fn add_tproxy_route(
        &self,
        mark: u32,
        table: u32,
        ip: IpVersion,
    ) -> Result<(), FaultError> {
        let lo = loopback(self).await?;
        self.handle()
            .route()
            .add(local_default(lo, table, ip.clone()))
            .replace()
            .execute()
            .await
            .map_err(|e| failed(self, "add the local route of the HTTP proxy in", e))?;
        if self.fwmark_rules(mark, table, ip.clone()).await?.is_empty() {
            let add = self.handle().rule().add();
            match ip {
                IpVersion::V4 => fwmark_rule(add.v4(), mark, table).execute().await,
                IpVersion::V6 => fwmark_rule(add.v6(), mark, table).execute().await,
            }
            .map_err(|e| failed(self, "add the fwmark rule of the HTTP proxy in", e))?;
        }
        Ok(())
    }

    /// Whether the rule and the route are there: (rules, routes in `table`).
    pub async fn tproxy_route(
        &self,
        mark: u32,
        table: u32,
        ip: IpVersion,
    ) -> Result<(usize, usize), FaultError> {
        let rules = self.fwmark_rules(mark, table, ip.clone()).await?.len();
        let filter = match ip {
            IpVersion::V4 => RouteMessageBuilder::<Ipv4Addr>::new()
                .table_id(table)
                .build(),
            IpVersion::V6 => RouteMessageBuilder::<Ipv6Addr>::new()
                .table_id(table)
                .build(),
        };
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

    /// Deletes the rule(s) and the route of `ip`; true if anything was there.
    pub async fn del_tproxy_route(
        &self,
        mark: u32,
        table: u32,
        ip: IpVersion,
    ) -> Result<bool, FaultError> {
        let mut removed = false;
        for rule in self.fwmark_rules(mark, table, ip.clone()).await? {
            self.handle()
                .rule()
                .del(rule)
                .execute()
                .await
                .map_err(|e| failed(self, "delete the fwmark rule of the HTTP proxy in", e))?;
            removed = true;
        }
        if self.tproxy_route(mark, table, ip.clone()).await?.1 > 0 {
            let lo = loopback(self).await?;
            self.handle()
                .route()
                .del(local_default(lo, table, ip))
                .execute()
                .await
                .map_err(|e| failed(self, "delete the local route of the HTTP proxy in", e))?;
            removed = true;
        }
        Ok(removed)
    }
}
