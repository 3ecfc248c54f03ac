//! The CRM's records, as tools return them and as they are checked.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use utoipa::ToSchema;

use crate::db::CrmError;
use crate::limits;

mod changes;

pub use changes::{ActivityChange, CompanyChange, DealChange, NewCompany};

/// A stage of the sales pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A first contact.
    Lead,
    /// Budget, need and timing confirmed.
    Qualified,
    /// A proposal was sent.
    Proposal,
    /// Terms are being negotiated.
    Negotiation,
    /// Closed and won.
    Won,
    /// Closed and lost.
    Lost,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Self; 6] = [
        Self::Lead,
        Self::Qualified,
        Self::Proposal,
        Self::Negotiation,
        Self::Won,
        Self::Lost,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Qualified => "qualified",
            Self::Proposal => "proposal",
            Self::Negotiation => "negotiation",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    /// Whether the deal is still being worked.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Won | Self::Lost)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = CrmError;

    fn from_str(s: &str) -> Result<Self, CrmError> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| {
                CrmError::Invalid(format!(
                    "unknown stage `{s}`: use lead, qualified, proposal, negotiation, won or lost"
                ))
            })
    }
}

/// What kind of activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A note.
    Note,
    /// A phone call.
    Call,
    /// An e-mail.
    Email,
    /// A meeting.
    Meeting,
    /// Something to do, usually with a due date.
    Task,
}

impl ActivityKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Call => "call",
            Self::Email => "email",
            Self::Meeting => "meeting",
            Self::Task => "task",
        }
    }
}

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

/// A person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Contact {
    /// Id.
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Their company's id.
    pub company_id: Option<i64>,
    /// Their company's name.
    pub company: Option<String>,
    /// Tags, lower-case.
    pub tags: Vec<String>,
    /// When they were added.
    pub created_at: String,
    /// When they last changed.
    pub updated_at: String,
}

