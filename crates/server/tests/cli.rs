//! The `basalt` binary as an operator runs it: subcommands, the first-admin hint, and a
//! graceful stop on SIGTERM.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

mod support;
use support::{basalt, free_port};

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

/// The document's `servers` names where the product is served: its public URL when one is
/// configured, else its listen address, as `serve` would resolve them.
#[test]
fn openapi_names_the_configured_server() {
    let dir = tempfile::tempdir().unwrap();
    let servers = |envs: &[(&str, &str)]| {
        let mut cmd = basalt(dir.path());
        cmd.args(["openapi", "leadgen"])
            .env_remove("LEADGEN_LISTEN")
            .env_remove("LEADGEN_PUBLIC_URL")
            .env_remove("LEADGEN_APP_URL");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["servers"][0]["url"].as_str().unwrap().to_owned()
    };
    assert_eq!(servers(&[]), "http://127.0.0.1:3200");
    assert_eq!(
        servers(&[("LEADGEN_LISTEN", "0.0.0.0:8123")]),
        "http://0.0.0.0:8123"
    );
    assert_eq!(
        servers(&[
            ("LEADGEN_LISTEN", "0.0.0.0:8123"),
            ("LEADGEN_PUBLIC_URL", "https://api.leadgen.example")
        ]),
        "https://api.leadgen.example"
    );
    // The file's public URL, under the product's table.
    let config = dir.path().join("basalt.toml");
    std::fs::write(
        &config,
        "[products.leadgen]\npublic_url = \"https://from-file.example\"\n",
    )
    .unwrap();
    let out = basalt(dir.path())
        .args(["openapi", "leadgen", "--config"])
        .arg(&config)
        .env_remove("LEADGEN_PUBLIC_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["servers"][0]["url"], "https://from-file.example");
    // Printing a document generates no secret and creates no database.
    assert!(!dir.path().join("secrets").exists());
    assert!(!dir.path().join("leadgen.db").exists());
}

/// `basalt gen types` prints TypeScript in openapi-typescript's shape for every product: a
/// `paths` entry per path pointing at `operations` by operationId, the schemas under
/// `components`. (scripts/openapi-check.sh compiles it under `tsc --strict` and checks it
/// is the same types as openapi-typescript's.)
#[test]
fn gen_types_prints_the_typescript_of_every_products_document() {
    let dir = tempfile::tempdir().unwrap();
    for product in ["warroom", "pawfect", "crenoir", "leadgen"] {
        let doc = basalt(dir.path())
            .args(["openapi", product])
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&doc.stdout).unwrap();
        let out = basalt(dir.path())
            .args(["gen", "types", product])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ts = String::from_utf8(out.stdout).unwrap();
        for section in [
            "export interface paths {",
            "export interface components {",
            "export interface operations {",
        ] {
            assert!(ts.contains(section), "{product}: no {section}");
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            assert!(
                ts.contains(&format!("    \"{path}\": {{\n")),
                "{product}: {path}"
            );
            for (method, op) in item.as_object().unwrap() {
                let Some(id) = op["operationId"].as_str() else {
                    continue;
                };
                assert!(
                    ts.contains(&format!("        {method}: operations[\"{id}\"];")),
                    "{product}: {method} {path} does not point at {id}"
                );
                assert!(ts.contains(&format!("\n    {id}: {{\n")), "{product}: {id}");
            }
        }
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(
                ts.contains(&format!("\n        {name}: "))
                    || ts.contains(&format!("\n        \"{name}\": ")),
                "{product}: schema {name}"
            );
        }
    }
    let out = basalt(dir.path())
        .args(["gen", "types", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown product"));
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

/// Starts `serve`, reads stderr until the banner is complete (its CORS line is last), and
/// returns the child and banner. Stdout carries only JSON log lines.
fn serve(dir: &std::path::Path, port: u16) -> (std::process::Child, String) {
    let mut child = basalt(dir)
        .args(["serve", "warroom", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut banner = String::new();
    while let Some(Ok(line)) = lines.next() {
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("CORS") {
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
    assert!(
        banner.contains("data mode Mock, database sqlite://"),
        "{banner}"
    );
    assert!(
        banner.contains("CORS: no browser origin allowed; set WARROOM_CORS_ORIGINS="),
        "outside --dev the banner says how to open CORS: {banner}"
    );
    let hint = banner
        .lines()
        .find(|l| l.contains("user create warroom"))
        .unwrap_or_else(|| panic!("no first-admin hint: {banner}"));
    let data_dir = std::path::absolute(dir.path()).unwrap();
    assert!(
        hint.contains(&format!("--data-dir {}", data_dir.display())),
        "the hint repeats the data dir: {hint}"
    );
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

    // The hint followed verbatim, from another directory and without the test's flags, makes
    // the admin the server finds: the hint is gone, and the generated JWT key was kept.
    let key = std::fs::read_to_string(dir.path().join("secrets/warroom.jwt")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let command = hint
        .trim()
        .replacen("basalt", env!("CARGO_BIN_EXE_basalt"), 1)
        .replace("<a long passphrase>", "a long enough passphrase");
    let created = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(elsewhere.path())
        .env_remove("BASALT_DATA_DIR")
        .env_remove("DATABASE_URL")
        .env_remove("WARROOM_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(
        !elsewhere.path().join("data").exists(),
        "the hint made no data dir where it was run"
    );
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

/// `serve --dev` as a newcomer meets it: the banner says CORS is open to the local frontend
/// origins and mails are printed; a LeadGen sign-up's verification link, copied verbatim from
/// the console, verifies the address; sign-in then works; a reset link's form sets a password.
#[tokio::test]
async fn dev_mode_prints_mail_links_that_work_and_opens_cors_to_local_frontends() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = basalt(dir.path())
        .args(["serve", "leadgen", "--dev", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .env_remove("LEADGEN_APP_URL")
        .env_remove("LEADGEN_CORS_ORIGINS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = |what: &str| -> String {
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no line on stderr while waiting for {what}"))
    };
    let mut banner = String::new();
    while !banner.contains("mail's subject and links are printed here") {
        banner.push_str(&next_line("the banner"));
        banner.push('\n');
    }
    assert!(
        banner.contains("dev mode: CORS allows http://localhost:5173"),
        "{banner}"
    );
    wait_healthy(port);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{base}/api/auth/login"))
        .header("Origin", "http://localhost:5173")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("http://localhost:5173"),
        "a Vite app may call the API in dev mode"
    );

    let email = "newcomer@example.com";
    let password = "a long enough passphrase";
    let registered = http
        .post(format!("{base}/api/auth/register"))
        .json(&serde_json::json!({ "email": email, "password": password, "name": "Newcomer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 202);
    // The mail's header line, then its links.
    let mail_link = |subject: &str| -> String {
        loop {
            let line = next_line(subject);
            if line.contains(&format!("[leadgen mail] to {email}: {subject}")) {
                return next_line("the mail's link").trim().to_owned();
            }
        }
    };
    let link = mail_link("Confirm your LeadGen email");
    assert!(
        link.starts_with(&format!("{base}/verify-email?token=")),
        "{link}"
    );
    let login = || {
        http.post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
    };
    assert_eq!(login().await.unwrap().status(), 403, "not verified yet");
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("confirmed"));
    let again = http.get(&link).send().await.unwrap();
    assert_eq!(again.status(), 400, "a verification link works once");
    let signed_in = login().await.unwrap();
    assert_eq!(signed_in.status(), 200);
    let body: serde_json::Value = signed_in.json().await.unwrap();
    assert!(body["accessToken"].is_string());

    // A reset link opens a form; only its POST spends the token.
    let asked = http
        .post(format!("{base}/api/auth/reset-password"))
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 200);
    let link = mail_link("Reset your LeadGen password");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let form = http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(form.contains(&format!("value=\"{token}\"")), "{form}");
    let short = http
        .post(format!("{base}/reset-password"))
        .form(&[("token", token.as_str()), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 400);
    let refused = short.text().await.unwrap();
    assert!(refused.contains("at least 8 characters"), "{refused}");
    let new_password = "another long passphrase";
    let set = http
        .post(format!("{base}/reset-password"))
        .form(&[("token", token.as_str()), ("password", new_password)])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let with_new = http
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": new_password }))
        .send()
        .await
        .unwrap();
    assert_eq!(with_new.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
