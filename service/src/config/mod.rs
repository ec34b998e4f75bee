//! `faultline serve` settings: one key per setting, from a YAML file, `FAULTLINE_*`
//! environment variables and flags, merged flag > env > file > default and checked with
//! the key (and the file's line) named in every error.

pub mod file;
pub mod serve;
pub mod value;

pub use serve::{KEYS, KubeSettings, ServeConfig, ServeLayer, StoreSettings, env_var};
