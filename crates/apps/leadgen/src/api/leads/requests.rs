//! The requests of `/api/leads` and their checks. Fields are lenient where the contract is
//! strict (a missing field is an `Option`, enum values are strings) so that one 400 names
//! every offending field; `TryFrom` turns a request into the domain's checked input.

use platform::{
    ApiError,
    identity::{is_valid_email, normalize_email},
    validate::{LIMIT_DEFAULT, LIMIT_MAX, PAGE_MAX, Problems, present},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::leads::{
    Contact, LeadCursor, LeadPatch, LeadQuery, LeadSort, LeadSource, LeadStatus, NewLead, names,
};

/// Longest name, title, company, location or industry.
const TEXT_MAX: usize = 200;
const WEBSITE_MAX: usize = 255;
const NOTES_MAX: usize = 5000;
const NOTE_MAX: usize = 2000;
const TAGS_MAX: usize = 20;
const TAG_MAX: usize = 50;
/// Longest `q`.
const QUERY_MAX: usize = 200;

/// `GET /api/leads`'s query.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct ListLeadsQuery {
    /// Only leads with this status.
    #[param(value_type = Option<LeadStatus>)]
    pub status: Option<String>,
    /// Only leads from this source.
    #[param(value_type = Option<LeadSource>)]
    pub source: Option<String>,
    /// Only leads with this tag (case-insensitive).
    pub tag: Option<String>,
    /// Text found anywhere in the email, name, company or title (case-insensitive).
    pub q: Option<String>,
    /// Score at least this (0 to 100).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 100)]
    pub min_score: Option<String>,
    /// Score at most this (0 to 100).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 100)]
    pub max_score: Option<String>,
    /// `-createdAt` (default, newest first), `createdAt`, `-updatedAt`, `updatedAt`, `-score`
    /// (best first) or `score`.
    #[param(value_type = Option<String>, pattern = "^-?(createdAt|updatedAt|score)$")]
    pub sort: Option<String>,
    /// The previous page's `nextCursor`, for the page after it in the same sort (not with
    /// `page`).
    pub cursor: Option<String>,
    /// Page number, from 1 (pages by offset; `cursor` is cheaper deep in the list).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000000)]
    pub page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// A whole number in `range`, or a problem naming `name`.
fn number(
    p: &mut Problems,
    name: &str,
    raw: Option<&str>,
    range: std::ops::RangeInclusive<u64>,
) -> Option<u64> {
    let raw = raw?;
    match raw.parse::<u64>() {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            let (lo, hi) = (range.start(), range.end());
            p.push(name, format!("must be a whole number from {lo} to {hi}"));
            None
        }
    }
}

fn one_of<T: Copy>(
    p: &mut Problems,
    name: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    all: &[T],
    label: impl Fn(T) -> &'static str,
) -> Option<T> {
    let raw = raw?;
    let v = parse(raw);
    if v.is_none() {
        p.push(name, format!("must be one of: {}", names(all, label)));
    }
    v
}

impl TryFrom<ListLeadsQuery> for LeadQuery {
    type Error = ApiError;

    fn try_from(q: ListLeadsQuery) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let status = one_of(
            &mut p,
            "status",
            q.status.as_deref(),
            LeadStatus::parse,
            &LeadStatus::ALL,
            LeadStatus::as_str,
        );
        let source = one_of(
            &mut p,
            "source",
            q.source.as_deref(),
            LeadSource::parse,
            &LeadSource::ALL,
            LeadSource::as_str,
        );
        let min = number(&mut p, "minScore", q.min_score.as_deref(), 0..=100);
        let max = number(&mut p, "maxScore", q.max_score.as_deref(), 0..=100);
        if let (Some(lo), Some(hi)) = (min, max) {
            p.require(lo <= hi, "minScore", "must not be above maxScore");
        }
        let page = number(&mut p, "page", q.page.as_deref(), 1..=PAGE_MAX);
        let limit = number(&mut p, "limit", q.limit.as_deref(), 1..=LIMIT_MAX);
        let sort = match q.sort.as_deref() {
            None => LeadSort::default(),
            Some(raw) => LeadSort::parse(raw).unwrap_or_else(|| {
                let all = LeadSort::NAMES.join(", ");
                p.push("sort", format!("must be one of: {all}"));
                LeadSort::default()
            }),
        };
        let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
        p.require(
            text.is_none_or(|t| t.chars().count() <= QUERY_MAX),
            "q",
            format!("must be at most {QUERY_MAX} characters"),
        );
        let tag = q.tag.as_deref().map(|t| t.trim().to_lowercase());
        p.require(
            tag.as_ref()
                .is_none_or(|t| (1..=TAG_MAX).contains(&t.chars().count())),
            "tag",
            format!("must be 1 to {TAG_MAX} characters"),
        );
        p.require(
            !(page.is_some() && q.cursor.is_some()),
            "page",
            "is not given with cursor (the cursor says where the page starts)",
        );
        let cursor = match q.cursor.as_deref() {
            Some(c) if p.is_empty() => Some(LeadCursor::decode(c, sort)?),
            _ => None,
        };
        p.or_value(Self {
            status,
            source,
            tag,
            text: text.map(str::to_lowercase),
            min_score: min.map(|n| n as i32),
            max_score: max.map(|n| n as i32),
            sort,
            cursor,
            limit: limit.unwrap_or(LIMIT_DEFAULT),
            page: page.unwrap_or(1),
        })
    }
}

