//! The report templates on SQLite and PostgreSQL: every template through
//! MCP, writes refused by the read-only transaction, the statement timeout
//! and the row cap, bound parameters, and the down migrations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Db, data, error_text};
use mcp_server::ProtocolVersion;
use mcp_server::testing::TestClient;
use serde_json::{Value, json};
use sql_jira_example::sql::templates::{Param, TEMPLATES, Template};
use sql_jira_example::sql::{Limits, Reader, ReportError, SqlReports, seed_if_empty};
use sql_jira_example::store::{SQL_MIGRATIONS, Store};

async fn seeded(postgres: bool) -> Db {
    let db = if postgres {
        Db::postgres(SQL_MIGRATIONS).await
    } else {
        Db::sqlite(SQL_MIGRATIONS).await
    };
    assert!(seed_if_empty(&db.store).await.unwrap());
    assert!(!seed_if_empty(&db.store).await.unwrap(), "seeds only once");
    db
}

async fn client(store: &Store, limits: Limits) -> Arc<TestClient> {
    let reader = Reader::open(store).await.unwrap();
    let server = sql_jira_example::sql::builder(SqlReports::new(reader, store.dialect(), limits));
    Arc::new(
        TestClient::connect(server.build(), ProtocolVersion::V2025_11_25)
            .await
            .unwrap(),
    )
}

async fn call(client: &TestClient, tool: &str, args: Value) -> Value {
    serde_json::to_value(client.call_tool(tool, args).await.unwrap()).unwrap()
}

