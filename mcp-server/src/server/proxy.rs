//! A remote server's features served as local ones, through a
//! [`Client`]: calls are forwarded with their progress and cancellation,
//! and what the remote server asks during a call (elicitation, sampling,
//! roots) is asked of the local client, and argument completions are
//! asked of the remote server.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use mcp_core::completion::{CompleteResult, CompletionReference};
use mcp_core::jsonrpc::{ErrorObject, error_code};
use mcp_core::prompt::Prompt;
use mcp_core::resource::{Resource, ResourceTemplate};
use mcp_core::tool::{CallToolResult, Tool};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ask::Elicited;
use crate::client::{Client, ClientError, ClientHandler, RequestOptions, ServerRequest};
use crate::completion::{CompletionRequest, Completions};
use crate::context::RequestContext;
use crate::handler::BoxFuture;
use crate::prompt::{PromptCall, PromptDef};
use crate::resource::{ResourceCall, ResourceDef, ResourceError, ResourceTemplateDef};
use crate::tool::{ToolCall, ToolDef};

use super::upstream::Upstream;
use super::{Server, ServerBuilder, ServerInfo, ServerInner};

/// The local requests in progress, so the remote server's questions and
/// log messages reach the client whose call caused them.
#[derive(Clone, Default)]
struct Forwarder {
    active: Arc<Mutex<Vec<(u64, RequestContext)>>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

/// Removes a request from the active ones when its call ends.
struct Active {
    forwarder: Forwarder,
    id: u64,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.forwarder.lock().retain(|(id, _)| *id != self.id);
    }
}

impl Forwarder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, RequestContext)>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enter(&self, ctx: &RequestContext) -> Active {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().push((id, ctx.clone()));
        Active {
            forwarder: self.clone(),
            id,
        }
    }

    /// The request the remote server's message most likely belongs to: the
    /// latest one still running.
    fn current(&self) -> Option<RequestContext> {
        self.lock().last().map(|(_, ctx)| ctx.clone())
    }
}

fn ask_error(e: &crate::ask::AskError) -> ErrorObject {
    ErrorObject::new(error_code::INTERNAL_ERROR, e.to_string())
}

impl ClientHandler for Forwarder {
    fn capabilities(&self) -> Value {
        json!({"elicitation": {}, "sampling": {}, "roots": {}})
    }

