//! Qdisc requests: `tc qdisc replace | add | del | show`.

use std::io;
use std::path::PathBuf;

use futures::{StreamExt, TryStreamExt};
use rtnetlink::Handle;
use rtnetlink::packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage,
    NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::tc::{TcAttribute, TcHandle, TcMessage};

use super::htb::HtbRoot;
use super::netem::Netem;
use super::tbf::Tbf;
use crate::error::FaultError;

const TCA_OPTIONS: u16 = 2;

/// Qdisc requests in one namespace. Get it from [`super::Netlink::qdisc`].
#[derive(Debug, Clone)]
pub struct QdiscHandle {
    handle: Handle,
    netns: PathBuf,
}

/// A qdisc as `tc qdisc show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QdiscInfo {
    /// Interface index.
    pub ifindex: u32,
    /// `handle MAJOR:MINOR` as one u32 (`0xfa17_0000` is `fa17:`).
    pub handle: u32,
    /// Parent handle; `0xffff_ffff` for `root`.
    pub parent: u32,
    /// The qdisc kind, e.g. `tbf`, `netem`, `noqueue`.
    pub kind: String,
    /// The payload of its `TCA_OPTIONS` as the kernel dumps it (empty when it has none):
    /// for tbf a nest of `TCA_TBF_*`, for netem `tc_netem_qopt` then `TCA_NETEM_*`.
    pub options: Vec<u8>,
    /// Packets it sent (`TCA_STATS`), since it was created.
    pub packets: u64,
    /// Packets it dropped.
    pub drops: u64,
}

impl QdiscInfo {
    /// True for the interface's root qdisc.
    pub fn is_root(&self) -> bool {
        self.parent == u32::from(TcHandle::ROOT)
    }
}

impl QdiscHandle {
    pub(crate) fn new(handle: Handle, netns: PathBuf) -> Self {
        QdiscHandle { handle, netns }
    }

    /// `tc qdisc replace dev IF ...`: creates the qdisc, or replaces whatever sits at that
    /// parent. Applying the same request twice leaves one qdisc.
    pub fn replace(&self, ifindex: u32) -> QdiscRequest {
        self.request(ifindex, NLM_F_CREATE | NLM_F_REPLACE, "replace")
    }

    /// `tc qdisc add dev IF ...`: fails if a qdisc already sits at that parent.
    pub fn add(&self, ifindex: u32) -> QdiscRequest {
        self.request(ifindex, NLM_F_CREATE | NLM_F_EXCL, "add")
    }

    /// `tc qdisc del dev IF ...`.
    pub fn del(&self, ifindex: u32) -> QdiscDelRequest {
        QdiscDelRequest(self.request(ifindex, 0, "del"))
    }

    /// `tc qdisc show [dev IF]`: the qdiscs of one interface, or of all with `None`.
    pub async fn list(&self, ifindex: Option<u32>) -> Result<Vec<QdiscInfo>, FaultError> {
        let mut msg = TcMessage::default();
        msg.header.index = ifindex.map_or(0, |i| i as i32);
        let mut stream = self.handle.qdisc().get().index(msg.header.index).execute();
        let mut out = Vec::new();
        let fail = |e: rtnetlink::Error| FaultError::Netlink {
            action: format!("tc qdisc show in {}", self.netns.display()),
            source: Box::new(e),
        };
        while let Some(m) = stream.try_next().await.map_err(fail)? {
            let info = QdiscInfo {
                ifindex: m.header.index as u32,
                handle: m.header.handle.into(),
                parent: m.header.parent.into(),
                kind: m
                    .attributes
                    .iter()
                    .find_map(|a| match a {
                        TcAttribute::Kind(k) => Some(k.clone()),
                        _ => None,
                    })
                    .unwrap_or_default(),
                options: options_bytes(&m.attributes),
                packets: 0,
                drops: 0,
            };
            let mut info = info;
            if let Some(st) = m.attributes.iter().find_map(|a| match a {
                TcAttribute::Stats(s) => Some(s),
                _ => None,
            }) {
                info.packets = u64::from(st.packets);
                info.drops = u64::from(st.drops);
            }
            // Older kernels ignore the index in a dump; filter here as well.
            if ifindex.is_none_or(|i| i == info.ifindex) {
                out.push(info);
            }
        }
        Ok(out)
    }

