//! The read endpoints' query parameters and their checks: the time window (`start`/`end` or
//! `hours`, capped), the campaign and platform scope, paging, filters and the feed cursor.
//! Values arrive as text, so a bad one is a 400 naming it rather than a query that fails to
//! parse; each check records its problem in `Problems`, so one 400 lists them all. `TryFrom`
//! turns each endpoint's parameters into the domain's checked query.

use std::ops::RangeInclusive;

use chrono::{DateTime, Duration, Utc};
use platform::{
    ApiError,
    validate::{LIMIT_MAX, PageQuery, Paging, Problems},
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    api::wire::{optional, parse_instant},
    domain::{
        analytics::{
            Cursor, FeedQuery, HOURS_DEFAULT, HOURS_MAX, Interval, MentionQuery, MentionsQuery,
            Scope, ScopePage, SentimentQuery, TEXT_MAX_CHARS, TopQuery, WINDOW_MAX_DAYS, Window,
        },
        campaigns::CampaignId,
        sentiment::SentimentLabel,
    },
};

/// Items per page of the mention and location lists.
pub const PAGE_LIMIT_DEFAULT: u64 = 20;
/// Authors per page of the influencer list.
pub const INFLUENCERS_LIMIT_DEFAULT: u64 = 10;
/// Terms of the trending list.
pub const TOP_LIMIT_DEFAULT: u64 = 10;
/// Mentions per answer of the feed.
pub const FEED_LIMIT_DEFAULT: u64 = 50;

/// `campaignId`: one campaign's mentions, or every campaign's when absent.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct CampaignParams {
    /// Only this campaign's mentions (every campaign's when absent); an unknown one is 404.
    #[param(value_type = Option<uuid::Uuid>)]
    pub campaign_id: Option<String>,
}

/// The time window, `[start, end)`, and the platform.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowParams {
    /// Window start: RFC 3339, or `YYYY-MM-DD` (midnight UTC). Not with `hours`; at most 90
    /// days before `end`.
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    pub start: Option<String>,
    /// Window end, exclusive (default now).
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    pub end: Option<String>,
    /// The window's length in hours before `end`, 1 to 720 (default 24). Not with `start`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 720)]
    pub hours: Option<String>,
    /// Only mentions on this platform (case-insensitive).
    #[param(min_length = 1, max_length = 200)]
    pub platform: Option<String>,
}

/// `?page&limit`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000000)]
    pub page: Option<String>,
    /// Items per page, 1 to 100 (default 20; 10 for influencers).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// `?limit` of a top-N list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// How many, 1 to 100 (default 10).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// What a mention list may narrow to.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MentionFilterParams {
    /// Only mentions with this sentiment label.
    #[param(value_type = Option<SentimentLabel>)]
    pub sentiment: Option<String>,
    /// Only mentions whose text contains this (case-insensitive).
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    /// Only mentions that matched this keyword or competitor, or whose text contains it.
    #[param(min_length = 1, max_length = 200)]
    pub keyword: Option<String>,
}

/// `?interval` of a time series.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntervalParams {
    /// Bucket size: `hour` or `day` (default `hour` for windows up to 72 hours, else `day`).
    #[param(value_type = Option<Interval>)]
    pub interval: Option<String>,
}

/// The feed's cursor and size.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Only mentions that arrived after this: the `cursor` of the previous answer (a mention
    /// id) or an RFC 3339 instant.
    #[param(min_length = 1, max_length = 64)]
    pub since: Option<String>,
    /// How many, 1 to 100 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only mentions on this platform (case-insensitive).
    #[param(min_length = 1, max_length = 200)]
    pub platform: Option<String>,
}

impl WindowParams {
    /// The scope of `campaign` over this window and platform.
    fn scope(&self, p: &mut Problems, campaign: Option<CampaignId>) -> Scope {
        Scope {
            campaign,
            window: window(
                p,
                self.start.as_deref(),
                self.end.as_deref(),
                self.hours.as_deref(),
                Utc::now(),
            ),
            platform: text(p, "platform", self.platform.as_deref()),
        }
    }
}

/// `campaignId`, the window and the platform, checked.
fn scope(p: &mut Problems, c: &CampaignParams, w: &WindowParams) -> Scope {
    let campaign = campaign(p, c.campaign_id.as_deref());
    w.scope(p, campaign)
}

