//! The target audience of a campaign request (seed 001 `TargetAudience`, `Demographics`, the
//! age range, interests and locations) and its checks.

use platform::validate::{Problems, present};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{chars, required, text_item};
use crate::{
    api::wire::one_of,
    domain::campaigns::{self as rules, AgeRange, Demographics, Gender, Platform, TargetAudience},
};

// Seed 001 `TargetAudience`.
/// Who the campaign is for.
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

// Seed 001 `Demographics`.
/// Who the campaign targets.
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

/// Each value once, in first-seen order; each unknown one recorded by its index.
fn known<T: PartialEq + Copy>(
    values: &[String],
    parse: impl Fn(&str) -> Option<T>,
    name: &str,
    allowed: &str,
    p: &mut Problems,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match parse(v) {
            Some(t) if !out.contains(&t) => out.push(t),
            Some(_) => {}
            None => p.push(format!("{name}[{i}]"), one_of(allowed)),
        }
    }
    out
}

fn audience_items(items: Option<Vec<AudienceItem>>, name: &str, p: &mut Problems) -> Vec<String> {
    let items = items.unwrap_or_default();
    if items.len() > rules::AUDIENCE_ITEMS_MAX {
        p.push(name, format!("at most {} items", rules::AUDIENCE_ITEMS_MAX));
    }
    let mut out = Vec::new();
    for (i, AudienceItem(s)) in items.iter().enumerate() {
        match text_item(s, rules::AUDIENCE_ITEM_CHARS) {
            Some(t) => out.push(t),
            None => p.push(
                format!("{name}[{i}]"),
                "must be 1 to 100 characters, not blank",
            ),
        }
    }
    out
}

fn demographic_text(v: Option<String>, name: &str, p: &mut Problems) -> String {
    let v = v.unwrap_or_default();
    if chars(&v) > rules::DEMOGRAPHIC_TEXT_MAX_CHARS {
        p.push(name, "must be at most 100 characters");
    }
    v
}

fn age(v: Option<i64>, name: &str, p: &mut Problems) -> Option<u32> {
    match v {
        None => {
            required(p, name);
            None
        }
        Some(n) if rules::AGES.contains(&n) => u32::try_from(n).ok(),
        Some(_) => {
            p.push(name, "must be 13 to 120");
            None
        }
    }
}

pub(super) fn target_audience(
    req: Option<TargetAudienceRequest>,
    p: &mut Problems,
) -> Option<TargetAudience> {
    let Some(req) = req else {
        required(p, "targetAudience");
        return None;
    };
    let demographics = match req.demographics {
        None => {
            required(p, "targetAudience.demographics");
            None
        }
        Some(d) => {
            let at = "targetAudience.demographics";
            let range = match d.age_range {
                None => {
                    required(p, &format!("{at}.ageRange"));
                    None
                }
                Some(r) => {
                    let min = age(r.min, &format!("{at}.ageRange.min"), p);
                    let max = age(r.max, &format!("{at}.ageRange.max"), p);
                    match (min, max) {
                        (Some(min), Some(max)) if min > max => {
                            p.push(format!("{at}.ageRange"), "min must not exceed max");
                            None
                        }
                        (Some(min), Some(max)) => Some(AgeRange { min, max }),
                        _ => None,
                    }
                }
            };
            let gender = known(
                &d.gender.unwrap_or_default(),
                Gender::parse,
                &format!("{at}.gender"),
                &Gender::names(),
                p,
            );
            let income = demographic_text(d.income, &format!("{at}.income"), p);
            let education = demographic_text(d.education, &format!("{at}.education"), p);
            range.map(|age_range| Demographics {
                age_range,
                gender,
                income,
                education,
            })
        }
    };
    let interests = audience_items(req.interests, "targetAudience.interests", p);
    let locations = audience_items(req.locations, "targetAudience.locations", p);
    let platforms = match req.platforms {
        None => {
            required(p, "targetAudience.platforms");
            Vec::new()
        }
        Some(list) if list.is_empty() => {
            p.push(
                "targetAudience.platforms",
                "must name at least one platform",
            );
            Vec::new()
        }
        Some(list) => known(
            &list,
            Platform::parse,
            "targetAudience.platforms",
            &Platform::names(),
            p,
        ),
    };
    Some(TargetAudience {
        demographics: demographics?,
        interests,
        locations,
        platforms,
    })
}
