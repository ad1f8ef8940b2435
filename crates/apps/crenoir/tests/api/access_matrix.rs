//! Who may call what (docs/crenoir.md, docs/console.md): every operation of Crenoir X MAP's
//! OpenAPI document in one table, checked by testkit's access matrix as each kind of caller,
//! every session a browser's (cookies, and the CSRF token on writes). Sign-in (Google, SAML,
//! the mock providers) is public, the session's own endpoints need its cookies, the console
//! the `admin` role.

use crenoir::service::access::ROLES;
use serde_json::json;
use testkit::access::{Matrix, Row, Seat, platform_rows};

use crate::helpers::*;

#[tokio::test]
async fn every_operation_answers_each_kind_of_caller_as_documented() {
    let app = spawn_app().await;
    // Mock Google codes, and mock SAML sign-ins started as a browser starts them.
    let code = app.mock_code("gina@example.com", None).await;
    let token_code = app.mock_code("tom@example.com", None).await;
    let continued = app.saml_start(None).await;
    let continue_token = app
        .mock_sso_submit(&continued, "sam@example.com", None)
        .await;
    let sso_page = app.saml_start(None).await;
    let sso_form = app.saml_start(None).await;

    let mut rows = platform_rows(&app).await;
    rows.extend([
        Row::public("GET /api/health"),
        Row::public("POST /auth/google/login")
            .body(json!({ "code": code, "redirectUri": REDIRECT })),
        Row::public("POST /auth/google/mock/authorize")
            .body_with(|p| json!({ "email": p.email("google"), "redirectUri": REDIRECT }))
            .status(202),
        Row::public("POST /auth/google/mock/token")
            .body(json!({ "code": token_code, "redirectUri": REDIRECT })),
        Row::public("GET /auth/saml/login").status(303),
        // A script's reading: where to send the browser.
        Row::public("POST /auth/saml/login").body(json!({})),
        Row::public("GET /auth/saml/metadata"),
        Row::public("GET /auth/saml/mock/sso").query(
            sso_page
                .path_and_query()
                .split_once('?')
                .map_or(String::new(), |(_, q)| q.to_owned()),
        ),
        Row::public("POST /auth/saml/mock/sso").raw_body(
            "application/x-www-form-urlencoded",
            move |p| {
                let email = p.email("saml");
                form(&[("SAMLRequest", &sso_form.saml_request), ("email", &email)]).into_bytes()
            },
        ),
        Row::public("GET /auth/saml/mock/continue").query(format!("token={continue_token}")),
        Row::signed_in("GET /auth/user/profile"),
        Row::signed_in("POST /auth/refresh"),
        Row::signed_in("POST /auth/logout"),
    ]);
    Matrix::new(ROLES)
        .rows(rows)
        .run(&app, async |seat: &Seat| app.seat(seat).await)
        .await;
}
