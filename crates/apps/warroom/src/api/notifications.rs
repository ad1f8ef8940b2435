//! Notifications: direct messages `POST /notifications/sms`, `/notifications/whatsapp` (seed
//! 000) and `/integrations/sms` (seed 001 `sendSMSAlert`), one implementation; the caller's
//! preferences `GET`/`PUT`/`PATCH /notifications/preferences` and `PATCH
//! /settings/notifications` (seed 000), one implementation; and Basalt's
//! `/campaigns/{id}/crisis-contacts`, the recipients seed 001's `getCrisisContacts` reads.
//! Requests and their checks are in `requests`.

pub mod requests;

use axum::extract::State;
use platform::{ApiError, extract::Json};
use serde::Serialize;
use utoipa::ToSchema;

use self::requests::{CrisisContactsRequest, PreferencesRequest, SendMessageRequest};
use super::extract::Id;
use crate::{
    Ctx,
    domain::{
        campaigns::CampaignId,
        notifications::{CrisisContacts, NotificationPreferences},
    },
    integrations::twilio::Channel,
    service::actor::Actor,
};

// Seed 001 `sendSMSAlert`'s answer.
/// The message's id at the carrier (Twilio's sid) and its first status.
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
    actor: Actor,
    channel: Channel,
    req: SendMessageRequest,
) -> Result<Json<SendMessageResponse>, ApiError> {
    let sent = ctx
        .notifications()
        .send_message(&actor, channel, req)
        .await?;
    Ok(Json(SendMessageResponse {
        message_id: sent.sid,
        status: sent.status,
    }))
}

/// `POST /api/v1/notifications/sms`: sends one SMS now.
#[utoipa::path(post, operation_id = "sendSms", path = "/notifications/sms", tag = "notifications", security(("bearer" = [])),
    request_body = SendMessageRequest, responses((status = 503, description = "The SMS service is unavailable or not configured"), (status = 200, body = SendMessageResponse)))]
pub async fn sms(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<SendMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    send_message(ctx, actor, Channel::Sms, req).await
}

/// `POST /api/v1/notifications/whatsapp`: sends one WhatsApp message now.
#[utoipa::path(post, operation_id = "sendWhatsApp", path = "/notifications/whatsapp", tag = "notifications", security(("bearer" = [])),
    request_body = SendMessageRequest, responses((status = 503, description = "The WhatsApp service is unavailable or not configured"), (status = 200, body = SendMessageResponse)))]
pub async fn whatsapp(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<SendMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    send_message(ctx, actor, Channel::Whatsapp, req).await
}

/// `POST /api/v1/integrations/sms` (seed 001 `sendSMSAlert`): sends one SMS now, as
/// `/notifications/sms` does.
#[utoipa::path(post, operation_id = "sendSmsAlert", path = "/integrations/sms", tag = "notifications", security(("bearer" = [])),
    request_body = SendMessageRequest, responses((status = 503, description = "The SMS service is unavailable or not configured"), (status = 200, body = SendMessageResponse)))]
pub async fn integrations_sms(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<SendMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    send_message(ctx, actor, Channel::Sms, req).await
}

/// `GET /api/v1/notifications/preferences`: the caller's (the defaults until saved).
#[utoipa::path(get, operation_id = "getNotificationPreferences", path = "/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = NotificationPreferences)))]
pub async fn get_preferences(
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<NotificationPreferences>, ApiError> {
    Ok(Json(ctx.notifications().preferences(&actor).await?))
}

/// `PUT /api/v1/notifications/preferences`: replaces them (absent fields take defaults).
#[utoipa::path(put, operation_id = "replaceNotificationPreferences", path = "/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesRequest, responses((status = 200, body = NotificationPreferences)))]
pub async fn put_preferences(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<PreferencesRequest>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    let notifications = ctx.notifications();
    Ok(Json(
        notifications
            .replace_preferences(&actor, req.into())
            .await?,
    ))
}

/// `PATCH /api/v1/notifications/preferences`: changes the fields given.
#[utoipa::path(patch, operation_id = "updateNotificationPreferences", path = "/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesRequest, responses((status = 200, body = NotificationPreferences)))]
pub async fn patch_preferences(
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<PreferencesRequest>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    let notifications = ctx.notifications();
    Ok(Json(
        notifications.change_preferences(&actor, req.into()).await?,
    ))
}

/// `PATCH /api/v1/settings/notifications` (seed 000): changes the caller's notification
/// preferences given, as `PATCH /notifications/preferences` does.
#[utoipa::path(patch, operation_id = "updateNotificationSettings", path = "/settings/notifications", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesRequest, responses((status = 200, body = NotificationPreferences)))]
pub async fn patch_settings(
    state: State<Ctx>,
    actor: Actor,
    body: Json<PreferencesRequest>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    patch_preferences(state, actor, body).await
}

/// `GET /api/v1/campaigns/{id}/crisis-contacts` (Basalt's): who crisis alerts go to.
#[utoipa::path(get, operation_id = "getCrisisContacts", path = "/campaigns/{id}/crisis-contacts", tag = "alerting", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")), responses((status = 200, body = CrisisContacts)))]
pub async fn get_contacts(
    Id(id): Id<CampaignId>,
    State(ctx): State<Ctx>,
    actor: Actor,
) -> Result<Json<CrisisContacts>, ApiError> {
    Ok(Json(ctx.notifications().contacts(&actor, id).await?))
}

/// `PUT /api/v1/campaigns/{id}/crisis-contacts` (Basalt's): replaces the campaign's crisis
/// contacts.
#[utoipa::path(put, operation_id = "replaceCrisisContacts", path = "/campaigns/{id}/crisis-contacts", tag = "alerting", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CrisisContactsRequest, responses((status = 200, body = CrisisContacts)))]
pub async fn put_contacts(
    Id(id): Id<CampaignId>,
    State(ctx): State<Ctx>,
    actor: Actor,
    Json(req): Json<CrisisContactsRequest>,
) -> Result<Json<CrisisContacts>, ApiError> {
    let notifications = ctx.notifications();
    Ok(Json(notifications.replace_contacts(&actor, id, req).await?))
}
