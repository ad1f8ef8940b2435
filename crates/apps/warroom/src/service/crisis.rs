//! Crisis detection: evaluates a campaign's alert thresholds over sliding windows of its
//! stored mentions as they arrive, and raises one alert per (campaign, type) per episode.
//! Ingestion calls [`evaluate`] after every batch that stored new mentions; the alert is
//! created and published inline, its deliveries go through jobs. The reading, the thresholds
//! and the alerts' texts are `domain::crisis`; this module reads the mentions and keeps the
//! episodes. A process of War Room's own: it acts for no caller, so it takes no `Actor`.

use chrono::Utc;
use platform::{ApiError, error::ApiResult};
use uuid::Uuid;

use crate::{
    Ctx,
    db::{self, alerts::EpisodeRow},
    domain::{
        alerts::AlertView,
        campaigns::CampaignId,
        crisis::{DetectorParams, Reading, alert_of, breaches, read},
        monitoring::AlertThresholds,
    },
};

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
    let Some(latest) = db::alerts::latest_mention_at(&ctx.db, campaign_id).await? else {
        return Ok(Evaluation::default());
    };
    let now = latest.min(Utc::now());
    db::alerts::close_quiet_episodes(&ctx.db, campaign_id, now - p.cool_down, now).await?;
    let span = p.window.max(p.engagement_window) + p.bucket * p.baseline_buckets as i32;
    let samples = db::alerts::mention_samples(&ctx.db, campaign_id, now - span, now).await?;
    let reading = read(&samples, now, p);
    let found = breaches(&reading, thresholds, p);
    let mut raised = Vec::new();
    if found.is_empty() {
        return Ok(Evaluation {
            reading: Some(reading),
            raised,
        });
    }
    let Some(campaign) = ctx.campaigns().find(CampaignId(campaign_id)).await? else {
        return Ok(Evaluation::default());
    };
    for b in found {
        let key = format!("{campaign_id}:{}", b.alert_type.as_str());
        if db::alerts::episode_is_open(&ctx.db, &key).await? {
            db::alerts::touch_episode(&ctx.db, &key, now).await?;
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
        match ctx.alerts().raise(alert, Some(episode)).await? {
            Some(view) => {
                tracing::info!(campaign = %campaign_id, alert = %view.id, kind = b.alert_type.as_str(), severity = b.severity.as_str(), "alert raised");
                raised.push(view);
            }
            None => db::alerts::touch_episode(&ctx.db, &key, now).await?,
        }
    }
    Ok(Evaluation {
        reading: Some(reading),
        raised,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::Duration;

    use super::*;
    use crate::{
        domain::{crisis::Sample, sentiment},
        integrations::mentionlytics::{
            MentionQuery,
            mock::{MockConfig, MockMentionlytics},
        },
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
