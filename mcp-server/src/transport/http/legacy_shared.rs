//! Legacy HTTP+SSE (2024-11-05) streams behind a load balancer. The
//! replica that holds a stream records it in the shared store (its owner
//! and nothing else: the connection's state lives with the stream); a POST
//! for it that lands on another replica is checked against that record and
//! forwarded over the bus to the holder, which delivers it as if it had
//! been posted there. The answer comes back on the stream, as always.
//!
//! A stream cannot outlive its replica: when that dies, the client sees the
//! stream end and opens a new one, as the 2024-11-05 transport expects.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use mcp_core::ProtocolVersion;
use tokio::sync::mpsc;

use super::Shared;
use crate::auth::Principal;
use crate::store::{BusMessage, PrincipalBinding, SessionRecord, StoreError, now_ms};
use crate::transport::Delivered;

/// Legacy streams' records share the session store with Streamable HTTP
/// sessions, under ids no Streamable HTTP session has (those are hex).
pub(super) const KEY_PREFIX: &str = "sse-";

fn key(id: &str) -> String {
    format!("{KEY_PREFIX}{id}")
}

/// Records stream `id`, opened by `principal`, before its `endpoint`
/// event names it.
pub(super) async fn register(
    shared: &Shared,
    id: &str,
    principal: Option<&Principal>,
) -> Result<(), StoreError> {
    let Some(store) = shared.server.shared() else {
        return Ok(());
    };
    let now = now_ms();
    let record = SessionRecord {
        id: key(id),
        version: ProtocolVersion::V2024_11_05,
        client_info: Default::default(),
        capabilities: Default::default(),
        initialized: false,
        log_level: None,
        principal: principal.map(PrincipalBinding::of),
        subscriptions: Default::default(),
        created_ms: now,
        last_seen_ms: now,
    };
    super::replicas::create(store, &record).await
}

