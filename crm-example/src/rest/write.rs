//! The REST API's writes (write scopes): `POST` creates (honouring an
//! `Idempotency-Key`), `PATCH` changes the fields given, `DELETE` deletes.
//! All go through [`Db`](crate::Db), as the MCP tools do.

use axum::Extension;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::extract::{Body, Id, IdempotencyKey};
use super::openapi::{BodyRefusals, NotFound, Refusals};
use super::{RestError, TenantDb};
use crate::model::{
    Activity, ActivityChange, Company, CompanyChange, Contact, ContactChange, Deal, DealChange,
    NewActivity, NewCompany, NewContact, NewDeal,
};

fn created<T: serde::Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// Create a contact; the company is created if it is new. A retry with the same `Idempotency-Key` and body answers the first result and creates nothing.
#[utoipa::path(post, path = "/api/contacts", tag = "contacts", request_body = NewContact,
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200, description = "Any unique string, at most 200 characters: a retry with the same key and body answers the first result")),
    responses((status = 201, description = "The new contact", body = Contact), Refusals, NotFound, BodyRefusals))]
pub(super) async fn create_contact(
    Extension(TenantDb(db)): Extension<TenantDb>,
    IdempotencyKey(key): IdempotencyKey,
    Body(new): Body<NewContact>,
) -> Result<Response, RestError> {
    Ok(created(db.create_contact_once(&new, key.as_deref()).await?))
}

/// Change a contact's fields; fields left out (or `null`) keep their values.
#[utoipa::path(patch, path = "/api/contacts/{id}", tag = "contacts", request_body = ContactChange,
    params(("id" = i64, Path, description = "The contact's id")),
    responses((status = 200, description = "The contact as changed", body = Contact), Refusals, NotFound, BodyRefusals))]
pub(super) async fn update_contact(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
    Body(change): Body<ContactChange>,
) -> Result<Json<Contact>, RestError> {
    Ok(Json(db.update_contact(id, &change).await?))
}

/// Delete a contact and their activities; their deals lose the contact.
#[utoipa::path(delete, path = "/api/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "The contact's id")),
    responses((status = 204, description = "Deleted"), Refusals, NotFound))]
pub(super) async fn delete_contact(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
) -> Result<StatusCode, RestError> {
    db.delete_contact(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a company. A retry with the same `Idempotency-Key` and body answers the first result and creates nothing.
#[utoipa::path(post, path = "/api/companies", tag = "companies", request_body = NewCompany,
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200, description = "Any unique string, at most 200 characters: a retry with the same key and body answers the first result")),
    responses((status = 201, description = "The new company", body = Company), Refusals, BodyRefusals))]
pub(super) async fn create_company(
    Extension(TenantDb(db)): Extension<TenantDb>,
    IdempotencyKey(key): IdempotencyKey,
    Body(new): Body<NewCompany>,
) -> Result<Response, RestError> {
    Ok(created(db.create_company_once(&new, key.as_deref()).await?))
}

/// Change a company's fields; fields left out (or `null`) keep their values.
#[utoipa::path(patch, path = "/api/companies/{id}", tag = "companies", request_body = CompanyChange,
    params(("id" = i64, Path, description = "The company's id")),
    responses((status = 200, description = "The company as changed", body = Company), Refusals, NotFound, BodyRefusals))]
pub(super) async fn update_company(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
    Body(change): Body<CompanyChange>,
) -> Result<Json<Company>, RestError> {
    Ok(Json(db.update_company(id, &change).await?))
}

/// Delete a company that has no contacts and no deals (409 otherwise).
#[utoipa::path(delete, path = "/api/companies/{id}", tag = "companies",
    params(("id" = i64, Path, description = "The company's id")),
    responses((status = 204, description = "Deleted"),
        (status = 409, description = "Contacts or deals still belong to the company", body = super::openapi::ErrorBody),
        Refusals, NotFound))]
pub(super) async fn delete_company(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
) -> Result<StatusCode, RestError> {
    db.delete_company(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a deal for a company. A retry with the same `Idempotency-Key` and body answers the first result and creates nothing.
#[utoipa::path(post, path = "/api/deals", tag = "deals", request_body = NewDeal,
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200, description = "Any unique string, at most 200 characters: a retry with the same key and body answers the first result")),
    responses((status = 201, description = "The new deal", body = Deal), Refusals, NotFound, BodyRefusals))]
pub(super) async fn create_deal(
    Extension(TenantDb(db)): Extension<TenantDb>,
    IdempotencyKey(key): IdempotencyKey,
    Body(new): Body<NewDeal>,
) -> Result<Response, RestError> {
    Ok(created(db.create_deal_once(&new, key.as_deref()).await?))
}

/// Change a deal's fields, its stage among them; fields left out (or `null`) keep their values.
#[utoipa::path(patch, path = "/api/deals/{id}", tag = "deals", request_body = DealChange,
    params(("id" = i64, Path, description = "The deal's id")),
    responses((status = 200, description = "The deal as changed", body = Deal), Refusals, NotFound, BodyRefusals))]
pub(super) async fn update_deal(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
    Body(change): Body<DealChange>,
) -> Result<Json<Deal>, RestError> {
    Ok(Json(db.update_deal(id, &change).await?))
}

/// Delete a deal and the activities logged against it.
#[utoipa::path(delete, path = "/api/deals/{id}", tag = "deals",
    params(("id" = i64, Path, description = "The deal's id")),
    responses((status = 204, description = "Deleted"), Refusals, NotFound))]
pub(super) async fn delete_deal(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
) -> Result<StatusCode, RestError> {
    db.delete_deal(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log a note, call, e-mail, meeting or task against a contact or deal. A retry with the same `Idempotency-Key` and body answers the first result and creates nothing.
#[utoipa::path(post, path = "/api/activities", tag = "activities", request_body = NewActivity,
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200, description = "Any unique string, at most 200 characters: a retry with the same key and body answers the first result")),
    responses((status = 201, description = "The new activity", body = Activity), Refusals, NotFound, BodyRefusals))]
pub(super) async fn create_activity(
    Extension(TenantDb(db)): Extension<TenantDb>,
    IdempotencyKey(key): IdempotencyKey,
    Body(new): Body<NewActivity>,
) -> Result<Response, RestError> {
    Ok(created(db.log_activity_once(&new, key.as_deref()).await?))
}

/// Change an activity's fields (a task's `done` among them); fields left out (or `null`) keep their values.
#[utoipa::path(patch, path = "/api/activities/{id}", tag = "activities", request_body = ActivityChange,
    params(("id" = i64, Path, description = "The activity's id")),
    responses((status = 200, description = "The activity as changed", body = Activity), Refusals, NotFound, BodyRefusals))]
pub(super) async fn update_activity(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
    Body(change): Body<ActivityChange>,
) -> Result<Json<Activity>, RestError> {
    Ok(Json(db.update_activity(id, &change).await?))
}

/// Delete an activity.
#[utoipa::path(delete, path = "/api/activities/{id}", tag = "activities",
    params(("id" = i64, Path, description = "The activity's id")),
    responses((status = 204, description = "Deleted"), Refusals, NotFound))]
pub(super) async fn delete_activity(
    Extension(TenantDb(db)): Extension<TenantDb>,
    Id(id): Id,
) -> Result<StatusCode, RestError> {
    db.delete_activity(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
