//! The phases of a graceful shutdown, shared by [`HttpServer`](super::HttpServer)
//! and by applications that mount [`McpService`](super::McpService) themselves:
//!
//! 1. **draining** (the grace period): `/ready` answers 503 and new MCP work
//!    is refused with 503, while the listener still accepts, so a load
//!    balancer learns of the drain from the probe, not from refused
//!    connections;
//! 2. **closing**: the listener closes, long-lived streams end, requests in
//!    flight run on;
//! 3. **expired** (the deadline): requests still running are stopped and
//!    answered with an error.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use mcp_core::jsonrpc::{ErrorObject, ErrorResponse, Incoming, Message, RequestId, error_code};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{McpBody, McpService, error};
use crate::router::{Answer, AnswerStatus};

impl McpService {
    /// Starts a graceful shutdown, and completes when the application should
    /// stop accepting connections: [`HttpServer`](super::HttpServer) calls it on SIGINT or
    /// SIGTERM, and an application that mounts the service itself calls it
    /// from its own shutdown signal.
    ///
    /// At once, `/ready` answers 503 (`{"status":"draining"}`) and new MCP
    /// work (`initialize`, requests, new streams) is refused with 503,
    /// `Retry-After` and a JSON-RPC error, including on connections already
    /// open; `/health` stays 200, and notifications, answers to the
    /// server's own requests and `DELETE` still go through, so requests in
    /// flight can finish. The returned future completes after
    /// [`HttpConfig::shutdown_grace`](super::HttpConfig::shutdown_grace); then long-lived streams end, and
    /// requests still running after a further
    /// [`HttpConfig::shutdown_deadline`](super::HttpConfig::shutdown_deadline) are stopped and answered with a
    /// JSON-RPC error ("server shutting down") instead of a cut connection.
    ///
    /// Await the future to its end: the streams and the deadline start
    /// when it completes. Calling it again is harmless; the grace period
    /// counts from the first call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_server::prelude::*;
    /// use mcp_server::transport::http::{HttpConfig, McpService};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let config = HttpConfig::default().shutdown_grace(Duration::from_millis(50));
    /// let mcp = McpService::new(Server::builder().build(), config);
    /// // In an axum app that mounts `mcp.clone()`:
    /// //     axum::serve(listener, app).with_graceful_shutdown(async move {
    /// //         shutdown_signal().await;
    /// //         mcp.drain().await;
    /// //     })
    /// let drained = mcp.drain();
    /// let ready = mcp.handle(http::Request::get("/ready").body(String::new()).unwrap()).await;
    /// assert_eq!(ready.status(), 503);
    /// drained.await; // the grace period is over: stop accepting connections
    /// # }
    /// ```
    pub fn drain(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        shared.drain.begin();
        async move {
            shared.drain.grace_over().await;
            shared.drain.close();
            // Long-lived streams (GET, legacy SSE, `subscriptions/listen`)
            // end now; requests get the deadline.
            shared.server.shutdown_signal().cancel();
        }
    }
}

/// Where a service is in its graceful shutdown. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Drain {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    grace: Duration,
    deadline: Duration,
    draining: CancellationToken,
    closing: CancellationToken,
    /// A second shutdown signal: skip what is left of the grace period and
    /// the deadline.
    hurry: CancellationToken,
    began: OnceLock<Instant>,
    closed: OnceLock<Instant>,
}

impl Drain {
    pub(crate) fn new(grace: Duration, deadline: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                grace,
                deadline,
                draining: CancellationToken::new(),
                closing: CancellationToken::new(),
                hurry: CancellationToken::new(),
                began: OnceLock::new(),
                closed: OnceLock::new(),
            }),
        }
    }

    /// Phase 1. Idempotent: the grace period counts from the first call.
    pub(crate) fn begin(&self) {
        let inner = &self.inner;
        if inner.began.set(Instant::now()).is_ok() {
            tracing::info!(
                grace_ms = millis(inner.grace),
                deadline_ms = millis(inner.deadline),
                "draining: /ready answers 503 and new requests are refused"
            );
        }
        inner.draining.cancel();
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.inner.draining.is_cancelled()
    }

    /// Completes when the grace period is over (at once without one).
    pub(crate) async fn grace_over(&self) {
        let inner = &self.inner;
        let began = *inner.began.get_or_init(Instant::now);
        tokio::select! {
            () = tokio::time::sleep_until(began + inner.grace) => {}
            () = inner.hurry.cancelled() => {}
        }
    }

    /// Phase 2: the deadline starts counting. Idempotent.
    pub(crate) fn close(&self) {
        let inner = &self.inner;
        if inner.closed.set(Instant::now()).is_ok() {
            tracing::info!(
                deadline_ms = millis(inner.deadline),
                "no new connections; finishing requests in progress"
            );
        }
        inner.closing.cancel();
    }

    /// Skips what is left of the grace period and of the deadline.
    pub(crate) fn hurry(&self) {
        tracing::info!("a second shutdown signal: stopping requests in progress now");
        self.inner.hurry.cancel();
    }

    /// Completes when the deadline has passed: requests still running are
    /// to be stopped and answered with [`Drain::expired_answer`].
    pub(crate) fn expired(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        async move {
            let wait = async {
                inner.closing.cancelled().await;
                let closed = *inner.closed.get_or_init(Instant::now);
                tokio::time::sleep_until(closed + inner.deadline).await;
            };
            tokio::select! {
                () = wait => {}
                () = inner.hurry.cancelled() => {}
            }
        }
    }

    /// The answer for request `id`, stopped at the deadline.
    pub(crate) fn expired_answer(&self, id: RequestId) -> Answer {
        tracing::warn!(id = %id, "request still running at the shutdown deadline; stopped");
        Answer {
            message: Message::Error(ErrorResponse::new(
                Some(id),
                ErrorObject::new(
                    error_code::INTERNAL_ERROR,
                    format!(
                        "server shutting down: the request was still running at the {} ms shutdown deadline and was stopped; retry it",
                        millis(self.inner.deadline)
                    ),
                ),
            )),
            status: AnswerStatus::Ok,
        }
    }
}

/// 503 with `Retry-After` for new work offered while draining: the client
/// retries, on a new connection, and reaches another replica.
pub(crate) fn refused(id: Option<RequestId>) -> Response<McpBody> {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        error_code::INTERNAL_ERROR,
        "server shutting down: it takes no new requests; retry on a new connection",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// While draining, a request is new work and is refused (a batch with one
/// is refused whole); notifications and answers to the server's own
/// requests pass, as requests in flight may be waiting for them.
pub(super) fn refuse_new_work(incoming: &Incoming) -> Option<Response<McpBody>> {
    match incoming {
        Incoming::Single(Message::Request(request)) => Some(refused(Some(request.id.clone()))),
        Incoming::Batch(items)
            if items
                .iter()
                .any(|item| matches!(item, Ok(Message::Request(_)))) =>
        {
            Some(refused(None))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn phases_follow_the_grace_period_and_the_deadline() {
        let drain = Drain::new(Duration::from_secs(5), Duration::from_secs(10));
        assert!(!drain.is_draining());
        let start = Instant::now();
        drain.begin();
        assert!(drain.is_draining());
        drain.grace_over().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        let expired = drain.expired();
        drain.close();
        expired.await;
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_signal_skips_the_waits() {
        let drain = Drain::new(Duration::from_secs(5), Duration::from_secs(10));
        let start = Instant::now();
        drain.begin();
        drain.hurry();
        drain.grace_over().await;
        drain.close();
        drain.expired().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
