//! The requests sent to both services, in order.

use serde_json::json;

use super::{APP, KEY};

/// One request of the corpus. `{session}` in a header value or the path
/// stands for the session the target gave.
pub(crate) struct Probe {
    pub(crate) name: &'static str,
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) headers: Vec<(&'static str, &'static str)>,
    pub(crate) body: String,
}

pub(crate) fn probe(name: &'static str, method: &'static str, path: &'static str) -> Probe {
    Probe {
        name,
        method,
        path,
        headers: vec![("host", "localhost")],
        body: String::new(),
    }
}

impl Probe {
    pub(crate) fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value));
        self
    }

    pub(crate) fn key(self) -> Self {
        self.header("x-api-key", KEY)
    }

    pub(crate) fn json(self, body: impl Into<String>) -> Self {
        let mut probe = self
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        probe.body = body.into();
        probe
    }
}

pub(crate) fn initialize(version: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    .to_string()
}

pub(crate) fn echo(id: u64, text: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": text}}})
    .to_string()
}

/// A self-describing 2026-07-28 call, as its headers must describe it.
pub(crate) fn stateless_echo(text: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "echo",
        "arguments": {"text": text},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }})
    .to_string()
}

pub(crate) fn stateless(
    name: &'static str,
    method: &'static str,
    tool: &'static str,
    body: String,
) -> Probe {
    probe(name, "POST", "/mcp")
        .key()
        .json(body)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .header("mcp-name", tool)
}

