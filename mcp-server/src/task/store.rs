//! Where a server keeps its tasks: each bound to the caller that created it,
//! bounded per caller and in total, finished ones kept for their retention.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mcp_core::ProtocolError;

use super::Task;
use crate::auth::Principal;
use crate::random;

/// Who a task belongs to. Only the same caller finds it again; to anyone
/// else its id is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TaskOwner {
    /// An authenticated identity: id, tenant and issuer.
    Principal {
        id: String,
        tenant: Option<String>,
        issuer: Option<String>,
    },
    /// An anonymous caller on one connection or session (stdio, the
    /// in-process client, a legacy SSE stream): its tasks end with it.
    Connection(u64),
    /// An anonymous stateless HTTP caller: its IP address, the only thing
    /// that tells such callers apart.
    Address(std::net::IpAddr),
    /// An anonymous caller nothing identifies (HTTP embedded without the
    /// client's address): the 128-bit task id alone guards its tasks.
    Unidentified,
}

impl TaskOwner {
    /// The owner of a request's tasks: its principal, else the connection
    /// it came on, else the client's address.
    pub(crate) fn of(
        principal: Option<&Principal>,
        connection: Option<u64>,
        peer: Option<std::net::IpAddr>,
    ) -> Self {
        match (principal, connection, peer) {
            (Some(principal), _, _) => Self::Principal {
                id: principal.id.clone(),
                tenant: principal.tenant.clone(),
                issuer: principal.issuer.clone(),
            },
            (None, Some(connection), _) => Self::Connection(connection),
            (None, None, Some(peer)) => Self::Address(peer),
            (None, None, None) => Self::Unidentified,
        }
    }
}

/// How many tasks a server keeps, and how long it keeps finished ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskLimits {
    /// Tasks of all callers together.
    pub(crate) total: usize,
    /// Tasks of one caller.
    pub(crate) per_caller: usize,
    /// How long a finished task stays readable.
    pub(crate) retention: Duration,
}

impl Default for TaskLimits {
    fn default() -> Self {
        Self {
            total: 10_000,
            per_caller: 100,
            retention: Duration::from_secs(60 * 60),
        }
    }
}

/// Why a task was not created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TaskError {
    #[error(
        "too many tasks: this caller already has {0} unfinished tasks, its limit; \
         wait for one to finish or cancel one with `tasks/cancel`"
    )]
    CallerFull(usize),
    #[error("too many tasks: the server holds {0} unfinished tasks, its limit; retry later")]
    ServerFull(usize),
    #[error("no task id: the operating system's random source failed: {0}")]
    Random(getrandom::Error),
}

impl From<TaskError> for ProtocolError {
    fn from(error: TaskError) -> Self {
        match error {
            TaskError::CallerFull(_) | TaskError::ServerFull(_) => Self::LimitReached {
                message: error.to_string(),
                retry_after_secs: 1,
            },
            TaskError::Random(_) => Self::Internal(error.to_string()),
        }
    }
}

/// Every task of a server.
#[derive(Debug)]
pub(crate) struct TaskStore {
    tasks: Mutex<HashMap<String, Arc<Task>>>,
    limits: TaskLimits,
    random: random::Source,
}

