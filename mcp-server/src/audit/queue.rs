//! The queue between requests and the sink: bounded, never waited on by a
//! request, emptied by one writer task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use futures_util::FutureExt;

use super::entry::PendingDigest;
use super::{AuditRecord, AuditSink};
use crate::metrics::Metrics;

/// The most records handed to the sink at once.
const BATCH: usize = 256;
/// Attempts at writing one batch before it is dropped.
const ATTEMPTS: u32 = 3;

enum Command {
    Record(Box<AuditRecord>),
    /// A record whose arguments' digest is still being taken.
    Digesting(Box<AuditRecord>, PendingDigest),
    /// Answered once every record queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// A server's audit log.
pub(crate) struct AuditLog {
    sink: Arc<dyn AuditSink>,
    capacity: usize,
    /// The writer's queue, started on the first record, and again if the
    /// runtime it ran on has gone.
    queue: Mutex<Option<mpsc::Sender<Command>>>,
    /// When a drop was last logged, in seconds since the log was made.
    last_warning: AtomicU64,
    started: std::time::Instant,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("sink", &self.sink)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    pub(crate) fn new(sink: Arc<dyn AuditSink>, capacity: usize) -> Self {
        Self {
            sink,
            capacity: capacity.max(1),
            queue: Mutex::new(None),
            last_warning: AtomicU64::new(u64::MAX),
            started: std::time::Instant::now(),
        }
    }

    /// Queues a record; never waits. A full queue drops it, counted.
    pub(crate) fn push(&self, record: AuditRecord, metrics: &Metrics) {
        self.send(Command::Record(Box::new(record)), metrics);
    }

    /// Queues a record whose digest is being taken: the writer fills it in,
    /// so the request does not wait for it.
    pub(crate) fn push_digesting(
        &self,
        mut record: AuditRecord,
        digest: PendingDigest,
        metrics: &Metrics,
    ) {
        if !digest.is_finished() {
            return self.send(Command::Digesting(Box::new(record), digest), metrics);
        }
        record.arguments_sha256 = digest.now_or_never().and_then(Result::ok).flatten();
        self.push(record, metrics);
    }

    fn send(&self, mut command: Command, metrics: &Metrics) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = queue.as_ref() {
            match tx.try_send(command) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    drop(queue);
                    self.dropped(metrics, "queue_full");
                    return;
                }
                // The runtime the writer ran on is gone: start another.
                Err(mpsc::error::TrySendError::Closed(unsent)) => command = unsent,
            }
        }
        let Some(tx) = self.start_writer(metrics) else {
            drop(queue);
            self.dropped(metrics, "no_runtime");
            return;
        };
        // A new queue has room for one.
        let _ = tx.try_send(command);
        *queue = Some(tx);
    }

    /// Waits until every record queued before the call is written (or
    /// given up on).
    pub(crate) async fn flush(&self) {
        let tx = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(tx) = tx else {
            return;
        };
        let (done, written) = oneshot::channel();
        if tx.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    fn start_writer(&self, metrics: &Metrics) -> Option<mpsc::Sender<Command>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = mpsc::channel(self.capacity);
        let sink = Arc::clone(&self.sink);
        let dropped = metrics.audit_dropped.clone();
        runtime.spawn(write(sink, rx, dropped));
        Some(tx)
    }

    fn dropped(&self, metrics: &Metrics, reason: &'static str) {
        metrics
            .audit_dropped
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
        // One warning a second at most: a flood of drops must not become a
        // flood of logs.
        let now = self.started.elapsed().as_secs();
        let last = self.last_warning.load(Ordering::Relaxed);
        if last != now
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                reason,
                capacity = self.capacity,
                "audit records dropped (mcp_audit_records_dropped_total)"
            );
        }
    }
}

type Dropped = prometheus_client::metrics::family::Family<
    Vec<(&'static str, String)>,
    prometheus_client::metrics::counter::Counter,
>;

/// The writer task: batches in arrival order, a flush answered after what
/// came before it.
async fn write(sink: Arc<dyn AuditSink>, mut rx: mpsc::Receiver<Command>, dropped: Dropped) {
    let mut commands = Vec::with_capacity(BATCH);
    let mut batch: Vec<AuditRecord> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut commands, BATCH).await > 0 {
        for command in commands.drain(..) {
            match command {
                Command::Record(record) => batch.push(*record),
                Command::Digesting(mut record, digest) => {
                    record.arguments_sha256 = digest.await.ok().flatten();
                    batch.push(*record);
                }
                Command::Flush(done) => {
                    write_batch(&*sink, &mut batch, &dropped).await;
                    let _ = done.send(());
                }
            }
        }
        write_batch(&*sink, &mut batch, &dropped).await;
    }
}