impl Contact {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, CrmError> {
        let tags: String = row.try_get("tags")?;
        Ok(Self {
            id: row.try_get("id")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            title: row.try_get("title")?,
            company_id: row.try_get("company_id")?,
            company: row.try_get("company")?,
            tags: tags
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// A deal in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Deal {
    /// Id.
    pub id: i64,
    /// What is being sold.
    pub title: String,
    /// The buyer's id.
    pub company_id: i64,
    /// The buyer's name.
    pub company: String,
    /// The main contact's id.
    pub contact_id: Option<i64>,
    /// Pipeline stage.
    pub stage: Stage,
    /// Value, in `currency`.
    pub amount: f64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Expected close date (`YYYY-MM-DD`).
    pub expected_close: Option<String>,
    /// Who owns the deal.
    pub owner: String,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

impl Deal {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, CrmError> {
        let stage: String = row.try_get("stage")?;
        let cents: i64 = row.try_get("amount_cents")?;
        Ok(Self {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            company_id: row.try_get("company_id")?,
            company: row.try_get("company")?,
            contact_id: row.try_get("contact_id")?,
            stage: stage.parse()?,
            amount: cents as f64 / 100.0,
            currency: row.try_get("currency")?,
            expected_close: row.try_get("expected_close")?,
            owner: row.try_get("owner")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// A note, call, e-mail, meeting or task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Activity {
    /// Id.
    pub id: i64,
    /// What kind.
    pub kind: String,
    /// One line.
    pub subject: String,
    /// Details.
    pub body: Option<String>,
    /// The contact it concerns.
    pub contact_id: Option<i64>,
    /// The deal it concerns.
    pub deal_id: Option<i64>,
    /// When it is due (tasks).
    pub due_at: Option<String>,
    /// Whether it is done (tasks).
    pub done: bool,
    /// Who owns it.
    pub owner: String,
    /// When it was logged.
    pub created_at: String,
}

impl Activity {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, CrmError> {
        let done: i64 = row.try_get("done")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
            contact_id: row.try_get("contact_id")?,
            deal_id: row.try_get("deal_id")?,
            due_at: row.try_get("due_at")?,
            done: done != 0,
            owner: row.try_get("owner")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// A contact with what surrounds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ContactDetails {
    /// The contact.
    pub contact: Contact,
    /// Their company.
    pub company: Option<Company>,
    /// Their open deals.
    pub open_deals: Vec<Deal>,
    /// Their ten most recent activities.
    pub recent_activities: Vec<Activity>,
}

/// One stage of the pipeline summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PipelineStage {
    /// The stage.
    pub stage: Stage,
    /// How many deals.
    pub deals: i64,
    /// Their total value.
    pub amount: f64,
}

/// Counts and amounts by stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PipelineSummary {
    /// Every stage, in pipeline order.
    pub stages: Vec<PipelineStage>,
    /// Deals not yet won or lost.
    pub open_deals: i64,
    /// Their total value.
    pub open_amount: f64,
}

/// A task that is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpcomingTask {
    /// The task.
    #[serde(flatten)]
    pub activity: Activity,
    /// The contact's name.
    pub contact_name: Option<String>,
    /// Whether it is past due.
    pub overdue: bool,
}

/// A new contact.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct NewContact {
    /// First name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub first_name: String,
    /// Last name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub last_name: String,
    /// E-mail address.
    #[schema(max_length = 320, pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")]
    pub email: Option<String>,
    /// Phone number.
    #[schema(max_length = 50, pattern = r"^[0-9+() .-]+$")]
    pub phone: Option<String>,
    /// Job title.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// Company name; created if new.
    #[schema(max_length = 200)]
    pub company: Option<String>,
    /// Tags.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
}

impl NewContact {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        limits::check("first_name", &self.first_name, limits::NAME)?;
        limits::check("last_name", &self.last_name, limits::NAME)?;
        limits::check_opt("email", self.email.as_deref(), limits::EMAIL)?;
        limits::check_opt("phone", self.phone.as_deref(), limits::PHONE)?;
        limits::check_opt("title", self.title.as_deref(), limits::NAME)?;
        limits::check_opt("company", self.company.as_deref(), limits::NAME)?;
        limits::check_tags(&self.tags)?;
        non_empty("first_name", &self.first_name)?;
        non_empty("last_name", &self.last_name)?;
        if let Some(email) = &self.email {
            valid_email(email)?;
        }
        if let Some(phone) = &self.phone {
            valid_phone(phone)?;
        }
        Ok(())
    }
}

/// Fields to change on a contact; `None` keeps a field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ContactChange {
    /// First name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub first_name: Option<String>,
    /// Last name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub last_name: Option<String>,
    /// E-mail address.
    #[schema(max_length = 320, pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")]
    pub email: Option<String>,
    /// Phone number.
    #[schema(max_length = 50, pattern = r"^[0-9+() .-]+$")]
    pub phone: Option<String>,
    /// Job title.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// Company name; created if new.
    #[schema(max_length = 200)]
    pub company: Option<String>,
    /// Tags, replacing the old ones.
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
}

impl ContactChange {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        let nothing = self.first_name.is_none()
            && self.last_name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.title.is_none()
            && self.company.is_none()
            && self.tags.is_none();
        if nothing {
            return Err(CrmError::Invalid(
                "nothing to update: give at least one field".into(),
            ));
        }
        limits::check_opt("first_name", self.first_name.as_deref(), limits::NAME)?;
        limits::check_opt("last_name", self.last_name.as_deref(), limits::NAME)?;
        limits::check_opt("email", self.email.as_deref(), limits::EMAIL)?;
        limits::check_opt("phone", self.phone.as_deref(), limits::PHONE)?;
        limits::check_opt("title", self.title.as_deref(), limits::NAME)?;
        limits::check_opt("company", self.company.as_deref(), limits::NAME)?;
        if let Some(tags) = &self.tags {
            limits::check_tags(tags)?;
        }
        if let Some(name) = &self.first_name {
            non_empty("first_name", name)?;
        }
        if let Some(name) = &self.last_name {
            non_empty("last_name", name)?;
        }
        if let Some(email) = &self.email {
            valid_email(email)?;
        }
        if let Some(phone) = &self.phone {
            valid_phone(phone)?;
        }
        Ok(())
    }
}

/// A new deal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewDeal {
    /// What is being sold.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    /// The buyer.
    pub company_id: i64,
    /// The main contact.
    pub contact_id: Option<i64>,
    /// Starting stage (default lead).
    pub stage: Option<Stage>,
    /// Value.
    #[schema(minimum = 0.0, maximum = 1e12)]
    pub amount: f64,
    /// Currency (default USD).
    #[schema(pattern = r"^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// Expected close date (`YYYY-MM-DD`).
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub expected_close: Option<String>,
    /// Owner.
    #[schema(max_length = 100)]
    pub owner: Option<String>,
}

impl NewDeal {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        limits::check("title", &self.title, limits::NAME)?;
        limits::check_opt("currency", self.currency.as_deref(), 3)?;
        limits::check_opt(
            "expected_close",
            self.expected_close.as_deref(),
            limits::DATE,
        )?;
        limits::check_opt("owner", self.owner.as_deref(), limits::OWNER)?;
        non_empty("title", &self.title)?;
        valid_amount(self.amount)?;
        if let Some(currency) = &self.currency {
            valid_currency(currency)?;
        }
        if let Some(date) = &self.expected_close {
            valid_date(date)?;
        }
        Ok(())
    }

    pub(crate) fn amount_cents(&self) -> i64 {
        cents(self.amount)
    }
}

