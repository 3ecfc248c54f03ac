//! A hyper listener serving an [`McpService`], with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::connection::{self, Registry};
use super::{HostPolicy, HttpConfig, McpService};
use crate::server::{Server, ServerError};

/// How long a stopping server waits for its audit records to be written.
const AUDIT_FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// How long connections get to deliver the answers given at the shutdown
/// deadline before they are closed.
const FLUSH_MARGIN: Duration = Duration::from_secs(2);

/// How often, at most, a server held at its connection limit says so.
const LIMIT_WARNING_PERIOD: Duration = Duration::from_secs(10);

/// An HTTP/1.1 and HTTP/2 listener serving MCP.
///
/// ```no_run
/// # use mcp_server::prelude::*;
/// use mcp_server::transport::http::{HttpConfig, HttpServer};
///
/// # async fn run(server: Server) -> Result<(), mcp_server::ServerError> {
/// let http = HttpServer::bind(server, "127.0.0.1:3001", HttpConfig::default()).await?;
/// println!("listening on http://{}/mcp", http.local_addr());
/// http.serve().await // until SIGINT or SIGTERM
/// # }
/// ```
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    service: McpService,
    local_addr: SocketAddr,
}

impl HttpServer {
    /// Binds `addr`. Port 0 picks a free port; see [`HttpServer::local_addr`].
    ///
    /// With [`HostPolicy::Auto`] (the default), a loopback address keeps the
    /// loopback-only `Host` check and any other address accepts any host.
    ///
    /// # Errors
    /// The address could not be bound, or the server cannot serve at all
    /// ([`ServerError::Randomness`]).
    pub async fn bind(
        server: impl Into<Server>,
        addr: impl ToSocketAddrs,
        mut config: HttpConfig,
    ) -> Result<Self, ServerError> {
        let server = server.into();
        server.check_ready()?;
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        if config.hosts == HostPolicy::Auto {
            config.hosts = if local_addr.ip().is_loopback() {
                HostPolicy::Loopback
            } else {
                tracing::warn!(
                    %local_addr,
                    "bound to a non-loopback address: any Host header is accepted; \
                     set allowed hosts to restrict it"
                );
                HostPolicy::Any
            };
        }
        Ok(Self {
            listener,
            service: McpService::new(server, config),
            local_addr,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The service behind the listener, for its [`stats`](McpService::stats).
    pub fn service(&self) -> &McpService {
        &self.service
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully (see
    /// [`HttpServer::serve_until`]). A second signal skips what is left of
    /// the grace period and the deadline.
    ///
    /// # Errors
    /// See [`HttpServer::serve_until`].
    pub async fn serve(self) -> Result<(), ServerError> {
        let drain = self.service.shared.drain.clone();
        self.serve_until(async move {
            shutdown_signal().await;
            tokio::spawn(async move {
                shutdown_signal().await;
                drain.hurry();
            });
        })
        .await
    }

    /// Serves until `signal` completes, then shuts down gracefully, as
    /// [`McpService::drain`] describes: `/ready` answers 503 and new MCP
    /// requests are refused while the listener stays open for
    /// [`HttpConfig::shutdown_grace`]; then the listener closes, long-lived
    /// streams end, and requests in flight get
    /// [`HttpConfig::shutdown_deadline`] to finish before they are answered
    /// with an error. Returns once the last connection has closed, at most
    /// about two seconds after the deadline.
    ///
    /// # Errors
    /// Currently none once bound: accept errors (such as running out of
    /// file descriptors) are logged and retried.
    pub async fn serve_until(self, signal: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Self {
            listener,
            service,
            local_addr,
        } = self;
        let config = service.config().clone();
        let limit = config.connection_limit();
        let slots = Arc::new(Semaphore::new(limit.min(Semaphore::MAX_PERMITS)));
        let mut warned: Option<Instant> = None;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout);
        let builder = Arc::new(builder);
        // Asks every connection to finish what it has in progress and close.
        let stop = CancellationToken::new();
        let shared = Arc::clone(&service.shared);
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tick.tick().await;
                shared.sessions.sweep(true);
            }
        });
        tracing::info!(
            name = %service.shared.server.info().implementation.name,
            max_connections = limit,
            "serving MCP on http://{local_addr}{}",
            config.path
        );
        let drained = async {
            signal.await;
            service.drain().await;
        };
        tokio::pin!(drained);
        // Held so that connections still open at the end can be closed.
        let mut connections = tokio::task::JoinSet::new();
        let registry = Arc::new(Registry::default());
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut drained => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually out of file descriptors: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Some(permit) = room_for(&slots, &registry, &mut drained, limit, &mut warned).await
            else {
                break;
            };
            // Answers are small writes that must leave at once, not wait
            // for Nagle's algorithm to batch them with the next.
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(%peer, error = %e, "TCP_NODELAY could not be set");
            }
            let slot = registry.admit(permit, peer.ip(), Arc::clone(&service.shared));
            while connections.try_join_next().is_some() {}
            connections.spawn(connection::serve(
                stream,
                peer,
                service.clone(),
                Arc::clone(&builder),
                slot,
                // Its own node: a shared token would be one lock every connection
                // takes at each of its wake-ups.
                stop.child_token(),
            ));
        }
        drop(listener);
        // At the deadline the requests still running are answered; the
        // margin lets those answers reach their clients.
        let limit = config.shutdown_deadline + FLUSH_MARGIN;
        stop.cancel();
        let closed = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(limit, closed).await.is_err() {
            tracing::warn!(
                "connections still open {} ms after the listener closed; closing them",
                limit.as_millis()
            );
        }
        connections.shutdown().await;
        service.shared.sessions.close_all();
        sweeper.abort();
        // Every request is answered or stopped: their audit records go out
        // before the process may exit.
        if tokio::time::timeout(AUDIT_FLUSH_DEADLINE, service.shared.server.flush_audit())
            .await
            .is_err()
        {
            tracing::warn!(
                "audit records still unwritten {} ms after the server stopped",
                AUDIT_FLUSH_DEADLINE.as_millis()
            );
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// A place under the limit for a connection just accepted; `None` when
/// `drained` completes first.
///
/// At the limit an idle connection makes room (see
/// [`Registry::evict_idle`]). With every connection busy, the newcomer
/// (and the listen queue behind it) waits until one closes, or goes idle
/// and then makes room.
async fn room_for(
    slots: &Arc<Semaphore>,
    registry: &Registry,
    drained: &mut Pin<&mut impl Future<Output = ()>>,
    limit: usize,
    warned: &mut Option<Instant>,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = Arc::clone(slots).try_acquire_owned() {
        return Some(permit);
    }
    let permit = loop {
        let went_idle = registry.room.went_idle();
        if registry.evict_idle() {
            break tokio::select! {
                permit = Arc::clone(slots).acquire_owned() => permit.ok(),
                () = drained.as_mut() => None,
            };
        }
        if warned.is_none_or(|at| at.elapsed() >= LIMIT_WARNING_PERIOD) {
            tracing::warn!(
                max_connections = limit,
                "connection limit reached with every connection busy: \
                 new connections wait until one closes or goes idle"
            );
            *warned = Some(Instant::now());
        }
        tokio::select! {
            permit = Arc::clone(slots).acquire_owned() => break permit.ok(),
            () = went_idle => {}
            () = drained.as_mut() => break None,
        }
    };
    registry.room.filled();
    permit
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
