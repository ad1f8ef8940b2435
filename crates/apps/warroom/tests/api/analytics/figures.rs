//! The aggregates: sentiment, trending terms, share of voice, influencers, locations,
//! platform trends, and seed 001's `MentionlyticsData`.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Value, json};

use super::{MENTIONS, approx, rfc3339, world};

#[tokio::test]
async fn sentiment_counts_shares_mean_and_an_hourly_series() {
    let w = world().await;
    let top = Utc::now().duration_trunc(Duration::hours(1)).unwrap() + Duration::hours(1);
    let (start, end) = (rfc3339(top - Duration::hours(24)), rfc3339(top));
    let q = [
        ("campaignId", w.a.as_str()),
        ("start", &start),
        ("end", &end),
    ];
    let s = w.ok("/api/v1/mentionlytics/sentiment", &q).await;
    assert_eq!(
        (&s["total"], &s["positive"], &s["neutral"], &s["negative"]),
        (&json!(6), &json!(3), &json!(1), &json!(2))
    );
    approx(&s["positiveShare"], 50.0);
    approx(&s["neutralShare"], 16.67);
    approx(&s["negativeShare"], 33.33);
    approx(&s["averageScore"], 0.1);
    assert_eq!(s["interval"], "hour");
    assert_eq!(s["sampled"], false);
    assert_eq!(
        s["window"]["start"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        top - Duration::hours(24)
    );
    let series = s["series"].as_array().unwrap();
    assert_eq!(series.len(), 24);
    let sum: u64 = series.iter().map(|b| b["total"].as_u64().unwrap()).sum();
    assert_eq!(sum, 6);
    // The newest mention (positive) sits in the bucket of its hour.
    let list = w
        .ok(MENTIONS, &[("campaignId", &w.a), ("limit", "1")])
        .await;
    let at: DateTime<Utc> = list["mentions"][0]["timestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let newest = at.duration_trunc(Duration::hours(1)).unwrap();
    let bucket = series
        .iter()
        .find(|b| {
            b["start"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap()
                == newest
        })
        .expect("bucket of the newest mention");
    assert!(bucket["positive"].as_u64().unwrap() >= 1, "{bucket}");
    assert!(
        series
            .iter()
            .any(|b| b["total"] == 0 && b["averageScore"].is_null())
    );

    // By day; seed 001's `/monitoring/sentiment` answers the same inside `{ sentiment }`.
    let mut q = q.to_vec();
    q.push(("interval", "day"));
    let m = w.ok("/api/v1/monitoring/sentiment", &q).await;
    assert_eq!(m["sentiment"]["interval"], "day");
    assert_eq!(m["sentiment"]["total"], 6);
    let days = m["sentiment"]["series"].as_array().unwrap();
    assert!((1..=2).contains(&days.len()), "{days:?}");

    // No mentions: zeros and a null mean.
    let b = w
        .ok(
            "/api/v1/mentionlytics/sentiment",
            &[("campaignId", &w.b), ("hours", "1")],
        )
        .await;
    assert_eq!(b["total"], 0);
    assert_eq!(b["averageScore"], Value::Null);
    approx(&b["positiveShare"], 0.0);
}

#[tokio::test]
async fn trending_ranks_terms_and_hashtags_against_the_previous_window() {
    let w = world().await;
    let t = w
        .ok(
            "/api/v1/mentionlytics/trending",
            &[("campaignId", &w.a), ("limit", "3")],
        )
        .await;
    assert_eq!(
        t["trending"],
        json!([
            { "term": "plan", "kind": "word", "mentions": 4, "previousMentions": 1, "growth": 300.0 },
            { "term": "jobs", "kind": "word", "mentions": 3, "previousMentions": 1, "growth": 200.0 },
            { "term": "#springfield", "kind": "hashtag", "mentions": 2, "previousMentions": 0, "growth": null },
        ])
    );
    assert_eq!(t["sampled"], false);
    assert_eq!(t["previousWindow"]["end"], t["window"]["start"]);
    // Seed 001's `/monitoring/trending` defaults to 10; campaign B alone shares none of A's terms.
    let all = w
        .ok("/api/v1/monitoring/trending", &[("campaignId", &w.a)])
        .await;
    assert_eq!(all["trending"].as_array().unwrap().len(), 10);
    let b = w
        .ok("/api/v1/monitoring/trending", &[("campaignId", &w.b)])
        .await;
    let terms: Vec<&str> = b["trending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["term"].as_str().unwrap())
        .collect();
    assert_eq!(terms, ["great", "parade", "springfield"]);
}

#[tokio::test]
async fn share_of_voice_covers_every_keyword_and_competitor() {
    let w = world().await;
    let s = w
        .ok(
            "/api/v1/mentionlytics/share-of-voice",
            &[("campaignId", &w.a)],
        )
        .await;
    assert_eq!(s["totalMentions"], 5);
    assert_eq!(s["totalReach"], 4750);
    let terms = s["terms"].as_array().unwrap();
    let row = |i: usize| {
        (
            terms[i]["term"].as_str().unwrap(),
            terms[i]["kind"].as_str().unwrap(),
            terms[i]["mentions"].as_u64().unwrap(),
            terms[i]["reach"].as_i64().unwrap(),
        )
    };
    assert_eq!(terms.len(), 3, "{terms:?}");
    assert_eq!(row(0), ("Jobs Plan", "keyword", 4, 1750));
    assert_eq!(row(1), ("Rival Corp", "competitor", 1, 3000));
    assert_eq!(row(2), ("Town Hall", "keyword", 0, 0));
    approx(&terms[0]["share"], 80.0);
    approx(&terms[0]["reachShare"], 36.84);
    approx(&terms[0]["averageSentiment"], 0.425);
    approx(&terms[1]["share"], 20.0);
    approx(&terms[1]["reachShare"], 63.16);
    approx(&terms[1]["averageSentiment"], -0.7);
    approx(&terms[2]["share"], 0.0);
    assert_eq!(terms[2]["averageSentiment"], Value::Null);

    // Across campaigns, B's `matched` value that no configuration lists is "other".
    let all = w.ok("/api/v1/mentionlytics/share-of-voice", &[]).await;
    let parade = all["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["term"] == "parade")
        .expect("parade");
    assert_eq!(
        (&parade["kind"], &parade["mentions"]),
        (&json!("other"), &json!(1))
    );
    assert_eq!(all["totalMentions"], 6);
}

#[tokio::test]
async fn influencers_are_authors_by_reach_then_paged() {
    let w = world().await;
    let path = "/api/v1/mentionlytics/influencers";
    let i = w.ok(path, &[("campaignId", &w.a)]).await;
    assert_eq!((&i["total"], &i["limit"]), (&json!(4), &json!(10)));
    let list = i["influencers"].as_array().unwrap();
    let who: Vec<(&str, &str)> = list
        .iter()
        .map(|x| {
            (
                x["author"].as_str().unwrap(),
                x["platform"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("@carol", "twitter"),
            ("@alice", "twitter"),
            ("Bob Smith", "facebook"),
            ("Dan", "facebook")
        ]
    );
    assert_eq!(
        (
            &list[1]["mentions"],
            &list[1]["reach"],
            &list[1]["engagement"]
        ),
        (&json!(3), &json!(1250), &json!(56))
    );
    approx(&list[1]["averageSentiment"], 0.367);
    let page2 = w
        .ok(path, &[("campaignId", &w.a), ("limit", "2"), ("page", "2")])
        .await;
    let names: Vec<&str> = page2["influencers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["author"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bob Smith", "Dan"]);
    assert_eq!(page2["total"], 4);
}

#[tokio::test]
async fn geo_counts_mentions_and_sentiment_by_location() {
    let w = world().await;
    let g = w
        .ok("/api/v1/mentionlytics/geo", &[("campaignId", &w.a)])
        .await;
    assert_eq!((&g["total"], &g["unlocated"]), (&json!(2), &json!(1)));
    let austin = &g["locations"][0];
    assert_eq!(austin["location"], "Austin, TX");
    assert_eq!(
        (
            &austin["mentions"],
            &austin["positive"],
            &austin["neutral"],
            &austin["negative"],
            &austin["reach"]
        ),
        (&json!(3), &json!(2), &json!(1), &json!(0), &json!(1550))
    );
    approx(&austin["share"], 50.0);
    approx(&austin["averageSentiment"], 0.467);
    let dallas = &g["locations"][1];
    assert_eq!(dallas["location"], "Dallas, TX");
    assert_eq!(
        (&dallas["positive"], &dallas["negative"]),
        (&json!(1), &json!(1))
    );
    approx(&dallas["share"], 33.33);
    // Every campaign: B's mention is in Austin too.
    let all = w.ok("/api/v1/mentionlytics/geo", &[("limit", "1")]).await;
    assert_eq!(all["locations"][0]["mentions"], 4);
    assert_eq!((&all["total"], &all["limit"]), (&json!(2), &json!(1)));
}

#[tokio::test]
async fn trends_compare_each_platform_with_the_previous_window() {
    let w = world().await;
    let t = w
        .ok("/api/v1/monitoring/trends", &[("campaignId", &w.a)])
        .await;
    let trends = t["trends"].as_array().unwrap();
    assert_eq!(trends.len(), 2, "{trends:?}");
    assert_eq!(trends[0]["platform"], "twitter");
    assert_eq!(
        (&trends[0]["mentions"], &trends[0]["previousMentions"]),
        (&json!(4), &json!(1))
    );
    approx(&trends[0]["change"], 300.0);
    assert_eq!(trends[0]["reach"], 4250);
    approx(&trends[0]["averageSentiment"], 0.1);
    assert_eq!(trends[1]["platform"], "facebook");
    assert_eq!(
        (&trends[1]["mentions"], &trends[1]["previousMentions"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(trends[1]["change"], Value::Null);
    assert_eq!(t["previousWindow"]["end"], t["window"]["start"]);

    // A week back there is nothing; in the five hours before yesterday twitter had no
    // mention but had one in the five hours before that.
    let end = rfc3339(Utc::now() - Duration::days(7));
    let old = w
        .ok(
            "/api/v1/monitoring/trends",
            &[("campaignId", &w.a), ("end", &end)],
        )
        .await;
    assert_eq!(old["trends"], json!([]));
    let end = rfc3339(Utc::now() - Duration::hours(24));
    let shifted = w
        .ok(
            "/api/v1/monitoring/trends",
            &[("campaignId", &w.a), ("end", &end), ("hours", "5")],
        )
        .await;
    assert_eq!(
        shifted["trends"].as_array().unwrap().len(),
        1,
        "{}",
        shifted["trends"]
    );
    assert_eq!(shifted["trends"][0]["platform"], "twitter");
    assert_eq!(shifted["trends"][0]["mentions"], 0);
    assert_eq!(shifted["trends"][0]["previousMentions"], 1);
    approx(&shifted["trends"][0]["change"], -100.0);
    assert_eq!(shifted["trends"][0]["averageSentiment"], Value::Null);
}

#[tokio::test]
async fn mentionlytics_data_sums_up_one_campaign() {
    let w = world().await;
    let analyst = w
        .app
        .login_as("analyst@example.com", "analyst")
        .await
        .access;
    let r = w
        .app
        .get(
            &format!("/api/v1/integrations/mentionlytics/{}", w.a),
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = &r.body;
    assert_eq!(d["totalMentions"], 6);
    approx(&d["sentimentScore"], 0.1);
    assert_eq!(d["reach"], 4850);
    assert_eq!(d["mentions"].as_array().unwrap().len(), 6);
    assert_eq!(d["mentions"][0]["id"], w.a_ids[0].to_string());
    assert_eq!(d["sentiment"]["positive"], 3);
    assert_eq!(d["influencers"][0]["author"], "@carol");
    assert_eq!(d["influencers"].as_array().unwrap().len(), 4);
    let competitors = d["competitors"].as_array().unwrap();
    assert_eq!(competitors.len(), 1);
    assert_eq!(
        (&competitors[0]["term"], &competitors[0]["mentions"]),
        (&json!("Rival Corp"), &json!(1))
    );
    approx(&competitors[0]["share"], 20.0);
    // A longer window reaches the older mention.
    let r = w
        .app
        .get(
            &format!("/api/v1/integrations/mentionlytics/{}?hours=48", w.a),
            Some(&analyst),
        )
        .await;
    assert_eq!(r.body["totalMentions"], 7, "{}", r.text);
}
