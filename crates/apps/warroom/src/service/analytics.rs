//! Mention analytics (seed 000 "Mentionlytics integration", seed 001's additional monitoring
//! endpoints and `fetchMentionlyticsData`): figures computed from the stored mentions over a
//! time window, for one campaign or all. Counts and sums are SQL aggregates; the time series
//! and trending terms are computed here from at most [`ROW_CAP`] fetched rows per window.

mod compute;
pub mod model;
pub mod params;
pub mod terms;

use chrono::{Duration, SecondsFormat, Utc};
use platform::{ApiError, error::ApiResult, error::FieldError};
use sea_orm::DatabaseConnection;

use self::compute::{
    config_terms, count, count_opt, percent, platform_trends, rank_terms, round, series,
    share_of_voice,
};
pub use self::model::{
    Influencer, LocationStats, MentionFeed, MentionItem, MentionlyticsData, PlatformTrend,
    SentimentAnalysis, SentimentBucket, ShareOfVoice, TermKind, Trending, TrendingTerm, VoiceKind,
    VoiceShare,
};
pub use self::params::{Cursor, Interval, Window};
use crate::{
    Ctx,
    db::analytics::{self as db, Aggregate, Arrival, MentionFilter},
    service::{
        campaigns::{CampaignId, Campaigns},
        sentiment::SentimentLabel,
    },
};

/// The most rows a Rust-side computation reads per window (the newest; `sampled` says so).
pub const ROW_CAP: u64 = 20_000;
/// How many mentions `MentionlyticsData.mentions` holds.
pub const MENTIONLYTICS_MENTIONS: u64 = 100;
/// How many authors `MentionlyticsData.influencers` holds.
pub const MENTIONLYTICS_INFLUENCERS: u64 = 10;

/// Which mentions a read covers: one campaign or all, a window, optionally one platform.
#[derive(Clone, Debug, PartialEq)]
pub struct Scope {
    pub campaign: Option<CampaignId>,
    pub window: Window,
    /// Lowercase.
    pub platform: Option<String>,
}

impl Scope {
    fn filter(&self, window: Window) -> MentionFilter {
        MentionFilter {
            campaign_id: self.campaign.map(|c| c.0),
            from: Some(window.start),
            until: Some(window.end),
            platform: self.platform.clone(),
            ..MentionFilter::default()
        }
    }
}

/// A page of locations, how many locations there are, and how many mentions have none.
#[derive(Clone, Debug, PartialEq)]
pub struct LocationPage {
    pub locations: Vec<LocationStats>,
    pub total: u64,
    pub unlocated: u64,
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

/// The read side of monitoring: every figure the dashboards show about mentions.
#[derive(Clone)]
pub struct Analytics {
    db: DatabaseConnection,
}

impl Ctx {
    pub fn analytics(&self) -> Analytics {
        Analytics::new(self.db.clone())
    }
}

impl Analytics {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// 404 "Campaign not found" unless the scope's campaign (if any) exists.
    async fn check(&self, campaign: Option<CampaignId>) -> ApiResult<()> {
        match campaign {
            Some(id) if !Campaigns::new(self.db.clone()).exists(id).await? => {
                Err(ApiError::not_found("Campaign not found"))
            }
            _ => Ok(()),
        }
    }

    /// One page of the scope's mentions, newest first, and how many there are.
    pub async fn mentions(
        &self,
        scope: &Scope,
        q: &MentionQuery,
        page: u64,
        limit: u64,
    ) -> ApiResult<(Vec<MentionItem>, u64)> {
        self.check(scope.campaign).await?;
        let f = MentionFilter {
            sentiment: q.sentiment,
            text: q.text.clone(),
            keyword: q.keyword.clone(),
            ..scope.filter(scope.window)
        };
        let total = db::count(&self.db, &f).await?;
        let rows = db::page(&self.db, &f, page, limit).await?;
        Ok((rows.into_iter().map(MentionItem::from).collect(), total))
    }