async fn write_batch(sink: &dyn AuditSink, batch: &mut Vec<AuditRecord>, dropped: &Dropped) {
    if batch.is_empty() {
        return;
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match sink.write(batch).await {
            Ok(()) => break,
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "audit records not written yet; retrying");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, records = batch.len(), "audit records could not be written");
                dropped
                    .get_or_create(&vec![("reason", "write_failed".to_owned())])
                    .inc_by(batch.len() as u64);
                break;
            }
        }
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use tokio::sync::Semaphore;

    use super::*;
    use crate::audit::{AuditError, AuditOutcome, WriteFuture};

    /// Takes records once the gate lets it, failing the first `failures`
    /// batches.
    #[derive(Debug)]
    struct Gated {
        gate: Arc<Semaphore>,
        entered: Arc<Semaphore>,
        failures: AtomicU32,
        written: Mutex<Vec<AuditRecord>>,
    }

    impl AuditSink for Gated {
        fn write<'a>(&'a self, records: &'a [AuditRecord]) -> WriteFuture<'a> {
            Box::pin(async move {
                self.entered.add_permits(1);
                self.gate.acquire().await.expect("gate open").forget();
                if self
                    .failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return Err(AuditError::Io(std::io::Error::other("disk full")));
                }
                self.written
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(records);
                Ok(())
            })
        }
    }

    impl Default for Gated {
        fn default() -> Self {
            Self {
                gate: Arc::new(Semaphore::new(0)),
                entered: Arc::new(Semaphore::new(0)),
                failures: AtomicU32::new(0),
                written: Mutex::new(Vec::new()),
            }
        }
    }

    fn record(n: usize) -> AuditRecord {
        let mut record = AuditRecord::empty(AuditOutcome::Ok);
        record.target = Some(n.to_string());
        record
    }

    fn dropped(metrics: &Metrics, reason: &str) -> u64 {
        metrics
            .audit_dropped
            .get_or_create(&vec![("reason", reason.to_owned())])
            .get()
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_waiting_and_a_flush_writes_the_rest() {
        let sink = Arc::new(Gated::default());
        let log = AuditLog::new(Arc::clone(&sink) as Arc<dyn AuditSink>, 2);
        let metrics = Metrics::new();
        log.push(record(0), &metrics);
        // The writer holds the first record, stuck in the sink.
        sink.entered.acquire().await.expect("entered").forget();
        for n in 1..6 {
            log.push(record(n), &metrics);
        }
        assert_eq!(dropped(&metrics, "queue_full"), 3);
        sink.gate.add_permits(100);
        log.flush().await;
        let written: Vec<_> = sink
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|r| r.target.clone().unwrap_or_default())
            .collect();
        assert_eq!(written, ["0", "1", "2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_sink_is_retried_and_what_it_never_takes_is_counted() {
        let sink = Arc::new(Gated::default());
        sink.gate.add_permits(100);
        sink.failures.store(2, Ordering::SeqCst);
        let log = AuditLog::new(Arc::clone(&sink) as Arc<dyn AuditSink>, 10);
        let metrics = Metrics::new();
        log.push(record(0), &metrics);
        log.flush().await;
        assert_eq!(
            sink.written
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
            1
        );
        assert_eq!(dropped(&metrics, "write_failed"), 0);

        sink.failures.store(u32::MAX, Ordering::SeqCst);
        log.push(record(1), &metrics);
        log.push(record(2), &metrics);
        log.flush().await;
        assert_eq!(dropped(&metrics, "write_failed"), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_record_waits_for_its_digest_in_order_and_a_flush_waits_for_both() {
        let sink = Arc::new(Gated::default());
        sink.gate.add_permits(100);
        let log = AuditLog::new(Arc::clone(&sink) as Arc<dyn AuditSink>, 10);
        let metrics = Metrics::new();
        // The digest finishes only when released, after everything is queued.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let digest = tokio::task::spawn_blocking(move || {
            released.recv().expect("released");
            Some("d1".to_owned())
        });
        let finished = tokio::task::spawn_blocking(|| Some("d3".to_owned()));
        while !finished.is_finished() {
            tokio::task::yield_now().await;
        }
        log.push(record(0), &metrics);
        log.push_digesting(record(1), digest, &metrics);
        log.push(record(2), &metrics);
        log.push_digesting(record(3), finished, &metrics);
        let flushed = log.flush();
        tokio::pin!(flushed);
        // Not flushed while the digest is still being taken.
        assert!(futures_util::poll!(&mut flushed).is_pending());
        release.send(()).expect("digest waiting");
        flushed.await;
        let written: Vec<_> = sink
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|r| {
                (
                    r.target.clone().unwrap_or_default(),
                    r.arguments_sha256.clone(),
                )
            })
            .collect();
        let digest = |d: &str| Some(d.to_owned());
        assert_eq!(
            written,
            [
                ("0".to_owned(), None),
                ("1".to_owned(), digest("d1")),
                ("2".to_owned(), None),
                ("3".to_owned(), digest("d3")),
            ]
        );
    }

    #[test]
    fn without_a_runtime_a_record_is_counted_as_dropped() {
        let log = AuditLog::new(Arc::new(Gated::default()), 10);
        let metrics = Metrics::new();
        log.push(record(0), &metrics);
        assert_eq!(dropped(&metrics, "no_runtime"), 1);
    }
}
