//! The Jira tools through the real HTTP client against the local mock
//! Jira, offline mode, and idempotency keys under concurrent retries on
//! SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Db, data, error_text};
use mcp_server::ProtocolVersion;
use mcp_server::testing::TestClient;
use serde_json::{Value, json};
use sql_jira_example::idempotency::{DEFAULT_TTL, Idempotency, IdempotencyError};
use sql_jira_example::jira::memory::comments_of;
use sql_jira_example::jira::mock::MockJira;
use sql_jira_example::jira::{HttpJira, Jira, JiraApi, JiraConfig, JiraError, MemoryJira};
use sql_jira_example::store::COMMON_MIGRATIONS;

const EMAIL: &str = "bot@example.com";
const TOKEN: &str = "test-token";

async fn mock(delay: Duration) -> (MockJira, Arc<dyn JiraApi>) {
    let mock = MockJira::start(EMAIL, TOKEN, delay).await.unwrap();
    let api = HttpJira::new(JiraConfig::new(mock.base_url(), EMAIL, TOKEN)).unwrap();
    (mock, Arc::new(api))
}

async fn client(api: Arc<dyn JiraApi>, db: &Db) -> Arc<TestClient> {
    let jira = Jira::new(api, Idempotency::new(db.store.clone(), DEFAULT_TTL));
    let server = sql_jira_example::jira::builder(jira).build();
    Arc::new(
        TestClient::connect(server, ProtocolVersion::V2025_11_25)
            .await
            .unwrap(),
    )
}

async fn call(client: &TestClient, tool: &str, args: Value) -> Value {
    serde_json::to_value(client.call_tool(tool, args).await.unwrap()).unwrap()
}

