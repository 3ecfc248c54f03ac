//! Choosing a transport from the command line and the environment, so an
//! example binary serves stdio or HTTP with the same flags everywhere.

use std::fmt;

use super::http::{HostPolicy, HttpConfig};
use super::{Http, Stdio, Transport};
use crate::error::ServerError;
use crate::server::Server;

/// The usage text for the flags [`TransportArgs::from_args`] reads.
pub const USAGE: &str = "\
options:
  --transport stdio|http   how to serve (env MCP_TRANSPORT; default stdio)
  --host HOST              HTTP bind address (env HOST; default 127.0.0.1)
  --port PORT              HTTP port (env PORT; default 3001); implies http
environment:
  MCP_ALLOWED_HOSTS        extra Host names to accept, comma-separated, or *
  MCP_ALLOWED_ORIGINS      browser origins to accept, comma-separated, or *
  CORS_ORIGINS             browser origins allowed by CORS, comma-separated, or *
  MCP_API_KEYS             require API keys: name:key[:scope+scope], comma-separated
  MCP_API_KEYS_FILE        the same, one entry per line, from a file
  MCP_OAUTH_ISSUER         accept OAuth access tokens (JWT) from this issuer
  MCP_OAUTH_RESOURCE       this server's canonical URI, the tokens' audience
  MCP_OAUTH_JWKS_URI       the issuer's JWKS, when it publishes no metadata
  MCP_OAUTH_SCOPES         scopes to advertise, comma-separated
  MCP_OAUTH_TENANT_CLAIM   the token claim naming the tenant
  MCP_TENANT_HEADER        trust this header (set by a gateway) to name the tenant
  MCP_TRUSTED_PROXIES      proxies whose Forwarded/X-Forwarded-For name the client, e.g. 10.0.0.0/8
  MCP_MAX_SESSIONS         live sessions at most (default 10000)
  MCP_MAX_SESSIONS_PER_PRINCIPAL  sessions one authenticated principal may hold (default 1000)
  MCP_MAX_SESSIONS_PER_CLIENT     sessions one anonymous client address may hold (default 1000)
  MCP_SHUTDOWN_GRACE       on SIGTERM, /ready answers 503 this long before the
                           listener closes, e.g. 5s (default; 0 closes at once)
  MCP_SHUTDOWN_DEADLINE    then requests in flight get this long, e.g. 10s (default)
  MCP_PATH                 the Streamable HTTP endpoint (default /mcp)
  MCP_BASE_PATH            serve every endpoint under this prefix, e.g. /api/mcp (default none)
  MCP_LEGACY_SSE           serve the 2024-11-05 HTTP+SSE transport too: on|off (default on)
  MCP_SSE_PATH             its SSE stream (default /sse)
  MCP_MESSAGES_PATH        the endpoint its clients POST to (default /messages)
  MCP_METRICS_PATH         Prometheus metrics (default /metrics); empty or off: none
  MCP_METRICS_AUTH         metrics need MCP credentials: true|false (default false)
  MCP_DIAGNOSTICS_PATH     the diagnostics document (default /diagnostics); empty or off: none
  MCP_MAX_BODY_BYTES       largest request body in bytes (default 4194304)
  MCP_REQUEST_TIMEOUT      how long one request may run, e.g. 5m (default)
  MCP_HEADER_TIMEOUT       time to send a request's headers, e.g. 30s (default)
  MCP_BODY_TIMEOUT         time to send a request's body, e.g. 30s (default)
  MCP_MAX_CONCURRENT_REQUESTS  requests running at once (default 1024)
  MCP_SESSION_IDLE_TIMEOUT an idle session expires after this, e.g. 30m (default)
  MCP_KEEP_ALIVE           keep-alive period of quiet SSE streams, e.g. 15s (default)";

/// How to serve, as the command line and the environment chose: stdio, or
/// HTTP on an address. It is a [`Transport`]: serve it with
/// [`Server::serve`].
///
/// ```
/// use mcp_server::transport::TransportArgs;
///
/// let transport = TransportArgs::parse(["--transport", "http", "--port", "8080"], |_| None).unwrap();
/// assert_eq!(transport.to_string(), "http://127.0.0.1:8080/mcp");
///
/// let transport = TransportArgs::parse(Vec::<String>::new(), |_| None).unwrap();
/// assert!(matches!(transport, TransportArgs::Stdio));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant, reason = "made once per process")]
pub enum TransportArgs {
    /// Newline-delimited JSON-RPC on stdin and stdout.
    Stdio,
    /// Streamable HTTP and legacy SSE on one listener.
    Http {
        /// `host:port` to bind.
        addr: String,
        /// Paths, security checks and limits.
        config: HttpConfig,
    },
}

