//! Deliveries: one alert over one channel to one recipient. Their states, the view the alert
//! center shows, the idempotency key of each delivery's job, and how an alert's delivery
//! status rolls up from its deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::alerts::{AlertStatus, ChannelType};

/// One delivery's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its job (first run, or a retry after a passing failure).
    Queued,
    /// The vendor accepted it.
    Sent,
    /// Twilio's status callback reported it delivered (or read).
    Delivered,
    /// Refused (bad number, not configured) or reported undelivered: retrying cannot help.
    Failed,
    /// Retries used up (the job is in the dead-letter state; an admin may retry it).
    Dead,
}

names!(DeliveryState {
    Queued => "queued",
    Sent => "sent",
    Delivered => "delivered",
    Failed => "failed",
    Dead => "dead",
});

impl DeliveryState {
    pub fn is_success(self) -> bool {
        matches!(self, Self::Sent | Self::Delivered)
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued)
    }
}

/// One delivery of an alert: channel, recipient, and how it went.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub id: Uuid,
    pub channel: ChannelType,
    pub recipient: String,
    pub recipient_name: Option<String>,
    pub status: DeliveryState,
    /// Runs of its job so far.
    pub attempts: u32,
    /// Twilio's message sid (SMS, WhatsApp).
    pub vendor_message_id: Option<String>,
    /// The last status Twilio's callback reported.
    pub vendor_status: Option<String>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Its job in `/admin/api/jobs`.
    pub job_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The idempotency key of a delivery's job.
pub fn delivery_key(alert_id: Uuid, channel: ChannelType, recipient: &str) -> String {
    format!("alert:{alert_id}:{}:{recipient}", channel.column())
}

/// An alert's delivery status from its deliveries' states: `skipped` with none, `pending`
/// until one is attempted, `processing` until all are final, then `sent` (all succeeded),
/// `failed` (none did) or `partial`.
pub fn roll_up(states: &[DeliveryState], attempted: bool) -> AlertStatus {
    if states.is_empty() {
        return AlertStatus::Skipped;
    }
    let done = states.iter().filter(|s| s.is_final()).count();
    let ok = states.iter().filter(|s| s.is_success()).count();
    if done < states.len() {
        return if attempted || done > 0 {
            AlertStatus::Processing
        } else {
            AlertStatus::Pending
        };
    }
    match ok {
        0 => AlertStatus::Failed,
        n if n == states.len() => AlertStatus::Sent,
        _ => AlertStatus::Partial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryState::*;

    #[test]
    fn the_alert_status_rolls_up_from_its_deliveries() {
        assert_eq!(roll_up(&[], false), AlertStatus::Skipped);
        assert_eq!(roll_up(&[Queued, Queued], false), AlertStatus::Pending);
        assert_eq!(roll_up(&[Queued, Queued], true), AlertStatus::Processing);
        assert_eq!(roll_up(&[Sent, Queued], true), AlertStatus::Processing);
        assert_eq!(roll_up(&[Sent, Delivered], true), AlertStatus::Sent);
        assert_eq!(roll_up(&[Sent, Dead], true), AlertStatus::Partial);
        assert_eq!(roll_up(&[Failed, Dead], true), AlertStatus::Failed);
    }
}
