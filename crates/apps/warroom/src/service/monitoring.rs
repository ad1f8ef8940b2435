//! Monitoring configs (seed 001 MonitoringService `MonitoringConfig`): what to watch for a
//! campaign and how often, at most one active config per campaign; and the wire view of a
//! stored mention ([`MentionView`]), shared with the analytics endpoints. Polling the source
//! and storing what it answers is `service::ingest`.

mod request;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use platform::{
    ApiError,
    error::{ApiResult, ErrorDetails},
};
use sea_orm::{DatabaseConnection, DbErr, SqlErr};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use self::request::{
    AlertThresholdsRequest, ConfigInput, MonitoredPlatform, MonitoredTerm, MonitoringConfigRequest,
};
use crate::{
    Ctx,
    db::{
        monitoring::mention,
        monitoring_queries::{self as db, ACTIVE, ConfigRow, ConfigTerms, STOPPED},
    },
    service::{
        campaigns::CampaignId,
        crisis::AlertThresholds,
        sentiment::{self, SentimentLabel},
    },
};

/// The platforms a config may name (an empty list means all of them).
pub const PLATFORMS: [&str; 8] = [
    "twitter",
    "facebook",
    "instagram",
    "tiktok",
    "youtube",
    "reddit",
    "news",
    "google",
];
/// Keywords per config.
pub const KEYWORDS_MAX: usize = 50;
/// Competitors, and influencers, per config.
pub const TERMS_MAX: usize = 50;
/// Characters in one keyword, competitor or influencer (after trimming).
pub const TERM_CHARS: std::ops::RangeInclusive<usize> = 1..=100;
/// Seconds between polls.
pub const REFRESH_INTERVAL: std::ops::RangeInclusive<f64> = 10.0..=86_400.0;
pub const REFRESH_INTERVAL_DEFAULT: i32 = 60;

/// A monitoring config's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfigId(pub Uuid);

impl ConfigId {
    /// `None` for anything that is not a UUID (no config has such an id).
    pub fn parse(s: &str) -> Option<Self> {
        Uuid::parse_str(s).ok().map(Self)
    }
}

impl std::fmt::Display for ConfigId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConfigStatus {
    /// Polled every `refreshInterval`.
    Active,
    /// Not polled; its mentions stay.
    Stopped,
}

impl ConfigStatus {
    pub const ALL: [Self; 2] = [Self::Active, Self::Stopped];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => ACTIVE,
            Self::Stopped => STOPPED,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A stored config: seed 001 `MonitoringConfig` plus its id, state and polling record. The
/// `GET`/`PUT`/stop/start answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringConfigView {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub keywords: Vec<String>,
    pub competitors: Vec<String>,
    pub influencers: Vec<String>,
    /// Empty means every platform.
    pub platforms: Vec<String>,
    pub alert_thresholds: AlertThresholds,
    /// Seconds between polls.
    pub refresh_interval: i32,
    pub status: ConfigStatus,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// Mentions published up to this instant have been fetched.
    pub polled_until: Option<DateTime<Utc>>,
    /// When the last poll finished (or failed).
    pub last_polled_at: Option<DateTime<Utc>>,
    /// When the next poll is due; `null` while stopped.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Why the last poll failed; `null` after a poll that worked.
    pub last_error: Option<String>,
    /// Mentions this config has stored (duplicates not counted).
    pub mentions_ingested: i64,
}

