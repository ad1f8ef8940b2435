//! Alert delivery: the `alert.deliver` job (one per alert, channel and recipient) sending
//! through Twilio (SMS, WhatsApp), Slack and the mailer, recording each attempt's outcome on
//! its `alert_deliveries` row and rolling the alert's delivery status up from them; and
//! `Deliveries`, which applies Twilio's signed status callbacks (a sent message delivered or
//! failed).

use chrono::{DateTime, SubsecRound, Utc};
use platform::{
    ApiError,
    datamode::VendorState,
    error::{ApiResult, ErrorCode},
    jobs::{JobContext, JobError, JobHandler, RetryPolicy},
    vendor::VendorError,
};
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    Ctx,
    db::{self, alerts::AlertRow, deliveries::DeliveryRow},
    domain::{
        alerts::{AlertChannel, ChannelType},
        deliveries::{DeliveryState, roll_up},
    },
    integrations::{
        slack::Chat,
        twilio::{self, Channel, Messaging},
    },
};

/// The job kind.
pub const DELIVER: &str = "alert.deliver";

/// Twilio's longest body; longer alert texts are cut.
const MAX_MESSAGE_CHARS: usize = 1600;
/// Slack's limit on a section's text.
const MAX_SLACK_CHARS: usize = 3000;

/// The payload of an `alert.deliver` job.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverPayload {
    pub delivery_id: Uuid,
}

/// Runs `alert.deliver` jobs; its retry policy is `AlertingSettings::delivery_retry`.
pub struct DeliverAlert {
    ctx: Ctx,
}

