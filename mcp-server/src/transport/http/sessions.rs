//! Live sessions of the stateful revisions: Streamable HTTP sessions keyed
//! by `Mcp-Session-Id`, and legacy SSE connections keyed by their
//! `session_id` query parameter. Both count against one table, bounded in
//! all and per caller (see `shares`), so one caller cannot fill it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mcp_core::jsonrpc::{ErrorObject, RequestId, error_code};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::HttpConfig;
use super::shares::{Caller, NoRoom, Shares};
use crate::auth::Principal;
use crate::session::Session;
use crate::transport::Delivered;

/// An unguessable session id: 128 bits from the OS CSPRNG, as hex (visible
/// ASCII, as the spec requires).
pub(crate) fn new_session_id() -> Result<String, getrandom::Error> {
    crate::random::id(crate::random::OS)
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
    /// Who the session counts against.
    caller: Caller,
    /// Requests in progress, so `notifications/cancelled` can reach them.
    in_flight: Mutex<HashMap<RequestId, CancellationToken>>,
    /// Whether the standalone GET stream is open (at most one).
    pub(crate) stream_open: std::sync::atomic::AtomicBool,
    /// Cancelled when the session ends: its streams close, its requests stop.
    pub(crate) closed: CancellationToken,
    last_seen: Mutex<Instant>,
}

impl HttpSession {
    fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

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
    /// just finished (or runs on another replica). True when it ran here.
    pub(crate) fn cancel(&self, id: &RequestId) -> bool {
        match lock(&self.in_flight).remove(id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn idle_since(&self, now: Instant) -> Duration {
        now.saturating_duration_since(*lock(&self.last_seen))
    }

    /// A busy session (its GET stream open, or requests in progress) never
    /// expires and is never evicted.
    fn is_busy(&self) -> bool {
        self.stream_open.load(Ordering::Acquire) || !lock(&self.in_flight).is_empty()
    }
}

/// A legacy SSE connection: where its POSTed messages go.
#[derive(Debug)]
pub(crate) struct LegacySession {
    pub(crate) incoming: mpsc::Sender<Delivered>,
    /// Messages forwarded by other replicas waiting for room in `incoming`.
    pub(crate) forwarded_waiting: Arc<AtomicUsize>,
    /// The identity that opened the stream, when the transport
    /// authenticates: only it may post to the stream.
    pub(crate) owner: Option<Arc<Principal>>,
    caller: Caller,
}

#[derive(Debug, Default)]
struct Table {
    streamable: HashMap<Arc<str>, Arc<HttpSession>>,
    legacy: HashMap<Arc<str>, Arc<LegacySession>>,
    shares: Shares,
}

/// The session tables, bounded overall and per caller, and swept of idle
/// sessions.
#[derive(Debug)]
pub(crate) struct Sessions {
    table: Mutex<Table>,
    max: usize,
    per_principal: usize,
    per_client: usize,
    idle_timeout: Duration,
    last_sweep: Mutex<Instant>,
    pub(crate) count: AtomicUsize,
}

/// Why a session could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The caller holds its share of sessions, and none of them is idle.
    OverShare {
        held: usize,
    },
    /// The table is full of busy sessions.
    Full,
    Random(getrandom::Error),
}

impl OpenError {
    /// The response refusing the `initialize` (or SSE stream) that asked.
    pub(crate) fn response(&self, id: Option<RequestId>) -> http::Response<super::McpBody> {
        match self {
            Self::OverShare { held } => super::too_many_requests(
                id,
                ErrorObject::new(
                    error_code::RATE_LIMITED,
                    format!(
                        "too many sessions: this caller already holds {held} and none of them is idle; end one with DELETE, or retry when one is idle"
                    ),
                )
                .with_data(serde_json::json!({ "retryAfterSeconds": 1 })),
                1,
            ),
            Self::Full => super::busy(id, "every session is busy"),
            Self::Random(e) => {
                tracing::error!(error = %e, "no randomness for a session id");
                super::error(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    id,
                    error_code::INTERNAL_ERROR,
                    "internal error: could not create a session",
                )
            }
        }
    }
}

/// A session being opened: it holds its place in the table, and gives it
/// back unless [`Pending::commit`]ted (the handshake failed, or the client
/// left during it).
#[derive(Debug)]
pub(crate) struct Pending<'a> {
    sessions: &'a Sessions,
    session: Arc<HttpSession>,
    committed: bool,
}

