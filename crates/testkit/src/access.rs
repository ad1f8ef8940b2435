//! The access matrix: who may call each operation of a product, declared by the product's suite
//! as a table and checked by the kit against the running server.
//!
//! A [`Matrix`] holds one [`Row`] per operation, `METHOD /openapi/path/{template}`, saying who
//! may call it ([`Access`]):
//!
//! | access | anonymous | signed in without it | allowed |
//! |---|---|---|---|
//! | [`Row::public`] | allowed | — | anonymous |
//! | [`Row::signed_in`] | 401 | — | every role |
//! | [`Row::perm`] (a permission of the role table) | 401 | 403 | the roles holding it |
//! | [`Row::roles`] (named roles) | 401 | 403 | those roles |
//! | [`Row::owner`] (a resource of the owner seat) | 401 | 403 or 404: every other user, another organisation's too | the owner |
//! | [`Row::signed`] (a vendor's signature, not a session) | refused | refused | the call the row signs |
//!
//! [`Matrix::run`] fetches the server's own `/openapi.json` and fails the test when an operation
//! of the document has no row, or a row names an operation the document lacks (so a new
//! endpoint without a row fails the suite); routes every product serves outside the document
//! (`/openapi.json`, `/docs`, `/metrics`) are rows marked [`Row::undocumented`], which must
//! not be in it. It then calls every row over HTTP as each kind of caller (anonymous twice on
//! rows whose operation the document says needs a session: once as the row builds the call,
//! once with every path parameter an unknown id and a `{}` body, so the refusal is shown to
//! come before the request is read) and checks the answers: 401 `unauthenticated`, 403
//! `permission_denied`, 404 `not_found` in the product's error shape ([`crate::ErrorShape`],
//! with [`crate::expect_error`]'s checks); an allowed call answers 2xx (or the row's
//! [`Row::status`], or the documented error of [`Row::documented_error`] when no request the
//! product accepts can be built). Every failure is collected and reported at once.
//!
//! Callers sit in [`Seat`]s: one per role of the product's role table (named after the role),
//! `other` (another user with the owner's role) and `other-org` (a user with the owner's role in
//! another organisation, with [`Matrix::organisations`]) when some row is owner-scoped. The
//! owner seat (the least privileged role unless [`Matrix::owner`] says otherwise) owns the
//! resources of owner-scoped rows. The product's suite signs seats in with its own helpers:
//! `run` takes `async |seat: &Seat| -> Caller`, which makes the seat's user on its first call
//! and answers a new session of that same user on every call ([`Caller::bearer`] for tokens,
//! [`Caller::browser`] for cookie sessions with a CSRF header on writes).
//!
//! Rows build their requests from a [`Probe`] (the seat, its caller, the owner): path
//! parameters ([`Row::param`], [`Row::param_with`], real ids of resources the suite made
//! first), a query, a JSON or raw body. Operations with an `x-basalt-effect`
//! ([`platform::docs::EFFECT`]) are called after the others: `ends-session` rows use fresh
//! sessions (the owner's fresh session is the row's target, e.g. `p.owner().session_id()`),
//! so no seat loses the session the rest of the table uses (sign-ins are rate-limited, so on
//! such a row that any signed-in user may call, only the owner's call is made);
//! `switches-data-mode` rows are followed by the console's data mode being put back as it was;
//! `endless-stream` answers are judged by status and headers and dropped unread. [`Row::websocket`] sends an upgrade
//! handshake (an allowed call answers 101, dropped at once).
//!
//! ```ignore
//! let mut rows = testkit::access::platform_rows(&app).await; // console, health, docs
//! rows.extend([
//!     Row::public("POST /api/v1/auth/login").body(json!({ "email": E, "password": P })),
//!     Row::perm("POST /api/v1/campaigns", CAMPAIGNS_CREATE).body_with(campaign).status(201),
//!     Row::owner("DELETE /api/v1/auth/sessions/{id}", 404)
//!         .param_with("id", |p| p.owner().session_id()),
//! ]);
//! Matrix::new(warroom::service::access::ROLES)
//!     .rows(rows)
//!     .run(&app, async |seat: &Seat| app.seat(seat).await)
//!     .await;
//! ```

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    time::Duration,
};

use chrono::Utc;
use platform::{
    core::HasCore,
    docs::EFFECT,
    jobs::{JobControl, NewJob},
    roles::{CONSOLE_READ, CONSOLE_UPDATE, Perm, RoleTable},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    errors::error_problem,
    identity::jwt_claims,
    resp::{Resp, read},
    server::TestServer,
};

/// How long one call may take before the kit reports it instead of waiting on.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The domain of the seats' addresses (`<seat>@access-matrix.test`).
pub const SEAT_DOMAIN: &str = "access-matrix.test";

/// `x-basalt-effect` values (docs/console.md).
const ENDS_SESSION: &str = "ends-session";
const SWITCHES_DATA_MODE: &str = "switches-data-mode";
const ENDLESS_STREAM: &str = "endless-stream";

