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
    /// Another orchestrator holds the run.
    #[error(
        "cycle run {run_id} is being run by `{owner}` (its lease runs to {until}); \
         wait for it to finish, or stop it first: a run has one orchestrator at a time"
    )]
    Busy {
        run_id: i64,
        owner: String,
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Opened with [`crate::OpenMode::MustExist`] where there is no store (the URL is
    /// redacted).
    #[error("no store at {0}")]
    NoStore(String),
    /// A worker (which never migrates) found a store of another schema than its build's.
    #[error(
        "the store's schema is version {store} and this warden's is {built}: {}",
        if store < built {
            "upgrade the orchestrator first (`warden run` migrates the store), then start workers of the new version"
        } else {
            "this worker is older than the store; install the orchestrator's warden version on this host"
        }
    )]
    Schema { store: i64, built: i64 },
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// Whether the database may come back: the connection broke, the server is restarting,
    /// the pool could not get a connection in time, or SQLite was busy. The driver and the
    /// workers wait and try again on these; anything else is a real error.
    pub fn is_transient(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::Protocol(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                // PostgreSQL: connection exceptions (08), operator intervention such as an
                // admin shutdown or a server starting up (57P), insufficient resources (53).
                // SQLite: BUSY (5) and LOCKED (6).
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code.starts_with("53")
                    || code == "5"
                    || code == "6"
                    || code == "517"
                    || code == "261"
            }
            _ => false,
        }
    }
}
