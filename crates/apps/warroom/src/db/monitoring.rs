//! Seed 001 `MonitoringConfig` (`monitoring_configs`) and `mentions`: the entities. Queries on
//! them live beside their users: `db::monitoring` (configs, ingestion) and `db::analytics`
//! (the read endpoints' aggregates).

pub mod config {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "monitoring_configs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        /// JSON arrays of strings: the seed's `keywords`, `competitors`, `influencers`,
        /// `platforms`.
        pub keywords: Json,
        pub competitors: Json,
        pub influencers: Json,
        pub platforms: Json,
        /// Seed 001 `AlertThresholds`, as its camelCase JSON.
        pub alert_thresholds: Json,
        /// Seconds between polls (the seed's `refreshInterval`).
        pub refresh_interval: i32,
        /// `active` or `stopped`.
        pub status: String,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub stopped_at: Option<DateTimeUtc>,
        /// Mentions up to this instant have been fetched; the next poll asks for later ones.
        pub polled_until: Option<DateTimeUtc>,
        /// When the next poll is due.
        pub next_poll_at: DateTimeUtc,
        pub last_polled_at: Option<DateTimeUtc>,
        /// Why the last poll failed, if it did (shown in `/monitoring/status`).
        pub last_error: Option<String>,
        pub mentions_ingested: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod mention {
    use sea_orm::entity::prelude::*;

    /// Seed 001 `mentions`, plus where it came from: `source_id` (unique per campaign: the
    /// deduplication key), `config_id`, `matched` (the keyword or competitor it matched) and
    /// `sentiment_source` (`source` when the vendor scored it, `vader` when we did).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "mentions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub campaign_id: Uuid,
        pub config_id: Option<Uuid>,
        pub source_id: String,
        pub text: String,
        pub author: String,
        pub platform: String,
        pub url: String,
        /// -1.0 to 1.0.
        pub sentiment: f64,
        pub sentiment_source: String,
        pub reach: i64,
        pub engagement: i64,
        pub timestamp: DateTimeUtc,
        pub location: Option<String>,
        pub language: String,
        pub matched: Option<String>,
        pub ingested_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
