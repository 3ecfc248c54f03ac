//! The CRM through the in-process client on every revision, against
//! SQLite and against PostgreSQL: the same suite on both. Then an upgrade
//! of a database made before tenants, on both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use crm_example::model::NewContact;
use crm_example::{Crm, CrmError, Db};
use mcp_server::prelude::*;
use mcp_server::testing::{ClientScript, TestClient};
use serde_json::{Value, json};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
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

async fn sqlite() -> Db {
    let path = std::env::temp_dir().join(unique("crm")).join("crm.db");
    let db = Db::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(
        db.seed_if_empty().await.unwrap(),
        "a new database is seeded"
    );
    assert!(!db.seed_if_empty().await.unwrap(), "and only once");
    db
}

/// A fresh, empty PostgreSQL database on the test server: the admin pool,
/// the database's name and its URL. Fails loudly when the server is not
/// there: this suite must run against a real PostgreSQL.
async fn empty_postgres() -> (sqlx::AnyPool, String, String) {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required for this test ({admin_url}): {e}; set TEST_DATABASE_URL to a server that allows CREATE DATABASE")
    });
    let name = unique("crm_test");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    (admin, name, url)
}

/// A fresh, seeded PostgreSQL database.
async fn postgres() -> (Db, sqlx::AnyPool, String) {
    let (admin, name, url) = empty_postgres().await;
    let db = Db::connect(&url).await.unwrap();
    assert!(db.seed_if_empty().await.unwrap());
    (db, admin, name)
}

