//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout.
//!
//! stdout carries only MCP messages; logs go to stderr.

use tokio_util::sync::CancellationToken;

use super::Transport;
use crate::server::{Server, ServerError};

/// Newline-delimited JSON-RPC on stdin and stdout, until stdin closes.
///
/// Requests run concurrently; a protocol error is answered and never ends
/// the session. If no `tracing` subscriber is installed, one that writes
/// to stderr (filtered by `RUST_LOG`, default `info`) is installed, so
/// nothing but MCP messages ever reaches stdout.
///
/// ```no_run
/// use mcp_server::prelude::*;
/// use mcp_server::transport::Stdio;
///
/// # async fn run(server: Server) -> Result<(), mcp_server::ServerError> {
/// server.serve(Stdio).await
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdio;

impl Transport for Stdio {
    async fn serve(self, server: Server) -> Result<(), ServerError> {
        init_stderr_logging();
        server.check_ready()?;
        tracing::info!(
            name = %server.info().implementation.name,
            version = %server.info().implementation.version,
            "serving MCP on stdio"
        );
        let result = super::lines::serve(
            server,
            super::stdio_pipes::stdin(),
            super::stdio_pipes::stdout(),
            CancellationToken::new(),
        )
        .await;
        tracing::info!("stdin closed; stopped serving");
        result
    }
}

/// Installs a stderr `tracing` subscriber unless one is already set.
///
/// The filter comes from `RUST_LOG`, else `LOG_LEVEL`, else `info`; the
/// format from `LOG_FORMAT`: `json` (one JSON object per line, for log
/// pipelines), `compact`, or the default human-readable `pretty`. Logs go
/// to stderr because on stdio, stdout carries only MCP messages. The text
/// is coloured only when stderr is a terminal and `NO_COLOR` is unset or
/// empty, so log files and pipes stay plain text.
///
/// With the feature `otel` and `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, spans are also exported over
/// OTLP; call it from within the tokio runtime, and
/// [`telemetry::shutdown`](crate::telemetry::shutdown) before exiting.
pub fn init_stderr_logging() {
    init_stderr_logging_with_default("info");
}

/// [`init_stderr_logging`] with `default_filter` (such as `debug`, or
/// `info,my_crate=debug`) in place of `info` when neither `RUST_LOG` nor
/// `LOG_LEVEL` gives a usable filter: for a binary's own switch (a `DEBUG`
/// variable, a `--verbose` flag) that must not override an operator's
/// explicit filter. An unusable `default_filter` means `info`.
pub fn init_stderr_logging_with_default(default_filter: &str) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .ok()
        .or_else(|| {
            std::env::var("LOG_LEVEL")
                .ok()
                .and_then(|level| tracing_subscriber::EnvFilter::try_new(level).ok())
        })
        .or_else(|| tracing_subscriber::EnvFilter::try_new(default_filter).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    // An exporter is set up only when the subscriber can still be installed.
    #[cfg(feature = "otel")]
    let (otel, provider, otel_error) = if tracing::dispatcher::has_been_set() {
        (None, None, None)
    } else {
        match crate::telemetry::layer_from_env() {
            Ok(Some((layer, provider))) => (Some(layer), Some(provider), None),
            Ok(None) => (None, None, None),
            Err(error) => (None, None, Some(error)),
        }
    };
    #[cfg(not(feature = "otel"))]
    let otel: Option<tracing_subscriber::layer::Identity> = None;
    let registry = tracing_subscriber::registry().with(otel).with(filter);
    let colour = colour_stderr();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_timer(super::log_time::Rfc3339)
        .with_ansi(colour);
    // Each init fails only when a subscriber exists, which is what we keep.
    let installed = match (std::env::var("LOG_FORMAT").as_deref(), colour) {
        (Ok("json"), _) => registry.with(fmt.json()).try_init(),
        (Ok("compact"), true) => registry.with(fmt.compact()).try_init(),
        (Ok("compact"), false) => registry
            .with(fmt.compact().fmt_fields(super::plain_fields::PlainFields))
            .try_init(),
        (_, true) => registry.with(fmt).try_init(),
        (_, false) => registry
            .with(
                fmt.fmt_fields(super::plain_fields::PlainFields)
                    .event_format(super::plain_format::PlainFormat {
                        timer: super::log_time::Rfc3339,
                    }),
            )
            .try_init(),
    };
    #[cfg(feature = "otel")]
    match (installed, provider) {
        (Ok(()), Some(provider)) => {
            crate::telemetry::keep(provider);
            tracing::info!("exporting spans over OTLP");
        }
        (Ok(()), None) => {
            if let Some(error) = otel_error {
                tracing::warn!(%error, "spans are not exported");
            }
        }
        // Another subscriber won the race: this exporter is not used.
        (Err(_), Some(provider)) => crate::telemetry::discard(provider),
        (Err(_), None) => {}
    }
    #[cfg(not(feature = "otel"))]
    let _ = installed;
}

/// Colour is for a person at a terminal: escape codes would litter a log
/// file (Claude Desktop's `mcp-server-*.log`, container logs) or a pipe.
fn colour_stderr() -> bool {
    use std::io::IsTerminal as _;
    wants_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// <https://no-color.org>: any non-empty `NO_COLOR` turns colour off.
fn wants_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::wants_colour;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some(OsStr::new(""))));
        assert!(!wants_colour(true, Some(OsStr::new("1"))));
        assert!(!wants_colour(true, Some(OsStr::new("false"))));
        assert!(!wants_colour(false, None));
        assert!(!wants_colour(false, Some(OsStr::new(""))));
    }
}
