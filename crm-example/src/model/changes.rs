//! New companies, and the changes the REST API's `PATCH` routes make to
//! companies, deals and activities: `None` keeps a field.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Stage, non_empty, valid_date, valid_due};
use crate::db::CrmError;
use crate::limits;

/// A new company.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct NewCompany {
    /// Name; unique within the tenant (case-insensitively).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Web domain, such as `example.com`.
    #[schema(max_length = 200)]
    pub domain: Option<String>,
    /// Industry.
    #[schema(max_length = 200)]
    pub industry: Option<String>,
}

impl NewCompany {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        limits::check("name", &self.name, limits::NAME)?;
        limits::check_opt("domain", self.domain.as_deref(), limits::NAME)?;
        limits::check_opt("industry", self.industry.as_deref(), limits::NAME)?;
        non_empty("name", &self.name)
    }
}

/// Fields to change on a company; absent (or `null`) fields keep their
/// values.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CompanyChange {
    /// Name; unique within the tenant (case-insensitively).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// Web domain.
    #[schema(max_length = 200)]
    pub domain: Option<String>,
    /// Industry.
    #[schema(max_length = 200)]
    pub industry: Option<String>,
}

impl CompanyChange {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        if self.name.is_none() && self.domain.is_none() && self.industry.is_none() {
            return Err(nothing());
        }
        limits::check_opt("name", self.name.as_deref(), limits::NAME)?;
        limits::check_opt("domain", self.domain.as_deref(), limits::NAME)?;
        limits::check_opt("industry", self.industry.as_deref(), limits::NAME)?;
        if let Some(name) = &self.name {
            non_empty("name", name)?;
        }
        Ok(())
    }
}

/// Fields to change on a deal; absent (or `null`) fields keep their values.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DealChange {
    /// What is being sold.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    /// The main contact's id.
    pub contact_id: Option<i64>,
    /// Pipeline stage.
    pub stage: Option<Stage>,
    /// Value in the deal's currency, from 0 to 10^12.
    #[schema(minimum = 0.0, maximum = 1e12)]
    pub amount: Option<f64>,
    /// Three-letter currency code.
    #[schema(pattern = r"^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// Expected close date, `YYYY-MM-DD`.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub expected_close: Option<String>,
    /// Who owns the deal.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub owner: Option<String>,
}

impl DealChange {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        let nothing_given = self.title.is_none()
            && self.contact_id.is_none()
            && self.stage.is_none()
            && self.amount.is_none()
            && self.currency.is_none()
            && self.expected_close.is_none()
            && self.owner.is_none();
        if nothing_given {
            return Err(nothing());
        }
        limits::check_opt("title", self.title.as_deref(), limits::NAME)?;
        limits::check_opt("currency", self.currency.as_deref(), 3)?;
        let close = self.expected_close.as_deref();
        limits::check_opt("expected_close", close, limits::DATE)?;
        limits::check_opt("owner", self.owner.as_deref(), limits::OWNER)?;
        if let Some(title) = &self.title {
            non_empty("title", title)?;
        }
        if let Some(owner) = &self.owner {
            non_empty("owner", owner)?;
        }
        if let Some(amount) = self.amount {
            super::valid_amount(amount)?;
        }
        if let Some(currency) = &self.currency {
            super::valid_currency(currency)?;
        }
        if let Some(date) = close {
            valid_date(date)?;
        }
        Ok(())
    }

    /// The new amount in cents, if it changes.
    pub(crate) fn amount_cents(&self) -> Option<i64> {
        self.amount.map(super::cents)
    }
}

/// Fields to change on an activity; absent (or `null`) fields keep their
/// values. Its kind, contact and deal stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ActivityChange {
    /// One line.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub subject: Option<String>,
    /// Details.
    #[schema(max_length = 10000)]
    pub body: Option<String>,
    /// When it is due: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$")]
    pub due_at: Option<String>,
    /// Whether it is done (tasks).
    pub done: Option<bool>,
    /// Who owns it.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub owner: Option<String>,
}

impl ActivityChange {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        let nothing_given = self.subject.is_none()
            && self.body.is_none()
            && self.due_at.is_none()
            && self.done.is_none()
            && self.owner.is_none();
        if nothing_given {
            return Err(nothing());
        }
        limits::check_opt("subject", self.subject.as_deref(), limits::NAME)?;
        limits::check_opt("body", self.body.as_deref(), limits::BODY)?;
        limits::check_opt("due_at", self.due_at.as_deref(), limits::DUE)?;
        limits::check_opt("owner", self.owner.as_deref(), limits::OWNER)?;
        if let Some(subject) = &self.subject {
            non_empty("subject", subject)?;
        }
        if let Some(owner) = &self.owner {
            non_empty("owner", owner)?;
        }
        if let Some(due) = &self.due_at {
            valid_due(due)?;
        }
        Ok(())
    }
}

fn nothing() -> CrmError {
    CrmError::Invalid("nothing to update: give at least one field".into())
}
