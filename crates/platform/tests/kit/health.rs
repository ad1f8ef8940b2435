//! Liveness answers from memory whatever the database does; readiness pings it; the status
//! the seeds' own health endpoints report follows it within a second or two.

use std::time::Duration;

use crate::{eventually, spawn};

#[tokio::test]
async fn liveness_stays_while_readiness_and_the_cached_status_follow_the_database() {
    let app = spawn().await;
    assert_eq!(app.get("/readyz", None).await.status, 200);
    assert!(app.ctx.db_health.status().up);

    // Every instance loses its database (with one instance, that instance).
    for ctx in app.contexts() {
        ctx.db.close_by_ref().await.unwrap();
    }

    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["status"], "unavailable");
    assert_eq!(r.body["checks"]["database"], "down");
    let r = app.get("/healthz", None).await;
    assert_eq!((r.status.as_u16(), &r.body["status"]), (200, &"ok".into()));
    assert!(
        eventually(Duration::from_secs(5), async || !app
            .ctx
            .db_health
            .status()
            .up)
        .await,
        "the cached status never saw the database go"
    );
}
