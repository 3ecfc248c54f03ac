//! Answering POSTed requests: as JSON when the answer comes first, as an
//! SSE stream when a notification does.

use super::*;
use crate::transport::http::history::Producer;

pub(super) struct Dispatch {
    pub(super) session: Option<Arc<HttpSession>>,
    /// 2026-07-28: a client that closes its stream cancels its request.
    pub(super) disconnect_cancels: bool,
    pub(super) timeout: Option<Duration>,
    /// What the request's large body holds of the bodies' budget: given
    /// back when the request is done with its params, also when its
    /// client left a stream the request still answers on.
    pub(super) body: Option<OwnedSemaphorePermit>,
}

pub(super) async fn dispatch(
    shared: &Arc<Shared>,
    request: RpcRequest,
    wire: Wire,
    accept: Accept,
    how: Dispatch,
) -> Response<McpBody> {
    let cancellation = tokio_util::sync::CancellationToken::new();
    dispatch_with(shared, request, wire, accept, how, cancellation).await
}

/// Runs the request in its own task and answers the POST: with JSON when
/// the response is the first thing ready, with an SSE stream when a
/// notification comes first.
pub(super) async fn dispatch_with(
    shared: &Arc<Shared>,
    request: RpcRequest,
    wire: Wire,
    accept: Accept,
    how: Dispatch,
    cancellation: tokio_util::sync::CancellationToken,
) -> Response<McpBody> {
    let id = request.id.clone();
    let Ok(permit) = Arc::clone(&shared.permits).try_acquire_owned() else {
        return busy(Some(id), "too many requests in progress");
    };
    let (tx, mut rx) = mpsc::channel::<Outgoing>(64);
    let (answer_tx, mut answer_rx) = oneshot::channel::<Answer>();
    let active = Active::new(&shared.active_requests);
    let server = shared.server.clone();
    let session = how.session.clone();
    let drain = shared.drain.clone();
    let body = how.body;
    let work = async move {
        let request_id = request.id.clone();
        let answer = run(
            server,
            wire,
            request,
            Outbound::new(tx),
            cancellation,
            how.timeout,
            &drain,
        )
        .await;
        // The request stops counting against every limit before its
        // answer leaves, so a client that sees it can send the next.
        drop((permit, active, body));
        if let Some(session) = session {
            session.finish(&request_id);
        }
        // A cancelled request gets no response; its stream just ends.
        if let Some(answer) = answer {
            let _ = answer_tx.send(answer);
        }
    }
    .in_current_span();
    // Polled once here: one done then has its answer ready before anything
    // below waits (no wake-up, no timer for `stream_after`); one still
    // pending goes on in its own task, boxed so that it moves as a pointer.
    // A panic ends it as a panicking task did: without an answer.
    let mut work = Box::pin(work);
    let first_poll = crate::transport::poll_in_place(work.as_mut());
    // Dropping this (the client left before the answer) cancels the request
    // where disconnects mean cancellation.
    let abort = if first_poll.is_some() {
        AbortOnDrop(None)
    } else {
        let task = tokio::spawn(work);
        AbortOnDrop(how.disconnect_cancels.then(|| task.abort_handle()))
    };

    if !accept.sse {
        drop(rx); // notifications have nowhere to go
        return match answer_rx.await {
            Ok(answer) => answer_json(answer),
            Err(_) => cancelled_response(id),
        };
    }
    // Sessions of 2025-11-25 prime their streams, so a request still
    // running after `stream_after` answers on a stream it can resume.
    let priming = how
        .session
        .as_ref()
        .and_then(|s| s.session.version())
        .is_some_and(|v| v >= ProtocolVersion::V2025_11_25 && !v.is_stateless());
    let stream_after = async {
        if priming {
            tokio::time::sleep(shared.config.stream_after).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let first = if accept.json {
        tokio::select! {
            biased;
            answer = &mut answer_rx => match (answer, rx.try_recv()) {
                // Notifications are already queued: they go first, on a stream.
                (Ok(answer), Ok(queued)) => First::Stream(vec![queued], Some(answer)),
                (Ok(answer), Err(_)) => First::Answer(answer),
                (Err(_), _) => return cancelled_response(id),
            },
            Some(outgoing) = rx.recv() => First::Stream(vec![outgoing], None),
            () = stream_after => First::Stream(Vec::new(), None),
        }
    } else {
        First::Stream(Vec::new(), None)
    };
    match first {
        First::Answer(answer) => answer_json(answer),
        First::Stream(queued, answer) if how.session.is_some() => {
            let Some(session) = how.session else {
                return empty(StatusCode::INTERNAL_SERVER_ERROR);
            };
            let Some(stream) = resume::new_stream('p') else {
                return empty(StatusCode::INTERNAL_SERVER_ERROR);
            };
            let events = Arc::clone(&shared.config.event_store);
            let key =
                crate::transport::http::history::StreamKey::new(Arc::clone(&session.id), stream);
            if let Err(e) = events.open(&key).await {
                tracing::error!(error = %e, "a POST stream could not be opened in the event store");
            }
            // Other replicas end the stream with an error if this one stops
            // before answering.
            if let Some(stores) = shared.server.shared() {
                let producer = Producer {
                    replica: stores.replica.clone(),
                    request: id.clone(),
                };
                if let Err(e) = events.set_producer(&key, &producer).await {
                    tracing::warn!(error = %e, "a POST stream's producer could not be recorded");
                }
            }
            let first = priming.then(|| resume::priming(&key.stream, 0, shared.config.sse_retry));
            let (live_tx, live_rx) = mpsc::channel(16);
            resume::pump(events, key, queued, answer, rx, answer_rx, live_tx);
            drop(session);
            let guard =
                StreamGuard::new(Arc::clone(&shared.open_streams)).on_close(move || drop(abort));
            let body = resume::live(first, live_rx);
            sse_response(SseBody::new(body, Some(shared.config.keep_alive), guard))
        }
        First::Stream(queued, answer) => {
            let guard =
                StreamGuard::new(Arc::clone(&shared.open_streams)).on_close(move || drop(abort));
            let events = post_stream(queued, answer, rx, answer_rx);
            sse_response(SseBody::new(events, Some(shared.config.keep_alive), guard))
        }
    }
}

pub(super) enum First {
    Answer(Answer),
    Stream(Vec<Outgoing>, Option<Answer>),
}

/// The events of one POST's SSE response: what was already queued, then
/// notifications as they come, then the response, which ends the stream.
pub(super) fn post_stream(
    queued: Vec<Outgoing>,
    answer: Option<Answer>,
    rx: mpsc::Receiver<Outgoing>,
    answer_rx: oneshot::Receiver<Answer>,
) -> impl futures_util::Stream<Item = Bytes> + Send {
    struct State {
        queued: Vec<Outgoing>,
        answer: Option<Answer>,
        rx: mpsc::Receiver<Outgoing>,
        answer_rx: Option<oneshot::Receiver<Answer>>,
    }
    let state = State {
        queued,
        answer,
        rx,
        answer_rx: Some(answer_rx),
    };
    futures_util::stream::unfold(state, |mut state| async move {
        let mut buf = Vec::new();
        if !state.queued.is_empty() || state.answer.is_some() {
            for outgoing in state.queued.drain(..) {
                body::outgoing_event(&mut buf, &outgoing, false);
            }
            if let Some(answer) = state.answer.take() {
                while let Ok(outgoing) = state.rx.try_recv() {
                    body::outgoing_event(&mut buf, &outgoing, false);
                }
                body::message_event(&mut buf, &answer.message);
                state.answer_rx = None;
            }
            return Some((Bytes::from(buf), state));
        }
        let answer_rx = state.answer_rx.as_mut()?;
        tokio::select! {
            biased;
            Some(outgoing) = state.rx.recv() => body::outgoing_event(&mut buf, &outgoing, false),
            answer = answer_rx => {
                while let Ok(outgoing) = state.rx.try_recv() {
                    body::outgoing_event(&mut buf, &outgoing, false);
                }
                if let Ok(answer) = answer {
                    body::message_event(&mut buf, &answer.message);
                }
                state.answer_rx = None;
            }
        }
        if buf.is_empty() {
            return None;
        }
        Some((Bytes::from(buf), state))
    })
}

/// Runs one request to its answer: `None` when it was cancelled, an error
/// when it timed out or was still running at the shutdown deadline.
pub(super) async fn run(
    server: crate::Server,
    wire: Wire,
    request: RpcRequest,
    outbound: Outbound,
    cancellation: tokio_util::sync::CancellationToken,
    timeout: Option<Duration>,
    drain: &Drain,
) -> Option<Answer> {
    let id = request.id.clone();
    let stop = Stop {
        cancellation: cancellation.clone(),
        shutdown: server.shutdown_signal().clone(),
    };
    let work = router::handle_request(server, wire, request, outbound, stop, timeout);
    // In this order, a request answered at its first poll never waits on
    // the (shared) shutdown deadline.
    tokio::select! {
        biased;
        answer = work => Some(answer),
        () = cancellation.cancelled() => None,
        () = drain.expired() => Some(drain.expired_answer(id)),
    }
}

pub(super) fn status_of(status: AnswerStatus) -> StatusCode {
    match status {
        AnswerStatus::Ok => StatusCode::OK,
        AnswerStatus::BadRequest => StatusCode::BAD_REQUEST,
        AnswerStatus::NotFound => StatusCode::NOT_FOUND,
        AnswerStatus::Forbidden => StatusCode::FORBIDDEN,
        AnswerStatus::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// The JSON response for an answer; a missing scope also gets its
/// `WWW-Authenticate` challenge naming every scope the call needs.
pub(super) fn answer_json(answer: Answer) -> Response<McpBody> {
    let challenge = (answer.status == AnswerStatus::Forbidden)
        .then(|| scope_challenge(&answer.message))
        .flatten();
    let mut response = message_json_owned(status_of(answer.status), answer.message);
    response.extensions_mut().insert(Audited);
    if let AnswerStatus::TooManyRequests(seconds) = answer.status {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(value) = challenge {
        response
            .headers_mut()
            .insert(http::header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The `WWW-Authenticate` challenge of a missing scope, naming every scope
/// the call needs.
fn scope_challenge(message: &Message) -> Option<HeaderValue> {
    let Message::Error(error) = message else {
        return None;
    };
    let scopes: Vec<&str> = error
        .error
        .data
        .as_ref()
        .and_then(|d| d.get("requiredScopes"))
        .and_then(|s| s.as_array())
        .map(|s| s.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let challenge = format!(
        r#"Bearer error="insufficient_scope", scope="{}""#,
        scopes.join(" ")
    );
    HeaderValue::from_str(&challenge).ok()
}

pub(super) fn cancelled_response(id: RequestId) -> Response<McpBody> {
    error(
        StatusCode::OK,
        Some(id),
        error_code::INTERNAL_ERROR,
        "the request was cancelled",
    )
}
