//! The HTTP kinds' `tls`: the server's certificate and key (files on the node), with
//! which the proxy terminates HTTPS on the fault's port so the rules see the decrypted
//! requests, and an optional CA the proxy checks the original destination against when
//! it re-encrypts. The spec only checks the paths' shape; the agent reads the files when
//! it applies the fault, and an unreadable or mismatched file fails the apply by name.

use serde::{Deserialize, Serialize};

use crate::decode::cx::{Cx, Schema};
use crate::decode::tree::Node;
use crate::decode::value::Read;

/// The files HTTPS termination needs, as paths on the node the agent runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpTls {
    /// The server's certificate chain (PEM, leaf first): what clients are shown.
    pub cert_file: String,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
    /// CA certificates (PEM) the original destination's certificate must chain to, for
    /// the name the client asked for (SNI, else the destination address). Without it the
    /// destination must present the very certificate of `cert_file` (pinned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// The fields of `tls`.
pub static TLS_FIELDS: Schema =
    Schema::new(&[("certFile", None), ("keyFile", None), ("caFile", None)]);

/// Reads `tls`.
pub struct TlsReader;

impl Read for TlsReader {
    type Value = HttpTls;
    fn describe() -> String {
        "map: `certFile`, `keyFile` (PEM paths on the node), optional `caFile`".into()
    }
    const CHILD: Option<&'static Schema> = Some(&TLS_FIELDS);

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<HttpTls> {
        cx.object(node, path, &TLS_FIELDS, |cx, o| {
            let file = |cx: &mut Cx, name: &str, required: bool| match o.get(name) {
                Some(n) => node_path(cx, n, &o.at(name)).map(Some),
                None if required => {
                    cx.missing(o, name, "a PEM file's absolute path on the node");
                    None
                }
                None => Some(None),
            };
            let cert = file(cx, "certFile", true);
            let key = file(cx, "keyFile", true);
            let ca = file(cx, "caFile", false);
            Some(HttpTls {
                cert_file: cert??,
                key_file: key??,
                ca_file: ca?,
            })
        })
        .flatten()
    }
}

/// An absolute path on the node: the agent reads it in its own mount namespace, not the
/// target's, so a relative path would depend on where the agent was started.
fn node_path(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let s = cx.nonempty(node, path)?;
    if !s.starts_with('/') {
        cx.err_hint(
            path,
            node.pos,
            format!("`{s}` is not an absolute path"),
            "give the file's path on the node the agent runs on, e.g. `/etc/faultline/tls/server.crt`",
        );
        return None;
    }
    if s.contains('\0') {
        cx.err(path, node.pos, format!("`{s}` holds a NUL byte"));
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_round_trips_through_json_with_the_spec_s_names() {
        let tls = HttpTls {
            cert_file: "/etc/tls/server.crt".into(),
            key_file: "/etc/tls/server.key".into(),
            ca_file: None,
        };
        let json = serde_json::to_string(&tls).unwrap();
        assert_eq!(
            json,
            r#"{"certFile":"/etc/tls/server.crt","keyFile":"/etc/tls/server.key"}"#
        );
        assert_eq!(serde_json::from_str::<HttpTls>(&json).unwrap(), tls);
    }
}
