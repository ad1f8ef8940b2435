//! The console API every product serves under `/admin/api/` (DESIGN.md): the outbox, the job
//! queue and its dead letters, users and their sessions, the data mode, and this instance's
//! recent logs. Admins only (`CONSOLE_READ` to look, `CONSOLE_UPDATE` to act); the handlers
//! run on the product's `Core`, so no product writes them again.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    ApiError,
    core::Core,
    datamode::Mode,
    error::ErrorDetails,
    extract::{Json, Path, Query},
    identity::{Session, User, UserFilter, auth::AuthUser},
    jobs::{JobAttemptView, JobControl, JobFilter, JobStatus, JobView},
    observability::recent,
    outbox::OutboxMessageView,
    roles::{CONSOLE_READ, CONSOLE_UPDATE},
    validate::{Listed, Page, PageQuery, Problems},
};

/// The console's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<Core> {
    OpenApiRouter::new()
        .routes(routes!(outbox))
        .routes(routes!(jobs))
        .routes(routes!(dead_letters))
        .routes(routes!(job))
        .routes(routes!(retry_job))
        .routes(routes!(users))
        .routes(routes!(user))
        .routes(routes!(revoke_session))
        .routes(routes!(data_mode, switch_data_mode))
        .routes(routes!(logs))
}

/// `GET /admin/api/outbox`: messages recorded by the outbox (mail, SMS, … in MOCK mode),
/// newest first.
#[utoipa::path(get, operation_id = "adminListOutbox", path = "/admin/api/outbox", tag = "console", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, description = "A page of messages", body = Page<OutboxMessageView>)))]
pub async fn outbox(
    State(core): State<Core>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<OutboxMessageView>>, ApiError> {
    core.require(&user, CONSOLE_READ)?;
    let page = core.outbox.page(q.paging()?).await?;
    Ok(Json(page.map(Into::into)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// Only jobs in this state (`dead`: the dead letters).
    pub status: Option<JobStatus>,
    /// Only jobs of this kind (e.g. `alert.deliver`).
    pub kind: Option<String>,
    pub queue: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}

/// `GET /admin/api/jobs`: the job queue, newest first.
#[utoipa::path(get, operation_id = "adminListJobs", path = "/admin/api/jobs", tag = "console", security(("bearer" = [])),
    params(JobsQuery), responses((status = 200, description = "A page of jobs", body = Page<JobView>)))]
pub async fn jobs(
    State(core): State<Core>,
    user: AuthUser,
    Query(q): Query<JobsQuery>,
) -> Result<Json<Page<JobView>>, ApiError> {
    core.require(&user, CONSOLE_READ)?;
    let paging = PageQuery {
        page: q.page,
        limit: q.limit,
    }
    .paging()?;
    let filter = JobFilter {
        status: q.status,
        kind: q.kind,
        queue: q.queue,
    };
    Ok(Json(core.jobs.page(&filter, paging).await?))
}

/// `GET /admin/api/jobs/dead`: the dead letters (jobs that used up their attempts or failed
/// for good), newest first; `POST /admin/api/jobs/{id}/retry` revives one.
#[utoipa::path(get, operation_id = "adminListDeadJobs", path = "/admin/api/jobs/dead", tag = "console", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, description = "A page of dead jobs", body = Page<JobView>)))]
pub async fn dead_letters(
    State(core): State<Core>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<JobView>>, ApiError> {
    core.require(&user, CONSOLE_READ)?;
    let filter = JobFilter {
        status: Some(JobStatus::Dead),
        ..JobFilter::default()
    };
    Ok(Json(core.jobs.page(&filter, q.paging()?).await?))
}

/// One job and every run of it.
#[derive(Serialize, ToSchema)]
pub struct JobDetail {
    pub job: JobView,
    pub attempts: Vec<JobAttemptView>,
}

/// `GET /admin/api/jobs/{id}`: a job with its attempts, oldest first.
#[utoipa::path(get, operation_id = "adminGetJob", path = "/admin/api/jobs/{id}", tag = "console", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The job and its attempts", body = JobDetail)))]
pub async fn job(
    State(core): State<Core>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<JobDetail>, ApiError> {
    core.require(&user, CONSOLE_READ)?;
    let id = job_id(&id)?;
    let job = core.jobs.get(id).await?.ok_or_else(job_not_found)?;
    let attempts = core.jobs.attempts(id).await?;
    Ok(Json(JobDetail { job, attempts }))
}

/// `POST /admin/api/jobs/{id}/retry`: a dead (or cancelled) job back to pending, due now,
/// attempts reset; any other state is 400 `failed_precondition`.
#[utoipa::path(post, operation_id = "adminRetryJob", path = "/admin/api/jobs/{id}/retry", tag = "console", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The job, pending again", body = JobView)))]
pub async fn retry_job(
    State(core): State<Core>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    core.require(&user, CONSOLE_UPDATE)?;
    let id = job_id(&id)?;
    match core.jobs.retry(id).await? {
        JobControl::Done => core.jobs.wake(),
        JobControl::NotFound => return Err(job_not_found()),
        JobControl::WrongStatus(s) => {
            return Err(ApiError::precondition(format!(
                "only dead or cancelled jobs can be retried; this one is {}",
                s.as_str()
            ))
            .with_details(ErrorDetails::Status {
                status: s.as_str().into(),
            }));
        }
    }
    let job = core.jobs.get(id).await?.ok_or_else(job_not_found)?;
    Ok(Json(job))
}

fn job_not_found() -> ApiError {
    ApiError::not_found("Job not found")
}

/// A path id that is not a UUID names no job: 404, like an unknown one.
fn job_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| job_not_found())
}

/// A user as the console shows them (never a password hash or a TOTP secret).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub email_verified: bool,
    pub two_factor_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<User> for ConsoleUser {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            email_verified: u.email_verified,
            two_factor_enabled: u.totp_enabled,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

impl Listed for ConsoleUser {
    const KEY: &'static str = "users";
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Only users with this role.
    pub role: Option<String>,
    /// Only users whose address contains this text.
    #[param(max_length = 254)]
    pub email: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}

/// `GET /admin/api/users`: the product's users, oldest first.
#[utoipa::path(get, operation_id = "adminListUsers", path = "/admin/api/users", tag = "console", security(("bearer" = [])),
    params(UsersQuery), responses((status = 200, description = "A page of users", body = Page<ConsoleUser>)))]
