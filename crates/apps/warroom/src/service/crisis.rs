//! Crisis detection: evaluates a campaign's alert thresholds over sliding windows of its
//! stored mentions as they arrive, and raises one alert per (campaign, type) per episode.
//! Ingestion calls [`evaluate`] after every batch that stored new mentions; the alert is
//! created and published inline, its deliveries go through jobs.
//!
//! Time is the data's: a reading is taken at the campaign's newest mention timestamp (never
//! past the wall clock), so late or replayed batches are judged where their mentions lie.
//! A reading compares the recent window (5 minutes) with a baseline of the sixty 1-minute
//! buckets before it, summarised by medians: bursts fill a minority of buckets, so the median
//! bucket is an ordinary one even when bursts carry most of the hour's mentions (a trailing
//! mean would make a 5x spike look like 3.9x with the mock stream's defaults). Buckets are
//! short because a 3-minute burst spills into two 5-minute buckets: three bursts an hour would
//! taint half of twelve such buckets, and the median with them.

mod reading;

use chrono::{Duration, Utc};
use platform::{ApiError, error::ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use self::reading::round3;
pub use self::reading::{
    Breach, DROP_SATURATION, RATIO_SATURATION, Reading, SCORE_WEIGHTS, Sample, ScoreParts,
    breaches, read,
};
use crate::{
    Ctx,
    db::alerts::{self as db, EpisodeRow},
    service::{
        alerting::{
            self, AlertSource, AlertType, AlertView, Audience, CrisisAlert, NewAlert,
            crisis_message, crisis_title,
        },
        campaigns::CampaignId,
    },
};

/// Seed 001 `AlertThresholds`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertThresholds {
    /// A fall in average sentiment on the -1..1 scale: -0.3 alerts when the recent average is
    /// 0.3 or more below the usual one (a relative drop from a small average is noise).
    pub sentiment_drop: f64,
    /// A rise in mention volume, as a multiple: 5 = five times the usual rate.
    pub mention_spike: f64,
    /// Crisis probability, 0 to 1, at or above which a crisis is declared.
    pub crisis_score: f64,
    /// A fall in median engagement per mention, as a fraction: -0.5 = a 50% drop.
    pub engagement_drop: f64,
}

impl Default for AlertThresholds {
    /// The seed's examples.
    fn default() -> Self {
        Self {
            sentiment_drop: -0.3,
            mention_spike: 5.0,
            crisis_score: 0.8,
            engagement_drop: -0.5,
        }
    }
}

/// The detector's windows and guards (docs/warroom.md, "Crisis detection").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectorParams {
    /// The recent window sentiment, volume, reach and the crisis score are read over.
    pub window: Duration,
    /// Baseline bucket length: short, so a 3-minute burst touches few buckets.
    pub bucket: Duration,
    /// Baseline buckets before the window (60 × 1 min: the hour before it).
    pub baseline_buckets: usize,
    /// Buckets with mentions the baseline needs (a campaign's first quarter hour has none).
    pub min_history_buckets: usize,
    /// Engagement is heavy-tailed: its median is read over a longer window.
    pub engagement_window: Duration,
    /// Fewer mentions than this in a window: nothing is judged (a quiet campaign's noise).
    pub min_mentions: usize,
    /// An episode closes once its metric has been back under threshold this long.
    pub cool_down: Duration,
    /// Sentiment at or below this is negative (VADER's label boundary).
    pub negative_at: f64,
}

impl Default for DetectorParams {
    fn default() -> Self {
        Self {
            window: Duration::minutes(5),
            bucket: Duration::minutes(1),
            baseline_buckets: 60,
            min_history_buckets: 15,
            engagement_window: Duration::minutes(15),
            min_mentions: 10,
            cool_down: Duration::minutes(10),
            negative_at: -0.05,
        }
    }
}

/// What one evaluation saw and raised.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    /// `None` when the campaign has no mentions.
    pub reading: Option<Reading>,
    pub raised: Vec<AlertView>,
}

/// Evaluates `campaign_id`'s recent mentions against `thresholds`; called after each
/// ingested batch that stored new mentions.
pub async fn evaluate(
    ctx: &Ctx,
    campaign_id: Uuid,
    thresholds: &AlertThresholds,
) -> Result<(), ApiError> {
    evaluate_with(ctx, campaign_id, thresholds, &DetectorParams::default())
        .await
        .map(|_| ())
}

