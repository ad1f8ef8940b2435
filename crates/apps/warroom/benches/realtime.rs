//! War Room's realtime benchmark: WebSocket fan-out to many clients and the time from a
//! mention batch to the crisis alert on a client's screen. Run it with
//! `cargo bench -p warroom --bench realtime`, and tune it with `BENCH_CLIENTS` (default
//! 10,000, issue 13's figure), `BENCH_EVENTS` (default 200), `BENCH_RATE` (events per second,
//! default 20: 200,000 deliveries a second to 10,000 clients), `BENCH_CONNECT_PARALLEL`
//! (connections opened at once, default 64), `BENCH_SERVER_CPU` / `BENCH_CLIENT_CPU` (pin the
//! server child and this process to one CPU each with `taskset`, as scripts/bench.sh does) and
//! `BENCH_ROUNDS` (crisis-alert rounds, default 20).
//!
//! The server runs in a child process (this executable re-run with `BENCH_ROLE=server`) on
//! SQLite in a temporary directory, so its memory is measured apart from the clients':
//! memory per connection is the growth of the server's resident set while the clients connect,
//! divided by their number. The child takes commands on stdin (`publish`, `crisis`) and
//! publishes through the same code paths ingestion uses; every event carries its publish time
//! (`at`), and clients measure latency against it (one machine, one clock). The server's CPU
//! time (`/proc/PID/stat`) over the fan-out gives the deliveries per second per busy core.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "bench-password-1234";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    if std::env::var("BENCH_ROLE").as_deref() != Ok("server")
        && std::env::args().any(|a| a == "--bench")
        && let Ok(cpu) = std::env::var("BENCH_CLIENT_CPU")
    {
        // Before the runtime starts its threads, which inherit the affinity.
        let pid = std::process::id().to_string();
        let status = Command::new("taskset")
            .args(["-a", "-p", "-c", &cpu, &pid])
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(
            status.success(),
            "taskset could not pin the client to CPU {cpu}"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if std::env::var("BENCH_ROLE").as_deref() == Ok("server") {
        runtime.block_on(server::run())
    } else if std::env::args().any(|a| a == "--bench") {
        runtime.block_on(client())
    } else {
        // `cargo test --benches` runs bench targets without `--bench`: nothing to measure.
        Ok(())
    }
}

/// The server side, in the child process.
mod server {
    use std::net::SocketAddr;

    use chrono::Utc;
    use platform::{core::OperatorUser, secrets::Secret, settings::ProductSettings};
    use std::io::BufRead;

    use serde_json::json;
    use uuid::Uuid;
    use warroom::{
        domain::{
            monitoring::ConfigId,
            stream::{EventType, Priority, StreamingData, StreamingKind},
        },
        integrations::mentionlytics::SourceMention,
        service::ingest::{self, Window},
    };

    use super::{EMAIL, PASSWORD};

    /// `per_minute × minutes` mentions of Rivera ending at `until`.
    fn mentions(
        tag: &str,
        until: chrono::DateTime<Utc>,
        per_minute: i64,
        minutes: i64,
        sentiment: f64,
        text: &str,
    ) -> Vec<SourceMention> {
        (0..per_minute * minutes)
            .map(|i| SourceMention {
                source_id: format!("{tag}-{i}"),
                text: text.to_owned(),
                author: format!("voter{i}"),
                platform: "twitter".into(),
                url: format!("https://twitter.com/voter{i}/status/{i}"),
                sentiment: Some(sentiment),
                reach: 2000,
                engagement: 40,
                timestamp: until - chrono::Duration::seconds(i * 60 / per_minute),
                location: None,
                language: "en".into(),
                matched: Some("Rivera".into()),
            })
            .collect()
    }

    pub async fn run() -> anyhow::Result<()> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = std::env::temp_dir().join(format!("basalt-bench-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("warroom.db").display());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let secret = Secret::new(Uuid::new_v4().to_string() + &Uuid::new_v4().to_string());
        let mut settings = ProductSettings::new(addr, url, secret);
        // No mock mentions of its own: the benchmark scripts what arrives.
        settings.vendors = settings.vendors.with("MOCK_MENTIONS_PER_MINUTE", "0");
        let app = platform::product::build::<warroom::WarRoom>(&settings).await?;
        let user = OperatorUser {
            email: EMAIL,
            password: PASSWORD,
            name: "Bench",
            role: "manager",
        };
        app.ctx.create_operator_user(user).await?;
        let ctx = app.ctx.clone();
        tokio::spawn(async move {
            let service = app
                .router
                .into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service).await
        });
        println!("READY {addr}");

        // Commands come on stdin, read by a thread (tokio's stdin is not compiled in).
        let (tx, mut commands) = tokio::sync::mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        while let Some(line) = commands.recv().await {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["publish", campaign, count, rate] => {
                    let campaign: Uuid = campaign.parse()?;
                    let (count, rate): (u64, u64) = (count.parse()?, rate.parse()?);
                    let every = std::time::Duration::from_secs_f64(1.0 / rate.max(1) as f64);
                    let mut tick = tokio::time::interval(every);
                    for n in 0..count {
                        tick.tick().await;
                        let message = StreamingData {
                            kind: StreamingKind::Mention,
                            campaign_id: campaign,
                            timestamp: Utc::now(),
                            data: json!({ "n": n, "text": "benchmark mention" }),
                            priority: Priority::Low,
                        };
                        ctx.streams.publish(EventType::LivePost, &message).await;
                    }
                    println!("DONE");
                }
                ["crisis", config] => {
                    let config = ConfigId(config.parse()?);
                    let view = ctx
                        .monitoring()
                        .find(config)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message))?
                        .ok_or_else(|| anyhow::anyhow!("no such config"))?;
                    // An hour of ordinary talk, then five minutes of outrage, as two polls
                    // would store them; the clock starts when the second batch is handed over.
                    let now = Utc::now();
                    let quiet_until = now - chrono::Duration::minutes(5);
                    let quiet = mentions(
                        "quiet",
                        quiet_until,
                        6,
                        60,
                        0.4,
                        "Rivera at the harbor fair",
                    );
                    let window = Window {
                        since: quiet_until - chrono::Duration::minutes(60),
                        until: quiet_until,
                        backfill: true,
                    };
                    ingest::ingest(&ctx, &view, quiet, window).await?;
                    let burst = mentions("burst", now, 40, 5, -0.8, "Rivera lied, resign now!");
                    let window = Window {
                        since: quiet_until,
                        until: now,
                        backfill: false,
                    };
                    println!("T0 {}", Utc::now().timestamp_micros());
                    ingest::ingest(&ctx, &view, burst, window).await?;
                }
                ["quit"] => break,
                _ => println!("ERROR unknown command {line:?}"),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}

/// A campaign for the benchmark, created over the API; its id.
async fn create_campaign(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<String> {
    let campaign: Value = http
        .post(format!("{base}/api/v1/campaigns"))
        .bearer_auth(token)
        .json(&json!({
            "name": "Benchmark campaign",
            "description": "",
            "startDate": "2026-01-01",
            "endDate": "2027-01-01",
            "budget": 1000,
            "targetAudience": {
                "demographics": { "ageRange": { "min": 18, "max": 99 }, "gender": ["all"],
                                  "income": "any", "education": "any" },
                "interests": [], "locations": [], "platforms": ["twitter"]
            }
        }))
        .send()
        .await?
        .json()
        .await?;
    campaign["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("campaign not created: {campaign}"))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket on `campaign`'s stream, past its `subscribed` message.
async fn campaign_socket(addr: &str, campaign: &str, token: &str) -> anyhow::Result<Socket> {
    let url = format!("ws://{addr}/ws/campaigns/{campaign}/stream");
    let mut req = url.as_str().into_client_request()?;
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("bearer, {token}"))?,
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains("\"subscribed\"") => return Ok(ws),
            Some(Ok(_)) => continue,
            _ => anyhow::bail!("the stream closed before `subscribed`"),
        }
    }
}

/// The CPU time, in seconds, every thread of process `pid` has used (Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, in parentheses: utime and stime are the 12th and 13th fields.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ, 100 on every Linux architecture that matters here.
    Some(ticks as f64 / 100.0)
}

