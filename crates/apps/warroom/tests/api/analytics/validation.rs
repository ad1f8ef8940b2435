//! The read endpoints' parameters at their boundaries (each bad one a 400 naming it), unknown
//! campaigns (404) and who may call what (anonymous 401; `/integrations/*` analyst and up).

use chrono::{Duration, Utc};
use uuid::Uuid;

use super::{rfc3339, with_query, world};
use crate::helpers::*;

/// Every endpoint with what it takes beyond `campaignId`: a window, paging, a top-N `limit`,
/// the mention filters, an interval.
struct Endpoint {
    path: &'static str,
    window: bool,
    paging: bool,
    top: bool,
    filters: bool,
    interval: bool,
}

const fn ep(
    path: &'static str,
    paging: bool,
    top: bool,
    filters: bool,
    interval: bool,
) -> Endpoint {
    Endpoint {
        path,
        window: true,
        paging,
        top,
        filters,
        interval,
    }
}

/// A query and the fields its 400 must name.
type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);

const ENDPOINTS: &[Endpoint] = &[
    ep("/api/v1/mentionlytics/mentions", true, false, true, false),
    ep("/api/v1/mentionlytics/sentiment", false, false, false, true),
    ep("/api/v1/mentionlytics/trending", false, true, false, false),
    ep(
        "/api/v1/mentionlytics/share-of-voice",
        false,
        false,
        false,
        false,
    ),
    Endpoint {
        path: "/api/v1/mentionlytics/feed",
        window: false,
        paging: false,
        top: true,
        filters: false,
        interval: false,
    },
    ep(
        "/api/v1/mentionlytics/influencers",
        true,
        false,
        false,
        false,
    ),
    ep("/api/v1/mentionlytics/geo", true, false, false, false),
    ep("/api/v1/monitoring/sentiment", false, false, false, true),
    ep("/api/v1/monitoring/mentions", true, false, true, false),
    ep("/api/v1/monitoring/trending", false, true, false, false),
    ep("/api/v1/monitoring/trends", false, false, false, false),
];

#[tokio::test]
async fn each_bad_parameter_is_a_400_naming_it() {
    let w = world().await;
    let now = Utc::now();
    let late = rfc3339(now - Duration::hours(1));
    let early = rfc3339(now - Duration::hours(2));
    let too_early = rfc3339(now - Duration::days(91));
    let long = "x".repeat(201);
    let window: Vec<(&str, &str, &str)> = vec![
        ("hours", "0", "hours"),
        ("hours", "721", "hours"),
        ("hours", "abc", "hours"),
        ("hours", "1.5", "hours"),
        ("start", "yesterday", "start"),
        ("end", "2026-13-01", "end"),
        ("start", &too_early, "start"),
        ("platform", " ", "platform"),
        ("platform", &long, "platform"),
    ];
    for e in ENDPOINTS {
        let mut cases: Vec<Case> = vec![(vec![("campaignId", "not-a-uuid")], vec!["campaignId"])];
        if e.window {
            for (k, v, field) in &window {
                cases.push((vec![(k, v)], vec![field]));
            }
            cases.push((vec![("start", &late), ("end", &early)], vec!["start"]));
            cases.push((vec![("start", &early), ("hours", "2")], vec!["hours"]));
            // Every wrong parameter is named at once.
            cases.push((vec![("hours", "0"), ("end", "soon")], vec!["end", "hours"]));
        }
        if e.paging {
            cases.push((vec![("limit", "101")], vec!["limit"]));
            cases.push((vec![("limit", "0")], vec!["limit"]));
            cases.push((vec![("page", "0")], vec!["page"]));
            cases.push((vec![("page", "x"), ("limit", "-1")], vec!["page", "limit"]));
        }
        if e.top {
            cases.push((vec![("limit", "101")], vec!["limit"]));
            cases.push((vec![("limit", "ten")], vec!["limit"]));
        }
        if e.filters {
            cases.push((vec![("sentiment", "angry")], vec!["sentiment"]));
            cases.push((vec![("q", "  ")], vec!["q"]));
            cases.push((vec![("keyword", "")], vec!["keyword"]));
        }
        if e.interval {
            cases.push((vec![("interval", "week")], vec!["interval"]));
        }
        for (query, fields) in cases {
            let r = w
                .app
                .get(&with_query(e.path, &query), Some(&w.viewer))
                .await;
            expect_error(&r, 400, "invalid_argument");
            assert_eq!(error_fields(&r), fields, "{} {query:?}: {}", e.path, r.text);
        }
    }
    // The feed's cursor: a mention id or an instant.
    let feed = "/api/v1/mentionlytics/feed";
    for since in ["soon", &Uuid::now_v7().to_string()] {
        let r = w
            .app
            .get(&with_query(feed, &[("since", since)]), Some(&w.viewer))
            .await;
        expect_error(&r, 400, "invalid_argument");
        assert_eq!(error_fields(&r), ["since"], "{since}: {}", r.text);
    }
    let path = format!("/api/v1/integrations/mentionlytics/{}?hours=0", w.a);
    let r = w.app.get(&path, Some(&w.manager)).await;
    expect_error(&r, 400, "invalid_argument");
    assert_eq!(error_fields(&r), ["hours"]);
}

#[tokio::test]
async fn the_boundary_values_are_accepted() {
    let w = world().await;
    let start = rfc3339(Utc::now() - Duration::days(90) + Duration::minutes(1));
    for e in ENDPOINTS {
        let mut queries: Vec<Vec<(&str, &str)>> = vec![vec![("campaignId", &w.a)]];
        if e.window {
            queries.push(vec![("hours", "1")]);
            queries.push(vec![("hours", "720")]);
            queries.push(vec![("start", &start)]);
            queries.push(vec![("start", "2026-01-01"), ("end", "2026-01-02")]);
        }
        if e.paging || e.top {
            queries.push(vec![("limit", "1")]);
            queries.push(vec![("limit", "100")]);
        }
        for query in queries {
            let r = w
                .app
                .get(&with_query(e.path, &query), Some(&w.viewer))
                .await;
            assert_eq!(r.status, 200, "{} {query:?}: {}", e.path, r.text);
        }
    }
}

#[tokio::test]
async fn an_unknown_campaign_is_404_everywhere() {
    let w = world().await;
    let unknown = Uuid::now_v7().to_string();
    for e in ENDPOINTS {
        let r = w
            .app
            .get(
                &with_query(e.path, &[("campaignId", &unknown)]),
                Some(&w.viewer),
            )
            .await;
        expect_error(&r, 404, "not_found");
    }
    for (id, message) in [
        (unknown.as_str(), "Campaign not found"),
        ("not-a-uuid", "no such route"),
    ] {
        let r = w
            .app
            .get(
                &format!("/api/v1/integrations/mentionlytics/{id}"),
                Some(&w.manager),
            )
            .await;
        expect_error(&r, 404, "not_found");
        assert_eq!(r.body["message"], message, "{id}: {}", r.text);
    }
}

/// Who may read what is the access matrix's (tests/api/access_matrix.rs); here, that an
/// anonymous caller is refused before a bad parameter is looked at.
#[tokio::test]
async fn anonymous_callers_are_refused_before_the_parameters_are_read() {
    let w = world().await;
    let integration = format!("/api/v1/integrations/mentionlytics/{}", w.a);
    for path in ENDPOINTS
        .iter()
        .map(|e| e.path)
        .chain([integration.as_str()])
    {
        let bad = with_query(path, &[("hours", "0")]);
        expect_error(&w.app.get(&bad, None).await, 401, "unauthenticated");
    }
}
