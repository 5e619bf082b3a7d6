//! The two backends and the [`Store`] that is either: opening (and migrating) a store, and
//! what each database needs of every write (`write_gate`, `begin`). The queries themselves
//! live by table area in the other files, one body for both dialects (`dialect.rs`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Transaction};

use crate::error::StoreError;
use crate::url::redact_url;

/// A store on either backend, chosen by URL.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Whether opening a store may create it. Only the commands that run a cycle (`warden run`,
/// `warden demo`) create one; every other command reads a store that must already exist, so
/// a mistyped `--db` is reported instead of silently served or reported empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// A missing SQLite file is created; migrations make the tables.
    Create,
    /// The store must exist and hold Warden's tables ([`StoreError::NoStore`] otherwise);
    /// nothing is created. Pending migrations of an existing store are still applied.
    MustExist,
    /// As `MustExist`, but nothing is migrated either: the store's schema must be exactly
    /// this build's ([`StoreError::Schema`] otherwise). A worker opens so: workers of a new
    /// version must never change the schema under a running orchestrator of the old one.
    Worker,
}

impl Store {
    /// Opens (creating if missing) and applies migrations: [`Store::open`] with
    /// [`OpenMode::Create`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::open(url, OpenMode::Create).await
    }

    /// Opens a store and applies migrations. `postgres://...` is PostgreSQL; anything else is
    /// a SQLite file (`sqlite://warden.db`, or a plain path).
    pub async fn open(url: &str, mode: OpenMode) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::open(url, mode).await?))
        } else if let Some((scheme, _)) = url.split_once("://")
            && scheme != "sqlite"
        {
            Err(StoreError::Invalid(format!(
                "`{scheme}://` is not a store Warden knows: give a SQLite file (warden.db, \
                 sqlite://PATH) or a postgres:// URL"
            )))
        } else {
            Ok(Store::Sqlite(SqliteStore::open(url, mode).await?))
        }
    }

    /// The newest migration this build knows.
    pub fn built_schema_version(&self) -> i64 {
        match self {
            Store::Sqlite(_) => SqliteStore::built_schema_version(),
            Store::Postgres(_) => PgStore::built_schema_version(),
        }
    }
}

/// The embedded default: one SQLite file in WAL mode.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// SQLite has one writer at a time. Writers of this process queue here, in order,
    /// instead of colliding on the file lock and sleeping in SQLite's busy handler (which
    /// backs off in milliseconds: that was most of a hop's cost between two jobs). Other
    /// processes on the same file still meet the busy timeout.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    pub(crate) async fn write_gate(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// A write transaction takes SQLite's write lock up front: a deferred one that read
    /// first could not upgrade after another writer and would fail with BUSY instead of
    /// waiting.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    pub fn built_schema_version() -> i64 {
        sqlx::migrate!("../../migrations/sqlite")
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }
}

impl SqliteStore {
    pub async fn open(url: &str, mode: OpenMode) -> Result<Self, StoreError> {
        let url = if url.starts_with("sqlite:") {
            url.to_string()
        } else {
            format!("sqlite://{url}")
        };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(mode == OpenMode::Create)
            // WAL with synchronous=NORMAL: a committed transaction survives any crash of
            // Warden's processes; only an OS crash or power loss can lose the last commits
            // (docs/benchmarks.md). PostgreSQL is the choice where that matters.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let options = match mode {
            // WAL is a property of the file, set when it is created: a store that must exist
            // already has it, and a file that is not a store is not rewritten.
            OpenMode::Create => options.journal_mode(SqliteJournalMode::Wal),
            OpenMode::MustExist | OpenMode::Worker => {
                if !options.get_filename().is_file() {
                    return Err(StoreError::NoStore(redact_url(&url)));
                }
                options
            }
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        if mode != OpenMode::Create {
            let tables: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(&pool)
            .await?;
            if tables == 0 {
                return Err(StoreError::NoStore(redact_url(&url)));
            }
        }
        if mode == OpenMode::Worker {
            let store = Self {
                pool,
                writer: std::sync::Arc::default(),
            };
            check_schema(store.schema_version().await?, Self::built_schema_version())?;
            return Ok(store);
        }
        // SQLite has no advisory lock for migrations: two processes opening a new file at
        // once (a `warden status` while `warden run` starts) can both try the same migration,
        // and the loser fails on a table the winner just made. It tries again, and finds the
        // migration applied.
        let mut tries = 0;
        loop {
            match sqlx::migrate!("../../migrations/sqlite").run(&pool).await {
                Ok(()) => break,
                Err(_) if tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Self {
            pool,
            writer: std::sync::Arc::default(),
        })
    }
}

/// The scale-out control plane.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// PostgreSQL takes concurrent writers; rows are locked where it matters.
    pub(crate) async fn write_gate(&self) {}

    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin_with("BEGIN").await
    }

    pub fn built_schema_version() -> i64 {
        sqlx::migrate!("../../migrations/postgres")
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }
}

impl PgStore {
    /// Warden never creates a PostgreSQL database; [`OpenMode::Create`] makes its tables in
    /// an existing one, [`OpenMode::MustExist`] needs them there already.
    pub async fn open(url: &str, mode: OpenMode) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        // One direct connection first: a wrong host, port, database or role is reported as
        // what it is at once, not as a pool that timed out.
        let mut first = match PgConnection::connect_with(&options).await {
            Ok(c) => c,
            // 3D000: the database does not exist.
            Err(sqlx::Error::Database(e))
                if mode != OpenMode::Create && e.code().as_deref() == Some("3D000") =>
            {
                return Err(StoreError::NoStore(redact_url(url)));
            }
            Err(e) => return Err(e.into()),
        };
        if mode != OpenMode::Create {
            // In the connection's search path, where the migrations made the tables.
            let found: bool =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(&mut first)
                    .await?;
            if !found {
                return Err(StoreError::NoStore(redact_url(url)));
            }
        }
        first.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        if mode == OpenMode::Worker {
            let store = Self { pool };
            check_schema(store.schema_version().await?, Self::built_schema_version())?;
            return Ok(store);
        }
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }
}

/// A worker's store must be at its build's schema exactly.
fn check_schema(store: i64, built: i64) -> Result<(), StoreError> {
    if store == built {
        Ok(())
    } else {
        Err(StoreError::Schema { store, built })
    }
}
