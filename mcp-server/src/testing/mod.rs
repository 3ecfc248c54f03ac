//! An in-process client for testing servers on every protocol revision.
//!
//! It talks to the server over an in-memory pipe through the same
//! newline-delimited transport stdio uses, so tests exercise the real
//! parsing, routing and encoding.
//!
//! ```
//! use mcp_server::prelude::*;
//! use mcp_server::testing::TestClient;
//!
//! struct Calc;
//!
//! #[mcp_server]
//! impl Calc {
//!     /// Add two integers.
//!     #[mcp_tool]
//!     async fn add(&self, /** First addend. */ a: i64, /** Second addend. */ b: i64) -> i64 {
//!         a + b
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! for version in ProtocolVersion::ALL {
//!     let client = TestClient::connect(Calc, version).await.unwrap();
//!     let result = client.call_tool("add", serde_json::json!({"a": 2, "b": 3})).await.unwrap();
//!     assert_eq!(result.content[0].as_text(), Some("5"));
//! }
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{ErrorObject, RequestId, error_code};
use mcp_core::meta;
use mcp_core::tool::{CallToolResult, Tool};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncWriteExt, DuplexStream, WriteHalf};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::server::{Server, ServerError};

mod reader;
mod script;

use reader::{Pending, read_loop, recv};
pub use script::ClientScript;

/// How long a test waits for an answer before failing.
const TIMEOUT: Duration = Duration::from_secs(10);

/// An in-process MCP client speaking one protocol revision.
pub struct TestClient {
    version: ProtocolVersion,
    script: Arc<ClientScript>,
    writer: Arc<Mutex<WriteHalf<DuplexStream>>>,
    pending: Pending,
    notifications: Mutex<mpsc::UnboundedReceiver<Value>>,
    unmatched: Mutex<mpsc::UnboundedReceiver<Value>>,
    next_id: AtomicI64,
    capabilities: Value,
    initialize_result: Option<Value>,
    /// The script the reader answers server requests from.
    shared_script: Arc<std::sync::RwLock<Arc<ClientScript>>>,
    server: Option<JoinHandle<Result<(), ServerError>>>,
    reader: JoinHandle<()>,
}

impl fmt::Debug for TestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl TestClient {
    /// Connects to `server` and, on stateful revisions, performs the
    /// `initialize` handshake. On 2026-07-28 every request carries `_meta`.
    ///
    /// # Errors
    /// The handshake failed.
    pub async fn connect(
        server: impl Into<Server>,
        version: ProtocolVersion,
    ) -> Result<Self, ErrorObject> {
        Self::connect_scripted(server, version, ClientScript::new()).await
    }

