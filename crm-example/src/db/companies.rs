//! Reading companies (their creates and changes are in `records`).

use super::*;

impl Db {
    /// Companies whose name, domain or industry contains `query` (taken
    /// literally: `%` and `_` match themselves).
    ///
    /// # Errors
    /// The query is too long, or the database failed.
    pub async fn list_companies(
        &self,
        query: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Company>, CrmError> {
        limits::check_opt("query", query, limits::QUERY)?;
        let pattern = like(query.unwrap_or(""));
        let rows = sqlx::query(&format!(
            "{COMPANY} WHERE c.tenant = $1
               AND (LOWER(c.name) LIKE $2 ESCAPE '\\' OR LOWER(COALESCE(c.domain, '')) LIKE $2 ESCAPE '\\'
                    OR LOWER(COALESCE(c.industry, '')) LIKE $2 ESCAPE '\\')
             ORDER BY c.name LIMIT $3 OFFSET $4"
        ))
        .bind(self.tenant())
        .bind(pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Company::from_row).collect()
    }

    /// One company.
    ///
    /// # Errors
    /// No such company, or the database failed.
    pub async fn company(&self, id: i64) -> Result<Company, CrmError> {
        self.read_company(&self.pool, id).await
    }

    /// One company, through `executor` (the pool, or a transaction).
    pub(super) async fn read_company<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        id: i64,
    ) -> Result<Company, CrmError> {
        let row = sqlx::query(&format!("{COMPANY} WHERE c.tenant = $1 AND c.id = $2"))
            .bind(self.tenant())
            .bind(id)
            .fetch_optional(executor)
            .await?
            .ok_or(CrmError::NotFound {
                kind: "company",
                id,
            })?;
        Company::from_row(&row)
    }

    /// Finds or creates a company of this tenant by name, inside `tx`.
    pub(super) async fn company_id_for(
        &self,
        tx: &mut AnyConnection,
        name: &str,
    ) -> Result<i64, CrmError> {
        let find = async |tx: &mut AnyConnection| -> Result<Option<i64>, CrmError> {
            Ok(sqlx::query_scalar(
                "SELECT id FROM companies WHERE tenant = $1 AND LOWER(name) = LOWER($2) ORDER BY id LIMIT 1",
            )
            .bind(self.tenant())
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?)
        };
        if let Some(id) = find(&mut *tx).await? {
            return Ok(id);
        }
        // Concurrent calls may create the same company: the one that
        // loses the race (PostgreSQL makes it wait for the winner's commit)
        // inserts nothing and finds the winner's row instead.
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO companies (tenant, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, name) DO NOTHING RETURNING id",
        )
        .bind(self.tenant())
        .bind(name)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?;
        match created {
            Some(id) => Ok(id),
            None => find(tx).await?.ok_or_else(|| {
                CrmError::Conflict(format!(
                    "company `{name}` is being changed by another request: retry"
                ))
            }),
        }
    }
}

/// A company with its counts; callers add `WHERE` (the alias is `c`).
const COMPANY: &str = "SELECT c.id, c.name, c.domain, c.industry, c.created_at,
        (SELECT COUNT(*) FROM contacts p WHERE p.tenant = c.tenant AND p.company_id = c.id) AS contacts,
        (SELECT COUNT(*) FROM deals d WHERE d.tenant = c.tenant AND d.company_id = c.id AND d.stage NOT IN ('won','lost')) AS open_deals
     FROM companies c";
