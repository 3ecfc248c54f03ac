//! Live sessions of the stateful revisions: Streamable HTTP sessions keyed
//! by `Mcp-Session-Id`, and legacy SSE connections keyed by their
//! `session_id` query parameter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mcp_core::jsonrpc::{ErrorObject, RequestId, error_code};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::session::Session;

/// An unguessable session id: 128 bits from the OS CSPRNG, as hex (visible
/// ASCII, as the spec requires).
pub(crate) fn new_session_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(crate::hex(&bytes))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One Streamable HTTP session.
#[derive(Debug)]
pub(crate) struct HttpSession {
    pub(crate) id: Arc<str>,
    pub(crate) session: Arc<Session>,
    /// Requests in progress, so `notifications/cancelled` can reach them.
    in_flight: Mutex<HashMap<RequestId, CancellationToken>>,
    /// Whether the standalone GET stream is open (at most one).
    pub(crate) stream_open: std::sync::atomic::AtomicBool,
    /// Cancelled when the session ends: its streams close, its requests stop.
    pub(crate) closed: CancellationToken,
    last_seen: Mutex<Instant>,
}

impl HttpSession {
    pub(crate) fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    /// Registers a request; `None` when its id is already in use.
    /// Registers a request; refused when its id is in use or the session
    /// already has `limit` requests in progress.
    pub(crate) fn start(&self, id: &RequestId, limit: usize) -> Result<CancellationToken, Refusal> {
        let mut in_flight = lock(&self.in_flight);
        if in_flight.contains_key(id) {
            return Err(Refusal::InUse);
        }
        if in_flight.len() >= limit {
            return Err(Refusal::Full(limit));
        }
        let token = self.closed.child_token();
        in_flight.insert(id.clone(), token.clone());
        Ok(token)
    }

    pub(crate) fn finish(&self, id: &RequestId) {
        lock(&self.in_flight).remove(id);
    }

    /// Cancels a request; unknown ids are ignored, as the request may have
    /// just finished.
    pub(crate) fn cancel(&self, id: &RequestId) {
        if let Some(token) = lock(&self.in_flight).remove(id) {
            token.cancel();
        }
    }

    fn idle_since(&self, now: Instant) -> Duration {
        now.saturating_duration_since(*lock(&self.last_seen))
    }

    fn is_busy(&self) -> bool {
        self.stream_open.load(Ordering::Acquire) || !lock(&self.in_flight).is_empty()
    }
}

/// A legacy SSE connection: where its POSTed messages go.
#[derive(Debug)]
pub(crate) struct LegacySession {
    pub(crate) incoming: mpsc::Sender<Bytes>,
    /// The principal that opened the stream, when the transport authenticates.
    pub(crate) owner: Option<String>,
}

/// The session tables, bounded and swept of idle sessions.
#[derive(Debug)]
pub(crate) struct Sessions {
    streamable: Mutex<HashMap<Arc<str>, Arc<HttpSession>>>,
    legacy: Mutex<HashMap<Arc<str>, Arc<LegacySession>>>,
    max: usize,
    idle_timeout: Duration,
    last_sweep: Mutex<Instant>,
    pub(crate) count: AtomicUsize,
}

/// Why a session could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    Full,
    Random(getrandom::Error),
}

impl Sessions {
    pub(crate) fn new(max: usize, idle_timeout: Duration) -> Self {
        Self {
            streamable: Mutex::default(),
            legacy: Mutex::default(),
            max,
            idle_timeout,
            last_sweep: Mutex::new(Instant::now()),
            count: AtomicUsize::new(0),
        }
    }

    fn has_room(&self) -> bool {
        self.count.load(Ordering::Acquire) < self.max
    }

