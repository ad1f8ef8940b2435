//! The request bodies of `/api/v1/campaigns` and their checks. They are lenient where the
//! seed is strict (a missing field is an `Option`, enum values are strings) so that one 400
//! names every offending field; `TryFrom` turns a body into the service's `CampaignInput`.

use chrono::{DateTime, NaiveDate, Utc};
use platform::{ApiError, error::FieldError};
use serde::{Deserialize, Deserializer, de::IgnoredAny};
use utoipa::ToSchema;

use crate::service::campaigns::{
    self as rules, AgeRange, Budget, CampaignAction, CampaignInput, CampaignStatus, Demographics,
    Gender, Keyword, Platform, TargetAudience,
};

/// `Some` for a present value, refusing `null` (a missing field is `None` through
/// `#[serde(default)]`): the schema's fields are never nullable.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Seed 001 `CreateCampaignRequest` (also the body of `PUT`), plus optional `keywords`.
/// The read-only fields of a `Campaign` (`id`, `metrics`, `createdAt`, …) are accepted and
/// ignored, so a fetched campaign can be sent back whole; its `status`, when sent, must be
/// the campaign's current one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCampaignRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = String, min_length = 3, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    /// May be empty; missing is empty.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 1000)]
    pub description: Option<String>,
    /// ISO-8601 date-time (or a date, meaning midnight UTC).
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = String, format = DateTime)]
    pub start_date: Option<String>,
    /// Strictly after `startDate`.
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = String, format = DateTime)]
    pub end_date: Option<String>,
    /// 100 to 1,000,000, rounded to the cent.
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = f64, minimum = 100, maximum = 1000000)]
    pub budget: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = TargetAudienceRequest)]
    pub target_audience: Option<TargetAudienceRequest>,
    /// Words or `{ keyword, weight }`; trimmed, case-insensitive duplicates dropped. On `PUT`,
    /// absent keeps the campaign's keywords.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<KeywordRequest>, max_items = 100)]
    pub keywords: Option<Vec<KeywordRequest>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    pub status: Option<String>,
    #[serde(default)]
    #[schema(ignore)]
    pub id: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub metrics: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_by: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_at: Option<IgnoredAny>,
}

/// Seed 001 `TargetAudience`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetAudienceRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = DemographicsRequest)]
    pub demographics: Option<DemographicsRequest>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<AudienceItem>, max_items = 50)]
    pub interests: Option<Vec<AudienceItem>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<AudienceItem>, max_items = 50)]
    pub locations: Option<Vec<AudienceItem>>,
    /// At least one; duplicates dropped.
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = Vec<Platform>, min_items = 1)]
    pub platforms: Option<Vec<String>>,
}

/// Seed 001 `Demographics`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DemographicsRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = AgeRangeRequest)]
    pub age_range: Option<AgeRangeRequest>,
    /// Duplicates dropped; missing is none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<Gender>)]
    pub gender: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 100)]
    pub income: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 100)]
    pub education: Option<String>,
}

/// Ages 13 to 120, `min` ≤ `max`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgeRangeRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = i64, minimum = 13, maximum = 120)]
    pub min: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = i64, minimum = 13, maximum = 120)]
    pub max: Option<i64>,
}

/// An interest or a location: 1 to 100 characters, not blank; stored trimmed.
#[derive(Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(min_length = 1, max_length = 100, pattern = r"\S")]
pub struct AudienceItem(pub String);

/// A keyword: 1 to 255 characters, not blank; stored trimmed.
#[derive(Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(min_length = 1, max_length = 255, pattern = r"\S")]
pub struct KeywordText(pub String);

/// A keyword as a bare word (weight 1.0) or with its weight.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum KeywordRequest {
    Word(KeywordText),
    Weighted(WeightedKeyword),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedKeyword {
    pub keyword: KeywordText,
    /// 0 to 9.99 (two decimals); 1.0 when absent.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = f64, minimum = 0, maximum = 9.99)]
    pub weight: Option<f64>,
}

/// `POST /campaigns/{id}/actions`. `budget` goes with (and only with) a budget change;
/// `reason` is kept in the audit trail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignActionRequest {
    pub action: ActionName,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = f64, minimum = 100, maximum = 1000000)]
    pub budget: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 500)]
    pub reason: Option<String>,
}

