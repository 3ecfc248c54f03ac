//! The agent loop: the client's model, asked through sampling, calls the
//! workspace tools until it gives a final answer.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_server::audit::{AuditOutcome, AuditRecord, AuditSink};
use mcp_server::core::client::{CreateMessageParams, CreateMessageResult, SamplingMessage};
use mcp_server::core::content::{Content, Role as WireRole};
use mcp_server::core::jsonrpc::RequestId;
use mcp_server::{AskError, RequestContext};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dispatch::{execute, tool_info};
use crate::protocol::{Reply, parse_reply, system_prompt, tool_result};
use crate::store::{Message, Owner, Role, Store, StoreError};
use crate::workspace::Workspace;

/// The agent's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentConfig {
    /// The most sampling requests one `ask_agent` makes.
    pub max_turns: u32,
    /// How long one `ask_agent` may run in all.
    pub timeout: Duration,
    /// `maxTokens` of each sampling request.
    pub max_tokens: u32,
    /// How much of a conversation's history (bytes of message text, newest
    /// first) goes into a sampling request.
    pub max_context_bytes: usize,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            max_turns: 10,
            timeout: Duration::from_secs(240),
            max_tokens: 4096,
            max_context_bytes: 200_000,
        }
    }
}

/// Whoever answers sampling requests: the client, through the request
/// context, or a scripted model in tests.
pub trait Model: Send + Sync {
    /// One completion. `key` is the same for the same question on every
    /// run of a handler (see `RequestContext::sample`).
    fn complete(
        &self,
        key: &str,
        params: CreateMessageParams,
    ) -> impl Future<Output = Result<CreateMessageResult, AskError>> + Send;
}

impl Model for RequestContext {
    fn complete(
        &self,
        key: &str,
        params: CreateMessageParams,
    ) -> impl Future<Output = Result<CreateMessageResult, AskError>> + Send {
        self.sample(key, params)
    }
}

/// Why an `ask_agent` ended without an answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The model kept calling tools.
    #[error(
        "the model made {0} requests without a final answer (the turn limit); what happened is kept in the conversation: ask again to continue"
    )]
    TurnLimit(u32),
    /// Out of time.
    #[error(
        "no final answer within {0:?}; what happened is kept in the conversation: ask again to continue"
    )]
    Timeout(Duration),
    /// The client did not sample.
    #[error("sampling failed: {0}")]
    Model(#[from] AskError),
    /// The conversation store failed or the conversation changed meanwhile.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How an `ask_agent` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    /// The conversation.
    pub conversation_id: String,
    /// The model's final answer.
    pub answer: String,
    /// The tools the model called, in order, and whether each succeeded.
    pub tool_calls: Vec<ToolCallSummary>,
    /// How many messages the conversation now holds.
    pub messages: usize,
}

/// One tool call of the loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolCallSummary {
    /// The tool.
    pub tool: String,
    /// Whether it succeeded.
    pub ok: bool,
}

/// What the audit records of the loop's tool calls say about the request.
#[derive(Debug, Clone, Default)]
pub struct CallInfo {
    /// The principal's id.
    pub principal: Option<String>,
    /// Its tenant.
    pub tenant: Option<String>,
    /// The `ask_agent` request's id.
    pub request_id: String,
    /// The protocol revision.
    pub protocol_version: String,
    /// The `ask_agent` request: the loop's records go to its server's
    /// audit log, through its queue.
    pub context: Option<RequestContext>,
}

impl CallInfo {
    /// The request's identity and id.
    pub fn of(ctx: &RequestContext) -> Self {
        Self {
            principal: ctx.principal().map(|p| p.id.clone()),
            tenant: ctx.tenant().map(ToOwned::to_owned),
            request_id: ctx.request_id().to_string(),
            protocol_version: ctx.protocol_version().as_str().to_owned(),
            context: Some(ctx.clone()),
        }
    }
}

/// The agent: a workspace, a conversation store, limits and an audit sink.
#[derive(Debug, Clone)]
pub struct Agent {
    workspace: Workspace,
    store: Store,
    config: AgentConfig,
    audit: Option<Arc<dyn AuditSink>>,
}

impl Agent {
    /// An agent over `workspace`, keeping conversations in `store`.
    pub fn new(workspace: Workspace, store: Store, config: AgentConfig) -> Self {
        Self {
            workspace,
            store,
            config,
            audit: None,
        }
    }

    /// Records each tool call of a loop run outside a request in `sink`
    /// (method `agent/tool`); inside one they go to its server's audit log.
    #[must_use]
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// The workspace.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The conversation store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Continues (or starts) `owner`'s conversation `id` with `prompt`, and
    /// runs the loop. The new messages are stored when it ends, with an
    /// answer, at the turn limit or at the timeout; a request that got no
    /// reply from the model stores nothing.
    ///
    /// # Errors
    /// See [`AgentError`].
    pub async fn ask(
        &self,
        owner: &Owner,
        id: &str,
        prompt: &str,
        model: &impl Model,
        call: &CallInfo,
    ) -> Result<Answer, AgentError> {
        let history = self.store.load(owner, id).await?;
        let mut new = vec![Message::user(prompt)];
        let mut calls = Vec::new();
        let run = self.run(id, &history, &mut new, &mut calls, model, call);
        let outcome = match tokio::time::timeout(self.config.timeout, run).await {
            Ok(outcome) => outcome,
            Err(_) => Err(AgentError::Timeout(self.config.timeout)),
        };
        if new.len() > 1 {
            self.store.append(owner, id, history.len(), &new).await?;
        }
        let answer = outcome?;
        Ok(Answer {
            conversation_id: id.to_owned(),
            answer,
            tool_calls: calls,
            messages: history.len() + new.len(),
        })
    }

