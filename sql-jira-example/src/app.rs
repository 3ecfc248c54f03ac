//! What both binaries share: their environment settings, the trusted
//! gateway's headers, and serving MCP with a few REST routes on one
//! listener.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use mcp_server::auth::Principal;
use mcp_server::transport::http::{HostPolicy, McpService, shutdown_signal};
use mcp_server::transport::{TransportArgs, TransportArgsError};
use mcp_server::{Server, ServerBuilder, SettingsError};

use crate::idempotency;

/// The rate limit per caller when `MCP_RATE_LIMIT` is not set.
pub const DEFAULT_RATE_LIMIT: &str = "100/min";

/// The header a trusted gateway names the tenant with, by convention.
pub const TENANT_HEADER: &str = "x-tenant-id";
/// The header a trusted gateway names the user with.
pub const USER_HEADER: &str = "x-user-id";

/// [`ServerBuilder::env_settings`]. When `MCP_RATE_LIMIT` is unset or
/// empty, the deployment plan's `RATE_LIMIT_DEFAULT` requests per
/// `RATE_LIMIT_WINDOW` seconds (60 unless set) stand in, and without those
/// [`DEFAULT_RATE_LIMIT`].
///
/// # Errors
/// A variable holds a value that cannot be used.
pub fn env_settings(builder: ServerBuilder) -> Result<ServerBuilder, SettingsError> {
    builder.settings_from(|name| setting(name, |n| std::env::var(n).ok()))
}

/// The value [`env_settings`] gives the framework for `name`.
fn setting(name: &str, get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |n: &str| get(n).filter(|v| !v.trim().is_empty());
    let value = set(name);
    if name != "MCP_RATE_LIMIT" || value.is_some() {
        return value;
    }
    let Some(count) = set("RATE_LIMIT_DEFAULT") else {
        return Some(DEFAULT_RATE_LIMIT.to_owned());
    };
    let window = set("RATE_LIMIT_WINDOW").unwrap_or_else(|| "60".into());
    Some(plan_quota(&count, &window))
}

/// `count` requests per `window` seconds as a framework quota
/// (`<count>/<s|min|h>`). A pair that has no exact quota comes back as
/// text the framework refuses, so a typo stops the server rather than
/// silently changing the limit.
fn plan_quota(count: &str, window: &str) -> String {
    let parsed = count.trim().parse::<u64>().ok().zip(
        window
            .trim()
            .trim_end_matches('s')
            .parse::<u64>()
            .ok()
            .filter(|w| *w > 0),
    );
    if let Some((count, window)) = parsed {
        for (seconds, unit) in [(1, "s"), (60, "min"), (3_600, "h")] {
            let scaled = count * seconds;
            if scaled % window == 0 && scaled / window > 0 {
                return format!("{}/{unit}", scaled / window);
            }
        }
    }
    format!("RATE_LIMIT_DEFAULT={count} per RATE_LIMIT_WINDOW={window}")
}

/// The deployment plan's name for the SQL server's port.
pub const SQL_PORT_VAR: &str = "MCP_SQL_PORT";
/// The deployment plan's name for the Jira server's port.
pub const JIRA_PORT_VAR: &str = "MCP_JIRA_PORT";

/// [`TransportArgs::from_args`], with `port_var` ([`SQL_PORT_VAR`] or
/// [`JIRA_PORT_VAR`]) standing in for `PORT` when `PORT` is unset or empty:
/// `--port` wins, then `PORT`, then `port_var`.
///
/// # Errors
/// See [`TransportArgs::from_args`].
pub fn transport_args(port_var: &str) -> Result<TransportArgs, TransportArgsError> {
    TransportArgs::parse(std::env::args().skip(1), |name| {
        port_lookup(name, port_var, |n| std::env::var(n).ok())
    })
}