/// `activate` and `resume` are the same action; `budget_change` and `updateBudget` are
/// spellings of `budget`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ActionName {
    Activate,
    Resume,
    Pause,
    Complete,
    Budget,
    #[serde(rename = "budget_change")]
    BudgetChange,
    UpdateBudget,
}

fn field(name: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
    }
}

fn one_of(values: &[&str]) -> String {
    format!("must be one of {}", values.join(", "))
}

pub(super) fn parse_status(s: &str) -> Result<CampaignStatus, ApiError> {
    CampaignStatus::parse(s).ok_or_else(|| {
        ApiError::validation(vec![field(
            "status",
            one_of(&CampaignStatus::ALL.map(CampaignStatus::as_str)),
        )])
    })
}

fn required(errors: &mut Vec<FieldError>, name: &str) {
    errors.push(field(name, "is required"));
}

/// RFC 3339, or a bare `YYYY-MM-DD` (midnight UTC, what a date picker sends).
fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            Some(d.and_hms_opt(0, 0, 0)?.and_utc())
        })
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Not blank, within `range` characters as sent; returned trimmed.
fn text_item(s: &str, range: std::ops::RangeInclusive<usize>) -> Option<String> {
    let trimmed = s.trim();
    (range.contains(&chars(s)) && !trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Each value once, in first-seen order, or the index and value of the first unknown one.
fn known<T: PartialEq + Copy>(
    values: &[String],
    parse: impl Fn(&str) -> Option<T>,
    name: &str,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match parse(v) {
            Some(t) if !out.contains(&t) => out.push(t),
            Some(_) => {}
            None => errors.push(field(format!("{name}[{i}]"), one_of(allowed))),
        }
    }
    out
}

fn audience_items(
    items: Option<Vec<AudienceItem>>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    let items = items.unwrap_or_default();
    if items.len() > rules::AUDIENCE_ITEMS_MAX {
        errors.push(field(
            name,
            format!("at most {} items", rules::AUDIENCE_ITEMS_MAX),
        ));
    }
    let mut out = Vec::new();
    for (i, AudienceItem(s)) in items.iter().enumerate() {
        match text_item(s, rules::AUDIENCE_ITEM_CHARS) {
            Some(t) => out.push(t),
            None => errors.push(field(
                format!("{name}[{i}]"),
                "must be 1 to 100 characters, not blank",
            )),
        }
    }
    out
}

fn demographic_text(v: Option<String>, name: &str, errors: &mut Vec<FieldError>) -> String {
    let v = v.unwrap_or_default();
    if chars(&v) > rules::DEMOGRAPHIC_TEXT_MAX_CHARS {
        errors.push(field(name, "must be at most 100 characters"));
    }
    v
}

fn age(v: Option<i64>, name: &str, errors: &mut Vec<FieldError>) -> Option<u32> {
    match v {
        None => {
            required(errors, name);
            None
        }
        Some(n) if rules::AGES.contains(&n) => u32::try_from(n).ok(),
        Some(_) => {
            errors.push(field(name, "must be 13 to 120"));
            None
        }
    }
}

fn target_audience(
    req: Option<TargetAudienceRequest>,
    errors: &mut Vec<FieldError>,
) -> Option<TargetAudience> {
    let Some(req) = req else {
        required(errors, "targetAudience");
        return None;
    };
    let demographics = match req.demographics {
        None => {
            required(errors, "targetAudience.demographics");
            None
        }
        Some(d) => {
            let p = "targetAudience.demographics";
            let range = match d.age_range {
                None => {
                    required(errors, &format!("{p}.ageRange"));
                    None
                }
                Some(r) => {
                    let min = age(r.min, &format!("{p}.ageRange.min"), errors);
                    let max = age(r.max, &format!("{p}.ageRange.max"), errors);
                    match (min, max) {
                        (Some(min), Some(max)) if min > max => {
                            errors.push(field(format!("{p}.ageRange"), "min must not exceed max"));
                            None
                        }
                        (Some(min), Some(max)) => Some(AgeRange { min, max }),
                        _ => None,
                    }
                }
            };
            let genders = Gender::ALL.map(Gender::as_str);
            let gender = known(
                &d.gender.unwrap_or_default(),
                Gender::parse,
                &format!("{p}.gender"),
                &genders,
                errors,
            );
            let income = demographic_text(d.income, &format!("{p}.income"), errors);
            let education = demographic_text(d.education, &format!("{p}.education"), errors);
            range.map(|age_range| Demographics {
                age_range,
                gender,
                income,
                education,
            })
        }
    };
    let interests = audience_items(req.interests, "targetAudience.interests", errors);
    let locations = audience_items(req.locations, "targetAudience.locations", errors);
    let platforms = match req.platforms {
        None => {
            required(errors, "targetAudience.platforms");
            Vec::new()
        }
        Some(list) if list.is_empty() => {
            errors.push(field(
                "targetAudience.platforms",
                "must name at least one platform",
            ));
            Vec::new()
        }
        Some(list) => known(
            &list,
            Platform::parse,
            "targetAudience.platforms",
            &Platform::ALL.map(Platform::as_str),
            errors,
        ),
    };
    Some(TargetAudience {
        demographics: demographics?,
        interests,
        locations,
        platforms,
    })
}

/// Trimmed, weighted (1.0 by default, rounded to two decimals), case-insensitive duplicates
/// dropped (the first one stays).
fn keywords(req: Vec<KeywordRequest>, errors: &mut Vec<FieldError>) -> Vec<Keyword> {
    if req.len() > rules::KEYWORDS_MAX {
        errors.push(field(
            "keywords",
            format!("at most {} keywords", rules::KEYWORDS_MAX),
        ));
    }
    let mut out: Vec<Keyword> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, k) in req.into_iter().enumerate() {
        let (KeywordText(text), weight, text_field) = match k {
            KeywordRequest::Word(t) => (t, None, format!("keywords[{i}]")),
            KeywordRequest::Weighted(w) => (w.keyword, w.weight, format!("keywords[{i}].keyword")),
        };
        let weight = match weight {
            None => Some(rules::WEIGHT_DEFAULT),
            Some(w) if (0.0..=rules::WEIGHT_MAX).contains(&w) => Some((w * 100.0).round() / 100.0),
            Some(_) => {
                errors.push(field(format!("keywords[{i}].weight"), "must be 0 to 9.99"));
                None
            }
        };
        let Some(text) = text_item(&text, rules::KEYWORD_CHARS) else {
            errors.push(field(text_field, "must be 1 to 255 characters, not blank"));
            continue;
        };
        if let Some(weight) = weight
            && seen.insert(text.to_lowercase())
        {
            out.push(Keyword {
                keyword: text,
                weight,
            });
        }
    }
    out
}

