//! Streamable HTTP (each message a POST, answers as JSON or an SSE stream,
//! a GET stream for the server's own messages), and the legacy HTTP+SSE
//! transport as a fallback.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{ErrorObject, RequestId, error_code};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::ClientError;
use super::peer::{Incoming, Link, Peer};
use crate::handler::BoxFuture;

/// HTTP settings: extra headers such as credentials.
///
/// ```
/// use mcp_server::client::HttpOptions;
///
/// let options = HttpOptions::new().bearer("secret").header("x-tenant", "acme");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    headers: Vec<(String, String)>,
}

impl HttpOptions {
    /// No extra headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `name: value` with every request.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends `Authorization: Bearer {token}`.
    #[must_use]
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
}

struct State {
    /// Where messages are POSTed: the endpoint, or the legacy transport's
    /// per-connection URL.
    post_url: reqwest::Url,
    session: Option<String>,
    legacy: bool,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What one exchange needs; cheap to clone into a request's future.
#[derive(Clone)]
struct Exchange {
    http: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    state: Arc<Mutex<State>>,
}

pub(crate) struct HttpLink {
    exchange: Exchange,
}

impl Drop for HttpLink {
    fn drop(&mut self) {
        for task in &self.exchange.state().tasks {
            task.abort();
        }
    }
}

impl HttpLink {
    pub(crate) fn new(
        url: &str,
        options: HttpOptions,
        _version: ProtocolVersion,
    ) -> Result<(Self, Incoming), ClientError> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| ClientError::Http(format!("invalid URL `{url}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Http(format!(
                "`{url}` is not an http:// or https:// URL"
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in options.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|e| ClientError::Http(format!("invalid header name `{name}`: {e}")))?;
            let value = HeaderValue::try_from(value).map_err(|e| {
                ClientError::Http(format!("invalid value for header `{name}`: {e}"))
            })?;
            headers.append(name, value);
        }
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("mcp-server-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let state = Arc::new(Mutex::new(State {
            post_url: url.clone(),
            session: None,
            legacy: false,
            tasks: Vec::new(),
        }));
        Ok((
            Self {
                exchange: Exchange {
                    http,
                    url,
                    headers,
                    state,
                },
            },
            Incoming::none(),
        ))
    }
}

impl Exchange {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn post(&self, peer: &Peer, message: &Value) -> reqwest::RequestBuilder {
        let (url, session) = {
            let state = self.state();
            (state.post_url.clone(), state.session.clone())
        };
        let mut request = self
            .http
            .post(url)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        let method = message.get("method").and_then(Value::as_str);
        let version = peer.version();
        if method != Some("initialize") && version >= ProtocolVersion::V2025_06_18 {
            request = request.header("mcp-protocol-version", version.as_str());
        }
        if version.is_stateless()
            && let Some(method) = method
        {
            request = request.header("mcp-method", method);
            let params = &message["params"];
            let name = match method {
                "tools/call" | "prompts/get" => params["name"].as_str(),
                "resources/read" => params["uri"].as_str(),
                _ => None,
            };
            if let Some(name) = name {
                request = request.header("mcp-name", name);
            }
        }
        request.body(message.to_string())
    }

    /// Opens the legacy transport: a GET stream whose first event names the
    /// URL to POST to.
    async fn open_legacy(&self, peer: &Arc<Peer>) -> Result<(), ClientError> {
        let response = self
            .http
            .get(self.url.clone())
            .headers(self.headers.clone())
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        if !response.status().is_success() {
            return Err(ClientError::Http(format!(
                "{} answered neither a Streamable HTTP POST nor a legacy SSE GET (HTTP {})",
                self.url,
                response.status()
            )));
        }
        let mut events = SseReader::new(response);
        let endpoint = loop {
            match events.next().await? {
                Some((event, data)) if event == "endpoint" => break data,
                Some(_) => {}
                None => return Err(ClientError::Closed),
            }
        };
        let post_url = self
            .url
            .join(endpoint.trim())
            .map_err(|e| ClientError::Http(format!("invalid legacy endpoint `{endpoint}`: {e}")))?;
        let weak = Arc::downgrade(peer);
        let task = tokio::spawn(async move {
            let _ = pump(events, weak, None).await;
        });
        let mut state = self.state();
        state.post_url = post_url;
        state.legacy = true;
        state.tasks.push(task);
        Ok(())
    }

