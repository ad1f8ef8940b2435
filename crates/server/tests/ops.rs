//! The operator's commands against a real data directory, through the real binary: user
//! list, set-password and delete (which ends a live session), backup while serving and a
//! restore round trip, the PostgreSQL backup path, demo seeding, and migration status.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::{
    path::Path,
    process::{Child, Output, Stdio},
    time::{Duration, Instant},
};

mod support;
use support::{basalt, free_port};

const PASSWORD: &str = "a long enough passphrase";

fn run(dir: &Path, args: &[&str]) -> Output {
    basalt(dir).args(args).output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "basalt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn create(dir: &Path, email: &str, role: &str) {
    ok(
        dir,
        &[
            "user",
            "create",
            "warroom",
            "--email",
            email,
            "--password",
            PASSWORD,
            "--role",
            role,
        ],
    );
}

struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Served {
    let port = free_port();
    let child = basalt(dir)
        .args(["serve", "warroom", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Served {
        child,
        base: format!("http://127.0.0.1:{port}/api/v1"),
    }
}

async fn status_of_me(http: &reqwest::Client, base: &str, token: &str) -> u16 {
    http.get(format!("{base}/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `GET /auth/me`'s status once it is `want`, or the last one seen after the longest a running
/// server may take to learn of a change made by another process: the CLI has no Redis here,
/// so the server's session cache drops the entry when it expires
/// (`platform::identity::cache::SESSION_CACHE_TTL`, docs/observability.md).
async fn status_of_me_within_ttl(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    want: u16,
) -> u16 {
    let deadline =
        Instant::now() + platform::identity::cache::SESSION_CACHE_TTL + Duration::from_secs(2);
    loop {
        let status = status_of_me(http, base, token).await;
        if status == want || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(http: &reqwest::Client, base: &str, email: &str, password: &str) -> u16 {
    http.post(format!("{base}/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn user_list_set_password_and_delete_act_on_the_servers_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    create(dir, "root@example.com", "admin");
    create(dir, "ana@example.com", "analyst");

    let listed: serde_json::Value =
        serde_json::from_str(&ok(dir, &["user", "list", "warroom", "--json"])).unwrap();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["email"], "root@example.com");
    assert_eq!(rows[1]["role"], "analyst");
    assert_eq!(rows[1]["verified"], true);
    assert!(rows[0]["id"].is_string() && rows[0]["created"].is_string());
    let table = ok(dir, &["user", "list", "warroom"]);
    let header = table.lines().next().unwrap();
    for column in ["id", "email", "role", "verified", "created"] {
        assert!(header.contains(column), "{table}");
    }
    assert!(table.contains("ana@example.com") && table.contains("analyst"));

    let server = serve(dir);
    let http = reqwest::Client::new();
    let token = ok(
        dir,
        &["user", "token", "warroom", "--email", "ana@example.com"],
    );
    assert_eq!(status_of_me(&http, &server.base, token.trim()).await, 200);

    let new_password = "another long passphrase";
    let short = run(
        dir,
        &[
            "user",
            "set-password",
            "warroom",
            "--email",
            "ana@example.com",
            "--password",
            "short",
        ],
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    ok(
        dir,
        &[
            "user",
            "set-password",
            "warroom",
            "--email",
            "ana@example.com",
            "--password",
            new_password,
        ],
    );
    assert_eq!(
        status_of_me_within_ttl(&http, &server.base, token.trim(), 401).await,
        401,
        "a new password ends the account's sessions"
    );
    assert_eq!(
        login(&http, &server.base, "ana@example.com", PASSWORD).await,
        401
    );
    assert_eq!(
        login(&http, &server.base, "ana@example.com", new_password).await,
        200
    );

    let token = ok(
        dir,
        &["user", "token", "warroom", "--email", "ana@example.com"],
    );
    assert_eq!(status_of_me(&http, &server.base, token.trim()).await, 200);
    ok(
        dir,
        &["user", "delete", "warroom", "--email", "ana@example.com"],
    );
    assert_eq!(
        status_of_me_within_ttl(&http, &server.base, token.trim(), 401).await,
        401,
        "a deleted account's live session ends"
    );
    assert_eq!(
        login(&http, &server.base, "ana@example.com", new_password).await,
        401
    );
    let missing = run(
        dir,
        &["user", "delete", "warroom", "--email", "ana@example.com"],
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no warroom account"));
    let listed: serde_json::Value =
        serde_json::from_str(&ok(dir, &["user", "list", "warroom", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn backup_while_serving_then_restore_brings_the_data_back() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let out = tempfile::tempdir().unwrap();
    let backups = out.path().join("backups");
    create(dir, "kept@example.com", "admin");

    let server = serve(dir);
    ok(
        dir,
        &["backup", "warroom", "--out", backups.to_str().unwrap()],
    );
    let copy = backups.join("warroom.db");
    assert!(copy.is_file());
    create(dir, "later@example.com", "viewer");
    let refused = run(
        dir,
        &["restore", "warroom", "--from", copy.to_str().unwrap()],
    );
    assert!(
        !refused.status.success(),
        "no restore under a running server"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("a server is using"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let again = run(
        dir,
        &["backup", "warroom", "--out", backups.to_str().unwrap()],
    );
    assert!(
        !again.status.success(),
        "an existing backup is not overwritten"
    );
    drop(server);

    let junk = out.path().join("junk.db");
    std::fs::write(&junk, "not a database").unwrap();
    let bad = run(
        dir,
        &["restore", "warroom", "--from", junk.to_str().unwrap()],
    );
    assert!(!bad.status.success());

    let restored = ok(
        dir,
        &["restore", "warroom", "--from", copy.to_str().unwrap()],
    );
    assert!(restored.contains("before-restore"), "{restored}");
    let listed = ok(dir, &["user", "list", "warroom", "--json"]);
    assert!(listed.contains("kept@example.com"), "{listed}");
    assert!(!listed.contains("later@example.com"), "{listed}");
    let aside = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("warroom.db.before-restore-")
        });
    assert!(aside, "the replaced database is kept aside");
}

#[test]
fn backup_of_a_postgres_product_points_at_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = basalt(dir.path())
        .args(["backup", "warroom", "--out", "unused"])
        .env("WARROOM_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pg_dump") && err.contains("WARROOM_DATABASE_URL"),
        "{err}"
    );
}

#[tokio::test]
async fn seed_demo_fills_each_product_once() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    for product in ["warroom", "pawfect", "crenoir", "leadgen"] {
        let seeded = ok(dir, &["seed", "demo", product]);
        assert!(seeded.contains("demo.admin@example.com"), "{seeded}");
        let twice = run(dir, &["seed", "demo", product]);
        assert!(!twice.status.success(), "{product} seeded twice");
        assert!(String::from_utf8_lossy(&twice.stderr).contains("already has demo data"));
    }
    let users: serde_json::Value =
        serde_json::from_str(&ok(dir, &["user", "list", "warroom", "--json"])).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 4, "one account per role");

    let server = serve(dir);
    let http = reqwest::Client::new();
    let token = ok(
        dir,
        &[
            "user",
            "token",
            "warroom",
            "--email",
            "demo.analyst@example.com",
        ],
    );
    let get = |path: &'static str| {
        http.get(format!("{}{path}", server.base))
            .bearer_auth(token.trim())
            .send()
    };
    let campaigns: serde_json::Value = get("/campaigns").await.unwrap().json().await.unwrap();
    assert_eq!(campaigns["total"], 3, "{campaigns}");
    let active = campaigns["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "active")
        .count();
    assert_eq!(active, 2);
    let alerts: serde_json::Value = get("/alerts").await.unwrap().json().await.unwrap();
    assert!(alerts["total"].as_u64().unwrap() >= 1, "{alerts}");
}

#[test]
fn migrate_status_lists_pending_then_applied() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let before = ok(dir, &["migrate", "--status", "leadgen"]);
    assert!(
        before.contains("pending") && !before.contains("applied"),
        "{before}"
    );
    assert!(before.contains("m0001_leadgen_organizations"), "{before}");
    ok(dir, &["migrate", "leadgen"]);
    let after = ok(dir, &["migrate", "--status", "leadgen"]);
    assert!(
        after.contains("applied") && !after.contains("pending"),
        "{after}"
    );
}
