//! War Room's route table: one line per contract endpoint, grouped by resource. Paths in the
//! `api_v1` group are mounted under `/api/v1`.

pub mod admin;
pub mod alerts;
pub mod analytics;
pub mod auth;
pub mod campaigns;
pub mod deliveries;
pub mod extract;
pub mod health;
pub mod monitoring;
pub mod notifications;
pub mod oauth;
pub mod profile;
pub mod sessions;
pub mod stream;
pub mod two_factor;
pub mod types;
pub mod users;
pub mod wire;

use utoipa::OpenApi as _;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::Ctx;

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "War Room API",
    description = "Political-campaign intelligence and crisis alerts. \
    Errors are `{ code, message, details }`. \
    Authenticate with `Authorization: Bearer <accessToken>` from `/api/v1/auth/login`."
))]
struct ApiDoc;

/// Routes and their OpenAPI description, before state is attached.
pub fn routes() -> OpenApiRouter<Ctx> {
    let api_v1 = OpenApiRouter::new()
        // identity
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::me))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::reset_password))
        .routes(routes!(auth::verify_email))
        .routes(routes!(auth::change_password))
        .routes(routes!(profile::update))
        .routes(routes!(auth::permissions))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::revoke))
        .routes(routes!(sessions::security_log))
        .routes(routes!(sessions::impersonate))
        .routes(routes!(two_factor::setup))
        .routes(routes!(two_factor::verify))
        .routes(routes!(oauth::google))
        .routes(routes!(oauth::meta))
        .routes(routes!(oauth::status))
        .routes(routes!(oauth::mock_authorize))
        // users
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        // campaigns
        .routes(routes!(campaigns::list, campaigns::create))
        .routes(routes!(campaigns::get, campaigns::update))
        .routes(routes!(campaigns::actions))
        .routes(routes!(campaigns::audit))
        // mention analytics
        .routes(routes!(analytics::mentions))
        .routes(routes!(analytics::sentiment))
        .routes(routes!(analytics::trending))
        .routes(routes!(analytics::share_of_voice))
        .routes(routes!(analytics::feed))
        .routes(routes!(analytics::influencers))
        .routes(routes!(analytics::geo))
        .routes(routes!(analytics::monitoring_sentiment))
        .routes(routes!(analytics::monitoring_mentions))
        .routes(routes!(analytics::monitoring_trending))
        .routes(routes!(analytics::monitoring_trends))
        .routes(routes!(analytics::mentionlytics_data))
        // monitoring
        .routes(routes!(monitoring::list, monitoring::create))
        .routes(routes!(
            monitoring::get,
            monitoring::update,
            monitoring::delete
        ))
        .routes(routes!(monitoring::stop))
        .routes(routes!(monitoring::start))
        .routes(routes!(monitoring::monitoring_status))
        .routes(routes!(monitoring::monitoring_metrics))
        // alerts and notifications
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::get))
        .routes(routes!(alerts::actions))
        .routes(routes!(alerts::crisis))
        .routes(routes!(alerts::queue))
        .routes(routes!(alerts::send))
        .routes(routes!(
            notifications::get_contacts,
            notifications::put_contacts
        ))
        .routes(routes!(notifications::sms))
        .routes(routes!(notifications::whatsapp))
        .routes(routes!(notifications::integrations_sms))
        .routes(routes!(
            notifications::get_preferences,
            notifications::put_preferences,
            notifications::patch_preferences
        ))
        .routes(routes!(notifications::patch_settings))
        .routes(routes!(deliveries::twilio_status))
        // live streams
        .routes(routes!(stream::monitoring_sse))
        .routes(routes!(stream::stream_info))
        // health
        .routes(routes!(health::health))
        .routes(routes!(health::status))
        .routes(routes!(health::integrations_status));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api_v1)
        .routes(routes!(stream::monitoring_ws))
        .routes(routes!(stream::campaign_ws))
        .routes(routes!(admin::toggle_mode))
}
