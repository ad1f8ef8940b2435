//! Logging: one JSON object per line on stdout, in the shape LeadGen's seed gives
//! (`timestamp, level, service, message, metadata, stackTrace`), for every product.
//! `service` is the product serving the request (or `basalt`); `metadata` holds the event's
//! fields and the request span's (request id, method, path). Filtered by `RUST_LOG`. The last
//! lines of each product are also kept in memory for the console (`recent`).

use std::fmt;

use serde_json::{Map, Value, json};
use tracing::{Event, Subscriber, field::Field};
use tracing_subscriber::{
    EnvFilter,
    field::Visit,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    prelude::*,
    registry::LookupSpan,
};

pub fn init_logging() {
    let _ = tracing_subscriber::registry()
        .with(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn")),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(SeedJson)
                .fmt_fields(JsonSpanFields),
        )
        .try_init();
}

/// Collects fields into a JSON map.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
}

/// Writes a span's fields as a JSON object straight into the span's stored text: every
/// request opens a span, so this runs once per request and builds no intermediate map.
struct SpanJson<'a, 'w> {
    out: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl SpanJson<'_, '_> {
    fn key(&mut self, name: &str) {
        let sep = if self.first { "{" } else { "," };
        self.first = false;
        self.result = self
            .result
            .and_then(|()| write!(self.out, "{sep}\"{}\":", Escaped(name)));
    }
}

impl Visit for SpanJson<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field.name());
        let text = format!("{value:?}");
        self.result = self
            .result
            .and_then(|()| write!(self.out, "\"{}\"", Escaped(&text)));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field.name());
        self.result = self
            .result
            .and_then(|()| write!(self.out, "\"{}\"", Escaped(value)));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field.name());
        self.result = self.result.and_then(|()| write!(self.out, "{value}"));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field.name());
        self.result = self.result.and_then(|()| write!(self.out, "{value}"));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field.name());
        self.result = self.result.and_then(|()| write!(self.out, "{value}"));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field.name());
        self.result = self.result.and_then(|()| match value.is_finite() {
            true => write!(self.out, "{value}"),
            false => write!(self.out, "null"),
        });
    }
}

/// A string as the inside of a JSON string literal.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(|c: char| c == '"' || c == '\\' || c < ' ') {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or(' ');
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{:04x}", c as u32)?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Span fields stored as a JSON object string, so the event formatter can merge them.
struct JsonSpanFields;

impl<'w> FormatFields<'w> for JsonSpanFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'w>,
        fields: R,
    ) -> fmt::Result {
        let mut out = SpanJson {
            out: &mut writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut out);
        let (first, result) = (out.first, out.result);
        result?;
        writer.write_str(if first { "{}" } else { "}" })
    }
}

struct SeedJson;

impl<S, N> FormatEvent<S, N> for SeedJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut metadata = fields.0;
        let message = metadata
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        // The request span's fields (product, request id, method, path), outermost first.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(stored) = span
                    .extensions()
                    .get::<tracing_subscriber::fmt::FormattedFields<N>>()
                    && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(stored.as_str())
                {
                    for (k, v) in m {
                        metadata.entry(k).or_insert(v);
                    }
                }
            }
        }
        let service = metadata
            .remove("product")
            .unwrap_or(Value::String("basalt".into()));
        let level = *event.metadata().level();
        // Errors carry where they were raised; there is no unwinding stack to print in Rust.
        let stack = (level == tracing::Level::ERROR).then(|| {
            format!(
                "at {}:{}",
                event.metadata().file().unwrap_or("?"),
                event.metadata().line().unwrap_or(0)
            )
        });
        metadata.insert(
            "target".into(),
            Value::String(event.metadata().target().to_owned()),
        );
        let line = json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "level": level.as_str(),
            "service": service,
            "message": message,
            "metadata": metadata,
            "stackTrace": stack,
        });
        writeln!(writer, "{line}")?;
        recent::keep(line);
        Ok(())
    }
}

/// The last log lines of this process, per product (`service`), for the console's
/// `GET /admin/api/logs`. Lines are kept as written; they never hold secrets or tokens,
/// which the request span leaves out (it records the path, not the query).
pub mod recent {
    use std::{
        collections::{HashMap, VecDeque},
        sync::{Mutex, OnceLock},
    };

    use serde_json::Value;

    /// Lines kept per product.
    pub const KEPT: usize = 500;

    fn lines() -> &'static Mutex<HashMap<String, VecDeque<Value>>> {
        static LINES: OnceLock<Mutex<HashMap<String, VecDeque<Value>>>> = OnceLock::new();
        LINES.get_or_init(Mutex::default)
    }

    pub(super) fn keep(line: Value) {
        let service = line["service"].as_str().unwrap_or("basalt").to_owned();
        let mut all = lines().lock().unwrap_or_else(|p| p.into_inner());
        let kept = all.entry(service).or_default();
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(line);
    }

    /// The newest `limit` lines of `service` at `min_level` or above (`ERROR` > `WARN` >
    /// `INFO` > `DEBUG` > `TRACE`), newest first.
    pub fn read(service: &str, min_level: tracing::Level, limit: usize) -> Vec<Value> {
        let all = lines().lock().unwrap_or_else(|p| p.into_inner());
        all.get(service)
            .map(|kept| {
                kept.iter()
                    .rev()
                    .filter(|l| {
                        l["level"]
                            .as_str()
                            .and_then(|s| s.parse::<tracing::Level>().ok())
                            .is_some_and(|level| level <= min_level)
                    })
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_have_the_seed_shape_with_the_request_span_in_metadata() {
        let buf = Buffer::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(SeedJson)
            .fmt_fields(JsonSpanFields)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", product = "leadgen", request_id = "r-1");
            let _g = span.enter();
            tracing::error!(cause = "boom", "internal error");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["service"], "leadgen");
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["message"], "internal error");
        assert_eq!(line["metadata"]["request_id"], "r-1");
        assert_eq!(line["metadata"]["cause"], "boom");
        assert!(
            line["stackTrace"]
                .as_str()
                .unwrap()
                .contains("observability.rs")
        );
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
