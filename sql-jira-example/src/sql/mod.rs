//! `sql-mcp`: read-only report templates over a sample sales schema.

mod runner;
mod seed;
mod server;
pub mod templates;

pub use runner::{Limits, Reader, Report, ReportError};
pub use seed::{SEEDED_TENANTS, seed_if_empty};
pub use server::{SqlReports, builder, describe, describe_all};
