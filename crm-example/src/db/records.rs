//! Companies, deals and activities created, changed and deleted one at a
//! time, as the REST API does; the MCP tools' creates are in the parent.

use sqlx::{Any, Executor};

use super::{CrmError, Db, now};
use crate::idempotency::{self, Call};
use crate::model::{
    Activity, ActivityChange, Company, CompanyChange, Deal, DealChange, NewCompany,
};

/// `e`, or a conflict when it is a unique-constraint violation of the
/// company name `name` (a concurrent write took it after the check).
fn name_taken(e: sqlx::Error, name: &str) -> CrmError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            CrmError::Conflict(format!("a company named `{}` already exists", name.trim()))
        }
        _ => e.into(),
    }
}

impl Db {
    // Companies.

    /// Creates a company, under an idempotency key if one is given (as
    /// [`create_contact_once`](Self::create_contact_once)).
    ///
    /// # Errors
    /// Invalid input, a name another company of the tenant has, a key used
    /// for another call, or the database failed.
    pub async fn create_company_once(
        &self,
        new: &NewCompany,
        key: Option<&str>,
    ) -> Result<Company, CrmError> {
        new.validate()?;
        let call = Call::new(key, "create_company", new)?;
        let mut tx = self.pool.begin().await?;
        if let Some(call) = &call
            && let Some(stored) = call
                .claim(&mut tx, self.tenant(), self.idempotency_ttl)
                .await?
        {
            return idempotency::decode(&stored);
        }
        let name = new.name.trim();
        self.company_name_free(&mut *tx, name, None).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO companies (tenant, name, domain, industry, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(self.tenant())
        .bind(name)
        .bind(new.domain.as_deref().map(str::trim))
        .bind(new.industry.as_deref().map(str::trim))
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| name_taken(e, name))?;
        let company = self.read_company(&mut *tx, id).await?;
        if let Some(call) = &call {
            call.settle(&mut tx, self.tenant(), &company).await?;
        }
        tx.commit().await?;
        self.purge_now_and_then().await;
        Ok(company)
    }

