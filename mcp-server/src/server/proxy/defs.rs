//! The remote server's tools, prompts, resources and templates as local
//! definitions that forward to it.

use std::sync::Arc;

use mcp_core::completion::{CompleteResult, CompletionReference};
use mcp_core::jsonrpc::error_code;
use mcp_core::prompt::Prompt;
use mcp_core::resource::{Resource, ResourceTemplate};
use mcp_core::tool::{CallToolResult, Tool};
use serde_json::{Value, json};

use crate::client::{Client, ClientError};
use crate::completion::{CompletionRequest, Completions};
use crate::handler::BoxFuture;
use crate::prompt::{PromptCall, PromptDef};
use crate::resource::{ResourceCall, ResourceDef, ResourceError, ResourceTemplateDef};
use crate::tool::{ToolCall, ToolDef};

use crate::server::upstream::Upstream;

use super::forward::{Forwarder, relay};

/// Asks the remote server to complete `request` for `reference`; its
/// failure is logged and answered with no values, as a missing completer is.
async fn complete_remote(
    client: &Client,
    reference: CompletionReference,
    request: CompletionRequest,
) -> Completions {
    let mut params = json!({
        "ref": reference,
        "argument": {"name": request.argument, "value": request.value},
    });
    if !request.context.is_empty() {
        params["context"] = json!({"arguments": request.context});
    }
    let answer = client.request("completion/complete", params).await;
    match answer.and_then(|value| {
        serde_json::from_value::<CompleteResult>(value).map_err(|e| ClientError::Malformed {
            method: "completion/complete".into(),
            message: e.to_string(),
        })
    }) {
        Ok(result) => Completions {
            total: result.completion.total,
            values: result.completion.values,
        },
        Err(e) => {
            tracing::warn!(error = %e, "the remote server could not complete an argument");
            Completions::default()
        }
    }
}

/// A completer for one argument that asks the remote server.
fn remote_completer(
    client: &Arc<Client>,
    reference: CompletionReference,
) -> impl Fn(CompletionRequest) -> BoxFuture<Completions> + Send + Sync + 'static {
    let client = Arc::clone(client);
    move |request| {
        let (client, reference) = (Arc::clone(&client), reference.clone());
        Box::pin(async move { complete_remote(&client, reference, request).await })
    }
}

pub(super) fn remote_tool(client: &Arc<Client>, forwarder: &Forwarder, tool: Tool) -> ToolDef {
    let (client, forwarder) = (Arc::clone(client), forwarder.clone());
    let name = tool.name.clone();
    ToolDef::new(tool, move |call: ToolCall| {
        let (client, forwarder, name) = (Arc::clone(&client), forwarder.clone(), name.clone());
        async move {
            let arguments = call
                .raw_arguments()
                .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
                .unwrap_or_else(|| json!({}));
            let ctx = call.context();
            let _active = forwarder.enter(ctx);
            let result = relay(ctx, |options| {
                Box::pin(async move { client.call_tool_with(&name, arguments, options).await })
            })
            .await;
            result.unwrap_or_else(|e| CallToolResult::error(e.to_string()))
        }
    })
}

pub(super) fn remote_prompt(
    client: &Arc<Client>,
    forwarder: &Forwarder,
    prompt: Prompt,
    completes: bool,
) -> PromptDef {
    // Completers ask for the remote name: a mount's renaming stays local.
    let reference = CompletionReference::Prompt {
        name: prompt.name.clone(),
    };
    let arguments: Vec<String> = if completes {
        prompt.arguments.iter().map(|a| a.name.clone()).collect()
    } else {
        Vec::new()
    };
    let (client_, forwarder) = (Arc::clone(client), forwarder.clone());
    let name = prompt.name.clone();
    let mut def = PromptDef::new(prompt, move |call: PromptCall| {
        let (client, forwarder, name) = (Arc::clone(&client_), forwarder.clone(), name.clone());
        async move {
            let _active = forwarder.enter(call.context());
            client
                .get_prompt(&name, json!(call.arguments()))
                .await
                .map_err(|e| e.to_error_object().message)
        }
    });
    for argument in arguments {
        def = def.complete(&argument, remote_completer(client, reference.clone()));
    }
    def
}

fn resource_error(uri: &str, e: &ClientError) -> ResourceError {
    match e {
        ClientError::Rpc { error, .. } if error.code == -32002 => {
            ResourceError::NotFound(uri.to_owned())
        }
        ClientError::Rpc { error, .. } if error.code == error_code::INVALID_PARAMS => {
            ResourceError::Invalid(error.message.clone())
        }
        other => ResourceError::Failed(other.to_string()),
    }
}

async fn read(
    client: &Client,
    forwarder: &Forwarder,
    call: &ResourceCall,
) -> Result<Vec<mcp_core::content::ResourceContents>, ResourceError> {
    let _active = forwarder.enter(call.context());
    client
        .read_resource(call.uri())
        .await
        .map(|r| r.contents)
        .map_err(|e| resource_error(call.uri(), &e))
}

pub(super) fn remote_resource(
    client: &Arc<Client>,
    forwarder: &Forwarder,
    resource: Resource,
    upstream: Option<&Upstream>,
) -> ResourceDef {
    let (client, forwarder) = (Arc::clone(client), forwarder.clone());
    let def = ResourceDef::from_resource(resource, move |call: ResourceCall| {
        let (client, forwarder) = (Arc::clone(&client), forwarder.clone());
        async move { read(&client, &forwarder, &call).await }
    });
    match upstream {
        Some(upstream) => def.watched(upstream.watch()),
        None => def,
    }
}

pub(super) fn remote_template(
    client: &Arc<Client>,
    forwarder: &Forwarder,
    template: ResourceTemplate,
    completes: bool,
    upstream: Option<&Upstream>,
) -> Option<ResourceTemplateDef> {
    let (client_, forwarder) = (Arc::clone(client), forwarder.clone());
    let shown = template.uri_template.clone();
    let mut def = ResourceTemplateDef::from_template(template, move |call: ResourceCall| {
        let (client, forwarder) = (Arc::clone(&client_), forwarder.clone());
        async move { read(&client, &forwarder, &call).await }
    })
    .inspect_err(|e| tracing::warn!(template = %shown, error = %e, "a remote template this server cannot match is left out"))
    .ok()?;
    if completes {
        // Completers ask for the remote template: a mount's prefix stays local.
        let reference = CompletionReference::Resource { uri: shown };
        let variables: Vec<String> = def.variables().into_iter().map(str::to_owned).collect();
        for variable in variables {
            def = def.complete(&variable, remote_completer(client, reference.clone()));
        }
    }
    Some(match upstream {
        Some(upstream) => def.watched(upstream.watch()),
        None => def,
    })
}
