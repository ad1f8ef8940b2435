//! Who may call what (docs/leadgen.md, docs/console.md): every operation of LeadGen's OpenAPI
//! document in one table, checked by testkit's access matrix as each kind of caller. Sign-in
//! is public, the session's own endpoints need a session, the console needs the `admin` role.

use leadgen::service::access::ROLES;
use serde_json::json;
use testkit::access::{Matrix, Row, Seat, platform_rows};

use crate::helpers::*;

#[tokio::test]
async fn every_operation_answers_each_kind_of_caller_as_documented() {
    let app = spawn_app().await;
    // A verified account to sign in as, and mock Google codes for the code and token rows.
    app.create_user("member@example.com", "user", true).await;
    let code = app.mock_code("gina@example.com").await;
    let token_code = app.mock_code("tom@example.com").await;

    let mut rows = platform_rows(&app).await;
    rows.extend([
        Row::public("POST /api/auth/register")
            .body_with(|p| json!({ "email": p.email("new"), "password": PASSWORD, "name": "New" }))
            .status(202),
        Row::public("POST /api/auth/login")
            .body(json!({ "email": "member@example.com", "password": PASSWORD })),
        Row::public("POST /api/auth/google").body(json!({ "code": code, "redirectUri": REDIRECT })),
        Row::public("POST /api/auth/google/mock/authorize")
            .body_with(|p| json!({ "email": p.email("google"), "redirectUri": REDIRECT }))
            .status(202),
        Row::public("POST /api/auth/google/mock/token")
            .body(json!({ "code": token_code, "redirectUri": REDIRECT })),
        // Requesting a link answers the same whether or not the address has an account.
        Row::public("POST /api/auth/verify").body_with(|p| json!({ "email": p.email("verify") })),
        Row::public("POST /api/auth/reset-password")
            .body_with(|p| json!({ "email": p.email("reset") })),
        // The refresh token is the credential: an anonymous caller sends one that names no
        // session.
        Row::signed_in("POST /api/auth/refresh")
            .body_with(|p| json!({ "refreshToken": p.kept("refresh") })),
        Row::signed_in("GET /api/auth/me"),
        Row::signed_in("POST /api/auth/logout").body(json!({})),
    ]);
    Matrix::new(ROLES)
        .rows(rows)
        .run(&app, async |seat: &Seat| app.seat(seat).await)
        .await;
}
