//! Task steps (Chaos Mesh's Workflow `Task` template): a container run once in the
//! cluster, whose exit code and stdout pick which branches run next.

pub mod expr;
pub mod step;
pub mod walk;

use crate::experiment::Step;

pub use expr::{Condition, ExprError, TaskOutcome};
pub use step::{DEFAULT_TIMEOUT, EnvVar, TaskContainer};
pub use walk::count_tasks;

/// A task step of the experiment.
pub type TaskStep = step::TaskStep<Step>;
/// A task.
pub type Task = step::Task<Step>;
/// A task's branch.
pub type Branch = step::Branch<Step>;
