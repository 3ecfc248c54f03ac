//! Reading a request: its headers and its JSON body, within limits.

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderMap};
use http_body_util::BodyExt;
use mcp_core::jsonrpc::error_code;

use super::responses::error;
use super::{BoxError, HttpConfig, McpBody};
use http::Response;

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Which response types the client accepts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Accept {
    pub(super) json: bool,
    pub(super) sse: bool,
}

impl Accept {
    pub(super) fn of(headers: &HeaderMap) -> Self {
        let mut accept = Self {
            json: false,
            sse: false,
        };
        let values = headers.get_all(header::ACCEPT);
        let mut any_value = false;
        for value in values {
            any_value = true;
            for item in value.to_str().unwrap_or("").split(',') {
                let media = item.split(';').next().unwrap_or("").trim();
                match media.to_ascii_lowercase().as_str() {
                    "application/json" | "application/*" => accept.json = true,
                    "text/event-stream" | "text/*" => accept.sse = true,
                    "*/*" => {
                        accept.json = true;
                        accept.sse = true;
                    }
                    _ => {}
                }
            }
        }
        if !any_value {
            // No Accept header means anything goes.
            accept.json = true;
            accept.sse = true;
        }
        accept
    }
}

pub(crate) fn is_json_content(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_TYPE.as_str()).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// How large a body may be and how long it may take to arrive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    pub(crate) max_bytes: usize,
    pub(crate) timeout: std::time::Duration,
}

impl BodyLimits {
    pub(crate) fn of(config: &HttpConfig) -> Self {
        Self {
            max_bytes: config.max_body_bytes,
            timeout: config.body_timeout,
        }
    }
}

/// Reads a JSON request body, within the size and time limits.
pub(crate) async fn read_json_body<B>(
    headers: &HeaderMap,
    body: B,
    limits: BodyLimits,
) -> Result<Bytes, Box<Response<McpBody>>>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if !is_json_content(headers) {
        return Err(Box::new(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: Content-Type must be application/json",
        )));
    }
    let too_large = || {
        Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            error_code::INVALID_REQUEST,
            format!(
                "invalid request: the body is larger than {} bytes",
                limits.max_bytes
            ),
        ))
    };
    // A body declared too large is refused before any of it is read, rather
    // than waited for until the body timeout.
    let max = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX);
    let declared = header_str(headers, header::CONTENT_LENGTH.as_str())
        .and_then(|length| length.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > max) || body.size_hint().lower() > max {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, limits.max_bytes);
    match tokio::time::timeout(limits.timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            None,
            error_code::PARSE_ERROR,
            format!("parse error: the body could not be read: {e}"),
        ))),
        Err(_) => Err(Box::new(error(
            StatusCode::REQUEST_TIMEOUT,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: the body took too long to arrive",
        ))),
    }
}

/// The span of one HTTP request, a child of the caller's W3C
/// `traceparent` when it sends one.
pub(super) fn span_of<B>(request: &http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!(
        "mcp.http",
        http.method = %request.method(),
        http.path = request.uri().path(),
        // Not a credential: a session is bound to its principal.
        session = request
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok()),
        trace_id = tracing::field::Empty,
        parent_span_id = tracing::field::Empty,
    );
    if let Some(parent) = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(crate::trace::TraceParent::parse)
    {
        parent.record(&span);
        #[cfg(feature = "otel")]
        crate::telemetry::set_remote_parent(
            &span,
            &parent,
            request
                .headers()
                .get("tracestate")
                .and_then(|v| v.to_str().ok()),
        );
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    #[test]
    fn accept_header() {
        let mut headers = HeaderMap::new();
        let a = Accept::of(&headers);
        assert!(a.json && a.sse);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        let a = Accept::of(&headers);
        assert!(a.json && a.sse);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let a = Accept::of(&headers);
        assert!(a.json && !a.sse);
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        let a = Accept::of(&headers);
        assert!(!a.json && !a.sse);
    }
}
