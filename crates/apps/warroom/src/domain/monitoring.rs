//! Monitoring: seed 001's `MonitoringConfig` (what to watch for a campaign, how often, and its
//! `AlertThresholds`), its checked input and the rules of its terms, the stored config as the
//! API shows it, and a stored mention on the wire (shared with analytics and the streams).

use chrono::{DateTime, Utc};
use platform::{
    ApiError,
    error::ErrorDetails,
    validate::{Paging, Problems},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{campaigns::CampaignId, sentiment::SentimentLabel};

/// The platforms a config may name (an empty list means all of them).
pub const PLATFORMS: [&str; 8] = [
    "twitter",
    "facebook",
    "instagram",
    "tiktok",
    "youtube",
    "reddit",
    "news",
    "google",
];
/// Keywords per config.
pub const KEYWORDS_MAX: usize = 50;
/// Competitors, and influencers, per config.
pub const TERMS_MAX: usize = 50;
/// Characters in one keyword, competitor or influencer (after trimming).
pub const TERM_CHARS: std::ops::RangeInclusive<usize> = 1..=100;
/// Seconds between polls.
pub const REFRESH_INTERVAL: std::ops::RangeInclusive<f64> = 10.0..=86_400.0;
pub const REFRESH_INTERVAL_DEFAULT: i32 = 60;

/// A monitoring config's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfigId(pub Uuid);

impl From<Uuid> for ConfigId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl std::fmt::Display for ConfigId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConfigStatus {
    /// Polled every `refreshInterval`.
    Active,
    /// Not polled; its mentions stay.
    Stopped,
}

names!(ConfigStatus {
    Active => "active",
    Stopped => "stopped",
});

// Seed 001 `AlertThresholds`.
/// When monitoring raises an alert.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertThresholds {
    /// A fall in average sentiment on the -1..1 scale: -0.3 alerts when the recent average is
    /// 0.3 or more below the usual one (a relative drop from a small average is noise).
    pub sentiment_drop: f64,
    /// A rise in mention volume, as a multiple: 5 = five times the usual rate.
    pub mention_spike: f64,
    /// Crisis probability, 0 to 1, at or above which a crisis is declared.
    pub crisis_score: f64,
    /// A fall in median engagement per mention, as a fraction: -0.5 = a 50% drop.
    pub engagement_drop: f64,
}

impl Default for AlertThresholds {
    /// The seed's examples.
    fn default() -> Self {
        Self {
            sentiment_drop: -0.3,
            mention_spike: 5.0,
            crisis_score: 0.8,
            engagement_drop: -0.5,
        }
    }
}

/// A checked config: what `Monitoring::create` and `update` take.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigInput {
    pub campaign_id: CampaignId,
    /// `None`: take the campaign's keywords.
    pub keywords: Option<Vec<String>>,
    pub competitors: Vec<String>,
    pub influencers: Vec<String>,
    /// Empty means every platform.
    pub platforms: Vec<String>,
    pub alert_thresholds: AlertThresholds,
    pub refresh_interval: i32,
}

/// A checked `GET /monitoring/config` query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigQuery {
    /// Only this campaign's configs.
    pub campaign: Option<CampaignId>,
    pub status: Option<ConfigStatus>,
    pub paging: Paging,
}

/// Trimmed terms, case-insensitive repeats dropped (the first stays); `min..=max` of them,
/// each within [`TERM_CHARS`]. What is wrong is recorded in `p` under `name`.
pub fn terms(
    items: &[String],
    name: &str,
    min: usize,
    max: usize,
    p: &mut Problems,
) -> Vec<String> {
    if items.len() > max || items.len() < min {
        let message = if min > 0 {
            format!("must list {min} to {max} terms")
        } else {
            format!("at most {max} terms")
        };
        p.push(name, message);
    }
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, s) in items.iter().enumerate() {
        let trimmed = s.trim();
        if trimmed.is_empty() || !TERM_CHARS.contains(&trimmed.chars().count()) {
            p.push(
                format!("{name}[{i}]"),
                "must be 1 to 100 characters, not blank",
            );
        } else if seen.insert(trimmed.to_lowercase()) {
            out.push(trimmed.to_owned());
        }
    }
    out
}

