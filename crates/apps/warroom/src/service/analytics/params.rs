//! The read endpoints' query parameters, checked: the time window (`start`/`end` or `hours`,
//! capped), the campaign and platform scope, paging, filters and the feed cursor. Each check
//! records what is wrong with the parameter by name in `Problems`, so one 400 lists them all.

use std::ops::RangeInclusive;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use platform::{ApiError, error::FieldError};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::service::{campaigns::CampaignId, sentiment::SentimentLabel};

/// The window when neither `start` nor `hours` is given: the last 24 hours.
pub const HOURS_DEFAULT: i64 = 24;
/// `hours` is 1 to 720 (30 days).
pub const HOURS_MAX: i64 = 720;
/// No window spans more than 90 days, so no read scans unbounded history.
pub const WINDOW_MAX_DAYS: i64 = 90;
/// Pages and top-N lists hold 1 to 100 items.
pub const LIMIT_MAX: u64 = 100;
pub const PAGE_MAX: u64 = 1_000_000;
/// Longest `q`, `keyword` and `platform` values.
pub const TEXT_MAX_CHARS: usize = 200;

/// The parameters found wrong so far.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `invalid_argument` naming every wrong parameter, if there was one.
    pub fn check(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }

    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|f| f.field.as_str()).collect()
    }
}

/// A half-open time window `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TimeWindow)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn length(&self) -> Duration {
        self.end - self.start
    }

    /// The window of the same length just before this one (for growth and change figures).
    pub fn previous(&self) -> Window {
        Window {
            start: self.start - self.length(),
            end: self.start,
        }
    }

    /// The window's last `hours` before `now`.
    pub fn last_hours(now: DateTime<Utc>, hours: i64) -> Window {
        Window {
            start: now - Duration::hours(hours),
            end: now,
        }
    }
}

/// Seed 001's window parameters: `start` (with `end`, default `now`), or `hours` before `end`
/// (default 24 before now). `hours` and `start` together are refused: they would disagree.
pub fn window(
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
pub fn instant(p: &mut Problems, field: &str, raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    let parsed = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            Some(d.and_hms_opt(0, 0, 0)?.and_utc())
        });
    if parsed.is_none() {
        p.push(
            field,
            "must be an RFC 3339 date-time (2026-03-01T12:00:00Z) or a date (2026-03-01)",
        );
    }
    parsed
}

/// A whole number in `range`.
pub fn int<T>(p: &mut Problems, field: &str, raw: &str, range: RangeInclusive<T>) -> Option<T>
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

/// `limit` (1 to 100, default `default`).
pub fn limit(p: &mut Problems, raw: Option<&str>, default: u64) -> u64 {
    raw.and_then(|r| int(p, "limit", r, 1..=LIMIT_MAX))
        .unwrap_or(default)
}

/// `page` (from 1, default 1) and `limit` (1 to 100, default `default`).
pub fn paging(
    p: &mut Problems,
    page: Option<&str>,
    limit: Option<&str>,
    default: u64,
) -> (u64, u64) {
    let page = page
        .and_then(|r| int(p, "page", r, 1..=PAGE_MAX))
        .unwrap_or(1);
    (page, self::limit(p, limit, default))
}

/// `campaignId`: a UUID (whether the campaign exists is the service's check: 404).
pub fn campaign(p: &mut Problems, raw: Option<&str>) -> Option<CampaignId> {
    let raw = raw?;
    let id = CampaignId::parse(raw.trim());
    if id.is_none() {
        p.push("campaignId", "must be a campaign id (a UUID)");
    }
    id
}

/// A free-text parameter: trimmed, 1 to 200 characters, lowercased for matching.
pub fn text(p: &mut Problems, field: &str, raw: Option<&str>) -> Option<String> {
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
pub fn sentiment(p: &mut Problems, raw: Option<&str>) -> Option<SentimentLabel> {
    let label = match raw?.trim().to_ascii_lowercase().as_str() {
        "positive" => SentimentLabel::Positive,
        "neutral" => SentimentLabel::Neutral,
        "negative" => SentimentLabel::Negative,
        _ => {
            p.push("sentiment", "must be positive, neutral or negative");
            return None;
        }
    };
    Some(label)
}

/// The time-series bucket size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SeriesInterval)]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    /// Hours for windows up to three days, days beyond.
    pub fn for_window(w: &Window) -> Self {
        if w.length() <= Duration::hours(72) {
            Self::Hour
        } else {
            Self::Day
        }
    }

    pub fn duration(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::days(1),
        }
    }
}

