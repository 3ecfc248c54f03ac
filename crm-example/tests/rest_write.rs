//! The REST API's writes over real HTTP, on SQLite and on PostgreSQL:
//! create, read, update and delete of every record, tenants kept apart,
//! scopes, bad input answered 4xx with a JSON body, idempotent retries,
//! concurrent updates, the audit log and the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crm_example::audit::DbAudit;
use crm_example::rest::RestApi;
use crm_example::{Crm, Db, Tenancy};
use mcp_server::auth::ApiKeys;
use mcp_server::transport::http::HttpConfig;
use serde_json::{Value, json};

const ALICE: &str = "acme-key-0123456789";
const BOB: &str = "globex-key-0123456789";
const READER: &str = "read-key-0123456789";

fn keys() -> ApiKeys {
    ApiKeys::parse(&format!(
        "alice@acme:{ALICE}:crm:read+crm:write, bob@globex:{BOB}:crm:read+crm:write, \
         reader@acme:{READER}:crm:read"
    ))
    .unwrap()
}

fn unique(prefix: &str) -> String {
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

/// A fresh database, and what to drop once the test is done.
struct Store {
    db: Db,
    postgres: Option<(sqlx::AnyPool, String)>,
}

impl Store {
    async fn sqlite() -> Self {
        let path = std::env::temp_dir()
            .join(unique("crm_rest_write"))
            .join("crm.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        Self { db, postgres: None }
    }

    /// Fails loudly when PostgreSQL is not there.
    async fn postgres() -> Self {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for this test ({admin_url}): {e}; set TEST_DATABASE_URL"
                )
            });
        let name = unique("crm_rest");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let db = Db::connect(&format!("{base}/{name}")).await.unwrap();
        Self {
            db,
            postgres: Some((admin, name)),
        }
    }

    async fn finish(self) {
        self.db.close().await;
        if let Some((admin, name)) = self.postgres {
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&admin)
                .await
                .unwrap();
        }
    }
}

/// The CRM's web application on a loopback port: tenancy required, reads
/// need `crm:read`, writes `crm:write`, REST audited to the database.
async fn serve(db: &Db) -> SocketAddr {
    let server = mcp_server::Server::new(Crm::new(db.clone()).tenancy(Tenancy::Required));
    let app = RestApi::new(db.clone())
        .tenancy(Tenancy::Required)
        .scopes(["crm:read"], ["crm:write"])
        .audit(DbAudit::new(db.clone()))
        .app(server, HttpConfig::default().authenticator(keys()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// An answer: status, content type and JSON body (`Null` when empty).
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Value,
}

/// One request: `body` is sent as given, with `Content-Type:
/// application/json` unless `headers` names another.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
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
        .header("x-api-key", key);
    if body.is_some()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        request = request.header("content-type", "application/json");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(hyper::body::Bytes::from(
            body.unwrap_or("").to_owned(),
        )))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), sender.send_request(request))
        .await
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Answer {
        status,
        content_type,
        body,
    }
}

async fn send(addr: SocketAddr, method: &str, path: &str, key: &str, body: Value) -> Answer {
    call(addr, method, path, key, &[], Some(&body.to_string())).await
}

async fn get(addr: SocketAddr, path: &str, key: &str) -> Answer {
    call(addr, "GET", path, key, &[], None).await
}

async fn delete(addr: SocketAddr, path: &str, key: &str) -> Answer {
    call(addr, "DELETE", path, key, &[], None).await
}

/// A refusal: the status, and the API's JSON error body.
fn refused(answer: &Answer, status: u16) -> String {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    answer.body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {answer:?}"))
        .to_owned()
}

fn id(answer: &Answer) -> i64 {
    answer.body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {answer:?}"))
}

