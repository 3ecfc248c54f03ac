//! What the HTTP transport allows, and its limits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Authenticator;

/// Which `Host` headers the HTTP transport accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPolicy {
    /// `localhost`, `127.0.0.1` and `[::1]`, on any port: a local server that a
    /// web page cannot reach through DNS rebinding.
    Loopback,
    /// Loopback names while bound to a loopback address, any host otherwise.
    /// What [`HttpServer`](super::HttpServer) starts with.
    Auto,
    /// These host names (with or without a port), plus the loopback ones.
    List(Vec<String>),
    /// Any host: for servers behind a proxy that checks hosts itself.
    Any,
}

/// Configuration of the HTTP transport: paths, security checks and limits.
///
/// The defaults protect a local server: only loopback `Host` and `Origin`
/// values pass, bodies are capped at 4 MiB, requests time out after five
/// minutes, and at most 10 000 sessions (1 000 per caller) and 1 024
/// concurrent requests live at once.
///
/// ```
/// use std::time::Duration;
/// use mcp_server::transport::http::HttpConfig;
///
/// let config = HttpConfig::default()
///     .path("/api/mcp")
///     .allowed_hosts(["mcp.example.com"])
///     .allowed_origins(["https://app.example.com"])
///     .max_body_bytes(1 << 20)
///     .request_timeout(Duration::from_secs(60));
/// assert_eq!(config.endpoint(), "/api/mcp");
/// ```
#[derive(Clone)]
pub struct HttpConfig {
    pub(crate) authenticator: Option<Arc<dyn Authenticator>>,
    pub(crate) path: String,
    pub(crate) base_path: Option<Arc<str>>,
    pub(crate) legacy_sse: bool,
    pub(crate) sse_path: String,
    pub(crate) messages_path: String,
    pub(crate) hosts: HostPolicy,
    pub(crate) origins: Vec<String>,
    pub(crate) cors_origins: Vec<String>,
    pub(crate) metrics_path: Option<String>,
    pub(crate) metrics_auth: bool,
    pub(crate) diagnostics_path: Option<String>,
    pub(crate) tenant_header: Option<http::HeaderName>,
    pub(crate) trusted_proxies: Vec<super::Cidr>,
    pub(crate) max_body_bytes: usize,
    /// Bytes of large request bodies held at once, over all connections;
    /// shared by the clones of this config.
    pub(crate) body_budget: std::sync::Arc<tokio::sync::Semaphore>,
    pub(crate) body_budget_bytes: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) header_timeout: Duration,
    pub(crate) max_concurrent_requests: usize,
    /// `None`: from the open-file limit, when the listener starts.
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_sessions: usize,
    pub(crate) max_sessions_per_principal: usize,
    pub(crate) max_sessions_per_client: usize,
    pub(crate) session_idle_timeout: Duration,
    pub(crate) keep_alive: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) shutdown_deadline: Duration,
    pub(crate) event_store: Arc<dyn super::history::EventStore>,
    pub(crate) stream_after: Duration,
    pub(crate) sse_retry: Duration,
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("path", &self.path)
            .field("base_path", &self.base_path)
            .field("authenticated", &self.authenticator.is_some())
            .field("hosts", &self.hosts)
            .field("origins", &self.origins)
            .field("cors_origins", &self.cors_origins)
            .field("max_body_bytes", &self.max_body_bytes)
            .field(
                "max_body_bytes_in_flight",
                &self.body_budget.available_permits(),
            )
            .field("request_timeout", &self.request_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_sessions", &self.max_sessions)
            .field(
                "max_sessions_per_principal",
                &self.max_sessions_per_principal,
            )
            .field("max_sessions_per_client", &self.max_sessions_per_client)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("shutdown_deadline", &self.shutdown_deadline)
            .field("event_store", &self.event_store)
            .field("stream_after", &self.stream_after)
            .field("sse_retry", &self.sse_retry)
            .finish_non_exhaustive()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            authenticator: None,
            path: "/mcp".into(),
            base_path: None,
            legacy_sse: true,
            sse_path: "/sse".into(),
            messages_path: "/messages".into(),
            hosts: HostPolicy::Auto,
            origins: Vec::new(),
            cors_origins: Vec::new(),
            metrics_path: Some("/metrics".into()),
            metrics_auth: false,
            diagnostics_path: Some("/diagnostics".into()),
            tenant_header: None,
            trusted_proxies: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
            body_budget: body_budget(DEFAULT_BODY_BYTES_IN_FLIGHT),
            body_budget_bytes: DEFAULT_BODY_BYTES_IN_FLIGHT,
            request_timeout: Duration::from_secs(300),
            body_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
            max_connections: None,
            max_sessions: 10_000,
            max_sessions_per_principal: 1_000,
            max_sessions_per_client: 1_000,
            session_idle_timeout: Duration::from_secs(30 * 60),
            keep_alive: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(5),
            shutdown_deadline: Duration::from_secs(10),
            event_store: Arc::new(super::history::MemoryEventStore::default()),
            stream_after: Duration::from_millis(50),
            sse_retry: Duration::from_secs(1),
        }
    }
}

