//! Mention analytics (seed 000 "Mentionlytics integration", seed 001's additional monitoring
//! endpoints and `fetchMentionlyticsData`): figures computed from the stored mentions over a
//! time window, for one campaign or all. Counts and sums are SQL aggregates; the time series
//! and trending terms are computed here from at most [`ROW_CAP`] fetched rows per window.

mod compute;
pub mod terms;

use chrono::{Duration, SecondsFormat, Utc};
use platform::{
    ApiError,
    error::ApiResult,
    roles::Perm,
    validate::{Page, Paging, field},
};
use sea_orm::DatabaseConnection;

use self::compute::{
    config_terms, count, count_opt, percent, platform_trends, rank_terms, round, series,
    share_of_voice,
};
use crate::{
    Ctx,
    db::analytics::{self as db, Aggregate, Arrival, MentionFilter},
    domain::{
        analytics::{
            Cursor, FeedQuery, GeoBreakdown, Influencer, Interval, LocationStats, MentionFeed,
            MentionItem, MentionlyticsData, MentionsQuery, PlatformTrends, Scope, ScopePage,
            Scoped, SentimentAnalysis, SentimentQuery, ShareOfVoice, TopQuery, Trending, VoiceKind,
            WINDOW_MAX_DAYS, Window,
        },
        campaigns::not_found as campaign_not_found,
    },
    service::{
        access::{INTEGRATIONS_READ, MONITORING_READ},
        actor::Actor,
    },
};

/// The most rows a Rust-side computation reads per window (the newest; `sampled` says so).
pub const ROW_CAP: u64 = 20_000;
/// How many mentions `MentionlyticsData.mentions` holds.
pub const MENTIONLYTICS_MENTIONS: u64 = 100;
/// How many authors `MentionlyticsData.influencers` holds.
pub const MENTIONLYTICS_INFLUENCERS: u64 = 10;

/// The mentions of `scope` over `window` (the scope's own, or the one before it).
fn filter(scope: &Scope, window: Window) -> MentionFilter {
    MentionFilter {
        campaign_id: scope.campaign.map(|c| c.0),
        from: Some(window.start),
        until: Some(window.end),
        platform: scope.platform.clone(),
        ..MentionFilter::default()
    }
}

