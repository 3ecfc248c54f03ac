//! Asking the client: elicitation, sampling and roots, behind one API for
//! every revision.
//!
//! Up to 2025-11-25 a question is a real server-to-client request on the
//! request's own stream, and the handler awaits the answer. On 2026-07-28
//! the server never sends requests: an unanswered question parks the
//! handler, the request is answered with an `InputRequiredResult`, and the
//! client's retry runs the handler again from the top with the answers
//! (multi round-trip requests). Handlers are written once, inline, and
//! should do their side effects after their questions.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use mcp_core::client::{
    CreateMessageParams, CreateMessageResult, ELICITATION_CREATE, ElicitAction,
    ElicitRequestParams, ElicitResult, InputRequest, ListRootsResult, ROOTS_LIST,
    SAMPLING_CREATE_MESSAGE,
};
use mcp_core::jsonrpc::{ErrorObject, RequestId};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::{Notify, oneshot};

use crate::capability::ClientCapability;

/// The user's answer to an elicitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elicited<T> {
    /// The user filled in the form.
    Accepted(T),
    /// The user said no.
    Declined,
    /// The user dismissed the question.
    Cancelled,
}

/// Why a question to the client got no usable answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AskError {
    /// The client did not declare the capability; it was not asked.
    #[error("the client cannot answer: it did not declare the `{0}` capability")]
    Unavailable(ClientCapability),
    /// The client answered with a JSON-RPC error.
    #[error("the client refused: {message} ({code})")]
    Refused {
        /// The error code.
        code: i32,
        /// The client's message.
        message: String,
    },
    /// The answer did not have the expected shape.
    #[error("the client's answer is invalid: {0}")]
    InvalidAnswer(String),
    /// The form type cannot be asked for: elicitation forms are flat objects
    /// of strings, numbers, integers, booleans and enums.
    #[error("invalid elicitation form: {0}")]
    InvalidForm(String),
    /// The connection closed before the client answered.
    #[error("the connection closed before the client answered")]
    Closed,
}

/// A type a user can fill in: a flat struct of strings, numbers, integers,
/// booleans, enums of strings, and arrays of enum strings, as the spec's
/// restricted elicitation schema allows. Implemented for every
/// `Deserialize + JsonSchema` type; its schema is checked to be flat when
/// asked, and a nested one is an [`AskError::InvalidForm`].
pub trait ElicitForm: DeserializeOwned + JsonSchema {}

impl<T: DeserializeOwned + JsonSchema> ElicitForm for T {}

/// The restricted schema of `T`, or why it cannot be one.
pub(crate) fn form_schema<T: JsonSchema>() -> Result<Map<String, Value>, AskError> {
    let schema = crate::schema::input_schema_for::<T>();
    check_flat(&schema)?;
    Ok(schema)
}

/// Elicitation forms must be flat: every property a primitive, an enum of
/// strings, or an array of enum strings.
pub(crate) fn check_flat(schema: &Map<String, Value>) -> Result<(), AskError> {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(AskError::InvalidForm("the form must be an object".into()));
    }
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    for (name, property) in properties {
        let kind = property.get("type").and_then(Value::as_str);
        let flat = match kind {
            Some("string" | "number" | "integer" | "boolean") => true,
            Some("array") => property.get("items").is_some_and(|items| {
                items.get("type").and_then(Value::as_str) == Some("string")
                    && (items.get("enum").is_some() || items.get("anyOf").is_some())
                    || items.get("anyOf").is_some()
            }),
            None => property.get("enum").is_some() || property.get("oneOf").is_some(),
            _ => false,
        };
        if !flat {
            return Err(AskError::InvalidForm(format!(
                "`{name}` is not a string, number, integer, boolean or enum; forms must be flat"
            )));
        }
    }
    Ok(())
}

/// What a question is, before it is sent or parked.
#[derive(Debug, Clone)]
pub(crate) struct Question {
    pub(crate) key: String,
    pub(crate) method: &'static str,
    pub(crate) capability: ClientCapability,
    pub(crate) params: Value,
}

impl Question {
    pub(crate) fn elicit(
        key: &str,
        message: String,
        schema: Map<String, Value>,
        form_mode: bool,
    ) -> Result<Self, AskError> {
        let params = ElicitRequestParams {
            mode: form_mode.then(|| "form".to_owned()),
            message,
            requested_schema: schema,
        };
        Ok(Self {
            key: key.to_owned(),
            method: ELICITATION_CREATE,
            capability: ClientCapability::Elicitation,
            params: serde_json::to_value(params)
                .map_err(|e| AskError::InvalidForm(e.to_string()))?,
        })
    }

