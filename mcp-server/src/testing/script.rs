//! [`ClientScript`]: the test client's answers to the server's questions.

use serde_json::{Map, Value, json};

/// Scripted answers to what a server asks the client: elicitation,
/// sampling and roots. Each answer declares the matching capability. On
/// stateful revisions the client answers the server's requests with them;
/// on 2026-07-28 it answers `InputRequiredResult`s and retries, as real
/// clients do, so one test covers both.
///
/// ```
/// use mcp_server::testing::ClientScript;
/// use serde_json::json;
///
/// let script = ClientScript::new()
///     .elicit(json!({"action": "accept", "content": {"ok": true}}))
///     .roots(json!({"roots": [{"uri": "file:///work", "name": "work"}]}));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientScript {
    elicit: Option<Value>,
    sample: Option<Value>,
    roots: Option<Value>,
    extensions: Map<String, Value>,
}

impl ClientScript {
    /// No answers and no capabilities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers every `elicitation/create` with `answer` (an `ElicitResult`).
    #[must_use]
    pub fn elicit(mut self, answer: Value) -> Self {
        self.elicit = Some(answer);
        self
    }

    /// Answers every `sampling/createMessage` with `answer`.
    #[must_use]
    pub fn sample(mut self, answer: Value) -> Self {
        self.sample = Some(answer);
        self
    }

    /// Answers every `roots/list` with `answer`.
    #[must_use]
    pub fn roots(mut self, answer: Value) -> Self {
        self.roots = Some(answer);
        self
    }

    /// Declares an extension under `capabilities.extensions`, such as
    /// MCP Apps: `.extension("io.modelcontextprotocol/ui",
    /// json!({"mimeTypes": ["text/html;profile=mcp-app"]}))`.
    #[must_use]
    pub fn extension(mut self, id: impl Into<String>, settings: Value) -> Self {
        self.extensions.insert(id.into(), settings);
        self
    }

    pub(super) fn capabilities(&self) -> Value {
        let mut capabilities = Map::new();
        if !self.extensions.is_empty() {
            capabilities.insert("extensions".into(), Value::Object(self.extensions.clone()));
        }
        if self.elicit.is_some() {
            capabilities.insert("elicitation".into(), json!({}));
        }
        if self.sample.is_some() {
            capabilities.insert("sampling".into(), json!({}));
        }
        if self.roots.is_some() {
            capabilities.insert("roots".into(), json!({"listChanged": true}));
        }
        Value::Object(capabilities)
    }

    pub(super) fn answer(&self, method: &str) -> Option<&Value> {
        match method {
            "elicitation/create" => self.elicit.as_ref(),
            "sampling/createMessage" => self.sample.as_ref(),
            "roots/list" => self.roots.as_ref(),
            _ => None,
        }
    }
}
