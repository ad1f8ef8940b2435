//! Cron schedules: a small parser for the classic five-field expression (`minute hour
//! day-of-month month day-of-week`, in UTC), with an optional leading seconds field for fast
//! schedules, and the `Schedule` a worker turns into one job per tick.
//!
//! Our own parser rather than the `cron` crate: that one requires a seconds field and numbers
//! weekdays 1-7 from Sunday, so `0 2 * * 1` would not mean what every crontab means.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Timelike, Utc};
use serde_json::Value;

/// An expression that does not parse, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression {expr:?}: {reason}")]
pub struct CronError {
    pub expr: String,
    pub reason: String,
}

/// A parsed cron expression.
///
/// Five fields (`0 2 * * *`: 02:00 UTC daily) or six with seconds first (`*/5 * * * * *`:
/// every five seconds). Each field takes `*`, `n`, `a-b`, lists `a,b`, and steps `*/n`, `a-b/n`,
/// `a/n`; months and weekdays also take names (`jan`, `mon`). Weekdays are 0-7, Sunday being 0
/// and 7. As in Vixie cron, when both day-of-month and day-of-week are restricted, a day
/// matching either one matches. `@yearly`, `@monthly`, `@weekly`, `@daily` and `@hourly` work too.
#[derive(Clone, PartialEq, Eq)]
pub struct CronExpr {
    source: String,
    seconds: u64,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    dom_star: bool,
    dow_star: bool,
    has_seconds: bool,
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronExpr({:?})", self.source)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for CronExpr {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// How far `next_after`/`prev_at_or_before` look before deciding an expression never fires
/// (`0 0 30 2 *`). Leap days recur within 8 years, so 10 is enough for anything satisfiable.
const SEARCH_YEARS: i32 = 10;

impl CronExpr {
    pub fn parse(expr: &str) -> Result<Self, CronError> {
        let source = expr.trim().to_owned();
        let err = |reason: String| CronError {
            expr: source.clone(),
            reason,
        };
        let expanded = match source.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *".to_owned(),
            "@monthly" => "0 0 1 * *".to_owned(),
            "@weekly" => "0 0 * * 0".to_owned(),
            "@daily" | "@midnight" => "0 0 * * *".to_owned(),
            "@hourly" => "0 * * * *".to_owned(),
            s if s.starts_with('@') => return Err(err(format!("unknown shorthand {s}"))),
            s => s.to_owned(),
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(err(format!(
                    "expected 5 fields (minute hour day month weekday) or 6 with seconds first, got {n}"
                )));
            }
        };
        let field = |text: &str, name: &str, min: u32, max: u32, names: &[&str]| {
            parse_field(text, min, max, names).map_err(|reason| err(format!("{name}: {reason}")))
        };
        let mut days_of_week = field(rest[4], "day of week", 0, 7, &WEEKDAYS)?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        Ok(Self {
            seconds: field(seconds, "second", 0, 59, &[])?,
            minutes: field(rest[0], "minute", 0, 59, &[])?,
            hours: field(rest[1], "hour", 0, 23, &[])?,
            days_of_month: field(rest[2], "day of month", 1, 31, &[])?,
            months: field(rest[3], "month", 1, 12, &MONTHS)?,
            days_of_week,
            dom_star: rest[2].starts_with('*'),
            dow_star: rest[4].starts_with('*'),
            has_seconds: fields.len() == 6,
            source,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when `t` (to the second) is a tick.
    pub fn matches(&self, t: DateTime<Utc>) -> bool {
        self.first_mismatch(t).is_none()
    }

    /// The first tick strictly after `t`; `None` when the expression never fires.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let limit = t.year() + SEARCH_YEARS;
        let mut t = truncate(t, self.has_seconds)
            + if self.has_seconds {
                Duration::seconds(1)
            } else {
                Duration::minutes(1)
            };
        while t.year() <= limit {
            t = match self.first_mismatch(t) {
                None => return Some(t),
                Some(Unit::Month) => {
                    let (y, m) = if t.month() == 12 {
                        (t.year() + 1, 1)
                    } else {
                        (t.year(), t.month() + 1)
                    };
                    midnight(y, m, 1)?
                }
                Some(Unit::Day) => start_of_day(t) + Duration::days(1),
                Some(Unit::Hour) => start_of_hour(t) + Duration::hours(1),
                Some(Unit::Minute) => start_of_minute(t) + Duration::minutes(1),
                Some(Unit::Second) => t + Duration::seconds(1),
            };
        }
        None
    }

    /// The last tick at or before `t`; `None` when there is none in the search window.
    pub fn prev_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let limit = t.year() - SEARCH_YEARS;
        let mut t = truncate(t, self.has_seconds);
        let second = Duration::seconds(1);
        while t.year() >= limit {
            t = match self.first_mismatch(t) {
                None => return Some(t),
                Some(Unit::Month) => midnight(t.year(), t.month(), 1)? - second,
                Some(Unit::Day) => start_of_day(t) - second,
                Some(Unit::Hour) => start_of_hour(t) - second,
                Some(Unit::Minute) => start_of_minute(t) - second,
                Some(Unit::Second) => t - second,
            };
        }
        None
    }

