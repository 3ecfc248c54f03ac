//! `sql-mcp`'s MCP server: one read-only tool per report template, and a
//! resource describing each template.

use mcp_server::prelude::*;
use serde_json::{Value, json};

use super::runner::{Limits, Reader, Report, ReportError};
use super::templates::{self, Param, Template, check_date};
use crate::store::Dialect;
use crate::tenant_of;

/// The report server.
#[derive(Debug, Clone)]
pub struct SqlReports {
    reader: Reader,
    dialect: Dialect,
    limits: Limits,
}

/// A template as `GET /templates` and its resource describe it: the SQL
/// run on this server's database, the parameters and the columns.
pub fn describe(template: &Template, dialect: Dialect) -> Value {
    json!({
        "name": template.name,
        "title": template.title,
        "description": template.description,
        "uri": format!("sql://templates/{}", template.name),
        "sql": match dialect {
            Dialect::Sqlite => template.sqlite,
            Dialect::Postgres => template.postgres,
        },
        "tenant_parameter": "$1 is always the caller's tenant",
        "parameters": template.params.iter().enumerate().map(|(i, p)| json!({
            "name": p.name,
            "placeholder": format!("${}", i + 2),
            "type": p.kind,
            "description": p.description,
            "default": p.default,
        })).collect::<Vec<_>>(),
        "columns": template.columns,
    })
}

/// Every template, described.
pub fn describe_all(dialect: Dialect) -> Value {
    Value::Array(
        templates::TEMPLATES
            .iter()
            .map(|t| describe(t, dialect))
            .collect(),
    )
}

fn date(name: &str, value: Option<String>, default: &str) -> Result<Param, ReportError> {
    let value = value.unwrap_or_else(|| default.to_owned());
    check_date(name, &value).map_err(ReportError::Invalid)?;
    Ok(Param::Text(value))
}

fn text(value: Option<String>, max: usize) -> Result<Param, ReportError> {
    let value = value.unwrap_or_default().trim().to_owned();
    if value.chars().take(max + 1).count() > max {
        return Err(ReportError::Invalid(format!(
            "a text argument is too long: at most {max} characters"
        )));
    }
    Ok(Param::Text(value))
}

impl SqlReports {
    /// Reports read through `reader` on a `dialect` database, within
    /// `limits`.
    pub fn new(reader: Reader, dialect: Dialect, limits: Limits) -> Self {
        Self {
            reader,
            dialect,
            limits,
        }
    }

    async fn run(
        &self,
        template: &Template,
        params: Vec<Param>,
        ctx: &RequestContext,
    ) -> Result<Structured<Report>, ReportError> {
        let tenant = tenant_of(ctx);
        tracing::info!(template = template.name, tenant, "running report");
        self.reader
            .run(template, tenant, &params, self.limits)
            .await
            .map(Structured)
    }
}

