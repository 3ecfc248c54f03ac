//! One connection [`HttpServer`](super::HttpServer) accepted: its place
//! under the connection limit, and the timeouts that close it while it asks
//! for nothing.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

use super::{ClientAddr, McpBody, McpService, Shared};
use crate::auth::client_network;

/// Serves `stream` until it closes, or until `stop` asks every connection
/// to finish what it has in progress and close.
///
/// A connection must send its first request's headers within the header
/// timeout: hyper's own timeout starts only once it knows the protocol,
/// which it learns from the first bytes, so a connection that sent none,
/// part of the HTTP/2 preface, or the preface and no request would hold its
/// place under the connection limit for ever. Later, an HTTP/1.1 connection
/// that goes quiet is closed by hyper's timeout, and an HTTP/2 one with
/// nothing in progress for as long is sent GOAWAY here (streams it already
/// opened are still answered).
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    service: McpService,
    builder: Arc<auto::Builder<TokioExecutor>>,
    slot: Slot,
    stop: CancellationToken,
) {
    let quiet = service.config().header_timeout;
    let activity = Arc::clone(&slot.activity);
    let tagged = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            let in_progress = activity.start(request.version() == http::Version::HTTP_2);
            request.extensions_mut().insert(ClientAddr(peer));
            let service = service.clone();
            async move {
                let response = service.handle(request).await;
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _in_progress: in_progress,
                }))
            }
        })
    };
    let connection = builder
        .serve_connection(TokioIo::new(stream), tagged)
        .into_owned();
    tokio::pin!(connection);
    loop {
        let asked = activity.asked.load(Ordering::Acquire);
        if activity.evicted.load(Ordering::Acquire) {
            tracing::debug!(%peer, "closing an idle connection to make room for another");
            if !asked {
                return;
            }
            break;
        }
        // Before the first request, and on HTTP/2 with nothing in progress,
        // the connection has `quiet` to ask for something.
        let timed = !asked
            || (activity.http2.load(Ordering::Acquire)
                && activity.in_progress.load(Ordering::SeqCst) == 0);
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = activity.changed.notified() => {}
            () = stop.cancelled() => break,
            () = tokio::time::sleep(quiet), if timed => {
                if !asked {
                    tracing::debug!(%peer, "closed a connection that sent no request in time");
                    return;
                }
                // A request that started since is not announced (it would
                // cost every request a wake-up): look again.
                if activity.in_progress.load(Ordering::SeqCst) == 0 {
                    tracing::debug!(%peer, "closing an HTTP/2 connection with nothing in progress");
                    break;
                }
            }
        }
    }
    connection.as_mut().graceful_shutdown();
    if let Err(e) = connection.await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
    drop(slot);
}

/// What a connection has in progress.
struct Activity {
    /// The client's network ([`client_network`]), whose connections are
    /// counted together.
    network: IpAddr,
    /// Requests from their headers until their answer's last byte (an open
    /// SSE stream counts for its whole life).
    in_progress: AtomicUsize,
    /// Whether a request has come.
    asked: AtomicBool,
    /// Whether the connection speaks HTTP/2.
    http2: AtomicBool,
    /// Whether it was chosen to close, to make room for a new one.
    evicted: AtomicBool,
    /// Wakes the connection's task at the first request, when an HTTP/2
    /// connection's last request in progress ends, and when it is evicted.
    changed: Notify,
    /// The registry's, for a newcomer waiting for room.
    room: Arc<Room>,
}

impl Activity {
    fn start(self: &Arc<Self>, http2: bool) -> InProgress {
        self.in_progress.fetch_add(1, Ordering::SeqCst);
        if !self.asked.load(Ordering::Relaxed) {
            self.http2.store(http2, Ordering::Release);
            self.asked.store(true, Ordering::Release);
            self.changed.notify_one();
        }
        InProgress(Arc::clone(self))
    }
}

/// A newcomer waiting for room at the limit, woken when a connection's last
/// request in progress ends.
#[derive(Default)]
pub(super) struct Room {
    wanted: AtomicBool,
    went_idle: Notify,
}

