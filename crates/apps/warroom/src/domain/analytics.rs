//! Mention analytics: which mentions a read covers (campaign, time window, platform, filters,
//! the feed's cursor) and its bounds, and what the read endpoints return: seed 001's `Mention`
//! and `MentionlyticsData`, and Basalt's shapes where the seeds say `any` (sentiment analysis,
//! trending terms, share of voice, influencers, locations, platform trends, the feed). Shares
//! and changes are percents.

use chrono::{DateTime, Duration, Utc};
use platform::validate::Paging;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{campaigns::CampaignId, sentiment::SentimentLabel};

/// A stored mention (seed 001 `Mention`, with its campaign, label and match): the same wire
/// type as a `live_post`'s data.
pub use super::monitoring::MentionView as MentionItem;

/// The window when neither `start` nor `hours` is given: the last 24 hours.
pub const HOURS_DEFAULT: i64 = 24;
/// `hours` is 1 to 720 (30 days).
pub const HOURS_MAX: i64 = 720;
/// No window spans more than 90 days, so no read scans unbounded history.
pub const WINDOW_MAX_DAYS: i64 = 90;
/// Longest `q`, `keyword` and `platform` values.
pub const TEXT_MAX_CHARS: usize = 200;

/// A half-open time window `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TimeWindow)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn length(&self) -> Duration {
        self.end - self.start
    }

    /// The window of the same length just before this one (for growth and change figures).
    pub fn previous(&self) -> Window {
        Window {
            start: self.start - self.length(),
            end: self.start,
        }
    }

    /// The window's last `hours` before `now`.
    pub fn last_hours(now: DateTime<Utc>, hours: i64) -> Window {
        Window {
            start: now - Duration::hours(hours),
            end: now,
        }
    }
}

/// The time-series bucket size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SeriesInterval)]
pub enum Interval {
    Hour,
    Day,
}

names!(Interval {
    Hour => "hour",
    Day => "day",
});

impl Interval {
    /// Hours for windows up to three days, days beyond.
    pub fn for_window(w: &Window) -> Self {
        if w.length() <= Duration::hours(72) {
            Self::Hour
        } else {
            Self::Day
        }
    }

    pub fn duration(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::days(1),
        }
    }
}

/// A checked read and the campaign it names, if any: the one that must exist.
pub trait Scoped {
    fn campaign(&self) -> Option<CampaignId>;
}

impl Scoped for Scope {
    fn campaign(&self) -> Option<CampaignId> {
        self.campaign
    }
}

/// Reads whose campaign is their scope's.
macro_rules! scoped {
    ($($ty:ty),+) => {$(
        impl Scoped for $ty {
            fn campaign(&self) -> Option<CampaignId> {
                self.scope.campaign
            }
        }
    )+};
}

scoped!(MentionsQuery, SentimentQuery, TopQuery, ScopePage);

impl Scoped for FeedQuery {
    fn campaign(&self) -> Option<CampaignId> {
        self.campaign
    }
}

/// Where a feed reader stopped: the id of the last mention it saw, or an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    Mention(Uuid),
    At(DateTime<Utc>),
}

/// Which mentions a read covers: one campaign or all, a window, optionally one platform.
#[derive(Clone, Debug, PartialEq)]
pub struct Scope {
    pub campaign: Option<CampaignId>,
    pub window: Window,
    /// Lowercase.
    pub platform: Option<String>,
}

/// The narrowing a mention list takes on top of its scope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MentionQuery {
    pub sentiment: Option<SentimentLabel>,
    /// Lowercase; the text contains it.
    pub text: Option<String>,
    /// Lowercase; the mention matched it, or its text contains it.
    pub keyword: Option<String>,
}

/// A checked mention list: the scope, the narrowing, the page.
#[derive(Clone, Debug, PartialEq)]
pub struct MentionsQuery {
    pub scope: Scope,
    pub filter: MentionQuery,
    pub paging: Paging,
}

/// A checked sentiment read: the scope and the series' bucket size.
#[derive(Clone, Debug, PartialEq)]
pub struct SentimentQuery {
    pub scope: Scope,
    pub interval: Interval,
}

/// A checked top-N read (trending terms): the scope and how many.
#[derive(Clone, Debug, PartialEq)]
pub struct TopQuery {
    pub scope: Scope,
    pub limit: u64,
}

/// A checked paged read over a scope (influencers, locations).
#[derive(Clone, Debug, PartialEq)]
pub struct ScopePage {
    pub scope: Scope,
    pub paging: Paging,
}

/// The feed's parameters: which mentions, after which cursor, how many.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedQuery {
    pub campaign: Option<CampaignId>,
    /// Lowercase.
    pub platform: Option<String>,
    pub since: Option<Cursor>,
    pub limit: u64,
}

/// Counts and shares by sentiment label over a window, the mean score, and a time series.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentimentAnalysis {
    pub window: Window,
    pub total: u64,
    pub positive: u64,
    pub neutral: u64,
    pub negative: u64,
    /// Percent of `total`, two decimals (0 when there are no mentions).
    pub positive_share: f64,
    pub neutral_share: f64,
    pub negative_share: f64,
    /// Mean sentiment, three decimals; `null` without mentions.
    pub average_score: Option<f64>,
    pub interval: Interval,
    /// One bucket per interval, from the one holding `window.start` to the one holding the
    /// window's last instant, empty ones included, oldest first.
    pub series: Vec<SentimentBucket>,
    /// True when the window held more mentions than the series reads (20,000): the series
    /// then covers the newest of them; the counts above are exact either way.
    pub sampled: bool,
}