/// A command line or environment [`TransportArgs::from_args`] cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportArgsError {
    /// `--help` was given.
    #[error("{USAGE}")]
    Help,
    /// The transport is neither `stdio` nor `http`.
    #[error("unknown transport `{0}`: use `stdio` or `http`\n{USAGE}")]
    UnknownTransport(String),
    /// A flag that needs a value had none.
    #[error("`{0}` needs a value\n{USAGE}")]
    MissingValue(String),
    /// The port is not a number from 0 to 65535.
    #[error("invalid port `{0}`: expected a number from 0 to 65535")]
    InvalidPort(String),
    /// An argument this parser does not know.
    #[error("unknown argument `{0}`\n{USAGE}")]
    UnknownArgument(String),
    /// An environment variable holds a value that cannot be used.
    #[error("invalid {name}: `{value}`")]
    InvalidValue {
        /// The variable.
        name: &'static str,
        /// What it holds.
        value: String,
    },
    /// The `MCP_OAUTH_*` settings cannot be used.
    #[error("OAuth: {0}")]
    OAuth(String),
    /// `MCP_API_KEYS` or `MCP_API_KEYS_FILE` cannot be used.
    #[error("{0}")]
    ApiKeys(#[from] crate::auth::ApiKeysError),
}

impl TransportArgs {
    /// Reads the process's arguments and environment: `--transport
    /// stdio|http`, `--host`, `--port` (which implies http), and the
    /// variables [`USAGE`] lists (such as `MCP_MAX_SESSIONS_PER_CLIENT` and
    /// `MCP_SHUTDOWN_GRACE`). Arguments win over the environment.
    ///
    /// # Errors
    /// An unknown flag or transport, a flag without its value, or a bad port.
    pub fn from_args() -> Result<Self, TransportArgsError> {
        Self::parse(std::env::args().skip(1), |name| std::env::var(name).ok())
    }

