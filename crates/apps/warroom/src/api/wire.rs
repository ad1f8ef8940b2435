//! What more than one request reads the same way: an instant as RFC 3339 or a bare date, and
//! an optional value that must parse.

use chrono::{DateTime, NaiveDate, Utc};
use platform::validate::Problems;

/// `raw`, when given, as `parse` reads it; a value it refuses is recorded as `rule` under
/// `name`.
pub fn optional<T>(
    p: &mut Problems,
    name: &str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Option<T>,
    rule: impl Into<String>,
) -> Option<T> {
    let value = parse(raw?);
    p.require(value.is_some(), name, rule);
    value
}

/// The rule of an enum's value: `must be one of a, b, c`.
pub fn one_of(names: &str) -> String {
    format!("must be one of {names}")
}

/// RFC 3339, or a bare `YYYY-MM-DD` (midnight UTC, what a date picker sends).
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            Some(d.and_hms_opt(0, 0, 0)?.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
