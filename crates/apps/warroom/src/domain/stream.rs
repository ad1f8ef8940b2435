//! The vocabulary of War Room's live streams: the topics (`campaign:<id>` per campaign, and
//! `monitoring`, the feed of every campaign), seed 000's event types, and seed 001's
//! `StreamingData` payload with its kind and priority.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The feed of every campaign's events.
pub const FEED_TOPIC: &str = "monitoring";

/// The topic of one campaign's events.
pub fn campaign_topic(id: Uuid) -> String {
    format!("campaign:{id}")
}

/// The campaign a `campaign:<uuid>` topic names.
pub fn topic_campaign(topic: &str) -> Option<Uuid> {
    topic.strip_prefix("campaign:")?.parse().ok()
}

/// Seed 000's message types, the `type` of every event on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// A new mention (`StreamingData.type` MENTION).
    LivePost,
    /// Sentiment or volume moved (SENTIMENT, ENGAGEMENT, ...).
    TrendUpdate,
    /// A crisis alert was raised (CRISIS).
    CrisisAlert,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LivePost => "live_post",
            Self::TrendUpdate => "trend_update",
            Self::CrisisAlert => "crisis_alert",
        }
    }
}

/// Seed 001 `StreamingData.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum StreamingKind {
    Mention,
    Sentiment,
    Crisis,
    Engagement,
    Competitor,
    Influencer,
    Audit,
    Document,
}

/// Seed 001 `StreamingData.priority`, least to most urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

/// Seed 001 `StreamingData`: the `data` of every War Room event. On the wire an event is
/// `{ "type": "live_post", "seq", "topic", "at", "data": StreamingData }`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamingData<T> {
    #[serde(rename = "type")]
    pub kind: StreamingKind,
    pub campaign_id: Uuid,
    pub timestamp: DateTime<Utc>,
    pub data: T,
    pub priority: Priority,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_topic_names_its_campaign() {
        let id = Uuid::now_v7();
        assert_eq!(topic_campaign(&campaign_topic(id)), Some(id));
        assert_eq!(topic_campaign("campaign:not-a-uuid"), None);
        assert_eq!(topic_campaign(FEED_TOPIC), None);
    }
}
