//! An existing axum application with MCP mounted next to its own routes.
//!
//! The app keeps a list of notes. People use its REST API (`/api/notes`);
//! AI clients use the same store through MCP tools, mounted once under
//! `/mcp`: Streamable HTTP at `/mcp`, the legacy transport at `/mcp/sse` +
//! `/mcp/messages`. Both sides share one process, one listener, one state
//! and one stack of layers: the app's own request-id layer and MCP's
//! `Host`/`Origin` protection, taken as a layer so it guards the REST API
//! too.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3002").await?;
//! axum::serve(listener, axum_embed::app(axum_embed::Notes::default())).await
//! # }
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use mcp_server::prelude::*;
use mcp_server::transport::http::layers::HostOriginLayer;
use mcp_server::transport::http::{HttpConfig, McpService};

/// The application's state: a shared list of notes.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    notes: Arc<Mutex<Vec<String>>>,
}

impl Notes {
    fn all(&self) -> Vec<String> {
        self.notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn add(&self, text: String) -> usize {
        let mut notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        notes.push(text);
        notes.len()
    }
}

/// The notes, as the model sees them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NoteList {
    /// Every note, oldest first.
    pub notes: Vec<String>,
}

#[mcp_server(name = "notes", instructions = "Read and add the team's notes.")]
impl Notes {
    /// Add a note.
    #[mcp_tool]
    async fn add_note(
        &self,
        /** The note's text. */
        text: String,
    ) -> Result<String, String> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err("a note needs some text".into());
        }
        let count = self.add(text);
        Ok(format!("saved; {count} notes in all"))
    }

    /// List every note.
    #[mcp_tool(read_only)]
    async fn list_notes(&self) -> Structured<NoteList> {
        Structured(NoteList { notes: self.all() })
    }
}

/// The whole application with the default configuration: loopback `Host`
/// names only (see [`app_with`]).
pub fn app(notes: Notes) -> Router {
    app_with(notes, HttpConfig::default())
}

/// The whole application: the REST API and MCP on one router, behind one
/// stack of layers.
///
/// `config` governs MCP and the `Host`/`Origin` check of every route.
/// Its host policy defaults to loopback names only: served on `0.0.0.0`
/// and reached as `notes.example.com`, every request gets 403 until
/// `config.allowed_hosts(["notes.example.com"])` (env `MCP_ALLOWED_HOSTS`
/// for the binary).
pub fn app_with(notes: Notes, config: HttpConfig) -> Router {
    let mcp = McpService::new(Server::new(notes.clone()), config.clone());
    Router::new()
        .route("/api/notes", get(list_notes).post(add_note))
        .with_state(notes)
        // Streamable HTTP at /mcp, legacy SSE at /mcp/sse + /mcp/messages.
        .nest_service("/mcp", mcp)
        // MCP's DNS-rebinding protection, for the REST API as well; the
        // MCP service sees the request passed it and does not check again.
        .layer(HostOriginLayer::new(&config))
        // The app's own layer, outermost: every response, MCP's included,
        // carries a request id.
        .layer(middleware::from_fn(stamp_request_id))
}

/// The response header naming each request.
pub const REQUEST_ID: &str = "x-request-id";

/// Numbers every request and stamps the number on its response.
async fn stamp_request_id(request: Request, next: Next) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(REQUEST_ID, HeaderValue::from(id));
    response
}

async fn list_notes(State(notes): State<Notes>) -> axum::Json<Vec<String>> {
    axum::Json(notes.all())
}

async fn add_note(State(notes): State<Notes>, text: String) -> (StatusCode, String) {
    if text.trim().is_empty() {
        return (StatusCode::BAD_REQUEST, "a note needs some text".into());
    }
    notes.add(text.trim().to_owned());
    (StatusCode::CREATED, "saved".into())
}