/// The organisation a seat's user belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Org {
    /// The owner's organisation (or simply the product, without organisations).
    Home,
    /// An organisation of its own, nothing shared with the owner's.
    Other,
}

/// A kind of caller: a user with a role, in the owner's organisation or another one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seat {
    /// The role's name for role seats; `other`, `other-org`.
    pub name: String,
    pub role: &'static str,
    pub org: Org,
}

impl Seat {
    /// The seat user's address: `<name>@access-matrix.test`.
    pub fn email(&self) -> String {
        format!("{}@{SEAT_DOMAIN}", self.name)
    }
}

/// One signed-in session: how it authenticates, and values rows may put in requests.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The access token (a JWT): sent as `Authorization: Bearer`, or only read for its claims
    /// when the session travels in cookies.
    access: String,
    bearer: bool,
    cookies: Vec<(String, String)>,
    /// Sent as `X-CSRF-Token` on POST, PUT, PATCH and DELETE.
    csrf: Option<String>,
    extra: BTreeMap<String, String>,
}

impl Caller {
    /// A session that sends its access token as `Authorization: Bearer`.
    pub fn bearer(access: &str) -> Self {
        Self {
            access: access.to_owned(),
            bearer: true,
            cookies: Vec::new(),
            csrf: None,
            extra: BTreeMap::new(),
        }
    }

    /// A browser session: `cookies` on every request and `csrf` in `X-CSRF-Token` on writes;
    /// `access` is the access token among the cookies (read for its claims).
    pub fn browser(access: &str, cookies: &[(&str, &str)], csrf: &str) -> Self {
        Self {
            access: access.to_owned(),
            bearer: false,
            cookies: cookies
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            csrf: Some(csrf.to_owned()),
            extra: BTreeMap::new(),
        }
    }

    /// Also sends the cookies and the CSRF header of a browser session.
    pub fn with_cookies(mut self, cookies: &[(&str, &str)], csrf: Option<&str>) -> Self {
        self.cookies.extend(
            cookies
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.csrf = csrf.map(str::to_owned);
        self
    }

    /// Keeps a value for rows' builders (`"refresh"`: the session's refresh token).
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.extra.insert(key.to_owned(), value.to_owned());
        self
    }

    /// A value kept with [`Caller::with`]; panics naming the key when there is none.
    #[track_caller]
    pub fn get(&self, key: &str) -> String {
        self.extra
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("the caller keeps no {key:?}"))
    }

    pub fn access_token(&self) -> &str {
        &self.access
    }

    /// The access token's `sub`: the user's id.
    pub fn user_id(&self) -> String {
        self.claim("sub")
    }

    /// The access token's `sid`: the session's id.
    pub fn session_id(&self) -> String {
        self.claim("sid")
    }

    fn claim(&self, name: &str) -> String {
        jwt_claims(&self.access)[name]
            .as_str()
            .unwrap_or_else(|| panic!("the access token has no {name} claim"))
            .to_owned()
    }
}

/// Who may call an operation.
#[derive(Clone, Copy, Debug)]
pub enum Access {
    /// Anyone: the anonymous call is the allowed one.
    Public,
    /// Anyone signed in, whatever the role.
    SignedIn,
    /// The roles that hold the permission in the product's role table; 403 for the others.
    Perm(Perm),
    /// These roles; 403 for the others.
    Roles(&'static [&'static str]),
    /// Only the owner; every other signed-in caller gets this status (403 or 404).
    Owner { refuse: u16 },
    /// Whoever shows what [`Row::signed`] adds (a vendor's signature); any call without it,
    /// session or not, gets this status.
    Signed { refuse: u16 },
}

/// What an allowed call must answer.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Any 2xx (101 for a WebSocket upgrade).
    Success,
    Status(u16),
    /// A documented error: no request the product accepts can be built here.
    Error(u16, &'static str),
}

type Build<T> = Box<dyn Fn(&Probe<'_>) -> T + Send + Sync>;
type Sign = Box<dyn Fn(&mut Request) + Send + Sync>;

/// A request as the kit is about to send it, for [`Row::signed`] to sign.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// The whole URL, query included.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// What a row's builders see of one call.
pub struct Probe<'a> {
    seat: &'a str,
    caller: Option<&'a Caller>,
    owner: &'a Caller,
    serial: usize,
}

