//! Mention ingestion: the scheduler enqueues a durable `monitoring.poll` job for every active
//! config whose poll is due; the job fetches the window since the last poll from Mentionlytics
//! (Live or Mock by the data mode), stores the new mentions (deduplicated by source id, scored
//! with VADER when the source gave no sentiment) with their live-stream events in the same
//! transaction, publishes those at once, asks the crisis detector to look, and refreshes the
//! campaign's metrics. A process of War
//! Room's own (the scheduler and the job worker run it): it acts for no caller, so its
//! functions take the context rather than an `Actor`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use platform::{
    error::ApiResult,
    jobs::{JobContext, JobError, JobHandler, NewJob},
};
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    Ctx,
    db::{
        self,
        monitoring::{DuePoll, MentionRow},
        now,
    },
    domain::{
        campaigns::{CampaignId, not_found as campaign_not_found},
        monitoring::{ConfigId, MentionView, MonitoringConfigView},
        sentiment::{self, SentimentLabel},
        stream::{EventType, Priority, StreamingData, StreamingKind},
    },
    integrations::mentionlytics::{MentionQuery, MentionSource, SourceError, SourceMention},
    service::crisis,
};

/// The job kind of one poll of one config.
pub const POLL_JOB: &str = "monitoring.poll";
/// How often the scheduler looks for due polls.
pub const SCHEDULER_TICK: std::time::Duration = std::time::Duration::from_secs(1);
/// Mentions asked for per poll (the seed's `limit: 1000`); the newest are kept.
pub const POLL_LIMIT: usize = 1000;
/// `live_post`s published per poll at most (the newest); the rest are stored only.
pub const LIVE_POSTS_PER_POLL: usize = 200;
/// A first poll, or one after a gap longer than this, fetches only this much history and
/// publishes a summary `trend_update` instead of a `live_post` per mention.
pub const BACKFILL: Duration = Duration::hours(1);
/// Runs of a poll job. Few: the next scheduled poll fetches the same window anyway.
pub const POLL_ATTEMPTS: u32 = 3;
/// Due configs handled per scheduler tick.
const DUE_PER_TICK: u64 = 500;

/// The payload of a `monitoring.poll` job.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollJob {
    pub config_id: Uuid,
}

/// What one poll did.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollReport {
    pub config_id: Uuid,
    pub campaign_id: Uuid,
    /// The window fetched: `(since, until]`.
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// A first poll (or one after a long gap): stored, summarised, not streamed one by one.
    pub backfill: bool,
    /// Mentions the source answered.
    pub fetched: usize,
    /// Of those, the ones not stored before.
    pub stored: usize,
    /// `live_post`s published.
    pub published: usize,
}

/// How a poll ended, when it did not fail in a way worth retrying.
#[derive(Clone, Debug, PartialEq)]
pub enum PollOutcome {
    Polled(PollReport),
    /// The config is gone or stopped, or the window is empty: nothing to do.
    Skipped,
    /// The source refused for a reason a retry will not fix soon (not configured, an
    /// unreadable answer); recorded in the config's `lastError`, tried again at the next poll.
    Failed(String),
}

/// A poll that should be retried (the source is unavailable) or hit the database.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("{0}")]
    Retry(String),
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

/// The `trend_update` of one poll (`StreamingData.type` SENTIMENT): the new mentions' counts,
/// average sentiment, reach and engagement, by label and by platform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrendUpdate {
    pub config_id: Uuid,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub backfill: bool,
    /// New mentions in the window.
    pub mentions: usize,
    /// Their average sentiment; `null` when there are none.
    pub average_sentiment: Option<f64>,
    pub positive: usize,
    pub neutral: usize,
    pub negative: usize,
    pub reach: i64,
    pub engagement: i64,
    pub by_platform: BTreeMap<String, usize>,
}

