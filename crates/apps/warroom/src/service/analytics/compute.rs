//! The pure computations behind the read endpoints: rounding and percents, the sentiment
//! series' buckets, trending-term ranking, share of voice and platform trends.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, DurationRound, Utc};

use super::terms;
use crate::{
    db::{
        analytics::{self as db, Aggregate},
        monitoring::ConfigRow,
    },
    domain::{
        analytics::{
            Interval, PlatformTrend, SentimentBucket, ShareOfVoice, TermKind, TrendingTerm,
            VoiceKind, VoiceShare, Window,
        },
        sentiment::{self, SentimentLabel},
    },
};

pub(super) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(super) fn count_opt(n: Option<i64>) -> u64 {
    count(n.unwrap_or(0))
}

pub(super) fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// `part` as a percent of `whole`, two decimals; 0 of nothing.
pub(super) fn percent(part: f64, whole: f64) -> f64 {
    if whole == 0.0 {
        0.0
    } else {
        round(part / whole * 100.0, 2)
    }
}

/// Percent change from `before` to `now`, one decimal; `None` from nothing.
fn change(now: u64, before: u64) -> Option<f64> {
    (before > 0).then(|| round((now as f64 - before as f64) / before as f64 * 100.0, 1))
}

/// The sentiment series of `points` over `window`: a bucket per interval, empty ones too.
pub(super) fn series(
    points: &[(DateTime<Utc>, f64)],
    window: &Window,
    interval: Interval,
) -> Vec<SentimentBucket> {
    let step = interval.duration();
    let floor = |t: DateTime<Utc>| t.duration_trunc(step).unwrap_or(t);
    let first = floor(window.start);
    let last = floor(window.end - Duration::nanoseconds(1));
    let n = ((last - first).num_seconds() / step.num_seconds()).max(0) as usize + 1;
    let mut buckets: Vec<(SentimentBucket, f64)> = (0..n)
        .map(|i| {
            let bucket = SentimentBucket {
                start: first + step * i as i32,
                total: 0,
                positive: 0,
                neutral: 0,
                negative: 0,
                average_score: None,
            };
            (bucket, 0.0)
        })
        .collect();
    for &(t, score) in points {
        if t < window.start || t >= window.end {
            continue;
        }
        let i = ((floor(t) - first).num_seconds() / step.num_seconds()) as usize;
        let Some((b, sum)) = buckets.get_mut(i) else {
            continue;
        };
        b.total += 1;
        *sum += score;
        match sentiment::label(score) {
            SentimentLabel::Positive => b.positive += 1,
            SentimentLabel::Neutral => b.neutral += 1,
            SentimentLabel::Negative => b.negative += 1,
        }
    }
    buckets
        .into_iter()
        .map(|(mut b, sum)| {
            b.average_score = (b.total > 0).then(|| round(sum / b.total as f64, 3));
            b
        })
        .collect()
}

/// The `limit` terms most used now (ties: the bigger growth, then alphabetical).
pub(super) fn rank_terms(
    current: HashMap<(String, terms::Kind), u64>,
    previous: &HashMap<(String, terms::Kind), u64>,
    limit: u64,
) -> Vec<TrendingTerm> {
    let mut ranked: Vec<TrendingTerm> = current
        .into_iter()
        .map(|((term, kind), mentions)| {
            let previous_mentions = previous.get(&(term.clone(), kind)).copied().unwrap_or(0);
            TrendingTerm {
                term,
                kind: match kind {
                    terms::Kind::Hashtag => TermKind::Hashtag,
                    terms::Kind::Word => TermKind::Word,
                },
                mentions,
                previous_mentions,
                growth: change(mentions, previous_mentions),
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.mentions
            .cmp(&a.mentions)
            .then(a.previous_mentions.cmp(&b.previous_mentions))
            .then_with(|| a.term.cmp(&b.term))
    });
    ranked.truncate(limit as usize);
    ranked
}

/// The configurations' keywords, then their competitors, each term once (case-insensitively,
/// the first spelling and kind kept).
pub(super) fn config_terms(configs: &[ConfigRow]) -> Vec<(String, VoiceKind)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let lists = [
        (
            VoiceKind::Keyword,
            configs.iter().map(|c| &c.keywords).collect::<Vec<_>>(),
        ),
        (
            VoiceKind::Competitor,
            configs.iter().map(|c| &c.competitors).collect(),
        ),
    ];
    for (kind, values) in lists {
        for value in values {
            for term in value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
            {
                let term = term.trim();
                if !term.is_empty() && seen.insert(term.to_lowercase()) {
                    out.push((term.to_owned(), kind));
                }
            }
        }
    }
    out
}

