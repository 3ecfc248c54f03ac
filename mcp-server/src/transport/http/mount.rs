//! Serving under a prefix: when an application's router strips the prefix
//! it mounted the service at (axum's `nest_service`), paths are relative
//! to it.
//!
//! The layout under a prefix `P`: Streamable HTTP at `P` (and `P/`), the
//! legacy transport at `P/sse` and `P/messages`, the protected resource
//! metadata at `P/.well-known/oauth-protected-resource`, and the probes,
//! metrics and diagnostics at `P/health`, `P/ready` and their configured
//! paths under `P`.

use std::sync::Arc;

use http::{Method, Request};

use super::HttpConfig;
use super::index::is_index;

/// The prefix the service is mounted at, without a trailing slash, on a
/// request the router stripped it from.
#[derive(Debug, Clone)]
pub(crate) struct MountedAt(Arc<str>);

impl MountedAt {
    /// Where `request` was routed from, when a router nested the service.
    #[cfg(feature = "axum")]
    pub(crate) fn of<B>(request: &Request<B>) -> Option<Self> {
        let extensions = request.extensions();
        let nested = extensions.get::<axum::extract::NestedPath>()?;
        let rest = request.uri().path();
        // The prefix as the client sent it: the pattern may hold captures.
        let prefix = extensions
            .get::<axum::extract::OriginalUri>()
            .and_then(|original| {
                let original = original.path();
                if rest == "/" {
                    Some(original)
                } else {
                    original.strip_suffix(rest)
                }
            })
            .unwrap_or(nested.as_str());
        Some(Self(prefix.trim_end_matches('/').into()))
    }

    /// Without axum, nothing strips prefixes.
    #[cfg(not(feature = "axum"))]
    pub(crate) fn of<B>(_request: &Request<B>) -> Option<Self> {
        None
    }

    /// A request under the configured [`base_path`](HttpConfig::base_path),
    /// with the path under it.
    pub(crate) fn base<'a>(base: &Arc<str>, path: &'a str) -> Option<(Self, &'a str)> {
        let rest = path.strip_prefix(&**base)?;
        (rest.is_empty() || rest.starts_with('/')).then(|| (Self(Arc::clone(base)), rest))
    }

    /// The client-facing path of `relative`, a path under the prefix.
    pub(crate) fn path(&self, relative: &str) -> String {
        format!("{}{relative}", self.0)
    }
}

/// The relative path of the legacy transport's POST endpoint.
pub(crate) const MESSAGES: &str = "/messages";

/// The path as the configuration names it: under a prefix, `/` is the MCP
/// endpoint and `/sse` and `/messages` the legacy ones.
pub(crate) fn logical_path<'a>(config: &'a HttpConfig, mounted: bool, path: &'a str) -> &'a str {
    if !mounted {
        return path;
    }
    match path {
        "" | "/" => &config.path,
        "/sse" if config.legacy_sse => &config.sse_path,
        MESSAGES if config.legacy_sse => &config.messages_path,
        _ => path,
    }
}

/// Where a request lands in the service: the prefix it is mounted at (a
/// router's, or the configured base path) and how many bytes of the path
/// that prefix took. `None` for a path outside the base path (a 404).
pub(crate) fn locate<B>(
    config: &HttpConfig,
    request: &Request<B>,
) -> Option<(Option<MountedAt>, usize)> {
    let mounted = MountedAt::of(request);
    if mounted.is_some() {
        return Some((mounted, 0));
    }
    // Without a router that strips it, the configured prefix is ours to
    // strip.
    let Some(base) = &config.base_path else {
        return Some((None, 0));
    };
    let full = request.uri().path();
    let (at, rest) = MountedAt::base(base, full)?;
    Some((Some(at), full.len() - rest.len()))
}

/// Which MCP endpoint a request is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint {
    Streamable,
    Sse,
    Messages,
}

impl Endpoint {
    pub(crate) fn of(config: &HttpConfig, path: &str) -> Option<Self> {
        if path == config.path {
            Some(Self::Streamable)
        } else if config.legacy_sse && path == config.sse_path {
            Some(Self::Sse)
        } else if config.legacy_sse && path == config.messages_path {
            Some(Self::Messages)
        } else {
            None
        }
    }
}

/// Whether the service answers `path` before checking `Host` and
/// `Origin`: the probes (load balancers send any `Host`), the metrics and
/// the index, which reveal nothing.
pub(crate) fn before_host_check(
    config: &HttpConfig,
    nested: bool,
    path: &str,
    method: &Method,
) -> bool {
    path == "/health"
        || path == "/ready"
        || config.metrics_path.as_deref() == Some(path)
        || (!nested && is_index(config, path) && (method == Method::GET || method == Method::HEAD))
}

/// What of a request the service checks itself, for the layers that stand
/// in for those checks in front of [`McpService::core`](super::McpService::core).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    /// `Host` and `Origin`: every path but the probes, metrics and index.
    HostOrigin,
    /// Credentials and the tenant header: the MCP endpoints.
    Endpoint,
}

/// Whether the service applies `check` to `request`.
pub(crate) fn checks<B>(config: &HttpConfig, request: &Request<B>, check: Checked) -> bool {
    let Some((mounted, stripped)) = locate(config, request) else {
        return false; // a 404 before any check
    };
    let nested = mounted.is_some();
    let path = logical_path(config, nested, &request.uri().path()[stripped..]);
    match check {
        Checked::HostOrigin => !before_host_check(config, nested, path, request.method()),
        Checked::Endpoint => Endpoint::of(config, path).is_some(),
    }
}