    /// Makes a session; it is not visible until [`Sessions::insert`].
    pub(crate) fn create(&self) -> Result<Arc<HttpSession>, OpenError> {
        self.sweep(false);
        if !self.has_room() {
            self.sweep(true);
            if !self.has_room() {
                return Err(OpenError::Full);
            }
        }
        let id = new_session_id().map_err(OpenError::Random)?;
        Ok(Arc::new(HttpSession {
            id: id.into(),
            session: Arc::new(Session::new()),
            in_flight: Mutex::default(),
            stream_open: std::sync::atomic::AtomicBool::new(false),
            closed: CancellationToken::new(),
            last_seen: Mutex::new(Instant::now()),
        }))
    }

    pub(crate) fn insert(&self, session: Arc<HttpSession>) {
        let previous = lock(&self.streamable).insert(Arc::clone(&session.id), session);
        if previous.is_none() {
            self.count.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The live session with this id; an idle-expired one is removed.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<HttpSession>> {
        self.sweep(false);
        let session = lock(&self.streamable).get(id).cloned()?;
        if !session.is_busy() && session.idle_since(Instant::now()) > self.idle_timeout {
            self.remove(id);
            return None;
        }
        session.touch();
        Some(session)
    }

    /// Ends a session: its streams close and its requests are cancelled.
    pub(crate) fn remove(&self, id: &str) -> bool {
        let Some(session) = lock(&self.streamable).remove(id) else {
            return false;
        };
        self.count.fetch_sub(1, Ordering::AcqRel);
        session.closed.cancel();
        tracing::debug!(session = %session.id, "session ended");
        true
    }

    pub(crate) fn open_legacy(
        &self,
        incoming: mpsc::Sender<Bytes>,
        owner: Option<String>,
    ) -> Result<Arc<str>, OpenError> {
        if !self.has_room() {
            return Err(OpenError::Full);
        }
        let id: Arc<str> = new_session_id().map_err(OpenError::Random)?.into();
        lock(&self.legacy).insert(Arc::clone(&id), Arc::new(LegacySession { incoming, owner }));
        self.count.fetch_add(1, Ordering::AcqRel);
        Ok(id)
    }

    pub(crate) fn legacy(&self, id: &str) -> Option<Arc<LegacySession>> {
        lock(&self.legacy).get(id).cloned()
    }

    pub(crate) fn close_legacy(&self, id: &str) {
        if lock(&self.legacy).remove(id).is_some() {
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Ends every session (graceful shutdown).
    pub(crate) fn close_all(&self) {
        let ids: Vec<Arc<str>> = lock(&self.streamable).keys().cloned().collect();
        for id in ids {
            self.remove(&id);
        }
    }

    /// Removes idle sessions; at most every few seconds unless `force`d.
    pub(crate) fn sweep(&self, force: bool) {
        let now = Instant::now();
        {
            let mut last = lock(&self.last_sweep);
            if !force && now.saturating_duration_since(*last) < Duration::from_secs(5) {
                return;
            }
            *last = now;
        }
        let expired: Vec<Arc<str>> = lock(&self.streamable)
            .values()
            .filter(|s| !s.is_busy() && s.idle_since(now) > self.idle_timeout)
            .map(|s| Arc::clone(&s.id))
            .collect();
        for id in expired {
            tracing::debug!(session = %id, "session expired");
            self.remove(&id);
        }
    }
}

/// Why a session did not take a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its id belongs to a request in progress.
    InUse,
    /// The session has this many requests in progress already.
    Full(usize),
}

impl Refusal {
    /// The JSON-RPC error and HTTP status for the refusal of request `id`.
    pub(crate) fn error(self, id: &RequestId) -> (http::StatusCode, ErrorObject) {
        match self {
            Self::InUse => (
                http::StatusCode::BAD_REQUEST,
                ErrorObject::new(
                    error_code::INVALID_REQUEST,
                    format!(
                        "invalid request: request id {id} is already in use by a request in progress"
                    ),
                ),
            ),
            Self::Full(limit) => (
                http::StatusCode::TOO_MANY_REQUESTS,
                crate::session::in_flight_error(limit),
            ),
        }
    }
}
