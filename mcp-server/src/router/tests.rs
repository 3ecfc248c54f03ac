//! The router's entry point: the panic net and the HTTP status of an answer.

use mcp_core::jsonrpc::Message;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::fixtures::{json, request};
use super::*;
use crate::completion::{CompletionRequest, Completions};
use crate::outbound::Outbound;
use crate::prompt::PromptDef;

#[test]
fn panic_messages_are_read_from_str_and_string_payloads() {
    assert_eq!(panic_message(&"boom"), "boom");
    assert_eq!(panic_message(&String::from("bang")), "bang");
    assert_eq!(panic_message(&42_u8), "non-string panic payload");
}

#[test]
fn http_statuses_follow_the_error_and_the_revision() {
    let stateful = ProtocolVersion::V2025_06_18;
    let stateless = ProtocolVersion::V2026_07_28;
    let unknown = ProtocolError::MethodNotFound("nope".into());
    // Older revisions answer every JSON-RPC error with 200.
    assert_eq!(AnswerStatus::of(&unknown, stateful), AnswerStatus::Ok);
    assert_eq!(
        AnswerStatus::of(&unknown, stateless),
        AnswerStatus::NotFound
    );
    let limited = ProtocolError::RateLimited {
        retry_after_secs: 3,
    };
    assert_eq!(
        AnswerStatus::of(&limited, stateful),
        AnswerStatus::TooManyRequests(3)
    );
    let mismatch = ProtocolError::HeaderMismatch("x".into());
    assert_eq!(
        AnswerStatus::of(&mismatch, stateless),
        AnswerStatus::BadRequest
    );
    assert_eq!(AnswerStatus::of(&mismatch, stateful), AnswerStatus::Ok);
    let parse = ProtocolError::Parse("x".into());
    assert_eq!(AnswerStatus::of(&parse, stateful), AnswerStatus::BadRequest);
}

fn stop() -> Stop {
    Stop {
        cancellation: CancellationToken::new(),
        shutdown: CancellationToken::new(),
    }
}

async fn answer(server: &Server, wire: &Wire, request: Request) -> Answer {
    let (tx, _rx) = mpsc::channel(8);
    handle_request(
        server.clone(),
        wire.clone(),
        request,
        Outbound::new(tx),
        stop(),
        None,
    )
    .await
}

#[tokio::test]
async fn a_panicking_handler_becomes_an_internal_error() {
    // Completers run without a panic net of their own: this one's
    // panic reaches the router's.
    let prompt = mcp_core::prompt::Prompt {
        name: "greet".into(),
        title: None,
        description: None,
        arguments: Vec::new(),
        icons: None,
        meta: None,
    };
    async fn exploding(_: CompletionRequest) -> Completions {
        panic!("completer exploded")
    }
    let prompt = PromptDef::new(prompt, |_| async { "hello" }).complete("who", exploding);
    let server = Server::builder().prompt(prompt).no_audit().build();
    let wire = Wire::Session {
        session: Arc::new(Session::new()),
        principal: None,
    };
    let init = request(
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}
        }),
    );
    let answered = answer(&server, &wire, init).await;
    assert!(matches!(answered.message, Message::Response(_)));
    let complete = request(
        "completion/complete",
        json!({
            "ref": {"type": "ref/prompt", "name": "greet"},
            "argument": {"name": "who", "value": "a"}
        }),
    );
    let answered = answer(&server, &wire, complete).await;
    let Message::Error(error) = answered.message else {
        panic!("expected an error, got {:?}", answered.message);
    };
    assert_eq!(
        error.error.code,
        mcp_core::jsonrpc::error_code::INTERNAL_ERROR
    );
    assert!(error.error.message.contains("panicked"), "{error:?}");
    // The server still serves.
    let ping = answer(&server, &wire, request("ping", serde_json::Value::Null)).await;
    let Message::Response(pong) = ping.message else {
        panic!("ping failed: {:?}", ping.message);
    };
    assert_eq!(json(&pong.result), json!({}));
}
