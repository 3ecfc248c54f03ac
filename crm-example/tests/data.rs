//! The CRM's data under pressure, on SQLite and on PostgreSQL: idempotency
//! keys under concurrent retries, concurrent creates of one company, writes
//! whose read-back fails, database errors kept from the model, LIKE
//! wildcards taken literally, and length limits on every text argument.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crm_example::model::NewContact;
use crm_example::{Crm, CrmError, Db, Dialect};
use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
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

/// A fresh, seeded database and a second pool on it for what the CRM
/// itself must not do (triggers, counting rows behind its back).
struct Fixture {
    db: Db,
    raw: sqlx::AnyPool,
    /// PostgreSQL: the admin pool and the database to drop afterwards.
    postgres: Option<(sqlx::AnyPool, String)>,
}

impl Fixture {
    async fn sqlite() -> Self {
        let path = std::env::temp_dir().join(unique("crm")).join("crm.db");
        let url = format!("sqlite://{}", path.display());
        let db = Db::connect(&url).await.unwrap();
        assert!(db.seed_if_empty().await.unwrap());
        let raw = sqlx::AnyPool::connect(&url).await.unwrap();
        Self {
            db,
            raw,
            postgres: None,
        }
    }

    /// Fails loudly when PostgreSQL is not there: these tests must run
    /// against a real server.
    async fn postgres() -> Self {
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
        let db = Db::connect(&url).await.unwrap();
        assert!(db.seed_if_empty().await.unwrap());
        let raw = sqlx::AnyPool::connect(&url).await.unwrap();
        Self {
            db,
            raw,
            postgres: Some((admin, name)),
        }
    }

    async fn client(&self) -> Arc<TestClient> {
        let server = mcp_server::Server::new(Crm::new(self.db.clone()));
        Arc::new(
            TestClient::connect(server, ProtocolVersion::V2025_11_25)
                .await
                .unwrap(),
        )
    }

    async fn count(&self, sql: &str, bind: &str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(&self.raw)
            .await
            .unwrap()
    }

    async fn finish(self) {
        self.raw.close().await;
        self.db.close().await;
        if let Some((admin, name)) = self.postgres {
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&admin)
                .await
                .unwrap();
        }
    }
}

fn data(result: &Value) -> Value {
    assert_ne!(result["isError"], true, "{result}");
    result["structuredContent"].clone()
}

fn error(result: &Value) -> String {
    assert_eq!(result["isError"], true, "{result}");
    result["content"][0]["text"].as_str().unwrap().to_owned()
}

async fn call(client: &TestClient, tool: &str, arguments: Value) -> Value {
    serde_json::to_value(client.call_tool(tool, arguments).await.unwrap()).unwrap()
}

/// The same call, eight times at once; the eight results in order.
async fn eight_at_once(client: &Arc<TestClient>, tool: &str, arguments: &[Value]) -> Vec<Value> {
    let calls: Vec<_> = arguments
        .iter()
        .map(|arguments| {
            let client = Arc::clone(client);
            let tool = tool.to_owned();
            let arguments = arguments.clone();
            tokio::spawn(async move { call(&client, &tool, arguments).await })
        })
        .collect();
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap());
    }
    results
}

/// Nothing a database says about itself (constraint names, SQL, driver
/// messages) reaches the model.
fn assert_no_database_detail(message: &str) {
    for leak in [
        "constraint",
        "UNIQUE",
        "duplicate key",
        "SQL",
        "sqlx",
        "contacts.",
        "_key",
        "column",
        "decod",
        "mismatched",
    ] {
        assert!(!message.contains(leak), "`{leak}` leaked: {message}");
    }
}

