//! Store errors.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("applying migrations failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored JSON could not be read: {0}")]
    Json(#[from] serde_json::Error),
    /// A worker wrote for an attempt it no longer owns (lease lost, job killed or rerun).
    #[error("attempt {attempt} of job {job} is not held by worker `{worker}` any more")]
    Fenced {
        job: i64,
        attempt: i64,
        worker: String,
    },
    #[error("{0}")]
    Invalid(String),
}