/// Creates, reads, changes and deletes one of each record; returns the
/// paths of a company, contact, deal and activity left in place.
async fn crud(addr: SocketAddr) -> [String; 4] {
    let company = send(
        addr,
        "POST",
        "/api/companies",
        ALICE,
        json!({"name": "Initech", "industry": "software"}),
    )
    .await;
    assert_eq!(company.status, 201, "{company:?}");
    let company_path = format!("/api/companies/{}", id(&company));
    let changed = send(
        addr,
        "PATCH",
        &company_path,
        ALICE,
        json!({"domain": "initech.example"}),
    )
    .await;
    assert_eq!(
        (changed.status, &changed.body["domain"]),
        (200, &json!("initech.example"))
    );
    assert_eq!(
        changed.body["industry"], "software",
        "a PATCH keeps what it does not name"
    );
    assert_eq!(get(addr, &company_path, ALICE).await.body, changed.body);

    let contact = send(
        addr,
        "POST",
        "/api/contacts",
        ALICE,
        json!({"first_name": "Peter", "last_name": "Gibbons", "email": "peter@initech.example", "company": "Initech", "tags": ["vip"]}),
    )
    .await;
    assert_eq!(contact.status, 201, "{contact:?}");
    assert_eq!(
        contact.body["company_id"], company.body["id"],
        "the existing company"
    );
    let contact_path = format!("/api/contacts/{}", id(&contact));
    let changed = send(
        addr,
        "PATCH",
        &contact_path,
        ALICE,
        json!({"title": "Engineer", "email": null}),
    )
    .await;
    assert_eq!(
        (changed.status, &changed.body["title"]),
        (200, &json!("Engineer"))
    );
    assert_eq!(
        changed.body["email"], "peter@initech.example",
        "null keeps a field"
    );
    let details = get(addr, &contact_path, ALICE).await;
    assert_eq!(
        (details.status, &details.body["contact"]),
        (200, &changed.body)
    );

    let deal = send(
        addr,
        "POST",
        "/api/deals",
        ALICE,
        json!({"title": "TPS reports", "company_id": id(&company), "contact_id": id(&contact), "amount": 1200.5}),
    )
    .await;
    assert_eq!(
        (deal.status, &deal.body["stage"]),
        (201, &json!("lead")),
        "{deal:?}"
    );
    let deal_path = format!("/api/deals/{}", id(&deal));
    let changed = send(
        addr,
        "PATCH",
        &deal_path,
        ALICE,
        json!({"stage": "proposal", "amount": 1500, "currency": "eur"}),
    )
    .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(
        (
            &changed.body["stage"],
            &changed.body["amount"],
            &changed.body["currency"],
            &changed.body["title"]
        ),
        (
            &json!("proposal"),
            &json!(1500.0),
            &json!("EUR"),
            &json!("TPS reports")
        )
    );
    assert_eq!(get(addr, &deal_path, ALICE).await.body, changed.body);

    let activity = send(
        addr,
        "POST",
        "/api/activities",
        ALICE,
        json!({"kind": "task", "subject": "Send cover sheet", "deal_id": id(&deal), "due_at": "2027-01-15"}),
    )
    .await;
    assert_eq!(
        (activity.status, &activity.body["done"]),
        (201, &json!(false)),
        "{activity:?}"
    );
    let activity_path = format!("/api/activities/{}", id(&activity));
    let changed = send(addr, "PATCH", &activity_path, ALICE, json!({"done": true})).await;
    assert_eq!((changed.status, &changed.body["done"]), (200, &json!(true)));
    assert_eq!(get(addr, &activity_path, ALICE).await.body, changed.body);
    let listed = get(
        addr,
        &format!("/api/activities?deal_id={}", id(&deal)),
        ALICE,
    )
    .await;
    assert_eq!(listed.body["activities"], json!([changed.body]));

    // Each kind deleted: 204 with no body, then 404.
    let spare = send(
        addr,
        "POST",
        "/api/activities",
        ALICE,
        json!({"kind": "note", "subject": "x", "contact_id": id(&contact)}),
    )
    .await;
    let spare_company = send(
        addr,
        "POST",
        "/api/companies",
        ALICE,
        json!({"name": "Spare"}),
    )
    .await;
    let spare_contact = send(
        addr,
        "POST",
        "/api/contacts",
        ALICE,
        json!({"first_name": "S", "last_name": "P"}),
    )
    .await;
    let spare_deal = send(
        addr,
        "POST",
        "/api/deals",
        ALICE,
        json!({"title": "S", "company_id": id(&spare_company), "amount": 1}),
    )
    .await;
    for path in [
        format!("/api/activities/{}", id(&spare)),
        format!("/api/deals/{}", id(&spare_deal)),
        format!("/api/contacts/{}", id(&spare_contact)),
        format!("/api/companies/{}", id(&spare_company)),
    ] {
        let deleted = delete(addr, &path, ALICE).await;
        assert_eq!(
            (deleted.status, &deleted.body),
            (204, &Value::Null),
            "{path}"
        );
        refused(&get(addr, &path, ALICE).await, 404);
        refused(&delete(addr, &path, ALICE).await, 404);
    }
    [company_path, contact_path, deal_path, activity_path]
}

