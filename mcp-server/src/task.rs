//! The tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28): a
//! tool call that outlives its request. The handler decides, by calling
//! [`RequestContext::start_task`](crate::RequestContext::start_task), that
//! the rest of its work is long-running; the request is then answered with
//! a task handle, the handler goes on in the background, and the client
//! polls `tasks/get`, answers questions with `tasks/update` and may
//! `tasks/cancel`.

mod shared;
mod store;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcp_core::ProtocolError;
use mcp_core::client::InputRequest;
use mcp_core::jsonrpc::ErrorObject;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, oneshot};

pub(crate) use shared::{RemoteTask, listen, remote};
pub(crate) use store::{TaskLimits, TaskOwner, TaskStore};

pub(crate) use mcp_core::lifecycle::TASKS_EXTENSION;

/// How often clients should poll.
const POLL_INTERVAL_MS: u64 = 500;

/// Now, and the next number in the order tasks end in.
fn finished_now() -> (Instant, u64) {
    static ENDED: AtomicU64 = AtomicU64::new(0);
    (Instant::now(), ENDED.fetch_add(1, Ordering::Relaxed))
}

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
    /// When the task ended, for its retention, and its place in the order
    /// tasks ended in (instants may tie), for eviction.
    finished: Option<(Instant, u64)>,
    /// Questions waiting for `tasks/update`, and where their answers go.
    questions: BTreeMap<String, (InputRequest, oneshot::Sender<Value>)>,
    abort: Option<tokio::task::AbortHandle>,
}

