//! Mention lists (`/mentionlytics/mentions`, `/monitoring/mentions`): newest first, the
//! campaign and window filters, paging, and the sentiment, platform, text and keyword filters.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::{MENTIONS, approx, campaign_a, rfc3339, texts, world};

#[tokio::test]
async fn mentions_are_the_campaigns_newest_first_within_the_window() {
    let w = world().await;
    let body = w.ok(MENTIONS, &[("campaignId", &w.a)]).await;
    assert_eq!(body["total"], 6);
    assert_eq!(
        (body["page"].as_u64(), body["limit"].as_u64()),
        (Some(1), Some(20))
    );
    let a = campaign_a();
    assert_eq!(
        texts(&body["mentions"]),
        a[..6].iter().map(|m| m.text).collect::<Vec<_>>()
    );
    let first = &body["mentions"][0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "author",
            "campaignId",
            "engagement",
            "id",
            "language",
            "location",
            "matched",
            "platform",
            "reach",
            "sentiment",
            "sentimentLabel",
            "sentimentSource",
            "sourceId",
            "text",
            "timestamp",
            "url"
        ]
    );
    assert_eq!(first["id"], w.a_ids[0].to_string());
    assert_eq!(first["campaignId"], w.a);
    assert_eq!(first["sentimentLabel"], "positive");
    assert_eq!(first["location"], "Austin, TX");
    assert_eq!(first["matched"], "jobs plan");
    assert_eq!(first["reach"], 1000);
    approx(&first["sentiment"], 0.8);
    assert_eq!(body["mentions"][3]["location"], Value::Null);
    assert_eq!(body["mentions"][3]["sentimentLabel"], "negative");
    assert_eq!(body["mentions"][5]["sentimentLabel"], "neutral");

    // Every campaign's when campaignId is absent; B's alone with B's id.
    assert_eq!(w.ok(MENTIONS, &[]).await["total"], 7);
    let b = w.ok(MENTIONS, &[("campaignId", &w.b)]).await;
    assert_eq!(texts(&b["mentions"]), ["Springfield parade great"]);
    assert_eq!(b["mentions"][0]["id"], w.b_ids[0].to_string());
}

#[tokio::test]
async fn the_window_moves_with_hours_or_start_and_end() {
    let w = world().await;
    let a = w.a.as_str();
    assert_eq!(
        w.ok(MENTIONS, &[("campaignId", a), ("hours", "48")]).await["total"],
        7
    );
    assert_eq!(
        w.ok(MENTIONS, &[("campaignId", a), ("hours", "3")]).await["total"],
        3
    );
    let now = Utc::now();
    let (start, end) = (
        rfc3339(now - Duration::hours(31)),
        rfc3339(now - Duration::hours(29)),
    );
    let old = w
        .ok(
            MENTIONS,
            &[("campaignId", a), ("start", &start), ("end", &end)],
        )
        .await;
    assert_eq!(texts(&old["mentions"]), ["Jobs plan announced"]);
    // `end` alone: the 24 hours before it.
    let end = rfc3339(now - Duration::hours(20));
    let before = w.ok(MENTIONS, &[("campaignId", a), ("end", &end)]).await;
    assert_eq!(texts(&before["mentions"]), ["Jobs plan announced"]);
    // 90 days is the widest window: the 10-day-old mention is in it.
    let start = rfc3339(now - Duration::days(89));
    assert_eq!(
        w.ok(MENTIONS, &[("campaignId", a), ("start", &start)])
            .await["total"],
        8
    );
}

#[tokio::test]
async fn mentions_page_and_filter_by_sentiment_platform_and_text() {
    let w = world().await;
    let a = w.a.as_str();
    let page2 = w
        .ok(
            MENTIONS,
            &[("campaignId", a), ("limit", "4"), ("page", "2")],
        )
        .await;
    assert_eq!(page2["total"], 6);
    assert_eq!(
        texts(&page2["mentions"]),
        ["Awful taxes under_score plan", "Town hall at noon"]
    );
    let page3 = w
        .ok(
            MENTIONS,
            &[("campaignId", a), ("limit", "4"), ("page", "3")],
        )
        .await;
    assert_eq!(page3["mentions"], json!([]));
    assert_eq!(page3["total"], 6);

    let count = async |q: &[(&str, &str)]| {
        let mut query = vec![("campaignId", a)];
        query.extend_from_slice(q);
        let body = w.ok(MENTIONS, &query).await;
        assert_eq!(
            body["mentions"].as_array().unwrap().len() as u64,
            body["total"].as_u64().unwrap()
        );
        body["total"].as_u64().unwrap()
    };
    assert_eq!(count(&[("sentiment", "positive")]).await, 3);
    assert_eq!(count(&[("sentiment", "negative")]).await, 2);
    assert_eq!(count(&[("sentiment", "neutral")]).await, 1);
    assert_eq!(count(&[("platform", "facebook")]).await, 2);
    // Platforms compare case-insensitively (one mention is stored as `Twitter`).
    assert_eq!(count(&[("platform", "TWITTER")]).await, 4);
    assert_eq!(count(&[("platform", "tiktok")]).await, 0);
    assert_eq!(count(&[("q", "JOBS plan")]).await, 3);
    // LIKE wildcards in `q` are literal characters.
    assert_eq!(count(&[("q", "_")]).await, 2);
    assert_eq!(count(&[("q", "100%")]).await, 1);
    assert_eq!(count(&[("q", "%")]).await, 1);
    assert_eq!(count(&[("q", "plan"), ("sentiment", "negative")]).await, 1);
}

#[tokio::test]
async fn monitoring_mentions_filters_by_keyword_in_matched_or_text() {
    let w = world().await;
    let path = "/api/v1/monitoring/mentions";
    let a = w.a.as_str();
    // "rival corp" is only in `matched`; "taxes" only in the text.
    let rival = w
        .ok(path, &[("campaignId", a), ("keyword", "rival corp")])
        .await;
    assert_eq!(
        texts(&rival["mentions"]),
        ["Terrible scandal, rival_corp wins"]
    );
    let taxes = w.ok(path, &[("campaignId", a), ("keyword", "Taxes")]).await;
    assert_eq!(texts(&taxes["mentions"]), ["Awful taxes under_score plan"]);
    let jobs = w
        .ok(
            path,
            &[("campaignId", a), ("keyword", "jobs plan"), ("hours", "48")],
        )
        .await;
    assert_eq!(jobs["total"], 5);
}
