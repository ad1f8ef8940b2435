//! Input validation every product shares: `FieldError` and the `Problems` collector (one 400
//! names every offending field), the one input rule every extractor applies (no NUL character
//! in any string: [`nul_in_json`], [`nul_in_pairs`]), the `present` deserializer that tells an
//! absent field from a `null` one, and paging: `PageQuery` → `Paging` (checked bounds) →
//! `Page<T>` (one list shape, whose items key each item type names through `Listed`).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, ser::SerializeMap};
use utoipa::{
    ToSchema,
    openapi::{ArrayBuilder, ObjectBuilder, RefOr, Schema, Type, schema::SchemaType},
};

use crate::error::ApiError;

/// A field that failed validation, reported in `details.fields`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct FieldError {
    /// The field's name as the client wrote it (`startDate`, `targetAudience.ages[2]`), or
    /// `body` for the body as a whole.
    pub field: String,
    pub message: String,
}

/// A `FieldError` from its parts.
pub fn field(name: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
    }
}

/// The fields found wrong so far; `check` turns them into one validation error.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.0.push(field(name, message));
    }

    /// Records `message` for `name` unless `ok`.
    pub fn require(&mut self, ok: bool, name: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.push(name, message);
        }
    }

    /// Keeps the value of a check, recording its problem.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The offending fields' names, in the order found.
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|f| f.field.as_str()).collect()
    }

    /// `invalid_argument` naming every offending field, if there was one.
    pub fn check(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }

    /// `value` when nothing was wrong, else the validation error.
    pub fn or_value<T>(self, value: T) -> Result<T, ApiError> {
        self.check().map(|()| value)
    }
}

impl From<Problems> for Vec<FieldError> {
    fn from(p: Problems) -> Self {
        p.0
    }
}

/// The one input rule: no string a client sends may contain NUL (U+0000). PostgreSQL's
/// `text` cannot store it (SQLite can, so the two databases would disagree), and no product
/// has a use for it. The platform's extractors apply it to bodies, query strings and path
/// parameters before any handler runs.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The message for an object key or parameter name that contains NUL.
pub const NUL_NAME_MESSAGE: &str = "a field name must not contain the NUL character (U+0000)";

/// A name as it can be shown in `details.fields`: a NUL written as `\u0000`.
fn printable_name(name: &str) -> String {
    name.replace('\0', "\\u0000")
}

/// `value` with NUL removed from every string and object key: for what a vendor sends (a
/// mention's text), which is stored as received but cannot be refused like a request.
pub fn strip_nul(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(map) if map.keys().any(|k| k.contains('\0')) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(k, mut v)| {
                    strip_nul(&mut v);
                    (k.replace('\0', ""), v)
                })
                .collect();
        }
        Value::Object(map) => map.values_mut().for_each(strip_nul),
        _ => {}
    }
}

/// Every string value and object key of `value` that contains NUL, named by its path as the
/// client wrote it (`name`, `items[2].title`, `filters.tags[0]`); `body` for the value itself.
pub fn nul_in_json(value: &serde_json::Value) -> Vec<FieldError> {
    let mut found = Vec::new();
    walk_json(value, &mut String::new(), &mut found);
    found
}

fn walk_json(value: &serde_json::Value, path: &mut String, found: &mut Vec<FieldError>) {
    use serde_json::Value;
    let here = |path: &str| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => found.push(field(here(path), NUL_MESSAGE)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_json(item, path, found);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&printable_name(key));
                if key.contains('\0') {
                    found.push(field(path.clone(), NUL_NAME_MESSAGE));
                } else {
                    walk_json(item, path, found);
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The same rule for name/value pairs (query parameters, path parameters, form fields): each
/// pair whose name or value contains NUL, named by the parameter's name.
pub fn nul_in_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<FieldError> {
    pairs
        .into_iter()
        .filter_map(|(name, value)| {
            if name.contains('\0') {
                Some(field(printable_name(name), NUL_NAME_MESSAGE))
            } else if value.contains('\0') {
                Some(field(name, NUL_MESSAGE))
            } else {
                None
            }
        })
        .collect()
}

/// `#[serde(default, deserialize_with = "present")]`: a present field is `Some`, even when it
/// is `null` (for `Option<Option<T>>`: absent → `None`, `null` → `Some(None)`); on a plain
/// `Option<T>` it refuses `null`, for fields the contract never makes nullable.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Largest page number and page size any list accepts.
pub const PAGE_MAX: u64 = 1_000_000;
pub const LIMIT_MAX: u64 = 100;
pub const LIMIT_DEFAULT: u64 = 20;

/// `?page=&limit=` as every list endpoint takes them; `page` counts from 1.
#[derive(Clone, Copy, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}

impl PageQuery {
    /// The checked page, or `invalid_argument` naming the fields out of bounds.
    pub fn paging(self) -> Result<Paging, ApiError> {
        let mut p = Problems::new();
        let paging = self.check(&mut p, LIMIT_DEFAULT);
        p.or_value(paging)
    }

    /// Checks both bounds into `p` (for lists that check other parameters too); out-of-bounds
    /// values fall back to the defaults so the caller can go on collecting problems.
    pub fn check(self, p: &mut Problems, default_limit: u64) -> Paging {
        let page = self.page.unwrap_or(1);
        let limit = self.limit.unwrap_or(default_limit);
        let page_ok = (1..=PAGE_MAX).contains(&page);
        let limit_ok = (1..=LIMIT_MAX).contains(&limit);
        p.require(page_ok, "page", format!("must be 1 to {PAGE_MAX}"));
        p.require(limit_ok, "limit", format!("must be 1 to {LIMIT_MAX}"));
        Paging {
            page: if page_ok { page } else { 1 },
            limit: if limit_ok { limit } else { default_limit },
        }
    }
}

/// A checked page request: `page` from 1, `limit` 1 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub limit: u64,
}

impl Paging {
    /// A page request the caller has checked (services, tests).
    pub const fn new(page: u64, limit: u64) -> Self {
        Self { page, limit }
    }

    /// Rows to skip.
    pub fn offset(self) -> u64 {
        (self.page - 1) * self.limit
    }

    /// The page of `items` out of `total`.
    pub fn page<T>(self, items: Vec<T>, total: u64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            limit: self.limit,
            next_cursor: None,
        }
    }
}

