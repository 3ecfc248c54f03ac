//! A customer management MCP server on SQLite.
//!
//! Six tools over one `customers` table: look customers up, list them by
//! status, add, update, disable and re-activate them. Every input is
//! checked before anything is written, and every write is one
//! transaction, so a rejected call changes nothing.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = customer::Store::open("./data/customers.db").await?;
//! let server = mcp_server::Server::new(customer::Customers::new(store));
//! # let _ = server;
//! # Ok(())
//! # }
//! ```

pub mod logging;
mod store;

pub use store::{Change, Store};

/// The customer server's builder over `store`, for settings added on top
/// or for mounting into another server
/// ([`ServerBuilder::mount`](mcp_server::ServerBuilder::mount)).
pub fn builder(store: Store) -> mcp_server::ServerBuilder {
    mcp_server::Server::builder().definition(Customers::new(store))
}

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use mcp_server::prelude::*;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// A customer's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A current customer.
    Active,
    /// A customer who may no longer buy.
    Disabled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = CustomerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            other => Err(CustomerError::Invalid(format!(
                "invalid status `{other}`: use `active` or `disabled`"
            ))),
        }
    }
}

/// One customer, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema, sqlx::FromRow)]
pub struct Customer {
    /// The customer's id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    /// When the customer was added (UTC, `YYYY-MM-DD HH:MM:SS`).
    pub created_at: String,
    /// When the customer last changed (UTC).
    pub updated_at: String,
}

/// Customers, as `list_customers` returns them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CustomerList {
    /// How many customers matched.
    pub count: usize,
    /// The customers, by id.
    pub customers: Vec<Customer>,
}

/// Why a call failed: shown to the model as a tool error.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// The input is wrong; nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// No customer has this id.
    #[error("customer {0} not found")]
    NotFound(i64),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The MCP server over a [`Store`].
#[derive(Debug, Clone)]
pub struct Customers {
    store: Store,
}

impl Customers {
    /// A server over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[mcp_server(
    name = "customer-management",
    title = "Customer management",
    instructions = "Manage customers: look them up by id, list them (optionally by status), add, update, disable and re-activate them. Disabling keeps the record."
)]
impl Customers {
    /// Get one customer by id.
    #[mcp_tool(read_only)]
    async fn get_customer(
        &self,
        /** The customer's id. */
        id: i64,
    ) -> Result<Structured<Customer>, CustomerError> {
        self.store.get(id).await.map(Structured)
    }

    /// List customers, optionally only those with a status.
    #[mcp_tool(read_only)]
    async fn list_customers(
        &self,
        /// Only customers with this status: `active` or `disabled`.
        status: Option<Status>,
    ) -> Result<Structured<CustomerList>, CustomerError> {
        let customers = self.store.list(status).await?;
        Ok(Structured(CustomerList {
            count: customers.len(),
            customers,
        }))
    }

    /// Add a customer.
    #[mcp_tool]
    async fn add_customer(
        &self,
        /// Full name; must not be empty.
        name: String,
        /// E-mail address.
        email: Option<String>,
        /// Phone number.
        phone: Option<String>,
    ) -> Result<Structured<Customer>, CustomerError> {
        self.store
            .add(&name, email.as_deref(), phone.as_deref())
            .await
            .map(Structured)
    }

    /// Change a customer's name, e-mail, phone or status; fields left out
    /// keep their values.
    #[mcp_tool(idempotent)]
    async fn update_customer(
        &self,
        /// The customer's id.
        id: i64,
        /// A new name.
        name: Option<String>,
        /// A new e-mail address.
        email: Option<String>,
        /// A new phone number.
        phone: Option<String>,
        /// A new status: `active` or `disabled`.
        status: Option<Status>,
    ) -> Result<Structured<Customer>, CustomerError> {
        let change = Change {
            name: name.as_deref(),
            email: email.as_deref(),
            phone: phone.as_deref(),
            status,
        };
        self.store.update(id, change).await.map(Structured)
    }

    /// Disable a customer; the record is kept.
    #[mcp_tool(idempotent)]
    async fn disable_customer(
        &self,
        /** The customer's id. */
        id: i64,
    ) -> Result<Structured<Customer>, CustomerError> {
        let change = Change {
            status: Some(Status::Disabled),
            ..Change::default()
        };
        self.store.update(id, change).await.map(Structured)
    }

    /// Re-activate a disabled customer.
    #[mcp_tool(idempotent)]
    async fn activate_customer(
        &self,
        /** The customer's id. */
        id: i64,
    ) -> Result<Structured<Customer>, CustomerError> {
        let change = Change {
            status: Some(Status::Active),
            ..Change::default()
        };
        self.store.update(id, change).await.map(Structured)
    }
}

/// The HTTP side: MCP and the server's own routes on one router.
pub mod http {
    use axum::Router;
    use axum::routing::get;
    use mcp_server::Server;
    use mcp_server::transport::http::{HttpConfig, McpService};

    /// `POST /mcp` (Streamable HTTP, every revision), `GET /sse` +
    /// `POST /messages` (legacy), `GET /health`, and `GET /` describing the
    /// server.
    pub fn app(server: Server, config: HttpConfig) -> Router {
        router(McpService::new(server, config))
    }

    /// [`app`] around a given MCP service, so the caller keeps a handle on
    /// it to [`drain`](McpService::drain) it at shutdown.
    pub fn router(mcp: McpService) -> Router {
        let info = mcp.server().info().clone();
        let tools = mcp.server().tool_names();
        let describe = move || {
            let body = serde_json::json!({
                "name": info.implementation.name,
                "version": info.implementation.version,
                "title": info.implementation.title,
                "description": info.instructions,
                "transport": "streamable-http",
                "endpoints": { "mcp": "/mcp", "health": "/health", "sse": "/sse" },
                "tools": tools,
            });
            async move { axum::Json(body) }
        };
        Router::new()
            .route("/", get(describe))
            // Everything else is the MCP service's: /mcp, the legacy SSE
            // endpoints, probes, /metrics, /diagnostics, OAuth metadata.
            .fallback_service(mcp)
    }
}
