//! One error for every command: what went wrong and the exit code it means. Commands return
//! it; `cli::run` prints it once (`error: MESSAGE`) and turns it into the process's exit code,
//! as nextest's `ExpectedError` does. The exit-code table is written here only.

use std::io::Write;

/// What a command's exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok = 0,
    /// 1: the input is invalid (every error printed), a run stopped because jobs failed for
    /// good, `plan --check` found a deadline planned to be missed, `adjudicate` did not
    /// reconcile or found a difference, `impact run` ended in `review` or `fail`.
    Invalid = 1,
    /// 2: the command was used wrongly: a bad flag, a number outside its range (`limits.rs`,
    /// checked while parsing), an unreadable file, a date the cycle does not run on, an
    /// unknown job, an operator command that does not fit the job's state.
    Usage = 2,
    /// 3: the environment is not usable: the store cannot be reached, opened or is missing
    /// (only `run` and `demo` create one), the data directory cannot be written, another
    /// orchestrator holds the run.
    Unavailable = 3,
}

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Printed by `cli::run` as `error: MESSAGE`.
    #[error("{message}")]
    Failed { exit: Exit, message: String },
    /// Already printed in full by the command (every diagnostic of a file, a report that
    /// ends NOT RECONCILED): only its exit code is left.
    #[error("exit {}", *.0 as i32)]
    Reported(Exit),
    /// The exit code of a command Warden ran for the caller (`warden supervise` exits as
    /// its command did); nothing to print.
    #[error("exit {0}")]
    Passed(i32),
    /// Writing the command's output failed (a closed pipe is not an error: `cli::run`).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// Exit 1: the input is invalid.
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        Self::Failed {
            exit: Exit::Invalid,
            message: message.to_string(),
        }
    }

    /// Exit 2: the command was used wrongly.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self::Failed {
            exit: Exit::Usage,
            message: message.to_string(),
        }
    }

    /// Exit 3: the environment is not usable.
    pub fn unavailable(message: impl std::fmt::Display) -> Self {
        Self::Failed {
            exit: Exit::Unavailable,
            message: message.to_string(),
        }
    }

    /// The process's exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Failed { exit, .. } | Self::Reported(exit) => *exit as i32,
            Self::Passed(code) => *code,
            // A reader that stopped reading (`warden plan ... | head`) is not an error.
            Self::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok as i32,
            Self::Io(_) => Exit::Usage as i32,
        }
    }

    /// Prints what has not been printed yet, once.
    pub fn print(&self, err: &mut dyn Write) {
        let _ = match self {
            Self::Failed { message, .. } => writeln!(err, "error: {message}"),
            Self::Reported(_) | Self::Passed(_) => Ok(()),
            Self::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Self::Io(e) => writeln!(err, "error: {e}"),
        };
    }
}

/// What every command returns.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Exit 1 when `failed`, with nothing more to print (the command printed why).
pub fn reported_if(failed: bool) -> CliResult {
    if failed {
        Err(CliError::Reported(Exit::Invalid))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_printed_once_with_its_code() {
        let mut err = Vec::new();
        let e = CliError::unavailable("no store at x.db");
        e.print(&mut err);
        assert_eq!(String::from_utf8(err).unwrap(), "error: no store at x.db\n");
        assert_eq!(e.exit_code(), 3);
        let mut err = Vec::new();
        CliError::Reported(Exit::Invalid).print(&mut err);
        assert!(err.is_empty());
        assert_eq!(CliError::Reported(Exit::Invalid).exit_code(), 1);
        let pipe = CliError::Io(std::io::ErrorKind::BrokenPipe.into());
        assert_eq!(pipe.exit_code(), 0);
    }
}
