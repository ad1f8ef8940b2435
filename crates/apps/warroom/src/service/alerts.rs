//! Alerts (seed 001 AlertingService, seed 000 alert center): `Alerts` raises an alert (stored,
//! its deliveries queued as jobs and its `crisis_alert` logged in the same transaction, then
//! published), answers the alert center's reads and actions, and the manual
//! `/alerting/crisis` and `/alerting/send`. Delivery itself is `service::deliveries`; who an alert goes to is
//! `service::notifications`.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use platform::{
    ApiError,
    error::ApiResult,
    jobs::{Jitter, NewJob, RetryPolicy},
    settings::ProductSettings,
    validate::Page,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    Ctx,
    db::{
        self,
        alerts::{AlertRow, EpisodeRow},
        deliveries::DeliveryRow,
    },
    domain::{
        alerts::{
            AlertAction, AlertDetail, AlertQuery, AlertSource, AlertStatus, AlertType, AlertView,
            Audience, ChannelType, CrisisAlert, Lifecycle, ManualAlert, NewAlert, Severity,
            crisis_message, crisis_title, not_found,
        },
        campaigns::{self, CampaignId},
        deliveries::{DeliveryState, DeliveryView, delivery_key},
        notifications::Recipient,
        stream::{EventType, StreamingData, StreamingKind},
    },
    service::{
        access::{ALERTS_READ, ALERTS_SEND, ALERTS_UPDATE},
        actor::Actor,
        deliveries::{DELIVER, DeliverPayload},
    },
};

/// How many alerts `/alerting/queue` answers at most.
pub const QUEUE_LIMIT: u64 = 100;

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

/// `crisis_alert` on the campaign's topic and the feed: `StreamingData { type: CRISIS,
/// priority, data: Alert }`. Alerts without a campaign are not streamed (topics are per
/// campaign).
fn crisis_alert_message(alert: &AlertView) -> Option<StreamingData<&AlertView>> {
    Some(StreamingData {
        kind: StreamingKind::Crisis,
        campaign_id: alert.campaign_id?,
        timestamp: alert.created_at,
        data: alert,
        priority: alert.severity.priority(),
    })
}

/// The alerts of this deployment: raising them, the alert center, the manual alerts.
#[derive(Clone)]
pub struct Alerts {
    ctx: Ctx,
}

impl Ctx {
    pub fn alerts(&self) -> Alerts {
        Alerts { ctx: self.clone() }
    }
}

/// Microseconds, what PostgreSQL keeps, so an answer equals a later read.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

impl Alerts {
    /// Raises an alert: stores it with one delivery (and one `alert.deliver` job, keyed
    /// `alert:<id>:<channel>:<recipient>`) per channel and recipient, and its `crisis_alert`
    /// event, all in one transaction, then publishes the event. With `episode`, the episode is opened in the same
    /// transaction and `None` comes back when another evaluation opened it first.
    pub async fn raise(
        &self,
        alert: NewAlert,
        episode: Option<EpisodeRow>,
    ) -> ApiResult<Option<AlertView>> {
        let ctx = &self.ctx;
        let at = now();
        let recipients = match &alert.audience {
            Audience::Explicit(r) => r.clone(),
            Audience::Campaign => {
                ctx.notifications()
                    .recipients(alert.campaign_id, alert.alert_type, alert.severity, at)
                    .await?
            }
        };
        let channels = alert.channels(&recipients);
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
            message: alert.message,
            data: alert.data,
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
        let txn = db::begin_write(&ctx.writer).await?;
        let episode_id = episode.as_ref().map(|e| e.id);
        if let Some(ep) = episode
            && !db::alerts::open_episode(&txn, ep).await?
        {
            txn.rollback().await?;
            return Ok(None);
        }
        let row = db::alerts::insert_alert(&txn, row).await?;
        if let Some(ep) = episode_id {
            db::alerts::set_episode_alert(&txn, ep, id).await?;
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
            if !db::deliveries::insert_delivery(&txn, delivery).await? {
                continue;
            }
            let job = NewJob::new(DELIVER, &DeliverPayload { delivery_id })
                .map_err(ApiError::internal)?
                .key(delivery_key(id, r.channel, &r.address))
                .max_attempts(ctx.alerting.delivery_max_attempts);
            let enqueued = ctx.jobs.enqueue_in(&txn, job).await?;
            db::deliveries::set_delivery_job(&txn, delivery_id, enqueued.id).await?;
        }
        let view = AlertView::try_from(row)?;
        let mut events = ctx.streams.outgoing();
        if let Some(message) = crisis_alert_message(&view) {
            events.add(EventType::CrisisAlert, &message);
        }
        events.write(&txn).await?;
        txn.commit().await?;
        ctx.jobs.wake();
        events.publish().await;
        Ok(Some(view))
    }

    /// One page of alerts, newest first, narrowed by the query's filters.
    pub async fn list(
        &self,
        actor: &Actor,
        query: impl TryInto<AlertQuery, Error = ApiError>,
    ) -> ApiResult<Page<AlertView>> {
        let q = actor.admit(ALERTS_READ, query)?;
        let (rows, total) = db::alerts::list_alerts(&self.ctx.db, &q).await?;
        let alerts = rows
            .into_iter()
            .map(AlertView::try_from)
            .collect::<ApiResult<_>>()?;
        Ok(q.paging.page(alerts, total))
    }

