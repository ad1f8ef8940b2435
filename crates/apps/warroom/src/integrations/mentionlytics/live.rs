//! Mentionlytics LIVE: `POST {MENTIONLYTICS_BASE_URL}/mentions` with a Bearer
//! `MENTIONLYTICS_TOKEN` and the seed's body `{ keywords, limit, sort: "date_desc" }` plus the
//! poll window and competitors. The answer is read leniently: a mention without an id, text
//! or timestamp is skipped (and counted in the log), not the end of the poll.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use platform::{
    datamode::DataMode,
    secrets::Secret,
    settings::ProductSettings,
    vendor::{
        CircuitBreaker, VendorClient, VendorEntry, VendorError, VendorPolicy, VendorSettings,
    },
};
use serde::Serialize;
use serde_json::Value;

use super::{MentionQuery, MentionSource, SourceError, SourceMention};

pub const VENDOR: &str = "Mentionlytics";
pub const DEFAULT_BASE_URL: &str = "https://api.mentionlytics.com";
pub const TOKEN_SETTING: &str = "MENTIONLYTICS_TOKEN";

/// `MENTIONLYTICS_TOKEN` and `MENTIONLYTICS_BASE_URL` (tests, proxies).
#[derive(Clone, Debug)]
pub struct MentionlyticsConfig {
    pub base_url: String,
    pub token: Option<Secret>,
}

impl MentionlyticsConfig {
    /// Fails when the base URL is set but is not an http(s) URL.
    pub fn from_settings(v: &VendorSettings) -> anyhow::Result<Self> {
        let base_url = v.url("MENTIONLYTICS_BASE_URL")?.unwrap_or(DEFAULT_BASE_URL);
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: v.get(TOKEN_SETTING).cloned(),
        })
    }

    pub fn missing(&self) -> Option<&'static str> {
        self.token.is_none().then_some(TOKEN_SETTING)
    }
}

/// The mention source on Mentionlytics' API, through a `VendorClient` (retried: the call
/// is a read).
#[derive(Clone, Debug)]
pub struct LiveMentionlytics {
    config: MentionlyticsConfig,
    client: VendorClient,
}

/// The request body: the seed's shape, plus the window and competitors.
#[derive(Serialize)]
struct MentionsRequest<'a> {
    keywords: &'a [String],
    limit: usize,
    sort: &'static str,
    since: String,
    until: String,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    competitors: &'a [String],
}

impl LiveMentionlytics {
    pub fn new(config: MentionlyticsConfig, client: VendorClient) -> Self {
        Self { config, client }
    }

    /// From `settings.vendors`, with the default timeouts, retries and breaker.
    pub fn from_settings(settings: &ProductSettings) -> anyhow::Result<Self> {
        Ok(Self::new(
            MentionlyticsConfig::from_settings(&settings.vendors)?,
            VendorClient::new(VENDOR, VendorPolicy::default())?,
        ))
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        self.client.breaker()
    }

    /// `mentionlytics` for the status endpoints.
    pub fn vendor(&self) -> VendorEntry {
        VendorEntry::new(
            "mentionlytics",
            self.config.missing(),
            Some(self.breaker().clone()),
        )
    }

    async fn fetch_raw(&self, query: &MentionQuery) -> Result<Value, VendorError> {
        let token = self
            .config
            .token
            .as_ref()
            .ok_or(VendorError::Unconfigured {
                vendor: VENDOR,
                setting: TOKEN_SETTING,
            })?;
        let body = MentionsRequest {
            keywords: &query.keywords,
            limit: query.limit,
            sort: "date_desc",
            since: iso(query.since),
            until: iso(query.until),
            competitors: &query.competitors,
        };
        let url = format!("{}/mentions", self.config.base_url);
        let res = self
            .client
            .send(|http| http.post(&url).bearer_auth(token.expose()).json(&body))
            .await?;
        if !res.status().is_success() {
            return Err(self.client.rejected(res, error_message).await);
        }
        self.client.json(res).await
    }
}

#[async_trait]
impl MentionSource for LiveMentionlytics {
    async fn fetch(&self, query: &MentionQuery) -> Result<Vec<SourceMention>, SourceError> {
        let mut answer = self.fetch_raw(query).await?;
        // Stored as received, and PostgreSQL text cannot hold NUL.
        platform::validate::strip_nul(&mut answer);
        let items = match &answer {
            Value::Array(items) => items,
            Value::Object(o) => match o.get("mentions").or_else(|| o.get("data")) {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(SourceError::BadResponse(
                        "expected `mentions`, a list of mentions".into(),
                    ));
                }
            },
            _ => {
                return Err(SourceError::BadResponse(
                    "expected a list of mentions".into(),
                ));
            }
        };
        Ok(read_mentions(items, query))
    }
}

/// Live or a mock source, chosen from the data mode on every poll.
#[derive(Clone)]
pub struct Mentionlytics<M> {
    live: LiveMentionlytics,
    mock: M,
    mode: DataMode,
}

