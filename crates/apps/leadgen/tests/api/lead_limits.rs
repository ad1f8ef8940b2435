//! Seed 004's lead limits, per user (service/access.rs): list 1,000/hour, create 500/hour,
//! update 1,000/hour. conformance.rs drives every rule to its boundary over HTTP at these
//! numbers; here each is checked where it matters to the product: the N-th request does its
//! work, the N+1-th is 429 (`Retry-After`, `X-RateLimit-*`) and does none, another user of
//! the same organization is not held back. The first N-1 hits are counted straight into the
//! limiter (the same counter the middleware uses, in memory or in Redis) so a boundary costs
//! two requests, not a thousand.

use leadgen::service::access::{CREATE_LEAD, LIST_LEADS, UPDATE_LEAD};
use platform::ratelimit::Rule;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const HOUR: u64 = 3600;

/// Counts `n` hits of `rule` for `user` without a request.
async fn spend(app: &TestApp, rule: &Rule, user: uuid::Uuid, n: u32) {
    for _ in 0..n {
        app.ctx.limiter.hit(rule, &user.to_string()).await.unwrap();
    }
}

/// The last permitted request: it passes, saying nothing is left.
#[track_caller]
fn last_allowed(r: &Resp, limit: u64) {
    assert!(
        r.status.is_success(),
        "request {limit} of {limit} must pass: {} {}",
        r.status,
        r.text
    );
    let (l, remaining, reset) = rate_headers(r);
    assert_eq!((l, remaining), (limit, 0), "{:?}", r.headers);
    assert!((1..=HOUR).contains(&reset));
}

async fn boundaries(app: &TestApp) {
    let me = app.login_as(&unique_email("limits"), "user").await;
    let lead = app
        .lead_ok(&me.access, json!({ "email": "first@x.example" }))
        .await;
    let path = format!("/api/leads/{}", lead["id"].as_str().unwrap());

    // List: the 1,000th passes, the 1,001st is refused; reading one lead shares the count.
    spend(app, &LIST_LEADS, me.user.id, 999).await;
    last_allowed(&app.leads(&me.access, "").await, 1000);
    assert_limited(&app.leads(&me.access, "").await, 1000, HOUR);
    assert_limited(&app.get(&path, Some(&me.access)).await, 1000, HOUR);

    // Create: the 500th (the first was `lead` above) stores a lead, the 501st stores none.
    spend(app, &CREATE_LEAD, me.user.id, 498).await;
    let r = app
        .create_lead(&me.access, json!({ "email": "last@x.example" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    last_allowed(&r, 500);
    let r = app
        .create_lead(&me.access, json!({ "email": "over@x.example" }))
        .await;
    assert_limited(&r, 500, HOUR);

    // Update: the 1,000th changes the lead, the 1,001st changes nothing.
    spend(app, &UPDATE_LEAD, me.user.id, 999).await;
    let r = app
        .put(&path, &me.access, json!({ "status": "contacted" }))
        .await;
    last_allowed(&r, 1000);
    assert_eq!(r.body["status"], "contacted");
    let r = app
        .put(&path, &me.access, json!({ "status": "lost" }))
        .await;
    assert_limited(&r, 1000, HOUR);

    // Someone else is counted apart, and sees what the refused requests left.
    let other = app.login_as(&unique_email("limits"), "user").await;
    let r = app.leads(&other.access, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(rate_headers(&r).1, 999);
    let stored = leadgen::db::leads::find(
        &app.ctx.db,
        me.org.id,
        lead["id"].as_str().unwrap().parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stored.status, "contacted");
    let emails: Vec<String> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        leadgen::db::leads::lead::Entity::find()
            .filter(leadgen::db::leads::lead::Column::OrganizationId.eq(me.org.id))
            .all(&app.ctx.db)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.email)
            .collect()
    };
    assert!(!emails.contains(&"over@x.example".to_owned()), "{emails:?}");
    assert_eq!(emails.len(), 2);
}

#[tokio::test]
async fn each_lead_limit_lets_the_nth_request_work_and_refuses_the_next() {
    boundaries(&spawn_app().await).await;
}

/// Needs Redis; runs when `TEST_REDIS_URL` is set.
#[tokio::test]
async fn each_lead_limit_holds_at_its_boundary_when_counted_in_redis() {
    let Some(redis) = testkit::SharedRedis::from_env() else {
        return;
    };
    boundaries(&spawn_app_with(|s| redis.apply(s)).await).await;
}
