//! Requests a handler sends its client: elicitation, sampling and roots,
//! over a session's connection or, on 2026-07-28, as an `InputRequiredResult`.

use mcp_core::ProtocolVersion;
use mcp_core::client::{CreateMessageParams, CreateMessageResult, ListRootsResult};
use mcp_core::jsonrpc::{Message, Request};

use crate::ask::{AskError, ElicitForm, Elicited, Question, form_schema};
use crate::capability::ClientCapability;

use super::{ClientLink, RequestContext};

impl RequestContext {
    /// Asks the user to fill in a form `T` (`elicitation/create`).
    ///
    /// `key` names the question; it must be the same on every run of the
    /// handler, since on 2026-07-28 the handler runs again from the top
    /// with the answers so far. Ask first, act after: side effects placed
    /// after the questions happen once.
    ///
    /// ```no_run
    /// # use mcp_server::prelude::*;
    /// # use mcp_server::{Elicited};
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Confirm {
    ///     /// Really delete?
    ///     ok: bool,
    /// }
    ///
    /// # async fn delete(ctx: &RequestContext, id: u64) -> Result<String, String> {
    /// match ctx.elicit::<Confirm>("confirm", format!("Delete {id}?")).await {
    ///     Ok(Elicited::Accepted(Confirm { ok: true })) => Ok(format!("deleted {id}")),
    ///     Ok(_) => Ok(format!("kept {id}")),
    ///     Err(e) => Err(e.to_string()),
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// The client cannot elicit ([`AskError::Unavailable`]), refused, or
    /// answered with something that is not a `T`; or `T` is not a flat form.
    pub async fn elicit<T: ElicitForm>(
        &self,
        key: &str,
        message: impl Into<String>,
    ) -> Result<Elicited<T>, AskError> {
        let schema = form_schema::<T>()?;
        let answer = self.elicit_raw(key, message.into(), schema).await?;
        crate::ask::elicited(answer)
    }

    /// [`RequestContext::elicit`] with a hand-written restricted schema.
    ///
    /// # Errors
    /// As for [`RequestContext::elicit`].
    pub async fn elicit_with_schema(
        &self,
        key: &str,
        message: impl Into<String>,
        schema: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Elicited<serde_json::Map<String, serde_json::Value>>, AskError> {
        crate::ask::check_flat(&schema)?;
        let answer = self.elicit_raw(key, message.into(), schema).await?;
        crate::ask::elicited(answer)
    }

    async fn elicit_raw(
        &self,
        key: &str,
        message: String,
        schema: serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, AskError> {
        let version = self.protocol_version();
        let form_mode = version == ProtocolVersion::V2025_11_25 || version.is_stateless();
        self.ask(Question::elicit(key, message, schema, form_mode)?)
            .await
    }

    /// Asks the client's model to generate a message (`sampling/createMessage`).
    ///
    /// # Errors
    /// The client cannot sample, refused, or answered malformed.
    pub async fn sample(
        &self,
        key: &str,
        params: CreateMessageParams,
    ) -> Result<CreateMessageResult, AskError> {
        let answer = self.ask(Question::sample(key, &params)?).await?;
        crate::ask::sampled(answer)
    }

    /// Asks for the client's roots (`roots/list`).
    ///
    /// # Errors
    /// The client has no roots capability, refused, or answered malformed.
    pub async fn roots(&self, key: &str) -> Result<ListRootsResult, AskError> {
        let answer = self.ask(Question::roots(key)).await?;
        crate::ask::listed_roots(answer)
    }

    async fn ask(&self, question: Question) -> Result<serde_json::Value, AskError> {
        // Elicitation arrived in 2025-06-18; older clients cannot be asked.
        let exists = question.capability != ClientCapability::Elicitation
            || self.protocol_version().has_elicitation();
        if !exists || !self.has_capability(question.capability) {
            return Err(AskError::Unavailable(question.capability));
        }
        if let Some(task) = self.inner.envelope.task.as_ref().and_then(|s| s.task()) {
            let request = mcp_core::client::InputRequest {
                method: question.method.to_owned(),
                params: Some(question.params),
            };
            let answer = task
                .ask(question.key, request)
                .await
                .ok_or(AskError::Closed)?;
            return if crate::ask::answer_fits(question.method, &answer) {
                Ok(answer)
            } else {
                Err(AskError::InvalidAnswer(format!(
                    "not a `{}` result",
                    question.method
                )))
            };
        }
        match &self.inner.envelope.link {
            ClientLink::None => Err(AskError::Unavailable(question.capability)),
            ClientLink::Round(round) => {
                if let Some(answer) = round.answers.get(&question.key)
                    && crate::ask::answer_fits(question.method, answer)
                {
                    return Ok(answer.clone());
                }
                round.park(question);
                // The dispatcher drops this handler and answers with the
                // questions; the retry runs it again with the answers.
                std::future::pending().await
            }
            ClientLink::Session(session) => {
                let (id, answer) = session.pending.register();
                let params = serde_json::value::to_raw_value(&question.params)
                    .map_err(|e| AskError::InvalidAnswer(e.to_string()))?;
                self.inner
                    .outbound
                    .send(Message::Request(Request {
                        id: id.clone(),
                        method: question.method.to_owned(),
                        params: Some(params),
                    }))
                    .await;
                tokio::select! {
                    answer = answer => match answer {
                        Ok(Ok(value)) => Ok(value),
                        Ok(Err(error)) => Err(AskError::Refused {
                            code: error.code,
                            message: error.message,
                        }),
                        Err(_) => Err(AskError::Closed),
                    },
                    () = self.cancelled() => {
                        session.pending.forget(&id);
                        Err(AskError::Closed)
                    }
                }
            }
        }
    }
}