impl TryFrom<(CampaignParams, WindowParams)> for Scope {
    type Error = ApiError;

    fn try_from((c, w): (CampaignParams, WindowParams)) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let scope = scope(&mut p, &c, &w);
        p.or_value(scope)
    }
}

impl TryFrom<(CampaignId, WindowParams)> for Scope {
    type Error = ApiError;

    /// One campaign's scope (`/integrations/mentionlytics/{campaignId}`).
    fn try_from((campaign, w): (CampaignId, WindowParams)) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let scope = w.scope(&mut p, Some(campaign));
        p.or_value(scope)
    }
}

impl
    TryFrom<(
        CampaignParams,
        WindowParams,
        PageParams,
        MentionFilterParams,
    )> for MentionsQuery
{
    type Error = ApiError;

    fn try_from(
        (c, w, page, f): (
            CampaignParams,
            WindowParams,
            PageParams,
            MentionFilterParams,
        ),
    ) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let scope = scope(&mut p, &c, &w);
        let paging = paging(&mut p, &page, PAGE_LIMIT_DEFAULT);
        let filter = MentionQuery {
            sentiment: sentiment(&mut p, f.sentiment.as_deref()),
            text: text(&mut p, "q", f.q.as_deref()),
            keyword: text(&mut p, "keyword", f.keyword.as_deref()),
        };
        p.or_value(Self {
            scope,
            filter,
            paging,
        })
    }
}

impl TryFrom<(CampaignParams, WindowParams, IntervalParams)> for SentimentQuery {
    type Error = ApiError;

    fn try_from(
        (c, w, i): (CampaignParams, WindowParams, IntervalParams),
    ) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let scope = scope(&mut p, &c, &w);
        let interval = interval(&mut p, i.interval.as_deref(), &scope.window);
        p.or_value(Self { scope, interval })
    }
}

impl TryFrom<(CampaignParams, WindowParams, LimitParams)> for TopQuery {
    type Error = ApiError;

    fn try_from((c, w, l): (CampaignParams, WindowParams, LimitParams)) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let scope = scope(&mut p, &c, &w);
        let limit = limit(&mut p, l.limit.as_deref(), TOP_LIMIT_DEFAULT);
        p.or_value(Self { scope, limit })
    }
}

impl TryFrom<(CampaignParams, WindowParams, PageParams, u64)> for ScopePage {
    type Error = ApiError;

    /// The scope and the page, `limit` defaulting to the last value.
    fn try_from(
        (c, w, page, default_limit): (CampaignParams, WindowParams, PageParams, u64),
    ) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let scope = scope(&mut p, &c, &w);
        let paging = paging(&mut p, &page, default_limit);
        p.or_value(Self { scope, paging })
    }
}

impl TryFrom<(CampaignParams, FeedParams)> for FeedQuery {
    type Error = ApiError;

    fn try_from((c, f): (CampaignParams, FeedParams)) -> Result<Self, ApiError> {
        let mut p = Problems::new();
        let query = Self {
            campaign: campaign(&mut p, c.campaign_id.as_deref()),
            platform: text(&mut p, "platform", f.platform.as_deref()),
            since: cursor(&mut p, f.since.as_deref()),
            limit: limit(&mut p, f.limit.as_deref(), FEED_LIMIT_DEFAULT),
        };
        p.or_value(query)
    }
}

/// Seed 001's window parameters: `start` (with `end`, default `now`), or `hours` before `end`
/// (default 24 before now). `hours` and `start` together are refused: they would disagree.
fn window(
    p: &mut Problems,
    start: Option<&str>,
    end: Option<&str>,
    hours: Option<&str>,
    now: DateTime<Utc>,
) -> Window {
    let start = start.and_then(|s| instant(p, "start", s));
    let end_at = end.and_then(|s| instant(p, "end", s));
    let hours = hours.and_then(|h| int(p, "hours", h, 1..=HOURS_MAX));
    let end = end_at.unwrap_or(now);
    let fallback = Window::last_hours(end, HOURS_DEFAULT);
    match (start, hours) {
        (Some(_), Some(_)) => {
            p.push("hours", "give either hours or start, not both");
            fallback
        }
        (Some(start), None) => {
            if start >= end {
                p.push("start", "must be before end");
                fallback
            } else if end - start > Duration::days(WINDOW_MAX_DAYS) {
                p.push(
                    "start",
                    format!("the window may span at most {WINDOW_MAX_DAYS} days"),
                );
                fallback
            } else {
                Window { start, end }
            }
        }
        (None, Some(h)) => Window::last_hours(end, h),
        (None, None) => fallback,
    }
}

