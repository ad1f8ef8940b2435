//! The mention read endpoints: seed 000's `/mentionlytics/*`, seed 001's additional
//! `/monitoring/*` endpoints and `/integrations/mentionlytics/{campaignId}`, all computed from
//! the stored mentions (`service::analytics`). Query values arrive as text and are checked
//! there, so a bad one is a 400 naming the parameter.

use axum::extract::State;
use chrono::Utc;
use platform::{
    ApiError,
    extract::{Json, Path, Query},
    identity::auth::AuthUser,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::service::access::{INTEGRATIONS_READ, MONITORING_READ};
use crate::{
    Ctx,
    service::{
        analytics::{
            Influencer, LocationStats, MentionFeed, MentionItem, MentionQuery, MentionlyticsData,
            PlatformTrend, Scope, SentimentAnalysis, ShareOfVoice, Trending, Window,
            params::{self, Problems},
        },
        campaigns::CampaignId,
    },
};

/// `campaignId`: one campaign's mentions, or every campaign's when absent.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct CampaignQuery {
    /// Only this campaign's mentions (every campaign's when absent); an unknown one is 404.
    #[param(value_type = Option<uuid::Uuid>)]
    pub campaign_id: Option<String>,
}

/// The time window, `[start, end)`, and the platform.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Window start: RFC 3339, or `YYYY-MM-DD` (midnight UTC). Not with `hours`; at most 90
    /// days before `end`.
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    pub start: Option<String>,
    /// Window end, exclusive (default now).
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    pub end: Option<String>,
    /// The window's length in hours before `end`, 1 to 720 (default 24). Not with `start`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 720)]
    pub hours: Option<String>,
    /// Only mentions on this platform (case-insensitive).
    #[param(min_length = 1, max_length = 200)]
    pub platform: Option<String>,
}

impl WindowQuery {
    fn scope(&self, p: &mut Problems, campaign: Option<CampaignId>) -> Scope {
        Scope {
            campaign,
            window: params::window(
                p,
                self.start.as_deref(),
                self.end.as_deref(),
                self.hours.as_deref(),
                Utc::now(),
            ),
            platform: params::text(p, "platform", self.platform.as_deref()),
        }
    }
}

/// `campaignId`, the window and the platform, checked.
fn scope(p: &mut Problems, c: &CampaignQuery, w: &WindowQuery) -> Scope {
    let campaign = params::campaign(p, c.campaign_id.as_deref());
    w.scope(p, campaign)
}

/// `?page&limit`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000000)]
    pub page: Option<String>,
    /// Items per page, 1 to 100 (default 20; 10 for influencers).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// `?limit` of a top-N list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// How many, 1 to 100 (default 10).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// What a mention list may narrow to.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MentionFilterQuery {
    /// Only mentions with this sentiment label.
    #[param(value_type = Option<crate::service::sentiment::SentimentLabel>)]
    pub sentiment: Option<String>,
    /// Only mentions whose text contains this (case-insensitive).
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    /// Only mentions that matched this keyword or competitor, or whose text contains it.
    #[param(min_length = 1, max_length = 200)]
    pub keyword: Option<String>,
}

impl MentionFilterQuery {
    fn parse(&self, p: &mut Problems) -> MentionQuery {
        MentionQuery {
            sentiment: params::sentiment(p, self.sentiment.as_deref()),
            text: params::text(p, "q", self.q.as_deref()),
            keyword: params::text(p, "keyword", self.keyword.as_deref()),
        }
    }
}

/// `?interval` of a time series.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntervalQuery {
    /// Bucket size: `hour` or `day` (default `hour` for windows up to 72 hours, else `day`).
    #[param(value_type = Option<crate::service::analytics::Interval>)]
    pub interval: Option<String>,
}

/// The feed's cursor and size.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Only mentions that arrived after this: the `cursor` of the previous answer (a mention
    /// id) or an RFC 3339 instant.
    #[param(min_length = 1, max_length = 64)]
    pub since: Option<String>,
    /// How many, 1 to 100 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only mentions on this platform (case-insensitive).
    #[param(min_length = 1, max_length = 200)]
    pub platform: Option<String>,
}

/// `{ mentions, total, page, limit }`.
#[derive(Serialize, ToSchema)]
pub struct MentionList {
    pub mentions: Vec<MentionItem>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

/// `{ influencers, total, page, limit }`.
#[derive(Serialize, ToSchema)]
pub struct InfluencerList {
    pub influencers: Vec<Influencer>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

/// Locations by mentions; `total` counts locations, `unlocated` the window's mentions
/// without one.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeoBreakdown {
    pub window: Window,
    pub locations: Vec<LocationStats>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
    pub unlocated: u64,
}

/// Seed 001 getCurrentSentiment: `{ sentiment }`.
#[derive(Serialize, ToSchema)]
pub struct SentimentResponse {
    pub sentiment: SentimentAnalysis,
}

/// Seed 001 getTrends: `{ trends }`, busiest platform first.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrendsResponse {
    pub trends: Vec<PlatformTrend>,
    pub window: Window,
    pub previous_window: Window,
}