/// `get(name)`, except that `PORT` falls back to `port_var`.
fn port_lookup(name: &str, port_var: &str, get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let value = get(name).filter(|v| !v.trim().is_empty());
    if name == "PORT" {
        value.or_else(|| get(port_var).filter(|v| !v.trim().is_empty()))
    } else {
        value
    }
}

/// The Jira server's idempotency-key time to live, named like the CRM's
/// (`CRM_IDEMPOTENCY_TTL`).
pub const JIRA_IDEMPOTENCY_TTL: &str = "JIRA_IDEMPOTENCY_TTL";

/// `JIRA_IDEMPOTENCY_TTL`, else `IDEMPOTENCY_TTL`, else a day.
///
/// # Errors
/// The value is not a duration; the message names the variable.
pub fn idempotency_ttl() -> Result<Duration, String> {
    ttl_from(|name| std::env::var(name).ok())
}

fn ttl_from(get: impl Fn(&str) -> Option<String>) -> Result<Duration, String> {
    for name in [JIRA_IDEMPOTENCY_TTL, "IDEMPOTENCY_TTL"] {
        if let Some(value) = get(name).filter(|v| !v.trim().is_empty()) {
            return idempotency::parse_ttl(&value)
                .map_err(|e| e.to_string().replacen("IDEMPOTENCY_TTL", name, 1));
        }
    }
    Ok(idempotency::DEFAULT_TTL)
}

/// How the HTTP side treats the gateway's `X-Tenant-ID` and `X-User-ID`.
///
/// The tenant header is the framework's (`MCP_TENANT_HEADER`): when it is
/// configured the framework reads it, and refuses a credential of another
/// tenant (403). When it is not, a request that carries `X-Tenant-ID` or
/// `X-User-ID` is refused (403) rather than served as some other tenant.
/// Behind the gateway and without an authenticator, `X-User-ID` names the
/// principal (the audit log's user); with an authenticator the credential
/// does.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    /// The trusted tenant header, as `MCP_TENANT_HEADER` names it.
    pub tenant_header: Option<HeaderName>,
    /// Whether requests are authenticated (`MCP_API_KEYS`,
    /// `MCP_API_KEYS_FILE` or `MCP_OAUTH_ISSUER` set).
    pub authenticated: bool,
}

impl Gateway {
    /// The gateway the environment describes.
    pub fn from_env() -> Self {
        let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            tenant_header: set("MCP_TENANT_HEADER")
                .and_then(|h| HeaderName::from_bytes(h.trim().as_bytes()).ok()),
            authenticated: ["MCP_API_KEYS", "MCP_API_KEYS_FILE", "MCP_OAUTH_ISSUER"]
                .iter()
                .any(|name| set(name).is_some()),
        }
    }

    /// `app` with the gateway's header rules in front of it.
    pub fn guard(self, app: Router) -> Router {
        app.layer(middleware::from_fn_with_state(Arc::new(self), admit))
    }
}

async fn admit(State(gateway): State<Arc<Gateway>>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let tenant_header = HeaderName::from_static(TENANT_HEADER);
    let trusted = gateway.tenant_header.as_ref();
    let untrusted_tenant = headers.contains_key(&tenant_header) && trusted != Some(&tenant_header);
    let user = headers.get(USER_HEADER);
    if untrusted_tenant || (user.is_some() && trusted.is_none()) {
        tracing::warn!(
            "refused a request naming a tenant or user by header without a trusted gateway"
        );
        let message = "forbidden: X-Tenant-ID and X-User-ID are only accepted from a trusted gateway \
                       (set MCP_TENANT_HEADER=X-Tenant-ID); the credential names the tenant";
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({ "error": message })),
        )
            .into_response();
    }
    if trusted.is_some() && !gateway.authenticated {
        let user = user
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|u| !u.is_empty() && u.len() <= 128 && !u.contains(char::is_control));
        if let Some(user) = user {
            // The framework adds the tenant from its trusted header.
            let principal = Principal::new(user.to_owned(), std::iter::empty::<String>());
            request.extensions_mut().insert(Arc::new(principal));
        }
    }
    next.run(request).await
}

