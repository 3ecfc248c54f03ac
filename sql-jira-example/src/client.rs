//! A small MCP client over Streamable HTTP, for the demo and the tests:
//! initialize, then requests on the session, answers read as JSON or as
//! an SSE stream.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

/// The protocol version the client asks for.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an HTTP error.
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// The server answered with a JSON-RPC error.
    #[error("JSON-RPC error: {0}")]
    Rpc(Value),
    /// The request could not be sent.
    #[error("could not reach the server: {0}")]
    Transport(String),
    /// The answer could not be read.
    #[error("unreadable answer: {0}")]
    Malformed(String),
}

/// An HTTP client with the TLS crypto provider installed (ring;
/// installing it twice is harmless).
///
/// # Errors
/// The client could not be built.
pub fn http_client() -> Result<reqwest::Client, ClientError> {
    // Deprecated in rustls 0.23.48 (no post-quantum key exchange); ring
    // keeps the build free of aws-lc-rs's C toolchain.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .build()
        .map_err(|e| ClientError::Transport(e.to_string()))
}

/// One MCP session over HTTP.
#[derive(Debug)]
pub struct McpHttpClient {
    http: reqwest::Client,
    endpoint: String,
    headers: Vec<(String, String)>,
    session: Option<String>,
    next_id: AtomicU64,
}

impl McpHttpClient {
    /// Opens a session on `base_url` (`http://host:port`), sending
    /// `headers` (such as `Authorization`) with every request.
    ///
    /// # Errors
    /// The server refused or could not be reached.
    pub async fn connect(base_url: &str, headers: &[(&str, &str)]) -> Result<Self, ClientError> {
        let mut client = Self {
            http: http_client()?,
            endpoint: format!("{}/mcp", base_url.trim_end_matches('/')),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            session: None,
            next_id: AtomicU64::new(1),
        };
        let (result, session) = client
            .post(
                "initialize",
                Some(json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "sql-jira-demo", "version": env!("CARGO_PKG_VERSION")},
                })),
            )
            .await?;
        if result.get("protocolVersion").is_none() {
            return Err(ClientError::Malformed(format!(
                "initialize answered {result}"
            )));
        }
        client.session = session;
        client.post("notifications/initialized", None).await?;
        Ok(client)
    }

    /// Sends a request and returns its result.
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        self.post(method, Some(params))
            .await
            .map(|(result, _)| result)
    }

    /// Calls a tool; the result says `isError` when the tool failed.
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }

    /// Posts one message and returns its result and the session id the
    /// server gave; a `notifications/...` method expects no answer.
    async fn post(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<(Value, Option<String>), ClientError> {
        let notification = method.starts_with("notifications/");
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        if !notification {
            message["id"] = json!(id);
        }
        if let Some(params) = params {
            message["params"] = params;
        }
        let mut request = self
            .http
            .post(&self.endpoint)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", PROTOCOL_VERSION)
            .json(&message);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(session) = &self.session {
            request = request.header("Mcp-Session-Id", session);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let sse = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let body = response
            .text()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if !(200..300).contains(&status) {
            return Err(ClientError::Http { status, body });
        }
        if notification {
            return Ok((Value::Null, session));
        }
        let answer = if sse {
            body.lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
                .find(|m| m["id"] == json!(id))
        } else {
            serde_json::from_str(&body).ok()
        }
        .ok_or_else(|| ClientError::Malformed(body.clone()))?;
        if let Some(error) = answer.get("error") {
            return Err(ClientError::Rpc(error.clone()));
        }
        Ok((answer["result"].clone(), session))
    }
}
