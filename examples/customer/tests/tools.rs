//! Every tool through the in-process client, on every revision, against a
//! real SQLite file; and the published HTTP flow against the real router.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use customer::{Customers, Store};
use mcp_server::prelude::*;
use mcp_server::testing::TestClient;
use serde_json::{Value, json};

/// A fresh database file under the system temp directory.
fn temp_db() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    std::env::temp_dir()
        .join(format!(
            "customer-test-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
        .join("customers.db")
}

/// The structured result, whichever revision carried it.
fn data(result: &Value) -> Value {
    match result.get("structuredContent") {
        Some(data) => data.clone(),
        None => serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap(),
    }
}

fn error_text(result: &Value) -> &str {
    assert_eq!(result["isError"], true, "{result}");
    result["content"][0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn every_tool_on_every_revision() {
    for version in ProtocolVersion::ALL {
        let path = temp_db();
        let store = Store::open(&path).await.unwrap();
        let client = TestClient::connect(Customers::new(store), version)
            .await
            .unwrap();
        let call = |name: &'static str, arguments: Value| {
            let client = &client;
            async move { client.call_tool(name, arguments).await.unwrap() }
        };
        let as_value = |r: mcp_server::ToolResult| serde_json::to_value(r).unwrap();

        let all = data(&as_value(call("list_customers", json!({})).await));
        assert_eq!(all["count"], 10, "ten sample customers on first run");
        let disabled = data(&as_value(
            call("list_customers", json!({"status": "disabled"})).await,
        ));
        assert_eq!(disabled["count"], 2);
        assert!(
            disabled["customers"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["status"] == "disabled")
        );
        let bad_status = as_value(call("list_customers", json!({"status": "deleted"})).await);
        assert!(error_text(&bad_status).contains("status"), "{bad_status}");

        let ada = data(&as_value(call("get_customer", json!({"id": 1})).await));
        assert_eq!(ada["name"], "Ada Lovelace");
        let missing = as_value(call("get_customer", json!({"id": 999})).await);
        assert_eq!(error_text(&missing), "customer 999 not found");

        let added = data(&as_value(
            call(
                "add_customer",
                json!({"name": "  Hedy Lamarr ", "email": "hedy@example.com"}),
            )
            .await,
        ));
        assert_eq!(
            (
                added["id"].as_i64(),
                added["name"].as_str(),
                added["status"].as_str()
            ),
            (Some(11), Some("Hedy Lamarr"), Some("active"))
        );
        for (arguments, complaint) in [
            (json!({"name": ""}), "name"),
            (json!({"name": "X", "email": "not-an-email"}), "e-mail"),
            (json!({"name": "X", "phone": "call me"}), "phone"),
        ] {
            let rejected = as_value(call("add_customer", arguments).await);
            assert!(error_text(&rejected).contains(complaint), "{rejected}");
        }

        let updated = data(&as_value(
            call(
                "update_customer",
                json!({"id": 11, "phone": "+1 555 0100", "email": "hedy@films.example"}),
            )
            .await,
        ));
        assert_eq!(
            (updated["phone"].as_str(), updated["email"].as_str()),
            (Some("+1 555 0100"), Some("hedy@films.example"))
        );
        // A bad field rejects the whole update: nothing is half-written.
        let rejected = as_value(
            call(
                "update_customer",
                json!({"id": 11, "name": "Hedy", "email": "broken"}),
            )
            .await,
        );
        assert!(error_text(&rejected).contains("e-mail"));
        let unchanged = data(&as_value(call("get_customer", json!({"id": 11})).await));
        assert_eq!(unchanged["name"], "Hedy Lamarr");
        let nothing = as_value(call("update_customer", json!({"id": 11})).await);
        assert!(error_text(&nothing).contains("nothing to update"));
        let unknown = as_value(call("update_customer", json!({"id": 404, "name": "Nobody"})).await);
        assert_eq!(error_text(&unknown), "customer 404 not found");

        let off = data(&as_value(call("disable_customer", json!({"id": 11})).await));
        assert_eq!(off["status"], "disabled");
        let on = data(&as_value(
            call("activate_customer", json!({"id": 11})).await,
        ));
        assert_eq!(on["status"], "active");
        let unknown = as_value(call("disable_customer", json!({"id": 404})).await);
        assert_eq!(error_text(&unknown), "customer 404 not found");

        let all = data(&as_value(call("list_customers", json!({})).await));
        assert_eq!(all["count"], 11, "exactly one customer was added");
        client.close().await.unwrap();

        // Reopening keeps the data and does not seed again.
        let store = Store::open(&path).await.unwrap();
        assert_eq!(store.list(None).await.unwrap().len(), 11);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}

#[tokio::test]
async fn the_published_http_flow() {
    let path = temp_db();
    let server = Server::new(Customers::new(Store::open(&path).await.unwrap()));
    let app = customer::http::app(server, mcp_server::transport::http::HttpConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}");

    let post = |session: Option<String>, body: Value| {
        let url = url.clone();
        async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut request = hyper::Request::post(format!("{url}/mcp"))
                .header("host", addr.to_string())
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream");
            if let Some(session) = session {
                request = request.header("mcp-session-id", session);
            }
            let response = sender
                .send_request(
                    request
                        .body(http_body_util::Full::new(hyper::body::Bytes::from(
                            body.to_string(),
                        )))
                        .unwrap(),
                )
                .await
                .unwrap();
            let session = response
                .headers()
                .get("mcp-session-id")
                .map(|v| v.to_str().unwrap().to_owned());
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (session, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let (session, init) = post(None, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}}})).await;
    assert_eq!(init["result"]["serverInfo"]["name"], "customer-management");
    let (_, list) = post(
        session.clone(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(list["result"]["tools"].as_array().unwrap().len(), 6);
    let (_, active) = post(
        session,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "list_customers", "arguments": {"status": "active"}}}),
    )
    .await;
    assert_eq!(active["result"]["structuredContent"]["count"], 8);

    let body = reqwest_like_get(addr, "/").await;
    assert_eq!(body["name"], "customer-management");
    assert_eq!(body["tools"].as_array().unwrap().len(), 6);
    let health = reqwest_like_get(addr, "/health").await;
    assert_eq!(health["status"], "ok");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

async fn reqwest_like_get(addr: std::net::SocketAddr, path: &str) -> Value {
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
    assert_eq!(response.status(), 200);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// `DB_PATH=:memory:`: concurrent calls all see the one database, seeded.
#[tokio::test]
async fn in_memory_database_is_shared_by_concurrent_calls() {
    let store = Store::open(":memory:").await.unwrap();
    let client = std::sync::Arc::new(
        TestClient::connect(Customers::new(store), ProtocolVersion::V2025_06_18)
            .await
            .unwrap(),
    );
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call_tool("list_customers", json!({})).await })
        })
        .collect();
    for call in calls {
        let result = serde_json::to_value(call.await.unwrap().unwrap()).unwrap();
        assert_ne!(result["isError"], true, "{result}");
        assert_eq!(data(&result)["count"], 10, "{result}");
    }
}
