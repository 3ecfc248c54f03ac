//! Settles a request's envelope: stateful sessions and stateless 2026-07-28
//! requests, and the Streamable HTTP headers that must agree with the body.

use std::sync::Arc;

use mcp_core::jsonrpc::Request;
use mcp_core::meta::{MetaOnly, RequestMeta};
use mcp_core::method;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::audit::{self};
use crate::auth::Principal;
use crate::context::{ClientLink, Envelope, LogPolicy};
use crate::outbound::Outbound;
use crate::server::Server;
use crate::session::Session;

use super::{
    Failure, Wire, WireHeaders, dispatch, encode_empty,
    lifecycle::{discover, initialize, set_level},
    metering::check_rate,
    parse_params,
    subscriptions::{listen, subscribe},
    tasks::tasks_method,
};

pub(super) async fn route(
    server: &Server,
    wire: Wire,
    request: Request,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, Failure> {
    let (session, principal) = match wire {
        Wire::Stateless(headers) => {
            audit::note_version(ProtocolVersion::LATEST);
            let meta: MetaOnly = parse_params(request.params.as_deref())
                .map_err(|e| (e, ProtocolVersion::LATEST))?;
            return Box::pin(route_stateless(
                server,
                request,
                meta.meta.unwrap_or_default(),
                Arrival::Http(&headers),
                outbound,
                cancellation,
            ))
            .await;
        }
        Wire::Session { session, principal } => (session, principal),
    };
    let legacy = session
        .version()
        .unwrap_or(ProtocolVersion::LATEST_STATEFUL);
    let meta: MetaOnly = parse_params(request.params.as_deref()).map_err(|e| (e, legacy))?;
    let meta = meta.meta.unwrap_or_default();
    record_trace(&meta);
    let method = request.method.as_str();

    if let Some(requested) = meta.requested_version() {
        match requested.parse::<ProtocolVersion>() {
            Ok(version) if version.is_stateless() => {
                audit::note_version(version);
                let arrival = Arrival::Session(&session, principal);
                return Box::pin(route_stateless(
                    server,
                    request,
                    meta,
                    arrival,
                    outbound,
                    cancellation,
                ))
                .await;
            }
            Ok(_) => {} // a stateful revision named in `_meta`: the session decides
            Err(_) if session.version().is_some() => {}
            Err(_) => {
                return Err((
                    ProtocolError::UnsupportedProtocolVersion {
                        requested: requested.to_owned(),
                        supported: ProtocolVersion::ALL.to_vec(),
                    },
                    ProtocolVersion::LATEST,
                ));
            }
        }
    }

    if method == method::INITIALIZE {
        return initialize(server, &session, request.params.as_deref()).map_err(|e| (e, legacy));
    }
    let Some(negotiated) = session.negotiated() else {
        // Legacy clients may ping and set the log level before initializing.
        return match method {
            method::PING => encode_empty(legacy, server),
            method::LOGGING_SET_LEVEL => {
                set_level(&session, request.params.as_deref(), legacy, server).await
            }
            _ => Err(ProtocolError::NotInitialized),
        }
        .map_err(|e| (e, legacy));
    };
    let version = negotiated.version;
    let envelope = Envelope {
        version,
        client_info: Some(negotiated.client_info),
        capabilities: negotiated.capabilities,
        meta,
        log: LogPolicy::Session(Arc::clone(&session)),
        link: ClientLink::Session(Arc::clone(&session)),
        task: None,
        principal,
        peer: session.peer(),
        connection: Some(session.serial()),
    };
    let params = request.params.as_deref();
    let result = match method {
        method::PING => encode_empty(version, server),
        method::LOGGING_SET_LEVEL => set_level(&session, params, version, server).await,
        method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE => {
            subscribe(server, &session, &request, version).await
        }
        _ => {
            Box::pin(dispatch(
                server,
                request,
                envelope,
                None,
                outbound,
                cancellation,
            ))
            .await
        }
    };
    result.map_err(|e| (e, version))
}

/// Continues the caller's trace: `_meta.traceparent` goes on the request's
/// span (over one an HTTP header set on the span around it).
pub(super) fn record_trace(meta: &RequestMeta) {
    if let Some(parent) = meta
        .traceparent
        .as_deref()
        .and_then(crate::trace::TraceParent::parse)
    {
        parent.record(&tracing::Span::current());
        audit::note_trace(parent.trace_id);
    }
}

/// Where a 2026-07-28 request came from.
#[derive(Clone)]
pub(super) enum Arrival<'a> {
    /// A Streamable HTTP POST of its own, with the headers to check.
    Http(&'a WireHeaders),
    /// A connection that may also carry stateful sessions (stdio, legacy
    /// SSE, the in-process client), with who sent this request by its own
    /// credential.
    Session(&'a Arc<Session>, Option<Arc<Principal>>),
}

impl Arrival<'_> {
    fn headers(&self) -> Option<&WireHeaders> {
        match self {
            Self::Http(headers) => Some(headers),
            Self::Session(..) => None,
        }
    }

    fn principal(&self) -> Option<Arc<crate::auth::Principal>> {
        match self {
            Self::Http(headers) => headers.principal.clone(),
            Self::Session(_, principal) => principal.clone(),
        }
    }

    fn peer(&self) -> Option<std::net::IpAddr> {
        match self {
            Self::Http(headers) => headers.peer,
            Self::Session(session, _) => session.peer(),
        }
    }

    fn connection(&self) -> Option<u64> {
        match self {
            Self::Http(_) => None,
            Self::Session(session, _) => Some(session.serial()),
        }
    }
}

/// Serves a 2026-07-28 request, checking it in the order the spec's
/// conformance suite expects: the envelope, the version header, the version,
/// the routing headers, then the method.
pub(super) async fn route_stateless(
    server: &Server,
    request: Request,
    meta: RequestMeta,
    arrival: Arrival<'_>,
    outbound: Outbound,
    cancellation: CancellationToken,
) -> Result<Box<RawValue>, Failure> {
    let headers = arrival.headers();
    record_trace(&meta);
    let fail = |e| (e, ProtocolVersion::LATEST);
    let Some(requested) = meta.requested_version() else {
        return Err(fail(ProtocolError::InvalidEnvelope(format!(
            "`_meta` must carry `{}`",
            mcp_core::meta::PROTOCOL_VERSION
        ))));
    };
    let Some(capabilities) = meta.client_capabilities.clone() else {
        return Err(fail(ProtocolError::InvalidEnvelope(format!(
            "`_meta` must carry `{}`",
            mcp_core::meta::CLIENT_CAPABILITIES
        ))));
    };
    if let Some(headers) = headers {
        match headers.protocol_version.as_deref().map(str::trim) {
            Some(header) if header == requested => {}
            Some(header) => {
                return Err(fail(ProtocolError::HeaderMismatch(format!(
                    "the MCP-Protocol-Version header says `{header}` but `_meta` says `{requested}`"
                ))));
            }
            None => {
                return Err(fail(ProtocolError::HeaderMismatch(
                    "the MCP-Protocol-Version header is required".into(),
                )));
            }
        }
    }
    let version = match requested.parse::<ProtocolVersion>() {
        Ok(version) if version.is_stateless() => version,
        _ => {
            return Err(fail(ProtocolError::UnsupportedProtocolVersion {
                requested: requested.to_owned(),
                supported: ProtocolVersion::ALL.to_vec(),
            }));
        }
    };
    if let Some(headers) = headers {
        check_routing_headers(headers, &request).map_err(fail)?;
    }
    let envelope = Envelope {
        version,
        client_info: meta.client_info.clone(),
        capabilities,
        log: LogPolicy::Request(meta.log_level),
        meta,
        link: ClientLink::None,
        task: None,
        principal: arrival.principal(),
        peer: arrival.peer(),
        connection: arrival.connection(),
    };
    // The rarer branches are boxed: the largest branch sets the size of
    // this future, which every call moves into its box.
    let result = match request.method.as_str() {
        method::SERVER_DISCOVER => discover(server, version),
        method::SUBSCRIPTIONS_LISTEN => {
            check_rate(server, &envelope, None).await.map_err(fail)?;
            Box::pin(listen(server, request, version, outbound)).await
        }
        "tasks/get" | "tasks/update" | "tasks/cancel" => {
            check_rate(server, &envelope, None).await.map_err(fail)?;
            Box::pin(tasks_method(server, &request, &envelope)).await
        }
        // Boxed too, as on a session: this future stays small.
        _ => {
            Box::pin(dispatch(
                server,
                request,
                envelope,
                headers,
                outbound,
                cancellation,
            ))
            .await
        }
    };
    result.map_err(fail)
}

/// `Mcp-Method` must name the body's method, and `Mcp-Name` the tool,
/// prompt, resource or task the body addresses.
pub(super) fn check_routing_headers(
    headers: &WireHeaders,
    request: &Request,
) -> Result<(), ProtocolError> {
    match headers.method.as_deref().map(str::trim) {
        Some(method) if method == request.method => {}
        Some(method) => {
            return Err(ProtocolError::HeaderMismatch(format!(
                "the Mcp-Method header says `{method}` but the body's method is `{}`",
                request.method
            )));
        }
        None => {
            return Err(ProtocolError::HeaderMismatch(
                "the Mcp-Method header is required".into(),
            ));
        }
    }
    let field = match request.method.as_str() {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        "tasks/get" | "tasks/update" | "tasks/cancel" => "taskId",
        _ => return Ok(()),
    };
    /// Only the fields `Mcp-Name` mirrors, borrowed when unescaped.
    #[derive(serde::Deserialize)]
    struct Named<'a> {
        #[serde(borrow, default)]
        name: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        uri: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default, rename = "taskId")]
        task_id: Option<std::borrow::Cow<'a, str>>,
    }
    let raw = request.params.as_deref().map_or("{}", RawValue::get);
    let named: Named<'_> = serde_json::from_str(raw)
        .map_err(|e| ProtocolError::InvalidParams(crate::tool::without_position(&e)))?;
    let body = match field {
        "name" => named.name.as_deref(),
        "uri" => named.uri.as_deref(),
        _ => named.task_id.as_deref(),
    };
    let header = headers
        .name
        .as_deref()
        .map(|h| decode_header_value(h.trim()));
    match (header, body) {
        (Some(Some(header)), Some(body)) if header == body => Ok(()),
        (Some(None), _) => Err(ProtocolError::HeaderMismatch(
            "the Mcp-Name header is not valid `=?base64?...?=`".into(),
        )),
        (None, _) => Err(ProtocolError::HeaderMismatch(format!(
            "the Mcp-Name header is required for `{}`",
            request.method
        ))),
        (Some(Some(header)), body) => Err(ProtocolError::HeaderMismatch(format!(
            "the Mcp-Name header says `{header}` but the body's `{field}` is `{}`",
            body.unwrap_or("(absent)")
        ))),
    }
}

