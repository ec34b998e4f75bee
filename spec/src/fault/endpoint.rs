//! The typed values a network fault's scope names its peers with, beside plain `peers`:
//! a peer on one port ([`PeerPort`], `10.0.0.0/8:22`, `[2001:db8::1]:443`) and a host name
//! with an optional port ([`Host`], `db.shop.svc:5432`). Each reads and prints as one
//! string, the way Chaos Mesh's `externalTargets` writes it, so the JSON and the YAML of
//! `validate --explain` stay plain lists of strings. [`Endpoint::parse`] sorts one such
//! string into an address, an address with a port, or a host name (with or without one).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One peer network on one port: a packet is in scope when its peer address lies in
/// `peer` and its peer-side or local-side port (TCP or UDP) is `port`, as `ports` match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerPort {
    /// The peer address or network.
    pub peer: IpNet,
    /// The port (1..=65535).
    pub port: u16,
}

/// A host name resolved when the fault is injected, optionally on one port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Host {
    /// The DNS name.
    pub name: String,
    /// Only this port of its addresses; `None`: every port (the addresses join `peers`).
    pub port: Option<u16>,
}

/// What one `externalTargets`-style string names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An address or CIDR: every port.
    Peer(IpNet),
    /// An address or CIDR on one port.
    PeerPort(PeerPort),
    /// A host name, with or without a port.
    Host(Host),
}

/// Why a string is not an endpoint, said for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointError {
    /// Text after the last `:` that is not a port 1..=65535.
    BadPort(String),
    /// Neither an address, a CIDR nor a host name.
    NotAnEndpoint,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::BadPort(p) => write!(f, "`{p}` is not a port (1 to 65535)"),
            EndpointError::NotAnEndpoint => f.write_str(
                "not an IP address, CIDR or host name, with or without a port (like \
                 `10.0.0.1`, `10.0.0.0/8:22`, `[2001:db8::1]:443` or `db.example.com:5432`)",
            ),
        }
    }
}

/// An address or a CIDR (a bare address is its own /32 or /128).
pub fn parse_net(t: &str) -> Option<IpNet> {
    t.parse::<IpNet>()
        .ok()
        .or_else(|| t.parse::<IpAddr>().ok().map(IpNet::from))
}

/// True for text shaped like a DNS name (letters, digits, `.`, `-`, at least one letter).
pub fn looks_like_host(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 253
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && t.chars().any(|c| c.is_ascii_alphabetic())
        && !t.starts_with(['.', '-'])
}

fn port(p: &str) -> Result<u16, EndpointError> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(EndpointError::BadPort(p.to_string())),
    }
}

impl Endpoint {
    /// Reads `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`, `10.0.0.1:80`, `10.0.0.0/8:22`,
    /// `[2001:db8::1]:443`, `[fd00::/8]:443`, `db.example.com` or `db.example.com:5432`.
    /// An unbracketed IPv6 address is the address: its last group is never a port.
    pub fn parse(text: &str) -> Result<Endpoint, EndpointError> {
        let t = text.trim();
        if let Some(net) = parse_net(t) {
            return Ok(Endpoint::Peer(net));
        }
        if let Some(rest) = t.strip_prefix('[') {
            let (inside, after) = rest.split_once(']').ok_or(EndpointError::NotAnEndpoint)?;
            let net = parse_net(inside)
                .filter(|n| matches!(n, IpNet::V6(_)))
                .ok_or(EndpointError::NotAnEndpoint)?;
            return match after.strip_prefix(':') {
                Some(p) => Ok(Endpoint::PeerPort(PeerPort {
                    peer: net,
                    port: port(p)?,
                })),
                None if after.is_empty() => Ok(Endpoint::Peer(net)),
                None => Err(EndpointError::NotAnEndpoint),
            };
        }
        if looks_like_host(t) {
            return Ok(Endpoint::Host(Host {
                name: t.to_string(),
                port: None,
            }));
        }
        let Some((head, p)) = t.rsplit_once(':').filter(|(h, _)| !h.contains(':')) else {
            return Err(EndpointError::NotAnEndpoint);
        };
        if let Some(net) = parse_net(head) {
            return Ok(Endpoint::PeerPort(PeerPort {
                peer: net,
                port: port(p)?,
            }));
        }
        if looks_like_host(head) {
            return Ok(Endpoint::Host(Host {
                name: head.to_string(),
                port: Some(port(p)?),
            }));
        }
        Err(EndpointError::NotAnEndpoint)
    }
}

