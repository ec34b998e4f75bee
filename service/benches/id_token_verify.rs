//! P15 (issue 28): the cost of verifying a GitLab CI ID token per request once the
//! issuer's keys are cached — header checks, the RS256 signature (ring), `iss`/`aud`/
//! `exp`/`nbf`/`iat`, and the trust policies — measured call by call on one thread, with
//! the RS256 signature check alone (`jsonwebtoken::crypto::verify`, ring) beside it: the
//! floor no parsing work can go below.
//! The keys come once from a JWKS served on loopback by the test's GitLab stand-in (RSA
//! 2048, made by the `openssl` CLI). Goal: p99 < 50 us. Run with `cargo bench -p
//! faultline --bench id_token_verify` (release build); about 10 s.
//!
//! Under `./bench.sh --quick`: 2 repeats of 5,000 calls instead of 5 of 20,000.

#[allow(dead_code)]
#[path = "../tests/support/id_tokens.rs"]
mod id_tokens;

use std::time::Instant;

use faultline::api::id_token::Verifier;
use faultline::application::ci_identity::IdTokenConfig;
use faultline_test_support::bench::percentile;
use faultline_test_support::bench::report::{emit, reps};
use id_tokens::{Issuer, RsaKey, gitlab_claims, now};
use jsonwebtoken::{Algorithm, DecodingKey};

const AUD: &str = "https://faultline.bench";

/// Per-call microseconds of `f`, `n` calls: (p50, p99).
async fn time<F, Fut>(n: usize, mut f: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut us = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await;
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    us.sort_by(f64::total_cmp);
    (percentile(&us, 50.0), percentile(&us, 99.0))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench());
}

async fn bench() {
    let dir = tempfile::tempdir().unwrap();
    let key = RsaKey::generate(dir.path(), "bench-key");
    let issuer = Issuer::start(vec![key.jwk.clone()]);
    let config = IdTokenConfig::parse(
        &format!(
            "issuer: {}\naudience: {AUD}\npolicies:\n  - name: checkout-release\n    claims: {{ project_id: \"42\", ref_protected: \"true\", ref: \"release-*\", environment: staging }}\n    experiments: [\"checkout-*\"]\n    namespaces: [checkout]\n",
            issuer.url
        ),
        "bench.yaml",
    )
    .unwrap();
    let verifier = Verifier::new(config).unwrap();
    let token = key.sign(&gitlab_claims(&issuer.url, AUD));
    // The first call fetches the keys; every timed one finds them cached.
    verifier.verify(&token, now()).await.expect("a valid token");
    assert_eq!(issuer.fetches(), 1);

    let decoding = DecodingKey::from_rsa_components(
        key.jwk["n"].as_str().unwrap(),
        key.jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();

    let (repeats, calls) = (reps(5, 2), reps(20_000, 5_000));
    let (mut p50s, mut p99s, mut d50s, mut d99s) = (vec![], vec![], vec![], vec![]);
    for r in 0..repeats {
        let at = now();
        let (p50, p99) = time(calls, || async {
            verifier.verify(&token, at).await.expect("still valid");
        })
        .await;
        let (d50, d99) = time(calls, || async {
            let ok = jsonwebtoken::crypto::verify(
                signature,
                signed.as_bytes(),
                &decoding,
                Algorithm::RS256,
            );
            assert!(ok.expect("base64url"), "the signature verifies");
        })
        .await;
        println!(
            "repeat {}: verify p50 {p50:.1} us p99 {p99:.1} us | RS256 signature alone p50 {d50:.1} us p99 {d99:.1} us ({calls} calls each)",
            r + 1
        );
        p50s.push(p50);
        p99s.push(p99);
        d50s.push(d50);
        d99s.push(d99);
    }
    assert_eq!(issuer.fetches(), 1, "every timed call used the cached key");
    emit(
        "P15",
        "verify_p99",
        "ID token verified per request, cached keys: p99",
        "us",
        &p99s,
    );
    emit(
        "P15",
        "verify_p50",
        "ID token verified per request, cached keys: p50",
        "us",
        &p50s,
    );
    emit(
        "P15",
        "signature_p99",
        "RS256 signature alone (jsonwebtoken::crypto::verify, ring): p99",
        "us",
        &d99s,
    );
    emit(
        "P15",
        "signature_p50",
        "RS256 signature alone: p50",
        "us",
        &d50s,
    );
}
