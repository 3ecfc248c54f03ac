//! The typed half of the client: one method per request a client makes.

use mcp_core::prompt::{GetPromptResult, Prompt};
use mcp_core::resource::{ReadResourceResult, Resource, ResourceTemplate};
use mcp_core::tool::{CallToolResult, Tool};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Client, ClientError};

/// What a request may carry besides its params.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Receives the params of each `notifications/progress` for this
    /// request; a progress token is added to its `_meta`.
    pub progress: Option<mpsc::UnboundedSender<Value>>,
    /// Cancels the request: the server gets `notifications/cancelled` and
    /// the call returns [`ClientError::Cancelled`].
    pub cancel: Option<CancellationToken>,
}

fn parse<T: DeserializeOwned>(method: &str, value: Value) -> Result<T, ClientError> {
    serde_json::from_value(value).map_err(|e| ClientError::Malformed {
        method: method.to_owned(),
        message: e.to_string(),
    })
}

impl Client {
    /// Every page of a list, following `nextCursor`.
    async fn list_all<T: DeserializeOwned>(
        &self,
        method: &str,
        key: &str,
    ) -> Result<Vec<T>, ClientError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        // A server that keeps handing out cursors is cut off.
        for _ in 0..10_000 {
            let params = match &cursor {
                Some(cursor) => json!({"cursor": cursor}),
                None => json!({}),
            };
            let mut page = self.request(method, params).await?;
            let items: Vec<T> = parse(method, page[key].take())?;
            all.extend(items);
            match page.get("nextCursor").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
                _ => return Ok(all),
            }
        }
        Err(ClientError::Malformed {
            method: method.to_owned(),
            message: "more than 10,000 pages".into(),
        })
    }

    /// `tools/list`, every page.
    ///
    /// # Errors
    /// The server's error, or a result that is not a tool list.
    pub async fn list_tools(&self) -> Result<Vec<Tool>, ClientError> {
        self.list_all("tools/list", "tools").await
    }

    /// `tools/call`.
    ///
    /// # Errors
    /// The server's error (a tool's own failure is an `isError` result, not
    /// an error), or a result that is not a tool result.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<CallToolResult, ClientError> {
        self.call_tool_with(name, arguments, RequestOptions::default())
            .await
    }

    /// `tools/call` with progress and cancellation.
    ///
    /// # Errors
    /// As for [`Client::call_tool`].
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments: Value,
        options: RequestOptions,
    ) -> Result<CallToolResult, ClientError> {
        let result = self
            .request_with(
                "tools/call",
                json!({"name": name, "arguments": arguments}),
                options,
            )
            .await?;
        parse("tools/call", result)
    }

    /// `prompts/list`, every page.
    ///
    /// # Errors
    /// The server's error, or a malformed result.
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>, ClientError> {
        self.list_all("prompts/list", "prompts").await
    }

    /// `prompts/get` with string arguments.
    ///
    /// # Errors
    /// The server's error, or a malformed result.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<GetPromptResult, ClientError> {
        let result = self
            .request("prompts/get", json!({"name": name, "arguments": arguments}))
            .await?;
        parse("prompts/get", result)
    }

    /// `resources/list`, every page.
    ///
    /// # Errors
    /// The server's error, or a malformed result.
    pub async fn list_resources(&self) -> Result<Vec<Resource>, ClientError> {
        self.list_all("resources/list", "resources").await
    }

    /// `resources/templates/list`, every page.
    ///
    /// # Errors
    /// The server's error, or a malformed result.
    pub async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, ClientError> {
        self.list_all("resources/templates/list", "resourceTemplates")
            .await
    }

    /// `resources/read`.
    ///
    /// # Errors
    /// The server's error, or a malformed result.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, ClientError> {
        let result = self.request("resources/read", json!({"uri": uri})).await?;
        parse("resources/read", result)
    }

    /// `resources/subscribe`: updates arrive as
    /// `notifications/resources/updated` ([`Client::next_notification`]).
    ///
    /// # Errors
    /// The server's error.
    pub async fn subscribe(&self, uri: &str) -> Result<(), ClientError> {
        self.request("resources/subscribe", json!({"uri": uri}))
            .await
            .map(drop)
    }

    /// `resources/unsubscribe`.
    ///
    /// # Errors
    /// The server's error.
    pub async fn unsubscribe(&self, uri: &str) -> Result<(), ClientError> {
        self.request("resources/unsubscribe", json!({"uri": uri}))
            .await
            .map(drop)
    }

    /// `ping`.
    ///
    /// # Errors
    /// The server's error, or no answer in time.
    pub async fn ping(&self) -> Result<(), ClientError> {
        self.request("ping", json!({})).await.map(drop)
    }
}