/// An RFC 3339 instant, or a bare `YYYY-MM-DD` meaning midnight UTC.
fn instant(p: &mut Problems, field: &str, raw: &str) -> Option<DateTime<Utc>> {
    let parsed = parse_instant(raw.trim());
    p.require(
        parsed.is_some(),
        field,
        "must be an RFC 3339 date-time (2026-03-01T12:00:00Z) or a date (2026-03-01)",
    );
    parsed
}

/// A whole number in `range`.
fn int<T>(p: &mut Problems, field: &str, raw: &str, range: RangeInclusive<T>) -> Option<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match raw.trim().parse::<T>() {
        Ok(v) if range.contains(&v) => Some(v),
        _ => {
            p.push(
                field,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

/// `limit` of a top-N list (1 to 100, default `default`).
fn limit(p: &mut Problems, raw: Option<&str>, default: u64) -> u64 {
    raw.and_then(|r| int(p, "limit", r, 1..=LIMIT_MAX))
        .unwrap_or(default)
}

/// A whole number, when given.
fn whole(p: &mut Problems, field: &str, raw: Option<&str>) -> Option<u64> {
    let read = |s: &str| s.trim().parse::<u64>().ok();
    optional(p, field, raw, read, "must be a whole number")
}

/// `page` and `limit` as whole numbers, then bounded as every list bounds them.
fn paging(p: &mut Problems, q: &PageParams, default_limit: u64) -> Paging {
    let page = whole(p, "page", q.page.as_deref());
    let limit = whole(p, "limit", q.limit.as_deref());
    PageQuery { page, limit }.check(p, default_limit)
}

/// `campaignId`: a UUID (whether the campaign exists is the service's check: 404).
fn campaign(p: &mut Problems, raw: Option<&str>) -> Option<CampaignId> {
    let id = CampaignId::parse(raw?.trim());
    p.require(id.is_some(), "campaignId", "must be a campaign id (a UUID)");
    id
}

/// A free-text parameter: trimmed, 1 to 200 characters, lowercased for matching.
fn text(p: &mut Problems, field: &str, raw: Option<&str>) -> Option<String> {
    let s = raw?.trim();
    if s.is_empty() {
        p.push(field, "must not be blank");
        return None;
    }
    if s.chars().count() > TEXT_MAX_CHARS {
        p.push(
            field,
            format!("must be at most {TEXT_MAX_CHARS} characters"),
        );
        return None;
    }
    Some(s.to_lowercase())
}

/// `sentiment`: `positive`, `neutral` or `negative`.
fn sentiment(p: &mut Problems, raw: Option<&str>) -> Option<SentimentLabel> {
    let label = |s: &str| SentimentLabel::parse(&s.trim().to_ascii_lowercase());
    optional(
        p,
        "sentiment",
        raw,
        label,
        "must be positive, neutral or negative",
    )
}

/// `interval`: `hour` or `day` (default by the window's length).
fn interval(p: &mut Problems, raw: Option<&str>, w: &Window) -> Interval {
    let Some(raw) = raw else {
        return Interval::for_window(w);
    };
    let interval = Interval::parse(&raw.trim().to_ascii_lowercase());
    p.require(interval.is_some(), "interval", "must be hour or day");
    interval.unwrap_or_else(|| Interval::for_window(w))
}

/// `since`: a mention id or an RFC 3339 instant.
fn cursor(p: &mut Problems, raw: Option<&str>) -> Option<Cursor> {
    let read = |s: &str| {
        let s = s.trim();
        let id = Uuid::parse_str(s).map(Cursor::Mention).ok();
        id.or_else(|| parse_instant(s).map(Cursor::At))
    };
    let rule = "must be a mention id or an RFC 3339 date-time";
    optional(p, "since", raw, read, rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        at("2026-03-10T12:00:00Z")
    }

    #[test]
    fn no_window_parameters_mean_the_last_24_hours() {
        let mut p = Problems::new();
        let w = window(&mut p, None, None, None, now());
        assert!(p.is_empty());
        assert_eq!(w.start, at("2026-03-09T12:00:00Z"));
        assert_eq!(w.end, now());
    }

    #[test]
    fn hours_count_back_from_end() {
        let mut p = Problems::new();
        let w = window(&mut p, None, Some("2026-03-01"), Some("6"), now());
        assert!(p.is_empty());
        assert_eq!(w.start, at("2026-02-28T18:00:00Z"));
        assert_eq!(w.end, at("2026-03-01T00:00:00Z"));
    }

    #[test]
    fn start_alone_runs_until_now() {
        let mut p = Problems::new();
        let w = window(&mut p, Some("2026-03-08T00:00:00+02:00"), None, None, now());
        assert!(p.is_empty());
        assert_eq!(w.start, at("2026-03-07T22:00:00Z"));
        assert_eq!(w.end, now());
    }

    #[test]
    fn bad_window_values_are_named() {
        for (start, end, hours, field) in [
            (None, None, Some("0"), "hours"),
            (None, None, Some("721"), "hours"),
            (None, None, Some("2.5"), "hours"),
            (Some("yesterday"), None, None, "start"),
            (None, Some("2026-13-01"), None, "end"),
            (Some("2026-03-10"), Some("2026-03-09"), None, "start"),
            (Some("2025-12-01"), Some("2026-03-10"), None, "start"),
            (Some("2026-03-09"), None, Some("5"), "hours"),
        ] {
            let mut p = Problems::new();
            window(&mut p, start, end, hours, now());
            assert_eq!(p.fields(), [field], "{start:?} {end:?} {hours:?}");
        }
    }

    #[test]
    fn a_window_of_exactly_90_days_is_allowed() {
        let mut p = Problems::new();
        window(&mut p, Some("2025-12-10"), Some("2026-03-10"), None, now());
        assert!(p.is_empty());
    }

    #[test]
    fn paging_names_each_bad_value_once() {
        let page = |page: Option<&str>, limit: Option<&str>| PageParams {
            page: page.map(str::to_owned),
            limit: limit.map(str::to_owned),
        };
        let mut p = Problems::new();
        let got = paging(&mut p, &page(None, None), 20);
        assert_eq!((got.page, got.limit), (1, 20));
        let got = paging(&mut p, &page(Some("3"), Some("100")), 20);
        assert_eq!((got.page, got.limit), (3, 100));
        assert!(p.is_empty());
        paging(&mut p, &page(Some("0"), Some("101")), 20);
        assert_eq!(p.fields(), ["page", "limit"]);
        let mut p = Problems::new();
        paging(&mut p, &page(Some("x"), Some("-1")), 20);
        assert_eq!(p.fields(), ["page", "limit"]);
    }

    #[test]
    fn a_cursor_is_a_mention_id_or_an_instant() {
        let mut p = Problems::new();
        let id = Uuid::now_v7();
        assert_eq!(
            cursor(&mut p, Some(&id.to_string())),
            Some(Cursor::Mention(id))
        );
        assert_eq!(
            cursor(&mut p, Some("2026-03-10T11:00:00Z")),
            Some(Cursor::At(at("2026-03-10T11:00:00Z")))
        );
        assert!(p.is_empty());
        assert_eq!(cursor(&mut p, Some("soon")), None);
        assert_eq!(p.fields(), ["since"]);
    }

    #[test]
    fn texts_are_trimmed_lowercased_and_never_blank() {
        let mut p = Problems::new();
        assert_eq!(
            text(&mut p, "q", Some("  Jobs Plan ")),
            Some("jobs plan".into())
        );
        assert_eq!(text(&mut p, "q", Some("   ")), None);
        assert_eq!(text(&mut p, "q", Some(&"x".repeat(201))), None);
        assert_eq!(p.fields(), ["q", "q"]);
    }

    #[test]
    fn sentiment_values_are_the_three_labels() {
        let mut p = Problems::new();
        assert_eq!(
            sentiment(&mut p, Some("Negative")),
            Some(SentimentLabel::Negative)
        );
        assert_eq!(sentiment(&mut p, Some("angry")), None);
        assert_eq!(p.fields(), ["sentiment"]);
    }
}
