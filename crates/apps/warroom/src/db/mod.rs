//! War Room's own tables (after the platform's identity tables): one module per resource with
//! its entities, every query on them, and how a stored row reads as its domain type.

pub mod alerts;
pub mod analytics;
pub mod campaigns;
pub mod deliveries;
pub mod migrations;
pub mod monitoring;
pub mod notifications;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// A write transaction: `IMMEDIATE` on SQLite (the write lock at `BEGIN`, so a
/// read-check-write cannot interleave with another); PostgreSQL locks the rows it reads
/// `FOR UPDATE`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let opts = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(opts).await
}

/// A stored value this code did not write: an internal error naming the row and column.
pub(crate) fn unreadable(what: &str, id: uuid::Uuid, column: &str) -> platform::ApiError {
    platform::ApiError::internal(format!("{what} {id}: stored {column} unreadable"))
}

/// The time now, to the microsecond: what PostgreSQL keeps, so a value written and read back
/// is the value an answer showed.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6)
}