    async fn send_message(&self, peer: &Arc<Peer>, message: Value) -> Result<(), ClientError> {
        let id = message
            .get("id")
            .filter(|_| message.get("method").is_some())
            .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
        let mut response = self
            .post(peer, &message)
            .send()
            .await
            .map_err(|e| ClientError::Http(format!("POST {}: {e}", self.url)))?;
        let initialize = message.get("method").and_then(Value::as_str) == Some("initialize");
        if initialize
            && !self.state().legacy
            && matches!(response.status().as_u16(), 400 | 404 | 405)
        {
            // An older server: the legacy HTTP+SSE transport.
            self.open_legacy(peer).await?;
            response = self
                .post(peer, &message)
                .send()
                .await
                .map_err(|e| ClientError::Http(format!("POST: {e}")))?;
        }
        if let Some(session) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.state().session = Some(session.to_owned());
        }
        let status = response.status();
        if status == reqwest::StatusCode::ACCEPTED || self.state().legacy && status.is_success() {
            return Ok(());
        }
        let event_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if status.is_success() && event_stream {
            let weak = Arc::downgrade(peer);
            tokio::spawn(async move {
                let failed_id = id.clone();
                let outcome = pump(SseReader::new(response), weak.clone(), id).await;
                if let (Err(e), Some(id), Some(peer)) = (outcome, failed_id, weak.upgrade()) {
                    peer.fail(
                        &id,
                        ErrorObject::new(error_code::INTERNAL_ERROR, e.to_string()),
                    );
                }
            });
            return Ok(());
        }
        let body = response
            .text()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let parsed = serde_json::from_str::<Value>(&body);
        if !status.is_success()
            && let Some(id) = &id
        {
            // Refused before any handler ran (401, 403, 413, 429): the
            // request fails with the server's words and the status.
            let (code, message) = match &parsed {
                Ok(value) => (
                    value["error"]["code"]
                        .as_i64()
                        .and_then(|c| i32::try_from(c).ok())
                        .unwrap_or(error_code::INTERNAL_ERROR),
                    value["error"]["message"]
                        .as_str()
                        .unwrap_or(&body)
                        .to_owned(),
                ),
                Err(_) => (error_code::INTERNAL_ERROR, body.chars().take(300).collect()),
            };
            peer.fail(
                id,
                ErrorObject::new(code, format!("HTTP {status}: {message}")),
            );
            return Ok(());
        }
        match parsed {
            // A JSON-RPC answer.
            Ok(value) if value.get("jsonrpc").is_some() || value.is_array() => {
                peer.incoming(value, id.as_ref());
                Ok(())
            }
            _ if status.is_success() && body.trim().is_empty() => Ok(()),
            _ => {
                let error = ClientError::Http(format!(
                    "HTTP {status} from {}: {}",
                    self.url,
                    body.chars().take(300).collect::<String>()
                ));
                match id {
                    Some(id) => {
                        peer.fail(
                            &id,
                            ErrorObject::new(error_code::INTERNAL_ERROR, error.to_string()),
                        );
                        Ok(())
                    }
                    None => Err(error),
                }
            }
        }
    }
}

impl Link for HttpLink {
    fn send(&self, peer: &Arc<Peer>, message: Value) -> BoxFuture<Result<(), ClientError>> {
        let exchange = self.exchange.clone();
        let peer = Arc::clone(peer);
        Box::pin(async move { exchange.send_message(&peer, message).await })
    }

    fn opened(&self, peer: &Arc<Peer>) {
        let this = &self.exchange;
        let (legacy, session) = {
            let state = this.state();
            (state.legacy, state.session.clone())
        };
        if legacy || peer.version().is_stateless() {
            return;
        }
        // The stream for the server's own messages (list changes, updates).
        let mut request = this
            .http
            .get(this.url.clone())
            .headers(this.headers.clone())
            .header(ACCEPT, "text/event-stream");
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        if peer.version() >= ProtocolVersion::V2025_06_18 {
            request = request.header("mcp-protocol-version", peer.version().as_str());
        }
        let weak = Arc::downgrade(peer);
        let task = tokio::spawn(async move {
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let _ = pump(SseReader::new(response), weak, None).await;
                }
                // 405: the server offers no such stream.
                _ => {}
            }
        });
        this.state().tasks.push(task);
    }
}

/// Hands every message event of `events` to the peer.
async fn pump(
    mut events: SseReader,
    peer: Weak<Peer>,
    related: Option<RequestId>,
) -> Result<(), ClientError> {
    while let Some((event, data)) = events.next().await? {
        if event != "message" || data.trim().is_empty() {
            continue;
        }
        let Some(peer) = peer.upgrade() else {
            return Ok(());
        };
        match serde_json::from_str::<Value>(&data) {
            Ok(value) => peer.incoming(value, related.as_ref()),
            Err(e) => tracing::debug!(error = %e, "an SSE event that is not JSON"),
        }
    }
    Ok(())
}

/// Server-sent events from a response body, one `(event, data)` at a time.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
        }
    }

    async fn next(&mut self) -> Result<Option<(String, String)>, ClientError> {
        loop {
            if let Some(event) = self.take_event() {
                return Ok(Some(event));
            }
            match self
                .response
                .chunk()
                .await
                .map_err(|e| ClientError::Http(format!("reading an event stream: {e}")))?
            {
                Some(chunk) => self
                    .buffer
                    .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n")),
                None => return Ok(None),
            }
        }
    }

    fn take_event(&mut self) -> Option<(String, String)> {
        loop {
            let end = self.buffer.find("\n\n")?;
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = "message".to_owned();
            let mut data: Vec<&str> = Vec::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value));
                } else if let Some(value) = line.strip_prefix("event:") {
                    value.trim().clone_into(&mut event);
                }
            }
            // A block of comments or ids only carries nothing.
            if !data.is_empty() {
                return Some((event, data.join("\n")));
            }
        }
    }
}
