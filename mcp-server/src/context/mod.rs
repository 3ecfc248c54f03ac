//! What a handler knows about the request it serves, and how it talks back.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mcp_core::codec;
use mcp_core::jsonrpc::RequestId;
use mcp_core::lifecycle::{ClientCapabilities, Implementation};
use mcp_core::logging::{LoggingLevel, LoggingMessageParams};
use mcp_core::meta::RequestMeta;
use mcp_core::notification::{self, ProgressParams};
use mcp_core::{ProtocolError, ProtocolVersion};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::ask::InputRound;
use crate::audit::{AuditLog, AuditRecord};
use crate::auth::Principal;
use crate::metrics::Metrics;
use crate::outbound::Outbound;
use crate::session::Session;
use crate::task::{TASKS_EXTENSION, TaskOwner, TaskSlot, TaskStore};

mod questions;

use crate::capability::{ClientCapability, MissingCapability};

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
    pub(crate) link: ClientLink,
    /// Set when this request may turn into a task.
    pub(crate) task: Option<Arc<TaskSlot>>,
    /// Who sent the request, when the transport authenticates.
    pub(crate) principal: Option<Arc<Principal>>,
    /// The client's address, when the transport knows it.
    pub(crate) peer: Option<std::net::IpAddr>,
    /// The connection or session the request came on ([`Session::serial`]),
    /// which owns the tasks of anonymous callers; none for stateless HTTP.
    pub(crate) connection: Option<u64>,
}

impl Envelope {
    /// Who the tasks this request creates or reads belong to.
    pub(crate) fn task_owner(&self) -> TaskOwner {
        TaskOwner::of(self.principal.as_deref(), self.connection, self.peer)
    }
}

/// How a handler's questions reach the client.
#[derive(Clone)]
pub(crate) enum ClientLink {
    /// Stateful revisions: real requests on the request's stream, answered
    /// through the session.
    Session(Arc<Session>),
    /// 2026-07-28: answers come with the request; questions park it.
    Round(Arc<InputRound>),
    /// Nothing can be asked while serving this method.
    None,
}

/// What a request needs of the server serving it: the task store its
/// handler may go on in, and the audit log and metrics its records go to.
///
/// The server implements it, and a context holds the server only as a
/// `Host`: the context, and the tools, prompts and resources a context is
/// given to, never depend on the server that holds them.
/// [`RequestContext::server`] is defined by the server itself.
pub(crate) trait Host: std::any::Any + Send + Sync {
    /// The server's tasks.
    fn tasks(&self) -> &TaskStore;
    /// The server's audit log, when it keeps one.
    fn audit_log(&self) -> Option<&AuditLog>;
    /// The server's metrics.
    fn metrics(&self) -> &Metrics;
}

/// The request's state; `host` comes last so that any [`Host`] can be
/// held as `dyn Host` in the same allocation.
struct Inner<H: ?Sized = dyn Host> {
    id: RequestId,
    /// A protocol error the handler raised (such as a missing client
    /// capability on 2026-07-28); it replaces the handler's result.
    escalated: Mutex<Option<ProtocolError>>,
    envelope: Envelope,
    outbound: Outbound,
    cancellation: CancellationToken,
    /// Last progress value sent, as f64 bits; progress must increase.
    last_progress: AtomicU64,
    host: H,
}

