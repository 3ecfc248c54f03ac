//! Tenants: whose rows are whose.
//!
//! Every row carries a tenant, and a [`Db`](crate::Db) handle reads and
//! writes one tenant's rows only ([`Db::for_tenant`](crate::Db::for_tenant)).

/// The tenant of every row unless a handle names another, of the rows
/// written before tenants existed, and of the sample data.
pub const DEFAULT_TENANT: &str = "default";