impl HttpConfig {
    /// The Streamable HTTP endpoint's path. Default `/mcp`.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Requires every MCP request (Streamable HTTP, the SSE stream and its
    /// messages endpoint) to authenticate; `/health` and `/ready` stay open.
    /// A failure is 401 with `WWW-Authenticate: Bearer`.
    ///
    /// ```
    /// use mcp_server::auth::ApiKeys;
    /// use mcp_server::transport::http::HttpConfig;
    ///
    /// let config = HttpConfig::default()
    ///     .authenticator(ApiKeys::new().key("ci", "a-long-random-key", ["crm:read"]));
    /// ```
    #[must_use]
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Serves every path under `prefix`, as axum's `nest_service(prefix, ..)`
    /// does, for applications on plain hyper or a router that does not strip
    /// prefixes: Streamable HTTP at `prefix` (and `prefix/`), the legacy
    /// transport at `prefix/sse` and `prefix/messages` (the SSE `endpoint`
    /// event names that path), the protected resource metadata at
    /// `prefix/.well-known/oauth-protected-resource`, the probes, metrics
    /// and diagnostics at `prefix/health`, `prefix/ready`, `prefix/metrics`
    /// and `prefix/diagnostics`. Anything outside the prefix is 404. Under
    /// axum's `nest_service` the prefix axum stripped is used instead.
    ///
    /// `prefix` starts with `/`; a trailing `/` is ignored, and `/` alone
    /// means no prefix.
    ///
    /// ```
    /// use mcp_server::prelude::*;
    /// use mcp_server::transport::http::{HttpConfig, McpService};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mcp = McpService::new(Server::builder().build(), HttpConfig::default().base_path("/api/mcp"));
    /// let health = |path: &str| http::Request::get(path).body(String::new()).unwrap();
    /// assert_eq!(mcp.handle(health("/api/mcp/health")).await.status(), 200);
    /// assert_eq!(mcp.handle(health("/health")).await.status(), 404);
    /// # }
    /// ```
    #[must_use]
    pub fn base_path(mut self, prefix: impl AsRef<str>) -> Self {
        let prefix = prefix.as_ref().trim_end_matches('/');
        self.base_path = (!prefix.is_empty()).then(|| {
            if prefix.starts_with('/') {
                prefix.into()
            } else {
                format!("/{prefix}").into()
            }
        });
        self
    }

    /// The Streamable HTTP endpoint's path.
    pub fn endpoint(&self) -> &str {
        &self.path
    }

    /// Whether to serve the legacy HTTP+SSE transport (2024-11-05) too.
    /// Default on.
    #[must_use]
    pub fn legacy_sse(mut self, enabled: bool) -> Self {
        self.legacy_sse = enabled;
        self
    }

    /// The legacy transport's paths: the SSE stream (default `/sse`) and the
    /// endpoint its clients POST to (default `/messages`).
    #[must_use]
    pub fn legacy_paths(mut self, sse: impl Into<String>, messages: impl Into<String>) -> Self {
        self.sse_path = sse.into();
        self.messages_path = messages.into();
        self
    }

