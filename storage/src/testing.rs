//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL schema, per test.
//! Both are removed when the `TestDb` is dropped.
//!
//! PostgreSQL is found through `ZHUCUN_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

use crate::{Engine, Store};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// TLS adds nothing on loopback and costs a sixth of the CPU of a busy test or benchmark.
pub const DEFAULT_TEST_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";

pub fn postgres_url() -> String {
    std::env::var("ZHUCUN_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES.to_string())
}

/// The URL of a database on the test server that outlives the run (created if missing), for
/// benchmarks that keep an expensive load between runs.
pub async fn kept_postgres_database(name: &str) -> String {
    let base = postgres_url();
    let mut conn = PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base}: {e}"));
    let (exists,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .expect("list databases");
    if !exists {
        let name = name.replace('"', "");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create database");
    }
    let _ = conn.close().await;
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (base.as_str(), String::new()),
    };
    // `postgres://user@host:port/db`: everything before the database's name.
    let after_scheme = path.find("//").map_or(0, |i| i + 2);
    let server = match path[after_scheme..].rfind('/') {
        Some(i) => &path[..after_scheme + i],
        None => path,
    };
    format!("{server}/{name}{query}")
}

pub struct TestDb {
    pub store: Store,
    /// A URL that reaches the same database (for running the binary against it).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { schema: String },
}

fn unique_name(prefix: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

impl TestDb {
    /// A migrated, empty database of the given engine.
    pub async fn new(engine: Engine) -> TestDb {
        let db = match engine {
            Engine::Sqlite => TestDb::sqlite().await,
            Engine::Postgres => TestDb::postgres().await,
        };
        db.store.migrate().await.expect("migrations apply");
        db
    }

    async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique_name("zhucun_test"));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}", dir.join("zhucun.db").display());
        let store = Store::connect(&url).await.expect("open sqlite");
        TestDb {
            store,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    async fn postgres() -> TestDb {
        let base = postgres_url();
        let schema = unique_name("zt");
        let mut conn = PgConnection::connect(&base).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {base} is needed for tests (set ZHUCUN_TEST_POSTGRES): {e}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .expect("create schema");
        sweep_dead_schemas(&mut conn).await;
        let _ = conn.close().await;
        // The application name tags this test's connections, so the teardown can end them.
        let options = PgConnectOptions::from_str(&base)
            .expect("test URL")
            .application_name(&schema)
            .options([("search_path", schema.as_str())]);
        let store = Store::connect_postgres(options)
            .await
            .expect("open postgres");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        TestDb {
            store,
            url,
            cleanup: Cleanup::Postgres { schema },
        }
    }
}

/// Drops the schemas of test processes that are gone (killed before their teardown ran):
/// schema names carry the process id.
async fn sweep_dead_schemas(conn: &mut PgConnection) {
    let Ok(rows) = sqlx::query_as::<_, (String,)>(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'zt\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    for (schema,) in rows {
        let pid = schema.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await;
        }
    }
}

impl TestDb {
    /// Runs raw SQL against the test database, e.g. to break a table and see how the
    /// program copes with a failing write.
    pub async fn execute(&self, sql: &str) {
        crate::write_db!(self.store, pool => sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(pool)
            .await
            .expect("test SQL runs")
            .rows_affected());
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { schema } => {
                // Drop runs outside async context; a short-lived runtime on its own thread
                // does the cleanup without touching the test's runtime.
                let schema = schema.clone();
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut conn) = PgConnection::connect(&postgres_url()).await {
                            // A test that died inside a transaction may still hold locks:
                            // give up after a while rather than hang the whole run.
                            // The test's runtime is blocked in this drop, so its pooled
                            // connections cannot roll back what they hold: end them here,
                            // which releases their locks at once.
                            let _ = sqlx::query(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                 WHERE application_name = $1 AND pid <> pg_backend_pid()",
                            )
                            .bind(&schema)
                            .execute(&mut conn)
                            .await;
                            let _ = sqlx::query("SET lock_timeout = '5s'")
                                .execute(&mut conn)
                                .await;
                            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                                .execute(&mut conn)
                                .await;
                            let _ = conn.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Both engines, for tests that must hold on each.
pub const ENGINES: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

/// SQLite's write lock held from another connection, as a backup or another process would
/// hold it: writers of the store wait, then fail as "unavailable".
pub struct SqliteWriteLock(Option<sqlx::SqliteConnection>);

impl TestDb {
    pub async fn hold_sqlite_write_lock(&self) -> SqliteWriteLock {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&self.url)
            .await
            .expect("a second SQLite connection");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut conn)
            .await
            .expect("take the write lock");
        SqliteWriteLock(Some(conn))
    }
}

impl SqliteWriteLock {
    pub async fn release(mut self) {
        use sqlx::Connection;
        if let Some(mut conn) = self.0.take() {
            sqlx::query("ROLLBACK")
                .execute(&mut conn)
                .await
                .expect("release the write lock");
            let _ = conn.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_schema_is_dropped_even_while_the_test_holds_a_lock_in_it() {
        let db = TestDb::new(Engine::Postgres).await;
        let Cleanup::Postgres { schema } = &db.cleanup else {
            unreachable!()
        };
        let schema = schema.clone();
        let crate::Db::Postgres(pool) = &db.store.db else {
            unreachable!()
        };
        // A test that stops inside a transaction: its lock is held while the TestDb drops.
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("LOCK TABLE units IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .expect("lock");
        drop(db);
        let mut conn = PgConnection::connect(&postgres_url())
            .await
            .expect("connect");
        let (left,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
                .bind(&schema)
                .fetch_one(&mut conn)
                .await
                .expect("count");
        assert_eq!(left, 0, "schema {schema} leaked");
        drop(tx);
    }
}
