//! The handshake and what it advertises: `initialize`, `server/discover`,
//! `logging/setLevel` and the capabilities each serves.

use mcp_core::lifecycle::{
    CacheHints, DiscoverResult, InitializeParams, InitializeResult, ListChangedCapability,
    ResourcesCapability, ServerCapabilities,
};
use mcp_core::logging::SetLevelParams;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;

use mcp_core::apps::{UI_EXTENSION, UI_MIME_TYPE};

use crate::resource::ResourceDef;
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
        extensions: extensions(server),
        ..ServerCapabilities::default()
    }
}

/// The extensions the server's definitions use: tasks, MCP Apps.
fn extensions(server: &Server) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut extensions = serde_json::Map::new();
    if server
        .tools()
        .defs()
        .iter()
        .any(crate::tool::ToolDef::supports_tasks)
    {
        extensions.insert(TASKS_EXTENSION.into(), serde_json::json!({}));
    }
    if server.resources().defs().iter().any(ResourceDef::is_ui) {
        extensions.insert(
            UI_EXTENSION.into(),
            serde_json::json!({"mimeTypes": [UI_MIME_TYPE]}),
        );
    }
    (!extensions.is_empty()).then_some(extensions)
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

pub(super) async fn set_level(
    session: &Session,
    params: Option<&RawValue>,
    version: ProtocolVersion,
    server: &Server,
) -> Result<Box<RawValue>, ProtocolError> {
    let params: SetLevelParams = parse_params(params)?;
    session
        .change(crate::store::SessionChange::LogLevel(params.level))
        .await
        .map_err(super::subscriptions::shared_state_error)?;
    encode_empty(version, server)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{json, tool};
    use super::*;

    fn init(protocol_version: &str) -> Box<RawValue> {
        serde_json::value::to_raw_value(&json!({
            "protocolVersion": protocol_version,
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}
        }))
        .unwrap()
    }

    #[test]
    fn capabilities_advertise_only_what_the_server_has() {
        let bare = Server::builder().tool(tool("a")).no_audit().build();
        let advertised = capabilities(&bare);
        assert!(advertised.tools.is_some());
        assert!(advertised.logging.is_some());
        assert!(advertised.prompts.is_none());
        assert!(advertised.resources.is_none());
        assert!(advertised.completions.is_none());
        assert!(advertised.extensions.is_none());
        let tasks = Server::builder()
            .tool(tool("job").with_tasks())
            .no_audit()
            .build();
        let extensions = capabilities(&tasks).extensions.unwrap();
        assert!(extensions.contains_key(TASKS_EXTENSION));
    }

    #[test]
    fn initialize_answers_the_revision_it_negotiated() {
        let server = Server::builder().no_audit().build();
        for (asked, served) in [
            ("2024-11-05", "2024-11-05"),
            ("2025-06-18", "2025-06-18"),
            // Unknown, or stateless: the newest stateful revision.
            ("1999-01-01", ProtocolVersion::LATEST_STATEFUL.as_str()),
            ("2026-07-28", ProtocolVersion::LATEST_STATEFUL.as_str()),
        ] {
            let session = Session::new();
            let result = json(&initialize(&server, &session, Some(&init(asked))).unwrap());
            assert_eq!(result["protocolVersion"], json!(served), "{asked}");
            assert_eq!(session.version().map(ProtocolVersion::as_str), Some(served));
        }
    }

    #[test]
    fn initialize_is_refused_twice_and_without_params() {
        let server = Server::builder().no_audit().build();
        let session = Session::new();
        initialize(&server, &session, Some(&init("2025-06-18"))).unwrap();
        let again = initialize(&server, &session, Some(&init("2024-11-05")));
        assert!(
            matches!(again, Err(ProtocolError::InvalidRequest(_))),
            "{again:?}"
        );
        assert_eq!(session.version(), Some(ProtocolVersion::V2025_06_18));
        let fresh = Session::new();
        let empty = initialize(&server, &fresh, None);
        assert!(
            matches!(empty, Err(ProtocolError::InvalidParams(_))),
            "{empty:?}"
        );
        assert_eq!(fresh.version(), None);
    }

    #[test]
    fn discover_lists_every_revision_newest_first() {
        let server = Server::builder().no_audit().build();
        let result = json(&discover(&server, ProtocolVersion::V2026_07_28).unwrap());
        let versions: Vec<&str> = result["supportedVersions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let expected: Vec<&str> = ProtocolVersion::ALL
            .iter()
            .rev()
            .map(|v| v.as_str())
            .collect();
        assert_eq!(versions, expected);
        assert_eq!(result["ttlMs"], json!(60_000));
    }
}