/// Eight concurrent calls with one idempotency key create one contact, and
/// all eight answer with it; the key cannot be reused with other arguments
/// or by another tool.
async fn one_key_creates_once(f: Fixture) {
    let client = f.client().await;
    let last_name = unique("Retry");
    let arguments = json!({
        "first_name": "Ada", "last_name": last_name, "company": unique("Retry Co"),
        "tags": ["vip"], "idempotency_key": unique("key"),
    });
    let results = eight_at_once(&client, "create_contact", &vec![arguments.clone(); 8]).await;
    let ids: Vec<Value> = results.iter().map(|r| data(r)["id"].clone()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM contacts WHERE last_name = $1",
            &last_name
        )
        .await,
        1
    );

    // A later retry still gets the first result.
    let again = data(&call(&client, "create_contact", arguments.clone()).await);
    assert_eq!(again, data(&results[0]));

    // The same key with other arguments is refused, and creates nothing.
    let mut other = arguments.clone();
    other["first_name"] = json!("Bob");
    let refused = error(&call(&client, "create_contact", other).await);
    assert!(refused.contains("different arguments"), "{refused}");
    let mut by_deal = json!({"title": "Retry deal", "company_id": 1, "amount": 10});
    by_deal["idempotency_key"] = arguments["idempotency_key"].clone();
    let refused = error(&call(&client, "create_deal", by_deal).await);
    assert!(refused.contains("create_contact"), "{refused}");
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM contacts WHERE last_name = $1",
            &last_name
        )
        .await,
        1
    );

    // Deals and activities too.
    let deal = json!({
        "title": unique("Deal"), "company_id": 1, "amount": 10, "idempotency_key": unique("key"),
    });
    let deals = eight_at_once(&client, "create_deal", &vec![deal.clone(); 8]).await;
    assert!(deals.iter().all(|d| data(d)["id"] == data(&deals[0])["id"]));
    let title = deal["title"].as_str().unwrap();
    assert_eq!(
        f.count("SELECT COUNT(*) FROM deals WHERE title = $1", title)
            .await,
        1
    );
    let note = json!({
        "kind": "note", "subject": unique("Note"), "contact_id": ids[0], "idempotency_key": unique("key"),
    });
    let notes = eight_at_once(&client, "log_activity", &vec![note.clone(); 8]).await;
    assert!(notes.iter().all(|n| data(n)["id"] == data(&notes[0])["id"]));
    let subject = note["subject"].as_str().unwrap();
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM activities WHERE subject = $1",
            subject
        )
        .await,
        1
    );
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_creates_once_on_sqlite() {
    one_key_creates_once(Fixture::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_creates_once_on_postgres() {
    one_key_creates_once(Fixture::postgres().await).await;
}

/// Keys are remembered for the time to live (a day unless configured),
/// then free for a new call, and purged.
async fn keys_expire(f: Fixture) {
    let client = f.client().await;
    let key = unique("key");
    let arguments =
        json!({"first_name": "Ttl", "last_name": unique("Day"), "idempotency_key": key});
    data(&call(&client, "create_contact", arguments).await);
    let expires: String =
        sqlx::query_scalar("SELECT expires_at FROM idempotency_keys WHERE key = $1")
            .bind(&key)
            .fetch_one(&f.raw)
            .await
            .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (early, late) = (
        crm_example::db::timestamp(now + 86_400 - 60),
        crm_example::db::timestamp(now + 86_400 + 60),
    );
    assert!(
        early <= expires && expires <= late,
        "{expires} is a day away"
    );

    // With no time to live, a key is forgotten once its call ends.
    let forgetful = Crm::new(f.db.clone().idempotency_ttl(std::time::Duration::ZERO));
    let client = TestClient::connect(forgetful, ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    let key = unique("key");
    let arguments =
        json!({"first_name": "Ttl", "last_name": unique("Zero"), "idempotency_key": key});
    let first = data(&call(&client, "create_contact", arguments.clone()).await);
    let second = data(&call(&client, "create_contact", arguments).await);
    assert_ne!(first["id"], second["id"], "the expired key was free again");
    f.db.purge_expired_idempotency_keys().await.unwrap();
    assert_eq!(
        f.count("SELECT COUNT(*) FROM idempotency_keys WHERE key = $1", &key)
            .await,
        0,
        "expired keys are purged"
    );
    f.finish().await;
}

#[tokio::test]
async fn keys_expire_on_sqlite() {
    keys_expire(Fixture::sqlite().await).await;
}

#[tokio::test]
async fn keys_expire_on_postgres() {
    keys_expire(Fixture::postgres().await).await;
}

/// Eight concurrent creates naming the same new company all succeed and
/// share it.
async fn concurrent_creates_share_a_new_company(f: Fixture) {
    let client = f.client().await;
    let company = unique("Fresh Co");
    let arguments: Vec<Value> = (0..8)
        .map(
            |i| json!({"first_name": format!("Pat{i}"), "last_name": "Shared", "company": company}),
        )
        .collect();
    let results = eight_at_once(&client, "create_contact", &arguments).await;
    let companies: Vec<Value> = results
        .iter()
        .map(|r| data(r)["company_id"].clone())
        .collect();
    assert!(
        companies.iter().all(|c| *c == companies[0] && c.is_i64()),
        "{companies:?}"
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM companies WHERE name = $1", &company)
            .await,
        1
    );
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_share_a_new_company_on_sqlite() {
    concurrent_creates_share_a_new_company(Fixture::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_share_a_new_company_on_postgres() {
    concurrent_creates_share_a_new_company(Fixture::postgres().await).await;
}

/// Makes every contact named `Unreadable` impossible to read back: its
/// tags become a value the CRM cannot decode, in the same transaction as
/// the write.
async fn break_reads_of_unreadable(f: &Fixture) {
    let statements: &[&str] = match f.db.dialect() {
        Dialect::Sqlite => &[
            "CREATE TRIGGER unreadable_insert AFTER INSERT ON contacts WHEN NEW.last_name = 'Unreadable'
             BEGIN UPDATE contacts SET tags = X'00' WHERE id = NEW.id; END",
            "CREATE TRIGGER unreadable_update AFTER UPDATE OF title ON contacts WHEN NEW.last_name = 'Unreadable'
             BEGIN UPDATE contacts SET tags = X'00' WHERE id = NEW.id; END",
        ],
        Dialect::Postgres => &[
            "ALTER TABLE contacts ALTER COLUMN tags DROP NOT NULL",
            "CREATE FUNCTION unreadable() RETURNS trigger AS $$
             BEGIN IF NEW.last_name = 'Unreadable' THEN NEW.tags := NULL; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER unreadable BEFORE INSERT OR UPDATE ON contacts FOR EACH ROW EXECUTE FUNCTION unreadable()",
        ],
    };
    for statement in statements {
        sqlx::query(statement).execute(&f.raw).await.unwrap();
    }
}

/// A write whose result cannot be read back is reported as failed and
/// leaves nothing behind, and the model hears no database detail.
async fn a_write_is_reported_as_committed(f: Fixture) {
    break_reads_of_unreadable(&f).await;
    let client = f.client().await;
    let first_name = unique("Never");
    let failed = error(
        &call(
            &client,
            "create_contact",
            json!({"first_name": first_name, "last_name": "Unreadable"}),
        )
        .await,
    );
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM contacts WHERE first_name = $1",
            &first_name
        )
        .await,
        0,
        "reported as failed, so nothing may have been committed"
    );
    assert_no_database_detail(&failed);
    assert!(failed.contains("database"), "{failed}");

    // An update likewise: reported failed, and the title did not change.
    let created = data(
        &call(
            &client,
            "create_contact",
            json!({"first_name": first_name, "last_name": "Readable"}),
        )
        .await,
    );
    let id = created["id"].as_i64().unwrap();
    sqlx::query("UPDATE contacts SET last_name = 'Unreadable' WHERE id = $1")
        .bind(id)
        .execute(&f.raw)
        .await
        .unwrap();
    let failed = error(
        &call(
            &client,
            "update_contact",
            json!({"id": id, "title": "Changed"}),
        )
        .await,
    );
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM contacts WHERE first_name = $1 AND title IS NULL",
            &first_name
        )
        .await,
        1,
        "reported as failed, so the title is unchanged"
    );
    assert_no_database_detail(&failed);
    f.finish().await;
}

#[tokio::test]
async fn a_write_is_reported_as_committed_on_sqlite() {
    a_write_is_reported_as_committed(Fixture::sqlite().await).await;
}

#[tokio::test]
async fn a_write_is_reported_as_committed_on_postgres() {
    a_write_is_reported_as_committed(Fixture::postgres().await).await;
}

/// A taken e-mail address is explained without the constraint behind it.
async fn database_errors_stay_in_the_log(f: Fixture) {
    let client = f.client().await;
    let taken = format!("{}@example.com", unique("taken"));
    data(
        &call(
            &client,
            "create_contact",
            json!({"first_name": "A", "last_name": "Taken", "email": taken}),
        )
        .await,
    );
    let other = data(
        &call(
            &client,
            "create_contact",
            json!({"first_name": "B", "last_name": "Other"}),
        )
        .await,
    );
    let refused = error(
        &call(
            &client,
            "update_contact",
            json!({"id": other["id"], "email": taken}),
        )
        .await,
    );
    assert_no_database_detail(&refused);
    assert!(
        refused.contains(&taken) && refused.contains("already has"),
        "{refused}"
    );

    // Concurrent creates with one new address: one wins, the others are
    // told why, whether the check or the constraint caught them.
    let fresh = format!("{}@example.com", unique("fresh"));
    let arguments: Vec<Value> = (0..8)
        .map(|i| json!({"first_name": format!("C{i}"), "last_name": "Racer", "email": fresh}))
        .collect();
    let results = eight_at_once(&client, "create_contact", &arguments).await;
    let refusals: Vec<String> = results
        .iter()
        .filter(|r| r["isError"] == true)
        .map(error)
        .collect();
    assert_eq!(refusals.len(), 7, "{results:?}");
    for refused in &refusals {
        assert_no_database_detail(refused);
        assert!(
            refused.contains(&fresh) && refused.contains("already has"),
            "{refused}"
        );
    }
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_errors_stay_in_the_log_on_sqlite() {
    database_errors_stay_in_the_log(Fixture::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_errors_stay_in_the_log_on_postgres() {
    database_errors_stay_in_the_log(Fixture::postgres().await).await;
}

/// `%`, `_` and `\` in every text filter match themselves.
async fn like_wildcards_are_literal(f: Fixture) {
    let client = f.client().await;
    let search = async |arguments: Value| {
        data(&call(&client, "search_contacts", arguments).await)["total"]
            .as_i64()
            .unwrap()
    };
    for wildcard in ["%", "_", "\\", "%%", "a_a"] {
        assert_eq!(search(json!({"query": wildcard})).await, 0, "{wildcard}");
        assert_eq!(search(json!({"tag": wildcard})).await, 0, "tag {wildcard}");
        let companies = data(&call(&client, "list_companies", json!({"query": wildcard})).await);
        assert_eq!(companies["companies"], json!([]), "{wildcard}");
    }
    data(
        &call(
            &client,
            "create_contact",
            json!({"first_name": "Fifty%", "last_name": "Off_Sale\\Now", "company": "100% Pure_Co", "tags": ["50%_off"]}),
        )
        .await,
    );
    for literal in ["y% o", "f_s", "e\\n", "100% p", "0%_o"] {
        assert_eq!(search(json!({"query": literal})).await, 1, "{literal}");
    }
    assert_eq!(search(json!({"tag": "50%_OFF"})).await, 1);
    assert_eq!(search(json!({"tag": "50%"})).await, 0);
    let companies = data(&call(&client, "list_companies", json!({"query": "0% p"})).await);
    assert_eq!(companies["companies"].as_array().unwrap().len(), 1);
    f.finish().await;
}

#[tokio::test]
async fn like_wildcards_are_literal_on_sqlite() {
    like_wildcards_are_literal(Fixture::sqlite().await).await;
}

#[tokio::test]
async fn like_wildcards_are_literal_on_postgres() {
    like_wildcards_are_literal(Fixture::postgres().await).await;
}

/// Text arguments have limits: in the schema (`maxLength`), checked before
/// the call, and checked by the database layer for callers in Rust.
async fn text_has_limits(f: Fixture) {
    let client = f.client().await;
    let tools = client.list_tools().await.unwrap();
    let schema = |tool: &str| {
        serde_json::to_value(&tools.iter().find(|t| t.name == tool).unwrap().input_schema).unwrap()
            ["properties"]
            .clone()
    };
    let contact = schema("create_contact");
    for (field, max) in [
        ("first_name", 200),
        ("last_name", 200),
        ("email", 320),
        ("title", 200),
        ("company", 200),
        ("idempotency_key", 200),
    ] {
        assert_eq!(contact[field]["maxLength"], max, "{field}: {contact}");
    }
    assert_eq!(contact["tags"]["maxItems"], 20, "{contact}");
    assert_eq!(schema("log_activity")["body"]["maxLength"], 10_000);
    assert_eq!(schema("search_contacts")["query"]["maxLength"], 200);

    let huge = "x".repeat(1 << 20);
    let refused = error(
        &call(
            &client,
            "create_contact",
            json!({"first_name": huge, "last_name": "Huge"}),
        )
        .await,
    );
    assert!(
        refused.contains("`first_name`") && refused.contains("200"),
        "{}",
        &refused[..refused.len().min(300)]
    );
    assert!(refused.len() < 300, "the value is not quoted back");
    let refused = error(
        &call(
            &client,
            "create_contact",
            json!({"first_name": "A", "last_name": "Tags", "tags": ["x".repeat(51)]}),
        )
        .await,
    );
    assert!(
        refused.contains("tag") && refused.contains("50"),
        "{refused}"
    );
    let refused = error(
        &call(
            &client,
            "log_activity",
            json!({"kind": "note", "subject": "Long", "contact_id": 1, "body": "x".repeat(10_001)}),
        )
        .await,
    );
    assert!(
        refused.contains("`body`") && refused.contains("10000"),
        "{refused}"
    );
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM contacts WHERE last_name IN ($1, 'Tags')",
            "Huge"
        )
        .await,
        0
    );

    // The Rust API checks too.
    let direct =
        f.db.create_contact(&NewContact {
            first_name: "y".repeat(201),
            last_name: "Direct".into(),
            ..NewContact::default()
        })
        .await;
    assert!(
        matches!(&direct, Err(CrmError::Invalid(m)) if m.contains("first_name")),
        "{direct:?}"
    );
    f.finish().await;
}

#[tokio::test]
async fn text_has_limits_on_sqlite() {
    text_has_limits(Fixture::sqlite().await).await;
}

#[tokio::test]
async fn text_has_limits_on_postgres() {
    text_has_limits(Fixture::postgres().await).await;
}