impl Probe<'_> {
    /// The seat's name (`anonymous`, a role, `other`, `other-org`).
    pub fn seat(&self) -> &str {
        self.seat
    }

    /// The calling session; `None` for anonymous calls.
    pub fn caller(&self) -> Option<&Caller> {
        self.caller
    }

    /// The owner seat's session for this row (a fresh one on rows that end sessions, which
    /// is then the session the owner's own call uses).
    pub fn owner(&self) -> &Caller {
        self.owner
    }

    /// The calling session's value kept under `key` ([`Caller::with`]), or for an anonymous
    /// call `no-<key>`, which names nothing (a refresh token sent in a body).
    pub fn kept(&self, key: &str) -> String {
        self.caller
            .map_or_else(|| format!("no-{key}"), |c| c.get(key))
    }

    /// `<what>-<seat>-<n>`, different for every call of a run.
    pub fn unique(&self, what: &str) -> String {
        format!("{what}-{}-{}", self.seat, self.serial)
    }

    /// An address no other call of the run uses.
    pub fn email(&self, what: &str) -> String {
        format!("{}@{SEAT_DOMAIN}", self.unique(what))
    }
}

/// One operation of the table: who may call it and how to build a call.
pub struct Row {
    method: Method,
    path: String,
    access: Access,
    documented: bool,
    expect: Expect,
    params: Vec<(String, Build<String>)>,
    query: Option<Build<String>>,
    body: Option<(Option<String>, Build<Vec<u8>>)>,
    headers: Vec<(String, String)>,
    fresh: bool,
    keeps_caller_session: bool,
    websocket: bool,
    sign: Option<Sign>,
}

impl Row {
    fn new(op: &str, access: Access) -> Self {
        let (method, path) = op
            .split_once(' ')
            .unwrap_or_else(|| panic!("a row is \"METHOD /path\", not {op:?}"));
        Self {
            method: Method::from_bytes(method.as_bytes())
                .unwrap_or_else(|_| panic!("not a method: {method:?}")),
            path: path.to_owned(),
            access,
            documented: true,
            expect: Expect::Success,
            params: Vec::new(),
            query: None,
            body: None,
            headers: Vec::new(),
            fresh: false,
            keeps_caller_session: false,
            websocket: false,
            sign: None,
        }
    }

    /// Anyone may call it; the anonymous call must succeed.
    pub fn public(op: &str) -> Self {
        Self::new(op, Access::Public)
    }

    /// Every signed-in caller may; anonymous is 401.
    pub fn signed_in(op: &str) -> Self {
        Self::new(op, Access::SignedIn)
    }

    /// The roles holding `perm` may; the others get 403, anonymous 401.
    pub fn perm(op: &str, perm: Perm) -> Self {
        Self::new(op, Access::Perm(perm))
    }