impl TaskStore {
    pub(crate) fn new(limits: TaskLimits, random: random::Source) -> Self {
        Self {
            tasks: Mutex::default(),
            limits,
            random,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Task>>> {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_expired(&self, task: &Task, now: Instant) -> bool {
        task.finished()
            .is_some_and(|(at, _)| now.saturating_duration_since(at) >= self.limits.retention)
    }

    /// Creates a task for `owner`, stored before anyone hears of it.
    ///
    /// Finished tasks past their retention go first. A caller at its limit
    /// then loses its longest-finished task, and a full server the
    /// longest-finished task of anyone; unfinished tasks are never evicted,
    /// so with only those the creation is refused.
    ///
    /// # Errors
    /// The caller or the server is at its limit with unfinished tasks, or
    /// the random source failed.
    pub(crate) fn create(&self, owner: TaskOwner) -> Result<Arc<Task>, TaskError> {
        let id = random::id(self.random).map_err(TaskError::Random)?;
        let now = Instant::now();
        let mut tasks = self.lock();
        tasks.retain(|_, task| !self.is_expired(task, now));
        let mine = tasks.values().filter(|task| task.owner == owner).count();
        if mine >= self.limits.per_caller
            && !evict_longest_finished(&mut tasks, |task| task.owner == owner)
        {
            return Err(TaskError::CallerFull(mine));
        }
        if tasks.len() >= self.limits.total && !evict_longest_finished(&mut tasks, |_| true) {
            return Err(TaskError::ServerFull(tasks.len()));
        }
        let task = Arc::new(Task::new(id.clone(), owner, self.limits.retention));
        tasks.insert(id, Arc::clone(&task));
        Ok(task)
    }

    /// The task `id`, whoever owns it: for other replicas' messages about it.
    pub(crate) fn find(&self, id: &str) -> Option<Arc<Task>> {
        self.lock().get(id).cloned()
    }

    /// The task `id` of `owner`. Another caller's task is `None`, exactly
    /// as an unknown one, so an id's existence leaks to nobody else.
    pub(crate) fn get(&self, id: &str, owner: &TaskOwner) -> Option<Arc<Task>> {
        let now = Instant::now();
        self.lock()
            .get(id)
            .filter(|task| task.owner == *owner && !self.is_expired(task, now))
            .cloned()
    }
}

/// Removes the task that finished first among those `eligible`; false
/// when none has finished.
fn evict_longest_finished(
    tasks: &mut HashMap<String, Arc<Task>>,
    eligible: impl Fn(&Task) -> bool,
) -> bool {
    let oldest = tasks
        .values()
        .filter(|task| eligible(task))
        .filter_map(|task| Some((task.finished()?.1, task.id.clone())))
        .min();
    match oldest {
        Some((_, id)) => tasks.remove(&id).is_some(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alice() -> TaskOwner {
        TaskOwner::of(Some(&Principal::new("alice", ["read"])), Some(1), None)
    }

    fn bob() -> TaskOwner {
        TaskOwner::of(Some(&Principal::new("bob", ["read"])), Some(1), None)
    }

    fn store(total: usize, per_caller: usize, retention: Duration) -> TaskStore {
        TaskStore::new(
            TaskLimits {
                total,
                per_caller,
                retention,
            },
            random::OS,
        )
    }

    #[test]
    fn owners_are_principal_and_tenant_else_connection_else_address() {
        let ip: std::net::IpAddr = [10, 0, 0, 1].into();
        let acme = Principal::new("alice", ["a"]).with_tenant("acme");
        let other = Principal::new("alice", ["b"]).with_tenant("other");
        assert_ne!(
            TaskOwner::of(Some(&acme), None, None),
            TaskOwner::of(Some(&other), None, None)
        );
        // Scopes may change with a new token; the owner does not.
        let rescoped = Principal::new("alice", ["c"]).with_tenant("acme");
        assert_eq!(
            TaskOwner::of(Some(&acme), Some(1), None),
            TaskOwner::of(Some(&rescoped), Some(2), Some(ip))
        );
        assert_eq!(
            TaskOwner::of(None, Some(7), Some(ip)),
            TaskOwner::Connection(7)
        );
        assert_eq!(TaskOwner::of(None, None, Some(ip)), TaskOwner::Address(ip));
        assert_eq!(TaskOwner::of(None, None, None), TaskOwner::Unidentified);
    }

    #[test]
    fn tasks_are_found_only_by_their_owner() {
        let store = store(10, 10, Duration::from_secs(3600));
        let task = store.create(alice()).unwrap();
        assert!(store.get(&task.id, &alice()).is_some());
        assert!(store.get(&task.id, &bob()).is_none());
        assert!(store.get("unknown", &alice()).is_none());
    }

    #[test]
    fn a_caller_at_its_limit_loses_its_longest_finished_task_first() {
        let store = store(10, 2, Duration::from_secs(3600));
        let first = store.create(alice()).unwrap();
        let second = store.create(alice()).unwrap();
        // Only unfinished tasks: refused, and nothing is evicted.
        let refused = store.create(alice()).unwrap_err();
        assert_eq!(refused, TaskError::CallerFull(2));
        assert!(store.get(&first.id, &alice()).is_some());
        // Another caller is not affected.
        store.create(bob()).unwrap();

        second.finish(Ok(json!({})));
        first.finish(Ok(json!({})));
        let third = store.create(alice()).unwrap();
        assert!(store.get(&second.id, &alice()).is_none(), "finished first");
        assert!(store.get(&first.id, &alice()).is_some());
        assert!(store.get(&third.id, &alice()).is_some());
    }

    #[test]
    fn a_full_server_evicts_finished_tasks_of_anyone_and_refuses_when_all_run() {
        let store = store(2, 10, Duration::from_secs(3600));
        let bobs = store.create(bob()).unwrap();
        store.create(alice()).unwrap();
        assert_eq!(store.create(alice()).unwrap_err(), TaskError::ServerFull(2));
        bobs.cancel();
        store.create(alice()).unwrap();
        assert!(store.get(&bobs.id, &bob()).is_none());
    }

    #[test]
    fn finished_tasks_go_after_their_retention_and_running_ones_stay() {
        let store = store(10, 10, Duration::ZERO);
        let running = store.create(alice()).unwrap();
        let done = store.create(alice()).unwrap();
        done.finish(Ok(json!({})));
        assert!(store.get(&done.id, &alice()).is_none());
        assert!(store.get(&running.id, &alice()).is_some());
        store.create(alice()).unwrap();
        assert_eq!(store.lock().len(), 2, "the expired task is swept");
    }

    #[test]
    fn no_randomness_no_task() {
        let store = TaskStore::new(TaskLimits::default(), random::failing);
        let error = store.create(alice()).unwrap_err();
        assert_eq!(error, TaskError::Random(getrandom::Error::UNSUPPORTED));
        let protocol = ProtocolError::from(error);
        assert!(
            matches!(&protocol, ProtocolError::Internal(m) if m.contains("random source")),
            "{protocol:?}"
        );
        assert!(store.lock().is_empty());
    }
}