/// A lead to create. Only `email` is required; the organization's leads are unique by email
/// (ASCII case-insensitive): a second lead at an address is 409 `already_exists` naming the
/// first (`details.leadId`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@analytical-engines.example", "name": "Ada Lovelace", "title": "CTO", "company": "Analytical Engines", "website": "https://analytical-engines.example", "phone": "+44 20 7123 4567", "location": "London, UK", "industry": "Software", "source": "manual", "tags": ["enterprise", "q3"], "notes": "Met at the spring trade fair."}))]
pub struct CreateLeadRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(required = true, value_type = String, format = "email", max_length = 254)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 200)]
    pub name: Option<String>,
    /// Job title.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 200)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 200)]
    pub company: Option<String>,
    /// A host name or an http(s) URL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 255)]
    pub website: Option<String>,
    /// International format (`+` and the country code); spaces, dashes, dots and brackets are
    /// dropped. Stored as E.164.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 200)]
    pub location: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 200)]
    pub industry: Option<String>,
    /// Default `new`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = LeadStatus)]
    pub status: Option<String>,
    /// Default `manual`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = LeadSource)]
    pub source: Option<String>,
    /// Up to 20, each 1 to 50 characters; lower-cased, duplicates dropped.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>, max_items = 20)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 5000)]
    pub notes: Option<String>,
}

/// Changes to a lead: a field given is set, a field absent is kept, `null` clears an
/// optional field. Each change is recorded on the lead's timeline with who made it; a new
/// `status` also mails the lead's owner. `note` adds a note to the timeline entry.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"status": "contacted", "title": "Chief Technology Officer", "tags": ["enterprise", "q3", "demo-booked"], "note": "Called; demo booked for Tuesday."}))]
pub struct UpdateLeadRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = "email", max_length = 254)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = LeadStatus)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = LeadSource)]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>, max_items = 20)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub notes: Option<Option<String>>,
    /// Reassigns the lead to another member of the organization.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Uuid)]
    pub owner_id: Option<Uuid>,
    /// A note for the timeline (not stored on the lead), 1 to 2,000 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 2000)]
    pub note: Option<String>,
}

/// Trimmed; empty is absent; at most `max` characters.
fn text(p: &mut Problems, name: &str, raw: Option<&str>, max: usize) -> Option<String> {
    let t = raw.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > max {
        p.push(name, format!("must be at most {max} characters"));
        return None;
    }
    Some(t.to_owned())
}

fn email(p: &mut Problems, raw: &str) -> Option<String> {
    let e = normalize_email(raw);
    if is_valid_email(&e) {
        Some(e)
    } else {
        p.push("email", "must be a valid email address");
        None
    }
}

/// `+` and 8 to 15 digits once spaces, dashes, dots and brackets are dropped.
fn phone(p: &mut Problems, raw: Option<&str>) -> Option<String> {
    let raw = raw.map(str::trim).filter(|t| !t.is_empty())?;
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    if platform::phone::is_e164(&compact) {
        Some(compact)
    } else {
        p.push(
            "phone",
            "must be an international number: + and the country code, 8 to 15 digits",
        );
        None
    }
}

/// A host name (`example.com`) or an `http(s)://` URL of one.
fn website(p: &mut Problems, raw: Option<&str>) -> Option<String> {
    let w = text(p, "website", raw, WEBSITE_MAX)?;
    let host = w
        .strip_prefix("https://")
        .or_else(|| w.strip_prefix("http://"))
        .unwrap_or(&w)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let ok = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && !w.chars().any(char::is_whitespace);
    if ok {
        Some(w)
    } else {
        p.push("website", "must be a host name or an http(s) URL");
        None
    }
}