/// An item type of a list, and the key its items travel under on the wire
/// (`{ "campaigns": [...], total, page, limit }`).
pub trait Listed {
    const KEY: &'static str;
}

/// One page of a list: `{ <T::KEY>: [T], total, page, limit }`, and `nextCursor` on lists
/// that also page by keyset (`crate::keyset`).
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    /// From 1; 0 on a page reached by `cursor` (its number is not counted).
    pub page: u64,
    pub limit: u64,
    /// Where the next page starts, when there is one and the list pages by keyset.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The same page with each item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            limit: self.limit,
            next_cursor: self.next_cursor,
        }
    }
}

impl<T: Serialize + Listed> Serialize for Page<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4 + usize::from(self.next_cursor.is_some())))?;
        m.serialize_entry(T::KEY, &self.items)?;
        m.serialize_entry("total", &self.total)?;
        m.serialize_entry("page", &self.page)?;
        m.serialize_entry("limit", &self.limit)?;
        if let Some(cursor) = &self.next_cursor {
            m.serialize_entry("nextCursor", cursor)?;
        }
        m.end()
    }
}

/// utoipa derives `PartialSchema` from this (and asks generic bodies such as
/// `body = Page<Campaign>` for it); the items' schema is known from `T`, so the generics it
/// passes add nothing.
impl<T: ToSchema + Listed> utoipa::__dev::ComposeSchema for Page<T> {
    fn compose(_: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        let count = |description: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Integer))
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(0))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .property(
                T::KEY,
                ArrayBuilder::new().items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    T::name(),
                ))),
            )
            .property("total", count("Items in the whole list"))
            .property(
                "page",
                count("This page's number, from 1 (0 on a page reached by `cursor`)"),
            )
            .property("limit", count("Items per page"))
            .property(
                "nextCursor",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .description(Some(
                        "On lists that take `cursor`: pass it as `cursor` for the next page; \
                         absent on the last page",
                    )),
            )
            .required(T::KEY)
            .required("total")
            .required("page")
            .required("limit")
            .into()
    }
}

impl<T: ToSchema + Listed> ToSchema for Page<T> {
    /// utoipa names a generic body after its arguments too: `Page_Campaign`.
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Page")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, ToSchema)]
    struct Thing {
        n: u32,
    }

    impl Listed for Thing {
        const KEY: &'static str = "things";
    }

    #[test]
    fn a_page_travels_under_its_items_key() {
        let page = Paging { page: 2, limit: 1 }.page(vec![Thing { n: 7 }], 5);
        let v = serde_json::to_value(&page).unwrap();
        assert_eq!(
            v,
            serde_json::json!({ "things": [{ "n": 7 }], "total": 5, "page": 2, "limit": 1 })
        );
        assert_eq!(<Page<Thing> as ToSchema>::name(), "Page");
    }

    #[test]
    fn paging_checks_both_bounds_and_names_both_fields() {
        let q = PageQuery {
            page: Some(0),
            limit: Some(101),
        };
        let mut p = Problems::new();
        let paging = q.check(&mut p, 20);
        assert_eq!(p.fields(), ["page", "limit"]);
        assert_eq!(paging, Paging { page: 1, limit: 20 });
        assert!(q.paging().is_err());
        let ok = PageQuery::default().paging().unwrap();
        assert_eq!((ok.page, ok.limit, ok.offset()), (1, 20, 0));
        let third = PageQuery {
            page: Some(3),
            limit: Some(10),
        };
        assert_eq!(third.paging().unwrap().offset(), 20);
    }

    #[test]
    fn nul_is_found_in_values_and_keys_and_named_by_its_path() {
        let v = serde_json::json!({
            "name": "a\u{0}b",
            "ok": "fine",
            "items": [{ "title": "x" }, { "title": "y" }, { "title": "\u{0}" }],
            "nested": { "tags": ["t", "\u{0}"] },
            "bad\u{0}key": 1,
        });
        let mut names: Vec<String> = nul_in_json(&v).into_iter().map(|f| f.field).collect();
        names.sort();
        assert_eq!(
            names,
            ["bad\\u0000key", "items[2].title", "name", "nested.tags[1]"]
        );
        assert_eq!(nul_in_json(&serde_json::json!("\u{0}"))[0].field, "body");
        assert!(nul_in_json(&serde_json::json!({ "a": "\\u0000", "b": [1, null] })).is_empty());
        let pairs = nul_in_pairs([("q", "x\u{0}"), ("ok", "y"), ("k\u{0}", "z")]);
        let names: Vec<&str> = pairs.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["q", "k\\u0000"]);
    }

    #[test]
    fn present_tells_null_from_absent() {
        #[derive(Deserialize)]
        struct Patch {
            #[serde(default, deserialize_with = "present")]
            phone: Option<Option<String>>,
        }
        let absent: Patch = serde_json::from_str("{}").unwrap();
        let null: Patch = serde_json::from_str(r#"{"phone":null}"#).unwrap();
        assert_eq!(absent.phone, None);
        assert_eq!(null.phone, Some(None));
    }
}
