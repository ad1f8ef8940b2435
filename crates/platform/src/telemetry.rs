//! Each product's metrics, for its own `GET /metrics`: HTTP requests and latency histograms
//! per route template, method and status, and gauges read at scrape time (database pool,
//! jobs per queue and status, live connections, outbox depth, vendor breakers, process
//! memory), in the Prometheus text format with `# HELP` and `# TYPE` lines.
//!
//! A product's series live in a recorder of its own (not the process-wide one), so four
//! products served by one process do not each report everything four times; the gauges read
//! at scrape time carry the product's label too. Series recorded through the `metrics` macros
//! are process-wide: they follow the product's own, under a comment saying so, less the
//! samples labelled with another product (job outcomes and durations carry theirs).
//!
//! Recording a request is a read lock and a short scan for the (route, method, status) series,
//! whose handles are created once; no label is formatted on the hot path.

use std::{
    collections::HashMap,
    fmt::Write as _,
    sync::{Arc, RwLock, Weak},
    time::Duration,
};

use axum::http::{Method, StatusCode};
use metrics::{Counter, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Latency buckets, in seconds: sub-millisecond answers apart from slow ones.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

const REQUESTS: &str = "http_requests_total";
const LATENCY: &str = "http_request_duration_seconds";

static META: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

/// One product's HTTP series. Cheap to share (`Arc`).
pub struct ProductMetrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Route template (`unmatched` for requests no route took) → its series.
    routes: RwLock<HashMap<Box<str>, Vec<Series>>>,
}

struct Series {
    method: &'static str,
    status: u16,
    requests: Counter,
    latency: Histogram,
}

impl ProductMetrics {
    pub fn new(product: &'static str) -> Arc<Self> {
        let builder = || PrometheusBuilder::new().add_global_label("product", product);
        // Only fails for an empty bucket list.
        let builder = builder()
            .set_buckets_for_metric(Matcher::Full(LATENCY.into()), &LATENCY_BUCKETS)
            .unwrap_or_else(|_| builder());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        recorder.describe_counter(
            KeyName::from_const_str(REQUESTS),
            None,
            SharedString::const_str(
                "HTTP requests answered, per route template, method and status.",
            ),
        );
        recorder.describe_histogram(
            KeyName::from_const_str(LATENCY),
            Some(metrics::Unit::Seconds),
            SharedString::const_str(
                "Time to answer an HTTP request, per route template, method and status.",
            ),
        );
        let this = Arc::new(Self {
            recorder,
            handle,
            routes: RwLock::default(),
        });
        this.keep_up(Arc::downgrade(&this));
        this
    }

    /// Histogram samples wait in a buffer until drained: drain every few seconds even when
    /// nobody scrapes, for as long as the product lives.
    fn keep_up(&self, me: Weak<Self>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                match me.upgrade() {
                    Some(m) => m.handle.run_upkeep(),
                    None => return,
                }
            }
        });
    }

    /// Counts one answered request. `route` is the matched route template, never the raw path.
    pub fn record(&self, route: Option<&str>, method: &Method, status: StatusCode, took: Duration) {
        let route = route.unwrap_or("unmatched");
        let method = method_label(method);
        let status = status.as_u16();
        {
            let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = routes.get(route).and_then(|all| {
                all.iter()
                    .find(|s| s.method == method && s.status == status)
            }) {
                s.requests.increment(1);
                s.latency.record(took.as_secs_f64());
                return;
            }
        }
        let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
        let all = routes.entry(route.into()).or_default();
        if !all.iter().any(|s| s.method == method && s.status == status) {
            let labels = vec![
                Label::new("route", route.to_owned()),
                Label::from_static_parts("method", method),
                Label::new("status", status.to_string()),
            ];
            all.push(Series {
                method,
                status,
                requests: self
                    .recorder
                    .register_counter(&Key::from_parts(REQUESTS, labels.clone()), &META),
                latency: self
                    .recorder
                    .register_histogram(&Key::from_parts(LATENCY, labels), &META),
            });
        }
        if let Some(s) = all
            .iter()
            .find(|s| s.method == method && s.status == status)
        {
            s.requests.increment(1);
            s.latency.record(took.as_secs_f64());
        }
    }

    /// The product's series in the text format.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// Methods outside the standard ones share one label, so a client cannot mint series.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Series read when scraped (gauges, and counters kept elsewhere), written straight in the
/// text format; each sample carries the product's label when one is given.
#[derive(Default)]
pub struct Gauges {
    out: String,
    product: Option<&'static str>,
}