/// Every template answers with its declared columns, rows as objects.
async fn every_template(postgres: bool) {
    let db = seeded(postgres).await;
    let client = client(&db.store, Limits::default()).await;
    let tools = client.list_tools().await.unwrap();
    assert_eq!(tools.len(), TEMPLATES.len());
    for tool in &tools {
        let annotations = serde_json::to_value(&tool.annotations).unwrap();
        assert_eq!(annotations["readOnlyHint"], true, "{}", tool.name);
    }
    let calls = [
        (
            "sales_by_month",
            json!({"start_date": "2025-01-01", "end_date": "2025-12-31"}),
        ),
        ("top_customers", json!({"limit": 3})),
        ("product_sales", json!({"category": "office"})),
        (
            "overdue_invoices",
            json!({"as_of": "2026-01-01", "min_days_overdue": 30}),
        ),
        ("customer_orders", json!({"customer_id": 1})),
        ("low_stock", json!({})),
    ];
    for (tool, args) in calls {
        let report = data(&call(&client, tool, args).await);
        let template = TEMPLATES.iter().find(|t| t.name == tool).unwrap();
        assert_eq!(report["template"], tool);
        assert_eq!(report["columns"], json!(template.columns));
        assert_eq!(report["truncated"], false);
        let rows = report["rows"].as_array().unwrap();
        assert!(!rows.is_empty(), "{tool} returned no rows");
        assert_eq!(report["row_count"], rows.len());
        for row in rows {
            let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), template.columns.len(), "{tool}: {row}");
            for column in template.columns {
                assert!(row.get(*column).is_some(), "{tool} lacks {column}: {row}");
            }
        }
    }
    // Figures that must agree with each other: 12 months, revenue sums.
    let months = data(&call(&client, "sales_by_month", json!({})).await);
    assert_eq!(months["row_count"], 12);
    let total: i64 = months["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revenue_cents"].as_i64().unwrap())
        .sum();
    let products = data(&call(&client, "product_sales", json!({})).await);
    let by_product: i64 = products["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revenue_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(total, by_product);
    let top = data(&call(&client, "top_customers", json!({"limit": 3})).await);
    assert_eq!(top["row_count"], 3);
    let overdue = data(
        &call(
            &client,
            "overdue_invoices",
            json!({"as_of": "2026-01-01", "min_days_overdue": 30}),
        )
        .await,
    );
    assert!(
        overdue["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["days_overdue"].as_i64().unwrap() >= 30)
    );
    let stock = data(&call(&client, "low_stock", json!({})).await);
    assert!(
        stock["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["stock"].as_i64() <= r["reorder_level"].as_i64())
    );

    // Bad arguments are refused before any query.
    let bad = call(
        &client,
        "sales_by_month",
        json!({"start_date": "2025-01-01' OR '1'='1"}),
    )
    .await;
    assert!(error_text(&bad).contains("YYYY-MM-DD"));
    let too_many = call(&client, "top_customers", json!({"limit": 1000})).await;
    assert_eq!(too_many["isError"], true);

    // Text is bound, never spliced: a hostile category matches nothing
    // and changes nothing.
    let hostile = "office' OR '1'='1'; DROP TABLE orders; --";
    let none = data(&call(&client, "product_sales", json!({"category": hostile})).await);
    assert_eq!(none["row_count"], 0);
    assert!(db.count("SELECT COUNT(*) FROM orders").await > 0);

    // The resources describe each template with its SQL.
    let resource = client
        .request(
            "resources/read",
            json!({"uri": "sql://templates/overdue_invoices"}),
        )
        .await
        .unwrap();
    let text = resource["contents"][0]["text"].as_str().unwrap();
    let described: Value = serde_json::from_str(text).unwrap();
    assert_eq!(described["columns"][4], "days_overdue");
    assert!(described["sql"].as_str().unwrap().contains("$3"));
    let missing = client
        .request(
            "resources/read",
            json!({"uri": "sql://templates/drop_everything"}),
        )
        .await;
    assert!(missing.is_err());
    db.finish().await;
}

#[tokio::test]
async fn every_template_on_sqlite() {
    every_template(false).await;
}

#[tokio::test]
async fn every_template_on_postgres() {
    every_template(true).await;
}

fn custom(sql: &'static str) -> Template {
    Template {
        name: "custom",
        title: "custom",
        description: "a template only a test defines",
        sqlite: sql,
        postgres: sql,
        params: &[],
        columns: &[],
    }
}

/// Even a template that tries to write cannot: the transaction (or the
/// connection) is read-only.
async fn writes_are_refused(postgres: bool) {
    let db = seeded(postgres).await;
    let reader = Reader::open(&db.store).await.unwrap();
    let before = db.count("SELECT COUNT(*) FROM customers").await;
    let stock = db
        .count("SELECT CAST(SUM(stock) AS BIGINT) FROM products")
        .await;
    for sql in [
        "INSERT INTO customers (tenant, name, email, country, created_on) VALUES ($1, 'x', 'x', 'x', 'x') RETURNING id",
        "UPDATE products SET stock = 0 WHERE tenant = $1 RETURNING sku",
        "DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE tenant = $1) RETURNING id",
    ] {
        let result = reader
            .run(&custom(sql), "default", &[], Limits::default())
            .await;
        assert!(
            matches!(result, Err(ReportError::ReadOnly)),
            "{sql}: {result:?}"
        );
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM customers").await, before);
    assert_eq!(
        db.count("SELECT CAST(SUM(stock) AS BIGINT) FROM products")
            .await,
        stock
    );
    // The reader still works afterwards.
    let ok = reader
        .run(
            &TEMPLATES[5],
            "default",
            &[Param::Text(String::new())],
            Limits::default(),
        )
        .await
        .unwrap();
    assert!(ok.row_count > 0);
    reader.close().await;
    db.finish().await;
}

#[tokio::test]
async fn writes_are_refused_on_sqlite() {
    writes_are_refused(false).await;
}

#[tokio::test]
async fn writes_are_refused_on_postgres() {
    writes_are_refused(true).await;
}

/// A query past the statement timeout is stopped, and the reader serves
/// the next one; the row cap cuts and says so.
async fn timeout_and_row_cap(postgres: bool, slow: &'static str) {
    let db = seeded(postgres).await;
    let reader = Reader::open(&db.store).await.unwrap();
    let limits = Limits {
        row_cap: 500,
        statement_timeout: Duration::from_millis(300),
    };
    let started = Instant::now();
    let result = reader.run(&custom(slow), "default", &[], limits).await;
    assert!(matches!(result, Err(ReportError::Timeout(_))), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let months = reader
        .run(
            &TEMPLATES[0],
            "default",
            &[
                Param::Text("0001-01-01".into()),
                Param::Text("9999-12-31".into()),
            ],
            limits,
        )
        .await
        .unwrap();
    assert_eq!(months.row_count, 12);
    assert!(!months.truncated);
    let capped = Limits {
        row_cap: 5,
        ..limits
    };
    let cut = reader
        .run(
            &TEMPLATES[0],
            "default",
            &[
                Param::Text("0001-01-01".into()),
                Param::Text("9999-12-31".into()),
            ],
            capped,
        )
        .await
        .unwrap();
    assert_eq!(
        (cut.row_count, cut.rows.len(), cut.truncated, cut.row_cap),
        (5, 5, true, 5)
    );
    assert_eq!(cut.rows[..], months.rows[..5]);
    // Exactly at the cap is not truncated.
    let exact = Limits {
        row_cap: 12,
        ..limits
    };
    let all = reader
        .run(
            &TEMPLATES[0],
            "default",
            &[
                Param::Text("0001-01-01".into()),
                Param::Text("9999-12-31".into()),
            ],
            exact,
        )
        .await
        .unwrap();
    assert!(!all.truncated);
    // Through MCP too.
    let client = client(&db.store, capped).await;
    let report = data(&call(&client, "sales_by_month", json!({})).await);
    assert_eq!(
        (report["row_count"].as_u64(), report["truncated"].as_bool()),
        (Some(5), Some(true))
    );
    reader.close().await;
    db.finish().await;
}

#[tokio::test]
async fn timeout_and_row_cap_on_sqlite() {
    timeout_and_row_cap(
        false,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) \
         SELECT COUNT(*) AS n FROM c WHERE $1 <> ''",
    )
    .await;
}

#[tokio::test]
async fn timeout_and_row_cap_on_postgres() {
    timeout_and_row_cap(
        true,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT pg_sleep(10)) AS s WHERE $1 <> ''",
    )
    .await;
}

/// The down migrations drop what the up migrations created, and the up
/// migrations apply again afterwards.
async fn migrations_roll_back(postgres: bool) {
    let db = seeded(postgres).await;
    let tables = "SELECT COUNT(*) FROM schema_migrations";
    assert_eq!(db.count(tables).await, 3);
    let undone = db.store.migrate_down(SQL_MIGRATIONS, 1).await.unwrap();
    assert_eq!(undone, vec![3, 2]);
    assert_eq!(db.count(tables).await, 1);
    assert!(
        sqlx::query("SELECT COUNT(*) FROM customers")
            .fetch_one(db.store.pool())
            .await
            .is_err()
    );
    assert!(
        sqlx::query("SELECT COUNT(*) FROM idempotency_keys")
            .fetch_one(db.store.pool())
            .await
            .is_err()
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM audit_logs").await, 0);
    assert_eq!(
        db.store.migrate_down(SQL_MIGRATIONS, 0).await.unwrap(),
        vec![1]
    );
    assert!(
        db.store
            .migrate_down(SQL_MIGRATIONS, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let again = Store::connect(db.store.url(), SQL_MIGRATIONS)
        .await
        .unwrap();
    assert!(seed_if_empty(&again).await.unwrap());
    again.close().await;
    db.finish().await;
}

#[tokio::test]
async fn migrations_roll_back_on_sqlite() {
    migrations_roll_back(false).await;
}

#[tokio::test]
async fn migrations_roll_back_on_postgres() {
    migrations_roll_back(true).await;
}