async fn drop_postgres(db: Db, admin: sqlx::AnyPool, name: String) {
    db.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

fn data(result: &Value) -> Value {
    assert_ne!(result["isError"], true, "{result}");
    match result.get("structuredContent") {
        Some(data) => data.clone(),
        None => serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap(),
    }
}

fn error(result: &Value) -> String {
    assert_eq!(result["isError"], true, "{result}");
    result["content"][0]["text"].as_str().unwrap().to_owned()
}

async fn call(client: &TestClient, tool: &str, arguments: Value) -> Value {
    serde_json::to_value(client.call_tool(tool, arguments).await.unwrap()).unwrap()
}

/// The CRM server as the binary builds it: auditing into its database.
fn crm(db: &Db) -> mcp_server::Server {
    mcp_server::Server::builder()
        .definition(Crm::new(db.clone()))
        .audit(crm_example::audit::DbAudit::new(db.clone()))
        .build()
}

async fn suite(db: Db) {
    let script =
        ClientScript::new().elicit(json!({"action": "accept", "content": {"confirm": true}}));
    for version in [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ] {
        let client = TestClient::connect_scripted(crm(&db), version, script.clone())
            .await
            .unwrap();
        let tools = client.list_tools().await.unwrap();
        assert_eq!(tools.len(), 13, "{version}");

        // Search and details.
        let page = data(&call(&client, "search_contacts", json!({"query": "northwind"})).await);
        assert_eq!(page["total"], 2, "{version}: {page}");
        let vips = data(&call(&client, "search_contacts", json!({"tag": "vip"})).await);
        assert!(
            vips["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["tags"].as_array().unwrap().contains(&json!("vip")))
        );
        let first = data(&call(&client, "search_contacts", json!({"limit": 5})).await);
        assert_eq!(first["contacts"].as_array().unwrap().len(), 5);
        assert_eq!(first["next_offset"], 5);
        let maria_id = page["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["first_name"] == "Maria")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let details = data(&call(&client, "get_contact_details", json!({"id": maria_id})).await);
        assert_eq!(details["company"]["name"], "Northwind Traders");
        assert!(!details["open_deals"].as_array().unwrap().is_empty());
        assert!(!details["recent_activities"].as_array().unwrap().is_empty());
        assert_eq!(
            error(&call(&client, "get_contact_details", json!({"id": 99_999})).await),
            "contact 99999 not found"
        );

        // Create, idempotently.
        let email = format!("{}@example.com", unique("new"));
        let key = unique("key");
        let created = data(&call(&client, "create_contact", json!({
            "first_name": "Grace", "last_name": "Hopper", "email": email, "company": "Navy Labs",
            "tags": ["VIP", "engineering"], "idempotency_key": key,
        })).await);
        let again = data(&call(&client, "create_contact", json!({
            "first_name": "Grace", "last_name": "Hopper", "email": email, "company": "Navy Labs", "idempotency_key": key,
        })).await);
        assert_eq!(
            created["id"], again["id"],
            "{version}: a retried create does not create twice"
        );
        assert_eq!(created["tags"], json!(["vip", "engineering"]));
        let id = created["id"].as_i64().unwrap();
        assert!(
            error(
                &call(
                    &client,
                    "create_contact",
                    json!({"first_name": "G", "last_name": "H", "email": email})
                )
                .await
            )
            .contains("already has")
        );
        assert!(
            error(
                &call(
                    &client,
                    "create_contact",
                    json!({"first_name": "", "last_name": "H"})
                )
                .await
            )
            .contains("first_name")
        );
        assert!(
            error(
                &call(
                    &client,
                    "create_contact",
                    json!({"first_name": "G", "last_name": "H", "email": "nope"})
                )
                .await
            )
            .contains("e-mail")
        );

        let updated = data(
            &call(
                &client,
                "update_contact",
                json!({"id": id, "title": "Rear Admiral", "phone": "+1 555 0100"}),
            )
            .await,
        );
        assert_eq!(updated["title"], "Rear Admiral");
        assert!(
            error(
                &call(
                    &client,
                    "update_contact",
                    json!({"id": id, "email": "broken"})
                )
                .await
            )
            .contains("e-mail")
        );
        assert_eq!(
            data(&call(&client, "get_contact_details", json!({"id": id})).await)["contact"]["email"],
            email
        );

        // Companies.
        let companies = data(&call(&client, "list_companies", json!({"query": "health"})).await);
        let names: Vec<_> = companies["companies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(names.iter().any(|n| n == "Proseware Health"), "{names:?}");
        let northwind_id = details["company"]["id"].as_i64().unwrap();
        let company = data(&call(&client, "get_company", json!({"id": northwind_id})).await);
        assert_eq!(company["contacts"].as_array().unwrap().len(), 2);

        // Deals.
        let deal_key = unique("deal");
        let deal = data(&call(&client, "create_deal", json!({
            "title": "Navy compiler support", "company_id": northwind_id, "contact_id": maria_id,
            "amount": 12_500.5, "currency": "eur", "expected_close": "2027-01-31", "owner": "sam", "idempotency_key": deal_key,
        })).await);
        assert_eq!(
            (
                deal["stage"].as_str(),
                deal["amount"].as_f64(),
                deal["currency"].as_str()
            ),
            (Some("lead"), Some(12_500.5), Some("EUR"))
        );
        let deal_again = data(&call(&client, "create_deal", json!({
            "title": "Navy compiler support", "company_id": northwind_id, "amount": 12_500.5, "idempotency_key": deal_key,
        })).await);
        assert_eq!(deal["id"], deal_again["id"]);
        assert!(
            error(
                &call(
                    &client,
                    "create_deal",
                    json!({"title": "X", "company_id": northwind_id, "amount": -1})
                )
                .await
            )
            .contains("amount")
        );
        assert!(error(&call(&client, "create_deal", json!({"title": "X", "company_id": northwind_id, "amount": 1, "expected_close": "2027-02-30"})).await).contains("date"));
        assert_eq!(
            error(
                &call(
                    &client,
                    "create_deal",
                    json!({"title": "X", "company_id": 99_999, "amount": 1})
                )
                .await
            ),
            "company 99999 not found"
        );
        let moved = data(
            &call(
                &client,
                "update_deal_stage",
                json!({"id": deal["id"], "stage": "proposal"}),
            )
            .await,
        );
        assert_eq!(moved["stage"], "proposal");
        assert!(
            error(
                &call(
                    &client,
                    "update_deal_stage",
                    json!({"id": deal["id"], "stage": "closed"})
                )
                .await
            )
            .contains("stage")
        );
        let proposals = data(&call(&client, "list_deals", json!({"stage": "proposal"})).await);
        assert!(
            proposals["deals"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["stage"] == "proposal")
        );
        let sams = data(&call(&client, "list_deals", json!({"owner": "SAM"})).await);
        assert!(sams["count"].as_u64().unwrap() >= 4);

        // Activities and tasks.
        let task = data(&call(&client, "log_activity", json!({
            "kind": "task", "subject": "Send the SLA", "contact_id": id, "deal_id": deal["id"], "due_at": "2020-01-01", "owner": "sam",
        })).await);
        assert_eq!(task["kind"], "task");
        assert!(
            error(
                &call(
                    &client,
                    "log_activity",
                    json!({"kind": "call", "subject": "Orphan"})
                )
                .await
            )
            .contains("contact_id")
        );
        let tasks = data(
            &call(
                &client,
                "list_upcoming_tasks",
                json!({"days": 7, "owner": "sam"}),
            )
            .await,
        );
        let mine = tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == task["id"])
            .unwrap();
        assert_eq!(mine["overdue"], true);
        assert_eq!(mine["contact_name"], "Grace Hopper");

        // Pipeline.
        let summary = data(&call(&client, "pipeline_summary", json!({})).await);
        assert_eq!(summary["stages"].as_array().unwrap().len(), 6);
        assert!(summary["open_amount"].as_f64().unwrap() > 1_000_000.0);

        // Resources and prompts.
        let uri = format!("crm://contacts/{maria_id}");
        let read = client
            .request("resources/read", json!({"uri": uri}))
            .await
            .unwrap();
        let body: Value =
            serde_json::from_str(read["contents"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(body["contact"]["first_name"], "Maria");
        let pipeline = client
            .request("resources/read", json!({"uri": "crm://pipeline"}))
            .await
            .unwrap();
        assert!(
            pipeline["contents"][0]["text"]
                .as_str()
                .unwrap()
                .contains("negotiation")
        );
        let company = client
            .request(
                "resources/read",
                json!({"uri": format!("crm://companies/{northwind_id}")}),
            )
            .await
            .unwrap();
        assert!(
            company["contents"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Northwind")
        );
        let missing = client
            .request("resources/read", json!({"uri": "crm://contacts/99999"}))
            .await
            .unwrap_err();
        assert_eq!(
            missing.code,
            if version.is_stateless() {
                -32602
            } else {
                -32002
            }
        );
        let brief = client.request("prompts/get", json!({"name": "account_brief", "arguments": {"company_id": northwind_id.to_string()}})).await.unwrap();
        assert!(
            brief["messages"][0]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("Maria Anders")
        );
        let email_prompt = client.request("prompts/get", json!({"name": "follow_up_email", "arguments": {"contact_id": maria_id.to_string(), "tone": "formal"}})).await.unwrap();
        assert!(
            email_prompt["messages"][1]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("formal")
        );
        let completion = client.request("completion/complete", json!({
            "ref": {"type": "ref/prompt", "name": "follow_up_email"}, "argument": {"name": "contact_id", "value": "maria"},
        })).await.unwrap();
        assert_eq!(
            completion["completion"]["values"],
            json!([maria_id.to_string()])
        );

        // Deleting asks first: confirmed by the user where the client can
        // ask, by the `confirm` argument where it cannot.
        let deleted = call(&client, "delete_contact", json!({"id": id})).await;
        if version.has_elicitation() {
            assert!(
                deleted["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("Deleted"),
                "{version}: {deleted}"
            );
        } else {
            assert!(
                deleted["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("Kept"),
                "{version}: {deleted}"
            );
            let deleted = call(
                &client,
                "delete_contact",
                json!({"id": id, "confirm": true}),
            )
            .await;
            assert!(
                deleted["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("Deleted")
            );
        }
        assert_eq!(
            error(&call(&client, "get_contact_details", json!({"id": id})).await),
            format!("contact {id} not found")
        );
    }
    // Every call was audited in the CRM's own database.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let audit = db.recent_audit(1_000).await.unwrap();
    assert!(audit.len() > 90, "{} records", audit.len());
    assert!(
        audit
            .iter()
            .any(|(m, t, o)| m == "tools/call" && t == "create_deal" && o == "tool_error")
    );
    assert!(
        audit
            .iter()
            .any(|(m, t, o)| m == "resources/read" && t == "crm://pipeline" && o == "ok")
    );
}

#[tokio::test]
async fn on_sqlite() {
    suite(sqlite().await).await;
}

#[tokio::test]
async fn on_postgres() {
    let (db, admin, name) = postgres().await;
    suite(db.clone()).await;
    drop_postgres(db, admin, name).await;
}

#[tokio::test]
async fn rest_api_and_mcp_share_the_app() {
    let db = sqlite().await;
    let server = mcp_server::Server::new(Crm::new(db.clone()));
    let app = crm_example::rest::app(
        db,
        server,
        mcp_server::transport::http::HttpConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let get = |path: String| async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header("host", addr.to_string())
            .body(http_body_util::Empty::<hyper::body::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (
            status,
            serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
        )
    };
    let (status, contacts) = get("/api/contacts?q=anders".into()).await;
    assert_eq!(status, 200);
    assert_eq!(contacts["total"], 1);
    let id = contacts["contacts"][0]["id"].as_i64().unwrap();
    let (_, details) = get(format!("/api/contacts/{id}")).await;
    assert_eq!(details["company"]["name"], "Northwind Traders");
    let (_, companies) = get("/api/companies".into()).await;
    assert_eq!(companies["companies"].as_array().unwrap().len(), 8);
    let (_, deals) = get("/api/deals?stage=won".into()).await;
    assert_eq!(deals["deals"].as_array().unwrap().len(), 2);
    let (status, error) = get("/api/deals?stage=closed".into()).await;
    assert_eq!(status, 400);
    assert!(error["error"].as_str().unwrap().contains("stage"));
    let (status, _) = get("/api/contacts/99999".into()).await;
    assert_eq!(status, 404);
    let (status, health) = get("/health".into()).await;
    assert_eq!((status, health["name"].as_str()), (200, Some("crm")));
}

/// A database made before tenants (migrations 1 and 2, with rows) gains
/// them in place: its rows keep their ids in the default tenant, ids are
/// not reused, and the unique e-mail and company name become per tenant.
async fn upgrade(url: &str, sqlite: bool) -> Db {
    let old: &[&str] = if sqlite {
        &[
            include_str!("../migrations/0001_init.sqlite.sql"),
            include_str!("../migrations/0002_audit.sqlite.sql"),
        ]
    } else {
        &[
            include_str!("../migrations/0001_init.postgres.sql"),
            include_str!("../migrations/0002_audit.postgres.sql"),
        ]
    };
    sqlx::any::install_default_drivers();
    let raw = if sqlite {
        format!("{url}?mode=rwc")
    } else {
        url.to_owned()
    };
    let pool = sqlx::AnyPool::connect(&raw).await.unwrap();
    sqlx::query(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    for (version, script) in (1_i64..).zip(old) {
        for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 'then')")
            .bind(version)
            .execute(&pool)
            .await
            .unwrap();
    }
    for statement in [
        "INSERT INTO companies (name, created_at) VALUES ('Initech', 'then')",
        "INSERT INTO contacts (first_name, last_name, email, company_id, created_at, updated_at)
         VALUES ('Peter', 'Gibbons', 'peter@initech.example', 1, 'then', 'then')",
        "INSERT INTO contacts (first_name, last_name, created_at, updated_at) VALUES ('Gone', 'Soon', 'then', 'then')",
        "DELETE FROM contacts WHERE id = 2",
        "INSERT INTO deals (title, company_id, contact_id, stage, amount_cents, currency, owner, created_at, updated_at)
         VALUES ('TPS reports', 1, 1, 'proposal', 100, 'USD', 'bill', 'then', 'then')",
        "INSERT INTO activities (kind, subject, contact_id, deal_id, owner, created_at) VALUES ('note', 'Met', 1, 1, 'bill', 'then')",
        "INSERT INTO idempotency_keys (key, tool, result, created_at) VALUES ('k1', 'create_contact', '{}', 'then')",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let db = Db::connect(url).await.unwrap();
    assert!(!db.seed_if_empty().await.unwrap(), "not an empty database");
    let details = db.contact_details(1).await.unwrap();
    assert_eq!(details.contact.company.as_deref(), Some("Initech"));
    assert_eq!(details.open_deals.len(), 1);
    assert_eq!(details.recent_activities.len(), 1);
    assert_eq!(
        db.idempotent_result("k1", "create_contact")
            .await
            .unwrap()
            .as_deref(),
        Some("{}")
    );
    let next = db
        .create_contact(&NewContact {
            first_name: "Joanna".into(),
            last_name: "Jones".into(),
            ..NewContact::default()
        })
        .await
        .unwrap();
    assert_eq!(next.id, 3, "the deleted contact's id is not reused");

    let acme = db.for_tenant("acme");
    assert!(matches!(
        acme.contact(1).await,
        Err(CrmError::NotFound { .. })
    ));
    assert!(
        acme.idempotent_result("k1", "create_contact")
            .await
            .unwrap()
            .is_none()
    );
    let twin = acme
        .create_contact(&NewContact {
            first_name: "Peter".into(),
            last_name: "Gibbons".into(),
            email: Some("peter@initech.example".into()),
            company: Some("Initech".into()),
            ..NewContact::default()
        })
        .await
        .unwrap();
    assert_ne!(twin.company_id, Some(1), "acme has its own Initech");
    assert_eq!(db.list_companies(None, 10, 0).await.unwrap().len(), 1);
    assert!(
        db.create_contact(&NewContact {
            first_name: "P".into(),
            last_name: "G".into(),
            email: Some("PETER@initech.example".into()),
            ..NewContact::default()
        })
        .await
        .is_err(),
        "still unique within a tenant"
    );
    db
}

#[tokio::test]
async fn upgrade_on_sqlite() {
    let path = std::env::temp_dir().join(unique("crm")).join("crm.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    upgrade(&format!("sqlite://{}", path.display()), true).await;
}

#[tokio::test]
async fn upgrade_on_postgres() {
    let (admin, name, url) = empty_postgres().await;
    let db = upgrade(&url, false).await;
    drop_postgres(db, admin, name).await;
}
