//! The CRM through the in-process client on every revision, against
//! SQLite and against PostgreSQL: the same suite on both. Then tenants over
//! real HTTP, and an upgrade of a database made before tenants, on both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crm_example::model::NewContact;
use crm_example::rest::RestApi;
use crm_example::{Crm, CrmError, Db, Tenancy};
use mcp_server::auth::ApiKeys;
use mcp_server::prelude::*;
use mcp_server::testing::{ClientScript, TestClient};
use mcp_server::transport::http::HttpConfig;
use serde_json::{Value, json};
use sqlx::Connection as _;

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

/// The test server's URL, checked once for the whole binary with one
/// connection: without PostgreSQL each test that needs it fails at once,
/// saying why, rather than waiting out a pool timeout that hides the cause.
async fn postgres_admin_url() -> &'static str {
    static CHECKED: tokio::sync::OnceCell<Result<String, String>> =
        tokio::sync::OnceCell::const_new();
    let checked = CHECKED
        .get_or_init(|| async {
            let url = std::env::var("TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            sqlx::any::install_default_drivers();
            let server = server_of(&url);
            let connect = sqlx::AnyConnection::connect(&url);
            match tokio::time::timeout(Duration::from_secs(5), connect).await {
                Ok(Ok(connection)) => {
                    let _ = connection.close().await;
                    Ok(url)
                }
                Ok(Err(e)) => Err(format!("PostgreSQL at {server} is not reachable: {e}")),
                Err(_) => Err(format!(
                    "PostgreSQL at {server} is not reachable: no answer within 5 s"
                )),
            }
        })
        .await;
    match checked {
        Ok(url) => url,
        Err(cause) => panic!(
            "{cause}; start it (`docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust \
             -e POSTGRES_DB=test postgres:17-alpine`) or set TEST_DATABASE_URL to a server that \
             allows CREATE DATABASE"
        ),
    }
}

/// `host:port` of a database URL, without the credentials.
fn server_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, server)| server)
}

/// A fresh, empty PostgreSQL database on the test server: the admin pool,
/// the database's name and its URL. Fails loudly when the server is not
/// there: this suite must run against a real PostgreSQL.
async fn empty_postgres() -> (sqlx::AnyPool, String, String) {
    let admin_url = postgres_admin_url().await;
    let admin = sqlx::AnyPool::connect(admin_url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for this test ({}): {e}",
            server_of(admin_url)
        )
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
    let mut servers = Vec::new();
    for version in [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ] {
        let server = crm(&db);
        servers.push(server.clone());
        let client = TestClient::connect_scripted(server, version, script.clone())
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
            "first_name": "Grace", "last_name": "Hopper", "email": email, "company": "Navy Labs",
            "tags": ["VIP", "engineering"], "idempotency_key": key,
        })).await);
        assert_eq!(
            created["id"], again["id"],
            "{version}: a retried create does not create twice"
        );
        assert!(
            error(&call(&client, "create_contact", json!({
                "first_name": "Grace", "last_name": "Hopper", "email": email, "idempotency_key": key,
            })).await)
            .contains("different arguments"),
            "{version}: a key is not reused for another call"
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
            "title": "Navy compiler support", "company_id": northwind_id, "contact_id": maria_id,
            "amount": 12_500.5, "currency": "eur", "expected_close": "2027-01-31", "owner": "sam", "idempotency_key": deal_key,
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
    // Every request was audited in the CRM's own database.
    for server in &servers {
        server.flush_audit().await;
    }
    let audit = db.recent_audit(10_000).await.unwrap();
    assert!(audit.len() > 90, "{} records", audit.len());
    let has = |method: &str, target: &str, outcome: &str| {
        audit.iter().any(|(m, t, o)| {
            m.as_deref() == Some(method) && t.as_deref() == Some(target) && o == outcome
        })
    };
    assert!(has("tools/call", "create_deal", "tool_error"));
    assert!(has("resources/read", "crm://pipeline", "ok"));
    assert!(
        audit
            .iter()
            .any(|(m, t, o)| { m.as_deref() == Some("tools/list") && t.is_none() && o == "ok" })
    );
}

#[tokio::test]
async fn on_sqlite() {
    suite(sqlite().await).await;
}

