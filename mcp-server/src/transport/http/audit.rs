//! Audit records of MCP requests the transport refused itself.

use http::{Response, StatusCode};

use super::{McpBody, Shared};
use crate::audit::AuditOutcome;

/// The principal the authenticator attached to a request, if any.
/// Marks a response that answers a request the router handled, whose
/// audit record is written already.
#[derive(Debug, Clone, Copy)]
pub(super) struct Audited;

/// Writes the audit record of an MCP request the transport refused before
/// the router saw it: a refusal not marked [`Audited`].
pub(super) fn audit_refusal(
    shared: &Shared,
    response: &Response<McpBody>,
    principal: Option<&crate::auth::Principal>,
    client_address: Option<std::net::IpAddr>,
) {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Audited>().is_some()
    {
        return;
    }
    let (outcome, reason) = match status {
        StatusCode::UNAUTHORIZED => (AuditOutcome::Denied, "refused: no valid credential"),
        StatusCode::FORBIDDEN => (
            AuditOutcome::Denied,
            "refused: the Host, Origin or tenant is not allowed",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            AuditOutcome::RateLimited,
            "refused: over a rate, session or concurrency limit",
        ),
        StatusCode::SERVICE_UNAVAILABLE if shared.drain.is_draining() => (
            AuditOutcome::Shutdown,
            "refused: the server is shutting down",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            AuditOutcome::RateLimited,
            "refused: too many requests in progress",
        ),
        StatusCode::NOT_FOUND => (AuditOutcome::Error, "refused: unknown or expired session"),
        StatusCode::PAYLOAD_TOO_LARGE => (AuditOutcome::Error, "refused: the body is too large"),
        _ => (
            AuditOutcome::Error,
            status.canonical_reason().unwrap_or("refused"),
        ),
    };
    crate::audit::refused(
        &shared.server,
        &crate::audit::Refusal {
            outcome,
            http_status: status.as_u16(),
            reason,
            principal,
            client_address,
        },
    );
}