    fn first_mismatch(&self, t: DateTime<Utc>) -> Option<Unit> {
        let has = |mask: u64, v: u32| mask & (1 << v) != 0;
        if !has(self.months, t.month()) {
            return Some(Unit::Month);
        }
        let dom = has(self.days_of_month, t.day());
        let dow = has(self.days_of_week, t.weekday().num_days_from_sunday());
        let day = match (self.dom_star, self.dow_star) {
            (false, false) => dom || dow,
            _ => dom && dow,
        };
        if !day {
            return Some(Unit::Day);
        }
        if !has(self.hours, t.hour()) {
            return Some(Unit::Hour);
        }
        if !has(self.minutes, t.minute()) {
            return Some(Unit::Minute);
        }
        if !has(self.seconds, t.second()) || t.nanosecond() != 0 {
            return Some(Unit::Second);
        }
        None
    }
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

fn truncate(t: DateTime<Utc>, keep_seconds: bool) -> DateTime<Utc> {
    let t = t.with_nanosecond(0).unwrap_or(t);
    if keep_seconds { t } else { start_of_minute(t) }
}

fn midnight(year: i32, month: u32, day: u32) -> Option<DateTime<Utc>> {
    Some(
        NaiveDate::from_ymd_opt(year, month, day)?
            .and_hms_opt(0, 0, 0)?
            .and_utc(),
    )
}

fn start_of_day(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc()
}

fn start_of_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    start_of_day(t) + Duration::hours(i64::from(t.hour()))
}

fn start_of_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    start_of_hour(t) + Duration::minutes(i64::from(t.minute()))
}

/// One field as a bit mask of the values it allows.
fn parse_field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            // Month names count from 1, weekday names from 0 (Sunday).
            return Ok(i as u32 + min);
        }
        let v: u32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
        if v < min || v > max {
            return Err(format!("{v} is outside {min}-{max}"));
        }
        Ok(v)
    };
    let mut mask = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err("empty list item".into());
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("step {s:?} is not a number"))?;
                if step == 0 {
                    return Err("a step of 0".into());
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `a/n` runs from a to the end of the field, as in Vixie cron.
                None if step.is_some() => (value(r)?, max),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if lo > hi {
            return Err(format!("range {lo}-{hi} runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            mask |= 1 << v;
            v += step.unwrap_or(1);
        }
    }
    Ok(mask)
}

/// A recurring job: at each tick of `expr` a worker enqueues `kind` with `payload` under the
/// idempotency key `cron:<name>:<tick>` (see [`Schedule::tick_key`]), so however many
/// instances run the schedule, each tick makes exactly one job.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub(crate) name: String,
    pub(crate) expr: CronExpr,
    pub(crate) kind: String,
    pub(crate) payload: Value,
    pub(crate) queue: String,
    pub(crate) max_attempts: u32,
    pub(crate) catch_up: bool,
}

