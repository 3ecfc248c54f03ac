//! The report templates: named, parameterised, read-only queries over the
//! sample schema. The model picks a template and gives its arguments; it
//! never writes SQL. Every parameter is bound (`$n`), never spliced into
//! the text, and `$1` is always the caller's tenant.

use serde::Serialize;

/// What a parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// A date, `YYYY-MM-DD`.
    Date,
    /// Text.
    Text,
    /// A whole number.
    Integer,
}

/// One parameter of a template.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ParamSpec {
    /// Its name, as the tool's argument.
    pub name: &'static str,
    /// What it holds.
    pub kind: ParamKind,
    /// What it means.
    pub description: &'static str,
    /// Its value when the argument is left out.
    pub default: Option<&'static str>,
}

/// A bound value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Param {
    /// Text (dates are text too).
    Text(String),
    /// A whole number.
    Integer(i64),
}

/// A named, read-only query.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Template {
    /// Its name, which is also its tool's.
    pub name: &'static str,
    /// A title for people.
    pub title: &'static str,
    /// What it reports.
    pub description: &'static str,
    /// Its SQL on SQLite.
    pub sqlite: &'static str,
    /// Its SQL on PostgreSQL.
    pub postgres: &'static str,
    /// Its parameters after the tenant (`$1`), as `$2`, `$3`...
    pub params: &'static [ParamSpec],
    /// The columns of its rows, in order.
    pub columns: &'static [&'static str],
}

const fn param(
    name: &'static str,
    kind: ParamKind,
    description: &'static str,
    default: Option<&'static str>,
) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        description,
        default,
    }
}

const START: ParamSpec = param(
    "start_date",
    ParamKind::Date,
    "First order date included (YYYY-MM-DD).",
    Some("0001-01-01"),
);
const END: ParamSpec = param(
    "end_date",
    ParamKind::Date,
    "Last order date included (YYYY-MM-DD).",
    Some("9999-12-31"),
);

const SALES_BY_MONTH_SQL: &str = "\
SELECT SUBSTR(o.order_date, 1, 7) AS month, COUNT(DISTINCT o.id) AS orders,
       CAST(SUM(i.quantity * i.unit_price_cents) AS BIGINT) AS revenue_cents
FROM orders o JOIN order_items i ON i.order_id = o.id
WHERE o.tenant = $1 AND o.status <> 'cancelled' AND o.order_date >= $2 AND o.order_date <= $3
GROUP BY SUBSTR(o.order_date, 1, 7)
ORDER BY month";

const TOP_CUSTOMERS_SQL: &str = "\
SELECT c.id AS customer_id, c.name, c.country, COUNT(DISTINCT o.id) AS orders,
       CAST(SUM(i.quantity * i.unit_price_cents) AS BIGINT) AS revenue_cents
FROM customers c
JOIN orders o ON o.customer_id = c.id AND o.tenant = c.tenant
JOIN order_items i ON i.order_id = o.id
WHERE c.tenant = $1 AND o.status <> 'cancelled' AND o.order_date >= $2 AND o.order_date <= $3
GROUP BY c.id, c.name, c.country
ORDER BY revenue_cents DESC, c.id
LIMIT $4";

const PRODUCT_SALES_SQL: &str = "\
SELECT p.sku, p.name, p.category, CAST(SUM(i.quantity) AS BIGINT) AS units,
       CAST(SUM(i.quantity * i.unit_price_cents) AS BIGINT) AS revenue_cents
FROM products p
JOIN order_items i ON i.product_id = p.id
JOIN orders o ON o.id = i.order_id AND o.tenant = p.tenant
WHERE p.tenant = $1 AND o.status <> 'cancelled' AND ($2 = '' OR p.category = $2)
  AND o.order_date >= $3 AND o.order_date <= $4
GROUP BY p.sku, p.name, p.category
ORDER BY revenue_cents DESC, p.sku";

const OVERDUE_SQLITE: &str = "\
SELECT v.id AS invoice_id, c.name AS customer, v.amount_cents, v.due_on,
       CAST(julianday($2) - julianday(v.due_on) AS BIGINT) AS days_overdue
FROM invoices v JOIN customers c ON c.id = v.customer_id AND c.tenant = v.tenant
WHERE v.tenant = $1 AND v.paid_on IS NULL AND v.due_on < $2
  AND CAST(julianday($2) - julianday(v.due_on) AS BIGINT) >= $3
ORDER BY days_overdue DESC, v.id";

const OVERDUE_POSTGRES: &str = "\
SELECT v.id AS invoice_id, c.name AS customer, v.amount_cents, v.due_on,
       CAST(CAST($2 AS date) - CAST(v.due_on AS date) AS BIGINT) AS days_overdue
FROM invoices v JOIN customers c ON c.id = v.customer_id AND c.tenant = v.tenant
WHERE v.tenant = $1 AND v.paid_on IS NULL AND v.due_on < $2
  AND CAST(CAST($2 AS date) - CAST(v.due_on AS date) AS BIGINT) >= $3
ORDER BY days_overdue DESC, v.id";

const CUSTOMER_ORDERS_SQL: &str = "\
SELECT o.id AS order_id, o.order_date, o.status, COUNT(i.id) AS items,
       CAST(COALESCE(SUM(i.quantity * i.unit_price_cents), 0) AS BIGINT) AS total_cents
FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
WHERE o.tenant = $1 AND o.customer_id = $2 AND ($3 = '' OR o.status = $3)
GROUP BY o.id, o.order_date, o.status
ORDER BY o.order_date DESC, o.id DESC";

const LOW_STOCK_SQL: &str = "\
SELECT p.sku, p.name, p.category, p.stock, p.reorder_level, p.reorder_level - p.stock AS shortfall
FROM products p
WHERE p.tenant = $1 AND p.stock <= p.reorder_level AND ($2 = '' OR p.category = $2)
ORDER BY shortfall DESC, p.sku";

