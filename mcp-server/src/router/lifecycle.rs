//! The handshake and what it advertises: `initialize`, `server/discover`,
//! `logging/setLevel` and the capabilities each serves.

use mcp_core::lifecycle::{
    CacheHints, DiscoverResult, InitializeParams, InitializeResult, ListChangedCapability,
    ResourcesCapability, ServerCapabilities,
};
use mcp_core::logging::SetLevelParams;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;

use crate::server::Server;
use crate::session::{Negotiated, Session};
use crate::task::TASKS_EXTENSION;

use super::{encode, encode_empty, parse_params};

pub(super) fn capabilities(server: &Server) -> ServerCapabilities {
    let has_prompts = !server.prompts().defs().is_empty();
    let has_resources =
        !server.resources().defs().is_empty() || !server.resource_templates().defs().is_empty();
    ServerCapabilities {
        tools: Some(ListChangedCapability {
            list_changed: Some(true),
        }),
        prompts: has_prompts.then_some(ListChangedCapability {
            list_changed: Some(true),
        }),
        resources: has_resources.then_some(ResourcesCapability {
            subscribe: Some(server.options().subscribe),
            list_changed: Some(true),
        }),
        completions: (has_prompts || has_resources).then(serde_json::Map::new),
        logging: Some(serde_json::Map::new()),
        extensions: server
            .tools()
            .defs()
            .iter()
            .any(crate::tool::ToolDef::supports_tasks)
            .then(|| {
                let mut extensions = serde_json::Map::new();
                extensions.insert(TASKS_EXTENSION.into(), serde_json::json!({}));
                extensions
            }),
        ..ServerCapabilities::default()
    }
}

pub(super) fn initialize(
    server: &Server,
    session: &Session,
    params: Option<&RawValue>,
) -> Result<Box<RawValue>, ProtocolError> {
    if params.is_none() {
        return Err(ProtocolError::InvalidParams(
            "`initialize` needs params with `protocolVersion`, `capabilities` and `clientInfo`"
                .into(),
        ));
    }
    let params: InitializeParams = parse_params(params)?;
    let version = ProtocolVersion::negotiate(&params.protocol_version);
    let negotiated = Negotiated {
        version,
        client_info: params.client_info,
        capabilities: params.capabilities,
    };
    if !session.negotiate(negotiated) {
        return Err(ProtocolError::InvalidRequest(
            "the session is already initialized; `initialize` may be sent only once".into(),
        ));
    }
    tracing::info!(%version, requested = %params.protocol_version, "session initialized");
    let info = server.info();
    let mut result = InitializeResult {
        protocol_version: version.as_str().to_owned(),
        capabilities: capabilities(server),
        server_info: info.implementation.clone(),
        instructions: info.instructions.clone(),
    };
    encode(&mut result, version, server)
}

pub(super) fn discover(
    server: &Server,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    let info = server.info();
    let options = server.options();
    let mut result = DiscoverResult {
        supported_versions: ProtocolVersion::ALL
            .iter()
            .rev()
            .map(|v| v.as_str().to_owned())
            .collect(),
        capabilities: capabilities(server),
        instructions: info.instructions.clone(),
        cache: Some(CacheHints {
            ttl_ms: options.cache_ttl_ms,
            cache_scope: options.cache_scope,
        }),
    };
    encode(&mut result, version, server)
}

pub(super) fn set_level(
    session: &Session,
    params: Option<&RawValue>,
    version: ProtocolVersion,
    server: &Server,
) -> Result<Box<RawValue>, ProtocolError> {
    let params: SetLevelParams = parse_params(params)?;
    session.set_log_level(params.level);
    encode_empty(version, server)
}
