//! Class and filter requests (`tc class add`, `tc filter add`) for scoped faults: an htb
//! class that carries the fault, and u32 filters that steer the scoped traffic into it.

use rtnetlink::packet_core::{DefaultNla, NLM_F_CREATE, NLM_F_EXCL};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::tc::{TcAttribute, TcHandle, TcMessage};

use super::conn::Netlink;
use super::htb::HtbClass;
use super::qdisc::send;
use super::u32::U32Filter;
use crate::error::FaultError;

const TCA_OPTIONS: u16 = 2;

fn message(ifindex: u32, handle: TcHandle, parent: TcHandle, info: u32, kind: &str) -> TcMessage {
    let mut m = TcMessage::default();
    m.header.index = ifindex as i32;
    m.header.handle = handle;
    m.header.parent = parent;
    m.header.info = info;
    m.attributes.push(TcAttribute::Kind(kind.to_string()));
    m
}

fn with_options(mut m: TcMessage, options: Vec<u8>) -> TcMessage {
    m.attributes
        .push(TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, options)));
    m
}

/// `tc class add dev #IF parent MAJOR: classid MAJOR:MINOR htb ...` as a message.
pub fn htb_class_message(ifindex: u32, major: u16, minor: u16, class: &HtbClass) -> TcMessage {
    let m = message(
        ifindex,
        TcHandle { major, minor },
        TcHandle { major, minor: 0 },
        0,
        "htb",
    );
    with_options(m, class.options())
}

/// `tc filter add dev #IF parent MAJOR: protocol ip|ipv6 prio PRIO u32 ... flowid
/// MAJOR:MINOR` as a message.
pub fn u32_filter_message(
    ifindex: u32,
    major: u16,
    prio: u16,
    filter: &U32Filter,
    flow_minor: u16,
) -> TcMessage {
    // tcm_info = TC_H_MAKE(prio << 16, htons(protocol)).
    let info = (u32::from(prio) << 16) | u32::from(filter.protocol().to_be());
    let m = message(
        ifindex,
        TcHandle { major: 0, minor: 0 },
        TcHandle { major, minor: 0 },
        info,
        "u32",
    );
    with_options(
        m,
        filter.options((u32::from(major) << 16) | u32::from(flow_minor)),
    )
}

/// The bytes of a message as sent, without the netlink header (for tests).
pub fn message_bytes(m: &TcMessage) -> Vec<u8> {
    use rtnetlink::packet_core::Emitable;
    let mut buf = vec![0; m.buffer_len()];
    m.emit(&mut buf);
    buf
}

impl Netlink {
    /// `tc class add dev #IF parent MAJOR: classid MAJOR:MINOR htb ...`.
    pub async fn add_htb_class(
        &self,
        ifindex: u32,
        major: u16,
        minor: u16,
        class: &HtbClass,
    ) -> Result<(), FaultError> {
        let words = format!(
            "tc class add dev #{ifindex} parent {major:x}: classid {major:x}:{minor:x} htb"
        );
        let msg =
            RouteNetlinkMessage::NewTrafficClass(htb_class_message(ifindex, major, minor, class));
        send(
            &mut self.handle().clone(),
            msg,
            NLM_F_CREATE | NLM_F_EXCL,
            &words,
            self.netns(),
        )
        .await
    }

    /// `tc filter add dev #IF parent MAJOR: ... u32 ... flowid MAJOR:MINOR`, for each of
    /// `filters`. The requests are pipelined on the one socket (the kernel handles them in
    /// order); the first failure is returned.
    pub async fn add_u32_filters(
        &self,
        ifindex: u32,
        major: u16,
        filters: &[U32Filter],
        flow_minor: u16,
    ) -> Result<(), FaultError> {
        let sends = filters.iter().map(|f| {
            // u32 wants one protocol per priority: IPv4 at 1, IPv6 at 2.
            let prio = if f.v6 { 2 } else { 1 };
            let words = format!(
                "tc filter add dev #{ifindex} parent {major:x}: protocol {} prio {prio} u32 \
                 {f:?} flowid {major:x}:{flow_minor:x}",
                if f.v6 { "ipv6" } else { "ip" }
            );
            let msg = RouteNetlinkMessage::NewTrafficFilter(u32_filter_message(
                ifindex, major, prio, f, flow_minor,
            ));
            let mut handle = self.handle().clone();
            async move {
                send(
                    &mut handle,
                    msg,
                    NLM_F_CREATE | NLM_F_EXCL,
                    &words,
                    self.netns(),
                )
                .await
            }
        });
        futures::future::try_join_all(sends).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::nla::hex;
    use crate::netlink::u32::End;

    #[test]
    fn class_message_is_what_tc_sends() {
        // tc class add dev lo parent fa17: classid fa17:1 htb rate 100gbit burst 1mb ...
        let c = HtbClass {
            rate: 12_500_000_000,
            burst: 1 << 20,
            quantum: 60_000,
        };
        assert_eq!(
            message_bytes(&htb_class_message(1, 0xfa17, 1, &c)),
            hex(include_str!("testdata/htb_class_100gbit.hex"))
        );
    }

    #[test]
    fn filter_messages_are_what_tc_sends() {
        // tc filter add dev lo parent fa17: protocol ip prio 1 u32 match ip dst
        //   10.77.0.0/24 match ip dport 5001 0xffff flowid fa17:1
        let f = U32Filter {
            v6: false,
            end: End::Dst,
            net: Some("10.77.0.0/24".parse().unwrap()),
            port: Some(5001),
        };
        assert_eq!(
            message_bytes(&u32_filter_message(1, 0xfa17, 1, &f, 1)),
            hex(include_str!("testdata/u32_dst4_dport.hex"))
        );
        // ... protocol ipv6 prio 2 u32 match ip6 src fd00:77::/64 match ip6 sport 443 0xffff
        let f = U32Filter {
            v6: true,
            end: End::Src,
            net: Some("fd00:77::/64".parse().unwrap()),
            port: Some(443),
        };
        assert_eq!(
            message_bytes(&u32_filter_message(1, 0xfa17, 2, &f, 1)),
            hex(include_str!("testdata/u32_src6_sport.hex"))
        );
    }
}
