//! A reading of a campaign's mention stream at one instant (the recent window against the
//! median buckets of the hour before it, and the crisis score), and the thresholds it crosses.
//! Pure functions over samples: `service::crisis` reads the samples and keeps the episodes.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::DetectorParams;
use crate::domain::{
    alerts::{AlertType, Severity},
    monitoring::AlertThresholds,
};

/// Crisis score weights: negative share, sentiment drop, volume spike, negative reach.
pub const SCORE_WEIGHTS: [f64; 4] = [0.30, 0.30, 0.25, 0.15];
/// A sentiment drop of this much (on -1..1) counts fully.
pub const DROP_SATURATION: f64 = 0.6;
/// A spike of this multiple, and negative reach of this multiple of the usual reach, count
/// fully (log scale: 2x counts 0.43, 3x 0.68).
pub const RATIO_SATURATION: f64 = 5.0;

/// One mention as the detector reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub sentiment: f64,
    pub reach: i64,
    pub engagement: i64,
    pub platform: String,
}

/// The crisis score's four parts, each 0 to 1 before weighting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreParts {
    pub negative_share: f64,
    pub sentiment_drop: f64,
    pub spike: f64,
    pub reach: f64,
}

/// What the detector saw at `at`: the window, the baseline, and the crisis score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reading {
    pub at: DateTime<Utc>,
    pub window_minutes: i64,
    pub mentions: usize,
    /// Usual mentions per window (the median bucket); `None` without enough history.
    pub baseline_mentions: Option<f64>,
    pub volume_ratio: Option<f64>,
    pub sentiment: f64,
    pub baseline_sentiment: Option<f64>,
    /// `sentiment - baselineSentiment` (negative: a drop).
    pub sentiment_change: Option<f64>,
    pub negative_share: f64,
    pub reach: i64,
    pub negative_reach: i64,
    pub baseline_reach: Option<f64>,
    pub engagement_window_minutes: i64,
    pub engagement_mentions: usize,
    /// Median engagement per mention over the engagement window.
    pub engagement: Option<f64>,
    pub baseline_engagement: Option<f64>,
    /// `engagement / baselineEngagement - 1` (negative: a drop).
    pub engagement_change: Option<f64>,
    pub crisis_score: f64,
    pub score_parts: ScoreParts,
    /// Platforms of the window's negative mentions, most first.
    pub negative_platforms: Vec<String>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn clamp01(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

pub(super) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `(start, end]` buckets of `p.bucket` ending at `end`, newest first, keeping only those that
/// end after the first sample (before it the campaign had no stream yet).
fn history<'a>(
    samples: &'a [Sample],
    end: DateTime<Utc>,
    p: &DetectorParams,
) -> Vec<Vec<&'a Sample>> {
    let Some(first) = samples.first().map(|s| s.at) else {
        return Vec::new();
    };
    let n = (0..p.baseline_buckets)
        .take_while(|i| end - p.bucket * *i as i32 > first)
        .count();
    let width = p.bucket.num_microseconds().unwrap_or(i64::MAX).max(1);
    let mut out: Vec<Vec<&Sample>> = vec![Vec::new(); n];
    for s in samples.iter().filter(|s| s.at <= end) {
        // Bucket `i` is `(end - (i+1)·bucket, end - i·bucket]`: `end - at` in
        // `[i·bucket, (i+1)·bucket)`.
        let back = (end - s.at).num_microseconds().unwrap_or(i64::MAX);
        let i = usize::try_from(back / width).unwrap_or(usize::MAX);
        if let Some(bucket) = out.get_mut(i) {
            bucket.push(s);
        }
    }
    out
}

