//! A compact JWT taken apart once: its header's `alg` and `kid`, the signed text and the
//! signature for the key to check, and its payload decoded in one pass into the claims a
//! policy binds plus the registered claims the checks read. Nothing here verifies
//! anything; [`super::verify`] does, in the order it documents.
//!
//! Why not `jsonwebtoken::decode`: it decodes the header twice (once here to find the
//! `kid`) and the payload twice (its own checks, then the caller's type), and the
//! caller's `Map` was then copied into [`IdClaims`]. That was a third of the time a
//! request spent on its token (P15). The signature is still `jsonwebtoken`'s (ring).

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de};
use serde_json::{Map, Value};

use crate::application::ci_identity::{IdClaims, Refusal};

/// A token's three parts, not yet decoded.
pub(super) struct Parts<'t> {
    header: &'t str,
    payload: &'t str,
    /// `header.payload`: what the signature signs.
    pub signed: &'t str,
    /// The signature, base64url.
    pub signature: &'t str,
}

/// The header fields the checks read.
#[derive(Deserialize)]
pub(super) struct Header<'h> {
    #[serde(borrow, default)]
    pub alg: Option<Cow<'h, str>>,
    #[serde(borrow, default)]
    pub kid: Option<Cow<'h, str>>,
}

/// A decoded payload: the scalar claims as text, and the registered claims as the checks
/// need them. It borrows the decoded bytes: no claim is copied unless JSON escaped it.
#[derive(Debug, Default)]
pub(super) struct Payload<'p> {
    /// Every string, number or boolean claim, as text (what policies bind).
    pub claims: IdClaims<'p>,
    /// `aud`: one audience or several.
    pub aud: Vec<Cow<'p, str>>,
    /// `exp`, `nbf`, `iat` as whole seconds, when present and numeric.
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
}

fn malformed(what: &str) -> Refusal {
    Refusal::Malformed(what.to_string())
}

impl<'t> Parts<'t> {
    /// Splits `token` at its two dots.
    pub fn split(token: &'t str) -> Result<Parts<'t>, Refusal> {
        let (signed, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| malformed("not three dot-separated parts"))?;
        let (header, payload) = signed
            .split_once('.')
            .filter(|(_, p)| !p.contains('.'))
            .ok_or_else(|| malformed("not three dot-separated parts"))?;
        Ok(Parts {
            header,
            payload,
            signed,
            signature,
        })
    }

    /// The header, decoded into `buf` (which it borrows from).
    pub fn header<'b>(&self, buf: &'b mut Vec<u8>) -> Result<Header<'b>, Refusal> {
        URL_SAFE_NO_PAD
            .decode_vec(self.header.trim_end_matches('='), buf)
            .map_err(|_| malformed("the header is not base64url"))?;
        serde_json::from_slice(buf).map_err(|_| malformed("the header is not a JSON object"))
    }

    /// The payload, decoded into `buf` (which it borrows from).
    pub fn payload<'b>(&self, buf: &'b mut Vec<u8>) -> Result<Payload<'b>, Refusal> {
        buf.clear();
        URL_SAFE_NO_PAD
            .decode_vec(self.payload.trim_end_matches('='), buf)
            .map_err(|_| malformed("the payload is not base64url"))?;
        serde_json::from_slice(buf).map_err(|_| malformed("the payload is not a JSON object"))
    }
}

