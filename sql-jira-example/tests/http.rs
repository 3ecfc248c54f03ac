//! Both servers over real HTTP: tenants from the credential, the gateway's
//! headers trusted only when configured, the REST routes, and the default
//! rate limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderName;
use axum::routing::get;
use common::{Db, data};
use mcp_server::audit::{AuditRecord, AuditSink};
use mcp_server::auth::ApiKeys;
use mcp_server::transport::http::HttpConfig;
use serde_json::{Value, json};
use sql_jira_example::app::{self, Gateway};
use sql_jira_example::client::{ClientError, McpHttpClient, http_client};
use sql_jira_example::idempotency::{DEFAULT_TTL, Idempotency};
use sql_jira_example::jira::mock::MockJira;
use sql_jira_example::jira::{HttpJira, Jira, JiraConfig};
use sql_jira_example::sql::{self, Limits, Reader, SqlReports, seed_if_empty};
use sql_jira_example::store::{COMMON_MIGRATIONS, SQL_MIGRATIONS};
use tokio::sync::mpsc;

const ALICE: &str = "acme-key-0123456789";
const BOB: &str = "globex-key-0123456789";
const OPS: &str = "ops-key-0123456789";

/// alice works for acme, bob for globex; ops names no tenant.
fn keys() -> ApiKeys {
    ApiKeys::parse(&format!("alice@acme:{ALICE}, bob@globex:{BOB}, ops:{OPS}")).unwrap()
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// Audit records, as they are made.
#[derive(Debug)]
struct Records(mpsc::UnboundedSender<AuditRecord>);

impl AuditSink for Records {
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> mcp_server::audit::WriteFuture<'a> {
        for record in records {
            let _ = self.0.send(record.clone());
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// `sql-mcp` as the binary builds it (its environment settings included)
/// on a seeded SQLite database; its audit records come out of the
/// receiver.
async fn sql_server(
    db: &Db,
    config: HttpConfig,
    gateway: Gateway,
) -> (String, mpsc::UnboundedReceiver<AuditRecord>) {
    seed_if_empty(&db.store).await.unwrap();
    let reader = Reader::open(&db.store).await.unwrap();
    let dialect = db.store.dialect();
    let (sender, receiver) = mpsc::unbounded_channel();
    let builder =
        sql::builder(SqlReports::new(reader, dialect, Limits::default())).audit(Records(sender));
    let server = app::env_settings(builder).unwrap().build();
    let routes = Router::new().route(
        "/templates",
        get(move || async move { axum::Json(sql::describe_all(dialect)) }),
    );
    (
        common::serve(server, config, routes, gateway).await,
        receiver,
    )
}

async fn customers(url: &str, headers: &[(&str, &str)]) -> Vec<String> {
    let client = McpHttpClient::connect(url, headers).await.unwrap();
    let result = client
        .call_tool("top_customers", json!({"limit": 100}))
        .await
        .unwrap();
    data(&result)["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

fn status(result: Result<McpHttpClient, ClientError>) -> u16 {
    match result {
        Err(ClientError::Http { status, .. }) => status,
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn each_credential_sees_its_own_tenant() {
    let db = Db::sqlite(SQL_MIGRATIONS).await;
    let config = HttpConfig::default().authenticator(keys());
    let (url, _audit) = sql_server(
        &db,
        config,
        Gateway {
            tenant_header: None,
            authenticated: true,
        },
    )
    .await;
    let (alice, bob, ops) = (bearer(ALICE), bearer(BOB), bearer(OPS));
    let acme = customers(&url, &[("Authorization", &alice)]).await;
    let globex = customers(&url, &[("Authorization", &bob)]).await;
    let default = customers(&url, &[("Authorization", &ops)]).await;
    assert!(!acme.is_empty() && !globex.is_empty() && !default.is_empty());
    assert!(acme.iter().all(|n| n.ends_with(" (acme)")), "{acme:?}");
    assert!(
        globex.iter().all(|n| n.ends_with(" (globex)")),
        "{globex:?}"
    );
    assert!(default.iter().all(|n| !n.contains(" (")), "{default:?}");

    // Another tenant's customer id answers like an unknown one.
    let client = McpHttpClient::connect(&url, &[("Authorization", &bob)])
        .await
        .unwrap();
    let theirs = client
        .call_tool("top_customers", json!({"limit": 1}))
        .await
        .unwrap();
    let id = data(&theirs)["rows"][0]["customer_id"].as_i64().unwrap();
    let client = McpHttpClient::connect(&url, &[("Authorization", &alice)])
        .await
        .unwrap();
    let orders = client
        .call_tool("customer_orders", json!({"customer_id": id}))
        .await
        .unwrap();
    assert_eq!(data(&orders)["row_count"], 0);

    // Without a trusted gateway a tenant header is refused, never obeyed:
    // not with a credential of another tenant, not with its own, not alone.
    for headers in [
        vec![("Authorization", alice.as_str()), ("X-Tenant-ID", "globex")],
        vec![("Authorization", alice.as_str()), ("X-Tenant-ID", "acme")],
        vec![("Authorization", alice.as_str()), ("X-User-ID", "someone")],
        vec![("X-Tenant-ID", "globex")],
    ] {
        assert_eq!(
            status(McpHttpClient::connect(&url, &headers).await),
            403,
            "{headers:?}"
        );
    }
    assert_eq!(status(McpHttpClient::connect(&url, &[]).await), 401);
    assert_eq!(
        status(
            McpHttpClient::connect(&url, &[("Authorization", "Bearer wrong-key-0123456789")]).await
        ),
        401
    );

    // The REST route answers to the same credentials.
    let http = http_client().unwrap();
    let listed: Value = http
        .get(format!("{url}/templates"))
        .header("Authorization", &alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 6);
    assert!(listed[0]["sql"].as_str().unwrap().contains("$1"));
    let anonymous = http.get(format!("{url}/templates")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let health = http.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    db.finish().await;
}

#[tokio::test]
async fn a_trusted_gateway_names_tenant_and_user() {
    let db = Db::sqlite(SQL_MIGRATIONS).await;
    let gateway = Gateway {
        tenant_header: Some(HeaderName::from_static("x-tenant-id")),
        authenticated: false,
    };
    let config = HttpConfig::default().tenant_header("X-Tenant-ID");
    let (url, mut audit) = sql_server(&db, config, gateway).await;
    let names = customers(&url, &[("X-Tenant-ID", "globex"), ("X-User-ID", "u-42")]).await;
    assert!(names.iter().all(|n| n.ends_with(" (globex)")), "{names:?}");
    let record = loop {
        let record = audit.recv().await.unwrap();
        if record.target.as_deref() == Some("top_customers") {
            break record;
        }
    };
    assert_eq!(record.principal.as_deref(), Some("u-42"));
    assert_eq!(record.tenant.as_deref(), Some("globex"));
    // The record as DbAudit stores it, on both databases.
    let postgres = Db::postgres(COMMON_MIGRATIONS).await;
    for store in [&db.store, &postgres.store] {
        sql_jira_example::audit::write(store, "sql-mcp", std::slice::from_ref(&record))
            .await
            .unwrap();
        let row: (String, String, String, String, i64) = sqlx::query_as(
            "SELECT server, principal, tenant, outcome, read_only FROM audit_logs WHERE target = 'top_customers'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(
            row,
            (
                "sql-mcp".into(),
                "u-42".into(),
                "globex".into(),
                record.outcome.as_str().to_owned(),
                1
            )
        );
    }
    postgres.finish().await;

    // Behind the gateway with credentials: a credential naming another
    // tenant than the header is refused; its own tenant is served.
    let db2 = Db::sqlite(SQL_MIGRATIONS).await;
    let gateway = Gateway {
        tenant_header: Some(HeaderName::from_static("x-tenant-id")),
        authenticated: true,
    };
    let config = HttpConfig::default()
        .authenticator(keys())
        .tenant_header("X-Tenant-ID");
    let (url, _audit) = sql_server(&db2, config, gateway).await;
    let alice = bearer(ALICE);
    assert_eq!(
        status(
            McpHttpClient::connect(
                &url,
                &[("Authorization", &alice), ("X-Tenant-ID", "globex")]
            )
            .await
        ),
        403
    );
    let own = customers(&url, &[("Authorization", &alice), ("X-Tenant-ID", "acme")]).await;
    assert!(own.iter().all(|n| n.ends_with(" (acme)")), "{own:?}");
    db.finish().await;
    db2.finish().await;
}

#[tokio::test]
async fn jira_keys_are_per_tenant_and_tools_are_listed() {
    let db = Db::sqlite(COMMON_MIGRATIONS).await;
    let mock = MockJira::start("bot@example.com", "token", Duration::ZERO)
        .await
        .unwrap();
    let api = HttpJira::new(JiraConfig::new(mock.base_url(), "bot@example.com", "token")).unwrap();
    let jira = Jira::new(
        Arc::new(api),
        Idempotency::new(db.store.clone(), DEFAULT_TTL),
    );
    let listing = app::tool_list(jira.clone());
    let server = app::env_settings(sql_jira_example::jira::builder(jira))
        .unwrap()
        .build();
    let routes = Router::new().route(
        "/tools",
        get(move || {
            let listing = listing.clone();
            async move { axum::Json(listing) }
        }),
    );
    let gateway = Gateway {
        tenant_header: None,
        authenticated: true,
    };
    let url = common::serve(
        server,
        HttpConfig::default().authenticator(keys()),
        routes,
        gateway,
    )
    .await;
    let args = json!({"project": "DEMO", "summary": "Per tenant", "idempotency_key": "same-key"});
    let mut created = Vec::new();
    for key in [ALICE, BOB, ALICE] {
        let client = McpHttpClient::connect(&url, &[("Authorization", &bearer(key))])
            .await
            .unwrap();
        let result = client
            .call_tool("create_issue", args.clone())
            .await
            .unwrap();
        created.push(data(&result)["key"].as_str().unwrap().to_owned());
    }
    assert_ne!(created[0], created[1], "globex must not get acme's result");
    assert_eq!(created[0], created[2]);
    assert_eq!(mock.calls("POST /rest/api/3/issue"), 2);

    let http = http_client().unwrap();
    let tools: Value = http
        .get(format!("{url}/tools"))
        .header("Authorization", bearer(OPS))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "search_issues",
            "get_issue",
            "create_issue",
            "update_issue",
            "transition_issue",
            "add_comment",
            "assign_issue",
            "list_projects"
        ]
    );
    assert_eq!(tools[3]["annotations"]["destructiveHint"], true);
    db.finish().await;
}

/// Without MCP_RATE_LIMIT each caller gets 100 requests a minute.
#[tokio::test]
async fn the_default_rate_limit_is_100_a_minute() {
    assert!(
        std::env::var("MCP_RATE_LIMIT").map_or(true, |v| v.trim().is_empty()),
        "this test checks the default: run it without MCP_RATE_LIMIT"
    );
    let db = Db::sqlite(SQL_MIGRATIONS).await;
    let config = HttpConfig::default().authenticator(keys());
    let (url, _audit) = sql_server(
        &db,
        config,
        Gateway {
            tenant_header: None,
            authenticated: true,
        },
    )
    .await;
    let http = http_client().unwrap();
    // Requests until the first refusal; the bucket refills at 100 a
    // minute meanwhile, so a slow machine may be allowed a few more.
    let started = std::time::Instant::now();
    let mut ok = 0_u64;
    loop {
        let response = http
            .get(format!("{url}/templates"))
            .header("Authorization", bearer(BOB))
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => ok += 1,
            429 => break,
            other => panic!("unexpected {other}"),
        }
        assert!(ok <= 1_000, "no limit after {ok} requests");
    }
    let refilled = started.elapsed().as_secs() * 100 / 60 + 2;
    assert!(ok >= 100, "refused after only {ok} requests");
    assert!(
        ok <= 100 + refilled,
        "{ok} allowed in {:?}",
        started.elapsed()
    );
    // Another caller has a budget of its own.
    let other = http
        .get(format!("{url}/templates"))
        .header("Authorization", bearer(ALICE))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    db.finish().await;
}
