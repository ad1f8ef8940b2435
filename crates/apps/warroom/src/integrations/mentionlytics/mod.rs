//! Mentionlytics: social mentions for a campaign's keywords. `live` calls the vendor's API
//! (seed 001 `fetchMentionlyticsData`: `POST /mentions` with `{ keywords, limit, sort }` and a
//! Bearer `MENTIONLYTICS_TOKEN`); `mock` generates a realistic, deterministic stream.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod live;
pub mod mock;

/// What one poll asks for: the monitoring config's terms and the window since the last poll.
#[derive(Clone, Debug, PartialEq)]
pub struct MentionQuery {
    /// The monitoring config being polled (the mock seeds its stream with it).
    pub config_id: Uuid,
    pub campaign_id: Uuid,
    pub keywords: Vec<String>,
    pub competitors: Vec<String>,
    pub influencers: Vec<String>,
    /// Platforms to include (`twitter`, `facebook`, ...); empty means all.
    pub platforms: Vec<String>,
    /// Mentions published after this instant (exclusive) ...
    pub since: DateTime<Utc>,
    /// ... and up to this one (inclusive).
    pub until: DateTime<Utc>,
    /// At most this many mentions (the seed asks 1000 per call).
    pub limit: usize,
}

/// One mention as the source reports it (seed 001 `Mention`), before it is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceMention {
    /// The source's own id; mentions are deduplicated on it.
    pub source_id: String,
    pub text: String,
    pub author: String,
    pub platform: String,
    pub url: String,
    /// -1.0 ..= 1.0 when the source scored it; `None` and the mention is scored with VADER.
    pub sentiment: Option<f64>,
    pub reach: i64,
    pub engagement: i64,
    pub timestamp: DateTime<Utc>,
    pub location: Option<String>,
    pub language: String,
    /// Which configured term the mention matched (a keyword or a competitor name).
    pub matched: Option<String>,
}

/// Why a fetch failed. `Unconfigured` names the missing setting; the others are the vendor's.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("Mentionlytics is not configured: set {setting}")]
    Unconfigured { setting: &'static str },
    #[error("Mentionlytics is unavailable: {0}")]
    Unavailable(String),
    /// The vendor refused the request itself (a wrong token, a bad query): retrying the same
    /// request cannot help.
    #[error("Mentionlytics refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("Mentionlytics answered something we could not read: {0}")]
    BadResponse(String),
}

/// A source of mentions: `live::LiveMentionlytics` or `mock::MockMentionlytics`.
#[async_trait]
pub trait MentionSource: Send + Sync + 'static {
    /// Mentions of `query`'s terms in its window, newest first, at most `query.limit`.
    async fn fetch(&self, query: &MentionQuery) -> Result<Vec<SourceMention>, SourceError>;
}
