//! The requests of the alert center and of `/alerting/*`, and their checks: the list's
//! filters, an action, seed 001's `CrisisAlert` and `sendAlert` body. `TryFrom` turns each
//! into the domain's checked input, naming every offending field at once.

use platform::{
    ApiError,
    phone::is_e164,
    validate::{PageQuery, Problems},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    api::wire::{one_of, optional},
    domain::{
        alerts::{
            AlertAction, AlertQuery, AlertStatus, AlertType, CrisisAlert, Lifecycle, ManualAlert,
            Severity,
        },
        notifications::{E164_RULE, is_message},
    },
};

/// `GET /alerts`'s filters (beside `?page&limit`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListAlertsQuery {
    /// The alert center's lifecycle.
    #[param(value_type = Option<Lifecycle>)]
    pub status: Option<String>,
    /// The delivery status.
    #[param(value_type = Option<AlertStatus>)]
    pub delivery_status: Option<String>,
    #[param(value_type = Option<Severity>)]
    pub severity: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<AlertType>)]
    pub alert_type: Option<String>,
    #[param(value_type = Option<Uuid>)]
    pub campaign_id: Option<String>,
    /// `true`: only alerts nobody has read; `false`: only read ones.
    pub unread: Option<bool>,
}

/// One of an enum's names (surrounding blanks ignored), or a problem naming them all.
fn one<T>(
    p: &mut Problems,
    name: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Option<T>,
    names: fn() -> String,
) -> Option<T> {
    optional(p, name, raw.map(str::trim), parse, one_of(&names()))
}

impl TryFrom<(PageQuery, ListAlertsQuery)> for AlertQuery {
    type Error = ApiError;

    fn try_from((page, q): (PageQuery, ListAlertsQuery)) -> Result<Self, ApiError> {
        let paging = page.paging()?;
        let mut p = Problems::new();
        let status = q.status.as_deref();
        let lifecycle = one(&mut p, "status", status, Lifecycle::parse, Lifecycle::names);
        let delivery = q.delivery_status.as_deref();
        let status = one(
            &mut p,
            "deliveryStatus",
            delivery,
            AlertStatus::parse,
            AlertStatus::names,
        );
        let severity = q.severity.as_deref();
        let severity = one(
            &mut p,
            "severity",
            severity,
            Severity::parse,
            Severity::names,
        );
        let kind = q.alert_type.as_deref();
        let alert_type = one(&mut p, "type", kind, AlertType::parse, AlertType::names);
        let id = q.campaign_id.as_deref().map(str::trim);
        let uuid = |s: &str| s.parse::<Uuid>().ok();
        let rule = "must be a campaign id (UUID)";
        let campaign_id = optional(&mut p, "campaignId", id, uuid, rule);
        p.or_value(Self {
            lifecycle,
            status,
            severity,
            alert_type,
            campaign_id,
            unread: q.unread,
            paging,
        })
    }
}

/// `POST /alerts/{id}/actions`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "acknowledge"}))]
pub struct AlertActionRequest {
    pub action: AlertAction,
}

/// Seed 001 `CrisisAlert` as `POST /alerting/crisis` sends it.
#[derive(Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = CrisisAlert)]
pub struct CrisisAlertRequest(pub CrisisAlert);

/// Checks a list of short texts: `min..=max` items, each 1 to `chars` characters, not blank;
/// returns them trimmed.
fn texts(
    p: &mut Problems,
    name: &str,
    items: Vec<String>,
    (min, max): (usize, usize),
    chars: usize,
) -> Vec<String> {
    if items.len() < min || items.len() > max {
        let what = if min > 0 {
            format!("must have {min} to {max} items")
        } else {
            format!("must have at most {max} items")
        };
        p.push(name, what);
    }
    for (i, t) in items.iter().enumerate() {
        p.require(
            !t.trim().is_empty() && t.chars().count() <= chars,
            format!("{name}[{i}]"),
            format!("must be 1 to {chars} characters, not blank"),
        );
    }
    items.into_iter().map(|t| t.trim().to_owned()).collect()
}

impl TryFrom<CrisisAlertRequest> for CrisisAlert {
    type Error = ApiError;

