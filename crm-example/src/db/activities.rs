//! Activities and upcoming tasks.

use super::*;

impl Db {
    /// Records an activity.
    ///
    /// # Errors
    /// Invalid input or unknown contact or deal, or the database failed.
    pub async fn log_activity(&self, new: &NewActivity) -> Result<Activity, CrmError> {
        self.log_activity_once(new, None).await
    }

    /// [`log_activity`](Self::log_activity) under an idempotency key, as
    /// [`create_contact_once`](Self::create_contact_once).
    ///
    /// # Errors
    /// As `log_activity`; or the key was used by another tool or with
    /// other arguments.
    pub async fn log_activity_once(
        &self,
        new: &NewActivity,
        key: Option<&str>,
    ) -> Result<Activity, CrmError> {
        new.validate()?;
        let call = Call::new(key, "log_activity", new)?;
        let mut tx = self.pool.begin().await?;
        if let Some(call) = &call
            && let Some(stored) = call
                .claim(&mut tx, self.tenant(), self.idempotency_ttl)
                .await?
        {
            return idempotency::decode(&stored);
        }
        if let Some(contact_id) = new.contact_id {
            self.read_contact(&mut *tx, contact_id).await?;
        }
        if let Some(deal_id) = new.deal_id {
            self.read_deal(&mut *tx, deal_id).await?;
        }
        let row = sqlx::query(
            "INSERT INTO activities (kind, subject, body, contact_id, deal_id, due_at, done, owner, created_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) RETURNING *",
        )
        .bind(new.kind.as_str())
        .bind(new.subject.trim())
        .bind(new.body.as_deref())
        .bind(new.contact_id)
        .bind(new.deal_id)
        .bind(new.due_at.as_deref())
        .bind(new.owner.as_deref().unwrap_or("unassigned"))
        .bind(now())
        .bind(self.tenant())
        .fetch_one(&mut *tx)
        .await?;
        let activity = Activity::from_row(&row)?;
        if let Some(call) = &call {
            call.settle(&mut tx, self.tenant(), &activity).await?;
        }
        tx.commit().await?;
        self.purge_now_and_then().await;
        Ok(activity)
    }

    /// Open tasks due within `days`, overdue ones first.
    ///
    /// # Errors
    /// The database failed.
    pub async fn upcoming_tasks(
        &self,
        days: i64,
        owner: Option<&str>,
    ) -> Result<Vec<UpcomingTask>, CrmError> {
        let rows = sqlx::query(
            "SELECT a.*, p.first_name || ' ' || p.last_name AS contact_name
             FROM activities a LEFT JOIN contacts p ON p.tenant = a.tenant AND p.id = a.contact_id
             WHERE a.tenant = $1 AND a.kind = 'task' AND a.done = 0 AND a.due_at IS NOT NULL AND a.due_at <= $2
               AND ($3 IS NULL OR LOWER(a.owner) = LOWER($3))
             ORDER BY a.due_at, a.id",
        )
        .bind(self.tenant())
        .bind(days_from_now(days))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        let now = now();
        rows.iter()
            .map(|row| {
                let activity = Activity::from_row(row)?;
                let overdue = activity.due_at.as_deref().is_some_and(|d| d < now.as_str());
                Ok(UpcomingTask {
                    contact_name: row.try_get("contact_name")?,
                    overdue,
                    activity,
                })
            })
            .collect()
    }
}