    /// Counts and shares by label, the mean score, and the series by `interval`.
    pub async fn sentiment(
        &self,
        scope: &Scope,
        interval: Interval,
    ) -> ApiResult<SentimentAnalysis> {
        self.check(scope.campaign).await?;
        Ok(self.sentiment_of(scope, interval).await?.0)
    }

    async fn sentiment_of(
        &self,
        scope: &Scope,
        interval: Interval,
    ) -> ApiResult<(SentimentAnalysis, Aggregate)> {
        let f = scope.filter(scope.window);
        let totals = db::totals(&self.db, &f).await?;
        let points = db::sentiment_points(&self.db, &f, ROW_CAP).await?;
        let total = count(totals.mentions);
        let (positive, negative) = (count_opt(totals.positive), count_opt(totals.negative));
        let neutral = count(totals.neutral());
        let analysis = SentimentAnalysis {
            window: scope.window,
            total,
            positive,
            neutral,
            negative,
            positive_share: percent(positive as f64, total as f64),
            neutral_share: percent(neutral as f64, total as f64),
            negative_share: percent(negative as f64, total as f64),
            average_score: totals.avg_sentiment.map(|a| round(a, 3)),
            interval,
            series: series(&points, &scope.window, interval),
            sampled: total > ROW_CAP,
        };
        Ok((analysis, totals))
    }

    /// The `limit` most used terms of the window, with their growth over the previous window.
    pub async fn trending(&self, scope: &Scope, limit: u64) -> ApiResult<Trending> {
        self.check(scope.campaign).await?;
        let previous_window = scope.window.previous();
        let now = db::texts(&self.db, &scope.filter(scope.window), ROW_CAP + 1).await?;
        let before = db::texts(&self.db, &scope.filter(previous_window), ROW_CAP + 1).await?;
        let sampled = now.len() as u64 > ROW_CAP || before.len() as u64 > ROW_CAP;
        let cap = ROW_CAP as usize;
        let current = terms::count(now.iter().take(cap).map(String::as_str));
        let previous = terms::count(before.iter().take(cap).map(String::as_str));
        Ok(Trending {
            trending: rank_terms(current, &previous, limit),
            window: scope.window,
            previous_window,
            sampled,
        })
    }

    /// Every keyword and competitor of the monitoring configuration(s) in scope, and any other
    /// term mentions matched, with their mentions, reach and sentiment.
    pub async fn share_of_voice(&self, scope: &Scope) -> ApiResult<ShareOfVoice> {
        self.check(scope.campaign).await?;
        let configs = db::configs(&self.db, scope.campaign.map(|c| c.0)).await?;
        let listed = config_terms(&configs);
        let groups = db::by_matched(&self.db, &scope.filter(scope.window)).await?;
        Ok(share_of_voice(scope.window, &listed, &groups))
    }

    /// The mentions that arrived after `since` (all recent ones without it), latest arrival
    /// first; mentions older than [`params::WINDOW_MAX_DAYS`] are out of the feed.
    pub async fn feed(
        &self,
        campaign: Option<CampaignId>,
        platform: Option<String>,
        since: Option<Cursor>,
        limit: u64,
    ) -> ApiResult<MentionFeed> {
        self.check(campaign).await?;
        let after = match since {
            None => None,
            Some(Cursor::At(t)) => Some(Arrival {
                ingested_at: t,
                id: None,
            }),
            Some(Cursor::Mention(id)) => match db::find(&self.db, id).await? {
                Some(m) => Some(Arrival {
                    ingested_at: m.ingested_at,
                    id: Some(m.id),
                }),
                None => {
                    return Err(ApiError::validation(vec![FieldError {
                        field: "since".into(),
                        message: "no mention has this id".into(),
                    }]));
                }
            },
        };
        let f = MentionFilter {
            campaign_id: campaign.map(|c| c.0),
            from: Some(Utc::now() - Duration::days(params::WINDOW_MAX_DAYS)),
            platform,
            ..MentionFilter::default()
        };
        let mut rows = db::arrived_after(&self.db, &f, after, limit + 1).await?;
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let cursor = match (rows.first(), since) {
            (Some(m), _) => Some(m.id.to_string()),
            (None, Some(Cursor::Mention(id))) => Some(id.to_string()),
            (None, Some(Cursor::At(t))) => Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            (None, None) => None,
        };
        Ok(MentionFeed {
            mentions: rows.into_iter().map(MentionItem::from).collect(),
            cursor,
            has_more,
        })
    }

