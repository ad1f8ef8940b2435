//! Alerts (seed 001 AlertingService, seed 000 alert center): raising an alert (stored, its
//! deliveries queued as jobs in the same transaction, then published as `crisis_alert`), the
//! alert center's reads and actions, and the manual `/alerting/crisis` and `/alerting/send`.
//! Delivery itself is `service::delivery`; recipients are `service::notifications`.

mod model;

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, SubsecRound, Utc};
use platform::{
    ApiError,
    error::{ApiResult, FieldError},
    identity::auth::AuthUser,
    jobs::{Jitter, NewJob, RetryPolicy},
    phone::is_e164,
    settings::ProductSettings,
};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

pub use self::model::{
    AlertAction, AlertChannel, AlertDetail, AlertSource, AlertStatus, AlertType, AlertView,
    ChannelType, CrisisAlert, DeliveryState, DeliveryView, Lifecycle, Severity, crisis_message,
    crisis_title,
};
use crate::{
    Ctx,
    db::alerts::{self as db, AlertFilter, AlertRow, DeliveryRow, EpisodeRow},
    service::{
        campaigns::CampaignId,
        delivery::{self, DeliverPayload},
        notifications::{self, Recipient},
        stream::{EventType, StreamingData, StreamingKind},
    },
};

/// The Slack "recipient" of crisis posts: the incoming webhook decides the channel; this names
/// the one the seed posts to.
pub const CRISIS_ROOM: &str = "#crisis-room";

/// Alerting's settings, from `ProductSettings` at start: where the API is reachable (Twilio
/// signs its callbacks over that URL) and the delivery jobs' retry policy:
/// `ALERT_DELIVERY_MAX_ATTEMPTS` (default 5), `ALERT_DELIVERY_RETRY_BASE_MS` (default 2000,
/// doubling per attempt) and `ALERT_DELIVERY_RETRY_MAX_MS` (default 600000).
#[derive(Clone, Debug)]
pub struct AlertingSettings {
    pub public_url: String,
    pub delivery_max_attempts: u32,
    pub delivery_retry: RetryPolicy,
}

impl AlertingSettings {
    pub fn from_settings(s: &ProductSettings) -> anyhow::Result<Self> {
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            match s.vendors.text(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| anyhow::anyhow!("{name} must be a positive whole number")),
            }
        };
        let attempts = number("ALERT_DELIVERY_MAX_ATTEMPTS", 5)?;
        let base = Duration::from_millis(number("ALERT_DELIVERY_RETRY_BASE_MS", 2_000)?);
        let max = Duration::from_millis(number("ALERT_DELIVERY_RETRY_MAX_MS", 600_000)?);
        Ok(Self {
            public_url: s.public_url.trim_end_matches('/').to_owned(),
            delivery_max_attempts: u32::try_from(attempts.min(100)).unwrap_or(100),
            delivery_retry: RetryPolicy::new(base, max.max(base), Jitter::Equal),
        })
    }
}

/// Who an alert goes to.
#[derive(Clone, Debug)]
pub enum Audience {
    /// The campaign's crisis contacts and the crisis room (for `CRISIS` and for `HIGH` or
    /// worse), and the users whose preferences ask for it.
    Campaign,
    /// Exactly these (`/alerting/send`).
    Explicit(Vec<Recipient>),
}

/// An alert about to be raised.
#[derive(Clone, Debug)]
pub struct NewAlert {
    pub campaign_id: Option<Uuid>,
    pub alert_type: AlertType,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub data: Value,
    pub source: AlertSource,
    pub raised_by: Option<Uuid>,
    pub audience: Audience,
}

/// The template name (seed 001 `AlertChannel.template`) of an alert's deliveries on `channel`.
fn template(alert: &NewAlert, channel: ChannelType) -> String {
    if matches!(alert.audience, Audience::Explicit(_)) {
        return "generic".into();
    }
    let prefix = if alert.alert_type == AlertType::Crisis {
        "crisis"
    } else {
        "alert"
    };
    format!("{prefix}_{}", channel.column())
}

/// `AlertChannel[]`: recipients grouped by channel, in channel order.
fn channels_of(alert: &NewAlert, recipients: &[Recipient]) -> Vec<AlertChannel> {
    let mut by: BTreeMap<ChannelType, Vec<String>> = BTreeMap::new();
    for r in recipients {
        by.entry(r.channel).or_default().push(r.address.clone());
    }
    by.into_iter()
        .map(|(channel, recipients)| AlertChannel {
            channel,
            recipients,
            template: template(alert, channel),
        })
        .collect()
}