/// `GET /api/v1/mentionlytics/mentions`: recent mentions with sentiment, newest first (seed 000).
#[utoipa::path(get, path = "/mentionlytics/mentions", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignQuery, WindowQuery, PageParams, MentionFilterQuery),
    responses((status = 200, body = MentionList)))]
pub async fn mentions(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
    Query(paging): Query<PageParams>,
    Query(filter): Query<MentionFilterQuery>,
) -> Result<Json<MentionList>, ApiError> {
    list_mentions(ctx, user, c, w, paging, filter).await
}

/// `GET /api/v1/monitoring/mentions`: seed 001 getMentionsMetrics (`?keyword&hours`), the
/// same list as `/mentionlytics/mentions`.
#[utoipa::path(get, path = "/monitoring/mentions", tag = "monitoring", security(("bearer" = [])),
    params(CampaignQuery, WindowQuery, PageParams, MentionFilterQuery),
    responses((status = 200, body = MentionList)))]
pub async fn monitoring_mentions(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
    Query(paging): Query<PageParams>,
    Query(filter): Query<MentionFilterQuery>,
) -> Result<Json<MentionList>, ApiError> {
    list_mentions(ctx, user, c, w, paging, filter).await
}

async fn list_mentions(
    ctx: Ctx,
    user: AuthUser,
    c: CampaignQuery,
    w: WindowQuery,
    paging: PageParams,
    filter: MentionFilterQuery,
) -> Result<Json<MentionList>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let mut p = Problems::default();
    let scope = scope(&mut p, &c, &w);
    let (page, limit) = params::paging(&mut p, paging.page.as_deref(), paging.limit.as_deref(), 20);
    let q = filter.parse(&mut p);
    p.check()?;
    let (mentions, total) = ctx.analytics().mentions(&scope, &q, page, limit).await?;
    Ok(Json(MentionList {
        mentions,
        total,
        page,
        limit,
    }))
}

/// `GET /api/v1/mentionlytics/sentiment`: sentiment counts, shares, mean and series (seed 000).
#[utoipa::path(get, path = "/mentionlytics/sentiment", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignQuery, WindowQuery, IntervalQuery),
    responses((status = 200, body = SentimentAnalysis)))]
pub async fn sentiment(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
    Query(i): Query<IntervalQuery>,
) -> Result<Json<SentimentAnalysis>, ApiError> {
    Ok(Json(sentiment_analysis(ctx, user, c, w, i).await?))
}

/// `GET /api/v1/monitoring/sentiment`: seed 001 getCurrentSentiment (`?start&end`) →
/// `{ sentiment }`.
#[utoipa::path(get, path = "/monitoring/sentiment", tag = "monitoring", security(("bearer" = [])),
    params(CampaignQuery, WindowQuery, IntervalQuery),
    responses((status = 200, body = SentimentResponse)))]
pub async fn monitoring_sentiment(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
    Query(i): Query<IntervalQuery>,
) -> Result<Json<SentimentResponse>, ApiError> {
    let sentiment = sentiment_analysis(ctx, user, c, w, i).await?;
    Ok(Json(SentimentResponse { sentiment }))
}

async fn sentiment_analysis(
    ctx: Ctx,
    user: AuthUser,
    c: CampaignQuery,
    w: WindowQuery,
    i: IntervalQuery,
) -> Result<SentimentAnalysis, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let mut p = Problems::default();
    let scope = scope(&mut p, &c, &w);
    let interval = params::interval(&mut p, i.interval.as_deref(), &scope.window);
    p.check()?;
    ctx.analytics().sentiment(&scope, interval).await
}

/// `GET /api/v1/mentionlytics/trending`: trending terms and hashtags (seed 000).
#[utoipa::path(get, path = "/mentionlytics/trending", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignQuery, WindowQuery, LimitQuery), responses((status = 200, body = Trending)))]
pub async fn trending(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
    Query(l): Query<LimitQuery>,
) -> Result<Json<Trending>, ApiError> {
    trending_terms(ctx, user, c, w, l).await
}

/// `GET /api/v1/monitoring/trending`: seed 001 getTrendingTopics (`?limit`, default 10) →
/// `{ trending }`.
#[utoipa::path(get, path = "/monitoring/trending", tag = "monitoring", security(("bearer" = [])),
    params(CampaignQuery, WindowQuery, LimitQuery), responses((status = 200, body = Trending)))]
pub async fn monitoring_trending(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
    Query(l): Query<LimitQuery>,
) -> Result<Json<Trending>, ApiError> {
    trending_terms(ctx, user, c, w, l).await
}

async fn trending_terms(
    ctx: Ctx,
    user: AuthUser,
    c: CampaignQuery,
    w: WindowQuery,
    l: LimitQuery,
) -> Result<Json<Trending>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let mut p = Problems::default();
    let scope = scope(&mut p, &c, &w);
    let limit = params::limit(&mut p, l.limit.as_deref(), 10);
    p.check()?;
    Ok(Json(ctx.analytics().trending(&scope, limit).await?))
}

