//! The requests of `/api/v1/campaigns` and their checks. Bodies are lenient where the seed is
//! strict (a missing field is an `Option`, enum values are strings) so that one 400 names
//! every offending field; `TryFrom` turns a request into the domain's checked input. The
//! target audience's part is `audience`.

mod audience;

use platform::{
    ApiError,
    keyset::Cursor,
    validate::{PageQuery, Problems, present},
};
use serde::{Deserialize, de::IgnoredAny};
use utoipa::{IntoParams, ToSchema};

use self::audience::target_audience;
pub use self::audience::{
    AgeRangeRequest, AudienceItem, DemographicsRequest, TargetAudienceRequest,
};

use crate::{
    api::wire::{one_of, optional, parse_instant},
    domain::campaigns::{
        self as rules, ActionInput, Budget, CampaignAction, CampaignInput, CampaignQuery,
        CampaignStatus, Keyword,
    },
};

/// `GET /campaigns`'s filter (beside `?page&limit`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCampaignsQuery {
    /// Only campaigns with this status.
    #[param(value_type = Option<CampaignStatus>)]
    pub status: Option<String>,
    /// Basalt's addition: the previous page's `nextCursor`, to read the page after it by
    /// keyset (stable while campaigns are added; `page` is not given with it).
    pub cursor: Option<String>,
}

impl TryFrom<(PageQuery, ListCampaignsQuery)> for CampaignQuery {
    type Error = ApiError;

    fn try_from((page, q): (PageQuery, ListCampaignsQuery)) -> Result<Self, ApiError> {
        let with_page = page.page.is_some();
        let paging = page.paging()?;
        let mut p = Problems::new();
        let raw = q.status.as_deref();
        let rule = one_of(&CampaignStatus::names());
        let status = optional(&mut p, "status", raw, CampaignStatus::parse, rule);
        let cursor = q
            .cursor
            .as_deref()
            .map(|text| Cursor::decode(text, "cursor"))
            .transpose()?;
        p.require(
            !(with_page && cursor.is_some()),
            "page",
            "is not given with cursor (the cursor says where the page starts)",
        );
        p.or_value(Self {
            status,
            paging,
            cursor,
        })
    }
}

// Seed 001 `CreateCampaignRequest`, plus optional `keywords`.
/// A campaign to create, or its new fields (the body of `PUT` too), with optional `keywords`.
/// `endDate` must be after `startDate`.
/// The read-only fields of a `Campaign` (`id`, `metrics`, `createdAt`, …) are accepted and
/// ignored, so a fetched campaign can be sent back whole; its `status`, when sent, must be
/// the campaign's current one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Spring Voter Outreach", "description": "Turnout drive in the metro area.", "startDate": "2030-03-01T00:00:00Z", "endDate": "2030-06-30T23:59:59Z", "budget": 25000, "targetAudience": {"demographics": {"ageRange": {"min": 18, "max": 65}, "gender": ["all"]}, "interests": ["local politics"], "locations": ["Springfield"], "platforms": ["twitter", "facebook"]}, "keywords": ["voter turnout", {"keyword": "early voting", "weight": 2}]}))]
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
/// `reason` is kept in the audit trail. Its schema is written by hand (below).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignActionRequest {
    pub action: ActionName,
    #[serde(default, deserialize_with = "present")]
    pub budget: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    pub reason: Option<String>,
}

/// Written by hand so that the document states the cross-field rule the server enforces: a
/// budget change requires `budget` and every other action refuses it, i.e. `oneOf` two
/// objects told apart by `action` (a derived schema could only say "budget: optional").
impl utoipa::__dev::ComposeSchema for CampaignActionRequest {
    fn compose(
        _: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{
            ObjectBuilder, Type,
            schema::{AdditionalProperties, KnownFormat, OneOfBuilder, SchemaFormat, SchemaType},
        };
        let actions = |names: &[&str]| {
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .enum_values(Some(names.iter().copied()))
        };
        let reason = || {
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .max_length(Some(rules::REASON_MAX_CHARS))
                .description(Some("Why, kept in the audit trail."))
        };
        let status_change = ObjectBuilder::new()
            .description(Some(
                "A change of status: `activate` (or `resume`, the same), `pause`, `complete`; \
                 no `budget`.",
            ))
            .property(
                "action",
                actions(&["activate", "resume", "pause", "complete"]),
            )
            .required("action")
            .property("reason", reason())
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .examples([
                serde_json::json!({"action": "pause", "reason": "Waiting for the new creative"}),
            ]);
        let budget_change = ObjectBuilder::new()
            .description(Some(
                "A new budget (`budget`, or its spellings `budget_change` and `updateBudget`): \
                 `budget` is required.",
            ))
            .property(
                "action",
                actions(&["budget", "budget_change", "updateBudget"]),
            )
            .required("action")
            .property(
                "budget",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Number))
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
                    .minimum(Some(100.0))
                    .maximum(Some(1_000_000.0)),
            )
            .required("budget")
            .property("reason", reason())
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .description(Some(
                "An action on a campaign. `budget` goes with (and only with) a budget change.",
            ))
            .item(status_change)
            .item(budget_change)
            .into()
    }
}

impl ToSchema for CampaignActionRequest {}

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

pub(super) fn required(p: &mut Problems, name: &str) {
    p.push(name, "is required");
}

