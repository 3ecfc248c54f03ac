//! Shared test fixtures: a workspace and store in a temporary directory,
//! a scripted model and an audit sink that keeps what it is given.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use agent_example::{Agent, AgentConfig, Limits, Model, Store, Workspace};
use mcp_server::AskError;
use mcp_server::audit::{AuditRecord, AuditSink};
use mcp_server::core::client::{CreateMessageParams, CreateMessageResult};
use mcp_server::core::content::{Content, Role};

/// A temporary workspace (holding `notes.txt`) and conversation database.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub db: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("workspace");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("notes.txt"), "hello\n").unwrap();
        let db = dir.path().join("data/agent.db");
        Self { dir, root, db }
    }

    pub fn workspace(&self) -> Workspace {
        Workspace::open(&self.root, Limits::default()).unwrap()
    }

    /// An agent over a freshly opened store: a new one per server "start".
    pub async fn agent(&self, config: AgentConfig) -> Agent {
        Agent::new(
            self.workspace(),
            Store::open(&self.db).await.unwrap(),
            config,
        )
    }
}

/// A model that answers with the given replies in turn and records what it
/// was asked; it fails once the replies run out.
#[derive(Debug, Default)]
pub struct ScriptedModel {
    replies: Mutex<VecDeque<String>>,
    pub asked: Mutex<Vec<(String, CreateMessageParams)>>,
}

impl ScriptedModel {
    pub fn new(replies: &[&str]) -> Self {
        Self {
            replies: Mutex::new(replies.iter().map(|r| (*r).to_owned()).collect()),
            asked: Mutex::default(),
        }
    }

    /// The texts of the messages of the `n`th request.
    pub fn messages(&self, n: usize) -> Vec<(Role, String)> {
        self.asked.lock().unwrap()[n]
            .1
            .messages
            .iter()
            .map(|m| (m.role, m.content.as_text().unwrap_or_default().to_owned()))
            .collect()
    }

    pub fn requests(&self) -> usize {
        self.asked.lock().unwrap().len()
    }
}

impl Model for ScriptedModel {
    async fn complete(
        &self,
        key: &str,
        params: CreateMessageParams,
    ) -> Result<CreateMessageResult, AskError> {
        self.asked.lock().unwrap().push((key.to_owned(), params));
        let reply = self.replies.lock().unwrap().pop_front();
        match reply {
            Some(text) => Ok(CreateMessageResult {
                role: Role::Assistant,
                content: Content::text(text),
                model: "scripted".into(),
                stop_reason: Some("endTurn".into()),
            }),
            None => Err(AskError::Refused {
                code: -1,
                message: "the script has no more replies".into(),
            }),
        }
    }
}

/// A model that never answers.
#[derive(Debug, Default)]
pub struct SilentModel;

impl Model for SilentModel {
    async fn complete(
        &self,
        _key: &str,
        _params: CreateMessageParams,
    ) -> Result<CreateMessageResult, AskError> {
        std::future::pending().await
    }
}

/// Keeps every audit record.
#[derive(Debug, Default, Clone)]
pub struct Recorded(pub Arc<Mutex<Vec<AuditRecord>>>);

impl AuditSink for Recorded {
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> mcp_server::audit::WriteFuture<'a> {
        self.0.lock().unwrap().extend_from_slice(records);
        Box::pin(std::future::ready(Ok(())))
    }
}
