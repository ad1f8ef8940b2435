//! `/metrics` as an operator scrapes it: the four products served by one process, each port
//! answering only its own product's series, behind the optional bearer token
//! (`<PRODUCT>_METRICS_TOKEN`, else `METRICS_TOKEN`) refused in the product's error shape.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

mod support;
use support::{basalt, free_port};

const PRODUCTS: [&str; 4] = ["warroom", "pawfect", "crenoir", "leadgen"];

/// Ends the server however the test ends.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The error's code, wherever the product's shape puts it: `{ code }` (War Room,
/// PawfectMatch), `{ error: { code } }` (Crenoir X MAP), `{ error: { code, requestId } }`
/// (LeadGen).
fn error_code(product: &str, body: &serde_json::Value) -> String {
    let error = match product {
        "warroom" | "pawfect" => body,
        "crenoir" => &body["error"],
        "leadgen" => {
            assert!(body["error"]["requestId"].is_string(), "{body}");
            &body["error"]
        }
        other => panic!("unknown product {other}"),
    };
    assert!(error["message"].is_string(), "{product}: {body}");
    error["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

#[tokio::test]
async fn each_port_serves_its_own_products_series_behind_the_scrape_token() {
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = PRODUCTS.iter().map(|_| free_port()).collect();
    let mut cmd = basalt(dir.path());
    cmd.arg("serve")
        .env("RUST_LOG", "warn")
        .env("METRICS_TOKEN", "shared-scrape-token")
        .env("WARROOM_METRICS_TOKEN", "war-room-own-token")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, port) in PRODUCTS.iter().zip(&ports) {
        let upper = name.to_uppercase();
        cmd.env(format!("{upper}_LISTEN"), format!("127.0.0.1:{port}"))
            .env_remove(format!("{upper}_METRICS_TOKEN"));
    }
    cmd.env("WARROOM_METRICS_TOKEN", "war-room-own-token");
    let _server = Serving(cmd.spawn().unwrap());

    let http = reqwest::Client::new();
    let base = |port: u16| format!("http://127.0.0.1:{port}");
    for port in &ports {
        let deadline = Instant::now() + Duration::from_secs(30);
        while http
            .get(format!("{}/healthz", base(*port)))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "port {port} did not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A request of each product's own, so that its HTTP series exist.
        http.get(format!("{}/readyz", base(*port)))
            .send()
            .await
            .unwrap();
    }

    for (product, port) in PRODUCTS.iter().zip(&ports) {
        let scrape = |token: Option<&'static str>| {
            let mut req = http.get(format!("{}/metrics", base(*port)));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
        };
        let (right, wrong) = match *product {
            "warroom" => ("war-room-own-token", "shared-scrape-token"),
            _ => ("shared-scrape-token", "war-room-own-token"),
        };
        for token in [None, Some(wrong), Some("")] {
            let r = scrape(token).await.unwrap();
            assert_eq!(r.status(), 401, "{product} with {token:?}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(error_code(product, &body), "unauthenticated", "{body}");
        }

        let r = scrape(Some(right)).await.unwrap();
        assert_eq!(r.status(), 200, "{product}");
        let text = r.text().await.unwrap();
        let own = format!("product=\"{product}\"");
        for family in [
            "# TYPE http_requests_total counter",
            "# TYPE http_request_duration_seconds histogram",
            "# TYPE db_pool_connections gauge",
            "# TYPE process_resident_memory_bytes gauge",
            "# Process-wide series",
        ] {
            assert!(text.contains(family), "{product}: no {family} in\n{text}");
        }
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        assert!(
            samples.iter().any(|l| l.starts_with("http_requests_total{")
                && l.contains(&own)
                && l.contains("route=\"/readyz\"")),
            "{product}: its own request is not counted:\n{text}"
        );
        for other in PRODUCTS.iter().filter(|p| *p != product) {
            let theirs = format!("product=\"{other}\"");
            assert!(
                !samples.iter().any(|l| l.contains(&theirs)),
                "{product}'s scrape has {other}'s series:\n{text}"
            );
        }
        // The product's gauges carry its label too.
        assert!(
            samples
                .iter()
                .any(|l| l.starts_with("db_pool_connections{") && l.contains(&own)),
            "{text}"
        );
        // Vendors and their breakers: War Room's (in MOCK mode nothing is called live).
        let breakers: Vec<&&str> = samples
            .iter()
            .filter(|l| l.starts_with("vendor_breaker_state{"))
            .collect();
        if *product == "warroom" {
            assert!(
                breakers.len() >= 3 && breakers.iter().all(|l| l.ends_with(" 0")),
                "{text}"
            );
            assert!(
                samples.iter().any(|l| l.starts_with("vendor_calls_total{")
                    && l.contains("outcome=\"short_circuited\"")
                    && l.ends_with(" 0")),
                "{text}"
            );
        } else {
            assert!(breakers.is_empty(), "{product} calls no vendor:\n{text}");
        }
    }
}
