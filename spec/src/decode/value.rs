//! The typed value readers a fault field is declared with (`workers: u32 as Int<1, 256>`):
//! each reads one node, reports what is wrong with it (path, line, what was expected), and
//! names its type for the docs. The declaration picks the reader; the compiler checks that
//! the reader yields the field's Rust type.

use std::marker::PhantomData;
use std::net::IpAddr;

use ipnet::IpNet;

use super::cx::{Cx, Schema, index};
use super::target::{PEER, mode, selector_fields};
use super::tree::Node;
use crate::fault::{Direction, PauseMethod, Signal};
use crate::selector::PodSelector;
use crate::units::{BitRate, Bytes, Duration, Percent};

/// Reads one field's value.
pub trait Read {
    /// What it reads.
    type Value;
    /// The type as the docs' field tables name it.
    fn describe() -> String;
    /// The schema of the value when it is an object (so an unknown field one level down can
    /// be placed); `None` for scalars and lists.
    const CHILD: Option<&'static Schema> = None;

    /// Reads `node`, at `path`, reporting every problem to `cx`.
    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Self::Value>;
}

/// A whole number from `MIN` to `MAX`.
pub struct Int<const MIN: i64, const MAX: i64>;

impl<const MIN: i64, const MAX: i64> Read for Int<MIN, MAX> {
    type Value = u32;
    fn describe() -> String {
        "integer".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<u32> {
        // The bounds are the declaration's; a u32 field declares bounds within u32.
        cx.int(node, path, MIN, MAX).map(|v| v as u32)
    }
}

/// A percentage, 0 to 100, as a number or a string (`'100'`, `50%`).
pub struct Pct;

impl Read for Pct {
    type Value = Percent;
    fn describe() -> String {
        "percentage".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Percent> {
        cx.percent(node, path)
    }
}

/// A duration >= 0 (`10ms`, `1m30s`).
pub struct Dur;

impl Read for Dur {
    type Value = Duration;
    fn describe() -> String {
        "duration".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Duration> {
        cx.parsed(node, path, "a duration >= 0 like `10ms`, `30s` or `1m30s`")
    }
}

/// A size in bytes, more than 0 (`256MB`, `50MiB`, `4096`).
pub struct Size;

impl Read for Size {
    type Value = Bytes;
    fn describe() -> String {
        "size".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Bytes> {
        let b: Bytes = cx.parsed(node, path, "a size like `256MB`, `50MiB` or `4096`")?;
        if b.0 == 0 {
            cx.err(path, node.pos, "must be more than 0 bytes");
            return None;
        }
        Some(b)
    }
}

/// A bit rate (`1mbps`).
pub struct Rate;

impl Read for Rate {
    type Value = BitRate;
    fn describe() -> String {
        "bit rate".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<BitRate> {
        cx.parsed(node, path, "a rate like `1mbps` (bps, kbps, mbps, gbps)")
    }
}

/// A signal by name or number (`SIGTERM`, `term`, `15`).
pub struct Sig;

impl Read for Sig {
    type Value = Signal;
    fn describe() -> String {
        let n: Vec<_> = Signal::ALL_NAMES.iter().map(|n| format!("`{n}`")).collect();
        format!("signal: {}, or its number", n.join(", "))
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Signal> {
        let s = cx.string(node, path)?;
        let sig = Signal::parse(&s);
        if sig.is_none() {
            cx.err(
                path,
                node.pos,
                format!(
                    "unknown signal `{s}`; allowed: {}",
                    Signal::ALL_NAMES.join(", ")
                ),
            );
        }
        sig
    }
}

/// A closed set of words, each naming one value of `T`.
pub trait Words: Sized + 'static {
    /// The words, as the spec spells them.
    const WORDS: &'static [&'static str];
    /// The value a word in [`Words::WORDS`] names.
    fn from_word(word: &str) -> Self;
}

impl Words for Direction {
    const WORDS: &'static [&'static str] = &["to", "from", "both"];