pub(super) fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Not blank, within `range` characters as sent; returned trimmed.
pub(super) fn text_item(s: &str, range: std::ops::RangeInclusive<usize>) -> Option<String> {
    let trimmed = s.trim();
    (range.contains(&chars(s)) && !trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Trimmed, weighted (1.0 by default, rounded to two decimals), case-insensitive duplicates
/// dropped (the first one stays).
fn keywords(req: Vec<KeywordRequest>, p: &mut Problems) -> Vec<Keyword> {
    if req.len() > rules::KEYWORDS_MAX {
        p.push(
            "keywords",
            format!("at most {} keywords", rules::KEYWORDS_MAX),
        );
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
                p.push(format!("keywords[{i}].weight"), "must be 0 to 9.99");
                None
            }
        };
        let Some(text) = text_item(&text, rules::KEYWORD_CHARS) else {
            p.push(text_field, "must be 1 to 255 characters, not blank");
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
        let mut p = Problems::new();
        let name = match req.name {
            None => {
                required(&mut p, "name");
                None
            }
            Some(n) if rules::NAME_CHARS.contains(&chars(&n)) && !n.trim().is_empty() => Some(n),
            Some(_) => {
                p.push("name", "must be 3 to 100 characters, not blank");
                None
            }
        };
        let description = req.description.unwrap_or_default();
        if chars(&description) > rules::DESCRIPTION_MAX_CHARS {
            p.push("description", "must be at most 1000 characters");
        }
        let mut instant = |v: Option<String>, name: &str| match v.as_deref().map(parse_instant) {
            None => {
                required(&mut p, name);
                None
            }
            Some(None) => {
                p.push(name, "must be an ISO-8601 date-time");
                None
            }
            Some(Some(t)) => Some(t),
        };
        let start_date = instant(req.start_date, "startDate");
        let end_date = instant(req.end_date, "endDate");
        if let (Some(s), Some(e)) = (start_date, end_date)
            && e <= s
        {
            p.push("endDate", "must be after startDate");
        }
        let budget = match req.budget.map(Budget::from_amount) {
            None => {
                required(&mut p, "budget");
                None
            }
            Some(Err(m)) => {
                p.push("budget", m);
                None
            }
            Some(Ok(b)) => Some(b),
        };
        let target_audience = target_audience(req.target_audience, &mut p);
        let keywords = req.keywords.map(|k| keywords(k, &mut p));
        let status = match req.status.as_deref().map(CampaignStatus::parse) {
            None => None,
            Some(Some(s)) => Some(s),
            Some(None) => {
                p.push("status", one_of(&CampaignStatus::names()));
                None
            }
        };
        match (name, start_date, end_date, budget, target_audience) {
            (Some(name), Some(start_date), Some(end_date), Some(budget), Some(target_audience)) => {
                p.or_value(Self {
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
            _ => Err(ApiError::validation(p.into())),
        }
    }
}

impl TryFrom<CampaignActionRequest> for ActionInput {
    type Error = ApiError;

    /// The action, with its budget when it is a budget change, and its trimmed reason
    /// (`None` when blank).
    fn try_from(req: CampaignActionRequest) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let is_budget = matches!(
            req.action,
            ActionName::Budget | ActionName::BudgetChange | ActionName::UpdateBudget
        );
        let budget = match (is_budget, req.budget.map(Budget::from_amount)) {
            (true, None) => {
                p.push("budget", "is required for a budget change");
                None
            }
            (true, Some(Err(m))) => {
                p.push("budget", m);
                None
            }
            (true, Some(Ok(b))) => Some(b),
            (false, Some(_)) => {
                p.push("budget", "goes only with action budget");
                None
            }
            (false, None) => None,
        };
        let reason = req.reason.unwrap_or_default();
        if chars(&reason) > rules::REASON_MAX_CHARS {
            p.push("reason", "must be at most 500 characters");
        }
        let action = match req.action {
            ActionName::Activate => Some(CampaignAction::Activate),
            ActionName::Resume => Some(CampaignAction::Resume),
            ActionName::Pause => Some(CampaignAction::Pause),
            ActionName::Complete => Some(CampaignAction::Complete),
            ActionName::Budget | ActionName::BudgetChange | ActionName::UpdateBudget => {
                budget.map(CampaignAction::Budget)
            }
        };
        let reason = reason.trim();
        match action {
            Some(action) => p.or_value(Self {
                action,
                reason: (!reason.is_empty()).then(|| reason.to_owned()),
            }),
            None => Err(ApiError::validation(p.into())),
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
        let mut p = Problems::new();
        let req: Vec<KeywordRequest> = serde_json::from_value(serde_json::json!([
            " Vote ", { "keyword": "vote", "weight": 2 }, { "keyword": "Ballot", "weight": 0.555 }
        ]))
        .unwrap();
        let out = keywords(req, &mut p);
        assert!(p.is_empty(), "{p:?}");
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
    fn a_budget_goes_with_a_budget_change_only() {
        let parse = |v: serde_json::Value| {
            ActionInput::try_from(serde_json::from_value::<CampaignActionRequest>(v).unwrap())
        };
        assert!(parse(serde_json::json!({ "action": "pause", "budget": 500 })).is_err());
        assert!(parse(serde_json::json!({ "action": "updateBudget" })).is_err());
        let input =
            parse(serde_json::json!({ "action": "budget_change", "budget": 500, "reason": "  " }))
                .unwrap();
        assert_eq!(
            input.action,
            CampaignAction::Budget(Budget::from_amount(500.0).unwrap())
        );
        assert_eq!(input.reason, None);
    }
}
