//! All SQL of zhucun lives here, for SQLite and PostgreSQL.
//!
//! Query logic is written once: the `on_db!` / `in_tx!` macros expand the same code for both
//! engines, so a query string with `$1`-style parameters runs on either. Per engine are only
//! the DDL (`migrations/sqlite`, `migrations/postgres`), the outbox claim (`FOR UPDATE
//! SKIP LOCKED` on PostgreSQL) and how a JSON parameter is read as a table (`json_table`). On SQLite, writers (`in_tx!`, `write_db!`) queue on an
//! in-process gate; a transaction body must not call back into the store's own methods.

use chrono::{DateTime, Utc};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

mod dialogues;
mod group;
mod leave;
mod logs;
mod outbox;
mod people;
mod search;
pub mod testing;
mod tutoring;
mod updates;

pub use group::GroupStats;
pub use leave::{
    Decided, LeaveFailure, LeaveRefusal, LeaveRequest, LeaveStatus, LeaveStep, NewLeave,
};
pub use logs::{EditedLog, LogEntry, LogReceipt, NewLog, PendingArchive, Recorded};
pub use outbox::{Delivery, OutboxItem};
pub use people::{BindFailure, ImportSummary, InviteError, Person, RegisterError, RegisterOutcome};
pub use search::{DOC_POLICY, DOC_QUESTION, SearchMatch};
pub use tutoring::{
    AssignReason, Assignment, NewQuestion, PassTarget, Question, QuestionFailure, QuestionRefusal,
    QuestionStatus, Reassigned, RelayPlan, RelaySource, Routed, SimilarAnswer, SlaCandidate,
    ThreadEntry, TutorChoice, TutorFigures,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The one handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// SQLite has one writer at a time; writers queue here instead of in SQLite's busy
    /// handler, which sleeps and retries (a measured third of the time under load).
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Grouping of the hot path (looking up senders, recording logs). `None` in the
    /// handle the group workers use themselves.
    groups: Option<std::sync::Arc<Groups>>,
}

/// The group-commit workers of one store.
struct Groups {
    senders: group::Group<i64, Option<Person>>,
    logs: group::Group<logs::QueuedLog, Recorded>,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached or is overloaded; the operation may succeed later.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    /// A fault of this program, not of the database.
    #[error("internal storage error: {0}")]
    Internal(&'static str),
    /// The failure of a whole group-commit batch, shared by each of its requests.
    #[error(transparent)]
    Batch(std::sync::Arc<StorageError>),
}

impl StorageError {
    /// Whether the database itself is out of reach (as opposed to one bad request).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Unavailable(_) => true,
            StorageError::Batch(e) => e.is_unavailable(),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StorageError::Unavailable(e),
            sqlx::Error::Database(ref db)
                if matches!(
                    db.code().as_deref(),
                    Some("5" | "6" | "517" | "57P01" | "57P03")
                ) =>
            {
                // SQLITE_BUSY / SQLITE_LOCKED / busy snapshot, or PostgreSQL shutting down.
                StorageError::Unavailable(e)
            }
            other => StorageError::Database(other),
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Runs the same code against whichever pool the store holds.
macro_rules! on_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs the same code inside one write transaction on either engine; commits if the body
/// returns normally, rolls back if it returns early with `?`.
/// SQLite transactions start IMMEDIATE so that two writers never deadlock on a lock upgrade.
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite(pool) => {
                let _gate = $store.write_gate.lock().await;
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
/// Implements a crate-internal trait of transaction queries for both engines' connections,
/// so that helpers can be called from inside `in_tx!` bodies (`tx.helper(..)`).
macro_rules! impl_for_connections {
    (impl $trait:ident { $($body:tt)* }) => {
        impl $trait for sqlx::SqliteConnection { $($body)* }
        impl $trait for sqlx::PgConnection { $($body)* }
    };
}
/// Like `on_db!`, for a single writing statement: on SQLite it queues behind the write gate.
macro_rules! write_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite($pool) => {
                let _gate = $store.write_gate.lock().await;
                $body
            }
            $crate::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use {impl_for_connections, in_tx, on_db, write_db};

/// A row passed to SQL in a JSON array, with the columns (name, PostgreSQL type) that
/// [`json_table`] reads it as: one statement and one bound value for a whole batch.
pub(crate) trait JsonRow: serde::Serialize {
    const COLUMNS: &'static [(&'static str, &'static str)];
}

/// Rows as the one JSON text parameter that [`json_table`] reads.
pub(crate) fn json_param<R: JsonRow>(rows: &[R]) -> String {
    serde_json::to_string(rows).expect("rows of plain fields serialize")
}

/// A `FROM` item that reads parameter `$param`, a JSON array of `R`, as a table `j`.
pub(crate) fn json_table<R: JsonRow>(engine: Engine, param: usize) -> String {
    let cols = R::COLUMNS;
    match engine {
        Engine::Sqlite => {
            let fields: Vec<String> = cols
                .iter()
                .map(|(c, _)| format!("json_extract(value, '$.{c}') AS {c}"))
                .collect();
            format!(
                "(SELECT {} FROM json_each(${param})) AS j",
                fields.join(", ")
            )
        }
        Engine::Postgres => {
            let fields: Vec<String> = cols.iter().map(|(c, t)| format!("{c} {t}")).collect();
            format!(
                "jsonb_to_recordset(${param}::jsonb) AS j({})",
                fields.join(", ")
            )
        }
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Store {
    /// Opens the database named by `url` (`sqlite://PATH` or `postgres://…`). A SQLite file is
    /// created if missing and runs in WAL mode with foreign keys on and a busy timeout.
    pub async fn connect(url: &str) -> Result<Store> {
        let url = url.trim();
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StorageError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            Store::connect_sqlite(options).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(url).map_err(|e| StorageError::BadUrl(e.to_string()))?;
            Store::connect_postgres(options).await
        } else {
            Err(StorageError::BadUrl(
                "expected sqlite://PATH or postgres://USER@HOST/DB".into(),
            ))
        }
    }

    pub(crate) async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Store> {
        // One direct connection first: the pool would hide the cause behind a timeout.
        SqliteConnection::connect_with(&options)
            .await?
            .close()
            .await?;
        // No ping before each use: a broken connection shows up as an error of the query
        // itself, and the ping doubled the round trips of every operation.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Store::assemble(Db::Sqlite(pool)))
    }

    pub(crate) async fn connect_postgres(options: PgConnectOptions) -> Result<Store> {
        PgConnection::connect_with(&options).await?.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Store::assemble(Db::Postgres(pool)))
    }

    /// The store and its group-commit workers, which share its pool and write gate.
    fn assemble(db: Db) -> Store {
        let bare = Store {
            db,
            write_gate: Default::default(),
            groups: None,
        };
        let groups = Groups {
            senders: {
                let store = bare.clone();
                group::Group::spawn(move |reqs| {
                    let store = store.clone();
                    async move { store.senders_batch(reqs).await }
                })
            },
            logs: {
                let store = bare.clone();
                group::Group::spawn(move |reqs| {
                    let store = store.clone();
                    async move { store.record_log_batch(reqs).await }
                })
            },
        };
        Store {
            groups: Some(std::sync::Arc::new(groups)),
            ..bare
        }
    }

    /// How (sender lookups, recorded logs) have grouped so far.
    pub fn group_stats(&self) -> (GroupStats, GroupStats) {
        match &self.groups {
            Some(g) => (g.senders.stats(), g.logs.stats()),
            None => Default::default(),
        }
    }

    pub fn engine(&self) -> Engine {
        match self.db {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Applies pending migrations of this engine.
    pub async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}