/// `DATABASE_URL=sqlite::memory:` for a throwaway CRM: the data lives in
/// the pool's one connection, so every request sees the same database.
#[tokio::test]
async fn on_sqlite_in_memory() {
    for url in ["sqlite://:memory:", "sqlite://?mode=memory"] {
        let db = Db::connect(url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(db.seed_if_empty().await.unwrap(), "{url}");
        assert!(!db.seed_if_empty().await.unwrap(), "{url}");
    }
    let db = Db::connect("sqlite::memory:").await.unwrap();
    assert!(
        db.seed_if_empty().await.unwrap(),
        "a new database is seeded"
    );
    let other = Db::connect("sqlite::memory:").await.unwrap();
    assert!(
        other.seed_if_empty().await.unwrap(),
        "each handle has its own database"
    );
    suite(db).await;
}

#[tokio::test]
async fn on_postgres() {
    let (db, admin, name) = postgres().await;
    suite(db.clone()).await;
    drop_postgres(db, admin, name).await;
}

/// Serves `app` on a loopback port.
async fn listen(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// One HTTP request: the status and the JSON body (null if not JSON).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (u16, Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
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
}

#[tokio::test]
async fn rest_api_and_mcp_share_the_app() {
    let db = sqlite().await;
    let server = mcp_server::Server::new(Crm::new(db.clone()));
    let addr = listen(crm_example::rest::app(db, server, HttpConfig::default())).await;
    let get = |path: String| async move { http(addr, "GET", &path, &[], String::new()).await };
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
    // The MCP service's other endpoints are on the same app.
    assert_eq!(get("/metrics".into()).await.0, 200);
    let (status, diagnostics) = get("/diagnostics".into()).await;
    assert_eq!(
        (status, diagnostics["server"]["name"].as_str()),
        (200, Some("crm"))
    );
}

/// Someone calling the CRM over HTTP with these headers (credentials, a
/// gateway's tenant header), on the stateless revision.
struct Caller {
    addr: SocketAddr,
    headers: Vec<(&'static str, &'static str)>,
}

impl Caller {
    fn new(addr: SocketAddr, headers: &[(&'static str, &'static str)]) -> Self {
        Self {
            addr,
            headers: headers.to_vec(),
        }
    }

    /// One request; the HTTP status and the JSON-RPC response.
    async fn send(&self, method: &str, params: Value) -> (u16, Value) {
        let mut params = params;
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        let name = params
            .get("name")
            .or_else(|| params.get("uri"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut headers = vec![
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", method),
        ];
        if let Some(name) = &name {
            headers.push(("mcp-name", name));
        }
        headers.extend(self.headers.iter().copied());
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        http(self.addr, "POST", "/mcp", &headers, body.to_string()).await
    }

    /// One request; the whole JSON-RPC response.
    async fn request(&self, method: &str, params: Value) -> Value {
        let (_, response) = self.send(method, params).await;
        assert!(
            response.get("result").is_some() || response.get("error").is_some(),
            "{method}: {response}"
        );
        response
    }

    /// One tool call; its result.
    async fn call(&self, tool: &str, arguments: Value) -> Value {
        let response = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await;
        response["result"].clone()
    }

    /// A REST `GET`: the status and body.
    async fn get(&self, path: &str) -> (u16, Value) {
        http(self.addr, "GET", path, &self.headers, String::new()).await
    }
}

/// What one tenant created.
struct Book {
    owner: &'static str,
    contact: i64,
    company: i64,
    deal: i64,
    task: i64,
}

fn id(value: &Value) -> i64 {
    value["id"].as_i64().unwrap()
}

fn ids(values: &Value) -> Vec<i64> {
    values.as_array().unwrap().iter().map(id).collect()
}

/// The JSON a resource read or a prompt returned as text.
fn text(response: &Value) -> String {
    let result = &response["result"];
    result["contents"][0]["text"]
        .as_str()
        .or_else(|| result["messages"][0]["content"]["text"].as_str())
        .unwrap_or_else(|| panic!("no text in {response}"))
        .to_owned()
}

/// Two tenants over real HTTP with `name@tenant` API keys, on the CRM with
/// tenancy required: each sees and changes only its own rows.
async fn tenants(db: Db) {
    let keys = ApiKeys::parse(
        "alice@acme:acme-key-0123456789, bob@globex:globex-key-0123456789, \
         ops:ops-key-0123456789, archivist@default:default-key-0123456789",
    )
    .unwrap();
    let server = mcp_server::Server::builder()
        .definition(Crm::new(db.clone()).tenancy(Tenancy::Required))
        .audit(crm_example::audit::DbAudit::new(db.clone()))
        .build();
    let config = HttpConfig::default()
        .authenticator(keys.clone())
        .tenant_header("X-Tenant-Id");
    let app = RestApi::new(db.clone())
        .tenancy(Tenancy::Required)
        .app(server, config);
    let addr = listen(app).await;
    let acme = Caller::new(addr, &[("x-api-key", "acme-key-0123456789")]);
    let globex = Caller::new(addr, &[("authorization", "Bearer globex-key-0123456789")]);
    let nobody = Caller::new(addr, &[("x-api-key", "ops-key-0123456789")]);

    // Each tenant builds a book with the same company name, e-mail address
    // and idempotency keys as the other: all per tenant.
    let mut books = Vec::new();
    for (caller, owner) in [(&acme, "ann"), (&globex, "gus")] {
        let new_contact = json!({
            "first_name": "Pat", "last_name": owner, "email": "pat@initech.example",
            "company": "Initech", "idempotency_key": "first-contact",
        });
        let contact = data(&caller.call("create_contact", new_contact.clone()).await);
        let again = data(&caller.call("create_contact", new_contact).await);
        assert_eq!(contact["id"], again["id"], "{owner}: a retry");
        let company = contact["company_id"].as_i64().unwrap();
        let deal = data(&caller.call("create_deal", json!({
            "title": format!("{owner}'s pilot"), "company_id": company, "contact_id": id(&contact),
            "amount": 1000, "owner": owner, "idempotency_key": "first-deal",
        })).await);
        let task = data(&caller.call("log_activity", json!({
            "kind": "task", "subject": format!("Call {owner}"), "contact_id": id(&contact),
            "deal_id": id(&deal), "due_at": "2020-01-01", "owner": owner, "idempotency_key": "first-task",
        })).await);
        books.push(Book {
            owner,
            contact: id(&contact),
            company,
            deal: id(&deal),
            task: id(&task),
        });
    }
    let (a, g) = (&books[0], &books[1]);
    assert_ne!(a.contact, g.contact, "one idempotency key, two tenants");
    assert_ne!(a.company, g.company, "one company name, two tenants");
    assert_ne!(a.deal, g.deal);
    let maria = db
        .search_contacts("maria anders", None, None, 1, 0)
        .await
        .unwrap()
        .0[0]
        .id;

    for (caller, mine, theirs) in [(&acme, a, g), (&globex, g, a)] {
        let who = mine.owner;
        // Lists, searches and summaries hold this tenant's rows only, and
        // none of the sample data (which belongs to the default tenant).
        let page = data(&caller.call("search_contacts", json!({})).await);
        assert_eq!(
            (page["total"].as_i64(), ids(&page["contacts"])),
            (Some(1), vec![mine.contact]),
            "{who}"
        );
        let pat = data(
            &caller
                .call("search_contacts", json!({"query": "pat"}))
                .await,
        );
        assert_eq!(ids(&pat["contacts"]), [mine.contact], "{who}");
        let northwind = data(
            &caller
                .call("search_contacts", json!({"query": "northwind"}))
                .await,
        );
        assert_eq!(northwind["total"], 0, "{who}");
        let companies = data(&caller.call("list_companies", json!({})).await);
        assert_eq!(ids(&companies["companies"]), [mine.company], "{who}");
        assert_eq!(companies["companies"][0]["contacts"], 1);
        assert_eq!(companies["companies"][0]["open_deals"], 1);
        let deals = data(&caller.call("list_deals", json!({})).await);
        assert_eq!(ids(&deals["deals"]), [mine.deal], "{who}");
        let tasks = data(&caller.call("list_upcoming_tasks", json!({"days": 7})).await);
        assert_eq!(ids(&tasks["tasks"]), [mine.task], "{who}");
        let summary = data(&caller.call("pipeline_summary", json!({})).await);
        assert_eq!(
            (
                summary["open_deals"].as_i64(),
                summary["open_amount"].as_f64()
            ),
            (Some(1), Some(1000.0)),
            "{who}"
        );
        let details = data(
            &caller
                .call("get_contact_details", json!({"id": mine.contact}))
                .await,
        );
        assert_eq!(ids(&details["open_deals"]), [mine.deal]);
        assert_eq!(ids(&details["recent_activities"]), [mine.task]);
        let company = data(
            &caller
                .call("get_company", json!({"id": mine.company}))
                .await,
        );
        assert_eq!(ids(&company["contacts"]), [mine.contact]);

        // Another tenant's ids, and the sample data's, are unknown ids.
        for (tool, arguments, message) in [
            (
                "get_contact_details",
                json!({"id": theirs.contact}),
                format!("contact {} not found", theirs.contact),
            ),
            (
                "get_contact_details",
                json!({"id": maria}),
                format!("contact {maria} not found"),
            ),
            (
                "get_company",
                json!({"id": theirs.company}),
                format!("company {} not found", theirs.company),
            ),
            (
                "update_contact",
                json!({"id": theirs.contact, "title": "Intruder", "company": "Hijack Inc"}),
                format!("contact {} not found", theirs.contact),
            ),
            (
                "update_deal_stage",
                json!({"id": theirs.deal, "stage": "lost"}),
                format!("deal {} not found", theirs.deal),
            ),
            (
                "delete_contact",
                json!({"id": theirs.contact, "confirm": true}),
                format!("contact {} not found", theirs.contact),
            ),
            (
                "create_deal",
                json!({"title": "Poach", "company_id": theirs.company, "amount": 1}),
                format!("company {} not found", theirs.company),
            ),
            (
                "create_deal",
                json!({"title": "Poach", "company_id": mine.company, "contact_id": theirs.contact, "amount": 1}),
                format!("contact {} not found", theirs.contact),
            ),
            (
                "log_activity",
                json!({"kind": "note", "subject": "Snoop", "deal_id": theirs.deal}),
                format!("deal {} not found", theirs.deal),
            ),
            (
                "log_activity",
                json!({"kind": "note", "subject": "Snoop", "contact_id": theirs.contact}),
                format!("contact {} not found", theirs.contact),
            ),
        ] {
            assert_eq!(
                error(&caller.call(tool, arguments.clone()).await),
                message,
                "{who}: {tool} {arguments}"
            );
        }
        let filtered = data(
            &caller
                .call("search_contacts", json!({"company_id": theirs.company}))
                .await,
        );
        assert_eq!(filtered["total"], 0, "{who}");
        let filtered = data(
            &caller
                .call("list_deals", json!({"company_id": theirs.company}))
                .await,
        );
        assert_eq!(filtered["count"], 0, "{who}");

        // Resources and prompts: the same rule.
        let own = caller
            .request(
                "resources/read",
                json!({"uri": format!("crm://contacts/{}", mine.contact)}),
            )
            .await;
        assert!(text(&own).contains(who), "{who}: {own}");
        let own = caller
            .request(
                "resources/read",
                json!({"uri": format!("crm://companies/{}", mine.company)}),
            )
            .await;
        assert!(text(&own).contains("Initech"), "{who}: {own}");
        let unknown = caller
            .request("resources/read", json!({"uri": "crm://contacts/99999999"}))
            .await;
        for uri in [
            format!("crm://contacts/{}", theirs.contact),
            format!("crm://companies/{}", theirs.company),
            format!("crm://contacts/{maria}"),
        ] {
            let read = caller.request("resources/read", json!({"uri": uri})).await;
            assert_eq!(
                read["error"]["code"], unknown["error"]["code"],
                "{who}: {read}"
            );
            assert!(
                read["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("not found"),
                "{who}: {read}"
            );
        }
        let pipeline = caller
            .request("resources/read", json!({"uri": "crm://pipeline"}))
            .await;
        let pipeline: Value = serde_json::from_str(&text(&pipeline)).unwrap();
        assert_eq!(pipeline["open_deals"], 1, "{who}");
        let brief = caller
            .request("prompts/get", json!({"name": "account_brief", "arguments": {"company_id": mine.company.to_string()}}))
            .await;
        assert!(
            text(&brief).contains(&format!("Pat {who}")),
            "{who}: {brief}"
        );
        assert!(!text(&brief).contains(theirs.owner), "{who}: {brief}");
        let brief = caller
            .request("prompts/get", json!({"name": "account_brief", "arguments": {"company_id": theirs.company.to_string()}}))
            .await;
        assert_eq!(
            brief["error"]["message"],
            format!("invalid params: company {} not found", theirs.company),
            "{who}: as for an unknown id"
        );
        let email = caller
            .request("prompts/get", json!({"name": "follow_up_email", "arguments": {"contact_id": theirs.contact.to_string()}}))
            .await;
        assert_eq!(
            email["error"]["message"],
            format!("invalid params: contact {} not found", theirs.contact),
            "{who}: as for an unknown id"
        );
        // Completion requests carry no tenant, so they offer nothing.
        let completion = caller
            .request(
                "completion/complete",
                json!({
                    "ref": {"type": "ref/prompt", "name": "follow_up_email"},
                    "argument": {"name": "contact_id", "value": "pat"},
                }),
            )
            .await;
        assert_eq!(
            completion["result"]["completion"]["values"],
            json!([]),
            "{who}"
        );

        // REST, with the same key: its tenant's rows only.
        let rest = caller;
        let (status, contacts) = rest.get("/api/contacts").await;
        assert_eq!(
            (status, ids(&contacts["contacts"])),
            (200, vec![mine.contact]),
            "{who}"
        );
        let (_, companies) = rest.get("/api/companies").await;
        assert_eq!(ids(&companies["companies"]), [mine.company], "{who}");
        let (_, deals) = rest.get("/api/deals").await;
        assert_eq!(ids(&deals["deals"]), [mine.deal], "{who}");
        assert_eq!(
            rest.get(&format!("/api/contacts/{}", mine.contact)).await.0,
            200
        );
        for path in [
            format!("/api/contacts/{}", theirs.contact),
            format!("/api/companies/{}", theirs.company),
            format!("/api/deals/{}", theirs.deal),
            format!("/api/contacts/{maria}"),
        ] {
            let (status, body) = rest.get(&path).await;
            assert_eq!(status, 404, "{who}: {path}: {body}");
        }
    }

    // Nothing the other tenant tried changed anything.
    for (caller, mine) in [(&acme, a), (&globex, g)] {
        let details = data(
            &caller
                .call("get_contact_details", json!({"id": mine.contact}))
                .await,
        );
        assert_eq!(details["contact"]["title"], Value::Null, "{}", mine.owner);
        assert_eq!(details["contact"]["company"], "Initech");
        assert_eq!(details["open_deals"][0]["stage"], "lead");
        assert_eq!(ids(&details["recent_activities"]), [mine.task]);
        let companies = data(&caller.call("list_companies", json!({})).await);
        assert_eq!(ids(&companies["companies"]), [mine.company]);
    }
    for tenant in ["default", "acme", "globex"] {
        let hijack = db
            .for_tenant(tenant)
            .list_companies(Some("hijack"), 10, 0)
            .await
            .unwrap();
        assert!(hijack.is_empty(), "{tenant}: {hijack:?}");
    }
    assert_eq!(
        db.contact(maria).await.unwrap().title.as_deref(),
        Some("Purchasing Manager")
    );

    // A key without a tenant takes the gateway's; a tenant's key cannot be
    // pointed at another tenant.
    let gateway = Caller::new(
        addr,
        &[("x-api-key", "ops-key-0123456789"), ("x-tenant-id", "acme")],
    );
    let page = data(&gateway.call("search_contacts", json!({})).await);
    assert_eq!(ids(&page["contacts"]), [a.contact]);
    let crossed = Caller::new(
        addr,
        &[
            ("x-api-key", "acme-key-0123456789"),
            ("x-tenant-id", "globex"),
        ],
    );
    assert_eq!(crossed.send("tools/list", json!({})).await.0, 403);
    // The default tenant holds the sample data, for a key issued to it.
    let archivist = Caller::new(addr, &[("x-api-key", "default-key-0123456789")]);
    let northwind = data(
        &archivist
            .call("search_contacts", json!({"query": "northwind"}))
            .await,
    );
    assert_eq!(northwind["total"], 2);

    // Without a tenant: a clear tool error, and nothing is read or written.
    let tools = nobody.request("tools/list", json!({})).await;
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 13);
    for (tool, arguments) in [
        ("search_contacts", json!({})),
        (
            "create_contact",
            json!({"first_name": "No", "last_name": "Tenant"}),
        ),
        ("get_contact_details", json!({"id": a.contact})),
        ("pipeline_summary", json!({})),
    ] {
        let message = error(&nobody.call(tool, arguments).await);
        for needle in ["requires a tenant", "name@tenant", "MCP_TENANT_HEADER"] {
            assert!(message.contains(needle), "{tool}: {message}");
        }
    }
    for tenant in ["default", "acme", "globex"] {
        let (found, _) = db
            .for_tenant(tenant)
            .search_contacts("tenant", None, None, 10, 0)
            .await
            .unwrap();
        assert!(found.is_empty(), "{tenant}");
    }
    let read = nobody
        .request("resources/read", json!({"uri": "crm://pipeline"}))
        .await;
    assert!(
        read["error"]["message"]
            .as_str()
            .unwrap()
            .contains("requires a tenant"),
        "{read}"
    );
    let brief = nobody
        .request(
            "prompts/get",
            json!({"name": "account_brief", "arguments": {"company_id": a.company.to_string()}}),
        )
        .await;
    assert!(
        brief["error"]["message"]
            .as_str()
            .unwrap()
            .contains("requires a tenant"),
        "{brief}"
    );
    // REST without a tenant: 403, saying how to name one.
    let (status, body) = nobody.get("/api/contacts").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("MCP_TENANT_HEADER"),
        "{body}"
    );

    // Deleting is confined too: acme deletes its contact, globex keeps its.
    let deleted = acme
        .call("delete_contact", json!({"id": a.contact, "confirm": true}))
        .await;
    assert!(
        deleted["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Deleted"),
        "{deleted}"
    );
    let kept = data(
        &globex
            .call("get_contact_details", json!({"id": g.contact}))
            .await,
    );
    assert_eq!(ids(&kept["recent_activities"]), [g.task]);

    // A REST API with tenancy required but no trusted header refuses all.
    let server = mcp_server::Server::new(Crm::new(db.clone()).tenancy(Tenancy::Required));
    let app = RestApi::new(db.clone())
        .tenancy(Tenancy::Required)
        .app(server, HttpConfig::default());
    let blind = Caller::new(listen(app).await, &[("x-tenant-id", "acme")]);
    let (status, body) = blind.get("/api/contacts").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("MCP_TENANT_HEADER"),
        "{body}"
    );

    // With tenancy off, tenant keys and headers change nothing: one book.
    let server = mcp_server::Server::new(Crm::new(db.clone()));
    let config = HttpConfig::default()
        .authenticator(keys)
        .tenant_header("X-Tenant-Id");
    let off = listen(crm_example::rest::app(db.clone(), server, config)).await;
    let acme_off = Caller::new(
        off,
        &[
            ("x-api-key", "acme-key-0123456789"),
            ("x-tenant-id", "acme"),
        ],
    );
    let northwind = data(
        &acme_off
            .call("search_contacts", json!({"query": "northwind"}))
            .await,
    );
    assert_eq!(northwind["total"], 2);
    assert_eq!(
        error(
            &acme_off
                .call("get_contact_details", json!({"id": g.contact}))
                .await
        ),
        format!("contact {} not found", g.contact)
    );
    let (status, companies) = acme_off.get("/api/companies").await;
    assert_eq!(
        (status, companies["companies"].as_array().unwrap().len()),
        (200, 8)
    );
}

#[tokio::test]
async fn tenants_on_sqlite() {
    tenants(sqlite().await).await;
}

#[tokio::test]
async fn tenants_on_postgres() {
    let (db, admin, name) = postgres().await;
    tenants(db.clone()).await;
    drop_postgres(db, admin, name).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once_on_postgres() {
    let (admin, name, url) = empty_postgres().await;
    let replicas: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Db::connect(&url).await })
        })
        .collect();
    let mut dbs = Vec::new();
    for replica in replicas {
        dbs.push(replica.await.unwrap().expect("every replica starts"));
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&sqlx::AnyPool::connect(&url).await.unwrap())
            .await
            .unwrap();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    for db in dbs.split_off(1) {
        db.close().await;
    }
    drop_postgres(dbs.remove(0), admin, name).await;
}