/// One task.
pub(crate) struct Task {
    pub(crate) id: String,
    /// Who created it: the only caller that can see it.
    owner: TaskOwner,
    created_at: SystemTime,
    /// How long it stays readable once finished (`ttlMs`).
    retention: Duration,
    state: Mutex<State>,
    /// Where its changes are written for other replicas, when shared.
    link: std::sync::OnceLock<shared::Link>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Task {
    fn new(id: String, owner: TaskOwner, retention: Duration) -> Self {
        let now = SystemTime::now();
        Self {
            id,
            owner,
            created_at: now,
            retention,
            state: Mutex::new(State {
                status: Status::Working,
                updated_at: now,
                finished: None,
                questions: BTreeMap::new(),
                abort: None,
            }),
            link: std::sync::OnceLock::new(),
        }
    }

    /// When the task ended, if it did.
    fn finished(&self) -> Option<(Instant, u64)> {
        self.state().finished
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the handler's outcome, unless the task already ended.
    pub(crate) fn finish(&self, outcome: Result<Value, ErrorObject>) {
        {
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
            state.finished = Some(finished_now());
        }
        self.written();
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
        self.written();
        rx.await.ok()
    }

    /// Delivers answers; unknown keys are ignored.
    pub(crate) fn answer(&self, answers: BTreeMap<String, Value>) {
        {
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
        self.written();
    }

    /// Cancels the task; a finished task stays as it is.
    pub(crate) fn cancel(&self) {
        {
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
            state.finished = Some(finished_now());
        }
        self.written();
    }

    fn common(&self, state: &State) -> Map<String, Value> {
        let ttl = self.retention.as_millis();
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

/// A request's chance to become a task: set when the client declared the
/// extension and the tool supports tasks.
#[derive(Debug)]
pub(crate) struct TaskSlot {
    owner: TaskOwner,
    task: Mutex<Slot>,
    started: Notify,
}

#[derive(Debug)]
enum Slot {
    Waiting,
    Started(Arc<Task>),
    /// The task could not be created; the request is answered with this.
    Refused(ProtocolError),
}

impl TaskSlot {
    /// A slot whose task will belong to `owner`.
    pub(crate) fn new(owner: TaskOwner) -> Self {
        Self {
            owner,
            task: Mutex::new(Slot::Waiting),
            started: Notify::new(),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Creates the task (once) and wakes the dispatcher, which answers the
    /// request with the task or, when it could not be created, the error.
    pub(crate) fn start(&self, store: &TaskStore) -> Result<Arc<Task>, ProtocolError> {
        let outcome = {
            let mut slot = self.slot();
            if matches!(*slot, Slot::Waiting) {
                *slot = match store.create(self.owner.clone()) {
                    Ok(task) => Slot::Started(task),
                    Err(error) => Slot::Refused(error.into()),
                };
            }
            match &*slot {
                Slot::Started(task) => Ok(Arc::clone(task)),
                Slot::Refused(error) => Err(error.clone()),
                Slot::Waiting => Err(ProtocolError::Internal("the task was not created".into())),
            }
        };
        self.started.notify_one();
        outcome
    }

    /// The task, once started.
    pub(crate) fn task(&self) -> Option<Arc<Task>> {
        match &*self.slot() {
            Slot::Started(task) => Some(Arc::clone(task)),
            Slot::Waiting | Slot::Refused(_) => None,
        }
    }

    /// What [`TaskSlot::start`] settled: the task, or why there is none.
    pub(crate) fn outcome(&self) -> Result<Arc<Task>, ProtocolError> {
        match &*self.slot() {
            Slot::Started(task) => Ok(Arc::clone(task)),
            Slot::Refused(error) => Err(error.clone()),
            Slot::Waiting => Err(ProtocolError::Internal("the task was not created".into())),
        }
    }

    pub(crate) async fn started(&self) {
        self.started.notified().await;
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC.
fn iso8601(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // Out of range (after the year 9999) only with a broken clock.
    let t = i64::try_from(secs)
        .ok()
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
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

    /// A server whose random source fails, with one task-capable tool.
    fn without_randomness() -> crate::ServerBuilder {
        let tool = mcp_core::tool::Tool {
            name: "job".into(),
            title: None,
            description: None,
            input_schema: serde_json::from_value(json!({"type": "object"})).unwrap(),
            output_schema: None,
            annotations: None,
            icons: None,
            meta: None,
        };
        let job = crate::ToolDef::new(tool, |call: crate::ToolCall| async move {
            call.context().start_task().await;
            mcp_core::tool::CallToolResult::default()
        })
        .with_tasks();
        crate::Server::builder()
            .tool(job)
            .random_source(crate::random::failing)
    }

    #[tokio::test]
    async fn without_randomness_the_server_does_not_start() {
        let built = without_randomness().try_build();
        assert!(
            matches!(built, Err(crate::ServerError::Randomness(_))),
            "{built:?}"
        );
        let server = without_randomness().build();
        let bound = crate::transport::http::HttpServer::bind(
            server.clone(),
            "127.0.0.1:0",
            crate::transport::http::HttpConfig::default(),
        )
        .await;
        assert!(
            matches!(bound, Err(crate::ServerError::Randomness(_))),
            "{bound:?}"
        );
        assert!(server.state_key().is_err());
        // A configured secret needs no randomness for the key.
        let keyed = without_randomness()
            .request_state_secret(&[7; 32])
            .try_build();
        assert!(keyed.is_ok());
    }

    #[tokio::test]
    async fn without_randomness_a_task_fails_its_request() {
        // The key comes from a secret; task ids still need randomness.
        let server = without_randomness().request_state_secret(&[7; 32]).build();
        let client =
            crate::testing::TestClient::connect(server, mcp_core::ProtocolVersion::V2026_07_28)
                .await
                .unwrap();
        let params = json!({
            "name": "job",
            "arguments": {},
            "_meta": {
                "io.modelcontextprotocol/clientCapabilities": {
                    "extensions": {TASKS_EXTENSION: {}}
                }
            }
        });
        let error = client.request("tools/call", params).await.unwrap_err();
        assert_eq!(
            error.code,
            mcp_core::jsonrpc::error_code::INTERNAL_ERROR,
            "{error:?}"
        );
        assert!(error.message.contains("random source"), "{error:?}");
    }
}
