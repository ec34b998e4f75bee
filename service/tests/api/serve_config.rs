//! `faultline serve --config FILE` with the real binary: a flag beats its FAULTLINE_*
//! variable, which beats the file, which beats the default; relative paths in the file
//! start at its directory; a bad file or variable stops the start with the key (and the
//! file's line), exit status 1, nothing listened on and no state dir created.

use super::serve_bin::{refused, start};
use crate::support::*;
use faultline_test_support::{client, closed_port};
use reqwest::StatusCode;

async fn status(addr: &str, token: &str) -> StatusCode {
    client()
        .get(format!("http://{addr}/api/v1/runs"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_beats_its_variable_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("file-tokens"), format!("viewer:{VIEWER}\n")).unwrap();
    std::fs::write(d.join("env-tokens"), format!("viewer:{OPERATOR}\n")).unwrap();
    // Which source's number serve listens on is the subject, so each is a number: held
    // closed, and released just before the serve that should bind it.
    let ((file_hold, file_port), (env_hold, env_port), (flag_hold, flag_port)) =
        (closed_port(), closed_port(), closed_port());
    std::fs::create_dir(d.join("conf")).unwrap();
    // Relative paths start at the config file's directory, not the working directory.
    std::fs::write(
        d.join("conf/serve.yaml"),
        format!(
            "listen: 127.0.0.1:{file_port}\nstateDir: ../state\ntokensFile: ../file-tokens\nlease: 10s\n"
        ),
    )
    .unwrap();
    let config = d.join("conf/serve.yaml").display().to_string();
    let elsewhere = tempfile::tempdir().unwrap();

    // The file alone.
    file_hold.release();
    let (serve, addr) = start(elsewhere.path(), &["--config", &config], &[]);
    assert_eq!(addr, format!("127.0.0.1:{file_port}"));
    assert!(
        d.join("state/faultline.db").exists(),
        "stateDir not relative to the file"
    );
    assert_eq!(status(&addr, VIEWER).await, StatusCode::OK);
    drop(serve);

    // Variables over the file: the address and the tokens file.
    let env = [
        ("FAULTLINE_LISTEN", format!("127.0.0.1:{env_port}")),
        (
            "FAULTLINE_TOKENS_FILE",
            d.join("env-tokens").display().to_string(),
        ),
    ];
    env_hold.release();
    let (serve, addr) = start(elsewhere.path(), &["--config", &config], &env);
    assert_eq!(addr, format!("127.0.0.1:{env_port}"));
    assert_eq!(status(&addr, OPERATOR).await, StatusCode::OK);
    assert_eq!(status(&addr, VIEWER).await, StatusCode::UNAUTHORIZED);
    drop(serve);

    // A flag over its variable; the file is named by FAULTLINE_CONFIG this time.
    let mut env = env.to_vec();
    env.push(("FAULTLINE_CONFIG", config.clone()));
    let flag = format!("127.0.0.1:{flag_port}");
    flag_hold.release();
    let (serve, addr) = start(elsewhere.path(), &["--listen", &flag], &env);
    assert_eq!(addr, flag);
    drop(serve);
}

#[test]
fn a_bad_config_names_the_key_and_line_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Released at once: the test checks serve leaves it unbound.
    let port = closed_port().0.release();
    std::fs::write(
        d.join("serve.yaml"),
        format!(
            "listen: 127.0.0.1:{port}\nstateDir: state\nagentPort: 99999\ntokens: viewer:abc\nkubernetes: maybe\n"
        ),
    )
    .unwrap();
    let err = refused(d, &["--config", "serve.yaml", "--insecure-no-auth"], &[]);
    for want in [
        "serve.yaml:3:12: agentPort: `99999` is not a port number",
        "serve.yaml:4:1: tokens: secrets are not accepted inline",
        "serve.yaml:5:13: kubernetes: `maybe` is not true or false",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(!d.join("state").exists(), "the state dir was created");
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port was left bound");

    // A bad variable names the variable.
    let env = [("FAULTLINE_KUBE_QPS", "fast".to_string())];
    let err = refused(d, &["--insecure-no-auth", "--state-dir", "state"], &env);
    assert!(
        err.contains("FAULTLINE_KUBE_QPS): `fast` is not a number"),
        "{err}"
    );
    assert!(!d.join("state").exists());

    // A missing file is an error too, not "all defaults".
    let err = refused(d, &["--config", "nowhere.yaml", "--insecure-no-auth"], &[]);
    assert!(
        err.contains("nowhere.yaml: cannot read the serve config"),
        "{err}"
    );
}
