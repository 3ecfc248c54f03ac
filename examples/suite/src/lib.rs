//! One MCP server composed of three with
//! [`ServerBuilder::mount`](mcp_server::ServerBuilder::mount): the CRM
//! under `crm` (tools `crm_*`, resources `crm+crm://...`), the customer
//! server under `customer`, and job search under `jobs`. Each keeps its own
//! database; the suite's settings (`MCP_*`, limits, audit) apply to all.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = suite::builder(&suite::Config::from_env()).await?.try_build()?;
//! server.serve(mcp_server::transport::Stdio).await?;
//! # Ok(())
//! # }
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use mcp_server::{Server, ServerBuilder};

/// Where the three servers keep their data.
#[derive(Debug, Clone)]
pub struct Config {
    /// The CRM's database (`sqlite://...`, `sqlite::memory:` or
    /// `postgres://...`).
    pub crm_database_url: String,
    /// The customer server's SQLite file, or `:memory:`.
    pub customer_db_path: String,
    /// Where job search keeps saved jobs.
    pub iam_data_root: PathBuf,
}

impl Config {
    /// Everything in memory (saved jobs under `data_root`): for tests and
    /// demos.
    pub fn in_memory(data_root: impl Into<PathBuf>) -> Self {
        Self {
            crm_database_url: "sqlite::memory:".into(),
            customer_db_path: ":memory:".into(),
            iam_data_root: data_root.into(),
        }
    }

    /// From `CRM_DATABASE_URL` (default `sqlite://data/crm.db`),
    /// `CUSTOMER_DB_PATH` (default `./data/customers.db`) and
    /// `IAM_DATA_ROOT` (default `./data/iam`).
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Self {
            crm_database_url: var("CRM_DATABASE_URL", "sqlite://data/crm.db"),
            customer_db_path: var("CUSTOMER_DB_PATH", "./data/customers.db"),
            iam_data_root: var("IAM_DATA_ROOT", "./data/iam").into(),
        }
    }
}

/// Why the suite could not start.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The CRM's database could not be opened or seeded.
    #[error("the CRM: {0}")]
    Crm(#[from] crm_example::CrmError),
    /// The customer database could not be opened.
    #[error("the customer server: {0}")]
    Customer(#[from] customer::CustomerError),
    /// The job provider could not be set up.
    #[error("job search: {0}")]
    Jobs(#[from] iam_example::provider::ProviderError),
}

/// The suite's builder: the three servers mounted, for settings added on
/// top. Job search uses JSearch when `RAPIDAPI_KEY` is set, else its
/// bundled offline dataset.
///
/// # Errors
/// A database could not be opened, or the job provider set up.
pub async fn builder(config: &Config) -> Result<ServerBuilder, SuiteError> {
    let db = crm_example::Db::connect(&config.crm_database_url).await?;
    db.seed_if_empty().await?;
    let store = customer::Store::open(&config.customer_db_path).await?;
    let provider: Arc<dyn iam_example::provider::JobProvider> = iam_example::provider_from_env()?;
    let jobs = iam_example::server::Iam::new(provider, config.iam_data_root.clone());
    Ok(Server::builder()
        .name("suite")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions(
            "Three servers in one: `crm_*` tools manage a CRM (contacts, companies, deals), \
             `customer_*` tools a customer table, and `jobs_*` tools search job postings.",
        )
        .mount("crm", crm_example::builder(db).build())
        .mount("customer", customer::builder(store).build())
        .mount("jobs", iam_example::server::server(jobs)))
}