/// Sums of a term's groups (`matched` values differing only in case are one term).
#[derive(Clone, Copy, Default)]
struct Tally {
    mentions: u64,
    reach: i64,
    sentiment_sum: f64,
}

impl Tally {
    fn add(&mut self, a: &Aggregate) {
        let n = count(a.mentions);
        self.mentions += n;
        self.reach += a.reach.unwrap_or(0);
        self.sentiment_sum += a.avg_sentiment.unwrap_or(0.0) * n as f64;
    }
}

pub(super) fn share_of_voice(
    window: Window,
    listed: &[(String, VoiceKind)],
    groups: &[db::Group],
) -> ShareOfVoice {
    let mut tallies: HashMap<String, (String, Tally)> = HashMap::new();
    for g in groups {
        let key = g.key.trim().to_lowercase();
        let entry = tallies
            .entry(key)
            .or_insert_with(|| (g.key.trim().to_owned(), Tally::default()));
        entry.1.add(&g.stats);
    }
    let mut rows: Vec<(String, VoiceKind, Tally)> = listed
        .iter()
        .map(|(term, kind)| {
            let tally = tallies
                .remove(&term.to_lowercase())
                .map(|(_, t)| t)
                .unwrap_or_default();
            (term.clone(), *kind, tally)
        })
        .collect();
    rows.extend(
        tallies
            .into_values()
            .filter(|(term, _)| !term.is_empty())
            .map(|(term, t)| (term, VoiceKind::Other, t)),
    );
    let total_mentions: u64 = rows.iter().map(|r| r.2.mentions).sum();
    let total_reach: i64 = rows.iter().map(|r| r.2.reach).sum();
    let mut terms: Vec<VoiceShare> = rows
        .into_iter()
        .map(|(term, kind, t)| VoiceShare {
            term,
            kind,
            mentions: t.mentions,
            share: percent(t.mentions as f64, total_mentions as f64),
            reach: t.reach,
            reach_share: percent(t.reach as f64, total_reach as f64),
            average_sentiment: (t.mentions > 0)
                .then(|| round(t.sentiment_sum / t.mentions as f64, 3)),
        })
        .collect();
    terms.sort_by(|a, b| {
        b.mentions
            .cmp(&a.mentions)
            .then(b.reach.cmp(&a.reach))
            .then_with(|| a.term.to_lowercase().cmp(&b.term.to_lowercase()))
    });
    ShareOfVoice {
        window,
        total_mentions,
        total_reach,
        terms,
    }
}