    fn request(&self, ifindex: u32, flags: u16, verb: &str) -> QdiscRequest {
        let mut message = TcMessage::default();
        message.header.index = ifindex as i32;
        QdiscRequest {
            handle: self.handle.clone(),
            message,
            flags,
            words: format!("tc qdisc {verb} dev #{ifindex}"),
            netns: self.netns.clone(),
        }
    }
}

/// The raw `TCA_OPTIONS` payload of a qdisc whose options netlink-packet-route has no
/// type for (it keeps them as one opaque attribute).
fn options_bytes(attrs: &[TcAttribute]) -> Vec<u8> {
    use rtnetlink::packet_core::Nla;
    use rtnetlink::packet_route::tc::TcOption;
    attrs
        .iter()
        .find_map(|a| match a {
            TcAttribute::Options(opts) => opts.iter().find_map(|o| match o {
                TcOption::Other(nla) => {
                    let mut buf = vec![0; nla.value_len()];
                    nla.emit_value(&mut buf);
                    Some(buf)
                }
                _ => None,
            }),
            _ => None,
        })
        .unwrap_or_default()
}

/// A new/replace request; finish it with one qdisc kind ([`Self::tbf`], [`Self::netem`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct QdiscRequest {
    handle: Handle,
    message: TcMessage,
    flags: u16,
    /// The equivalent `tc` command, for errors.
    words: String,
    netns: PathBuf,
}

impl QdiscRequest {
    /// `root`.
    pub fn root(mut self) -> Self {
        self.message.header.parent = TcHandle::ROOT;
        self.words.push_str(" root");
        self
    }

    /// `parent MAJOR:MINOR`.
    pub fn parent(mut self, major: u16, minor: u16) -> Self {
        self.message.header.parent = TcHandle { major, minor };
        self.words.push_str(&format!(" parent {major:x}:{minor:x}"));
        self
    }

    /// `handle MAJOR:` (a qdisc's minor is always 0).
    pub fn handle(mut self, major: u16) -> Self {
        self.message.header.handle = TcHandle { major, minor: 0 };
        self.words.push_str(&format!(" handle {major:x}:"));
        self
    }

    /// `tbf rate R burst B limit L`.
    pub fn tbf(self, tbf: &Tbf) -> Self {
        self.kind("tbf", tbf.options())
    }

    /// `netem delay ... loss ... duplicate ... corrupt ... reorder ...`.
    pub fn netem(self, netem: &Netem) -> Self {
        self.kind("netem", netem.options())
    }

    /// `htb direct_qlen N` (default class 0: unclassified packets pass unshaped).
    pub fn htb(self, htb: &HtbRoot) -> Self {
        self.kind("htb", htb.options())
    }

    fn kind(mut self, kind: &str, options: Vec<u8>) -> Self {
        self.message
            .attributes
            .push(TcAttribute::Kind(kind.to_string()));
        // Hand-encoded payload: netlink-packet-route has no tbf/netem types, and netem's
        // TCA_OPTIONS is not even a plain nest (see `netem.rs`).
        self.message
            .attributes
            .push(TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, options)));
        self.words.push(' ');
        self.words.push_str(kind);
        self
    }

    /// The `struct tcmsg` and attributes as sent, without the netlink header (for tests
    /// that compare with what `tc` sends).
    pub fn payload_bytes(&self) -> Vec<u8> {
        use rtnetlink::packet_core::Emitable;
        let mut buf = vec![0; self.message.buffer_len()];
        self.message.emit(&mut buf);
        buf
    }

    /// Sends the request and waits for the kernel's acknowledgement.
    pub async fn execute(self) -> Result<(), FaultError> {
        let QdiscRequest {
            mut handle,
            message,
            flags,
            words,
            netns,
        } = self;
        let new = !words.starts_with("tc qdisc del");
        let payload = if new {
            RouteNetlinkMessage::NewQueueDiscipline(message)
        } else {
            RouteNetlinkMessage::DelQueueDiscipline(message)
        };
        send(&mut handle, payload, flags, &words, &netns).await
    }
}

