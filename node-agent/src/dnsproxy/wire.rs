//! The little of DNS (RFC 1035 §4) the proxy needs: a query's first question, and an
//! answer built from a query (an error, or spoofed addresses). hickory-proto does the wire
//! format: it reads the header and the first question, and writes our answers. Everything
//! else is relayed as bytes, never decoded, so answers from upstream come back unchanged.

use std::net::IpAddr;

use hickory_proto::op::{Header, Message, MessageType, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

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
    /// The query's header, as hickory-proto read it.
    metadata: Metadata,
    /// The question as hickory-proto read it (the name in the query's own case).
    query: Query,
}

/// The first question of `msg`, when it is a standard query (QR 0, opcode 0) with one.
/// Only the header and that question are decoded: what follows is not looked at.
pub fn question(msg: &[u8]) -> Option<Question> {
    let mut decoder = BinDecoder::new(msg);
    let header = Header::read(&mut decoder).ok()?;
    if header.metadata.message_type != MessageType::Query
        || header.metadata.op_code != OpCode::Query
        || header.counts.queries == 0
    {
        return None;
    }
    let query = Query::read(&mut decoder).ok()?;
    let name = query
        .name()
        .iter()
        .map(|label| String::from_utf8_lossy(label).to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(".");
    Some(Question {
        id: header.metadata.id,
        name,
        qtype: u16::from(query.query_type()),
        end: decoder.index(),
        metadata: header.metadata,
        query,
    })
}

/// A response to the query `q` with `rcode`: the query's id, opcode and RD, RA (we
/// recurse, through upstream), and its question.
fn response(q: &Question, rcode: u8) -> Message {
    let mut metadata = Metadata::new(q.metadata.id, MessageType::Response, q.metadata.op_code);
    metadata.recursion_desired = q.metadata.recursion_desired;
    metadata.recursion_available = true;
    metadata.response_code = ResponseCode::from_low(rcode & 0x0f);
    let mut out = Message::new(q.metadata.id, MessageType::Response, q.metadata.op_code);
    out.metadata = metadata;
    out.add_query(q.query.clone());
    out
}

/// `msg` on the wire. Every message here holds a name read from the wire (or a name
/// built of labels cut to 63 bytes) and fixed-size records, so writing it cannot fail;
/// were it to, the bytes are empty rather than a panic in the proxy.
fn to_wire(msg: &Message) -> Vec<u8> {
    msg.to_vec().unwrap_or_default()
}

/// A response to `query` carrying only `rcode` (3 NXDOMAIN, 2 SERVFAIL, 5 REFUSED).
pub fn error_response(_query: &[u8], q: &Question, rcode: u8) -> Vec<u8> {
    to_wire(&response(q, rcode))
}

/// A NOERROR response to `query` answering with those of `addrs` that fit its type (A
/// takes IPv4, AAAA IPv6; none for another type), each with `ttl` seconds.
pub fn address_response(_query: &[u8], q: &Question, addrs: &[IpAddr], ttl: u32) -> Vec<u8> {
    let mut out = response(q, 0);
    let name = q.query.name().clone();
    out.add_answers(
        addrs
            .iter()
            .filter_map(|a| match (a, q.qtype) {
                (IpAddr::V4(v4), 1) => Some(RData::A(A(*v4))),
                (IpAddr::V6(v6), 28) => Some(RData::AAAA(AAAA(*v6))),
                _ => None,
            })
            .take(usize::from(u16::MAX))
            .map(|rdata| Record::from_rdata(name.clone(), ttl, rdata)),
    );
    to_wire(&out)
}

/// A standard query for `name` of type `qtype` with `id`, recursion desired (tests and
/// the worked example use it; the proxy only relays queries).
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let labels = name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .map(|l| &l.as_bytes()[..l.len().min(63)]);
    let name = Name::from_labels(labels).unwrap_or_else(|_| Name::root());
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name, RecordType::from(qtype)));
    to_wire(&msg)
}

/// The response code of a response (`None` if shorter than a header).
pub fn rcode(msg: &[u8]) -> Option<u8> {
    let header = Header::read(&mut BinDecoder::new(msg)).ok()?;
    Some(header.metadata.response_code.low())
}

/// The IPv4 addresses in the A records of a response's answer section (tests; empty if
/// the response does not decode).
pub fn a_records(msg: &[u8]) -> Vec<std::net::Ipv4Addr> {
    let Ok(msg) = Message::from_vec(msg) else {
        return Vec::new();
    };
    msg.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// The IPv6 addresses in the AAAA records of a response's answer section (tests; empty
/// if the response does not decode).
pub fn aaaa_records(msg: &[u8]) -> Vec<std::net::Ipv6Addr> {
    let Ok(msg) = Message::from_vec(msg) else {
        return Vec::new();
    };
    msg.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        })
        .collect()
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

    #[test]
    fn answers_keep_the_query_bytes_the_hand_written_code_sent() {
        // A query as a stub resolver sends it, with an EDNS OPT record after the question.
        let mut q = query(0xbeef, "WWW.Example.org", 28);
        q[11] = 1; // ARCOUNT
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        let parsed = question(&q).unwrap();
        assert_eq!(parsed.name, "www.example.org");
        assert_eq!(
            parsed.end,
            q.len() - 11,
            "the question ends before the OPT record"
        );
        // Header: the id, QR|RD, RA|rcode, one question, no records; then the question
        // byte for byte (the query's case kept).
        let err = error_response(&q, &parsed, 2);
        let mut want = vec![0xbe, 0xef, 0x81, 0x82, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&q[12..parsed.end]);
        assert_eq!(err, want);
        // An AAAA answer: the name a pointer to the question's, type, class IN, TTL, data.
        let spoof = address_response(&q, &parsed, &["2001:db8::7".parse().unwrap()], 5);
        let mut want = vec![0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        want.extend_from_slice(&q[12..parsed.end]);
        want.extend_from_slice(&[0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 5, 0, 16]);
        want.extend_from_slice(
            &"2001:db8::7"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        assert_eq!(spoof, want);
        // No address of the asked family: NOERROR with no answer.
        let none = address_response(&q, &parsed, &["192.0.2.1".parse().unwrap()], 5);
        assert_eq!((rcode(&none), none.len()), (Some(0), parsed.end));
    }
}
