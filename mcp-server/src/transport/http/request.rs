//! Reading a request: its headers and its JSON body, within limits.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, AsHeaderName, HeaderMap};
use http_body_util::BodyExt;
use mcp_core::jsonrpc::error_code;

use super::responses::error;
use super::{BoxError, HttpConfig, McpBody};
use http::Response;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The protocol's header names, made once: a name given as a `&str` is
/// parsed, checked and lower-cased at every lookup.
pub(crate) mod names {
    use http::header::HeaderName;

    pub(crate) static SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
    pub(crate) static PROTOCOL_VERSION: HeaderName =
        HeaderName::from_static("mcp-protocol-version");
    pub(crate) static METHOD: HeaderName = HeaderName::from_static("mcp-method");
    pub(crate) static NAME: HeaderName = HeaderName::from_static("mcp-name");
    pub(crate) static LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
    pub(crate) static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
    #[cfg(feature = "otel")]
    pub(crate) static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
}

/// A header's value, where it is text.
pub(crate) fn header_str<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Which response types the client accepts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Accept {
    pub(super) json: bool,
    pub(super) sse: bool,
}

impl Accept {
    pub(super) fn of(headers: &HeaderMap) -> Self {
        let mut accept = Self {
            json: false,
            sse: false,
        };
        let values = headers.get_all(header::ACCEPT);
        let mut any_value = false;
        for value in values {
            any_value = true;
            for item in value.to_str().unwrap_or("").split(',') {
                let media = item.split(';').next().unwrap_or("").trim();
                match media.to_ascii_lowercase().as_str() {
                    "application/json" | "application/*" => accept.json = true,
                    "text/event-stream" | "text/*" => accept.sse = true,
                    "*/*" => {
                        accept.json = true;
                        accept.sse = true;
                    }
                    _ => {}
                }
            }
        }
        if !any_value {
            // No Accept header means anything goes.
            accept.json = true;
            accept.sse = true;
        }
        accept
    }
}

pub(crate) fn is_json_content(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// How large a body may be, how long it may take to arrive, and the
/// bytes all large bodies may hold at once.
#[derive(Debug, Clone)]
pub(crate) struct BodyLimits {
    pub(crate) max_bytes: usize,
    pub(crate) timeout: std::time::Duration,
    pub(crate) budget: Arc<Semaphore>,
}

impl BodyLimits {
    pub(crate) fn of(config: &HttpConfig) -> Self {
        Self {
            max_bytes: config.max_body_bytes,
            timeout: config.body_timeout,
            budget: Arc::clone(&config.body_budget),
        }
    }
}

/// A request body read whole, and its share of the bytes bodies may hold
/// at once: keep it until the request is answered.
#[derive(Debug)]
pub(crate) struct ReadBody {
    pub(crate) bytes: Bytes,
    pub(crate) held: Held,
}

/// What a large body holds of [`HttpConfig::max_body_bytes_in_flight`].
#[derive(Debug, Default)]
pub(crate) struct Held(Option<OwnedSemaphorePermit>);

impl Held {
    /// What is held, to keep for as long as its request runs.
    pub(crate) fn into_permit(self) -> Option<OwnedSemaphorePermit> {
        self.0
    }

    /// Takes `bytes` more of `budget`, unless it has not that many left.
    fn grow(&mut self, budget: &Arc<Semaphore>, bytes: usize) -> Result<(), BodyError> {
        let bytes = u32::try_from(bytes).map_err(|_| BodyError::Busy)?;
        let more = Arc::clone(budget)
            .try_acquire_many_owned(bytes)
            .map_err(|_| BodyError::Busy)?;
        match &mut self.0 {
            Some(held) => held.merge(more),
            None => self.0 = Some(more),
        }
        Ok(())
    }

    /// Gives `bytes` back.
    fn shrink(&mut self, bytes: usize) {
        if let Some(held) = &mut self.0 {
            drop(held.split(bytes));
        }
    }

    /// How many bytes are held.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.0.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

/// From this size on, a body's buffer counts against the bytes bodies may
/// hold at once: smaller ones are bounded by the connections themselves.
const COUNTED: usize = 64 * 1024;

/// Reads a JSON request body, within the size and time limits.
pub(crate) async fn read_json_body<B>(
    headers: &HeaderMap,
    body: B,
    limits: BodyLimits,
) -> Result<ReadBody, Box<Response<McpBody>>>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    // A refusal is answered once what is left of the body has been read
    // (see `drain`), within the same time limit as the body itself.
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let mut body = std::pin::pin!(body);
    let max = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX);
    let declared = header_str(headers, header::CONTENT_LENGTH)
        .and_then(|length| length.trim().parse::<u64>().ok());
    // A client that waits for `100 Continue` sends no body unless it is
    // read: a refusal goes out at once.
    let may_drain = !headers.contains_key(header::EXPECT);
    if !is_json_content(headers) {
        let response = error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            error_code::INVALID_REQUEST,
            "invalid request: Content-Type must be application/json",
        );
        return Err(refuse(body, may_drain, deadline, response).await);
    }
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            error_code::INVALID_REQUEST,
            format!(
                "invalid request: the body is larger than {} bytes",
                limits.max_bytes
            ),
        )
    };
    // A body declared too large is refused before any of it is kept.
    if declared.is_some_and(|length| length > max) || body.size_hint().lower() > max {
        return Err(refuse(body, may_drain, deadline, too_large()).await);
    }
    let declared = declared.and_then(|length| usize::try_from(length).ok());
    let reading = read_body(body.as_mut(), limits.max_bytes, declared, &limits.budget);
    let response = match tokio::time::timeout_at(deadline, reading).await {
        Ok(Ok(read)) => return Ok(read),
        Ok(Err(BodyError::TooLarge)) => too_large(),
        Ok(Err(BodyError::Busy)) => {
            super::busy(None, "too many bytes of request bodies in progress")
        }
        Ok(Err(BodyError::Read(e))) => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                None,
                error_code::PARSE_ERROR,
                format!("parse error: the body could not be read: {e}"),
            )));
        }
        Err(_) => {
            return Err(Box::new(error(
                StatusCode::REQUEST_TIMEOUT,
                None,
                error_code::INVALID_REQUEST,
                "invalid request: the body took too long to arrive",
            )));
        }
    };
    Err(refuse(body, may_drain, deadline, response).await)
}