impl MonitoringConfigView {
    /// The stored row as the wire shows it. JSON columns that cannot be read (only this
    /// module writes them) fall back to empty lists and the seed's thresholds rather than
    /// failing: a config must keep being polled.
    fn from_row(row: ConfigRow) -> Self {
        let list = |v: &serde_json::Value| -> Vec<String> {
            serde_json::from_value(v.clone()).unwrap_or_default()
        };
        let status = ConfigStatus::parse(&row.status).unwrap_or(ConfigStatus::Stopped);
        Self {
            id: row.id,
            campaign_id: row.campaign_id,
            keywords: list(&row.keywords),
            competitors: list(&row.competitors),
            influencers: list(&row.influencers),
            platforms: list(&row.platforms),
            alert_thresholds: serde_json::from_value(row.alert_thresholds.clone())
                .unwrap_or_default(),
            refresh_interval: row.refresh_interval,
            status,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            stopped_at: row.stopped_at,
            polled_until: row.polled_until,
            last_polled_at: row.last_polled_at,
            next_poll_at: (status == ConfigStatus::Active).then_some(row.next_poll_at),
            last_error: row.last_error,
            mentions_ingested: row.mentions_ingested,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == ConfigStatus::Active
    }
}

impl From<ConfigRow> for MonitoringConfigView {
    fn from(row: ConfigRow) -> Self {
        Self::from_row(row)
    }
}

/// A stored mention on the wire: seed 001 `Mention` (`id`, `text`, `author`, `platform`,
/// `url`, `sentiment`, `reach`, `engagement`, `timestamp`, `location`, `language`) plus its
/// campaign, the source's id, the sentiment label and who scored it, and the term it matched.
/// The `data` of a `live_post`, and the item of the mention lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MentionView {
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// The source's own id (mentions are deduplicated on it, per campaign).
    pub source_id: String,
    pub text: String,
    pub author: String,
    pub platform: String,
    pub url: String,
    /// -1 to 1.
    pub sentiment: f64,
    pub sentiment_label: SentimentLabel,
    /// `source` when the source scored the mention, `vader` when War Room did.
    pub sentiment_source: String,
    pub reach: i64,
    pub engagement: i64,
    pub timestamp: DateTime<Utc>,
    pub location: Option<String>,
    pub language: String,
    /// The keyword or competitor the mention matched.
    pub matched: Option<String>,
}

impl From<mention::Model> for MentionView {
    fn from(m: mention::Model) -> Self {
        Self {
            id: m.id,
            campaign_id: m.campaign_id,
            source_id: m.source_id,
            sentiment_label: sentiment::label(m.sentiment),
            sentiment: m.sentiment,
            sentiment_source: m.sentiment_source,
            text: m.text,
            author: m.author,
            platform: m.platform,
            url: m.url,
            reach: m.reach,
            engagement: m.engagement,
            timestamp: m.timestamp,
            location: m.location,
            language: m.language,
            matched: m.matched,
        }
    }
}

/// Monitoring configs: create, read, change, stop and restart.
#[derive(Clone)]
pub struct Monitoring {
    db: DatabaseConnection,
}

impl Ctx {
    pub fn monitoring(&self) -> Monitoring {
        Monitoring::new(self.db.clone())
    }
}

/// Microseconds, what PostgreSQL keeps (see `db::monitoring_queries`).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn not_found() -> ApiError {
    ApiError::not_found("Monitoring config not found")
}

fn campaign_not_found() -> ApiError {
    ApiError::not_found("Campaign not found")
}

/// 409 naming the campaign's active config.
fn already_monitored(campaign: CampaignId, existing: Option<Uuid>) -> ApiError {
    ApiError::conflict("The campaign already has an active monitoring config").with_details(
        ErrorDetails::Conflicts(
            [("campaignId", Some(campaign.0)), ("configId", existing)]
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                .collect(),
        ),
    )
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn is_foreign_key_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}

