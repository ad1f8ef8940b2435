//! The requests of `/monitoring/config` and their checks: the body of `POST` and `PUT` (seed
//! 001 `MonitoringConfig`) and the list's query. Fields are lenient (`Option`s, strings for
//! enums) so that one 400 names every offending field; `TryFrom` turns a request into the
//! domain's `ConfigInput` or `ConfigQuery`.

use platform::{
    ApiError,
    validate::{PageQuery, Problems, present},
};
use serde::{Deserialize, de::IgnoredAny};
use utoipa::{IntoParams, ToSchema};

use crate::{
    api::wire::{one_of, optional},
    domain::{
        campaigns::CampaignId,
        monitoring::{
            AlertThresholds, ConfigInput, ConfigQuery, ConfigStatus, KEYWORDS_MAX, PLATFORMS,
            REFRESH_INTERVAL, REFRESH_INTERVAL_DEFAULT, TERMS_MAX, terms,
        },
    },
};

/// `GET /monitoring/config`'s filters (beside `?page&limit`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListConfigsQuery {
    /// Only this campaign's configs.
    #[param(value_type = Option<uuid::Uuid>)]
    pub campaign_id: Option<String>,
    /// Only configs with this status.
    #[param(value_type = Option<ConfigStatus>)]
    pub status: Option<String>,
}

impl TryFrom<(PageQuery, ListConfigsQuery)> for ConfigQuery {
    type Error = ApiError;

    fn try_from((page, q): (PageQuery, ListConfigsQuery)) -> Result<Self, ApiError> {
        let paging = page.paging()?;
        let mut p = Problems::new();
        let id = q.campaign_id.as_deref();
        let campaign = optional(
            &mut p,
            "campaignId",
            id,
            CampaignId::parse,
            "must be a UUID",
        );
        let status = q.status.as_deref();
        let rule = one_of(&ConfigStatus::names());
        let status = optional(&mut p, "status", status, ConfigStatus::parse, rule);
        p.or_value(Self {
            campaign,
            status,
            paging,
        })
    }
}

// Seed 001 `MonitoringConfig`; missing thresholds take the seed's examples.
/// A monitoring config. Only `campaignId` is required: missing `keywords` are the
/// campaign's, missing `competitors`/`influencers` none, missing `platforms` every platform,
/// missing thresholds their defaults, a missing `refreshInterval` 60 s. The read-only
/// fields of a `MonitoringConfigView` are accepted and ignored, so a fetched config can be
/// edited and sent back whole.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"campaignId": "3f2b9c1e-7a4d-4e8f-9b6a-2c5d8e1f4a70", "keywords": ["voter turnout", "early voting"], "competitors": ["Rival Campaign"], "platforms": ["twitter", "news"], "refreshInterval": 300, "alertThresholds": {"crisisScore": 0.7, "sentimentDrop": -0.3, "mentionSpike": 3, "engagementDrop": -0.5}}))]
pub struct MonitoringConfigRequest {
    /// The campaign to monitor; on `PUT`, the config's own campaign.
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = uuid::Uuid)]
    pub campaign_id: Option<String>,
    /// 1 to 50 terms of 1 to 100 characters; trimmed, case-insensitive repeats dropped.
    /// Missing: the campaign's keywords.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<MonitoredTerm>, min_items = 1, max_items = 50)]
    pub keywords: Option<Vec<String>>,
    /// At most 50 names, as `keywords`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<MonitoredTerm>, max_items = 50)]
    pub competitors: Option<Vec<String>>,
    /// At most 50 handles or names, as `keywords`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<MonitoredTerm>, max_items = 50)]
    pub influencers: Option<Vec<String>>,
    /// Platforms to watch; empty or missing means all of them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<MonitoredPlatform>)]
    pub platforms: Option<Vec<String>>,
    /// Missing fields take their defaults.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = AlertThresholdsRequest)]
    pub alert_thresholds: Option<AlertThresholdsRequest>,
    /// Seconds between polls, a whole number from 10 to 86400 (default 60).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i64, minimum = 10, maximum = 86400)]
    pub refresh_interval: Option<f64>,
    #[serde(default)]
    #[schema(ignore)]
    pub id: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub status: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_by: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub stopped_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub polled_until: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub last_polled_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub next_poll_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub last_error: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub mentions_ingested: Option<IgnoredAny>,
}

