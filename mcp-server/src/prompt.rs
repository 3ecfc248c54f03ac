//! Prompt definitions: what `prompts/list` shows and the handler
//! `prompts/get` runs.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use mcp_core::ProtocolError;
use mcp_core::content::Content;
use mcp_core::prompt::{GetPromptResult, Prompt, PromptMessage};

use crate::completion::{Completer, Completions};
use crate::context::RequestContext;
use crate::handler::BoxFuture;

type Handler =
    Arc<dyn Fn(PromptCall) -> BoxFuture<Result<GetPromptResult, ProtocolError>> + Send + Sync>;

/// One `prompts/get`: the argument strings and the request context.
#[derive(Debug)]
pub struct PromptCall {
    arguments: BTreeMap<String, String>,
    context: RequestContext,
}

impl PromptCall {
    pub(crate) fn new(arguments: BTreeMap<String, String>, context: RequestContext) -> Self {
        Self { arguments, context }
    }

    /// An argument's raw string value.
    pub fn argument(&self, name: &str) -> Option<&str> {
        self.arguments.get(name).map(String::as_str)
    }

    /// Every argument given.
    pub fn arguments(&self) -> &BTreeMap<String, String> {
        &self.arguments
    }

    /// Parses an argument with `FromStr`; `None` when it was not given.
    ///
    /// # Errors
    /// -32602 naming the argument when its value does not parse.
    pub fn parse<T>(&self, name: &str) -> Result<Option<T>, ProtocolError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        self.argument(name)
            .map(|value| {
                value
                    .parse::<T>()
                    .map_err(|e| ProtocolError::InvalidParams(format!("argument `{name}`: {e}")))
            })
            .transpose()
    }

    /// Parses a required argument.
    ///
    /// # Errors
    /// -32602 when it is missing or does not parse.
    pub fn require<T>(&self, name: &str) -> Result<T, ProtocolError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        self.parse(name)?.ok_or_else(|| {
            ProtocolError::InvalidParams(format!("missing required argument `{name}`"))
        })
    }

    /// The request context.
    pub fn context(&self) -> &RequestContext {
        &self.context
    }
}

/// A value a prompt can return: `String` (one user message),
/// `PromptMessage`, `Vec<PromptMessage>`, `GetPromptResult`, or `Result`
/// of those with `E: Display` (an `Err` is a -32602 error naming the
/// problem).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a prompt result",
    note = "return `String` for one user message, `Vec<PromptMessage>`, `GetPromptResult`, or `Result<T, E>` with `E: Display`"
)]
pub trait IntoPromptResult {
    /// Converts the value.
    ///
    /// # Errors
    /// The prompt could not be filled.
    fn into_prompt_result(self) -> Result<GetPromptResult, ProtocolError>;
}

impl IntoPromptResult for GetPromptResult {
    fn into_prompt_result(self) -> Result<GetPromptResult, ProtocolError> {
        Ok(self)
    }
}

impl IntoPromptResult for Vec<PromptMessage> {
    fn into_prompt_result(self) -> Result<GetPromptResult, ProtocolError> {
        Ok(GetPromptResult {
            description: None,
            messages: self,
        })
    }
}

impl IntoPromptResult for PromptMessage {
    fn into_prompt_result(self) -> Result<GetPromptResult, ProtocolError> {
        vec![self].into_prompt_result()
    }
}

impl IntoPromptResult for String {
    fn into_prompt_result(self) -> Result<GetPromptResult, ProtocolError> {
        PromptMessage::user(Content::text(self)).into_prompt_result()
    }
}

impl IntoPromptResult for &'static str {
    fn into_prompt_result(self) -> Result<GetPromptResult, ProtocolError> {
        self.to_owned().into_prompt_result()
    }
}

impl<T: IntoPromptResult, E: fmt::Display> IntoPromptResult for Result<T, E> {
    fn into_prompt_result(self) -> Result<GetPromptResult, ProtocolError> {
        match self {
            Ok(value) => value.into_prompt_result(),
            Err(e) => Err(ProtocolError::InvalidParams(e.to_string())),
        }
    }
}