/// Arguments declared `x-mcp-header` must be mirrored, equal, in their
/// `Mcp-Param-*` headers (2026-07-28), so proxies can route on them.
pub(super) fn check_param_headers(
    declared: &[(String, String)],
    headers: &WireHeaders,
    arguments: Option<&RawValue>,
) -> Result<(), ProtocolError> {
    let arguments: serde_json::Map<String, serde_json::Value> = match arguments {
        Some(raw) => serde_json::from_str(raw.get()).unwrap_or_default(),
        None => serde_json::Map::new(),
    };
    for (suffix, property) in declared {
        let header = headers
            .params
            .iter()
            .find(|(s, _)| s == suffix)
            .map(|(_, v)| v.trim());
        let body = arguments.get(property);
        let Some(header) = header else {
            if body.is_some() {
                return Err(ProtocolError::HeaderMismatch(format!(
                    "the Mcp-Param-{suffix} header is required when `{property}` is given"
                )));
            }
            continue;
        };
        let Some(decoded) = decode_header_value(header) else {
            return Err(ProtocolError::HeaderMismatch(format!(
                "the Mcp-Param-{suffix} header is not valid `=?base64?...?=`"
            )));
        };
        let matches = match body {
            Some(serde_json::Value::String(s)) => *s == decoded,
            Some(serde_json::Value::Bool(b)) => decoded == if *b { "true" } else { "false" },
            Some(serde_json::Value::Number(n)) => match (n.as_i64(), decoded.parse::<i64>()) {
                (Some(body), Ok(header)) => body == header,
                _ => n
                    .as_f64()
                    .zip(decoded.parse::<f64>().ok())
                    .is_some_and(|(a, b)| a == b),
            },
            _ => false,
        };
        if !matches {
            return Err(ProtocolError::HeaderMismatch(format!(
                "the Mcp-Param-{suffix} header does not match the argument `{property}`"
            )));
        }
    }
    Ok(())
}