async fn tenants_and_scopes(addr: SocketAddr, db: &Db) {
    let paths = crud(addr).await;
    for path in &paths {
        // Bob's tenant sees none of acme's records: 404, never 403.
        refused(&get(addr, path, BOB).await, 404);
        refused(
            &send(
                addr,
                "PATCH",
                path,
                BOB,
                json!({"owner": "bob", "name": "Bobco", "title": "Bob"}),
            )
            .await,
            404,
        );
        refused(&delete(addr, path, BOB).await, 404);
        // The reader reads, and may not write.
        assert_eq!(get(addr, path, READER).await.status, 200, "{path}");
        refused(
            &send(
                addr,
                "PATCH",
                path,
                READER,
                json!({"owner": "reader", "name": "Readco", "title": "R"}),
            )
            .await,
            403,
        );
        refused(&delete(addr, path, READER).await, 403);
        assert_eq!(
            get(addr, path, ALICE).await.status,
            200,
            "{path} still there"
        );
    }
    let forbidden = send(
        addr,
        "POST",
        "/api/companies",
        READER,
        json!({"name": "Nope"}),
    )
    .await;
    refused(&forbidden, 403);
    let acme = db.for_tenant("acme");
    assert!(
        acme.list_companies(Some("Nope"), 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.for_tenant("globex")
            .list_companies(None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Bob may not attach his deal to acme's company either.
    let company_id: i64 = paths[0].rsplit('/').next().unwrap().parse().unwrap();
    let theirs = send(
        addr,
        "POST",
        "/api/deals",
        BOB,
        json!({"title": "x", "company_id": company_id, "amount": 1}),
    )
    .await;
    refused(&theirs, 404);
    // Writes are in the audit log, with who made them.
    let audit = db.recent_audit(500).await.unwrap();
    for (method, target) in [
        ("POST", "/api/companies"),
        ("PATCH", paths[2].as_str()),
        ("DELETE", paths[1].as_str()),
    ] {
        assert!(
            audit
                .iter()
                .any(|(m, t, _)| m.as_deref() == Some(method) && t.as_deref() == Some(target)),
            "{method} {target} not audited: {audit:?}"
        );
    }
    assert!(
        audit
            .iter()
            .any(|(m, _, outcome)| m.as_deref() == Some("DELETE") && outcome == "denied")
    );
}

#[tokio::test]
async fn crud_tenants_and_scopes_on_sqlite() {
    let store = Store::sqlite().await;
    tenants_and_scopes(serve(&store.db).await, &store.db).await;
    store.finish().await;
}

#[tokio::test]
async fn crud_tenants_and_scopes_on_postgres() {
    let store = Store::postgres().await;
    tenants_and_scopes(serve(&store.db).await, &store.db).await;
    store.finish().await;
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_json_body() {
    let store = Store::sqlite().await;
    let addr = serve(&store.db).await;
    let [company, contact, deal, _] = crud(addr).await;
    let post = |path: &'static str, body: &'static str| async move {
        call(addr, "POST", path, ALICE, &[], Some(body)).await
    };
    // Not JSON, JSON of the wrong shape, not declared JSON.
    refused(&post("/api/contacts", "{\"first_name\": ").await, 400);
    refused(&post("/api/contacts", "{\"first_name\": \"A\"}").await, 422);
    refused(
        &post(
            "/api/deals",
            "{\"title\": \"A\", \"company_id\": \"one\", \"amount\": 1}",
        )
        .await,
        422,
    );
    refused(
        &post(
            "/api/activities",
            "{\"kind\": \"fax\", \"subject\": \"A\", \"contact_id\": 1}",
        )
        .await,
        422,
    );
    refused(&post("/api/companies", "[]").await, 422);
    let text = call(
        addr,
        "POST",
        "/api/companies",
        ALICE,
        &[("content-type", "text/plain")],
        Some("{}"),
    )
    .await;
    refused(&text, 415);
    // Values the CRM refuses.
    for (path, body) in [
        (
            "/api/contacts",
            json!({"first_name": " ", "last_name": "B"}),
        ),
        (
            "/api/contacts",
            json!({"first_name": "A", "last_name": "B", "email": "not-an-address"}),
        ),
        (
            "/api/contacts",
            json!({"first_name": "x".repeat(201), "last_name": "B"}),
        ),
        (
            "/api/contacts",
            json!({"first_name": "A", "last_name": "B", "tags": ["a,b"]}),
        ),
        ("/api/companies", json!({"name": ""})),
        (
            "/api/deals",
            json!({"title": "A", "company_id": 1, "amount": -1}),
        ),
        ("/api/activities", json!({"kind": "note", "subject": "A"})),
        (
            "/api/activities",
            json!({"kind": "task", "subject": "A", "contact_id": 1, "due_at": "soon"}),
        ),
    ] {
        let answer = send(addr, "POST", path, ALICE, body.clone()).await;
        assert!(!refused(&answer, 400).is_empty(), "{path} {body}");
    }
    for path in [&company, &contact, &deal] {
        let nothing = send(addr, "PATCH", path, ALICE, json!({})).await;
        assert!(refused(&nothing, 400).contains("nothing to update"));
    }
    refused(
        &send(
            addr,
            "PATCH",
            &deal,
            ALICE,
            json!({"expected_close": "2026-02-30"}),
        )
        .await,
        400,
    );
    refused(
        &send(addr, "PATCH", &deal, ALICE, json!({"amount": 1e13})).await,
        400,
    );
    // Ids that are not ids, and huge ones.
    refused(&get(addr, "/api/contacts/abc", ALICE).await, 400);
    refused(
        &get(addr, "/api/deals/99999999999999999999", ALICE).await,
        400,
    );
    refused(
        &get(addr, "/api/deals/9223372036854775807", ALICE).await,
        404,
    );
    refused(&get(addr, "/api/deals?stage=closed", ALICE).await, 400);
    refused(&get(addr, "/api/contacts?limit=x", ALICE).await, 400);
    // An Idempotency-Key longer than the limit.
    let long = "k".repeat(201);
    let keyed = call(
        addr,
        "POST",
        "/api/companies",
        ALICE,
        &[("idempotency-key", &long)],
        Some("{\"name\": \"K\"}"),
    )
    .await;
    refused(&keyed, 400);
    // Conflicts: a taken e-mail address or name, a company still in use.
    let taken = send(
        addr,
        "POST",
        "/api/contacts",
        ALICE,
        json!({"first_name": "A", "last_name": "B", "email": "PETER@initech.example"}),
    )
    .await;
    assert!(refused(&taken, 409).contains("e-mail"));
    refused(
        &send(
            addr,
            "POST",
            "/api/companies",
            ALICE,
            json!({"name": "initech"}),
        )
        .await,
        409,
    );
    let other = send(
        addr,
        "POST",
        "/api/companies",
        ALICE,
        json!({"name": "Globochem"}),
    )
    .await;
    let rename = format!("/api/companies/{}", id(&other));
    refused(
        &send(addr, "PATCH", &rename, ALICE, json!({"name": "INITECH"})).await,
        409,
    );
    let used = delete(addr, &company, ALICE).await;
    assert!(refused(&used, 409).contains("delete or move them first"));
    // A body larger than the API reads.
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(300 * 1024));
    refused(
        &call(addr, "POST", "/api/companies", ALICE, &[], Some(&huge)).await,
        413,
    );
    store.finish().await;
}

async fn idempotent_and_concurrent(addr: SocketAddr, db: &Db) {
    let acme = db.for_tenant("acme");
    let body =
        json!({"first_name": "Milton", "last_name": "Waddams", "email": "milton@initech.example"})
            .to_string();
    let keyed = |key: &'static str, body: String| async move {
        call(
            addr,
            "POST",
            "/api/contacts",
            ALICE,
            &[("idempotency-key", key)],
            Some(&body),
        )
        .await
    };
    let first = keyed("stapler-1", body.clone()).await;
    let retry = keyed("stapler-1", body.clone()).await;
    assert_eq!((first.status, retry.status), (201, 201));
    assert_eq!(first.body, retry.body);
    let (_, total) = acme
        .search_contacts("milton", None, None, 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 1, "a retry creates nothing");
    // The same key for another body, or another route, is a conflict.
    let other = keyed("stapler-1", body.replace("Milton", "Bob")).await;
    assert!(refused(&other, 409).contains("different arguments"));
    let elsewhere = call(
        addr,
        "POST",
        "/api/companies",
        ALICE,
        &[("idempotency-key", "stapler-1")],
        Some("{\"name\": \"Stapler\"}"),
    )
    .await;
    refused(&elsewhere, 409);
    // Another tenant's key of the same name is another key.
    let globex = call(
        addr,
        "POST",
        "/api/contacts",
        BOB,
        &[("idempotency-key", "stapler-1")],
        Some(&body),
    )
    .await;
    assert_eq!(globex.status, 201);
    // Eight concurrent first tries with one key: one row, one answer.
    let company = send(
        addr,
        "POST",
        "/api/companies",
        ALICE,
        json!({"name": "Chotchkie's"}),
    )
    .await;
    let deal_body = json!({"title": "Flair", "company_id": id(&company), "amount": 37}).to_string();
    let tries = (0..8).map(|_| {
        let deal_body = deal_body.clone();
        tokio::spawn(async move {
            call(
                addr,
                "POST",
                "/api/deals",
                ALICE,
                &[("idempotency-key", "flair")],
                Some(&deal_body),
            )
            .await
        })
    });
    let answers: Vec<Answer> = futures_join(tries).await;
    for answer in &answers {
        assert_eq!((answer.status, &answer.body), (201, &answers[0].body));
    }
    let deals = acme
        .list_deals(None, None, Some(id(&company)))
        .await
        .unwrap();
    assert_eq!(deals.len(), 1);
    // Concurrent updates of one deal: each is answered, the last wins
    // whole (the stage and amount of one request, never a mix).
    let deal_path = format!("/api/deals/{}", deals[0].id);
    let updates = (0..8).map(|i| {
        let path = deal_path.clone();
        let stage = ["qualified", "proposal"][i % 2];
        tokio::spawn(async move {
            send(
                addr,
                "PATCH",
                &path,
                ALICE,
                json!({"stage": stage, "amount": if stage == "qualified" { 100 } else { 200 }}),
            )
            .await
        })
    });
    for answer in futures_join(updates).await {
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let last = acme.deal(deals[0].id).await.unwrap();
    let pair = (last.stage.as_str(), last.amount);
    assert!(
        pair == ("qualified", 100.0) || pair == ("proposal", 200.0),
        "{pair:?}"
    );
    // Two contacts racing for one e-mail address: one wins, the other is
    // a conflict, never a server error.
    let a = send(
        addr,
        "POST",
        "/api/contacts",
        ALICE,
        json!({"first_name": "A", "last_name": "Race"}),
    )
    .await;
    let b = send(
        addr,
        "POST",
        "/api/contacts",
        ALICE,
        json!({"first_name": "B", "last_name": "Race"}),
    )
    .await;
    let race = [id(&a), id(&b)].map(|contact| {
        tokio::spawn(async move {
            send(
                addr,
                "PATCH",
                &format!("/api/contacts/{contact}"),
                ALICE,
                json!({"email": "race@initech.example"}),
            )
            .await
        })
    });
    let mut statuses: Vec<u16> = futures_join(race).await.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
}

/// Awaits spawned requests in order.
async fn futures_join<I>(handles: I) -> Vec<Answer>
where
    I: IntoIterator<Item = tokio::task::JoinHandle<Answer>>,
{
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_retries_and_concurrent_updates_on_sqlite() {
    let store = Store::sqlite().await;
    idempotent_and_concurrent(serve(&store.db).await, &store.db).await;
    store.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_retries_and_concurrent_updates_on_postgres() {
    let store = Store::postgres().await;
    idempotent_and_concurrent(serve(&store.db).await, &store.db).await;
    store.finish().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let store = Store::sqlite().await;
    let addr = serve(&store.db).await;
    // Public: no credential needed.
    let answer = call(addr, "GET", "/api/openapi.json", "", &[], None).await;
    assert_eq!(answer.status, 200);
    let doc = answer.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    let expected = [
        ("/api/contacts", &["get", "post"][..]),
        ("/api/contacts/{id}", &["get", "patch", "delete"]),
        ("/api/companies", &["get", "post"]),
        ("/api/companies/{id}", &["get", "patch", "delete"]),
        ("/api/deals", &["get", "post"]),
        ("/api/deals/{id}", &["get", "patch", "delete"]),
        ("/api/activities", &["get", "post"]),
        ("/api/activities/{id}", &["get", "patch", "delete"]),
    ];
    assert_eq!(doc["paths"].as_object().unwrap().len(), expected.len());
    for (path, methods) in expected {
        for method in methods {
            let operation = &doc["paths"][path][method];
            let responses = operation["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path}"));
            for status in ["400", "401", "403", "429"] {
                assert!(responses.contains_key(status), "{method} {path} {status}");
            }
            if path.ends_with("{id}") {
                assert!(responses.contains_key("404"), "{method} {path}");
            }
            if *method == "post" {
                assert!(responses.contains_key("201"));
                assert!(
                    operation["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == "Idempotency-Key")
                );
            }
            if *method == "delete" {
                assert!(responses.contains_key("204"));
            }
        }
    }
    store.finish().await;
}
