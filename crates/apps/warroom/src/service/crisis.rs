//! Crisis detection: evaluates a campaign's alert thresholds over sliding windows of its
//! stored mentions as they arrive, and raises one alert per episode. (The detector itself
//! arrives with the alerting work; ingestion already calls [`evaluate`] after every batch.)

use platform::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Ctx;

/// Seed 001 `AlertThresholds`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertThresholds {
    /// A fall in average sentiment, as a fraction: -0.3 = a 30% drop.
    pub sentiment_drop: f64,
    /// A rise in mention volume, as a multiple: 5 = five times the usual rate.
    pub mention_spike: f64,
    /// Crisis probability, 0 to 1, above which a crisis is declared.
    pub crisis_score: f64,
    /// A fall in engagement, as a fraction: -0.5 = a 50% drop.
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

/// Evaluates `campaign_id`'s recent mentions against `thresholds`; called after each
/// ingested batch that stored new mentions.
pub async fn evaluate(
    _ctx: &Ctx,
    _campaign_id: Uuid,
    _thresholds: &AlertThresholds,
) -> Result<(), ApiError> {
    Ok(())
}