#[tokio::test]
async fn every_tool_against_the_mock_jira() {
    let db = Db::sqlite(COMMON_MIGRATIONS).await;
    let (mock, api) = mock(Duration::ZERO).await;
    let client = client(api, &db).await;

    let tools = client.list_tools().await.unwrap();
    let hints = |name: &str| {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        let a = serde_json::to_value(&tool.annotations).unwrap();
        // Absent hints mean their defaults: not read-only, destructive,
        // not idempotent.
        (
            a["readOnlyHint"].as_bool().unwrap_or(false),
            a["destructiveHint"].as_bool().unwrap_or(true),
            a["idempotentHint"].as_bool().unwrap_or(false),
        )
    };
    assert_eq!(tools.len(), 8);
    for read in ["search_issues", "get_issue", "list_projects"] {
        assert!(hints(read).0, "{read}");
    }
    assert_eq!(hints("create_issue"), (false, false, false));
    assert_eq!(hints("add_comment"), (false, false, false));
    assert_eq!(hints("transition_issue"), (false, false, false));
    assert_eq!(hints("update_issue"), (false, true, true));
    assert_eq!(hints("assign_issue"), (false, true, true));

    let projects = data(&call(&client, "list_projects", json!({"query": "dem"})).await);
    assert_eq!(projects["projects"][0]["key"], "DEMO");
    assert_eq!(projects["projects"].as_array().unwrap().len(), 1);

    let created = data(
        &call(
            &client,
            "create_issue",
            json!({"project": "DEMO", "summary": "Checkout fails", "issue_type": "Bug",
                   "description": "Steps:\nPay with a card", "labels": ["payments"], "priority": "High"}),
        )
        .await,
    );
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(key, "DEMO-4");
    assert_eq!(mock.calls("POST /rest/api/3/issue"), 1);

    let issue = data(&call(&client, "get_issue", json!({"issue_key": key})).await);
    assert_eq!(issue["summary"], "Checkout fails");
    assert_eq!(issue["description"], "Steps:\nPay with a card");
    assert_eq!(issue["issue_type"], "Bug");
    assert_eq!(issue["status"], "To Do");
    assert_eq!(issue["labels"], json!(["payments"]));

    let found = data(
        &call(
            &client,
            "search_issues",
            json!({"jql": "project = DEMO AND labels = payments"}),
        )
        .await,
    );
    assert_eq!(found["issues"].as_array().unwrap().len(), 1);
    assert_eq!(found["is_last"], true);
    let paged = data(
        &call(
            &client,
            "search_issues",
            json!({"jql": "project = DEMO", "max_results": 2}),
        )
        .await,
    );
    assert_eq!(paged["issues"].as_array().unwrap().len(), 2);
    let token = paged["next_page_token"].as_str().unwrap();
    let rest = data(
        &call(
            &client,
            "search_issues",
            json!({"jql": "project = DEMO", "max_results": 2, "next_page_token": token}),
        )
        .await,
    );
    assert_eq!(rest["issues"].as_array().unwrap().len(), 2);
    assert_ne!(rest["issues"][0]["key"], paged["issues"][0]["key"]);
    let bad_jql = call(
        &client,
        "search_issues",
        json!({"jql": "project in (DEMO)"}),
    )
    .await;
    assert!(error_text(&bad_jql).contains("Jira refused the request"));

    let updated = data(
        &call(
            &client,
            "update_issue",
            json!({"issue_key": key, "summary": "Checkout fails on Visa", "labels": []}),
        )
        .await,
    );
    assert_eq!(updated["fields"], json!(["summary", "labels"]));
    assert_eq!(
        mock.jira().find("key = DEMO-4", 1, 0).unwrap().issues[0].summary,
        "Checkout fails on Visa"
    );
    let nothing = call(&client, "update_issue", json!({"issue_key": key})).await;
    assert!(error_text(&nothing).contains("at least one"));

    let moved = data(
        &call(
            &client,
            "transition_issue",
            json!({"issue_key": key, "transition": "in progress"}),
        )
        .await,
    );
    assert_eq!(
        (moved["status"].as_str(), moved["transition_id"].as_str()),
        (Some("In Progress"), Some("21"))
    );
    let wrong = call(
        &client,
        "transition_issue",
        json!({"issue_key": key, "transition": "Archive"}),
    )
    .await;
    assert!(error_text(&wrong).contains("available: 11"));

    let comment = data(
        &call(
            &client,
            "add_comment",
            json!({"issue_key": key, "body": "Reproduced.\nOn staging."}),
        )
        .await,
    );
    assert_eq!(comment["body"], "Reproduced.\nOn staging.");
    assert_eq!(comments_of(mock.jira(), &key).len(), 1);

    let assigned = data(
        &call(
            &client,
            "assign_issue",
            json!({"issue_key": key, "account_id": "557058:ada"}),
        )
        .await,
    );
    assert_eq!(assigned["account_id"], "557058:ada");
    let issue = data(&call(&client, "get_issue", json!({"issue_key": key})).await);
    assert_eq!(issue["assignee_name"], "Ada Lovelace");
    let nobody = call(
        &client,
        "assign_issue",
        json!({"issue_key": key, "account_id": "557058:nobody"}),
    )
    .await;
    assert!(error_text(&nobody).contains("not found in Jira"));
    data(&call(&client, "assign_issue", json!({"issue_key": key})).await);
    assert_eq!(
        mock.jira()
            .find("assignee is EMPTY AND key = DEMO-4", 1, 0)
            .unwrap()
            .issues
            .len(),
        1
    );

    let missing = call(&client, "get_issue", json!({"issue_key": "DEMO-999"})).await;
    assert!(error_text(&missing).contains("not found in Jira"));
    // A key cannot steer the request elsewhere on the site.
    let sneaky = call(
        &client,
        "get_issue",
        json!({"issue_key": "../project/search"}),
    )
    .await;
    assert!(error_text(&sneaky).contains("not an issue key"));
    assert_eq!(mock.calls("GET /rest/api/3/project/search"), 1);
    db.finish().await;
}

#[tokio::test]
async fn wrong_credentials_are_reported() {
    let mock = MockJira::start(EMAIL, TOKEN, Duration::ZERO).await.unwrap();
    let api = HttpJira::new(JiraConfig::new(mock.base_url(), EMAIL, "wrong")).unwrap();
    assert_eq!(api.projects(None, 10).await, Err(JiraError::Auth(401)));
    let err = api.issue("DEMO-1".into()).await.unwrap_err();
    assert!(err.to_string().contains("JIRA_API_TOKEN"));
}

#[tokio::test]
async fn offline_mode_serves_the_sample_project() {
    let db = Db::sqlite(COMMON_MIGRATIONS).await;
    let api: Arc<dyn JiraApi> = Arc::new(MemoryJira::sample());
    let jira = Jira::new(
        Arc::clone(&api),
        Idempotency::new(db.store.clone(), DEFAULT_TTL),
    );
    assert!(jira.instructions().contains("OFFLINE MODE"));
    let client = client(api, &db).await;
    let found = data(&call(&client, "search_issues", json!({"jql": "project = OPS"})).await);
    assert_eq!(found["issues"][0]["key"], "OPS-1");
    let created = data(
        &call(
            &client,
            "create_issue",
            json!({"project": "OPS", "summary": "Offline"}),
        )
        .await,
    );
    assert_eq!(created["key"], "OPS-2");
    db.finish().await;
}

