//! Monitoring configs (seed 001 MonitoringService `MonitoringConfig`): `Monitoring` creates,
//! reads, changes, stops and restarts what to watch for a campaign and how often, at most one
//! active config per campaign, and reports the state of polling (`status`). Polling the source
//! and storing what it answers is `service::ingest`.

mod status;

use chrono::Duration;
use platform::{
    ApiError,
    error::ApiResult,
    validate::{Page, field},
};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use uuid::Uuid;

pub use self::status::{
    ConfigPollStatus, IngestionFigures, MonitoringMetrics, MonitoringState, MonitoringStatus,
    PollFigures, STATUS_CONFIGS_MAX, StreamsStatus,
};
use crate::{
    Ctx,
    db::{
        self,
        monitoring::{ConfigRow, ConfigTerms},
    },
    domain::{
        campaigns::{CampaignId, not_found as campaign_not_found},
        monitoring::{
            ConfigId, ConfigInput, ConfigQuery, ConfigStatus, MonitoringConfigView,
            already_monitored, campaign_terms, not_found,
        },
    },
    service::{
        access::{MONITORING_READ, MONITORING_UPDATE},
        actor::Actor,
    },
};

/// Monitoring configs, and the state of their polling.
#[derive(Clone)]
pub struct Monitoring {
    ctx: Ctx,
}

impl Ctx {
    pub fn monitoring(&self) -> Monitoring {
        Monitoring { ctx: self.clone() }
    }
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
    /// Starts monitoring a campaign: a new active config, due for its first poll at once.
    /// 404 for an unknown campaign; 409 `already_exists` (with `details.configId`) when the
    /// campaign has an active config, decided by the database's unique index so two
    /// concurrent creates cannot both win.
    pub async fn create(
        &self,
        actor: &Actor,
        input: impl TryInto<ConfigInput, Error = ApiError>,
    ) -> ApiResult<MonitoringConfigView> {
        let input = actor.admit(MONITORING_UPDATE, input)?;
        let campaign = input.campaign_id;
        let terms = self.terms(input).await?;
        let now = db::now();
        let row = ConfigRow {
            id: Uuid::now_v7(),
            campaign_id: campaign.0,
            keywords: terms.keywords,
            competitors: terms.competitors,
            influencers: terms.influencers,
            platforms: terms.platforms,
            alert_thresholds: terms.alert_thresholds,
            refresh_interval: terms.refresh_interval,
            status: ConfigStatus::Active.as_str().to_owned(),
            created_by: Some(actor.id),
            created_at: now,
            updated_at: now,
            stopped_at: None,
            polled_until: None,
            next_poll_at: now,
            last_polled_at: None,
            last_error: None,
            mentions_ingested: 0,
        };
        match db::monitoring::insert_config(&self.ctx.db, row).await {
            Ok(row) => Ok(row.into()),
            Err(e) if is_unique_violation(&e) => Err(self.conflict(campaign).await),
            // The campaign was deleted between the check and the insert.
            Err(e) if is_foreign_key_violation(&e) => Err(campaign_not_found()),
            Err(e) => Err(e.into()),
        }
    }

    /// One config and its polling record; 404 "Monitoring config not found".
    pub async fn get(&self, actor: &Actor, id: ConfigId) -> ApiResult<MonitoringConfigView> {
        actor.require(MONITORING_READ)?;
        self.found(id).await
    }

    /// The config, for War Room's own processes (`None`: no such config).
    pub async fn find(&self, id: ConfigId) -> ApiResult<Option<MonitoringConfigView>> {
        Ok(db::monitoring::find_config(&self.ctx.db, id.0)
            .await?
            .map(Into::into))
    }

    async fn found(&self, id: ConfigId) -> ApiResult<MonitoringConfigView> {
        self.find(id).await?.ok_or_else(not_found)
    }

    /// One page of configs, newest first, narrowed by campaign and status.
    pub async fn list(
        &self,
        actor: &Actor,
        query: impl TryInto<ConfigQuery, Error = ApiError>,
    ) -> ApiResult<Page<MonitoringConfigView>> {
        let q = actor.admit(MONITORING_READ, query)?;
        let (rows, total) =
            db::monitoring::list_configs(&self.ctx.db, q.campaign.map(|c| c.0), q.status, q.paging)
                .await?;
        Ok(q.paging
            .page(rows.into_iter().map(Into::into).collect(), total))
    }

    /// Replaces the config's terms, thresholds and interval (same rules and defaults as
    /// create; the campaign cannot change). The next poll uses them; a changed interval
    /// reschedules the next poll from the last one.
    pub async fn update(
        &self,
        actor: &Actor,
        id: ConfigId,
        input: impl TryInto<ConfigInput, Error = ApiError>,
    ) -> ApiResult<MonitoringConfigView> {
        let input = actor.admit(MONITORING_UPDATE, input)?;
        let current = db::monitoring::find_config(&self.ctx.db, id.0)
            .await?
            .ok_or_else(not_found)?;
        if input.campaign_id.0 != current.campaign_id {
            return Err(ApiError::validation(vec![field(
                "campaignId",
                "must be the config's campaign (a config cannot move)",
            )]));
        }
        let terms = self.terms(input).await?;
        let now = db::now();
        let next_poll_at = match current.last_polled_at {
            Some(last) if terms.refresh_interval != current.refresh_interval => {
                (last + Duration::seconds(i64::from(terms.refresh_interval))).max(now)
            }
            _ => current.next_poll_at,
        };
        db::monitoring::update_terms(&self.ctx.db, id.0, terms, next_poll_at, now).await?;
        self.found(id).await
    }

    /// Stops polling; the config and its mentions stay. Stopping a stopped config changes
    /// nothing.
    pub async fn stop(&self, actor: &Actor, id: ConfigId) -> ApiResult<MonitoringConfigView> {
        actor.require(MONITORING_UPDATE)?;
        db::monitoring::stop(&self.ctx.db, id.0, db::now()).await?;
        self.found(id).await
    }

    /// Polls a stopped config again, from now (a gap over an hour is backfilled like a first
    /// poll). 409 when its campaign has another active config.
    pub async fn start(&self, actor: &Actor, id: ConfigId) -> ApiResult<MonitoringConfigView> {
        actor.require(MONITORING_UPDATE)?;
        let current = self.found(id).await?;
        match db::monitoring::start(&self.ctx.db, id.0, db::now()).await {
            Ok(_) => self.found(id).await,
            Err(e) if is_unique_violation(&e) => {
                Err(self.conflict(CampaignId(current.campaign_id)).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// 409 naming the campaign's active config (when it can be read).
    async fn conflict(&self, campaign: CampaignId) -> ApiError {
        match db::monitoring::active_config_of(&self.ctx.db, campaign.0).await {
            Ok(existing) => already_monitored(campaign, existing),
            Err(e) => e.into(),
        }
    }

    /// The stored form of `input`: 404 for an unknown campaign; missing keywords taken from
    /// the campaign (its first 50 of at most 100 characters), 400 when there are none.
    async fn terms(&self, input: ConfigInput) -> ApiResult<ConfigTerms> {
        let campaigns = self.ctx.campaigns();
        campaigns.check_exists(input.campaign_id).await?;
        let keywords = match input.keywords {
            Some(k) => k,
            None => {
                let theirs = campaigns.keywords(input.campaign_id).await?;
                campaign_terms(theirs.into_iter().map(|k| k.keyword))
            }
        };
        if keywords.is_empty() {
            return Err(ApiError::validation(vec![field(
                "keywords",
                "is required: the campaign has no keywords to monitor",
            )]));
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