    /// How `Host` headers are checked.
    pub fn hosts(&self) -> &HostPolicy {
        &self.hosts
    }

    /// Accepts these `Host` names besides the loopback ones.
    #[must_use]
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hosts = HostPolicy::List(hosts.into_iter().map(Into::into).collect());
        self
    }

    /// Sets how `Host` headers are checked.
    #[must_use]
    pub fn host_policy(mut self, policy: HostPolicy) -> Self {
        self.hosts = policy;
        self
    }

    /// Accepts requests from these browser origins (`scheme://host[:port]`)
    /// besides loopback ones. `*` accepts any origin. Requests without an
    /// `Origin` header, as from non-browser clients, always pass.
    #[must_use]
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Lets browser clients on these origins call the server (CORS):
    /// preflights are answered, responses carry `Access-Control-Allow-Origin`
    /// and expose `Mcp-Session-Id`, `MCP-Protocol-Version` and
    /// `WWW-Authenticate`. `*` allows any origin. The origins also pass the
    /// `Origin` check. Default none.
    #[must_use]
    pub fn cors_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cors_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Where Prometheus metrics are served (default `/metrics`); `None`
    /// turns the endpoint off.
    #[must_use]
    pub fn metrics_path(mut self, path: Option<&str>) -> Self {
        self.metrics_path = path.map(str::to_owned);
        self
    }

    /// Whether `/metrics` needs the same credentials as MCP requests
    /// (default no: scrapers usually reach it on a private network; turn it
    /// on wherever the public can reach the server). Without an
    /// [`authenticator`](Self::authenticator) there is nothing to ask for
    /// and it stays open.
    #[must_use]
    pub fn metrics_require_auth(mut self, required: bool) -> Self {
        self.metrics_auth = required;
        self
    }

    /// Where the diagnostics document is served (default `/diagnostics`):
    /// version, uptime, revisions served, sessions and the configuration,
    /// secrets left out. It needs the same credentials as MCP requests;
    /// without an authenticator only loopback clients may read it. `None`
    /// turns it off.
    #[must_use]
    pub fn diagnostics_path(mut self, path: Option<&str>) -> Self {
        self.diagnostics_path = path.map(str::to_owned);
        self
    }

    /// Reverse proxies (load balancers, ingress controllers) whose
    /// `Forwarded` and `X-Forwarded-For` headers name the client. Only a
    /// connection from one of these networks has them read, so clients
    /// reaching the server directly cannot choose their address; the
    /// client is the nearest address in the chain that is not a trusted
    /// proxy. Anonymous callers are rate limited and capped per address, so
    /// behind a proxy without this, all of them share the proxy's.
    /// `MCP_TRUSTED_PROXIES`, such as `10.0.0.0/8,fd00::/8`. Default: none.
    ///
    /// ```
    /// use mcp_server::transport::http::HttpConfig;
    ///
    /// let config = HttpConfig::default().trusted_proxies(["10.0.0.0/8".parse().unwrap()]);
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = super::Cidr>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Trusts `header` (such as `X-Tenant-Id`) to name the request's tenant,
    /// for servers behind a gateway that sets it; never configure it where
    /// clients can reach the server directly. The tenant reaches handlers
    /// through [`RequestContext::tenant`](crate::RequestContext::tenant).
    /// An authenticated principal's own tenant wins: a header naming
    /// another is 403. An anonymous request with the header acts as the
    /// principal `tenant:<id>`, so its session stays within the tenant.
    ///
    /// # Panics
    /// `header` is not a valid header name (a programming error).
    #[must_use]
    pub fn tenant_header(mut self, header: &str) -> Self {
        self.tenant_header = Some(
            http::HeaderName::from_bytes(header.trim().as_bytes())
                .unwrap_or_else(|_| panic!("`{header}` is not a valid header name")),
        );
        self
    }

    /// The largest request body accepted; larger ones get 413. Default 4 MiB.
    /// A body whose declared `Content-Length` is larger is refused at once,
    /// before any of it is read.
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How many bytes of request bodies may be held at once, over all
    /// connections (default 256 MiB): a body that would take more is
    /// refused with 503 and `Retry-After`, so that a flood of large bodies
    /// (on as many connections as a client can open) cannot exhaust the
    /// server's memory. Only bodies of 64 KiB or more count, for as long as
    /// their request runs (a session's request runs on after its client
    /// leaves the stream it answers on).
    #[must_use]
    pub fn max_body_bytes_in_flight(mut self, bytes: usize) -> Self {
        self.body_budget = body_budget(bytes);
        self.body_budget_bytes = bytes.min(tokio::sync::Semaphore::MAX_PERMITS);
        self
    }

    /// How long one request may run before it is cancelled and answered
    /// with an error. Default five minutes. `subscriptions/listen` and SSE
    /// streams are exempt: they live until the client leaves.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long a client may take to send a request's headers (default
    /// 30 s) and its body (default 30 s).
    #[must_use]
    pub fn read_timeouts(mut self, headers: Duration, body: Duration) -> Self {
        self.header_timeout = headers;
        self.body_timeout = body;
        self
    }

    /// How many requests may run at once; more get 503. Default 1 024.
    #[must_use]
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent_requests = limit;
        self
    }

    /// How many connections [`HttpServer`](super::HttpServer) keeps open at
    /// once (at least one), so that connections cannot take the last file
    /// descriptors the server needs for its databases, caches and logs.
    /// Past it, a connection with nothing in progress (one that never sent
    /// a request, or sits between requests) is closed to make room for a
    /// newcomer: of the client address holding the most connections, its
    /// longest-open one; with every connection busy, newcomers wait
    /// in the listen queue until one closes or goes idle. Default: three
    /// quarters of the process's open-file limit (`ulimit -n`) when the
    /// server starts, or 10 000 where there is none. An application that
    /// serves [`McpService`](super::McpService) on its own listener limits
    /// its connections there.
    #[must_use]
    pub fn max_connections(mut self, limit: usize) -> Self {
        self.max_connections = Some(limit.max(1));
        self
    }

    /// The connection limit in force: [`HttpConfig::max_connections`], or
    /// its default for the open-file limit now.
    pub fn connection_limit(&self) -> usize {
        self.max_connections
            .unwrap_or_else(|| connections_for(open_file_limit()))
    }

    /// How many sessions (Streamable HTTP and legacy SSE) may live at once.
    /// Default 10 000.
    ///
    /// A full table does not lock newcomers out: to make room, the caller
    /// holding the most sessions gives up its least recently used idle one
    /// (its client gets 404 and starts over, as after expiry). Busy sessions,
    /// with an open stream or a request in progress, are never evicted; a
    /// caller holding as many as anyone, none of them idle, gets 429, and
    /// when every session that could make way is busy the answer is 503.
    #[must_use]
    pub fn max_sessions(mut self, limit: usize) -> Self {
        self.max_sessions = limit;
        self
    }

    /// How many sessions one authenticated principal (its id and tenant)
    /// may hold. Default 1 000, a tenth of the default table, so no
    /// principal can take more than a tenth of it.
    ///
    /// A principal at its cap that opens another session gives up its own
    /// least recently used idle one; with none idle it gets 429 with
    /// `Retry-After`. Anonymous callers of a tenant named by the trusted
    /// [`tenant_header`](Self::tenant_header) count as the tenant's
    /// principal.
    ///
    /// ```
    /// use mcp_server::transport::http::HttpConfig;
    ///
    /// let config = HttpConfig::default()
    ///     .max_sessions(50_000)
    ///     .max_sessions_per_principal(5_000) // a backend serving many users with one key
    ///     .max_sessions_per_client(100);
    /// ```
    #[must_use]
    pub fn max_sessions_per_principal(mut self, limit: usize) -> Self {
        self.max_sessions_per_principal = limit.max(1);
        self
    }

    /// How many sessions one anonymous client may hold, keyed by its
    /// address ([`ClientAddr`](super::ClientAddr), which [`HttpServer`](super::HttpServer)
    /// attaches; IPv6 clients by their /64 prefix). Default 1 000. Over it,
    /// as for [`max_sessions_per_principal`](Self::max_sessions_per_principal).
    ///
    /// Behind a proxy every client has the proxy's address, so they share
    /// this cap: raise it, or authenticate callers. Anonymous requests whose
    /// address the service does not know are not capped per client.
    #[must_use]
    pub fn max_sessions_per_client(mut self, limit: usize) -> Self {
        self.max_sessions_per_client = limit.max(1);
        self
    }

    /// How long a session may sit idle before it expires. Default 30 minutes.
    #[must_use]
    pub fn session_idle_timeout(mut self, timeout: Duration) -> Self {
        self.session_idle_timeout = timeout;
        self
    }

    /// How often a quiet SSE stream gets a keep-alive comment. Default 15 s.
    #[must_use]
    pub fn keep_alive(mut self, period: Duration) -> Self {
        self.keep_alive = period;
        self
    }

    /// How long a graceful shutdown keeps the listener open after it
    /// begins: `/ready` answers 503 and new MCP requests are refused with
    /// 503 and `Retry-After`, so load balancers that health-check the server
    /// take it out of rotation before connections are refused. Default 5 s;
    /// zero closes the listener at once. See [`McpService::drain`](super::McpService::drain).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// How long requests in flight may run on once the listener has closed;
    /// those still running then are stopped and answered with a JSON-RPC
    /// error ("server shutting down"). Default 10 s.
    #[must_use]
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.shutdown_deadline = deadline;
        self
    }

    /// Where the events of SSE streams are kept for `Last-Event-ID`
    /// resumption (2025-03-26 to 2025-11-25 sessions). Default: a
    /// [`MemoryEventStore`](super::history::MemoryEventStore) with
    /// [`EventLimits::default`](super::history::EventLimits); share one
    /// store (Redis) between replicas so a stream resumes on any of them.
    #[must_use]
    pub fn event_store(mut self, store: Arc<dyn super::history::EventStore>) -> Self {
        self.event_store = store;
        self
    }

    /// How long a request of a 2025-11-25 session that accepts SSE may run
    /// before its answer becomes a resumable SSE stream (priming event,
    /// `retry`, event ids) rather than one JSON body. Default 50 ms.
    #[must_use]
    pub fn stream_after(mut self, after: Duration) -> Self {
        self.stream_after = after;
        self
    }

    /// The `retry` field of priming events: how long a client waits before
    /// reconnecting a broken stream. Default 1 s.
    #[must_use]
    pub fn sse_retry(mut self, retry: Duration) -> Self {
        self.sse_retry = retry;
        self
    }
}