    /// [`TransportArgs::from_args`] over given arguments (without the program
    /// name) and environment lookup.
    ///
    /// # Errors
    /// See [`TransportArgs::from_args`].
    pub fn parse<I, S>(
        args: I,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TransportArgsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut transport = env("MCP_TRANSPORT");
        let mut host = env("HOST");
        let mut port = env("PORT");
        let mut wants_http = false;
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg, None),
            };
            let mut value = |flag: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| TransportArgsError::MissingValue(flag.to_owned()))
            };
            match flag.as_str() {
                "--transport" => transport = Some(value("--transport")?),
                "--host" => {
                    host = Some(value("--host")?);
                    wants_http = true;
                }
                "--port" => {
                    port = Some(value("--port")?);
                    wants_http = true;
                }
                "-h" | "--help" => return Err(TransportArgsError::Help),
                _ => return Err(TransportArgsError::UnknownArgument(flag)),
            }
        }
        let transport = match transport.as_deref().map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("http") => "http",
            Some(t) if t.eq_ignore_ascii_case("stdio") => "stdio",
            Some(t) if !t.is_empty() => {
                return Err(TransportArgsError::UnknownTransport(t.to_owned()));
            }
            _ if wants_http => "http",
            _ => "stdio",
        };
        if transport == "stdio" {
            return Ok(Self::Stdio);
        }
        let port = match port.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => p
                .parse::<u16>()
                .map_err(|_| TransportArgsError::InvalidPort(p.to_owned()))?,
            _ => 3001,
        };
        let host = host
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| "127.0.0.1".into());
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]") // a bare IPv6 address
        } else {
            host
        };
        let mut config = HttpConfig::default();
        if let Some(hosts) = env("MCP_ALLOWED_HOSTS") {
            let hosts = split_list(&hosts);
            config = if hosts.iter().any(|h| h == "*") {
                config.host_policy(HostPolicy::Any)
            } else if hosts.is_empty() {
                config
            } else {
                config.allowed_hosts(hosts)
            };
        }
        if let Some(origins) = env("MCP_ALLOWED_ORIGINS") {
            config = config.allowed_origins(split_list(&origins));
        }
        if let Some(origins) = env("CORS_ORIGINS") {
            config = config.cors_origins(split_list(&origins));
        }
        let keys = if let Some(list) = env("MCP_API_KEYS") {
            Some(crate::auth::ApiKeys::parse(&list)?)
        } else if let Some(path) = env("MCP_API_KEYS_FILE") {
            Some(crate::auth::ApiKeys::from_file(path)?)
        } else {
            None
        };
        config = match (keys, oauth_from_env(&env)?) {
            (Some(keys), Some(oauth)) => {
                config.authenticator(crate::auth::AnyOf::new().or(oauth).or(keys))
            }
            (Some(keys), None) => config.authenticator(keys),
            (None, Some(oauth)) => config.authenticator(oauth),
            (None, None) => config,
        };
        if let Some(list) = env("MCP_TRUSTED_PROXIES") {
            let proxies = split_list(&list)
                .iter()
                .map(|p| p.parse::<super::http::Cidr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| TransportArgsError::InvalidValue {
                    name: "MCP_TRUSTED_PROXIES",
                    value: list.clone(),
                })?;
            config = config.trusted_proxies(proxies);
        }
        if let Some(header) = env("MCP_TENANT_HEADER").filter(|h| !h.trim().is_empty()) {
            if http::HeaderName::from_bytes(header.trim().as_bytes()).is_err() {
                return Err(TransportArgsError::InvalidValue {
                    name: "MCP_TENANT_HEADER",
                    value: header,
                });
            }
            config = config.tenant_header(&header);
        }
        if let Some(limit) = count(&env, "MCP_MAX_SESSIONS")? {
            config = config.max_sessions(limit);
        }
        if let Some(limit) = count(&env, "MCP_MAX_SESSIONS_PER_PRINCIPAL")? {
            config = config.max_sessions_per_principal(limit);
        }
        if let Some(limit) = count(&env, "MCP_MAX_SESSIONS_PER_CLIENT")? {
            config = config.max_sessions_per_client(limit);
        }
        if let Some(grace) = duration_from_env(&env, "MCP_SHUTDOWN_GRACE")? {
            config = config.shutdown_grace(grace);
        }
        if let Some(deadline) = duration_from_env(&env, "MCP_SHUTDOWN_DEADLINE")? {
            config = config.shutdown_deadline(deadline);
        }
        config = routes_and_limits_from_env(config, &env)?;
        Ok(Self::Http {
            addr: format!("{host}:{port}"),
            config,
        })
    }
}

