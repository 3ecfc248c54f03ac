//! A request's record in the making: started when the request reaches the
//! router, written when it is answered, or, when its future is dropped
//! unanswered, written with the reason it stopped.

use std::cell::Cell;
use std::net::IpAddr;
use std::time::Instant;

use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::Request;
use mcp_core::method;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use super::{AuditLog, AuditOutcome, AuditRecord};
use crate::arguments::Arguments;
use crate::auth::Principal;
use crate::metrics::Metrics;

/// What the audit needs of the server it records for: its log, its
/// metrics, and what a tool's record may say. The server implements it
/// (in the router), so the audit log does not depend on the server.
pub(crate) trait AuditHost: Clone + Send + Sync + 'static {
    /// The audit log, if the server keeps one.
    fn audit_log(&self) -> Option<&AuditLog>;
    /// Where dropped records are counted.
    fn metrics(&self) -> &Metrics;
    /// What the record of a call to the tool `name` may say, if it exists.
    fn tool_audit(&self, name: &str) -> Option<ToolAudit>;
}

/// The tool a request calls and its arguments, as the router read them
/// already: the record need not read the params again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Named<'a> {
    /// The tool's name.
    pub(crate) name: &'a str,
    /// The call's arguments, as sent.
    pub(crate) arguments: Option<&'a Arguments>,
}

/// From this size on, a tool call's arguments are digested on a blocking
/// thread while the tool runs: hashing megabytes takes milliseconds, which
/// neither the call's answer nor the runtime's other tasks should wait for.
const DIGEST_ASIDE: usize = 64 * 1024;

/// A digest being taken aside, which the record waits for (`None` if it
/// could not be taken).
pub(crate) type PendingDigest = tokio::task::JoinHandle<Option<String>>;

/// Runs `digest` on a blocking thread, at most one per core at once: a
/// flood of large calls queues its digests here (fairly, in the order they
/// came) instead of taking every thread of the runtime's blocking pool,
/// which other work shares.
pub(crate) fn take_aside(
    runtime: &tokio::runtime::Handle,
    digest: impl FnOnce() -> String + Send + 'static,
) -> PendingDigest {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        tokio::sync::Semaphore::new(cores)
    });
    runtime.spawn(async move {
        let _slot = slots.acquire().await.ok()?;
        tokio::task::spawn_blocking(digest).await.ok()
    })
}

/// What the record of a tool call may say of the tool.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ToolAudit {
    /// The tool's read-only hint.
    pub(crate) read_only: Option<bool>,
    /// The tool's destructive hint.
    pub(crate) destructive: Option<bool>,
    /// Whether the record carries the call's arguments.
    pub(crate) arguments: bool,
}

tokio::task_local! {
    /// What the handler learned that its result does not show.
    static NOTED: Noted;
}

#[derive(Default)]
struct Noted {
    outcome: Cell<Option<AuditOutcome>>,
    version: Cell<Option<ProtocolVersion>>,
    trace_id: Cell<Option<[u8; 32]>>,
}

/// What a request's handler noted for its record.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Notes {
    /// An outcome its result does not show: a tool stopped at its time
    /// limit answers with a tool error, yet timed out.
    pub(crate) outcome: Option<AuditOutcome>,
    /// The revision it was served on, where the session does not say (a
    /// 2026-07-28 request on a connection).
    pub(crate) version: Option<ProtocolVersion>,
    /// The caller's trace id (32 hex digits).
    pub(crate) trace_id: Option<[u8; 32]>,
}

/// Notes the request's outcome, where its result does not show it. The
/// first note stands: a tool stopped at its time limit timed out, though
/// it answers with a tool error.
pub(crate) fn note(outcome: AuditOutcome) {
    let _ = NOTED.try_with(|noted| {
        if noted.outcome.get().is_none() {
            noted.outcome.set(Some(outcome));
        }
    });
}

/// Notes the revision the request is served on.
pub(crate) fn note_version(version: ProtocolVersion) {
    let _ = NOTED.try_with(|noted| noted.version.set(Some(version)));
}

/// Notes the caller's trace id (32 lower-case hex digits, as checked).
pub(crate) fn note_trace(trace_id: &str) {
    if let Ok(id) = <[u8; 32]>::try_from(trace_id.as_bytes()) {
        let _ = NOTED.try_with(|noted| noted.trace_id.set(Some(id)));
    }
}

/// The outcome noted so far.
pub(crate) fn noted() -> Option<AuditOutcome> {
    NOTED.try_with(|noted| noted.outcome.get()).ok().flatten()
}

