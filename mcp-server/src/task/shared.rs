//! Tasks shared with other replicas: every change of a task is written to
//! the shared store in order, so `tasks/get` answers on any replica, and
//! `tasks/update` and `tasks/cancel` reach the replica running it over the
//! bus. A task whose replica stopped is failed when it is next read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_core::jsonrpc::{ErrorObject, error_code};
use serde_json::Value;
use tokio::sync::{broadcast, oneshot, watch};

use super::{State, Status, Task, TaskOwner, TaskStore};
use crate::store::shared::Shared;
use crate::store::{BusMessage, StoreError, TaskOwnerRecord, TaskRecord, TaskState, now_ms};

/// How long an unfinished task stays in the store without a change.
const UNFINISHED_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Where a shared task's changes go.
#[derive(Debug)]
pub(super) struct Link {
    replica: String,
    writes: watch::Sender<TaskRecord>,
}

fn ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ttl(record: &TaskRecord) -> Duration {
    if record.state.is_terminal() {
        Duration::from_millis(record.retention_ms.max(1))
    } else {
        UNFINISHED_TTL
    }
}

impl TaskOwner {
    fn record(&self, replica: &str) -> TaskOwnerRecord {
        match self {
            Self::Principal { id, tenant, issuer } => TaskOwnerRecord::Principal {
                id: id.clone(),
                tenant: tenant.clone(),
                issuer: issuer.clone(),
            },
            Self::Connection(serial) => TaskOwnerRecord::Connection {
                replica: replica.to_owned(),
                serial: *serial,
            },
            Self::Address(ip) => TaskOwnerRecord::Address { ip: *ip },
            Self::Unidentified => TaskOwnerRecord::Unidentified,
        }
    }
}

impl Task {
    /// Writes the task to the shared store, and every later change of it.
    ///
    /// # Errors
    /// The store could not take it: nobody could find the task elsewhere.
    pub(crate) async fn share(&self, shared: &Arc<Shared>) -> Result<(), StoreError> {
        let record = self.record(&shared.replica);
        let put = shared.stores.tasks.put(&record, ttl(&record)).await;
        shared.observe(put)?;
        let (writes, changes) = watch::channel(record);
        tokio::spawn(writer(Arc::clone(shared), changes));
        let _ = self.link.set(Link {
            replica: shared.replica.clone(),
            writes,
        });
        // A change made while the first write was under way.
        self.written();
        Ok(())
    }

    /// Hands the task as it stands to its writer, if it is shared.
    pub(super) fn written(&self) {
        if let Some(link) = self.link.get() {
            let record = self.record(&link.replica);
            link.writes.send_if_modified(|current| {
                let changed = *current != record;
                *current = record;
                changed
            });
        }
    }

