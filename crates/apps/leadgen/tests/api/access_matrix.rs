//! Who may call what (docs/leadgen.md, docs/console.md): every operation of LeadGen's OpenAPI
//! document in one table, checked by testkit's access matrix as each kind of caller. Sign-in
//! is public, the session's own endpoints need a session, the console needs the `admin` role.
//! Leads belong to an organization: every role may list and create its own organization's,
//! and one lead is its organization's alone (anyone else, an admin of another organization
//! too, gets 404).

use leadgen::service::access::{LEADS_CREATE, LEADS_READ, ROLES, USER};
use serde_json::json;
use testkit::access::{Matrix, Org, Row, Seat, platform_rows};

use crate::helpers::*;

#[tokio::test]
async fn every_operation_answers_each_kind_of_caller_as_documented() {
    let app = spawn_app().await;
    // A verified account to sign in as, and mock Google codes for the code and token rows.
    app.create_user("member@example.com", "user", true).await;
    let code = app.mock_code("gina@example.com").await;
    let token_code = app.mock_code("tom@example.com").await;
    // A lead of the owner seat's organization (the seat's user is made here, as `run` would).
    let owner = Seat {
        name: USER.into(),
        role: USER,
        org: Org::Home,
    };
    let caller = app.seat(&owner).await;
    let lead = app
        .lead_ok(
            caller.access_token(),
            json!({ "email": "lead@client.example" }),
        )
        .await;
    let lead = lead["id"].as_str().unwrap().to_owned();

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
        Row::perm("GET /api/leads", LEADS_READ),
        Row::perm("POST /api/leads", LEADS_CREATE)
            .body_with(|p| json!({ "email": p.email("lead") }))
            .status(201),
        Row::owner("GET /api/leads/{id}", 404).param("id", &lead),
        Row::owner("PUT /api/leads/{id}", 404)
            .param("id", &lead)
            .body_with(|p| json!({ "note": p.unique("note") })),
    ]);
    Matrix::new(ROLES)
        .organisations()
        .rows(rows)
        .run(&app, async |seat: &Seat| app.seat(seat).await)
        .await;
}