/// The read side of monitoring: every figure the dashboards show about mentions. Each read
/// checks the actor's permission, then its parameters, then that the campaign exists.
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

    /// The checked parameters of a read that `perm` allows: `actor` first, then `params`,
    /// then 404 "Campaign not found" unless the campaign they name (if any) exists.
    async fn open<T: Scoped>(
        &self,
        actor: &Actor,
        perm: Perm,
        params: impl TryInto<T, Error = ApiError>,
    ) -> ApiResult<T> {
        let params = actor.admit(perm, params)?;
        if let Some(id) = params.campaign()
            && !crate::db::campaigns::exists(&self.db, id.0).await?
        {
            return Err(campaign_not_found());
        }
        Ok(params)
    }

    /// One page of the scope's mentions, newest first.
    pub async fn mentions(
        &self,
        actor: &Actor,
        params: impl TryInto<MentionsQuery, Error = ApiError>,
    ) -> ApiResult<Page<MentionItem>> {
        let q = self.open(actor, MONITORING_READ, params).await?;
        let f = MentionFilter {
            sentiment: q.filter.sentiment,
            text: q.filter.text.clone(),
            keyword: q.filter.keyword.clone(),
            ..filter(&q.scope, q.scope.window)
        };
        let total = db::count(&self.db, &f).await?;
        let rows = db::page(&self.db, &f, q.paging).await?;
        Ok(q.paging
            .page(rows.into_iter().map(MentionItem::from).collect(), total))
    }

    /// Counts and shares by label, the mean score, and the series by the query's interval.
    pub async fn sentiment(
        &self,
        actor: &Actor,
        params: impl TryInto<SentimentQuery, Error = ApiError>,
    ) -> ApiResult<SentimentAnalysis> {
        let q = self.open(actor, MONITORING_READ, params).await?;
        Ok(self.sentiment_of(&q.scope, q.interval).await?.0)
    }

    async fn sentiment_of(
        &self,
        scope: &Scope,
        interval: Interval,
    ) -> ApiResult<(SentimentAnalysis, Aggregate)> {
        let f = filter(scope, scope.window);
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

    /// The most used terms of the window, with their growth over the previous window.
    pub async fn trending(
        &self,
        actor: &Actor,
        params: impl TryInto<TopQuery, Error = ApiError>,
    ) -> ApiResult<Trending> {
        let TopQuery { scope, limit } = self.open(actor, MONITORING_READ, params).await?;
        let previous_window = scope.window.previous();
        let now = db::texts(&self.db, &filter(&scope, scope.window), ROW_CAP + 1).await?;
        let before = db::texts(&self.db, &filter(&scope, previous_window), ROW_CAP + 1).await?;
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
    pub async fn share_of_voice(
        &self,
        actor: &Actor,
        params: impl TryInto<Scope, Error = ApiError>,
    ) -> ApiResult<ShareOfVoice> {
        let scope = self.open(actor, MONITORING_READ, params).await?;
        self.voice_of(&scope).await
    }

    async fn voice_of(&self, scope: &Scope) -> ApiResult<ShareOfVoice> {
        let configs = db::configs(&self.db, scope.campaign.map(|c| c.0)).await?;
        let listed = config_terms(&configs);
        let groups = db::by_matched(&self.db, &filter(scope, scope.window)).await?;
        Ok(share_of_voice(scope.window, &listed, &groups))
    }

    /// The mentions that arrived after the cursor (all recent ones without it), latest arrival
    /// first; mentions older than [`WINDOW_MAX_DAYS`] are out of the feed.
    pub async fn feed(
        &self,
        actor: &Actor,
        params: impl TryInto<FeedQuery, Error = ApiError>,
    ) -> ApiResult<MentionFeed> {
        let q = self.open(actor, MONITORING_READ, params).await?;
        let after = match q.since {
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
                    return Err(ApiError::validation(vec![field(
                        "since",
                        "no mention has this id",
                    )]));
                }
            },
        };
        let f = MentionFilter {
            campaign_id: q.campaign.map(|c| c.0),
            from: Some(Utc::now() - Duration::days(WINDOW_MAX_DAYS)),
            platform: q.platform,
            ..MentionFilter::default()
        };
        let mut rows = db::arrived_after(&self.db, &f, after, q.limit + 1).await?;
        let has_more = rows.len() as u64 > q.limit;
        rows.truncate(q.limit as usize);
        let cursor = match (rows.first(), q.since) {
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

    /// One page of authors by total reach (then engagement).
    pub async fn influencers(
        &self,
        actor: &Actor,
        params: impl TryInto<ScopePage, Error = ApiError>,
    ) -> ApiResult<Page<Influencer>> {
        let q = self.open(actor, MONITORING_READ, params).await?;
        self.influencers_of(&q.scope, q.paging).await
    }

    async fn influencers_of(&self, scope: &Scope, paging: Paging) -> ApiResult<Page<Influencer>> {
        let (groups, total) = db::by_author(&self.db, &filter(scope, scope.window), paging).await?;
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
        Ok(paging.page(influencers, total))
    }

    /// One page of locations by mentions, how many locations there are, and how many of the
    /// window's mentions have none.
    pub async fn geo(
        &self,
        actor: &Actor,
        params: impl TryInto<ScopePage, Error = ApiError>,
    ) -> ApiResult<GeoBreakdown> {
        let ScopePage { scope, paging } = self.open(actor, MONITORING_READ, params).await?;
        let f = filter(&scope, scope.window);
        let all = db::count(&self.db, &f).await?;
        let unlocated = db::count_unlocated(&self.db, &f).await?;
        let (groups, total) = db::by_location(&self.db, &f, paging).await?;
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
        Ok(GeoBreakdown {
            window: scope.window,
            locations,
            total,
            page: paging.page,
            limit: paging.limit,
            unlocated,
        })
    }

    /// Per platform: the window's mentions against the previous window's, reach, engagement
    /// and mean sentiment; busiest first.
    pub async fn trends(
        &self,
        actor: &Actor,
        params: impl TryInto<Scope, Error = ApiError>,
    ) -> ApiResult<PlatformTrends> {
        let scope = self.open(actor, MONITORING_READ, params).await?;
        let now = db::by_platform(&self.db, &filter(&scope, scope.window)).await?;
        let before = db::by_platform(&self.db, &filter(&scope, scope.window.previous())).await?;
        Ok(PlatformTrends {
            trends: platform_trends(now, before),
            window: scope.window,
            previous_window: scope.window.previous(),
        })
    }

    /// Seed 001 `MentionlyticsData` for one campaign over the scope's window (for those who
    /// read integrations).
    pub async fn mentionlytics_data(
        &self,
        actor: &Actor,
        params: impl TryInto<Scope, Error = ApiError>,
    ) -> ApiResult<MentionlyticsData> {
        let scope = self.open(actor, INTEGRATIONS_READ, params).await?;
        let f = filter(&scope, scope.window);
        let mentions = db::page(&self.db, &f, Paging::new(1, MENTIONLYTICS_MENTIONS)).await?;
        let (sentiment, totals) = self
            .sentiment_of(&scope, Interval::for_window(&scope.window))
            .await?;
        let influencers = self
            .influencers_of(&scope, Paging::new(1, MENTIONLYTICS_INFLUENCERS))
            .await?
            .items;
        let voice = self.voice_of(&scope).await?;
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
