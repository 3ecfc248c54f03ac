//! The HTTP service: arbitrary requests through `McpService::handle`.
//!
//! The input is a script of requests separated by `%%` lines, each a
//! request line (`POST /mcp`), header lines, a blank line and the body:
//!
//! ```text
//! POST /mcp
//! content-type: application/json
//! mcp-session-id: $session
//!
//! {"jsonrpc":"2.0","id":1,"method":"tools/list"}
//! ```
//!
//! `$session` becomes the last `Mcp-Session-Id` the service handed out and
//! `$legacy` the last legacy SSE session. Every response must be well
//! formed: JSON where it says JSON, the answer to a JSON-RPC request naming
//! its id. Afterwards, with every body dropped and every session deleted,
//! the service must hold nothing: no session, request or stream.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_server::core::jsonrpc::{Incoming, Message, RequestId};
use mcp_server::transport::http::{ClientAddr, HttpConfig, McpBody, McpService};
use serde_json::Value;

/// Longer than the service's request timeout (five minutes); the clock is
/// paused, so waiting costs nothing.
const PATIENCE: Duration = Duration::from_secs(3600);

/// Requests that answer on a stream that stays open.
const LONG_LIVED: &[&str] = &["subscriptions/listen", "tasks/result"];

/// One input.
pub fn run(data: &[u8]) {
    let script = String::from_utf8_lossy(data);
    crate::runtime().block_on(exchange(&script));
}

#[derive(Default)]
struct Learned {
    session: Option<String>,
    legacy: Option<String>,
    sessions: Vec<String>,
    /// Streams kept open (legacy SSE, GET streams) until the end.
    held: Vec<McpBody>,
}

async fn exchange(script: &str) {
    let service = McpService::new(crate::server(), HttpConfig::default());
    let mut learned = Learned::default();
    for text in script.split("\n%%\n") {
        let text = text
            .replace("$session", learned.session.as_deref().unwrap_or("none"))
            .replace("$legacy", learned.legacy.as_deref().unwrap_or("none"));
        let Some((request, rpc)) = request(&text) else {
            continue;
        };
        let is_get = request.method() == Method::GET;
        let response = service.handle(request).await;
        check(response, rpc.as_ref(), is_get, &mut learned).await;
    }
    // Every stream closed, every session ended: nothing may remain.
    drop(std::mem::take(&mut learned.held));
    for id in &learned.sessions {
        let request = Request::delete("/mcp")
            .header("mcp-session-id", id.as_str())
            .body(Full::new(Bytes::new()));
        if let Ok(request) = request {
            drop(service.handle(request).await);
        }
    }
    tokio::time::sleep(PATIENCE).await;
    let stats = service.stats();
    assert_eq!(
        (
            stats.sessions,
            stats.active_requests,
            stats.open_streams,
            stats.connection_tasks
        ),
        (0, 0, 0, 0),
        "the service still holds something: {stats:?}"
    );
}

/// The request a script entry describes, and the JSON-RPC message a POST's
/// body holds; `None` for what an HTTP parser would never hand over.
fn request(text: &str) -> Option<(Request<Full<Bytes>>, Option<Incoming>)> {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .uri(target.trim());
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
            let value = http::HeaderValue::from_str(value.trim()).ok()?;
            builder = builder.header(name, value);
        }
    }
    let mut request = builder.body(Full::new(Bytes::from(body.to_owned()))).ok()?;
    request
        .extensions_mut()
        .insert(ClientAddr(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))));
    // Only a POST's body is a JSON-RPC message to the service: a GET to a
    // probe answers JSON of its own, whatever body came with it.
    let rpc = (request.method() == Method::POST)
        .then(|| Incoming::parse(body).ok())
        .flatten();
    Some((request, rpc))
}

async fn check(
    response: Response<McpBody>,
    rpc: Option<&Incoming>,
    is_get: bool,
    learned: &mut Learned,
) {
    let status = response.status();
    if let Some(id) = response.headers().get("mcp-session-id") {
        let id = id.to_str().unwrap_or_default().to_owned();
        assert!(
            !id.is_empty() && id.bytes().all(|b| (0x21..=0x7e).contains(&b)),
            "a session id that is not visible ASCII: {id:?}"
        );
        learned.session = Some(id.clone());
        learned.sessions.push(id);
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let request = match rpc {
        Some(Incoming::Single(Message::Request(r))) => Some(r),
        _ => None,
    };
    if content_type.starts_with("text/event-stream") {
        let mut body = response.into_body();
        if is_get {
            // A stream of its own: its first event, then held open.
            if let Ok(Some(Ok(frame))) = tokio::time::timeout(PATIENCE, body.frame()).await
                && let Some(data) = frame.data_ref()
            {
                let text = String::from_utf8_lossy(data);
                if let Some(at) = text.find("session_id=") {
                    let id: String = text[at + 11..]
                        .chars()
                        .take_while(char::is_ascii_hexdigit)
                        .collect();
                    learned.legacy = Some(id);
                }
            }
            learned.held.push(body);
            return;
        }
        let long_lived = request.is_some_and(|r| LONG_LIVED.contains(&r.method.as_str()));
        let events = match tokio::time::timeout(PATIENCE, read_events(&mut body)).await {
            Ok(events) => events,
            Err(_) if long_lived => return,
            Err(_) => panic!("a POST's event stream did not end: {request:?}"),
        };
        if let Some(request) = request {
            let last = events.last().map(|text| message(text, "an SSE event"));
            match last {
                Some(Message::Response(r)) => assert_id(&r.id, &request.id),
                Some(Message::Error(e)) => {
                    if let Some(id) = &e.id {
                        assert_id(id, &request.id);
                    }
                }
                other => panic!("a POST's stream ended without an answer: {other:?}"),
            }
        }
        return;
    }
    let bytes = match tokio::time::timeout(PATIENCE, response.into_body().collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) => match e {},
        Err(_) => panic!("a response body that is not a stream never ended"),
    };
    if content_type.starts_with("application/json") {
        let text = std::str::from_utf8(&bytes).unwrap_or_default();
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => panic!("a JSON response that is not JSON ({e}): {text:?}"),
        };
        if let (Some(request), Value::Object(_)) = (request, &value)
            && status == StatusCode::OK
        {
            match message(text, "a JSON response") {
                Message::Response(r) => assert_id(&r.id, &request.id),
                Message::Error(e) => {
                    if let Some(id) = &e.id {
                        assert_id(id, &request.id);
                    }
                }
                other => panic!("a request was answered with {other:?}"),
            }
        }
    }
}

/// The `data:` of each event, until the stream ends.
async fn read_events(body: &mut McpBody) -> Vec<String> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame;
        if let Some(data) = frame.data_ref() {
            buffer.push_str(&String::from_utf8_lossy(data));
        }
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for line in event.lines() {
                // Skips the priming event (an id and empty data).
                if let Some(data) = line.strip_prefix("data: ").filter(|d| !d.is_empty()) {
                    events.push(data.to_owned());
                }
            }
        }
    }
    events
}

fn message(text: &str, what: &str) -> Message {
    match Message::parse(text) {
        Ok(message) => message,
        Err(e) => panic!("{what} that is not a JSON-RPC message ({e:?}): {text}"),
    }
}

fn assert_id(got: &RequestId, sent: &RequestId) {
    assert_eq!(got, sent, "an answer with another request's id");
}