    /// The score and impact in range, the lists within their bounds, each text trimmed.
    fn try_from(CrisisAlertRequest(c): CrisisAlertRequest) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        p.require(
            c.crisis_score.is_finite() && (0.0..=1.0).contains(&c.crisis_score),
            "crisisScore",
            "must be a number from 0 to 1",
        );
        p.require(
            c.sentiment_impact.is_finite() && (-2.0..=2.0).contains(&c.sentiment_impact),
            "sentimentImpact",
            "must be a number from -2 to 2",
        );
        let triggers = texts(&mut p, "triggers", c.triggers, (1, 20), 200);
        let platforms = texts(
            &mut p,
            "affectedPlatforms",
            c.affected_platforms,
            (0, 20),
            50,
        );
        let actions = texts(
            &mut p,
            "recommendedActions",
            c.recommended_actions,
            (0, 20),
            500,
        );
        p.or_value(Self {
            triggers,
            affected_platforms: platforms,
            recommended_actions: actions,
            ..c
        })
    }
}

// Seed 001 `sendAlert`'s body. `campaignId` is ours: the seed takes the "current
// campaign", which a War Room request has no notion of.
/// A `MEDIUM` alert for a campaign, sent over SMS to the given numbers.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"type": "SENTIMENT", "message": "Sentiment fell 30% in the last hour", "recipients": ["+14155550123"], "campaignId": "3f2b9c1e-7a4d-4e8f-9b6a-2c5d8e1f4a70"}))]
pub struct SendAlertRequest {
    /// One of the alert types (`CRISIS`, `SENTIMENT`, `MENTION_SPIKE`, `ENGAGEMENT_DROP`,
    /// `COMPETITOR`); also the title.
    #[serde(rename = "type")]
    pub alert_type: String,
    /// 1 to 1600 characters (one SMS at most).
    pub message: String,
    /// 1 to 50 E.164 numbers.
    pub recipients: Vec<String>,
    pub campaign_id: Option<Uuid>,
}

impl TryFrom<SendAlertRequest> for ManualAlert {
    type Error = ApiError;

    fn try_from(req: SendAlertRequest) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let kind = Some(req.alert_type.as_str());
        let alert_type = one(&mut p, "type", kind, AlertType::parse, AlertType::names);
        p.require(
            is_message(&req.message),
            "message",
            "must be 1 to 1600 characters, not blank",
        );
        p.require(
            (1..=50).contains(&req.recipients.len()),
            "recipients",
            "must have 1 to 50 numbers",
        );
        for (i, r) in req.recipients.iter().enumerate() {
            p.require(is_e164(r.trim()), format!("recipients[{i}]"), E164_RULE);
        }
        match alert_type {
            Some(alert_type) => p.or_value(Self {
                alert_type,
                message: req.message.trim().to_owned(),
                recipients: req.recipients.iter().map(|r| r.trim().to_owned()).collect(),
                campaign_id: req.campaign_id,
            }),
            None => Err(ApiError::validation(p.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crisis(body: serde_json::Value) -> Result<CrisisAlert, Vec<String>> {
        let req: CrisisAlertRequest = serde_json::from_value(body).unwrap();
        CrisisAlert::try_from(req).map_err(|e| e.field_names())
    }

    #[test]
    fn a_crisis_alert_is_trimmed_and_every_bad_field_named() {
        let id = Uuid::now_v7();
        let ok = crisis(serde_json::json!({
            "campaignId": id, "crisisScore": 0.9, "triggers": [" Spike "],
        }))
        .unwrap();
        assert_eq!(ok.triggers, ["Spike"]);
        let bad = crisis(serde_json::json!({
            "campaignId": id, "crisisScore": 1.5, "sentimentImpact": -3,
            "triggers": [], "affectedPlatforms": [" "],
        }))
        .unwrap_err();
        assert_eq!(
            bad,
            [
                "crisisScore",
                "sentimentImpact",
                "triggers",
                "affectedPlatforms[0]"
            ]
        );
    }

    #[test]
    fn an_alert_query_names_each_unknown_filter() {
        let q = ListAlertsQuery {
            status: Some("open".into()),
            delivery_status: None,
            severity: Some(" HIGH ".into()),
            alert_type: Some("x".into()),
            campaign_id: Some("nope".into()),
            unread: None,
        };
        let err = AlertQuery::try_from((PageQuery::default(), q)).unwrap_err();
        assert_eq!(err.field_names(), ["status", "type", "campaignId"]);
    }
}
