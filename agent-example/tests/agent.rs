//! The agent loop with a scripted model: tool calls, persistence across a
//! restart, owners kept apart, the turn limit, the timeout, the audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use agent_example::{AgentConfig, AgentError, CallInfo, Message, Owner, StoreError};
use common::{Fixture, Recorded, ScriptedModel, SilentModel};
use mcp_server::core::content::Role;

fn alice() -> Owner {
    Owner {
        issuer: "mcp-api-key".into(),
        tenant: "acme".into(),
        principal: "alice".into(),
    }
}

fn mallory() -> Owner {
    Owner {
        principal: "mallory".into(),
        ..alice()
    }
}

const WRITE: &str = r#"{"tool": "write_file", "arguments": {"path": "out/hello.txt", "content": "written by the agent"}}"#;
const READ: &str =
    "```json\n{\"tool\": \"read_file\", \"arguments\": {\"path\": \"out/hello.txt\"}}\n```";

#[tokio::test]
async fn the_model_calls_tools_until_it_answers() {
    let fx = Fixture::new();
    let agent = fx.agent(AgentConfig::default()).await;
    let model = ScriptedModel::new(&[WRITE, READ, r#"{"final": "wrote and read it"}"#]);
    let answer = agent
        .ask(&alice(), "c1", "write a file", &model, &CallInfo::default())
        .await
        .unwrap();
    assert_eq!(answer.answer, "wrote and read it");
    let tools: Vec<_> = answer
        .tool_calls
        .iter()
        .map(|c| (c.tool.as_str(), c.ok))
        .collect();
    assert_eq!(tools, [("write_file", true), ("read_file", true)]);
    assert_eq!(
        std::fs::read_to_string(fx.root.join("out/hello.txt")).unwrap(),
        "written by the agent"
    );
    // The read's result went back to the model, and roles alternate.
    let third = model.messages(2);
    assert_eq!(third.len(), 5);
    assert!(third[4].1.contains("\"ok\":true") && third[4].1.contains("written by the agent"));
    let roles: Vec<_> = third.iter().map(|(r, _)| *r).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::User
        ]
    );
    // The system prompt describes the tools.
    let system = model.asked.lock().unwrap()[0].1.system_prompt.clone();
    assert!(system.unwrap().contains("- write_file: "));
    // Each question has its own key.
    let keys: std::collections::HashSet<_> = model
        .asked
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(keys.len(), 3);
}

#[tokio::test]
async fn refused_tools_are_reported_to_the_model() {
    let fx = Fixture::new();
    let agent = fx.agent(AgentConfig::default()).await;
    let model = ScriptedModel::new(&[
        r#"{"tool": "read_file", "arguments": {"path": "../../etc/passwd"}}"#,
        r#"{"tool": "rm_rf", "arguments": {}}"#,
        "I could not.",
    ]);
    let answer = agent
        .ask(
            &alice(),
            "c1",
            "read /etc/passwd",
            &model,
            &CallInfo::default(),
        )
        .await
        .unwrap();
    assert_eq!(answer.answer, "I could not.");
    assert!(answer.tool_calls.iter().all(|c| !c.ok));
    let last = model.messages(2);
    assert!(last[2].1.contains("`..` is not allowed"), "{last:?}");
    assert!(last[4].1.contains("unknown tool `rm_rf`"), "{last:?}");
}

#[tokio::test]
async fn conversations_survive_a_restart() {
    let fx = Fixture::new();
    let first = fx.agent(AgentConfig::default()).await;
    let model = ScriptedModel::new(&[WRITE, "done: wrote out/hello.txt"]);
    first
        .ask(&alice(), "c1", "write a file", &model, &CallInfo::default())
        .await
        .unwrap();
    first.store().close().await;

    // A new process: the same database file, opened again.
    let second = fx.agent(AgentConfig::default()).await;
    let model = ScriptedModel::new(&["It was out/hello.txt."]);
    let answer = second
        .ask(
            &alice(),
            "c1",
            "which file was it?",
            &model,
            &CallInfo::default(),
        )
        .await
        .unwrap();
    assert_eq!(answer.messages, 6);
    let seen = model.messages(0);
    let texts: Vec<_> = seen.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts[0], "write a file");
    assert_eq!(texts[1], WRITE);
    assert!(texts[2].contains("\"tool\":\"write_file\""));
    assert_eq!(texts[3], "done: wrote out/hello.txt");
    assert_eq!(texts[4], "which file was it?");
}