    fn handle(&self, request: ServerRequest) -> crate::client::AnswerFuture {
        let ctx = self.current();
        let key = format!(
            "proxied-{}",
            self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Box::pin(async move {
            let Some(ctx) = ctx else {
                return Err(ErrorObject::new(
                    error_code::INTERNAL_ERROR,
                    format!("`{}` outside any call the proxy forwards", request.method),
                ));
            };
            let params = request.params;
            match request.method.as_str() {
                "elicitation/create" => {
                    let message = params["message"].as_str().unwrap_or_default().to_owned();
                    let schema = match &params["requestedSchema"] {
                        Value::Object(schema) => schema.clone(),
                        _ => serde_json::Map::new(),
                    };
                    match ctx.elicit_with_schema(&key, message, schema).await {
                        Ok(Elicited::Accepted(content)) => {
                            Ok(json!({"action": "accept", "content": content}))
                        }
                        Ok(Elicited::Declined) => Ok(json!({"action": "decline"})),
                        Ok(Elicited::Cancelled) => Ok(json!({"action": "cancel"})),
                        Err(e) => Err(ask_error(&e)),
                    }
                }
                "sampling/createMessage" => {
                    let params = serde_json::from_value(params)
                        .map_err(|e| ErrorObject::new(error_code::INVALID_PARAMS, e.to_string()))?;
                    let result = ctx.sample(&key, params).await.map_err(|e| ask_error(&e))?;
                    serde_json::to_value(result)
                        .map_err(|e| ErrorObject::new(error_code::INTERNAL_ERROR, e.to_string()))
                }
                "roots/list" => {
                    let roots = ctx.roots(&key).await.map_err(|e| ask_error(&e))?;
                    serde_json::to_value(roots)
                        .map_err(|e| ErrorObject::new(error_code::INTERNAL_ERROR, e.to_string()))
                }
                other => Err(ErrorObject::new(
                    error_code::METHOD_NOT_FOUND,
                    format!("the proxy does not forward `{other}`"),
                )),
            }
        })
    }
}

/// Runs `call` for the local request `ctx`: the remote server's progress
/// becomes `ctx`'s, and cancelling `ctx` cancels the remote request.
async fn relay<T>(
    ctx: &RequestContext,
    call: impl FnOnce(RequestOptions) -> BoxFuture<Result<T, ClientError>>,
) -> Result<T, ClientError> {
    let (tx, mut progress) = mpsc::unbounded_channel::<Value>();
    let cancel = CancellationToken::new();
    let mut call = call(RequestOptions {
        progress: Some(tx),
        cancel: Some(cancel.clone()),
    });
    let mut cancelled = false;
    loop {
        tokio::select! {
            biased;
            Some(p) = progress.recv() => {
                let value = p["progress"].as_f64().unwrap_or_default();
                ctx.progress(value, p["total"].as_f64(), p["message"].as_str()).await;
            }
            () = ctx.cancelled(), if !cancelled => {
                cancelled = true;
                cancel.cancel();
            }
            result = &mut call => {
                // Progress that came in with the answer still goes first.
                while let Ok(p) = progress.try_recv() {
                    let value = p["progress"].as_f64().unwrap_or_default();
                    ctx.progress(value, p["total"].as_f64(), p["message"].as_str()).await;
                }
                return result;
            }
        }
    }
}

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

fn remote_tool(client: &Arc<Client>, forwarder: &Forwarder, tool: Tool) -> ToolDef {
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

fn remote_prompt(
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

fn remote_resource(
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

fn remote_template(
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

/// What the remote server serves, as local definitions.
struct Remote {
    tools: Vec<ToolDef>,
    prompts: Vec<PromptDef>,
    resources: Vec<ResourceDef>,
    templates: Vec<ResourceTemplateDef>,
}

async fn fetch(
    client: &Arc<Client>,
    forwarder: &Forwarder,
    upstream: &Upstream,
    kinds: (bool, bool, bool),
) -> Result<Remote, ClientError> {
    let capabilities = client.server_capabilities().clone();
    let has = |name: &str| capabilities.get(name).is_some_and(|c| !c.is_null());
    // Local subscriptions are passed on only to a server that takes them.
    let upstream = (capabilities["resources"]["subscribe"] == true).then_some(upstream);
    let mut remote = Remote {
        tools: Vec::new(),
        prompts: Vec::new(),
        resources: Vec::new(),
        templates: Vec::new(),
    };
    if kinds.0 && has("tools") {
        remote.tools = client
            .list_tools()
            .await?
            .into_iter()
            .map(|t| remote_tool(client, forwarder, t))
            .collect();
    }
    if kinds.1 && has("prompts") {
        remote.prompts = client
            .list_prompts()
            .await?
            .into_iter()
            .map(|p| remote_prompt(client, forwarder, p, has("completions")))
            .collect();
    }
    if kinds.2 && has("resources") {
        remote.resources = client
            .list_resources()
            .await?
            .into_iter()
            .map(|r| remote_resource(client, forwarder, r, upstream))
            .collect();
        remote.templates = client
            .list_resource_templates()
            .await?
            .into_iter()
            .filter_map(|t| remote_template(client, forwarder, t, has("completions"), upstream))
            .collect();
    }
    Ok(remote)
}

fn remote_info(client: &Client) -> ServerInfo {
    let result = client.server_result();
    let implementation = result
        .get("serverInfo")
        .or_else(|| result["_meta"].get(mcp_core::meta::SERVER_INFO))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    ServerInfo {
        implementation,
        instructions: client.instructions().map(str::to_owned),
    }
}

impl Server {
    /// A server serving what the server behind `client` serves: its
    /// tools, prompts, resources and templates as local ones, with its name
    /// and instructions. Calls are forwarded with their progress and
    /// cancellation; what the remote server asks during a call
    /// (elicitation, sampling, roots) is asked of the local caller, so
    /// connect `client` with [`ClientOptions::forwarding`](crate::client::ClientOptions::forwarding)
    /// to declare those. Its list changes and resource updates are
    /// followed, its log messages passed to the running call's client.
    /// A local `resources/subscribe` to one of its resources subscribes to
    /// it there (once per URI, while any local session listens).
    /// When it declares `completions`, `completion/complete` for its
    /// prompts' arguments and its templates' variables is asked of it.
    /// Mount it to namespace it:
    /// `Server::builder().mount("crm", Server::proxy(client).await?)`.
    ///
    /// # Errors
    /// Listing the remote server's definitions failed.
    pub async fn proxy(client: Client) -> Result<Server, ClientError> {
        let client = Arc::new(client);
        let forwarder = Forwarder::default();
        client.set_handler(Arc::new(forwarder.clone()));
        let upstream = Upstream::new(Arc::clone(&client));
        let remote = fetch(&client, &forwarder, &upstream, (true, true, true)).await?;
        let info = remote_info(&client);
        let mut builder = ServerBuilder::default();
        builder.info = Some(info);
        builder.tools = remote.tools;
        builder.prompts = remote.prompts;
        builder.resources = remote.resources;
        builder.templates = remote.templates;
        let server = builder.build();
        tokio::spawn(follow(
            Arc::downgrade(&server.inner),
            client,
            forwarder,
            upstream,
        ));
        Ok(server)
    }
}

impl ServerBuilder {
    /// Serves what the server behind `client` serves as this server's own,
    /// under the same names (see [`Server::proxy`]); to namespace it,
    /// [`mount`](Self::mount) a [`Server::proxy`] instead.
    ///
    /// # Errors
    /// Listing the remote server's definitions failed.
    pub async fn proxy(self, client: Client) -> Result<Self, ClientError> {
        let remote = Server::proxy(client).await?;
        Ok(self.mount_unprefixed(remote))
    }
}

/// Follows the remote server's own messages until the connection or the
/// local server is gone.
async fn follow(
    server: Weak<ServerInner>,
    client: Arc<Client>,
    forwarder: Forwarder,
    upstream: Upstream,
) {
    while let Some(message) = client.next_notification().await {
        let Some(inner) = server.upgrade() else {
            return;
        };
        let server = Server { inner };
        let params = &message["params"];
        let kinds = match message["method"].as_str().unwrap_or_default() {
            "notifications/tools/list_changed" => (true, false, false),
            "notifications/prompts/list_changed" => (false, true, false),
            "notifications/resources/list_changed" => (false, false, true),
            "notifications/resources/updated" => {
                if let Some(uri) = params["uri"].as_str() {
                    server.resource_updated(uri);
                    upstream.updated(uri).await;
                }
                continue;
            }
            "notifications/message" => {
                if let (Some(ctx), Ok(level)) = (
                    forwarder.current(),
                    serde_json::from_value(params["level"].clone()),
                ) {
                    ctx.log(level, params["logger"].as_str(), params["data"].clone())
                        .await;
                }
                continue;
            }
            _ => continue,
        };
        match fetch(&client, &forwarder, &upstream, kinds).await {
            Ok(remote) => replace_all(&server, remote, kinds),
            Err(e) => {
                tracing::warn!(error = %e, "could not re-list the remote server's definitions")
            }
        }
    }
}

fn replace_all(server: &Server, remote: Remote, kinds: (bool, bool, bool)) {
    if kinds.0 {
        for name in server.tool_names() {
            if !remote.tools.iter().any(|t| t.name() == name) {
                server.remove_tool(&name);
            }
        }
        for tool in remote.tools {
            server.add_tool(tool);
        }
    }
    if kinds.1 {
        for name in server.prompt_names() {
            if !remote.prompts.iter().any(|p| p.name() == name) {
                server.remove_prompt(&name);
            }
        }
        for prompt in remote.prompts {
            server.add_prompt(prompt);
        }
    }
    if kinds.2 {
        for uri in server.resource_uris() {
            if !remote.resources.iter().any(|r| r.uri() == uri) {
                server.remove_resource(&uri);
            }
        }
        for resource in remote.resources {
            server.add_resource(resource);
        }
        for template in remote.templates {
            server.add_resource_template(template);
        }
    }
}
