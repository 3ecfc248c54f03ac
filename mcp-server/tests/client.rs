//! The public client against this crate's own servers over a byte stream
//! and real Streamable HTTP on every revision, and proxies built on it:
//! forwarded calls, progress, elicitation, cancellation and list changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use mcp_server::client::{
    AnswerFuture, Client, ClientError, ClientHandler, ClientOptions, HttpOptions, RequestOptions,
    ServerRequest,
};
use mcp_server::core::prompt::{Prompt, PromptArgument};
use mcp_server::prelude::*;
use mcp_server::testing::{ClientScript, TestClient};
use mcp_server::transport::http::{HttpConfig, HttpServer};
use mcp_server::{AskError, Elicited};
use serde_json::{Value, json};
use tokio::sync::Notify;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Confirm {
    /// Go ahead?
    ok: bool,
}

#[derive(Clone, Default)]
struct Remote {
    /// Wakes a test once a slow call has started.
    started: Arc<Notify>,
}

#[mcp_server(name = "remote", instructions = "Use `delete` carefully.")]
impl Remote {
    /// Add two numbers.
    #[mcp_tool]
    async fn add(
        &self,
        /** a */
        a: i64,
        /** b */
        b: i64,
    ) -> i64 {
        a + b
    }

    /// Delete after confirming, with progress.
    #[mcp_tool]
    async fn delete(
        &self,
        /** The id. */
        id: u64,
        ctx: &RequestContext,
    ) -> String {
        ctx.progress(1.0, Some(2.0), Some("asking")).await;
        match ctx
            .elicit::<Confirm>("confirm", format!("Delete {id}?"))
            .await
        {
            Ok(Elicited::Accepted(Confirm { ok: true })) => {
                ctx.progress(2.0, Some(2.0), Some("done")).await;
                format!("deleted {id}")
            }
            Ok(_) => format!("kept {id}"),
            Err(AskError::Unavailable(_)) => "cannot ask".into(),
            Err(e) => e.to_string(),
        }
    }

    /// Wait until cancelled.
    #[mcp_tool]
    async fn wait(&self, ctx: &RequestContext) -> String {
        self.started.notify_one();
        ctx.cancelled().await;
        "cancelled".into()
    }

    /// A note.
    #[mcp_resource("notes://{id}", mime = "text/plain")]
    async fn note(&self, id: u64) -> String {
        format!("note {id}")
    }
}

struct Accept;

impl ClientHandler for Accept {
    fn capabilities(&self) -> Value {
        json!({"elicitation": {}})
    }

    fn handle(&self, request: ServerRequest) -> AnswerFuture {
        Box::pin(async move {
            assert_eq!(request.method, "elicitation/create");
            Ok(json!({"action": "accept", "content": {"ok": true}}))
        })
    }
}

async fn serve_http(server: impl Into<Server>) -> (String, tokio::task::JoinHandle<()>) {
    let http = HttpServer::bind(
        server,
        "127.0.0.1:0",
        HttpConfig::default().shutdown_grace(Duration::ZERO),
    )
    .await
    .unwrap();
    let url = format!("http://{}/mcp", http.local_addr());
    let task = tokio::spawn(async move {
        let _ = http.serve().await;
    });
    (url, task)
}

async fn exercise(client: &Client, version: ProtocolVersion) {
    let tools = client.list_tools().await.unwrap();
    assert_eq!(tools.len(), 3, "{version}");
    let sum = client
        .call_tool("add", json!({"a": 2, "b": 3}))
        .await
        .unwrap();
    assert_eq!(sum.content[0].as_text(), Some("5"), "{version}");
    let templates = client.list_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "notes://{id}");
    let note = client.read_resource("notes://4").await.unwrap();
    assert_eq!(note.contents.len(), 1);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let deleted = client
        .call_tool_with(
            "delete",
            json!({"id": 9}),
            RequestOptions {
                progress: Some(tx),
                ..RequestOptions::default()
            },
        )
        .await
        .unwrap();
    let expected = if version >= ProtocolVersion::V2025_06_18 {
        "deleted 9"
    } else {
        "cannot ask"
    };
    assert_eq!(deleted.content[0].as_text(), Some(expected), "{version}");
    if !version.is_stateless() {
        let first = rx.try_recv().unwrap();
        assert_eq!(first["progress"], 1.0, "{version}");
    }
    let missing = client.call_tool("nope", json!({})).await;
    assert!(
        matches!(&missing, Err(ClientError::Rpc { .. }))
            || missing.as_ref().is_ok_and(|r| r.is_error()),
        "{missing:?}"
    );
}

