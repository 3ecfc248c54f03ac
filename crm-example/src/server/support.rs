//! What the tools, resources and prompts share: completions, the
//! deletion's confirmation, error mapping and the contact card's fields.

use mcp_server::CompletionRequest;
use mcp_server::prelude::*;

use mcp_server::{AskError, Elicited};

use super::pages::ConfirmDelete;
use super::{CompanyDetails, Crm};
use crate::db::{CrmError, Db};
use crate::model::ContactChange;

impl Crm {
    pub(super) async fn contact_ids(&self, request: CompletionRequest) -> Completions {
        let Some(db) = self.completion_db() else {
            return Completions::default();
        };
        let Ok((contacts, _)) = db.search_contacts("", None, None, 500, 0).await else {
            return Completions::default();
        };
        let typed = request.value.to_lowercase();
        contacts
            .iter()
            .filter(|c| {
                c.id.to_string().starts_with(&typed)
                    || c.full_name().to_lowercase().contains(&typed)
            })
            .map(|c| c.id.to_string())
            .collect()
    }

    pub(super) async fn company_ids(&self, request: CompletionRequest) -> Completions {
        let Some(db) = self.completion_db() else {
            return Completions::default();
        };
        let Ok(companies) = db.list_companies(None, 500, 0).await else {
            return Completions::default();
        };
        let typed = request.value.to_lowercase();
        companies
            .iter()
            .filter(|c| {
                c.id.to_string().starts_with(&typed) || c.name.to_lowercase().contains(&typed)
            })
            .map(|c| c.id.to_string())
            .collect()
    }
}

/// A company with its contacts (the first hundred) and all its deals.
/// Whether the user confirms deleting contact `id`, `name`: asked with a
/// form, or taken from the `confirm` argument when the client cannot ask.
pub(super) async fn confirm_delete(
    ctx: &RequestContext,
    name: &str,
    id: i64,
    confirm: Option<bool>,
) -> Result<bool, CrmError> {
    match ctx
        .elicit::<ConfirmDelete>(
            "confirm_delete",
            format!("Delete {name} (contact {id}) and their activities?"),
        )
        .await
    {
        Ok(Elicited::Accepted(ConfirmDelete { confirm })) => Ok(confirm),
        Ok(_) => Ok(false),
        Err(AskError::Unavailable(_)) => Ok(confirm == Some(true)),
        Err(e) => Err(CrmError::Invalid(format!("could not confirm: {e}"))),
    }
}

pub(super) async fn company_details(db: &Db, id: i64) -> Result<CompanyDetails, CrmError> {
    let company = db.company(id).await?;
    let (contacts, _) = db.search_contacts("", Some(id), None, 100, 0).await?;
    let deals = db.list_deals(None, None, Some(id)).await?;
    Ok(CompanyDetails {
        company,
        contacts,
        deals,
    })
}

pub(super) fn not_found(uri: &str, e: CrmError) -> ResourceError {
    match e {
        CrmError::NotFound { .. } => ResourceError::NotFound(uri.to_owned()),
        CrmError::Invalid(message) | CrmError::Conflict(message) => ResourceError::Invalid(message),
        // A client error, answered -32602 with the explanation.
        e @ CrmError::TenantRequired => ResourceError::Invalid(e.to_string()),
        e @ (CrmError::Migration { .. } | CrmError::Database(_)) => {
            ResourceError::Failed(e.to_string())
        }
    }
}

pub(super) fn json<T: Serialize>(value: &T) -> Result<String, ResourceError> {
    serde_json::to_string_pretty(value).map_err(|e| ResourceError::Failed(e.to_string()))
}

/// A contact field the contact card edits.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// E-mail address.
    Email,
    /// Phone number.
    Phone,
    /// Job title.
    Title,
    /// Company name (created if new).
    Company,
}

impl ContactField {
    /// The change that sets this field to `value`; the database layer
    /// validates it as it does any update.
    pub(super) fn change(self, value: String) -> ContactChange {
        let mut change = ContactChange::default();
        let slot = match self {
            Self::FirstName => &mut change.first_name,
            Self::LastName => &mut change.last_name,
            Self::Email => &mut change.email,
            Self::Phone => &mut change.phone,
            Self::Title => &mut change.title,
            Self::Company => &mut change.company,
        };
        *slot = Some(value);
        change
    }
}
