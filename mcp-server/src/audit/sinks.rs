//! The sinks the crate ships: `tracing` events and a JSON-lines file.

use std::fmt;
use std::path::Path;

use mcp_core::jsonrpc::RequestId;
use tokio::io::AsyncWriteExt as _;

use super::{AuditRecord, AuditSink, WriteFuture};

/// Audit records as `tracing` events (target `mcp::audit`, level INFO),
/// with typed fields, which a JSON formatter writes as JSON values. The
/// default.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingAudit;

/// One event; `$id` is the request id as a number or a string, so a JSON
/// formatter writes it as it was sent.
macro_rules! audit_event {
    ($record:expr, $id:expr) => {
        tracing::info!(
            target: "mcp::audit",
            time = $record.time,
            principal = $record.principal.as_deref(),
            tenant = $record.tenant.as_deref(),
            issuer = $record.issuer.as_deref(),
            client_address = $record.client_address.map(tracing::field::display),
            trace_id = $record.trace_id.as_deref(),
            request_id = $id,
            protocol_version = $record.protocol_version.map(|v| v.as_str()),
            method = $record.method.as_deref(),
            target_name = $record.target.as_deref(),
            read_only = $record.read_only,
            destructive = $record.destructive,
            arguments_sha256 = $record.arguments_sha256.as_deref(),
            arguments = $record.arguments.as_ref().map(tracing::field::display),
            outcome = $record.outcome.as_str(),
            error = $record.error.as_deref(),
            http_status = $record.http_status,
            duration_ms = $record.duration_ms,
            "audit"
        )
    };
}

impl TracingAudit {
    fn event(record: &AuditRecord) {
        match &record.request_id {
            Some(RequestId::Number(id)) => audit_event!(record, *id),
            Some(RequestId::String(id)) => audit_event!(record, id.as_str()),
            None => audit_event!(record, None::<i64>),
        }
    }
}

impl AuditSink for TracingAudit {
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
        for record in records {
            Self::event(record);
        }
        Box::pin(Written)
    }
}

/// A write that is done: a future of no size, so boxing it allocates
/// nothing.
struct Written;

impl std::future::Future for Written {
    type Output = Result<(), super::AuditError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Audit records appended to a file, one JSON object per line.
///
/// Each batch is one write to a file opened for appending, so lines stay
/// whole even when several processes share the file.
pub struct FileAudit {
    file: tokio::sync::Mutex<tokio::fs::File>,
}

impl fmt::Debug for FileAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileAudit")
    }
}

impl FileAudit {
    /// Appends to `path`, creating it.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: tokio::sync::Mutex::new(tokio::fs::File::from_std(file)),
        })
    }
}

impl AuditSink for FileAudit {
    fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
        Box::pin(async move {
            let mut lines = Vec::with_capacity(records.len() * 384);
            for record in records {
                serde_json::to_writer(&mut lines, record)?;
                lines.push(b'\n');
            }
            let mut file = self.file.lock().await;
            file.write_all(&lines).await?;
            file.flush().await?;
            Ok(())
        })
    }
}
