//! Sample data for a first run: a small B2B sales team's book of business.

use crate::db::{CrmError, Db, days_from_now, now};
use crate::tenant::DEFAULT_TENANT;

mod accounts;
mod activities;
mod deals;

use accounts::{COMPANIES, CONTACTS};
use activities::ACTIVITIES;
use deals::DEALS;

/// Inserts the sample data in one transaction, in the default tenant.
pub(crate) async fn seed(db: &Db) -> Result<(), CrmError> {
    let mut tx = db.pool().begin().await?;
    let now = now();
    let mut company_ids = Vec::new();
    for (name, domain, industry) in COMPANIES {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO companies (tenant, name, domain, industry, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(DEFAULT_TENANT)
        .bind(name)
        .bind(domain)
        .bind(industry)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        company_ids.push(id);
    }
    let mut contact_ids = Vec::new();
    for (first, last, email, phone, title, company, tags) in CONTACTS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (tenant, first_name, last_name, email, phone, title, company_id, tags, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(DEFAULT_TENANT)
        .bind(first)
        .bind(last)
        .bind(email)
        .bind(phone)
        .bind(title)
        .bind(company_ids[*company])
        .bind(tags)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        contact_ids.push(id);
    }
    let mut deal_ids = Vec::new();
    for (title, company, contact, stage, amount, currency, close, owner) in DEALS {
        let close = days_from_now(*close);
        // Amounts are whole currency units, so the cents are exact.
        #[allow(clippy::cast_possible_truncation)]
        let cents = (amount * 100.0).round() as i64;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deals (tenant, title, company_id, contact_id, stage, amount_cents, currency, expected_close, owner, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(DEFAULT_TENANT)
        .bind(title)
        .bind(company_ids[*company])
        .bind(contact_ids[*contact])
        .bind(stage)
        .bind(cents)
        .bind(currency)
        .bind(close.get(..10).unwrap_or(&close))
        .bind(owner)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        deal_ids.push(id);
    }
    for (kind, subject, body, contact, deal, due, owner) in ACTIVITIES {
        sqlx::query(
            "INSERT INTO activities (tenant, kind, subject, body, contact_id, deal_id, due_at, done, owner, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)",
        )
        .bind(DEFAULT_TENANT)
        .bind(kind)
        .bind(subject)
        .bind((!body.is_empty()).then_some(*body))
        .bind(contact_ids[*contact])
        .bind(deal.map(|d| deal_ids[d]))
        .bind(due.map(days_from_now))
        .bind(owner)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(
        companies = COMPANIES.len(),
        contacts = CONTACTS.len(),
        deals = DEALS.len(),
        activities = ACTIVITIES.len(),
        "seeded sample data"
    );
    Ok(())
}