fn tags(p: &mut Problems, raw: Option<&[String]>) -> Vec<String> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    if raw.len() > TAGS_MAX {
        p.push("tags", format!("must be at most {TAGS_MAX} tags"));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let t = t.trim().to_lowercase();
        if !(1..=TAG_MAX).contains(&t.chars().count()) {
            p.push(
                format!("tags[{i}]"),
                format!("must be 1 to {TAG_MAX} characters"),
            );
        } else if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

fn contact(p: &mut Problems, fields: [Option<&str>; 7]) -> Contact {
    let [
        name,
        title,
        company,
        website_raw,
        phone_raw,
        location,
        industry,
    ] = fields;
    Contact {
        name: text(p, "name", name, TEXT_MAX),
        title: text(p, "title", title, TEXT_MAX),
        company: text(p, "company", company, TEXT_MAX),
        website: website(p, website_raw),
        phone: phone(p, phone_raw),
        location: text(p, "location", location, TEXT_MAX),
        industry: text(p, "industry", industry, TEXT_MAX),
    }
}

fn status(p: &mut Problems, raw: Option<&str>) -> Option<LeadStatus> {
    one_of(
        p,
        "status",
        raw,
        LeadStatus::parse,
        &LeadStatus::ALL,
        LeadStatus::as_str,
    )
}

fn source(p: &mut Problems, raw: Option<&str>) -> Option<LeadSource> {
    one_of(
        p,
        "source",
        raw,
        LeadSource::parse,
        &LeadSource::ALL,
        LeadSource::as_str,
    )
}

impl TryFrom<CreateLeadRequest> for NewLead {
    type Error = ApiError;

    fn try_from(r: CreateLeadRequest) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let email = match r.email.as_deref() {
            Some(e) => email(&mut p, e),
            None => {
                p.push("email", "is required");
                None
            }
        };
        let contact = contact(
            &mut p,
            [
                r.name.as_deref(),
                r.title.as_deref(),
                r.company.as_deref(),
                r.website.as_deref(),
                r.phone.as_deref(),
                r.location.as_deref(),
                r.industry.as_deref(),
            ],
        );
        let status = status(&mut p, r.status.as_deref());
        let source = source(&mut p, r.source.as_deref());
        let tags = tags(&mut p, r.tags.as_deref());
        let notes = text(&mut p, "notes", r.notes.as_deref(), NOTES_MAX);
        p.check()?;
        Ok(Self {
            email: email.unwrap_or_default(),
            contact,
            status: status.unwrap_or(LeadStatus::New),
            source: source.unwrap_or(LeadSource::Manual),
            tags,
            notes,
        })
    }
}

/// A patch of an optional text field: absent keeps, `null` or blank clears.
fn clearable(
    p: &mut Problems,
    raw: Option<&Option<String>>,
    check: impl FnOnce(&mut Problems, Option<&str>) -> Option<String>,
) -> Option<Option<String>> {
    let raw = raw?;
    let before = p.fields().len();
    let v = check(p, raw.as_deref());
    // A value refused is no change (the request fails anyway).
    (p.fields().len() == before).then_some(v)
}

impl TryFrom<UpdateLeadRequest> for LeadPatch {
    type Error = ApiError;

    fn try_from(r: UpdateLeadRequest) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let email = r.email.as_deref().and_then(|e| email(&mut p, e));
        let t = |name: &'static str, max: usize| {
            move |p: &mut Problems, raw: Option<&str>| text(p, name, raw, max)
        };
        let patch = Self {
            email,
            name: clearable(&mut p, r.name.as_ref(), t("name", TEXT_MAX)),
            title: clearable(&mut p, r.title.as_ref(), t("title", TEXT_MAX)),
            company: clearable(&mut p, r.company.as_ref(), t("company", TEXT_MAX)),
            website: clearable(&mut p, r.website.as_ref(), website),
            phone: clearable(&mut p, r.phone.as_ref(), phone),
            location: clearable(&mut p, r.location.as_ref(), t("location", TEXT_MAX)),
            industry: clearable(&mut p, r.industry.as_ref(), t("industry", TEXT_MAX)),
            status: status(&mut p, r.status.as_deref()),
            source: source(&mut p, r.source.as_deref()),
            tags: r.tags.as_deref().map(|raw| tags(&mut p, Some(raw))),
            notes: clearable(&mut p, r.notes.as_ref(), t("notes", NOTES_MAX)),
            owner_id: r.owner_id,
            note: None,
        };
        let note = match r.note.as_deref().map(str::trim) {
            None => None,
            Some(n) if (1..=NOTE_MAX).contains(&n.chars().count()) => Some(n.to_owned()),
            Some(_) => {
                p.push("note", format!("must be 1 to {NOTE_MAX} characters"));
                None
            }
        };
        p.or_value(Self { note, ..patch })
    }
}
