//! The REST API's reads: lists and single records (read scopes).

use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Id, Params};
use super::openapi::{NotFound, Refusals};
use super::{RestError, TenantDb};
use crate::model::{Activity, Company, Contact, ContactDetails, Deal, Stage};

/// The largest page; larger limits are lowered to it.
const MAX_PAGE: i64 = 200;

fn default_limit() -> i64 {
    50
}

/// Which contacts to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ContactQuery {
    /// Text to look for in the name, e-mail, company name or tags.
    #[serde(default)]
    #[param(max_length = 200)]
    q: String,
    /// Only contacts of this company.
    company_id: Option<i64>,
    /// Only contacts with this tag.
    #[param(max_length = 50)]
    tag: Option<String>,
    /// Page size, 1 to 200 (default 50; others are brought into range).
    #[serde(default = "default_limit")]
    limit: i64,
    /// How many matches to skip (negative counts as 0).
    #[serde(default)]
    offset: i64,
}

/// One page of contacts.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ContactListing {
    /// How many contacts match in all.
    total: i64,
    /// This page.
    contacts: Vec<Contact>,
}

/// Which companies to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CompanyQuery {
    /// Text to look for in the name, domain or industry.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Page size, 1 to 200 (default 50; others are brought into range).
    #[serde(default = "default_limit")]
    limit: i64,
    /// How many to skip (negative counts as 0).
    #[serde(default)]
    offset: i64,
}

/// One page of companies.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CompanyListing {
    /// This page, by name.
    companies: Vec<Company>,
}

/// Which deals to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DealQuery {
    /// Only deals in this stage.
    stage: Option<Stage>,
    /// Only deals of this owner.
    #[param(max_length = 100)]
    owner: Option<String>,
    /// Only deals of this company.
    company_id: Option<i64>,
}

/// Deals.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DealListing {
    /// The deals, soonest expected close first.
    deals: Vec<Deal>,
}

/// Which activities to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ActivityQuery {
    /// Only activities of this contact.
    contact_id: Option<i64>,
    /// Only activities of this deal.
    deal_id: Option<i64>,
    /// Page size, 1 to 200 (default 50; others are brought into range).
    #[serde(default = "default_limit")]
    limit: i64,
    /// How many to skip (negative counts as 0).
    #[serde(default)]
    offset: i64,
}

/// One page of activities.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ActivityListing {
    /// This page, newest first.
    activities: Vec<Activity>,
}

/// Search contacts.
#[utoipa::path(get, path = "/api/contacts", tag = "contacts", params(ContactQuery),
    responses((status = 200, description = "A page of contacts", body = ContactListing), Refusals))]
pub(super) async fn contacts(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Params(q): Params<ContactQuery>,
) -> Result<Json<ContactListing>, RestError> {
    let limit = q.limit.clamp(1, MAX_PAGE);
    let (contacts, total) = db
        .search_contacts(&q.q, q.company_id, q.tag.as_deref(), limit, q.offset.max(0))
        .await?;
    Ok(Json(ContactListing { total, contacts }))
}

/// A contact with their company, open deals and recent activities.
#[utoipa::path(get, path = "/api/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "The contact's id")),
    responses((status = 200, description = "The contact", body = ContactDetails), Refusals, NotFound))]
pub(super) async fn contact(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
) -> Result<Json<ContactDetails>, RestError> {
    Ok(Json(db.contact_details(id).await?))
}

/// List companies.
#[utoipa::path(get, path = "/api/companies", tag = "companies", params(CompanyQuery),
    responses((status = 200, description = "A page of companies", body = CompanyListing), Refusals))]
pub(super) async fn companies(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Params(q): Params<CompanyQuery>,
) -> Result<Json<CompanyListing>, RestError> {
    let limit = q.limit.clamp(1, MAX_PAGE);
    let companies = db
        .list_companies(q.q.as_deref(), limit, q.offset.max(0))
        .await?;
    Ok(Json(CompanyListing { companies }))
}

/// One company.
#[utoipa::path(get, path = "/api/companies/{id}", tag = "companies",
    params(("id" = i64, Path, description = "The company's id")),
    responses((status = 200, description = "The company", body = Company), Refusals, NotFound))]
pub(super) async fn company(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
) -> Result<Json<Company>, RestError> {
    Ok(Json(db.company(id).await?))
}

/// List deals.
#[utoipa::path(get, path = "/api/deals", tag = "deals", params(DealQuery),
    responses((status = 200, description = "The deals", body = DealListing), Refusals))]
pub(super) async fn deals(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Params(q): Params<DealQuery>,
) -> Result<Json<DealListing>, RestError> {
    let deals = db
        .list_deals(q.stage, q.owner.as_deref(), q.company_id)
        .await?;
    Ok(Json(DealListing { deals }))
}

/// One deal.
#[utoipa::path(get, path = "/api/deals/{id}", tag = "deals",
    params(("id" = i64, Path, description = "The deal's id")),
    responses((status = 200, description = "The deal", body = Deal), Refusals, NotFound))]
pub(super) async fn deal(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
) -> Result<Json<Deal>, RestError> {
    Ok(Json(db.deal(id).await?))
}

/// List activities.
#[utoipa::path(get, path = "/api/activities", tag = "activities", params(ActivityQuery),
    responses((status = 200, description = "A page of activities", body = ActivityListing), Refusals))]
pub(super) async fn activities(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Params(q): Params<ActivityQuery>,
) -> Result<Json<ActivityListing>, RestError> {
    let limit = q.limit.clamp(1, MAX_PAGE);
    let activities = db
        .list_activities(q.contact_id, q.deal_id, limit, q.offset.max(0))
        .await?;
    Ok(Json(ActivityListing { activities }))
}

/// One activity.
#[utoipa::path(get, path = "/api/activities/{id}", tag = "activities",
    params(("id" = i64, Path, description = "The activity's id")),
    responses((status = 200, description = "The activity", body = Activity), Refusals, NotFound))]
pub(super) async fn activity(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
) -> Result<Json<Activity>, RestError> {
    Ok(Json(db.activity(id).await?))
}
