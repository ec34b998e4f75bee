//! A GitLab stand-in for ID tokens: RSA keys made by the `openssl` CLI, an OpenID
//! discovery document and a JWKS served on loopback (the paths GitLab uses:
//! `/.well-known/openid-configuration`, `/oauth/discovery/keys`), and tokens with exactly
//! GitLab's claim shape, signed here.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// One RSA key pair, as the tests need it.
pub struct RsaKey {
    /// Its `kid`.
    pub kid: String,
    /// PKCS#1 DER, to sign with.
    der: Vec<u8>,
    /// The public key as PEM text: what an attacker would use as an HS256 secret.
    pub public_pem: Vec<u8>,
    /// The JWK of its public half.
    pub jwk: Value,
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI (Debian's openssl package)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl RsaKey {
    /// A new 2048-bit key (GitLab's size) named `kid`, its files in `dir`.
    pub fn generate(dir: &Path, kid: &str) -> RsaKey {
        let pem = dir.join(format!("{kid}.pem"));
        let pem_s = pem.to_str().unwrap();
        openssl(&["genrsa", "-out", pem_s, "2048"]);
        let der = openssl(&["rsa", "-in", pem_s, "-outform", "DER", "-traditional"]);
        let public_pem = openssl(&["rsa", "-in", pem_s, "-pubout"]);
        let modulus =
            String::from_utf8(openssl(&["rsa", "-in", pem_s, "-noout", "-modulus"])).unwrap();
        let hex = modulus.trim().trim_start_matches("Modulus=");
        let n: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let jwk = json!({
            "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&n), "e": "AQAB",
        });
        RsaKey {
            kid: kid.to_string(),
            der,
            public_pem,
            jwk,
        }
    }

    /// `claims` signed RS256 with this key, header `kid` = its kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(claims, &self.kid)
    }

    /// `claims` signed RS256 with this key, the header naming `kid`.
    pub fn sign_as(&self, claims: &Value, kid: &str) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.to_string());
        jsonwebtoken::encode(&h, claims, &EncodingKey::from_rsa_der(&self.der)).unwrap()
    }
}

/// The issuer on loopback: discovery and JWKS, keys changeable, fetches counted.
pub struct Issuer {
    /// `http://127.0.0.1:PORT`: the `iss` of its tokens.
    pub url: String,
    /// The JWKS `keys`.
    pub keys: Arc<Mutex<Vec<Value>>>,
    /// JWKS requests served.
    pub fetches: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl Issuer {
    /// Serves `keys` until dropped.
    pub fn start(keys: Vec<Value>) -> Issuer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (k, f, u) = (keys.clone(), fetches.clone(), url.clone());
        let server = actix_web::HttpServer::new(move || {
            let (k, f, u) = (k.clone(), f.clone(), u.clone());
            actix_web::App::new()
                .route(
                    "/.well-known/openid-configuration",
                    actix_web::web::get().to(move || {
                        let u = u.clone();
                        async move {
                            actix_web::HttpResponse::Ok().json(json!({
                                "issuer": u,
                                "jwks_uri": format!("{u}/oauth/discovery/keys"),
                                "response_types_supported": ["id_token"],
                                "subject_types_supported": ["public", "pairwise"],
                                "id_token_signing_alg_values_supported": ["RS256"],
                            }))
                        }
                    }),
                )
                .route(
                    "/oauth/discovery/keys",
                    actix_web::web::get().to(move || {
                        let (k, f) = (k.clone(), f.clone());
                        async move {
                            f.fetch_add(1, Ordering::SeqCst);
                            let keys = k.lock().unwrap().clone();
                            actix_web::HttpResponse::Ok().json(json!({ "keys": keys }))
                        }
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Issuer {
            url,
            keys,
            fetches,
            handle,
        }
    }

    /// JWKS requests so far.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let h = self.handle.clone();
        drop(h.stop(false));
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A GitLab CI job's ID-token claims, exactly as GitLab writes them (strings for ids and
/// flags, `runner_id` a number), for project 42 `shop/checkout` on protected `release-1`
/// deploying to `staging`, valid now for 5 minutes, with a fresh `jti`.
pub fn gitlab_claims(iss: &str, aud: &str) -> Value {
    let now = now();
    let jti = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    json!({
        "namespace_id": "7",
        "namespace_path": "shop",
        "project_id": "42",
        "project_path": "shop/checkout",
        "user_id": "3",
        "user_login": "alice",
        "user_email": "alice@example.org",
        "user_access_level": "maintainer",
        "pipeline_id": "574",
        "pipeline_source": "push",
        "job_id": "302",
        "ref": "release-1",
        "ref_type": "branch",
        "ref_path": "refs/heads/release-1",
        "ref_protected": "true",
        "environment": "staging",
        "environment_protected": "false",
        "deployment_tier": "staging",
        "environment_action": "start",
        "runner_id": 1,
        "runner_environment": "self-hosted",
        "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "project_visibility": "private",
        "ci_config_ref_uri": "gitlab.example.org/shop/checkout//.gitlab-ci.yml@refs/heads/release-1",
        "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "jti": jti,
        "iss": iss,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "sub": "project_path:shop/checkout:ref_type:branch:ref:release-1",
        "aud": aud,
    })
}

/// `claims` with `alg: none` and no signature.
pub fn unsigned(claims: &Value, kid: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{h}.{p}.")
}

/// `claims` signed HS256 with `secret` (the key-confusion attack: the public key as an
/// HMAC secret).
pub fn hs256(claims: &Value, secret: &[u8], kid: &str) -> String {
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some(kid.to_string());
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(secret)).unwrap()
}
