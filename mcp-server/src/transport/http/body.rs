//! Response bodies: a whole JSON document, or a Server-Sent Events stream
//! with keep-alive comments.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Body, Frame, SizeHint};
use mcp_core::jsonrpc::Message;
use tokio::time::{Interval, MissedTickBehavior};

use crate::transport::Outgoing;

/// The body of every response the MCP HTTP service sends.
pub struct McpBody {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    /// Whole, in pieces: the last one goes first.
    Parts(Vec<Bytes>),
    Sse(SseBody),
}

impl McpBody {
    /// A body of these bytes: for an application's own layer that answers
    /// in the service's place.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self {
            kind: Kind::Full(Some(bytes.into())),
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Full(None),
        }
    }

    /// A body of these pieces, in order: a large result goes out as it
    /// is, between the envelope's head and tail, rather than copied.
    pub(crate) fn parts(mut parts: Vec<Bytes>) -> Self {
        parts.retain(|part| !part.is_empty());
        parts.reverse();
        Self {
            kind: Kind::Parts(parts),
        }
    }

    pub(crate) fn sse(body: SseBody) -> Self {
        Self {
            kind: Kind::Sse(body),
        }
    }
}

impl fmt::Debug for McpBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f
                .debug_struct("McpBody")
                .field("len", &bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Parts(parts) => f
                .debug_struct("McpBody")
                .field("len", &parts.iter().map(Bytes::len).sum::<usize>())
                .finish(),
            Kind::Sse(_) => f.debug_struct("McpBody").field("sse", &true).finish(),
        }
    }
}

impl Body for McpBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Parts(parts) => Poll::Ready(parts.pop().map(|b| Ok(Frame::data(b)))),
            Kind::Sse(sse) => sse
                .poll_next(cx)
                .map(|chunk| chunk.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Parts(parts) => parts.is_empty(),
            Kind::Sse(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Kind::Full(None) => SizeHint::with_exact(0),
            Kind::Parts(parts) => {
                SizeHint::with_exact(parts.iter().map(|part| part.len() as u64).sum())
            }
            Kind::Sse(_) => SizeHint::default(),
        }
    }
}

/// Runs when a stream ends, however it ends: counts it closed, and runs the
/// stream's own clean-up (cancel the request, forget the session, ...).
pub(crate) struct StreamGuard {
    open: Arc<AtomicUsize>,
    on_close: Option<Box<dyn FnOnce() + Send>>,
}

impl StreamGuard {
    pub(crate) fn new(open: Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        Self {
            open,
            on_close: None,
        }
    }

    pub(crate) fn on_close(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.on_close = Some(Box::new(f));
        self
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        if let Some(f) = self.on_close.take() {
            f();
        }
    }
}

/// An SSE stream: the events of `events`, with a `: keep-alive` comment
/// whenever the stream has been quiet for a while, so proxies and clients
/// do not time it out.
pub(crate) struct SseBody {
    events: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
    keep_alive: Option<Interval>,
    _guard: StreamGuard,
}

impl SseBody {
    pub(crate) fn new(
        events: impl Stream<Item = Bytes> + Send + 'static,
        keep_alive: Option<Duration>,
        guard: StreamGuard,
    ) -> Self {
        let keep_alive = keep_alive.map(|period| {
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        Self {
            events: Box::pin(events),
            keep_alive,
            _guard: guard,
        }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        match self.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(event)) => {
                if let Some(interval) = &mut self.keep_alive {
                    interval.reset();
                }
                Poll::Ready(Some(event))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let tick = self
                    .keep_alive
                    .as_mut()
                    .is_some_and(|interval| interval.poll_tick(cx).is_ready());
                if tick {
                    Poll::Ready(Some(Bytes::from_static(b": keep-alive\n\n")))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

/// One SSE `message` event holding `message`, JSON on a single line.
pub(crate) fn message_event(buf: &mut Vec<u8>, message: &Message) {
    event_with(buf, None, |buf| serde_json::to_writer(buf, message));
}

/// One SSE event for what a connection writes.
pub(crate) fn outgoing_event(buf: &mut Vec<u8>, outgoing: &Outgoing, named: bool) {
    let name = named.then_some("message");
    match outgoing {
        Outgoing::One(message) => event_with(buf, name, |buf| serde_json::to_writer(buf, message)),
        Outgoing::Batch(messages) => {
            event_with(buf, name, |buf| serde_json::to_writer(buf, messages));
        }
    }
}

/// An SSE event with a named type and a plain-text payload.
pub(crate) fn named_event(buf: &mut Vec<u8>, name: &str, data: &str) {
    buf.extend_from_slice(b"event: ");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\ndata: ");
    buf.extend_from_slice(data.as_bytes());
    buf.extend_from_slice(b"\n\n");
}

fn event_with(
    buf: &mut Vec<u8>,
    name: Option<&str>,
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) {
    let start = buf.len();
    if let Some(name) = name {
        buf.extend_from_slice(b"event: ");
        buf.extend_from_slice(name.as_bytes());
        buf.push(b'\n');
    }
    buf.extend_from_slice(b"data: ");
    // Compact JSON never contains a raw newline, so one `data:` line holds it.
    if let Err(e) = write(buf) {
        tracing::error!(error = %e, "outgoing message could not be encoded");
        buf.truncate(start);
        return;
    }
    buf.extend_from_slice(b"\n\n");
}
