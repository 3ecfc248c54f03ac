//! The responses the transport builds itself: JSON-RPC errors, refusals,
//! challenges and the protected resource metadata.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};
use mcp_core::jsonrpc::{ErrorObject, ErrorResponse, Message, RequestId, error_code};

use super::{HttpConfig, McpBody, body};

pub(crate) fn with_content_type(
    mut response: Response<McpBody>,
    content_type: &'static str,
) -> Response<McpBody> {
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<McpBody> {
    let mut response = Response::new(McpBody::full(body));
    *response.status_mut() = status;
    with_content_type(response, "application/json")
}

pub(crate) fn message_json(status: StatusCode, message: &Message) -> Response<McpBody> {
    // Sized for the result up front: a large one is written once, not
    // copied as the buffer doubles.
    let hint = match message {
        Message::Response(response) => response.result.get().len() + 64,
        _ => 256,
    };
    let mut bytes = Vec::with_capacity(hint);
    match serde_json::to_writer(&mut bytes, message) {
        Ok(()) => json(status, bytes),
        Err(e) => {
            tracing::error!(error = %e, "response could not be encoded");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// From this size on, a result is sent as it is, not copied into the body.
const LARGE_RESULT: usize = 64 * 1024;

/// `message` as the whole response, taken: a large result goes out as the
/// buffer it was encoded into, between the envelope's head and tail.
pub(crate) fn message_json_owned(status: StatusCode, message: Message) -> Response<McpBody> {
    let response = match message {
        Message::Response(response) if response.result.get().len() >= LARGE_RESULT => response,
        message => return message_json(status, &message),
    };
    let mut head = Vec::with_capacity(64);
    head.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    if let Err(e) = serde_json::to_writer(&mut head, &response.id) {
        tracing::error!(error = %e, "response could not be encoded");
        return empty(StatusCode::INTERNAL_SERVER_ERROR);
    }
    head.extend_from_slice(br#","result":"#);
    let result = Bytes::from(Box::<str>::from(response.result).into_boxed_bytes());
    let body = McpBody::parts(vec![Bytes::from(head), result, Bytes::from_static(b"}")]);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    with_content_type(response, "application/json")
}

/// A JSON-RPC error as the whole response.
pub(crate) fn error(
    status: StatusCode,
    id: Option<RequestId>,
    code: i32,
    message: impl Into<String>,
) -> Response<McpBody> {
    let message = Message::Error(ErrorResponse::new(id, ErrorObject::new(code, message)));
    message_json(status, &message)
}

pub(crate) fn empty(status: StatusCode) -> Response<McpBody> {
    let mut response = Response::new(McpBody::empty());
    *response.status_mut() = status;
    response
}

pub(crate) fn method_not_allowed(allow: &'static str) -> Response<McpBody> {
    let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

pub(crate) fn sse_response(body: body::SseBody) -> Response<McpBody> {
    let mut response = Response::new(McpBody::sse(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// 401 with a `WWW-Authenticate: Bearer` challenge, for a request that did
/// not authenticate (503 when credentials cannot be checked now). With
/// OAuth the challenge points at the protected resource metadata and names
/// the scopes to ask for, so a client can start the authorization flow.
pub(crate) fn unauthorized(
    e: &crate::auth::AuthError,
    metadata: Option<&crate::auth::ProtectedResourceMetadata>,
) -> Response<McpBody> {
    if let crate::auth::AuthError::Unavailable(_) = e {
        tracing::warn!(error = %e, "cannot authenticate a request");
        let mut response = error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            error_code::INTERNAL_ERROR,
            e.to_string(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    }
    tracing::info!(error = %e, "rejected an unauthenticated request");
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        None,
        error_code::INVALID_REQUEST,
        e.to_string(),
    );
    let mut challenge = String::from(r#"Bearer realm="mcp""#);
    if let Some(metadata) = metadata {
        challenge.push_str(&format!(
            r#", resource_metadata="{}""#,
            metadata.metadata_url()
        ));
        if !metadata.scopes_supported.is_empty() {
            challenge.push_str(&format!(
                r#", scope="{}""#,
                metadata.scopes_supported.join(" ")
            ));
        }
    }
    if !matches!(e, crate::auth::AuthError::Missing) {
        challenge.push_str(r#", error="invalid_token""#);
        // The description is ours (never token contents); quotes would
        // break the header.
        let description = e.to_string().replace(['"', '\\'], "'");
        challenge.push_str(&format!(r#", error_description="{description}""#));
    }
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub(crate) const WELL_KNOWN_RESOURCE: &str = "/.well-known/oauth-protected-resource";

/// The metadata lives at the well-known path, bare or suffixed with the
/// MCP endpoint's path (RFC 9728 §3.1).
pub(crate) fn metadata_path_matches(path: &str, config: &HttpConfig) -> bool {
    let suffix = &path[WELL_KNOWN_RESOURCE.len()..];
    suffix.is_empty() || suffix == config.path.trim_end_matches('/')
}

pub(crate) fn resource_metadata(
    metadata: &crate::auth::ProtectedResourceMetadata,
    method: &Method,
) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let body = serde_json::to_vec(metadata).unwrap_or_default();
    let mut response = json(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    // Public by design: browser-based clients must be able to read it.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// Adds `resource_metadata` to an `insufficient_scope` challenge.
pub(crate) fn point_at_metadata<B>(
    response: &mut Response<B>,
    metadata: &crate::auth::ProtectedResourceMetadata,
) {
    let Some(challenge) = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .filter(|c| c.contains("insufficient_scope") && !c.contains("resource_metadata"))
    else {
        return;
    };
    let challenge = format!(
        r#"{challenge}, resource_metadata="{}""#,
        metadata.metadata_url()
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
}

/// 503 with `Retry-After`, for load shedding.
pub(crate) fn busy(id: Option<RequestId>, what: &str) -> Response<McpBody> {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        error_code::INTERNAL_ERROR,
        format!("server busy: {what}; retry shortly"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// 429 with `Retry-After`, for a caller over one of its limits.
pub(crate) fn too_many_requests(
    id: Option<RequestId>,
    error: ErrorObject,
    retry_after_secs: u64,
) -> Response<McpBody> {
    let message = Message::Error(ErrorResponse::new(id, error));
    let mut response = message_json(StatusCode::TOO_MANY_REQUESTS, &message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use mcp_core::jsonrpc::Response as Answered;
    use serde_json::value::RawValue;

    async fn body_of(response: Response<McpBody>) -> Vec<u8> {
        let declared = http_body::Body::size_hint(response.body()).exact();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(declared, Some(bytes.len() as u64));
        bytes.to_vec()
    }

    #[tokio::test]
    async fn an_answer_taken_whole_is_written_as_one_copied_is() {
        let large =
            serde_json::json!({"content": [{"type": "text", "text": "x\"y".repeat(LARGE_RESULT)}]});
        for (id, result) in [
            (
                RequestId::String("a \"quoted\" id\n".into()),
                large.to_string(),
            ),
            (RequestId::Number(-7), large.to_string()),
            (RequestId::Number(1), r#"{"small":true}"#.to_owned()),
        ] {
            let message = Message::Response(Answered {
                id,
                result: RawValue::from_string(result).unwrap(),
            });
            let copied = body_of(message_json(StatusCode::OK, &message)).await;
            let taken = body_of(message_json_owned(StatusCode::OK, message)).await;
            assert_eq!(
                String::from_utf8(taken).unwrap(),
                String::from_utf8(copied).unwrap()
            );
        }
    }
}
