//! Searching, reading, creating, changing and deleting contacts.

use super::*;

impl Db {
    /// Contacts matching `query` in name, e-mail, company or tags, and
    /// having `tag` if given (both taken literally: `%` and `_` match
    /// themselves).
    ///
    /// # Errors
    /// The query or tag is too long, or the database failed.
    pub async fn search_contacts(
        &self,
        query: &str,
        company_id: Option<i64>,
        tag: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Contact>, i64), CrmError> {
        limits::check("query", query, limits::QUERY)?;
        limits::check_opt("tag", tag, limits::TAG)?;
        let pattern = like(query);
        let tag = tag.map(|t| format!("%,{},%", escape_like(&t.trim().to_lowercase())));
        let filter =
            "FROM contacts p LEFT JOIN companies c ON c.tenant = p.tenant AND c.id = p.company_id
             WHERE p.tenant = $1
               AND (LOWER(p.first_name || ' ' || p.last_name) LIKE $2 ESCAPE '\\'
                    OR LOWER(COALESCE(p.email, '')) LIKE $2 ESCAPE '\\'
                    OR LOWER(COALESCE(c.name, '')) LIKE $2 ESCAPE '\\'
                    OR LOWER(p.tags) LIKE $2 ESCAPE '\\')
               AND ($3 IS NULL OR p.company_id = $3)
               AND ($4 IS NULL OR (',' || LOWER(p.tags) || ',') LIKE $4 ESCAPE '\\')";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {filter}"))
            .bind(self.tenant())
            .bind(&pattern)
            .bind(company_id)
            .bind(tag.as_deref())
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT p.*, c.name AS company {filter} ORDER BY p.last_name, p.first_name, p.id LIMIT $5 OFFSET $6"
        ))
        .bind(self.tenant())
        .bind(&pattern)
        .bind(company_id)
        .bind(tag.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let contacts = rows
            .iter()
            .map(Contact::from_row)
            .collect::<Result<_, _>>()?;
        Ok((contacts, total))
    }

    /// One contact.
    ///
    /// # Errors
    /// No such contact, or the database failed.
    pub async fn contact(&self, id: i64) -> Result<Contact, CrmError> {
        self.read_contact(&self.pool, id).await
    }

    /// One contact, through `executor` (the pool, or a transaction).
    pub(super) async fn read_contact<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        id: i64,
    ) -> Result<Contact, CrmError> {
        let row = sqlx::query(
            "SELECT p.*, c.name AS company FROM contacts p LEFT JOIN companies c ON c.tenant = p.tenant AND c.id = p.company_id
             WHERE p.tenant = $1 AND p.id = $2",
        )
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or(CrmError::NotFound { kind: "contact", id })?;
        Contact::from_row(&row)
    }

    /// A contact with its company, open deals and recent activities.
    ///
    /// # Errors
    /// No such contact, or the database failed.
    pub async fn contact_details(&self, id: i64) -> Result<ContactDetails, CrmError> {
        let contact = self.contact(id).await?;
        let company = match contact.company_id {
            Some(company_id) => Some(self.company(company_id).await?),
            None => None,
        };
        let rows = sqlx::query(
            "SELECT d.*, c.name AS company FROM deals d JOIN companies c ON c.tenant = d.tenant AND c.id = d.company_id
             WHERE d.tenant = $1 AND d.contact_id = $2 AND d.stage NOT IN ('won','lost') ORDER BY d.expected_close, d.id",
        )
        .bind(self.tenant())
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let open_deals = rows.iter().map(Deal::from_row).collect::<Result<_, _>>()?;
        let rows = sqlx::query(
            "SELECT * FROM activities WHERE tenant = $1 AND contact_id = $2 ORDER BY created_at DESC, id DESC LIMIT 10",
        )
        .bind(self.tenant())
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let recent_activities = rows
            .iter()
            .map(Activity::from_row)
            .collect::<Result<_, _>>()?;
        Ok(ContactDetails {
            contact,
            company,
            open_deals,
            recent_activities,
        })
    }

    /// Creates a contact (and its company, if new) in one transaction.
    ///
    /// # Errors
    /// Invalid input, a duplicate e-mail, or the database failed.
    pub async fn create_contact(&self, new: &NewContact) -> Result<Contact, CrmError> {
        self.create_contact_once(new, None).await
    }

    /// [`create_contact`](Self::create_contact) under an idempotency key:
    /// a retry with the same key and arguments returns the first call's
    /// result, even while the first call is still running (it waits for
    /// it), and creates nothing. See [`crate::idempotency`].
    ///
    /// # Errors
    /// As `create_contact`; or the key was used by another tool or with
    /// other arguments.
    pub async fn create_contact_once(
        &self,
        new: &NewContact,
        key: Option<&str>,
    ) -> Result<Contact, CrmError> {
        new.validate()?;
        let call = Call::new(key, "create_contact", new)?;
        let mut tx = self.pool.begin().await?;
        if let Some(call) = &call
            && let Some(stored) = call
                .claim(&mut tx, self.tenant(), self.idempotency_ttl)
                .await?
        {
            return idempotency::decode(&stored);
        }
        if let Some(email) = &new.email {
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM contacts WHERE tenant = $1 AND LOWER(email) = LOWER($2)",
            )
            .bind(self.tenant())
            .bind(email.trim())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = taken {
                return Err(CrmError::Conflict(format!(
                    "contact {id} already has the e-mail address {}",
                    email.trim()
                )));
            }
        }
        let company_id = match new
            .company
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(company) => Some(self.company_id_for(&mut tx, company).await?),
            None => None,
        };
        let now = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (first_name, last_name, email, phone, title, company_id, tags, created_at, updated_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id",
        )
        .bind(new.first_name.trim())
        .bind(new.last_name.trim())
        .bind(new.email.as_deref().map(str::trim))
        .bind(new.phone.as_deref().map(str::trim))
        .bind(new.title.as_deref())
        .bind(company_id)
        .bind(normalize_tags(&new.tags))
        .bind(&now)
        .bind(self.tenant())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| email_taken(e, new.email.as_deref()))?;
        // Read back before the commit: what the caller is told is what
        // commits, and a failed read commits nothing.
        let contact = self.read_contact(&mut *tx, id).await?;
        if let Some(call) = &call {
            call.settle(&mut tx, self.tenant(), &contact).await?;
        }
        tx.commit().await?;
        self.purge_now_and_then().await;
        Ok(contact)
    }

    /// Changes the given fields of a contact.
    ///
    /// # Errors
    /// Invalid input, an e-mail address another contact has, or an
    /// unknown id (nothing written), or the database failed.
    pub async fn update_contact(
        &self,
        id: i64,
        change: &crate::model::ContactChange,
    ) -> Result<Contact, CrmError> {
        change.validate()?;
        let mut tx = self.pool.begin().await?;
        if let Some(email) = &change.email {
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM contacts WHERE tenant = $1 AND LOWER(email) = LOWER($2) AND id <> $3",
            )
            .bind(self.tenant())
            .bind(email.trim())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(other) = taken {
                return Err(CrmError::Conflict(format!(
                    "contact {other} already has the e-mail address {}",
                    email.trim()
                )));
            }
        }
        let company_id = match change.company.as_deref().map(str::trim) {
            Some("") | None => None,
            Some(company) => Some(self.company_id_for(&mut tx, company).await?),
        };
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE contacts SET
                first_name = COALESCE($1, first_name),
                last_name = COALESCE($2, last_name),
                email = COALESCE($3, email),
                phone = COALESCE($4, phone),
                title = COALESCE($5, title),
                company_id = COALESCE($6, company_id),
                tags = COALESCE($7, tags),
                updated_at = $8
             WHERE tenant = $9 AND id = $10 RETURNING id",
        )
        .bind(change.first_name.as_deref().map(str::trim))
        .bind(change.last_name.as_deref().map(str::trim))
        .bind(change.email.as_deref().map(str::trim))
        .bind(change.phone.as_deref().map(str::trim))
        .bind(change.title.as_deref())
        .bind(company_id)
        .bind(change.tags.as_ref().map(|t| normalize_tags(t)))
        .bind(now())
        .bind(self.tenant())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| email_taken(e, change.email.as_deref()))?;
        if updated.is_none() {
            return Err(CrmError::NotFound {
                kind: "contact",
                id,
            });
        }
        let contact = self.read_contact(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Deletes a contact and its activities; their deals lose the contact.
    /// Returns the contact as it was.
    ///
    /// # Errors
    /// Unknown id, or the database failed.
    pub async fn delete_contact(&self, id: i64) -> Result<Contact, CrmError> {
        let mut tx = self.pool.begin().await?;
        let contact = self.read_contact(&mut *tx, id).await?;
        sqlx::query("DELETE FROM activities WHERE tenant = $1 AND contact_id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE deals SET contact_id = NULL WHERE tenant = $1 AND contact_id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM contacts WHERE tenant = $1 AND id = $2")
            .bind(self.tenant())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(contact)
    }
}
