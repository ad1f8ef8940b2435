//! API documentation: `/openapi.json` (OpenAPI 3.1, generated from the handlers) and `/docs`
//! (Swagger UI, served from the binary, no network). Also fills in each operation's error
//! responses from the catalogue, so annotations stay short.

use axum::Router;
use utoipa::{
    ToSchema,
    openapi::{
        ContentBuilder, OpenApi, RefOr, ResponseBuilder,
        path::{HttpMethod, Operation},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ErrorFormat, FlatError};

/// Routes serving the document and the UI.
pub fn routes<S: Clone + Send + Sync + 'static>(openapi: OpenApi) -> Router<S> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
}

/// The operation extension that names what a call changes for every later request, for tools
/// that exercise a whole API (`scripts/schemathesis.sh` runs such operations alone, last):
/// `"ends-session"` (logout, session revoke), `"switches-data-mode"`, `"endless-stream"` (SSE,
/// which answers 200 and never ends).
pub const EFFECT: &str = "x-basalt-effect";

/// The component name of every product's error body.
pub const ERROR_SCHEMA: &str = "Error";

/// Declares the bearer scheme and documents the catalogue's error statuses on every operation,
/// with the error body of the product's `format` (and the schemas it refers to).
pub fn finish(mut api: OpenApi, format: ErrorFormat) -> OpenApi {
    let components = api.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(ERROR_SCHEMA.to_owned(), format.schema());
    let mut referenced = Vec::new();
    <FlatError as ToSchema>::schemas(&mut referenced);
    for (name, schema) in referenced {
        components.schemas.entry(name).or_insert(schema);
    }
    let error_schema_name = ERROR_SCHEMA;
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
pub fn add_error_status(api: &mut OpenApi, status: &str, description: &str) {
    let error_ref = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(ERROR_SCHEMA));
    for_each_operation(api, |op| {
        add_error_response(op, &error_ref, status, description)
    });
}
