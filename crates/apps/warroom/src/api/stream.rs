//! Live monitoring streams (seed 000 "REAL-TIME MONITORING SYSTEM", seed 001
//! `streamCampaignData`): WebSocket `/api/monitoring/stream` and `/ws/campaigns/{id}/stream`,
//! SSE `/api/v1/monitoring/stream`, and `/api/v1/monitoring/stream/{campaignId}`, which tells a
//! client where to connect. The access token travels as the transports allow (see
//! [`StreamUser`]); the `Origin` of a WebSocket upgrade must be on the CORS allow-list. Every
//! stream holds a lease on `ctx.connections`: it ends when its session does, or when its
//! access token expires.

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{WebSocket, rejection::WebSocketUpgradeRejection},
    },
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use platform::{
    ApiError,
    extract::{Json, Path, Query},
    identity::auth::{AuthUser, StreamUser},
    realtime::{SubscribeRequest, origin_allowed, stream_upgrade},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    Ctx,
    domain::{
        campaigns,
        stream::{FEED_TOPIC, campaign_topic},
    },
    service::access::MONITORING_READ,
};

/// Where a stream starts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Follow this campaign only (default: every campaign).
    pub campaign_id: Option<Uuid>,
    /// Resume after this sequence id: the events since then are replayed first (or a
    /// `resync` says they are gone).
    pub since: Option<u64>,
    /// The access token, for clients that cannot send a header (`EventSource`).
    pub access_token: Option<String>,
    /// SSE only: the position to resume from, for clients that cannot send `Last-Event-ID`.
    pub last_event_id: Option<String>,
}

/// `GET /api/monitoring/stream` (seed 000): the WebSocket of every campaign's events
/// (`live_post`, `trend_update`, `crisis_alert`, `HEARTBEAT`; `PING` → `PONG`), or one
/// campaign's with `?campaignId=`. More topics can be followed with `subscribe` messages.
#[utoipa::path(get, operation_id = "streamMonitoringEvents", path = "/api/monitoring/stream", tag = "monitoring", params(StreamQuery),
    security(("bearer" = [])),
    responses((status = 101, description = "WebSocket stream (see docs/warroom.md, \"Live streams\")")))]
pub async fn monitoring_ws(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    caller: StreamUser,
    Query(q): Query<StreamQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let topic = match q.campaign_id {
        Some(id) => campaign_topic(id),
        None => FEED_TOPIC.to_owned(),
    };
    open_websocket(&ctx, &headers, caller, upgrade, topic, q.since).await
}

/// `GET /ws/campaigns/{campaignId}/stream` (seed 001): one campaign's WebSocket stream.
#[utoipa::path(get, operation_id = "streamCampaignEvents", path = "/ws/campaigns/{campaignId}/stream", tag = "monitoring",
    params(("campaignId" = Uuid, Path), StreamQuery), security(("bearer" = [])),
    responses((status = 101, description = "WebSocket stream of the campaign's events")))]
pub async fn campaign_ws(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path(campaign_id): Path<Uuid>,
    caller: StreamUser,
    Query(q): Query<StreamQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let topic = campaign_topic(campaign_id);
    open_websocket(&ctx, &headers, caller, upgrade, topic, q.since).await
}

/// Checks origin, role and topic before upgrading, so a refused client gets an HTTP error in
/// War Room's shape instead of a socket that delivers nothing.
async fn open_websocket(
    ctx: &Ctx,
    headers: &HeaderMap,
    caller: StreamUser,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    topic: String,
    since: Option<u64>,
) -> Result<Response, ApiError> {
    if !origin_allowed(headers, &ctx.cors_origins) {
        return Err(ApiError::forbidden("origin not allowed"));
    }
    let upgrade = upgrade.map_err(|_| {
        ApiError::invalid("this endpoint speaks WebSocket: send an Upgrade: websocket request")
    })?;
    authorize(ctx, &caller.user, &topic).await?;
    let lease = ctx.connections.register(&caller).await;
    let upgrade = match caller.protocol {
        Some(p) => stream_upgrade(upgrade).protocols([p]),
        None => stream_upgrade(upgrade),
    };
    let gateway = ctx.streams.gateway().clone();
    let initial = vec![SubscribeRequest { topic, since }];
    Ok(upgrade
        .on_upgrade(move |socket: WebSocket| async move {
            gateway
                .run_websocket(socket, caller.user, initial, Some(lease))
                .await
        })
        .into_response())
}

/// The caller may read monitoring data, and the campaign exists.
async fn authorize(ctx: &Ctx, user: &AuthUser, topic: &str) -> Result<(), ApiError> {
    ctx.require(user, MONITORING_READ)?;
    if ctx.streams.gateway().may_subscribe(user, topic).await {
        Ok(())
    } else {
        Err(campaigns::not_found())
    }
}

/// `GET /api/v1/monitoring/stream` (seed 000): the same events as Server-Sent Events,
/// resumable with `Last-Event-ID` (the browser's automatic reconnect sends it).
#[utoipa::path(get, operation_id = "streamMonitoringEventsSse", path = "/monitoring/stream", tag = "monitoring",
    extensions(("x-basalt-effect" = json!("endless-stream"))), params(StreamQuery),
    security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream", description = "SSE stream")))]
pub async fn monitoring_sse(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    caller: StreamUser,
    Query(q): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let topic = match q.campaign_id {
        Some(id) => campaign_topic(id),
        None => FEED_TOPIC.to_owned(),
    };
    authorize(&ctx, &caller.user, &topic).await?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(q.last_event_id)
        .or(q.since.map(|s| s.to_string()));
    let lease = ctx.connections.register(&caller).await;
    let sse = ctx
        .streams
        .gateway()
        .sse(
            &caller.user,
            &[topic],
            last_event_id.as_deref(),
            Some(lease),
        )
        .await?;
    Ok(sse.into_response())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamInfo {
    /// The campaign's WebSocket path.
    pub stream_endpoint: String,
    /// The same events as SSE.
    pub sse_endpoint: String,
    /// Milliseconds between `HEARTBEAT` messages.
    pub heartbeat_interval: u64,
}

/// `GET /api/v1/monitoring/stream/{campaignId}` (seed 001 `streamCampaignData`): where the
/// campaign's live stream is.
#[utoipa::path(get, operation_id = "getCampaignStreamInfo", path = "/monitoring/stream/{campaignId}", tag = "monitoring",
    params(("campaignId" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = StreamInfo)))]
pub async fn stream_info(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(campaign_id): Path<Uuid>,
) -> Result<Json<StreamInfo>, ApiError> {
    authorize(&ctx, &user, &campaign_topic(campaign_id)).await?;
    Ok(Json(StreamInfo {
        stream_endpoint: format!("/ws/campaigns/{campaign_id}/stream"),
        sse_endpoint: format!("/api/v1/monitoring/stream?campaignId={campaign_id}"),
        heartbeat_interval: ctx.streams.gateway().config().heartbeat.as_millis() as u64,
    }))
}
