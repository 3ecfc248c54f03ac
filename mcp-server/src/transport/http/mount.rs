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

use http::Request;

use super::HttpConfig;

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
