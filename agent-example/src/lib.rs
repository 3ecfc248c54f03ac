//! A workspace agent as an MCP server.
//!
//! Five tools read, write, list, search and diff the files of one
//! workspace directory, confined to it ([`workspace`]). `ask_agent` runs
//! an agent loop on the client's own model: the server asks it through
//! sampling (`sampling/createMessage`), offering the same tools in a
//! documented JSON format ([`protocol`]), runs the tools it asks for and
//! feeds their results back until it answers ([`agent`]). Conversations
//! are kept in SQLite per caller, across requests and restarts ([`store`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use agent_example::{Agent, AgentConfig, AgentServer, Limits, Store, Workspace};
//!
//! let workspace = Workspace::open("/srv/workspace", Limits::default())?;
//! let store = Store::open("data/agent.db").await?;
//! let agent = Agent::new(workspace, store, AgentConfig::default());
//! mcp_server::Server::new(AgentServer::new(agent)).serve(mcp_server::transport::Stdio).await?;
//! # Ok(())
//! # }
//! ```

pub mod agent;
pub mod audit;
pub mod config;
pub mod dispatch;
pub mod protocol;
pub mod server;
pub mod store;
pub mod workspace;

pub use agent::{Agent, AgentConfig, AgentError, Answer, CallInfo, Model};
pub use config::Config;
pub use server::AgentServer;
pub use store::{Message, Owner, Role, Store, StoreError};
pub use workspace::{Limits, Workspace, WorkspaceError};