/// Forgets stream `id`, which ended here.
pub(super) fn unregister(shared: &Shared, id: &str) {
    let Some(store) = shared.server.shared() else {
        return;
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let store = Arc::clone(store);
    let key = key(id);
    tokio::spawn(async move {
        let removed = store.stores.sessions.remove(&key).await;
        if let Err(e) = store.observe(removed) {
            tracing::warn!(session = %key, error = %e, "a closed legacy stream stays recorded until it expires");
        }
    });
}

/// Keeps the record of stream `id`, held here and opened by `owner`, alive
/// while it is used; records it again if it expired meanwhile.
pub(super) async fn touch(
    shared: &Shared,
    id: &str,
    owner: Option<&Principal>,
) -> Result<(), StoreError> {
    let Some(store) = shared.server.shared() else {
        return Ok(());
    };
    let touched = store
        .stores
        .sessions
        .touch(&key(id), store.stores.session_ttl)
        .await;
    if store.observe(touched)? {
        return Ok(());
    }
    register(shared, id, owner).await
}

/// Whether stream `id` is held by some replica and `principal` may post to
/// it. Always false without a shared store.
pub(super) async fn held_elsewhere(
    shared: &Shared,
    id: &str,
    principal: Option<&Principal>,
) -> Result<bool, StoreError> {
    let Some(store) = shared.server.shared() else {
        return Ok(false);
    };
    if id.starts_with(KEY_PREFIX) {
        return Ok(false);
    }
    let found = store
        .stores
        .sessions
        .get(&key(id), store.stores.session_ttl)
        .await;
    Ok(store
        .observe(found)?
        .is_some_and(|record| record.belongs_to(principal)))
}

/// Sends a message posted here to the replica holding stream `id`.
pub(super) async fn forward(
    shared: &Shared,
    id: &str,
    bytes: &Bytes,
    principal: Option<&Principal>,
) -> Result<(), StoreError> {
    let Some(store) = shared.server.shared() else {
        return Ok(());
    };
    let message = BusMessage::LegacyMessage {
        session: id.to_owned(),
        message: String::from_utf8_lossy(bytes).into_owned(),
        principal: principal.cloned(),
    };
    let published = store.stores.bus.publish(&message).await;
    store.observe(published)
}

/// A message another replica forwarded for stream `session`: delivered
/// when the stream is held here and `principal` owns it.
pub(super) fn deliver(
    shared: &Shared,
    session: &str,
    message: &str,
    principal: Option<&Principal>,
) {
    let Some(stream) = shared.sessions.legacy(session) else {
        return;
    };
    if !crate::auth::same_owner(stream.owner.as_deref(), principal) {
        tracing::warn!(
            session,
            "a forwarded message from another identity was dropped"
        );
        return;
    }
    let delivered = Delivered {
        bytes: Bytes::copy_from_slice(message.as_bytes()),
        principal: principal.cloned().map(Arc::new),
    };
    if !queue_forwarded(&stream.incoming, &stream.forwarded_waiting, delivered) {
        tracing::warn!(
            session,
            waiting = MAX_FORWARDED_WAITING,
            "a legacy stream's input is full: a message forwarded by another replica was dropped"
        );
    }
}

/// Forwarded messages that may wait for room in one stream's input.
const MAX_FORWARDED_WAITING: usize = 64;

/// Queues a forwarded message on a stream's input. The bus listener must
/// not wait on one stream, so a full input is waited on by a task of its
/// own; the poster was answered by another replica and cannot be slowed
/// down, so past `MAX_FORWARDED_WAITING` such tasks the message is dropped
/// (false) rather than held: a client flooding a stream it does not read
/// costs the holder a bounded amount of memory.
fn queue_forwarded(
    incoming: &mpsc::Sender<Delivered>,
    waiting: &Arc<AtomicUsize>,
    delivered: Delivered,
) -> bool {
    let Err(mpsc::error::TrySendError::Full(delivered)) = incoming.try_send(delivered) else {
        return true; // queued, or the stream has closed
    };
    if waiting.fetch_add(1, Ordering::AcqRel) >= MAX_FORWARDED_WAITING {
        waiting.fetch_sub(1, Ordering::AcqRel);
        return false;
    }
    let incoming = incoming.clone();
    let waiting = Arc::clone(waiting);
    tokio::spawn(async move {
        let _closed = incoming.send(delivered).await;
        waiting.fetch_sub(1, Ordering::AcqRel);
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: usize) -> Delivered {
        Delivered {
            bytes: Bytes::from(n.to_string()),
            principal: None,
        }
    }

    #[tokio::test]
    async fn a_stream_that_does_not_read_holds_a_bounded_number_of_forwarded_messages() {
        let (incoming, mut input) = mpsc::channel(2);
        let waiting = Arc::new(AtomicUsize::new(0));
        let sent = 2 + MAX_FORWARDED_WAITING + 10;
        let queued = (0..sent)
            .filter(|&n| queue_forwarded(&incoming, &waiting, message(n)))
            .count();
        assert_eq!(queued, 2 + MAX_FORWARDED_WAITING);
        assert_eq!(waiting.load(Ordering::Acquire), MAX_FORWARDED_WAITING);

        // Once the stream reads, every message taken is delivered, the
        // first two in order, and nothing is left waiting.
        let mut received = Vec::new();
        while received.len() < queued {
            let delivered = input.recv().await.unwrap();
            received.push(String::from_utf8(delivered.bytes.to_vec()).unwrap());
        }
        assert_eq!(received[..2], ["0", "1"]);
        received.sort_by_key(|n| n.parse::<usize>().unwrap());
        let expected: Vec<String> = (0..queued).map(|n| n.to_string()).collect();
        assert_eq!(received, expected);
        while waiting.load(Ordering::Acquire) != 0 {
            tokio::task::yield_now().await;
        }
        assert!(input.try_recv().is_err());
    }
}
