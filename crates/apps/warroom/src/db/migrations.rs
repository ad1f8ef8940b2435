//! War Room's migrations, run after the platform's (`crate::Migrator`). Named `m01xx_warroom_*`
//! so they never collide with the platform's `m00xx_platform_*`.

use sea_orm_migration::{
    prelude::*,
    schema::{
        big_integer, boolean, double, integer, json_binary, json_binary_null, string, string_len,
        string_null, text, text_null, timestamp_with_time_zone, timestamp_with_time_zone_null,
        uuid, uuid_null,
    },
};

/// War Room's migrations, in order.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(M0100Campaigns),
        Box::new(M0110Monitoring),
        Box::new(M0111MonitoringOneActive),
        Box::new(M0112MentionArrivals),
        Box::new(M0120Alerts),
        Box::new(M0130ListIndexes),
    ]
}

fn a(s: &'static str) -> Alias {
    Alias::new(s)
}

fn cascade(table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(a(table), a(col))
        .to(a(to), a("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("idx_{table}_{}", cols.join("_")))
        .table(a(table));
    for c in cols {
        idx.col(a(c));
    }
    idx.take()
}

/// Seed 001 `campaigns` and `campaign_keywords`, plus `campaign_audit` (Basalt's: who changed
/// what, written in the same transaction as the change).
///
/// Differences from the seed's SQL, for one schema on SQLite and PostgreSQL: the budget is
/// integer cents (`budget_cents`) instead of `DECIMAL(12,2)`, a keyword's weight a double
/// rounded to two places instead of `DECIMAL(3,2)`, and keywords keep their order
/// (`position`). `created_by` and `actor_id` have no foreign key: the trail outlives the
/// accounts it names.
struct M0100Campaigns;

impl MigrationName for M0100Campaigns {
    fn name(&self) -> &str {
        "m0100_warroom_campaigns"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0100Campaigns {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("campaigns"))
                .col(uuid(a("id")).primary_key())
                .col(string(a("name")))
                .col(text(a("description")))
                .col(string(a("status")))
                .col(timestamp_with_time_zone(a("start_date")))
                .col(timestamp_with_time_zone(a("end_date")))
                .col(big_integer(a("budget_cents")))
                .col(json_binary(a("target_audience")))
                .col(json_binary(a("metrics")))
                .col(uuid(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .take(),
        )
        .await?;
        m.create_index(index("campaigns", &["created_at"])).await?;
        m.create_index(index("campaigns", &["status", "created_at"]))
            .await?;
        m.create_table(
            Table::create()
                .table(a("campaign_keywords"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("campaign_id")))
                .col(string_len(a("keyword"), 255))
                .col(double(a("weight")))
                .col(integer(a("position")))
                .foreign_key(&mut cascade(
                    "campaign_keywords",
                    "campaign_id",
                    "campaigns",
                ))
                .take(),
        )
        .await?;
        m.create_index(index("campaign_keywords", &["campaign_id"]))
            .await?;
        m.create_table(
            Table::create()
                .table(a("campaign_audit"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("campaign_id")))
                .col(uuid_null(a("actor_id")))
                .col(string(a("action")))
                .col(string_null(a("from_status")))
                .col(string_null(a("to_status")))
                .col(json_binary_null(a("details")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut cascade("campaign_audit", "campaign_id", "campaigns"))
                .take(),
        )
        .await?;
        m.create_index(index("campaign_audit", &["campaign_id", "created_at"]))
            .await
    }
}

/// Seed 001 `MonitoringConfig` as `monitoring_configs` (the seed gives no table), and seed
/// 001 `mentions` with its provenance: `source_id` unique per campaign (mentions are
/// deduplicated on it), `config_id`, `matched`, `sentiment_source`, `ingested_at`.
/// `(campaign_id, timestamp)` serves every windowed read and the crisis detector.
struct M0110Monitoring;

impl MigrationName for M0110Monitoring {
    fn name(&self) -> &str {
        "m0110_warroom_monitoring"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0110Monitoring {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("monitoring_configs"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("campaign_id")))
                .col(json_binary(a("keywords")))
                .col(json_binary(a("competitors")))
                .col(json_binary(a("influencers")))
                .col(json_binary(a("platforms")))
                .col(json_binary(a("alert_thresholds")))
                .col(integer(a("refresh_interval")))
                .col(string(a("status")))
                .col(uuid_null(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .col(timestamp_with_time_zone_null(a("stopped_at")))
                .col(timestamp_with_time_zone_null(a("polled_until")))
                .col(timestamp_with_time_zone(a("next_poll_at")))
                .col(timestamp_with_time_zone_null(a("last_polled_at")))
                .col(text_null(a("last_error")))
                .col(big_integer(a("mentions_ingested")))
                .foreign_key(&mut cascade(
                    "monitoring_configs",
                    "campaign_id",
                    "campaigns",
                ))
                .take(),
        )
        .await?;
        m.create_index(index("monitoring_configs", &["campaign_id"]))
            .await?;
        m.create_index(index("monitoring_configs", &["status", "next_poll_at"]))
            .await?;
        m.create_table(
            Table::create()
                .table(a("mentions"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("campaign_id")))
                .col(uuid_null(a("config_id")))
                .col(string(a("source_id")))
                .col(text(a("text")))
                .col(string(a("author")))
                .col(string(a("platform")))
                .col(text(a("url")))
                .col(double(a("sentiment")))
                .col(string(a("sentiment_source")))
                .col(big_integer(a("reach")))
                .col(big_integer(a("engagement")))
                .col(timestamp_with_time_zone(a("timestamp")))
                .col(string_null(a("location")))
                .col(string(a("language")))
                .col(string_null(a("matched")))
                .col(timestamp_with_time_zone(a("ingested_at")))
                .foreign_key(&mut cascade("mentions", "campaign_id", "campaigns"))
                .take(),
        )
        .await?;
        let mut unique = index("mentions", &["campaign_id", "source_id"]);
        m.create_index(unique.unique().take()).await?;
        m.create_index(index("mentions", &["campaign_id", "timestamp"]))
            .await?;
        m.create_index(index("mentions", &["timestamp"])).await
    }
}

/// At most one `active` monitoring config per campaign, kept by the database (a partial unique
/// index, which SQLite and PostgreSQL both have), so two concurrent creates or restarts for one
/// campaign cannot both succeed.
struct M0111MonitoringOneActive;

impl MigrationName for M0111MonitoringOneActive {
    fn name(&self) -> &str {
        "m0111_warroom_monitoring_one_active"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0111MonitoringOneActive {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(ONE_ACTIVE_CONFIG_INDEX)
                .table(a("monitoring_configs"))
                .col(a("campaign_id"))
                .unique()
                .and_where(Expr::col(a("status")).eq("active"))
                .take(),
        )
        .await
    }
}

/// The partial unique index behind "one active config per campaign".
pub const ONE_ACTIVE_CONFIG_INDEX: &str = "idx_monitoring_configs_one_active";

/// The mention feed (`/mentionlytics/feed`) reads mentions by arrival, `ingested_at`, per
/// campaign and across campaigns.
struct M0112MentionArrivals;

impl MigrationName for M0112MentionArrivals {
    fn name(&self) -> &str {
        "m0112_warroom_mention_arrivals"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0112MentionArrivals {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index("mentions", &["campaign_id", "ingested_at"]))
            .await?;
        m.create_index(index("mentions", &["ingested_at"])).await
    }
}

/// Seed 001 `alerts` with the alert center's lifecycle beside the seed's delivery `status`, and
/// Basalt's `alert_deliveries` (one row per channel and recipient: each delivery's outcome),
/// `alert_episodes` (the detector's "once per episode" state: `open_key` is
/// `<campaign>:<type>` while an episode is open and NULL after, unique, so concurrent
/// evaluations on several instances open one episode), `crisis_contacts` (per campaign, the
/// seed's `getCrisisContacts`) and `notification_preferences` (per user).
///
/// `alerts.campaign_id` may be NULL: `POST /alerting/send` names no campaign. Deleting a
/// campaign deletes its alerts, episodes and contacts; deleting a user their preferences.
struct M0120Alerts;

impl MigrationName for M0120Alerts {
    fn name(&self) -> &str {
        "m0120_warroom_alerts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0120Alerts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("alerts"))
                .col(uuid(a("id")).primary_key())
                .col(uuid_null(a("campaign_id")))
                .col(string_len(a("type"), 50))
                .col(string_len(a("severity"), 20))
                .col(string_len(a("title"), 500))
                .col(text(a("message")))
                .col(json_binary(a("data")))
                .col(json_binary(a("channels")))
                .col(string_len(a("status"), 50))
                .col(string_len(a("lifecycle"), 20))
                .col(string_len(a("source"), 20))
                .col(uuid_null(a("raised_by")))
                .col(uuid_null(a("episode_id")))
                .col(timestamp_with_time_zone_null(a("read_at")))
                .col(uuid_null(a("read_by")))
                .col(timestamp_with_time_zone_null(a("acknowledged_at")))
                .col(uuid_null(a("acknowledged_by")))
                .col(timestamp_with_time_zone_null(a("resolved_at")))
                .col(uuid_null(a("resolved_by")))
                .col(timestamp_with_time_zone_null(a("dismissed_at")))
                .col(uuid_null(a("dismissed_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .col(timestamp_with_time_zone_null(a("processed_at")))
                .foreign_key(&mut cascade("alerts", "campaign_id", "campaigns"))
                .take(),
        )
        .await?;
        m.create_index(index("alerts", &["created_at"])).await?;
        m.create_index(index("alerts", &["campaign_id", "created_at"]))
            .await?;
        m.create_index(index("alerts", &["lifecycle", "created_at"]))
            .await?;
        m.create_table(
            Table::create()
                .table(a("alert_deliveries"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("alert_id")))
                .col(string_len(a("channel"), 20))
                .col(string(a("recipient")))
                .col(string_null(a("recipient_name")))
                .col(string_len(a("status"), 20))
                .col(integer(a("attempts")))
                .col(string_null(a("vendor_message_id")))
                .col(string_null(a("vendor_status")))
                .col(text_null(a("error")))
                .col(uuid_null(a("job_id")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .col(timestamp_with_time_zone_null(a("sent_at")))
                .foreign_key(&mut cascade("alert_deliveries", "alert_id", "alerts"))
                .take(),
        )
        .await?;
        let mut unique = index("alert_deliveries", &["alert_id", "channel", "recipient"]);
        m.create_index(unique.unique().take()).await?;
        m.create_index(index("alert_deliveries", &["vendor_message_id"]))
            .await?;
        m.create_table(
            Table::create()
                .table(a("alert_episodes"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("campaign_id")))
                .col(string_len(a("type"), 50))
                .col(string_null(a("open_key")).unique_key())
                .col(uuid_null(a("alert_id")))
                .col(double(a("peak")))
                .col(timestamp_with_time_zone(a("opened_at")))
                .col(timestamp_with_time_zone(a("last_breach_at")))
                .col(timestamp_with_time_zone_null(a("closed_at")))
                .foreign_key(&mut cascade("alert_episodes", "campaign_id", "campaigns"))
                .take(),
        )
        .await?;
        m.create_index(index("alert_episodes", &["campaign_id", "opened_at"]))
            .await?;
        m.create_table(
            Table::create()
                .table(a("crisis_contacts"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("campaign_id")))
                .col(integer(a("position")))
                .col(string(a("name")))
                .col(string_null(a("phone")))
                .col(string_null(a("email")))
                .col(json_binary(a("channels")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut cascade("crisis_contacts", "campaign_id", "campaigns"))
                .take(),
        )
        .await?;
        m.create_index(index("crisis_contacts", &["campaign_id", "position"]))
            .await?;
        m.create_table(
            Table::create()
                .table(a("notification_preferences"))
                .col(uuid(a("user_id")).primary_key())
                .col(boolean(a("sms")))
                .col(boolean(a("whatsapp")))
                .col(boolean(a("email")))
                .col(boolean(a("slack")))
                .col(boolean(a("push")))
                .col(string_null(a("phone")))
                .col(string_len(a("min_severity"), 20))
                .col(json_binary_null(a("quiet_hours")))
                .col(json_binary_null(a("campaigns")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut cascade("notification_preferences", "user_id", "users"))
                .take(),
        )
        .await
    }
}

/// The lists' indexes end in `id`, each list's tiebreak, so an index holds the whole sort
/// `(created_at DESC, id DESC)` and the ids of a page: a deep `OFFSET` walks index entries
/// without touching rows, and a keyset page (`keyset::Cursor`) seeks straight to its start.
/// Each replaces the index that ended at `created_at`.
struct M0130ListIndexes;

impl MigrationName for M0130ListIndexes {
    fn name(&self) -> &str {
        "m0130_warroom_list_indexes"
    }
}

/// (table, the old index's columns); the new index adds `id`.
const LIST_INDEXES: &[(&str, &[&str])] = &[
    ("campaigns", &["created_at"]),
    ("campaigns", &["status", "created_at"]),
    ("campaign_audit", &["campaign_id", "created_at"]),
    ("alerts", &["created_at"]),
    ("alerts", &["campaign_id", "created_at"]),
    ("alerts", &["lifecycle", "created_at"]),
];

#[async_trait::async_trait]
impl MigrationTrait for M0130ListIndexes {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, cols) in LIST_INDEXES {
            let old = format!("idx_{table}_{}", cols.join("_"));
            m.drop_index(Index::drop().name(old).table(a(table)).to_owned())
                .await?;
            let with_id: Vec<&'static str> = cols.iter().copied().chain(["id"]).collect();
            m.create_index(index(table, &with_id)).await?;
        }
        Ok(())
    }
}
