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

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    status TEXT DEFAULT 'active' CHECK(status IN ('active','disabled')),
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
)";

const SAMPLE: [(&str, &str, &str, &str); 10] = [
    (
        "Ada Lovelace",
        "ada@analytical.example",
        "+44 20 7946 0001",
        "active",
    ),
    (
        "Alan Turing",
        "alan@bletchley.example",
        "+44 20 7946 0002",
        "active",
    ),
    (
        "Grace Hopper",
        "grace@cobol.example",
        "+1 202 555 0103",
        "active",
    ),
    (
        "Katherine Johnson",
        "katherine@nasa.example",
        "+1 757 555 0104",
        "active",
    ),
    (
        "Edsger Dijkstra",
        "edsger@eindhoven.example",
        "+31 40 555 0105",
        "disabled",
    ),
    (
        "Barbara Liskov",
        "barbara@mit.example",
        "+1 617 555 0106",
        "active",
    ),
    (
        "Donald Knuth",
        "don@stanford.example",
        "+1 650 555 0107",
        "active",
    ),
    (
        "Margaret Hamilton",
        "margaret@apollo.example",
        "+1 617 555 0108",
        "active",
    ),
    (
        "Tim Berners-Lee",
        "tim@cern.example",
        "+41 22 555 0109",
        "disabled",
    ),
    (
        "Radia Perlman",
        "radia@spanning.example",
        "+1 425 555 0110",
        "active",
    ),
];

/// The customer database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, creates the table,
    /// and seeds ten sample customers into an empty one. `:memory:` opens a
    /// database in memory instead, gone when the process exits.
    ///
    /// # Errors
    /// The directory or the database could not be created or opened.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, CustomerError> {
        let path = path.as_ref();
        let pool = if path == Path::new(":memory:") {
            // Each connection to `:memory:` would open its own empty
            // database: one connection, never let go, holds the data.
            let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    CustomerError::Invalid(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .foreign_keys(true);
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?
        };
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), CustomerError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(SCHEMA).execute(&mut *tx).await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM customers")
            .fetch_one(&mut *tx)
            .await?;
        if count == 0 {
            for (name, email, phone, status) in SAMPLE {
                sqlx::query(
                    "INSERT INTO customers (name, email, phone, status) VALUES (?, ?, ?, ?)",
                )
                .bind(name)
                .bind(email)
                .bind(phone)
                .bind(status)
                .execute(&mut *tx)
                .await?;
            }
            tracing::info!("seeded {} sample customers", SAMPLE.len());
        }
        tx.commit().await?;
        Ok(())
    }

    /// One customer.
    ///
    /// # Errors
    /// No such customer, or the database failed.
    pub async fn get(&self, id: i64) -> Result<Customer, CustomerError> {
        sqlx::query_as("SELECT * FROM customers WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(CustomerError::NotFound(id))
    }

    /// Every customer, or those with `status`, by id.
    ///
    /// # Errors
    /// The database failed.
    pub async fn list(&self, status: Option<Status>) -> Result<Vec<Customer>, CustomerError> {
        let customers = match status {
            Some(status) => {
                sqlx::query_as("SELECT * FROM customers WHERE status = ? ORDER BY id")
                    .bind(status.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_as("SELECT * FROM customers ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(customers)
    }

    /// Adds a customer after checking the input.
    ///
    /// # Errors
    /// Invalid input (nothing written), or the database failed.
    pub async fn add(
        &self,
        name: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Customer, CustomerError> {
        let name = valid_name(name)?;
        let email = email.map(valid_email).transpose()?;
        let phone = phone.map(valid_phone).transpose()?;
        let mut tx = self.pool.begin().await?;
        let customer = sqlx::query_as(
            "INSERT INTO customers (name, email, phone) VALUES (?, ?, ?) RETURNING *",
        )
        .bind(name)
        .bind(email)
        .bind(phone)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Changes the given fields of a customer after checking all of them.
    ///
    /// # Errors
    /// Invalid input or unknown id (nothing written), or the database failed.
    pub async fn update(&self, id: i64, change: Change<'_>) -> Result<Customer, CustomerError> {
        let name = change.name.map(valid_name).transpose()?;
        let email = change.email.map(valid_email).transpose()?;
        let phone = change.phone.map(valid_phone).transpose()?;
        if name.is_none() && email.is_none() && phone.is_none() && change.status.is_none() {
            return Err(CustomerError::Invalid(
                "nothing to update: give at least one of name, email, phone, status".into(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let updated: Option<Customer> = sqlx::query_as(
            "UPDATE customers SET
                name = COALESCE(?, name),
                email = COALESCE(?, email),
                phone = COALESCE(?, phone),
                status = COALESCE(?, status),
                updated_at = datetime('now')
             WHERE id = ? RETURNING *",
        )
        .bind(name)
        .bind(email)
        .bind(phone)
        .bind(change.status.map(Status::as_str))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let customer = updated.ok_or(CustomerError::NotFound(id))?;
        tx.commit().await?;
        Ok(customer)
    }
}

/// The fields `update_customer` may change; `None` keeps a field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Change<'a> {
    /// A new name.
    pub name: Option<&'a str>,
    /// A new e-mail address.
    pub email: Option<&'a str>,
    /// A new phone number.
    pub phone: Option<&'a str>,
    /// A new status.
    pub status: Option<Status>,
}

fn valid_name(name: &str) -> Result<&str, CustomerError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CustomerError::Invalid("the name must not be empty".into()));
    }
    if name.chars().count() > 200 {
        return Err(CustomerError::Invalid(
            "the name is longer than 200 characters".into(),
        ));
    }
    Ok(name)
}

fn valid_email(email: &str) -> Result<&str, CustomerError> {
    let email = email.trim();
    let invalid = || CustomerError::Invalid(format!("invalid e-mail address `{email}`"));
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty()
        || !domain_ok
        || email.len() > 254
        || email.chars().any(char::is_whitespace)
        || domain.contains('@')
    {
        return Err(invalid());
    }
    Ok(email)
}

fn valid_phone(phone: &str) -> Result<&str, CustomerError> {
    let phone = phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'));
    if !allowed || !(5..=20).contains(&digits) {
        return Err(CustomerError::Invalid(format!(
            "invalid phone number `{phone}`: use digits, spaces and + - ( ) ."
        )));
    }
    Ok(phone)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked() {
        assert!(valid_email("ada@example.com").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@example..com",
        ] {
            assert!(valid_email(bad).is_err(), "{bad}");
        }
        assert!(valid_phone("+44 20 7946 0001").is_ok());
        assert!(valid_phone("call me").is_err());
        assert!(valid_phone("12").is_err());
        assert!(valid_name("  ").is_err());
        assert_eq!(valid_name(" Ada ").unwrap(), "Ada");
        assert!("gone".parse::<Status>().is_err());
    }
}
