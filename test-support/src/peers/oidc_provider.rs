//! A real OIDC provider (PyPI `oidc-provider-mock`, `oidc_provider.py` beside this file)
//! for the sign-in tests: discovery, JWKS, RS256 ID tokens, the authorization form and
//! the token endpoint, as any provider serves them.

use std::io::BufRead;
use std::process::{Command, Stdio};

use crate::process::Proc;

/// The script, found in this crate's source tree (tests run from a checkout).
pub const OIDC_PROVIDER_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/peers/oidc_provider.py");

/// True when Python has `oidc_provider_mock`; otherwise prints `SKIPPED: ...` saying so.
pub fn have_oidc_provider() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import oidc_provider_mock"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED: python3 cannot import oidc_provider_mock: pip install oidc-provider-mock; ./test.sh does it"
        );
    }
    ok
}

/// A running provider.
pub struct OidcProvider {
    /// Its issuer URL (`http://127.0.0.1:PORT`), exactly as its tokens' `iss`.
    pub issuer: String,
    _proc: Proc,
}

/// Starts the provider; returns once it listens.
pub fn start_oidc_provider() -> OidcProvider {
    let mut child = Command::new("python3")
        .arg(OIDC_PROVIDER_SCRIPT)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the OIDC provider");
    let stdout = child.stdout.take().expect("piped stdout");
    let p = Proc(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the OIDC provider's first line");
    let port: u16 = line
        .trim()
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the OIDC provider did not start: {line:?}"));
    OidcProvider {
        issuer: format!("http://127.0.0.1:{port}"),
        _proc: p,
    }
}
