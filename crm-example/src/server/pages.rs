//! What the tools return: pages and lists of records, and what they ask.

use mcp_server::prelude::*;

use crate::model::{Company, Contact, Deal, UpcomingTask};

/// One page of contacts.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ContactPage {
    /// How many contacts match in all.
    pub total: i64,
    /// This page.
    pub contacts: Vec<Contact>,
    /// The `offset` of the next page, if there is one.
    pub next_offset: Option<i64>,
}

/// One page of companies.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CompanyPage {
    /// This page.
    pub companies: Vec<Company>,
    /// The `offset` of the next page, if there may be one.
    pub next_offset: Option<i64>,
}

/// A company with its people and deals.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CompanyDetails {
    /// The company.
    pub company: Company,
    /// Its contacts.
    pub contacts: Vec<Contact>,
    /// Its deals, open and closed.
    pub deals: Vec<Deal>,
}

/// Deals.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DealList {
    /// How many.
    pub count: usize,
    /// The deals, soonest expected close first.
    pub deals: Vec<Deal>,
}

/// Tasks that are due.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TaskList {
    /// How many.
    pub count: usize,
    /// The tasks, overdue first.
    pub tasks: Vec<UpcomingTask>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ConfirmDelete {
    /// Delete this contact and their activities?
    pub(super) confirm: bool,
}