    fn record(&self, replica: &str) -> TaskRecord {
        let state = self.state();
        TaskRecord {
            id: self.id.clone(),
            owner: self.owner.record(replica),
            state: match &state.status {
                Status::Working => TaskState::Working,
                Status::InputRequired => TaskState::InputRequired,
                Status::Completed(result) => TaskState::Completed {
                    result: result.clone(),
                },
                Status::Failed(error) => TaskState::Failed {
                    error: error.clone(),
                },
                Status::Cancelled => TaskState::Cancelled,
            },
            questions: state
                .questions
                .iter()
                .map(|(key, (request, _))| (key.clone(), request.clone()))
                .collect(),
            replica: replica.to_owned(),
            created_ms: ms(self.created_at),
            updated_ms: ms(state.updated_at),
            retention_ms: u64::try_from(self.retention.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// A read-only copy of a task another replica runs, to show it.
    fn from_record(record: &TaskRecord) -> Self {
        let status = match &record.state {
            TaskState::Working => Status::Working,
            TaskState::InputRequired => Status::InputRequired,
            TaskState::Completed { result } => Status::Completed(result.clone()),
            TaskState::Failed { error } => Status::Failed(error.clone()),
            TaskState::Cancelled => Status::Cancelled,
        };
        let questions = record
            .questions
            .iter()
            .map(|(key, request)| (key.clone(), (request.clone(), oneshot::channel().0)))
            .collect();
        Self {
            id: record.id.clone(),
            owner: TaskOwner::Unidentified,
            created_at: UNIX_EPOCH + Duration::from_millis(record.created_ms),
            retention: Duration::from_millis(record.retention_ms),
            state: Mutex::new(State {
                status,
                updated_at: UNIX_EPOCH + Duration::from_millis(record.updated_ms),
                finished: None,
                questions,
                abort: None,
            }),
            link: std::sync::OnceLock::new(),
        }
    }
}

/// Writes a task's changes in order, the latest one when several came
/// while a write was under way; ends with the task.
async fn writer(shared: Arc<Shared>, mut changes: watch::Receiver<TaskRecord>) {
    while changes.changed().await.is_ok() {
        let record = changes.borrow_and_update().clone();
        let mut backoff = Duration::from_millis(100);
        loop {
            let put = shared.stores.tasks.put(&record, ttl(&record)).await;
            match shared.observe(put) {
                Ok(()) => break,
                // Only the outcome must not be lost; a newer change will
                // carry an intermediate one.
                Err(e) if record.state.is_terminal() && backoff < Duration::from_secs(10) => {
                    tracing::warn!(task = %record.id, error = %e, "task outcome not shared yet; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                Err(e) => {
                    tracing::warn!(task = %record.id, error = %e, "task change not shared");
                    break;
                }
            }
        }
        if record.state.is_terminal() {
            return;
        }
    }
}

/// A task another replica created, as the store holds it.
#[derive(Debug)]
pub(crate) struct RemoteTask {
    record: TaskRecord,
    shared: Arc<Shared>,
}

/// The task `id` of `owner` in the shared store; `None` when unknown or
/// someone else's. An unfinished task whose replica stopped is failed now.
///
/// # Errors
/// The store could not be read.
pub(crate) async fn remote(
    shared: &Arc<Shared>,
    id: &str,
    owner: &TaskOwner,
) -> Result<Option<RemoteTask>, StoreError> {
    let found = shared.stores.tasks.get(id).await;
    let Some(mut record) = shared.observe(found)? else {
        return Ok(None);
    };
    if record.owner != owner.record(&shared.replica) {
        return Ok(None);
    }
    if !record.state.is_terminal() {
        let alive = shared.stores.tasks.alive(&record.replica).await;
        if !shared.observe(alive)? {
            tracing::warn!(task = id, replica = %record.replica, "failing a task whose replica stopped");
            record.state = TaskState::Failed {
                error: ErrorObject::new(
                    error_code::INTERNAL_ERROR,
                    "the server replica running this task stopped before it finished; its work is lost: start it again",
                ),
            };
            record.questions.clear();
            record.updated_ms = now_ms();
            let put = shared.stores.tasks.put(&record, ttl(&record)).await;
            shared.observe(put)?;
        }
    }
    Ok(Some(RemoteTask {
        record,
        shared: Arc::clone(shared),
    }))
}

impl RemoteTask {
    /// What `tasks/get` shows.
    pub(crate) fn detailed(&self) -> Value {
        Task::from_record(&self.record).detailed()
    }

    /// Sends `tasks/update` answers to the replica running the task.
    pub(crate) async fn answer(&self, answers: BTreeMap<String, Value>) {
        self.shared
            .publish(BusMessage::TaskAnswers {
                task: self.record.id.clone(),
                answers,
            })
            .await;
    }

    /// Sends `tasks/cancel` to the replica running the task.
    pub(crate) async fn cancel(&self) {
        self.shared
            .publish(BusMessage::TaskCancel {
                task: self.record.id.clone(),
            })
            .await;
    }
}

/// Acts on other replicas' `tasks/update` and `tasks/cancel` for the tasks
/// this one runs, until the server's task store is dropped.
pub(crate) fn listen(tasks: Weak<TaskStore>, mut remote: broadcast::Receiver<Arc<BusMessage>>) {
    tokio::spawn(async move {
        loop {
            let message = match remote.recv().await {
                Ok(message) => message,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let Some(tasks) = tasks.upgrade() else {
                return;
            };
            match &*message {
                BusMessage::TaskAnswers { task, answers } => {
                    if let Some(task) = tasks.find(task) {
                        task.answer(answers.clone());
                    }
                }
                BusMessage::TaskCancel { task } => {
                    if let Some(task) = tasks.find(task) {
                        task.cancel();
                    }
                }
                _ => {}
            }
        }
    });
}
