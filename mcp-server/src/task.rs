//! The tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28): a
//! tool call that outlives its request. The handler decides, by calling
//! [`RequestContext::start_task`](crate::RequestContext::start_task), that
//! the rest of its work is long-running; the request is then answered with
//! a task handle, the handler goes on in the background, and the client
//! polls `tasks/get`, answers questions with `tasks/update` and may
//! `tasks/cancel`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcp_core::client::InputRequest;
use mcp_core::jsonrpc::ErrorObject;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, oneshot};

/// The extension's identifier.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// How long a task stays readable after it is created.
const TASK_TTL: Duration = Duration::from_secs(60 * 60);
/// How often clients should poll.
const POLL_INTERVAL_MS: u64 = 500;

/// Where a task stands.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Working,
    InputRequired,
    Completed(Value),
    Failed(ErrorObject),
    Cancelled,
}

impl Status {
    fn name(&self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::InputRequired => "input_required",
            Self::Completed(_) => "completed",
            Self::Failed(_) => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed(_) | Self::Failed(_) | Self::Cancelled)
    }
}

struct State {
    status: Status,
    updated_at: SystemTime,
    /// Questions waiting for `tasks/update`, and where their answers go.
    questions: BTreeMap<String, (InputRequest, oneshot::Sender<Value>)>,
    abort: Option<tokio::task::AbortHandle>,
}

/// One task.
pub(crate) struct Task {
    pub(crate) id: String,
    created_at: SystemTime,
    expires: Instant,
    state: Mutex<State>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Task {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the handler's outcome, unless the task already ended.
    pub(crate) fn finish(&self, outcome: Result<Value, ErrorObject>) {
        let mut state = self.state();
        if state.status.is_terminal() {
            return;
        }
        state.status = match outcome {
            Ok(result) => Status::Completed(result),
            Err(error) => Status::Failed(error),
        };
        state.questions.clear();
        state.updated_at = SystemTime::now();
    }

    pub(crate) fn set_abort(&self, abort: tokio::task::AbortHandle) {
        self.state().abort = Some(abort);
    }

    /// Asks the client through the task: the task turns `input_required`
    /// until `tasks/update` brings the answer.
    pub(crate) async fn ask(&self, key: String, request: InputRequest) -> Option<Value> {
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.state();
            if state.status.is_terminal() {
                return None;
            }
            state.questions.insert(key, (request, tx));
            state.status = Status::InputRequired;
            state.updated_at = SystemTime::now();
        }
        rx.await.ok()
    }

    /// Delivers answers; unknown keys are ignored.
    pub(crate) fn answer(&self, answers: BTreeMap<String, Value>) {
        let mut state = self.state();
        for (key, answer) in answers {
            if let Some((_, tx)) = state.questions.remove(&key) {
                let _ = tx.send(answer);
            }
        }
        if state.status == Status::InputRequired && state.questions.is_empty() {
            state.status = Status::Working;
            state.updated_at = SystemTime::now();
        }
    }

    /// Cancels the task; a finished task stays as it is.
    pub(crate) fn cancel(&self) {
        let mut state = self.state();
        if state.status.is_terminal() {
            return;
        }
        if let Some(abort) = state.abort.take() {
            abort.abort();
        }
        state.questions.clear();
        state.status = Status::Cancelled;
        state.updated_at = SystemTime::now();
    }

    fn common(&self, state: &State) -> Map<String, Value> {
        let ttl = TASK_TTL.as_millis();
        let mut task = Map::new();
        task.insert("taskId".into(), self.id.clone().into());
        task.insert("status".into(), state.status.name().into());
        task.insert("createdAt".into(), iso8601(self.created_at).into());
        task.insert("lastUpdatedAt".into(), iso8601(state.updated_at).into());
        task.insert(
            "ttlMs".into(),
            json!(u64::try_from(ttl).unwrap_or(u64::MAX)),
        );
        task.insert("pollIntervalMs".into(), POLL_INTERVAL_MS.into());
        task
    }

    /// The `CreateTaskResult` answering the request that started the task.
    pub(crate) fn created(&self) -> Value {
        let state = self.state();
        let mut task = self.common(&state);
        task.insert("resultType".into(), "task".into());
        Value::Object(task)
    }

    /// What `tasks/get` shows.
    pub(crate) fn detailed(&self) -> Value {
        let state = self.state();
        let mut task = self.common(&state);
        task.insert("resultType".into(), "complete".into());
        match &state.status {
            Status::InputRequired => {
                let requests: Map<String, Value> = state
                    .questions
                    .iter()
                    .map(|(key, (request, _))| {
                        (
                            key.clone(),
                            serde_json::to_value(request).unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                task.insert("inputRequests".into(), Value::Object(requests));
            }
            Status::Completed(result) => {
                task.insert("result".into(), result.clone());
            }
            Status::Failed(error) => {
                task.insert(
                    "error".into(),
                    json!({ "code": error.code, "message": error.message }),
                );
            }
            Status::Working | Status::Cancelled => {}
        }
        Value::Object(task)
    }
}

/// Every live task of a server.
#[derive(Debug, Default)]
pub(crate) struct TaskStore {
    tasks: Mutex<HashMap<String, Arc<Task>>>,
    next: AtomicU64,
}

impl TaskStore {
    /// Creates a task, stored before anyone hears of it.
    pub(crate) fn create(&self) -> Arc<Task> {
        let mut random = [0u8; 12];
        let _ = getrandom::fill(&mut random);
        let id = format!(
            "task-{}-{}",
            self.next.fetch_add(1, Ordering::Relaxed),
            crate::hex(&random)
        );
        let now = SystemTime::now();
        let task = Arc::new(Task {
            id: id.clone(),
            created_at: now,
            expires: Instant::now() + TASK_TTL,
            state: Mutex::new(State {
                status: Status::Working,
                updated_at: now,
                questions: BTreeMap::new(),
                abort: None,
            }),
        });
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        tasks.retain(|_, t| t.expires > now);
        tasks.insert(id, Arc::clone(&task));
        task
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Task>> {
        let tasks = self
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tasks
            .get(id)
            .filter(|t| t.expires > Instant::now())
            .cloned()
    }
}

/// A request's chance to become a task: set when the client declared the
/// extension and the tool supports tasks.
#[derive(Debug, Default)]
pub(crate) struct TaskSlot {
    task: OnceLock<Arc<Task>>,
    started: Notify,
}

impl TaskSlot {
    pub(crate) fn start(&self, store: &TaskStore) -> Arc<Task> {
        let task = self.task.get_or_init(|| store.create());
        self.started.notify_one();
        Arc::clone(task)
    }

    pub(crate) fn task(&self) -> Option<&Arc<Task>> {
        self.task.get()
    }

    pub(crate) async fn started(&self) {
        self.started.notified().await;
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC.
fn iso8601(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso_8601() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(iso8601(t), "2026-11-18T11:06:40Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00Z");
    }
}
