//! Who may call what (docs/pawfect.md, docs/console.md): every operation of PawfectMatch's
//! OpenAPI document, on both mounts, in one table checked by testkit's access matrix as each
//! kind of caller. Sign-in and its mailed links are public, the session's own endpoints need a
//! session (on the web mount the refresh cookie with its CSRF token), the console the `admin`
//! role.

use pawfect::service::access::ROLES;
use serde_json::json;
use testkit::access::{Matrix, Row, Seat, platform_rows};

use crate::helpers::*;

/// A mailed token of `subject` for a new account at `email`: a reset link (`Reset`) for an
/// existing user, or the verification link registration sends (`Confirm`).
async fn mailed_token(app: &TestApp, email: &str, subject: &str) -> String {
    if subject == "Reset" {
        app.create_user(email, "user").await;
        let r = app
            .post(
                &format!("{MOBILE}/auth/forgot-password"),
                None,
                json!({ "email": email }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    } else {
        app.mobile_register(email).await;
    }
    app.token_from_mail(email, subject).await
}

#[tokio::test]
async fn every_operation_answers_each_kind_of_caller_as_documented() {
    let app = spawn_app().await;
    app.create_user("member@example.com", "user").await;

    let mut rows = platform_rows(&app).await;
    rows.push(Row::public("GET /api/version"));
    for base in [WEB, MOBILE] {
        let mount = base.trim_start_matches('/').replace('/', "-");
        let verify = mailed_token(&app, &format!("verify-{mount}@example.com"), "Confirm").await;
        let reset = mailed_token(&app, &format!("reset-{mount}@example.com"), "Reset").await;
        let op = |what: &str| {
            let (method, path) = what.split_once(' ').unwrap();
            format!("{method} {base}{path}")
        };
        rows.extend([
            Row::public(&op("POST /auth/register"))
                .body_with(
                    |p| json!({ "email": p.email("new"), "password": PASSWORD, "name": "New" }),
                )
                .status(201),
            Row::public(&op("POST /auth/login"))
                .body(json!({ "email": "member@example.com", "password": PASSWORD })),
            Row::public(&op("POST /auth/forgot-password"))
                .body_with(|p| json!({ "email": p.email("forgot") })),
            Row::public(&op("POST /auth/reset-password"))
                .body(json!({ "token": reset, "password": "a brand new passphrase" })),
            // With a token from the mail; with a session and no body it mails a new link.
            Row::public(&op("POST /auth/verify-email")).body(json!({ "token": verify })),
            Row::signed_in(&op("GET /auth/me")),
            Row::signed_in(&op("POST /auth/logout")),
        ]);
    }
    rows.extend([
        // The web mount's refresh reads the cookie and its CSRF token; a spent refresh token
        // is a replay, so each call has a session of its own.
        Row::signed_in(&format!("POST {WEB}/auth/refresh")).fresh_session(),
        // The mobile mount's refresh token travels in the body; an anonymous caller sends one
        // that names no session.
        Row::signed_in(&format!("POST {MOBILE}/auth/refresh"))
            .body_with(|p| json!({ "refreshToken": p.kept("refresh") }))
            .fresh_session(),
    ]);
    Matrix::new(ROLES)
        .rows(rows)
        .run(&app, async |seat: &Seat| app.seat(seat).await)
        .await;
}
