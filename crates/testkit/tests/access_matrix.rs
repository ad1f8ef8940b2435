//! The access-matrix kit against a small fake product: a correct table passes, and each kind of
//! mistake (an operation without a row, a row without an operation, a handler letting in a role
//! the table refuses, an endpoint open to anonymous callers) is reported.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a failed test"
)]

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use platform::roles::{CONSOLE_READ, CONSOLE_UPDATE, Perm, RoleTable};
use serde_json::{Value, json};
use testkit::{
    ErrorShape,
    access::{Caller, Matrix, Org, Row, Seat},
};

const READ: Perm = Perm::new("things", "read");
const WRITE: Perm = Perm::new("things", "write");
const ROLES: RoleTable = RoleTable(&[
    ("reader", &[READ]),
    ("boss", &[READ, WRITE, CONSOLE_READ, CONSOLE_UPDATE]),
]);

/// What the fake serves beyond the operations a correct table covers.
#[derive(Clone, Copy)]
enum Bugs {
    None,
    /// `GET /leaky` lets any signed-in user in (its row says `things:write`); `GET /open-door`
    /// answers anonymous callers; `GET /forgotten` is documented and has no row.
    Some,
}

#[derive(Clone)]
struct Fake {
    /// Session ids ended by `DELETE /sessions/{id}`.
    ended: Arc<Mutex<Vec<String>>>,
}

/// A refusal in the flat error shape.
struct Refusal(StatusCode, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let Self(status, code) = self;
        let body = json!({ "code": code, "message": format!("{code} here"), "details": null });
        (status, Json(body)).into_response()
    }
}

fn error(status: StatusCode, code: &'static str) -> Refusal {
    Refusal(status, code)
}

/// The role and session of a Bearer token the fake's `sign_in` made (`none.<claims>.x`).
fn caller(fake: &Fake, headers: &HeaderMap) -> Result<(String, String), Refusal> {
    let unauthenticated = || error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthenticated)?;
    let payload = token.split('.').nth(1).ok_or_else(unauthenticated)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let sid = claims["sid"].as_str().unwrap().to_owned();
    if fake.ended.lock().unwrap().contains(&sid) {
        return Err(unauthenticated());
    }
    Ok((claims["role"].as_str().unwrap().to_owned(), sid))
}

fn needs(fake: &Fake, headers: &HeaderMap, perm: Option<Perm>) -> Result<String, Refusal> {
    let (role, sid) = caller(fake, headers)?;
    match perm {
        Some(p) if !ROLES.allows(&role, p) => {
            Err(error(StatusCode::FORBIDDEN, "permission_denied"))
        }
        _ => Ok(sid),
    }
}

fn ok(status: StatusCode) -> Response {
    (status, Json(json!({ "ok": true }))).into_response()
}

fn document(bugs: Bugs) -> Value {
    let bearer = json!([{ "bearer": [] }]);
    let mut paths = json!({
        "/open": { "get": { "security": [{}] } },
        "/things": { "get": { "security": bearer }, "post": { "security": bearer } },
        "/sessions/{id}": { "delete": { "security": bearer, "x-basalt-effect": "ends-session" } },
    });
    if let Bugs::Some = bugs {
        paths["/leaky"] = json!({ "get": { "security": bearer } });
        paths["/open-door"] = json!({ "get": { "security": bearer } });
        paths["/forgotten"] = json!({ "get": {} });
    }
    json!({ "openapi": "3.1.0", "paths": paths })
}

async fn fake_product(bugs: Bugs) -> testkit::TestServer<Fake> {
    let fake = Fake {
        ended: Arc::default(),
    };
    let doc = document(bugs);
    let router = Router::new()
        .route("/openapi.json", get(move || async move { Json(doc) }))
        .route("/metrics", get(|| async { "up 1\n" }))
        .route("/open", get(|| async { ok(StatusCode::OK) }))
        .route(
            "/things",
            get(|State(f): State<Fake>, h: HeaderMap| async move {
                needs(&f, &h, Some(READ)).map(|_| ok(StatusCode::OK))
            })
            .post(|State(f): State<Fake>, h: HeaderMap| async move {
                needs(&f, &h, Some(WRITE)).map(|_| ok(StatusCode::CREATED))
            }),
        )
        .route(
            "/sessions/{id}",
            delete(
                |State(f): State<Fake>, h: HeaderMap, Path(id): Path<String>| async move {
                    let sid = needs(&f, &h, None)?;
                    if sid != id {
                        return Err(error(StatusCode::NOT_FOUND, "not_found"));
                    }
                    f.ended.lock().unwrap().push(id);
                    Ok(ok(StatusCode::OK))
                },
            ),
        )
        .route(
            "/leaky",
            get(|State(f): State<Fake>, h: HeaderMap| async move {
                needs(&f, &h, None).map(|_| ok(StatusCode::OK))
            }),
        )
        .route("/open-door", get(|| async { ok(StatusCode::OK) }))
        .route("/forgotten", get(|| async { ok(StatusCode::OK) }))
        .with_state(fake.clone());
    let build =
        async move |_: &platform::settings::ProductSettings| Ok((router.clone(), fake.clone()));
    testkit::spawn("fake", ErrorShape::Flat, |_| {}, build)
        .await
        .expect("fake product")
}

