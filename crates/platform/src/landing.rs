//! The pages the links in the platform's mails open, served by every product at its public
//! URL: `GET /verify-email?token=…` confirms the address, `GET /reset-password?token=…` shows a
//! form whose `POST /reset-password` sets the new password. The app URL defaults to the public
//! URL, so without a frontend the link in a mail still leads somewhere that works; with one
//! (`<PRODUCT>_APP_URL`) the frontend answers the same paths and calls the product's API.
//!
//! Success is a small fixed HTML page; a refusal (a missing, invalid, used or expired token, a
//! password the rules refuse) is an `ApiError` in the product's error shape, like every error
//! the product answers. Not API operations (they are not in the OpenAPI document). A reset link
//! is spent only by the form's POST, never by the GET, so a mail scanner that prefetches links
//! cannot use it up; a verification link is spent by its GET, which only proves what a click
//! would.

use axum::{
    Form, Router,
    extract::{Query, State, rejection::FormRejection, rejection::QueryRejection},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{ApiError, core::Core, extract::ClientInfo, validate::FieldError};

/// The landing pages, on the product's `Core`.
pub fn routes() -> Router<Core> {
    Router::new()
        .route("/verify-email", get(verify_email))
        .route("/reset-password", get(reset_form).post(reset_password))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    password: String,
}

async fn verify_email(
    State(core): State<Core>,
    client: ClientInfo,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let token = token(query)?;
    core.identity.verify_email(&token, &client).await?;
    Ok(page(
        "Email confirmed",
        "<p>Your email address is confirmed. You can sign in now.</p>",
    ))
}

async fn reset_form(
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let token = token(query)?;
    let body = format!(
        "<form method=\"post\" action=\"reset-password\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         <label>New password (at least 8 characters) \
         <input type=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"8\"></label> \
         <button type=\"submit\">Set password</button></form>",
        escape(&token)
    );
    Ok(page("Choose a new password", &body))
}

async fn reset_password(
    State(core): State<Core>,
    client: ClientInfo,
    form: Result<Form<ResetForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) =
        form.map_err(|_| ApiError::invalid("the form needs the link's token and a new password"))?;
    core.identity
        .complete_password_reset(&form.token, &form.password, &client)
        .await?;
    Ok(page(
        "Password set",
        "<p>Your new password is set and every other session has ended. Sign in with it now.</p>",
    ))
}

/// The link's token; a link cut short names the missing field.
fn token(query: Result<Query<TokenQuery>, QueryRejection>) -> Result<String, ApiError> {
    query
        .ok()
        .and_then(|q| q.0.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::validation(vec![FieldError {
                field: "token".into(),
                message: "required: open the whole link from the mail".into(),
            }])
        })
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    Html(html).into_response()
}

/// HTML text escaping for the few values a page repeats (a token, an error message).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