/// The OAuth resource server `MCP_OAUTH_*` describe, if any.
#[cfg(feature = "oauth")]
fn oauth_from_env(
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
fn oauth_from_env(
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
fn routes_and_limits_from_env(
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
    if let Some(timeout) = timeout(env, "MCP_SESSION_IDLE_TIMEOUT")? {
        config = config.session_idle_timeout(timeout);
    }
    if let Some(period) = timeout(env, "MCP_KEEP_ALIVE")? {
        config = config.keep_alive(period);
    }
    Ok(config)
}

/// A route path from the environment, if set: it must start with `/`.
fn path(
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
fn optional_path(
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
fn switch(
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
fn timeout(
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
fn count(
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
fn duration_from_env(
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

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl fmt::Display for TransportArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdio => f.write_str("stdio"),
            Self::Http { addr, config } => write!(f, "http://{addr}{}", config.endpoint()),
        }
    }
}

impl Transport for TransportArgs {
    /// Serves on [`Stdio`] or [`Http`], whichever was chosen.
    async fn serve(self, server: Server) -> Result<(), ServerError> {
        match self {
            Self::Stdio => Stdio.serve(server).await,
            Self::Http { addr, config } => Http::bind(addr).config(config).serve(server).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<TransportArgs, TransportArgsError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TransportArgs::parse(args.iter().copied(), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn flags_and_environment() {
        assert!(matches!(parse(&[], &[]), Ok(TransportArgs::Stdio)));
        assert_eq!(
            parse(&["--port", "9000"], &[]).unwrap().to_string(),
            "http://127.0.0.1:9000/mcp"
        );
        assert_eq!(
            parse(&["--transport=http", "--host", "0.0.0.0"], &[])
                .unwrap()
                .to_string(),
            "http://0.0.0.0:3001/mcp"
        );
        assert_eq!(
            parse(
                &[],
                &[("MCP_TRANSPORT", "http"), ("PORT", "8080"), ("HOST", "::1")]
            )
            .unwrap()
            .to_string(),
            "http://[::1]:8080/mcp"
        );
        // Arguments win over the environment.
        assert!(matches!(
            parse(&["--transport", "stdio"], &[("MCP_TRANSPORT", "http")]),
            Ok(TransportArgs::Stdio)
        ));
        // PORT alone (as containers set it) does not switch transports.
        assert!(matches!(
            parse(&[], &[("PORT", "8080")]),
            Ok(TransportArgs::Stdio)
        ));
        assert_eq!(
            parse(&["--transport", "carrier-pigeon"], &[]).unwrap_err(),
            TransportArgsError::UnknownTransport("carrier-pigeon".into())
        );
        assert_eq!(
            parse(&["--port", "http"], &[]).unwrap_err(),
            TransportArgsError::InvalidPort("http".into())
        );
        assert_eq!(
            parse(&["--port"], &[]).unwrap_err(),
            TransportArgsError::MissingValue("--port".into())
        );
        assert_eq!(
            parse(&["--verbose"], &[]).unwrap_err(),
            TransportArgsError::UnknownArgument("--verbose".into())
        );
        let TransportArgs::Http { config, .. } =
            parse(&["--port", "1"], &[("MCP_API_KEYS", "ci:key-1:a+b")]).unwrap()
        else {
            panic!("http expected");
        };
        assert!(format!("{config:?}").contains("authenticated: true"));
        assert!(matches!(
            parse(&["--port", "1"], &[("MCP_API_KEYS", "nokey")]),
            Err(TransportArgsError::ApiKeys(_))
        ));
    }

    #[test]
    fn session_limits_from_the_environment() {
        let TransportArgs::Http { config, .. } = parse(
            &["--port", "1"],
            &[
                ("MCP_MAX_SESSIONS", "500"),
                ("MCP_MAX_SESSIONS_PER_PRINCIPAL", "50"),
                ("MCP_MAX_SESSIONS_PER_CLIENT", " 5 "),
            ],
        )
        .unwrap() else {
            panic!("http expected");
        };
        let debug = format!("{config:?}");
        for expected in [
            "max_sessions: 500",
            "max_sessions_per_principal: 50",
            "max_sessions_per_client: 5",
        ] {
            assert!(debug.contains(expected), "{debug}");
        }
        for bad in ["0", "-1", "many"] {
            assert_eq!(
                parse(&["--port", "1"], &[("MCP_MAX_SESSIONS_PER_CLIENT", bad)]).unwrap_err(),
                TransportArgsError::InvalidValue {
                    name: "MCP_MAX_SESSIONS_PER_CLIENT",
                    value: bad.into()
                }
            );
        }
    }

    #[test]
    fn shutdown_timing_from_the_environment() {
        let config = |env: &[(&str, &str)]| match parse(&["--port", "1"], env) {
            Ok(TransportArgs::Http { config, .. }) => format!("{config:?}"),
            other => panic!("http expected: {other:?}"),
        };
        let defaults = config(&[]);
        assert!(defaults.contains("shutdown_grace: 5s"), "{defaults}");
        assert!(defaults.contains("shutdown_deadline: 10s"), "{defaults}");
        let set = config(&[
            ("MCP_SHUTDOWN_GRACE", "0"),
            ("MCP_SHUTDOWN_DEADLINE", "1500ms"),
        ]);
        assert!(set.contains("shutdown_grace: 0ns"), "{set}");
        assert!(set.contains("shutdown_deadline: 1.5s"), "{set}");
        assert_eq!(
            parse(&["--port", "1"], &[("MCP_SHUTDOWN_GRACE", "soon")]).unwrap_err(),
            TransportArgsError::InvalidValue {
                name: "MCP_SHUTDOWN_GRACE",
                value: "soon".into()
            }
        );
    }

    fn http_config(env: &[(&str, &str)]) -> Result<HttpConfig, TransportArgsError> {
        match parse(&["--port", "1"], env)? {
            TransportArgs::Http { config, .. } => Ok(config),
            TransportArgs::Stdio => panic!("http expected"),
        }
    }

    #[test]
    fn routes_and_limits_from_the_environment() {
        use std::time::Duration;

        let defaults = http_config(&[]).unwrap();
        let config = http_config(&[
            ("MCP_PATH", " /rpc "),
            ("MCP_BASE_PATH", "/api/"),
            ("MCP_LEGACY_SSE", "off"),
            ("MCP_SSE_PATH", "/events"),
            ("MCP_METRICS_PATH", "/internal/metrics"),
            ("MCP_METRICS_AUTH", "true"),
            ("MCP_DIAGNOSTICS_PATH", "off"),
            ("MCP_MAX_BODY_BYTES", "65536"),
            ("MCP_REQUEST_TIMEOUT", "2m"),
            ("MCP_BODY_TIMEOUT", "5s"),
            ("MCP_MAX_CONCURRENT_REQUESTS", "64"),
            ("MCP_SESSION_IDLE_TIMEOUT", "1h"),
            ("MCP_KEEP_ALIVE", "500ms"),
        ])
        .unwrap();
        assert_eq!(config.endpoint(), "/rpc");
        assert_eq!(config.base_path.as_deref(), Some("/api"));
        assert_eq!(defaults.base_path, None);
        assert!(defaults.legacy_sse && !config.legacy_sse);
        assert_eq!(config.sse_path, "/events");
        // The other legacy path keeps its default.
        assert_eq!(config.messages_path, "/messages");
        assert_eq!(config.metrics_path.as_deref(), Some("/internal/metrics"));
        assert!(!defaults.metrics_auth && config.metrics_auth);
        assert_eq!(defaults.diagnostics_path.as_deref(), Some("/diagnostics"));
        assert_eq!(config.diagnostics_path, None);
        assert_eq!(config.max_body_bytes, 65536);
        assert_eq!(config.request_timeout, Duration::from_secs(120));
        assert_eq!(config.header_timeout, defaults.header_timeout);
        assert_eq!(config.body_timeout, Duration::from_secs(5));
        assert_eq!(config.max_concurrent_requests, 64);
        assert_eq!(config.session_idle_timeout, Duration::from_secs(3600));
        assert_eq!(config.keep_alive, Duration::from_millis(500));

        let config = http_config(&[
            ("MCP_METRICS_PATH", ""),
            ("MCP_METRICS_AUTH", "no"),
            ("MCP_MESSAGES_PATH", "/post"),
            ("MCP_HEADER_TIMEOUT", "10s"),
        ])
        .unwrap();
        assert_eq!(config.metrics_path, None);
        assert!(!config.metrics_auth);
        assert_eq!(
            (config.sse_path.as_str(), config.messages_path.as_str()),
            ("/sse", "/post")
        );
        assert_eq!(config.header_timeout, Duration::from_secs(10));
        assert_eq!(config.body_timeout, defaults.body_timeout);
    }

    #[test]
    fn bad_routes_and_limits_name_their_variable() {
        for (name, bad) in [
            ("MCP_PATH", "mcp"),
            ("MCP_PATH", "/m cp"),
            ("MCP_BASE_PATH", "api"),
            ("MCP_SSE_PATH", "sse"),
            ("MCP_MESSAGES_PATH", "/messages?x=1"),
            ("MCP_METRICS_PATH", "metrics"),
            ("MCP_DIAGNOSTICS_PATH", "disabled"),
            ("MCP_LEGACY_SSE", "maybe"),
            ("MCP_METRICS_AUTH", "required"),
            ("MCP_MAX_BODY_BYTES", "4MiB"),
            ("MCP_MAX_BODY_BYTES", "0"),
            ("MCP_MAX_CONCURRENT_REQUESTS", "-1"),
            ("MCP_REQUEST_TIMEOUT", "0"),
            ("MCP_REQUEST_TIMEOUT", "forever"),
            ("MCP_HEADER_TIMEOUT", "30 seconds"),
            ("MCP_BODY_TIMEOUT", "0s"),
            ("MCP_SESSION_IDLE_TIMEOUT", "1d"),
            ("MCP_KEEP_ALIVE", "-5s"),
        ] {
            let error = http_config(&[(name, bad)]).unwrap_err();
            assert_eq!(
                error,
                TransportArgsError::InvalidValue {
                    name,
                    value: bad.into()
                }
            );
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn usage_lists_every_variable_read() {
        let source = include_str!("select.rs");
        let read: std::collections::BTreeSet<&str> = source
            .split('"')
            .filter(|s| {
                s.starts_with("MCP_") && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
            .collect();
        for name in read {
            assert!(USAGE.contains(name), "USAGE does not list {name}");
        }
    }
}