impl<M: MentionSource> Mentionlytics<M> {
    pub fn new(live: LiveMentionlytics, mock: M, mode: DataMode) -> Self {
        Self { live, mock, mode }
    }

    pub fn live(&self) -> &LiveMentionlytics {
        &self.live
    }
}

#[async_trait]
impl<M: MentionSource> MentionSource for Mentionlytics<M> {
    async fn fetch(&self, query: &MentionQuery) -> Result<Vec<SourceMention>, SourceError> {
        if self.mode.is_live() {
            self.live.fetch(query).await
        } else {
            self.mock.fetch(query).await
        }
    }
}

impl From<VendorError> for SourceError {
    fn from(e: VendorError) -> Self {
        match e {
            VendorError::Unconfigured { setting, .. } => Self::Unconfigured { setting },
            VendorError::CircuitOpen { retry_after, .. } => Self::Unavailable(format!(
                "paused after repeated failures; retry in {}s",
                retry_after.as_secs().max(1)
            )),
            VendorError::Unavailable { message, .. } => Self::Unavailable(message),
            VendorError::Rejected {
                status, message, ..
            } => Self::Rejected { status, message },
            VendorError::BadResponse { message, .. } => Self::BadResponse(message),
        }
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `{ "message": … }` or `{ "error": … }` in an error body.
fn error_message(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let m = v.get("message").or_else(|| v.get("error"))?;
    match m {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("message")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// The readable mentions of `items` inside `query`'s window and platforms, deduplicated,
/// newest first, at most `query.limit`.
fn read_mentions(items: &[Value], query: &MentionQuery) -> Vec<SourceMention> {
    let platforms: HashSet<String> = query
        .platforms
        .iter()
        .map(|p| p.to_ascii_lowercase())
        .collect();
    let mut seen = HashSet::new();
    let mut skipped = 0usize;
    let mut mentions: Vec<SourceMention> = items
        .iter()
        .filter_map(|item| {
            let m = read_mention(item, query);
            skipped += usize::from(m.is_none());
            m
        })
        .filter(|m| m.timestamp > query.since && m.timestamp <= query.until)
        .filter(|m| platforms.is_empty() || platforms.contains(&m.platform))
        .filter(|m| seen.insert(m.source_id.clone()))
        .collect();
    if skipped > 0 {
        tracing::warn!(
            skipped,
            received = items.len(),
            "Mentionlytics: skipped mentions without an id, text or timestamp"
        );
    }
    mentions.sort_by_key(|m| std::cmp::Reverse(m.timestamp));
    mentions.truncate(query.limit);
    mentions
}

/// One mention, or `None` when it lacks an id, a text or a readable timestamp.
fn read_mention(v: &Value, query: &MentionQuery) -> Option<SourceMention> {
    let source_id = match v.get("id")? {
        Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let text = str_field(v, "text")?;
    let timestamp = timestamp(v.get("timestamp")?)?;
    let author = match v.get("author") {
        Some(Value::Object(a)) => ["name", "username", "handle"]
            .iter()
            .find_map(|k| a.get(*k)?.as_str().map(str::to_owned)),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
    .filter(|a| !a.trim().is_empty())
    .unwrap_or_else(|| "unknown".into());
    let matched = str_field(v, "matched")
        .or_else(|| str_field(v, "keyword"))
        .or_else(|| matched_term(&text, query));
    Some(SourceMention {
        source_id,
        author,
        platform: str_field(v, "platform")
            .map(|p| p.to_ascii_lowercase())
            .unwrap_or_else(|| "unknown".into()),
        url: str_field(v, "url").unwrap_or_default(),
        sentiment: number(v.get("sentiment")).map(|s| s.clamp(-1.0, 1.0)),
        reach: count(v.get("reach")),
        engagement: count(v.get("engagement")),
        timestamp,
        location: str_field(v, "location"),
        // BCP 47 "undetermined" rather than a guess.
        language: str_field(v, "language").unwrap_or_else(|| "und".into()),
        matched,
        text,
    })
}

/// A non-empty string field.
fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A number, or a string holding one.
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

/// A non-negative count; 0 when absent or unreadable.
fn count(v: Option<&Value>) -> i64 {
    number(v).map_or(0, |x| x.max(0.0).round() as i64)
}

/// RFC 3339, or Unix seconds (milliseconds past 10^11).
fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| s.trim().parse::<i64>().ok().and_then(unix)),
        Value::Number(n) => n.as_i64().and_then(unix),
        _ => None,
    }
}

fn unix(n: i64) -> Option<DateTime<Utc>> {
    if n.abs() >= 100_000_000_000 {
        Utc.timestamp_millis_opt(n).single()
    } else {
        Utc.timestamp_opt(n, 0).single()
    }
}

/// The first keyword, then competitor, the text contains (case-insensitively).
fn matched_term(text: &str, query: &MentionQuery) -> Option<String> {
    let lower = text.to_lowercase();
    query
        .keywords
        .iter()
        .chain(&query.competitors)
        .find(|t| !t.trim().is_empty() && lower.contains(&t.to_lowercase()))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query() -> MentionQuery {
        MentionQuery {
            config_id: uuid::Uuid::nil(),
            campaign_id: uuid::Uuid::nil(),
            keywords: vec!["Rivera".into()],
            competitors: vec!["Chen".into()],
            influencers: vec![],
            platforms: vec![],
            since: "2026-03-01T00:00:00Z".parse().unwrap(),
            until: "2026-03-02T00:00:00Z".parse().unwrap(),
            limit: 10,
        }
    }

    #[test]
    fn nul_in_what_the_vendor_sends_is_removed_before_it_is_read() {
        let mut answer = json!({ "mentions": [{ "id": "a\0b", "text": "Chen\0 rally",
            "author": { "na\0me": "x" }, "timestamp": "2026-03-01T12:00:00Z" }] });
        platform::validate::strip_nul(&mut answer);
        assert_eq!(
            answer,
            json!({ "mentions": [{ "id": "ab", "text": "Chen rally",
                "author": { "name": "x" }, "timestamp": "2026-03-01T12:00:00Z" }] })
        );
    }

    #[test]
    fn a_full_mention_is_read_field_by_field() {
        let m = read_mention(
            &json!({
                "id": 42, "text": "Chen's plan is bold", "author": { "name": "Ana" },
                "platform": "Twitter", "url": "https://x.test/42", "sentiment": 1.7,
                "reach": "1200", "engagement": 33.6, "timestamp": "2026-03-01T12:00:00+01:00",
                "location": "Austin, TX", "language": "en"
            }),
            &query(),
        )
        .unwrap();
        assert_eq!(m.source_id, "42");
        assert_eq!(m.author, "Ana");
        assert_eq!(m.platform, "twitter");
        assert_eq!(m.sentiment, Some(1.0), "clamped to -1..1");
        assert_eq!((m.reach, m.engagement), (1200, 34));
        assert_eq!(
            m.timestamp,
            "2026-03-01T11:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(m.location.as_deref(), Some("Austin, TX"));
        assert_eq!(m.matched.as_deref(), Some("Chen"));
    }

    #[test]
    fn missing_optional_fields_get_defaults_and_missing_required_ones_skip_the_mention() {
        let q = query();
        let m = read_mention(
            &json!({ "id": "a1", "text": "hello", "timestamp": 1772366400 }),
            &q,
        )
        .unwrap();
        assert_eq!(
            (m.author.as_str(), m.platform.as_str()),
            ("unknown", "unknown")
        );
        assert_eq!(
            (m.sentiment, m.reach, m.language.as_str()),
            (None, 0, "und")
        );
        assert_eq!(m.timestamp, Utc.timestamp_opt(1772366400, 0).unwrap());
        assert_eq!(m.matched, None);
        for bad in [
            json!({ "text": "t", "timestamp": "2026-03-01T01:00:00Z" }),
            json!({ "id": "x", "timestamp": "2026-03-01T01:00:00Z" }),
            json!({ "id": "x", "text": "t" }),
            json!({ "id": "x", "text": "t", "timestamp": "yesterday" }),
            json!({ "id": "", "text": "t", "timestamp": "2026-03-01T01:00:00Z" }),
        ] {
            assert!(read_mention(&bad, &q).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_batch_keeps_the_window_and_platforms_drops_duplicates_and_sorts_newest_first() {
        let mut q = query();
        q.platforms = vec!["Twitter".into()];
        q.limit = 2;
        let at = |h: u32| format!("2026-03-01T{h:02}:00:00Z");
        let items = vec![
            json!({ "id": "1", "text": "a", "platform": "twitter", "timestamp": at(1) }),
            json!({ "id": "2", "text": "b", "platform": "twitter", "timestamp": at(5) }),
            json!({ "id": "2", "text": "b again", "platform": "twitter", "timestamp": at(5) }),
            json!({ "id": "3", "text": "c", "platform": "facebook", "timestamp": at(6) }),
            json!({ "id": "4", "text": "d", "platform": "twitter", "timestamp": "2026-02-28T23:00:00Z" }),
            json!({ "id": "5", "text": "e", "platform": "twitter", "timestamp": at(3) }),
            json!({ "no": "id" }),
        ];
        let ids: Vec<String> = read_mentions(&items, &q)
            .into_iter()
            .map(|m| m.source_id)
            .collect();
        assert_eq!(ids, ["2", "5"]);
    }

    #[test]
    fn vendor_errors_become_source_errors_that_name_the_setting() {
        let e: SourceError = VendorError::Unconfigured {
            vendor: VENDOR,
            setting: TOKEN_SETTING,
        }
        .into();
        assert_eq!(
            e.to_string(),
            "Mentionlytics is not configured: set MENTIONLYTICS_TOKEN"
        );
        let e: SourceError = VendorError::CircuitOpen {
            vendor: VENDOR,
            retry_after: std::time::Duration::from_secs(30),
        }
        .into();
        assert!(matches!(e, SourceError::Unavailable(_)));
    }
}
