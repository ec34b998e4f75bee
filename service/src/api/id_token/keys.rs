//! The issuer's signing keys: found through its OpenID discovery document
//! (`{issuer}/.well-known/openid-configuration` -> `jwks_uri`), held by `kid`, and
//! fetched again when a token names a `kid` not held — GitLab rotates its signing key —
//! but at most once per cooldown, so tokens with made-up `kid`s cannot make the service
//! hammer GitLab.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::application::ci_identity::Refusal;

/// How long one discovery or JWKS request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The keys of one issuer.
pub struct KeySet {
    issuer: String,
    http: reqwest::Client,
    cooldown: Duration,
    /// A std lock, never held across an await: a lookup is a hash probe, and a tokio
    /// lock would spend the task's cooperative budget on every request's token.
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    /// When the keys were last fetched, and why that failed if it did; held while
    /// fetching, so concurrent requests with a new `kid` cause one fetch.
    fetched: Mutex<Option<(Instant, Option<String>)>>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// One JWK; only RSA signing keys are kept.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl KeySet {
    /// Keys of `issuer`, fetched on first use.
    pub fn new(issuer: &str, cooldown: Duration) -> Result<KeySet, reqwest::Error> {
        Ok(KeySet {
            issuer: issuer.trim_end_matches('/').to_string(),
            http: faultline_exporter::tls_provider::http_client()
                .timeout(FETCH_TIMEOUT)
                .build()?,
            cooldown,
            keys: RwLock::new(HashMap::new()),
            fetched: Mutex::new(None),
        })
    }

    /// The key `kid`: held, or fetched when none was fetched within the cooldown.
    pub async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, Refusal> {
        if let Some(k) = self.held(kid) {
            return Ok(k);
        }
        let mut fetched = self.fetched.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(k) = self.held(kid) {
            return Ok(k);
        }
        if let Some((at, failed)) = &*fetched
            && at.elapsed() < self.cooldown
        {
            return Err(match failed {
                Some(why) => Refusal::KeysUnavailable(why.clone()),
                None => Refusal::UnknownKey(kid.to_string()),
            });
        }
        let fresh = match self.fetch().await {
            Ok(keys) => {
                *fetched = Some((Instant::now(), None));
                keys
            }
            Err(e) => {
                tracing::warn!(issuer = %self.issuer, error = %e, "could not fetch the ID-token signing keys");
                let why = match &e {
                    Refusal::KeysUnavailable(why) => why.clone(),
                    other => other.to_string(),
                };
                *fetched = Some((Instant::now(), Some(why)));
                return Err(e);
            }
        };
        let key = fresh.get(kid).cloned();
        tracing::info!(issuer = %self.issuer, keys = fresh.len(), "fetched the ID-token signing keys");
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        key.ok_or_else(|| Refusal::UnknownKey(kid.to_string()))
    }

    fn held(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.get(kid).cloned()
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, Refusal> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            Refusal::KeysUnavailable(format!("{what}: {e}"))
        };
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let discovery: Discovery = self
            .get_json(&url)
            .await
            .map_err(|e| unavailable(&url, &e))?;
        // The discovery document must speak for the configured issuer, or keys of
        // another issuer would be trusted.
        if discovery.issuer.trim_end_matches('/') != self.issuer {
            return Err(Refusal::KeysUnavailable(format!(
                "{url} names issuer `{}`, not `{}`",
                discovery.issuer, self.issuer
            )));
        }
        let jwks: Jwks = self
            .get_json(&discovery.jwks_uri)
            .await
            .map_err(|e| unavailable(&discovery.jwks_uri, &e))?;
        let mut keys = HashMap::new();
        for k in jwks.keys {
            let rsa_sig = k.kty == "RSA"
                && k.usage.as_deref().is_none_or(|u| u == "sig")
                && k.alg.as_deref().is_none_or(|a| a == "RS256");
            let (Some(kid), Some(n), Some(e)) = (k.kid, k.n, k.e) else {
                continue;
            };
            if !rsa_sig {
                continue;
            }
            match DecodingKey::from_rsa_components(&n, &e) {
                Ok(key) => {
                    keys.insert(kid, Arc::new(key));
                }
                Err(err) => {
                    tracing::warn!(%kid, error = %err, "skipped a JWKS key that is not a valid RSA key")
                }
            }
        }
        Ok(keys)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{e:#}"))?;
        if !res.status().is_success() {
            return Err(format!("answered {}", res.status()));
        }
        res.json()
            .await
            .map_err(|e| format!("not the JSON expected: {e}"))
    }
}