#[tokio::test]
async fn the_client_speaks_every_revision_over_a_stream() {
    for version in ProtocolVersion::ALL {
        let (transport, client_side) = mcp_server::transport::duplex(1 << 16);
        let server = tokio::spawn(Server::new(Remote::default()).serve(transport));
        let (read, write) = tokio::io::split(client_side);
        let client = Client::connect_io(read, write, ClientOptions::new(version).handler(Accept))
            .await
            .unwrap();
        assert_eq!(client.version(), version);
        exercise(&client, version).await;
        drop(client);
        // The client gone, its end of the pipe closes and the server stops.
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("the server saw the client go")
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn the_client_speaks_every_revision_over_streamable_http() {
    let (url, task) = serve_http(Remote::default()).await;
    for version in ProtocolVersion::ALL {
        let client = Client::connect_http(
            &url,
            HttpOptions::new(),
            ClientOptions::new(version).handler(Accept),
        )
        .await
        .unwrap();
        if !version.is_stateless() {
            assert_eq!(client.instructions(), Some("Use `delete` carefully."));
        }
        exercise(&client, version).await;
    }
    task.abort();
}

#[tokio::test]
async fn the_client_falls_back_to_the_legacy_sse_transport() {
    let (url, task) = serve_http(Remote::default()).await;
    let sse = url.replace("/mcp", "/sse");
    let client = Client::connect_http(
        &sse,
        HttpOptions::new(),
        ClientOptions::new(ProtocolVersion::V2024_11_05),
    )
    .await
    .unwrap();
    exercise(&client, ProtocolVersion::V2024_11_05).await;
    task.abort();
}

#[tokio::test]
async fn http_errors_are_reported_not_hung_on() {
    let err = Client::connect_http(
        "http://127.0.0.1:1/mcp",
        HttpOptions::new(),
        ClientOptions::new(ProtocolVersion::V2025_11_25).timeout(Duration::from_secs(5)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ClientError::Http(_)), "{err:?}");
    let err = Client::connect_http(
        "ftp://example.com/",
        HttpOptions::new(),
        ClientOptions::new(ProtocolVersion::V2025_11_25),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not an http"), "{err}");
}

async fn proxied(remote_version: ProtocolVersion, url: &str) -> Server {
    let client = Client::connect_http(
        url,
        HttpOptions::new(),
        ClientOptions::new(remote_version).forwarding(),
    )
    .await
    .unwrap();
    Server::builder()
        .name("edge")
        .mount("remote", Server::proxy(client).await.unwrap())
        .try_build()
        .unwrap()
}

#[tokio::test]
async fn a_proxy_forwards_calls_progress_and_elicitation() {
    let (url, task) = serve_http(Remote::default()).await;
    let script = ClientScript::new().elicit(json!({"action": "accept", "content": {"ok": true}}));
    for remote_version in [ProtocolVersion::V2025_06_18, ProtocolVersion::V2025_11_25] {
        let edge = proxied(remote_version, &url).await;
        assert_eq!(
            edge.tool_names(),
            ["remote_add", "remote_delete", "remote_wait"]
        );
        for local in [ProtocolVersion::V2025_06_18, ProtocolVersion::V2025_11_25] {
            let client = TestClient::connect_scripted(edge.clone(), local, script.clone())
                .await
                .unwrap();
            let sum = client
                .call_tool("remote_add", json!({"a": 1, "b": 2}))
                .await
                .unwrap();
            assert_eq!(sum.content[0].as_text(), Some("3"));
            let deleted = client
                .call_tool_with_progress("remote_delete", json!({"id": 5}), "tok")
                .await
                .unwrap();
            assert_eq!(deleted.content[0].as_text(), Some("deleted 5"));
            let notes = client.drain_notifications().await;
            assert!(
                notes.iter().any(|n| n["method"] == "notifications/progress"
                    && n["params"]["progressToken"] == "tok"),
                "{notes:?}"
            );
            let read = client
                .request("resources/read", json!({"uri": "remote+notes://7"}))
                .await
                .unwrap();
            assert_eq!(read["contents"][0]["text"], "note 7");
            assert_eq!(read["contents"][0]["uri"], "remote+notes://7");
        }
    }
    task.abort();
}

#[tokio::test]
async fn cancelling_a_proxied_call_cancels_the_remote_one() {
    let remote = Remote::default();
    let started = Arc::clone(&remote.started);
    let (url, task) = serve_http(remote).await;
    let edge = proxied(ProtocolVersion::V2025_11_25, &url).await;
    let client = Arc::new(
        TestClient::connect(edge, ProtocolVersion::V2025_11_25)
            .await
            .unwrap(),
    );
    let caller = Arc::clone(&client);
    let call = tokio::spawn(async move {
        caller
            .request(
                "tools/call",
                json!({"name": "remote_wait", "arguments": {}}),
            )
            .await
    });
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .unwrap();
    // The first request after `initialize` (id 1) is the call, id 2.
    client
        .notify("notifications/cancelled", json!({"requestId": 2}))
        .await;
    // A cancelled request gets no answer; the test client gives up on it.
    let answer = call.await.unwrap();
    assert!(answer.is_err(), "{answer:?}");
    task.abort();
}

#[tokio::test]
async fn a_proxy_follows_the_remote_servers_list_changes() {
    let remote = Server::new(Remote::default());
    let (url, task) = serve_http(remote.clone()).await;
    let client = Client::connect_http(
        &url,
        HttpOptions::new(),
        ClientOptions::new(ProtocolVersion::V2025_11_25),
    )
    .await
    .unwrap();
    let edge = Server::builder().proxy(client).await.unwrap().build();
    let local = TestClient::connect(edge.clone(), ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    assert!(remote.remove_tool("wait"));
    let note = local.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/tools/list_changed");
    // The proxy re-listed before the composed server told its clients.
    assert_eq!(edge.tool_names(), ["add", "delete"]);
    task.abort();

    // A template the remote server drops goes from the proxy's list too.
    let remote = completing_remote();
    let (url, task) = serve_http(remote.clone()).await;
    let client = Client::connect_http(
        &url,
        HttpOptions::new(),
        ClientOptions::new(ProtocolVersion::V2025_11_25),
    )
    .await
    .unwrap();
    let edge = Server::proxy(client).await.unwrap();
    let local = TestClient::connect(edge.clone(), ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    assert_eq!(
        edge.resource_template_uris(),
        ["notes://{id}", "cards://{team}/{id}"]
    );
    assert!(remote.remove_resource_template("cards://{team}/{id}"));
    let note = local.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/resources/list_changed");
    assert_eq!(edge.resource_template_uris(), ["notes://{id}"]);
    task.abort();
}

/// `Remote` with a prompt and a template whose arguments complete.
fn completing_remote() -> Server {
    let greet = PromptDef::new(
        Prompt {
            name: "greet".into(),
            title: None,
            description: None,
            arguments: vec![PromptArgument {
                name: "name".into(),
                title: None,
                description: None,
                required: Some(true),
            }],
            icons: None,
            meta: None,
        },
        |call: PromptCall| async move {
            let name: String = call.require("name")?;
            Ok::<_, mcp_server::core::ProtocolError>(format!("Hello {name}"))
        },
    )
    .complete("name", |req| async move {
        Completions::matching(["Ada", "Alan", "Bob"], &req.value)
    });
    let card = ResourceTemplateDef::new("cards://{team}/{id}", "card", None, |call| async move {
        format!("card {}", call.uri())
    })
    .unwrap()
    .complete("id", |req| async move {
        // The other variable arrives as context.
        let team = req.context.get("team").cloned().unwrap_or_default();
        Completions::matching([format!("{team}-1"), format!("{team}-2")], &req.value)
    });
    Server::builder()
        .definition(Remote::default())
        .prompt(greet)
        .resource_template(card)
        .build()
}

async fn complete(client: &TestClient, reference: Value, argument: &str, value: &str) -> Value {
    client
        .request(
            "completion/complete",
            json!({
                "ref": reference,
                "argument": {"name": argument, "value": value},
                "context": {"arguments": {"team": "red"}},
            }),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_proxy_forwards_completions_under_a_mount_and_without_one() {
    let (url, task) = serve_http(completing_remote()).await;
    let mounted = proxied(ProtocolVersion::V2025_11_25, &url).await;
    let client = Client::connect_http(
        &url,
        HttpOptions::new(),
        ClientOptions::new(ProtocolVersion::V2025_06_18),
    )
    .await
    .unwrap();
    let flat = Server::builder().proxy(client).await.unwrap().build();
    for (edge, prefix, scheme) in [(mounted, "remote_", "remote+"), (flat, "", "")] {
        let local = TestClient::connect(edge, ProtocolVersion::V2025_11_25)
            .await
            .unwrap();
        let names = complete(
            &local,
            json!({"type": "ref/prompt", "name": format!("{prefix}greet")}),
            "name",
            "a",
        )
        .await;
        assert_eq!(names["completion"]["values"], json!(["Ada", "Alan"]));
        let ids = complete(
            &local,
            json!({"type": "ref/resource", "uri": format!("{scheme}cards://{{team}}/{{id}}")}),
            "id",
            "red-2",
        )
        .await;
        assert_eq!(ids["completion"]["values"], json!(["red-2"]));
        // A remote argument without a completer completes to nothing.
        let none = complete(
            &local,
            json!({"type": "ref/resource", "uri": format!("{scheme}notes://{{id}}")}),
            "id",
            "1",
        )
        .await;
        assert_eq!(none["completion"]["values"], json!([]));
        // A prompt the remote server does not have is refused locally.
        let unknown = local
            .request(
                "completion/complete",
                json!({
                    "ref": {"type": "ref/prompt", "name": "nope"},
                    "argument": {"name": "x", "value": ""},
                }),
            )
            .await
            .unwrap_err();
        assert_eq!(unknown.code, -32602);
    }
    task.abort();
}

async fn subscribe(client: &TestClient, method: &str, uri: &str) {
    client
        .request(&format!("resources/{method}"), json!({"uri": uri}))
        .await
        .unwrap();
}

/// The next notification, which must come within ten seconds.
async fn next(client: &TestClient) -> Value {
    tokio::time::timeout(Duration::from_secs(10), client.next_notification())
        .await
        .expect("a notification in time")
        .expect("the connection is open")
}

#[tokio::test]
async fn a_proxy_subscribes_upstream_while_local_sessions_listen() {
    let remote = Server::builder()
        .definition(Remote::default())
        .resource(ResourceDef::new(
            "memo://today",
            "today",
            None,
            |_call| async { "today" },
        ))
        .build();
    let (url, task) = serve_http(remote.clone()).await;
    let edge = proxied(ProtocolVersion::V2025_11_25, &url).await;
    let a = TestClient::connect(edge.clone(), ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    let b = TestClient::connect(edge.clone(), ProtocolVersion::V2025_06_18)
        .await
        .unwrap();
    for uri in ["remote+notes://3", "remote+memo://today"] {
        subscribe(&a, "subscribe", uri).await;
        subscribe(&b, "subscribe", uri).await;
    }
    remote.resource_updated("notes://3");
    remote.resource_updated("memo://today");
    for client in [&a, &b] {
        for uri in ["remote+notes://3", "remote+memo://today"] {
            let note = next(client).await;
            assert_eq!(note["method"], "notifications/resources/updated");
            assert_eq!(note["params"]["uri"], uri);
        }
    }
    // One session leaving keeps the remote subscription for the other.
    subscribe(&a, "unsubscribe", "remote+notes://3").await;
    remote.resource_updated("notes://3");
    let note = next(&b).await;
    assert_eq!(note["params"]["uri"], "remote+notes://3");
    // What `a` hears next is the list change made after the update.
    assert!(remote.remove_tool("wait"));
    assert_eq!(next(&a).await["method"], "notifications/tools/list_changed");
    assert_eq!(next(&b).await["method"], "notifications/tools/list_changed");
    // Subscribed again after leaving: updates flow again.
    subscribe(&b, "unsubscribe", "remote+notes://3").await;
    subscribe(&a, "subscribe", "remote+notes://3").await;
    remote.resource_updated("notes://3");
    // Re-listing may have told of more list changes first.
    let mut note = next(&a).await;
    while note["method"] == "notifications/tools/list_changed" {
        note = next(&a).await;
    }
    assert_eq!(note["method"], "notifications/resources/updated");
    assert_eq!(note["params"]["uri"], "remote+notes://3");
    task.abort();
}

#[tokio::test]
async fn an_unprefixed_proxy_relays_updates_of_subscribed_templates() {
    let remote = Server::new(Remote::default());
    let (url, task) = serve_http(remote.clone()).await;
    let client = Client::connect_http(
        &url,
        HttpOptions::new(),
        ClientOptions::new(ProtocolVersion::V2025_06_18),
    )
    .await
    .unwrap();
    let edge = Server::builder().proxy(client).await.unwrap().build();
    let local = TestClient::connect(edge, ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    subscribe(&local, "subscribe", "notes://8").await;
    remote.resource_updated("notes://9");
    remote.resource_updated("notes://8");
    let note = next(&local).await;
    assert_eq!(note["params"]["uri"], "notes://8");
    task.abort();
}