/// A reading of `samples` (oldest first) at `now`.
pub fn read(samples: &[Sample], now: DateTime<Utc>, p: &DetectorParams) -> Reading {
    let start = now - p.window;
    let window: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at > start && s.at <= now)
        .collect();
    let n = window.len();
    let negative: Vec<&&Sample> = window
        .iter()
        .filter(|s| s.sentiment <= p.negative_at)
        .collect();
    let sentiment = if n == 0 {
        0.0
    } else {
        window.iter().map(|s| s.sentiment).sum::<f64>() / n as f64
    };
    let negative_share = if n == 0 {
        0.0
    } else {
        negative.len() as f64 / n as f64
    };
    let reach: i64 = window.iter().map(|s| s.reach.max(0)).sum();
    let negative_reach: i64 = negative.iter().map(|s| s.reach.max(0)).sum();
    let mut platforms: Vec<(String, usize)> = Vec::new();
    for s in &negative {
        match platforms.iter_mut().find(|(p, _)| *p == s.platform) {
            Some((_, c)) => *c += 1,
            None => platforms.push((s.platform.clone(), 1)),
        }
    }
    platforms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let buckets = history(samples, start, p);
    let enough = buckets.iter().filter(|b| !b.is_empty()).count() >= p.min_history_buckets;
    let scale = p.window.num_seconds() as f64 / p.bucket.num_seconds().max(1) as f64;
    let baseline_mentions = enough
        .then(|| median(buckets.iter().map(|b| b.len() as f64).collect()))
        .flatten()
        .map(|m| m * scale);
    let volume_ratio = baseline_mentions.map(|b| n as f64 / b.max(1.0));
    let baseline_sentiment = enough
        .then(|| {
            median(
                buckets
                    .iter()
                    .filter(|b| !b.is_empty())
                    .map(|b| b.iter().map(|s| s.sentiment).sum::<f64>() / b.len() as f64)
                    .collect(),
            )
        })
        .flatten();
    let sentiment_change = baseline_sentiment.filter(|_| n > 0).map(|b| sentiment - b);
    let baseline_reach = enough
        .then(|| {
            median(
                buckets
                    .iter()
                    .map(|b| b.iter().map(|s| s.reach.max(0) as f64).sum())
                    .collect(),
            )
        })
        .flatten()
        .map(|r| r * scale);

    let e_start = now - p.engagement_window;
    let recent: Vec<f64> = samples
        .iter()
        .filter(|s| s.at > e_start && s.at <= now)
        .map(|s| s.engagement.max(0) as f64)
        .collect();
    let engagement_mentions = recent.len();
    let engagement = median(recent);
    let e_buckets: Vec<Vec<&Sample>> = history(samples, e_start, p)
        .into_iter()
        .filter(|b| !b.is_empty())
        .collect();
    let baseline_engagement = (e_buckets.len() >= p.min_history_buckets)
        .then(|| {
            median(
                e_buckets
                    .iter()
                    .filter_map(|b| median(b.iter().map(|s| s.engagement.max(0) as f64).collect()))
                    .collect(),
            )
        })
        .flatten();
    let engagement_change = match (engagement, baseline_engagement) {
        (Some(e), Some(b)) if b > 0.0 => Some(e / b - 1.0),
        _ => None,
    };

    let log_ratio = |r: f64| clamp01(r.ln() / RATIO_SATURATION.ln());
    let parts = ScoreParts {
        negative_share,
        sentiment_drop: sentiment_change.map_or(0.0, |c| clamp01(-c / DROP_SATURATION)),
        spike: volume_ratio.map_or(0.0, log_ratio),
        reach: match baseline_reach {
            Some(b) if negative_reach > 0 => log_ratio(negative_reach as f64 / b.max(1.0)),
            _ => 0.0,
        },
    };
    let [wn, wd, ws, wr] = SCORE_WEIGHTS;
    let crisis_score = round3(
        wn * parts.negative_share + wd * parts.sentiment_drop + ws * parts.spike + wr * parts.reach,
    );
    Reading {
        at: now,
        window_minutes: p.window.num_minutes(),
        mentions: n,
        baseline_mentions,
        volume_ratio,
        sentiment,
        baseline_sentiment,
        sentiment_change,
        negative_share,
        reach,
        negative_reach,
        baseline_reach,
        engagement_window_minutes: p.engagement_window.num_minutes(),
        engagement_mentions,
        engagement,
        baseline_engagement,
        engagement_change,
        crisis_score,
        score_parts: parts,
        negative_platforms: platforms.into_iter().map(|(p, _)| p).collect(),
    }
}

