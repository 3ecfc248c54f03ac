//! Audit records of MCP requests the transport refused itself.

use http::{Response, StatusCode};

use super::{McpBody, Shared};
use crate::audit::AuditOutcome;

/// The principal the authenticator attached to a request, if any.
/// Marks a response that answers a request the router handled, whose
/// audit record is written already.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Audited;

/// Writes the audit record of an MCP request the transport refused before
/// the router saw it: a refusal not marked [`Audited`], which it marks.
pub(super) fn audit_refusal(
    shared: &Shared,
    response: &mut Response<McpBody>,
    principal: Option<&crate::auth::Principal>,
    client_address: Option<std::net::IpAddr>,
) {
    audit_refused(
        &shared.server,
        shared.drain.is_draining(),
        response,
        Refused {
            principal,
            client_address,
            request: None,
        },
    );
}

/// Who and what a refused request was.
pub(crate) struct Refused<'a> {
    pub(crate) principal: Option<&'a crate::auth::Principal>,
    pub(crate) client_address: Option<std::net::IpAddr>,
    pub(crate) request: Option<&'a super::McpRequest>,
}

/// Writes the audit record of a refusal not marked [`Audited`], and marks
/// it, so a layer around the service does not write it again.
pub(crate) fn audit_refused<B>(
    server: &crate::Server,
    draining: bool,
    response: &mut Response<B>,
    refused: Refused<'_>,
) {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Audited>().is_some()
    {
        return;
    }
    response.extensions_mut().insert(Audited);
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
        StatusCode::SERVICE_UNAVAILABLE if draining => (
            AuditOutcome::Shutdown,
            "refused: the server is shutting down",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            AuditOutcome::RateLimited,
            "refused: too many requests in progress",
        ),
        StatusCode::GATEWAY_TIMEOUT => (AuditOutcome::Timeout, "refused: the request timed out"),
        StatusCode::NOT_FOUND => (AuditOutcome::Error, "refused: unknown or expired session"),
        StatusCode::PAYLOAD_TOO_LARGE => (AuditOutcome::Error, "refused: the body is too large"),
        _ => (
            AuditOutcome::Error,
            status.canonical_reason().unwrap_or("refused"),
        ),
    };
    crate::audit::refused(
        server,
        &crate::audit::Refusal {
            outcome,
            http_status: status.as_u16(),
            reason,
            principal: refused.principal,
            client_address: refused.client_address,
            method: refused.request.and_then(|r| r.method()),
            target: refused.request.and_then(|r| r.target()),
            request_id: refused.request.and_then(|r| r.id()),
        },
    );
}
