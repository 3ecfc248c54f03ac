//! The requests of one stdio-style connection: which run, which wait for a
//! slot, and how each is cancelled.
//!
//! A connection runs at most `limit` requests at once. Requests beyond it
//! wait in arrival order instead of being refused, since a pipelining client
//! on one connection has no other way in. While [`QUEUE_FACTOR`] times the
//! limit wait (or that many full-size messages' worth of bytes), the
//! connection stops reading until some finish, so the pipe pushes back on
//! the client. Reading on below that bound lets cancellations and answers to
//! the server's own requests through while requests wait. A running request
//! gives its slot back before its response is written, so a client that
//! sees an answer can always send the next request.

use std::collections::VecDeque;

use foldhash::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use mcp_core::jsonrpc::{Request, RequestId};

use crate::auth::Principal;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

/// How many times the running limit may wait in line.
pub(crate) const QUEUE_FACTOR: usize = 16;

/// What became of a request handed to [`Requests::admit`].
#[derive(Debug)]
pub(crate) enum Admission {
    /// It may run now, holding this slot.
    Run(Request, Slot),
    /// It waits for a slot: see [`Requests::next_ready`].
    Queued,
    /// Its id belongs to a request in progress.
    DuplicateId(Request),
}

/// Why [`Requests::start_now`] did not start a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its id belongs to a request in progress.
    InUse,
    /// This many requests run already, or some wait.
    Full(usize),
}

/// The request table of one connection, shared with its request tasks.
#[derive(Debug, Clone)]
pub(crate) struct Requests {
    inner: Arc<Mutex<Table>>,
    limit: usize,
    max_queued: usize,
    max_queued_bytes: usize,
}

#[derive(Debug, Default)]
struct Table {
    /// At most the connection's limit of requests: a cheap hash, seeded per
    /// process, is enough for keys a client chooses.
    entries: HashMap<RequestId, Entry>,
    running: usize,
    queue: VecDeque<Waiting>,
    queued_bytes: usize,
    generation: u64,
}

#[derive(Debug)]
struct Entry {
    generation: u64,
    cancellation: CancellationToken,
    abort: Option<AbortHandle>,
}

#[derive(Debug)]
struct Waiting {
    request: Request,
    principal: Option<Arc<Principal>>,
    generation: u64,
    bytes: usize,
}

