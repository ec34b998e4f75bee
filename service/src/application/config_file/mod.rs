//! Reading the service's YAML config files (serve settings, notifications, GitLab): a
//! checked walk over the YAML tree that records every error with its line and field, and
//! the name patterns they use. Here, below the adapters, because three adapters' config
//! files share it and no adapter may import another.

pub mod error;
pub mod glob;
pub mod walk;

pub use error::{ConfigError, ConfigErrors};
pub use glob::{Glob, glob_matches};