/// A threshold crossed: the alert type, the metric's value and the alert's severity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Breach {
    pub alert_type: AlertType,
    pub value: f64,
    pub severity: Severity,
}

/// The thresholds `r` crosses. A threshold of 0 (or a spike multiple of 1 or less) turns its
/// check off. Severity: `CRISIS` by the seed's rule (above 0.8 `CRITICAL`, else `HIGH`); the
/// others `HIGH` when the breach is at least twice the threshold (engagement, which cannot
/// fall more than 100%: at least halfway from the threshold to 100%), else `MEDIUM`.
pub fn breaches(r: &Reading, t: &AlertThresholds, p: &DetectorParams) -> Vec<Breach> {
    let mut out = Vec::new();
    let by_depth = |deep: bool| {
        if deep {
            Severity::High
        } else {
            Severity::Medium
        }
    };
    if r.mentions >= p.min_mentions {
        if t.crisis_score > 0.0 && r.crisis_score >= t.crisis_score {
            out.push(Breach {
                alert_type: AlertType::Crisis,
                value: r.crisis_score,
                severity: Severity::of_crisis_score(r.crisis_score),
            });
        }
        if let Some(change) = r.sentiment_change
            && t.sentiment_drop != 0.0
        {
            let limit = -t.sentiment_drop.abs();
            if change <= limit {
                out.push(Breach {
                    alert_type: AlertType::Sentiment,
                    value: change,
                    severity: by_depth(change <= 2.0 * limit),
                });
            }
        }
        if let Some(ratio) = r.volume_ratio
            && t.mention_spike > 1.0
            && ratio >= t.mention_spike
        {
            out.push(Breach {
                alert_type: AlertType::MentionSpike,
                value: ratio,
                severity: by_depth(ratio >= 2.0 * t.mention_spike),
            });
        }
    }
    if r.engagement_mentions >= p.min_mentions
        && let Some(change) = r.engagement_change
        && t.engagement_drop != 0.0
    {
        let limit = -t.engagement_drop.abs().min(1.0);
        if change <= limit {
            out.push(Breach {
                alert_type: AlertType::EngagementDrop,
                value: change,
                severity: by_depth(change <= (limit - 1.0) / 2.0),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-05-01T12:00:00Z".parse().unwrap()
    }

    /// `per_minute` mentions a minute from `from` to `to` (minutes after t0).
    fn stream(from: i64, to: i64, per_minute: i64, sentiment: f64, reach: i64) -> Vec<Sample> {
        let step = 60_000 / per_minute;
        (0..(to - from) * per_minute)
            .map(|i| Sample {
                at: t0() + Duration::minutes(from) + Duration::milliseconds(step * i + 1),
                sentiment,
                reach,
                engagement: 40,
                platform: "twitter".into(),
            })
            .collect()
    }

    fn quiet_hour() -> Vec<Sample> {
        stream(0, 60, 6, 0.3, 1000)
    }

    #[test]
    fn a_bucket_holds_its_end_but_not_its_start_and_history_starts_at_the_first_mention() {
        let p = DetectorParams::default();
        let end = t0() + Duration::minutes(30);
        let at = |m: i64| Sample {
            at: end - Duration::minutes(m),
            sentiment: 0.0,
            reach: 0,
            engagement: 0,
            platform: "x".into(),
        };
        let samples = [at(20), at(1), at(0)];
        let b = history(&samples, end, &p);
        assert_eq!(b.len(), 20, "buckets ending after the first mention");
        assert_eq!(b[0].len(), 1, "the mention at the end");
        assert_eq!(b[1].len(), 1, "the one a minute earlier ends bucket 1");
        assert!(b[2..].iter().all(Vec::is_empty));
    }

    #[test]
    fn a_steady_stream_reads_as_usual_and_breaches_nothing() {
        let s = quiet_hour();
        let r = read(&s, t0() + Duration::minutes(60), &DetectorParams::default());
        assert_eq!(r.mentions, 30);
        assert_eq!(r.baseline_mentions, Some(30.0));
        assert!((r.volume_ratio.unwrap() - 1.0).abs() < 1e-9);
        assert!(r.sentiment_change.unwrap().abs() < 1e-9);
        assert_eq!(r.crisis_score, 0.0);
        let found = breaches(&r, &AlertThresholds::default(), &DetectorParams::default());
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn the_median_baseline_ignores_an_earlier_burst() {
        let mut s = quiet_hour();
        s.extend(stream(20, 25, 40, -0.7, 1000));
        s.sort_by_key(|x| x.at);
        let r = read(&s, t0() + Duration::minutes(60), &DetectorParams::default());
        assert_eq!(r.baseline_mentions, Some(30.0));
        assert!((r.baseline_sentiment.unwrap() - 0.3).abs() < 1e-9);
    }

    #[test]
    fn a_negative_burst_scores_a_critical_crisis() {
        let mut s = quiet_hour();
        s.extend(stream(60, 65, 40, -0.7, 2000));
        let r = read(&s, t0() + Duration::minutes(65), &DetectorParams::default());
        assert_eq!(r.mentions, 200);
        // N = 1, D = 1 (drop 1.0 >= 0.6), S = 1 (6.7x >= 5x), R = 1 (400k against 30k)
        let expected = round3(0.30 + 0.30 + 0.25 + 0.15);
        assert_eq!(r.crisis_score, expected);
        let found = breaches(&r, &AlertThresholds::default(), &DetectorParams::default());
        let types: Vec<_> = found.iter().map(|b| b.alert_type).collect();
        assert_eq!(
            types,
            [
                AlertType::Crisis,
                AlertType::Sentiment,
                AlertType::MentionSpike
            ]
        );
        assert_eq!(found[0].severity, Severity::Critical);
        assert_eq!(
            found[1].severity,
            Severity::High,
            "a drop of 1.0 is over twice 0.3"
        );
        assert_eq!(
            found[2].severity,
            Severity::Medium,
            "6.7x is under twice 5x"
        );
    }

    #[test]
    fn too_few_mentions_judge_nothing() {
        let mut s = stream(0, 60, 1, 0.3, 1000);
        s.extend(stream(60, 65, 1, -0.9, 1000));
        let r = read(&s, t0() + Duration::minutes(65), &DetectorParams::default());
        assert_eq!(r.mentions, 5);
        assert!(breaches(&r, &AlertThresholds::default(), &DetectorParams::default()).is_empty());
    }

    #[test]
    fn a_new_campaign_has_no_baseline() {
        let s = stream(0, 10, 20, -0.8, 1000);
        let r = read(&s, t0() + Duration::minutes(10), &DetectorParams::default());
        assert_eq!(r.baseline_mentions, None);
        assert_eq!(r.volume_ratio, None);
        assert!(r.crisis_score <= 0.3);
    }

    #[test]
    fn engagement_drops_are_read_by_median_over_fifteen_minutes() {
        let mut s = quiet_hour();
        let mut late = stream(60, 75, 6, 0.3, 1000);
        for m in &mut late {
            m.engagement = 10;
        }
        s.extend(late);
        let r = read(&s, t0() + Duration::minutes(75), &DetectorParams::default());
        assert_eq!(r.engagement, Some(10.0));
        assert_eq!(r.baseline_engagement, Some(40.0));
        let found = breaches(&r, &AlertThresholds::default(), &DetectorParams::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].alert_type, AlertType::EngagementDrop);
        assert!((found[0].value + 0.75).abs() < 1e-9);
        assert_eq!(
            found[0].severity,
            Severity::High,
            "-75% is halfway to -100%"
        );
    }

    #[test]
    fn a_zero_threshold_turns_its_check_off() {
        let mut s = quiet_hour();
        s.extend(stream(60, 65, 40, -0.7, 2000));
        let r = read(&s, t0() + Duration::minutes(65), &DetectorParams::default());
        let off = AlertThresholds {
            sentiment_drop: 0.0,
            mention_spike: 0.0,
            crisis_score: 0.0,
            engagement_drop: 0.0,
        };
        assert!(breaches(&r, &off, &DetectorParams::default()).is_empty());
    }
}