pub(super) fn platform_trends(now: Vec<db::Group>, before: Vec<db::Group>) -> Vec<PlatformTrend> {
    let mut previous: HashMap<String, u64> = before
        .into_iter()
        .map(|g| (g.key, count(g.stats.mentions)))
        .collect();
    let mut trends: Vec<PlatformTrend> = now
        .into_iter()
        .map(|g| {
            let mentions = count(g.stats.mentions);
            let previous_mentions = previous.remove(&g.key).unwrap_or(0);
            PlatformTrend {
                platform: g.key,
                mentions,
                previous_mentions,
                change: change(mentions, previous_mentions),
                reach: g.stats.reach.unwrap_or(0),
                engagement: g.stats.engagement.unwrap_or(0),
                average_sentiment: g.stats.avg_sentiment.map(|a| round(a, 3)),
            }
        })
        .collect();
    trends.extend(
        previous
            .into_iter()
            .map(|(platform, previous_mentions)| PlatformTrend {
                platform,
                mentions: 0,
                previous_mentions,
                change: change(0, previous_mentions),
                reach: 0,
                engagement: 0,
                average_sentiment: None,
            }),
    );
    trends.sort_by(|a, b| {
        b.mentions
            .cmp(&a.mentions)
            .then(b.previous_mentions.cmp(&a.previous_mentions))
            .then_with(|| a.platform.cmp(&b.platform))
    });
    trends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn group(key: &str, mentions: i64, reach: i64, avg: f64) -> db::Group {
        db::Group {
            key: key.into(),
            stats: Aggregate {
                mentions,
                reach: Some(reach),
                avg_sentiment: Some(avg),
                ..Aggregate::default()
            },
        }
    }

    #[test]
    fn the_sql_cut_offs_are_those_of_the_sentiment_label() {
        assert_eq!(
            sentiment::label(sentiment::POSITIVE_MIN),
            SentimentLabel::Positive
        );
        assert_eq!(
            sentiment::label(sentiment::POSITIVE_MIN - 1e-9),
            SentimentLabel::Neutral
        );
        assert_eq!(
            sentiment::label(sentiment::NEGATIVE_MAX),
            SentimentLabel::Negative
        );
        assert_eq!(
            sentiment::label(sentiment::NEGATIVE_MAX + 1e-9),
            SentimentLabel::Neutral
        );
    }

    #[test]
    fn the_series_has_a_bucket_per_hour_empty_ones_included() {
        let w = Window {
            start: at("2026-03-10T09:30:00Z"),
            end: at("2026-03-10T12:15:00Z"),
        };
        let points = [
            (at("2026-03-10T09:30:00Z"), 0.5),
            (at("2026-03-10T09:59:59Z"), -0.5),
            (at("2026-03-10T12:00:00Z"), 0.0),
            (at("2026-03-10T12:15:00Z"), 0.9), // the end is exclusive
            (at("2026-03-10T09:29:59Z"), 0.9), // before the start
        ];
        let s = series(&points, &w, Interval::Hour);
        let starts: Vec<_> = s.iter().map(|b| b.start).collect();
        assert_eq!(
            starts,
            [
                at("2026-03-10T09:00:00Z"),
                at("2026-03-10T10:00:00Z"),
                at("2026-03-10T11:00:00Z"),
                at("2026-03-10T12:00:00Z"),
            ]
        );
        assert_eq!((s[0].total, s[0].positive, s[0].negative), (2, 1, 1));
        assert_eq!(s[0].average_score, Some(0.0));
        assert_eq!((s[1].total, s[1].average_score), (0, None));
        assert_eq!((s[3].total, s[3].neutral), (1, 1));
    }

    #[test]
    fn a_window_ending_on_a_boundary_has_no_bucket_after_it() {
        let w = Window {
            start: at("2026-03-08T00:00:00Z"),
            end: at("2026-03-10T00:00:00Z"),
        };
        assert_eq!(series(&[], &w, Interval::Day).len(), 2);
        assert_eq!(series(&[], &w, Interval::Hour).len(), 48);
    }

    #[test]
    fn percents_and_changes_round_and_never_divide_by_zero() {
        assert_eq!(percent(1.0, 3.0), 33.33);
        assert_eq!(percent(1.0, 0.0), 0.0);
        assert_eq!(change(3, 2), Some(50.0));
        assert_eq!(change(0, 4), Some(-100.0));
        assert_eq!(change(5, 0), None);
        assert_eq!(change(2, 3), Some(-33.3));
    }

    #[test]
    fn terms_rank_by_use_then_by_newness_then_alphabetically() {
        let key = |t: &str| (t.to_owned(), terms::Kind::Word);
        let current = HashMap::from([(key("b"), 2), (key("a"), 2), (key("c"), 2), (key("d"), 5)]);
        let previous = HashMap::from([(key("a"), 1), (key("d"), 10)]);
        let ranked = rank_terms(current, &previous, 3);
        let names: Vec<_> = ranked.iter().map(|t| t.term.as_str()).collect();
        assert_eq!(names, ["d", "b", "c"]);
        assert_eq!(ranked[0].growth, Some(-50.0));
        assert_eq!(ranked[1].growth, None);
    }

    #[test]
    fn share_of_voice_merges_spellings_and_keeps_unmatched_terms() {
        let w = Window::last_hours(at("2026-03-10T12:00:00Z"), 24);
        let listed = vec![
            ("Jobs Plan".to_owned(), VoiceKind::Keyword),
            ("Rival".to_owned(), VoiceKind::Competitor),
            ("Unused".to_owned(), VoiceKind::Keyword),
        ];
        let groups = [
            group("jobs plan", 2, 100, 0.5),
            group("JOBS PLAN", 1, 50, -0.4),
            group("Rival", 1, 850, -1.0),
            group("elsewhere", 1, 0, 0.2),
        ];
        let s = share_of_voice(w, &listed, &groups);
        assert_eq!((s.total_mentions, s.total_reach), (5, 1000));
        let rows: Vec<_> = s
            .terms
            .iter()
            .map(|t| (t.term.as_str(), t.kind, t.mentions, t.share, t.reach_share))
            .collect();
        assert_eq!(
            rows,
            [
                ("Jobs Plan", VoiceKind::Keyword, 3, 60.0, 15.0),
                ("Rival", VoiceKind::Competitor, 1, 20.0, 85.0),
                ("elsewhere", VoiceKind::Other, 1, 20.0, 0.0),
                ("Unused", VoiceKind::Keyword, 0, 0.0, 0.0),
            ]
        );
        assert_eq!(s.terms[0].average_sentiment, Some(0.2));
        assert_eq!(s.terms[3].average_sentiment, None);
    }

    #[test]
    fn config_terms_come_once_keywords_first() {
        let now = Utc::now();
        let row = |keywords: serde_json::Value, competitors: serde_json::Value| ConfigRow {
            id: uuid::Uuid::now_v7(),
            campaign_id: uuid::Uuid::now_v7(),
            keywords,
            competitors,
            influencers: serde_json::json!([]),
            platforms: serde_json::json!([]),
            alert_thresholds: serde_json::json!({}),
            refresh_interval: 60,
            status: "active".into(),
            created_by: None,
            created_at: now,
            updated_at: now,
            stopped_at: None,
            polled_until: None,
            next_poll_at: now,
            last_polled_at: None,
            last_error: None,
            mentions_ingested: 0,
        };
        let configs = [
            row(
                serde_json::json!(["Jobs", " ", "Rival"]),
                serde_json::json!(["rival", "Acme"]),
            ),
            row(
                serde_json::json!(["jobs", "Schools"]),
                serde_json::json!("not a list"),
            ),
        ];
        assert_eq!(
            config_terms(&configs),
            [
                ("Jobs".to_owned(), VoiceKind::Keyword),
                ("Rival".to_owned(), VoiceKind::Keyword),
                ("Schools".to_owned(), VoiceKind::Keyword),
                ("Acme".to_owned(), VoiceKind::Competitor),
            ]
        );
    }

    #[test]
    fn a_platform_gone_quiet_still_shows_with_its_drop() {
        let trends = platform_trends(
            vec![group("facebook", 3, 30, 0.1)],
            vec![group("twitter", 4, 0, 0.0), group("facebook", 1, 0, 0.0)],
        );
        let rows: Vec<_> = trends
            .iter()
            .map(|t| {
                (
                    t.platform.as_str(),
                    t.mentions,
                    t.previous_mentions,
                    t.change,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("facebook", 3, 1, Some(200.0)),
                ("twitter", 0, 4, Some(-100.0))
            ]
        );
        assert_eq!(trends[1].average_sentiment, None);
    }
}
