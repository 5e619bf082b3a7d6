//! What can stop a pipeline stage. Bad input rows never do: they are rejected.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{0}")]
    Input(String),
    /// Stopped on purpose by a test's crash injection, without a checkpoint.
    #[error("interrupted after {0} claims (crash injection)")]
    Interrupted(u64),
}

pub type Result<T> = std::result::Result<T, PipelineError>;

/// Adds the path to an I/O error.
pub trait At<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> At<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| PipelineError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl<T> At<T> for std::result::Result<T, csv::Error> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| PipelineError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })
    }
}
