//! Sample data for the reports: customers, products, orders with their
//! items, and invoices through 2025, generated the same way on every run.

use sqlx::{Any, Transaction};

use crate::store::{Store, StoreError};

/// The tenants seeded on first run: the default one and two more, so
/// tenant isolation can be seen without loading data.
pub const SEEDED_TENANTS: [&str; 3] = ["default", "acme", "globex"];

const CUSTOMERS: [(&str, &str); 8] = [
    ("Northwind Traders", "US"),
    ("Contoso Retail", "GB"),
    ("Fabrikam Supplies", "DE"),
    ("Tailspin Toys", "FR"),
    ("Wide World Importers", "NL"),
    ("Adventure Works", "US"),
    ("Lamna Healthcare", "SE"),
    ("Coho Vineyard", "ES"),
];

/// sku, name, category, price in cents, stock, reorder level.
const PRODUCTS: [(&str, &str, &str, i64, i64, i64); 10] = [
    ("HW-001", "Cordless drill", "hardware", 8_999, 40, 10),
    ("HW-002", "Socket set", "hardware", 4_550, 6, 8),
    ("HW-003", "Workbench", "hardware", 21_000, 2, 3),
    ("GD-001", "Garden hose 25m", "garden", 2_999, 55, 15),
    ("GD-002", "Pruning shears", "garden", 1_899, 12, 12),
    ("GD-003", "Lawn mower", "garden", 32_900, 4, 5),
    ("OF-001", "Desk lamp", "office", 3_450, 80, 20),
    ("OF-002", "Ergonomic chair", "office", 24_900, 9, 6),
    ("OF-003", "Paper, 5 reams", "office", 2_250, 3, 25),
    ("OF-004", "Monitor arm", "office", 8_900, 30, 10),
];

const STATUSES: [&str; 4] = ["paid", "shipped", "pending", "cancelled"];

/// Days from 1970-01-01 to 2025-01-01.
const YEAR_START: i64 = 20_089;

/// A small deterministic generator (a 64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        i64::try_from((self.0 >> 33) % n.max(1)).unwrap_or(0)
    }
}

/// The date `days` days after 1970-01-01, as `YYYY-MM-DD`.
fn date(days: i64) -> String {
    let epoch = time::OffsetDateTime::UNIX_EPOCH.date();
    // The seed's days are a few decades from 1970, far inside the range.
    let day = epoch
        .checked_add(time::Duration::days(days))
        .unwrap_or(epoch);
    crate::store::date(day)
}

/// Seeds every tenant of [`SEEDED_TENANTS`] when no customer exists yet;
/// returns whether it did.
///
/// # Errors
/// The database failed.
pub async fn seed_if_empty(store: &Store) -> Result<bool, StoreError> {
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(store.pool())
        .await?;
    if customers > 0 {
        return Ok(false);
    }
    let mut tx = store.pool().begin().await?;
    for (n, tenant) in SEEDED_TENANTS.iter().enumerate() {
        seed_tenant(&mut tx, tenant, n as u64).await?;
    }
    tx.commit().await?;
    tracing::info!("seeded the sample report data");
    Ok(true)
}

async fn seed_tenant(
    tx: &mut Transaction<'static, Any>,
    tenant: &str,
    n: u64,
) -> Result<(), StoreError> {
    let mut rng = Lcg(0x5eed + n * 7_919);
    let suffix = if tenant == "default" {
        String::new()
    } else {
        format!(" ({tenant})")
    };
    let mut customers = Vec::new();
    for (i, (name, country)) in CUSTOMERS.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (tenant, name, email, country, created_on) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(tenant)
        .bind(format!("{name}{suffix}"))
        .bind(format!("buyer{i}@{tenant}.example"))
        .bind(*country)
        .bind(date(YEAR_START - 200 + i as i64 * 9))
        .fetch_one(&mut **tx)
        .await?;
        customers.push(id);
    }
    let mut products = Vec::new();
    for (sku, name, category, price, stock, reorder) in PRODUCTS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (tenant, sku, name, category, price_cents, stock, reorder_level)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(tenant)
        .bind(sku)
        .bind(name)
        .bind(category)
        .bind(price)
        .bind(stock + rng.below(4))
        .bind(reorder)
        .fetch_one(&mut **tx)
        .await?;
        products.push((id, price));
    }
    for o in 0..60 {
        let customer = customers[rng.below(customers.len() as u64) as usize];
        let day = YEAR_START + o * 6 + rng.below(6);
        let status = STATUSES[rng.below(STATUSES.len() as u64) as usize];
        let order: i64 = sqlx::query_scalar(
            "INSERT INTO orders (tenant, customer_id, order_date, status) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(tenant)
        .bind(customer)
        .bind(date(day))
        .bind(status)
        .fetch_one(&mut **tx)
        .await?;
        let mut total = 0;
        for _ in 0..=rng.below(3) {
            let (product, price) = products[rng.below(products.len() as u64) as usize];
            let quantity = 1 + rng.below(5);
            total += quantity * price;
            sqlx::query(
                "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)",
            )
            .bind(order)
            .bind(product)
            .bind(quantity)
            .bind(price)
            .execute(&mut **tx)
            .await?;
        }
        if status != "cancelled" {
            // Two in three invoices are paid, ten days after they are issued.
            let paid = (rng.below(3) < 2).then(|| date(day + 10));
            sqlx::query(
                "INSERT INTO invoices (tenant, order_id, customer_id, amount_cents, issued_on, due_on, paid_on)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(tenant)
            .bind(order)
            .bind(customer)
            .bind(total)
            .bind(date(day))
            .bind(date(day + 30))
            .bind(paid)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}