/// Sessions of the fake: `none.<{sub, sid, role}>.x`, a new `sid` each time.
fn sign_in(count: &AtomicUsize, seat: &Seat) -> Caller {
    let n = count.fetch_add(1, Ordering::SeqCst);
    let claims =
        json!({ "sub": format!("user-{}", seat.name), "sid": format!("s{n}"), "role": seat.role });
    let token = format!(
        "{}.{}.x",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    Caller::bearer(&token)
}

fn correct_rows() -> Vec<Row> {
    vec![
        Row::public("GET /open"),
        Row::public("GET /metrics").undocumented(),
        Row::perm("GET /things", READ),
        Row::perm("POST /things", WRITE).status(201),
        Row::owner("DELETE /sessions/{id}", 404).param_with("id", |p| p.owner().session_id()),
    ]
}

#[tokio::test]
async fn a_table_that_matches_the_product_passes() {
    let app = fake_product(Bugs::None).await;
    let count = AtomicUsize::new(0);
    let failures = Matrix::new(ROLES)
        .rows(correct_rows())
        .check(&app, async |seat: &Seat| sign_in(&count, seat))
        .await;
    assert!(failures.is_empty(), "{failures:#?}");
    // reader, boss, other, and the owner's fresh session the ended one was.
    assert_eq!(count.load(Ordering::SeqCst), 4);
    assert_eq!(*app.ctx.ended.lock().unwrap(), ["s2"]);
}

#[tokio::test]
async fn with_organisations_an_owners_resource_is_refused_to_another_organisation_too() {
    let app = fake_product(Bugs::None).await;
    let count = AtomicUsize::new(0);
    let seats = Mutex::new(Vec::new());
    let mut rows = correct_rows();
    rows.retain(|r| r.to_string() != "POST /things");
    rows.push(Row::roles("POST /things", &["boss"]).status(201));
    let failures = Matrix::new(ROLES)
        .organisations()
        .rows(rows)
        .check(&app, async |seat: &Seat| {
            seats
                .lock()
                .unwrap()
                .push((seat.name.clone(), seat.role, seat.org));
            sign_in(&count, seat)
        })
        .await;
    assert!(failures.is_empty(), "{failures:#?}");
    let seats = seats.into_inner().unwrap();
    assert!(
        seats.contains(&("other-org".into(), "reader", Org::Other)),
        "{seats:?}"
    );
    assert!(
        seats.contains(&("other".into(), "reader", Org::Home)),
        "{seats:?}"
    );
}

#[tokio::test]
async fn every_mismatch_between_table_document_and_server_is_reported() {
    let app = fake_product(Bugs::Some).await;
    let count = AtomicUsize::new(0);
    let mut rows = correct_rows();
    rows.extend([
        Row::perm("GET /leaky", WRITE),
        Row::perm("GET /open-door", READ),
        Row::public("GET /ghost"),
        Row::perm("GET /things", READ),
    ]);
    let failures = Matrix::new(ROLES)
        .rows(rows)
        .check(&app, async |seat: &Seat| sign_in(&count, seat))
        .await;
    let has = |needle: &str| failures.iter().any(|f| f.contains(needle));
    assert!(
        has("GET /forgotten: in /openapi.json but the access matrix has no row"),
        "{failures:#?}"
    );
    assert!(
        has("GET /ghost: the row names no operation of /openapi.json"),
        "{failures:#?}"
    );
    assert!(has("GET /things: two rows"), "{failures:#?}");
    assert!(
        has("GET /leaky as reader: expected 403 permission_denied"),
        "{failures:#?}"
    );
    assert!(
        has("GET /open-door as anonymous: expected 401 unauthenticated"),
        "{failures:#?}"
    );
    assert!(
        has("GET /open-door as anonymous (unknown ids, empty body): expected 401"),
        "{failures:#?}"
    );
    assert_eq!(failures.len(), 6, "{failures:#?}");
}

#[tokio::test]
async fn a_public_row_for_an_operation_that_asks_for_credentials_is_reported() {
    let app = fake_product(Bugs::None).await;
    let count = AtomicUsize::new(0);
    let mut rows = correct_rows();
    rows.retain(|r| r.to_string() != "GET /things");
    rows.push(Row::public("GET /things"));
    let failures = Matrix::new(ROLES)
        .rows(rows)
        .check(&app, async |seat: &Seat| sign_in(&count, seat))
        .await;
    assert!(
        failures
            .iter()
            .any(|f| f.contains("GET /things: the row says anyone may call it")),
        "{failures:#?}"
    );
    // And the anonymous call it makes is refused.
    assert!(
        failures
            .iter()
            .any(|f| f.contains("GET /things as anonymous: expected the call to be allowed")),
        "{failures:#?}"
    );
}