pub async fn users(
    State(core): State<Core>,
    user: AuthUser,
    Query(q): Query<UsersQuery>,
) -> Result<Json<Page<ConsoleUser>>, ApiError> {
    core.require(&user, CONSOLE_READ)?;
    let mut p = Problems::new();
    let paging = PageQuery {
        page: q.page,
        limit: q.limit,
    }
    .check(&mut p, crate::validate::LIMIT_DEFAULT);
    if let Some(role) = &q.role {
        p.require(
            core.roles.is_role(role),
            "role",
            format!(
                "must be one of: {}",
                core.roles.roles().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    if let Some(email) = &q.email {
        p.require(
            email.chars().count() <= 254,
            "email",
            "must be at most 254 characters",
        );
    }
    p.check()?;
    let filter = UserFilter {
        role: q.role,
        email_contains: q.email.filter(|e| !e.trim().is_empty()),
    };
    let page = core.identity.users(&filter, paging).await?;
    Ok(Json(page.map(Into::into)))
}

/// A signed-in device of a user, as the console shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleSession {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The admin behind an impersonation session.
    pub impersonator_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<Session> for ConsoleSession {
    fn from(s: Session) -> Self {
        Self {
            id: s.id,
            user_agent: s.user_agent,
            ip: s.ip,
            impersonator_id: s.impersonator_id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
        }
    }
}

/// A user and their live sessions.
#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    pub user: ConsoleUser,
    /// Most recently used first.
    pub sessions: Vec<ConsoleSession>,
}

/// `GET /admin/api/users/{id}`: a user and their live sessions.
#[utoipa::path(get, operation_id = "adminGetUser", path = "/admin/api/users/{id}", tag = "console", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user and their sessions", body = UserDetail)))]
pub async fn user(
    State(core): State<Core>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UserDetail>, ApiError> {
    core.require(&user, CONSOLE_READ)?;
    let not_found = || ApiError::not_found("User not found");
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let found = core.identity.user(id).await?.ok_or_else(not_found)?;
    let sessions = core.identity.sessions(id).await?;
    Ok(Json(UserDetail {
        user: found.into(),
        sessions: sessions.into_iter().map(Into::into).collect(),
    }))
}

/// The answer of an action that has nothing else to say.
#[derive(Serialize, ToSchema)]
pub struct Done {
    pub success: bool,
}

/// `DELETE /admin/api/sessions/{id}`: ends any user's session (its refresh token stops
/// working, its access tokens are refused at once, its open live streams close).
#[utoipa::path(delete, operation_id = "adminRevokeSession", path = "/admin/api/sessions/{id}", tag = "console", security(("bearer" = [])),
    extensions(("x-basalt-effect" = json!("ends-session"))),
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 200, description = "The session is ended", body = Done)))]
pub async fn revoke_session(
    State(core): State<Core>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Done>, ApiError> {
    core.require(&user, CONSOLE_UPDATE)?;
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::not_found("session not found"))?;
    let session = core
        .identity
        .revoke_any_session(id, "revoked_by_admin")
        .await?;
    let details = json!({ "sessionId": session.id });
    core.identity
        .log_event(
            Some(session.user_id),
            Some(user.id()),
            "session_revoked_by_admin",
            &user.client,
            Some(details),
        )
        .await;
    Ok(Json(Done { success: true }))
}