impl TrendUpdate {
    fn of(config_id: Uuid, report: &PollReport, mentions: &[MentionView]) -> Self {
        let mut t = Self {
            config_id,
            since: report.since,
            until: report.until,
            backfill: report.backfill,
            mentions: mentions.len(),
            average_sentiment: None,
            positive: 0,
            neutral: 0,
            negative: 0,
            reach: 0,
            engagement: 0,
            by_platform: BTreeMap::new(),
        };
        for m in mentions {
            match m.sentiment_label {
                SentimentLabel::Positive => t.positive += 1,
                SentimentLabel::Neutral => t.neutral += 1,
                SentimentLabel::Negative => t.negative += 1,
            }
            t.reach = t.reach.saturating_add(m.reach);
            t.engagement = t.engagement.saturating_add(m.engagement);
            *t.by_platform.entry(m.platform.clone()).or_default() += 1;
        }
        if !mentions.is_empty() {
            let sum: f64 = mentions.iter().map(|m| m.sentiment).sum();
            t.average_sentiment = Some(round(sum / mentions.len() as f64, 4));
        }
        t
    }

    /// Medium when the window leans clearly negative, else low.
    fn priority(&self) -> Priority {
        match self.average_sentiment {
            Some(s) if s <= -0.3 && self.mentions >= 5 => Priority::Medium,
            _ => Priority::Low,
        }
    }
}

/// A `live_post`'s priority from its sentiment and reach: a very negative mention seen by
/// many is what a campaign must look at first.
pub fn mention_priority(sentiment: f64, reach: i64) -> Priority {
    match (sentiment, reach) {
        (s, r) if s <= -0.7 && r >= 100_000 => Priority::Critical,
        (s, r) if s <= -0.5 && r >= 10_000 => Priority::High,
        (s, r) if s <= -0.5 || r >= 50_000 => Priority::Medium,
        _ => Priority::Low,
    }
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// The scheduler loop: every `tick`, enqueues the due polls; stops with the product's
/// background work.
pub fn spawn_scheduler(ctx: Ctx, tick: std::time::Duration) {
    let background = ctx.background.clone();
    background.spawn(async move {
        let stopping = ctx.background.stopping();
        tokio::pin!(stopping);
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopping => break,
                _ = interval.tick() => {}
            }
            if let Err(e) = enqueue_due(&ctx).await {
                tracing::warn!(error = %e, "monitoring: scheduling polls failed");
            }
        }
    });
}

/// Enqueues one `monitoring.poll` job per active config whose poll is due, and moves each
/// one's `next_poll_at` on by its interval. Safe with several instances: the job's
/// idempotency key `poll:<configId>:<due time>` makes one job per due poll, and the move is
/// a compare-and-set. Returns `(config id, job id)` per due config.
pub async fn enqueue_due(ctx: &Ctx) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    let now = now();
    let mut jobs = Vec::new();
    for due in db::monitoring::due_polls(&ctx.db, now, DUE_PER_TICK).await? {
        jobs.push((due.config_id, enqueue_poll(ctx, due, now).await?));
    }
    Ok(jobs)
}

async fn enqueue_poll(ctx: &Ctx, due: DuePoll, now: DateTime<Utc>) -> Result<Uuid, DbErr> {
    let key = format!(
        "poll:{}:{}",
        due.config_id,
        due.due_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    );
    let payload = serde_json::json!(PollJob {
        config_id: due.config_id
    });
    let job = NewJob::from_value(POLL_JOB, payload)
        .key(key)
        .max_attempts(POLL_ATTEMPTS);
    let enqueued = ctx.jobs.enqueue(job).await?;
    let interval = Duration::seconds(i64::from(due.refresh_interval.max(1)));
    let mut next = due.due_at + interval;
    if next <= now {
        next = now + interval;
    }
    db::monitoring::advance_next_poll(&ctx.db, due.config_id, due.due_at, next).await?;
    Ok(enqueued.id)
}

/// Polls an active config now, through the job queue (the worker starts it at once), and
/// returns the job's id; `None` when the config does not exist or is stopped. The next
/// scheduled poll moves to a full interval from now.
pub async fn poll_now(ctx: &Ctx, id: ConfigId) -> ApiResult<Option<Uuid>> {
    let Some(row) = db::monitoring::find_config(&ctx.db, id.0).await? else {
        return Ok(None);
    };
    let now = now();
    // Due now, so a scheduler tick racing this one computes the same job key.
    if !db::monitoring::make_due(&ctx.db, id.0, now).await? {
        return Ok(None);
    }
    let due = DuePoll {
        config_id: id.0,
        due_at: now,
        refresh_interval: row.refresh_interval,
    };
    Ok(Some(enqueue_poll(ctx, due, now).await?))
}

