//! The little of the DNS wire format (RFC 1035 §4) the proxy needs: a query's first
//! question, and an answer built from a query (an error, or spoofed addresses). Everything
//! else is relayed as bytes, never decoded, so answers from upstream come back unchanged.

use std::net::IpAddr;

/// The first question of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The query's id.
    pub id: u16,
    /// The name asked for, lower case, dotted, without the trailing dot.
    pub name: String,
    /// The query type's number (1 A, 28 AAAA, ...).
    pub qtype: u16,
    /// Where the question ends in the message (header and question, no more).
    pub end: usize,
}

/// The first question of `msg`, when it is a standard query (QR 0, opcode 0) with one.
pub fn question(msg: &[u8]) -> Option<Question> {
    if msg.len() < 12 || msg[2] & 0x80 != 0 || (msg[2] >> 3) & 0x0f != 0 {
        return None;
    }
    if u16::from_be_bytes([msg[4], msg[5]]) == 0 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*msg.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        // A question's name is never compressed (nothing precedes it to point to).
        if len > 63 {
            return None;
        }
        let label = msg.get(at..at + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]);
    msg.get(at + 2..at + 4)?; // qclass
    Some(Question {
        id: u16::from_be_bytes([msg[0], msg[1]]),
        name: labels.join("."),
        qtype,
        end: at + 4,
    })
}

/// The header and question of a response to `query` with `rcode` and `answers` answer
/// records following (their bytes appended by the caller).
fn response_head(query: &[u8], q: &Question, rcode: u8, answers: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.end + 32);
    out.extend_from_slice(&query[0..2]);
    // QR, the query's opcode and RD; RA (we recurse, through upstream) and the rcode.
    out.push(0x80 | (query[2] & 0x79));
    out.push(0x80 | (rcode & 0x0f));
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&answers.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..q.end]);
    out
}

/// A response to `query` carrying only `rcode` (3 NXDOMAIN, 2 SERVFAIL, 5 REFUSED).
pub fn error_response(query: &[u8], q: &Question, rcode: u8) -> Vec<u8> {
    response_head(query, q, rcode, 0)
}

/// A NOERROR response to `query` answering with those of `addrs` that fit its type (A
/// takes IPv4, AAAA IPv6; none for another type), each with `ttl` seconds.
pub fn address_response(query: &[u8], q: &Question, addrs: &[IpAddr], ttl: u32) -> Vec<u8> {
    let fitting: Vec<Vec<u8>> = addrs
        .iter()
        .filter_map(|a| match (a, q.qtype) {
            (IpAddr::V4(v4), 1) => Some(v4.octets().to_vec()),
            (IpAddr::V6(v6), 28) => Some(v6.octets().to_vec()),
            _ => None,
        })
        .collect();
    let count = u16::try_from(fitting.len()).unwrap_or(u16::MAX);
    let mut out = response_head(query, q, 0, count);
    for rdata in fitting.iter().take(usize::from(count)) {
        out.extend_from_slice(&[0xc0, 0x0c]); // the name: a pointer to the question's
        out.extend_from_slice(&q.qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes()); // class IN
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    out
}

/// A standard query for `name` of type `qtype` with `id`, recursion desired (tests and
/// the worked example use it; the proxy only relays queries).
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 18);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len().min(63) as u8);
        out.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// The response code of a response (`None` if too short).
pub fn rcode(msg: &[u8]) -> Option<u8> {
    msg.get(3).map(|b| b & 0x0f)
}

/// The IPv4 addresses in the A records of a response, read naively (tests).
pub fn a_records(msg: &[u8]) -> Vec<std::net::Ipv4Addr> {
    let Some(q) = question_of_response(msg) else {
        return Vec::new();
    };
    let count = u16::from_be_bytes([msg[6], msg[7]]);
    let mut at = q;
    let mut out = Vec::new();
    for _ in 0..count {
        // Skip the name (a pointer or labels).
        loop {
            let Some(&len) = msg.get(at) else { return out };
            if len & 0xc0 == 0xc0 {
                at += 2;
                break;
            }
            at += 1 + usize::from(len);
            if len == 0 {
                break;
            }
        }
        let Some(fixed) = msg.get(at..at + 10) else {
            return out;
        };
        let (rtype, rdlen) = (
            u16::from_be_bytes([fixed[0], fixed[1]]),
            usize::from(u16::from_be_bytes([fixed[8], fixed[9]])),
        );
        at += 10;
        if rtype == 1
            && rdlen == 4
            && let Some(r) = msg.get(at..at + 4)
        {
            out.push(std::net::Ipv4Addr::new(r[0], r[1], r[2], r[3]));
        }
        at += rdlen;
    }
    out
}

/// Where the question of a response ends.
fn question_of_response(msg: &[u8]) -> Option<usize> {
    let mut copy = msg.to_vec();
    *copy.get_mut(2)? &= 0x7f;
    question(&copy).map(|q| q.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_read_back_and_answered() {
        let q = query(0x1234, "Api.Example.com.", 1);
        let parsed = question(&q).unwrap();
        assert_eq!(
            (parsed.id, parsed.name.as_str(), parsed.qtype),
            (0x1234, "api.example.com", 1)
        );
        let err = error_response(&q, &parsed, 3);
        assert_eq!(rcode(&err), Some(3));
        assert_eq!(&err[0..2], &[0x12, 0x34]);
        assert!(question(&err).is_none(), "a response is no query");
        let spoof = address_response(
            &q,
            &parsed,
            &["192.0.2.7".parse().unwrap(), "2001:db8::1".parse().unwrap()],
            30,
        );
        assert_eq!(rcode(&spoof), Some(0));
        assert_eq!(
            a_records(&spoof),
            ["192.0.2.7".parse::<std::net::Ipv4Addr>().unwrap()]
        );
    }

    #[test]
    fn junk_is_no_query() {
        assert!(question(&[]).is_none());
        assert!(question(&[0; 12]).is_none());
        let mut q = query(1, "a.b", 1);
        q.truncate(q.len() - 3);
        assert!(question(&q).is_none());
    }
}
