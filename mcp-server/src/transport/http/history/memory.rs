//! The in-process event store: what one replica needs.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;

use super::{
    EventLimits, EventStore, EventStoreError, Page, Producer, StoreFuture, StoredEvent, StreamKey,
};

/// What a stream costs besides its events' data, so that a flood of empty
/// streams is bounded too.
const STREAM_OVERHEAD: usize = 256;
/// What an event costs besides its data.
const EVENT_OVERHEAD: usize = 32;

/// Keeps stream history in this process, bounded per stream (events),
/// in age (TTL after the last event) and in total bytes, so no client can
/// make it grow without limit. The default store of the HTTP transport.
#[derive(Debug)]
pub struct MemoryEventStore {
    limits: EventLimits,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    streams: HashMap<StreamKey, Stream>,
    bytes: usize,
    last_sweep: Instant,
}

#[derive(Debug)]
struct Stream {
    events: VecDeque<StoredEvent>,
    next: u64,
    finished: bool,
    touched: Instant,
    bytes: usize,
    producer: Option<Producer>,
    /// Wakes the readers waiting for this stream's next event.
    changed: watch::Sender<()>,
}

impl Stream {
    fn new(now: Instant) -> Self {
        Self {
            events: VecDeque::new(),
            next: 1,
            finished: false,
            touched: now,
            bytes: STREAM_OVERHEAD,
            producer: None,
            changed: watch::Sender::new(()),
        }
    }
}

impl Default for MemoryEventStore {
    fn default() -> Self {
        Self::new(EventLimits::default())
    }
}

impl MemoryEventStore {
    /// A store keeping at most what `limits` allow.
    pub fn new(limits: EventLimits) -> Self {
        Self {
            limits,
            inner: Mutex::new(Inner {
                streams: HashMap::new(),
                bytes: 0,
                last_sweep: Instant::now(),
            }),
        }
    }

    /// Bytes held now, data and bookkeeping, as counted against
    /// [`EventLimits::max_total_bytes`].
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Streams held now.
    pub fn streams(&self) -> usize {
        self.lock().streams.len()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn live<'a>(&self, inner: &'a mut Inner, key: &StreamKey) -> Option<&'a mut Stream> {
        let expired = inner
            .streams
            .get(key)
            .is_some_and(|s| s.touched.elapsed() > self.limits.ttl);
        if expired {
            inner.remove(key);
        }
        inner.streams.get_mut(key)
    }

    /// Drops expired streams (at most once a second), then the streams
    /// idle longest until the total fits; never `keep`.
    fn shrink(&self, inner: &mut Inner, keep: &StreamKey) {
        let now = Instant::now();
        if now.saturating_duration_since(inner.last_sweep) >= Duration::from_secs(1) {
            inner.last_sweep = now;
            let ttl = self.limits.ttl;
            let expired: Vec<StreamKey> = inner
                .streams
                .iter()
                .filter(|(_, s)| now.saturating_duration_since(s.touched) > ttl)
                .map(|(k, _)| k.clone())
                .collect();
            for key in expired {
                inner.remove(&key);
            }
        }
        while inner.bytes > self.limits.total_bytes {
            let oldest = inner
                .streams
                .iter()
                .filter(|(k, _)| *k != keep)
                .min_by_key(|(_, s)| s.touched)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                tracing::debug!(session = %key.session, stream = %key.stream, "event history full: dropping the stream idle longest");
                inner.remove(&key);
                continue;
            }
            // Only `keep` is left: drop its oldest events, but never its
            // newest one.
            let Some(stream) = inner.streams.get_mut(keep) else {
                break;
            };
            if stream.events.len() <= 1 {
                break;
            }
            if let Some(event) = stream.events.pop_front() {
                let cost = event.data.len() + EVENT_OVERHEAD;
                stream.bytes -= cost;
                inner.bytes -= cost;
            }
        }
    }
}

impl Inner {
    fn remove(&mut self, key: &StreamKey) {
        if let Some(stream) = self.streams.remove(key) {
            self.bytes -= stream.bytes;
        }
    }
}

