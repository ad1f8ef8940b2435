//! Outgoing mail: SMTP in LIVE mode (against a tiny fake SMTP server written here), the outbox
//! in MOCK mode, and never both.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use platform::{datamode::Mode, secrets::Secret, settings::ProductSettings};
use reqwest::Method;
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use crate::helpers::*;
use platform::validate::{Page, Paging};

/// One message as the fake server received it.
#[derive(Clone, Debug, Default)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

/// Speaks just enough SMTP for lettre: greeting, EHLO, MAIL, RCPT, DATA, RSET/NOOP, QUIT.
struct FakeSmtp {
    addr: SocketAddr,
    inbox: Arc<Mutex<Vec<Received>>>,
}

impl FakeSmtp {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let shared = inbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        Self { addr, inbox }
    }

    fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    fn messages(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) for a message to `rcpt`.
    async fn wait_for(&self, rcpt: &str) -> Received {
        for _ in 0..250 {
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| m.rcpt_to.iter().any(|r| r.contains(rcpt)))
            {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the SMTP server got no mail to {rcpt}; got: {:?}",
            self.messages()
        );
    }
}

async fn session(stream: TcpStream, inbox: Arc<Mutex<Vec<Received>>>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    if w.write_all(b"220 fake.smtp.test ESMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut current = Received::default();
    loop {
        let mut line = String::new();
        match r.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-fake.smtp.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            current = Received {
                mail_from: line[10..].trim().to_owned(),
                ..Default::default()
            };
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            current.rcpt_to.push(line[8..].trim().to_owned());
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            if w.write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                .await
                .is_err()
            {
                return;
            }
            let mut data = String::new();
            loop {
                let mut l = String::new();
                match r.read_line(&mut l).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l),
                );
            }
            current.data = data;
            inbox.lock().unwrap().push(std::mem::take(&mut current));
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            // RSET, NOOP and anything else lettre might say.
            b"250 OK\r\n"
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Undoes quoted-printable soft line breaks and `=3D`, so links can be found whatever
/// transfer encoding the mailer picked.
fn readable(data: &str) -> String {
    data.replace("=\r\n", "").replace("=3D", "=")
}

fn live_with(smtp: &FakeSmtp) -> impl FnOnce(&mut ProductSettings) {
    let url = smtp.url();
    move |s: &mut ProductSettings| {
        s.data_mode = Mode::Live;
        s.smtp_url = Some(Secret::new(url));
        s.mail_from = "War Room <no-reply@warroom.test>".into();
    }
}

async fn register(app: &TestApp, email: &str) -> Resp {
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({ "email": email, "password": PASSWORD, "name": "Sam" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r
}

#[tokio::test]
async fn in_live_mode_registration_mails_the_verification_link_over_smtp() {
    let smtp = FakeSmtp::start().await;
    let app = spawn_app_with(live_with(&smtp)).await;
    let reg = register(&app, "sam@example.com").await;

    let m = smtp.wait_for("sam@example.com").await;
    assert_eq!(m.rcpt_to, ["<sam@example.com>"], "{m:?}");
    assert!(m.mail_from.contains("no-reply@warroom.test"), "{m:?}");
    let text = readable(&m.data);
    assert!(text.contains("sam@example.com"), "no To header: {text}");
    assert!(
        text.contains("Confirm your War Room email"),
        "no subject: {text}"
    );
    let link_at = text
        .find("http://app.test/verify-email?token=")
        .unwrap_or_else(|| panic!("no link in {text}"));
    let token = extract_param(&text[link_at..], "token").unwrap();

    // The outbox saw nothing.
    assert_eq!(
        app.ctx.outbox.page(Paging::new(1, 10)).await.unwrap().total,
        0
    );

    // The link works.
    let r = app
        .post("/api/v1/auth/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let me = app
        .get("/api/v1/auth/me", reg.body["accessToken"].as_str())
        .await;
    assert_eq!(me.body["emailVerified"], true);
}

#[tokio::test]
async fn in_live_mode_a_reset_request_is_mailed_over_smtp() {
    let smtp = FakeSmtp::start().await;
    let app = spawn_app_with(live_with(&smtp)).await;
    app.create_user("ann@example.com", "viewer").await;
    let r = app
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({ "email": "ann@example.com" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = smtp.wait_for("ann@example.com").await;
    let text = readable(&m.data);
    assert!(
        text.contains("http://app.test/reset-password?token="),
        "{text}"
    );
    assert_eq!(
        app.ctx.outbox.page(Paging::new(1, 10)).await.unwrap().total,
        0
    );
    // Unknown addresses get the same answer and no mail.
    let r = app
        .post(
            "/api/v1/auth/reset-password",
            None,
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        smtp.messages()
            .iter()
            .all(|m| !m.rcpt_to.iter().any(|r| r.contains("nobody")))
    );
}

#[tokio::test]
async fn in_mock_mode_mail_goes_to_the_outbox_and_not_to_smtp() {
    let smtp = FakeSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.data_mode = Mode::Mock;
        s.smtp_url = Some(Secret::new(url));
    })
    .await;
    register(&app, "sam@example.com").await;
    let mails = app.mails_to("sam@example.com").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].0.contains("Confirm your War Room email"));
    assert!(mails[0].1.contains("http://app.test/verify-email?token="));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        smtp.messages().is_empty(),
        "SMTP used in MOCK mode: {:?}",
        smtp.messages()
    );
}

#[tokio::test]
async fn toggling_the_mode_at_run_time_switches_where_mail_goes() {
    let smtp = FakeSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |s| s.smtp_url = Some(Secret::new(url))).await;
    let admin = app.login_as("admin@example.com", "admin").await;

    register(&app, "first@example.com").await;
    assert_eq!(app.mails_to("first@example.com").await.len(), 1);

    let r = app
        .request(
            Method::POST,
            "/admin/toggle-mode",
            Some(&admin.access),
            Some(json!({ "mode": "LIVE" })),
        )
        .await;
    assert_eq!(r.body["data_mode"], "LIVE", "{}", r.text);
    register(&app, "second@example.com").await;
    let m = smtp.wait_for("second@example.com").await;
    assert!(readable(&m.data).contains("verify-email?token="));
    let Page {
        items: msgs, total, ..
    } = app.ctx.outbox.page(Paging::new(1, 10)).await.unwrap();
    assert_eq!(total, 1, "LIVE mail reached the outbox: {msgs:?}");
    assert!(
        smtp.messages()
            .iter()
            .all(|m| !m.rcpt_to.iter().any(|r| r.contains("first@")))
    );
}