/// `response`, once the rest of the refused body is read, where it may be.
async fn refuse<B>(
    body: Pin<&mut B>,
    may_drain: bool,
    deadline: tokio::time::Instant,
    response: Response<McpBody>,
) -> Box<Response<McpBody>>
where
    B: http_body::Body<Data = Bytes>,
{
    if may_drain {
        drain(body, deadline).await;
    }
    Box::new(response)
}

/// The most of a request body read and dropped after its answer is ready.
const DRAIN_MAX: u64 = 64 << 20;

/// Reads what is left of a request body that will not be used, and drops
/// it: true once the body has ended. hyper closes a connection whose request
/// body was not read to its end, and a client still sending one (a body
/// refused with 413, or a request refused with 401 or 429 before its body
/// was looked at) then has its writes fail with the connection reset before
/// it reads the answer: it sees a broken connection where an error was
/// sent. At most [`DRAIN_MAX`] bytes, until `deadline`; a body declared
/// larger is not read at all.
pub(crate) async fn drain<B>(mut body: Pin<&mut B>, deadline: tokio::time::Instant) -> bool
where
    B: http_body::Body<Data = Bytes>,
{
    if body.is_end_stream() {
        return true;
    }
    if body.size_hint().lower() > DRAIN_MAX {
        return false;
    }
    let mut left = DRAIN_MAX;
    let draining = async {
        while let Some(frame) = body.as_mut().frame().await {
            let Ok(frame) = frame else { return false };
            if let Some(data) = frame.data_ref() {
                let Some(rest) = left.checked_sub(data.len() as u64) else {
                    return false;
                };
                left = rest;
            }
        }
        true
    };
    tokio::time::timeout_at(deadline, draining).await == Ok(true)
}

/// Why a body could not be read whole.
#[derive(Debug)]
enum BodyError {
    TooLarge,
    /// The bytes all bodies may hold at once are taken.
    Busy,
    Read(BoxError),
}

/// How much larger than what has arrived a body's buffer may be made at
/// once, when the body declares its length: a large body lands in one
/// buffer of its declared size after a few growths, while a client that
/// declares a length it does not send makes the server hold at most this
/// many times what it sent.
const GROWTH: usize = 8;

/// The capacity for a body's buffer that must hold `len` bytes (at most
/// `max`), given the length the body declared. Without one, twice `len`:
/// growing by what each chunk adds would copy the body once per chunk.
fn capacity_for(len: usize, declared: Option<usize>, max: usize) -> usize {
    declared
        .map_or(len.saturating_mul(2), |declared| {
            declared.min(len.saturating_mul(GROWTH))
        })
        .max(len)
        .min(max)
}

