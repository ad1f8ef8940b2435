//! Keyset pagination's shared pieces: the opaque `cursor` a list hands out as `nextCursor`
//! (the sort key of the last row sent: a time and an id), and putting rows fetched by id back
//! in the order their ids were listed (the "ids first, then the rows" way of reading a page).
//!
//! A list sorted newest first reads the page after a cursor with
//! `WHERE (created_at, id) < (cursor.at, cursor.id) ORDER BY created_at DESC, id DESC`, which an
//! index on `(created_at, id)` answers without skipping the rows before it, however deep the
//! page; new rows arriving meanwhile neither repeat nor hide a row of the pages after.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::{error::ApiError, validate::field};

/// A position in a list sorted by (time, id): the last row of the page before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// The cursor after `row`.
    pub fn after(at: DateTime<Utc>, id: Uuid) -> Self {
        Self { at, id }
    }

    /// The opaque text the client sends back: base64url of `<RFC 3339 time>|<id>`.
    pub fn encode(&self) -> String {
        let raw = format!(
            "{}|{}",
            self.at.to_rfc3339_opts(SecondsFormat::Nanos, true),
            self.id.simple()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor sent back as the query parameter `param`; anything this module did not
    /// write is `invalid_argument` naming `param`.
    pub fn decode(text: &str, param: &str) -> Result<Self, ApiError> {
        Self::parse(text).ok_or_else(|| {
            ApiError::validation(vec![field(
                param,
                "is not a cursor this list handed out (use nextCursor as given)",
            )])
        })
    }

    fn parse(text: &str) -> Option<Self> {
        if text.len() > 200 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
        let raw = std::str::from_utf8(&raw).ok()?;
        let (at, id) = raw.split_once('|')?;
        Some(Self {
            at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
            id: Uuid::try_parse(id).ok()?,
        })
    }
}

/// `rows` in the order of `ids` (a query by `id IN (…)` answers in any order); rows whose id
/// is not listed are dropped, and rows sharing an id (a join's) keep their relative order.
pub fn in_order_of<T>(ids: &[Uuid], rows: Vec<T>, id_of: impl Fn(&T) -> Uuid) -> Vec<T> {
    let rank: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut ranked: Vec<(usize, T)> = rows
        .into_iter()
        .filter_map(|r| rank.get(&id_of(&r)).map(|i| (*i, r)))
        .collect();
    ranked.sort_by_key(|(i, _)| *i);
    ranked.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written_to_the_nanosecond() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T10:20:30.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = Cursor::after(at, Uuid::now_v7());
        assert_eq!(Cursor::decode(&c.encode(), "cursor").unwrap(), c);
    }

    #[test]
    fn text_this_module_did_not_write_is_refused_naming_the_parameter() {
        for bad in [
            "",
            "x",
            "!!!",
            &URL_SAFE_NO_PAD.encode("2026-03-01|nope"),
            &"A".repeat(300),
        ] {
            let e = Cursor::decode(bad, "cursor").unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::InvalidArgument, "{bad}");
            assert!(e.message.contains("cursor"), "{}", e.message);
        }
    }

    #[test]
    fn rows_come_back_in_the_order_of_their_ids_with_joined_rows_together() {
        let ids = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        let rows = vec![
            (ids[2], 'c'),
            (ids[0], 'a'),
            (Uuid::now_v7(), 'x'),
            (ids[1], 'b'),
            (ids[0], 'A'),
        ];
        let ordered = in_order_of(&ids, rows, |r| r.0);
        let letters: String = ordered.iter().map(|r| r.1).collect();
        assert_eq!(letters, "aAbc");
    }
}
