//! All SQL of zhucun lives here, for SQLite and PostgreSQL.
//!
//! Query logic is written once: the `read_db!` / `write_db!` / `in_tx!` macros expand the same
//! code for both engines, so a query string with `$1`-style parameters runs on either. Per
//! engine are only the DDL (`migrations/sqlite`, `migrations/postgres`), the outbox claim
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and how a JSON parameter is read as a table
//! (`json_table`).
//!
//! Reads and writes use different pools: the read pool's connections are read-only
//! (SQLite `mode=ro`, PostgreSQL `default_transaction_read_only`), so a write that slips
//! past the write gate fails at once instead of racing the other writers. On SQLite,
//! writers (`in_tx!`, `write_db!`) queue on an in-process gate; a transaction body works on
//! its connection only (helpers of `*Tx` traits), never calls back into the store.

use chrono::{DateTime, Utc};
use domain::policy::PolicyRefusal;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

mod calendar;
mod dialogues;
mod group;
mod jobs;
mod leave;
mod logs;
mod outbox;
mod people;
mod policy;
pub mod relevance;
mod search;
mod sharing;
mod supervision;
pub mod testing;
mod tutoring;
mod updates;
mod uploads;
mod work_updates;

pub use calendar::ImportedYear;
pub use group::GroupStats;
pub use jobs::TickEnd;
pub use leave::{Decided, LeaveRefusal, LeaveRequest, LeaveStatus, LeaveStep, StepStatus};
pub use logs::{
    Attachment, DayLog, EditedLog, LogEntry, LogReceipt, NewLog, PendingArchive, Recorded,
};
pub use outbox::{Delivery, OutboxItem};
pub use people::{ImportSummary, InviteError, Person, RegisterError, RegisterOutcome};
pub use policy::{
    Imported, NewPolicy, Policy, PolicyFailure, PolicyFile, PolicyHit, SNIPPET_CHARS, Similar,
};
pub use search::{DOC_PASSAGE, DOC_POLICY, DOC_QUESTION, Scope, SearchMatch};
pub use sharing::{
    CadreShares, DigestNews, NewComment, ReceiptSent, ShareCounts, ShareFailure, SharedPost,
};
pub use supervision::Reminded;
pub use tutoring::{
    AssignReason, Assignment, MessageKind, NewQuestion, PassTarget, Question, QuestionRefusal,
    QuestionStatus, Reassigned, RelayPlan, RelaySource, Relayed, Routed, SimilarAnswer,
    SlaCandidate, ThreadEntry, TutorChoice, TutorFigures,
};
pub use updates::UpdateClaim;
pub use uploads::{Confirmed, UploadFile};
pub use work_updates::{
    FeedEntry, NewUpdate, ReporterUnit, UnitWeek, UpdateFailure, UpdatePhoto, UpdatePost,
    UpdateRecorded,
};

/// A registration that failed for a reason the person is told, or for the database.
pub type BindFailure = Failure<RegisterError>;
pub type LeaveFailure = Failure<LeaveRefusal>;
pub type QuestionFailure = Failure<QuestionRefusal>;

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
    /// Writes: `in_tx!` and `write_db!`.
    db: Db,
    /// Reads: `read_db!`. Read-only connections to the same database.
    read: Db,
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
    /// Receipts remembered and updates marked answered: one write per batch.
    marks: group::Group<updates::Mark, ()>,
    claims: group::Group<i64, Option<updates::UpdateClaim>>,
    /// Outcomes of deliveries (the sender's record of each send).
    finished: group::Group<outbox::Finished, ()>,
}

impl Groups {
    fn settled(&self) -> bool {
        self.senders.settled()
            && self.logs.settled()
            && self.marks.settled()
            && self.claims.settled()
            && self.finished.settled()
    }
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

/// When (ms on the process's monotonic clock) the database was last seen out of reach.
/// A pooled connection that sat idle across that moment may be dead; it is checked before
/// use, so that the first requests after the database returns do not fail on the corpses.
static LAST_UNAVAILABLE_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn monotonic_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    // +1: 0 means "never".
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
        + 1
}

fn saw_unavailable() {
    LAST_UNAVAILABLE_MS.store(monotonic_ms(), std::sync::atomic::Ordering::Relaxed);
}

