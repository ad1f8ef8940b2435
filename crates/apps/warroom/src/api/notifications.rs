//! Direct messages and notification settings: `POST /notifications/sms`,
//! `/notifications/whatsapp` (seed 000) and `/integrations/sms` (seed 001 `sendSMSAlert`), one
//! implementation; `GET`/`PUT`/`PATCH /notifications/preferences` and
//! `PATCH /settings/notifications` (seed 000), one implementation; and Twilio's signed status
//! callback `POST /integrations/twilio/status`.

use axum::{
    body::Body,
    extract::{FromRequest, OriginalUri, Request, State},
    http::{StatusCode, header},
};
use platform::{
    ApiError,
    error::{ErrorCode, FieldError},
    extract::Json,
    identity::auth::AuthUser,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::service::access::{ALERTS_READ, ALERTS_SEND};
use crate::{
    Ctx,
    integrations::twilio::Channel,
    service::{
        delivery::{self, TwilioStatus},
        notifications::{self, NotificationPreferences, PreferencesUpdate, SendMessageRequest},
    },
};

/// Seed 001 `sendSMSAlert`'s answer: Twilio's message sid, and its first status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageResponse {
    /// `SM` and 32 hex digits.
    pub message_id: String,
    /// `queued` or `accepted`.
    pub status: String,
}

async fn send_message(
    ctx: Ctx,
    user: AuthUser,
    channel: Channel,
    req: SendMessageRequest,
) -> Result<Json<SendMessageResponse>, ApiError> {
    ctx.require(&user, ALERTS_SEND)?;
    let sent = notifications::send_message(&ctx, channel, req).await?;
    Ok(Json(SendMessageResponse {
        message_id: sent.sid,
        status: sent.status,
    }))
}

/// `POST /api/v1/notifications/sms`: sends one SMS now.
#[utoipa::path(post, path = "/notifications/sms", tag = "notifications", security(("bearer" = [])),
    request_body = SendMessageRequest, responses((status = 200, body = SendMessageResponse)))]
pub async fn sms(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<SendMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    send_message(ctx, user, Channel::Sms, req).await
}

/// `POST /api/v1/notifications/whatsapp`: sends one WhatsApp message now.
#[utoipa::path(post, path = "/notifications/whatsapp", tag = "notifications", security(("bearer" = [])),
    request_body = SendMessageRequest, responses((status = 200, body = SendMessageResponse)))]
pub async fn whatsapp(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<SendMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    send_message(ctx, user, Channel::Whatsapp, req).await
}

/// `POST /api/v1/integrations/sms` (seed 001 `sendSMSAlert`): `/notifications/sms` by its
/// other name.
#[utoipa::path(post, path = "/integrations/sms", tag = "notifications", security(("bearer" = [])),
    request_body = SendMessageRequest, responses((status = 200, body = SendMessageResponse)))]
pub async fn integrations_sms(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<SendMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    send_message(ctx, user, Channel::Sms, req).await
}

/// `GET /api/v1/notifications/preferences`: the caller's (the defaults until saved).
#[utoipa::path(get, path = "/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = NotificationPreferences)))]
pub async fn get_preferences(
    State(ctx): State<Ctx>,
    user: AuthUser,
) -> Result<Json<NotificationPreferences>, ApiError> {
    ctx.require(&user, ALERTS_READ)?;
    Ok(Json(notifications::preferences(&ctx, user.id()).await?))
}

/// `PUT /api/v1/notifications/preferences`: replaces them (absent fields take defaults).
#[utoipa::path(put, path = "/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesUpdate, responses((status = 200, body = NotificationPreferences)))]
pub async fn put_preferences(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<PreferencesUpdate>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    ctx.require(&user, ALERTS_READ)?;
    Ok(Json(
        notifications::update_preferences(&ctx, &user, req, true).await?,
    ))
}

/// `PATCH /api/v1/notifications/preferences`: changes the fields given.
#[utoipa::path(patch, path = "/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesUpdate, responses((status = 200, body = NotificationPreferences)))]
pub async fn patch_preferences(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Json(req): Json<PreferencesUpdate>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    ctx.require(&user, ALERTS_READ)?;
    Ok(Json(
        notifications::update_preferences(&ctx, &user, req, false).await?,
    ))
}

/// `PATCH /api/v1/settings/notifications` (seed 000): `PATCH /notifications/preferences`.
#[utoipa::path(patch, path = "/settings/notifications", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesUpdate, responses((status = 200, body = NotificationPreferences)))]
pub async fn patch_settings(
    state: State<Ctx>,
    user: AuthUser,
    body: Json<PreferencesUpdate>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    patch_preferences(state, user, body).await
}

/// A form body Twilio signed: the extractor reads `application/x-www-form-urlencoded`, checks
/// `X-Twilio-Signature` over the callback URL and every parameter (403 when it does not
/// match, or when no auth token is configured), then reads `T` from the parameters (400 in
/// War Room's error shape when they do not fit).
pub struct TwilioForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Ctx> for TwilioForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(ApiError::invalid(
                "expected a form body with Content-Type: application/x-www-form-urlencoded",
            ));
        }
        let signature = req
            .headers()
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The URI as requested: a nested router sees it without its `/api/v1` prefix.
        let uri = req
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| req.uri().clone(), |o| o.0.clone());
        let path = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
            .await
            .map_err(|_| {
                ApiError::new(ErrorCode::ResourceExhausted, "request body too large")
                    .with_status(StatusCode::PAYLOAD_TOO_LARGE)
            })?;
        // POST: for a GET, axum's `Form` reads the query string instead.
        let form = Request::builder()
            .method(axum::http::Method::POST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(bytes))
            .map_err(ApiError::internal)?;
        let axum::Form(params) = axum::Form::<Vec<(String, String)>>::from_request(form, &())
            .await
            .map_err(|_| ApiError::invalid("request body is not a valid form"))?;
        let url = delivery::callback_url(ctx, &path);
        delivery::verify_twilio(ctx, &url, &params, signature.as_deref())?;
        let object: Map<String, Value> = params
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        serde_json::from_value(Value::Object(object))
            .map(TwilioForm)
            .map_err(|e| {
                let problem = e.to_string();
                let field = problem
                    .strip_prefix("missing field `")
                    .and_then(|r| r.split('`').next())
                    .unwrap_or("body")
                    .to_owned();
                ApiError::validation(vec![FieldError {
                    field,
                    message: problem,
                }])
            })
    }
}

/// `POST /api/v1/integrations/twilio/status`: Twilio's message status callback (form
/// `MessageSid`, `MessageStatus`, `ErrorCode`, ...), signed with `X-Twilio-Signature`.
#[utoipa::path(post, path = "/integrations/twilio/status", tag = "notifications",
    request_body(content_type = "application/x-www-form-urlencoded", content = Object),
    responses((status = 204, description = "Recorded"), (status = 403, description = "Bad or missing signature")))]
pub async fn twilio_status(
    State(ctx): State<Ctx>,
    TwilioForm(status): TwilioForm<TwilioStatus>,
) -> Result<StatusCode, ApiError> {
    delivery::twilio_status(&ctx, &status).await?;
    Ok(StatusCode::NO_CONTENT)
}