/// The default of [`HttpConfig::max_body_bytes_in_flight`].
const DEFAULT_BODY_BYTES_IN_FLIGHT: usize = 256 * 1024 * 1024;

/// Connections allowed where the process has no open-file limit.
const UNLIMITED_FILES_CONNECTIONS: usize = 10_000;

/// The default connection limit for an open-file limit of `files`: a
/// quarter of the descriptors stay for everything else the process opens.
fn connections_for(files: Option<u64>) -> usize {
    files.map_or(UNLIMITED_FILES_CONNECTIONS, |files| {
        usize::try_from(files - files / 4)
            .unwrap_or(usize::MAX)
            .max(1)
    })
}

/// The process's soft limit on open files; `None` when unlimited.
#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

fn body_budget(bytes: usize) -> std::sync::Arc<tokio::sync::Semaphore> {
    std::sync::Arc::new(tokio::sync::Semaphore::new(
        bytes.min(tokio::sync::Semaphore::MAX_PERMITS),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_connection_limit_leaves_a_quarter_of_the_files() {
        assert_eq!(connections_for(Some(1024)), 768);
        assert_eq!(connections_for(Some(20_000)), 15_000);
        assert_eq!(connections_for(Some(1)), 1);
        assert_eq!(connections_for(Some(0)), 1);
        assert_eq!(connections_for(None), UNLIMITED_FILES_CONNECTIONS);
        assert_eq!(
            HttpConfig::default().max_connections(0).connection_limit(),
            1
        );
        assert_eq!(
            HttpConfig::default().max_connections(7).connection_limit(),
            7
        );
    }
}