/// The same key fired concurrently reaches Jira once, stores one row, and
/// every caller gets the same issue; then reuse with other arguments is
/// refused, another tenant's same key is its own, a failed call releases
/// its key, and an expired key is free again.
async fn one_key_one_call(postgres: bool) {
    let db = if postgres {
        Db::postgres(COMMON_MIGRATIONS).await
    } else {
        Db::sqlite(COMMON_MIGRATIONS).await
    };
    let (mock, api) = mock(Duration::from_millis(100)).await;
    let client = client(Arc::clone(&api), &db).await;
    let args = json!({"project": "DEMO", "summary": "Once", "idempotency_key": "retry-1"});
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            let args = args.clone();
            tokio::spawn(async move { call(&client, "create_issue", args).await })
        })
        .collect();
    let mut keys = Vec::new();
    for handle in calls {
        keys.push(
            data(&handle.await.unwrap())["key"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(mock.calls("POST /rest/api/3/issue"), 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'retry-1'")
            .await,
        1
    );
    assert_eq!(
        mock.jira()
            .find("summary ~ Once", 50, 0)
            .unwrap()
            .issues
            .len(),
        1
    );

    let other = call(
        &client,
        "create_issue",
        json!({"project": "DEMO", "summary": "Twice", "idempotency_key": "retry-1"}),
    )
    .await;
    assert!(error_text(&other).contains("different arguments"));
    let other_tool = call(
        &client,
        "add_comment",
        json!({"issue_key": keys[0], "body": "x", "idempotency_key": "retry-1"}),
    )
    .await;
    assert!(error_text(&other_tool).contains("already used by `create_issue`"));

    // Two replicas (two lock tables, one database) racing on one key.
    let replica = |keys: Idempotency, api: Arc<dyn JiraApi>| async move {
        let new = sql_jira_example::jira::model::NewIssue {
            project: "DEMO".into(),
            summary: "Replicas".into(),
            issue_type: "Task".into(),
            description: None,
            labels: Vec::new(),
            priority: None,
        };
        keys.run("default", Some("replicas"), "create_issue", &new, || {
            api.create(new.clone())
        })
        .await
    };
    let a = tokio::spawn(replica(
        Idempotency::new(db.store.clone(), DEFAULT_TTL),
        Arc::clone(&api),
    ));
    let b = tokio::spawn(replica(
        Idempotency::new(db.store.clone(), DEFAULT_TTL),
        Arc::clone(&api),
    ));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(a.is_ok() || b.is_ok(), "{a:?} {b:?}");
    for outcome in [&a, &b] {
        if let Err(e) = outcome {
            assert!(matches!(e, IdempotencyError::InProgress(_)), "{e:?}");
        }
    }
    assert_eq!(
        mock.jira()
            .find("summary ~ Replicas", 50, 0)
            .unwrap()
            .issues
            .len(),
        1
    );

    // A failed call stores nothing: its retry reaches Jira again.
    let failing = json!({"project": "NOPE", "summary": "x", "idempotency_key": "fails"});
    for _ in 0..2 {
        assert!(
            error_text(&call(&client, "create_issue", failing.clone()).await)
                .contains("does not exist")
        );
    }
    assert_eq!(mock.calls("POST /rest/api/3/issue"), 4);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'fails'")
            .await,
        0
    );

    // An expired key is free for a new call.
    sqlx::query(
        "UPDATE idempotency_keys SET expires_at = '2000-01-01T00:00:00Z' WHERE key = 'retry-1'",
    )
    .execute(db.store.pool())
    .await
    .unwrap();
    let again = data(&call(&client, "create_issue", args).await);
    assert_ne!(again["key"], keys[0].as_str());
    assert_eq!(mock.calls("POST /rest/api/3/issue"), 5);
    db.finish().await;
}

#[tokio::test]
async fn one_key_one_call_on_sqlite() {
    one_key_one_call(false).await;
}

#[tokio::test]
async fn one_key_one_call_on_postgres() {
    one_key_one_call(true).await;
}
