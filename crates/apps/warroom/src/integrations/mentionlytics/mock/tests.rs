//! The mock's contract: deterministic and gap-free whatever the poll cadence, the configured
//! rate, bursts that read as a crisis (to VADER too) and quiet time that does not.

use std::collections::{HashMap, HashSet};

mod bursts;

use super::*;
use crate::domain::sentiment;

const KEYWORDS: [&str; 3] = ["Jane Smith", "Smith for Senate", "healthcare"];
const COMPETITORS: [&str; 2] = ["Tom Baker", "Baker 2026"];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

fn config(n: u128) -> Uuid {
    Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + n * 7919)
}

fn query(config_id: Uuid, since: DateTime<Utc>, until: DateTime<Utc>) -> MentionQuery {
    MentionQuery {
        config_id,
        campaign_id: Uuid::from_u128(42),
        keywords: KEYWORDS.map(String::from).to_vec(),
        competitors: COMPETITORS.map(String::from).to_vec(),
        influencers: vec!["@politico_pat".into(), "Dana Reyes".into()],
        platforms: vec![],
        since,
        until,
        limit: usize::MAX,
    }
}

fn default_mock() -> MockMentionlytics {
    MockMentionlytics::new(MockConfig::default())
}

fn quiet_mock() -> MockMentionlytics {
    MockMentionlytics::new(MockConfig {
        burst_length: Duration::ZERO,
        ..MockConfig::default()
    })
}

/// A day of one config's stream.
fn day(mock: &MockMentionlytics, config_id: Uuid) -> Vec<SourceMention> {
    mock.generate(&query(config_id, t0(), t0() + chrono::Duration::hours(24)))
}

