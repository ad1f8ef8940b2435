//! The `basalt` binary as an operator runs it: subcommands, the first-admin hint, and a
//! graceful stop on SIGTERM.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn basalt(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_basalt"));
    c.arg("--data-dir").arg(data_dir);
    // The suite may run with DATABASE_URL pointing elsewhere; these tests own their SQLite.
    for v in [
        "DATABASE_URL",
        "WARROOM_DATABASE_URL",
        "DATA_MODE",
        "BASALT_DATA_DIR",
    ] {
        c.env_remove(v);
    }
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn openapi_prints_the_products_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = basalt(dir.path())
        .args(["openapi", "warroom"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/auth/login"]["post"].is_object());
    assert!(doc["components"]["schemas"]["Error"].is_object());
}

#[test]
fn pawfect_documents_both_mounts_and_its_root_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let out = basalt(dir.path())
        .args(["openapi", "pawfect"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for path in [
        "/api/v1/auth/login",
        "/api/auth/login",
        "/healthz",
        "/readyz",
        "/api/version",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

#[test]
fn migrate_creates_the_database_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = basalt(dir.path())
        .args(["migrate", "warroom"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("warroom.db").exists());
}

#[test]
fn user_create_refuses_duplicates_and_unknown_roles() {
    let dir = tempfile::tempdir().unwrap();
    let create = |email: &str, role: &str| {
        basalt(dir.path())
            .args([
                "user",
                "create",
                "warroom",
                "--email",
                email,
                "--password",
                "a long enough passphrase",
                "--role",
                role,
            ])
            .output()
            .unwrap()
    };
    let ok = create("root@example.com", "admin");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("created admin root@example.com"));
    assert!(!create("root@example.com", "admin").status.success());
    let bad = create("other@example.com", "emperor");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));
}

/// Starts `serve`, reads stdout until the banner is complete, and returns the child and banner.
fn serve(dir: &std::path::Path, port: u16) -> (std::process::Child, String) {
    let mut child = basalt(dir)
        .args(["serve", "warroom", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    while let Some(Ok(line)) = lines.next() {
        banner.push_str(&line);
        banner.push('\n');
        // The banner ends with the data-mode line; the admin hint, if any, comes before it.
        if line.contains("data mode") {
            break;
        }
    }
    (child, banner)
}

fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start");
}

#[test]
fn serve_prints_urls_and_the_first_admin_command_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut child, banner) = serve(dir.path(), port);
    assert!(
        banner.contains(&format!("http://127.0.0.1:{port}/api/v1")),
        "{banner}"
    );
    assert!(banner.contains("/docs"), "{banner}");
    assert!(banner.contains("basalt user create warroom"), "{banner}");
    wait_healthy(port);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "server ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");

    // With an admin present the hint is gone, and the generated JWT key was kept.
    let key = std::fs::read_to_string(dir.path().join("secrets/warroom.jwt")).unwrap();
    basalt(dir.path())
        .args([
            "user",
            "create",
            "warroom",
            "--email",
            "a@example.com",
            "--password",
            "a long enough passphrase",
        ])
        .output()
        .unwrap();
    let (mut child, banner) = serve(dir.path(), port);
    assert!(!banner.contains("basalt user create"), "{banner}");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("secrets/warroom.jwt")).unwrap(),
        key
    );
}

#[test]
fn crenoir_documents_its_sign_in_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let out = basalt(dir.path())
        .args(["openapi", "crenoir"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for path in [
        "/auth/google/login",
        "/auth/saml/login",
        "/auth/saml/metadata",
        "/auth/user/profile",
        "/auth/logout",
        "/auth/refresh",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["paths"]["/auth/google/login"]["post"]["responses"]["422"].is_object());
}

/// `basalt serve` with no product names starts all four, each on its own port.
#[test]
fn serve_without_names_starts_every_product() {
    let dir = tempfile::tempdir().unwrap();
    let products = [
        ("warroom", "War Room"),
        ("pawfect", "PawfectMatch"),
        ("crenoir", "Crenoir X MAP"),
        ("leadgen", "LeadGen"),
    ];
    let mut cmd = basalt(dir.path());
    cmd.arg("serve")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let ports: Vec<u16> = products.iter().map(|_| free_port()).collect();
    for ((name, _), port) in products.iter().zip(&ports) {
        cmd.env(
            format!("{}_LISTEN", name.to_uppercase()),
            format!("127.0.0.1:{port}"),
        );
    }
    let mut child = cmd.spawn().unwrap();
    for ((name, title), port) in products.iter().zip(&ports) {
        wait_healthy(*port);
        let doc = http_get(*port, "/openapi.json");
        assert!(
            doc.contains(title),
            "{name} on {port} serves another document"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A minimal HTTP/1.1 GET (the binary's tests need no HTTP client for one request).
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