/// Reads a body of at most `max` bytes into one buffer.
///
/// A body of one chunk is returned as it came, without a copy. Otherwise
/// each chunk is copied into the buffer as it arrives and dropped, so the
/// connection reuses its read buffer and a large body costs about its own
/// size, not twice (as collecting the chunks, then joining them, would).
///
/// A buffer of [`COUNTED`] bytes or more holds its size of `budget`.
async fn read_body<B>(
    body: B,
    max: usize,
    declared: Option<usize>,
    budget: &Arc<Semaphore>,
) -> Result<ReadBody, BodyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut held = Held::default();
    let mut first: Option<Bytes> = None;
    // A Vec, grown exactly as asked (BytesMut would double): a large body
    // lands in a buffer of its own size, which `Bytes::from` then keeps.
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.into()))?;
        // Trailers carry nothing a JSON-RPC message needs.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let len = first.as_ref().map_or(buf.len(), Bytes::len) + data.len();
        if len > max {
            return Err(BodyError::TooLarge);
        }
        if first.is_none() && buf.is_empty() {
            if data.len() >= COUNTED {
                held.grow(budget, data.len())?;
            }
            first = Some(data);
            continue;
        }
        if buf.capacity() < len {
            let capacity = capacity_for(len, declared, max);
            if capacity >= COUNTED {
                // The first chunk is copied into the buffer and dropped:
                // what it held becomes part of the buffer's.
                if let Some(first) = first.as_ref().filter(|f| f.len() >= COUNTED) {
                    held.shrink(first.len());
                }
                held.grow(budget, capacity - buf.capacity())?;
            }
            buf.reserve_exact(capacity - buf.len());
        }
        if let Some(first) = first.take() {
            buf.extend_from_slice(&first);
        }
        buf.extend_from_slice(&data);
    }
    let bytes = first.unwrap_or_else(|| Bytes::from(buf));
    Ok(ReadBody { bytes, held })
}

