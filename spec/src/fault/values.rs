//! The closed sets of words some fault fields take, signals and pause methods, and how a
//! declaration reads them.

use serde::{Deserialize, Serialize};

use crate::decode::cx::Cx;
use crate::decode::tree::Node;
use crate::decode::value::{Read, Words};

/// The signals a `processKill` may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Signal {
    /// SIGKILL (9).
    #[default]
    #[serde(rename = "SIGKILL")]
    Kill,
    /// SIGTERM (15).
    #[serde(rename = "SIGTERM")]
    Term,
    /// SIGINT (2).
    #[serde(rename = "SIGINT")]
    Int,
    /// SIGHUP (1).
    #[serde(rename = "SIGHUP")]
    Hup,
    /// SIGQUIT (3).
    #[serde(rename = "SIGQUIT")]
    Quit,
    /// SIGUSR1 (10).
    #[serde(rename = "SIGUSR1")]
    Usr1,
    /// SIGUSR2 (12).
    #[serde(rename = "SIGUSR2")]
    Usr2,
}

impl Signal {
    /// Every accepted name, for error messages.
    pub const ALL_NAMES: [&'static str; 7] = [
        "SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2",
    ];

    /// The Linux signal number.
    pub const fn number(self) -> i32 {
        match self {
            Signal::Kill => 9,
            Signal::Term => 15,
            Signal::Int => 2,
            Signal::Hup => 1,
            Signal::Quit => 3,
            Signal::Usr1 => 10,
            Signal::Usr2 => 12,
        }
    }

    /// Parses `SIGKILL`, `KILL`, `kill` or `9`.
    pub fn parse(s: &str) -> Option<Signal> {
        let up = s.trim().to_ascii_uppercase();
        let name = up.strip_prefix("SIG").unwrap_or(&up);
        Some(match name {
            "KILL" | "9" => Signal::Kill,
            "TERM" | "15" => Signal::Term,
            "INT" | "2" => Signal::Int,
            "HUP" | "1" => Signal::Hup,
            "QUIT" | "3" => Signal::Quit,
            "USR1" | "10" => Signal::Usr1,
            "USR2" | "12" => Signal::Usr2,
            _ => return None,
        })
    }
}

/// How a pause is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum PauseMethod {
    /// SIGSTOP, then SIGCONT on recovery.
    #[default]
    Signal,
    /// Freeze the target's cgroup (v1 freezer or v2 `cgroup.freeze`).
    Freezer,
}

/// A signal by name or number (`SIGTERM`, `term`, `15`).
pub struct Sig;

impl Read for Sig {
    type Value = Signal;
    fn describe() -> String {
        let n: Vec<_> = Signal::ALL_NAMES.iter().map(|n| format!("`{n}`")).collect();
        format!("signal: {}, or its number", n.join(", "))
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Signal> {
        let s = cx.string(node, path)?;
        let sig = Signal::parse(&s);
        if sig.is_none() {
            cx.err(
                path,
                node.pos,
                format!(
                    "unknown signal `{s}`; allowed: {}",
                    Signal::ALL_NAMES.join(", ")
                ),
            );
        }
        sig
    }
}

impl Words for PauseMethod {
    const WORDS: &'static [&'static str] = &["signal", "freezer"];

    fn from_word(word: &str) -> Self {
        if word == "freezer" {
            PauseMethod::Freezer
        } else {
            PauseMethod::Signal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_loosely() {
        assert_eq!(Signal::parse("kill"), Some(Signal::Kill));
        assert_eq!(Signal::parse("SIGTERM"), Some(Signal::Term));
        assert_eq!(Signal::parse("9"), Some(Signal::Kill));
        assert_eq!(Signal::parse("SIGWHAT"), None);
    }
}