/// [`evaluate`] with explicit parameters, answering what it saw and raised.
///
/// Each breached type either extends its open episode or opens one and raises its alert in
/// the same transaction; the open episode's unique key makes that race-safe across
/// concurrent evaluations and instances. Episodes whose last breach is older than the
/// cool-down are closed first.
pub async fn evaluate_with(
    ctx: &Ctx,
    campaign_id: Uuid,
    thresholds: &AlertThresholds,
    p: &DetectorParams,
) -> ApiResult<Evaluation> {
    let Some(latest) = db::latest_mention_at(&ctx.db, campaign_id).await? else {
        return Ok(Evaluation::default());
    };
    let now = latest.min(Utc::now());
    db::close_quiet_episodes(&ctx.db, campaign_id, now - p.cool_down, now).await?;
    let span = p.window.max(p.engagement_window) + p.bucket * p.baseline_buckets as i32;
    let samples: Vec<Sample> = db::mention_samples(&ctx.db, campaign_id, now - span, now)
        .await?
        .into_iter()
        .map(Sample::from)
        .collect();
    let reading = read(&samples, now, p);
    let found = breaches(&reading, thresholds, p);
    let mut raised = Vec::new();
    if found.is_empty() {
        return Ok(Evaluation {
            reading: Some(reading),
            raised,
        });
    }
    let Some(campaign) = ctx.campaigns().get(CampaignId(campaign_id)).await? else {
        return Ok(Evaluation::default());
    };
    for b in found {
        let key = format!("{campaign_id}:{}", b.alert_type.as_str());
        if db::episode_is_open(&ctx.db, &key).await? {
            db::touch_episode(&ctx.db, &key, now).await?;
            continue;
        }
        let episode = EpisodeRow {
            id: Uuid::now_v7(),
            campaign_id,
            alert_type: b.alert_type.as_str().to_owned(),
            open_key: Some(key.clone()),
            alert_id: None,
            peak: b.value,
            opened_at: now,
            last_breach_at: now,
            closed_at: None,
        };
        let alert = alert_of(campaign_id, &campaign.name, b, &reading)?;
        match alerting::raise(ctx, alert, Some(episode)).await? {
            Some(view) => {
                tracing::info!(campaign = %campaign_id, alert = %view.id, kind = b.alert_type.as_str(), severity = b.severity.as_str(), "alert raised");
                raised.push(view);
            }
            None => db::touch_episode(&ctx.db, &key, now).await?,
        }
    }
    Ok(Evaluation {
        reading: Some(reading),
        raised,
    })
}

/// The triggers of a detected crisis, in words.
fn triggers(r: &Reading) -> Vec<String> {
    let mut t = Vec::new();
    if r.negative_share >= 0.5 {
        t.push(format!(
            "{:.0}% of mentions negative",
            r.negative_share * 100.0
        ));
    }
    if let Some(c) = r.sentiment_change.filter(|c| *c < 0.0) {
        t.push(format!("sentiment down {:.2}", -c));
    }
    if let Some(v) = r.volume_ratio.filter(|v| *v >= 2.0) {
        t.push(format!("mentions at {v:.1}x the usual rate"));
    }
    if r.score_parts.reach > 0.0
        && let Some(b) = r.baseline_reach
    {
        t.push(format!(
            "negative reach {:.1}x the usual",
            r.negative_reach as f64 / b.max(1.0)
        ));
    }
    if t.is_empty() {
        t.push(format!("crisis score {:.2}", r.crisis_score));
    }
    t
}

fn recommended_actions(r: &Reading) -> Vec<String> {
    let mut a = vec!["Convene the crisis team and agree on a holding statement".to_owned()];
    if r.score_parts.spike > 0.0 {
        a.push("Brief spokespeople before the volume peaks".into());
    }
    if r.score_parts.sentiment_drop > 0.0 || r.negative_share >= 0.5 {
        a.push("Review the most negative high-reach mentions and prepare responses".into());
    }
    if let Some(p) = r.negative_platforms.first() {
        a.push(format!("Watch {p} closely"));
    }
    a
}

