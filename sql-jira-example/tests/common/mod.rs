//! What the tests share: fresh databases on SQLite and PostgreSQL, and a
//! server on a loopback port.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use mcp_server::Server;
use mcp_server::transport::http::{HttpConfig, McpService};
use serde_json::Value;
use sql_jira_example::app::Gateway;
use sql_jira_example::store::{Migration, Store};

/// A name no other test, in this run or a parallel one, uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A migrated database, and how to drop it afterwards.
pub struct Db {
    pub store: Store,
    /// PostgreSQL: the admin pool and the database to drop.
    postgres: Option<(sqlx::AnyPool, String)>,
}

impl Db {
    /// A fresh SQLite file.
    pub async fn sqlite(migrations: &[Migration]) -> Self {
        let path = std::env::temp_dir().join(unique("sqljira")).join("test.db");
        let store = Store::connect(&format!("sqlite://{}", path.display()), migrations)
            .await
            .unwrap();
        Self {
            store,
            postgres: None,
        }
    }

    /// A fresh PostgreSQL database of its own; fails loudly when
    /// PostgreSQL is not there: these tests must run against a real server.
    pub async fn postgres(migrations: &[Migration]) -> Self {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for this test ({admin_url}): {e}; \
                 set TEST_DATABASE_URL to a server that allows CREATE DATABASE"
                )
            });
        let name = unique("sqljira_test");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let store = Store::connect(&format!("{base}/{name}"), migrations)
            .await
            .unwrap();
        Self {
            store,
            postgres: Some((admin, name)),
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.postgres {
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&admin)
                .await
                .unwrap();
        }
    }
}

/// A tool result's structured content, after checking it succeeded.
pub fn data(result: &Value) -> Value {
    assert_ne!(result["isError"], true, "{result}");
    result["structuredContent"].clone()
}

/// A tool result's error text, after checking it failed.
pub fn error_text(result: &Value) -> String {
    assert_eq!(result["isError"], true, "{result}");
    result["content"][0]["text"].as_str().unwrap().to_owned()
}

/// Serves `server` with `routes` and the gateway's rules, as the binaries
/// do, on a loopback port.
pub async fn serve(server: Server, config: HttpConfig, routes: Router, gateway: Gateway) -> String {
    let app = sql_jira_example::app::router(McpService::new(server, config), routes, gateway);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}
