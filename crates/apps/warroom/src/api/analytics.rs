//! The mention read endpoints: seed 000's `/mentionlytics/*`, seed 001's additional
//! `/monitoring/*` endpoints and `/integrations/mentionlytics/{campaignId}`, all computed from
//! the stored mentions (`service::analytics`). Query values arrive as text and are checked in
//! `requests`, so a bad one is a 400 naming the parameter.

pub mod requests;

use axum::extract::State;
use platform::{
    ApiError,
    extract::{Json, Query},
    validate::{Listed, Page},
};
use serde::Serialize;
use utoipa::ToSchema;

use self::requests::{
    CampaignParams, FeedParams, INFLUENCERS_LIMIT_DEFAULT, IntervalParams, LimitParams,
    MentionFilterParams, PAGE_LIMIT_DEFAULT, PageParams, WindowParams,
};
use super::extract::Id;
use crate::{
    Ctx,
    domain::{
        analytics::{
            GeoBreakdown, Influencer, MentionFeed, MentionItem, MentionlyticsData, PlatformTrends,
            SentimentAnalysis, ShareOfVoice, Trending,
        },
        campaigns::CampaignId,
    },
    service::actor::Actor,
};

impl Listed for MentionItem {
    const KEY: &'static str = "mentions";
}

impl Listed for Influencer {
    const KEY: &'static str = "influencers";
}

// Seed 001 getCurrentSentiment.
/// The window's sentiment: `{ sentiment }`.
#[derive(Serialize, ToSchema)]
pub struct SentimentResponse {
    pub sentiment: SentimentAnalysis,
}

/// `GET /api/v1/mentionlytics/mentions`: recent mentions with sentiment, newest first (seed
/// 000): `{ mentions, total, page, limit }`.
#[utoipa::path(get, operation_id = "listMentions", path = "/mentionlytics/mentions", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignParams, WindowParams, PageParams, MentionFilterParams),
    responses((status = 200, body = Page<MentionItem>)))]
pub async fn mentions(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(c): Query<CampaignParams>,
    Query(w): Query<WindowParams>,
    Query(p): Query<PageParams>,
    Query(f): Query<MentionFilterParams>,
) -> Result<Json<Page<MentionItem>>, ApiError> {
    Ok(Json(ctx.analytics().mentions(&actor, (c, w, p, f)).await?))
}

/// `GET /api/v1/monitoring/mentions` (seed 001 getMentionsMetrics): recent mentions, the same
/// list as `/mentionlytics/mentions` (`?keyword&hours`).
#[utoipa::path(get, operation_id = "getMentionMetrics", path = "/monitoring/mentions", tag = "monitoring", security(("bearer" = [])),
    params(CampaignParams, WindowParams, PageParams, MentionFilterParams),
    responses((status = 200, body = Page<MentionItem>)))]
pub async fn monitoring_mentions(
    state: State<Ctx>,
    actor: Actor,
    c: Query<CampaignParams>,
    w: Query<WindowParams>,
    p: Query<PageParams>,
    f: Query<MentionFilterParams>,
) -> Result<Json<Page<MentionItem>>, ApiError> {
    mentions(state, actor, c, w, p, f).await
}

/// `GET /api/v1/mentionlytics/sentiment`: sentiment counts, shares, mean and series (seed 000).
#[utoipa::path(get, operation_id = "getSentiment", path = "/mentionlytics/sentiment", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignParams, WindowParams, IntervalParams),
    responses((status = 200, body = SentimentAnalysis)))]
pub async fn sentiment(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(c): Query<CampaignParams>,
    Query(w): Query<WindowParams>,
    Query(i): Query<IntervalParams>,
) -> Result<Json<SentimentAnalysis>, ApiError> {
    Ok(Json(ctx.analytics().sentiment(&actor, (c, w, i)).await?))
}

/// `GET /api/v1/monitoring/sentiment` (seed 001 getCurrentSentiment): the sentiment of a
/// window (`?start&end`) → `{ sentiment }`.
#[utoipa::path(get, operation_id = "getCurrentSentiment", path = "/monitoring/sentiment", tag = "monitoring", security(("bearer" = [])),
    params(CampaignParams, WindowParams, IntervalParams),
    responses((status = 200, body = SentimentResponse)))]
pub async fn monitoring_sentiment(
    state: State<Ctx>,
    actor: Actor,
    c: Query<CampaignParams>,
    w: Query<WindowParams>,
    i: Query<IntervalParams>,
) -> Result<Json<SentimentResponse>, ApiError> {
    let Json(sentiment) = sentiment(state, actor, c, w, i).await?;
    Ok(Json(SentimentResponse { sentiment }))
}

/// `GET /api/v1/mentionlytics/trending`: trending terms and hashtags (seed 000).
#[utoipa::path(get, operation_id = "listTrending", path = "/mentionlytics/trending", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignParams, WindowParams, LimitParams), responses((status = 200, body = Trending)))]
pub async fn trending(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(c): Query<CampaignParams>,
    Query(w): Query<WindowParams>,
    Query(l): Query<LimitParams>,
) -> Result<Json<Trending>, ApiError> {
    Ok(Json(ctx.analytics().trending(&actor, (c, w, l)).await?))
}

