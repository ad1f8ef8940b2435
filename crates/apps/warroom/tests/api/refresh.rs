//! Refresh beyond plain rotation: the reuse grace answers the one successor (concurrently
//! too) and keeps it only sealed and only for the grace.

use platform::identity::{crypto::token_hash, entities::refresh_token};
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
