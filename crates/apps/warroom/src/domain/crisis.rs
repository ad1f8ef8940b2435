//! Crisis detection's domain: the detector's windows and guards, a reading of a campaign's
//! mention stream and the thresholds it crosses (`reading`), and the alert each breach raises,
//! in words. `service::crisis` reads the mentions and keeps the episodes.
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

use chrono::Duration;
use platform::{ApiError, error::ApiResult};
use uuid::Uuid;

use self::reading::round3;
pub use self::reading::{
    Breach, DROP_SATURATION, RATIO_SATURATION, Reading, SCORE_WEIGHTS, Sample, ScoreParts,
    breaches, read,
};
use super::{
    alerts::{
        AlertSource, AlertType, Audience, CrisisAlert, NewAlert, crisis_message, crisis_title,
    },
    sentiment::NEGATIVE_MAX,
};

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
            negative_at: NEGATIVE_MAX,
        }
    }
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
pub fn alert_of(campaign_id: Uuid, name: &str, b: Breach, r: &Reading) -> ApiResult<NewAlert> {
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
