//! The REST API's extractors: axum's, with their refusals answered in the
//! API's JSON error body (`{"error": "..."}`) instead of plain text.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::error_response;
use crate::limits;

/// A record's id from the path; anything but a 64-bit integer is a 400.
pub(super) struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|e| error_response(StatusCode::BAD_REQUEST, &e.body_text()))
    }
}

/// The query string; one that does not parse is a 400.
pub(super) struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|e| error_response(StatusCode::BAD_REQUEST, &e.body_text()))
    }
}

/// A JSON body: malformed JSON is a 400, JSON of the wrong shape a 422,
/// another content type a 415.
pub(super) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(|e| {
                let status = match &e {
                    JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    // Syntax errors, and a body that could not be read.
                    _ => StatusCode::BAD_REQUEST,
                };
                error_response(status, &e.body_text())
            })
    }
}

/// The `Idempotency-Key` header: absent, or at most
/// [`limits::KEY`] visible ASCII characters.
pub(super) struct IdempotencyKey(pub Option<String>);

/// The header's name.
pub(super) const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(Self(None));
        };
        let invalid = |why: &str| {
            error_response(
                StatusCode::BAD_REQUEST,
                &format!("invalid Idempotency-Key header: {why}"),
            )
        };
        let key = value
            .to_str()
            .map_err(|_| invalid("use visible ASCII characters"))?;
        limits::check("Idempotency-Key", key, limits::KEY).map_err(|e| invalid(&e.to_string()))?;
        Ok(Self(Some(key.to_owned())))
    }
}