/// Sends one traffic-control request (`flags` on top of `NLM_F_REQUEST | NLM_F_ACK`) and
/// waits for the kernel's answer; `words` is the equivalent `tc` command, for errors.
pub(crate) async fn send(
    handle: &mut Handle,
    payload: RouteNetlinkMessage,
    flags: u16,
    words: &str,
    netns: &std::path::Path,
) -> Result<(), FaultError> {
    let mut req = NetlinkMessage::from(payload);
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    let fail = |source: io::Error| FaultError::Netlink {
        action: format!("{words} (in {})", netns.display()),
        source: Box::new(source),
    };
    let mut response = handle.request(req).map_err(|e| fail(io::Error::other(e)))?;
    while let Some(msg) = response.next().await {
        if let NetlinkPayload::Error(e) = msg.payload
            && e.code.is_some()
        {
            return Err(fail(e.to_io()));
        }
    }
    Ok(())
}

/// A delete request: `tc qdisc del dev IF root | parent X:Y [handle H:]`.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct QdiscDelRequest(QdiscRequest);

impl QdiscDelRequest {
    /// `root`.
    pub fn root(self) -> Self {
        QdiscDelRequest(self.0.root())
    }

    /// `parent MAJOR:MINOR`.
    pub fn parent(self, major: u16, minor: u16) -> Self {
        QdiscDelRequest(self.0.parent(major, minor))
    }

    /// `handle MAJOR:`: the kernel refuses the delete if the qdisc there has another handle.
    pub fn handle(self, major: u16) -> Self {
        QdiscDelRequest(self.0.handle(major))
    }

    /// The request's bytes without the netlink header (for tests).
    pub fn payload_bytes(&self) -> Vec<u8> {
        self.0.payload_bytes()
    }

    /// Sends the delete and waits for the acknowledgement.
    pub async fn execute(self) -> Result<(), FaultError> {
        self.0.execute().await
    }
}

/// The OS error number behind a netlink failure, if that is what `e` is.
pub fn errno(e: &FaultError) -> Option<i32> {
    match e {
        FaultError::Netlink { source, .. } => source
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::nla::hex;

    /// Requests need a handle but these tests never send: a connection in our own netns,
    /// made inside a runtime, is enough.
    fn handle() -> QdiscHandle {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        let (_conn, h, _) = rtnetlink::new_connection().unwrap();
        QdiscHandle::new(h, PathBuf::from("/proc/self/ns/net"))
    }

    #[test]
    fn replace_tbf_is_the_message_tc_sends() {
        // tc qdisc replace dev lo root handle fa17: tbf rate 1mbit burst 32kb limit 64kb
        let q = handle();
        let req = q.replace(1).root().handle(0xfa17).tbf(&Tbf {
            rate: 125_000,
            burst: 32 * 1024,
            limit: 64 * 1024,
            peak: None,
        });
        assert_eq!(
            req.payload_bytes(),
            hex(include_str!("testdata/tbf_1mbit.hex"))
        );
        assert_eq!(req.flags, NLM_F_CREATE | NLM_F_REPLACE);
    }

    #[test]
    fn replace_htb_is_the_message_tc_sends() {
        // tc qdisc replace dev lo root handle fa17: htb direct_qlen 1000
        let req = handle()
            .replace(1)
            .root()
            .handle(0xfa17)
            .htb(&HtbRoot { direct_qlen: 1000 });
        assert_eq!(
            req.payload_bytes(),
            hex(include_str!("testdata/htb_root.hex"))
        );
    }

    #[test]
    fn delete_root_by_handle_is_the_message_tc_sends() {
        // tc qdisc del dev lo root handle fa17:
        let req = handle().del(1).root().handle(0xfa17);
        assert_eq!(
            req.payload_bytes(),
            hex(include_str!("testdata/del_root.hex"))
        );
    }

    #[test]
    fn replace_netem_starts_like_tc() {
        // tc qdisc replace dev lo root handle fa17: netem loss 50%
        let req = handle().replace(1).root().handle(0xfa17).netem(&Netem {
            loss: 0.5,
            ..Netem::default()
        });
        assert_eq!(
            req.payload_bytes(),
            hex(include_str!("testdata/netem_loss.hex"))
        );
    }
}