    /// [`TestClient::connect`] with scripted answers to the server's
    /// questions, and the capabilities they imply.
    ///
    /// # Errors
    /// The handshake failed.
    pub async fn connect_scripted(
        server: impl Into<Server>,
        version: ProtocolVersion,
        script: ClientScript,
    ) -> Result<Self, ErrorObject> {
        let mut client = Self::connect_raw(server.into(), version);
        client.capabilities = script.capabilities();
        client.script = Arc::new(script);
        *client
            .shared_script
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&client.script);
        if !version.is_stateless() {
            let result = client
                .request(
                    "initialize",
                    json!({
                        "protocolVersion": version.as_str(),
                        "capabilities": client.capabilities.clone(),
                        "clientInfo": {"name": "mcp-server-test-client", "version": env!("CARGO_PKG_VERSION")},
                    }),
                )
                .await?;
            client
                .notify("notifications/initialized", Value::Null)
                .await;
            client.initialize_result = Some(result);
        }
        Ok(client)
    }

    /// Connects without any handshake, to test what a server does with
    /// requests that come before `initialize`. Requests carry no `_meta`
    /// unless the revision is 2026-07-28.
    pub fn connect_raw(server: Server, version: ProtocolVersion) -> Self {
        let (transport, client_side) = crate::transport::duplex(1 << 20);
        let server = tokio::spawn(server.serve(transport));
        let (read, writer) = tokio::io::split(client_side);
        let writer = Arc::new(Mutex::new(writer));
        let script = Arc::new(std::sync::RwLock::new(Arc::new(ClientScript::new())));
        let pending: Pending = Arc::default();
        let (notify_tx, notifications) = mpsc::unbounded_channel();
        let (unmatched_tx, unmatched) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(
            read,
            Arc::clone(&pending),
            notify_tx,
            unmatched_tx,
            Arc::clone(&writer),
            Arc::clone(&script),
        ));
        Self {
            version,
            script: Arc::new(ClientScript::new()),
            shared_script: script,
            writer,
            pending,
            notifications: Mutex::new(notifications),
            unmatched: Mutex::new(unmatched),
            next_id: AtomicI64::new(1),
            capabilities: json!({}),
            initialize_result: None,
            server: Some(server),
            reader,
        }
    }

    /// The revision this client speaks.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The server's `initialize` result (stateful revisions).
    pub fn initialize_result(&self) -> Option<&Value> {
        self.initialize_result.as_ref()
    }

    /// Sends a request and waits for its result. On 2026-07-28 the protocol
    /// version, client capabilities and client info are added to `_meta`.
    ///
    /// # Errors
    /// The JSON-RPC error the server answered with, or a -32603 error if no
    /// answer came within ten seconds.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ErrorObject> {
        let mut params = params;
        // 2026-07-28: answer `InputRequiredResult`s from the script and retry.
        for _ in 0..10 {
            let result = self.request_once(method, params.clone()).await?;
            if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
                return Ok(result);
            }
            let mut responses = Map::new();
            if let Some(requests) = result.get("inputRequests").and_then(Value::as_object) {
                for (key, request) in requests {
                    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
                    match self.script.answer(method) {
                        Some(answer) => {
                            responses.insert(key.clone(), answer.clone());
                        }
                        // Unscripted: the caller sees the question itself.
                        None => return Ok(result),
                    }
                }
            }
            if let Value::Object(map) = &mut params {
                map.insert("inputResponses".into(), Value::Object(responses));
                match result.get("requestState") {
                    Some(state) => map.insert("requestState".into(), state.clone()),
                    None => map.remove("requestState"),
                };
            }
        }
        Err(ErrorObject::new(
            error_code::INTERNAL_ERROR,
            format!("`{method}` still asked for input after ten rounds"),
        ))
    }

    async fn request_once(&self, method: &str, params: Value) -> Result<Value, ErrorObject> {
        let id = RequestId::Number(self.next_id.fetch_add(1, Ordering::Relaxed));
        let params = self.with_meta(params, None);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), tx);
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        self.send_line(&message.to_string()).await;
        match tokio::time::timeout(TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            _ => Err(ErrorObject::new(
                error_code::INTERNAL_ERROR,
                format!("no answer to `{method}` within {TIMEOUT:?}"),
            )),
        }
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Value) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        self.send_line(&message.to_string()).await;
    }

    /// Writes one raw line, as a misbehaving client would.
    pub async fn send_line(&self, line: &str) {
        let mut writer = self.writer.lock().await;
        // A closed pipe shows up as a missing answer, which the caller reports.
        let _ = writer.write_all(line.as_bytes()).await;
        let _ = writer.write_all(b"\n").await;
        let _ = writer.flush().await;
    }

    /// The next message that answered no request this client is waiting
    /// for, such as the error for a line the server could not parse.
    pub async fn next_unmatched(&self) -> Option<Value> {
        recv(&self.unmatched).await
    }

    /// The next notification from the server.
    pub async fn next_notification(&self) -> Option<Value> {
        recv(&self.notifications).await
    }

    /// Every notification received so far.
    pub async fn drain_notifications(&self) -> Vec<Value> {
        let mut rx = self.notifications.lock().await;
        let mut all = Vec::new();
        while let Ok(n) = rx.try_recv() {
            all.push(n);
        }
        all
    }

    /// `tools/list`.
    ///
    /// # Errors
    /// The server's error, or a result that is not a tool list.
    pub async fn list_tools(&self) -> Result<Vec<Tool>, ErrorObject> {
        let result = self.request("tools/list", json!({})).await?;
        serde_json::from_value(result["tools"].clone()).map_err(|e| bad_result("tools/list", &e))
    }

    /// `tools/call`.
    ///
    /// # Errors
    /// The server's error, or a result that is not a tool result.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<CallToolResult, ErrorObject> {
        let result = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        serde_json::from_value(result).map_err(|e| bad_result("tools/call", &e))
    }

    /// `tools/call` with a progress token; progress arrives as notifications.
    ///
    /// # Errors
    /// As [`TestClient::call_tool`].
    pub async fn call_tool_with_progress(
        &self,
        name: &str,
        arguments: Value,
        token: &str,
    ) -> Result<CallToolResult, ErrorObject> {
        let params =
            json!({"name": name, "arguments": arguments, "_meta": {"progressToken": token}});
        let result = self.request("tools/call", params).await?;
        serde_json::from_value(result).map_err(|e| bad_result("tools/call", &e))
    }

    /// Closes the connection and waits for the server to stop.
    ///
    /// # Errors
    /// The server stopped with an error.
    pub async fn close(mut self) -> Result<(), ServerError> {
        let _ = self.writer.lock().await.shutdown().await;
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }

    fn with_meta(&self, params: Value, extra: Option<Map<String, Value>>) -> Value {
        if !self.version.is_stateless() && extra.is_none() {
            return params;
        }
        let mut params = match params {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let meta = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            if self.version.is_stateless() {
                meta.entry(meta::PROTOCOL_VERSION)
                    .or_insert_with(|| self.version.as_str().into());
                meta.entry(meta::CLIENT_CAPABILITIES)
                    .or_insert_with(|| self.capabilities.clone());
                meta.entry(meta::CLIENT_INFO).or_insert_with(
                    || json!({"name": "mcp-server-test-client", "version": env!("CARGO_PKG_VERSION")}),
                );
            }
            meta.extend(extra.unwrap_or_default());
        }
        Value::Object(params)
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.reader.abort();
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

fn bad_result(method: &str, e: &serde_json::Error) -> ErrorObject {
    ErrorObject::new(
        error_code::INTERNAL_ERROR,
        format!("`{method}` returned a malformed result: {e}"),
    )
}