/// The `monitoring.poll` handler: [`poll`], with an unavailable source retried by the queue.
pub struct PollHandler {
    ctx: Ctx,
}

impl PollHandler {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

#[async_trait::async_trait]
impl JobHandler for PollHandler {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let payload: PollJob = job.payload()?;
        match poll(&self.ctx, ConfigId(payload.config_id)).await {
            Ok(_) => Ok(()),
            Err(PollError::Retry(m)) => Err(JobError::Retry(m)),
            Err(PollError::Database(e)) => Err(e.into()),
        }
    }
}

/// One poll of one config: fetch `(polled_until, now]` (the last hour on a first poll or
/// after a longer gap), store, publish, evaluate. Source failures are recorded in the
/// config's `last_error`; an unavailable source is `PollError::Retry`.
pub async fn poll(ctx: &Ctx, id: ConfigId) -> Result<PollOutcome, PollError> {
    let Some(row) = db::monitoring::find_config(&ctx.db, id.0).await? else {
        return Ok(PollOutcome::Skipped);
    };
    let config = MonitoringConfigView::from(row);
    if !config.is_active() {
        return Ok(PollOutcome::Skipped);
    }
    let until = now();
    let floor = until - BACKFILL;
    let (since, backfill) = match config.polled_until {
        Some(t) if t >= floor => (t, false),
        _ => (floor, true),
    };
    if since >= until {
        return Ok(PollOutcome::Skipped);
    }
    let query = MentionQuery {
        config_id: config.id,
        campaign_id: config.campaign_id,
        keywords: config.keywords.clone(),
        competitors: config.competitors.clone(),
        influencers: config.influencers.clone(),
        platforms: config.platforms.clone(),
        since,
        until,
        limit: POLL_LIMIT,
    };
    let batch = match ctx.vendors.mentionlytics.fetch(&query).await {
        Ok(batch) => batch,
        Err(e) => {
            let message = e.to_string();
            tracing::warn!(config = %config.id, error = %message, "monitoring: poll failed");
            db::monitoring::record_poll_error(&ctx.db, config.id, now(), &message).await?;
            return match e {
                SourceError::Unavailable(_) => Err(PollError::Retry(message)),
                SourceError::Unconfigured { .. }
                | SourceError::Rejected { .. }
                | SourceError::BadResponse(_) => Ok(PollOutcome::Failed(message)),
            };
        }
    };
    let window = Window {
        since,
        until,
        backfill,
    };
    Ok(PollOutcome::Polled(
        ingest(ctx, &config, batch, window).await?,
    ))
}

/// The window a batch was fetched for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub backfill: bool,
}

/// Stores a fetched batch for `config` and does what follows: records the poll (moving
/// `polled_until` to the window's end) and logs a `live_post` per new mention (none for a
/// backfill, at most [`LIVE_POSTS_PER_POLL`]) and one `trend_update`, all in one transaction;
/// publishes those events; when anything was new, runs the crisis detector; and refreshes the
/// campaign's metrics. Mentions already
/// stored are skipped, so a batch may be ingested twice without duplicates.
pub async fn ingest(
    ctx: &Ctx,
    config: &MonitoringConfigView,
    batch: Vec<SourceMention>,
    window: Window,
) -> Result<PollReport, DbErr> {
    let fetched = batch.len();
    let ingested_at = now();
    let rows: Vec<MentionRow> = batch
        .into_iter()
        .map(|m| mention_row(config, m, ingested_at))
        .collect();
    // The batch, the poll that fetched it and the events announcing it commit together, on
    // the writer: one commit for the whole batch, a failure leaves the window to be fetched
    // again, and an instance that dies after the commit leaves the events to the log's relay
    // (a re-run finds the mentions stored and announces nothing twice).
    let txn = db::begin_write(&ctx.writer).await?;
    let mut stored: Vec<MentionView> = db::monitoring::insert_mentions(&txn, rows)
        .await?
        .into_iter()
        .map(MentionView::from)
        .collect();
    stored.sort_by_key(|m| (m.timestamp, m.id));
    db::monitoring::record_poll(&txn, config.id, window.until, now(), stored.len() as u64).await?;
    let mut report = PollReport {
        config_id: config.id,
        campaign_id: config.campaign_id,
        since: window.since,
        until: window.until,
        backfill: window.backfill,
        fetched,
        stored: stored.len(),
        published: 0,
    };
    let mut events = ctx.streams.outgoing();
    if !window.backfill {
        let newest = &stored[stored.len().saturating_sub(LIVE_POSTS_PER_POLL)..];
        for m in newest {
            events.add(EventType::LivePost, &mention_message(m));
        }
        report.published = newest.len();
    }
    let trend = TrendUpdate::of(config.id, &report, &stored);
    let message = StreamingData {
        kind: StreamingKind::Sentiment,
        campaign_id: config.campaign_id,
        timestamp: window.until,
        priority: trend.priority(),
        data: trend,
    };
    events.add(EventType::TrendUpdate, &message);
    events.write(&txn).await?;
    txn.commit().await?;
    events.publish().await;
    if !stored.is_empty()
        && let Err(e) = crisis::evaluate(ctx, config.campaign_id, &config.alert_thresholds).await
    {
        tracing::error!(campaign = %config.campaign_id, error = %e, "monitoring: crisis evaluation failed");
    }
    if !stored.is_empty() {
        let campaign = CampaignId(config.campaign_id);
        if let Err(e) = refresh_campaign_metrics(ctx, campaign).await {
            tracing::error!(campaign = %campaign, error = %e, "monitoring: campaign metrics not updated");
        }
    }
    Ok(report)
}

