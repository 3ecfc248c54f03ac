//! The REST API's OpenAPI 3.1 document, generated from the handlers'
//! annotations and the record types, served at `GET /api/openapi.json`.

use serde::Serialize;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::{read, write};

/// Every error's body.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
}

/// The refusals every route may answer.
#[derive(IntoResponses)]
#[allow(
    dead_code,
    reason = "the variants describe responses; they are never built"
)]
pub(super) enum Refusals {
    /// A bad id, query string or header, or a value the CRM refuses.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No credential, or one that is not valid.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The credential lacks the route's scope, or names no tenant where
    /// tenancy is required.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Too many requests from this caller; see `Retry-After`.
    #[response(status = 429)]
    TooManyRequests(ErrorBody),
}

/// The refusals of routes that name a record.
#[derive(IntoResponses)]
#[allow(
    dead_code,
    reason = "the variants describe responses; they are never built"
)]
pub(super) enum NotFound {
    /// No such record for this tenant (another tenant's ids too).
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// The refusals of routes that take a JSON body.
#[derive(IntoResponses)]
#[allow(
    dead_code,
    reason = "the variants describe responses; they are never built"
)]
pub(super) enum BodyRefusals {
    /// The change clashes with what is stored: a taken e-mail address or
    /// company name, a record still in use, an idempotency key used for
    /// another request.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The body is larger than the API reads (256 KiB).
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
    /// The body is not `application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// The body is JSON of the wrong shape: a missing field, a wrong type.
    #[response(status = 422)]
    Unprocessable(ErrorBody),
}

/// The security schemes: the server's API keys (`MCP_API_KEYS`) as
/// `X-API-Key` or as a bearer token, and OAuth access tokens as bearer.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CRM REST API",
        description = "Contacts, companies, deals and activities. Every route takes the same credentials, tenant and rate limit as the server's MCP endpoint; reads need the read scopes, writes the write scopes (CRM_REST_READ_SCOPES, CRM_REST_WRITE_SCOPES)."
    ),
    paths(
        read::contacts, read::contact, read::companies, read::company, read::deals, read::deal,
        read::activities, read::activity,
        write::create_contact, write::update_contact, write::delete_contact,
        write::create_company, write::update_company, write::delete_company,
        write::create_deal, write::update_deal, write::delete_deal,
        write::create_activity, write::update_activity, write::delete_activity,
    ),
    modifiers(&Security),
    security(("api_key" = []), ("bearer" = [])),
    tags(
        (name = "contacts", description = "People"),
        (name = "companies", description = "Companies"),
        (name = "deals", description = "The deal pipeline"),
        (name = "activities", description = "Notes, calls, e-mails, meetings and tasks"),
    )
)]
struct ApiDoc;

/// The REST API's OpenAPI 3.1 document.
pub fn document() -> Document {
    let mut document = ApiDoc::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document
}