impl EventStore for MemoryEventStore {
    fn open<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut inner = self.lock();
            if !inner.streams.contains_key(key) {
                inner
                    .streams
                    .insert(key.clone(), Stream::new(Instant::now()));
                inner.bytes += STREAM_OVERHEAD;
                self.shrink(&mut inner, key);
            }
            Ok(())
        })
    }

    fn append<'a>(&'a self, key: &'a StreamKey, data: Bytes) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let now = Instant::now();
            let stream = inner.streams.entry(key.clone()).or_insert_with(|| {
                inner.bytes += STREAM_OVERHEAD;
                Stream::new(now)
            });
            let seq = stream.next;
            stream.next += 1;
            stream.touched = now;
            let cost = data.len() + EVENT_OVERHEAD;
            stream.bytes += cost;
            inner.bytes += cost;
            stream.events.push_back(StoredEvent { seq, data });
            while stream.events.len() > self.limits.per_stream {
                if let Some(event) = stream.events.pop_front() {
                    let cost = event.data.len() + EVENT_OVERHEAD;
                    stream.bytes -= cost;
                    inner.bytes -= cost;
                }
            }
            stream.changed.send_replace(());
            self.shrink(inner, key);
            Ok(seq)
        })
    }

    fn finish<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut inner = self.lock();
            if let Some(stream) = inner.streams.get_mut(key) {
                stream.finished = true;
                stream.touched = Instant::now();
                stream.changed.send_replace(());
            }
            Ok(())
        })
    }

    fn read_after<'a>(&'a self, key: &'a StreamKey, after: u64) -> StoreFuture<'a, Page> {
        Box::pin(async move {
            let mut inner = self.lock();
            let stream = self
                .live(&mut inner, key)
                .ok_or(EventStoreError::UnknownStream)?;
            if after >= stream.next {
                // An id this stream never gave out.
                return Err(EventStoreError::UnknownStream);
            }
            let events = stream
                .events
                .iter()
                .filter(|e| e.seq > after)
                .cloned()
                .collect();
            Ok(Page {
                events,
                finished: stream.finished,
            })
        })
    }

    fn wait<'a>(
        &'a self,
        key: &'a StreamKey,
        after: u64,
        timeout: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut changed = {
                let inner = self.lock();
                let Some(stream) = inner.streams.get(key) else {
                    return Ok(());
                };
                if stream.next - 1 > after || stream.finished {
                    return Ok(());
                }
                stream.changed.subscribe()
            };
            // A dropped sender (the stream was removed) ends the wait too.
            let _ = tokio::time::timeout(timeout, changed.changed()).await;
            Ok(())
        })
    }

    fn forget<'a>(&'a self, session: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut inner = self.lock();
            let keys: Vec<StreamKey> = inner
                .streams
                .keys()
                .filter(|k| &*k.session == session)
                .cloned()
                .collect();
            for key in keys {
                inner.remove(&key);
            }
            Ok(())
        })
    }

    fn set_producer<'a>(
        &'a self,
        key: &'a StreamKey,
        producer: &'a Producer,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if let Some(stream) = self.lock().streams.get_mut(key) {
                stream.producer = Some(producer.clone());
            }
            Ok(())
        })
    }

    fn producer<'a>(&'a self, key: &'a StreamKey) -> StoreFuture<'a, Option<Producer>> {
        Box::pin(async move {
            let mut inner = self.lock();
            Ok(self.live(&mut inner, key).and_then(|s| s.producer.clone()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(session: &str, stream: &str) -> StreamKey {
        StreamKey::new(session, stream)
    }

    #[tokio::test]
    async fn a_stream_replays_after_a_cursor_and_ids_it_never_gave_are_unknown() {
        let store = MemoryEventStore::default();
        let k = key("s", "p1");
        store.open(&k).await.unwrap();
        assert_eq!(store.read_after(&k, 0).await.unwrap(), Page::default());
        for n in 1..=3u64 {
            assert_eq!(store.append(&k, format!("{n}").into()).await.unwrap(), n);
        }
        let page = store.read_after(&k, 1).await.unwrap();
        assert_eq!(
            page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [2, 3]
        );
        assert!(!page.finished);
        assert!(matches!(
            store.read_after(&k, 4).await,
            Err(EventStoreError::UnknownStream)
        ));
        assert!(matches!(
            store.read_after(&key("other", "p1"), 0).await,
            Err(EventStoreError::UnknownStream)
        ));
        store.forget("s").await.unwrap();
        assert!(store.read_after(&k, 0).await.is_err());
        assert_eq!(store.bytes(), 0);
    }

    #[tokio::test]
    async fn a_flood_stays_within_every_bound() {
        let limits = EventLimits::default()
            .max_events_per_stream(10)
            .max_total_bytes(64 * 1024);
        let store = MemoryEventStore::new(limits);
        let data = Bytes::from(vec![b'x'; 1000]);
        for s in 0..200 {
            let k = key("flood", &format!("p{s}"));
            for _ in 0..50 {
                store.append(&k, data.clone()).await.unwrap();
                assert!(store.bytes() <= 64 * 1024, "{}", store.bytes());
            }
            let page = store.read_after(&k, 0).await.unwrap();
            assert!(page.events.len() <= 10);
        }
        // The newest stream survives whole.
        let last = store.read_after(&key("flood", "p199"), 0).await.unwrap();
        assert_eq!(last.events.first().map(|e| e.seq), Some(41));
    }

    #[tokio::test]
    async fn streams_expire_after_their_ttl() {
        let store = MemoryEventStore::new(EventLimits::default().ttl(Duration::ZERO));
        let k = key("s", "p1");
        store.append(&k, "1".into()).await.unwrap();
        std::thread::sleep(Duration::from_millis(2));
        assert!(store.read_after(&k, 0).await.is_err());
        assert_eq!(store.bytes(), 0);
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_on_the_next_event() {
        let store = std::sync::Arc::new(MemoryEventStore::default());
        let k = key("s", "p1");
        store.open(&k).await.unwrap();
        let waiter = {
            let store = std::sync::Arc::clone(&store);
            let k = k.clone();
            tokio::spawn(async move { store.wait(&k, 0, Duration::from_secs(30)).await })
        };
        tokio::task::yield_now().await;
        store.append(&k, "1".into()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap()
            .unwrap();
    }
}