// Seed 001 `AlertThresholds`; each missing field takes the seed's example.
/// When monitoring raises an alert; each missing field takes its default.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertThresholdsRequest {
    /// A fall in average sentiment as a fraction, -1 to 0 exclusive (default -0.3).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = f64, minimum = -1, exclusive_maximum = 0)]
    pub sentiment_drop: Option<f64>,
    /// A rise in volume as a multiple, above 1 up to 100 (default 5).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = f64, exclusive_minimum = 1, maximum = 100)]
    pub mention_spike: Option<f64>,
    /// Crisis probability, above 0 up to 1 (default 0.8).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = f64, exclusive_minimum = 0, maximum = 1)]
    pub crisis_score: Option<f64>,
    /// A fall in engagement as a fraction, -1 to 0 exclusive (default -0.5).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = f64, minimum = -1, exclusive_maximum = 0)]
    pub engagement_drop: Option<f64>,
}

/// A keyword, competitor or influencer: 1 to 100 characters, not blank; stored trimmed.
#[derive(ToSchema)]
#[schema(min_length = 1, max_length = 100, pattern = r"\S")]
pub struct MonitoredTerm(pub String);

/// A platform monitoring can watch.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum MonitoredPlatform {
    Twitter,
    Facebook,
    Instagram,
    Tiktok,
    Youtube,
    Reddit,
    News,
    Google,
}

impl TryFrom<MonitoringConfigRequest> for ConfigInput {
    type Error = ApiError;

    /// Every rule of docs/warroom.md "Monitoring configs", each broken one reported.
    fn try_from(req: MonitoringConfigRequest) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let campaign_id = match req.campaign_id.as_deref() {
            None => {
                p.push("campaignId", "is required");
                None
            }
            Some(raw) => {
                let id = CampaignId::parse(raw.trim());
                p.require(id.is_some(), "campaignId", "must be a UUID");
                id
            }
        };
        let keywords = req
            .keywords
            .map(|k| terms(&k, "keywords", 1, KEYWORDS_MAX, &mut p));
        let competitors = req.competitors.unwrap_or_default();
        let competitors = terms(&competitors, "competitors", 0, TERMS_MAX, &mut p);
        let influencers = req.influencers.unwrap_or_default();
        let influencers = terms(&influencers, "influencers", 0, TERMS_MAX, &mut p);
        let platforms = platforms(&req.platforms.unwrap_or_default(), &mut p);
        let alert_thresholds = thresholds(req.alert_thresholds, &mut p);
        let refresh_interval = match req.refresh_interval {
            None => REFRESH_INTERVAL_DEFAULT,
            Some(s) if s.fract() == 0.0 && REFRESH_INTERVAL.contains(&s) => s as i32,
            Some(_) => {
                p.push(
                    "refreshInterval",
                    "must be a whole number of seconds from 10 to 86400",
                );
                REFRESH_INTERVAL_DEFAULT
            }
        };
        match campaign_id {
            Some(campaign_id) => p.or_value(Self {
                campaign_id,
                keywords,
                competitors,
                influencers,
                platforms,
                alert_thresholds,
                refresh_interval,
            }),
            None => Err(ApiError::validation(p.into())),
        }
    }
}