/// A header value as the client meant it: `=?base64?...?=` is decoded, as
/// 2026-07-28 requires for values that are not plain visible ASCII. `None`
/// when the encoding is broken.
pub(crate) fn decode_header_value(value: &str) -> Option<std::borrow::Cow<'_, str>> {
    use base64::Engine as _;
    let Some(encoded) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    else {
        return Some(std::borrow::Cow::Borrowed(value));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok().map(std::borrow::Cow::Owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::request;
    use super::*;

    fn headers(method: Option<&str>, name: Option<&str>) -> WireHeaders {
        WireHeaders {
            method: method.map(str::to_owned),
            name: name.map(str::to_owned),
            ..WireHeaders::default()
        }
    }

    fn rejected(result: Result<(), ProtocolError>) -> String {
        match result {
            Err(ProtocolError::HeaderMismatch(message)) => message,
            other => panic!("expected a header mismatch, got {other:?}"),
        }
    }

    #[test]
    fn routing_headers_that_mirror_the_body_are_accepted() {
        let call = request("tools/call", json!({"name": "add", "arguments": {}}));
        check_routing_headers(&headers(Some("tools/call"), Some("add")), &call).unwrap();
        // Surrounding whitespace is not part of a header value.
        check_routing_headers(&headers(Some(" tools/call "), Some(" add ")), &call).unwrap();
        let read = request("resources/read", json!({"uri": "file:///ü"}));
        let encoded = "=?base64?ZmlsZTovLy/DvA==?=";
        check_routing_headers(&headers(Some("resources/read"), Some(encoded)), &read).unwrap();
        // Methods without a routed name need only Mcp-Method.
        let list = request("tools/list", serde_json::Value::Null);
        check_routing_headers(&headers(Some("tools/list"), None), &list).unwrap();
    }

    #[test]
    fn routing_headers_that_disagree_or_are_missing_are_rejected() {
        let call = request("tools/call", json!({"name": "add"}));
        let missing = rejected(check_routing_headers(&headers(None, Some("add")), &call));
        assert!(
            missing.contains("Mcp-Method header is required"),
            "{missing}"
        );
        let wrong = rejected(check_routing_headers(
            &headers(Some("tools/list"), Some("add")),
            &call,
        ));
        assert!(wrong.contains("`tools/list`"), "{wrong}");
        let no_name = rejected(check_routing_headers(
            &headers(Some("tools/call"), None),
            &call,
        ));
        assert!(no_name.contains("Mcp-Name header is required"), "{no_name}");
        let other = rejected(check_routing_headers(
            &headers(Some("tools/call"), Some("sub")),
            &call,
        ));
        assert!(other.contains("`sub`"), "{other}");
        let broken = rejected(check_routing_headers(
            &headers(Some("tools/call"), Some("=?base64?***?=")),
            &call,
        ));
        assert!(broken.contains("not valid"), "{broken}");
        // A task id is routed as a name.
        let task = request("tasks/get", json!({"taskId": "t1"}));
        rejected(check_routing_headers(
            &headers(Some("tasks/get"), Some("t2")),
            &task,
        ));
        check_routing_headers(&headers(Some("tasks/get"), Some("t1")), &task).unwrap();
    }

    #[test]
    fn param_headers_must_equal_their_arguments() {
        let declared = [("region".to_owned(), "region".to_owned())];
        let with = |value: &str| WireHeaders {
            params: vec![("region".to_owned(), value.to_owned())],
            ..WireHeaders::default()
        };
        let args = serde_json::value::to_raw_value(&json!({"region": "eu", "n": 1})).unwrap();
        check_param_headers(&declared, &with("eu"), Some(&args)).unwrap();
        rejected(check_param_headers(&declared, &with("us"), Some(&args)));
        // Required when the argument is given, optional when it is not.
        rejected(check_param_headers(
            &declared,
            &WireHeaders::default(),
            Some(&args),
        ));
        check_param_headers(&declared, &WireHeaders::default(), None).unwrap();
        // Numbers and booleans compare by value, not by spelling.
        let numbers = [("n".to_owned(), "n".to_owned())];
        let n = |value: &str| WireHeaders {
            params: vec![("n".to_owned(), value.to_owned())],
            ..WireHeaders::default()
        };
        check_param_headers(&numbers, &n("1"), Some(&args)).unwrap();
        check_param_headers(&numbers, &n("1.0"), Some(&args)).unwrap();
        rejected(check_param_headers(&numbers, &n("2"), Some(&args)));
        rejected(check_param_headers(&numbers, &n("one"), Some(&args)));
    }

    #[test]
    fn header_values_are_decoded_only_when_base64_wrapped() {
        assert_eq!(decode_header_value("plain").as_deref(), Some("plain"));
        assert_eq!(
            decode_header_value("=?base64?aMOp?=").as_deref(),
            Some("hé")
        );
        assert_eq!(decode_header_value("=?base64?not base64?="), None);
        // Valid base64 of bytes that are not UTF-8.
        assert_eq!(decode_header_value("=?base64?/w==?="), None);
    }
}
