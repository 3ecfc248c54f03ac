//! Choosing a transport from the command line and the environment, so an
//! example binary serves stdio or HTTP with the same flags everywhere.

use std::fmt;

use super::http::{HostPolicy, HttpConfig};
use super::{Http, Stdio, Transport};
use crate::server::{Server, ServerError};
use env::{count, duration_from_env, oauth_from_env, routes_and_limits_from_env, split_list};

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
  MCP_MAX_BODY_BYTES_IN_FLIGHT  bytes of large bodies held at once (default 268435456)
  MCP_REQUEST_TIMEOUT      how long one request may run, e.g. 5m (default)
  MCP_HEADER_TIMEOUT       time to send a request's headers, e.g. 30s (default)
  MCP_BODY_TIMEOUT         time to send a request's body, e.g. 30s (default)
  MCP_MAX_CONCURRENT_REQUESTS  requests running at once (default 1024)
  MCP_MAX_CONNECTIONS      connections open at once (default 3/4 of the open-file limit)
  MCP_SESSION_IDLE_TIMEOUT an idle session expires after this, e.g. 30m (default)
  MCP_KEEP_ALIVE           keep-alive period of quiet SSE streams, e.g. 15s (default)
  REDIS_URL                keep SSE stream history in this Redis, for resumption on any replica
  MCP_EVENT_PREFIX         the key prefix of that history (default mcp:ev)
  MCP_EVENT_TTL            how long a stream's history is kept after its last event (default 5m)
  MCP_EVENT_MAX_PER_STREAM events kept per stream (default 1000)";

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
            if config.trusted_proxies.is_empty() {
                tracing::warn!(
                    header = header.trim(),
                    "MCP_TENANT_HEADER is believed from every peer; set MCP_TRUSTED_PROXIES to the gateway's addresses unless only the gateway can reach this server"
                );
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
        if let Some(store) = super::http::history::from_env(&env)
            .map_err(|(name, value)| TransportArgsError::InvalidValue { name, value })?
        {
            config = config.event_store(store);
        }
        Ok(Self::Http {
            addr: format!("{host}:{port}"),
            config,
        })
    }
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

mod env;
#[cfg(test)]
mod tests;
