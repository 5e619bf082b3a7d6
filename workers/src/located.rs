//! A problem in a file an analyst or architect wrote (a plan, a partner mapping, a routing
//! rule set): where it is (file:line:column) and what to write instead. One type for all of
//! them, so every loader reports the same way and the CLI prints them alike.

use std::path::{Path, PathBuf};

/// A located problem in a YAML file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct LocatedError {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl LocatedError {
    /// A problem at `location` of `file`.
    pub fn at(file: &Path, location: &serde_saphyr::Location, message: String) -> Self {
        LocatedError {
            file: file.to_path_buf(),
            line: location.line(),
            column: location.column(),
            message,
        }
    }

    /// A problem with the file as a whole (it cannot be read): line 1, column 1.
    pub fn whole(file: &Path, message: String) -> Self {
        LocatedError {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            message,
        }
    }

    /// A YAML file serde-saphyr could not read into its raw types (bad syntax, an unknown
    /// key, a wrong type): its location and the first line of its message; `what` names the
    /// file's kind when the message is empty.
    pub fn from_yaml(file: &Path, error: &serde_saphyr::Error, what: &str) -> Self {
        let (line, column) = error
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let message = error.without_snippet().to_string();
        let mut message = message
            .lines()
            .next()
            .map_or_else(|| format!("invalid {what}"), str::to_string);
        // The location is given once, in front.
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        LocatedError {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    }
}