/// An amount in cents; validated amounts are finite and at most 1e12, so
/// they fit.
fn cents(amount: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let cents = (amount * 100.0).round() as i64;
    cents
}

fn valid_amount(amount: f64) -> Result<(), CrmError> {
    if !amount.is_finite() || !(0.0..=1e12).contains(&amount) {
        return Err(CrmError::Invalid(format!(
            "invalid amount {amount}: give a value from 0 to 1000000000000"
        )));
    }
    Ok(())
}

fn valid_currency(currency: &str) -> Result<(), CrmError> {
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(CrmError::Invalid(format!(
            "invalid currency `{currency}`: use a three-letter code such as EUR"
        )));
    }
    Ok(())
}

/// A new activity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewActivity {
    /// What kind.
    pub kind: ActivityKind,
    /// One line.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub subject: String,
    /// Details.
    #[schema(max_length = 10000)]
    pub body: Option<String>,
    /// The contact it concerns.
    pub contact_id: Option<i64>,
    /// The deal it concerns.
    pub deal_id: Option<i64>,
    /// When it is due (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`).
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$")]
    pub due_at: Option<String>,
    /// Owner.
    #[schema(max_length = 100)]
    pub owner: Option<String>,
}

impl NewActivity {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        limits::check("subject", &self.subject, limits::NAME)?;
        limits::check_opt("body", self.body.as_deref(), limits::BODY)?;
        limits::check_opt("due_at", self.due_at.as_deref(), limits::DUE)?;
        limits::check_opt("owner", self.owner.as_deref(), limits::OWNER)?;
        non_empty("subject", &self.subject)?;
        if let Some(due) = &self.due_at {
            valid_due(due)?;
        }
        if self.contact_id.is_none() && self.deal_id.is_none() {
            return Err(CrmError::Invalid(
                "an activity needs a contact_id or a deal_id".into(),
            ));
        }
        Ok(())
    }
}

fn non_empty(field: &str, value: &str) -> Result<(), CrmError> {
    if value.trim().is_empty() {
        return Err(CrmError::Invalid(format!("`{field}` must not be empty")));
    }
    Ok(())
}

fn valid_email(email: &str) -> Result<(), CrmError> {
    let email = email.trim();
    let ok = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..")
    }) && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(CrmError::Invalid(format!(
            "invalid e-mail address `{email}`"
        )))
    }
}

fn valid_phone(phone: &str) -> Result<(), CrmError> {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'));
    if allowed && (5..=20).contains(&digits) {
        Ok(())
    } else {
        Err(CrmError::Invalid(format!("invalid phone number `{phone}`")))
    }
}

/// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SSZ`.
fn valid_due(due: &str) -> Result<(), CrmError> {
    let Some((date, time)) = due.split_at_checked(10) else {
        return valid_date(due);
    };
    valid_date(date)?;
    if time.is_empty() {
        return Ok(());
    }
    let clock = time
        .strip_prefix('T')
        .and_then(|t| t.strip_suffix('Z'))
        .map(|t| t.split(':').map(str::parse::<u32>).collect::<Vec<_>>());
    match clock.as_deref() {
        Some([Ok(h), Ok(m), Ok(s)]) if time.len() == 10 && *h < 24 && *m < 60 && *s < 60 => Ok(()),
        _ => Err(CrmError::Invalid(format!(
            "invalid due time `{due}`: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"
        ))),
    }
}

/// `YYYY-MM-DD` with a real month and day.
fn valid_date(date: &str) -> Result<(), CrmError> {
    let invalid = || CrmError::Invalid(format!("invalid date `{date}`: use YYYY-MM-DD"));
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(invalid());
    };
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return Err(invalid());
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalid()),
    };
    if !(1900..=2200).contains(&year) || day == 0 || day > days {
        return Err(invalid());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert!(valid_date("2026-02-29").is_err());
        assert!(valid_date("2028-02-29").is_ok());
        assert!(valid_date("2026-13-01").is_err());
        assert!(valid_date("soon").is_err());
        assert!(valid_due("2027-01-15").is_ok());
        assert!(valid_due("2027-01-15T09:30:00Z").is_ok());
        assert!(valid_due("2027-01-15T25:00:00Z").is_err());
        assert!(valid_due("2027-01-15garbage").is_err());
        assert!(valid_email("a@b.co").is_ok());
        assert!(valid_email("nope").is_err());
        assert!("won".parse::<Stage>().is_ok());
        assert!("closed".parse::<Stage>().is_err());
    }
}
