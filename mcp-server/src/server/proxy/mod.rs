//! A remote server's features served as local ones, through a
//! [`Client`]: calls are forwarded with their progress and cancellation,
//! and what the remote server asks during a call (elicitation, sampling,
//! roots) is asked of the local client, and argument completions are
//! asked of the remote server.

use std::sync::{Arc, Weak};

use crate::client::{Client, ClientError};
use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::tool::ToolDef;

use super::registry::Registry;
use super::upstream::Upstream;
use super::{Server, ServerBuilder, ServerInfo, ServerInner};
use crate::events::ServerEvent;

mod defs;
mod forward;

use defs::{remote_prompt, remote_resource, remote_template, remote_tool};
use forward::Forwarder;

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

/// Swaps in the remote server's current definitions of each kind that
/// changed: one swap and one `list_changed` per list, however many
/// definitions came, went or changed (templates that went included).
fn replace_all(server: &Server, remote: Remote, kinds: (bool, bool, bool)) {
    if kinds.0 {
        Server::update(&server.inner.tools, |_| Some(Registry::new(remote.tools)));
        server.notify(ServerEvent::ToolsChanged);
    }
    if kinds.1 {
        Server::update(&server.inner.prompts, |_| {
            Some(Registry::new(remote.prompts))
        });
        server.notify(ServerEvent::PromptsChanged);
    }
    if kinds.2 {
        Server::update(&server.inner.resources, |_| {
            Some(Registry::new(remote.resources))
        });
        Server::update(&server.inner.templates, |_| {
            Some(Registry::new(remote.templates))
        });
        server.notify(ServerEvent::ResourcesChanged);
    }
}