/// Each platform once, lowercase, in first-seen order.
fn platforms(items: &[String], p: &mut Problems) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, name) in items.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        if !PLATFORMS.contains(&name.as_str()) {
            p.push(
                format!("platforms[{i}]"),
                format!("must be one of {}", PLATFORMS.join(", ")),
            );
        } else if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn thresholds(req: Option<AlertThresholdsRequest>, p: &mut Problems) -> AlertThresholds {
    let d = AlertThresholds::default();
    let Some(req) = req else {
        return d;
    };
    let mut check =
        |v: Option<f64>, default: f64, name: &str, ok: fn(f64) -> bool, rule: &str| match v {
            None => default,
            Some(x) if x.is_finite() && ok(x) => x,
            Some(_) => {
                p.push(format!("alertThresholds.{name}"), rule);
                default
            }
        };
    AlertThresholds {
        sentiment_drop: check(
            req.sentiment_drop,
            d.sentiment_drop,
            "sentimentDrop",
            |x| (-1.0..0.0).contains(&x),
            "must be from -1 up to (not including) 0",
        ),
        mention_spike: check(
            req.mention_spike,
            d.mention_spike,
            "mentionSpike",
            |x| x > 1.0 && x <= 100.0,
            "must be above 1, at most 100",
        ),
        crisis_score: check(
            req.crisis_score,
            d.crisis_score,
            "crisisScore",
            |x| x > 0.0 && x <= 1.0,
            "must be above 0, at most 1",
        ),
        engagement_drop: check(
            req.engagement_drop,
            d.engagement_drop,
            "engagementDrop",
            |x| (-1.0..0.0).contains(&x),
            "must be from -1 up to (not including) 0",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: serde_json::Value) -> Result<ConfigInput, Vec<String>> {
        let req: MonitoringConfigRequest = serde_json::from_value(body).expect("deserializes");
        ConfigInput::try_from(req).map_err(|e| e.field_names())
    }

    #[test]
    fn only_the_campaign_is_required_and_the_rest_has_defaults() {
        let id = uuid::Uuid::now_v7();
        let input = parse(json!({ "campaignId": id.to_string() })).unwrap();
        assert_eq!(input.campaign_id, CampaignId(id));
        assert_eq!(
            input.keywords, None,
            "the campaign's keywords are taken later"
        );
        assert!(input.competitors.is_empty() && input.platforms.is_empty());
        assert_eq!(input.alert_thresholds, AlertThresholds::default());
        assert_eq!(input.refresh_interval, 60);
    }

    #[test]
    fn terms_are_trimmed_and_case_insensitive_repeats_dropped() {
        let input = parse(json!({
            "campaignId": uuid::Uuid::now_v7().to_string(),
            "keywords": [" Rivera ", "rivera", "Harbor Bridge"],
            "platforms": ["Twitter", "twitter", "news"],
        }))
        .unwrap();
        assert_eq!(input.keywords.unwrap(), ["Rivera", "Harbor Bridge"]);
        assert_eq!(input.platforms, ["twitter", "news"]);
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let fields = parse(json!({
            "campaignId": "nope",
            "keywords": [],
            "competitors": [" "],
            "platforms": ["myspace"],
            "alertThresholds": { "sentimentDrop": 0, "mentionSpike": 1, "crisisScore": 0,
                                 "engagementDrop": -1.01 },
            "refreshInterval": 9,
        }))
        .unwrap_err();
        assert_eq!(
            fields,
            [
                "campaignId",
                "keywords",
                "competitors[0]",
                "platforms[0]",
                "alertThresholds.sentimentDrop",
                "alertThresholds.mentionSpike",
                "alertThresholds.crisisScore",
                "alertThresholds.engagementDrop",
                "refreshInterval",
            ]
        );
    }

    #[test]
    fn the_boundaries_of_each_range_are_accepted() {
        let input = parse(json!({
            "campaignId": uuid::Uuid::now_v7().to_string(),
            "alertThresholds": { "sentimentDrop": -1, "mentionSpike": 100, "crisisScore": 1,
                                 "engagementDrop": -0.01 },
            "refreshInterval": 86400,
        }))
        .unwrap();
        assert_eq!(input.alert_thresholds.sentiment_drop, -1.0);
        assert_eq!(input.alert_thresholds.mention_spike, 100.0);
        assert_eq!(input.refresh_interval, 86400);
        let fields = parse(json!({
            "campaignId": uuid::Uuid::now_v7().to_string(),
            "refreshInterval": 60.5,
        }))
        .unwrap_err();
        assert_eq!(fields, ["refreshInterval"]);
    }
}
