//! What a handler knows about the request it serves, and how it talks back.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mcp_core::ProtocolVersion;
use mcp_core::codec;
use mcp_core::jsonrpc::RequestId;
use mcp_core::lifecycle::{ClientCapabilities, Implementation};
use mcp_core::logging::{LoggingLevel, LoggingMessageParams};
use mcp_core::meta::RequestMeta;
use mcp_core::notification::{self, ProgressParams};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::session::Session;
use crate::transport::Outbound;

/// The request a handler is serving: its revision, the client, progress,
/// logging and cancellation.
///
/// Handlers never branch on the wire revision to talk back: `progress` and
/// `log` are shaped for the revision the request came in on, and are no-ops
/// when the client did not ask for them.
///
/// Cheap to clone.
#[derive(Clone)]
pub struct RequestContext {
    inner: Arc<Inner>,
}

/// What the router settled about a request before dispatch: from `_meta` on
/// 2026-07-28, from the session on older revisions.
pub(crate) struct Envelope {
    pub(crate) version: ProtocolVersion,
    pub(crate) client_info: Option<Implementation>,
    pub(crate) capabilities: ClientCapabilities,
    pub(crate) meta: RequestMeta,
    pub(crate) log: LogPolicy,
}

struct Inner {
    id: RequestId,
    envelope: Envelope,
    outbound: Outbound,
    cancellation: CancellationToken,
    /// Last progress value sent, as f64 bits; progress must increase.
    last_progress: AtomicU64,
}

/// Which log notifications a request may receive.
#[derive(Clone)]
pub(crate) enum LogPolicy {
    /// 2026-07-28: the level in the request's `_meta`; none means no logs.
    Request(Option<LoggingLevel>),
    /// Stateful revisions: the level the session set with `logging/setLevel`.
    Session(Arc<Session>),
}

impl RequestContext {
    pub(crate) fn new(
        id: RequestId,
        envelope: Envelope,
        outbound: Outbound,
        cancellation: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                id,
                envelope,
                outbound,
                cancellation,
                last_progress: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
            }),
        }
    }

    /// The id of the request being served.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.id
    }

    /// The protocol revision the request speaks.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.envelope.version
    }

    /// Who the client says it is, if it said.
    pub fn client_info(&self) -> Option<&Implementation> {
        self.inner.envelope.client_info.as_ref()
    }

    /// What the client declared it can do.
    pub fn client_capabilities(&self) -> &ClientCapabilities {
        &self.inner.envelope.capabilities
    }

    /// The request's `_meta`.
    pub fn meta(&self) -> &RequestMeta {
        &self.inner.envelope.meta
    }

    /// Whether the client cancelled the request. A cancelled handler is
    /// dropped at its next `.await`, so checking is only needed in long
    /// stretches of synchronous work.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancellation.is_cancelled()
    }

    /// Completes when the request is cancelled.
    pub async fn cancelled(&self) {
        self.inner.cancellation.cancelled().await;
    }

    /// Reports progress to the client.
    ///
    /// A no-op when the request carries no progress token. Values that do not
    /// increase are dropped, as the spec requires progress to grow; `message`
    /// is dropped on 2024-11-05, which has no such field.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = self.inner.envelope.meta.progress_token.clone() else {
            return;
        };
        let last = f64::from_bits(self.inner.last_progress.load(Ordering::Acquire));
        // NaN compares false, so it is dropped too.
        if progress.partial_cmp(&last) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        self.inner
            .last_progress
            .store(progress.to_bits(), Ordering::Release);
        let mut params = ProgressParams {
            progress_token: token,
            progress,
            total,
            message: message.map(str::to_owned),
        };
        self.notify(notification::PROGRESS, &mut params).await;
    }

    /// Sends a log message to the client, if the level in force lets it
    /// through: the session's `logging/setLevel` on stateful revisions, the
    /// request's `_meta` log level on 2026-07-28 (where a request that did not
    /// ask gets no log messages).
    pub async fn log(&self, level: LoggingLevel, logger: Option<&str>, data: impl Serialize) {
        if !self.log_enabled(level) {
            return;
        }
        let data = match serde_json::to_value(data) {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!(error = %e, "log data could not be serialized");
                return;
            }
        };
        let mut params = LoggingMessageParams {
            level,
            logger: logger.map(str::to_owned),
            data,
        };
        self.notify(notification::MESSAGE, &mut params).await;
    }

    /// Whether a log message at `level` would reach the client.
    pub fn log_enabled(&self, level: LoggingLevel) -> bool {
        match &self.inner.envelope.log {
            LogPolicy::Request(min) => min.is_some_and(|min| level >= min),
            LogPolicy::Session(session) => session.log_level().is_none_or(|min| level >= min),
        }
    }

    async fn notify<T: Serialize + codec::Shape>(&self, method: &str, params: &mut T) {
        if self.is_cancelled() {
            return;
        }
        match codec::notification(method, params, self.inner.envelope.version) {
            Ok(message) => self.inner.outbound.send(message).await,
            Err(e) => tracing::warn!(error = %e, method, "notification could not be encoded"),
        }
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("id", &self.inner.id)
            .field("version", &self.inner.envelope.version)
            .field("client_info", &self.inner.envelope.client_info)
            .finish_non_exhaustive()
    }
}
