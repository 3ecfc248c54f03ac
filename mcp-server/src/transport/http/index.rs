//! `GET /`: what the server is and where its endpoints are, for whoever
//! opens the base URL in a browser or with curl and would otherwise meet an
//! empty 404.

use http::{Method, Response, StatusCode};

use super::{HttpConfig, McpBody, Shared, json};

/// Whether `path` is the index: `/`, unless the configuration serves one
/// of its endpoints there.
pub(super) fn is_index(config: &HttpConfig, path: &str) -> bool {
    path == "/"
        && config.path != "/"
        && !(config.legacy_sse && (config.sse_path == "/" || config.messages_path == "/"))
        && config.metrics_path.as_deref() != Some("/")
        && config.diagnostics_path.as_deref() != Some("/")
}

/// The server's name and version (as `/health` gives them) and the paths
/// of its public endpoints. `None` when the method is not GET or HEAD, so
/// the request is answered as any unknown path is.
pub(super) fn index(shared: &Shared, method: &Method) -> Option<Response<McpBody>> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let config = &shared.config;
    let info = &shared.server.info().implementation;
    let mut endpoints = serde_json::Map::new();
    endpoints.insert("mcp".into(), config.path.clone().into());
    if config.legacy_sse {
        endpoints.insert("sse".into(), config.sse_path.clone().into());
        endpoints.insert("messages".into(), config.messages_path.clone().into());
    }
    endpoints.insert("health".into(), "/health".into());
    endpoints.insert("ready".into(), "/ready".into());
    if let Some(metrics) = &config.metrics_path {
        endpoints.insert("metrics".into(), metrics.clone().into());
    }
    let mut body = serde_json::json!({
        "name": info.name,
        "version": info.version,
        "endpoints": endpoints,
    });
    if let Some(title) = &info.title {
        body["title"] = title.clone().into();
    }
    Some(json(StatusCode::OK, body.to_string()))
}