/// The corpus, in order: later requests use the session an earlier one
/// opened (the `initialize` marked `opens`).
pub(crate) fn corpus() -> Vec<(Probe, Opens)> {
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(4096)
    );
    let session = |p: Probe| p.header("mcp-session-id", "{session}");
    let legacy = |p: Probe| p.header("mcp-protocol-version", "2024-11-05");
    vec![
        // Probes and the index answer any Host, without credentials.
        (probe("health", "GET", "/health"), Opens::No),
        (
            probe("health, foreign host", "GET", "/health").header("host", "evil.example.com"),
            Opens::No,
        ),
        (probe("ready", "GET", "/ready"), Opens::No),
        (probe("ready, wrong method", "POST", "/ready"), Opens::No),
        (probe("index", "GET", "/"), Opens::No),
        (
            probe("index, foreign host", "GET", "/").header("host", "evil.example.com"),
            Opens::No,
        ),
        (probe("index, POST", "POST", "/"), Opens::No),
        (probe("unknown path", "GET", "/nope"), Opens::No),
        (
            probe("unknown path, foreign host", "GET", "/nope").header("host", "evil.example.com"),
            Opens::No,
        ),
        (
            probe(
                "resource metadata (none with API keys)",
                "GET",
                "/.well-known/oauth-protected-resource",
            ),
            Opens::No,
        ),
        (
            probe("diagnostics, no key", "GET", "/diagnostics"),
            Opens::No,
        ),
        // DNS rebinding.
        (
            probe("foreign host", "POST", "/mcp")
                .key()
                .json(initialize("2025-11-25"))
                .header("host", "evil.example.com"),
            Opens::No,
        ),
        (
            probe("foreign origin", "POST", "/mcp")
                .key()
                .json(initialize("2025-11-25"))
                .header("origin", "https://evil.example.com"),
            Opens::No,
        ),
        (
            probe("null origin", "POST", "/mcp")
                .key()
                .json(initialize("2025-11-25"))
                .header("origin", "null"),
            Opens::No,
        ),
        // Credentials.
        (
            probe("no key", "POST", "/mcp").json(initialize("2025-11-25")),
            Opens::No,
        ),
        (
            probe("invalid key", "POST", "/mcp")
                .json(initialize("2025-11-25"))
                .header("x-api-key", "wrong"),
            Opens::No,
        ),
        (
            probe("invalid bearer", "GET", "/mcp").header("authorization", "Bearer wrong"),
            Opens::No,
        ),
        (probe("no key, legacy stream", "GET", "/sse"), Opens::No),
        // The tenant header from a peer that is no trusted proxy.
        (
            probe("forged tenant", "POST", "/mcp")
                .key()
                .json(initialize("2025-11-25"))
                .header("x-tenant", "acme"),
            Opens::No,
        ),
        (
            probe("forged tenant, no key", "POST", "/mcp")
                .json(initialize("2025-11-25"))
                .header("x-tenant", "acme"),
            Opens::No,
        ),
        // CORS.
        (
            probe("preflight", "OPTIONS", "/mcp")
                .header("origin", APP)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type, mcp-session-id",
                ),
            Opens::No,
        ),
        (
            probe("preflight, foreign origin", "OPTIONS", "/mcp")
                .header("origin", "https://evil.example.com")
                .header("access-control-request-method", "POST"),
            Opens::No,
        ),
        (
            probe("options, no origin", "OPTIONS", "/mcp").key(),
            Opens::No,
        ),
        (
            probe("cors, no key", "POST", "/mcp")
                .json(initialize("2025-11-25"))
                .header("origin", APP),
            Opens::No,
        ),
        // Bodies.
        (
            probe("oversized body", "POST", "/mcp").key().json(big),
            Opens::No,
        ),
        (
            probe("bad JSON", "POST", "/mcp").key().json("{not json"),
            Opens::No,
        ),
        (
            probe("wrong content type", "POST", "/mcp")
                .key()
                .json(initialize("2025-11-25"))
                .header("content-type", "text/plain"),
            Opens::No,
        ),
        (
            probe("wrong accept", "POST", "/mcp")
                .key()
                .json(initialize("2025-11-25"))
                .header("accept", "text/html"),
            Opens::No,
        ),
        (probe("wrong method", "PUT", "/mcp").key(), Opens::No),
        // Sessions.
        (
            probe("unknown session", "POST", "/mcp")
                .key()
                .json(echo(1, "hi"))
                .header("mcp-session-id", "nope"),
            Opens::No,
        ),
        (
            probe("delete unknown session", "DELETE", "/mcp")
                .key()
                .header("mcp-session-id", "nope"),
            Opens::No,
        ),
        (
            probe("call without a session", "POST", "/mcp")
                .key()
                .json(echo(1, "hi")),
            Opens::No,
        ),
        (
            probe("initialize, allowed origin", "POST", "/mcp")
                .key()
                .json(initialize("2025-11-25"))
                .header("origin", APP),
            Opens::Session,
        ),
        (
            session(
                probe("initialized", "POST", "/mcp")
                    .key()
                    .json(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            )
            .header("mcp-protocol-version", "2025-11-25"),
            Opens::No,
        ),
        (
            session(
                probe("tools/list in the session", "POST", "/mcp")
                    .key()
                    .json(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#),
            )
            .header("mcp-protocol-version", "2025-11-25"),
            Opens::No,
        ),
        (
            session(
                probe("session without key", "POST", "/mcp")
                    .json(r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#),
            )
            .header("mcp-protocol-version", "2025-11-25"),
            Opens::No,
        ),
        (
            session(
                probe("session, wrong protocol version", "POST", "/mcp")
                    .key()
                    .json(r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#),
            )
            .header("mcp-protocol-version", "1999-01-01"),
            Opens::No,
        ),
        (
            session(
                probe("session, forged tenant", "POST", "/mcp")
                    .key()
                    .json(r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#),
            )
            .header("x-tenant", "acme"),
            Opens::No,
        ),
        // 2026-07-28: the headers must describe the body.
        (
            stateless(
                "stateless call",
                "tools/call",
                "echo",
                stateless_echo("first"),
            ),
            Opens::No,
        ),
        (
            stateless(
                "rate limit exceeded",
                "tools/call",
                "echo",
                stateless_echo("second"),
            ),
            Opens::No,
        ),
        (
            stateless(
                "Mcp-Method mismatch",
                "tools/list",
                "echo",
                stateless_echo("third"),
            ),
            Opens::No,
        ),
        (
            stateless(
                "Mcp-Name mismatch",
                "tools/call",
                "other",
                stateless_echo("fourth"),
            ),
            Opens::No,
        ),
        (
            stateless(
                "version header mismatch",
                "tools/call",
                "echo",
                stateless_echo("fifth"),
            )
            .header("mcp-protocol-version", "2025-11-25"),
            Opens::No,
        ),
        (
            stateless(
                "stateless, foreign host",
                "tools/call",
                "echo",
                stateless_echo("sixth"),
            )
            .header("host", "evil.example.com"),
            Opens::No,
        ),
        // The legacy HTTP+SSE pair.
        (
            legacy(
                probe("legacy stream", "GET", "/sse")
                    .key()
                    .header("accept", "text/event-stream"),
            ),
            Opens::Endpoint,
        ),
        (
            probe(
                "legacy initialize",
                "POST",
                "/messages?session_id={session}",
            )
            .key()
            .json(initialize("2024-11-05")),
            Opens::No,
        ),
        (
            probe("legacy, no key", "POST", "/messages?session_id={session}").json(echo(2, "hi")),
            Opens::No,
        ),
        (
            probe(
                "legacy, unknown session",
                "POST",
                "/messages?session_id=unknown",
            )
            .key()
            .json(echo(2, "hi")),
            Opens::No,
        ),
        (
            probe(
                "legacy, foreign host",
                "POST",
                "/messages?session_id={session}",
            )
            .key()
            .json(echo(2, "hi"))
            .header("host", "evil.example.com"),
            Opens::No,
        ),
        (
            probe("legacy stream, wrong method", "POST", "/sse")
                .key()
                .json(echo(2, "hi")),
            Opens::No,
        ),
    ]
}

/// Whether a probe's answer opens what later probes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opens {
    No,
    /// A Streamable HTTP session (`Mcp-Session-Id`).
    Session,
    /// A legacy stream (its `endpoint` event).
    Endpoint,
}
