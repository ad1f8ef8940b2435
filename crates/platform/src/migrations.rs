//! The platform's own tables (identity, outbox, jobs, run-time settings, the realtime event log), as migrations every product's migrator runs
//! before its own. Written with the schema builder so one definition runs on SQLite and PostgreSQL.

use sea_orm_migration::{
    prelude::*,
    schema::{
        big_integer_null, boolean, json_binary, json_binary_null, string, string_null, text,
        text_null, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid, uuid_null,
    },
};

/// Platform migrations, in order. Products append theirs after these.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(M0001Identity),
        Box::new(M0002Keys),
        Box::new(M0003Jobs),
        Box::new(M0004Settings),
        Box::new(M0005RefreshSuccessor),
        Box::new(M0006RealtimeLog),
    ]
}

struct M0001Identity;

impl MigrationName for M0001Identity {
    fn name(&self) -> &str {
        "m0001_platform_identity"
    }
}

fn pk(col: &'static str) -> ColumnDef {
    uuid(Alias::new(col)).primary_key().take()
}

fn fk(from_table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(Alias::new(from_table), Alias::new(col))
        .to(Alias::new(to), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("idx_{table}_{}", cols.join("_")))
        .table(Alias::new(table));
    for c in cols {
        idx.col(Alias::new(*c));
    }
    if unique {
        idx.unique();
    }
    idx.take()
}

fn a(s: &'static str) -> Alias {
    Alias::new(s)
}

