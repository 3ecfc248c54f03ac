//! Server features through the in-process client, on every revision:
//! questions to the client (inline on stateful revisions, multi round-trip
//! on 2026-07-28), prompts, resources, completion, subscriptions and paging.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use mcp_server::core::client::{CreateMessageParams, SamplingMessage};
use mcp_server::core::content::Role;
use mcp_server::prelude::*;
use mcp_server::testing::{ClientScript, TestClient};
use mcp_server::{AskError, Elicited};
use serde_json::{Value, json};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Confirm {
    /// Really delete?
    ok: bool,
}

#[derive(Default)]
struct Files {
    deleted: Arc<AtomicU32>,
}

#[mcp_server(name = "files")]
impl Files {
    /// Delete a file, after the user confirms.
    #[mcp_tool(destructive)]
    async fn delete(
        &self,
        /** The file. */
        name: String,
        ctx: &RequestContext,
    ) -> Result<String, String> {
        match ctx
            .elicit::<Confirm>("confirm", format!("Delete {name}?"))
            .await
        {
            Ok(Elicited::Accepted(Confirm { ok: true })) => {
                // The side effect comes after the question, so it runs once.
                self.deleted.fetch_add(1, Ordering::SeqCst);
                Ok(format!("deleted {name}"))
            }
            Ok(_) => Ok(format!("kept {name}")),
            Err(AskError::Unavailable(_)) => {
                Err(format!("cannot confirm deleting {name} with this client"))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Ask the client's model, then list its roots.
    #[mcp_tool]
    async fn summarize(&self, ctx: &RequestContext) -> Result<String, String> {
        let params = CreateMessageParams {
            messages: vec![SamplingMessage {
                role: Role::User,
                content: Content::text("Summarize."),
            }],
            max_tokens: 50,
            system_prompt: None,
            temperature: None,
            model_preferences: None,
        };
        let sampled = ctx
            .sample("summary", params)
            .await
            .map_err(|e| e.to_string())?;
        let roots = ctx.roots("roots").await.map_err(|e| e.to_string())?;
        Ok(format!(
            "{} from {} over {} roots",
            sampled.content.as_text().unwrap_or(""),
            sampled.model,
            roots.roots.len()
        ))
    }
}

fn script() -> ClientScript {
    ClientScript::new()
        .elicit(json!({"action": "accept", "content": {"ok": true}}))
        .sample(json!({"role": "assistant", "content": {"type": "text", "text": "short"}, "model": "test-model"}))
        .roots(json!({"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]}))
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or("")
}

#[tokio::test]
async fn the_same_confirming_tool_works_on_every_revision() {
    for version in ProtocolVersion::ALL {
        let files = Files::default();
        let deleted = Arc::clone(&files.deleted);
        let client = TestClient::connect_scripted(files, version, script())
            .await
            .unwrap();
        let result = client
            .request(
                "tools/call",
                json!({"name": "delete", "arguments": {"name": "a.txt"}}),
            )
            .await
            .unwrap();
        if version.has_elicitation() {
            assert_eq!(text(&result), "deleted a.txt", "{version}");
            assert_eq!(
                deleted.load(Ordering::SeqCst),
                1,
                "{version}: deleted exactly once"
            );
        } else {
            assert_eq!(result["isError"], true, "{version}");
            assert!(text(&result).contains("cannot confirm"), "{version}");
            assert_eq!(deleted.load(Ordering::SeqCst), 0);
        }

        // Declined: nothing happens.
        let declined = ClientScript::new().elicit(json!({"action": "decline"}));
        let files = Files::default();
        let deleted = Arc::clone(&files.deleted);
        let client = TestClient::connect_scripted(files, version, declined)
            .await
            .unwrap();
        let result = client
            .request(
                "tools/call",
                json!({"name": "delete", "arguments": {"name": "a.txt"}}),
            )
            .await
            .unwrap();
        if version.has_elicitation() {
            assert_eq!(text(&result), "kept a.txt", "{version}");
        }
        assert_eq!(deleted.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn sampling_and_roots_on_every_revision() {
    for version in ProtocolVersion::ALL {
        let client = TestClient::connect_scripted(Files::default(), version, script())
            .await
            .unwrap();
        let result = client
            .request("tools/call", json!({"name": "summarize", "arguments": {}}))
            .await
            .unwrap();
        assert_eq!(
            text(&result),
            "short from test-model over 2 roots",
            "{version}"
        );
    }
}

#[tokio::test]
async fn input_required_results_carry_a_signed_state() {
    // No script: the client sees the question itself.
    let client = TestClient::connect(Files::default(), ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let caps = json!({"elicitation": {}});
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps,
    });
    let first = client
        .request(
            "tools/call",
            json!({"name": "delete", "arguments": {"name": "a"}, "_meta": meta}),
        )
        .await
        .unwrap();
    assert_eq!(first["resultType"], "input_required");
    let ask = &first["inputRequests"]["confirm"];
    assert_eq!(ask["method"], "elicitation/create");
    assert_eq!(
        ask["params"]["requestedSchema"]["properties"]["ok"]["type"],
        "boolean"
    );
    let state = first["requestState"].as_str().unwrap().to_owned();

    let answer = json!({"confirm": {"action": "accept", "content": {"ok": true}}});
    // A tampered state is an error, not a result.
    let tampered = client
        .request(
            "tools/call",
            json!({"name": "delete", "arguments": {"name": "a"}, "_meta": meta,
                   "inputResponses": answer, "requestState": format!("{state}-TAMPERED")}),
        )
        .await
        .unwrap_err();
    assert_eq!(tampered.code, -32602);
    // The state is bound to the arguments it was issued for.
    let other = client
        .request(
            "tools/call",
            json!({"name": "delete", "arguments": {"name": "b"}, "_meta": meta,
                   "inputResponses": answer, "requestState": state}),
        )
        .await
        .unwrap_err();
    assert!(
        other.message.contains("different request"),
        "{}",
        other.message
    );
    // The real retry completes.
    let done = client
        .request(
            "tools/call",
            json!({"name": "delete", "arguments": {"name": "a"}, "_meta": meta,
                   "inputResponses": answer, "requestState": state}),
        )
        .await
        .unwrap();
    assert_eq!(done["resultType"], "complete");
    assert_eq!(text(&done), "deleted a");
}

/// Answer pong.
#[mcp_tool]
async fn ping_tool() -> &'static str {
    "pong"
}

fn catalog() -> Server {
    let prompt = mcp_server::core::prompt::Prompt {
        name: "greeting".into(),
        title: Some("Greeting".into()),
        description: Some("Greet someone.".into()),
        arguments: vec![mcp_server::core::prompt::PromptArgument {
            name: "name".into(),
            title: None,
            description: Some("Who.".into()),
            required: Some(true),
        }],
        icons: None,
        meta: None,
    };
    let greeting = PromptDef::new(prompt, |call: PromptCall| async move {
        let name: String = call.require("name")?;
        Ok::<_, mcp_server::core::ProtocolError>(format!("Say hello to {name}."))
    })
    .complete("name", |request| async move {
        Completions::matching(["Ada", "Alan", "Grace"], &request.value)
    });
    let profile = ResourceTemplateDef::new(
        "users://{id}/profile",
        "profile",
        Some("application/json"),
        |call| async move {
            let id: u32 = call.parse("id")?;
            if id > 100 {
                return Err(ResourceError::NotFound(call.uri().to_owned()));
            }
            Ok(format!(r#"{{"id":{id}}}"#))
        },
    )
    .unwrap();
    let mut builder = Server::builder()
        .name("catalog")
        .page_size(2)
        .tool(ping_tool::tool())
        .prompt(greeting)
        .resource_template(profile);
    for i in 0..5 {
        builder = builder.resource(ResourceDef::new(
            format!("notes://{i}"),
            format!("note {i}"),
            Some("text/plain"),
            move |_call| async move { format!("note number {i}") },
        ));
    }
    builder.build()
}

#[tokio::test]
async fn prompts_resources_completion_and_paging_on_every_revision() {
    for version in ProtocolVersion::ALL {
        let client = TestClient::connect(catalog(), version).await.unwrap();

        let prompts = client.request("prompts/list", json!({})).await.unwrap();
        assert_eq!(prompts["prompts"][0]["name"], "greeting");
        let got = client
            .request(
                "prompts/get",
                json!({"name": "greeting", "arguments": {"name": "Ada"}}),
            )
            .await
            .unwrap();
        assert_eq!(got["messages"][0]["content"]["text"], "Say hello to Ada.");
        let missing = client
            .request("prompts/get", json!({"name": "greeting"}))
            .await
            .unwrap_err();
        assert_eq!(missing.code, -32602);

        // Five resources, two per page.
        let mut uris = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
            let page = client.request("resources/list", params).await.unwrap();
            uris.extend(
                page["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["uri"].as_str().unwrap().to_owned()),
            );
            if version.is_stateless() {
                assert!(page["ttlMs"].is_u64() && page["cacheScope"].is_string());
            } else {
                assert!(
                    page.get("ttlMs").is_none(),
                    "no caching hints before 2026-07-28"
                );
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(
            uris,
            [
                "notes://0",
                "notes://1",
                "notes://2",
                "notes://3",
                "notes://4"
            ]
        );
        let bad = client
            .request("resources/list", json!({"cursor": "nope"}))
            .await
            .unwrap_err();
        assert_eq!(bad.code, -32602);

        let read = client
            .request("resources/read", json!({"uri": "notes://3"}))
            .await
            .unwrap();
        assert_eq!(read["contents"][0]["text"], "note number 3");
        let read = client
            .request("resources/read", json!({"uri": "users://7/profile"}))
            .await
            .unwrap();
        assert_eq!(read["contents"][0]["text"], r#"{"id":7}"#);
        assert_eq!(read["contents"][0]["mimeType"], "application/json");
        let templates = client
            .request("resources/templates/list", json!({}))
            .await
            .unwrap();
        assert_eq!(
            templates["resourceTemplates"][0]["uriTemplate"],
            "users://{id}/profile"
        );

        for uri in ["users://101/profile", "nothing://here"] {
            let missing = client
                .request("resources/read", json!({"uri": uri}))
                .await
                .unwrap_err();
            if version.is_stateless() {
                assert_eq!(missing.code, -32602, "{version}");
            } else {
                assert_eq!(missing.code, -32002, "{version}");
            }
            assert_eq!(missing.data.as_ref().unwrap()["uri"], uri);
        }
        let invalid = client
            .request("resources/read", json!({"uri": "users://x/profile"}))
            .await
            .unwrap_err();
        assert_eq!(invalid.code, -32602);

        let completion = client
            .request(
                "completion/complete",
                json!({"ref": {"type": "ref/prompt", "name": "greeting"}, "argument": {"name": "name", "value": "a"}}),
            )
            .await
            .unwrap();
        assert_eq!(completion["completion"]["values"], json!(["Ada", "Alan"]));
    }
}

#[tokio::test]
async fn subscribers_hear_about_updates_on_both_eras() {
    let server = catalog();
    let client = TestClient::connect(server.clone(), ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    client
        .request("resources/subscribe", json!({"uri": "notes://1"}))
        .await
        .unwrap();
    server.resource_updated("notes://2"); // not subscribed: nothing
    server.resource_updated("notes://1");
    let note = client.next_notification().await.unwrap();
    assert_eq!(note["method"], "notifications/resources/updated");
    assert_eq!(note["params"]["uri"], "notes://1");
    client
        .request("resources/unsubscribe", json!({"uri": "notes://1"}))
        .await
        .unwrap();

    // 2026-07-28: the same call reaches a listen stream that asked for it.
    let modern = Arc::new(
        TestClient::connect(server.clone(), ProtocolVersion::V2026_07_28)
            .await
            .unwrap(),
    );
    let listening = Arc::clone(&modern);
    let listen = tokio::spawn(async move {
        listening
            .request(
                "subscriptions/listen",
                json!({"notifications": {"resourceSubscriptions": ["notes://1"]}}),
            )
            .await
    });
    let ack = modern.next_notification().await.unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["notifications"],
        json!({"resourceSubscriptions": ["notes://1"]})
    );
    server.resource_updated("notes://2"); // not asked for
    server.resource_updated("notes://1");
    let update = modern.next_notification().await.unwrap();
    assert_eq!(update["method"], "notifications/resources/updated");
    assert_eq!(update["params"]["uri"], "notes://1");
    assert!(update["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"].is_number());
    listen.abort();
}

struct Notes {
    notes: Vec<&'static str>,
}

#[mcp_server(name = "notes")]
impl Notes {
    /// Count the notes.
    #[mcp_tool(read_only)]
    async fn count(&self) -> usize {
        self.notes.len()
    }

    /// Draft a summary of one note.
    #[mcp_prompt(title = "Summarize a note")]
    async fn summarize(
        &self,
        /// Which note, by index.
        #[arg(complete = note_indexes)]
        index: usize,
        /// How many words at most.
        words: Option<u32>,
    ) -> Result<String, String> {
        let note = self.notes.get(index).ok_or(format!("no note {index}"))?;
        Ok(format!(
            "Summarize `{note}` in at most {} words.",
            words.unwrap_or(20)
        ))
    }

    /// Every note, one per line.
    #[mcp_resource("notes://all", mime = "text/plain")]
    async fn all(&self) -> String {
        self.notes.join("\n")
    }

    /// One note.
    #[mcp_resource("notes://{index}", mime = "text/plain", name = "note")]
    async fn note(
        &self,
        #[arg(complete = note_indexes)] index: usize,
    ) -> Result<String, ResourceError> {
        self.notes
            .get(index)
            .map(|n| (*n).to_owned())
            .ok_or_else(|| ResourceError::NotFound(format!("notes://{index}")))
    }

    async fn note_indexes(&self, request: mcp_server::CompletionRequest) -> Completions {
        Completions::matching((0..self.notes.len()).map(|i| i.to_string()), &request.value)
    }
}

/// Say hello in a language.
#[mcp_prompt]
async fn hello_in(
    /** The language. */
    language: String,
) -> String {
    format!("Say hello in {language}.")
}

/// The server's version.
#[mcp_resource("meta://version", mime = "text/plain")]
async fn version_resource() -> &'static str {
    "1.0"
}

#[tokio::test]
async fn macro_prompts_and_resources_on_every_revision() {
    for version in ProtocolVersion::ALL {
        let server = Server::builder()
            .definition(Notes {
                notes: vec!["buy milk", "call mum", "fix the bike"],
            })
            .prompt(hello_in::prompt())
            .resource(version_resource::resource())
            .build();
        let client = TestClient::connect(server, version).await.unwrap();

        let prompts = client.request("prompts/list", json!({})).await.unwrap();
        let summarize = &prompts["prompts"][0];
        assert_eq!(summarize["name"], "summarize");
        assert_eq!(summarize["description"], "Draft a summary of one note.");
        assert_eq!(
            summarize["arguments"][0],
            json!({"name": "index", "description": "Which note, by index.", "required": true})
        );
        assert_eq!(summarize["arguments"][1]["required"], false);
        assert_eq!(prompts["prompts"][1]["name"], "hello_in");

        let got = client
            .request(
                "prompts/get",
                json!({"name": "summarize", "arguments": {"index": "1"}}),
            )
            .await
            .unwrap();
        assert_eq!(
            got["messages"][0]["content"]["text"],
            "Summarize `call mum` in at most 20 words."
        );
        let bad = client
            .request(
                "prompts/get",
                json!({"name": "summarize", "arguments": {"index": "one"}}),
            )
            .await
            .unwrap_err();
        assert_eq!(bad.code, -32602);
        assert!(bad.message.contains("`index`"), "{}", bad.message);
        let missing = client
            .request(
                "prompts/get",
                json!({"name": "summarize", "arguments": {"index": "9"}}),
            )
            .await
            .unwrap_err();
        assert!(missing.message.contains("no note 9"), "{}", missing.message);

        let resources = client.request("resources/list", json!({})).await.unwrap();
        let uris: Vec<_> = resources["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["uri"].clone())
            .collect();
        assert_eq!(uris, [json!("notes://all"), json!("meta://version")]);
        let templates = client
            .request("resources/templates/list", json!({}))
            .await
            .unwrap();
        assert_eq!(
            templates["resourceTemplates"][0]["uriTemplate"],
            "notes://{index}"
        );
        assert_eq!(templates["resourceTemplates"][0]["name"], "note");

        let read = client
            .request("resources/read", json!({"uri": "notes://2"}))
            .await
            .unwrap();
        assert_eq!(
            read["contents"][0],
            json!({"uri": "notes://2", "mimeType": "text/plain", "text": "fix the bike"})
        );
        let all = client
            .request("resources/read", json!({"uri": "notes://all"}))
            .await
            .unwrap();
        assert_eq!(
            all["contents"][0]["text"],
            "buy milk\ncall mum\nfix the bike"
        );
        let gone = client
            .request("resources/read", json!({"uri": "notes://7"}))
            .await
            .unwrap_err();
        assert_eq!(
            gone.code,
            if version.is_stateless() {
                -32602
            } else {
                -32002
            }
        );

        let completion = client
            .request(
                "completion/complete",
                json!({"ref": {"type": "ref/resource", "uri": "notes://{index}"}, "argument": {"name": "index", "value": "1"}}),
            )
            .await
            .unwrap();
        assert_eq!(completion["completion"]["values"], json!(["1"]));
        let completion = client
            .request(
                "completion/complete",
                json!({"ref": {"type": "ref/prompt", "name": "summarize"}, "argument": {"name": "index", "value": ""}}),
            )
            .await
            .unwrap();
        assert_eq!(completion["completion"]["values"], json!(["0", "1", "2"]));
    }
}

#[tokio::test]
async fn caching_hints_per_server_and_per_list() {
    use mcp_server::ListKind;
    use mcp_server::core::lifecycle::CacheScope;
    use std::time::Duration;
    let server = Server::builder()
        .tool(ping_tool::tool())
        .resource(ResourceDef::new(
            "me://profile",
            "profile",
            None,
            |_call| async { "me" },
        ))
        .cache_hints(Duration::from_secs(3600), CacheScope::Public)
        .list_cache_hints(ListKind::Resources, Duration::ZERO, CacheScope::Private)
        .build();
    let client = TestClient::connect(server, ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    let tools = client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(
        (tools["ttlMs"].as_u64(), tools["cacheScope"].as_str()),
        (Some(3_600_000), Some("public"))
    );
    let resources = client.request("resources/list", json!({})).await.unwrap();
    assert_eq!(
        (
            resources["ttlMs"].as_u64(),
            resources["cacheScope"].as_str()
        ),
        (Some(0), Some("private"))
    );
    let discover = client.request("server/discover", json!({})).await.unwrap();
    assert_eq!(discover["ttlMs"], 3_600_000);
}

#[tokio::test]
async fn rate_limits_are_json_rpc_errors_on_stdio() {
    use mcp_server::limit::{Quota, RateLimit};
    let server = Server::builder()
        .tool(ping_tool::tool())
        .rate_limit(RateLimit::per_caller(Quota::per_minute(60).burst(1)))
        .build();
    let client = TestClient::connect(server, ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    assert!(
        client
            .request("tools/call", json!({"name": "ping_tool"}))
            .await
            .is_ok()
    );
    let limited = client
        .request("tools/call", json!({"name": "ping_tool"}))
        .await
        .unwrap_err();
    assert_eq!(limited.code, -32011);
    assert_eq!(limited.data.unwrap()["retryAfterSeconds"], 1);
}

#[derive(Debug, Default, Clone)]
struct Collect(Arc<std::sync::Mutex<Vec<mcp_server::audit::AuditRecord>>>);

impl mcp_server::audit::AuditSink for Collect {
    fn write<'a>(
        &'a self,
        records: &'a [mcp_server::audit::AuditRecord],
    ) -> mcp_server::audit::WriteFuture<'a> {
        self.0.lock().unwrap().extend_from_slice(records);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Fail when asked to.
#[mcp_tool(read_only)]
async fn maybe_fail(
    /** Whether to fail. */
    fail: bool,
) -> Result<&'static str, String> {
    if fail {
        Err("failed as asked".into())
    } else {
        Ok("fine")
    }
}

/// Look a word up.
#[mcp_tool(read_only, audit_arguments)]
async fn lookup(
    /** The word. */
    word: String,
) -> String {
    word
}

/// Hex SHA-256 of `text`, as the audit log writes it.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn large_arguments_are_digested_as_sent_and_recorded_in_order() {
    for version in [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28] {
        let records = Collect::default();
        let server = Server::builder()
            .tool(maybe_fail::tool())
            .tool(lookup::tool())
            .audit(records.clone())
            .build();
        let client = TestClient::connect(server.clone(), version).await.unwrap();
        // Large ones (digested aside, while the tool runs) between small ones.
        let calls = [
            ("maybe_fail", json!({"fail": false, "pad": "s"})),
            (
                "maybe_fail",
                json!({"fail": false, "pad": "\"l\"".repeat(100_000)}),
            ),
            ("lookup", json!({"word": "w".repeat(300_000)})),
            ("maybe_fail", json!({"fail": true})),
            ("lookup", json!({"word": "small"})),
        ];
        for (name, arguments) in &calls {
            client
                .request("tools/call", json!({"name": name, "arguments": arguments}))
                .await
                .unwrap();
        }
        server.flush_audit().await;
        let records = records.0.lock().unwrap().clone();
        let calls_recorded: Vec<_> = records
            .iter()
            .filter(|r| r.method.as_deref() == Some("tools/call"))
            .collect();
        assert_eq!(calls_recorded.len(), calls.len(), "{version}");
        for (record, (name, arguments)) in calls_recorded.iter().zip(&calls) {
            assert_eq!(record.target.as_deref(), Some(*name), "{version}");
            let sent = serde_json::to_string(arguments).unwrap();
            assert_eq!(
                record.arguments_sha256.as_deref(),
                Some(sha256_hex(&sent).as_str()),
                "{version}: {name}, {} bytes",
                sent.len()
            );
        }
        // The tool that opted in still has its arguments recorded, large or not.
        assert_eq!(calls_recorded[2].arguments, Some(calls[2].1.clone()));
        assert_eq!(calls_recorded[3].outcome.as_str(), "tool_error");
    }
}

#[tokio::test]
async fn a_large_call_hands_its_tool_the_arguments_as_sent() {
    #[derive(serde::Deserialize)]
    struct Args {
        text: String,
    }
    let tool = mcp_server::core::tool::Tool {
        name: "raw".into(),
        title: None,
        description: Some("Says what it was sent.".into()),
        input_schema: serde_json::Map::new(),
        output_schema: None,
        annotations: None,
        icons: None,
        meta: None,
    };
    let raw = ToolDef::new(tool, |call: ToolCall| async move {
        let typed: Args = match call.arguments() {
            Ok(args) => args,
            Err(error) => return error,
        };
        let raw = call.raw_arguments().map(|a| a.get().to_owned());
        json!({"raw": raw, "typed": typed.text.len()})
            .to_string()
            .into_tool_result()
    });
    let server = Server::builder().tool(raw).build();
    for version in [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28] {
        let client = TestClient::connect(server.clone(), version).await.unwrap();
        for len in [10, 70_000, 1_000_000] {
            let text = "q\"\\".repeat(len / 3);
            let arguments = json!({"text": text, "more": [1, {"k": "}"}]});
            // Around the arguments, members the router reads, in either order.
            for params in [
                json!({"name": "raw", "arguments": arguments, "_meta": {"progressToken": 3}}),
                json!({"_meta": {"progressToken": 3}, "arguments": arguments, "name": "raw"}),
            ] {
                let result = client.request("tools/call", params).await.unwrap();
                let said: Value =
                    serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
                let sent = serde_json::to_string(&arguments).unwrap();
                assert_eq!(said["raw"], sent.as_str(), "{version}, {len}");
                assert_eq!(said["typed"], text.len(), "{version}, {len}");
            }
        }
    }
}

#[tokio::test]
async fn every_request_is_audited_once() {
    let records = Collect::default();
    let server = Server::builder()
        .tool(maybe_fail::tool())
        .tool(lookup::tool())
        .resource(ResourceDef::new("audit://r", "r", None, |_call| async {
            "r"
        }))
        .audit(records.clone())
        .build();
    let client = TestClient::connect(server.clone(), ProtocolVersion::V2025_11_25)
        .await
        .unwrap();
    client
        .request(
            "tools/call",
            json!({"name": "maybe_fail", "arguments": {"fail": false, "secret": "hunter2"}}),
        )
        .await
        .unwrap();
    client
        .request(
            "tools/call",
            json!({"name": "maybe_fail", "arguments": {"fail": true}}),
        )
        .await
        .unwrap();
    client
        .request("tools/call", json!({"name": "nope", "arguments": {}}))
        .await
        .unwrap_err();
    client
        .request("resources/read", json!({"uri": "audit://r"}))
        .await
        .unwrap();
    client.request("tools/list", json!({})).await.unwrap();
    client
        .request(
            "tools/call",
            json!({"name": "lookup", "arguments": {"word": "ledger"}}),
        )
        .await
        .unwrap();

    server.flush_audit().await;
    let records = records.0.lock().unwrap().clone();
    // Every request is recorded, `initialize` and `tools/list` included.
    let summary: Vec<(Option<&str>, Option<&str>, &str)> = records
        .iter()
        .map(|r| (r.method.as_deref(), r.target.as_deref(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (Some("initialize"), None, "ok"),
            (Some("tools/call"), Some("maybe_fail"), "ok"),
            (Some("tools/call"), Some("maybe_fail"), "tool_error"),
            (Some("tools/call"), Some("nope"), "error"),
            (Some("resources/read"), Some("audit://r"), "ok"),
            (Some("tools/list"), None, "ok"),
            (Some("tools/call"), Some("lookup"), "ok"),
        ]
    );
    // A tool that opted in has its arguments recorded; no other does.
    assert_eq!(records[6].arguments, Some(json!({"word": "ledger"})));
    assert!(records[..6].iter().all(|r| r.arguments.is_none()));
    let call = &records[1];
    assert_eq!(call.read_only, Some(true));
    assert_eq!(call.destructive, Some(false));
    assert_eq!(call.arguments_sha256.as_ref().unwrap().len(), 64);
    assert_eq!(call.protocol_version, Some(ProtocolVersion::V2025_11_25));
    let line = serde_json::to_value(call).unwrap();
    assert!(
        !line.to_string().contains("hunter2"),
        "argument values are never recorded"
    );
    // Typed fields: booleans and the request id as sent, not their Debug text.
    assert_eq!(line["read_only"], json!(true));
    assert!(line["request_id"].is_number(), "{line}");
    assert_eq!(line["outcome"], "ok");
    assert!(records[3].error.as_ref().unwrap().contains("unknown tool"));

    // The file sink writes one JSON object per line.
    let path = std::env::temp_dir().join(format!("audit-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = Server::builder()
        .tool(maybe_fail::tool())
        .audit(mcp_server::audit::FileAudit::open(&path).unwrap())
        .build();
    let client = TestClient::connect(server.clone(), ProtocolVersion::V2026_07_28)
        .await
        .unwrap();
    for _ in 0..3 {
        client
            .request(
                "tools/call",
                json!({"name": "maybe_fail", "arguments": {"fail": false}}),
            )
            .await
            .unwrap();
    }
    server.flush_audit().await;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &Value| l["method"] == "tools/call")
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|l| l["outcome"] == "ok" && l["protocol_version"] == "2026-07-28")
    );
    let _ = std::fs::remove_file(&path);
}

/// Sleep, longer than its own limit allows.
#[mcp_tool(timeout = "50ms")]
async fn slow() -> &'static str {
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    "never"
}

/// Sleep for a while.
#[mcp_tool]
async fn nap(
    /** How long, in milliseconds. */
    ms: u64,
) -> &'static str {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    "rested"
}

#[tokio::test]
async fn timeouts_in_flight_limits_and_message_size_on_stdio() {
    let server = Server::builder()
        .tool(slow::tool())
        .tool(nap::tool())
        .tool(ping_tool::tool())
        .tool_timeout(std::time::Duration::from_millis(200))
        .max_in_flight_per_session(2)
        .max_message_bytes(2048)
        .build();
    let client = TestClient::connect(server, ProtocolVersion::V2025_11_25)
        .await
        .unwrap();

    // The tool's own limit, then the server's default; the call is an
    // error result the model can read, and the session goes on.
    let slow = client
        .request("tools/call", json!({"name": "slow"}))
        .await
        .unwrap();
    assert_eq!(slow["isError"], true);
    assert!(text(&slow).contains("did not finish within 50ms"), "{slow}");
    let nap = client
        .request(
            "tools/call",
            json!({"name": "nap", "arguments": {"ms": 5000}}),
        )
        .await
        .unwrap();
    assert!(text(&nap).contains("within 200ms"), "{nap}");
    let rested = client
        .request("tools/call", json!({"name": "nap", "arguments": {"ms": 1}}))
        .await
        .unwrap();
    assert_eq!(text(&rested), "rested");

    // Two requests in progress fill the session; a third waits its turn and
    // runs once one of them has answered. The naps hold their slots for at
    // least 150ms, so the third cannot have answered sooner. `join3` polls in
    // order, so the naps are sent first (`join!` starts from a rotating
    // future, and so does not say which request the server sees first).
    let nap = json!({"name": "nap", "arguments": {"ms": 150}});
    let third = async {
        let started = std::time::Instant::now();
        let result = client
            .request("tools/call", json!({"name": "ping_tool"}))
            .await;
        (result, started.elapsed())
    };
    let (first, second, (third, waited)) = futures_util::future::join3(
        client.request("tools/call", nap.clone()),
        client.request("tools/call", nap),
        third,
    )
    .await;
    assert_eq!(text(&first.unwrap()), "rested");
    assert_eq!(text(&second.unwrap()), "rested");
    assert_eq!(text(&third.unwrap()), "pong");
    assert!(
        waited >= std::time::Duration::from_millis(150),
        "the third request ran before a slot was free ({waited:?})"
    );

    // A message over the size limit is a parse error; the next one is fine.
    let huge = json!({
        "jsonrpc": "2.0", "id": 99, "method": "tools/call",
        "params": {"name": "ping_tool", "arguments": {"pad": "x".repeat(4096)}},
    });
    client.send_line(&huge.to_string()).await;
    let error = client.next_unmatched().await.unwrap();
    assert_eq!(error["error"]["code"], -32700);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 2048 bytes")
    );
    let pong = client
        .request("tools/call", json!({"name": "ping_tool"}))
        .await
        .unwrap();
    assert_eq!(text(&pong), "pong");
}