/// `interval`: `hour` or `day` (default by the window's length).
pub fn interval(p: &mut Problems, raw: Option<&str>, w: &Window) -> Interval {
    match raw.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
        None => Interval::for_window(w),
        Some("hour") => Interval::Hour,
        Some("day") => Interval::Day,
        Some(_) => {
            p.push("interval", "must be hour or day");
            Interval::for_window(w)
        }
    }
}

/// Where a feed reader stopped: the id of the last mention it saw, or an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    Mention(Uuid),
    At(DateTime<Utc>),
}

/// `since`: a mention id or an RFC 3339 instant.
pub fn cursor(p: &mut Problems, raw: Option<&str>) -> Option<Cursor> {
    let s = raw?.trim();
    if let Ok(id) = Uuid::parse_str(s) {
        return Some(Cursor::Mention(id));
    }
    let mut quiet = Problems::default();
    match instant(&mut quiet, "since", s) {
        Some(t) => Some(Cursor::At(t)),
        None => {
            p.push("since", "must be a mention id or an RFC 3339 date-time");
            None
        }
    }
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
        let mut p = Problems::default();
        let w = window(&mut p, None, None, None, now());
        assert!(p.check().is_ok());
        assert_eq!(w.start, at("2026-03-09T12:00:00Z"));
        assert_eq!(w.end, now());
    }

    #[test]
    fn hours_count_back_from_end() {
        let mut p = Problems::default();
        let w = window(&mut p, None, Some("2026-03-01"), Some("6"), now());
        assert!(p.check().is_ok());
        assert_eq!(w.start, at("2026-02-28T18:00:00Z"));
        assert_eq!(w.end, at("2026-03-01T00:00:00Z"));
    }

    #[test]
    fn start_alone_runs_until_now() {
        let mut p = Problems::default();
        let w = window(&mut p, Some("2026-03-08T00:00:00+02:00"), None, None, now());
        assert!(p.check().is_ok());
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
            let mut p = Problems::default();
            window(&mut p, start, end, hours, now());
            assert_eq!(p.fields(), [field], "{start:?} {end:?} {hours:?}");
        }
    }

    #[test]
    fn a_window_of_exactly_90_days_is_allowed() {
        let mut p = Problems::default();
        window(&mut p, Some("2025-12-10"), Some("2026-03-10"), None, now());
        assert!(p.check().is_ok());
    }

    #[test]
    fn the_previous_window_ends_where_this_one_starts() {
        let w = Window::last_hours(now(), 24);
        let prev = w.previous();
        assert_eq!(prev.end, w.start);
        assert_eq!(prev.length(), w.length());
    }

    #[test]
    fn paging_checks_both_bounds_and_reports_both_fields() {
        let mut p = Problems::default();
        assert_eq!(paging(&mut p, None, None, 20), (1, 20));
        assert_eq!(paging(&mut p, Some("3"), Some("100"), 20), (3, 100));
        assert!(p.fields().is_empty());
        paging(&mut p, Some("0"), Some("101"), 20);
        assert_eq!(p.fields(), ["page", "limit"]);
    }

    #[test]
    fn a_cursor_is_a_mention_id_or_an_instant() {
        let mut p = Problems::default();
        let id = Uuid::now_v7();
        assert_eq!(
            cursor(&mut p, Some(&id.to_string())),
            Some(Cursor::Mention(id))
        );
        assert_eq!(
            cursor(&mut p, Some("2026-03-10T11:00:00Z")),
            Some(Cursor::At(at("2026-03-10T11:00:00Z")))
        );
        assert!(p.fields().is_empty());
        assert_eq!(cursor(&mut p, Some("soon")), None);
        assert_eq!(p.fields(), ["since"]);
    }

    #[test]
    fn texts_are_trimmed_lowercased_and_never_blank() {
        let mut p = Problems::default();
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
        let mut p = Problems::default();
        assert_eq!(
            sentiment(&mut p, Some("Negative")),
            Some(SentimentLabel::Negative)
        );
        assert_eq!(sentiment(&mut p, Some("angry")), None);
        assert_eq!(p.fields(), ["sentiment"]);
    }
}
