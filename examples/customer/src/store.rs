//! The customer table: its schema, sample rows, queries and input checks.

use super::*;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    status TEXT DEFAULT 'active' CHECK(status IN ('active','disabled')),
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
)";

const SAMPLE: [(&str, &str, &str, &str); 10] = [
    (
        "Ada Lovelace",
        "ada@analytical.example",
        "+44 20 7946 0001",
        "active",
    ),
    (
        "Alan Turing",
        "alan@bletchley.example",
        "+44 20 7946 0002",
        "active",
    ),
    (
        "Grace Hopper",
        "grace@cobol.example",
        "+1 202 555 0103",
        "active",
    ),
    (
        "Katherine Johnson",
        "katherine@nasa.example",
        "+1 757 555 0104",
        "active",
    ),
    (
        "Edsger Dijkstra",
        "edsger@eindhoven.example",
        "+31 40 555 0105",
        "disabled",
    ),
    (
        "Barbara Liskov",
        "barbara@mit.example",
        "+1 617 555 0106",
        "active",
    ),
    (
        "Donald Knuth",
        "don@stanford.example",
        "+1 650 555 0107",
        "active",
    ),
    (
        "Margaret Hamilton",
        "margaret@apollo.example",
        "+1 617 555 0108",
        "active",
    ),
    (
        "Tim Berners-Lee",
        "tim@cern.example",
        "+41 22 555 0109",
        "disabled",
    ),
    (
        "Radia Perlman",
        "radia@spanning.example",
        "+1 425 555 0110",
        "active",
    ),
];

/// The customer database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, creates the table,
    /// and seeds ten sample customers into an empty one. `:memory:` opens a
    /// database in memory instead, gone when the process exits.
    ///
    /// # Errors
    /// The directory or the database could not be created or opened.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, CustomerError> {
        let path = path.as_ref();
        let pool = if path == Path::new(":memory:") {
            // Each connection to `:memory:` would open its own empty
            // database: one connection, never let go, holds the data.
            let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    CustomerError::Invalid(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .foreign_keys(true);
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?
        };
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), CustomerError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(SCHEMA).execute(&mut *tx).await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM customers")
            .fetch_one(&mut *tx)
            .await?;
        if count == 0 {
            for (name, email, phone, status) in SAMPLE {
                sqlx::query(
                    "INSERT INTO customers (name, email, phone, status) VALUES (?, ?, ?, ?)",
                )
                .bind(name)
                .bind(email)
                .bind(phone)
                .bind(status)
                .execute(&mut *tx)
                .await?;
            }
            tracing::info!("seeded {} sample customers", SAMPLE.len());
        }
        tx.commit().await?;
        Ok(())
    }

    /// One customer.
    ///
    /// # Errors
    /// No such customer, or the database failed.
    pub async fn get(&self, id: i64) -> Result<Customer, CustomerError> {
        sqlx::query_as("SELECT * FROM customers WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(CustomerError::NotFound(id))
    }

    /// Every customer, or those with `status`, by id.
    ///
    /// # Errors
    /// The database failed.
    pub async fn list(&self, status: Option<Status>) -> Result<Vec<Customer>, CustomerError> {
        let customers = match status {
            Some(status) => {
                sqlx::query_as("SELECT * FROM customers WHERE status = ? ORDER BY id")
                    .bind(status.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_as("SELECT * FROM customers ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(customers)
    }

    /// Adds a customer after checking the input.
    ///
    /// # Errors
    /// Invalid input (nothing written), or the database failed.
    pub async fn add(
        &self,
        name: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Customer, CustomerError> {
        let name = valid_name(name)?;
        let email = email.map(valid_email).transpose()?;
        let phone = phone.map(valid_phone).transpose()?;
        let mut tx = self.pool.begin().await?;
        let customer = sqlx::query_as(
            "INSERT INTO customers (name, email, phone) VALUES (?, ?, ?) RETURNING *",
        )
        .bind(name)
        .bind(email)
        .bind(phone)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Changes the given fields of a customer after checking all of them.
    ///
    /// # Errors
    /// Invalid input or unknown id (nothing written), or the database failed.
    pub async fn update(&self, id: i64, change: Change<'_>) -> Result<Customer, CustomerError> {
        let name = change.name.map(valid_name).transpose()?;
        let email = change.email.map(valid_email).transpose()?;
        let phone = change.phone.map(valid_phone).transpose()?;
        if name.is_none() && email.is_none() && phone.is_none() && change.status.is_none() {
            return Err(CustomerError::Invalid(
                "nothing to update: give at least one of name, email, phone, status".into(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let updated: Option<Customer> = sqlx::query_as(
            "UPDATE customers SET
                name = COALESCE(?, name),
                email = COALESCE(?, email),
                phone = COALESCE(?, phone),
                status = COALESCE(?, status),
                updated_at = datetime('now')
             WHERE id = ? RETURNING *",
        )
        .bind(name)
        .bind(email)
        .bind(phone)
        .bind(change.status.map(Status::as_str))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let customer = updated.ok_or(CustomerError::NotFound(id))?;
        tx.commit().await?;
        Ok(customer)
    }
}

/// The fields `update_customer` may change; `None` keeps a field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Change<'a> {
    /// A new name.
    pub name: Option<&'a str>,
    /// A new e-mail address.
    pub email: Option<&'a str>,
    /// A new phone number.
    pub phone: Option<&'a str>,
    /// A new status.
    pub status: Option<Status>,
}

fn valid_name(name: &str) -> Result<&str, CustomerError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CustomerError::Invalid("the name must not be empty".into()));
    }
    if name.chars().count() > 200 {
        return Err(CustomerError::Invalid(
            "the name is longer than 200 characters".into(),
        ));
    }
    Ok(name)
}

fn valid_email(email: &str) -> Result<&str, CustomerError> {
    let email = email.trim();
    let invalid = || CustomerError::Invalid(format!("invalid e-mail address `{email}`"));
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty()
        || !domain_ok
        || email.len() > 254
        || email.chars().any(char::is_whitespace)
        || domain.contains('@')
    {
        return Err(invalid());
    }
    Ok(email)
}

fn valid_phone(phone: &str) -> Result<&str, CustomerError> {
    let phone = phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'));
    if !allowed || !(5..=20).contains(&digits) {
        return Err(CustomerError::Invalid(format!(
            "invalid phone number `{phone}`: use digits, spaces and + - ( ) ."
        )));
    }
    Ok(phone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked() {
        assert!(valid_email("ada@example.com").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@example..com",
        ] {
            assert!(valid_email(bad).is_err(), "{bad}");
        }
        assert!(valid_phone("+44 20 7946 0001").is_ok());
        assert!(valid_phone("call me").is_err());
        assert!(valid_phone("12").is_err());
        assert!(valid_name("  ").is_err());
        assert_eq!(valid_name(" Ada ").unwrap(), "Ada");
        assert!("gone".parse::<Status>().is_err());
    }
}
