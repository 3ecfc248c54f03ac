//! A CRM as an MCP server: contacts, companies, a deal pipeline and
//! activities, on SQLite (the default, a file under `./data/`) or
//! PostgreSQL (`DATABASE_URL=postgres://...`), served over stdio or HTTP
//! with a REST API for web clients next to MCP.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use crm_example::{Crm, Db};
//!
//! let db = Db::connect("sqlite://data/crm.db").await?;
//! db.seed_if_empty().await?;
//! mcp_server::Server::new(Crm::new(db)).serve(mcp_server::transport::Stdio).await?;
//! # Ok(())
//! # }
//! ```

pub mod audit;
pub mod db;
pub mod idempotency;
pub mod limits;
pub mod model;
pub mod rest;
mod seed;
pub mod server;
pub mod tenant;

pub use db::{CrmError, Db, Dialect};
pub use server::Crm;
pub use tenant::{DEFAULT_TENANT, Tenancy};
