//! `/health`, `/ready`, the metrics and the diagnostics documents.

use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};

use super::responses::{json, method_not_allowed};
use super::{McpBody, McpService, Shared};

pub(super) fn health(shared: &Shared, method: &Method) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let info = &shared.server.info().implementation;
    let body = serde_json::json!({
        "status": "ok",
        "name": info.name,
        "version": info.version,
        "uptimeSeconds": shared.started.elapsed().as_secs(),
    });
    json(StatusCode::OK, body.to_string())
}

pub(super) fn metrics(service: &McpService, method: &Method) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let stats = service.stats();
    let metrics = service.shared.server.metrics();
    let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    metrics.sessions.set(gauge(stats.sessions));
    metrics.open_streams.set(gauge(stats.open_streams));
    metrics.active_requests.set(gauge(stats.active_requests));
    let store_up = service
        .shared
        .server
        .options()
        .rate_limit
        .as_ref()
        .is_none_or(|l| l.store_reachable());
    metrics.rate_limit_store_up.set(i64::from(store_up));
    let mut response = Response::new(McpBody::full(metrics.render()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// What an operator needs to see at a glance; never a secret.
pub(super) fn diagnostics(service: &McpService, method: &Method) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let shared = &service.shared;
    let server = &shared.server;
    let config = &shared.config;
    let options = server.options();
    let stats = service.stats();
    let info = &server.info().implementation;
    let revisions: serde_json::Map<String, serde_json::Value> = mcp_core::ProtocolVersion::ALL
        .iter()
        .map(|v| {
            (
                v.as_str().to_owned(),
                serde_json::json!(server.metrics().revision_count(*v)),
            )
        })
        .collect();
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let authentication = match &config.authenticator {
        None => serde_json::json!({ "enabled": false }),
        Some(a) => serde_json::json!({
            "enabled": true,
            "oauth": a.resource_metadata().map(|m| serde_json::json!({
                "resource": m.resource,
                "authorizationServers": m.authorization_servers,
                "scopesSupported": m.scopes_supported,
            })),
        }),
    };
    let document = serde_json::json!({
        "server": { "name": info.name, "version": info.version },
        "framework": { "name": "mcp-server", "version": env!("CARGO_PKG_VERSION") },
        "uptimeSeconds": shared.started.elapsed().as_secs(),
        "shuttingDown": shared.drain.is_draining(),
        "revisions": { "supported": mcp_core::ProtocolVersion::ALL.map(|v| v.as_str()), "requests": revisions },
        "load": {
            "sessions": stats.sessions,
            "activeRequests": stats.active_requests,
            "openStreams": stats.open_streams,
            "connectionTasks": stats.connection_tasks,
            "connections": stats.connections,
        },
        "definitions": {
            "tools": server.tools().defs().len(),
            "prompts": server.prompts().defs().len(),
            "resources": server.resources().defs().len(),
        },
        "configuration": {
            "path": config.path,
            "legacySse": config.legacy_sse,
            "hosts": format!("{:?}", config.hosts),
            "allowedOrigins": config.origins,
            "corsOrigins": config.cors_origins,
            "authentication": authentication,
            "tenantHeader": config.tenant_header.as_ref().map(http::HeaderName::as_str),
            "metricsPath": config.metrics_path,
            "maxBodyBytes": config.max_body_bytes,
            "requestTimeoutMs": millis(config.request_timeout),
            "maxConcurrentRequests": config.max_concurrent_requests,
            "maxConnections": config.connection_limit(),
            "maxSessions": config.max_sessions,
            "maxSessionsPerPrincipal": config.max_sessions_per_principal,
            "maxSessionsPerClient": config.max_sessions_per_client,
            "sessionIdleTimeoutMs": millis(config.session_idle_timeout),
            "shutdownGraceMs": millis(config.shutdown_grace),
            "shutdownDeadlineMs": millis(config.shutdown_deadline),
            "rateLimit": options.rate_limit.as_ref().map(|l| format!("{l:?}")),
            "rateLimitStoreReachable": options.rate_limit.as_ref().map(|l| l.store_reachable()),
            "toolTimeoutMs": options.tool_timeout.map(millis),
            "maxInFlightPerSession": options.max_in_flight,
            "maxMessageBytes": options.max_message_bytes,
            "audit": options.audit.is_some(),
        },
    });
    json(StatusCode::OK, document.to_string())
}

pub(super) async fn ready(shared: &Shared, method: &Method) -> Response<McpBody> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    if shared.drain.is_draining() {
        return json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"draining"}"#);
    }
    // Sessions cannot be checked without the shared store: send no traffic.
    if shared
        .server
        .shared()
        .is_some_and(|store| !store.is_healthy())
    {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"shared state store unreachable"}"#,
        );
    }
    let failing = shared.server.options().readiness.failing().await;
    if !failing.is_empty() {
        let names: Vec<&str> = failing.iter().map(|name| &**name).collect();
        let body = serde_json::json!({"status": "not ready", "failing": names});
        return json(StatusCode::SERVICE_UNAVAILABLE, body.to_string());
    }
    json(StatusCode::OK, r#"{"status":"ready"}"#)
}