    fn from_word(word: &str) -> Self {
        match word {
            "from" => Direction::From,
            "both" => Direction::Both,
            _ => Direction::To,
        }
    }
}

impl Words for PauseMethod {
    const WORDS: &'static [&'static str] = &["signal", "freezer"];

    fn from_word(word: &str) -> Self {
        if word == "freezer" {
            PauseMethod::Freezer
        } else {
            PauseMethod::Signal
        }
    }
}

/// One of the words of `T`, with a suggestion when close to one.
pub struct OneOf<T>(PhantomData<T>);

impl<T: Words> Read for OneOf<T> {
    type Value = T;
    fn describe() -> String {
        let w: Vec<_> = T::WORDS.iter().map(|w| format!("`{w}`")).collect();
        format!("one of {}", w.join(", "))
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<T> {
        cx.one_of(node, path, T::WORDS).map(T::from_word)
    }
}

/// A list of non-empty names.
pub struct Names;

impl Read for Names {
    type Value = Vec<String>;
    fn describe() -> String {
        "list of names".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<String>> {
        cx.strings(node, path)
    }
}

/// A list of IP addresses or CIDRs (never host names).
pub struct Peers;

impl Read for Peers {
    type Value = Vec<IpNet>;
    fn describe() -> String {
        "list of IPs or CIDRs".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<IpNet>> {
        let items = cx.list(node, path)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| peer(cx, it, &index(path, i)))
            .collect();
        v.into_iter().collect()
    }
}

/// Reads a peer: an IP address or a CIDR.
pub fn peer(cx: &mut Cx, n: &Node, p: &str) -> Option<IpNet> {
    let s = cx.nonempty(n, p)?;
    let t = s.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Some(net);
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    let looks_like_host = t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && t.chars().any(|c| c.is_ascii_alphabetic());
    if looks_like_host {
        cx.err_hint(
            p,
            n.pos,
            format!("`{t}` is a host name; peers must be IP addresses or CIDRs"),
            "host names would be resolved at a time and place the run cannot control; write the address, e.g. `10.0.0.0/8`",
        );
    } else {
        cx.err(
            p,
            n.pos,
            format!("`{t}` is not an IP address or CIDR (like `10.0.0.1` or `10.0.0.0/8`)"),
        );
    }
    None
}

/// A list of TCP/UDP ports.
pub struct Ports;

impl Read for Ports {
    type Value = Vec<u16>;
    fn describe() -> String {
        "list of ports".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<u16>> {
        let items = cx.list(node, path)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| cx.int(it, &index(path, i), 1, 65535).map(|x| x as u16))
            .collect();
        v.into_iter().collect()
    }
}

/// A network interface name.
pub struct Iface;

impl Read for Iface {
    type Value = String;
    fn describe() -> String {
        "interface name".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
        let d = cx.nonempty(node, path)?;
        // IFNAMSIZ is 16 including the NUL.
        if d.len() > 15 || d.contains('/') || d.contains(char::is_whitespace) {
            cx.err(
                path,
                node.pos,
                format!("`{d}` is not an interface name (at most 15 characters, no `/` or spaces)"),
            );
            return None;
        }
        Some(d)
    }
}

/// Pods by selector fields with `mode`/`value` beside them.
pub struct PeerPods;

impl Read for PeerPods {
    type Value = PodSelector;
    fn describe() -> String {
        "pod selector".into()
    }
    const CHILD: Option<&'static Schema> = Some(&PEER);

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<PodSelector> {
        cx.object(node, path, &PEER, |cx, o| {
            let m = mode(cx, o);
            let mut s = selector_fields(cx, o)?;
            s.mode = m?;
            Some(s)
        })
        .flatten()
    }
}

/// `R`'s value, for a field that may be left out and then holds nothing.
pub struct Opt<R>(PhantomData<R>);

impl<R: Read> Read for Opt<R> {
    type Value = Option<R::Value>;
    fn describe() -> String {
        R::describe()
    }
    const CHILD: Option<&'static Schema> = R::CHILD;

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Self::Value> {
        R::read(cx, node, path).map(Some)
    }
}
