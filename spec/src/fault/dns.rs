//! The DNS kinds' values: name globs, query types and the answer a matching query gets.
//! Matching is here too (pure), so the spec's checks and the agent's resolver agree on
//! what a pattern matches.

use serde::{Deserialize, Serialize};

use crate::decode::cx::Cx;
use crate::decode::tree::Node;
use crate::decode::value::{Read, Words};

/// What a matching query is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum DnsAnswer {
    /// NXDOMAIN: the name does not exist (rcode 3).
    #[default]
    Nxdomain,
    /// SERVFAIL: the resolver failed (rcode 2).
    Servfail,
    /// REFUSED: the resolver will not answer (rcode 5).
    Refused,
    /// No answer at all: the client times out and retries.
    Drop,
}

impl DnsAnswer {
    /// The response code sent, `None` for [`DnsAnswer::Drop`].
    pub const fn rcode(self) -> Option<u8> {
        match self {
            DnsAnswer::Nxdomain => Some(3),
            DnsAnswer::Servfail => Some(2),
            DnsAnswer::Refused => Some(5),
            DnsAnswer::Drop => None,
        }
    }
}

impl Words for DnsAnswer {
    const WORDS: &'static [&'static str] = &["nxdomain", "servfail", "refused", "drop"];

    fn from_word(word: &str) -> Self {
        match word {
            "servfail" => DnsAnswer::Servfail,
            "refused" => DnsAnswer::Refused,
            "drop" => DnsAnswer::Drop,
            _ => DnsAnswer::Nxdomain,
        }
    }
}

/// A DNS query type by its mnemonic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Alias.
    Cname,
    /// Mail exchanger.
    Mx,
    /// Name server.
    Ns,
    /// Reverse pointer.
    Ptr,
    /// Start of authority.
    Soa,
    /// Service locator.
    Srv,
    /// Text.
    Txt,
    /// Service binding for HTTPS.
    Https,
}

impl DnsType {
    /// Every type, as the spec spells it.
    pub const ALL: &'static [(&'static str, DnsType, u16)] = &[
        ("A", DnsType::A, 1),
        ("AAAA", DnsType::Aaaa, 28),
        ("CNAME", DnsType::Cname, 5),
        ("MX", DnsType::Mx, 15),
        ("NS", DnsType::Ns, 2),
        ("PTR", DnsType::Ptr, 12),
        ("SOA", DnsType::Soa, 6),
        ("SRV", DnsType::Srv, 33),
        ("TXT", DnsType::Txt, 16),
        ("HTTPS", DnsType::Https, 65),
    ];

    /// Its mnemonic, as the spec spells it.
    pub fn name(self) -> &'static str {
        DnsType::ALL
            .iter()
            .find(|(_, t, _)| *t == self)
            .map_or("?", |(n, _, _)| *n)
    }

    /// Its number on the wire.
    pub fn code(self) -> u16 {
        DnsType::ALL
            .iter()
            .find(|(_, t, _)| *t == self)
            .map_or(0, |(_, _, c)| *c)
    }
}

/// A list of query types (`[A, AAAA]`), case-insensitive.
pub struct DnsTypes;