    /// One page of authors by total reach (then engagement), and how many there are.
    pub async fn influencers(
        &self,
        scope: &Scope,
        page: u64,
        limit: u64,
    ) -> ApiResult<(Vec<Influencer>, u64)> {
        self.check(scope.campaign).await?;
        let (groups, total) =
            db::by_author(&self.db, &scope.filter(scope.window), page, limit).await?;
        let influencers = groups
            .into_iter()
            .map(|g| Influencer {
                author: g.author,
                platform: g.platform,
                mentions: count(g.stats.mentions),
                reach: g.stats.reach.unwrap_or(0),
                engagement: g.stats.engagement.unwrap_or(0),
                average_sentiment: round(g.stats.avg_sentiment.unwrap_or(0.0), 3),
            })
            .collect();
        Ok((influencers, total))
    }

    /// One page of locations by mentions, how many locations there are, and how many of the
    /// window's mentions have none.
    pub async fn geo(&self, scope: &Scope, page: u64, limit: u64) -> ApiResult<LocationPage> {
        self.check(scope.campaign).await?;
        let f = scope.filter(scope.window);
        let all = db::count(&self.db, &f).await?;
        let unlocated = db::count_unlocated(&self.db, &f).await?;
        let (groups, total) = db::by_location(&self.db, &f, page, limit).await?;
        let locations = groups
            .into_iter()
            .map(|g| {
                let mentions = count(g.stats.mentions);
                LocationStats {
                    location: g.key,
                    mentions,
                    share: percent(mentions as f64, all as f64),
                    positive: count_opt(g.stats.positive),
                    neutral: count(g.stats.neutral()),
                    negative: count_opt(g.stats.negative),
                    reach: g.stats.reach.unwrap_or(0),
                    average_sentiment: round(g.stats.avg_sentiment.unwrap_or(0.0), 3),
                }
            })
            .collect();
        Ok(LocationPage {
            locations,
            total,
            unlocated,
        })
    }

    /// Per platform: the window's mentions against the previous window's, reach, engagement
    /// and mean sentiment; busiest first.
    pub async fn trends(&self, scope: &Scope) -> ApiResult<Vec<PlatformTrend>> {
        self.check(scope.campaign).await?;
        let now = db::by_platform(&self.db, &scope.filter(scope.window)).await?;
        let before = db::by_platform(&self.db, &scope.filter(scope.window.previous())).await?;
        Ok(platform_trends(now, before))
    }

    /// Seed 001 `MentionlyticsData` for one campaign over the scope's window.
    pub async fn mentionlytics_data(&self, scope: &Scope) -> ApiResult<MentionlyticsData> {
        self.check(scope.campaign).await?;
        let f = scope.filter(scope.window);
        let mentions = db::page(&self.db, &f, 1, MENTIONLYTICS_MENTIONS).await?;
        let (sentiment, totals) = self
            .sentiment_of(scope, Interval::for_window(&scope.window))
            .await?;
        let (influencers, _) = self
            .influencers(scope, 1, MENTIONLYTICS_INFLUENCERS)
            .await?;
        let voice = self.share_of_voice(scope).await?;
        Ok(MentionlyticsData {
            mentions: mentions.into_iter().map(MentionItem::from).collect(),
            total_mentions: sentiment.total,
            sentiment_score: sentiment.average_score.unwrap_or(0.0),
            sentiment,
            influencers,
            competitors: voice
                .terms
                .into_iter()
                .filter(|t| t.kind == VoiceKind::Competitor)
                .collect(),
            reach: totals.reach.unwrap_or(0),
        })
    }
}