/// One interval of the sentiment series.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentimentBucket {
    /// The bucket's first instant (UTC hour or day boundary).
    pub start: DateTime<Utc>,
    pub total: u64,
    pub positive: u64,
    pub neutral: u64,
    pub negative: u64,
    /// `null` for an empty bucket.
    pub average_score: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TermKind {
    Hashtag,
    Word,
}

/// A term of the window's mention texts, against the previous window of the same length.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrendingTerm {
    /// Lowercase; hashtags keep their `#`.
    pub term: String,
    pub kind: TermKind,
    /// Mentions in the window using the term (each counts once).
    pub mentions: u64,
    pub previous_mentions: u64,
    /// Percent change from the previous window, one decimal; `null` when the term is new.
    pub growth: Option<f64>,
}

// Seed 001 getTrendingTopics.
/// `{ trending }`, most used first, with the windows compared.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trending {
    pub trending: Vec<TrendingTerm>,
    pub window: Window,
    pub previous_window: Window,
    /// True when a window held more than 20,000 mentions: its newest 20,000 were read.
    pub sampled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VoiceKind {
    /// One of the monitoring configuration's keywords (the campaign's own terms).
    Keyword,
    /// One of its competitors.
    Competitor,
    /// A `matched` value of stored mentions that no configuration lists (any more).
    Other,
}

/// One term's part of the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoiceShare {
    pub term: String,
    pub kind: VoiceKind,
    /// Mentions that matched the term.
    pub mentions: u64,
    /// Percent of the mentions of every term listed, two decimals.
    pub share: f64,
    pub reach: i64,
    /// Percent of the reach of every term listed, two decimals.
    pub reach_share: f64,
    /// `null` without mentions.
    pub average_sentiment: Option<f64>,
}

/// Share of voice: every keyword and competitor, most mentioned first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShareOfVoice {
    pub window: Window,
    /// Mentions that matched one of the terms.
    pub total_mentions: u64,
    pub total_reach: i64,
    pub terms: Vec<VoiceShare>,
}

// Seed 001 `InfluencerData`.
/// An author (on one platform) and what their mentions in the window amount to.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Influencer {
    pub author: String,
    pub platform: String,
    pub mentions: u64,
    pub reach: i64,
    pub engagement: i64,
    pub average_sentiment: f64,
}

/// Locations by mentions over a window; `total` counts locations, `unlocated` the window's
/// mentions without one.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeoBreakdown {
    pub window: Window,
    pub locations: Vec<LocationStats>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
    pub unlocated: u64,
}

// Seed 001 getTrends.
/// `{ trends }`, busiest platform first, with the windows compared.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TrendsResponse)]
pub struct PlatformTrends {
    pub trends: Vec<PlatformTrend>,
    pub window: Window,
    pub previous_window: Window,
}

/// Mentions from one location.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocationStats {
    pub location: String,
    pub mentions: u64,
    /// Percent of the window's mentions (located or not), two decimals.
    pub share: f64,
    pub positive: u64,
    pub neutral: u64,
    pub negative: u64,
    pub reach: i64,
    pub average_sentiment: f64,
}

/// One platform in the window against the previous window of the same length.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformTrend {
    /// Lowercase.
    pub platform: String,
    pub mentions: u64,
    pub previous_mentions: u64,
    /// Percent change in mentions, one decimal; `null` when the previous window had none.
    pub change: Option<f64>,
    pub reach: i64,
    pub engagement: i64,
    /// `null` when the window had no mentions there.
    pub average_sentiment: Option<f64>,
}

/// The real-time feed: what arrived after the reader's cursor, latest arrival first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MentionFeed {
    pub mentions: Vec<MentionItem>,
    /// Send as `since` next time: the latest mention returned, else the `since` given.
    pub cursor: Option<String>,
    /// More mentions arrived than `limit`: the earliest of them were left out (read them from
    /// `/mentionlytics/mentions`).
    pub has_more: bool,
}

// Seed 001 `MentionlyticsData`.
/// One campaign's mention figures, computed from its stored mentions.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MentionlyticsData {
    /// The latest 100 mentions of the window.
    pub mentions: Vec<MentionItem>,
    pub sentiment: SentimentAnalysis,
    /// The ten authors with the most reach.
    pub influencers: Vec<Influencer>,
    /// The competitor terms of the campaign's monitoring configuration.
    pub competitors: Vec<VoiceShare>,
    pub total_mentions: u64,
    /// Mean sentiment, three decimals (0 without mentions).
    pub sentiment_score: f64,
    /// Total reach of the window's mentions.
    pub reach: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_window_ends_where_this_one_starts() {
        let now: DateTime<Utc> = "2026-03-10T12:00:00Z".parse().unwrap();
        let w = Window::last_hours(now, 24);
        let prev = w.previous();
        assert_eq!(prev.end, w.start);
        assert_eq!(prev.length(), w.length());
    }
}