/// A prompt: its definition, its handler, and completers for its arguments.
///
/// `#[mcp_prompt]` builds these; build one by hand to register a prompt at
/// run time.
///
/// ```
/// use mcp_server::prelude::*;
/// use mcp_server::core::prompt::{Prompt, PromptArgument};
///
/// let prompt = Prompt {
///     name: "haiku".into(),
///     title: None,
///     description: Some("Write a haiku.".into()),
///     arguments: vec![PromptArgument {
///         name: "topic".into(),
///         title: None,
///         description: Some("What it is about.".into()),
///         required: Some(true),
///     }],
///     icons: None,
///     meta: None,
/// };
/// let haiku = PromptDef::new(prompt, |call: PromptCall| async move {
///     let topic: String = call.require("topic")?;
///     Ok::<_, mcp_server::core::ProtocolError>(format!("Write a haiku about {topic}."))
/// });
/// let server = Server::builder().prompt(haiku).build();
/// ```
#[derive(Clone)]
pub struct PromptDef {
    prompt: Arc<Prompt>,
    name: Arc<str>,
    handler: Handler,
    completers: Arc<HashMap<String, Completer>>,
}

impl PromptDef {
    /// A prompt from its definition and an async handler.
    pub fn new<F, Fut, R>(prompt: Prompt, handler: F) -> Self
    where
        F: Fn(PromptCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoPromptResult,
    {
        let name = Arc::from(prompt.name.as_str());
        let handler = Arc::new(handler);
        Self {
            prompt: Arc::new(prompt),
            name,
            handler: Arc::new(move |call| {
                let fut = handler(call);
                Box::pin(async move { fut.await.into_prompt_result() })
            }),
            completers: Arc::default(),
        }
    }

    /// Completes `argument` with `completer` (`completion/complete`).
    #[must_use]
    pub fn complete<F, Fut>(mut self, argument: &str, completer: F) -> Self
    where
        F: Fn(crate::completion::CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Completions> + Send + 'static,
    {
        Arc::make_mut(&mut self.completers).insert(argument.to_owned(), Completer::new(completer));
        self
    }

    /// The definition `prompts/list` shows.
    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// The prompt's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.name
    }

    pub(crate) fn completer(&self, argument: &str) -> Option<&Completer> {
        self.completers.get(argument)
    }

    /// The same prompt listed as `prompt` (a mounted server's prompt under
    /// its namespaced name), with the same handler and completers.
    pub(crate) fn relisted(
        &self,
        prompt: Prompt,
        map: impl Fn(GetPromptResult) -> GetPromptResult + Send + Sync + 'static,
    ) -> Self {
        let handler = Arc::clone(&self.handler);
        let map = Arc::new(map);
        let mut def = self.clone();
        def.name = Arc::from(prompt.name.as_str());
        def.prompt = Arc::new(prompt);
        def.handler = Arc::new(move |call: PromptCall| {
            let result = handler(call);
            let map = Arc::clone(&map);
            Box::pin(async move { result.await.map(|r| map(r)) })
        });
        def
    }

    /// Checks the arguments against the definition, then runs the handler.
    pub(crate) async fn get(&self, call: PromptCall) -> Result<GetPromptResult, ProtocolError> {
        for argument in &self.prompt.arguments {
            if argument.required == Some(true) && call.argument(&argument.name).is_none() {
                return Err(ProtocolError::InvalidParams(format!(
                    "prompt `{}` needs the argument `{}`",
                    self.name, argument.name
                )));
            }
        }
        if let Some(unknown) = call
            .arguments
            .keys()
            .find(|k| !self.prompt.arguments.iter().any(|a| &a.name == *k))
        {
            return Err(ProtocolError::InvalidParams(format!(
                "prompt `{}` has no argument `{unknown}`",
                self.name
            )));
        }
        (self.handler)(call).await
    }
}

impl fmt::Debug for PromptDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptDef")
            .field("prompt", &self.prompt)
            .finish_non_exhaustive()
    }
}
