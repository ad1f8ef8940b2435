//! The alert domain: seed 001's `AlertPayload` vocabulary (types, severities, channels), the
//! alert center's lifecycle, delivery states, and the views the API answers with.

use chrono::{DateTime, Utc};
use platform::{
    ApiError,
    error::{ApiResult, ErrorDetails},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    db::alerts::{AlertRow, DeliveryRow},
    service::stream::Priority,
};

/// `as_str`, `parse` and `ALL` for an enum stored and sent as a fixed string.
macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// Every name, for an error message.
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

/// Seed 001 `AlertPayload.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertType {
    Crisis,
    Sentiment,
    MentionSpike,
    EngagementDrop,
    Competitor,
}

names!(AlertType {
    Crisis => "CRISIS",
    Sentiment => "SENTIMENT",
    MentionSpike => "MENTION_SPIKE",
    EngagementDrop => "ENGAGEMENT_DROP",
    Competitor => "COMPETITOR",
});

/// Seed 001 `AlertPayload.severity`, least to most severe.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

names!(Severity {
    Low => "LOW",
    Medium => "MEDIUM",
    High => "HIGH",
    Critical => "CRITICAL",
});

impl Severity {
    /// Seed 001 `sendCrisisAlert`: `crisisScore > 0.8 ? "CRITICAL" : "HIGH"`.
    pub fn of_crisis_score(score: f64) -> Self {
        if score > 0.8 {
            Self::Critical
        } else {
            Self::High
        }
    }

    /// The `StreamingData.priority` of an alert of this severity.
    pub fn priority(self) -> Priority {
        match self {
            Self::Low => Priority::Low,
            Self::Medium => Priority::Medium,
            Self::High => Priority::High,
            Self::Critical => Priority::Critical,
        }
    }
}

/// Where an alert is in the alert center; separate from its delivery status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    New,
    Acknowledged,
    Resolved,
    Dismissed,
}

names!(Lifecycle {
    New => "new",
    Acknowledged => "acknowledged",
    Resolved => "resolved",
    Dismissed => "dismissed",
});

/// Seed 001 `alerts.status`: how far delivery has got, rolled up from the deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Queued; no delivery attempted yet.
    Pending,
    /// Some deliveries attempted, some still to finish.
    Processing,
    /// Every delivery sent.
    Sent,
    /// Finished; some sent, some failed.
    Partial,
    /// Finished; none sent.
    Failed,
    /// Nobody to deliver to (no contacts, nobody opted in).
    Skipped,
}

names!(AlertStatus {
    Pending => "pending",
    Processing => "processing",
    Sent => "sent",
    Partial => "partial",
    Failed => "failed",
    Skipped => "skipped",
});

impl AlertStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Processing)
    }
}

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

/// Seed 001 `AlertChannel.type`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChannelType {
    Sms,
    Whatsapp,
    Email,
    Slack,
    Push,
}

names!(ChannelType {
    Sms => "SMS",
    Whatsapp => "WHATSAPP",
    Email => "EMAIL",
    Slack => "SLACK",
    Push => "PUSH",
});

impl ChannelType {
    /// The `alert_deliveries.channel` value.
    pub fn column(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
            Self::Email => "email",
            Self::Slack => "slack",
            Self::Push => "push",
        }
    }

    pub fn from_column(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.column() == s)
    }
}

/// Seed 001 `AlertChannel`: a channel, its recipients and the template used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertChannel {
    #[serde(rename = "type")]
    pub channel: ChannelType,
    pub recipients: Vec<String>,
    pub template: String,
}

/// Who raised an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    /// The crisis detector, from the mention stream.
    Detector,
    /// A user, through `/alerting/crisis` or `/alerting/send`.
    Manual,
}

names!(AlertSource {
    Detector => "detector",
    Manual => "manual",
});

/// An alert: seed 001's `AlertPayload` (`id`, `type`, `severity`, `campaignId`, `title`,
/// `message`, `data`, `channels`, `timestamp`) plus its delivery `status` and the alert
/// center's `lifecycle` with who moved it and when.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub alert_type: AlertType,
    pub severity: Severity,
    /// `null` for an alert sent with `/alerting/send` without a campaign.
    pub campaign_id: Option<Uuid>,
    pub title: String,
    pub message: String,
    /// For `CRISIS`, a `CrisisAlert` (plus the detector's `detection` when it raised it);
    /// for the detector's other types, its reading; for `/alerting/send`, `{}`.
    #[schema(value_type = Object)]
    pub data: Value,
    pub channels: Vec<AlertChannel>,
    /// When the alert was raised (the seed's name; `createdAt` is the same instant).
    pub timestamp: DateTime<Utc>,
    pub status: AlertStatus,
    pub lifecycle: Lifecycle,
    pub source: AlertSource,
    /// The user who raised a manual alert.
    pub raised_by: Option<Uuid>,
    pub read_at: Option<DateTime<Utc>>,
    pub read_by: Option<Uuid>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub dismissed_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the delivery status became final.
    pub processed_at: Option<DateTime<Utc>>,
}

