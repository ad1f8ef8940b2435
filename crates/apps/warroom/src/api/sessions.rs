//! `/api/v1/auth/sessions`, `/auth/security-log` and `/auth/impersonate`: a user's devices,
//! their audit trail, and admins acting as a user.

use axum::extract::State;
use chrono::{DateTime, Utc};
use platform::{
    ApiError,
    extract::{Json, Path, Query},
    identity::{SecurityEvent, Session, auth::AuthUser},
    validate::{Listed, Page, PageQuery},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::{OK, Success, UserProfile};
use crate::Ctx;
use crate::service::access::USERS_UPDATE;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The session the request was made with.
    pub current: bool,
    pub impersonator_id: Option<Uuid>,
}

impl SessionView {
    fn new(s: Session, current: Uuid) -> Self {
        Self {
            current: s.id == current,
            id: s.id,
            user_agent: s.user_agent,
            ip: s.ip,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            impersonator_id: s.impersonator_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// `GET /api/v1/auth/sessions`: the caller's live sessions.
#[utoipa::path(get, operation_id = "listSessions", path = "/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionList)))]
pub async fn list(State(ctx): State<Ctx>, user: AuthUser) -> Result<Json<SessionList>, ApiError> {
    let sessions = ctx.identity.sessions(user.id()).await?;
    Ok(Json(SessionList {
        sessions: sessions
            .into_iter()
            .map(|s| SessionView::new(s, user.session_id))
            .collect(),
    }))
}

/// `DELETE /api/v1/auth/sessions/{id}`: revokes one of the caller's sessions.
#[utoipa::path(delete, operation_id = "revokeSession", path = "/auth/sessions/{id}", tag = "auth",
    extensions(("x-basalt-effect" = json!("ends-session"))), security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")), responses((status = 200, body = Success)))]
pub async fn revoke(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Success>, ApiError> {
    ctx.identity
        .revoke_session(user.id(), id, "revoked_by_user")
        .await?;
    let details = serde_json::to_value(SessionRevoked { session_id: id }).ok();
    ctx.identity
        .log_event(
            Some(user.id()),
            user.impersonator,
            "session_revoked",
            &user.client,
            details,
        )
        .await;
    Ok(Json(OK))
}

/// The security log's `details` of a revoked session.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionRevoked {
    session_id: Uuid,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityEventView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The admin who acted, for impersonated actions.
    pub actor_id: Option<Uuid>,
    pub details: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl From<SecurityEvent> for SecurityEventView {
    fn from(e: SecurityEvent) -> Self {
        Self {
            id: e.id,
            event_type: e.event_type,
            ip: e.ip,
            user_agent: e.user_agent,
            actor_id: e.actor_id,
            details: e.details,
            created_at: e.created_at,
        }
    }
}

impl Listed for SecurityEventView {
    const KEY: &'static str = "events";
}

/// `GET /api/v1/auth/security-log`: the caller's auth events, newest first
/// (`{ events, total, page, limit }`).
#[utoipa::path(get, operation_id = "listSecurityLog", path = "/auth/security-log", tag = "auth", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<SecurityEventView>)))]
pub async fn security_log(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<SecurityEventView>>, ApiError> {
    let paging = q.paging()?;
    let (events, total) = ctx
        .identity
        .security_log(user.id(), paging.page, paging.limit)
        .await?;
    let events = events.into_iter().map(Into::into).collect();
    Ok(Json(paging.page(events, total)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"userId": "9d4e2a7b-1c3f-4b8e-a6d5-0f7c9e2b3a41"}))]
pub struct ImpersonateRequest {
    pub user_id: Uuid,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImpersonateResponse {
    /// Valid at most 15 minutes; there is no refresh token.
    pub access_token: String,
    pub expires_in: i64,
    pub user: UserProfile,
    pub impersonator_id: Uuid,
}

/// `POST /api/v1/auth/impersonate`: an admin signs in as a non-admin user.
#[utoipa::path(post, operation_id = "impersonateUser", path = "/auth/impersonate", tag = "auth", request_body = ImpersonateRequest,
    security(("bearer" = [])), responses((status = 404, description = "No user with this `userId`"), (status = 200, body = ImpersonateResponse)))]
pub async fn impersonate(
    State(ctx): State<Ctx>,
    admin: AuthUser,
    Json(req): Json<ImpersonateRequest>,
) -> Result<Json<ImpersonateResponse>, ApiError> {
    if admin.impersonator.is_some() {
        return Err(ApiError::forbidden(
            "an impersonation token cannot start another impersonation",
        ));
    }
    ctx.require(&admin, USERS_UPDATE)?;
    let (target, tokens) = ctx
        .identity
        .impersonate(&admin.user, req.user_id, &admin.client)
        .await?;
    Ok(Json(ImpersonateResponse {
        access_token: tokens.access_token,
        expires_in: tokens.expires_in,
        user: (&target).into(),
        impersonator_id: admin.id(),
    }))
}
