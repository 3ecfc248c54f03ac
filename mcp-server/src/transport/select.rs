//! Choosing a transport from the command line and the environment, so an
//! example binary serves stdio or HTTP with the same flags everywhere.

use std::fmt;

use super::http::{HostPolicy, HttpConfig, HttpServer};
use crate::error::ServerError;
use crate::server::{Server, ServerDefinition};

/// The usage text for the flags [`Transport::from_args`] reads.
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
  MCP_MAX_SESSIONS         live sessions at most (default 10000)
  MCP_MAX_SESSIONS_PER_PRINCIPAL  sessions one authenticated principal may hold (default 1000)
  MCP_MAX_SESSIONS_PER_CLIENT     sessions one anonymous client address may hold (default 1000)
  MCP_SHUTDOWN_GRACE       on SIGTERM, /ready answers 503 this long before the
                           listener closes, e.g. 5s (default; 0 closes at once)
  MCP_SHUTDOWN_DEADLINE    then requests in flight get this long, e.g. 10s (default)";

/// How to serve: stdio, or HTTP on an address.
///
/// ```
/// use mcp_server::transport::Transport;
///
/// let transport = Transport::parse(["--transport", "http", "--port", "8080"], |_| None).unwrap();
/// assert_eq!(transport.to_string(), "http://127.0.0.1:8080/mcp");
///
/// let transport = Transport::parse(Vec::<String>::new(), |_| None).unwrap();
/// assert!(matches!(transport, Transport::Stdio));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant, reason = "made once per process")]
pub enum Transport {
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

/// A command line or environment [`Transport::from_args`] cannot use.
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

impl Transport {
    /// HTTP on `addr` with the default configuration.
    pub fn http(addr: impl Into<String>) -> Self {
        Self::Http {
            addr: addr.into(),
            config: HttpConfig::default(),
        }
    }

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

    /// [`Transport::from_args`] over given arguments (without the program
    /// name) and environment lookup.
    ///
    /// # Errors
    /// See [`Transport::from_args`].
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

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdio => f.write_str("stdio"),
            Self::Http { addr, config } => write!(f, "http://{addr}{}", config.endpoint()),
        }
    }
}

impl Server {
    /// Serves on `transport` until stdin closes (stdio) or SIGINT/SIGTERM
    /// (HTTP).
    ///
    /// ```no_run
    /// # use mcp_server::prelude::*;
    /// # async fn run(server: Server) -> Result<(), Box<dyn std::error::Error>> {
    /// use mcp_server::transport::Transport;
    ///
    /// server.serve(Transport::from_args()?).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The transport failed: see [`Server::serve_stdio`] and [`HttpServer`].
    pub async fn serve(self, transport: Transport) -> Result<(), ServerError> {
        match transport {
            Transport::Stdio => self.serve_stdio().await,
            Transport::Http { addr, config } => {
                super::stdio::init_stderr_logging();
                HttpServer::bind(self, addr, config).await?.serve().await
            }
        }
    }
}

/// Serving a `#[mcp_server]` type directly.
pub trait ServeExt: ServerDefinition {
    /// Serves on `transport`; see [`Server::serve`].
    ///
    /// # Errors
    /// See [`Server::serve`].
    fn serve(self, transport: Transport) -> impl Future<Output = Result<(), ServerError>> + Send {
        self.into_server().serve(transport)
    }
}

impl<D: ServerDefinition> ServeExt for D {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Transport, TransportArgsError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Transport::parse(args.iter().copied(), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn flags_and_environment() {
        assert!(matches!(parse(&[], &[]), Ok(Transport::Stdio)));
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
            Ok(Transport::Stdio)
        ));
        // PORT alone (as containers set it) does not switch transports.
        assert!(matches!(
            parse(&[], &[("PORT", "8080")]),
            Ok(Transport::Stdio)
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
        let Transport::Http { config, .. } =
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
        let Transport::Http { config, .. } = parse(
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
            Ok(Transport::Http { config, .. }) => format!("{config:?}"),
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
}
