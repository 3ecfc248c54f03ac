//! An MCP request over HTTP, its body read and its JSON-RPC envelope parsed
//! once, for the service and the layers around it.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::HeaderMap;
use mcp_core::jsonrpc::{ErrorObject, ErrorResponse, Incoming, Message, RequestId, error_code};
use mcp_core::method;
use serde::Deserialize;

use super::request::{header_str, names};

/// The typed view of a POSTed MCP message: what layers that need MCP
/// knowledge (audit, rate limits by tool, scopes) read instead of parsing
/// the body again.
///
/// [`McpRequestLayer`](super::layers::McpRequestLayer) reads the body once,
/// within the configured size and time limits, parses the JSON-RPC
/// envelope once and puts this value in the request's extensions; the
/// [`McpService`](super::McpService) behind it takes the parsed messages
/// from it rather than reading the body itself. Cheap to clone: clones
/// share the body's bytes.
///
/// ```
/// use mcp_server::transport::http::McpRequest;
///
/// let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":1}}}"#;
/// let request = McpRequest::parse(&http::HeaderMap::new(), bytes::Bytes::from_static(body));
/// assert_eq!(request.method(), Some("tools/call"));
/// assert_eq!(request.target(), Some("add"));
/// assert!(!request.is_batch());
/// ```
#[derive(Clone)]
pub struct McpRequest {
    inner: Arc<Inner>,
}

struct Inner {
    bytes: Bytes,
    messages: Vec<Summary>,
    batch: bool,
    protocol_version: Option<Box<str>>,
    session_id: Option<Box<str>>,
    /// The parsed messages, until the service takes them.
    parsed: Mutex<Option<Result<Incoming, ErrorResponse>>>,
    target: OnceLock<Option<Box<str>>>,
}

/// One JSON-RPC message of an [`McpRequest`]: a request, a notification, or
/// an answer to one of the server's requests.
#[derive(Debug, Clone)]
pub struct McpMessage {
    method: Option<Box<str>>,
    id: Option<RequestId>,
}

type Summary = McpMessage;

impl McpMessage {
    /// The method of a request or notification; `None` for an answer.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// The id of a request or an answer; `None` for a notification.
    pub fn id(&self) -> Option<&RequestId> {
        self.id.as_ref()
    }

    fn of(message: &Message) -> Self {
        match message {
            Message::Request(r) => Self {
                method: Some(r.method.as_str().into()),
                id: Some(r.id.clone()),
            },
            Message::Notification(n) => Self {
                method: Some(n.method.as_str().into()),
                id: None,
            },
            Message::Response(r) => Self {
                method: None,
                id: Some(r.id.clone()),
            },
            Message::Error(e) => Self {
                method: None,
                id: e.id.clone(),
            },
        }
    }
}

impl McpRequest {
    /// Parses a body already read, with the request's headers.
    pub fn parse(headers: &HeaderMap, bytes: Bytes) -> Self {
        let parsed = match std::str::from_utf8(&bytes) {
            Ok(text) => Incoming::parse(text),
            Err(_) => Err(ErrorResponse::new(
                None,
                ErrorObject::new(
                    error_code::PARSE_ERROR,
                    "parse error: the body is not valid UTF-8",
                ),
            )),
        };
        let (messages, batch) = match &parsed {
            Ok(Incoming::Single(message)) => (vec![McpMessage::of(message)], false),
            Ok(Incoming::Batch(items)) => (
                items
                    .iter()
                    .filter_map(|item| item.as_ref().ok())
                    .map(McpMessage::of)
                    .collect(),
                true,
            ),
            Err(_) => (Vec::new(), false),
        };
        Self {
            inner: Arc::new(Inner {
                bytes,
                messages,
                batch,
                protocol_version: header_str(headers, &names::PROTOCOL_VERSION)
                    .map(|v| v.trim().into()),
                session_id: header_str(headers, &names::SESSION_ID).map(Into::into),
                parsed: Mutex::new(Some(parsed)),
                target: OnceLock::new(),
            }),
        }
    }

    /// The body as received.
    pub fn bytes(&self) -> &Bytes {
        &self.inner.bytes
    }

    /// Whether the body is a JSON-RPC batch (an array of messages).
    pub fn is_batch(&self) -> bool {
        self.inner.batch
    }

    /// Whether the body is a well-formed JSON-RPC message or batch.
    pub fn is_valid(&self) -> bool {
        !self.inner.messages.is_empty()
    }

    /// The messages of the body, in order; a batch's malformed elements
    /// are left out.
    pub fn messages(&self) -> &[McpMessage] {
        &self.inner.messages
    }

    /// The method of a single request or notification; `None` for a
    /// batch, an answer or a body that does not parse.
    pub fn method(&self) -> Option<&str> {
        self.single()?.method()
    }

    /// The id of a single request or answer.
    pub fn id(&self) -> Option<&RequestId> {
        self.single()?.id()
    }

