//! The data mode is the product's: an admin's switch is kept in its database (a restart keeps
//! it) and reaches every instance behind the load balancer.

use std::time::Duration;

use platform::datamode::Mode;
use serde_json::json;
use testkit::expect_error;

use crate::{another_instance, eventually, spawn, spawn_with, token};

async fn switch(app: &crate::App, admin: &str, mode: &str) -> testkit::Resp {
    app.request(
        reqwest::Method::PUT,
        "/admin/api/data-mode",
        Some(admin),
        Some(json!({ "dataMode": mode })),
    )
    .await
}

#[tokio::test]
async fn an_admin_switches_in_any_case_and_the_answer_is_the_documented_form() {
    let app = spawn().await;
    let admin = token(&app, "root@example.com", "admin").await;
    let r = app.get("/admin/api/data-mode", Some(&admin)).await;
    assert_eq!(r.body, json!({ "dataMode": "MOCK" }));
    let r = switch(&app, &admin, "live").await;
    assert_eq!(
        (r.status.as_u16(), &r.body),
        (200, &json!({ "dataMode": "LIVE" }))
    );
    assert!(app.ctx.data_mode.is_live());
    for bad in ["", "LIVELY", "mocks"] {
        let r = switch(&app, &admin, bad).await;
        expect_error(&r, 400, "invalid_argument");
    }
    assert!(
        app.ctx.data_mode.is_live(),
        "a refused switch changes nothing"
    );
}

#[tokio::test]
async fn a_switch_survives_a_restart_and_wins_over_the_configured_mode() {
    let app = spawn().await;
    let admin = token(&app, "root@example.com", "admin").await;
    assert_eq!(switch(&app, &admin, "LIVE").await.status, 200);
    // A new process on the same database, configured MOCK.
    let (restarted, _) = another_instance(&app).await;
    assert_eq!(restarted.data_mode.get(), Mode::Live);
}

#[tokio::test]
async fn until_an_admin_switches_the_configured_mode_applies() {
    let app = spawn_with(|s| s.data_mode = Mode::Live).await;
    assert!(app.ctx.data_mode.is_live());
}

/// Without Redis the other instances re-read the stored mode every few seconds.
#[tokio::test]
async fn another_instance_follows_a_switch_through_the_database() {
    let app = spawn().await;
    let admin = token(&app, "root@example.com", "admin").await;
    let (other, _) = another_instance(&app).await;
    assert_eq!(other.data_mode.get(), Mode::Mock);
    assert_eq!(switch(&app, &admin, "LIVE").await.status, 200);
    let followed = eventually(Duration::from_secs(8), async || other.data_mode.is_live()).await;
    assert!(followed, "the other instance did not follow within 8 s");
}

/// With Redis the switch is announced, and the other instance follows at once.
#[tokio::test]
async fn another_instance_follows_a_switch_at_once_through_redis() {
    let Some(redis) = testkit::SharedRedis::from_env() else {
        return;
    };
    let app = spawn_with(|s| redis.apply(s)).await;
    let admin = token(&app, "root@example.com", "admin").await;
    let (other, _) = another_instance(&app).await;
    // The other instance's relay subscribes in the background: switch it to the other mode
    // until it follows within 300 ms (its database re-read comes only every 5 s).
    let followed = eventually(Duration::from_secs(3), async || {
        let target = !other.data_mode.is_live();
        let mode = if target { "LIVE" } else { "MOCK" };
        assert_eq!(switch(&app, &admin, mode).await.status, 200);
        eventually(Duration::from_millis(300), async || {
            other.data_mode.is_live() == target
        })
        .await
    })
    .await;
    assert!(followed, "the other instance did not hear the switch");
}