/// Runs `work` where [`note`] reaches, giving back what was noted.
pub(crate) async fn noting<T>(work: impl Future<Output = T>) -> (T, Notes) {
    NOTED
        .scope(Noted::default(), async {
            let output = work.await;
            let notes = NOTED.with(|noted| Notes {
                outcome: noted.outcome.get(),
                version: noted.version.get(),
                trace_id: noted.trace_id.get(),
            });
            (output, notes)
        })
        .await
}

/// Why a request that stops unanswered stopped.
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    /// Cancelled when the client cancels the request.
    pub(crate) cancellation: CancellationToken,
    /// Cancelled when the transport shuts down.
    pub(crate) shutdown: CancellationToken,
}

/// One request's record until it is written.
pub(crate) struct Entry<H: AuditHost> {
    server: H,
    record: AuditRecord,
    /// The arguments' digest, when it is taken aside.
    digest: Option<PendingDigest>,
    started: Instant,
    stop: Stop,
    written: bool,
}

impl<H: AuditHost> Entry<H> {
    /// The record of `request`, if the server keeps an audit log; `named`
    /// is the tool call the router read already, if it did.
    pub(crate) fn start(
        server: &H,
        request: &Request,
        named: Option<Named<'_>>,
        version: Option<ProtocolVersion>,
        principal: Option<&Principal>,
        client_address: Option<IpAddr>,
        stop: &Stop,
    ) -> Option<Self> {
        server.audit_log()?;
        let mut record = AuditRecord::empty(AuditOutcome::Ok);
        if let Some(principal) = principal {
            record.set_caller(principal);
        }
        record.client_address = client_address;
        record.request_id = Some(request.id.clone());
        record.protocol_version = version;
        record.method = Some(crate::metrics::method_name(&request.method));
        let digest = match named {
            Some(named) => describe_call(server, named, &mut record),
            None => {
                describe_target(server, request, &mut record);
                None
            }
        };
        Some(Self {
            server: server.clone(),
            record,
            digest,
            started: Instant::now(),
            stop: stop.clone(),
            written: false,
        })
    }

    /// Writes the record of an answered request.
    pub(crate) fn finish(
        mut self,
        version: Option<ProtocolVersion>,
        notes: Notes,
        outcome: AuditOutcome,
        error: Option<String>,
    ) {
        if version.is_some() {
            self.record.protocol_version = version;
        }
        self.record.trace_id = notes
            .trace_id
            .and_then(|id| String::from_utf8(id.to_vec()).ok());
        self.record.outcome = outcome;
        self.record.error = error;
        self.write();
    }

    fn write(&mut self) {
        self.written = true;
        let Some(log) = self.server.audit_log() else {
            return;
        };
        let mut record = std::mem::replace(&mut self.record, AuditRecord::empty(AuditOutcome::Ok));
        record.time = AuditRecord::now();
        record.duration_ms = AuditRecord::millis(self.started.elapsed());
        match self.digest.take() {
            Some(digest) => log.push_digesting(record, digest, self.server.metrics()),
            None => log.push(record, self.server.metrics()),
        }
    }
}

impl<H: AuditHost> Drop for Entry<H> {
    fn drop(&mut self) {
        if self.written {
            return;
        }
        // Dropped unanswered: the transport stopped it.
        let (outcome, why) = if self.stop.shutdown.is_cancelled() {
            (
                AuditOutcome::Shutdown,
                "stopped: the server shut down before the request finished",
            )
        } else if self.stop.cancellation.is_cancelled() {
            (AuditOutcome::Cancelled, "cancelled by the client")
        } else {
            (
                AuditOutcome::Cancelled,
                "abandoned: the client went away before the answer",
            )
        };
        self.record.outcome = outcome;
        self.record.error = Some(why.to_owned());
        self.write();
    }
}

/// The tool, prompt or resource a request names, with what the record may
/// say of its arguments. Only calls whose params are malformed come here
/// as tool calls: those are small, or refused, and digested in place.
fn describe_target(server: &impl AuditHost, request: &Request, record: &mut AuditRecord) {
    let names_target = matches!(
        request.method.as_str(),
        method::TOOLS_CALL
            | method::PROMPTS_GET
            | method::RESOURCES_READ
            | method::RESOURCES_SUBSCRIBE
            | method::RESOURCES_UNSUBSCRIBE
    );
    if !names_target {
        return;
    }
    #[derive(serde::Deserialize)]
    struct Target<'a> {
        #[serde(borrow, default)]
        name: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        uri: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        arguments: Option<&'a RawValue>,
    }
    let raw = request.params.as_deref().map_or("{}", RawValue::get);
    let Ok(target) = serde_json::from_str::<Target<'_>>(raw) else {
        return;
    };
    match (target.name, target.uri) {
        (Some(name), _) if request.method == method::TOOLS_CALL => {
            let audited = describe_tool(server, &name, record);
            if let Some(arguments) = target.arguments {
                record.arguments_sha256 = Some(AuditRecord::digest(arguments.get()));
                if audited {
                    record.arguments = serde_json::from_str(arguments.get()).ok();
                }
            }
        }
        (name, uri) => {
            record.target = name.or(uri).map(std::borrow::Cow::into_owned);
            record.arguments_sha256 = target
                .arguments
                .map(|arguments| AuditRecord::digest(arguments.get()));
        }
    }
}