/// The idempotency key of a delivery's job.
pub fn delivery_key(alert_id: Uuid, channel: ChannelType, recipient: &str) -> String {
    format!("alert:{alert_id}:{}:{recipient}", channel.column())
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A write transaction: `IMMEDIATE` on SQLite (the write lock at `BEGIN`, so a
/// read-check-write cannot interleave); PostgreSQL locks the rows it reads `FOR UPDATE`.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let opts = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(opts).await
}

/// Raises an alert: stores it with one delivery (and one `alert.deliver` job, keyed
/// `alert:<id>:<channel>:<recipient>`) per channel and recipient, all in one transaction,
/// then publishes it as `crisis_alert`. With `episode`, the episode is opened in the same
/// transaction and `None` comes back when another evaluation opened it first.
pub async fn raise(
    ctx: &Ctx,
    alert: NewAlert,
    episode: Option<EpisodeRow>,
) -> ApiResult<Option<AlertView>> {
    let at = now();
    let recipients = match &alert.audience {
        Audience::Explicit(r) => r.clone(),
        Audience::Campaign => {
            notifications::recipients(ctx, alert.campaign_id, alert.alert_type, alert.severity, at)
                .await?
        }
    };
    let channels = channels_of(&alert, &recipients);
    let id = Uuid::now_v7();
    let status = if recipients.is_empty() {
        AlertStatus::Skipped
    } else {
        AlertStatus::Pending
    };
    let row = AlertRow {
        id,
        campaign_id: alert.campaign_id,
        alert_type: alert.alert_type.as_str().to_owned(),
        severity: alert.severity.as_str().to_owned(),
        title: alert.title.chars().take(500).collect(),
        message: alert.message.clone(),
        data: alert.data.clone(),
        channels: serde_json::to_value(&channels).map_err(ApiError::internal)?,
        status: status.as_str().to_owned(),
        lifecycle: Lifecycle::New.as_str().to_owned(),
        source: alert.source.as_str().to_owned(),
        raised_by: alert.raised_by,
        episode_id: episode.as_ref().map(|e| e.id),
        read_at: None,
        read_by: None,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        dismissed_at: None,
        dismissed_by: None,
        created_at: at,
        updated_at: at,
        processed_at: status.is_final().then_some(at),
    };
    let txn = begin_write(&ctx.db).await?;
    let episode_id = episode.as_ref().map(|e| e.id);
    if let Some(ep) = episode
        && !db::open_episode(&txn, ep).await?
    {
        txn.rollback().await?;
        return Ok(None);
    }
    let row = db::insert_alert(&txn, row).await?;
    if let Some(ep) = episode_id {
        db::set_episode_alert(&txn, ep, id).await?;
    }
    for r in &recipients {
        let delivery = DeliveryRow {
            id: Uuid::now_v7(),
            alert_id: id,
            channel: r.channel.column().to_owned(),
            recipient: r.address.clone(),
            recipient_name: r.name.clone(),
            status: DeliveryState::Queued.as_str().to_owned(),
            attempts: 0,
            vendor_message_id: None,
            vendor_status: None,
            error: None,
            job_id: None,
            created_at: at,
            updated_at: at,
            sent_at: None,
        };
        let delivery_id = delivery.id;
        if !db::insert_delivery(&txn, delivery).await? {
            continue;
        }
        let job = NewJob::new(delivery::DELIVER, &DeliverPayload { delivery_id })
            .map_err(ApiError::internal)?
            .key(delivery_key(id, r.channel, &r.address))
            .max_attempts(ctx.alerting.delivery_max_attempts);
        let enqueued = ctx.jobs.enqueue_in(&txn, job).await?;
        db::set_delivery_job(&txn, delivery_id, enqueued.id).await?;
    }
    txn.commit().await?;
    ctx.jobs.wake();
    let view = AlertView::from_row(row)?;
    publish(ctx, &view).await;
    Ok(Some(view))
}

/// `crisis_alert` on the campaign's topic and the feed: `StreamingData { type: CRISIS,
/// priority, data: Alert }`. Alerts without a campaign are not streamed (topics are per
/// campaign).
async fn publish(ctx: &Ctx, alert: &AlertView) {
    let Some(campaign_id) = alert.campaign_id else {
        return;
    };
    let message = StreamingData {
        kind: StreamingKind::Crisis,
        campaign_id,
        timestamp: alert.created_at,
        data: alert,
        priority: alert.severity.priority(),
    };
    ctx.streams.publish(EventType::CrisisAlert, &message).await;
}

/// `GET /alerts`'s filters, parsed.
#[derive(Clone, Debug, Default)]
pub struct AlertQuery {
    pub lifecycle: Option<Lifecycle>,
    pub status: Option<AlertStatus>,
    pub severity: Option<Severity>,
    pub alert_type: Option<AlertType>,
    pub campaign_id: Option<Uuid>,
    pub unread: Option<bool>,
}

/// One page of alerts, newest first; and how many match.
pub async fn list(
    ctx: &Ctx,
    q: &AlertQuery,
    page: u64,
    limit: u64,
) -> ApiResult<(Vec<AlertView>, u64)> {
    let filter = AlertFilter {
        lifecycle: q.lifecycle.map(Lifecycle::as_str),
        status: q.status.map(AlertStatus::as_str),
        severity: q.severity.map(Severity::as_str),
        alert_type: q.alert_type.map(AlertType::as_str),
        campaign_id: q.campaign_id,
        unread: q.unread,
    };
    let (rows, total) = db::list_alerts(&ctx.db, &filter, page, limit).await?;
    let alerts = rows
        .into_iter()
        .map(AlertView::from_row)
        .collect::<ApiResult<_>>()?;
    Ok((alerts, total))
}

/// One alert with its deliveries.
pub async fn get(ctx: &Ctx, id: Uuid) -> ApiResult<Option<AlertDetail>> {
    let Some(row) = db::find_alert(&ctx.db, id).await? else {
        return Ok(None);
    };
    let deliveries = db::deliveries_of(&ctx.db, id)
        .await?
        .into_iter()
        .map(DeliveryView::from_row)
        .collect::<ApiResult<_>>()?;
    Ok(Some(AlertDetail {
        alert: AlertView::from_row(row)?,
        deliveries,
    }))
}

/// Applies an alert-center action, recording who and when. Every action but `read` also
/// marks the alert read. `resolve` closes the detector's episode.
pub async fn act(
    ctx: &Ctx,
    user: &AuthUser,
    id: Uuid,
    action: AlertAction,
) -> ApiResult<Option<AlertView>> {
    let txn = begin_write(&ctx.db).await?;
    let Some(mut row) = db::find_alert_for_update(&txn, id).await? else {
        return Ok(None);
    };
    let from = Lifecycle::parse(&row.lifecycle)
        .ok_or_else(|| ApiError::internal(format!("alert {id}: stored lifecycle unknown")))?;
    let to = action.target(from)?;
    let at = now();
    let who = Some(user.id());
    if row.read_at.is_none() {
        row.read_at = Some(at);
        row.read_by = who;
    }
    match action {
        AlertAction::Read => {}
        AlertAction::Acknowledge => {
            row.acknowledged_at = Some(at);
            row.acknowledged_by = who;
        }
        AlertAction::Resolve => {
            row.resolved_at = Some(at);
            row.resolved_by = who;
            db::close_episode_of(&txn, id, at).await?;
        }
        AlertAction::Dismiss => {
            row.dismissed_at = Some(at);
            row.dismissed_by = who;
        }
    }
    row.lifecycle = to.as_str().to_owned();
    row.updated_at = at;
    let row = db::save_alert(&txn, row).await?;
    txn.commit().await?;
    AlertView::from_row(row).map(Some)
}

fn field(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a list of short texts: at most `max` items, each 1 to `chars` characters, not blank.
fn check_texts(
    errors: &mut Vec<FieldError>,
    name: &str,
    items: &[String],
    (min, max): (usize, usize),
    chars: usize,
) {
    if items.len() < min || items.len() > max {
        let what = if min > 0 {
            format!("must have {min} to {max} items")
        } else {
            format!("must have at most {max} items")
        };
        errors.push(field(name, what));
    }
    for (i, t) in items.iter().enumerate() {
        let n = t.chars().count();
        if t.trim().is_empty() || n > chars {
            errors.push(field(
                format!("{name}[{i}]"),
                format!("must be 1 to {chars} characters, not blank"),
            ));
        }
    }
}

fn check_crisis(c: &CrisisAlert) -> ApiResult<()> {
    let mut errors = Vec::new();
    if !(c.crisis_score.is_finite() && (0.0..=1.0).contains(&c.crisis_score)) {
        errors.push(field("crisisScore", "must be a number from 0 to 1"));
    }
    if !(c.sentiment_impact.is_finite() && (-2.0..=2.0).contains(&c.sentiment_impact)) {
        errors.push(field("sentimentImpact", "must be a number from -2 to 2"));
    }
    check_texts(&mut errors, "triggers", &c.triggers, (1, 20), 200);
    check_texts(
        &mut errors,
        "affectedPlatforms",
        &c.affected_platforms,
        (0, 20),
        50,
    );
    check_texts(
        &mut errors,
        "recommendedActions",
        &c.recommended_actions,
        (0, 20),
        500,
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

fn campaign_not_found() -> ApiError {
    ApiError::not_found("Campaign not found")
}

/// `POST /alerting/crisis`: a `CRISIS` alert from a person, severity by the seed's rule,
/// to the campaign's crisis contacts (SMS, WhatsApp, email), the crisis room (Slack) and
/// the users whose preferences ask for it.
pub async fn crisis(ctx: &Ctx, user: &AuthUser, mut req: CrisisAlert) -> ApiResult<AlertView> {
    check_crisis(&req)?;
    for list in [
        &mut req.triggers,
        &mut req.affected_platforms,
        &mut req.recommended_actions,
    ] {
        for t in list.iter_mut() {
            *t = t.trim().to_owned();
        }
    }
    let campaign = ctx
        .campaigns()
        .get(CampaignId(req.campaign_id))
        .await?
        .ok_or_else(campaign_not_found)?;
    let alert = NewAlert {
        campaign_id: Some(req.campaign_id),
        alert_type: AlertType::Crisis,
        severity: Severity::of_crisis_score(req.crisis_score),
        title: crisis_title(&req.triggers),
        message: crisis_message(&req, &campaign.name),
        data: serde_json::to_value(&req).map_err(ApiError::internal)?,
        source: AlertSource::Manual,
        raised_by: Some(user.id()),
        audience: Audience::Campaign,
    };
    raise(ctx, alert, None)
        .await?
        .ok_or_else(|| ApiError::internal("a manual alert has no episode to lose"))
}

/// Seed 001 `sendAlert`'s body. `campaignId` is Basalt's: the seed takes the "current
/// campaign", which a War Room request has no notion of.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendAlertRequest {
    /// One of the alert types (`CRISIS`, `SENTIMENT`, `MENTION_SPIKE`, `ENGAGEMENT_DROP`,
    /// `COMPETITOR`); also the title.
    #[serde(rename = "type")]
    pub alert_type: String,
    /// 1 to 1600 characters (one SMS at most).
    pub message: String,
    /// 1 to 50 E.164 numbers.
    pub recipients: Vec<String>,
    pub campaign_id: Option<Uuid>,
}

/// `POST /alerting/send`: a `MEDIUM` alert of `type` over SMS to exactly `recipients`.
pub async fn send(ctx: &Ctx, user: &AuthUser, req: SendAlertRequest) -> ApiResult<AlertView> {
    let mut errors = Vec::new();
    let alert_type = AlertType::parse(req.alert_type.trim());
    if alert_type.is_none() {
        errors.push(field(
            "type",
            format!("must be one of {}", AlertType::names()),
        ));
    }
    let n = req.message.chars().count();
    if req.message.trim().is_empty() || n > 1600 {
        errors.push(field("message", "must be 1 to 1600 characters, not blank"));
    }
    if req.recipients.is_empty() || req.recipients.len() > 50 {
        errors.push(field("recipients", "must have 1 to 50 numbers"));
    }
    for (i, r) in req.recipients.iter().enumerate() {
        if !is_e164(r.trim()) {
            errors.push(field(
                format!("recipients[{i}]"),
                "must be an E.164 number like +14155550100",
            ));
        }
    }
    let Some(alert_type) = alert_type.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    if let Some(id) = req.campaign_id
        && !ctx.campaigns().exists(CampaignId(id)).await?
    {
        return Err(campaign_not_found());
    }
    let recipients = req
        .recipients
        .iter()
        .map(|r| Recipient {
            channel: ChannelType::Sms,
            address: r.trim().to_owned(),
            name: None,
        })
        .collect();
    let alert = NewAlert {
        campaign_id: req.campaign_id,
        alert_type,
        severity: Severity::Medium,
        title: alert_type.as_str().to_owned(),
        message: req.message.trim().to_owned(),
        data: json!({}),
        source: AlertSource::Manual,
        raised_by: Some(user.id()),
        audience: Audience::Explicit(recipients),
    };
    raise(ctx, alert, None)
        .await?
        .ok_or_else(|| ApiError::internal("a manual alert has no episode to lose"))
}

/// How many alerts `/alerting/queue` answers at most.
pub const QUEUE_LIMIT: u64 = 100;

/// `GET /alerting/queue`: the alerts that still want the caller's attention: lifecycle `new`
/// and either still being delivered or unread; newest first, at most 100; only the campaigns
/// the caller's preferences name, when they name some.
pub async fn queue(ctx: &Ctx, user: &AuthUser) -> ApiResult<Vec<AlertView>> {
    let prefs = notifications::preferences(ctx, user.id()).await?;
    if prefs.campaigns.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new()); // follows no campaign
    }
    let rows = db::queue(&ctx.db, prefs.campaigns.as_deref(), QUEUE_LIMIT).await?;
    rows.into_iter().map(AlertView::from_row).collect()
}
