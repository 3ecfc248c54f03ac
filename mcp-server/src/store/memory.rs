//! The store traits in this process's memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::{
    Bus, BusMessage, BusSubscription, SessionChange, SessionRecord, SessionStore, StoreFuture,
    TaskRecord, TaskStore, now_ms,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A value and when it expires.
type Expiring<T> = HashMap<String, (T, Instant)>;

/// Drops what expired; returns the live entry for `key`.
fn live<'a, T>(map: &'a mut Expiring<T>, key: &str, now: Instant) -> Option<&'a mut (T, Instant)> {
    if map.get(key).is_some_and(|(_, until)| *until <= now) {
        map.remove(key);
    }
    map.get_mut(key)
}

/// Sessions in memory.
#[derive(Debug, Default)]
pub struct MemorySessions {
    sessions: Mutex<Expiring<SessionRecord>>,
}

impl MemorySessions {
    fn with<T>(
        &self,
        id: &str,
        ttl: Duration,
        f: impl FnOnce(&mut SessionRecord) -> T,
    ) -> Option<T> {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        // Expired sessions of others are swept now and then, by size.
        if sessions.len() > 1024 && sessions.len().is_power_of_two() {
            sessions.retain(|_, (_, until)| *until > now);
        }
        let (record, until) = live(&mut sessions, id, now)?;
        *until = now + ttl;
        record.last_seen_ms = now_ms();
        Some(f(record))
    }
}

impl SessionStore for MemorySessions {
    fn create<'a>(&'a self, record: &'a SessionRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        let until = Instant::now() + ttl;
        lock(&self.sessions).insert(record.id.clone(), (record.clone(), until));
        Box::pin(async { Ok(()) })
    }

    fn get<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, Option<SessionRecord>> {
        let found = self.with(id, ttl, |record| record.clone());
        Box::pin(async move { Ok(found) })
    }

    fn touch<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        let found = self.with(id, ttl, |_| ()).is_some();
        Box::pin(async move { Ok(found) })
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        change: &'a SessionChange,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let found = self.with(id, ttl, |record| record.apply(change)).is_some();
        Box::pin(async move { Ok(found) })
    }

    fn remove<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        let removed = lock(&self.sessions)
            .remove(id)
            .is_some_and(|(_, until)| until > now);
        Box::pin(async move { Ok(removed) })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Tasks and replica heartbeats in memory.
#[derive(Debug, Default)]
pub struct MemoryTasks {
    tasks: Mutex<Expiring<TaskRecord>>,
    heartbeats: Mutex<HashMap<String, Instant>>,
}

impl TaskStore for MemoryTasks {
    fn put<'a>(&'a self, record: &'a TaskRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        let now = Instant::now();
        let mut tasks = lock(&self.tasks);
        if tasks.len() > 1024 && tasks.len().is_power_of_two() {
            tasks.retain(|_, (_, until)| *until > now);
        }
        tasks.insert(record.id.clone(), (record.clone(), now + ttl));
        Box::pin(async { Ok(()) })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TaskRecord>> {
        let found =
            live(&mut lock(&self.tasks), id, Instant::now()).map(|(record, _)| record.clone());
        Box::pin(async move { Ok(found) })
    }

    fn heartbeat<'a>(&'a self, replica: &'a str, lease: Duration) -> StoreFuture<'a, ()> {
        lock(&self.heartbeats).insert(replica.to_owned(), Instant::now() + lease);
        Box::pin(async { Ok(()) })
    }

    fn alive<'a>(&'a self, replica: &'a str) -> StoreFuture<'a, bool> {
        let alive = lock(&self.heartbeats)
            .get(replica)
            .is_some_and(|until| *until > Instant::now());
        Box::pin(async move { Ok(alive) })
    }
}

/// A bus between the servers of one process.
#[derive(Debug)]
pub struct MemoryBus {
    sender: broadcast::Sender<BusMessage>,
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl Bus for MemoryBus {
    fn publish<'a>(&'a self, message: &'a BusMessage) -> StoreFuture<'a, ()> {
        // Nobody subscribed is not a failure: nobody needed to hear it.
        let _ = self.sender.send(message.clone());
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self) -> StoreFuture<'_, BusSubscription> {
        let receiver = self.sender.subscribe();
        Box::pin(async move {
            let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
                loop {
                    match receiver.recv().await {
                        Ok(message) => return Some((message, receiver)),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(
                                missed,
                                "a replica fell behind the bus and missed messages"
                            );
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            });
            Ok(Box::pin(stream) as BusSubscription)
        })
    }
}
