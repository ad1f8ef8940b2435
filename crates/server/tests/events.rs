//! Events that cannot be lost, through the real binary: War Room instances on one database
//! (PostgreSQL with `TEST_DATABASE_URL`, else one SQLite file) and one Redis
//! (`TEST_REDIS_URL`; skipped without it). For each failpoint between a poll's commit and the
//! marking of its events (`BASALT_FAILPOINT`, `platform::realtime::EventLog`), an instance
//! aborts there in the middle of a poll, a second instance takes over, and an SSE client that
//! follows the campaign over a real socket, resuming with its last id on whichever instance is
//! up, must receive every polled mention's `live_post` exactly once, in id order, with no
//! resync.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::{
    collections::HashSet,
    os::unix::process::ExitStatusExt,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

mod support;
use support::{basalt, free_port};

const PASSWORD: &str = "a long enough passphrase";
const POINTS: [&str; 3] = [
    "events.after_commit",
    "events.mid_publish",
    "events.before_mark",
];

/// The database and Redis every instance of the test shares.
struct Shared {
    dir: tempfile::TempDir,
    /// `None`: the SQLite file in the data directory.
    database_url: Option<String>,
    redis_url: String,
    prefix: String,
    _db: Option<testkit::TestDb>,
}

impl Shared {
    fn command(&self) -> Command {
        let mut c = basalt(self.dir.path());
        if let Some(url) = &self.database_url {
            c.env("DATABASE_URL", url);
        }
        c.env("REDIS_URL", &self.redis_url)
            .env("REDIS_PREFIX", &self.prefix)
            // A steady stream of mentions, no bursts: every poll stores some, none too many.
            .env("MOCK_MENTIONS_PER_MINUTE", "120")
            .env("MOCK_BURST_EVERY_SECS", "0")
            .env("RUST_LOG", "warn");
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "basalt {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `basalt serve warroom`, aborting at `failpoint` if given; stderr goes to `<name>.log`.
    fn serve(&self, name: &str, failpoint: Option<&str>) -> Instance {
        let port = free_port();
        let log = self.dir.path().join(format!("{name}.log"));
        let mut c = self.command();
        c.args(["serve", "warroom", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(point) = failpoint {
            c.env("BASALT_FAILPOINT", point);
        }
        let mut child = c.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            // An instance with a failpoint may reach it before it listens: its relay publishes
            // what the previous instance left.
            if failpoint.is_some() && child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "{name} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.clone(),
        }
    }

    async fn query(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        let url = self
            .database_url
            .clone()
            .unwrap_or_else(|| platform::db::sqlite_url(self.dir.path(), "warroom"));
        let db = Database::connect(&url).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
        db.close().await.ok();
        rows
    }

    /// Every stored mention's id.
    async fn mentions(&self) -> HashSet<Uuid> {
        let rows = self.query("SELECT id FROM mentions").await;
        rows.iter()
            .map(|r| r.try_get::<Uuid>("", "id").unwrap())
            .collect()
    }

    /// Runs of poll jobs started so far.
    async fn poll_runs(&self) -> i64 {
        let sql = "SELECT COUNT(*) AS n FROM job_attempts a JOIN jobs j ON j.id = a.job_id \
                   WHERE j.kind = 'monitoring.poll'";
        self.query(sql).await[0].try_get("", "n").unwrap()
    }

    /// Poll jobs whose run has not finished (a dead instance's, until its lease expires).
    async fn running_polls(&self) -> i64 {
        let sql = "SELECT COUNT(*) AS n FROM jobs \
                   WHERE kind = 'monitoring.poll' AND status = 'running'";
        self.query(sql).await[0].try_get("", "n").unwrap()
    }

    /// Events in the log no instance has marked published.
    async fn unpublished(&self) -> i64 {
        let sql = "SELECT COUNT(*) AS n FROM realtime_events WHERE published_at IS NULL";
        self.query(sql).await[0].try_get("", "n").unwrap()
    }
}

struct Instance {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Instance {
    /// Waits for the process to abort at `point`.
    fn aborted_at(&mut self, point: &str, within: Duration) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "no abort at {point} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(status.signal(), Some(6), "{status:?}: SIGABRT expected");
        let log = std::fs::read_to_string(&self.log).unwrap();
        assert!(log.contains(&format!("aborting at {point}")), "{log}");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the client has seen, across its connections.
#[derive(Default)]
struct Seen {
    /// The last event id of the campaign's topic.
    last: Option<u64>,
    /// `live_post` mention ids, in arrival order.
    posts: Vec<Uuid>,
    /// Anything that breaks the promise: a gap, a duplicate, a resync.
    faults: Vec<String>,
}

/// An SSE client of `/api/v1/monitoring/stream?campaignId=`, resuming from `seen.last`; runs
/// until the connection ends.
async fn follow(base: String, token: String, campaign: Uuid, seen: Arc<Mutex<Seen>>) {
    let http = reqwest::Client::new();
    let mut url = format!("{base}/api/v1/monitoring/stream?campaignId={campaign}");
    if let Some(last) = seen.lock().unwrap().last {
        url.push_str(&format!("&lastEventId={last}"));
    }
    let Ok(res) = http.get(url).bearer_auth(token).send().await else {
        return;
    };
    if res.status() != 200 {
        let fault = format!("stream answered {}", res.status());
        seen.lock().unwrap().faults.push(fault);
        return;
    }
    let mut body = res.bytes_stream();
    let mut buf = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut name, mut data) = (String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            let Ok(msg) = serde_json::from_str::<Value>(&data) else {
                continue;
            };
            let mut s = seen.lock().unwrap();
            match name.as_str() {
                "subscribed" => {
                    let at = msg["seq"].as_u64().unwrap();
                    if let Some(last) = s.last
                        && last != at
                    {
                        s.faults.push(format!("resumed at {at}, last seen {last}"));
                    }
                    s.last = Some(at);
                }
                "resync" => s.faults.push(format!("resync: {msg}")),
                "live_post" | "trend_update" | "crisis_alert" => {
                    let seq = msg["seq"].as_u64().unwrap();
                    let want = s.last.unwrap_or(0) + 1;
                    if seq != want {
                        s.faults.push(format!("{name} {seq}, expected {want}"));
                    }
                    s.last = Some(seq);
                    if name == "live_post" {
                        let id: Uuid = msg["data"]["data"]["id"].as_str().unwrap().parse().unwrap();
                        if s.posts.contains(&id) {
                            s.faults.push(format!("mention {id} twice"));
                        }
                        s.posts.push(id);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Waits until the client has a `live_post` for every mention stored after `before`.
async fn every_mention_streamed(
    shared: &Shared,
    before: &HashSet<Uuid>,
    seen: &Arc<Mutex<Seen>>,
    round: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stored: HashSet<Uuid> = shared
            .mentions()
            .await
            .difference(before)
            .copied()
            .collect();
        let (faults, posted) = {
            let s = seen.lock().unwrap();
            (
                s.faults.clone(),
                s.posts.iter().copied().collect::<HashSet<Uuid>>(),
            )
        };
        assert!(faults.is_empty(), "{round}: {faults:?}");
        let missing = stored.difference(&posted).count();
        if missing == 0 {
            assert!(
                posted.is_subset(&stored),
                "{round}: a post of no stored mention"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{round}: {missing} of {} mentions never streamed",
            stored.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_at_any_point_of_a_poll_loses_no_event() {
    let Some(redis_url) = testkit::redis_url() else {
        return;
    };
    let db = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(testkit::TestDb::fresh("events").await),
        _ => None,
    };
    let shared = Shared {
        dir: tempfile::tempdir().unwrap(),
        database_url: db.as_ref().map(|d| d.url.clone()),
        redis_url,
        prefix: format!("test-{}", Uuid::new_v4().simple()),
        _db: db,
    };
    shared.ok(&[
        "user",
        "create",
        "warroom",
        "--email",
        "ops@example.com",
        "--password",
        PASSWORD,
        "--role",
        "admin",
    ]);
    let token = shared
        .ok(&["user", "token", "warroom", "--email", "ops@example.com"])
        .trim()
        .to_owned();

    // Set up on a first instance: a campaign, its config (polled every 10 s), and the first
    // poll, a backfill that streams a summary, not its mentions.
    let mut first = shared.serve("setup", None);
    let http = reqwest::Client::new();
    let campaign = create_campaign(&http, &first.base, &token).await;
    let config = http
        .post(format!("{}/api/v1/monitoring/config", first.base))
        .bearer_auth(&token)
        .json(&json!({
            "campaignId": campaign,
            "keywords": ["Rivera", "Harbor Bridge"],
            "competitors": ["Chen"],
            "influencers": [],
            "platforms": [],
            "alertThresholds": {
                "sentimentDrop": -0.3, "mentionSpike": 5, "crisisScore": 0.8, "engagementDrop": -0.5
            },
            "refreshInterval": 10
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 201);
    let config: Value = config.json().await.unwrap();
    let config_id = config["configId"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let view: Value = http
            .get(format!(
                "{}/api/v1/monitoring/config/{config_id}",
                first.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !view["polledUntil"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "no first poll: {view}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    first.kill();
    let backfill = shared.mentions().await;
    assert!(!backfill.is_empty());

    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut left_over = Vec::new();
    for (round, point) in POINTS.iter().enumerate() {
        // The instance that dies: its next poll aborts at `point`.
        let mut doomed = shared.serve(&format!("doomed-{round}"), Some(point));
        let client = tokio::spawn(follow(
            doomed.base.clone(),
            token.clone(),
            campaign,
            seen.clone(),
        ));
        tokio::task::spawn_blocking({
            let point = point.to_string();
            move || {
                doomed.aborted_at(&point, Duration::from_secs(40));
                doomed
            }
        })
        .await
        .unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), client).await;
        // What the dead instance committed and did not mark: only a relay can publish it now
        // (before the event log, a re-run of the poll found its mentions stored and announced
        // nothing).
        let left = shared.unpublished().await;
        assert!(left > 0, "{point}: the instance left nothing to relay");
        left_over.push(left);
        let runs = shared.poll_runs().await;

        // The survivor: its relay publishes what the dead one left; the client resumes there.
        let mut survivor = shared.serve(&format!("survivor-{round}"), None);
        let client = tokio::spawn(follow(
            survivor.base.clone(),
            token.clone(),
            campaign,
            seen.clone(),
        ));
        every_mention_streamed(&shared, &backfill, &seen, point).await;
        // The survivor's relay published (or, where the hub had them, marked) them all, and
        // no poll has run since: one would publish them too, as it publishes its topics from
        // their lowest unpublished event.
        let deadline = Instant::now() + Duration::from_secs(10);
        while shared.unpublished().await > 0 {
            assert!(
                Instant::now() < deadline,
                "{point}: events left unpublished"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            shared.poll_runs().await,
            runs,
            "{point}: a poll ran meanwhile"
        );
        // The dead instance's poll job runs again once its lease expires: it finds the
        // mentions stored and announces nothing twice. Waiting for it also keeps that re-run
        // out of the next round's relay check.
        let deadline = Instant::now() + Duration::from_secs(60);
        while shared.running_polls().await > 0 {
            assert!(
                Instant::now() < deadline,
                "{point}: the poll was not run again"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        every_mention_streamed(&shared, &backfill, &seen, point).await;
        survivor.kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), client).await;
    }
    {
        let s = seen.lock().unwrap();
        assert!(s.faults.is_empty(), "{:?}", s.faults);
        assert!(!s.posts.is_empty());
        eprintln!(
            "{} live posts streamed once each; events left by the killed instances: {left_over:?}",
            s.posts.len()
        );
    }
    remove_keys(&shared.redis_url, &shared.prefix).await;
}

async fn create_campaign(http: &reqwest::Client, base: &str, token: &str) -> Uuid {
    let r = http
        .post(format!("{base}/api/v1/campaigns"))
        .bearer_auth(token)
        .json(&json!({
            "name": "Harbor County Senate",
            "description": "General election",
            "startDate": "2026-01-01T00:00:00Z",
            "endDate": "2026-11-03T00:00:00Z",
            "budget": 25000,
            "targetAudience": {
                "demographics": {
                    "ageRange": { "min": 18, "max": 65 },
                    "gender": ["all"],
                    "income": "any",
                    "education": "any"
                },
                "interests": ["economy"],
                "locations": ["Harbor County"],
                "platforms": ["twitter", "facebook"]
            }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

async fn remove_keys(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
    }
}
