//! The HTTP settings the environment names: paths, limits, timeouts and
//! the OAuth resource server, each checked and refused by its name.

use super::TransportArgsError;
use crate::transport::http::HttpConfig;

/// The OAuth resource server `MCP_OAUTH_*` describe, if any.
#[cfg(feature = "oauth")]
pub(super) fn oauth_from_env(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::auth::oauth::OAuthResourceServer>, TransportArgsError> {
    let Some(issuer) = env("MCP_OAUTH_ISSUER").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let resource = env("MCP_OAUTH_RESOURCE")
        .filter(|v| !v.trim().is_empty())
        .ok_or(TransportArgsError::OAuth(
            "MCP_OAUTH_RESOURCE (this server's public URL, such as https://mcp.example.com/mcp) must be set with MCP_OAUTH_ISSUER".into(),
        ))?;
    let oauth_error =
        |e: crate::auth::oauth::OAuthConfigError| TransportArgsError::OAuth(e.to_string());
    let mut oauth =
        crate::auth::oauth::OAuthResourceServer::new(&issuer, &resource).map_err(oauth_error)?;
    if let Some(uri) = env("MCP_OAUTH_JWKS_URI").filter(|v| !v.trim().is_empty()) {
        oauth = oauth.jwks_uri(uri.trim()).map_err(oauth_error)?;
    }
    if let Some(scopes) = env("MCP_OAUTH_SCOPES") {
        oauth = oauth.scopes_supported(split_list(&scopes));
    }
    if let Some(claim) = env("MCP_OAUTH_TENANT_CLAIM").filter(|v| !v.trim().is_empty()) {
        oauth = oauth.tenant_claim(claim.trim());
    }
    Ok(Some(oauth))
}

#[cfg(not(feature = "oauth"))]
pub(super) fn oauth_from_env(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::auth::ApiKeys>, TransportArgsError> {
    match env("MCP_OAUTH_ISSUER").filter(|v| !v.trim().is_empty()) {
        Some(_) => Err(TransportArgsError::OAuth(
            "MCP_OAUTH_ISSUER is set but mcp-server was built without its `oauth` feature".into(),
        )),
        None => Ok(None),
    }
}

/// The paths, timeouts and limits of `config` the environment sets.
pub(super) fn routes_and_limits_from_env(
    mut config: HttpConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<HttpConfig, TransportArgsError> {
    if let Some(path) = path(env, "MCP_PATH")? {
        config = config.path(path);
    }
    if let Some(base) = path(env, "MCP_BASE_PATH")? {
        config = config.base_path(base);
    }
    if let Some(enabled) = switch(env, "MCP_LEGACY_SSE")? {
        config = config.legacy_sse(enabled);
    }
    let sse = path(env, "MCP_SSE_PATH")?;
    let messages = path(env, "MCP_MESSAGES_PATH")?;
    if sse.is_some() || messages.is_some() {
        let sse = sse.unwrap_or_else(|| config.sse_path.clone());
        let messages = messages.unwrap_or_else(|| config.messages_path.clone());
        config = config.legacy_paths(sse, messages);
    }
    if let Some(path) = optional_path(env, "MCP_METRICS_PATH")? {
        config = config.metrics_path(path.as_deref());
    }
    if let Some(required) = switch(env, "MCP_METRICS_AUTH")? {
        config = config.metrics_require_auth(required);
    }
    if let Some(path) = optional_path(env, "MCP_DIAGNOSTICS_PATH")? {
        config = config.diagnostics_path(path.as_deref());
    }
    if let Some(bytes) = count(env, "MCP_MAX_BODY_BYTES")? {
        config = config.max_body_bytes(bytes);
    }
    if let Some(bytes) = count(env, "MCP_MAX_BODY_BYTES_IN_FLIGHT")? {
        config = config.max_body_bytes_in_flight(bytes);
    }
    if let Some(timeout) = timeout(env, "MCP_REQUEST_TIMEOUT")? {
        config = config.request_timeout(timeout);
    }
    let headers = timeout(env, "MCP_HEADER_TIMEOUT")?;
    let body = timeout(env, "MCP_BODY_TIMEOUT")?;
    if headers.is_some() || body.is_some() {
        let headers = headers.unwrap_or(config.header_timeout);
        let body = body.unwrap_or(config.body_timeout);
        config = config.read_timeouts(headers, body);
    }
    if let Some(limit) = count(env, "MCP_MAX_CONCURRENT_REQUESTS")? {
        config = config.max_concurrent_requests(limit);
    }
    if let Some(limit) = count(env, "MCP_MAX_CONNECTIONS")? {
        config = config.max_connections(limit);
    }
    if let Some(timeout) = timeout(env, "MCP_SESSION_IDLE_TIMEOUT")? {
        config = config.session_idle_timeout(timeout);
    }
    if let Some(period) = timeout(env, "MCP_KEEP_ALIVE")? {
        config = config.keep_alive(period);
    }
    Ok(config)
}

/// A route path from the environment, if set: it must start with `/`.
pub(super) fn path(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<String>, TransportArgsError> {
    let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let path = value.trim();
    // A path the router could never match is a typo, not a choice.
    if !path.starts_with('/') || path.contains(|c: char| c.is_whitespace() || c == '?' || c == '#')
    {
        return Err(TransportArgsError::InvalidValue { name, value });
    }
    Ok(Some(path.to_owned()))
}

/// An endpoint that can be turned off: unset is `None`, empty or `off` is
/// `Some(None)`, a path is `Some(Some(path))`.
pub(super) fn optional_path(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<Option<String>>, TransportArgsError> {
    match env(name) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() || v.trim().eq_ignore_ascii_case("off") => Ok(Some(None)),
        Some(_) => Ok(Some(path(env, name)?)),
    }
}

/// `on`/`off`, `true`/`false`, `yes`/`no` or `1`/`0`, if set.
pub(super) fn switch(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<bool>, TransportArgsError> {
    let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(Some(true)),
        "off" | "false" | "no" | "0" => Ok(Some(false)),
        _ => Err(TransportArgsError::InvalidValue { name, value }),
    }
}

/// A non-zero duration such as `30s` or `5m`, if set: a zero timeout would
/// refuse every request or close every stream at once.
pub(super) fn timeout(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<std::time::Duration>, TransportArgsError> {
    match duration_from_env(env, name)? {
        Some(d) if d.is_zero() => Err(TransportArgsError::InvalidValue {
            name,
            value: env(name).unwrap_or_default(),
        }),
        other => Ok(other),
    }
}

/// A positive count from the environment, if set.
pub(super) fn count(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<usize>, TransportArgsError> {
    let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(TransportArgsError::InvalidValue { name, value }),
    }
}

/// A duration such as `5s`, `500ms` or `0`, when the variable is set.
pub(super) fn duration_from_env(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<std::time::Duration>, TransportArgsError> {
    let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    crate::server::parse_duration_or_zero(&value)
        .map(Some)
        .ok_or(TransportArgsError::InvalidValue { name, value })
}

pub(super) fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
