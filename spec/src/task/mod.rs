//! Task steps (Chaos Mesh's Workflow `Task` template): a container run once in the
//! cluster, whose exit code and stdout pick which branches run next.

pub mod expr;
pub mod step;

pub use expr::{Condition, ExprError, TaskOutcome};
pub use step::{Branch, EnvVar, Task, TaskContainer, TaskStep, count_tasks};