    /// What a single request acts on: the tool of `tools/call`, the prompt
    /// of `prompts/get`, the URI of `resources/read`. Read from the
    /// parameters on first use, so a request nobody asks about costs
    /// nothing more.
    pub fn target(&self) -> Option<&str> {
        let method = self.method()?;
        let field = match method {
            method::TOOLS_CALL | method::PROMPTS_GET => Field::Name,
            method::RESOURCES_READ => Field::Uri,
            _ => return None,
        };
        self.inner
            .target
            .get_or_init(|| self.read_target(field))
            .as_deref()
    }

    /// The `MCP-Protocol-Version` header, trimmed.
    pub fn protocol_version(&self) -> Option<&str> {
        self.inner.protocol_version.as_deref()
    }

    /// The `Mcp-Session-Id` header.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.session_id.as_deref()
    }

    /// The parsed messages, for the service: taken once, so the body is
    /// parsed once; a second taker parses the bytes again.
    pub(crate) fn take_incoming(&self) -> Result<Incoming, ErrorResponse> {
        let taken = match self.inner.parsed.lock() {
            Ok(mut parsed) => parsed.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        taken.unwrap_or_else(|| match std::str::from_utf8(&self.inner.bytes) {
            Ok(text) => Incoming::parse(text),
            Err(_) => Err(ErrorResponse::new(
                None,
                ErrorObject::new(
                    error_code::PARSE_ERROR,
                    "parse error: the body is not valid UTF-8",
                ),
            )),
        })
    }

    fn single(&self) -> Option<&McpMessage> {
        match self.inner.messages.as_slice() {
            [one] if !self.inner.batch => Some(one),
            _ => None,
        }
    }

    fn read_target(&self, field: Field) -> Option<Box<str>> {
        let parsed = match self.inner.parsed.lock() {
            Ok(parsed) => parsed,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(Ok(Incoming::Single(message))) = parsed.as_ref() {
            let params = match message {
                Message::Request(r) => r.params.as_deref(),
                Message::Notification(n) => n.params.as_deref(),
                _ => None,
            };
            return params.and_then(|raw| field.read(raw.get()));
        }
        drop(parsed);
        // The service took the messages already: read the bytes again.
        #[derive(Deserialize)]
        struct Params<'a> {
            #[serde(borrow)]
            params: Option<&'a serde_json::value::RawValue>,
        }
        let params: Params<'_> = serde_json::from_slice(&self.inner.bytes).ok()?;
        field.read(params.params?.get())
    }
}

#[derive(Clone, Copy)]
enum Field {
    Name,
    Uri,
}

impl Field {
    fn read(self, params: &str) -> Option<Box<str>> {
        #[derive(Deserialize)]
        struct Name {
            name: String,
        }
        #[derive(Deserialize)]
        struct Uri {
            uri: String,
        }
        let value = match self {
            Self::Name => serde_json::from_str::<Name>(params).ok()?.name,
            Self::Uri => serde_json::from_str::<Uri>(params).ok()?.uri,
        };
        Some(value.into_boxed_str())
    }
}

impl fmt::Debug for McpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpRequest")
            .field("bytes", &self.inner.bytes.len())
            .field("batch", &self.inner.batch)
            .field("messages", &self.inner.messages)
            .field("protocol_version", &self.inner.protocol_version)
            .field("session_id", &self.inner.session_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &'static str) -> McpRequest {
        McpRequest::parse(&HeaderMap::new(), Bytes::from_static(body.as_bytes()))
    }

    #[test]
    fn single_request() {
        let r = parse(
            r#"{"jsonrpc":"2.0","id":"a","method":"resources/read","params":{"uri":"file:///x"}}"#,
        );
        assert_eq!(r.method(), Some("resources/read"));
        assert_eq!(r.id(), Some(&RequestId::String("a".into())));
        assert_eq!(r.target(), Some("file:///x"));
        assert!(r.is_valid() && !r.is_batch());
    }

    #[test]
    fn target_after_the_service_took_the_messages() {
        let r = parse(r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#);
        assert!(matches!(r.take_incoming(), Ok(Incoming::Single(_))));
        assert_eq!(r.target(), Some("p"));
        // A second taker parses again rather than failing.
        assert!(matches!(r.take_incoming(), Ok(Incoming::Single(_))));
    }

    #[test]
    fn batch_and_garbage() {
        let r = parse(
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},3]"#,
        );
        assert!(r.is_batch());
        assert_eq!(r.messages().len(), 2);
        assert_eq!(r.method(), None);
        assert_eq!(r.target(), None);
        let bad = parse("{not json");
        assert!(!bad.is_valid());
        assert!(bad.take_incoming().is_err());
        let bytes = McpRequest::parse(&HeaderMap::new(), Bytes::from_static(b"\xff\xfe"));
        assert!(!bytes.is_valid());
    }

    #[test]
    fn target_of_other_methods_is_none() {
        let r = parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"x"}}"#);
        assert_eq!(r.target(), None);
        let bad = parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":3}}"#);
        assert_eq!(bad.target(), None);
    }
}
