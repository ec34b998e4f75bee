//! `faultline serve` settings: one key per setting, from a YAML file, `FAULTLINE_*`
//! environment variables and flags, merged flag > env > file > default and checked with
//! the key (and the file's line) named in every error.

pub mod file;
pub mod governance;
pub mod serve;
mod tls;
pub mod value;

pub use governance::{Governance, VetoSettings};
pub use serve::{KEYS, KubeSettings, ServeConfig, ServeLayer, StoreSettings, env_var};