async fn authorize(State(mcp): State<McpService>, request: Request, next: Next) -> Response {
    match mcp.authorize(&request).await {
        Ok(_) => next.run(request).await,
        Err(refusal) => refusal.map(axum::body::Body::new),
    }
}

/// The web application: `routes` (checked with MCP's authenticator,
/// tenant header and rate limit: one configuration for both), then MCP
/// and its probes, behind the gateway's header rules.
pub fn router(mcp: McpService, routes: Router, gateway: Gateway) -> Router {
    let routes = routes.layer(middleware::from_fn_with_state(mcp.clone(), authorize));
    gateway.guard(routes.fallback_service(mcp))
}

/// Serves `server` on `transport`: stdio as is; HTTP with `routes` and the
/// gateway's rules in front of MCP (`/mcp`, `/health`, `/ready`,
/// `/metrics`), draining on SIGTERM.
///
/// # Errors
/// The listener or the server failed.
pub async fn serve(
    server: Server,
    transport: TransportArgs,
    routes: Router,
    gateway: Gateway,
    what: &str,
) -> Result<(), String> {
    match transport {
        TransportArgs::Http { addr, mut config } => {
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            if !local.ip().is_loopback() && !matches!(config.hosts(), HostPolicy::List(_)) {
                config = config.host_policy(HostPolicy::Any);
            }
            tracing::info!("{what} on http://{local}: MCP at /mcp");
            let audited = server.clone();
            let mcp = McpService::new(server, config);
            let app = router(mcp.clone(), routes, gateway);
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                mcp.drain().await;
            })
            .await
            .map_err(|e| e.to_string())?;
            // The records of the last requests, stopped ones included.
            let flushed = std::time::Duration::from_secs(5);
            if tokio::time::timeout(flushed, audited.flush_audit())
                .await
                .is_err()
            {
                tracing::warn!("audit records still unwritten 5s after the server stopped");
            }
            Ok(())
        }
        other => server.serve(other).await.map_err(|e| e.to_string()),
    }
}

/// A definition's tools as `GET /tools` lists them: name, description,
/// annotations and input schema, as `tools/list` has them.
pub fn tool_list<D: mcp_server::ServerDefinition>(definition: D) -> serde_json::Value {
    let definition = Arc::new(definition);
    serde_json::Value::Array(
        D::tools(&definition)
            .iter()
            .filter_map(|def| serde_json::to_value(def.tool()).ok())
            .collect(),
    )
}

/// A duration such as `500ms`, `5s`, `2m` or `1h` (a bare number is
/// seconds); positive.
///
/// # Errors
/// Not a positive duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 500ms, 5s or 2m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3_600)),
        _ => {
            return Err(format!(
                "`{text}` is not a duration such as 500ms, 5s or 2m"
            ));
        }
    };
    if duration.is_zero() {
        return Err(format!("`{text}` must be more than zero"));
    }
    Ok(duration)
}

