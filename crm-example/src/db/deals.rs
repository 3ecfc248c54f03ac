//! Deals and the pipeline summary.

use super::*;

impl Db {
    /// Deals, optionally by stage and owner, soonest expected close first.
    ///
    /// # Errors
    /// The database failed.
    pub async fn list_deals(
        &self,
        stage: Option<Stage>,
        owner: Option<&str>,
        company_id: Option<i64>,
    ) -> Result<Vec<Deal>, CrmError> {
        let rows = sqlx::query(
            "SELECT d.*, c.name AS company FROM deals d JOIN companies c ON c.tenant = d.tenant AND c.id = d.company_id
             WHERE d.tenant = $1
               AND ($2 IS NULL OR d.stage = $2) AND ($3 IS NULL OR LOWER(d.owner) = LOWER($3))
               AND ($4 IS NULL OR d.company_id = $4)
             ORDER BY d.expected_close, d.id",
        )
        .bind(self.tenant())
        .bind(stage.map(Stage::as_str))
        .bind(owner)
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Deal::from_row).collect()
    }

    /// One deal.
    ///
    /// # Errors
    /// No such deal, or the database failed.
    pub async fn deal(&self, id: i64) -> Result<Deal, CrmError> {
        self.read_deal(&self.pool, id).await
    }

    /// One deal, through `executor` (the pool, or a transaction).
    pub(super) async fn read_deal<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        id: i64,
    ) -> Result<Deal, CrmError> {
        let row = sqlx::query(
            "SELECT d.*, c.name AS company FROM deals d JOIN companies c ON c.tenant = d.tenant AND c.id = d.company_id
             WHERE d.tenant = $1 AND d.id = $2",
        )
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or(CrmError::NotFound { kind: "deal", id })?;
        Deal::from_row(&row)
    }

    /// Creates a deal.
    ///
    /// # Errors
    /// Invalid input or unknown company or contact, or the database failed.
    pub async fn create_deal(&self, new: &NewDeal) -> Result<Deal, CrmError> {
        self.create_deal_once(new, None).await
    }

    /// [`create_deal`](Self::create_deal) under an idempotency key, as
    /// [`create_contact_once`](Self::create_contact_once).
    ///
    /// # Errors
    /// As `create_deal`; or the key was used by another tool or with other
    /// arguments.
    pub async fn create_deal_once(
        &self,
        new: &NewDeal,
        key: Option<&str>,
    ) -> Result<Deal, CrmError> {
        new.validate()?;
        let call = Call::new(key, "create_deal", new)?;
        let mut tx = self.pool.begin().await?;
        if let Some(call) = &call
            && let Some(stored) = call
                .claim(&mut tx, self.tenant(), self.idempotency_ttl)
                .await?
        {
            return idempotency::decode(&stored);
        }
        self.read_company(&mut *tx, new.company_id).await?;
        if let Some(contact_id) = new.contact_id {
            self.read_contact(&mut *tx, contact_id).await?;
        }
        let now = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deals (title, company_id, contact_id, stage, amount_cents, currency, expected_close, owner, created_at, updated_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id",
        )
        .bind(new.title.trim())
        .bind(new.company_id)
        .bind(new.contact_id)
        .bind(new.stage.unwrap_or(Stage::Lead).as_str())
        .bind(new.amount_cents())
        .bind(new.currency.as_deref().unwrap_or("USD").to_uppercase())
        .bind(new.expected_close.as_deref())
        .bind(new.owner.as_deref().unwrap_or("unassigned"))
        .bind(&now)
        .bind(self.tenant())
        .fetch_one(&mut *tx)
        .await?;
        let deal = self.read_deal(&mut *tx, id).await?;
        if let Some(call) = &call {
            call.settle(&mut tx, self.tenant(), &deal).await?;
        }
        tx.commit().await?;
        self.purge_now_and_then().await;
        Ok(deal)
    }

    /// Moves a deal to another stage.
    ///
    /// # Errors
    /// Unknown deal, or the database failed.
    pub async fn update_deal_stage(&self, id: i64, stage: Stage) -> Result<Deal, CrmError> {
        let mut tx = self.pool.begin().await?;
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE deals SET stage = $1, updated_at = $2 WHERE tenant = $3 AND id = $4 RETURNING id",
        )
        .bind(stage.as_str())
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

    /// Counts and amounts per stage, in pipeline order.
    ///
    /// # Errors
    /// The database failed.
    pub async fn pipeline_summary(&self) -> Result<PipelineSummary, CrmError> {
        let rows = sqlx::query(
            "SELECT stage, COUNT(*) AS deals, CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS amount_cents
             FROM deals WHERE tenant = $1 GROUP BY stage",
        )
        .bind(self.tenant())
        .fetch_all(&self.pool)
        .await?;
        let mut stages: Vec<PipelineStage> = Stage::ALL
            .iter()
            .map(|stage| PipelineStage {
                stage: *stage,
                deals: 0,
                amount: 0.0,
            })
            .collect();
        for row in rows {
            let stage: String = row.try_get("stage")?;
            let Ok(stage) = stage.parse::<Stage>() else {
                continue;
            };
            if let Some(entry) = stages.iter_mut().find(|s| s.stage == stage) {
                entry.deals = row.try_get("deals")?;
                let cents: i64 = row.try_get("amount_cents")?;
                entry.amount = cents as f64 / 100.0;
            }
        }
        let open: Vec<&PipelineStage> = stages.iter().filter(|s| s.stage.is_open()).collect();
        Ok(PipelineSummary {
            open_deals: open.iter().map(|s| s.deals).sum(),
            open_amount: open.iter().map(|s| s.amount).sum(),
            stages,
        })
    }
}