/// An address alone when the network is one address, else the CIDR.
fn show_net(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

impl fmt::Display for PeerPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.peer {
            IpNet::V4(_) => write!(f, "{}:{}", show_net(&self.peer), self.port),
            IpNet::V6(_) => write!(f, "[{}]:{}", show_net(&self.peer), self.port),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl FromStr for PeerPort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match Endpoint::parse(s) {
            Ok(Endpoint::PeerPort(pp)) => Ok(pp),
            Ok(_) => Err(format!("`{s}` is not an address with a port")),
            Err(e) => Err(format!("`{s}`: {e}")),
        }
    }
}

impl FromStr for Host {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match Endpoint::parse(s) {
            Ok(Endpoint::Host(h)) => Ok(h),
            Ok(_) => Err(format!("`{s}` is not a host name")),
            Err(e) => Err(format!("`{s}`: {e}")),
        }
    }
}

/// Serde as one string, through `Display` and `FromStr`.
macro_rules! as_string {
    ($T:ty) => {
        impl Serialize for $T {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $T {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

as_string!(PeerPort);
as_string!(Host);

#[cfg(test)]
mod tests {
    use super::*;

    fn pp(s: &str) -> Endpoint {
        Endpoint::parse(s).unwrap()
    }

    #[test]
    fn every_written_form_reads() {
        assert_eq!(
            pp("10.0.0.1"),
            Endpoint::Peer("10.0.0.1/32".parse().unwrap())
        );
        assert_eq!(pp("fd00::/8"), Endpoint::Peer("fd00::/8".parse().unwrap()));
        // An unbracketed IPv6 address keeps its last group.
        assert_eq!(
            pp("2001:db8::1:443"),
            Endpoint::Peer("2001:db8::1:443/128".parse().unwrap())
        );
        assert_eq!(
            pp("10.0.0.0/8:22"),
            Endpoint::PeerPort(PeerPort {
                peer: "10.0.0.0/8".parse().unwrap(),
                port: 22
            })
        );
        assert_eq!(
            pp(" [2001:db8::1]:443 "),
            Endpoint::PeerPort(PeerPort {
                peer: "2001:db8::1/128".parse().unwrap(),
                port: 443
            })
        );
        assert_eq!(
            pp("[fd00::/8]"),
            Endpoint::Peer("fd00::/8".parse().unwrap())
        );
        assert_eq!(
            pp("db.shop.svc:5432"),
            Endpoint::Host(Host {
                name: "db.shop.svc".into(),
                port: Some(5432)
            })
        );
        assert_eq!(
            pp("localhost"),
            Endpoint::Host(Host {
                name: "localhost".into(),
                port: None
            })
        );
    }

    #[test]
    fn bad_ports_and_shapes_say_which() {
        assert_eq!(
            Endpoint::parse("10.0.0.1:0"),
            Err(EndpointError::BadPort("0".into()))
        );
        assert_eq!(
            Endpoint::parse("db:65536"),
            Err(EndpointError::BadPort("65536".into()))
        );
        assert_eq!(
            Endpoint::parse("[10.0.0.1]:80"),
            Err(EndpointError::NotAnEndpoint)
        );
        assert_eq!(Endpoint::parse("a b:80"), Err(EndpointError::NotAnEndpoint));
        assert_eq!(Endpoint::parse("[::1"), Err(EndpointError::NotAnEndpoint));
    }

    #[test]
    fn json_is_the_written_string_and_reads_back() {
        for s in [
            "10.0.0.1:80",
            "10.0.0.0/8:22",
            "[2001:db8::1]:443",
            "[fd00::/8]:53",
        ] {
            let p: PeerPort = s.parse().unwrap();
            let j = serde_json::to_string(&p).unwrap();
            assert_eq!(j, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<PeerPort>(&j).unwrap(), p);
        }
        for s in ["db.shop.svc:5432", "localhost"] {
            let h: Host = s.parse().unwrap();
            assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{s}\""));
        }
        assert!(serde_json::from_str::<PeerPort>("\"10.0.0.1\"").is_err());
        assert!(serde_json::from_str::<Host>("\"10.0.0.1\"").is_err());
    }
}