impl Schedule {
    /// `Schedule::new("analytics-daily", "0 2 * * *", "analytics.aggregate", json!({}))`.
    pub fn new(
        name: impl Into<String>,
        expr: &str,
        kind: impl Into<String>,
        payload: Value,
    ) -> Result<Self, CronError> {
        Ok(Self {
            name: name.into(),
            expr: CronExpr::parse(expr)?,
            kind: kind.into(),
            payload,
            queue: super::DEFAULT_QUEUE.to_owned(),
            max_attempts: super::DEFAULT_MAX_ATTEMPTS,
            catch_up: true,
        })
    }

    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Whether the worker enqueues the most recent tick at or before start-up (default
    /// `true`): a tick missed while every instance was down then runs once, late. The tick's
    /// idempotency key makes this a no-op when the tick already has its job.
    pub fn catch_up(mut self, on: bool) -> Self {
        self.catch_up = on;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn expr(&self) -> &CronExpr {
        &self.expr
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// `cron:<name>:<tick as RFC 3339, UTC, whole seconds>`, e.g.
    /// `cron:analytics-daily:2026-05-01T02:00:00Z`.
    pub fn tick_key(&self, tick: DateTime<Utc>) -> String {
        format!(
            "cron:{}:{}",
            self.name,
            tick.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// The tick a `cron:<name>:<tick>` key names.
pub(crate) fn tick_of_key(key: &str) -> Option<DateTime<Utc>> {
    const TICK_LEN: usize = "2026-05-01T02:00:00Z".len();
    let rest = key.strip_prefix("cron:")?;
    let cut = rest.len().checked_sub(TICK_LEN)?;
    let (head, tick) = (rest.get(..cut)?, rest.get(cut..)?);
    if !head.ends_with(':') {
        return None;
    }
    DateTime::parse_from_rfc3339(tick)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, after: &str) -> String {
        CronExpr::parse(expr)
            .unwrap()
            .next_after(at(after))
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    fn prev(expr: &str, before: &str) -> String {
        CronExpr::parse(expr)
            .unwrap()
            .prev_at_or_before(at(before))
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    #[test]
    fn daily_at_two_fires_at_the_next_two_oclock() {
        assert_eq!(
            next("0 2 * * *", "2026-05-01T01:59:59Z"),
            "2026-05-01T02:00:00Z"
        );
        assert_eq!(
            next("0 2 * * *", "2026-05-01T02:00:00Z"),
            "2026-05-02T02:00:00Z"
        );
        assert_eq!(
            next("0 2 * * *", "2026-12-31T03:00:00Z"),
            "2027-01-01T02:00:00Z"
        );
    }

    #[test]
    fn previous_tick_includes_the_instant_itself() {
        assert_eq!(
            prev("0 2 * * *", "2026-05-01T02:00:00Z"),
            "2026-05-01T02:00:00Z"
        );
        assert_eq!(
            prev("0 2 * * *", "2026-05-01T01:59:59.900Z"),
            "2026-04-30T02:00:00Z"
        );
        assert_eq!(
            prev("0 2 * * *", "2026-03-01T00:00:00Z"),
            "2026-02-28T02:00:00Z"
        );
    }

    #[test]
    fn steps_ranges_and_lists_expand() {
        assert_eq!(
            next("*/15 * * * *", "2026-05-01T10:16:00Z"),
            "2026-05-01T10:30:00Z"
        );
        assert_eq!(
            next("0 9-17/4 * * *", "2026-05-01T13:00:00Z"),
            "2026-05-01T17:00:00Z"
        );
        assert_eq!(
            next("5,35 * * * *", "2026-05-01T10:06:00Z"),
            "2026-05-01T10:35:00Z"
        );
        assert_eq!(
            next("10/20 * * * *", "2026-05-01T10:31:00Z"),
            "2026-05-01T10:50:00Z"
        );
    }

    #[test]
    fn weekdays_count_from_sunday_and_seven_is_sunday_too() {
        // 2026-05-01 is a Friday.
        assert_eq!(
            next("0 8 * * 1", "2026-05-01T00:00:00Z"),
            "2026-05-04T08:00:00Z"
        );
        assert_eq!(
            next("0 8 * * 0", "2026-05-01T00:00:00Z"),
            "2026-05-03T08:00:00Z"
        );
        assert_eq!(
            next("0 8 * * 7", "2026-05-01T00:00:00Z"),
            "2026-05-03T08:00:00Z"
        );
        assert_eq!(
            next("0 8 * * mon-fri", "2026-05-01T09:00:00Z"),
            "2026-05-04T08:00:00Z"
        );
    }

    #[test]
    fn restricted_day_of_month_and_weekday_match_either() {
        // The 15th, or any Monday: after Friday 1 May comes Monday 4 May.
        assert_eq!(
            next("0 0 15 * mon", "2026-05-01T00:00:00Z"),
            "2026-05-04T00:00:00Z"
        );
        // With the weekday unrestricted only the 15th matches.
        assert_eq!(
            next("0 0 15 * *", "2026-05-01T00:00:00Z"),
            "2026-05-15T00:00:00Z"
        );
    }

    #[test]
    fn month_names_and_leap_days_work() {
        assert_eq!(
            next("0 0 29 feb *", "2026-01-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(
            prev("0 0 29 feb *", "2027-01-01T00:00:00Z"),
            "2024-02-29T00:00:00Z"
        );
    }

    #[test]
    fn an_impossible_date_never_fires() {
        let e = CronExpr::parse("0 0 30 2 *").unwrap();
        assert_eq!(e.next_after(at("2026-01-01T00:00:00Z")), None);
        assert_eq!(e.prev_at_or_before(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn a_seconds_field_ticks_every_second() {
        assert_eq!(
            next("* * * * * *", "2026-05-01T10:00:00.300Z"),
            "2026-05-01T10:00:01Z"
        );
        assert_eq!(
            prev("*/10 * * * * *", "2026-05-01T10:00:19.500Z"),
            "2026-05-01T10:00:10Z"
        );
        assert_eq!(
            next("30 0 2 * * *", "2026-05-01T02:00:30Z"),
            "2026-05-02T02:00:30Z"
        );
    }

    #[test]
    fn shorthands_expand() {
        assert_eq!(
            next("@daily", "2026-05-01T10:00:00Z"),
            "2026-05-02T00:00:00Z"
        );
        assert_eq!(
            next("@hourly", "2026-05-01T10:00:00Z"),
            "2026-05-01T11:00:00Z"
        );
        assert_eq!(
            next("@weekly", "2026-05-01T10:00:00Z"),
            "2026-05-03T00:00:00Z"
        );
    }

    #[test]
    fn malformed_expressions_say_why() {
        for (expr, needle) in [
            ("0 2 * *", "expected 5 fields"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("0 24 * * *", "hour: 24 is outside 0-23"),
            ("0 0 0 * *", "day of month: 0 is outside 1-31"),
            ("0 0 * 13 *", "month: 13 is outside 1-12"),
            ("0 0 * * 8", "day of week: 8 is outside 0-7"),
            ("*/0 * * * *", "a step of 0"),
            ("5-1 * * * *", "runs backwards"),
            ("x * * * *", "\"x\" is not a number"),
            ("1,,2 * * * *", "empty list item"),
            ("@often", "unknown shorthand"),
        ] {
            let err = CronExpr::parse(expr).unwrap_err().to_string();
            assert!(err.contains(needle), "{expr}: {err}");
        }
    }

    #[test]
    fn tick_keys_name_the_schedule_and_the_tick() {
        let s = Schedule::new("analytics-daily", "0 2 * * *", "analytics", Value::Null).unwrap();
        let key = s.tick_key(at("2026-05-01T02:00:00Z"));
        assert_eq!(key, "cron:analytics-daily:2026-05-01T02:00:00Z");
        assert_eq!(tick_of_key(&key), Some(at("2026-05-01T02:00:00Z")));
        assert_eq!(
            tick_of_key("cron:a:b:2026-05-01T02:00:00Z"),
            Some(at("2026-05-01T02:00:00Z"))
        );
        assert_eq!(tick_of_key("alert:42"), None);
        assert_eq!(tick_of_key("cron:x"), None);
    }
}