    pub(crate) fn sample(key: &str, params: &CreateMessageParams) -> Result<Self, AskError> {
        Ok(Self {
            key: key.to_owned(),
            method: SAMPLING_CREATE_MESSAGE,
            capability: ClientCapability::Sampling,
            params: serde_json::to_value(params)
                .map_err(|e| AskError::InvalidAnswer(e.to_string()))?,
        })
    }

    pub(crate) fn roots(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            method: ROOTS_LIST,
            capability: ClientCapability::Roots,
            params: Value::Object(Map::new()),
        }
    }
}

/// Reads an elicitation answer as `T`.
pub(crate) fn elicited<T: DeserializeOwned>(answer: Value) -> Result<Elicited<T>, AskError> {
    let result: ElicitResult =
        serde_json::from_value(answer).map_err(|e| AskError::InvalidAnswer(e.to_string()))?;
    Ok(match result.action {
        ElicitAction::Accept => {
            let content = Value::Object(result.content.unwrap_or_default());
            Elicited::Accepted(
                serde_json::from_value(content)
                    .map_err(|e| AskError::InvalidAnswer(e.to_string()))?,
            )
        }
        ElicitAction::Decline => Elicited::Declined,
        ElicitAction::Cancel => Elicited::Cancelled,
    })
}

pub(crate) fn sampled(answer: Value) -> Result<CreateMessageResult, AskError> {
    serde_json::from_value(answer).map_err(|e| AskError::InvalidAnswer(e.to_string()))
}

pub(crate) fn listed_roots(answer: Value) -> Result<ListRootsResult, AskError> {
    serde_json::from_value(answer).map_err(|e| AskError::InvalidAnswer(e.to_string()))
}

/// Whether an answer has the shape its question expects, so a malformed
/// answer is asked again rather than accepted.
pub(crate) fn answer_fits(method: &str, answer: &Value) -> bool {
    match method {
        ELICITATION_CREATE => serde_json::from_value::<ElicitResult>(answer.clone()).is_ok(),
        SAMPLING_CREATE_MESSAGE => {
            serde_json::from_value::<CreateMessageResult>(answer.clone()).is_ok()
        }
        ROOTS_LIST => serde_json::from_value::<ListRootsResult>(answer.clone()).is_ok(),
        _ => false,
    }
}

/// Server-to-client requests in flight on one session, awaiting answers.
#[derive(Debug, Default)]
pub(crate) struct PendingRequests {
    next: AtomicU64,
    waiting: Mutex<HashMap<RequestId, oneshot::Sender<Result<Value, ErrorObject>>>>,
}

impl PendingRequests {
    /// A fresh id and the receiver its answer will arrive on.
    pub(crate) fn register(&self) -> (RequestId, oneshot::Receiver<Result<Value, ErrorObject>>) {
        let id = RequestId::String(format!(
            "server-{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        ));
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), tx);
        (id, rx)
    }

    pub(crate) fn forget(&self, id: &RequestId) {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }

    /// Delivers the client's answer; false when nothing waited for it.
    pub(crate) fn complete(&self, id: &RequestId, answer: Result<Value, ErrorObject>) -> bool {
        let waiter = self
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
        match waiter {
            Some(tx) => tx.send(answer).is_ok(),
            None => false,
        }
    }
}

/// A 2026-07-28 request's questions: the answers it came with, and those
/// it still needs.
#[derive(Debug, Default)]
pub(crate) struct InputRound {
    pub(crate) answers: BTreeMap<String, Value>,
    asked: Mutex<BTreeMap<String, InputRequest>>,
    parked: Notify,
}

impl InputRound {
    pub(crate) fn new(answers: BTreeMap<String, Value>) -> Self {
        Self {
            answers,
            asked: Mutex::default(),
            parked: Notify::new(),
        }
    }

    /// Records a question without an answer, and wakes the dispatcher.
    pub(crate) fn park(&self, question: Question) {
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                question.key,
                InputRequest {
                    method: question.method.to_owned(),
                    params: Some(question.params),
                },
            );
        self.parked.notify_one();
    }

    /// Completes once a question is parked.
    pub(crate) async fn parked(&self) {
        self.parked.notified().await;
    }

    pub(crate) fn take_questions(&self) -> BTreeMap<String, InputRequest> {
        std::mem::take(
            &mut self
                .asked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.key, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Flat {
        name: String,
        age: Option<u32>,
        ok: bool,
    }

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Nested {
        address: Flat,
    }

    #[test]
    fn forms_must_be_flat() {
        assert!(form_schema::<Flat>().is_ok());
        let err = form_schema::<Nested>().unwrap_err();
        assert!(err.to_string().contains("`address`"), "{err}");
    }
}
