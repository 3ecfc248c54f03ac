//! What a request costs: the caller's rate limit, and the tool name its
//! metrics and limits are counted under.

use mcp_core::ProtocolError;
use mcp_core::jsonrpc::Request;
use mcp_core::method;
use serde_json::value::RawValue;

use crate::context::Envelope;
use crate::server::Server;

/// The name a `tools/call` asks for.
pub(super) fn tool_name(request: &Request) -> String {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(default)]
        name: String,
    }
    let raw = request.params.as_deref().map_or("{}", RawValue::get);
    serde_json::from_str::<Named>(raw)
        .map(|n| n.name)
        .unwrap_or_default()
}

/// Whether a method costs enough work to take from the caller's rate limit
/// here. Tool calls and completions take it themselves (a tool call also
/// from its tool's quota); `ping` and notifications are free.
pub(super) fn is_metered(method: &str) -> bool {
    matches!(
        method,
        method::TOOLS_LIST
            | method::PROMPTS_LIST
            | method::PROMPTS_GET
            | method::RESOURCES_LIST
            | method::RESOURCES_TEMPLATES_LIST
            | method::RESOURCES_READ
    )
}

/// Takes one request from the caller's rate limit: the principal, else the
/// client's address, else the one local caller.
pub(super) async fn check_rate(
    server: &Server,
    envelope: &Envelope,
    tool: Option<&str>,
) -> Result<(), ProtocolError> {
    check_caller_rate(server, envelope.principal.as_deref(), envelope.peer, tool).await
}

/// Who a rate limit counts a request against: the principal, else the
/// client's network, else the one local caller.
pub(crate) fn caller_key(
    principal: Option<&crate::auth::Principal>,
    peer: Option<std::net::IpAddr>,
) -> String {
    match (principal, peer) {
        // The whole identity: `ops` of two tenants are two callers.
        (Some(principal), _) => format!(
            "principal:{}\u{0}{}\u{0}{}",
            principal.issuer.as_deref().unwrap_or(""),
            principal.tenant.as_deref().unwrap_or(""),
            principal.id
        ),
        // One caller per client network, as for session caps.
        (None, Some(peer)) => format!("ip:{}", crate::auth::client_network(peer)),
        (None, None) => "local".to_owned(),
    }
}

/// [`check_rate`] for a caller known by its principal or address.
pub(crate) async fn check_caller_rate(
    server: &Server,
    principal: Option<&crate::auth::Principal>,
    peer: Option<std::net::IpAddr>,
    tool: Option<&str>,
) -> Result<(), ProtocolError> {
    let Some(limit) = &server.options().rate_limit else {
        return Ok(());
    };
    let caller = caller_key(principal, peer);
    limit.check(&caller, tool).await.map_err(|wait| {
        tracing::info!(%caller, tool, ?wait, "rate limited");
        server.metrics().rate_limited.inc();
        ProtocolError::RateLimited {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::request;
    use super::*;

    #[test]
    fn the_tool_name_is_read_from_the_params() {
        let call = request("tools/call", json!({"name": "add", "arguments": {"a": 1}}));
        assert_eq!(tool_name(&call), "add");
        // Missing or malformed params name no tool rather than failing.
        assert_eq!(
            tool_name(&request("tools/call", serde_json::Value::Null)),
            ""
        );
        assert_eq!(tool_name(&request("tools/call", json!({"name": 7}))), "");
        assert_eq!(tool_name(&request("tools/call", json!([1, 2]))), "");
    }

    #[test]
    fn only_list_and_read_methods_are_metered_here() {
        for metered in ["tools/list", "prompts/get", "resources/read"] {
            assert!(is_metered(metered), "{metered}");
        }
        // Calls and completions take from the limit themselves.
        for free in ["tools/call", "completion/complete", "ping", "initialize"] {
            assert!(!is_metered(free), "{free}");
        }
    }

    #[tokio::test]
    async fn the_rate_limit_counts_each_caller_apart() {
        let quota: crate::limit::Quota = "1/min".parse().unwrap();
        let server = Server::builder()
            .rate_limit(crate::limit::RateLimit::per_caller(quota))
            .no_audit()
            .build();
        let first: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let second: std::net::IpAddr = "198.51.100.1".parse().unwrap();
        check_caller_rate(&server, None, Some(first), None)
            .await
            .unwrap();
        let refused = check_caller_rate(&server, None, Some(first), None).await;
        assert!(
            matches!(refused, Err(ProtocolError::RateLimited { retry_after_secs }) if retry_after_secs > 0),
            "{refused:?}"
        );
        check_caller_rate(&server, None, Some(second), None)
            .await
            .unwrap();
        // Without a limit every request passes.
        let open = Server::builder().no_audit().build();
        for _ in 0..3 {
            check_caller_rate(&open, None, Some(first), None)
                .await
                .unwrap();
        }
    }
}
