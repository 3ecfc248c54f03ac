//! The REST API answers to the MCP service's own checks over real HTTP:
//! its authenticator, its trusted tenant header, its rate limit, and the
//! scopes the routes need.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crm_example::model::NewContact;
use crm_example::rest::RestApi;
use crm_example::{Crm, Db, Tenancy};
use mcp_server::auth::ApiKeys;
use mcp_server::limit::{Quota, RateLimit};
use mcp_server::transport::http::HttpConfig;
use serde_json::{Value, json};

const ROUTES: [&str; 6] = [
    "/api/contacts",
    "/api/contacts/1",
    "/api/companies",
    "/api/companies/1",
    "/api/deals",
    "/api/deals/1",
];

const ALICE: &str = "acme-key-0123456789";
const BOB: &str = "globex-key-0123456789";
const OPS: &str = "ops-key-0123456789";

/// alice works for acme, bob for globex; ops belongs to no tenant.
fn keys() -> ApiKeys {
    ApiKeys::parse(&format!(
        "alice@acme:{ALICE}:crm:read+crm:write, bob@globex:{BOB}:crm:read+crm:write, \
         ops:{OPS}:crm:read+crm:write, reader:read-key-0123456789:crm:read, \
         nobody:bare-key-0123456789"
    ))
    .unwrap()
}

/// A seeded SQLite database in which acme and globex each have one contact.
async fn db() -> Db {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "crm_rest_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Db::connect(&format!("sqlite://{}", dir.join("crm.db").display()))
        .await
        .unwrap();
    db.seed_if_empty().await.unwrap();
    for tenant in ["acme", "globex"] {
        db.for_tenant(tenant)
            .create_contact(&NewContact {
                first_name: "Pat".into(),
                last_name: tenant.into(),
                ..NewContact::default()
            })
            .await
            .unwrap();
    }
    db
}

/// The CRM's web application, tenancy as given, on a loopback port.
async fn serve(db: Db, tenancy: Tenancy, config: HttpConfig) -> SocketAddr {
    serve_api(RestApi::new(db.clone()).tenancy(tenancy), db, config, None).await
}