impl AlertView {
    /// A stored row as the API shows it; a value this module did not write is an error.
    pub fn from_row(r: AlertRow) -> ApiResult<Self> {
        let bad = |what: &str| ApiError::internal(format!("alert {}: stored {what} unknown", r.id));
        let channels: Vec<AlertChannel> =
            serde_json::from_value(r.channels.clone()).map_err(|_| bad("channels"))?;
        Ok(Self {
            id: r.id,
            alert_type: AlertType::parse(&r.alert_type).ok_or_else(|| bad("type"))?,
            severity: Severity::parse(&r.severity).ok_or_else(|| bad("severity"))?,
            campaign_id: r.campaign_id,
            status: AlertStatus::parse(&r.status).ok_or_else(|| bad("status"))?,
            lifecycle: Lifecycle::parse(&r.lifecycle).ok_or_else(|| bad("lifecycle"))?,
            source: AlertSource::parse(&r.source).ok_or_else(|| bad("source"))?,
            title: r.title,
            message: r.message,
            data: r.data,
            channels,
            timestamp: r.created_at,
            raised_by: r.raised_by,
            read_at: r.read_at,
            read_by: r.read_by,
            acknowledged_at: r.acknowledged_at,
            acknowledged_by: r.acknowledged_by,
            resolved_at: r.resolved_at,
            resolved_by: r.resolved_by,
            dismissed_at: r.dismissed_at,
            dismissed_by: r.dismissed_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            processed_at: r.processed_at,
        })
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

impl DeliveryView {
    pub fn from_row(r: DeliveryRow) -> ApiResult<Self> {
        let bad =
            |what: &str| ApiError::internal(format!("delivery {}: stored {what} unknown", r.id));
        Ok(Self {
            id: r.id,
            channel: ChannelType::from_column(&r.channel).ok_or_else(|| bad("channel"))?,
            status: DeliveryState::parse(&r.status).ok_or_else(|| bad("status"))?,
            recipient: r.recipient,
            recipient_name: r.recipient_name,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            vendor_message_id: r.vendor_message_id,
            vendor_status: r.vendor_status,
            error: r.error,
            job_id: r.job_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            sent_at: r.sent_at,
        })
    }
}

/// `GET /alerts/{id}`: the alert and each delivery's outcome.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertView,
    pub deliveries: Vec<DeliveryView>,
}

/// `POST /alerts/{id}/actions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertAction {
    /// Marks it read (any lifecycle; repeating it keeps the first reading).
    Read,
    /// `new` → `acknowledged`.
    Acknowledge,
    /// `new` or `acknowledged` → `resolved`; closes the detector's episode, so a breach that
    /// continues raises a new alert.
    Resolve,
    /// `new` or `acknowledged` → `dismissed`; the episode stays open (no new alert until it
    /// has been quiet for the cool-down).
    Dismiss,
}

names!(AlertAction {
    Read => "read",
    Acknowledge => "acknowledge",
    Resolve => "resolve",
    Dismiss => "dismiss",
});

impl AlertAction {
    /// The lifecycle after the action, or `failed_precondition` naming the current one.
    pub fn target(self, from: Lifecycle) -> ApiResult<Lifecycle> {
        use Lifecycle::{Acknowledged, Dismissed, New, Resolved};
        let to = match (self, from) {
            (Self::Read, any) => Some(any),
            (Self::Acknowledge, New) => Some(Acknowledged),
            (Self::Resolve, New | Acknowledged) => Some(Resolved),
            (Self::Dismiss, New | Acknowledged) => Some(Dismissed),
            _ => None,
        };
        to.ok_or_else(|| {
            ApiError::precondition(format!(
                "cannot {} an alert that is {}",
                self.as_str(),
                from.as_str()
            ))
            .with_details(ErrorDetails::Lifecycle {
                lifecycle: from.as_str().into(),
            })
        })
    }
}

