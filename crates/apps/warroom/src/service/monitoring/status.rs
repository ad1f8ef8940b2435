//! What `/monitoring/status` (seed 000 "Monitoring system status") and `/monitoring/metrics`
//! ("Performance metrics") report: the state of polling, and ingestion's figures.

use chrono::{DateTime, Duration, Utc};
use platform::{
    datamode::Mode,
    error::ApiResult,
    jobs::{JobFilter, JobStatus},
    validate::{Page, Paging},
    vendor::VendorStatus,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Monitoring;
use crate::{
    db,
    domain::{monitoring::ConfigStatus, stream::FEED_TOPIC},
    service::{access::MONITORING_READ, actor::Actor, ingest::POLL_JOB},
};

/// Active configs listed in the status at most.
pub const STATUS_CONFIGS_MAX: u64 = 100;
/// Recent polls the latency average covers.
const LATENCY_SAMPLE: u64 = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MonitoringState {
    /// Configs are being polled and nothing is failing.
    Running,
    /// No active config.
    Idle,
    /// A config's last poll failed, or Mentionlytics is unconfigured or paused.
    Degraded,
}

/// One active config's polling.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigPollStatus {
    pub config_id: Uuid,
    pub campaign_id: Uuid,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub next_poll_at: DateTime<Utc>,
    pub polled_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub mentions_ingested: i64,
}

/// The live streams' side.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamsStatus {
    /// Events published on the `monitoring` feed so far (its sequence number); `null` when
    /// the hub cannot be reached.
    pub feed_events: Option<u64>,
    pub heartbeat_interval_ms: u64,
}

/// `GET /monitoring/status`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringStatus {
    pub status: MonitoringState,
    pub data_mode: Mode,
    pub active_configs: u64,
    /// The active configs, oldest first (at most 100).
    pub configs: Vec<ConfigPollStatus>,
    /// Mentionlytics as `/integrations/status` reports it.
    pub mentionlytics: Option<VendorStatus>,
    pub streams: StreamsStatus,
}

impl Monitoring {
    /// `GET /monitoring/status`: the active configs' polling, the source, the streams.
    pub async fn status(&self, actor: &Actor) -> ApiResult<MonitoringStatus> {
        actor.require(MONITORING_READ)?;
        let ctx = &self.ctx;
        let (rows, active) =
            db::monitoring::configs_with_status(&ctx.db, ConfigStatus::Active, STATUS_CONFIGS_MAX)
                .await?;
        let configs: Vec<ConfigPollStatus> = rows
            .into_iter()
            .map(|r| ConfigPollStatus {
                config_id: r.id,
                campaign_id: r.campaign_id,
                last_polled_at: r.last_polled_at,
                next_poll_at: r.next_poll_at,
                polled_until: r.polled_until,
                last_error: r.last_error,
                mentions_ingested: r.mentions_ingested,
            })
            .collect();
        let mentionlytics = ctx.vendors.registry.status("mentionlytics");
        let vendor_ok = mentionlytics.as_ref().is_none_or(|v| v.state.is_healthy());
        let state = if active == 0 {
            MonitoringState::Idle
        } else if !vendor_ok || configs.iter().any(|c| c.last_error.is_some()) {
            MonitoringState::Degraded
        } else {
            MonitoringState::Running
        };
        let gateway = ctx.streams.gateway();
        Ok(MonitoringStatus {
            status: state,
            data_mode: ctx.data_mode.get(),
            active_configs: active,
            configs,
            mentionlytics,
            streams: StreamsStatus {
                feed_events: gateway.hub().head(FEED_TOPIC).await.ok(),
                heartbeat_interval_ms: gateway.config().heartbeat.as_millis() as u64,
            },
        })
    }
}

/// Mentions stored, by when they were stored.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestionFigures {
    pub last_hour: u64,
    pub last_24_hours: u64,
    /// Mentions stored per minute over the last 15 minutes.
    pub per_minute_last_15_minutes: f64,
    /// Average sentiment of every campaign's mentions published in the last 24 hours.
    pub average_sentiment_24_hours: Option<f64>,
}

/// `monitoring.poll` jobs.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollFigures {
    pub pending: u64,
    pub running: u64,
    pub succeeded: u64,
    /// Polls that used up their attempts (the next scheduled poll fetches their window).
    pub dead: u64,
    /// When the newest successful poll finished.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// From due to done (waiting included), of the newest successful poll.
    pub last_poll_latency_ms: Option<i64>,
    /// The same, averaged over the last 20 successful polls.
    pub average_poll_latency_ms: Option<f64>,
}

/// `GET /monitoring/metrics`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringMetrics {
    pub generated_at: DateTime<Utc>,
    pub active_configs: u64,
    pub mentions: IngestionFigures,
    pub polls: PollFigures,
}

impl Monitoring {
    /// `GET /monitoring/metrics`: ingestion's figures and the poll jobs'.
    pub async fn metrics(&self, actor: &Actor) -> ApiResult<MonitoringMetrics> {
        actor.require(MONITORING_READ)?;
        let ctx = &self.ctx;
        let now = db::now();
        let since = |d: Duration| db::monitoring::ingested_since(&ctx.db, now - d);
        let last_hour = since(Duration::hours(1)).await?;
        let last_day = since(Duration::hours(24)).await?;
        let last_15 = since(Duration::minutes(15)).await?;
        let totals =
            db::monitoring::mention_totals(&ctx.db, None, now - Duration::hours(24)).await?;
        let (_, active) =
            db::monitoring::configs_with_status(&ctx.db, ConfigStatus::Active, 0).await?;
        let count = async |status: JobStatus| -> ApiResult<u64> {
            let filter = JobFilter {
                status: Some(status),
                kind: Some(POLL_JOB.to_owned()),
                queue: None,
            };
            Ok(ctx.jobs.page(&filter, Paging::new(1, 1)).await?.total)
        };
        let filter = JobFilter {
            status: Some(JobStatus::Succeeded),
            kind: Some(POLL_JOB.to_owned()),
            queue: None,
        };
        let Page {
            items: recent,
            total: succeeded,
            ..
        } = ctx
            .jobs
            .page(&filter, Paging::new(1, LATENCY_SAMPLE))
            .await?;
        let latencies: Vec<i64> = recent
            .iter()
            .filter_map(|j| Some((j.finished_at? - j.run_at).num_milliseconds().max(0)))
            .collect();
        let newest = recent.first();
        Ok(MonitoringMetrics {
            generated_at: now,
            active_configs: active,
            mentions: IngestionFigures {
                last_hour,
                last_24_hours: last_day,
                per_minute_last_15_minutes: (last_15 as f64 / 15.0 * 100.0).round() / 100.0,
                average_sentiment_24_hours: totals
                    .average_sentiment
                    .map(|s| (s * 1e4).round() / 1e4),
            },
            polls: PollFigures {
                pending: count(JobStatus::Pending).await?,
                running: count(JobStatus::Running).await?,
                succeeded,
                dead: count(JobStatus::Dead).await?,
                last_poll_at: newest.and_then(|j| j.finished_at),
                last_poll_latency_ms: latencies.first().copied(),
                average_poll_latency_ms: (!latencies.is_empty())
                    .then(|| latencies.iter().sum::<i64>() as f64 / latencies.len() as f64),
            },
        })
    }
}
