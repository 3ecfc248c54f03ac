//! Fuzz targets for the server's input paths, run by `cargo fuzz` (see
//! `scripts/fuzz.sh`):
//!
//! - [`jsonrpc`]: lines of JSON-RPC through `Incoming::parse` and through a
//!   whole server (the `everything` example), which must answer every
//!   request exactly once;
//! - [`uri_template`]: the server's URI template matcher against expansions
//!   of generated templates, and the macro's template check against the
//!   server's;
//! - [`framing`]: arbitrary bytes, split at arbitrary offsets, over the
//!   newline-delimited connection ([`Stream`]);
//! - [`http`]: arbitrary requests through `McpService::handle`.
//!
//! Each target reads its input as text where it can (JSON lines, a request
//! script), so the seed corpora in `fuzz/corpus/<target>/` are real
//! messages that a person can read and edit.
//!
//! Every target runs on a paused, single-threaded tokio runtime: timers fire
//! as soon as nothing else can run, so a tool that sleeps five minutes
//! costs nothing and a run is deterministic.
//!
//! [`Stream`]: mcp_server::transport::Stream

#[path = "../../examples/everything/src/lib.rs"]
#[allow(missing_docs, unreachable_pub, dead_code)]
pub mod everything;

pub mod conversation;
pub mod framing;
pub mod http;
pub mod jsonrpc;
pub mod uri_template;

/// A fresh runtime per input, so nothing one input leaves running reaches
/// the next.
pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("no tokio runtime: {e}"),
    }
}

/// The server every target talks to: the conformance fixture, with every
/// kind of tool, prompt, resource and template.
pub fn server() -> mcp_server::Server {
    everything::builder().build()
}