/// Revenue and order count per month.
pub const SALES_BY_MONTH: Template = Template {
    name: "sales_by_month",
    title: "Sales by month",
    description: "Orders and revenue (in cents) per calendar month, cancelled orders excluded.",
    sqlite: SALES_BY_MONTH_SQL,
    postgres: SALES_BY_MONTH_SQL,
    params: &[START, END],
    columns: &["month", "orders", "revenue_cents"],
};

/// The customers who spent most.
pub const TOP_CUSTOMERS: Template = Template {
    name: "top_customers",
    title: "Top customers",
    description: "Customers ranked by revenue (in cents) over a date range.",
    sqlite: TOP_CUSTOMERS_SQL,
    postgres: TOP_CUSTOMERS_SQL,
    params: &[
        START,
        END,
        param(
            "limit",
            ParamKind::Integer,
            "How many customers (1-100).",
            Some("10"),
        ),
    ],
    columns: &["customer_id", "name", "country", "orders", "revenue_cents"],
};

/// Units and revenue per product.
pub const PRODUCT_SALES: Template = Template {
    name: "product_sales",
    title: "Product sales",
    description: "Units sold and revenue (in cents) per product, optionally in one category.",
    sqlite: PRODUCT_SALES_SQL,
    postgres: PRODUCT_SALES_SQL,
    params: &[
        param(
            "category",
            ParamKind::Text,
            "Only this category (empty: all).",
            Some(""),
        ),
        START,
        END,
    ],
    columns: &["sku", "name", "category", "units", "revenue_cents"],
};

/// Unpaid invoices past their due date.
pub const OVERDUE_INVOICES: Template = Template {
    name: "overdue_invoices",
    title: "Overdue invoices",
    description: "Unpaid invoices past due on a given day, most overdue first.",
    sqlite: OVERDUE_SQLITE,
    postgres: OVERDUE_POSTGRES,
    params: &[
        param(
            "as_of",
            ParamKind::Date,
            "The day to measure from (YYYY-MM-DD).",
            None,
        ),
        param(
            "min_days_overdue",
            ParamKind::Integer,
            "Only invoices at least this many days overdue.",
            Some("1"),
        ),
    ],
    columns: &[
        "invoice_id",
        "customer",
        "amount_cents",
        "due_on",
        "days_overdue",
    ],
};

/// One customer's orders.
pub const CUSTOMER_ORDERS: Template = Template {
    name: "customer_orders",
    title: "Customer orders",
    description: "A customer's orders with item count and total (in cents), newest first.",
    sqlite: CUSTOMER_ORDERS_SQL,
    postgres: CUSTOMER_ORDERS_SQL,
    params: &[
        param(
            "customer_id",
            ParamKind::Integer,
            "The customer's id.",
            None,
        ),
        param(
            "status",
            ParamKind::Text,
            "Only orders in this status: pending, paid, shipped or cancelled (empty: all).",
            Some(""),
        ),
    ],
    columns: &["order_id", "order_date", "status", "items", "total_cents"],
};

/// Products at or below their reorder level.
pub const LOW_STOCK: Template = Template {
    name: "low_stock",
    title: "Low stock",
    description: "Products whose stock is at or below their reorder level, largest shortfall first.",
    sqlite: LOW_STOCK_SQL,
    postgres: LOW_STOCK_SQL,
    params: &[param(
        "category",
        ParamKind::Text,
        "Only this category (empty: all).",
        Some(""),
    )],
    columns: &[
        "sku",
        "name",
        "category",
        "stock",
        "reorder_level",
        "shortfall",
    ],
};

/// Every template, in the order they are listed.
pub const TEMPLATES: &[Template] = &[
    SALES_BY_MONTH,
    TOP_CUSTOMERS,
    PRODUCT_SALES,
    OVERDUE_INVOICES,
    CUSTOMER_ORDERS,
    LOW_STOCK,
];

/// The template named `name`.
pub fn find(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// Checks a `YYYY-MM-DD` date argument: the form, and that the day exists
/// in its month (PostgreSQL refuses `2025-02-30`, SQLite would compare it
/// as text, so both must never see one).
pub(crate) fn check_date(name: &str, value: &str) -> Result<(), String> {
    if is_calendar_date(value) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` must be a date written YYYY-MM-DD, a day that exists"
        ))
    }
}

fn is_calendar_date(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| value[range].parse::<u32>().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_selects_with_a_placeholder_per_parameter() {
        assert_eq!(TEMPLATES.len(), 6);
        for t in TEMPLATES {
            for sql in [t.sqlite, t.postgres] {
                assert!(sql.starts_with("SELECT "), "{}", t.name);
                assert!(!sql.contains(';'), "{}", t.name);
                for n in 1..=t.params.len() + 1 {
                    assert!(sql.contains(&format!("${n}")), "{} lacks ${n}", t.name);
                }
                assert!(!sql.contains(&format!("${}", t.params.len() + 2)));
            }
            assert_eq!(find(t.name).map(|f| f.name), Some(t.name));
        }
    }

    #[test]
    fn dates() {
        for good in ["2025-01-31", "2024-02-29", "2000-02-29", "2025-12-31"] {
            assert!(check_date("d", good).is_ok(), "{good}");
        }
        for bad in [
            "2025-02-29",
            "1900-02-29",
            "2025-02-30",
            "2025-04-31",
            "2025-+1-01",
            "2025-1-31",
            "2025-13-01",
            "2025-01-00",
            "x' OR 1=1",
            "2025-01-31 ",
        ] {
            assert!(check_date("d", bad).is_err(), "{bad}");
        }
    }
}
