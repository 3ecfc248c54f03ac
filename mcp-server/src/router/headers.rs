//! The Streamable HTTP headers that must agree with the body on 2026-07-28:
//! `Mcp-Method`, `Mcp-Name` and the `Mcp-Param-*` mirrors of arguments.

use super::WireHeaders;
use mcp_core::ProtocolError;
use mcp_core::jsonrpc::Request;
use mcp_core::meta::RequestMeta;
use serde::Deserialize;

/// The params of a 2026-07-28 request as far as the router reads them
/// before the method's own handler: the `_meta` envelope and the members
/// `Mcp-Name` mirrors, read in one pass. A mirrored member that is not a
/// string counts as absent here; the handler says what is wrong with it.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StatelessParams {
    #[serde(rename = "_meta", default)]
    pub(super) meta: Option<RequestMeta>,
    #[serde(default, deserialize_with = "string_or_none")]
    name: Option<String>,
    #[serde(default, deserialize_with = "string_or_none")]
    uri: Option<String>,
    #[serde(default, rename = "taskId", deserialize_with = "string_or_none")]
    task_id: Option<String>,
}

impl StatelessParams {
    /// The params of a tool call read already: its `_meta` and name.
    pub(super) fn of_tool_call(call: &mut super::ToolCallParams) -> Self {
        Self {
            meta: call.meta.take(),
            name: Some(call.name.clone()),
            ..Self::default()
        }
    }

    /// Params whose `_meta` was read already, on a connection (no headers
    /// to check against the body).
    pub(super) fn with_meta(meta: RequestMeta) -> Self {
        Self {
            meta: Some(meta),
            ..Self::default()
        }
    }
}

fn string_or_none<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(de)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

/// `Mcp-Method` must name the body's method, and `Mcp-Name` the tool,
/// prompt, resource or task the body addresses.
pub(super) fn check_routing_headers(
    headers: &WireHeaders,
    request: &Request,
    params: &StatelessParams,
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
    let body = match field {
        "name" => params.name.as_deref(),
        "uri" => params.uri.as_deref(),
        _ => params.task_id.as_deref(),
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
    arguments: Option<&str>,
) -> Result<(), ProtocolError> {
    let arguments: serde_json::Map<String, serde_json::Value> = match arguments {
        Some(json) => serde_json::from_str(json).unwrap_or_default(),
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
fn decode_header_value(value: &str) -> Option<std::borrow::Cow<'_, str>> {
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

    /// The check, with the params read as the router reads them.
    fn check(headers: &WireHeaders, request: &Request) -> Result<(), ProtocolError> {
        let raw = request
            .params
            .as_deref()
            .map_or("{}", serde_json::value::RawValue::get);
        let params: StatelessParams = serde_json::from_str(raw).unwrap();
        check_routing_headers(headers, request, &params)
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
        check(&headers(Some("tools/call"), Some("add")), &call).unwrap();
        // Surrounding whitespace is not part of a header value.
        check(&headers(Some(" tools/call "), Some(" add ")), &call).unwrap();
        let read = request("resources/read", json!({"uri": "file:///ü"}));
        let encoded = "=?base64?ZmlsZTovLy/DvA==?=";
        check(&headers(Some("resources/read"), Some(encoded)), &read).unwrap();
        // Methods without a routed name need only Mcp-Method.
        let list = request("tools/list", serde_json::Value::Null);
        check(&headers(Some("tools/list"), None), &list).unwrap();
    }

    #[test]
    fn routing_headers_that_disagree_or_are_missing_are_rejected() {
        let call = request("tools/call", json!({"name": "add"}));
        let missing = rejected(check(&headers(None, Some("add")), &call));
        assert!(
            missing.contains("Mcp-Method header is required"),
            "{missing}"
        );
        let wrong = rejected(check(&headers(Some("tools/list"), Some("add")), &call));
        assert!(wrong.contains("`tools/list`"), "{wrong}");
        let no_name = rejected(check(&headers(Some("tools/call"), None), &call));
        assert!(no_name.contains("Mcp-Name header is required"), "{no_name}");
        let other = rejected(check(&headers(Some("tools/call"), Some("sub")), &call));
        assert!(other.contains("`sub`"), "{other}");
        let broken = rejected(check(
            &headers(Some("tools/call"), Some("=?base64?***?=")),
            &call,
        ));
        assert!(broken.contains("not valid"), "{broken}");
        // A task id is routed as a name.
        let task = request("tasks/get", json!({"taskId": "t1"}));
        rejected(check(&headers(Some("tasks/get"), Some("t2")), &task));
        check(&headers(Some("tasks/get"), Some("t1")), &task).unwrap();
        // A mirrored member that is not a string matches no header, even
        // one that spells the same JSON.
        let numbered = request("tools/call", json!({"name": 5}));
        let mismatch = rejected(check(&headers(Some("tools/call"), Some("5")), &numbered));
        assert!(mismatch.contains("(absent)"), "{mismatch}");
        let nested = request("resources/read", json!({"uri": {"href": "file:///a"}}));
        rejected(check(
            &headers(Some("resources/read"), Some("file:///a")),
            &nested,
        ));
    }

    #[test]
    fn param_headers_must_equal_their_arguments() {
        let declared = [("region".to_owned(), "region".to_owned())];
        let with = |value: &str| WireHeaders {
            params: vec![("region".to_owned(), value.to_owned())],
            ..WireHeaders::default()
        };
        let args = json!({"region": "eu", "n": 1}).to_string();
        check_param_headers(&declared, &with("eu"), Some(args.as_str())).unwrap();
        rejected(check_param_headers(
            &declared,
            &with("us"),
            Some(args.as_str()),
        ));
        // Required when the argument is given, optional when it is not.
        rejected(check_param_headers(
            &declared,
            &WireHeaders::default(),
            Some(args.as_str()),
        ));
        check_param_headers(&declared, &WireHeaders::default(), None).unwrap();
        // Numbers and booleans compare by value, not by spelling.
        let numbers = [("n".to_owned(), "n".to_owned())];
        let n = |value: &str| WireHeaders {
            params: vec![("n".to_owned(), value.to_owned())],
            ..WireHeaders::default()
        };
        check_param_headers(&numbers, &n("1"), Some(args.as_str())).unwrap();
        check_param_headers(&numbers, &n("1.0"), Some(args.as_str())).unwrap();
        rejected(check_param_headers(&numbers, &n("2"), Some(args.as_str())));
        rejected(check_param_headers(
            &numbers,
            &n("one"),
            Some(args.as_str()),
        ));
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