/// A mention's `live_post`.
fn mention_message(m: &MentionView) -> StreamingData<&MentionView> {
    StreamingData {
        kind: StreamingKind::Mention,
        campaign_id: m.campaign_id,
        timestamp: m.timestamp,
        priority: mention_priority(m.sentiment, m.reach),
        data: m,
    }
}

/// The row to store for a fetched mention: the source's sentiment when it gave one, else
/// VADER's score of the text.
fn mention_row(config: &MonitoringConfigView, m: SourceMention, at: DateTime<Utc>) -> MentionRow {
    let scored_by_source = m.sentiment.is_some_and(f64::is_finite);
    MentionRow {
        id: Uuid::now_v7(),
        campaign_id: config.campaign_id,
        config_id: Some(config.id),
        sentiment: sentiment::resolve(m.sentiment, &m.text),
        sentiment_source: if scored_by_source { "source" } else { "vader" }.to_owned(),
        source_id: m.source_id,
        text: m.text,
        author: m.author,
        platform: m.platform,
        url: m.url,
        reach: m.reach.max(0),
        engagement: m.engagement.max(0),
        timestamp: m.timestamp.trunc_subsecs(6),
        location: m.location,
        language: m.language,
        matched: m.matched,
        ingested_at: at,
    }
}

/// Sets the campaign's `sentimentScore` (average sentiment) and `engagementRate` (engagement
/// over reach) from its mentions of the last 24 hours; the other metrics stay.
pub async fn refresh_campaign_metrics(ctx: &Ctx, campaign: CampaignId) -> ApiResult<()> {
    let totals =
        db::monitoring::mention_totals(&ctx.db, Some(campaign.0), now() - Duration::hours(24))
            .await?;
    let campaigns = ctx.campaigns();
    let Some(current) = campaigns.find(campaign).await? else {
        return Ok(());
    };
    let mut metrics = current.metrics;
    metrics.sentiment_score = round(totals.average_sentiment.unwrap_or(0.0), 4);
    metrics.engagement_rate = if totals.reach > 0 {
        round(totals.engagement as f64 / totals.reach as f64, 4)
    } else {
        0.0
    };
    if !campaigns.update_metrics(campaign, &metrics).await? {
        return Err(campaign_not_found());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn very_negative_mentions_with_wide_reach_come_first() {
        assert_eq!(mention_priority(-0.8, 250_000), Priority::Critical);
        assert_eq!(mention_priority(-0.6, 20_000), Priority::High);
        assert_eq!(mention_priority(-0.8, 500), Priority::Medium);
        assert_eq!(mention_priority(0.4, 60_000), Priority::Medium);
        assert_eq!(mention_priority(0.4, 500), Priority::Low);
        assert_eq!(mention_priority(-0.49, 9_999), Priority::Low);
    }
}
