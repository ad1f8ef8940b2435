//! Operator endpoints: `POST /admin/toggle-mode` (seed 000) and the console's JSON API under
//! `/admin/api/` (outbox, jobs and their dead letters). Admins only.

use axum::extract::State;
use platform::{
    ApiError,
    datamode::Mode,
    extract::{Json, PageQuery, Path, Query},
    identity::auth::AuthUser,
    jobs::{JobAttemptView, JobControl, JobFilter, JobList, JobStatus, JobView},
    outbox::OutboxList,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::Ctx;

#[derive(Deserialize, ToSchema)]
pub struct ToggleModeRequest {
    /// The mode to set; omit to flip.
    pub mode: Option<Mode>,
}

#[derive(Serialize, ToSchema)]
pub struct ToggleModeResponse {
    pub data_mode: Mode,
}

/// `POST /admin/toggle-mode`: switches `DATA_MODE` at run time.
#[utoipa::path(post, path = "/admin/toggle-mode", tag = "admin", security(("bearer" = [])),
    request_body(content = Option<ToggleModeRequest>), responses((status = 200, body = ToggleModeResponse)))]
pub async fn toggle_mode(
    State(ctx): State<Ctx>,
    user: AuthUser,
    body: Option<Json<Option<ToggleModeRequest>>>,
) -> Result<Json<ToggleModeResponse>, ApiError> {
    ctx.require(&user, "admin", "update")?;
    let next = match body.and_then(|Json(b)| b).and_then(|b| b.mode) {
        Some(m) => m,
        None if ctx.data_mode.is_live() => Mode::Mock,
        None => Mode::Live,
    };
    ctx.data_mode.set(next);
    let details = serde_json::json!({ "dataMode": next });
    ctx.identity
        .log_event(
            Some(user.id()),
            user.impersonator,
            "data_mode_changed",
            &user.client,
            Some(details),
        )
        .await;
    tracing::info!(data_mode = ?next, by = %user.id(), "data mode changed");
    Ok(Json(ToggleModeResponse { data_mode: next }))
}

/// `GET /admin/api/outbox`: messages recorded by the outbox, newest first.
#[utoipa::path(get, path = "/admin/api/outbox", tag = "admin", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = OutboxList)))]
pub async fn outbox(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<OutboxList>, ApiError> {
    ctx.require(&user, "admin", "read")?;
    let (page, limit) = q.resolve()?;
    Ok(Json(ctx.outbox.page(page, limit).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// Only jobs in this state (`dead`: the dead letters).
    pub status: Option<JobStatus>,
    /// Only jobs of this kind (`alert.deliver`).
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
#[utoipa::path(get, path = "/admin/api/jobs", tag = "admin", security(("bearer" = [])), params(JobsQuery),
    responses((status = 200, body = JobList)))]
pub async fn jobs(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Query(q): Query<JobsQuery>,
) -> Result<Json<JobList>, ApiError> {
    ctx.require(&user, "admin", "read")?;
    let (page, limit) = PageQuery {
        page: q.page,
        limit: q.limit,
    }
    .resolve()?;
    let filter = JobFilter {
        status: q.status,
        kind: q.kind,
        queue: q.queue,
    };
    Ok(Json(ctx.jobs.page(&filter, page, limit).await?))
}

/// One job and every run of it.
#[derive(Serialize, ToSchema)]
pub struct JobDetail {
    pub job: JobView,
    pub attempts: Vec<JobAttemptView>,
}

/// `GET /admin/api/jobs/{id}`: a job with its attempts, oldest first.
#[utoipa::path(get, path = "/admin/api/jobs/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")), responses((status = 200, body = JobDetail)))]
pub async fn job(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<JobDetail>, ApiError> {
    ctx.require(&user, "admin", "read")?;
    let id = job_id(&id)?;
    let job = ctx.jobs.get(id).await?.ok_or_else(job_not_found)?;
    let attempts = ctx.jobs.attempts(id).await?;
    Ok(Json(JobDetail { job, attempts }))
}

/// `POST /admin/api/jobs/{id}/retry`: a dead (or cancelled) job back to pending, due now,
/// attempts reset; any other state is 400 `failed_precondition`.
#[utoipa::path(post, path = "/admin/api/jobs/{id}/retry", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")), responses((status = 200, body = JobView)))]
pub async fn retry_job(
    State(ctx): State<Ctx>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    ctx.require(&user, "admin", "update")?;
    let id = job_id(&id)?;
    match ctx.jobs.retry(id).await? {
        JobControl::Done => {}
        JobControl::NotFound => return Err(job_not_found()),
        JobControl::WrongStatus(s) => {
            return Err(ApiError::precondition(format!(
                "only dead or cancelled jobs can be retried; this one is {}",
                s.as_str()
            ))
            .with_details(serde_json::json!({ "status": s.as_str() })));
        }
    }
    let job = ctx.jobs.get(id).await?.ok_or_else(job_not_found)?;
    Ok(Json(job))
}

fn job_not_found() -> ApiError {
    ApiError::not_found("Job not found")
}

fn job_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| job_not_found())
}