/// One part of a JWT, decoded as a JSON object, without verifying anything.
fn peek(token: &str, part: usize) -> Option<Map<String, Value>> {
    let text = token.split('.').nth(part)?;
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The string or number claims `names` a token's payload holds, read without verifying
/// anything: what a refusal shows of a token that did not verify (so claims, not facts).
/// Read from any JSON object, even one the checks would call malformed.
pub(super) fn unverified_claims<const N: usize>(
    token: &str,
    names: [&str; N],
) -> [Option<String>; N] {
    let payload = peek(token, 1).unwrap_or_default();
    names.map(|name| match payload.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// One claim's value as the checks read it.
enum Claim<'p> {
    /// A string, or a number or boolean as its JSON text.
    Text(Cow<'p, str>),
    /// A number, kept for `exp`, `nbf` and `iat` (whole seconds).
    Seconds(Cow<'p, str>, i64),
    /// A list of strings (`aud` may be one).
    Texts(Vec<Cow<'p, str>>),
    /// Anything else: no policy binds it.
    Other,
}

/// Text borrowed from the input where it holds no escapes.
struct Text<'p>(Cow<'p, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Claim<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Claim<'de>, D::Error> {
        d.deserialize_any(ClaimVisitor)
    }
}

struct ClaimVisitor;

impl<'de> Visitor<'de> for ClaimVisitor {
    type Value = Claim<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a claim's value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Claim<'de>, E> {
        Ok(Claim::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Claim<'de>, E> {
        Ok(Claim::Text(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Claim<'de>, E> {
        Ok(Claim::Text(Cow::Borrowed(if v { "true" } else { "false" })))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Claim<'de>, E> {
        Ok(Claim::Seconds(Cow::Owned(v.to_string()), v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Claim<'de>, E> {
        Ok(Claim::Seconds(
            Cow::Owned(v.to_string()),
            v.min(i64::MAX as u64) as i64,
        ))
    }
    /// A NumericDate may have a fraction (RFC 7519 §2); whole seconds are kept.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Claim<'de>, E> {
        Ok(Claim::Seconds(Cow::Owned(v.to_string()), v as i64))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Claim<'de>, E> {
        Ok(Claim::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Claim<'de>, A::Error> {
        let mut texts = Vec::new();
        let mut all_text = true;
        while let Some(v) = seq.next_element::<Claim<'de>>()? {
            match v {
                Claim::Text(t) if all_text => texts.push(t),
                _ => all_text = false,
            }
        }
        Ok(if all_text {
            Claim::Texts(texts)
        } else {
            Claim::Other
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claim<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Claim::Other)
    }
}

impl<'de> Deserialize<'de> for Payload<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Payload<'de>, D::Error> {
        d.deserialize_map(PayloadVisitor)
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Payload<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Payload<'de>, A::Error> {
        let mut p = Payload {
            // GitLab's tokens carry about thirty claims: one allocation for all of them.
            claims: IdClaims::with_capacity(40),
            ..Payload::default()
        };
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            let value: Claim<'de> = map.next_value()?;
            let seconds = match &value {
                Claim::Seconds(_, s) => Some(*s),
                _ => None,
            };
            match name.as_ref() {
                "exp" => p.exp = seconds,
                "nbf" => p.nbf = seconds,
                "iat" => p.iat = seconds,
                "aud" => match &value {
                    Claim::Text(t) => p.aud = vec![t.clone()],
                    Claim::Texts(list) => p.aud = list.clone(),
                    _ => {
                        return Err(de::Error::custom(
                            "aud is neither a string nor a list of them",
                        ));
                    }
                },
                _ => {}
            }
            match value {
                Claim::Text(t) | Claim::Seconds(t, _) => {
                    p.claims.push(name, t);
                }
                Claim::Texts(_) | Claim::Other => {}
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn a_token_is_split_into_its_three_parts_and_nothing_else() {
        let p = Parts::split("aGVhZA.cGF5.c2ln").unwrap();
        assert_eq!((p.signed, p.signature), ("aGVhZA.cGF5", "c2ln"));
        for bad in ["", "one", "a.b", "a.b.c.d"] {
            assert!(Parts::split(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_header_gives_alg_and_kid_and_the_payload_scalars_as_text() {
        let h = b64(&serde_json::json!({"alg": "RS256", "kid": "k\u{e9}y", "typ": "JWT"}));
        let payload = serde_json::json!({
            "project_id": "42", "runner_id": 1, "ref_protected": true,
            "groups": ["a"], "aud": ["x", "y"], "exp": 1700000000, "nbf": 1.5e9,
            "iat": 1699999000,
        });
        let token = format!("{h}.{}.c2ln", b64(&payload));
        let parts = Parts::split(&token).unwrap();
        let mut buf = Vec::new();
        let header = parts.header(&mut buf).unwrap();
        assert_eq!(header.alg.as_deref(), Some("RS256"));
        assert_eq!(header.kid.as_deref(), Some("k\u{e9}y"));
        let mut buf = Vec::new();
        let p = parts.payload(&mut buf).unwrap();
        assert_eq!(p.aud, ["x", "y"]);
        assert_eq!(
            (p.exp, p.nbf, p.iat),
            (Some(1700000000), Some(1500000000), Some(1699999000))
        );
        assert_eq!(p.claims.get("runner_id"), Some("1"));
        assert_eq!(p.claims.get("ref_protected"), Some("true"));
        assert_eq!(p.claims.get("exp"), Some("1700000000"));
        assert_eq!((p.claims.get("groups"), p.claims.get("aud")), (None, None));
    }

    #[test]
    fn peeking_reads_a_part_without_verifying_it() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert_eq!(peek(&format!("{h}.e30."), 0).unwrap()["alg"], "none");
        assert!(peek("!!.e30.", 0).is_none());
        let unsigned = format!(
            "{h}.{}.",
            b64(&serde_json::json!({"job_id": 7, "ref": "main", "aud": 1}))
        );
        assert_eq!(
            unverified_claims(&unsigned, ["job_id", "ref", "sha"]),
            [Some("7".into()), Some("main".into()), None]
        );
        assert_eq!(unverified_claims("!!.!!.", ["ref"]), [None]);
    }

    #[test]
    fn escaped_text_is_unescaped_and_unescaped_text_borrowed() {
        let raw = r#"{"project_path":"shop\/checkout","ref":"r\u00e9","sha":"abc","aud":"x","exp":1,"iat":1}"#;
        let token = format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(raw));
        let mut buf = Vec::new();
        let p = Parts::split(&token).unwrap().payload(&mut buf).unwrap();
        assert_eq!(p.claims.get("project_path"), Some("shop/checkout"));
        assert_eq!(p.claims.get("ref"), Some("r\u{e9}"));
        assert_eq!(p.claims.get("sha"), Some("abc"));
        assert_eq!(p.aud, ["x"]);
    }

    #[test]
    fn payloads_that_are_not_claim_objects_are_malformed() {
        for payload in [
            serde_json::json!([1, 2]),
            serde_json::json!({"aud": 7}),
            serde_json::json!({"aud": ["x", 7]}),
        ] {
            let token = format!("e30.{}.c2ln", b64(&payload));
            let mut buf = Vec::new();
            let got = Parts::split(&token).unwrap().payload(&mut buf).map(|_| ());
            assert!(matches!(got, Err(Refusal::Malformed(_))), "{payload}");
        }
        let token = "e30.!!.c2ln";
        let mut buf = Vec::new();
        assert!(Parts::split(token).unwrap().payload(&mut buf).is_err());
    }
}