/// The variable `name`, parsed by `parse`, or `default` when unset.
///
/// # Errors
/// The value cannot be parsed; the message names the variable.
pub fn env_or<T>(
    name: &str,
    default: T,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => {
            parse(&value).map_err(|e| format!("invalid {name}: {e}"))
        }
        _ => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_plan_port_names_stand_in_for_port() {
        let port = |vars: &[(&str, &str)]| port_lookup("PORT", SQL_PORT_VAR, lookup(vars));
        assert_eq!(port(&[("MCP_SQL_PORT", "8056")]), Some("8056".into()));
        assert_eq!(
            port(&[("PORT", "8080"), ("MCP_SQL_PORT", "8056")]),
            Some("8080".into())
        );
        assert_eq!(
            port(&[("PORT", " "), ("MCP_SQL_PORT", "8056")]),
            Some("8056".into())
        );
        // The other server's variable is not this one's port.
        assert_eq!(port(&[("MCP_JIRA_PORT", "8055")]), None);
        assert_eq!(
            port_lookup("HOST", SQL_PORT_VAR, lookup(&[("MCP_SQL_PORT", "1")])),
            None
        );
        let args = TransportArgs::parse(["--transport", "http"], |n| {
            port_lookup(n, JIRA_PORT_VAR, lookup(&[("MCP_JIRA_PORT", "8055")]))
        })
        .unwrap();
        assert_eq!(args.to_string(), "http://127.0.0.1:8055/mcp");
    }

    #[test]
    fn the_plan_rate_limit_names_stand_in_for_mcp_rate_limit() {
        let rate = |vars: &[(&str, &str)]| setting("MCP_RATE_LIMIT", lookup(vars));
        assert_eq!(rate(&[]), Some("100/min".into()));
        assert_eq!(
            rate(&[("RATE_LIMIT_DEFAULT", "100")]),
            Some("100/min".into())
        );
        assert_eq!(
            rate(&[("RATE_LIMIT_DEFAULT", "100"), ("RATE_LIMIT_WINDOW", "60")]),
            Some("100/min".into())
        );
        assert_eq!(
            rate(&[("RATE_LIMIT_DEFAULT", "10"), ("RATE_LIMIT_WINDOW", "1")]),
            Some("10/s".into())
        );
        assert_eq!(
            rate(&[("RATE_LIMIT_DEFAULT", "5"), ("RATE_LIMIT_WINDOW", "30")]),
            Some("10/min".into())
        );
        assert_eq!(
            rate(&[("RATE_LIMIT_DEFAULT", "1"), ("RATE_LIMIT_WINDOW", "7200s")]),
            Some("RATE_LIMIT_DEFAULT=1 per RATE_LIMIT_WINDOW=7200s".into())
        );
        // MCP_RATE_LIMIT wins.
        assert_eq!(
            rate(&[("MCP_RATE_LIMIT", "5/s"), ("RATE_LIMIT_DEFAULT", "100")]),
            Some("5/s".into())
        );
        // Every result parses, or is refused: never a different limit.
        for (count, window) in [
            ("100", "60"),
            ("7", "7"),
            ("abc", "60"),
            ("10", "0"),
            ("0", "60"),
        ] {
            let quota = plan_quota(count, window);
            let parsed = quota.parse::<mcp_server::limit::Quota>();
            let expected_ok = matches!((count, window), ("100", "60") | ("7", "7"));
            assert_eq!(parsed.is_ok(), expected_ok, "{count}/{window}: {quota}");
        }
        assert_eq!(setting("LOG_LEVEL", lookup(&[])), None);
    }

    #[test]
    fn the_ttl_is_read_under_either_name() {
        let ttl = |vars: &[(&str, &str)]| ttl_from(lookup(vars));
        assert_eq!(ttl(&[]), Ok(idempotency::DEFAULT_TTL));
        assert_eq!(
            ttl(&[("IDEMPOTENCY_TTL", "2h")]),
            Ok(Duration::from_secs(7_200))
        );
        assert_eq!(
            ttl(&[("JIRA_IDEMPOTENCY_TTL", "90m"), ("IDEMPOTENCY_TTL", "2h")]),
            Ok(Duration::from_secs(5_400))
        );
        assert_eq!(
            ttl(&[("JIRA_IDEMPOTENCY_TTL", " "), ("IDEMPOTENCY_TTL", "5")]),
            Ok(Duration::from_secs(5))
        );
        let error = ttl(&[("JIRA_IDEMPOTENCY_TTL", "soon")]).unwrap_err();
        assert!(
            error.starts_with("invalid JIRA_IDEMPOTENCY_TTL `soon`"),
            "{error}"
        );
        let error = ttl(&[("IDEMPOTENCY_TTL", "0")]).unwrap_err();
        assert!(error.starts_with("invalid IDEMPOTENCY_TTL `0`"), "{error}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 5s "), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3_600)));
        for bad in ["", "0s", "0ms", "5 s", "1d", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