impl TryFrom<CreateCampaignRequest> for CampaignInput {
    type Error = ApiError;

    /// Every rule of the seed's `CreateCampaignRequest` and of War Room's additions, each
    /// broken one reported.
    fn try_from(req: CreateCampaignRequest) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let name = match req.name {
            None => {
                required(&mut errors, "name");
                None
            }
            Some(n) if rules::NAME_CHARS.contains(&chars(&n)) && !n.trim().is_empty() => Some(n),
            Some(_) => {
                errors.push(field("name", "must be 3 to 100 characters, not blank"));
                None
            }
        };
        let description = req.description.unwrap_or_default();
        if chars(&description) > rules::DESCRIPTION_MAX_CHARS {
            errors.push(field("description", "must be at most 1000 characters"));
        }
        let mut instant = |v: Option<String>, name: &str| match v.as_deref().map(parse_instant) {
            None => {
                required(&mut errors, name);
                None
            }
            Some(None) => {
                errors.push(field(name, "must be an ISO-8601 date-time"));
                None
            }
            Some(Some(t)) => Some(t),
        };
        let start_date = instant(req.start_date, "startDate");
        let end_date = instant(req.end_date, "endDate");
        if let (Some(s), Some(e)) = (start_date, end_date)
            && e <= s
        {
            errors.push(field("endDate", "must be after startDate"));
        }
        let budget = match req.budget.map(Budget::from_amount) {
            None => {
                required(&mut errors, "budget");
                None
            }
            Some(Err(m)) => {
                errors.push(field("budget", m));
                None
            }
            Some(Ok(b)) => Some(b),
        };
        let target_audience = target_audience(req.target_audience, &mut errors);
        let keywords = req.keywords.map(|k| keywords(k, &mut errors));
        let status = match req.status.as_deref().map(CampaignStatus::parse) {
            None => None,
            Some(Some(s)) => Some(s),
            Some(None) => {
                errors.push(field(
                    "status",
                    one_of(&CampaignStatus::ALL.map(CampaignStatus::as_str)),
                ));
                None
            }
        };
        match (name, start_date, end_date, budget, target_audience) {
            (Some(name), Some(start_date), Some(end_date), Some(budget), Some(target_audience))
                if errors.is_empty() =>
            {
                Ok(Self {
                    name,
                    description,
                    start_date,
                    end_date,
                    budget,
                    target_audience,
                    keywords,
                    status,
                })
            }
            _ => Err(ApiError::validation(errors)),
        }
    }
}

