//! The JSON-RPC 2.0 envelope: ids, messages, error objects and parsing.
//!
//! Parameters and results stay raw JSON (`Box<RawValue>`) in the envelope, so a
//! handler deserializes them straight into its own types and a result is
//! serialized once, straight into the outgoing buffer.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// The only JSON-RPC version MCP uses.
pub const JSONRPC_VERSION: &str = "2.0";

/// A request id: a string or an integer, never null.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        Self::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

/// Standard JSON-RPC and MCP error codes.
pub mod error_code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i32 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// Resource not found (2024-11-05 .. 2025-11-25 only).
    pub const RESOURCE_NOT_FOUND: i32 = -32002;
    /// URL-mode elicitation required (2025-11-25 only).
    pub const URL_ELICITATION_REQUIRED: i32 = -32042;
    /// An HTTP header disagrees with the body (2026-07-28).
    pub const HEADER_MISMATCH: i32 = -32020;
    /// The request needs a client capability the client did not declare (2026-07-28).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
    /// The requested protocol version is not implemented (2026-07-28).
    pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
    /// The caller lacks a scope (implementation-defined range; sent with
    /// HTTP 403 and `WWW-Authenticate: Bearer error="insufficient_scope"`).
    pub const INSUFFICIENT_SCOPE: i32 = -32010;
    /// The caller exceeded its rate limit (implementation-defined range;
    /// sent with HTTP 429 and `Retry-After`).
    pub const RATE_LIMITED: i32 = -32011;
}

/// The `error` member of a JSON-RPC error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: i32,
    /// A short description of the error.
    pub message: String,
    /// Additional information about the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and message and no data.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches `data`.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// A request: it has an id and expects a response.
#[derive(Debug, Clone)]
pub struct Request {
    /// The id the response must echo.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The raw `params` member, if any.
    pub params: Option<Box<RawValue>>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The raw `params` member, if any.
    pub params: Option<Box<RawValue>>,
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The id of the request this answers.
    pub id: RequestId,
    /// The raw `result` member.
    pub result: Box<RawValue>,
}

/// An error response. `id` is `None` when the request's id could not be read.
#[derive(Debug, Clone)]
pub struct ErrorResponse {
    /// The id of the request this answers, if it could be determined.
    pub id: Option<RequestId>,
    /// What went wrong.
    pub error: ErrorObject,
}

impl ErrorResponse {
    /// An error response to `id`.
    pub fn new(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self { id, error }
    }
}

/// Any JSON-RPC message, in either direction.
#[derive(Debug, Clone)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A successful response.
    Response(Response),
    /// An error response.
    Error(ErrorResponse),
}

/// What one line (stdio) or one body (HTTP) holds.
#[derive(Debug)]
pub enum Incoming {
    /// A single message.
    Single(Message),
    /// A JSON array of messages (a batch; only 2025-03-26 allows these). Each
    /// element parsed on its own, so one bad element does not spoil the rest.
    Batch(Vec<Result<Message, ErrorResponse>>),
}

/// The fields every JSON-RPC message may carry; which are present decides the kind.
#[derive(Deserialize)]
struct Envelope<'a> {
    /// Borrowed: it is only compared.
    #[serde(default, borrow)]
    jsonrpc: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    /// Borrowed: copied once the message is known good, or taken in place.
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// Distinguishes `"id": null` (Some(Null)) from a missing id (None).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Message {
    /// Parses one JSON-RPC message.
    ///
    /// # Errors
    /// Malformed JSON is a -32700 parse error; valid JSON that is not a
    /// JSON-RPC 2.0 message is a -32600 invalid request, carrying the id when
    /// one could be read. Never panics.
    pub fn parse(input: &str) -> Result<Message, ErrorResponse> {
        Self::from_envelope(envelope_of(input)?, true)
    }

    /// Like [`Message::parse`], taking the text: large `params` (a tool
    /// call's megabytes of arguments) are moved to the front of the text's
    /// own buffer and kept there, rather than copied into a buffer of their
    /// own while the text is still held.
    ///
    /// # Errors
    /// As [`Message::parse`].
    pub fn parse_owned(input: String) -> Result<Message, ErrorResponse> {
        let envelope = envelope_of(&input)?;
        let in_place = envelope
            .params
            .filter(|params| params.get().len() >= PARAMS_IN_PLACE)
            .map(|params| {
                let start = params.get().as_ptr() as usize - input.as_ptr() as usize;
                start..start + params.get().len()
            });
        let mut message = Self::from_envelope(envelope, in_place.is_none())?;
        if let Some(range) = in_place {
            let params = params_in_place(input, range)?;
            match &mut message {
                Message::Request(request) => request.params = Some(params),
                Message::Notification(notification) => notification.params = Some(params),
                Message::Response(_) | Message::Error(_) => {}
            }
        }
        Ok(message)
    }

    fn from_envelope(env: Envelope<'_>, copy_params: bool) -> Result<Message, ErrorResponse> {
        let id = match env.id {
            None => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(n) => Some(RequestId::Number(n)),
                None => return Err(invalid(None, "`id` must be a string or an integer")),
            },
            Some(Value::String(s)) => Some(RequestId::String(s)),
            Some(Value::Null) if env.error.is_some() => None,
            Some(_) => return Err(invalid(None, "`id` must be a string or an integer")),
        };
        match env.jsonrpc.as_deref() {
            Some(JSONRPC_VERSION) => {}
            Some(other) => {
                return Err(invalid(
                    id,
                    &format!("`jsonrpc` must be \"2.0\", got {other:?}"),
                ));
            }
            None => return Err(invalid(id, "missing `jsonrpc: \"2.0\"` member")),
        }
        if let Some(params) = &env.params {
            let first = params.get().trim_start().as_bytes().first();
            if !matches!(first, Some(b'{') | Some(b'[')) {
                return Err(invalid(id, "`params` must be an object"));
            }
        }
        let params = env.params.filter(|_| copy_params).map(RawValue::to_owned);
        match (env.method, id, env.result, env.error) {
            (Some(method), Some(id), None, None) => {
                Ok(Message::Request(Request { id, method, params }))
            }
            (Some(method), None, None, None) => {
                Ok(Message::Notification(Notification { method, params }))
            }
            (None, Some(id), Some(result), None) => Ok(Message::Response(Response {
                id,
                result: result.to_owned(),
            })),
            (None, id, None, Some(error)) => Ok(Message::Error(ErrorResponse { id, error })),
            (_, id, _, _) => Err(invalid(
                id,
                "not a request, notification or response: expected `method`, or `result` or `error` with an `id`",
            )),
        }
    }

    /// The method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request(r) => Some(&r.method),
            Self::Notification(n) => Some(&n.method),
            _ => None,
        }
    }
}