/// The tool a call names, its declared hints, and what it may say of
/// the arguments; a large call's digest is left taking aside.
fn describe_call(
    server: &impl AuditHost,
    call: Named<'_>,
    record: &mut AuditRecord,
) -> Option<PendingDigest> {
    let audited = describe_tool(server, call.name, record);
    let arguments = call.arguments?;
    if audited {
        record.arguments = serde_json::from_str(arguments.get()).ok();
    }
    if arguments.get().len() >= DIGEST_ASIDE
        && let Ok(runtime) = tokio::runtime::Handle::try_current()
    {
        let arguments = arguments.clone();
        return Some(take_aside(&runtime, move || {
            AuditRecord::digest(arguments.get())
        }));
    }
    record.arguments_sha256 = Some(AuditRecord::digest(arguments.get()));
    None
}

/// Names the tool `name` in the record, with its declared hints; whether
/// the record carries the call's arguments.
fn describe_tool(server: &impl AuditHost, name: &str, record: &mut AuditRecord) -> bool {
    record.target = Some(name.to_owned());
    let Some(tool) = server.tool_audit(name) else {
        return false;
    };
    record.read_only = tool.read_only;
    record.destructive = tool.destructive;
    tool.arguments
}

/// A request refused before the router saw it (over HTTP: no credential,
/// a forbidden Host, a full server).
#[derive(Debug)]
pub(crate) struct Refusal<'a> {
    pub(crate) outcome: AuditOutcome,
    pub(crate) http_status: u16,
    pub(crate) reason: &'a str,
    pub(crate) principal: Option<&'a Principal>,
    pub(crate) client_address: Option<IpAddr>,
    pub(crate) method: Option<&'a str>,
    pub(crate) target: Option<&'a str>,
    pub(crate) request_id: Option<&'a mcp_core::jsonrpc::RequestId>,
}

/// Writes the record of a refused request.
pub(crate) fn refused(server: &impl AuditHost, refusal: &Refusal<'_>) {
    let Some(log) = server.audit_log() else {
        return;
    };
    let mut record = AuditRecord::empty(refusal.outcome);
    if let Some(principal) = refusal.principal {
        record.set_caller(principal);
    }
    record.client_address = refusal.client_address;
    record.method = refusal.method.map(crate::metrics::method_name);
    record.target = refusal.target.map(str::to_owned);
    record.request_id = refusal.request_id.cloned();
    record.http_status = Some(refusal.http_status);
    record.error = Some(refusal.reason.to_owned());
    record.time = AuditRecord::now();
    log.push(record, server.metrics());
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn digests_taken_aside_run_at_most_one_per_core_and_all_finish() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let runtime = tokio::runtime::Handle::current();
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // Each digest holds its slot until the test lets one go.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let pending: Vec<PendingDigest> = (0..3 * cores)
            .map(|n| {
                let (running, most, released) = (running.clone(), most.clone(), released.clone());
                take_aside(&runtime, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    released.lock().expect("lock").recv().expect("released");
                    running.fetch_sub(1, Ordering::SeqCst);
                    format!("d{n}")
                })
            })
            .collect();
        // Once `cores` run, no more start while they hold their slots (a
        // while in which, unbounded, the rest would have started).
        while running.load(Ordering::SeqCst) < cores {
            tokio::task::yield_now().await;
        }
        let until = std::time::Instant::now() + std::time::Duration::from_millis(100);
        while std::time::Instant::now() < until {
            assert_eq!(running.load(Ordering::SeqCst), cores);
            tokio::task::yield_now().await;
        }
        for _ in 0..3 * cores {
            release.send(()).expect("a digest waits");
        }
        for (n, digest) in pending.into_iter().enumerate() {
            assert_eq!(digest.await.expect("joined"), Some(format!("d{n}")));
        }
        assert!(most.load(Ordering::SeqCst) <= cores, "{most:?} at once");
    }
}