#[tokio::test]
async fn another_principal_cannot_read_or_continue_a_conversation() {
    let fx = Fixture::new();
    let agent = fx.agent(AgentConfig::default()).await;
    let model = ScriptedModel::new(&["the launch code is 1234"]);
    agent
        .ask(
            &alice(),
            "shared-id",
            "remember 1234",
            &model,
            &CallInfo::default(),
        )
        .await
        .unwrap();

    // Mallory, same tenant and issuer, same conversation id: a conversation
    // of her own, without a word of Alice's.
    let model = ScriptedModel::new(&["I know nothing"]);
    let answer = agent
        .ask(
            &mallory(),
            "shared-id",
            "what was the code?",
            &model,
            &CallInfo::default(),
        )
        .await
        .unwrap();
    assert_eq!(answer.messages, 2);
    assert_eq!(
        model.messages(0),
        [(Role::User, "what was the code?".to_owned())]
    );
    // Nor can another tenant, or an anonymous caller.
    let other_tenant = Owner {
        tenant: "evil".into(),
        ..alice()
    };
    for owner in [other_tenant, Owner::anonymous()] {
        assert!(
            agent
                .store()
                .load(&owner, "shared-id")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(!agent.store().delete(&owner, "shared-id").await.unwrap());
    }
    // Alice's conversation is untouched.
    let kept = agent.store().load(&alice(), "shared-id").await.unwrap();
    assert_eq!(
        kept,
        [
            Message::user("remember 1234"),
            Message::assistant("the launch code is 1234")
        ]
    );
}

#[tokio::test]
async fn the_turn_limit_stops_a_model_that_never_answers() {
    let fx = Fixture::new();
    let config = AgentConfig {
        max_turns: 3,
        ..AgentConfig::default()
    };
    let agent = fx.agent(config).await;
    let list = r#"{"tool": "list_files", "arguments": {}}"#;
    let model = ScriptedModel::new(&[list, list, list, list, list]);
    let err = agent
        .ask(&alice(), "c1", "loop forever", &model, &CallInfo::default())
        .await
        .unwrap_err();
    assert!(matches!(err, AgentError::TurnLimit(3)), "{err}");
    assert_eq!(model.requests(), 3);
    // What happened is kept: the prompt, three replies and the two tool
    // results (the third request was not run).
    let kept = agent.store().load(&alice(), "c1").await.unwrap();
    assert_eq!(kept.len(), 6);
}

#[tokio::test]
async fn the_timeout_stops_a_model_that_never_replies() {
    let fx = Fixture::new();
    let config = AgentConfig {
        timeout: Duration::from_millis(200),
        ..AgentConfig::default()
    };
    let agent = fx.agent(config).await;
    let err = agent
        .ask(&alice(), "c1", "hello?", &SilentModel, &CallInfo::default())
        .await
        .unwrap_err();
    assert!(matches!(err, AgentError::Timeout(_)), "{err}");
    // No reply, nothing stored.
    assert!(agent.store().load(&alice(), "c1").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_stale_append_is_refused() {
    let fx = Fixture::new();
    let agent = fx.agent(AgentConfig::default()).await;
    let store = agent.store();
    store
        .append(&alice(), "c1", 0, &[Message::user("a")])
        .await
        .unwrap();
    // A second request that also started from the empty conversation.
    let err = store
        .append(&alice(), "c1", 0, &[Message::user("b")])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err}");
    assert_eq!(
        store.load(&alice(), "c1").await.unwrap(),
        [Message::user("a")]
    );
}

#[tokio::test]
async fn the_loop_audits_each_tool_call() {
    let fx = Fixture::new();
    let recorded = Recorded::default();
    let agent = fx
        .agent(AgentConfig::default())
        .await
        .audit(Arc::new(recorded.clone()));
    let model = ScriptedModel::new(&[WRITE, READ, "ok"]);
    let call = CallInfo {
        principal: Some("alice".into()),
        tenant: Some("acme".into()),
        request_id: "7".into(),
        protocol_version: "2025-11-25".into(),
        context: None,
    };
    agent
        .ask(&alice(), "c1", "go", &model, &call)
        .await
        .unwrap();
    let records = recorded.0.lock().unwrap();
    let seen: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.method.as_deref().unwrap(),
                r.target.as_deref().unwrap(),
                r.read_only,
                r.destructive,
                r.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("agent/tool", "write_file", Some(false), Some(true), "ok"),
            ("agent/tool", "read_file", Some(true), Some(false), "ok"),
        ]
    );
    assert_eq!(
        records[0].request_id,
        Some(mcp_server::core::jsonrpc::RequestId::String(
            "7/turn-1".into()
        ))
    );
    assert_eq!(
        records[0].protocol_version,
        Some(mcp_server::ProtocolVersion::V2025_11_25)
    );
    assert_eq!(records[0].principal.as_deref(), Some("alice"));
    assert!(records[0].arguments.is_none() && records[0].arguments_sha256.is_some());
}

#[tokio::test]
async fn an_in_memory_store_writes_no_file() {
    let store = agent_example::Store::open(":memory:").await.unwrap();
    store
        .append(&alice(), "c1", 0, &[Message::user("a")])
        .await
        .unwrap();
    assert_eq!(store.load(&alice(), "c1").await.unwrap().len(), 1);
    assert!(!std::path::Path::new(":memory:").exists());
}
