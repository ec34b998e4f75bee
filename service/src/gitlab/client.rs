//! GitLab's REST API v4, the calls faultline makes: commit statuses and merge-request
//! notes. Failures are classified for the outbox: 429 (after Retry-After), 5xx, timeouts
//! and refused connections are retried; other statuses are permanent.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::application::gitlab_trigger::config::ApiSettings;
use crate::application::ports::outbox::{SendError, http_outcome};

/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A commit status state, as GitLab names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    /// Queued.
    Pending,
    /// In progress.
    Running,
    /// Passed.
    Success,
    /// Failed (also an aborted or errored run: the gate must not open).
    Failed,
}

/// One commit status to post.
#[derive(Debug, Clone, Serialize)]
pub struct CommitStatus {
    /// The state.
    pub state: StatusState,
    /// `faultline/<experiment>`: GitLab keeps one status per name and SHA.
    pub name: String,
    /// Link shown on the status (the run's report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    /// One line shown beside it (GitLab cuts it at 255 characters).
    pub description: String,
    /// Attaches the status to this pipeline rather than the newest one for the SHA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<u64>,
    /// The branch or tag.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

/// A note as GitLab returns it (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub struct Note {
    /// Note id.
    pub id: u64,
    /// Markdown body.
    pub body: String,
}

/// A GitLab API client.
#[derive(Debug, Clone)]
pub struct GitlabClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

fn transport(what: &str, e: &reqwest::Error) -> SendError {
    SendError::Retry {
        reason: format!("{what}: {e}"),
        after: None,
    }
}

impl GitlabClient {
    /// A client for `settings`.
    pub fn new(settings: &ApiSettings) -> Result<GitlabClient, reqwest::Error> {
        let http = faultline_exporter::tls_provider::http_client()
            .timeout(TIMEOUT)
            .user_agent(concat!("faultline/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(GitlabClient {
            base: format!("{}/api/v4", settings.url.trim_end_matches('/')),
            token: settings.token.clone(),
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /projects/:id/statuses/:sha`. A status GitLab already holds (it refuses to
    /// "transition" a status to the state it is in) counts as posted, so retries and the
    /// outbox's replays are safe.
    pub async fn set_status(
        &self,
        project: u64,
        sha: &str,
        status: &CommitStatus,
    ) -> Result<(), SendError> {
        let what = format!("GitLab commit status {} on {sha}", status.name);
        let resp = self
            .http
            .post(self.url(&format!("/projects/{project}/statuses/{sha}")))
            .header("PRIVATE-TOKEN", &self.token)
            .json(status)
            .send()
            .await
            .map_err(|e| transport(&what, &e))?;
        if resp.status().as_u16() == 400 {
            let body = resp.text().await.unwrap_or_default();
            if body.contains("Cannot transition status") {
                return Ok(());
            }
            return Err(SendError::Permanent(format!(
                "{what} answered 400 Bad Request: {}",
                cut(&body)
            )));
        }
        http_outcome(&what, resp).await
    }

    /// Every note of merge request `iid` (all pages).
    pub async fn mr_notes(&self, project: u64, iid: u64) -> Result<Vec<Note>, SendError> {
        let what = format!("GitLab notes of !{iid}");
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let resp = self
                .http
                .get(self.url(&format!("/projects/{project}/merge_requests/{iid}/notes")))
                .header("PRIVATE-TOKEN", &self.token)
                .query(&[
                    ("per_page", "100"),
                    ("sort", "asc"),
                    ("page", &page.to_string()),
                ])
                .send()
                .await
                .map_err(|e| transport(&what, &e))?;
            if !resp.status().is_success() {
                http_outcome(&what, resp).await?;
                return Err(SendError::Permanent(format!("{what}: unexpected answer")));
            }
            let next = resp
                .headers()
                .get("x-next-page")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok());
            let notes: Vec<Note> = resp
                .json()
                .await
                .map_err(|e| SendError::Permanent(format!("{what}: not a list of notes: {e}")))?;
            out.extend(notes);
            match next {
                Some(n) if n > page && page < 50 => page = n,
                _ => return Ok(out),
            }
        }
    }

    /// Creates a note on merge request `iid`.
    pub async fn create_note(&self, project: u64, iid: u64, body: &str) -> Result<(), SendError> {
        let url = self.url(&format!("/projects/{project}/merge_requests/{iid}/notes"));
        self.write_note(self.http.post(url), &format!("GitLab note on !{iid}"), body)
            .await
    }

    /// Replaces the body of note `note` on merge request `iid`.
    pub async fn update_note(
        &self,
        project: u64,
        iid: u64,
        note: u64,
        body: &str,
    ) -> Result<(), SendError> {
        let url = self.url(&format!(
            "/projects/{project}/merge_requests/{iid}/notes/{note}"
        ));
        self.write_note(
            self.http.put(url),
            &format!("GitLab note {note} on !{iid}"),
            body,
        )
        .await
    }

    async fn write_note(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
        body: &str,
    ) -> Result<(), SendError> {
        let resp = req
            .header("PRIVATE-TOKEN", &self.token)
            .json(&serde_json::json!({ "body": body }))
            .send()
            .await
            .map_err(|e| transport(what, &e))?;
        http_outcome(what, resp).await
    }

    /// Writes `body` as the note carrying `marker` (a hidden HTML comment): updates the
    /// note if one has it, creates it otherwise — one note per marker, however many runs.
    pub async fn upsert_note(
        &self,
        project: u64,
        iid: u64,
        marker: &str,
        body: &str,
    ) -> Result<(), SendError> {
        let notes = self.mr_notes(project, iid).await?;
        match notes.iter().find(|n| n.body.contains(marker)) {
            Some(n) => self.update_note(project, iid, n.id, body).await,
            None => self.create_note(project, iid, body).await,
        }
    }
}

fn cut(s: &str) -> String {
    s.chars().take(200).collect()
}