impl Pending<'_> {
    pub(crate) fn session(&self) -> &Arc<HttpSession> {
        &self.session
    }

    /// Makes the session visible under its id.
    pub(crate) fn commit(mut self) {
        let mut table = lock(&self.sessions.table);
        let session = Arc::clone(&self.session);
        table.shares.used(&session.caller, &session.id);
        table.streamable.insert(Arc::clone(&session.id), session);
        self.committed = true;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let mut table = lock(&self.sessions.table);
            table.shares.remove(&self.session.caller, None);
            self.sessions.recount(&table);
        }
    }
}

impl Sessions {
    pub(crate) fn new(config: &HttpConfig) -> Self {
        Self {
            table: Mutex::default(),
            max: config.max_sessions,
            per_principal: config.max_sessions_per_principal,
            per_client: config.max_sessions_per_client,
            idle_timeout: config.session_idle_timeout,
            last_sweep: Mutex::new(Instant::now()),
            count: AtomicUsize::new(0),
        }
    }

    fn recount(&self, table: &Table) {
        self.count.store(table.shares.total(), Ordering::Release);
    }

    /// Takes a place for one more session of `caller`, evicting an idle
    /// session when that is what makes room; the evicted one is returned
    /// to be closed once the table is unlocked.
    fn reserve(
        &self,
        table: &mut Table,
        caller: &Caller,
    ) -> Result<Option<Arc<HttpSession>>, OpenError> {
        let cap = match caller {
            Caller::Principal { .. } => self.per_principal,
            Caller::Client(_) => self.per_client,
            Caller::Unknown => usize::MAX,
        };
        let Table {
            streamable, shares, ..
        } = table;
        let victim = shares
            .make_room(caller, cap, self.max, |id| {
                streamable.get(id).is_some_and(|s| !s.is_busy())
            })
            .map_err(|e| match e {
                NoRoom::OverShare { held } => OpenError::OverShare { held },
                NoRoom::Full => OpenError::Full,
            })?;
        let evicted = victim.and_then(|id| streamable.remove(&id));
        if let Some(evicted) = &evicted {
            shares.remove(&evicted.caller, None);
        }
        shares.add(caller);
        self.recount(table);
        Ok(evicted)
    }