impl Gauges {
    /// Every sample labelled `product="<product>"`, as the product's HTTP series are.
    pub fn for_product(product: &'static str) -> Self {
        Self {
            out: String::new(),
            product: Some(product),
        }
    }

    /// One gauge family: `name` with `help`, one sample per (labels, value).
    pub fn family<'a>(
        &mut self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (&'a [(&'a str, &'a str)], f64)>,
    ) {
        self.write(name, "gauge", help, samples);
    }

    /// One counter family (a total kept elsewhere, read now).
    pub fn counters<'a>(
        &mut self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (&'a [(&'a str, &'a str)], f64)>,
    ) {
        self.write(name, "counter", help, samples);
    }

    fn write<'a>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        samples: impl IntoIterator<Item = (&'a [(&'a str, &'a str)], f64)>,
    ) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        let product = self.product.map(|p| ("product", p));
        for (labels, value) in samples {
            self.out.push_str(name);
            let mut labels = product.iter().chain(labels).peekable();
            if labels.peek().is_some() {
                self.out.push('{');
                for (i, (k, v)) in labels.enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
                }
                self.out.push('}');
            }
            let _ = writeln!(self.out, " {value}");
        }
        self.out.push('\n');
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// The process-wide series' text without the samples labelled with another product than
/// `product` (job outcomes and durations carry the product whose worker ran them), so that
/// each product's scrape counts only its own; samples without a product label stay, as the
/// process's.
pub fn without_other_products(text: &str, product: &str) -> String {
    let own = format!("product=\"{product}\"");
    text.lines()
        .filter(|line| line.starts_with('#') || !line.contains("product=\"") || line.contains(&own))
        .fold(String::with_capacity(text.len()), |mut out, line| {
            out.push_str(line);
            out.push('\n');
            out
        })
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// This process's resident memory in bytes (Linux `/proc/self/statm`), when known.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn series_are_per_route_template_with_histograms_and_help() {
        let m = ProductMetrics::new("demo");
        for _ in 0..3 {
            m.record(
                Some("/things/{id}"),
                &Method::GET,
                StatusCode::OK,
                Duration::from_micros(300),
            );
        }
        m.record(
            None,
            &Method::from_bytes(b"BREW").unwrap(),
            StatusCode::NOT_FOUND,
            Duration::ZERO,
        );
        let text = m.render();
        assert!(text.contains("# HELP http_requests_total "), "{text}");
        assert!(
            text.contains("# TYPE http_request_duration_seconds histogram"),
            "{text}"
        );
        let count = text
            .lines()
            .find(|l| l.starts_with("http_requests_total{") && l.contains("/things/{id}"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            count.contains("product=\"demo\"") && count.contains("status=\"200\""),
            "{count}"
        );
        assert!(count.ends_with(" 3"), "{count}");
        assert!(
            text.contains("le=\"0.0005\"") && text.contains("method=\"OTHER\""),
            "{text}"
        );
        assert!(text.contains("route=\"unmatched\""), "{text}");
        // Another product's recorder does not see these.
        assert!(
            !ProductMetrics::new("other")
                .render()
                .contains("/things/{id}")
        );
    }

    #[test]
    fn a_products_gauges_and_counters_carry_its_label() {
        let mut g = Gauges::for_product("demo");
        g.family("up", "Up.", [(&[][..], 1.0)]);
        g.counters("calls_total", "Calls.", [(&[("vendor", "x")][..], 3.0)]);
        let text = g.finish();
        assert!(
            text.contains("# TYPE up gauge\nup{product=\"demo\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE calls_total counter\ncalls_total{product=\"demo\",vendor=\"x\"} 3\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn another_products_process_wide_samples_are_left_out() {
        let text = "# TYPE jobs_completed_total counter\n\
                    jobs_completed_total{kind=\"a\",product=\"demo\"} 1\n\
                    jobs_completed_total{kind=\"a\",product=\"other\"} 2\n\
                    http_connections_open 3\n";
        assert_eq!(
            without_other_products(text, "demo"),
            "# TYPE jobs_completed_total counter\n\
             jobs_completed_total{kind=\"a\",product=\"demo\"} 1\n\
             http_connections_open 3\n"
        );
    }

    #[test]
    fn gauges_have_help_type_and_escaped_labels() {
        let mut g = Gauges::default();
        g.family("jobs", "Jobs.", [(&[("queue", "a\"b")][..], 2.0)]);
        let text = g.finish();
        assert!(
            text.contains("# HELP jobs Jobs.\n# TYPE jobs gauge\njobs{queue=\"a\\\"b\"} 2\n"),
            "{text}"
        );
    }
}