    /// One alert with each delivery's outcome; 404 "Alert not found".
    pub async fn get(&self, actor: &Actor, id: Uuid) -> ApiResult<AlertDetail> {
        actor.require(ALERTS_READ)?;
        let conn = &self.ctx.db;
        let row = db::alerts::find_alert(conn, id)
            .await?
            .ok_or_else(not_found)?;
        let deliveries = db::deliveries::deliveries_of(conn, id)
            .await?
            .into_iter()
            .map(DeliveryView::try_from)
            .collect::<ApiResult<_>>()?;
        Ok(AlertDetail {
            alert: AlertView::try_from(row)?,
            deliveries,
        })
    }

    /// Applies an alert-center action, recording who and when. Every action but `read` also
    /// marks the alert read. `resolve` closes the detector's episode.
    pub async fn act(&self, actor: &Actor, id: Uuid, action: AlertAction) -> ApiResult<AlertView> {
        actor.require(ALERTS_UPDATE)?;
        let txn = db::begin_write(&self.ctx.writer).await?;
        let mut row = db::alerts::find_alert_for_update(&txn, id)
            .await?
            .ok_or_else(not_found)?;
        let from = Lifecycle::parse(&row.lifecycle)
            .ok_or_else(|| db::unreadable("alert", id, "lifecycle"))?;
        let to = action.target(from)?;
        let at = now();
        let who = Some(actor.id);
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
                db::alerts::close_episode_of(&txn, id, at).await?;
            }
            AlertAction::Dismiss => {
                row.dismissed_at = Some(at);
                row.dismissed_by = who;
            }
        }
        row.lifecycle = to.as_str().to_owned();
        row.updated_at = at;
        let row = db::alerts::save_alert(&txn, row).await?;
        txn.commit().await?;
        AlertView::try_from(row)
    }

    /// `POST /alerting/crisis`: a `CRISIS` alert from a person, severity by the seed's rule,
    /// to the campaign's crisis contacts (SMS, WhatsApp, email), the crisis room (Slack) and
    /// the users whose preferences ask for it.
    pub async fn crisis(
        &self,
        actor: &Actor,
        input: impl TryInto<CrisisAlert, Error = ApiError>,
    ) -> ApiResult<AlertView> {
        let crisis = actor.admit(ALERTS_SEND, input)?;
        let campaign = self
            .ctx
            .campaigns()
            .find(CampaignId(crisis.campaign_id))
            .await?
            .ok_or_else(campaigns::not_found)?;
        let alert = NewAlert {
            campaign_id: Some(crisis.campaign_id),
            alert_type: AlertType::Crisis,
            severity: Severity::of_crisis_score(crisis.crisis_score),
            title: crisis_title(&crisis.triggers),
            message: crisis_message(&crisis, &campaign.name),
            data: serde_json::to_value(&crisis).map_err(ApiError::internal)?,
            source: AlertSource::Manual,
            raised_by: Some(actor.id),
            audience: Audience::Campaign,
        };
        self.raise_manual(alert).await
    }

    /// `POST /alerting/send`: a `MEDIUM` alert of its type over SMS to exactly its recipients.
    pub async fn send(
        &self,
        actor: &Actor,
        input: impl TryInto<ManualAlert, Error = ApiError>,
    ) -> ApiResult<AlertView> {
        let manual = actor.admit(ALERTS_SEND, input)?;
        if let Some(id) = manual.campaign_id {
            self.ctx.campaigns().check_exists(CampaignId(id)).await?;
        }
        let recipients = manual
            .recipients
            .into_iter()
            .map(|address| Recipient {
                channel: ChannelType::Sms,
                address,
                name: None,
            })
            .collect();
        let alert = NewAlert {
            campaign_id: manual.campaign_id,
            alert_type: manual.alert_type,
            severity: Severity::Medium,
            title: manual.alert_type.as_str().to_owned(),
            message: manual.message,
            data: Value::Object(Map::new()),
            source: AlertSource::Manual,
            raised_by: Some(actor.id),
            audience: Audience::Explicit(recipients),
        };
        self.raise_manual(alert).await
    }

    async fn raise_manual(&self, alert: NewAlert) -> ApiResult<AlertView> {
        self.raise(alert, None)
            .await?
            .ok_or_else(|| ApiError::internal("a manual alert has no episode to lose"))
    }

    /// `GET /alerting/queue`: the alerts that still want the caller's attention: lifecycle
    /// `new` and either still being delivered or unread; newest first, at most 100; only the
    /// campaigns the caller's preferences name, when they name some.
    pub async fn queue(&self, actor: &Actor) -> ApiResult<Vec<AlertView>> {
        actor.require(ALERTS_READ)?;
        let prefs = self.ctx.notifications().preferences_of(actor.id).await?;
        if prefs.campaigns.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new()); // follows no campaign
        }
        let rows = db::alerts::queue(&self.ctx.db, prefs.campaigns.as_deref(), QUEUE_LIMIT).await?;
        rows.into_iter().map(AlertView::try_from).collect()
    }
}
