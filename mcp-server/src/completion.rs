//! Argument completion for prompts and resource templates.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use mcp_core::completion::Completion;

use crate::handler::BoxFuture;

/// What the client has typed, and the other arguments already chosen.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// The argument being completed.
    pub argument: String,
    /// Its partial value.
    pub value: String,
    /// The other arguments' values (2025-06-18+; empty before).
    pub context: BTreeMap<String, String>,
}

/// Completion values, at most 100 of which are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completions {
    /// The values, best first.
    pub values: Vec<String>,
    /// How many matched in all, when more than `values`.
    pub total: Option<u64>,
}

impl Completions {
    /// The candidates that start with `prefix` (case-insensitively).
    pub fn matching<I, S>(candidates: I, prefix: &str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let prefix = prefix.to_lowercase();
        let values: Vec<String> = candidates
            .into_iter()
            .map(Into::into)
            .filter(|c| c.to_lowercase().starts_with(&prefix))
            .collect();
        Self {
            total: Some(values.len() as u64),
            values,
        }
    }

    pub(crate) fn into_completion(self) -> Completion {
        const MAX: usize = 100;
        let total = self.total.unwrap_or(self.values.len() as u64);
        let has_more = total > self.values.len().min(MAX) as u64;
        let mut values = self.values;
        values.truncate(MAX);
        Completion {
            values,
            total: Some(total),
            has_more: Some(has_more),
        }
    }
}

impl<S: Into<String>> FromIterator<S> for Completions {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self {
            values: iter.into_iter().map(Into::into).collect(),
            total: None,
        }
    }
}

/// An async completer for one argument.
#[derive(Clone)]
pub(crate) struct Completer(Arc<dyn Fn(CompletionRequest) -> BoxFuture<Completions> + Send + Sync>);

impl Completer {
    pub(crate) fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Completions> + Send + 'static,
    {
        Self(Arc::new(move |request| Box::pin(f(request))))
    }

    pub(crate) fn complete(&self, request: CompletionRequest) -> BoxFuture<Completions> {
        (self.0)(request)
    }
}

impl fmt::Debug for Completer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Completer")
    }
}