/// From this length on, [`Message::parse_owned`] keeps `params` in the
/// text's buffer: moving them costs what copying would, without a second
/// buffer; smaller ones are copied into a buffer of their own size.
const PARAMS_IN_PLACE: usize = 64 * 1024;

/// The envelope of one message, its members borrowed from `input`.
fn envelope_of(input: &str) -> Result<Envelope<'_>, ErrorResponse> {
    serde_json::from_str(input).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ErrorResponse::new(
                None,
                ErrorObject::new(error_code::PARSE_ERROR, format!("parse error: {e}")),
            )
        } else {
            ErrorResponse::new(
                None,
                ErrorObject::new(
                    error_code::INVALID_REQUEST,
                    format!(
                        "invalid request: expected a JSON-RPC 2.0 message object ({})",
                        brief(&e)
                    ),
                ),
            )
        }
    })
}

/// The raw value at `range` of `input`, kept in `input`'s buffer: the text
/// after it is cut off and the text before it removed.
fn params_in_place(
    mut input: String,
    range: std::ops::Range<usize>,
) -> Result<Box<RawValue>, ErrorResponse> {
    input.truncate(range.end);
    input.drain(..range.start);
    crate::codec::raw_from_serialized(input).map_err(|e| {
        ErrorResponse::new(
            None,
            ErrorObject::new(error_code::PARSE_ERROR, format!("parse error: {e}")),
        )
    })
}

fn invalid(id: Option<RequestId>, message: &str) -> ErrorResponse {
    ErrorResponse::new(
        id,
        ErrorObject::new(
            error_code::INVALID_REQUEST,
            format!("invalid request: {message}"),
        ),
    )
}

impl Incoming {
    /// Parses a line or body that holds one message or a batch.
    ///
    /// # Errors
    /// As [`Message::parse`]; an empty batch is a -32600 invalid request.
    pub fn parse(input: &str) -> Result<Incoming, ErrorResponse> {
        if input.trim_start().starts_with('[') {
            let items: Vec<Box<RawValue>> = serde_json::from_str(input).map_err(|e| {
                ErrorResponse::new(
                    None,
                    ErrorObject::new(error_code::PARSE_ERROR, format!("parse error: {e}")),
                )
            })?;
            if items.is_empty() {
                return Err(invalid(None, "empty batch"));
            }
            return Ok(Incoming::Batch(
                items.iter().map(|raw| Message::parse(raw.get())).collect(),
            ));
        }
        Message::parse(input).map(Incoming::Single)
    }

    /// Like [`Incoming::parse`], taking the text: a single message's large
    /// `params` stay in its buffer (see [`Message::parse_owned`]).
    ///
    /// # Errors
    /// As [`Incoming::parse`].
    pub fn parse_owned(input: String) -> Result<Incoming, ErrorResponse> {
        if input.trim_start().starts_with('[') {
            return Self::parse(&input);
        }
        Message::parse_owned(input).map(Incoming::Single)
    }
}

#[derive(Serialize)]
struct Out<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a RequestId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorObject>,
}

impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = Out {
            jsonrpc: JSONRPC_VERSION,
            id: None,
            method: None,
            params: None,
            result: None,
            error: None,
        };
        match self {
            Self::Request(r) => {
                out.id = Some(&r.id);
                out.method = Some(&r.method);
                out.params = r.params.as_deref();
            }
            Self::Notification(n) => {
                out.method = Some(&n.method);
                out.params = n.params.as_deref();
            }
            Self::Response(r) => {
                out.id = Some(&r.id);
                out.result = Some(&r.result);
            }
            Self::Error(e) => {
                out.error = Some(&e.error);
                if let Some(id) = &e.id {
                    out.id = Some(id);
                } else {
                    // JSON-RPC requires `"id": null` when the id is unknown.
                    return NullIdError(&e.error).serialize(serializer);
                }
            }
        }
        out.serialize(serializer)
    }
}

#[derive(Serialize)]
struct NullIdErrorOut<'a> {
    jsonrpc: &'static str,
    id: Option<()>,
    error: &'a ErrorObject,
}

struct NullIdError<'a>(&'a ErrorObject);

impl Serialize for NullIdError<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        NullIdErrorOut {
            jsonrpc: JSONRPC_VERSION,
            id: None,
            error: self.0,
        }
        .serialize(serializer)
    }
}

/// A serde error's message, cut short: serde quotes the offending value,
/// which may be megabytes long.
fn brief(e: &serde_json::Error) -> String {
    const MAX: usize = 200;
    let mut message = e.to_string();
    if message.len() > MAX {
        let mut cut = MAX;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}