    /// Opens a session for `caller`; it is not visible until
    /// [`Pending::commit`].
    pub(crate) fn create(&self, caller: Caller) -> Result<Pending<'_>, OpenError> {
        self.sweep(false);
        let id = new_session_id().map_err(OpenError::Random)?;
        let evicted = self.reserve(&mut lock(&self.table), &caller)?;
        close_evicted(evicted);
        Ok(Pending {
            sessions: self,
            session: Arc::new(HttpSession {
                id: id.into(),
                session: Arc::new(Session::new()),
                caller,
                in_flight: Mutex::default(),
                stream_open: std::sync::atomic::AtomicBool::new(false),
                closed: CancellationToken::new(),
                last_seen: Mutex::new(Instant::now()),
            }),
            committed: false,
        })
    }

    /// The live session with this id; an idle-expired one is removed.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<HttpSession>> {
        self.sweep(false);
        let mut table = lock(&self.table);
        let session = table.streamable.get(id).cloned()?;
        if !session.is_busy() && session.idle_since(Instant::now()) > self.idle_timeout {
            drop(table);
            self.remove(id);
            return None;
        }
        table.shares.used(&session.caller, &session.id);
        drop(table);
        session.touch();
        Some(session)
    }

    /// The session with this id held here, if any, without using it.
    pub(crate) fn peek(&self, id: &str) -> Option<Arc<HttpSession>> {
        lock(&self.table).streamable.get(id).cloned()
    }

    /// Takes in a session opened on another replica, under the same caps
    /// as one opened here. Two requests adopting it at once get one session.
    pub(crate) fn adopt(
        &self,
        id: &str,
        caller: Caller,
        session: Session,
    ) -> Result<Arc<HttpSession>, OpenError> {
        let evicted = self.reserve(&mut lock(&self.table), &caller)?;
        close_evicted(evicted);
        let mut table = lock(&self.table);
        if let Some(existing) = table.streamable.get(id).cloned() {
            table.shares.remove(&caller, None);
            self.recount(&table);
            return Ok(existing);
        }
        let session = Arc::new(HttpSession {
            id: id.into(),
            session: Arc::new(session),
            caller,
            in_flight: Mutex::default(),
            stream_open: std::sync::atomic::AtomicBool::new(false),
            closed: CancellationToken::new(),
            last_seen: Mutex::new(Instant::now()),
        });
        table.shares.used(&session.caller, &session.id);
        table
            .streamable
            .insert(Arc::clone(&session.id), Arc::clone(&session));
        Ok(session)
    }

    /// Marks a session used now (its stream just closed, say).
    pub(crate) fn touch(&self, session: &HttpSession) {
        let mut table = lock(&self.table);
        if table.streamable.contains_key(&session.id) {
            table.shares.used(&session.caller, &session.id);
        }
        drop(table);
        session.touch();
    }

    /// Ends a session: its streams close and its requests are cancelled.
    pub(crate) fn remove(&self, id: &str) -> bool {
        let session = {
            let mut table = lock(&self.table);
            let Some(session) = table.streamable.remove(id) else {
                return false;
            };
            table.shares.remove(&session.caller, Some(&session.id));
            self.recount(&table);
            session
        };
        session.closed.cancel();
        tracing::debug!(session = %session.id, "session ended");
        true
    }

    /// Opens a legacy SSE session for the caller, under the same caps as
    /// Streamable HTTP sessions.
    pub(crate) fn open_legacy(
        &self,
        incoming: mpsc::Sender<Delivered>,
        principal: Option<&Arc<Principal>>,
        peer: Option<IpAddr>,
    ) -> Result<Arc<str>, OpenError> {
        self.sweep(false);
        let caller = Caller::of(principal.map(Arc::as_ref), peer);
        let id: Arc<str> = new_session_id().map_err(OpenError::Random)?.into();
        let evicted = {
            let mut table = lock(&self.table);
            let evicted = self.reserve(&mut table, &caller)?;
            let session = LegacySession {
                incoming,
                forwarded_waiting: Arc::default(),
                owner: principal.cloned(),
                caller,
            };
            table.legacy.insert(Arc::clone(&id), Arc::new(session));
            evicted
        };
        close_evicted(evicted);
        Ok(id)
    }

    pub(crate) fn legacy(&self, id: &str) -> Option<Arc<LegacySession>> {
        lock(&self.table).legacy.get(id).cloned()
    }

    pub(crate) fn close_legacy(&self, id: &str) {
        let mut table = lock(&self.table);
        if let Some(session) = table.legacy.remove(id) {
            table.shares.remove(&session.caller, None);
            self.recount(&table);
        }
    }

    /// Ends every session (graceful shutdown).
    pub(crate) fn close_all(&self) {
        let ids: Vec<Arc<str>> = lock(&self.table).streamable.keys().cloned().collect();
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
        let expired: Vec<Arc<str>> = lock(&self.table)
            .streamable
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

/// Ends a session evicted to make room: its client gets 404 next time and
/// starts a new one, as it would after expiry.
fn close_evicted(evicted: Option<Arc<HttpSession>>) {
    if let Some(session) = evicted {
        session.closed.cancel();
        tracing::info!(session = %session.id, caller = ?session.caller, "evicted an idle session to make room for a new one");
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
