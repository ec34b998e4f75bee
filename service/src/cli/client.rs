//! Options of the verbs that call a running `faultline serve`: `trigger`, `stop-all`,
//! `resume`.

use std::path::PathBuf;

use clap::Args;

/// Options of `trigger`.
#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// Which server, and the token to call it with.
    #[command(flatten)]
    pub api: ServerArgs,
    /// Follow the run's progress and exit with its verdict.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: write the JUnit report here.
    #[arg(long, value_name = "FILE", requires = "wait")]
    pub junit: Option<PathBuf>,
    /// With --wait: write the HTML report here.
    #[arg(long, value_name = "FILE", requires = "wait")]
    pub html: Option<PathBuf>,
    /// With --wait: write the GitLab metrics report (OpenMetrics text) here: each check's
    /// value, min, max and result per phase, the verdict and the run's duration.
    #[arg(long, value_name = "FILE", requires = "wait")]
    pub metrics: Option<PathBuf>,
    /// With --wait: give up waiting after this long, e.g. `15m`. Exit 2; the run goes on
    /// on the server, and the reports asked for show how far it got.
    #[arg(long, value_name = "DURATION", requires = "wait")]
    pub timeout: Option<faultline_spec::Duration>,
    /// Plan only: print what would be injected, inject nothing. In a merge-request
    /// pipeline the server also posts the plan as a note on the merge request.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
    /// Inside GitLab CI, do not send the job's pipeline (CI_PROJECT_ID, CI_COMMIT_SHA,
    /// CI_PIPELINE_ID, CI_MERGE_REQUEST_IID, ...) with the run; by default the server then
    /// posts the commit status and the MR note for it.
    #[arg(long)]
    pub no_gitlab_context: bool,
    /// Send the GitLab CI ID token held in this environment variable (the job's
    /// `id_tokens:` entry) as the bearer token instead of --token/--token-file. Given, the
    /// variable must be set. Not given: FAULTLINE_ID_TOKEN when it is set, else the
    /// static token.
    #[arg(long, value_name = "VAR")]
    pub id_token_env: Option<String>,
    /// The experiment file (YAML or JSON, exactly one experiment).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// How to reach a faultline server (for `trigger`, `stop-all`, `resume`).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The faultline server, e.g. `https://faultline.example.org`.
    #[arg(long, value_name = "URL", env = "FAULTLINE_URL")]
    pub server: String,
    /// Bearer token (operator or admin).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "FAULTLINE_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// File holding the bearer token.
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
}

/// Options of `stop-all`.
#[derive(Debug, Args)]
pub struct StopAllArgs {
    /// Which server, and the token (operator or admin).
    #[command(flatten)]
    pub api: ServerArgs,
    /// Why: shown on every aborted run and on every refused trigger.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}