/// `GET /api/v1/mentionlytics/share-of-voice`: each keyword's and competitor's share (seed 000).
#[utoipa::path(get, path = "/mentionlytics/share-of-voice", tag = "mentionlytics",
    security(("bearer" = [])), params(CampaignQuery, WindowQuery),
    responses((status = 200, body = ShareOfVoice)))]
pub async fn share_of_voice(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
) -> Result<Json<ShareOfVoice>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let mut p = Problems::default();
    let scope = scope(&mut p, &c, &w);
    p.check()?;
    Ok(Json(ctx.analytics().share_of_voice(&scope).await?))
}

/// `GET /api/v1/mentionlytics/feed`: the real-time feed for polling clients (seed 000).
#[utoipa::path(get, path = "/mentionlytics/feed", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignQuery, FeedQuery), responses((status = 200, body = MentionFeed)))]
pub async fn feed(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(f): Query<FeedQuery>,
) -> Result<Json<MentionFeed>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let mut p = Problems::default();
    let campaign = params::campaign(&mut p, c.campaign_id.as_deref());
    let platform = params::text(&mut p, "platform", f.platform.as_deref());
    let since = params::cursor(&mut p, f.since.as_deref());
    let limit = params::limit(&mut p, f.limit.as_deref(), 50);
    p.check()?;
    let feed = ctx
        .analytics()
        .feed(campaign, platform, since, limit)
        .await?;
    Ok(Json(feed))
}

/// `GET /api/v1/mentionlytics/influencers`: top authors by reach (seed 000).
#[utoipa::path(get, path = "/mentionlytics/influencers", tag = "mentionlytics",
    security(("bearer" = [])), params(CampaignQuery, WindowQuery, PageParams),
    responses((status = 200, body = InfluencerList)))]
pub async fn influencers(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
    Query(paging): Query<PageParams>,
) -> Result<Json<InfluencerList>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let mut p = Problems::default();
    let scope = scope(&mut p, &c, &w);
    let (page, limit) = params::paging(&mut p, paging.page.as_deref(), paging.limit.as_deref(), 10);
    p.check()?;
    let (influencers, total) = ctx.analytics().influencers(&scope, page, limit).await?;
    Ok(Json(InfluencerList {
        influencers,
        total,
        page,
        limit,
    }))
}

/// `GET /api/v1/mentionlytics/geo`: mentions and sentiment by location (seed 000).
#[utoipa::path(get, path = "/mentionlytics/geo", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignQuery, WindowQuery, PageParams), responses((status = 200, body = GeoBreakdown)))]
pub async fn geo(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
    Query(paging): Query<PageParams>,
) -> Result<Json<GeoBreakdown>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let mut p = Problems::default();
    let scope = scope(&mut p, &c, &w);
    let (page, limit) = params::paging(&mut p, paging.page.as_deref(), paging.limit.as_deref(), 20);
    p.check()?;
    let geo = ctx.analytics().geo(&scope, page, limit).await?;
    Ok(Json(GeoBreakdown {
        window: scope.window,
        locations: geo.locations,
        total: geo.total,
        page,
        limit,
        unlocated: geo.unlocated,
    }))
}

/// `GET /api/v1/monitoring/trends`: seed 001 getTrends → `{ trends }`, per platform.
#[utoipa::path(get, path = "/monitoring/trends", tag = "monitoring", security(("bearer" = [])),
    params(CampaignQuery, WindowQuery), responses((status = 200, body = TrendsResponse)))]
pub async fn monitoring_trends(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(c): Query<CampaignQuery>,
    Query(w): Query<WindowQuery>,
) -> Result<Json<TrendsResponse>, ApiError> {
    ctx.require(&user, MONITORING_READ)?;
    let mut p = Problems::default();
    let scope = scope(&mut p, &c, &w);
    p.check()?;
    let trends = ctx.analytics().trends(&scope).await?;
    Ok(Json(TrendsResponse {
        trends,
        window: scope.window,
        previous_window: scope.window.previous(),
    }))
}

/// `GET /api/v1/integrations/mentionlytics/{campaignId}`: seed 001 fetchMentionlyticsData,
/// computed from the campaign's stored mentions; 404 "Campaign not found".
#[utoipa::path(get, path = "/integrations/mentionlytics/{campaignId}", tag = "integrations",
    security(("bearer" = [])),
    params(("campaignId" = uuid::Uuid, Path, description = "Campaign id"), WindowQuery),
    responses((status = 200, body = MentionlyticsData)))]
pub async fn mentionlytics_data(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(campaign_id): Path<String>,
    Query(w): Query<WindowQuery>,
) -> Result<Json<MentionlyticsData>, ApiError> {
    ctx.require(&user, INTEGRATIONS_READ)?;
    // A path id that is not a UUID names no campaign: 404, as on `/campaigns/{id}`.
    let campaign =
        CampaignId::parse(&campaign_id).ok_or_else(|| ApiError::not_found("Campaign not found"))?;
    let mut p = Problems::default();
    let scope = w.scope(&mut p, Some(campaign));
    p.check()?;
    Ok(Json(ctx.analytics().mentionlytics_data(&scope).await?))
}