/// Whether `capabilities` declare the tasks extension.
pub(crate) fn tasks_declared(capabilities: &ClientCapabilities) -> bool {
    capabilities
        .extensions
        .as_ref()
        .is_some_and(|e| e.contains_key(TASKS_EXTENSION))
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
        host: impl Host,
        envelope: Envelope,
        outbound: Outbound,
        cancellation: CancellationToken,
    ) -> Self {
        let inner = Arc::new(Inner {
            id,
            escalated: Mutex::new(None),
            envelope,
            outbound,
            cancellation,
            last_progress: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
            host,
        });
        Self { inner }
    }

    /// The server serving the request, as this layer sees it.
    pub(crate) fn host(&self) -> &dyn Host {
        &self.inner.host
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

    /// Who sent the request, when the transport authenticates (HTTP with an
    /// authenticator); `None` on stdio and unauthenticated HTTP.
    pub fn principal(&self) -> Option<&Principal> {
        self.inner.envelope.principal.as_deref()
    }

    /// The tenant the request acts for: the principal's, which an
    /// authenticator sets (an `name@tenant` API key, a JWT claim) or a
    /// trusted header supplies (`HttpConfig::tenant_header`). `None` when
    /// the deployment has no tenants.
    pub fn tenant(&self) -> Option<&str> {
        self.principal().and_then(|p| p.tenant.as_deref())
    }

    /// The client's IP address, when the transport knows it (HTTP).
    pub fn peer(&self) -> Option<std::net::IpAddr> {
        self.inner.envelope.peer
    }

    /// Adds `record` to the server's audit log, for something this request
    /// did beside its own answer (a step of an agent loop, a call to
    /// another system). What the record leaves empty of the caller (principal,
    /// tenant, issuer, address), the request id and the revision is filled
    /// in from this request. Never waits; without an audit log it does
    /// nothing.
    ///
    /// ```
    /// use mcp_server::audit::{AuditOutcome, AuditRecord};
    /// use mcp_server::prelude::*;
    ///
    /// fn step_done(ctx: &RequestContext, tool: &str) {
    ///     let mut record = AuditRecord::new("agent/tool", AuditOutcome::Ok);
    ///     record.target = Some(tool.to_owned());
    ///     ctx.audit(record);
    /// }
    /// ```
    pub fn audit(&self, mut record: AuditRecord) {
        let host = self.host();
        let Some(log) = host.audit_log() else {
            return;
        };
        if record.principal.is_none()
            && let Some(principal) = self.principal()
        {
            record.set_caller(principal);
        }
        record.client_address = record.client_address.or(self.peer());
        if record.request_id.is_none() {
            record.request_id = Some(self.inner.id.clone());
        }
        record.protocol_version = record.protocol_version.or(Some(self.protocol_version()));
        if record.time <= 0.0 {
            record.time = AuditRecord::now();
        }
        log.push(record, host.metrics());
    }

    /// Whether the client declared `capability`.
    pub fn has_capability(&self, capability: ClientCapability) -> bool {
        let capabilities = &self.inner.envelope.capabilities;
        match capability {
            ClientCapability::Sampling => capabilities.sampling.is_some(),
            ClientCapability::Elicitation => capabilities.elicitation.is_some(),
            ClientCapability::Roots => capabilities.roots.is_some(),
            ClientCapability::Tasks => tasks_declared(capabilities),
        }
    }

    /// Checks that the client declared `capability`, for a handler that
    /// cannot work without it.
    ///
    /// When it did not, the request fails as the revision prescribes: on
    /// 2026-07-28 the whole request is answered with -32021 and
    /// `requiredCapabilities` (HTTP 400), whatever the handler returns after;
    /// on older revisions the returned error becomes the tool's `isError`
    /// result when the handler propagates it with `?`.
    ///
    /// # Errors
    /// The client did not declare `capability`.
    pub fn require(&self, capability: ClientCapability) -> Result<(), MissingCapability> {
        if self.has_capability(capability) {
            return Ok(());
        }
        if self.protocol_version().is_stateless() {
            let mut required = ClientCapabilities::default();
            match capability {
                ClientCapability::Sampling => required.sampling = Some(serde_json::Map::new()),
                ClientCapability::Elicitation => {
                    required.elicitation = Some(serde_json::Map::new());
                }
                ClientCapability::Roots => required.roots = Some(serde_json::Map::new()),
                ClientCapability::Tasks => return self.require_tasks(),
            }
            self.escalate(ProtocolError::MissingRequiredClientCapability(Box::new(
                required,
            )));
        }
        Err(MissingCapability { capability })
    }

    fn escalate(&self, error: ProtocolError) {
        let mut slot = self
            .inner
            .escalated
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(error);
    }

    /// The protocol error a handler raised, if any.
    pub(crate) fn take_escalation(&self) -> Option<ProtocolError> {
        self.inner
            .escalated
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Continues the rest of the handler as a task, when the client
    /// declared the tasks extension (2026-07-28) and the tool allows tasks
    /// ([`ToolDef::with_tasks`](crate::ToolDef::with_tasks)): the request is
    /// answered at once with a task handle, and this handler goes on in the
    /// background; its result, error or questions reach the client through
    /// `tasks/get`. Returns whether it did: otherwise the handler simply
    /// continues within the request.
    ///
    /// Ask what must be asked before the task starts: questions asked
    /// before are answered within the request (multi round-trip), those
    /// asked after through the task.
    ///
    /// A task that cannot be created (the caller or the server keeps as
    /// many unfinished tasks as allowed, see
    /// [`ServerBuilder::max_tasks_per_caller`](crate::ServerBuilder::max_tasks_per_caller))
    /// fails the request with that error, and this call never returns: the
    /// handler is stopped here, as it would be at a question it cannot ask.
    pub async fn start_task(&self) -> bool {
        match &self.inner.envelope.task {
            Some(slot) => match slot.start(self.host().tasks()) {
                Ok(_) => {
                    // Let the dispatcher answer before the work goes on.
                    tokio::task::yield_now().await;
                    true
                }
                Err(error) => {
                    tracing::info!(%error, "task not created");
                    // The dispatcher answers with the error and drops this
                    // handler.
                    std::future::pending().await
                }
            },
            None => false,
        }
    }

    /// Whether the client declared the tasks extension for this request.
    pub fn tasks_enabled(&self) -> bool {
        tasks_declared(&self.inner.envelope.capabilities)
    }

    /// Refuses to run without the tasks extension: a 2026-07-28 request
    /// from a client that did not declare it is answered -32021 with the
    /// extension in `requiredCapabilities`.
    ///
    /// # Errors
    /// The client did not declare the extension.
    pub fn require_tasks(&self) -> Result<(), MissingCapability> {
        if self.tasks_enabled() {
            return Ok(());
        }
        let mut extensions = serde_json::Map::new();
        extensions.insert(TASKS_EXTENSION.into(), serde_json::json!({}));
        self.escalate(ProtocolError::MissingRequiredClientCapability(Box::new(
            ClientCapabilities {
                extensions: Some(extensions),
                ..ClientCapabilities::default()
            },
        )));
        Err(MissingCapability {
            capability: ClientCapability::Tasks,
        })
    }

    /// Answers the request with a protocol error instead of the handler's
    /// result (a task fails with it).
    pub fn reject(&self, error: ProtocolError) {
        self.escalate(error);
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