/// Whether a connection idle for `idle_for` was idle when the database was last away.
fn idle_across_outage(idle_for: Duration) -> bool {
    let last = LAST_UNAVAILABLE_MS.load(std::sync::atomic::Ordering::Relaxed);
    last != 0 && last + idle_for.as_millis() as u64 >= monotonic_ms()
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        let e = StorageError::classify(e);
        if matches!(e, StorageError::Unavailable(_)) {
            saw_unavailable();
        }
        e
    }
}

impl StorageError {
    fn classify(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StorageError::Unavailable(e),
            sqlx::Error::Database(ref db)
                if matches!(
                    db.code().as_deref(),
                    Some("5" | "6" | "517" | "57P01" | "57P02" | "57P03")
                ) || db.code().is_some_and(|c| c.starts_with("08")) =>
            {
                // SQLITE_BUSY / SQLITE_LOCKED / busy snapshot, PostgreSQL shutting down or
                // restarting, or a connection exception (class 08).
                StorageError::Unavailable(e)
            }
            other => StorageError::Database(other),
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An operation that either was refused by a rule (`R`, for the person) or could not be
/// carried out (`Storage`, for the log). The one error type of every decision.
#[derive(Debug, thiserror::Error)]
pub enum Failure<R> {
    #[error("refused: {0:?}")]
    Refused(R),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl<R> Failure<R> {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Failure::Storage(e) if e.is_unavailable())
    }
}

/// The error type inside a deciding transaction's body: it takes `?` on sqlx and storage
/// errors, which stays inside this crate (the public `Failure` converts only from
/// `StorageError`).
pub(crate) enum TxError<R> {
    Refused(R),
    Storage(StorageError),
}

impl<R> From<sqlx::Error> for TxError<R> {
    fn from(e: sqlx::Error) -> Self {
        TxError::Storage(e.into())
    }
}

impl<R> From<StorageError> for TxError<R> {
    fn from(e: StorageError) -> Self {
        TxError::Storage(e)
    }
}

impl<R> TxError<R> {
    pub(crate) fn into_failure(self) -> Failure<R> {
        match self {
            TxError::Refused(r) => Failure::Refused(r),
            TxError::Storage(e) => Failure::Storage(e),
        }
    }
}

/// `?` on a refusal inside a deciding transaction, and on one outside it.
macro_rules! refusals {
    ($($r:ty),* $(,)?) => {$(
        impl From<$r> for TxError<$r> {
            fn from(r: $r) -> Self {
                TxError::Refused(r)
            }
        }
        impl From<$r> for Failure<$r> {
            fn from(r: $r) -> Self {
                Failure::Refused(r)
            }
        }
    )*};
}
refusals!(
    RegisterError,
    LeaveRefusal,
    QuestionRefusal,
    domain::updates::UpdateRefusal,
    domain::sharing::ShareRefusal,
    PolicyRefusal
);

/// Runs the same read against whichever read pool the store holds.
macro_rules! read_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.read {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs the body inside one write transaction on either engine. The body is a block whose
/// value is a `Result`; the transaction commits if and only if it is `Ok`, however the body
/// ends (`return Ok(..)` commits, `?` and `return Err(..)` roll back). The error type is
/// `StorageError`; a deciding transaction names its refusal type,
/// `in_tx!(self, tx, refuse R => { .. })`: its body's error is `TxError<R>` (so `?` works on
/// refusals and database errors alike) and the whole is a `Result<_, Failure<R>>`.
/// SQLite transactions start IMMEDIATE so that two writers never deadlock on a lock upgrade.
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        $crate::in_tx!($store, $tx, $crate::StorageError => $body)
    };
    ($store:expr, $tx:ident, refuse $r:ty => $body:expr) => {
        $crate::in_tx!($store, $tx, $crate::TxError<$r> => $body).map_err($crate::TxError::into_failure)
    };
    ($store:expr, $tx:ident, $err:ty => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite(pool) => {
                let _gate = $store.write_gate.lock().await;
                $crate::tx_body!(pool.begin_with("BEGIN IMMEDIATE"), $tx, $err => $body)
            }
            $crate::Db::Postgres(pool) => $crate::tx_body!(pool.begin(), $tx, $err => $body),
        }
    };
}

