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

/// The CRM server's builder over `db`: its tools, prompts and resources
/// with the audit log kept in the database, for settings added on top or
/// for mounting into another server
/// ([`ServerBuilder::mount`](mcp_server::ServerBuilder::mount)).
pub fn builder(db: Db) -> mcp_server::ServerBuilder {
    mcp_server::Server::builder()
        .definition(Crm::new(db.clone()))
        .audit(audit::DbAudit::new(db.clone()))
        .readiness_check("database", move || {
            let db = db.clone();
            async move { db.ping().await.map_err(|e| e.to_string()) }
        })
}
