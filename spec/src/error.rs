//! Spec errors: every problem in a file, each with its field path, line and column, and a
//! hint where one helps. `SpecErrors` prints one per line, the way compilers do, so editors
//! can jump to them.

use std::fmt;

/// One problem in a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Field path within its document, e.g. `spec.steps[1].networkDelay.latency`; the line
    /// tells documents of a multi-document file apart.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
}

impl SpecError {
    /// A new error at `line`/`column` (1-based).
    pub fn new(
        path: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        SpecError {
            path: path.into(),
            line,
            column,
            message: message.into(),
            hint: None,
        }
    }

    /// The same error with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

/// Every problem found in one file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors {
    /// The file name used in messages (`-` for stdin).
    pub file: String,
    /// The problems, in file order.
    pub errors: Vec<SpecError>,
}

impl SpecErrors {
    /// The number of problems.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// True when there are none (never the case for a returned `Err`).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {e}", self.file, e.line, e.column)?;
        }
        Ok(())
    }
}
