//! Twilio's signed status callback `POST /api/v1/integrations/twilio/status`, which tells War
//! Room how an alert's SMS or WhatsApp delivery went, and [`TwilioForm`], the extractor that
//! checks its signature.

use axum::{
    extract::{FromRequest, OriginalUri, Request, State},
    http::{StatusCode, header},
};
use platform::{ApiError, error::ErrorCode, validate::field};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Ctx, service::deliveries::TwilioStatus};

/// A form body Twilio signed: the extractor reads `application/x-www-form-urlencoded` (a
/// field holding NUL is refused, the platform's one input rule), checks
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
        let params = platform::extract::form_pairs(&bytes)?;
        let deliveries = ctx.deliveries();
        let url = deliveries.callback_url(&path);
        deliveries.verify_twilio(&url, &params, signature.as_deref())?;
        let object: Map<String, Value> = params
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        serde_json::from_value(Value::Object(object))
            .map(TwilioForm)
            .map_err(|e| {
                let problem = e.to_string();
                let name = problem
                    .strip_prefix("missing field `")
                    .and_then(|r| r.split('`').next())
                    .unwrap_or("body")
                    .to_owned();
                ApiError::validation(vec![field(name, problem)])
            })
    }
}

/// `POST /api/v1/integrations/twilio/status`: Twilio's message status callback (form
/// `MessageSid`, `MessageStatus`, `ErrorCode`, ...), signed with `X-Twilio-Signature`.
#[utoipa::path(post, operation_id = "receiveTwilioStatus", path = "/integrations/twilio/status", tag = "notifications",
    request_body(content_type = "application/x-www-form-urlencoded", content = Object),
    responses((status = 204, description = "Recorded"), (status = 403, description = "Bad or missing signature")))]
pub async fn twilio_status(
    State(ctx): State<Ctx>,
    TwilioForm(status): TwilioForm<TwilioStatus>,
) -> Result<StatusCode, ApiError> {
    ctx.deliveries().twilio_status(&status).await?;
    Ok(StatusCode::NO_CONTENT)
}