#[async_trait::async_trait]
impl MigrationTrait for M0001Identity {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("users"))
                .col(pk("id"))
                .col(string(a("email")).unique_key())
                .col(string_null(a("password_hash")))
                .col(string(a("name")))
                .col(string(a("role")))
                .col(boolean(a("email_verified")))
                .col(boolean(a("totp_enabled")))
                .col(string_null(a("totp_secret")))
                .col(string_null(a("totp_pending_secret")))
                .col(big_integer_null(a("totp_last_step")))
                .col(json_binary(a("profile")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .col(timestamp_with_time_zone_null(a("last_login_at")))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("sessions"))
                .col(pk("id"))
                .col(uuid(a("user_id")))
                .col(string_null(a("user_agent")))
                .col(string_null(a("ip")))
                .col(uuid_null(a("impersonator_id")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("last_used_at")))
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("revoked_at")))
                .col(string_null(a("revoke_reason")))
                .foreign_key(&mut fk("sessions", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("sessions", &["user_id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(a("refresh_tokens"))
                .col(pk("id"))
                .col(uuid(a("session_id")))
                .col(string(a("token_hash")).unique_key())
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("rotated_at")))
                .foreign_key(&mut fk("refresh_tokens", "session_id", "sessions"))
                .take(),
        )
        .await?;
        m.create_index(index("refresh_tokens", &["session_id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(a("one_time_tokens"))
                .col(pk("id"))
                .col(uuid_null(a("user_id")))
                .col(string(a("purpose")))
                .col(string(a("token_hash")).unique_key())
                .col(json_binary_null(a("data")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("used_at")))
                .foreign_key(&mut fk("one_time_tokens", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("recovery_codes"))
                .col(pk("id"))
                .col(uuid(a("user_id")))
                .col(string(a("code_hash")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone_null(a("used_at")))
                .foreign_key(&mut fk("recovery_codes", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("recovery_codes", &["user_id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(a("security_events"))
                .col(pk("id"))
                .col(uuid_null(a("user_id")))
                .col(uuid_null(a("actor_id")))
                .col(string(a("event_type")))
                .col(string_null(a("ip")))
                .col(string_null(a("user_agent")))
                .col(json_binary_null(a("details")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("security_events", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("security_events", &["user_id", "created_at"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(a("oauth_identities"))
                .col(pk("id"))
                .col(uuid(a("user_id")))
                .col(string(a("provider")))
                .col(string(a("subject")))
                .col(string_null(a("email")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("oauth_identities", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("oauth_identities", &["provider", "subject"], true))
            .await?;
        m.create_table(
            Table::create()
                .table(a("outbox"))
                .col(pk("id"))
                .col(string(a("channel")))
                .col(string(a("recipient")))
                .col(string_null(a("subject")))
                .col(text(a("body")))
                .col(json_binary_null(a("metadata")))
                .col(timestamp_with_time_zone(a("created_at")))
                .take(),
        )
        .await?;
        m.create_index(index("outbox", &["created_at"], false))
            .await
    }
}

/// Keys the platform generates for itself (`crate::keys`).
struct M0002Keys;

impl MigrationName for M0002Keys {
    fn name(&self) -> &str {
        "m0002_platform_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0002Keys {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("platform_keys"))
                .col(string(a("name")).primary_key())
                .col(text(a("value")))
                .col(timestamp_with_time_zone(a("created_at")))
                .take(),
        )
        .await
    }
}

/// The durable job queue (`crate::jobs`) and its per-attempt log.
struct M0003Jobs;

impl MigrationName for M0003Jobs {
    fn name(&self) -> &str {
        "m0003_platform_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003Jobs {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm_migration::schema::{integer, text_null};
        m.create_table(
            Table::create()
                .table(a("jobs"))
                .col(pk("id"))
                .col(string(a("queue")))
                .col(string(a("kind")))
                .col(json_binary(a("payload")))
                .col(string(a("status")))
                .col(integer(a("attempts")))
                .col(integer(a("max_attempts")))
                .col(timestamp_with_time_zone(a("run_at")))
                .col(timestamp_with_time_zone_null(a("locked_until")))
                .col(string_null(a("locked_by")))
                .col(text_null(a("last_error")))
                .col(string_null(a("idempotency_key")).unique_key())
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .col(timestamp_with_time_zone_null(a("finished_at")))
                .take(),
        )
        .await?;
        // Claiming scans `status = 'pending' AND run_at <= now` (and expired `running` leases).
        m.create_index(index("jobs", &["status", "run_at"], false))
            .await?;
        m.create_index(index("jobs", &["created_at"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(a("job_attempts"))
                .col(pk("id"))
                .col(uuid(a("job_id")))
                .col(integer(a("attempt")))
                .col(string(a("worker")))
                .col(timestamp_with_time_zone(a("started_at")))
                .col(timestamp_with_time_zone_null(a("finished_at")))
                .col(string_null(a("outcome")))
                .col(text_null(a("error")))
                .foreign_key(&mut fk("job_attempts", "job_id", "jobs"))
                .take(),
        )
        .await?;
        m.create_index(index("job_attempts", &["job_id", "started_at"], false))
            .await
    }
}

/// `platform_settings`: what an operator changes at run time (the data mode), so that it
/// survives restarts and every instance reads the same value.
struct M0004Settings;

impl MigrationName for M0004Settings {
    fn name(&self) -> &str {
        "m0004_platform_settings"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0004Settings {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("platform_settings"))
                .col(string(a("key")).primary_key())
                .col(string(a("value")))
                .col(uuid_null(a("updated_by")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .take(),
        )
        .await
    }
}

/// A rotated refresh token keeps its successor, sealed with a key only the rotated token's
/// holder can derive, for the reuse grace (`identity::sessions`).
struct M0005RefreshSuccessor;

impl MigrationName for M0005RefreshSuccessor {
    fn name(&self) -> &str {
        "m0005_platform_refresh_successor"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0005RefreshSuccessor {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(a("refresh_tokens"))
                .add_column(text_null(a("successor")))
                .take(),
        )
        .await
    }
}

/// The realtime event log (`realtime::EventLog`): each topic's last sequence id, and the
/// events, written with the data they announce and marked once published.
struct M0006RealtimeLog;

impl MigrationName for M0006RealtimeLog {
    fn name(&self) -> &str {
        "m0006_platform_realtime_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0006RealtimeLog {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm_migration::schema::big_integer;
        m.create_table(
            Table::create()
                .table(a("realtime_topics"))
                .col(string(a("topic")).primary_key())
                .col(big_integer(a("seq")))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("realtime_events"))
                .col(string(a("topic")))
                .col(big_integer(a("seq")))
                .col(string(a("kind")))
                .col(json_binary(a("data")))
                .col(timestamp_with_time_zone(a("at")))
                .col(timestamp_with_time_zone_null(a("published_at")))
                .primary_key(Index::create().col(a("topic")).col(a("seq")))
                .take(),
        )
        .await?;
        // A topic's unpublished events, lowest first (publishing); the relay's and the
        // pruning's scans by `published_at`.
        m.create_index(index(
            "realtime_events",
            &["topic", "published_at", "seq"],
            false,
        ))
        .await?;
        m.create_index(index("realtime_events", &["published_at", "at"], false))
            .await
    }
}
