//! Alerts: seed 001's `AlertPayload` vocabulary (types, severities, channels, sources), the
//! alert center's lifecycle and its actions, the delivery status rolled up from deliveries,
//! an alert about to be raised and who it goes to, seed 001's `CrisisAlert` and its text,
//! and the crisis room every crisis is posted to.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use platform::{
    ApiError,
    error::{ApiResult, ErrorDetails},
    validate::Paging,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{deliveries::DeliveryView, notifications::Recipient, stream::Priority};

/// The Slack "recipient" of crisis posts: the incoming webhook decides the channel; this names
/// the one the seed posts to.
pub const CRISIS_ROOM: &str = "#crisis-room";

// Seed 001 `AlertPayload.type`.
/// What raised the alert.
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

// Seed 001 `AlertPayload.severity`.
/// How severe an alert is, least to most severe.
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

// Seed 001 `alerts.status`.
/// How far delivery has got, rolled up from the deliveries.
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

// Seed 001 `AlertChannel.type`.
/// A delivery channel.
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

// Seed 001 `AlertChannel`.
/// A channel, its recipients and the template used.
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

// Seed 001's `AlertPayload`, plus our delivery status and lifecycle.
/// An alert (`id`, `type`, `severity`, `campaignId`, `title`, `message`, `data`, `channels`,
/// `timestamp`) with its delivery `status` and the alert
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
    /// When the alert was raised (`createdAt` is the same instant).
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

/// A checked `GET /alerts` query: the filters (every one given narrows the list) and the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertQuery {
    pub lifecycle: Option<Lifecycle>,
    pub status: Option<AlertStatus>,
    pub severity: Option<Severity>,
    pub alert_type: Option<AlertType>,
    pub campaign_id: Option<Uuid>,
    /// `true`: only alerts nobody has read; `false`: only read ones.
    pub unread: Option<bool>,
    pub paging: Paging,
}

/// A checked `/alerting/send`: a `MEDIUM` alert of `alert_type` over SMS to exactly these
/// numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManualAlert {
    pub alert_type: AlertType,
    /// Trimmed, 1 to 1600 characters.
    pub message: String,
    /// Trimmed E.164 numbers, 1 to 50.
    pub recipients: Vec<String>,
    pub campaign_id: Option<Uuid>,
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

impl NewAlert {
    /// The template name (seed 001 `AlertChannel.template`) of its deliveries on `channel`.
    fn template(&self, channel: ChannelType) -> String {
        if matches!(self.audience, Audience::Explicit(_)) {
            return "generic".into();
        }
        let prefix = if self.alert_type == AlertType::Crisis {
            "crisis"
        } else {
            "alert"
        };
        format!("{prefix}_{}", channel.column())
    }

    /// `AlertChannel[]`: `recipients` grouped by channel, in channel order.
    pub fn channels(&self, recipients: &[Recipient]) -> Vec<AlertChannel> {
        let mut by: BTreeMap<ChannelType, Vec<String>> = BTreeMap::new();
        for r in recipients {
            by.entry(r.channel).or_default().push(r.address.clone());
        }
        by.into_iter()
            .map(|(channel, recipients)| AlertChannel {
                channel,
                recipients,
                template: self.template(channel),
            })
            .collect()
    }
}

/// 404 "Alert not found".
pub fn not_found() -> ApiError {
    ApiError::not_found("Alert not found")
}

// Seed 001 `CrisisAlert`.
/// A crisis: the body of `POST /alerting/crisis`, and the `data` of every `CRISIS` alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"campaignId": "3f2b9c1e-7a4d-4e8f-9b6a-2c5d8e1f4a70", "crisisScore": 0.82, "triggers": ["negative sentiment spike", "viral post"], "affectedPlatforms": ["twitter", "facebook"], "estimatedReach": 150000, "sentimentImpact": -0.6, "recommendedActions": ["Publish a statement within the hour"]}))]
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
