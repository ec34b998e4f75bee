//! Run reports, derived only from the stored run and its events: JSON (the stable
//! document webhooks and the API return), JUnit XML (GitLab shows it in the merge
//! request) and HTML (a person looks at it: faults against check values on one timeline).
//!
//! In the application, not among the adapters: notifications, GitLab notes and the API all
//! render the report, and adapters may not import each other. It is pure (no I/O).

mod distribution;
mod html;
mod junit;
pub(crate) mod model;

pub use html::{prepare as prepare_html, timeline_svg, to_html};
pub use junit::to_junit;
pub use model::{CheckSummary, FaultWindow, Report, Verification};

/// A finished run with a fault and a failed check, for other modules' tests.
#[cfg(test)]
pub(crate) use model::tests::sample_report;
