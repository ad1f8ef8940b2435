//! `/mentionlytics/feed`: what arrived after the reader's cursor, latest arrival first, so a
//! mention reported late (an old timestamp, stored now) still reaches a polling client.

use chrono::{Duration, Utc};
use serde_json::json;

use super::{Scripted, World, insert_mentions, rfc3339, world};

const FEED: &str = "/api/v1/mentionlytics/feed";

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

fn id(w: &World, i: usize) -> String {
    w.a_ids[i].to_string()
}

#[tokio::test]
async fn the_feed_returns_what_arrived_after_the_cursor() {
    let w = world().await;
    let a = w.a.as_str();
    let first = w.ok(FEED, &[("campaignId", a), ("limit", "3")]).await;
    assert_eq!(ids(&first), [id(&w, 0), id(&w, 1), id(&w, 2)]);
    assert_eq!(first["hasMore"], true);
    assert_eq!(first["cursor"], id(&w, 0));
    assert_eq!(first["mentions"][0]["sentimentLabel"], "positive");

    // Nothing new: no mentions, the same cursor.
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    let idle = w.ok(FEED, &[("campaignId", a), ("since", &cursor)]).await;
    assert_eq!(idle["mentions"], json!([]));
    assert_eq!(
        (&idle["cursor"], &idle["hasMore"]),
        (&json!(cursor), &json!(false))
    );

    // A mention stored now about something 20 hours old is new to the reader.
    let late = Scripted {
        text: "Late report from yesterday",
        ago: 20 * 60,
        arrived: Some(0),
        ..Scripted::default()
    };
    let late_id = insert_mentions(&w.app, a, &[late]).await[0].to_string();
    let next = w.ok(FEED, &[("campaignId", a), ("since", &cursor)]).await;
    assert_eq!(ids(&next), [late_id.as_str()]);
    assert_eq!(next["cursor"], late_id);
    assert_eq!(next["hasMore"], false);
    // Other campaigns' arrivals are not in campaign B's feed.
    let b = w.ok(FEED, &[("campaignId", &w.b)]).await;
    assert_eq!(ids(&b), [w.b_ids[0].to_string()]);
}

#[tokio::test]
async fn the_feed_takes_an_instant_a_platform_and_every_campaign() {
    let w = world().await;
    let since = rfc3339(Utc::now() - Duration::minutes(150));
    let recent = w.ok(FEED, &[("campaignId", &w.a), ("since", &since)]).await;
    assert_eq!(ids(&recent), [id(&w, 0), id(&w, 1)]);
    assert_eq!(recent["hasMore"], false);
    // An instant with no arrivals after it comes back as the cursor.
    let future = rfc3339(Utc::now() + Duration::hours(1));
    let none = w.ok(FEED, &[("since", &future)]).await;
    assert_eq!(none["mentions"], json!([]));
    assert!(none["cursor"].as_str().is_some());

    let facebook = w
        .ok(FEED, &[("campaignId", &w.a), ("platform", "Facebook")])
        .await;
    assert_eq!(ids(&facebook), [id(&w, 1), id(&w, 4)]);
    let all = w.ok(FEED, &[("limit", "2")]).await;
    assert_eq!(ids(&all), [id(&w, 0), w.b_ids[0].to_string()]);
    // The default page is 50: every stored mention of A (all within 90 days) fits.
    let every = w.ok(FEED, &[("campaignId", &w.a)]).await;
    assert_eq!(ids(&every).len(), 8);
    assert_eq!(every["hasMore"], false);
}
