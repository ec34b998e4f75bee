//! The domain: the run itself — its states and the rule for moving between them, the
//! events it records, the record it is stored as, what triggered it (a GitLab event's
//! context), the statistical verdict of a `compare:` check, and its progress lines. Pure:
//! it imports nothing from the layers above it (only `faultline_spec`, the experiment
//! language), so every other layer can speak of runs in these terms.

pub mod active;
pub mod actor;
pub mod audit;
pub mod compare;
pub mod event;
mod mann_whitney;
pub mod progress;
pub mod run;
pub mod selection;
pub mod state;
pub mod trigger;

pub use active::{ActiveFault, ExecutorRef};
pub use actor::{Actor, ActorKind};
pub use audit::{AuditAction, AuditOutcome, AuditRecord, NewAudit};
pub use compare::{Comparison, SampleSummary};
pub use event::{RunEvent, StoredEvent, TASK_STDOUT_SHOWN, task_summary, verification_summary};
pub use run::RunRow;
pub use state::RunState;
pub use trigger::GitlabContext;