/// The part of `in_tx!` that is the same on both engines: begin, run the body, commit on
/// `Ok` (dropping the transaction on `Err` rolls it back).
macro_rules! tx_body {
    ($begin:expr, $tx:ident, $err:ty => $body:expr) => {
        async {
            let mut $tx = $begin.await.map_err($crate::StorageError::from)?;
            let out: ::std::result::Result<_, $err> = async { $body }.await;
            match out {
                Ok(v) => {
                    $tx.commit().await.map_err($crate::StorageError::from)?;
                    Ok(v)
                }
                Err(e) => Err(e),
            }
        }
        .await
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
/// Like `read_db!`, for a single writing statement: on SQLite it queues behind the write gate.
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
pub(crate) use {impl_for_connections, in_tx, read_db, tx_body, write_db};

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
    json_table_as::<R>(engine, param, "j")
}

/// [`json_table`] under another name, for a statement that reads two such parameters.
pub(crate) fn json_table_as<R: JsonRow>(engine: Engine, param: usize, name: &str) -> String {
    let cols = R::COLUMNS;
    match engine {
        Engine::Sqlite => {
            let fields: Vec<String> = cols
                .iter()
                .map(|(c, _)| format!("json_extract(value, '$.{c}') AS {c}"))
                .collect();
            format!(
                "(SELECT {} FROM json_each(${param})) AS {name}",
                fields.join(", ")
            )
        }
        Engine::Postgres => {
            let fields: Vec<String> = cols.iter().map(|(c, t)| format!("{c} {t}")).collect();
            format!(
                "jsonb_to_recordset(${param}::jsonb) AS {name}({})",
                fields.join(", ")
            )
        }
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// How long a batch of receipts and answered marks gathers before it is written: off the
/// hot path, so a busy bot writes them in a few large statements and commits.
const MARKS_LINGER: Duration = Duration::from_millis(25);
/// How long closing the store waits for its groups' last writes.
const CLOSE_SETTLE: Duration = Duration::from_secs(2);

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
                // Short: a writer outside this process (a backup, `zhucun import`) holding the
                // lock makes the intake keep the update and tell the person it waits.
                .busy_timeout(Duration::from_millis(1500));
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
        // Writers queue on the gate, so a few connections are plenty.
        let write = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Store::assemble(Db::Sqlite(write), Db::Sqlite(read)))
    }

    pub(crate) async fn connect_postgres(options: PgConnectOptions) -> Result<Store> {
        PgConnection::connect_with(&options).await?.close().await?;
        let pool = |options: PgConnectOptions| {
            PgPoolOptions::new()
                .max_connections(16)
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if idle_across_outage(meta.idle_for) {
                            return Ok(conn.ping().await.is_ok());
                        }
                        Ok(true)
                    })
                })
                // A database that went away must show within seconds: the intake then
                // tells the person his message waits, and tries again.
                .acquire_timeout(Duration::from_secs(4))
                .connect_lazy_with(options)
        };
        let write = pool(options.clone());
        let read = pool(options.options([("default_transaction_read_only", "on")]));
        Ok(Store::assemble(Db::Postgres(write), Db::Postgres(read)))
    }

    /// The store and its group-commit workers, which share its pool and write gate.
    fn assemble(db: Db, read: Db) -> Store {
        let bare = Store {
            db,
            read,
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
            // Nobody waits on these (a `/share` right behind a receipt retries for 2 s).
            marks: {
                let store = bare.clone();
                group::Group::spawn_lingering(MARKS_LINGER, move |reqs| {
                    let store = store.clone();
                    async move { store.marks_batch(reqs).await }
                })
            },
            claims: {
                let store = bare.clone();
                group::Group::spawn(move |reqs: Vec<i64>| {
                    let store = store.clone();
                    async move {
                        match store.update_claims(&reqs).await {
                            Ok(found) => reqs.iter().map(|id| Ok(found.get(id).copied())).collect(),
                            Err(e) => group::fail_all(e, reqs.len()),
                        }
                    }
                })
            },
            finished: {
                let store = bare.clone();
                group::Group::spawn(move |reqs| {
                    let store = store.clone();
                    async move { store.finished_batch(reqs).await }
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

    /// Every group's figures so far, by name (for benchmarks: where the time goes).
    pub fn all_group_stats(&self) -> Vec<(&'static str, GroupStats)> {
        match &self.groups {
            Some(g) => vec![
                ("sender lookups", g.senders.stats()),
                ("logs", g.logs.stats()),
                ("receipts and answered marks", g.marks.stats()),
                ("claim reads", g.claims.stats()),
                ("send outcomes", g.finished.stats()),
            ],
            None => Vec::new(),
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

    /// Whether the database answers (for `GET /healthz`).
    pub async fn ping(&self) -> Result<()> {
        read_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn close(&self) {
        // Writes nobody waits on (receipts, answered marks) linger in their group for a
        // moment: let them land first, within a bound (SIGTERM must end within 10 s).
        if let Some(g) = &self.groups {
            let deadline = tokio::time::Instant::now() + CLOSE_SETTLE;
            while !g.settled() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        write_db!(self, pool => pool.close().await);
        read_db!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tx_tests {
    //! The two promises of the transaction macros, on both engines: a body commits exactly
    //! when it returns `Ok` (however it returns), and the read path cannot write.
    use super::*;
    use crate::testing::{ENGINES, TestDb};

    async fn count(store: &Store) -> i64 {
        let sql = "SELECT COUNT(*) FROM units WHERE path LIKE 'tx/%'";
        let (n,): (i64,) = read_db!(store, pool => sqlx::query_as(sql).fetch_one(pool).await)
            .expect("count units");
        n
    }

    /// Inserts a unit, then ends the body the way `how` says.
    async fn insert_then(
        store: &Store,
        name: &str,
        how: &str,
    ) -> Result<&'static str, Failure<LeaveRefusal>> {
        in_tx!(store, tx, refuse LeaveRefusal => {
            sqlx::query("INSERT INTO units (path, name, level) VALUES ($1, $1, 1)")
                .bind(format!("tx/{name}"))
                .execute(&mut *tx)
                .await?;
            match how {
                "early ok" => return Ok("early"),
                "early refusal" => return Err(LeaveRefusal::NotFound.into()),
                "refusal by ?" => Err(LeaveRefusal::NotPending)?,
                "database error by ?" => {
                    sqlx::query("SELECT no_such_column FROM units").execute(&mut *tx).await?;
                }
                _ => {}
            }
            Ok("end")
        })
    }

    #[tokio::test]
    async fn a_transaction_commits_exactly_when_its_body_returns_ok() {
        for engine in ENGINES {
            let db = TestDb::new(engine).await;
            let store = &db.store;
            assert_eq!(insert_then(store, "a", "end").await.ok(), Some("end"));
            assert_eq!(
                count(store).await,
                1,
                "{engine:?}: a body ending in Ok commits"
            );
            assert_eq!(
                insert_then(store, "b", "early ok").await.ok(),
                Some("early")
            );
            assert_eq!(
                count(store).await,
                2,
                "{engine:?}: an early return Ok commits"
            );
            for how in ["early refusal", "refusal by ?"] {
                assert!(matches!(
                    insert_then(store, how, how).await,
                    Err(Failure::Refused(_))
                ));
                assert_eq!(count(store).await, 2, "{engine:?}: {how} rolls back");
            }
            let how = "database error by ?";
            assert!(matches!(
                insert_then(store, how, how).await,
                Err(Failure::Storage(_))
            ));
            assert_eq!(count(store).await, 2, "{engine:?}: {how} rolls back");
        }
    }

    #[tokio::test]
    async fn a_write_through_the_read_path_fails() {
        for engine in ENGINES {
            let db = TestDb::new(engine).await;
            let store = &db.store;
            let sql = "INSERT INTO units (path, name, level) VALUES ('tx/r', 'r', 1)";
            let wrote = read_db!(store, pool => sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected()));
            assert!(wrote.is_err(), "{engine:?}: the read pool wrote");
            assert_eq!(count(store).await, 0);
            let wrote = write_db!(store, pool => sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected()));
            assert!(
                wrote.is_ok(),
                "{engine:?}: the write pool could not write: {wrote:?}"
            );
            assert_eq!(count(store).await, 1);
        }
    }
}