    /// The named roles may; the others get 403, anonymous 401.
    pub fn roles(op: &str, roles: &'static [&'static str]) -> Self {
        Self::new(op, Access::Roles(roles))
    }

    /// Only the owner seat may: its resource. Every other signed-in caller (other roles,
    /// another user, another organisation) gets `refuse` (403 or 404), anonymous 401.
    pub fn owner(op: &str, refuse: u16) -> Self {
        Self::new(op, Access::Owner { refuse })
    }

    /// No session opens it: a call without what `sign` adds (a vendor's signature) is
    /// refused with `refuse`, whoever sends it; the anonymous call `sign` signs must succeed.
    pub fn signed(
        op: &str,
        refuse: u16,
        sign: impl Fn(&mut Request) + Send + Sync + 'static,
    ) -> Self {
        let mut row = Self::new(op, Access::Signed { refuse });
        row.sign = Some(Box::new(sign));
        row
    }

    /// A route every product serves outside its OpenAPI document (`/openapi.json`, `/docs`,
    /// `/metrics`): it must not be in the document, and is called all the same.
    pub fn undocumented(mut self) -> Self {
        self.documented = false;
        self
    }

    /// The allowed call answers exactly `status` (201, 202, 204, 303 …).
    pub fn status(mut self, status: u16) -> Self {
        self.expect = Expect::Status(status);
        self
    }

    /// The allowed call answers this documented error (neither 401 nor 403): used where the
    /// kit cannot build a request the product accepts, e.g. a mailed token it cannot know.
    pub fn documented_error(mut self, status: u16, code: &'static str) -> Self {
        assert!(
            status != 401 && status != 403,
            "an allowed call answering {status} is a refusal, not a documented error"
        );
        self.expect = Expect::Error(status, code);
        self
    }

    /// `{name}` of the path template is `value`.
    pub fn param(self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        self.param_with(name, move |_| value.clone())
    }

    /// `{name}` of the path template, built for each call.
    pub fn param_with(
        mut self,
        name: &str,
        value: impl Fn(&Probe<'_>) -> String + Send + Sync + 'static,
    ) -> Self {
        self.params.push((name.to_owned(), Box::new(value)));
        self
    }

    /// The query string (without `?`).
    pub fn query(self, query: impl Into<String>) -> Self {
        let query = query.into();
        self.query_with(move |_| query.clone())
    }

    pub fn query_with(
        mut self,
        query: impl Fn(&Probe<'_>) -> String + Send + Sync + 'static,
    ) -> Self {
        self.query = Some(Box::new(query));
        self
    }

    /// A JSON body, the same for every call.
    pub fn body(self, body: Value) -> Self {
        self.body_with(move |_| body.clone())
    }

    /// A JSON body built for each call (unique addresses, the caller's refresh token).
    pub fn body_with(mut self, body: impl Fn(&Probe<'_>) -> Value + Send + Sync + 'static) -> Self {
        self.body = Some((
            Some("application/json".into()),
            Box::new(move |p| body(p).to_string().into_bytes()),
        ));
        self
    }

    /// A body of another type (a form), built for each call.
    pub fn raw_body(
        mut self,
        content_type: &str,
        body: impl Fn(&Probe<'_>) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        self.body = Some((Some(content_type.to_owned()), Box::new(body)));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The call spends something of the caller's session (a refresh token): allowed callers
    /// use a fresh session (`ends-session` rows always do).
    pub fn fresh_session(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// On an `ends-session` row: the call ends the session its path names, not the caller's,
    /// so allowed callers other than the owner keep using their own session.
    pub fn ends_named_session(mut self) -> Self {
        self.keeps_caller_session = true;
        self
    }

    /// A WebSocket endpoint: calls carry an upgrade handshake, an allowed one answers 101.
    pub fn websocket(mut self) -> Self {
        self.websocket = true;
        self
    }

    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn key(&self) -> (String, String) {
        (self.method.to_string(), self.path.clone())
    }
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.label())
    }
}

/// An operation of the published document.
#[derive(Clone, Debug, Default)]
struct Operation {
    effect: Option<String>,
    /// Every alternative of its `security` names a scheme: it cannot be called anonymously.
    needs_credentials: bool,
}

/// The product's table, ready to run against a server.
pub struct Matrix {
    roles: RoleTable,
    owner: Option<&'static str>,
    organisations: bool,
    rows: Vec<Row>,
}

impl Matrix {
    /// A table for a product with this role table (`Product::ROLES`).
    pub fn new(roles: RoleTable) -> Self {
        Self {
            roles,
            owner: None,
            organisations: false,
            rows: Vec::new(),
        }
    }

    /// The role of the owner seat (default: the least privileged role).
    pub fn owner(mut self, role: &'static str) -> Self {
        assert!(self.roles.is_role(role), "{role} is not in the role table");
        self.owner = Some(role);
        self
    }

    /// The product has organisations: owner-scoped rows are also called by `other-org`, a
    /// user with the owner's role in an organisation of its own.
    pub fn organisations(mut self) -> Self {
        self.organisations = true;
        self
    }

    pub fn rows(mut self, rows: impl IntoIterator<Item = Row>) -> Self {
        self.rows.extend(rows);
        self
    }

    /// Checks the table against `server` and fails the test with every failure found.
    pub async fn run<C>(self, server: &TestServer<C>, sign_in: impl AsyncFn(&Seat) -> Caller) {
        let failures = self.check(server, sign_in).await;
        assert!(
            failures.is_empty(),
            "access matrix: {} failure(s):\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }

    /// Checks the table against `server` and returns what failed, one line each.
    pub async fn check<C>(
        self,
        server: &TestServer<C>,
        sign_in: impl AsyncFn(&Seat) -> Caller,
    ) -> Vec<String> {
        let mut failures = Vec::new();
        let ops = match document(server).await {
            Ok(ops) => ops,
            Err(e) => return vec![e],
        };
        coverage(&self.rows, &ops, &mut failures);
        let owner_role = self
            .owner
            .or_else(|| self.roles.roles().next())
            .expect("a role table with roles");
        let Self {
            roles,
            organisations,
            rows,
            ..
        } = self;
        let effect_of = |r: &Row| {
            ops.get(&r.key())
                .and_then(|o| o.effect.clone())
                .filter(|_| r.documented)
        };
        // Effects last, so that a session ended or a mode switched by mistake spoils no other row.
        let (plain, effects): (Vec<Row>, Vec<Row>) =
            rows.into_iter().partition(|r| effect_of(r).is_none());
        let data_mode_console = ops.contains_key(&("GET".into(), "/admin/api/data-mode".into()))
            && ops.contains_key(&("PUT".into(), "/admin/api/data-mode".into()));
        let mut run = Run {
            server,
            sign_in: &sign_in,
            roles,
            owner_role,
            organisations,
            main: HashMap::new(),
            serial: 0,
            calls: 0,
            failures,
        };
        for row in plain.iter().chain(&effects) {
            if row.documented && !ops.contains_key(&row.key()) {
                continue; // reported by `coverage`
            }
            let effect = effect_of(row);
            let data_mode = match effect.as_deref() {
                Some(SWITCHES_DATA_MODE) if data_mode_console => Some(run.data_mode().await),
                _ => None,
            };
            // Whether the document asks for a session: if not, the credential travels elsewhere
            // (a refresh token in the body) and a request without it is not "unread".
            let session = ops.get(&row.key()).is_some_and(|o| o.needs_credentials);
            run.row(row, effect.as_deref(), session).await;
            if let Some(before) = data_mode {
                run.restore_data_mode(&before).await;
            }
        }
        println!(
            "access matrix: {} rows, {} calls, {} failure(s)",
            plain.len() + effects.len(),
            run.calls,
            run.failures.len()
        );
        run.failures
    }
}

/// The operations of the server's `/openapi.json`, by `(METHOD, path)`.
async fn document<C>(
    server: &TestServer<C>,
) -> Result<BTreeMap<(String, String), Operation>, String> {
    let r = server.get("/openapi.json", None).await;
    if r.status != StatusCode::OK {
        return Err(format!(
            "GET /openapi.json answered {}: {}",
            r.status, r.text
        ));
    }
    let paths = r.body["paths"]
        .as_object()
        .ok_or("the document has no paths")?;
    let mut ops = BTreeMap::new();
    for (path, item) in paths {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            let Some(op) = item.get(method) else { continue };
            let needs_credentials = op["security"].as_array().is_some_and(|alts| {
                !alts.is_empty()
                    && alts
                        .iter()
                        .all(|a| a.as_object().is_some_and(|o| !o.is_empty()))
            });
            ops.insert(
                (method.to_uppercase(), path.clone()),
                Operation {
                    effect: op[EFFECT].as_str().map(str::to_owned),
                    needs_credentials,
                },
            );
        }
    }
    Ok(ops)
}

/// One row per operation of the document, no row for anything else.
fn coverage(rows: &[Row], ops: &BTreeMap<(String, String), Operation>, failures: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for row in rows {
        let key = row.key();
        if !seen.insert(key.clone()) {
            failures.push(format!("{}: two rows", row.label()));
        }
        match (row.documented, ops.get(&key)) {
            (true, None) => failures.push(format!(
                "{}: the row names no operation of /openapi.json",
                row.label()
            )),
            (true, Some(op)) => {
                if op.needs_credentials
                    && matches!(row.access, Access::Public | Access::Signed { .. })
                {
                    failures.push(format!(
                        "{}: the row says anyone may call it, the document asks for credentials",
                        row.label()
                    ));
                }
                if let Some(e) = &op.effect
                    && ![ENDS_SESSION, SWITCHES_DATA_MODE, ENDLESS_STREAM].contains(&e.as_str())
                {
                    failures.push(format!("{}: unknown {EFFECT} {e:?}", row.label()));
                }
            }
            (false, Some(_)) => failures.push(format!(
                "{}: marked undocumented, but /openapi.json has it",
                row.label()
            )),
            (false, None) => {}
        }
    }
    for (method, path) in ops.keys() {
        if !seen.contains(&(method.clone(), path.clone())) {
            failures.push(format!(
                "{method} {path}: in /openapi.json but the access matrix has no row for it"
            ));
        }
    }
}

/// What a call must answer.
#[derive(Clone, Copy, Debug)]
enum Want {
    Allowed,
    Refused(u16),
}

/// The catalogue's code for a refusal status.
fn refusal_code(status: u16) -> &'static str {
    match status {
        401 => "unauthenticated",
        403 => "permission_denied",
        404 => "not_found",
        _ => "an error code",
    }
}

/// One planned call: who, with which session, expecting what.
struct Planned {
    seat: Option<Seat>,
    caller: Option<Caller>,
    want: Want,
    signed: bool,
    /// Every path parameter an unknown id, the body `{}`, no query, no extra headers: a
    /// refusal must come before anything else of the request is looked at.
    blind: bool,
}

struct Run<'a, C, F> {
    server: &'a TestServer<C>,
    sign_in: &'a F,
    roles: RoleTable,
    owner_role: &'static str,
    organisations: bool,
    /// Each seat's session for the whole table.
    main: HashMap<String, Caller>,
    serial: usize,
    calls: usize,
    failures: Vec<String>,
}

impl<C, F: AsyncFn(&Seat) -> Caller> Run<'_, C, F> {
    fn role_seat(role: &'static str) -> Seat {
        Seat {
            name: role.to_owned(),
            role,
            org: Org::Home,
        }
    }

    fn owner_seat(&self) -> Seat {
        Self::role_seat(self.owner_role)
    }

    /// `seat`'s session for the whole table, signed in on first use.
    async fn main(&mut self, seat: &Seat) -> Caller {
        if let Some(c) = self.main.get(&seat.name) {
            return c.clone();
        }
        let c = (self.sign_in)(seat).await;
        self.main.insert(seat.name.clone(), c.clone());
        c
    }

    /// A new session of `seat`'s user.
    async fn fresh(&mut self, seat: &Seat) -> Caller {
        self.main(seat).await;
        (self.sign_in)(seat).await
    }

    async fn row(&mut self, row: &Row, effect: Option<&str>, session: bool) {
        let consuming = row.fresh || effect == Some(ENDS_SESSION);
        let owner_seat = self.owner_seat();
        let owner = if consuming {
            self.fresh(&owner_seat).await
        } else {
            self.main(&owner_seat).await
        };
        let mut plan = self.plan(row, consuming, &owner).await;
        if !session {
            plan.retain(|p| !p.blind);
        }
        for p in plan {
            self.call(row, effect, &owner, p).await;
        }
    }

    /// Anonymous first, then the callers to be refused, then the allowed ones (so that a
    /// resource an allowed call uses up is still there for the refusals).
    async fn plan(&mut self, row: &Row, consuming: bool, owner: &Caller) -> Vec<Planned> {
        let anonymous = |want, signed| Planned {
            seat: None,
            caller: None,
            want,
            signed,
            blind: false,
        };
        let blind = Planned {
            blind: true,
            ..anonymous(Want::Refused(401), false)
        };
        let table = self.roles;
        let roles: Vec<&'static str> = table.roles().collect();
        let allowed_role = |role: &str| match row.access {
            Access::SignedIn => true,
            Access::Perm(p) => table.allows(role, p),
            Access::Roles(rs) => rs.contains(&role),
            Access::Public | Access::Owner { .. } | Access::Signed { .. } => false,
        };
        let mut plan = Vec::new();
        match row.access {
            Access::Public => plan.push(anonymous(Want::Allowed, false)),
            Access::Signed { refuse } => {
                plan.push(anonymous(Want::Refused(refuse), false));
                let seat = self.owner_seat();
                let caller = self.main(&seat).await;
                plan.push(Planned {
                    seat: Some(seat),
                    caller: Some(caller),
                    want: Want::Refused(refuse),
                    signed: false,
                    blind: false,
                });
                plan.push(anonymous(Want::Allowed, true));
            }
            Access::Owner { refuse } => {
                plan.push(anonymous(Want::Refused(401), false));
                plan.push(blind);
                let mut others: Vec<Seat> = roles
                    .iter()
                    .filter(|r| **r != self.owner_role)
                    .map(|r| Self::role_seat(r))
                    .collect();
                others.push(Seat {
                    name: "other".into(),
                    role: self.owner_role,
                    org: Org::Home,
                });
                if self.organisations {
                    others.push(Seat {
                        name: "other-org".into(),
                        role: self.owner_role,
                        org: Org::Other,
                    });
                }
                for seat in others {
                    let caller = self.main(&seat).await;
                    plan.push(Planned {
                        seat: Some(seat),
                        caller: Some(caller),
                        want: Want::Refused(refuse),
                        signed: false,
                        blind: false,
                    });
                }
                plan.push(Planned {
                    seat: Some(self.owner_seat()),
                    caller: Some(owner.clone()),
                    want: Want::Allowed,
                    signed: false,
                    blind: false,
                });
            }
            Access::SignedIn | Access::Perm(_) | Access::Roles(_) => {
                plan.push(anonymous(Want::Refused(401), false));
                plan.push(blind);
                let (allowed, refused): (Vec<&str>, Vec<&str>) =
                    roles.iter().partition(|r| allowed_role(r));
                for role in refused {
                    let seat = Self::role_seat(role);
                    let caller = self.main(&seat).await;
                    plan.push(Planned {
                        seat: Some(seat),
                        caller: Some(caller),
                        want: Want::Refused(403),
                        signed: false,
                        blind: false,
                    });
                }
                for role in allowed {
                    let seat = Self::role_seat(role);
                    // A session spent by every role would cost a sign-in each; for a call
                    // any signed-in user may make, the owner's stands for all.
                    if consuming
                        && matches!(row.access, Access::SignedIn)
                        && seat != self.owner_seat()
                    {
                        continue;
                    }
                    let caller = if !consuming {
                        self.main(&seat).await
                    } else if seat == self.owner_seat() {
                        owner.clone()
                    } else if row.keeps_caller_session {
                        self.main(&seat).await
                    } else {
                        self.fresh(&seat).await
                    };
                    plan.push(Planned {
                        seat: Some(seat),
                        caller: Some(caller),
                        want: Want::Allowed,
                        signed: false,
                        blind: false,
                    });
                }
            }
        }
        plan
    }

    async fn call(&mut self, row: &Row, effect: Option<&str>, owner: &Caller, p: Planned) {
        self.serial += 1;
        self.calls += 1;
        let seat = p.seat.as_ref().map_or("anonymous", |s| s.name.as_str());
        let label = format!(
            "{} as {seat}{}{}",
            row.label(),
            if p.signed { " (signed)" } else { "" },
            if p.blind {
                " (unknown ids, empty body)"
            } else {
                ""
            }
        );
        let probe = Probe {
            seat,
            caller: p.caller.as_ref(),
            owner,
            serial: self.serial,
        };
        let built = if p.blind {
            Ok(blind_request(self.server, row))
        } else {
            build(self.server, row, &probe, p.signed)
        };
        let req = match built {
            Ok(r) => r,
            Err(e) => {
                self.failures.push(format!("{label}: {e}"));
                return;
            }
        };
        let stream = effect == Some(ENDLESS_STREAM);
        let res = match send(self.server, req, stream).await {
            Ok(r) => r,
            Err(e) => {
                self.failures.push(format!("{label}: {e}"));
                return;
            }
        };
        if let Err(e) = judge(row, p.want, &res) {
            self.failures.push(format!("{label}: {e}"));
        }
    }

    /// The console's data mode, read by the top role.
    async fn data_mode(&mut self) -> String {
        let admin = self.roles.top().expect("a role table with roles");
        let caller = self.main(&Self::role_seat(admin)).await;
        let r = send_as(
            self.server,
            Method::GET,
            "/admin/api/data-mode",
            &caller,
            None,
        )
        .await;
        r.body["dataMode"].as_str().unwrap_or_default().to_owned()
    }

    /// Puts the data mode back as it was before a row switched it.
    async fn restore_data_mode(&mut self, before: &str) {
        if self.data_mode().await == before {
            return;
        }
        let admin = self.roles.top().expect("a role table with roles");
        let caller = self.main(&Self::role_seat(admin)).await;
        let body = json!({ "dataMode": before });
        let r = send_as(
            self.server,
            Method::PUT,
            "/admin/api/data-mode",
            &caller,
            Some(body),
        )
        .await;
        if !r.status.is_success() {
            self.failures.push(format!(
                "restoring the data mode {before}: {} {}",
                r.status, r.text
            ));
        }
    }
}

/// The request of one planned call.
fn build<C>(
    server: &TestServer<C>,
    row: &Row,
    probe: &Probe<'_>,
    signed: bool,
) -> Result<Request, String> {
    let mut path = row.path.clone();
    for (name, value) in &row.params {
        let hole = format!("{{{name}}}");
        if !path.contains(&hole) {
            return Err(format!("the path has no {hole}"));
        }
        path = path.replace(&hole, &value(probe));
    }
    if let Some(start) = path.find('{') {
        return Err(format!("the row gives no value for {}", &path[start..]));
    }
    if let Some(q) = &row.query {
        path = format!("{path}?{}", q(probe));
    }
    let mut headers = row.headers.clone();
    let mut body = None;
    if let Some((content_type, make)) = &row.body {
        if let Some(t) = content_type {
            headers.push(("content-type".into(), t.clone()));
        }
        body = Some(make(probe));
    }
    if row.websocket {
        headers.extend(
            [
                ("connection", "Upgrade"),
                ("upgrade", "websocket"),
                ("sec-websocket-version", "13"),
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
    }
    if let Some(c) = probe.caller {
        authenticate(&mut headers, &row.method, c);
    }
    let mut req = Request {
        method: row.method.clone(),
        url: server.url(&path),
        headers,
        body,
    };
    if signed && let Some(sign) = &row.sign {
        sign(&mut req);
    }
    Ok(req)
}

/// The row's operation with every path parameter an unknown id and a `{}` body (on writes),
/// nothing else.
fn blind_request<C>(server: &TestServer<C>, row: &Row) -> Request {
    let path = row
        .path
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                uuid::Uuid::now_v7().to_string()
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let write = ![Method::GET, Method::HEAD, Method::OPTIONS].contains(&row.method);
    Request {
        method: row.method.clone(),
        url: server.url(&path),
        headers: if write {
            vec![("content-type".into(), "application/json".into())]
        } else {
            Vec::new()
        },
        body: write.then(|| b"{}".to_vec()),
    }
}

/// Adds `caller`'s credentials: its bearer token or cookies, and its CSRF token on writes.
fn authenticate(headers: &mut Vec<(String, String)>, method: &Method, c: &Caller) {
    if c.bearer {
        headers.push(("authorization".into(), format!("Bearer {}", c.access)));
    }
    if !c.cookies.is_empty() {
        let line = c
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        headers.push(("cookie".into(), line));
    }
    let write = ![Method::GET, Method::HEAD, Method::OPTIONS].contains(method);
    if let (true, Some(csrf)) = (write, &c.csrf) {
        headers.push(("x-csrf-token".into(), csrf.clone()));
    }
}

/// Sends `req`; a stream (an upgrade, an endless event stream) is judged by its head and
/// dropped unread.
async fn send<C>(server: &TestServer<C>, req: Request, stream: bool) -> Result<Resp, String> {
    let mut builder = server.client.request(req.method, &req.url);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if let Some(b) = req.body {
        builder = builder.body(b);
    }
    let res = tokio::time::timeout(CALL_TIMEOUT, builder.send())
        .await
        .map_err(|_| format!("no answer within {CALL_TIMEOUT:?}"))?
        .map_err(|e| format!("request failed: {e}"))?;
    let event_stream = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if res.status() == StatusCode::SWITCHING_PROTOCOLS
        || (res.status().is_success() && (stream || event_stream))
    {
        return Ok(Resp {
            status: res.status(),
            headers: res.headers().clone(),
            body: Value::Null,
            text: String::new(),
            shape: server.errors,
        });
    }
    tokio::time::timeout(CALL_TIMEOUT, read(res, server.errors))
        .await
        .map_err(|_| format!("the body did not end within {CALL_TIMEOUT:?}"))
}

/// A plain call as `caller` (the kit's own bookkeeping, not a row).
async fn send_as<C>(
    server: &TestServer<C>,
    method: Method,
    path: &str,
    caller: &Caller,
    body: Option<Value>,
) -> Resp {
    let mut headers = Vec::new();
    if body.is_some() {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    authenticate(&mut headers, &method, caller);
    let req = Request {
        method,
        url: server.url(path),
        headers,
        body: body.map(|b| b.to_string().into_bytes()),
    };
    send(server, req, false)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn short(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Whether `res` is what `want` asks of this row; the error says what was expected.
fn judge(row: &Row, want: Want, res: &Resp) -> Result<(), String> {
    let got = res.status.as_u16();
    let expected = |what: String| {
        Err(format!(
            "expected {what}, got {} {}",
            res.status,
            short(&res.text)
        ))
    };
    match want {
        Want::Refused(status) => {
            error_problem(res, status, refusal_code(status)).map_or(Ok(()), Err)
        }
        Want::Allowed => match row.expect {
            _ if got == 401 || got == 403 => expected("the call to be allowed".into()),
            Expect::Success if row.websocket && got == 101 => Ok(()),
            Expect::Success if !row.websocket && (200..300).contains(&got) => Ok(()),
            Expect::Status(s) if s == got => Ok(()),
            Expect::Error(s, code) => error_problem(res, s, code).map_or(Ok(()), Err),
            Expect::Success if row.websocket => expected("101".into()),
            Expect::Success => expected("2xx".into()),
            Expect::Status(s) => expected(s.to_string()),
        },
    }
}

impl<C: HasCore> TestServer<C> {
    /// The user who sits in `seat` (at [`Seat::email`], with its role), made through the
    /// identity service on first use.
    pub async fn seat_user(&self, seat: &Seat) -> platform::identity::User {
        let email = seat.email();
        match self
            .ctx
            .core()
            .identity
            .user_by_email(&email)
            .await
            .expect("user lookup")
        {
            Some(user) => user,
            None => self.create_user(&email, seat.role).await,
        }
    }

    /// A job no worker will run (due in a year, then cancelled), which the console may read
    /// and retry.
    pub async fn parked_job(&self) -> uuid::Uuid {
        let job = NewJob::from_value("testkit.parked", json!({}))
            .at(Utc::now() + chrono::Duration::days(365));
        let id = self.ctx.core().jobs.enqueue(job).await.expect("enqueue").id;
        let done = self.ctx.core().jobs.cancel(id).await.expect("cancel");
        assert!(
            matches!(done, JobControl::Done),
            "the parked job is cancelled"
        );
        id
    }
}

/// The rows of what the platform serves on every product (`platform::product`): `/healthz`,
/// `/readyz`, the documentation, `/metrics` and the console API (docs/console.md). The console
/// acts on the owner seat's user and on a fresh session of theirs, and on a parked job.
pub async fn platform_rows<C: HasCore>(server: &TestServer<C>) -> Vec<Row> {
    let job = server.parked_job().await.to_string();
    vec![
        Row::public("GET /healthz"),
        Row::public("GET /readyz"),
        Row::public("GET /openapi.json").undocumented(),
        Row::public("GET /docs").undocumented().status(303),
        Row::public("GET /metrics").undocumented(),
        Row::perm("GET /admin/api/outbox", CONSOLE_READ),
        Row::perm("GET /admin/api/jobs", CONSOLE_READ),
        Row::perm("GET /admin/api/jobs/dead", CONSOLE_READ),
        Row::perm("GET /admin/api/jobs/{id}", CONSOLE_READ).param("id", &job),
        Row::perm("POST /admin/api/jobs/{id}/retry", CONSOLE_UPDATE).param("id", &job),
        Row::perm("GET /admin/api/users", CONSOLE_READ),
        Row::perm("GET /admin/api/users/{id}", CONSOLE_READ)
            .param_with("id", |p| p.owner().user_id()),
        Row::perm("DELETE /admin/api/sessions/{id}", CONSOLE_UPDATE)
            .param_with("id", |p| p.owner().session_id())
            .ends_named_session(),
        Row::perm("GET /admin/api/data-mode", CONSOLE_READ),
        Row::perm("PUT /admin/api/data-mode", CONSOLE_UPDATE).body(json!({ "dataMode": "mock" })),
        Row::perm("GET /admin/api/logs", CONSOLE_READ),
    ]
}
