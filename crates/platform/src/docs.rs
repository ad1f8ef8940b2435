//! API documentation: `/openapi.json` (OpenAPI 3.1, generated from the handlers) and `/docs`
//! (Swagger UI, served from the binary, no network). Also fills in each operation's error
//! responses from the catalogue, so annotations stay short.

use axum::Router;
use serde::Serialize;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        ContentBuilder, OpenApi, RefOr, ResponseBuilder,
        path::{HttpMethod, Operation},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_swagger_ui::SwaggerUi;

/// War Room's (Encore) and PawfectMatch's error body.
#[derive(Serialize, ToSchema)]
pub struct FlatError {
    /// Stable error code, e.g. `invalid_argument`.
    pub code: String,
    pub message: String,
    /// Extra structured data: `fields` for validation errors, `retryAfter`, `twoFactorRequired`.
    pub details: Option<serde_json::Value>,
}

/// Routes serving the document and the UI.
pub fn routes<S: Clone + Send + Sync + 'static>(openapi: OpenApi) -> Router<S> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
}

/// Declares the bearer scheme and documents the catalogue's error statuses on every operation
/// (`error_schema` is the product's error body, added to components here).
pub fn finish(
    mut api: OpenApi,
    error_schema_name: &str,
    error_schema: RefOr<utoipa::openapi::schema::Schema>,
) -> OpenApi {
    let components = api.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(error_schema_name.to_owned(), error_schema);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    let error_ref = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(error_schema_name));
    for_each_operation(&mut api, |op| add_errors(op, &error_ref));
    api
}

fn for_each_operation(api: &mut OpenApi, mut f: impl FnMut(&mut Operation)) {
    for item in api.paths.paths.values_mut() {
        for method in [
            HttpMethod::Get,
            HttpMethod::Post,
            HttpMethod::Put,
            HttpMethod::Patch,
            HttpMethod::Delete,
        ] {
            if let Some(op) = operation_mut(item, method) {
                f(op);
            }
        }
    }
}

fn operation_mut(
    item: &mut utoipa::openapi::PathItem,
    method: HttpMethod,
) -> Option<&mut Operation> {
    match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Patch => item.patch.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        _ => None,
    }
}

fn add_errors(op: &mut Operation, error_ref: &RefOr<utoipa::openapi::schema::Schema>) {
    const ERRORS: [(&str, &str); 10] = [
        ("400", "Invalid argument or failed precondition"),
        ("401", "Missing, invalid or revoked credentials"),
        ("403", "The caller's role lacks the permission"),
        ("404", "No such resource"),
        ("405", "Method not allowed"),
        ("409", "Conflict with existing data"),
        ("413", "Request body too large"),
        ("429", "Rate limited; see Retry-After"),
        ("500", "Internal error (opaque)"),
        ("503", "Dependency unavailable or not configured"),
    ];
    for (status, description) in ERRORS {
        add_error_response(op, error_ref, status, description);
    }
}

fn add_error_response(
    op: &mut Operation,
    error_ref: &RefOr<utoipa::openapi::schema::Schema>,
    status: &str,
    description: &str,
) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(error_ref.clone()))
                            .build(),
                    )
                    .build(),
            )
        });
}

/// Documents one more error status on every operation (a product's own, e.g. Crenoir's 422),
/// with the error schema `finish` registered.
pub fn add_error_status(
    api: &mut OpenApi,
    error_schema_name: &str,
    status: &str,
    description: &str,
) {
    let error_ref = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(error_schema_name));
    for_each_operation(api, |op| {
        add_error_response(op, &error_ref, status, description)
    });
}

/// Convenience: the schema of a type, for `finish`.
pub fn schema_of<T: PartialSchema>() -> RefOr<utoipa::openapi::schema::Schema> {
    T::schema()
}

/// Crenoir X MAP's error body: `{ "error": { code, message, details? } }`.
#[derive(Serialize, ToSchema)]
pub struct NestedError {
    // Inline: `finish` registers the top-level schema only.
    #[schema(inline)]
    pub error: NestedErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct NestedErrorBody {
    pub code: String,
    pub message: String,
    /// Present on validation failures: `{ fields: [{ field, message }] }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// LeadGen's error body: `{ "error": { code, message, details, requestId } }`.
#[derive(Serialize, ToSchema)]
pub struct NestedErrorWithRequestId {
    // Inline: `finish` registers the top-level schema only.
    #[schema(inline)]
    pub error: NestedErrorDetail,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NestedErrorDetail {
    pub code: String,
    pub message: String,
    pub details: Option<serde_json::Value>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
}
