//! `sql-jira-demo`: calls every tool of a running `sql-mcp` and `jira-mcp`
//! over HTTP and prints what each answered, then checks the REST routes.
//!
//! `sql-jira-demo [SQL_URL] [JIRA_URL]` (defaults `http://127.0.0.1:8056`
//! and `http://127.0.0.1:8055`); `MCP_API_KEY` is sent as a bearer token
//! when set. Exits non-zero if any call failed.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a demo prints what it does"
)]

use std::process::ExitCode;

use serde_json::{Value, json};
use sql_jira_example::client::{McpHttpClient, http_client};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let sql_url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8056".into());
    let jira_url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8055".into());
    let key = std::env::var("MCP_API_KEY").ok().filter(|k| !k.is_empty());
    let bearer = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("Authorization", b)])
        .unwrap_or_default();
    let mut failures = 0;
    failures += sql_calls(&sql_url, &headers).await;
    failures += jira_calls(&jira_url, &headers).await;
    for (url, path) in [
        (&sql_url, "/templates"),
        (&jira_url, "/tools"),
        (&sql_url, "/health"),
        (&jira_url, "/health"),
    ] {
        let Ok(http) = http_client() else {
            failures += 1;
            continue;
        };
        let mut request = http.get(format!("{url}{path}"));
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => println!("GET {url}{path}: {}", r.status()),
            Ok(r) => {
                failures += 1;
                eprintln!("GET {url}{path}: {}", r.status());
            }
            Err(e) => {
                failures += 1;
                eprintln!("GET {url}{path}: {e}");
            }
        }
    }
    if failures == 0 {
        println!("every call succeeded");
        ExitCode::SUCCESS
    } else {
        eprintln!("{failures} call(s) failed");
        ExitCode::FAILURE
    }
}

/// Calls one tool and prints a line about it; returns its structured
/// content, or `None` (counted as a failure) when it failed.
async fn call(
    client: &McpHttpClient,
    tool: &str,
    args: Value,
    failures: &mut usize,
) -> Option<Value> {
    match client.call_tool(tool, args).await {
        Ok(result) if result["isError"] != true => {
            let data = result["structuredContent"].clone();
            let summary = data.to_string();
            let cut: String = summary.chars().take(160).collect();
            println!(
                "{tool}: {cut}{}",
                if cut.len() < summary.len() { "…" } else { "" }
            );
            Some(data)
        }
        Ok(result) => {
            *failures += 1;
            eprintln!("{tool} failed: {}", result["content"][0]["text"]);
            None
        }
        Err(e) => {
            *failures += 1;
            eprintln!("{tool} failed: {e}");
            None
        }
    }
}

async fn sql_calls(url: &str, headers: &[(&str, &str)]) -> usize {
    let client = match McpHttpClient::connect(url, headers).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cannot connect to sql-mcp at {url}: {e}");
            return 1;
        }
    };
    let mut failures = 0;
    call(
        &client,
        "sales_by_month",
        json!({"start_date": "2025-01-01", "end_date": "2025-06-30"}),
        &mut failures,
    )
    .await;
    let top = call(&client, "top_customers", json!({"limit": 3}), &mut failures).await;
    call(
        &client,
        "product_sales",
        json!({"category": "office"}),
        &mut failures,
    )
    .await;
    call(
        &client,
        "overdue_invoices",
        json!({"as_of": "2026-01-01", "min_days_overdue": 30}),
        &mut failures,
    )
    .await;
    let customer = top
        .as_ref()
        .and_then(|t| t["rows"][0]["customer_id"].as_i64())
        .unwrap_or(1);
    call(
        &client,
        "customer_orders",
        json!({"customer_id": customer}),
        &mut failures,
    )
    .await;
    call(&client, "low_stock", json!({}), &mut failures).await;
    if let Err(e) = client
        .request(
            "resources/read",
            json!({"uri": "sql://templates/low_stock"}),
        )
        .await
    {
        failures += 1;
        eprintln!("resources/read failed: {e}");
    }
    failures
}

async fn jira_calls(url: &str, headers: &[(&str, &str)]) -> usize {
    let client = match McpHttpClient::connect(url, headers).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cannot connect to jira-mcp at {url}: {e}");
            return 1;
        }
    };
    let mut failures = 0;
    let projects = call(&client, "list_projects", json!({}), &mut failures).await;
    let project = projects
        .as_ref()
        .and_then(|p| p["projects"][0]["key"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "DEMO".into());
    call(
        &client,
        "search_issues",
        json!({"jql": format!("project = {project}"), "max_results": 5}),
        &mut failures,
    )
    .await;
    let run = std::process::id();
    let created = call(
        &client,
        "create_issue",
        json!({"project": project, "summary": "Created by the demo", "description": "Safe to delete.", "idempotency_key": format!("demo-create-{run}")}),
        &mut failures,
    )
    .await;
    let Some(key) = created.and_then(|c| c["key"].as_str().map(str::to_owned)) else {
        return failures + 1;
    };
    call(
        &client,
        "get_issue",
        json!({"issue_key": key}),
        &mut failures,
    )
    .await;
    call(&client, "update_issue", json!({"issue_key": key, "labels": ["demo"], "idempotency_key": format!("demo-update-{run}")}), &mut failures).await;
    call(&client, "add_comment", json!({"issue_key": key, "body": "A comment from the demo.", "idempotency_key": format!("demo-comment-{run}")}), &mut failures).await;
    call(
        &client,
        "assign_issue",
        json!({"issue_key": key, "idempotency_key": format!("demo-assign-{run}")}),
        &mut failures,
    )
    .await;
    call(&client, "transition_issue", json!({"issue_key": key, "transition": "Done", "idempotency_key": format!("demo-done-{run}")}), &mut failures).await;
    failures
}
