//! A job-search MCP server: searches postings through the JSearch API on
//! RapidAPI (or a bundled sample dataset when no key is set), estimates
//! salaries, saves chosen jobs as files readable as resources, and offers
//! prompts for market analysis, resume merging and tailoring, and cover
//! letters.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use iam_example::provider::OfflineProvider;
//! use iam_example::server::{Iam, server};
//!
//! let iam = Iam::new(Arc::new(OfflineProvider::bundled()?), "./data/iam");
//! server(iam).serve(mcp_server::transport::Stdio).await?;
//! # Ok(())
//! # }
//! ```

pub mod provider;
pub mod server;

use std::sync::Arc;

use provider::{JSearchConfig, JSearchProvider, JobProvider, OfflineProvider, ProviderError};

/// The provider the environment asks for: JSearch with `RAPIDAPI_KEY`
/// (and `RAPIDAPI_HOST`, default `jsearch.p.rapidapi.com`), otherwise the
/// offline sample dataset.
///
/// # Errors
/// The HTTP client or the bundled dataset could not be loaded.
pub fn provider_from_env() -> Result<Arc<dyn JobProvider>, ProviderError> {
    match std::env::var("RAPIDAPI_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        Some(key) => {
            let host = std::env::var("RAPIDAPI_HOST")
                .ok()
                .filter(|h| !h.trim().is_empty())
                .unwrap_or_else(|| "jsearch.p.rapidapi.com".into());
            Ok(Arc::new(JSearchProvider::new(JSearchConfig::new(
                key, host,
            ))?))
        }
        None => Ok(Arc::new(OfflineProvider::bundled()?)),
    }
}