fn to_json<T: Serialize>(v: &T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

impl Monitoring {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Starts monitoring a campaign: a new active config, due for its first poll at once.
    /// 404 for an unknown campaign; 409 `already_exists` (with `details.configId`) when the
    /// campaign has an active config, decided by the database's unique index so two
    /// concurrent creates cannot both win.
    pub async fn create(
        &self,
        created_by: Option<Uuid>,
        input: ConfigInput,
    ) -> ApiResult<MonitoringConfigView> {
        let campaign = input.campaign_id;
        let terms = self.terms(input).await?;
        let now = now();
        let row = ConfigRow {
            id: Uuid::now_v7(),
            campaign_id: campaign.0,
            keywords: terms.keywords,
            competitors: terms.competitors,
            influencers: terms.influencers,
            platforms: terms.platforms,
            alert_thresholds: terms.alert_thresholds,
            refresh_interval: terms.refresh_interval,
            status: ACTIVE.to_owned(),
            created_by,
            created_at: now,
            updated_at: now,
            stopped_at: None,
            polled_until: None,
            next_poll_at: now,
            last_polled_at: None,
            last_error: None,
            mentions_ingested: 0,
        };
        match db::insert_config(&self.db, row).await {
            Ok(row) => Ok(row.into()),
            Err(e) if is_unique_violation(&e) => {
                let existing = db::active_config_of(&self.db, campaign.0).await?;
                Err(already_monitored(campaign, existing))
            }
            // The campaign was deleted between the check and the insert.
            Err(e) if is_foreign_key_violation(&e) => Err(campaign_not_found()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, id: ConfigId) -> ApiResult<Option<MonitoringConfigView>> {
        Ok(db::find_config(&self.db, id.0).await?.map(Into::into))
    }

    /// One page of configs, newest first, and the total.
    pub async fn list(
        &self,
        campaign: Option<CampaignId>,
        status: Option<ConfigStatus>,
        page: u64,
        limit: u64,
    ) -> ApiResult<(Vec<MonitoringConfigView>, u64)> {
        let (rows, total) = db::list_configs(
            &self.db,
            campaign.map(|c| c.0),
            status.map(ConfigStatus::as_str),
            page,
            limit,
        )
        .await?;
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }

    /// Replaces the config's terms, thresholds and interval (same rules and defaults as
    /// create; the campaign cannot change). The next poll uses them; a changed interval
    /// reschedules the next poll from the last one. `Ok(None)`: no such config.
    pub async fn update(
        &self,
        id: ConfigId,
        input: ConfigInput,
    ) -> ApiResult<Option<MonitoringConfigView>> {
        let Some(current) = db::find_config(&self.db, id.0).await? else {
            return Ok(None);
        };
        if input.campaign_id.0 != current.campaign_id {
            return Err(ApiError::validation(vec![platform::error::FieldError {
                field: "campaignId".into(),
                message: "must be the config's campaign (a config cannot move)".into(),
            }]));
        }
        let terms = self.terms(input).await?;
        let now = now();
        let next_poll_at = match current.last_polled_at {
            Some(last) if terms.refresh_interval != current.refresh_interval => {
                (last + Duration::seconds(i64::from(terms.refresh_interval))).max(now)
            }
            _ => current.next_poll_at,
        };
        db::update_terms(&self.db, id.0, terms, next_poll_at, now).await?;
        self.get(id).await
    }

    /// Stops polling; the config and its mentions stay. Stopping a stopped config changes
    /// nothing. `Ok(None)`: no such config.
    pub async fn stop(&self, id: ConfigId) -> ApiResult<Option<MonitoringConfigView>> {
        db::stop(&self.db, id.0, now()).await?;
        self.get(id).await
    }

    /// Polls a stopped config again, from now (a gap over an hour is backfilled like a first
    /// poll). 409 when its campaign has another active config. `Ok(None)`: no such config.
    pub async fn start(&self, id: ConfigId) -> ApiResult<Option<MonitoringConfigView>> {
        let Some(current) = db::find_config(&self.db, id.0).await? else {
            return Ok(None);
        };
        let campaign = CampaignId(current.campaign_id);
        match db::start(&self.db, id.0, now()).await {
            Ok(_) => self.get(id).await,
            Err(e) if is_unique_violation(&e) => {
                let existing = db::active_config_of(&self.db, campaign.0).await?;
                Err(already_monitored(campaign, existing))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The stored form of `input`: 404 for an unknown campaign; missing keywords taken from
    /// the campaign (its first 50 of at most 100 characters), 400 when there are none.
    async fn terms(&self, input: ConfigInput) -> ApiResult<ConfigTerms> {
        let campaigns = crate::service::campaigns::Campaigns::new(self.db.clone());
        if !campaigns.exists(input.campaign_id).await? {
            return Err(campaign_not_found());
        }
        let keywords = match input.keywords {
            Some(k) => k,
            None => {
                let theirs: Vec<String> = campaigns
                    .keywords(input.campaign_id)
                    .await?
                    .into_iter()
                    .map(|k| k.keyword)
                    .collect();
                let mut ignored = Vec::new();
                let usable: Vec<String> = theirs
                    .into_iter()
                    .filter(|k| TERM_CHARS.contains(&k.trim().chars().count()))
                    .take(KEYWORDS_MAX)
                    .collect();
                request::terms(&usable, "keywords", KEYWORDS_MAX, 0, &mut ignored)
            }
        };
        if keywords.is_empty() {
            return Err(ApiError::validation(vec![platform::error::FieldError {
                field: "keywords".into(),
                message: "is required: the campaign has no keywords to monitor".into(),
            }]));
        }
        Ok(ConfigTerms {
            keywords: to_json(&keywords)?,
            competitors: to_json(&input.competitors)?,
            influencers: to_json(&input.influencers)?,
            platforms: to_json(&input.platforms)?,
            alert_thresholds: to_json(&input.alert_thresholds)?,
            refresh_interval: input.refresh_interval,
        })
    }
}