impl CampaignActionRequest {
    /// The action and its trimmed reason (`None` when blank).
    pub(super) fn parse(self) -> Result<(CampaignAction, Option<String>), ApiError> {
        let mut errors = Vec::new();
        let is_budget = matches!(
            self.action,
            ActionName::Budget | ActionName::BudgetChange | ActionName::UpdateBudget
        );
        let budget = match (is_budget, self.budget.map(Budget::from_amount)) {
            (true, None) => {
                errors.push(field("budget", "is required for a budget change"));
                None
            }
            (true, Some(Err(m))) => {
                errors.push(field("budget", m));
                None
            }
            (true, Some(Ok(b))) => Some(b),
            (false, Some(_)) => {
                errors.push(field("budget", "goes only with action budget"));
                None
            }
            (false, None) => None,
        };
        let reason = self.reason.unwrap_or_default();
        if chars(&reason) > rules::REASON_MAX_CHARS {
            errors.push(field("reason", "must be at most 500 characters"));
        }
        let action = match self.action {
            ActionName::Activate => Some(CampaignAction::Activate),
            ActionName::Resume => Some(CampaignAction::Resume),
            ActionName::Pause => Some(CampaignAction::Pause),
            ActionName::Complete => Some(CampaignAction::Complete),
            ActionName::Budget | ActionName::BudgetChange | ActionName::UpdateBudget => {
                budget.map(CampaignAction::Budget)
            }
        };
        match action {
            Some(a) if errors.is_empty() => {
                let reason = reason.trim();
                Ok((a, (!reason.is_empty()).then(|| reason.to_owned())))
            }
            _ => Err(ApiError::validation(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ApiError) -> Vec<String> {
        e.field_names()
    }

    fn request(body: serde_json::Value) -> CreateCampaignRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn an_empty_request_names_every_required_field() {
        let err = CampaignInput::try_from(request(serde_json::json!({}))).unwrap_err();
        assert_eq!(
            fields(err),
            ["name", "startDate", "endDate", "budget", "targetAudience"]
        );
    }

    #[test]
    fn keywords_are_trimmed_weighted_and_deduplicated_case_insensitively() {
        let mut errors = Vec::new();
        let req: Vec<KeywordRequest> = serde_json::from_value(serde_json::json!([
            " Vote ", { "keyword": "vote", "weight": 2 }, { "keyword": "Ballot", "weight": 0.555 }
        ]))
        .unwrap();
        let out = keywords(req, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            out,
            [
                Keyword {
                    keyword: "Vote".into(),
                    weight: 1.0
                },
                Keyword {
                    keyword: "Ballot".into(),
                    weight: 0.56
                },
            ]
        );
    }

    #[test]
    fn dates_are_rfc3339_or_a_bare_day_at_midnight_utc() {
        assert_eq!(
            parse_instant("2026-03-01"),
            parse_instant("2026-03-01T00:00:00Z")
        );
        assert_eq!(
            parse_instant("2026-03-01T02:00:00+02:00"),
            parse_instant("2026-03-01T00:00:00Z")
        );
        assert!(parse_instant("March 1st").is_none());
        assert!(parse_instant("2026-02-30").is_none());
    }

    #[test]
    fn a_budget_goes_with_a_budget_change_only() {
        let parse = |v: serde_json::Value| {
            serde_json::from_value::<CampaignActionRequest>(v)
                .unwrap()
                .parse()
        };
        assert!(parse(serde_json::json!({ "action": "pause", "budget": 500 })).is_err());
        assert!(parse(serde_json::json!({ "action": "updateBudget" })).is_err());
        let (action, reason) =
            parse(serde_json::json!({ "action": "budget_change", "budget": 500, "reason": "  " }))
                .unwrap();
        assert_eq!(
            action,
            CampaignAction::Budget(Budget::from_amount(500.0).unwrap())
        );
        assert_eq!(reason, None);
    }
}