    /// Refuses `name` when another company of the tenant (not `except`)
    /// has it, in any case.
    async fn company_name_free<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        name: &str,
        except: Option<i64>,
    ) -> Result<(), CrmError> {
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM companies WHERE tenant = $1 AND LOWER(name) = LOWER($2)
               AND ($3 IS NULL OR id <> $3) LIMIT 1",
        )
        .bind(self.tenant())
        .bind(name)
        .bind(except)
        .fetch_optional(executor)
        .await?;
        match taken {
            Some(other) => Err(CrmError::Conflict(format!(
                "company {other} is already named `{name}`"
            ))),
            None => Ok(()),
        }
    }

    /// Changes the given fields of a company.
    ///
    /// # Errors
    /// Invalid input, a name another company has, an unknown id (nothing
    /// written), or the database failed.
    pub async fn update_company(
        &self,
        id: i64,
        change: &CompanyChange,
    ) -> Result<Company, CrmError> {
        change.validate()?;
        let name = change.name.as_deref().map(str::trim);
        let mut tx = self.pool.begin().await?;
        if let Some(name) = name {
            self.company_name_free(&mut *tx, name, Some(id)).await?;
        }
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE companies SET name = COALESCE($1, name), domain = COALESCE($2, domain),
                industry = COALESCE($3, industry)
             WHERE tenant = $4 AND id = $5 RETURNING id",
        )
        .bind(name)
        .bind(change.domain.as_deref().map(str::trim))
        .bind(change.industry.as_deref().map(str::trim))
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| name_taken(e, name.unwrap_or_default()))?;
        if updated.is_none() {
            return Err(CrmError::NotFound {
                kind: "company",
                id,
            });
        }
        let company = self.read_company(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(company)
    }

    /// Deletes a company that has no contacts and no deals left; returns
    /// it as it was.
    ///
    /// # Errors
    /// Unknown id; contacts or deals still belong to it (a conflict:
    /// delete or move them first); or the database failed.
    pub async fn delete_company(&self, id: i64) -> Result<Company, CrmError> {
        let mut tx = self.pool.begin().await?;
        let company = self.read_company(&mut *tx, id).await?;
        let deals: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deals WHERE tenant = $1 AND company_id = $2")
                .bind(self.tenant())
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if company.contacts > 0 || deals > 0 {
            return Err(CrmError::Conflict(format!(
                "company {id} still has {} contacts and {deals} deals: delete or move them first",
                company.contacts
            )));
        }
        sqlx::query("DELETE FROM companies WHERE tenant = $1 AND id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(company)
    }

    // Deals.

    /// Changes the given fields of a deal.
    ///
    /// # Errors
    /// Invalid input, an unknown deal or contact (nothing written), or the
    /// database failed.
    pub async fn update_deal(&self, id: i64, change: &DealChange) -> Result<Deal, CrmError> {
        change.validate()?;
        let mut tx = self.pool.begin().await?;
        if let Some(contact_id) = change.contact_id {
            self.read_contact(&mut *tx, contact_id).await?;
        }
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE deals SET
                title = COALESCE($1, title),
                contact_id = COALESCE($2, contact_id),
                stage = COALESCE($3, stage),
                amount_cents = COALESCE($4, amount_cents),
                currency = COALESCE($5, currency),
                expected_close = COALESCE($6, expected_close),
                owner = COALESCE($7, owner),
                updated_at = $8
             WHERE tenant = $9 AND id = $10 RETURNING id",
        )
        .bind(change.title.as_deref().map(str::trim))
        .bind(change.contact_id)
        .bind(change.stage.map(crate::model::Stage::as_str))
        .bind(change.amount_cents())
        .bind(change.currency.as_deref().map(str::to_uppercase))
        .bind(change.expected_close.as_deref())
        .bind(change.owner.as_deref().map(str::trim))
        .bind(now())
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if updated.is_none() {
            return Err(CrmError::NotFound { kind: "deal", id });
        }
        let deal = self.read_deal(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(deal)
    }

    /// Deletes a deal and the activities logged against it; returns it as
    /// it was.
    ///
    /// # Errors
    /// Unknown id, or the database failed.
    pub async fn delete_deal(&self, id: i64) -> Result<Deal, CrmError> {
        let mut tx = self.pool.begin().await?;
        let deal = self.read_deal(&mut *tx, id).await?;
        sqlx::query("DELETE FROM activities WHERE tenant = $1 AND deal_id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM deals WHERE tenant = $1 AND id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deal)
    }

    // Activities.

    /// Activities, newest first, optionally of one contact or deal.
    ///
    /// # Errors
    /// The database failed.
    pub async fn list_activities(
        &self,
        contact_id: Option<i64>,
        deal_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Activity>, CrmError> {
        let rows = sqlx::query(
            "SELECT * FROM activities WHERE tenant = $1
               AND ($2 IS NULL OR contact_id = $2) AND ($3 IS NULL OR deal_id = $3)
             ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5",
        )
        .bind(self.tenant())
        .bind(contact_id)
        .bind(deal_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Activity::from_row).collect()
    }

    /// One activity.
    ///
    /// # Errors
    /// No such activity, or the database failed.
    pub async fn activity(&self, id: i64) -> Result<Activity, CrmError> {
        self.read_activity(&self.pool, id).await
    }

    async fn read_activity<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        id: i64,
    ) -> Result<Activity, CrmError> {
        let row = sqlx::query("SELECT * FROM activities WHERE tenant = $1 AND id = $2")
            .bind(self.tenant())
            .bind(id)
            .fetch_optional(executor)
            .await?
            .ok_or(CrmError::NotFound {
                kind: "activity",
                id,
            })?;
        Activity::from_row(&row)
    }

    /// Changes the given fields of an activity.
    ///
    /// # Errors
    /// Invalid input, an unknown id (nothing written), or the database
    /// failed.
    pub async fn update_activity(
        &self,
        id: i64,
        change: &ActivityChange,
    ) -> Result<Activity, CrmError> {
        change.validate()?;
        let mut tx = self.pool.begin().await?;
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE activities SET
                subject = COALESCE($1, subject),
                body = COALESCE($2, body),
                due_at = COALESCE($3, due_at),
                done = COALESCE($4, done),
                owner = COALESCE($5, owner)
             WHERE tenant = $6 AND id = $7 RETURNING id",
        )
        .bind(change.subject.as_deref().map(str::trim))
        .bind(change.body.as_deref())
        .bind(change.due_at.as_deref())
        .bind(change.done.map(i64::from))
        .bind(change.owner.as_deref().map(str::trim))
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if updated.is_none() {
            return Err(CrmError::NotFound {
                kind: "activity",
                id,
            });
        }
        let activity = self.read_activity(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(activity)
    }

    /// Deletes an activity; returns it as it was.
    ///
    /// # Errors
    /// Unknown id, or the database failed.
    pub async fn delete_activity(&self, id: i64) -> Result<Activity, CrmError> {
        let mut tx = self.pool.begin().await?;
        let activity = self.read_activity(&mut *tx, id).await?;
        sqlx::query("DELETE FROM activities WHERE tenant = $1 AND id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(activity)
    }
}