    async fn run(
        &self,
        id: &str,
        history: &[Message],
        new: &mut Vec<Message>,
        calls: &mut Vec<ToolCallSummary>,
        model: &impl Model,
        call: &CallInfo,
    ) -> Result<String, AgentError> {
        for turn in 1..=self.config.max_turns {
            let messages = self.context(history, new);
            let key = question_key(id, turn, &messages);
            let params = CreateMessageParams {
                messages,
                max_tokens: self.config.max_tokens,
                system_prompt: Some(system_prompt()),
                temperature: None,
                model_preferences: None,
            };
            let reply = model.complete(&key, params).await?;
            let text = reply.content.as_text().unwrap_or_default().to_owned();
            new.push(Message::assistant(text.clone()));
            match parse_reply(&text) {
                Reply::Final(answer) => return Ok(answer),
                Reply::Tool { .. } if turn == self.config.max_turns => break,
                Reply::Tool { name, arguments } => {
                    let started = Instant::now();
                    let digest = hex(&Sha256::digest(
                        serde_json::Value::Object(arguments.clone()).to_string(),
                    ));
                    let outcome = execute(&self.workspace, &name, arguments).await;
                    self.record(call, turn, &name, digest, outcome.is_ok(), started)
                        .await;
                    calls.push(ToolCallSummary {
                        tool: name.clone(),
                        ok: outcome.is_ok(),
                    });
                    new.push(Message::user(tool_result(&name, &outcome)));
                }
            }
        }
        Err(AgentError::TurnLimit(self.config.max_turns))
    }

    /// The sampling messages: as much history as fits, then this request's
    /// messages; consecutive messages of one role joined, so roles alternate.
    fn context(&self, history: &[Message], new: &[Message]) -> Vec<SamplingMessage> {
        let mut budget = self.config.max_context_bytes;
        let mut start = history.len();
        while start > 0 && history[start - 1].content.len() <= budget {
            budget -= history[start - 1].content.len();
            start -= 1;
        }
        // Start on a user message: a reply without its question misleads.
        while start < history.len() && history[start].role != Role::User {
            start += 1;
        }
        let mut out: Vec<(Role, String)> = Vec::new();
        for message in history[start..].iter().chain(new) {
            match out.last_mut() {
                Some((role, text)) if *role == message.role => {
                    text.push_str("\n\n");
                    text.push_str(&message.content);
                }
                _ => out.push((message.role, message.content.clone())),
            }
        }
        out.into_iter()
            .map(|(role, text)| SamplingMessage {
                role: match role {
                    Role::User => WireRole::User,
                    Role::Assistant => WireRole::Assistant,
                },
                content: Content::text(text),
            })
            .collect()
    }

    /// Records one tool call of the loop: in the request's server's audit
    /// log, or, outside a request, in the sink given to [`audit`](Self::audit).
    async fn record(
        &self,
        call: &CallInfo,
        turn: u32,
        tool: &str,
        digest: String,
        ok: bool,
        started: Instant,
    ) {
        let outcome = if ok {
            AuditOutcome::Ok
        } else {
            AuditOutcome::ToolError
        };
        let mut record = AuditRecord::new("agent/tool", outcome);
        let info = tool_info(tool);
        record.time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        record.principal.clone_from(&call.principal);
        record.tenant.clone_from(&call.tenant);
        record.request_id = Some(RequestId::String(format!(
            "{}/turn-{turn}",
            call.request_id
        )));
        record.protocol_version = call.protocol_version.parse().ok();
        record.target = Some(tool.to_owned());
        record.read_only = info.map(|i| i.read_only);
        record.destructive = info.map(|i| i.destructive);
        record.arguments_sha256 = Some(digest);
        record.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        if let Some(ctx) = &call.context {
            ctx.audit(record);
        } else if let Some(sink) = &self.audit
            && let Err(e) = sink.write(std::slice::from_ref(&record)).await
        {
            tracing::warn!(error = %e, "an agent audit record could not be written");
        }
    }
}

/// The key of a sampling question: the same for the same conversation
/// state, so on 2026-07-28, where the handler runs again with the answers
/// so far, an answer is reused only for the very messages it answered.
fn question_key(id: &str, turn: u32, messages: &[SamplingMessage]) -> String {
    let mut hash = Sha256::new();
    hash.update(id.as_bytes());
    for message in messages {
        hash.update(
            serde_json::to_string(message)
                .unwrap_or_default()
                .as_bytes(),
        );
        hash.update([0]);
    }
    let digest = hex(&hash.finalize());
    format!("agent-turn-{turn}-{}", &digest[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