/// The span of one HTTP request, a child of the caller's W3C
/// `traceparent` when it sends one.
pub(super) fn span_of<B>(request: &http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!(
        "mcp.http",
        http.method = request.method().as_str(),
        http.path = request.uri().path(),
        // Not a credential: a session is bound to its principal.
        session = request
            .headers()
            .get(&names::SESSION_ID)
            .and_then(|v| v.to_str().ok()),
        trace_id = tracing::field::Empty,
        parent_span_id = tracing::field::Empty,
    );
    if let Some(parent) = request
        .headers()
        .get(&names::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::trace::TraceParent::parse)
    {
        parent.record(&span);
        #[cfg(feature = "otel")]
        crate::telemetry::set_remote_parent(
            &span,
            &parent,
            request
                .headers()
                .get(&names::TRACESTATE)
                .and_then(|v| v.to_str().ok()),
        );
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    #[test]
    fn accept_header() {
        let mut headers = HeaderMap::new();
        let a = Accept::of(&headers);
        assert!(a.json && a.sse);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        let a = Accept::of(&headers);
        assert!(a.json && a.sse);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let a = Accept::of(&headers);
        assert!(a.json && !a.sse);
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        let a = Accept::of(&headers);
        assert!(!a.json && !a.sse);
    }

    fn chunked(chunks: &[&'static [u8]]) -> impl http_body::Body<Data = Bytes, Error = BoxError> {
        let frames = chunks
            .iter()
            .map(|chunk| Ok::<_, BoxError>(http_body::Frame::data(Bytes::from_static(chunk))))
            .collect::<Vec<_>>();
        http_body_util::StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_of_one_chunk_is_not_copied() {
        let chunk: &'static [u8] = br#"{"jsonrpc":"2.0"}"#;
        let read = read_body(chunked(&[chunk]), 100, None, &plenty())
            .await
            .unwrap()
            .bytes;
        assert_eq!(read.as_ptr(), chunk.as_ptr());
        assert!(
            read_body(chunked(&[]), 100, None, &plenty())
                .await
                .unwrap()
                .bytes
                .is_empty()
        );
    }

    fn plenty() -> Arc<Semaphore> {
        Arc::new(Semaphore::new(1 << 30))
    }

    #[tokio::test]
    async fn large_bodies_hold_their_size_of_the_budget_and_small_ones_none() {
        static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];
        let budget = Arc::new(Semaphore::new(5 * CHUNK.len()));
        // A small body holds nothing, large or small budget.
        let small = read_body(chunked(&[b"{}", b"  "]), 1 << 20, None, &budget)
            .await
            .unwrap();
        assert_eq!(small.held.bytes(), 0);
        // One of one large chunk holds its size, given back when dropped.
        let one = read_body(chunked(&[&CHUNK[..]]), 1 << 20, None, &budget)
            .await
            .unwrap();
        assert_eq!(one.held.bytes(), CHUNK.len());
        // Two chunks of no declared length: the buffer's capacity, twice
        // what came; the copied first chunk's share is given back.
        let two = read_body(chunked(&[&CHUNK[..], &CHUNK[..]]), 1 << 20, None, &budget)
            .await
            .unwrap();
        assert_eq!(two.held.bytes(), 4 * CHUNK.len());
        assert_eq!(budget.available_permits(), 0);
        // Nothing left: the next large body is refused, a small one is not.
        let refused = read_body(chunked(&[&CHUNK[..]]), 1 << 20, None, &budget).await;
        assert!(matches!(refused, Err(BodyError::Busy)), "{refused:?}");
        assert!(
            read_body(chunked(&[b"{}"]), 1 << 20, None, &budget)
                .await
                .is_ok()
        );
        drop((one, two));
        assert_eq!(budget.available_permits(), 5 * CHUNK.len());
        // Three chunks declared as such: exactly their size.
        let declared = Some(3 * CHUNK.len());
        let again = read_body(chunked(&[&CHUNK[..]; 3]), 1 << 20, declared, &budget).await;
        assert_eq!(again.unwrap().held.bytes(), 3 * CHUNK.len());
    }

    #[tokio::test]
    async fn a_large_body_is_one_buffer_of_its_size_handed_on_whole() {
        static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];
        let parts = [&CHUNK[..]; 16];
        let size = parts.len() * CHUNK.len();
        let budget = Arc::new(Semaphore::new(size));
        let read = read_body(chunked(&parts), 4 * size, Some(size), &budget)
            .await
            .unwrap();
        // It holds its size of the budget, all of it, until dropped.
        assert_eq!((read.held.bytes(), budget.available_permits()), (size, 0));
        let at = read.bytes.as_ptr();
        let whole = Vec::from(read.bytes);
        assert_eq!((whole.len(), whole.capacity()), (size, size));
        assert_eq!(whole.as_ptr(), at, "the same buffer, not a copy");
    }

    #[tokio::test]
    async fn chunks_are_joined_within_the_limit() {
        let parts: [&'static [u8]; 3] = [b"abc", b"def", b"gh"];
        for declared in [None, Some(8), Some(2), Some(1000)] {
            let read = read_body(chunked(&parts), 8, declared, &plenty())
                .await
                .unwrap();
            assert_eq!(&read.bytes[..], b"abcdefgh", "{declared:?}");
        }
        for declared in [None, Some(7)] {
            let over = read_body(chunked(&parts), 7, declared, &plenty()).await;
            assert!(matches!(over, Err(BodyError::TooLarge)), "{declared:?}");
        }
    }

    #[test]
    fn a_declared_length_is_reserved_only_as_the_body_arrives() {
        // 2 bytes sent of 1,000,000 declared: room for 16, not a million.
        assert_eq!(capacity_for(2, Some(1_000_000), 10_000_000), 2 * GROWTH);
        // Most of it sent: the declared size, once.
        assert_eq!(
            capacity_for(5_000_000, Some(8_000_000), 10_000_000),
            8_000_000
        );
        // No length: twice what is needed, within the limit, so that a body
        // of many chunks is copied a few times, not once per chunk.
        assert_eq!(capacity_for(3, None, 100), 6);
        assert_eq!(capacity_for(60, None, 100), 100);
        // A wrong length: what is needed, within the limit.
        assert_eq!(capacity_for(50, Some(10), 100), 50);
        assert_eq!(capacity_for(50, Some(1000), 100), 100);
    }

    #[tokio::test]
    async fn a_body_that_fails_is_a_read_error() {
        let frames = vec![
            Ok(http_body::Frame::data(Bytes::from_static(b"ab"))),
            Err::<http_body::Frame<Bytes>, BoxError>("reset".into()),
        ];
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
        let failed = read_body(body, 100, None, &plenty()).await;
        assert!(matches!(failed, Err(BodyError::Read(e)) if e.to_string() == "reset"));
    }
}
