//! The binaries as deployed: `sql-mcp` and `jira-mcp` started with their
//! environment (API keys, the Jira credentials pointing at the mock Jira),
//! and the demo calling every tool of both over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use sql_jira_example::client::{McpHttpClient, http_client};
use sql_jira_example::jira::mock::MockJira;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const KEY: &str = "demo-key-0123456789abcdef";

/// Starts `binary` over HTTP on a free port with `env`, and returns it
/// with its base URL, read from its log once it listens.
async fn start(binary: &str, env: &[(&str, String)]) -> (Child, String) {
    let mut command = Command::new(binary);
    command
        .args(["--transport", "http", "--port", "0"])
        .env_remove("MCP_RATE_LIMIT")
        .env_remove("MCP_TENANT_HEADER")
        .env("LOG_FORMAT", "compact")
        .env("LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // "... on http://127.0.0.1:PORT: MCP at /mcp"
            if let Some(at) = line.find("on http://") {
                return line[at + 3..].split(": ").next().unwrap().to_owned();
            }
        }
        panic!("{binary} exited before listening");
    })
    .await
    .expect("the server did not start listening");
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

#[tokio::test]
async fn the_demo_calls_every_tool_of_both_binaries() {
    let dir = std::env::temp_dir().join(common::unique("sqljira_bin"));
    let mock = MockJira::start("bot@example.com", "token", Duration::ZERO)
        .await
        .unwrap();
    let keys = format!("demo@acme:{KEY}");
    let (mut sql, sql_url) = start(
        env!("CARGO_BIN_EXE_sql-mcp"),
        &[
            (
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("sql.db").display()),
            ),
            ("MCP_API_KEYS", keys.clone()),
        ],
    )
    .await;
    let (mut jira, jira_url) = start(
        env!("CARGO_BIN_EXE_jira-mcp"),
        &[
            (
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("jira.db").display()),
            ),
            ("MCP_API_KEYS", keys),
            ("JIRA_BASE_URL", mock.base_url()),
            ("JIRA_EMAIL", "bot@example.com".into()),
            ("JIRA_API_TOKEN", "token".into()),
        ],
    )
    .await;

    let demo = Command::new(env!("CARGO_BIN_EXE_sql-jira-demo"))
        .args([&sql_url, &jira_url])
        .env("MCP_API_KEY", KEY)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&demo.stdout);
    let stderr = String::from_utf8_lossy(&demo.stderr);
    assert!(demo.status.success(), "demo failed:\n{stdout}\n{stderr}");
    for tool in [
        "sales_by_month",
        "top_customers",
        "product_sales",
        "overdue_invoices",
        "customer_orders",
        "low_stock",
        "list_projects",
        "search_issues",
        "create_issue",
        "get_issue",
        "update_issue",
        "add_comment",
        "assign_issue",
        "transition_issue",
    ] {
        assert!(
            stdout.contains(&format!("{tool}: ")),
            "{tool} missing from:\n{stdout}"
        );
    }
    // The acme key reads acme's rows; Jira was the mock, reached once per write.
    let bearer = format!("Bearer {KEY}");
    let client = McpHttpClient::connect(&sql_url, &[("Authorization", &bearer)])
        .await
        .unwrap();
    let top = client
        .call_tool("top_customers", serde_json::json!({"limit": 100}))
        .await
        .unwrap();
    let rows = common::data(&top)["rows"].as_array().unwrap().clone();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["name"].as_str().unwrap().ends_with(" (acme)")),
        "{rows:?}"
    );
    assert_eq!(mock.calls("POST /rest/api/3/issue"), 1);
    assert_eq!(mock.calls("PUT /rest/api/3/issue/DEMO-4"), 1);

    // Without the key, and with a tenant header but no trusted gateway:
    // refused.
    let http = http_client().unwrap();
    let anonymous = http
        .get(format!("{sql_url}/templates"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let header = http
        .get(format!("{jira_url}/tools"))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("X-Tenant-ID", "globex")
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 403);
    sql.kill().await.unwrap();
    jira.kill().await.unwrap();
}

/// With REDIS_URL, replicas share one rate limit: what one allowed, the
/// other counts.
#[tokio::test]
async fn replicas_share_the_rate_limit_through_redis() {
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let address = redis
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    if let Err(e) = tokio::net::TcpStream::connect(&address).await {
        panic!("Redis is required for this test ({redis}): {e}; set TEST_REDIS_URL");
    }
    let dir = std::env::temp_dir().join(common::unique("sqljira_redis"));
    let env = |name: &str| {
        vec![
            (
                "DATABASE_URL",
                format!("sqlite://{}", dir.join(name).display()),
            ),
            ("MCP_API_KEYS", format!("demo@acme:{KEY}")),
            ("MCP_RATE_LIMIT", "5/min".to_owned()),
            ("REDIS_URL", redis.clone()),
            ("MCP_RATE_LIMIT_PREFIX", common::unique("sqljira:rl")),
        ]
    };
    let first = env("a.db");
    let mut second = env("b.db");
    second[4] = first[4].clone();
    let (mut a, a_url) = start(env!("CARGO_BIN_EXE_sql-mcp"), &first).await;
    let (mut b, b_url) = start(env!("CARGO_BIN_EXE_sql-mcp"), &second).await;
    let http = http_client().unwrap();
    let get = |url: String| {
        let http = http.clone();
        async move {
            http.get(format!("{url}/templates"))
                .header("Authorization", format!("Bearer {KEY}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for n in 0..5 {
        let url = if n % 2 == 0 { &a_url } else { &b_url };
        assert_eq!(get(url.clone()).await, 200, "request {n}");
    }
    assert_eq!(get(a_url.clone()).await, 429);
    assert_eq!(get(b_url.clone()).await, 429);
    a.kill().await.unwrap();
    b.kill().await.unwrap();
}