async fn serve_api(
    api: RestApi,
    db: Db,
    config: HttpConfig,
    limit: Option<RateLimit>,
) -> SocketAddr {
    let mut server = mcp_server::Server::builder().definition(Crm::new(db));
    if let Some(limit) = limit {
        server = server.rate_limit(limit);
    }
    let app = api.app(server.build(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// What a response said: status, `WWW-Authenticate`, `Retry-After`, JSON body.
struct Answer {
    status: u16,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: Value,
    text: String,
}

impl Answer {
    /// The last names of the contacts listed.
    fn last_names(&self) -> Vec<String> {
        self.body["contacts"]
            .as_array()
            .unwrap_or_else(|| panic!("no contacts in {}", self.body))
            .iter()
            .map(|c| c["last_name"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
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
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = if method == "GET" { "" } else { "{}" };
    let request = request
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .unwrap()
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, challenge, retry_after) = (
        response.status().as_u16(),
        header("www-authenticate"),
        header("retry-after"),
    );
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    Answer {
        status,
        challenge,
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    http(addr, "GET", path, headers).await
}

#[tokio::test]
async fn every_route_needs_the_mcp_credentials() {
    let db = db().await;
    let config = HttpConfig::default().authenticator(keys());
    let addr = serve(db, Tenancy::Off, config).await;
    for route in ROUTES {
        for method in ["GET", "POST", "PATCH", "DELETE"] {
            let answer = http(addr, method, route, &[]).await;
            assert_eq!(answer.status, 401, "{method} {route}: {}", answer.body);
            let challenge = answer.challenge.unwrap();
            assert!(challenge.starts_with("Bearer"), "{challenge}");
            assert!(
                answer.body["error"]
                    .as_str()
                    .unwrap()
                    .contains("authentication required"),
                "{}",
                answer.body
            );
        }
    }
    let wrong = get(
        addr,
        "/api/contacts",
        &[("x-api-key", "not-a-key-0123456789")],
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.challenge.unwrap().contains("invalid_token"));
    // The right key reads everything, as before.
    let ops = get(addr, "/api/contacts?q=anders", &[("x-api-key", OPS)]).await;
    assert_eq!((ops.status, ops.body["total"].as_i64()), (200, Some(1)));
    let bearer = format!("Bearer {OPS}");
    let ops = get(addr, "/api/companies", &[("authorization", &bearer)]).await;
    assert_eq!(ops.status, 200, "{}", ops.body);
    // MCP's probes stay open.
    assert_eq!(get(addr, "/health", &[]).await.status, 200);
    // Every REST response, refusals included, is in the server's metrics.
    let metrics = get(addr, "/metrics", &[]).await.text;
    let count = |status: &str| -> usize {
        let series = format!("mcp_http_responses_total{{status=\"{status}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
    };
    assert_eq!(count("401"), ROUTES.len() * 4 + 1);
    assert_eq!(count("200"), 2);
    assert!(
        metrics.contains("mcp_http_response_seconds_count"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_tenant_is_the_credentials() {
    let db = db().await;
    // No trusted header: the header a client sends is not believed.
    let config = HttpConfig::default().authenticator(keys());
    let addr = serve(db, Tenancy::Required, config).await;
    let acme = [("x-tenant-id", "acme")];
    assert_eq!(get(addr, "/api/contacts", &acme).await.status, 401);
    let alice = get(addr, "/api/contacts", &[("x-api-key", ALICE)]).await;
    assert_eq!(alice.last_names(), ["acme"]);
    let bob = get(
        addr,
        "/api/contacts",
        &[("x-api-key", BOB), ("x-tenant-id", "acme")],
    )
    .await;
    assert_eq!(bob.status, 200, "{}", bob.body);
    assert_eq!(bob.last_names(), ["globex"], "never acme's rows");
    // A key of no tenant cannot borrow one from a header.
    let ops = get(
        addr,
        "/api/contacts",
        &[("x-api-key", OPS), ("x-tenant-id", "acme")],
    )
    .await;
    assert_eq!(ops.status, 403, "{}", ops.body);
    assert!(ops.body["error"].as_str().unwrap().contains("name@tenant"));
}

#[tokio::test]
async fn a_bare_tenant_header_is_refused_without_a_trusted_gateway() {
    let db = db().await;
    let addr = serve(db, Tenancy::Required, HttpConfig::default()).await;
    for route in ROUTES {
        let answer = get(addr, route, &[("x-tenant-id", "acme")]).await;
        assert_eq!(answer.status, 403, "{route}: {}", answer.body);
    }
}

#[tokio::test]
async fn behind_a_trusted_gateway_the_header_names_the_tenant() {
    let db = db().await;
    let config = HttpConfig::default()
        .authenticator(keys())
        .tenant_header("X-Tenant-Id");
    let addr = serve(db.clone(), Tenancy::Required, config).await;
    // Still no way in without a credential.
    assert_eq!(
        get(addr, "/api/contacts", &[("x-tenant-id", "acme")])
            .await
            .status,
        401
    );
    // A key of no tenant acts for the gateway's.
    let ops = get(
        addr,
        "/api/contacts",
        &[("x-api-key", OPS), ("x-tenant-id", "acme")],
    )
    .await;
    assert_eq!(ops.last_names(), ["acme"]);
    // A tenant's key cannot be pointed at another tenant.
    let bob = get(
        addr,
        "/api/contacts",
        &[("x-api-key", BOB), ("x-tenant-id", "acme")],
    )
    .await;
    assert_eq!(bob.status, 403, "{}", bob.body);
    assert!(bob.body.get("contacts").is_none());
    let bob = get(
        addr,
        "/api/contacts",
        &[("x-api-key", BOB), ("x-tenant-id", "globex")],
    )
    .await;
    assert_eq!(bob.last_names(), ["globex"]);

    // Without an authenticator the gateway's header alone names the tenant.
    let config = HttpConfig::default().tenant_header("X-Tenant-Id");
    let addr = serve(db, Tenancy::Required, config).await;
    let acme = get(addr, "/api/contacts", &[("x-tenant-id", "acme")]).await;
    assert_eq!(acme.last_names(), ["acme"]);
    assert_eq!(get(addr, "/api/contacts", &[]).await.status, 403);
}

#[tokio::test]
async fn reads_and_writes_need_their_scopes() {
    let db = db().await;
    let api = RestApi::new(db.clone()).scopes(["crm:read"], ["crm:write"]);
    let config = HttpConfig::default().authenticator(keys());
    let addr = serve_api(api, db, config, None).await;
    let reader = [("x-api-key", "read-key-0123456789")];
    assert_eq!(get(addr, "/api/contacts", &reader).await.status, 200);
    for method in ["POST", "PATCH", "DELETE"] {
        for route in ["/api/contacts", "/api/contacts/1"] {
            let answer = http(addr, method, route, &reader).await;
            assert_eq!(answer.status, 403, "{method} {route}: {}", answer.body);
            let challenge = answer.challenge.unwrap();
            assert!(
                challenge.contains(r#"error="insufficient_scope", scope="crm:write""#),
                "{challenge}"
            );
        }
    }
    let bare = get(
        addr,
        "/api/contacts",
        &[("x-api-key", "bare-key-0123456789")],
    )
    .await;
    assert_eq!(bare.status, 403, "{}", bare.body);
    // A writer gets past the scopes, to the handler, which finds the
    // empty body lacks the contact's names; PUT is no method of the API.
    let writer = http(addr, "POST", "/api/contacts", &[("x-api-key", OPS)]).await;
    assert_eq!(writer.status, 422, "{}", writer.body);
    let put = http(addr, "PUT", "/api/contacts/1", &[("x-api-key", OPS)]).await;
    assert_eq!(put.status, 405);
}

#[tokio::test]
async fn rest_counts_against_the_callers_rate_limit() {
    let db = db().await;
    let limit = RateLimit::per_caller(Quota::per_minute(2));
    let config = HttpConfig::default().authenticator(keys());
    let addr = serve_api(RestApi::new(db.clone()), db, config, Some(limit)).await;
    let alice = [("x-api-key", ALICE)];
    for _ in 0..2 {
        assert_eq!(get(addr, "/api/companies", &alice).await.status, 200);
    }
    let over = get(addr, "/api/companies", &alice).await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.retry_after.is_some());
    // Another caller has its own allowance.
    let bob = get(addr, "/api/companies", &[("x-api-key", BOB)]).await;
    assert_eq!(bob.status, 200);
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let db = Db::connect("sqlite::memory:").await.unwrap();
    let app = RestApi::new(db.clone()).app(
        crm_example::builder(db.clone()).build(),
        HttpConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let ready = get(addr, "/ready", &[]).await;
    assert_eq!(
        (ready.status, &ready.body),
        (200, &json!({"status": "ready"}))
    );

    // The database goes away: within the probe's one-second reuse of an
    // answer, /ready turns 503 and names it.
    db.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ready = get(addr, "/ready", &[]).await;
        if ready.status == 503 {
            assert_eq!(
                ready.body,
                json!({"status": "not ready", "failing": ["database"]})
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/ready stayed {}",
            ready.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Liveness is not readiness.
    assert_eq!(get(addr, "/health", &[]).await.status, 200);
}
