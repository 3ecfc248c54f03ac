//! Two MCP servers on the framework, each with an audit log and
//! idempotency keys in its database (SQLite by default, PostgreSQL with
//! `DATABASE_URL=postgres://...`), per-tenant data, the framework's rate
//! limits and metrics, and a few REST routes next to MCP:
//!
//! - `sql-mcp`: six named, parameterised, read-only report templates over
//!   orders, customers, products and invoices ([`sql`]);
//! - `jira-mcp`: eight tools over the Jira Cloud REST API v3, with an
//!   offline sample project and a local mock Jira for tests ([`jira`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use sql_jira_example::sql::{Limits, Reader, SqlReports, seed_if_empty};
//! use sql_jira_example::store::{SQL_MIGRATIONS, Store};
//!
//! let store = Store::connect("sqlite://data/sql-reports.db", SQL_MIGRATIONS).await?;
//! seed_if_empty(&store).await?;
//! let reader = Reader::open(&store).await?;
//! let reports = SqlReports::new(reader, store.dialect(), Limits::default());
//! sql_jira_example::sql::builder(reports).build().serve(mcp_server::transport::Stdio).await?;
//! # Ok(())
//! # }
//! ```

pub mod app;
pub mod audit;
pub mod client;
pub mod idempotency;
pub mod jira;
pub mod sql;
pub mod store;

use mcp_server::RequestContext;

/// The tenant of requests that name none (stdio, a key issued without a
/// tenant, no authenticator): the sample data's.
pub const DEFAULT_TENANT: &str = "default";

/// The tenant a request acts for: its principal's (the credential's, or
/// the trusted gateway's header), else [`DEFAULT_TENANT`].
pub fn tenant_of(ctx: &RequestContext) -> &str {
    ctx.tenant()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_TENANT)
}