impl Requests {
    /// A table running at most `limit` requests, queueing up to
    /// [`QUEUE_FACTOR`] times as many, of at most `QUEUE_FACTOR` times
    /// `max_message_bytes` in all.
    pub(crate) fn new(limit: usize, max_message_bytes: usize) -> Self {
        Self {
            inner: Arc::default(),
            limit: limit.max(1),
            max_queued: limit.max(1).saturating_mul(QUEUE_FACTOR),
            max_queued_bytes: max_message_bytes.saturating_mul(QUEUE_FACTOR),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a request of `bytes` bytes sent by `principal`: to run now, or
    /// to wait.
    pub(crate) fn admit(
        &self,
        request: Request,
        bytes: usize,
        principal: Option<Arc<Principal>>,
    ) -> Admission {
        let mut table = self.lock();
        if table.entries.contains_key(&request.id) {
            return Admission::DuplicateId(request);
        }
        if table.queue.is_empty() && table.running < self.limit {
            let slot = table.start(&request.id, principal, self);
            return Admission::Run(request, slot);
        }
        let generation = table.insert(&request.id);
        table.queued_bytes += bytes;
        table.queue.push_back(Waiting {
            request,
            principal,
            generation,
            bytes,
        });
        Admission::Queued
    }

    /// The next waiting request that may run now, with its slot.
    pub(crate) fn next_ready(&self) -> Option<(Request, Slot)> {
        let mut table = self.lock();
        while table.running < self.limit {
            let waiting = table.queue.pop_front()?;
            table.queued_bytes -= waiting.bytes;
            let cancellation = table
                .entries
                .get(&waiting.request.id)
                .filter(|e| e.generation == waiting.generation)
                .map(|e| e.cancellation.clone());
            // None: cancelled while it waited.
            if let Some(cancellation) = cancellation {
                table.running += 1;
                let slot = Slot {
                    requests: self.clone(),
                    id: waiting.request.id.clone(),
                    generation: waiting.generation,
                    cancellation,
                    principal: waiting.principal,
                    released: false,
                };
                return Some((waiting.request, slot));
            }
        }
        None
    }

    /// Records the task running the request whose slot has `key`, so a
    /// cancellation can stop it.
    pub(crate) fn set_task(&self, key: &SlotKey, abort: AbortHandle) {
        if let Some(entry) = self.lock().entries.get_mut(&key.id)
            && entry.generation == key.generation
        {
            entry.abort = Some(abort);
        }
    }

    /// Cancels a request, running or waiting; unknown ids are ignored, as
    /// the request may have just finished.
    pub(crate) fn cancel(&self, id: &RequestId) {
        let entry = self.lock().entries.remove(id);
        if let Some(entry) = entry {
            entry.cancellation.cancel();
            if let Some(abort) = entry.abort {
                abort.abort();
            }
        }
    }

    /// Stops every request still running or waiting, and returns their ids
    /// so each can be answered.
    pub(crate) fn stop_all(&self) -> Vec<RequestId> {
        let mut table = self.lock();
        table.queue.clear();
        table.queued_bytes = 0;
        table
            .entries
            .drain()
            .map(|(id, entry)| {
                entry.cancellation.cancel();
                if let Some(abort) = entry.abort {
                    abort.abort();
                }
                id
            })
            .collect()
    }

    /// Starts the request `id` now if a slot is free and none waits for
    /// one: a batch's requests run together or are refused one by one, as
    /// their answers go back together.
    pub(crate) fn start_now(
        &self,
        id: &RequestId,
        principal: Option<Arc<Principal>>,
    ) -> Result<Slot, Refused> {
        let mut table = self.lock();
        if table.entries.contains_key(id) {
            return Err(Refused::InUse);
        }
        if !table.queue.is_empty() || table.running >= self.limit {
            return Err(Refused::Full(self.limit));
        }
        Ok(table.start(id, principal, self))
    }

    /// Whether another request may be read: fewer than the bound wait.
    pub(crate) fn has_room(&self) -> bool {
        let table = self.lock();
        table.queue.len() < self.max_queued && table.queued_bytes < self.max_queued_bytes
    }

    /// Whether nothing runs or waits.
    pub(crate) fn is_idle(&self) -> bool {
        let table = self.lock();
        table.running == 0 && table.queue.is_empty()
    }

    /// How many requests run now.
    #[cfg(test)]
    pub(crate) fn running(&self) -> usize {
        self.lock().running
    }
}

impl Table {
    /// Registers `id` under a new generation.
    fn insert(&mut self, id: &RequestId) -> u64 {
        self.generation += 1;
        self.entries.insert(
            id.clone(),
            Entry {
                generation: self.generation,
                cancellation: CancellationToken::new(),
                abort: None,
            },
        );
        self.generation
    }

    fn start(
        &mut self,
        id: &RequestId,
        principal: Option<Arc<Principal>>,
        requests: &Requests,
    ) -> Slot {
        let generation = self.insert(id);
        self.running += 1;
        Slot {
            requests: requests.clone(),
            id: id.clone(),
            generation,
            cancellation: self.entries[id].cancellation.clone(),
            principal,
            released: false,
        }
    }
}

/// A running request's place in the table, given back when it is
/// [released](Slot::release) or dropped (finished, aborted or panicked).
#[derive(Debug)]
pub(crate) struct Slot {
    requests: Requests,
    id: RequestId,
    generation: u64,
    cancellation: CancellationToken,
    /// Who sent the request.
    principal: Option<Arc<Principal>>,
    released: bool,
}

/// Names a [`Slot`] after it moved into its task.
#[derive(Debug)]
pub(crate) struct SlotKey {
    id: RequestId,
    generation: u64,
}

impl Slot {
    pub(crate) fn key(&self) -> SlotKey {
        SlotKey {
            id: self.id.clone(),
            generation: self.generation,
        }
    }

    /// Who sent the request, by its own credential.
    pub(crate) fn principal(&self) -> Option<&Arc<Principal>> {
        self.principal.as_ref()
    }

    /// Cancelled when the client cancels the request.
    pub(crate) fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// Gives the slot back: call it before writing the response.
    pub(crate) fn release(mut self) {
        self.give_back();
    }

    fn give_back(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        let mut table = self.requests.lock();
        table.running -= 1;
        if table
            .entries
            .get(&self.id)
            .is_some_and(|e| e.generation == self.generation)
        {
            table.entries.remove(&self.id);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.give_back();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: i64) -> Request {
        Request {
            id: RequestId::Number(id),
            method: "ping".into(),
            params: None,
        }
    }

    impl Requests {
        fn admit_test(&self, request: Request, bytes: usize) -> Admission {
            self.admit(request, bytes, None)
        }
    }

    fn run(requests: &Requests, id: i64) -> Slot {
        match requests.admit_test(request(id), 10) {
            Admission::Run(_, slot) => slot,
            other => panic!("request {id}: {other:?}"),
        }
    }

    #[test]
    fn runs_up_to_the_limit_then_queues_in_order() {
        let requests = Requests::new(2, 100);
        let a = run(&requests, 1);
        let _b = run(&requests, 2);
        assert!(matches!(
            requests.admit_test(request(3), 10),
            Admission::Queued
        ));
        assert!(matches!(
            requests.admit_test(request(4), 10),
            Admission::Queued
        ));
        assert!(requests.next_ready().is_none());
        // The slot comes back on release, before the response is written.
        a.release();
        assert_eq!(requests.running(), 1);
        let (next, _slot) = requests.next_ready().unwrap();
        assert_eq!(next.id, RequestId::Number(3));
        assert!(requests.next_ready().is_none());
    }

    #[test]
    fn ids_in_use_are_refused_until_released() {
        let requests = Requests::new(2, 100);
        let slot = run(&requests, 1);
        assert!(matches!(
            requests.admit_test(request(1), 10),
            Admission::DuplicateId(_)
        ));
        drop(slot);
        let _again = run(&requests, 1);
    }

    #[test]
    fn a_cancelled_waiting_request_never_runs() {
        let requests = Requests::new(1, 100);
        let first = run(&requests, 1);
        requests.admit_test(request(2), 10);
        requests.admit_test(request(3), 10);
        requests.cancel(&RequestId::Number(2));
        // The id is free again, and a new request under it waits its turn.
        assert!(matches!(
            requests.admit_test(request(2), 10),
            Admission::Queued
        ));
        drop(first);
        let order: Vec<_> = std::iter::from_fn(|| {
            let (request, slot) = requests.next_ready()?;
            drop(slot);
            Some(request.id)
        })
        .collect();
        assert_eq!(order, [RequestId::Number(3), RequestId::Number(2)]);
        assert!(requests.is_idle());
    }

    #[test]
    fn the_queue_is_bounded_in_count_and_bytes() {
        let requests = Requests::new(1, 100);
        let running = run(&requests, 0);
        for id in 1..=16 {
            assert!(requests.has_room());
            assert!(matches!(
                requests.admit_test(request(id), 10),
                Admission::Queued
            ));
        }
        assert!(!requests.has_room());
        drop(running);
        let _next = requests.next_ready().unwrap();
        assert!(requests.has_room());

        let requests = Requests::new(4, 100);
        let _running: Vec<_> = (0..4).map(|id| run(&requests, id)).collect();
        requests.admit_test(request(10), 1_599);
        assert!(requests.has_room());
        requests.admit_test(request(11), 1);
        assert!(!requests.has_room());
    }
}