/// Seed 001 `CrisisAlert`: the body of `POST /alerting/crisis`, and the `data` of every
/// `CRISIS` alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrisisAlert {
    pub campaign_id: Uuid,
    /// 0 to 1; above 0.8 the alert is `CRITICAL`, else `HIGH`.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub crisis_score: f64,
    /// What set it off; 1 to 20, each 1 to 200 characters.
    pub triggers: Vec<String>,
    /// At most 20, each 1 to 50 characters.
    #[serde(default)]
    pub affected_platforms: Vec<String>,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub estimated_reach: u64,
    /// The change in average sentiment, -2 to 2 (a drop is negative).
    #[serde(default)]
    #[schema(minimum = -2.0, maximum = 2.0)]
    pub sentiment_impact: f64,
    /// At most 20, each 1 to 500 characters.
    #[serde(default)]
    pub recommended_actions: Vec<String>,
}

/// The seed's `generateCrisisMessage` (which it leaves unwritten): the score, triggers, reach,
/// sentiment impact and recommended actions in a few lines, for people reading it on a phone.
pub fn crisis_message(c: &CrisisAlert, campaign_name: &str) -> String {
    let severity = Severity::of_crisis_score(c.crisis_score);
    let mut out = format!(
        "Crisis score {:.2} ({}) for {campaign_name}.\nTriggers: {}.",
        c.crisis_score,
        severity.as_str(),
        c.triggers.join(", ")
    );
    if !c.affected_platforms.is_empty() {
        out.push_str(&format!(
            "\nAffected platforms: {}.",
            c.affected_platforms.join(", ")
        ));
    }
    out.push_str(&format!(
        "\nEstimated reach: {}. Sentiment impact: {:+.2}.",
        c.estimated_reach, c.sentiment_impact
    ));
    if !c.recommended_actions.is_empty() {
        out.push_str("\nRecommended actions:");
        for (i, a) in c.recommended_actions.iter().enumerate() {
            out.push_str(&format!("\n{}. {a}", i + 1));
        }
    }
    out
}

/// The seed's crisis title: `🚨 CRISIS ALERT: <triggers>`.
pub fn crisis_title(triggers: &[String]) -> String {
    format!("🚨 CRISIS ALERT: {}", triggers.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_severity_rule_puts_0_8_at_high_and_above_it_at_critical() {
        assert_eq!(Severity::of_crisis_score(0.8), Severity::High);
        assert_eq!(Severity::of_crisis_score(0.81), Severity::Critical);
        assert_eq!(Severity::of_crisis_score(0.0), Severity::High);
        assert_eq!(Severity::of_crisis_score(1.0), Severity::Critical);
    }

    #[test]
    fn severities_order_from_low_to_critical() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::High < Severity::Critical);
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("high"), None);
    }

    #[test]
    fn only_open_alerts_can_be_acknowledged_resolved_or_dismissed() {
        use Lifecycle::*;
        assert_eq!(AlertAction::Acknowledge.target(New).unwrap(), Acknowledged);
        assert!(AlertAction::Acknowledge.target(Acknowledged).is_err());
        assert_eq!(AlertAction::Resolve.target(Acknowledged).unwrap(), Resolved);
        assert_eq!(AlertAction::Dismiss.target(New).unwrap(), Dismissed);
        assert!(AlertAction::Resolve.target(Dismissed).is_err());
        assert!(AlertAction::Dismiss.target(Resolved).is_err());
        for from in [New, Acknowledged, Resolved, Dismissed] {
            assert_eq!(AlertAction::Read.target(from).unwrap(), from);
        }
    }

    #[test]
    fn the_crisis_message_names_score_triggers_and_actions() {
        let c = CrisisAlert {
            campaign_id: Uuid::nil(),
            crisis_score: 0.86,
            triggers: vec!["Negative surge".into(), "Mention spike".into()],
            affected_platforms: vec!["twitter".into()],
            estimated_reach: 120_000,
            sentiment_impact: -0.45,
            recommended_actions: vec!["Hold a briefing".into()],
        };
        let m = crisis_message(&c, "Harbor County");
        assert!(m.starts_with("Crisis score 0.86 (CRITICAL) for Harbor County."));
        assert!(m.contains("Triggers: Negative surge, Mention spike."));
        assert!(m.contains("Estimated reach: 120000. Sentiment impact: -0.45."));
        assert!(m.contains("1. Hold a briefing"));
        assert_eq!(
            crisis_title(&c.triggers),
            "🚨 CRISIS ALERT: Negative surge, Mention spike"
        );
    }
}
