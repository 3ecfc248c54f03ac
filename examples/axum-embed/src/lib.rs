//! An existing axum application with MCP mounted next to its own routes.
//!
//! The app keeps a list of notes. People use its REST API (`/api/notes`);
//! AI clients use the same store through MCP tools at `/mcp` (Streamable
//! HTTP) and `/sse` + `/messages` (the legacy transport). Both sides share
//! one process, one listener and one state.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3002").await?;
//! axum::serve(listener, axum_embed::app(axum_embed::Notes::default())).await
//! # }
//! ```

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use mcp_server::prelude::*;
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

/// The whole application: the REST API and MCP on one router.
pub fn app(notes: Notes) -> Router {
    let mcp = McpService::new(Server::new(notes.clone()), HttpConfig::default());
    Router::new()
        .route("/api/notes", get(list_notes).post(add_note))
        // `route_service` keeps the request path, which the MCP service
        // matches whole.
        .route_service("/mcp", mcp.clone())
        .route_service("/sse", mcp.clone())
        .route_service("/messages", mcp)
        .with_state(notes)
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
