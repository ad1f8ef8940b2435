//! Refresh beyond plain rotation: the reuse grace answers the one successor (concurrently
//! too) and keeps it only sealed and only for the grace; `refresh_rotation = reuse`
//! (`WARROOM_REFRESH_ROTATION=reuse`) keeps the token for clients written to seed 001.

use platform::identity::{RefreshRotation, crypto::token_hash, entities::refresh_token};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::helpers::*;

async fn refresh(app: &TestApp, token: &str) -> Resp {
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refreshToken": token }),
    )
    .await
}

async fn tokens_of_session(app: &TestApp, session: uuid::Uuid) -> u64 {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::SessionId.eq(session))
        .count(&app.ctx.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_with_one_token_get_one_successor_and_a_late_replay_revokes_it() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let session = app.session_of(&ann.refresh).await.id;
    let (a, b, c) = tokio::join!(
        refresh(&app, &ann.refresh),
        refresh(&app, &ann.refresh),
        refresh(&app, &ann.refresh),
    );
    for r in [&a, &b, &c] {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let successor = a.body["refreshToken"].as_str().unwrap().to_owned();
    assert_eq!(b.body["refreshToken"], a.body["refreshToken"]);
    assert_eq!(c.body["refreshToken"], a.body["refreshToken"]);
    assert_ne!(successor, ann.refresh);
    assert_eq!(
        tokens_of_session(&app, session).await,
        2,
        "one family: the spent token and its one successor"
    );
    // After the grace, the spent token is a replay: the family ends, successor included.
    app.age_rotation(&ann.refresh, 11).await;
    expect_error(&refresh(&app, &ann.refresh).await, 401, "unauthenticated");
    assert!(app.session_of(&ann.refresh).await.revoked_at.is_some());
    expect_error(&refresh(&app, &successor).await, 401, "unauthenticated");
}

#[tokio::test]
async fn the_successor_is_kept_only_sealed_and_only_for_the_grace() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    let r = refresh(&app, &ann.refresh).await;
    let successor = r.body["refreshToken"].as_str().unwrap().to_owned();
    let spent = app.refresh_row(&ann.refresh).await;
    let sealed = spent.successor.clone().expect("sealed for the grace");
    assert!(!sealed.contains(&successor), "never in clear");
    assert!(!sealed.contains(&token_hash(&successor)));
    // What the database holds is worth nothing as a token.
    for stolen in [&sealed, &spent.token_hash] {
        expect_error(&refresh(&app, stolen).await, 401, "unauthenticated");
    }
    assert!(app.session_of(&ann.refresh).await.revoked_at.is_none());
    // Once the grace is over, the next rotation of the session erases the seal.
    app.age_rotation(&ann.refresh, 11).await;
    assert_eq!(refresh(&app, &successor).await.status, 200);
    assert_eq!(app.refresh_row(&ann.refresh).await.successor, None);
}

#[tokio::test]
async fn with_rotation_a_client_that_keeps_its_first_token_is_signed_out_on_its_second_refresh() {
    let app = spawn_app().await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    // Seed 001's client reads only { accessToken, expiresIn } and keeps its first token.
    assert_eq!(refresh(&app, &ann.refresh).await.status, 200);
    app.age_rotation(&ann.refresh, 60).await;
    expect_error(&refresh(&app, &ann.refresh).await, 401, "unauthenticated");
}

#[tokio::test]
async fn with_reuse_the_refresh_token_stays_valid_until_the_session_ends() {
    let app = spawn_app_with(|s| s.refresh_rotation = RefreshRotation::Reuse).await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    for _ in 0..3 {
        let r = refresh(&app, &ann.refresh).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body["refreshToken"],
            ann.refresh.as_str(),
            "the same token"
        );
        assert_eq!(r.body["expiresIn"], 900);
        let access = r.body["accessToken"].as_str().unwrap();
        assert_eq!(app.get("/api/v1/auth/me", Some(access)).await.status, 200);
    }
    let row = app.refresh_row(&ann.refresh).await;
    assert_eq!(row.rotated_at, None, "never spent");
    let session = app.session_of(&ann.refresh).await;
    assert_eq!(
        session.expires_at, row.expires_at,
        "no sliding past the token's expiry"
    );
    assert_eq!(tokens_of_session(&app, session.id).await, 1);
    // Revoking the session (logout) ends the token.
    let r = app
        .post("/api/v1/auth/logout", Some(&ann.access), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    expect_error(&refresh(&app, &ann.refresh).await, 401, "unauthenticated");
}

#[tokio::test]
async fn with_reuse_an_expired_refresh_token_is_refused() {
    let app = spawn_app_with(|s| s.refresh_rotation = RefreshRotation::Reuse).await;
    let ann = app.login_as("ann@example.com", "viewer").await;
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(refresh_token::Column::TokenHash.eq(token_hash(&ann.refresh)))
        .exec(&app.ctx.db)
        .await
        .unwrap();
    expect_error(&refresh(&app, &ann.refresh).await, 401, "unauthenticated");
}