/// A campaign's keywords as a config's: the usable ones (at most 100 characters), at most
/// [`KEYWORDS_MAX`], trimmed and without repeats.
pub fn campaign_terms(keywords: impl IntoIterator<Item = String>) -> Vec<String> {
    let usable: Vec<String> = keywords
        .into_iter()
        .filter(|k| TERM_CHARS.contains(&k.trim().chars().count()))
        .take(KEYWORDS_MAX)
        .collect();
    terms(&usable, "keywords", 0, KEYWORDS_MAX, &mut Problems::new())
}

// Seed 001 `MonitoringConfig`, plus id, state and polling record.
/// A stored config with its id, state and polling record. The
/// `GET`/`PUT`/stop/start answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringConfigView {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub keywords: Vec<String>,
    pub competitors: Vec<String>,
    pub influencers: Vec<String>,
    /// Empty means every platform.
    pub platforms: Vec<String>,
    pub alert_thresholds: AlertThresholds,
    /// Seconds between polls.
    pub refresh_interval: i32,
    pub status: ConfigStatus,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// Mentions published up to this instant have been fetched.
    pub polled_until: Option<DateTime<Utc>>,
    /// When the last poll finished (or failed).
    pub last_polled_at: Option<DateTime<Utc>>,
    /// When the next poll is due; `null` while stopped.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Why the last poll failed; `null` after a poll that worked.
    pub last_error: Option<String>,
    /// Mentions this config has stored (duplicates not counted).
    pub mentions_ingested: i64,
}

impl MonitoringConfigView {
    pub fn is_active(&self) -> bool {
        self.status == ConfigStatus::Active
    }
}

// Seed 001 `Mention`, plus campaign, source id, label, scorer and matched term.
/// A stored mention (`id`, `text`, `author`, `platform`, `url`, `sentiment`, `reach`, `engagement`, `timestamp`, `location`, `language`) plus its
/// campaign, the source's id, the sentiment label and who scored it, and the term it matched.
/// The `data` of a `live_post`, and the item of the mention lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MentionView {
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// The source's own id (mentions are deduplicated on it, per campaign).
    pub source_id: String,
    pub text: String,
    pub author: String,
    pub platform: String,
    pub url: String,
    /// -1 to 1.
    pub sentiment: f64,
    pub sentiment_label: SentimentLabel,
    /// `source` when the source scored the mention, `vader` when War Room did.
    pub sentiment_source: String,
    pub reach: i64,
    pub engagement: i64,
    pub timestamp: DateTime<Utc>,
    pub location: Option<String>,
    pub language: String,
    /// The keyword or competitor the mention matched.
    pub matched: Option<String>,
}

/// 404 "Monitoring config not found".
pub fn not_found() -> ApiError {
    ApiError::not_found("Monitoring config not found")
}

/// 409 naming the campaign and, when known, its active config.
pub fn already_monitored(campaign: CampaignId, existing: Option<Uuid>) -> ApiError {
    ApiError::conflict("The campaign already has an active monitoring config").with_details(
        ErrorDetails::Conflicts(
            [("campaignId", Some(campaign.0)), ("configId", existing)]
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                .collect(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_trimmed_and_case_insensitive_repeats_dropped() {
        let mut p = Problems::new();
        let items = [" Rivera ", "rivera", "Harbor Bridge"].map(String::from);
        assert_eq!(
            terms(&items, "keywords", 1, KEYWORDS_MAX, &mut p),
            ["Rivera", "Harbor Bridge"]
        );
        assert!(p.is_empty());
        terms(&[" ".into()], "competitors", 0, TERMS_MAX, &mut p);
        terms(&[], "keywords", 1, KEYWORDS_MAX, &mut p);
        assert_eq!(p.fields(), ["competitors[0]", "keywords"]);
    }

    #[test]
    fn a_campaigns_keywords_become_terms_without_the_unusable_ones() {
        let long = "x".repeat(101);
        let got = campaign_terms(["Jobs".into(), long, " jobs ".into(), "Schools".into()]);
        assert_eq!(got, ["Jobs", "Schools"]);
    }
}