impl Read for DnsTypes {
    type Value = Vec<DnsType>;
    fn describe() -> String {
        let n: Vec<_> = DnsType::ALL
            .iter()
            .map(|(n, _, _)| format!("`{n}`"))
            .collect();
        format!("list of query types: {}", n.join(", "))
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<DnsType>> {
        let words = cx.strings(node, path)?;
        let mut out = Vec::new();
        for w in &words {
            match DnsType::ALL
                .iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(w))
            {
                Some((_, t, _)) => out.push(*t),
                None => {
                    let n: Vec<_> = DnsType::ALL.iter().map(|(n, _, _)| *n).collect();
                    cx.err(
                        path,
                        node.pos,
                        format!("unknown query type `{w}`; allowed: {}", n.join(", ")),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }
}

/// A list of name globs (`*.example.com`, `api-?.svc`): letters, digits, `-`, `_`, `.`,
/// and the wildcards `*` (any run of characters, dots too) and `?` (one character).
pub struct DnsGlobs;

/// Why `glob` is not a name glob, or `None`.
pub fn glob_problem(glob: &str) -> Option<String> {
    if glob.len() > 253 {
        return Some(format!(
            "`{glob}` is longer than a DNS name (253 characters)"
        ));
    }
    if let Some(c) = glob
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '?')))
    {
        return Some(format!(
            "`{glob}` holds `{c}`; a name glob has letters, digits, `-`, `_`, `.`, `*` and `?`"
        ));
    }
    if glob.trim_end_matches('.').split('.').any(str::is_empty) {
        return Some(format!("`{glob}` has an empty label"));
    }
    None
}

impl Read for DnsGlobs {
    type Value = Vec<String>;
    fn describe() -> String {
        "list of name globs (`*`, `?`)".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<String>> {
        let globs = cx.strings(node, path)?;
        let mut ok = true;
        for g in &globs {
            if let Some(p) = glob_problem(g) {
                cx.err(path, node.pos, p);
                ok = false;
            }
        }
        ok.then(|| {
            globs
                .iter()
                .map(|g| g.trim_end_matches('.').to_ascii_lowercase())
                .collect()
        })
    }
}

/// Whether `name` (any case, trailing dot or not) matches `glob`: `*` any run of
/// characters, `?` one character, the rest case-insensitively.
pub fn glob_matches(glob: &str, name: &str) -> bool {
    let g = glob.trim_end_matches('.').as_bytes();
    let n = name.trim_end_matches('.').as_bytes();
    // Iterative wildcard match with one backtrack point for the last `*`.
    let (mut gi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if gi < g.len() && (g[gi] == b'?' || g[gi].eq_ignore_ascii_case(&n[ni])) {
            gi += 1;
            ni += 1;
        } else if gi < g.len() && g[gi] == b'*' {
            star = Some((gi, ni));
            gi += 1;
        } else if let Some((sg, sn)) = star {
            gi = sg + 1;
            ni = sn + 1;
            star = Some((sg, sn + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|c| *c == b'*')
}

/// A list of IP addresses (`192.0.2.10`, `2001:db8::1`).
pub struct DnsAddrs;

impl Read for DnsAddrs {
    type Value = Vec<std::net::IpAddr>;
    fn describe() -> String {
        "list of IP addresses".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<std::net::IpAddr>> {
        let words = cx.strings(node, path)?;
        let mut out = Vec::new();
        let mut ok = true;
        for w in &words {
            match w.parse() {
                Ok(a) => out.push(a),
                Err(_) => {
                    cx.err(
                        path,
                        node.pos,
                        format!("`{w}` is not an IP address like `192.0.2.10` or `2001:db8::1`"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}

/// `true` or `false`.
pub struct Flag;

impl Read for Flag {
    type Value = bool;
    fn describe() -> String {
        "`true` or `false`".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<bool> {
        cx.boolean(node, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names_case_insensitively_with_star_and_question_mark() {
        assert!(glob_matches("*.example.com", "api.Example.COM."));
        assert!(glob_matches("*.example.com", "a.b.example.com"));
        assert!(!glob_matches("*.example.com", "example.com"));
        assert!(glob_matches("github.?om", "github.com"));
        assert!(!glob_matches("github.?om", "github.coom"));
        assert!(glob_matches("chaos-mesh.*", "chaos-mesh.org"));
        assert!(glob_matches("*", "anything.at.all"));
        assert!(!glob_matches("a.com", "b.com"));
    }

    #[test]
    fn globs_are_checked() {
        assert!(glob_problem("*.example.com").is_none());
        assert!(glob_problem("exa mple.com").unwrap().contains("holds ` `"));
        assert!(glob_problem("a..com").unwrap().contains("empty label"));
        assert!(glob_problem(&"a".repeat(254)).is_some());
    }
}