/// The product's data mode.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataModeView {
    pub data_mode: Mode,
}

/// `GET /admin/api/data-mode`: MOCK or LIVE, as every instance of the product answers.
#[utoipa::path(get, operation_id = "adminGetDataMode", path = "/admin/api/data-mode", tag = "console", security(("bearer" = [])),
    responses((status = 200, description = "The current mode", body = DataModeView)))]
pub async fn data_mode(
    State(core): State<Core>,
    user: AuthUser,
) -> Result<Json<DataModeView>, ApiError> {
    core.require(&user, CONSOLE_READ)?;
    Ok(Json(DataModeView {
        data_mode: core.data_mode.get(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"dataMode": "MOCK"}))]
pub struct SwitchDataMode {
    /// `MOCK` or `LIVE`, in any case.
    #[schema(value_type = String, example = "LIVE")]
    pub data_mode: String,
}

/// `PUT /admin/api/data-mode`: switches every instance of the product to MOCK or LIVE; the
/// switch is kept across restarts.
#[utoipa::path(put, operation_id = "adminSwitchDataMode", path = "/admin/api/data-mode", tag = "console", security(("bearer" = [])),
    extensions(("x-basalt-effect" = json!("switches-data-mode"))),
    request_body = SwitchDataMode,
    responses((status = 200, description = "The mode now in effect", body = DataModeView)))]
pub async fn switch_data_mode(
    State(core): State<Core>,
    user: AuthUser,
    Json(req): Json<SwitchDataMode>,
) -> Result<Json<DataModeView>, ApiError> {
    core.require(&user, CONSOLE_UPDATE)?;
    let mode = Mode::parse(&req.data_mode).ok_or_else(|| {
        ApiError::validation(vec![crate::validate::field(
            "dataMode",
            "must be MOCK or LIVE",
        )])
    })?;
    core.switch_data_mode(mode, &user).await?;
    Ok(Json(DataModeView { data_mode: mode }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// The least severe level shown: `error`, `warn`, `info` (default), `debug`, `trace`.
    pub level: Option<String>,
    /// Lines, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// This instance's recent log lines for the product.
#[derive(Serialize, ToSchema)]
pub struct LogLines {
    /// Newest first, each in the log's JSON shape
    /// (`timestamp, level, service, message, metadata, stackTrace`).
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<serde_json::Value>,
}

/// `GET /admin/api/logs`: the last log lines of this product on the instance that answers
/// (each instance keeps its own last 500).
#[utoipa::path(get, operation_id = "adminGetLogs", path = "/admin/api/logs", tag = "console", security(("bearer" = [])),
    params(LogsQuery), responses((status = 200, description = "Recent log lines", body = LogLines)))]
pub async fn logs(
    State(core): State<Core>,
    user: AuthUser,
    Query(q): Query<LogsQuery>,
) -> Result<Json<LogLines>, ApiError> {
    core.require(&user, CONSOLE_READ)?;
    let mut p = Problems::new();
    let level = match q.level.as_deref() {
        None => tracing::Level::INFO,
        Some(raw) => raw.parse().unwrap_or_else(|_| {
            p.push("level", "must be error, warn, info, debug or trace");
            tracing::Level::INFO
        }),
    };
    let limit = q.limit.unwrap_or(100);
    p.require(
        (1..=recent::KEPT).contains(&limit),
        "limit",
        format!("must be 1 to {}", recent::KEPT),
    );
    p.check()?;
    Ok(Json(LogLines {
        lines: recent::read(core.product, level, limit),
    }))
}

impl Core {
    /// Switches the data mode for every instance and records who did it.
    pub async fn switch_data_mode(&self, mode: Mode, by: &AuthUser) -> Result<(), ApiError> {
        self.data_mode.switch(mode, Some(by.id())).await?;
        let details = json!({ "dataMode": mode });
        self.identity
            .log_event(
                Some(by.id()),
                by.impersonator,
                "data_mode_changed",
                &by.client,
                Some(details),
            )
            .await;
        tracing::info!(data_mode = mode.as_str(), by = %by.id(), "data mode switched");
        Ok(())
    }
}
