//! Companies.

use super::*;

/// A company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Company {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Web domain.
    pub domain: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// How many contacts work there.
    pub contacts: i64,
    /// How many deals are open.
    pub open_deals: i64,
    /// When it was added.
    pub created_at: String,
}

impl Company {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, CrmError> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            domain: row.try_get("domain")?,
            industry: row.try_get("industry")?,
            contacts: row.try_get("contacts")?,
            open_deals: row.try_get("open_deals")?,
            created_at: row.try_get("created_at")?,
        })
    }
}
