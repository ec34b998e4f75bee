//! The command line: global options and one subcommand per verb. Each subcommand's
//! `--help` explains it with an example. One file per group of verbs.

mod client;
mod local;
mod outputs;
mod serve;
mod tls;

pub use client::{ServerArgs, StopAllArgs, TriggerArgs};
pub use local::{ConfigCommand, ConfigKind, OutputFormat, RunArgs, StateArgs, ValidateArgs};
pub use outputs::{GrafanaArgs, OtlpArgs};
pub use serve::ServeArgs;

use clap::{Parser, Subcommand, ValueEnum};

/// faultline: chaos experiments with steady-state verdicts, triggered from CI.
#[derive(Debug, Parser)]
#[command(
    name = "faultline",
    version,
    about,
    long_about = "faultline runs chaos experiments (CPU/memory stress, network delay/loss/partition, \
                  process and pod kills) against Kubernetes pods or local processes, checks a \
                  steady state before, during and after, and reports a pass/fail verdict.",
    after_help = "Example:\n  faultline validate examples/chaos-mesh/*.yaml\n  faultline validate --explain examples/native/checkout-under-stress.yaml"
)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormatArg::Human, env = "FAULTLINE_LOG_FORMAT")]
    pub log_format: LogFormatArg,
    /// More log detail: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