/// The alert a breach raises: title, message and `data` by type.
fn alert_of(campaign_id: Uuid, name: &str, b: Breach, r: &Reading) -> ApiResult<NewAlert> {
    let minutes = r.window_minutes;
    let reading = serde_json::to_value(r).map_err(ApiError::internal)?;
    let (title, message, data) = match b.alert_type {
        AlertType::Crisis => {
            let crisis = CrisisAlert {
                campaign_id,
                crisis_score: r.crisis_score,
                triggers: triggers(r),
                affected_platforms: r.negative_platforms.iter().take(5).cloned().collect(),
                estimated_reach: u64::try_from(r.reach).unwrap_or(0),
                sentiment_impact: round3(r.sentiment_change.unwrap_or(0.0)),
                recommended_actions: recommended_actions(r),
            };
            let mut data = serde_json::to_value(&crisis).map_err(ApiError::internal)?;
            data["detection"] = reading;
            (
                crisis_title(&crisis.triggers),
                crisis_message(&crisis, name),
                data,
            )
        }
        AlertType::Sentiment => (
            format!("Sentiment drop: {name}"),
            format!(
                "Average sentiment fell {:+.2} to {:+.2} (usual {:+.2}) over the last {minutes} minutes, across {} mentions; {:.0}% negative.",
                b.value,
                r.sentiment,
                r.baseline_sentiment.unwrap_or(0.0),
                r.mentions,
                r.negative_share * 100.0
            ),
            reading,
        ),
        AlertType::MentionSpike => (
            format!("Mention spike: {name}"),
            format!(
                "{} mentions in the last {minutes} minutes, {:.1}x the usual {:.0}.",
                r.mentions,
                b.value,
                r.baseline_mentions.unwrap_or(0.0)
            ),
            reading,
        ),
        // The detector raises no COMPETITOR alerts; the arm keeps the match whole.
        AlertType::EngagementDrop | AlertType::Competitor => (
            format!("Engagement drop: {name}"),
            format!(
                "Median engagement per mention fell {:.0}% (from {:.0} to {:.0}) over the last {} minutes.",
                -b.value * 100.0,
                r.baseline_engagement.unwrap_or(0.0),
                r.engagement.unwrap_or(0.0),
                r.engagement_window_minutes
            ),
            reading,
        ),
    };
    Ok(NewAlert {
        campaign_id: Some(campaign_id),
        alert_type: b.alert_type,
        severity: b.severity,
        title,
        message,
        data,
        source: AlertSource::Detector,
        raised_by: None,
        audience: Audience::Campaign,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::{
        integrations::mentionlytics::{
            MentionQuery,
            mock::{MockConfig, MockMentionlytics},
        },
        service::sentiment,
    };

    /// Readings every 30 s over the default mock stream: outside its bursts (and the window
    /// after each) nothing breaches; every burst raises `SENTIMENT` and `CRISIS`.
    #[test]
    fn the_mock_streams_bursts_alert_and_its_quiet_time_does_not() {
        let mock = MockMentionlytics::new(MockConfig::default());
        let p = DetectorParams::default();
        let t = AlertThresholds::default();
        let until: chrono::DateTime<Utc> = "2026-05-01T12:00:00Z".parse().unwrap();
        for n in 1..=3u128 {
            let config_id = Uuid::from_u128(n);
            let q = MentionQuery {
                config_id,
                campaign_id: Uuid::from_u128(100 + n),
                keywords: vec!["Rivera".into(), "Harbor County".into()],
                competitors: vec!["Smith".into()],
                influencers: vec![],
                platforms: vec![],
                since: until - Duration::hours(4),
                until,
                limit: 100_000,
            };
            let mut ms: Vec<Sample> = mock
                .generate(&q)
                .into_iter()
                .map(|m| Sample {
                    at: m.timestamp,
                    sentiment: sentiment::resolve(m.sentiment, &m.text),
                    reach: m.reach,
                    engagement: m.engagement,
                    platform: m.platform,
                })
                .collect();
            ms.sort_by_key(|s| s.at);
            let mut seen: BTreeMap<chrono::DateTime<Utc>, BTreeSet<&str>> = BTreeMap::new();
            let mut now = until - Duration::hours(3);
            while now <= until {
                let upto = ms.partition_point(|s| s.at <= now);
                let found = breaches(&read(&ms[..upto], now, &p), &t, &p);
                let burst = mock
                    .burst_at_or_after(config_id, now - p.window)
                    .expect("bursts are on");
                let near = burst.start <= now && now < burst.end + p.window;
                if near {
                    let types = seen.entry(burst.start).or_default();
                    types.extend(found.iter().map(|b| b.alert_type.as_str()));
                } else {
                    assert!(found.is_empty(), "config {n} at {now}: {found:?}");
                }
                now += Duration::seconds(30);
            }
            let complete: Vec<_> = seen
                .iter()
                .filter(|(start, _)| **start > until - Duration::hours(3))
                .filter(|(start, _)| **start + Duration::minutes(10) < until)
                .collect();
            assert!(complete.len() >= 8, "{complete:?}");
            for (start, types) in complete {
                assert!(
                    types.contains("SENTIMENT") && types.contains("CRISIS"),
                    "config {n}, burst at {start}: {types:?}"
                );
            }
        }
    }
}