#[tokio::test]
async fn a_resent_verification_mail_goes_over_smtp_in_live_mode() {
    let smtp = FakeSmtp::start().await;
    let app = spawn_app_with(live_with(&smtp)).await;
    let reg = register(&app, "sam@example.com").await;
    smtp.wait_for("sam@example.com").await;
    let r = app
        .request(
            Method::POST,
            "/api/v1/auth/verify-email",
            reg.body["accessToken"].as_str(),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for _ in 0..250 {
        if smtp.messages().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    // Two different links.
    let t1 = extract_param(&readable(&msgs[0].data), "token");
    let t2 = extract_param(&readable(&msgs[1].data), "token");
    assert!(t1.is_some() && t2.is_some() && t1 != t2, "{t1:?} {t2:?}");
}

#[tokio::test]
async fn an_unreachable_smtp_server_in_live_mode_is_503_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = spawn_app_with(move |s| {
        s.data_mode = Mode::Live;
        s.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));
    })
    .await;
    // Registration still creates the account (the person can ask for a new link) ...
    let reg = register(&app, "sam@example.com").await;
    // ... but asking for that link while SMTP is down is a dependency failure, not a bug.
    let r = app
        .request(
            Method::POST,
            "/api/v1/auth/verify-email",
            reg.body["accessToken"].as_str(),
            None,
        )
        .await;
    expect_error(&r, 503, "unavailable");
    assert_eq!(
        app.ctx.outbox.page(Paging::new(1, 10)).await.unwrap().total,
        0
    );
}
