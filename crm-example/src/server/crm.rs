//! [`Crm`]: the server's type, its database and its tenancy.

use mcp_server::prelude::*;

use crate::db::{CrmError, Db};
use crate::tenant::Tenancy;

/// The CRM server.
///
/// With [`Tenancy::Required`] every tool, resource and prompt works on the
/// caller's tenant's rows only (see [`crate::tenant`]).
#[derive(Debug, Clone)]
pub struct Crm {
    db: Db,
    tenancy: Tenancy,
}

impl Crm {
    /// A server over `db`, with tenancy off: one book of business, the
    /// rows of `db`'s tenant ([`DEFAULT_TENANT`](crate::DEFAULT_TENANT)
    /// unless [`Db::for_tenant`] chose another).
    pub fn new(db: Db) -> Self {
        Self {
            db,
            tenancy: Tenancy::Off,
        }
    }

    /// Whether requests must name a tenant and see only its rows.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use crm_example::{Crm, Db, Tenancy};
    ///
    /// let db = Db::connect("sqlite://data/crm.db").await?;
    /// let crm = Crm::new(db).tenancy(Tenancy::Required);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn tenancy(mut self, tenancy: Tenancy) -> Self {
        self.tenancy = tenancy;
        self
    }
}

impl Crm {
    /// The database as this request may see it.
    pub(super) fn tenant_db(&self, ctx: &RequestContext) -> Result<Db, CrmError> {
        self.tenancy
            .scope(&self.db, ctx.tenant())
            .ok_or(CrmError::TenantRequired)
    }

    /// The database completions may read. Completion requests carry no
    /// principal, so with tenancy required there is none: they offer
    /// nothing rather than another tenant's names.
    pub(super) fn completion_db(&self) -> Option<&Db> {
        match self.tenancy {
            Tenancy::Off => Some(&self.db),
            Tenancy::Required => None,
        }
    }
}