#[mcp_server(name = "sql-reports", title = "SQL reports")]
impl SqlReports {
    /// Orders and revenue (in cents) per calendar month, cancelled orders excluded.
    #[mcp_tool(read_only)]
    async fn sales_by_month(
        &self,
        /// First order date included (YYYY-MM-DD); default: the earliest.
        start_date: Option<String>,
        /// Last order date included (YYYY-MM-DD); default: the latest.
        end_date: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Report>, ReportError> {
        let params = vec![
            date("start_date", start_date, "0001-01-01")?,
            date("end_date", end_date, "9999-12-31")?,
        ];
        self.run(&templates::SALES_BY_MONTH, params, ctx).await
    }

    /// Customers ranked by revenue (in cents) over a date range.
    #[mcp_tool(read_only)]
    async fn top_customers(
        &self,
        /// First order date included (YYYY-MM-DD); default: the earliest.
        start_date: Option<String>,
        /// Last order date included (YYYY-MM-DD); default: the latest.
        end_date: Option<String>,
        /// How many customers.
        #[arg(default = 10, range(min = 1, max = 100))]
        limit: i64,
        ctx: &RequestContext,
    ) -> Result<Structured<Report>, ReportError> {
        let params = vec![
            date("start_date", start_date, "0001-01-01")?,
            date("end_date", end_date, "9999-12-31")?,
            Param::Integer(limit.clamp(1, 100)),
        ];
        self.run(&templates::TOP_CUSTOMERS, params, ctx).await
    }

    /// Units sold and revenue (in cents) per product, optionally in one category.
    #[mcp_tool(read_only)]
    async fn product_sales(
        &self,
        /// Only this category: hardware, garden or office (default: all).
        category: Option<String>,
        /// First order date included (YYYY-MM-DD); default: the earliest.
        start_date: Option<String>,
        /// Last order date included (YYYY-MM-DD); default: the latest.
        end_date: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Report>, ReportError> {
        let params = vec![
            text(category, 100)?,
            date("start_date", start_date, "0001-01-01")?,
            date("end_date", end_date, "9999-12-31")?,
        ];
        self.run(&templates::PRODUCT_SALES, params, ctx).await
    }

    /// Unpaid invoices past due on a given day, most overdue first.
    #[mcp_tool(read_only)]
    async fn overdue_invoices(
        &self,
        /// The day to measure from (YYYY-MM-DD).
        as_of: String,
        /// Only invoices at least this many days overdue.
        #[arg(default = 1, range(min = 1, max = 3650))]
        min_days_overdue: i64,
        ctx: &RequestContext,
    ) -> Result<Structured<Report>, ReportError> {
        let params = vec![
            date("as_of", Some(as_of), "")?,
            Param::Integer(min_days_overdue.max(1)),
        ];
        self.run(&templates::OVERDUE_INVOICES, params, ctx).await
    }

    /// A customer's orders with item count and total (in cents), newest first.
    #[mcp_tool(read_only)]
    async fn customer_orders(
        &self,
        /// The customer's id (from top_customers).
        customer_id: i64,
        /// Only orders in this status: pending, paid, shipped or cancelled (default: all).
        status: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Report>, ReportError> {
        let params = vec![Param::Integer(customer_id), text(status, 20)?];
        self.run(&templates::CUSTOMER_ORDERS, params, ctx).await
    }

    /// Products whose stock is at or below their reorder level, largest shortfall first.
    #[mcp_tool(read_only)]
    async fn low_stock(
        &self,
        /// Only this category: hardware, garden or office (default: all).
        category: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Report>, ReportError> {
        let params = vec![text(category, 100)?];
        self.run(&templates::LOW_STOCK, params, ctx).await
    }

    /// Every report template: name, SQL, parameters and columns.
    #[mcp_resource("sql://templates", mime = "application/json", name = "templates")]
    async fn templates_resource(&self) -> Result<String, ResourceError> {
        serde_json::to_string_pretty(&describe_all(self.dialect))
            .map_err(|e| ResourceError::Failed(e.to_string()))
    }

    /// One report template: its SQL text, parameters and columns.
    #[mcp_resource("sql://templates/{name}", mime = "application/json", name = "template")]
    async fn template_resource(&self, name: String) -> Result<String, ResourceError> {
        let template = templates::find(&name)
            .ok_or_else(|| ResourceError::NotFound(format!("sql://templates/{name}")))?;
        serde_json::to_string_pretty(&describe(template, self.dialect))
            .map_err(|e| ResourceError::Failed(e.to_string()))
    }
}

/// The server's builder, with its instructions.
pub fn builder(reports: SqlReports) -> mcp_server::ServerBuilder {
    Server::builder().definition(reports).instructions(
        "Read-only sales reports over orders, customers, products and invoices. Each tool runs one \
         named report template with typed arguments; amounts are in cents. The sql://templates \
         resources show each template's SQL, parameters and columns. Results are capped: when \
         `truncated` is true, narrow the arguments.",
    )
}
