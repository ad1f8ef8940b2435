//! Tokens: refresh rotation with reuse detection (10 s grace), and the password reset flow
//! (`/api/auth/reset-password`: request by email, complete with the mailed token; completing
//! revokes every session).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn refresh_rotates_the_token_and_the_new_pair_works() {
    let app = spawn_app().await;
    let s = app.login_as("ava@example.com", "user").await;
    let r = app.refresh(&s.refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["expiresIn"], 900);
    let access = r.body["accessToken"].as_str().expect("accessToken");
    let refresh = r.body["refreshToken"].as_str().expect("refreshToken");
    assert_ne!(refresh, s.refresh, "a new refresh token");
    assert!(app.refresh_row(&s.refresh).await.rotated_at.is_some());
    assert!(app.refresh_row(refresh).await.rotated_at.is_none());
    assert_eq!(
        app.session_of(refresh).await.id,
        app.session_of(&s.refresh).await.id,
        "same session"
    );

    let me = app.me(access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["user"]["id"], s.user.id.to_string());
    let next = app.refresh(refresh).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.text);
}

#[tokio::test]
async fn reusing_a_rotated_token_within_the_grace_keeps_the_session() {
    let app = spawn_app().await;
    let s = app.login_as("bea@example.com", "user").await;
    let first = app.refresh(&s.refresh).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let _ = app.refresh(&s.refresh).await;
    assert!(
        app.session_of(&s.refresh).await.revoked_at.is_none(),
        "a second tab refreshing at once must not end the session"
    );
    let r = app
        .refresh(first.body["refreshToken"].as_str().unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn reusing_a_rotated_token_after_the_grace_revokes_the_whole_session() {
    let app = spawn_app().await;
    let s = app.login_as("cal@example.com", "user").await;
    let rotated = app.refresh(&s.refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_access = rotated.body["accessToken"].as_str().unwrap().to_owned();
    let new_refresh = rotated.body["refreshToken"].as_str().unwrap().to_owned();
    app.age_rotation(&s.refresh, 11).await;

    let replay = app.refresh(&s.refresh).await;
    expect_error(&replay, 401, "unauthenticated");
    assert!(
        app.session_of(&s.refresh).await.revoked_at.is_some(),
        "the session is revoked"
    );
    expect_error(&app.refresh(&new_refresh).await, 401, "unauthenticated");
    expect_error(&app.me(&new_access).await, 401, "unauthenticated");
    expect_error(&app.me(&s.access).await, 401, "unauthenticated");
}

#[tokio::test]
async fn an_unknown_or_missing_refresh_token_is_refused() {
    let app = spawn_app().await;
    let r = app.refresh("not-a-refresh-token").await;
    expect_error(&r, 401, "unauthenticated");
    let r = app.post("/api/auth/refresh", None, json!({})).await;
    expect_error(&r, 400, "invalid_argument");
    assert!(
        error_fields(&r).contains(&"refreshToken".to_owned()),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_password_reset_sets_the_new_password_and_revokes_every_session() {
    let app = spawn_app().await;
    let s = app.login_as("dan@example.com", "user").await;
    let r = app.reset(json!({ "email": "dan@example.com" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({ "success": true }));
    let mails = app.wait_for_mails("dan@example.com", 1).await;
    assert_eq!(mails.len(), 1, "one reset mail: {mails:?}");
    let token = app.token_from_mail("dan@example.com", "Reset").await;

    let new_password = "a brand new passphrase";
    let done = app
        .reset(json!({ "token": token, "password": new_password }))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body, json!({ "success": true }));

    expect_error(&app.me(&s.access).await, 401, "unauthenticated");
    expect_error(&app.refresh(&s.refresh).await, 401, "unauthenticated");
    assert!(
        app.sessions_of(s.user.id)
            .await
            .iter()
            .all(|s| s.revoked_at.is_some())
    );
    expect_error(
        &app.login("dan@example.com", PASSWORD).await,
        401,
        "unauthenticated",
    );
    let login = app.login("dan@example.com", new_password).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);

    let again = app
        .reset(json!({ "token": token, "password": "yet another passphrase" }))
        .await;
    expect_error(&again, 400, "invalid_argument");
    let still = app.login("dan@example.com", new_password).await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "a spent token changes nothing"
    );
}

#[tokio::test]
async fn a_reset_request_for_an_unknown_address_answers_the_same_and_mails_nothing() {
    let app = spawn_app().await;
    app.create_user("eli@example.com", "user", true).await;
    let known = app.reset(json!({ "email": "eli@example.com" })).await;
    let unknown = app.reset(json!({ "email": "ghost@example.com" })).await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.text);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body);
    assert_eq!(app.wait_for_mails("eli@example.com", 1).await.len(), 1);
    assert!(app.settled_mails("ghost@example.com").await.is_empty());
}

#[tokio::test]
async fn a_reset_request_for_an_invalid_address_is_400_naming_the_email() {
    let app = spawn_app().await;
    let r = app.reset(json!({ "email": "not an email" })).await;
    expect_error(&r, 400, "invalid_argument");
    assert!(error_fields(&r).contains(&"email".to_owned()), "{}", r.text);
}

#[tokio::test]
async fn a_reset_with_neither_or_a_mix_of_halves_is_400() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({ "token": "t" }),
        json!({ "password": PASSWORD }),
        json!({ "email": "fin@example.com", "password": PASSWORD }),
        json!({ "email": "fin@example.com", "token": "t", "password": PASSWORD }),
    ] {
        let r = app.reset(body.clone()).await;
        expect_error(&r, 400, "invalid_argument");
    }
    assert!(app.settled_mails("fin@example.com").await.is_empty());
}

#[tokio::test]
async fn a_too_short_new_password_is_refused_without_spending_the_token() {
    let app = spawn_app().await;
    app.create_user("gil@example.com", "user", true).await;
    app.reset(json!({ "email": "gil@example.com" })).await;
    app.wait_for_mails("gil@example.com", 1).await;
    let token = app.token_from_mail("gil@example.com", "Reset").await;

    let short = app
        .reset(json!({ "token": token, "password": "short" }))
        .await;
    expect_error(&short, 400, "invalid_argument");
    assert!(
        error_fields(&short).contains(&"password".to_owned()),
        "{}",
        short.text
    );
    let login = app.login("gil@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "old password still works");

    let ok = app
        .reset(json!({ "token": token, "password": "long enough now" }))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
}

#[tokio::test]
async fn an_unknown_reset_token_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_user("hob@example.com", "user", true).await;
    let r = app
        .reset(json!({ "token": "made-up-token", "password": "a new passphrase" }))
        .await;
    expect_error(&r, 400, "invalid_argument");
    let login = app.login("hob@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
}

#[tokio::test]
async fn a_verification_token_cannot_complete_a_password_reset() {
    let app = spawn_app().await;
    app.register("ivy@example.com", "Ivy", None).await;
    let token = app.token_from_mail("ivy@example.com", "Confirm").await;
    let r = app
        .reset(json!({ "token": token, "password": "a new passphrase" }))
        .await;
    expect_error(&r, 400, "invalid_argument");
}