fn within(ms: &[SourceMention], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<&SourceMention> {
    ms.iter()
        .filter(|m| m.timestamp >= from && m.timestamp < to)
        .collect()
}

/// What the storing service will keep: the source's score, else VADER's.
fn stored(m: &SourceMention) -> f64 {
    sentiment::resolve(m.sentiment, &m.text)
}

fn mean(xs: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = xs
        .into_iter()
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n as f64
}

/// The complete bursts of one day: `start..end` windows.
fn bursts_of_the_day(mock: &MockMentionlytics, config_id: Uuid) -> Vec<Range<DateTime<Utc>>> {
    let mut out = Vec::new();
    let mut at = t0();
    while let Some(b) = mock.burst_at_or_after(config_id, at) {
        if b.end > t0() + chrono::Duration::hours(24) {
            break;
        }
        at = b.end;
        if b.start >= t0() {
            out.push(b);
        }
    }
    out
}

#[test]
fn the_same_query_gives_the_same_mentions() {
    let mock = default_mock();
    let q = query(config(1), t0(), t0() + chrono::Duration::hours(2));
    let first = mock.generate(&q);
    assert!(first.len() > 700, "{}", first.len());
    assert_eq!(first, mock.generate(&q));
    assert_eq!(
        first,
        MockMentionlytics::new(MockConfig::default()).generate(&q)
    );
}

#[tokio::test]
async fn fetch_answers_what_generate_does() {
    let mock = default_mock();
    let q = query(config(1), t0(), t0() + minutes(30));
    assert_eq!(mock.fetch(&q).await.unwrap(), mock.generate(&q));
}

#[test]
fn split_windows_give_exactly_the_mentions_of_one_wide_window() {
    let mock = default_mock();
    let id = config(2);
    let end = t0() + chrono::Duration::hours(3);
    let wide = mock.generate(&query(id, t0(), end));
    // Irregular poll cadences: mid-slot, on slot boundaries, a millisecond, several minutes.
    let steps_ms = [7_300, 61_000, 10_000, 1, 180_000, 29_999, 300_001, 45_500];
    let mut polled = Vec::new();
    let (mut since, mut i) = (t0(), 0);
    while since < end {
        let until = (since + chrono::Duration::milliseconds(steps_ms[i % steps_ms.len()])).min(end);
        polled.extend(mock.generate(&query(id, since, until)));
        (since, i) = (until, i + 1);
    }
    assert!(i > 100, "only {i} polls");
    polled.sort_by_key(|m| std::cmp::Reverse(m.timestamp));
    let ids = |ms: &[SourceMention]| {
        ms.iter()
            .map(|m| m.source_id.clone())
            .collect::<HashSet<_>>()
    };
    assert_eq!(ids(&polled), ids(&wide));
    assert_eq!(polled, wide, "no duplicate, no gap, and the same values");
}

#[test]
fn overlapping_polls_repeat_a_mention_under_the_same_source_id() {
    let mock = default_mock();
    let id = config(3);
    let a = mock.generate(&query(id, t0(), t0() + minutes(10)));
    let b = mock.generate(&query(id, t0() + minutes(5), t0() + minutes(15)));
    let a_by_id: HashMap<_, _> = a.iter().map(|m| (&m.source_id, m)).collect();
    let shared: Vec<_> = b
        .iter()
        .filter(|m| a_by_id.contains_key(&m.source_id))
        .collect();
    assert_eq!(
        shared.len(),
        a.iter().filter(|m| m.timestamp > t0() + minutes(5)).count()
    );
    assert!(!shared.is_empty());
    for m in shared {
        assert_eq!(a_by_id[&m.source_id], m);
    }
}

#[test]
fn source_ids_are_unique_and_name_the_config() {
    let id = config(4);
    let ms = day(&default_mock(), id);
    let ids: HashSet<_> = ms.iter().map(|m| &m.source_id).collect();
    assert_eq!(ids.len(), ms.len());
    let prefix = format!("mock-{}-", id.simple());
    assert!(ms.iter().all(|m| m.source_id.starts_with(&prefix)));
}

#[test]
fn different_configs_get_different_streams() {
    let mock = default_mock();
    let (a, b) = (day(&mock, config(5)), day(&mock, config(6)));
    let texts = |ms: &[SourceMention]| {
        ms.iter()
            .take(50)
            .map(|m| (m.timestamp, m.text.clone()))
            .collect::<Vec<_>>()
    };
    assert_ne!(texts(&a), texts(&b));
}

#[test]
fn the_quiet_rate_is_mentions_per_minute() {
    let mock = quiet_mock();
    for n in 1..=5 {
        let hour = mock
            .generate(&query(config(n), t0(), t0() + chrono::Duration::hours(1)))
            .len();
        assert!(
            (324..=396).contains(&hour),
            "config {n}: {hour} mentions in an hour, want 360 ± 10%"
        );
    }
    let busy = MockMentionlytics::new(MockConfig {
        mentions_per_minute: 30.0,
        ..MockConfig::default()
    });
    let quiet: usize = (1..=3)
        .map(|n| {
            let ms = busy.generate(&query(config(n), t0(), t0() + chrono::Duration::hours(6)));
            ms.iter()
                .filter(|m| !busy.in_burst(config(n), m.timestamp))
                .count()
        })
        .sum();
    let quiet_minutes: i64 = (1..=3)
        .map(|n| {
            (0..6 * 360)
                .filter(|s| !busy.in_burst(config(n), t0() + chrono::Duration::seconds(s * 10)))
                .count() as i64
        })
        .sum::<i64>()
        / 6;
    let rate = quiet as f64 / quiet_minutes as f64;
    assert!(
        (28.5..=31.5).contains(&rate),
        "{rate} a minute outside bursts, want 30 ± 5%"
    );
}

#[test]
fn only_the_configured_platforms_appear() {
    let mock = default_mock();
    let q = MentionQuery {
        platforms: vec!["facebook".into(), "tiktok".into(), "linkedin".into()],
        ..query(config(8), t0(), t0() + chrono::Duration::hours(6))
    };
    let seen: HashSet<_> = mock.generate(&q).into_iter().map(|m| m.platform).collect();
    assert_eq!(
        seen,
        HashSet::from([
            "facebook".to_string(),
            "tiktok".to_string(),
            "linkedin".to_string()
        ])
    );
}

#[test]
fn without_platforms_the_default_mix_appears() {
    let ms = day(&default_mock(), config(9));
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in &ms {
        *counts.entry(m.platform.as_str()).or_default() += 1;
    }
    let expected = [
        "twitter",
        "facebook",
        "instagram",
        "tiktok",
        "news",
        "reddit",
        "youtube",
    ];
    assert_eq!(
        counts.keys().copied().collect::<HashSet<_>>(),
        HashSet::from(expected)
    );
    let twitter = counts["twitter"] as f64 / ms.len() as f64;
    assert!((0.3..0.4).contains(&twitter), "twitter share {twitter:.2}");
}

#[test]
fn every_mention_names_the_term_it_matched() {
    let ms = day(&default_mock(), config(10));
    let mut matched = HashSet::new();
    for m in &ms {
        let term = m.matched.as_deref().expect("a matched term");
        assert!(
            KEYWORDS.contains(&term) || COMPETITORS.contains(&term),
            "{term}"
        );
        assert!(
            m.text.contains(term),
            "{:?} does not mention {term}",
            m.text
        );
        matched.insert(term);
    }
    assert_eq!(
        matched.len(),
        KEYWORDS.len() + COMPETITORS.len(),
        "every term gets mentions"
    );
}

#[test]
fn a_config_without_terms_still_streams_without_a_match() {
    let q = MentionQuery {
        keywords: vec![],
        competitors: vec![],
        ..query(config(11), t0(), t0() + minutes(60))
    };
    let ms = default_mock().generate(&q);
    assert!(ms.len() > 300);
    assert!(
        ms.iter()
            .all(|m| m.matched.is_none() && m.text.contains("the campaign"))
    );
}

#[test]
fn since_is_exclusive_and_until_is_inclusive() {
    let mock = default_mock();
    let id = config(12);
    let some = mock.generate(&query(id, t0(), t0() + minutes(5)));
    let m = &some[some.len() / 2];
    let ms1 = chrono::Duration::milliseconds(1);
    let ending_at = mock.generate(&query(id, m.timestamp - ms1, m.timestamp));
    assert_eq!(ending_at, vec![m.clone()]);
    let starting_at = mock.generate(&query(id, m.timestamp, m.timestamp + ms1));
    assert!(starting_at.is_empty());
    let all = mock.generate(&query(id, t0() - minutes(1), t0() + minutes(6)));
    assert!(
        all.iter()
            .all(|x| x.timestamp > t0() - minutes(1) && x.timestamp <= t0() + minutes(6))
    );
}

#[test]
fn mentions_come_newest_first_and_limit_keeps_the_newest() {
    let mock = default_mock();
    let q = query(config(13), t0(), t0() + chrono::Duration::hours(2));
    let all = mock.generate(&q);
    assert!(
        all.windows(2).all(|w| w[0].timestamp > w[1].timestamp),
        "strictly newest first"
    );
    for limit in [0, 1, 7, 1000] {
        assert_eq!(
            mock.generate(&MentionQuery { limit, ..q.clone() }),
            all[..limit.min(all.len())]
        );
    }
}

#[test]
fn an_empty_or_inverted_window_gives_nothing() {
    let mock = default_mock();
    assert!(mock.generate(&query(config(14), t0(), t0())).is_empty());
    assert!(
        mock.generate(&query(config(14), t0() + minutes(5), t0()))
            .is_empty()
    );
}

#[test]
fn history_backfills_hours_fast_and_respects_the_limit() {
    let mock = default_mock();
    let q = MentionQuery {
        since: t0() + chrono::Duration::hours(23),
        ..query(config(15), t0(), t0() + chrono::Duration::hours(24))
    };
    let started = std::time::Instant::now();
    let day = mock.history(&q, 24);
    let took = started.elapsed();
    assert!(day.len() > 15_000, "{}", day.len());
    assert!(
        day.last().unwrap().timestamp > t0() && day.last().unwrap().timestamp < t0() + minutes(10)
    );
    // About 100 ms unoptimised on one core; the bound only catches a quadratic regression.
    assert!(
        took < Duration::from_secs(3),
        "a day of history took {took:?}"
    );
    let newest = mock.history(
        &MentionQuery {
            limit: 1000,
            ..q.clone()
        },
        24,
    );
    assert_eq!(newest, day[..1000]);
    // A config never polled may ask from the epoch: the mock stops at 30 days.
    let epoch = MentionQuery {
        since: DateTime::UNIX_EPOCH,
        limit: 10,
        ..q
    };
    assert_eq!(mock.generate(&epoch).len(), 10);
}

#[test]
fn about_a_fifth_of_mentions_carry_the_sources_own_sentiment() {
    let ms = day(&default_mock(), config(16));
    let scored: Vec<f64> = ms.iter().filter_map(|m| m.sentiment).collect();
    let share = scored.len() as f64 / ms.len() as f64;
    assert!((0.18..0.26).contains(&share), "{share:.3}");
    assert!(
        scored
            .iter()
            .all(|s| (-1.0..=1.0).contains(s) && (s * 1000.0).fract() == 0.0)
    );
    let spanish: Vec<_> = ms.iter().filter(|m| m.language == "es").collect();
    assert!(
        !spanish.is_empty() && spanish.iter().all(|m| m.sentiment.is_some()),
        "VADER cannot score Spanish"
    );
    let english = ms.iter().filter(|m| m.language == "en").count() as f64 / ms.len() as f64;
    assert!(english > 0.95, "{english:.3}");
}

#[test]
fn reach_is_heavy_tailed_and_influencers_reach_far() {
    let ms = day(&default_mock(), config(17));
    let mut reach: Vec<i64> = ms.iter().map(|m| m.reach).collect();
    reach.sort_unstable();
    let (median, p99, max) = (
        reach[reach.len() / 2],
        reach[reach.len() * 99 / 100],
        reach[reach.len() - 1],
    );
    assert!(
        median < 5_000 && p99 > 500_000 && max < i64::from(i32::MAX),
        "{median} {p99} {max}"
    );
    let influencers: Vec<_> = ms
        .iter()
        .filter(|m| m.author == "@politico_pat" || m.author == "Dana Reyes")
        .collect();
    let share = influencers.len() as f64 / ms.len() as f64;
    assert!((0.04..0.08).contains(&share), "{share:.3}");
    assert!(influencers.iter().all(|m| m.reach >= 50_000));
    assert!(
        ms.iter()
            .all(|m| m.engagement >= 0 && m.engagement <= m.reach / 10)
    );
    let big: Vec<_> = ms.iter().filter(|m| m.reach > 100_000).collect();
    let small: Vec<_> = ms.iter().filter(|m| m.reach < 2_000).collect();
    assert!(
        mean(big.iter().map(|m| m.engagement as f64))
            > 20.0 * mean(small.iter().map(|m| m.engagement as f64))
    );
}

#[test]
fn urls_authors_and_places_look_like_the_platforms_own() {
    let ms = day(&default_mock(), config(18));
    for m in &ms {
        let (host, author_ok) = match m.platform.as_str() {
            "twitter" => ("https://x.com/", m.author.starts_with('@')),
            "tiktok" => ("https://www.tiktok.com/@", m.author.starts_with('@')),
            "instagram" => ("https://www.instagram.com/p/", m.author.starts_with('@')),
            "facebook" => ("https://www.facebook.com/", m.author.contains(' ')),
            "reddit" => ("https://www.reddit.com/r/", m.author.starts_with("u/")),
            "youtube" => ("https://www.youtube.com/watch?v=", m.author.contains(' ')),
            "news" => (
                "https://www.",
                text::OUTLETS.iter().any(|(name, _)| *name == m.author),
            ),
            other => panic!("unexpected platform {other}"),
        };
        assert!(m.url.starts_with(host), "{} {}", m.platform, m.url);
        // The config's influencers keep their own names, whatever the platform.
        let influencer = m.author == "@politico_pat" || m.author == "Dana Reyes";
        assert!(author_ok || influencer, "{} by {}", m.platform, m.author);
        if let Some(place) = &m.location {
            assert!(
                text::PLACES
                    .iter()
                    .any(|(city, st, _)| *place == format!("{city}, {st}")),
                "{place}"
            );
        }
    }
    let located = ms.iter().filter(|m| m.location.is_some()).count() as f64 / ms.len() as f64;
    assert!((0.7..0.8).contains(&located), "{located:.2}");
    let news = ms
        .iter()
        .find(|m| m.platform == "news" && text::OUTLETS.iter().any(|(name, _)| *name == m.author))
        .unwrap();
    assert!(news.url.contains("/politics/2026/03/0"), "{}", news.url);
}

#[test]
fn out_of_range_settings_are_clamped() {
    let off = MockMentionlytics::new(MockConfig {
        mentions_per_minute: -5.0,
        ..MockConfig::default()
    });
    assert!(
        off.generate(&query(config(19), t0(), t0() + chrono::Duration::hours(1)))
            .is_empty()
    );
    let nan = MockMentionlytics::new(MockConfig {
        mentions_per_minute: f64::NAN,
        burst_negative_share: 7.0,
        ..MockConfig::default()
    });
    assert!(
        nan.generate(&query(config(19), t0(), t0() + chrono::Duration::hours(1)))
            .is_empty()
    );
    let always = MockMentionlytics::new(MockConfig {
        burst_length: Duration::from_secs(3600),
        ..MockConfig::default()
    });
    assert!(always.in_burst(config(19), t0()) && always.in_burst(config(19), t0() + minutes(37)));
}

#[test]
fn blank_terms_and_platforms_are_skipped() {
    let q = MentionQuery {
        keywords: vec!["".into(), "Jane Smith".into()],
        competitors: vec!["  ".into()],
        influencers: vec!["".into()],
        platforms: vec!["".into()],
        ..query(config(22), t0(), t0() + chrono::Duration::hours(2))
    };
    let ms = default_mock().generate(&q);
    assert!(ms.len() > 700);
    assert!(
        ms.iter()
            .all(|m| m.matched.as_deref() == Some("Jane Smith") && !m.author.is_empty())
    );
    assert!(
        ms.iter().any(|m| m.platform == "twitter") && ms.iter().all(|m| !m.platform.is_empty())
    );
}