// `serve` has many more options than the rest; the value is parsed once per process, so
// boxing it would only make every match noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check experiment files (native or Chaos Mesh) and report every error.
    #[command(
        after_help = "Exit status: 0 when every file is valid, 2 when any is not.\n\n\
Examples:\n  faultline validate examples/chaos-mesh/stress-cpu.yaml\n  \
faultline validate --explain --format json examples/chaos-mesh/workflow.yaml\n\n\
An error names the file, line, column, field path and a fix:\n  \
stress-memory.yaml:14:3: spec.labelSelectors: unknown field; `labelSelectors` belongs under `spec.selector`; indent it under `selector:`"
    )]
    Validate(ValidateArgs),
    /// Run experiments on this machine, with the agent in-process.
    #[command(
        long_about = "Runs each experiment of FILE on this machine: steady-state checks before, \
                      faults through the in-process agent (journaled under --state-dir), checks \
                      during and after, a verdict, and HTML/JSON/JUnit reports. Ctrl-C or \
                      SIGTERM aborts: every fault is recovered first.\n\n\
                      Killed (kill -9, also of the whole process group): before its first \
                      fault that stays applied the run starts a watchdog, `faultline \
                      __watchdog`, in a process group of its own, which recovers from the journal \
                      within a second of the run's death and ends the run `error`; a clean \
                      run ends it. If the watchdog is killed too, the next run or `faultline \
                      recover` cleans up.",
        after_help = "Exit status: 0 passed, 1 failed, 2 aborted, error or invalid input.\n\n\
Examples:\n  sudo faultline run examples/native/local-netns-and-process.yaml\n  \
sudo faultline run --dry-run experiment.yaml\n  \
sudo faultline run --prometheus http://127.0.0.1:9090 experiment.yaml"
    )]
    Run(RunArgs),
    /// Run the self-contained demo: a web server in its own network namespace, three
    /// experiments against it (passed, failed, aborted), and proof nothing was left behind.
    #[command(
        after_help = "Needs root (it creates a network namespace and qdiscs).\n\nExample:\n  sudo faultline demo"
    )]
    Demo(StateArgs),
    /// Serve the HTTP API, the web console, webhooks and metrics.
    #[command(
        long_about = "Serves the web console at / (runs, live run view, experiments, schedules, \
                      emergency stop, agents; sign in with a token; under a sub-path with \
                      --public-url), /api/v1 (runs: create, list, get, abort, events as SSE, reports; \
                      experiments: the catalog webhooks and schedules run by name; schedules; \
                      emergency-stop; whoami), /webhooks/gitlab (with --gitlab-config), \
                      /webhooks/alertmanager (firing alerts abort the runs that list them in \
                      abortOnAlerts), /healthz, /readyz and /metrics. Runs are driven in the \
                      background; faults go through the in-process agent (journaled under \
                      --state-dir) or a node agent (--agent). With --kubernetes (cluster mode) \
                      pod targets are resolved through the Kubernetes API, podKill/podFailure \
                      run through it, other faults go to the agent of each pod's node, and the \
                      replicas elect a leader with a Lease (only the leader fires schedules). \
                      Catalog experiments with spec.schedule fire at their cron times (UTC, or \
                      the zone of `schedule: { cron, timezone }`). \
                      SIGTERM or Ctrl-C aborts every live run, waits for its faults to be \
                      recovered, then exits. On start, faults a killed process left are \
                      recovered from the journal and runs it left unfinished are marked error.\n\n\
                      Every setting can come from a flag, a FAULTLINE_* environment variable or \
                      the --config file; a flag beats its variable, which beats the file, which \
                      beats the default. The variable of a config key is FAULTLINE_ and the key in \
                      upper snake case (agentTokenFile -> FAULTLINE_AGENT_TOKEN_FILE); each \
                      option below shows its variable. `faultline config example serve` prints \
                      a commented config. A bad config (unknown key, bad value) stops the start \
                      with the file, line and key, before anything is opened or listened on. \
                      Secrets are only read from files (tokensFile, agentTokenFile, \
                      grafanaTokenFile), never inline. The file alone may also hold `audit:` \
                      (a JSON-lines copy of the audit log), `windows:` (change windows; a \
                      trigger outside them gets 409) and `veto:` (a URL asked before a run \
                      injects); see docs/governance.md. Every action that changes something, \
                      and every refused attempt, is in the audit log (GET /api/v1/audit, \
                      admin).",
        after_help = "Examples:\n  faultline serve --config /etc/faultline/serve.yaml\n  \
FAULTLINE_LISTEN=0.0.0.0:8080 faultline serve --config serve.yaml --prometheus http://127.0.0.1:9090\n  \
faultline serve --tokens-file /etc/faultline/tokens   # lines `role:token` or `role/name:token`, role viewer|operator|admin\n  \
faultline serve --insecure-no-auth --listen 127.0.0.1:8080 --state-dir /tmp/fl\n  \
faultline serve --tokens-file tokens --gitlab-config gitlab.yaml --experiments examples/native --public-url https://faultline.example.org\n  \
faultline serve --tokens-file tokens --agent http://10.0.0.5:7150 --agent-token-file agent.token\n  \
faultline serve --tokens-file tokens --kubernetes --agent-token-file /var/run/faultline/agent-token --kube-qps 100 --kube-burst 200\n  \
faultline serve --id-token-config id-tokens.yaml   # GitLab CI jobs call with their ID tokens (docs/ci-identity.md)\n  \
faultline serve --tokens-file tokens --sso-config sso.yaml --public-url https://faultline.example.org   # people sign in through OIDC (docs/sso.md)"
    )]
    Serve(ServeArgs),
    /// Ask a running server to run an experiment; the exit code is the verdict.
    #[command(
        long_about = "Posts one experiment to a faultline server and prints the run's id and URL. \
                      With --wait it follows the run's progress, prints the verdict and a table \
                      of every check per phase (value, min, max, expectation, result), writes \
                      the reports asked for and exits with the verdict. This is what the GitLab \
                      template in ci/faultline.gitlab-ci.yml runs.",
        after_help = "Exit status: 0 passed, 1 failed, 2 aborted, error, invalid input, an unreachable \
server or --timeout (the run goes on on the server; the message names it and its URL).\n\n\
Credentials: the job's GitLab ID token when $FAULTLINE_ID_TOKEN is set (declare it in the job's \
`id_tokens:` with `aud:` the server's audience) or the variable --id-token-env names; else \
--token, --token-file or $FAULTLINE_TOKEN.\n\n\
Example (a GitLab job):\n  faultline trigger --server \"$FAULTLINE_URL\" --wait --timeout 15m \\\n    \
--junit report.xml --html report.html --metrics metrics.txt experiment.yaml"
    )]
    Trigger(TriggerArgs),
    /// Remove whatever faults a killed run left behind, from the agent's journal.
    #[command(
        after_help = "Exit status: 0 when nothing is left applied, 1 otherwise.\n\nExample:\n  sudo faultline recover --state-dir /var/lib/faultline"
    )]
    Recover(StateArgs),
    /// Emergency stop: abort every run on a server and refuse new ones from every trigger
    /// (API, webhooks, schedules) until `faultline resume`; survives a server restart.
    #[command(
        name = "stop-all",
        after_help = "Needs an operator or admin token.\n\nExample:\n  faultline stop-all --server http://127.0.0.1:8080 --token-file token --reason \"checkout incident\""
    )]
    StopAll(StopAllArgs),
    /// Release the emergency stop (admin token).
    #[command(
        after_help = "Example:\n  faultline resume --server http://127.0.0.1:8080 --token-file admin.token"
    )]
    Resume(ServerArgs),
    /// Config file helpers.
    #[command(
        after_help = "Examples:\n  faultline config example > /etc/faultline/serve.yaml\n  faultline config example gitlab > /etc/faultline/gitlab.yaml"
    )]
    Config {
        /// What to do.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the version.
    #[command(after_help = "Example:\n  faultline version")]
    Version,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut argv = vec!["faultline", "serve"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|c| match c.command {
            Command::Serve(s) => s,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_config_key_has_a_flag_whose_variable_follows_the_key() {
        use faultline::config::{KEYS, env_var};
        let cmd = Cli::command();
        let serve_cmd = cmd.find_subcommand("serve").unwrap();
        let mut envs: Vec<String> = serve_cmd
            .get_arguments()
            .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
            .filter(|e| e != "FAULTLINE_CONFIG" && e != "FAULTLINE_LOG_FORMAT")
            .collect();
        envs.sort();
        let mut want: Vec<String> = KEYS.iter().map(|k| env_var(k)).collect();
        want.sort();
        assert_eq!(envs, want);
        // `given` names every key once, with the flag clap knows.
        let s = serve(&[
            "--listen=1",
            "--state-dir=1",
            "--tokens-file=1",
            "--insecure-no-auth",
            "--lease=1",
            "--max-duration=1",
            "--prometheus=1",
            "--alertmanager=1",
            "--agent=1",
            "--agent-token-file=1",
            "--experiments=1",
            "--gitlab-config=1",
            "--notify-config=1",
            "--notify-templates=1",
            "--public-url=1",
            "--grafana-url=1",
            "--grafana-token-file=1",
            "--grafana-dashboard-uid=1",
            "--otlp-endpoint=1",
            "--kubernetes",
            "--agent-selector=1",
            "--agent-namespace=1",
            "--agent-port=1",
            "--kube-qps=1",
            "--kube-burst=1",
            "--pause-image=1",
            "--protect-namespace=1",
            "--leader-lease=1",
            "--id-token-config=1",
            "--tls-cert=1",
            "--tls-key=1",
            "--agent-ca=1",
            "--agent-client-cert=1",
            "--agent-client-key=1",
            "--agent-server-name=1",
            "--store=1",
            "--store-password-file=1",
            "--store-lease-ttl=1",
            "--sso-config=1",
        ])
        .unwrap();
        let given = s.given();
        let keys: Vec<&str> = given.iter().map(|(k, _, _)| *k).collect();
        assert_eq!(keys, KEYS);
        for (_, flag, _) in &given {
            let long = flag.trim_start_matches("--");
            assert!(
                serve_cmd
                    .get_arguments()
                    .any(|a| a.get_long() == Some(long)),
                "{flag}"
            );
        }
    }

    #[test]
    fn boolean_flags_take_an_optional_value() {
        assert_eq!(
            serve(&["--kubernetes"])
                .unwrap()
                .cluster
                .kubernetes
                .as_deref(),
            Some("true")
        );
        assert_eq!(
            serve(&["--kubernetes=false"])
                .unwrap()
                .cluster
                .kubernetes
                .as_deref(),
            Some("false")
        );
        assert_eq!(serve(&[]).unwrap().cluster.kubernetes, None);
        // Without `=`, the next word is not taken as the flag's value.
        assert!(serve(&["--insecure-no-auth", "stray"]).is_err());
    }
}
