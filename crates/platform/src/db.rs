//! Database connections: the pools over SQLite or PostgreSQL, chosen by URL, with SQLite's
//! pragmas (WAL, synchronous, foreign keys, busy timeout, mmap, cache) and the pool sizes set
//! here and nowhere else.
//!
//! SQLite allows one writer at a time. Writers on several pooled connections do not queue:
//! the loser of the write lock sleeps in SQLite's busy handler (1, 2, 5, 10 ms ...) and retries,
//! so under load most of a write's time is spent asleep. [`Pools::write`] is therefore one
//! connection on SQLite: hot writes and write transactions take it and wait their turn in the
//! pool's queue, while reads run in parallel on [`Pools::read`] (WAL lets them read beside the
//! writer). On PostgreSQL both are the same pool.

use std::{path::Path, time::Duration};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// The SQLite URL for a product's database file inside the data directory.
pub fn sqlite_url(data_dir: &Path, product: &str) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join(format!("{product}.db")).display()
    )
}

/// A product's database as two pools: `read` for queries (and the writes no hot path makes),
/// `write` for hot writes and write transactions. On SQLite `write` is a single connection
/// (see the module doc); on PostgreSQL it is `read` itself.
#[derive(Clone, Debug)]
pub struct Pools {
    pub read: DatabaseConnection,
    pub write: DatabaseConnection,
}

/// Opens the pools for `url` (`sqlite://…` or `postgres://…`).
pub async fn open(url: &str) -> Result<Pools, DbErr> {
    let read = connect(url).await?;
    let write = if is_sqlite(url) {
        Database::connect(options(url, 1)).await?
    } else {
        read.clone()
    };
    Ok(Pools { read, write })
}

/// Opens one pool for `url` (`sqlite://…` or `postgres://…`), sized to the machine: SQLite
/// readers `max(4, 2 × cores)` (reads are CPU work in the process; a few more than the cores
/// cover page faults), PostgreSQL `2 × cores + 1`, at least 4 (the usual formula: a server
/// connection waits on I/O about as long as it computes, plus one for the spindle).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as u32;
    let size = if is_sqlite(url) {
        (2 * cores).max(4)
    } else {
        (2 * cores + 1).max(4)
    };
    Database::connect(options(url, size)).await
}

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// The pool options for `url` with at most `size` connections.
///
/// A pooled connection is not pinged before each use (sqlx's default, one extra round trip per
/// query), only after it sat idle for a while, when PostgreSQL or a proxy may have closed it.
/// Statements are prepared and cached per connection by sqlx (sea-orm runs every query as a
/// persistent prepared statement); the cache holds more than sqlx's default 100 because
/// `IN (…)` lists of different lengths are different statements.
fn options(url: &str, size: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .max_connections(size)
        .min_connections(1);
    if is_sqlite(url) {
        // WAL: readers proceed beside the writer. `synchronous=NORMAL` in WAL mode syncs at
        // checkpoints, not at every commit (a power cut may lose the last commits, never
        // corrupt). The busy timeout makes a writer outside `Pools::write` (another process,
        // a cold path) wait instead of failing with SQLITE_BUSY. Reads go through the memory
        // map instead of being copied into each connection's page cache.
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("mmap_size", "268435456")
                .pragma("cache_size", "-8192")
                .pragma("temp_store", "memory")
                .statement_cache_capacity(STATEMENT_CACHE)
                .optimize_on_close(true, 400)
        });
    } else {
        opts.map_sqlx_postgres_opts(|o| o.statement_cache_capacity(STATEMENT_CACHE));
    }
    opts
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 400;

/// `SELECT 1`, for health checks.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT 1",
    ))
    .await
    .map(|_| ())
}

/// True when the error is a unique-constraint violation (both backends).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// `PING` to Redis, for readiness checks (a fresh connection: these checks are rare).
pub async fn redis_ping(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .is_ok()
}