/// `GET /api/v1/monitoring/trending` (seed 001 getTrendingTopics): trending topics (`?limit`,
/// default 10) → `{ trending }`.
#[utoipa::path(get, operation_id = "listTrendingTopics", path = "/monitoring/trending", tag = "monitoring", security(("bearer" = [])),
    params(CampaignParams, WindowParams, LimitParams), responses((status = 200, body = Trending)))]
pub async fn monitoring_trending(
    state: State<Ctx>,
    actor: Actor,
    c: Query<CampaignParams>,
    w: Query<WindowParams>,
    l: Query<LimitParams>,
) -> Result<Json<Trending>, ApiError> {
    trending(state, actor, c, w, l).await
}

/// `GET /api/v1/mentionlytics/share-of-voice`: each keyword's and competitor's share (seed 000).
#[utoipa::path(get, operation_id = "getShareOfVoice", path = "/mentionlytics/share-of-voice", tag = "mentionlytics",
    security(("bearer" = [])), params(CampaignParams, WindowParams),
    responses((status = 200, body = ShareOfVoice)))]
pub async fn share_of_voice(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(c): Query<CampaignParams>,
    Query(w): Query<WindowParams>,
) -> Result<Json<ShareOfVoice>, ApiError> {
    Ok(Json(ctx.analytics().share_of_voice(&actor, (c, w)).await?))
}

/// `GET /api/v1/mentionlytics/feed`: the real-time feed for polling clients (seed 000).
#[utoipa::path(get, operation_id = "getMentionFeed", path = "/mentionlytics/feed", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignParams, FeedParams), responses((status = 200, body = MentionFeed)))]
pub async fn feed(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(c): Query<CampaignParams>,
    Query(f): Query<FeedParams>,
) -> Result<Json<MentionFeed>, ApiError> {
    Ok(Json(ctx.analytics().feed(&actor, (c, f)).await?))
}

/// `GET /api/v1/mentionlytics/influencers`: top authors by reach (seed 000):
/// `{ influencers, total, page, limit }`.
#[utoipa::path(get, operation_id = "listInfluencers", path = "/mentionlytics/influencers", tag = "mentionlytics",
    security(("bearer" = [])), params(CampaignParams, WindowParams, PageParams),
    responses((status = 200, body = Page<Influencer>)))]
pub async fn influencers(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(c): Query<CampaignParams>,
    Query(w): Query<WindowParams>,
    Query(p): Query<PageParams>,
) -> Result<Json<Page<Influencer>>, ApiError> {
    let params = (c, w, p, INFLUENCERS_LIMIT_DEFAULT);
    Ok(Json(ctx.analytics().influencers(&actor, params).await?))
}

/// `GET /api/v1/mentionlytics/geo`: mentions and sentiment by location (seed 000).
#[utoipa::path(get, operation_id = "getMentionsByLocation", path = "/mentionlytics/geo", tag = "mentionlytics", security(("bearer" = [])),
    params(CampaignParams, WindowParams, PageParams), responses((status = 200, body = GeoBreakdown)))]
pub async fn geo(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(c): Query<CampaignParams>,
    Query(w): Query<WindowParams>,
    Query(p): Query<PageParams>,
) -> Result<Json<GeoBreakdown>, ApiError> {
    let params = (c, w, p, PAGE_LIMIT_DEFAULT);
    Ok(Json(ctx.analytics().geo(&actor, params).await?))
}

/// `GET /api/v1/monitoring/trends` (seed 001 getTrends): mention trends per platform →
/// `{ trends }`.
#[utoipa::path(get, operation_id = "getTrends", path = "/monitoring/trends", tag = "monitoring", security(("bearer" = [])),
    params(CampaignParams, WindowParams), responses((status = 200, body = PlatformTrends)))]
pub async fn monitoring_trends(
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(c): Query<CampaignParams>,
    Query(w): Query<WindowParams>,
) -> Result<Json<PlatformTrends>, ApiError> {
    Ok(Json(ctx.analytics().trends(&actor, (c, w)).await?))
}

/// `GET /api/v1/integrations/mentionlytics/{campaignId}` (seed 001 fetchMentionlyticsData):
/// one campaign's mention figures, computed from the campaign's stored mentions; 404 "Campaign not found".
#[utoipa::path(get, operation_id = "getCampaignMentionData", path = "/integrations/mentionlytics/{campaignId}", tag = "integrations",
    security(("bearer" = [])),
    params(("campaignId" = uuid::Uuid, Path, description = "Campaign id"), WindowParams),
    responses((status = 503, description = "The mention-monitoring service is unavailable or not configured"), (status = 200, body = MentionlyticsData)))]
pub async fn mentionlytics_data(
    Id(campaign): Id<CampaignId>,
    State(ctx): State<Ctx>,
    actor: Actor,
    Query(w): Query<WindowParams>,
) -> Result<Json<MentionlyticsData>, ApiError> {
    let data = ctx.analytics();
    Ok(Json(data.mentionlytics_data(&actor, (campaign, w)).await?))
}