/// The publish time (`at`) of a `live_post` event, read without parsing the whole message:
/// with 10,000 clients the client side must not become the bottleneck it measures.
fn live_post_at(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if !text.starts_with("{\"type\":\"live_post\"") {
        return None;
    }
    let rest = &text[text.rfind("\"at\":\"")? + 6..];
    let at = &rest[..rest.find('"')?];
    chrono::DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The server's resident set size in bytes (Linux).
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Latencies (ms) of every delivered event, and how many arrived.
#[derive(Default)]
struct Tally {
    latencies_ms: Mutex<Vec<f64>>,
    delivered: AtomicU64,
}

async fn client() -> anyhow::Result<()> {
    let clients = env_number("BENCH_CLIENTS", 10_000);
    let events = env_number("BENCH_EVENTS", 200);
    let rate = env_number("BENCH_RATE", 20);
    let parallel = env_number("BENCH_CONNECT_PARALLEL", 64).max(1) as usize;

    // `taskset` execs the benchmark: the child's pid is the server's.
    let mut command = match std::env::var("BENCH_SERVER_CPU") {
        Ok(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu]).arg(std::env::current_exe()?);
            c
        }
        Err(_) => Command::new(std::env::current_exe()?),
    };
    let mut child = command
        .env("BENCH_ROLE", "server")
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let mut child_in = child.stdin.take().expect("child stdin");
    let child_out = BufReader::new(child.stdout.take().expect("child stdout"));
    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in child_out.lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut read_line = async || -> anyhow::Result<String> {
        lines
            .recv()
            .await
            .ok_or_else(|| anyhow::anyhow!("the server exited"))
    };
    let ready = read_line().await?;
    let addr = ready
        .strip_prefix("READY ")
        .ok_or_else(|| anyhow::anyhow!("unexpected server output: {ready}"))?
        .to_owned();
    let base = format!("http://{addr}");

    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": EMAIL, "password": PASSWORD }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login failed: {login}"))?
        .to_owned();
    let campaign_id = create_campaign(&http, &base, &token).await?;

    println!(
        "War Room realtime benchmark: {clients} WebSocket clients, {events} events at {rate}/s"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_bytes(pid).unwrap_or(0);

    // Connect every client, `parallel` at a time, and wait for its `subscribed`.
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let sockets: Vec<Socket> = futures_util::stream::iter(0..clients)
        .map(|_| campaign_socket(&addr, &campaign_id, &token))
        .buffer_unordered(parallel)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let mut readers = Vec::new();
    for mut ws in sockets {
        let tally = tally.clone();
        readers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(t) = msg else { continue };
                let Some(at) = live_post_at(&t) else { continue };
                let ms = (chrono::Utc::now() - at).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                mine.push(ms);
                tally.delivered.fetch_add(1, Ordering::Relaxed);
            }
            tally.latencies_ms.lock().await.extend(mine);
        }));
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_bytes(pid).unwrap_or(0);

    // Fan-out: the server publishes `events` events; every client should receive each.
    let expected = clients * events;
    let cpu_before = cpu_seconds(pid);
    let publish_started = Instant::now();
    writeln!(child_in, "publish {campaign_id} {events} {rate}")?;
    let line = read_line().await?;
    anyhow::ensure!(line == "DONE", "unexpected server output: {line}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while tally.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fanout_secs = publish_started.elapsed().as_secs_f64();
    let delivered = tally.delivered.load(Ordering::Relaxed);
    let server_cpu = cpu_before
        .zip(cpu_seconds(pid))
        .map_or(f64::NAN, |(a, b)| b - a);

    // Alert latency: per round a fresh campaign under monitoring, an analyst's socket on it,
    // and a crisis-like batch; from the batch's hand-over to ingestion to the CRISIS alert.
    let rounds = env_number("BENCH_ROUNDS", 20);
    let mut alert_ms = Vec::new();
    for _ in 0..rounds {
        let campaign = create_campaign(&http, &base, &token).await?;
        let config: Value = http
            .post(format!("{base}/api/v1/monitoring/config"))
            .bearer_auth(&token)
            .json(&json!({ "campaignId": campaign, "keywords": ["Rivera"], "refreshInterval": 86400 }))
            .send()
            .await?
            .json()
            .await?;
        let config = config["configId"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("monitoring not started: {config}"))?
            .to_owned();
        let mut ws = campaign_socket(&addr, &campaign, &token).await?;
        writeln!(child_in, "crisis {config}")?;
        let line = read_line().await?;
        let t0: i64 = line
            .strip_prefix("T0 ")
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("unexpected server output: {line}"))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let msg = tokio::time::timeout_at(deadline, ws.next())
                .await
                .map_err(|_| anyhow::anyhow!("no crisis alert within 30 s"))?;
            let Some(Ok(Message::Text(t))) = msg else {
                continue;
            };
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == "crisis_alert" && v["data"]["data"]["type"] == "CRISIS" {
                let micros = chrono::Utc::now().timestamp_micros() - t0;
                alert_ms.push(micros as f64 / 1000.0);
                break;
            }
        }
    }
    alert_ms.sort_by(|a, b| a.total_cmp(b));

    writeln!(child_in, "quit")?;
    let _ = child.wait();
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
    }
    let mut lat = std::mem::take(&mut *tally.latencies_ms.lock().await);
    lat.sort_by(|a, b| a.total_cmp(b));

    println!("  connect:    {clients} clients in {connect_secs:.2} s");
    println!(
        "  memory:     server RSS {:.1} MiB -> {:.1} MiB: {:.1} KiB per connection",
        rss_before as f64 / 1048576.0,
        rss_after as f64 / 1048576.0,
        rss_after.saturating_sub(rss_before) as f64 / 1024.0 / clients.max(1) as f64
    );
    println!(
        "  fan-out:    {delivered}/{expected} deliveries in {fanout_secs:.2} s = {:.0} events/s delivered",
        delivered as f64 / fanout_secs
    );
    println!(
        "  per core:   the server used {server_cpu:.2} CPU s ({:.2} cores busy): {:.0} events/s delivered per busy core (goal ≥ 200,000)",
        server_cpu / fanout_secs,
        delivered as f64 / server_cpu
    );
    println!(
        "  latency:    p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (publish to client; goal p99 < 50 ms)",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  alerts:     mention batch to CRISIS alert on a client ({} rounds): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        alert_ms.len(),
        percentile(&alert_ms, 0.50),
        percentile(&alert_ms, 0.99),
        alert_ms.last().copied().unwrap_or(f64::NAN)
    );
    anyhow::ensure!(
        delivered == expected,
        "events were lost: {delivered}/{expected}"
    );
    Ok(())
}