impl Room {
    /// Waits until a connection goes idle after this call.
    ///
    /// The waiter is registered before `wanted` is set, and a request ends
    /// by counting down before it reads `wanted` (all sequentially
    /// consistent): either it sees `wanted` and wakes the registered waiter,
    /// or the look at the connections that follows this call sees its
    /// count at zero.
    pub(super) fn went_idle(&self) -> impl std::future::Future<Output = ()> + '_ {
        let mut went_idle = Box::pin(self.went_idle.notified());
        went_idle.as_mut().enable();
        self.wanted.store(true, Ordering::SeqCst);
        went_idle
    }

    /// No newcomer waits any more.
    pub(super) fn filled(&self) {
        self.wanted.store(false, Ordering::SeqCst);
    }
}

/// One request in progress, until dropped.
struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        if self.0.in_progress.fetch_sub(1, Ordering::SeqCst) == 1 {
            if self.0.http2.load(Ordering::Acquire) {
                self.0.changed.notify_one();
            }
            if self.0.room.wanted.load(Ordering::SeqCst) {
                self.0.room.went_idle.notify_waiters();
            }
        }
    }
}

/// An answer's body, in progress until hyper has sent it (or dropped it).
pub(super) struct Tracked {
    body: McpBody,
    _in_progress: InProgress,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connections open, oldest first, and how many each client network
/// holds, so that at the limit an idle one of the largest holder can make
/// room for a newcomer.
#[derive(Default)]
pub(super) struct Registry {
    open: Mutex<Open>,
    /// For a newcomer waiting for room.
    pub(super) room: Arc<Room>,
}

#[derive(Default)]
struct Open {
    next: u64,
    /// By the order they were accepted in.
    connections: BTreeMap<u64, Arc<Activity>>,
    per_network: HashMap<IpAddr, usize>,
}

impl Registry {
    /// Records a connection accepted with `permit`, counted in `shared`'s
    /// stats until its slot is dropped.
    pub(super) fn admit(
        self: &Arc<Self>,
        permit: OwnedSemaphorePermit,
        peer: IpAddr,
        shared: Arc<Shared>,
    ) -> Slot {
        let network = client_network(peer);
        let activity = Arc::new(Activity {
            network,
            in_progress: AtomicUsize::new(0),
            asked: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            changed: Notify::new(),
            room: Arc::clone(&self.room),
        });
        let id = {
            let mut open = self.lock();
            let id = open.next;
            open.next += 1;
            open.connections.insert(id, Arc::clone(&activity));
            *open.per_network.entry(network).or_default() += 1;
            id
        };
        shared.connections.fetch_add(1, Ordering::AcqRel);
        Slot {
            _permit: permit,
            shared,
            registry: Arc::clone(self),
            id,
            activity,
        }
    }

    /// Asks a connection with nothing in progress (one that never sent a
    /// request, or sits between requests) to close: of the client network
    /// holding the most connections, its longest-open one. False when every
    /// connection is busy.
    pub(super) fn evict_idle(&self) -> bool {
        let open = self.lock();
        let held = |activity: &Activity| open.per_network.get(&activity.network).copied();
        let mut idle = open.connections.values().filter(|activity| {
            activity.in_progress.load(Ordering::SeqCst) == 0
                && !activity.evicted.load(Ordering::Acquire)
        });
        // The first (longest-open) of those whose network holds the most.
        let first = idle.next();
        let chosen = idle.fold(first, |best, activity| match best {
            Some(best) if held(activity) <= held(best) => Some(best),
            _ => Some(activity),
        });
        let Some(activity) = chosen else {
            return false;
        };
        activity.evicted.store(true, Ordering::Release);
        activity.changed.notify_one();
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // The map stays consistent whatever panicked while it was held.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A connection's place under the limit, given back when it closes.
pub(super) struct Slot {
    _permit: OwnedSemaphorePermit,
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    id: u64,
    activity: Arc<Activity>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut open = self.registry.lock();
            open.connections.remove(&self.id);
            let network = self.activity.network;
            if let Some(held) = open.per_network.get_mut(&network) {
                *held -= 1;
                if *held == 0 {
                    open.per_network.remove(&network);
                }
            }
        }
        self.shared.connections.fetch_sub(1, Ordering::AcqRel);
    }
}