impl DeliverAlert {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

/// Why one attempt failed.
enum Failure {
    /// May succeed later (vendor down, rate limited): retried, `dead` when attempts run out.
    Passing {
        message: String,
        retry_after: Option<std::time::Duration>,
    },
    /// Cannot succeed as things are (refused, not configured): `failed` at once.
    Lasting(String),
}

impl From<VendorError> for Failure {
    fn from(e: VendorError) -> Self {
        if e.is_retryable() {
            Self::Passing {
                retry_after: e.retry_after(),
                message: e.to_string(),
            }
        } else {
            Self::Lasting(e.to_string())
        }
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The text of an alert on a phone: `[SEVERITY] title`, then the message; a `generic`
/// alert (`/alerting/send`) is its message alone.
fn phone_text(alert: &AlertRow, bold: bool) -> String {
    let channels: Vec<AlertChannel> =
        serde_json::from_value(alert.channels.clone()).unwrap_or_default();
    if channels.iter().any(|c| c.template == "generic") {
        return cut(&alert.message, MAX_MESSAGE_CHARS);
    }
    let head = format!("[{}] {}", alert.severity, alert.title);
    let head = if bold { format!("*{head}*") } else { head };
    cut(&format!("{head}\n{}", alert.message), MAX_MESSAGE_CHARS)
}

impl DeliverAlert {
    async fn send(&self, alert: &AlertRow, d: &DeliveryRow) -> Result<Option<String>, Failure> {
        let ctx = &self.ctx;
        let channel = ChannelType::from_column(&d.channel)
            .ok_or_else(|| Failure::Lasting(format!("unknown channel {}", d.channel)))?;
        match channel {
            ChannelType::Sms | ChannelType::Whatsapp => {
                let (ch, bold) = match channel {
                    ChannelType::Sms => (Channel::Sms, false),
                    _ => (Channel::Whatsapp, true),
                };
                let sent = ctx
                    .vendors
                    .twilio
                    .send(ch, &d.recipient, &phone_text(alert, bold))
                    .await?;
                Ok(Some(sent.sid))
            }
            ChannelType::Slack => {
                let text = cut(
                    &format!("*[{}] {}*\n{}", alert.severity, alert.title, alert.message),
                    MAX_SLACK_CHARS,
                );
                let blocks = json!([
                    { "type": "section", "text": { "type": "mrkdwn", "text": text } },
                    { "type": "context", "elements": [{
                        "type": "mrkdwn",
                        "text": format!("War Room alert `{}` · {} · {}", alert.id, alert.alert_type, d.recipient)
                    }] }
                ]);
                ctx.vendors.slack.post(&text, Some(&blocks)).await?;
                Ok(None)
            }
            ChannelType::Email => {
                let mailer = &ctx.identity.mailer;
                if mailer.state() == VendorState::Unconfigured {
                    return Err(Failure::Lasting(
                        "email is not configured: set SMTP_URL".into(),
                    ));
                }
                let subject = format!("[War Room] {}: {}", alert.severity, alert.title);
                let body = format!(
                    "{}\n\nAlert {} ({}), raised {}.",
                    alert.message,
                    alert.id,
                    alert.alert_type,
                    alert.created_at.to_rfc3339()
                );
                mailer
                    .send(&d.recipient, &subject, &body)
                    .await
                    .map_err(|e| match e.code {
                        ErrorCode::Unavailable => Failure::Passing {
                            message: e.message,
                            retry_after: None,
                        },
                        _ => Failure::Lasting(e.message),
                    })?;
                Ok(None)
            }
            ChannelType::Push => Err(Failure::Lasting(
                "push notifications have no provider".into(),
            )),
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for DeliverAlert {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let p: DeliverPayload = job.payload()?;
        let conn = &self.ctx.db;
        let Some(mut d) = db::deliveries::find_delivery(conn, p.delivery_id).await? else {
            return Ok(()); // its alert was deleted
        };
        if DeliveryState::parse(&d.status).is_some_and(DeliveryState::is_success) {
            return Ok(()); // a repeated run after a crash: already done
        }
        let Some(alert) = db::alerts::find_alert(conn, d.alert_id).await? else {
            return Ok(());
        };
        d.attempts = i32::try_from(job.attempt()).unwrap_or(i32::MAX);
        d.status = DeliveryState::Queued.as_str().to_owned();
        d.updated_at = now();
        let d = record(&self.ctx, d).await?;
        let outcome = self.send(&alert, &d).await;
        let mut d = d;
        d.updated_at = now();
        match outcome {
            Ok(message_id) => {
                d.status = DeliveryState::Sent.as_str().to_owned();
                d.vendor_message_id = message_id;
                d.error = None;
                d.sent_at = Some(d.updated_at);
                record(&self.ctx, d).await?;
                Ok(())
            }
            Err(Failure::Passing {
                message,
                retry_after,
            }) => {
                let last = job.is_last_attempt();
                let state = if last {
                    DeliveryState::Dead
                } else {
                    DeliveryState::Queued
                };
                d.status = state.as_str().to_owned();
                d.error = Some(message.clone());
                record(&self.ctx, d).await?;
                tracing::warn!(delivery = %p.delivery_id, attempt = job.attempt(), last, error = %message, "alert delivery failed");
                Err(match retry_after {
                    Some(wait) => JobError::RetryAfter(wait, message),
                    None => JobError::Retry(message),
                })
            }
            Err(Failure::Lasting(message)) => {
                d.status = DeliveryState::Failed.as_str().to_owned();
                d.error = Some(message.clone());
                record(&self.ctx, d).await?;
                tracing::warn!(delivery = %p.delivery_id, error = %message, "alert delivery refused");
                Err(JobError::Permanent(message))
            }
        }
    }

    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(self.ctx.alerting.delivery_retry)
    }
}

/// Saves a delivery and rolls its alert's status up, in one transaction that locks the alert,
/// so two deliveries finishing at once cannot leave a stale roll-up.
async fn record(ctx: &Ctx, d: DeliveryRow) -> Result<DeliveryRow, DbErr> {
    let txn = db::begin_write(&ctx.writer).await?;
    let Some(mut alert) = db::alerts::find_alert_for_update(&txn, d.alert_id).await? else {
        return Ok(d);
    };
    let d = db::deliveries::save_delivery(&txn, d).await?;
    let all = db::deliveries::deliveries_of(&txn, alert.id).await?;
    let states: Vec<DeliveryState> = all
        .iter()
        .filter_map(|r| DeliveryState::parse(&r.status))
        .collect();
    let attempted = all.iter().any(|r| r.attempts > 0);
    let status = roll_up(&states, attempted);
    if status.as_str() != alert.status {
        alert.status = status.as_str().to_owned();
        if status.is_final() && alert.processed_at.is_none() {
            alert.processed_at = Some(now());
        }
        alert.updated_at = now();
        db::alerts::save_alert(&txn, alert).await?;
    }
    txn.commit().await?;
    Ok(d)
}

/// The parts of Twilio's status callback we act on.
#[derive(Clone, Debug, Deserialize)]
pub struct TwilioStatus {
    #[serde(rename = "MessageSid")]
    pub message_sid: String,
    #[serde(rename = "MessageStatus")]
    pub message_status: String,
    #[serde(rename = "ErrorCode", default)]
    pub error_code: Option<String>,
}

/// Deliveries as Twilio reports on them.
#[derive(Clone)]
pub struct Deliveries {
    ctx: Ctx,
}

impl Ctx {
    pub fn deliveries(&self) -> Deliveries {
        Deliveries { ctx: self.clone() }
    }
}

impl Deliveries {
    /// The URL Twilio signed a status callback over: `TWILIO_STATUS_CALLBACK_URL` when set
    /// (the URL Twilio was told to call), else the public URL plus the path and query
    /// requested.
    pub fn callback_url(&self, path_and_query: &str) -> String {
        match &self.ctx.vendors.twilio.live().config().status_callback {
            Some(url) => url.clone(),
            None => format!("{}{path_and_query}", self.ctx.alerting.public_url),
        }
    }

    /// Refuses (403) a callback without a valid `X-Twilio-Signature`, or any callback when no
    /// auth token is configured (nothing to check it with).
    pub fn verify_twilio(
        &self,
        url: &str,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> ApiResult<()> {
        let Some(token) = self.ctx.vendors.twilio.auth_token() else {
            return Err(ApiError::forbidden(
                "Twilio callbacks cannot be verified: TWILIO_TOKEN is not set",
            ));
        };
        match signature {
            Some(sig) if twilio::valid_twilio_signature(token.expose(), url, params, sig) => Ok(()),
            Some(_) => Err(ApiError::forbidden("invalid X-Twilio-Signature")),
            None => Err(ApiError::forbidden("missing X-Twilio-Signature")),
        }
    }

    /// Applies a verified status callback to the delivery with its sid (none: nothing to do;
    /// Twilio also reports messages sent with `/notifications/sms`). `delivered`/`read` make
    /// it `delivered`, `undelivered`/`failed` make it `failed`; earlier states (`queued`,
    /// `sent`, ...) are recorded in `vendorStatus` only, and never move a delivered message
    /// back.
    pub async fn twilio_status(&self, s: &TwilioStatus) -> ApiResult<()> {
        let Some(mut d) =
            db::deliveries::delivery_by_vendor_id(&self.ctx.db, &s.message_sid).await?
        else {
            return Ok(());
        };
        let status = s.message_status.trim().to_ascii_lowercase();
        let current = DeliveryState::parse(&d.status);
        match status.as_str() {
            "delivered" | "read" => d.status = DeliveryState::Delivered.as_str().to_owned(),
            "undelivered" | "failed" => {
                d.status = DeliveryState::Failed.as_str().to_owned();
                d.error = Some(match s.error_code.as_deref().filter(|c| !c.is_empty()) {
                    Some(code) => format!("Twilio reported the message {status} (error {code})"),
                    None => format!("Twilio reported the message {status}"),
                });
            }
            _ if current == Some(DeliveryState::Delivered) => return Ok(()),
            _ => {}
        }
        d.vendor_status = Some(status.chars().take(40).collect());
        d.updated_at = now();
        record(&self.ctx, d).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_to_the_limit() {
        let long = "x".repeat(2000);
        let c = cut(&long, MAX_MESSAGE_CHARS);
        assert_eq!(c.chars().count(), MAX_MESSAGE_CHARS);
        assert!(c.ends_with('…'));
        assert_eq!(cut("short", 10), "short");
    }
}
